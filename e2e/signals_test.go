package e2e

import (
	"bufio"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// slowMint is a mint request (POST /keyless/v1/tokens) whose body is held back: it
// sends the headers with "Expect: 100-continue" and returns once the server has
// answered 100 Continue, that is once a handler is reading the body — a request in
// flight. finish sends the body and returns the response.
type slowMint struct {
	conn net.Conn
	br   *bufio.Reader
	body string
}

func startSlowMint(t *testing.T, env map[string]string) *slowMint {
	t.Helper()
	u, err := url.Parse(env["KEYLESS_ENDPOINT"])
	if err != nil {
		t.Fatal(err)
	}
	conn, err := net.Dial("tcp", u.Host)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	body := `{"workspace":"acme","repository":"web"}`
	fmt.Fprintf(conn, "POST /keyless/v1/tokens HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\nExpect: 100-continue\r\n\r\n",
		u.Host, env["KEYLESS_RUNNER_TOKEN"], len(body))
	m := &slowMint{conn: conn, br: bufio.NewReader(conn), body: body}
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	status, err := m.br.ReadString('\n')
	if err != nil || !strings.Contains(status, " 100 ") {
		t.Fatalf("want 100 Continue for the held-back mint, got %q (%v)", status, err)
	}
	if blank, err := m.br.ReadString('\n'); err != nil || blank != "\r\n" {
		t.Fatalf("after 100 Continue: %q (%v)", blank, err)
	}
	return m
}

func (m *slowMint) finish(t *testing.T) (*http.Response, error) {
	t.Helper()
	// Stream the body slowly, a few bytes at a time.
	for i := 0; i < len(m.body); i += 8 {
		if _, err := m.conn.Write([]byte(m.body[i:min(i+8, len(m.body))])); err != nil {
			return nil, err
		}
		time.Sleep(20 * time.Millisecond)
	}
	m.conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	return http.ReadResponse(m.br, nil)
}

// waitStderr waits up to 10 s for keyless up's stderr to contain s.
func waitStderr(t *testing.T, p *upProc, s string) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !strings.Contains(p.stderr.String(), s); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("keyless up did not log %q within 10s:\n%s", s, p.stderr)
		}
	}
}

// exitCode waits up to 10 s for keyless up to exit and returns its exit status.
func exitCode(t *testing.T, p *upProc) int {
	t.Helper()
	select {
	case err := <-p.done:
		p.done <- err
		if ee, ok := err.(*exec.ExitError); ok {
			return ee.ExitCode()
		}
		if err != nil {
			t.Fatal(err)
		}
		return 0
	case <-time.After(10 * time.Second):
		t.Fatalf("keyless up still running 10s after the signals:\n%s", p.stderr)
	}
	return -1
}

// TestSIGTERMDrainsInFlightRequests: a mint request in flight when keyless up gets
// SIGTERM is answered in full (its body streamed slowly after the signal), new
// connections are refused meanwhile, and the process exits 0 once it is done.
func TestSIGTERMDrainsInFlightRequests(t *testing.T) {
	p := startUp(t, t.TempDir())
	m := startSlowMint(t, p.env)
	p.cmd.Process.Signal(syscall.SIGTERM)
	waitStderr(t, p, "shutting down")
	if !strings.Contains(p.stderr.String(), "in_flight=1") {
		t.Errorf("the shutdown line does not count the request in flight:\n%s", p.stderr)
	}
	if resp, err := http.Get(p.env["KEYLESS_ENDPOINT"] + "/healthz"); err == nil {
		resp.Body.Close()
		t.Errorf("a new request during the drain got HTTP %d; want the connection refused", resp.StatusCode)
	}
	resp, err := m.finish(t)
	if err != nil {
		t.Fatalf("the in-flight mint was cut off: %v\n%s", err, p.stderr)
	}
	defer resp.Body.Close()
	var tok struct {
		Token string `json:"token"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&tok); err != nil || resp.StatusCode != 200 || strings.Count(tok.Token, ".") != 2 {
		t.Fatalf("the in-flight mint got HTTP %d, token %q (%v); want 200 and a JWT", resp.StatusCode, tok.Token, err)
	}
	if code := exitCode(t, p); code != 0 {
		t.Fatalf("keyless up exited %d after draining; want 0\n%s", code, p.stderr)
	}
	for _, line := range []string{"in-flight requests finished", "keyless up stopped"} {
		if !strings.Contains(p.stderr.String(), line) {
			t.Errorf("stderr lacks %q:\n%s", line, p.stderr)
		}
	}
}

// TestStuckRequestsAreCutOff: a request that never finishes is cut off by a second
// SIGTERM, or by --shutdown-timeout; keyless up then exits 1 saying why.
func TestStuckRequestsAreCutOff(t *testing.T) {
	for _, tc := range []struct {
		name, timeout string
		second        bool
		says          string
	}{
		{"second signal", "1m", true, "a second stop signal arrived: 1 in-flight requests were cut off"},
		{"deadline", "500ms", false, "the shutdown timeout (500ms) passed: 1 in-flight requests were cut off"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := startUp(t, t.TempDir(), "--shutdown-timeout", tc.timeout)
			startSlowMint(t, p.env) // its body never comes
			p.cmd.Process.Signal(syscall.SIGTERM)
			waitStderr(t, p, "shutting down")
			if tc.second {
				p.cmd.Process.Signal(syscall.SIGTERM)
			}
			if code := exitCode(t, p); code != 1 {
				t.Fatalf("keyless up exited %d; want 1\n%s", code, p.stderr)
			}
			if !strings.Contains(p.stderr.String(), "keyless: up: shutdown forced: "+tc.says) {
				t.Errorf("stderr does not say %q:\n%s", tc.says, p.stderr)
			}
		})
	}
}

// TestSIGHUPReloadsConfig: SIGHUP applies a changed config file to the running
// server (a workspace registered with session tags changes the tokens minted next),
// names what waits for a restart, re-issues the TLS certificate, and refuses a broken
// config, keeping the running one.
func TestSIGHUPReloadsConfig(t *testing.T) {
	data := t.TempDir()
	cfg := filepath.Join(data, "config.json")
	write := func(s string) {
		if err := os.WriteFile(cfg, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(`{"log_level":"info"}`)
	p := startUp(t, data, "--config", cfg)
	tags := func() bool {
		m := mintJSON(t, p.env, "--workspace", "tagged", "--repository", "web")
		_, ok := m.Claims["https://aws.amazon.com/tags"]
		return ok
	}
	if tags() {
		t.Fatal("a token carries session tags before the workspace enables them")
	}
	serial := servedCertSerial(t, p.env)

	write(`{"log_level":"debug","account_id":"123456789012","workspaces":[{"slug":"tagged","session_tags":true}]}`)
	p.cmd.Process.Signal(syscall.SIGHUP)
	waitStderr(t, p, "TLS certificate re-issued")
	stderr := p.stderr.String()
	for _, want := range []string{
		"config reloaded: log_level",
		"config reloaded: workspaces registered",
		"config: account_id changed; it takes effect at the next restart",
	} {
		if !strings.Contains(stderr, want) {
			t.Errorf("after SIGHUP, stderr lacks %q:\n%s", want, stderr)
		}
	}
	if !tags() {
		t.Error("after SIGHUP, tokens of the workspace still lack session tags")
	}
	if got := servedCertSerial(t, p.env); got == serial {
		t.Error("after SIGHUP the server still presents the same TLS certificate")
	}

	write(`{"log_level":"info","workspaces":[{"slug":"tagged","session_tags":false}]`) // truncated
	before := len(p.stderr.String())
	p.cmd.Process.Signal(syscall.SIGHUP)
	waitStderr(t, p, "configuration reload refused; the running configuration is kept")
	if strings.Contains(p.stderr.String()[before:], "config reloaded") {
		t.Errorf("a broken config was partly applied:\n%s", p.stderr.String()[before:])
	}
	if !tags() {
		t.Error("after a refused reload, tokens of the workspace lost their session tags")
	}
	if err := p.stop(); err != nil {
		t.Fatalf("keyless up after reloads: %v\n%s", err, p.stderr)
	}
}

// servedCertSerial returns the serial number of the certificate the server presents.
func servedCertSerial(t *testing.T, env map[string]string) string {
	t.Helper()
	pem, err := os.ReadFile(env["KEYLESS_CA_BUNDLE"])
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	u, _ := url.Parse(env["KEYLESS_ENDPOINT"])
	conn, err := tls.Dial("tcp", u.Host, &tls.Config{RootCAs: pool, ServerName: "127.0.0.1"})
	if err != nil {
		t.Fatalf("TLS to %s: %v", u.Host, err)
	}
	defer conn.Close()
	return conn.ConnectionState().PeerCertificates[0].SerialNumber.String()
}
