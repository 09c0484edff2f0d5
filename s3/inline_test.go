package s3

import (
	"bytes"
	"crypto/md5"
	"encoding/hex"
	"io"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// TestInlineObjects: with Config.Inline, an object of at most InlineMax bytes
// is written with its bytes in its record and a bigger one as a blob; every
// overwrite, in either direction, leaves exactly the current object's bytes;
// a refused conditional write and a delete leave nothing of theirs; a copy of
// an inline object is inline, and reads back, as does a part copied from it.
func TestInlineObjects(t *testing.T) {
	const max = 1024
	small := func(c byte) []byte { return bytes.Repeat([]byte{c}, max) }
	big := func(c byte) []byte { return bytes.Repeat([]byte{c}, max+1) }
	f := newFixtureInline(t, false, max)
	f.bucket(t, "bkt")

	where := func() (inline, files int) {
		for _, k := range f.blobKeys(t) {
			if strings.HasPrefix(k, "inline:") {
				inline++
			} else {
				files++
			}
		}
		return inline, files
	}
	steps := []struct {
		name          string
		key           string
		data          []byte
		inline, files int // blobs stored after the step
	}{
		{"small", "a", small('a'), 1, 0},
		{"big", "b", big('b'), 1, 1},
		{"small over small", "a", small('c'), 1, 1},
		{"big over small", "a", big('d'), 0, 2},
		{"small over big", "b", small('e'), 1, 1},
		{"empty", "c", nil, 2, 1},
	}
	for _, s := range steps {
		out := f.put(t, "bkt", s.key, s.data)
		sum := md5.Sum(s.data)
		if want := `"` + hex.EncodeToString(sum[:]) + `"`; aws.ToString(out.ETag) != want {
			t.Errorf("%s: ETag %s, want %s", s.name, aws.ToString(out.ETag), want)
		}
		get, err := f.client.GetObject(bg, &s3.GetObjectInput{Bucket: aws.String("bkt"), Key: aws.String(s.key)})
		if err != nil {
			t.Fatalf("%s: GetObject: %v", s.name, err)
		}
		got, err := io.ReadAll(get.Body)
		get.Body.Close()
		if err != nil || !bytes.Equal(got, s.data) {
			t.Fatalf("%s: read %d bytes (%v), want the %d put", s.name, len(got), err, len(s.data))
		}
		if inline, files := where(); inline != s.inline || files != s.files {
			t.Errorf("%s: %d blobs inline and %d in the blob store, want %d and %d", s.name, inline, files, s.inline, s.files)
		}
	}

	_, err := f.client.PutObject(bg, &s3.PutObjectInput{Bucket: aws.String("bkt"), Key: aws.String("a"), Body: bytes.NewReader(small('x')), IfNoneMatch: aws.String("*")})
	if httpStatus(err) != 412 {
		t.Fatalf("If-None-Match: * over an object: %v, want 412", err)
	}
	if inline, files := where(); inline != 2 || files != 1 {
		t.Errorf("after a refused write: %d blobs inline and %d in the blob store, want 2 and 1", inline, files)
	}

	// Copies of an inline object: another key, in place with new metadata,
	// and a part of a multipart upload.
	read := func(key string) []byte {
		t.Helper()
		get, err := f.client.GetObject(bg, &s3.GetObjectInput{Bucket: aws.String("bkt"), Key: aws.String(key)})
		if err != nil {
			t.Fatalf("GetObject %s: %v", key, err)
		}
		defer get.Body.Close()
		b, err := io.ReadAll(get.Body)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	if _, err := f.client.CopyObject(bg, &s3.CopyObjectInput{Bucket: aws.String("bkt"), Key: aws.String("b-copy"), CopySource: aws.String("bkt/b")}); err != nil {
		t.Fatalf("CopyObject of an inline object: %v", err)
	}
	if _, err := f.client.CopyObject(bg, &s3.CopyObjectInput{Bucket: aws.String("bkt"), Key: aws.String("b"), CopySource: aws.String("bkt/b"),
		MetadataDirective: "REPLACE", ContentType: aws.String("text/plain")}); err != nil {
		t.Fatalf("CopyObject of an inline object in place: %v", err)
	}
	for _, k := range []string{"b", "b-copy"} {
		if got := read(k); !bytes.Equal(got, small('e')) {
			t.Errorf("%s, copied from an inline object, reads back %d other bytes", k, len(got))
		}
	}
	if inline, files := where(); inline != 3 || files != 1 {
		t.Errorf("after copying an inline object twice: %d blobs inline and %d in the blob store, want 3 and 1", inline, files)
	}
	up, err := f.client.CreateMultipartUpload(bg, &s3.CreateMultipartUploadInput{Bucket: aws.String("bkt"), Key: aws.String("m")})
	if err != nil {
		t.Fatal(err)
	}
	part, err := f.client.UploadPartCopy(bg, &s3.UploadPartCopyInput{Bucket: aws.String("bkt"), Key: aws.String("m"), UploadId: up.UploadId,
		PartNumber: aws.Int32(1), CopySource: aws.String("bkt/b"), CopySourceRange: aws.String("bytes=1-100")})
	if err != nil {
		t.Fatalf("UploadPartCopy from an inline object: %v", err)
	}
	if _, err := f.client.CompleteMultipartUpload(bg, &s3.CompleteMultipartUploadInput{Bucket: aws.String("bkt"), Key: aws.String("m"), UploadId: up.UploadId,
		MultipartUpload: &types.CompletedMultipartUpload{Parts: []types.CompletedPart{{PartNumber: aws.Int32(1), ETag: part.CopyPartResult.ETag}}}}); err != nil {
		t.Fatal(err)
	}
	if got := read("m"); !bytes.Equal(got, small('e')[1:101]) {
		t.Errorf("a part copied from an inline object reads back %d other bytes", len(got))
	}
	for _, k := range []string{"a", "b", "c", "b-copy", "m"} {
		if _, err := f.client.DeleteObject(bg, &s3.DeleteObjectInput{Bucket: aws.String("bkt"), Key: aws.String(k)}); err != nil {
			t.Fatalf("DeleteObject %s: %v", k, err)
		}
	}
	if keys := f.blobKeys(t); len(keys) != 0 {
		t.Errorf("blobs left after deleting every object: %v", keys)
	}
}
