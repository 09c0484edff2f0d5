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
	claims  map[string]any
	iss     string
	hasIss  bool
	sub     string
	azp     string
	amr     []string
	aud     []string
	hasAud  bool
	exp     int64
	hasExp  bool
	iat     int64
	hasIat  bool
	nbf     int64
	hasNbf  bool
	payload []byte
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

func decodePart(name, part string) ([]byte, *Error) {
	b, err := b64.DecodeString(part)
	if err != nil {
		return nil, malformed(name + " is not base64url without padding")
	}
	return b, nil
}

// decodeObject decodes one JSON object, keeping numbers as json.Number, and
// refuses trailing data.
func decodeObject(b []byte, into any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := dec.Decode(into); err != nil {
		return err
	}
	if dec.More() {
		return fmt.Errorf("trailing data after JSON object")
	}
	if _, err := dec.Token(); err == nil {
		return fmt.Errorf("trailing data after JSON object")
	}
	return nil
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
	sig, err := b64.DecodeString(ss)
	if err != nil {
		return nil, malformed("signature is not base64url without padding")
	}
	hb, e := decodePart("header", hs)
	if e != nil {
		return nil, e
	}
	pb, e := decodePart("payload", ps)
	if e != nil {
		return nil, e
	}
	u := &unverified{raw: raw, signed: raw[:len(hs)+1+len(ps)], sig: sig, payload: pb}
	if err := json.Unmarshal(hb, &u.hdr); err != nil || !isObject(hb) {
		return nil, malformed("header is not a JSON object with string alg and kid")
	}
	if err := decodeObject(pb, &u.claims); err != nil || u.claims == nil {
		return nil, malformed("claims are not a JSON object")
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
	c := u.claims
	var ok bool
	if v, present := c["iss"]; present && v != nil {
		if u.iss, ok = v.(string); !ok {
			return malformed("claim iss is not a string")
		}
		u.hasIss = true
	}
	if v, present := c["sub"]; present && v != nil {
		if u.sub, ok = v.(string); !ok {
			return malformed("claim sub is not a string")
		}
	}
	if v, present := c["azp"]; present && v != nil {
		if u.azp, ok = v.(string); !ok {
			return malformed("claim azp is not a string")
		}
	}
	var e *Error
	if u.amr, _, e = stringOrList(c, "amr"); e != nil {
		return e
	}
	if u.aud, u.hasAud, e = stringOrList(c, "aud"); e != nil {
		return e
	}
	if u.exp, u.hasExp, e = intClaim(c, "exp"); e != nil {
		return e
	}
	if u.iat, u.hasIat, e = intClaim(c, "iat"); e != nil {
		return e
	}
	if u.nbf, u.hasNbf, e = intClaim(c, "nbf"); e != nil {
		return e
	}
	return nil
}

// stringOrList reads a claim that may be a string or an array of strings.
// present is false when the claim is absent, null or an empty array.
func stringOrList(c map[string]any, name string) (vals []string, present bool, e *Error) {
	v, ok := c[name]
	if !ok || v == nil {
		return nil, false, nil
	}
	switch v := v.(type) {
	case string:
		return []string{v}, true, nil
	case []any:
		if len(v) == 0 {
			return nil, false, nil
		}
		out := make([]string, len(v))
		for i, x := range v {
			s, ok := x.(string)
			if !ok {
				return nil, false, malformed("claim " + name + " holds a non-string value")
			}
			out[i] = s
		}
		return out, true, nil
	}
	return nil, false, malformed("claim " + name + " is neither a string nor an array of strings")
}

// intClaim reads a NumericDate that must be a JSON integer (no fraction, no
// exponent) fitting in int64.
func intClaim(c map[string]any, name string) (int64, bool, *Error) {
	v, ok := c[name]
	if !ok || v == nil {
		return 0, false, nil
	}
	n, ok := v.(json.Number)
	if !ok {
		return 0, false, malformed("claim " + name + " is not a number")
	}
	i, err := strconv.ParseInt(string(n), 10, 64)
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
	return header, u.claims, nil
}

func unixTime(sec int64, ok bool) time.Time {
	if !ok {
		return time.Time{}
	}
	return time.Unix(sec, 0).UTC()
}
