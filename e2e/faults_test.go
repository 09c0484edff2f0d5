package e2e

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	ststypes "github.com/aws/aws-sdk-go-v2/service/sts/types"

	"github.com/keyless-dev/keyless/store/postgres/pgtest"
)

// The failure drills: each takes a dependency of a running `keyless up` away and
// checks what its clients see, then that it recovers by itself.

// faultCallTimeout bounds each call a drill makes while a dependency is down: a call
// that hangs instead of failing fails the drill.
const faultCallTimeout = 15 * time.Second

// pgStore is a fresh PostgreSQL schema for replicas, reached through a proxy the
// drill can cut, and the config file and KEK environment that point keyless up at it.
type pgStore struct {
	proxy *tcpProxy
	cfg   string   // keyless up --config file
	env   []string // KEYLESS_KEK=…, shared by every replica
}

// newPGStore creates a schema (pgtest: skipped without PostgreSQL) and a proxy to
// the server in front of it; config holds further settings of the config file.
func newPGStore(t *testing.T, config map[string]any) *pgStore {
	t.Helper()
	dsn := pgtest.NewSchema(t).DSN
	u, err := url.Parse(dsn)
	if err != nil || u.Host == "" {
		t.Skipf("the drill needs a URL DSN with a host:port in %s", pgtest.DSNEnv)
	}
	target := u.Host
	if u.Port() == "" {
		target += ":5432"
	}
	proxy := startTCPProxy(t, target)
	u.Host = proxy.addr
	kek := make([]byte, 32)
	rand.Read(kek)
	cfg := filepath.Join(t.TempDir(), "config.json")
	settings := map[string]any{"store": u.String()}
	for k, v := range config {
		settings[k] = v
	}
	b, _ := json.Marshal(settings)
	if err := os.WriteFile(cfg, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return &pgStore{proxy: proxy, cfg: cfg, env: []string{"KEYLESS_KEK=" + base64.StdEncoding.EncodeToString(kek)}}
}

// replica starts a keyless up on the store, with extra environment variables
// (KEY=VALUE) and arguments.
func (s *pgStore) replica(t *testing.T, env []string, args ...string) *upProc {
	t.Helper()
	return startUpEnv(t, t.TempDir(), append(append([]string{}, s.env...), env...), append([]string{"--config", s.cfg}, args...)...)
}

// webIdentityRole registers p's issuer as an OIDC provider and creates a role named
// name that trusts the tokens of the repository whose UUID is repoUUID, returning
// the role's ARN.
func webIdentityRole(t *testing.T, p *upProc, name, repoUUID string) string {
	t.Helper()
	ctx := context.Background()
	c := iam.NewFromConfig(rootConfig(p))
	issuerURL := p.env["KEYLESS_ISSUER"]
	providerURL := strings.TrimPrefix(issuerURL, "https://")
	providerARN := "arn:aws:iam::" + p.env["KEYLESS_ACCOUNT_ID"] + ":oidc-provider/" + providerURL
	if _, err := c.CreateOpenIDConnectProvider(ctx, &iam.CreateOpenIDConnectProviderInput{Url: aws.String(issuerURL), ClientIDList: []string{p.env["KEYLESS_AUDIENCE"]}}); err != nil {
		if code, _ := apiError(err); code != "EntityAlreadyExists" {
			t.Fatal(err)
		}
	}
	role, err := c.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String(name),
		AssumeRolePolicyDocument: aws.String(trustPolicy(providerARN, providerURL, map[string]any{
			"StringEquals": map[string]any{providerURL + ":aud": p.env["KEYLESS_AUDIENCE"]},
			"StringLike":   map[string]any{providerURL + ":sub": repoUUID + ":*"},
		}))})
	if err != nil {
		t.Fatal(err)
	}
	return aws.ToString(role.Role.Arn)
}

// otherTrust is a trust policy for a role no drill assumes.
func otherTrust(p *upProc) string {
	return trustPolicy("arn:aws:iam::"+p.env["KEYLESS_ACCOUNT_ID"]+":oidc-provider/x.example", "x.example",
		map[string]any{"StringEquals": map[string]any{"x.example:aud": "x", "x.example:sub": "x"}})
}

// noRetry makes an SDK client try each call once, so that a drill sees the first
// answer rather than the SDK's retries of a 503.
func noRetry(cfg aws.Config) aws.Config {
	cfg.RetryMaxAttempts = 1
	return cfg
}

// exchange calls AssumeRoleWithWebIdentity at endpoint.
func exchange(ctx context.Context, endpoint, roleARN, session, token string) (*ststypes.Credentials, error) {
	c := sts.NewFromConfig(noRetry(aws.Config{Region: "us-east-1", BaseEndpoint: aws.String(endpoint), Credentials: aws.AnonymousCredentials{}}))
	out, err := c.AssumeRoleWithWebIdentity(ctx, &sts.AssumeRoleWithWebIdentityInput{RoleArn: aws.String(roleARN), RoleSessionName: aws.String(session), WebIdentityToken: aws.String(token)})
	if err != nil {
		return nil, err
	}
	return out.Credentials, nil
}

// whoAmI calls GetCallerIdentity at endpoint with session credentials.
func whoAmI(ctx context.Context, endpoint string, c *ststypes.Credentials) (string, error) {
	cl := sts.NewFromConfig(noRetry(aws.Config{Region: "us-east-1", BaseEndpoint: aws.String(endpoint),
		Credentials: credentials.NewStaticCredentialsProvider(aws.ToString(c.AccessKeyId), aws.ToString(c.SecretAccessKey), aws.ToString(c.SessionToken))}))
	out, err := cl.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		return "", err
	}
	return aws.ToString(out.Arn), nil
}

// readyz returns the status and body of GET /readyz.
func readyz(t *testing.T, p *upProc) (int, readyBody) {
	t.Helper()
	c := &http.Client{Timeout: faultCallTimeout}
	resp, err := c.Get(p.env["KEYLESS_ENDPOINT"] + "/readyz")
	if err != nil {
		t.Fatalf("GET /readyz: %v", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var body readyBody
	if err := json.Unmarshal(b, &body); err != nil {
		t.Fatalf("GET /readyz: %d %q: %v", resp.StatusCode, b, err)
	}
	return resp.StatusCode, body
}

// readyBody is the JSON of /readyz.
type readyBody struct {
	Status string `json:"status"`
	Checks []struct {
		Name   string `json:"name"`
		OK     bool   `json:"ok"`
		Detail string `json:"detail"`
	} `json:"checks"`
}

// failing returns the names of the checks that failed.
func (b readyBody) failing() []string {
	var out []string
	for _, c := range b.Checks {
		if !c.OK {
			out = append(out, c.Name)
		}
	}
	return out
}

// waitFor polls cond every 50 ms until it holds, failing t after timeout.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(timeout); !cond(); time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s", what, timeout)
		}
	}
}

// exchangeLoad runs token exchanges and GetCallerIdentity calls with the credentials
// they return, from a few goroutines, until stop is called; it counts the calls and
// keeps the first few failures.
type exchangeLoad struct {
	ok, failed atomic.Int64
	mu         sync.Mutex
	errs       []string
	stop       func()
}

func startExchangeLoad(endpoints []string, roleARN, token string, workers int) *exchangeLoad {
	l := &exchangeLoad{}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for i := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := 0; ctx.Err() == nil; n++ {
				ep := endpoints[(i+n)%len(endpoints)]
				cctx, ccancel := context.WithTimeout(ctx, faultCallTimeout)
				creds, err := exchange(cctx, ep, roleARN, "load", token)
				if err == nil {
					// The credentials sealed here are checked at the next endpoint.
					_, err = whoAmI(cctx, endpoints[(i+n+1)%len(endpoints)], creds)
				}
				ccancel()
				switch {
				case err == nil:
					l.ok.Add(1)
				case ctx.Err() != nil:
				default:
					l.failed.Add(1)
					l.mu.Lock()
					if len(l.errs) < 5 {
						l.errs = append(l.errs, ep+": "+err.Error())
					}
					l.mu.Unlock()
				}
			}
		}()
	}
	l.stop = func() { cancel(); wg.Wait() }
	return l
}

// check stops the load and fails t if any call failed or none succeeded.
func (l *exchangeLoad) check(t *testing.T, what string) {
	t.Helper()
	l.stop()
	if l.failed.Load() > 0 || l.ok.Load() == 0 {
		t.Errorf("%s: %d exchanges succeeded, %d failed; first failures: %q", what, l.ok.Load(), l.failed.Load(), l.errs)
	}
}

// secretWrites creates secrets one after another until stopped, noting which calls
// succeeded and how the others failed. (Secrets, not IAM entities: an IAM change
// empties STS's caches, and the drill's exchanges run on them.)
type secretWrites struct {
	created []string
	failed  map[string]error
	stop    func()
}

func startSecretWrites(c *secretsmanager.Client) *secretWrites {
	w := &secretWrites{failed: map[string]error{}}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; ctx.Err() == nil; i++ {
			name := "write-" + strconv.Itoa(i)
			cctx, ccancel := context.WithTimeout(context.Background(), faultCallTimeout)
			_, err := c.CreateSecret(cctx, &secretsmanager.CreateSecretInput{Name: aws.String(name), SecretString: aws.String("value of " + name)})
			ccancel()
			if err == nil {
				w.created = append(w.created, name)
			} else {
				w.failed[name] = err
			}
		}
	}()
	w.stop = func() { cancel(); <-done }
	return w
}

// check fails t unless every failed write got ServiceUnavailable (503) and every
// write that succeeded is stored whole: the secret with its current value.
func (w *secretWrites) check(t *testing.T, ctx context.Context, p *upProc, c *secretsmanager.Client) {
	t.Helper()
	if len(w.created) == 0 || len(w.failed) == 0 {
		t.Errorf("secret writes across the outage: %d succeeded, %d failed; want some of each", len(w.created), len(w.failed))
	}
	for name, err := range w.failed {
		if code, status := apiError(err); code != "ServiceUnavailable" || status != http.StatusServiceUnavailable {
			t.Errorf("CreateSecret %s as the store went away: %v, want ServiceUnavailable 503; the server's log of it:\n%s", name, err, logOf(p, err))
		}
	}
	for _, name := range w.created {
		out, err := c.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(name)})
		if err != nil || aws.ToString(out.SecretString) != "value of "+name {
			t.Errorf("secret %s, created before the outage: %v", name, err)
		}
	}
}

// TestFaultStoreUnavailable stops PostgreSQL mid-load (a proxy in front of it is cut:
// new connections refused, open ones closed): calls that need the store get an
// AWS-shaped ServiceUnavailable (503) in each protocol, token exchanges for roles
// already cached keep working, /readyz says the store is down while /healthz stays
// 200, nothing is half-written, and service returns when the database does, with no
// restart.
func TestFaultStoreUnavailable(t *testing.T) {
	pg := newPGStore(t, nil)
	p := pg.replica(t, nil)
	ctx := context.Background()
	m := mintJSON(t, p.env, "--repository", "web")
	token := m.Token
	roleARN := webIdentityRole(t, p, "deploy", m.Claims["repositoryUuid"].(string))
	endpoint := p.env["KEYLESS_ENDPOINT"]
	if _, err := exchange(ctx, endpoint, roleARN, "warm", token); err != nil {
		t.Fatalf("exchange before the fault: %v", err)
	}
	if code, body := readyz(t, p); code != 200 || body.Status != "ready" || len(body.Checks) < 2 {
		t.Fatalf("/readyz before the fault: %d %+v", code, body)
	}

	load := startExchangeLoad([]string{endpoint}, roleARN, token, 2)
	iamC := iam.NewFromConfig(noRetry(rootConfig(p)))
	sm := smClient(p, noRetry(rootConfig(p)))
	writes := startSecretWrites(sm)
	time.Sleep(300 * time.Millisecond) // mid-load
	pg.proxy.cut()
	time.Sleep(300 * time.Millisecond)
	writes.stop()

	cctx, cancel := context.WithTimeout(ctx, faultCallTimeout)
	defer cancel()
	for _, tc := range []struct {
		protocol string
		call     func() error
	}{
		{"query (IAM CreateRole)", func() error {
			_, err := iamC.CreateRole(cctx, &iam.CreateRoleInput{RoleName: aws.String("during-outage"), AssumeRolePolicyDocument: aws.String(otherTrust(p))})
			return err
		}},
		{"query (IAM GetRole)", func() error {
			_, err := iamC.GetRole(cctx, &iam.GetRoleInput{RoleName: aws.String("deploy")})
			return err
		}},
		{"JSON (Secrets Manager ListSecrets)", func() error {
			_, err := smClient(p, noRetry(rootConfig(p))).ListSecrets(cctx, &secretsmanager.ListSecretsInput{})
			return err
		}},
		{"REST (S3 CreateBucket)", func() error {
			cfg := noRetry(rootConfig(p))
			cfg.BaseEndpoint = aws.String(p.env["AWS_ENDPOINT_URL_S3"])
			_, err := s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true }).CreateBucket(cctx, &s3.CreateBucketInput{Bucket: aws.String("during-outage")})
			return err
		}},
	} {
		err := tc.call()
		if code, status := apiError(err); code != "ServiceUnavailable" || status != http.StatusServiceUnavailable {
			t.Errorf("%s with the store down: %v (code %q, status %d), want ServiceUnavailable 503", tc.protocol, err, code, status)
		}
	}
	code, body := readyz(t, p)
	if code != http.StatusServiceUnavailable || body.Status != "not ready" || strings.Join(body.failing(), ",") != "store" {
		t.Errorf("/readyz with the store down: %d %+v, want 503 naming the store check", code, body)
	}
	if resp, err := http.Get(endpoint + "/healthz"); err != nil || resp.StatusCode != 200 {
		t.Errorf("/healthz with the store down: %v %v, want 200 (liveness)", resp, err)
	} else {
		resp.Body.Close()
	}
	time.Sleep(1200 * time.Millisecond) // past the role cache's lifetime: the exchanges run on its stale copy
	load.check(t, "token exchanges with the store down")

	pg.proxy.restore()
	waitFor(t, 20*time.Second, "/readyz after the store returned", func() bool {
		code, _ := readyz(t, p)
		return code == 200
	})
	if _, err := iamC.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String("during-outage")}); err == nil {
		t.Error("the role whose CreateRole got ServiceUnavailable exists")
	} else if code, _ := apiError(err); code != "NoSuchEntity" {
		t.Errorf("GetRole after recovery: %v, want NoSuchEntity", err)
	}
	if _, err := iamC.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("during-outage"), AssumeRolePolicyDocument: aws.String(otherTrust(p))}); err != nil {
		t.Errorf("CreateRole after recovery: %v", err)
	}
	writes.check(t, ctx, p, sm)
	fresh := mintJSON(t, p.env, "--repository", "web").Token
	if _, err := exchange(ctx, endpoint, roleARN, "after", fresh); err != nil {
		t.Errorf("exchange after recovery: %v", err)
	}
	logs := p.settledStderr()
	for _, want := range []string{"store unavailable", "store available again"} {
		if !strings.Contains(logs, want) {
			t.Errorf("the log has no %q line:\n%s", want, tail(logs, 40))
		}
	}
	if p.cmd.ProcessState != nil {
		t.Error("keyless up exited during the drill")
	}
}

// logOf returns the lines of p's log about the request that failed with err.
func logOf(p *upProc, err error) string {
	var re interface{ ServiceRequestID() string }
	if !errors.As(err, &re) || re.ServiceRequestID() == "" {
		return "(no request ID)"
	}
	var out []string
	for _, l := range strings.Split(p.settledStderr(), "\n") {
		if strings.Contains(l, re.ServiceRequestID()) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// tail returns the last n lines of s.
func tail(s string, n int) string {
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
