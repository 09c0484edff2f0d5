package server

import (
	"bytes"
	"errors"
	"io"
	iofs "io/fs"
	"net/http"
	"path/filepath"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/keyless-dev/keyless/blob"
	"github.com/keyless-dev/keyless/blob/fs"
	"github.com/keyless-dev/keyless/store"
)

// blobPlace reports where the bytes of an object of the running server s, on
// data directory dir, are: "inline" (in the store), "file" (under DIR/blobs),
// "both" or "nowhere".
func blobPlace(t *testing.T, s *Server, dir, bucket, key string) string {
	t.Helper()
	ctx := t.Context()
	o, err := s.st.(store.S3Store).GetObject(ctx, bucket, key)
	if err != nil {
		t.Fatalf("GetObject %s/%s: %v", bucket, key, err)
	}
	_, err = s.st.(store.BlobStore).GetBlob(ctx, o.BlobID)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		t.Fatal(err)
	}
	inline := err == nil
	files, err := fs.New(filepath.Join(dir, blobsDir))
	if err != nil {
		t.Fatal(err)
	}
	r, err := files.Open(ctx, o.BlobID)
	if err != nil && !errors.Is(err, blob.ErrNotFound) {
		t.Fatal(err)
	}
	file := err == nil
	if file {
		_ = r.Close()
	}
	switch {
	case inline && file:
		return "both"
	case inline:
		return "inline"
	case file:
		return "file"
	}
	return "nowhere"
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
// in the store (no file), a bigger one in a file under DIR/blobs; overwriting
// and deleting objects leaves no file behind. A data directory whose small
// objects were written as files (by a keyless before inline blobs) still
// serves them. (e2e's TestEdgeServesSite has the edge serve inline objects.)
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

	// A small object as an older keyless wrote it: its bytes in a file.
	put(c, "old", small)
	o, err := s.st.(store.S3Store).GetObject(ctx, "tiers", "old")
	if err != nil {
		t.Fatal(err)
	}
	stopTest(t, s)
	st, err := OpenStore(ctx, dir, "")
	if err != nil {
		t.Fatal(err)
	}
	files, err := fs.New(blobs)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := files.Put(ctx, o.BlobID, bytes.NewReader(small)); err != nil {
		t.Fatal(err)
	}
	if err := st.(store.BlobStore).DeleteBlob(ctx, o.BlobID); err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	s = startTest(t, dir, Config{}, noEnv, nil)
	if where := blobPlace(t, s, dir, "tiers", "old"); where != "file" {
		t.Fatalf("the object written as a file is %s", where)
	}
	if got := get(client(s), "old"); !bytes.Equal(got, small) {
		t.Fatalf("GetObject of an object written as a file read %d bytes", len(got))
	}
	if _, err := client(s).DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String("tiers"), Key: aws.String("old")}); err != nil {
		t.Fatal(err)
	}
	if n := countFiles(t, blobs); n != 0 {
		t.Errorf("after deleting the object written as a file: %d files under DIR/blobs", n)
	}
}
