package target

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

var retryNow = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func TestParseRetryAfter(t *testing.T) {
	tests := []struct {
		in     string
		want   time.Duration
		wantOK bool
	}{
		{"", 0, false},
		{"0", 0, true},
		{"1", time.Second, true},
		{" 120 ", 2 * time.Minute, true},
		{"86400", 24 * time.Hour, true},
		{"86401", maxRetryAfter, true},
		{"99999999999999999999999", maxRetryAfter, true},
		{"-1", 0, false},
		{"1.5", 0, false},
		{"1s", 0, false},
		{"soon", 0, false},
		{"Sun, 01 Mar 2026 12:00:30 GMT", 30 * time.Second, true},
		{"Sunday, 01-Mar-26 12:01:00 GMT", time.Minute, true}, // RFC 850
		{"Sun Mar  1 12:00:05 2026", 5 * time.Second, true},   // asctime
		{"Sun, 01 Mar 2026 11:00:00 GMT", 0, true},            // in the past
		{"Mon, 01 Mar 2027 12:00:00 GMT", maxRetryAfter, true},
	}
	for _, tt := range tests {
		got, ok := parseRetryAfter(tt.in, retryNow)
		if got != tt.want || ok != tt.wantOK {
			t.Errorf("parseRetryAfter(%q) = %v, %t; want %v, %t", tt.in, got, ok, tt.want, tt.wantOK)
		}
	}
}

func TestBackoff(t *testing.T) {
	want := []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second, 16 * time.Second, 30 * time.Second, 30 * time.Second}
	for i, w := range want {
		if got := backoff(i + 1); got != w {
			t.Errorf("backoff(%d) = %v, want %v", i+1, got, w)
		}
	}
}

func TestErrorMessage(t *testing.T) {
	tests := []struct{ name, body, want string }{
		{"bitbucket", `{"type":"error","error":{"message":"Bad request","detail":"Unexpected response body","data":{"key":"x"}}}`, "Bad request: Unexpected response body"},
		{"bitbucket detail object", `{"type":"error","error":{"message":"Invalid","detail":{"key":["is required"]}}}`, "Invalid: key is required"},
		{"github", `{"message":"Bad credentials","documentation_url":"https://docs.github.com/rest"}`, "Bad credentials"},
		{"gitlab string", `{"message":"404 Project Not Found"}`, "404 Project Not Found"},
		{"gitlab fields", `{"message":{"value":["is invalid"],"key":["(A) has already been taken"]}}`, "key (A) has already been taken; value is invalid"},
		{"gitlab oauth", `{"error":"invalid_token","error_description":"Token was revoked."}`, "invalid_token: Token was revoked."},
		{"not json", `<html>502 Bad Gateway</html>`, ""},
		{"empty", ``, ""},
		{"other json", `[1,2]`, ""},
		{"control characters", `{"message":"line one\nline two\u0000"}`, "line one line two "},
	}
	for _, tt := range tests {
		if got := errorMessage([]byte(tt.body)); got != tt.want {
			t.Errorf("%s: errorMessage = %q, want %q", tt.name, got, tt.want)
		}
	}
	long, _ := json.Marshal(map[string]string{"message": strings.Repeat("é", 1000)})
	if got := errorMessage(long); utf8.RuneCountInString(got) != maxMessage+1 || !strings.HasSuffix(got, "…") {
		t.Errorf("a long message is %d runes, want %d and an ellipsis", utf8.RuneCountInString(got), maxMessage+1)
	}
}

func TestNextPage(t *testing.T) {
	const base = "https://api.bitbucket.org"
	tests := []struct{ next, want, wantErr string }{
		{"https://api.bitbucket.org/2.0/workspaces/a/pipelines-config/variables?page=2", "https://api.bitbucket.org/2.0/workspaces/a/pipelines-config/variables?page=2", ""},
		{"/2.0/x?page=3", "https://api.bitbucket.org/2.0/x?page=3", ""},
		{"https://evil.example/2.0/x?page=2", "", "refusing next page link to https://evil.example: the token is for api.bitbucket.org only"},
		{"http://api.bitbucket.org/2.0/x?page=2", "", "refusing next page link to http://api.bitbucket.org"},
		{"//evil.example/x", "", "refusing next page link to https://evil.example"},
		{"https://api.bitbucket.org:8443/x", "", "refusing next page link"},
		{"%zz", "", "bad next page link"},
	}
	for _, tt := range tests {
		got, err := nextPage(base, tt.next)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("nextPage(%q) = %q, %v; want error %q", tt.next, got, err, tt.wantErr)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("nextPage(%q) = %q, %v; want %q", tt.next, got, err, tt.want)
		}
	}
}

func TestFindEnvironment(t *testing.T) {
	envs := []bbEnvironment{
		{UUID: "{1}", Name: "Production", Slug: "production"},
		{UUID: "{2}", Name: "production", Slug: "production-2"},
		{UUID: "{3}", Name: "Staging EU", Slug: "staging-eu"},
	}
	tests := []struct{ want, id, err string }{
		{"Production", "{1}", ""},
		{"production", "{2}", ""},
		{"staging-eu", "{3}", ""},
		{"STAGING EU", "{3}", ""},
		{"PRODUCTION", "", `deployment environment "PRODUCTION" matches 2 environments: give its exact name or its {UUID}`},
		{"Test", "", `no deployment environment "Test": the repository has Production, production, Staging EU`},
	}
	for _, tt := range tests {
		id, err := findEnvironment(envs, tt.want)
		if id != tt.id || (err == nil) != (tt.err == "") || (err != nil && !strings.HasPrefix(err.Error(), tt.err)) {
			t.Errorf("findEnvironment(%q) = %q, %v; want %q, %q", tt.want, id, err, tt.id, tt.err)
		}
	}
}

func TestValidKey(t *testing.T) {
	for _, k := range []string{"A", "_", "AWS_ACCESS_KEY_ID", "a1_b2"} {
		if err := validKey(k); err != nil {
			t.Errorf("validKey(%q) = %v", k, err)
		}
	}
	for _, k := range []string{"", "1A", "A-B", "A B", "Ä", "A.B"} {
		if err := validKey(k); err == nil {
			t.Errorf("validKey(%q) accepted", k)
		}
	}
}

func TestCheckBase(t *testing.T) {
	tests := []struct{ in, want, err string }{
		{"https://api.github.com/", "https://api.github.com", ""},
		{"https://ghe.example.com/api/v3", "https://ghe.example.com/api/v3", ""},
		{"http://127.0.0.1:8080", "http://127.0.0.1:8080", ""},
		{"http://[::1]:8080/", "http://[::1]:8080", ""},
		{"http://localhost:1", "http://localhost:1", ""},
		{"http://10.0.0.1", "", "use https"},
		{"ftp://x", "", "scheme must be https"},
		{"https://x/?a=b", "", "remove the query or fragment"},
	}
	for _, tt := range tests {
		got, err := checkBase(tt.in)
		if got != tt.want || (err == nil) != (tt.err == "") || (err != nil && !strings.Contains(err.Error(), tt.err)) {
			t.Errorf("checkBase(%q) = %q, %v; want %q, %q", tt.in, got, err, tt.want, tt.err)
		}
	}
}
