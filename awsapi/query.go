package awsapi

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"mime"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"
)

// QueryRequest is a decoded AWS Query-protocol request (IAM, STS).
type QueryRequest struct {
	// Action and Version are the Action and Version parameters ("" when absent).
	Action  string
	Version string
	// Values holds every parameter, Action and Version included, except the
	// X-Amz-* parameters of a presigned URL. Each key has exactly one value.
	Values url.Values
	// Body is the raw request body, which the SigV4 verifier hashes.
	Body []byte
}

// Get returns the value of a parameter, or "" when it is absent.
func (q QueryRequest) Get(name string) string { return q.Values.Get(name) }

// Has reports whether a parameter is present (possibly with an empty value).
func (q QueryRequest) Has(name string) bool { return q.Values.Has(name) }

// presignParams are the query parameters that belong to SigV4 query
// authentication rather than to the action.
var presignParams = map[string]bool{
	"X-Amz-Algorithm":      true,
	"X-Amz-Credential":     true,
	"X-Amz-Date":           true,
	"X-Amz-Expires":        true,
	"X-Amz-SignedHeaders":  true,
	"X-Amz-Signature":      true,
	"X-Amz-Security-Token": true,
}

// ReadBody reads the whole request body, refusing (with RequestEntityTooLarge)
// a body longer than maxBody bytes. A maxBody ≤ 0 means no body is allowed.
func ReadBody(r *http.Request, maxBody int64) ([]byte, error) {
	if maxBody < 0 {
		maxBody = 0
	}
	if r.ContentLength > maxBody {
		return nil, RequestEntityTooLarge(maxBody)
	}
	if r.Body == nil || r.Body == http.NoBody {
		return []byte{}, nil
	}
	limit := maxBody
	if limit < math.MaxInt64 {
		limit++ // read one byte more to detect an oversized body
	}
	body, err := readAll(r.Body, limit, r.ContentLength)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, RequestEntityTooLarge(maxBody)
		}
		return nil, fmt.Errorf("awsapi: read request body: %w", err)
	}
	if int64(len(body)) > maxBody {
		return nil, RequestEntityTooLarge(maxBody)
	}
	return body, nil
}

// maxPrealloc caps the buffer readAll allocates on the strength of a declared
// Content-Length alone, so that a client cannot make the server reserve
// MaxBody bytes without sending them.
const maxPrealloc = 32 << 10

// readAll is io.ReadAll(io.LimitReader(r, limit)) with the buffer sized from
// the declared length (ContentLength, already checked against the limit; at
// most maxPrealloc), so that a body of known size is read without regrowing
// (nor a LimitReader allocated); one spare byte lets the reader report EOF (or
// the extra byte of an oversized body) without a copy.
func readAll(r io.Reader, limit, declared int64) ([]byte, error) {
	if declared <= 0 {
		return io.ReadAll(io.LimitReader(r, limit))
	}
	b := make([]byte, 0, min(declared+1, maxPrealloc))
	for {
		rem := limit - int64(len(b))
		if rem <= 0 {
			return b, nil // where the LimitReader would report EOF
		}
		p := b[len(b):cap(b)]
		if int64(len(p)) > rem {
			p = p[:rem]
		}
		n, err := r.Read(p)
		b = b[:len(b)+n]
		if err == io.EOF {
			return b, nil
		}
		if err != nil {
			return b, err
		}
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)] // grow: the body is longer than declared
		}
	}
}

// ParseQueryRequest decodes a Query-protocol request: a POST whose body is
// application/x-www-form-urlencoded (optionally with "; charset=utf-8"), or a
// GET whose parameters are in the URL. Parameters in the URL of a POST are
// merged with those of the body. Every failure is an *Error: oversized bodies
// get RequestEntityTooLarge (413), undecodable ones MalformedQueryString,
// other content types UnsupportedMediaType (415), other methods
// MethodNotAllowed (405). Duplicate parameters and invalid UTF-8 are refused.
func ParseQueryRequest(r *http.Request, maxBody int64) (QueryRequest, error) {
	var q QueryRequest
	switch r.Method {
	case http.MethodGet, http.MethodPost:
	default:
		return q, NewError("MethodNotAllowed", http.StatusMethodNotAllowed,
			"The HTTP method "+sanitize(r.Method, 16)+" is not allowed for this resource.")
	}
	body, err := ReadBody(r, maxBody)
	if err != nil {
		return q, err
	}
	q.Body = body
	q.Values = make(url.Values, countPairs(body, r.URL.RawQuery))
	if r.Method == http.MethodPost {
		if ct := r.Header.Get("Content-Type"); ct != "" && !isFormType(ct) {
			mt, params, err := mime.ParseMediaType(ct)
			if err != nil || mt != "application/x-www-form-urlencoded" {
				return q, unsupportedMediaType(ct)
			}
			for k, v := range params {
				if k != "charset" || !strings.EqualFold(v, "utf-8") {
					return q, unsupportedMediaType(ct)
				}
			}
		}
		if err := decodeForm(q.Values, string(body), false); err != nil {
			return q, err
		}
	}
	if err := decodeForm(q.Values, r.URL.RawQuery, true); err != nil {
		return q, err
	}
	q.Action = q.Values.Get("Action")
	q.Version = q.Values.Get("Version")
	return q, nil
}

// countPairs estimates the number of parameters, to size the map once.
func countPairs(body []byte, query string) int {
	n := bytes.Count(body, []byte{'&'}) + strings.Count(query, "&") + 2
	return min(n, 64)
}

// isFormType reports whether ct is one of the two usual spellings of the form
// content type (any ASCII case), which mime.ParseMediaType would accept; other
// values go through the full parse.
func isFormType(ct string) bool {
	const form, withCharset = "application/x-www-form-urlencoded", "application/x-www-form-urlencoded; charset=utf-8"
	return asciiEqualFold(ct, withCharset) || asciiEqualFold(ct, form)
}

// asciiEqualFold is strings.EqualFold for ASCII only: unlike EqualFold it does
// not equate non-ASCII letters such as U+017F (ſ) with ASCII ones.
func asciiEqualFold(s, t string) bool {
	if len(s) != len(t) {
		return false
	}
	for i := 0; i < len(s); i++ {
		a, b := s[i], t[i]
		if 'A' <= a && a <= 'Z' {
			a += 'a' - 'A'
		}
		if 'A' <= b && b <= 'Z' {
			b += 'a' - 'A'
		}
		if a != b {
			return false
		}
	}
	return true
}

func unsupportedMediaType(ct string) *Error {
	return NewError("UnsupportedMediaType", http.StatusUnsupportedMediaType,
		"Content-Type "+sanitize(ct, 64)+" is not supported; use application/x-www-form-urlencoded; charset=utf-8.")
}

// decodeForm adds the pairs of an urlencoded string to dst. It refuses
// malformed escapes, invalid UTF-8 and repeated names. The one-element value
// slices share one backing array, each capped at its length so that appending
// to one (url.Values.Add) copies it rather than overwrite its neighbour.
func decodeForm(dst url.Values, s string, skipPresign bool) error {
	var vals []string
	for s != "" {
		var pair string
		pair, s, _ = strings.Cut(s, "&")
		if pair == "" {
			continue
		}
		rawKey, rawValue, _ := strings.Cut(pair, "=")
		key, ok1 := queryUnescape(rawKey)
		value, ok2 := queryUnescape(rawValue)
		if !ok1 || !ok2 {
			return MalformedQueryString("The query string contains an invalid percent-encoding.")
		}
		if key == "" {
			return MalformedQueryString("The query string contains a parameter with an empty name.")
		}
		if !utf8.ValidString(key) || !utf8.ValidString(value) {
			return MalformedQueryString("The query string is not valid UTF-8.")
		}
		if skipPresign && presignParams[key] {
			continue
		}
		if _, dup := dst[key]; dup {
			return MalformedQueryString("The parameter " + sanitize(key, 64) + " appears more than once.")
		}
		if len(vals) == cap(vals) {
			vals = make([]string, 0, strings.Count(s, "&")+1)
		}
		vals = append(vals, value)
		dst[key] = vals[len(vals)-1 : len(vals) : len(vals)]
	}
	return nil
}

// queryUnescape is url.QueryUnescape, ok reporting err == nil. Text without
// '%' or '+' (most names, and tokens) is its own value: it is returned as it
// is after two fast byte searches, where url.QueryUnescape walks it byte by
// byte to find that out.
func queryUnescape(s string) (string, bool) {
	if strings.IndexByte(s, '%') < 0 && strings.IndexByte(s, '+') < 0 {
		return s, true
	}
	v, err := url.QueryUnescape(s)
	return v, err == nil
}

// Strings returns the list parameter name as the Query protocol sends it:
// name.member.1, name.member.2, … in numeric order. It returns an empty,
// non-nil slice when the list is sent empty (a bare "name="), and nil when
// the parameter is absent altogether.
func Strings(values url.Values, name string) []string {
	prefix := name + ".member."
	type item struct {
		n int
		v string
	}
	var items []item
	for k, vs := range values {
		rest, ok := strings.CutPrefix(k, prefix)
		if !ok || len(vs) == 0 {
			continue
		}
		n, ok := memberIndex(rest)
		if !ok {
			continue
		}
		items = append(items, item{n, vs[0]})
	}
	if len(items) == 0 {
		if values.Has(name) {
			return []string{}
		}
		return nil
	}
	sort.Slice(items, func(i, j int) bool { return items[i].n < items[j].n })
	out := make([]string, len(items))
	for i, it := range items {
		out[i] = it.v
	}
	return out
}

// Members returns a list of structures sent as prefix.member.N.Field=value
// (Tags.member.1.Key, PolicyArns.member.1.arn), one map per N in numeric
// order, keyed by the field name after "N.". Like Strings, it returns an
// empty non-nil slice for a bare "prefix=" and nil when nothing is present.
func Members(values url.Values, prefix string) []map[string]string {
	p := prefix + ".member."
	byIndex := map[int]map[string]string{}
	for k, vs := range values {
		rest, ok := strings.CutPrefix(k, p)
		if !ok || len(vs) == 0 {
			continue
		}
		num, field, ok := strings.Cut(rest, ".")
		if !ok || field == "" {
			continue
		}
		n, ok := memberIndex(num)
		if !ok {
			continue
		}
		m := byIndex[n]
		if m == nil {
			m = map[string]string{}
			byIndex[n] = m
		}
		m[field] = vs[0]
	}
	if len(byIndex) == 0 {
		if values.Has(prefix) {
			return []map[string]string{}
		}
		return nil
	}
	idx := make([]int, 0, len(byIndex))
	for n := range byIndex {
		idx = append(idx, n)
	}
	sort.Ints(idx)
	out := make([]map[string]string, len(idx))
	for i, n := range idx {
		out[i] = byIndex[n]
	}
	return out
}

// memberIndex parses the N of name.member.N: a positive decimal integer
// without sign or leading zeros.
func memberIndex(s string) (int, bool) {
	if s == "" || len(s) > 9 || s[0] == '0' {
		return 0, false
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 {
		return 0, false
	}
	return n, true
}

// sanitize makes client-supplied text safe to echo in an error message:
// quoted, printable, and at most max bytes of the original.
func sanitize(s string, max int) string {
	if len(s) > max {
		s = s[:max] + "…"
	}
	return strconv.QuoteToGraphic(s)
}
