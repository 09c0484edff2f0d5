package client

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"html"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// chainSTS is the fake STS plus AssumeRole: a call signed with keys the fake issued
// gets credentials of the requested role, unless deny names the role.
type chainSTS struct {
	*fakeSTS
	srv *httptest.Server

	mu    sync.Mutex
	calls []chainCall
	deny  map[string]stsError // by RoleArn
}

// chainCall is one AssumeRole: the assumed-role ARN of the signing keys and the form.
type chainCall struct {
	caller string
	form   url.Values
}

func newChainSTS(t *testing.T, now func() time.Time) *chainSTS {
	t.Helper()
	c := &chainSTS{fakeSTS: newFakeSTS(t, now), deny: map[string]stsError{}}
	c.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := r.ParseForm(); err != nil || r.PostForm.Get("Action") != "AssumeRole" {
			c.fakeSTS.serve(w, r)
			return
		}
		c.assumeRole(w, r)
	}))
	t.Cleanup(c.srv.Close)
	return c
}

func (c *chainSTS) URL() string { return c.srv.URL }

func (c *chainSTS) chainCalls() []chainCall {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]chainCall(nil), c.calls...)
}

func (c *chainSTS) assumeRole(w http.ResponseWriter, r *http.Request) {
	form := r.PostForm
	m := credentialRE.FindStringSubmatch(r.Header.Get("Authorization"))
	c.fakeSTS.mu.Lock()
	caller := ""
	if m != nil {
		caller = c.fakeSTS.keys[m[1]]
	}
	c.fakeSTS.mu.Unlock()
	c.mu.Lock()
	c.calls = append(c.calls, chainCall{caller: caller, form: form})
	e, denied := c.deny[form.Get("RoleArn")]
	c.mu.Unlock()
	switch {
	case caller == "":
		c.writeError(w, stsError{403, "InvalidClientTokenId", "The security token included in the request is invalid."})
		return
	case denied:
		c.writeError(w, e)
		return
	}
	life := time.Hour
	if d := form.Get("DurationSeconds"); d != "" {
		secs, _ := strconv.Atoi(d)
		if secs > 3600 {
			c.writeError(w, stsError{400, "ValidationError", "The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining."})
			return
		}
		life = time.Duration(secs) * time.Second
	}
	role, session := form.Get("RoleArn"), form.Get("RoleSessionName")
	name := role[strings.LastIndex(role, "/")+1:]
	c.fakeSTS.mu.Lock()
	c.fakeSTS.issued++
	key := fmt.Sprintf("ASIACHAIN%011d", c.fakeSTS.issued)
	arn := fmt.Sprintf("arn:aws:sts::%s:assumed-role/%s/%s", accountOf(role), name, session)
	c.fakeSTS.keys[key] = arn
	c.fakeSTS.mu.Unlock()
	exp := c.now().Add(life).UTC().Format(time.RFC3339)
	w.Header().Set("Content-Type", "text/xml")
	fmt.Fprintf(w, `<AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><AssumeRoleResult><Credentials><AccessKeyId>%s</AccessKeyId><SecretAccessKey>secret-%s</SecretAccessKey><SessionToken>session-%s</SessionToken><Expiration>%s</Expiration></Credentials><AssumedRoleUser><Arn>%s</Arn><AssumedRoleId>AROACHAIN:%s</AssumedRoleId></AssumedRoleUser></AssumeRoleResult><ResponseMetadata><RequestId>req-chain</RequestId></ResponseMetadata></AssumeRoleResponse>`,
		key, key, key, exp, html.EscapeString(arn), html.EscapeString(session))
}

const (
	chainRole2 = "arn:aws:iam::111111111111:role/hop-two"
	chainRole3 = "arn:aws:iam::222222222222:role/deploy"
)

func newTestChain(t *testing.T, st *chainSTS, opts ChainOptions) (*Exchanger, *Chain) {
	t.Helper()
	x, err := NewExchanger(ExchangeOptions{RoleARN: testRole, SessionName: "s", Endpoint: st.URL()})
	if err != nil {
		t.Fatal(err)
	}
	opts.SessionName = "s"
	opts.Endpoint = st.URL()
	opts.Sleep = func(context.Context, time.Duration) error { return nil }
	ch, err := NewChain(opts)
	if err != nil {
		t.Fatal(err)
	}
	return x, ch
}

func TestChainAssumesRolesInOrderWithThePreviousHopsCredentials(t *testing.T) {
	st := newChainSTS(t, nil)
	x, ch := newTestChain(t, st, ChainOptions{Roles: []string{chainRole2, chainRole3}})
	got, err := ch.Exchange(x.Exchange)(context.Background(), testToken)
	if err != nil {
		t.Fatal(err)
	}
	want := "arn:aws:sts::222222222222:assumed-role/deploy/s"
	if got.AssumedRoleARN != want || got.RoleARN != chainRole3 || got.Account() != "222222222222" || !strings.HasPrefix(got.AccessKeyID, "ASIACHAIN") {
		t.Errorf("final credentials %v (role %s): want %s", got, got.RoleARN, want)
	}
	if n := st.assumeCount(); n != 1 {
		t.Errorf("%d AssumeRoleWithWebIdentity calls, want 1", n)
	}
	calls := st.chainCalls()
	wantCalls := []struct{ caller, role string }{
		{"arn:aws:sts::000000000000:assumed-role/deploy/s", chainRole2},
		{"arn:aws:sts::111111111111:assumed-role/hop-two/s", chainRole3},
	}
	if len(calls) != len(wantCalls) {
		t.Fatalf("%d AssumeRole calls, want %d", len(calls), len(wantCalls))
	}
	for i, w := range wantCalls {
		c := calls[i]
		if c.caller != w.caller || c.form.Get("RoleArn") != w.role || c.form.Get("RoleSessionName") != "s" || c.form.Has("DurationSeconds") {
			t.Errorf("AssumeRole %d: signed by %q for %q (session %q, DurationSeconds %q); want signed by %s for %s, session s, no DurationSeconds",
				i+1, c.caller, c.form.Get("RoleArn"), c.form.Get("RoleSessionName"), c.form.Get("DurationSeconds"), w.caller, w.role)
		}
	}
}

func TestChainAssumeReturnsEveryHop(t *testing.T) {
	st := newChainSTS(t, nil)
	x, ch := newTestChain(t, st, ChainOptions{Roles: []string{chainRole2, chainRole3}})
	first, err := x.Exchange(context.Background(), testToken)
	if err != nil {
		t.Fatal(err)
	}
	hops, err := ch.Assume(context.Background(), first)
	if err != nil {
		t.Fatal(err)
	}
	var roles []string
	for _, h := range hops {
		roles = append(roles, h.RoleARN)
	}
	if want := []string{testRole, chainRole2, chainRole3}; fmt.Sprint(roles) != fmt.Sprint(want) {
		t.Errorf("hops are the roles %v, want %v", roles, want)
	}
	if hops[0].AccessKeyID != first.AccessKeyID {
		t.Errorf("hop 1 is %s, want the web-identity credentials %s", hops[0].AccessKeyID, first.AccessKeyID)
	}
}

func TestChainErrorNamesHopRoleAndSTSError(t *testing.T) {
	tests := []struct {
		name      string
		deny      stsError
		wantCalls int
		want      []string
	}{
		{
			name:      "denied",
			deny:      stsError{403, "AccessDenied", "User: arn:aws:sts::111111111111:assumed-role/hop-two/s is not authorized to perform: sts:AssumeRole on resource: " + chainRole3},
			wantCalls: 2,
			want: []string{
				"role chain hop 3 (" + chainRole3 + "): AccessDenied: User: arn:aws:sts::111111111111:assumed-role/hop-two/s is not authorized",
				"hint: the trust policy of " + chainRole3 + " must allow sts:AssumeRole for " + chainRole2,
			},
		},
		{
			name:      "transient error retried, then reported with the attempts",
			deny:      stsError{503, "ServiceUnavailable", "try later"},
			wantCalls: 1 + 3,
			want:      []string{"role chain hop 3 (" + chainRole3 + "): ServiceUnavailable: try later (request ID req-err, after 3 attempts)"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st := newChainSTS(t, nil)
			st.deny[chainRole3] = tc.deny
			x, ch := newTestChain(t, st, ChainOptions{Roles: []string{chainRole2, chainRole3}, MaxAttempts: 3})
			_, err := ch.Exchange(x.Exchange)(context.Background(), testToken)
			var ce *ChainError
			if !errors.As(err, &ce) || ce.Hop != 3 || ce.Err.Code != tc.deny.code {
				t.Fatalf("error %v: want a *ChainError of hop 3 with code %s", err, tc.deny.code)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q:\n%v", w, err)
				}
			}
			if strings.Contains(err.Error(), "secret-") || strings.Contains(err.Error(), "session-ASIA") {
				t.Errorf("error shows a secret: %v", err)
			}
			if n := len(st.chainCalls()); n != tc.wantCalls {
				t.Errorf("%d AssumeRole calls, want %d", n, tc.wantCalls)
			}
		})
	}
}

func TestChainWebIdentityFailureIsHopOne(t *testing.T) {
	st := newChainSTS(t, nil)
	st.fail = func(int, url.Values) *stsError {
		return &stsError{403, "AccessDenied", "Not authorized to perform sts:AssumeRoleWithWebIdentity"}
	}
	x, ch := newTestChain(t, st, ChainOptions{Roles: []string{chainRole2}})
	_, err := ch.Exchange(x.Exchange)(context.Background(), testToken)
	var ce *ChainError
	var xe *ExchangeError
	if !errors.As(err, &ce) || ce.Hop != 1 || !errors.As(err, &xe) {
		t.Fatalf("error %v: want a *ChainError of hop 1 wrapping the *ExchangeError", err)
	}
	for _, w := range []string{
		"role chain hop 1 (" + testRole + "): AccessDenied: Not authorized to perform sts:AssumeRoleWithWebIdentity",
		"hint: the role's trust policy does not admit this token: run `keyless explain --role-arn " + testRole + "`",
	} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error lacks %q:\n%v", w, err)
		}
	}
	if strings.Contains(err.Error(), testToken) {
		t.Error("error shows the token")
	}
	if n := len(st.chainCalls()); n != 0 {
		t.Errorf("%d AssumeRole calls after the web-identity hop failed, want 0", n)
	}
}

func TestChainDurationClampedToOneHourWithAWarning(t *testing.T) {
	tests := []struct {
		asked       time.Duration
		wantSeconds string // "" is no DurationSeconds
		wantWarning bool
	}{
		{0, "", false},
		{15 * time.Minute, "900", false},
		{time.Hour, "3600", false},
		{2 * time.Hour, "3600", true},
		{12 * time.Hour, "3600", true},
	}
	for _, tc := range tests {
		t.Run(tc.asked.String(), func(t *testing.T) {
			st := newChainSTS(t, nil)
			var logs bytes.Buffer
			x, ch := newTestChain(t, st, ChainOptions{
				Roles: []string{chainRole2}, Duration: tc.asked,
				Logger: slog.New(slog.NewTextHandler(&logs, nil)),
			})
			if _, err := ch.Exchange(x.Exchange)(context.Background(), testToken); err != nil {
				t.Fatal(err)
			}
			calls := st.chainCalls()
			if len(calls) != 1 || calls[0].form.Get("DurationSeconds") != tc.wantSeconds {
				t.Fatalf("AssumeRole calls %d, DurationSeconds %q; want 1 with %q", len(calls), calls[0].form.Get("DurationSeconds"), tc.wantSeconds)
			}
			warned := strings.Contains(logs.String(), "level=WARN") && strings.Contains(logs.String(), "at most 1h") &&
				strings.Contains(logs.String(), "requested="+tc.asked.String())
			if warned != tc.wantWarning {
				t.Errorf("warning logged %t, want %t:\n%s", warned, tc.wantWarning, logs.String())
			}
		})
	}
}

func TestResolveRoleChain(t *testing.T) {
	tests := []struct {
		name    string
		flag    []string
		env     string
		want    []string
		wantErr string
	}{
		{name: "none", want: nil},
		{name: "flag, comma-separated and repeated", flag: []string{chainRole2 + ", " + chainRole3, testRole}, env: chainRole2, want: []string{chainRole2, chainRole3, testRole}},
		{name: "environment when no flag", env: chainRole3 + "," + chainRole2 + ",", want: []string{chainRole3, chainRole2}},
		{name: "flag not an ARN", flag: []string{chainRole2, "deploy"}, wantErr: `--role-chain: "deploy" is not an IAM role ARN`},
		{name: "environment with a user ARN", env: "arn:aws:iam::111111111111:user/ci", wantErr: `KEYLESS_ROLE_CHAIN: "arn:aws:iam::111111111111:user/ci" is not an IAM role ARN`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ResolveRoleChain(tc.flag, func(k string) string {
				if k == RoleChainEnv {
					return tc.env
				}
				return ""
			})
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil || fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Errorf("got %v, %v; want %v", got, err, tc.want)
			}
		})
	}
}

func TestNewChainRefusesARoleOfAnAccountNotAllowed(t *testing.T) {
	_, err := NewChain(ChainOptions{Roles: []string{chainRole2, chainRole3}, SessionName: "s", AllowedAccountIDs: []string{"000000000000", "111111111111"}})
	if err == nil || !strings.Contains(err.Error(), chainRole3) || !strings.Contains(err.Error(), "222222222222") {
		t.Errorf("error %v: want the refused role and its account named", err)
	}
}

// TestCredServerRefreshRerunsTheWholeChain: exec's credential server, given the
// chain's Exchange, re-runs the web-identity exchange and every hop on refresh.
func TestCredServerRefreshRerunsTheWholeChain(t *testing.T) {
	clock := newFakeClock(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
	st := newChainSTS(t, clock.Now)
	x, ch := newTestChain(t, st, ChainOptions{Roles: []string{chainRole2, chainRole3}})
	srv, err := StartCredServer(context.Background(), CredServerOptions{
		Source:   staticSource(testToken),
		Exchange: ch.Exchange(x.Exchange),
		Now:      clock.Now,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	first, err := srv.Credentials(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	clock.Advance(61 * time.Minute) // past expiry: the request waits for the refresh
	second, err := srv.Credentials(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if second.AccessKeyID == first.AccessKeyID || second.RoleARN != chainRole3 || first.RoleARN != chainRole3 {
		t.Errorf("before refresh %s of %s, after %s of %s: want new credentials of %s", first.AccessKeyID, first.RoleARN, second.AccessKeyID, second.RoleARN, chainRole3)
	}
	if n := st.assumeCount(); n != 2 {
		t.Errorf("%d AssumeRoleWithWebIdentity calls, want 2 (start and refresh)", n)
	}
	var roles []string
	for _, c := range st.chainCalls() {
		roles = append(roles, c.form.Get("RoleArn"))
	}
	if want := []string{chainRole2, chainRole3, chainRole2, chainRole3}; fmt.Sprint(roles) != fmt.Sprint(want) {
		t.Errorf("AssumeRole calls %v, want %v", roles, want)
	}
}

type staticSource string

func (s staticSource) Token(context.Context) (string, error) { return string(s), nil }

func TestWriteProfileForARoleChain(t *testing.T) {
	exp := time.Date(2026, 1, 2, 4, 0, 0, 0, time.UTC)
	hops := []Credentials{
		{AccessKeyID: "ASIAHOP1", SecretAccessKey: "secret1", SessionToken: "token1", Expiration: exp, RoleARN: testRole},
		{AccessKeyID: "ASIAHOP2", SecretAccessKey: "secret2", SessionToken: "token2", Expiration: exp, RoleARN: chainRole2},
		{AccessKeyID: "ASIAHOP3", SecretAccessKey: "secret3", SessionToken: "token3", Expiration: exp, RoleARN: chainRole3},
	}
	tests := []struct {
		name      string
		tokenFile string
		wantCfg   string
		wantCreds string
	}{
		{
			name: "static keys of the first hop",
			wantCfg: "[profile p-hop1]\nregion = eu-west-1\n\n" +
				"[profile p-hop2]\nduration_seconds = 1800\nregion = eu-west-1\nrole_arn = " + chainRole2 + "\nrole_session_name = s\nservices = keyless-p\nsource_profile = p-hop1\n\n" +
				"[profile p]\nduration_seconds = 1800\nregion = eu-west-1\nrole_arn = " + chainRole3 + "\nrole_session_name = s\nservices = keyless-p\nsource_profile = p-hop2\n\n" +
				"[services keyless-p]\nsts =\n  endpoint_url = http://127.0.0.1:9\n",
			wantCreds: "[p-hop1]\naws_access_key_id = ASIAHOP1\naws_secret_access_key = secret1\naws_session_token = token1\n",
		},
		{
			name:      "web identity first hop",
			tokenFile: "/ci/token",
			wantCfg: "[profile p-hop1]\nregion = eu-west-1\nrole_arn = " + testRole + "\nrole_session_name = s\nservices = keyless-p\nweb_identity_token_file = /ci/token\n\n" +
				"[profile p-hop2]\nduration_seconds = 1800\nregion = eu-west-1\nrole_arn = " + chainRole2 + "\nrole_session_name = s\nservices = keyless-p\nsource_profile = p-hop1\n\n" +
				"[profile p]\nduration_seconds = 1800\nregion = eu-west-1\nrole_arn = " + chainRole3 + "\nrole_session_name = s\nservices = keyless-p\nsource_profile = p-hop2\n\n" +
				"[services keyless-p]\nsts =\n  endpoint_url = http://127.0.0.1:9\n",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			cfgPath, credPath := filepath.Join(dir, "config"), filepath.Join(dir, "credentials")
			// A stale profile p with static keys must not outlive the chain.
			if err := os.WriteFile(credPath, []byte("[p]\naws_access_key_id = AKIASTALE\naws_secret_access_key = stale\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			var out bytes.Buffer
			err := WriteOutput(&out, hops[2], OutputOptions{
				Format: FormatAWSProfile, Profile: "p", Region: "eu-west-1", TokenFile: tc.tokenFile,
				SessionName: "s", STSEndpoint: "http://127.0.0.1:9", Chain: hops, ChainDuration: 30 * time.Minute,
				Getenv: func(k string) string {
					return map[string]string{"AWS_CONFIG_FILE": cfgPath, "AWS_SHARED_CREDENTIALS_FILE": credPath}[k]
				},
			})
			if err != nil {
				t.Fatal(err)
			}
			if got := readFile(t, cfgPath); got != tc.wantCfg {
				t.Errorf("config:\n%s\nwant:\n%s", got, tc.wantCfg)
			}
			if got := readFile(t, credPath); got != tc.wantCreds {
				t.Errorf("credentials:\n%s\nwant:\n%s", got, tc.wantCreds)
			}
			summary := out.String()
			for _, w := range []string{"p-hop2 (role " + chainRole2 + " from profile p-hop1)", "p (role " + chainRole3 + " from profile p-hop2)", "export AWS_PROFILE=p\n"} {
				if !strings.Contains(summary, w) {
					t.Errorf("summary lacks %q:\n%s", w, summary)
				}
			}
			for _, secret := range []string{"secret1", "secret3", "token1", "token3"} {
				if strings.Contains(summary, secret) {
					t.Errorf("summary shows a secret:\n%s", summary)
				}
			}
		})
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return ""
	}
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b, err := io.ReadAll(f)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
