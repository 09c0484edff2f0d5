// Package bitbucket serves Bitbucket Cloud's Pipelines variables REST API on
// keyless up, at Bitbucket's own paths and with its JSON shapes, status codes
// and error bodies, so that a client written for api.bitbucket.org (such as
// rotate/target's Bitbucket target) works against keyless up with only a base
// URL: the variables of a workspace, of a repository and of a repository's
// deployment environment, and the deployment environments themselves.
//
// Service is the core: it resolves the names and UUIDs of paths against the
// issuer's directory of workspaces, repositories and environments (so that the
// environments minted tokens name are listed with the same UUIDs), keeps the
// variables in a store.PipelineVariableStore, sealing secured values under the
// key-encryption key (package keywrap), and never returns a secured value
// through the API. StepVariables is what a pipeline step gets: the variables
// of its workspace, repository and deployment environment merged, later scopes
// overriding earlier ones, secured values included. Handler is the wire.
package bitbucket

import (
	"cmp"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/keyless-dev/keyless/issuer"
	"github.com/keyless-dev/keyless/keywrap"
	"github.com/keyless-dev/keyless/store"
)

// MaxKeyLength is the longest variable key accepted.
const MaxKeyLength = 255

// Config configures a Service.
type Config struct {
	// Directory holds the workspaces, repositories and deployment
	// environments: the issuer's store.
	Directory store.Store
	// Variables keeps the variables.
	Variables store.PipelineVariableStore
	// Box seals secured values at rest.
	Box *keywrap.Box
	// AutoRegister follows the issuer's auto_register: a workspace or
	// repository not registered yet reads as one without variables and is
	// registered, with the UUID derived from its name, by the first variable
	// written to it, as the first token minted for it would; and every
	// repository lists Bitbucket's default deployment environments (Test,
	// Staging, Production) with their derived UUIDs, unless it has one of
	// those names (in any case) registered. Off, unknown names are not found.
	AutoRegister bool
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Rand is the source of variable UUIDs (default crypto/rand.Reader).
	Rand io.Reader
}

// Service is the core of the variables API. It is safe for concurrent use.
type Service struct {
	cfg Config
}

// New returns the Service for cfg.
func New(cfg Config) (*Service, error) {
	switch {
	case cfg.Directory == nil:
		return nil, errors.New("bitbucket: new: a directory store is required")
	case cfg.Variables == nil:
		return nil, errors.New("bitbucket: new: a pipeline variable store is required")
	case cfg.Box == nil:
		return nil, errors.New("bitbucket: new: a key-encryption box is required to seal secured values")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Rand == nil {
		cfg.Rand = rand.Reader
	}
	return &Service{cfg: cfg}, nil
}

// Ref names a scope as the API's paths do.
type Ref struct {
	// Workspace is the workspace's slug or its {UUID}.
	Workspace string
	// Repository is the repository's slug or its {UUID}; empty for the
	// workspace's variables.
	Repository string
	// Environment is the deployment environment's {UUID} (braces optional);
	// empty for the repository's variables.
	Environment string
}

// Variable is a variable as the API shows it: Value is empty when Secured.
type Variable struct {
	UUID    string // lower-case, without braces
	Key     string
	Value   string
	Secured bool
}

// Input is the body of a create or update: a field left nil is not given
// (an update keeps the variable's).
type Input struct {
	Key     *string
	Value   *string
	Secured *bool
}

// Environment is a repository's deployment environment.
type Environment struct {
	UUID string // lower-case, without braces
	Name string
}

// Slug is the environment's slug, as Bitbucket derives it from the name:
// lower case, with runs of other characters than letters and digits as '-'.
func (e Environment) Slug() string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(e.Name) {
		if 'a' <= r && r <= 'z' || '0' <= r && r <= '9' {
			if dash && b.Len() > 0 {
				b.WriteByte('-')
			}
			b.WriteRune(r)
			dash = false
			continue
		}
		dash = true
	}
	return b.String()
}

// Type is the environment's type, one of Bitbucket's three: Production or
// Staging for environments of those names (in any case), else Test.
func (e Environment) Type() string {
	for _, t := range defaultEnvironments[1:] {
		if strings.EqualFold(e.Name, t) {
			return t
		}
	}
	return defaultEnvironments[0]
}

// defaultEnvironments are those Bitbucket makes for every repository, in
// the order of their types' ranks.
var defaultEnvironments = []string{"Test", "Staging", "Production"}

// typeRank orders environment types: Test 0, Staging 1, Production 2.
func typeRank(t string) int { return slices.Index(defaultEnvironments, t) }

// resolved is a Ref resolved against the directory. The records not nil are
// to be registered before a variable is written there.
type resolved struct {
	scope store.VariableScope
	ws    *store.Workspace
	repo  *store.Repository
	env   *store.Environment
}

// pending reports whether the scope is not registered yet: it holds nothing.
func (r resolved) pending() bool { return r.ws != nil || r.repo != nil || r.env != nil }

// describe names the scope for messages.
func describe(sc store.VariableScope) string {
	switch {
	case sc.Environment != "":
		return fmt.Sprintf("deployment environment %q of repository %s/%s", sc.Environment, sc.Workspace, sc.Repository)
	case sc.Repository != "":
		return "repository " + sc.Workspace + "/" + sc.Repository
	}
	return "workspace " + sc.Workspace
}

// ParseUUID accepts a UUID with or without braces, in any case, and returns
// it lower-case without braces.
func ParseUUID(s string) (string, bool) {
	if strings.HasPrefix(s, "{") && strings.HasSuffix(s, "}") && len(s) >= 2 {
		s = s[1 : len(s)-1]
	}
	if len(s) != 36 {
		return "", false
	}
	u, err := uuid.Parse(s)
	if err != nil {
		return "", false
	}
	return u.String(), true
}

// braceUUID is a path segment naming a record by {UUID}: braces required, as
// Bitbucket tells a UUID from a slug by them.
func braceUUID(seg string) (string, bool) {
	if !strings.HasPrefix(seg, "{") {
		return "", false
	}
	return ParseUUID(seg)
}

// resolve finds the scope ref names. Names not registered are pending (see
// Config.AutoRegister) or not found.
func (s *Service) resolve(ctx context.Context, ref Ref) (resolved, error) {
	var r resolved
	ws, known, err := s.workspace(ctx, ref.Workspace)
	if err != nil {
		return r, err
	}
	r.scope.Workspace = ws.Slug
	if !known {
		r.ws = &ws
	}
	if ref.Repository == "" {
		if ref.Environment != "" {
			return r, errors.New("bitbucket: resolve: an environment needs its repository")
		}
		return r, nil
	}
	repo, known, err := s.repository(ctx, ws, r.ws == nil, ref.Repository)
	if err != nil {
		return r, err
	}
	r.scope.Repository = repo.Slug
	if !known {
		r.repo = &repo
	}
	if ref.Environment == "" {
		return r, nil
	}
	id, ok := ParseUUID(ref.Environment)
	if !ok {
		return r, notFound("Deployment environment %q not found: name it by its {UUID}; GET /2.0/repositories/%s/%s/environments/ lists them", ref.Environment, ws.Slug, repo.Slug)
	}
	envs, err := s.environments(ctx, ws.Slug, repo.Slug, r.repo == nil)
	if err != nil {
		return r, err
	}
	i := slices.IndexFunc(envs, func(e listedEnvironment) bool { return e.UUID == id })
	if i < 0 {
		return r, notFound("Deployment environment {%s} not found in repository %s/%s: GET /2.0/repositories/%s/%s/environments/ lists its environments", id, ws.Slug, repo.Slug, ws.Slug, repo.Slug)
	}
	env := envs[i]
	r.scope.Environment = env.Name
	if !env.known {
		r.env = &env.Environment
	}
	return r, nil
}

// workspace resolves a workspace slug or {UUID}; known is false for one to
// be registered.
func (s *Service) workspace(ctx context.Context, seg string) (w store.Workspace, known bool, err error) {
	if id, ok := braceUUID(seg); ok {
		wss, err := s.cfg.Directory.ListWorkspaces(ctx)
		if err != nil {
			return w, false, fmt.Errorf("bitbucket: list workspaces: %w", err)
		}
		for _, w := range wss {
			if w.UUID == id {
				return w, true, nil
			}
		}
		return w, false, notFound("Workspace {%s} not found: no registered workspace has that UUID", id)
	}
	if issuer.ValidateWorkspace(seg) != nil {
		return w, false, notFound("Workspace %q not found: name a workspace by its slug (lower-case letters, digits, '-' and '_') or its {UUID}", seg)
	}
	w, err = s.cfg.Directory.GetWorkspace(ctx, seg)
	switch {
	case err == nil:
		return w, true, nil
	case !errors.Is(err, store.ErrNotFound):
		return w, false, fmt.Errorf("bitbucket: read workspace %s: %w", seg, err)
	case !s.cfg.AutoRegister:
		return w, false, notFound("Workspace %s not found: this server registers no names on first use; register it in the config", seg)
	}
	return store.Workspace{Slug: seg, UUID: issuer.WorkspaceUUID(seg)}, false, nil
}

// repository resolves a repository slug or {UUID} of ws (wsKnown: ws is
// registered); known is false for one to be registered.
func (s *Service) repository(ctx context.Context, ws store.Workspace, wsKnown bool, seg string) (r store.Repository, known bool, err error) {
	if id, ok := braceUUID(seg); ok {
		var repos []store.Repository
		if wsKnown {
			if repos, err = s.cfg.Directory.ListRepositories(ctx, ws.Slug); err != nil {
				return r, false, fmt.Errorf("bitbucket: list repositories of %s: %w", ws.Slug, err)
			}
		}
		for _, r := range repos {
			if r.UUID == id {
				return r, true, nil
			}
		}
		return r, false, notFound("Repository {%s} not found in workspace %s", id, ws.Slug)
	}
	if issuer.ValidateRepository(seg) != nil {
		return r, false, notFound("Repository %s/%s not found: name a repository by its slug (lower-case letters, digits, '-', '_' and '.') or its {UUID}", ws.Slug, seg)
	}
	if wsKnown {
		r, err = s.cfg.Directory.GetRepository(ctx, ws.Slug, seg)
		switch {
		case err == nil:
			return r, true, nil
		case !errors.Is(err, store.ErrNotFound):
			return r, false, fmt.Errorf("bitbucket: read repository %s/%s: %w", ws.Slug, seg, err)
		}
	}
	if !s.cfg.AutoRegister {
		return r, false, notFound("Repository %s/%s not found: this server registers no names on first use; register it in the config", ws.Slug, seg)
	}
	return store.Repository{Workspace: ws.Slug, Slug: seg, UUID: issuer.RepositoryUUID(ws.Slug, seg)}, false, nil
}

// listedEnvironment is an environment as listed; known is false for one of
// Bitbucket's defaults not registered yet.
type listedEnvironment struct {
	store.Environment
	known bool
}

// environments lists a repository's deployment environments: those
// registered (when repoKnown: the repository is registered) and, with
// AutoRegister, Bitbucket's default ones not registered under their names
// (in any case). They are ordered by type, then name.
func (s *Service) environments(ctx context.Context, ws, repo string, repoKnown bool) ([]listedEnvironment, error) {
	var envs []listedEnvironment
	if repoKnown {
		stored, err := s.cfg.Directory.ListEnvironments(ctx, ws, repo)
		if err != nil {
			return nil, fmt.Errorf("bitbucket: list environments of %s/%s: %w", ws, repo, err)
		}
		for _, e := range stored {
			envs = append(envs, listedEnvironment{e, true})
		}
	}
	if s.cfg.AutoRegister {
		for _, name := range defaultEnvironments {
			// Bitbucket's names are unique in any case: a registered
			// "production" is the repository's Production.
			if !slices.ContainsFunc(envs, func(e listedEnvironment) bool { return strings.EqualFold(e.Name, name) }) {
				envs = append(envs, listedEnvironment{store.Environment{Workspace: ws, Repository: repo, Name: name, UUID: issuer.EnvironmentUUID(ws, repo, name)}, false})
			}
		}
	}
	slices.SortFunc(envs, func(a, b listedEnvironment) int {
		ta, tb := Environment{Name: a.Name}.Type(), Environment{Name: b.Name}.Type()
		return cmp.Or(cmp.Compare(typeRank(ta), typeRank(tb)), strings.Compare(a.Name, b.Name))
	})
	return envs, nil
}

// Environments lists the deployment environments of a repository (slug or
// {UUID}) of a workspace (slug or {UUID}), ordered by type, then name.
func (s *Service) Environments(ctx context.Context, workspace, repository string) ([]Environment, error) {
	r, err := s.resolve(ctx, Ref{Workspace: workspace, Repository: repository})
	if err != nil {
		return nil, err
	}
	envs, err := s.environments(ctx, r.scope.Workspace, r.scope.Repository, r.repo == nil)
	if err != nil {
		return nil, err
	}
	out := make([]Environment, len(envs))
	for i, e := range envs {
		out[i] = Environment{UUID: e.UUID, Name: e.Name}
	}
	return out, nil
}

// register registers the workspace, repository and environment of r that
// are not yet, in that order. One registered meanwhile (by a mint, or another
// write) is taken as it is, unless it is an environment registered with
// another UUID than the one the request named.
func (s *Service) register(ctx context.Context, r resolved) error {
	now := s.cfg.Now().UTC()
	if r.ws != nil {
		w := *r.ws
		w.CreatedAt = now
		if err := s.cfg.Directory.CreateWorkspace(ctx, w); err != nil && !errors.Is(err, store.ErrAlreadyExists) {
			return fmt.Errorf("bitbucket: register workspace %s: %w", w.Slug, err)
		}
	}
	if r.repo != nil {
		p := *r.repo
		p.CreatedAt = now
		if err := s.cfg.Directory.CreateRepository(ctx, p); err != nil && !errors.Is(err, store.ErrAlreadyExists) {
			return fmt.Errorf("bitbucket: register repository %s/%s: %w", p.Workspace, p.Slug, err)
		}
	}
	if r.env != nil {
		e := *r.env
		e.CreatedAt = now
		err := s.cfg.Directory.CreateEnvironment(ctx, e)
		if errors.Is(err, store.ErrAlreadyExists) {
			cur, gerr := s.cfg.Directory.GetEnvironment(ctx, e.Workspace, e.Repository, e.Name)
			if gerr != nil {
				return fmt.Errorf("bitbucket: read environment %q of %s/%s: %w", e.Name, e.Workspace, e.Repository, gerr)
			}
			if cur.UUID != e.UUID {
				return notFound("Deployment environment {%s} not found: %q of %s/%s was registered meanwhile as {%s}", e.UUID, e.Name, e.Workspace, e.Repository, cur.UUID)
			}
			err = nil
		}
		if err != nil {
			return fmt.Errorf("bitbucket: register environment %q of %s/%s: %w", e.Name, e.Workspace, e.Repository, err)
		}
	}
	return nil
}

// ValidKey checks a variable key as Bitbucket does: ASCII letters, digits and
// underscores, not starting with a digit.
func ValidKey(key string) error {
	if key == "" {
		return badRequest("The variable key is empty: give a name of ASCII letters, digits and underscores, not starting with a digit")
	}
	if len(key) > MaxKeyLength {
		return badRequest("The variable key is %d characters long; at most %d are allowed", len(key), MaxKeyLength)
	}
	for i := 0; i < len(key); i++ {
		c := key[i]
		if !(c == '_' || 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || i > 0 && '0' <= c && c <= '9') {
			return badRequest("Invalid variable key %q: a key may contain only ASCII letters, digits and underscores, and may not start with a digit", key)
		}
	}
	return nil
}

// sealLabel binds a secured value to its variable.
func sealLabel(id string) string { return "bitbucket-pipeline-variable:" + id }

// stored is the value as stored: sealed when secured.
func (s *Service) stored(id, value string, secured bool) ([]byte, error) {
	if !secured {
		return []byte(value), nil
	}
	sealed, err := s.cfg.Box.Seal(sealLabel(id), []byte(value))
	if err != nil {
		return nil, fmt.Errorf("bitbucket: seal variable {%s}: %w", id, err)
	}
	return sealed, nil
}

// plain is the plaintext of a stored variable's value.
func (s *Service) plain(v store.PipelineVariable) (string, error) {
	if !v.Secured {
		return string(v.Value), nil
	}
	b, err := s.cfg.Box.Open(sealLabel(v.UUID), v.Value)
	if err != nil {
		return "", fmt.Errorf("bitbucket: open secured variable %s {%s}: %w", v.Key, v.UUID, err)
	}
	return string(b), nil
}

// shown is a stored variable as the API shows it: no secured value.
func shown(v store.PipelineVariable) Variable {
	out := Variable{UUID: v.UUID, Key: v.Key, Secured: v.Secured}
	if !v.Secured {
		out.Value = string(v.Value)
	}
	return out
}

// List returns the variables of the scope ref names, ordered by key, secured
// values left out.
func (s *Service) List(ctx context.Context, ref Ref) ([]Variable, error) {
	r, err := s.resolve(ctx, ref)
	if err != nil || r.pending() {
		return nil, err
	}
	vars, err := s.cfg.Variables.ListPipelineVariables(ctx, r.scope)
	if err != nil {
		return nil, fmt.Errorf("bitbucket: list variables of %s: %w", describe(r.scope), err)
	}
	out := make([]Variable, len(vars))
	for i, v := range vars {
		out[i] = shown(v)
	}
	return out, nil
}

// variableID parses the variable UUID of a path.
func variableID(raw string, sc store.VariableScope) (string, error) {
	id, ok := ParseUUID(raw)
	if !ok {
		return "", notFound("Variable %q not found: a variable is named by its {UUID}, as listed for %s", raw, describe(sc))
	}
	return id, nil
}

func variableNotFound(id string, sc store.VariableScope) error {
	return notFound("Variable {%s} not found in %s", id, describe(sc))
}

// Get returns one variable of the scope ref names, by UUID.
func (s *Service) Get(ctx context.Context, ref Ref, rawID string) (Variable, error) {
	r, err := s.resolve(ctx, ref)
	if err != nil {
		return Variable{}, err
	}
	id, err := variableID(rawID, r.scope)
	if err != nil {
		return Variable{}, err
	}
	if r.pending() {
		return Variable{}, variableNotFound(id, r.scope)
	}
	v, err := s.cfg.Variables.GetPipelineVariable(ctx, r.scope, id)
	if errors.Is(err, store.ErrNotFound) {
		return Variable{}, variableNotFound(id, r.scope)
	}
	if err != nil {
		return Variable{}, fmt.Errorf("bitbucket: get variable {%s} of %s: %w", id, describe(r.scope), err)
	}
	return shown(v), nil
}

// Create adds a variable to the scope ref names, registering the scope first
// if need be (Config.AutoRegister). A key the scope holds is a 409.
func (s *Service) Create(ctx context.Context, ref Ref, in Input) (Variable, error) {
	if in.Key == nil {
		return Variable{}, badRequest(`The variable has no key: send {"key": "NAME", "value": "…", "secured": false}`)
	}
	if err := ValidKey(*in.Key); err != nil {
		return Variable{}, err
	}
	r, err := s.resolve(ctx, ref)
	if err != nil {
		return Variable{}, err
	}
	u, err := uuid.NewRandomFromReader(s.cfg.Rand)
	if err != nil {
		return Variable{}, fmt.Errorf("bitbucket: new variable UUID: %w", err)
	}
	now := s.cfg.Now()
	v := store.PipelineVariable{Scope: r.scope, UUID: u.String(), Key: *in.Key, Secured: in.Secured != nil && *in.Secured, CreatedAt: now, UpdatedAt: now}
	var value string
	if in.Value != nil {
		value = *in.Value
	}
	if v.Value, err = s.stored(v.UUID, value, v.Secured); err != nil {
		return Variable{}, err
	}
	if err := s.register(ctx, r); err != nil {
		return Variable{}, err
	}
	err = s.cfg.Variables.CreatePipelineVariable(ctx, v)
	switch {
	case errors.Is(err, store.ErrAlreadyExists):
		return Variable{}, conflict("A variable with the key provided already exists: %s has %s; update it with PUT by its UUID", describe(r.scope), v.Key)
	case errors.Is(err, store.ErrNotFound):
		return Variable{}, notFound("%s was deleted meanwhile", describe(r.scope))
	case err != nil:
		return Variable{}, fmt.Errorf("bitbucket: create variable %s in %s: %w", v.Key, describe(r.scope), err)
	}
	return shown(v), nil
}

// Update changes a variable of the scope ref names: the fields in gives. A
// new key the scope holds is a 409; a secured variable given no value keeps
// its value, sealed or not as Secured says.
func (s *Service) Update(ctx context.Context, ref Ref, rawID string, in Input) (Variable, error) {
	if in.Key != nil {
		if err := ValidKey(*in.Key); err != nil {
			return Variable{}, err
		}
	}
	r, err := s.resolve(ctx, ref)
	if err != nil {
		return Variable{}, err
	}
	id, err := variableID(rawID, r.scope)
	if err != nil {
		return Variable{}, err
	}
	if r.pending() {
		return Variable{}, variableNotFound(id, r.scope)
	}
	var out store.PipelineVariable
	err = s.cfg.Variables.UpdatePipelineVariable(ctx, r.scope, id, func(cur store.PipelineVariable) (store.PipelineVariable, error) {
		next := cur
		if in.Key != nil {
			next.Key = *in.Key
		}
		if in.Secured != nil {
			next.Secured = *in.Secured
		}
		var value string
		if in.Value != nil {
			value = *in.Value
		} else if next.Secured != cur.Secured {
			var err error
			if value, err = s.plain(cur); err != nil {
				return cur, err
			}
		}
		if in.Value != nil || next.Secured != cur.Secured {
			var err error
			if next.Value, err = s.stored(id, value, next.Secured); err != nil {
				return cur, err
			}
		}
		next.UpdatedAt = s.cfg.Now()
		out = next
		return next, nil
	})
	switch {
	case errors.Is(err, store.ErrNotFound):
		return Variable{}, variableNotFound(id, r.scope)
	case errors.Is(err, store.ErrAlreadyExists):
		return Variable{}, conflict("A variable with the key provided already exists: %s has %s", describe(r.scope), *in.Key)
	case err != nil:
		return Variable{}, fmt.Errorf("bitbucket: update variable {%s} of %s: %w", id, describe(r.scope), err)
	}
	return shown(out), nil
}

// Delete removes a variable of the scope ref names.
func (s *Service) Delete(ctx context.Context, ref Ref, rawID string) error {
	r, err := s.resolve(ctx, ref)
	if err != nil {
		return err
	}
	id, err := variableID(rawID, r.scope)
	if err != nil {
		return err
	}
	if r.pending() {
		return variableNotFound(id, r.scope)
	}
	err = s.cfg.Variables.DeletePipelineVariable(ctx, r.scope, id)
	if errors.Is(err, store.ErrNotFound) {
		return variableNotFound(id, r.scope)
	}
	if err != nil {
		return fmt.Errorf("bitbucket: delete variable {%s} of %s: %w", id, describe(r.scope), err)
	}
	return nil
}
