package oidc

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// MaxTokenLength is the longest token Verify and ParseUnverified accept. The
// STS API allows a WebIdentityToken of at most 20000 characters; anything
// longer is treated as not a JWT.
const MaxTokenLength = 20000

// b64 is strict: no padding, no non-canonical trailing bits, no whitespace.
var b64 = base64.RawURLEncoding.Strict()

// header holds what Verify needs from the JOSE header. Other parameters
// (jku, x5u, jwk, x5c, ...) are deliberately never read: keys come only from
// the issuer's published JWKS.
type header struct {
	Alg  string          `json:"alg"`
	Kid  string          `json:"kid"`
	Crit json.RawMessage `json:"crit"`
}

// unverified is a token split and decoded, but not yet trusted.
type unverified struct {
	raw     string // the trimmed compact serialization
	signed  string // raw up to the last '.': the JWS signing input
	sig     []byte // decoded signature
	hdr     header
	payload []byte // the claims JSON, checked to be one valid JSON object
	// claims are the raw JSON values of the claims parse reads, indexed by
	// claimIndex; nil when absent. A repeated name keeps its last value, as
	// decoding into a map does.
	claims [numClaims][]byte
	iss    string
	hasIss bool
	sub    string
	azp    string
	amr    []string
	aud    []string
	hasAud bool
	exp    int64
	hasExp bool
	iat    int64
	hasIat bool
	nbf    int64
	hasNbf bool
}

// Indexes of the claims parse reads, in unverified.claims.
const (
	claimIss = iota
	claimSub
	claimAzp
	claimAmr
	claimAud
	claimExp
	claimIat
	claimNbf
	claimTags
	claimSourceIdentity
	numClaims
)

// ClaimTags and ClaimSourceIdentity name the claims AWS reads for session tags
// and the source identity.
const (
	ClaimTags           = "https://aws.amazon.com/tags"
	ClaimSourceIdentity = "https://aws.amazon.com/source_identity"
)

// claimIndex returns the index of a claim parse reads, or -1. name is the
// claim's name, unescaped.
func claimIndex[T string | []byte](name T) int {
	switch string(name) {
	case "iss":
		return claimIss
	case "sub":
		return claimSub
	case "azp":
		return claimAzp
	case "amr":
		return claimAmr
	case "aud":
		return claimAud
	case "exp":
		return claimExp
	case "iat":
		return claimIat
	case "nbf":
		return claimNbf
	case ClaimTags:
		return claimTags
	case ClaimSourceIdentity:
		return claimSourceIdentity
	}
	return -1
}

// trimToken removes surrounding ASCII whitespace: token files are commonly
// written with `echo`, leaving a trailing newline.
func trimToken(s string) string {
	return strings.Trim(s, " \t\r\n")
}

// splitCompact checks the compact JWS shape and returns its three parts.
// The signature part may be empty (alg "none"), so that such tokens are
// rejected as an algorithm problem rather than as not a JWT.
func splitCompact(raw string) (h, p, s string, err *Error) {
	if len(raw) > MaxTokenLength {
		return "", "", "", malformed(fmt.Sprintf("token is %d characters, more than %d", len(raw), MaxTokenLength))
	}
	if raw == "" {
		return "", "", "", malformed("token is empty")
	}
	h, rest, ok := strings.Cut(raw, ".")
	if !ok {
		return "", "", "", malformed("not a compact JWS: no '.'")
	}
	p, s, ok = strings.Cut(rest, ".")
	if !ok || strings.IndexByte(s, '.') >= 0 {
		return "", "", "", malformed("not a compact JWS: want exactly three dot-separated parts (a JWE or nested token is not accepted)")
	}
	if h == "" || p == "" {
		return "", "", "", malformed("not a compact JWS: empty header or payload")
	}
	return h, p, s, nil
}

// decodeInto decodes the base64url part into the front of *buf and advances
// *buf past it.
func decodeInto(buf *[]byte, part string) ([]byte, bool) {
	n, err := b64.Decode(*buf, []byte(part))
	if err != nil {
		return nil, false
	}
	b := (*buf)[:n:n]
	*buf = (*buf)[n:]
	return b, true
}

// decodeHeader decodes the JOSE header as json.Unmarshal into header does
// (names matched case-insensitively, the last of repeated names winning, null
// leaving a string unset) and reports whether hb is a JSON object that
// decodes. Headers whose member names are all plain and either exactly alg,
// kid and crit or unrelated to them (the usual case) are read by the walker;
// any other goes through encoding/json.
func decodeHeader(hb []byte, h *header) bool {
	if !isJSONObject(hb) {
		return false
	}
	if h.walk(hb) {
		return true
	}
	*h = header{}
	return json.Unmarshal(hb, h) == nil
}

// walk is decodeHeader's fast path; false means "ask encoding/json".
func (h *header) walk(hb []byte) bool {
	for key, val := range members(hb) {
		name := key[1 : len(key)-1]
		if !plain(name) {
			return false
		}
		var dst *string
		switch string(name) {
		case "alg":
			dst = &h.Alg
		case "kid":
			dst = &h.Kid
		case "crit":
			h.Crit = json.RawMessage(val)
			continue
		default:
			if bytes.EqualFold(name, []byte("alg")) || bytes.EqualFold(name, []byte("kid")) || bytes.EqualFold(name, []byte("crit")) {
				return false // a case variant: encoding/json's matching rules apply
			}
			continue
		}
		switch val[0] {
		case '"':
			*dst = unquote(val)
		case 'n': // null leaves the field as it was
		default:
			return false // a type error, reported by encoding/json
		}
	}
	return true
}

// decodeObject decodes one JSON object, keeping numbers as json.Number, and
// refuses trailing data.
func decodeObject(b []byte, into any) error {
	if !isJSONObject(b) {
		return fmt.Errorf("not a single JSON object")
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	return dec.Decode(into)
}

// isJSONObject reports whether b is exactly one valid JSON object, with
// optional surrounding whitespace (json.Valid's verdict; see validJSON).
func isJSONObject(b []byte) bool {
	return isObject(b) && validJSON(b)
}

// parse splits and decodes raw and type-checks the registered claims. It does
// not verify anything.
func parse(raw string) (*unverified, *Error) {
	if len(raw) > MaxTokenLength {
		// Check before trimming so padding cannot smuggle a longer token.
		return nil, malformed(fmt.Sprintf("token is %d characters, more than %d", len(raw), MaxTokenLength))
	}
	raw = trimToken(raw)
	hs, ps, ss, e := splitCompact(raw)
	if e != nil {
		return nil, e
	}
	// One buffer for the three decoded parts; each part is capped so that
	// nothing appended to one can overwrite the next.
	buf := make([]byte, b64.DecodedLen(len(ss))+b64.DecodedLen(len(hs))+b64.DecodedLen(len(ps)))
	sig, ok := decodeInto(&buf, ss)
	if !ok {
		return nil, malformed("signature is not base64url without padding")
	}
	hb, ok := decodeInto(&buf, hs)
	if !ok {
		return nil, malformed("header is not base64url without padding")
	}
	pb, ok := decodeInto(&buf, ps)
	if !ok {
		return nil, malformed("payload is not base64url without padding")
	}
	u := &unverified{raw: raw, signed: raw[:len(hs)+1+len(ps)], sig: sig, payload: pb}
	if !decodeHeader(hb, &u.hdr) {
		return nil, malformed("header is not a JSON object with string alg and kid")
	}
	if !isJSONObject(pb) {
		return nil, malformed("claims are not a JSON object")
	}
	for key, val := range members(pb) {
		name, ok := unquoteKey(key)
		if !ok {
			continue
		}
		if i := claimIndex(name); i >= 0 {
			u.claims[i] = val
		}
	}
	if e := u.extract(); e != nil {
		return nil, e
	}
	return u, nil
}

func isObject(b []byte) bool {
	b = bytes.TrimLeft(b, " \t\r\n")
	return len(b) > 0 && b[0] == '{'
}

func (u *unverified) extract() *Error {
	c := &u.claims
	var e *Error
	if u.iss, u.hasIss, e = stringClaim(c[claimIss], "iss"); e != nil {
		return e
	}
	if u.sub, _, e = stringClaim(c[claimSub], "sub"); e != nil {
		return e
	}
	if u.azp, _, e = stringClaim(c[claimAzp], "azp"); e != nil {
		return e
	}
	if u.amr, _, e = stringOrList(c[claimAmr], "amr"); e != nil {
		return e
	}
	if u.aud, u.hasAud, e = stringOrList(c[claimAud], "aud"); e != nil {
		return e
	}
	if u.exp, u.hasExp, e = intClaim(c[claimExp], "exp"); e != nil {
		return e
	}
	if u.iat, u.hasIat, e = intClaim(c[claimIat], "iat"); e != nil {
		return e
	}
	if u.nbf, u.hasNbf, e = intClaim(c[claimNbf], "nbf"); e != nil {
		return e
	}
	return nil
}

// isNull reports whether v, a raw JSON value, is absent (nil) or null.
func isNull(v []byte) bool { return v == nil || string(v) == "null" }

// stringClaim reads a claim that must be a string. present is false when the
// claim is absent or null.
func stringClaim(v []byte, name string) (s string, present bool, e *Error) {
	if isNull(v) {
		return "", false, nil
	}
	if v[0] != '"' {
		return "", false, malformed("claim " + name + " is not a string")
	}
	return unquote(v), true, nil
}

// stringOrList reads a claim that may be a string or an array of strings.
// present is false when the claim is absent, null or an empty array.
func stringOrList(v []byte, name string) (vals []string, present bool, e *Error) {
	if isNull(v) {
		return nil, false, nil
	}
	switch v[0] {
	case '"':
		return []string{unquote(v)}, true, nil
	case '[':
		var out []string
		for x := range elements(v) {
			if x[0] != '"' {
				return nil, false, malformed("claim " + name + " holds a non-string value")
			}
			out = append(out, unquote(x))
		}
		if len(out) == 0 {
			return nil, false, nil
		}
		return out, true, nil
	}
	return nil, false, malformed("claim " + name + " is neither a string nor an array of strings")
}

// intClaim reads a NumericDate that must be a JSON integer (no fraction, no
// exponent) fitting in int64.
func intClaim(v []byte, name string) (int64, bool, *Error) {
	if isNull(v) {
		return 0, false, nil
	}
	if c := v[0]; c != '-' && (c < '0' || c > '9') {
		return 0, false, malformed("claim " + name + " is not a number")
	}
	i, err := strconv.ParseInt(string(v), 10, 64)
	if err != nil {
		return 0, false, malformed("claim " + name + " is not an integer")
	}
	return i, true, nil
}

// ParseUnverified decodes a compact JWS without verifying anything, for
// `keyless token inspect` and `keyless explain`. Numbers in the returned maps
// are json.Number. It applies the same shape rules as Verify (size cap,
// three base64url parts, JSON objects, integer exp/iat/nbf, string or
// string-array aud) and returns an *Error with ReasonMalformed otherwise.
// Nothing it returns has been authenticated.
func ParseUnverified(raw string) (header map[string]any, claims map[string]any, err error) {
	u, e := parse(raw)
	if e != nil {
		return nil, nil, e
	}
	hs, _, _ := strings.Cut(u.raw, ".")
	hb, _ := b64.DecodeString(hs)
	if err := decodeObject(hb, &header); err != nil || header == nil {
		return nil, nil, malformed("header is not a JSON object")
	}
	if err := decodeObject(u.payload, &claims); err != nil || claims == nil {
		return nil, nil, malformed("claims are not a JSON object")
	}
	return header, claims, nil
}

func unixTime(sec int64, ok bool) time.Time {
	if !ok {
		return time.Time{}
	}
	return time.Unix(sec, 0).UTC()
}
