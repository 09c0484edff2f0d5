package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/keyless-dev/keyless/issuer"
	"github.com/keyless-dev/keyless/oidc"
	"github.com/keyless-dev/keyless/pipeline"
)

// runPipelineValidate runs the validate command on its own (the `pipeline`
// parent adds it to the tree) and returns the exit status Execute would.
func runPipelineValidate(t *testing.T, args ...string) (int, string) {
	t.Helper()
	var out, errb bytes.Buffer
	cmd := newPipelineValidateCmd(Streams{In: strings.NewReader(""), Out: &out, Err: &errb})
	cmd.SetArgs(args)
	cmd.SetOut(&out)
	cmd.SetErr(&errb)
	cmd.SilenceUsage, cmd.SilenceErrors = true, true
	err := cmd.ExecuteContext(context.Background())
	code := 0
	var ee *ExitError
	switch {
	case errors.As(err, &ee):
		code = ee.Code
	case err != nil:
		code = 1
		out.WriteString("keyless: " + err.Error())
	}
	return code, out.String()
}

func TestPipelineValidateCmd(t *testing.T) {
	clean := writeFile(t, "bitbucket-pipelines.yml", "pipelines:\n  default:\n    - step:\n        script: [echo hi]\n")
	code, out := runPipelineValidate(t, clean)
	if code != 0 || out != clean+": valid; pipelines: default\n" {
		t.Fatalf("clean: code %d out %q", code, out)
	}

	noOIDC := writeFile(t, "b.yml", `pipelines:
  default:
    - step:
        deployment: prod
        script:
          - pipe: atlassian/aws-s3-deploy:1.1.0
            variables:
              AWS_OIDC_ROLE_ARN: $AWS_OIDC_ROLE_ARN
`)
	code, out = runPipelineValidate(t, noOIDC)
	if code != 1 || !strings.Contains(out, noOIDC+":6:13: error [default › step 1]: the pipe atlassian/aws-s3-deploy gets AWS_OIDC_ROLE_ARN but the step has no `oidc: true`") ||
		!strings.Contains(out, `4:9: warning [default › step 1]: deployment environment "prod"`) || !strings.HasSuffix(out, ": 1 error(s), 1 warning(s)\n") {
		t.Fatalf("no oidc: code %d out %q", code, out)
	}
	// --environment declares prod; the error remains.
	code, out = runPipelineValidate(t, noOIDC, "--environment", "prod", "--output", "json")
	var rep pipelineValidateReport
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("json: %v\n%s", err, out)
	}
	if code != 1 || rep.Valid || rep.Errors != 1 || rep.Warnings != 0 || rep.Findings[0].Code != "oidc-missing" || rep.Findings[0].Line != 6 {
		t.Fatalf("json: code %d %+v", code, rep)
	}

	bad := writeFile(t, "c.yml", "pipelines:\n  default:\n    - step:\n        scirpt: [x]\n")
	code, out = runPipelineValidate(t, bad)
	if code != 1 || !strings.Contains(out, bad+`:4:9: error: unknown key "scirpt" in a step: did you mean "script"?`) {
		t.Fatalf("schema: code %d out %q", code, out)
	}
	code, out = runPipelineValidate(t, bad, "--output", "json")
	if code != 1 || !strings.Contains(out, `"code": "schema"`) || !strings.Contains(out, `"valid": false`) {
		t.Fatalf("schema json: code %d out %q", code, out)
	}

	warnOnly := writeFile(t, "d.yml", "pipelines:\n  default:\n    - step:\n        script: [aws s3 ls]\n")
	if code, out = runPipelineValidate(t, warnOnly); code != 0 || !strings.Contains(out, "valid, 1 warning(s); pipelines: default") {
		t.Fatalf("warnings only: code %d out %q", code, out)
	}

	if code, out = runPipelineValidate(t, clean, "--output", "yaml"); code != 1 || !strings.Contains(out, `--output "yaml": write text or json`) {
		t.Fatalf("bad output: code %d out %q", code, out)
	}
	if code, out = runPipelineValidate(t, clean+".missing"); code != 1 || !strings.Contains(out, "read pipelines file:") {
		t.Fatalf("missing file: code %d out %q", code, out)
	}
}

// fakeTrust is IAM for trustFindings: one role's trust policy and the providers.
type fakeTrust struct {
	role, doc string
	providers []oidc.Provider
}

func (f fakeTrust) TrustPolicy(_ context.Context, roleARN string) (string, error) {
	if roleARN != f.role {
		return "", fmt.Errorf("read the trust policy of %s with iam:GetRole: NoSuchEntity", roleARN)
	}
	return f.doc, nil
}

func (f fakeTrust) Providers(context.Context) ([]oidc.Provider, error) { return f.providers, nil }

func TestPipelineValidateTrust(t *testing.T) {
	const (
		role = "arn:aws:iam::123456789012:role/deploy-web-production"
		url  = "api.bitbucket.org/2.0/workspaces/acme/pipelines-config/identity/oidc"
	)
	prov := oidc.Provider{ARN: "arn:aws:iam::123456789012:oidc-provider/" + url, URL: url,
		ClientIDs: []string{issuer.WorkspaceAudience(issuer.WorkspaceUUID("acme"))}}
	doc := fmt.Sprintf(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Federated":%q},
"Action":"sts:AssumeRoleWithWebIdentity","Condition":{"StringEquals":{%q:%q},"StringLike":{%q:"{%s}:{%s}:*"}}}]}`,
		prov.ARN, url+":aud", prov.ClientIDs[0], url+":sub",
		issuer.RepositoryUUID("acme", "web"), issuer.EnvironmentUUID("acme", "web", "production"))
	reader := fakeTrust{role: role, doc: doc, providers: []oidc.Provider{prov}}
	file := func(environment, roleARN string) *pipeline.File {
		f, err := pipeline.Parse([]byte(fmt.Sprintf(`pipelines:
  default:
    - step:
        name: Deploy
        oidc: true
        deployment: %s
        script:
          - pipe: atlassian/aws-s3-deploy:1.1.0
            variables:
              AWS_OIDC_ROLE_ARN: '%s'
              S3_BUCKET: site
              LOCAL_PATH: build
`, environment, roleARN)))
		if err != nil {
			t.Fatal(err)
		}
		return f
	}
	for _, tt := range []struct {
		name, environment, repository, role string
		code, want                          string
	}{
		{name: "admitted", environment: "production", repository: "web", role: role},
		{name: "environment differs", environment: "staging", repository: "web", role: role, code: pipeline.CodeTrustRefused,
			want: "the trust policy of " + role + " would refuse this step of acme/web in environment staging: FAIL"},
		{name: "another repository", environment: "production", repository: "api", role: role, code: pipeline.CodeTrustRefused,
			want: "this token's repository is `{" + issuer.RepositoryUUID("acme", "api") + "}`"},
		{name: "placeholder not checked", environment: "staging", repository: "web", role: "arn:aws:iam::accountid:role/RoleName"},
		{name: "no such role", environment: "production", repository: "web", role: "arn:aws:iam::123456789012:role/other", code: pipeline.CodeTrustUnchecked,
			want: "could not be checked: read the trust policy of arn:aws:iam::123456789012:role/other with iam:GetRole: NoSuchEntity"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got := trustFindings(context.Background(), file(tt.environment, tt.role), reader, "acme", tt.repository)
			if tt.code == "" {
				if len(got) != 0 {
					t.Fatalf("findings %+v, want none", got)
				}
				return
			}
			if len(got) != 1 || got[0].Code != tt.code || got[0].Line != 4 || got[0].Step != "Deploy" || !strings.Contains(got[0].Message, tt.want) {
				t.Fatalf("findings %+v, want one %s at line 4 saying %q", got, tt.code, tt.want)
			}
		})
	}
	t.Setenv("HOME", t.TempDir()) // no ~/.aws
	noCreds := func(k string) string {
		switch k {
		case "AWS_EC2_METADATA_DISABLED":
			return "true"
		case "KEYLESS_ENDPOINT":
			return "http://127.0.0.1:1"
		}
		return ""
	}
	if _, note := checkTrust(context.Background(), file("production", role), noCreds, "acme", "web"); !strings.Contains(note, "no AWS credentials") {
		t.Errorf("without credentials: note %q, want it to say there are none", note)
	}
	// Not against keyless up: a real account's policies pin Bitbucket's own
	// UUIDs, which the check cannot know.
	realAWS := func(k string) string {
		if k == "AWS_ACCESS_KEY_ID" || k == "AWS_SECRET_ACCESS_KEY" {
			return "AKIAEXAMPLE"
		}
		return ""
	}
	if got, note := checkTrust(context.Background(), file("production", role), realAWS, "acme", "web"); got != nil || !strings.Contains(note, "runs against keyless up") {
		t.Errorf("outside keyless up: findings %v, note %q; want none and a note", got, note)
	}
}
