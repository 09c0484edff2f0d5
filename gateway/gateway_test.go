package gateway_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/keyless-dev/keyless/authn"
	"github.com/keyless-dev/keyless/awsapi"
	"github.com/keyless-dev/keyless/gateway"
	"github.com/keyless-dev/keyless/keywrap"
	"github.com/keyless-dev/keyless/store"
	"github.com/keyless-dev/keyless/store/sqlite"
)

const (
	account   = "123456789012"
	keyID     = "AKIAGATEWAYGATEWAY01"
	secret    = "gatewaysecretgatewaysecretgatewaysecret1"
	callerARN = "arn:aws:iam::" + account + ":user/gw"
)

// fakeService is a QueryService that records the calls it gets.
type fakeService struct {
	ns       string
	unsigned map[string]bool
	result   any
	err      error

	mu    sync.Mutex
	calls []*gateway.Call
}

func (f *fakeService) Namespace() string           { return f.ns }
func (f *fakeService) Unsigned(action string) bool { return f.unsigned[action] }
func (f *fakeService) Serve(_ context.Context, c *gateway.Call) (any, error) {
	f.mu.Lock()
	f.calls = append(f.calls, c)
	f.mu.Unlock()
	return f.result, f.err
}

func (f *fakeService) taken() []*gateway.Call {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := f.calls
	f.calls = nil
	return out
}

type getUserResult struct {
	UserName string
}

type env struct {
	sts, iam *fakeService
	gw       *gateway.Gateway
	srv      *httptest.Server
	now      time.Time
	caller   *authn.Principal
}

func lookup(p *authn.Principal) awsapi.CredentialLookup {
	return awsapi.CredentialLookupFunc(func(_ context.Context, id, _ string) (awsapi.Credential, error) {
		if id != keyID {
			return awsapi.Credential{}, awsapi.InvalidClientTokenID()
		}
		return awsapi.Credential{SecretAccessKey: secret, Principal: p}, nil
	})
}

func newEnv(t *testing.T, mod func(*gateway.Config)) *env {
	t.Helper()
	e := &env{
		sts:    &fakeService{ns: awsapi.NamespaceSTS, unsigned: map[string]bool{"AssumeRoleWithWebIdentity": true}, result: &getUserResult{UserName: "sts"}},
		iam:    &fakeService{ns: awsapi.NamespaceIAM, result: &getUserResult{UserName: "gw"}},
		now:    time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC),
		caller: &authn.Principal{Kind: authn.User, Account: account, ARN: callerARN, UserID: "AIDAGW", AccessKeyID: keyID},
	}
	cfg := gateway.Config{
		Services: map[string]gateway.QueryService{"sts": e.sts, "iam": e.iam},
		Verifier: awsapi.NewVerifier(lookup(e.caller)),
		Now:      func() time.Time { return e.now },
	}
	if mod != nil {
		mod(&cfg)
	}
	e.gw = gateway.New(cfg)
	e.srv = httptest.NewServer(e.gw)
	t.Cleanup(e.srv.Close)
	return e
}

func form(kv ...string) string {
	v := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		v.Set(kv[i], kv[i+1])
	}
	return v.Encode()
}

func newRequest(t *testing.T, base, body string) *http.Request {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, base+"/", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	return req
}

func sign(t *testing.T, req *http.Request, body, key, sec, service, region string) {
	t.Helper()
	sum := sha256.Sum256([]byte(body))
	if err := v4.NewSigner().SignHTTP(context.Background(), aws.Credentials{AccessKeyID: key, SecretAccessKey: sec}, req, hex.EncodeToString(sum[:]), service, region, time.Now()); err != nil {
		t.Fatal(err)
	}
}

type reply struct {
	status    int
	requestID string // x-amzn-RequestId
	body      string
	env       struct {
		XMLName xml.Name
		Xmlns   string `xml:"xmlns,attr"`
		Error   struct{ Type, Code, Message string }
		Result  struct{ UserName string } `xml:",any"`
		ReqID   string                    `xml:"RequestId"`
		Meta    struct {
			RequestID string `xml:"RequestId"`
		} `xml:"ResponseMetadata"`
	}
}

func do(t *testing.T, c *http.Client, req *http.Request) reply {
	t.Helper()
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	r := reply{status: resp.StatusCode, requestID: resp.Header.Get("x-amzn-RequestId"), body: string(b)}
	if err := xml.Unmarshal(b, &r.env); err != nil {
		t.Fatalf("reply is not XML: %v\n%s", err, b)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "text/xml" {
		t.Errorf("Content-Type = %q, want text/xml", ct)
	}
	return r
}

func (r reply) wantError(t *testing.T, status int, code, ns string) {
	t.Helper()
	if r.status != status || r.env.XMLName.Local != "ErrorResponse" || r.env.Error.Code != code {
		t.Fatalf("reply = %d %s %s, want %d ErrorResponse %s\n%s", r.status, r.env.XMLName.Local, r.env.Error.Code, status, code, r.body)
	}
	if r.env.Xmlns != ns {
		t.Errorf("namespace = %q, want %q", r.env.Xmlns, ns)
	}
	wantType := "Sender"
	if status >= 500 {
		wantType = "Receiver"
	}
	if r.env.Error.Type != wantType {
		t.Errorf("Type = %q, want %q", r.env.Error.Type, wantType)
	}
	if r.requestID == "" || r.env.ReqID != r.requestID {
		t.Errorf("RequestId %q in body, %q in header", r.env.ReqID, r.requestID)
	}
}

func TestRouting(t *testing.T) {
	type want struct {
		status  int
		code    string // error code; "" for success
		ns      string
		service string // which fake gets the call: "sts", "iam" or ""
		signed  bool
	}
	tests := []struct {
		name string
		req  func(t *testing.T, base string) *http.Request
		want want
	}{
		{"signed iam", func(t *testing.T, base string) *http.Request {
			body := form("Action", "GetUser", "Version", "2010-05-08", "UserName", "gw")
			r := newRequest(t, base, body)
			sign(t, r, body, keyID, secret, "iam", "us-east-1")
			return r
		}, want{status: 200, ns: awsapi.NamespaceIAM, service: "iam", signed: true}},
		{"signed sts", func(t *testing.T, base string) *http.Request {
			body := form("Action", "GetCallerIdentity", "Version", "2011-06-15")
			r := newRequest(t, base, body)
			sign(t, r, body, keyID, secret, "sts", "eu-west-1")
			return r
		}, want{status: 200, ns: awsapi.NamespaceSTS, service: "sts", signed: true}},
		{"signed GET with query parameters", func(t *testing.T, base string) *http.Request {
			r, err := http.NewRequest(http.MethodGet, base+"/?"+form("Action", "GetUser", "Version", "2010-05-08"), nil)
			if err != nil {
				t.Fatal(err)
			}
			sign(t, r, "", keyID, secret, "iam", "us-east-1")
			return r
		}, want{status: 200, ns: awsapi.NamespaceIAM, service: "iam", signed: true}},
		{"unsigned AssumeRoleWithWebIdentity", func(t *testing.T, base string) *http.Request {
			return newRequest(t, base, form("Action", "AssumeRoleWithWebIdentity", "Version", "2011-06-15", "RoleArn", "arn:aws:iam::123456789012:role/r"))
		}, want{status: 200, ns: awsapi.NamespaceSTS, service: "sts"}},
		{"unsigned GET AssumeRoleWithWebIdentity", func(t *testing.T, base string) *http.Request {
			r, err := http.NewRequest(http.MethodGet, base+"/?"+form("Action", "AssumeRoleWithWebIdentity"), nil)
			if err != nil {
				t.Fatal(err)
			}
			return r
		}, want{status: 200, ns: awsapi.NamespaceSTS, service: "sts"}},
		{"AssumeRoleWithWebIdentity with a stray Authorization header is served anonymously", func(t *testing.T, base string) *http.Request {
			body := form("Action", "AssumeRoleWithWebIdentity", "Version", "2011-06-15")
			r := newRequest(t, base, body)
			sign(t, r, body, keyID, "wrong-secret-wrong-secret-wrong-secret-xx", "sts", "us-east-1")
			return r
		}, want{status: 200, ns: awsapi.NamespaceSTS, service: "sts"}},
		{"a malformed Authorization header", func(t *testing.T, base string) *http.Request {
			r := newRequest(t, base, form("Action", "GetCallerIdentity", "Version", "2011-06-15"))
			r.Header.Set("Authorization", "AWS4-HMAC-SHA256 garbage")
			return r
		}, want{status: 400, code: "IncompleteSignature", ns: awsapi.NamespaceSTS}},
		{"unsigned other STS action", func(t *testing.T, base string) *http.Request {
			return newRequest(t, base, form("Action", "GetCallerIdentity", "Version", "2011-06-15"))
		}, want{status: 403, code: "MissingAuthenticationToken", ns: awsapi.NamespaceSTS}},
		{"unsigned IAM action", func(t *testing.T, base string) *http.Request {
			return newRequest(t, base, form("Action", "ListUsers", "Version", "2010-05-08"))
		}, want{status: 403, code: "MissingAuthenticationToken", ns: awsapi.NamespaceSTS}},
		{"unsigned without Action", func(t *testing.T, base string) *http.Request {
			return newRequest(t, base, "")
		}, want{status: 403, code: "MissingAuthenticationToken", ns: awsapi.NamespaceSTS}},
		{"signed for a service not served", func(t *testing.T, base string) *http.Request {
			body := form("Action", "ListQueues")
			r := newRequest(t, base, body)
			sign(t, r, body, keyID, secret, "sqs", "us-east-1")
			return r
		}, want{status: 400, code: "UnrecognizedClientException", ns: awsapi.NamespaceSTS}},
		{"bad signature", func(t *testing.T, base string) *http.Request {
			body := form("Action", "GetUser")
			r := newRequest(t, base, body)
			sign(t, r, body, keyID, strings.Repeat("x", 40), "iam", "us-east-1")
			return r
		}, want{status: 403, code: "SignatureDoesNotMatch", ns: awsapi.NamespaceIAM}},
		{"body changed after signing", func(t *testing.T, base string) *http.Request {
			body := form("Action", "GetUser", "UserName", "gw")
			r := newRequest(t, base, form("Action", "GetUser", "UserName", "admin"))
			sign(t, r, body, keyID, secret, "iam", "us-east-1")
			return r
		}, want{status: 403, code: "SignatureDoesNotMatch", ns: awsapi.NamespaceIAM}},
		{"unknown access key", func(t *testing.T, base string) *http.Request {
			body := form("Action", "GetCallerIdentity")
			r := newRequest(t, base, body)
			sign(t, r, body, "AKIAUNKNOWNUNKNOWN01", secret, "sts", "us-east-1")
			return r
		}, want{status: 403, code: "InvalidClientTokenId", ns: awsapi.NamespaceSTS}},
		{"signed without Action", func(t *testing.T, base string) *http.Request {
			body := form("Version", "2010-05-08")
			r := newRequest(t, base, body)
			sign(t, r, body, keyID, secret, "iam", "us-east-1")
			return r
		}, want{status: 400, code: "MissingAction", ns: awsapi.NamespaceIAM}},
		{"malformed query body", func(t *testing.T, base string) *http.Request {
			return newRequest(t, base, "Action=AssumeRoleWithWebIdentity&Action=AssumeRoleWithWebIdentity")
		}, want{status: 404, code: "MalformedQueryString", ns: awsapi.NamespaceSTS}},
		{"PUT", func(t *testing.T, base string) *http.Request {
			r := newRequest(t, base, form("Action", "AssumeRoleWithWebIdentity"))
			r.Method = http.MethodPut
			return r
		}, want{status: 405, code: "MethodNotAllowed", ns: awsapi.NamespaceSTS}},
	}
	e := newEnv(t, nil)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := do(t, e.srv.Client(), tc.req(t, e.srv.URL))
			stsCalls, iamCalls := e.sts.taken(), e.iam.taken()
			if tc.want.code != "" {
				r.wantError(t, tc.want.status, tc.want.code, tc.want.ns)
			} else {
				if r.status != 200 || r.env.Xmlns != tc.want.ns || r.env.Meta.RequestID != r.requestID || r.requestID == "" {
					t.Fatalf("reply = %d ns %q RequestId %q/%q, want 200 in %s\n%s", r.status, r.env.Xmlns, r.env.Meta.RequestID, r.requestID, tc.want.ns, r.body)
				}
			}
			var calls []*gateway.Call
			switch tc.want.service {
			case "sts":
				calls = stsCalls
				stsCalls = nil
			case "iam":
				calls = iamCalls
				iamCalls = nil
			}
			if len(stsCalls)+len(iamCalls) != 0 {
				t.Fatalf("unexpected calls: sts %d, iam %d", len(stsCalls), len(iamCalls))
			}
			if tc.want.service == "" {
				return
			}
			if len(calls) != 1 {
				t.Fatalf("%s got %d calls, want 1", tc.want.service, len(calls))
			}
			c := calls[0]
			if c.RequestID != r.requestID {
				t.Errorf("Call.RequestID = %q, header %q", c.RequestID, r.requestID)
			}
			if c.Action == "" || c.Action != c.Query.Action {
				t.Errorf("Call.Action = %q, Query.Action = %q", c.Action, c.Query.Action)
			}
			if !c.Time.Equal(e.now) {
				t.Errorf("Call.Time = %v, want the injected clock %v", c.Time, e.now)
			}
			if c.SourceIP != netip.MustParseAddr("127.0.0.1") || c.Secure {
				t.Errorf("Call.SourceIP = %v, Secure = %v; want 127.0.0.1 over plain HTTP", c.SourceIP, c.Secure)
			}
			if tc.want.signed {
				if c.Caller == nil || c.Caller.ARN != callerARN || c.Sig == nil || c.Sig.Service != tc.want.service || c.Sig.AccessKeyID != keyID {
					t.Errorf("signed call: Caller %+v, Sig %+v", c.Caller, c.Sig)
				}
			} else if c.Caller != nil || c.Sig != nil {
				t.Errorf("unsigned call has Caller %v / Sig %v", c.Caller, c.Sig)
			}
		})
	}
}

func TestResultEnvelope(t *testing.T) {
	e := newEnv(t, nil)
	body := form("Action", "GetUser", "UserName", "gw")
	req := newRequest(t, e.srv.URL, body)
	sign(t, req, body, keyID, secret, "iam", "us-east-1")
	r := do(t, e.srv.Client(), req)
	if r.env.XMLName.Local != "GetUserResponse" || r.env.Result.UserName != "gw" || !strings.Contains(r.body, "<GetUserResult><UserName>gw</UserName></GetUserResult>") {
		t.Fatalf("reply:\n%s", r.body)
	}
	if c := e.iam.taken(); len(c) != 1 || c[0].Query.Get("UserName") != "gw" {
		t.Fatalf("calls = %v", c)
	}

	// A nil result omits the Result element.
	e.sts.result = nil
	r = do(t, e.srv.Client(), newRequest(t, e.srv.URL, form("Action", "AssumeRoleWithWebIdentity")))
	if r.status != 200 || r.env.XMLName.Local != "AssumeRoleWithWebIdentityResponse" || strings.Contains(r.body, "Result>") {
		t.Fatalf("reply:\n%s", r.body)
	}
}

func TestServiceErrors(t *testing.T) {
	const secretText = "dial tcp 10.1.2.3:5432: password=hunter2 rejected"
	tests := []struct {
		name   string
		err    error
		status int
		code   string
		msg    string
	}{
		{"AWS error", awsapi.NewError("NoSuchEntity", http.StatusNotFound, "The user with name x cannot be found."), 404, "NoSuchEntity", "The user with name x cannot be found."},
		{"wrapped AWS error", fmt.Errorf("iam: get user: %w", awsapi.AccessDenied("not authorized")), 403, "AccessDenied", "not authorized"},
		{"throttling", awsapi.Throttling(), 400, "Throttling", "Rate exceeded"},
		{"plain error", errors.New(secretText), 500, "InternalFailure", ""},
		{"wrapped plain error", fmt.Errorf("iam: %w", errors.New(secretText)), 500, "InternalFailure", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, nil)
			e.iam.err = tc.err
			body := form("Action", "GetUser")
			req := newRequest(t, e.srv.URL, body)
			sign(t, req, body, keyID, secret, "iam", "us-east-1")
			r := do(t, e.srv.Client(), req)
			r.wantError(t, tc.status, tc.code, awsapi.NamespaceIAM)
			if tc.msg != "" && r.env.Error.Message != tc.msg {
				t.Errorf("Message = %q, want %q", r.env.Error.Message, tc.msg)
			}
			for _, leak := range []string{"hunter2", "10.1.2.3", "dial tcp"} {
				if strings.Contains(r.body, leak) {
					t.Errorf("reply leaks %q:\n%s", leak, r.body)
				}
			}
		})
	}
}

func TestBodyLimit(t *testing.T) {
	e := newEnv(t, func(c *gateway.Config) { c.MaxBody = 128 })
	big := form("Action", "AssumeRoleWithWebIdentity", "WebIdentityToken", strings.Repeat("x", 200))
	tests := []struct {
		name string
		req  func() *http.Request
	}{
		{"unsigned", func() *http.Request { return newRequest(t, e.srv.URL, big) }},
		{"signed", func() *http.Request {
			r := newRequest(t, e.srv.URL, big)
			sign(t, r, big, keyID, secret, "sts", "us-east-1")
			return r
		}},
		{"chunked without Content-Length", func() *http.Request {
			r := newRequest(t, e.srv.URL, "")
			r.Body = io.NopCloser(bytes.NewReader([]byte(big)))
			r.ContentLength = -1
			return r
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := do(t, e.srv.Client(), tc.req())
			r.wantError(t, http.StatusRequestEntityTooLarge, "RequestEntityTooLarge", awsapi.NamespaceSTS)
			if n := len(e.sts.taken()); n != 0 {
				t.Fatalf("service called %d times", n)
			}
		})
	}
	// A body at the limit passes.
	ok := form("Action", "AssumeRoleWithWebIdentity", "X", "")
	ok += strings.Repeat("y", 128-len(ok))
	if r := do(t, e.srv.Client(), newRequest(t, e.srv.URL, ok)); r.status != 200 {
		t.Fatalf("body of exactly MaxBody: %d\n%s", r.status, r.body)
	}
}

func TestDefaultBodyLimit(t *testing.T) {
	e := newEnv(t, nil)
	body := form("Action", "AssumeRoleWithWebIdentity", "WebIdentityToken", strings.Repeat("x", 1<<20))
	do(t, e.srv.Client(), newRequest(t, e.srv.URL, body)).wantError(t, http.StatusRequestEntityTooLarge, "RequestEntityTooLarge", awsapi.NamespaceSTS)
}

// TestRoutesByVerifiedScope: the service that serves a signed call must be the one
// its verified credential scope names. The Authorization header is not covered by the
// signature, so anyone relaying a signed request can add text to it; here a decoy
// "XCredential=…/iam/…" parameter (ignored by the verifier, but found first by
// awsapi.ParseScope's substring search) precedes the real sts-scoped Credential.
func TestRoutesByVerifiedScope(t *testing.T) {
	e := newEnv(t, nil)
	body := form("Action", "GetCallerIdentity", "Version", "2011-06-15")
	req := newRequest(t, e.srv.URL, body)
	sign(t, req, body, keyID, secret, "sts", "us-east-1")
	h := req.Header.Get("Authorization")
	alg, rest, _ := strings.Cut(h, " ")
	decoy := "XCredential=" + keyID + "/" + time.Now().UTC().Format("20060102") + "/us-east-1/iam/aws4_request, "
	req.Header.Set("Authorization", alg+" "+decoy+rest)
	r := do(t, e.srv.Client(), req)
	for _, c := range e.iam.taken() {
		t.Errorf("iam served %s (HTTP %d) although the signature is scoped to %s", c.Action, r.status, c.Sig.Service)
	}
	for _, c := range e.sts.taken() {
		if c.Sig == nil || c.Sig.Service != "sts" {
			t.Errorf("sts call with Sig %+v", c.Sig)
		}
	}
}

func TestSecureTransport(t *testing.T) {
	e := newEnv(t, nil)
	srv := httptest.NewTLSServer(e.gw)
	defer srv.Close()
	r := do(t, srv.Client(), newRequest(t, srv.URL, form("Action", "AssumeRoleWithWebIdentity")))
	if r.status != 200 {
		t.Fatalf("status %d\n%s", r.status, r.body)
	}
	c := e.sts.taken()
	if len(c) != 1 || !c[0].Secure {
		t.Fatalf("calls over TLS = %+v, want one with Secure", c)
	}
}

func TestSourceIP(t *testing.T) {
	p := netip.MustParsePrefix
	tests := []struct {
		name    string
		peer    string
		trusted []netip.Prefix
		xff     []string
		want    string
	}{
		{"no trusted proxies, no header", "127.0.0.1:5555", nil, nil, "127.0.0.1"},
		{"no trusted proxies ignore the header", "127.0.0.1:5555", nil, []string{"203.0.113.5"}, "127.0.0.1"},
		{"untrusted peer ignores the header", "192.0.2.10:5555", []netip.Prefix{p("127.0.0.0/8")}, []string{"203.0.113.5"}, "192.0.2.10"},
		{"trusted peer, one hop", "127.0.0.1:5555", []netip.Prefix{p("127.0.0.0/8")}, []string{"203.0.113.5"}, "203.0.113.5"},
		{"trusted peer and trusted hop", "127.0.0.1:5555", []netip.Prefix{p("127.0.0.0/8"), p("10.0.0.0/8")}, []string{"203.0.113.5, 10.0.0.1"}, "203.0.113.5"},
		{"right-most untrusted hop wins", "127.0.0.1:5555", []netip.Prefix{p("127.0.0.0/8")}, []string{"203.0.113.5, 10.0.0.1"}, "10.0.0.1"},
		{"spoofed left-most entry ignored", "127.0.0.1:5555", []netip.Prefix{p("127.0.0.0/8"), p("10.0.0.0/8")}, []string{"198.51.100.1, 203.0.113.5, 10.0.0.1"}, "203.0.113.5"},
		{"several header lines", "127.0.0.1:5555", []netip.Prefix{p("127.0.0.0/8"), p("10.0.0.0/8")}, []string{"198.51.100.1", "203.0.113.5, 10.0.0.1"}, "203.0.113.5"},
		{"spaces around entries", "127.0.0.1:5555", []netip.Prefix{p("127.0.0.0/8")}, []string{"  203.0.113.5  "}, "203.0.113.5"},
		{"all hops trusted: the left-most", "127.0.0.1:5555", []netip.Prefix{p("127.0.0.0/8"), p("10.0.0.0/8")}, []string{"10.0.0.2, 10.0.0.1"}, "10.0.0.2"},
		{"trusted peer without header", "127.0.0.1:5555", []netip.Prefix{p("127.0.0.0/8")}, nil, "127.0.0.1"},
		{"garbage", "127.0.0.1:5555", []netip.Prefix{p("127.0.0.0/8")}, []string{"garbage"}, "127.0.0.1"},
		{"garbage right-most", "127.0.0.1:5555", []netip.Prefix{p("127.0.0.0/8")}, []string{"203.0.113.5, garbage"}, "127.0.0.1"},
		{"address with port is garbage", "127.0.0.1:5555", []netip.Prefix{p("127.0.0.0/8")}, []string{"203.0.113.5:443"}, "127.0.0.1"},
		{"empty header", "127.0.0.1:5555", []netip.Prefix{p("127.0.0.0/8")}, []string{""}, "127.0.0.1"},
		{"IPv4-mapped hop unmapped", "127.0.0.1:5555", []netip.Prefix{p("127.0.0.0/8")}, []string{"::ffff:203.0.113.5"}, "203.0.113.5"},
		{"IPv4-mapped peer unmapped", "[::ffff:127.0.0.1]:5555", []netip.Prefix{p("127.0.0.0/8")}, []string{"203.0.113.5"}, "203.0.113.5"},
		{"IPv6 peer and hop", "[::1]:5555", []netip.Prefix{p("::1/128")}, []string{"2001:db8::1"}, "2001:db8::1"},
		{"IPv6 untrusted peer", "[2001:db8::2]:5555", []netip.Prefix{p("::1/128")}, []string{"203.0.113.5"}, "2001:db8::2"},
		{"peer without port", "127.0.0.1", nil, nil, "127.0.0.1"},
		{"unparseable peer", "pipe", []netip.Prefix{p("127.0.0.0/8")}, []string{"203.0.113.5"}, "invalid IP"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			sts := &fakeService{ns: awsapi.NamespaceSTS, unsigned: map[string]bool{"AssumeRoleWithWebIdentity": true}}
			gw := gateway.New(gateway.Config{Services: map[string]gateway.QueryService{"sts": sts}, TrustedProxies: tc.trusted})
			req := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(form("Action", "AssumeRoleWithWebIdentity")))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.RemoteAddr = tc.peer
			for _, v := range tc.xff {
				req.Header.Add("X-Forwarded-For", v)
			}
			rec := httptest.NewRecorder()
			gw.ServeHTTP(rec, req)
			if rec.Code != 200 {
				t.Fatalf("status %d\n%s", rec.Code, rec.Body)
			}
			calls := sts.taken()
			if len(calls) != 1 {
				t.Fatalf("%d calls", len(calls))
			}
			if got := calls[0].SourceIP.String(); got != tc.want {
				t.Fatalf("SourceIP = %s, want %s", got, tc.want)
			}
		})
	}
}

// TestSourceIPOverTCP checks the peer address of a real loopback connection.
func TestSourceIPOverTCP(t *testing.T) {
	p := netip.MustParsePrefix
	tests := []struct {
		name    string
		trusted []netip.Prefix
		want    string
	}{
		{"no trusted proxies", nil, "127.0.0.1"},
		{"other proxies trusted", []netip.Prefix{p("10.0.0.0/8")}, "127.0.0.1"},
		{"loopback and 10/8 trusted", []netip.Prefix{p("127.0.0.0/8"), p("10.0.0.0/8")}, "203.0.113.5"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, func(c *gateway.Config) { c.TrustedProxies = tc.trusted })
			body := form("Action", "GetUser")
			req := newRequest(t, e.srv.URL, body)
			req.Header.Set("X-Forwarded-For", "203.0.113.5, 10.0.0.1")
			sign(t, req, body, keyID, secret, "iam", "us-east-1")
			if r := do(t, e.srv.Client(), req); r.status != 200 {
				t.Fatalf("status %d\n%s", r.status, r.body)
			}
			calls := e.iam.taken()
			if len(calls) != 1 || calls[0].SourceIP.String() != tc.want {
				t.Fatalf("calls = %d, SourceIP = %v, want %s", len(calls), calls, tc.want)
			}
		})
	}
}

// TestRecordsAccessKeyUse runs the gateway with a real Authenticator and checks that a
// verified call records the key's use with the scope's service and region.
func TestRecordsAccessKeyUse(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, t.TempDir()+"/k.db")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	box, err := keywrap.New(bytes.Repeat([]byte{9}, 32))
	if err != nil {
		t.Fatal(err)
	}
	if err := st.CreateUser(ctx, store.User{ID: "AIDAGW", Name: "gw", Path: "/", ARN: callerARN}); err != nil {
		t.Fatal(err)
	}
	sealed, err := box.Seal(authn.AccessKeyLabel(keyID), []byte(secret))
	if err != nil {
		t.Fatal(err)
	}
	if err := st.CreateAccessKey(ctx, store.AccessKey{ID: keyID, UserName: "gw", Secret: sealed, Status: "Active"}); err != nil {
		t.Fatal(err)
	}
	an := authn.NewAuthenticator(st, box, nil, authn.RootCredentials{}, account, nil)
	iam := &fakeService{ns: awsapi.NamespaceIAM}
	gw := gateway.New(gateway.Config{
		Services:      map[string]gateway.QueryService{"iam": iam},
		Verifier:      awsapi.NewVerifier(an),
		Authenticator: an,
	})
	srv := httptest.NewServer(gw)
	defer srv.Close()

	before := time.Now().Add(-time.Second)
	body := form("Action", "ListUsers")
	req := newRequest(t, srv.URL, body)
	sign(t, req, body, keyID, secret, "iam", "eu-central-1")
	if r := do(t, srv.Client(), req); r.status != 200 {
		t.Fatalf("status %d\n%s", r.status, r.body)
	}
	calls := iam.taken()
	if len(calls) != 1 || calls[0].Caller == nil || calls[0].Caller.Kind != authn.User || calls[0].Caller.User.Name != "gw" {
		t.Fatalf("calls = %+v", calls)
	}
	k, err := st.GetAccessKey(ctx, keyID)
	if err != nil {
		t.Fatal(err)
	}
	if k.LastUsedSvc != "iam" || k.LastUsedRgn != "eu-central-1" || k.LastUsedAt.Before(before) {
		t.Fatalf("last use = %v %s %s", k.LastUsedAt, k.LastUsedSvc, k.LastUsedRgn)
	}
}
