// Package tiered is a blob store in two tiers: blobs up to a threshold (64 KiB
// by default) are kept inline in the database (a store.BlobStore), bigger
// ones in another blob.Store (keyless up uses blob/fs on DATA/blobs).
//
// Creating and renaming a file costs a small object more than everything else
// its PUT does (hundreds of microseconds of kernel time on ext4 with several
// writers, plus an fsync); a row in the database, which the object's metadata
// is written to anyway, costs a fraction of that. This is what MinIO does with
// small objects.
//
// # Reading and writing
//
// Put reads at most threshold+1 bytes first. A body that ends within them is
// written to the database in one statement; a longer one streams, the bytes
// already read first, to the big tier, which is never buffered whole. Open
// looks in the database first, then in the big tier, so blobs written before
// this package was used (files only) still open. Concat delegates to the big
// tier's Concat (copy_file_range for blob/fs) when every source is there and
// the result is too big to be inline, and otherwise streams the sources,
// opened first, into the tier Put would choose.
//
// # One copy per key, crash-safe order
//
// A key rewritten from one tier to the other leaves no copy in the tier it
// left. The order of the two steps makes the database's copy authoritative,
// since Open looks there first:
//
//   - A blob that goes inline is written to the database first, then the copy
//     in the big tier is deleted. A crash between the two leaves a stale file
//     that nothing reads (the database copy shadows it) and Delete removes.
//   - A blob that goes to the big tier is written there first, then the copy
//     in the database is deleted. A crash between the two leaves the key with
//     its old bytes, the state of a Put that failed, and Put had not returned.
//   - Delete removes the copy in the big tier first, then the one in the
//     database, so that a crash between the two cannot bring back a stale file
//     from under a deleted database copy.
//
// So once Put has returned, Open never gives the old bytes, crash or not. A
// Reader of either tier is a snapshot: an inline blob is read into memory (at
// most threshold bytes), a file stays open.
//
// Writers of one key are serialised within a Store, so that a Put to one tier
// racing a Put to the other cannot leave neither copy; and an Open that finds
// the key in neither tier looks again under the key's lock, so that a Put
// moving the blob between its two looks cannot hide it. Processes that share
// both tiers do not share these locks: their concurrent writes of one key in
// different tiers are not ordered. keyless never writes a key twice (each
// version of an object or part gets a fresh random blob ID), so this never
// arises there.
//
// # Durability
//
// An inline blob is as durable as the database's other writes (SQLite's WAL
// with synchronous=NORMAL survives a crash of the process, not necessarily of
// the machine), which is that of the object's metadata written right after it:
// the two survive or are lost together.
package tiered

import (
	"bytes"
	"context"
	"crypto/md5"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/keyless-dev/keyless/blob"
	"github.com/keyless-dev/keyless/store"
)

// DefaultThreshold is the size, in bytes, up to which a blob is kept inline
// unless WithThreshold says otherwise.
const DefaultThreshold = 64 << 10

// MaxThreshold is the largest threshold New accepts: an inline blob is read
// whole into memory by Put and Open, and written as one database row.
const MaxThreshold = 1 << 20

// Store is a blob.Store over a database tier for small blobs and a big tier for
// the others. Its methods are safe for concurrent use.
type Store struct {
	big       blob.Store
	small     store.BlobStore
	threshold int
	bufs      sync.Pool // *[]byte of threshold+1 bytes
	locks     keyLocks
}

var _ blob.Store = (*Store)(nil)

// Option configures a Store.
type Option func(*Store)

// WithThreshold keeps blobs of at most n bytes inline, from 0 (empty blobs
// only) to MaxThreshold; DefaultThreshold without it.
func WithThreshold(n int) Option {
	return func(s *Store) { s.threshold = n }
}

// New returns a store that keeps blobs up to the threshold in small and the
// others in big. big may hold blobs already: they stay readable.
func New(big blob.Store, small store.BlobStore, opts ...Option) (*Store, error) {
	if big == nil || small == nil {
		return nil, errors.New("blob/tiered: new: both a big tier (blob.Store) and a small one (store.BlobStore) are required")
	}
	s := &Store{big: big, small: small, threshold: DefaultThreshold}
	for _, o := range opts {
		o(s)
	}
	if s.threshold < 0 || s.threshold > MaxThreshold {
		return nil, fmt.Errorf("blob/tiered: new: threshold %d bytes out of range: give 0 to %d", s.threshold, MaxThreshold)
	}
	n := s.threshold + 1
	s.bufs.New = func() any {
		b := make([]byte, n)
		return &b
	}
	return s, nil
}

// Threshold is the size, in bytes, up to which blobs are kept inline.
func (s *Store) Threshold() int { return s.threshold }

// Put reads up to threshold+1 bytes of r: a blob that ends within threshold
// bytes is stored inline, any other streams to the big tier (see the package
// comment for the order of the steps). A cancellation of ctx takes effect up to
// the moment the blob is committed.
func (s *Store) Put(ctx context.Context, key string, r io.Reader) (blob.Info, error) {
	if err := blob.CheckKey(key); err != nil {
		return blob.Info{}, fmt.Errorf("blob/tiered: put: %w", err)
	}
	bp := s.bufs.Get().(*[]byte)
	defer s.bufs.Put(bp)
	buf := *bp
	n, eof, err := blob.Fill(ctx, r, buf)
	if err != nil {
		return blob.Info{}, fmt.Errorf("blob/tiered: put: %w", err)
	}
	unlock, err := s.locks.lock(ctx, key)
	if err != nil {
		return blob.Info{}, fmt.Errorf("blob/tiered: put: %w", err)
	}
	defer unlock()
	if eof && n <= s.threshold {
		data := buf[:n]
		m := md5.Sum(data)
		if err := s.putInline(ctx, key, data); err != nil {
			return blob.Info{}, fmt.Errorf("blob/tiered: put: %w", err)
		}
		return blob.Info{Size: int64(n), MD5: m[:]}, nil
	}
	rest := io.MultiReader(bytes.NewReader(buf[:n]), r)
	info, err := s.putBig(ctx, key, func() (blob.Info, error) { return s.big.Put(ctx, key, rest) })
	if err != nil {
		return blob.Info{}, fmt.Errorf("blob/tiered: put: %w", err)
	}
	return info, nil
}

// putInline makes data key's blob, in the database, and then removes the copy
// the big tier may hold. The caller holds key's lock. A cancellation of ctx
// after this point does not take effect: a commit is not interrupted.
func (s *Store) putInline(ctx context.Context, key string, data []byte) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	ctx = context.WithoutCancel(ctx)
	if err := s.small.PutBlob(ctx, key, data); err != nil {
		return err
	}
	if err := s.big.Delete(ctx, key); err != nil && !errors.Is(err, blob.ErrNotFound) {
		// The new blob is in place and shadows the file; a Delete of the key
		// removes both.
		return fmt.Errorf("blob stored inline, but the copy in the big tier it replaces was not removed: %w", err)
	}
	return nil
}

// putBig writes key's blob in the big tier with write, and then removes the
// inline copy the database may hold. The caller holds key's lock.
func (s *Store) putBig(ctx context.Context, key string, write func() (blob.Info, error)) (blob.Info, error) {
	info, err := write()
	if err != nil {
		return blob.Info{}, err
	}
	ctx = context.WithoutCancel(ctx)
	if err := s.small.DeleteBlob(ctx, key); err != nil && !errors.Is(err, store.ErrNotFound) {
		// The old inline blob still shadows the new file: the key is unchanged,
		// as a failed Put leaves it. Remove the file, which nothing reads.
		if derr := s.big.Delete(ctx, key); derr != nil {
			err = errors.Join(err, derr)
		}
		return blob.Info{}, fmt.Errorf("remove the inline copy the new blob replaces: %w", err)
	}
	return info, nil
}

// Open returns a Reader of key's blob: the inline one if there is one, else the
// big tier's. A key in neither costs a second look, under the key's lock.
func (s *Store) Open(ctx context.Context, key string) (blob.Reader, error) {
	if err := blob.CheckKey(key); err != nil {
		return nil, fmt.Errorf("blob/tiered: open: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("blob/tiered: open: %w", err)
	}
	r, err := s.open(ctx, key)
	if !errors.Is(err, blob.ErrNotFound) {
		return r, err
	}
	// Neither tier had the blob, but a Put that moved it from the big tier into
	// the database may have run between the two looks. Look again while no
	// writer of the key runs.
	unlock, err := s.locks.lock(ctx, key)
	if err != nil {
		return nil, fmt.Errorf("blob/tiered: open: %w", err)
	}
	defer unlock()
	return s.open(ctx, key)
}

// open looks for key's blob in the database, then in the big tier.
func (s *Store) open(ctx context.Context, key string) (blob.Reader, error) {
	data, err := s.small.GetBlob(ctx, key)
	if err == nil {
		return inlineReader{bytes.NewReader(data)}, nil
	}
	if !errors.Is(err, store.ErrNotFound) {
		return nil, fmt.Errorf("blob/tiered: open: %w", err)
	}
	return s.big.Open(ctx, key)
}

// inlineReader reads an inline blob, held in memory.
type inlineReader struct{ *bytes.Reader }

// Close does nothing: the blob is in memory.
func (inlineReader) Close() error { return nil }

// Delete removes key's blob from both tiers: the big tier's copy first (see the
// package comment).
func (s *Store) Delete(ctx context.Context, key string) error {
	if err := blob.CheckKey(key); err != nil {
		return fmt.Errorf("blob/tiered: delete: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("blob/tiered: delete: %w", err)
	}
	unlock, err := s.locks.lock(ctx, key)
	if err != nil {
		return fmt.Errorf("blob/tiered: delete: %w", err)
	}
	defer unlock()
	errBig := s.big.Delete(ctx, key)
	if errBig != nil && !errors.Is(errBig, blob.ErrNotFound) {
		return fmt.Errorf("blob/tiered: delete: %w", errBig)
	}
	errSmall := s.small.DeleteBlob(ctx, key)
	if errSmall != nil && !errors.Is(errSmall, store.ErrNotFound) {
		return fmt.Errorf("blob/tiered: delete: %w", errSmall)
	}
	if errBig != nil && errSmall != nil {
		return fmt.Errorf("blob/tiered: delete: %w: %q", blob.ErrNotFound, key)
	}
	return nil
}

// Concat writes the blobs under srcs one after the other as dst's blob. It
// opens every source first (a missing one fails before anything is written;
// dst among them is read as it was). When all are in the big tier and the
// blob is too big to be inline, it leaves the copy to the big tier's Concat;
// otherwise it streams the sources into the tier Put would choose (a copy
// through memory, and, into the big tier, through Put's digests: the price of
// a multipart upload whose last part is inline).
func (s *Store) Concat(ctx context.Context, dst string, srcs ...string) (blob.Info, error) {
	if err := blob.CheckKey(dst); err != nil {
		return blob.Info{}, fmt.Errorf("blob/tiered: concat: %w", err)
	}
	for _, k := range srcs {
		if err := blob.CheckKey(k); err != nil {
			return blob.Info{}, fmt.Errorf("blob/tiered: concat: source: %w", err)
		}
	}
	if err := ctx.Err(); err != nil {
		return blob.Info{}, fmt.Errorf("blob/tiered: concat: %w", err)
	}
	readers := make([]io.Reader, 0, len(srcs))
	opened := make([]blob.Reader, 0, len(srcs))
	defer func() {
		for _, r := range opened {
			_ = r.Close()
		}
	}()
	allBig := true
	var total int64
	for _, k := range srcs {
		r, err := s.Open(ctx, k)
		if err != nil {
			return blob.Info{}, fmt.Errorf("blob/tiered: concat: %w", err)
		}
		opened, readers = append(opened, r), append(readers, r)
		total += r.Size()
		if _, ok := r.(inlineReader); ok {
			allBig = false
		}
	}
	unlock, err := s.locks.lock(ctx, dst)
	if err != nil {
		return blob.Info{}, fmt.Errorf("blob/tiered: concat: %w", err)
	}
	defer unlock()
	if allBig && total > int64(s.threshold) {
		info, err := s.putBig(ctx, dst, func() (blob.Info, error) { return s.big.Concat(ctx, dst, srcs...) })
		// A source that moved into the database since it was opened is not in the
		// big tier any more: stream the snapshots opened above instead.
		if !errors.Is(err, blob.ErrNotFound) {
			if err != nil {
				return blob.Info{}, fmt.Errorf("blob/tiered: concat: %w", err)
			}
			return blob.Info{Size: info.Size}, nil
		}
	}
	all := io.MultiReader(readers...)
	if total <= int64(s.threshold) {
		data := make([]byte, total)
		if _, err := io.ReadFull(all, data); err != nil {
			return blob.Info{}, fmt.Errorf("blob/tiered: concat: %w", err)
		}
		if err := s.putInline(ctx, dst, data); err != nil {
			return blob.Info{}, fmt.Errorf("blob/tiered: concat: %w", err)
		}
		return blob.Info{Size: total}, nil
	}
	info, err := s.putBig(ctx, dst, func() (blob.Info, error) { return s.big.Put(ctx, dst, all) })
	if err != nil {
		return blob.Info{}, fmt.Errorf("blob/tiered: concat: %w", err)
	}
	return blob.Info{Size: info.Size}, nil
}

// keyLocks serialises the writers of each key. A key's entry lives while a
// writer holds or awaits it.
type keyLocks struct {
	mu sync.Mutex
	m  map[string]*keyLock
}

// keyLock is one key's lock: a one-slot semaphore, so that waiting for it
// heeds a context.
type keyLock struct {
	sem  chan struct{}
	refs int // writers holding or awaiting it
}

// lock takes key's lock, waiting while another writer holds it, and returns
// the function that releases it; or ctx's error if ctx ends first.
func (l *keyLocks) lock(ctx context.Context, key string) (func(), error) {
	l.mu.Lock()
	if l.m == nil {
		l.m = make(map[string]*keyLock)
	}
	k := l.m[key]
	if k == nil {
		k = &keyLock{sem: make(chan struct{}, 1)}
		l.m[key] = k
	}
	k.refs++
	l.mu.Unlock()
	release := func() {
		l.mu.Lock()
		if k.refs--; k.refs == 0 {
			delete(l.m, key)
		}
		l.mu.Unlock()
	}
	select {
	case k.sem <- struct{}{}:
		return func() { <-k.sem; release() }, nil
	case <-ctx.Done():
		release()
		return nil, ctx.Err()
	}
}
