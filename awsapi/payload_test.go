package awsapi

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// docTime is the signing time of the S3 documentation's streaming examples
// ("Example: PUT Object" in sigv4-streaming.html and
// sigv4-streaming-trailers.html); their credentials are testAKID/testSecret.
var docTime = time.Date(2013, 5, 24, 0, 0, 0, 0, time.UTC)

// docBody frames 65536 + 1024 bytes of 'a' with the documented chunk
// signatures; trailer is appended after the final chunk line.
func docBody(sigs [3]string, trailer string) []byte {
	var b bytes.Buffer
	b.WriteString("10000;chunk-signature=" + sigs[0] + "\r\n")
	b.Write(bytes.Repeat([]byte("a"), 65536))
	b.WriteString("\r\n400;chunk-signature=" + sigs[1] + "\r\n")
	b.Write(bytes.Repeat([]byte("a"), 1024))
	b.WriteString("\r\n0;chunk-signature=" + sigs[2] + "\r\n")
	b.WriteString(trailer)
	return b.Bytes()
}

// docRequest is the documented streaming PUT with the given body.
func docRequest(contentSHA string, body []byte, signed string, sig string, extra map[string]string) *http.Request {
	r, _ := http.NewRequest(http.MethodPut, "http://s3.amazonaws.com/examplebucket/chunkObject.txt", bytes.NewReader(body))
	r.RequestURI = r.URL.RequestURI()
	r.Header.Set("X-Amz-Date", "20130524T000000Z")
	r.Header.Set("X-Amz-Storage-Class", "REDUCED_REDUNDANCY")
	r.Header.Set("X-Amz-Content-Sha256", contentSHA)
	r.Header.Set("Content-Encoding", "aws-chunked")
	r.Header.Set("X-Amz-Decoded-Content-Length", "66560")
	for k, v := range extra {
		r.Header.Set(k, v)
	}
	r.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential="+testAKID+"/20130524/us-east-1/s3/aws4_request,SignedHeaders="+signed+",Signature="+sig)
	return r
}

// TestPayloadAWSDocVectors checks the two published streaming examples end
// to end: the seed signature through Verify, then every chunk signature
// (and the trailer signature) through NewPayloadReader, and that a changed
// byte anywhere signed is SignatureDoesNotMatch.
func TestPayloadAWSDocVectors(t *testing.T) {
	v := newTestVerifier(docTime)
	want := bytes.Repeat([]byte("a"), 66560)
	signedChunks := [3]string{
		"ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648",
		"0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497",
		"b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9",
	}
	trailerChunks := [3]string{
		"b474d8862b1487a5145d686f57f013e54db672cee1c953b3010fb58501ef5aa2",
		"1c1344b170168f8e65b41376b44b20fe354e373826ccbbe2c1d40a8cae51e5c7",
		"2ca2aba2005185cf7159c6277faf83795951dd77a3a99e6e65d5c9f85863f992",
	}
	const trailer = "x-amz-checksum-crc32c:sOO8/Q==\r\nx-amz-trailer-signature:d81f82fc3505edab99d459891051a732e8730629a2e4a59689829ca17fe2e435\r\n\r\n"
	plain := func(body []byte) *http.Request {
		return docRequest(StreamingSignedPayload, body,
			"content-encoding;content-length;host;x-amz-content-sha256;x-amz-date;x-amz-decoded-content-length;x-amz-storage-class",
			"4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9", nil)
	}
	withTrailer := func(body []byte) *http.Request {
		return docRequest(StreamingSignedPayloadTrailer, body,
			"content-encoding;host;x-amz-content-sha256;x-amz-date;x-amz-decoded-content-length;x-amz-storage-class;x-amz-trailer",
			"106e2a8a18243abcf37539882f36619c00e2dfc72633413f02d3b74544bfeb8e",
			map[string]string{"X-Amz-Trailer": "x-amz-checksum-crc32c"})
	}
	cases := []struct {
		name     string
		req      func([]byte) *http.Request
		body     []byte
		wantCode string
	}{
		{"signed", plain, docBody(signedChunks, "\r\n"), ""},
		{"signed, byte changed", plain, bytes.Replace(docBody(signedChunks, "\r\n"), []byte("aaa\r\n0;"), []byte("aab\r\n0;"), 1), "SignatureDoesNotMatch"},
		{"signed, chunks reordered", plain, docBody([3]string{signedChunks[1], signedChunks[0], signedChunks[2]}, "\r\n"), "SignatureDoesNotMatch"},
		{"signed, final signature changed", plain, docBody([3]string{signedChunks[0], signedChunks[1], signedChunks[1]}, "\r\n"), "SignatureDoesNotMatch"},
		{"trailer", withTrailer, docBody(trailerChunks, trailer), ""},
		{"trailer after an empty line", withTrailer, docBody(trailerChunks, "\r\n"+trailer), ""},
		{"trailer without the last empty line", withTrailer, docBody(trailerChunks, strings.TrimSuffix(trailer, "\r\n")), ""},
		{"trailer value changed", withTrailer, docBody(trailerChunks, strings.Replace(trailer, "sOO8/Q==", "sOO8/A==", 1)), "SignatureDoesNotMatch"},
		{"trailer signature missing", withTrailer, docBody(trailerChunks, "x-amz-checksum-crc32c:sOO8/Q==\r\n\r\n"), "SignatureDoesNotMatch"},
		{"trailer with the plain chain", withTrailer, docBody(signedChunks, trailer), "SignatureDoesNotMatch"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := c.req(c.body)
			auth, err := v.Verify(context.Background(), r, nil)
			if err != nil {
				t.Fatalf("seed signature: %v", err)
			}
			pr, err := NewPayloadReader(r, auth, PayloadOptions{})
			if err != nil {
				t.Fatal(err)
			}
			got, err := io.ReadAll(pr)
			if c.wantCode != "" {
				if !HasCode(err, c.wantCode) {
					t.Fatalf("want %s, got %v", c.wantCode, err)
				}
				if pr.Checksums() != nil {
					t.Fatal("checksums exposed after a failure")
				}
				return
			}
			if err != nil || !bytes.Equal(got, want) {
				t.Fatalf("got %d bytes, %v", len(got), err)
			}
			if alg, val, ok := pr.Checksum(); c.name != "signed" && (!ok || alg != ChecksumCRC32C || val != "sOO8/Q==") {
				t.Fatalf("checksum %s %s %v", alg, val, ok)
			}
		})
	}
}

// testChunkSigner signs aws-chunked bodies the way the S3 documentation
// describes, independently of chunkSigner.
type testChunkSigner struct {
	key         []byte
	date, scope string
	prev        string
}

func (s *testChunkSigner) sign(parts ...string) string {
	m := hmac.New(sha256.New, s.key)
	m.Write([]byte(strings.Join(parts, "\n")))
	s.prev = hex.EncodeToString(m.Sum(nil))
	return s.prev
}

func (s *testChunkSigner) chunk(data []byte) string {
	return s.sign("AWS4-HMAC-SHA256-PAYLOAD", s.date, s.scope, s.prev, sha256Hex(nil), sha256Hex(data))
}

func (s *testChunkSigner) trailer(canonical string) string {
	return s.sign("AWS4-HMAC-SHA256-TRAILER", s.date, s.scope, s.prev, sha256Hex([]byte(canonical)))
}

// upload describes a PUT to build, sign with aws-sdk-go-v2's signer and
// frame as aws-chunked (for STREAMING-* modes).
type upload struct {
	mode    string // x-amz-content-sha256: a STREAMING-* value, UnsignedPayload or "sha256"
	data    []byte
	chunk   int               // chunk size; 0 means 64 KiB
	trailer ChecksumAlgorithm // checksum sent in the trailer
	// trailerValue replaces the computed trailer checksum when set.
	trailerValue string
	headers      map[string]string
	// mutate changes the framed body after signing.
	mutate func([]byte) []byte
	at     time.Time
}

func (u upload) framed(s *testChunkSigner) []byte {
	if !strings.HasPrefix(u.mode, "STREAMING-") && u.headers["Content-Encoding"] != "aws-chunked" {
		return u.data
	}
	size := u.chunk
	if size == 0 {
		size = 64 << 10
	}
	var b bytes.Buffer
	ext := func(data []byte) string {
		if s == nil {
			return ""
		}
		return ";chunk-signature=" + s.chunk(data)
	}
	for i := 0; i < len(u.data); i += size {
		part := u.data[i:min(i+size, len(u.data))]
		b.WriteString(strconv.FormatInt(int64(len(part)), 16) + ext(part) + "\r\n")
		b.Write(part)
		b.WriteString("\r\n")
	}
	b.WriteString("0" + ext(nil) + "\r\n")
	if u.trailer != "" {
		val := u.trailerValue
		if val == "" {
			h := u.trailer.New()
			h.Write(u.data)
			val = base64.StdEncoding.EncodeToString(h.Sum(nil))
		}
		line := u.trailer.Header() + ":" + val
		b.WriteString(line + "\r\n")
		if s != nil {
			b.WriteString("x-amz-trailer-signature:" + s.trailer(line+"\n") + "\r\n")
		}
	}
	b.WriteString("\r\n")
	return b.Bytes()
}

// request returns the upload as the server receives it.
func (u upload) request(t testing.TB) *http.Request {
	t.Helper()
	at := u.at
	if at.IsZero() {
		at = testTime
	}
	r, _ := http.NewRequest(http.MethodPut, "http://localhost:4566/bucket/key", nil)
	payloadHash := u.mode
	switch u.mode {
	case "sha256":
		payloadHash = sha256Hex(u.data)
	case StreamingSignedPayload, StreamingSignedPayloadTrailer, StreamingUnsignedPayloadTrailer:
		r.Header.Set("Content-Encoding", "aws-chunked")
		r.Header.Set("X-Amz-Decoded-Content-Length", strconv.Itoa(len(u.data)))
	}
	r.Header.Set("X-Amz-Content-Sha256", payloadHash)
	if u.trailer != "" {
		r.Header.Set("X-Amz-Trailer", u.trailer.Header())
	}
	for k, v := range u.headers {
		if v == "" {
			r.Header.Del(k)
			continue
		}
		r.Header.Set(k, v)
	}
	signed := u.mode == StreamingSignedPayload || u.mode == StreamingSignedPayloadTrailer
	// Sign over the framed length, computed with placeholder signatures.
	var placeholder *testChunkSigner
	if signed {
		placeholder = &testChunkSigner{key: []byte("x")}
	}
	r.ContentLength = int64(len(u.framed(placeholder)))
	if err := v4.NewSigner().SignHTTP(context.Background(), longTerm(), r, payloadHash, "s3", "us-east-1", at,
		func(o *v4.SignerOptions) { o.DisableURIPathEscaping = true }); err != nil {
		t.Fatal(err)
	}
	var s *testChunkSigner
	if signed {
		_, seed, _ := strings.Cut(r.Header.Get("Authorization"), "Signature=")
		date := at.Format("20060102")
		s = &testChunkSigner{key: deriveSigningKey(testSecret, date, "us-east-1", "s3"),
			date: at.Format(TimeFormat), scope: date + "/us-east-1/s3/aws4_request", prev: seed}
	}
	body := u.framed(s)
	if u.mutate != nil {
		body = u.mutate(body)
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	r.RequestURI = r.URL.RequestURI()
	return r
}

// receive verifies r as an S3 handler would and reads its payload.
func receive(t testing.TB, r *http.Request, opts PayloadOptions) ([]byte, *PayloadReader, error) {
	t.Helper()
	auth, err := newTestVerifier(testTime).Verify(context.Background(), r, nil)
	if err != nil {
		t.Fatalf("verify headers: %v", err)
	}
	pr, err := NewPayloadReader(r, auth, opts)
	if err != nil {
		return nil, nil, err
	}
	got, err := io.ReadAll(pr)
	return got, pr, err
}

func checksumOf(a ChecksumAlgorithm, data []byte) string {
	h := a.New()
	h.Write(data)
	return base64.StdEncoding.EncodeToString(h.Sum(nil))
}

func testData(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7 + i>>8)
	}
	return b
}

// TestPayloadModes decodes every payload mode, chunk layout and checksum
// placement, and checks the bytes and the checksums exposed.
func TestPayloadModes(t *testing.T) {
	data := testData(200_000)
	modes := []string{UnsignedPayload, "sha256", StreamingSignedPayload, StreamingSignedPayloadTrailer, StreamingUnsignedPayloadTrailer}
	for _, mode := range modes {
		for _, size := range []int{0, 1, 8191, 8192, 65536, 200_000} {
			for _, chunk := range []int{8192, 65536, 1 << 20} {
				if !strings.HasPrefix(mode, "STREAMING-") && chunk != 8192 {
					continue
				}
				name := fmt.Sprintf("%s/%d/%d", mode, size, chunk)
				t.Run(name, func(t *testing.T) {
					u := upload{mode: mode, data: data[:size], chunk: chunk}
					if strings.HasSuffix(mode, "-TRAILER") {
						u.trailer = ChecksumCRC32
					} else {
						u.headers = map[string]string{"X-Amz-Checksum-Crc64nvme": checksumOf(ChecksumCRC64NVME, u.data)}
					}
					got, pr, err := receive(t, u.request(t), PayloadOptions{Checksums: []ChecksumAlgorithm{ChecksumMD5}})
					if err != nil || !bytes.Equal(got, u.data) {
						t.Fatalf("got %d bytes, want %d: %v", len(got), size, err)
					}
					alg, val, ok := pr.Checksum()
					wantAlg := ChecksumCRC64NVME
					if u.trailer != "" {
						wantAlg = ChecksumCRC32
					}
					if !ok || alg != wantAlg || val != checksumOf(wantAlg, u.data) {
						t.Fatalf("checksum %s %q %v", alg, val, ok)
					}
					if md := pr.Checksums()[ChecksumMD5]; md != checksumOf(ChecksumMD5, u.data) {
						t.Fatalf("md5 %q", md)
					}
					if pr.ContentLength() != int64(size) || pr.BytesRead() != int64(size) {
						t.Fatalf("lengths %d %d", pr.ContentLength(), pr.BytesRead())
					}
				})
			}
		}
	}
}

// TestPayloadReaderContract runs iotest.TestReader (small reads, ReadAt-free
// consistency, EOF behaviour) over each mode with a 1-byte underlying reader.
func TestPayloadReaderContract(t *testing.T) {
	data := testData(70_000)
	for _, mode := range []string{UnsignedPayload, "sha256", StreamingSignedPayloadTrailer, StreamingUnsignedPayloadTrailer} {
		u := upload{mode: mode, data: data, chunk: 16 << 10}
		if strings.HasSuffix(mode, "-TRAILER") {
			u.trailer = ChecksumSHA256
		}
		r := u.request(t)
		r.Body = io.NopCloser(iotest.OneByteReader(r.Body))
		auth, err := newTestVerifier(testTime).Verify(context.Background(), r, nil)
		if err != nil {
			t.Fatal(err)
		}
		pr, err := NewPayloadReader(r, auth, PayloadOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if err := iotest.TestReader(pr, data); err != nil {
			t.Fatalf("%s: %v", mode, err)
		}
	}
}

// TestChecksumVectors pins each algorithm to the digests aws-sdk-go-v2's
// checksum tests expect for "hello world", and CRC64NVME to its check value.
func TestChecksumVectors(t *testing.T) {
	for a, want := range map[ChecksumAlgorithm]string{
		ChecksumCRC32:     "DUoRhQ==",
		ChecksumCRC32C:    "yZRlqg==",
		ChecksumCRC64NVME: "jSnVw/bqjr4=",
		ChecksumSHA1:      "Kq5sNclPz7QV2+lfQIuc6R7oRu0=",
		ChecksumSHA256:    "uU0nuZNNPgilLlLX2n2r+sSE7+N6U4DukIj3rOLvzek=",
		ChecksumMD5:       "XrY7u+Ae7tCTyyK7j1rNww==",
	} {
		if got := checksumOf(a, []byte("hello world")); got != want {
			t.Errorf("%s = %s, want %s", a, got, want)
		}
		if a.Size() == 0 || a.Header() == "" {
			t.Errorf("%s has no size or header", a)
		}
	}
	h := ChecksumCRC64NVME.New()
	h.Write([]byte("123456789"))
	if got := hex.EncodeToString(h.Sum(nil)); got != "ae8b14860a799888" {
		t.Fatalf("CRC-64/NVME check value %s", got)
	}
	if a, ok := ParseChecksumAlgorithm("crc64nvme"); !ok || a != ChecksumCRC64NVME {
		t.Fatal("ParseChecksumAlgorithm")
	}
	if _, ok := ParseChecksumAlgorithm("MD5"); ok {
		t.Fatal("MD5 is not an x-amz-checksum algorithm")
	}
}

// TestPayloadErrors: every way a payload can fail, with the AWS code and
// message it must produce, from NewPayloadReader or from Read.
func TestPayloadErrors(t *testing.T) {
	data := testData(100_000)
	small := []byte("hello world")
	replace := func(old, new string) func([]byte) []byte {
		return func(b []byte) []byte { return bytes.Replace(b, []byte(old), []byte(new), 1) }
	}
	flip := func(at int) func([]byte) []byte {
		return func(b []byte) []byte { b = bytes.Clone(b); b[at] ^= 1; return b }
	}
	cases := []struct {
		name    string
		u       upload
		code    string
		message string
	}{
		{"content sha256 mismatch", upload{mode: "sha256", data: small, mutate: flip(0)},
			"XAmzContentSHA256Mismatch", "The provided 'x-amz-content-sha256' header does not match what was computed."},
		{"header crc32 mismatch", upload{mode: UnsignedPayload, data: small, headers: map[string]string{"X-Amz-Checksum-Crc32": checksumOf(ChecksumCRC32, data)}},
			"BadDigest", "The CRC32 you specified did not match the calculated checksum."},
		{"header sha1 mismatch", upload{mode: "sha256", data: small, headers: map[string]string{"X-Amz-Checksum-Sha1": checksumOf(ChecksumSHA1, data)}},
			"BadDigest", "The SHA1 you specified did not match the calculated checksum."},
		{"header crc32 not base64", upload{mode: UnsignedPayload, data: small, headers: map[string]string{"X-Amz-Checksum-Crc32": "!!!!"}},
			"InvalidRequest", "Value for x-amz-checksum-crc32 header is invalid."},
		{"header crc32c wrong length", upload{mode: UnsignedPayload, data: small, headers: map[string]string{"X-Amz-Checksum-Crc32c": checksumOf(ChecksumCRC64NVME, small)}},
			"InvalidRequest", "Value for x-amz-checksum-crc32c header is invalid."},
		{"two checksum headers", upload{mode: UnsignedPayload, data: small, headers: map[string]string{
			"X-Amz-Checksum-Crc32": checksumOf(ChecksumCRC32, small), "X-Amz-Checksum-Sha256": checksumOf(ChecksumSHA256, small)}},
			"InvalidRequest", "Expecting a single x-amz-checksum- header. Multiple checksum Types are not allowed."},
		{"content-md5 mismatch", upload{mode: UnsignedPayload, data: small, headers: map[string]string{"Content-Md5": checksumOf(ChecksumMD5, data)}},
			"BadDigest", "The Content-MD5 you specified did not match what we received."},
		{"content-md5 malformed", upload{mode: UnsignedPayload, data: small, headers: map[string]string{"Content-Md5": "abc"}},
			"InvalidDigest", "The Content-MD5 you specified was invalid."},
		{"sdk algorithm conflicts", upload{mode: UnsignedPayload, data: small, headers: map[string]string{
			"X-Amz-Checksum-Crc32": checksumOf(ChecksumCRC32, small), "X-Amz-Sdk-Checksum-Algorithm": "SHA256"}},
			"InvalidRequest", "Value for x-amz-sdk-checksum-algorithm header is invalid."},
		{"trailer without aws-chunked", upload{mode: "sha256", data: small, headers: map[string]string{"X-Amz-Trailer": "x-amz-checksum-crc32"}},
			"InvalidRequest", "The value specified in the x-amz-trailer header is not supported"},
		{"trailer not a checksum", upload{mode: StreamingUnsignedPayloadTrailer, data: small, headers: map[string]string{"X-Amz-Trailer": "x-amz-meta-foo"}},
			"InvalidRequest", "The value specified in the x-amz-trailer header is not supported"},
		{"sigv4a streaming", upload{mode: "STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD", data: small},
			"InvalidArgument", "x-amz-content-sha256 must be UNSIGNED-PAYLOAD, STREAMING-AWS4-HMAC-SHA256-PAYLOAD, or a valid sha256 value."},
		{"signed without decoded length", upload{mode: StreamingSignedPayload, data: small, headers: map[string]string{"X-Amz-Decoded-Content-Length": ""}},
			"MissingContentLength", "You must provide the Content-Length HTTP header."},
		{"decoded length not a number", upload{mode: StreamingSignedPayload, data: small, headers: map[string]string{"X-Amz-Decoded-Content-Length": "+11"}},
			"InvalidArgument", "x-amz-decoded-content-length must be a non-negative integer."},

		{"tampered chunk", upload{mode: StreamingSignedPayload, data: data, mutate: flip(70_000)},
			"SignatureDoesNotMatch", msgSignatureDoesNotMatch},
		{"tampered last chunk", upload{mode: StreamingSignedPayloadTrailer, data: data, trailer: ChecksumCRC32, mutate: flip(99_000)},
			"SignatureDoesNotMatch", msgSignatureDoesNotMatch},
		{"chunk signature missing", upload{mode: StreamingSignedPayload, data: small, mutate: func(b []byte) []byte {
			i := bytes.IndexByte(b, ';')
			j := bytes.IndexByte(b, '\r')
			return append(append([]byte{}, b[:i]...), b[j:]...)
		}}, "SignatureDoesNotMatch", msgSignatureDoesNotMatch},
		{"chunk signature not hex", upload{mode: StreamingSignedPayload, data: small, mutate: func(b []byte) []byte {
			b = bytes.Clone(b)
			b[bytes.IndexByte(b, '=')+1] = 'z'
			return b
		}}, "SignatureDoesNotMatch", msgSignatureDoesNotMatch},
		{"signed trailer, wrong checksum", upload{mode: StreamingSignedPayloadTrailer, data: data, trailer: ChecksumCRC32, trailerValue: checksumOf(ChecksumCRC32, small)},
			"BadDigest", "The CRC32 you specified did not match the calculated checksum."},
		{"signed trailer, tampered checksum", upload{mode: StreamingSignedPayloadTrailer, data: data, trailer: ChecksumCRC32C,
			mutate: replace("x-amz-checksum-crc32c:"+checksumOf(ChecksumCRC32C, data), "x-amz-checksum-crc32c:"+checksumOf(ChecksumCRC32C, small))},
			"SignatureDoesNotMatch", msgSignatureDoesNotMatch},
		{"unsigned trailer, wrong checksum", upload{mode: StreamingUnsignedPayloadTrailer, data: data, trailer: ChecksumCRC64NVME, trailerValue: checksumOf(ChecksumCRC64NVME, small)},
			"BadDigest", "The CRC64NVME you specified did not match the calculated checksum."},
		{"unsigned trailer, invalid value", upload{mode: StreamingUnsignedPayloadTrailer, data: data, trailer: ChecksumSHA256, trailerValue: "AAAA"},
			"InvalidRequest", "Value for x-amz-checksum-sha256 header is invalid."},
		{"unsigned trailer missing", upload{mode: StreamingUnsignedPayloadTrailer, data: small, headers: map[string]string{"X-Amz-Trailer": "x-amz-checksum-crc32"}},
			"MalformedTrailerError", msgMalformedTrail},
		{"undeclared trailer", upload{mode: StreamingUnsignedPayloadTrailer, data: small, trailer: ChecksumCRC32, headers: map[string]string{"X-Amz-Trailer": "x-amz-checksum-sha1"}},
			"MalformedTrailerError", msgMalformedTrail},
		{"trailer line without colon", upload{mode: StreamingUnsignedPayloadTrailer, data: small, trailer: ChecksumCRC32, mutate: replace("x-amz-checksum-crc32:", "x-amz-checksum-crc32=")},
			"MalformedTrailerError", msgMalformedTrail},
		{"trailer in a signed payload without trailer", upload{mode: StreamingSignedPayload, data: small, mutate: replace("\r\n\r\n", "\r\nx-amz-checksum-crc32:AAAAAA==\r\n\r\n")},
			"MalformedTrailerError", msgMalformedTrail},
		{"decoded length too large", upload{mode: StreamingUnsignedPayloadTrailer, data: small, trailer: ChecksumCRC32, headers: map[string]string{"X-Amz-Decoded-Content-Length": "12"}},
			"IncompleteBody", msgBodyLength},
		{"decoded length too small", upload{mode: StreamingSignedPayload, data: small, headers: map[string]string{"X-Amz-Decoded-Content-Length": "10"}},
			"IncompleteBody", msgBodyLength},
		{"truncated in data", upload{mode: StreamingSignedPayload, data: data, mutate: func(b []byte) []byte { return b[:50_000] }},
			"IncompleteBody", msgBodyTerminated},
		{"truncated in a size line", upload{mode: StreamingUnsignedPayloadTrailer, data: data, trailer: ChecksumCRC32, mutate: func(b []byte) []byte {
			return b[:bytes.Index(b, []byte("\r\n0\r\n"))+3]
		}}, "IncompleteBody", msgBodyTerminated},
		{"missing CRLF after data", upload{mode: StreamingUnsignedPayloadTrailer, data: small, mutate: replace("world\r\n", "world\n\n")},
			"IncompleteBody", msgBodyTerminated},
		{"size line not hex", upload{mode: StreamingUnsignedPayloadTrailer, data: small, mutate: replace("b\r\n", "g\r\n")},
			"IncompleteBody", msgBodyTerminated},
		{"bytes after the end", upload{mode: StreamingSignedPayload, data: small, mutate: func(b []byte) []byte { return append(b, 'x') }},
			"IncompleteBody", msgBodyTerminated},
		{"small chunk before another", upload{mode: StreamingSignedPayload, data: data, chunk: 4096},
			"InvalidChunkSizeError", "Only the last chunk is allowed to have a size less than 8192 bytes"},
		{"hostile size line", upload{mode: StreamingUnsignedPayloadTrailer, data: small, headers: map[string]string{"X-Amz-Decoded-Content-Length": strconv.Itoa(1 << 62)},
			mutate: replace("b\r\n", "fffffffffffffff\r\n")},
			"InvalidChunkSizeError", "Chunk size must not exceed 5368709120 bytes."},
		{"size line overflows", upload{mode: StreamingUnsignedPayloadTrailer, data: small, mutate: replace("b\r\n", "10000000000000000\r\n")},
			"IncompleteBody", msgBodyTerminated},
		{"chunk larger than declared", upload{mode: StreamingUnsignedPayloadTrailer, data: small, mutate: replace("b\r\n", "40000000\r\n")},
			"IncompleteBody", msgBodyLength},
		{"size line too long", upload{mode: StreamingUnsignedPayloadTrailer, data: small, mutate: replace("b\r\n", "b;"+strings.Repeat("x", 20_000)+"\r\n")},
			"IncompleteBody", msgBodyTerminated},
		{"raw body shorter than Content-Length", upload{mode: UnsignedPayload, data: small, mutate: func(b []byte) []byte { return b[:5] }},
			"IncompleteBody", msgBodyLength},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := c.u.request(t)
			got, pr, err := receive(t, r, PayloadOptions{})
			var e *Error
			if !errors.As(err, &e) || e.Code != c.code || e.Message != c.message || e.Status/100 != 4 {
				t.Fatalf("want %s %q, got %v (%d bytes)", c.code, c.message, err, len(got))
			}
			if pr != nil {
				if pr.Checksums() != nil {
					t.Fatal("checksums exposed after a failure")
				}
				if n, err2 := pr.Read(make([]byte, 10)); n != 0 || err2 != err {
					t.Fatalf("error not sticky: %d %v", n, err2)
				}
			}
		})
	}
}

// TestHostileChunkSizeDoesNotAllocate: a size line claiming a huge chunk
// (within every limit) followed by a short body must fail without
// allocating anything near the claimed size.
func TestHostileChunkSizeDoesNotAllocate(t *testing.T) {
	for _, line := range []string{"40000000", "13fffffff", "fffffffffffffff"} { // 1 GiB, 5 GiB-1, 2^60-1
		u := upload{mode: StreamingUnsignedPayloadTrailer, data: testData(100),
			headers: map[string]string{"X-Amz-Decoded-Content-Length": strconv.Itoa(1 << 61)},
			mutate:  replace1("64\r\n", line+"\r\n")}
		r := u.request(t)
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		_, _, err := receive(t, r, PayloadOptions{})
		runtime.ReadMemStats(&after)
		if err == nil {
			t.Fatalf("%s: accepted", line)
		}
		if grew := after.TotalAlloc - before.TotalAlloc; grew > 1<<20 {
			t.Fatalf("%s: allocated %d bytes", line, grew)
		}
	}
}

func replace1(old, new string) func([]byte) []byte {
	return func(b []byte) []byte { return bytes.Replace(b, []byte(old), []byte(new), 1) }
}

// TestPayloadUnsignedAWSChunked: an aws-chunked body sent with
// UNSIGNED-PAYLOAD (some Java clients) is decoded, not stored framed, and
// StoredContentEncoding drops aws-chunked.
func TestPayloadUnsignedAWSChunked(t *testing.T) {
	data := testData(30_000)
	u := upload{mode: UnsignedPayload, data: data, chunk: 10_000, trailer: ChecksumSHA1,
		headers: map[string]string{"Content-Encoding": "aws-chunked", "X-Amz-Decoded-Content-Length": "30000"}}
	got, pr, err := receive(t, u.request(t), PayloadOptions{})
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("%d bytes: %v", len(got), err)
	}
	if a, v, _ := pr.Checksum(); a != ChecksumSHA1 || v != checksumOf(ChecksumSHA1, data) {
		t.Fatalf("checksum %s %s", a, v)
	}
	h := http.Header{"Content-Encoding": {"gzip, aws-chunked", "br"}}
	if got := StoredContentEncoding(h); got != "gzip,br" {
		t.Fatalf("StoredContentEncoding = %q", got)
	}
}

// TestPayloadAuthRedacted: printing an Auth of a streaming upload never
// shows the signing key.
func TestPayloadAuthRedacted(t *testing.T) {
	u := upload{mode: StreamingSignedPayload, data: []byte("x")}
	r := u.request(t)
	auth, err := newTestVerifier(testTime).Verify(context.Background(), r, nil)
	if err != nil || auth.stream == nil {
		t.Fatalf("%v", err)
	}
	key := deriveSigningKey(testSecret, "20260301", "us-east-1", "s3")
	for _, s := range []string{fmt.Sprintf("%v", auth), fmt.Sprintf("%+v", auth), fmt.Sprintf("%#v", *auth)} {
		if strings.Contains(s, hex.EncodeToString(key)) || strings.Contains(s, fmt.Sprint(key)) || strings.Contains(s, fmt.Sprintf("%#v", key)) {
			t.Fatalf("signing key printed: %s", s)
		}
	}
	// A non-streaming Auth carries no signing state.
	u = upload{mode: UnsignedPayload, data: []byte("x")}
	if auth, _ := newTestVerifier(testTime).Verify(context.Background(), u.request(t), nil); auth.stream != nil {
		t.Fatal("signing state kept for an unsigned payload")
	}
	if _, err := NewPayloadReader(r, &Auth{PayloadHash: StreamingSignedPayload}, PayloadOptions{}); err == nil || HasCode(err, "SignatureDoesNotMatch") {
		t.Fatalf("an Auth without signing state: %v", err)
	}
}

// TestPayloadBodyErrorsPassThrough: an error of the underlying body that is
// not an early end (here a MaxBytesError) reaches the caller unchanged.
func TestPayloadBodyErrorsPassThrough(t *testing.T) {
	for _, mode := range []string{UnsignedPayload, StreamingSignedPayload} {
		u := upload{mode: mode, data: testData(50_000)}
		r := u.request(t)
		r.Body = http.MaxBytesReader(nil, r.Body, 20_000)
		_, _, err := receive(t, r, PayloadOptions{})
		var mbe *http.MaxBytesError
		if !errors.As(err, &mbe) {
			t.Fatalf("%s: %v", mode, err)
		}
	}
}
