package server

import (
	"bytes"
	"errors"
	"io"
	iofs "io/fs"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/keyless-dev/keyless/blob"
	"github.com/keyless-dev/keyless/blob/fs"
	"github.com/keyless-dev/keyless/store"
)

// blobPlace reports where the bytes of an object of the running server s, on
// data directory dir, are: "inline" (in the object's record), "table" (a blob
// in the store's blobs table, as keyless wrote small objects before it kept
// them in their records), "file" (under DIR/blobs), or, for several or none,
// those joined with "+", or "nowhere".
func blobPlace(t *testing.T, s *Server, dir, bucket, key string) string {
	t.Helper()
	ctx := t.Context()
	o, err := s.st.(store.S3Store).GetObject(ctx, bucket, key)
	if err != nil {
		t.Fatalf("GetObject %s/%s: %v", bucket, key, err)
	}
	var places []string
	if o.Inline {
		if _, err := s.st.(store.InlineObjectStore).ObjectData(ctx, bucket, key, o.BlobID); err != nil {
			t.Fatalf("ObjectData of an Inline object: %v", err)
		}
		places = append(places, "inline")
	}
	_, err = s.st.(store.BlobStore).GetBlob(ctx, o.BlobID)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		t.Fatal(err)
	}
	if err == nil {
		places = append(places, "table")
	}
	files, err := fs.New(filepath.Join(dir, blobsDir))
	if err != nil {
		t.Fatal(err)
	}
	r, err := files.Open(ctx, o.BlobID)
	if err != nil && !errors.Is(err, blob.ErrNotFound) {
		t.Fatal(err)
	}
	if err == nil {
		_ = r.Close()
		places = append(places, "file")
	}
	if len(places) == 0 {
		return "nowhere"
	}
	return strings.Join(places, "+")
}

// countFiles counts the regular files under dir.
func countFiles(t *testing.T, dir string) int {
	t.Helper()
	n := 0
	err := filepath.WalkDir(dir, func(_ string, d iofs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			n++
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestS3BlobTiers: through keyless up, an object of up to 64 KiB is kept inline
// in its record in the store (no file), a bigger one in a file under
// DIR/blobs; overwriting and deleting objects leaves no file behind. A data
// directory whose small objects were written as files (by a keyless before
// inline blobs) or as blobs of the store's blobs table (before inline
// records) still serves them. (e2e's TestEdgeServesSite has the edge serve inline objects.)
func TestS3BlobTiers(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()
	s := startTest(t, dir, Config{}, noEnv, nil)
	root := s.Root()
	client := func(s *Server) *s3.Client {
		return s3.NewFromConfig(aws.Config{Region: "us-east-1", HTTPClient: http.DefaultClient,
			Credentials: credentials.NewStaticCredentialsProvider(root.AccessKeyID, root.SecretAccessKey, "")},
			func(o *s3.Options) { o.BaseEndpoint = aws.String(s.Endpoint()); o.UsePathStyle = true })
	}
	c := client(s)
	if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("tiers")}); err != nil {
		t.Fatal(err)
	}
	put := func(c *s3.Client, key string, body []byte) {
		t.Helper()
		if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("tiers"), Key: aws.String(key), Body: bytes.NewReader(body)}); err != nil {
			t.Fatalf("PutObject %s: %v", key, err)
		}
	}
	get := func(c *s3.Client, key string) []byte {
		t.Helper()
		out, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("tiers"), Key: aws.String(key)})
		if err != nil {
			t.Fatalf("GetObject %s: %v", key, err)
		}
		defer out.Body.Close()
		b, err := io.ReadAll(out.Body)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	small, edge, big := bytes.Repeat([]byte("s"), 4<<10), bytes.Repeat([]byte("e"), 64<<10), bytes.Repeat([]byte("B"), 64<<10+1)
	blobs := filepath.Join(dir, blobsDir)
	for _, tc := range []struct {
		key   string
		body  []byte
		where string
		files int
	}{
		{"small", small, "inline", 0},
		{"at-threshold", edge, "inline", 0},
		{"big", big, "file", 1},
		{"small", big, "file", 2}, // overwritten: a new blob, the old one deleted
		{"big", small, "inline", 1},
	} {
		put(c, tc.key, tc.body)
		if got := get(c, tc.key); !bytes.Equal(got, tc.body) {
			t.Fatalf("GetObject %s after putting %d bytes read %d bytes", tc.key, len(tc.body), len(got))
		}
		if where := blobPlace(t, s, dir, "tiers", tc.key); where != tc.where {
			t.Errorf("a %d-byte object's bytes are %s, want %s", len(tc.body), where, tc.where)
		}
		if n := countFiles(t, blobs); n != tc.files {
			t.Errorf("after putting %s (%d bytes): %d files under DIR/blobs, want %d", tc.key, len(tc.body), n, tc.files)
		}
	}
	for _, k := range []string{"small", "big", "at-threshold"} {
		if _, err := c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String("tiers"), Key: aws.String(k)}); err != nil {
			t.Fatal(err)
		}
	}
	if n := countFiles(t, blobs); n != 0 {
		t.Errorf("after deleting every object: %d files under DIR/blobs", n)
	}

	// Small objects as older keyless versions wrote them: their bytes in a
	// file, or a blob in the store's blobs table; both served, and deleted
	// with their object, or when it is overwritten.
	put(c, "old-file", small)
	put(c, "old-table", small)
	stopTest(t, s)
	st, err := OpenStore(ctx, dir, "")
	if err != nil {
		t.Fatal(err)
	}
	files, err := fs.New(blobs)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"old-file", "old-table"} {
		o, err := st.(store.S3Store).GetObject(ctx, "tiers", k)
		if err != nil {
			t.Fatal(err)
		}
		if k == "old-file" {
			_, err = files.Put(ctx, o.BlobID, bytes.NewReader(small))
		} else {
			err = st.(store.BlobStore).PutBlob(ctx, o.BlobID, small)
		}
		if err != nil {
			t.Fatal(err)
		}
		o.Inline = false
		if _, err := st.(store.S3Store).PutObject(ctx, o, nil); err != nil { // the record without its bytes
			t.Fatal(err)
		}
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	s = startTest(t, dir, Config{}, noEnv, nil)
	c = client(s)
	for k, want := range map[string]string{"old-file": "file", "old-table": "table"} {
		if where := blobPlace(t, s, dir, "tiers", k); where != want {
			t.Fatalf("the object written as a %s is %s", want, where)
		}
		if got := get(c, k); !bytes.Equal(got, small) {
			t.Fatalf("GetObject of an object written as a %s read %d bytes", want, len(got))
		}
	}
	o, err := s.st.(store.S3Store).GetObject(ctx, "tiers", "old-table")
	if err != nil {
		t.Fatal(err)
	}
	put(c, "old-table", edge)
	if where := blobPlace(t, s, dir, "tiers", "old-table"); where != "inline" {
		t.Errorf("the object written as a blob of the blobs table, overwritten, is %s, want inline", where)
	}
	if _, err := s.st.(store.BlobStore).GetBlob(ctx, o.BlobID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("the overwritten object's blob in the blobs table: %v, want it gone", err)
	}
	if _, err := c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String("tiers"), Key: aws.String("old-file")}); err != nil {
		t.Fatal(err)
	}
	if n := countFiles(t, blobs); n != 0 {
		t.Errorf("after deleting the object written as a file: %d files under DIR/blobs", n)
	}
}
