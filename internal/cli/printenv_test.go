package cli

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/keyless-dev/keyless/bitbucket"
)

// TestStepEnv: --print-env's lines are POSIX exports of single-quoted
// values, the token first; a variable cannot replace the token.
func TestStepEnv(t *testing.T) {
	tests := []struct {
		name string
		vars []bitbucket.StepVariable
		want string
	}{
		{"no variables", nil, "export BITBUCKET_STEP_OIDC_TOKEN='eyJ.a.b'\n"},
		{"values quoted", []bitbucket.StepVariable{
			{Key: "AWS_ACCESS_KEY_ID", Value: "AKIAEXAMPLE"},
			{Key: "AWS_SECRET_ACCESS_KEY", Value: "s3cr/t+", Secured: true},
			{Key: "EMPTY"},
			{Key: "MOTTO", Value: `it's $HOME and "$(id)"` + "\n`id`"},
		}, "export BITBUCKET_STEP_OIDC_TOKEN='eyJ.a.b'\n" +
			"export AWS_ACCESS_KEY_ID='AKIAEXAMPLE'\n" +
			"export AWS_SECRET_ACCESS_KEY='s3cr/t+'\n" +
			"export EMPTY=''\n" +
			"export MOTTO='it'\\''s $HOME and \"$(id)\"\n`id`'\n"},
		{"a variable named like the token", []bitbucket.StepVariable{{Key: "BITBUCKET_STEP_OIDC_TOKEN", Value: "forged"}, {Key: "Z", Value: "z"}},
			"export BITBUCKET_STEP_OIDC_TOKEN='eyJ.a.b'\nexport Z='z'\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := stepEnv("eyJ.a.b", tt.vars); got != tt.want {
				t.Errorf("got\n%s\nwant\n%s", got, tt.want)
			}
		})
	}
}

// TestPrintEnvRefusals: --print-env is for Bitbucket step tokens printed as
// export lines; anything else is refused before a token is minted.
func TestPrintEnvRefusals(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"with --output", []string{"--repository", "web", "--print-env", "--output", "json"}, "--print-env prints export lines: leave out --output"},
		{"with --output token", []string{"--repository", "web", "--print-env", "--output", "token"}, "--print-env prints export lines: leave out --output"},
		{"a GitHub token", []string{"--ci", "github", "--repository", "acme/web", "--print-env"}, "--print-env is for Bitbucket step tokens"},
		{"a GitLab token", []string{"--ci", "gitlab", "--project", "acme/web", "--print-env"}, "--print-env is for Bitbucket step tokens"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			args := append([]string{"token", "mint", "--workspace", "acme", "--endpoint", "http://127.0.0.1:1", "--runner-token", "klr_a_b"}, tt.args...)
			code := Execute(context.Background(), args, Streams{In: strings.NewReader(""), Out: &out, Err: &errOut})
			if code == 0 || !strings.Contains(errOut.String(), tt.want) || out.Len() != 0 {
				t.Errorf("exit %d, stdout %q, stderr %q; want a failure saying %q", code, out.String(), errOut.String(), tt.want)
			}
		})
	}
}
