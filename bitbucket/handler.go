package bitbucket

import (
	"bytes"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/keyless-dev/keyless/issuer"
	"github.com/keyless-dev/keyless/store"
)

// TokenEnv is the variable of keyless up's env file that holds the API's
// token.
const TokenEnv = "KEYLESS_BITBUCKET_TOKEN"

// StepVariablesPath is keyless's own API (not Bitbucket's) that gives a
// runner the variables of a step: GET with workspace, repository and
// environment query parameters, and the runner credential.
const StepVariablesPath = "/keyless/v1/step-variables"

// MaxBody is the largest variable body accepted (413 above it).
const MaxBody = 256 << 10

// The API's paths, as Bitbucket Cloud serves them.
const (
	workspaceVariables  = "/2.0/workspaces/{workspace}/pipelines-config/variables"
	repositoryVariables = "/2.0/repositories/{workspace}/{repo_slug}/pipelines_config/variables"
	deploymentVariables = "/2.0/repositories/{workspace}/{repo_slug}/deployments_config/environments/{environment_uuid}/variables"
	environmentsPath    = "/2.0/repositories/{workspace}/{repo_slug}/environments"
)

// Handler serves the variables API over a Service. Every Bitbucket call must
// carry the token, as Authorization: Bearer TOKEN (an access token) or Basic
// with the token as password (an app password, any user name).
type Handler struct {
	svc     *Service
	token   []byte
	runners *issuer.Runners
	log     *slog.Logger
}

// NewHandler returns the handler of svc accepting token. runners, when not
// nil, authenticate the step variables API (StepVariablesPath), which is
// served only then.
func NewHandler(svc *Service, token string, runners *issuer.Runners, log *slog.Logger) (*Handler, error) {
	if svc == nil {
		return nil, errors.New("bitbucket: new handler: no service")
	}
	if token == "" {
		return nil, errors.New("bitbucket: new handler: an API token is required: the API is never served without one")
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Handler{svc: svc, token: []byte(token), runners: runners, log: log}, nil
}

// Register adds the API's routes to mux: with and without a trailing slash
// for the collections, as Bitbucket answers both.
func (h *Handler) Register(mux *http.ServeMux) {
	refs := []struct {
		path string
		ref  func(*http.Request) Ref
	}{
		{workspaceVariables, func(r *http.Request) Ref { return Ref{Workspace: r.PathValue("workspace")} }},
		{repositoryVariables, func(r *http.Request) Ref {
			return Ref{Workspace: r.PathValue("workspace"), Repository: r.PathValue("repo_slug")}
		}},
		{deploymentVariables, func(r *http.Request) Ref {
			return Ref{Workspace: r.PathValue("workspace"), Repository: r.PathValue("repo_slug"), Environment: r.PathValue("environment_uuid")}
		}},
	}
	for _, c := range refs {
		collection := h.authorized(h.collection(c.ref))
		mux.Handle(c.path, collection)
		mux.Handle(c.path+"/{$}", collection)
		mux.Handle(c.path+"/{variable_uuid}", h.authorized(h.item(c.ref)))
	}
	envs := h.authorized(http.HandlerFunc(h.environments))
	mux.Handle(environmentsPath, envs)
	mux.Handle(environmentsPath+"/{$}", envs)
	if h.runners != nil {
		mux.HandleFunc(StepVariablesPath, h.stepVariables)
	}
}

// authorized lets a request through when it carries the token.
func (h *Handler) authorized(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		auth := r.Header.Get("Authorization")
		var given string
		if scheme, rest, ok := strings.Cut(auth, " "); ok && strings.EqualFold(scheme, "Bearer") {
			given = strings.TrimSpace(rest)
		} else if _, pass, ok := r.BasicAuth(); ok {
			given = pass
		}
		if given != "" && subtle.ConstantTimeCompare([]byte(given), h.token) == 1 {
			next.ServeHTTP(w, r)
			return
		}
		msg := "Token is invalid, expired, or not supported for this endpoint: send Authorization: Bearer $" + TokenEnv + " (from keyless up's env file)"
		if auth == "" {
			msg = "Authentication required: send Authorization: Bearer $" + TokenEnv + " (from keyless up's env file)"
		}
		w.Header().Set("WWW-Authenticate", `Bearer realm="keyless"`)
		h.writeError(w, &Error{Status: http.StatusUnauthorized, Message: msg})
	})
}

// collection serves a scope's variables: list and create.
func (h *Handler) collection(ref func(*http.Request) Ref) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.Method {
		case http.MethodGet, http.MethodHead:
			p, err := ParsePage(r.URL.Query())
			if err != nil {
				h.writeError(w, err)
				return
			}
			vars, err := h.svc.List(r.Context(), ref(r))
			if err != nil {
				h.writeError(w, err)
				return
			}
			typ := variableType(r)
			writePage(w, r, p, vars, func(v Variable) variableJSON { return toJSON(typ, v) })
		case http.MethodPost:
			in, err := readVariable(w, r)
			if err != nil {
				h.writeError(w, err)
				return
			}
			v, err := h.svc.Create(r.Context(), ref(r), in)
			if err != nil {
				h.writeError(w, err)
				return
			}
			w.Header().Set("Location", requestURL(r, strings.TrimSuffix(r.URL.EscapedPath(), "/")+"/"+url.PathEscape("{"+v.UUID+"}"), nil))
			writeJSON(w, http.StatusCreated, toJSON(variableType(r), v))
		default:
			h.methodNotAllowed(w, r, "GET, POST")
		}
	})
}

// item serves one variable: get, update, delete.
func (h *Handler) item(ref func(*http.Request) Ref) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.PathValue("variable_uuid")
		switch r.Method {
		case http.MethodGet, http.MethodHead:
			v, err := h.svc.Get(r.Context(), ref(r), id)
			if err != nil {
				h.writeError(w, err)
				return
			}
			writeJSON(w, http.StatusOK, toJSON(variableType(r), v))
		case http.MethodPut:
			in, err := readVariable(w, r)
			if err != nil {
				h.writeError(w, err)
				return
			}
			v, err := h.svc.Update(r.Context(), ref(r), id, in)
			if err != nil {
				h.writeError(w, err)
				return
			}
			writeJSON(w, http.StatusOK, toJSON(variableType(r), v))
		case http.MethodDelete:
			if err := h.svc.Delete(r.Context(), ref(r), id); err != nil {
				h.writeError(w, err)
				return
			}
			w.WriteHeader(http.StatusNoContent)
		default:
			h.methodNotAllowed(w, r, "GET, PUT, DELETE")
		}
	})
}

// environments lists a repository's deployment environments.
func (h *Handler) environments(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		h.methodNotAllowed(w, r, "GET")
		return
	}
	p, err := ParsePage(r.URL.Query())
	if err != nil {
		h.writeError(w, err)
		return
	}
	envs, err := h.svc.Environments(r.Context(), r.PathValue("workspace"), r.PathValue("repo_slug"))
	if err != nil {
		h.writeError(w, err)
		return
	}
	writePage(w, r, p, envs, environmentToJSON)
}

// variableType is the type Bitbucket gives the variables of a path.
func variableType(r *http.Request) string {
	if r.PathValue("environment_uuid") != "" {
		return "deployment_variable"
	}
	return "pipeline_variable"
}

// variableJSON is Bitbucket's pipeline_variable (deployment_variable): a
// secured variable has no value field.
type variableJSON struct {
	Type    string  `json:"type"`
	UUID    string  `json:"uuid"`
	Key     string  `json:"key"`
	Value   *string `json:"value,omitempty"`
	Secured bool    `json:"secured"`
}

func toJSON(typ string, v Variable) variableJSON {
	out := variableJSON{Type: typ, UUID: "{" + v.UUID + "}", Key: v.Key, Secured: v.Secured}
	if !v.Secured {
		value := v.Value
		out.Value = &value
	}
	return out
}

// environmentJSON is the part of Bitbucket's deployment_environment keyless
// serves.
type environmentJSON struct {
	Type            string              `json:"type"`
	UUID            string              `json:"uuid"`
	Name            string              `json:"name"`
	Slug            string              `json:"slug"`
	Rank            int                 `json:"rank"`
	Hidden          bool                `json:"hidden"`
	EnvironmentType environmentTypeJSON `json:"environment_type"`
}

type environmentTypeJSON struct {
	Type string `json:"type"`
	Name string `json:"name"`
	Rank int    `json:"rank"`
}

func environmentToJSON(e Environment) environmentJSON {
	t := e.Type()
	return environmentJSON{
		Type: "deployment_environment", UUID: "{" + e.UUID + "}", Name: e.Name, Slug: e.Slug(), Rank: typeRank(t),
		EnvironmentType: environmentTypeJSON{Type: "deployment_environment_type", Name: t, Rank: typeRank(t)},
	}
}

// pageJSON is Bitbucket's paginated list.
type pageJSON[T any] struct {
	PageLen  int    `json:"pagelen"`
	Size     int    `json:"size"`
	Page     int    `json:"page"`
	Values   []T    `json:"values"`
	Next     string `json:"next,omitempty"`
	Previous string `json:"previous,omitempty"`
}

// writePage answers page p of all, with absolute next and previous links on
// the request's own scheme, host and path.
func writePage[E, T any](w http.ResponseWriter, r *http.Request, p Page, all []E, conv func(E) T) {
	lo, hi := p.bounds(len(all))
	out := pageJSON[T]{PageLen: p.Len, Size: len(all), Page: p.Number, Values: make([]T, 0, hi-lo)}
	for _, e := range all[lo:hi] {
		out.Values = append(out.Values, conv(e))
	}
	link := func(n int) string {
		q := r.URL.Query()
		q.Set("page", strconv.Itoa(n))
		q.Set("pagelen", strconv.Itoa(p.Len))
		return requestURL(r, r.URL.EscapedPath(), q)
	}
	if hi < len(all) {
		out.Next = link(p.Number + 1)
	}
	if p.Number > 1 && p.Number-2 < (len(all)+p.Len-1)/p.Len { // the previous page has values
		out.Previous = link(p.Number - 1)
	}
	writeJSON(w, http.StatusOK, out)
}

// requestURL is an absolute URL on the request's scheme and host.
func requestURL(r *http.Request, escapedPath string, q url.Values) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	u := scheme + "://" + r.Host + escapedPath
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	return u
}

// readVariable reads a create or update body: a JSON object, at most
// MaxBody bytes, sent as application/json (or with no Content-Type).
func readVariable(w http.ResponseWriter, r *http.Request) (Input, error) {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		if mt, _, err := mime.ParseMediaType(ct); err != nil || mt != "application/json" {
			return Input{}, &Error{Status: http.StatusUnsupportedMediaType, Message: fmt.Sprintf("Content-Type %q is not supported: send the variable as application/json", ct)}
		}
	}
	data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBody))
	if mbe := (*http.MaxBytesError)(nil); errors.As(err, &mbe) {
		return Input{}, &Error{Status: http.StatusRequestEntityTooLarge, Message: fmt.Sprintf("The request body is larger than %d bytes", MaxBody)}
	}
	if err != nil {
		return Input{}, badRequest("Cannot read the request body: %v", err)
	}
	return DecodeVariable(data)
}

// DecodeVariable parses a variable body: a JSON object with any of key
// (string), value (string) and secured (boolean), names matched exactly; a
// null is as if the field were left out; other fields, such as type and
// uuid, are ignored.
func DecodeVariable(data []byte) (Input, error) {
	trimmed := bytes.TrimLeft(data, " \t\r\n") // JSON's whitespace
	if len(trimmed) == 0 || trimmed[0] != '{' {
		return Input{}, badRequest(`The body is not a JSON object: send {"key": "NAME", "value": "…", "secured": false}`)
	}
	var fields map[string]json.RawMessage
	dec := json.NewDecoder(bytes.NewReader(trimmed))
	if err := dec.Decode(&fields); err != nil {
		return Input{}, badRequest("The body is not valid JSON: %v", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return Input{}, badRequest("The body has more after its JSON object: send one object")
	}
	var in Input
	for _, f := range []struct {
		name, want string
		dst        any
	}{
		{"key", "a string", &in.Key},
		{"value", "a string", &in.Value},
		{"secured", "true or false", &in.Secured},
	} {
		raw, ok := fields[f.name]
		if !ok {
			continue
		}
		if err := json.Unmarshal(raw, f.dst); err != nil {
			return Input{}, badRequest("Invalid variable: %s must be %s, not %s", f.name, f.want, jsonKind(raw))
		}
	}
	return in, nil
}

// jsonKind names the kind of a JSON value, for messages that must not repeat
// it (it may be a secret).
func jsonKind(raw json.RawMessage) string {
	switch raw[0] {
	case '"':
		return "a string"
	case '{':
		return "an object"
	case '[':
		return "an array"
	case 't', 'f':
		return "a boolean"
	}
	return "a number"
}

func (h *Handler) methodNotAllowed(w http.ResponseWriter, r *http.Request, allow string) {
	w.Header().Set("Allow", allow)
	h.writeError(w, &Error{Status: http.StatusMethodNotAllowed, Message: fmt.Sprintf("Method %s is not allowed on %s: use %s", r.Method, r.URL.Path, allow)})
}

// errorJSON is Bitbucket's error body.
type errorJSON struct {
	Type  string `json:"type"`
	Error struct {
		Message string `json:"message"`
	} `json:"error"`
}

// writeError answers err in Bitbucket's error shape; an error that is not an
// *Error is logged and answered 500 without its text.
func (h *Handler) writeError(w http.ResponseWriter, err error) {
	var e *Error
	switch {
	case errors.As(err, &e):
	case errors.Is(err, store.ErrUnavailable):
		h.log.Warn("bitbucket variables API: store unavailable", "err", err)
		e = &Error{Status: http.StatusServiceUnavailable, Message: issuer.StoreUnavailable().Message}
	default:
		h.log.Error("bitbucket variables API: internal error", "err", err)
		e = &Error{Status: http.StatusInternalServerError, Message: "Something went wrong: see keyless up's log"}
	}
	var body errorJSON
	body.Type = "error"
	body.Error.Message = e.Message
	writeJSON(w, e.Status, body)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}

// stepVariablesJSON is the step variables API's answer.
type stepVariablesJSON struct {
	Workspace   string         `json:"workspace"`
	Repository  string         `json:"repository"`
	Environment string         `json:"environment,omitempty"`
	Variables   []StepVariable `json:"variables"`
}

// stepVariables serves StepVariablesPath to a runner: the variables a step
// of the repository (and environment) gets, secured values included.
// Refusals are keyless's API errors ({"error":{"code","field","message"}}).
func (h *Handler) stepVariables(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		w.Header().Set("Allow", http.MethodGet)
		h.writeAPIError(w, &issuer.Error{Code: issuer.CodeMethodNotAllowed, Message: fmt.Sprintf("method %s is not allowed on %s: use GET", r.Method, StepVariablesPath)})
		return
	}
	cred, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	run, err := h.runners.Authenticate(r.Context(), cred)
	if err != nil {
		h.writeAPIError(w, err)
		return
	}
	q := r.URL.Query()
	ws, repo, env := q.Get("workspace"), q.Get("repository"), q.Get("environment")
	for _, p := range []struct{ name, v string }{{"workspace", ws}, {"repository", repo}} {
		if p.v == "" {
			h.writeAPIError(w, &issuer.Error{Code: issuer.CodeInvalidRequest, Field: p.name, Message: fmt.Sprintf("no %s: give ?workspace=SLUG&repository=SLUG (and &environment=NAME for a deployment step)", p.name)})
			return
		}
	}
	if !runnerAllows(run, ws) {
		h.writeAPIError(w, &issuer.Error{Code: issuer.CodeForbidden, Field: "workspace", Message: fmt.Sprintf("runner %q may not read the variables of workspace %q", run.Name, ws)})
		return
	}
	vars, err := h.svc.StepVariables(r.Context(), ws, repo, env)
	if err != nil {
		h.writeAPIError(w, err)
		return
	}
	h.log.Debug("step variables served", "runner", run.Name, "workspace", ws, "repository", repo, "environment", env, "count", len(vars))
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, stepVariablesJSON{Workspace: ws, Repository: repo, Environment: env, Variables: vars})
}

// runnerAllows reports whether a runner may act for workspace: one limited
// to workspaces must list it.
func runnerAllows(run store.Runner, workspace string) bool {
	if len(run.Workspaces) == 0 {
		return true
	}
	for _, w := range run.Workspaces {
		if w == workspace {
			return true
		}
	}
	return false
}

// writeAPIError answers err as keyless's API does under /keyless/.
func (h *Handler) writeAPIError(w http.ResponseWriter, err error) {
	var ie *issuer.Error
	var be *Error
	switch {
	case errors.As(err, &ie):
	case errors.As(err, &be):
		ie = &issuer.Error{Code: apiCode(be.Status), Message: be.Message}
	case errors.Is(err, store.ErrUnavailable):
		h.log.Warn("step variables API: store unavailable", "err", err)
		ie = issuer.StoreUnavailable()
	default:
		h.log.Error("step variables API: internal error", "err", err)
		ie = &issuer.Error{Code: "InternalError", Message: "internal error"}
	}
	var body issuer.ErrorBody
	body.Error.Code, body.Error.Field, body.Error.Message = ie.Code, ie.Field, ie.Message
	writeJSON(w, ie.Status(), body)
}

// apiCode is keyless's API error code of a status.
func apiCode(status int) string {
	switch status {
	case http.StatusBadRequest:
		return issuer.CodeInvalidRequest
	case http.StatusNotFound:
		return issuer.CodeNotFound
	case http.StatusConflict:
		return issuer.CodeConflict
	case http.StatusUnauthorized:
		return issuer.CodeUnauthorized
	}
	return "InternalError"
}
