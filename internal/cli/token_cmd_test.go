package cli

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"encoding/pem"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// TestTokenInspectCmdTokenSource checks where `token inspect` takes the token from:
// the argument, then "-", then standard input that is not a terminal and holds a
// token, then BITBUCKET_STEP_OIDC_TOKEN.
func TestTokenInspectCmdTokenSource(t *testing.T) {
	tok := func(sub string) string {
		return explainCmdToken(map[string]any{"iss": "https://" + explainCmdIssuer, "aud": explainCmdAudience, "sub": sub, "exp": time.Now().Add(time.Hour).Unix()})
	}
	arg, stdin, env := tok("from-argument"), tok("from-stdin"), tok("from-env")
	cases := []struct {
		name    string
		args    []string
		stdin   string
		env     string
		wantSub string // "" means the command fails with "no token"
	}{
		{"the argument comes first", []string{arg}, stdin, env, "from-argument"},
		{"- reads standard input", []string{"-"}, stdin + "\n", env, "from-stdin"},
		{"piped standard input before the environment", nil, stdin + "\n", env, "from-stdin"},
		{"piped standard input without the environment", nil, stdin + "\n", "", "from-stdin"},
		{"empty standard input falls back to the environment", nil, "", env, "from-env"},
		{"nothing anywhere", nil, "  \n", "", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			explainCmdEnv(t)
			t.Setenv("BITBUCKET_STEP_OIDC_TOKEN", tc.env)
			args := append([]string{"token", "inspect", "--output", "json"}, tc.args...)
			code, out, errOut := explainCmdRun(t, strings.NewReader(tc.stdin), args...)
			if tc.wantSub == "" {
				if code != 1 || !strings.Contains(errOut, "no token") || !strings.Contains(errOut, "standard input") {
					t.Errorf("exit %d, stderr %q; want exit 1 and no token", code, errOut)
				}
				return
			}
			var in struct {
				Claims map[string]any `json:"claims"`
			}
			if code != 0 || json.Unmarshal([]byte(out), &in) != nil {
				t.Fatalf("exit %d\nstdout: %s\nstderr: %s", code, out, errOut)
			}
			if in.Claims["sub"] != tc.wantSub {
				t.Errorf("inspected the token with sub %v, want %s", in.Claims["sub"], tc.wantSub)
			}
		})
	}
}

// TestTokenInspectCmdStdinFile checks the help's own example, `keyless token inspect
// --output json < token.jwt`: standard input is a file, not a terminal.
func TestTokenInspectCmdStdinFile(t *testing.T) {
	explainCmdEnv(t)
	path := filepath.Join(t.TempDir(), "token.jwt")
	if err := os.WriteFile(path, []byte(explainCmdToken(map[string]any{"iss": "https://" + explainCmdIssuer, "sub": "from-file", "exp": time.Now().Add(time.Hour).Unix()})+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	code, out, errOut := explainCmdRun(t, f, "token", "inspect", "--output", "json")
	if code != 0 || !strings.Contains(out, `"sub": "from-file"`) {
		t.Errorf("exit %d\nstdout: %s\nstderr: %s", code, out, errOut)
	}
}

// TestTokenInspectCmdVerify checks what --verify says of a good token, an expired one
// with a valid signature, and a bad signature.
func TestTokenInspectCmdVerify(t *testing.T) {
	explainCmdEnv(t)
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	other, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	var srv *httptest.Server
	srv = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/.well-known/openid-configuration":
			json.NewEncoder(w).Encode(map[string]string{"issuer": srv.URL, "jwks_uri": srv.URL + "/keys.json"})
		case "/keys.json":
			json.NewEncoder(w).Encode(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &key.PublicKey, KeyID: "k1", Algorithm: "RS256", Use: "sig"}}})
		default:
			http.NotFound(w, r)
		}
	}))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.StartTLS()
	defer srv.Close()
	ca := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	sign := func(k *rsa.PrivateKey, iat, exp time.Time) string {
		s, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: k}, (&jose.SignerOptions{}).WithHeader("kid", "k1"))
		if err != nil {
			t.Fatal(err)
		}
		payload, _ := json.Marshal(map[string]any{"iss": srv.URL, "aud": explainCmdAudience, "sub": "{web}:{step}", "iat": iat.Unix(), "exp": exp.Unix()})
		jws, err := s.Sign(payload)
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := jws.CompactSerialize()
		return raw
	}
	now := time.Now()
	exp := now.Add(-time.Hour).Truncate(time.Second)
	cases := []struct {
		name      string
		token     string
		code      int
		signature string         // prefix of the "Signature:" line
		stderr    *regexp.Regexp // nil: nothing on stderr
		result    string         // verification.result in --output json
	}{
		{"valid", sign(key, now, now.Add(time.Hour)), 0, "Signature: ok\n", nil, "ok"},
		{"expired", sign(key, exp.Add(-time.Hour), exp), 1, "Signature: valid, but the token expired at " + exp.UTC().Format(time.RFC3339),
			regexp.MustCompile(`^keyless: token expired at ` + regexp.QuoteMeta(exp.UTC().Format(time.RFC3339)) + ` \(1h0m\d+s ago\); the signature is valid\n$`), "expired"},
		{"bad signature", sign(other, now, now.Add(time.Hour)), 1, "Signature: FAILED: ",
			regexp.MustCompile(`^keyless: token signature did not verify with the issuer's key "k1"`), "bad-signature"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errOut := explainCmdRun(t, strings.NewReader(""), "token", "inspect", tc.token, "--verify", "--ca-bundle", ca)
			if code != tc.code || !strings.Contains(out, tc.signature) {
				t.Errorf("exit %d, want %d, and stdout lacks %q:\n%s", code, tc.code, tc.signature, out)
			}
			if tc.stderr == nil && errOut != "" || tc.stderr != nil && !tc.stderr.MatchString(errOut) {
				t.Errorf("stderr %q, want it to match %v", errOut, tc.stderr)
			}
			if strings.Contains(out+errOut, tc.token) || strings.Contains(out+errOut, tc.token[strings.LastIndex(tc.token, ".")+1:]) {
				t.Error("the output shows the token")
			}
			code, out, _ = explainCmdRun(t, strings.NewReader(""), "token", "inspect", tc.token, "--verify", "--ca-bundle", ca, "--output", "json")
			var in struct {
				Verification struct {
					Result         string `json:"result"`
					SignatureValid bool   `json:"signatureValid"`
				} `json:"verification"`
			}
			if code != tc.code || json.Unmarshal([]byte(out), &in) != nil || in.Verification.Result != tc.result {
				t.Errorf("--output json: exit %d, verification %+v, want result %q\n%s", code, in.Verification, tc.result, out)
			}
		})
	}
}
