// Package e2e runs the real keyless binary against itself and official clients.
package e2e

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/keyless-dev/keyless/internal/testenv"
)

// keylessBin is the binary built once for the whole package.
var keylessBin string

// TestMain builds the binary, and keeps this process's own AWS SDK clients off the
// instance metadata address (child processes get the same from cleanEnv).
func TestMain(m *testing.M) {
	testenv.DisableInstanceMetadata()
	dir, err := os.MkdirTemp("", "keyless-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	keylessBin = filepath.Join(dir, "keyless")
	build := exec.Command("go", "build", "-o", keylessBin, "../cmd/keyless")
	build.Stdout, build.Stderr = os.Stdout, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build keyless:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// upProc is a running `keyless up`.
type upProc struct {
	t      testing.TB
	cmd    *exec.Cmd
	data   string
	env    map[string]string
	stdout *syncBuffer
	stderr *syncBuffer
	done   chan error
}

// settledStderr returns keyless up's stderr once it has stopped growing (for
// 150 ms, waiting at most 5 s). A request's audit line is written after its
// reply is sent, so a test that has its reply waits for the line this way.
func (p *upProc) settledStderr() string {
	last, since := p.stderr.String(), time.Now()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(25 * time.Millisecond) {
		cur := p.stderr.String()
		if len(cur) != len(last) {
			last, since = cur, time.Now()
		} else if time.Since(since) >= 150*time.Millisecond {
			break
		}
	}
	return last
}

// exited reports how keyless up ended ("no" while it runs), without waiting.
func (p *upProc) exited() string {
	select {
	case err := <-p.done:
		p.done <- err
		return fmt.Sprintf("yes: %v", err)
	default:
		return "no"
	}
}

// syncBuffer is a bytes.Buffer safe to read while the process writes to it.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// startUp runs `keyless up --listen 127.0.0.1:0 --data DIR args...` and waits until it
// has written DIR/env and answers /healthz.
func startUp(t testing.TB, data string, args ...string) *upProc {
	t.Helper()
	return startUpEnv(t, data, nil, args...)
}

// startUpEnv is startUp with extra environment variables (KEY=VALUE) for the server.
func startUpEnv(t testing.TB, data string, extraEnv []string, args ...string) *upProc {
	t.Helper()
	envPath := filepath.Join(data, "env")
	os.Remove(envPath)
	p := &upProc{t: t, data: data, stdout: &syncBuffer{}, stderr: &syncBuffer{}, done: make(chan error, 1)}
	p.cmd = exec.Command(keylessBin, append([]string{"up", "--listen", "127.0.0.1:0", "--data", data}, args...)...)
	p.cmd.Env = append(cleanEnv(), extraEnv...)
	p.cmd.Stdout, p.cmd.Stderr = p.stdout, p.stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.done <- p.cmd.Wait() }()
	t.Cleanup(func() { p.stop() })
	deadline := time.Now().Add(30 * time.Second)
	for {
		select {
		case err := <-p.done:
			p.done <- err
			t.Fatalf("keyless up exited early: %v\nstderr: %s", err, p.stderr)
		default:
		}
		if env, err := readEnvFile(envPath); err == nil {
			resp, err := http.Get(env["KEYLESS_ENDPOINT"] + "/healthz")
			if err == nil {
				resp.Body.Close()
				if resp.StatusCode == 200 {
					p.env = env
					return p
				}
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("keyless up not ready after 30s\nstderr: %s", p.stderr)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// stop sends SIGTERM and returns the exit error (nil for a clean exit).
func (p *upProc) stop() error {
	if p.cmd.ProcessState != nil {
		return nil
	}
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-p.done:
		p.done <- err
		return err
	case <-time.After(15 * time.Second):
		p.cmd.Process.Kill()
		return fmt.Errorf("keyless up did not stop within 15s of SIGTERM")
	}
}

// cleanEnv is the test process environment without anything keyless or AWS related,
// so that tests see only what they set, plus AWS_EC2_METADATA_DISABLED=true, so that
// no SDK or CLI in a child process asks the instance metadata address for
// credentials. Every child environment of these tests starts from cleanEnv.
func cleanEnv() []string {
	var out []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "KEYLESS_") || strings.HasPrefix(kv, "AWS_") || strings.HasPrefix(kv, "BITBUCKET_") {
			continue
		}
		out = append(out, kv)
	}
	return append(out, testenv.MetadataDisabledEnv)
}

// withEnv returns cleanEnv plus the variables of m.
func withEnv(m map[string]string, extra ...string) []string {
	env := cleanEnv()
	for k, v := range m {
		env = append(env, k+"="+v)
	}
	return append(env, extra...)
}

// readEnvFile parses the `export K=V` lines keyless up writes, undoing sh quoting.
func readEnvFile(path string) (map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	env := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		rest, ok := strings.CutPrefix(line, "export ")
		if !ok {
			continue
		}
		k, v, ok := strings.Cut(rest, "=")
		if !ok {
			return nil, fmt.Errorf("malformed line %q", line)
		}
		if strings.HasPrefix(v, "'") {
			v = strings.ReplaceAll(strings.TrimSuffix(strings.TrimPrefix(v, "'"), "'"), `'\''`, "'")
		}
		env[k] = v
	}
	return env, sc.Err()
}

// run runs the keyless binary with env and returns stdout, stderr and the exit code.
func run(t testing.TB, env []string, args ...string) (string, string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, keylessBin, args...)
	cmd.Env = env
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	if err != nil {
		ee, ok := err.(*exec.ExitError)
		if !ok {
			t.Fatalf("run keyless %v: %v", args, err)
		}
		code = ee.ExitCode()
	}
	return stdout.String(), stderr.String(), code
}

// caClient returns an HTTP client trusting only the CA bundle of a running server.
func caClient(t testing.TB, env map[string]string) *http.Client {
	t.Helper()
	pem, err := os.ReadFile(env["KEYLESS_CA_BUNDLE"])
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		t.Fatal("KEYLESS_CA_BUNDLE holds no certificate")
	}
	return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
}

// startMoto runs moto's server (S3, IAM, STS, …) on a free loopback port until the
// test or benchmark ends, and returns its endpoint and process id. Without python3
// and moto it is skipped (a failure under CI=true).
func startMoto(b testing.TB) (string, int) {
	b.Helper()
	python := testenv.Python3(b, "moto")
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	port := strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
	l.Close()
	var out syncBuffer
	cmd := exec.Command(python, "-m", "moto.server", "-H", "127.0.0.1", "-p", port)
	cmd.Env = cleanEnv()
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	b.Cleanup(func() {
		cmd.Process.Kill()
		<-exited
	})
	endpoint := "http://127.0.0.1:" + port
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		select {
		case err := <-exited:
			exited <- err
			b.Fatalf("moto.server exited: %v\n%s", err, &out)
		default:
		}
		if resp, err := http.Get(endpoint + "/moto-api/"); err == nil {
			resp.Body.Close()
			return endpoint, cmd.Process.Pid
		}
		if time.Now().After(deadline) {
			b.Fatalf("moto.server did not answer on %s within 30s\n%s", endpoint, &out)
		}
	}
}
