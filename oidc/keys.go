package oidc

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// Key size limits for published keys. Smaller RSA keys are too weak; larger
// ones would let an IdP make every verification expensive.
const (
	minRSABits = 2048
	maxRSABits = 8192
)

// publicKey is one parsed, usable JWKS entry.
type publicKey struct {
	kid string
	alg string // the JWK's own alg, "" if absent
	key any    // *rsa.PublicKey or *ecdsa.PublicKey
}

// keySet is an issuer's JWKS as fetched at one time. It is immutable.
type keySet struct {
	keys        map[string][]publicKey
	jwksURI     string
	fetchedAt   time.Time
	expires     time.Time
	trustedBy   string            // "ca" or "thumbprint" (of the JWKS host)
	thumbprints map[string]string // host → thumbprint of the top certificate it sent
	skipped     []string          // why entries were ignored
}

// state is the cache state of one entry. It is immutable; entries swap it
// atomically so the hot path takes no lock.
type state struct {
	set         *keySet // last good key set, nil if none yet
	lastAttempt time.Time
	err         *Error // set if the last attempt failed
}

// entry caches keys for one issuer under one trust configuration.
type entry struct {
	key    string
	issuer string
	// source supplies the keys in-process (Config.KeySources); nil fetches.
	source KeySource
	// base is the issuer URL discovery is fetched under: issuer, or its
	// alias (Config.Aliases).
	base   string
	trust  *trust
	client *http.Client
	urlErr error // the issuer is not a fetchable https URL
	st     atomic.Pointer[state]
}

func cacheKey(iss string, thumbs []string) string {
	switch len(thumbs) {
	case 0:
		return iss
	case 1:
		return iss + "\x00" + strings.ToLower(thumbs[0])
	}
	return iss + "\x00" + strings.Join(normalizeThumbprints(thumbs), ",")
}

func (v *Verifier) entry(iss string, p Provider) *entry {
	k := cacheKey(iss, p.Thumbprints)
	v.mu.RLock()
	e := v.entries[k]
	v.mu.RUnlock()
	if e != nil {
		return e
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	if e := v.entries[k]; e != nil {
		return e
	}
	if len(v.entries) >= maxEntries {
		v.evictLocked()
	}
	e = v.newEntry(k, iss, p.Thumbprints)
	v.entries[k] = e
	return e
}

// evictLocked drops entries without a live key set, or, failing that, one
// arbitrary entry.
func (v *Verifier) evictLocked() {
	now := v.now()
	for k, e := range v.entries {
		if st := e.st.Load(); st == nil || st.set == nil || !now.Before(st.set.expires) {
			e.client.CloseIdleConnections()
			delete(v.entries, k)
		}
	}
	for k, e := range v.entries {
		if len(v.entries) < maxEntries {
			break
		}
		e.client.CloseIdleConnections()
		delete(v.entries, k)
	}
}

func (v *Verifier) newEntry(key, iss string, thumbs []string) *entry {
	t := &trust{roots: v.roots, thumbprints: normalizeThumbprints(thumbs), now: v.now}
	tr := &http.Transport{
		Proxy:          nil,
		DialTLSContext: t.dialer(v.dial),
		DialContext: func(context.Context, string, string) (net.Conn, error) {
			return nil, errors.New("plain-text HTTP is refused: discovery and JWKS must use https")
		},
		MaxIdleConnsPerHost:   2,
		IdleConnTimeout:       90 * time.Second,
		ResponseHeaderTimeout: v.fetchTimeout,
	}
	_, urlErr := issuerURL(iss)
	base := iss
	if a, ok := v.aliases[iss]; ok {
		base = a
	}
	return &entry{
		key:    key,
		urlErr: urlErr,
		issuer: iss,
		source: v.sources[iss],
		base:   base,
		trust:  t,
		client: &http.Client{
			Transport: tr,
			CheckRedirect: func(*http.Request, []*http.Request) error {
				return errors.New("redirects are not followed")
			},
		},
	}
}

func allowedAlg(alg string) bool {
	switch alg {
	case "RS256", "RS384", "RS512", "ES256", "ES384", "ES512":
		return true
	}
	return false
}

// fits reports whether key can verify alg.
func fits(alg string, k any) bool {
	switch k := k.(type) {
	case *rsa.PublicKey:
		return alg == "RS256" || alg == "RS384" || alg == "RS512"
	case *ecdsa.PublicKey:
		switch alg {
		case "ES256":
			return k.Curve == elliptic.P256()
		case "ES384":
			return k.Curve == elliptic.P384()
		case "ES512":
			return k.Curve == elliptic.P521()
		}
	}
	return false
}

// key returns the published key that must have signed u, fetching or
// refreshing the JWKS as needed. A non-nil error is the caller's ctx ending.
func (v *Verifier) key(ctx context.Context, u *unverified, p Provider) (publicKey, *Error, error) {
	ent := v.entry(u.iss, p)
	if ent.urlErr != nil {
		return publicKey{}, keyRetrieval("issuer URL unusable: " + ent.urlErr.Error()), nil
	}
	st := ent.st.Load()
	now := v.now()
	if v.observer != nil {
		hit := st != nil && st.set != nil && now.Before(st.set.expires) && len(st.set.keys[u.hdr.Kid]) > 0
		v.observer.KeyCacheLookup(ent.issuer, hit)
	}
	if st == nil || st.set == nil || !now.Before(st.set.expires) {
		if st != nil && st.err != nil && now.Sub(st.lastAttempt) < v.negativeTTL {
			return publicKey{}, st.err.clone("(cached failure) "), nil
		}
		var err error
		if st, err = v.refresh(ctx, ent, st); err != nil {
			return publicKey{}, nil, err
		}
		if st.set == nil || !now.Before(st.set.expires) {
			if st.err != nil {
				return publicKey{}, st.err.clone(""), nil
			}
			return publicKey{}, keyRetrieval("no key set available"), nil
		}
	}
	alg, kid := u.hdr.Alg, u.hdr.Kid
	if !allowedAlg(alg) {
		return publicKey{}, invalid(ReasonAlgorithm, MessageInvalidToken,
			fmt.Sprintf("alg %q refused: only RS256, RS384, RS512, ES256, ES384, ES512 are accepted", alg)), nil
	}
	if kid == "" {
		return publicKey{}, keyRetrieval("token header has no kid; a published key with a matching kid is required"), nil
	}
	cands := st.set.keys[kid]
	if len(cands) == 0 {
		refreshed := false
		if now.Sub(st.lastAttempt) >= v.minRefresh {
			var err error
			if st, err = v.refresh(ctx, ent, st); err != nil {
				return publicKey{}, nil, err
			}
			refreshed = true
			if st.set != nil {
				cands = st.set.keys[kid]
			}
		}
		if len(cands) == 0 {
			if refreshed && st.err != nil {
				return publicKey{}, st.err.clone(""), nil
			}
			uri := ""
			if st.set != nil {
				uri = st.set.jwksURI
			}
			detail := fmt.Sprintf("no key with kid %q in the JWKS %s", kid, uri)
			if !refreshed {
				detail += fmt.Sprintf(" (not refreshed: last fetch less than %s ago)", v.minRefresh)
			}
			return publicKey{}, keyRetrieval(detail), nil
		}
	}
	for _, c := range cands {
		if (c.alg == "" || c.alg == alg) && fits(alg, c.key) {
			return c, nil, nil
		}
	}
	return publicKey{}, invalid(ReasonAlgorithm, MessageInvalidToken,
		fmt.Sprintf("key %q (%s, alg %q) cannot verify alg %s", kid, keyType(cands[0].key), cands[0].alg, alg)), nil
}

func keyRetrieval(detail string) *Error {
	return invalid(ReasonKeyRetrieval, MessageKeyRetrieval, detail)
}

func (e *Error) clone(prefix string) *Error {
	c := *e
	c.Detail = prefix + c.Detail
	return &c
}

// refresh fetches the JWKS once for all concurrent callers. seen is the state
// the caller based its decision on: if another fetch replaced it meanwhile,
// that result is used instead of fetching again.
func (v *Verifier) refresh(ctx context.Context, ent *entry, seen *state) (*state, error) {
	ch := v.flight.DoChan(ent.key, func() (any, error) {
		cur := ent.st.Load()
		if cur != seen {
			return cur, nil
		}
		// Not tied to the first caller's cancellation: others may be waiting.
		fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), v.fetchTimeout)
		defer cancel()
		set, e := v.fetch(fctx, ent)
		if v.observer != nil {
			v.observer.KeysFetched(ent.issuer, e != nil)
		}
		ns := &state{lastAttempt: v.now(), set: set, err: e}
		if e != nil && cur != nil {
			ns.set = cur.set // keep serving keys that are still fresh
		}
		ent.st.Store(ns)
		return ns, nil
	})
	select {
	case r := <-ch:
		return r.Val.(*state), nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// fetch reads discovery then the JWKS. ctx carries the fetch timeout.
func (v *Verifier) fetch(ctx context.Context, ent *entry) (*keySet, *Error) {
	start := time.Now()
	set, e := v.fetchKeySet(ctx, ent)
	if e != nil {
		v.log.LogAttrs(ctx, slog.LevelWarn, "oidc: key fetch failed",
			slog.String("issuer", ent.issuer), slog.String("reason", e.Reason.String()), slog.String("detail", e.Detail),
			slog.Duration("took", time.Since(start)))
		return nil, e
	}
	v.log.LogAttrs(ctx, slog.LevelInfo, "oidc: keys fetched",
		slog.String("issuer", ent.issuer), slog.String("jwks_uri", set.jwksURI), slog.Int("keys", countKeys(set)),
		slog.Int("skipped", len(set.skipped)), slog.String("trust", set.trustedBy),
		slog.Duration("ttl", set.expires.Sub(set.fetchedAt)), slog.Duration("took", time.Since(start)))
	return set, nil
}

func countKeys(s *keySet) int {
	n := 0
	for _, ks := range s.keys {
		n += len(ks)
	}
	return n
}

type discovery struct {
	JWKSURI string `json:"jwks_uri"`
}

func (v *Verifier) fetchKeySet(ctx context.Context, ent *entry) (*keySet, *Error) {
	if ent.source != nil {
		return v.sourceKeySet(ctx, ent)
	}
	set, e := v.fetchKeySetFrom(ctx, ent)
	if e != nil && ent.base != ent.issuer {
		e = e.clone(fmt.Sprintf("keys of %s fetched from its alias %s: ", ent.issuer, ent.base))
	}
	return set, e
}

// sourceKeySet reads the keys of an issuer from its in-process KeySource.
func (v *Verifier) sourceKeySet(ctx context.Context, ent *entry) (*keySet, *Error) {
	doc, err := ent.source.JWKS(ctx)
	if err != nil {
		e := keyRetrieval(fmt.Sprintf("in-process key source of %s: %v", ent.issuer, err))
		e.cause = err
		return nil, e
	}
	origin := doc.Origin
	if origin == "" {
		origin = "in-process key source of " + ent.issuer
	}
	keys, skipped, err := parseJWKS(doc.Document)
	if err != nil {
		return nil, keyRetrieval(fmt.Sprintf("%s: %v", origin, err))
	}
	ttl := v.cacheTTL
	if doc.MaxAge > 0 {
		ttl = doc.MaxAge
	}
	now := v.now()
	return &keySet{
		keys:        keys,
		jwksURI:     origin,
		fetchedAt:   now,
		expires:     now.Add(clampTTL(ttl)),
		trustedBy:   TrustedByKeySource,
		thumbprints: map[string]string{},
		skipped:     skipped,
	}, nil
}

// fetchKeySetFrom fetches discovery, then the JWKS it names, under ent.base.
func (v *Verifier) fetchKeySetFrom(ctx context.Context, ent *entry) (*keySet, *Error) {
	discURL := strings.TrimSuffix(ent.base, "/") + "/.well-known/openid-configuration"
	thumbs := map[string]string{}
	body, _, trustedBy, e := v.get(ctx, ent, discURL, thumbs)
	if e != nil {
		return nil, e
	}
	var d discovery
	if err := json.Unmarshal(body, &d); err != nil {
		return nil, keyRetrieval(fmt.Sprintf("GET %s: not a JSON discovery document: %v", discURL, err))
	}
	ju, err := url.Parse(d.JWKSURI)
	if d.JWKSURI == "" || err != nil || ju.Scheme != "https" || ju.Host == "" || ju.User != nil {
		return nil, keyRetrieval(fmt.Sprintf("GET %s: jwks_uri %q is missing or not an https URL", discURL, d.JWKSURI))
	}
	body, hdr, trustedBy2, e := v.get(ctx, ent, d.JWKSURI, thumbs)
	if e != nil {
		return nil, e
	}
	if trustedBy2 != "ca" {
		trustedBy = trustedBy2
	}
	keys, skipped, err := parseJWKS(body)
	if err != nil {
		return nil, keyRetrieval(fmt.Sprintf("GET %s: %v", d.JWKSURI, err))
	}
	now := v.now()
	return &keySet{
		keys:        keys,
		jwksURI:     d.JWKSURI,
		fetchedAt:   now,
		expires:     now.Add(v.ttl(hdr.Get("Cache-Control"))),
		trustedBy:   trustedBy,
		thumbprints: thumbs,
		skipped:     skipped,
	}, nil
}

// get fetches one document over HTTPS with the entry's trust rules. It
// records the thumbprint of the top certificate of the host in thumbs.
func (v *Verifier) get(ctx context.Context, ent *entry, u string, thumbs map[string]string) ([]byte, http.Header, string, *Error) {
	pu, err := url.Parse(u)
	if err != nil || pu.Scheme != "https" {
		return nil, nil, "", keyRetrieval(fmt.Sprintf("refusing to fetch %q: not https", u))
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, nil, "", keyRetrieval(fmt.Sprintf("GET %s: %v", u, err))
	}
	req.Header.Set("Accept", "application/json")
	resp, err := ent.client.Do(req)
	if err != nil {
		if te, ok := asThumbprintError(err); ok {
			return nil, nil, "", &Error{Code: CodeInvalidIdentityToken, Message: MessageThumbprint,
				Reason: ReasonThumbprint, Detail: fmt.Sprintf("GET %s: %v", u, te), cause: te}
		}
		detail := fmt.Sprintf("GET %s: %v", u, err)
		if errors.Is(err, context.DeadlineExceeded) {
			detail = fmt.Sprintf("GET %s: no answer within the fetch timeout %s", u, v.fetchTimeout)
		}
		return nil, nil, "", idpUnreachable(detail, err) // unreachable.go
	}
	defer resp.Body.Close()
	trustedBy := ""
	if resp.TLS != nil && len(resp.TLS.PeerCertificates) > 0 {
		certs := resp.TLS.PeerCertificates
		thumbs[pu.Host] = Thumbprint(certs[len(certs)-1])
		trustedBy, _ = ent.trust.verify(pu.Hostname(), certs)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, nil, "", keyRetrieval(fmt.Sprintf("GET %s: status %d", u, resp.StatusCode))
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, MaxDocumentSize+1))
	if err != nil {
		detail := fmt.Sprintf("GET %s: reading body: %v", u, err)
		if errors.Is(err, context.DeadlineExceeded) {
			detail = fmt.Sprintf("GET %s: body not received within the fetch timeout %s", u, v.fetchTimeout)
		}
		return nil, nil, "", keyRetrieval(detail)
	}
	if len(body) > MaxDocumentSize {
		return nil, nil, "", keyRetrieval(fmt.Sprintf("GET %s: body larger than %d bytes", u, MaxDocumentSize))
	}
	return body, resp.Header, trustedBy, nil
}

// ttl derives the key set lifetime from a Cache-Control header.
func (v *Verifier) ttl(cc string) time.Duration {
	ttl := v.cacheTTL
	for _, d := range strings.Split(cc, ",") {
		d = strings.ToLower(strings.TrimSpace(d))
		switch {
		case d == "no-store" || d == "no-cache":
			return MinCacheTTL
		case strings.HasPrefix(d, "max-age="):
			n, err := strconv.ParseInt(strings.Trim(d[len("max-age="):], `"`), 10, 64)
			if err == nil && n >= 0 {
				if n > int64(MaxCacheTTL/time.Second) {
					n = int64(MaxCacheTTL / time.Second)
				}
				ttl = time.Duration(n) * time.Second
			}
		}
	}
	return clampTTL(ttl)
}

func clampTTL(d time.Duration) time.Duration {
	return min(max(d, MinCacheTTL), MaxCacheTTL)
}

// parseJWKS parses a JWK Set, keeping only signature keys usable with the
// accepted algorithms: RSA (2048-8192 bits) and EC on P-256/384/521, each with
// a kid. Symmetric keys are never kept. Entries that fail are skipped, with
// the reason, so that one odd key does not hide the others.
func parseJWKS(body []byte) (map[string][]publicKey, []string, error) {
	var doc struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		return nil, nil, fmt.Errorf("not a JSON JWK Set: %v", err)
	}
	if doc.Keys == nil {
		return nil, nil, errors.New(`not a JWK Set: no "keys" array`)
	}
	keys := make(map[string][]publicKey, len(doc.Keys))
	var skipped []string
	for i, raw := range doc.Keys {
		if i >= MaxKeys {
			skipped = append(skipped, fmt.Sprintf("keys after the first %d ignored", MaxKeys))
			break
		}
		var j jose.JSONWebKey
		if err := j.UnmarshalJSON(raw); err != nil {
			skipped = append(skipped, fmt.Sprintf("key %d: %v", i, err))
			continue
		}
		if j.KeyID == "" {
			skipped = append(skipped, fmt.Sprintf("key %d: no kid", i))
			continue
		}
		if j.Use != "" && j.Use != "sig" {
			skipped = append(skipped, fmt.Sprintf("key %q: use %q", j.KeyID, j.Use))
			continue
		}
		var pub any
		switch k := j.Key.(type) {
		case *rsa.PublicKey:
			pub = k
		case *rsa.PrivateKey:
			pub = &k.PublicKey
		case *ecdsa.PublicKey:
			pub = k
		case *ecdsa.PrivateKey:
			pub = &k.PublicKey
		default:
			skipped = append(skipped, fmt.Sprintf("key %q: unsupported key type %T", j.KeyID, j.Key))
			continue
		}
		switch k := pub.(type) {
		case *rsa.PublicKey:
			if b := k.N.BitLen(); b < minRSABits || b > maxRSABits {
				skipped = append(skipped, fmt.Sprintf("key %q: RSA key of %d bits", j.KeyID, b))
				continue
			}
		case *ecdsa.PublicKey:
			if c := k.Curve; c != elliptic.P256() && c != elliptic.P384() && c != elliptic.P521() {
				skipped = append(skipped, fmt.Sprintf("key %q: unsupported curve", j.KeyID))
				continue
			}
		}
		keys[j.KeyID] = append(keys[j.KeyID], publicKey{kid: j.KeyID, alg: j.Algorithm, key: pub})
	}
	return keys, skipped, nil
}

func keyType(k any) string {
	switch k := k.(type) {
	case *rsa.PublicKey:
		return fmt.Sprintf("RSA %d", k.N.BitLen())
	case *ecdsa.PublicKey:
		return "EC " + k.Curve.Params().Name
	}
	return fmt.Sprintf("%T", k)
}

// verifySignature checks the JWS signature over the signing input with the
// published key only: embedded keys and key URLs in the header are never
// consulted. alg has been vetted by allowedAlg and fits(alg, k.key).
//
// This is what go-jose's verifiers do (hash, then rsa.VerifyPKCS1v15, or a
// fixed-size r||s check and ecdsa.Verify), done directly on the bytes parse
// already decoded: going through jose.ParseSignedCompact and
// JSONWebSignature.Verify decodes the header and payload twice more and
// re-encodes the payload, which cost about 20 % of a cached verification
// (see BenchmarkVerifyCached). TestSignatureAgreesWithGoJose checks that both
// give the same verdicts.
func verifySignature(u *unverified, k publicKey) *Error {
	if len(u.hdr.Crit) > 0 && string(u.hdr.Crit) != "null" {
		// RFC 7515 4.1.11: critical extensions we do not implement (we
		// implement none) make the JWS invalid.
		return invalid(ReasonSignature, MessageInvalidToken, "header lists critical extensions (crit); none are supported")
	}
	if err := checkSignature(u.hdr.Alg, k.key, u.signed, u.sig); err != nil {
		return invalid(ReasonSignature, MessageInvalidToken,
			fmt.Sprintf("signature does not verify with published key %q (%s)", k.kid, keyType(k.key)))
	}
	return nil
}

var errBadSignature = errors.New("bad signature")

// signingInputPool holds *[]byte buffers for checkSignature.
var signingInputPool = sync.Pool{New: func() any { b := make([]byte, 0, 2048); return &b }}

func checkSignature(alg string, key any, signed string, sig []byte) error {
	if len(alg) != 5 {
		return errBadSignature
	}
	var h crypto.Hash
	switch alg[2:] {
	case "256":
		h = crypto.SHA256
	case "384":
		h = crypto.SHA384
	case "512":
		h = crypto.SHA512
	default:
		return errBadSignature
	}
	var buf [sha512.Size]byte
	var digest []byte
	// The hashes take bytes; the signing input is copied into a pooled buffer
	// rather than converted, which would allocate a token-sized copy per call.
	in := signingInputPool.Get().(*[]byte)
	b := append((*in)[:0], signed...)
	switch h {
	case crypto.SHA256:
		d := sha256.Sum256(b)
		digest = append(buf[:0], d[:]...)
	case crypto.SHA384:
		d := sha512.Sum384(b)
		digest = append(buf[:0], d[:]...)
	default:
		d := sha512.Sum512(b)
		digest = append(buf[:0], d[:]...)
	}
	if cap(b) <= MaxTokenLength {
		*in = b
		signingInputPool.Put(in)
	}
	switch k := key.(type) {
	case *rsa.PublicKey:
		if alg[:2] != "RS" {
			return errBadSignature
		}
		return rsa.VerifyPKCS1v15(k, h, digest, sig)
	case *ecdsa.PublicKey:
		if alg[:2] != "ES" {
			return errBadSignature
		}
		size := (k.Curve.Params().BitSize + 7) / 8
		if len(sig) != 2*size {
			return errBadSignature
		}
		r := new(big.Int).SetBytes(sig[:size])
		s := new(big.Int).SetBytes(sig[size:])
		if !ecdsa.Verify(k, digest, r, s) {
			return errBadSignature
		}
		return nil
	}
	return errBadSignature
}

// KeyInfo describes one published key, for `keyless explain`.
type KeyInfo struct {
	// KeyID is the JWK kid.
	KeyID string
	// Algorithm is the JWK's own alg ("" if the JWK has none).
	Algorithm string
	// Type is "RSA 2048", "EC P-256", and so on.
	Type string
}

// KeySetInfo describes an issuer's keys as FetchKeys saw them.
type KeySetInfo struct {
	// Issuer is the issuer URL the keys were fetched for.
	Issuer string
	// JWKSURI is the jwks_uri from discovery (under the alias for an issuer
	// in Config.Aliases), or the JWKS.Origin of an in-process key source.
	JWKSURI string
	// Keys are the usable keys, sorted by kid.
	Keys []KeyInfo
	// Skipped explains JWKS entries that were ignored.
	Skipped []string
	// TrustedBy is "ca" if the root CAs trusted the hosts, "thumbprint" if a
	// thumbprint was needed, TrustedByKeySource if the keys came from
	// Config.KeySources.
	TrustedBy string
	// Thumbprints maps each host contacted to the thumbprint of the top
	// certificate it presented: the value IAM expects in ThumbprintList.
	Thumbprints map[string]string
	// FetchedAt and Expires bound the lifetime the cache would give the set.
	FetchedAt, Expires time.Time
}

// FetchKeys fetches discovery and the JWKS for issuer (an https:// URL) under
// p's thumbprints, bypassing and not updating the cache, for `keyless
// explain`. Failures are *Error with ReasonKeyRetrieval or ReasonThumbprint,
// as Verify would report them.
func (v *Verifier) FetchKeys(ctx context.Context, issuer string, p Provider) (*KeySetInfo, error) {
	ent := v.newEntry("", issuer, p.Thumbprints)
	if ent.urlErr != nil {
		return nil, keyRetrieval("issuer URL unusable: " + ent.urlErr.Error())
	}
	defer ent.client.CloseIdleConnections()
	fctx, cancel := context.WithTimeout(ctx, v.fetchTimeout)
	defer cancel()
	set, e := v.fetchKeySet(fctx, ent)
	if e != nil {
		return nil, e
	}
	info := &KeySetInfo{
		Issuer: issuer, JWKSURI: set.jwksURI, Skipped: set.skipped, TrustedBy: set.trustedBy,
		Thumbprints: set.thumbprints, FetchedAt: set.fetchedAt, Expires: set.expires,
	}
	for _, ks := range set.keys {
		for _, k := range ks {
			info.Keys = append(info.Keys, KeyInfo{KeyID: k.kid, Algorithm: k.alg, Type: keyType(k.key)})
		}
	}
	sort.Slice(info.Keys, func(i, j int) bool { return info.Keys[i].KeyID < info.Keys[j].KeyID })
	return info, nil
}
