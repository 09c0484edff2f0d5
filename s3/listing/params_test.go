package listing

import (
	"errors"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestParseV2(t *testing.T) {
	token := EncodeToken("photos/2024/")
	tests := []struct {
		query   string
		want    V2Request
		params  Params
		wantErr *ArgumentError
	}{
		{"list-type=2", V2Request{MaxKeys: 1000}, Params{MaxKeys: 1000}, nil},
		{"list-type=2&prefix=a%2F&delimiter=%2F&max-keys=7&start-after=a%2F1&fetch-owner=true&encoding-type=url",
			V2Request{Prefix: "a/", Delimiter: "/", MaxKeys: 7, StartAfter: "a/1", FetchOwner: true, EncodingType: "url", after: "a/1"},
			Params{Prefix: "a/", Delimiter: "/", After: "a/1", MaxKeys: 7}, nil},
		{"max-keys=0", V2Request{}, Params{}, nil},
		{"max-keys=1000", V2Request{MaxKeys: 1000}, Params{MaxKeys: 1000}, nil},
		{"max-keys=1001", V2Request{MaxKeys: 1000}, Params{MaxKeys: 1000}, nil},
		{"max-keys=2147483647", V2Request{MaxKeys: 1000}, Params{MaxKeys: 1000}, nil},
		{"max-keys=%2B5", V2Request{MaxKeys: 5}, Params{MaxKeys: 5}, nil},
		{"fetch-owner=yes", V2Request{MaxKeys: 1000}, Params{MaxKeys: 1000}, nil},
		{"continuation-token=" + url.QueryEscape(token) + "&start-after=a",
			V2Request{StartAfter: "a", ContinuationToken: token, MaxKeys: 1000, after: "photos/2024/"},
			Params{After: "photos/2024/", MaxKeys: 1000}, nil},
		{"max-keys=-1", V2Request{}, Params{}, &ArgumentError{msgMaxKeysRange, "maxKeys", "-1"}},
		{"max-keys=abc", V2Request{}, Params{}, &ArgumentError{msgMaxKeysNotInteger, "max-keys", "abc"}},
		{"max-keys=2147483648", V2Request{}, Params{}, &ArgumentError{msgMaxKeysNotInteger, "max-keys", "2147483648"}},
		{"max-keys=1.5", V2Request{}, Params{}, &ArgumentError{msgMaxKeysNotInteger, "max-keys", "1.5"}},
		{"max-keys=", V2Request{}, Params{}, &ArgumentError{msgMaxKeysNotInteger, "max-keys", ""}},
		{"encoding-type=base64", V2Request{}, Params{}, &ArgumentError{msgEncodingType, "encoding-type", "base64"}},
		{"continuation-token=", V2Request{}, Params{}, &ArgumentError{msgToken, "continuation-token", ""}},
		{"continuation-token=%21%21", V2Request{}, Params{}, &ArgumentError{msgToken, "continuation-token", "!!"}},
		{"continuation-token=" + url.QueryEscape("YWJj"), V2Request{}, Params{}, &ArgumentError{msgToken, "continuation-token", "YWJj"}},
		{"continuation-token=MS80A01%3D", V2Request{}, Params{}, &ArgumentError{msgToken, "continuation-token", "MS80A01="}},
	}
	for _, tc := range tests {
		t.Run(tc.query, func(t *testing.T) {
			q, err := url.ParseQuery(tc.query)
			if err != nil {
				t.Fatal(err)
			}
			got, err := ParseV2(q)
			if tc.wantErr != nil {
				var ae *ArgumentError
				if !errors.As(err, &ae) || *ae != *tc.wantErr {
					t.Fatalf("ParseV2 error = %#v, want %#v", err, tc.wantErr)
				}
				if !strings.HasPrefix(err.Error(), "InvalidArgument: ") {
					t.Errorf("Error() = %q", err.Error())
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseV2: %v", err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("ParseV2 = %+v, want %+v", got, tc.want)
			}
			if p := got.Params(); p != tc.params {
				t.Fatalf("Params = %+v, want %+v", p, tc.params)
			}
		})
	}
}

func TestParseV1(t *testing.T) {
	q, _ := url.ParseQuery("prefix=p&delimiter=%2F&marker=p%2Fa&max-keys=3")
	got, err := ParseV1(q)
	if err != nil {
		t.Fatal(err)
	}
	if want := (V1Request{Prefix: "p", Delimiter: "/", Marker: "p/a", MaxKeys: 3}); got != want {
		t.Fatalf("ParseV1 = %+v, want %+v", got, want)
	}
	if p := got.Params(); p != (Params{Prefix: "p", Delimiter: "/", After: "p/a", MaxKeys: 3}) {
		t.Fatalf("Params = %+v", p)
	}
	for _, bad := range []string{"max-keys=-5", "max-keys=x", "encoding-type=URL"} {
		q, _ := url.ParseQuery(bad)
		var ae *ArgumentError
		if _, err := ParseV1(q); !errors.As(err, &ae) {
			t.Errorf("ParseV1(%s) error = %v, want an ArgumentError", bad, err)
		}
	}
	// A continuation token means nothing to version 1.
	q, _ = url.ParseQuery("continuation-token=bad")
	if _, err := ParseV1(q); err != nil {
		t.Errorf("ParseV1 with a continuation-token: %v", err)
	}
}

// TestNextMarker: ListObjects reports NextMarker only with a delimiter, on a
// truncated page; it is the last key or common prefix, and as a marker it
// resumes the listing without repeating the common prefix.
func TestNextMarker(t *testing.T) {
	src := newSource("a/1", "a/2", "b", "c/1")
	req := V1Request{Delimiter: "/", MaxKeys: 1}
	page := src.list(t, req.Params())
	if m := NextMarker(req, page); m != "a/" {
		t.Fatalf("NextMarker = %q, want a/", m)
	}
	req.Marker = "a/"
	page = src.list(t, req.Params())
	if !reflect.DeepEqual(page.Contents, []string{"b"}) || NextMarker(req, page) != "b" {
		t.Fatalf("page after marker a/ = %+v", page)
	}
	noDelim := V1Request{MaxKeys: 1}
	if m := NextMarker(noDelim, src.list(t, noDelim.Params())); m != "" {
		t.Fatalf("NextMarker without a delimiter = %q, want none", m)
	}
	last := V1Request{Delimiter: "/", Marker: "b", MaxKeys: 1}
	if m := NextMarker(last, src.list(t, last.Params())); m != "" {
		t.Fatalf("NextMarker of the last page = %q, want none", m)
	}
}

func TestTokenRoundTrip(t *testing.T) {
	for _, k := range []string{"", "a", "photos/2024/", "日本語/😀", strings.Repeat("k", 1024), "a b+c=d&e"} {
		got, err := DecodeToken(EncodeToken(k))
		if err != nil || got != k {
			t.Errorf("DecodeToken(EncodeToken(%.20q)) = %.20q, %v", k, got, err)
		}
	}
}

// FuzzParseV2: any query parses to parameters within S3's bounds or to an
// ArgumentError with S3's message, name and the offending value; a token the
// parser accepts round-trips.
func FuzzParseV2(f *testing.F) {
	f.Add("list-type=2&prefix=a%2F&delimiter=%2F&max-keys=7")
	f.Add("max-keys=-1")
	f.Add("max-keys=99999999999999999999")
	f.Add("continuation-token=" + url.QueryEscape(EncodeToken("x/")))
	f.Add("continuation-token=&encoding-type=url")
	f.Add("encoding-type=xml&max-keys=%2B0")
	f.Add("continuation-token=MS80A01%3D") // non-canonical base64 of "1/4\x03M"
	f.Fuzz(func(t *testing.T, raw string) {
		q, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		r, err := ParseV2(q)
		if err != nil {
			var ae *ArgumentError
			if !errors.As(err, &ae) {
				t.Fatalf("ParseV2(%q): %T %v, want an ArgumentError", raw, err, err)
			}
			switch ae.Message {
			case msgMaxKeysNotInteger, msgMaxKeysRange:
				if ae.Value != q.Get("max-keys") {
					t.Fatalf("max-keys error names value %q, sent %q", ae.Value, q.Get("max-keys"))
				}
			case msgEncodingType:
				if ae.Name != "encoding-type" || ae.Value != q.Get("encoding-type") {
					t.Fatalf("encoding-type error %+v", ae)
				}
			case msgToken:
				if ae.Name != "continuation-token" || ae.Value != q.Get("continuation-token") {
					t.Fatalf("token error %+v", ae)
				}
			default:
				t.Fatalf("unexpected message %q", ae.Message)
			}
			return
		}
		p := r.Params()
		if p.MaxKeys < 0 || p.MaxKeys > MaxKeys {
			t.Fatalf("MaxKeys %d out of range", p.MaxKeys)
		}
		if r.EncodingType != "" && r.EncodingType != EncodingURL {
			t.Fatalf("EncodingType %q", r.EncodingType)
		}
		if p.Prefix != q.Get("prefix") || p.Delimiter != q.Get("delimiter") {
			t.Fatalf("Params %+v do not carry prefix and delimiter", p)
		}
		if q.Has("continuation-token") {
			if !utf8.ValidString(p.After) || EncodeToken(p.After) != q.Get("continuation-token") {
				t.Fatalf("token %q decoded to %q, which encodes otherwise", q.Get("continuation-token"), p.After)
			}
		} else if p.After != q.Get("start-after") {
			t.Fatalf("After %q, start-after %q", p.After, q.Get("start-after"))
		}
	})
}
