package bitbucket

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/keyless-dev/keyless/issuer"
	"github.com/keyless-dev/keyless/keywrap"
	"github.com/keyless-dev/keyless/store"
	"github.com/keyless-dev/keyless/store/sqlite"
)

const (
	testToken = "klbb_test-token-NEVER-PRINT"
	// prodUUID is the UUID acme/web's Production environment is registered
	// with: not the derived one, as a config may set.
	prodUUID = "5f0c7a34-2a7e-4d5b-9c1e-0123456789ab"
	// secretValue must never come back through the Bitbucket API.
	secretValue = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
)

// fixture is a Handler over an in-memory store in which workspace acme,
// its repository web and web's environment Production are registered.
type fixture struct {
	t      *testing.T
	st     backend
	svc    *Service
	srv    *httptest.Server
	runner string // a runner credential for the step variables API
}

// backend is a store keeping the directory and the variables, as the SQL
// backends do.
type backend interface {
	store.Store
	store.PipelineVariableStore
}

type fixtureOption func(*Config)

func noAutoRegister(c *Config) { c.AutoRegister = false }

func newFixture(t *testing.T, opts ...fixtureOption) *fixture {
	t.Helper()
	st, err := sqlite.Open(t.Context(), sqlite.Memory)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	box, err := keywrap.New(bytes.Repeat([]byte{7}, 32))
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	now := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	for _, err := range []error{
		st.CreateWorkspace(ctx, store.Workspace{Slug: "acme", UUID: issuer.WorkspaceUUID("acme"), CreatedAt: now}),
		st.CreateRepository(ctx, store.Repository{Workspace: "acme", Slug: "web", UUID: issuer.RepositoryUUID("acme", "web"), CreatedAt: now}),
		st.CreateEnvironment(ctx, store.Environment{Workspace: "acme", Repository: "web", Name: "Production", UUID: prodUUID, CreatedAt: now}),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
	cfg := Config{Directory: st, Variables: st, Box: box, AutoRegister: true, Now: func() time.Time { return now }}
	for _, o := range opts {
		o(&cfg)
	}
	svc, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	runners := issuer.NewRunners(st, func() time.Time { return now })
	cred, _, err := runners.Create(ctx, "test", []string{"acme"})
	if err != nil {
		t.Fatal(err)
	}
	h, err := NewHandler(svc, testToken, runners, nil)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	h.Register(mux)
	f := &fixture{t: t, st: st, svc: svc, srv: httptest.NewServer(mux), runner: cred}
	t.Cleanup(f.srv.Close)
	return f
}

// answer is one response, its body decoded when it is JSON.
type answer struct {
	status int
	header http.Header
	raw    string
	body   map[string]any
}

// message is error.message of a Bitbucket error body.
func (a answer) message() string {
	e, _ := a.body["error"].(map[string]any)
	m, _ := e["message"].(string)
	return m
}

// do sends method path with body (JSON-encoded unless a string) and the
// Authorization header auth ("" for none).
func (f *fixture) do(method, path, auth string, body any) answer {
	f.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		data, err := json.Marshal(b)
		if err != nil {
			f.t.Fatal(err)
		}
		rd = bytes.NewReader(data)
	}
	req, err := http.NewRequestWithContext(f.t.Context(), method, f.srv.URL+path, rd)
	if err != nil {
		f.t.Fatal(err)
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		f.t.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		f.t.Fatal(err)
	}
	a := answer{status: resp.StatusCode, header: resp.Header, raw: string(data)}
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		if err := json.Unmarshal(data, &a.body); err != nil {
			f.t.Fatalf("%s %s: body is not a JSON object: %v\n%s", method, path, err, data)
		}
	}
	return a
}

// call is do with the API token.
func (f *fixture) call(method, path string, body any) answer {
	f.t.Helper()
	return f.do(method, path, "Bearer "+testToken, body)
}

// mustCreate creates a variable under collection and returns its {UUID}.
func (f *fixture) mustCreate(collection, key, value string, secured bool) string {
	f.t.Helper()
	a := f.call(http.MethodPost, collection, map[string]any{"type": "pipeline_variable", "key": key, "value": value, "secured": secured})
	if a.status != http.StatusCreated {
		f.t.Fatalf("POST %s %s: %d %s", collection, key, a.status, a.raw)
	}
	id, _ := a.body["uuid"].(string)
	return id
}

// Collections of the fixture's scopes.
const (
	wsColl   = "/2.0/workspaces/acme/pipelines-config/variables"
	repoColl = "/2.0/repositories/acme/web/pipelines_config/variables/"
	prodColl = "/2.0/repositories/acme/web/deployments_config/environments/%7B" + prodUUID + "%7D/variables"
)

// item is the path of variable id (braces included) under collection.
func item(collection, id string) string {
	return strings.TrimSuffix(collection, "/") + "/" + strings.NewReplacer("{", "%7B", "}", "%7D").Replace(id)
}
