package awsapi

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"
)

// FuzzParseQuery feeds arbitrary bodies, content types and query strings to
// the Query decoder and its list helpers: they must never panic, and every
// failure must be an AWS-shaped *Error.
func FuzzParseQuery(f *testing.F) {
	f.Add("POST", "application/x-www-form-urlencoded; charset=utf-8", "Action=GetCallerIdentity&Version=2011-06-15", "")
	f.Add("POST", "application/x-www-form-urlencoded", "Action=CreateRole&Tags.member.1.Key=k&Tags.member.1.Value=v&ClientIDList=", "a=b")
	f.Add("GET", "", "", "Action=GetCallerIdentity&X-Amz-Signature=00&ClientIDList.member.2=b&ClientIDList.member.1=a")
	f.Add("POST", "text/plain", "%zz&&==&a=%", "%")
	f.Add("PUT", "application/x-www-form-urlencoded; charset=latin1", "\xff\xfe", "x=%E1%88%B4")
	f.Fuzz(func(t *testing.T, method, contentType, body, rawQuery string) {
		r := &http.Request{
			Method: method,
			URL:    &url.URL{Path: "/", RawQuery: rawQuery},
			Header: http.Header{},
			Body:   http.NoBody,
		}
		if body != "" {
			r.Body = httptestBody(body)
			r.ContentLength = int64(len(body))
		}
		if contentType != "" {
			r.Header.Set("Content-Type", contentType)
		}
		q, err := ParseQueryRequest(r, 512)
		if err != nil {
			if e := AsError(err); e.Code == "InternalFailure" || e.Status < 400 {
				t.Fatalf("non-AWS error %v", err)
			}
			return
		}
		if len(q.Body) > 512 {
			t.Fatal("body limit ignored")
		}
		for k := range q.Values {
			prefix, _, _ := strings.Cut(k, ".")
			_ = Strings(q.Values, prefix)
			_ = Members(q.Values, prefix)
		}
		w := httptest.NewRecorder()
		WriteQueryResult(w, NamespaceSTS, q.Action, "rid", struct{ V string }{q.Get("Version")})
	})
}

func httptestBody(s string) *bodyReader { return &bodyReader{strings.NewReader(s)} }

type bodyReader struct{ *strings.Reader }

func (bodyReader) Close() error { return nil }

// FuzzParseAuthorization feeds arbitrary Authorization headers, query
// strings, dates and paths to the SigV4 parser, ParseScope and the whole
// Verify path: no panic, only *Error failures, and never a success (no
// fuzzed input can know the secret).
func FuzzParseAuthorization(f *testing.F) {
	f.Add("AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20260301/us-east-1/sts/aws4_request, SignedHeaders=content-type;host;x-amz-date, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31", "", "20260301T120000Z", "/")
	f.Add("", "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20260301%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20260301T120000Z&X-Amz-Expires=60&X-Amz-SignedHeaders=host&X-Amz-Signature=00", "", "/b/k%20y")
	f.Add("AWS4-HMAC-SHA256 Credential=a/b/c/d/e,SignedHeaders=,Signature=", "a=%", "2026", "//./../")
	f.Add("AWS4-HMAC-SHA256 ,,,Credential==,Credential=x", "", "", "")
	f.Add("AWS4-ECDSA-P256-SHA256 Credential=x", "X-Amz-Credential=%2F%2F%2F%2F", "20260301T120000Z", "/\xff")
	v := &Verifier{
		Now: func() time.Time { return testTime },
		Lookup: CredentialLookupFunc(func(_ context.Context, akid, _ string) (Credential, error) {
			if akid == testAKID {
				return Credential{SecretAccessKey: testSecret}, nil
			}
			return Credential{}, InvalidClientTokenID()
		}),
	}
	f.Fuzz(func(t *testing.T, authz, rawQuery, date, path string) {
		if p, err := parseAuthorization(authz); err == nil {
			found := false
			for _, h := range p.signedHeaders {
				found = found || h == "host"
			}
			if !found || p.accessKeyID == "" || len(p.scopeDate) != 8 || p.signature == "" {
				t.Fatalf("accepted incomplete header %q: %+v", authz, p)
			}
		} else if e := AsError(err); e.Code == "InternalFailure" {
			t.Fatalf("non-AWS error %v", err)
		}
		r := &http.Request{
			Method:     http.MethodPost,
			URL:        &url.URL{Path: "/", RawQuery: rawQuery},
			RequestURI: path,
			Host:       "localhost",
			Header:     http.Header{},
		}
		if authz != "" {
			r.Header.Set("Authorization", authz)
		}
		if date != "" {
			r.Header.Set("X-Amz-Date", date)
		}
		_, _, _ = ParseScope(r)
		auth, err := v.Verify(context.Background(), r, []byte(rawQuery))
		if err == nil {
			t.Fatalf("fuzzed request verified: %+v", auth)
		}
		if e := AsError(err); e.Code == "InternalFailure" {
			t.Fatalf("non-AWS error %v", err)
		}
	})
}
