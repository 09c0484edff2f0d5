package awsconfig_test

import (
	"os"
	"testing"

	"github.com/keyless-dev/keyless/internal/testenv"
)

// TestMain keeps the AWS SDK clients these tests build off the network: with
// AWS_EC2_METADATA_DISABLED=true the default credential chain never falls through
// to the EC2 instance metadata address.
func TestMain(m *testing.M) {
	testenv.DisableInstanceMetadata()
	os.Exit(m.Run())
}
