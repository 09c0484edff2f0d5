package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

const (
	loginTestRole  = "arn:aws:iam::000000000000:role/deploy"
	loginTestToken = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJsb2dpbi10ZXN0In0.c2lnbmF0dXJl"
)

// loginSTSStub answers AssumeRoleWithWebIdentity (or denies it) and GetCallerIdentity for
// the keys it issued, in the STS Query protocol.
type loginSTSStub struct {
	srv    *httptest.Server
	deny   bool
	mu     sync.Mutex
	forms  []map[string]string
	keys   map[string]string
	issued int
	// denyRoles makes AssumeRole of these roles fail with AccessDenied.
	denyRoles map[string]bool
	// chained are the AssumeRole calls: the form plus "Caller", the assumed-role
	// ARN of the signing keys.
	chained []map[string]string
}

var loginCredentialRE = regexp.MustCompile(`Credential=([A-Z0-9]+)/`)

func newLoginSTSStub(t *testing.T) *loginSTSStub {
	t.Helper()
	st := &loginSTSStub{keys: map[string]string{}, denyRoles: map[string]bool{}}
	st.srv = httptest.NewServer(http.HandlerFunc(st.serve))
	t.Cleanup(st.srv.Close)
	return st
}

func (st *loginSTSStub) serve(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	w.Header().Set("Content-Type", "text/xml")
	st.mu.Lock()
	defer st.mu.Unlock()
	switch r.PostForm.Get("Action") {
	case "AssumeRoleWithWebIdentity":
		form := map[string]string{}
		for k := range r.PostForm {
			form[k] = r.PostForm.Get(k)
		}
		st.forms = append(st.forms, form)
		if st.deny {
			w.WriteHeader(http.StatusForbidden)
			fmt.Fprint(w, `<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>Not authorized to perform sts:AssumeRoleWithWebIdentity</Message></Error><RequestId>r-1</RequestId></ErrorResponse>`)
			return
		}
		st.issued++
		key := fmt.Sprintf("ASIASTUB%012d", st.issued)
		session := form["RoleSessionName"]
		arn := "arn:aws:sts::000000000000:assumed-role/deploy/" + session
		st.keys[key] = arn
		exp := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
		fmt.Fprintf(w, `<AssumeRoleWithWebIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><AssumeRoleWithWebIdentityResult><Credentials><AccessKeyId>%s</AccessKeyId><SecretAccessKey>SECRET%s</SecretAccessKey><SessionToken>SESSION%s</SessionToken><Expiration>%s</Expiration></Credentials><SubjectFromWebIdentityToken>{r}:{s}</SubjectFromWebIdentityToken><AssumedRoleUser><Arn>%s</Arn><AssumedRoleId>AROASTUB:%s</AssumedRoleId></AssumedRoleUser><Audience>sts.amazonaws.com</Audience><Provider>arn:aws:iam::000000000000:oidc-provider/issuer.example</Provider></AssumeRoleWithWebIdentityResult><ResponseMetadata><RequestId>r-%d</RequestId></ResponseMetadata></AssumeRoleWithWebIdentityResponse>`,
			key, key, key, exp, arn, session, st.issued)
	case "AssumeRole":
		form := map[string]string{}
		for k := range r.PostForm {
			form[k] = r.PostForm.Get(k)
		}
		m := loginCredentialRE.FindStringSubmatch(r.Header.Get("Authorization"))
		if m != nil {
			form["Caller"] = st.keys[m[1]]
		}
		st.chained = append(st.chained, form)
		role := form["RoleArn"]
		switch {
		case form["Caller"] == "":
			w.WriteHeader(http.StatusForbidden)
			fmt.Fprint(w, `<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type><Code>InvalidClientTokenId</Code><Message>The security token included in the request is invalid.</Message></Error><RequestId>r-4</RequestId></ErrorResponse>`)
			return
		case st.denyRoles[role]:
			w.WriteHeader(http.StatusForbidden)
			fmt.Fprintf(w, `<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>User: %s is not authorized to perform: sts:AssumeRole on resource: %s</Message></Error><RequestId>r-5</RequestId></ErrorResponse>`, form["Caller"], role)
			return
		}
		st.issued++
		key := fmt.Sprintf("ASIASTUB%012d", st.issued)
		account := strings.Split(role, ":")[4]
		arn := "arn:aws:sts::" + account + ":assumed-role/" + role[strings.LastIndex(role, "/")+1:] + "/" + form["RoleSessionName"]
		st.keys[key] = arn
		exp := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
		fmt.Fprintf(w, `<AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><AssumeRoleResult><Credentials><AccessKeyId>%s</AccessKeyId><SecretAccessKey>SECRET%s</SecretAccessKey><SessionToken>SESSION%s</SessionToken><Expiration>%s</Expiration></Credentials><AssumedRoleUser><Arn>%s</Arn><AssumedRoleId>AROASTUB:%s</AssumedRoleId></AssumedRoleUser></AssumeRoleResult><ResponseMetadata><RequestId>r-%d</RequestId></ResponseMetadata></AssumeRoleResponse>`,
			key, key, key, exp, arn, form["RoleSessionName"], st.issued)
	case "GetCallerIdentity":
		m := loginCredentialRE.FindStringSubmatch(r.Header.Get("Authorization"))
		if m == nil || st.keys[m[1]] == "" {
			w.WriteHeader(http.StatusForbidden)
			fmt.Fprint(w, `<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type><Code>InvalidClientTokenId</Code><Message>The security token included in the request is invalid.</Message></Error><RequestId>r-2</RequestId></ErrorResponse>`)
			return
		}
		fmt.Fprintf(w, `<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><GetCallerIdentityResult><Arn>%s</Arn><UserId>AROASTUB:s</UserId><Account>%s</Account></GetCallerIdentityResult><ResponseMetadata><RequestId>r-3</RequestId></ResponseMetadata></GetCallerIdentityResponse>`, st.keys[m[1]], strings.Split(st.keys[m[1]], ":")[4])
	default:
		w.WriteHeader(http.StatusBadRequest)
	}
}

// chainRequests returns the AssumeRole calls.
func (st *loginSTSStub) chainRequests() []map[string]string {
	st.mu.Lock()
	defer st.mu.Unlock()
	return append([]map[string]string(nil), st.chained...)
}

func (st *loginSTSStub) requests() []map[string]string {
	st.mu.Lock()
	defer st.mu.Unlock()
	return append([]map[string]string(nil), st.forms...)
}

// loginCleanEnv removes what the machine running the tests may have set: CI variables
// and AWS configuration.
func loginCleanEnv(t *testing.T) {
	t.Helper()
	for _, k := range []string{
		"BITBUCKET_BUILD_NUMBER", "BITBUCKET_STEP_OIDC_TOKEN", "BITBUCKET_REPO_SLUG", "GITHUB_ACTIONS", "GITHUB_ENV",
		"ACTIONS_ID_TOKEN_REQUEST_URL", "ACTIONS_ID_TOKEN_REQUEST_TOKEN", "GITHUB_RUN_ID", "GITHUB_RUN_ATTEMPT",
		"GITLAB_CI", "CI_JOB_ID", "CI_PROJECT_PATH",
		"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_DEFAULT_PROFILE",
		"AWS_ROLE_ARN", "AWS_OIDC_ROLE_ARN", "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_ROLE_SESSION_NAME",
		"AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_STS", "AWS_REGION", "AWS_DEFAULT_REGION",
		"AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
		"AWS_CONTAINER_AUTHORIZATION_TOKEN", "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", "KEYLESS_ROLE_CHAIN",
	} {
		t.Setenv(k, "")
	}
	dir := t.TempDir()
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(dir, "config"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(dir, "credentials"))
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
}

func loginRun(t *testing.T, stdin string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = Execute(context.Background(), args, Streams{In: strings.NewReader(stdin), Out: &out, Err: &errb})
	return code, out.String(), errb.String()
}

func TestLoginEnvFromBitbucketStep(t *testing.T) {
	loginCleanEnv(t)
	st := newLoginSTSStub(t)
	t.Setenv("BITBUCKET_BUILD_NUMBER", "17")
	t.Setenv("BITBUCKET_REPO_SLUG", "web")
	t.Setenv("BITBUCKET_STEP_OIDC_TOKEN", loginTestToken)
	t.Setenv("AWS_OIDC_ROLE_ARN", loginTestRole)
	t.Setenv("AWS_ENDPOINT_URL", st.srv.URL)
	code, out, errOut := loginRun(t, "", "login", "--duration", "15m")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, want := range []string{"export AWS_ACCESS_KEY_ID=ASIASTUB000000000001\n", "export AWS_SECRET_ACCESS_KEY=SECRETASIASTUB000000000001\n", "export AWS_SESSION_TOKEN=SESSIONASIASTUB000000000001\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("stdout lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out+errOut, loginTestToken) || errOut != "" {
		t.Errorf("unexpected stderr or token leak:\nstdout %s\nstderr %s", out, errOut)
	}
	reqs := st.requests()
	if len(reqs) != 1 || reqs[0]["RoleSessionName"] != "bitbucket-web-17" || reqs[0]["RoleArn"] != loginTestRole || reqs[0]["DurationSeconds"] != "900" {
		t.Errorf("STS requests: %v", reqs)
	}
}

func TestLoginAccessDeniedFailsFast(t *testing.T) {
	loginCleanEnv(t)
	st := newLoginSTSStub(t)
	st.deny = true
	t.Setenv("MY_TOKEN", loginTestToken)
	start := time.Now()
	code, out, errOut := loginRun(t, "", "login", "--role-arn", loginTestRole, "--token-env", "MY_TOKEN", "--sts-endpoint", st.srv.URL)
	if code != 1 || out != "" {
		t.Errorf("exit %d, stdout %q", code, out)
	}
	if time.Since(start) > time.Second || len(st.requests()) != 1 {
		t.Errorf("took %s and %d requests", time.Since(start), len(st.requests()))
	}
	if !strings.Contains(errOut, "AccessDenied") || !strings.Contains(errOut, "keyless explain --role-arn "+loginTestRole) {
		t.Errorf("stderr lacks the denial and its hint:\n%s", errOut)
	}
	if strings.Contains(errOut, loginTestToken) {
		t.Error("stderr leaks the token")
	}
}

func TestLoginNoTokenSaysWhatToDo(t *testing.T) {
	loginCleanEnv(t)
	t.Setenv("BITBUCKET_BUILD_NUMBER", "3")
	code, _, errOut := loginRun(t, "", "login", "--role-arn", loginTestRole)
	if code == 0 || !strings.Contains(errOut, "oidc: true") {
		t.Errorf("exit %d, stderr %q", code, errOut)
	}
	loginCleanEnv(t)
	t.Setenv("GITHUB_ACTIONS", "true")
	if _, _, errOut := loginRun(t, "", "login", "--role-arn", loginTestRole); !strings.Contains(errOut, "id-token: write") {
		t.Errorf("github: %q", errOut)
	}
	loginCleanEnv(t)
	if _, _, errOut := loginRun(t, "", "login", "--token-file", "-"); !strings.Contains(errOut, "--role-arn") {
		t.Errorf("no role: %q", errOut)
	}
}

func TestLoginGitHubActionsJSON(t *testing.T) {
	loginCleanEnv(t)
	st := newLoginSTSStub(t)
	gh := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "bearer gh-request-token" || r.URL.Query().Get("audience") != "sts.amazonaws.com" {
			http.Error(w, "bad request", http.StatusUnauthorized)
			return
		}
		fmt.Fprintf(w, `{"value":%q}`, loginTestToken)
	}))
	defer gh.Close()
	t.Setenv("GITHUB_ACTIONS", "true")
	t.Setenv("GITHUB_RUN_ID", "4242")
	t.Setenv("GITHUB_RUN_ATTEMPT", "1")
	t.Setenv("ACTIONS_ID_TOKEN_REQUEST_URL", gh.URL+"/id?api-version=2.0")
	t.Setenv("ACTIONS_ID_TOKEN_REQUEST_TOKEN", "gh-request-token")
	t.Setenv("AWS_ROLE_ARN", loginTestRole)
	t.Setenv("AWS_ENDPOINT_URL_STS", st.srv.URL)
	code, out, errOut := loginRun(t, "", "login", "--format", "json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var got map[string]string
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("%v:\n%s", err, out)
	}
	if got["AccessKeyId"] == "" || got["SecretAccessKey"] == "" || got["SessionToken"] == "" || got["Expiration"] == "" || len(got) != 4 {
		t.Errorf("json output: %v", got)
	}
	if reqs := st.requests(); len(reqs) != 1 || reqs[0]["RoleSessionName"] != "github-4242-1" || reqs[0]["WebIdentityToken"] != loginTestToken {
		t.Errorf("STS requests: %v", reqs)
	}
}

func TestLoginAWSProfileWithTokenFile(t *testing.T) {
	loginCleanEnv(t)
	st := newLoginSTSStub(t)
	dir := t.TempDir()
	tokenFile := filepath.Join(dir, "web-identity-token")
	code, out, errOut := loginRun(t, loginTestToken+"\n", "login", "--role-arn", loginTestRole, "--token-file", "-",
		"--sts-endpoint", st.srv.URL, "--region", "eu-west-1", "--format", "aws-profile", "--profile", "ci",
		"--write-token-file", tokenFile, "--session-name", "my-session")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if b, err := os.ReadFile(tokenFile); err != nil || string(b) != loginTestToken {
		t.Errorf("token file: %q, %v", b, err)
	}
	cfg, _ := os.ReadFile(os.Getenv("AWS_CONFIG_FILE"))
	for _, want := range []string{"[profile ci]", "role_arn = " + loginTestRole, "web_identity_token_file = " + tokenFile, "region = eu-west-1", "role_session_name = my-session"} {
		if !strings.Contains(string(cfg), want) {
			t.Errorf("config lacks %q:\n%s", want, cfg)
		}
	}
	if strings.Contains(out, "SECRET") || strings.Contains(out, loginTestToken) {
		t.Errorf("summary leaks a secret (%d bytes of output withheld)", len(out))
	}

	// whoami with that profile: the SDK exchanges the token file itself.
	t.Setenv("AWS_PROFILE", "ci")
	code, out, errOut = loginRun(t, "", "whoami", "--output", "json")
	if code != 0 {
		t.Fatalf("whoami exit %d: %s", code, errOut)
	}
	var id map[string]string
	if err := json.Unmarshal([]byte(out), &id); err != nil || id["Account"] != "000000000000" || id["Arn"] != "arn:aws:sts::000000000000:assumed-role/deploy/my-session" || id["UserId"] == "" {
		t.Errorf("whoami: %v (%v)", out, err)
	}
}

func TestLoginRejectsBadFlags(t *testing.T) {
	loginCleanEnv(t)
	for _, args := range [][]string{
		{"login", "--format", "yaml"},
		{"login", "--format", "aws-profile"},
		{"login", "--format", "github-env"},
		{"login", "--role-arn", loginTestRole, "--token-file", "-", "--duration", "5m"},
		{"login", "--role-arn", loginTestRole, "--token-file", "-", "--allowed-account-ids", "111111111111"},
	} {
		if code, _, errOut := loginRun(t, loginTestToken, args...); code == 0 || errOut == "" {
			t.Errorf("%v: exit %d, stderr %q", args, code, errOut)
		}
	}
}

func TestWhoamiText(t *testing.T) {
	loginCleanEnv(t)
	st := newLoginSTSStub(t)
	// Obtain keys the stub knows, then use them as static environment credentials.
	t.Setenv("MY_TOKEN", loginTestToken)
	code, out, errOut := loginRun(t, "", "login", "--role-arn", loginTestRole, "--token-env", "MY_TOKEN", "--sts-endpoint", st.srv.URL, "--format", "json")
	if code != 0 {
		t.Fatalf("login: %s", errOut)
	}
	var c map[string]string
	_ = json.Unmarshal([]byte(out), &c)
	t.Setenv("AWS_ACCESS_KEY_ID", c["AccessKeyId"])
	t.Setenv("AWS_SECRET_ACCESS_KEY", c["SecretAccessKey"])
	t.Setenv("AWS_SESSION_TOKEN", c["SessionToken"])
	t.Setenv("AWS_ENDPOINT_URL", st.srv.URL)
	code, out, errOut = loginRun(t, "", "whoami")
	if code != 0 {
		t.Fatalf("whoami: %s", errOut)
	}
	if !strings.HasPrefix(out, "Account  000000000000\nArn      arn:aws:sts::000000000000:assumed-role/deploy/") || !strings.HasSuffix(out, "UserId   AROASTUB:s\n") {
		t.Errorf("whoami text:\n%s", out)
	}
	if code, _, _ := loginRun(t, "", "whoami", "--output", "yaml"); code == 0 {
		t.Error("--output yaml accepted")
	}
}

const (
	loginChainRole2 = "arn:aws:iam::111111111111:role/hop-two"
	loginChainRole3 = "arn:aws:iam::222222222222:role/deploy"
)

// TestLoginRoleChain: --role-chain (or KEYLESS_ROLE_CHAIN) assumes each role in order
// with the previous role's keys and prints the last role's credentials; a --duration
// above 1h applies to the first role only, with a warning.
func TestLoginRoleChain(t *testing.T) {
	tests := []struct {
		name         string
		args         []string
		env          string
		wantSeconds  [3]string // DurationSeconds of the three hops
		wantWarning  bool
		wantSessions string
	}{
		{name: "flag", args: []string{"--role-chain", loginChainRole2 + "," + loginChainRole3}},
		{name: "repeated flag", args: []string{"--role-chain", loginChainRole2, "--role-chain", loginChainRole3}},
		{name: "environment", env: loginChainRole2 + "," + loginChainRole3},
		{name: "flag over environment", args: []string{"--role-chain", loginChainRole2 + "," + loginChainRole3}, env: "arn:aws:iam::333333333333:role/other"},
		{name: "30m for every hop", args: []string{"--role-chain", loginChainRole2 + "," + loginChainRole3, "--duration", "30m"}, wantSeconds: [3]string{"1800", "1800", "1800"}},
		{name: "2h clamped for chained hops", args: []string{"--role-chain", loginChainRole2 + "," + loginChainRole3, "--duration", "2h"}, wantSeconds: [3]string{"7200", "3600", "3600"}, wantWarning: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			loginCleanEnv(t)
			st := newLoginSTSStub(t)
			t.Setenv("MY_TOKEN", loginTestToken)
			t.Setenv("KEYLESS_ROLE_CHAIN", tc.env)
			args := append([]string{"login", "--role-arn", loginTestRole, "--token-env", "MY_TOKEN", "--sts-endpoint", st.srv.URL,
				"--session-name", "chain", "--format", "json"}, tc.args...)
			code, out, errOut := loginRun(t, "", args...)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, errOut)
			}
			var got map[string]string
			if err := json.Unmarshal([]byte(out), &got); err != nil {
				t.Fatalf("%v:\n%s", err, out)
			}
			// The stub numbers the keys it issues: the third are the last hop's.
			if got["AccessKeyId"] != "ASIASTUB000000000003" || got["SecretAccessKey"] != "SECRETASIASTUB000000000003" {
				t.Errorf("printed keys %s: want the last hop's, ASIASTUB000000000003", got["AccessKeyId"])
			}
			first := st.requests()
			chained := st.chainRequests()
			if len(first) != 1 || len(chained) != 2 {
				t.Fatalf("%d AssumeRoleWithWebIdentity and %d AssumeRole calls, want 1 and 2", len(first), len(chained))
			}
			want := []struct{ caller, role string }{
				{"arn:aws:sts::000000000000:assumed-role/deploy/chain", loginChainRole2},
				{"arn:aws:sts::111111111111:assumed-role/hop-two/chain", loginChainRole3},
			}
			for i, w := range want {
				if c := chained[i]; c["Caller"] != w.caller || c["RoleArn"] != w.role || c["RoleSessionName"] != "chain" {
					t.Errorf("AssumeRole %d: %s as %s (session %s), want %s as %s (session chain)", i+1, c["RoleArn"], c["Caller"], c["RoleSessionName"], w.role, w.caller)
				}
			}
			if gotSeconds := [3]string{first[0]["DurationSeconds"], chained[0]["DurationSeconds"], chained[1]["DurationSeconds"]}; gotSeconds != tc.wantSeconds {
				t.Errorf("DurationSeconds of the hops %q, want %q", gotSeconds, tc.wantSeconds)
			}
			warned := strings.Contains(errOut, "at most 1h")
			if warned != tc.wantWarning {
				t.Errorf("warning on stderr %t, want %t:\n%s", warned, tc.wantWarning, errOut)
			}
			if strings.Contains(errOut, "SECRET") || strings.Contains(errOut, loginTestToken) {
				t.Errorf("stderr shows a secret")
			}
		})
	}
}

func TestLoginRoleChainHopDenied(t *testing.T) {
	loginCleanEnv(t)
	st := newLoginSTSStub(t)
	st.denyRoles[loginChainRole3] = true
	t.Setenv("MY_TOKEN", loginTestToken)
	code, out, errOut := loginRun(t, "", "login", "--role-arn", loginTestRole, "--token-env", "MY_TOKEN", "--sts-endpoint", st.srv.URL,
		"--role-chain", loginChainRole2+","+loginChainRole3)
	if code != 1 || out != "" {
		t.Errorf("exit %d, stdout %q: want exit 1 and no credentials", code, out)
	}
	for _, want := range []string{
		"keyless: role chain hop 3 (" + loginChainRole3 + "): AccessDenied: User: arn:aws:sts::111111111111:assumed-role/hop-two/",
		"hint: the trust policy of " + loginChainRole3 + " must allow sts:AssumeRole for " + loginChainRole2,
	} {
		if !strings.Contains(errOut, want) {
			t.Errorf("stderr lacks %q:\n%s", want, errOut)
		}
	}
	if n := len(st.chainRequests()); n != 2 {
		t.Errorf("%d AssumeRole calls, want 2 (no retry of a denial)", n)
	}
}

// TestLoginRejectsBadRoleChainAndOutput: usage errors name what is wrong, before any
// request to STS.
func TestLoginRejectsBadRoleChainAndOutput(t *testing.T) {
	tests := []struct {
		name string
		args []string
		env  string
		want string
	}{
		{"not an ARN", []string{"--role-chain", loginChainRole2 + ",deploy"}, "", `--role-chain: "deploy" is not an IAM role ARN`},
		{"user ARN", []string{"--role-chain", "arn:aws:iam::111111111111:user/ci"}, "", `"arn:aws:iam::111111111111:user/ci" is not an IAM role ARN`},
		{"environment", nil, "arn:aws:s3:::bucket", `KEYLESS_ROLE_CHAIN: "arn:aws:s3:::bucket" is not an IAM role ARN`},
		{"account not allowed", []string{"--role-chain", loginChainRole3, "--allowed-account-ids", "000000000000"}, "", "role " + loginChainRole3 + " is in account 222222222222"},
		{"--format and --output disagree", []string{"--format", "env", "--output", "json"}, "", "--format env and --output json disagree"},
		{"--output unknown", []string{"--output", "yaml"}, "", `unknown format "yaml"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			loginCleanEnv(t)
			st := newLoginSTSStub(t)
			t.Setenv("MY_TOKEN", loginTestToken)
			t.Setenv("KEYLESS_ROLE_CHAIN", tc.env)
			args := append([]string{"login", "--role-arn", loginTestRole, "--token-env", "MY_TOKEN", "--sts-endpoint", st.srv.URL}, tc.args...)
			code, out, errOut := loginRun(t, "", args...)
			if code != 1 || out != "" || !strings.Contains(errOut, tc.want) {
				t.Errorf("exit %d, stdout %q, stderr %q; want exit 1 and %q", code, out, errOut, tc.want)
			}
			if n := len(st.requests()) + len(st.chainRequests()); n != 0 {
				t.Errorf("%d requests reached STS, want none", n)
			}
		})
	}
}

func TestLoginOutputIsFormat(t *testing.T) {
	for _, args := range [][]string{
		{"--output", "json"},
		{"--format", "json", "--output", "json"},
	} {
		loginCleanEnv(t)
		st := newLoginSTSStub(t)
		t.Setenv("MY_TOKEN", loginTestToken)
		code, out, errOut := loginRun(t, "", append([]string{"login", "--role-arn", loginTestRole, "--token-env", "MY_TOKEN", "--sts-endpoint", st.srv.URL}, args...)...)
		var got map[string]string
		if err := json.Unmarshal([]byte(out), &got); code != 0 || err != nil || got["AccessKeyId"] != "ASIASTUB000000000001" {
			t.Errorf("%v: exit %d, stdout %q (%v), stderr %q: want the JSON credentials", args, code, out, err, errOut)
		}
	}
}

// TestLoginRoleChainAWSProfile: the profiles written for a chain are followed by
// aws-sdk-go-v2 by itself (keyless whoami with AWS_PROFILE), through the STS endpoint
// the profiles name.
func TestLoginRoleChainAWSProfile(t *testing.T) {
	loginCleanEnv(t)
	st := newLoginSTSStub(t)
	t.Setenv("MY_TOKEN", loginTestToken)
	code, out, errOut := loginRun(t, "", "login", "--role-arn", loginTestRole, "--token-env", "MY_TOKEN", "--sts-endpoint", st.srv.URL,
		"--session-name", "chain", "--region", "eu-west-1", "--role-chain", loginChainRole2+","+loginChainRole3,
		"--output", "aws-profile", "--profile", "ci")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	cfg, _ := os.ReadFile(os.Getenv("AWS_CONFIG_FILE"))
	for _, want := range []string{
		"[profile ci-hop1]\nregion = eu-west-1\n",
		"[profile ci-hop2]\nregion = eu-west-1\nrole_arn = " + loginChainRole2 + "\nrole_session_name = chain\nservices = keyless-ci\nsource_profile = ci-hop1\n",
		"[profile ci]\nregion = eu-west-1\nrole_arn = " + loginChainRole3 + "\nrole_session_name = chain\nservices = keyless-ci\nsource_profile = ci-hop2\n",
		"[services keyless-ci]\nsts =\n  endpoint_url = " + st.srv.URL + "\n",
	} {
		if !strings.Contains(string(cfg), want) {
			t.Errorf("config lacks %q:\n%s", want, cfg)
		}
	}
	if !strings.Contains(out, "export AWS_PROFILE=ci\n") || strings.Contains(out, "SECRET") {
		t.Errorf("summary %q: want the profile to use and no secret", out)
	}

	t.Setenv("AWS_PROFILE", "ci")
	code, out, errOut = loginRun(t, "", "whoami", "--output", "json")
	if code != 0 {
		t.Fatalf("whoami exit %d: %s", code, errOut)
	}
	var id map[string]string
	if err := json.Unmarshal([]byte(out), &id); err != nil || id["Arn"] != "arn:aws:sts::222222222222:assumed-role/deploy/chain" {
		t.Errorf("whoami with AWS_PROFILE=ci: %s (%v); want the deploy role's session", out, err)
	}
}
