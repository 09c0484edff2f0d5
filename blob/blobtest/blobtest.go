// Package blobtest is the conformance suite every blob.Store passes.
//
// A backend's test calls Run with a function that opens a fresh, empty store;
// Run calls it once per subtest. The suite pins down the contract of
// blob.Store: what Put, Open, Delete and Concat return; that keys are opaque
// (path-like, Unicode, NUL, 1,024- and MaxKeyLen-byte keys are distinct blobs);
// that a failed or cancelled write leaves the key as it was and no litter
// behind; that concurrent writers of one key never produce a torn blob; and
// that an open Reader is a snapshot.
package blobtest

import (
	"bytes"
	"context"
	"crypto/md5"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/keyless-dev/keyless/blob"
)

// Backend is a store under test.
type Backend struct {
	Store blob.Store
	// Litter lists what the backend holds beyond its blobs (temporary files
	// of writes); the suite checks that failed writes leave none. Nil for a
	// backend that cannot leave any.
	Litter func() ([]string, error)
}

// Run runs the conformance suite. open must return a new, empty store on each
// call.
func Run(t *testing.T, open func(t *testing.T) Backend) {
	t.Helper()
	tests := []struct {
		name string
		fn   func(t *testing.T, b Backend)
	}{
		{"PutOpen", testPutOpen},
		{"Ranges", testRanges},
		{"Replace", testReplace},
		{"Delete", testDelete},
		{"Keys", testKeys},
		{"InvalidKeys", testInvalidKeys},
		{"ReaderError", testReaderError},
		{"Cancellation", testCancellation},
		{"ConcurrentPuts", testConcurrentPuts},
		{"Concat", testConcat},
		{"ConcatFailures", testConcatFailures},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.fn(t, open(t))
		})
	}
}

// noLitter fails the test if the backend holds temporary files.
func noLitter(t *testing.T, b Backend) {
	t.Helper()
	if b.Litter == nil {
		return
	}
	l, err := b.Litter()
	if err != nil {
		t.Fatalf("Litter: %v", err)
	}
	if len(l) > 0 {
		t.Fatalf("left behind: %q", l)
	}
}

// read returns the whole blob under key, checking Size against it.
func read(t *testing.T, s blob.Store, key string) []byte {
	t.Helper()
	r, err := s.Open(t.Context(), key)
	if err != nil {
		t.Fatalf("Open(%.40q): %v", key, err)
	}
	defer func() { _ = r.Close() }()
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("read %.40q: %v", key, err)
	}
	if r.Size() != int64(len(b)) {
		t.Fatalf("Open(%.40q).Size() = %d, read %d bytes", key, r.Size(), len(b))
	}
	return b
}

// put stores data under key and checks the Info.
func put(t *testing.T, s blob.Store, key string, data []byte) {
	t.Helper()
	info, err := s.Put(t.Context(), key, bytes.NewReader(data))
	if err != nil {
		t.Fatalf("Put(%.40q): %v", key, err)
	}
	m := md5.Sum(data)
	if info.Size != int64(len(data)) || !bytes.Equal(info.MD5, m[:]) {
		t.Fatalf("Put(%.40q) = %+v, want size %d, MD5 %x", key, info, len(data), m)
	}
}

// pattern returns n bytes that differ from those of every other seed.
func pattern(seed byte, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = seed ^ byte(i*7+i/251)
	}
	return b
}

func wantNotFound(t *testing.T, s blob.Store, key string) {
	t.Helper()
	r, err := s.Open(t.Context(), key)
	if err == nil {
		_ = r.Close()
	}
	if !errors.Is(err, blob.ErrNotFound) {
		t.Fatalf("Open(%.40q): err = %v, want ErrNotFound", key, err)
	}
}

func testPutOpen(t *testing.T, b Backend) {
	s := b.Store
	wantNotFound(t, s, "missing")
	for _, n := range []int{0, 1, 4096, 1<<20 + 3} {
		key := fmt.Sprintf("obj-%d", n)
		data := pattern(byte(n), n)
		put(t, s, key, data)
		if got := read(t, s, key); !bytes.Equal(got, data) {
			t.Fatalf("blob of %d bytes read back as %d different bytes", n, len(got))
		}
	}
	noLitter(t, b)
}

// testRanges: a Reader seeks and reads at offsets, as http.ServeContent does
// for Range requests.
func testRanges(t *testing.T, b Backend) {
	s := b.Store
	data := pattern(9, 10000)
	put(t, s, "ranged", data)
	r, err := s.Open(t.Context(), "ranged")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = r.Close() }()
	if end, err := r.Seek(0, io.SeekEnd); err != nil || end != int64(len(data)) {
		t.Fatalf("Seek(0, End) = %d, %v", end, err)
	}
	if _, err := r.Seek(1234, io.SeekStart); err != nil {
		t.Fatal(err)
	}
	got := make([]byte, 100)
	if _, err := io.ReadFull(r, got); err != nil || !bytes.Equal(got, data[1234:1334]) {
		t.Fatalf("read after Seek(1234) = %v, want bytes 1234-1333", err)
	}
	if n, err := r.ReadAt(got, 9950); n != 50 || err != io.EOF || !bytes.Equal(got[:50], data[9950:]) {
		t.Fatalf("ReadAt(9950) = %d, %v; want the last 50 bytes and io.EOF", n, err)
	}

	req := httptest.NewRequest(http.MethodGet, "/ranged", nil)
	req.Header.Set("Range", "bytes=9990-")
	rec := httptest.NewRecorder()
	if _, err := r.Seek(0, io.SeekStart); err != nil {
		t.Fatal(err)
	}
	http.ServeContent(rec, req, "ranged", time.Time{}, r)
	if rec.Code != http.StatusPartialContent || !bytes.Equal(rec.Body.Bytes(), data[9990:]) {
		t.Fatalf("ServeContent Range bytes=9990-: status %d, %d bytes", rec.Code, rec.Body.Len())
	}
	if cr := rec.Header().Get("Content-Range"); cr != "bytes 9990-9999/10000" {
		t.Fatalf("Content-Range = %q", cr)
	}
}

// testReplace: a Put replaces the blob whole; a Reader opened before keeps
// the old bytes.
func testReplace(t *testing.T, b Backend) {
	s := b.Store
	old, next := pattern(1, 300000), pattern(2, 1000)
	put(t, s, "k", old)
	r, err := s.Open(t.Context(), "k")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = r.Close() }()
	put(t, s, "k", next)
	if got := read(t, s, "k"); !bytes.Equal(got, next) {
		t.Fatalf("after replacing, read %d bytes, want the %d new ones", len(got), len(next))
	}
	got, err := io.ReadAll(r)
	if err != nil || !bytes.Equal(got, old) || r.Size() != int64(len(old)) {
		t.Fatalf("Reader opened before the replacement read %d bytes (%v), want the %d old ones", len(got), err, len(old))
	}
	noLitter(t, b)
}

func testDelete(t *testing.T, b Backend) {
	s, ctx := b.Store, t.Context()
	if err := s.Delete(ctx, "never"); !errors.Is(err, blob.ErrNotFound) {
		t.Fatalf("Delete missing: err = %v, want ErrNotFound", err)
	}
	data := pattern(3, 5000)
	put(t, s, "gone", data)
	put(t, s, "kept", pattern(4, 10))
	r, err := s.Open(ctx, "gone")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = r.Close() }()
	if err := s.Delete(ctx, "gone"); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	wantNotFound(t, s, "gone")
	if err := s.Delete(ctx, "gone"); !errors.Is(err, blob.ErrNotFound) {
		t.Fatalf("second Delete: err = %v, want ErrNotFound", err)
	}
	if got, err := io.ReadAll(r); err != nil || !bytes.Equal(got, data) {
		t.Fatalf("Reader opened before Delete read %d bytes, %v", len(got), err)
	}
	if got := read(t, s, "kept"); !bytes.Equal(got, pattern(4, 10)) {
		t.Fatal("Delete of one key changed another")
	}
	// A deleted key can be written again.
	put(t, s, "gone", data[:10])
	if got := read(t, s, "gone"); !bytes.Equal(got, data[:10]) {
		t.Fatal("Put after Delete did not store the blob")
	}
}

// testKeys: keys are opaque; path-like keys do not escape, keys that a file
// system would confuse (case, normalisation, separators) stay distinct.
func testKeys(t *testing.T, b Backend) {
	s := b.Store
	keys := []string{
		"../../../../etc/passwd",
		"..",
		".",
		"/",
		"/absolute/path",
		"a/../b",
		"a/b",
		"a\\b",
		"a//b",
		"trailing/",
		"A", "a", // distinct on case-insensitive file systems too
		"caf\u00e9",  // é precomposed
		"cafe\u0301", // e + combining acute: distinct from the above
		"日本語/ファイル.txt",
		"emoji 😀 key",
		"nul\x00byte",
		"\xff\xfe not UTF-8",
		"con", "nul.txt", // reserved names on Windows
		strings.Repeat("k", 1024),
		strings.Repeat("é", 512), // 1,024 bytes of two-byte characters
		strings.Repeat("/", blob.MaxKeyLen),
		".tmp-not-a-temporary-file",
	}
	for i, k := range keys {
		put(t, s, k, []byte(fmt.Sprintf("blob %d", i)))
	}
	for i, k := range keys {
		if got, want := string(read(t, s, k)), fmt.Sprintf("blob %d", i); got != want {
			t.Errorf("key %d (%.40q) read back %q, want %q", i, k, got, want)
		}
	}
	for _, k := range keys {
		if err := s.Delete(t.Context(), k); err != nil {
			t.Errorf("Delete(%.40q): %v", k, err)
		}
	}
	noLitter(t, b)
}

func testInvalidKeys(t *testing.T, b Backend) {
	s, ctx := b.Store, t.Context()
	for _, k := range []string{"", strings.Repeat("x", blob.MaxKeyLen+1)} {
		if _, err := s.Put(ctx, k, strings.NewReader("x")); !errors.Is(err, blob.ErrInvalidKey) {
			t.Errorf("Put(%d-byte key): err = %v, want ErrInvalidKey", len(k), err)
		}
		if _, err := s.Open(ctx, k); !errors.Is(err, blob.ErrInvalidKey) {
			t.Errorf("Open(%d-byte key): err = %v, want ErrInvalidKey", len(k), err)
		}
		if err := s.Delete(ctx, k); !errors.Is(err, blob.ErrInvalidKey) {
			t.Errorf("Delete(%d-byte key): err = %v, want ErrInvalidKey", len(k), err)
		}
		if _, err := s.Concat(ctx, k); !errors.Is(err, blob.ErrInvalidKey) {
			t.Errorf("Concat(%d-byte key): err = %v, want ErrInvalidKey", len(k), err)
		}
	}
	noLitter(t, b)
}

// failingReader returns n bytes of data, then err.
type failingReader struct {
	n   int
	err error
	// onFail, if set, runs just before the error is returned.
	onFail func()
}

func (r *failingReader) Read(p []byte) (int, error) {
	if r.n == 0 {
		if r.onFail != nil {
			r.onFail()
		}
		return 0, r.err
	}
	n := min(len(p), r.n)
	for i := range p[:n] {
		p[i] = 'x'
	}
	r.n -= n
	return n, nil
}

// testReaderError: a reader that fails halfway leaves no blob (or the old
// one) and no temporary file, and its error is returned.
func testReaderError(t *testing.T, b Backend) {
	s, ctx := b.Store, t.Context()
	boom := errors.New("connection reset halfway")
	if _, err := s.Put(ctx, "new", &failingReader{n: 700000, err: boom}); !errors.Is(err, boom) {
		t.Fatalf("Put from a failing reader: err = %v, want it to wrap the reader's error", err)
	}
	wantNotFound(t, s, "new")
	noLitter(t, b)

	old := pattern(5, 1000)
	put(t, s, "existing", old)
	if _, err := s.Put(ctx, "existing", &failingReader{n: 700000, err: boom}); !errors.Is(err, boom) {
		t.Fatalf("Put over a blob from a failing reader: err = %v", err)
	}
	if got := read(t, s, "existing"); !bytes.Equal(got, old) {
		t.Fatalf("a failed Put changed the blob: read %d bytes", len(got))
	}
	noLitter(t, b)
}

// testCancellation: a context cancelled before or during a Put fails it with
// the context's error and changes nothing.
func testCancellation(t *testing.T, b Backend) {
	s := b.Store
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := s.Put(ctx, "k", strings.NewReader("data")); !errors.Is(err, context.Canceled) {
		t.Fatalf("Put with a cancelled context: err = %v, want context.Canceled", err)
	}
	wantNotFound(t, s, "k")

	old := pattern(6, 100)
	put(t, s, "k", old)
	ctx, cancel = context.WithCancel(t.Context())
	defer cancel()
	// The reader cancels the context after 1 MiB and then keeps giving bytes.
	r := io.MultiReader(&failingReader{n: 1 << 20, err: io.EOF, onFail: cancel}, &failingReader{n: 8 << 20, err: io.EOF})
	if _, err := s.Put(ctx, "k", r); !errors.Is(err, context.Canceled) {
		t.Fatalf("Put cancelled midway: err = %v, want context.Canceled", err)
	}
	if got := read(t, s, "k"); !bytes.Equal(got, old) {
		t.Fatalf("a cancelled Put changed the blob: read %d bytes", len(got))
	}
	if _, err := s.Concat(ctx, "k2", "k"); !errors.Is(err, context.Canceled) {
		t.Fatalf("Concat with a cancelled context: err = %v, want context.Canceled", err)
	}
	wantNotFound(t, s, "k2")
	noLitter(t, b)
}

// testConcurrentPuts: writers racing on one key leave one writer's blob
// whole; readers meanwhile see whole blobs only.
func testConcurrentPuts(t *testing.T, b Backend) {
	s, ctx := b.Store, t.Context()
	const writers, size = 6, 1 << 20
	put(t, s, "hot", bytes.Repeat([]byte{0}, size))
	// Writer i writes size bytes of value i+1; a whole blob is uniform.
	uniform := func(got []byte) bool {
		return len(got) == size && bytes.Count(got, got[:1]) == size
	}
	var wg sync.WaitGroup
	errs := make(chan error, 2*writers)
	for i := range writers {
		wg.Add(2)
		go func() {
			defer wg.Done()
			if _, err := s.Put(ctx, "hot", bytes.NewReader(bytes.Repeat([]byte{byte(i + 1)}, size))); err != nil {
				errs <- err
			}
		}()
		go func() {
			defer wg.Done()
			r, err := s.Open(ctx, "hot")
			if err != nil {
				errs <- err
				return
			}
			defer func() { _ = r.Close() }()
			got, err := io.ReadAll(r)
			if err != nil {
				errs <- err
			} else if !uniform(got) {
				errs <- fmt.Errorf("a reader saw a torn blob (%d bytes)", len(got))
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	got := read(t, s, "hot")
	if !uniform(got) || got[0] == 0 {
		t.Fatalf("after concurrent Puts the blob is not one writer's whole blob (first byte %d, %d bytes)", got[0], len(got))
	}
	noLitter(t, b)
}

func testConcat(t *testing.T, b Backend) {
	s, ctx := b.Store, t.Context()
	parts := [][]byte{pattern(1, 5<<20+1), pattern(2, 0), pattern(3, 123), pattern(4, 70000)}
	keys := []string{"part/1", "part/2", "part/3", "part/4"}
	for i := range parts {
		put(t, s, keys[i], parts[i])
	}
	want := bytes.Join(parts, nil)
	info, err := s.Concat(ctx, "whole", keys...)
	if err != nil {
		t.Fatalf("Concat: %v", err)
	}
	if info.Size != int64(len(want)) || info.MD5 != nil {
		t.Fatalf("Concat = size %d, MD5 %x; want size %d and no digest", info.Size, info.MD5, len(want))
	}
	if got := read(t, s, "whole"); !bytes.Equal(got, want) {
		t.Fatalf("Concat read back %d bytes, want the %d bytes of the parts in order", len(got), len(want))
	}
	for i := range parts {
		if got := read(t, s, keys[i]); !bytes.Equal(got, parts[i]) {
			t.Fatalf("Concat changed source %d", i)
		}
	}

	// A source repeated, and dst among the sources: its old bytes are read.
	if _, err := s.Concat(ctx, "part/3", "part/3", "part/4", "part/3"); err != nil {
		t.Fatalf("Concat into a source: %v", err)
	}
	if got, want := read(t, s, "part/3"), bytes.Join([][]byte{parts[2], parts[3], parts[2]}, nil); !bytes.Equal(got, want) {
		t.Fatalf("Concat into a source read back %d bytes, want %d", len(got), len(want))
	}

	// No sources make an empty blob.
	if info, err := s.Concat(ctx, "empty"); err != nil || info.Size != 0 {
		t.Fatalf("Concat of nothing = %+v, %v", info, err)
	}
	if got := read(t, s, "empty"); len(got) != 0 {
		t.Fatalf("Concat of nothing read back %d bytes", len(got))
	}
	noLitter(t, b)
}

func testConcatFailures(t *testing.T, b Backend) {
	s, ctx := b.Store, t.Context()
	put(t, s, "a", []byte("aaa"))
	put(t, s, "dst", []byte("old"))
	if _, err := s.Concat(ctx, "dst", "a", "missing"); !errors.Is(err, blob.ErrNotFound) {
		t.Fatalf("Concat with a missing source: err = %v, want ErrNotFound", err)
	}
	if got := read(t, s, "dst"); string(got) != "old" {
		t.Fatalf("a failed Concat changed dst to %q", got)
	}
	if _, err := s.Concat(ctx, "new", "missing"); !errors.Is(err, blob.ErrNotFound) {
		t.Fatalf("Concat with a missing source: err = %v, want ErrNotFound", err)
	}
	wantNotFound(t, s, "new")
	if _, err := s.Concat(ctx, "new", "a", ""); !errors.Is(err, blob.ErrInvalidKey) {
		t.Fatalf("Concat with an empty source key: err = %v, want ErrInvalidKey", err)
	}
	noLitter(t, b)
}
