package bitbucket

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"

	"github.com/keyless-dev/keyless/issuer"
	"github.com/keyless-dev/keyless/store"
)

// Where a step's variable comes from, StepVariable.Scope.
const (
	ScopeWorkspace  = "workspace"
	ScopeRepository = "repository"
	ScopeDeployment = "deployment"
)

// StepVariable is a variable as a pipeline step gets it, secured value
// included. Formatting it with fmt or log/slog shows a secured variable's key
// but never its value; only JSON carries the value, for the step.
type StepVariable struct {
	Key     string `json:"key"`
	Value   string `json:"value"`
	Secured bool   `json:"secured"`
	// Scope is where the variable comes from: ScopeWorkspace,
	// ScopeRepository or ScopeDeployment.
	Scope string `json:"scope"`
}

const redacted = "[REDACTED]"

func (v StepVariable) shown() string {
	if v.Secured {
		return redacted
	}
	return v.Value
}

// String shows the variable as KEY=VALUE, or KEY=[REDACTED] when secured.
func (v StepVariable) String() string { return v.Key + "=" + v.shown() }

// GoString is like String, so that %#v redacts too.
func (v StepVariable) GoString() string {
	return fmt.Sprintf("bitbucket.StepVariable{Key:%q, Value:%q, Secured:%t, Scope:%q}", v.Key, v.shown(), v.Secured, v.Scope)
}

// Format makes every fmt verb print String (GoString for %#v), so that no verb
// reaches the value of a secured variable.
func (v StepVariable) Format(f fmt.State, verb rune) {
	if verb == 'v' && f.Flag('#') {
		io.WriteString(f, v.GoString())
		return
	}
	io.WriteString(f, v.String())
}

// LogValue lets log/slog print the variable without a secured value.
func (v StepVariable) LogValue() slog.Value {
	return slog.GroupValue(slog.String("key", v.Key), slog.String("value", v.shown()),
		slog.Bool("secured", v.Secured), slog.String("scope", v.Scope))
}

// StepVariables returns the variables a step of repository (in workspace)
// gets, and with an environment, a deployment step to that environment: the
// workspace's, the repository's and the environment's variables merged by
// key, later scopes overriding earlier ones as Bitbucket does, ordered by
// key, secured values opened. The names are those a token is minted for
// (slugs, the environment's name); names not registered have no variables.
func (s *Service) StepVariables(ctx context.Context, workspace, repository, environment string) ([]StepVariable, error) {
	if err := issuer.ValidateWorkspace(workspace); err != nil {
		return nil, badRequest("%s", err.Error())
	}
	if err := issuer.ValidateRepository(repository); err != nil {
		return nil, badRequest("%s", err.Error())
	}
	scopes := []struct {
		name  string
		scope store.VariableScope
	}{
		{ScopeWorkspace, store.VariableScope{Workspace: workspace}},
		{ScopeRepository, store.VariableScope{Workspace: workspace, Repository: repository}},
	}
	if environment != "" {
		if err := issuer.ValidateEnvironment(environment); err != nil {
			return nil, badRequest("%s", err.Error())
		}
		scopes = append(scopes, struct {
			name  string
			scope store.VariableScope
		}{ScopeDeployment, store.VariableScope{Workspace: workspace, Repository: repository, Environment: environment}})
	}
	merged := map[string]StepVariable{}
	for _, sc := range scopes {
		vars, err := s.cfg.Variables.ListPipelineVariables(ctx, sc.scope)
		if err != nil {
			return nil, fmt.Errorf("bitbucket: list variables of %s: %w", describe(sc.scope), err)
		}
		for _, v := range vars {
			value, err := s.plain(v)
			if err != nil {
				return nil, err
			}
			merged[v.Key] = StepVariable{Key: v.Key, Value: value, Secured: v.Secured, Scope: sc.name}
		}
	}
	out := make([]StepVariable, 0, len(merged))
	for _, v := range merged {
		out = append(out, v)
	}
	slices.SortFunc(out, func(a, b StepVariable) int { return strings.Compare(a.Key, b.Key) })
	return out, nil
}
