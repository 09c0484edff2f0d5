package invalidation

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// MaxPathLength is the longest invalidation path CloudFront accepts, in
// characters (after percent-encoding).
const MaxPathLength = 4000

// EncodePath returns the invalidation path of rel, an object key relative to
// the distribution's origin path: "/" and rel with what CloudFront requires
// percent-encoded. CloudFront's rule (Developer Guide, "What you need to know
// when invalidating files", Invalidation paths) is to URL-encode non-ASCII
// characters and the characters RFC 1738 calls unsafe, and no other character,
// or the invalidation would not match the cached object. So EncodePath
// encodes, as %XX with upper-case hex digits:
//
//   - bytes 0x80–0xFF (each byte of a non-ASCII character) and control
//     characters (0x00–0x1F, 0x7F);
//   - the space and the RFC 1738 unsafe characters " # % < > { } | \ ^ ~ [ ] `;
//   - "?", which would otherwise start a query string.
//
// Everything else, "/" included, is kept as it is. EncodePath does not treat
// "*" specially: a key with a "*" cannot be invalidated exactly (CloudFront
// reads "*" as a wildcard, allowed only at the end), which NewPlan handles.
func EncodePath(rel string) string {
	var b strings.Builder
	b.Grow(len(rel) + 1)
	b.WriteByte('/')
	for i := 0; i < len(rel); i++ {
		c := rel[i]
		if mustEscape(c) {
			const hex = "0123456789ABCDEF"
			b.WriteByte('%')
			b.WriteByte(hex[c>>4])
			b.WriteByte(hex[c&15])
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}

// mustEscape reports whether EncodePath percent-encodes c.
func mustEscape(c byte) bool {
	if c <= ' ' || c >= 0x7f {
		return true
	}
	switch c {
	case '"', '#', '%', '<', '>', '{', '}', '|', '\\', '^', '~', '[', ']', '`', '?':
		return true
	}
	return false
}

// CheckPath reports, with a sentence saying what to change, why p is not an
// invalidation path this package sends: it must start with "/", be at most
// MaxPathLength characters, have "*" only as its last character, and have
// every character EncodePath encodes percent-encoded ("%" only as the start
// of a %XX escape). "?" is allowed unencoded in a path given by hand, where it
// starts a query string ("/search?q=a"), as CloudFront allows.
func CheckPath(p string) error {
	switch {
	case !strings.HasPrefix(p, "/"):
		return fmt.Errorf("invalidation path %q does not start with \"/\": write it as a URL path, such as \"/%s\"", p, strings.TrimLeft(p, "/"))
	case len(p) > MaxPathLength:
		return fmt.Errorf("invalidation path %.40q… has %d characters: CloudFront allows at most %d; end a shorter prefix with \"*\"", p, len(p), MaxPathLength)
	}
	if i := strings.IndexByte(p, '*'); i >= 0 && i != len(p)-1 {
		return fmt.Errorf("invalidation path %q has a \"*\" before its end: CloudFront allows the wildcard only as the last character", p)
	}
	for i := 0; i < len(p); i++ {
		c := p[i]
		if c == '%' {
			if i+2 >= len(p) || !isHex(p[i+1]) || !isHex(p[i+2]) {
				return fmt.Errorf("invalidation path %q has a %% that does not start a %%XX escape: write a literal %% as %%25", p)
			}
			continue
		}
		if c != '?' && mustEscape(c) {
			r, size := utf8.DecodeRuneInString(p[i:])
			if r == utf8.RuneError && size <= 1 {
				return fmt.Errorf("invalidation path %q has the byte 0x%02X, which CloudFront requires percent-encoded: write it as %s", p, c, EncodePath(p[i : i+1])[1:])
			}
			return fmt.Errorf("invalidation path %q has the character %q, which CloudFront requires percent-encoded: write it as %s", p, r, EncodePath(p[i : i+size])[1:])
		}
	}
	return nil
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}
