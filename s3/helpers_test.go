package s3

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"

	"github.com/keyless-dev/keyless/audit"
	"github.com/keyless-dev/keyless/awsapi"
	"github.com/keyless-dev/keyless/blob/memory"
	"github.com/keyless-dev/keyless/blob/tiered"
	"github.com/keyless-dev/keyless/store/sqlite"
)

const (
	testAKID    = "AKIAS3TESTEXAMPLE000"
	testSecret  = "s3-test-secret-access-key-000000000000000"
	testAccount = "123456789012"
)

// authCall is one call of the test Authorizer.
type authCall struct {
	action, resource string
	conds            map[string][]string
	bucketPolicy     string
}

// fixture is an S3 endpoint over blob/memory and in-memory SQLite, behind
// an httptest server that verifies SigV4 with awsapi as the server will,
// and an official SDK client (path style) pointed at it.
type fixture struct {
	svc    *Service
	blobs  *memory.Store
	db     *sql.DB // the store's database, read-only, when objects may be inline
	srv    *httptest.Server
	client *s3.Client

	mu     sync.Mutex
	calls  []authCall
	events []audit.Event
	// deny, when set, decides each authorization.
	deny func(action, resource string) error
}

func (f *fixture) Authorize(_ context.Context, action, resource string, conds map[string][]string, bucketPolicy string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, authCall{action, resource, conds, bucketPolicy})
	if f.deny != nil {
		return f.deny(action, resource)
	}
	return nil
}

func (f *fixture) Record(e audit.Event) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.events = append(f.events, e)
}

// authCalls returns the authorizations asked so far and forgets them.
func (f *fixture) authCalls() []authCall {
	f.mu.Lock()
	defer f.mu.Unlock()
	c := f.calls
	f.calls = nil
	return c
}

func (f *fixture) lastEvent() audit.Event {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.events[len(f.events)-1]
}

func newFixture(t *testing.T, tls bool) *fixture {
	t.Helper()
	return newFixtureInline(t, tls, -1)
}

// newFixtureInline is newFixture whose objects of at most inlineMax bytes
// are kept inline (as keyless up keeps them: blob/tiered over the SQLite
// store, which is a file here, and Config.Inline); none when inlineMax < 0.
func newFixtureInline(t *testing.T, tls bool, inlineMax int) *fixture {
	t.Helper()
	ctx := context.Background()
	path := sqlite.Memory
	if inlineMax >= 0 {
		path = filepath.Join(t.TempDir(), "keyless.db")
	}
	st, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	f := &fixture{blobs: memory.New()}
	cfg := Config{Store: st, Blobs: f.blobs, Account: testAccount, Authorizer: f, Audit: f}
	if inlineMax >= 0 {
		if cfg.Blobs, err = tiered.New(f.blobs, st, tiered.WithThreshold(inlineMax)); err != nil {
			t.Fatal(err)
		}
		cfg.Inline, cfg.InlineMax = st, inlineMax
		if f.db, err = sql.Open("sqlite", "file:"+path+"?mode=ro"); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { f.db.Close() })
	}
	f.svc, err = New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	v := awsapi.NewVerifier(awsapi.CredentialLookupFunc(func(_ context.Context, akid, _ string) (awsapi.Credential, error) {
		if akid != testAKID {
			return awsapi.Credential{}, awsapi.InvalidClientTokenID()
		}
		return awsapi.Credential{SecretAccessKey: testSecret, Principal: "user/alice"}, nil
	}))
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		auth, err := v.Verify(r.Context(), r, nil)
		if err != nil {
			awsapi.WriteRESTError(w, "req", r.URL.Path, err)
			return
		}
		f.svc.ServeHTTP(w, r.WithContext(WithAuth(r.Context(), auth)))
	})
	if tls {
		f.srv = httptest.NewTLSServer(h)
	} else {
		f.srv = httptest.NewServer(h)
	}
	t.Cleanup(f.srv.Close)
	f.client = s3.New(s3.Options{
		Region:           "us-east-1",
		BaseEndpoint:     aws.String(f.srv.URL),
		UsePathStyle:     true,
		HTTPClient:       f.srv.Client(),
		Credentials:      credentials.StaticCredentialsProvider{Value: aws.Credentials{AccessKeyID: testAKID, SecretAccessKey: testSecret}},
		RetryMaxAttempts: 1,
		// What config.LoadDefaultConfig sets: the SDKs' default since 2025.
		RequestChecksumCalculation: aws.RequestChecksumCalculationWhenSupported,
	})
	return f
}

// bucket creates a bucket through the SDK.
func (f *fixture) bucket(t *testing.T, name string) {
	t.Helper()
	if _, err := f.client.CreateBucket(context.Background(), &s3.CreateBucketInput{Bucket: aws.String(name)}); err != nil {
		t.Fatalf("CreateBucket %s: %v", name, err)
	}
}

// blobKeys returns the keys of all stored bytes: the blobs in blob/memory and,
// with objects inline, "inline:" and the BlobID of each object whose bytes are
// in its record, or the key of each blob in the store's blobs table.
func (f *fixture) blobKeys(t *testing.T) []string {
	t.Helper()
	keys := f.blobs.Keys()
	if f.db == nil {
		return keys
	}
	rows, err := f.db.Query(`SELECT blob_id FROM s3_objects WHERE data IS NOT NULL UNION ALL SELECT blob_key FROM blobs`)
	if err != nil {
		t.Fatalf("list inline bytes: %v", err)
	}
	defer rows.Close()
	for rows.Next() {
		var k []byte
		if err := rows.Scan(&k); err != nil {
			t.Fatalf("list inline bytes: %v", err)
		}
		keys = append(keys, "inline:"+string(k))
	}
	if err := rows.Err(); err != nil {
		t.Fatalf("list inline bytes: %v", err)
	}
	return keys
}

// put uploads data under key through the SDK.
func (f *fixture) put(t *testing.T, bucket, key string, data []byte) *s3.PutObjectOutput {
	t.Helper()
	out, err := f.client.PutObject(context.Background(), &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Body: bytes.NewReader(data)})
	if err != nil {
		t.Fatalf("PutObject %q: %v", key, err)
	}
	return out
}

// errCode is the AWS error code of err, or "" when it has none.
func errCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

// httpStatus is the HTTP status of an SDK error, or 0.
func httpStatus(err error) int {
	var re *awshttp.ResponseError
	if errors.As(err, &re) {
		return re.HTTPStatusCode()
	}
	return 0
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

// hasCall reports whether an authorization of action on resource was asked.
func hasCall(calls []authCall, action, resource string) (authCall, bool) {
	i := slices.IndexFunc(calls, func(c authCall) bool { return c.action == action && c.resource == resource })
	if i < 0 {
		return authCall{}, false
	}
	return calls[i], true
}
