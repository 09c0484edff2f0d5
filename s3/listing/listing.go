// Package listing is S3's ListObjects and ListObjectsV2 logic, written once
// over a scan of keys in byte order, so that every store lists alike: keys in
// lexicographic order of their UTF-8 bytes, filtered by prefix, rolled up at
// the delimiter into common prefixes (each counted once toward max-keys),
// resumed after a start-after key, a marker or a continuation token, and cut
// at max-keys with IsTruncated telling whether more follows.
//
// params.go parses the request parameters, with S3's errors for bad values.
package listing

import (
	"context"
	"strings"
	"unicode/utf8"
)

// MaxKeys is the most keys (and common prefixes) one page holds, and the
// default page size.
const MaxKeys = 1000

// delimitedBatch bounds the entries one scan reads when keys roll up: a scan
// that meets a group reads on into it until the batch ends, then the next scan
// starts past the group.
const delimitedBatch = 32

// Params select one page of a listing.
type Params struct {
	Prefix    string
	Delimiter string // empty: no roll-up
	// After is where the page starts: after this key (the start-after key,
	// the decoded continuation token or the marker). A common prefix at or
	// before After is not listed: it was, on an earlier page.
	After   string
	MaxKeys int // 0 to MaxKeys; 0 gives an empty page that is not truncated
}

// Page is one page of a listing.
type Page[T any] struct {
	// Contents are the entries listed, in key order.
	Contents []T
	// CommonPrefixes are the keys rolled up at the delimiter, each up to and
	// including the delimiter's first occurrence after Prefix, in order.
	CommonPrefixes []string
	// IsTruncated says whether more keys or common prefixes follow.
	IsTruncated bool
	// Next is, when IsTruncated, the last key or common prefix of the page:
	// the After of the next page, ListObjects's NextMarker and what
	// EncodeToken makes ListObjectsV2's NextContinuationToken of.
	Next string
}

// KeyCount is the number of keys and common prefixes on the page, as
// ListObjectsV2 reports it.
func (p Page[T]) KeyCount() int { return len(p.Contents) + len(p.CommonPrefixes) }

// Range is a range of keys in byte order: those after From (from From on when
// Inclusive) and before To; an empty To sets no upper bound. It has the shape
// of store.KeyRange, so that one converts to the other. Its bounds are valid
// UTF-8 (so that PostgreSQL takes them as text).
type Range struct {
	From      string
	Inclusive bool
	To        string
}

// Scan returns at most limit (≥ 1) entries whose keys are in r, in key order.
type Scan[T any] func(ctx context.Context, r Range, limit int) ([]T, error)

// List returns the page p selects from the entries scan reads; key gives an
// entry's key. Keys must be valid UTF-8 (S3's rule); the parameters may be
// any bytes. A group of keys rolled up into one common prefix is
// skipped with one new scan, not read through.
func List[T any](ctx context.Context, p Params, key func(T) string, scan Scan[T]) (Page[T], error) {
	var page Page[T]
	if p.MaxKeys <= 0 {
		return page, nil
	}
	// The scan stops before the first key past those with the prefix; with
	// no valid UTF-8 bound, the loop stops at that key.
	to, _ := Successor(p.Prefix)
	if !utf8.ValidString(to) {
		to = ""
	}
	// lo is the bound every listed key passes (after lo, or from lo when
	// loInclusive); the scan range is lo made valid UTF-8, never above lo.
	lo, loInclusive := p.Prefix, true
	if p.After >= p.Prefix {
		lo, loInclusive = p.After, false
	}
	var lastPrefix string // the common prefix whose keys are being skipped
	var scanned string    // the last key scanned, "" before the first scan
	for {
		r := Range{From: lo, Inclusive: loInclusive, To: to}
		if !utf8.ValidString(lo) {
			r.From, r.Inclusive = validPrefix(lo), true
		}
		if scanned != "" && scanned >= r.From {
			r.From, r.Inclusive = scanned, false // never scan a key twice
		}
		limit := p.MaxKeys - page.KeyCount() + 1
		if p.Delimiter != "" {
			limit = min(limit, delimitedBatch)
		}
		batch, err := scan(ctx, r, limit)
		if err != nil {
			return Page[T]{}, err
		}
		for _, v := range batch {
			k := key(v)
			if k < lo || k == lo && !loInclusive {
				continue // before the bound (a scan from a bound made valid UTF-8)
			}
			if !strings.HasPrefix(k, p.Prefix) {
				if k > p.Prefix {
					return done(page), nil // past the keys with the prefix
				}
				continue
			}
			if lastPrefix != "" && strings.HasPrefix(k, lastPrefix) {
				continue
			}
			cp := commonPrefix(k, p.Prefix, p.Delimiter)
			if cp == "" {
				if page.KeyCount() == p.MaxKeys {
					page.IsTruncated = true
					return page, nil
				}
				page.Contents = append(page.Contents, v)
				page.Next = k
				lo, loInclusive = k, false
				continue
			}
			if cp > p.After {
				if page.KeyCount() == p.MaxKeys {
					page.IsTruncated = true
					return page, nil
				}
				page.CommonPrefixes = append(page.CommonPrefixes, cp)
				page.Next = cp
			}
			lastPrefix = cp
			next, ok := Successor(cp)
			if !ok {
				return done(page), nil // nothing sorts after the group
			}
			lo, loInclusive = next, true
		}
		if len(batch) < limit {
			return done(page), nil // the range holds no more keys
		}
		scanned = key(batch[len(batch)-1])
	}
}

// done is a complete final page: Next only tells where a truncated page ends.
func done[T any](p Page[T]) Page[T] {
	p.Next = ""
	return p
}

// commonPrefix is the common prefix key rolls up into: key up to and including
// the first delimiter after prefix, or "" when the key is listed itself.
func commonPrefix(key, prefix, delimiter string) string {
	if delimiter == "" {
		return ""
	}
	i := strings.Index(key[len(prefix):], delimiter)
	if i < 0 {
		return ""
	}
	return key[:len(prefix)+i+len(delimiter)]
}

// Successor returns the least valid UTF-8 string that sorts, by bytes, after
// every string that starts with s: s with its last code point incremented
// (skipping the surrogates), after dropping trailing U+10FFFF. It returns
// false when there is none (s is empty or all U+10FFFF). A trailing byte that
// is not valid UTF-8 is incremented as a byte (or dropped if 0xFF).
func Successor(s string) (string, bool) {
	for s != "" {
		r, n := utf8.DecodeLastRuneInString(s)
		head := s[:len(s)-n]
		if r == utf8.RuneError && n == 1 {
			if b := s[len(s)-1]; b < 0xFF {
				return head + string([]byte{b + 1}), true
			}
			s = head
			continue
		}
		switch r {
		case utf8.MaxRune:
			s = head
			continue
		case 0xD7FF:
			r = 0xE000 // past the surrogates, which UTF-8 does not encode
		default:
			r++
		}
		return head + string(r), true
	}
	return "", false
}

// validPrefix is the longest prefix of s that is valid UTF-8.
func validPrefix(s string) string {
	for i, r := range s {
		if r == utf8.RuneError {
			if _, n := utf8.DecodeRuneInString(s[i:]); n == 1 {
				return s[:i]
			}
		}
	}
	return s
}
