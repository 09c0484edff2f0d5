// Package server composes `keyless up`: it opens the data directory, bootstraps the
// local CA, root credentials and signing keys, and serves the identity provider (and
// the AWS-compatible services) on one address, over HTTP and HTTPS alike.
package server

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/keyless-dev/keyless/audit"
	"github.com/keyless-dev/keyless/authn"
	"github.com/keyless-dev/keyless/bitbucket"
	"github.com/keyless-dev/keyless/edge"
	"github.com/keyless-dev/keyless/issuer"
	"github.com/keyless-dev/keyless/keywrap"
	"github.com/keyless-dev/keyless/localca"
	"github.com/keyless-dev/keyless/oidc"
	"github.com/keyless-dev/keyless/session"
	"github.com/keyless-dev/keyless/store"
	"github.com/keyless-dev/keyless/store/postgres"
	"github.com/keyless-dev/keyless/store/sqlite"
	"github.com/keyless-dev/keyless/sts"

	"github.com/keyless-dev/keyless/atomicfile"
)

// Options configure Start. Zero values take defaults.
type Options struct {
	Config  Config
	DataDir string // default ./.keyless
	Getenv  func(string) string
	Now     func() time.Time
	Logger  *slog.Logger
	// Dial, if set, opens the connections STS makes to fetch identity providers'
	// discovery documents and keys (oidc.Config.DialContext), for tests and fixed
	// egress; default a net.Dialer.
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)
	// LogLevel, if set, is the level of Logger, which a reload sets from log_level.
	LogLevel *slog.LevelVar
}

// Server is a running `keyless up`.
type Server struct {
	cfg     Config
	dataDir string
	log     *slog.Logger
	now     func() time.Time
	st      store.Store
	box     *keywrap.Box
	ca      *localca.CA
	root    RootCredentials
	runner  string
	keys    *issuer.KeySet
	audit   *audit.Recorder
	edge    *edge.Handler // the distributions' sites
	// audience is the default workspace's token audience (its registered UUID, which a
	// config may have set, else the name-derived one).
	audience string
	// sessionKeys seal session credentials; rotated daily by the key loop.
	sessionKeys *session.Keyring
	closers     []func() // services' background work to finish before the store closes
	issuer      *issuer.Issuer
	http        *http.Server
	listener    net.Listener
	endpoint    string
	lock        *os.File
	dial        func(ctx context.Context, network, addr string) (net.Conn, error) // Options.Dial
	proxies     []netip.Prefix                                                    // trusted_proxies, parsed
	// created and createdDirs are the files and directories (deepest first) this
	// start made in the data directory, removed if it fails.
	created     []string
	createdDirs []string
	stop        context.CancelFunc
	wg          sync.WaitGroup
	serveErr    chan error

	// bitbucketToken authorizes the Bitbucket variables API (bitbucket.TokenEnv).
	bitbucketToken string

	// accounts are the further local accounts (accounts.go), open; guarded by
	// accountsMu, as Organizations' CreateAccount adds to them while serving.
	accounts   []*account
	accountsMu sync.Mutex
	// reg is what the gateway serves in each account (accounts.go); authn
	// resolves every account's keys; stsCfg is the first account's STS
	// configuration, the base of a further account's.
	reg    *registry
	authn  *authn.Authenticator
	stsCfg sts.Config
	// orgs serves Organizations (organizations.go).
	orgs *orgServer

	ops operations // what signals act on: reload.go, keywatch.go

	metrics *serverMetrics // Prometheus metrics: metrics.go
}

// StoreFile is the SQLite database's name inside the data directory.
const StoreFile = "keyless.db"

// OpenStore opens the store a data directory uses: PostgreSQL when dsn is set, else
// SQLite in DIR/keyless.db.
func OpenStore(ctx context.Context, dataDir, dsn string) (store.Store, error) {
	// Return a nil interface on error, never a nil *Store inside a non-nil interface.
	if dsn != "" {
		st, err := postgres.Open(ctx, dsn)
		if err != nil {
			return nil, err
		}
		return st, nil
	}
	st, err := sqlite.Open(ctx, filepath.Join(dataDir, StoreFile))
	if err != nil {
		return nil, err
	}
	return st, nil
}

// Start brings the server up and returns once it accepts connections and DIR/env is written.
func Start(ctx context.Context, opts Options) (_ *Server, err error) {
	cfg := opts.Config
	cfg.applyDefaults()
	s := &Server{cfg: cfg, dataDir: opts.DataDir, log: opts.Logger, now: opts.Now, dial: opts.Dial, serveErr: make(chan error, 1)}
	if s.dataDir == "" {
		s.dataDir = ".keyless"
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if err := s.ops.init(opts.LogLevel); err != nil {
		return nil, err
	}
	if s.now == nil {
		s.now = time.Now
	}
	getenv := opts.Getenv
	if getenv == nil {
		getenv = os.Getenv
	}
	if s.now, err = offsetClock(s.now, getenv, s.log); err != nil { // clock.go
		return nil, err
	}
	if s.dataDir, err = filepath.Abs(s.dataDir); err != nil {
		return nil, fmt.Errorf("data directory: %w", err)
	}
	defer func() {
		if err != nil {
			s.abort()
		}
	}()

	// What can be checked without the data directory is checked first, so that a
	// refused start leaves the directory as it was.
	if s.listener, err = listen(cfg.Listen); err != nil {
		if errors.Is(err, syscall.EADDRINUSE) && dirLocked(s.dataDir) {
			return nil, fmt.Errorf("another keyless up is serving data directory %s, on %s; stop it or use another --data", s.dataDir, cfg.Listen)
		}
		return nil, err
	}
	if err := s.newMetrics(); err != nil { // metrics.go
		return nil, err
	}
	addr := s.listener.Addr().(*net.TCPAddr)
	host := addr.IP.String()
	if addr.IP.IsUnspecified() {
		host = "127.0.0.1"
	}
	s.endpoint = "http://" + net.JoinHostPort(host, fmt.Sprint(addr.Port))
	publicURL := cfg.PublicURL
	if publicURL == "" {
		publicURL = "https://" + net.JoinHostPort(host, fmt.Sprint(addr.Port))
	}
	pu, err := url.Parse(publicURL)
	if err != nil || pu.Scheme != "https" || pu.Host == "" {
		return nil, fmt.Errorf("public URL %q must be an https URL such as https://oidc.example.com", publicURL)
	}
	if s.proxies, err = parseTrustedProxies(cfg.TrustedProxies); err != nil {
		return nil, err
	}
	if err := validateAccounts(cfg.AccountID, cfg.Accounts); err != nil { // accounts.go
		return nil, err
	}

	if err := s.makeDataDir(); err != nil {
		return nil, err
	}
	lock, created, err := lockDir(s.dataDir)
	if err != nil {
		return nil, err
	}
	s.lock = lock
	if created {
		s.created = append(s.created, lock.Name())
	}
	// The lock is held: what is missing now and exists after a failed start was made
	// by this start, and is removed again (see abort).
	kekPath := filepath.Join(s.dataDir, keywrap.FileName)
	kekNew := strings.TrimSpace(getenv(keywrap.EnvVar)) == "" && !exists(kekPath)
	if kekNew {
		s.created = append(s.created, kekPath)
	}
	if s.box, err = keywrap.Load(s.dataDir, getenv); err != nil {
		return nil, err
	}
	db := filepath.Join(s.dataDir, StoreFile)
	dbNew := cfg.Store == "" && !exists(db)
	if dbNew {
		s.created = append(s.created, db, db+"-wal", db+"-shm", db+"-journal")
	}
	if s.st, err = OpenStore(ctx, s.dataDir, cfg.Store); err != nil {
		return nil, fmt.Errorf("open store: %w", err)
	}
	s.st = s.metrics.m.InstrumentStore(s.st)
	if kekNew && !dbNew {
		// A store this start did not make outlives it, and from here on may hold
		// values sealed under the new key: keep kek.key even if the start fails.
		s.created = slices.DeleteFunc(s.created, func(p string) bool { return p == kekPath })
	}
	if _, err = ensureAccount(ctx, s.st, cfg.AccountID); err != nil {
		return nil, err
	}
	if s.root, err = ensureRootCredentials(ctx, s.st, s.box); err != nil {
		return nil, err
	}
	if err := s.openAccounts(ctx); err != nil { // accounts.go
		return nil, err
	}
	if s.ca, err = ensureCA(ctx, s.st, s.box, s.now()); err != nil {
		return nil, err
	}
	s.ops.certHosts = []string{"localhost", "127.0.0.1", "::1", host, pu.Hostname()}
	cert, err := s.ca.Issue(s.now(), s.ops.certHosts)
	if err != nil {
		return nil, err
	}

	icfg := cfg.Issuer
	if s.keys, err = issuer.NewKeySet(s.st, s.box, issuer.KeyConfig{
		Algorithm:      icfg.Algorithm,
		LeadTime:       time.Duration(icfg.LeadTime),
		RotationPeriod: time.Duration(icfg.RotationPeriod),
		MaxTokenTTL:    time.Duration(icfg.MaxTokenTTL),
	}, s.now, s.log); err != nil {
		return nil, err
	}
	if err := saveKeyConfig(ctx, s.st, s.keys.Config()); err != nil {
		return nil, err
	}
	if err := s.keys.Tick(ctx); err != nil {
		return nil, err
	}
	autoRegister := icfg.AutoRegister == nil || *icfg.AutoRegister
	wsIssuers, err := workspaceIssuers(cfg.Workspaces)
	if err != nil {
		return nil, err
	}
	if s.issuer, err = issuer.New(issuer.Config{
		BaseURL: publicURL, DefaultTTL: time.Duration(icfg.TokenTTL), AutoRegister: autoRegister,
		WorkspaceIssuers: wsIssuers, GitHubIssuer: icfg.GitHubIssuerURL, GitLabIssuer: icfg.GitLabIssuerURL,
	}, s.st, s.keys, s.now); err != nil {
		return nil, err
	}
	s.knowIssuers()
	if err := registerWorkspaces(ctx, s.st, cfg.Workspaces, s.now()); err != nil {
		return nil, err
	}
	s.audience = issuer.WorkspaceAudience(issuer.WorkspaceUUID(cfg.DefaultWorkspace))
	if ws, err := s.st.GetWorkspace(ctx, cfg.DefaultWorkspace); err == nil {
		s.audience = issuer.WorkspaceAudience(ws.UUID)
	} else if !errors.Is(err, store.ErrNotFound) {
		return nil, fmt.Errorf("read default workspace: %w", err)
	}
	runners := issuer.NewRunners(s.st, s.now)
	if s.runner, err = ensureRunner(ctx, s.st, s.box, runners); err != nil {
		return nil, err
	}

	mux := http.NewServeMux()
	s.mountMetrics(mux)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"status":"ok"}`+"\n")
	})
	ready := newReadiness(s.st, s.keys, s.log) // ready.go
	mux.Handle("GET /readyz", ready)
	mux.HandleFunc("GET "+KeysStatusPath, s.keysStatus)
	issuerHandler := issuer.NewHandler(s.issuer, runners, s.log)
	issuerHandler.Register(mux)
	bitbucketHandler, err := s.newBitbucket(ctx, runners)
	if err != nil {
		return nil, err
	}
	bitbucketHandler.Register(mux) // Bitbucket's pipelines variables API, at its paths
	// The gateway is the front handler: it sends signed requests to the AWS
	// service their credential scope names (whatever the path, so that no S3 bucket
	// shadows keyless's routes) and everything else to mux.
	gw, err := s.awsServices(ctx, issuerHandler.JWKSMaxAge(), mux)
	if err != nil {
		return nil, err
	}
	s.watchState()
	if err := s.mountConsole(mux); err != nil { // console.go
		return nil, err
	}
	mux.Handle("POST /{$}", gw.Query())
	mux.Handle("GET /{$}", gw.Query())
	mux.Handle(edge.PathPrefix, s.edge) // sites for clients that cannot resolve *.localhost

	s.http = &http.Server{
		Handler:           s.ops.track(gw),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelDebug),
	}
	s.ops.cert.Store(&cert)
	tlsCfg := &tls.Config{GetCertificate: s.ops.certificate, MinVersion: tls.VersionTLS12, NextProtos: []string{"http/1.1"}}
	dual := newDualListener(s.listener, tlsCfg)
	s.listener = dual
	go func() { s.serveErr <- s.http.Serve(dual) }()
	s.serveMetrics()

	loopCtx, stop := context.WithCancel(context.Background())
	s.stop = stop
	s.wg.Add(1)
	go s.keyLoop(loopCtx, time.Duration(icfg.KeyCheckInterval))
	s.closers = append(s.closers, audit.StartRetention(s.st, audit.Retention{
		MaxAge: time.Duration(cfg.Audit.Retention), MaxEvents: cfg.Audit.MaxEvents, Now: s.now}, s.log))
	s.wg.Add(1)
	go s.keyWatch(loopCtx)
	s.wg.Add(1)
	go ready.watch(loopCtx, storeWatchInterval, s.wg.Done)
	if s.orgs != nil {
		s.wg.Add(1)
		go s.orgs.watchAccounts(loopCtx, s.wg.Done) // organizations.go
	}

	for _, f := range []string{s.CAFile(), filepath.Join(s.dataDir, "env")} {
		if !exists(f) {
			s.created = append(s.created, f)
		}
	}
	if err := s.writeEnv(); err != nil {
		return nil, err
	}
	s.created, s.createdDirs = nil, nil // started: nothing is undone from here on
	s.log.Info("keyless up ready", "endpoint", s.endpoint, "issuer", s.IssuerURL(), "data", s.dataDir)
	return s, nil
}

func (s *Server) keyLoop(ctx context.Context, every time.Duration) {
	defer s.wg.Done()
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case d := <-s.ops.keyInterval:
			t.Reset(d)
		case <-t.C:
			if err := s.keys.Tick(ctx); err != nil && ctx.Err() == nil {
				s.log.Error("key schedule", "err", err)
			}
			if rotated, err := syncSessionKeys(ctx, s.st, s.box, s.sessionKeys, s.now()); err != nil && ctx.Err() == nil {
				s.log.Error("session key rotation", "err", err)
			} else if rotated {
				s.log.Info("session key ring rotated")
			}
		}
	}
}

// Endpoint is the base URL of the server (plain HTTP; the same port speaks HTTPS).
func (s *Server) Endpoint() string { return s.endpoint }

// IssuerURL is the issuer of the default workspace.
func (s *Server) IssuerURL() string { return s.issuer.IssuerURL(s.cfg.DefaultWorkspace) }

// Issuer returns the identity provider.
func (s *Server) Issuer() *issuer.Issuer { return s.issuer }

// DataDir is the absolute data directory.
func (s *Server) DataDir() string { return s.dataDir }

// CAFile is the path of the local CA bundle (PEM).
func (s *Server) CAFile() string { return filepath.Join(s.dataDir, "ca.pem") }

// Root returns the root credentials of the local account.
func (s *Server) Root() RootCredentials { return s.root }

// Env returns the variables written to DIR/env, in a stable order.
func (s *Server) Env() [][2]string {
	ws := s.cfg.DefaultWorkspace
	return [][2]string{
		{"KEYLESS_ENDPOINT", s.endpoint},
		{"KEYLESS_ISSUER", s.IssuerURL()},
		{oidc.AliasesEnv, oidc.FormatAliases(s.issuer.Aliases())},
		{"KEYLESS_WORKSPACE", ws},
		{"KEYLESS_AUDIENCE", s.audience},
		{"KEYLESS_CA_BUNDLE", s.CAFile()},
		{"KEYLESS_ACCOUNT_ID", s.cfg.AccountID},
		{"KEYLESS_ROOT_ACCESS_KEY_ID", s.root.AccessKeyID},
		{"KEYLESS_ROOT_SECRET_ACCESS_KEY", s.root.SecretAccessKey},
		{"KEYLESS_RUNNER_TOKEN", s.runner},
		{bitbucket.TokenEnv, s.bitbucketToken},
		{"KEYLESS_DATA", s.dataDir},
		{"AWS_ENDPOINT_URL", s.endpoint},
		{"AWS_ENDPOINT_URL_STS", s.endpoint},
		{"AWS_ENDPOINT_URL_CLOUDFRONT", s.endpoint},
		// S3 path style; virtual hosts are BUCKET.s3.localhost at the same port.
		{"AWS_ENDPOINT_URL_S3", s.endpoint},
		{"AWS_ENDPOINT_URL_SECRETS_MANAGER", s.endpoint},
		{"AWS_ENDPOINT_URL_ORGANIZATIONS", s.endpoint},
	}
}

// writeEnv writes DIR/ca.pem and DIR/env (mode 0600) atomically. An env file others
// could read is replaced all the same, with a warning: the secrets it held may be known.
func (s *Server) writeEnv() error {
	if err := atomicfile.Write(s.CAFile(), s.ca.CertPEM(), 0o644); err != nil {
		return err
	}
	envPath := filepath.Join(s.dataDir, "env")
	if fi, err := os.Stat(envPath); err == nil && fi.Mode().Perm()&0o077 != 0 {
		s.log.Warn("env file was readable or writable by others; rewritten with mode 0600, but the root secret and runner token it held may have been read",
			"path", envPath, "mode", fmt.Sprintf("%04o", fi.Mode().Perm()))
	}
	var b strings.Builder
	b.WriteString("# Written by keyless up; source it: . " + shellQuote(filepath.Join(s.dataDir, "env")) + "\n")
	for _, kv := range s.Env() {
		fmt.Fprintf(&b, "export %s=%s\n", kv[0], shellQuote(kv[1]))
	}
	return atomicfile.Write(envPath, []byte(b.String()), 0o600)
}

// Banner is the short text `keyless up` prints when ready.
func (s *Server) Banner() string {
	envPath := filepath.Join(s.dataDir, "env")
	var served strings.Builder
	aliases := s.issuer.Aliases()
	for _, iss := range slices.Sorted(maps.Keys(aliases)) {
		fmt.Fprintf(&served, "  serves    %s\n            at %s\n", iss, aliases[iss])
	}
	return fmt.Sprintf(`keyless up: ready
  endpoint  %s   (AWS-compatible services; HTTPS on the same port)
  issuer    %s
%s  data      %s
Use it from a shell:
  . %s
  keyless token mint --workspace %s --repository my-repo
Stop with Ctrl-C.
`, s.endpoint, s.IssuerURL(), served.String(), s.dataDir, shellQuote(envPath), s.cfg.DefaultWorkspace)
}

// Wait blocks until ctx is done or the server fails, then shuts down cleanly.
func (s *Server) Wait(ctx context.Context) error {
	var serveErr error
	select {
	case <-ctx.Done():
	case serveErr = <-s.serveErr:
		if errors.Is(serveErr, http.ErrServerClosed) {
			serveErr = nil
		}
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return errors.Join(serveErr, s.Shutdown(shutdownCtx))
}

// Shutdown stops serving, waits for in-flight requests and closes the store.
func (s *Server) Shutdown(ctx context.Context) error {
	var err error
	if s.http != nil {
		err = s.http.Shutdown(ctx)
	}
	s.closeResources()
	s.log.Info("keyless up stopped")
	return err
}

func (s *Server) closeResources() {
	s.closeMetrics()
	if s.stop != nil {
		s.stop()
		s.wg.Wait()
		s.stop = nil
	}
	if s.listener != nil && s.http == nil {
		s.listener.Close()
	}
	for _, c := range s.closers {
		c()
	}
	s.closers = nil
	if s.audit != nil {
		s.audit.Close() // flush queued events before the store closes
		s.audit = nil
	}
	s.closeAccounts()
	if s.st != nil {
		s.st.Close()
		s.st = nil
	}
	if s.lock != nil {
		s.lock.Close()
		s.lock = nil
	}
}

// lockDir takes an exclusive lock on DIR/lock so two servers never share a directory,
// and reports whether it created the file.
func lockDir(dir string) (*os.File, bool, error) {
	path := filepath.Join(dir, "lock")
	for range 10 {
		created := true
		f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
		if errors.Is(err, fs.ErrExist) {
			created = false
			f, err = os.OpenFile(path, os.O_RDWR, 0o600)
			if errors.Is(err, fs.ErrNotExist) {
				continue // removed meanwhile by a failed start
			}
		}
		if err != nil {
			return nil, false, fmt.Errorf("lock data directory: %w", err)
		}
		if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
			f.Close()
			if errors.Is(err, syscall.EWOULDBLOCK) {
				return nil, false, fmt.Errorf("another keyless up is serving data directory %s; stop it or use another --data", dir)
			}
			return nil, false, fmt.Errorf("lock data directory: %s: %w", path, err)
		}
		// A failed start removes the lock file it created while it holds the lock; a
		// lock taken on such a removed file guards nothing: take the current file's.
		held, err1 := f.Stat()
		cur, err2 := os.Stat(path)
		if err1 == nil && err2 == nil && os.SameFile(held, cur) {
			return f, created, nil
		}
		f.Close()
	}
	return nil, false, fmt.Errorf("lock data directory: %s keeps being replaced", path)
}

// dirLocked reports whether a running keyless up holds the lock of dir. It creates
// nothing.
func dirLocked(dir string) bool {
	f, err := os.Open(filepath.Join(dir, "lock"))
	if err != nil {
		return false
	}
	defer f.Close()
	err = syscall.Flock(int(f.Fd()), syscall.LOCK_SH|syscall.LOCK_NB)
	if err == nil {
		syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
	}
	return errors.Is(err, syscall.EWOULDBLOCK)
}

// listen checks that addr is HOST:PORT and binds it, saying what to do when it cannot.
func listen(addr string) (net.Listener, error) {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		reason := err.Error()
		if ae := (*net.AddrError)(nil); errors.As(err, &ae) {
			reason = ae.Err
		}
		return nil, fmt.Errorf("invalid listen address %q: %s: use HOST:PORT, such as 127.0.0.1:8400 (port 0 picks a free port)", addr, reason)
	}
	if _, err := strconv.ParseUint(port, 10, 16); err != nil {
		return nil, fmt.Errorf("invalid listen address %q: port %q is not a number from 0 to 65535", addr, port)
	}
	l, err := net.Listen("tcp", addr)
	if errors.Is(err, syscall.EADDRINUSE) {
		return nil, &explainedError{err: err, msg: fmt.Sprintf(
			"listen on %s: the address is already in use: stop what is using it or choose another --listen address (port 0 picks a free port)", addr)}
	}
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", addr, err)
	}
	return l, nil
}

// explainedError is an error whose message is written for the user, while errors.Is
// and errors.As still see its cause.
type explainedError struct {
	msg string
	err error
}

func (e *explainedError) Error() string { return e.msg }
func (e *explainedError) Unwrap() error { return e.err }

// parseTrustedProxies parses the trusted_proxies config: addresses or CIDRs.
func parseTrustedProxies(list []string) ([]netip.Prefix, error) {
	var proxies []netip.Prefix
	for _, p := range list {
		pfx, err := netip.ParsePrefix(p)
		if err != nil {
			addr, aerr := netip.ParseAddr(p)
			if aerr != nil {
				return nil, fmt.Errorf("config: trusted_proxies: %q is neither an address nor a CIDR", p)
			}
			pfx = netip.PrefixFrom(addr, addr.BitLen())
		}
		proxies = append(proxies, pfx)
	}
	return proxies, nil
}

// makeDataDir creates the data directory (0700) unless it exists, noting the
// directories it created, and warns when others may write to it.
func (s *Server) makeDataDir() error {
	for d := s.dataDir; !exists(d); d = filepath.Dir(d) {
		s.createdDirs = append(s.createdDirs, d) // deepest first
		if filepath.Dir(d) == d {
			break
		}
	}
	if err := os.MkdirAll(s.dataDir, 0o700); err != nil {
		return fmt.Errorf("create data directory: %w", err)
	}
	fi, err := os.Stat(s.dataDir)
	if err != nil {
		return fmt.Errorf("data directory: %w", err)
	}
	if !fi.IsDir() {
		return fmt.Errorf("data directory %s is not a directory", s.dataDir)
	}
	if perm := fi.Mode().Perm(); perm&0o022 != 0 {
		s.log.Warn("data directory is writable by others, who could replace keyless's files: chmod 700 it",
			"dir", s.dataDir, "mode", fmt.Sprintf("%04o", perm))
	}
	return nil
}

// exists reports whether something is at path (a broken symlink counts).
func exists(path string) bool {
	_, err := os.Lstat(path)
	return !errors.Is(err, fs.ErrNotExist)
}

// abort ends a failed Start: it releases what the start acquired and removes what it
// created, so that the data directory is left as it was found. The lock file goes
// while the lock is still held.
func (s *Server) abort() {
	if s.http != nil {
		s.http.Close()
	}
	lock := s.lock
	s.lock = nil
	s.closeResources()
	for i := len(s.created) - 1; i >= 0; i-- {
		if err := os.Remove(s.created[i]); err != nil && !errors.Is(err, fs.ErrNotExist) {
			s.log.Warn("cannot remove what the failed start created", "path", s.created[i], "err", err)
		}
	}
	if lock != nil {
		lock.Close()
	}
	for _, d := range s.createdDirs {
		os.Remove(d) // only if empty: never what someone else put there meanwhile
	}
}

func registerWorkspaces(ctx context.Context, st store.Store, wss []WorkspaceConfig, now time.Time) error {
	for _, w := range wss {
		if err := issuer.ValidateWorkspace(w.Slug); err != nil {
			return fmt.Errorf("config: %w", err)
		}
		u, err := uuidOr(w.UUID, issuer.WorkspaceUUID(w.Slug))
		if err != nil {
			return fmt.Errorf("config: workspace %s: %w", w.Slug, err)
		}
		ws := store.Workspace{Slug: w.Slug, UUID: u, SessionTags: w.SessionTags, CreatedAt: now}
		err = st.CreateWorkspace(ctx, ws)
		if errors.Is(err, store.ErrAlreadyExists) {
			err = st.UpdateWorkspace(ctx, w.Slug, func(old store.Workspace) (store.Workspace, error) {
				if old.UUID != u {
					return old, fmt.Errorf("workspace %s is registered with UUID %s, not %s", w.Slug, old.UUID, u)
				}
				old.SessionTags = w.SessionTags
				return old, nil
			})
		}
		if err != nil {
			return fmt.Errorf("config: register workspace %s: %w", w.Slug, err)
		}
		for _, r := range w.Repositories {
			if err := issuer.ValidateRepository(r.Slug); err != nil {
				return fmt.Errorf("config: %w", err)
			}
			ru, err := uuidOr(r.UUID, issuer.RepositoryUUID(w.Slug, r.Slug))
			if err != nil {
				return fmt.Errorf("config: repository %s/%s: %w", w.Slug, r.Slug, err)
			}
			if err := ensureEntity(st.CreateRepository(ctx, store.Repository{Workspace: w.Slug, Slug: r.Slug, UUID: ru, CreatedAt: now}), func() (string, error) {
				got, err := st.GetRepository(ctx, w.Slug, r.Slug)
				return got.UUID, err
			}, ru); err != nil {
				return fmt.Errorf("config: register repository %s/%s: %w", w.Slug, r.Slug, err)
			}
			for _, e := range r.Environments {
				if err := issuer.ValidateEnvironment(e.Name); err != nil {
					return fmt.Errorf("config: %w", err)
				}
				eu, err := uuidOr(e.UUID, issuer.EnvironmentUUID(w.Slug, r.Slug, e.Name))
				if err != nil {
					return fmt.Errorf("config: environment %q: %w", e.Name, err)
				}
				if err := ensureEntity(st.CreateEnvironment(ctx, store.Environment{Workspace: w.Slug, Repository: r.Slug, Name: e.Name, UUID: eu, CreatedAt: now}), func() (string, error) {
					got, err := st.GetEnvironment(ctx, w.Slug, r.Slug, e.Name)
					return got.UUID, err
				}, eu); err != nil {
					return fmt.Errorf("config: register environment %q of %s/%s: %w", e.Name, w.Slug, r.Slug, err)
				}
			}
		}
	}
	return nil
}

// ensureEntity accepts a create that succeeded, or one that found the same UUID registered.
func ensureEntity(createErr error, current func() (string, error), want string) error {
	if !errors.Is(createErr, store.ErrAlreadyExists) {
		return createErr
	}
	have, err := current()
	if err != nil {
		return err
	}
	if have != want {
		return fmt.Errorf("already registered with UUID %s, not %s", have, want)
	}
	return nil
}

func uuidOr(explicit, derived string) (string, error) {
	if explicit == "" {
		return derived, nil
	}
	return issuer.NormalizeUUID("uuid", explicit)
}

// shellQuote quotes s for POSIX sh when it needs it.
func shellQuote(s string) string {
	safe := s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("/:._-+=@,%", r))
	}) < 0
	if safe {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// CAPool is a certificate pool holding the local CA (for relying parties in-process).
func (s *Server) CAPool() *x509.CertPool {
	pool := x509.NewCertPool()
	pool.AddCert(s.ca.Cert)
	return pool
}
