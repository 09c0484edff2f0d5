package sts

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/keyless-dev/keyless/oidc"
	"github.com/keyless-dev/keyless/policy"
	"github.com/keyless-dev/keyless/store"
)

// maxCacheEntries bounds every per-key cache; a full cache is cleared.
const maxCacheEntries = 4096

// caches holds the short-lived copies of store records the hot path reads.
// See the package documentation for the lifetimes.
type caches struct {
	st          store.Store
	now         func() time.Time
	providerTTL time.Duration
	missRefresh time.Duration
	roleTTL     time.Duration

	providers atomic.Pointer[providerSnapshot]
	provMu    sync.Mutex // serializes provider reloads

	roleMu sync.RWMutex
	roles  map[string]*roleEntry // lower-cased role name → entry

	polMu    sync.RWMutex
	policies map[policyKey]*parsedPolicy
}

type providerSnapshot struct {
	byURL   map[string]oidc.Provider
	fetched time.Time
}

type roleEntry struct {
	role    store.Role
	found   bool
	fetched time.Time
}

type policyKey struct {
	kind policy.Kind
	doc  string
}

// parsedPolicy is a parse outcome, errors included, so that a bad stored
// document is not re-parsed on every call.
type parsedPolicy struct {
	p   *policy.Policy
	err error
}

func newCaches(st store.Store, now func() time.Time, providerTTL, missRefresh, roleTTL time.Duration) *caches {
	return &caches{
		st: st, now: now, providerTTL: providerTTL, missRefresh: missRefresh, roleTTL: roleTTL,
		roles:    map[string]*roleEntry{},
		policies: map[policyKey]*parsedPolicy{},
	}
}

func (c *caches) invalidate() {
	c.providers.Store(nil)
	c.roleMu.Lock()
	clear(c.roles)
	c.roleMu.Unlock()
}

// lookupProvider is the oidc.ProviderLookup: url (iss minus https://) must equal
// a provider's URL exactly, trailing slash included.
func (c *caches) lookupProvider(ctx context.Context, url string) (oidc.Provider, bool, error) {
	now := c.now()
	snap := c.providers.Load()
	if snap != nil && now.Sub(snap.fetched) < c.providerTTL {
		if p, ok := snap.byURL[url]; ok {
			return p, true, nil
		}
		if now.Sub(snap.fetched) < c.missRefresh {
			return oidc.Provider{}, false, nil
		}
	}
	fresh, err := c.reloadProviders(ctx, snap)
	if err != nil {
		if snap == nil || !c.staleOK(err, snap.fetched) { // stale.go
			return oidc.Provider{}, false, err
		}
		fresh = snap
	}
	p, ok := fresh.byURL[url]
	return p, ok, nil
}

// reloadProviders reads the provider list unless another caller replaced seen
// while this one waited for the lock.
func (c *caches) reloadProviders(ctx context.Context, seen *providerSnapshot) (*providerSnapshot, error) {
	c.provMu.Lock()
	defer c.provMu.Unlock()
	if cur := c.providers.Load(); cur != nil && cur != seen {
		return cur, nil
	}
	list, err := c.st.ListOIDCProviders(ctx)
	if err != nil {
		return nil, fmt.Errorf("sts: list OIDC providers: %w", err)
	}
	snap := &providerSnapshot{byURL: make(map[string]oidc.Provider, len(list)), fetched: c.now()}
	for _, p := range list {
		snap.byURL[p.URL] = oidc.Provider{ARN: p.ARN, URL: p.URL, ClientIDs: p.ClientIDs, Thumbprints: p.Thumbprints}
	}
	c.providers.Store(snap)
	return snap, nil
}

// role returns the role named name (case-insensitively, as IAM) and whether it
// exists, from the cache when fresh.
func (c *caches) role(ctx context.Context, name string) (store.Role, bool, error) {
	key := strings.ToLower(name)
	now := c.now()
	c.roleMu.RLock()
	e := c.roles[key]
	c.roleMu.RUnlock()
	if e != nil && now.Sub(e.fetched) < c.roleTTL {
		return e.role, e.found, nil
	}
	r, err := c.st.GetRole(ctx, name)
	found := err == nil
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		if e != nil && c.staleOK(err, e.fetched) { // stale.go
			return e.role, e.found, nil
		}
		return store.Role{}, false, fmt.Errorf("sts: get role %s: %w", name, err)
	}
	c.roleMu.Lock()
	if len(c.roles) >= maxCacheEntries {
		clear(c.roles)
	}
	c.roles[key] = &roleEntry{role: r, found: found, fetched: now}
	c.roleMu.Unlock()
	return r, found, nil
}

// policy parses doc as kind once; the result (error included) is cached by
// document text. Stored trust policies were validated by IAM, so no size
// limit is applied to them here; session policies are limited by the request
// validation before they get here.
func (c *caches) policy(doc string, kind policy.Kind) (*policy.Policy, error) {
	k := policyKey{kind, doc}
	c.polMu.RLock()
	pp := c.policies[k]
	c.polMu.RUnlock()
	if pp != nil {
		return pp.p, pp.err
	}
	p, err := policy.Parse([]byte(doc), kind, policy.WithMaxSize(0))
	c.polMu.Lock()
	if len(c.policies) >= maxCacheEntries {
		clear(c.policies)
	}
	c.policies[k] = &parsedPolicy{p: p, err: err}
	c.polMu.Unlock()
	return p, err
}
