package issuer_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/keyless-dev/keyless/issuer"
)

func newHandler(t testing.TB, f *fixture) (http.Handler, string) {
	t.Helper()
	runners := issuer.NewRunners(f.st, f.clk.Now)
	cred, _, err := runners.Create(context.Background(), "ci", nil)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	issuer.NewHandler(f.is, runners, nil).Register(mux)
	return mux, cred
}

func TestDiscoveryDocument(t *testing.T) {
	f := newFixture(t, issuer.KeyConfig{LeadTime: 30 * time.Minute}, true)
	h, _ := newHandler(t, f)
	const iss = "https://127.0.0.1:8443/2.0/workspaces/acme/pipelines-config/identity/oidc"
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/2.0/workspaces/acme/pipelines-config/identity/oidc/.well-known/openid-configuration", nil))
	if rec.Code != 200 || rec.Header().Get("Content-Type") != "application/json" {
		t.Fatalf("discovery: %d %s", rec.Code, rec.Header().Get("Content-Type"))
	}
	var doc map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"issuer":                                iss,
		"jwks_uri":                              iss + "/keys.json",
		"subject_types_supported":               []any{"public"},
		"response_types_supported":              []any{"id_token"},
		"id_token_signing_alg_values_supported": []any{"RS256"},
		"scopes_supported":                      []any{"openid"},
		"claims_supported":                      []any{"sub", "iss", "aud", "exp", "iat", "branchName", "compliant", "deploymentEnvironmentUuid", "pipelineUuid", "repositoryUuid", "stepUuid", "workspaceUuid"},
	}
	if !reflect.DeepEqual(doc, want) {
		t.Fatalf("discovery document\n got %v\nwant %v", doc, want)
	}

	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/2.0/workspaces/acme/pipelines-config/identity/oidc/keys.json", nil))
	if rec.Code != 200 {
		t.Fatalf("keys.json: %d", rec.Code)
	}
	if cc := rec.Header().Get("Cache-Control"); cc != "public, max-age=900" {
		t.Errorf("keys.json Cache-Control = %q, want half the 30m lead time (max-age=900)", cc)
	}
	if rec.Body.String() != string(f.keys.JWKS()) {
		t.Error("keys.json differs from the key set's JWKS")
	}

	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/2.0/workspaces/Not_Valid!/pipelines-config/identity/oidc/keys.json", nil))
	if rec.Code != 404 {
		t.Errorf("keys.json of an invalid workspace: %d, want 404", rec.Code)
	}
}

func TestDiscoveryOfUnknownWorkspaceWhenRegistrationIsOff(t *testing.T) {
	f := newFixture(t, issuer.KeyConfig{Algorithm: "ES256"}, false)
	h, _ := newHandler(t, f)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/2.0/workspaces/ghost/pipelines-config/identity/oidc/.well-known/openid-configuration", nil))
	if rec.Code != 404 {
		t.Fatalf("discovery for an unregistered workspace on a closed server: %d, want 404", rec.Code)
	}
}

func TestMintAPI(t *testing.T) {
	f := newFixture(t, issuer.KeyConfig{Algorithm: "ES256"}, true)
	h, cred := newHandler(t, f)
	post := func(auth, body string) *httptest.ResponseRecorder {
		req := httptest.NewRequest("POST", issuer.MintPath, strings.NewReader(body))
		if auth != "" {
			req.Header.Set("Authorization", "Bearer "+auth)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec
	}
	rec := post(cred, `{"workspace":"acme","repository":"web","environment":"production","ttl":"10m"}`)
	if rec.Code != 200 {
		t.Fatalf("mint: %d %s", rec.Code, rec.Body)
	}
	var out struct {
		Token  string         `json:"token"`
		Claims map[string]any `json:"claims"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(out.Claims, payload(t, out.Token)) {
		t.Errorf("claims in the response differ from the token's:\n%v\n%v", out.Claims, payload(t, out.Token))
	}
	if rec.Header().Get("Cache-Control") != "no-store" {
		t.Error("a minted token may be cached")
	}

	errCases := []struct {
		name, auth, body string
		status           int
		code             string
	}{
		{"no credential", "", `{"workspace":"acme","repository":"web"}`, 401, issuer.CodeUnauthorized},
		{"wrong secret", cred[:len(cred)-2] + "xx", `{"workspace":"acme","repository":"web"}`, 401, issuer.CodeUnauthorized},
		{"unknown runner", "klr_aaaaaaaaaaaaa_bbbb", `{"workspace":"acme","repository":"web"}`, 401, issuer.CodeUnauthorized},
		{"not json", cred, `workspace=acme`, 400, issuer.CodeInvalidRequest},
		{"unknown field", cred, `{"workspace":"acme","repository":"web","repo":"x"}`, 400, issuer.CodeInvalidRequest},
		{"trailing data", cred, `{"workspace":"acme","repository":"web"}{}`, 400, issuer.CodeInvalidRequest},
		{"bad ttl", cred, `{"workspace":"acme","repository":"web","ttl":"soon"}`, 400, issuer.CodeInvalidRequest},
		{"invalid name", cred, `{"workspace":"ACME","repository":"web"}`, 400, issuer.CodeInvalidRequest},
	}
	for _, tc := range errCases {
		t.Run(tc.name, func(t *testing.T) {
			rec := post(tc.auth, tc.body)
			var eb issuer.ErrorBody
			if err := json.Unmarshal(rec.Body.Bytes(), &eb); err != nil {
				t.Fatalf("error body %q: %v", rec.Body, err)
			}
			if rec.Code != tc.status || eb.Error.Code != tc.code || eb.Error.Message == "" {
				t.Fatalf("got %d %+v, want %d %s with a message", rec.Code, eb.Error, tc.status, tc.code)
			}
		})
	}
}

func TestRunnerLimitedToWorkspaces(t *testing.T) {
	f := newFixture(t, issuer.KeyConfig{Algorithm: "ES256"}, true)
	runners := issuer.NewRunners(f.st, f.clk.Now)
	cred, _, err := runners.Create(context.Background(), "acme-only", []string{"acme"})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	issuer.NewHandler(f.is, runners, nil).Register(mux)
	for ws, want := range map[string]int{"acme": 200, "other": 403} {
		req := httptest.NewRequest("POST", issuer.MintPath, strings.NewReader(`{"workspace":"`+ws+`","repository":"web"}`))
		req.Header.Set("Authorization", "Bearer "+cred)
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, req)
		if rec.Code != want {
			t.Errorf("workspace %s: %d, want %d", ws, rec.Code, want)
		}
	}
}

// BenchmarkMint measures tokens minted per second through the mint handler (runner
// authentication, JSON decoding, name resolution, claims, RS256 signature) next to the
// raw RS256 signing rate of the same key size in the same run.
func BenchmarkMint(b *testing.B) {
	f := newFixture(b, issuer.KeyConfig{}, true)
	h, cred := newHandler(b, f)
	body := `{"workspace":"acme","repository":"web","environment":"production","branch":"main"}`
	b.Run("handler", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				req := httptest.NewRequest("POST", issuer.MintPath, strings.NewReader(body))
				req.Header.Set("Authorization", "Bearer "+cred)
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, req)
				if rec.Code != 200 {
					b.Fatalf("mint: %d %s", rec.Code, rec.Body)
				}
			}
		})
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "tokens/s")
	})
	b.Run("raw-rs256-sign", func(b *testing.B) {
		key, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			b.Fatal(err)
		}
		digest := sha256.Sum256([]byte(body))
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := rsa.SignPKCS1v15(rand.Reader, key, cryptoSHA256, digest[:]); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "signatures/s")
	})
}
