package cli

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

const (
	explainCmdRole        = "arn:aws:iam::000000000000:role/deploy"
	explainCmdIssuer      = "issuer.example/2.0/workspaces/acme/pipelines-config/identity/oidc"
	explainCmdProviderARN = "arn:aws:iam::000000000000:oidc-provider/" + explainCmdIssuer
	explainCmdAudience    = "ari:cloud:bitbucket::workspace/acme"
	explainCmdRootKey     = "AKIAKEYLESSROOT00001"
)

// explainCmdEnv clears what the machine running the tests may have set (CI variables,
// AWS configuration, a sourced keyless env file) and disables the instance metadata
// service.
func explainCmdEnv(t *testing.T) {
	t.Helper()
	for _, k := range []string{
		"BITBUCKET_STEP_OIDC_TOKEN", "KEYLESS_ROOT_ACCESS_KEY_ID", "KEYLESS_ROOT_SECRET_ACCESS_KEY", "KEYLESS_CA_BUNDLE",
		"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_DEFAULT_PROFILE",
		"AWS_ROLE_ARN", "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_ROLE_SESSION_NAME", "AWS_REGION", "AWS_DEFAULT_REGION",
		"AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_STS", "AWS_ENDPOINT_URL_IAM",
		"AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_CONTAINER_AUTHORIZATION_TOKEN",
	} {
		t.Setenv(k, "")
	}
	dir := t.TempDir()
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(dir, "config"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(dir, "credentials"))
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
}

// explainCmdRun runs keyless with args and stdin.
func explainCmdRun(t *testing.T, stdin io.Reader, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = Execute(context.Background(), args, Streams{In: stdin, Out: &out, Err: &errb})
	return code, out.String(), errb.String()
}

// explainCmdToken is a JWT with the given claims and a signature nobody checks
// (explain runs with --verify=false).
func explainCmdToken(claims map[string]any) string {
	enc := func(v any) string {
		b, _ := json.Marshal(v)
		return base64.RawURLEncoding.EncodeToString(b)
	}
	return enc(map[string]string{"alg": "RS256", "kid": "k1", "typ": "JWT"}) + "." + enc(claims) + "." + base64.RawURLEncoding.EncodeToString([]byte("not-a-signature"))
}

func explainCmdStepToken(repo string) string {
	now := time.Now()
	return explainCmdToken(map[string]any{
		"iss": "https://" + explainCmdIssuer, "aud": explainCmdAudience, "sub": repo + ":{step}",
		"iat": now.Unix(), "exp": now.Add(time.Hour).Unix(),
	})
}

// explainCmdTrust is a trust policy admitting repository {web}, with extra conditions.
func explainCmdTrust(extra map[string]any) string {
	cond := map[string]any{
		"StringEquals": map[string]any{explainCmdIssuer + ":aud": explainCmdAudience},
		"StringLike":   map[string]any{explainCmdIssuer + ":sub": "{web}:*"},
	}
	for k, v := range extra {
		cond[k] = v
	}
	b, _ := json.Marshal(map[string]any{"Version": "2012-10-17", "Statement": []any{map[string]any{
		"Sid": "RepoOnly", "Effect": "Allow", "Principal": map[string]any{"Federated": explainCmdProviderARN},
		"Action": "sts:AssumeRoleWithWebIdentity", "Condition": cond,
	}}})
	return string(b)
}

// explainIAMStub answers GetRole, ListOpenIDConnectProviders and
// GetOpenIDConnectProvider in the IAM Query protocol and records the access key IDs
// the calls were signed with.
type explainIAMStub struct {
	srv  *httptest.Server
	mu   sync.Mutex
	keys []string
}

var explainCmdCredentialRE = regexp.MustCompile(`Credential=([A-Z0-9]+)/`)

func newExplainIAMStub(t *testing.T, trust string) *explainIAMStub {
	t.Helper()
	st := &explainIAMStub{}
	st.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := r.ParseForm(); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		if m := explainCmdCredentialRE.FindStringSubmatch(r.Header.Get("Authorization")); m != nil {
			st.mu.Lock()
			st.keys = append(st.keys, m[1])
			st.mu.Unlock()
		}
		w.Header().Set("Content-Type", "text/xml")
		const ns = `xmlns="https://iam.amazonaws.com/doc/2010-05-08/"`
		switch r.PostForm.Get("Action") {
		case "GetRole":
			fmt.Fprintf(w, `<GetRoleResponse %s><GetRoleResult><Role><Path>/</Path><RoleName>deploy</RoleName><RoleId>AROADEPLOY</RoleId><Arn>%s</Arn><CreateDate>2026-01-01T00:00:00Z</CreateDate><AssumeRolePolicyDocument>%s</AssumeRolePolicyDocument></Role></GetRoleResult><ResponseMetadata><RequestId>r-1</RequestId></ResponseMetadata></GetRoleResponse>`,
				ns, explainCmdRole, url.QueryEscape(trust))
		case "ListOpenIDConnectProviders":
			fmt.Fprintf(w, `<ListOpenIDConnectProvidersResponse %s><ListOpenIDConnectProvidersResult><OpenIDConnectProviderList><member><Arn>%s</Arn></member></OpenIDConnectProviderList></ListOpenIDConnectProvidersResult><ResponseMetadata><RequestId>r-2</RequestId></ResponseMetadata></ListOpenIDConnectProvidersResponse>`,
				ns, explainCmdProviderARN)
		case "GetOpenIDConnectProvider":
			fmt.Fprintf(w, `<GetOpenIDConnectProviderResponse %s><GetOpenIDConnectProviderResult><Url>%s</Url><ClientIDList><member>%s</member></ClientIDList><ThumbprintList></ThumbprintList><CreateDate>2026-01-01T00:00:00Z</CreateDate></GetOpenIDConnectProviderResult><ResponseMetadata><RequestId>r-3</RequestId></ResponseMetadata></GetOpenIDConnectProviderResponse>`,
				ns, explainCmdIssuer, explainCmdAudience)
		default:
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprintf(w, `<ErrorResponse %s><Error><Type>Sender</Type><Code>InvalidAction</Code><Message>unexpected</Message></Error><RequestId>r-4</RequestId></ErrorResponse>`, ns)
		}
	}))
	t.Cleanup(st.srv.Close)
	return st
}

func (st *explainIAMStub) signedWith() []string {
	st.mu.Lock()
	defer st.mu.Unlock()
	return append([]string(nil), st.keys...)
}

// TestExplainCmdReadsIAMWithKeylessRoot checks which credentials explain reads IAM
// with: the root credentials of a sourced keyless env file, also when AWS_ROLE_ARN is
// set (the seeds' pipeline pattern, and what login's denial hint runs), unless the
// user has credentials of their own.
func TestExplainCmdReadsIAMWithKeylessRoot(t *testing.T) {
	cases := []struct {
		name string
		env  map[string]string
		args []string
		want string
	}{
		{"AWS_ROLE_ARN names the role", map[string]string{"AWS_ROLE_ARN": explainCmdRole}, nil, explainCmdRootKey},
		{"--role-arn with AWS_ROLE_ARN set", map[string]string{"AWS_ROLE_ARN": explainCmdRole}, []string{"--role-arn", explainCmdRole}, explainCmdRootKey},
		{"the user's own keys win", map[string]string{"AWS_ACCESS_KEY_ID": "AKIAOWNKEY0000000001", "AWS_SECRET_ACCESS_KEY": "own"}, []string{"--role-arn", explainCmdRole}, "AKIAOWNKEY0000000001"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			explainCmdEnv(t)
			stub := newExplainIAMStub(t, explainCmdTrust(nil))
			t.Setenv("AWS_ENDPOINT_URL", stub.srv.URL)
			t.Setenv("KEYLESS_ROOT_ACCESS_KEY_ID", explainCmdRootKey)
			t.Setenv("KEYLESS_ROOT_SECRET_ACCESS_KEY", "root-secret")
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			args := append([]string{"explain", "--token", explainCmdStepToken("{web}"), "--verify=false"}, tc.args...)
			code, out, errOut := explainCmdRun(t, strings.NewReader(""), args...)
			if code != 0 || !strings.Contains(out, "Result: ADMITTED") {
				t.Fatalf("exit %d\nstdout: %s\nstderr: %s", code, out, errOut)
			}
			keys := stub.signedWith()
			if len(keys) == 0 {
				t.Fatal("IAM was not called")
			}
			for _, k := range keys {
				if k != tc.want {
					t.Errorf("IAM call signed with %s, want %s", k, tc.want)
				}
			}
			if strings.Contains(out+errOut, "root-secret") {
				t.Error("the output shows the secret key")
			}
		})
	}
}

// TestExplainCmdWithoutCredentials checks that explain with no AWS credentials at all
// says in one line what to do, rather than the SDK's account of its chain.
func TestExplainCmdWithoutCredentials(t *testing.T) {
	explainCmdEnv(t)
	t.Setenv("AWS_ROLE_ARN", explainCmdRole)
	code, out, errOut := explainCmdRun(t, strings.NewReader(""), "explain", "--token", explainCmdStepToken("{web}"), "--verify=false")
	if code != 1 || out != "" {
		t.Errorf("exit %d, stdout %q; want exit 1 and nothing on stdout", code, out)
	}
	if strings.Count(errOut, "\n") != 1 || strings.Contains(errOut, "IMDS") {
		t.Errorf("stderr is not one line: %q", errOut)
	}
	for _, want := range []string{". .keyless/env", "AWS credentials", "--trust-policy", "--provider-url"} {
		if !strings.Contains(errOut, want) {
			t.Errorf("stderr lacks %q: %q", want, errOut)
		}
	}
}

// TestExplainCmdExitStatus checks the three verdicts and their exit statuses, with the
// trust policy and provider given on the command line.
func TestExplainCmdExitStatus(t *testing.T) {
	explainCmdEnv(t)
	trust := filepath.Join(t.TempDir(), "trust.json")
	if err := os.WriteFile(trust, []byte(explainCmdTrust(map[string]any{"IpAddress": map[string]any{"aws:SourceIp": "127.0.0.1/32"}})), 0o600); err != nil {
		t.Fatal(err)
	}
	base := []string{"explain", "--role-arn", explainCmdRole, "--trust-policy", trust, "--provider-url", "https://" + explainCmdIssuer, "--client-id", explainCmdAudience, "--verify=false"}
	cases := []struct {
		name  string
		token string
		extra []string
		code  int
		want  []string
	}{
		{"source address unknown", explainCmdStepToken("{web}"), nil, 2,
			[]string{"  SKIP  statement \"RepoOnly\" (Allow): IpAddress on aws:SourceIp\n", "Result: UNDETERMINED", "pass --source-ip ADDRESS"}},
		{"from an allowed address", explainCmdStepToken("{web}"), []string{"--source-ip", "127.0.0.1"}, 0, []string{"Result: ADMITTED"}},
		{"from another address", explainCmdStepToken("{web}"), []string{"--source-ip", "203.0.113.9"}, 1, []string{"Result: DENIED"}},
		{"another repository, address unknown", explainCmdStepToken("{api}"), nil, 1, []string{"Result: DENIED"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			args := append(append([]string{}, base...), "--token", tc.token)
			args = append(args, tc.extra...)
			code, out, errOut := explainCmdRun(t, strings.NewReader(""), args...)
			if code != tc.code {
				t.Errorf("exit %d, want %d\nstdout: %s\nstderr: %s", code, tc.code, out, errOut)
			}
			for _, w := range tc.want {
				if !strings.Contains(out, w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
			code, out, _ = explainCmdRun(t, strings.NewReader(""), append(args, "--output", "json")...)
			var rep struct {
				Verdict  string `json:"verdict"`
				Admitted bool   `json:"admitted"`
			}
			if code != tc.code || json.Unmarshal([]byte(out), &rep) != nil {
				t.Fatalf("--output json: exit %d, output %s", code, out)
			}
			wantVerdict := map[int]string{0: "ADMITTED", 1: "DENIED", 2: "UNDETERMINED"}[tc.code]
			if rep.Verdict != wantVerdict || rep.Admitted != (tc.code == 0) {
				t.Errorf("--output json: verdict %q admitted %v, want %q", rep.Verdict, rep.Admitted, wantVerdict)
			}
		})
	}
	_, help, _ := explainCmdRun(t, strings.NewReader(""), "explain", "--help")
	if !strings.Contains(help, "Exit status: 0 admitted, 1 denied, 2 undetermined.") {
		t.Errorf("explain --help does not document the exit statuses:\n%s", help)
	}
}

// TestExplainCmdJSONValues checks that --output json carries expected and actual as
// JSON values, not JSON text inside strings.
func TestExplainCmdJSONValues(t *testing.T) {
	explainCmdEnv(t)
	trust := filepath.Join(t.TempDir(), "trust.json")
	if err := os.WriteFile(trust, []byte(explainCmdTrust(nil)), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := explainCmdRun(t, strings.NewReader(""), "explain", "--role-arn", explainCmdRole, "--trust-policy", trust,
		"--provider-url", "https://"+explainCmdIssuer, "--client-id", explainCmdAudience, "--verify=false",
		"--token", explainCmdStepToken("{api}"), "--output", "json")
	if code != 1 {
		t.Fatalf("exit %d\nstdout: %s\nstderr: %s", code, out, errOut)
	}
	var rep struct {
		Checks []struct {
			ID       string          `json:"id"`
			Status   string          `json:"status"`
			Title    string          `json:"title"`
			Expected json.RawMessage `json:"expected"`
			Actual   json.RawMessage `json:"actual"`
		} `json:"checks"`
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatal(err)
	}
	for _, c := range rep.Checks {
		if c.ID != "condition" || !strings.HasSuffix(c.Title, ":sub") {
			continue
		}
		var expected []string
		var actual string
		if err := json.Unmarshal(c.Expected, &expected); err != nil || len(expected) != 1 || expected[0] != "{web}:*" {
			t.Errorf("expected is %s, want the JSON array [\"{web}:*\"]", c.Expected)
		}
		if err := json.Unmarshal(c.Actual, &actual); err != nil || actual != "{api}:{step}" {
			t.Errorf("actual is %s, want the JSON string \"{api}:{step}\"", c.Actual)
		}
		return
	}
	t.Fatalf("no :sub condition in %s", out)
}

// TestExplainCmdTextAlignment checks that a fix of several lines (an explicit Deny's
// explanation) keeps every continuation line under the first.
func TestExplainCmdTextAlignment(t *testing.T) {
	explainCmdEnv(t)
	var doc map[string]any
	json.Unmarshal([]byte(explainCmdTrust(nil)), &doc)
	doc["Statement"] = append(doc["Statement"].([]any), map[string]any{
		"Sid": "NoOne", "Effect": "Deny", "Principal": map[string]any{"Federated": explainCmdProviderARN}, "Action": "sts:AssumeRoleWithWebIdentity",
	})
	b, _ := json.Marshal(doc)
	trust := filepath.Join(t.TempDir(), "trust.json")
	if err := os.WriteFile(trust, b, 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := explainCmdRun(t, strings.NewReader(""), "explain", "--role-arn", explainCmdRole, "--trust-policy", trust,
		"--provider-url", "https://"+explainCmdIssuer, "--client-id", explainCmdAudience, "--verify=false", "--token", explainCmdStepToken("{web}"))
	if code != 1 {
		t.Fatalf("exit %d\nstdout: %s\nstderr: %s", code, out, errOut)
	}
	want := "        fix:      ExplicitlyDenied: statement \"NoOne\" of the trust policy denies"
	next := "\n                  statement \"NoOne\" applied: it has no conditions\n"
	i := strings.Index(out, want)
	if i < 0 || !strings.Contains(out[i:], next) {
		t.Errorf("the fix's second line is not aligned under its first; want %q then %q:\n%s", want, next, out)
	}
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	for _, l := range lines[1 : len(lines)-1] {
		if !strings.HasPrefix(l, "  ") {
			t.Errorf("line %q is not indented", l)
		}
	}
}
