package e2e

import (
	"crypto/rand"
	"encoding/base64"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/keyless-dev/keyless/store/postgres/pgtest"
)

// servedJWKS fetches the JWKS a running server publishes at its issuer URL (HTTPS,
// trusting its CA) — what a relying party sees.
func servedJWKS(t *testing.T, env map[string]string) string {
	t.Helper()
	resp, err := caClient(t, env).Get(env["KEYLESS_ISSUER"] + "/keys.json")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// jwksURL is the plain-HTTP keys.json of the default workspace that `keyless keys`
// names in its confirmations.
func jwksURL(env map[string]string) string {
	return env["KEYLESS_ENDPOINT"] + "/2.0/workspaces/" + env["KEYLESS_WORKSPACE"] + "/pipelines-config/identity/oidc/keys.json"
}

// TestKeysChangesAreServedWhenTheCommandReturns: with a key check interval of an hour,
// so that only the change notice can explain it, every `keyless keys` change is served
// by the running keyless up by the time the command returns, and the command says so,
// naming the JWKS it read; with the server stopped, it says that none is running.
func TestKeysChangesAreServedWhenTheCommandReturns(t *testing.T) {
	data := t.TempDir()
	cfg := filepath.Join(data, "config.json")
	if err := os.WriteFile(cfg, []byte(`{"issuer":{"lead_time":"1h","key_check_interval":"1h"}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	p := startUp(t, data, "--config", cfg)
	env := withEnv(p.env)

	out, stderr, code := run(t, env, "keys", "prepare", "--alg", "ES256")
	if code != 0 || !strings.HasPrefix(out, "prepared ") || stderr != "" {
		t.Fatalf("keys prepare: exit %d stdout %q stderr %q", code, out, stderr)
	}
	kid := strings.Fields(out)[1]
	if want := "kid " + kid + " is in the JWKS at " + jwksURL(p.env) + "\n"; !strings.HasSuffix(out, want) {
		t.Errorf("keys prepare printed %q; want it to end with %q", out, want)
	}
	if strings.Contains(out, "published now") {
		t.Errorf("keys prepare still claims %q", out)
	}
	if jwks := servedJWKS(t, p.env); !strings.Contains(jwks, kid) {
		t.Fatalf("right after keys prepare returned, the served JWKS lacks %s: %s", kid, jwks)
	}

	out, stderr, code = run(t, env, "keys", "activate", "--force", kid)
	if code != 0 || stderr != "" || !strings.Contains(out, "kid "+kid+" signs new tokens at "+p.env["KEYLESS_ENDPOINT"]+" and is in the JWKS at "+jwksURL(p.env)+"\n") {
		t.Fatalf("keys activate --force: exit %d stdout %q stderr %q", code, out, stderr)
	}
	m := mintJSON(t, p.env, "--workspace", "acme", "--repository", "web")
	if hdr, _ := decodeSegment(strings.Split(m.Token, ".")[0]); !strings.Contains(hdr, `"kid":"`+kid+`"`) {
		t.Fatalf("right after keys activate returned, a token is signed with %s; want kid %s", hdr, kid)
	}

	out, _, code = run(t, env, "keys", "prepare")
	if code != 0 {
		t.Fatalf("keys prepare: exit %d", code)
	}
	spare := strings.Fields(out)[1]
	out, stderr, code = run(t, env, "keys", "retire", spare)
	want := "retired " + spare + "; it never signed, so it leaves the JWKS now\nkid " + spare + " is no longer in the JWKS at " + jwksURL(p.env) + "\n"
	if code != 0 || stderr != "" || out != want {
		t.Fatalf("keys retire: exit %d stdout %q stderr %q; want %q", code, out, stderr, want)
	}
	if jwks := servedJWKS(t, p.env); strings.Contains(jwks, spare) || !strings.Contains(jwks, kid) {
		t.Fatalf("right after keys retire returned, the served JWKS is %s; want %s without %s", jwks, kid, spare)
	}

	// A server stopped cleanly takes its registration with it.
	if err := p.stop(); err != nil {
		t.Fatalf("keyless up stop: %v\n%s", err, p.stderr)
	}
	out, stderr, code = run(t, env, "keys", "prepare")
	if code != 0 || stderr != "" || !strings.HasSuffix(out, "no keyless up is running on this store: a server serves the change as soon as it starts\n") {
		t.Fatalf("keys prepare with no server: exit %d stdout %q stderr %q", code, out, stderr)
	}
}

// TestKeysChangesReachEveryReplica: two keyless up on one PostgreSQL store both serve
// a prepared key when `keyless keys prepare --store DSN` returns, and each is named;
// a replica killed with SIGKILL (still registered) is reported as not answering,
// while the live one confirms.
func TestKeysChangesReachEveryReplica(t *testing.T) {
	dsn := pgtest.NewSchema(t).DSN
	kek := make([]byte, 32)
	rand.Read(kek)
	cfg := filepath.Join(t.TempDir(), "config.json")
	if err := os.WriteFile(cfg, []byte(`{"store":"`+dsn+`","issuer":{"key_check_interval":"1h"}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	kekEnv := []string{"KEYLESS_KEK=" + base64.StdEncoding.EncodeToString(kek)}
	a := startUpEnv(t, t.TempDir(), kekEnv, "--config", cfg)
	b := startUpEnv(t, t.TempDir(), kekEnv, "--config", cfg)
	cli := append(cleanEnv(), kekEnv...)

	out, stderr, code := run(t, cli, "keys", "prepare", "--store", dsn, "--data", t.TempDir())
	if code != 0 || stderr != "" {
		t.Fatalf("keys prepare --store: exit %d stdout %q stderr %q", code, out, stderr)
	}
	kid := strings.Fields(out)[1]
	for _, p := range []*upProc{a, b} {
		if !strings.Contains(out, "kid "+kid+" is in the JWKS at "+jwksURL(p.env)+"\n") {
			t.Errorf("keys prepare printed %q; want a confirmation from %s", out, p.env["KEYLESS_ENDPOINT"])
		}
		if jwks := servedJWKS(t, p.env); !strings.Contains(jwks, kid) {
			t.Errorf("right after keys prepare returned, %s serves %s without %s", p.env["KEYLESS_ENDPOINT"], jwks, kid)
		}
	}

	b.cmd.Process.Signal(syscall.SIGKILL)
	<-b.done
	b.done <- nil
	start := time.Now()
	out, stderr, code = run(t, cli, "keys", "prepare", "--store", dsn, "--data", t.TempDir())
	if code != 0 {
		t.Fatalf("keys prepare with a dead replica: exit %d stdout %q stderr %q", code, out, stderr)
	}
	kid = strings.Fields(out)[1]
	if !strings.Contains(out, "kid "+kid+" is in the JWKS at "+jwksURL(a.env)+"\n") || strings.Contains(out, b.env["KEYLESS_ENDPOINT"]) {
		t.Errorf("keys prepare printed %q; want a confirmation from %s only", out, a.env["KEYLESS_ENDPOINT"])
	}
	if want := "keyless up at " + b.env["KEYLESS_ENDPOINT"] + " (pid "; !strings.Contains(stderr, want) || !strings.Contains(stderr, "did not answer") {
		t.Errorf("keys prepare stderr %q; want %q… did not answer", stderr, want)
	}
	t.Logf("keys prepare with one dead replica took %s", time.Since(start).Round(time.Millisecond))
}
