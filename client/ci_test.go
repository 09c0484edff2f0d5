package client

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func envOf(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

var sessionNameRE = regexp.MustCompile(`^[\w+=,.@-]{2,64}$`)

func TestDetectCIAndSessionName(t *testing.T) {
	now := time.Unix(1763780000, 0)
	tests := []struct {
		name    string
		env     map[string]string
		ci      CIProvider
		session string
	}{
		{"bitbucket", map[string]string{"BITBUCKET_BUILD_NUMBER": "42", "BITBUCKET_REPO_SLUG": "web", "BITBUCKET_STEP_UUID": "{s}"}, CIBitbucket, "bitbucket-web-42"},
		{"github", map[string]string{"GITHUB_ACTIONS": "true", "GITHUB_RUN_ID": "987654", "GITHUB_RUN_ATTEMPT": "2", "GITHUB_REPOSITORY": "acme/web"}, CIGitHub, "github-987654-2"},
		{"gitlab", map[string]string{"GITLAB_CI": "true", "CI_JOB_ID": "555", "CI_PROJECT_PATH": "acme/web"}, CIGitLab, "gitlab-555"},
		{"none", map[string]string{}, CINone, "keyless-1763780000"},
		{"bitbucket odd slug", map[string]string{"BITBUCKET_BUILD_NUMBER": "7", "BITBUCKET_REPO_SLUG": "my repo/ünï"}, CIBitbucket, "bitbucket-my-repo--n--7"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ci := DetectCI(envOf(tt.env))
			if ci.Provider != tt.ci {
				t.Errorf("provider = %q, want %q", ci.Provider, tt.ci)
			}
			if got := ci.SessionName(now); got != tt.session {
				t.Errorf("session name = %q, want %q", got, tt.session)
			}
		})
	}
}

func TestSanitizeSessionName(t *testing.T) {
	tests := map[string]string{
		"":                      "keyless",
		"a":                     "a-",
		"ok_name+=,.@-":         "ok_name+=,.@-",
		"with space/and:colons": "with-space-and-colons",
		strings.Repeat("x", 80): strings.Repeat("x", 64),
		"{uuid}":                "-uuid-",
	}
	for in, want := range tests {
		got := SanitizeSessionName(in)
		if got != want {
			t.Errorf("SanitizeSessionName(%q) = %q, want %q", in, got, want)
		}
		if !sessionNameRE.MatchString(got) {
			t.Errorf("SanitizeSessionName(%q) = %q does not match STS's pattern", in, got)
		}
	}
}

func FuzzSanitizeSessionName(f *testing.F) {
	f.Add("bitbucket-{repo}-12")
	f.Fuzz(func(t *testing.T, s string) {
		if got := SanitizeSessionName(s); !sessionNameRE.MatchString(got) {
			t.Fatalf("SanitizeSessionName(%q) = %q", s, got)
		}
	})
}

func TestResolveRoleARN(t *testing.T) {
	env := envOf(map[string]string{"AWS_ROLE_ARN": "arn:aws:iam::111111111111:role/a", "AWS_OIDC_ROLE_ARN": "arn:aws:iam::222222222222:role/b"})
	if got, _ := ResolveRoleARN("arn:aws:iam::000000000000:role/f", env); got != "arn:aws:iam::000000000000:role/f" {
		t.Errorf("flag: %q", got)
	}
	if got, _ := ResolveRoleARN("", env); got != "arn:aws:iam::111111111111:role/a" {
		t.Errorf("AWS_ROLE_ARN: %q", got)
	}
	if got, _ := ResolveRoleARN("", envOf(map[string]string{"AWS_OIDC_ROLE_ARN": "arn:aws:iam::222222222222:role/path/b"})); got != "arn:aws:iam::222222222222:role/path/b" {
		t.Errorf("AWS_OIDC_ROLE_ARN: %q", got)
	}
	if _, err := ResolveRoleARN("", envOf(nil)); err == nil || !strings.Contains(err.Error(), "--role-arn") {
		t.Errorf("none: %v", err)
	}
	if _, err := ResolveRoleARN("deploy", envOf(nil)); err == nil {
		t.Error("accepted a role name as ARN")
	}
}

func TestNoTokenHints(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		hint string
	}{
		{"bitbucket without oidc", map[string]string{"BITBUCKET_BUILD_NUMBER": "1"}, "add `oidc: true` to the step"},
		{"github without permission", map[string]string{"GITHUB_ACTIONS": "true"}, "permissions: id-token: write"},
		{"gitlab", map[string]string{"GITLAB_CI": "true", "CI_JOB_ID": "5"}, "id_tokens:"},
		{"elsewhere", map[string]string{}, "--token-file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := NewTokenSource(SourceOptions{Getenv: envOf(tt.env)})
			if !errors.Is(err, ErrNoToken) || !strings.Contains(err.Error(), tt.hint) {
				t.Errorf("err = %v, want ErrNoToken with %q", err, tt.hint)
			}
		})
	}
	// GitLab with --token-env naming an unset variable says how to declare it.
	src, _, err := NewTokenSource(SourceOptions{Getenv: envOf(map[string]string{"GITLAB_CI": "true"}), TokenEnv: "AWS_ID_TOKEN"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := src.Token(context.Background()); !errors.Is(err, ErrNoToken) || !strings.Contains(err.Error(), "id_tokens:") {
		t.Errorf("gitlab unset --token-env: %v", err)
	}
}

func TestTokenSources(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	file := filepath.Join(dir, "token")
	if err := os.WriteFile(file, []byte("file-token-1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{
		"BITBUCKET_BUILD_NUMBER":    "3",
		"BITBUCKET_STEP_OIDC_TOKEN": "bb-token",
		"MY_TOKEN":                  " env-token \n",
	}
	// Precedence: --token-file, --token-env, then autodetection.
	check := func(opts SourceOptions, want string) {
		t.Helper()
		opts.Getenv = envOf(env)
		src, _, err := NewTokenSource(opts)
		if err != nil {
			t.Fatalf("NewTokenSource(%+v): %v", opts, err)
		}
		got, err := src.Token(ctx)
		if err != nil || got != want {
			t.Errorf("Token = %q, %v; want %q", got, err, want)
		}
	}
	check(SourceOptions{TokenFile: file, TokenEnv: "MY_TOKEN"}, "file-token-1")
	check(SourceOptions{TokenEnv: "MY_TOKEN"}, "env-token")
	check(SourceOptions{}, "bb-token")
	check(SourceOptions{TokenFile: "-", Stdin: strings.NewReader("stdin-token\n")}, "stdin-token")

	// Stdin yields its first line and leaves the rest unread.
	in := strings.NewReader("stdin-token\nfor the child\n")
	check(SourceOptions{TokenFile: "-", Stdin: in}, "stdin-token")
	if rest, _ := io.ReadAll(in); string(rest) != "for the child\n" {
		t.Errorf("stdin after the token: %q", rest)
	}

	// A file source re-reads the file.
	src := FileSource(file)
	if err := os.WriteFile(file, []byte("file-token-2"), 0o600); err != nil {
		t.Fatal(err)
	}
	if got, _ := src.Token(ctx); got != "file-token-2" {
		t.Errorf("re-read = %q", got)
	}
	if _, err := FileSource(filepath.Join(dir, "missing")).Token(ctx); err == nil {
		t.Error("missing file: no error")
	}

	// $AWS_WEB_IDENTITY_TOKEN_FILE is the last resort.
	s, _, err := NewTokenSource(SourceOptions{Getenv: envOf(map[string]string{"AWS_WEB_IDENTITY_TOKEN_FILE": file})})
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := s.Token(ctx); got != "file-token-2" {
		t.Errorf("AWS_WEB_IDENTITY_TOKEN_FILE: %q", got)
	}
}

// fakeGitHub is a GitHub Actions ID token endpoint.
func fakeGitHub(t *testing.T, requestToken string) (*httptest.Server, *atomic.Int32) {
	t.Helper()
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "bearer "+requestToken {
			http.Error(w, `{"message":"bad token"}`, http.StatusUnauthorized)
			return
		}
		if r.URL.Query().Get("api-version") != "2.0" {
			http.Error(w, "no api-version", http.StatusBadRequest)
			return
		}
		i := n.Add(1)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"count":1,"value":"gh-token-` + strconv.Itoa(int(i)) + `-aud-` + r.URL.Query().Get("audience") + `"}`))
	}))
	t.Cleanup(srv.Close)
	return srv, &n
}

func TestGitHubSource(t *testing.T) {
	srv, n := fakeGitHub(t, "req-token")
	env := envOf(map[string]string{
		"GITHUB_ACTIONS":                 "true",
		"GITHUB_RUN_ID":                  "1",
		"ACTIONS_ID_TOKEN_REQUEST_URL":   srv.URL + "/token?api-version=2.0",
		"ACTIONS_ID_TOKEN_REQUEST_TOKEN": "req-token",
	})
	src, ci, err := NewTokenSource(SourceOptions{Getenv: env})
	if err != nil || ci.Provider != CIGitHub {
		t.Fatalf("NewTokenSource: %v, %v", ci, err)
	}
	ctx := context.Background()
	for i := 1; i <= 2; i++ {
		got, err := src.Token(ctx)
		want := "gh-token-" + strconv.Itoa(i) + "-aud-sts.amazonaws.com"
		if err != nil || got != want {
			t.Errorf("call %d: %q, %v; want %q (a fresh token per call)", i, got, err, want)
		}
	}
	if n.Load() != 2 {
		t.Errorf("endpoint saw %d requests, want 2", n.Load())
	}
	src, _, _ = NewTokenSource(SourceOptions{Getenv: env, Audience: "custom"})
	if got, _ := src.Token(ctx); !strings.HasSuffix(got, "-aud-custom") {
		t.Errorf("custom audience: %q", got)
	}
	bad := &GitHubSource{RequestURL: srv.URL + "/token?api-version=2.0", RequestToken: "wrong", Audience: "a"}
	_, err = bad.Token(ctx)
	if err == nil || strings.Contains(err.Error(), "wrong") {
		t.Errorf("wrong request token: err = %v (must not echo the request token)", err)
	}
}
