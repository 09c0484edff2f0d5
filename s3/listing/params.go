package listing

import (
	"encoding/base64"
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"
)

// ArgumentError is S3's InvalidArgument error (HTTP 400) for a bad request
// parameter, with the ArgumentName and ArgumentValue S3 reports beside its
// message.
type ArgumentError struct {
	Message string
	Name    string
	Value   string
}

// Code is S3's error code for an ArgumentError.
const Code = "InvalidArgument"

// Error returns "InvalidArgument: Message".
func (e *ArgumentError) Error() string { return Code + ": " + e.Message }

// Messages of S3's InvalidArgument errors for listing parameters.
const (
	msgMaxKeysNotInteger = "Provided max-keys not an integer or within integer range"
	msgMaxKeysRange      = "Argument maxKeys must be an integer between 0 and 2147483647"
	msgEncodingType      = "Invalid Encoding Method specified in Request"
	msgToken             = "The continuation token provided is incorrect"
)

// EncodingURL is the one encoding-type S3 knows: keys, prefixes and
// delimiters in the response are URL-encoded.
const EncodingURL = "url"

// V2Request is a ListObjectsV2 request's parameters, validated.
type V2Request struct {
	Prefix            string
	Delimiter         string
	StartAfter        string
	ContinuationToken string // as sent, for the response to echo
	MaxKeys           int    // 0 to MaxKeys: larger values are lowered, as S3 does
	EncodingType      string // "" or EncodingURL
	FetchOwner        bool

	after string // the decoded continuation token, or StartAfter
}

// V1Request is a ListObjects (version 1) request's parameters, validated.
type V1Request struct {
	Prefix       string
	Delimiter    string
	Marker       string
	MaxKeys      int
	EncodingType string
}

// ParseV2 validates the query parameters of a ListObjectsV2 request (prefix,
// delimiter, start-after, continuation-token, max-keys, encoding-type,
// fetch-owner). A bad value gives an *ArgumentError. A continuation token
// takes the place of start-after.
func ParseV2(q url.Values) (V2Request, error) {
	r := V2Request{
		Prefix:     q.Get("prefix"),
		Delimiter:  q.Get("delimiter"),
		StartAfter: q.Get("start-after"),
		FetchOwner: q.Get("fetch-owner") == "true",
	}
	var err error
	if r.MaxKeys, err = parseMaxKeys(q); err != nil {
		return V2Request{}, err
	}
	if r.EncodingType, err = parseEncodingType(q); err != nil {
		return V2Request{}, err
	}
	r.after = r.StartAfter
	if q.Has("continuation-token") {
		r.ContinuationToken = q.Get("continuation-token")
		if r.after, err = DecodeToken(r.ContinuationToken); err != nil {
			return V2Request{}, err
		}
	}
	return r, nil
}

// Params is the page r asks for.
func (r V2Request) Params() Params {
	return Params{Prefix: r.Prefix, Delimiter: r.Delimiter, After: r.after, MaxKeys: r.MaxKeys}
}

// ParseV1 validates the query parameters of a ListObjects request (prefix,
// delimiter, marker, max-keys, encoding-type). A bad value gives an
// *ArgumentError.
func ParseV1(q url.Values) (V1Request, error) {
	r := V1Request{Prefix: q.Get("prefix"), Delimiter: q.Get("delimiter"), Marker: q.Get("marker")}
	var err error
	if r.MaxKeys, err = parseMaxKeys(q); err != nil {
		return V1Request{}, err
	}
	if r.EncodingType, err = parseEncodingType(q); err != nil {
		return V1Request{}, err
	}
	return r, nil
}

// Params is the page r asks for.
func (r V1Request) Params() Params {
	return Params{Prefix: r.Prefix, Delimiter: r.Delimiter, After: r.Marker, MaxKeys: r.MaxKeys}
}

// NextMarker is ListObjects's NextMarker for a page of r: S3 returns it only
// when the request has a delimiter and the page is truncated (without a
// delimiter, clients resume after the last key).
func NextMarker[T any](r V1Request, page Page[T]) string {
	if r.Delimiter == "" || !page.IsTruncated {
		return ""
	}
	return page.Next
}

// parseMaxKeys reads max-keys: absent means MaxKeys; a value that is not a
// 32-bit integer, or is negative, is an error; a larger one is lowered to
// MaxKeys.
func parseMaxKeys(q url.Values) (int, error) {
	if !q.Has("max-keys") {
		return MaxKeys, nil
	}
	v := q.Get("max-keys")
	n, err := strconv.ParseInt(v, 10, 32)
	if err != nil {
		return 0, &ArgumentError{Message: msgMaxKeysNotInteger, Name: "max-keys", Value: v}
	}
	if n < 0 {
		return 0, &ArgumentError{Message: msgMaxKeysRange, Name: "maxKeys", Value: v}
	}
	return int(min(n, MaxKeys)), nil
}

// parseEncodingType reads encoding-type: absent, empty or "url".
func parseEncodingType(q url.Values) (string, error) {
	switch v := q.Get("encoding-type"); v {
	case "", EncodingURL:
		return v, nil
	default:
		return "", &ArgumentError{Message: msgEncodingType, Name: "encoding-type", Value: v}
	}
}

// tokenVersion starts every decoded continuation token, so that one from
// elsewhere (or a later format) is told apart.
const tokenVersion = "1/"

// EncodeToken returns the ListObjectsV2 continuation token that resumes a
// listing after after (a page's Next). Clients treat it as opaque.
func EncodeToken(after string) string {
	return base64.StdEncoding.EncodeToString([]byte(tokenVersion + after))
}

// DecodeToken reverses EncodeToken; a token it did not make (an empty one
// among them) gives an *ArgumentError. It accepts only the one encoding
// EncodeToken makes of a key.
func DecodeToken(token string) (string, error) {
	b, err := base64.StdEncoding.Strict().DecodeString(token)
	s := string(b)
	if err != nil || !strings.HasPrefix(s, tokenVersion) || !utf8.ValidString(s) {
		return "", &ArgumentError{Message: msgToken, Name: "continuation-token", Value: token}
	}
	return s[len(tokenVersion):], nil
}
