// Package console serves the read-only web console of `keyless up` at /console/:
// the embedded single page (assets/) and its JSON API. The Handler is the wire
// (sessions, CSRF, security headers, authorization of each view); the Core reads
// what the views show from the store, the policy engine and the key set.
//
// Sign-in takes an access key pair of the first local account, verified as IAM
// verifies it; the session is a sealed, HTTP-only, SameSite=Strict cookie holding
// no secret, and the caller is resolved again from its access key id on every
// request, so that a deleted key or user loses access at once.
package console

import (
	"context"
	"crypto/subtle"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"mime"
	"net/http"
	"net/netip"
	"path"
	"strings"
	"sync"
	"time"

	"github.com/keyless-dev/keyless/authn"
	"github.com/keyless-dev/keyless/authz"
	"github.com/keyless-dev/keyless/awsapi"
	"github.com/keyless-dev/keyless/explain"
	"github.com/keyless-dev/keyless/issuer"
	"github.com/keyless-dev/keyless/policy"
	"github.com/keyless-dev/keyless/store"
)

//go:embed assets
var assets embed.FS

// PathPrefix is where the console is mounted.
const PathPrefix = "/console/"

// Actions an IAM policy grants to see the console's views.
const (
	ActionViewActivity = "keyless:ViewActivity"
	ActionViewTrustMap = "keyless:ViewTrustMap"
	ActionViewKeys     = "keyless:ViewKeys"
	ActionExplain      = "keyless:Explain"
)

// ContentSecurityPolicy is the policy every console response carries.
const ContentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

// CSRFHeader must be "1" on every POST to the API.
const CSRFHeader = "X-Keyless-Console"

// CredentialLookup resolves an access key as signed AWS calls are resolved;
// *authn.Authenticator implements it.
type CredentialLookup interface {
	LookupCredential(ctx context.Context, accessKeyID, sessionToken string) (awsapi.Credential, error)
}

// KeySource is the issuer's signing key set; *issuer.KeySet implements it.
type KeySource interface {
	List(ctx context.Context) ([]issuer.KeyInfo, error)
	Config() issuer.KeyConfig
}

// Config is what the console works with. Store, Account, Credentials and
// Authorizer are required.
type Config struct {
	// Store is the first account's store: its audit log, IAM and directory.
	Store store.Store
	// Account is the first account's id; only its principals may sign in.
	Account string
	// Credentials resolves access keys (every local account's, so that another
	// account's key is told apart from a wrong one).
	Credentials CredentialLookup
	// Authorizer decides the views over the first account's store.
	Authorizer *authz.Authorizer
	// Keys is the issuer's key set; nil shows no signing keys.
	Keys KeySource
	// Signature verifies tokens in the explain playground; nil skips that check.
	Signature explain.SignatureChecker
	// SessionTTL is a session's lifetime (default DefaultSessionTTL).
	SessionTTL time.Duration
	// PollInterval is how often the activity stream reads new events (default 1s).
	PollInterval time.Duration
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Logger gets errors; it never gets a token, secret or cookie.
	Logger *slog.Logger
}

// Handler serves /console/.
type Handler struct {
	cfg    Config
	core   *Core
	seal   *sealer
	mux    *http.ServeMux
	static fs.FS
	log    *slog.Logger
	// shutdown is closed when the http.Server serving the handler shuts down,
	// which ends the activity streams (an open stream would hold Shutdown
	// until its deadline); once registers that with the server.
	shutdown chan struct{}
	once     sync.Once
}

// New returns the console's handler, with a fresh random session key.
func New(cfg Config) (*Handler, error) {
	if cfg.Store == nil || cfg.Account == "" || cfg.Credentials == nil || cfg.Authorizer == nil {
		return nil, errors.New("console: Store, Account, Credentials and Authorizer are required")
	}
	if cfg.SessionTTL <= 0 {
		cfg.SessionTTL = DefaultSessionTTL
	}
	if cfg.PollInterval <= 0 {
		cfg.PollInterval = time.Second
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	z, err := newSealer()
	if err != nil {
		return nil, err
	}
	static, err := fs.Sub(assets, "assets")
	if err != nil {
		return nil, fmt.Errorf("console: assets: %w", err)
	}
	h := &Handler{cfg: cfg, core: NewCore(cfg), seal: z, static: static, log: cfg.Logger, mux: http.NewServeMux(), shutdown: make(chan struct{})}
	h.mux.HandleFunc("GET /console/{$}", h.index)
	h.mux.HandleFunc("GET /console/assets/{file...}", h.asset)
	h.mux.HandleFunc("POST /console/api/signin", h.signin)
	h.mux.HandleFunc("POST /console/api/signout", h.authed("", h.signout))
	h.mux.HandleFunc("GET /console/api/me", h.authed("", h.me))
	h.mux.HandleFunc("GET /console/api/activity", h.authed(ActionViewActivity, h.activity))
	h.mux.HandleFunc("GET /console/api/activity/stream", h.authed(ActionViewActivity, h.stream))
	h.mux.HandleFunc("GET /console/api/decisions/{id}", h.authed(ActionViewActivity, h.decision))
	h.mux.HandleFunc("GET /console/api/trustmap", h.authed(ActionViewTrustMap, h.trustmap))
	h.mux.HandleFunc("GET /console/api/keys", h.authed(ActionViewKeys, h.keys))
	h.mux.HandleFunc("POST /console/api/explain", h.authed(ActionExplain, h.explain))
	return h, nil
}

// ServeHTTP sets the security headers on every response, refuses an API call
// without a session (401) or a POST without the CSRF header (403), and routes.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hd := w.Header()
	hd.Set("Content-Security-Policy", ContentSecurityPolicy)
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Referrer-Policy", "no-referrer")
	hd.Set("X-Frame-Options", "DENY")
	if r.URL.Path == "/console" {
		http.Redirect(w, r, PathPrefix, http.StatusMovedPermanently)
		return
	}
	if strings.HasPrefix(r.URL.Path, "/console/api/") {
		hd.Set("Cache-Control", "no-store")
		if r.Method == http.MethodPost {
			if err := h.checkCSRF(r); err != nil {
				writeError(w, http.StatusForbidden, "CSRF", err.Error())
				return
			}
		}
		if r.URL.Path != "/console/api/signin" {
			if _, err := h.session(r); err != nil {
				writeError(w, http.StatusUnauthorized, "Unauthenticated", "sign in to the console first")
				return
			}
		}
		if _, pattern := h.mux.Handler(r); pattern == "" {
			// Unknown path or method: answered in JSON, not the mux's text.
			if h.knownPath(r) {
				writeError(w, http.StatusMethodNotAllowed, "MethodNotAllowed", r.Method+" is not allowed on "+r.URL.Path)
			} else {
				writeError(w, http.StatusNotFound, "NotFound", "no console API at "+r.URL.Path)
			}
			return
		}
	}
	h.mux.ServeHTTP(w, r)
}

// knownPath reports whether some method is served at r's path.
func (h *Handler) knownPath(r *http.Request) bool {
	for _, m := range []string{http.MethodGet, http.MethodPost} {
		rr := r.Clone(r.Context())
		rr.Method = m
		if _, p := h.mux.Handler(rr); p != "" {
			return true
		}
	}
	return false
}

// checkCSRF requires the console's header, a JSON body and, when the browser
// sends one, the server's own origin.
func (h *Handler) checkCSRF(r *http.Request) error {
	if r.Header.Get(CSRFHeader) != "1" {
		return errors.New("POST requests need the header " + CSRFHeader + ": 1")
	}
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		return errors.New("POST requests need Content-Type: application/json")
	}
	if o := r.Header.Get("Origin"); o != "" {
		scheme := "http"
		if r.TLS != nil {
			scheme = "https"
		}
		if !strings.EqualFold(o, scheme+"://"+r.Host) {
			return errors.New("the request's Origin is not this server's")
		}
	}
	return nil
}

func (h *Handler) index(w http.ResponseWriter, r *http.Request) {
	h.serveFile(w, r, "index.html")
}

func (h *Handler) asset(w http.ResponseWriter, r *http.Request) {
	h.serveFile(w, r, r.PathValue("file"))
}

// serveFile serves one embedded file, never a directory listing.
func (h *Handler) serveFile(w http.ResponseWriter, r *http.Request, name string) {
	name = path.Clean(name)
	b, err := fs.ReadFile(h.static, name)
	if err != nil {
		http.NotFound(w, r)
		return
	}
	ct := mime.TypeByExtension(path.Ext(name))
	switch path.Ext(name) {
	case ".js", ".mjs":
		ct = "text/javascript; charset=utf-8"
	case ".html":
		ct = "text/html; charset=utf-8"
	case ".css":
		ct = "text/css; charset=utf-8"
	case ".svg":
		ct = "image/svg+xml"
	}
	if ct == "" {
		ct = "application/octet-stream"
	}
	w.Header().Set("Content-Type", ct)
	w.Header().Set("Cache-Control", "no-cache")
	if r.Method != http.MethodHead {
		w.Write(b)
	}
}

// caller is a request's verified principal and session.
type caller struct {
	sess Session
	p    *authn.Principal
}

// session opens the request's cookie.
func (h *Handler) session(r *http.Request) (Session, error) {
	c, err := r.Cookie(CookieName)
	if err != nil {
		return Session{}, errBadCookie
	}
	return h.seal.open(c.Value, h.cfg.Now())
}

// authed wraps a view: it resolves the session's access key again (a deleted
// or deactivated key, or one of another account, is refused with 401) and, for
// action != "", authorizes it through the policy engine (403 AccessDenied).
func (h *Handler) authed(action string, next func(http.ResponseWriter, *http.Request, caller)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		sess, err := h.session(r)
		if err != nil {
			writeError(w, http.StatusUnauthorized, "Unauthenticated", "sign in to the console first")
			return
		}
		p, denied, err := h.check(r.Context(), sess, action, remoteAddr(r), r.TLS != nil)
		switch {
		case errors.Is(err, errStaleSession):
			h.clearCookie(w, r)
			writeError(w, http.StatusUnauthorized, "Unauthenticated", "the session's access key is no longer valid: sign in again")
			return
		case err != nil:
			h.log.Error("console: authorize", "action", action, "err", err)
			writeError(w, http.StatusInternalServerError, "InternalFailure", "the view could not be authorized")
			return
		case denied != "":
			writeError(w, http.StatusForbidden, "AccessDenied", denied)
			return
		}
		next(w, r, caller{sess: sess, p: p})
	}
}

// errStaleSession: the session's access key no longer resolves to the
// principal that signed in (deleted, deactivated, or of another account).
var errStaleSession = errors.New("console: the session's access key is no longer valid")

// check resolves the session's access key again (errStaleSession when it no
// longer names the principal that signed in) and, for action != "",
// authorizes the principal through the policy engine: denied is the
// AccessDenied message when it may not.
func (h *Handler) check(ctx context.Context, sess Session, action string, from netip.Addr, secure bool) (p *authn.Principal, denied string, err error) {
	cred, err := h.cfg.Credentials.LookupCredential(ctx, sess.AccessKeyID, "")
	p, _ = cred.Principal.(*authn.Principal)
	if err != nil || p == nil || p.Account != sess.Account || p.Account != h.cfg.Account || p.ARN != sess.ARN {
		if err != nil && !isCredentialError(err) {
			h.log.Error("console: resolve session caller", "err", err)
		}
		return nil, "", errStaleSession
	}
	if action == "" {
		return p, "", nil
	}
	resource := ResourceARN(h.cfg.Account)
	res, err := h.cfg.Authorizer.Authorize(ctx, authz.Request{
		Caller: p, Action: action, Resource: resource, SourceIP: from, Time: h.cfg.Now(), Secure: secure,
	})
	if err != nil {
		return nil, "", fmt.Errorf("console: authorize %s: %w", action, err)
	}
	if res.Decision != policy.Allowed {
		return p, authz.DeniedMessage(p, action, resource, res), nil
	}
	return p, "", nil
}

// ResourceARN is the resource the console's actions are authorized on.
func ResourceARN(account string) string { return "arn:aws:keyless::" + account + ":console" }

func remoteAddr(r *http.Request) netip.Addr {
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		return netip.Addr{}
	}
	return ap.Addr().Unmap()
}

// isCredentialError reports whether err is a refusal of the key (not a failure).
func isCredentialError(err error) bool {
	var ae *awsapi.Error
	return errors.As(err, &ae) && ae.Code != "InternalFailure"
}

// signinRequest is the body of POST /console/api/signin.
type signinRequest struct {
	AccessKeyID     string `json:"accessKeyId"`
	SecretAccessKey string `json:"secretAccessKey"`
	SessionToken    string `json:"sessionToken"`
}

// meJSON is who is signed in.
type meJSON struct {
	Account   string    `json:"account"`
	ARN       string    `json:"arn"`
	ExpiresAt time.Time `json:"expiresAt"`
}

func (h *Handler) signin(w http.ResponseWriter, r *http.Request) {
	var req signinRequest
	if err := decodeBody(r, &req); err != nil {
		writeError(w, http.StatusBadRequest, "InvalidRequest", err.Error())
		return
	}
	if req.AccessKeyID == "" || req.SecretAccessKey == "" {
		writeError(w, http.StatusBadRequest, "InvalidRequest", "give accessKeyId and secretAccessKey")
		return
	}
	if req.SessionToken != "" {
		// A role session's token would have to ride in the cookie for the caller
		// to be resolved again on each request; the cookie holds no secret.
		writeError(w, http.StatusBadRequest, "InvalidRequest", "sign in with a long-term access key (root or IAM user), not temporary credentials")
		return
	}
	const wrong = "the access key id or secret access key is wrong"
	cred, err := h.cfg.Credentials.LookupCredential(r.Context(), req.AccessKeyID, "")
	if err != nil {
		if !isCredentialError(err) {
			h.log.Error("console: sign-in lookup", "err", err)
			writeError(w, http.StatusInternalServerError, "InternalFailure", "sign-in failed")
			return
		}
		// Compare anyway, so that an unknown key takes as long as a wrong secret.
		subtle.ConstantTimeCompare([]byte(req.SecretAccessKey), []byte(strings.Repeat("x", len(req.SecretAccessKey))))
		writeError(w, http.StatusUnauthorized, "InvalidCredentials", wrong)
		return
	}
	p, _ := cred.Principal.(*authn.Principal)
	if p == nil || subtle.ConstantTimeCompare([]byte(req.SecretAccessKey), []byte(cred.SecretAccessKey)) != 1 {
		writeError(w, http.StatusUnauthorized, "InvalidCredentials", wrong)
		return
	}
	if p.Account != h.cfg.Account {
		writeError(w, http.StatusForbidden, "WrongAccount", "this console shows account "+h.cfg.Account+": sign in with one of its access keys")
		return
	}
	now := h.cfg.Now().UTC()
	sess := Session{Account: p.Account, AccessKeyID: p.AccessKeyID, ARN: p.ARN, Issued: now, Expires: now.Add(h.cfg.SessionTTL)}
	v, err := h.seal.seal(sess)
	if err != nil {
		h.log.Error("console: sign-in", "err", err)
		writeError(w, http.StatusInternalServerError, "InternalFailure", "sign-in failed")
		return
	}
	http.SetCookie(w, &http.Cookie{
		Name: CookieName, Value: v, Path: PathPrefix, HttpOnly: true, SameSite: http.SameSiteStrictMode,
		MaxAge: int(h.cfg.SessionTTL / time.Second), Secure: r.TLS != nil,
	})
	writeJSON(w, http.StatusOK, meJSON{Account: sess.Account, ARN: sess.ARN, ExpiresAt: sess.Expires})
}

func (h *Handler) clearCookie(w http.ResponseWriter, r *http.Request) {
	http.SetCookie(w, &http.Cookie{Name: CookieName, Value: "", Path: PathPrefix, HttpOnly: true,
		SameSite: http.SameSiteStrictMode, MaxAge: -1, Secure: r.TLS != nil})
}

func (h *Handler) signout(w http.ResponseWriter, r *http.Request, _ caller) {
	h.clearCookie(w, r)
	writeJSON(w, http.StatusOK, struct{}{})
}

func (h *Handler) me(w http.ResponseWriter, _ *http.Request, c caller) {
	writeJSON(w, http.StatusOK, meJSON{Account: c.sess.Account, ARN: c.sess.ARN, ExpiresAt: c.sess.Expires})
}

func (h *Handler) activity(w http.ResponseWriter, r *http.Request, _ caller) {
	q, err := ParseActivityQuery(r.URL.Query(), h.cfg.Now(), h.cfg.Account)
	if err != nil {
		writeError(w, http.StatusBadRequest, "InvalidParameter", err.Error())
		return
	}
	out, err := h.core.Activity(r.Context(), q)
	if err != nil {
		h.fail(w, "activity", err)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

func (h *Handler) decision(w http.ResponseWriter, r *http.Request, _ caller) {
	out, err := h.core.Decision(r.Context(), r.PathValue("id"))
	if errors.Is(err, ErrNotFound) {
		writeError(w, http.StatusNotFound, "NotFound", "no audit event "+r.PathValue("id"))
		return
	}
	if errors.Is(err, ErrInvalid) {
		writeError(w, http.StatusBadRequest, "InvalidParameter", err.Error())
		return
	}
	if err != nil {
		h.fail(w, "decision", err)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

func (h *Handler) trustmap(w http.ResponseWriter, r *http.Request, _ caller) {
	out, err := h.core.TrustMap(r.Context())
	if err != nil {
		h.fail(w, "trust map", err)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

func (h *Handler) keys(w http.ResponseWriter, r *http.Request, _ caller) {
	out, err := h.core.Keys(r.Context())
	if err != nil {
		h.fail(w, "keys", err)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

// explainRequest is the body of POST /console/api/explain. The token is used
// for one explain.Run and dropped: never logged, stored or echoed.
type explainRequest struct {
	Token   string `json:"token"`
	RoleARN string `json:"roleArn"`
}

func (h *Handler) explain(w http.ResponseWriter, r *http.Request, _ caller) {
	var req explainRequest
	if err := decodeBody(r, &req); err != nil {
		writeError(w, http.StatusBadRequest, "InvalidRequest", err.Error())
		return
	}
	if req.RoleARN == "" {
		writeError(w, http.StatusBadRequest, "InvalidParameter", "give roleArn, the ARN of the role to explain")
		return
	}
	rep, err := h.core.Explain(r.Context(), req.Token, req.RoleARN)
	if errors.Is(err, ErrNotFound) || errors.Is(err, ErrInvalid) {
		writeError(w, http.StatusBadRequest, "InvalidParameter", err.Error())
		return
	}
	if err != nil {
		h.fail(w, "explain", err)
		return
	}
	writeJSON(w, http.StatusOK, rep)
}

// fail logs an internal error (never with request data) and answers 500.
func (h *Handler) fail(w http.ResponseWriter, view string, err error) {
	h.log.Error("console: "+view, "err", err)
	writeError(w, http.StatusInternalServerError, "InternalFailure", "the "+view+" view could not be read")
}

// maxBody bounds API request bodies (a token is at most a few KiB).
const maxBody = 64 << 10

func decodeBody(r *http.Request, v any) error {
	dec := json.NewDecoder(io.LimitReader(r.Body, maxBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("the body is not the expected JSON object: %s", jsonProblem(err))
	}
	return nil
}

// jsonProblem describes a decoding error without quoting the body.
func jsonProblem(err error) string {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		return fmt.Sprintf("syntax error at byte %d", se.Offset)
	case errors.As(err, &te):
		return "field " + te.Field + " has the wrong type"
	case errors.Is(err, io.EOF):
		return "empty body"
	case strings.HasPrefix(err.Error(), "json: unknown field"):
		return strings.TrimPrefix(err.Error(), "json: ")
	}
	return "invalid JSON"
}

// errorJSON is the API's error body.
type errorJSON struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

func writeError(w http.ResponseWriter, status int, code, msg string) {
	var e errorJSON
	e.Error.Code, e.Error.Message = code, msg
	writeJSON(w, status, e)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}
