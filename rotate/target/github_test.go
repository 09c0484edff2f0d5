package target

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"golang.org/x/crypto/nacl/box"
)

// ghFake is GitHub's Actions secrets API for one scope (prefix). It makes a
// box key pair, serves the public key, opens every PUT body with the private
// key and keeps the plaintext, so a test can check what GitHub would hold.
type ghFake struct {
	t      *testing.T
	srv    *httptest.Server
	prefix string // escaped, e.g. /repos/octo/web/actions
	pub    *[32]byte
	priv   *[32]byte
	keyID  string
	calls  calls
	faults faults

	mu      sync.Mutex
	secrets map[string]string // name → plaintext
	bodies  []map[string]json.RawMessage
}

func newGHFake(t *testing.T, prefix string) *ghFake {
	pub, priv, err := box.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	f := &ghFake{t: t, prefix: prefix, pub: pub, priv: priv, keyID: "568250167242549743", secrets: map[string]string{}}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *ghFake) options(s *sleeps) Options {
	return Options{BaseURL: f.srv.URL, Getenv: env(map[string]string{EnvGitHubToken: testToken}), Sleep: s.sleep}
}

func (f *ghFake) serve(w http.ResponseWriter, r *http.Request) {
	f.calls.add(r)
	for h, want := range map[string]string{
		"Authorization":        "Bearer " + testToken,
		"Accept":               "application/vnd.github+json",
		"X-GitHub-Api-Version": "2022-11-28",
	} {
		if got := r.Header.Get(h); got != want {
			f.t.Errorf("%s %s: %s %q, want %q", r.Method, r.URL.Path, h, got, want)
		}
	}
	if f.faults.serve(w, r) {
		return
	}
	path := r.URL.EscapedPath()
	rest, ok := strings.CutPrefix(path, f.prefix+"/secrets")
	switch {
	case !ok:
		f.t.Errorf("unexpected %s %s", r.Method, path)
		writeJSON(w, http.StatusNotFound, map[string]string{"message": "Not Found"})
	case r.Method == http.MethodGet && rest == "/public-key":
		writeJSON(w, http.StatusOK, map[string]string{"key_id": f.keyID, "key": base64.StdEncoding.EncodeToString(f.pub[:])})
	case r.Method == http.MethodGet && rest == "":
		f.list(w, r)
	case r.Method == http.MethodPut && strings.HasPrefix(rest, "/") && !strings.Contains(rest[1:], "/"):
		f.put(w, r, rest[1:])
	default:
		f.t.Errorf("unexpected %s %s", r.Method, path)
		writeJSON(w, http.StatusNotFound, map[string]string{"message": "Not Found"})
	}
}

func (f *ghFake) put(w http.ResponseWriter, r *http.Request, name string) {
	var body struct {
		EncryptedValue        string  `json:"encrypted_value"`
		KeyID                 string  `json:"key_id"`
		Visibility            *string `json:"visibility"`
		SelectedRepositoryIDs []int64 `json:"selected_repository_ids"`
	}
	if !decodeStrict(f.t, r, &body) {
		writeJSON(w, http.StatusUnprocessableEntity, map[string]string{"message": "Invalid request."})
		return
	}
	// The fields sent beside encrypted_value, for the test to check.
	raw := map[string]json.RawMessage{"key_id": json.RawMessage(strconv.Quote(body.KeyID))}
	if body.Visibility != nil {
		raw["visibility"] = json.RawMessage(strconv.Quote(*body.Visibility))
	}
	if body.SelectedRepositoryIDs != nil {
		ids, _ := json.Marshal(body.SelectedRepositoryIDs)
		raw["selected_repository_ids"] = ids
	}
	if body.KeyID != f.keyID {
		f.t.Errorf("PUT %s: key_id %q, want %q", name, body.KeyID, f.keyID)
	}
	sealed, err := base64.StdEncoding.DecodeString(body.EncryptedValue)
	if err != nil {
		f.t.Errorf("PUT %s: encrypted_value is not base64: %v", name, err)
	}
	plain, ok := box.OpenAnonymous(nil, sealed, f.pub, f.priv)
	if !ok {
		f.t.Errorf("PUT %s: encrypted_value does not open with the scope's key", name)
		writeJSON(w, http.StatusUnprocessableEntity, map[string]string{"message": "Bad encryption"})
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.bodies = append(f.bodies, raw)
	name = strings.ToUpper(name)
	_, exists := f.secrets[name]
	f.secrets[name] = string(plain)
	if exists {
		w.WriteHeader(http.StatusNoContent)
	} else {
		w.WriteHeader(http.StatusCreated)
	}
}

func (f *ghFake) list(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	perPage, _ := strconv.Atoi(q.Get("per_page"))
	page, _ := strconv.Atoi(q.Get("page"))
	if perPage != 100 || page < 1 {
		f.t.Errorf("GET %s: per_page %q page %q", r.URL.Path, q.Get("per_page"), q.Get("page"))
	}
	f.mu.Lock()
	names := make([]string, 0, len(f.secrets))
	for n := range f.secrets {
		names = append(names, n)
	}
	f.mu.Unlock()
	slices.Sort(names)
	lo := min((page-1)*perPage, len(names))
	hi := min(lo+perPage, len(names))
	type secret struct {
		Name      string `json:"name"`
		CreatedAt string `json:"created_at"`
		UpdatedAt string `json:"updated_at"`
	}
	out := struct {
		TotalCount int      `json:"total_count"`
		Secrets    []secret `json:"secrets"`
	}{TotalCount: len(names), Secrets: []secret{}}
	for _, n := range names[lo:hi] {
		out.Secrets = append(out.Secrets, secret{Name: n, CreatedAt: "2026-01-10T10:00:00Z", UpdatedAt: "2026-01-10T10:00:00Z"})
	}
	writeJSON(w, http.StatusOK, out)
}

func TestGitHubPut(t *testing.T) {
	tests := []struct {
		name     string
		cfg      GitHubConfig
		prefix   string
		wantName string
		wantBody map[string]string // fields beside encrypted_value
	}{
		{
			name:     "repository",
			cfg:      GitHubConfig{Owner: "octo", Repo: "web"},
			prefix:   "/repos/octo/web/actions",
			wantName: "github repository octo/web",
			wantBody: map[string]string{"key_id": `"568250167242549743"`},
		},
		{
			name:     "environment",
			cfg:      GitHubConfig{Owner: "octo", Repo: "web", Environment: "prod/eu west"},
			prefix:   "/repos/octo/web/environments/prod%2Feu%20west",
			wantName: "github environment octo/web prod/eu west",
			wantBody: map[string]string{"key_id": `"568250167242549743"`},
		},
		{
			name:     "organisation, private by default",
			cfg:      GitHubConfig{Org: "octo"},
			prefix:   "/orgs/octo/actions",
			wantName: "github organisation octo",
			wantBody: map[string]string{"key_id": `"568250167242549743"`, "visibility": `"private"`},
		},
		{
			name:     "organisation, selected repositories",
			cfg:      GitHubConfig{Org: "octo", Visibility: VisibilitySelected, SelectedRepositoryIDs: []int64{1296269, 1296280}},
			prefix:   "/orgs/octo/actions",
			wantName: "github organisation octo",
			wantBody: map[string]string{"key_id": `"568250167242549743"`, "visibility": `"selected"`, "selected_repository_ids": "[1296269,1296280]"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newGHFake(t, tt.prefix)
			f.secrets["AWS_ACCESS_KEY_ID"] = "AKIAOLDOLDOLDOLDOLD0"
			tg, err := NewGitHub(tt.cfg, f.options(&sleeps{}))
			if err != nil {
				t.Fatal(err)
			}
			if tg.Name() != tt.wantName {
				t.Errorf("Name() = %q, want %q", tg.Name(), tt.wantName)
			}
			if err := tg.Put(context.Background(), testCreds().Variables(Names{})); err != nil {
				t.Fatalf("Put: %v", err)
			}
			diffCalls(t, f.calls.got(), []string{
				"GET " + tt.prefix + "/secrets/public-key",
				"PUT " + tt.prefix + "/secrets/AWS_ACCESS_KEY_ID",
				"PUT " + tt.prefix + "/secrets/AWS_SECRET_ACCESS_KEY",
			})
			if f.secrets["AWS_ACCESS_KEY_ID"] != testKeyID {
				t.Errorf("decrypted key ID %q, want %q", f.secrets["AWS_ACCESS_KEY_ID"], testKeyID)
			}
			if f.secrets["AWS_SECRET_ACCESS_KEY"] != testSecret {
				t.Error("decrypted secret is not the secret access key")
			}
			for i, b := range f.bodies {
				got := map[string]string{}
				for k, v := range b {
					got[k] = string(v)
				}
				if fmt.Sprint(got) != fmt.Sprint(tt.wantBody) {
					t.Errorf("PUT %d body fields %v, want %v", i, got, tt.wantBody)
				}
			}

			f.calls.reset()
			have, err := tg.Get(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			diffCalls(t, f.calls.got(), []string{"GET " + tt.prefix + "/secrets?page=1&per_page=100"})
			want := map[string]Variable{
				"AWS_ACCESS_KEY_ID":     {Key: "AWS_ACCESS_KEY_ID", Secret: true},
				"AWS_SECRET_ACCESS_KEY": {Key: "AWS_SECRET_ACCESS_KEY", Secret: true},
			}
			if fmt.Sprint(have) != fmt.Sprint(want) {
				t.Errorf("Get = %v, want %v", have, want)
			}
		})
	}
}

func TestGitHubGetPages(t *testing.T) {
	f := newGHFake(t, "/repos/octo/web/actions")
	for i := range 230 {
		f.secrets[fmt.Sprintf("S_%03d", i)] = "x"
	}
	tg, err := NewGitHub(GitHubConfig{Owner: "octo", Repo: "web"}, f.options(&sleeps{}))
	if err != nil {
		t.Fatal(err)
	}
	got, err := tg.Get(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	diffCalls(t, f.calls.got(), []string{
		"GET /repos/octo/web/actions/secrets?page=1&per_page=100",
		"GET /repos/octo/web/actions/secrets?page=2&per_page=100",
		"GET /repos/octo/web/actions/secrets?page=3&per_page=100",
	})
	if len(got) != 230 || !got["S_229"].Secret {
		t.Errorf("Get returned %d secrets, want 230", len(got))
	}
}

func TestGitHubErrors(t *testing.T) {
	tests := []struct {
		name  string
		fault fault
		vars  []Variable
		want  string
	}{
		{
			name:  "public key forbidden",
			fault: fault{match: "GET ", times: -1, status: 403, body: `{"message":"Resource not accessible by integration","documentation_url":"https://docs.github.com/rest"}`},
			vars:  testCreds().Variables(Names{}),
			want:  "github repository octo/web: get public key: HTTP 403 Forbidden: Resource not accessible by integration",
		},
		{
			name:  "bad public key",
			fault: fault{match: "GET ", times: -1, status: 200, body: `{"key_id":"1","key":"c2hvcnQ="}`},
			vars:  testCreds().Variables(Names{}),
			want:  `github repository octo/web: get public key: want a key_id and a base64 32-byte key, got key_id "1" and 5 bytes`,
		},
		{
			name:  "second PUT refused",
			fault: fault{match: "PUT /repos/octo/web/actions/secrets/AWS_SECRET", times: -1, status: 422, body: `{"message":"Validation Failed"}`},
			vars:  testCreds().Variables(Names{}),
			want:  "github repository octo/web: put AWS_SECRET_ACCESS_KEY (already written: AWS_ACCESS_KEY_ID): HTTP 422 Unprocessable Entity: Validation Failed",
		},
		{
			name: "reserved prefix",
			vars: []Variable{{Key: "GITHUB_AWS_KEY", Value: "x"}},
			want: `github repository octo/web: secret name "GITHUB_AWS_KEY": GitHub reserves the GITHUB_ prefix`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newGHFake(t, "/repos/octo/web/actions")
			if tt.fault.status != 0 {
				f.faults.push(tt.fault)
			}
			tg, err := NewGitHub(GitHubConfig{Owner: "octo", Repo: "web"}, f.options(&sleeps{}))
			if err != nil {
				t.Fatal(err)
			}
			err = tg.Put(context.Background(), tt.vars)
			if err == nil || err.Error() != tt.want {
				t.Errorf("Put = %v\nwant %s", err, tt.want)
			}
		})
	}
}

// TestGitHubSecondaryRateLimit: a 403 with Retry-After is GitHub's secondary
// rate limit, and is retried after the wait it asks for.
func TestGitHubSecondaryRateLimit(t *testing.T) {
	f := newGHFake(t, "/repos/octo/web/actions")
	f.faults.push(fault{match: "PUT ", times: 1, status: 403, header: map[string]string{"Retry-After": "3"},
		body: `{"message":"You have exceeded a secondary rate limit."}`})
	var s sleeps
	tg, err := NewGitHub(GitHubConfig{Owner: "octo", Repo: "web"}, f.options(&s))
	if err != nil {
		t.Fatal(err)
	}
	if err := tg.Put(context.Background(), testCreds().Variables(Names{})); err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(s.got()); got != "[3s]" {
		t.Errorf("slept %s, want [3s]", got)
	}
	if f.secrets["AWS_SECRET_ACCESS_KEY"] != testSecret {
		t.Error("secret not stored after the retry")
	}
}

func TestNewGitHubErrors(t *testing.T) {
	tok := map[string]string{EnvGitHubToken: testToken}
	tests := []struct {
		name string
		cfg  GitHubConfig
		env  map[string]string
		want string
	}{
		{"nothing", GitHubConfig{}, tok, "github: give an owner and a repository (owner/repo), or an organisation"},
		{"owner without repo", GitHubConfig{Owner: "octo"}, tok, "github: give an owner and a repository"},
		{"org and repo", GitHubConfig{Org: "octo", Repo: "web"}, tok, "github: give an organisation, or an owner and repository, not both"},
		{"bad visibility", GitHubConfig{Org: "octo", Visibility: "public"}, tok, `github organisation octo: visibility "public": use all, private or selected`},
		{"selected without IDs", GitHubConfig{Org: "octo", Visibility: "selected"}, tok, `visibility "selected" needs the selected repository IDs`},
		{"IDs without selected", GitHubConfig{Org: "octo", SelectedRepositoryIDs: []int64{1}}, tok, `selected repository IDs need visibility "selected"`},
		{"visibility on a repository", GitHubConfig{Owner: "octo", Repo: "web", Visibility: "all"}, tok, "github: visibility applies to organisation secrets only"},
		{"no token", GitHubConfig{Owner: "octo", Repo: "web"}, nil, "github repository octo/web: no credentials: set GITHUB_TOKEN"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewGitHub(tt.cfg, Options{Getenv: env(tt.env)})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("NewGitHub = %v, want it to contain %q", err, tt.want)
			}
		})
	}
}
