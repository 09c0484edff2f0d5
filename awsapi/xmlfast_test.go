package awsapi

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"
)

// The reference encoders below are the encoding/xml code the hand-written
// writers replaced; the tests check that the output is byte-identical.

type responseMetadata struct {
	RequestID string `xml:"RequestId"`
}

type queryErrorResponse struct {
	XMLName   xml.Name `xml:"ErrorResponse"`
	Xmlns     string   `xml:"xmlns,attr"`
	Error     queryErrorDetail
	RequestID string `xml:"RequestId"`
}

type queryErrorDetail struct {
	Type    string
	Code    string
	Message string
}

func referenceQueryResult(namespace, action, requestID string, result any) ([]byte, error) {
	var buf bytes.Buffer
	enc := xml.NewEncoder(&buf)
	root := xml.StartElement{
		Name: xml.Name{Local: action + "Response"},
		Attr: []xml.Attr{{Name: xml.Name{Local: "xmlns"}, Value: namespace}},
	}
	if err := enc.EncodeToken(root); err != nil {
		return nil, err
	}
	if !isNil(result) {
		if err := enc.EncodeElement(result, xml.StartElement{Name: xml.Name{Local: action + "Result"}}); err != nil {
			return nil, err
		}
	}
	if err := enc.EncodeElement(responseMetadata{RequestID: requestID}, xml.StartElement{Name: xml.Name{Local: "ResponseMetadata"}}); err != nil {
		return nil, err
	}
	if err := enc.EncodeToken(root.End()); err != nil {
		return nil, err
	}
	if err := enc.Flush(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// xmlStrings exercises every escape: markup, whitespace, control characters,
// invalid UTF-8, surrogates, non-characters and the edges of XML's range.
func xmlStrings() []string {
	out := []string{"", "plain", `<a href="x">&amp;'</a>`, "tab\there\nnl\rcr", "\x00\x01\x1f\x7f", "\xff", "a\xc3", "\xed\xa0\x80",
		"\uFFFD", "\uFFFE\uFFFF", "\U0010FFFF", "\U0001F600 é ü 中", "\u2028\u0085", "]]>", strings.Repeat("<&>", 100)}
	var all strings.Builder
	for c := range 256 {
		all.WriteByte(byte(c))
		out = append(out, string(rune(c)), string([]byte{byte(c)}), "x"+string([]byte{byte(c)})+"y")
	}
	out = append(out, all.String())
	for _, r := range []rune{0xD7FF, 0xE000, 0xFFFD, 0x10000, 0xFFFE, 0xFFFF} {
		out = append(out, string(r))
	}
	return out
}

func checkXMLText(t *testing.T, s string) {
	t.Helper()
	want, err := MarshalXMLContent(s)
	if err != nil {
		t.Fatal(err)
	}
	var got bytes.Buffer
	WriteXMLText(&got, s)
	if !bytes.Equal(got.Bytes(), want) {
		t.Fatalf("WriteXMLText(%q) = %q, encoding/xml %q", s, got.Bytes(), want)
	}
	got.Reset()
	WriteXMLElement(&got, "E", s)
	var ref bytes.Buffer
	_ = xml.NewEncoder(&ref).Encode(struct {
		XMLName xml.Name `xml:"E"`
		V       string   `xml:",chardata"`
	}{V: s})
	if !bytes.Equal(got.Bytes(), ref.Bytes()) {
		t.Fatalf("WriteXMLElement(%q) = %q, encoding/xml %q", s, got.Bytes(), ref.Bytes())
	}
}

func TestWriteXMLTextMatchesEncodingXML(t *testing.T) {
	for _, s := range xmlStrings() {
		checkXMLText(t, s)
	}
	for _, n := range []int{0, 1, -1, 4096, 1<<31 - 1, -1 << 31, 1<<63 - 1, -1 << 63} {
		var got bytes.Buffer
		WriteXMLIntElement(&got, "N", n)
		want, _ := xml.Marshal(struct {
			XMLName xml.Name `xml:"N"`
			V       int      `xml:",chardata"`
		}{V: n})
		if got.String() != string(want) {
			t.Fatalf("WriteXMLIntElement(%d) = %s, want %s", n, got.String(), want)
		}
	}
}

func FuzzWriteXMLText(f *testing.F) {
	for _, s := range xmlStrings() {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) { checkXMLText(t, s) })
}

// fastResult writes itself; its output must match encoding/xml's for the
// same fields.
type fastResult struct {
	Name  string
	Size  *int `xml:",omitempty"`
	Count int
}

func (r *fastResult) MarshalQueryXML(buf *bytes.Buffer) {
	WriteXMLElement(buf, "Name", r.Name)
	if r.Size != nil {
		WriteXMLIntElement(buf, "Size", *r.Size)
	}
	WriteXMLIntElement(buf, "Count", r.Count)
}

// TestQueryResultMatchesEncodingXML compares the envelope writer (and the
// QueryXMLMarshaler path) with the encoding/xml encoder it replaced.
func TestQueryResultMatchesEncodingXML(t *testing.T) {
	seven := 7
	results := []any{
		nil, (*roleResult)(nil), (*fastResult)(nil),
		roleResult{}, struct{ V string }{"<&>"}, struct{ N []int }{[]int{1, 2}},
		&fastResult{Name: "a<b>&'\"\t\n\r\x00\xff", Size: &seven, Count: -3}, &fastResult{},
	}
	var rr roleResult
	rr.Role.RoleName, rr.Role.Arn, rr.Role.Tags = "r", "arn:aws:iam::1:role/r", []tag{{"k", "v"}, {"k2", "\x01"}}
	results = append(results, rr, &rr)
	for i, ns := range []string{NamespaceSTS, NamespaceIAM, `"'<>&`} {
		for j, res := range results {
			rid := fmt.Sprintf("rid-%d-%d<&>\xff", i, j)
			// With the fast path: must equal encoding/xml on the same fields.
			ref := res
			if f, ok := res.(*fastResult); ok && f != nil {
				ref = *f // not a QueryXMLMarshaler: encoding/xml's reflection
			}
			want, err := referenceQueryResult(ns, "DoIt", rid, ref)
			if err != nil {
				t.Fatal(err)
			}
			b := getBuffer()
			if err := encodeQueryResult(b, ns, "DoIt", rid, res); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(b.buf.Bytes(), want) {
				t.Fatalf("result %d %#v:\n got %s\nwant %s", j, res, b.buf.Bytes(), want)
			}
			putBuffer(b)
		}
	}
}

// TestQueryResultAfterFailure checks that a buffer whose encoder failed is
// not reused and that later replies are intact.
func TestQueryResultAfterFailure(t *testing.T) {
	for range 3 {
		w := httptest.NewRecorder()
		WriteQueryResult(w, NamespaceIAM, "GetRole", "rid-3", struct{ C chan int }{make(chan int)})
		if w.Code != 500 {
			t.Fatalf("%d %s", w.Code, w.Body)
		}
		w = httptest.NewRecorder()
		WriteQueryResult(w, NamespaceIAM, "GetRole", "rid-4", struct{ V string }{"v"})
		want := `<GetRoleResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><GetRoleResult><V>v</V></GetRoleResult>` +
			`<ResponseMetadata><RequestId>rid-4</RequestId></ResponseMetadata></GetRoleResponse>`
		if w.Body.String() != want {
			t.Fatalf("after a failure: %s", w.Body)
		}
	}
}

func TestQueryErrorMatchesEncodingXML(t *testing.T) {
	for _, s := range xmlStrings() {
		var want bytes.Buffer
		_ = xml.NewEncoder(&want).Encode(queryErrorResponse{
			Xmlns: NamespaceSTS + s, Error: queryErrorDetail{Type: "Sender", Code: "C" + s, Message: s}, RequestID: s,
		})
		var got bytes.Buffer
		encodeQueryError(&got, NamespaceSTS+s, s, "Sender", "C"+s, s)
		if !bytes.Equal(got.Bytes(), want.Bytes()) {
			t.Fatalf("%q:\n got %s\nwant %s", s, got.Bytes(), want.Bytes())
		}
	}
}

// BenchmarkWriteQueryResult measures a role-sized reply through encoding/xml
// and through a QueryXMLMarshaler.
func BenchmarkWriteQueryResult(b *testing.B) {
	var rr roleResult
	rr.Role.RoleName, rr.Role.Arn, rr.Role.Tags = "deploy", "arn:aws:iam::123456789012:role/deploy", []tag{{"team", "infra"}}
	seven := 7
	for _, c := range []struct {
		name string
		res  any
	}{{"reflect", rr}, {"fast", &fastResult{Name: strings.Repeat("x", 800), Size: &seven, Count: 3}}} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				WriteQueryResult(httptest.NewRecorder(), NamespaceSTS, "AssumeRoleWithWebIdentity", "0b8f7e5a-2d5c-4b64-8a0e-0f3e1c1b2a3d", c.res)
			}
		})
	}
}

// plain8 is plainWord on the eight bytes of s.
func plain8(s string) bool {
	return plainWord(uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24 |
		uint64(s[4])<<32 | uint64(s[5])<<40 | uint64(s[6])<<48 | uint64(s[7])<<56)
}

// TestWriteXMLTextWordPath puts every byte at every position of the
// eight-byte words WriteXMLText skips at once, after plain text of every
// alignment, and compares with encoding/xml; and checks plainWord against the
// byte-by-byte rule for every byte in every lane.
func TestWriteXMLTextWordPath(t *testing.T) {
	const filler = "Ab0+/=:-xyzABC.,;?!#$%()*"
	for c := range 256 {
		for pre := range 17 {
			s := filler[:pre%len(filler)] + string([]byte{byte(c)}) + "abcdefghijklmnop"
			checkXMLText(t, s)
			checkXMLText(t, strings.Repeat("Zz", pre)+string([]byte{byte(c), byte(c)})+filler)
		}
		for lane := range 8 {
			b := []byte("abcdefgh")
			b[lane] = byte(c)
			want := c < 0x80 && (c >= 64 || xmlPlainLow&(1<<c) != 0)
			if got := plain8(string(b)); got != want {
				t.Fatalf("plain8(%q) = %v, want %v", b, got, want)
			}
		}
	}
	checkXMLText(t, strings.Repeat("QUJDREVGR0g+/=", 100)+"<"+"\xe4\xb8\xad"+strings.Repeat("x", 13))
}
