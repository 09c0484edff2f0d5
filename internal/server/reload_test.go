package server

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/keyless-dev/keyless/issuer"
)

func TestConfigChanges(t *testing.T) {
	base := Config{Listen: "127.0.0.1:0", Issuer: IssuerConfig{LeadTime: issuer.Duration(time.Hour)}}
	for _, tc := range []struct {
		name string
		edit func(*Config)
		want []string
	}{
		{"nothing", func(*Config) {}, nil},
		{"listen", func(c *Config) { c.Listen = "127.0.0.1:1" }, []string{"listen"}},
		{"an issuer field", func(c *Config) { c.Issuer.LeadTime = issuer.Duration(2 * time.Hour) }, []string{"issuer.lead_time"}},
		{"a field set from empty", func(c *Config) { c.LogLevel = "debug" }, []string{"log_level"}},
		{"several", func(c *Config) {
			c.Workspaces = []WorkspaceConfig{{Slug: "acme"}}
			c.TrustedProxies = []string{"10.0.0.1"}
			c.Issuer.KeyCheckInterval = issuer.Duration(time.Second)
		}, []string{"issuer.key_check_interval", "trusted_proxies", "workspaces"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			next := base
			tc.edit(&next)
			got, err := configChanges(base, next)
			if err != nil || !slices.Equal(got, tc.want) {
				t.Errorf("configChanges = %q, %v; want %q", got, err, tc.want)
			}
		})
	}
}

// syncLog is a log destination safe for concurrent writes and reads.
type syncLog struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *syncLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *syncLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// TestReloadAppliesOrRefuses: a valid config's reloadable settings are applied and the
// others named as waiting for a restart; an invalid one is refused whole.
func TestReloadAppliesOrRefuses(t *testing.T) {
	var level slog.LevelVar
	logs := &syncLog{}
	s, err := Start(t.Context(), Options{Config: Config{Listen: "127.0.0.1:0"}, DataDir: t.TempDir(), Getenv: noEnv,
		Logger: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: &level})), LogLevel: &level})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stopTest(t, s) })
	certBefore := s.ops.cert.Load()

	for _, bad := range []struct {
		name string
		cfg  Config
		says string
	}{
		{"log level", Config{Listen: "127.0.0.1:0", LogLevel: "loud"}, `log_level "loud"`},
		{"interval", Config{Listen: "127.0.0.1:0", LogLevel: "debug", Issuer: IssuerConfig{KeyCheckInterval: issuer.Duration(-time.Second)}}, "key_check_interval must be positive"},
		{"proxies", Config{Listen: "127.0.0.1:0", LogLevel: "debug", TrustedProxies: []string{"nope"}}, "trusted_proxies"},
		{"log sampling", Config{Listen: "127.0.0.1:0", LogLevel: "debug", Log: LogConfig{SampleAllowed: sampleRate(2)}}, "log.sample_allowed 2 must be from 0 to 1"},
		{"workspace", Config{Listen: "127.0.0.1:0", LogLevel: "debug", Workspaces: []WorkspaceConfig{{Slug: "acme", Repositories: []RepositoryConfig{{Slug: "web", UUID: "not-a-uuid"}}}}}, "repository acme/web"},
	} {
		t.Run(bad.name, func(t *testing.T) {
			err := s.Reload(t.Context(), func() (Config, error) { return bad.cfg, nil })
			if err == nil || !strings.Contains(err.Error(), bad.says) {
				t.Errorf("Reload = %v; want a refusal saying %q", err, bad.says)
			}
			if level.Level() != slog.LevelInfo || s.cfg.LogLevel != "" {
				t.Errorf("a refused config changed the log level to %v", level.Level())
			}
		})
	}
	if err := s.Reload(t.Context(), func() (Config, error) { return Config{}, errors.New("unreadable") }); err == nil {
		t.Error("Reload accepted a config that could not be read")
	}

	next := Config{Listen: "127.0.0.1:0", LogLevel: "debug", Log: LogConfig{SampleAllowed: sampleRate(0.5)}, AccountID: "123456789012", Issuer: IssuerConfig{KeyCheckInterval: issuer.Duration(time.Minute)}}
	if err := s.Reload(t.Context(), func() (Config, error) { return next, nil }); err != nil {
		t.Fatal(err)
	}
	if level.Level() != slog.LevelDebug {
		t.Errorf("log level after reload = %v, want debug", level.Level())
	}
	if got := time.Duration(s.cfg.Issuer.KeyCheckInterval); got != time.Minute {
		t.Errorf("key check interval after reload = %s", got)
	}
	if s.cfg.AccountID != "000000000000" {
		t.Errorf("account_id, which needs a restart, was changed to %s", s.cfg.AccountID)
	}
	for _, want := range []string{"config reloaded: log_level", "config reloaded: issuer.key_check_interval", "config reloaded: log.sample_allowed", "config: account_id changed; it takes effect at the next restart"} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("log lacks %q:\n%s", want, logs)
		}
	}
	if s.ops.cert.Load() == certBefore {
		t.Error("Reload did not re-issue the TLS certificate")
	}
}

// TestKeyAdminChangeIsConfirmed: a key prepared through a KeyAdmin on the data
// directory of a running server is confirmed by that server, which serves it.
func TestKeyAdminChangeIsConfirmed(t *testing.T) {
	dir := t.TempDir()
	s := startTest(t, dir, Config{Issuer: IssuerConfig{KeyCheckInterval: issuer.Duration(time.Hour)}}, noEnv, nil)
	ka, err := OpenKeyAdmin(t.Context(), dir, "", noEnv)
	if err != nil {
		t.Fatal(err)
	}
	defer ka.Close()
	k, err := ka.Prepare(t.Context(), "ES256")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	served, err := ka.Confirm(ctx, k.ID, ConfirmWait)
	if err != nil {
		t.Fatal(err)
	}
	if len(served) != 1 || served[0].Err != nil || !served[0].Published || served[0].Server.Endpoint != s.Endpoint() {
		t.Fatalf("Confirm = %+v; want %s publishing %s", served, s.Endpoint(), k.ID)
	}
	if !strings.Contains(string(s.keys.JWKS()), k.ID) {
		t.Errorf("the server's JWKS lacks %s after the confirmation", k.ID)
	}

	// A replica registered from another host at a loopback address is not asked.
	other := ServerEntry{ID: "other", Endpoint: "http://127.0.0.1:1", Host: "elsewhere.invalid", PID: 7, Seen: time.Now().UTC()}
	if err := updateServers(t.Context(), ka.st, time.Now(), func(m map[string]ServerEntry) { m[other.ID] = other }); err != nil {
		t.Fatal(err)
	}
	served, err = ka.Confirm(ctx, k.ID, ConfirmWait)
	if err != nil || len(served) != 2 {
		t.Fatalf("Confirm = %+v, %v; want two servers", served, err)
	}
	for _, sv := range served {
		if sv.Server.ID == other.ID && (sv.Err == nil || !strings.Contains(sv.Err.Error(), "another host")) {
			t.Errorf("the replica on another host: %v; want it named as unreachable from here", sv.Err)
		}
	}
}

func TestLoopback(t *testing.T) {
	for u, want := range map[string]bool{
		"http://127.0.0.1:8400": true, "http://[::1]:8400": true, "http://localhost:1": true,
		"http://10.0.0.5:8400": false, "http://keyless.internal:8400": false, "::": false,
	} {
		if got := loopback(u); got != want {
			t.Errorf("loopback(%q) = %t, want %t", u, got, want)
		}
	}
}

func sampleRate(v float64) *float64 { return &v }
