package s3sync

import (
	"bytes"
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// splitETag computes a multipart ETag the plain way: MD5 of the parts'
// MD5s.
func splitETag(data []byte, ps int) string {
	var sums []byte
	n := 0
	for len(data) > 0 || n == 0 {
		k := min(ps, len(data))
		s := md5.Sum(data[:k])
		sums = append(sums, s[:]...)
		data = data[k:]
		n++
	}
	all := md5.Sum(sums)
	return fmt.Sprintf("%s-%d", hex.EncodeToString(all[:]), n)
}

func TestMultipartCount(t *testing.T) {
	md := strings.Repeat("a1", 16)
	for _, tc := range []struct {
		etag string
		want int
	}{
		{md, 0}, {md + "-1", 1}, {md + "-4", 4}, {md + "-10000", 10000}, {md + "-10001", 0},
		{md + "-0", 0}, {md + "-04", 0}, {md + "-x", 0}, {md + "-", 0}, {"zz" + md[2:] + "-2", 0}, {md[1:] + "-2", 0}, {"", 0},
	} {
		if got := multipartCount(tc.etag); got != tc.want {
			t.Errorf("multipartCount(%q) = %d, want %d", tc.etag, got, tc.want)
		}
	}
}

func TestCandidatePartSizes(t *testing.T) {
	const MiB = 1 << 20
	for _, tc := range []struct {
		size int64
		n    int
		ps   int64
		want []int64
	}{
		{20 * MiB, 4, 8 * MiB, []int64{5 * MiB}},             // the SDK's 5 MiB, recognised at 8 MiB
		{20 * MiB, 3, 8 * MiB, []int64{8 * MiB}},             // keyless's (and the aws CLI's) own
		{50 * MiB, 7, 8 * MiB, []int64{8 * MiB}},             //
		{100 * MiB, 2, 8 * MiB, []int64{50 * MiB, 64 * MiB}}, // several sizes give 2 parts: s5cmd's 50 MiB, 64 MiB
		{150 * MiB, 3, 8 * MiB, []int64{50 * MiB, 64 * MiB}}, //
		{40 * MiB, 3, 15 * MiB, []int64{15 * MiB, 16 * MiB}}, // s3cmd's 15 MiB
		{10 * MiB, 2, 5 * MiB, []int64{5 * MiB, 8 * MiB}},    // 5+5, or 8+2
		{21 * MiB, 3, 7 * MiB, []int64{7 * MiB, 8 * MiB}},    // the sync's own part size, even if uncommon
		{1 << 30, 128, 8 * MiB, []int64{8 * MiB}},            //
		{1 << 30, 205, 8 * MiB, []int64{5 * MiB}},            //
		{20 * MiB, 9, 8 * MiB, nil},                          // no size gives 9 parts
		{7 * MiB, 1, 8 * MiB, []int64{7 * MiB}},              // one part: any size gives the same ETag
		{0, 1, 8 * MiB, []int64{1}},                          //
		{100_000 * MiB, 10000, 8 * MiB, []int64{10*MiB + 1}}, // the transfer manager grows parts past 10,000
	} {
		got := candidatePartSizes(tc.size, tc.n, tc.ps)
		slices.Sort(got)
		want := slices.Clone(tc.want)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Errorf("candidatePartSizes(%d, %d, %d) = %v, want %v", tc.size, tc.n, tc.ps, got, want)
		}
	}
}

// TestPartHasher: the streaming multipart ETag equals the plain
// computation, however the bytes are cut into writes.
func TestPartHasher(t *testing.T) {
	data := testData(1000)
	for _, ps := range []int{1, 7, 100, 333, 500, 999, 1000, 1001} {
		for _, size := range []int{0, 1, 99, 100, 101, 500, 1000} {
			for _, chunk := range []int{1, 13, 1000} {
				ph := newPartHasher(int64(ps))
				for b := data[:size]; len(b) > 0; {
					k := min(chunk, len(b))
					ph.Write(b[:k])
					b = b[k:]
				}
				if got, want := ph.ETag(), splitETag(data[:size], ps); got != want {
					t.Fatalf("part size %d, %d bytes in writes of %d: %s, want %s", ps, size, chunk, got, want)
				}
			}
		}
	}
}

// TestHasher: hash reads a file once for all the digests asked, of the
// file or of its gzip compression.
func TestHasher(t *testing.T) {
	data := testData(300_000)
	p := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	h := newHasher()
	d, err := h.hash(p, false, hashRequest{whole: true, partSizes: []int64{100_000, 65_536}})
	if err != nil {
		t.Fatal(err)
	}
	if d.size != int64(len(data)) || d.md5 != md5hex(data) || d.parts[100_000] != splitETag(data, 100_000) || d.parts[65_536] != splitETag(data, 65_536) {
		t.Fatalf("digest %+v", d)
	}
	gz := gzipOf(t, data)
	for range 2 { // the gzip writer is reused
		d, err = h.hash(p, true, hashRequest{whole: true})
		if err != nil || d.size != int64(len(gz)) || d.md5 != md5hex(gz) || d.parts != nil {
			t.Fatalf("gzip digest %+v %v, want size %d md5 %s", d, err, len(gz), md5hex(gz))
		}
	}
	if d, err = h.hash(p, false, hashRequest{}); err != nil || d.size != int64(len(data)) || d.md5 != "" {
		t.Fatalf("size only: %+v %v", d, err)
	}
	if _, err := h.hash(p+"-missing", false, hashRequest{}); err == nil || !strings.Contains(err.Error(), p+"-missing") {
		t.Fatalf("missing file: %v", err)
	}
}

// TestGzipDeterministic: --gzip's output has no name or modification time
// in its header and is the same bytes on every run.
func TestGzipDeterministic(t *testing.T) {
	data := []byte(strings.Repeat("function f(){return 42}\n", 1000))
	var a, b bytes.Buffer
	if err := newHasher().copy(&a, bytes.NewReader(data), true); err != nil {
		t.Fatal(err)
	}
	h := newHasher()
	h.copy(&bytes.Buffer{}, bytes.NewReader([]byte("something else first")), true)
	if err := h.copy(&b, bytes.NewReader(data), true); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a.Bytes(), b.Bytes()) {
		t.Fatal("two compressions differ")
	}
	hdr := a.Bytes()[:10]
	if hdr[0] != 0x1f || hdr[1] != 0x8b || hdr[3] != 0 || !bytes.Equal(hdr[4:8], []byte{0, 0, 0, 0}) {
		t.Fatalf("gzip header % x: want no flags (no name) and a zero MTIME", hdr)
	}
}

// TestBody: an upload body counts each byte once however the SDK re-reads
// parts (a checksum pass, a retry).
func TestBody(t *testing.T) {
	data := testData(1000)
	read := func(b *body, off, n int64) {
		buf := make([]byte, n)
		if _, err := b.ReadAt(buf, off); err != nil && off+n <= b.size {
			t.Fatalf("ReadAt(%d, %d): %v", off, n, err)
		}
	}
	t.Run("single part read twice", func(t *testing.T) {
		var total int64
		b := newBody(bytes.NewReader(data), 1000, 4096, func(n int64) { total += n })
		for range 2 {
			for off := int64(0); off < 1000; off += 300 {
				read(b, off, 300)
			}
		}
		if total != 1000 {
			t.Fatalf("counted %d bytes, want 1000", total)
		}
	})
	t.Run("parts in parallel, a part retried halfway", func(t *testing.T) {
		var mu sync.Mutex
		var total int64
		b := newBody(bytes.NewReader(data), 1000, 300, func(n int64) { mu.Lock(); total += n; mu.Unlock() })
		var wg sync.WaitGroup
		for part := int64(3); part >= 0; part-- {
			wg.Go(func() {
				start, end := part*300, min(part*300+300, 1000)
				read(b, start, (end-start)/2)
				read(b, start, end-start)
				read(b, start, end-start)
			})
		}
		wg.Wait()
		if total != 1000 {
			t.Fatalf("counted %d bytes, want 1000", total)
		}
	})
	t.Run("read and seek", func(t *testing.T) {
		b := newBody(bytes.NewReader(data), 1000, 4096, nil)
		if n, _ := b.Seek(0, 2); n != 1000 {
			t.Fatalf("Seek end = %d", n)
		}
		b.Seek(0, 0)
		var out bytes.Buffer
		if _, err := out.ReadFrom(b); err != nil || !bytes.Equal(out.Bytes(), data) {
			t.Fatalf("Read: %v", err)
		}
	})
}

// TestSpill: small writes stay in memory, large ones go to a temporary
// file that close removes.
func TestSpill(t *testing.T) {
	data := testData(5000)
	for _, limit := range []int{10_000, 1000} {
		s := &spill{limit: limit}
		s.Write(data[:700])
		s.Write(data[700:])
		got := make([]byte, 5000)
		if _, err := s.readerAt().ReadAt(got, 0); err != nil || !bytes.Equal(got, data) || s.size != 5000 {
			t.Fatalf("limit %d: read back %v", limit, err)
		}
		inFile := s.file != nil
		if inFile != (limit < 5000) {
			t.Fatalf("limit %d: in a file %v", limit, inFile)
		}
		s.close()
		if inFile {
			if _, err := os.Stat(s.file.Name()); !os.IsNotExist(err) {
				t.Fatalf("temporary file left: %v", err)
			}
		}
	}
}

func TestCompareSet(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Compare
		err  bool
	}{
		{"hash", CompareHash, false}, {"size", CompareSize, false}, {"size-mtime", CompareSizeMTime, false},
		{"", "", true}, {"HASH", "", true}, {"mtime", "", true}, {"size-mtime ", "", true},
	} {
		var c Compare
		err := c.Set(tc.in)
		if (err != nil) != tc.err || c != tc.want {
			t.Errorf("Set(%q) = %q, %v", tc.in, c, err)
		}
		if err != nil && !strings.Contains(err.Error(), "hash, size or size-mtime") {
			t.Errorf("error %q does not say what to use", err)
		}
	}
	if Compare("").String() != "hash" {
		t.Error("the zero Compare is not hash")
	}
}

func FuzzCompareSet(f *testing.F) {
	for _, s := range []string{"hash", "size", "size-mtime", "x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var c Compare
		if err := c.Set(s); err == nil && c.String() != s {
			t.Fatalf("Set(%q) then String() = %q", s, c.String())
		}
	})
}

// TestManifest: a manifest survives encoding, encodes deterministically,
// and a document of another format or a broken one is refused.
func TestManifest(t *testing.T) {
	m := manifest{Objects: map[string]entry{
		"b.html":    {ETag: md5hex([]byte("b")), Headers: "0123456789abcdef01234567"},
		"a/ü é.css": {ETag: "0123456789abcdef0123456789abcdef", Headers: "x", Content: md5hex([]byte("a"))},
	}}
	b := m.encode()
	want := `{"format":"keyless-deploy/1","objects":{"a/ü é.css":{"etag":"0123456789abcdef0123456789abcdef","headers":"x","content":"0cc175b9c0f1b6a831c399e269772661"},"b.html":{"etag":"92eb5ffee6ae2fec3ad71c777531578f","headers":"0123456789abcdef01234567"}}}` + "\n"
	if string(b) != want {
		t.Fatalf("encoded\n%s\nwant\n%s", b, want)
	}
	back, err := parseManifest(b)
	if err != nil || len(back.Objects) != 2 || back.Objects["a/ü é.css"] != m.Objects["a/ü é.css"] {
		t.Fatalf("parsed back %+v, %v", back, err)
	}
	for _, tc := range []struct{ doc, want string }{
		{`{"format":"keyless-deploy/2","objects":{}}`, `format "keyless-deploy/2"`},
		{`{"objects":{}}`, `format ""`},
		{`{"format":"keyless-deploy/1","objects":{}} {}`, "after the document"},
		{`{"format":"keyless-deploy/1","objects":[]}`, "parse"},
		{``, "parse"},
	} {
		if _, err := parseManifest([]byte(tc.doc)); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("parseManifest(%s): %v, want %q", tc.doc, err, tc.want)
		}
	}
	// Entries without an ETag say nothing, and are dropped.
	m, err = parseManifest([]byte(`{"format":"keyless-deploy/1","objects":{"a":{"headers":"h"},"b":{"etag":"e","headers":"h"}}}`))
	if err != nil || len(m.Objects) != 1 || m.Objects["b"].ETag != "e" {
		t.Fatalf("%+v %v", m, err)
	}
}

func FuzzParseManifest(f *testing.F) {
	f.Add([]byte(`{"format":"keyless-deploy/1","objects":{"a":{"etag":"e","headers":"h","content":"c"}}}`))
	f.Add([]byte(`{"format":"keyless-deploy/1","objects":null}`))
	f.Add([]byte(`{}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := parseManifest(b)
		if err != nil {
			return
		}
		again, err := parseManifest(m.encode())
		if err != nil || len(again.Objects) != len(m.Objects) {
			t.Fatalf("re-encoded manifest: %v, %d entries, want %d", err, len(again.Objects), len(m.Objects))
		}
		for k, e := range m.Objects {
			if again.Objects[k] != e {
				t.Fatalf("entry %q: %+v, want %+v", k, again.Objects[k], e)
			}
		}
	})
}

func TestCopySource(t *testing.T) {
	for _, tc := range []struct{ key, want string }{
		{"a/b.html", "site/a/b.html"},
		{"docs/page 1.html", "site/docs/page%201.html"},
		{"plus+sign?&=#%.txt", "site/plus%2Bsign%3F%26%3D%23%25.txt"},
		{"ünï.txt", "site/%C3%BCn%C3%AF.txt"},
		{"-_.~/x", "site/-_.~/x"},
	} {
		if got := copySource("site", tc.key); got != tc.want {
			t.Errorf("copySource(%q) = %q, want %q", tc.key, got, tc.want)
		}
	}
}

// TestHeaderSetMatches: what a HeadObject must show for an object's headers
// to be what keyless would set.
func TestHeaderSetMatches(t *testing.T) {
	h := headerSet{ContentType: "text/html", CacheControl: "no-cache", ContentEncoding: "gzip", Expires: "Wed, 02 Jan 2030 03:04:05 GMT"}
	head := func(mod func(*s3.HeadObjectOutput)) *s3.HeadObjectOutput {
		o := &s3.HeadObjectOutput{ContentType: aws.String("text/html"), CacheControl: aws.String("no-cache"), ContentEncoding: aws.String("gzip"), ExpiresString: aws.String("Wed, 02 Jan 2030 03:04:05 GMT")}
		if mod != nil {
			mod(o)
		}
		return o
	}
	for _, tc := range []struct {
		name string
		h    headerSet
		out  *s3.HeadObjectOutput
		want bool
	}{
		{"same", h, head(nil), true},
		{"STANDARD shown", h, head(func(o *s3.HeadObjectOutput) { o.StorageClass = types.StorageClassStandard }), true},
		{"other class", h, head(func(o *s3.HeadObjectOutput) { o.StorageClass = types.StorageClassStandardIa }), false},
		{"Expires in another format", h, head(func(o *s3.HeadObjectOutput) { o.ExpiresString = aws.String("Wednesday, 02-Jan-30 03:04:05 GMT") }), true},
		{"other Expires", h, head(func(o *s3.HeadObjectOutput) { o.ExpiresString = aws.String("Thu, 03 Jan 2030 03:04:05 GMT") }), false},
		{"no Expires", h, head(func(o *s3.HeadObjectOutput) { o.ExpiresString = nil }), false},
		{"other type", h, head(func(o *s3.HeadObjectOutput) { o.ContentType = aws.String("text/plain") }), false},
		{"other cache", h, head(func(o *s3.HeadObjectOutput) { o.CacheControl = nil }), false},
		{"not gzipped", h, head(func(o *s3.HeadObjectOutput) { o.ContentEncoding = nil }), false},
		{"no type wanted, S3's default", headerSet{}, &s3.HeadObjectOutput{ContentType: aws.String("binary/octet-stream")}, true},
		{"no type wanted, one set", headerSet{}, &s3.HeadObjectOutput{ContentType: aws.String("text/html")}, false},
		{"STANDARD wanted", headerSet{StorageClass: "STANDARD"}, &s3.HeadObjectOutput{}, true},
		{"ACL not visible", headerSet{ACL: "public-read"}, &s3.HeadObjectOutput{}, true},
	} {
		if got := tc.h.matches(tc.out); got != tc.want {
			t.Errorf("%s: matches = %v", tc.name, got)
		}
	}
	if h.digest() == (headerSet{ContentType: "text/html", CacheControl: "no-cache", ContentEncoding: "gzip"}).digest() || len(h.digest()) != 24 {
		t.Error("the digest does not tell header sets apart")
	}
}

// TestClientOptions: the retryer makes MaxAttempts attempts, and the SDK's
// HTTP client keeps enough idle connections for the concurrency.
func TestClientOptions(t *testing.T) {
	c := s3.New(s3.Options{Region: "us-east-1"}, ClientOptions(64))
	o := c.Options()
	if got := o.Retryer.MaxAttempts(); got != MaxAttempts {
		t.Errorf("MaxAttempts %d", got)
	}
	bc, ok := o.HTTPClient.(*awshttp.BuildableClient)
	if !ok || bc.GetTransport().MaxIdleConnsPerHost < 64 {
		t.Errorf("HTTP client %T, idle connections per host %d", o.HTTPClient, bc.GetTransport().MaxIdleConnsPerHost)
	}
}

// TestClientOptionsMaxAttempts: a configured max_attempts is kept.
func TestClientOptionsMaxAttempts(t *testing.T) {
	c := s3.New(s3.Options{Region: "us-east-1", RetryMaxAttempts: 4}, ClientOptions(0))
	if got := c.Options().Retryer.MaxAttempts(); got != 4 {
		t.Errorf("MaxAttempts %d, want the configured 4", got)
	}
}
