package cli

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/spf13/cobra"

	"github.com/keyless-dev/keyless/awsconfig"
	"github.com/keyless-dev/keyless/explain"
	"github.com/keyless-dev/keyless/issuer"
	"github.com/keyless-dev/keyless/oidc"
	"github.com/keyless-dev/keyless/pipeline"
	piperun "github.com/keyless-dev/keyless/pipeline/run"
)

// pipelineValidateReport is `keyless pipeline validate --output json`.
type pipelineValidateReport struct {
	File      string             `json:"file"`
	Valid     bool               `json:"valid"`
	Errors    int                `json:"errors"`
	Warnings  int                `json:"warnings"`
	Pipelines []string           `json:"pipelines,omitempty"`
	Findings  []pipeline.Finding `json:"findings"`
}

// newPipelineValidateCmd is `keyless pipeline validate [FILE]`; the `pipeline`
// parent command adds it.
func newPipelineValidateCmd(s Streams) *cobra.Command {
	var (
		output, workspace, repository string
		envs                          []string
	)
	cmd := &cobra.Command{
		Use:   "validate [FILE]",
		Short: "Check a bitbucket-pipelines.yml before pushing it",
		Long: `Check a bitbucket-pipelines.yml (default ./bitbucket-pipelines.yml) the way a
reviewer would before pushing it: Bitbucket's schema (unknown keys, wrong types,
YAML anchors, aliases and merge keys resolved) with line and column, steps that
use a web identity (AWS_OIDC_ROLE_ARN passed to an AWS pipe,
AWS_WEB_IDENTITY_TOKEN_FILE, BITBUCKET_STEP_OIDC_TOKEN) without oidc: true, AWS
calls with long-lived keys, deployment environments that are not declared, and
pipes keyless pipeline run cannot run.

Against keyless up (its env file sourced), the trust policy of each role a step names (AWS_OIDC_ROLE_ARN of a
pipe, AWS_ROLE_ARN in the script, or a custom pipeline's variable default) is
read and checked with keyless explain for the step's token of --workspace and
--repository and its deployment environment; a refusal is an error naming why.
Elsewhere the check is skipped with a note on stderr: the step's token carries
the UUIDs keyless up's issuer derives, which a real account's policies do not pin.

Exit status: 0 when there are no errors (warnings are printed), 1 when there
are errors.`,
		Example: `  keyless pipeline validate
  keyless pipeline validate ci/bitbucket-pipelines.yml --environment qa --output json`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if output != "text" && output != "json" {
				return fmt.Errorf("--output %q: write text or json", output)
			}
			path := "bitbucket-pipelines.yml"
			if len(args) == 1 {
				path = args[0]
			}
			data, err := os.ReadFile(path)
			if err != nil {
				return fmt.Errorf("read pipelines file: %w", err)
			}
			rep := pipelineValidateReport{File: path}
			f, err := pipeline.Parse(data)
			if err != nil {
				rep.Findings = pipeline.SchemaFindings(err)
			} else {
				rep.Pipelines = f.Selectors()
				rep.Findings = pipeline.Validate(f, pipeline.Options{Environments: envs})
				if workspace == "" {
					workspace = os.Getenv("KEYLESS_WORKSPACE")
				}
				if repository == "" {
					if dir, err := filepath.Abs(filepath.Dir(path)); err == nil {
						repository = strings.ToLower(filepath.Base(dir))
					}
				}
				trust, note := checkTrust(cmd.Context(), f, os.Getenv, workspace, repository)
				if note != "" {
					fmt.Fprintln(s.Err, "note: "+note)
				}
				rep.Findings = append(rep.Findings, trust...)
			}
			if rep.Findings == nil {
				rep.Findings = []pipeline.Finding{}
			}
			for _, fd := range rep.Findings {
				if fd.Severity == pipeline.SeverityError {
					rep.Errors++
				} else {
					rep.Warnings++
				}
			}
			rep.Valid = rep.Errors == 0
			if output == "json" {
				enc := json.NewEncoder(s.Out)
				enc.SetIndent("", "  ")
				if err := enc.Encode(rep); err != nil {
					return fmt.Errorf("write report: %w", err)
				}
			} else {
				writePipelineValidateText(s, rep)
			}
			if !rep.Valid {
				return &ExitError{Code: 1}
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&output, "output", "text", "output: text or json")
	cmd.Flags().StringVar(&workspace, "workspace", "", "workspace slug the steps run for, for the trust check (default $KEYLESS_WORKSPACE)")
	cmd.Flags().StringVar(&repository, "repository", "", "repository slug, for the trust check (default the name of FILE's directory)")
	cmd.Flags().StringArrayVar(&envs, "environment", nil, "a deployment environment declared in the repository besides test, staging and production (repeatable)")
	return cmd
}

func writePipelineValidateText(s Streams, rep pipelineValidateReport) {
	for _, fd := range rep.Findings {
		fmt.Fprintf(s.Out, "%s:%s\n", rep.File, fd)
	}
	switch {
	case rep.Errors > 0:
		fmt.Fprintf(s.Out, "%s: %d error(s), %d warning(s)\n", rep.File, rep.Errors, rep.Warnings)
	case rep.Warnings > 0:
		fmt.Fprintf(s.Out, "%s: valid, %d warning(s); pipelines: %s\n", rep.File, rep.Warnings, strings.Join(rep.Pipelines, ", "))
	default:
		fmt.Fprintf(s.Out, "%s: valid; pipelines: %s\n", rep.File, strings.Join(rep.Pipelines, ", "))
	}
}

// checkTrust reads IAM with the AWS configuration of getenv and returns
// trustFindings; when there are no credentials it returns a note instead.
func checkTrust(ctx context.Context, f *pipeline.File, getenv func(string) string, workspace, repository string) ([]pipeline.Finding, string) {
	if len(stepRoles(f)) == 0 {
		return nil, ""
	}
	if workspace == "" || repository == "" {
		return nil, "trust policies not checked: pass --workspace and --repository"
	}
	if getenv("KEYLESS_ENDPOINT") == "" {
		// The step's token is made with the UUIDs keyless up's issuer derives
		// from the names; a real account's trust policies pin Bitbucket's own,
		// so checking them would report refusals that are not there.
		return nil, "trust policies not checked: the check runs against keyless up (source its env file: . .keyless/env), whose issuer knows the step's UUIDs"
	}
	reader, err := stackIAMReader(ctx, getenv)
	if errors.Is(err, awsconfig.ErrNoCredentials) {
		return nil, "trust policies not checked: no AWS credentials (source keyless up's env file, or configure AWS credentials)"
	}
	if err != nil {
		return nil, "trust policies not checked: " + err.Error()
	}
	return trustFindings(ctx, f, reader, workspace, repository), ""
}

// roleARNRE is an IAM role ARN with a real account ID.
var roleARNRE = regexp.MustCompile(`^arn:aws[a-z-]*:iam::[0-9]{12}:role/[\w+=,.@/-]+$`)

// roleStep is a step that names a role, with where it is.
type roleStep struct {
	sel, name, role, environment string
	step                         *pipeline.Step
}

// stepRoles lists the steps of f whose role is visible in the file, each once
// (under the first pipeline it is in), in file order. Roles left to variables
// the file does not set ($AWS_OIDC_ROLE_ARN from repository variables) are
// not visible.
func stepRoles(f *pipeline.File) []roleStep {
	var out []roleStep
	seen := map[[2]int]bool{}
	for _, sel := range f.Selectors() {
		pl, _, err := f.Select(sel, "")
		if err != nil || pl == nil {
			continue
		}
		defaults := map[string]string{}
		for _, v := range pl.Variables {
			defaults[v.Name] = v.Default
		}
		n := 0
		for _, st := range pl.Stages {
			for _, s := range st.Steps {
				n++
				key := [2]int{s.Line, s.Column}
				if seen[key] {
					continue
				}
				seen[key] = true
				role := piperun.StepRole(s, func(k string) string { return defaults[k] })
				if !roleARNRE.MatchString(role) {
					continue // none, left to a variable, or a placeholder (accountid)
				}
				name := s.Name
				if name == "" {
					name = fmt.Sprintf("step %d", n)
				}
				env := s.Deployment
				if env == "" {
					env = st.Deployment
				}
				out = append(out, roleStep{sel: sel, name: name, role: role, environment: env, step: s})
			}
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].step.Line < out[j].step.Line })
	return out
}

// trustFindings checks, for each step of f whose role is visible, that the
// role's trust policy admits the token Bitbucket would give the step for
// workspace/repository and its deployment environment: keyless explain on a
// token with that sub, the audience and issuer of the IAM provider the policy
// names (the signature is not checked). A refusal is an error naming why.
func trustFindings(ctx context.Context, f *pipeline.File, reader trustReader, workspace, repository string) []pipeline.Finding {
	var out []pipeline.Finding
	for _, rs := range stepRoles(f) {
		fd := pipeline.Finding{Line: rs.step.Line, Column: rs.step.Column, Pipeline: rs.sel, Step: rs.name}
		doc, providers, err := readTrust(ctx, reader, rs.role)
		if err != nil {
			fd.Severity, fd.Code = pipeline.SeverityWarning, pipeline.CodeTrustUnchecked
			fd.Message = fmt.Sprintf("the trust policy of %s could not be checked: %v", rs.role, err)
			out = append(out, fd)
			continue
		}
		tok := stepToken(doc, providers, workspace, repository, rs.environment)
		rep := evaluateTrust(ctx, rs.role, doc, providers, tok, nil)
		if rep.Verdict != explain.VerdictDenied {
			continue
		}
		env := ""
		if rs.environment != "" {
			env = " in environment " + rs.environment
		}
		fd.Severity, fd.Code = pipeline.SeverityError, pipeline.CodeTrustRefused
		fd.Message = fmt.Sprintf("the trust policy of %s would refuse this step of %s/%s%s: %s", rs.role, workspace, repository, env,
			strings.ReplaceAll(strings.TrimPrefix(reportReason(rep), "STS refuses "+rs.role+":\n"), "\n", "; "))
		out = append(out, fd)
	}
	return out
}

// stepToken is an unsigned token with the claims Bitbucket (as keyless up
// derives its UUIDs) would give a step of workspace/repository deploying to
// environment: issued by the IAM provider the trust policy names (else the
// first one, else Bitbucket's own issuer), for its first client ID.
func stepToken(doc string, providers []oidc.Provider, workspace, repository, environment string) string {
	wsUUID := "{" + issuer.WorkspaceUUID(workspace) + "}"
	iss := "https://api.bitbucket.org/2.0/workspaces/" + workspace + "/pipelines-config/identity/oidc"
	aud := issuer.WorkspaceAudience(issuer.WorkspaceUUID(workspace))
	var chosen *oidc.Provider
	for i := range providers {
		if strings.Contains(doc, providers[i].ARN) {
			chosen = &providers[i]
			break
		}
	}
	if chosen == nil && len(providers) > 0 {
		chosen = &providers[0]
	}
	if chosen != nil {
		iss = "https://" + chosen.URL
		if len(chosen.ClientIDs) > 0 {
			aud = chosen.ClientIDs[0]
		}
	}
	repo := "{" + issuer.RepositoryUUID(workspace, repository) + "}"
	step := "{" + uuid.NewString() + "}"
	claims := map[string]any{
		"iss": iss, "aud": aud, "exp": time.Now().Add(time.Hour).Unix(), "iat": time.Now().Unix(),
		"workspaceUuid": wsUUID, "repositoryUuid": repo, "stepUuid": step, "pipelineUuid": "{" + uuid.NewString() + "}",
		"sub": repo + ":" + step,
	}
	if environment != "" {
		envUUID := "{" + issuer.EnvironmentUUID(workspace, repository, environment) + "}"
		claims["deploymentEnvironmentUuid"] = envUUID
		claims["sub"] = repo + ":" + envUUID + ":" + step
	}
	body, _ := json.Marshal(claims)
	enc := base64.RawURLEncoding
	return enc.EncodeToString([]byte(`{"alg":"RS256","typ":"JWT"}`)) + "." + enc.EncodeToString(body) + "." + enc.EncodeToString([]byte("unsigned"))
}
