package organizations

import (
	"testing"

	"github.com/keyless-dev/keyless/internal/testenv"
)

// TestMain keeps these tests off the instance metadata address.
func TestMain(m *testing.M) { testenv.Main(m) }
