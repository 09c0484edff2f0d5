package target

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// bbFake is a Bitbucket Cloud API with pipeline variables (workspace,
// repository, deployment environment) and deployment environments. It serves
// pageSize values a page whatever pagelen asks, so that a handful of variables
// spans several pages, and it checks every request's shape.
type bbFake struct {
	t        *testing.T
	srv      *httptest.Server
	pageSize int
	auth     string // the Authorization header every request must carry
	calls    calls
	faults   faults

	mu   sync.Mutex
	vars map[string][]bbVariable // collection (decoded path, no trailing slash) → variables
	envs []bbEnvironment
	uuid int
	// beforePost runs before a POST is served, e.g. to create the variable
	// meanwhile (the 409 race).
	beforePost func(f *bbFake, collection, key string)
	// beforePut runs before a PUT is served, e.g. to delete the variable.
	beforePut func(f *bbFake, collection, uuid string)
}

const (
	bbWorkspace = "acme"
	bbRepo      = "web"
	bbEnvUUID   = "{5f0c7a34-2a7e-4d5b-9c1e-0123456789ab}"
)

var (
	bbWorkspaceRE  = regexp.MustCompile(`^/2\.0/workspaces/([^/]+)/pipelines-config/variables(?:/([^/]+))?$`)
	bbRepoRE       = regexp.MustCompile(`^/2\.0/repositories/([^/]+)/([^/]+)/pipelines_config/variables/([^/]*)$`)
	bbDeploymentRE = regexp.MustCompile(`^/2\.0/repositories/([^/]+)/([^/]+)/deployments_config/environments/([^/]+)/variables(?:/([^/]+))?$`)
	bbEnvsRE       = regexp.MustCompile(`^/2\.0/repositories/([^/]+)/([^/]+)/environments/$`)
)

func newBBFake(t *testing.T) *bbFake {
	f := &bbFake{t: t, pageSize: 2, auth: "Bearer " + testToken, vars: map[string][]bbVariable{}}
	f.envs = []bbEnvironment{
		{UUID: "{11111111-1111-1111-1111-111111111111}", Name: "Test", Slug: "test"},
		{UUID: "{22222222-2222-2222-2222-222222222222}", Name: "Staging", Slug: "staging"},
		{UUID: bbEnvUUID, Name: "Production", Slug: "production"},
	}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

// seed puts n variables named VAR_0… in a collection, then extra at its end.
func (f *bbFake) seed(collection string, n int, extra ...bbVariable) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i := range n {
		f.vars[collection] = append(f.vars[collection], f.newVar(fmt.Sprintf("VAR_%d", i), "v"+strconv.Itoa(i), false))
	}
	for _, e := range extra {
		f.vars[collection] = append(f.vars[collection], f.newVar(e.Key, e.Value, e.Secured))
	}
}

func (f *bbFake) newVar(key, value string, secured bool) bbVariable {
	f.uuid++
	return bbVariable{Type: "pipeline_variable", UUID: fmt.Sprintf("{00000000-0000-0000-0000-%012d}", f.uuid), Key: key, Value: value, Secured: secured}
}

func (f *bbFake) stored(collection, key string) (bbVariable, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, v := range f.vars[collection] {
		if v.Key == key {
			return v, true
		}
	}
	return bbVariable{}, false
}

func (f *bbFake) options(s *sleeps) Options {
	return Options{BaseURL: f.srv.URL, Getenv: env(map[string]string{EnvBitbucketToken: testToken}), Sleep: s.sleep}
}

func (f *bbFake) serve(w http.ResponseWriter, r *http.Request) {
	f.calls.add(r)
	if got := r.Header.Get("Authorization"); got != f.auth {
		f.t.Errorf("%s %s: Authorization %q, want %q", r.Method, r.URL.Path, got, f.auth)
		bbError(w, http.StatusUnauthorized, "Unauthorized")
		return
	}
	if got := r.Header.Get("Accept"); got != "application/json" {
		f.t.Errorf("%s %s: Accept %q", r.Method, r.URL.Path, got)
	}
	if f.faults.serve(w, r) {
		return
	}
	p := r.URL.Path
	if m := bbEnvsRE.FindStringSubmatch(p); m != nil && r.Method == http.MethodGet {
		f.mu.Lock()
		envs := slices.Clone(f.envs)
		f.mu.Unlock()
		servePage(f.t, w, r, f.srv.URL, envs, f.pageSize)
		return
	}
	var collection, item string
	switch {
	case bbWorkspaceRE.MatchString(p):
		m := bbWorkspaceRE.FindStringSubmatch(p)
		collection, item = "/2.0/workspaces/"+m[1]+"/pipelines-config/variables", m[2]
	case bbRepoRE.MatchString(p):
		m := bbRepoRE.FindStringSubmatch(p)
		collection, item = "/2.0/repositories/"+m[1]+"/"+m[2]+"/pipelines_config/variables", m[3]
	case bbDeploymentRE.MatchString(p):
		m := bbDeploymentRE.FindStringSubmatch(p)
		if !strings.Contains(r.URL.EscapedPath(), "%7B") {
			f.t.Errorf("%s: environment UUID braces not escaped", r.URL.EscapedPath())
		}
		collection, item = "/2.0/repositories/"+m[1]+"/"+m[2]+"/deployments_config/environments/"+m[3]+"/variables", m[4]
	default:
		f.t.Errorf("unexpected %s %s", r.Method, r.URL.EscapedPath())
		bbError(w, http.StatusNotFound, "no such resource")
		return
	}
	switch {
	case r.Method == http.MethodGet && item == "":
		f.mu.Lock()
		vars := slices.Clone(f.vars[collection])
		f.mu.Unlock()
		for i := range vars {
			if vars[i].Secured {
				vars[i].Value = "" // Bitbucket never returns a secured value
			}
		}
		servePage(f.t, w, r, f.srv.URL, vars, f.pageSize)
	case r.Method == http.MethodPost && item == "":
		var body struct {
			Type    string `json:"type"`
			Key     string `json:"key"`
			Value   string `json:"value"`
			Secured bool   `json:"secured"`
		}
		if !decodeStrict(f.t, r, &body) {
			bbError(w, http.StatusBadRequest, "bad body")
			return
		}
		if body.Type != "pipeline_variable" || body.Key == "" {
			f.t.Errorf("POST %s: body type %q key %q", p, body.Type, body.Key)
		}
		if f.beforePost != nil {
			f.beforePost(f, collection, body.Key)
		}
		f.mu.Lock()
		defer f.mu.Unlock()
		for _, v := range f.vars[collection] {
			if v.Key == body.Key {
				bbError(w, http.StatusConflict, "A variable with the key provided already exists.")
				return
			}
		}
		v := f.newVar(body.Key, body.Value, body.Secured)
		f.vars[collection] = append(f.vars[collection], v)
		if v.Secured {
			v.Value = ""
		}
		writeJSON(w, http.StatusCreated, v)
	case r.Method == http.MethodPut && item != "":
		var body bbVariable
		if !decodeStrict(f.t, r, &body) {
			bbError(w, http.StatusBadRequest, "bad body")
			return
		}
		if body.UUID != item || body.Type != "pipeline_variable" {
			f.t.Errorf("PUT %s: body uuid %q type %q", p, body.UUID, body.Type)
		}
		if f.beforePut != nil {
			f.beforePut(f, collection, item)
		}
		f.mu.Lock()
		defer f.mu.Unlock()
		for i, v := range f.vars[collection] {
			if v.UUID == item {
				if v.Key != body.Key {
					f.t.Errorf("PUT %s: key %q, variable is %q", p, body.Key, v.Key)
				}
				f.vars[collection][i].Value, f.vars[collection][i].Secured = body.Value, body.Secured
				writeJSON(w, http.StatusOK, f.vars[collection][i])
				return
			}
		}
		bbError(w, http.StatusNotFound, "Variable not found.")
	default:
		f.t.Errorf("unexpected %s %s", r.Method, r.URL.EscapedPath())
		bbError(w, http.StatusMethodNotAllowed, "no")
	}
}

// servePage answers one page of values as Bitbucket does: ?page=N (from 1),
// an absolute "next" link on all but the last page. The first request must
// ask for pagelen=100.
func servePage[T any](t *testing.T, w http.ResponseWriter, r *http.Request, base string, values []T, size int) {
	q := r.URL.Query()
	if q.Get("pagelen") != "100" {
		t.Errorf("GET %s: pagelen %q, want 100", r.URL, q.Get("pagelen"))
	}
	page := 1
	if p := q.Get("page"); p != "" {
		page, _ = strconv.Atoi(p)
	}
	lo := min((page-1)*size, len(values))
	hi := min(lo+size, len(values))
	out := bbPage[T]{Values: values[lo:hi], Page: page, PageLen: size, Size: len(values)}
	if out.Values == nil {
		out.Values = []T{}
	}
	if hi < len(values) {
		out.Next = fmt.Sprintf("%s%s?pagelen=100&page=%d", base, r.URL.EscapedPath(), page+1)
	}
	writeJSON(w, http.StatusOK, out)
}

func bbError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]any{"type": "error", "error": map[string]any{"message": msg}})
}

// pages are the list requests of a collection of n values, pageSize 2.
func pages(path string, n int) []string {
	out := []string{"GET " + path + "?pagelen=100"}
	for p := 2; p <= (n+1)/2; p++ {
		out = append(out, fmt.Sprintf("GET %s?pagelen=100&page=%d", path, p))
	}
	return out
}

func TestBitbucketPut(t *testing.T) {
	const (
		repoColl = "/2.0/repositories/acme/web/pipelines_config/variables"
		wsColl   = "/2.0/workspaces/acme/pipelines-config/variables"
		depColl  = "/2.0/repositories/acme/web/deployments_config/environments/" + bbEnvUUID + "/variables"
		depPath  = "/2.0/repositories/acme/web/deployments_config/environments/%7B5f0c7a34-2a7e-4d5b-9c1e-0123456789ab%7D/variables"
	)
	envPages := []string{
		"GET /2.0/repositories/acme/web/environments/?pagelen=100",
		"GET /2.0/repositories/acme/web/environments/?pagelen=100&page=2",
	}
	tests := []struct {
		name       string
		cfg        BitbucketConfig
		wantName   string
		collection string // as stored by the fake
		listPath   string // escaped, as requested
		itemPath   string // escaped collection a PUT goes under
		before     []string
	}{
		{
			name:       "repository",
			cfg:        BitbucketConfig{Workspace: bbWorkspace, Repo: bbRepo},
			wantName:   "bitbucket repository acme/web",
			collection: repoColl, listPath: repoColl + "/", itemPath: repoColl,
		},
		{
			name:       "workspace",
			cfg:        BitbucketConfig{Workspace: bbWorkspace},
			wantName:   "bitbucket workspace acme",
			collection: wsColl, listPath: wsColl, itemPath: wsColl,
		},
		{
			name:       "deployment by name",
			cfg:        BitbucketConfig{Workspace: bbWorkspace, Repo: bbRepo, Environment: "Production"},
			wantName:   "bitbucket deployment acme/web Production",
			collection: depColl, listPath: depPath, itemPath: depPath,
			before: envPages,
		},
		{
			name:       "deployment by slug, any case",
			cfg:        BitbucketConfig{Workspace: bbWorkspace, Repo: bbRepo, Environment: "PRODUCTION"},
			wantName:   "bitbucket deployment acme/web PRODUCTION",
			collection: depColl, listPath: depPath, itemPath: depPath,
			before: envPages,
		},
		{
			name:       "deployment by UUID",
			cfg:        BitbucketConfig{Workspace: bbWorkspace, Repo: bbRepo, Environment: bbEnvUUID},
			wantName:   "bitbucket deployment acme/web " + bbEnvUUID,
			collection: depColl, listPath: depPath, itemPath: depPath,
		},
		{
			name:       "deployment by UUID without braces",
			cfg:        BitbucketConfig{Workspace: bbWorkspace, Repo: bbRepo, Environment: strings.Trim(bbEnvUUID, "{}")},
			wantName:   "bitbucket deployment acme/web " + strings.Trim(bbEnvUUID, "{}"),
			collection: depColl, listPath: depPath, itemPath: depPath,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newBBFake(t)
			// Five variables, the old key ID last: three pages, and the
			// update needs the UUID from the third.
			f.seed(tt.collection, 4, bbVariable{Key: "AWS_ACCESS_KEY_ID", Value: "AKIAOLDOLDOLDOLDOLD0"})
			old, _ := f.stored(tt.collection, "AWS_ACCESS_KEY_ID")
			var s sleeps
			tg, err := NewBitbucket(tt.cfg, f.options(&s))
			if err != nil {
				t.Fatal(err)
			}
			if tg.Name() != tt.wantName {
				t.Errorf("Name() = %q, want %q", tg.Name(), tt.wantName)
			}
			if err := tg.Put(context.Background(), testCreds().Variables(Names{})); err != nil {
				t.Fatalf("Put: %v", err)
			}
			want := append(slices.Clone(tt.before), pages(tt.listPath, 5)...)
			want = append(want,
				"PUT "+tt.itemPath+"/"+strings.NewReplacer("{", "%7B", "}", "%7D").Replace(old.UUID),
				"POST "+tt.listPath,
			)
			diffCalls(t, f.calls.got(), want)

			id, _ := f.stored(tt.collection, "AWS_ACCESS_KEY_ID")
			if id.Value != testKeyID || id.Secured || id.UUID != old.UUID {
				t.Errorf("stored key ID %+v, want value %s, not secured, uuid %s", id, testKeyID, old.UUID)
			}
			sec, ok := f.stored(tt.collection, "AWS_SECRET_ACCESS_KEY")
			if !ok || sec.Value != testSecret || !sec.Secured {
				t.Errorf("stored secret: present %t, secured %t, right value %t", ok, sec.Secured, sec.Value == testSecret)
			}

			// Get: the resolved environment is remembered, secrets come back empty.
			f.calls.reset()
			got, err := tg.Get(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			diffCalls(t, f.calls.got(), pages(tt.listPath, 6))
			if got["AWS_ACCESS_KEY_ID"] != (Variable{Key: "AWS_ACCESS_KEY_ID", Value: testKeyID}) {
				t.Errorf("Get key ID = %#v", got["AWS_ACCESS_KEY_ID"])
			}
			if got["AWS_SECRET_ACCESS_KEY"] != (Variable{Key: "AWS_SECRET_ACCESS_KEY", Secret: true}) {
				t.Errorf("Get secret = %#v", got["AWS_SECRET_ACCESS_KEY"])
			}
			if len(got) != 6 || got["VAR_3"].Value != "v3" {
				t.Errorf("Get returned %d variables (%v), want 6 with VAR_3=v3", len(got), got)
			}
			if len(s.got()) != 0 {
				t.Errorf("slept %v without a failure", s.got())
			}
		})
	}
}

// TestBitbucketRaces: a variable created by someone else between the list and
// the POST (409) is updated instead; one deleted between the list and the PUT
// (404) is created instead.
func TestBitbucketRaces(t *testing.T) {
	const coll = "/2.0/repositories/acme/web/pipelines_config/variables"
	t.Run("409 on create", func(t *testing.T) {
		f := newBBFake(t)
		f.seed(coll, 3)
		var raced string
		f.beforePost = func(f *bbFake, collection, key string) {
			if key == "AWS_SECRET_ACCESS_KEY" && raced == "" {
				f.seed(collection, 0, bbVariable{Key: key, Value: "someone else's", Secured: true})
				v, _ := f.stored(collection, key)
				raced = v.UUID
			}
		}
		tg, err := NewBitbucket(BitbucketConfig{Workspace: bbWorkspace, Repo: bbRepo}, f.options(&sleeps{}))
		if err != nil {
			t.Fatal(err)
		}
		err = tg.Put(context.Background(), []Variable{{Key: "AWS_SECRET_ACCESS_KEY", Value: testSecret, Secret: true}})
		if err != nil {
			t.Fatalf("Put: %v", err)
		}
		want := pages(coll+"/", 3)
		want = append(want, "POST "+coll+"/")
		want = append(want, pages(coll+"/", 4)...)
		want = append(want, "PUT "+coll+"/"+strings.NewReplacer("{", "%7B", "}", "%7D").Replace(raced))
		diffCalls(t, f.calls.got(), want)
		if v, _ := f.stored(coll, "AWS_SECRET_ACCESS_KEY"); v.Value != testSecret || !v.Secured {
			t.Errorf("after the race the stored secret is not ours (secured %t)", v.Secured)
		}
	})
	t.Run("404 on update", func(t *testing.T) {
		f := newBBFake(t)
		f.seed(coll, 1, bbVariable{Key: "AWS_ACCESS_KEY_ID", Value: "old"})
		f.beforePut = func(f *bbFake, collection, uuid string) {
			f.mu.Lock()
			defer f.mu.Unlock()
			f.vars[collection] = slices.DeleteFunc(f.vars[collection], func(v bbVariable) bool { return v.UUID == uuid })
		}
		tg, err := NewBitbucket(BitbucketConfig{Workspace: bbWorkspace, Repo: bbRepo}, f.options(&sleeps{}))
		if err != nil {
			t.Fatal(err)
		}
		if err := tg.Put(context.Background(), []Variable{{Key: "AWS_ACCESS_KEY_ID", Value: testKeyID}}); err != nil {
			t.Fatalf("Put: %v", err)
		}
		got := f.calls.got()
		if len(got) != 3 || !strings.HasPrefix(got[1], "PUT ") || got[2] != "POST "+coll+"/" {
			t.Errorf("requests %q, want list, PUT, POST", got)
		}
		if v, _ := f.stored(coll, "AWS_ACCESS_KEY_ID"); v.Value != testKeyID {
			t.Errorf("stored %q, want %q", v.Value, testKeyID)
		}
	})
}

// TestBitbucketRetries: 429 and 5xx are retried with the wait Retry-After asks
// for (else 1 s, 2 s, 4 s, …) and a bounded number of attempts; the waits go
// through Options.Sleep, so the test does not wait.
func TestBitbucketRetries(t *testing.T) {
	const list = "GET /2.0/repositories/acme/web/pipelines_config/variables/"
	tests := []struct {
		name      string
		faults    []fault
		wantSleep []time.Duration
		wantErr   []string // substrings of the error; none means success
	}{
		{
			name:      "429 with Retry-After seconds",
			faults:    []fault{{match: list, times: 2, status: 429, header: map[string]string{"Retry-After": "1"}, body: `{"type":"error","error":{"message":"Rate limit for this resource has been exceeded"}}`}},
			wantSleep: []time.Duration{time.Second, time.Second},
		},
		{
			name:      "503 without Retry-After backs off",
			faults:    []fault{{match: list, times: 3, status: 503}},
			wantSleep: []time.Duration{time.Second, 2 * time.Second, 4 * time.Second},
		},
		{
			name:      "500 on the create",
			faults:    []fault{{match: "POST ", times: 1, status: 500, header: map[string]string{"Retry-After": "2"}}},
			wantSleep: []time.Duration{2 * time.Second},
		},
		{
			name:      "gives up after five attempts",
			faults:    []fault{{match: list, times: -1, status: 502, body: `{"type":"error","error":{"message":"Bad gateway"}}`}},
			wantSleep: []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second},
			wantErr:   []string{"bitbucket repository acme/web: list variables: HTTP 502 Bad Gateway: Bad gateway (gave up after 5 attempts)"},
		},
		{
			name:    "Retry-After longer than MaxWait",
			faults:  []fault{{match: list, times: -1, status: 429, header: map[string]string{"Retry-After": "3600"}}},
			wantErr: []string{"HTTP 429 Too Many Requests", "asked to retry after 1h0m0s, longer than the 2m0s allowed"},
		},
		{
			name:    "403 is not retried",
			faults:  []fault{{match: list, times: -1, status: 403, body: `{"type":"error","error":{"message":"Access denied","detail":"You must be an admin"}}`}},
			wantErr: []string{"bitbucket repository acme/web: list variables: HTTP 403 Forbidden: Access denied: You must be an admin"},
		},
		{
			name:    "400 on create names the variable and what was written",
			faults:  []fault{{match: "POST ", times: -1, status: 400, body: `{"type":"error","error":{"message":"Invalid variable key"}}`}},
			wantErr: []string{"bitbucket repository acme/web: create AWS_SECRET_ACCESS_KEY (already written: AWS_ACCESS_KEY_ID): HTTP 400 Bad Request: Invalid variable key"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newBBFake(t)
			f.seed("/2.0/repositories/acme/web/pipelines_config/variables", 1, bbVariable{Key: "AWS_ACCESS_KEY_ID", Value: "old"})
			for _, x := range tt.faults {
				f.faults.push(x)
			}
			var s sleeps
			tg, err := NewBitbucket(BitbucketConfig{Workspace: bbWorkspace, Repo: bbRepo}, f.options(&s))
			if err != nil {
				t.Fatal(err)
			}
			err = tg.Put(context.Background(), testCreds().Variables(Names{}))
			if len(tt.wantErr) == 0 && err != nil {
				t.Fatalf("Put: %v", err)
			}
			for _, w := range tt.wantErr {
				if err == nil || !strings.Contains(err.Error(), w) {
					t.Errorf("error %v, want it to contain %q", err, w)
				}
			}
			if !slices.Equal(s.got(), tt.wantSleep) {
				t.Errorf("slept %v, want %v", s.got(), tt.wantSleep)
			}
			if len(tt.wantErr) == 0 {
				if v, _ := f.stored("/2.0/repositories/acme/web/pipelines_config/variables", "AWS_SECRET_ACCESS_KEY"); v.Value != testSecret {
					t.Error("secret not stored after the retries")
				}
			}
		})
	}
}

// TestBitbucketWaitEndsWithContext: the default sleep returns when ctx ends,
// with ctx's error, instead of waiting out Retry-After.
func TestBitbucketWaitEndsWithContext(t *testing.T) {
	f := newBBFake(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	f.faults.push(fault{times: -1, status: 429, header: map[string]string{"Retry-After": "3600"}})
	o := f.options(&sleeps{})
	o.Sleep = nil
	o.MaxWait = 2 * time.Hour
	tg, err := NewBitbucket(BitbucketConfig{Workspace: bbWorkspace}, o)
	if err != nil {
		t.Fatal(err)
	}
	errc := make(chan error, 1)
	go func() { _, err := tg.Get(ctx); errc <- err }()
	// Cancel once the first answer is in: the target is then waiting.
	for len(f.calls.got()) == 0 {
		time.Sleep(time.Millisecond)
	}
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Fatalf("Get = %v, want context.Canceled", err)
	}
}

func TestBitbucketEnvironmentNotFound(t *testing.T) {
	f := newBBFake(t)
	tg, err := NewBitbucket(BitbucketConfig{Workspace: bbWorkspace, Repo: bbRepo, Environment: "prod"}, f.options(&sleeps{}))
	if err != nil {
		t.Fatal(err)
	}
	err = tg.Put(context.Background(), testCreds().Variables(Names{}))
	want := `bitbucket deployment acme/web prod: list variables: no deployment environment "prod": the repository has Test, Staging, Production; give one of these names or an environment {UUID}`
	if err == nil || err.Error() != want {
		t.Errorf("Put = %v\nwant %s", err, want)
	}
}

func TestBitbucketBasicAuth(t *testing.T) {
	f := newBBFake(t)
	f.auth = "Basic " + base64.StdEncoding.EncodeToString([]byte("deployer:"+testPassword))
	o := f.options(&sleeps{})
	o.Getenv = env(map[string]string{EnvBitbucketUsername: "deployer", EnvBitbucketAppPassword: testPassword})
	tg, err := NewBitbucket(BitbucketConfig{Workspace: bbWorkspace}, o)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tg.Get(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// TestBitbucketNextOnAnotherHost: a "next" link to another host is refused,
// so the token never goes there.
func TestBitbucketNextOnAnotherHost(t *testing.T) {
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t.Errorf("the other host got %s %s with Authorization %t", r.Method, r.URL, r.Header.Get("Authorization") != "")
	}))
	defer other.Close()
	f := newBBFake(t)
	f.faults.push(fault{times: 1, status: 200, body: `{"values":[{"key":"A","value":"1"}],"next":"` + other.URL + `/2.0/workspaces/acme/pipelines-config/variables?page=2"}`})
	tg, err := NewBitbucket(BitbucketConfig{Workspace: bbWorkspace}, f.options(&sleeps{}))
	if err != nil {
		t.Fatal(err)
	}
	_, err = tg.Get(context.Background())
	if err == nil || !strings.Contains(err.Error(), "refusing next page link to "+other.URL) {
		t.Errorf("Get = %v, want a refused next link", err)
	}
}

// TestBitbucketRedirectToAnotherHost: the HTTP client does not follow a
// redirect off the API's host.
func TestBitbucketRedirectToAnotherHost(t *testing.T) {
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t.Errorf("the other host got %s %s", r.Method, r.URL)
	}))
	defer other.Close()
	f := newBBFake(t)
	f.faults.push(fault{times: 1, status: http.StatusFound, header: map[string]string{"Location": other.URL + "/steal"}})
	tg, err := NewBitbucket(BitbucketConfig{Workspace: bbWorkspace}, f.options(&sleeps{}))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tg.Get(context.Background()); err == nil || !strings.Contains(err.Error(), "refusing a redirect") {
		t.Errorf("Get = %v, want a refused redirect", err)
	}
}

func TestNewBitbucketErrors(t *testing.T) {
	tok := map[string]string{EnvBitbucketToken: testToken}
	tests := []struct {
		name string
		cfg  BitbucketConfig
		env  map[string]string
		base string
		want string
	}{
		{"no workspace", BitbucketConfig{Repo: "web"}, tok, "", "bitbucket: the workspace is required"},
		{"environment without repo", BitbucketConfig{Workspace: "acme", Environment: "prod"}, tok, "", `bitbucket: deployment environment "prod" needs its repository`},
		{"no credentials", BitbucketConfig{Workspace: "acme"}, nil, "", "bitbucket workspace acme: no credentials: set BITBUCKET_TOKEN, or BITBUCKET_USERNAME and BITBUCKET_APP_PASSWORD"},
		{"username alone", BitbucketConfig{Workspace: "acme"}, map[string]string{EnvBitbucketUsername: "u"}, "", "BITBUCKET_USERNAME is set but BITBUCKET_APP_PASSWORD is not"},
		{"password alone", BitbucketConfig{Workspace: "acme"}, map[string]string{EnvBitbucketAppPassword: testPassword}, "", "BITBUCKET_APP_PASSWORD is set but BITBUCKET_USERNAME is not"},
		{"plain http off loopback", BitbucketConfig{Workspace: "acme"}, tok, "http://bitbucket.example.com", "use https (plain http is allowed for loopback hosts only)"},
		{"credentials in the URL", BitbucketConfig{Workspace: "acme"}, tok, "https://u:p@api.bitbucket.org", "must not hold credentials"},
		{"no host", BitbucketConfig{Workspace: "acme"}, tok, "api.bitbucket.org", "has no host"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewBitbucket(tt.cfg, Options{BaseURL: tt.base, Getenv: env(tt.env)})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("NewBitbucket = %v, want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestBitbucketRejectsBadKey(t *testing.T) {
	f := newBBFake(t)
	tg, err := NewBitbucket(BitbucketConfig{Workspace: bbWorkspace}, f.options(&sleeps{}))
	if err != nil {
		t.Fatal(err)
	}
	err = tg.Put(context.Background(), []Variable{{Key: "OK"}, {Key: "1BAD-KEY"}})
	want := `bitbucket workspace acme: variable name "1BAD-KEY": use letters, digits and underscores, not starting with a digit`
	if err == nil || err.Error() != want {
		t.Errorf("Put = %v, want %s", err, want)
	}
	if n := len(f.calls.got()); n != 0 {
		t.Errorf("%d requests sent for a bad key, want none", n)
	}
}
