// Package issuer is the pipeline identity provider: Bitbucket-shaped step tokens (and
// GitHub Actions- and GitLab-shaped job ID tokens), the workspace/repository/environment
// directory behind them, the signing-key lifecycle (prepare → activate → retire), the
// discovery, JWKS and mint HTTP handlers, and the mint API's client.
package issuer

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/url"
	"slices"
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
	// Rand is the source of token IDs and fresh run, pipeline and step IDs (default
	// crypto/rand.Reader).
	Rand io.Reader
	// WorkspaceIssuers give workspaces (by slug) the issuer URL their tokens carry as
	// iss in place of the local one, typically the production URL
	// https://api.bitbucket.org/2.0/workspaces/<slug>/pipelines-config/identity/oidc,
	// so that trust policies written for production apply unchanged. Discovery and
	// keys are still served under BaseURL (LocalIssuerURL); the discovery document
	// names this URL as its issuer and the local keys as its jwks_uri.
	WorkspaceIssuers map[string]string
	// GitHubIssuer and GitLabIssuer, when set, are the issuers of GitHub- and
	// GitLab-shaped tokens in place of BaseURL/github and BaseURL/gitlab, such as
	// https://token.actions.githubusercontent.com and https://gitlab.com; served
	// likewise under BaseURL.
	GitHubIssuer, GitLabIssuer string
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
	if cfg.Rand == nil {
		cfg.Rand = rand.Reader
	}
	if err := checkIssuerURLs(cfg); err != nil {
		return nil, err
	}
	return &Issuer{cfg: cfg, st: st, keys: keys, now: now, dir: directory{st: st, entries: map[string]any{}}}, nil
}

// ForgetWorkspaces drops the workspaces cached for minting, so that settings changed
// in the store (session tags) apply to the next token rather than within seconds.
func (is *Issuer) ForgetWorkspaces() { is.dir.forgetWorkspaces() }

// Keys returns the issuer's key set.
func (is *Issuer) Keys() *KeySet { return is.keys }

// IssuerURL returns the issuer URL of a workspace, the iss of its tokens: the one
// Config.WorkspaceIssuers gives it, else LocalIssuerURL.
func (is *Issuer) IssuerURL(workspace string) string {
	if u, ok := is.cfg.WorkspaceIssuers[workspace]; ok {
		return u
	}
	return is.LocalIssuerURL(workspace)
}

// LocalIssuerURL returns the URL under BaseURL where a workspace's discovery document
// and keys are served: BaseURL/2.0/workspaces/<slug>/pipelines-config/identity/oidc.
func (is *Issuer) LocalIssuerURL(workspace string) string {
	return is.cfg.BaseURL + "/2.0/workspaces/" + workspace + "/pipelines-config/identity/oidc"
}

// Aliases maps each issuer URL configured in place of a local one (Config's
// WorkspaceIssuers, GitHubIssuer and GitLabIssuer) to the local issuer URL that
// serves its discovery document and keys. It is empty when none is configured.
func (is *Issuer) Aliases() map[string]string {
	out := map[string]string{}
	for ws, u := range is.cfg.WorkspaceIssuers {
		out[u] = is.LocalIssuerURL(ws)
	}
	if is.cfg.GitHubIssuer != "" {
		out[is.cfg.GitHubIssuer] = is.cfg.BaseURL + GitHubIssuerPath
	}
	if is.cfg.GitLabIssuer != "" {
		out[is.cfg.GitLabIssuer] = is.cfg.BaseURL + GitLabIssuerPath
	}
	return out
}

// checkIssuerURLs validates the configured issuer URLs: https URLs without user
// info, query or fragment (IAM's rules for a provider URL), each used once.
func checkIssuerURLs(cfg Config) error {
	seen := map[string]string{}
	check := func(what, u string) error {
		pu, err := url.Parse(u)
		if err != nil || pu.Scheme != "https" || pu.Host == "" || pu.User != nil || pu.RawQuery != "" || pu.ForceQuery || pu.Fragment != "" {
			return fmt.Errorf("issuer: %s issuer URL %q must be an https URL without user info, query or fragment, such as %s", what, u, exampleIssuer(what))
		}
		if prev, dup := seen[u]; dup {
			return fmt.Errorf("issuer: %s and %s both have the issuer URL %s: tokens of one issuer URL must come from one issuer", prev, what, u)
		}
		seen[u] = what
		return nil
	}
	for _, ws := range slices.Sorted(maps.Keys(cfg.WorkspaceIssuers)) {
		if err := ValidateWorkspace(ws); err != nil {
			return err
		}
		if err := check("workspace "+ws, cfg.WorkspaceIssuers[ws]); err != nil {
			return err
		}
	}
	for _, c := range []struct{ what, u string }{{"GitHub", cfg.GitHubIssuer}, {"GitLab", cfg.GitLabIssuer}} {
		if c.u == "" {
			continue
		}
		if err := check(c.what, c.u); err != nil {
			return err
		}
	}
	return nil
}

func exampleIssuer(what string) string {
	switch what {
	case "GitHub":
		return "https://token.actions.githubusercontent.com"
	case "GitLab":
		return "https://gitlab.com"
	}
	return "https://api.bitbucket.org/2.0/workspaces/" + strings.TrimPrefix(what, "workspace ") + "/pipelines-config/identity/oidc"
}

// MintRequest describes the pipeline step or job a token is for.
type MintRequest struct {
	// CI is the CI system whose token to mint; empty means Bitbucket.
	CI CI `json:"ci,omitempty"`
	// Workspace is the Bitbucket workspace, the GitHub repository owner or the GitLab
	// group path. For GitHub and GitLab it may be left out when Repository is the
	// full path.
	Workspace string `json:"workspace,omitempty"`
	// Repository is the Bitbucket repository slug, or the GitHub repository or GitLab
	// project: its name, or its full path OWNER/NAME (GROUP[/SUBGROUP…]/PROJECT).
	Repository  string `json:"repository"`
	Environment string `json:"environment,omitempty"` // deployment steps (jobs) only
	// Branch is the branch the step or job runs for (GitHub and GitLab default: main).
	Branch string `json:"branch,omitempty"`
	// Tag, Event, SHA and Actor are GitHub and GitLab only: a tag to run for instead of
	// a branch; the event_name or pipeline_source (default push); the commit (default
	// one derived from the ref); the user who started the run (default keyless).
	Tag   string `json:"tag,omitempty"`
	Event string `json:"event,omitempty"`
	SHA   string `json:"sha,omitempty"`
	Actor string `json:"actor,omitempty"`
	// Audiences are custom audiences. Bitbucket's default is the workspace audience,
	// GitHub's and GitLab's here sts.amazonaws.com; a GitHub token carries at most one.
	Audiences []string `json:"audiences,omitempty"`
	// TTL is the token lifetime; 0 means the configured default.
	TTL Duration `json:"ttl,omitempty"`
	// Explicit UUIDs register (or must match) the named entities; empty derives them.
	// Bitbucket only.
	WorkspaceUUID   string `json:"workspaceUuid,omitempty"`
	RepositoryUUID  string `json:"repositoryUuid,omitempty"`
	EnvironmentUUID string `json:"environmentUuid,omitempty"`
	// PipelineUUID and StepUUID identify the run; empty means fresh random ones.
	// Bitbucket only.
	PipelineUUID string `json:"pipelineUuid,omitempty"`
	StepUUID     string `json:"stepUuid,omitempty"`
}

// Token is a minted token. Exactly one claim set is filled, that of its CI.
type Token struct {
	// Raw is the signed JWT.
	Raw string
	// CI is the CI system the token imitates.
	CI CI
	// Claims are a Bitbucket step token's claims.
	Claims Claims
	// GitHub and GitLab are a GitHub Actions or GitLab job token's claims.
	GitHub *GitHubClaims
	GitLab *GitLabClaims
	// KeyID is the kid of the signing key; it is not part of the mint API's answer.
	KeyID string
}

// tokenJSON is the mint API's answer: {"token","ci","claims"}.
type tokenJSON struct {
	Token  string          `json:"token"`
	CI     CI              `json:"ci"`
	Claims json.RawMessage `json:"claims"`
}

// MarshalJSON writes the mint API's answer, with the claims of the token's CI.
func (t Token) MarshalJSON() ([]byte, error) {
	ci := t.CI
	if ci == "" {
		ci = CIBitbucket
	}
	var claims any = t.Claims
	switch ci {
	case CIGitHub:
		claims = t.GitHub
	case CIGitLab:
		claims = t.GitLab
	}
	c, err := json.Marshal(claims)
	if err != nil {
		return nil, err
	}
	return json.Marshal(tokenJSON{Token: t.Raw, CI: ci, Claims: c})
}

// UnmarshalJSON reads the mint API's answer; an answer without "ci" is Bitbucket's.
func (t *Token) UnmarshalJSON(b []byte) error {
	var tj tokenJSON
	if err := json.Unmarshal(b, &tj); err != nil {
		return err
	}
	ci, err := ParseCI(string(tj.CI))
	if err != nil {
		return err
	}
	*t = Token{Raw: tj.Token, CI: ci}
	if len(tj.Claims) == 0 || string(tj.Claims) == "null" {
		return nil
	}
	switch ci {
	case CIGitHub:
		t.GitHub = new(GitHubClaims)
		return json.Unmarshal(tj.Claims, t.GitHub)
	case CIGitLab:
		t.GitLab = new(GitLabClaims)
		return json.Unmarshal(tj.Claims, t.GitLab)
	}
	return json.Unmarshal(tj.Claims, &t.Claims)
}

// Subject is the token's sub claim.
func (t Token) Subject() string {
	switch {
	case t.GitHub != nil:
		return t.GitHub.Subject
	case t.GitLab != nil:
		return t.GitLab.Subject
	}
	return t.Claims.Subject
}

// JWTID is the token's jti claim.
func (t Token) JWTID() string {
	switch {
	case t.GitHub != nil:
		return t.GitHub.JWTID
	case t.GitLab != nil:
		return t.GitLab.JWTID
	}
	return t.Claims.JWTID
}

// Expiry is the token's exp claim (Unix seconds).
func (t Token) Expiry() int64 {
	switch {
	case t.GitHub != nil:
		return t.GitHub.Expiry
	case t.GitLab != nil:
		return t.GitLab.Expiry
	}
	return t.Claims.Expiry
}

// Mint validates req and signs a token shaped like its CI's: for Bitbucket it
// resolves (or registers) the names; GitHub and GitLab IDs are derived from them.
func (is *Issuer) Mint(ctx context.Context, req MintRequest) (Token, error) {
	ci, err := ParseCI(string(req.CI))
	if err != nil {
		return Token{}, err
	}
	if err := is.validateCommon(req); err != nil {
		return Token{}, err
	}
	if ci != CIBitbucket {
		return is.mintCI(ci, req)
	}
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
		if pipeline, err = is.randomUUID(); err != nil {
			return Token{}, err
		}
	}
	if step == "" {
		if step, err = is.randomUUID(); err != nil {
			return Token{}, err
		}
	}
	jti, err := is.randomUUID()
	if err != nil {
		return Token{}, err
	}
	iat, exp := is.lifetime(req)
	c := Claims{
		Issuer:         is.IssuerURL(ws.Slug),
		IssuedAt:       iat,
		Expiry:         exp,
		JWTID:          jti,
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
	raw, kid, err := is.sign(c)
	if err != nil {
		return Token{}, err
	}
	return Token{Raw: raw, CI: CIBitbucket, Claims: c, KeyID: kid}, nil
}

// mintCI mints a GitHub- or GitLab-shaped token. Their names have no registry: a
// server that registers no names on first use refuses them.
func (is *Issuer) mintCI(ci CI, req MintRequest) (Token, error) {
	n, err := validateCINames(ci, req)
	if err != nil {
		return Token{}, err
	}
	if !is.cfg.AutoRegister {
		return Token{}, &Error{Code: CodeNotFound, Field: "ci", Message: fmt.Sprintf("%s-shaped tokens name repositories this server has no registry for, and it does not register names on first use: mint them from a server with auto_register on (keyless up's default)", ciTitle(ci))}
	}
	jti, err := is.randomUUID()
	if err != nil {
		return Token{}, err
	}
	run, err := randomID(is.cfg.Rand)
	if err != nil {
		return Token{}, err
	}
	iat, exp := is.lifetime(req)
	var claims any
	tok := Token{CI: ci}
	switch ci {
	case CIGitHub:
		c := is.githubClaims(n, req.Audiences, run, jti, iat, exp)
		tok.GitHub, claims = &c, c
	case CIGitLab:
		job, err := randomID(is.cfg.Rand)
		if err != nil {
			return Token{}, err
		}
		c := is.gitlabClaims(n, req.Audiences, run, job, jti, iat, exp)
		tok.GitLab, claims = &c, c
	}
	if tok.Raw, tok.KeyID, err = is.sign(claims); err != nil {
		return Token{}, err
	}
	return tok, nil
}

// sign marshals claims and signs them with the active key.
func (is *Issuer) sign(claims any) (raw, kid string, err error) {
	payload, err := json.Marshal(claims)
	if err != nil {
		return "", "", fmt.Errorf("issuer: marshal claims: %w", err)
	}
	return is.keys.sign(payload)
}

// lifetime is a token's iat and exp: now, and now plus the requested or default TTL.
func (is *Issuer) lifetime(req MintRequest) (iat, exp int64) {
	now := is.now()
	ttl := time.Duration(req.TTL)
	if ttl == 0 {
		ttl = is.cfg.DefaultTTL
	}
	return now.Unix(), now.Add(ttl).Unix()
}

func (is *Issuer) randomUUID() (string, error) {
	u, err := uuid.NewRandomFromReader(is.cfg.Rand)
	if err != nil {
		return "", fmt.Errorf("issuer: random UUID: %w", err)
	}
	return u.String(), nil
}

// validateCommon checks what every CI's request shares: audiences and TTL.
func (is *Issuer) validateCommon(req MintRequest) error {
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
	return nil
}

// validate checks a Bitbucket request and normalizes its UUIDs.
func (is *Issuer) validate(req *MintRequest) error {
	if err := validateBitbucketOnly(*req); err != nil {
		return err
	}
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

// forgetWorkspaces drops the cached workspaces.
func (d *directory) forgetWorkspaces() {
	d.mu.Lock()
	defer d.mu.Unlock()
	for k := range d.entries {
		if strings.HasPrefix(k, "w/") {
			delete(d.entries, k)
		}
	}
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
