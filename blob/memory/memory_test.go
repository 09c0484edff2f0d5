package memory

import (
	"slices"
	"strings"
	"testing"

	"github.com/keyless-dev/keyless/blob/blobtest"
)

func TestConformance(t *testing.T) {
	blobtest.Run(t, func(t *testing.T) blobtest.Backend {
		return blobtest.Backend{Store: New()}
	})
}

// TestZeroValue: the zero Store is usable.
func TestZeroValue(t *testing.T) {
	blobtest.Run(t, func(t *testing.T) blobtest.Backend {
		return blobtest.Backend{Store: new(Store)}
	})
}

// TestKeys: Keys lists what is stored, in byte order, for tests of callers
// that must leave no blob behind.
func TestKeys(t *testing.T) {
	s := New()
	for _, k := range []string{"b", "a", "é"} {
		if _, err := s.Put(t.Context(), k, strings.NewReader(k)); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Delete(t.Context(), "b"); err != nil {
		t.Fatal(err)
	}
	if got := s.Keys(); !slices.Equal(got, []string{"a", "é"}) {
		t.Fatalf("Keys = %q", got)
	}
}
