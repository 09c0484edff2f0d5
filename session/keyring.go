package session

import (
	"crypto/aes"
	"crypto/cipher"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// MaxSessionLifetime is the longest a session credential can live (DurationSeconds
// 43200). A key that stopped being current longer ago than this can no longer have
// live tokens; see Keyring.Prune.
const MaxSessionLifetime = 43200 * time.Second

const (
	keySize        = 32 // AES-256
	keyringVersion = 1
	// keyRecordSize is id (4) | created Unix seconds (8) | key (32).
	keyRecordSize = 4 + 8 + keySize
	// maxKeys bounds a key ring; rotation with pruning keeps it at a handful.
	maxKeys = 1024
)

// KeyInfo describes one key of a Keyring without its key material.
type KeyInfo struct {
	// ID is the key id written into every token sealed under the key.
	ID uint32
	// CreatedAt is when the key was generated (second precision).
	CreatedAt time.Time
	// Current reports that new tokens are sealed under this key.
	Current bool
}

type key struct {
	id      uint32
	created time.Time
	secret  [keySize]byte
	aead    cipher.AEAD
}

// keyset is an immutable snapshot of a key ring. keys are in rotation order; the
// last one is current. Readers use it without locking.
type keyset struct {
	keys []*key
}

func (ks *keyset) current() *key { return ks.keys[len(ks.keys)-1] }

func (ks *keyset) find(id uint32) *key {
	// A ring holds a handful of keys: a linear scan beats a map.
	for i := len(ks.keys) - 1; i >= 0; i-- {
		if k := ks.keys[i]; k.id == id {
			return k
		}
	}
	return nil
}

// Keyring is a rotatable set of AES-256-GCM keys, each with a small random id and a
// creation time. The newest key is current: Seal uses it, Open accepts every key in
// the ring.
//
// Concurrency: a Keyring is safe for concurrent use. Open and Seal read an immutable
// snapshot through an atomic pointer and never block; Rotate, Prune and
// UnmarshalBinary serialize among themselves and publish a new snapshot, so a token
// is opened either under the ring before or after a rotation, never a torn one.
//
// The zero Keyring is empty: Open rejects every token and Seal fails until
// UnmarshalBinary (or Rotate) gives it a key.
//
// Replicas that share a ring through the store should reload it before the newest key
// is used widely; a token sealed under a key a replica has not loaded yet is
// rejected there as ErrMalformed.
type Keyring struct {
	mu   sync.Mutex // serializes writers
	set  atomic.Pointer[keyset]
	pool sync.Pool // *openState, see seal.go
}

// NewKeyring returns a key ring holding one fresh key created at now. rand supplies
// the key material and id (crypto/rand.Reader in production).
func NewKeyring(rand io.Reader, now time.Time) (*Keyring, error) {
	k := new(Keyring)
	if err := k.Rotate(rand, now); err != nil {
		return nil, err
	}
	return k, nil
}

func newKey(id uint32, created time.Time, secret *[keySize]byte) (*key, error) {
	block, err := aes.NewCipher(secret[:])
	if err != nil {
		return nil, fmt.Errorf("session: new cipher: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("session: new GCM: %w", err)
	}
	return &key{id: id, created: created.Truncate(0).UTC(), secret: *secret, aead: aead}, nil
}

// Rotate generates a new key from rand, created at now, and makes it current. Older
// keys stay in the ring and keep opening the tokens sealed under them until Prune
// drops them.
func (k *Keyring) Rotate(rand io.Reader, now time.Time) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	old := k.set.Load()
	var n int
	if old != nil {
		n = len(old.keys)
	}
	if n >= maxKeys {
		return fmt.Errorf("session: key ring already holds %d keys; prune it first", n)
	}

	var buf [4 + keySize]byte
	var id uint32
	for attempt := 0; ; attempt++ {
		if attempt == 8 {
			return errors.New("session: random source keeps repeating key ids")
		}
		if _, err := io.ReadFull(rand, buf[:4]); err != nil {
			return fmt.Errorf("session: reading random key id: %w", err)
		}
		id = binary.BigEndian.Uint32(buf[:4])
		if id != 0 && (old == nil || old.find(id) == nil) {
			break
		}
	}
	var secret [keySize]byte
	if _, err := io.ReadFull(rand, secret[:]); err != nil {
		return fmt.Errorf("session: reading random key: %w", err)
	}
	nk, err := newKey(id, time.Unix(now.Unix(), 0), &secret)
	clear(secret[:])
	if err != nil {
		return err
	}
	keys := make([]*key, 0, n+1)
	if old != nil {
		keys = append(keys, old.keys...)
	}
	k.set.Store(&keyset{keys: append(keys, nk)})
	return nil
}

// Prune drops every non-current key that stopped being current (that is, whose
// successor was created) before the given instant, and returns how many it dropped.
// The current key is always kept.
//
// Callers pass now − MaxSessionLifetime (43200 s), plus whatever margin they allow
// replicas to pick up a rotation late: a token sealed under a key expires at most
// MaxSessionLifetime after that key was replaced, so older keys can only open dead
// tokens. Tokens sealed under a pruned key fail to open with ErrMalformed.
func (k *Keyring) Prune(before time.Time) int {
	k.mu.Lock()
	defer k.mu.Unlock()
	old := k.set.Load()
	if old == nil || len(old.keys) < 2 {
		return 0
	}
	keys := make([]*key, 0, len(old.keys))
	for i, key := range old.keys[:len(old.keys)-1] {
		retired := old.keys[i+1].created
		if retired.Before(before) {
			continue
		}
		keys = append(keys, key)
	}
	keys = append(keys, old.current())
	dropped := len(old.keys) - len(keys)
	if dropped > 0 {
		k.set.Store(&keyset{keys: keys})
	}
	return dropped
}

// Keys describes the ring's keys in rotation order (oldest first, current last).
func (k *Keyring) Keys() []KeyInfo {
	ks := k.set.Load()
	if ks == nil {
		return nil
	}
	out := make([]KeyInfo, len(ks.keys))
	for i, key := range ks.keys {
		out[i] = KeyInfo{ID: key.id, CreatedAt: key.created, Current: i == len(ks.keys)-1}
	}
	return out
}

// String describes the ring without key material.
func (k *Keyring) String() string {
	ks := k.set.Load()
	if ks == nil {
		return "session.Keyring{empty}"
	}
	return "session.Keyring{" + strconv.Itoa(len(ks.keys)) + " keys, current " +
		strconv.FormatUint(uint64(ks.current().id), 10) + "}"
}

// MarshalBinary encodes the ring, key material included, for the store. The bytes
// are secret: the caller encrypts them at rest (keywrap) before storing them.
//
// Format: version (1) | count (uvarint) | count × (id uint32 | created Unix seconds
// int64 | 32-byte key), big-endian, oldest first, current last.
func (k *Keyring) MarshalBinary() ([]byte, error) {
	ks := k.set.Load()
	if ks == nil {
		return nil, errors.New("session: cannot marshal an empty key ring")
	}
	b := make([]byte, 0, 1+binary.MaxVarintLen64+len(ks.keys)*keyRecordSize)
	b = append(b, keyringVersion)
	b = binary.AppendUvarint(b, uint64(len(ks.keys)))
	for _, key := range ks.keys {
		b = binary.BigEndian.AppendUint32(b, key.id)
		b = binary.BigEndian.AppendUint64(b, uint64(key.created.Unix()))
		b = append(b, key.secret[:]...)
	}
	return b, nil
}

// UnmarshalBinary replaces the ring's keys with those encoded by MarshalBinary. On
// error the ring is left unchanged. Error messages never contain key material.
func (k *Keyring) UnmarshalBinary(data []byte) error {
	if len(data) < 2 || data[0] != keyringVersion {
		return errors.New("session: key ring: unknown format version")
	}
	n, used := binary.Uvarint(data[1:])
	if used <= 0 || n == 0 || n > maxKeys {
		return errors.New("session: key ring: bad key count")
	}
	data = data[1+used:]
	if uint64(len(data)) != n*keyRecordSize {
		return errors.New("session: key ring: wrong length")
	}
	keys := make([]*key, 0, n)
	seen := make(map[uint32]bool, n)
	for range n {
		id := binary.BigEndian.Uint32(data)
		if id == 0 || seen[id] {
			return errors.New("session: key ring: zero or duplicate key id")
		}
		seen[id] = true
		created := time.Unix(int64(binary.BigEndian.Uint64(data[4:])), 0)
		var secret [keySize]byte
		copy(secret[:], data[12:keyRecordSize])
		nk, err := newKey(id, created, &secret)
		clear(secret[:])
		if err != nil {
			return err
		}
		keys = append(keys, nk)
		data = data[keyRecordSize:]
	}
	k.mu.Lock()
	k.set.Store(&keyset{keys: keys})
	k.mu.Unlock()
	return nil
}
