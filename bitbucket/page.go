package bitbucket

import (
	"math"
	"net/url"
	"strconv"
	"strings"
)

// Bitbucket's page sizes: 10 values a page unless pagelen says otherwise, at
// most 100.
const (
	DefaultPageLen = 10
	MaxPageLen     = 100
)

// Page is the page of a list a request asks for.
type Page struct {
	// Len is the page size: pagelen, 1 to MaxPageLen (a larger one is cut to
	// MaxPageLen, as Bitbucket does), DefaultPageLen when not given.
	Len int
	// Number is page, from 1 (the default).
	Number int
}

// ParsePage reads the pagelen and page query parameters (the first of each).
// A value that is not a whole number, or is below 1, is an error saying what
// to send.
func ParsePage(q url.Values) (Page, error) {
	p := Page{Len: DefaultPageLen, Number: 1}
	if q.Has("pagelen") {
		raw := q.Get("pagelen")
		n, ok := positive(raw)
		if !ok {
			return Page{}, badRequest("Invalid pagelen %q: give the number of values a page holds, 1 to %d", raw, MaxPageLen)
		}
		p.Len = min(n, MaxPageLen)
	}
	if q.Has("page") {
		raw := q.Get("page")
		n, ok := positive(raw)
		if !ok {
			return Page{}, badRequest("Invalid page %q: pages are numbered from 1", raw)
		}
		p.Number = n
	}
	return p, nil
}

// positive parses a whole number of at least 1; one too large for an int is
// math.MaxInt.
func positive(raw string) (int, bool) {
	n, err := strconv.Atoi(raw)
	if ne, ok := err.(*strconv.NumError); ok && ne.Err == strconv.ErrRange && !strings.HasPrefix(raw, "-") {
		return math.MaxInt, true
	}
	return n, err == nil && n >= 1
}

// bounds are the indexes of the page's values among n: values[lo:hi]. A page
// past the end is empty.
func (p Page) bounds(n int) (lo, hi int) {
	if p.Number-1 > n/p.Len {
		return n, n
	}
	lo = min((p.Number-1)*p.Len, n)
	return lo, min(lo+p.Len, n)
}
