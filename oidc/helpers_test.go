package oidc

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

const testAud = "sts.amazonaws.com"

// ---- clock ----

type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *fakeClock { return &fakeClock{t: time.Now().Truncate(time.Second)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// ---- keys ----

type signingKey struct {
	kid  string
	alg  string
	priv crypto.Signer
}

var (
	keyOnce  sync.Once
	rsaKeys  [3]*rsa.PrivateKey
	ec256Key *ecdsa.PrivateKey
	ec384Key *ecdsa.PrivateKey
)

func testKeys(t testing.TB) {
	t.Helper()
	keyOnce.Do(func() {
		for i := range rsaKeys {
			k, err := rsa.GenerateKey(rand.Reader, 2048)
			if err != nil {
				panic(err)
			}
			rsaKeys[i] = k
		}
		ec256Key, _ = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		ec384Key, _ = ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	})
}

func (k signingKey) jwk() jose.JSONWebKey {
	return jose.JSONWebKey{Key: k.priv.Public(), KeyID: k.kid, Algorithm: k.alg, Use: "sig"}
}

// ---- token minting (by hand, so hostile headers are easy) ----

func b64url(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

func mustJSON(t testing.TB, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func signingInput(t testing.TB, hdr, claims map[string]any) string {
	return b64url(mustJSON(t, hdr)) + "." + b64url(mustJSON(t, claims))
}

func sign(t testing.TB, k signingKey, input string) string {
	t.Helper()
	var h crypto.Hash
	switch k.alg[2:] {
	case "256":
		h = crypto.SHA256
	case "384":
		h = crypto.SHA384
	case "512":
		h = crypto.SHA512
	}
	hh := h.New()
	hh.Write([]byte(input))
	digest := hh.Sum(nil)
	switch p := k.priv.(type) {
	case *rsa.PrivateKey:
		sig, err := rsa.SignPKCS1v15(rand.Reader, p, h, digest)
		if err != nil {
			t.Fatal(err)
		}
		return b64url(sig)
	case *ecdsa.PrivateKey:
		r, s, err := ecdsa.Sign(rand.Reader, p, digest)
		if err != nil {
			t.Fatal(err)
		}
		size := (p.Curve.Params().BitSize + 7) / 8
		out := make([]byte, 2*size)
		r.FillBytes(out[:size])
		s.FillBytes(out[size:])
		return b64url(out)
	}
	t.Fatalf("unsupported key %T", k.priv)
	return ""
}

// mint signs claims with k; extra header fields are merged (nil values delete).
func mint(t testing.TB, k signingKey, claims map[string]any, extraHdr map[string]any) string {
	t.Helper()
	hdr := map[string]any{"alg": k.alg, "typ": "JWT", "kid": k.kid}
	for n, v := range extraHdr {
		if v == nil {
			delete(hdr, n)
		} else {
			hdr[n] = v
		}
	}
	in := signingInput(t, hdr, claims)
	return in + "." + sign(t, k, in)
}

func hs256(secret []byte, input string) string {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(input))
	return b64url(m.Sum(nil))
}

// ---- PKI ----

type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
}

var serial atomic.Int64

func newCert(t testing.TB, tmpl *x509.Certificate, parent *testCA) (*x509.Certificate, *ecdsa.PrivateKey) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl.SerialNumber = big.NewInt(serial.Add(1))
	tmpl.NotBefore = time.Now().Add(-time.Hour)
	tmpl.NotAfter = time.Now().Add(24 * time.Hour)
	signer, parentCert := key, tmpl
	if parent != nil {
		signer, parentCert = parent.key, parent.cert
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parentCert, &key.PublicKey, signer)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return c, key
}

func newCA(t testing.TB, cn string, parent *testCA) *testCA {
	c, k := newCert(t, &x509.Certificate{
		Subject:               pkix.Name{CommonName: cn},
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}, parent)
	return &testCA{cert: c, key: k}
}

// leaf issues a 127.0.0.1 server certificate; chain lists the certificates
// sent after the leaf.
func leaf(t testing.TB, ca *testCA, chain ...*x509.Certificate) tls.Certificate {
	c, k := newCert(t, &x509.Certificate{
		Subject:     pkix.Name{CommonName: "127.0.0.1"},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}, ca)
	tc := tls.Certificate{Certificate: [][]byte{c.Raw}, PrivateKey: k, Leaf: c}
	for _, x := range chain {
		tc.Certificate = append(tc.Certificate, x.Raw)
	}
	return tc
}

func pool(cas ...*testCA) *x509.CertPool {
	p := x509.NewCertPool()
	for _, c := range cas {
		p.AddCert(c.cert)
	}
	return p
}

// ---- identity provider ----

type idp struct {
	srv *httptest.Server

	mu           sync.Mutex
	keys         []jose.JSONWebKey
	discStatus   int
	jwksStatus   int
	discBody     string // overrides the discovery document
	jwksBody     string // overrides the JWKS document
	cacheControl string
	discDelay    time.Duration
	block        bool // discovery waits for the client to give up

	discHits atomic.Int32
	jwksHits atomic.Int32
}

// newIDP starts a TLS IdP on 127.0.0.1 presenting cert (or httptest's
// self-signed certificate when cert is nil).
func newIDP(t testing.TB, cert *tls.Certificate) *idp {
	t.Helper()
	i := &idp{}
	mux := http.NewServeMux()
	mux.HandleFunc("/.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		i.discHits.Add(1)
		i.mu.Lock()
		status, body, delay, block := i.discStatus, i.discBody, i.discDelay, i.block
		i.mu.Unlock()
		if block {
			select {
			case <-r.Context().Done():
			case <-time.After(10 * time.Second):
			}
			// A hung IdP never answers. Returning would send an empty 200,
			// which the client's transport can still deliver while it is
			// giving up (its TLS close_notify is what ended the wait), so that
			// the fetch failed as a bad document instead of a timeout.
			panic(http.ErrAbortHandler)
		}
		if delay > 0 {
			time.Sleep(delay)
		}
		if status != 0 {
			w.WriteHeader(status)
			return
		}
		if body == "" {
			body = string(mustJSON(t, map[string]any{"issuer": i.srv.URL, "jwks_uri": i.srv.URL + "/jwks"}))
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(body))
	})
	mux.HandleFunc("/jwks", func(w http.ResponseWriter, r *http.Request) {
		i.jwksHits.Add(1)
		i.mu.Lock()
		status, body, cc := i.jwksStatus, i.jwksBody, i.cacheControl
		if body == "" {
			body = string(mustJSON(t, jose.JSONWebKeySet{Keys: i.keys}))
		}
		i.mu.Unlock()
		if status != 0 {
			w.WriteHeader(status)
			return
		}
		if cc != "" {
			w.Header().Set("Cache-Control", cc)
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(body))
	})
	i.srv = httptest.NewUnstartedServer(mux)
	i.srv.Config.ErrorLog = log.New(io.Discard, "", 0) // refused handshakes are expected
	if cert != nil {
		i.srv.TLS = &tls.Config{Certificates: []tls.Certificate{*cert}}
	}
	i.srv.StartTLS()
	t.Cleanup(i.srv.Close)
	return i
}

func (i *idp) issuer() string { return i.srv.URL }
func (i *idp) iamURL() string { return strings.TrimPrefix(i.srv.URL, "https://") }

func (i *idp) publish(keys ...signingKey) {
	i.mu.Lock()
	defer i.mu.Unlock()
	i.keys = nil
	for _, k := range keys {
		i.keys = append(i.keys, k.jwk())
	}
}

func (i *idp) set(f func(i *idp)) {
	i.mu.Lock()
	defer i.mu.Unlock()
	f(i)
}

func (i *idp) hits() (int32, int32) { return i.discHits.Load(), i.jwksHits.Load() }

// ---- harness ----

type harness struct {
	t      testing.TB
	idp    *idp
	clock  *fakeClock
	v      *Verifier
	prov   Provider
	rsa    signingKey
	rsa2   signingKey
	rsa3   signingKey
	ec     signingKey
	ec384  signingKey
	lookup ProviderLookup
}

type hopt func(*Config, *Provider)

func newHarness(t testing.TB, opts ...hopt) *harness {
	t.Helper()
	testKeys(t)
	h := &harness{t: t, clock: newClock()}
	h.rsa = signingKey{kid: "rsa-1", alg: "RS256", priv: rsaKeys[0]}
	h.rsa2 = signingKey{kid: "rsa-2", alg: "RS256", priv: rsaKeys[1]}
	h.rsa3 = signingKey{kid: "rsa-3", alg: "RS256", priv: rsaKeys[2]}
	h.ec = signingKey{kid: "ec-1", alg: "ES256", priv: ec256Key}
	h.ec384 = signingKey{kid: "ec-2", alg: "ES384", priv: ec384Key}
	h.idp = newIDP(t, nil)
	h.idp.publish(h.rsa, h.ec, h.ec384)
	roots := x509.NewCertPool()
	roots.AddCert(h.idp.srv.Certificate())
	cfg := Config{RootCAs: roots, Now: h.clock.Now}
	h.prov = Provider{
		ARN:       "arn:aws:iam::123456789012:oidc-provider/" + h.idp.iamURL(),
		URL:       h.idp.iamURL(),
		ClientIDs: []string{"other-client", testAud},
	}
	for _, o := range opts {
		o(&cfg, &h.prov)
	}
	v, err := NewVerifier(cfg)
	if err != nil {
		t.Fatal(err)
	}
	h.v = v
	h.lookup = mapLookup(h.prov)
	return h
}

func mapLookup(ps ...Provider) ProviderLookup {
	m := map[string]Provider{}
	for _, p := range ps {
		m[p.URL] = p
	}
	return func(_ context.Context, url string) (Provider, bool, error) {
		p, ok := m[url]
		return p, ok, nil
	}
}

func (h *harness) claims(mod map[string]any) map[string]any {
	now := h.clock.Now().Unix()
	c := map[string]any{
		"iss": h.idp.issuer(),
		"sub": "{repo-uuid}:{step-uuid}",
		"aud": testAud,
		"exp": now + 3600,
		"iat": now,
		"https://aws.amazon.com/tags": map[string]any{
			"principal_tags":      map[string]any{"Repo": []string{"site"}},
			"transitive_tag_keys": []string{"Repo"},
		},
	}
	for k, v := range mod {
		if v == nil {
			delete(c, k)
		} else {
			c[k] = v
		}
	}
	return c
}

func (h *harness) verify(tok string) (*Token, error) {
	return h.v.Verify(context.Background(), tok, h.lookup)
}

func asError(t testing.TB, err error) *Error {
	t.Helper()
	e, ok := err.(*Error)
	if !ok {
		t.Fatalf("error %v (%T) is not *Error", err, err)
	}
	return e
}
