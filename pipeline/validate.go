package pipeline

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"
)

// Severity says whether a finding fails validation.
type Severity string

// Severities of findings.
const (
	SeverityError   Severity = "error"
	SeverityWarning Severity = "warning"
)

// Finding codes, stable for scripts reading `--output json`.
const (
	CodeSchema            = "schema"             // Parse rejected the file
	CodeOIDCMissing       = "oidc-missing"       // the step uses a web identity but has no oidc: true
	CodeAWSWithoutOIDC    = "aws-without-oidc"   // the step calls AWS with neither OIDC nor a web identity
	CodeAccessKeys        = "aws-access-keys"    // the step passes long-lived access keys
	CodeTokenNotWritten   = "token-file-empty"   // AWS_WEB_IDENTITY_TOKEN_FILE set, the token never written
	CodeDeploymentUnknown = "deployment-unknown" // deployment environment not among the known ones
	CodePipeUnsupported   = "pipe-unsupported"   // keyless pipeline run cannot run this pipe
	CodeTrustRefused      = "trust-refused"      // the role's trust policy (read from IAM) would refuse the step
	CodeTrustUnchecked    = "trust-unchecked"    // the role's trust policy could not be read from IAM
)

// Finding is one thing `keyless pipeline validate` reports.
type Finding struct {
	Severity Severity `json:"severity"`
	Code     string   `json:"code"`
	Line     int      `json:"line"`
	Column   int      `json:"column,omitempty"`
	// Pipeline is the selector of the first pipeline the step is in
	// ("default", "branches:main", …); empty for schema errors.
	Pipeline string `json:"pipeline,omitempty"`
	// Step is the step's name, or "step N" (1-based, in that pipeline).
	Step    string `json:"step,omitempty"`
	Message string `json:"message"`
}

func (f Finding) String() string {
	loc := fmt.Sprintf("%d", f.Line)
	if f.Column > 0 {
		loc += fmt.Sprintf(":%d", f.Column)
	}
	where := ""
	if f.Step != "" {
		where = fmt.Sprintf(" [%s › %s]", f.Pipeline, f.Step)
	}
	return fmt.Sprintf("%s: %s%s: %s", loc, f.Severity, where, f.Message)
}

// Options tune Validate.
type Options struct {
	// Environments are deployment environments declared in the repository
	// besides Bitbucket's defaults (test, staging, production).
	Environments []string
	// Pipes are the pipes keyless runs, by name without version; nil means
	// SupportedPipes().
	Pipes []string
}

// DefaultEnvironments are the deployment environments every Bitbucket
// repository starts with.
func DefaultEnvironments() []string { return []string{"test", "staging", "production"} }

// SupportedPipes are the pipes `keyless pipeline run` runs in-process, by name
// without version.
func SupportedPipes() []string {
	return []string{"atlassian/aws-s3-deploy", "atlassian/aws-cloudfront-invalidate"}
}

// PipeName is a pipe reference without its version or registry tag:
// "atlassian/aws-s3-deploy:1.1.0" → "atlassian/aws-s3-deploy".
func PipeName(pipe string) string {
	name := strings.TrimPrefix(pipe, "docker://")
	if i := strings.LastIndex(name, ":"); i > strings.LastIndex(name, "/") {
		name = name[:i]
	}
	return name
}

// SchemaFindings turns Parse's error into findings, so a caller can report
// schema errors and checks alike. Errors that are not Parse's become one
// finding at line 1.
func SchemaFindings(err error) []Finding {
	if err == nil {
		return nil
	}
	var out []Finding
	var es Errors
	if errors.As(err, &es) {
		for _, e := range es {
			out = append(out, Finding{Severity: SeverityError, Code: CodeSchema, Line: e.Line, Column: e.Column, Message: e.Msg})
		}
		return out
	}
	return []Finding{{Severity: SeverityError, Code: CodeSchema, Line: 1, Message: err.Error()}}
}

var (
	// awsCommand is an aws CLI call: `aws` as a command word.
	awsCommand = regexp.MustCompile(`(^|[;&|(\x60]|\$\(|\s)aws\s`)
	// webIdentity marks a script that uses a web identity token.
	webIdentity = regexp.MustCompile(`AWS_WEB_IDENTITY_TOKEN_FILE|web_identity_token_file|BITBUCKET_STEP_OIDC_TOKEN|AWS_OIDC_ROLE_ARN`)
	tokenFile   = regexp.MustCompile(`AWS_WEB_IDENTITY_TOKEN_FILE|web_identity_token_file`)
	accessKeys  = regexp.MustCompile(`AWS_ACCESS_KEY_ID|AWS_SECRET_ACCESS_KEY`)
)

// Validate makes the checks a reviewer wants before pushing a pipelines file
// that talks to AWS: steps that use a web identity (AWS_OIDC_ROLE_ARN passed
// to an AWS pipe, AWS_WEB_IDENTITY_TOKEN_FILE, BITBUCKET_STEP_OIDC_TOKEN)
// without `oidc: true` are errors; AWS calls with neither, long-lived access
// keys, a token file that is never written, deployment environments not
// among the known ones and pipes keyless cannot run are warnings. A step
// reached from several pipelines (an alias) is reported once, under the first
// pipeline. Findings are in file order.
func Validate(f *File, opts Options) []Finding {
	envs := append(DefaultEnvironments(), opts.Environments...)
	pipes := opts.Pipes
	if pipes == nil {
		pipes = SupportedPipes()
	}
	var out []Finding
	seen := map[string]bool{}
	add := func(fd Finding) {
		key := fmt.Sprintf("%d:%d:%s:%s", fd.Line, fd.Column, fd.Code, fd.Message)
		if !seen[key] {
			seen[key] = true
			out = append(out, fd)
		}
	}
	for _, sel := range f.Selectors() {
		pl, _, err := f.Select(sel, "")
		if err != nil || pl == nil {
			continue
		}
		n := 0
		for _, st := range pl.Stages {
			if st.Deployment != "" && !slices.Contains(envs, st.Deployment) {
				add(Finding{Severity: SeverityWarning, Code: CodeDeploymentUnknown, Line: st.Line, Pipeline: sel,
					Step: stageName(st), Message: unknownEnv(st.Deployment, envs)})
			}
			for _, s := range st.Steps {
				n++
				name := quoteName(s.Name)
				if s.Name == "" {
					name = fmt.Sprintf("step %d", n)
				}
				for _, fd := range checkStep(s, envs, pipes) {
					fd.Pipeline, fd.Step = sel, name
					add(fd)
				}
			}
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Line != out[j].Line {
			return out[i].Line < out[j].Line
		}
		return out[i].Column < out[j].Column
	})
	return out
}

func quoteName(s string) string { return fmt.Sprintf("%q", s) }

func stageName(st Stage) string {
	if st.Name == "" {
		return "stage"
	}
	return "stage " + quoteName(st.Name)
}

func unknownEnv(env string, envs []string) string {
	return fmt.Sprintf("deployment environment %q is not one of %s: Bitbucket fails the step unless the environment exists in Repository settings › Deployments; create it there (and pass --environment %s to validate), or use one of those names",
		env, strings.Join(envs, ", "), env)
}

// checkStep makes the per-step checks; Pipeline and Step are filled in by
// the caller.
func checkStep(s *Step, envs, pipes []string) []Finding {
	var out []Finding
	at := func(sev Severity, code string, line, col int, format string, args ...any) {
		out = append(out, Finding{Severity: sev, Code: code, Line: line, Column: col, Message: fmt.Sprintf(format, args...)})
	}
	addOIDC := "add `oidc: true` to the step (a key of the step, next to script:)"
	if s.Deployment != "" && !slices.Contains(envs, s.Deployment) {
		at(SeverityWarning, CodeDeploymentUnknown, s.Line, s.Column, "%s", unknownEnv(s.Deployment, envs))
	}
	var shellLines []Command
	for _, c := range append(append([]Command(nil), s.Script...), s.AfterScript...) {
		if c.Pipe == "" {
			shellLines = append(shellLines, c)
			continue
		}
		name := PipeName(c.Pipe)
		if !slices.Contains(pipes, name) {
			at(SeverityWarning, CodePipeUnsupported, c.Line, c.Column,
				"keyless pipeline run cannot run the pipe %s (it runs %s in-process): on Bitbucket it runs as usual, locally the step fails", name, strings.Join(pipes, " and "))
		}
		if !strings.HasPrefix(name, "atlassian/aws-") {
			continue
		}
		_, role := c.Vars["AWS_OIDC_ROLE_ARN"]
		_, key := c.Vars["AWS_ACCESS_KEY_ID"]
		switch {
		case role && !s.OIDC:
			at(SeverityError, CodeOIDCMissing, c.Line, c.Column,
				"the pipe %s gets AWS_OIDC_ROLE_ARN but the step has no `oidc: true`, so Bitbucket gives it no BITBUCKET_STEP_OIDC_TOKEN and the pipe cannot assume the role: %s", name, addOIDC)
		case key:
			at(SeverityWarning, CodeAccessKeys, c.Line, c.Column,
				"the pipe %s gets long-lived access keys (AWS_ACCESS_KEY_ID): to go keyless, replace AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY with AWS_OIDC_ROLE_ARN: <role ARN> and %s", name, addOIDC)
		case !role:
			at(SeverityWarning, CodeAWSWithoutOIDC, c.Line, c.Column,
				"the pipe %s gets no AWS_OIDC_ROLE_ARN: unless AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY come from repository variables it has no credentials; to go keyless pass AWS_OIDC_ROLE_ARN: <role ARN> and %s", name, addOIDC)
		}
	}
	var firstAWS, firstIdentity *Command
	writesToken := false
	var firstTokenFile *Command
	for i := range shellLines {
		c := &shellLines[i]
		if firstAWS == nil && awsCommand.MatchString(c.Shell) {
			firstAWS = c
		}
		if firstIdentity == nil && webIdentity.MatchString(c.Shell) {
			firstIdentity = c
		}
		if strings.Contains(c.Shell, "BITBUCKET_STEP_OIDC_TOKEN") {
			writesToken = true
		}
		if firstTokenFile == nil && tokenFile.MatchString(c.Shell) {
			firstTokenFile = c
		}
	}
	switch {
	case firstIdentity != nil && !s.OIDC:
		at(SeverityError, CodeOIDCMissing, firstIdentity.Line, firstIdentity.Column,
			"the script uses a web identity (%s) but the step has no `oidc: true`, so BITBUCKET_STEP_OIDC_TOKEN is empty and AssumeRoleWithWebIdentity fails: %s",
			webIdentity.FindString(firstIdentity.Shell), addOIDC)
	case firstAWS != nil && firstIdentity == nil && !s.OIDC:
		at(SeverityWarning, CodeAWSWithoutOIDC, firstAWS.Line, firstAWS.Column,
			"the script runs aws with neither `oidc: true` nor a web identity, so it needs long-lived keys (AWS_ACCESS_KEY_ID) from repository variables; to go keyless, %s and before the first aws command write\n  - export AWS_WEB_IDENTITY_TOKEN_FILE=$(pwd)/web-identity-token\n  - echo $BITBUCKET_STEP_OIDC_TOKEN > $(pwd)/web-identity-token\nwith AWS_ROLE_ARN set as a repository or deployment variable", addOIDC)
	case firstAWS != nil && firstIdentity == nil && s.OIDC:
		at(SeverityWarning, CodeTokenNotWritten, firstAWS.Line, firstAWS.Column,
			"the step has `oidc: true` but the script never hands BITBUCKET_STEP_OIDC_TOKEN to the AWS CLI: before the first aws command write\n  - export AWS_WEB_IDENTITY_TOKEN_FILE=$(pwd)/web-identity-token\n  - echo $BITBUCKET_STEP_OIDC_TOKEN > $(pwd)/web-identity-token\nwith AWS_ROLE_ARN set as a repository or deployment variable")
	}
	if firstTokenFile != nil && !writesToken {
		at(SeverityWarning, CodeTokenNotWritten, firstTokenFile.Line, firstTokenFile.Column,
			"the script sets a web identity token file but never writes BITBUCKET_STEP_OIDC_TOKEN into it: add - echo $BITBUCKET_STEP_OIDC_TOKEN > $AWS_WEB_IDENTITY_TOKEN_FILE before the first aws command")
	}
	for _, c := range shellLines {
		if accessKeys.MatchString(c.Shell) {
			at(SeverityWarning, CodeAccessKeys, c.Line, c.Column,
				"the script uses long-lived access keys (%s): to go keyless, use a web identity instead (%s, AWS_ROLE_ARN and AWS_WEB_IDENTITY_TOKEN_FILE)", accessKeys.FindString(c.Shell), addOIDC)
			break
		}
	}
	return out
}

// HasErrors reports whether any finding is an error.
func HasErrors(fs []Finding) bool {
	for _, f := range fs {
		if f.Severity == SeverityError {
			return true
		}
	}
	return false
}
