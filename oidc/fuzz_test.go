package oidc

import (
	"errors"
	"strings"
	"testing"
)

func FuzzParseUnverified(f *testing.F) {
	testKeys(f)
	ec := signingKey{kid: "ec-1", alg: "ES256", priv: ec256Key}
	claims := map[string]any{"iss": "https://127.0.0.1:8443", "aud": "sts.amazonaws.com", "sub": "s", "exp": 2000000000, "iat": 1700000000,
		"https://aws.amazon.com/tags": map[string]any{"principal_tags": map[string]any{"K": []string{"v"}}}}
	f.Add(mint(f, ec, claims, nil))
	claims["aud"] = []string{"a", "b"}
	claims["exp"] = 1.5
	f.Add(mint(f, ec, claims, map[string]any{"jku": "https://x", "crit": []string{"b64"}}))
	f.Add("eyJhbGciOiJub25lIn0.eyJpc3MiOiJodHRwczovL2EifQ.")
	f.Add("a.b.c")
	f.Add("..")
	f.Add("e30.e30.")
	f.Add("eyJhbGciOiJSUzI1NiJ9.W10.c2ln")
	f.Add(" \n")
	f.Fuzz(func(t *testing.T, raw string) {
		hdr, claims, err := ParseUnverified(raw)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || e.Reason != ReasonMalformed || e.Code != CodeInvalidIdentityToken {
				t.Fatalf("unexpected error %v", err)
			}
			if s := strings.TrimSpace(raw); len(s) >= 12 && strings.Contains(e.Detail, s) {
				t.Fatalf("input echoed in error")
			}
			return
		}
		if hdr == nil || claims == nil {
			t.Fatal("nil maps without error")
		}
		if len(raw) > MaxTokenLength {
			t.Fatal("oversized token accepted")
		}
		// Verify's parser must agree.
		if _, e := parse(raw); e != nil {
			t.Fatalf("parse disagrees: %v", e)
		}
	})
}
