package oidc

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"
)

// Provider is an IAM OpenID Connect provider as the relying party needs it.
type Provider struct {
	// ARN is the provider ARN, arn:aws:iam::<acct>:oidc-provider/<URL>.
	ARN string
	// URL is the IAM form of the issuer: host[:port][/path], without the
	// https:// scheme. It must equal the token's iss minus "https://"
	// exactly, trailing slash included.
	URL string
	// ClientIDs are the accepted audiences.
	ClientIDs []string
	// Thumbprints are SHA-1 hex thumbprints (any case) of the top certificate
	// presented by the discovery and JWKS hosts, used when the root CAs do not
	// trust them.
	Thumbprints []string
}

// ProviderLookup finds the provider registered for url (the token's iss minus
// "https://", compared exactly, trailing slash included). It returns false if
// there is none; a non-nil error is an internal failure (for example of the
// store) and is passed through by Verify unchanged, wrapped.
type ProviderLookup func(ctx context.Context, url string) (Provider, bool, error)

// Defaults for Config fields left zero.
const (
	DefaultFetchTimeout       = 5 * time.Second
	DefaultSkew               = 5 * time.Minute
	DefaultCacheTTL           = time.Hour
	DefaultMinRefreshInterval = 10 * time.Second
	DefaultNegativeTTL        = 5 * time.Second
	// MinCacheTTL and MaxCacheTTL bound the JWKS lifetime taken from the
	// response's Cache-Control max-age (no-store, no-cache and max-age=0
	// mean MinCacheTTL). A floor keeps a misconfigured IdP from making us
	// fetch on every request; a ceiling makes removed keys stop working
	// within a day. New keys do not wait for the TTL: an unknown kid
	// triggers a refresh.
	MinCacheTTL = time.Minute
	MaxCacheTTL = 24 * time.Hour
	// MaxDocumentSize caps discovery and JWKS response bodies.
	MaxDocumentSize = 1 << 20
	// MaxKeys caps the number of keys taken from one JWKS.
	MaxKeys = 100
	// maxEntries bounds the number of (issuer, trust) cache entries.
	maxEntries = 1024
)

// Config configures a Verifier. Zero fields take the defaults above.
type Config struct {
	// RootCAs are the CAs trusted for discovery and JWKS hosts (typically the
	// system roots plus keyless's local CA). Nil means the system roots.
	// Hosts they do not trust are checked against the provider's thumbprints.
	RootCAs *x509.CertPool
	// DialContext, if set, opens the TCP connections (for tests, sandboxes or
	// a fixed egress). TLS is always done by the Verifier on top of it, with
	// its own trust rules; proxies from the environment are not used. We
	// take a dial function rather than an *http.Client because the TLS trust
	// differs per provider and must not be weakened by a caller's transport.
	DialContext func(ctx context.Context, network, addr string) (net.Conn, error)
	// Now is the clock for token times and cache lifetimes (default time.Now).
	Now func() time.Time
	// FetchTimeout bounds one refresh: discovery plus JWKS (default 5 s).
	FetchTimeout time.Duration
	// Skew is the clock skew allowed for exp, nbf and iat (default 5 min).
	Skew time.Duration
	// CacheTTL is the JWKS lifetime when the response has no usable
	// Cache-Control max-age (default 1 h); always clamped to
	// [MinCacheTTL, MaxCacheTTL].
	CacheTTL time.Duration
	// MinRefreshInterval is the least time between two fetches for the same
	// issuer triggered by an unknown kid (default 10 s), so that tokens with
	// random kids cannot make us hammer the IdP.
	MinRefreshInterval time.Duration
	// NegativeTTL is how long a failed fetch is remembered and answered from
	// the cache (default 5 s).
	NegativeTTL time.Duration
	// Logger receives fetch events (never tokens). Nil discards.
	Logger *slog.Logger
	// KeySources supply the keys of some issuers in-process, keyed by the
	// issuer URL exactly as tokens carry it (iss). For such an issuer nothing
	// is fetched and no connection is made: Verify and FetchKeys take its
	// JWK Set from the source, and since no TLS is involved the provider's
	// thumbprints and RootCAs do not apply. The key set is cached as fetched
	// ones are (JWKS.MaxAge). Every other issuer is fetched over HTTPS.
	KeySources map[string]KeySource
	// Aliases map an issuer URL (iss, exactly) to the issuer URL its
	// discovery document and JWKS are fetched from instead, over HTTPS with
	// the same trust rules (RootCAs, then the provider's thumbprints, which
	// must then match the alias's hosts). keyless's command-line verifiers
	// use it to take the keys of an issuer `keyless up` serves under a
	// production URL from the local server (see AliasesEnv). An issuer in
	// KeySources is not looked up here.
	Aliases map[string]string
	// Observer, if set, is told of key cache hits, misses and fetches, for
	// metrics (keys_metrics.go).
	Observer KeyObserver
}

// Verifier verifies web identity tokens the way STS AssumeRoleWithWebIdentity
// does, with a per-issuer JWKS cache. It is safe for concurrent use.
type Verifier struct {
	roots        *x509.CertPool
	dial         func(ctx context.Context, network, addr string) (net.Conn, error)
	now          func() time.Time
	fetchTimeout time.Duration
	skew         time.Duration
	cacheTTL     time.Duration
	minRefresh   time.Duration
	negativeTTL  time.Duration
	log          *slog.Logger
	sources      map[string]KeySource
	aliases      map[string]string
	observer     KeyObserver

	mu      sync.RWMutex
	entries map[string]*entry
	flight  singleflight.Group
}

// NewVerifier returns a Verifier for cfg.
func NewVerifier(cfg Config) (*Verifier, error) {
	v := &Verifier{
		roots:        cfg.RootCAs,
		dial:         cfg.DialContext,
		now:          cfg.Now,
		fetchTimeout: cfg.FetchTimeout,
		skew:         cfg.Skew,
		cacheTTL:     cfg.CacheTTL,
		minRefresh:   cfg.MinRefreshInterval,
		negativeTTL:  cfg.NegativeTTL,
		log:          cfg.Logger,
		sources:      maps.Clone(cfg.KeySources),
		aliases:      maps.Clone(cfg.Aliases),
		observer:     cfg.Observer,
		entries:      make(map[string]*entry),
	}
	if v.fetchTimeout < 0 || v.skew < 0 || v.cacheTTL < 0 || v.minRefresh < 0 || v.negativeTTL < 0 {
		return nil, errors.New("oidc: negative duration in Config")
	}
	for iss, src := range v.sources {
		if src == nil {
			return nil, fmt.Errorf("oidc: Config.KeySources: nil source for %s", iss)
		}
		if _, err := issuerURL(iss); err != nil {
			return nil, fmt.Errorf("oidc: Config.KeySources: %s: %w", iss, err)
		}
	}
	for iss, local := range v.aliases {
		if err := checkAlias(iss, local); err != nil {
			return nil, fmt.Errorf("oidc: Config.Aliases: %w", err)
		}
	}
	if v.dial == nil {
		d := &net.Dialer{Timeout: DefaultFetchTimeout, KeepAlive: 30 * time.Second}
		v.dial = d.DialContext
	}
	if v.now == nil {
		v.now = time.Now
	}
	if v.fetchTimeout == 0 {
		v.fetchTimeout = DefaultFetchTimeout
	}
	if v.skew == 0 {
		v.skew = DefaultSkew
	}
	if v.cacheTTL == 0 {
		v.cacheTTL = DefaultCacheTTL
	}
	v.cacheTTL = clampTTL(v.cacheTTL)
	if v.minRefresh == 0 {
		v.minRefresh = DefaultMinRefreshInterval
	}
	if v.negativeTTL == 0 {
		v.negativeTTL = DefaultNegativeTTL
	}
	if v.log == nil {
		v.log = slog.New(slog.DiscardHandler)
	}
	return v, nil
}

// Token is a verified web identity token.
type Token struct {
	// Issuer is the iss claim.
	Issuer string
	// Provider is the IAM provider that matched iss.
	Provider Provider
	// Subject is the sub claim ("" if absent).
	Subject string
	// Audience is the first aud value that is a client ID of Provider.
	Audience string
	// Audiences are all aud values.
	Audiences []string
	// Expiry is exp; IssuedAt is iat (zero if absent).
	Expiry, IssuedAt time.Time
	// KeyID and Algorithm are the kid and alg of the header.
	KeyID, Algorithm string
	// AZP is the azp claim ("" if absent).
	AZP string
	// AMR is the amr claim (a single string is returned as one element).
	AMR []string

	// payload is the claims JSON; known holds the raw values of the claims
	// parse reads (see claimIndex). They back RawClaim, Claim and Claims.
	payload []byte
	known   *[numClaims][]byte
}

// RawClaim returns the JSON text of the claim named name exactly as the token
// carries it (the last occurrence if the name is repeated) and whether the
// token has the claim; a claim whose value is null is present. The slice
// aliases the token's claims: do not modify it.
func (t *Token) RawClaim(name string) (json.RawMessage, bool) {
	if t.known != nil {
		if i := claimIndex(name); i >= 0 {
			v := t.known[i]
			return v, v != nil
		}
	}
	var last []byte
	for key, val := range members(t.payload) {
		if k, ok := unquoteKey(key); ok && string(k) == name {
			last = val
		}
	}
	return last, last != nil
}

// Claim returns the claim named name decoded as Claims decodes it (objects as
// map[string]any, arrays as []any, numbers as json.Number, null as nil) and
// whether the token has it. Use it for ClaimTags and ClaimSourceIdentity.
func (t *Token) Claim(name string) (any, bool) {
	raw, ok := t.RawClaim(name)
	if !ok {
		return nil, false
	}
	if raw[0] == '"' {
		return unquote(raw), true
	}
	var v any
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		return nil, false // cannot happen: Verify checked the JSON
	}
	return v, true
}

// Claims decodes all claims into a new map; numbers are json.Number. It is
// not cached: callers that need one or two claims should use Claim.
func (t *Token) Claims() map[string]any {
	var m map[string]any
	if err := decodeObject(t.payload, &m); err != nil {
		return nil // cannot happen: Verify checked the JSON
	}
	return m
}

// Verify checks raw as STS AssumeRoleWithWebIdentity does, in AWS's order:
//
//  1. shape: a compact JWS of at most MaxTokenLength characters (surrounding
//     whitespace ignored) with JSON header and claims, integer exp/iat/nbf
//     and a string or string-array aud;
//  2. iss: https:// and registered, through lookup;
//  3. keys: discovery and JWKS over HTTPS, trusted by the root CAs or the
//     provider's thumbprints, from the cache when fresh;
//  4. alg: RS256/384/512 or ES256/384/512 only;
//  5. a key with the token's kid (one refresh if unknown, rate-limited) that
//     fits alg;
//  6. signature;
//  7. aud present, then one value among the provider's client IDs;
//  8. exp present and not passed by more than the skew, then nbf/iat not in
//     the future by more than the skew.
//
// Header parameters jku, x5u, jwk and x5c are ignored: nothing is fetched from
// a token and no embedded key is trusted. Rejections are *Error; any other
// error comes from lookup or from ctx.
func (v *Verifier) Verify(ctx context.Context, raw string, lookup ProviderLookup) (*Token, error) {
	u, e := parse(raw)
	if e != nil {
		return nil, e
	}
	prov, e, err := v.lookupIssuer(ctx, u, lookup)
	if err != nil {
		return nil, err
	}
	if e != nil {
		return nil, e
	}
	k, e, err := v.key(ctx, u, prov)
	if err != nil {
		return nil, err
	}
	if e != nil {
		return nil, e
	}
	if e := verifySignature(u, k); e != nil {
		return nil, e
	}
	tok, e := v.checkClaims(u, prov)
	if e != nil {
		return nil, e
	}
	return tok, nil
}

func (v *Verifier) lookupIssuer(ctx context.Context, u *unverified, lookup ProviderLookup) (Provider, *Error, error) {
	iss := "null"
	if u.hasIss {
		iss = u.iss
	}
	// Built only on refusal: the message copies the iss.
	noProvider := func(detail string) *Error {
		return invalid(ReasonIssuer, MessageNoProviderPrefix+iss, detail)
	}
	rest, ok := strings.CutPrefix(u.iss, "https://")
	if !u.hasIss || !ok || rest == "" {
		return Provider{}, noProvider("iss must be an https:// URL; only https issuers can be registered"), nil
	}
	p, found, err := lookup(ctx, rest)
	if err != nil {
		return Provider{}, nil, fmt.Errorf("oidc: provider lookup: %w", err)
	}
	if !found {
		return Provider{}, noProvider(fmt.Sprintf("no OIDC provider with URL %q (the match is exact, trailing slash included)", rest)), nil
	}
	return p, nil, nil
}

// issuerURL validates the issuer before anything is fetched from it.
func issuerURL(iss string) (*url.URL, error) {
	pu, err := url.Parse(iss)
	if err != nil {
		return nil, err
	}
	if pu.Scheme != "https" || pu.Host == "" || pu.User != nil || pu.RawQuery != "" || pu.ForceQuery || pu.Fragment != "" {
		return nil, errors.New("issuer must be https://host[:port][/path] without user info, query or fragment")
	}
	return pu, nil
}

func (v *Verifier) checkClaims(u *unverified, p Provider) (*Token, *Error) {
	if !u.hasAud {
		return nil, invalid(ReasonAudienceMissing, MessageMissingAud, "")
	}
	matched, ok := "", false
	for _, a := range u.aud {
		for _, c := range p.ClientIDs {
			if a == c {
				matched, ok = a, true
				break
			}
		}
		if ok {
			break
		}
	}
	if !ok {
		return nil, invalid(ReasonAudience, MessageIncorrectAud,
			fmt.Sprintf("token aud %q; provider %s client IDs %q", u.aud, p.URL, p.ClientIDs))
	}
	if !u.hasExp {
		return nil, invalid(ReasonMalformed, MessageMissingExp, "")
	}
	now := v.now()
	nowSec := now.Unix()
	skew := int64(v.skew / time.Second)
	if nowSec-skew >= u.exp {
		return nil, &Error{
			Code:    CodeExpiredToken,
			Message: expiredMessage(nowSec, u.exp),
			Reason:  ReasonExpired,
			Detail:  fmt.Sprintf("exp %s, now %s, allowed skew %s", unixTime(u.exp, true).Format(time.RFC3339), now.UTC().Format(time.RFC3339), v.skew),
		}
	}
	for _, c := range []struct {
		name string
		at   int64
		has  bool
	}{{"nbf", u.nbf, u.hasNbf}, {"iat", u.iat, u.hasIat}} {
		if c.has && c.at > nowSec+skew {
			return nil, invalid(ReasonNotYetValid, notYetValidMessage(nowSec, c.at),
				fmt.Sprintf("%s %s is after now %s plus skew %s", c.name, unixTime(c.at, true).Format(time.RFC3339), now.UTC().Format(time.RFC3339), v.skew))
		}
	}
	return &Token{
		Issuer:    u.iss,
		Provider:  p,
		Subject:   u.sub,
		Audience:  matched,
		Audiences: u.aud,
		Expiry:    unixTime(u.exp, true),
		IssuedAt:  unixTime(u.iat, u.hasIat),
		KeyID:     u.hdr.Kid,
		Algorithm: u.hdr.Alg,
		payload:   u.payload,
		known:     &u.claims,
		AZP:       u.azp,
		AMR:       u.amr,
	}, nil
}

// expiredMessage formats the ExpiredTokenException message. Real STS prints
// both instants as Unix seconds; older responses (2021) lacked the space
// before the expiry ("date/time1624482335"), current ones (2024-2025) have
// it: "Token expired: current date/time 1731098245 must be before the
// expiration date/time 1731095240". We follow the current form.
func expiredMessage(now, exp int64) string {
	return "Token expired: current date/time " + strconv.FormatInt(now, 10) +
		" must be before the expiration date/time " + strconv.FormatInt(exp, 10)
}

// notYetValidMessage is our choice (AWS's text, if it checks, is unknown),
// in the style of expiredMessage.
func notYetValidMessage(now, at int64) string {
	return "Token used before issued: current date/time " + strconv.FormatInt(now, 10) +
		" must be after the issue date/time " + strconv.FormatInt(at, 10)
}
