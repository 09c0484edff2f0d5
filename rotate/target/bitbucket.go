package target

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
)

// Bitbucket token variables: BITBUCKET_TOKEN (an access token, sent as Bearer)
// or BITBUCKET_USERNAME with BITBUCKET_APP_PASSWORD (Basic).
const (
	EnvBitbucketToken       = "BITBUCKET_TOKEN"
	EnvBitbucketUsername    = "BITBUCKET_USERNAME"
	EnvBitbucketAppPassword = "BITBUCKET_APP_PASSWORD"
)

// DefaultBitbucketURL is Bitbucket Cloud's API root.
const DefaultBitbucketURL = "https://api.bitbucket.org"

// BitbucketConfig says which Bitbucket Pipelines variables to write.
type BitbucketConfig struct {
	// Workspace is the workspace ID (slug) or {UUID}; required.
	Workspace string
	// Repo is the repository slug. Empty means the workspace's variables.
	Repo string
	// Environment is a deployment environment of Repo, by {UUID} or by name
	// (or slug). Empty means the repository's variables.
	Environment string
}

// bitbucket writes one scope's pipeline variables.
type bitbucket struct {
	c    *client
	cfg  BitbucketConfig
	name string

	mu    sync.Mutex
	envID string // resolved Environment UUID, braces included
}

// NewBitbucket returns the Target for cfg. The token comes from
// BITBUCKET_TOKEN, or BITBUCKET_USERNAME and BITBUCKET_APP_PASSWORD, read
// through o.Getenv.
func NewBitbucket(cfg BitbucketConfig, o Options) (Target, error) {
	name := "bitbucket workspace " + cfg.Workspace
	switch {
	case cfg.Workspace == "":
		return nil, errors.New("bitbucket: the workspace is required")
	case cfg.Environment != "" && cfg.Repo == "":
		return nil, fmt.Errorf("bitbucket: deployment environment %q needs its repository", cfg.Environment)
	case cfg.Environment != "":
		name = "bitbucket deployment " + cfg.Workspace + "/" + cfg.Repo + " " + cfg.Environment
	case cfg.Repo != "":
		name = "bitbucket repository " + cfg.Workspace + "/" + cfg.Repo
	}
	c, err := newClient(name, DefaultBitbucketURL, o, http.Header{"Accept": {"application/json"}})
	if err != nil {
		return nil, err
	}
	env := getenv(o)
	token, user, pass := env(EnvBitbucketToken), env(EnvBitbucketUsername), env(EnvBitbucketAppPassword)
	switch {
	case token != "":
		c.authorize = func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+token) }
		c.secrets = []string{token}
	case user != "" && pass != "":
		c.authorize = func(r *http.Request) { r.SetBasicAuth(user, pass) }
		c.secrets = []string{pass}
	case user != "":
		return nil, fmt.Errorf("%s: %s is set but %s is not: set both, or %s", name, EnvBitbucketUsername, EnvBitbucketAppPassword, EnvBitbucketToken)
	case pass != "":
		return nil, fmt.Errorf("%s: %s is set but %s is not: set both, or %s", name, EnvBitbucketAppPassword, EnvBitbucketUsername, EnvBitbucketToken)
	default:
		return nil, fmt.Errorf("%s: no credentials: set %s, or %s and %s", name, EnvBitbucketToken, EnvBitbucketUsername, EnvBitbucketAppPassword)
	}
	b := &bitbucket{c: c, cfg: cfg, name: name}
	if isBraceUUID(cfg.Environment) {
		b.envID = cfg.Environment
	} else if isUUID(cfg.Environment) {
		b.envID = "{" + cfg.Environment + "}"
	}
	return b, nil
}

func (b *bitbucket) Name() string   { return b.name }
func (b *bitbucket) String() string { return b.name }

// bbVariable is Bitbucket's pipeline_variable (and deployment_variable).
type bbVariable struct {
	Type    string `json:"type,omitempty"`
	UUID    string `json:"uuid,omitempty"`
	Key     string `json:"key"`
	Value   string `json:"value,omitempty"`
	Secured bool   `json:"secured"`
}

// bbPage is one page of a Bitbucket paginated list.
type bbPage[T any] struct {
	Values  []T    `json:"values"`
	Next    string `json:"next"`
	Page    int    `json:"page"`
	PageLen int    `json:"pagelen"`
	Size    int    `json:"size"`
}

// bbEnvironment is the part of a deployment_environment used to find one by name.
type bbEnvironment struct {
	UUID string `json:"uuid"`
	Name string `json:"name"`
	Slug string `json:"slug"`
}

var uuidRE = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

func isUUID(s string) bool { return uuidRE.MatchString(s) }
func isBraceUUID(s string) bool {
	return len(s) > 2 && s[0] == '{' && s[len(s)-1] == '}' && isUUID(s[1:len(s)-1])
}

// variablesPath is the collection of this scope's variables, escaped.
func (b *bitbucket) variablesPath(ctx context.Context, c *client) (string, error) {
	ws := seg(b.cfg.Workspace)
	switch {
	case b.cfg.Repo == "":
		return "/2.0/workspaces/" + ws + "/pipelines-config/variables", nil
	case b.cfg.Environment == "":
		return "/2.0/repositories/" + ws + "/" + seg(b.cfg.Repo) + "/pipelines_config/variables/", nil
	}
	env, err := b.environment(ctx, c)
	if err != nil {
		return "", err
	}
	return "/2.0/repositories/" + ws + "/" + seg(b.cfg.Repo) + "/deployments_config/environments/" + seg(env) + "/variables", nil
}

// variablePath is one variable of the collection, by its UUID.
func variablePath(collection, uuid string) string {
	return strings.TrimSuffix(collection, "/") + "/" + seg(uuid)
}

// environment resolves Environment to its {UUID} once.
func (b *bitbucket) environment(ctx context.Context, c *client) (string, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.envID != "" {
		return b.envID, nil
	}
	envs, err := bbList[bbEnvironment](ctx, c, "/2.0/repositories/"+seg(b.cfg.Workspace)+"/"+seg(b.cfg.Repo)+"/environments/")
	if err != nil {
		return "", fmt.Errorf("list deployment environments: %w", err)
	}
	id, err := findEnvironment(envs, b.cfg.Environment)
	if err != nil {
		return "", err
	}
	b.envID = id
	return id, nil
}

// findEnvironment picks the environment named want: by exact name, else by
// name or slug ignoring case.
func findEnvironment(envs []bbEnvironment, want string) (string, error) {
	for _, e := range envs {
		if e.Name == want {
			return e.UUID, nil
		}
	}
	var found []bbEnvironment
	for _, e := range envs {
		if strings.EqualFold(e.Name, want) || strings.EqualFold(e.Slug, want) {
			found = append(found, e)
		}
	}
	names := make([]string, 0, len(envs))
	for _, e := range envs {
		names = append(names, e.Name)
	}
	switch len(found) {
	case 1:
		return found[0].UUID, nil
	case 0:
		return "", fmt.Errorf("no deployment environment %q: the repository has %s; give one of these names or an environment {UUID}", want, strings.Join(names, ", "))
	}
	return "", fmt.Errorf("deployment environment %q matches %d environments: give its exact name or its {UUID}", want, len(found))
}

// bbList reads every page of a Bitbucket collection, following "next" links
// on the API's own host only.
func bbList[T any](ctx context.Context, c *client, path string) ([]T, error) {
	var all []T
	r := request{method: http.MethodGet, path: path, query: url.Values{"pagelen": {"100"}}}
	seen := map[string]bool{}
	for n := 0; ; n++ {
		if n == maxPages {
			return nil, fmt.Errorf("GET %s: more than %d pages", path, maxPages)
		}
		var page bbPage[T]
		r.out = &page
		if err := c.do(ctx, r); err != nil {
			return nil, err
		}
		all = append(all, page.Values...)
		// Bitbucket has been seen to send "next" on the last page; an empty
		// page or a link already followed ends the list too.
		if page.Next == "" || len(page.Values) == 0 || seen[page.Next] {
			return all, nil
		}
		seen[page.Next] = true
		next, err := nextPage(c.base, page.Next)
		if err != nil {
			return nil, fmt.Errorf("GET %s: %w", path, err)
		}
		r = request{method: http.MethodGet, url: next}
	}
}

// nextPage checks a "next" link: relative links resolve against base, and an
// absolute one must be on base's scheme and host, where the token may go.
func nextPage(base, next string) (string, error) {
	b, err := url.Parse(base)
	if err != nil {
		return "", err
	}
	n, err := url.Parse(next)
	if err != nil {
		return "", fmt.Errorf("bad next page link: %w", err)
	}
	u := b.ResolveReference(n)
	if u.Scheme != b.Scheme || u.Host != b.Host {
		return "", fmt.Errorf("refusing next page link to %s://%s: the token is for %s only", u.Scheme, u.Host, b.Host)
	}
	return u.String(), nil
}

// list reads the scope's variables through c.
func (b *bitbucket) list(ctx context.Context, c *client) (string, []bbVariable, error) {
	path, err := b.variablesPath(ctx, c)
	if err != nil {
		return "", nil, err
	}
	vars, err := bbList[bbVariable](ctx, c, path)
	return path, vars, err
}

// Get lists the scope's variables; secured ones have no value.
func (b *bitbucket) Get(ctx context.Context) (map[string]Variable, error) {
	_, vars, err := b.list(ctx, b.c)
	if err != nil {
		return nil, fmt.Errorf("%s: list variables: %w", b.name, err)
	}
	out := make(map[string]Variable, len(vars))
	for _, v := range vars {
		got := Variable{Key: v.Key, Secret: v.Secured}
		if !v.Secured {
			got.Value = v.Value
		}
		out[v.Key] = got
	}
	return out, nil
}

// Put lists the scope's variables once, then updates each of vars by UUID or
// creates it. A create that meets 409 (someone created it meanwhile) re-lists
// and updates; an update that meets 404 (someone deleted it) creates.
func (b *bitbucket) Put(ctx context.Context, vars []Variable) error {
	for _, v := range vars {
		if err := validKey(v.Key); err != nil {
			return fmt.Errorf("%s: %w", b.name, err)
		}
	}
	c := b.c.hiding(vars)
	path, existing, err := b.list(ctx, c)
	if err != nil {
		return fmt.Errorf("%s: list variables: %w", b.name, err)
	}
	uuids := map[string]string{}
	for _, v := range existing {
		uuids[v.Key] = v.UUID
	}
	var done []string
	for _, v := range vars {
		body := bbVariable{Type: "pipeline_variable", Key: v.Key, Value: v.Value, Secured: v.Secret}
		op, err := b.upsert(ctx, c, path, uuids, body)
		if err != nil {
			return putError(b.name, op, v.Key, done, err)
		}
		done = append(done, v.Key)
	}
	return nil
}

// upsert writes one variable; it returns what it was doing, for the error.
func (b *bitbucket) upsert(ctx context.Context, c *client, path string, uuids map[string]string, v bbVariable) (string, error) {
	if id, ok := uuids[v.Key]; ok {
		err := update(ctx, c, path, id, v)
		if !statusIs(err, http.StatusNotFound) {
			return "update", err
		}
		// Deleted since the list: create it.
	}
	err := c.do(ctx, request{method: http.MethodPost, path: path, body: v})
	if !statusIs(err, http.StatusConflict) {
		return "create", err
	}
	// Created since the list: find it and update it.
	_, existing, err := b.list(ctx, c)
	if err != nil {
		return "list variables after a conflict on", err
	}
	for _, e := range existing {
		if e.Key == v.Key {
			return "update", update(ctx, c, path, e.UUID, v)
		}
	}
	return "create", errors.New("the variable exists (409 Conflict) but is not listed")
}

// update PUTs v over the variable with UUID id.
func update(ctx context.Context, c *client, path, id string, v bbVariable) error {
	v.UUID = id
	return c.do(ctx, request{method: http.MethodPut, path: variablePath(path, id), body: v})
}
