package cloudfront

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	cfsdk "github.com/aws/aws-sdk-go-v2/service/cloudfront"
	cftypes "github.com/aws/aws-sdk-go-v2/service/cloudfront/types"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/keyless-dev/keyless/audit"
)

const testAccount = "123456789012"

// fakeClock is the injected clock: time moves only when a test says so.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock() *fakeClock {
	return &fakeClock{now: time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// fakeAuthorizer allows everything except the denied "action resource"
// pairs, and remembers what it was asked.
type fakeAuthorizer struct {
	mu     sync.Mutex
	deny   map[string]bool
	fail   error // returned for every request when set
	asked  []string
	caller string
}

func (a *fakeAuthorizer) Authorize(_ context.Context, action, resource string) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.asked = append(a.asked, action+" "+resource)
	if a.fail != nil {
		return a.fail
	}
	if a.deny[action+" "+resource] {
		return &Denial{
			Message:   fmt.Sprintf("User: %s is not authorized to perform: %s on resource: %s because no identity-based policy allows the %s action", a.caller, action, resource, action),
			Statement: "inline policy deploy statement #0",
			Reason:    "NoMatchingStatement",
		}
	}
	return nil
}

func (a *fakeAuthorizer) Asked() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return slices.Clone(a.asked)
}

// fakeAuditor keeps the events.
type fakeAuditor struct {
	mu     sync.Mutex
	events []audit.Event
}

func (a *fakeAuditor) Record(e audit.Event) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.events = append(a.events, e)
}

func (a *fakeAuditor) Events() []audit.Event {
	a.mu.Lock()
	defer a.mu.Unlock()
	return slices.Clone(a.events)
}

// invalidated is one Listener notification.
type invalidated struct {
	dist  string
	paths []string
}

// fakeListener keeps the notifications.
type fakeListener struct {
	mu    sync.Mutex
	calls []invalidated
}

func (l *fakeListener) Invalidated(dist string, paths []string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.calls = append(l.calls, invalidated{dist, paths})
}

func (l *fakeListener) Calls() []invalidated {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.calls)
}

// env is the service behind an httptest server and an official client.
type env struct {
	t        *testing.T
	svc      *Service
	clock    *fakeClock
	authz    *fakeAuthorizer
	audit    *fakeAuditor
	listener *fakeListener
	srv      *httptest.Server
	client   *cfsdk.Client
	// wrap, when set, is called around every request (after the service).
	mu   sync.Mutex
	wrap func(r *http.Request)
}

const testCaller = "arn:aws:iam::123456789012:user/deployer"

// newEnv starts a service with one declared distribution, EDECLARED00001
// (bucket site-bucket), and the given invalidation delay.
func newEnv(t *testing.T, delay time.Duration) *env {
	t.Helper()
	e := &env{
		t:        t,
		clock:    newClock(),
		authz:    &fakeAuthorizer{deny: map[string]bool{}, caller: testCaller},
		audit:    &fakeAuditor{},
		listener: &fakeListener{},
	}
	svc, err := New(Config{
		Account:           testAccount,
		Authorizer:        e.authz,
		Audit:             e.audit,
		Identify:          func(context.Context) Identity { return Identity{Caller: testCaller, SourceIP: "192.0.2.7"} },
		Listener:          e.listener,
		InvalidationDelay: delay,
		Declared:          []Declared{{ID: "EDECLARED00001", Bucket: "site-bucket", Comment: "declared"}},
		Now:               e.clock.Now,
	})
	if err != nil {
		t.Fatal(err)
	}
	e.svc = svc
	e.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		svc.ServeHTTP(w, r)
		e.mu.Lock()
		wrap := e.wrap
		e.mu.Unlock()
		if wrap != nil {
			wrap(r)
		}
	}))
	t.Cleanup(e.srv.Close)
	e.client = cfsdk.New(cfsdk.Options{
		BaseEndpoint: aws.String(e.srv.URL),
		Region:       "us-east-1",
		Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{AccessKeyID: "AKIDEXAMPLE", SecretAccessKey: "secret", Source: "test"}, nil
		}),
		Retryer:    transportRaceRetryer(),
		HTTPClient: e.srv.Client(),
	})
	return e
}

// transportRaceRetryer retries a call only when the client's own connection
// was closed under it (net.ErrClosed), at once. This is a known race between
// net/http's write loop and smithy-go closing the request body once the
// response has arrived (aws/aws-sdk-go-v2#1825, #2737; the SDK's standard
// retryer retries it since #2949). A server that answers as soon as it has read
// the body — this one on loopback — can hit it with large bodies (3,000
// paths). Every other error, 4xx or 5xx, is returned on the first attempt.
func transportRaceRetryer() aws.Retryer {
	return retry.NewStandard(func(o *retry.StandardOptions) {
		o.MaxAttempts = 3
		o.Backoff = retry.BackoffDelayerFunc(func(int, error) (time.Duration, error) { return 0, nil })
		o.RateLimiter = ratelimit.None
		o.Retryables = []retry.IsErrorRetryable{retry.IsErrorRetryableFunc(func(err error) aws.Ternary {
			return aws.BoolTernary(errors.Is(err, net.ErrClosed))
		})}
		o.Throttles = nil
	})
}

// after sets the hook run after every request.
func (e *env) after(f func(r *http.Request)) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.wrap = f
}

// invalidate creates an invalidation and fails the test on an error.
func (e *env) invalidate(dist, ref string, paths ...string) *cfsdk.CreateInvalidationOutput {
	e.t.Helper()
	out, err := e.createInvalidation(dist, ref, len(paths), paths...)
	if err != nil {
		e.t.Fatalf("CreateInvalidation %s (%d paths): %v", ref, len(paths), err)
	}
	return out
}

func (e *env) createInvalidation(dist, ref string, quantity int, paths ...string) (*cfsdk.CreateInvalidationOutput, error) {
	return e.client.CreateInvalidation(context.Background(), &cfsdk.CreateInvalidationInput{
		DistributionId: aws.String(dist),
		InvalidationBatch: &cftypes.InvalidationBatch{
			CallerReference: aws.String(ref),
			Paths:           &cftypes.Paths{Quantity: aws.Int32(int32(quantity)), Items: paths},
		},
	})
}

// minimalConfig is the smallest DistributionConfig for an S3 bucket site.
func minimalConfig(ref, bucket string) *cftypes.DistributionConfig {
	return &cftypes.DistributionConfig{
		CallerReference:   aws.String(ref),
		Comment:           aws.String("site " + bucket),
		Enabled:           aws.Bool(true),
		DefaultRootObject: aws.String("index.html"),
		Origins: &cftypes.Origins{Quantity: aws.Int32(1), Items: []cftypes.Origin{{
			Id:             aws.String("s3"),
			DomainName:     aws.String(bucket + ".s3.amazonaws.com"),
			S3OriginConfig: &cftypes.S3OriginConfig{OriginAccessIdentity: aws.String("")},
		}}},
		DefaultCacheBehavior: &cftypes.DefaultCacheBehavior{
			TargetOriginId:       aws.String("s3"),
			ViewerProtocolPolicy: cftypes.ViewerProtocolPolicyRedirectToHttps,
			//lint:ignore SA1019 the legacy TTLs are the minimal configuration under test
			MinTTL: aws.Int64(0),
		},
	}
}

// ttls returns the legacy MinTTL, DefaultTTL and MaxTTL of a behavior.
func ttls(b *cftypes.DefaultCacheBehavior) [3]int64 {
	//lint:ignore SA1019 the legacy TTLs are part of the wire contract under test
	return [3]int64{aws.ToInt64(b.MinTTL), aws.ToInt64(b.DefaultTTL), aws.ToInt64(b.MaxTTL)}
}

// setTTLs sets the legacy MinTTL and DefaultTTL of a behavior.
func setTTLs(b *cftypes.DefaultCacheBehavior, minTTL, defaultTTL int64) {
	//lint:ignore SA1019 the legacy TTLs are part of the wire contract under test
	b.MinTTL, b.DefaultTTL = aws.Int64(minTTL), aws.Int64(defaultTTL)
}

// paths returns n distinct paths with the given prefix and suffix.
func paths(n int, prefix, suffix string) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s%d%s", prefix, i, suffix)
	}
	return out
}

// status is the HTTP status of a successful call's response.
func status(t *testing.T, md middleware.Metadata) int {
	t.Helper()
	r, ok := awsmiddleware.GetRawResponse(md).(*smithyhttp.Response)
	if !ok {
		t.Fatal("no raw response")
	}
	return r.StatusCode
}

// wantErr asserts an AWS error's code and HTTP status, and (when msg is not
// empty) its message.
func wantErr(t *testing.T, err error, code string, httpStatus int, msg string) {
	t.Helper()
	if err == nil {
		t.Fatalf("want %s, got success", code)
	}
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		t.Fatalf("want API error %s, got %v", code, err)
	}
	if ae.ErrorCode() != code {
		t.Fatalf("code = %s (%s), want %s", ae.ErrorCode(), ae.ErrorMessage(), code)
	}
	var re *awshttp.ResponseError
	if !errors.As(err, &re) {
		t.Fatalf("no HTTP response in %v", err)
	}
	if re.HTTPStatusCode() != httpStatus {
		t.Fatalf("%s status = %d, want %d", code, re.HTTPStatusCode(), httpStatus)
	}
	if msg != "" && ae.ErrorMessage() != msg {
		t.Fatalf("%s message = %q, want %q", code, ae.ErrorMessage(), msg)
	}
}
