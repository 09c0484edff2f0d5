package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials/endpointcreds"
	"github.com/aws/aws-sdk-go-v2/service/sts"
)

// tokenFunc adapts a function to TokenSource.
type tokenFunc func(context.Context) (string, error)

func (f tokenFunc) Token(ctx context.Context) (string, error) { return f(ctx) }

// countingSource yields a distinct token per call, like a GitHub re-request.
func countingSource() (TokenSource, *atomic.Int32) {
	var n atomic.Int32
	return tokenFunc(func(context.Context) (string, error) {
		return fmt.Sprintf("%s-%d", testToken, n.Add(1)), nil
	}), &n
}

func startTestCredServer(t *testing.T, clock *fakeClock, fake *fakeSTS, src TokenSource, mod func(*CredServerOptions)) *CredServer {
	t.Helper()
	x, _ := newTestExchanger(t, fake.URL(), func(o *ExchangeOptions) { o.Duration = 15 * time.Minute })
	opts := CredServerOptions{Source: src, Exchange: x.Exchange, Now: clock.Now, RefreshWait: 10 * time.Second}
	if mod != nil {
		mod(&opts)
	}
	s, err := StartCredServer(context.Background(), opts)
	if err != nil {
		t.Fatalf("StartCredServer: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

// TestCredServerSDKAcrossExpiries has an aws-sdk-go-v2 STS client, whose credentials
// come from the SDK's container credentials provider pointed at the server, call
// GetCallerIdentity across three credential lifetimes of the server's fake clock.
func TestCredServerSDKAcrossExpiries(t *testing.T) {
	isolateAWSEnv(t)
	ctx := context.Background()
	clock := newFakeClock(time.Now())
	fake := newFakeSTS(t, clock.Now)
	src, tokens := countingSource()
	srv := startTestCredServer(t, clock, fake, src, nil)

	if !strings.HasPrefix(srv.URL(), "http://127.0.0.1:") {
		t.Fatalf("URL %s is not on 127.0.0.1", srv.URL())
	}

	// The default chain finds the server through the two environment variables.
	for _, kv := range srv.Env() {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
	t.Setenv("AWS_ENDPOINT_URL_STS", fake.URL())
	cfg, err := config.LoadDefaultConfig(ctx, config.WithRegion("us-east-1"))
	if err != nil {
		t.Fatal(err)
	}
	got, err := cfg.Credentials.Retrieve(ctx)
	if err != nil || got.Source != endpointcreds.ProviderName || !strings.HasPrefix(got.AccessKeyID, "ASIAFAKE") {
		t.Fatalf("default chain: %+v, %v", got.Source, err)
	}

	// The SDK's own CredentialsCache judges expiry by the real clock; to observe the
	// server's refreshes under its fake clock the client gets the provider uncached,
	// so every call fetches from the server.
	provider := endpointcreds.New(srv.URL(), func(o *endpointcreds.Options) { o.AuthorizationToken = srv.AuthorizationToken() })
	client := sts.New(sts.Options{Region: "us-east-1", Credentials: provider, BaseEndpoint: aws.String(fake.URL()), Retryer: aws.NopRetryer{}})
	whoami := func() string {
		t.Helper()
		out, err := client.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
		if err != nil {
			t.Fatalf("GetCallerIdentity at %s: %v", clock.Now().Format(time.TimeOnly), err)
		}
		if aws.ToString(out.Account) != "000000000000" {
			t.Errorf("account %q", aws.ToString(out.Account))
		}
		fake.mu.Lock()
		defer fake.mu.Unlock()
		return fake.callers[len(fake.callers)-1]
	}

	first := whoami()
	if again := whoami(); again != first || fake.assumeCount() != 1 {
		t.Fatalf("credentials changed without need: %s then %s, %d exchanges", first, again, fake.assumeCount())
	}
	seen := map[string]bool{first: true}
	for i := 1; i <= 3; i++ {
		clock.Advance(16 * time.Minute) // past the 15-minute expiry
		key := whoami()
		if seen[key] {
			t.Fatalf("expiry %d: SDK still signs with %s", i, key)
		}
		seen[key] = true
		if n := fake.assumeCount(); n != i+1 {
			t.Errorf("expiry %d: %d exchanges, want %d", i, n, i+1)
		}
	}
	if tokens.Load() != 4 {
		t.Errorf("token source called %d times, want a fresh token per exchange (4)", tokens.Load())
	}
	if got := fake.lastAssume().Get("WebIdentityToken"); got != testToken+"-4" {
		t.Errorf("last exchange used token %q", got)
	}

	// Inside the refresh margin (11 of 15 minutes) but not expired: refreshed ahead.
	before := whoami()
	clock.Advance(5 * time.Minute)
	if after := whoami(); after == before {
		t.Errorf("credentials not refreshed 10 minutes before expiry")
	}
}

func TestCredServerRequiresAuthorization(t *testing.T) {
	clock := newFakeClock(time.Now())
	fake := newFakeSTS(t, clock.Now)
	src, _ := countingSource()
	srv := startTestCredServer(t, clock, fake, src, nil)
	get := func(method, url, auth string) (*http.Response, map[string]string) {
		t.Helper()
		req, _ := http.NewRequest(method, url, nil)
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var body map[string]string
		_ = json.NewDecoder(resp.Body).Decode(&body)
		return resp, body
	}
	base := srv.URL()[:strings.LastIndex(srv.URL(), "/")]
	for _, tc := range []struct {
		method, url, auth string
		status            int
	}{
		{"GET", srv.URL(), "", http.StatusUnauthorized},
		{"GET", srv.URL(), "wrong", http.StatusUnauthorized},
		{"GET", base + "/guess", srv.AuthorizationToken(), http.StatusNotFound},
		{"POST", srv.URL(), srv.AuthorizationToken(), http.StatusMethodNotAllowed},
	} {
		resp, body := get(tc.method, tc.url, tc.auth)
		if resp.StatusCode != tc.status {
			t.Errorf("%s %s auth %q: %d, want %d", tc.method, tc.url, tc.auth, resp.StatusCode, tc.status)
		}
		if body["SecretAccessKey"] != "" {
			t.Errorf("credentials leaked on %d", resp.StatusCode)
		}
	}
	resp, body := get("GET", srv.URL(), srv.AuthorizationToken())
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("authorized GET: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	for _, k := range []string{"AccessKeyId", "SecretAccessKey", "Token", "Expiration", "RoleArn"} {
		if body[k] == "" {
			t.Errorf("container credentials lack %s: %v", k, body)
		}
	}
	if _, err := time.Parse(time.RFC3339, body["Expiration"]); err != nil {
		t.Errorf("Expiration %q: %v", body["Expiration"], err)
	}
	env := strings.Join(srv.Env(), "\n")
	if !strings.Contains(env, "AWS_CONTAINER_CREDENTIALS_FULL_URI="+srv.URL()) || !strings.Contains(env, "AWS_CONTAINER_AUTHORIZATION_TOKEN="+srv.AuthorizationToken()) {
		t.Errorf("Env() = %v", srv.Env())
	}
}

func TestCredServerRefreshFailure(t *testing.T) {
	clock := newFakeClock(time.Now())
	fake := newFakeSTS(t, clock.Now)
	var fail atomic.Bool
	src := tokenFunc(func(context.Context) (string, error) {
		if fail.Load() {
			return "", errors.New("token endpoint down")
		}
		return testToken, nil
	})
	srv := startTestCredServer(t, clock, fake, src, nil)
	ctx := context.Background()
	first, err := srv.Credentials(ctx)
	if err != nil {
		t.Fatal(err)
	}
	fail.Store(true)

	// Due for refresh but valid: the failure is absorbed, the current ones served.
	clock.Advance(10 * time.Minute)
	c, err := srv.Credentials(ctx)
	if err != nil || c.AccessKeyID != first.AccessKeyID {
		t.Fatalf("within margin after failed refresh: %v, %v", c, err)
	}
	// Expired, and the last failure is recent: an error, without a new attempt.
	clock.Advance(6 * time.Minute)
	if _, err := srv.Credentials(ctx); err == nil || !strings.Contains(err.Error(), "token endpoint down") {
		t.Fatalf("expired: err = %v", err)
	}
	// After the retry interval, a working source recovers.
	fail.Store(false)
	clock.Advance(DefaultRetryInterval)
	c, err = srv.Credentials(ctx)
	if err != nil || c.AccessKeyID == first.AccessKeyID {
		t.Fatalf("recovery: %v, %v", c, err)
	}
	if n := fake.assumeCount(); n != 2 {
		t.Errorf("%d exchanges, want 2", n)
	}
}

func TestCredServerSingleRefreshForConcurrentRequests(t *testing.T) {
	clock := newFakeClock(time.Now())
	fake := newFakeSTS(t, clock.Now)
	src, tokens := countingSource()
	srv := startTestCredServer(t, clock, fake, src, nil)
	clock.Advance(time.Hour)
	var wg sync.WaitGroup
	keys := make([]string, 20)
	for i := range keys {
		wg.Go(func() {
			c, err := srv.Credentials(context.Background())
			if err != nil {
				t.Error(err)
				return
			}
			keys[i] = c.AccessKeyID
		})
	}
	wg.Wait()
	for _, k := range keys[1:] {
		if k != keys[0] {
			t.Errorf("requests got different credentials: %v", keys)
			break
		}
	}
	if tokens.Load() != 2 || fake.assumeCount() != 2 {
		t.Errorf("%d tokens, %d exchanges; want one refresh for 20 requests", tokens.Load(), fake.assumeCount())
	}
}

func TestCredServerRefreshAt(t *testing.T) {
	s := &CredServer{opts: CredServerOptions{RefreshMargin: DefaultRefreshMargin}}
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct{ life, margin time.Duration }{
		{time.Hour, 12 * time.Minute},         // lifetime/5
		{12 * time.Hour, 144 * time.Minute},   // lifetime/5
		{30 * time.Minute, 11 * time.Minute},  // the floor
		{15 * time.Minute, 11 * time.Minute},  // the floor
		{10 * time.Minute, 450 * time.Second}, // at most 3/4 of the lifetime
		{-time.Minute, 0},                     // nonsense: due at expiry
	} {
		exp := t0.Add(tc.life)
		if got := exp.Sub(s.refreshAt(t0, exp)); got != tc.margin {
			t.Errorf("lifetime %s: margin %s, want %s", tc.life, got, tc.margin)
		}
	}
}

func TestStartCredServerRejectsNonLoopback(t *testing.T) {
	src, _ := countingSource()
	_, err := StartCredServer(context.Background(), CredServerOptions{Source: src, Addr: "0.0.0.0:0",
		Exchange: func(context.Context, string) (Credentials, error) { return Credentials{}, nil }})
	if err == nil {
		t.Error("listening on 0.0.0.0 accepted")
	}
}
