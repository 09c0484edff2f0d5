package server

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"os"
	"slices"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/keyless-dev/keyless/issuer"
)

// operations is the runtime state of a running server that signals act on: the
// key watch (keywatch.go), the certificate served, the log level, and the count of
// requests in flight that a shutdown drains.
type operations struct {
	id           string       // this server's registration ID
	keysLoaded   atomic.Int64 // keys generation last loaded by the key watch; -1 before
	watchFailing bool         // the key watch cannot read the store (its goroutine only)

	level       *slog.LevelVar // Options.LogLevel; nil when the caller's logger has a fixed level
	cert        atomic.Pointer[tls.Certificate]
	certHosts   []string           // names and addresses the certificate is issued for
	keyInterval chan time.Duration // a reloaded key_check_interval, for keyLoop
	inflight    atomic.Int64
}

func (o *operations) init(level *slog.LevelVar) error {
	var id [9]byte
	if _, err := rand.Read(id[:]); err != nil {
		return fmt.Errorf("server id: %w", err)
	}
	o.id = base64.RawURLEncoding.EncodeToString(id[:])
	o.keysLoaded.Store(-1)
	o.level = level
	o.keyInterval = make(chan time.Duration, 1)
	return nil
}

// certificate serves the current certificate (tls.Config.GetCertificate).
func (o *operations) certificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	return o.cert.Load(), nil
}

// track counts the requests in flight through h.
func (o *operations) track(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		o.inflight.Add(1)
		defer o.inflight.Add(-1)
		h.ServeHTTP(w, r)
	})
}

// DefaultShutdownTimeout is how long a shutdown waits for in-flight requests.
const DefaultShutdownTimeout = 30 * time.Second

// RunOptions configure Run.
type RunOptions struct {
	// Signals delivers the process's signals: SIGTERM or SIGINT starts a graceful
	// shutdown, a second one forces it; SIGHUP reloads (see Reload).
	Signals <-chan os.Signal
	// ShutdownTimeout bounds the wait for in-flight requests (default
	// DefaultShutdownTimeout); past it the shutdown is forced.
	ShutdownTimeout time.Duration
	// LoadConfig reads the configuration again for a reload (the file, with the
	// command line's flags applied over it); nil reloads only the TLS certificate.
	LoadConfig func() (Config, error)
}

// ErrForcedShutdown is returned (wrapped) by Run when in-flight requests were cut off.
var ErrForcedShutdown = errors.New("shutdown forced")

// Run serves until ctx ends, the server fails, or a stop signal arrives, then shuts
// down gracefully: it stops accepting connections, lets in-flight requests finish
// within the shutdown timeout, flushes the audit recorder and closes the store. A
// second stop signal, or the deadline, cuts the remaining requests off, and Run
// returns an error wrapping ErrForcedShutdown. SIGHUP calls Reload meanwhile.
func (s *Server) Run(ctx context.Context, opts RunOptions) error {
	if opts.ShutdownTimeout <= 0 {
		opts.ShutdownTimeout = DefaultShutdownTimeout
	}
	for {
		select {
		case <-ctx.Done():
			return s.drain(opts, 0)
		case err := <-s.serveErr:
			if errors.Is(err, http.ErrServerClosed) {
				err = nil
			}
			sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			return errors.Join(err, s.Shutdown(sctx))
		case sig := <-opts.Signals:
			if sig == syscall.SIGHUP {
				s.Reload(ctx, opts.LoadConfig)
				continue
			}
			s.log.Info("received "+signalName(sig), "signal", signalName(sig))
			return s.drain(opts, 1)
		}
	}
}

// drain is the graceful shutdown of Run; stops is how many stop signals have
// arrived (the ctx cancellation that started it may be one still queued).
func (s *Server) drain(opts RunOptions, stops int) error {
	// Stop accepting before saying so (http.Server.Shutdown closes it again, which is
	// harmless): from the log line on, new connections are refused.
	if err := s.listener.Close(); err != nil {
		s.log.Warn("close listener", "err", err)
	}
	s.log.Info("shutting down: no new connections; waiting for in-flight requests (send SIGTERM or SIGINT again to stop at once)",
		"in_flight", s.ops.inflight.Load(), "shutdown_timeout", opts.ShutdownTimeout)
	dctx, cancel := context.WithTimeoutCause(context.Background(), opts.ShutdownTimeout,
		fmt.Errorf("the shutdown timeout (%s) passed", opts.ShutdownTimeout))
	defer cancel()
	forcing := make(chan struct{})
	done := make(chan struct{})
	go func() {
		for {
			select {
			case <-done:
				return
			case sig := <-opts.Signals:
				if sig == syscall.SIGHUP {
					s.log.Info("SIGHUP ignored: shutting down")
					continue
				}
				if stops++; stops >= 2 {
					close(forcing)
					return
				}
			}
		}
	}()
	sctx, scancel := context.WithCancelCause(dctx)
	defer scancel(nil)
	go func() {
		select {
		case <-forcing:
			scancel(errors.New("a second stop signal arrived"))
		case <-done:
		}
	}()
	err := s.http.Shutdown(sctx)
	close(done)
	var forced error
	if err != nil {
		cut := s.ops.inflight.Load()
		s.http.Close()
		forced = fmt.Errorf("%w: %v: %d in-flight requests were cut off", ErrForcedShutdown, context.Cause(sctx), cut)
		s.log.Error("shutdown forced: in-flight requests cut off", "reason", context.Cause(sctx).Error(), "cut_off", cut)
	} else {
		s.log.Info("in-flight requests finished")
	}
	// Flush the audit recorder and close the store; when forced, do not wait long.
	closed := make(chan struct{})
	go func() { s.closeResources(); close(closed) }()
	if forced == nil {
		<-closed
	} else {
		select {
		case <-closed:
		case <-time.After(5 * time.Second):
			s.log.Error("audit flush and store close still running 5s after a forced shutdown; exiting without them")
		}
	}
	s.log.Info("keyless up stopped")
	return forced
}

func signalName(sig os.Signal) string {
	switch sig {
	case syscall.SIGTERM:
		return "SIGTERM"
	case syscall.SIGINT:
		return "SIGINT"
	case syscall.SIGHUP:
		return "SIGHUP"
	}
	return sig.String()
}

// Reload re-reads the configuration with load and applies what can change at runtime
// (log_level, log.sample_allowed, issuer.key_check_interval and workspaces), logging each setting that changed and, for the others, that they wait
// for a restart; a configuration that cannot be read or is invalid is refused whole,
// and the running one kept. It also re-issues the TLS certificate from the local CA,
// for new connections. It returns what failed.
func (s *Server) Reload(ctx context.Context, load func() (Config, error)) error {
	s.log.Info("reloading the configuration and TLS certificate")
	var errs []error
	if load == nil {
		s.log.Info("no --config file: nothing to reload but the TLS certificate")
	} else {
		next, err := load()
		if err == nil {
			err = s.applyConfig(ctx, next)
		}
		if err != nil {
			s.log.Error("configuration reload refused; the running configuration is kept", "err", err)
			errs = append(errs, err)
		}
	}
	cert, err := s.ca.Issue(s.now(), s.ops.certHosts)
	if err != nil {
		s.log.Error("TLS certificate not re-issued; the current one is kept", "err", err)
		errs = append(errs, err)
	} else {
		s.ops.cert.Store(&cert)
		s.log.Info("TLS certificate re-issued by the local CA for new connections", "not_after", cert.Leaf.NotAfter.UTC().Format(time.RFC3339))
	}
	return errors.Join(errs...)
}

// applyConfig checks next whole, then applies its reloadable changes.
func (s *Server) applyConfig(ctx context.Context, next Config) error {
	next.applyDefaults()
	var level slog.Level
	if next.LogLevel != "" {
		if err := level.UnmarshalText([]byte(next.LogLevel)); err != nil {
			return fmt.Errorf("config: log_level %q: use debug, info, warn or error", next.LogLevel)
		}
	}
	if next.Issuer.KeyCheckInterval <= 0 {
		return fmt.Errorf("config: issuer.key_check_interval must be positive, not %s", time.Duration(next.Issuer.KeyCheckInterval))
	}
	if _, err := parseTrustedProxies(next.TrustedProxies); err != nil {
		return err
	}
	if err := checkDataEvents(next.Audit.DataEvents); err != nil {
		return err
	}
	sample := 1.0
	if p := next.Log.SampleAllowed; p != nil {
		if sample = *p; sample < 0 || sample > 1 {
			return fmt.Errorf("config: log.sample_allowed %v must be from 0 to 1", sample)
		}
	}
	nextIssuers, err := workspaceIssuers(next.Workspaces)
	if err != nil {
		return err
	}
	changed, err := configChanges(s.cfg, next)
	if err != nil {
		return err
	}
	if len(changed) == 0 {
		s.log.Info("configuration unchanged")
		return nil
	}
	// Workspaces first: the store may refuse them (a UUID registered otherwise), and
	// then nothing else is applied.
	if slices.Contains(changed, "workspaces") {
		if err := validateWorkspaces(next.Workspaces); err != nil {
			return err
		}
		if err := registerWorkspaces(ctx, s.st, next.Workspaces, s.now()); err != nil {
			return fmt.Errorf("%w (the workspaces listed before it are registered)", err)
		}
	}
	for _, name := range changed {
		switch name {
		case "log_level":
			if s.ops.level == nil {
				s.log.Warn("config: log_level changed, but this server's log level is fixed; it takes effect at the next start")
				continue
			}
			s.ops.level.Set(level)
			s.log.Info("config reloaded: log_level", "from", orDefault(s.cfg.LogLevel, "info"), "to", orDefault(next.LogLevel, "info"))
			s.cfg.LogLevel = next.LogLevel
		case "issuer.key_check_interval":
			d := time.Duration(next.Issuer.KeyCheckInterval)
			select { // replace a value keyLoop has not taken yet
			case <-s.ops.keyInterval:
			default:
			}
			s.ops.keyInterval <- d
			s.log.Info("config reloaded: issuer.key_check_interval", "from", time.Duration(s.cfg.Issuer.KeyCheckInterval), "to", d)
			s.cfg.Issuer.KeyCheckInterval = next.Issuer.KeyCheckInterval
		case "log":
			if s.audit == nil {
				continue
			}
			s.audit.SetLogSampling(sample)
			s.log.Info("config reloaded: log.sample_allowed", "to", sample)
			s.cfg.Log = next.Log
		case "workspaces":
			s.issuer.ForgetWorkspaces()
			s.log.Info("config reloaded: workspaces registered", "workspaces", len(next.Workspaces))
			if oldIssuers, _ := workspaceIssuers(s.cfg.Workspaces); !maps.Equal(oldIssuers, nextIssuers) {
				s.log.Warn("config: a workspace's issuer_url changed; tokens keep the issuers this server started with until a restart")
			}
			s.cfg.Workspaces = next.Workspaces
		default:
			s.log.Warn("config: "+name+" changed; it takes effect at the next restart", "setting", name)
		}
	}
	return nil
}

// configChanges names the settings that differ between two configs as the config
// file spells them ("listen", "issuer.lead_time", …), in order.
func configChanges(old, next Config) ([]string, error) {
	flat := func(c Config) (map[string]json.RawMessage, error) {
		b, err := json.Marshal(c)
		if err != nil {
			return nil, fmt.Errorf("config: %w", err)
		}
		var top map[string]json.RawMessage
		if err := json.Unmarshal(b, &top); err != nil {
			return nil, fmt.Errorf("config: %w", err)
		}
		var iss map[string]json.RawMessage
		if err := json.Unmarshal(top["issuer"], &iss); err == nil {
			delete(top, "issuer")
			for k, v := range iss {
				top["issuer."+k] = v
			}
		}
		return top, nil
	}
	a, err := flat(old)
	if err != nil {
		return nil, err
	}
	b, err := flat(next)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, k := range slices.Sorted(maps.Keys(a)) {
		if w, ok := b[k]; !ok || !bytes.Equal(a[k], w) {
			out = append(out, k)
		}
	}
	for _, k := range slices.Sorted(maps.Keys(b)) {
		if _, ok := a[k]; !ok {
			out = append(out, k)
		}
	}
	slices.Sort(out)
	return out, nil
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// validateWorkspaces checks the names and UUIDs of a workspaces config, as
// registerWorkspaces would, without writing anything.
func validateWorkspaces(wss []WorkspaceConfig) error {
	for _, w := range wss {
		if err := issuer.ValidateWorkspace(w.Slug); err != nil {
			return fmt.Errorf("config: %w", err)
		}
		if _, err := uuidOr(w.UUID, ""); err != nil {
			return fmt.Errorf("config: workspace %s: %w", w.Slug, err)
		}
		for _, r := range w.Repositories {
			if err := issuer.ValidateRepository(r.Slug); err != nil {
				return fmt.Errorf("config: %w", err)
			}
			if _, err := uuidOr(r.UUID, ""); err != nil {
				return fmt.Errorf("config: repository %s/%s: %w", w.Slug, r.Slug, err)
			}
			for _, e := range r.Environments {
				if err := issuer.ValidateEnvironment(e.Name); err != nil {
					return fmt.Errorf("config: %w", err)
				}
				if _, err := uuidOr(e.UUID, ""); err != nil {
					return fmt.Errorf("config: environment %q: %w", e.Name, err)
				}
			}
		}
	}
	return nil
}
