package storetest

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/keyless-dev/keyless/store"
)

// RunBlobs runs the conformance suite of store.BlobStore, the small blobs a
// backend keeps inline. open must return a new, empty store for each call and
// close it when the test ends. Beyond the interface's comments, the suite pins
// down: an empty blob is found and reads back as nil; keys are opaque byte
// strings (case, NUL, invalid UTF-8 and 4,096-byte keys stay distinct);
// PutBlob keeps no reference to the caller's slice, nor GetBlob to the
// store's; of concurrent writers of one key, one's blob is left whole.
func RunBlobs(t *testing.T, open func(t *testing.T) store.BlobStore) {
	t.Helper()
	tests := []struct {
		name string
		fn   func(t *testing.T, s store.BlobStore)
	}{
		{"PutGet", testBlobPutGet},
		{"Replace", testBlobReplace},
		{"Delete", testBlobDelete},
		{"Keys", testBlobKeys},
		{"Copies", testBlobCopies},
		{"ConcurrentPuts", testBlobConcurrentPuts},
		{"ManyWriters", testBlobManyWriters},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.fn(t, open(t))
		})
	}
}

// blobBytes returns n bytes that differ from those of every other seed and
// hold every byte value.
func blobBytes(seed byte, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = seed ^ byte(i*7+i/251)
	}
	return b
}

// getBlob returns the blob under key, failing the test if it is missing.
func getBlob(t *testing.T, s store.BlobStore, key string) []byte {
	t.Helper()
	b, err := s.GetBlob(t.Context(), key)
	if err != nil {
		t.Fatalf("GetBlob(%.40q): %v", key, err)
	}
	return b
}

func putBlob(t *testing.T, s store.BlobStore, key string, data []byte) {
	t.Helper()
	if err := s.PutBlob(t.Context(), key, data); err != nil {
		t.Fatalf("PutBlob(%.40q, %d bytes): %v", key, len(data), err)
	}
}

func wantNoBlob(t *testing.T, s store.BlobStore, key string) {
	t.Helper()
	if b, err := s.GetBlob(t.Context(), key); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("GetBlob(%.40q) = %d bytes, %v; want ErrNotFound", key, len(b), err)
	}
}

func testBlobPutGet(t *testing.T, s store.BlobStore) {
	wantNoBlob(t, s, "missing")
	for _, n := range []int{1, 255, 4096, 64<<10 + 1, 256 << 10} {
		key := fmt.Sprintf("blob-%d", n)
		data := blobBytes(byte(n), n)
		putBlob(t, s, key, data)
		if got := getBlob(t, s, key); !bytes.Equal(got, data) {
			t.Fatalf("a blob of %d bytes read back as %d different bytes", n, len(got))
		}
	}
	// An empty blob is a blob: found, and nil.
	for _, empty := range [][]byte{nil, {}} {
		putBlob(t, s, "empty", empty)
		if got := getBlob(t, s, "empty"); got != nil {
			t.Fatalf("an empty blob read back as %#v, want nil", got)
		}
	}
	wantNoBlob(t, s, "missing")
}

func testBlobReplace(t *testing.T, s store.BlobStore) {
	old, next := blobBytes(1, 30000), blobBytes(2, 100)
	putBlob(t, s, "k", old)
	putBlob(t, s, "k", next)
	if got := getBlob(t, s, "k"); !bytes.Equal(got, next) {
		t.Fatalf("after replacing, read %d bytes, want the %d new ones", len(got), len(next))
	}
	putBlob(t, s, "k", nil)
	if got := getBlob(t, s, "k"); got != nil {
		t.Fatalf("after replacing with an empty blob, read %d bytes", len(got))
	}
}

func testBlobDelete(t *testing.T, s store.BlobStore) {
	ctx := t.Context()
	if err := s.DeleteBlob(ctx, "never"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("DeleteBlob of a missing blob: err = %v, want ErrNotFound", err)
	}
	putBlob(t, s, "gone", blobBytes(3, 500))
	putBlob(t, s, "kept", blobBytes(4, 10))
	putBlob(t, s, "empty", nil)
	for _, k := range []string{"gone", "empty"} {
		if err := s.DeleteBlob(ctx, k); err != nil {
			t.Fatalf("DeleteBlob(%q): %v", k, err)
		}
		wantNoBlob(t, s, k)
		if err := s.DeleteBlob(ctx, k); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("second DeleteBlob(%q): err = %v, want ErrNotFound", k, err)
		}
	}
	if got := getBlob(t, s, "kept"); !bytes.Equal(got, blobBytes(4, 10)) {
		t.Fatal("DeleteBlob of one key changed another")
	}
	putBlob(t, s, "gone", []byte("again"))
	if got := getBlob(t, s, "gone"); string(got) != "again" {
		t.Fatalf("PutBlob after DeleteBlob: read %q", got)
	}
}

// testBlobKeys: keys are opaque bytes; keys a collation, a text type or an
// index would confuse stay distinct.
func testBlobKeys(t *testing.T, s store.BlobStore) {
	long := strings.Repeat("k", 4096)
	keys := []string{
		"a", "A", "a ", "a\x00", "\x00",
		"caf\u00e9", "cafe\u0301",
		"\xff\xfe not UTF-8",
		"日本語/ファイル.txt",
		"../../etc/passwd",
		long, long[:4095], long[:4095] + "K",
		strings.Repeat("/", 4096),
	}
	for i, k := range keys {
		putBlob(t, s, k, []byte(fmt.Sprintf("blob %d", i)))
	}
	for i, k := range keys {
		if got, want := string(getBlob(t, s, k)), fmt.Sprintf("blob %d", i); got != want {
			t.Errorf("key %d (%.40q) read back %q, want %q", i, k, got, want)
		}
	}
	for _, k := range keys {
		if err := s.DeleteBlob(t.Context(), k); err != nil {
			t.Errorf("DeleteBlob(%.40q): %v", k, err)
		}
	}
	for _, k := range keys {
		wantNoBlob(t, s, k)
	}
}

// testBlobCopies: the store holds its own copy of a blob, so a caller that
// reuses its buffers cannot change it.
func testBlobCopies(t *testing.T, s store.BlobStore) {
	data := blobBytes(5, 1000)
	buf := bytes.Clone(data)
	putBlob(t, s, "k", buf)
	clear(buf)
	got := getBlob(t, s, "k")
	if !bytes.Equal(got, data) {
		t.Fatal("changing the slice given to PutBlob changed the stored blob")
	}
	clear(got)
	if again := getBlob(t, s, "k"); !bytes.Equal(again, data) {
		t.Fatal("changing the slice GetBlob returned changed the stored blob")
	}
}

// testBlobConcurrentPuts: writers racing on one key, and on keys of their
// own, leave whole blobs.
func testBlobConcurrentPuts(t *testing.T, s store.BlobStore) {
	ctx := t.Context()
	const writers, size = 8, 20000
	uniform := func(b []byte) bool { return len(b) == size && bytes.Count(b, b[:1]) == size }
	var wg sync.WaitGroup
	errs := make(chan error, 3*writers)
	for i := range writers {
		wg.Add(3)
		go func() {
			defer wg.Done()
			if err := s.PutBlob(ctx, "hot", bytes.Repeat([]byte{byte(i + 1)}, size)); err != nil {
				errs <- err
			}
		}()
		go func() {
			defer wg.Done()
			if err := s.PutBlob(ctx, fmt.Sprintf("own-%d", i), bytes.Repeat([]byte{byte(i + 1)}, size)); err != nil {
				errs <- err
			}
		}()
		go func() {
			defer wg.Done()
			b, err := s.GetBlob(ctx, "hot")
			switch {
			case errors.Is(err, store.ErrNotFound):
			case err != nil:
				errs <- err
			case !uniform(b):
				errs <- fmt.Errorf("a reader saw a torn blob (%d bytes)", len(b))
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if got := getBlob(t, s, "hot"); !uniform(got) {
		t.Fatalf("after concurrent PutBlobs the blob is not one writer's whole blob (%d bytes)", len(got))
	}
	for i := range writers {
		if got := getBlob(t, s, fmt.Sprintf("own-%d", i)); !uniform(got) || got[0] != byte(i+1) {
			t.Fatalf("writer %d's own blob read back wrong", i)
		}
	}
}

// testBlobManyWriters: many writers of distinct keys at once (which a
// backend may commit together) each find their own blob whole.
func testBlobManyWriters(t *testing.T, s store.BlobStore) {
	const writers, each = 32, 20
	var wg sync.WaitGroup
	errs := make(chan error, writers*each)
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				key := fmt.Sprintf("w%02d/%02d", w, i)
				if err := s.PutBlob(t.Context(), key, blobBytes(byte(w*each+i), 100+i)); err != nil {
					errs <- fmt.Errorf("PutBlob %s: %w", key, err)
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	for w := range writers {
		for i := range each {
			key := fmt.Sprintf("w%02d/%02d", w, i)
			if got := getBlob(t, s, key); !bytes.Equal(got, blobBytes(byte(w*each+i), 100+i)) {
				t.Fatalf("%s reads back %d bytes that are not what was written", key, len(got))
			}
		}
	}
}
