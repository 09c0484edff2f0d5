package issuer_test

import (
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/keyless-dev/keyless/issuer"
)

// FuzzMintRequest sends arbitrary bodies to the mint API: it must never fail with a
// 5xx or panic, and every refusal must be the documented JSON error.
func FuzzMintRequest(f *testing.F) {
	for _, seed := range []string{
		`{"workspace":"acme","repository":"web"}`,
		`{"workspace":"acme","repository":"web","environment":"production","branch":"main","audiences":["a","b"],"ttl":"15m"}`,
		`{"workspace":"acme","repository":"web","ttl":900,"repositoryUuid":"{4d1a2b3c-0000-4000-8000-0000000000aa}"}`,
		`{"workspace":"ACME"}`, `[]`, `{"ttl":"-1h"}`, `{"audiences":"x"}`, ``,
	} {
		f.Add(seed)
	}
	fx := newFixture(f, issuer.KeyConfig{Algorithm: "ES256"}, true)
	h, cred := newHandler(f, fx)
	f.Fuzz(func(t *testing.T, body string) {
		req := httptest.NewRequest("POST", issuer.MintPath, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+cred)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		switch rec.Code {
		case 200:
			var out struct{ Token string }
			if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil || strings.Count(out.Token, ".") != 2 {
				t.Fatalf("200 without a token: %s", rec.Body)
			}
		case 400, 403, 404, 409, 413:
			var eb issuer.ErrorBody
			if err := json.Unmarshal(rec.Body.Bytes(), &eb); err != nil || eb.Error.Code == "" || eb.Error.Message == "" {
				t.Fatalf("%d without an error document: %s", rec.Code, rec.Body)
			}
		default:
			t.Fatalf("body %q: status %d %s", body, rec.Code, rec.Body)
		}
	})
}
