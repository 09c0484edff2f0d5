package awsapi

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

const (
	testAKID   = "AKIAIOSFODNN7EXAMPLE"
	testSecret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
	testTempID = "ASIAIOSFODNN7EXAMPLE"
	testToken  = "FwoGZXIvYXdzEXAMPLEtoken//+=="
	stsForm    = "Action=GetCallerIdentity&Version=2011-06-15"
)

var testTime = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// testLookup knows one long-term key, one temporary key bound to testToken,
// and one expired temporary key.
type testLookup struct {
	mu    sync.Mutex
	calls int
}

func (l *testLookup) LookupCredential(_ context.Context, akid, token string) (Credential, error) {
	l.mu.Lock()
	l.calls++
	l.mu.Unlock()
	switch akid {
	case testAKID:
		return Credential{SecretAccessKey: testSecret, Principal: "user/alice"}, nil
	case testTempID:
		if token != testToken {
			return Credential{}, InvalidClientTokenID()
		}
		return Credential{SecretAccessKey: testSecret, Principal: "role/deploy"}, nil
	case "ASIAEXPIREDEXAMPLE00":
		return Credential{}, ExpiredToken()
	case "AKIAEMPTYSECRET00000":
		return Credential{}, nil
	case "AKIABROKENSTORE00000":
		return Credential{}, errors.New("database is on fire: password=hunter2")
	}
	return Credential{}, InvalidClientTokenID()
}

func newTestVerifier(now time.Time) *Verifier {
	return &Verifier{Lookup: &testLookup{}, Now: func() time.Time { return now }}
}

func sha256Hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// signedPost builds a Query-protocol POST signed by aws-sdk-go-v2's signer.
func signedPost(t testing.TB, target, service, body string, creds aws.Credentials, at time.Time) *http.Request {
	t.Helper()
	r, err := http.NewRequest(http.MethodPost, target, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	if err := v4.NewSigner().SignHTTP(context.Background(), creds, r, sha256Hex([]byte(body)), service, "us-east-1", at); err != nil {
		t.Fatal(err)
	}
	return r
}

func longTerm() aws.Credentials {
	return aws.Credentials{AccessKeyID: testAKID, SecretAccessKey: testSecret}
}

// asServer makes a client-built request look like one received by net/http.
func asServer(r *http.Request) *http.Request {
	s := r.Clone(context.Background())
	s.RequestURI = r.URL.RequestURI()
	if s.Host == "" {
		s.Host = r.URL.Host
	}
	if s.Body != nil && r.GetBody != nil {
		s.Body, _ = r.GetBody()
	}
	return s
}

func verifyBody(t testing.TB, v *Verifier, r *http.Request) (*Auth, error) {
	t.Helper()
	var body []byte
	if r.Body != nil {
		body, _ = io.ReadAll(r.Body)
	}
	return v.Verify(context.Background(), r, body)
}

func wantCode(t *testing.T, err error, code string, status int) {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("want %s, got %v", code, err)
	}
	if e.Code != code || e.Status != status {
		t.Fatalf("want %s/%d, got %s/%d (%s)", code, status, e.Code, e.Status, e.Message)
	}
}

// server runs a handler that decodes and verifies like the IAM/STS services
// will, answering GetCallerIdentity-like replies with the principal.
func server(t *testing.T, v *Verifier) *httptest.Server {
	t.Helper()
	ids, err := NewRequestIDs(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := ids.Next()
		q, err := ParseQueryRequest(r, 64<<10)
		if err != nil {
			WriteQueryError(w, NamespaceSTS, id, err)
			return
		}
		service, _, _ := ParseScope(r)
		ns := NamespaceSTS
		if service == "iam" {
			ns = NamespaceIAM
		}
		auth, err := v.Verify(r.Context(), r, q.Body)
		if err != nil {
			WriteQueryError(w, ns, id, err)
			return
		}
		if err := auth.RequireService(service); err != nil {
			WriteQueryError(w, ns, id, err)
			return
		}
		switch q.Action {
		case "GetCallerIdentity":
			WriteQueryResult(w, ns, q.Action, id, struct {
				Arn     string
				UserId  string //lint:ignore ST1003 AWS element name
				Account string
			}{Arn: "arn:aws:sts::123456789012:" + auth.Principal.(string), UserId: auth.AccessKeyID, Account: "123456789012"})
		case "DeleteRole":
			WriteQueryResult(w, ns, q.Action, id, nil)
		case "TagRole":
			tags := Members(q.Values, "Tags")
			WriteQueryResult(w, ns, q.Action, id, struct{ N int }{len(tags)})
		default:
			WriteQueryError(w, ns, id, InvalidAction(q.Action, q.Version))
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestVerifySDKSignedOverHTTP(t *testing.T) {
	now := time.Now().UTC()
	v := newTestVerifier(now)
	srv := server(t, v)
	cases := []struct {
		name    string
		service string
		body    string
		creds   aws.Credentials
		status  int
		want    string
	}{
		{"sts long-term", "sts", stsForm, longTerm(), 200, "<Arn>arn:aws:sts::123456789012:user/alice</Arn>"},
		{"sts session token", "sts", stsForm, aws.Credentials{AccessKeyID: testTempID, SecretAccessKey: testSecret, SessionToken: testToken}, 200, "role/deploy"},
		{"iam no output", "iam", "Action=DeleteRole&Version=2010-05-08&RoleName=r", longTerm(), 200, `<DeleteRoleResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><ResponseMetadata><RequestId>`},
		{"iam tags", "iam", "Action=TagRole&Version=2010-05-08&RoleName=r&Tags.member.1.Key=a&Tags.member.1.Value=b&Tags.member.2.Key=c&Tags.member.2.Value=d", longTerm(), 200, "<N>2</N>"},
		{"wrong session token", "sts", stsForm, aws.Credentials{AccessKeyID: testTempID, SecretAccessKey: testSecret, SessionToken: "forged"}, 403, "<Code>InvalidClientTokenId</Code>"},
		{"expired session", "sts", stsForm, aws.Credentials{AccessKeyID: "ASIAEXPIREDEXAMPLE00", SecretAccessKey: testSecret, SessionToken: "x"}, 403, "<Code>ExpiredToken</Code>"},
		{"unknown action", "sts", "Action=Nope&Version=2011-06-15", longTerm(), 400, "Could not find operation Nope for version 2011-06-15"},
		{"store failure", "sts", stsForm, aws.Credentials{AccessKeyID: "AKIABROKENSTORE00000", SecretAccessKey: testSecret}, 500, "<Code>InternalFailure</Code>"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := signedPost(t, srv.URL+"/", c.service, c.body, c.creds, now)
			resp, err := srv.Client().Do(r)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != c.status || !strings.Contains(string(b), c.want) {
				t.Fatalf("status %d body %s", resp.StatusCode, b)
			}
			if strings.Contains(string(b), "hunter2") || strings.Contains(string(b), "fire") {
				t.Fatalf("internal error leaked: %s", b)
			}
			if resp.Header.Get("x-amzn-RequestId") == "" || resp.Header.Get("Content-Type") != "text/xml" {
				t.Fatalf("headers %v", resp.Header)
			}
		})
	}
}

func TestVerifyPresignedSTS(t *testing.T) {
	now := time.Now().UTC()
	v := newTestVerifier(now)
	srv := server(t, v)
	for _, creds := range []aws.Credentials{longTerm(), {AccessKeyID: testTempID, SecretAccessKey: testSecret, SessionToken: testToken}} {
		r, _ := http.NewRequest(http.MethodGet, srv.URL+"/?"+stsForm+"&X-Amz-Expires=300", nil)
		u, _, err := v4.NewSigner().PresignHTTP(context.Background(), creds, r, sha256Hex(nil), "sts", "us-east-1", now)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := srv.Client().Get(u)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.Contains(string(b), "<GetCallerIdentityResult>") {
			t.Fatalf("%s: status %d body %s", creds.AccessKeyID, resp.StatusCode, b)
		}
		// The same URL after it expires.
		pr, _ := http.NewRequest(http.MethodGet, u, nil)
		late := newTestVerifier(now.Add(6 * time.Minute))
		_, err = verifyBody(t, late, asServer(pr))
		wantCode(t, err, "RequestExpired", 400)
		if auth, err := verifyBody(t, newTestVerifier(now.Add(4*time.Minute)), asServer(pr)); err != nil || !auth.Presigned || auth.SessionToken != creds.SessionToken {
			t.Fatalf("within expiry: %v %+v", err, auth)
		}
		// Tampered query parameter.
		tampered := strings.Replace(u, "GetCallerIdentity", "GetSessionToken", 1)
		tr, _ := http.NewRequest(http.MethodGet, tampered, nil)
		_, err = verifyBody(t, v, asServer(tr))
		wantCode(t, err, "SignatureDoesNotMatch", 403)
	}
}

func TestVerifyS3UnsignedPayloadAndPaths(t *testing.T) {
	v := newTestVerifier(testTime)
	keys := []string{"/bucket/plain.txt", "/bucket/a b+c/ü/%2F/x~y!*'()$&=;:@,", "/bucket//double//./dot/../"}
	for _, key := range keys {
		u := &url.URL{Scheme: "http", Host: "localhost:4566", Path: key}
		r, _ := http.NewRequest(http.MethodPut, u.String(), strings.NewReader("object body"))
		r.Header.Set("X-Amz-Content-Sha256", UnsignedPayload)
		err := v4.NewSigner().SignHTTP(context.Background(), longTerm(), r, UnsignedPayload, "s3", "eu-west-1", testTime,
			func(o *v4.SignerOptions) { o.DisableURIPathEscaping = true })
		if err != nil {
			t.Fatal(err)
		}
		sr := asServer(r)
		auth, err := v.Verify(context.Background(), sr, nil)
		if err != nil {
			t.Fatalf("%s (%s): %v", key, sr.RequestURI, err)
		}
		if auth.PayloadHash != UnsignedPayload || auth.Service != "s3" || auth.Region != "eu-west-1" {
			t.Fatalf("auth %+v", auth)
		}
		// An S3 signature must not verify for a normalizing service and vice versa:
		// the same bytes checked under normalizing rules fail when the path is not canonical.
	}

	// Signed payload: a tampered body is caught by the hash check.
	body := []byte("hello")
	r, _ := http.NewRequest(http.MethodPut, "http://localhost/bucket/k", bytes.NewReader(body))
	r.Header.Set("X-Amz-Content-Sha256", sha256Hex(body))
	if err := v4.NewSigner().SignHTTP(context.Background(), longTerm(), r, sha256Hex(body), "s3", "us-east-1", testTime); err != nil {
		t.Fatal(err)
	}
	if _, err := v.Verify(context.Background(), asServer(r), body); err != nil {
		t.Fatalf("signed payload: %v", err)
	}
	_, err := v.Verify(context.Background(), asServer(r), []byte("hellO"))
	wantCode(t, err, "XAmzContentSHA256Mismatch", 400)

	// Presigned GET: UNSIGNED-PAYLOAD by default; expiry is AccessDenied for S3.
	g, _ := http.NewRequest(http.MethodGet, "http://localhost/bucket/some%20key?X-Amz-Expires=60", nil)
	pu, _, err := v4.NewSigner().PresignHTTP(context.Background(), longTerm(), g, UnsignedPayload, "s3", "us-east-1", testTime,
		func(o *v4.SignerOptions) { o.DisableURIPathEscaping = true })
	if err != nil {
		t.Fatal(err)
	}
	pr, _ := http.NewRequest(http.MethodGet, pu, nil)
	if _, err := v.Verify(context.Background(), asServer(pr), nil); err != nil {
		t.Fatalf("presigned s3: %v", err)
	}
	_, err = newTestVerifier(testTime.Add(2*time.Minute)).Verify(context.Background(), asServer(pr), nil)
	wantCode(t, err, "AccessDenied", 403)
}

// TestHostileSigV4 covers the attacks and malformed inputs of issue 4 with
// the exact AWS code each must produce.
func TestHostileSigV4(t *testing.T) {
	ctx := context.Background()
	base := func(t *testing.T) *http.Request {
		return asServer(signedPost(t, "http://localhost:4566/", "sts", stsForm, longTerm(), testTime))
	}
	setAuth := func(r *http.Request, f func(string) string) *http.Request {
		r.Header.Set("Authorization", f(r.Header.Get("Authorization")))
		return r
	}
	body := []byte(stsForm)
	cases := []struct {
		name   string
		req    func(t *testing.T) *http.Request
		body   []byte
		now    time.Time
		code   string
		status int
	}{
		{"replay after window", base, body, testTime.Add(15*time.Minute + time.Second), "RequestExpired", 400},
		{"signed in the future", base, body, testTime.Add(-16 * time.Minute), "RequestExpired", 400},
		{"wrong secret", func(t *testing.T) *http.Request {
			return asServer(signedPost(t, "http://localhost:4566/", "sts", stsForm, aws.Credentials{AccessKeyID: testAKID, SecretAccessKey: "x" + testSecret[1:]}, testTime))
		}, body, testTime, "SignatureDoesNotMatch", 403},
		{"tampered body", base, []byte("Action=GetCallerIdentity&Version=2011-06-16"), testTime, "SignatureDoesNotMatch", 403},
		{"tampered signed header", func(t *testing.T) *http.Request {
			r := base(t)
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			return r
		}, body, testTime, "SignatureDoesNotMatch", 403},
		{"tampered date", func(t *testing.T) *http.Request {
			r := base(t)
			r.Header.Set("X-Amz-Date", testTime.Add(time.Second).Format(TimeFormat))
			return r
		}, body, testTime, "SignatureDoesNotMatch", 403},
		{"tampered path", func(t *testing.T) *http.Request {
			r := base(t)
			r.RequestURI = "/x"
			return r
		}, body, testTime, "SignatureDoesNotMatch", 403},
		{"tampered host", func(t *testing.T) *http.Request {
			r := base(t)
			r.Host = "evil:4566"
			return r
		}, body, testTime, "SignatureDoesNotMatch", 403},
		{"added query parameter", func(t *testing.T) *http.Request {
			r := base(t)
			r.URL.RawQuery = "Action=DeleteRole"
			return r
		}, body, testTime, "SignatureDoesNotMatch", 403},
		{"signature flipped", func(t *testing.T) *http.Request {
			return setAuth(base(t), func(a string) string {
				i := strings.LastIndex(a, "=") + 1
				c := byte('0')
				if a[i] == '0' {
					c = '1'
				}
				return a[:i] + string(c) + a[i+1:]
			})
		}, body, testTime, "SignatureDoesNotMatch", 403},
		{"signature not hex", func(t *testing.T) *http.Request {
			return setAuth(base(t), func(a string) string { return a[:strings.LastIndex(a, "=")+1] + strings.Repeat("z", 64) })
		}, body, testTime, "SignatureDoesNotMatch", 403},
		{"signature truncated", func(t *testing.T) *http.Request {
			return setAuth(base(t), func(a string) string { return a[:len(a)-2] })
		}, body, testTime, "SignatureDoesNotMatch", 403},
		{"no signature", func(t *testing.T) *http.Request {
			return setAuth(base(t), func(a string) string { return a[:strings.Index(a, ", Signature=")] })
		}, body, testTime, "IncompleteSignature", 400},
		{"no signed headers", func(t *testing.T) *http.Request {
			return setAuth(base(t), func(a string) string {
				i, j := strings.Index(a, ", SignedHeaders="), strings.Index(a, ", Signature=")
				return a[:i] + a[j:]
			})
		}, body, testTime, "IncompleteSignature", 400},
		{"no credential", func(t *testing.T) *http.Request {
			return setAuth(base(t), func(a string) string {
				return "AWS4-HMAC-SHA256 " + a[strings.Index(a, "SignedHeaders="):]
			})
		}, body, testTime, "IncompleteSignature", 400},
		{"algorithm only", func(t *testing.T) *http.Request {
			return setAuth(base(t), func(string) string { return "AWS4-HMAC-SHA256" })
		}, body, testTime, "IncompleteSignature", 400},
		{"sigv4a", func(t *testing.T) *http.Request {
			return setAuth(base(t), func(a string) string { return strings.Replace(a, "AWS4-HMAC-SHA256", "AWS4-ECDSA-P256-SHA256", 1) })
		}, body, testTime, "IncompleteSignature", 400},
		{"credential with four parts", func(t *testing.T) *http.Request {
			return setAuth(base(t), func(a string) string { return strings.Replace(a, "/us-east-1/", "/", 1) })
		}, body, testTime, "IncompleteSignature", 400},
		{"bad terminator", func(t *testing.T) *http.Request {
			return setAuth(base(t), func(a string) string { return strings.Replace(a, "aws4_request", "aws5_request", 1) })
		}, body, testTime, "SignatureDoesNotMatch", 403},
		{"scope date differs", func(t *testing.T) *http.Request {
			return setAuth(base(t), func(a string) string { return strings.Replace(a, "/20260301/", "/20260302/", 1) })
		}, body, testTime, "SignatureDoesNotMatch", 403},
		{"host not signed", func(t *testing.T) *http.Request {
			return setAuth(base(t), func(a string) string { return strings.Replace(a, "host;", "", 1) })
		}, body, testTime, "SignatureDoesNotMatch", 403},
		{"duplicate Authorization", func(t *testing.T) *http.Request {
			r := base(t)
			r.Header.Add("Authorization", r.Header.Get("Authorization"))
			return r
		}, body, testTime, "IncompleteSignature", 400},
		{"no date", func(t *testing.T) *http.Request {
			r := base(t)
			r.Header.Del("X-Amz-Date")
			return r
		}, body, testTime, "IncompleteSignature", 400},
		{"garbage date", func(t *testing.T) *http.Request {
			r := base(t)
			r.Header.Set("X-Amz-Date", "2026-03-01T12:00:00Z")
			return r
		}, body, testTime, "IncompleteSignature", 400},
		{"unknown key", func(t *testing.T) *http.Request {
			return asServer(signedPost(t, "http://localhost:4566/", "sts", stsForm, aws.Credentials{AccessKeyID: "AKIANOTAREALKEY00000", SecretAccessKey: testSecret}, testTime))
		}, body, testTime, "InvalidClientTokenId", 403},
		{"temporary key without token", func(t *testing.T) *http.Request {
			return asServer(signedPost(t, "http://localhost:4566/", "sts", stsForm, aws.Credentials{AccessKeyID: testTempID, SecretAccessKey: testSecret}, testTime))
		}, body, testTime, "InvalidClientTokenId", 403},
		{"session token swapped after signing", func(t *testing.T) *http.Request {
			r := asServer(signedPost(t, "http://localhost:4566/", "sts", stsForm, aws.Credentials{AccessKeyID: testTempID, SecretAccessKey: testSecret, SessionToken: testToken}, testTime))
			r.Header.Set("X-Amz-Security-Token", testToken+"x")
			return r
		}, body, testTime, "InvalidClientTokenId", 403},
		{"expired session token", func(t *testing.T) *http.Request {
			return asServer(signedPost(t, "http://localhost:4566/", "sts", stsForm, aws.Credentials{AccessKeyID: "ASIAEXPIREDEXAMPLE00", SecretAccessKey: testSecret, SessionToken: "t"}, testTime))
		}, body, testTime, "ExpiredToken", 403},
		{"lookup returns an empty secret", func(t *testing.T) *http.Request {
			return asServer(signedPost(t, "http://localhost:4566/", "sts", stsForm, aws.Credentials{AccessKeyID: "AKIAEMPTYSECRET00000", SecretAccessKey: ""}, testTime))
		}, body, testTime, "InvalidClientTokenId", 403},
		{"unsigned", func(t *testing.T) *http.Request {
			r := base(t)
			r.Header.Del("Authorization")
			return r
		}, body, testTime, "MissingAuthenticationToken", 403},
		{"header and query auth", func(t *testing.T) *http.Request {
			r := base(t)
			r.URL.RawQuery = "X-Amz-Algorithm=AWS4-HMAC-SHA256"
			return r
		}, body, testTime, "InvalidArgument", 400},
		{"unsigned payload on sts", func(t *testing.T) *http.Request {
			r, _ := http.NewRequest(http.MethodPost, "http://localhost:4566/", strings.NewReader(stsForm))
			r.Header.Set("X-Amz-Content-Sha256", UnsignedPayload)
			_ = v4.NewSigner().SignHTTP(ctx, longTerm(), r, UnsignedPayload, "sts", "us-east-1", testTime)
			return asServer(r)
		}, body, testTime, "SignatureDoesNotMatch", 403},
		{"presign expiry over a week", func(t *testing.T) *http.Request {
			r, _ := http.NewRequest(http.MethodGet, "http://localhost/?"+stsForm+"&X-Amz-Expires=604801", nil)
			u, _, _ := v4.NewSigner().PresignHTTP(ctx, longTerm(), r, sha256Hex(nil), "sts", "us-east-1", testTime)
			pr, _ := http.NewRequest(http.MethodGet, u, nil)
			return asServer(pr)
		}, nil, testTime, "IncompleteSignature", 400},
		{"presign missing signature", func(t *testing.T) *http.Request {
			r, _ := http.NewRequest(http.MethodGet, "http://localhost/?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20260301%2Fus-east-1%2Fsts%2Faws4_request", nil)
			return asServer(r)
		}, nil, testTime, "IncompleteSignature", 400},
		{"presign duplicate signature", func(t *testing.T) *http.Request {
			r, _ := http.NewRequest(http.MethodGet, "http://localhost/?"+stsForm+"&X-Amz-Expires=60", nil)
			u, _, _ := v4.NewSigner().PresignHTTP(ctx, longTerm(), r, sha256Hex(nil), "sts", "us-east-1", testTime)
			pr, _ := http.NewRequest(http.MethodGet, u+"&X-Amz-Signature=00", nil)
			return asServer(pr)
		}, nil, testTime, "IncompleteSignature", 400},
		{"malformed query escape", func(t *testing.T) *http.Request {
			r := base(t)
			r.URL.RawQuery = "a=%zz"
			return r
		}, body, testTime, "MalformedQueryString", 404},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			v := newTestVerifier(c.now)
			_, err := v.Verify(ctx, c.req(t), c.body)
			wantCode(t, err, c.code, c.status)
			if strings.Contains(err.Error(), testSecret) {
				t.Fatal("secret in error")
			}
		})
	}
}

func TestRequestExpiredMessage(t *testing.T) {
	at := time.Date(2015, 8, 30, 12, 36, 0, 0, time.UTC)
	r := asServer(signedPost(t, "http://localhost/", "sts", stsForm, longTerm(), at))
	_, err := newTestVerifier(time.Date(2015, 8, 30, 12, 56, 0, 0, time.UTC)).Verify(context.Background(), r, []byte(stsForm))
	want := "Signature expired: 20150830T123600Z is now earlier than 20150830T124100Z (20150830T125600Z - 15 min.)"
	if e := AsError(err); e.Code != "RequestExpired" || e.Message != want {
		t.Fatalf("got %v", err)
	}
	_, err = newTestVerifier(time.Date(2015, 8, 30, 12, 16, 0, 0, time.UTC)).Verify(context.Background(), r, []byte(stsForm))
	want = "Signature not yet current: 20150830T123600Z is still later than 20150830T123100Z (20150830T121600Z + 15 min.)"
	if e := AsError(err); e.Code != "RequestExpired" || e.Message != want {
		t.Fatalf("got %v", err)
	}
	// Just inside the window on both sides.
	for _, d := range []time.Duration{-15 * time.Minute, 15 * time.Minute} {
		if _, err := newTestVerifier(at.Add(d)).Verify(context.Background(), r, []byte(stsForm)); err != nil {
			t.Fatalf("%v: %v", d, err)
		}
	}
}

func TestVerifyDateHeader(t *testing.T) {
	// A request signed with the Date header instead of X-Amz-Date.
	r, _ := http.NewRequest(http.MethodPost, "http://localhost/", strings.NewReader(stsForm))
	r.Header.Set("Date", testTime.Format(http.TimeFormat))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	sr := &signedRequest{sigParams: sigParams{signedHeaders: []string{"content-type", "date", "host"}, signedRaw: "content-type;date;host",
		scope: "20260301/us-east-1/sts/aws4_request"}, dateStr: testTime.Format(TimeFormat)}
	canon := canonicalRequest(asServer(r), sr, ServiceRules{}, sha256Hex([]byte(stsForm)), false)
	sig := hex.EncodeToString(signString(deriveSigningKey(testSecret, "20260301", "us-east-1", "sts"), stringToSign(sr.dateStr, sr.scope, canon)))
	r.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential="+testAKID+"/"+sr.scope+", SignedHeaders=content-type;date;host, Signature="+sig)
	auth, err := newTestVerifier(testTime).Verify(context.Background(), asServer(r), []byte(stsForm))
	if err != nil || !auth.Date.Equal(testTime) {
		t.Fatalf("%v %+v", err, auth)
	}
}

func TestRequireService(t *testing.T) {
	a := &Auth{Service: "iam"}
	if a.RequireService("iam") != nil || !HasCode(a.RequireService("sts"), "SignatureDoesNotMatch") {
		t.Fatal("RequireService")
	}
}

func TestParseScope(t *testing.T) {
	r := signedPost(t, "http://localhost/", "iam", "Action=ListRoles", longTerm(), testTime)
	if s, reg, ok := ParseScope(r); !ok || s != "iam" || reg != "us-east-1" {
		t.Fatalf("header: %q %q %v", s, reg, ok)
	}
	g, _ := http.NewRequest(http.MethodGet, "http://localhost/?X-Amz-Expires=60", nil)
	u, _, _ := v4.NewSigner().PresignHTTP(context.Background(), longTerm(), g, UnsignedPayload, "s3", "eu-central-1", testTime)
	pr, _ := http.NewRequest(http.MethodGet, u, nil)
	if s, reg, ok := ParseScope(pr); !ok || s != "s3" || reg != "eu-central-1" {
		t.Fatalf("query: %q %q %v", s, reg, ok)
	}
	for _, h := range []string{"", "AWS4-HMAC-SHA256", "AWS4-HMAC-SHA256 Credential=a/b/c", "AWS4-HMAC-SHA256 Credential=a/b/c/d/e"} {
		r := httptest.NewRequest(http.MethodPost, "/", nil)
		if h != "" {
			r.Header.Set("Authorization", h)
		}
		if _, _, ok := ParseScope(r); ok {
			t.Fatalf("%q parsed", h)
		}
	}
}

func TestKeyCacheBounded(t *testing.T) {
	v := &Verifier{Lookup: &testLookup{}, Now: func() time.Time { return testTime }, CacheSize: 8}
	for i := 0; i < 100; i++ {
		v.signingKey(testSecret, "20260301", "region-"+string(rune('a'+i%26))+string(rune('a'+i/26)), "sts")
		if n := v.cache.len(); n > 8 {
			t.Fatalf("cache holds %d entries", n)
		}
	}
	// Cached and fresh keys agree, and concurrent use is safe (run with -race).
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; j < 200; j++ {
				got := v.signingKey(testSecret, "20260301", "us-east-1", "sts")
				if !bytes.Equal(got, deriveSigningKey(testSecret, "20260301", "us-east-1", "sts")) {
					t.Error("cached key differs")
					return
				}
			}
		}()
	}
	wg.Wait()
	// A different secret never hits another secret's entry.
	if bytes.Equal(v.signingKey("other", "20260301", "us-east-1", "sts"), v.signingKey(testSecret, "20260301", "us-east-1", "sts")) {
		t.Fatal("cache keyed without the secret")
	}
}

func BenchmarkVerifyHeaderSigned(b *testing.B) {
	r := asServer(signedPost(b, "http://localhost:4566/", "sts", stsForm, aws.Credentials{AccessKeyID: testTempID, SecretAccessKey: testSecret, SessionToken: testToken}, testTime))
	v := newTestVerifier(testTime)
	body := []byte(stsForm)
	ctx := context.Background()
	if _, err := v.Verify(ctx, r, body); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := v.Verify(ctx, r, body); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkVerifyHeaderSignedNoCache shows what the signing-key cache saves.
func BenchmarkVerifyHeaderSignedNoCache(b *testing.B) {
	r := asServer(signedPost(b, "http://localhost:4566/", "sts", stsForm, longTerm(), testTime))
	body := []byte(stsForm)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		v := newTestVerifier(testTime)
		if _, err := v.Verify(ctx, r, body); err != nil {
			b.Fatal(err)
		}
	}
}
