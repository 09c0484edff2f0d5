package pipeline

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func readTestdata(t *testing.T, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// wrapFragment makes a whole file of a quoted list of steps.
func wrapFragment(data []byte) []byte {
	var b strings.Builder
	b.WriteString("pipelines:\n  default:\n")
	for _, l := range strings.Split(string(data), "\n") {
		b.WriteString("    " + l + "\n")
	}
	return []byte(b.String())
}

func mustParse(t *testing.T, data []byte) *File {
	t.Helper()
	f, err := Parse(data)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return f
}

func TestParseSeeds(t *testing.T) {
	files, err := filepath.Glob("testdata/seed*.yml")
	if err != nil || len(files) < 7 {
		t.Fatalf("seed files: %v %v", files, err)
	}
	for _, path := range files {
		t.Run(filepath.Base(path), func(t *testing.T) {
			data := readTestdata(t, filepath.Base(path))
			if !strings.Contains(string(data), "pipelines:") {
				data = wrapFragment(data)
			}
			f := mustParse(t, data)
			for _, sel := range f.Selectors() {
				p, _, err := f.Select(sel, "")
				if err != nil {
					t.Fatal(err)
				}
				for _, s := range p.Steps() {
					if !s.OIDC {
						t.Errorf("%s: step at line %d has no oidc", sel, s.Line)
					}
				}
			}
			if fs := Validate(f, Options{}); HasErrors(fs) {
				t.Errorf("seed has validation errors: %v", fs)
			}
		})
	}
}

func TestParseSeed000(t *testing.T) {
	f := mustParse(t, wrapFragment(readTestdata(t, "seed000-production-deploy.yml")))
	s := f.Default.Stages[0].Steps[0]
	if s.Name != "Deployment" || s.Deployment != "production" || !s.OIDC || len(s.Script) != 1 {
		t.Fatalf("step %+v", s)
	}
	c := s.Script[0]
	want := map[string]string{
		"AWS_DEFAULT_REGION": "eu-west-1",
		"AWS_OIDC_ROLE_ARN":  "arn:aws:iam::accountid:role/RoleName",
		"S3_BUCKET":          "xxxxxxx",
		"LOCAL_PATH":         "local/path",
		"ACL":                "bucket-owner-full-control",
	}
	if c.Pipe != "atlassian/aws-s3-deploy:1.1.0" || len(c.Vars) != len(want) {
		t.Fatalf("command %+v", c)
	}
	for k, v := range want {
		if c.Vars[k] != v {
			t.Errorf("%s = %q, want %q", k, c.Vars[k], v)
		}
	}
	// Line 6, column 11 of the quoted snippet, shifted by wrapFragment.
	if c.Line != 8 || c.Column != 15 {
		t.Errorf("pipe at %d:%d, want 8:15", c.Line, c.Column)
	}
}

func TestParseSeed003(t *testing.T) {
	f := mustParse(t, readTestdata(t, "seed003-aws-cli.yml"))
	if f.Image != "amazon/aws-cli" {
		t.Errorf("image %q", f.Image)
	}
	s := f.Default.Stages[0].Steps[0]
	if len(s.Script) != 6 || s.Script[5].Shell != "aws sts get-caller-identity" || s.Script[3].Shell != "echo $BITBUCKET_STEP_OIDC_TOKEN > $(pwd)/web-identity-token" {
		t.Fatalf("script %+v", s.Script)
	}
	if s.Line != 6 || s.Script[0].Line != 8 {
		t.Errorf("step line %d, first command line %d", s.Line, s.Script[0].Line)
	}
}

func TestParseAnchors(t *testing.T) {
	f := mustParse(t, readTestdata(t, "anchors.yml"))
	if got := strings.Join(f.Caches, ","); got != "npm" {
		t.Errorf("caches %q", got)
	}
	if got := strings.Join(f.Services, ","); got != "docker" {
		t.Errorf("services %q", got)
	}
	build := f.Default.Stages[0].Steps[0]
	if build.Name != "Build" || len(build.Script) != 2 || build.Script[1].Shell != "npm run build" || build.Artifacts[0] != "dist/**" {
		t.Fatalf("aliased build step %+v", build)
	}
	if build.Line != 11 {
		t.Errorf("aliased step line %d, want the anchor's 11", build.Line)
	}
	p, _, err := f.Select("branches:main", "")
	if err != nil {
		t.Fatal(err)
	}
	deploy := p.Stages[1].Steps[0]
	// Keys written next to <<: win; the rest comes from the anchor.
	if deploy.Name != "Deploy to production" || deploy.Deployment != "production" || !deploy.OIDC || deploy.Trigger != "manual" {
		t.Fatalf("merged deploy step %+v", deploy)
	}
	vars := deploy.Script[0].Vars
	if vars["EXTRA_ARGS_COUNT"] != "2" || vars["EXTRA_ARGS_0"] != "--delete" || vars["EXTRA_ARGS_1"] != "--exact-timestamps" || vars["DEBUG"] != "true" {
		t.Errorf("pipe vars %v", vars)
	}
	if _, ok := vars["EXTRA_ARGS"]; ok {
		t.Error("a list variable is passed as EXTRA_ARGS_COUNT/EXTRA_ARGS_N, not EXTRA_ARGS")
	}
	p, _, err = f.Select("branches:develop", "")
	if err != nil {
		t.Fatal(err)
	}
	dev := p.Stages[0].Steps[0]
	if dev.Name != "Build develop" || len(dev.Script) != 2 || len(dev.Caches) != 1 {
		t.Errorf("develop build %+v", dev)
	}
	// <<: [*deploy, *build]: the earlier mapping wins (name, script).
	multi := p.Stages[1].Steps[0]
	if multi.Name != "Deploy" || multi.Script[0].Pipe == "" || len(multi.Caches) != 1 || multi.Deployment != "staging" {
		t.Errorf("list merge %+v", multi)
	}
}

func TestParseParallelStages(t *testing.T) {
	f := mustParse(t, readTestdata(t, "parallel-stages.yml"))
	st := f.Default.Stages
	if len(st) != 4 {
		t.Fatalf("%d stages", len(st))
	}
	if st[0].Parallel || len(st[0].Steps) != 1 || st[0].Steps[0].Name != "Build" {
		t.Errorf("stage 0 %+v", st[0])
	}
	if !st[1].Parallel || st[1].FailFast || len(st[1].Steps) != 2 || st[1].Steps[1].Name != "Lint" {
		t.Errorf("parallel list %+v", st[1])
	}
	if !st[2].Parallel || !st[2].FailFast || len(st[2].Steps) != 2 || st[2].Steps[0].Name != "Batch 1" {
		t.Errorf("parallel with fail-fast %+v", st[2])
	}
	if st[3].Parallel || st[3].Name != "Deploy to staging" || st[3].Deployment != "staging" || len(st[3].Steps) != 2 {
		t.Errorf("stage %+v", st[3])
	}
	if n := len(f.Default.Steps()); n != 7 {
		t.Errorf("Steps() = %d, want 7", n)
	}
	c, _, err := f.Select("custom:deploy-with-env", "")
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Variables) != 1 || c.Variables[0].Name != "DEPLOY_ENV" || c.Variables[0].Default != "dev" || len(c.Variables[0].AllowedValues) != 2 {
		t.Errorf("custom variables %+v", c.Variables)
	}
	if len(c.Stages) != 1 || c.Stages[0].Steps[0].Changesets[0] != "src/**" {
		t.Errorf("custom stages %+v", c.Stages)
	}
}

func TestParseStepFields(t *testing.T) {
	f := mustParse(t, []byte(`
options:
  max-time: 30
  size: 2x
pipelines:
  default:
    - step:
        name: all
        image:
          name: amazon/aws-cli
          aws:
            oidc-role: arn:aws:iam::1:role/r
        size: 4x
        max-time: 5
        runs-on: [self.hosted, linux]
        services: [docker]
        caches: [pip]
        clone:
          depth: full
        fail-fast: true
        artifacts:
          download: false
          paths: [out/*]
        script:
          - 42
          - 'echo "a: b"'
        after-script:
          - echo done
`))
	if f.MaxTime != 30*time.Minute || f.Size != "2x" {
		t.Errorf("options %v %q", f.MaxTime, f.Size)
	}
	s := f.Default.Stages[0].Steps[0]
	if s.Image != "amazon/aws-cli" || s.Size != "4x" || s.MaxTime != 5*time.Minute || len(s.RunsOn) != 2 || !s.FailFast ||
		s.Artifacts[0] != "out/*" || s.Script[0].Shell != "42" || s.Script[1].Shell != `echo "a: b"` || s.AfterScript[0].Shell != "echo done" {
		t.Errorf("step %+v", s)
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name, in string
		want     []string // each an error's "line L, column C: …" prefix or fragment
	}{
		{"empty", "", []string{"line 1, column 1: the file is empty"}},
		{"syntax", "pipelines:\n  default:\n    - step:\n      script: [\n", []string{"line 4: invalid YAML: did not find expected node content (check the indentation"}},
		{"no pipelines", "image: x\n", []string{"line 1, column 1: no pipelines: add a top-level `pipelines:`"}},
		{"unknown top key", "pipeline:\n  default: []\n", []string{`line 1, column 1: unknown key "pipeline" in the top level: did you mean "pipelines"?`}},
		{"unknown step key", "pipelines:\n  default:\n    - step:\n        scripts:\n          - echo\n", []string{
			`line 4, column 9: unknown key "scripts" in a step: did you mean "script"?`,
			`line 4, column 9: the step has no script: add script:`,
		}},
		{"unknown step key far", "pipelines:\n  default:\n    - step:\n        script: [echo]\n        environment: prod\n", []string{
			`line 5, column 9: unknown key "environment" in a step: it takes name, script,`,
		}},
		{"oidc not bool", "pipelines:\n  default:\n    - step:\n        oidc: yes\n        script: [echo]\n", []string{
			`line 4, column 15: oidc must be true or false, not "yes": write oidc: true`,
		}},
		{"not indented", "pipelines:\n  default:\n    - step:\n      name: x\n      script: [echo]\n", []string{
			`line 4, column 7: "name" is not indented under "step": indent the step's keys further than "- step:"`,
		}},
		{"empty step", "pipelines:\n  default:\n    - step:\n    - step: {script: [echo]}\n", []string{
			`line 3, column 12: the step is empty: indent its keys under "- step:"`,
		}},
		{"sibling keys", "pipelines:\n  default:\n    - step: {script: [echo]}\n      name: x\n", []string{
			`line 4, column 7: "name" is not indented under "step"`,
		}},
		{"colon in command", "pipelines:\n  default:\n    - step:\n        script:\n          - echo key: value\n", []string{
			`line 5, column 13: this script line was read as a mapping because it contains ": ": quote the whole command`,
		}},
		{"trigger", "pipelines:\n  default:\n    - step:\n        trigger: later\n        script: [echo]\n", []string{
			`line 4, column 18: trigger "later" is not automatic or manual: write trigger: manual`,
		}},
		{"size", "pipelines:\n  default:\n    - step:\n        size: 3x\n        script: [echo]\n", []string{
			`line 4, column 15: size "3x" is not one of 1x, 2x, 4x, 8x, 16x`,
		}},
		{"duplicate", "pipelines:\n  default:\n    - step:\n        script: [echo]\n        script: [ls]\n", []string{
			`line 5, column 9: "script" appears twice in a step: keep one`,
		}},
		{"pipeline not list", "pipelines:\n  default:\n    step:\n      script: [echo]\n", []string{
			`line 3, column 5: pipelines.default must be a list of steps`,
		}},
		{"parallel nested", "pipelines:\n  default:\n    - parallel:\n        - parallel:\n            - step: {script: [echo]}\n", []string{
			`line 4, column 11: parallel holds only - step: items`,
		}},
		{"stage without steps", "pipelines:\n  default:\n    - stage:\n        name: s\n", []string{
			`line 4, column 9: a stage needs steps:`,
		}},
		{"pipe unknown key", "pipelines:\n  default:\n    - step:\n        script:\n          - pipe: a/b:1\n            variable:\n              X: 1\n", []string{
			`line 6, column 13: unknown key "variable" in a pipe: did you mean "variables"?`,
		}},
		{"variables not first", "pipelines:\n  custom:\n    x:\n      - step: {script: [echo]}\n      - variables: [{name: A}]\n", []string{
			`line 5, column 9: variables: must be the first item of a custom pipeline`,
		}},
		{"merge of scalar", "pipelines:\n  default:\n    - step:\n        <<: 3\n        script: [echo]\n", []string{
			`line 4, column 13: a merge key (<<) takes an alias of a mapping`,
		}},
		{"changesets", "pipelines:\n  default:\n    - step:\n        condition:\n          changesets:\n            include: [a]\n        script: [echo]\n", []string{
			`line 6, column 13: unknown key "include" in condition.changesets`,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := Parse([]byte(tt.in))
			if err == nil {
				t.Fatalf("Parse accepted it: %+v", f)
			}
			var es Errors
			if !errors.As(err, &es) {
				t.Fatalf("error is %T, not Errors", err)
			}
			msg := err.Error()
			for _, w := range tt.want {
				if !strings.Contains(msg, w) {
					t.Errorf("error\n%s\nlacks %q", msg, w)
				}
			}
		})
	}
}

func TestParseAliasBomb(t *testing.T) {
	// Each level merges the previous one ten times: 10^9 mappings if expanded
	// naively.
	var b strings.Builder
	b.WriteString("definitions:\n  services:\n    m0: &m0 {name: x}\n")
	for i := 1; i < 10; i++ {
		p := fmt.Sprintf("*m%d", i-1)
		fmt.Fprintf(&b, "    m%d: &m%d {<<: [%s%s]}\n", i, i, strings.Repeat(p+", ", 9), p)
	}
	b.WriteString("pipelines:\n  default:\n    - step:\n        <<: *m9\n        script: [echo]\n")
	_, err := Parse([]byte(b.String()))
	if err == nil || !strings.Contains(err.Error(), "too many nodes through its aliases") {
		t.Fatalf("Parse of an alias bomb: %v", err)
	}
}
