package server

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/keyless-dev/keyless/console"
	"github.com/keyless-dev/keyless/issuer"
)

// consoleClient calls the console API of a running keyless up, keeping every
// response body for the secret scan.
type consoleClient struct {
	t      *testing.T
	base   string
	cookie *http.Cookie
	bodies []string
}

func (c *consoleClient) do(method, path, body string) (int, string) {
	c.t.Helper()
	req, err := http.NewRequestWithContext(c.t.Context(), method, c.base+path, strings.NewReader(body))
	if err != nil {
		c.t.Fatal(err)
	}
	if method == http.MethodPost {
		req.Header.Set(console.CSRFHeader, "1")
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Origin", c.base)
	}
	if c.cookie != nil {
		req.AddCookie(c.cookie)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.Header.Get("Content-Security-Policy") != console.ContentSecurityPolicy || res.Header.Get("X-Frame-Options") != "DENY" {
		c.t.Errorf("%s %s: security headers missing: %v", method, path, res.Header)
	}
	for _, ck := range res.Cookies() {
		if ck.Name == console.CookieName && ck.Value != "" {
			c.cookie = ck
		}
	}
	c.bodies = append(c.bodies, string(b))
	return res.StatusCode, string(b)
}

func (c *consoleClient) signin(id, secret string) (int, string) {
	c.t.Helper()
	return c.do("POST", "/console/api/signin", fmt.Sprintf(`{"accessKeyId":%q,"secretAccessKey":%q}`, id, secret))
}

// get decodes a 200 answer of GET path into v.
func (c *consoleClient) get(path string, v any) {
	c.t.Helper()
	status, body := c.do("GET", path, "")
	if status != 200 {
		c.t.Fatalf("GET %s: %d %s", path, status, body)
	}
	if err := json.Unmarshal([]byte(body), v); err != nil {
		c.t.Fatalf("GET %s: %v\n%s", path, err, body)
	}
}

// TestConsoleThroughKeylessUp: after an allowed and a denied web identity
// exchange, the console of keyless up shows both in the activity view; the
// denial opens into the failing sub condition with the token's claims (never
// the token); the trust map flags the role any repository may assume; the
// keys view has the active signing key; the explain playground gives explain's
// verdicts; an IAM user allowed keyless:ViewActivity only sees activity alone;
// another account's root key and a deleted user key are refused; and no
// token, secret key, session token or cookie appears in a response or the log.
func TestConsoleThroughKeylessUp(t *testing.T) {
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	logs := &syncLog{}
	s, err := Start(t.Context(), Options{Config: Config{Listen: "127.0.0.1:0", Accounts: twoAccounts}, DataDir: t.TempDir(), Getenv: noEnv,
		Logger: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() { stopTest(t, s) })
	ctx := t.Context()
	root := s.Root()
	secrets := []string{root.SecretAccessKey}
	rootIAM := iam.NewFromConfig(sdkConfig(s, root))
	anon := sts.NewFromConfig(aws.Config{Region: "us-east-1", BaseEndpoint: aws.String(s.Endpoint()), Credentials: aws.AnonymousCredentials{}, RetryMaxAttempts: 1})

	// A provider for the default workspace, a role pinned to repository web and
	// one any repository may assume.
	iss := s.IssuerURL()
	provURL := strings.TrimPrefix(iss, "https://")
	prov, err := rootIAM.CreateOpenIDConnectProvider(ctx, &iam.CreateOpenIDConnectProviderInput{Url: aws.String(iss), ClientIDList: []string{s.audience}})
	if err != nil {
		t.Fatal(err)
	}
	provARN := aws.ToString(prov.OpenIDConnectProviderArn)
	web, err := s.Issuer().Mint(ctx, issuer.MintRequest{Workspace: s.cfg.DefaultWorkspace, Repository: "web"})
	if err != nil {
		t.Fatal(err)
	}
	other, err := s.Issuer().Mint(ctx, issuer.MintRequest{Workspace: s.cfg.DefaultWorkspace, Repository: "other"})
	if err != nil {
		t.Fatal(err)
	}
	secrets = append(secrets, web.Raw, other.Raw, web.Raw[strings.LastIndex(web.Raw, ".")+1:], other.Raw[strings.LastIndex(other.Raw, ".")+1:])
	webRepo := strings.SplitN(web.Subject(), ":", 2)[0]
	trust := func(cond string) string {
		return `{"Version":"2012-10-17","Statement":[{"Sid":"Pipelines","Effect":"Allow","Principal":{"Federated":"` + provARN +
			`"},"Action":"sts:AssumeRoleWithWebIdentity","Condition":` + cond + `}]}`
	}
	pinned, err := rootIAM.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("pinned"), AssumeRolePolicyDocument: aws.String(trust(
		`{"StringEquals":{"` + provURL + `:aud":"` + s.audience + `"},"StringLike":{"` + provURL + `:sub":"` + webRepo + `:*"}}`))})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := rootIAM.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("broad"), AssumeRolePolicyDocument: aws.String(trust(
		`{"StringEquals":{"` + provURL + `:aud":"` + s.audience + `"}}`))}); err != nil {
		t.Fatal(err)
	}
	pinnedARN := aws.ToString(pinned.Role.Arn)
	ok, err := anon.AssumeRoleWithWebIdentity(ctx, &sts.AssumeRoleWithWebIdentityInput{RoleArn: aws.String(pinnedARN), RoleSessionName: aws.String("ok"), WebIdentityToken: aws.String(web.Raw)})
	if err != nil {
		t.Fatalf("the allowed exchange: %v", err)
	}
	secrets = append(secrets, aws.ToString(ok.Credentials.SecretAccessKey), aws.ToString(ok.Credentials.SessionToken))
	if _, err := anon.AssumeRoleWithWebIdentity(ctx, &sts.AssumeRoleWithWebIdentityInput{RoleArn: aws.String(pinnedARN), RoleSessionName: aws.String("no"), WebIdentityToken: aws.String(other.Raw)}); err == nil {
		t.Fatal("the exchange of another repository's token was allowed")
	}

	c := &consoleClient{t: t, base: s.Endpoint()}
	if status, body := c.do("GET", "/console/api/activity", ""); status != 401 {
		t.Errorf("activity without a session: %d %s", status, body)
	}
	if status, body := c.do("GET", "/console/", ""); status != 200 || !strings.Contains(body, "<html") {
		t.Errorf("GET /console/: %d", status)
	}
	b := s.Accounts()[1]
	if status, body := c.signin(b.Root.AccessKeyID, b.Root.SecretAccessKey); status != 403 || !strings.Contains(body, "WrongAccount") {
		t.Errorf("sign-in with account %s's root key: %d %s, want 403 WrongAccount", b.ID, status, body)
	}
	secrets = append(secrets, b.Root.SecretAccessKey)
	if status, body := c.signin(root.AccessKeyID, "wrong"); status != 401 || !strings.Contains(body, "InvalidCredentials") {
		t.Errorf("sign-in with a wrong secret: %d %s", status, body)
	}
	if status, body := c.signin(root.AccessKeyID, root.SecretAccessKey); status != 200 {
		t.Fatalf("sign-in: %d %s", status, body)
	}
	secrets = append(secrets, c.cookie.Value)

	// Activity: both exchanges (the recorder stores them within milliseconds).
	var act console.ActivityJSON
	var allowed, denied *console.EventJSON
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline) && (allowed == nil || denied == nil); time.Sleep(20 * time.Millisecond) {
		c.get("/console/api/activity?since=1h&action=AssumeRoleWithWebIdentity", &act)
		allowed, denied = nil, nil
		for i, e := range act.Events {
			switch {
			case e.Decision == "allowed" && e.Role == pinnedARN:
				allowed = &act.Events[i]
			case e.Decision == "denied" && e.Role == pinnedARN:
				denied = &act.Events[i]
			}
		}
	}
	if allowed == nil || denied == nil {
		t.Fatalf("activity lacks the allowed or the denied exchange: %+v", act.Events)
	}
	if allowed.Provider != provARN || allowed.Service != "sts" {
		t.Errorf("allowed event %+v, want provider %s", *allowed, provARN)
	}
	var sum [2]int
	for _, bk := range act.Buckets {
		sum[0] += bk.Allowed
		sum[1] += bk.Denied
	}
	if sum != [2]int{1, 1} {
		t.Errorf("timeline counts allowed, denied = %v, want [1 1]", sum)
	}

	var d console.DecisionJSON
	c.get("/console/api/decisions/"+denied.ID, &d)
	if d.Failing == nil || d.Failing.Key != provURL+":sub" || !strings.Contains(d.Failing.Condition, provURL+":sub") ||
		len(d.Failing.Actual) != 1 || d.Failing.Actual[0] != other.Subject() {
		t.Errorf("the denial's failing condition %+v, want %s:sub with actual %s", d.Failing, provURL, other.Subject())
	}
	if d.Claims["sub"] != other.Subject() || d.Claims["iss"] != iss || d.Claims["repositoryUuid"] == nil {
		t.Errorf("the denial's claims %v, want the token's iss, sub and repositoryUuid", d.Claims)
	}
	if d.Fix == "" || !strings.Contains(d.TrustPolicy, `"Pipelines"`) {
		t.Errorf("the denial's fix %q, trust policy %s", d.Fix, d.TrustPolicy)
	}

	var tm console.TrustMapJSON
	c.get("/console/api/trustmap", &tm)
	flags := map[string]bool{}
	for _, p := range tm.Providers {
		for _, r := range p.Roles {
			flags[r.Name] = r.AnyRepository
		}
	}
	if len(flags) != 2 || !flags["broad"] || flags["pinned"] {
		t.Errorf("trust map anyRepository flags %v, want broad only", flags)
	}

	var keys console.KeysJSON
	c.get("/console/api/keys", &keys)
	active := 0
	for _, k := range keys.Signing {
		if k.State == "active" {
			active++
		}
	}
	if active != 1 {
		t.Errorf("keys view: %d active signing keys, want 1: %+v", active, keys.Signing)
	}

	for _, tc := range []struct {
		token, verdict string
	}{{web.Raw, "ADMITTED"}, {other.Raw, "DENIED"}} {
		status, body := c.do("POST", "/console/api/explain", fmt.Sprintf(`{"token":%q,"roleArn":%q}`, tc.token, pinnedARN))
		var rep struct{ Verdict string }
		if status != 200 || json.Unmarshal([]byte(body), &rep) != nil || rep.Verdict != tc.verdict {
			t.Errorf("explain: %d %s, want verdict %s", status, body, tc.verdict)
		}
	}

	// An IAM user allowed keyless:ViewActivity only.
	u := orgUser(t, s, sdkConfig(s, root), "watcher", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"keyless:ViewActivity","Resource":"*"}]}`)
	creds, err := u.Credentials.Retrieve(ctx)
	if err != nil {
		t.Fatal(err)
	}
	secrets = append(secrets, creds.SecretAccessKey)
	uc := &consoleClient{t: t, base: s.Endpoint()}
	if status, body := uc.signin(creds.AccessKeyID, creds.SecretAccessKey); status != 200 {
		t.Fatalf("the user's sign-in: %d %s", status, body)
	}
	secrets = append(secrets, uc.cookie.Value)
	for path, want := range map[string]int{"/console/api/activity": 200, "/console/api/trustmap": 403, "/console/api/keys": 403} {
		if status, body := uc.do("GET", path, ""); status != want {
			t.Errorf("the watcher: GET %s: %d %s, want %d", path, status, body, want)
		}
	}
	if _, err := rootIAM.DeleteAccessKey(ctx, &iam.DeleteAccessKeyInput{UserName: aws.String("watcher"), AccessKeyId: aws.String(creds.AccessKeyID)}); err != nil {
		t.Fatal(err)
	}
	if status, body := uc.do("GET", "/console/api/activity", ""); status != 401 {
		t.Errorf("the watcher's session after its key was deleted: %d %s, want 401", status, body)
	}

	// The live stream reaches the browser through the server's handlers: a new
	// exchange arrives as an "audit" event.
	sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(sctx, "GET", s.Endpoint()+"/console/api/activity/stream", nil)
	req.AddCookie(c.cookie)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != 200 || res.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("stream: %d %s", res.StatusCode, res.Header.Get("Content-Type"))
	}
	first := make([]byte, 64)
	if n, err := res.Body.Read(first); err != nil || !strings.HasPrefix(string(first[:n]), ":") {
		t.Fatalf("stream's first bytes %q, %v", first[:n], err)
	}
	if _, err := anon.AssumeRoleWithWebIdentity(ctx, &sts.AssumeRoleWithWebIdentityInput{RoleArn: aws.String(pinnedARN), RoleSessionName: aws.String("live"), WebIdentityToken: aws.String(other.Raw)}); err == nil {
		t.Fatal("the exchange of another repository's token was allowed")
	}
	var streamed strings.Builder
	for buf := make([]byte, 4096); !strings.Contains(streamed.String(), "event: audit\ndata: "); {
		n, err := res.Body.Read(buf)
		streamed.Write(buf[:n])
		if err != nil {
			t.Fatalf("the stream ended before the new event: %v\n%s", err, streamed.String())
		}
	}
	c.bodies = append(c.bodies, streamed.String())

	if status, _ := c.do("POST", "/console/api/signout", `{}`); status != 200 {
		t.Errorf("signout: %d", status)
	}
	all := append(append(c.bodies, uc.bodies...), logs.String())
	for _, sec := range secrets {
		for i, b := range all {
			if sec != "" && strings.Contains(b, sec) {
				what := fmt.Sprintf("response %d", i)
				if i == len(all)-1 {
					what = "the server log"
				}
				t.Errorf("%s holds a token, secret or session cookie (%d chars)", what, len(sec))
			}
		}
	}
}

// TestConsoleStreamEndsOnShutdown: an open activity stream does not hold
// keyless up's shutdown: the stream ends and Shutdown returns at once.
func TestConsoleStreamEndsOnShutdown(t *testing.T) {
	s, err := Start(t.Context(), Options{Config: Config{Listen: "127.0.0.1:0"}, DataDir: t.TempDir(), Getenv: noEnv})
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	c := &consoleClient{t: t, base: s.Endpoint()}
	if status, body := c.signin(s.Root().AccessKeyID, s.Root().SecretAccessKey); status != 200 {
		t.Fatalf("sign-in: %d %s", status, body)
	}
	req, _ := http.NewRequestWithContext(t.Context(), "GET", s.Endpoint()+"/console/api/activity/stream", nil)
	req.AddCookie(c.cookie)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != 200 {
		t.Fatalf("stream: %d", res.StatusCode)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	start := time.Now()
	if err := s.Shutdown(ctx); err != nil {
		t.Errorf("Shutdown with a stream open: %v", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("Shutdown took %s with a stream open", d)
	}
	if _, err := io.ReadAll(res.Body); err != nil {
		t.Logf("stream ended with %v", err)
	}
}
