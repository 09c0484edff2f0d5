//lint:file-ignore SA1019 the transfer manager (feature/s3/manager) is deprecated for feature/s3/transfermanager; it is what keyless and other Go programs upload with.

package s3sync

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/keyless-dev/keyless/awsapi"
	"github.com/keyless-dev/keyless/blob"
	"github.com/keyless-dev/keyless/blob/memory"
	"github.com/keyless-dev/keyless/internal/testenv"
	keylesss3 "github.com/keyless-dev/keyless/s3"
	"github.com/keyless-dev/keyless/store/sqlite"
)

// TestMain keeps these tests off the instance metadata address.
func TestMain(m *testing.M) { testenv.Main(m) }

const (
	testAKID    = "AKIADEPLOYTEST000000"
	testSecret  = "deploy-test-secret-access-key-0000000000"
	testAccount = "123456789012"
	testBucket  = "site"
)

// request is one S3 request the test server received.
type request struct {
	Op  string // the S3 operation, from the method, query and headers
	Key string // the object key, "" for bucket operations
}

// s3Server is keyless's own S3 (the s3 package over in-memory SQLite and a
// blob store), in process behind an httptest server that verifies SigV4 as
// `keyless up` does and records every request; and an SDK client for it,
// configured with ClientOptions as the CLI is.
type s3Server struct {
	client *s3.Client
	mu     sync.Mutex
	reqs   []request
}

func newS3Server(t testing.TB, blobs blob.Store) *s3Server {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, sqlite.Memory)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if blobs == nil {
		blobs = memory.New()
	}
	allow := keylesss3.AuthorizerFunc(func(context.Context, string, string, map[string][]string, string) error { return nil })
	svc, err := keylesss3.New(keylesss3.Config{Store: st, Blobs: blobs, Account: testAccount, Authorizer: allow})
	if err != nil {
		t.Fatal(err)
	}
	v := awsapi.NewVerifier(awsapi.CredentialLookupFunc(func(_ context.Context, akid, _ string) (awsapi.Credential, error) {
		if akid != testAKID {
			return awsapi.Credential{}, awsapi.InvalidClientTokenID()
		}
		return awsapi.Credential{SecretAccessKey: testSecret, Principal: "user/deployer"}, nil
	}))
	s := &s3Server{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		auth, err := v.Verify(r.Context(), r, nil)
		if err != nil {
			awsapi.WriteRESTError(w, "req", r.URL.Path, err)
			return
		}
		s.record(r)
		svc.ServeHTTP(w, r.WithContext(keylesss3.WithAuth(r.Context(), auth)))
	}))
	t.Cleanup(srv.Close)
	s.client = s3.New(s3.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(srv.URL),
		UsePathStyle: true,
		Credentials:  credentials.StaticCredentialsProvider{Value: aws.Credentials{AccessKeyID: testAKID, SecretAccessKey: testSecret}},
		// What config.LoadDefaultConfig sets: the SDKs' default since 2025.
		RequestChecksumCalculation: aws.RequestChecksumCalculationWhenSupported,
	}, ClientOptions(DefaultConcurrency))
	if _, err := s.client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(testBucket)}); err != nil {
		t.Fatal(err)
	}
	s.take()
	return s
}

// record classifies and records a request.
func (s *s3Server) record(r *http.Request) {
	_, key, _ := keylesss3.SplitPath(r.URL.EscapedPath())
	q := r.URL.Query()
	op := r.Method + " ?"
	switch {
	case r.Method == http.MethodGet && q.Get("list-type") == "2":
		op = "ListObjectsV2"
	case r.Method == http.MethodGet && key != "":
		op = "GetObject"
	case r.Method == http.MethodHead && key != "":
		op = "HeadObject"
	case r.Method == http.MethodPut && r.Header.Get("X-Amz-Copy-Source") != "":
		op = "CopyObject"
	case r.Method == http.MethodPut && q.Has("uploadId"):
		op = "UploadPart"
	case r.Method == http.MethodPut && key != "":
		op = "PutObject"
	case r.Method == http.MethodPost && q.Has("uploads"):
		op = "CreateMultipartUpload"
	case r.Method == http.MethodPost && q.Has("uploadId"):
		op = "CompleteMultipartUpload"
	case r.Method == http.MethodPost && q.Has("delete"):
		op = "DeleteObjects"
	case r.Method == http.MethodDelete && q.Has("uploadId"):
		op = "AbortMultipartUpload"
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reqs = append(s.reqs, request{op, key})
}

// take returns the requests since the last take.
func (s *s3Server) take() []request {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.reqs
	s.reqs = nil
	return r
}

// count counts requests by operation; the manifest's are counted as
// "<op> manifest".
func count(reqs []request, prefix string) map[string]int {
	c := map[string]int{}
	for _, r := range reqs {
		op := r.Op
		if r.Key == prefix+ManifestName {
			op += " manifest"
		}
		c[op]++
	}
	return c
}

// keysOf returns the keys of the requests of operation op, sorted.
func keysOf(reqs []request, op string) []string {
	var keys []string
	for _, r := range reqs {
		if r.Op == op {
			keys = append(keys, r.Key)
		}
	}
	slices.Sort(keys)
	return keys
}

// object is an object's body and headers, as a GetObject returns them.
type object struct {
	Body                                                      []byte
	ETag, ContentType, CacheControl, ContentEncoding, Expires string
}

func (s *s3Server) get(t testing.TB, key string) (object, bool) {
	t.Helper()
	out, err := s.client.GetObject(context.Background(), &s3.GetObjectInput{Bucket: aws.String(testBucket), Key: aws.String(key)})
	if err != nil {
		if strings.Contains(err.Error(), "NoSuchKey") {
			return object{}, false
		}
		t.Fatalf("GetObject %s: %v", key, err)
	}
	defer out.Body.Close()
	b, err := io.ReadAll(out.Body)
	if err != nil {
		t.Fatal(err)
	}
	return object{
		Body: b, ETag: strings.Trim(aws.ToString(out.ETag), `"`),
		ContentType: aws.ToString(out.ContentType), CacheControl: aws.ToString(out.CacheControl),
		ContentEncoding: aws.ToString(out.ContentEncoding), Expires: aws.ToString(out.ExpiresString),
	}, true
}

// keys lists the bucket's keys, sorted.
func (s *s3Server) keys(t testing.TB) []string {
	t.Helper()
	var keys []string
	pg := s3.NewListObjectsV2Paginator(s.client, &s3.ListObjectsV2Input{Bucket: aws.String(testBucket)})
	for pg.HasMorePages() {
		out, err := pg.NextPage(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range out.Contents {
			keys = append(keys, aws.ToString(o.Key))
		}
	}
	return keys
}

func (s *s3Server) put(t testing.TB, key string, body []byte) {
	t.Helper()
	if _, err := s.client.PutObject(context.Background(), &s3.PutObjectInput{Bucket: aws.String(testBucket), Key: aws.String(key), Body: bytes.NewReader(body)}); err != nil {
		t.Fatalf("PutObject %s: %v", key, err)
	}
}

// writeTree writes files (by slash-separated path) under dir, with
// modification times an hour old, as a build's would be.
func writeTree(t testing.TB, dir string, files map[string][]byte) {
	t.Helper()
	old := time.Now().Add(-time.Hour)
	for name, body := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, body, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(p, old, old); err != nil {
			t.Fatal(err)
		}
	}
}

// site is a small static site.
func site() map[string][]byte {
	files := map[string][]byte{
		"index.html":          []byte("<!doctype html><h1>site</h1>\n"),
		"about/index.html":    []byte("<!doctype html><h1>about</h1>\n"),
		"assets/app.js":       []byte(strings.Repeat("console.log('app');\n", 200)),
		"assets/style.css":    []byte(strings.Repeat("body{color:red}\n", 100)),
		"assets/logo.svg":     []byte(`<svg xmlns="http://www.w3.org/2000/svg"/>`),
		"docs/page 1.html":    []byte("<p>page – ünïcode</p>\n"),
		"img/empty.bin":       {},
		"img/data.bin":        testData(70_000),
		"deep/a/b/c/d/e.txt":  []byte("deep\n"),
		"weird/plus+sign.txt": []byte("plus\n"),
	}
	return files
}

// sortedKeys returns prefix + each name of files, sorted.
func sortedKeys(prefix string, files map[string][]byte) []string {
	var keys []string
	for name := range files {
		keys = append(keys, prefix+name)
	}
	sort.Strings(keys)
	return keys
}

// testData returns n deterministic bytes.
func testData(n int) []byte {
	b := make([]byte, n)
	x := uint32(2463534242)
	for i := range b {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		b[i] = byte(x)
	}
	return b
}

func md5hex(b []byte) string {
	s := md5.Sum(b)
	return hex.EncodeToString(s[:])
}

// events records Progress calls.
type events struct {
	mu          sync.Mutex
	planned     []Totals
	transferred int64
	finished    map[string]string // key -> "action" or "action: error"
}

func (e *events) Planned(t Totals) { e.mu.Lock(); e.planned = append(e.planned, t); e.mu.Unlock() }
func (e *events) Transferred(n int64) {
	e.mu.Lock()
	e.transferred += n
	e.mu.Unlock()
}
func (e *events) Finished(key string, a Action, err error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.finished == nil {
		e.finished = map[string]string{}
	}
	v := string(a)
	if err != nil {
		v += ": " + err.Error()
	}
	e.finished[key] = v
}

func fmtReqs(reqs []request) string {
	var b strings.Builder
	for _, r := range reqs {
		fmt.Fprintf(&b, "\n  %s %s", r.Op, r.Key)
	}
	return b.String()
}
