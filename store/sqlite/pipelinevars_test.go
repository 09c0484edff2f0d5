package sqlite

import (
	"path/filepath"
	"testing"

	"github.com/keyless-dev/keyless/store"
	"github.com/keyless-dev/keyless/store/storetest"
)

func TestPipelineVariableConformance(t *testing.T) {
	storetest.RunPipelineVariables(t, func(t *testing.T) store.Store {
		s, err := Open(t.Context(), filepath.Join(t.TempDir(), "keyless.db"))
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		t.Cleanup(func() { _ = s.Close() })
		return s
	})
}

func TestPipelineVariableConformanceMemory(t *testing.T) {
	storetest.RunPipelineVariables(t, func(t *testing.T) store.Store {
		s, err := Open(t.Context(), Memory)
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		t.Cleanup(func() { _ = s.Close() })
		return s
	})
}
