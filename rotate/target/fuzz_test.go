package target

import (
	"encoding/json"
	"net/url"
	"strings"
	"testing"
	"unicode/utf8"
)

func FuzzParseRetryAfter(f *testing.F) {
	for _, s := range []string{"", "0", "1", "120", "-1", "1.5", "99999999999999999999", "Sun, 01 Mar 2026 12:00:30 GMT", "Sunday, 01-Mar-26 12:01:00 GMT", "Sun Mar  1 12:00:05 2026", "soon"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, h string) {
		d, ok := parseRetryAfter(h, retryNow)
		if d < 0 || d > maxRetryAfter {
			t.Fatalf("parseRetryAfter(%q) = %v, outside [0, %v]", h, d, maxRetryAfter)
		}
		if !ok && d != 0 {
			t.Fatalf("parseRetryAfter(%q) = %v with ok false", h, d)
		}
		if strings.TrimSpace(h) == "" && ok {
			t.Fatalf("parseRetryAfter(%q) accepted an empty header", h)
		}
	})
}

// FuzzBitbucketPage decodes a page of variables as bbList does and follows its
// "next" link: a link that is accepted never leaves the API's scheme and host.
func FuzzBitbucketPage(f *testing.F) {
	for _, s := range []string{
		`{"pagelen":100,"values":[{"type":"pipeline_variable","uuid":"{u}","key":"K","value":"v","secured":false}],"page":1,"size":3,"next":"https://api.bitbucket.org/2.0/x?page=2"}`,
		`{"values":[],"next":"https://evil.example/2.0/x"}`,
		`{"values":[{"key":"S","secured":true}],"next":"/2.0/x?page=3"}`,
		`{"values":null,"next":"//evil.example/x"}`,
		`{"values":[{"key":1}]}`,
		`[]`,
	} {
		f.Add([]byte(s))
	}
	const base = "https://api.bitbucket.org"
	f.Fuzz(func(t *testing.T, data []byte) {
		var page bbPage[bbVariable]
		if json.Unmarshal(data, &page) != nil || page.Next == "" {
			return
		}
		next, err := nextPage(base, page.Next)
		if err != nil {
			return
		}
		u, err := url.Parse(next)
		if err != nil {
			t.Fatalf("nextPage(%q) = %q, which does not parse: %v", page.Next, next, err)
		}
		if u.Scheme != "https" || u.Host != "api.bitbucket.org" {
			t.Fatalf("nextPage(%q) = %q, off the API's host", page.Next, next)
		}
	})
}

// FuzzErrorMessage: whatever a provider sends, the message is one printable
// line of bounded length.
func FuzzErrorMessage(f *testing.F) {
	for _, s := range []string{
		`{"type":"error","error":{"message":"Bad request","detail":"x"}}`,
		`{"message":"Bad credentials"}`,
		`{"message":{"value":["is invalid"],"key":["taken"]}}`,
		`{"message":{"a":{"b":{"c":["deep"]}}}}`,
		`{"error":"invalid_token","error_description":"revoked"}`,
		`{"error":{"detail":{"k":["v"]}}}`,
		`not json`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		m := errorMessage(data)
		if n := utf8.RuneCountInString(m); n > maxMessage+1 {
			t.Fatalf("message of %d runes", n)
		}
		for _, r := range m {
			if r < ' ' || r == 0x7f {
				t.Fatalf("control character %U in %q", r, m)
			}
		}
	})
}
