package e2e

import (
	"context"
	"encoding/json"
	"encoding/pem"
	"net/url"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/keyless-dev/keyless/internal/testenv"
)

var opensslFingerprint = regexp.MustCompile(`(?i)^sha1 Fingerprint=([0-9A-F:]{59})\s*$`)

// openssl runs openssl with args and stdin and returns its standard output.
func openssl(t *testing.T, bin, stdin string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Stdin = strings.NewReader(stdin)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("openssl %v: %v\n%s", args, err, out)
	}
	return string(out)
}

// thumbprintOf turns `openssl x509 -fingerprint -sha1 -noout` output into IAM's
// form, as seed 003's `sed 's/SHA1 Fingerprint=//' | tr -d :` does (lower-cased).
func thumbprintOf(t *testing.T, out string) string {
	t.Helper()
	m := opensslFingerprint.FindStringSubmatch(strings.TrimSpace(out))
	if m == nil {
		t.Fatalf("openssl printed %q, not a SHA-1 fingerprint", out)
	}
	return strings.ToLower(strings.ReplaceAll(m[1], ":", ""))
}

// TestThumbprintAgainstUp: `keyless thumbprint` against keyless up prints the SHA-1
// of its CA certificate, as `openssl x509 -fingerprint -sha1` prints it for the PEM
// of KEYLESS_CA_BUNDLE, and as seed 003's procedure finds it: the last certificate
// `openssl s_client -showcerts` shows for the jwks_uri host.
func TestThumbprintAgainstUp(t *testing.T) {
	bin := testenv.LookPath(t, "openssl")
	p := startUp(t, filepath.Join(t.TempDir(), "data"))
	env := withEnv(p.env)
	issuer := p.env["KEYLESS_ISSUER"]

	want := thumbprintOf(t, openssl(t, bin, "", "x509", "-fingerprint", "-sha1", "-noout", "-in", p.env["KEYLESS_CA_BUNDLE"]))

	// Seed 003's steps: the served chain's last certificate, fingerprinted.
	u, err := url.Parse(issuer)
	if err != nil {
		t.Fatal(err)
	}
	shown := openssl(t, bin, "", "s_client", "-connect", u.Host, "-servername", u.Hostname(), "-showcerts")
	var last []byte
	served := 0
	for rest := []byte(shown); ; {
		var b *pem.Block
		if b, rest = pem.Decode(rest); b == nil {
			break
		}
		served++
		last = pem.EncodeToMemory(b)
	}
	if served != 2 {
		t.Errorf("keyless up serves %d certificates, want 2 (its own and the local CA)", served)
	}
	if got := thumbprintOf(t, openssl(t, bin, string(last), "x509", "-fingerprint", "-sha1", "-noout")); got != want {
		t.Errorf("the last certificate openssl s_client shows has thumbprint %s, the CA bundle %s", got, want)
	}

	for _, arg := range []string{issuer, strings.TrimPrefix(issuer, "https://"), issuer + "/.well-known/openid-configuration"} {
		stdout, stderr, code := run(t, env, "thumbprint", arg)
		if code != 0 || stdout != want+"\n" {
			t.Errorf("keyless thumbprint %s: exit %d, printed %q, want %q\nstderr: %s", arg, code, stdout, want+"\n", stderr)
		}
	}

	stdout, stderr, code := run(t, env, "thumbprint", issuer, "--output", "json")
	var res struct {
		JWKSURI     string   `json:"jwksUri"`
		Thumbprints []string `json:"thumbprints"`
		Hosts       []struct {
			Roles       []string `json:"roles"`
			Host        string   `json:"host"`
			ChainLength int      `json:"chainLength"`
		} `json:"hosts"`
	}
	if code != 0 || json.Unmarshal([]byte(stdout), &res) != nil || len(res.Thumbprints) != 1 || res.Thumbprints[0] != want ||
		len(res.Hosts) != 1 || res.Hosts[0].Host != u.Host || res.Hosts[0].ChainLength != 2 || strings.Join(res.Hosts[0].Roles, ",") != "jwks_uri,discovery" ||
		!strings.HasPrefix(res.JWKSURI, issuer+"/") {
		t.Errorf("--output json: exit %d\n%s\nstderr: %s", code, stdout, stderr)
	}

	// Without the CA bundle the server is not trusted: no thumbprint, and a hint.
	noCA := withEnv(p.env, "KEYLESS_CA_BUNDLE=")
	if stdout, stderr, code := run(t, noCA, "thumbprint", issuer); code != 1 || stdout != "" || !strings.Contains(stderr, "--ca-bundle") {
		t.Errorf("without a CA bundle: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	if _, stderr, code := run(t, env, "thumbprint", strings.Replace(issuer, "https:", "http:", 1)); code != 1 || !strings.Contains(stderr, "AWS accepts only https issuers") {
		t.Errorf("http issuer: exit %d, stderr %q", code, stderr)
	}
}
