package metrics

import (
	"reflect"
	"slices"
	"testing"

	"github.com/keyless-dev/keyless/store"
)

// TestEveryStoreMethodIsTimed: every method of the store interfaces the
// instrumented wrapper serves has an operation label (and so a wrapper that
// times it), Close excepted, so that a method added to the store is not passed
// through unmeasured.
func TestEveryStoreMethodIsTimed(t *testing.T) {
	for _, it := range []reflect.Type{
		reflect.TypeFor[store.Store](), reflect.TypeFor[store.S3Store](), reflect.TypeFor[store.BlobStore](),
		reflect.TypeFor[store.InlineObjectStore](), reflect.TypeFor[store.SecretStore](),
		reflect.TypeFor[store.OrganizationStore](), reflect.TypeFor[store.PipelineVariableStore](),
	} {
		for i := range it.NumMethod() {
			if n := it.Method(i).Name; n != "Close" && !slices.Contains(storeOpNames[:], n) {
				t.Errorf("store.%s.%s has no operation label: add op%s, its name and its wrapper to store_methods.go", it.Name(), n, n)
			}
		}
	}
}
