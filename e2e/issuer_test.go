package e2e

import (
	"context"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"

	"github.com/keyless-dev/keyless/internal/testenv"
)

type minted struct {
	Token  string         `json:"token"`
	Claims map[string]any `json:"claims"`
}

func mintJSON(t testing.TB, env map[string]string, args ...string) minted {
	t.Helper()
	out, errOut, code := run(t, withEnv(env), append([]string{"token", "mint", "--output", "json"}, args...)...)
	if code != 0 {
		t.Fatalf("token mint %v: exit %d: %s", args, code, errOut)
	}
	var m minted
	if err := json.Unmarshal([]byte(out), &m); err != nil {
		t.Fatalf("token mint --output json printed %q: %v", out, err)
	}
	return m
}

func TestUpWritesEnvFile(t *testing.T) {
	p := startUp(t, t.TempDir())
	fi, err := os.Stat(filepath.Join(p.data, "env"))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("env file mode %v, want 0600", fi.Mode().Perm())
	}
	for _, k := range []string{"KEYLESS_ENDPOINT", "KEYLESS_ISSUER", "KEYLESS_CA_BUNDLE", "KEYLESS_ACCOUNT_ID", "KEYLESS_ROOT_ACCESS_KEY_ID", "KEYLESS_ROOT_SECRET_ACCESS_KEY", "KEYLESS_DATA", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_STS"} {
		if p.env[k] == "" {
			t.Errorf("env file lacks %s", k)
		}
	}
	if p.env["KEYLESS_ACCOUNT_ID"] != "000000000000" {
		t.Errorf("KEYLESS_ACCOUNT_ID = %q", p.env["KEYLESS_ACCOUNT_ID"])
	}
	if !strings.HasPrefix(p.env["KEYLESS_ROOT_ACCESS_KEY_ID"], "AKIA") || len(p.env["KEYLESS_ROOT_ACCESS_KEY_ID"]) != 20 || len(p.env["KEYLESS_ROOT_SECRET_ACCESS_KEY"]) != 40 {
		t.Errorf("root credentials have the wrong shape: %q", p.env["KEYLESS_ROOT_ACCESS_KEY_ID"])
	}
	if !strings.HasPrefix(p.env["KEYLESS_ISSUER"], "https://127.0.0.1:") || !strings.HasSuffix(p.env["KEYLESS_ISSUER"], "/2.0/workspaces/keyless/pipelines-config/identity/oidc") {
		t.Errorf("KEYLESS_ISSUER = %q", p.env["KEYLESS_ISSUER"])
	}
	// The banner follows readiness (the env file, /healthz) by a moment.
	waitFor(t, 10*time.Second, "the banner on stdout", func() bool { return strings.Contains(p.stdout.String(), "keyless up: ready") })
	if !strings.Contains(p.stdout.String(), filepath.Join(p.data, "env")) {
		t.Errorf("banner does not say how to use the server:\n%s", p.stdout)
	}
	if strings.Contains(p.stdout.String()+p.stderr.String(), p.env["KEYLESS_ROOT_SECRET_ACCESS_KEY"]) {
		t.Error("the root secret key was printed")
	}
	if err := p.stop(); err != nil {
		t.Fatalf("SIGTERM: %v (stderr %s)", err, p.stderr)
	}
}

func TestMintedTokensVerifyWithGoOIDC(t *testing.T) {
	p := startUp(t, t.TempDir())
	ctx := oidc.ClientContext(context.Background(), caClient(t, p.env))
	m := mintJSON(t, p.env, "--workspace", "acme", "--repository", "web", "--environment", "production", "--branch", "main")
	iss := m.Claims["iss"].(string)
	provider, err := oidc.NewProvider(ctx, iss)
	if err != nil {
		t.Fatalf("go-oidc discovery of %s: %v", iss, err)
	}
	aud := m.Claims["aud"].(string)
	idt, err := provider.Verifier(&oidc.Config{ClientID: aud}).Verify(ctx, m.Token)
	if err != nil {
		t.Fatalf("go-oidc rejected a minted token: %v", err)
	}
	if idt.Subject != m.Claims["sub"] || idt.Issuer != iss {
		t.Errorf("verified sub %q iss %q, want %v %v", idt.Subject, idt.Issuer, m.Claims["sub"], iss)
	}
	var claims struct {
		Repo   string `json:"repositoryUuid"`
		Env    string `json:"deploymentEnvironmentUuid"`
		Branch string `json:"branchName"`
	}
	if err := idt.Claims(&claims); err != nil {
		t.Fatal(err)
	}
	if claims.Branch != "main" || claims.Env == "" || !strings.HasPrefix(idt.Subject, claims.Repo+":"+claims.Env+":") {
		t.Errorf("claims %+v do not match sub %s", claims, idt.Subject)
	}

	custom := mintJSON(t, p.env, "--workspace", "acme", "--repository", "web", "--audience", "sts.amazonaws.com", "--audience", "other")
	if _, err := provider.Verifier(&oidc.Config{ClientID: "sts.amazonaws.com"}).Verify(ctx, custom.Token); err != nil {
		t.Errorf("go-oidc rejected a token with custom audiences: %v", err)
	}
	if _, err := provider.Verifier(&oidc.Config{ClientID: "sts.amazonaws.com"}).Verify(ctx, m.Token); err == nil {
		t.Error("go-oidc accepted a token for the wrong audience: the check is not real")
	}
}

// joserfcVerify is run by python3: it fetches discovery and keys.json over HTTPS
// trusting the CA bundle, then verifies the token and its registered claims with joserfc.
const joserfcVerify = `
import json, ssl, sys, time, urllib.request
from joserfc import jwt
from joserfc.jwk import KeySet
token, issuer, audience, cafile = sys.argv[1:5]
ctx = ssl.create_default_context(cafile=cafile)
def get(url):
    with urllib.request.urlopen(url, context=ctx, timeout=10) as r:
        return json.load(r)
disc = get(issuer + "/.well-known/openid-configuration")
assert disc["issuer"] == issuer, disc
keys = KeySet.import_key_set(get(disc["jwks_uri"]))
tok = jwt.decode(token, keys, algorithms=disc["id_token_signing_alg_values_supported"])
reg = jwt.JWTClaimsRegistry(iss={"essential": True, "value": issuer}, aud={"essential": True, "value": audience}, exp={"essential": True}, sub={"essential": True})
reg.validate(tok.claims)
print(json.dumps({"kid": tok.header["kid"], "sub": tok.claims["sub"]}))
`

func TestMintedTokensVerifyWithJoserfc(t *testing.T) {
	py := testenv.Python3(t, "joserfc")
	p := startUp(t, t.TempDir())
	for _, args := range [][]string{
		{"--workspace", "acme", "--repository", "web"},
		{"--workspace", "acme", "--repository", "web", "--environment", "staging", "--ttl", "5m"},
	} {
		m := mintJSON(t, p.env, args...)
		cmd := exec.Command(py, "-c", joserfcVerify, m.Token, m.Claims["iss"].(string), m.Claims["aud"].(string), p.env["KEYLESS_CA_BUNDLE"])
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("joserfc rejected the token minted with %v: %v\n%s", args, err, out)
		}
		var res struct{ Sub string }
		if err := json.Unmarshal(out, &res); err != nil || res.Sub != m.Claims["sub"] {
			t.Fatalf("joserfc printed %s", out)
		}
	}
	// A tampered token must fail the same verifier.
	m := mintJSON(t, p.env, "--workspace", "acme", "--repository", "web")
	parts := strings.Split(m.Token, ".")
	forged := parts[0] + "." + strings.Replace(parts[1], parts[1][10:14], "AAAA", 1) + "." + parts[2]
	if out, err := exec.Command(py, "-c", joserfcVerify, forged, m.Claims["iss"].(string), m.Claims["aud"].(string), p.env["KEYLESS_CA_BUNDLE"]).CombinedOutput(); err == nil {
		t.Fatalf("joserfc accepted a tampered token: %s", out)
	}
}

func TestRestartReusesKeysCAAndCredentials(t *testing.T) {
	data := t.TempDir()
	p := startUp(t, data)
	before := mintJSON(t, p.env, "--workspace", "acme", "--repository", "web")
	caBefore, _ := os.ReadFile(p.env["KEYLESS_CA_BUNDLE"])
	if err := p.stop(); err != nil {
		t.Fatal(err)
	}
	q := startUp(t, data)
	for _, k := range []string{"KEYLESS_ROOT_ACCESS_KEY_ID", "KEYLESS_ROOT_SECRET_ACCESS_KEY", "KEYLESS_RUNNER_TOKEN", "KEYLESS_ACCOUNT_ID"} {
		if p.env[k] != q.env[k] {
			t.Errorf("%s changed across a restart", k)
		}
	}
	caAfter, _ := os.ReadFile(q.env["KEYLESS_CA_BUNDLE"])
	if string(caBefore) != string(caAfter) {
		t.Error("the CA changed across a restart")
	}
	after := mintJSON(t, q.env, "--workspace", "acme", "--repository", "web")
	if before.Claims["repositoryUuid"] != after.Claims["repositoryUuid"] {
		t.Error("the repository UUID changed across a restart")
	}
	// The token minted before the restart still verifies against the new process.
	ctx := oidc.ClientContext(context.Background(), caClient(t, q.env))
	iss := after.Claims["iss"].(string)
	provider, err := oidc.NewProvider(ctx, iss)
	if err != nil {
		t.Fatal(err)
	}
	oldIss := before.Claims["iss"].(string)
	if oldIss == iss { // same port only by chance; otherwise check the key via keys.json
		if _, err := provider.Verifier(&oidc.Config{ClientID: before.Claims["aud"].(string)}).Verify(ctx, before.Token); err != nil {
			t.Errorf("pre-restart token does not verify: %v", err)
		}
	} else {
		ks := oidc.NewRemoteKeySet(ctx, iss+"/keys.json")
		if _, err := ks.VerifySignature(ctx, before.Token); err != nil {
			t.Errorf("pre-restart token's signature does not verify against the restarted JWKS: %v", err)
		}
	}
}

func TestSecondServerOnSameDataDirIsRefused(t *testing.T) {
	data := t.TempDir()
	startUp(t, data)
	cmd := exec.Command(keylessBin, "up", "--listen", "127.0.0.1:0", "--data", data)
	cmd.Env = cleanEnv()
	out, err := cmd.CombinedOutput()
	if err == nil {
		t.Fatal("a second keyless up on the same data directory started")
	}
	if !strings.Contains(string(out), "another keyless up") {
		t.Errorf("refusal does not say why: %s", out)
	}
}

func TestMintErrorsFromTheCLI(t *testing.T) {
	p := startUp(t, t.TempDir())
	many := []string{"token", "mint", "--workspace", "acme", "--repository", "web"}
	for i := 0; i < 11; i++ {
		many = append(many, "--audience", "a"+string(rune('a'+i)))
	}
	cases := []struct {
		args []string
		says string
	}{
		{many, "at most 10"},
		{[]string{"token", "mint", "--workspace", "acme", "--repository", "web", "--audience", strings.Repeat("x", 151)}, "limit is 150"},
		{[]string{"token", "mint", "--workspace", "acme", "--repository", "Web!"}, `invalid repository slug "Web!"`},
		{[]string{"token", "mint", "--workspace", "acme", "--repository", "web", "--ttl", "30h"}, "out of range"},
		{[]string{"token", "mint", "--workspace", "acme", "--repository", "web", "--output", "yaml"}, "invalid --output"},
	}
	for _, tc := range cases {
		stdout, stderr, code := run(t, withEnv(p.env), tc.args...)
		if code != 1 || !strings.Contains(stderr, tc.says) || stdout != "" {
			t.Errorf("keyless %v: exit %d stdout %q stderr %q; want exit 1 and %q", tc.args[3:], code, stdout, stderr, tc.says)
		}
	}
	_, stderr, code := run(t, cleanEnv(), "token", "mint", "--workspace", "acme", "--repository", "web")
	if code != 1 || !strings.Contains(stderr, "env") {
		t.Errorf("mint without an endpoint: exit %d, %q; want advice to source the env file", code, stderr)
	}
}

func TestKeysCommands(t *testing.T) {
	data := t.TempDir()
	cfg := filepath.Join(data, "config.json")
	if err := os.WriteFile(cfg, []byte(`{"issuer":{"lead_time":"1h","key_check_interval":"100ms"}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	p := startUp(t, data, "--config", cfg)
	env := withEnv(p.env)
	list := func() []map[string]any {
		out, stderr, code := run(t, env, "keys", "list", "--output", "json")
		if code != 0 {
			t.Fatalf("keys list: %d %s", code, stderr)
		}
		var keys []map[string]any
		if err := json.Unmarshal([]byte(out), &keys); err != nil {
			t.Fatalf("keys list --output json printed %q: %v", out, err)
		}
		return keys
	}
	keys := list()
	if len(keys) != 1 || keys[0]["state"] != "active" || keys[0]["alg"] != "RS256" || keys[0]["id"] == "" || keys[0]["created"] == nil || keys[0]["activated"] == nil {
		t.Fatalf("keys list after first start = %v", keys)
	}
	out, stderr, code := run(t, env, "keys", "prepare", "--alg", "ES256")
	if code != 0 || !strings.HasPrefix(out, "prepared ") {
		t.Fatalf("keys prepare: %d %q %q", code, out, stderr)
	}
	kid := strings.Fields(out)[1]
	// The running server publishes the prepared key within its check interval.
	jwksURL := p.env["KEYLESS_ISSUER"] + "/keys.json"
	client := caClient(t, p.env)
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := client.Get(jwksURL)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if strings.Contains(string(body), kid) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("prepared key %s not in the served JWKS after 10s: %s", kid, body)
		}
		time.Sleep(50 * time.Millisecond)
	}
	_, stderr, code = run(t, env, "keys", "activate")
	if code != 1 || !strings.Contains(stderr, "--force") {
		t.Fatalf("keys activate before the lead time: exit %d %q; want 1 and advice about --force", code, stderr)
	}
	if out, stderr, code = run(t, env, "keys", "activate", "--force", kid); code != 0 || !strings.HasPrefix(out, "activated "+kid) {
		t.Fatalf("keys activate --force: %d %q %s", code, out, stderr)
	}
	keys = list()
	states := map[string]string{}
	for _, k := range keys {
		states[k["id"].(string)] = k["state"].(string)
	}
	if states[kid] != "active" || len(keys) != 2 {
		t.Fatalf("after activation: %v", states)
	}
	var oldID string
	for id, st := range states {
		if id != kid {
			oldID = id
			if st != "retired" {
				t.Errorf("replaced key is %s, want retired", st)
			}
		}
	}
	_, stderr, code = run(t, env, "keys", "retire", kid)
	if code != 1 || !strings.Contains(stderr, "active") {
		t.Errorf("retiring the active key: exit %d %q", code, stderr)
	}
	// Tokens are now signed by the new key, once the server has reloaded.
	deadline = time.Now().Add(10 * time.Second)
	for {
		m := mintJSON(t, p.env, "--workspace", "acme", "--repository", "web")
		hdr, _ := decodeSegment(strings.Split(m.Token, ".")[0])
		if strings.Contains(hdr, kid) {
			break
		}
		if !strings.Contains(hdr, oldID) || time.Now().After(deadline) {
			t.Fatalf("token header %s: want kid %s", hdr, kid)
		}
		time.Sleep(50 * time.Millisecond)
	}
	_, stderr, code = run(t, cleanEnv(), "keys", "list", "--data", filepath.Join(data, "nope"))
	if code != 1 || !strings.Contains(stderr, "keyless up") {
		t.Errorf("keys list on a missing data directory: %d %q", code, stderr)
	}
}
