package run

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/keyless-dev/keyless/pipeline"
)

// customPipeline is a custom pipeline declaring variables, as parsed.
func customPipeline(t *testing.T) *pipeline.Pipeline {
	t.Helper()
	f, err := pipeline.Parse([]byte(`pipelines:
  custom:
    deploy:
      - variables:
          - name: ENVIRONMENT
            default: staging
            allowed-values: [staging, production]
          - name: VERSION
          - name: AWS_REGION
            default: eu-west-1
      - step:
          name: Show
          script:
            - echo hi
`))
	if err != nil {
		t.Fatal(err)
	}
	p, _, err := f.Select("custom:deploy", "")
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestPipelineVariables(t *testing.T) {
	p := customPipeline(t)
	for _, tt := range []struct {
		name  string
		given map[string]string
		want  string
		err   string
	}{
		{name: "defaults", want: "ENVIRONMENT=staging VERSION= AWS_REGION=eu-west-1"},
		{name: "given", given: map[string]string{"ENVIRONMENT": "production", "VERSION": "1.2"}, want: "ENVIRONMENT=production VERSION=1.2 AWS_REGION=eu-west-1"},
		{name: "not allowed", given: map[string]string{"ENVIRONMENT": "qa"}, err: `variable ENVIRONMENT = "qa": the pipeline allows only staging, production`},
		{name: "undeclared", given: map[string]string{"TYPO": "x"}, err: "variable TYPO: the pipeline declares only ENVIRONMENT, VERSION, AWS_REGION"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := PipelineVariables(p, tt.given)
			if tt.err != "" {
				if err == nil || err.Error() != tt.err {
					t.Fatalf("error %v, want %q", err, tt.err)
				}
				return
			}
			var l []string
			for _, kv := range got {
				l = append(l, kv[0]+"="+kv[1])
			}
			if err != nil || strings.Join(l, " ") != tt.want {
				t.Fatalf("got %v, %v, want %s", l, err, tt.want)
			}
		})
	}
	if _, err := PipelineVariables(one(&pipeline.Step{}), map[string]string{"X": "1"}); err == nil || !strings.Contains(err.Error(), "this pipeline declares no variables") {
		t.Errorf("--var on a pipeline without variables: %v", err)
	}
}

// TestRunWithVariables runs a custom pipeline with variables: each step sees
// the given values and the defaults, over the repository variables.
func TestRunWithVariables(t *testing.T) {
	f := &fake{}
	var log bytes.Buffer
	r := f.runner(t, &log)
	p := customPipeline(t)
	out := filepath.Join(t.TempDir(), "env")
	p.Stages[0].Steps[0].Script = sh(`echo "$ENVIRONMENT $VERSION $AWS_REGION" > ` + out)
	res, err := r.Run(context.Background(), p, Options{Variables: map[string]string{"VERSION": "1.2"}})
	if err != nil || !res.OK {
		t.Fatalf("Run: %v, %+v\n%s", err, res, log.String())
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	// AWS_REGION is us-east-1 among the repository variables; the run's wins.
	if got := string(b); got != "staging 1.2 eu-west-1\n" {
		t.Errorf("step saw %q, want the given value and the defaults", got)
	}
	if _, err := r.Run(context.Background(), p, Options{Variables: map[string]string{"ENVIRONMENT": "qa"}}); err == nil || !strings.Contains(err.Error(), "allows only staging, production") {
		t.Errorf("Run with a value not allowed: %v", err)
	}
}
