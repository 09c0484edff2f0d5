package oidc

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

type verifyCase struct {
	name   string
	setup  func(h *harness)
	token  func(h *harness) string
	code   string // "" = success
	msg    string
	reason Reason
	check  func(t *testing.T, h *harness, tok *Token)
}

func TestVerifyTable(t *testing.T) {
	bigClaim := strings.Repeat("x", MaxTokenLength)
	cases := []verifyCase{
		{
			name:  "valid RS256",
			token: func(h *harness) string { return mint(h.t, h.rsa, h.claims(nil), nil) },
			check: func(t *testing.T, h *harness, tok *Token) {
				if tok.Issuer != h.idp.issuer() || tok.Subject != "{repo-uuid}:{step-uuid}" || tok.Audience != testAud ||
					tok.KeyID != "rsa-1" || tok.Algorithm != "RS256" || tok.Provider.ARN != h.prov.ARN {
					t.Fatalf("unexpected token %+v", tok)
				}
				if tok.Expiry.Unix() != h.clock.Now().Unix()+3600 || tok.IssuedAt.Unix() != h.clock.Now().Unix() {
					t.Fatalf("times %v %v", tok.Expiry, tok.IssuedAt)
				}
				if _, ok := tok.Claims()["https://aws.amazon.com/tags"].(map[string]any); !ok {
					t.Fatalf("tags claim missing: %v", tok.Claims())
				}
			},
		},
		{
			name: "valid RS256 signed by go-jose",
			token: func(h *harness) string {
				s, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: h.rsa.priv},
					(&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", h.rsa.kid))
				if err != nil {
					h.t.Fatal(err)
				}
				o, err := s.Sign(mustJSON(h.t, h.claims(nil)))
				if err != nil {
					h.t.Fatal(err)
				}
				c, _ := o.CompactSerialize()
				return c
			},
		},
		{
			name: "valid RS512 with same RSA key",
			token: func(h *harness) string {
				return mint(h.t, signingKey{"rsa-1", "RS512", h.rsa.priv}, h.claims(nil), nil)
			},
			code: CodeInvalidIdentityToken, msg: MessageInvalidToken, reason: ReasonAlgorithm, // JWK says alg RS256
		},
		{
			name:  "valid ES256",
			token: func(h *harness) string { return mint(h.t, h.ec, h.claims(nil), nil) },
			check: func(t *testing.T, h *harness, tok *Token) {
				if tok.Algorithm != "ES256" || tok.KeyID != "ec-1" {
					t.Fatalf("%+v", tok)
				}
			},
		},
		{
			name:  "valid ES384",
			token: func(h *harness) string { return mint(h.t, h.ec384, h.claims(nil), nil) },
		},
		{
			name:  "trailing newline from a token file",
			token: func(h *harness) string { return mint(h.t, h.rsa, h.claims(nil), nil) + "\n" },
		},
		{
			name: "azp amr and aud array",
			token: func(h *harness) string {
				return mint(h.t, h.rsa, h.claims(map[string]any{"aud": []string{"x", testAud}, "azp": "client", "amr": []string{"pwd", "mfa"}}), nil)
			},
			check: func(t *testing.T, h *harness, tok *Token) {
				if tok.Audience != testAud || len(tok.Audiences) != 2 || tok.AZP != "client" || len(tok.AMR) != 2 {
					t.Fatalf("%+v", tok)
				}
			},
		},
		// --- not a JWT ---
		{name: "empty", token: func(*harness) string { return "" }, code: CodeInvalidIdentityToken, msg: MessageNotJWT, reason: ReasonMalformed},
		{name: "opaque access token", token: func(*harness) string { return "ya29.a0AfH6SMBx" }, code: CodeInvalidIdentityToken, msg: MessageNotJWT, reason: ReasonMalformed},
		{name: "two parts", token: func(*harness) string { return "eyJhbGciOiJSUzI1NiJ9.e30" }, code: CodeInvalidIdentityToken, msg: MessageNotJWT, reason: ReasonMalformed},
		{name: "JWE five parts", token: func(*harness) string { return "eyJhbGciOiJSU0EtT0FFUCJ9.a.b.c.d" }, code: CodeInvalidIdentityToken, msg: MessageNotJWT, reason: ReasonMalformed},
		{
			name: "padded base64",
			token: func(h *harness) string {
				t := mint(h.t, h.rsa, h.claims(nil), nil)
				return strings.Replace(t, ".", "=.", 1)
			},
			code: CodeInvalidIdentityToken, msg: MessageNotJWT, reason: ReasonMalformed,
		},
		{
			name:  "header not JSON",
			token: func(h *harness) string { return b64url([]byte("not json")) + "." + b64url([]byte("{}")) + ".c2ln" },
			code:  CodeInvalidIdentityToken, msg: MessageNotJWT, reason: ReasonMalformed,
		},
		{
			name: "claims JSON array",
			token: func(h *harness) string {
				return b64url([]byte(`{"alg":"RS256","kid":"rsa-1"}`)) + "." + b64url([]byte(`["iss"]`)) + ".c2ln"
			},
			code: CodeInvalidIdentityToken, msg: MessageNotJWT, reason: ReasonMalformed,
		},
		{
			name:  "oversized token",
			token: func(h *harness) string { return mint(h.t, h.rsa, h.claims(map[string]any{"pad": bigClaim}), nil) },
			code:  CodeInvalidIdentityToken, msg: MessageNotJWT, reason: ReasonMalformed,
		},
		{
			name:  "exp with fraction",
			token: func(h *harness) string { return mint(h.t, h.rsa, h.claims(map[string]any{"exp": 1.5e9 + 0.5}), nil) },
			code:  CodeInvalidIdentityToken, msg: MessageNotJWT, reason: ReasonMalformed,
		},
		{
			name: "exp in exponent form",
			token: func(h *harness) string {
				in := b64url([]byte(`{"alg":"RS256","kid":"rsa-1"}`)) + "." +
					b64url([]byte(fmt.Sprintf(`{"iss":%q,"aud":%q,"exp":1.9e9}`, h.idp.issuer(), testAud)))
				return in + "." + sign(h.t, h.rsa, in)
			},
			code: CodeInvalidIdentityToken, msg: MessageNotJWT, reason: ReasonMalformed,
		},
		{
			name:  "iat as string",
			token: func(h *harness) string { return mint(h.t, h.rsa, h.claims(map[string]any{"iat": "1700000000"}), nil) },
			code:  CodeInvalidIdentityToken, msg: MessageNotJWT, reason: ReasonMalformed,
		},
		{
			name:  "aud as number",
			token: func(h *harness) string { return mint(h.t, h.rsa, h.claims(map[string]any{"aud": 7}), nil) },
			code:  CodeInvalidIdentityToken, msg: MessageNotJWT, reason: ReasonMalformed,
		},
		// --- issuer ---
		{
			name: "unregistered issuer",
			token: func(h *harness) string {
				return mint(h.t, h.rsa, h.claims(map[string]any{"iss": "https://evil.example/oidc"}), nil)
			},
			code: CodeInvalidIdentityToken, msg: "No OpenIDConnect provider found in your account for https://evil.example/oidc", reason: ReasonIssuer,
		},
		{
			name: "issuer with trailing slash, provider without",
			token: func(h *harness) string {
				return mint(h.t, h.rsa, h.claims(map[string]any{"iss": h.idp.issuer() + "/"}), nil)
			},
			code: CodeInvalidIdentityToken, reason: ReasonIssuer,
		},
		{
			name:  "provider with trailing slash, issuer without",
			setup: func(h *harness) { p := h.prov; p.URL += "/"; h.lookup = mapLookup(p) },
			token: func(h *harness) string { return mint(h.t, h.rsa, h.claims(nil), nil) },
			code:  CodeInvalidIdentityToken, reason: ReasonIssuer,
		},
		{
			name: "http issuer refused",
			setup: func(h *harness) {
				// A lookup that would match the host whatever the scheme.
				h.lookup = func(_ context.Context, url string) (Provider, bool, error) {
					return h.prov, strings.HasSuffix(url, h.prov.URL), nil
				}
			},
			token: func(h *harness) string {
				return mint(h.t, h.rsa, h.claims(map[string]any{"iss": "http://" + h.idp.iamURL()}), nil)
			},
			code: CodeInvalidIdentityToken, reason: ReasonIssuer,
		},
		{
			name:  "missing iss",
			token: func(h *harness) string { return mint(h.t, h.rsa, h.claims(map[string]any{"iss": nil}), nil) },
			code:  CodeInvalidIdentityToken, msg: "No OpenIDConnect provider found in your account for null", reason: ReasonIssuer,
		},
		// --- keys and algorithms ---
		{
			name: "alg none",
			token: func(h *harness) string {
				return signingInput(h.t, map[string]any{"alg": "none", "kid": "rsa-1"}, h.claims(nil)) + "."
			},
			code: CodeInvalidIdentityToken, msg: MessageInvalidToken, reason: ReasonAlgorithm,
		},
		{
			name: "alg none without kid",
			token: func(h *harness) string {
				return signingInput(h.t, map[string]any{"alg": "none"}, h.claims(nil)) + "."
			},
			code: CodeInvalidIdentityToken, msg: MessageInvalidToken, reason: ReasonAlgorithm,
		},
		{
			name: "HS256 keyed with the RSA public key (PEM)",
			token: func(h *harness) string {
				der, _ := x509.MarshalPKIXPublicKey(h.rsa.priv.Public())
				secret := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
				in := signingInput(h.t, map[string]any{"alg": "HS256", "kid": "rsa-1"}, h.claims(nil))
				return in + "." + hs256(secret, in)
			},
			code: CodeInvalidIdentityToken, msg: MessageInvalidToken, reason: ReasonAlgorithm,
		},
		{
			name: "HS256 keyed with the JWK JSON",
			token: func(h *harness) string {
				j := h.rsa.jwk()
				secret, _ := j.MarshalJSON()
				in := signingInput(h.t, map[string]any{"alg": "HS256", "kid": "rsa-1"}, h.claims(nil))
				return in + "." + hs256(secret, in)
			},
			code: CodeInvalidIdentityToken, msg: MessageInvalidToken, reason: ReasonAlgorithm,
		},
		{
			name:  "PS256 refused",
			token: func(h *harness) string { return mint(h.t, h.rsa, h.claims(nil), map[string]any{"alg": "PS256"}) },
			code:  CodeInvalidIdentityToken, msg: MessageInvalidToken, reason: ReasonAlgorithm,
		},
		{
			name: "ES256 header on an RSA key",
			token: func(h *harness) string {
				return mint(h.t, h.ec, h.claims(nil), map[string]any{"kid": "rsa-1"})
			},
			code: CodeInvalidIdentityToken, msg: MessageInvalidToken, reason: ReasonAlgorithm,
		},
		{
			name:  "ES384 header on a P-256 key",
			token: func(h *harness) string { return mint(h.t, h.ec384, h.claims(nil), map[string]any{"kid": "ec-1"}) },
			code:  CodeInvalidIdentityToken, msg: MessageInvalidToken, reason: ReasonAlgorithm,
		},
		{
			name:  "unknown kid",
			token: func(h *harness) string { return mint(h.t, h.rsa3, h.claims(nil), nil) },
			code:  CodeInvalidIdentityToken, msg: MessageKeyRetrieval, reason: ReasonKeyRetrieval,
		},
		{
			name:  "no kid",
			token: func(h *harness) string { return mint(h.t, h.rsa, h.claims(nil), map[string]any{"kid": nil}) },
			code:  CodeInvalidIdentityToken, msg: MessageKeyRetrieval, reason: ReasonKeyRetrieval,
		},
		{
			name:  "retired key no longer published",
			setup: func(h *harness) { h.idp.publish(h.rsa2); h.clock.Advance(25 * time.Hour) },
			token: func(h *harness) string { return mint(h.t, h.rsa, h.claims(nil), nil) },
			code:  CodeInvalidIdentityToken, msg: MessageKeyRetrieval, reason: ReasonKeyRetrieval,
		},
		{
			name: "signed by another key under a published kid",
			token: func(h *harness) string {
				return mint(h.t, signingKey{"rsa-1", "RS256", h.rsa2.priv}, h.claims(nil), nil)
			},
			code: CodeInvalidIdentityToken, msg: MessageInvalidToken, reason: ReasonSignature,
		},
		{
			name: "tampered payload",
			token: func(h *harness) string {
				tok := mint(h.t, h.rsa, h.claims(nil), nil)
				parts := strings.Split(tok, ".")
				parts[1] = b64url(mustJSON(h.t, h.claims(map[string]any{"sub": "{other-repo}:{step}"})))
				return strings.Join(parts, ".")
			},
			code: CodeInvalidIdentityToken, msg: MessageInvalidToken, reason: ReasonSignature,
		},
		{
			name: "corrupted signature",
			token: func(h *harness) string {
				b := []byte(mint(h.t, h.rsa, h.claims(nil), nil))
				i := len(b) - 100
				if b[i] == 'A' {
					b[i] = 'B'
				} else {
					b[i] = 'A'
				}
				return string(b)
			},
			code: CodeInvalidIdentityToken, msg: MessageInvalidToken, reason: ReasonSignature,
		},
		{
			name: "unknown critical header",
			token: func(h *harness) string {
				return mint(h.t, h.rsa, h.claims(nil), map[string]any{"crit": []string{"exp"}, "exp": 1})
			},
			code: CodeInvalidIdentityToken, msg: MessageInvalidToken, reason: ReasonSignature,
		},
		// --- audience ---
		{
			name: "wrong aud",
			token: func(h *harness) string {
				return mint(h.t, h.rsa, h.claims(map[string]any{"aud": "https://example.com"}), nil)
			},
			code: CodeInvalidIdentityToken, msg: MessageIncorrectAud, reason: ReasonAudience,
		},
		{
			name:  "missing aud",
			token: func(h *harness) string { return mint(h.t, h.rsa, h.claims(map[string]any{"aud": nil}), nil) },
			code:  CodeInvalidIdentityToken, msg: MessageMissingAud, reason: ReasonAudienceMissing,
		},
		{
			name:  "empty aud array",
			token: func(h *harness) string { return mint(h.t, h.rsa, h.claims(map[string]any{"aud": []string{}}), nil) },
			code:  CodeInvalidIdentityToken, msg: MessageMissingAud, reason: ReasonAudienceMissing,
		},
		{
			name: "aud array without a client id",
			token: func(h *harness) string {
				return mint(h.t, h.rsa, h.claims(map[string]any{"aud": []string{"a", "b"}}), nil)
			},
			code: CodeInvalidIdentityToken, msg: MessageIncorrectAud, reason: ReasonAudience,
		},
		{
			name: "aud differs only in case",
			token: func(h *harness) string {
				return mint(h.t, h.rsa, h.claims(map[string]any{"aud": strings.ToUpper(testAud)}), nil)
			},
			code: CodeInvalidIdentityToken, msg: MessageIncorrectAud, reason: ReasonAudience,
		},
		// --- time ---
		{
			name: "expired beyond skew",
			token: func(h *harness) string {
				return mint(h.t, h.rsa, h.claims(map[string]any{"exp": h.clock.Now().Unix() - 301}), nil)
			},
			code: CodeExpiredToken, reason: ReasonExpired,
			check: nil,
		},
		{
			name: "expired within skew",
			token: func(h *harness) string {
				return mint(h.t, h.rsa, h.claims(map[string]any{"exp": h.clock.Now().Unix() - 299}), nil)
			},
		},
		{
			name:  "missing exp",
			token: func(h *harness) string { return mint(h.t, h.rsa, h.claims(map[string]any{"exp": nil}), nil) },
			code:  CodeInvalidIdentityToken, msg: MessageMissingExp, reason: ReasonMalformed,
		},
		{
			name: "nbf beyond skew",
			token: func(h *harness) string {
				return mint(h.t, h.rsa, h.claims(map[string]any{"nbf": h.clock.Now().Unix() + 400}), nil)
			},
			code: CodeInvalidIdentityToken, reason: ReasonNotYetValid,
		},
		{
			name: "iat within skew in the future",
			token: func(h *harness) string {
				return mint(h.t, h.rsa, h.claims(map[string]any{"iat": h.clock.Now().Unix() + 200}), nil)
			},
		},
	}
	h := newHarness(t)
	baseLookup := h.lookup
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h.t = t
			h.lookup = baseLookup
			h.idp.publish(h.rsa, h.ec, h.ec384)
			h.clock.Advance(time.Minute) // past MinRefreshInterval: each case may refresh
			if tc.setup != nil {
				tc.setup(h)
			}
			raw := tc.token(h)
			tok, err := h.verify(raw)
			if tc.code == "" {
				if err != nil {
					t.Fatalf("want success, got %v (%s)", err, detailOf(err))
				}
				if tc.check != nil {
					tc.check(t, h, tok)
				}
				return
			}
			if err == nil {
				t.Fatalf("want %s, got success", tc.code)
			}
			e := asError(t, err)
			if e.Code != tc.code || e.Reason != tc.reason || (tc.msg != "" && e.Message != tc.msg) {
				t.Fatalf("got %s %q reason %v (%s); want %s %q reason %v", e.Code, e.Message, e.Reason, e.Detail, tc.code, tc.msg, tc.reason)
			}
			if e.HTTPStatus() != 400 {
				t.Fatalf("status %d", e.HTTPStatus())
			}
			assertNoToken(t, raw, e.Error(), e.Detail)
		})
	}
}

func detailOf(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Reason.String() + ": " + e.Detail
	}
	return ""
}

// assertNoToken fails if any texts contain a token part long enough to
// matter (the issuer URL inside the claims is allowed, the encoded parts are
// not).
func assertNoToken(t *testing.T, raw string, texts ...string) {
	t.Helper()
	for _, p := range strings.Split(strings.TrimSpace(raw), ".") {
		if len(p) < 16 {
			continue
		}
		for _, s := range texts {
			if strings.Contains(s, p) || strings.Contains(s, p[:16]) {
				t.Fatalf("token material leaked into %q", s)
			}
		}
	}
}

func TestExpiredMessage(t *testing.T) {
	h := newHarness(t)
	exp := h.clock.Now().Unix() - 3600
	_, err := h.verify(mint(t, h.rsa, h.claims(map[string]any{"exp": exp}), nil))
	e := asError(t, err)
	want := fmt.Sprintf("Token expired: current date/time %d must be before the expiration date/time %d", h.clock.Now().Unix(), exp)
	if e.Code != "ExpiredTokenException" || e.Message != want {
		t.Fatalf("got %s %q want %q", e.Code, e.Message, want)
	}
}

func TestHeaderKeyURLsNeverFetched(t *testing.T) {
	h := newHarness(t)
	attacker := newIDP(t, nil)
	evil := signingKey{kid: "rsa-1", alg: "RS256", priv: rsaKeys[2]}
	attacker.publish(evil)
	evilJWK := evil.jwk()
	evilJWK.Use = ""
	jwkJSON, _ := evilJWK.MarshalJSON()
	var jwkMap map[string]any
	if err := json.Unmarshal(jwkJSON, &jwkMap); err != nil {
		t.Fatal(err)
	}
	for _, kid := range []string{"rsa-1", "attacker-kid"} {
		for _, hdr := range []map[string]any{
			{"jku": attacker.issuer() + "/jwks"},
			{"x5u": attacker.issuer() + "/cert.pem"},
			{"jwk": jwkMap},
			{"jku": attacker.issuer() + "/jwks", "x5u": attacker.issuer() + "/x5u", "jwk": jwkMap},
		} {
			hdr["kid"] = kid
			_, err := h.verify(mint(t, signingKey{kid, "RS256", evil.priv}, h.claims(nil), hdr))
			e := asError(t, err)
			want := ReasonSignature
			if kid != "rsa-1" {
				want = ReasonKeyRetrieval
			}
			if e.Reason != want || e.Code != CodeInvalidIdentityToken {
				t.Fatalf("kid %s hdr %v: got %v %q", kid, hdr, e.Reason, e.Message)
			}
			h.clock.Advance(time.Minute)
		}
	}
	if d, j := attacker.hits(); d != 0 || j != 0 {
		t.Fatalf("attacker server received %d discovery and %d JWKS requests", d, j)
	}
}

func TestHTTPIssuerNotContacted(t *testing.T) {
	h := newHarness(t)
	h.lookup = func(context.Context, string) (Provider, bool, error) { return h.prov, true, nil }
	_, err := h.verify(mint(t, h.rsa, h.claims(map[string]any{"iss": "http://" + h.idp.iamURL()}), nil))
	if e := asError(t, err); e.Reason != ReasonIssuer || e.Message != MessageNoProviderPrefix+"http://"+h.idp.iamURL() {
		t.Fatalf("got %v %q", e.Reason, e.Message)
	}
	if d, j := h.idp.hits(); d+j != 0 {
		t.Fatalf("IdP contacted: %d %d", d, j)
	}
}

func TestRefreshOnUnknownKid(t *testing.T) {
	h := newHarness(t)
	if _, err := h.verify(mint(t, h.rsa, h.claims(nil), nil)); err != nil {
		t.Fatal(err)
	}
	h.idp.publish(h.rsa, h.rsa2) // rotation: new key published
	h.clock.Advance(DefaultMinRefreshInterval)
	tok, err := h.verify(mint(t, h.rsa2, h.claims(nil), nil))
	if err != nil {
		t.Fatalf("new key not picked up: %v (%s)", err, detailOf(err))
	}
	if tok.KeyID != "rsa-2" {
		t.Fatal(tok.KeyID)
	}
	if d, j := h.idp.hits(); d != 2 || j != 2 {
		t.Fatalf("hits %d/%d, want 2/2", d, j)
	}
	// Cached keys: no further fetch.
	for range 5 {
		if _, err := h.verify(mint(t, h.rsa, h.claims(nil), nil)); err != nil {
			t.Fatal(err)
		}
	}
	if d, j := h.idp.hits(); d != 2 || j != 2 {
		t.Fatalf("hits %d/%d after cached verifications", d, j)
	}
}

func TestRefreshRateLimited(t *testing.T) {
	h := newHarness(t)
	if _, err := h.verify(mint(t, h.rsa, h.claims(nil), nil)); err != nil {
		t.Fatal(err)
	}
	h.clock.Advance(DefaultMinRefreshInterval)
	spray := func() *Error {
		t.Helper()
		kid := make([]byte, 8)
		rand.Read(kid)
		_, err := h.verify(mint(t, signingKey{fmt.Sprintf("%x", kid), "RS256", h.rsa.priv}, h.claims(nil), nil))
		return asError(t, err)
	}
	if e := spray(); e.Reason != ReasonKeyRetrieval || e.Message != MessageKeyRetrieval {
		t.Fatalf("%v %q", e.Reason, e.Message)
	}
	if _, j := h.idp.hits(); j != 2 {
		t.Fatalf("jwks hits %d, want 2 (one refresh)", j)
	}
	for range 20 {
		if e := spray(); e.Reason != ReasonKeyRetrieval {
			t.Fatal(e.Reason)
		}
	}
	if _, j := h.idp.hits(); j != 2 {
		t.Fatalf("jwks hits %d, want still 2: refresh must be rate-limited", j)
	}
	// Known keys keep working while unknown kids are refused.
	if _, err := h.verify(mint(t, h.rsa, h.claims(nil), nil)); err != nil {
		t.Fatal(err)
	}
	h.clock.Advance(DefaultMinRefreshInterval)
	spray()
	if _, j := h.idp.hits(); j != 3 {
		t.Fatalf("jwks hits %d, want 3 after the interval", j)
	}
}

func TestCacheTTLFromCacheControl(t *testing.T) {
	h := newHarness(t)
	h.idp.set(func(i *idp) { i.cacheControl = "public, max-age=120" })
	tok := func() string { return mint(t, h.rsa, h.claims(nil), nil) }
	if _, err := h.verify(tok()); err != nil {
		t.Fatal(err)
	}
	h.clock.Advance(119 * time.Second)
	if _, err := h.verify(tok()); err != nil {
		t.Fatal(err)
	}
	if _, j := h.idp.hits(); j != 1 {
		t.Fatalf("refetched before max-age: %d", j)
	}
	h.clock.Advance(2 * time.Second)
	if _, err := h.verify(tok()); err != nil {
		t.Fatal(err)
	}
	if _, j := h.idp.hits(); j != 2 {
		t.Fatalf("not refetched after max-age: %d", j)
	}
	// After expiry a retired key stops working.
	h.idp.publish(h.rsa2)
	h.clock.Advance(121 * time.Second)
	_, err := h.verify(tok())
	if e := asError(t, err); e.Reason != ReasonKeyRetrieval {
		t.Fatal(e.Reason)
	}
}

func TestTTLClamp(t *testing.T) {
	v, _ := NewVerifier(Config{})
	for cc, want := range map[string]time.Duration{
		"":                    DefaultCacheTTL,
		"max-age=0":           MinCacheTTL,
		"no-store":            MinCacheTTL,
		"max-age=5":           MinCacheTTL,
		"max-age=600":         10 * time.Minute,
		"Max-Age=99999999999": MaxCacheTTL,
		"max-age=bogus":       DefaultCacheTTL,
	} {
		if got := v.ttl(cc); got != want {
			t.Errorf("%q: %v want %v", cc, got, want)
		}
	}
}

func TestKeyRetrievalFailures(t *testing.T) {
	cases := []struct {
		name string
		f    func(h *harness)
	}{
		{"discovery 404", func(h *harness) { h.idp.set(func(i *idp) { i.discStatus = 404 }) }},
		{"jwks 500", func(h *harness) { h.idp.set(func(i *idp) { i.jwksStatus = 500 }) }},
		{"discovery not JSON", func(h *harness) { h.idp.set(func(i *idp) { i.discBody = "<html>" }) }},
		{"jwks not JSON", func(h *harness) { h.idp.set(func(i *idp) { i.jwksBody = "{" }) }},
		{"jwks without keys", func(h *harness) { h.idp.set(func(i *idp) { i.jwksBody = `{"foo":[]}` }) }},
		{"jwks_uri over http", func(h *harness) {
			h.idp.set(func(i *idp) { i.discBody = `{"jwks_uri":"http://` + i.srv.Listener.Addr().String() + `/jwks"}` })
		}},
		{"jwks too large", func(h *harness) {
			h.idp.set(func(i *idp) { i.jwksBody = `{"keys":[],"pad":"` + strings.Repeat("a", MaxDocumentSize) + `"}` })
		}},
		{"only a symmetric key", func(h *harness) {
			h.idp.set(func(i *idp) {
				i.jwksBody = `{"keys":[{"kty":"oct","kid":"rsa-1","k":"c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0"}]}`
			})
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			tc.f(h)
			_, err := h.verify(mint(t, h.rsa, h.claims(nil), nil))
			e := asError(t, err)
			if e.Code != CodeInvalidIdentityToken || e.Message != MessageKeyRetrieval || e.Reason != ReasonKeyRetrieval || !e.Retryable() {
				t.Fatalf("got %s %q %v (%s)", e.Code, e.Message, e.Reason, e.Detail)
			}
		})
	}
}

// TestUnreachableIdP: an identity provider that does not answer is
// IDPCommunicationError, retryable, not InvalidIdentityToken.
func TestUnreachableIdP(t *testing.T) {
	h := newHarness(t)
	h.idp.srv.Close()
	_, err := h.verify(mint(t, h.rsa, h.claims(nil), nil))
	e := asError(t, err)
	if e.Code != CodeIDPCommunicationError || e.Message != MessageIDPCommunication || e.Reason != ReasonKeyRetrieval || !e.Retryable() {
		t.Fatalf("got %s %q %v (%s)", e.Code, e.Message, e.Reason, e.Detail)
	}
}

func TestSlowIdPAndNegativeCache(t *testing.T) {
	h := newHarness(t, func(c *Config, _ *Provider) { c.FetchTimeout = time.Second })
	h.idp.set(func(i *idp) { i.block = true })
	start := time.Now()
	_, err := h.verify(mint(t, h.rsa, h.claims(nil), nil))
	if took := time.Since(start); took > 4*time.Second {
		t.Fatalf("took %v", took)
	}
	e := asError(t, err)
	if e.Reason != ReasonKeyRetrieval || e.Code != CodeIDPCommunicationError || !strings.Contains(e.Detail, "timeout") {
		t.Fatalf("got %v %q (%s)", e.Reason, e.Message, e.Detail)
	}
	// Within NegativeTTL the failure is answered from the cache.
	h.idp.set(func(i *idp) { i.block = false })
	_, err = h.verify(mint(t, h.rsa, h.claims(nil), nil))
	if e := asError(t, err); e.Reason != ReasonKeyRetrieval {
		t.Fatal(e.Reason)
	}
	if d, _ := h.idp.hits(); d != 1 {
		t.Fatalf("discovery hits %d, want 1 (negative cache)", d)
	}
	h.clock.Advance(DefaultNegativeTTL)
	if _, err := h.verify(mint(t, h.rsa, h.claims(nil), nil)); err != nil {
		t.Fatalf("after NegativeTTL: %v (%s)", err, detailOf(err))
	}
}

func TestSingleFlightColdCache(t *testing.T) {
	h := newHarness(t)
	h.idp.set(func(i *idp) { i.discDelay = 100 * time.Millisecond })
	tok := mint(t, h.rsa, h.claims(nil), nil)
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for range 64 {
		wg.Go(func() {
			if _, err := h.verify(tok); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if d, j := h.idp.hits(); d != 1 || j != 1 {
		t.Fatalf("hits %d/%d, want exactly 1/1", d, j)
	}
}

func TestCallerCancelDoesNotPoisonFetch(t *testing.T) {
	h := newHarness(t)
	h.idp.set(func(i *idp) { i.discDelay = 200 * time.Millisecond })
	tok := mint(t, h.rsa, h.claims(nil), nil)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if _, err := h.v.Verify(ctx, tok, h.lookup); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("got %v", err)
	}
	if _, err := h.verify(tok); err != nil {
		t.Fatal(err)
	}
	if d, _ := h.idp.hits(); d != 1 {
		t.Fatalf("discovery hits %d", d)
	}
}

func TestLookupErrorPassedThrough(t *testing.T) {
	h := newHarness(t)
	boom := errors.New("store down")
	h.lookup = func(context.Context, string) (Provider, bool, error) { return Provider{}, false, boom }
	_, err := h.verify(mint(t, h.rsa, h.claims(nil), nil))
	var e *Error
	if !errors.Is(err, boom) || errors.As(err, &e) {
		t.Fatalf("got %v", err)
	}
}

func TestNoTokenInLogs(t *testing.T) {
	var buf bytes.Buffer
	h := newHarness(t, func(c *Config, _ *Provider) {
		c.Logger = slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	})
	tok := mint(t, h.rsa3, h.claims(nil), nil)
	h.verify(tok)
	h.idp.set(func(i *idp) { i.jwksStatus = 503 })
	h.clock.Advance(time.Hour)
	h.verify(tok)
	if buf.Len() == 0 {
		t.Fatal("expected fetch logs")
	}
	assertNoToken(t, tok, buf.String())
}

func TestParseUnverified(t *testing.T) {
	h := newHarness(t)
	hdr, claims, err := ParseUnverified(mint(t, h.rsa, h.claims(nil), map[string]any{"jku": "https://x"}))
	if err != nil {
		t.Fatal(err)
	}
	if hdr["kid"] != "rsa-1" || hdr["jku"] != "https://x" || claims["aud"] != testAud {
		t.Fatalf("%v %v", hdr, claims)
	}
	if _, _, err := ParseUnverified("a.b"); asError(t, err).Reason != ReasonMalformed {
		t.Fatal(err)
	}
}

func TestFetchKeys(t *testing.T) {
	h := newHarness(t)
	info, err := h.v.FetchKeys(context.Background(), h.idp.issuer(), h.prov)
	if err != nil {
		t.Fatal(err)
	}
	if len(info.Keys) != 3 || info.Keys[0].KeyID != "ec-1" || info.TrustedBy != "ca" ||
		info.Thumbprints[h.idp.iamURL()] != Thumbprint(h.idp.srv.Certificate()) {
		t.Fatalf("%+v", info)
	}
	// FetchKeys does not fill the Verify cache.
	if d, _ := h.idp.hits(); d != 1 {
		t.Fatal(d)
	}
	h.verify(mint(t, h.rsa, h.claims(nil), nil))
	if d, _ := h.idp.hits(); d != 2 {
		t.Fatal(d)
	}
}
