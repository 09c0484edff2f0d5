package e2e

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"

	"github.com/keyless-dev/keyless/internal/testenv"
)

// seed003Issuer is the production issuer URL seed 003's template trusts, for
// workspace acme.
const seed003Issuer = "https://api.bitbucket.org/2.0/workspaces/acme/pipelines-config/identity/oidc"

// TestSeed003CloudFormationTemplate applies seed 003's CloudFormation template,
// byte for byte, with the built binary against keyless up serving workspace acme
// under its production issuer URL, with the env file's variables:
//
//   - policy lint --cloudformation exits 1 naming no-sub-condition and
//     bitbucket-pre-2024-source-ip; apply without --allow-risky refuses, naming
//     no-sub-condition, and changes nothing;
//   - apply --allow-risky creates the provider (thumbprint: that of the local
//     issuer, as keyless thumbprint prints it) and the role, tagged with the stack
//     name (the template's base name); plan then exits 0;
//   - the template admits only Bitbucket's fifteen addresses, so a token minted
//     for acme and exchanged from 127.0.0.1 through the AWS CLI is AccessDenied,
//     and keyless explain --source-ip 127.0.0.1 exits 1 naming aws:SourceIp;
//   - a copy with 127.0.0.1/32 added cannot be applied as another stack, whose
//     provider would be the first stack's (apply names it), but applied as the
//     same stack with another role name it replaces the role, and the same token
//     assumes the new role through the AWS CLI; plan then exits 0.
func TestSeed003CloudFormationTemplate(t *testing.T) {
	awsCLI := testenv.LookPath(t, "aws")
	template, err := filepath.Abs(filepath.Join("..", "provision", "cloudformation", "testdata", "seed003.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	original, err := os.ReadFile(template)
	if err != nil {
		t.Fatal(err)
	}
	cfgPath := filepath.Join(t.TempDir(), "keyless.json")
	cfg := `{"default_workspace": "acme", "workspaces": [{"slug": "acme", "issuer_url": "` + seed003Issuer + `"}]}`
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	p := startUp(t, t.TempDir(), "--config", cfgPath)
	env := provisionEnv(t, p)
	ctx := context.Background()
	rootIAM := iam.NewFromConfig(rootConfig(p))

	// The Thumbprint parameter, computed as seed 003 says, from the local issuer.
	out, errOut, code := run(t, env, "thumbprint", seed003Issuer)
	thumb := strings.TrimSpace(out)
	if code != 0 || !regexp.MustCompile(`^[0-9a-f]{40}$`).MatchString(thumb) || thumb != caThumbprint(t, p.env["KEYLESS_CA_BUNDLE"]) {
		t.Fatalf("keyless thumbprint %s: exit %d, %q, want the local CA's SHA-1\n%s", seed003Issuer, code, out, errOut)
	}
	params := func(role string) []string {
		return []string{
			"--parameter", "WorkspaceName=acme",
			"--parameter", "RoleName=" + role,
			"--parameter", "Audience=" + p.env["KEYLESS_AUDIENCE"],
			"--parameter", "Thumbprint=" + thumb,
			"--parameter", "URL=" + seed003Issuer,
		}
	}
	cfn := func(verb, file, role string, extra ...string) []string {
		return append(append([]string{verb, "--cloudformation", file}, params(role)...), extra...)
	}

	lint := append([]string{"policy", "lint", "--cloudformation", template}, params("bitbucket-deploy")...)
	if out, errOut, code = run(t, env, lint...); code != 1 ||
		!strings.Contains(out, "[no-sub-condition]") || !strings.Contains(out, "[bitbucket-pre-2024-source-ip]") {
		t.Errorf("policy lint --cloudformation: exit %d, want 1 naming no-sub-condition and bitbucket-pre-2024-source-ip\nstdout: %s\nstderr: %s", code, out, errOut)
	}

	// Without --allow-risky, apply refuses before any IAM call.
	out, errOut, code = run(t, env, cfn("apply", template, "bitbucket-deploy", "--auto-approve")...)
	if code != 1 || !strings.Contains(errOut, "no-sub-condition") || !strings.Contains(errOut, "--allow-risky") {
		t.Fatalf("apply without --allow-risky: exit %d, want 1 naming no-sub-condition\nstdout: %s\nstderr: %s", code, out, errOut)
	}
	if out, errOut, code = run(t, env, cfn("plan", template, "bitbucket-deploy")...); code != 2 ||
		!strings.Contains(out, "+ create provider "+strings.TrimPrefix(seed003Issuer, "https://")) || !strings.Contains(out, "+ create role bitbucket-deploy") {
		t.Fatalf("plan after the refused apply: exit %d, want 2 and everything still to create\nstdout: %s\nstderr: %s", code, out, errOut)
	}

	out, errOut, code = run(t, env, cfn("apply", template, "bitbucket-deploy", "--auto-approve", "--allow-risky")...)
	if code != 0 || !strings.Contains(out, "Applied: ") {
		t.Fatalf("apply --allow-risky: exit %d\nstdout: %s\nstderr: %s", code, out, errOut)
	}
	if out, errOut, code = run(t, env, cfn("plan", template, "bitbucket-deploy")...); code != 0 || !strings.Contains(out, "No changes") {
		t.Fatalf("plan after apply: exit %d, want 0\nstdout: %s\nstderr: %s", code, out, errOut)
	}
	role, err := rootIAM.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String("bitbucket-deploy")})
	if err != nil {
		t.Fatal(err)
	}
	tags := map[string]string{}
	for _, tg := range role.Role.Tags {
		tags[aws.ToString(tg.Key)] = aws.ToString(tg.Value)
	}
	if tags["keyless:managed"] != "seed003" || tags["Managed By"] != "Cloudformation Stack" || tags["Name"] != "bitbucket-deploy" {
		t.Errorf("role tags %v, want the template's and keyless:managed=seed003 (the stack name from the file name)", tags)
	}
	roleA := aws.ToString(role.Role.Arn)

	m := mintJSON(t, p.env, "--workspace", "acme", "--repository", "web", "--environment", "production")
	if m.Claims["iss"] != seed003Issuer {
		t.Fatalf("minted iss %v, want %s", m.Claims["iss"], seed003Issuer)
	}
	// The AWS CLI refuses session names under 2 characters before any request.
	assume := func(roleARN string) (string, string, int) {
		return runIn(t, stepEnv(t, p.env["KEYLESS_ENDPOINT"]), "", awsCLI, "sts", "assume-role-with-web-identity",
			"--role-arn", roleARN, "--role-session-name", "seed003", "--web-identity-token", m.Token, "--output", "json")
	}

	// (a) From 127.0.0.1, not one of Bitbucket's fifteen addresses: denied.
	out, errOut, code = assume(roleA)
	if code == 0 || !strings.Contains(errOut, "AccessDenied") {
		t.Errorf("aws sts assume-role-with-web-identity on the unchanged template's role: exit %d, want AccessDenied\nstdout: %s\nstderr: %s", code, out, errOut)
	}
	out, errOut, code = run(t, env, "explain", "--role-arn", roleA, "--source-ip", "127.0.0.1", "--token", m.Token)
	if code != 1 || !strings.Contains(out, "aws:SourceIp") {
		t.Errorf("explain --source-ip 127.0.0.1: exit %d, want 1 naming aws:SourceIp\nstdout: %s\nstderr: %s", code, out, errOut)
	}

	// (b) The template with 127.0.0.1/32 added to the IP list.
	const first = `"34.199.54.113/32",`
	if !strings.Contains(string(original), first) {
		t.Fatalf("seed003.yaml has no %s", first)
	}
	local := filepath.Join(t.TempDir(), "seed003-local.yaml")
	if err := os.WriteFile(local, []byte(strings.Replace(string(original), first, `"127.0.0.1/32", `+first, 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	// As another stack, it would create the first stack's provider again.
	out, errOut, code = run(t, env, cfn("apply", local, "bitbucket-deploy-local", "--auto-approve", "--allow-risky")...)
	if code != 1 || !strings.Contains(errOut, "provider "+strings.TrimPrefix(seed003Issuer, "https://")+` already exists in IAM and is managed by config "seed003"`) {
		t.Errorf("apply of the copy as stack seed003-local: exit %d, want 1 naming the provider of stack seed003\nstdout: %s\nstderr: %s", code, out, errOut)
	}
	// As the same stack with another role name, it replaces the role.
	out, errOut, code = run(t, env, cfn("apply", local, "bitbucket-deploy-local", "--auto-approve", "--allow-risky", "--stack-name", "seed003")...)
	if code != 0 || !strings.Contains(out, "+ create role bitbucket-deploy-local") || !strings.Contains(out, "- delete role bitbucket-deploy") {
		t.Fatalf("apply of the copy as stack seed003: exit %d\nstdout: %s\nstderr: %s", code, out, errOut)
	}
	if out, errOut, code = run(t, env, cfn("plan", local, "bitbucket-deploy-local", "--stack-name", "seed003")...); code != 0 {
		t.Errorf("plan after applying the copy: exit %d, want 0\nstdout: %s\nstderr: %s", code, out, errOut)
	}
	roleB := strings.Replace(roleA, "role/bitbucket-deploy", "role/bitbucket-deploy-local", 1)
	out, errOut, code = assume(roleB)
	var got struct {
		AssumedRoleUser struct{ Arn string }
		Credentials     struct{ AccessKeyId string }
	}
	if code != 0 || json.Unmarshal([]byte(out), &got) != nil || got.AssumedRoleUser.Arn != "arn:aws:sts::"+p.env["KEYLESS_ACCOUNT_ID"]+":assumed-role/bitbucket-deploy-local/seed003" || got.Credentials.AccessKeyId == "" {
		t.Errorf("aws sts assume-role-with-web-identity on the copy's role: exit %d, assumed %q\nstdout: %s\nstderr: %s", code, got.AssumedRoleUser.Arn, out, errOut)
	}
}

// TestThumbprintsAuto plans and applies a keyless.yaml whose Bitbucket provider
// says "thumbprints: auto", for workspace acme, which keyless up serves under its
// production issuer URL: the thumbprint is computed at the local issuer (the
// alias), never at api.bitbucket.org — every proxy variable points at a trap that
// must see nothing — and is the SHA-1 of keyless up's CA. apply sets it, plan then
// exits 0, and a provider whose thumbprint was changed by hand plans back.
func TestThumbprintsAuto(t *testing.T) {
	trap := newProxyTrap(t)
	t.Cleanup(func() {
		if seen := trap.requests(); len(seen) > 0 {
			t.Errorf("requests left loopback through the proxy: %q", seen)
		}
	})
	cfgPath := filepath.Join(t.TempDir(), "keyless.json")
	if err := os.WriteFile(cfgPath, []byte(`{"default_workspace": "acme", "workspaces": [{"slug": "acme", "issuer_url": "`+seed003Issuer+`"}]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	p := startUpEnv(t, t.TempDir(), trap.env(), "--config", cfgPath)
	env := append(provisionEnv(t, p), trap.env()...)
	m := mintJSON(t, p.env, "--workspace", "acme", "--repository", "web", "--environment", "production")
	_, workspaceUUID, ok := strings.Cut(p.env["KEYLESS_AUDIENCE"], "workspace/")
	if !ok {
		t.Fatalf("KEYLESS_AUDIENCE %q has no workspace UUID", p.env["KEYLESS_AUDIENCE"])
	}
	config := filepath.Join(t.TempDir(), "keyless.yaml")
	if err := os.WriteFile(config, []byte(`name: auto
providers:
  bitbucket:
    type: bitbucket
    workspace: acme
    workspace_uuid: "`+workspaceUUID+`"
    thumbprints: auto
roles:
  - name: auto-{repository}
    matrix:
      repositories:
        - {name: web, uuid: "`+m.Claims["repositoryUuid"].(string)+`"}
`), 0o600); err != nil {
		t.Fatal(err)
	}
	ca := caThumbprint(t, p.env["KEYLESS_CA_BUNDLE"])

	out, errOut, code := run(t, env, "plan", "-f", config)
	if code != 2 || !strings.Contains(out, "thumbprints:\n      + "+ca) {
		t.Fatalf("plan: exit %d, want 2 and thumbprint %s\nstdout: %s\nstderr: %s", code, ca, out, errOut)
	}
	if out, errOut, code = run(t, env, "apply", "-f", config, "--auto-approve"); code != 0 {
		t.Fatalf("apply: exit %d\nstdout: %s\nstderr: %s", code, out, errOut)
	}
	ctx := context.Background()
	rootIAM := iam.NewFromConfig(rootConfig(p))
	providerARN := "arn:aws:iam::" + p.env["KEYLESS_ACCOUNT_ID"] + ":oidc-provider/" + strings.TrimPrefix(seed003Issuer, "https://")
	got, err := rootIAM.GetOpenIDConnectProvider(ctx, &iam.GetOpenIDConnectProviderInput{OpenIDConnectProviderArn: aws.String(providerARN)})
	if err != nil {
		t.Fatal(err)
	}
	if len(got.ThumbprintList) != 1 || got.ThumbprintList[0] != ca {
		t.Errorf("the provider's thumbprints are %v, want [%s], the local CA's", got.ThumbprintList, ca)
	}
	if out, errOut, code = run(t, env, "plan", "-f", config); code != 0 {
		t.Errorf("plan after apply: exit %d, want 0\nstdout: %s\nstderr: %s", code, out, errOut)
	}
	other := strings.Repeat("0", 40)
	if _, err := rootIAM.UpdateOpenIDConnectProviderThumbprint(ctx, &iam.UpdateOpenIDConnectProviderThumbprintInput{OpenIDConnectProviderArn: aws.String(providerARN), ThumbprintList: []string{other}}); err != nil {
		t.Fatal(err)
	}
	if out, errOut, code = run(t, env, "plan", "-f", config); code != 2 || !strings.Contains(out, "- "+other) || !strings.Contains(out, "+ "+ca) {
		t.Errorf("plan after the thumbprint changed by hand: exit %d, want 2 and the change back\nstdout: %s\nstderr: %s", code, out, errOut)
	}
}
