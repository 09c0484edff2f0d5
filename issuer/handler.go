package issuer

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"strings"
	"time"

	"github.com/keyless-dev/keyless/store"
)

// claimsSupported is the discovery document's claims_supported, as Bitbucket publishes it.
var claimsSupported = []string{"sub", "iss", "aud", "exp", "iat", "branchName", "compliant", "deploymentEnvironmentUuid", "pipelineUuid", "repositoryUuid", "stepUuid", "workspaceUuid"}

// MintPath is the mint API's path.
const MintPath = "/keyless/v1/tokens"

// APIPrefix is where keyless's own API lives: every answer under it, errors
// included, is the JSON error document, never the mux's plain text.
const APIPrefix = "/keyless/"

// MaxMintBody is the largest mint request body accepted (413 above it).
const MaxMintBody = 64 << 10

// Handler serves discovery and keys of every issuer, and the mint API.
type Handler struct {
	is      *Issuer
	runners *Runners
	log     *slog.Logger
}

// NewHandler returns the issuer's HTTP handler.
func NewHandler(is *Issuer, runners *Runners, log *slog.Logger) *Handler {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Handler{is: is, runners: runners, log: log}
}

// Register adds the issuer's routes to mux.
func (h *Handler) Register(mux *http.ServeMux) {
	const base = "/2.0/workspaces/{workspace}/pipelines-config/identity/oidc"
	mux.HandleFunc("GET "+base+"/.well-known/openid-configuration", h.discovery)
	mux.HandleFunc("GET "+base+"/keys.json", h.jwks)
	// The GitHub- and GitLab-shaped issuers: one each, keys where github.com's and
	// gitlab.com's are.
	mux.HandleFunc("GET "+GitHubIssuerPath+"/.well-known/openid-configuration", h.ciDiscovery(CIGitHub))
	mux.HandleFunc("GET "+GitHubIssuerPath+githubJWKSPath, h.ciJWKS)
	mux.HandleFunc("GET "+GitLabIssuerPath+"/.well-known/openid-configuration", h.ciDiscovery(CIGitLab))
	mux.HandleFunc("GET "+GitLabIssuerPath+gitlabJWKSPath, h.ciJWKS)
	// Any method: mint answers a wrong one with a JSON 405, which the mux would send
	// as plain text.
	mux.HandleFunc(MintPath, h.mint)
	mux.HandleFunc(APIPrefix, h.notFound)
}

// notFound answers paths under APIPrefix that name no API.
func (h *Handler) notFound(w http.ResponseWriter, r *http.Request) {
	h.writeError(w, &Error{Code: CodeNotFound, Message: fmt.Sprintf("no API at %s: the mint API is POST %s", r.URL.Path, MintPath)})
}

// knownWorkspace reports whether discovery should answer for slug.
func (h *Handler) knownWorkspace(r *http.Request, slug string) bool {
	if ValidateWorkspace(slug) != nil {
		return false
	}
	if h.is.cfg.AutoRegister {
		return true
	}
	_, err := h.is.st.GetWorkspace(r.Context(), slug)
	return err == nil
}

func (h *Handler) discovery(w http.ResponseWriter, r *http.Request) {
	slug := r.PathValue("workspace")
	if !h.knownWorkspace(r, slug) {
		h.writeError(w, &Error{Code: CodeNotFound, Message: fmt.Sprintf("no identity provider for workspace %q", slug)})
		return
	}
	// The issuer is the URL tokens carry, which may be a production one
	// (Config.WorkspaceIssuers); the keys are always those served here.
	h.writeDiscovery(w, h.is.IssuerURL(slug), h.is.LocalIssuerURL(slug)+"/keys.json", claimsSupported)
}

// ciDiscovery serves the discovery document of the GitHub- or GitLab-shaped issuer.
func (h *Handler) ciDiscovery(ci CI) http.HandlerFunc {
	local := h.is.cfg.BaseURL
	return func(w http.ResponseWriter, _ *http.Request) {
		if ci == CIGitHub {
			h.writeDiscovery(w, h.is.GitHubIssuerURL(), local+GitHubIssuerPath+githubJWKSPath, githubClaimsSupported)
			return
		}
		h.writeDiscovery(w, h.is.GitLabIssuerURL(), local+GitLabIssuerPath+gitlabJWKSPath, gitlabClaimsSupported)
	}
}

func (h *Handler) writeDiscovery(w http.ResponseWriter, iss, jwksURI string, claims []string) {
	algs := h.is.keys.Algorithms()
	if len(algs) == 0 {
		algs = []string{h.is.keys.cfg.Algorithm}
	}
	doc := map[string]any{
		"issuer":                                iss,
		"jwks_uri":                              jwksURI,
		"subject_types_supported":               []string{"public"},
		"response_types_supported":              []string{"id_token"},
		"id_token_signing_alg_values_supported": algs,
		"scopes_supported":                      []string{"openid"},
		"claims_supported":                      claims,
	}
	w.Header().Set("Cache-Control", "public, max-age=3600")
	writeJSON(w, http.StatusOK, doc)
}

// JWKSMaxAge is how long relying parties may cache keys.json: half the lead time (at
// most an hour), so a prepared key reaches every cache before it signs.
func (h *Handler) JWKSMaxAge() time.Duration {
	return min(h.is.keys.cfg.LeadTime/2, time.Hour)
}

func (h *Handler) jwks(w http.ResponseWriter, r *http.Request) {
	slug := r.PathValue("workspace")
	if !h.knownWorkspace(r, slug) {
		h.writeError(w, &Error{Code: CodeNotFound, Message: fmt.Sprintf("no identity provider for workspace %q", slug)})
		return
	}
	h.writeJWKS(w)
}

// ciJWKS serves the keys of the GitHub- and GitLab-shaped issuers: the same key set.
func (h *Handler) ciJWKS(w http.ResponseWriter, _ *http.Request) { h.writeJWKS(w) }

func (h *Handler) writeJWKS(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", fmt.Sprintf("public, max-age=%d", int(h.JWKSMaxAge().Seconds())))
	w.WriteHeader(http.StatusOK)
	w.Write(h.is.keys.JWKS())
}

func (h *Handler) mint(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		h.writeError(w, &Error{Code: CodeMethodNotAllowed, Message: fmt.Sprintf("method %s is not allowed on %s: mint with POST", r.Method, MintPath)})
		return
	}
	cred, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	run, err := h.runners.Authenticate(r.Context(), cred)
	if err != nil {
		h.writeError(w, err)
		return
	}
	// A missing Content-Type is taken for JSON; any other is refused.
	if ct := r.Header.Get("Content-Type"); ct != "" {
		if mt, _, err := mime.ParseMediaType(ct); err != nil || mt != "application/json" {
			h.writeError(w, &Error{Code: CodeUnsupportedMediaType, Message: fmt.Sprintf("Content-Type %q is not supported: send the mint request as application/json", ct)})
			return
		}
	}
	tooLarge := &Error{Code: CodeRequestTooLarge, Message: fmt.Sprintf("mint request body is larger than %d bytes", MaxMintBody)}
	if r.ContentLength > MaxMintBody {
		h.writeError(w, tooLarge)
		return
	}
	var req MintRequest
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, MaxMintBody))
	dec.DisallowUnknownFields()
	var mbe *http.MaxBytesError
	err = dec.Decode(&req)
	if err == nil {
		if _, terr := dec.Token(); errors.As(terr, &mbe) {
			err = terr
		} else if terr != io.EOF {
			err = errTrailingData
		}
	}
	if errors.As(err, &mbe) {
		h.writeError(w, tooLarge)
		return
	}
	if err != nil {
		h.writeError(w, &Error{Code: CodeInvalidRequest, Message: "invalid mint request body: " + err.Error()})
		return
	}
	if ns := namespaceOf(req); !allows(run, req.CI, ns) {
		h.writeError(w, &Error{Code: CodeForbidden, Message: fmt.Sprintf("runner %q may not mint tokens for workspace %q", run.Name, ns)})
		return
	}
	tok, err := h.is.Mint(r.Context(), req)
	if err != nil {
		h.writeError(w, err)
		return
	}
	h.log.Debug("token minted", "runner", run.Name, "ci", tok.CI, "sub", tok.Subject(), "kid", tok.KeyID, "jti", tok.JWTID())
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, tok)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.Encode(v)
}

// errTrailingData refuses a mint request with more after its JSON object.
var errTrailingData = errors.New("trailing data after the JSON object")

// ErrorBody is the mint API's error document.
type ErrorBody struct {
	Error struct {
		Code    string `json:"code"`
		Field   string `json:"field,omitempty"`
		Message string `json:"message"`
	} `json:"error"`
}

func (h *Handler) writeError(w http.ResponseWriter, err error) {
	var e *Error
	switch {
	case errors.As(err, &e):
	case errors.Is(err, store.ErrUnavailable):
		h.log.Warn("issuer: store unavailable", "err", err)
		e = StoreUnavailable()
	default:
		h.log.Error("issuer: internal error", "err", err)
		e = &Error{Code: "InternalError", Message: "internal error"}
	}
	var body ErrorBody
	body.Error.Code, body.Error.Field, body.Error.Message = e.Code, e.Field, e.Message
	writeJSON(w, e.Status(), body)
}
