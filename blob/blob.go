// Package blob stores object bytes: the contents of S3 objects and multipart
// upload parts, apart from their metadata (which lives in package store). A blob
// is an immutable byte string under a key; writing a key replaces its blob as a
// whole, atomically, so a reader sees the old bytes or the new ones, never a mix.
//
// Keys are opaque strings of 1 to MaxKeyLen bytes. Implementations must not use
// them as file names: a key may hold "../", NUL, Unicode or be 1,024 bytes long.
// Callers that keep metadata elsewhere should write each version of an object
// under a fresh key (a random blob ID), commit the metadata, then delete the
// blob it replaced; the metadata commit then orders concurrent writers, and a
// reader holding the old ID never sees the new bytes.
//
// Backends live in sub-packages (fs, memory, and tiered, which keeps small
// blobs in the database's store.BlobStore and the others in another backend);
// blobtest holds the conformance suite they all pass.
package blob

import (
	"context"
	"errors"
	"fmt"
	"io"
)

// MaxKeyLen is the longest key a Store accepts, in bytes.
const MaxKeyLen = 4096

// ErrNotFound means no blob is stored under the key. Backends return it wrapped.
var ErrNotFound = errors.New("blob: not found")

// ErrInvalidKey means the key is empty or longer than MaxKeyLen.
var ErrInvalidKey = errors.New("blob: invalid key")

// Info describes a blob written by Put or Concat.
type Info struct {
	// Size is the length of the blob in bytes.
	Size int64
	// MD5 is the digest of the blob's bytes, computed while Put streamed them
	// (S3's ETag). Concat leaves it nil: it copies its sources without reading
	// them through a hash, and S3 derives a multipart object's ETag and
	// checksums from those of its parts.
	MD5 []byte
}

// Reader reads one blob. It is a snapshot: a Put or Delete of the key while it
// is open does not change what it reads. It satisfies io.ReadSeeker for
// http.ServeContent, and io.ReaderAt for ranged reads from several goroutines.
type Reader interface {
	io.ReadSeekCloser
	io.ReaderAt
	// Size is the blob's length in bytes.
	Size() int64
}

// Store keeps blobs. All methods are safe for concurrent use, also by several
// processes sharing a backend's storage.
type Store interface {
	// Put streams r into the blob under key, replacing any blob there, and
	// reports its size and digests. It is atomic and durable: when it returns
	// nil the whole blob is stored and survives a crash of the process (and,
	// where the backend persists, of the machine); when it returns an error (r
	// failed, ctx was cancelled) the key is unchanged and nothing of the
	// attempt is left behind. Concurrent Puts of one key leave one of them
	// whole. Put does not buffer the blob in memory. A ctx cancelled while r
	// blocks takes effect when r returns.
	Put(ctx context.Context, key string, r io.Reader) (Info, error)
	// Open returns a Reader of the blob under key, or an error wrapping
	// ErrNotFound. The caller closes it.
	Open(ctx context.Context, key string) (Reader, error)
	// Delete removes the blob under key, or returns an error wrapping
	// ErrNotFound. Readers already open keep reading it.
	Delete(ctx context.Context, key string) error
	// Concat writes the blobs under srcs, in order, one after the other as the
	// blob under dst, with Put's atomicity and durability, and reports its Size
	// (MD5 nil). It streams: the bytes are copied once, by the
	// kernel where it can. dst may be one of srcs (its old bytes are read). A
	// missing source gives an error wrapping ErrNotFound and leaves dst
	// unchanged. The sources are not deleted. No sources make an empty blob.
	Concat(ctx context.Context, dst string, srcs ...string) (Info, error)
}

// CheckKey returns an error wrapping ErrInvalidKey unless key is a key a Store
// accepts: 1 to MaxKeyLen bytes, any bytes.
func CheckKey(key string) error {
	if key == "" || len(key) > MaxKeyLen {
		return fmt.Errorf("%w: %d bytes, want 1 to %d", ErrInvalidKey, len(key), MaxKeyLen)
	}
	return nil
}

// CopyBufferSize is the size of the buffer Put implementations copy through,
// and how often (in bytes) they check their context.
const CopyBufferSize = 256 << 10

// Copy copies from r to w through buf, as io.CopyBuffer does, but checks ctx
// before each read, so that a cancelled context stops a long copy. It returns
// the bytes written and the first error (ctx.Err() when cancelled).
func Copy(ctx context.Context, w io.Writer, r io.Reader, buf []byte) (int64, error) {
	var n int64
	for {
		if err := ctx.Err(); err != nil {
			return n, err
		}
		nr, rerr := r.Read(buf)
		if nr > 0 {
			nw, werr := w.Write(buf[:nr])
			n += int64(nw)
			if werr != nil {
				return n, werr
			}
			if nw != nr {
				return n, io.ErrShortWrite
			}
		}
		if rerr == io.EOF {
			return n, nil
		}
		if rerr != nil {
			return n, rerr
		}
	}
}

// Fill reads r into buf until buf is full or r ends (eof), checking ctx
// before each read as Copy does. It returns the bytes read; an error other
// than io.EOF (or ctx's) ends it.
func Fill(ctx context.Context, r io.Reader, buf []byte) (n int, eof bool, err error) {
	for n < len(buf) {
		if err := ctx.Err(); err != nil {
			return n, false, err
		}
		m, err := r.Read(buf[n:])
		n += m
		if err == io.EOF {
			return n, true, nil
		}
		if err != nil {
			return n, false, err
		}
	}
	return n, false, nil
}
