package run

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/keyless-dev/keyless/bitbucket"
	"github.com/keyless-dev/keyless/issuer"
	"github.com/keyless-dev/keyless/pipeline"
)

const (
	fakeToken = "eyJhbGciOiJSUzI1NiJ9.fake.sig"
	secret    = "wJalrXUtnFEMI-SECRET-VALUE"
	roleARN   = "arn:aws:iam::000000000000:role/deploy-web-production"
)

// fake is the stack a test runner talks to: a minter, a variables source, a pipe
// runner and an explainer that record their calls.
type fake struct {
	mints    []issuer.MintRequest
	pipes    []string
	pipeEnv  []string
	pipeDir  string
	pipeErr  error
	explains []string
}

func (f *fake) runner(t *testing.T, out io.Writer) Runner {
	t.Helper()
	if _, err := exec.LookPath("bash"); err != nil {
		t.Skip("bash is not on PATH")
	}
	src := t.TempDir()
	if err := os.WriteFile(filepath.Join(src, "index.html"), []byte("hello"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{".git", ".keyless"} {
		if err := os.MkdirAll(filepath.Join(src, d), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(src, d, "env"), []byte("secret"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	n := 0
	return Runner{
		Workspace: "keyless", Repository: "web", Branch: "main", Commit: "abc123", BuildNumber: 7,
		Source: src, Exclude: []string{filepath.Join(src, ".keyless")},
		Env: []string{"PATH=" + os.Getenv("PATH"), "AWS_ENDPOINT_URL=http://127.0.0.1:1", "BITBUCKET_BRANCH=host-value"},
		Mint: func(_ context.Context, req issuer.MintRequest) (issuer.Token, error) {
			f.mints = append(f.mints, req)
			c := issuer.Claims{RepositoryUUID: "{r-uuid}", WorkspaceUUID: "{w-uuid}", PipelineUUID: "{" + req.PipelineUUID + "}", StepUUID: "{" + req.StepUUID + "}"}
			if req.Environment != "" {
				c.DeploymentEnvironmentUUID = "{e-uuid}"
			}
			return issuer.Token{Raw: fakeToken, Claims: c}, nil
		},
		Variables: func(_ context.Context, ws, repo, env string) ([]bitbucket.StepVariable, error) {
			vars := []bitbucket.StepVariable{
				{Key: "AWS_REGION", Value: "us-east-1", Scope: bitbucket.ScopeRepository},
				{Key: "SECRET", Value: secret, Secured: true, Scope: bitbucket.ScopeRepository},
				{Key: "BITBUCKET_BRANCH", Value: "overridden", Scope: bitbucket.ScopeRepository},
			}
			if env != "" {
				vars = append(vars, bitbucket.StepVariable{Key: "AWS_OIDC_ROLE_ARN", Value: roleARN, Scope: bitbucket.ScopeDeployment})
			}
			return vars, nil
		},
		Pipe: func(_ context.Context, name string, env []string, dir string, out io.Writer) error {
			f.pipes, f.pipeEnv, f.pipeDir = append(f.pipes, name), env, dir
			fmt.Fprintln(out, "pipe says "+secret)
			return f.pipeErr
		},
		Explain: func(_ context.Context, role, token string) (string, error) {
			f.explains = append(f.explains, role+" "+token)
			return "FAIL sub: the policy admits web:production:*; this token's sub is other", nil
		},
		Out: out,
		NewUUID: func() string {
			n++
			return fmt.Sprintf("uuid-%d", n)
		},
	}
}

func sh(lines ...string) []pipeline.Command {
	var l []pipeline.Command
	for _, s := range lines {
		l = append(l, pipeline.Command{Shell: s})
	}
	return l
}

func one(steps ...*pipeline.Step) *pipeline.Pipeline {
	p := &pipeline.Pipeline{}
	for _, s := range steps {
		p.Stages = append(p.Stages, pipeline.Stage{Steps: []*pipeline.Step{s}})
	}
	return p
}

// envOf runs a step printing its environment and returns it as a map.
func envOf(t *testing.T, s *pipeline.Step) (map[string]string, *fake) {
	t.Helper()
	f := &fake{}
	var log bytes.Buffer
	r := f.runner(t, &log)
	out := t.TempDir()
	s.Script = sh("env > " + filepath.Join(out, "env"))
	res, err := r.Run(context.Background(), one(s), Options{})
	if err != nil || !res.OK {
		t.Fatalf("Run: %v, %+v\n%s", err, res, log.String())
	}
	b, err := os.ReadFile(filepath.Join(out, "env"))
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]string{}
	for _, line := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(line, "="); ok {
			m[k] = v
		}
	}
	return m, f
}

func TestStepEnvironment(t *testing.T) {
	tests := []struct {
		name    string
		step    pipeline.Step
		present map[string]string
		absent  []string
	}{
		{"plain step, no oidc", pipeline.Step{Name: "build"},
			map[string]string{
				"BITBUCKET_BUILD_NUMBER": "7", "BITBUCKET_WORKSPACE": "keyless", "BITBUCKET_REPO_SLUG": "web",
				"BITBUCKET_REPO_FULL_NAME": "keyless/web", "BITBUCKET_REPO_UUID": "{r-uuid}", "BITBUCKET_BRANCH": "main",
				"BITBUCKET_COMMIT": "abc123", "BITBUCKET_STEP_UUID": "{uuid-2}", "BITBUCKET_PIPELINE_UUID": "{uuid-1}",
				"AWS_REGION": "us-east-1", "SECRET": secret, "AWS_ENDPOINT_URL": "http://127.0.0.1:1", "CI": "true",
			},
			[]string{TokenVar, "BITBUCKET_DEPLOYMENT_ENVIRONMENT", "AWS_OIDC_ROLE_ARN"}},
		{"deployment step with oidc", pipeline.Step{Name: "deploy", OIDC: true, Deployment: "production"},
			map[string]string{
				TokenVar: fakeToken, "BITBUCKET_DEPLOYMENT_ENVIRONMENT": "production",
				"BITBUCKET_DEPLOYMENT_ENVIRONMENT_UUID": "{e-uuid}", "AWS_OIDC_ROLE_ARN": roleARN,
			}, nil},
		{"deployment step without oidc", pipeline.Step{Name: "deploy", Deployment: "production"},
			map[string]string{"BITBUCKET_DEPLOYMENT_ENVIRONMENT": "production", "AWS_OIDC_ROLE_ARN": roleARN},
			[]string{TokenVar}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := tt.step
			env, f := envOf(t, &s)
			for k, want := range tt.present {
				if got, ok := env[k]; !ok || got != want {
					t.Errorf("%s = %q (set: %t), want %q", k, got, ok, want)
				}
			}
			for _, k := range tt.absent {
				if v, ok := env[k]; ok {
					t.Errorf("%s is set (%q), want it absent", k, v)
				}
			}
			if !strings.HasPrefix(env["BITBUCKET_CLONE_DIR"], os.TempDir()) || env["PWD"] != env["BITBUCKET_CLONE_DIR"] {
				t.Errorf("BITBUCKET_CLONE_DIR %q, PWD %q: want the step's temporary working copy", env["BITBUCKET_CLONE_DIR"], env["PWD"])
			}
			if home := env["HOME"]; home == os.Getenv("HOME") || filepath.Dir(home) != filepath.Dir(env["BITBUCKET_CLONE_DIR"]) {
				t.Errorf("HOME %q, want a fresh directory beside the working copy %q", home, env["BITBUCKET_CLONE_DIR"])
			}
			if len(f.mints) != 1 || f.mints[0].Repository != "web" || f.mints[0].Workspace != "keyless" || f.mints[0].Environment != tt.step.Deployment || f.mints[0].StepUUID != "uuid-2" {
				t.Errorf("minted %+v, want one token for keyless/web, environment %q, step uuid-2", f.mints, tt.step.Deployment)
			}
		})
	}
}

func TestWorkingCopy(t *testing.T) {
	f := &fake{}
	var log bytes.Buffer
	r := f.runner(t, &log)
	s := &pipeline.Step{Name: "ls", Script: sh("cat index.html", "test ! -e .git", "test ! -e .keyless", "echo changed > index.html")}
	res, err := r.Run(context.Background(), one(s, s), Options{})
	if err != nil || !res.OK {
		t.Fatalf("Run: %v, %+v\n%s", err, res, log.String())
	}
	if strings.Count(log.String(), "hello") != 2 {
		t.Errorf("each step should see the original index.html in a fresh copy:\n%s", log.String())
	}
	if b, _ := os.ReadFile(filepath.Join(r.Source, "index.html")); string(b) != "hello" {
		t.Errorf("the source was changed: %q", b)
	}
}

func TestLog(t *testing.T) {
	tests := []struct {
		name     string
		step     pipeline.Step
		ok       bool
		want     []string // in the log, in order
		notWant  []string
		errWants string
		exit     int
	}{
		{"commands echoed, secured values masked",
			pipeline.Step{Name: "s", Script: sh("echo value is $SECRET", "echo done")}, true,
			[]string{"+ echo value is $SECRET\n", "value is ***\n", "+ echo done\n", "done\n", "✔ s passed"}, []string{secret}, "", 0},
		{"a command not found names the image",
			pipeline.Step{Name: "s", Image: "amazon/aws-cli:2.15.0", Script: sh("keyless-no-such-tool --version", "echo after")}, false,
			[]string{"keyless-no-such-tool: command not found"}, []string{"+ echo after"},
			"keyless-no-such-tool: command not found on this host: the step's image amazon/aws-cli:2.15.0 would have it, but keyless runs the script on the host: install keyless-no-such-tool here (exit status 127)", 127},
		{"a failing command stops the script",
			pipeline.Step{Name: "s", Script: sh("echo one", "false", "echo two")}, false,
			[]string{"+ false\n"}, []string{"+ echo two"}, "the script exited with status 1", 1},
		{"after-script runs after a failure, with the exit code",
			pipeline.Step{Name: "s", Script: sh("exit 3"), AfterScript: sh("echo after $BITBUCKET_EXIT_CODE $SECRET")}, false,
			[]string{"--- after-script", "after 3 ***"}, nil, "the script exited with status 3", 3},
		{"after-script failing does not fail the step",
			pipeline.Step{Name: "s", Script: sh("true"), AfterScript: sh("false")}, true,
			[]string{"after-script failed", "✔ s passed"}, nil, "", 0},
		{"shell state carries between commands",
			pipeline.Step{Name: "s", Script: sh("export X=1; mkdir d", "cd d", "echo x=$X in $(basename $PWD)")}, true,
			[]string{"x=1 in d"}, nil, "", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &fake{}
			var log bytes.Buffer
			r := f.runner(t, &log)
			s := tt.step
			res, err := r.Run(context.Background(), one(&s), Options{})
			if err != nil {
				t.Fatal(err)
			}
			got := log.String()
			if res.OK != tt.ok {
				t.Fatalf("OK = %t, want %t\n%s", res.OK, tt.ok, got)
			}
			rest := got
			for _, w := range tt.want {
				i := strings.Index(rest, w)
				if i < 0 {
					t.Fatalf("log lacks %q (in order):\n%s", w, got)
				}
				rest = rest[i+len(w):]
			}
			for _, w := range tt.notWant {
				if strings.Contains(got, w) {
					t.Errorf("log has %q:\n%s", w, got)
				}
			}
			if st := res.Steps[0]; st.Error != tt.errWants || st.ExitCode != tt.exit {
				t.Errorf("step error %q exit %d, want %q exit %d", st.Error, st.ExitCode, tt.errWants, tt.exit)
			}
		})
	}
}

func TestFailingStepStopsThePipeline(t *testing.T) {
	f := &fake{}
	var log bytes.Buffer
	r := f.runner(t, &log)
	p := &pipeline.Pipeline{Stages: []pipeline.Stage{
		{Steps: []*pipeline.Step{{Name: "build", Script: sh("true")}}},
		{Parallel: true, Steps: []*pipeline.Step{{Name: "lint", Script: sh("false")}, {Name: "test", Script: sh("true")}}},
		{Steps: []*pipeline.Step{{Name: "deploy", Script: sh("echo deploying")}}},
	}}
	res, err := r.Run(context.Background(), p, Options{})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, s := range res.Steps {
		got = append(got, s.Name+"="+s.Status)
	}
	want := "build=passed lint=failed test=passed deploy=not run"
	if strings.Join(got, " ") != want || res.OK {
		t.Errorf("steps %v ok=%t, want %s and not ok", got, res.OK, want)
	}
	if strings.Contains(log.String(), "deploying") {
		t.Errorf("the step after the failure ran:\n%s", log.String())
	}
	var sum bytes.Buffer
	if err := res.WriteText(&sum); err != nil {
		t.Fatal(err)
	}
	for _, w := range []string{"STEP", "RESULT", "lint", "failed", "deploy", "not run", "lint: the script exited with status 1", "Pipeline failed."} {
		if !strings.Contains(sum.String(), w) {
			t.Errorf("summary lacks %q:\n%s", w, sum.String())
		}
	}
}

func TestSelectStep(t *testing.T) {
	f := &fake{}
	r := f.runner(t, io.Discard)
	p := one(&pipeline.Step{Name: "build", Script: sh("true")}, &pipeline.Step{Name: "deploy", Script: sh("true")})
	res, err := r.Run(context.Background(), p, Options{Step: "deploy"})
	if err != nil || res.Steps[0].Status != Skipped || res.Steps[1].Status != Passed {
		t.Errorf("--step deploy: %v %+v", err, res.Steps)
	}
	_, err = r.Run(context.Background(), p, Options{Step: "nope"})
	if err == nil || !strings.Contains(err.Error(), `no step named "nope"; the steps are "build", "deploy"`) {
		t.Errorf("unknown step: %v", err)
	}
}

func TestPipes(t *testing.T) {
	tests := []struct {
		name    string
		pipe    string
		pipeErr error
		oidc    bool
		ok      bool
		wantErr string
		want    string // in the log
	}{
		{"s3 deploy", "atlassian/aws-s3-deploy:1.1.0", nil, true, true, "", "pipe says ***"},
		{"invalidate", "atlassian/aws-cloudfront-invalidate:0.6.0", nil, true, true, "", "+ pipe: atlassian/aws-cloudfront-invalidate:0.6.0"},
		{"unknown pipe", "atlassian/aws-lambda-deploy:1.0.0", nil, true, false,
			"pipe atlassian/aws-lambda-deploy:1.0.0 is not supported: keyless runs atlassian/aws-cloudfront-invalidate and atlassian/aws-s3-deploy", ""},
		{"denied, explained", "atlassian/aws-s3-deploy:1.1.0", fmt.Errorf("AccessDenied: Not authorized to perform sts:AssumeRoleWithWebIdentity"), true, false,
			"pipe atlassian/aws-s3-deploy:1.1.0 failed: AccessDenied: Not authorized to perform sts:AssumeRoleWithWebIdentity", ""},
		{"without oidc", "atlassian/aws-s3-deploy:1.1.0", fmt.Errorf("exit status 1"), false, false, "pipe atlassian/aws-s3-deploy:1.1.0 failed: exit status 1", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &fake{pipeErr: tt.pipeErr}
			var log bytes.Buffer
			r := f.runner(t, &log)
			s := &pipeline.Step{Name: "deploy", OIDC: tt.oidc, Deployment: "production", Script: []pipeline.Command{{
				Pipe: tt.pipe, Vars: map[string]string{"S3_BUCKET": "site/$BITBUCKET_REPO_SLUG", "AWS_OIDC_ROLE_ARN": "${AWS_OIDC_ROLE_ARN}", "LOCAL_PATH": "build"},
			}}}
			if tt.pipeErr != nil {
				// the pipe's log carries the denial
				r.Pipe = func(_ context.Context, name string, env []string, dir string, out io.Writer) error {
					fmt.Fprintln(out, "✖ Deployment failed: "+tt.pipeErr.Error())
					return tt.pipeErr
				}
			}
			res, err := r.Run(context.Background(), one(s), Options{})
			if err != nil {
				t.Fatal(err)
			}
			st := res.Steps[0]
			if res.OK != tt.ok || st.Error != tt.wantErr {
				t.Fatalf("ok %t error %q, want %t %q\n%s", res.OK, st.Error, tt.ok, tt.wantErr, log.String())
			}
			if !strings.Contains(log.String(), tt.want) {
				t.Errorf("log lacks %q:\n%s", tt.want, log.String())
			}
			if st.Role != roleARN {
				t.Errorf("role %q, want %s (from the pipe's variables)", st.Role, roleARN)
			}
			switch tt.name {
			case "s3 deploy":
				envm := map[string]string{}
				for _, kv := range f.pipeEnv {
					k, v, _ := strings.Cut(kv, "=")
					envm[k] = v
				}
				if f.pipes[0] != "aws-s3-deploy" || envm["S3_BUCKET"] != "site/web" || envm["AWS_OIDC_ROLE_ARN"] != roleARN || envm[TokenVar] != fakeToken || envm["LOCAL_PATH"] != "build" {
					t.Errorf("pipe %v with S3_BUCKET=%q AWS_OIDC_ROLE_ARN=%q token=%q", f.pipes, envm["S3_BUCKET"], envm["AWS_OIDC_ROLE_ARN"], envm[TokenVar])
				}
				if _, err := os.Stat(filepath.Join(f.pipeDir, "index.html")); err != nil && f.pipeDir != "" {
					// the working copy is removed after the step: only check the name
					if !strings.HasPrefix(f.pipeDir, os.TempDir()) {
						t.Errorf("pipe ran in %s, want the step's working copy", f.pipeDir)
					}
				}
			case "denied, explained":
				if len(f.explains) != 1 || f.explains[0] != roleARN+" "+fakeToken || !strings.Contains(st.Explanation, "FAIL sub") {
					t.Errorf("explain calls %v, explanation %q", f.explains, st.Explanation)
				}
			case "without oidc":
				want := "the step has no `oidc: true`, so Bitbucket gives it no BITBUCKET_STEP_OIDC_TOKEN to assume " + roleARN + " with: add `oidc: true` to the step"
				if st.Explanation != want || len(f.explains) != 0 {
					t.Errorf("explanation %q, want %q", st.Explanation, want)
				}
			}
		})
	}
}

func TestRoleFromScript(t *testing.T) {
	env := newEnv([]string{"ROLE=arn:aws:iam::1:role/from-var"})
	for _, tt := range []struct{ line, want string }{
		{"AWS_ROLE_ARN=arn:aws:iam::1:role/x aws sts get-caller-identity", "arn:aws:iam::1:role/x"},
		{`export AWS_ROLE_ARN="$ROLE"; aws s3 ls`, "arn:aws:iam::1:role/from-var"},
		{"AWS_OIDC_ROLE_ARN='arn:aws:iam::1:role/q' keyless pipe aws-s3-deploy", "arn:aws:iam::1:role/q"},
		{"aws sts get-caller-identity", ""},
	} {
		if got := roleOf(&pipeline.Step{Script: sh(tt.line)}, env); got != tt.want {
			t.Errorf("roleOf(%q) = %q, want %q", tt.line, got, tt.want)
		}
	}
}

func TestResultJSON(t *testing.T) {
	r := Result{OK: false, PipelineUUID: "p", Steps: []StepResult{{Name: "deploy", Status: Failed, Duration: 1500 * time.Millisecond, Seconds: 1.5, ExitCode: 254, Role: roleARN, Error: "e", Explanation: "why"}}}
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"ok":false,"pipelineUuid":"p","steps":[{"name":"deploy","oidc":false,"status":"failed","seconds":1.5,"exitCode":254,"role":"` + roleARN + `","error":"e","explanation":"why"}]}`
	if string(b) != want {
		t.Errorf("JSON\n got %s\nwant %s", b, want)
	}
}

func TestMaskWriter(t *testing.T) {
	var out bytes.Buffer
	w := newMaskWriter(&out, []string{"s3cr3t", "other"})
	io.WriteString(w, "a s3c")
	io.WriteString(w, "r3t b\nother")
	w.Flush()
	if out.String() != "a *** b\n***\n" {
		t.Errorf("masked %q", out.String())
	}
}
