package client

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	ststypes "github.com/aws/aws-sdk-go-v2/service/sts/types"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// sdkError builds an error shaped like the SDK's for an STS error response.
func sdkError(status int, api error) error {
	return &smithy.OperationError{ServiceID: "STS", OperationName: "AssumeRoleWithWebIdentity",
		Err: &awshttp.ResponseError{
			ResponseError: &smithyhttp.ResponseError{
				Response: &smithyhttp.Response{Response: &http.Response{StatusCode: status}},
				Err:      api,
			},
			RequestID: "req-1",
		}}
}

func generic(code, msg string) error { return &smithy.GenericAPIError{Code: code, Message: msg} }

func sendError(err error) error {
	return &smithy.OperationError{ServiceID: "STS", OperationName: "AssumeRoleWithWebIdentity",
		Err: &smithyhttp.RequestSendError{Err: err}}
}

func TestClassify(t *testing.T) {
	verificationKey := "Couldn't retrieve verification key from your identity provider,  please reference AssumeRoleWithWebIdentity documentation for requirements"
	tests := []struct {
		name      string
		err       error
		retry     bool
		hint      string // substring of the hint; "" means no hint expected
		wantNoHit bool
	}{
		{"IDPCommunicationError", sdkError(400, &ststypes.IDPCommunicationErrorException{Message: ptr("idp down")}), true, "identity provider", false},
		{"verification key (typed)", sdkError(400, &ststypes.InvalidIdentityTokenException{Message: &verificationKey}), true, "signing keys", false},
		{"verification key (generic)", sdkError(400, generic("InvalidIdentityToken", verificationKey)), true, "signing keys", false},
		{"Throttling", sdkError(400, generic("Throttling", "Rate exceeded")), true, "", false},
		{"ThrottlingException", sdkError(400, generic("ThrottlingException", "Rate exceeded")), true, "", false},
		{"RequestLimitExceeded", sdkError(400, generic("RequestLimitExceeded", "slow down")), true, "", false},
		{"429 without code", sdkError(429, generic("", "")), true, "", false},
		{"InternalFailure 500", sdkError(500, generic("InternalFailure", "oops")), true, "", false},
		{"ServiceUnavailable 503", sdkError(503, generic("ServiceUnavailable", "busy")), true, "", false},
		{"502 from a proxy", sdkError(502, errors.New("deserialization failed")), true, "", false},
		{"connection refused", sendError(&net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}), true, "could not reach STS", false},
		{"connection reset", sendError(syscall.ECONNRESET), true, "", false},
		{"unexpected EOF", sendError(errors.New("read: unexpected EOF")), true, "", false},
		{"200 whose body broke off", sdkError(200, &smithy.DeserializationError{Err: fmt.Errorf("failed to decode response body, %w", io.ErrUnexpectedEOF)}), true, "broke while its answer was read", false},
		{"200 whose connection closed mid-body", sdkError(200, &smithy.DeserializationError{Err: &net.OpError{Op: "read", Net: "tcp", Err: net.ErrClosed}}), true, "broke while its answer was read", false},
		{"200 that is not STS's answer", sdkError(200, &smithy.DeserializationError{Err: errors.New("expected element type <AssumeRoleWithWebIdentityResponse> but have <html>")}), false, "", true},
		{"context canceled", sendError(context.Canceled), false, "", true},
		{"deadline exceeded", sendError(context.DeadlineExceeded), false, "", true},
		{"AccessDenied", sdkError(403, generic("AccessDenied", "Not authorized to perform sts:AssumeRoleWithWebIdentity")), false, "keyless explain --role-arn " + testRole, false},
		{"issuer not registered", sdkError(400, &ststypes.InvalidIdentityTokenException{Message: ptr("No OpenIDConnect provider found in your account for https://issuer.example")}), false, "issuer:", false},
		{"incorrect audience", sdkError(400, generic("InvalidIdentityToken", "Incorrect token audience")), false, "audience:", false},
		{"missing aud", sdkError(400, generic("InvalidIdentityToken", "Missing a required claim: aud")), false, "audience:", false},
		{"thumbprint", sdkError(400, generic("InvalidIdentityToken", "OpenIDConnect provider's HTTPS certificate doesn't match configured thumbprint")), false, "thumbprints", false},
		{"bad signature", sdkError(400, generic("InvalidIdentityToken", "Signature verification failed")), false, "signature:", false},
		{"other invalid token", sdkError(400, generic("InvalidIdentityToken", "")), false, "issuer, audience or signature", false},
		{"expired token", sdkError(400, &ststypes.ExpiredTokenException{Message: ptr("Token expired: current date/time 1 must be before the expiration date/time0")}), false, "get a fresh token", false},
		{"validation", sdkError(400, generic("ValidationError", "1 validation error detected: Value 'a b' at 'roleSessionName' failed to satisfy constraint")), false, "request parameter is invalid", false},
		{"duration too long", sdkError(400, generic("ValidationError", "The requested DurationSeconds exceeds the MaxSessionDuration set for this role.")), false, "MaxSessionDuration", false},
		{"malformed policy", sdkError(400, &ststypes.MalformedPolicyDocumentException{Message: ptr("bad")}), false, "session policy", false},
		{"packed policy", sdkError(400, &ststypes.PackedPolicyTooLargeException{Message: ptr("big")}), false, "session policy", false},
		{"IDPRejectedClaim", sdkError(403, &ststypes.IDPRejectedClaimException{Message: ptr("no")}), false, "rejected", false},
		{"unknown 400", sdkError(400, generic("SomethingElse", "x")), false, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			xe := newExchangeError(tt.err, testRole, "keyless explain --role-arn "+testRole, testToken)
			if xe.Retryable != tt.retry {
				t.Errorf("Retryable = %v, want %v (code %q, message %q)", xe.Retryable, tt.retry, xe.Code, xe.Message)
			}
			if tt.wantNoHit && xe.Hint != "" {
				t.Errorf("Hint = %q, want none", xe.Hint)
			}
			if tt.hint != "" && !strings.Contains(xe.Hint, tt.hint) {
				t.Errorf("Hint = %q, want it to contain %q", xe.Hint, tt.hint)
			}
			if strings.Count(xe.Error(), "\n") > 1 {
				t.Errorf("error spans more than two lines: %q", xe.Error())
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }

// recorder collects the waits of an Exchanger instead of sleeping.
type recorder struct {
	mu     sync.Mutex
	sleeps []time.Duration
	limits []time.Duration
}

func (r *recorder) sleep(_ context.Context, d time.Duration) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.sleeps = append(r.sleeps, d)
	return nil
}

// jitter returns the upper limit minus one, the longest full-jitter wait.
func (r *recorder) jitter(limit time.Duration) time.Duration {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.limits = append(r.limits, limit)
	return limit - 1
}

func newTestExchanger(t *testing.T, endpoint string, mod func(*ExchangeOptions)) (*Exchanger, *recorder) {
	t.Helper()
	rec := &recorder{}
	opts := ExchangeOptions{
		RoleARN:     testRole,
		SessionName: "test-session",
		Region:      "eu-west-1",
		Endpoint:    endpoint,
		MaxAttempts: 5,
		Sleep:       rec.sleep,
		Jitter:      rec.jitter,
	}
	if mod != nil {
		mod(&opts)
	}
	x, err := NewExchanger(opts)
	if err != nil {
		t.Fatalf("NewExchanger: %v", err)
	}
	return x, rec
}

func TestExchangeSuccessSendsFields(t *testing.T) {
	sts := newFakeSTS(t, nil)
	x, _ := newTestExchanger(t, sts.URL(), func(o *ExchangeOptions) {
		o.Duration = 900 * time.Second
		o.SessionPolicy = `{"Version":"2012-10-17","Statement":[]}`
		o.PolicyARNs = []string{"arn:aws:iam::aws:policy/ReadOnlyAccess", "arn:aws:iam::000000000000:policy/p"}
	})
	c, err := x.Exchange(context.Background(), testToken)
	if err != nil {
		t.Fatalf("Exchange: %v", err)
	}
	form := sts.lastAssume()
	want := url.Values{
		"Action":                  {"AssumeRoleWithWebIdentity"},
		"Version":                 {"2011-06-15"},
		"RoleArn":                 {testRole},
		"RoleSessionName":         {"test-session"},
		"WebIdentityToken":        {testToken},
		"DurationSeconds":         {"900"},
		"Policy":                  {`{"Version":"2012-10-17","Statement":[]}`},
		"PolicyArns.member.1.arn": {"arn:aws:iam::aws:policy/ReadOnlyAccess"},
		"PolicyArns.member.2.arn": {"arn:aws:iam::000000000000:policy/p"},
	}
	for k, v := range want {
		if form.Get(k) != v[0] {
			t.Errorf("form %s = %q, want %q", k, form.Get(k), v[0])
		}
	}
	if !strings.HasPrefix(c.AccessKeyID, "ASIAFAKE") || c.SecretAccessKey == "" || c.SessionToken == "" {
		t.Errorf("credentials incomplete: %v", c)
	}
	if c.AssumedRoleARN != "arn:aws:sts::000000000000:assumed-role/deploy/test-session" || c.Account() != "000000000000" {
		t.Errorf("assumed role = %q (account %q)", c.AssumedRoleARN, c.Account())
	}
	if c.Subject != "{repo}:{step}" || c.Audience != "sts.amazonaws.com" || c.RoleARN != testRole {
		t.Errorf("response fields: %+v", c)
	}
	if d := time.Until(c.Expiration); d < 14*time.Minute || d > 16*time.Minute {
		t.Errorf("expiration %s is not 15 minutes away", c.Expiration)
	}
	for _, s := range []string{c.String(), c.GoString(), fmt.Sprintf("%v %+v %#v %s %d %x %q", c, c, c, c, c, c, c)} {
		if strings.Contains(s, c.SecretAccessKey) || strings.Contains(s, c.SessionToken) {
			t.Errorf("String leaks a secret (%d-byte rendering withheld)", len(s))
		}
	}
}

func TestAccessDeniedFailsFastWithOneRequest(t *testing.T) {
	sts := newFakeSTS(t, nil)
	sts.fail = func(int, url.Values) *stsError {
		return &stsError{403, "AccessDenied", "Not authorized to perform sts:AssumeRoleWithWebIdentity"}
	}
	// Real sleeps: the point is that none happens.
	x, err := NewExchanger(ExchangeOptions{RoleARN: testRole, SessionName: "s1", Endpoint: sts.URL(), MaxAttempts: 10})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, err = x.Exchange(context.Background(), testToken)
	elapsed := time.Since(start)
	if elapsed >= time.Second {
		t.Errorf("AccessDenied took %s, want < 1s", elapsed)
	}
	if n := sts.assumeCount(); n != 1 {
		t.Errorf("STS saw %d requests, want exactly 1", n)
	}
	var xe *ExchangeError
	if !errors.As(err, &xe) {
		t.Fatalf("error %v is not an *ExchangeError", err)
	}
	if xe.Code != "AccessDenied" || xe.StatusCode != 403 || xe.Attempts != 1 || xe.RequestID != "req-err" {
		t.Errorf("ExchangeError = %+v", xe)
	}
	msg := err.Error()
	for _, want := range []string{"AccessDenied", "Not authorized", "hint: ", "keyless explain --role-arn " + testRole} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q lacks %q", msg, want)
		}
	}
	if strings.Contains(msg, testToken) {
		t.Errorf("error leaks the token: %q", msg)
	}
}

func TestExchangeRetriesTransientErrors(t *testing.T) {
	cases := map[string]stsError{
		"IDPCommunicationError": {400, "IDPCommunicationError", "idp unreachable"},
		"verification key":      {400, "InvalidIdentityToken", "Couldn't retrieve verification key from your identity provider,  please reference AssumeRoleWithWebIdentity documentation for requirements"},
		"throttling":            {400, "Throttling", "Rate exceeded"},
		"503":                   {503, "ServiceUnavailable", "busy"},
		"500":                   {500, "InternalFailure", "oops"},
	}
	for name, e := range cases {
		t.Run(name, func(t *testing.T) {
			sts := newFakeSTS(t, nil)
			sts.fail = func(n int, _ url.Values) *stsError {
				if n <= 3 {
					return &e
				}
				return nil
			}
			x, rec := newTestExchanger(t, sts.URL(), nil)
			c, err := x.Exchange(context.Background(), testToken)
			if err != nil {
				t.Fatalf("Exchange: %v", err)
			}
			if c.AccessKeyID == "" || sts.assumeCount() != 4 {
				t.Errorf("got %d requests, want 4", sts.assumeCount())
			}
			wantLimits := []time.Duration{200 * time.Millisecond, 400 * time.Millisecond, 800 * time.Millisecond}
			if len(rec.limits) != 3 {
				t.Fatalf("jitter limits %v, want %v", rec.limits, wantLimits)
			}
			for i := range wantLimits {
				if rec.limits[i] != wantLimits[i] || rec.sleeps[i] != wantLimits[i]-1 {
					t.Errorf("retry %d: limit %s sleep %s, want limit %s", i+1, rec.limits[i], rec.sleeps[i], wantLimits[i])
				}
			}
		})
	}
}

func TestExchangeGivesUpAfterMaxAttempts(t *testing.T) {
	sts := newFakeSTS(t, nil)
	sts.fail = func(int, url.Values) *stsError { return &stsError{400, "IDPCommunicationError", "idp unreachable"} }
	x, rec := newTestExchanger(t, sts.URL(), func(o *ExchangeOptions) { o.MaxAttempts = 8 })
	_, err := x.Exchange(context.Background(), testToken)
	var xe *ExchangeError
	if !errors.As(err, &xe) || xe.Code != "IDPCommunicationError" || xe.Attempts != 8 {
		t.Fatalf("err = %v, want IDPCommunicationError after 8 attempts", err)
	}
	if sts.assumeCount() != 8 {
		t.Errorf("STS saw %d requests, want 8", sts.assumeCount())
	}
	// Full jitter ceilings double from 200ms and stop at the 5s cap.
	want := []time.Duration{200, 400, 800, 1600, 3200, 5000, 5000}
	for i, w := range want {
		if rec.limits[i] != w*time.Millisecond {
			t.Errorf("limit %d = %s, want %s", i, rec.limits[i], w*time.Millisecond)
		}
	}
	if !strings.Contains(err.Error(), "after 8 attempts") {
		t.Errorf("error %q does not count attempts", err)
	}
}

// retriedTwice runs an exchange against a fake STS that answers its first two
// requests with fail: the exchange must succeed after two retries.
func retriedTwice(t *testing.T, fail func(t *testing.T, w http.ResponseWriter, r *http.Request)) {
	t.Helper()
	sts := newFakeSTS(t, nil)
	var mu sync.Mutex
	failures := 2
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		failing := failures > 0
		failures--
		mu.Unlock()
		if failing {
			fail(t, w, r)
			return
		}
		sts.srv.Config.Handler.ServeHTTP(w, r)
	}))
	defer proxy.Close()
	x, rec := newTestExchanger(t, proxy.URL, nil)
	if _, err := x.Exchange(context.Background(), testToken); err != nil {
		t.Fatalf("Exchange: %v", err)
	}
	if len(rec.sleeps) != 2 {
		t.Errorf("retried %d times, want 2", len(rec.sleeps))
	}
}

// TestExchangeRetriesNetworkErrors: a connection accepted and closed at once
// is retried.
func TestExchangeRetriesNetworkErrors(t *testing.T) {
	retriedTwice(t, func(t *testing.T, w http.ResponseWriter, _ *http.Request) {
		conn, _, err := w.(http.Hijacker).Hijack()
		if err == nil {
			conn.Close()
		}
	})
}

// TestExchangeRetriesBrokenAnswers: an answer whose status came but whose body
// broke off (the connection reset or closed mid-body, or the SDK's own race
// that closes a connection while a good answer is read,
// aws/aws-sdk-go-v2#1825) is transient, whatever its status: the exchange is
// retried and succeeds.
func TestExchangeRetriesBrokenAnswers(t *testing.T) {
	retriedTwice(t, func(t *testing.T, w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		conn, buf, err := w.(http.Hijacker).Hijack()
		if err != nil {
			t.Error(err)
			return
		}
		buf.WriteString("HTTP/1.1 200 OK\r\nContent-Type: text/xml\r\nContent-Length: 4096\r\n\r\n<AssumeRoleWithWebIdentityResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><AssumeRoleWithWebIdentityResult>")
		buf.Flush()
		conn.Close()
	})
}

func TestExchangeConnectionRefused(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	x, rec := newTestExchanger(t, "http://"+addr, func(o *ExchangeOptions) { o.MaxAttempts = 3 })
	_, err = x.Exchange(context.Background(), testToken)
	var xe *ExchangeError
	if !errors.As(err, &xe) || !xe.Retryable || xe.Attempts != 3 || len(rec.sleeps) != 2 {
		t.Fatalf("err = %v (%+v), sleeps %v", err, xe, rec.sleeps)
	}
}

func TestExchangeFailsFastWithHints(t *testing.T) {
	cases := []struct {
		e    stsError
		hint string
	}{
		{stsError{400, "InvalidIdentityToken", "No OpenIDConnect provider found in your account for https://issuer.example"}, "issuer"},
		{stsError{400, "InvalidIdentityToken", "Incorrect token audience"}, "audience"},
		{stsError{400, "ExpiredTokenException", "Token expired: current date/time 1763780000 must be before the expiration date/time1763770000"}, "token expired"},
		{stsError{400, "ValidationError", "The requested DurationSeconds exceeds the MaxSessionDuration set for this role."}, "MaxSessionDuration"},
		{stsError{400, "MalformedPolicyDocument", "Syntax errors in policy."}, "session policy"},
	}
	for _, c := range cases {
		t.Run(c.e.code, func(t *testing.T) {
			sts := newFakeSTS(t, nil)
			sts.fail = func(int, url.Values) *stsError { return &c.e }
			x, rec := newTestExchanger(t, sts.URL(), nil)
			_, err := x.Exchange(context.Background(), testToken)
			if err == nil || sts.assumeCount() != 1 || len(rec.sleeps) != 0 {
				t.Fatalf("err = %v after %d requests", err, sts.assumeCount())
			}
			if !strings.Contains(err.Error(), "hint: ") || !strings.Contains(err.Error(), c.hint) {
				t.Errorf("error %q lacks hint %q", err, c.hint)
			}
		})
	}
}

func TestExchangeRedactsTokenFromErrors(t *testing.T) {
	sts := newFakeSTS(t, nil)
	sts.fail = func(int, url.Values) *stsError {
		return &stsError{400, "ValidationError", "Value '" + testToken + "' at 'webIdentityToken' failed to satisfy constraint"}
	}
	x, _ := newTestExchanger(t, sts.URL(), nil)
	_, err := x.Exchange(context.Background(), testToken)
	if err == nil || strings.Contains(err.Error(), testToken) {
		t.Fatalf("error leaks the token: %v", err)
	}
}

func TestAllowedAccountIDs(t *testing.T) {
	sts := newFakeSTS(t, nil)
	_, err := NewExchanger(ExchangeOptions{RoleARN: testRole, SessionName: "s1", AllowedAccountIDs: []string{"111111111111"}})
	if err == nil || !strings.Contains(err.Error(), "not among the allowed account IDs") {
		t.Errorf("role of another account: err = %v", err)
	}
	// The endpoint answers with an assumed role in another account than the role's.
	evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := httptest.NewRecorder()
		sts.srv.Config.Handler.ServeHTTP(rec, r)
		body := strings.ReplaceAll(rec.Body.String(), "sts::000000000000:", "sts::999999999999:")
		w.Header().Set("Content-Type", "text/xml")
		w.WriteHeader(rec.Code)
		_, _ = w.Write([]byte(body))
	}))
	defer evil.Close()
	x, _ := newTestExchanger(t, evil.URL, func(o *ExchangeOptions) { o.AllowedAccountIDs = []string{"000000000000"} })
	_, err = x.Exchange(context.Background(), testToken)
	if err == nil || !strings.Contains(err.Error(), `refusing credentials of account "999999999999"`) {
		t.Errorf("assumed role in another account: err = %v", err)
	}
	x, _ = newTestExchanger(t, sts.URL(), func(o *ExchangeOptions) { o.AllowedAccountIDs = []string{"000000000000", "123456789012"} })
	if _, err := x.Exchange(context.Background(), testToken); err != nil {
		t.Errorf("allowed account: %v", err)
	}
}

func TestNewExchangerValidates(t *testing.T) {
	for name, o := range map[string]ExchangeOptions{
		"not a role ARN":  {RoleARN: "arn:aws:iam::000000000000:user/x", SessionName: "s1"},
		"short duration":  {RoleARN: testRole, SessionName: "s1", Duration: time.Minute},
		"long duration":   {RoleARN: testRole, SessionName: "s1", Duration: 13 * time.Hour},
		"no session name": {RoleARN: testRole},
		"11 policy ARNs":  {RoleARN: testRole, SessionName: "s1", PolicyARNs: make([]string, 11)},
	} {
		if _, err := NewExchanger(o); err == nil {
			t.Errorf("%s: NewExchanger accepted %+v", name, o)
		}
	}
}

func TestResolveEndpointAndRegion(t *testing.T) {
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	all := env(map[string]string{"AWS_ENDPOINT_URL_STS": "http://sts", "AWS_ENDPOINT_URL": "http://all"})
	if got := ResolveSTSEndpoint("http://flag", all); got != "http://flag" {
		t.Errorf("flag: %q", got)
	}
	if got := ResolveSTSEndpoint("", all); got != "http://sts" {
		t.Errorf("AWS_ENDPOINT_URL_STS: %q", got)
	}
	if got := ResolveSTSEndpoint("", env(map[string]string{"AWS_ENDPOINT_URL": "http://all"})); got != "http://all" {
		t.Errorf("AWS_ENDPOINT_URL: %q", got)
	}
	if got := ResolveSTSEndpoint("", env(nil)); got != "" {
		t.Errorf("none: %q", got)
	}
	if got := ResolveRegion("", env(map[string]string{"AWS_DEFAULT_REGION": "eu-north-1"})); got != "eu-north-1" {
		t.Errorf("AWS_DEFAULT_REGION: %q", got)
	}
	if got := ResolveRegion("", env(map[string]string{"AWS_REGION": "ap-south-1", "AWS_DEFAULT_REGION": "eu-north-1"})); got != "ap-south-1" {
		t.Errorf("AWS_REGION: %q", got)
	}
	if got := ResolveRegion("", env(nil)); got != DefaultRegion {
		t.Errorf("default: %q", got)
	}
}

// TestExchangeDefaultEndpointIsRegional checks that without an override the SDK is
// pointed at the regional STS endpoint, by intercepting the request.
func TestExchangeDefaultEndpointIsRegional(t *testing.T) {
	var host string
	hc := roundTripFunc(func(r *http.Request) (*http.Response, error) {
		host = r.URL.Host
		return nil, errors.New("intercepted")
	})
	x, _ := newTestExchanger(t, "", func(o *ExchangeOptions) {
		o.HTTPClient = &http.Client{Transport: hc}
		o.MaxAttempts = 1
	})
	_, _ = x.Exchange(context.Background(), testToken)
	if host != "sts.eu-west-1.amazonaws.com" {
		t.Errorf("default endpoint host = %q, want sts.eu-west-1.amazonaws.com", host)
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
