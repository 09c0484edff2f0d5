package e2e

// End-to-end tests of the pipeline side of keyless — login, exec, whoami, token
// inspect, explain and demo — run as the built binary in simulated Bitbucket, GitHub
// Actions and GitLab step environments against a running `keyless up`, with the
// machine's AWS CLI as the consumer of the credentials.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"

	"github.com/keyless-dev/keyless/internal/testenv"
)

// stepEnv is cleanEnv without any CI variables of the machine running the tests (so
// that CI detection sees only the simulated step), with an isolated HOME and AWS
// config, AWS pointed at the keyless up endpoint, plus extra.
func stepEnv(t *testing.T, endpoint string, extra ...string) []string {
	t.Helper()
	var env []string
	for _, kv := range cleanEnv() {
		k, _, _ := strings.Cut(kv, "=")
		switch {
		case k == "CI", k == "HOME",
			strings.HasPrefix(k, "GITHUB_"), strings.HasPrefix(k, "ACTIONS_"),
			strings.HasPrefix(k, "GITLAB_"), strings.HasPrefix(k, "CI_"):
			continue
		}
		env = append(env, kv)
	}
	home := t.TempDir()
	env = append(env,
		"HOME="+home,
		"AWS_CONFIG_FILE="+filepath.Join(home, "aws-config"),
		"AWS_SHARED_CREDENTIALS_FILE="+filepath.Join(home, "aws-credentials"),
		"AWS_REGION=us-east-1", "AWS_DEFAULT_REGION=us-east-1",
		"AWS_ENDPOINT_URL="+endpoint,
		"AWS_ENDPOINT_URL_STS="+endpoint,
		"CI=true",
	)
	return append(env, extra...)
}

// bitbucketStep is the environment of a Bitbucket Pipelines step of repository slug in
// the default workspace, build 42, with the pipes' AWS_OIDC_ROLE_ARN. An empty token
// is a step without `oidc: true`.
func bitbucketStep(t *testing.T, f *federation, endpoint, slug, token, roleARN string) []string {
	t.Helper()
	extra := []string{
		"BITBUCKET_BUILD_NUMBER=42",
		"BITBUCKET_REPO_SLUG=" + slug,
		"BITBUCKET_WORKSPACE=" + f.p.env["KEYLESS_WORKSPACE"],
		"BITBUCKET_STEP_UUID={7c3ad5a8-0000-4000-8000-000000000042}",
		"AWS_OIDC_ROLE_ARN=" + roleARN,
	}
	if token != "" {
		extra = append(extra, "BITBUCKET_STEP_OIDC_TOKEN="+token)
	}
	return stepEnv(t, endpoint, extra...)
}

// runIn runs name with env in dir (the test's working directory when empty) and
// returns stdout, stderr and the exit status.
func runIn(t *testing.T, env []string, dir, name string, args ...string) (string, string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env, cmd.Dir = env, dir
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	if err != nil {
		ee, ok := err.(*exec.ExitError)
		if !ok {
			t.Fatalf("run %s %v: %v", name, args, err)
		}
		code = ee.ExitCode()
	}
	return stdout.String(), stderr.String(), code
}

// parseIdentity parses the JSON of `aws sts get-caller-identity` or `keyless whoami
// --output json`.
func parseIdentity(t *testing.T, what, out string) identity {
	t.Helper()
	var id identity
	if err := json.Unmarshal([]byte(out), &id); err != nil {
		t.Fatalf("%s printed %q, not the caller identity JSON: %v", what, out, err)
	}
	return id
}

// assumedRole is the ARN GetCallerIdentity returns for a session of role.
func assumedRole(f *federation, role, session string) string {
	return "arn:aws:sts::" + f.account + ":assumed-role/" + role[strings.LastIndex(role, "/")+1:] + "/" + session
}

func checkIdentity(t *testing.T, f *federation, what string, id identity, wantArn string) {
	t.Helper()
	if id.Arn != wantArn || id.Account != f.account || !strings.HasPrefix(id.UserId, "AROA") || !strings.HasSuffix(id.UserId, ":"+wantArn[strings.LastIndex(wantArn, "/")+1:]) {
		t.Errorf("%s: identity %+v, want Arn %s in account %s with UserId AROA…:<session>", what, id, wantArn, f.account)
	}
}

// noSecrets fails when any of secrets appears in the text a user sees in logs.
func noSecrets(t *testing.T, where, text string, secrets ...string) {
	t.Helper()
	for _, s := range secrets {
		if s != "" && strings.Contains(text, s) {
			t.Errorf("%s shows a secret (%d characters; output withheld so the test log does not repeat it)", where, len(s))
		}
	}
}

// stsCredentials is `keyless login --format json`: STS's Credentials field names.
type stsCredentials struct {
	AccessKeyID     string `json:"AccessKeyId"`
	SecretAccessKey string `json:"SecretAccessKey"`
	SessionToken    string `json:"SessionToken"`
	Expiration      string `json:"Expiration"`
	Version         int    `json:"Version"`
}

func parseCredentials(t *testing.T, what, out string) stsCredentials {
	t.Helper()
	var c stsCredentials
	if err := json.Unmarshal([]byte(out), &c); err != nil {
		t.Fatalf("%s printed %q: %v", what, out, err)
	}
	exp, err := time.Parse(time.RFC3339, c.Expiration)
	if !strings.HasPrefix(c.AccessKeyID, "ASIA") || c.SecretAccessKey == "" || c.SessionToken == "" || err != nil ||
		!exp.After(time.Now().Add(10*time.Minute)) || exp.After(time.Now().Add(13*time.Hour)) {
		t.Errorf("%s: credentials %q / secret %t / session token %t / expiration %q (%v): want ASIA… keys expiring within the session", what, c.AccessKeyID, c.SecretAccessKey != "", c.SessionToken != "", c.Expiration, err)
	}
	return c
}

// countingProxy forwards to target on a loopback address and counts the requests.
func countingProxy(t *testing.T, target string) (string, *atomic.Int32) {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	var n atomic.Int32
	rp := httputil.NewSingleHostReverseProxy(u)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv.URL, &n
}

func TestClientBitbucketStep(t *testing.T) {
	t.Parallel()
	f := newFederation(t)
	endpoint := f.p.env["KEYLESS_ENDPOINT"]
	web := mintJSON(t, f.p.env, "--repository", "web", "--environment", "production").Token
	api := mintJSON(t, f.p.env, "--repository", "api", "--environment", "production").Token
	wantArn := assumedRole(f, f.envRole, "bitbucket-web-42")

	t.Run("login --format json prints STS's Credentials and logs no secret", func(t *testing.T) {
		env := bitbucketStep(t, f, endpoint, "web", web, f.envRole)
		out, errOut, code := run(t, env, "login", "--format", "json", "--log-level", "debug")
		if code != 0 {
			t.Fatalf("keyless login exit %d\nstderr: %s", code, errOut)
		}
		c := parseCredentials(t, "keyless login --format json", out)
		for _, k := range []string{`"AccessKeyId"`, `"SecretAccessKey"`, `"SessionToken"`, `"Expiration"`} {
			if !strings.Contains(out, k) {
				t.Errorf("keyless login --format json lacks %s:\n%s", k, out)
			}
		}
		noSecrets(t, "stderr of keyless login --log-level debug", errOut, web, c.SecretAccessKey, c.SessionToken)
	})

	t.Run("login --format env sourced by the AWS CLI", func(t *testing.T) {
		testenv.LookPath(t, "aws")
		env := bitbucketStep(t, f, endpoint, "web", web, f.envRole)
		out, errOut, code := run(t, env, "login", "--format", "env")
		if code != 0 {
			t.Fatalf("keyless login exit %d\nstderr: %s", code, errOut)
		}
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "creds"), []byte(out), 0o600); err != nil {
			t.Fatal(err)
		}
		cliOut, cliErr, code := runIn(t, env, dir, "sh", "-c", ". ./creds; aws sts get-caller-identity --output json")
		if code != 0 {
			t.Fatalf("aws sts get-caller-identity with the sourced credentials: exit %d\n%s", code, cliErr)
		}
		checkIdentity(t, f, "aws sts get-caller-identity", parseIdentity(t, "aws sts get-caller-identity", cliOut), wantArn)

		// keyless whoami reads the same sourced variables.
		whoOut, whoErr, code := runIn(t, env, dir, "sh", "-c", ". ./creds; exec \"$0\" whoami --output json", keylessBin)
		if code != 0 {
			t.Fatalf("keyless whoami with the sourced credentials: exit %d\n%s", code, whoErr)
		}
		checkIdentity(t, f, "keyless whoami --output json", parseIdentity(t, "keyless whoami", whoOut), wantArn)
		whoText, whoErr, code := runIn(t, env, dir, "sh", "-c", ". ./creds; exec \"$0\" whoami", keylessBin)
		for _, want := range []string{"Account  " + f.account + "\n", "Arn      " + wantArn + "\n", "UserId   AROA"} {
			if code != 0 || !strings.Contains(whoText, want) {
				t.Errorf("keyless whoami: exit %d, want %q in:\n%s%s", code, want, whoText, whoErr)
			}
		}
	})

	t.Run("session name from a slug STS would refuse is sanitized", func(t *testing.T) {
		slug := "Web App/ü" + strings.Repeat("x", 80)
		env := bitbucketStep(t, f, endpoint, slug, web, f.envRole)
		out, errOut, code := run(t, env, "exec", "--", keylessBin, "whoami", "--output", "json")
		if code != 0 {
			t.Fatalf("keyless exec -- keyless whoami: exit %d\nstderr: %s", code, errOut)
		}
		id := parseIdentity(t, "keyless whoami", out)
		session := id.Arn[strings.LastIndex(id.Arn, "/")+1:]
		if !regexp.MustCompile(`^bitbucket-Web-App-[\w+=,.@-]*$`).MatchString(session) || len(session) > 64 ||
			!strings.HasPrefix(id.Arn, assumedRole(f, f.envRole, "")) {
			t.Errorf("assumed role %s: want session bitbucket-Web-App-… of [\\w+=,.@-], at most 64 characters", id.Arn)
		}
	})

	failures := []struct {
		name, slug, token string
		wantStderr        []string
	}{
		{"step without oidc: true", "web", "", []string{"BITBUCKET_STEP_OIDC_TOKEN", "`oidc: true`", "bitbucket-pipelines.yml"}},
		{"step of another repository", "api", api, []string{"AccessDenied", "keyless explain --role-arn " + f.envRole}},
	}
	for _, tc := range failures {
		t.Run("login fails: "+tc.name, func(t *testing.T) {
			proxy, requests := countingProxy(t, endpoint)
			env := bitbucketStep(t, f, proxy, tc.slug, tc.token, f.envRole)
			start := time.Now()
			out, errOut, code := run(t, env, "login", "--format", "env")
			elapsed := time.Since(start)
			if code != 1 || out != "" {
				t.Errorf("exit %d, stdout %q; want exit 1 and nothing on stdout", code, out)
			}
			for _, want := range tc.wantStderr {
				if !strings.Contains(errOut, want) {
					t.Errorf("stderr lacks %q:\n%s", want, errOut)
				}
			}
			noSecrets(t, "stderr", errOut, web, api)
			wantRequests := int32(0)
			if tc.token != "" {
				wantRequests = 1 // one AssumeRoleWithWebIdentity, no retry
			}
			if got := requests.Load(); got != wantRequests {
				t.Errorf("%d requests reached STS, want %d", got, wantRequests)
			}
			if elapsed > time.Second {
				t.Errorf("failing took %v, want well under a second", elapsed)
			}
		})
	}
}

// githubTokenEndpoint stands in for ACTIONS_ID_TOKEN_REQUEST_URL: it checks the
// request token and answers {"value": <token minted for the requested audience>}.
type githubTokenEndpoint struct {
	url          string
	requestToken string
	mu           sync.Mutex
	audiences    []string
}

func newGitHubTokenEndpoint(t *testing.T, f *federation) *githubTokenEndpoint {
	t.Helper()
	g := &githubTokenEndpoint{requestToken: "ghs_request_" + fmt.Sprint(time.Now().UnixNano())}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet || r.Header.Get("Authorization") != "bearer "+g.requestToken {
			http.Error(w, `{"message":"bad credentials"}`, http.StatusUnauthorized)
			return
		}
		q := r.URL.Query()
		aud := q.Get("audience")
		if aud == "" || q.Get("api-version") != "2.0" {
			http.Error(w, `{"message":"audience and api-version=2.0 are required"}`, http.StatusBadRequest)
			return
		}
		g.mu.Lock()
		g.audiences = append(g.audiences, aud)
		g.mu.Unlock()
		cmd := exec.Command(keylessBin, "token", "mint", "--repository", "web", "--branch", "main", "--audience", aud)
		cmd.Env = withEnv(f.p.env)
		tok, err := cmd.Output()
		if err != nil {
			http.Error(w, "mint: "+err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]string{"value": strings.TrimSpace(string(tok))})
	}))
	t.Cleanup(srv.Close)
	g.url = srv.URL + "/_apis/distributedtask/hubs/Actions/plans/1/jobs/2/idtoken?api-version=2.0"
	return g
}

func (g *githubTokenEndpoint) requested() []string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]string(nil), g.audiences...)
}

// readGitHubEnv parses the KEY=value lines of a $GITHUB_ENV file.
func readGitHubEnv(t *testing.T, path string) ([]string, map[string]string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	vars := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		lines = append(lines, sc.Text())
		if k, v, ok := strings.Cut(sc.Text(), "="); ok {
			vars[k] = v
		}
	}
	return lines, vars
}

func TestClientGitHubActionsStep(t *testing.T) {
	t.Parallel()
	f := newFederation(t)
	endpoint := f.p.env["KEYLESS_ENDPOINT"]
	ctx := context.Background()

	// GitHub's default audience is sts.amazonaws.com: add it to the provider, as the
	// GitHub guides do, and create a role admitting it for repository web.
	if _, err := f.rootIAM.AddClientIDToOpenIDConnectProvider(ctx, &iam.AddClientIDToOpenIDConnectProviderInput{
		OpenIDConnectProviderArn: aws.String(f.providerARN), ClientID: aws.String("sts.amazonaws.com"),
	}); err != nil {
		t.Fatalf("AddClientIDToOpenIDConnectProvider: %v", err)
	}
	r, err := f.rootIAM.CreateRole(ctx, &iam.CreateRoleInput{
		RoleName: aws.String("GitHubDeploy"),
		AssumeRolePolicyDocument: aws.String(trustPolicy(f.providerARN, f.providerURL, map[string]any{
			"StringEquals": map[string]any{f.providerURL + ":aud": "sts.amazonaws.com"},
			"StringLike":   map[string]any{f.providerURL + ":sub": f.webRepoUUID + ":*"},
		})),
	})
	if err != nil {
		t.Fatalf("CreateRole: %v", err)
	}
	githubRole := aws.ToString(r.Role.Arn)
	gh := newGitHubTokenEndpoint(t, f)
	githubStep := func(t *testing.T, requestToken string, extra ...string) ([]string, string) {
		githubEnv := filepath.Join(t.TempDir(), "github_env")
		if err := os.WriteFile(githubEnv, []byte("EARLIER_STEP=kept\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		return stepEnv(t, endpoint, append([]string{
			"GITHUB_ACTIONS=true",
			"GITHUB_REPOSITORY=acme/web",
			"GITHUB_RUN_ID=9001",
			"GITHUB_RUN_ATTEMPT=2",
			"GITHUB_ENV=" + githubEnv,
			"ACTIONS_ID_TOKEN_REQUEST_URL=" + gh.url,
			"ACTIONS_ID_TOKEN_REQUEST_TOKEN=" + requestToken,
		}, extra...)...), githubEnv
	}

	cases := []struct {
		name, role, audience string
		args                 []string
	}{
		{"default audience sts.amazonaws.com", githubRole, "sts.amazonaws.com", nil},
		{"--audience of the workspace", f.repoRole, f.audience, []string{"--audience", f.audience}},
	}
	for _, tc := range cases {
		t.Run("login --format github-env, "+tc.name, func(t *testing.T) {
			env, githubEnv := githubStep(t, gh.requestToken)
			before := len(gh.requested())
			out, errOut, code := run(t, env, append([]string{"login", "--role-arn", tc.role, "--format", "github-env"}, tc.args...)...)
			if code != 0 {
				t.Fatalf("keyless login exit %d\nstderr: %s", code, errOut)
			}
			if got := gh.requested()[before:]; len(got) != 1 || got[0] != tc.audience {
				t.Errorf("token endpoint was asked for audiences %q, want [%q]", got, tc.audience)
			}
			lines, vars := readGitHubEnv(t, githubEnv)
			if len(lines) == 0 || lines[0] != "EARLIER_STEP=kept" {
				t.Errorf("$GITHUB_ENV was not appended to: %q", lines)
			}
			if !strings.HasPrefix(vars["AWS_ACCESS_KEY_ID"], "ASIA") || vars["AWS_SECRET_ACCESS_KEY"] == "" || vars["AWS_SESSION_TOKEN"] == "" {
				t.Fatalf("$GITHUB_ENV lacks the AWS credentials: %q", lines)
			}
			if _, err := time.Parse(time.RFC3339, vars["AWS_CREDENTIAL_EXPIRATION"]); err != nil {
				t.Errorf("AWS_CREDENTIAL_EXPIRATION=%q: %v", vars["AWS_CREDENTIAL_EXPIRATION"], err)
			}
			wantMasks := "::add-mask::" + vars["AWS_SECRET_ACCESS_KEY"] + "\n::add-mask::" + vars["AWS_SESSION_TOKEN"] + "\n"
			if out != wantMasks {
				t.Errorf("stdout = %q, want exactly the ::add-mask:: lines of the secret and the session token", out)
			}
			noSecrets(t, "stderr", errOut, vars["AWS_SECRET_ACCESS_KEY"], vars["AWS_SESSION_TOKEN"], gh.requestToken)

			// A later step of the job gets $GITHUB_ENV's variables; the AWS CLI uses them.
			next, _ := githubStep(t, "")
			next = append(next, lines...)
			testenv.LookPath(t, "aws")
			cliOut, cliErr, code := runIn(t, next, "", "aws", "sts", "get-caller-identity", "--output", "json")
			if code != 0 {
				t.Fatalf("aws sts get-caller-identity with $GITHUB_ENV's credentials: exit %d\n%s", code, cliErr)
			}
			checkIdentity(t, f, "aws sts get-caller-identity", parseIdentity(t, "aws sts get-caller-identity", cliOut), assumedRole(f, tc.role, "github-9001-2"))
		})
	}

	t.Run("login fails: wrong ACTIONS_ID_TOKEN_REQUEST_TOKEN", func(t *testing.T) {
		env, githubEnv := githubStep(t, "not-the-request-token")
		out, errOut, code := run(t, env, "login", "--role-arn", githubRole, "--format", "github-env")
		if code != 1 || out != "" || !strings.Contains(errOut, "GitHub ID token") || !strings.Contains(errOut, "401") {
			t.Errorf("exit %d, stdout %q, stderr %q; want exit 1 saying the GitHub ID token request got 401", code, out, errOut)
		}
		noSecrets(t, "stderr", errOut, "not-the-request-token")
		if lines, _ := readGitHubEnv(t, githubEnv); len(lines) != 1 {
			t.Errorf("a failed login changed $GITHUB_ENV: %q", lines)
		}
	})
	t.Run("login fails: job without id-token: write", func(t *testing.T) {
		env := stepEnv(t, endpoint, "GITHUB_ACTIONS=true", "GITHUB_RUN_ID=9001")
		out, errOut, code := run(t, env, "login", "--role-arn", githubRole)
		if code != 1 || out != "" || !strings.Contains(errOut, "id-token: write") {
			t.Errorf("exit %d, stdout %q, stderr %q; want exit 1 advising `permissions: id-token: write`", code, out, errOut)
		}
	})
}

func TestClientGitLabJob(t *testing.T) {
	t.Parallel()
	f := newFederation(t)
	endpoint := f.p.env["KEYLESS_ENDPOINT"]
	token := mintJSON(t, f.p.env, "--repository", "web", "--environment", "production").Token
	job := func(t *testing.T, extra ...string) []string {
		return stepEnv(t, endpoint, append([]string{
			"GITLAB_CI=true", "CI_JOB_ID=77001", "CI_PIPELINE_ID=5150", "CI_PROJECT_PATH=acme/web",
		}, extra...)...)
	}
	wantArn := assumedRole(f, f.envRole, "gitlab-77001")

	t.Run("login --format credential-process", func(t *testing.T) {
		out, errOut, code := run(t, job(t, "AWS_ID_TOKEN="+token), "login", "--token-env", "AWS_ID_TOKEN", "--role-arn", f.envRole, "--format", "credential-process")
		if code != 0 {
			t.Fatalf("keyless login exit %d\nstderr: %s", code, errOut)
		}
		c := parseCredentials(t, "keyless login --format credential-process", out)
		if c.Version != 1 {
			t.Errorf("Version = %d, want 1:\n%s", c.Version, out)
		}
		noSecrets(t, "stderr", errOut, token, c.SecretAccessKey, c.SessionToken)
	})

	t.Run("AWS CLI profile with credential_process", func(t *testing.T) {
		testenv.LookPath(t, "aws")
		env := job(t, "AWS_ID_TOKEN="+token)
		var cfgPath string
		for _, kv := range env {
			if v, ok := strings.CutPrefix(kv, "AWS_CONFIG_FILE="); ok {
				cfgPath = v
			}
		}
		cfg := fmt.Sprintf("[profile p]\nregion = us-east-1\ncredential_process = %s login --token-env AWS_ID_TOKEN --role-arn %s --format credential-process\n", keylessBin, f.envRole)
		if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
			t.Fatal(err)
		}
		out, errOut, code := runIn(t, env, "", "aws", "sts", "get-caller-identity", "--profile", "p", "--output", "json")
		if code != 0 {
			t.Fatalf("aws sts get-caller-identity --profile p: exit %d\n%s", code, errOut)
		}
		checkIdentity(t, f, "aws sts get-caller-identity --profile p", parseIdentity(t, "aws sts get-caller-identity", out), wantArn)
	})

	t.Run("login fails: job without id_tokens", func(t *testing.T) {
		for _, args := range [][]string{
			{"login", "--role-arn", f.envRole},
			{"login", "--role-arn", f.envRole, "--token-env", "AWS_ID_TOKEN"},
		} {
			out, errOut, code := run(t, job(t), args...)
			if code != 1 || out != "" || !strings.Contains(errOut, "id_tokens") || !strings.Contains(errOut, "AWS_ID_TOKEN") {
				t.Errorf("keyless %v: exit %d, stdout %q, stderr %q; want exit 1 advising an id_tokens entry AWS_ID_TOKEN", args, code, out, errOut)
			}
		}
	})
}

func TestExecBitbucketStep(t *testing.T) {
	t.Parallel()
	f := newFederation(t)
	endpoint := f.p.env["KEYLESS_ENDPOINT"]
	web := mintJSON(t, f.p.env, "--repository", "web", "--environment", "production").Token
	api := mintJSON(t, f.p.env, "--repository", "api").Token
	wantArn := assumedRole(f, f.envRole, "bitbucket-web-42")

	t.Run("aws sts get-caller-identity", func(t *testing.T) {
		testenv.LookPath(t, "aws")
		// Static keys in the step must not win over the served credentials.
		env := append(bitbucketStep(t, f, endpoint, "web", web, f.envRole), "AWS_ACCESS_KEY_ID=AKIASTALESTATICKEY00", "AWS_SECRET_ACCESS_KEY=stale")
		out, errOut, code := run(t, env, "exec", "--role-arn", f.envRole, "--", "aws", "sts", "get-caller-identity", "--output", "json")
		if code != 0 {
			t.Fatalf("keyless exec -- aws sts get-caller-identity: exit %d\nstderr: %s", code, errOut)
		}
		checkIdentity(t, f, "aws sts get-caller-identity inside keyless exec", parseIdentity(t, "aws sts get-caller-identity", out), wantArn)
		noSecrets(t, "stderr", errOut, web)
	})

	t.Run("keyless whoami through the container endpoint", func(t *testing.T) {
		env := bitbucketStep(t, f, endpoint, "web", web, f.envRole)
		out, errOut, code := run(t, env, "exec", "--role-arn", f.envRole, "--", keylessBin, "whoami", "--output", "json")
		if code != 0 {
			t.Fatalf("keyless exec -- keyless whoami: exit %d\nstderr: %s", code, errOut)
		}
		checkIdentity(t, f, "keyless whoami inside keyless exec", parseIdentity(t, "keyless whoami", out), wantArn)
	})

	t.Run("child sees the container endpoint and no web identity variables", func(t *testing.T) {
		env := append(bitbucketStep(t, f, endpoint, "web", web, f.envRole), "AWS_ROLE_ARN="+f.envRole, "AWS_WEB_IDENTITY_TOKEN_FILE=/nonexistent")
		out, errOut, code := run(t, env, "exec", "--", "sh", "-c",
			`echo "uri=$AWS_CONTAINER_CREDENTIALS_FULL_URI"; echo "auth=${#AWS_CONTAINER_AUTHORIZATION_TOKEN}"; echo "role=${AWS_ROLE_ARN-unset}"; echo "file=${AWS_WEB_IDENTITY_TOKEN_FILE-unset}"`)
		if code != 0 {
			t.Fatalf("exit %d\nstderr: %s", code, errOut)
		}
		if !regexp.MustCompile(`(?m)^uri=http://127\.0\.0\.1:\d+/\S+$`).MatchString(out) || strings.Contains(out, "auth=0\n") ||
			!strings.Contains(out, "role=unset\n") || !strings.Contains(out, "file=unset\n") {
			t.Errorf("child environment:\n%s\nwant a loopback AWS_CONTAINER_CREDENTIALS_FULL_URI, an authorization token and no AWS_ROLE_ARN/AWS_WEB_IDENTITY_TOKEN_FILE", out)
		}
	})

	exits := []struct {
		name     string
		token    string
		slug     string
		cmd      []string
		wantCode int
		stderr   string
	}{
		{"exit status passes through", web, "web", []string{"sh", "-c", "exit 7"}, 7, ""},
		{"signal death is 128+N", web, "web", []string{"sh", "-c", "kill -TERM $$"}, 128 + 15, ""},
		{"command not found", web, "web", []string{"keyless-no-such-command"}, 127, "keyless-no-such-command"},
		{"denied step never runs the command", api, "api", []string{"sh", "-c", "echo ran"}, 1, "AccessDenied"},
	}
	for _, tc := range exits {
		t.Run(tc.name, func(t *testing.T) {
			env := bitbucketStep(t, f, endpoint, tc.slug, tc.token, f.envRole)
			out, errOut, code := run(t, env, append([]string{"exec", "--role-arn", f.envRole, "--"}, tc.cmd...)...)
			if code != tc.wantCode || !strings.Contains(errOut, tc.stderr) {
				t.Errorf("keyless exec -- %v: exit %d, stderr %q; want exit %d and %q", tc.cmd, code, errOut, tc.wantCode, tc.stderr)
			}
			if strings.Contains(out, "ran") {
				t.Errorf("the command ran for a denied step: %q", out)
			}
			noSecrets(t, "stderr", errOut, web, api)
		})
	}
}

func TestInspectMintedToken(t *testing.T) {
	t.Parallel()
	p := startUp(t, t.TempDir())
	m := mintJSON(t, p.env, "--repository", "web", "--environment", "production")
	tok := m.Token
	issuer := strings.TrimPrefix(p.env["KEYLESS_ISSUER"], "https://")
	subLine := "  " + issuer + ":sub = " + m.Claims["sub"].(string) + "\n"
	if !regexp.MustCompile(`^\{[0-9a-f-]{36}\}:\{[0-9a-f-]{36}\}:\{[0-9a-f-]{36}\}$`).MatchString(m.Claims["sub"].(string)) {
		t.Fatalf("sub %q is not {repo}:{env}:{step}", m.Claims["sub"])
	}
	// The signature alone must not appear either.
	sig := tok[strings.LastIndex(tok, ".")+1:]
	env := withEnv(p.env, "HOME="+t.TempDir())

	cases := []struct {
		name  string
		args  []string
		env   []string
		stdin string
		want  []string
	}{
		{"token argument", []string{tok}, env, "", []string{subLine, "Header:\n", `"RS256"`, "exp:"}},
		{"token argument --verify", []string{tok, "--verify"}, env, "", []string{subLine, "Signature: ok\n"}},
		{"stdin --verify", []string{"-", "--verify"}, env, tok + "\n", []string{subLine, "Signature: ok\n"}},
		{"BITBUCKET_STEP_OIDC_TOKEN", nil, append(env, "BITBUCKET_STEP_OIDC_TOKEN="+tok), "", []string{subLine}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cmd := exec.Command(keylessBin, append([]string{"token", "inspect"}, tc.args...)...)
			cmd.Env, cmd.Stdin = tc.env, strings.NewReader(tc.stdin)
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			if err := cmd.Run(); err != nil {
				t.Fatalf("keyless token inspect: %v\nstderr: %s", err, stderr.String())
			}
			for _, want := range tc.want {
				if !strings.Contains(stdout.String(), want) {
					t.Errorf("output lacks %q:\n%s", want, stdout.String())
				}
			}
			noSecrets(t, "keyless token inspect output", stdout.String()+stderr.String(), tok, sig)
		})
	}

	t.Run("--output json", func(t *testing.T) {
		out, errOut, code := run(t, env, "token", "inspect", tok, "--verify", "--output", "json")
		var in struct {
			Claims        map[string]any      `json:"claims"`
			ConditionKeys map[string][]string `json:"conditionKeys"`
			Verified      string              `json:"verified"`
		}
		if code != 0 || json.Unmarshal([]byte(out), &in) != nil {
			t.Fatalf("exit %d, output %q, stderr %q", code, out, errOut)
		}
		if got := in.ConditionKeys[issuer+":sub"]; len(got) != 1 || got[0] != m.Claims["sub"] || in.Verified != "ok" || in.Claims["repositoryUuid"] != m.Claims["repositoryUuid"] {
			t.Errorf("conditionKeys %v, verified %q, claims %v", in.ConditionKeys, in.Verified, in.Claims)
		}
		noSecrets(t, "keyless token inspect --output json", out+errOut, tok, sig)
	})

	t.Run("--verify of a tampered signature fails", func(t *testing.T) {
		c := byte('A')
		if sig[0] == 'A' {
			c = 'B'
		}
		bad := tok[:len(tok)-len(sig)] + string(c) + sig[1:]
		out, errOut, code := run(t, env, "token", "inspect", bad, "--verify")
		if code != 1 || !strings.Contains(out, "Signature: FAILED") || !strings.Contains(errOut, "did not verify") {
			t.Errorf("exit %d\nstdout: %s\nstderr: %s\nwant exit 1 with Signature: FAILED", code, out, errOut)
		}
		noSecrets(t, "keyless token inspect output", out+errOut, bad)
	})
}

// explainReport is `keyless explain --output json`.
type explainReport struct {
	RoleARN  string `json:"roleArn"`
	Admitted bool   `json:"admitted"`
	Checks   []struct {
		ID, Status, Title, Fix string
		// Expected and Actual are JSON values: a string or an array of strings.
		Expected, Actual json.RawMessage
	} `json:"checks"`
}

func TestExplainTrustPolicies(t *testing.T) {
	t.Parallel()
	f := newFederation(t)
	apiClaims := mintJSON(t, f.p.env, "--repository", "api").Claims
	apiRepo := apiClaims["repositoryUuid"].(string)
	webToken := f.tokenFile(t, "--repository", "web", "--environment", "production")
	stagingEnv := mintJSON(t, f.p.env, "--repository", "web", "--environment", "staging").Claims["deploymentEnvironmentUuid"].(string)
	webStaging := f.tokenFile(t, "--repository", "web", "--environment", "staging")
	webNoDeploy := f.tokenFile(t, "--repository", "web")
	apiToken := f.tokenFile(t, "--repository", "api")
	// The env of keyless up, as after `. .keyless/env`: IAM reads with the root
	// credentials, --verify trusts KEYLESS_CA_BUNDLE.
	env := withEnv(f.p.env, "HOME="+t.TempDir())
	subFail := regexp.MustCompile(`(?m)^  FAIL  .*StringLike on ` + regexp.QuoteMeta(f.providerURL) + `:sub$`)

	cases := []struct {
		name     string
		role     string
		token    string
		extra    []string
		wantCode int
		want     []string
		wantRe   *regexp.Regexp
	}{
		{"wrong repository", f.repoRole, apiToken, nil, 1,
			[]string{"expected: [\"" + f.webRepoUUID + ":*\"]", "fix:", "this token's repository is `" + apiRepo + "`", "add `" + apiRepo + ":*`", "Result: DENIED"}, subFail},
		{"wrong deployment environment", f.envRole, webStaging, nil, 1,
			[]string{"expected: [\"" + f.webRepoUUID + ":" + f.prodEnvUUID + ":*\"]", "this token's deployment environment is `" + stagingEnv + "`", "Result: DENIED"}, subFail},
		{"step without a deployment environment", f.envRole, webNoDeploy, nil, 1,
			[]string{"step without a deployment environment", "`deployment: <environment>`", "Result: DENIED"}, subFail},
		{"right repository", f.repoRole, webToken, nil, 0, []string{"Result: ADMITTED"}, regexp.MustCompile(`(?m)^  PASS  .*:sub$`)},
		{"source IP outside the allowed list", f.cfnRoleNoIP, webToken, []string{"--source-ip", "203.0.113.9"}, 1,
			[]string{"203.0.113.9", "Result: DENIED"}, regexp.MustCompile(`(?m)^  FAIL  .*aws:SourceIp.*$`)},
		{"source IP inside the allowed list", f.cfnRole, webToken, []string{"--source-ip", "127.0.0.1"}, 0,
			[]string{"Result: ADMITTED"}, regexp.MustCompile(`(?m)^  PASS  .*aws:SourceIp.*$`)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"explain", "--role-arn", tc.role, "--token-file", tc.token}, tc.extra...)
			out, errOut, code := run(t, env, args...)
			if code != tc.wantCode {
				t.Errorf("keyless %v: exit %d, want %d\nstdout: %s\nstderr: %s", args, code, tc.wantCode, out, errOut)
			}
			if !strings.HasPrefix(out, "Would this token assume "+tc.role+"?\n") {
				t.Errorf("output does not start with the question:\n%s", out)
			}
			if !tc.wantRe.MatchString(out) {
				t.Errorf("output lacks a line matching %s:\n%s", tc.wantRe, out)
			}
			for _, want := range tc.want {
				if !strings.Contains(out, want) {
					t.Errorf("output lacks %q:\n%s", want, out)
				}
			}
			// --verify is on by default and trusts KEYLESS_CA_BUNDLE.
			if !regexp.MustCompile(`(?mi)^  PASS  .*signature`).MatchString(out) {
				t.Errorf("no PASS line for the signature:\n%s", out)
			}
			tok, _ := os.ReadFile(tc.token)
			noSecrets(t, "keyless explain output", out+errOut, strings.TrimSpace(string(tok)))

			out, errOut, code = run(t, env, append(args, "--output", "json")...)
			var rep explainReport
			if code != tc.wantCode || json.Unmarshal([]byte(out), &rep) != nil {
				t.Fatalf("--output json: exit %d, output %q, stderr %q", code, out, errOut)
			}
			if rep.Admitted != (tc.wantCode == 0) || rep.RoleARN != tc.role || len(rep.Checks) == 0 {
				t.Errorf("--output json: admitted=%t roleArn=%s with %d checks; want admitted=%t", rep.Admitted, rep.RoleARN, len(rep.Checks), tc.wantCode == 0)
			}
			// Every failing trust condition comes with a fix; the first one is the
			// failing line of the text output.
			var failed []string
			for _, c := range rep.Checks {
				if c.Status == "FAIL" && c.ID == "condition" {
					failed = append(failed, c.Title)
					if c.Fix == "" || len(c.Expected) == 0 || len(c.Actual) == 0 {
						t.Errorf("--output json: failing condition %q lacks expected/actual/fix: %+v", c.Title, c)
					}
				}
			}
			if wantFail := tc.wantCode != 0; wantFail != (len(failed) > 0) || wantFail && !tc.wantRe.MatchString("  FAIL  "+failed[0]) {
				t.Errorf("--output json: failing conditions %q; want one matching %s", failed, tc.wantRe)
			}
		})
	}
}

func TestDemo(t *testing.T) {
	t.Parallel()
	env := append(cleanEnv(), "HOME="+t.TempDir())
	start := time.Now()
	out, errOut, code := run(t, env, "demo")
	if code != 0 {
		t.Fatalf("keyless demo: exit %d\nstdout: %s\nstderr: %s", code, out, errOut)
	}
	t.Logf("keyless demo took %v", time.Since(start))
	steps := []struct {
		what string
		re   *regexp.Regexp
	}{
		{"the provider registration", regexp.MustCompile(`(?m)^\d+\. Registered the issuer as an IAM OpenID Connect provider.*\n\s+provider: arn:aws:iam::\d{12}:oidc-provider/127\.0\.0\.1:\d+/`)},
		{"the role creation", regexp.MustCompile(`(?m)^\d+\. Created role arn:aws:iam::\d{12}:role/deploy-web-production`)},
		{"keyless login", regexp.MustCompile(`(?m)^\d+\. keyless login`)},
		{"the assumed-role ARN", regexp.MustCompile(`arn:aws:sts::\d{12}:assumed-role/deploy-web-production/\S+`)},
		{"AccessDenied", regexp.MustCompile(`AccessDenied`)},
		{"an explain FAIL line about :sub", regexp.MustCompile(`(?m)^\s+FAIL\s.*:sub$`)},
		{"Done:", regexp.MustCompile(`(?m)^Done: `)},
	}
	pos := 0
	for _, s := range steps {
		loc := s.re.FindStringIndex(out[pos:])
		if loc == nil {
			t.Fatalf("keyless demo output lacks %s (%s) after offset %d:\n%s", s.what, s.re, pos, out)
		}
		pos += loc[1]
	}
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	if !strings.HasPrefix(lines[len(lines)-1], "Done:") {
		t.Errorf("keyless demo output does not end with Done:, last line %q", lines[len(lines)-1])
	}
	if errOut != "" {
		t.Errorf("keyless demo wrote to stderr: %s", errOut)
	}
}
