package bitbucket

import (
	"encoding/json"
	"errors"
	"net/url"
	"strings"
	"testing"
)

// FuzzParsePage: any pagelen and page either give a page of 1 to 100 values
// from page 1 on, or a 400 naming the parameter; the page's bounds stay
// within the list.
func FuzzParsePage(f *testing.F) {
	for _, s := range [][2]string{{"", ""}, {"10", "1"}, {"100", "3"}, {"1000", "2"}, {"0", "0"}, {"-1", "x"},
		{"99999999999999999999", "99999999999999999999"}, {"+5", "+2"}, {" 5", "1 "}, {"5.0", "1e3"}} {
		f.Add(s[0], s[1], true, true, 25)
	}
	f.Fuzz(func(t *testing.T, pagelen, page string, hasLen, hasPage bool, n int) {
		q := url.Values{}
		if hasLen {
			q.Set("pagelen", pagelen)
		}
		if hasPage {
			q.Set("page", page)
		}
		p, err := ParsePage(q)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || e.Status != 400 || !strings.Contains(e.Message, "page") {
				t.Fatalf("ParsePage(%q, %q) error %v, want a 400 naming the parameter", pagelen, page, err)
			}
			return
		}
		if p.Len < 1 || p.Len > MaxPageLen || p.Number < 1 {
			t.Fatalf("ParsePage(%q, %q) = %+v", pagelen, page, p)
		}
		if !hasLen && p.Len != DefaultPageLen || !hasPage && p.Number != 1 {
			t.Fatalf("ParsePage without the parameters = %+v", p)
		}
		n = max(n%100000, 0)
		lo, hi := p.bounds(n)
		if lo < 0 || hi > n || lo > hi || hi-lo > p.Len {
			t.Fatalf("%+v.bounds(%d) = %d, %d", p, n, lo, hi)
		}
	})
}

// FuzzDecodeVariable: any body is a 400 or an Input whose fields are what
// the JSON object says.
func FuzzDecodeVariable(f *testing.F) {
	for _, s := range []string{
		`{"type":"pipeline_variable","key":"K","value":"v","secured":true}`,
		`{"key":"K"}`, `{}`, `null`, `[]`, `{"key":1}`, `{"secured":"yes"}`, `{"key":"K"} {}`, ` {"value":"\u0000"} `, `{`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		in, err := DecodeVariable(data)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || e.Status != 400 || e.Message == "" {
				t.Fatalf("DecodeVariable(%q) error %v, want a 400", data, err)
			}
			return
		}
		var m map[string]json.RawMessage
		if err := json.Unmarshal(data, &m); err != nil {
			t.Fatalf("DecodeVariable accepted %q, which is not one JSON object: %v", data, err)
		}
		for name, got := range map[string]bool{"key": in.Key != nil, "value": in.Value != nil, "secured": in.Secured != nil} {
			if raw, ok := m[name]; got != (ok && string(raw) != "null") {
				t.Fatalf("DecodeVariable(%q): %s given %t, want it given exactly when the object has it (not null)", data, name, got)
			}
		}
	})
}

// FuzzParseUUID: an accepted UUID comes back lower-case without braces and
// parses to itself, braced or not.
func FuzzParseUUID(f *testing.F) {
	for _, s := range []string{"{5F0C7A34-2A7E-4D5B-9C1E-0123456789AB}", "5f0c7a34-2a7e-4d5b-9c1e-0123456789ab", "{}", "{", "urn:uuid:5f0c7a34-2a7e-4d5b-9c1e-0123456789ab", "5f0c7a342a7e4d5b9c1e0123456789ab"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		u, ok := ParseUUID(s)
		if !ok {
			return
		}
		if len(u) != 36 || u != strings.ToLower(u) {
			t.Fatalf("ParseUUID(%q) = %q", s, u)
		}
		for _, again := range []string{u, "{" + u + "}"} {
			if v, ok := ParseUUID(again); !ok || v != u {
				t.Fatalf("ParseUUID(%q) = %q, %t; want %q", again, v, ok, u)
			}
		}
	})
}
