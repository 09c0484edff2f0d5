package postgres

import (
	"testing"

	"github.com/keyless-dev/keyless/store"
	"github.com/keyless-dev/keyless/store/storetest"
)

func TestSecretConformance(t *testing.T) {
	newSchema := schemas(t)
	storetest.RunSecrets(t, func(t *testing.T) store.SecretStore {
		s, err := Open(t.Context(), newSchema(t))
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		t.Cleanup(func() { _ = s.Close() })
		return s
	})
}
