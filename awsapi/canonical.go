package awsapi

import (
	"net/http"
	"sort"
	"strconv"
	"strings"
)

// This file builds the pieces of a SigV4 canonical request:
//
//	Method \n CanonicalURI \n CanonicalQuery \n CanonicalHeaders \n SignedHeaders \n PayloadHash
//
// following the official test vectors (awslabs/aws-c-auth) and the
// behaviour of aws-sdk-go-v2 and botocore.

const upperHex = "0123456789ABCDEF"

// isUnreserved reports whether c is an RFC 3986 unreserved character, the only
// bytes SigV4 leaves unencoded.
func isUnreserved(c byte) bool {
	return 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' ||
		c == '-' || c == '_' || c == '.' || c == '~'
}

// uriEncode appends s to b, percent-encoding every byte except the
// unreserved ones (and '/' when keepSlash), with upper-case hex digits.
func uriEncode(b *strings.Builder, s string, keepSlash bool) {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if isUnreserved(c) || keepSlash && c == '/' {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(upperHex[c>>4])
		b.WriteByte(upperHex[c&15])
	}
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// rawRequestPath returns the path of r as the client sent it (still
// percent-encoded). On a server the request line (r.RequestURI) is the
// authority; for requests built in-process the URL's escaped path is used.
func rawRequestPath(r *http.Request) string {
	p := r.RequestURI
	if p == "" || p == "*" {
		p = r.URL.EscapedPath()
	} else {
		p, _, _ = strings.Cut(p, "?")
		if i := strings.Index(p, "://"); i >= 0 && !strings.HasPrefix(p, "/") {
			// absolute-form request target: scheme://authority/path
			rest := p[i+3:]
			if j := strings.IndexByte(rest, '/'); j >= 0 {
				p = rest[j:]
			} else {
				p = "/"
			}
		}
	}
	if p == "" {
		p = "/"
	}
	return p
}

// canonicalURI returns the canonical URI of a raw (escaped) request path.
//
// With normalize (every service but S3) the path's dot segments and repeated
// slashes are removed the way botocore does, and the result is URI-encoded
// again: an escaped path is therefore encoded twice, which is what the SDKs
// sign. Without normalize (S3) the path is taken as sent, byte for byte;
// only bytes that cannot appear in a URL path (spaces, non-ASCII, controls,
// a '%' that starts no escape) are percent-encoded, which is how the
// official vectors write raw paths.
func canonicalURI(raw string, normalize bool) string {
	var b strings.Builder
	b.Grow(len(raw) + 8)
	if normalize {
		uriEncode(&b, normalizePath(raw), true)
		return b.String()
	}
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		switch {
		case c == '%' && i+2 < len(raw) && isHex(raw[i+1]) && isHex(raw[i+2]):
			b.WriteString(raw[i : i+3])
			i += 2
		case c != '%' && isPathChar(c):
			b.WriteByte(c)
		default:
			b.WriteByte('%')
			b.WriteByte(upperHex[c>>4])
			b.WriteByte(upperHex[c&15])
		}
	}
	return b.String()
}

// isPathChar reports whether c may appear literally in a URL path (RFC 3986
// pchar plus '/'): unreserved, sub-delims, ':' and '@'.
func isPathChar(c byte) bool {
	if isUnreserved(c) {
		return true
	}
	switch c {
	case '/', '!', '$', '&', '\'', '(', ')', '*', '+', ',', ';', '=', ':', '@':
		return true
	}
	return false
}

// normalizePath removes empty and "." segments and resolves ".." segments,
// keeping a leading slash and a trailing one when the input had it
// (botocore's remove_dot_segments, which the official vectors follow).
func normalizePath(p string) string {
	if p == "" {
		return "/"
	}
	if !strings.Contains(p, "//") && !strings.Contains(p, "/.") {
		return p // fast path: nothing to normalize
	}
	segs := make([]string, 0, 8)
	for _, s := range strings.Split(p, "/") {
		switch s {
		case "", ".":
		case "..":
			if len(segs) > 0 {
				segs = segs[:len(segs)-1]
			}
		default:
			segs = append(segs, s)
		}
	}
	var b strings.Builder
	if p[0] == '/' {
		b.WriteByte('/')
	}
	b.WriteString(strings.Join(segs, "/"))
	if p[len(p)-1] == '/' && len(segs) > 0 {
		b.WriteByte('/')
	}
	if b.Len() == 0 {
		return "/"
	}
	return b.String()
}

// queryPair is one decoded name=value pair of a query string.
type queryPair struct {
	key, value string
}

// parseQueryPairs splits a raw query string into decoded pairs, in order.
// "+" decodes to a space, as aws-sdk-go-v2 and url.ParseQuery treat it. It
// fails on an invalid percent escape.
func parseQueryPairs(raw string) ([]queryPair, bool) {
	if raw == "" {
		return nil, true
	}
	pairs := make([]queryPair, 0, strings.Count(raw, "&")+1)
	for raw != "" {
		var part string
		part, raw, _ = strings.Cut(raw, "&")
		if part == "" {
			continue
		}
		k, v, _ := strings.Cut(part, "=")
		dk, ok1 := unescapeQuery(k)
		dv, ok2 := unescapeQuery(v)
		if !ok1 || !ok2 {
			return nil, false
		}
		pairs = append(pairs, queryPair{dk, dv})
	}
	return pairs, true
}

// unescapeQuery decodes %XX escapes and '+'; it avoids allocating when
// there is nothing to decode.
func unescapeQuery(s string) (string, bool) {
	if !strings.ContainsAny(s, "%+") {
		return s, true
	}
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '%':
			if i+2 >= len(s) || !isHex(s[i+1]) || !isHex(s[i+2]) {
				return "", false
			}
			b = append(b, unhex(s[i+1])<<4|unhex(s[i+2]))
			i += 2
		case '+':
			b = append(b, ' ')
		default:
			b = append(b, c)
		}
	}
	return string(b), true
}

func unhex(c byte) byte {
	switch {
	case '0' <= c && c <= '9':
		return c - '0'
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10
	default:
		return c - 'A' + 10
	}
}

// canonicalQuery encodes the pairs (skipping those for which skip reports
// true) and sorts them by encoded name, then encoded value.
func canonicalQuery(pairs []queryPair, skip func(key string) bool) string {
	if len(pairs) == 0 {
		return ""
	}
	enc := make([]string, 0, len(pairs))
	var b strings.Builder
	for _, p := range pairs {
		if skip != nil && skip(p.key) {
			continue
		}
		b.Reset()
		uriEncode(&b, p.key, false)
		b.WriteByte('=')
		uriEncode(&b, p.value, false)
		enc = append(enc, b.String())
	}
	// Sorting "k=v" strings orders by key then value, except where one key is
	// a prefix of another; compare the parts explicitly.
	sort.Slice(enc, func(i, j int) bool {
		ki, vi, _ := strings.Cut(enc[i], "=")
		kj, vj, _ := strings.Cut(enc[j], "=")
		if ki != kj {
			return ki < kj
		}
		return vi < vj
	})
	return strings.Join(enc, "&")
}

// writeCanonicalHeaders appends "name:value\n" for every signed header, in the
// order of the SignedHeaders list. Repeated headers are joined with commas;
// each value is trimmed and its runs of whitespace collapsed to one space.
func writeCanonicalHeaders(b *strings.Builder, r *http.Request, signed []string) {
	for _, name := range signed {
		b.WriteString(name)
		b.WriteByte(':')
		switch name {
		case "host":
			host := r.Host
			if host == "" {
				host = r.URL.Host
			}
			writeTrimmed(b, host)
		default:
			vals := r.Header.Values(name)
			if len(vals) == 0 && name == "content-length" && r.ContentLength >= 0 {
				b.WriteString(strconv.FormatInt(r.ContentLength, 10))
			}
			for i, v := range vals {
				if i > 0 {
					b.WriteByte(',')
				}
				writeTrimmed(b, v)
			}
		}
		b.WriteByte('\n')
	}
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// writeTrimmed appends v without leading and trailing whitespace and with
// each inner run of whitespace replaced by a single space.
func writeTrimmed(b *strings.Builder, v string) {
	i, j := 0, len(v)
	for i < j && isSpace(v[i]) {
		i++
	}
	for j > i && isSpace(v[j-1]) {
		j--
	}
	space := false
	for k := i; k < j; k++ {
		c := v[k]
		if isSpace(c) {
			space = true
			continue
		}
		if space {
			b.WriteByte(' ')
			space = false
		}
		b.WriteByte(c)
	}
}
