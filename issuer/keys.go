package issuer

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/keyless-dev/keyless/keywrap"
	"github.com/keyless-dev/keyless/store"
)

// KeyConfig is the signing-key policy.
type KeyConfig struct {
	// Algorithm of new keys: RS256 (default, what Bitbucket and AWS use) or ES256.
	Algorithm string
	// LeadTime is how long a prepared key is published before it may sign (default 1h).
	LeadTime time.Duration
	// RotationPeriod is how long a key signs before the schedule replaces it
	// (default 30 days; negative disables scheduled rotation).
	RotationPeriod time.Duration
	// MaxTokenTTL is the longest token lifetime the issuer grants; a retired key stays
	// published for this long plus RetireSkew after its last signature.
	MaxTokenTTL time.Duration
	// MaxPublished caps the JWKS size (default and maximum 10).
	MaxPublished int
}

// RetireSkew is the clock skew relying parties allow on exp (AWS allows 5 minutes);
// retired keys stay published this much longer than their last token's lifetime.
const RetireSkew = 5 * time.Minute

func (c KeyConfig) withDefaults() KeyConfig {
	if c.Algorithm == "" {
		c.Algorithm = "RS256"
	}
	if c.LeadTime == 0 {
		c.LeadTime = time.Hour
	}
	if c.RotationPeriod == 0 {
		c.RotationPeriod = 30 * 24 * time.Hour
	}
	if c.MaxTokenTTL == 0 {
		c.MaxTokenTTL = 12 * time.Hour
	}
	if c.MaxPublished <= 0 || c.MaxPublished > 10 {
		c.MaxPublished = 10
	}
	return c
}

// KeyInfo is the public view of a signing key, as `keys list` prints it.
type KeyInfo struct {
	ID          string         `json:"id"`
	Algorithm   string         `json:"alg"`
	State       store.KeyState `json:"state"`
	CreatedAt   time.Time      `json:"created"`
	ActivatedAt *time.Time     `json:"activated,omitempty"`
	RetiredAt   *time.Time     `json:"retired,omitempty"`
	NotAfter    *time.Time     `json:"unpublishAfter,omitempty"`
}

// KeySet owns the issuer's signing keys: their lifecycle in the store and an immutable
// in-memory snapshot (signer and JWKS) that serving reads without locks.
type KeySet struct {
	st   store.Store
	box  *keywrap.Box
	now  func() time.Time
	cfg  KeyConfig
	log  *slog.Logger
	mu   sync.Mutex // serialises lifecycle changes from this process
	snap atomic.Pointer[keySnapshot]
	// holder names this KeySet in the schedule lease (see Tick).
	holder string
}

// keySnapshot is what serving needs, built by reload.
type keySnapshot struct {
	signer  jose.Signer
	kid     string
	alg     string
	jwks    []byte
	algs    []string // algorithms published, for discovery
	entries []store.SigningKey
}

// NewKeySet returns a KeySet over st. Call Tick (or Reload) before serving.
func NewKeySet(st store.Store, box *keywrap.Box, cfg KeyConfig, now func() time.Time, log *slog.Logger) (*KeySet, error) {
	cfg = cfg.withDefaults()
	if cfg.Algorithm != "RS256" && cfg.Algorithm != "ES256" {
		return nil, fmt.Errorf("issuer: unsupported signing algorithm %q: use RS256 or ES256", cfg.Algorithm)
	}
	if now == nil {
		now = time.Now
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	var id [8]byte
	if _, err := rand.Read(id[:]); err != nil {
		return nil, fmt.Errorf("issuer: key set id: %w", err)
	}
	ks := &KeySet{st: st, box: box, now: now, cfg: cfg, log: log, holder: base64.RawURLEncoding.EncodeToString(id[:])}
	ks.snap.Store(&keySnapshot{jwks: []byte(`{"keys":[]}`)})
	return ks, nil
}

// Config returns the effective key policy.
func (ks *KeySet) Config() KeyConfig { return ks.cfg }

// JWKS returns the published key set as JSON.
func (ks *KeySet) JWKS() []byte { return ks.snap.Load().jwks }

// SigningKeyID returns the kid of the key that signs new tokens ("" when none does).
func (ks *KeySet) SigningKeyID() string { return ks.snap.Load().kid }

// Algorithms returns the algorithms of the published keys.
func (ks *KeySet) Algorithms() []string { return ks.snap.Load().algs }

// List returns every key in the store, oldest first.
func (ks *KeySet) List(ctx context.Context) ([]KeyInfo, error) {
	keys, err := ks.st.ListSigningKeys(ctx)
	if err != nil {
		return nil, fmt.Errorf("issuer: list signing keys: %w", err)
	}
	sortKeys(keys)
	out := make([]KeyInfo, 0, len(keys))
	for _, k := range keys {
		out = append(out, keyInfo(k))
	}
	return out, nil
}

func keyInfo(k store.SigningKey) KeyInfo {
	ki := KeyInfo{ID: k.ID, Algorithm: k.Algorithm, State: k.State, CreatedAt: k.CreatedAt.UTC()}
	opt := func(t time.Time) *time.Time {
		if t.IsZero() {
			return nil
		}
		u := t.UTC()
		return &u
	}
	ki.ActivatedAt, ki.RetiredAt, ki.NotAfter = opt(k.ActivatedAt), opt(k.RetiredAt), opt(k.NotAfter)
	return ki
}

func sortKeys(keys []store.SigningKey) {
	sort.SliceStable(keys, func(i, j int) bool {
		if !keys[i].CreatedAt.Equal(keys[j].CreatedAt) {
			return keys[i].CreatedAt.Before(keys[j].CreatedAt)
		}
		return keys[i].ID < keys[j].ID
	})
}

// Prepare creates a new key and publishes it without letting it sign. alg "" means the
// configured algorithm.
func (ks *KeySet) Prepare(ctx context.Context, alg string) (KeyInfo, error) {
	ks.mu.Lock()
	defer ks.mu.Unlock()
	k, err := ks.prepare(ctx, alg)
	if err != nil {
		return KeyInfo{}, err
	}
	return keyInfo(k), ks.reload(ctx)
}

func (ks *KeySet) prepare(ctx context.Context, alg string) (store.SigningKey, error) {
	if alg == "" {
		alg = ks.cfg.Algorithm
	}
	keys, err := ks.st.ListSigningKeys(ctx)
	if err != nil {
		return store.SigningKey{}, fmt.Errorf("issuer: prepare key: %w", err)
	}
	if len(keys) >= ks.cfg.MaxPublished {
		return store.SigningKey{}, fmt.Errorf("issuer: prepare key: the JWKS already publishes %d keys (the limit is %d); retire unused prepared keys or wait for retired keys to expire", len(keys), ks.cfg.MaxPublished)
	}
	priv, err := generateKey(alg)
	if err != nil {
		return store.SigningKey{}, err
	}
	kid, pubJWK, err := publicJWK(priv, alg)
	if err != nil {
		return store.SigningKey{}, err
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return store.SigningKey{}, fmt.Errorf("issuer: marshal private key: %w", err)
	}
	sealed, err := ks.box.Seal(sealLabel(kid), der)
	if err != nil {
		return store.SigningKey{}, fmt.Errorf("issuer: seal private key: %w", err)
	}
	k := store.SigningKey{ID: kid, Algorithm: alg, State: store.KeyPrepared, PrivateKey: sealed, PublicJWK: pubJWK, CreatedAt: ks.now().UTC()}
	if err := ks.st.CreateSigningKey(ctx, k); err != nil {
		return store.SigningKey{}, fmt.Errorf("issuer: store prepared key: %w", err)
	}
	ks.log.Info("signing key prepared", "kid", kid, "alg", alg)
	return k, nil
}

// ErrLeadTime is returned (wrapped) by Activate when the key has not been published
// for the lead time yet.
var ErrLeadTime = errors.New("lead time has not passed")

// Activate makes a prepared key the signing key and retires the one it replaces. id ""
// picks the oldest prepared key. Before the key has been published for the lead time it
// refuses unless force is set, because relying parties may not have fetched it yet.
func (ks *KeySet) Activate(ctx context.Context, id string, force bool) (KeyInfo, error) {
	ks.mu.Lock()
	defer ks.mu.Unlock()
	k, err := ks.activate(ctx, id, force)
	if err != nil {
		return KeyInfo{}, err
	}
	return keyInfo(k), ks.reload(ctx)
}

func (ks *KeySet) activate(ctx context.Context, id string, force bool) (store.SigningKey, error) {
	keys, err := ks.st.ListSigningKeys(ctx)
	if err != nil {
		return store.SigningKey{}, fmt.Errorf("issuer: activate key: %w", err)
	}
	sortKeys(keys)
	var target *store.SigningKey
	for i := range keys {
		if (id == "" && keys[i].State == store.KeyPrepared) || (id != "" && keys[i].ID == id) {
			target = &keys[i]
			break
		}
	}
	switch {
	case target == nil && id == "":
		return store.SigningKey{}, fmt.Errorf("issuer: activate key: no prepared key; run `keyless keys prepare` first")
	case target == nil:
		return store.SigningKey{}, fmt.Errorf("issuer: activate key: no key with id %q; `keyless keys list` shows the keys", id)
	case target.State != store.KeyPrepared:
		return store.SigningKey{}, fmt.Errorf("issuer: activate key %s: it is %s; only a prepared key can be activated", target.ID, target.State)
	}
	now := ks.now().UTC()
	if ready := target.CreatedAt.Add(ks.cfg.LeadTime); now.Before(ready) && !force {
		return store.SigningKey{}, fmt.Errorf("issuer: activate key %s: %w: it has been published since %s and may sign from %s (in %s); relying parties may not have fetched it yet, so activating now can break verification (use --force to accept that)",
			target.ID, ErrLeadTime, target.CreatedAt.Format(time.RFC3339), ready.Format(time.RFC3339), ready.Sub(now).Round(time.Second))
	}
	var activated store.SigningKey
	// Activate first, then retire the rest: a crash in between leaves two active keys,
	// which reload resolves (the newest signs) and the next Tick retires.
	err = ks.st.UpdateSigningKey(ctx, target.ID, func(k store.SigningKey) (store.SigningKey, error) {
		if k.State != store.KeyPrepared {
			return k, fmt.Errorf("key %s is %s, not prepared", k.ID, k.State)
		}
		k.State, k.ActivatedAt = store.KeyActive, now
		activated = k
		return k, nil
	})
	if err != nil {
		return store.SigningKey{}, fmt.Errorf("issuer: activate key %s: %w", target.ID, err)
	}
	for _, k := range keys {
		if k.State == store.KeyActive && k.ID != target.ID {
			if err := ks.retireOne(ctx, k.ID, now); err != nil {
				return store.SigningKey{}, err
			}
		}
	}
	ks.log.Info("signing key activated", "kid", activated.ID, "alg", activated.Algorithm, "forced", force && now.Before(target.CreatedAt.Add(ks.cfg.LeadTime)))
	return activated, nil
}

// Retire stops publishing a key once every token it signed has expired. The active key
// cannot be retired directly: activate its successor instead.
func (ks *KeySet) Retire(ctx context.Context, id string) (KeyInfo, error) {
	ks.mu.Lock()
	defer ks.mu.Unlock()
	k, err := ks.st.GetSigningKey(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return KeyInfo{}, fmt.Errorf("issuer: retire key: no key with id %q; `keyless keys list` shows the keys", id)
	}
	if err != nil {
		return KeyInfo{}, fmt.Errorf("issuer: retire key %s: %w", id, err)
	}
	switch k.State {
	case store.KeyActive:
		return KeyInfo{}, fmt.Errorf("issuer: retire key %s: it is the active signing key; prepare and activate a successor (`keyless keys prepare`, then `keyless keys activate`), which retires it", id)
	case store.KeyRetired:
		return keyInfo(k), nil
	}
	if err := ks.retireOne(ctx, id, ks.now().UTC()); err != nil {
		return KeyInfo{}, err
	}
	k, err = ks.st.GetSigningKey(ctx, id)
	if err != nil {
		return KeyInfo{}, fmt.Errorf("issuer: retire key %s: %w", id, err)
	}
	return keyInfo(k), ks.reload(ctx)
}

// retireOne marks a key retired at now. A key that signed stays published until its
// last possible token has expired; a prepared key that never signed may go at once.
func (ks *KeySet) retireOne(ctx context.Context, id string, now time.Time) error {
	err := ks.st.UpdateSigningKey(ctx, id, func(k store.SigningKey) (store.SigningKey, error) {
		if k.State == store.KeyRetired {
			return k, nil
		}
		k.NotAfter = now
		if !k.ActivatedAt.IsZero() {
			k.NotAfter = now.Add(ks.cfg.MaxTokenTTL + RetireSkew)
		}
		k.State, k.RetiredAt = store.KeyRetired, now
		return k, nil
	})
	if err != nil {
		return fmt.Errorf("issuer: retire key %s: %w", id, err)
	}
	ks.log.Info("signing key retired", "kid", id)
	return nil
}

// Tick runs the rotation schedule once and reloads the snapshot: it makes sure a key
// is active, prepares a successor a lead time before rotation is due, activates it when
// due, resolves duplicate active keys, and deletes retired keys past their NotAfter.
//
// Replicas sharing a store take turns through a lease kept in the store: only the
// holder of an unexpired lease runs the schedule (every replica reloads), so two
// replicas never prepare or activate keys at the same time.
func (ks *KeySet) Tick(ctx context.Context) error {
	ks.mu.Lock()
	defer ks.mu.Unlock()
	lead, err := ks.lease(ctx)
	if err != nil {
		return err
	}
	if lead {
		if err := ks.schedule(ctx); err != nil {
			return err
		}
	}
	return ks.reload(ctx)
}

// scheduleLease is the store setting holding the key schedule's lease, and leaseTTL
// how long a lease lasts unless renewed (Ticks run every few seconds).
const (
	scheduleLease = "key-schedule-lease"
	leaseTTL      = 30 * time.Second
)

type lease struct {
	Holder  string    `json:"holder"`
	Expires time.Time `json:"expires"`
}

var errLeaseHeld = errors.New("key schedule lease held by another replica")

// lease takes or renews the schedule lease; false means another replica holds it.
func (ks *KeySet) lease(ctx context.Context) (bool, error) {
	now := ks.now().UTC()
	mine, _ := json.Marshal(lease{Holder: ks.holder, Expires: now.Add(leaseTTL)})
	err := ks.st.UpdateSetting(ctx, scheduleLease, func(cur []byte) ([]byte, error) {
		var l lease
		if json.Unmarshal(cur, &l) == nil && l.Holder != ks.holder && now.Before(l.Expires) {
			return nil, errLeaseHeld
		}
		return mine, nil
	})
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, errLeaseHeld):
		return false, nil
	case errors.Is(err, store.ErrNotFound):
		if err := ks.st.CreateSetting(ctx, scheduleLease, mine); err != nil {
			if errors.Is(err, store.ErrAlreadyExists) {
				return ks.lease(ctx) // another replica created it first
			}
			return false, fmt.Errorf("issuer: key schedule lease: %w", err)
		}
		return true, nil
	}
	return false, fmt.Errorf("issuer: key schedule lease: %w", err)
}

func (ks *KeySet) schedule(ctx context.Context) error {
	keys, err := ks.st.ListSigningKeys(ctx)
	if err != nil {
		return fmt.Errorf("issuer: key schedule: %w", err)
	}
	sortKeys(keys)
	now := ks.now().UTC()
	var active []store.SigningKey
	var prepared *store.SigningKey
	for i, k := range keys {
		switch k.State {
		case store.KeyActive:
			active = append(active, k)
		case store.KeyPrepared:
			if prepared == nil {
				prepared = &keys[i]
			}
		case store.KeyRetired:
			if !k.NotAfter.After(now) {
				if err := ks.st.DeleteSigningKey(ctx, k.ID); err != nil && !errors.Is(err, store.ErrNotFound) {
					return fmt.Errorf("issuer: delete expired key %s: %w", k.ID, err)
				}
				ks.log.Info("retired signing key unpublished", "kid", k.ID)
			}
		}
	}
	if len(active) > 1 { // keep the newest activation signing
		sort.Slice(active, func(i, j int) bool { return active[i].ActivatedAt.After(active[j].ActivatedAt) })
		for _, k := range active[1:] {
			if err := ks.retireOne(ctx, k.ID, now); err != nil {
				return err
			}
		}
		active = active[:1]
	}
	if len(active) == 0 {
		// Nothing signs yet, so no relying party can hold a stale key set: a first key
		// (or an existing prepared one) may sign at once.
		if prepared == nil {
			k, err := ks.prepare(ctx, "")
			if err != nil {
				return err
			}
			prepared = &k
		}
		_, err := ks.activate(ctx, prepared.ID, true)
		return err
	}
	if ks.cfg.RotationPeriod < 0 {
		return nil
	}
	age := now.Sub(active[0].ActivatedAt)
	if prepared == nil && age >= ks.cfg.RotationPeriod-ks.cfg.LeadTime {
		k, err := ks.prepare(ctx, "")
		if err != nil {
			return err
		}
		prepared = &k
	}
	if prepared != nil && age >= ks.cfg.RotationPeriod && !now.Before(prepared.CreatedAt.Add(ks.cfg.LeadTime)) {
		if _, err := ks.activate(ctx, prepared.ID, false); err != nil {
			return err
		}
	}
	return nil
}

// Reload rebuilds the in-memory snapshot from the store (other processes, such as the
// `keyless keys` commands or other replicas, may have changed it).
func (ks *KeySet) Reload(ctx context.Context) error {
	ks.mu.Lock()
	defer ks.mu.Unlock()
	return ks.reload(ctx)
}

func (ks *KeySet) reload(ctx context.Context) error {
	keys, err := ks.st.ListSigningKeys(ctx)
	if err != nil {
		return fmt.Errorf("issuer: reload keys: %w", err)
	}
	sortKeys(keys)
	now := ks.now()
	old := ks.snap.Load()
	snap := &keySnapshot{}
	var set struct {
		Keys []json.RawMessage `json:"keys"`
	}
	set.Keys = []json.RawMessage{}
	algSeen := map[string]bool{}
	var signing *store.SigningKey
	for i, k := range keys {
		if k.State == store.KeyRetired && !k.NotAfter.After(now) {
			continue // past its last token's expiry: no longer published
		}
		set.Keys = append(set.Keys, json.RawMessage(k.PublicJWK))
		if !algSeen[k.Algorithm] {
			algSeen[k.Algorithm] = true
			snap.algs = append(snap.algs, k.Algorithm)
		}
		snap.entries = append(snap.entries, k)
		if k.State == store.KeyActive && (signing == nil || k.ActivatedAt.After(signing.ActivatedAt)) {
			signing = &keys[i]
		}
	}
	if snap.jwks, err = json.Marshal(set); err != nil {
		return fmt.Errorf("issuer: marshal JWKS: %w", err)
	}
	if signing != nil {
		if old != nil && old.kid == signing.ID {
			snap.signer, snap.kid, snap.alg = old.signer, old.kid, old.alg
		} else if snap.signer, err = ks.newSigner(*signing); err != nil {
			return err
		} else {
			snap.kid, snap.alg = signing.ID, signing.Algorithm
		}
	}
	ks.snap.Store(snap)
	return nil
}

func (ks *KeySet) newSigner(k store.SigningKey) (jose.Signer, error) {
	der, err := ks.box.Open(sealLabel(k.ID), k.PrivateKey)
	if err != nil {
		return nil, fmt.Errorf("issuer: open private key %s: %w", k.ID, err)
	}
	priv, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return nil, fmt.Errorf("issuer: parse private key %s: %w", k.ID, err)
	}
	opts := (&jose.SignerOptions{}).WithType("JWT").WithHeader(jose.HeaderKey("kid"), k.ID)
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.SignatureAlgorithm(k.Algorithm), Key: priv}, opts)
	if err != nil {
		return nil, fmt.Errorf("issuer: signer for key %s: %w", k.ID, err)
	}
	return signer, nil
}

// sign signs payload with the active key and returns the compact JWS and its kid.
func (ks *KeySet) sign(payload []byte) (string, string, error) {
	snap := ks.snap.Load()
	if snap.signer == nil {
		return "", "", &Error{Code: CodeUnavailable, Message: "no active signing key: run `keyless keys prepare` and `keyless keys activate`"}
	}
	jws, err := snap.signer.Sign(payload)
	if err != nil {
		return "", "", fmt.Errorf("issuer: sign token: %w", err)
	}
	compact, err := jws.CompactSerialize()
	if err != nil {
		return "", "", fmt.Errorf("issuer: serialize token: %w", err)
	}
	return compact, snap.kid, nil
}

func sealLabel(kid string) string { return "signing-key/" + kid }

func generateKey(alg string) (crypto.Signer, error) {
	switch alg {
	case "RS256":
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			return nil, fmt.Errorf("issuer: generate RSA key: %w", err)
		}
		return k, nil
	case "ES256":
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return nil, fmt.Errorf("issuer: generate EC key: %w", err)
		}
		return k, nil
	}
	return nil, fmt.Errorf("issuer: unsupported signing algorithm %q: use RS256 or ES256", alg)
}

// publicJWK returns the RFC 7638 thumbprint (the kid) and the public JWK JSON.
func publicJWK(priv crypto.Signer, alg string) (string, []byte, error) {
	jwk := jose.JSONWebKey{Key: priv.Public(), Algorithm: alg, Use: "sig"}
	tp, err := jwk.Thumbprint(crypto.SHA256)
	if err != nil {
		return "", nil, fmt.Errorf("issuer: key thumbprint: %w", err)
	}
	jwk.KeyID = base64.RawURLEncoding.EncodeToString(tp)
	data, err := jwk.MarshalJSON()
	if err != nil {
		return "", nil, fmt.Errorf("issuer: marshal JWK: %w", err)
	}
	return jwk.KeyID, data, nil
}
