package postgres

import (
	"testing"

	"github.com/keyless-dev/keyless/store"
	"github.com/keyless-dev/keyless/store/storetest"
)

func TestOrganizationConformance(t *testing.T) {
	newSchema := schemas(t)
	storetest.RunOrganizations(t, func(t *testing.T) store.OrganizationStore {
		s, err := Open(t.Context(), newSchema(t))
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		t.Cleanup(func() { _ = s.Close() })
		return s
	})
}
