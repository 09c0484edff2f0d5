package awsapi

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"
)

// received is what the test S3 endpoint saw of one upload.
type received struct {
	payloadHash     string
	contentEncoding string
	trailer         string
	presigned       bool
	token           string
	body            []byte
	checksumAlg     ChecksumAlgorithm
	checksum        string
	declared        int64 // PayloadReader.ContentLength
	err             error
}

// s3Endpoint runs Verify and NewPayloadReader the way the S3 handler will,
// answering like PutObject; tls selects HTTPS, where the SDKs switch to
// aws-chunked trailing checksums.
func s3Endpoint(t *testing.T, v *Verifier, tls bool) (*httptest.Server, func() received) {
	t.Helper()
	var (
		mu   sync.Mutex
		last received
	)
	// handle records what it saw before answering, so that a client
	// that has its reply can read last().
	handle := func(r *http.Request) (rec received) {
		rec = received{contentEncoding: r.Header.Get("Content-Encoding"), trailer: r.Header.Get("X-Amz-Trailer")}
		auth, err := v.Verify(r.Context(), r, nil)
		if err != nil {
			rec.err = err
			return rec
		}
		rec.payloadHash, rec.presigned, rec.token = auth.PayloadHash, auth.Presigned, auth.SessionToken
		pr, err := NewPayloadReader(r, auth, PayloadOptions{Checksums: []ChecksumAlgorithm{ChecksumMD5}})
		if err != nil {
			rec.err = err
			return rec
		}
		rec.declared = pr.ContentLength()
		rec.body, rec.err = io.ReadAll(pr)
		rec.checksumAlg, rec.checksum, _ = pr.Checksum()
		return rec
	}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := handle(r)
		mu.Lock()
		last = rec
		mu.Unlock()
		if rec.err != nil {
			WriteRESTError(w, "req", r.URL.Path, rec.err)
			return
		}
		sum := md5.Sum(rec.body)
		w.Header().Set("ETag", `"`+hex.EncodeToString(sum[:])+`"`)
		if rec.checksumAlg != "" {
			w.Header().Set(rec.checksumAlg.Header(), rec.checksum)
		}
		w.WriteHeader(http.StatusOK)
	})
	var srv *httptest.Server
	if tls {
		srv = httptest.NewTLSServer(h)
	} else {
		srv = httptest.NewServer(h)
	}
	t.Cleanup(srv.Close)
	return srv, func() received {
		mu.Lock()
		defer mu.Unlock()
		return last
	}
}

func s3Client(srv *httptest.Server, creds aws.Credentials, calc aws.RequestChecksumCalculation) *s3.Client {
	return s3.New(s3.Options{
		Region:                     "us-east-1",
		BaseEndpoint:               aws.String(srv.URL),
		UsePathStyle:               true,
		HTTPClient:                 srv.Client(),
		Credentials:                credentials.StaticCredentialsProvider{Value: creds},
		RequestChecksumCalculation: calc,
		RetryMaxAttempts:           1,
	})
}

// TestPayloadSDKPutObject sends PutObject with the real aws-sdk-go-v2 s3
// client over HTTP and HTTPS, with both RequestChecksumCalculation
// settings and seekable and unseekable bodies, and checks that the bytes
// received equal the bytes sent, which payload mode the SDK chose, and that
// the checksum it sent was verified.
func TestPayloadSDKPutObject(t *testing.T) {
	v := &Verifier{Lookup: &testLookup{}}
	data := testData(300_000)
	type result struct{ mode, checksum string }
	cases := []struct {
		name       string
		tls        bool
		calc       aws.RequestChecksumCalculation
		unseekable bool
		want       result
	}{
		// Over HTTP the SDK signs the SHA-256 of the body and sends the
		// CRC32 as a header when asked to; over HTTPS it sends aws-chunked
		// with a trailing CRC32, or UNSIGNED-PAYLOAD when not required.
		{"http/when-supported", false, aws.RequestChecksumCalculationWhenSupported, false, result{"sha256", "CRC32"}},
		{"http/when-required", false, aws.RequestChecksumCalculationWhenRequired, false, result{"sha256", ""}},
		{"https/when-supported", true, aws.RequestChecksumCalculationWhenSupported, false, result{StreamingUnsignedPayloadTrailer, "CRC32"}},
		{"https/when-required", true, aws.RequestChecksumCalculationWhenRequired, false, result{UnsignedPayload, ""}},
		{"https/when-supported/unseekable", true, aws.RequestChecksumCalculationWhenSupported, true, result{StreamingUnsignedPayloadTrailer, "CRC32"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			srv, last := s3Endpoint(t, v, c.tls)
			client := s3Client(srv, longTerm(), c.calc)
			for _, size := range []int{1, 65_536, 300_000} {
				var body io.Reader = bytes.NewReader(data[:size])
				if c.unseekable {
					body = struct{ io.Reader }{body}
				}
				out, err := client.PutObject(context.Background(), &s3.PutObjectInput{
					Bucket: aws.String("bucket"), Key: aws.String("dir/key with space"), Body: body,
				})
				got := last()
				if err != nil {
					t.Fatalf("size %d: %v (server: %v)", size, err, got.err)
				}
				if !bytes.Equal(got.body, data[:size]) {
					t.Fatalf("size %d: received %d bytes, not what was sent", size, len(got.body))
				}
				mode := got.payloadHash
				if len(mode) == 64 {
					mode = "sha256"
				}
				if mode != c.want.mode || string(got.checksumAlg) != c.want.checksum {
					t.Fatalf("size %d: mode %s checksum %q (encoding %q, trailer %q)", size, mode, got.checksumAlg, got.contentEncoding, got.trailer)
				}
				if wantDeclared := int64(size); c.unseekable && got.declared != -1 || !c.unseekable && got.declared != wantDeclared {
					t.Fatalf("size %d: declared length %d", size, got.declared)
				}
				if c.want.checksum != "" && (got.checksum != checksumOf(ChecksumCRC32, data[:size]) || aws.ToString(out.ChecksumCRC32) != got.checksum) {
					t.Fatalf("size %d: checksum %q, SDK saw %q", size, got.checksum, aws.ToString(out.ChecksumCRC32))
				}
			}
		})
	}
}

// TestPayloadSDKErrors: the SDK sees the AWS error codes for a body that
// fails its checksum and for a wrong secret.
func TestPayloadSDKErrors(t *testing.T) {
	v := &Verifier{Lookup: &testLookup{}}
	srv, _ := s3Endpoint(t, v, true)
	client := s3Client(srv, longTerm(), aws.RequestChecksumCalculationWhenSupported)
	_, err := client.PutObject(context.Background(), &s3.PutObjectInput{
		Bucket: aws.String("bucket"), Key: aws.String("k"), Body: strings.NewReader("hello"),
		ChecksumSHA256: aws.String(checksumOf(ChecksumSHA256, []byte("other"))),
	})
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != "BadDigest" {
		t.Fatalf("want BadDigest, got %v", err)
	}
	bad := longTerm()
	bad.SecretAccessKey = "wrong"
	_, err = s3Client(srv, bad, aws.RequestChecksumCalculationWhenSupported).PutObject(context.Background(), &s3.PutObjectInput{
		Bucket: aws.String("bucket"), Key: aws.String("k"), Body: strings.NewReader("hello"),
	})
	if !errors.As(err, &ae) || ae.ErrorCode() != "SignatureDoesNotMatch" {
		t.Fatalf("want SignatureDoesNotMatch, got %v", err)
	}
}

// TestPayloadSDKPresignedPut: a PUT URL presigned by the SDK with temporary
// credentials (the session token travels in the query) uploads as
// UNSIGNED-PAYLOAD; once expired it is AccessDenied "Request has expired".
func TestPayloadSDKPresignedPut(t *testing.T) {
	now := time.Now().UTC()
	v := &Verifier{Lookup: &testLookup{}, Now: func() time.Time { return now }}
	srv, last := s3Endpoint(t, v, false)
	temp := aws.Credentials{AccessKeyID: testTempID, SecretAccessKey: testSecret, SessionToken: testToken}
	for _, calc := range []aws.RequestChecksumCalculation{aws.RequestChecksumCalculationWhenSupported, aws.RequestChecksumCalculationWhenRequired} {
		presigner := s3.NewPresignClient(s3Client(srv, temp, calc))
		req, err := presigner.PresignPutObject(context.Background(), &s3.PutObjectInput{
			Bucket: aws.String("bucket"), Key: aws.String("a/b c.txt"),
		}, s3.WithPresignExpires(time.Minute))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(req.URL, "X-Amz-Security-Token=") {
			t.Fatalf("no session token in %s", req.URL)
		}
		put := func() (*http.Response, received) {
			data := []byte("presigned upload body")
			hr, _ := http.NewRequest(http.MethodPut, req.URL, bytes.NewReader(data))
			for k, vs := range req.SignedHeader {
				if !strings.EqualFold(k, "Host") {
					hr.Header[k] = vs
				}
			}
			resp, err := srv.Client().Do(hr)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			return resp, last()
		}
		now = time.Now().UTC()
		resp, got := put()
		if resp.StatusCode != 200 || got.err != nil || !got.presigned || got.token != testToken ||
			got.payloadHash != UnsignedPayload || string(got.body) != "presigned upload body" {
			t.Fatalf("presigned PUT: %d %+v", resp.StatusCode, got)
		}
		now = now.Add(2 * time.Minute)
		resp, got = put()
		var e *Error
		if resp.StatusCode != 403 || !errors.As(got.err, &e) || e.Code != "AccessDenied" || e.Message != "Request has expired" {
			t.Fatalf("expired presigned PUT: %d %v", resp.StatusCode, got.err)
		}
	}
}

// TestPayloadTruncatedRequest: a client that declares a Content-Length and
// closes the connection early gets IncompleteBody from the reader (net/http
// reports io.ErrUnexpectedEOF), for a raw and for an aws-chunked body.
func TestPayloadTruncatedRequest(t *testing.T) {
	v := newTestVerifier(testTime)
	srv, last := s3Endpoint(t, v, false)
	for _, mode := range []string{UnsignedPayload, "sha256", StreamingSignedPayload} {
		u := upload{mode: mode, data: testData(100_000)}
		r := u.request(t)
		body, _ := io.ReadAll(r.Body)
		conn, err := net.Dial("tcp", srv.Listener.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		var head bytes.Buffer
		head.WriteString("PUT " + r.URL.RequestURI() + " HTTP/1.1\r\nHost: " + r.Host + "\r\n")
		for k, vs := range r.Header {
			for _, v := range vs {
				head.WriteString(k + ": " + v + "\r\n")
			}
		}
		head.WriteString("Content-Length: " + strconv.Itoa(len(body)) + "\r\n\r\n")
		conn.Write(head.Bytes())
		conn.Write(body[:len(body)/2])
		conn.(*net.TCPConn).CloseWrite()
		io.Copy(io.Discard, conn)
		conn.Close()
		got := last()
		if !HasCode(got.err, "IncompleteBody") {
			t.Fatalf("%s: want IncompleteBody, got %v", mode, got.err)
		}
	}
}
