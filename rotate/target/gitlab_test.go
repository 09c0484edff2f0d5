package target

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// glFake is GitLab's CI/CD variables API for one project or group (prefix,
// escaped as GitLab wants it: a path's slashes as %2F). Variables are unique
// by key and environment scope, as in GitLab.
type glFake struct {
	t      *testing.T
	srv    *httptest.Server
	prefix string // e.g. /api/v4/projects/acme%2Fplatform%2Fweb
	calls  calls
	faults faults

	mu   sync.Mutex
	vars []glVariable
	// beforePost runs before a POST is served (the create race).
	beforePost func(f *glFake, key, scope string)
}

func newGLFake(t *testing.T, prefix string) *glFake {
	f := &glFake{t: t, prefix: prefix}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *glFake) options(s *sleeps) Options {
	return Options{BaseURL: f.srv.URL, Getenv: env(map[string]string{EnvGitLabToken: testToken}), Sleep: s.sleep}
}

func (f *glFake) add(v glVariable) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.vars = append(f.vars, v)
}

func (f *glFake) stored(key, scope string) (glVariable, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, v := range f.vars {
		if v.Key == key && v.EnvironmentScope == scope {
			return v, true
		}
	}
	return glVariable{}, false
}

// glBody is what a create or update may send: GitLab's attributes, no others.
type glBody struct {
	Key              *string `json:"key"`
	Value            *string `json:"value"`
	VariableType     string  `json:"variable_type"`
	Protected        *bool   `json:"protected"`
	Masked           *bool   `json:"masked"`
	Raw              *bool   `json:"raw"`
	EnvironmentScope string  `json:"environment_scope"`
}

func (f *glFake) serve(w http.ResponseWriter, r *http.Request) {
	f.calls.add(r)
	if got := r.Header.Get("Private-Token"); got != testToken {
		f.t.Errorf("%s %s: PRIVATE-TOKEN %q", r.Method, r.URL.Path, got)
		writeJSON(w, http.StatusUnauthorized, map[string]string{"message": "401 Unauthorized"})
		return
	}
	if r.Header.Get("Authorization") != "" {
		f.t.Errorf("%s %s: unexpected Authorization header", r.Method, r.URL.Path)
	}
	if f.faults.serve(w, r) {
		return
	}
	path := r.URL.EscapedPath()
	rest, ok := strings.CutPrefix(path, f.prefix+"/variables")
	switch {
	case !ok:
		f.t.Errorf("unexpected %s %s", r.Method, path)
		writeJSON(w, http.StatusNotFound, map[string]string{"message": "404 Project Not Found"})
	case r.Method == http.MethodGet && rest == "":
		f.list(w, r)
	case r.Method == http.MethodPost && rest == "":
		f.create(w, r)
	case r.Method == http.MethodPut && strings.HasPrefix(rest, "/"):
		f.update(w, r, rest[1:])
	default:
		f.t.Errorf("unexpected %s %s", r.Method, path)
		writeJSON(w, http.StatusNotFound, map[string]string{"message": "404 Not Found"})
	}
}

func (f *glFake) list(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	perPage, _ := strconv.Atoi(q.Get("per_page"))
	page, _ := strconv.Atoi(q.Get("page"))
	if perPage != 100 || page < 1 {
		f.t.Errorf("GET %s: per_page %q page %q", r.URL.Path, q.Get("per_page"), q.Get("page"))
	}
	f.mu.Lock()
	vars := slices.Clone(f.vars)
	f.mu.Unlock()
	lo := min((page-1)*perPage, len(vars))
	hi := min(lo+perPage, len(vars))
	if hi < len(vars) {
		w.Header().Set("X-Next-Page", strconv.Itoa(page+1))
	}
	writeJSON(w, http.StatusOK, append([]glVariable{}, vars[lo:hi]...))
}

func (f *glFake) checkBody(r *http.Request, b glBody) {
	if b.Value == nil || b.VariableType != "env_var" || b.Protected == nil || b.Masked == nil || b.Raw == nil || b.EnvironmentScope == "" {
		f.t.Errorf("%s %s: incomplete body %+v", r.Method, r.URL.Path, b)
	}
}

func (f *glFake) create(w http.ResponseWriter, r *http.Request) {
	var b glBody
	if !decodeStrict(f.t, r, &b) {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "bad body"})
		return
	}
	f.checkBody(r, b)
	if b.Key == nil {
		f.t.Errorf("POST: no key")
		return
	}
	if f.beforePost != nil {
		f.beforePost(f, *b.Key, b.EnvironmentScope)
	}
	if _, ok := f.stored(*b.Key, b.EnvironmentScope); ok {
		writeJSON(w, http.StatusBadRequest, map[string]any{"message": map[string][]string{"key": {"(" + *b.Key + ") has already been taken"}}})
		return
	}
	v := glVariable{Key: *b.Key, Value: *b.Value, VariableType: b.VariableType, Protected: *b.Protected, Masked: *b.Masked, Raw: *b.Raw, EnvironmentScope: b.EnvironmentScope}
	f.add(v)
	writeJSON(w, http.StatusCreated, v)
}

func (f *glFake) update(w http.ResponseWriter, r *http.Request, key string) {
	var b glBody
	if !decodeStrict(f.t, r, &b) {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "bad body"})
		return
	}
	f.checkBody(r, b)
	if b.Key != nil {
		f.t.Errorf("PUT %s: key in the body as well as the path", key)
	}
	scope := r.URL.Query().Get("filter[environment_scope]")
	if scope != b.EnvironmentScope {
		f.t.Errorf("PUT %s: filter[environment_scope] %q, body environment_scope %q", key, scope, b.EnvironmentScope)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	for i, v := range f.vars {
		if v.Key == key && v.EnvironmentScope == scope {
			f.vars[i] = glVariable{Key: key, Value: *b.Value, VariableType: b.VariableType, Protected: *b.Protected, Masked: *b.Masked, Raw: *b.Raw, EnvironmentScope: scope}
			writeJSON(w, http.StatusOK, f.vars[i])
			return
		}
	}
	writeJSON(w, http.StatusNotFound, map[string]string{"message": "404 Variable Not Found"})
}

// TestGitLabCreateThenUpdate: the first Put creates both variables with the
// configured attributes, the second updates them in place; a variable of the
// same key in another environment scope is left alone.
func TestGitLabCreateThenUpdate(t *testing.T) {
	tests := []struct {
		name     string
		cfg      GitLabConfig
		prefix   string
		scope    string
		wantName string
	}{
		{
			name:     "project by path, production scope, protected",
			cfg:      GitLabConfig{Project: "acme/platform/web", EnvironmentScope: "production", Protected: true},
			prefix:   "/api/v4/projects/acme%2Fplatform%2Fweb",
			scope:    "production",
			wantName: "gitlab project acme/platform/web environment production",
		},
		{
			name:     "group by ID, every environment",
			cfg:      GitLabConfig{Group: "42"},
			prefix:   "/api/v4/groups/42",
			scope:    "*",
			wantName: "gitlab group 42",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newGLFake(t, tt.prefix)
			other := glVariable{Key: "AWS_SECRET_ACCESS_KEY", Value: "other-scope-secret", VariableType: "env_var", Masked: true, EnvironmentScope: "review/*"}
			f.add(other)
			tg, err := NewGitLab(tt.cfg, f.options(&sleeps{}))
			if err != nil {
				t.Fatal(err)
			}
			if tg.Name() != tt.wantName {
				t.Errorf("Name() = %q, want %q", tg.Name(), tt.wantName)
			}
			list := "GET " + tt.prefix + "/variables?page=1&per_page=100"
			scopeQ := "filter%5Benvironment_scope%5D=" + strings.ReplaceAll(tt.scope, "*", "%2A")

			if err := tg.Put(context.Background(), []Variable{{Key: "AWS_ACCESS_KEY_ID", Value: "AKIAOLDOLDOLDOLDOLD0"}, {Key: "AWS_SECRET_ACCESS_KEY", Value: "old-secret-value-0000", Secret: true}}); err != nil {
				t.Fatalf("first Put: %v", err)
			}
			diffCalls(t, f.calls.got(), []string{list, "POST " + tt.prefix + "/variables", "POST " + tt.prefix + "/variables"})

			f.calls.reset()
			if err := tg.Put(context.Background(), testCreds().Variables(Names{})); err != nil {
				t.Fatalf("second Put: %v", err)
			}
			diffCalls(t, f.calls.got(), []string{
				list,
				"PUT " + tt.prefix + "/variables/AWS_ACCESS_KEY_ID?" + scopeQ,
				"PUT " + tt.prefix + "/variables/AWS_SECRET_ACCESS_KEY?" + scopeQ,
			})
			wantID := glVariable{Key: "AWS_ACCESS_KEY_ID", Value: testKeyID, VariableType: "env_var", Protected: tt.cfg.Protected, Masked: false, Raw: true, EnvironmentScope: tt.scope}
			if got, _ := f.stored("AWS_ACCESS_KEY_ID", tt.scope); got != wantID {
				t.Errorf("stored %+v\nwant   %+v", got, wantID)
			}
			wantSecret := glVariable{Key: "AWS_SECRET_ACCESS_KEY", Value: testSecret, VariableType: "env_var", Protected: tt.cfg.Protected, Masked: true, Raw: true, EnvironmentScope: tt.scope}
			if got, _ := f.stored("AWS_SECRET_ACCESS_KEY", tt.scope); got != wantSecret {
				t.Error("stored secret has other attributes or value than wanted")
			}
			if got, _ := f.stored("AWS_SECRET_ACCESS_KEY", "review/*"); got != other {
				t.Error("the variable of another environment scope changed")
			}

			have, err := tg.Get(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			want := map[string]Variable{
				"AWS_ACCESS_KEY_ID":     {Key: "AWS_ACCESS_KEY_ID", Value: testKeyID},
				"AWS_SECRET_ACCESS_KEY": {Key: "AWS_SECRET_ACCESS_KEY", Secret: true},
			}
			if fmt.Sprint(have) != fmt.Sprint(want) {
				t.Errorf("Get = %v, want %v", have, want)
			}
		})
	}
}

func TestGitLabPagesAndRace(t *testing.T) {
	const prefix = "/api/v4/projects/7"
	f := newGLFake(t, prefix)
	for i := range 150 {
		f.add(glVariable{Key: fmt.Sprintf("V_%03d", i), Value: "x", VariableType: "env_var", EnvironmentScope: "*"})
	}
	// Someone creates the secret between our list and our POST.
	f.beforePost = func(f *glFake, key, scope string) {
		if _, ok := f.stored(key, scope); !ok && key == "AWS_SECRET_ACCESS_KEY" {
			f.add(glVariable{Key: key, Value: "theirs", VariableType: "env_var", Masked: true, EnvironmentScope: scope})
		}
	}
	tg, err := NewGitLab(GitLabConfig{Project: "7"}, f.options(&sleeps{}))
	if err != nil {
		t.Fatal(err)
	}
	if err := tg.Put(context.Background(), []Variable{{Key: "AWS_SECRET_ACCESS_KEY", Value: testSecret, Secret: true}}); err != nil {
		t.Fatalf("Put: %v", err)
	}
	diffCalls(t, f.calls.got(), []string{
		"GET " + prefix + "/variables?page=1&per_page=100",
		"GET " + prefix + "/variables?page=2&per_page=100",
		"POST " + prefix + "/variables",
		"GET " + prefix + "/variables?page=1&per_page=100",
		"GET " + prefix + "/variables?page=2&per_page=100",
		"PUT " + prefix + "/variables/AWS_SECRET_ACCESS_KEY?filter%5Benvironment_scope%5D=%2A",
	})
	if got, _ := f.stored("AWS_SECRET_ACCESS_KEY", "*"); got.Value != testSecret || !got.Masked {
		t.Error("after the race the stored secret is not ours")
	}
}

func TestGitLabErrors(t *testing.T) {
	const prefix = "/api/v4/projects/acme%2Fweb"
	tests := []struct {
		name  string
		fault fault
		want  string
	}{
		{
			name:  "masking refused",
			fault: fault{match: "POST ", times: -1, status: 400, body: `{"message":{"value":["is invalid"]}}`},
			want:  "gitlab project acme/web: create AWS_ACCESS_KEY_ID: HTTP 400 Bad Request: value is invalid",
		},
		{
			name:  "project not found",
			fault: fault{match: "GET ", times: -1, status: 404, body: `{"message":"404 Project Not Found"}`},
			want:  "gitlab project acme/web: list variables: HTTP 404 Not Found: 404 Project Not Found",
		},
		{
			name:  "token scope",
			fault: fault{match: "GET ", times: -1, status: 403, body: `{"error":"insufficient_scope","error_description":"The request requires higher privileges than provided by the access token."}`},
			want:  "gitlab project acme/web: list variables: HTTP 403 Forbidden: insufficient_scope: The request requires higher privileges than provided by the access token.",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newGLFake(t, prefix)
			f.faults.push(tt.fault)
			tg, err := NewGitLab(GitLabConfig{Project: "acme/web"}, f.options(&sleeps{}))
			if err != nil {
				t.Fatal(err)
			}
			err = tg.Put(context.Background(), testCreds().Variables(Names{}))
			if err == nil || err.Error() != tt.want {
				t.Errorf("Put = %v\nwant %s", err, tt.want)
			}
		})
	}
}

func TestNewGitLabErrors(t *testing.T) {
	tok := map[string]string{EnvGitLabToken: testToken}
	tests := []struct {
		name string
		cfg  GitLabConfig
		env  map[string]string
		want string
	}{
		{"nothing", GitLabConfig{}, tok, "gitlab: give a project (ID or group/project path) or a group"},
		{"both", GitLabConfig{Project: "1", Group: "2"}, tok, "gitlab: give a project or a group, not both"},
		{"no token", GitLabConfig{Project: "1"}, nil, "gitlab project 1: no credentials: set GITLAB_TOKEN"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewGitLab(tt.cfg, Options{Getenv: env(tt.env)})
			if err == nil || err.Error() != tt.want {
				t.Errorf("NewGitLab = %v, want %s", err, tt.want)
			}
		})
	}
}
