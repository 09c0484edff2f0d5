package awsapi

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"net/http"
	"net/textproto"
	"reflect"
	"strconv"
	"sync"
	"unicode/utf8"
)

// Query-protocol XML namespaces.
const (
	// NamespaceSTS is the XML namespace of STS replies (version 2011-06-15).
	NamespaceSTS = "https://sts.amazonaws.com/doc/2011-06-15/"
	// NamespaceIAM is the XML namespace of IAM replies (version 2010-05-08).
	NamespaceIAM = "https://iam.amazonaws.com/doc/2010-05-08/"
	// NamespaceS3 is the XML namespace of S3 replies.
	NamespaceS3 = "http://s3.amazonaws.com/doc/2006-03-01/"
)

// QueryXMLMarshaler is implemented by results that write their own XML, a
// fast path for hot actions that avoids encoding/xml's reflection.
// MarshalQueryXML must append exactly what encoding/xml would write for the
// value inside its Result element (the content, without the Result tags), and
// a test should check that it does, for example with MarshalXMLContent. The
// helpers WriteXMLText, WriteXMLElement and WriteXMLIntElement escape and
// format as encoding/xml does.
type QueryXMLMarshaler interface {
	MarshalQueryXML(buf *bytes.Buffer)
}

// WriteQueryResult writes a successful Query-protocol reply:
//
//	<{action}Response xmlns="{namespace}">
//	  <{action}Result>…result…</{action}Result>
//	  <ResponseMetadata><RequestId>{requestID}</RequestId></ResponseMetadata>
//	</{action}Response>
//
// with Content-Type text/xml and the x-amzn-RequestId header. result is
// marshalled with encoding/xml as the content of the Result element (it
// should not carry an XMLName field), unless it implements QueryXMLMarshaler;
// a nil result (or nil pointer) omits the Result element, as AWS does for
// actions without output such as DeleteRole. If result cannot be marshalled,
// or action is not an operation name (letters and digits), an InternalFailure
// error is written instead.
func WriteQueryResult(w http.ResponseWriter, namespace, action, requestID string, result any) {
	b := getBuffer()
	defer putBuffer(b)
	if err := encodeQueryResult(b, namespace, action, requestID, result); err != nil {
		WriteQueryError(w, namespace, requestID, err)
		return
	}
	writeXML(w, "text/xml", "x-amzn-RequestId", requestID, http.StatusOK, b.buf.Bytes())
}

// xmlBuffer is a reusable output buffer with an encoding/xml Encoder writing
// into it (created on first use: xml.NewEncoder allocates a 4 KiB bufio
// buffer, which would otherwise be paid on every reply).
type xmlBuffer struct {
	buf bytes.Buffer
	enc *xml.Encoder
	bad bool // enc failed mid-element: do not reuse it
}

// maxPooledBuffer is the largest buffer returned to the pool; bigger ones
// (large list replies) are left to the garbage collector.
const maxPooledBuffer = 64 << 10

var bufferPool = sync.Pool{New: func() any { return new(xmlBuffer) }}

func getBuffer() *xmlBuffer { return bufferPool.Get().(*xmlBuffer) }

func putBuffer(b *xmlBuffer) {
	if b.bad || b.buf.Cap() > maxPooledBuffer {
		return
	}
	b.buf.Reset()
	bufferPool.Put(b)
}

// encodeElement writes v as the element start with encoding/xml.
func (b *xmlBuffer) encodeElement(v any, start xml.StartElement) error {
	if b.enc == nil {
		b.enc = xml.NewEncoder(&b.buf)
	}
	err := b.enc.EncodeElement(v, start)
	if err == nil {
		err = b.enc.Flush()
	}
	if err != nil {
		b.bad = true
	}
	return err
}

func encodeQueryResult(b *xmlBuffer, namespace, action, requestID string, result any) error {
	if !isActionName(action) {
		return fmt.Errorf("awsapi: encode response: invalid action name %q", action)
	}
	buf := &b.buf
	buf.WriteByte('<')
	buf.WriteString(action)
	buf.WriteString(`Response xmlns="`)
	WriteXMLText(buf, namespace)
	buf.WriteString(`">`)
	if !isNil(result) {
		if m, ok := result.(QueryXMLMarshaler); ok {
			buf.WriteByte('<')
			buf.WriteString(action)
			buf.WriteString("Result>")
			m.MarshalQueryXML(buf)
			buf.WriteString("</")
			buf.WriteString(action)
			buf.WriteString("Result>")
		} else if err := b.encodeElement(result, xml.StartElement{Name: xml.Name{Local: action + "Result"}}); err != nil {
			return fmt.Errorf("awsapi: encode %s result: %w", action, err)
		}
	}
	buf.WriteString("<ResponseMetadata>")
	WriteXMLElement(buf, "RequestId", requestID)
	buf.WriteString("</ResponseMetadata></")
	buf.WriteString(action)
	buf.WriteString("Response>")
	return nil
}

// MarshalXMLContent returns what encoding/xml writes for v inside an element:
// the reference that a QueryXMLMarshaler's output must equal.
func MarshalXMLContent(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := xml.NewEncoder(&buf)
	if err := enc.EncodeElement(v, xml.StartElement{Name: xml.Name{Local: "x"}}); err != nil {
		return nil, err
	}
	if err := enc.Flush(); err != nil {
		return nil, err
	}
	b := buf.Bytes()
	if !bytes.HasPrefix(b, []byte("<x>")) || !bytes.HasSuffix(b, []byte("</x>")) {
		return nil, fmt.Errorf("awsapi: unexpected encoding %q", b)
	}
	return b[len("<x>") : len(b)-len("</x>")], nil
}

// WriteXMLElement appends <name>text</name>, text escaped as encoding/xml
// escapes character data. name must be a valid element name.
func WriteXMLElement(buf *bytes.Buffer, name, text string) {
	buf.WriteByte('<')
	buf.WriteString(name)
	buf.WriteByte('>')
	WriteXMLText(buf, text)
	buf.WriteString("</")
	buf.WriteString(name)
	buf.WriteByte('>')
}

// WriteXMLIntElement appends <name>n</name> as encoding/xml writes an int.
func WriteXMLIntElement(buf *bytes.Buffer, name string, n int) {
	buf.WriteByte('<')
	buf.WriteString(name)
	buf.WriteByte('>')
	var num [20]byte
	buf.Write(strconv.AppendInt(num[:0], int64(n), 10))
	buf.WriteString("</")
	buf.WriteString(name)
	buf.WriteByte('>')
}

// WriteXMLText appends s escaped exactly as encoding/xml's Encoder escapes
// text and attribute values: the five markup characters and tab, newline and
// carriage return as character references, and invalid UTF-8 or characters
// outside XML's range as U+FFFD.
func WriteXMLText(buf *bytes.Buffer, s string) {
	last := 0
	for i := 0; i < len(s); {
		// Skip eight plain bytes at a time: base64 tokens, ARNs and ids, the
		// bulk of a reply, need no escaping at all.
		if i+8 <= len(s) {
			w := s[i : i+8]
			if plainWord(uint64(w[0]) | uint64(w[1])<<8 | uint64(w[2])<<16 | uint64(w[3])<<24 |
				uint64(w[4])<<32 | uint64(w[5])<<40 | uint64(w[6])<<48 | uint64(w[7])<<56) {
				i += 8
				continue
			}
		}
		c := s[i]
		if c < utf8.RuneSelf {
			i++
			if c >= 64 || xmlPlainLow&(1<<c) != 0 {
				continue // no ASCII character from 64 up needs escaping
			}
			var esc string
			switch c {
			case '"':
				esc = "&#34;"
			case '\'':
				esc = "&#39;"
			case '&':
				esc = "&amp;"
			case '<':
				esc = "&lt;"
			case '>':
				esc = "&gt;"
			case '\t':
				esc = "&#x9;"
			case '\n':
				esc = "&#xA;"
			case '\r':
				esc = "&#xD;"
			default:
				if c >= 0x20 {
					continue
				}
				esc = "\uFFFD"
			}
			buf.WriteString(s[last : i-1])
			buf.WriteString(esc)
			last = i
			continue
		}
		r, width := utf8.DecodeRuneInString(s[i:])
		i += width
		if isXMLChar(r) && !(r == utf8.RuneError && width == 1) {
			continue
		}
		buf.WriteString(s[last : i-width])
		buf.WriteString("\uFFFD")
		last = i
	}
	buf.WriteString(s[last:])
}

// Eight-byte lanes for plainWord.
const (
	lanes01 uint64 = 0x0101010101010101
	lanes80 uint64 = 0x8080808080808080
)

// plainWord reports whether the eight bytes of x (the first in the low byte)
// are all ASCII characters that WriteXMLText copies as they are: none is 0x80
// or above, below 0x20, or one of " & ' < >. It tests the eight at once (the
// word-at-a-time "has zero byte" and "has byte less than n" tricks, exact for
// whether such a byte exists); on false the byte loop decides.
func plainWord(x uint64) bool {
	if x&lanes80 != 0 {
		return false
	}
	// With every byte below 0x80, (v - lanes01) & ^v & lanes80 is non-zero
	// exactly when some byte of v is zero.
	bad := (x - 0x20*lanes01) & ^x // a byte below 0x20
	bad |= zeroByte(x ^ '"'*lanes01)
	bad |= zeroByte(x ^ '&'*lanes01)
	bad |= zeroByte(x ^ '\''*lanes01)
	bad |= zeroByte(x ^ '<'*lanes01)
	bad |= zeroByte(x ^ '>'*lanes01)
	return bad&lanes80 == 0
}

// zeroByte has the high bit of a lane set if that lane of v is zero (v's
// lanes all below 0x80), or if a lane below it is.
func zeroByte(v uint64) uint64 { return (v - lanes01) & ^v }

// xmlPlainLow has bit c set for each ASCII character c below 64 that
// WriteXMLText copies as is: space and the printable characters except
// " & ' < >.
const xmlPlainLow uint64 = 1<<' ' | 1<<'!' | 1<<'#' | 1<<'$' | 1<<'%' | 1<<'(' | 1<<')' | 1<<'*' | 1<<'+' | 1<<',' | 1<<'-' | 1<<'.' | 1<<'/' |
	1<<'0' | 1<<'1' | 1<<'2' | 1<<'3' | 1<<'4' | 1<<'5' | 1<<'6' | 1<<'7' | 1<<'8' | 1<<'9' | 1<<':' | 1<<';' | 1<<'=' | 1<<'?'

// isXMLChar reports whether r is in XML's Char production (as encoding/xml's
// isInCharacterRange).
func isXMLChar(r rune) bool {
	return r == 0x09 || r == 0x0A || r == 0x0D ||
		r >= 0x20 && r <= 0xD7FF ||
		r >= 0xE000 && r <= 0xFFFD ||
		r >= 0x10000 && r <= 0x10FFFF
}

// isActionName reports whether action is a plausible operation name
// (ASCII letters and digits), so that it is safe as an XML element name.
func isActionName(action string) bool {
	if action == "" || len(action) > 128 {
		return false
	}
	for i := 0; i < len(action); i++ {
		c := action[i]
		if !('A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' && i > 0) {
			return false
		}
	}
	return true
}

func isNil(v any) bool {
	if v == nil {
		return true
	}
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Pointer, reflect.Interface, reflect.Map, reflect.Slice:
		return rv.IsNil()
	}
	return false
}

// WriteQueryError writes a Query-protocol error reply:
//
//	<ErrorResponse xmlns="{namespace}">
//	  <Error><Type>Sender|Receiver</Type><Code>…</Code><Message>…</Message></Error>
//	  <RequestId>…</RequestId>
//	</ErrorResponse>
//
// with the error's HTTP status, Content-Type text/xml and x-amzn-RequestId.
// An err that is not (and does not wrap) an *Error is written as
// InternalFailure 500 and its text is not revealed.
func WriteQueryError(w http.ResponseWriter, namespace, requestID string, err error) {
	e := AsError(err)
	typ := "Receiver"
	if e.Sender {
		typ = "Sender"
	}
	b := getBuffer()
	defer putBuffer(b)
	encodeQueryError(&b.buf, namespace, requestID, typ, e.Code, e.Message)
	writeXML(w, "text/xml", "x-amzn-RequestId", requestID, statusOf(e), b.buf.Bytes())
}

// encodeQueryError writes the Query-protocol error envelope, byte for byte
// what encoding/xml wrote for it before (TestQueryErrorMatchesEncodingXML
// compares them).
func encodeQueryError(buf *bytes.Buffer, namespace, requestID, typ, code, message string) {
	buf.WriteString(`<ErrorResponse xmlns="`)
	WriteXMLText(buf, namespace)
	buf.WriteString(`"><Error>`)
	WriteXMLElement(buf, "Type", typ)
	WriteXMLElement(buf, "Code", code)
	WriteXMLElement(buf, "Message", message)
	buf.WriteString("</Error>")
	WriteXMLElement(buf, "RequestId", requestID)
	buf.WriteString("</ErrorResponse>")
}

// restError is the REST-XML (S3) error body.
type restError struct {
	XMLName   xml.Name `xml:"Error"`
	Code      string
	Message   string
	Resource  string `xml:",omitempty"`
	RequestID string `xml:"RequestId"`
}

// WriteRESTError writes an S3-style REST-XML error reply:
//
//	<?xml version="1.0" encoding="UTF-8"?>
//	<Error><Code>…</Code><Message>…</Message><Resource>…</Resource><RequestId>…</RequestId></Error>
//
// with the error's HTTP status, Content-Type application/xml and the
// x-amz-request-id header. resource may be empty. Non-*Error errors become
// InternalFailure 500 (S3 calls it InternalError) without their text.
// Callers answering HEAD requests should write only the status instead.
func WriteRESTError(w http.ResponseWriter, requestID, resource string, err error) {
	e := AsError(err)
	code := e.Code
	if code == "InternalFailure" {
		code = "InternalError"
	}
	var buf bytes.Buffer
	buf.WriteString(xml.Header)
	_ = xml.NewEncoder(&buf).Encode(restError{Code: code, Message: e.Message, Resource: resource, RequestID: requestID})
	writeXML(w, "application/xml", "x-amz-request-id", requestID, statusOf(e), buf.Bytes())
}

// canonicalIDHeader is textproto.CanonicalMIMEHeaderKey(name) for the two
// request id headers, computed once.
func canonicalIDHeader(name string) string {
	switch name {
	case "x-amzn-RequestId":
		return "X-Amzn-Requestid"
	case "x-amz-request-id":
		return "X-Amz-Request-Id"
	}
	return textproto.CanonicalMIMEHeaderKey(name)
}

func statusOf(e *Error) int {
	if e.Status < 100 || e.Status > 599 {
		return http.StatusInternalServerError
	}
	return e.Status
}

func writeXML(w http.ResponseWriter, contentType, idHeader, requestID string, status int, body []byte) {
	h := w.Header()
	// Canonical keys set directly: what Header.Set does, without
	// canonicalizing constant names on every reply. The three one-value
	// slices share one array, each capped so that an append copies it.
	vals := make([]string, 3)
	vals[0], vals[1], vals[2] = contentType, strconv.Itoa(len(body)), requestID
	h["Content-Type"] = vals[0:1:1]
	h["Content-Length"] = vals[1:2:2]
	if requestID != "" {
		h[canonicalIDHeader(idHeader)] = vals[2:3:3]
	}
	w.WriteHeader(status)
	_, _ = w.Write(body)
}
