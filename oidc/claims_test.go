package oidc

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

// refClaims is what parse extracts, as the map-based parser computed it
// before the claims walker replaced it: decode the whole payload into a
// map[string]any (numbers as json.Number), then type-check the registered
// claims. It is the oracle for TestClaimsAgreeWithMap and FuzzClaimsWalker.
type refClaims struct {
	Err                  string
	Iss                  string
	HasIss               bool
	Sub, Azp             string
	AMR, Aud             []string
	HasAud               bool
	Exp, Iat, Nbf        int64
	HasExp, HasIat, HasN bool
}

func refExtract(payload []byte) (refClaims, map[string]any) {
	var r refClaims
	var c map[string]any
	dec := json.NewDecoder(bytes.NewReader(payload))
	dec.UseNumber()
	if err := dec.Decode(&c); err != nil || c == nil || !json.Valid(payload) {
		r.Err = "claims are not a JSON object"
		return r, nil
	}
	str := func(name string) (string, bool, string) {
		v, ok := c[name]
		if !ok || v == nil {
			return "", false, ""
		}
		s, ok := v.(string)
		if !ok {
			return "", false, "claim " + name + " is not a string"
		}
		return s, true, ""
	}
	list := func(name string) ([]string, bool, string) {
		v, ok := c[name]
		if !ok || v == nil {
			return nil, false, ""
		}
		switch v := v.(type) {
		case string:
			return []string{v}, true, ""
		case []any:
			if len(v) == 0 {
				return nil, false, ""
			}
			out := make([]string, len(v))
			for i, x := range v {
				s, ok := x.(string)
				if !ok {
					return nil, false, "claim " + name + " holds a non-string value"
				}
				out[i] = s
			}
			return out, true, ""
		}
		return nil, false, "claim " + name + " is neither a string nor an array of strings"
	}
	num := func(name string) (int64, bool, string) {
		v, ok := c[name]
		if !ok || v == nil {
			return 0, false, ""
		}
		n, ok := v.(json.Number)
		if !ok {
			return 0, false, "claim " + name + " is not a number"
		}
		i, err := strconv.ParseInt(string(n), 10, 64)
		if err != nil {
			return 0, false, "claim " + name + " is not an integer"
		}
		return i, true, ""
	}
	var e string
	if r.Iss, r.HasIss, e = str("iss"); e != "" {
		return refClaims{Err: e}, c
	}
	if r.Sub, _, e = str("sub"); e != "" {
		return refClaims{Err: e}, c
	}
	if r.Azp, _, e = str("azp"); e != "" {
		return refClaims{Err: e}, c
	}
	if r.AMR, _, e = list("amr"); e != "" {
		return refClaims{Err: e}, c
	}
	if r.Aud, r.HasAud, e = list("aud"); e != "" {
		return refClaims{Err: e}, c
	}
	if r.Exp, r.HasExp, e = num("exp"); e != "" {
		return refClaims{Err: e}, c
	}
	if r.Iat, r.HasIat, e = num("iat"); e != "" {
		return refClaims{Err: e}, c
	}
	if r.Nbf, r.HasN, e = num("nbf"); e != "" {
		return refClaims{Err: e}, c
	}
	return r, c
}

// parsed runs parse on an unsigned token with the given payload and returns
// the same view as refExtract.
func parsed(payload []byte) (refClaims, *unverified) {
	raw := b64url([]byte(`{"alg":"RS256","kid":"k"}`)) + "." + b64url(payload) + ".c2ln"
	u, e := parse(raw)
	if e != nil {
		return refClaims{Err: e.Detail}, nil
	}
	return refClaims{
		Iss: u.iss, HasIss: u.hasIss, Sub: u.sub, Azp: u.azp, AMR: u.amr, Aud: u.aud, HasAud: u.hasAud,
		Exp: u.exp, Iat: u.iat, Nbf: u.nbf, HasExp: u.hasExp, HasIat: u.hasIat, HasN: u.hasNbf,
	}, u
}

// checkAgainstMap compares parse with the map-based oracle on payload, and
// the Token accessors with the map.
func checkAgainstMap(t *testing.T, payload []byte) {
	t.Helper()
	want, m := refExtract(payload)
	got, u := parsed(payload)
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("payload %q:\n got %+v\nwant %+v", payload, got, want)
	}
	if u == nil {
		return
	}
	tok := &Token{payload: u.payload, known: &u.claims}
	if all := tok.Claims(); !reflect.DeepEqual(all, m) {
		t.Fatalf("payload %q: Claims() = %v, want %v", payload, all, m)
	}
	names := []string{"iss", "sub", "azp", "amr", "aud", "exp", "iat", "nbf", ClaimTags, ClaimSourceIdentity, "other", "ISS", ""}
	for k := range m {
		names = append(names, k)
	}
	for _, name := range names {
		v, ok := tok.Claim(name)
		mv, mok := m[name]
		if ok != mok || !reflect.DeepEqual(v, mv) {
			t.Fatalf("payload %q: Claim(%q) = %v, %v; the map has %v, %v", payload, name, v, ok, mv, mok)
		}
		raw, rok := tok.RawClaim(name)
		if rok != mok {
			t.Fatalf("payload %q: RawClaim(%q) present %v, want %v", payload, name, rok, mok)
		}
		if rok {
			var rv any
			dec := json.NewDecoder(bytes.NewReader(raw))
			dec.UseNumber()
			if err := dec.Decode(&rv); err != nil || !reflect.DeepEqual(rv, mv) {
				t.Fatalf("payload %q: RawClaim(%q) = %s, want the JSON of %v", payload, name, raw, mv)
			}
		}
	}
}

var claimPayloads = []string{
	`{}`,
	` { } `,
	`{"iss":"https://a","sub":"s","aud":"x","exp":2000000000,"iat":1700000000,"nbf":1700000000,"azp":"z","amr":["pwd","mfa"]}`,
	"{\n\t\"iss\" :\r\n \"https://a\" ,\"aud\":[ \"x\" , \"y\" ] }",
	// Repeated names: the last wins, as in a map.
	`{"iss":"https://a","iss":"https://b"}`,
	`{"iss":"https://a","iss":null}`,
	`{"exp":1,"exp":"x"}`,
	`{"aud":["x"],"aud":[]}`,
	// Names match exactly, after unescaping.
	`{"ISS":"https://evil","Iss":"https://evil","iss":"https://a"}`,
	`{"iss":"https://a","ISS":"https://evil"}`,
	`{"\u0069ss":"https://escaped"}`,
	`{"iss":"https://a","\u0069ss":"https://escaped"}`,
	`{"https:\/\/aws.amazon.com\/tags":{"principal_tags":{"K":["v"]}}}`,
	`{"https://aws.amazon.com/source_identity":"me","https://aws.amazon.com/source_identity":"you"}`,
	`{"iss\u0000":"x","iss ":"y"," iss":"z"}`,
	// Escapes and invalid UTF-8 in values.
	`{"iss":"https://a\"b\\c\/d\u00e9\ud83d\ude00"}`,
	"{\"iss\":\"https://\xff\xfe\",\"sub\":\"\xc3\"}",
	"{\"\xffiss\":\"x\"}",
	`{"sub":"\ud800"}`,
	`{"aud":["a\"]","b\\"],"amr":"pwd"}`,
	// Nested values and brackets inside strings.
	`{"x":{"a":[1,{"b":"}]\"{["}],"c":null},"iss":"https://a","y":[[],[[]],{}],"z":"]}"}`,
	`{"x":[{"iss":"https://nested"}],"sub":"s"}`,
	// Types.
	`{"iss":1}`, `{"iss":true}`, `{"iss":{}}`, `{"iss":[]}`, `{"iss":null,"sub":null,"azp":null}`,
	`{"sub":false}`, `{"azp":[]}`,
	`{"aud":7}`, `{"aud":{}}`, `{"aud":[1]}`, `{"aud":[null]}`, `{"aud":["a",null]}`, `{"aud":[]}`, `{"aud":null}`, `{"aud":true}`,
	`{"amr":[{}]}`, `{"amr":1}`,
	`{"exp":1.5}`, `{"exp":1e9}`, `{"exp":1E9}`, `{"exp":-1}`, `{"exp":-0}`, `{"exp":0}`, `{"exp":9223372036854775807}`,
	`{"exp":9223372036854775808}`, `{"exp":-9223372036854775809}`, `{"exp":"1"}`, `{"exp":true}`, `{"exp":[1]}`, `{"exp":{}}`,
	`{"iat":1.0}`, `{"nbf":null}`, `{"nbf":-5}`,
	// Not one JSON object.
	` `, `null`, `[]`, `["iss"]`, `"iss"`, `1`, `true`, `{`, `}`, `{"iss"}`, `{"iss":}`, `{"iss":"a",}`, `{,}`,
	`{}}`, `{}]`, `{} {}`, `{} x`, `{}{`, `{"a":1}]`, `{"a":[1}`, `{"a":"\x"}`, `{"a":01}`, `{"a":tru}`, "{\"a\":\"\x01\"}",
	"\ufeff{}",
}

// TestClaimsAgreeWithMap checks the claims walker against the map-based
// parser on hostile payloads: repeated names (last wins), names differing in
// case (distinct), escaped names, invalid UTF-8, nested look-alikes, every
// wrong type, and payloads that are not exactly one JSON object.
func TestClaimsAgreeWithMap(t *testing.T) {
	for _, p := range claimPayloads {
		checkAgainstMap(t, []byte(p))
	}
	deep := `{"x":` + strings.Repeat("[", 3000) + `"]}"` + strings.Repeat("]", 3000) + `,"iss":"https://a"}`
	checkAgainstMap(t, []byte(deep))
	checkAgainstMap(t, []byte(deep[:len(deep)-1]))
}

var headerInputs = []string{
	`{"alg":"RS256","kid":"k","typ":"JWT"}`, `{"alg":"RS256"}`, `{}`, ` {"kid" : "a\"b" } `,
	`{"alg":"RS256","alg":"none"}`, `{"alg":"RS256","alg":null}`, `{"alg":null}`, `{"kid":null,"kid":"x"}`,
	`{"ALG":"none","kid":"k"}`, `{"alg":"RS256","ALG":"none"}`, `{"ALG":"none","alg":"RS256"}`, `{"Kid":"k2","kid":"k"}`,
	`{"\u0061lg":"HS256"}`, `{"alg":"RS256","\u0061lg":"HS256"}`, "{\"\u212aid\":\"kelvin\"}", "{\"kid\":\"k\",\"\u212aid\":\"kelvin\"}",
	`{"crit":["b64"]}`, `{"crit":null}`, `{"crit":[]}`, `{"crit":"x","crit":null}`, `{"CRIT":["b64"]}`, `{"Crit":1,"crit":2}`,
	`{"alg":1}`, `{"alg":true}`, `{"alg":{}}`, `{"kid":[]}`, `{"alg":"RS256","kid":7}`,
	"{\"alg\":\"RS\xff256\"}", "{\"al\xffg\":\"x\"}", `{"jku":"https://evil","jwk":{"kty":"RSA"},"x5u":"u","x5c":["c"]}`,
	`{"alg":"RS256","nested":{"alg":"none","kid":"evil"}}`,
	` `, `null`, `[]`, `"alg"`, `{`, `{"alg":"RS256"}}`, `{"alg":"RS256"}]`, `{"alg":"RS256"} {}`, `{"alg":}`,
}

// TestHeaderAgreesWithUnmarshal checks decodeHeader (walker with fallback)
// against json.Unmarshal into header, the decoder it replaced on the hot path.
func TestHeaderAgreesWithUnmarshal(t *testing.T) {
	for _, in := range headerInputs {
		checkHeader(t, []byte(in))
	}
}

func checkHeader(t *testing.T, hb []byte) {
	t.Helper()
	var want header
	wantOK := json.Unmarshal(hb, &want) == nil && isObject(hb)
	var got header
	gotOK := decodeHeader(hb, &got)
	if gotOK != wantOK || wantOK && (got.Alg != want.Alg || got.Kid != want.Kid || string(got.Crit) != string(want.Crit)) {
		t.Fatalf("header %q: got %v %+v (crit %s), want %v %+v (crit %s)", hb, gotOK, got, got.Crit, wantOK, want, want.Crit)
	}
}

func FuzzHeader(f *testing.F) {
	for _, in := range headerInputs {
		f.Add([]byte(in))
	}
	f.Fuzz(func(t *testing.T, hb []byte) { checkHeader(t, hb) })
}

// TestTrailingBracketRefused pins a tightening: encoding/json's Decoder let
// "{...}}" and "{...}]" through the old trailing-data check.
func TestTrailingBracketRefused(t *testing.T) {
	for _, p := range []string{`{"iss":"https://a"}}`, `{"iss":"https://a"}]`} {
		raw := b64url([]byte(`{"alg":"RS256","kid":"k"}`)) + "." + b64url([]byte(p)) + ".c2ln"
		if _, _, err := ParseUnverified(raw); err == nil {
			t.Errorf("%s accepted", p)
		}
		if _, e := parse(raw); e == nil || e.Reason != ReasonMalformed || e.Message != MessageNotJWT {
			t.Errorf("%s: parse error %v", p, e)
		}
	}
}

func FuzzClaimsWalker(f *testing.F) {
	for _, p := range claimPayloads {
		f.Add([]byte(p))
	}
	f.Fuzz(func(t *testing.T, payload []byte) {
		if len(payload) == 0 || len(payload) > 4096 {
			return // an empty payload fails the shape check before JSON
		}
		checkAgainstMap(t, payload)
	})
}

// BenchmarkParse measures parse (split, base64, header and claims) of a
// typical pipeline token.
func BenchmarkParse(b *testing.B) {
	h := newHarness(b)
	tok := mint(b, h.rsa, h.claims(nil), nil)
	b.ReportAllocs()
	for b.Loop() {
		if _, e := parse(tok); e != nil {
			b.Fatal(e)
		}
	}
}

func ExampleToken_Claim() {
	raw := b64url([]byte(`{"alg":"RS256"}`)) + "." +
		b64url([]byte(`{"sub":"s","https://aws.amazon.com/tags":{"principal_tags":{"team":["web"]}}}`)) + ".c2ln"
	u, _ := parse(raw)
	tok := &Token{payload: u.payload, known: &u.claims}
	tags, ok := tok.Claim(ClaimTags)
	fmt.Println(tags, ok)
	// Output: map[principal_tags:map[team:[web]]] true
}
