package oidc

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// bitbucketIssuer is a production issuer URL that tests must never reach.
const bitbucketIssuer = "https://api.bitbucket.org/2.0/workspaces/acme/pipelines-config/identity/oidc"

// dialLog records every address a Verifier dials, and refuses any that is not the
// test IdP's own, so a test fails rather than going to the network.
type dialLog struct {
	mu    sync.Mutex
	addrs []string
	allow string // the only address that may be dialled ("" allows none)
}

func (d *dialLog) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	d.mu.Lock()
	d.addrs = append(d.addrs, addr)
	d.mu.Unlock()
	if addr != d.allow {
		return nil, errors.New("test dialer: refusing " + addr)
	}
	var nd net.Dialer
	return nd.DialContext(ctx, network, addr)
}

func (d *dialLog) dialled() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]string(nil), d.addrs...)
}

// staticSource is a KeySource serving a fixed set of keys and counting calls.
type staticSource struct {
	mu    sync.Mutex
	keys  []signingKey
	err   error
	calls atomic.Int32
}

func (s *staticSource) JWKS(context.Context) (JWKS, error) {
	s.calls.Add(1)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return JWKS{}, s.err
	}
	var set jose.JSONWebKeySet
	for _, k := range s.keys {
		set.Keys = append(set.Keys, k.jwk())
	}
	doc, err := json.Marshal(set)
	if err != nil {
		return JWKS{}, err
	}
	return JWKS{Document: doc, MaxAge: 10 * time.Minute, Origin: "in-process keys of the test"}, nil
}

// TestKeySourceIssuerNeverFetched: an issuer in Config.KeySources is verified with
// the source's keys and nothing else — no dial, no IdP request, thumbprints beside
// the point — while another issuer is still fetched over HTTPS.
func TestKeySourceIssuerNeverFetched(t *testing.T) {
	h := newHarness(t)
	src := &staticSource{keys: []signingKey{h.rsa, h.ec}}
	dials := &dialLog{allow: h.idp.iamURL()}
	v, err := NewVerifier(Config{
		RootCAs: pool(), Now: h.clock.Now, DialContext: dials.dial,
		KeySources: map[string]KeySource{bitbucketIssuer: src},
	})
	if err != nil {
		t.Fatal(err)
	}
	bbURL := strings.TrimPrefix(bitbucketIssuer, "https://")
	bb := Provider{URL: bbURL, ClientIDs: []string{testAud}, Thumbprints: []string{"a031c46782e6e6c662c2c87c76da9aa62ccabd8e"}}
	lookup := mapLookup(bb, h.prov)

	for _, tc := range []struct {
		name    string
		key     signingKey
		iss     string
		reason  Reason // 0: verifies
		dialled bool
	}{
		{"source issuer, RSA key", h.rsa, bitbucketIssuer, 0, false},
		{"source issuer, EC key", h.ec, bitbucketIssuer, 0, false},
		{"source issuer, key the source does not hold", h.rsa2, bitbucketIssuer, ReasonKeyRetrieval, false},
		{"other issuer: fetched, and not trusted without its CA", h.rsa, h.idp.issuer(), ReasonThumbprint, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := len(dials.dialled())
			tok, err := v.Verify(context.Background(), mint(t, tc.key, h.claims(map[string]any{"iss": tc.iss}), nil), lookup)
			if tc.reason == 0 {
				if err != nil {
					t.Fatalf("refused: %v (%s)", err, detailOf(err))
				}
				if tok.Provider.URL != bbURL || tok.KeyID != tc.key.kid {
					t.Fatalf("verified as %+v", tok)
				}
			} else if e := asError(t, err); e.Reason != tc.reason {
				t.Fatalf("reason %v (%s), want %v", e.Reason, e.Detail, tc.reason)
			}
			if got := len(dials.dialled()) > before; got != tc.dialled {
				t.Fatalf("dialled %v (%q), want %v", got, dials.dialled()[before:], tc.dialled)
			}
		})
	}
	for _, a := range dials.dialled() {
		if a != h.idp.iamURL() {
			t.Errorf("dialled %s", a)
		}
	}
	if d, j := h.idp.hits(); d != 0 || j != 0 {
		// The only HTTPS fetch failed its handshake: nothing reached the handlers.
		t.Errorf("IdP handlers hit %d/%d times", d, j)
	}
}

// TestKeySourceCacheAndRefresh: keys from a source are cached like fetched ones, an
// unknown kid refreshes them (at most once per MinRefreshInterval), and a failing
// source is a key retrieval failure, as an unreachable JWKS is.
func TestKeySourceCacheAndRefresh(t *testing.T) {
	h := newHarness(t)
	src := &staticSource{keys: []signingKey{h.rsa}}
	v, err := NewVerifier(Config{Now: h.clock.Now, KeySources: map[string]KeySource{bitbucketIssuer: src}})
	if err != nil {
		t.Fatal(err)
	}
	lookup := mapLookup(Provider{URL: strings.TrimPrefix(bitbucketIssuer, "https://"), ClientIDs: []string{testAud}})
	verify := func(k signingKey) error {
		_, err := v.Verify(context.Background(), mint(t, k, h.claims(map[string]any{"iss": bitbucketIssuer}), nil), lookup)
		return err
	}
	for range 3 {
		if err := verify(h.rsa); err != nil {
			t.Fatal(err)
		}
	}
	if n := src.calls.Load(); n != 1 {
		t.Fatalf("source called %d times for cached keys, want 1", n)
	}
	src.mu.Lock()
	src.keys = []signingKey{h.rsa, h.rsa2} // a new key is published
	src.mu.Unlock()
	h.clock.Advance(DefaultMinRefreshInterval)
	if err := verify(h.rsa2); err != nil {
		t.Fatalf("new key not picked up: %v (%s)", err, detailOf(err))
	}
	if n := src.calls.Load(); n != 2 {
		t.Fatalf("source called %d times, want 2", n)
	}

	// Past the cache lifetime (MaxAge 10 min), a failing source fails verification.
	src.mu.Lock()
	src.err = errors.New("store closed")
	src.mu.Unlock()
	h.clock.Advance(11 * time.Minute)
	err = verify(h.rsa)
	if e := asError(t, err); e.Reason != ReasonKeyRetrieval || e.Message != MessageKeyRetrieval || !strings.Contains(e.Detail, "store closed") {
		t.Fatalf("got %v %q %q", e.Reason, e.Message, e.Detail)
	}

	info, err := v.FetchKeys(context.Background(), bitbucketIssuer, Provider{})
	if err == nil || info != nil {
		t.Fatalf("FetchKeys with a failing source: %+v, %v", info, err)
	}
	src.mu.Lock()
	src.err = nil
	src.mu.Unlock()
	info, err = v.FetchKeys(context.Background(), bitbucketIssuer, Provider{})
	if err != nil {
		t.Fatal(err)
	}
	if info.TrustedBy != TrustedByKeySource || info.JWKSURI != "in-process keys of the test" || len(info.Keys) != 2 || len(info.Thumbprints) != 0 {
		t.Fatalf("%+v", info)
	}
}

// TestAliasFetchesFromLocalIssuer: the keys of an aliased issuer come from the
// discovery document and JWKS of the URL it is aliased to, over HTTPS with the same
// trust rules; the aliased host itself is never dialled.
func TestAliasFetchesFromLocalIssuer(t *testing.T) {
	h := newHarness(t)
	bbURL := strings.TrimPrefix(bitbucketIssuer, "https://")
	trusted := pool()
	trusted.AddCert(h.idp.srv.Certificate())
	for _, tc := range []struct {
		name   string
		alias  string
		roots  bool
		reason Reason
		detail string
	}{
		{"alias to the local issuer", h.idp.issuer(), true, 0, ""},
		{"alias whose certificate is not trusted", h.idp.issuer(), false, ReasonThumbprint, "fetched from its alias " + h.idp.issuer()},
		{"alias to a local URL serving nothing", h.idp.issuer() + "/nothing", true, ReasonKeyRetrieval, "status 404"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dials := &dialLog{allow: h.idp.iamURL()}
			cfg := Config{Now: h.clock.Now, DialContext: dials.dial, Aliases: map[string]string{bitbucketIssuer: tc.alias}}
			if tc.roots {
				cfg.RootCAs = trusted
			} else {
				cfg.RootCAs = pool()
			}
			v, err := NewVerifier(cfg)
			if err != nil {
				t.Fatal(err)
			}
			lookup := mapLookup(Provider{URL: bbURL, ClientIDs: []string{testAud}})
			tok, err := v.Verify(context.Background(), mint(t, h.rsa, h.claims(map[string]any{"iss": bitbucketIssuer}), nil), lookup)
			if tc.reason == 0 {
				if err != nil {
					t.Fatalf("refused: %v (%s)", err, detailOf(err))
				}
				if tok.Issuer != bitbucketIssuer {
					t.Fatalf("issuer %q", tok.Issuer)
				}
			} else {
				e := asError(t, err)
				if e.Reason != tc.reason || !strings.Contains(e.Detail, tc.detail) || !strings.Contains(e.Detail, bitbucketIssuer) {
					t.Fatalf("got %v %q, want %v mentioning %q and the aliased issuer", e.Reason, e.Detail, tc.reason, tc.detail)
				}
			}
			for _, a := range dials.dialled() {
				if a != h.idp.iamURL() {
					t.Errorf("dialled %s, want only the alias's host %s", a, h.idp.iamURL())
				}
			}
			if len(dials.dialled()) == 0 {
				t.Error("the alias was not fetched")
			}
		})
	}
}

func TestParseAliases(t *testing.T) {
	const gh, local = "https://token.actions.githubusercontent.com", "https://127.0.0.1:8400"
	for _, tc := range []struct {
		in   string
		want map[string]string
		err  string
	}{
		{"", map[string]string{}, ""},
		{"  \n ", map[string]string{}, ""},
		{bitbucketIssuer + "=" + local + "/2.0/workspaces/acme/pipelines-config/identity/oidc",
			map[string]string{bitbucketIssuer: local + "/2.0/workspaces/acme/pipelines-config/identity/oidc"}, ""},
		{gh + "=" + local + "/github  https://gitlab.com=" + local + "/gitlab\n",
			map[string]string{gh: local + "/github", "https://gitlab.com": local + "/gitlab"}, ""},
		{gh + "=" + local + "/github " + gh + "=" + local + "/github", map[string]string{gh: local + "/github"}, ""},
		{gh + "=" + local + "/github " + gh + "=" + local + "/other", nil, "aliased twice"},
		{gh, nil, "want ISSUER=LOCAL"},
		{"http://token.actions.githubusercontent.com=" + local, nil, "must be https"},
		{gh + "=http://127.0.0.1:8400/github", nil, "the local URL"},
		{gh + "?x=1=" + local, nil, "must be https"},
		{gh + "=" + local + "/a=b", nil, "'='"},
		{"=" + local, nil, "must be https"},
	} {
		got, err := ParseAliases(tc.in)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("ParseAliases(%q) = %v, %v; want an error containing %q", tc.in, got, err, tc.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("ParseAliases(%q): %v", tc.in, err)
			continue
		}
		if len(got) != len(tc.want) {
			t.Errorf("ParseAliases(%q) = %v, want %v", tc.in, got, tc.want)
		}
		for k, v := range tc.want {
			if got[k] != v {
				t.Errorf("ParseAliases(%q)[%s] = %q, want %q", tc.in, k, got[k], v)
			}
		}
		// FormatAliases writes what ParseAliases reads back.
		back, err := ParseAliases(FormatAliases(got))
		if err != nil || len(back) != len(got) {
			t.Errorf("round trip of %v: %v, %v", got, back, err)
		}
		for k, v := range got {
			if back[k] != v {
				t.Errorf("round trip of %v: %v", got, back)
			}
		}
	}
	if got := FormatAliases(map[string]string{"https://b": "https://l/b", "https://a": "https://l/a"}); got != "https://a=https://l/a https://b=https://l/b" {
		t.Errorf("FormatAliases = %q, want sorted pairs", got)
	}
}

func TestNewVerifierRefusesBadSourcesAndAliases(t *testing.T) {
	src := KeySourceFunc(func(context.Context) (JWKS, error) { return JWKS{}, nil })
	for _, tc := range []struct {
		name string
		cfg  Config
	}{
		{"nil source", Config{KeySources: map[string]KeySource{bitbucketIssuer: nil}}},
		{"source for an http issuer", Config{KeySources: map[string]KeySource{"http://example.com": src}}},
		{"alias to http", Config{Aliases: map[string]string{bitbucketIssuer: "http://127.0.0.1:8400"}}},
		{"alias of a URL with a query", Config{Aliases: map[string]string{bitbucketIssuer + "?a=b": "https://127.0.0.1:8400"}}},
	} {
		if _, err := NewVerifier(tc.cfg); err == nil {
			t.Errorf("%s: accepted", tc.name)
		}
	}
}
