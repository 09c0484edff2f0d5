package target

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
)

// EnvGitLabToken holds the GitLab token, sent as PRIVATE-TOKEN.
const EnvGitLabToken = "GITLAB_TOKEN"

// DefaultGitLabURL is GitLab.com; a self-managed instance is https://HOST.
const DefaultGitLabURL = "https://gitlab.com"

// GitLabConfig says which GitLab CI/CD variables to write: a project's or a
// group's.
type GitLabConfig struct {
	// Project is a project ID or its full path (group/subgroup/project).
	Project string
	// Group is a group ID or its full path, instead of Project.
	Group string
	// EnvironmentScope is the variables' environment scope; empty means "*".
	EnvironmentScope string
	// Protected exposes the variables to protected branches and tags only.
	Protected bool
}

// gitlab writes one project's or group's variables in one environment scope.
type gitlab struct {
	c     *client
	cfg   GitLabConfig
	name  string
	path  string // escaped …/variables collection
	scope string
}

// NewGitLab returns the Target for cfg, with the token from GITLAB_TOKEN read
// through o.Getenv. Secret variables are masked; all are env_var and raw (not
// expanded), in cfg's environment scope.
func NewGitLab(cfg GitLabConfig, o Options) (Target, error) {
	var name, path string
	switch {
	case cfg.Project != "" && cfg.Group != "":
		return nil, errors.New("gitlab: give a project or a group, not both")
	case cfg.Project != "":
		name = "gitlab project " + cfg.Project
		path = "/api/v4/projects/" + seg(cfg.Project) + "/variables"
	case cfg.Group != "":
		name = "gitlab group " + cfg.Group
		path = "/api/v4/groups/" + seg(cfg.Group) + "/variables"
	default:
		return nil, errors.New("gitlab: give a project (ID or group/project path) or a group")
	}
	scope := cfg.EnvironmentScope
	if scope == "" {
		scope = "*"
	} else {
		name += " environment " + scope
	}
	c, err := newClient(name, DefaultGitLabURL, o, http.Header{"Accept": {"application/json"}})
	if err != nil {
		return nil, err
	}
	token := getenv(o)(EnvGitLabToken)
	if token == "" {
		return nil, fmt.Errorf("%s: no credentials: set %s", name, EnvGitLabToken)
	}
	c.authorize = func(r *http.Request) { r.Header.Set("Private-Token", token) }
	c.secrets = []string{token}
	return &gitlab{c: c, cfg: cfg, name: name, path: path, scope: scope}, nil
}

func (g *gitlab) Name() string   { return g.name }
func (g *gitlab) String() string { return g.name }

// glVariable is GitLab's CI/CD variable.
type glVariable struct {
	Key              string `json:"key,omitempty"` // in the path of an update
	Value            string `json:"value"`
	VariableType     string `json:"variable_type"`
	Protected        bool   `json:"protected"`
	Masked           bool   `json:"masked"`
	Hidden           bool   `json:"hidden,omitempty"`
	Raw              bool   `json:"raw"`
	EnvironmentScope string `json:"environment_scope"`
}

// list reads every page of the collection and keeps the variables of g's scope.
// (A group's variables have a scope on Premium only; a missing one is "*".)
func (g *gitlab) list(ctx context.Context, c *client) (map[string]glVariable, error) {
	const perPage = 100
	out := map[string]glVariable{}
	for page := 1; ; page++ {
		if page > maxPages {
			return nil, fmt.Errorf("more than %d pages", maxPages)
		}
		var vars []glVariable
		q := url.Values{"per_page": {strconv.Itoa(perPage)}, "page": {strconv.Itoa(page)}}
		if err := c.do(ctx, request{method: http.MethodGet, path: g.path, query: q, out: &vars}); err != nil {
			return nil, err
		}
		for _, v := range vars {
			if v.EnvironmentScope == "" {
				v.EnvironmentScope = "*"
			}
			if v.EnvironmentScope == g.scope {
				out[v.Key] = v
			}
		}
		if len(vars) < perPage {
			return out, nil
		}
	}
}

// Get lists the variables of the scope; masked and hidden ones have no value.
func (g *gitlab) Get(ctx context.Context) (map[string]Variable, error) {
	vars, err := g.list(ctx, g.c)
	if err != nil {
		return nil, fmt.Errorf("%s: list variables: %w", g.name, err)
	}
	out := make(map[string]Variable, len(vars))
	for k, v := range vars {
		got := Variable{Key: k, Secret: v.Masked || v.Hidden}
		if !got.Secret {
			got.Value = v.Value
		}
		out[k] = got
	}
	return out, nil
}

// Put lists the scope's variables once, then updates each of vars (PUT with
// filter[environment_scope]) or creates it (POST). A create refused because
// the key was taken meanwhile becomes an update, and an update of a variable
// deleted meanwhile becomes a create.
func (g *gitlab) Put(ctx context.Context, vars []Variable) error {
	for _, v := range vars {
		if err := validKey(v.Key); err != nil {
			return fmt.Errorf("%s: %w", g.name, err)
		}
	}
	c := g.c.hiding(vars)
	existing, err := g.list(ctx, c)
	if err != nil {
		return fmt.Errorf("%s: list variables: %w", g.name, err)
	}
	var done []string
	for _, v := range vars {
		body := glVariable{
			Key: v.Key, Value: v.Value, VariableType: "env_var",
			Protected: g.cfg.Protected, Masked: v.Secret, Raw: true, EnvironmentScope: g.scope,
		}
		_, exists := existing[v.Key]
		op, err := g.upsert(ctx, c, exists, body)
		if err != nil {
			return putError(g.name, op, v.Key, done, err)
		}
		done = append(done, v.Key)
	}
	return nil
}

func (g *gitlab) upsert(ctx context.Context, c *client, exists bool, v glVariable) (string, error) {
	if exists {
		err := g.update(ctx, c, v)
		if !statusIs(err, http.StatusNotFound) {
			return "update", err
		}
	}
	err := c.do(ctx, request{method: http.MethodPost, path: g.path, body: v})
	// GitLab answers a taken key with 400 {"message":{"key":["(…) has already been taken"]}}.
	if statusIs(err, http.StatusBadRequest, http.StatusConflict) && !exists && g.taken(ctx, c, v.Key) {
		return "update", g.update(ctx, c, v)
	}
	return "create", err
}

func (g *gitlab) update(ctx context.Context, c *client, v glVariable) error {
	q := url.Values{"filter[environment_scope]": {g.scope}}
	key := v.Key
	v.Key = ""
	return c.do(ctx, request{method: http.MethodPut, path: g.path + "/" + seg(key), query: q, body: v})
}

// taken reports whether key now exists in the scope.
func (g *gitlab) taken(ctx context.Context, c *client, key string) bool {
	vars, err := g.list(ctx, c)
	if err != nil {
		return false
	}
	_, ok := vars[key]
	return ok
}
