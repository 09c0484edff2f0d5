package sqlite

import (
	"path/filepath"
	"testing"

	"github.com/keyless-dev/keyless/store"
	"github.com/keyless-dev/keyless/store/storetest"
)

func TestBlobConformance(t *testing.T) {
	storetest.RunBlobs(t, func(t *testing.T) store.BlobStore {
		s, err := Open(t.Context(), filepath.Join(t.TempDir(), "keyless.db"))
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		t.Cleanup(func() { _ = s.Close() })
		return s
	})
}

func TestBlobConformanceMemory(t *testing.T) {
	storetest.RunBlobs(t, func(t *testing.T) store.BlobStore {
		s, err := Open(t.Context(), Memory)
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		t.Cleanup(func() { _ = s.Close() })
		return s
	})
}

func TestInlineObjectConformance(t *testing.T) {
	storetest.RunInlineObjects(t, func(t *testing.T) storetest.InlineStore {
		s, err := Open(t.Context(), filepath.Join(t.TempDir(), "keyless.db"))
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		t.Cleanup(func() { _ = s.Close() })
		return s
	})
}
