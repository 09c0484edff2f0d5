package session

import (
	"encoding/base64"
	"testing"
	"time"
)

// FuzzOpen feeds arbitrary strings to Open. It must never panic, must answer only
// ErrMalformed or ErrExpired, and must accept nothing but the one genuine token:
// forging a token would mean breaking AES-GCM, and the base64 checks make the
// genuine token's encoding unique.
func FuzzOpen(f *testing.F) {
	k := newRing(f, 1)
	s := NewSealer(k, testRand(5))
	c := typicalClaims(f)
	tok, err := s.Seal(c)
	if err != nil {
		f.Fatal(err)
	}
	padded, err := s.SealWithOptions(c, SealOptions{MinSize: 1500})
	if err != nil {
		f.Fatal(err)
	}
	short := Claims{AccessKeyID: "A", SecretAccessKey: "s", IssuedAt: t0, Expiration: t0.Add(time.Hour)}
	minimal, err := s.Seal(short)
	if err != nil {
		f.Fatal(err)
	}
	genuine := map[string]bool{tok: true, padded: true, minimal: true}
	raw, _ := base64.StdEncoding.DecodeString(tok)
	for g := range genuine {
		f.Add(g)
	}
	f.Add(tok[:len(tok)-4])
	f.Add(tok + "\n")
	f.Add(base64.StdEncoding.EncodeToString(raw[:5]))
	f.Add("")
	f.Add("FwoGZXIvYXdzEBYaDA==")
	f.Fuzz(func(t *testing.T, in string) {
		for _, now := range []time.Time{t0, t0.Add(2 * time.Hour)} {
			got, err := k.Open(in, now)
			switch {
			case err == nil || err == ErrExpired:
				if !genuine[in] {
					t.Fatalf("accepted a token that was never sealed: %q", in)
				}
				if err == nil && now.After(got.Expiration) {
					t.Fatal("expired token accepted")
				}
			case err != ErrMalformed:
				t.Fatalf("unexpected error %v", err)
			}
		}
	})
}

// FuzzDecodeClaims checks the claims decoder on arbitrary bytes: no panic, and
// whatever it accepts survives a re-encoding.
func FuzzDecodeClaims(f *testing.F) {
	c := typicalClaims(f)
	f.Add(appendClaims(nil, &c))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, in []byte) {
		c, ok := decodeClaims(string(in))
		if !ok {
			return
		}
		again, ok := decodeClaims(string(appendClaims(nil, &c)))
		if !ok || again.String() != c.String() || len(again.Tags) != len(c.Tags) || again.SessionPolicy != c.SessionPolicy {
			t.Fatalf("re-encoding changed the claims")
		}
	})
}
