// Package issuer is the pipeline identity provider: Bitbucket-shaped step tokens, the
// workspace/repository/environment directory behind them, the signing-key lifecycle
// (prepare → activate → retire), and the discovery, JWKS and mint HTTP handlers.
package issuer

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"
	"unicode"

	"github.com/google/uuid"

	"github.com/keyless-dev/keyless/store"
)

// Config is the issuer's behaviour.
type Config struct {
	// BaseURL is the public https base of the issuer, e.g. https://127.0.0.1:8443 or
	// https://oidc.example.com; issuers are BaseURL/2.0/workspaces/<slug>/pipelines-config/identity/oidc.
	BaseURL string
	// DefaultTTL is a token's lifetime when the request names none (default 1h).
	DefaultTTL time.Duration
	// AutoRegister lets minting register unknown workspaces, repositories and
	// environments with name-derived UUIDs (the local default). When false, unknown
	// names are refused.
	AutoRegister bool
}

// MaxAudiences and MaxAudienceLength are Bitbucket's limits on custom audiences.
const (
	MaxAudiences      = 10
	MaxAudienceLength = 150
	minTTL            = time.Minute
)

// Issuer mints step tokens. It is safe for concurrent use.
type Issuer struct {
	cfg  Config
	st   store.Store
	keys *KeySet
	now  func() time.Time
	dir  directory
}

// New returns an Issuer minting with keys and resolving names through st.
func New(cfg Config, st store.Store, keys *KeySet, now func() time.Time) (*Issuer, error) {
	cfg.BaseURL = strings.TrimRight(cfg.BaseURL, "/")
	if !strings.HasPrefix(cfg.BaseURL, "https://") {
		return nil, fmt.Errorf("issuer: base URL %q must start with https:// (AWS accepts only https issuers)", cfg.BaseURL)
	}
	if cfg.DefaultTTL == 0 {
		cfg.DefaultTTL = time.Hour
	}
	if cfg.DefaultTTL > keys.cfg.MaxTokenTTL {
		return nil, fmt.Errorf("issuer: default token TTL %s exceeds the maximum %s", cfg.DefaultTTL, keys.cfg.MaxTokenTTL)
	}
	if now == nil {
		now = time.Now
	}
	return &Issuer{cfg: cfg, st: st, keys: keys, now: now, dir: directory{st: st, entries: map[string]any{}}}, nil
}

// Keys returns the issuer's key set.
func (is *Issuer) Keys() *KeySet { return is.keys }

// IssuerURL returns the issuer URL of a workspace.
func (is *Issuer) IssuerURL(workspace string) string {
	return is.cfg.BaseURL + "/2.0/workspaces/" + workspace + "/pipelines-config/identity/oidc"
}

// MintRequest describes the pipeline step a token is for.
type MintRequest struct {
	Workspace   string   `json:"workspace"`
	Repository  string   `json:"repository"`
	Environment string   `json:"environment,omitempty"` // deployment steps only
	Branch      string   `json:"branch,omitempty"`
	Audiences   []string `json:"audiences,omitempty"`
	// TTL is the token lifetime; 0 means the configured default.
	TTL Duration `json:"ttl,omitempty"`
	// Explicit UUIDs register (or must match) the named entities; empty derives them.
	WorkspaceUUID   string `json:"workspaceUuid,omitempty"`
	RepositoryUUID  string `json:"repositoryUuid,omitempty"`
	EnvironmentUUID string `json:"environmentUuid,omitempty"`
	// PipelineUUID and StepUUID identify the run; empty means fresh random ones.
	PipelineUUID string `json:"pipelineUuid,omitempty"`
	StepUUID     string `json:"stepUuid,omitempty"`
}

// Token is a minted step token.
type Token struct {
	Raw    string `json:"token"`
	Claims Claims `json:"claims"`
	KeyID  string `json:"-"`
}

// Mint validates req, resolves (or registers) its names and signs a step token.
func (is *Issuer) Mint(ctx context.Context, req MintRequest) (Token, error) {
	if err := is.validate(&req); err != nil {
		return Token{}, err
	}
	ws, err := is.dir.workspace(ctx, req.Workspace, req.WorkspaceUUID, is.cfg.AutoRegister, is.now)
	if err != nil {
		return Token{}, err
	}
	repo, err := is.dir.repository(ctx, ws.Slug, req.Repository, req.RepositoryUUID, is.cfg.AutoRegister, is.now)
	if err != nil {
		return Token{}, err
	}
	var env *store.Environment
	if req.Environment != "" {
		e, err := is.dir.environment(ctx, ws.Slug, repo.Slug, req.Environment, req.EnvironmentUUID, is.cfg.AutoRegister, is.now)
		if err != nil {
			return Token{}, err
		}
		env = &e
	}
	pipeline, step := req.PipelineUUID, req.StepUUID
	if pipeline == "" {
		pipeline = uuid.Must(uuid.NewRandomFromReader(rand.Reader)).String()
	}
	if step == "" {
		step = uuid.Must(uuid.NewRandomFromReader(rand.Reader)).String()
	}
	now := is.now()
	ttl := time.Duration(req.TTL)
	if ttl == 0 {
		ttl = is.cfg.DefaultTTL
	}
	c := Claims{
		Issuer:         is.IssuerURL(ws.Slug),
		IssuedAt:       now.Unix(),
		Expiry:         now.Add(ttl).Unix(),
		JWTID:          uuid.Must(uuid.NewRandomFromReader(rand.Reader)).String(),
		RepositoryUUID: braced(repo.UUID),
		WorkspaceUUID:  braced(ws.UUID),
		PipelineUUID:   braced(pipeline),
		StepUUID:       braced(step),
		BranchName:     req.Branch,
	}
	if len(req.Audiences) > 0 {
		c.Audience = Audience{Values: req.Audiences, AsArray: true}
	} else {
		c.Audience = Audience{Values: []string{WorkspaceAudience(ws.UUID)}}
	}
	if env != nil {
		c.DeploymentEnvironmentUUID = braced(env.UUID)
		c.Subject = c.RepositoryUUID + ":" + c.DeploymentEnvironmentUUID + ":" + c.StepUUID
	} else {
		c.Subject = c.RepositoryUUID + ":" + c.StepUUID
	}
	if ws.SessionTags {
		tags := map[string][]string{"repository": {tagValue(repo.Slug)}}
		keys := []string{"repository"}
		if env != nil {
			tags["environment"] = []string{tagValue(env.Name)}
			keys = append(keys, "environment")
		}
		if req.Branch != "" {
			tags["branch"] = []string{tagValue(req.Branch)}
			keys = append(keys, "branch")
		}
		c.AWSTags = &SessionTags{PrincipalTags: tags, TransitiveTagKeys: keys}
	}
	payload, err := json.Marshal(c)
	if err != nil {
		return Token{}, fmt.Errorf("issuer: marshal claims: %w", err)
	}
	raw, kid, err := is.keys.sign(payload)
	if err != nil {
		return Token{}, err
	}
	return Token{Raw: raw, Claims: c, KeyID: kid}, nil
}

func (is *Issuer) validate(req *MintRequest) error {
	if req.Workspace == "" {
		return invalid("workspace", "a workspace is required (--workspace)")
	}
	if err := ValidateWorkspace(req.Workspace); err != nil {
		return err
	}
	if req.Repository == "" {
		return invalid("repository", "a repository is required (--repository)")
	}
	if err := ValidateRepository(req.Repository); err != nil {
		return err
	}
	if req.Environment != "" {
		if err := ValidateEnvironment(req.Environment); err != nil {
			return err
		}
	} else if req.EnvironmentUUID != "" {
		return invalid("environmentUuid", "an environment UUID was given without an environment name")
	}
	if req.Branch != "" {
		if err := ValidateBranch(req.Branch); err != nil {
			return err
		}
	}
	if len(req.Audiences) > MaxAudiences {
		return invalid("audiences", "%d audiences requested; at most %d are allowed", len(req.Audiences), MaxAudiences)
	}
	for i, a := range req.Audiences {
		if a == "" {
			return invalid("audiences", "audience %d is empty", i+1)
		}
		if len(a) > MaxAudienceLength {
			return invalid("audiences", "audience %d is %d characters long; the limit is %d", i+1, len(a), MaxAudienceLength)
		}
		if strings.IndexFunc(a, unicode.IsControl) >= 0 {
			return invalid("audiences", "audience %d contains a control character", i+1)
		}
	}
	ttl := time.Duration(req.TTL)
	if ttl != 0 && (ttl < minTTL || ttl > is.keys.cfg.MaxTokenTTL) {
		return invalid("ttl", "token TTL %s is out of range: use between %s and %s", ttl, minTTL, is.keys.cfg.MaxTokenTTL)
	}
	var err error
	for _, f := range []struct {
		name string
		v    *string
	}{{"workspaceUuid", &req.WorkspaceUUID}, {"repositoryUuid", &req.RepositoryUUID}, {"environmentUuid", &req.EnvironmentUUID}, {"pipelineUuid", &req.PipelineUUID}, {"stepUuid", &req.StepUUID}} {
		if *f.v != "" {
			if *f.v, err = NormalizeUUID(f.name, *f.v); err != nil {
				return err
			}
		}
	}
	return nil
}

// Duration is a time.Duration that reads JSON as a Go duration string ("15m") or seconds.
type Duration time.Duration

// MarshalJSON writes the duration as a Go duration string.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

// UnmarshalJSON reads "15m"-style strings or a number of seconds.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		v, err := time.ParseDuration(s)
		if err != nil {
			return fmt.Errorf("invalid duration %q: use a Go duration such as 15m or 1h", s)
		}
		*d = Duration(v)
		return nil
	}
	var secs int64
	if err := json.Unmarshal(b, &secs); err != nil {
		return fmt.Errorf("invalid duration %s: use a string such as \"15m\" or a number of seconds", b)
	}
	*d = Duration(time.Duration(secs) * time.Second)
	return nil
}

// directory resolves names to registered entities, registering unknown ones when
// allowed. Entities never change UUID, so resolved entries are cached for good;
// workspaces are re-read after a short while so setting changes take effect.
type directory struct {
	st      store.Store
	mu      sync.RWMutex
	entries map[string]any
}

type cachedWorkspace struct {
	ws      store.Workspace
	fetched time.Time
}

const workspaceCacheTTL = 10 * time.Second

func (d *directory) get(key string) (any, bool) {
	d.mu.RLock()
	v, ok := d.entries[key]
	d.mu.RUnlock()
	return v, ok
}

func (d *directory) put(key string, v any) {
	d.mu.Lock()
	d.entries[key] = v
	d.mu.Unlock()
}

func (d *directory) workspace(ctx context.Context, slug, explicit string, register bool, now func() time.Time) (store.Workspace, error) {
	key := "w/" + slug
	if v, ok := d.get(key); ok {
		c := v.(cachedWorkspace)
		if now().Sub(c.fetched) < workspaceCacheTTL {
			return c.ws, checkUUID("workspace", slug, c.ws.UUID, explicit)
		}
	}
	ws, err := d.st.GetWorkspace(ctx, slug)
	if errors.Is(err, store.ErrNotFound) {
		if !register {
			return store.Workspace{}, &Error{Code: CodeNotFound, Field: "workspace", Message: fmt.Sprintf("workspace %q is not registered, and this server does not register names on first use", slug)}
		}
		u := explicit
		if u == "" {
			u = WorkspaceUUID(slug)
		}
		ws = store.Workspace{Slug: slug, UUID: u, CreatedAt: now().UTC()}
		if err = d.st.CreateWorkspace(ctx, ws); errors.Is(err, store.ErrAlreadyExists) {
			ws, err = d.st.GetWorkspace(ctx, slug)
		}
	}
	if err != nil {
		return store.Workspace{}, fmt.Errorf("issuer: resolve workspace %q: %w", slug, err)
	}
	d.put(key, cachedWorkspace{ws: ws, fetched: now()})
	return ws, checkUUID("workspace", slug, ws.UUID, explicit)
}

func (d *directory) repository(ctx context.Context, ws, slug, explicit string, register bool, now func() time.Time) (store.Repository, error) {
	key := "r/" + ws + "/" + slug
	if v, ok := d.get(key); ok {
		r := v.(store.Repository)
		return r, checkUUID("repository", ws+"/"+slug, r.UUID, explicit)
	}
	r, err := d.st.GetRepository(ctx, ws, slug)
	if errors.Is(err, store.ErrNotFound) {
		if !register {
			return store.Repository{}, &Error{Code: CodeNotFound, Field: "repository", Message: fmt.Sprintf("repository %s/%s is not registered, and this server does not register names on first use", ws, slug)}
		}
		u := explicit
		if u == "" {
			u = RepositoryUUID(ws, slug)
		}
		r = store.Repository{Workspace: ws, Slug: slug, UUID: u, CreatedAt: now().UTC()}
		if err = d.st.CreateRepository(ctx, r); errors.Is(err, store.ErrAlreadyExists) {
			r, err = d.st.GetRepository(ctx, ws, slug)
		}
	}
	if err != nil {
		return store.Repository{}, fmt.Errorf("issuer: resolve repository %s/%s: %w", ws, slug, err)
	}
	d.put(key, r)
	return r, checkUUID("repository", ws+"/"+slug, r.UUID, explicit)
}

func (d *directory) environment(ctx context.Context, ws, repo, name, explicit string, register bool, now func() time.Time) (store.Environment, error) {
	key := "e/" + ws + "/" + repo + "/" + name
	if v, ok := d.get(key); ok {
		e := v.(store.Environment)
		return e, checkUUID("environment", name, e.UUID, explicit)
	}
	e, err := d.st.GetEnvironment(ctx, ws, repo, name)
	if errors.Is(err, store.ErrNotFound) {
		if !register {
			return store.Environment{}, &Error{Code: CodeNotFound, Field: "environment", Message: fmt.Sprintf("deployment environment %q of %s/%s is not registered, and this server does not register names on first use", name, ws, repo)}
		}
		u := explicit
		if u == "" {
			u = EnvironmentUUID(ws, repo, name)
		}
		e = store.Environment{Workspace: ws, Repository: repo, Name: name, UUID: u, CreatedAt: now().UTC()}
		if err = d.st.CreateEnvironment(ctx, e); errors.Is(err, store.ErrAlreadyExists) {
			e, err = d.st.GetEnvironment(ctx, ws, repo, name)
		}
	}
	if err != nil {
		return store.Environment{}, fmt.Errorf("issuer: resolve environment %q: %w", name, err)
	}
	d.put(key, e)
	return e, checkUUID("environment", name, e.UUID, explicit)
}

func checkUUID(kind, name, have, want string) error {
	if want != "" && want != have {
		return &Error{Code: CodeConflict, Field: kind + "Uuid", Message: fmt.Sprintf("%s %s is registered with UUID {%s}, not {%s}", kind, name, have, want)}
	}
	return nil
}
