package oidc

import (
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"strings"
	"testing"
	"time"
)

// BenchmarkVerifyCached measures Verify with warm keys: the steady state of
// STS. Compare with BenchmarkRawRS256Verify, the ceiling.
func BenchmarkVerifyCached(b *testing.B) {
	h := newHarness(b)
	tok := mint(b, h.rsa, h.claims(nil), nil)
	ctx := context.Background()
	if _, err := h.v.Verify(ctx, tok, h.lookup); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := h.v.Verify(ctx, tok, h.lookup); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkVerifyCachedParallel is BenchmarkVerifyCached on all CPUs.
func BenchmarkVerifyCachedParallel(b *testing.B) {
	h := newHarness(b)
	tok := mint(b, h.rsa, h.claims(nil), nil)
	ctx := context.Background()
	if _, err := h.v.Verify(ctx, tok, h.lookup); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := h.v.Verify(ctx, tok, h.lookup); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkRawRS256Verify is a bare RS256 check of the same token with the
// same 2048-bit key: SHA-256 of the signing input and rsa.VerifyPKCS1v15.
func BenchmarkRawRS256Verify(b *testing.B) {
	h := newHarness(b)
	tok := mint(b, h.rsa, h.claims(nil), nil)
	i := strings.LastIndexByte(tok, '.')
	input := []byte(tok[:i])
	sig, err := base64.RawURLEncoding.DecodeString(tok[i+1:])
	if err != nil {
		b.Fatal(err)
	}
	pub := h.rsa.priv.Public().(*rsa.PublicKey)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		sum := sha256.Sum256(input)
		if err := rsa.VerifyPKCS1v15(pub, crypto.SHA256, sum[:], sig); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkVerifyVsRaw alternates batches of cached Verify calls and bare
// RS256 checks of the same token, so that both see the same machine load, and
// reports Verify's throughput as a percentage of the raw ceiling.
func BenchmarkVerifyVsRaw(b *testing.B) {
	h := newHarness(b)
	tok := mint(b, h.rsa, h.claims(nil), nil)
	ctx := context.Background()
	if _, err := h.v.Verify(ctx, tok, h.lookup); err != nil {
		b.Fatal(err)
	}
	i := strings.LastIndexByte(tok, '.')
	input := []byte(tok[:i])
	sig, _ := base64.RawURLEncoding.DecodeString(tok[i+1:])
	pub := h.rsa.priv.Public().(*rsa.PublicKey)
	const batch = 50
	var tVerify, tRaw time.Duration
	n := 0
	for b.Loop() {
		start := time.Now()
		for range batch {
			if _, err := h.v.Verify(ctx, tok, h.lookup); err != nil {
				b.Fatal(err)
			}
		}
		mid := time.Now()
		for range batch {
			sum := sha256.Sum256(input)
			if err := rsa.VerifyPKCS1v15(pub, crypto.SHA256, sum[:], sig); err != nil {
				b.Fatal(err)
			}
		}
		tVerify += mid.Sub(start)
		tRaw += time.Since(mid)
		n += batch
	}
	b.ReportMetric(float64(tVerify.Nanoseconds())/float64(n), "verify-ns/op")
	b.ReportMetric(float64(tRaw.Nanoseconds())/float64(n), "raw-ns/op")
	b.ReportMetric(100*float64(tRaw)/float64(tVerify), "%-of-raw")
}
