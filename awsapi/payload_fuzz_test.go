package awsapi

import (
	"bytes"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"testing"
)

// fuzzSeed is the signing state the fuzzed signed bodies chain from.
func fuzzSeed() (*streamSeed, *testChunkSigner) {
	const seedHex = "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9"
	seed, _ := hex.DecodeString(seedHex)
	key := deriveSigningKey(testSecret, "20260301", "us-east-1", "s3")
	date, scope := testTime.Format(TimeFormat), "20260301/us-east-1/s3/aws4_request"
	return &streamSeed{key: key, seed: seed, dateStr: date, scope: scope},
		&testChunkSigner{key: key, date: date, scope: scope, prev: seedHex}
}

var fuzzModes = [...]string{StreamingUnsignedPayloadTrailer, StreamingSignedPayload, StreamingSignedPayloadTrailer, UnsignedPayload}

// fuzzPayload builds the request and Auth a fuzz input stands for.
func fuzzPayload(body []byte, mode uint8, declared int64) (*http.Request, *Auth) {
	m := fuzzModes[int(mode)%len(fuzzModes)]
	seed, _ := fuzzSeed()
	r := &http.Request{Method: http.MethodPut, URL: &url.URL{Path: "/b/k"}, Header: http.Header{},
		Body: io.NopCloser(bytes.NewReader(body)), ContentLength: int64(len(body))}
	r.Header.Set("Content-Encoding", "aws-chunked")
	if declared >= 0 {
		r.Header.Set("X-Amz-Decoded-Content-Length", strconv.FormatInt(declared, 10))
	}
	if m != StreamingSignedPayload {
		r.Header.Set("X-Amz-Trailer", "x-amz-checksum-crc32")
	}
	return r, &Auth{PayloadHash: m, stream: seed}
}

// referenceDecode is a deliberately simple aws-chunked decoder: the data
// of each "size[;ext]\r\n" chunk up to the zero-size one.
func referenceDecode(body []byte) ([]byte, bool) {
	var out []byte
	for {
		i := bytes.Index(body, []byte("\r\n"))
		if i < 0 {
			return nil, false
		}
		sizeText, _, _ := bytes.Cut(body[:i], []byte(";"))
		size, err := strconv.ParseInt(string(sizeText), 16, 64)
		if err != nil || size < 0 {
			return nil, false
		}
		body = body[i+2:]
		if size == 0 {
			return out, true
		}
		if int64(len(body)) < size+2 || string(body[size:size+2]) != "\r\n" {
			return nil, false
		}
		out = append(out, body[:size]...)
		body = body[size+2:]
	}
}

// FuzzChunkedDecoder feeds arbitrary aws-chunked bodies, in every
// streaming mode, to NewPayloadReader: it must never panic, never return
// more bytes than the body holds or x-amz-decoded-content-length declares,
// deliver exactly the declared length when it succeeds, agree with a
// simple reference decoder on what it accepts, and fail only with
// AWS-shaped 4xx errors.
func FuzzChunkedDecoder(f *testing.F) {
	_, signer := fuzzSeed()
	data := testData(20_000)
	for mode, m := range fuzzModes {
		for _, size := range []int{0, 5, 9000, 20_000} {
			u := upload{mode: m, data: data[:size], chunk: 8192, trailer: ChecksumCRC32}
			if m == StreamingSignedPayload {
				u.trailer = ""
			}
			var s *testChunkSigner
			if m == StreamingSignedPayload || m == StreamingSignedPayloadTrailer {
				c := *signer
				s = &c
			}
			if m == UnsignedPayload {
				u.headers = map[string]string{"Content-Encoding": "aws-chunked"}
			}
			f.Add(u.framed(s), uint8(mode), int64(size), uint16(100))
		}
	}
	f.Add([]byte("fffffffffffffff\r\n"), uint8(0), int64(1<<40), uint16(1))
	f.Add([]byte("5;chunk-signature=zz\r\nhello\r\n0\r\n\r\n"), uint8(1), int64(5), uint16(3))
	f.Add([]byte("5\r\nhello\r\n0\r\n\r\nx-amz-checksum-crc32:NhCmhg==\r\n\r\n"), uint8(0), int64(-1), uint16(7))
	f.Fuzz(func(t *testing.T, body []byte, mode uint8, declared int64, readSize uint16) {
		if declared < -1 {
			declared = -1
		}
		r, auth := fuzzPayload(body, mode, declared)
		pr, err := NewPayloadReader(r, auth, PayloadOptions{MaxChunkSize: 1 << 20})
		if err != nil {
			if e := AsError(err); e.Status/100 != 4 {
				t.Fatalf("construction: %v", err)
			}
			return
		}
		buf := make([]byte, 1+int(readSize)%70_000)
		var out []byte
		for {
			n, err := pr.Read(buf)
			if n < 0 || n > len(buf) {
				t.Fatalf("Read returned %d", n)
			}
			out = append(out, buf[:n]...)
			if int64(len(out)) > int64(len(body)) || declared >= 0 && int64(len(out)) > declared {
				t.Fatalf("returned %d bytes from a %d-byte body declaring %d", len(out), len(body), declared)
			}
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				var e *Error
				if !errors.As(err, &e) || e.Status/100 != 4 {
					t.Fatalf("non-AWS error %v", err)
				}
				if pr.Checksums() != nil {
					t.Fatal("checksums after failure")
				}
				return
			}
		}
		if declared >= 0 && int64(len(out)) != declared {
			t.Fatalf("accepted %d bytes, %d declared", len(out), declared)
		}
		if want, ok := referenceDecode(body); !ok || !bytes.Equal(out, want) {
			t.Fatalf("accepted a body the reference decoder reads differently (%v)", ok)
		}
		if _, v, ok := pr.Checksum(); auth.PayloadHash != StreamingSignedPayload && (!ok || v != checksumOf(ChecksumCRC32, out)) {
			t.Fatalf("accepted without its trailing checksum: %q", v)
		}
	})
}
