// Package memory is an in-memory blob store, for tests. It holds every blob in
// memory (Put reads the whole stream before storing it), so it is not for large
// objects.
package memory

import (
	"bytes"
	"context"
	"crypto/md5"
	"fmt"
	"io"
	"sort"
	"sync"

	"github.com/keyless-dev/keyless/blob"
)

// Store is a blob.Store in memory. Its zero value is an empty store, ready to
// use; it must not be copied after first use.
type Store struct {
	mu    sync.RWMutex
	blobs map[string][]byte // never modified once stored
}

var _ blob.Store = (*Store)(nil)

// New returns an empty store.
func New() *Store { return &Store{} }

// Put reads r to its end, then stores what it read.
func (s *Store) Put(ctx context.Context, key string, r io.Reader) (blob.Info, error) {
	if err := blob.CheckKey(key); err != nil {
		return blob.Info{}, fmt.Errorf("blob/memory: put: %w", err)
	}
	var buf bytes.Buffer
	if _, err := blob.Copy(ctx, &buf, r, make([]byte, 32<<10)); err != nil {
		return blob.Info{}, fmt.Errorf("blob/memory: put: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return blob.Info{}, fmt.Errorf("blob/memory: put: %w", err)
	}
	b := buf.Bytes()
	m := md5.Sum(b)
	s.store(key, b)
	return blob.Info{Size: int64(len(b)), MD5: m[:]}, nil
}

func (s *Store) store(key string, b []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.blobs == nil {
		s.blobs = make(map[string][]byte)
	}
	s.blobs[key] = b
}

func (s *Store) load(key string) ([]byte, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	b, ok := s.blobs[key]
	return b, ok
}

// Open returns a reader of the blob as stored now.
func (s *Store) Open(ctx context.Context, key string) (blob.Reader, error) {
	if err := blob.CheckKey(key); err != nil {
		return nil, fmt.Errorf("blob/memory: open: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("blob/memory: open: %w", err)
	}
	b, ok := s.load(key)
	if !ok {
		return nil, fmt.Errorf("blob/memory: open: %w: %q", blob.ErrNotFound, key)
	}
	return reader{bytes.NewReader(b)}, nil
}

// reader is a bytes.Reader with a Close that does nothing.
type reader struct{ *bytes.Reader }

func (reader) Close() error { return nil }

// Delete removes the blob under key.
func (s *Store) Delete(ctx context.Context, key string) error {
	if err := blob.CheckKey(key); err != nil {
		return fmt.Errorf("blob/memory: delete: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("blob/memory: delete: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.blobs[key]; !ok {
		return fmt.Errorf("blob/memory: delete: %w: %q", blob.ErrNotFound, key)
	}
	delete(s.blobs, key)
	return nil
}

// Concat stores the concatenation of the sources under dst.
func (s *Store) Concat(ctx context.Context, dst string, srcs ...string) (blob.Info, error) {
	if err := blob.CheckKey(dst); err != nil {
		return blob.Info{}, fmt.Errorf("blob/memory: concat: %w", err)
	}
	var parts [][]byte
	for _, k := range srcs {
		if err := blob.CheckKey(k); err != nil {
			return blob.Info{}, fmt.Errorf("blob/memory: concat: source: %w", err)
		}
		b, ok := s.load(k)
		if !ok {
			return blob.Info{}, fmt.Errorf("blob/memory: concat: %w: %q", blob.ErrNotFound, k)
		}
		parts = append(parts, b)
	}
	if err := ctx.Err(); err != nil {
		return blob.Info{}, fmt.Errorf("blob/memory: concat: %w", err)
	}
	b := bytes.Join(parts, nil)
	s.store(dst, b)
	return blob.Info{Size: int64(len(b))}, nil
}

// Keys returns the keys of the stored blobs in byte order, for tests that
// check nothing was left behind.
func (s *Store) Keys() []string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	keys := make([]string, 0, len(s.blobs))
	for k := range s.blobs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
