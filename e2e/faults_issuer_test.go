package e2e

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// externalIssuer is an OpenID Connect issuer the drill controls: discovery and a JWKS
// over HTTPS on loopback, behind a proxy that can cut it off, and RSA keys to sign
// tokens with.
type externalIssuer struct {
	t     *testing.T
	proxy *tcpProxy
	url   string // https://127.0.0.1:PORT, the proxy's address
	thumb string // SHA-1 thumbprint of the server's certificate

	mu        sync.Mutex
	keys      map[string]*rsa.PrivateKey
	published []string // kids in the JWKS
}

func startExternalIssuer(t *testing.T) *externalIssuer {
	t.Helper()
	iss := &externalIssuer{t: t, keys: map[string]*rsa.PrivateKey{}}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(iss.serve))
	srv.StartTLS()
	t.Cleanup(srv.Close)
	iss.proxy = startTCPProxy(t, srv.Listener.Addr().String())
	iss.url = "https://" + iss.proxy.addr
	sum := sha1.Sum(srv.Certificate().Raw)
	iss.thumb = hex.EncodeToString(sum[:])
	return iss
}

func (iss *externalIssuer) serve(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	switch r.URL.Path {
	case "/.well-known/openid-configuration":
		json.NewEncoder(w).Encode(map[string]string{"issuer": iss.url, "jwks_uri": iss.url + "/jwks"})
	case "/jwks":
		iss.mu.Lock()
		var set jose.JSONWebKeySet
		for _, kid := range iss.published {
			set.Keys = append(set.Keys, jose.JSONWebKey{Key: &iss.keys[kid].PublicKey, KeyID: kid, Algorithm: "RS256", Use: "sig"})
		}
		iss.mu.Unlock()
		w.Header().Set("Cache-Control", "max-age=3600")
		json.NewEncoder(w).Encode(set)
	default:
		http.NotFound(w, r)
	}
}

// publish adds a new RSA key under kid to the JWKS.
func (iss *externalIssuer) publish(kid string) {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		iss.t.Fatal(err)
	}
	iss.mu.Lock()
	defer iss.mu.Unlock()
	iss.keys[kid] = k
	iss.published = append(iss.published, kid)
}

// token signs a token for sub and aud with the key kid.
func (iss *externalIssuer) token(kid, sub, aud string) string {
	iss.mu.Lock()
	k := iss.keys[kid]
	iss.mu.Unlock()
	sig, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: k}, (&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", kid))
	if err != nil {
		iss.t.Fatal(err)
	}
	now := time.Now()
	tok, err := jwt.Signed(sig).Claims(jwt.Claims{Issuer: iss.url, Subject: sub, Audience: jwt.Audience{aud},
		IssuedAt: jwt.NewNumericDate(now), NotBefore: jwt.NewNumericDate(now), Expiry: jwt.NewNumericDate(now.Add(time.Hour))}).Serialize()
	if err != nil {
		iss.t.Fatal(err)
	}
	return tok
}

// TestFaultIssuerUnreachable registers an external issuer with keyless up and cuts it
// off: tokens signed with keys keyless has cached are still admitted; a token with a
// kid it has not seen gets IDPCommunicationError (400) once keyless has tried the
// issuer again; and when the issuer is back, that token is admitted with no action
// by anyone.
func TestFaultIssuerUnreachable(t *testing.T) {
	iss := startExternalIssuer(t)
	iss.publish("k1")
	p := startUp(t, t.TempDir())
	ctx := context.Background()
	const aud = "sts.amazonaws.com"
	c := iam.NewFromConfig(rootConfig(p))
	prov, err := c.CreateOpenIDConnectProvider(ctx, &iam.CreateOpenIDConnectProviderInput{Url: aws.String(iss.url), ClientIDList: []string{aud}, ThumbprintList: []string{iss.thumb}})
	if err != nil {
		t.Fatal(err)
	}
	host := strings.TrimPrefix(iss.url, "https://")
	role, err := c.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("external"), AssumeRolePolicyDocument: aws.String(trustPolicy(
		aws.ToString(prov.OpenIDConnectProviderArn), host, map[string]any{"StringEquals": map[string]any{host + ":aud": aud, host + ":sub": "pipeline"}}))})
	if err != nil {
		t.Fatal(err)
	}
	roleARN, endpoint := aws.ToString(role.Role.Arn), p.env["KEYLESS_ENDPOINT"]

	if _, err := exchange(ctx, endpoint, roleARN, "before", iss.token("k1", "pipeline", aud)); err != nil {
		t.Fatalf("exchange with the issuer up: %v", err)
	}
	fetched := time.Now() // keyless has fetched the issuer's keys

	iss.proxy.cut()
	if _, err := exchange(ctx, endpoint, roleARN, "cached", iss.token("k1", "pipeline", aud)); err != nil {
		t.Errorf("exchange of a token whose key is cached, with the issuer down: %v", err)
	}
	// A new key, which keyless has not seen. An unknown kid makes keyless fetch
	// the keys again, at most once per 10 s (oidc.DefaultMinRefreshInterval).
	iss.publish("k2")
	time.Sleep(time.Until(fetched.Add(10*time.Second + 200*time.Millisecond)))
	_, err = exchange(ctx, endpoint, roleARN, "unknown-kid", iss.token("k2", "pipeline", aud))
	if code, status := apiError(err); code != "IDPCommunicationError" || status != http.StatusBadRequest {
		t.Errorf("exchange of a token with an unknown kid, with the issuer down: %v (code %q, status %d), want IDPCommunicationError 400", err, code, status)
	}
	if logs := p.settledStderr(); !strings.Contains(logs, "oidc: key fetch failed") {
		t.Errorf("the log does not say the key fetch failed:\n%s", tail(logs, 20))
	}

	iss.proxy.restore()
	waitFor(t, 30*time.Second, "exchange of the new key's token after the issuer returned", func() bool {
		_, err := exchange(ctx, endpoint, roleARN, "after", iss.token("k2", "pipeline", aud))
		return err == nil
	})
	if _, err := exchange(ctx, endpoint, roleARN, "after", iss.token("k1", "pipeline", aud)); err != nil {
		t.Errorf("exchange with the first key after the issuer returned: %v", err)
	}
}
