package sqlite

import (
	"path/filepath"
	"testing"

	"github.com/keyless-dev/keyless/store"
	"github.com/keyless-dev/keyless/store/storetest"
)

func TestSecretConformance(t *testing.T) {
	storetest.RunSecrets(t, func(t *testing.T) store.SecretStore {
		s, err := Open(t.Context(), filepath.Join(t.TempDir(), "keyless.db"))
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		t.Cleanup(func() { _ = s.Close() })
		return s
	})
}

func TestSecretConformanceMemory(t *testing.T) {
	storetest.RunSecrets(t, func(t *testing.T) store.SecretStore {
		s, err := Open(t.Context(), Memory)
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		t.Cleanup(func() { _ = s.Close() })
		return s
	})
}
