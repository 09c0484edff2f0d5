package oidc

import (
	"math/rand/v2"
	"testing"

	jose "github.com/go-jose/go-jose/v4"
)

// TestSignatureAgreesWithGoJose checks our direct signature check against
// go-jose's JWS verification on valid, foreign-key and mutated tokens.
func TestSignatureAgreesWithGoJose(t *testing.T) {
	h := newHarness(t)
	type pair struct {
		signer signingKey
		verify signingKey
	}
	var pairs []pair
	for _, alg := range []string{"RS256", "RS384", "RS512"} {
		pairs = append(pairs,
			pair{signingKey{"k", alg, rsaKeys[0]}, signingKey{"k", alg, rsaKeys[0]}},
			pair{signingKey{"k", alg, rsaKeys[1]}, signingKey{"k", alg, rsaKeys[0]}})
	}
	pairs = append(pairs,
		pair{h.ec, h.ec}, pair{h.ec384, h.ec384},
		pair{h.ec, signingKey{"k", "ES256", ec384Key}},
		pair{h.ec384, signingKey{"k", "ES384", ec256Key}})
	rng := rand.New(rand.NewPCG(1, 2))
	checked := 0
	for _, p := range pairs {
		tok := mint(t, p.signer, h.claims(nil), nil)
		variants := []string{tok}
		for range 40 {
			b := []byte(tok)
			i := rng.IntN(len(b))
			b[i] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"[rng.IntN(64)]
			variants = append(variants, string(b))
		}
		for _, v := range variants {
			u, e := parse(v)
			if e != nil {
				continue // not a JWS for either side
			}
			ours := checkSignature(u.hdr.Alg, p.verify.priv.Public(), u.signed, u.sig) == nil
			theirs := false
			if jws, err := jose.ParseSignedCompact(v, []jose.SignatureAlgorithm{jose.SignatureAlgorithm(p.verify.alg)}); err == nil {
				_, err = jws.Verify(p.verify.priv.Public())
				theirs = err == nil
			}
			if u.hdr.Alg != p.verify.alg {
				theirs = false // go-jose refused the alg at parse time; so do we via allowedAlg/fits
				ours = ours && fits(u.hdr.Alg, p.verify.priv.Public())
			}
			if ours != theirs {
				t.Fatalf("%s signer %s verifier %s: ours %v, go-jose %v", p.signer.alg, p.signer.kid, p.verify.kid, ours, theirs)
			}
			checked++
		}
	}
	if checked < 100 {
		t.Fatalf("only %d comparisons", checked)
	}
}
