package awsapi

import (
	"bytes"
	"crypto/rand"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// BenchmarkParseQueryRequest decodes an AssumeRoleWithWebIdentity body of
// the usual size (a 1 KB token, an escaped ARN).
func BenchmarkParseQueryRequest(b *testing.B) {
	body := "Action=AssumeRoleWithWebIdentity&RoleArn=arn%3Aaws%3Aiam%3A%3A123456789012%3Arole%2Fbench&RoleSessionName=bench&Version=2011-06-15&WebIdentityToken=" +
		strings.Repeat("eyJhbGciOiJSUzI1NiIsImtpZCI6IkJv_-", 36)
	hdr := http.Header{"Content-Type": {"application/x-www-form-urlencoded; charset=utf-8"}}
	b.ReportAllocs()
	for b.Loop() {
		r := &http.Request{Method: http.MethodPost, URL: &url.URL{Path: "/"}, Header: hdr,
			Body: io.NopCloser(strings.NewReader(body)), ContentLength: int64(len(body))}
		if _, err := ParseQueryRequest(r, 1<<20); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkWriteXMLText escapes a session-token-sized base64 string.
func BenchmarkWriteXMLText(b *testing.B) {
	s := strings.Repeat("Ad0n8elxAyBf5jzjndwvR/EDLMcAjZZHaEa1FH6wDSu+PBneRjNBeKaSqOCUooYi", 10)
	var buf bytes.Buffer
	b.SetBytes(int64(len(s)))
	for b.Loop() {
		buf.Reset()
		WriteXMLText(&buf, s)
	}
}

// BenchmarkNewRequestID draws one request id.
func BenchmarkNewRequestID(b *testing.B) {
	g, err := NewRequestIDs(rand.Reader)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		_ = g.Next()
	}
}

// BenchmarkNewRequestIDParallel draws request ids from every P at once, as a busy
// server's handlers do.
func BenchmarkNewRequestIDParallel(b *testing.B) {
	g, err := NewRequestIDs(rand.Reader)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			_ = g.Next()
		}
	})
}
