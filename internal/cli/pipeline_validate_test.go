package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
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
