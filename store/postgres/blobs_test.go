package postgres

import (
	"testing"

	"github.com/keyless-dev/keyless/store"
	"github.com/keyless-dev/keyless/store/storetest"
)

func TestBlobConformance(t *testing.T) {
	newSchema := schemas(t)
	storetest.RunBlobs(t, func(t *testing.T) store.BlobStore {
		s, err := Open(t.Context(), newSchema(t))
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		t.Cleanup(func() { _ = s.Close() })
		return s
	})
}

func TestInlineObjectConformance(t *testing.T) {
	newSchema := schemas(t)
	storetest.RunInlineObjects(t, func(t *testing.T) storetest.InlineStore {
		s, err := Open(t.Context(), newSchema(t))
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		t.Cleanup(func() { _ = s.Close() })
		return s
	})
}
