package explain_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"errors"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/keyless-dev/keyless/explain"
	"github.com/keyless-dev/keyless/oidc"
)

// tlsIssuer publishes discovery and one RS256 key over HTTPS, as an identity
// provider does.
type tlsIssuer struct {
	srv  *httptest.Server
	key  *rsa.PrivateKey
	kid  string
	pool *x509.CertPool
}

func newTLSIssuer(t *testing.T) *tlsIssuer {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	is := &tlsIssuer{key: key, kid: "published-key"}
	is.srv = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch r.URL.Path {
		case "/.well-known/openid-configuration":
			json.NewEncoder(w).Encode(map[string]string{"issuer": is.srv.URL, "jwks_uri": is.srv.URL + "/keys.json"})
		case "/keys.json":
			json.NewEncoder(w).Encode(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &key.PublicKey, KeyID: is.kid, Algorithm: "RS256", Use: "sig"}}})
		default:
			http.NotFound(w, r)
		}
	}))
	is.srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the untrusted-certificate case fails handshakes on purpose
	is.srv.StartTLS()
	t.Cleanup(is.srv.Close)
	is.pool = x509.NewCertPool()
	is.pool.AddCert(is.srv.Certificate())
	return is
}

// sign makes a token of claims signed by key under kid.
func sign(t *testing.T, key *rsa.PrivateKey, kid string, claims map[string]any) string {
	t.Helper()
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: key}, (&jose.SignerOptions{}).WithHeader("kid", kid))
	if err != nil {
		t.Fatal(err)
	}
	payload, _ := json.Marshal(claims)
	jws, err := s.Sign(payload)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := jws.CompactSerialize()
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

func TestVerifyToken(t *testing.T) {
	is := newTLSIssuer(t)
	other, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	claims := func(iss string, iat, exp time.Time) map[string]any {
		return map[string]any{"iss": iss, "aud": "ari:cloud:bitbucket::workspace/x", "sub": "{r}:{s}", "iat": iat.Unix(), "exp": exp.Unix()}
	}
	fresh := claims(is.srv.URL, now.Add(-time.Minute), now.Add(time.Hour))
	closed := httptest.NewTLSServer(http.NotFoundHandler())
	closedURL := closed.URL
	closed.Close()

	cases := []struct {
		name      string
		token     string
		roots     *x509.CertPool
		result    explain.VerifyResult
		sigValid  bool
		message   string // substring of Message
		summary   string // prefix of Summary
		forbidden string // must not appear in Message
	}{
		{"valid", sign(t, is.key, is.kid, fresh), is.pool, explain.VerifyOK, true, "", "ok", ""},
		{"expired", sign(t, is.key, is.kid, claims(is.srv.URL, now.Add(-2*time.Hour), now.Add(-105*time.Minute))), is.pool,
			explain.VerifyExpired, true, "token expired at 2026-11-22T10:15:00Z (1h45m0s ago); the signature is valid", "valid, but the token expired at", "did not verify"},
		{"not yet valid", sign(t, is.key, is.kid, claims(is.srv.URL, now.Add(time.Hour), now.Add(2*time.Hour))), is.pool,
			explain.VerifyNotYetValid, true, "its iat is 2026-11-22T13:00:00Z (in 1h0m0s), beyond the 5 minutes of clock skew; the signature is valid", "valid, but", "did not verify"},
		{"unknown key", sign(t, is.key, "rotated-away", fresh), is.pool,
			explain.VerifyUnknownKey, false, `the issuer publishes no key with the token's kid "rotated-away" (it publishes ["published-key"]); the signature could not be checked`, "not checked:", "did not verify"},
		{"bad signature", sign(t, other, is.kid, fresh), is.pool,
			explain.VerifyBadSignature, false, `token signature did not verify with the issuer's key "published-key"`, "FAILED:", ""},
		{"issuer unreachable", sign(t, is.key, is.kid, claims(closedURL, now.Add(-time.Minute), now.Add(time.Hour))), is.pool,
			explain.VerifyIssuerUnreachable, false, "could not fetch the issuer's keys: GET " + closedURL + "/.well-known/openid-configuration", "not checked:", "did not verify"},
		{"untrusted certificate", sign(t, is.key, is.kid, fresh), x509.NewCertPool(),
			explain.VerifyUntrustedCertificate, false, "the issuer's HTTPS certificate is not trusted", "not checked:", "did not verify"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			v := explain.VerifyToken(context.Background(), tc.token, oidc.Config{RootCAs: tc.roots, Now: func() time.Time { return now }})
			if v.Result != tc.result || v.SignatureValid != tc.sigValid {
				t.Errorf("result %s signatureValid %v, want %s %v (message %q)", v.Result, v.SignatureValid, tc.result, tc.sigValid, v.Message)
			}
			if !strings.Contains(v.Message, tc.message) || tc.forbidden != "" && strings.Contains(v.Message, tc.forbidden) {
				t.Errorf("message %q, want it to contain %q and not %q", v.Message, tc.message, tc.forbidden)
			}
			if !strings.HasPrefix(v.Summary(), tc.summary) {
				t.Errorf("summary %q, want prefix %q", v.Summary(), tc.summary)
			}
			if strings.Contains(v.Message+v.Summary(), tc.token) || strings.Contains(v.Message, "\n") {
				t.Error("the message echoes the token or spans lines")
			}
		})
	}
}

// TestVerifyTokenAliasedIssuer: a token whose iss is a production URL that `keyless
// up` serves locally is verified against the keys of the local issuer it is aliased
// to, and says so; the production host is never dialled. Without the alias the
// verifier would go to that host (refused here by the test's dialer).
func TestVerifyTokenAliasedIssuer(t *testing.T) {
	const prod = "https://api.bitbucket.org/2.0/workspaces/acme/pipelines-config/identity/oidc"
	is := newTLSIssuer(t)
	local := strings.TrimPrefix(is.srv.URL, "https://")
	now := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	claims := map[string]any{"iss": prod, "aud": "ari:cloud:bitbucket::workspace/x", "sub": "{r}:{s}", "iat": now.Unix(), "exp": now.Add(time.Hour).Unix()}
	aliases := map[string]string{prod: is.srv.URL}
	for _, tc := range []struct {
		name    string
		token   string
		aliases map[string]string
		result  explain.VerifyResult
		summary string
		dialled string // the only address dialled
	}{
		{"aliased issuer", sign(t, is.key, is.kid, claims), aliases, explain.VerifyOK, "ok (keys of the local issuer " + is.srv.URL + ")", local},
		{"aliased issuer, unknown kid", sign(t, is.key, "rotated-away", claims), aliases, explain.VerifyUnknownKey, "not checked: the issuer publishes no key", local},
		{"no alias: the production host", sign(t, is.key, is.kid, claims), nil, explain.VerifyIssuerUnreachable, "not checked: could not fetch", "api.bitbucket.org:443"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var dialled []string
			dial := func(ctx context.Context, network, addr string) (net.Conn, error) {
				dialled = append(dialled, addr)
				if addr != local {
					return nil, errors.New("test dialer: refusing " + addr)
				}
				var d net.Dialer
				return d.DialContext(ctx, network, addr)
			}
			v := explain.VerifyToken(context.Background(), tc.token, oidc.Config{RootCAs: is.pool, Aliases: tc.aliases, DialContext: dial, Now: func() time.Time { return now }})
			if v.Result != tc.result || !strings.HasPrefix(v.Summary(), tc.summary) {
				t.Errorf("result %s summary %q, want %s %q", v.Result, v.Summary(), tc.result, tc.summary)
			}
			if want := tc.aliases[prod]; v.KeysFrom != want {
				t.Errorf("KeysFrom %q, want %q", v.KeysFrom, want)
			}
			if len(dialled) == 0 {
				t.Error("nothing dialled")
			}
			for _, a := range dialled {
				if a != tc.dialled {
					t.Errorf("dialled %s, want only %s", a, tc.dialled)
				}
			}
		})
	}
	// explain's signature check takes the same aliases.
	c := explain.OIDCChecker{RootCAs: is.pool, Aliases: aliases}
	if err := c.CheckSignature(context.Background(), sign(t, is.key, is.kid, claims), explain.ProviderForURL("arn:aws:iam::000000000000:role/r", prod, nil)); err != nil {
		t.Errorf("CheckSignature through the alias: %v", err)
	}
}
