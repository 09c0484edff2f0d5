//lint:file-ignore SA1019 the transfer manager (feature/s3/manager) is deprecated for feature/s3/transfermanager, but it drives the same multipart API the SDKs and the CLI use.

package s3

import (
	"bytes"
	"crypto/md5"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"hash/crc32"
	"io"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/s3/manager"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// multipartETag is the ETag S3 gives an object completed from parts.
func multipartETag(parts ...[]byte) string {
	all := md5.New()
	for _, p := range parts {
		sum := md5.Sum(p)
		all.Write(sum[:])
	}
	return fmt.Sprintf(`"%s-%d"`, hex.EncodeToString(all.Sum(nil)), len(parts))
}

// compositeCRC32 is the COMPOSITE CRC32 checksum of an object of parts.
func compositeCRC32(parts ...[]byte) string {
	all := crc32.NewIEEE()
	for _, p := range parts {
		h := crc32.NewIEEE()
		h.Write(p)
		all.Write(h.Sum(nil))
	}
	return base64.StdEncoding.EncodeToString(all.Sum(nil)) + fmt.Sprintf("-%d", len(parts))
}

// split cuts data into parts of size bytes, the last shorter.
func split(data []byte, size int) [][]byte {
	var parts [][]byte
	for len(data) > size {
		parts = append(parts, data[:size])
		data = data[size:]
	}
	return append(parts, data)
}

// TestMultipartTransferManager: over HTTP and HTTPS, the SDK's transfer
// manager uploads a 17 MiB object in 5 MiB parts, 4 at a time, with its
// default CRC32; the object has the multipart ETag ("-4"), the COMPOSITE
// CRC32 of its parts, the upload's metadata, and downloads (ranged, 4 at a
// time) byte-identical. Only the object's blob is left; overwriting it by a
// second upload leaves one blob again.
func TestMultipartTransferManager(t *testing.T) {
	for _, tls := range []bool{false, true} {
		t.Run(fmt.Sprintf("tls=%v", tls), func(t *testing.T) {
			f := newFixture(t, tls)
			f.bucket(t, "site")
			data := testData(17 << 20)
			up := manager.NewUploader(f.client, func(u *manager.Uploader) { u.PartSize = 5 << 20; u.Concurrency = 4 })
			out, err := up.Upload(bg, &s3.PutObjectInput{
				Bucket: aws.String("site"), Key: aws.String("big/file.bin"), Body: bytes.NewReader(data),
				ContentType: aws.String("application/x-test"), Metadata: map[string]string{"origin": "ci"},
			})
			if err != nil {
				t.Fatalf("Upload: %v", err)
			}
			parts := split(data, 5<<20)
			if want := multipartETag(parts...); aws.ToString(out.ETag) != want || !strings.HasSuffix(want, `-4"`) {
				t.Fatalf("ETag %s, want %s", aws.ToString(out.ETag), want)
			}
			if want := compositeCRC32(parts...); aws.ToString(out.ChecksumCRC32) != want {
				t.Fatalf("CRC32 %q, want %q", aws.ToString(out.ChecksumCRC32), want)
			}
			calls := f.authCalls()
			if _, ok := hasCall(calls, "s3:PutObject", "arn:aws:s3:::site/big/file.bin"); !ok {
				t.Fatalf("no s3:PutObject asked: %+v", calls)
			}
			if len(f.blobs.Keys()) != 1 {
				t.Fatalf("blobs after upload: %v", f.blobs.Keys())
			}

			down := manager.NewDownloader(f.client, func(d *manager.Downloader) { d.PartSize = 5 << 20; d.Concurrency = 4 })
			buf := manager.NewWriteAtBuffer(nil)
			n, err := down.Download(bg, buf, &s3.GetObjectInput{Bucket: aws.String("site"), Key: aws.String("big/file.bin")})
			if err != nil || n != int64(len(data)) || !bytes.Equal(buf.Bytes(), data) {
				t.Fatalf("Download: %d bytes, %v; identical %v", n, err, bytes.Equal(buf.Bytes(), data))
			}
			head, err := f.client.HeadObject(bg, &s3.HeadObjectInput{Bucket: aws.String("site"), Key: aws.String("big/file.bin"), ChecksumMode: types.ChecksumModeEnabled})
			if err != nil || aws.ToString(head.ETag) != aws.ToString(out.ETag) || aws.ToString(head.ContentType) != "application/x-test" ||
				head.Metadata["origin"] != "ci" || aws.ToInt64(head.ContentLength) != int64(len(data)) ||
				aws.ToString(head.ChecksumCRC32) != aws.ToString(out.ChecksumCRC32) || head.ChecksumType != types.ChecksumTypeComposite {
				t.Fatalf("HeadObject: %v %+v", err, head)
			}

			// Overwrite: the replaced object's blob goes.
			if _, err := up.Upload(bg, &s3.PutObjectInput{Bucket: aws.String("site"), Key: aws.String("big/file.bin"), Body: bytes.NewReader(data[:11<<20])}); err != nil {
				t.Fatalf("second Upload: %v", err)
			}
			if len(f.blobs.Keys()) != 1 {
				t.Fatalf("blobs after overwrite: %v", f.blobs.Keys())
			}
		})
	}
}

// mpu drives a multipart upload by hand with the s3 client.
type mpu struct {
	t      *testing.T
	f      *fixture
	key    string
	id     string
	alg    types.ChecksumAlgorithm
	etags  map[int32]string
	crc32s map[int32]string
}

func (f *fixture) startUpload(t *testing.T, key string, in *s3.CreateMultipartUploadInput) *mpu {
	t.Helper()
	if in == nil {
		in = &s3.CreateMultipartUploadInput{}
	}
	in.Bucket, in.Key = aws.String("site"), aws.String(key)
	out, err := f.client.CreateMultipartUpload(bg, in)
	if err != nil {
		t.Fatalf("CreateMultipartUpload: %v", err)
	}
	return &mpu{t: t, f: f, key: key, id: aws.ToString(out.UploadId), alg: in.ChecksumAlgorithm, etags: map[int32]string{}, crc32s: map[int32]string{}}
}

func (m *mpu) part(n int32, data []byte) {
	m.t.Helper()
	out, err := m.f.client.UploadPart(bg, &s3.UploadPartInput{
		Bucket: aws.String("site"), Key: aws.String(m.key), UploadId: aws.String(m.id), PartNumber: aws.Int32(n), Body: bytes.NewReader(data),
		ChecksumAlgorithm: m.alg,
	})
	if err != nil {
		m.t.Fatalf("UploadPart %d: %v", n, err)
	}
	sum := md5.Sum(data)
	if aws.ToString(out.ETag) != `"`+hex.EncodeToString(sum[:])+`"` {
		m.t.Fatalf("part %d ETag %s", n, aws.ToString(out.ETag))
	}
	m.etags[n], m.crc32s[n] = aws.ToString(out.ETag), aws.ToString(out.ChecksumCRC32)
}

func (m *mpu) complete(parts ...int32) (*s3.CompleteMultipartUploadOutput, error) {
	var cp []types.CompletedPart
	for _, n := range parts {
		cp = append(cp, types.CompletedPart{PartNumber: aws.Int32(n), ETag: aws.String(m.etags[n])})
	}
	return m.f.client.CompleteMultipartUpload(bg, &s3.CompleteMultipartUploadInput{
		Bucket: aws.String("site"), Key: aws.String(m.key), UploadId: aws.String(m.id),
		MultipartUpload: &types.CompletedMultipartUpload{Parts: cp},
	})
}

// TestMultipartCompleteErrors: CompleteMultipartUpload refuses a wrong part
// ETag and a part never uploaded (InvalidPart), parts out of order
// (InvalidPartOrder), a non-last part under 5 MiB (EntityTooSmall), no parts
// (MalformedXML) and an unknown upload ID (NoSuchUpload); UploadPart refuses
// part number 0 and 10001 (InvalidArgument). After the failures the upload
// is intact and completes, a small last part being allowed.
func TestMultipartCompleteErrors(t *testing.T) {
	f := newFixture(t, false)
	f.bucket(t, "site")
	m := f.startUpload(t, "k", nil)
	big, small := testData(5<<20), []byte("tail")
	m.part(1, big)
	m.part(2, small)
	m.part(3, small)

	bad := func(name, code string, status int, err error) {
		t.Helper()
		if errCode(err) != code || httpStatus(err) != status {
			t.Fatalf("%s: %v (code %q status %d), want %s %d", name, err, errCode(err), httpStatus(err), code, status)
		}
	}
	good := m.etags[1]
	m.etags[1] = `"0123456789abcdef0123456789abcdef"`
	_, err := m.complete(1, 2)
	bad("wrong ETag", "InvalidPart", 400, err)
	m.etags[1] = good
	_, err = m.complete(1, 4)
	bad("missing part", "InvalidPart", 400, err)
	_, err = m.complete(2, 1)
	bad("order", "InvalidPartOrder", 400, err)
	_, err = m.complete(1, 2, 3)
	bad("small part", "EntityTooSmall", 400, err)
	_, err = m.complete()
	bad("no parts", "MalformedXML", 400, err)
	_, err = (&mpu{t: t, f: f, key: "k", id: "nosuchupload", etags: m.etags}).complete(1)
	bad("unknown upload", "NoSuchUpload", 404, err)
	for _, n := range []int32{0, 10001} {
		_, err = f.client.UploadPart(bg, &s3.UploadPartInput{
			Bucket: aws.String("site"), Key: aws.String("k"), UploadId: aws.String(m.id), PartNumber: aws.Int32(n), Body: bytes.NewReader(small),
		})
		bad(fmt.Sprintf("part number %d", n), "InvalidArgument", 400, err)
	}

	out, err := m.complete(1, 3)
	if err != nil || aws.ToString(out.ETag) != multipartETag(big, small) {
		t.Fatalf("complete: %v %+v", err, out)
	}
	get, err := f.client.GetObject(bg, &s3.GetObjectInput{Bucket: aws.String("site"), Key: aws.String("k")})
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(get.Body)
	get.Body.Close()
	if !bytes.Equal(got, append(append([]byte{}, big...), small...)) {
		t.Fatalf("object of %d bytes is not parts 1 and 3", len(got))
	}
	if len(f.blobs.Keys()) != 1 { // part 2, not completed, went with the upload
		t.Fatalf("blobs after complete: %v", f.blobs.Keys())
	}
	_, err = m.complete(1, 3)
	bad("completed upload", "NoSuchUpload", 404, err)
}

// TestMultipartListAndAbort: ListMultipartUploads lists uploads in progress
// by key (with prefix, delimiter and max-uploads paging); ListParts lists
// the parts with size, ETag and checksum (max-parts paging); AbortMultipart
// Upload deletes the part blobs, after which the upload is NoSuchUpload.
// Each call asks its own S3 action.
func TestMultipartListAndAbort(t *testing.T) {
	f := newFixture(t, false)
	f.bucket(t, "site")
	a := f.startUpload(t, "dir/a", &s3.CreateMultipartUploadInput{ChecksumAlgorithm: types.ChecksumAlgorithmSha256})
	b := f.startUpload(t, "dir/b", nil)
	f.startUpload(t, "dir/sub/c", nil)
	f.startUpload(t, "other", nil)
	a.part(1, testData(1000))
	a.part(2, []byte("two"))
	a.part(2, []byte("two, again")) // replaces part 2 and its blob
	b.part(1, []byte("b1"))
	if n := len(f.blobs.Keys()); n != 3 {
		t.Fatalf("blobs: %d, want 3", n)
	}
	f.authCalls()

	ups, err := f.client.ListMultipartUploads(bg, &s3.ListMultipartUploadsInput{Bucket: aws.String("site"), Prefix: aws.String("dir/"), Delimiter: aws.String("/")})
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, u := range ups.Uploads {
		keys = append(keys, aws.ToString(u.Key))
	}
	if fmt.Sprint(keys) != "[dir/a dir/b]" || len(ups.CommonPrefixes) != 1 || aws.ToString(ups.CommonPrefixes[0].Prefix) != "dir/sub/" ||
		aws.ToString(ups.Uploads[0].UploadId) != a.id || ups.Uploads[0].ChecksumAlgorithm != types.ChecksumAlgorithmSha256 {
		t.Fatalf("ListMultipartUploads: %v %+v", keys, ups)
	}
	page, err := f.client.ListMultipartUploads(bg, &s3.ListMultipartUploadsInput{Bucket: aws.String("site"), MaxUploads: aws.Int32(2)})
	if err != nil || len(page.Uploads) != 2 || !aws.ToBool(page.IsTruncated) || aws.ToString(page.NextKeyMarker) != "dir/b" {
		t.Fatalf("page 1: %v %+v", err, page)
	}
	page, err = f.client.ListMultipartUploads(bg, &s3.ListMultipartUploadsInput{Bucket: aws.String("site"), MaxUploads: aws.Int32(2),
		KeyMarker: page.NextKeyMarker, UploadIdMarker: page.NextUploadIdMarker})
	if err != nil || len(page.Uploads) != 2 || aws.ToBool(page.IsTruncated) || aws.ToString(page.Uploads[0].Key) != "dir/sub/c" {
		t.Fatalf("page 2: %v %+v", err, page)
	}
	if _, ok := hasCall(f.authCalls(), "s3:ListBucketMultipartUploads", "arn:aws:s3:::site"); !ok {
		t.Fatal("no s3:ListBucketMultipartUploads asked")
	}

	parts, err := f.client.ListParts(bg, &s3.ListPartsInput{Bucket: aws.String("site"), Key: aws.String("dir/a"), UploadId: aws.String(a.id)})
	if err != nil || len(parts.Parts) != 2 || aws.ToInt64(parts.Parts[1].Size) != int64(len("two, again")) ||
		aws.ToString(parts.Parts[1].ETag) != a.etags[2] || aws.ToString(parts.Parts[0].ChecksumSHA256) == "" ||
		parts.ChecksumAlgorithm != types.ChecksumAlgorithmSha256 {
		t.Fatalf("ListParts: %v %+v", err, parts)
	}
	parts, err = f.client.ListParts(bg, &s3.ListPartsInput{Bucket: aws.String("site"), Key: aws.String("dir/a"), UploadId: aws.String(a.id), MaxParts: aws.Int32(1)})
	if err != nil || len(parts.Parts) != 1 || !aws.ToBool(parts.IsTruncated) || aws.ToString(parts.NextPartNumberMarker) != "1" {
		t.Fatalf("ListParts page: %v %+v", err, parts)
	}
	if _, ok := hasCall(f.authCalls(), "s3:ListMultipartUploadParts", "arn:aws:s3:::site/dir/a"); !ok {
		t.Fatal("no s3:ListMultipartUploadParts asked")
	}

	if _, err := f.client.AbortMultipartUpload(bg, &s3.AbortMultipartUploadInput{Bucket: aws.String("site"), Key: aws.String("dir/a"), UploadId: aws.String(a.id)}); err != nil {
		t.Fatal(err)
	}
	if _, ok := hasCall(f.authCalls(), "s3:AbortMultipartUpload", "arn:aws:s3:::site/dir/a"); !ok {
		t.Fatal("no s3:AbortMultipartUpload asked")
	}
	if n := len(f.blobs.Keys()); n != 1 {
		t.Fatalf("blobs after abort: %d, want 1 (b's part)", n)
	}
	_, err = f.client.ListParts(bg, &s3.ListPartsInput{Bucket: aws.String("site"), Key: aws.String("dir/a"), UploadId: aws.String(a.id)})
	if errCode(err) != "NoSuchUpload" {
		t.Fatalf("ListParts after abort: %v", err)
	}
	_, err = f.client.AbortMultipartUpload(bg, &s3.AbortMultipartUploadInput{Bucket: aws.String("site"), Key: aws.String("dir/a"), UploadId: aws.String(a.id)})
	if errCode(err) != "NoSuchUpload" {
		t.Fatalf("second abort: %v", err)
	}
	// An upload is addressed by its key too.
	_, err = f.client.AbortMultipartUpload(bg, &s3.AbortMultipartUploadInput{Bucket: aws.String("site"), Key: aws.String("dir/a"), UploadId: aws.String(b.id)})
	if errCode(err) != "NoSuchUpload" {
		t.Fatalf("abort under another key: %v", err)
	}
}

// TestUploadPartCopy: a part copied from a range of an existing object
// (x-amz-copy-source-range) and an uploaded part complete into the object
// of those bytes; a range past the source is InvalidArgument.
func TestUploadPartCopy(t *testing.T) {
	f := newFixture(t, false)
	f.bucket(t, "site")
	src := testData(6 << 20)
	f.put(t, "site", "src", src)
	m := f.startUpload(t, "dst", nil)
	cp, err := f.client.UploadPartCopy(bg, &s3.UploadPartCopyInput{
		Bucket: aws.String("site"), Key: aws.String("dst"), UploadId: aws.String(m.id), PartNumber: aws.Int32(1),
		CopySource: aws.String("site/src"), CopySourceRange: aws.String("bytes=1-5242880"),
	})
	if err != nil {
		t.Fatalf("UploadPartCopy: %v", err)
	}
	first := src[1 : 5<<20+1]
	m.etags[1] = aws.ToString(cp.CopyPartResult.ETag)
	if sum := md5.Sum(first); m.etags[1] != `"`+hex.EncodeToString(sum[:])+`"` {
		t.Fatalf("copied part ETag %s", m.etags[1])
	}
	m.part(2, []byte("end"))
	if _, err := m.complete(1, 2); err != nil {
		t.Fatal(err)
	}
	get, err := f.client.GetObject(bg, &s3.GetObjectInput{Bucket: aws.String("site"), Key: aws.String("dst")})
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(get.Body)
	get.Body.Close()
	if !bytes.Equal(got, append(append([]byte{}, first...), "end"...)) || aws.ToString(get.ETag) != multipartETag(first, []byte("end")) {
		t.Fatalf("object: %d bytes, ETag %s", len(got), aws.ToString(get.ETag))
	}
	m2 := f.startUpload(t, "dst2", nil)
	_, err = f.client.UploadPartCopy(bg, &s3.UploadPartCopyInput{
		Bucket: aws.String("site"), Key: aws.String("dst2"), UploadId: aws.String(m2.id), PartNumber: aws.Int32(1),
		CopySource: aws.String("site/src"), CopySourceRange: aws.String(fmt.Sprintf("bytes=0-%d", len(src))),
	})
	if errCode(err) != "InvalidArgument" {
		t.Fatalf("range past the source: %v", err)
	}
}
