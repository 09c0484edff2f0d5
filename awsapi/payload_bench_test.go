package awsapi

import (
	"bytes"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"testing"
)

// BenchmarkPayload64MiB decodes and verifies a 64 MiB upload in each
// payload mode, in 64 KiB chunks (the SDKs' chunk size), read 32 KiB at a
// time as an io.Copy into a file would. MB/s is object bytes.
func BenchmarkPayload64MiB(b *testing.B) {
	data := testData(64 << 20)
	seed, signer := fuzzSeed()
	cases := []struct {
		name    string
		mode    string
		trailer ChecksumAlgorithm
	}{
		{"signed", StreamingSignedPayload, ""},
		{"signed-trailer-crc32", StreamingSignedPayloadTrailer, ChecksumCRC32},
		{"unsigned-trailer-crc32", StreamingUnsignedPayloadTrailer, ChecksumCRC32},
		{"unsigned-trailer-crc64nvme", StreamingUnsignedPayloadTrailer, ChecksumCRC64NVME},
		{"sha256", "sha256", ""},
		{"unsigned", UnsignedPayload, ""},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			u := upload{mode: c.mode, data: data, chunk: 64 << 10, trailer: c.trailer}
			var s *testChunkSigner
			if c.mode == StreamingSignedPayload || c.mode == StreamingSignedPayloadTrailer {
				cp := *signer
				s = &cp
			}
			body := u.framed(s)
			h := http.Header{}
			payloadHash := c.mode
			if c.mode == "sha256" {
				payloadHash = sha256Hex(data)
			} else if c.mode != UnsignedPayload {
				h.Set("Content-Encoding", "aws-chunked")
				h.Set("X-Amz-Decoded-Content-Length", strconv.Itoa(len(data)))
			}
			if c.trailer != "" {
				h.Set("X-Amz-Trailer", c.trailer.Header())
			}
			auth := &Auth{PayloadHash: payloadHash, stream: seed}
			buf := make([]byte, 32<<10)
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			for b.Loop() {
				r := &http.Request{Method: http.MethodPut, URL: &url.URL{Path: "/b/k"}, Header: h,
					Body: io.NopCloser(bytes.NewReader(body)), ContentLength: int64(len(body))}
				pr, err := NewPayloadReader(r, auth, PayloadOptions{})
				if err != nil {
					b.Fatal(err)
				}
				for {
					_, err := pr.Read(buf)
					if err == io.EOF {
						break
					}
					if err != nil {
						b.Fatal(err)
					}
				}
			}
		})
	}
}
