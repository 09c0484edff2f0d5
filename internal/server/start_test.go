package server

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/keyless-dev/keyless/issuer"
	"github.com/keyless-dev/keyless/keywrap"
)

func noEnv(string) string { return "" }

// startTest starts a server on a free loopback port in dir, logging to log (may be
// nil), and stops it when the test ends.
func startTest(t *testing.T, dir string, cfg Config, getenv func(string) string, log io.Writer) *Server {
	t.Helper()
	if cfg.Listen == "" {
		cfg.Listen = "127.0.0.1:0"
	}
	if log == nil {
		log = io.Discard
	}
	s, err := Start(t.Context(), Options{Config: cfg, DataDir: dir, Getenv: getenv,
		Logger: slog.New(slog.NewTextHandler(log, &slog.HandlerOptions{Level: slog.LevelWarn}))})
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() { stopTest(t, s) })
	return s
}

func stopTest(t *testing.T, s *Server) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.Shutdown(ctx); err != nil {
		t.Errorf("Shutdown: %v", err)
	}
}

// listing describes a directory's entries: name, mode and, for files, content.
func listing(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		fi, err := e.Info()
		if err != nil {
			t.Fatal(err)
		}
		desc := e.Name() + " " + fi.Mode().String()
		if e.Name() == keywrap.FileName {
			b, err := os.ReadFile(filepath.Join(dir, e.Name()))
			if err != nil {
				t.Fatal(err)
			}
			desc += " " + string(b)
		}
		out = append(out, desc)
	}
	return out
}

// TestFailedStartLeavesDataDirAsFound: a start refused for its address, its config or
// anything later leaves no kek.key, keyless.db or lock behind: a missing data
// directory stays missing (its parents too), an empty one empty, and one holding a
// previous start's files holds just those.
func TestFailedStartLeavesDataDirAsFound(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	busyAddr := busy.Addr().String()

	tests := []struct {
		name string
		cfg  Config
		says []string
	}{
		{"listen nonsense", Config{Listen: "nonsense"}, []string{`invalid listen address "nonsense": missing port in address`, "HOST:PORT"}},
		{"port out of range", Config{Listen: "127.0.0.1:99999"}, []string{`invalid listen address "127.0.0.1:99999": port "99999" is not a number from 0 to 65535`}},
		{"port in use", Config{Listen: busyAddr}, []string{"listen on " + busyAddr + ": the address is already in use", "--listen"}},
		{"public URL not https", Config{PublicURL: "http://oidc.example.com"}, []string{`public URL "http://oidc.example.com" must be an https URL`}},
		{"bad trusted proxy", Config{TrustedProxies: []string{"proxy.local"}}, []string{`trusted_proxies: "proxy.local" is neither an address nor a CIDR`}},
		{"invalid workspace (after the store is made)", Config{Workspaces: []WorkspaceConfig{{Slug: "Not Valid"}}}, []string{"config:", "Not Valid"}},
	}
	check := func(t *testing.T, dir string, cfg Config, says []string) {
		t.Helper()
		s, err := Start(t.Context(), Options{Config: cfg, DataDir: dir, Getenv: noEnv})
		if err == nil {
			stopTest(t, s)
			t.Fatal("Start succeeded")
		}
		for _, want := range says {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error %q does not say %q", err, want)
			}
		}
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Run("missing directory", func(t *testing.T) {
				base := t.TempDir()
				check(t, filepath.Join(base, "a", "data"), tc.cfg, tc.says)
				if got := listing(t, base); len(got) != 0 {
					t.Errorf("left behind in %s: %v", base, got)
				}
			})
			t.Run("empty directory", func(t *testing.T) {
				dir := t.TempDir()
				check(t, dir, tc.cfg, tc.says)
				if got := listing(t, dir); len(got) != 0 {
					t.Errorf("left behind: %v", got)
				}
			})
		})
	}
	t.Run("previous start's directory", func(t *testing.T) {
		dir := t.TempDir()
		stopTest(t, startTest(t, dir, Config{}, noEnv, nil))
		before := listing(t, dir)
		for _, tc := range tests {
			check(t, dir, tc.cfg, tc.says)
			if after := listing(t, dir); !slices.Equal(before, after) {
				t.Errorf("%s: the directory changed:\nbefore %v\nafter  %v", tc.name, before, after)
			}
		}
		// And it still starts.
		startTest(t, dir, Config{}, noEnv, nil)
	})
}

// TestSecondStartOnSameDirAndAddress: a second start on the data directory and
// address a running server uses names the real conflict, the directory, rather than
// only the busy port, and leaves the directory alone.
func TestSecondStartOnSameDirAndAddress(t *testing.T) {
	dir := t.TempDir()
	first := startTest(t, dir, Config{}, noEnv, nil)
	addr := strings.TrimPrefix(first.Endpoint(), "http://")
	before := listing(t, dir)
	s, err := Start(t.Context(), Options{Config: Config{Listen: addr}, DataDir: dir, Getenv: noEnv})
	if err == nil {
		stopTest(t, s)
		t.Fatal("a second server started on the same address")
	}
	if want := "another keyless up is serving data directory " + dir + ", on " + addr + "; stop it or use another --data"; err.Error() != want {
		t.Errorf("error %q, want %q", err, want)
	}
	if after := listing(t, dir); !slices.Equal(before, after) {
		t.Errorf("the refused start changed the directory:\nbefore %v\nafter  %v", before, after)
	}
}

// TestStartRefusesKEKReadableByOthers: like ssh with a private key, keyless up will
// not use a kek.key others may read, and says how to fix it.
func TestStartRefusesKEKReadableByOthers(t *testing.T) {
	dir := t.TempDir()
	if _, err := keywrap.Load(dir, noEnv); err != nil {
		t.Fatal(err)
	}
	kek := filepath.Join(dir, keywrap.FileName)
	if err := os.Chmod(kek, 0o644); err != nil {
		t.Fatal(err)
	}
	before := listing(t, dir)
	s, err := Start(t.Context(), Options{Config: Config{Listen: "127.0.0.1:0"}, DataDir: dir, Getenv: noEnv})
	if err == nil {
		stopTest(t, s)
		t.Fatal("Start used a kek.key with mode 0644")
	}
	if want := kek + " is readable by others (mode 0644): chmod 600 " + kek; err.Error() != want {
		t.Errorf("error %q, want %q", err, want)
	}
	if after := listing(t, dir); !slices.Equal(before, after) {
		t.Errorf("the refused start changed the directory:\nbefore %v\nafter  %v", before, after)
	}
	if err := os.Chmod(kek, 0o600); err != nil {
		t.Fatal(err)
	}
	startTest(t, dir, Config{}, noEnv, nil)
}

// TestStartWarnsAboutExposedDataDir: a data directory others may write to, and an
// env file others could read, are warned about; the env file is rewritten at 0600.
// A private directory gets no warning.
func TestStartWarnsAboutExposedDataDir(t *testing.T) {
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	envPath := filepath.Join(dir, "env")
	if err := os.WriteFile(envPath, []byte("# old\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(envPath, 0o644); err != nil { // whatever the umask
		t.Fatal(err)
	}
	var log bytes.Buffer
	s := startTest(t, dir, Config{}, noEnv, &log)
	stopTest(t, s)
	for _, want := range []string{
		`level=WARN msg="data directory is writable by others, who could replace keyless's files: chmod 700 it" dir=` + dir + " mode=0777",
		`level=WARN msg="env file was readable or writable by others; rewritten with mode 0600, but the root secret and runner token it held may have been read" path=` + envPath + " mode=0644",
	} {
		if !strings.Contains(log.String(), want) {
			t.Errorf("log lacks %q:\n%s", want, log.String())
		}
	}
	if fi, err := os.Stat(envPath); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("env file after start: %v, %v; want mode 0600", fi.Mode(), err)
	}

	if err := os.Chmod(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	log.Reset()
	startTest(t, dir, Config{}, noEnv, &log)
	if strings.Contains(log.String(), "level=WARN") {
		t.Errorf("a private data directory got warnings:\n%s", log.String())
	}
}

// TestAPIErrorsThroughServer: the server's mux routes every request under /keyless/
// to the issuer, so clients always get its JSON errors, while the other routes are
// unchanged.
func TestAPIErrorsThroughServer(t *testing.T) {
	s := startTest(t, t.TempDir(), Config{}, noEnv, nil)
	tests := []struct {
		method, path, contentType, body string
		status                          int
		code, allow                     string
	}{
		{"GET", issuer.MintPath, "", "", 405, issuer.CodeMethodNotAllowed, "POST"},
		{"POST", issuer.MintPath, "application/json", `{"workspace":"acme","repository":"web","branch":"` + strings.Repeat("b", issuer.MaxMintBody) + `"}`, 413, issuer.CodeRequestTooLarge, ""},
		{"POST", issuer.MintPath, "text/plain", `{}`, 415, issuer.CodeUnsupportedMediaType, ""},
		{"GET", "/keyless/v1/nope", "", "", 404, issuer.CodeNotFound, ""},
		{"GET", "/healthz", "", "", 200, "", ""},
	}
	for _, tc := range tests {
		req, err := http.NewRequest(tc.method, s.Endpoint()+tc.path, strings.NewReader(tc.body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+s.runner)
		if tc.contentType != "" {
			req.Header.Set("Content-Type", tc.contentType)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tc.status || resp.Header.Get("Content-Type") != "application/json" || resp.Header.Get("Allow") != tc.allow {
			t.Errorf("%s %s: %d %q Allow %q, want %d application/json Allow %q; body %.200s",
				tc.method, tc.path, resp.StatusCode, resp.Header.Get("Content-Type"), resp.Header.Get("Allow"), tc.status, tc.allow, body)
			continue
		}
		if tc.code == "" {
			continue
		}
		var eb issuer.ErrorBody
		if err := json.Unmarshal(body, &eb); err != nil || eb.Error.Code != tc.code || eb.Error.Message == "" {
			t.Errorf("%s %s: body %s, want error code %s with a message", tc.method, tc.path, body, tc.code)
		}
	}
}

// TestFailedStartKeepsKEKOfAStoreItDidNotMake: a start on a PostgreSQL store that
// fails after sealing values there under a new kek.key keeps that key (and removes
// the rest it made), so the next start opens what was sealed.
func TestFailedStartKeepsKEKOfAStoreItDidNotMake(t *testing.T) {
	dsn, _ := postgresSchema(t)
	dir := filepath.Join(t.TempDir(), "data")
	bad := Config{Store: dsn, Workspaces: []WorkspaceConfig{{Slug: "Not Valid"}}}
	s, err := Start(t.Context(), Options{Config: bad, DataDir: dir, Getenv: noEnv})
	if err == nil {
		stopTest(t, s)
		t.Fatal("Start with an invalid workspace succeeded")
	}
	got := listing(t, dir)
	if len(got) != 1 || !strings.HasPrefix(got[0], keywrap.FileName+" -rw-------") {
		t.Fatalf("after the failed start the data directory holds %v, want only kek.key", got)
	}
	startTest(t, dir, Config{Store: dsn}, noEnv, nil)
}
