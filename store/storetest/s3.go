package storetest

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/keyless-dev/keyless/s3/listing"
	"github.com/keyless-dev/keyless/store"
)

// RunS3 runs the conformance suite of store.S3Store. open must return a new,
// empty store for each call and close it when the test ends. Beyond the
// interface's comments, the suite pins down:
//
//   - Buckets list by name; an empty ObjectOwnership reads back as
//     BucketOwnerEnforced; neither UpdateBucket nor UpdateObject renames.
//   - Object keys order and compare by their UTF-8 bytes (not UTF-16, not a
//     locale's collation): ListObjectsV2 run over ScanObjects with package
//     s3/listing lists exactly as S3 does, page after page.
//   - Conditions run inside the write: of concurrent creates of one key that
//     each require the key to be free, exactly one succeeds.
//   - Parts list by number (numerically); completing or aborting an upload
//     removes it with its parts and returns them; deleting a bucket with
//     objects gives store.ErrNotEmpty, without them removes its uploads.
func RunS3(t *testing.T, open func(t *testing.T) store.S3Store) {
	t.Helper()
	tests := []struct {
		name string
		fn   func(t *testing.T, s store.S3Store)
	}{
		{"Buckets", testBuckets},
		{"DeleteBucket", testDeleteBucket},
		{"Objects", testObjects},
		{"ObjectConditions", testObjectConditions},
		{"ConcurrentConditionalCreates", testConcurrentConditionalCreates},
		{"ScanObjects", testScanObjects},
		{"ListObjectsV2", testListObjectsV2},
		{"ListObjectsPagination", testListObjectsPagination},
		{"MultipartUploads", testMultipartUploads},
		{"CompleteMultipartUpload", testCompleteMultipartUpload},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.fn(t, open(t))
		})
	}
}

// wantS3 returns v as a backend must read it back.
func wantS3[T any](v T) T {
	headers := func(h *store.ObjectHeaders) {
		h.Metadata, h.ACL, h.Tags = nilMap(h.Metadata), nilSlice(h.ACL), nilSlice(h.Tags)
	}
	switch x := any(&v).(type) {
	case *store.Bucket:
		x.CreatedAt = norm(x.CreatedAt)
		x.ACL, x.Tags, x.Configurations = nilSlice(x.ACL), nilSlice(x.Tags), nilMap(x.Configurations)
		if x.ObjectOwnership == "" {
			x.ObjectOwnership = store.ObjectOwnershipBucketOwnerEnforced
		}
	case *store.Object:
		x.LastModified = norm(x.LastModified)
		headers(&x.ObjectHeaders)
		x.Checksums, x.PartSizes = nilMap(x.Checksums), nilSlice(x.PartSizes)
	case *store.MultipartUpload:
		x.Initiated = norm(x.Initiated)
		headers(&x.ObjectHeaders)
	case *store.Part:
		x.LastModified, x.Checksums = norm(x.LastModified), nilMap(x.Checksums)
	default:
		panic(fmt.Sprintf("storetest: wantS3: unexpected type %T", v))
	}
	return v
}

func checkS3[T any](t *testing.T, op string, got T, err error, exp T) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", op, err)
	}
	if w := wantS3(exp); !reflect.DeepEqual(got, w) {
		t.Fatalf("%s:\n got %+v\nwant %+v", op, got, w)
	}
}

func checkS3List[T any](t *testing.T, op string, got []T, err error, exp ...T) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", op, err)
	}
	var w []T
	for _, e := range exp {
		w = append(w, wantS3(e))
	}
	if !reflect.DeepEqual(got, w) {
		t.Fatalf("%s:\n got %+v\nwant %+v", op, got, w)
	}
}

func bucket(name string) store.Bucket {
	return store.Bucket{Name: name, Region: "us-east-1", Owner: "000000000000", CreatedAt: at(0)}
}

func object(bucket, key string) store.Object {
	return store.Object{Bucket: bucket, Key: key, Size: int64(len(key)), ETag: "d41d8cd98f00b204e9800998ecf8427e",
		LastModified: at(1), Owner: "000000000000", BlobID: "blob-" + key}
}

var errPrecondition = errors.New("precondition failed")

// ifNoneMatch is the condition of If-None-Match: *.
func ifNoneMatch(cur *store.Object) error {
	if cur != nil {
		return errPrecondition
	}
	return nil
}

func testBuckets(t *testing.T, s store.S3Store) {
	ctx := t.Context()
	_, err := s.GetBucket(ctx, "missing")
	wantErr(t, "GetBucket missing", err, store.ErrNotFound)
	if v, err := s.ListBuckets(ctx); err != nil || len(v) != 0 {
		t.Fatalf("ListBuckets empty = %+v, %v; want none", v, err)
	}

	full := store.Bucket{
		Name: "site-bucket", Region: "eu-west-1", Owner: "111122223333", CreatedAt: at(3),
		ObjectOwnership: "ObjectWriter",
		Policy:          `{"Version":"2012-10-17","Statement":[]}`,
		ACL: []store.Grant{
			{Grantee: store.Grantee{Type: "CanonicalUser", ID: "abc", DisplayName: "me"}, Permission: "FULL_CONTROL"},
			{Grantee: store.Grantee{Type: "Group", URI: "http://acs.amazonaws.com/groups/global/AllUsers"}, Permission: "READ"},
		},
		Tags:           []store.Tag{{Key: "env", Value: "dev"}},
		Configurations: map[string]string{"website": "<WebsiteConfiguration/>", "cors": "<CORSConfiguration/>"},
	}
	must(t, "CreateBucket", s.CreateBucket(ctx, full))
	b, err := s.GetBucket(ctx, full.Name)
	checkS3(t, "GetBucket", b, err, full)

	plain := bucket("a-bucket")
	plain.ACL, plain.Tags, plain.Configurations = []store.Grant{}, []store.Tag{}, map[string]string{}
	must(t, "CreateBucket plain", s.CreateBucket(ctx, plain))
	b, err = s.GetBucket(ctx, "a-bucket")
	checkS3(t, "GetBucket with defaults", b, err, plain)
	if b.ObjectOwnership != store.ObjectOwnershipBucketOwnerEnforced {
		t.Fatalf("ObjectOwnership = %q, want BucketOwnerEnforced", b.ObjectOwnership)
	}
	dup := bucket("a-bucket")
	dup.Owner = "999999999999" // bucket names are global
	wantErr(t, "CreateBucket duplicate", s.CreateBucket(ctx, dup), store.ErrAlreadyExists)
	must(t, "CreateBucket", s.CreateBucket(ctx, bucket("b.bucket")))
	bs, err := s.ListBuckets(ctx)
	checkS3List(t, "ListBuckets", bs, err, plain, bucket("b.bucket"), full)

	must(t, "UpdateBucket", s.UpdateBucket(ctx, "a-bucket", func(b store.Bucket) (store.Bucket, error) {
		b.Policy = `{"Statement":[]}`
		b.ObjectOwnership = "BucketOwnerPreferred"
		b.ACL = full.ACL
		b.Configurations = map[string]string{"versioning": "<VersioningConfiguration/>"}
		return b, nil
	}))
	b, err = s.GetBucket(ctx, "a-bucket")
	updated := plain
	updated.Policy, updated.ObjectOwnership, updated.ACL = `{"Statement":[]}`, "BucketOwnerPreferred", full.ACL
	updated.Configurations = map[string]string{"versioning": "<VersioningConfiguration/>"}
	checkS3(t, "GetBucket after update", b, err, updated)

	err = s.UpdateBucket(ctx, "a-bucket", func(b store.Bucket) (store.Bucket, error) {
		b.Name = "renamed"
		b.Policy = ""
		return b, nil
	})
	if err == nil {
		t.Fatal("UpdateBucket renaming the bucket succeeded")
	}
	b, err = s.GetBucket(ctx, "a-bucket")
	checkS3(t, "GetBucket after a refused rename", b, err, updated)
	wantErr(t, "UpdateBucket missing", s.UpdateBucket(ctx, "missing", noCall[store.Bucket](t)), store.ErrNotFound)
}

func testDeleteBucket(t *testing.T, s store.S3Store) {
	ctx := t.Context()
	_, err := s.DeleteBucket(ctx, "missing")
	wantErr(t, "DeleteBucket missing", err, store.ErrNotFound)

	must(t, "CreateBucket", s.CreateBucket(ctx, bucket("full")))
	_, err = s.PutObject(ctx, object("full", "k"), nil)
	must(t, "PutObject", err)
	_, err = s.DeleteBucket(ctx, "full")
	wantErr(t, "DeleteBucket with an object", err, store.ErrNotEmpty)
	if _, err := s.GetBucket(ctx, "full"); err != nil {
		t.Fatalf("a refused DeleteBucket removed the bucket: %v", err)
	}
	_, err = s.DeleteObject(ctx, "full", "k", nil)
	must(t, "DeleteObject", err)

	// Uploads in progress do not keep a bucket; their parts are returned.
	must(t, "CreateMultipartUpload", s.CreateMultipartUpload(ctx, upload("full", "big", "U1")))
	must(t, "CreateMultipartUpload", s.CreateMultipartUpload(ctx, upload("full", "other", "U2")))
	p1, p2 := part("U1", 1), part("U2", 1)
	for _, p := range []store.Part{p1, p2} {
		_, err := s.PutPart(ctx, p)
		must(t, "PutPart", err)
	}
	ps, err := s.DeleteBucket(ctx, "full")
	checkS3List(t, "DeleteBucket with uploads", ps, err, p1, p2)
	_, err = s.GetBucket(ctx, "full")
	wantErr(t, "GetBucket after delete", err, store.ErrNotFound)
	_, err = s.GetMultipartUpload(ctx, "full", "big", "U1")
	wantErr(t, "GetMultipartUpload after DeleteBucket", err, store.ErrNotFound)
	if v, err := s.ListParts(ctx, "U1"); err != nil || len(v) != 0 {
		t.Fatalf("ListParts after DeleteBucket = %+v, %v; want none", v, err)
	}
	// The name is free again.
	must(t, "CreateBucket again", s.CreateBucket(ctx, bucket("full")))
	if v, err := s.ListMultipartUploads(ctx, "full", ""); err != nil || len(v) != 0 {
		t.Fatalf("ListMultipartUploads of the new bucket = %+v, %v; want none", v, err)
	}
}

func testObjects(t *testing.T, s store.S3Store) {
	ctx := t.Context()
	_, err := s.PutObject(ctx, object("missing", "k"), nil)
	wantErr(t, "PutObject into a missing bucket", err, store.ErrNotFound)
	must(t, "CreateBucket", s.CreateBucket(ctx, bucket("b1")))
	must(t, "CreateBucket", s.CreateBucket(ctx, bucket("b2")))
	_, err = s.GetObject(ctx, "b1", "k")
	wantErr(t, "GetObject missing", err, store.ErrNotFound)

	full := store.Object{
		Bucket: "b1", Key: "site/日本語/ファイル 😀.html", Size: 1 << 40, ETag: "0123456789abcdef0123456789abcdef-3",
		LastModified: at(2), Owner: "111122223333",
		ObjectHeaders: store.ObjectHeaders{
			ContentType: "text/html; charset=utf-8", CacheControl: "max-age=60", ContentEncoding: "gzip",
			ContentDisposition: `attachment; filename="a.html"`, ContentLanguage: "ja", Expires: "Wed, 21 Oct 2015 07:28:00 GMT",
			StorageClass: "STANDARD_IA",
			Metadata:     map[string]string{"build": "42", "commit-sha": "abc"},
			ACL:          []store.Grant{{Grantee: store.Grantee{Type: "CanonicalUser", ID: "abc"}, Permission: "READ"}},
			Tags:         []store.Tag{{Key: "k", Value: "v"}},
		},
		Checksums:    map[string]string{"CRC32": "AAAAAA==", "SHA256": "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="},
		ChecksumType: "COMPOSITE",
		PartSizes:    []int64{5 << 20, 5 << 20, 1},
		BlobID:       "blob-1",
	}
	old, err := s.PutObject(ctx, full, nil)
	if err != nil || old != nil {
		t.Fatalf("PutObject new = %+v, %v; want nothing replaced", old, err)
	}
	o, err := s.GetObject(ctx, "b1", full.Key)
	checkS3(t, "GetObject", o, err, full)

	// Empty collections read back as nil; keys are exact bytes.
	long := object("b1", strings.Repeat("k", 1024))
	long.Metadata, long.Checksums, long.PartSizes = map[string]string{}, map[string]string{}, []int64{}
	path := object("b1", "../../etc/passwd")
	for _, o := range []store.Object{long, path, object("b2", full.Key)} {
		_, err := s.PutObject(ctx, o, nil)
		must(t, "PutObject", err)
	}
	o, err = s.GetObject(ctx, "b1", long.Key)
	checkS3(t, "GetObject 1,024-byte key", o, err, long)
	o, err = s.GetObject(ctx, "b2", full.Key)
	checkS3(t, "GetObject same key, other bucket", o, err, object("b2", full.Key))
	_, err = s.GetObject(ctx, "b1", strings.ToUpper(path.Key))
	wantErr(t, "GetObject in other letter case", err, store.ErrNotFound)

	// A replacement returns what it replaced.
	next := object("b1", full.Key)
	next.BlobID = "blob-2"
	old, err = s.PutObject(ctx, next, nil)
	if err != nil || old == nil {
		t.Fatalf("PutObject replacing = %v, %v; want the old object", old, err)
	}
	checkS3(t, "PutObject's replaced object", *old, nil, full)
	o, err = s.GetObject(ctx, "b1", full.Key)
	checkS3(t, "GetObject after replace", o, err, next)

	must(t, "UpdateObject", s.UpdateObject(ctx, "b1", full.Key, func(o store.Object) (store.Object, error) {
		o.ACL = full.ACL
		o.Tags = []store.Tag{{Key: "a", Value: "b"}}
		return o, nil
	}))
	next.ACL, next.Tags = full.ACL, []store.Tag{{Key: "a", Value: "b"}}
	o, err = s.GetObject(ctx, "b1", full.Key)
	checkS3(t, "GetObject after UpdateObject", o, err, next)
	if err := s.UpdateObject(ctx, "b1", full.Key, func(o store.Object) (store.Object, error) {
		o.Key = "elsewhere"
		return o, nil
	}); err == nil {
		t.Fatal("UpdateObject moving the object succeeded")
	}
	wantErr(t, "UpdateObject missing", s.UpdateObject(ctx, "b1", "missing", noCall[store.Object](t)), store.ErrNotFound)

	gone, err := s.DeleteObject(ctx, "b1", full.Key, nil)
	checkS3(t, "DeleteObject", gone, err, next)
	_, err = s.GetObject(ctx, "b1", full.Key)
	wantErr(t, "GetObject after delete", err, store.ErrNotFound)
	_, err = s.DeleteObject(ctx, "b1", full.Key, nil)
	wantErr(t, "DeleteObject again", err, store.ErrNotFound)
	if _, err := s.GetObject(ctx, "b2", full.Key); err != nil {
		t.Fatalf("DeleteObject removed the other bucket's object: %v", err)
	}
}

func testObjectConditions(t *testing.T, s store.S3Store) {
	ctx := t.Context()
	must(t, "CreateBucket", s.CreateBucket(ctx, bucket("b")))
	o := object("b", "k")
	var seen []*store.Object
	record := func(cur *store.Object) error {
		seen = append(seen, cur)
		return nil
	}
	_, err := s.PutObject(ctx, o, record)
	must(t, "PutObject with a condition", err)
	if len(seen) != 1 || seen[0] != nil {
		t.Fatalf("the condition of a create saw %+v, want nil", seen)
	}
	_, err = s.PutObject(ctx, object("b", "k"), ifNoneMatch)
	wantErr(t, "PutObject If-None-Match over an object", err, errPrecondition)

	changed := object("b", "k")
	changed.ETag, changed.BlobID = "ffff", "blob-new"
	ifMatch := func(etag string) func(*store.Object) error {
		return func(cur *store.Object) error {
			if cur == nil || cur.ETag != etag {
				return errPrecondition
			}
			return nil
		}
	}
	_, err = s.PutObject(ctx, changed, ifMatch("wrong"))
	wantErr(t, "PutObject If-Match wrong ETag", err, errPrecondition)
	got, err := s.GetObject(ctx, "b", "k")
	checkS3(t, "GetObject after refused puts", got, err, o)
	_, err = s.PutObject(ctx, changed, ifMatch(o.ETag))
	must(t, "PutObject If-Match", err)

	_, err = s.DeleteObject(ctx, "b", "k", func(cur store.Object) error {
		if cur.ETag != "other" {
			return errPrecondition
		}
		return nil
	})
	wantErr(t, "DeleteObject with a failing condition", err, errPrecondition)
	got, err = s.GetObject(ctx, "b", "k")
	checkS3(t, "GetObject after a refused delete", got, err, changed)
	_, err = s.DeleteObject(ctx, "b", "k", func(cur store.Object) error {
		if cur.ETag != "ffff" {
			return errPrecondition
		}
		return nil
	})
	must(t, "DeleteObject with a condition", err)
	_, err = s.PutObject(ctx, o, ifNoneMatch)
	must(t, "PutObject If-None-Match after delete", err)
}

// testConcurrentConditionalCreates: of writers racing to create one key, each
// requiring it to be free, exactly one wins and the others see the winner.
func testConcurrentConditionalCreates(t *testing.T, s store.S3Store) {
	ctx := t.Context()
	must(t, "CreateBucket", s.CreateBucket(ctx, bucket("b")))
	const n = 12
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			o := object("b", "race")
			o.BlobID = fmt.Sprintf("blob-%d", i)
			_, errs[i] = s.PutObject(ctx, o, ifNoneMatch)
		}()
	}
	wg.Wait()
	won := 0
	for _, err := range errs {
		switch {
		case err == nil:
			won++
		case !errors.Is(err, errPrecondition):
			t.Errorf("a racing PutObject failed otherwise: %v", err)
		}
	}
	if won != 1 {
		t.Fatalf("%d conditional creates succeeded, want exactly 1", won)
	}
}

func testScanObjects(t *testing.T, s store.S3Store) {
	ctx := t.Context()
	must(t, "CreateBucket", s.CreateBucket(ctx, bucket("b")))
	must(t, "CreateBucket", s.CreateBucket(ctx, bucket("c")))
	keys := []string{"a", "a/1", "a/2", "b", "c"}
	for _, k := range keys {
		_, err := s.PutObject(ctx, object("b", k), nil)
		must(t, "PutObject", err)
	}
	_, err := s.PutObject(ctx, object("c", "a/0"), nil)
	must(t, "PutObject", err)
	tests := []struct {
		r     store.KeyRange
		limit int
		want  []string
	}{
		{store.KeyRange{}, 10, keys},
		{store.KeyRange{From: "a/1", Inclusive: true}, 10, []string{"a/1", "a/2", "b", "c"}},
		{store.KeyRange{From: "a/1"}, 10, []string{"a/2", "b", "c"}},
		{store.KeyRange{From: "a/", Inclusive: true, To: "a0"}, 10, []string{"a/1", "a/2"}},
		{store.KeyRange{From: "a", To: "b"}, 1, []string{"a/1"}},
		{store.KeyRange{From: "c"}, 10, nil},
		{store.KeyRange{From: "d", Inclusive: true, To: "a"}, 10, nil},
	}
	for _, tc := range tests {
		os, err := s.ScanObjects(ctx, "b", tc.r, tc.limit)
		if err != nil {
			t.Fatalf("ScanObjects(%+v, %d): %v", tc.r, tc.limit, err)
		}
		if got := objectKeys(os); !slices.Equal(got, tc.want) {
			t.Errorf("ScanObjects(%+v, %d) = %q, want %q", tc.r, tc.limit, got, tc.want)
		}
	}
	os, err := s.ScanObjects(ctx, "b", store.KeyRange{From: "b", Inclusive: true}, 1)
	checkS3List(t, "ScanObjects returns whole records", os, err, object("b", "b"))
	if os, err := s.ScanObjects(ctx, "unknown", store.KeyRange{}, 10); err != nil || len(os) != 0 {
		t.Errorf("ScanObjects of an unknown bucket = %d objects, %v", len(os), err)
	}
	if _, err := s.ScanObjects(ctx, "b", store.KeyRange{}, 0); err == nil {
		t.Error("ScanObjects with limit 0 succeeded")
	}
}

func objectKeys(os []store.Object) []string {
	var keys []string
	for _, o := range os {
		keys = append(keys, o.Key)
	}
	return keys
}

// list runs package listing over the store, as the S3 service does.
func list(t *testing.T, s store.S3Store, bucket string, p listing.Params) listing.Page[store.Object] {
	t.Helper()
	page, err := listing.List(t.Context(), p, func(o store.Object) string { return o.Key },
		func(ctx context.Context, r listing.Range, limit int) ([]store.Object, error) {
			return s.ScanObjects(ctx, bucket, store.KeyRange(r), limit)
		})
	if err != nil {
		t.Fatalf("List(%+v): %v", p, err)
	}
	return page
}

// s3Keys are keys whose order and roll-up trip stores: bytes above 0x7F
// (whose UTF-16 order differs), keys equal to a prefix, delimiters at the
// end, groups on both sides of page boundaries.
var s3Keys = []string{
	"A", "Z", "a", "z", "~",
	"\u00e9",     // C3 A9
	"\uff61",     // EF BD A1: after U+1F600 in UTF-16 order, before it in UTF-8
	"\U0001F600", // F0 9F 98 80
	"photos/", "photos/2024/a.jpg", "photos/2024/b.jpg", "photos/2025/c.jpg", "photos/d.jpg", "photos/e/",
	"photos0", "photosX",
	"logs/", "logs/x", "logs/y", "m/1", "n/1", "o/1",
}

func testListObjectsV2(t *testing.T, s store.S3Store) {
	ctx := t.Context()
	must(t, "CreateBucket", s.CreateBucket(ctx, bucket("b")))
	must(t, "CreateBucket", s.CreateBucket(ctx, bucket("neighbour")))
	for _, k := range s3Keys {
		_, err := s.PutObject(ctx, object("b", k), nil)
		must(t, "PutObject", err)
	}
	_, err := s.PutObject(ctx, object("neighbour", "photos/x"), nil)
	must(t, "PutObject", err)
	tests := []struct {
		name               string
		p                  listing.Params
		contents, prefixes []string
		truncated          bool
	}{
		{"byte order", listing.Params{MaxKeys: 8}, []string{"A", "Z", "a", "logs/", "logs/x", "logs/y", "m/1", "n/1"}, nil, true},
		{"above 0x7F", listing.Params{After: "z", MaxKeys: 1000}, []string{"~", "\u00e9", "\uff61", "\U0001F600"}, nil, false},
		{"prefix", listing.Params{Prefix: "photos/2024/", MaxKeys: 1000}, []string{"photos/2024/a.jpg", "photos/2024/b.jpg"}, nil, false},
		{"key equal to the prefix", listing.Params{Prefix: "photos/", Delimiter: "/", MaxKeys: 1000},
			[]string{"photos/", "photos/d.jpg"}, []string{"photos/2024/", "photos/2025/", "photos/e/"}, false},
		{"delimiter at the end", listing.Params{Prefix: "photos", Delimiter: "/", MaxKeys: 1000},
			[]string{"photos0", "photosX"}, []string{"photos/"}, false},
		{"root", listing.Params{Delimiter: "/", MaxKeys: 1000},
			[]string{"A", "Z", "a", "photos0", "photosX", "z", "~", "\u00e9", "\uff61", "\U0001F600"},
			[]string{"logs/", "m/", "n/", "o/", "photos/"}, false},
		{"common prefixes count", listing.Params{Delimiter: "/", After: "a", MaxKeys: 3}, nil, []string{"logs/", "m/", "n/"}, true},
		{"after a common prefix", listing.Params{Delimiter: "/", After: "n/", MaxKeys: 2}, nil, []string{"o/", "photos/"}, true},
		{"start after inside a group", listing.Params{Delimiter: "/", After: "logs/x", MaxKeys: 2}, nil, []string{"m/", "n/"}, true},
		{"max-keys 1", listing.Params{Prefix: "photos/", Delimiter: "/", MaxKeys: 1}, []string{"photos/"}, nil, true},
	}
	for _, tc := range tests {
		page := list(t, s, "b", tc.p)
		if got := objectKeys(page.Contents); !slices.Equal(got, tc.contents) || !slices.Equal(page.CommonPrefixes, tc.prefixes) || page.IsTruncated != tc.truncated {
			t.Errorf("%s: List(%+v) = %q %q truncated %v; want %q %q truncated %v", tc.name, tc.p,
				got, page.CommonPrefixes, page.IsTruncated, tc.contents, tc.prefixes, tc.truncated)
		}
	}
}

// testListObjectsPagination: paging with every max-keys from 1 up, by Next
// (the continuation token's key, the marker), lists every key and common
// prefix once, in order.
func testListObjectsPagination(t *testing.T, s store.S3Store) {
	ctx := t.Context()
	must(t, "CreateBucket", s.CreateBucket(ctx, bucket("b")))
	for _, k := range s3Keys {
		_, err := s.PutObject(ctx, object("b", k), nil)
		must(t, "PutObject", err)
	}
	for _, delim := range []string{"", "/"} {
		full := list(t, s, "b", listing.Params{Delimiter: delim, MaxKeys: 1000})
		if full.IsTruncated || full.KeyCount() == 0 {
			t.Fatalf("full listing: %+v", full)
		}
		for maxKeys := 1; maxKeys <= 4; maxKeys++ {
			p := listing.Params{Delimiter: delim, MaxKeys: maxKeys}
			var contents, prefixes []string
			for pages := 0; ; pages++ {
				if pages > len(s3Keys) {
					t.Fatalf("%+v: no end", p)
				}
				page := list(t, s, "b", p)
				contents = append(contents, objectKeys(page.Contents)...)
				prefixes = append(prefixes, page.CommonPrefixes...)
				if !page.IsTruncated {
					break
				}
				if page.KeyCount() != maxKeys {
					t.Fatalf("%+v: truncated page of %d", p, page.KeyCount())
				}
				p.After = page.Next
			}
			if !slices.Equal(contents, objectKeys(full.Contents)) || !slices.Equal(prefixes, full.CommonPrefixes) {
				t.Fatalf("delimiter %q, max-keys %d: pages listed %q %q, want %q %q", delim, maxKeys,
					contents, prefixes, objectKeys(full.Contents), full.CommonPrefixes)
			}
		}
	}
}

func upload(bucket, key, id string) store.MultipartUpload {
	return store.MultipartUpload{UploadID: id, Bucket: bucket, Key: key, Initiated: at(5), Initiator: "arn:aws:iam::000000000000:user/u",
		Owner: "000000000000", ObjectHeaders: store.ObjectHeaders{ContentType: "application/zip", Metadata: map[string]string{"a": "b"}},
		ChecksumAlgorithm: "CRC32", ChecksumType: "COMPOSITE"}
}

func part(uploadID string, n int) store.Part {
	return store.Part{UploadID: uploadID, Number: n, Size: 5 << 20, ETag: fmt.Sprintf("etag-%d", n), LastModified: at(6),
		Checksums: map[string]string{"CRC32": "AAAAAA=="}, BlobID: fmt.Sprintf("%s-part-%d", uploadID, n)}
}

func testMultipartUploads(t *testing.T, s store.S3Store) {
	ctx := t.Context()
	wantErr(t, "CreateMultipartUpload in a missing bucket", s.CreateMultipartUpload(ctx, upload("missing", "k", "U0")), store.ErrNotFound)
	must(t, "CreateBucket", s.CreateBucket(ctx, bucket("b")))
	u1 := upload("b", "dir/big.zip", "U1")
	u2 := upload("b", "dir/big.zip", "U2")
	u2.Initiated = at(-time.Hour) // earlier than U1
	u3 := upload("b", "other", "U3")
	u3.Metadata, u3.ACL, u3.Tags = nil, []store.Grant{}, []store.Tag{{Key: "t", Value: "v"}}
	for _, u := range []store.MultipartUpload{u1, u2, u3} {
		must(t, "CreateMultipartUpload", s.CreateMultipartUpload(ctx, u))
	}
	wantErr(t, "CreateMultipartUpload duplicate ID", s.CreateMultipartUpload(ctx, upload("b", "x", "U1")), store.ErrAlreadyExists)
	u, err := s.GetMultipartUpload(ctx, "b", "dir/big.zip", "U1")
	checkS3(t, "GetMultipartUpload", u, err, u1)
	_, err = s.GetMultipartUpload(ctx, "b", "other", "U1")
	wantErr(t, "GetMultipartUpload under another key", err, store.ErrNotFound)
	_, err = s.GetMultipartUpload(ctx, "c", "dir/big.zip", "U1")
	wantErr(t, "GetMultipartUpload in another bucket", err, store.ErrNotFound)

	us, err := s.ListMultipartUploads(ctx, "b", "")
	checkS3List(t, "ListMultipartUploads", us, err, u2, u1, u3)
	us, err = s.ListMultipartUploads(ctx, "b", "dir/")
	checkS3List(t, "ListMultipartUploads with a prefix", us, err, u2, u1)
	if v, err := s.ListMultipartUploads(ctx, "b", "zzz"); err != nil || len(v) != 0 {
		t.Fatalf("ListMultipartUploads matching nothing = %+v, %v; want none", v, err)
	}

	_, err = s.PutPart(ctx, part("missing", 1))
	wantErr(t, "PutPart of a missing upload", err, store.ErrNotFound)
	for _, n := range []int{10, 2, 1} {
		old, err := s.PutPart(ctx, part("U1", n))
		if err != nil || old != nil {
			t.Fatalf("PutPart %d = %+v, %v; want nothing replaced", n, old, err)
		}
	}
	again := part("U1", 2)
	again.ETag, again.BlobID, again.Checksums = "etag-2b", "U1-part-2b", nil
	old, err := s.PutPart(ctx, again)
	if err != nil || old == nil {
		t.Fatalf("PutPart replacing = %v, %v; want the old part", old, err)
	}
	checkS3(t, "PutPart's replaced part", *old, nil, part("U1", 2))
	ps, err := s.ListParts(ctx, "U1")
	checkS3List(t, "ListParts (numeric order)", ps, err, part("U1", 1), again, part("U1", 10))
	if v, err := s.ListParts(ctx, "U2"); err != nil || len(v) != 0 {
		t.Fatalf("ListParts of another upload = %+v, %v; want none", v, err)
	}

	_, err = s.AbortMultipartUpload(ctx, "b", "other", "U1")
	wantErr(t, "AbortMultipartUpload under another key", err, store.ErrNotFound)
	ps, err = s.AbortMultipartUpload(ctx, "b", "dir/big.zip", "U1")
	checkS3List(t, "AbortMultipartUpload", ps, err, part("U1", 1), again, part("U1", 10))
	_, err = s.GetMultipartUpload(ctx, "b", "dir/big.zip", "U1")
	wantErr(t, "GetMultipartUpload after abort", err, store.ErrNotFound)
	if v, err := s.ListParts(ctx, "U1"); err != nil || len(v) != 0 {
		t.Fatalf("ListParts after abort = %+v, %v; want none", v, err)
	}
	_, err = s.AbortMultipartUpload(ctx, "b", "dir/big.zip", "U1")
	wantErr(t, "AbortMultipartUpload again", err, store.ErrNotFound)
	_, err = s.PutPart(ctx, part("U1", 3))
	wantErr(t, "PutPart after abort", err, store.ErrNotFound)
	ps, err = s.AbortMultipartUpload(ctx, "b", "dir/big.zip", "U2")
	checkS3List(t, "AbortMultipartUpload without parts", ps, err)
}

func testCompleteMultipartUpload(t *testing.T, s store.S3Store) {
	ctx := t.Context()
	must(t, "CreateBucket", s.CreateBucket(ctx, bucket("b")))
	must(t, "CreateMultipartUpload", s.CreateMultipartUpload(ctx, upload("b", "big", "U1")))
	for _, n := range []int{1, 2, 3} {
		_, err := s.PutPart(ctx, part("U1", n))
		must(t, "PutPart", err)
	}
	existing := object("b", "big")
	_, err := s.PutObject(ctx, existing, nil)
	must(t, "PutObject", err)

	done := object("b", "big")
	done.ETag, done.BlobID, done.PartSizes, done.Size = "abc-3", "assembled", []int64{5 << 20, 5 << 20, 5 << 20}, 15<<20

	// A wrong key, or a failing condition, changes nothing.
	wrong := done
	wrong.Key = "small"
	_, _, err = s.CompleteMultipartUpload(ctx, "U1", wrong, nil)
	wantErr(t, "CompleteMultipartUpload under another key", err, store.ErrNotFound)
	_, _, err = s.CompleteMultipartUpload(ctx, "U1", done, ifNoneMatch)
	wantErr(t, "CompleteMultipartUpload If-None-Match over an object", err, errPrecondition)
	got, err := s.GetObject(ctx, "b", "big")
	checkS3(t, "GetObject after refused completions", got, err, existing)
	if _, err := s.GetMultipartUpload(ctx, "b", "big", "U1"); err != nil {
		t.Fatalf("a refused completion removed the upload: %v", err)
	}

	old, ps, err := s.CompleteMultipartUpload(ctx, "U1", done, nil)
	if err != nil || old == nil {
		t.Fatalf("CompleteMultipartUpload = %v, %v; want the replaced object", old, err)
	}
	checkS3(t, "CompleteMultipartUpload's replaced object", *old, nil, existing)
	checkS3List(t, "CompleteMultipartUpload's parts", ps, nil, part("U1", 1), part("U1", 2), part("U1", 3))
	got, err = s.GetObject(ctx, "b", "big")
	checkS3(t, "GetObject after completion", got, err, done)
	_, err = s.GetMultipartUpload(ctx, "b", "big", "U1")
	wantErr(t, "GetMultipartUpload after completion", err, store.ErrNotFound)
	if v, err := s.ListParts(ctx, "U1"); err != nil || len(v) != 0 {
		t.Fatalf("ListParts after completion = %+v, %v; want none", v, err)
	}
	_, _, err = s.CompleteMultipartUpload(ctx, "U1", done, nil)
	wantErr(t, "CompleteMultipartUpload again", err, store.ErrNotFound)

	// Completing onto a free key replaces nothing.
	must(t, "CreateMultipartUpload", s.CreateMultipartUpload(ctx, upload("b", "fresh", "U2")))
	fresh := object("b", "fresh")
	old, ps, err = s.CompleteMultipartUpload(ctx, "U2", fresh, ifNoneMatch)
	if err != nil || old != nil || ps != nil {
		t.Fatalf("CompleteMultipartUpload onto a free key = %v, %v, %v", old, ps, err)
	}
}
