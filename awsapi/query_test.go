package awsapi

import (
	"io"
	"math"
	"mime"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"testing/iotest"
)

func postForm(body, contentType string) *http.Request {
	r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(body))
	if contentType != "" {
		r.Header.Set("Content-Type", contentType)
	}
	return r
}

func TestParseQueryRequestPOST(t *testing.T) {
	body := "Action=CreateOpenIDConnectProvider&Version=2010-05-08&Url=https%3A%2F%2Fapi.bitbucket.org%2F2.0%2Fworkspaces%2Fw%2Fpipelines-config%2Fidentity%2Foidc" +
		"&ClientIDList.member.2=b&ClientIDList.member.10=c&ClientIDList.member.1=a&ThumbprintList=&Note=a+b%20c"
	for _, ct := range []string{"application/x-www-form-urlencoded", "application/x-www-form-urlencoded; charset=utf-8", "application/x-www-form-urlencoded; charset=UTF-8", ""} {
		q, err := ParseQueryRequest(postForm(body, ct), 1<<16)
		if err != nil {
			t.Fatalf("%q: %v", ct, err)
		}
		if q.Action != "CreateOpenIDConnectProvider" || q.Version != "2010-05-08" || string(q.Body) != body {
			t.Fatalf("%+v", q)
		}
		if got := Strings(q.Values, "ClientIDList"); !reflect.DeepEqual(got, []string{"a", "b", "c"}) {
			t.Fatalf("ClientIDList = %q", got)
		}
		if got := Strings(q.Values, "ThumbprintList"); got == nil || len(got) != 0 {
			t.Fatalf("empty list = %#v", got)
		}
		if got := Strings(q.Values, "Absent"); got != nil {
			t.Fatalf("absent list = %#v", got)
		}
		if q.Get("Url") != "https://api.bitbucket.org/2.0/workspaces/w/pipelines-config/identity/oidc" || q.Get("Note") != "a b c" || !q.Has("ThumbprintList") {
			t.Fatalf("values %v", q.Values)
		}
	}
}

// TestParseQueryRequestContentTypes checks the fast check of the usual form
// content types against the full parse: ASCII case is ignored, look-alike
// non-ASCII letters are not.
func TestParseQueryRequestContentTypes(t *testing.T) {
	for ct, ok := range map[string]bool{
		"APPLICATION/X-WWW-FORM-URLENCODED; CHARSET=UTF-8": true,
		"Application/x-www-form-urlencoded":                true,
		"application/x-www-form-urlencoded;charset=utf-8":  true,
		"application/x-www-form-urlencoded; charſet=utf-8": false,
		"application/x-www-form-urlencoded; charset=utf-9": false,
		"application/x-www-form-urlencoded ":               true,
		"application/x-www-form-urlencodedx":               false,
	} {
		_, err := ParseQueryRequest(postForm("Action=A", ct), 1024)
		if ok != (err == nil) {
			t.Errorf("%q: %v", ct, err)
		}
		if !isFormType(ct) {
			continue
		}
		if mt, params, err := mime.ParseMediaType(ct); err != nil || mt != "application/x-www-form-urlencoded" || len(params) > 1 {
			t.Errorf("%q passes the fast check but parses as %q %v %v", ct, mt, params, err)
		}
	}
}

// TestReadBodyDeclaredLength checks bodies whose Content-Length is wrong
// (possible for requests built in-process) and limits around it.
func TestReadBodyDeclaredLength(t *testing.T) {
	body := strings.Repeat("a", 3000)
	for _, declared := range []int64{-1, 0, 1, 2999, 3000, 3001, 100000} {
		for _, limit := range []int64{2999, 3000, 200000} {
			r := postForm(body, "")
			r.ContentLength = declared
			got, err := ReadBody(r, limit)
			switch {
			case declared > limit || limit < 3000:
				wantCode(t, err, "RequestEntityTooLarge", 413)
			case err != nil || string(got) != body:
				t.Fatalf("declared %d limit %d: %d bytes, %v", declared, limit, len(got), err)
			}
		}
	}
}

func TestParseQueryRequestGET(t *testing.T) {
	r := httptest.NewRequest(http.MethodGet, "/?Action=GetCallerIdentity&Version=2011-06-15&X-Amz-Signature=abc&X-Amz-Security-Token=t", nil)
	q, err := ParseQueryRequest(r, 1024)
	if err != nil {
		t.Fatal(err)
	}
	if q.Action != "GetCallerIdentity" || q.Has("X-Amz-Signature") || q.Has("X-Amz-Security-Token") || len(q.Body) != 0 {
		t.Fatalf("%+v", q)
	}
}

func TestMembers(t *testing.T) {
	v := url.Values{}
	for k, val := range map[string]string{
		"Tags.member.1.Key": "team", "Tags.member.1.Value": "infra",
		"Tags.member.11.Key": "z", "Tags.member.2.Key": "env", "Tags.member.2.Value": "prod",
		"PolicyArns.member.1.arn": "arn:aws:iam::aws:policy/ReadOnlyAccess",
		"Tags.member.0.Key":       "ignored", "Tags.member.01.Key": "ignored", "Tags.member.x.Key": "ignored", "Tags.member.3": "ignored",
	} {
		v.Set(k, val)
	}
	want := []map[string]string{{"Key": "team", "Value": "infra"}, {"Key": "env", "Value": "prod"}, {"Key": "z"}}
	if got := Members(v, "Tags"); !reflect.DeepEqual(got, want) {
		t.Fatalf("Members = %v", got)
	}
	if got := Members(v, "PolicyArns"); len(got) != 1 || got[0]["arn"] != "arn:aws:iam::aws:policy/ReadOnlyAccess" {
		t.Fatalf("PolicyArns = %v", got)
	}
	v.Set("Empty", "")
	if got := Members(v, "Empty"); got == nil || len(got) != 0 {
		t.Fatalf("empty = %#v", got)
	}
	if Members(v, "Absent") != nil {
		t.Fatal("absent not nil")
	}
}

func TestParseQueryRequestHostile(t *testing.T) {
	big := "Action=X&Pad=" + strings.Repeat("a", 2000)
	cases := []struct {
		name   string
		req    *http.Request
		code   string
		status int
	}{
		{"oversized body", postForm(big, "application/x-www-form-urlencoded"), "RequestEntityTooLarge", 413},
		{"oversized chunked body", func() *http.Request {
			r := postForm(big, "application/x-www-form-urlencoded")
			r.ContentLength = -1
			return r
		}(), "RequestEntityTooLarge", 413},
		{"oversized behind MaxBytesReader", func() *http.Request {
			r := postForm(big, "application/x-www-form-urlencoded")
			r.ContentLength = -1
			r.Body = http.MaxBytesReader(httptest.NewRecorder(), r.Body, 100)
			return r
		}(), "RequestEntityTooLarge", 413},
		{"bad escape", postForm("Action=%zz", ""), "MalformedQueryString", 404},
		{"truncated escape", postForm("Action=Get%2", ""), "MalformedQueryString", 404},
		{"invalid utf-8", postForm("Action=%ff%fe", ""), "MalformedQueryString", 404},
		{"empty name", postForm("=x", ""), "MalformedQueryString", 404},
		{"duplicate action", postForm("Action=A&Action=B", ""), "MalformedQueryString", 404},
		{"duplicate across url and body", func() *http.Request {
			r := postForm("Action=A", "application/x-www-form-urlencoded")
			r.URL.RawQuery = "Action=B"
			return r
		}(), "MalformedQueryString", 404},
		{"json body", postForm(`{"Action":"X"}`, "application/json"), "UnsupportedMediaType", 415},
		{"latin1", postForm("Action=X", "application/x-www-form-urlencoded; charset=iso-8859-1"), "UnsupportedMediaType", 415},
		{"broken content type", postForm("Action=X", "application/x-www-form-urlencoded; ;;=="), "UnsupportedMediaType", 415},
		{"PUT", httptest.NewRequest(http.MethodPut, "/", strings.NewReader("Action=X")), "MethodNotAllowed", 405},
		{"bad query on GET", httptest.NewRequest(http.MethodGet, "/?Action=%", nil), "MalformedQueryString", 404},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := ParseQueryRequest(c.req, 1024)
			wantCode(t, err, c.code, c.status)
		})
	}
}

type failingReader struct{}

func (failingReader) Read([]byte) (int, error) { return 0, io.ErrUnexpectedEOF }

func TestReadBodyFailure(t *testing.T) {
	r := httptest.NewRequest(http.MethodPost, "/", nil)
	r.Body = io.NopCloser(failingReader{})
	r.ContentLength = -1
	_, err := ReadBody(r, 10)
	if err == nil || HasCode(err, "RequestEntityTooLarge") || AsError(err).Code != "InternalFailure" {
		t.Fatalf("got %v", err)
	}
}

// TestQueryUnescapeFastPath checks the shortcut for text without '%' or '+'
// against url.QueryUnescape, and that the shared value slices of a decoded
// form do not overwrite each other when appended to.
func TestQueryUnescapeFastPath(t *testing.T) {
	for _, s := range []string{"", "a", "Action", "eyJhbGciOi.J9_-x", "a+b", "%41", "%4", "%zz", "a%", "%e4%b8%ad", "+", "%2B+%20", "\xff", "a=b"} {
		want, err := url.QueryUnescape(s)
		got, ok := queryUnescape(s)
		if ok != (err == nil) || got != want {
			t.Fatalf("queryUnescape(%q) = %q, %v; url.QueryUnescape %q, %v", s, got, ok, want, err)
		}
	}
	q, err := ParseQueryRequest(postForm("A=1&B=2&C=%33&D=4+4", ""), 1<<10)
	if err != nil {
		t.Fatal(err)
	}
	ref, _ := url.ParseQuery("A=1&B=2&C=%33&D=4+4")
	if !reflect.DeepEqual(q.Values, ref) {
		t.Fatalf("values %v, url.ParseQuery %v", q.Values, ref)
	}
	q.Values.Add("A", "x")
	if q.Get("B") != "2" || len(q.Values["A"]) != 2 || q.Values["C"][0] != "3" {
		t.Fatalf("appending to one value changed another: %v", q.Values)
	}
}

// TestReadAllMatchesLimitReader compares readAll with
// io.ReadAll(io.LimitReader(r, limit)) for readers that return little at a
// time, declared lengths around the real one and limits around both.
func TestReadAllMatchesLimitReader(t *testing.T) {
	body := strings.Repeat("0123456789", 7)
	readers := map[string]func() io.Reader{
		"whole":   func() io.Reader { return strings.NewReader(body) },
		"onebyte": func() io.Reader { return iotest.OneByteReader(strings.NewReader(body)) },
		"half":    func() io.Reader { return iotest.HalfReader(strings.NewReader(body)) },
		"dataerr": func() io.Reader { return iotest.DataErrReader(strings.NewReader(body)) },
	}
	for name, mk := range readers {
		for _, declared := range []int64{-1, 0, 1, 69, 70, 71, 500} {
			for _, limit := range []int64{0, 1, 69, 70, 71, 1000, math.MaxInt64} {
				want, werr := io.ReadAll(io.LimitReader(mk(), limit))
				got, err := readAll(mk(), limit, declared)
				if string(got) != string(want) || (err == nil) != (werr == nil) {
					t.Fatalf("%s declared %d limit %d: %q, %v; want %q, %v", name, declared, limit, got, err, want, werr)
				}
			}
		}
	}
}
