package issuer

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base32"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/keyless-dev/keyless/store"
)

// runnerPrefix starts every runner credential, so that secret scanners can find them.
const runnerPrefix = "klr_"

var lowerBase32 = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// Runners authenticates the CI runners that call the mint API. A runner credential is
// "klr_<id>_<secret>"; the store keeps only a SHA-256 of the secret.
type Runners struct {
	st    store.Store
	now   func() time.Time
	mu    sync.RWMutex
	cache map[string]store.Runner
}

// NewRunners returns the runner authenticator over st.
func NewRunners(st store.Store, now func() time.Time) *Runners {
	if now == nil {
		now = time.Now
	}
	return &Runners{st: st, now: now, cache: map[string]store.Runner{}}
}

// Create registers a runner and returns its credential, which is shown only this once.
// An empty workspaces list allows every workspace.
func (r *Runners) Create(ctx context.Context, name string, workspaces []string) (string, store.Runner, error) {
	buf := make([]byte, 8+20)
	if _, err := rand.Read(buf); err != nil {
		return "", store.Runner{}, fmt.Errorf("issuer: runner credential: %w", err)
	}
	id, secret := lowerBase32.EncodeToString(buf[:8]), lowerBase32.EncodeToString(buf[8:])
	sum := sha256.Sum256([]byte(secret))
	run := store.Runner{ID: id, Name: name, SecretHash: sum[:], Workspaces: workspaces, CreatedAt: r.now().UTC()}
	if err := r.st.CreateRunner(ctx, run); err != nil {
		return "", store.Runner{}, fmt.Errorf("issuer: create runner %q: %w", name, err)
	}
	return runnerPrefix + id + "_" + secret, run, nil
}

// Authenticate checks a runner credential and returns the runner.
func (r *Runners) Authenticate(ctx context.Context, credential string) (store.Runner, error) {
	unauthorized := &Error{Code: CodeUnauthorized, Message: "missing or invalid runner credential: send Authorization: Bearer <KEYLESS_RUNNER_TOKEN>"}
	rest, ok := strings.CutPrefix(credential, runnerPrefix)
	if !ok {
		return store.Runner{}, unauthorized
	}
	id, secret, ok := strings.Cut(rest, "_")
	if !ok || id == "" || secret == "" {
		return store.Runner{}, unauthorized
	}
	r.mu.RLock()
	run, cached := r.cache[id]
	r.mu.RUnlock()
	if !cached {
		var err error
		run, err = r.st.GetRunner(ctx, id)
		if errors.Is(err, store.ErrNotFound) {
			return store.Runner{}, unauthorized
		}
		if err != nil {
			return store.Runner{}, fmt.Errorf("issuer: look up runner: %w", err)
		}
		r.mu.Lock()
		r.cache[id] = run
		r.mu.Unlock()
	}
	sum := sha256.Sum256([]byte(secret))
	if subtle.ConstantTimeCompare(sum[:], run.SecretHash) != 1 {
		return store.Runner{}, unauthorized
	}
	return run, nil
}

// Forget drops a runner from the cache (after it was deleted from the store).
func (r *Runners) Forget(id string) {
	r.mu.Lock()
	delete(r.cache, id)
	r.mu.Unlock()
}

// allows reports whether the runner may mint for workspace. For GitHub and GitLab the
// workspace is the owner or group path: the runner's workspaces name owners and
// top-level groups, compared case-insensitively as those CIs compare names.
func allows(run store.Runner, ci CI, workspace string) bool {
	if len(run.Workspaces) == 0 {
		return true
	}
	if c, err := ParseCI(string(ci)); err != nil || c == CIBitbucket {
		return slices.Contains(run.Workspaces, workspace)
	}
	top, _, _ := strings.Cut(workspace, "/")
	return slices.ContainsFunc(run.Workspaces, func(w string) bool { return strings.EqualFold(w, top) })
}
