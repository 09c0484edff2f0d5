// Package sts is keyless's local AWS Security Token Service: the Query-protocol
// actions AssumeRoleWithWebIdentity, AssumeRole and GetCallerIdentity, served
// through the gateway with the validation order, error codes, HTTP statuses and
// messages of real STS (see shared/reference/aws-federation.md).
//
// The package is split into a wire layer (handler.go: Query decoding and
// parameter validation, params.go) and a core (webidentity.go, assumerole.go,
// identity.go) that works on typed requests and returns typed results
// (types.go), so that the core can be called in-process and tested without
// HTTP.
//
// # Hot path and caches
//
// A token exchange touches no database: providers, roles and parsed policies
// come from short-lived in-memory caches (providers.go), the session
// credentials are sealed into the session token (package session), and the
// audit event is written by the recorder's background goroutine.
//
//   - OIDC providers: the whole list, reloaded when older than
//     Config.ProviderTTL (default 5 s); an iss that matches no cached provider
//     forces a reload at most once per Config.MissRefresh (default 1 s), so a
//     provider registered a moment ago is found at once while tokens with random
//     issuers cannot make every exchange hit the store.
//   - Roles: per role name, for Config.RoleTTL (default 1 s), misses included,
//     so that a trust-policy change takes effect within a second.
//   - Parsed trust policies and session policies: keyed by the document text
//     itself, so a changed document is a new key and can never be stale; the
//     map is cleared when it exceeds 4096 entries.
//
// While the store is unavailable (store.ErrUnavailable), a cached provider list
// or role answers for up to StaleIfError (5 min) past its fetch (stale.go), so
// exchanges keep working through a store outage.
//
// Service.Invalidate drops the provider and role caches at once; IAM calls it
// (when wired in-process) after changing providers or roles.
//
// Role "last used" (IAM's RoleLastUsed) is recorded asynchronously, at most
// once a minute per role; Service.Close waits for pending writes.
//
// Nothing in this package puts a web identity token, a secret access key or a
// session token in an error, a log record or an audit event.
package sts

import (
	"context"
	"crypto/rand"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/keyless-dev/keyless/audit"
	"github.com/keyless-dev/keyless/authz"
	"github.com/keyless-dev/keyless/awsapi"
	"github.com/keyless-dev/keyless/oidc"
	"github.com/keyless-dev/keyless/session"
	"github.com/keyless-dev/keyless/store"
)

// Default cache lifetimes; see the package documentation.
const (
	DefaultProviderTTL = 5 * time.Second
	DefaultMissRefresh = time.Second
	DefaultRoleTTL     = time.Second
	// lastUsedInterval is the least time between two RoleLastUsed writes for
	// one role.
	lastUsedInterval = time.Minute
)

// Config configures a Service.
type Config struct {
	// Store holds roles, OIDC providers and managed policies. Required.
	Store store.Store
	// Verifier verifies web identity tokens. Required for
	// AssumeRoleWithWebIdentity.
	Verifier *oidc.Verifier
	// Sealer seals session credentials into session tokens. Required.
	Sealer *session.Sealer
	// Authorizer evaluates the caller's identity policies for AssumeRole.
	// Required for AssumeRole.
	Authorizer *authz.Authorizer
	// CallerAuthorizer, if set, returns the Authorizer of another local
	// account, for AssumeRole by a caller of that account on a role of this
	// one (cross-account; see AssumeRole). Without it, or for an account it
	// does not know, such callers are refused.
	CallerAuthorizer func(account string) (*authz.Authorizer, bool)
	// Audit receives one event per decision; nil records nothing.
	Audit *audit.Recorder
	// Exchanges, if set, is told of every AssumeRoleWithWebIdentity decision,
	// for metrics (exchange_metrics.go).
	Exchanges ExchangeObserver
	// Account is the local 12-digit account id.
	Account string
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Rand is the source of access key ids and secrets (default
	// crypto/rand.Reader).
	Rand io.Reader
	// Logger receives operational messages (never secrets); nil discards.
	Logger *slog.Logger
	// Region is reported as RoleLastUsed's region for unsigned calls, which
	// carry no credential scope (default us-east-1).
	Region string
	// ProviderTTL, MissRefresh and RoleTTL tune the caches (see the package
	// documentation); zero means the default.
	ProviderTTL time.Duration
	MissRefresh time.Duration
	RoleTTL     time.Duration
}

// Service is the STS gateway.QueryService. It is safe for concurrent use.
type Service struct {
	cfg   Config
	log   *slog.Logger
	cache *caches

	lastMu   sync.Mutex
	lastUsed map[string]time.Time // role name → last RoleLastUsed write
	bg       sync.WaitGroup
	closed   bool
}

// New returns a Service for cfg.
func New(cfg Config) *Service {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Rand == nil {
		cfg.Rand = rand.Reader
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Region == "" {
		cfg.Region = "us-east-1"
	}
	if cfg.ProviderTTL <= 0 {
		cfg.ProviderTTL = DefaultProviderTTL
	}
	if cfg.MissRefresh <= 0 {
		cfg.MissRefresh = DefaultMissRefresh
	}
	if cfg.RoleTTL <= 0 {
		cfg.RoleTTL = DefaultRoleTTL
	}
	s := &Service{cfg: cfg, log: cfg.Logger, lastUsed: map[string]time.Time{}}
	s.cache = newCaches(cfg.Store, cfg.Now, cfg.ProviderTTL, cfg.MissRefresh, cfg.RoleTTL)
	return s
}

// Namespace returns the XML namespace of STS replies.
func (s *Service) Namespace() string { return awsapi.NamespaceSTS }

// Unsigned reports whether action may be called without a signature:
// AssumeRoleWithWebIdentity and AssumeRoleWithSAML, as on AWS (the latter is
// answered with a not-supported error).
func (s *Service) Unsigned(action string) bool {
	return action == ActionAssumeRoleWithWebIdentity || action == ActionAssumeRoleWithSAML
}

// Invalidate drops the cached providers and roles, so that IAM changes take
// effect on the next call rather than within the cache lifetimes.
func (s *Service) Invalidate() { s.cache.invalidate() }

// Close waits for pending background writes (RoleLastUsed). Calls after Close
// no longer record RoleLastUsed.
func (s *Service) Close() {
	s.lastMu.Lock()
	s.closed = true
	s.lastMu.Unlock()
	s.bg.Wait()
}

// touchRole records RoleLastUsed for role in the background, at most once per
// lastUsedInterval per role.
func (s *Service) touchRole(roleName, region string, now time.Time) {
	if region == "" { // unsigned calls carry no credential scope
		region = s.cfg.Region
	}
	s.lastMu.Lock()
	if s.closed || now.Sub(s.lastUsed[roleName]) < lastUsedInterval {
		s.lastMu.Unlock()
		return
	}
	if len(s.lastUsed) > maxCacheEntries {
		clear(s.lastUsed)
	}
	s.lastUsed[roleName] = now
	s.bg.Add(1)
	s.lastMu.Unlock()
	go func() {
		defer s.bg.Done()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		err := s.cfg.Store.UpdateRole(ctx, roleName, func(r store.Role) (store.Role, error) {
			r.LastUsedAt, r.LastUsedRegion = now.UTC(), region
			return r, nil
		})
		if err != nil {
			s.log.Warn("sts: record role last used", "role", roleName, "err", err)
		}
	}()
}

// record sends an audit event if a recorder is configured.
func (s *Service) record(e audit.Event) {
	if s.cfg.Audit == nil {
		return
	}
	e.Service = "sts"
	s.cfg.Audit.Record(e)
}
