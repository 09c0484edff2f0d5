package e2e

// Role chaining end to end: `keyless exec --role-chain` and `keyless login
// --role-chain --output aws-profile` against `keyless up`, with the machine's AWS
// CLI as the consumer of the credentials.

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"

	"github.com/keyless-dev/keyless/internal/testenv"
)

// chainRoles are the roles of a chain: entry, assumed with the step's token, whose
// identity policy allows sts:AssumeRole on deploy and untrusted; deploy, whose
// trust policy admits entry; untrusted, whose trust policy admits another role.
type chainRoles struct {
	entry, deploy, untrusted string
}

func newChainRoles(t *testing.T, f *federation) chainRoles {
	t.Helper()
	ctx := context.Background()
	mk := func(name, trust string) string {
		t.Helper()
		out, err := f.rootIAM.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String(name), AssumeRolePolicyDocument: aws.String(trust)})
		if err != nil {
			t.Fatalf("CreateRole %s: %v", name, err)
		}
		return aws.ToString(out.Role.Arn)
	}
	trustRole := func(principal string) string {
		b, _ := json.Marshal(map[string]any{
			"Version": "2012-10-17",
			"Statement": []any{map[string]any{
				"Effect": "Allow", "Principal": map[string]any{"AWS": principal}, "Action": "sts:AssumeRole",
			}},
		})
		return string(b)
	}
	aud := map[string]any{f.providerURL + ":aud": f.audience}
	var r chainRoles
	r.entry = mk("ChainEntryRole", trustPolicy(f.providerARN, f.providerURL, map[string]any{
		"StringEquals": aud, "StringLike": map[string]any{f.providerURL + ":sub": f.webRepoUUID + ":*"},
	}))
	r.deploy = mk("deploy", trustRole(r.entry))
	r.untrusted = mk("ChainUntrustedRole", trustRole(f.envRole))
	policy, _ := json.Marshal(map[string]any{
		"Version": "2012-10-17",
		"Statement": []any{map[string]any{
			"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": []string{r.deploy, r.untrusted},
		}},
	})
	if _, err := f.rootIAM.PutRolePolicy(ctx, &iam.PutRolePolicyInput{
		RoleName: aws.String("ChainEntryRole"), PolicyName: aws.String("assume-next"), PolicyDocument: aws.String(string(policy)),
	}); err != nil {
		t.Fatalf("PutRolePolicy: %v", err)
	}
	return r
}

func TestRoleChain(t *testing.T) {
	t.Parallel()
	f := newFederation(t)
	roles := newChainRoles(t, f)
	endpoint := f.p.env["KEYLESS_ENDPOINT"]
	token := mintJSON(t, f.p.env, "--repository", "web", "--environment", "production").Token
	wantArn := assumedRole(f, roles.deploy, "bitbucket-web-42")

	t.Run("exec --role-chain gives the AWS CLI the last role", func(t *testing.T) {
		testenv.LookPath(t, "aws")
		env := bitbucketStep(t, f, endpoint, "web", token, roles.entry)
		out, errOut, code := run(t, env, "exec", "--role-chain", roles.deploy, "--", "aws", "sts", "get-caller-identity", "--output", "json")
		if code != 0 {
			t.Fatalf("keyless exec --role-chain: exit %d\nstderr: %s", code, errOut)
		}
		checkIdentity(t, f, "aws sts get-caller-identity under keyless exec --role-chain", parseIdentity(t, "aws sts get-caller-identity", out), wantArn)
	})

	t.Run("KEYLESS_ROLE_CHAIN is the chain when no flag is given", func(t *testing.T) {
		env := bitbucketStep(t, f, endpoint, "web", token, roles.entry)
		env = append(env, "KEYLESS_ROLE_CHAIN="+roles.deploy)
		out, errOut, code := run(t, env, "exec", "--", keylessBin, "whoami", "--output", "json")
		if code != 0 {
			t.Fatalf("keyless exec with KEYLESS_ROLE_CHAIN: exit %d\nstderr: %s", code, errOut)
		}
		checkIdentity(t, f, "keyless whoami under keyless exec", parseIdentity(t, "keyless whoami", out), wantArn)
	})

	t.Run("a hop whose trust policy does not admit the previous role fails naming it", func(t *testing.T) {
		env := bitbucketStep(t, f, endpoint, "web", token, roles.entry)
		out, errOut, code := run(t, env, "exec", "--role-chain", roles.untrusted, "--", "sh", "-c", "echo child ran")
		if code != 1 || strings.Contains(out, "child ran") {
			t.Errorf("exit %d, stdout %q: want exit 1 before the command runs", code, out)
		}
		if want := "role chain hop 2 (" + roles.untrusted + "): AccessDenied: "; !strings.Contains(errOut, want) {
			t.Errorf("stderr lacks %q:\n%s", want, errOut)
		}
		noSecrets(t, "stderr", errOut, token)
	})

	for _, tc := range []struct {
		name  string
		extra []string
	}{
		{"static keys of the first role", nil},
		{"web identity token file for the first role", []string{"--write-token-file", "TOKENFILE"}},
	} {
		t.Run("login --role-chain --output aws-profile followed by the AWS CLI: "+tc.name, func(t *testing.T) {
			testenv.LookPath(t, "aws")
			env := bitbucketStep(t, f, endpoint, "web", token, roles.entry)
			args := []string{"login", "--role-chain", roles.deploy, "--output", "aws-profile", "--profile", "p"}
			for _, a := range tc.extra {
				if a == "TOKENFILE" {
					a = filepath.Join(t.TempDir(), "web-identity-token")
				}
				args = append(args, a)
			}
			out, errOut, code := run(t, env, args...)
			if code != 0 {
				t.Fatalf("keyless login: exit %d\nstderr: %s", code, errOut)
			}
			if !strings.Contains(out, "export AWS_PROFILE=p\n") {
				t.Errorf("summary %q does not say how to use the profile", out)
			}
			noSecrets(t, "stdout", out, token)
			// The AWS CLI assumes the chain by itself from the profiles; no keyless
			// process runs now.
			cliOut, cliErr, code := runIn(t, append(env, "AWS_PROFILE=p"), "", "aws", "sts", "get-caller-identity", "--output", "json")
			if code != 0 {
				t.Fatalf("AWS_PROFILE=p aws sts get-caller-identity: exit %d\n%s", code, cliErr)
			}
			checkIdentity(t, f, "AWS_PROFILE=p aws sts get-caller-identity", parseIdentity(t, "aws sts get-caller-identity", cliOut), wantArn)
			// So does aws-sdk-go-v2 (keyless whoami).
			whoOut, whoErr, code := run(t, append(env, "AWS_PROFILE=p"), "whoami", "--output", "json")
			if code != 0 {
				t.Fatalf("AWS_PROFILE=p keyless whoami: exit %d\n%s", code, whoErr)
			}
			checkIdentity(t, f, "AWS_PROFILE=p keyless whoami", parseIdentity(t, "keyless whoami", whoOut), wantArn)
		})
	}
}
