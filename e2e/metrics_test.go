package e2e

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sts"
)

// TestMetricsAfterKnownTraffic drives known traffic through `keyless up` (IAM
// calls, an allowed, a denied and a malformed web identity exchange, S3 calls that
// succeed, fail and are denied, an IAM action keyless does not serve) and checks
// that a scrape of GET /metrics shows exactly the counts it should, with the
// labels it should, and no secret of the traffic.
func TestMetricsAfterKnownTraffic(t *testing.T) {
	f := newFederation(t) // 1 CreateOpenIDConnectProvider and 4 CreateRole, all allowed
	p := f.p
	ctx := context.Background()
	webToken := mintJSON(t, p.env, "--repository", "web", "--environment", "production").Token
	apiToken := mintJSON(t, p.env, "--repository", "api").Token
	const sessionName = "metrics-e2e-session-7f3a"

	stsc := sts.NewFromConfig(aws.Config{
		Region: "us-east-1", BaseEndpoint: aws.String(p.env["KEYLESS_ENDPOINT"]),
		Credentials: aws.AnonymousCredentials{}, RetryMaxAttempts: 1,
	})
	exchange := func(role, token string) (*sts.AssumeRoleWithWebIdentityOutput, error) {
		return stsc.AssumeRoleWithWebIdentity(ctx, &sts.AssumeRoleWithWebIdentityInput{
			RoleArn: aws.String(role), RoleSessionName: aws.String(sessionName), WebIdentityToken: aws.String(token),
		})
	}
	allowed, err := exchange(f.repoRole, webToken)
	if err != nil {
		t.Fatalf("exchange for the web repository's role: %v", err)
	}
	if _, err := exchange(f.repoRole, apiToken); err == nil {
		t.Fatal("the api repository's token was exchanged for the web repository's role")
	} else if code, _ := apiError(err); code != "AccessDenied" {
		t.Fatalf("denied exchange: %v, want AccessDenied", err)
	}
	if _, err := exchange(f.repoRole, "not-a-jwt"); err == nil {
		t.Fatal("a malformed token was exchanged")
	} else if code, _ := apiError(err); code != "InvalidIdentityToken" {
		t.Fatalf("malformed token: %v, want InvalidIdentityToken", err)
	}

	root := rootConfig(p)
	root.RetryMaxAttempts = 1
	iamc := iam.NewFromConfig(root)
	if _, err := iamc.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String("WebRepoRole")}); err != nil {
		t.Fatalf("GetRole: %v", err)
	}
	if _, err := iamc.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String("NoSuchRole")}); err == nil {
		t.Fatal("GetRole of a missing role succeeded")
	}
	// An action IAM does not have: counted as "other", never under its name.
	if status := signedIAMCall(t, p, "Action=ListMetricsE2EUnknownZq7&Version=2010-05-08"); status != http.StatusBadRequest {
		t.Fatalf("unknown IAM action: HTTP %d, want 400", status)
	}

	s3c := s3.NewFromConfig(root, func(o *s3.Options) { o.UsePathStyle = true })
	bucket := aws.String("metrics-e2e")
	if _, err := s3c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: bucket}); err != nil {
		t.Fatalf("CreateBucket: %v", err)
	}
	for _, key := range []string{"a.txt", "b.txt"} {
		if _, err := s3c.PutObject(ctx, &s3.PutObjectInput{Bucket: bucket, Key: aws.String(key), Body: strings.NewReader("metrics")}); err != nil {
			t.Fatalf("PutObject %s: %v", key, err)
		}
	}
	out, err := s3c.GetObject(ctx, &s3.GetObjectInput{Bucket: bucket, Key: aws.String("a.txt")})
	if err != nil {
		t.Fatalf("GetObject: %v", err)
	}
	io.Copy(io.Discard, out.Body)
	out.Body.Close()
	if _, err := s3c.GetObject(ctx, &s3.GetObjectInput{Bucket: bucket, Key: aws.String("missing.txt")}); err == nil {
		t.Fatal("GetObject of a missing key succeeded")
	}
	// The role has no identity policy: its session may not write.
	c := allowed.Credentials
	session := root
	session.Credentials = credentials.NewStaticCredentialsProvider(aws.ToString(c.AccessKeyId), aws.ToString(c.SecretAccessKey), aws.ToString(c.SessionToken))
	if _, err := s3.NewFromConfig(session, func(o *s3.Options) { o.UsePathStyle = true }).PutObject(ctx, &s3.PutObjectInput{
		Bucket: bucket, Key: aws.String("c.txt"), Body: strings.NewReader("denied"),
	}); err == nil {
		t.Fatal("a session without permissions wrote to S3")
	}

	local := p.env["KEYLESS_ISSUER"]
	want := map[string]float64{
		`keyless_requests_total{action="CreateOpenIDConnectProvider",error_code="",outcome="success",service="iam"}`:                 1,
		`keyless_requests_total{action="CreateRole",error_code="",outcome="success",service="iam"}`:                                  4,
		`keyless_requests_total{action="GetRole",error_code="",outcome="success",service="iam"}`:                                     1,
		`keyless_requests_total{action="GetRole",error_code="NoSuchEntity",outcome="error",service="iam"}`:                           1,
		`keyless_requests_total{action="other",error_code="InvalidAction",outcome="error",service="iam"}`:                            1,
		`keyless_requests_total{action="AssumeRoleWithWebIdentity",error_code="",outcome="success",service="sts"}`:                   1,
		`keyless_requests_total{action="AssumeRoleWithWebIdentity",error_code="AccessDenied",outcome="denied",service="sts"}`:        1,
		`keyless_requests_total{action="AssumeRoleWithWebIdentity",error_code="InvalidIdentityToken",outcome="error",service="sts"}`: 1,
		`keyless_requests_total{action="CreateBucket",error_code="",outcome="success",service="s3"}`:                                 1,
		`keyless_requests_total{action="PutObject",error_code="",outcome="success",service="s3"}`:                                    2,
		`keyless_requests_total{action="PutObject",error_code="AccessDenied",outcome="denied",service="s3"}`:                         1,
		`keyless_requests_total{action="GetObject",error_code="",outcome="success",service="s3"}`:                                    1,
		`keyless_requests_total{action="GetObject",error_code="NoSuchKey",outcome="error",service="s3"}`:                             1,
		`keyless_request_duration_seconds_count{action="AssumeRoleWithWebIdentity",service="sts"}`:                                   3,
		`keyless_request_duration_seconds_count{action="PutObject",service="s3"}`:                                                    3,
		`keyless_token_exchanges_total{decision="allowed",provider="bitbucket"}`:                                                     1,
		`keyless_token_exchanges_total{decision="denied",provider="bitbucket"}`:                                                      1,
		`keyless_token_exchanges_total{decision="error",provider="bitbucket"}`:                                                       0,
		`keyless_token_exchanges_total{decision="error",provider="other"}`:                                                           1,
		// The first exchange fetched the local issuer's keys; the second found them.
		`keyless_jwks_fetches_total{issuer="` + local + `",result="success"}`: 1,
		`keyless_jwks_fetches_total{issuer="` + local + `",result="error"}`:   0,
		`keyless_jwks_cache_misses_total{issuer="` + local + `"}`:             1,
		`keyless_jwks_cache_hits_total{issuer="` + local + `"}`:               1,
		`keyless_signing_keys{state="active"}`:                                1,
		`keyless_signing_keys{state="prepared"}`:                              0,
		`keyless_session_keyring_keys`:                                        1,
		`keyless_store_operation_errors_total{operation="GetRole"}`:           0,
	}
	// Services record some requests just after their reply: wait for the counts.
	var got map[string]float64
	var text string
	deadline := time.Now().Add(5 * time.Second)
	for {
		text, got = scrape(t, p.env["KEYLESS_ENDPOINT"]+"/metrics")
		if diff := metricsDiff(got, want); diff == "" {
			break
		} else if time.Now().After(deadline) {
			t.Fatalf("scrape after known traffic:\n%s", diff)
		}
		time.Sleep(50 * time.Millisecond)
	}
	for _, name := range []string{
		"keyless_audit_queue_length", "keyless_session_keyring_age_seconds", "keyless_signing_key_next_activation_seconds",
		`keyless_store_operation_duration_seconds_count{operation="GetRole"}`, "go_goroutines", "process_resident_memory_bytes",
	} {
		if _, ok := got[name]; !ok {
			t.Errorf("scrape has no %s", name)
		}
	}
	if strings.Contains(text, "ListMetricsE2EUnknownZq7") {
		t.Error("the unknown action's name is a label value")
	}

	// No secret of the traffic, nor the server's, is anywhere in the scrape.
	secrets := map[string]string{
		"web identity token (allowed)": webToken, "web identity token (denied)": apiToken,
		"role session name":  sessionName,
		"session access key": aws.ToString(c.AccessKeyId), "session secret key": aws.ToString(c.SecretAccessKey),
		"session token":   aws.ToString(c.SessionToken),
		"root access key": p.env["KEYLESS_ROOT_ACCESS_KEY_ID"], "root secret key": p.env["KEYLESS_ROOT_SECRET_ACCESS_KEY"],
		"runner token": p.env["KEYLESS_RUNNER_TOKEN"],
	}
	for what, s := range secrets {
		if s == "" {
			t.Fatalf("test bug: no %s", what)
		}
		if strings.Contains(text, s) {
			t.Errorf("the scrape holds the %s", what)
		}
	}
	// Nor a part of a token: its signature, the likeliest piece to leak alone.
	if sig := webToken[strings.LastIndex(webToken, ".")+1:]; strings.Contains(text, sig) {
		t.Error("the scrape holds a token's signature")
	}
}

// TestMetricsListen checks that --metrics-listen serves the metrics on their own
// address, and no longer on the main one.
func TestMetricsListen(t *testing.T) {
	p := startUp(t, t.TempDir(), "--metrics-listen", "127.0.0.1:0")
	m := regexp.MustCompile(`msg="metrics served" url=(\S+)`).FindStringSubmatch(p.stderr.String())
	if m == nil {
		t.Fatalf("keyless up logged no metrics address:\n%s", p.stderr)
	}
	if !strings.HasPrefix(m[1], "http://127.0.0.1:") || strings.HasPrefix(m[1], p.env["KEYLESS_ENDPOINT"]+"/") {
		t.Fatalf("metrics at %s, want their own 127.0.0.1 address (main endpoint %s)", m[1], p.env["KEYLESS_ENDPOINT"])
	}
	_, got := scrape(t, m[1])
	if v, ok := got[`keyless_signing_keys{state="active"}`]; !ok || v != 1 {
		t.Errorf("keyless_signing_keys{state=\"active\"} = %v (present %v) on %s, want 1", v, ok, m[1])
	}
	resp, err := http.Get(p.env["KEYLESS_ENDPOINT"] + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("GET /metrics on the main endpoint: HTTP %d, want 404 with --metrics-listen", resp.StatusCode)
	}
}

// signedIAMCall sends a Query-protocol request body to IAM signed with the root
// credentials and returns the HTTP status.
func signedIAMCall(t *testing.T, p *upProc, body string) int {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, p.env["KEYLESS_ENDPOINT"]+"/", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	sum := sha256.Sum256([]byte(body))
	creds := aws.Credentials{AccessKeyID: p.env["KEYLESS_ROOT_ACCESS_KEY_ID"], SecretAccessKey: p.env["KEYLESS_ROOT_SECRET_ACCESS_KEY"]}
	if err := v4.NewSigner().SignHTTP(context.Background(), creds, req, hex.EncodeToString(sum[:]), "iam", "us-east-1", time.Now()); err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

// scrape GETs a Prometheus text exposition and returns it with its samples, keyed
// by name and labels in the form `name{a="x",b="y"}` (labels sorted, as the
// exposition writes them).
func scrape(t *testing.T, url string) (string, map[string]float64) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain") {
		t.Fatalf("GET %s: HTTP %d, Content-Type %q", url, resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	samples := map[string]float64{}
	for _, line := range strings.Split(string(body), "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if i < 0 || err != nil {
			t.Fatalf("GET %s: malformed sample line %q", url, line)
		}
		samples[line[:i]] = v
	}
	return string(body), samples
}

// metricsDiff lists the samples of want that got lacks or has with another value.
func metricsDiff(got, want map[string]float64) string {
	var b bytes.Buffer
	keys := make([]string, 0, len(want))
	for k := range want {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		v, ok := got[k]
		switch {
		case !ok && want[k] == 0:
			// A counter never incremented may be absent.
		case !ok:
			fmt.Fprintf(&b, "  %s: absent, want %v\n", k, want[k])
		case v != want[k]:
			fmt.Fprintf(&b, "  %s = %v, want %v\n", k, v, want[k])
		}
	}
	return b.String()
}

// TestMetricsListenRefused: a --metrics-listen address that is taken fails the start
// before the data directory is touched, naming the flag to change.
func TestMetricsListenRefused(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	data := filepath.Join(t.TempDir(), "fresh")
	stdout, stderr, code := run(t, cleanEnv(), "up", "--listen", "127.0.0.1:0", "--metrics-listen", busy.Addr().String(), "--data", data)
	says := "metrics: listen on " + busy.Addr().String() + ": the address is already in use: stop what is using it or choose another --metrics-listen address"
	if code == 0 || stdout != "" || !strings.Contains(stderr, says) {
		t.Errorf("exit %d, stdout %q, stderr %q; want a failure saying %q", code, stdout, stderr, says)
	}
	if _, err := os.Stat(data); !os.IsNotExist(err) {
		t.Errorf("the failed start created %s (%v)", data, err)
	}
}
