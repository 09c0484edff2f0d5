package s3

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/keyless-dev/keyless/audit"
	"github.com/keyless-dev/keyless/awsapi"
)

var bg = context.Background()

// TestObjectRoundTrip: over HTTP (signed SHA-256 and a CRC32 header) and
// HTTPS (aws-chunked with a trailing CRC32), objects of 0, 1 and 5 MiB bytes
// upload with the SDK's default checksum, read back byte-identical with the
// checksum returned under ChecksumMode ENABLED, carry their system and user
// metadata, and delete idempotently.
func TestObjectRoundTrip(t *testing.T) {
	for _, tls := range []bool{false, true} {
		t.Run(fmt.Sprintf("tls=%v", tls), func(t *testing.T) {
			f := newFixture(t, tls)
			f.bucket(t, "site")
			for _, size := range []int{0, 1, 5 << 20} {
				data := testData(size)
				key := fmt.Sprintf("dir/obj-%d.bin", size)
				put, err := f.client.PutObject(bg, &s3.PutObjectInput{
					Bucket: aws.String("site"), Key: aws.String(key), Body: bytes.NewReader(data),
					ContentType: aws.String("text/html"), CacheControl: aws.String("max-age=60"),
					ContentEncoding: aws.String("gzip"), ContentDisposition: aws.String("inline"),
					Expires:  aws.Time(time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)),
					Metadata: map[string]string{"origin": "ci"}, StorageClass: types.StorageClassStandardIa,
				})
				if err != nil {
					t.Fatalf("size %d: PutObject: %v", size, err)
				}
				sum := md5.Sum(data)
				wantETag := `"` + hex.EncodeToString(sum[:]) + `"`
				if aws.ToString(put.ETag) != wantETag || aws.ToString(put.ChecksumCRC32) == "" {
					t.Fatalf("size %d: ETag %s CRC32 %q", size, aws.ToString(put.ETag), aws.ToString(put.ChecksumCRC32))
				}
				get, err := f.client.GetObject(bg, &s3.GetObjectInput{Bucket: aws.String("site"), Key: aws.String(key), ChecksumMode: types.ChecksumModeEnabled})
				if err != nil {
					t.Fatalf("size %d: GetObject: %v", size, err)
				}
				got, err := io.ReadAll(get.Body)
				get.Body.Close()
				if err != nil || !bytes.Equal(got, data) {
					t.Fatalf("size %d: read %d bytes (%v), not what was sent", size, len(got), err)
				}
				if aws.ToString(get.ChecksumCRC32) != aws.ToString(put.ChecksumCRC32) || aws.ToString(get.ETag) != wantETag {
					t.Fatalf("size %d: get checksum %q ETag %s", size, aws.ToString(get.ChecksumCRC32), aws.ToString(get.ETag))
				}
				if aws.ToString(get.ContentType) != "text/html" || aws.ToString(get.CacheControl) != "max-age=60" ||
					aws.ToString(get.ContentEncoding) != "gzip" || aws.ToString(get.ContentDisposition) != "inline" ||
					get.Metadata["origin"] != "ci" || get.StorageClass != types.StorageClassStandardIa ||
					aws.ToString(get.ExpiresString) != "Wed, 02 Jan 2030 03:04:05 GMT" {
					t.Fatalf("size %d: metadata %+v", size, get)
				}
				head, err := f.client.HeadObject(bg, &s3.HeadObjectInput{Bucket: aws.String("site"), Key: aws.String(key)})
				if err != nil || aws.ToInt64(head.ContentLength) != int64(size) || aws.ToString(head.ETag) != wantETag || head.Metadata["origin"] != "ci" {
					t.Fatalf("size %d: HeadObject: %v %+v", size, err, head)
				}
				for range 2 { // idempotent
					if _, err := f.client.DeleteObject(bg, &s3.DeleteObjectInput{Bucket: aws.String("site"), Key: aws.String(key)}); err != nil {
						t.Fatalf("size %d: DeleteObject: %v", size, err)
					}
				}
				_, err = f.client.GetObject(bg, &s3.GetObjectInput{Bucket: aws.String("site"), Key: aws.String(key)})
				if errCode(err) != "NoSuchKey" {
					t.Fatalf("size %d: GetObject after delete: %v", size, err)
				}
				if _, err = f.client.HeadObject(bg, &s3.HeadObjectInput{Bucket: aws.String("site"), Key: aws.String(key)}); httpStatus(err) != 404 {
					t.Fatalf("size %d: HeadObject after delete: %v", size, err)
				}
			}
			if keys := f.blobs.Keys(); len(keys) != 0 {
				t.Fatalf("blobs left behind: %v", keys)
			}
		})
	}
}

// TestOverwriteReplacesBlob: a second PutObject of a key replaces the bytes
// and deletes the old blob; without a checksum from the client (checksums
// only when required, over HTTPS: UNSIGNED-PAYLOAD) S3's default CRC64NVME is
// stored and returned.
func TestOverwriteReplacesBlob(t *testing.T) {
	f := newFixture(t, true)
	f.bucket(t, "bkt")
	f.put(t, "bkt", "k", []byte("first"))
	c := s3.New(f.client.Options(), func(o *s3.Options) { o.RequestChecksumCalculation = aws.RequestChecksumCalculationWhenRequired })
	if _, err := c.PutObject(bg, &s3.PutObjectInput{Bucket: aws.String("bkt"), Key: aws.String("k"), Body: strings.NewReader("second")}); err != nil {
		t.Fatal(err)
	}
	get, err := f.client.GetObject(bg, &s3.GetObjectInput{Bucket: aws.String("bkt"), Key: aws.String("k"), ChecksumMode: types.ChecksumModeEnabled})
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(get.Body)
	get.Body.Close()
	if string(body) != "second" || aws.ToString(get.ChecksumCRC64NVME) == "" || get.ChecksumType != types.ChecksumTypeFullObject {
		t.Fatalf("body %q CRC64NVME %q type %q", body, aws.ToString(get.ChecksumCRC64NVME), get.ChecksumType)
	}
	if keys := f.blobs.Keys(); len(keys) != 1 {
		t.Fatalf("blobs: %v", keys)
	}
}

// TestUnseekableUpload: a body the SDK cannot rewind goes over HTTPS as
// aws-chunked without a decoded length, and is stored whole.
func TestUnseekableUpload(t *testing.T) {
	f := newFixture(t, true)
	f.bucket(t, "bkt")
	data := testData(300_000)
	_, err := f.client.PutObject(bg, &s3.PutObjectInput{Bucket: aws.String("bkt"), Key: aws.String("k"), Body: struct{ io.Reader }{bytes.NewReader(data)}})
	if err != nil {
		t.Fatal(err)
	}
	get, err := f.client.GetObject(bg, &s3.GetObjectInput{Bucket: aws.String("bkt"), Key: aws.String("k")})
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(get.Body)
	get.Body.Close()
	if !bytes.Equal(body, data) {
		t.Fatalf("read %d bytes", len(body))
	}
}

// TestRangesAndConditions: Range answers 206 with the bytes asked for (or
// InvalidRange 416 past the end); If-Match/If-Unmodified-Since failures are
// PreconditionFailed 412; If-None-Match/If-Modified-Since hits are 304.
func TestRangesAndConditions(t *testing.T) {
	f := newFixture(t, false)
	f.bucket(t, "bkt")
	data := testData(1000)
	etag := aws.ToString(f.put(t, "bkt", "k", data).ETag)
	ranges := []struct {
		rng        string
		start, end int // want data[start:end]; end < 0: InvalidRange
	}{
		{"bytes=0-9", 0, 10},
		{"bytes=990-", 990, 1000},
		{"bytes=-5", 995, 1000},
		{"bytes=500-5000", 500, 1000},
		{"bytes=1000-", 0, -1},
		{"bytes=0-1,5-6", 0, 1000}, // several ranges: the whole object
	}
	for _, r := range ranges {
		out, err := f.client.GetObject(bg, &s3.GetObjectInput{Bucket: aws.String("bkt"), Key: aws.String("k"), Range: aws.String(r.rng)})
		if r.end < 0 {
			if errCode(err) != "InvalidRange" || httpStatus(err) != 416 {
				t.Fatalf("%s: want InvalidRange, got %v", r.rng, err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%s: %v", r.rng, err)
		}
		got, _ := io.ReadAll(out.Body)
		out.Body.Close()
		if !bytes.Equal(got, data[r.start:r.end]) {
			t.Fatalf("%s: got %d bytes (%s)", r.rng, len(got), aws.ToString(out.ContentRange))
		}
	}
	past, future := time.Now().Add(-time.Hour), time.Now().Add(time.Hour)
	conds := []struct {
		name   string
		in     s3.GetObjectInput
		status int // 0: 200
	}{
		{"if-match", s3.GetObjectInput{IfMatch: aws.String(etag)}, 0},
		{"if-match other", s3.GetObjectInput{IfMatch: aws.String(`"0123"`)}, 412},
		{"if-none-match", s3.GetObjectInput{IfNoneMatch: aws.String(etag)}, 304},
		{"if-none-match other", s3.GetObjectInput{IfNoneMatch: aws.String(`"0123"`)}, 0},
		{"if-modified-since future", s3.GetObjectInput{IfModifiedSince: aws.Time(future)}, 304},
		{"if-modified-since past", s3.GetObjectInput{IfModifiedSince: aws.Time(past)}, 0},
		{"if-unmodified-since past", s3.GetObjectInput{IfUnmodifiedSince: aws.Time(past)}, 412},
		{"if-match wins over if-unmodified-since", s3.GetObjectInput{IfMatch: aws.String(etag), IfUnmodifiedSince: aws.Time(past)}, 0},
	}
	for _, c := range conds {
		in := c.in
		in.Bucket, in.Key = aws.String("bkt"), aws.String("k")
		out, err := f.client.GetObject(bg, &in)
		switch {
		case c.status == 0 && err != nil:
			t.Fatalf("%s: %v", c.name, err)
		case c.status == 0:
			out.Body.Close()
		case httpStatus(err) != c.status || c.status == 412 && errCode(err) != "PreconditionFailed":
			t.Fatalf("%s: want %d, got %v", c.name, c.status, err)
		}
	}
}

// TestListObjectsV2Paginator: the SDK's paginator over 2,500 keys with
// MaxKeys 1000 sees three pages and every key exactly once, in order;
// delimiter roll-up, ListObjects (v1) and encoding-type=url list as S3 does,
// and ListBucket is authorized with s3:prefix, s3:delimiter and s3:max-keys.
func TestListObjectsV2Paginator(t *testing.T) {
	f := newFixture(t, false)
	f.bucket(t, "bkt")
	var want []string
	for i := range 2500 {
		want = append(want, fmt.Sprintf("k/%05d", i))
	}
	var wg sync.WaitGroup
	errs := make(chan error, len(want))
	sem := make(chan struct{}, 8)
	for _, k := range want {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			_, err := f.client.PutObject(bg, &s3.PutObjectInput{Bucket: aws.String("bkt"), Key: aws.String(k), Body: strings.NewReader("x")})
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	var got []string
	pages := 0
	p := s3.NewListObjectsV2Paginator(f.client, &s3.ListObjectsV2Input{Bucket: aws.String("bkt"), MaxKeys: aws.Int32(1000)})
	for p.HasMorePages() {
		page, err := p.NextPage(bg)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		for _, o := range page.Contents {
			got = append(got, aws.ToString(o.Key))
		}
	}
	if pages != 3 || !slices.Equal(got, want) {
		t.Fatalf("%d pages, %d keys", pages, len(got))
	}

	for _, k := range []string{"top", "dir1/a", "dir1/b", "dir2/c d"} {
		f.put(t, "bkt", k, []byte(k))
	}
	f.authCalls()
	out, err := f.client.ListObjectsV2(bg, &s3.ListObjectsV2Input{Bucket: aws.String("bkt"), Delimiter: aws.String("/"), Prefix: aws.String(""), MaxKeys: aws.Int32(10)})
	if err != nil {
		t.Fatal(err)
	}
	var prefixes []string
	for _, cp := range out.CommonPrefixes {
		prefixes = append(prefixes, aws.ToString(cp.Prefix))
	}
	if !slices.Equal(prefixes, []string{"dir1/", "dir2/", "k/"}) || len(out.Contents) != 1 || aws.ToString(out.Contents[0].Key) != "top" || aws.ToInt32(out.KeyCount) != 4 {
		t.Fatalf("delimited listing: %v %d", prefixes, len(out.Contents))
	}
	call, ok := hasCall(f.authCalls(), "s3:ListBucket", "arn:aws:s3:::bkt")
	if !ok || call.conds["s3:delimiter"][0] != "/" || call.conds["s3:max-keys"][0] != "10" || call.conds["s3:prefix"][0] != "" {
		t.Fatalf("ListBucket authorization: %+v", call)
	}

	enc, err := f.client.ListObjectsV2(bg, &s3.ListObjectsV2Input{Bucket: aws.String("bkt"), Prefix: aws.String("dir2/"), EncodingType: types.EncodingTypeUrl})
	if err != nil || len(enc.Contents) != 1 {
		t.Fatalf("encoded listing: %v", err)
	}
	if k, _ := url.QueryUnescape(aws.ToString(enc.Contents[0].Key)); aws.ToString(enc.Contents[0].Key) != "dir2%2Fc+d" || k != "dir2/c d" {
		t.Fatalf("encoded key %q", aws.ToString(enc.Contents[0].Key))
	}

	v1, err := f.client.ListObjects(bg, &s3.ListObjectsInput{Bucket: aws.String("bkt"), Delimiter: aws.String("/"), MaxKeys: aws.Int32(2)})
	if err != nil || !aws.ToBool(v1.IsTruncated) || aws.ToString(v1.NextMarker) != "dir2/" || len(v1.CommonPrefixes) != 2 {
		t.Fatalf("ListObjects v1: %v %+v", err, v1)
	}
	v1, err = f.client.ListObjects(bg, &s3.ListObjectsInput{Bucket: aws.String("bkt"), Delimiter: aws.String("/"), Marker: v1.NextMarker})
	if err != nil || aws.ToBool(v1.IsTruncated) || len(v1.CommonPrefixes) != 1 || len(v1.Contents) != 1 {
		t.Fatalf("ListObjects v1 page 2: %v %+v", err, v1)
	}
	_, err = f.client.ListObjectsV2(bg, &s3.ListObjectsV2Input{Bucket: aws.String("bkt"), ContinuationToken: aws.String("bogus")})
	if errCode(err) != "InvalidArgument" {
		t.Fatalf("bad token: %v", err)
	}
	_, err = f.client.ListObjectsV2(bg, &s3.ListObjectsV2Input{Bucket: aws.String("nope")})
	if errCode(err) != "NoSuchBucket" {
		t.Fatalf("missing bucket: %v", err)
	}
}

// TestDeleteObjects: a batch deletes existing and missing keys alike, lists
// them as Deleted unless Quiet, and reports a denied key as an Error.
func TestDeleteObjects(t *testing.T) {
	f := newFixture(t, true)
	f.bucket(t, "bkt")
	for _, k := range []string{"a", "b", "c", "secret"} {
		f.put(t, "bkt", k, []byte(k))
	}
	f.deny = func(action, resource string) error {
		if resource == "arn:aws:s3:::bkt/secret" {
			return &Denial{Reason: "test"}
		}
		return nil
	}
	ids := func(keys ...string) []types.ObjectIdentifier {
		var out []types.ObjectIdentifier
		for _, k := range keys {
			out = append(out, types.ObjectIdentifier{Key: aws.String(k)})
		}
		return out
	}
	out, err := f.client.DeleteObjects(bg, &s3.DeleteObjectsInput{Bucket: aws.String("bkt"), Delete: &types.Delete{Objects: ids("a", "b", "missing", "secret")}})
	if err != nil {
		t.Fatal(err)
	}
	var deleted []string
	for _, d := range out.Deleted {
		deleted = append(deleted, aws.ToString(d.Key))
	}
	if !slices.Equal(deleted, []string{"a", "b", "missing"}) || len(out.Errors) != 1 || aws.ToString(out.Errors[0].Code) != "AccessDenied" || aws.ToString(out.Errors[0].Key) != "secret" {
		t.Fatalf("deleted %v errors %+v", deleted, out.Errors)
	}
	out, err = f.client.DeleteObjects(bg, &s3.DeleteObjectsInput{Bucket: aws.String("bkt"), Delete: &types.Delete{Objects: ids("c"), Quiet: aws.Bool(true)}})
	if err != nil || len(out.Deleted) != 0 || len(out.Errors) != 0 {
		t.Fatalf("quiet: %v %+v", err, out)
	}
	list, err := f.client.ListObjectsV2(bg, &s3.ListObjectsV2Input{Bucket: aws.String("bkt")})
	if err != nil || len(list.Contents) != 1 || aws.ToString(list.Contents[0].Key) != "secret" {
		t.Fatalf("left: %v %+v", err, list.Contents)
	}
}

// TestCopyObject: COPY keeps the source's metadata, REPLACE takes the
// request's, the bytes, ETag and checksum are the source's, and copying an
// object onto itself without REPLACE is InvalidRequest.
func TestCopyObject(t *testing.T) {
	f := newFixture(t, false)
	f.bucket(t, "src")
	f.bucket(t, "dst")
	data := testData(70_000)
	_, err := f.client.PutObject(bg, &s3.PutObjectInput{Bucket: aws.String("src"), Key: aws.String("a b/ü.txt"), Body: bytes.NewReader(data),
		ContentType: aws.String("text/plain"), Metadata: map[string]string{"m": "1"}})
	if err != nil {
		t.Fatal(err)
	}
	source := "src/" + url.PathEscape("a b/ü.txt")
	cp, err := f.client.CopyObject(bg, &s3.CopyObjectInput{Bucket: aws.String("dst"), Key: aws.String("copy"), CopySource: aws.String(source)})
	if err != nil {
		t.Fatal(err)
	}
	sum := md5.Sum(data)
	if aws.ToString(cp.CopyObjectResult.ETag) != `"`+hex.EncodeToString(sum[:])+`"` || aws.ToString(cp.CopyObjectResult.ChecksumCRC32) == "" {
		t.Fatalf("copy result %+v", cp.CopyObjectResult)
	}
	get, err := f.client.GetObject(bg, &s3.GetObjectInput{Bucket: aws.String("dst"), Key: aws.String("copy")})
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(get.Body)
	get.Body.Close()
	if !bytes.Equal(body, data) || aws.ToString(get.ContentType) != "text/plain" || get.Metadata["m"] != "1" {
		t.Fatalf("COPY: %d bytes, %s %v", len(body), aws.ToString(get.ContentType), get.Metadata)
	}
	calls := f.authCalls()
	if _, ok := hasCall(calls, "s3:GetObject", "arn:aws:s3:::src/a b/ü.txt"); !ok {
		t.Fatalf("source not authorized: %+v", calls)
	}
	_, err = f.client.CopyObject(bg, &s3.CopyObjectInput{Bucket: aws.String("dst"), Key: aws.String("copy"), CopySource: aws.String("dst/copy"),
		MetadataDirective: types.MetadataDirectiveReplace, ContentType: aws.String("image/png")})
	if err != nil {
		t.Fatal(err)
	}
	head, err := f.client.HeadObject(bg, &s3.HeadObjectInput{Bucket: aws.String("dst"), Key: aws.String("copy")})
	if err != nil || aws.ToString(head.ContentType) != "image/png" || len(head.Metadata) != 0 {
		t.Fatalf("REPLACE: %v %s %v", err, aws.ToString(head.ContentType), head.Metadata)
	}
	_, err = f.client.CopyObject(bg, &s3.CopyObjectInput{Bucket: aws.String("dst"), Key: aws.String("copy"), CopySource: aws.String("dst/copy")})
	if errCode(err) != "InvalidRequest" {
		t.Fatalf("copy onto itself: %v", err)
	}
	_, err = f.client.CopyObject(bg, &s3.CopyObjectInput{Bucket: aws.String("dst"), Key: aws.String("x"), CopySource: aws.String("src/missing")})
	if errCode(err) != "NoSuchKey" {
		t.Fatalf("missing source: %v", err)
	}
	if n := len(f.blobs.Keys()); n != 2 {
		t.Fatalf("%d blobs, want 2", n)
	}
}

// TestKeys: "../", Unicode and 1,024-byte keys are stored and read back as
// they are (listed under their own bytes); 1,025 bytes is KeyTooLongError.
func TestKeys(t *testing.T) {
	f := newFixture(t, false)
	f.bucket(t, "bkt")
	keys := []string{"../escape", "a/../../b", "ünï/日本語 ✓.txt", "sp ace+plus%25", strings.Repeat("k", 1024), "x/" + strings.Repeat("é", 511)}
	for _, k := range keys {
		f.put(t, "bkt", k, []byte("v:"+k))
		get, err := f.client.GetObject(bg, &s3.GetObjectInput{Bucket: aws.String("bkt"), Key: aws.String(k)})
		if err != nil {
			t.Fatalf("%.40q: %v", k, err)
		}
		body, _ := io.ReadAll(get.Body)
		get.Body.Close()
		if string(body) != "v:"+k {
			t.Fatalf("%.40q: read %.40q", k, body)
		}
	}
	list, err := f.client.ListObjectsV2(bg, &s3.ListObjectsV2Input{Bucket: aws.String("bkt")})
	if err != nil {
		t.Fatal(err)
	}
	var listed []string
	for _, o := range list.Contents {
		listed = append(listed, aws.ToString(o.Key))
	}
	want := slices.Clone(keys)
	slices.Sort(want)
	if !slices.Equal(listed, want) {
		t.Fatalf("listed %q", listed)
	}
	_, err = f.client.PutObject(bg, &s3.PutObjectInput{Bucket: aws.String("bkt"), Key: aws.String(strings.Repeat("k", 1025)), Body: strings.NewReader("x")})
	if errCode(err) != "KeyTooLongError" {
		t.Fatalf("1,025-byte key: %v", err)
	}
}

// TestFailedUpload: a body that fails its checksum is BadDigest and leaves
// nothing behind: no object (nor a changed one), no blob, whether the object
// would have been inline or not.
func TestFailedUpload(t *testing.T) {
	other := sha256.Sum256([]byte("other"))
	wrongSHA := base64.StdEncoding.EncodeToString(other[:])
	for _, tc := range []struct {
		tls       bool
		inlineMax int
	}{{false, -1}, {true, -1}, {false, 1024}, {true, 1024}} {
		tls := tc.tls
		f := newFixtureInline(t, tls, tc.inlineMax)
		f.bucket(t, "bkt")
		f.put(t, "bkt", "kept", []byte("original"))
		for _, key := range []string{"new", "kept"} {
			_, err := f.client.PutObject(bg, &s3.PutObjectInput{Bucket: aws.String("bkt"), Key: aws.String(key), Body: strings.NewReader("hello"),
				ChecksumSHA256: aws.String(wrongSHA)})
			if errCode(err) != "BadDigest" {
				t.Fatalf("tls=%v %s: want BadDigest, got %v", tls, key, err)
			}
		}
		if _, err := f.client.HeadObject(bg, &s3.HeadObjectInput{Bucket: aws.String("bkt"), Key: aws.String("new")}); httpStatus(err) != 404 {
			t.Fatalf("failed upload stored: %v", err)
		}
		get, err := f.client.GetObject(bg, &s3.GetObjectInput{Bucket: aws.String("bkt"), Key: aws.String("kept")})
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(get.Body)
		get.Body.Close()
		if keys := f.blobKeys(t); string(body) != "original" || len(keys) != 1 {
			t.Fatalf("tls=%v inline up to %d: kept %q, blobs %v", tls, tc.inlineMax, body, keys)
		}
		if e := f.lastEvent(); e.Action != "GetObject" || e.Decision != audit.Allowed {
			t.Fatalf("audit %+v", e)
		}
	}
}

// TestACL: on a BucketOwnerEnforced bucket (the default) x-amz-acl other than
// bucket-owner-full-control is AccessControlListNotSupported; the accepted one
// is authorized as s3:PutObjectAcl with s3:x-amz-acl.
func TestACL(t *testing.T) {
	f := newFixture(t, false)
	f.bucket(t, "bkt")
	_, err := f.client.PutObject(bg, &s3.PutObjectInput{Bucket: aws.String("bkt"), Key: aws.String("k"), Body: strings.NewReader("x"), ACL: types.ObjectCannedACLPublicRead})
	if errCode(err) != "AccessControlListNotSupported" || httpStatus(err) != 400 {
		t.Fatalf("public-read: %v", err)
	}
	f.authCalls()
	_, err = f.client.PutObject(bg, &s3.PutObjectInput{Bucket: aws.String("bkt"), Key: aws.String("k"), Body: strings.NewReader("x"), ACL: types.ObjectCannedACLBucketOwnerFullControl})
	if err != nil {
		t.Fatal(err)
	}
	call, ok := hasCall(f.authCalls(), "s3:PutObjectAcl", "arn:aws:s3:::bkt/k")
	if !ok || call.conds["s3:x-amz-acl"][0] != "bucket-owner-full-control" {
		t.Fatalf("PutObjectAcl authorization: %+v", call)
	}
	// A bucket that allows ACLs takes a canned ACL.
	_, err = f.client.CreateBucket(bg, &s3.CreateBucketInput{Bucket: aws.String("acls"), ObjectOwnership: types.ObjectOwnershipObjectWriter})
	if err != nil {
		t.Fatal(err)
	}
	_, err = f.client.PutObject(bg, &s3.PutObjectInput{Bucket: aws.String("acls"), Key: aws.String("k"), Body: strings.NewReader("x"), ACL: types.ObjectCannedACLPublicRead})
	if err != nil {
		t.Fatal(err)
	}
	_, err = f.client.CreateBucket(bg, &s3.CreateBucketInput{Bucket: aws.String("enforced"), ACL: types.BucketCannedACLPublicRead})
	if errCode(err) != "InvalidBucketAclWithObjectOwnership" {
		t.Fatalf("bucket ACL on enforced: %v", err)
	}
}

// TestAccessDenied: an Authorizer denial is AccessDenied 403 in S3's Error
// document (no namespace; Code, Message, Resource, RequestId), audited as
// Denied with what decided it; HEAD gets the bare 403.
func TestAccessDenied(t *testing.T) {
	f := newFixture(t, false)
	f.bucket(t, "bkt")
	f.put(t, "bkt", "k", []byte("x"))
	f.deny = func(action, resource string) error {
		if action == "s3:GetObject" {
			return &Denial{Message: "User: arn:aws:iam::123456789012:user/alice is not authorized to perform: s3:GetObject", Statement: "deny-all"}
		}
		return nil
	}
	_, err := f.client.GetObject(bg, &s3.GetObjectInput{Bucket: aws.String("bkt"), Key: aws.String("k")})
	if errCode(err) != "AccessDenied" || httpStatus(err) != 403 {
		t.Fatalf("GetObject: %v", err)
	}
	if e := f.lastEvent(); e.Decision != audit.Denied || e.Action != "GetObject" || e.Role != "arn:aws:s3:::bkt/k" || e.Statement != "deny-all" || e.Service != "s3" {
		t.Fatalf("audit %+v", e)
	}
	if _, err := f.client.HeadObject(bg, &s3.HeadObjectInput{Bucket: aws.String("bkt"), Key: aws.String("k")}); httpStatus(err) != 403 {
		t.Fatalf("HeadObject: %v", err)
	}
	// The wire shape, straight from the handler.
	rec := &responseRecorder{header: http.Header{}}
	r, _ := http.NewRequest(http.MethodGet, "/bkt/k", nil)
	f.svc.ServeHTTP(rec, r.WithContext(WithAuth(r.Context(), &awsapi.Auth{PayloadHash: awsapi.UnsignedPayload})))
	body := rec.body.String()
	if rec.status != 403 || !strings.Contains(body, "<Error><Code>AccessDenied</Code><Message>User: arn:aws:iam::123456789012:user/alice is not authorized to perform: s3:GetObject</Message><Resource>/bkt/k</Resource><RequestId>") ||
		strings.Contains(body, "xmlns") || rec.header.Get("x-amz-request-id") == "" {
		t.Fatalf("%d %s %v", rec.status, body, rec.header)
	}
}

type responseRecorder struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (r *responseRecorder) Header() http.Header         { return r.header }
func (r *responseRecorder) WriteHeader(s int)           { r.status = s }
func (r *responseRecorder) Write(b []byte) (int, error) { return r.body.Write(b) }

// TestBuckets: CreateBucket (twice: BucketAlreadyOwnedByYou; a bad name:
// InvalidBucketName; a foreign location constraint: IllegalLocationConstraintException),
// HeadBucket, GetBucketLocation, ListBuckets, DeleteBucket (BucketNotEmpty
// while it holds objects, then 204, then NoSuchBucket).
func TestBuckets(t *testing.T) {
	f := newFixture(t, false)
	f.bucket(t, "alpha")
	f.bucket(t, "beta.example")
	_, err := f.client.CreateBucket(bg, &s3.CreateBucketInput{Bucket: aws.String("alpha")})
	if errCode(err) != "BucketAlreadyOwnedByYou" || httpStatus(err) != 409 {
		t.Fatalf("again: %v", err)
	}
	for _, bad := range []string{"UPPER", "ab", "a..b", "192.168.0.1", "-dash", "xn--punycode"} {
		_, err = f.client.CreateBucket(bg, &s3.CreateBucketInput{Bucket: aws.String(bad)})
		if errCode(err) != "InvalidBucketName" {
			t.Fatalf("%s: %v", bad, err)
		}
	}
	_, err = f.client.CreateBucket(bg, &s3.CreateBucketInput{Bucket: aws.String("gamma"),
		CreateBucketConfiguration: &types.CreateBucketConfiguration{LocationConstraint: types.BucketLocationConstraintEuWest1}})
	if errCode(err) != "IllegalLocationConstraintException" {
		t.Fatalf("eu-west-1 on us-east-1: %v", err)
	}
	if _, err := f.client.HeadBucket(bg, &s3.HeadBucketInput{Bucket: aws.String("alpha")}); err != nil {
		t.Fatal(err)
	}
	loc, err := f.client.GetBucketLocation(bg, &s3.GetBucketLocationInput{Bucket: aws.String("alpha")})
	if err != nil || loc.LocationConstraint != "" {
		t.Fatalf("location: %v %q", err, loc.LocationConstraint)
	}
	list, err := f.client.ListBuckets(bg, &s3.ListBucketsInput{})
	if err != nil || len(list.Buckets) != 2 || aws.ToString(list.Buckets[0].Name) != "alpha" || aws.ToString(list.Owner.ID) != CanonicalUserID(testAccount) {
		t.Fatalf("ListBuckets: %v %+v", err, list)
	}
	f.put(t, "alpha", "k", []byte("x"))
	_, err = f.client.DeleteBucket(bg, &s3.DeleteBucketInput{Bucket: aws.String("alpha")})
	if errCode(err) != "BucketNotEmpty" || httpStatus(err) != 409 {
		t.Fatalf("non-empty: %v", err)
	}
	if _, err := f.client.DeleteObject(bg, &s3.DeleteObjectInput{Bucket: aws.String("alpha"), Key: aws.String("k")}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.client.DeleteBucket(bg, &s3.DeleteBucketInput{Bucket: aws.String("alpha")}); err != nil {
		t.Fatal(err)
	}
	_, err = f.client.DeleteBucket(bg, &s3.DeleteBucketInput{Bucket: aws.String("alpha")})
	if errCode(err) != "NoSuchBucket" {
		t.Fatalf("deleted twice: %v", err)
	}
	if _, err := f.client.HeadBucket(bg, &s3.HeadBucketInput{Bucket: aws.String("alpha")}); httpStatus(err) != 404 {
		t.Fatalf("HeadBucket deleted: %v", err)
	}
	_, err = f.client.PutObject(bg, &s3.PutObjectInput{Bucket: aws.String("alpha"), Key: aws.String("k"), Body: strings.NewReader("x")})
	if errCode(err) != "NoSuchBucket" {
		t.Fatalf("put to deleted bucket: %v", err)
	}
}

// TestClientGoneIsNotAFailure: a request whose client went away is audited
// as RequestCanceled, not as an internal failure of the service.
func TestClientGoneIsNotAFailure(t *testing.T) {
	f := newFixture(t, false)
	f.bucket(t, "gone")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	r := httptest.NewRequest(http.MethodGet, "/gone/key", nil).WithContext(ctx)
	f.svc.Serve(httptest.NewRecorder(), r, nil, "gone", "key")
	if e := f.lastEvent(); e.ErrorCode != "RequestCanceled" {
		t.Errorf("audited %s %q, want RequestCanceled", e.Decision, e.ErrorCode)
	}
}
