// Package fs is the blob store on a local file system: one file per blob under
// a root directory (keyless up uses DATA/blobs).
//
// A key is never used as a path. Its file is named by the hex SHA-256 of the
// key, in one of 256 shard directories named by the first two hex digits:
//
//	ROOT/3f/3fa0…(64 hex digits)
//
// Writes go to a temporary file in the shard directory (named with the prefix
// ".tmp-", which no blob's name has), which is fsynced, renamed over the blob's
// name and made durable by an fsync of the directory. A process killed during
// a write leaves its temporary file behind; RemoveStale deletes such files.
// Several processes may share a root.
package fs

import (
	"context"
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	iofs "io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/keyless-dev/keyless/blob"
)

// tmpPrefix starts the names of temporary files; blob names are hex digits.
const tmpPrefix = ".tmp-"

// concatChunk is how many bytes Concat copies between checks of its context.
const concatChunk = 64 << 20

// Store is a blob.Store on a directory. Its methods are safe for concurrent use.
type Store struct {
	root string
}

var _ blob.Store = (*Store)(nil)

// New returns the store rooted at dir, creating the directory (mode 0700) if
// it does not exist.
func New(dir string) (*Store, error) {
	if dir == "" {
		return nil, errors.New("blob/fs: empty directory")
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("blob/fs: create %s: %w", dir, err)
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("blob/fs: %w", err)
	}
	return &Store{root: abs}, nil
}

// Root is the directory the store keeps its files in.
func (s *Store) Root() string { return s.root }

// path returns the file name of key's blob and its shard directory.
func (s *Store) path(key string) (file, dir string) {
	sum := sha256.Sum256([]byte(key))
	name := hex.EncodeToString(sum[:])
	dir = filepath.Join(s.root, name[:2])
	return filepath.Join(dir, name), dir
}

// Put streams r into a temporary file while hashing it, then renames it over
// key's file. If the final fsync of the directory fails, the new blob may be
// in place although Put reports the error.
func (s *Store) Put(ctx context.Context, key string, r io.Reader) (blob.Info, error) {
	if err := blob.CheckKey(key); err != nil {
		return blob.Info{}, fmt.Errorf("blob/fs: put: %w", err)
	}
	md5h := md5.New()
	size, err := s.write(ctx, key, func(f *os.File) (int64, error) {
		return blob.Copy(ctx, io.MultiWriter(f, md5h), r, make([]byte, blob.CopyBufferSize))
	})
	if err != nil {
		return blob.Info{}, fmt.Errorf("blob/fs: put: %w", err)
	}
	return blob.Info{Size: size, MD5: md5h.Sum(nil)}, nil
}

// Concat copies the source files into a temporary file with copy_file_range
// (through (*os.File).ReadFrom), which shares extents on file systems that can
// (XFS, Btrfs) and copies in the kernel elsewhere, then renames it over dst's
// file.
func (s *Store) Concat(ctx context.Context, dst string, srcs ...string) (blob.Info, error) {
	if err := blob.CheckKey(dst); err != nil {
		return blob.Info{}, fmt.Errorf("blob/fs: concat: %w", err)
	}
	for _, k := range srcs {
		if err := blob.CheckKey(k); err != nil {
			return blob.Info{}, fmt.Errorf("blob/fs: concat: source: %w", err)
		}
	}
	// Open every source first: a missing one fails before anything is written,
	// and dst among the sources is read as it was.
	files := make([]*os.File, 0, len(srcs))
	defer func() {
		for _, f := range files {
			_ = f.Close()
		}
	}()
	for _, k := range srcs {
		f, err := s.open(k)
		if err != nil {
			return blob.Info{}, fmt.Errorf("blob/fs: concat: %w", err)
		}
		files = append(files, f)
	}
	size, err := s.write(ctx, dst, func(out *os.File) (int64, error) {
		var total int64
		for _, in := range files {
			for {
				if err := ctx.Err(); err != nil {
					return total, err
				}
				n, err := io.CopyN(out, in, concatChunk)
				total += n
				if errors.Is(err, io.EOF) {
					break
				}
				if err != nil {
					return total, err
				}
			}
		}
		return total, nil
	})
	if err != nil {
		return blob.Info{}, fmt.Errorf("blob/fs: concat: %w", err)
	}
	return blob.Info{Size: size}, nil
}

// write fills a temporary file in key's shard directory with fill and, when
// fill succeeds and ctx is still live, makes it key's blob: fsync, rename,
// fsync of the directory. On any failure the temporary file is removed.
func (s *Store) write(ctx context.Context, key string, fill func(*os.File) (int64, error)) (size int64, err error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	path, dir := s.path(key)
	if err := s.ensureDir(dir); err != nil {
		return 0, err
	}
	f, err := os.CreateTemp(dir, tmpPrefix+"*")
	if err != nil {
		return 0, err
	}
	tmp := f.Name()
	renamed := false
	defer func() {
		if !renamed {
			_ = f.Close() // a second Close only reports os.ErrClosed
			_ = os.Remove(tmp)
		}
	}()
	size, err = fill(f)
	if err != nil {
		return 0, err
	}
	if err := f.Sync(); err != nil {
		return 0, err
	}
	if err := f.Close(); err != nil {
		return 0, err
	}
	// The last moment a cancellation can still leave the key unchanged.
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	if err := os.Rename(tmp, path); err != nil {
		return 0, err
	}
	renamed = true
	if err := syncDir(dir); err != nil {
		return 0, fmt.Errorf("blob written, but not made durable: %w", err)
	}
	return size, nil
}

// ensureDir creates a shard directory if it is missing, durably.
func (s *Store) ensureDir(dir string) error {
	err := os.Mkdir(dir, 0o700)
	if errors.Is(err, iofs.ErrExist) {
		return nil
	}
	if err != nil {
		return err
	}
	return syncDir(s.root)
}

// syncDir fsyncs a directory, so that the entries created, renamed or removed
// in it survive a crash.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	return errors.Join(err, d.Close())
}

// open opens key's file, or returns an error wrapping blob.ErrNotFound.
func (s *Store) open(key string) (*os.File, error) {
	path, _ := s.path(key)
	f, err := os.Open(path)
	if errors.Is(err, iofs.ErrNotExist) {
		return nil, fmt.Errorf("%w: %q", blob.ErrNotFound, key)
	}
	return f, err
}

// Open opens key's file. An open file keeps its bytes when the blob is replaced
// or deleted, so the Reader is a snapshot.
func (s *Store) Open(ctx context.Context, key string) (blob.Reader, error) {
	if err := blob.CheckKey(key); err != nil {
		return nil, fmt.Errorf("blob/fs: open: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("blob/fs: open: %w", err)
	}
	f, err := s.open(key)
	if err != nil {
		return nil, fmt.Errorf("blob/fs: open: %w", err)
	}
	st, err := f.Stat()
	if err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("blob/fs: open: %w", err)
	}
	return &reader{File: f, size: st.Size()}, nil
}

// reader is an open blob file.
type reader struct {
	*os.File
	size int64
}

func (r *reader) Size() int64 { return r.size }

// Delete removes key's file and fsyncs its directory.
func (s *Store) Delete(ctx context.Context, key string) error {
	if err := blob.CheckKey(key); err != nil {
		return fmt.Errorf("blob/fs: delete: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("blob/fs: delete: %w", err)
	}
	path, dir := s.path(key)
	err := os.Remove(path)
	if errors.Is(err, iofs.ErrNotExist) {
		return fmt.Errorf("blob/fs: delete: %w: %q", blob.ErrNotFound, key)
	}
	if err == nil {
		err = syncDir(dir)
	}
	if err != nil {
		return fmt.Errorf("blob/fs: delete: %w", err)
	}
	return nil
}

// RemoveStale deletes the temporary files last modified before before: those
// of writes a killed process left. A write in progress keeps its temporary
// file's modification time recent, so before should be well in the past (an
// hour before start-up, say). It reports how many files it removed.
func (s *Store) RemoveStale(ctx context.Context, before time.Time) (int, error) {
	shards, err := os.ReadDir(s.root)
	if err != nil {
		return 0, fmt.Errorf("blob/fs: remove stale: %w", err)
	}
	removed := 0
	for _, sh := range shards {
		if !sh.IsDir() {
			continue
		}
		if err := ctx.Err(); err != nil {
			return removed, fmt.Errorf("blob/fs: remove stale: %w", err)
		}
		dir := filepath.Join(s.root, sh.Name())
		entries, err := os.ReadDir(dir)
		if err != nil {
			return removed, fmt.Errorf("blob/fs: remove stale: %w", err)
		}
		n := 0
		for _, e := range entries {
			if !strings.HasPrefix(e.Name(), tmpPrefix) {
				continue
			}
			info, err := e.Info()
			if errors.Is(err, iofs.ErrNotExist) {
				continue // renamed or removed meanwhile
			}
			if err != nil {
				return removed, fmt.Errorf("blob/fs: remove stale: %w", err)
			}
			if !info.ModTime().Before(before) {
				continue
			}
			if err := os.Remove(filepath.Join(dir, e.Name())); err != nil && !errors.Is(err, iofs.ErrNotExist) {
				return removed, fmt.Errorf("blob/fs: remove stale: %w", err)
			}
			n++
		}
		if n > 0 {
			if err := syncDir(dir); err != nil {
				return removed, fmt.Errorf("blob/fs: remove stale: %w", err)
			}
			removed += n
		}
	}
	return removed, nil
}
