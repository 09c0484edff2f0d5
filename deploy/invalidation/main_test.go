package invalidation

import (
	"testing"

	"github.com/keyless-dev/keyless/internal/testenv"
)

// TestMain keeps these tests, which build AWS SDK clients, off the instance
// metadata address.
func TestMain(m *testing.M) { testenv.Main(m) }
