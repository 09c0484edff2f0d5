package sts_test

import (
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/keyless-dev/keyless/issuer"
)

// exchangeBench is a stack with a role trusting the workspace's issuer as the
// seed CloudFormation template does (audience and source-IP list) and one
// real RS256 token, its JWKS already cached.
type exchangeBench struct {
	s    *stack
	body string
	tok  string
}

func newExchangeBench(b *testing.B) *exchangeBench {
	s := newStackLog(b, false)
	role := s.addRole("bench", s.trustWeb(`"IpAddress":{"aws:SourceIp":[`+bitbucketIPs+`,"127.0.0.1/32"]}`), 3600, nil)
	tok := s.mint(issuer.MintRequest{Repository: "web", TTL: issuer.Duration(2 * time.Hour)})
	e := &exchangeBench{s: s, tok: tok, body: form("Action", "AssumeRoleWithWebIdentity", "Version", "2011-06-15",
		"RoleArn", role, "RoleSessionName", "bench", "WebIdentityToken", tok)}
	e.exchange(b) // fetch discovery and JWKS, fill the caches
	return e
}

// exchange runs one AssumeRoleWithWebIdentity through the gateway handler. The
// request is built as net/http's server hands it over (not parsed from text, as
// httptest.NewRequest does), so the figure is the handler's cost, not the harness's.
func (e *exchangeBench) exchange(b *testing.B) {
	req := &http.Request{
		Method: http.MethodPost, URL: &url.URL{Path: "/"}, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header:        http.Header{"Content-Type": {"application/x-www-form-urlencoded; charset=utf-8"}},
		Body:          io.NopCloser(strings.NewReader(e.body)),
		ContentLength: int64(len(e.body)), Host: "sts.local", RemoteAddr: "127.0.0.1:40000", RequestURI: "/",
	}
	w := statusWriter{header: http.Header{}}
	e.s.gw.ServeHTTP(&w, req.WithContext(context.Background()))
	if w.status != http.StatusOK {
		b.Fatalf("exchange: HTTP %d", w.status)
	}
}

// statusWriter is a ResponseWriter that keeps the status and drops the body.
type statusWriter struct {
	header http.Header
	status int
}

func (w *statusWriter) Header() http.Header { return w.header }
func (w *statusWriter) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return len(p), nil
}
func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
}

// rawVerifier is a bare RS256 check of the same token with the issuer's
// 2048-bit key: SHA-256 of the signing input and rsa.VerifyPKCS1v15.
type rawVerifier struct {
	pub   *rsa.PublicKey
	input []byte
	sig   []byte
}

func newRawVerifier(b *testing.B, s *stack, tok string) *rawVerifier {
	key, _ := s.signingKey()
	i := strings.LastIndexByte(tok, '.')
	sig, err := base64.RawURLEncoding.DecodeString(tok[i+1:])
	if err != nil {
		b.Fatal(err)
	}
	if key.N.BitLen() != 2048 {
		b.Fatalf("issuer key has %d bits", key.N.BitLen())
	}
	return &rawVerifier{pub: &key.PublicKey, input: []byte(tok[:i]), sig: sig}
}

func (r *rawVerifier) verify(b *testing.B) {
	sum := sha256.Sum256(r.input)
	if err := rsa.VerifyPKCS1v15(r.pub, crypto.SHA256, sum[:], r.sig); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkExchange is AssumeRoleWithWebIdentity through the real handler
// (gateway.ServeHTTP → STS → oidc → policy → session seal → XML), in-process,
// with a real RS256 token and a warm JWKS cache.
func BenchmarkExchange(b *testing.B) {
	e := newExchangeBench(b)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		e.exchange(b)
	}
}

// BenchmarkExchangeParallel is BenchmarkExchange on all CPUs.
func BenchmarkExchangeParallel(b *testing.B) {
	e := newExchangeBench(b)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			e.exchange(b)
		}
	})
}

// BenchmarkRawRS256Verify is the ceiling: one RS256 verification of the same
// token with the same key.
func BenchmarkRawRS256Verify(b *testing.B) {
	e := newExchangeBench(b)
	r := newRawVerifier(b, e.s, e.tok)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		r.verify(b)
	}
}

// BenchmarkExchangeVsRaw alternates batches of exchanges and raw RS256
// verifications, so that both see the same machine load, and reports the
// exchange rate as a percentage of the raw rate (goal: ≥ 60).
func BenchmarkExchangeVsRaw(b *testing.B) {
	e := newExchangeBench(b)
	r := newRawVerifier(b, e.s, e.tok)
	const batch = 200
	var tx, tr time.Duration
	var n int
	b.ResetTimer()
	for b.Loop() {
		t0 := time.Now()
		for range batch {
			e.exchange(b)
		}
		t1 := time.Now()
		for range batch {
			r.verify(b)
		}
		tx += t1.Sub(t0)
		tr += time.Since(t1)
		n += batch
	}
	b.ReportMetric(float64(n)/tx.Seconds(), "exchanges/s")
	b.ReportMetric(float64(n)/tr.Seconds(), "verifies/s")
	b.ReportMetric(100*tr.Seconds()/tx.Seconds(), "%-of-raw")
}
