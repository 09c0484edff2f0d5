package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/keyless-dev/keyless/issuer"
)

// provisionEnv is the environment of keyless plan/apply against p: the sourced env
// file and no AWS files of the user's.
func provisionEnv(t testing.TB, p *upProc) []string {
	home := t.TempDir()
	return withEnv(p.env, "HOME="+home,
		"AWS_CONFIG_FILE="+filepath.Join(home, "aws-config"),
		"AWS_SHARED_CREDENTIALS_FILE="+filepath.Join(home, "aws-credentials"))
}

// localConfig writes, with keyless init and edits of the starter, a keyless.yaml
// whose provider is p's issuer and audience and whose roles are
// deploy-REPO-ENV for each repository and environment, with the UUIDs the local
// issuer derives from the names (read from minted tokens). It returns the file
// and the role names by "repo/env".
func localConfig(t testing.TB, p *upProc, dir string, repos, envs []string) (string, map[string]string) {
	t.Helper()
	file := filepath.Join(dir, "keyless.yaml")
	if out, errOut, code := run(t, withEnv(p.env), "init", "-f", file); code != 0 {
		t.Fatalf("keyless init: exit %d: %s%s", code, out, errOut)
	}
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	starter := string(b)
	for old, repl := range map[string]string{
		"# name: web-deploy": "name: e2e",
		"    # url: https://127.0.0.1:8400/2.0/workspaces/keyless/pipelines-config/identity/oidc": "    url: " + p.env["KEYLESS_ISSUER"],
		`    # audiences: ["ari:cloud:bitbucket::workspace/<uuid>"]`:                              fmt.Sprintf("    audiences: [%q]", p.env["KEYLESS_AUDIENCE"]),
	} {
		if !strings.Contains(starter, old) {
			t.Fatalf("the starter has no %q", old)
		}
		starter = strings.Replace(starter, old, repl, 1)
	}
	// The starter's one role becomes one role entry per repository: Bitbucket's
	// environment UUIDs belong to a repository.
	head, _, ok := strings.Cut(starter, "\nroles:\n")
	if !ok {
		t.Fatal("the starter has no roles:")
	}
	var roles strings.Builder
	names := map[string]string{}
	for _, repo := range repos {
		var envLines []string
		var repoUUID string
		for _, env := range envs {
			m := mintJSON(t, p.env, "--repository", repo, "--environment", env)
			repoUUID = m.Claims["repositoryUuid"].(string)
			envLines = append(envLines, fmt.Sprintf("        - {name: %s, uuid: %q}", env, m.Claims["deploymentEnvironmentUuid"]))
			names[repo+"/"+env] = "deploy-" + repo + "-" + env
		}
		fmt.Fprintf(&roles, `  - name: deploy-{repository}-{environment}
    description: Deploys {repository} to {environment}
    matrix:
      repositories:
        - {name: %s, uuid: %q}
      environments:
%s
    permissions:
      - template: s3-deploy
        bucket: acme-{repository}-{environment}
`, repo, repoUUID, strings.Join(envLines, "\n"))
	}
	if err := os.WriteFile(file, []byte(head+"\nroles:\n"+roles.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	return file, names
}

// TestPlanApplyAgainstUp runs the built binary against keyless up: keyless init,
// edited to trust the local issuer; plan exits 2 and lists the creations; apply
// --auto-approve creates them; plan then exits 0, in text and JSON; apply refuses
// to run without --auto-approve when stdin is not a terminal. Then a token minted
// for each repository and environment assumes exactly its own role and no other
// (Go SDK AssumeRoleWithWebIdentity against the local STS).
func TestPlanApplyAgainstUp(t *testing.T) {
	p := startUp(t, t.TempDir())
	repos, envs := []string{"web", "api"}, []string{"staging", "production"}
	file, roles := localConfig(t, p, t.TempDir(), repos, envs)
	env := provisionEnv(t, p)

	out, errOut, code := run(t, env, "plan", "-f", file)
	if code != 2 {
		t.Fatalf("first plan: exit %d, want 2\n%s%s", code, out, errOut)
	}
	for _, want := range []string{"+ create provider " + strings.TrimPrefix(p.env["KEYLESS_ISSUER"], "https://"), "+ create role deploy-api-production", "Plan: 5 to create, 0 to update, 0 to delete"} {
		if !strings.Contains(out, want) {
			t.Errorf("first plan lacks %q:\n%s", want, out)
		}
	}

	// The config may be a pipe, as `keyless plan -f <(envsubst < tmpl.yaml)` gives:
	// plan reads it once, so it plans what the file plan planned.
	if piped := planFromPipe(t, env, file); piped != out {
		t.Errorf("plan -f /dev/fd/3 (a pipe holding the config) printed:\n%s\nwant what plan -f %s printed:\n%s", piped, file, out)
	}

	// apply without --auto-approve and with a pipe on stdin refuses, changing nothing.
	cmd := exec.Command(keylessBin, "apply", "-f", file)
	cmd.Env, cmd.Stdin = env, strings.NewReader("yes\n")
	b, err := cmd.CombinedOutput()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 || !strings.Contains(string(b), "--auto-approve") {
		t.Errorf("apply with stdin a pipe: %v\n%s\nwant exit 1 naming --auto-approve", err, b)
	}

	out, errOut, code = run(t, env, "apply", "-f", file, "--auto-approve")
	if code != 0 || !strings.Contains(out, "Applied: 9 IAM calls done.") {
		t.Fatalf("apply: exit %d\n%s%s", code, out, errOut)
	}
	out, errOut, code = run(t, env, "plan", "-f", file)
	if code != 0 || !strings.Contains(out, "No changes") {
		t.Fatalf("plan after apply: exit %d, want 0 and no changes\n%s%s", code, out, errOut)
	}
	out, _, code = run(t, env, "plan", "-f", file, "--output", "json")
	var js struct {
		Changes []json.RawMessage `json:"changes"`
		Account string            `json:"account"`
	}
	if code != 0 || json.Unmarshal([]byte(out), &js) != nil || len(js.Changes) != 0 || js.Account != "000000000000" {
		t.Errorf("plan --output json after apply: exit %d\n%s", code, out)
	}
	out, errOut, code = run(t, env, "apply", "-f", file, "--auto-approve")
	if code != 0 || !strings.Contains(out, "No changes") {
		t.Errorf("second apply: exit %d, want 0 and nothing to do\n%s%s", code, out, errOut)
	}

	ctx := context.Background()
	stsc := sts.NewFromConfig(aws.Config{Region: "us-east-1", BaseEndpoint: aws.String(p.env["KEYLESS_ENDPOINT"]), Credentials: aws.AnonymousCredentials{}})
	for _, repo := range repos {
		for _, e := range envs {
			token := mintJSON(t, p.env, "--repository", repo, "--environment", e).Token
			for key, role := range roles {
				own := key == repo+"/"+e
				roleARN := "arn:aws:iam::000000000000:role/" + role
				got, err := stsc.AssumeRoleWithWebIdentity(ctx, &sts.AssumeRoleWithWebIdentityInput{
					RoleArn: aws.String(roleARN), RoleSessionName: aws.String("e2e"), WebIdentityToken: aws.String(token),
				})
				switch {
				case own && err != nil:
					t.Errorf("%s/%s could not assume its own role %s: %v", repo, e, role, err)
				case own && !strings.Contains(aws.ToString(got.AssumedRoleUser.Arn), "assumed-role/"+role+"/"):
					t.Errorf("%s/%s assumed %s", repo, e, aws.ToString(got.AssumedRoleUser.Arn))
				case !own && err == nil:
					t.Errorf("%s/%s assumed %s, another repository's or environment's role", repo, e, role)
				case !own:
					if code, _ := apiError(err); code != "AccessDenied" {
						t.Errorf("%s/%s assuming %s: %v, want AccessDenied", repo, e, role, err)
					}
				}
			}
		}
	}
}

// planFromPipe runs keyless plan -f /dev/fd/3, fd 3 a pipe fed the contents of
// file, and returns its standard output; it fails the test unless plan exits 2.
func planFromPipe(t *testing.T, env []string, file string) string {
	t.Helper()
	config, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		w.Write(config) // the config is far below the pipe's buffer
		w.Close()
	}()
	var stdout, stderr strings.Builder
	cmd := exec.Command(keylessBin, "plan", "-f", "/dev/fd/3")
	cmd.Env, cmd.ExtraFiles, cmd.Stdout, cmd.Stderr = env, []*os.File{r}, &stdout, &stderr
	err = cmd.Run()
	r.Close()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 2 {
		t.Fatalf("plan -f /dev/fd/3: %v, want exit 2\n%s%s", err, stdout.String(), stderr.String())
	}
	return stdout.String()
}

// TestPlanShowsDriftAndDeletes changes IAM behind keyless's back (a loosened
// trust policy, a role made by hand) and the config (a role entry dropped, a
// description changed): plan shows the trust policy diff, the description change
// and the deletion of the dropped role only; apply brings IAM back to the config
// and leaves the hand-made role alone.
func TestPlanShowsDriftAndDeletes(t *testing.T) {
	p := startUp(t, t.TempDir())
	file, _ := localConfig(t, p, t.TempDir(), []string{"web", "api"}, []string{"production"})
	env := provisionEnv(t, p)
	if out, errOut, code := run(t, env, "apply", "-f", file, "--auto-approve"); code != 0 {
		t.Fatalf("apply: exit %d\n%s%s", code, out, errOut)
	}
	// Loosen the web role's trust policy behind keyless's back, and add a role
	// keyless did not create.
	ctx := context.Background()
	iamc := iam.NewFromConfig(rootConfig(p))
	role, err := iamc.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String("deploy-web-production")})
	if err != nil {
		t.Fatal(err)
	}
	trust, err := url.PathUnescape(aws.ToString(role.Role.AssumeRolePolicyDocument))
	if err != nil {
		t.Fatal(err)
	}
	loose := regexp.MustCompile(`(:sub":")\{[^"]*`).ReplaceAllString(trust, "${1}*")
	if loose == trust {
		t.Fatalf("no sub condition in %s", trust)
	}
	if _, err := iamc.UpdateAssumeRolePolicy(ctx, &iam.UpdateAssumeRolePolicyInput{RoleName: aws.String("deploy-web-production"), PolicyDocument: aws.String(loose)}); err != nil {
		t.Fatal(err)
	}
	if _, err := iamc.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("by-hand"), AssumeRolePolicyDocument: aws.String(trust)}); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	// Drop the api role entry and change the web role's description.
	text := regexp.MustCompile(`(?s)  - name: deploy-\{repository\}-\{environment\}\n    description: Deploys \{repository\} to \{environment\}\n    matrix:\n      repositories:\n        - \{name: api,.*$`).ReplaceAllString(string(b), "")
	text = strings.Replace(text, "description: Deploys {repository} to {environment}", "description: Ships {repository}", 1)
	if err := os.WriteFile(file, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	out, errOut, code := run(t, env, "plan", "-f", file)
	if code != 2 {
		t.Fatalf("plan: exit %d, want 2\n%s%s", code, out, errOut)
	}
	for _, want := range []string{
		"~ update role deploy-web-production", `description: "Deploys web to production" -> "Ships web"`,
		"- delete role deploy-api-production", "tagged keyless:managed=e2e and no longer in the config",
		"~ trust policy:", `-         "`, `+         "`,
		"Plan: 0 to create, 1 to update, 1 to delete",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("plan lacks %q:\n%s", want, out)
		}
	}
	start := time.Now()
	if out, errOut, code := run(t, env, "apply", "-f", file, "--auto-approve"); code != 0 {
		t.Fatalf("apply: exit %d\n%s%s", code, out, errOut)
	}
	t.Logf("apply took %v", time.Since(start))
	if out, errOut, code := run(t, env, "plan", "-f", file); code != 0 {
		t.Fatalf("plan after apply: exit %d\n%s%s", code, out, errOut)
	}
	if _, err := iamc.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String("by-hand")}); err != nil {
		t.Errorf("the role keyless did not create is gone: %v", err)
	}
}

// BenchmarkPlan200x3 measures `keyless plan` (the built binary, every IAM read over
// loopback HTTP) for 200 Bitbucket repositories × 3 deployment environments, 600
// roles, against keyless up after apply, and reports the one apply's time too. Run it
// with
//
//	go test ./e2e -run '^$' -bench Plan200x3 -benchtime 5x
func BenchmarkPlan200x3(b *testing.B) {
	p := startUp(b, b.TempDir())
	envs := []string{"staging", "production", "test"}
	var cfg strings.Builder
	fmt.Fprintf(&cfg, "name: bench\nproviders:\n  bb:\n    type: bitbucket\n    workspace: keyless\n    workspace_uuid: %q\n    url: %s\n    audiences: [%q]\nroles:\n",
		"{"+issuer.WorkspaceUUID("keyless")+"}", p.env["KEYLESS_ISSUER"], p.env["KEYLESS_AUDIENCE"])
	for i := range 200 {
		repo := fmt.Sprintf("repo%03d", i)
		fmt.Fprintf(&cfg, "  - name: deploy-{repository}-{environment}\n    matrix:\n      repositories:\n        - {name: %s, uuid: %q}\n      environments:\n", repo, "{"+issuer.RepositoryUUID("keyless", repo)+"}")
		for _, e := range envs {
			fmt.Fprintf(&cfg, "        - {name: %s, uuid: %q}\n", e, "{"+issuer.EnvironmentUUID("keyless", repo, e)+"}")
		}
		cfg.WriteString("    permissions:\n      - template: s3-deploy\n        bucket: acme-{repository}-{environment}\n")
	}
	file := filepath.Join(b.TempDir(), "keyless.yaml")
	if err := os.WriteFile(file, []byte(cfg.String()), 0o600); err != nil {
		b.Fatal(err)
	}
	env := provisionEnv(b, p)
	start := time.Now()
	if out, errOut, code := run(b, env, "apply", "-f", file, "--auto-approve"); code != 0 || !strings.Contains(out, "Applied: 1201 IAM calls done.") {
		b.Fatalf("apply: exit %d\n%.2000s\n%s", code, out, errOut)
	}
	applied := time.Since(start)
	for b.Loop() {
		if out, errOut, code := run(b, env, "plan", "-f", file); code != 0 {
			b.Fatalf("plan after apply: exit %d\n%.2000s\n%s", code, out, errOut)
		}
	}
	b.ReportMetric(applied.Seconds(), "apply-s")
}

// TestApplyToMoto applies a config to moto's IAM server, a second implementation
// of the IAM API: apply succeeds, plan then exits 0 (moto's percent-encoded,
// re-serialized documents compare equal), and the Go SDK reads back the provider,
// the roles, their inline policies and the keyless:managed tag.
func TestApplyToMoto(t *testing.T) {
	endpoint, _ := startMoto(t)
	dir, home := t.TempDir(), t.TempDir()
	file := filepath.Join(dir, "keyless.yaml")
	config := `name: moto
tags: {owner: platform}
providers:
  gh: {type: github, thumbprints: [aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa]}
roles:
  - name: deploy-{repository}-{environment}
    description: Deploys {repository} to {environment}
    matrix:
      repositories: [acme/web, acme/api]
      environments: [staging, production]
    trust: {session_tags: true}
    permissions:
      - template: s3-deploy
        bucket: acme-{repository}-{environment}
      - template: cloudfront-invalidate
        distribution: E2QWRUHAPOMQZL
`
	if err := os.WriteFile(file, []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	env := append(cleanEnv(), "HOME="+home, "AWS_CONFIG_FILE="+filepath.Join(home, "c"), "AWS_SHARED_CREDENTIALS_FILE="+filepath.Join(home, "k"),
		"AWS_ENDPOINT_URL="+endpoint, "AWS_ACCESS_KEY_ID=testing", "AWS_SECRET_ACCESS_KEY=testing", "AWS_REGION=us-east-1")
	if out, errOut, code := run(t, env, "apply", "-f", file, "--auto-approve"); code != 0 {
		t.Fatalf("apply to moto: exit %d\n%s%s", code, out, errOut)
	}
	if out, errOut, code := run(t, env, "plan", "-f", file); code != 0 {
		t.Fatalf("plan after apply to moto: exit %d, want 0\n%s%s", code, out, errOut)
	}
	ctx := context.Background()
	iamc := iam.NewFromConfig(aws.Config{Region: "us-east-1", BaseEndpoint: aws.String(endpoint), Credentials: credentials.NewStaticCredentialsProvider("testing", "testing", "")})
	provs, err := iamc.ListOpenIDConnectProviders(ctx, &iam.ListOpenIDConnectProvidersInput{})
	if err != nil || len(provs.OpenIDConnectProviderList) != 1 || !strings.HasSuffix(aws.ToString(provs.OpenIDConnectProviderList[0].Arn), ":oidc-provider/token.actions.githubusercontent.com") {
		t.Fatalf("providers in moto: %v %+v", err, provs)
	}
	for _, name := range []string{"deploy-web-staging", "deploy-web-production", "deploy-api-staging", "deploy-api-production"} {
		role, err := iamc.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String(name)})
		if err != nil {
			t.Errorf("GetRole %s: %v", name, err)
			continue
		}
		managed := false
		for _, tg := range role.Role.Tags {
			managed = managed || aws.ToString(tg.Key) == "keyless:managed" && aws.ToString(tg.Value) == "moto"
		}
		pols, err := iamc.ListRolePolicies(ctx, &iam.ListRolePoliciesInput{RoleName: aws.String(name)})
		if err != nil || !managed || strings.Join(pols.PolicyNames, ",") != "cloudfront-invalidate,s3-deploy" {
			t.Errorf("role %s in moto: tagged %v, inline policies %v (%v)", name, managed, pols, err)
		}
	}
}
