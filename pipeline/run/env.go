package run

import (
	"context"
	"fmt"
	"os"
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/keyless-dev/keyless/issuer"
	"github.com/keyless-dev/keyless/pipeline"
)

// TokenVar is the variable that holds a step's OIDC token.
const TokenVar = "BITBUCKET_STEP_OIDC_TOKEN"

// stepEnv is a step's environment: ordered, later values replacing earlier ones,
// with the secured values to mask.
type stepEnv struct {
	keys    []string
	vals    map[string]string
	secrets []string
}

func newEnv(base []string) *stepEnv {
	e := &stepEnv{vals: map[string]string{}}
	for _, kv := range base {
		if k, v, ok := strings.Cut(kv, "="); ok && k != "" {
			e.set(k, v)
		}
	}
	return e
}

func (e *stepEnv) set(k, v string) {
	if _, ok := e.vals[k]; !ok {
		e.keys = append(e.keys, k)
	}
	e.vals[k] = v
}

func (e *stepEnv) unset(k string) {
	if _, ok := e.vals[k]; !ok {
		return
	}
	delete(e.vals, k)
	for i, key := range e.keys {
		if key == k {
			e.keys = append(e.keys[:i:i], e.keys[i+1:]...)
			break
		}
	}
}

func (e *stepEnv) get(k string) string { return e.vals[k] }

func (e *stepEnv) clone() *stepEnv {
	c := &stepEnv{keys: append([]string(nil), e.keys...), vals: make(map[string]string, len(e.vals)), secrets: e.secrets}
	for k, v := range e.vals {
		c.vals[k] = v
	}
	return c
}

// list is the environment as KEY=VALUE, in the order keys were first set.
func (e *stepEnv) list() []string {
	l := make([]string, 0, len(e.keys))
	for _, k := range e.keys {
		l = append(l, k+"="+e.vals[k])
	}
	return l
}

// expand substitutes $VAR and ${VAR} from the environment, as pipes' variables
// are substituted; an unset variable is empty.
func (e *stepEnv) expand(s string) string { return os.Expand(s, e.get) }

// stepEnv builds the environment of step s: r.Env; the pipeline variables of
// the workspace, repository and deployment environment; the BITBUCKET_*
// variables Bitbucket sets (which variables do not replace); with `oidc: true`
// the step's token.
func (r Runner) stepEnv(ctx context.Context, pipelineUUID, stepUUID string, s *pipeline.Step, environment string) (*stepEnv, error) {
	tok, err := r.Mint(ctx, issuer.MintRequest{
		Workspace: r.Workspace, Repository: r.Repository, Environment: environment, Branch: r.Branch,
		PipelineUUID: pipelineUUID, StepUUID: stepUUID,
	})
	if err != nil {
		return nil, fmt.Errorf("mint the step's token for %s/%s%s: %w", r.Workspace, r.Repository, envSuffix(environment), err)
	}
	vars, err := r.Variables(ctx, r.Workspace, r.Repository, environment)
	if err != nil {
		return nil, fmt.Errorf("read the step's variables: %w", err)
	}
	e := newEnv(r.Env)
	for k := range e.vals {
		if strings.HasPrefix(k, "BITBUCKET_") {
			e.unset(k)
		}
	}
	for _, v := range vars {
		if strings.HasPrefix(v.Key, "BITBUCKET_") {
			continue // Bitbucket's own variables win
		}
		e.set(v.Key, v.Value)
		if v.Secured && v.Value != "" {
			e.secrets = append(e.secrets, v.Value)
		}
	}
	for _, kv := range r.custom {
		e.set(kv[0], kv[1])
	}
	c := tok.Claims
	e.set("CI", "true")
	e.set("BITBUCKET_BUILD_NUMBER", fmt.Sprint(r.BuildNumber))
	e.set("BITBUCKET_WORKSPACE", r.Workspace)
	e.set("BITBUCKET_REPO_OWNER", r.Workspace)
	e.set("BITBUCKET_REPO_SLUG", r.Repository)
	e.set("BITBUCKET_REPO_FULL_NAME", r.Workspace+"/"+r.Repository)
	e.set("BITBUCKET_REPO_UUID", orDerived(c.RepositoryUUID, issuer.RepositoryUUID(r.Workspace, r.Repository)))
	e.set("BITBUCKET_REPO_OWNER_UUID", orDerived(c.WorkspaceUUID, issuer.WorkspaceUUID(r.Workspace)))
	e.set("BITBUCKET_WORKSPACE_UUID", orDerived(c.WorkspaceUUID, issuer.WorkspaceUUID(r.Workspace)))
	e.set("BITBUCKET_BRANCH", r.Branch)
	if r.Commit != "" {
		e.set("BITBUCKET_COMMIT", r.Commit)
	}
	e.set("BITBUCKET_PIPELINE_UUID", orDerived(c.PipelineUUID, pipelineUUID))
	e.set("BITBUCKET_STEP_UUID", orDerived(c.StepUUID, stepUUID))
	if environment != "" {
		e.set("BITBUCKET_DEPLOYMENT_ENVIRONMENT", environment)
		e.set("BITBUCKET_DEPLOYMENT_ENVIRONMENT_UUID", orDerived(c.DeploymentEnvironmentUUID, issuer.EnvironmentUUID(r.Workspace, r.Repository, environment)))
	}
	if s.OIDC {
		e.set(TokenVar, tok.Raw)
	} else {
		e.unset(TokenVar)
	}
	return e, nil
}

// PipelineVariables resolves the variables of a custom pipeline run by hand:
// each variable p declares gets its value in given, else its default; a value
// outside its allowed-values is an error, and so is a name p does not declare
// (Bitbucket's "Run pipeline" form offers only the declared ones). The result
// is in declaration order.
func PipelineVariables(p *pipeline.Pipeline, given map[string]string) ([][2]string, error) {
	declared := map[string]bool{}
	var names []string
	for _, v := range p.Variables {
		declared[v.Name] = true
		names = append(names, v.Name)
	}
	var unknown []string
	for k := range given {
		if !declared[k] {
			unknown = append(unknown, k)
		}
	}
	if len(unknown) > 0 {
		sort.Strings(unknown)
		if len(names) == 0 {
			return nil, fmt.Errorf("variable %s: this pipeline declares no variables (only a custom pipeline with `variables:` takes --var)", strings.Join(unknown, ", "))
		}
		return nil, fmt.Errorf("variable %s: the pipeline declares only %s", strings.Join(unknown, ", "), strings.Join(names, ", "))
	}
	var out [][2]string
	for _, v := range p.Variables {
		val, ok := given[v.Name]
		if !ok {
			val = v.Default
		}
		if len(v.AllowedValues) > 0 && !slices.Contains(v.AllowedValues, val) {
			return nil, fmt.Errorf("variable %s = %q: the pipeline allows only %s", v.Name, val, strings.Join(v.AllowedValues, ", "))
		}
		out = append(out, [2]string{v.Name, val})
	}
	return out, nil
}

// orDerived is the claim's UUID, else the derived one, brace-wrapped as
// Bitbucket writes UUIDs.
func orDerived(claim, derived string) string {
	u := claim
	if u == "" {
		u = derived
	}
	if u == "" || strings.HasPrefix(u, "{") {
		return u
	}
	return "{" + u + "}"
}

func envSuffix(environment string) string {
	if environment == "" {
		return ""
	}
	return " (environment " + environment + ")"
}

// roleInScript finds AWS_ROLE_ARN=… or AWS_OIDC_ROLE_ARN=… in a command line.
var roleInScript = regexp.MustCompile(`\bAWS_(?:OIDC_)?ROLE_ARN=("[^"]*"|'[^']*'|[^\s;&|]+)`)

// roleOf is the role the step assumes, if visible: set in a command, in a
// pipe's variables, or in the step's environment.
func roleOf(s *pipeline.Step, env *stepEnv) string { return StepRole(s, env.get) }

// StepRole is the role step s assumes, if visible: AWS_OIDC_ROLE_ARN or
// AWS_ROLE_ARN in a pipe's variables or set in a command, else in the
// variables lookup returns (the step's environment); $VAR is substituted from
// lookup. It is "" when no role is visible.
func StepRole(s *pipeline.Step, lookup func(string) string) string {
	expand := func(v string) string { return os.Expand(v, lookup) }
	for _, c := range s.Script {
		if c.Pipe != "" {
			for _, k := range []string{"AWS_OIDC_ROLE_ARN", "AWS_ROLE_ARN"} {
				if v := expand(c.Vars[k]); v != "" {
					return v
				}
			}
			continue
		}
		if m := roleInScript.FindStringSubmatch(c.Shell); m != nil {
			v := m[1]
			if strings.HasPrefix(v, "'") {
				return strings.Trim(v, "'")
			}
			if v = expand(strings.Trim(v, `"`)); v != "" {
				return v
			}
		}
	}
	for _, k := range []string{"AWS_ROLE_ARN", "AWS_OIDC_ROLE_ARN"} {
		if v := lookup(k); v != "" {
			return v
		}
	}
	return ""
}

// deniedRE recognises a refused AssumeRoleWithWebIdentity in a step's log.
var deniedRE = regexp.MustCompile(`(?i)AccessDenied|not authorized to perform:? sts:AssumeRoleWithWebIdentity|InvalidIdentityToken`)

// explain says why a failed step that assumes role failed, when it can: a step
// without `oidc: true` has no token; a denial is explained by r.Explain.
func (r Runner) explain(ctx context.Context, s *pipeline.Step, env *stepEnv, role, tail string) string {
	if role == "" {
		return ""
	}
	if !s.OIDC {
		return fmt.Sprintf("the step has no `oidc: true`, so Bitbucket gives it no %s to assume %s with: add `oidc: true` to the step", TokenVar, role)
	}
	if !deniedRE.MatchString(tail) || r.Explain == nil {
		return ""
	}
	why, err := r.Explain(ctx, role, env.get(TokenVar))
	if err != nil {
		return fmt.Sprintf("STS refused %s; keyless explain could not say why: %v", role, err)
	}
	return why
}
