package e2e

import (
	"strings"
	"testing"

	"github.com/keyless-dev/keyless/internal/testenv"
)

// without returns env less the variables named in keys.
func without(env []string, keys ...string) []string {
	var out []string
	for _, kv := range env {
		k, _, _ := strings.Cut(kv, "=")
		drop := false
		for _, d := range keys {
			drop = drop || k == d
		}
		if !drop {
			out = append(out, kv)
		}
	}
	return out
}

// TestExecAWSCLIWithoutARegion is the README's own example in a step that sets no
// region: the AWS CLI needs one (it reads AWS_DEFAULT_REGION), and exec passes the
// region of the exchange.
func TestExecAWSCLIWithoutARegion(t *testing.T) {
	testenv.LookPath(t, "aws")
	t.Parallel()
	f := newFederation(t)
	endpoint := f.p.env["KEYLESS_ENDPOINT"]
	web := mintJSON(t, f.p.env, "--repository", "web", "--environment", "production").Token
	env := without(bitbucketStep(t, f, endpoint, "web", web, f.envRole), "AWS_REGION", "AWS_DEFAULT_REGION")
	out, errOut, code := run(t, env, "exec", "--role-arn", f.envRole, "--", "aws", "sts", "get-caller-identity", "--output", "json")
	if code != 0 {
		t.Fatalf("keyless exec -- aws sts get-caller-identity with no region set: exit %d\nstderr: %s", code, errOut)
	}
	checkIdentity(t, f, "aws sts get-caller-identity", parseIdentity(t, "aws sts get-caller-identity", out), assumedRole(f, f.envRole, "bitbucket-web-42"))
}
