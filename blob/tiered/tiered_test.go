package tiered

import (
	"bytes"
	"context"
	"crypto/md5"
	"errors"
	"fmt"
	"io"
	iofs "io/fs"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/keyless-dev/keyless/blob"
	"github.com/keyless-dev/keyless/blob/blobtest"
	"github.com/keyless-dev/keyless/blob/fs"
	"github.com/keyless-dev/keyless/store"
	"github.com/keyless-dev/keyless/store/sqlite"
)

// memBlobs is a store.BlobStore in memory, with failures to inject.
type memBlobs struct {
	mu    sync.Mutex
	blobs map[string][]byte
	// failPut and failDelete, when set, are returned by PutBlob and DeleteBlob.
	failPut, failDelete error
}

func newMemBlobs() *memBlobs { return &memBlobs{blobs: map[string][]byte{}} }

func (m *memBlobs) PutBlob(_ context.Context, key string, data []byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.failPut != nil {
		return m.failPut
	}
	m.blobs[key] = bytes.Clone(data)
	return nil
}

func (m *memBlobs) GetBlob(_ context.Context, key string) ([]byte, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	b, ok := m.blobs[key]
	if !ok {
		return nil, fmt.Errorf("mem: %w", store.ErrNotFound)
	}
	return bytes.Clone(b), nil
}

func (m *memBlobs) DeleteBlob(_ context.Context, key string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.failDelete != nil {
		return m.failDelete
	}
	if _, ok := m.blobs[key]; !ok {
		return fmt.Errorf("mem: %w", store.ErrNotFound)
	}
	delete(m.blobs, key)
	return nil
}

func (m *memBlobs) keys() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	var keys []string
	for k := range m.blobs {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// countingBig is a big tier that counts its Concats.
type countingBig struct {
	*fs.Store
	concats atomic.Int64
}

func (c *countingBig) Concat(ctx context.Context, dst string, srcs ...string) (blob.Info, error) {
	c.concats.Add(1)
	return c.Store.Concat(ctx, dst, srcs...)
}

// fsLitter lists the temporary files of blob/fs under root.
func fsLitter(root string) ([]string, error) {
	var out []string
	err := filepath.WalkDir(root, func(path string, d iofs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if strings.HasPrefix(d.Name(), ".tmp-") {
			out = append(out, path)
		}
		return nil
	})
	return out, err
}

func newBig(t *testing.T) *fs.Store {
	t.Helper()
	big, err := fs.New(filepath.Join(t.TempDir(), "blobs"))
	if err != nil {
		t.Fatal(err)
	}
	return big
}

func newTiered(t *testing.T, big blob.Store, small store.BlobStore, opts ...Option) *Store {
	t.Helper()
	s, err := New(big, small, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestConformance runs blobtest's suite with thresholds that put each of its
// blobs in either tier (its Concat then mixes them), over an in-memory small
// tier whose keys the litter check compares with the big tier's: a key must
// never be left in both.
func TestConformance(t *testing.T) {
	for _, threshold := range []int{0, 1000, DefaultThreshold, MaxThreshold} {
		t.Run(fmt.Sprintf("threshold=%d", threshold), func(t *testing.T) {
			blobtest.Run(t, func(t *testing.T) blobtest.Backend {
				big, small := newBig(t), newMemBlobs()
				s := newTiered(t, big, small, WithThreshold(threshold))
				return blobtest.Backend{Store: s, Litter: func() ([]string, error) {
					out, err := fsLitter(big.Root())
					for _, k := range small.keys() {
						if r, err := big.Open(context.Background(), k); err == nil {
							_ = r.Close()
							out = append(out, fmt.Sprintf("%.40q in both tiers", k))
						}
					}
					return out, err
				}}
			})
		})
	}
}

// TestConformanceSQLite runs the suite with the real small tier: the SQLite store.
func TestConformanceSQLite(t *testing.T) {
	blobtest.Run(t, func(t *testing.T) blobtest.Backend {
		db, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "keyless.db"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = db.Close() })
		big := newBig(t)
		return blobtest.Backend{Store: newTiered(t, big, db), Litter: func() ([]string, error) { return fsLitter(big.Root()) }}
	})
}

// where reports which tiers hold key: "small", "big", "both" or "none".
func where(t *testing.T, big blob.Store, small store.BlobStore, key string) string {
	t.Helper()
	_, err := small.GetBlob(t.Context(), key)
	inSmall := err == nil
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		t.Fatal(err)
	}
	r, err := big.Open(t.Context(), key)
	inBig := err == nil
	if inBig {
		_ = r.Close()
	} else if !errors.Is(err, blob.ErrNotFound) {
		t.Fatal(err)
	}
	switch {
	case inSmall && inBig:
		return "both"
	case inSmall:
		return "small"
	case inBig:
		return "big"
	}
	return "none"
}

func readAll(t *testing.T, s blob.Store, key string) []byte {
	t.Helper()
	r, err := s.Open(t.Context(), key)
	if err != nil {
		t.Fatalf("Open(%q): %v", key, err)
	}
	defer func() { _ = r.Close() }()
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	if r.Size() != int64(len(b)) {
		t.Fatalf("Size() = %d, read %d bytes", r.Size(), len(b))
	}
	return b
}

// TestTiers: a blob up to the threshold lands in the database, a bigger one on
// disk; rewriting a key from one tier to the other leaves one copy, in the
// right tier, read back by Open — with the real SQLite store as the small tier.
func TestTiers(t *testing.T) {
	db, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "keyless.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	big := newBig(t)
	s := newTiered(t, big, db)
	steps := []struct {
		size int
		want string
	}{
		{4096, "small"},
		{DefaultThreshold + 1, "big"},
		{10, "small"},
		{0, "small"},
		{DefaultThreshold, "small"},
		{5 << 20, "big"},
		{DefaultThreshold + 1, "big"},
		{1, "small"},
	}
	for i, st := range steps {
		data := bytes.Repeat([]byte{byte(i + 1)}, st.size)
		info, err := s.Put(t.Context(), "obj", bytes.NewReader(data))
		if err != nil {
			t.Fatalf("step %d: Put of %d bytes: %v", i, st.size, err)
		}
		if m := md5.Sum(data); info.Size != int64(st.size) || !bytes.Equal(info.MD5, m[:]) {
			t.Fatalf("step %d: Put of %d bytes = %+v", i, st.size, info)
		}
		if got := where(t, big, db, "obj"); got != st.want {
			t.Fatalf("step %d: a %d-byte blob is in %s, want %s", i, st.size, got, st.want)
		}
		if got := readAll(t, s, "obj"); !bytes.Equal(got, data) {
			t.Fatalf("step %d: read back %d bytes, want the %d just put", i, len(got), st.size)
		}
	}
	if err := s.Delete(t.Context(), "obj"); err != nil {
		t.Fatal(err)
	}
	if got := where(t, big, db, "obj"); got != "none" {
		t.Fatalf("after Delete the blob is in %s", got)
	}
}

// TestFilesWrittenBefore: blobs the big tier held before it was tiered (a data
// directory of an older keyless) still open, and are removed by Delete or by a
// Put that brings the key inline.
func TestFilesWrittenBefore(t *testing.T) {
	ctx := t.Context()
	big, small := newBig(t), newMemBlobs()
	for _, k := range []string{"old-1", "old-2"} {
		if _, err := big.Put(ctx, k, strings.NewReader("written by an older keyless: "+k)); err != nil {
			t.Fatal(err)
		}
	}
	s := newTiered(t, big, small)
	if got := string(readAll(t, s, "old-1")); got != "written by an older keyless: old-1" {
		t.Fatalf("Open of a file written before = %q", got)
	}
	if err := s.Delete(ctx, "old-1"); err != nil {
		t.Fatal(err)
	}
	if got := where(t, big, small, "old-1"); got != "none" {
		t.Fatalf("after Delete old-1 is in %s", got)
	}
	if _, err := s.Put(ctx, "old-2", strings.NewReader("new")); err != nil {
		t.Fatal(err)
	}
	if got := where(t, big, small, "old-2"); got != "small" {
		t.Fatalf("after an inline Put old-2 is in %s, want small", got)
	}
	// A copy of a small file written before comes out inline.
	if _, err := big.Put(ctx, "old-3", strings.NewReader("small file")); err != nil {
		t.Fatal(err)
	}
	if info, err := s.Concat(ctx, "copy", "old-3"); err != nil || info.Size != 10 {
		t.Fatalf("Concat = %+v, %v", info, err)
	}
	if got := where(t, big, small, "copy"); got != "small" {
		t.Fatalf("a small copy of a file is in %s, want small", got)
	}
}

// TestInterruptedRewrites: the states a crash between a write's two steps
// leaves (see the package comment) read as the package promises.
func TestInterruptedRewrites(t *testing.T) {
	ctx := t.Context()
	big, small := newBig(t), newMemBlobs()
	s := newTiered(t, big, small)

	// Killed in an inline Put, after the database commit, before the file was
	// removed: the new bytes are read; Delete removes both and brings back
	// nothing.
	if _, err := big.Put(ctx, "k", strings.NewReader("old, on disk")); err != nil {
		t.Fatal(err)
	}
	if err := small.PutBlob(ctx, "k", []byte("new, inline")); err != nil {
		t.Fatal(err)
	}
	if got := string(readAll(t, s, "k")); got != "new, inline" {
		t.Fatalf("Open = %q, want the inline blob", got)
	}
	if err := s.Delete(ctx, "k"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Open(ctx, "k"); !errors.Is(err, blob.ErrNotFound) {
		t.Fatalf("Open after Delete: err = %v, want ErrNotFound", err)
	}

	// Killed in a Put to the big tier, after the file, before the database row
	// was deleted: the Put had not returned, and the old bytes are read.
	if err := small.PutBlob(ctx, "k", []byte("old, inline")); err != nil {
		t.Fatal(err)
	}
	if _, err := big.Put(ctx, "k", strings.NewReader("new, on disk")); err != nil {
		t.Fatal(err)
	}
	if got := string(readAll(t, s, "k")); got != "old, inline" {
		t.Fatalf("Open = %q, want the inline blob", got)
	}
}

// TestFailedSteps: a failure of a write's second step is reported, and leaves
// the key with one blob, the old one where the Put reports failure.
func TestFailedSteps(t *testing.T) {
	ctx := t.Context()
	big, small := newBig(t), newMemBlobs()
	s := newTiered(t, big, small, WithThreshold(100))
	if _, err := s.Put(ctx, "k", strings.NewReader("small")); err != nil {
		t.Fatal(err)
	}
	boom := errors.New("database gone")
	small.failDelete = boom
	if _, err := s.Put(ctx, "k", bytes.NewReader(make([]byte, 1000))); !errors.Is(err, boom) {
		t.Fatalf("Put to the big tier over an inline blob that cannot be deleted: err = %v, want %v", err, boom)
	}
	if got := where(t, big, small, "k"); got != "small" {
		t.Fatalf("after the failed Put the key is in %s, want only the old inline blob", got)
	}
	if got := string(readAll(t, s, "k")); got != "small" {
		t.Fatalf("after the failed Put Open = %q, want the old blob", got)
	}
	if err := s.Delete(ctx, "k"); !errors.Is(err, boom) {
		t.Fatalf("Delete: err = %v, want %v", err, boom)
	}
	small.failDelete = nil

	small.failPut = boom
	if _, err := s.Put(ctx, "k2", strings.NewReader("x")); !errors.Is(err, boom) {
		t.Fatalf("inline Put: err = %v, want %v", err, boom)
	}
	if got := where(t, big, small, "k2"); got != "none" {
		t.Fatalf("after a failed inline Put the key is in %s", got)
	}
}

// TestConcatDelegates: a Concat of sources all in the big tier into a blob too
// big to be inline is the big tier's (copy_file_range for blob/fs); one with
// an inline source streams, and lands where Put would put it.
func TestConcatDelegates(t *testing.T) {
	ctx := t.Context()
	big, small := &countingBig{Store: newBig(t)}, newMemBlobs()
	s := newTiered(t, big, small, WithThreshold(100))
	a, b, c := bytes.Repeat([]byte("a"), 200), bytes.Repeat([]byte("b"), 300), []byte("ccc")
	for k, v := range map[string][]byte{"a": a, "b": b, "c": c} {
		if _, err := s.Put(ctx, k, bytes.NewReader(v)); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		dst       string
		srcs      []string
		want      []byte
		tier      string
		delegated int64
	}{
		{"ab", []string{"a", "b"}, slices.Concat(a, b), "big", 1},
		{"abc", []string{"a", "b", "c"}, slices.Concat(a, b, c), "big", 0},
		{"cc", []string{"c", "c"}, slices.Concat(c, c), "small", 0},
		{"c", []string{"c", "a"}, slices.Concat(c, a), "big", 0}, // dst among the sources, small to big
		{"none", nil, nil, "small", 0},
	}
	for _, tc := range tests {
		before := big.concats.Load()
		info, err := s.Concat(ctx, tc.dst, tc.srcs...)
		if err != nil || info.Size != int64(len(tc.want)) || info.MD5 != nil {
			t.Fatalf("Concat(%q, %q) = %+v, %v", tc.dst, tc.srcs, info, err)
		}
		if got := readAll(t, s, tc.dst); !bytes.Equal(got, tc.want) {
			t.Fatalf("Concat(%q, %q) read back %q", tc.dst, tc.srcs, got)
		}
		if got := where(t, big, small, tc.dst); got != tc.tier {
			t.Errorf("Concat(%q, %q) is in %s, want %s", tc.dst, tc.srcs, got, tc.tier)
		}
		if n := big.concats.Load() - before; n != tc.delegated {
			t.Errorf("Concat(%q, %q) called the big tier's Concat %d times, want %d", tc.dst, tc.srcs, n, tc.delegated)
		}
	}
}

// TestConcurrentRewritesAcrossTiers: writers racing on one key with blobs of
// either tier leave one copy, one writer's whole blob; readers meanwhile
// always find the key, whole.
func TestConcurrentRewritesAcrossTiers(t *testing.T) {
	ctx := t.Context()
	big, small := newBig(t), newMemBlobs()
	s := newTiered(t, big, small, WithThreshold(1000))
	sizes := []int{10, 5000, 999, 1001, 0, 100000}
	uniform := func(b []byte) bool {
		if len(b) == 0 {
			return true
		}
		return slices.Contains(sizes, len(b)) && bytes.Count(b, b[:1]) == len(b) && int(b[0]) <= len(sizes)*8
	}
	if _, err := s.Put(ctx, "hot", bytes.NewReader(make([]byte, 5000))); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 1000)
	for w := range 8 {
		wg.Add(2)
		go func() {
			defer wg.Done()
			for i, n := range sizes {
				if _, err := s.Put(ctx, "hot", bytes.NewReader(bytes.Repeat([]byte{byte(w*len(sizes) + i + 1)}, n))); err != nil {
					errs <- err
				}
			}
		}()
		go func() {
			defer wg.Done()
			for range 20 {
				r, err := s.Open(ctx, "hot")
				if err != nil {
					errs <- fmt.Errorf("a reader: %w", err)
					continue
				}
				b, err := io.ReadAll(r)
				_ = r.Close()
				if err != nil {
					errs <- err
				} else if !uniform(b) {
					errs <- fmt.Errorf("a reader saw a torn blob (%d bytes)", len(b))
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if got := where(t, big, small, "hot"); got != "small" && got != "big" {
		t.Fatalf("after the race the key is in %s", got)
	}
	if got := readAll(t, s, "hot"); !uniform(got) {
		t.Fatalf("after the race the blob is torn (%d bytes)", len(got))
	}
}

func TestNewErrors(t *testing.T) {
	big, small := newBig(t), newMemBlobs()
	tests := []struct {
		name  string
		big   blob.Store
		small store.BlobStore
		opts  []Option
		want  string
	}{
		{"no big tier", nil, small, nil, "required"},
		{"no small tier", big, nil, nil, "required"},
		{"negative threshold", big, small, []Option{WithThreshold(-1)}, "threshold -1 bytes out of range"},
		{"threshold too big", big, small, []Option{WithThreshold(MaxThreshold + 1)}, "out of range"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := New(tc.big, tc.small, tc.opts...); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("New: err = %v, want one saying %q", err, tc.want)
			}
		})
	}
	s, err := New(big, small)
	if err != nil || s.Threshold() != DefaultThreshold {
		t.Fatalf("New with defaults: threshold %d, %v", s.Threshold(), err)
	}
}

// BenchmarkPutSmall is the 4 KiB Put of the S3 small-object load, inline in a
// SQLite database, against a file each in blob/fs.
func BenchmarkPutSmall(b *testing.B) {
	data := bytes.Repeat([]byte("x"), 4096)
	bench := func(b *testing.B, s blob.Store) {
		var n atomic.Int64
		b.SetBytes(int64(len(data)))
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := s.Put(context.Background(), fmt.Sprintf("k%d", n.Add(1)), bytes.NewReader(data)); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	b.Run("tiered-sqlite", func(b *testing.B) {
		db, err := sqlite.Open(b.Context(), filepath.Join(b.TempDir(), "keyless.db"))
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { _ = db.Close() })
		big, err := fs.New(filepath.Join(b.TempDir(), "blobs"))
		if err != nil {
			b.Fatal(err)
		}
		s, err := New(big, db)
		if err != nil {
			b.Fatal(err)
		}
		bench(b, s)
	})
	b.Run("fs", func(b *testing.B) {
		big, err := fs.New(filepath.Join(b.TempDir(), "blobs"))
		if err != nil {
			b.Fatal(err)
		}
		bench(b, big)
	})
}
