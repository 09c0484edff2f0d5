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

// TestMintAPIStatuses: every answer under /keyless/ is the JSON error document with
// the status the problem calls for, whatever the method, size, type or path.
func TestMintAPIStatuses(t *testing.T) {
	f := newFixture(t, issuer.KeyConfig{Algorithm: "ES256"}, true)
	h, cred := newHandler(t, f)
	const ok = `{"workspace":"acme","repository":"web"}`
	huge := `{"workspace":"acme","repository":"web","branch":"` + strings.Repeat("b", issuer.MaxMintBody) + `"}`
	tests := []struct {
		name, method, path, contentType, body string
		unknownLength                         bool // no Content-Length, as a chunked body
		status                                int
		code                                  string // "" for a minted token
		allow                                 string
	}{
		{name: "POST", method: "POST", path: issuer.MintPath, body: ok, status: 200},
		{name: "POST as JSON with a charset", method: "POST", path: issuer.MintPath, contentType: "application/json; charset=utf-8", body: ok, status: 200},
		{name: "GET", method: "GET", path: issuer.MintPath, status: 405, code: issuer.CodeMethodNotAllowed, allow: "POST"},
		{name: "PUT", method: "PUT", path: issuer.MintPath, body: ok, status: 405, code: issuer.CodeMethodNotAllowed, allow: "POST"},
		{name: "DELETE", method: "DELETE", path: issuer.MintPath, status: 405, code: issuer.CodeMethodNotAllowed, allow: "POST"},
		{name: "too large", method: "POST", path: issuer.MintPath, body: huge, status: 413, code: issuer.CodeRequestTooLarge},
		{name: "too large, chunked", method: "POST", path: issuer.MintPath, body: huge, unknownLength: true, status: 413, code: issuer.CodeRequestTooLarge},
		{name: "too large after the object", method: "POST", path: issuer.MintPath, body: ok + strings.Repeat(" ", issuer.MaxMintBody), unknownLength: true, status: 413, code: issuer.CodeRequestTooLarge},
		{name: "form encoded", method: "POST", path: issuer.MintPath, contentType: "application/x-www-form-urlencoded", body: "workspace=acme", status: 415, code: issuer.CodeUnsupportedMediaType},
		{name: "text", method: "POST", path: issuer.MintPath, contentType: "text/plain", body: ok, status: 415, code: issuer.CodeUnsupportedMediaType},
		{name: "malformed Content-Type", method: "POST", path: issuer.MintPath, contentType: "json;;", body: ok, status: 415, code: issuer.CodeUnsupportedMediaType},
		{name: "unknown path", method: "GET", path: "/keyless/v1/nope", status: 404, code: issuer.CodeNotFound},
		{name: "unknown path, POST", method: "POST", path: "/keyless/v1/tokens/extra", body: ok, status: 404, code: issuer.CodeNotFound},
		{name: "other version", method: "POST", path: "/keyless/v2/tokens", body: ok, status: 404, code: issuer.CodeNotFound},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req := httptest.NewRequest(tc.method, tc.path, strings.NewReader(tc.body))
			req.Header.Set("Authorization", "Bearer "+cred)
			if tc.contentType != "" {
				req.Header.Set("Content-Type", tc.contentType)
			}
			if tc.unknownLength {
				req.ContentLength = -1
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != tc.status {
				t.Fatalf("status %d, want %d; body %.200s", rec.Code, tc.status, rec.Body)
			}
			if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type %q, want application/json", ct)
			}
			if allow := rec.Header().Get("Allow"); allow != tc.allow {
				t.Errorf("Allow %q, want %q", allow, tc.allow)
			}
			if tc.code == "" {
				var out struct{ Token string }
				if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil || out.Token == "" {
					t.Fatalf("no token in %s", rec.Body)
				}
				return
			}
			var eb issuer.ErrorBody
			if err := json.Unmarshal(rec.Body.Bytes(), &eb); err != nil {
				t.Fatalf("error body %q: %v", rec.Body, err)
			}
			if eb.Error.Code != tc.code || eb.Error.Message == "" {
				t.Errorf("error %+v, want code %s with a message", eb.Error, tc.code)
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
