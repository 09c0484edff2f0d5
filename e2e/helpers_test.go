package e2e

import (
	"encoding/base64"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/keyless-dev/keyless/internal/testenv"
)

func decodeSegment(s string) (string, error) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	return string(b), err
}

// requireJSSDK returns the path of node, requiring it (internal/testenv) and the
// AWS SDK for JavaScript packages of js/package.json, which `make deps` installs
// with npm ci.
func requireJSSDK(t *testing.T) string {
	t.Helper()
	node := testenv.LookPath(t, "node")
	for _, pkg := range []string{"client-sts", "client-iam", "credential-providers"} {
		_, err := os.Stat(filepath.Join("js", "node_modules", "@aws-sdk", pkg, "package.json"))
		testenv.Require(t, "@aws-sdk/"+pkg+" in e2e/js/node_modules", err == nil, "run `make deps` (npm ci in e2e/js)")
	}
	return node
}

// TestChildEnvironmentsDisableInstanceMetadata runs `env` in each kind of child
// environment the tests build — cleanEnv (keyless up, demo), withEnv (the CLI
// against a server), stepEnv (a pipeline step) and clientEnv (an official client)
// — with the test process itself saying otherwise, and checks that the child sees
// AWS_EC2_METADATA_DISABLED=true: no SDK or CLI the tests start can reach for the
// instance metadata address.
func TestChildEnvironmentsDisableInstanceMetadata(t *testing.T) {
	envBin := testenv.LookPath(t, "env")
	t.Setenv("AWS_EC2_METADATA_DISABLED", "false")
	endpoint := "http://127.0.0.1:1"
	f := &federation{p: &upProc{env: map[string]string{"KEYLESS_ENDPOINT": endpoint}}}
	for _, tc := range []struct {
		name string
		env  []string
	}{
		{"cleanEnv", cleanEnv()},
		{"withEnv", withEnv(map[string]string{"KEYLESS_ENDPOINT": endpoint}, "HOME="+t.TempDir())},
		{"stepEnv", stepEnv(t, endpoint)},
		{"clientEnv", f.clientEnv(t, "arn:aws:iam::000000000000:role/r", filepath.Join(t.TempDir(), "token"))},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cmd := exec.Command(envBin)
			cmd.Env = tc.env
			out, err := cmd.Output()
			if err != nil {
				t.Fatalf("env: %v", err)
			}
			var got []string
			for _, line := range strings.Split(string(out), "\n") {
				if v, ok := strings.CutPrefix(line, "AWS_EC2_METADATA_DISABLED="); ok {
					got = append(got, v)
				}
			}
			if len(got) != 1 || got[0] != "true" {
				t.Errorf("the child sees AWS_EC2_METADATA_DISABLED=%q, want exactly [true]", got)
			}
		})
	}
}
