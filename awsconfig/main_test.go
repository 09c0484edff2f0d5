package awsconfig_test

import (
	"testing"

	"github.com/keyless-dev/keyless/internal/testenv"
)

// TestMain keeps these tests and their child processes off the instance metadata address.
func TestMain(m *testing.M) { testenv.Main(m) }
