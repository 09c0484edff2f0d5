package client

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"
)

// Defaults of the credentials server.
const (
	// DefaultRefreshMargin is the least time before expiry at which the server
	// re-exchanges. The Go SDK refetches container credentials 5 minutes before they
	// expire and botocore (AWS CLI, boto3) insists on more than 10 minutes, so fresh
	// credentials must be ready before that.
	DefaultRefreshMargin = 11 * time.Minute
	// DefaultRetryInterval spaces failed refresh attempts.
	DefaultRetryInterval = 30 * time.Second
	// DefaultRefreshWait is how long a request for credentials that are due for
	// refresh, but still valid, waits for the refresh before taking the current ones.
	DefaultRefreshWait = time.Second
)

// CredServerOptions configure a CredServer.
type CredServerOptions struct {
	// Source yields a token for each exchange; required.
	Source TokenSource
	// Exchange trades a token for credentials, e.g. (*Exchanger).Exchange, or a
	// role chain's (*Chain).Exchange, so that every refresh re-runs the whole chain;
	// required.
	Exchange func(ctx context.Context, token string) (Credentials, error)
	// Now is the clock; time.Now when nil.
	Now func() time.Time
	// Logger receives refresh events (never secrets); discarded when nil.
	Logger *slog.Logger
	// Addr is the loopback address to listen on; 127.0.0.1:0 when empty.
	Addr string
	// RefreshMargin: credentials are refreshed once less than
	// max(RefreshMargin, lifetime/5) remain (at most 3/4 of the lifetime).
	// DefaultRefreshMargin when zero.
	RefreshMargin time.Duration
	// RetryInterval spaces failed refreshes; DefaultRetryInterval when zero.
	RetryInterval time.Duration
	// RefreshWait bounds the wait for a refresh while the current credentials are
	// still valid; DefaultRefreshWait when zero.
	RefreshWait time.Duration
}

// CredServer serves credentials to child processes as an AWS container-credentials
// endpoint (AWS_CONTAINER_CREDENTIALS_FULL_URI + AWS_CONTAINER_AUTHORIZATION_TOKEN) on
// a loopback address and a random path, requiring a random authorization token. It
// re-exchanges a fresh token from its TokenSource before the credentials expire.
type CredServer struct {
	opts CredServerOptions
	ln   net.Listener
	srv  *http.Server
	path string
	auth string
	url  string

	ctx    context.Context // cancelled by Close; bounds background refreshes
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu         sync.Mutex
	cur        Credentials
	issued     time.Time     // clock reading when cur was obtained
	lastFail   time.Time     // clock reading of the last failed refresh
	lastErr    error         // error of the last failed refresh
	refreshing chan struct{} // closed when the running refresh ends; nil when none runs
}

// StartCredServer exchanges a first token (so that a failure shows before any child
// starts), then listens on a loopback address and serves until Close.
func StartCredServer(ctx context.Context, opts CredServerOptions) (*CredServer, error) {
	if opts.Source == nil || opts.Exchange == nil {
		return nil, errors.New("start credentials server: Source and Exchange are required")
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Addr == "" {
		opts.Addr = "127.0.0.1:0"
	}
	if opts.RefreshMargin <= 0 {
		opts.RefreshMargin = DefaultRefreshMargin
	}
	if opts.RetryInterval <= 0 {
		opts.RetryInterval = DefaultRetryInterval
	}
	if opts.RefreshWait <= 0 {
		opts.RefreshWait = DefaultRefreshWait
	}
	host, _, err := net.SplitHostPort(opts.Addr)
	if err != nil {
		return nil, fmt.Errorf("start credentials server: %w", err)
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		return nil, fmt.Errorf("start credentials server: %s is not a loopback IP address", host)
	}
	s := &CredServer{opts: opts, path: "/credentials/" + rand.Text(), auth: rand.Text() + rand.Text()}
	tok, err := opts.Source.Token(ctx)
	if err != nil {
		return nil, fmt.Errorf("start credentials server: get token: %w", err)
	}
	c, err := opts.Exchange(ctx, tok)
	if err != nil {
		return nil, fmt.Errorf("start credentials server: %w", err)
	}
	s.cur, s.issued = c, opts.Now()
	var lc net.ListenConfig
	if s.ln, err = lc.Listen(ctx, "tcp", opts.Addr); err != nil {
		return nil, fmt.Errorf("start credentials server: %w", err)
	}
	s.url = "http://" + s.ln.Addr().String() + s.path
	s.ctx, s.cancel = context.WithCancel(context.WithoutCancel(ctx))
	s.srv = &http.Server{
		Handler:           s,
		ReadHeaderTimeout: 10 * time.Second,
		BaseContext:       func(net.Listener) context.Context { return s.ctx },
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		if err := s.srv.Serve(s.ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			opts.Logger.Error("credentials server stopped", slog.Any("error", err))
		}
	}()
	opts.Logger.Info("serving container credentials", slog.String("address", s.ln.Addr().String()), slog.Any("credentials", c))
	return s, nil
}

// URL is the full URI of the credentials, for AWS_CONTAINER_CREDENTIALS_FULL_URI.
func (s *CredServer) URL() string { return s.url }

// AuthorizationToken is the value clients must send in the Authorization header, for
// AWS_CONTAINER_AUTHORIZATION_TOKEN.
func (s *CredServer) AuthorizationToken() string { return s.auth }

// Env returns the two environment entries ("K=V") that point AWS SDKs at the server.
func (s *CredServer) Env() []string {
	return []string{
		"AWS_CONTAINER_CREDENTIALS_FULL_URI=" + s.url,
		"AWS_CONTAINER_AUTHORIZATION_TOKEN=" + s.auth,
	}
}

// Close stops the server and waits for running refreshes to end.
func (s *CredServer) Close() error {
	s.cancel()
	err := s.srv.Close()
	s.wg.Wait()
	if err != nil {
		return fmt.Errorf("close credentials server: %w", err)
	}
	return nil
}

// refreshAt returns when credentials obtained at issued and expiring at exp become
// due for refresh.
func (s *CredServer) refreshAt(issued, exp time.Time) time.Time {
	life := exp.Sub(issued)
	if life <= 0 {
		return exp
	}
	margin := max(s.opts.RefreshMargin, life/5)
	margin = min(margin, life*3/4)
	return exp.Add(-margin)
}

// Credentials returns credentials to hand out: the current ones while they are not
// due for refresh; otherwise it starts a refresh (unless one failed within
// RetryInterval) and waits for it — at most RefreshWait while the current ones are
// still valid, and until ctx ends when they have expired.
func (s *CredServer) Credentials(ctx context.Context) (Credentials, error) {
	s.mu.Lock()
	now := s.opts.Now()
	cur, exp := s.cur, s.cur.Expiration
	if now.Before(s.refreshAt(s.issued, exp)) {
		s.mu.Unlock()
		return cur, nil
	}
	done := s.refreshing
	if done == nil {
		if !s.lastFail.IsZero() && now.Sub(s.lastFail) < s.opts.RetryInterval {
			lastErr := s.lastErr
			s.mu.Unlock()
			if now.Before(exp) {
				return cur, nil
			}
			return Credentials{}, fmt.Errorf("credentials expired and the last refresh failed: %w", lastErr)
		}
		done = make(chan struct{})
		s.refreshing = done
		s.wg.Add(1)
		go s.refresh(done)
	}
	s.mu.Unlock()

	var timeout <-chan time.Time
	if now.Before(exp) {
		t := time.NewTimer(s.opts.RefreshWait)
		defer t.Stop()
		timeout = t.C
	}
	select {
	case <-done:
	case <-timeout:
		return cur, nil
	case <-ctx.Done():
		return Credentials{}, fmt.Errorf("wait for credentials: %w", ctx.Err())
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.opts.Now().Before(s.cur.Expiration) {
		return s.cur, nil
	}
	if s.lastErr != nil {
		return Credentials{}, fmt.Errorf("credentials expired and refreshing them failed: %w", s.lastErr)
	}
	return Credentials{}, errors.New("credentials expired and the refreshed ones are expired too")
}

// refresh exchanges a fresh token and installs the credentials; it closes done.
func (s *CredServer) refresh(done chan struct{}) {
	defer s.wg.Done()
	ctx, cancel := context.WithTimeout(s.ctx, 2*time.Minute)
	c, err := s.exchange(ctx)
	cancel()
	s.mu.Lock()
	now := s.opts.Now()
	if err != nil {
		s.lastFail, s.lastErr = now, err
		s.opts.Logger.Warn("refreshing credentials failed", slog.Any("error", err),
			slog.Time("current_expiration", s.cur.Expiration))
	} else {
		s.cur, s.issued, s.lastFail, s.lastErr = c, now, time.Time{}, nil
		s.opts.Logger.Info("refreshed credentials", slog.Any("credentials", c))
	}
	s.refreshing = nil
	s.mu.Unlock()
	close(done)
}

func (s *CredServer) exchange(ctx context.Context) (Credentials, error) {
	tok, err := s.opts.Source.Token(ctx)
	if err != nil {
		return Credentials{}, fmt.Errorf("get fresh token: %w", err)
	}
	return s.opts.Exchange(ctx, tok)
}

// containerCredentials is the JSON the SDKs' container credentials providers read.
type containerCredentials struct {
	AccessKeyID     string `json:"AccessKeyId"`
	SecretAccessKey string `json:"SecretAccessKey"`
	Token           string `json:"Token"`
	Expiration      string `json:"Expiration"`
	RoleArn         string `json:"RoleArn,omitempty"`
	AccountID       string `json:"AccountId,omitempty"`
}

// ServeHTTP answers GET <path> with "Authorization: <token>" with the credentials.
func (s *CredServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != s.path {
		writeContainerError(w, http.StatusNotFound, "NotFound", "no credentials here")
		return
	}
	if r.Method != http.MethodGet {
		w.Header().Set("Allow", http.MethodGet)
		writeContainerError(w, http.StatusMethodNotAllowed, "MethodNotAllowed", "use GET")
		return
	}
	if subtle.ConstantTimeCompare([]byte(r.Header.Get("Authorization")), []byte(s.auth)) != 1 {
		writeContainerError(w, http.StatusUnauthorized, "AccessDenied", "missing or wrong Authorization header")
		return
	}
	c, err := s.Credentials(r.Context())
	if err != nil {
		writeContainerError(w, http.StatusServiceUnavailable, "CredentialsUnavailable", err.Error())
		return
	}
	body, err := json.Marshal(containerCredentials{
		AccessKeyID:     c.AccessKeyID,
		SecretAccessKey: c.SecretAccessKey,
		Token:           c.SessionToken,
		Expiration:      c.Expiration.UTC().Format(time.RFC3339),
		RoleArn:         c.RoleARN,
		AccountID:       c.Account(),
	})
	if err != nil {
		writeContainerError(w, http.StatusInternalServerError, "InternalError", "encode credentials")
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write(body)
}

func writeContainerError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"code": code, "message": msg})
}
