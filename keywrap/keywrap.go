// Package keywrap encrypts key material at rest under a key-encryption key (KEK).
//
// The KEK is 32 random bytes used with AES-256-GCM. It comes from, in order:
//  1. the environment variable KEYLESS_KEK (standard base64 of 32 bytes), which lets an
//     operator keep it in a secrets manager and out of the data directory;
//  2. the file kek.key in the data directory (mode 0600), created on first start;
//     a kek.key that group or others may read or write is refused.
//
// Every sealed value binds a caller-chosen label as additional authenticated data, so
// a ciphertext moved to another record does not open.
package keywrap

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// EnvVar is the environment variable that may hold the KEK (base64 of 32 bytes).
const EnvVar = "KEYLESS_KEK"

// FileName is the KEK's file name inside the data directory.
const FileName = "kek.key"

const version = 1

// ErrOpen means a sealed value could not be opened: wrong KEK, wrong label or tampering.
var ErrOpen = errors.New("keywrap: cannot open sealed value (wrong key-encryption key or corrupted data)")

// Box seals and opens values under one KEK. It is safe for concurrent use.
type Box struct {
	aead cipher.AEAD
}

// New returns a Box for a 32-byte KEK.
func New(kek []byte) (*Box, error) {
	if len(kek) != 32 {
		return nil, fmt.Errorf("keywrap: key-encryption key must be 32 bytes, got %d", len(kek))
	}
	block, err := aes.NewCipher(kek)
	if err != nil {
		return nil, fmt.Errorf("keywrap: new cipher: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("keywrap: new GCM: %w", err)
	}
	return &Box{aead: aead}, nil
}

// ErrNoKey means there is no key-encryption key to load: KEYLESS_KEK is unset and the
// data directory holds no kek.key.
var ErrNoKey = errors.New("keywrap: no key-encryption key")

// Load returns the Box for a data directory: the KEK from getenv(EnvVar) when set,
// else from DIR/kek.key, creating that file (0600) with a fresh random key if absent.
// A kek.key that group or others may read or write is refused.
func Load(dir string, getenv func(string) string) (*Box, error) {
	return load(dir, getenv, true)
}

// LoadExisting is Load for commands that must not create a key: when KEYLESS_KEK is
// unset and DIR/kek.key does not exist it returns an error wrapping ErrNoKey.
func LoadExisting(dir string, getenv func(string) string) (*Box, error) {
	return load(dir, getenv, false)
}

func load(dir string, getenv func(string) string, create bool) (*Box, error) {
	if v := strings.TrimSpace(getenv(EnvVar)); v != "" {
		kek, err := base64.StdEncoding.DecodeString(v)
		if err != nil {
			return nil, fmt.Errorf("keywrap: %s is not valid base64: %w", EnvVar, err)
		}
		return New(kek)
	}
	path := filepath.Join(dir, FileName)
	data, err := readPrivate(path)
	switch {
	case err == nil:
		kek, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(data)))
		if err != nil {
			return nil, fmt.Errorf("keywrap: %s is not valid base64: %w", path, err)
		}
		return New(kek)
	case errors.Is(err, os.ErrNotExist) && !create:
		return nil, fmt.Errorf("%w: %s is unset and %s does not exist", ErrNoKey, EnvVar, path)
	case errors.Is(err, os.ErrNotExist):
		kek := make([]byte, 32)
		if _, err := io.ReadFull(rand.Reader, kek); err != nil {
			return nil, fmt.Errorf("keywrap: generate key-encryption key: %w", err)
		}
		if err := writeNew(path, []byte(base64.StdEncoding.EncodeToString(kek)+"\n")); err != nil {
			if errors.Is(err, os.ErrExist) { // another process won the race: use its key
				return load(dir, getenv, false)
			}
			return nil, err
		}
		return New(kek)
	default:
		return nil, err
	}
}

// readPrivate reads the key file at path, refusing it when group or others may read
// or write it, as ssh refuses a private key others can read. The mode is checked on
// the open file, so it is the mode of what is read.
func readPrivate(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("keywrap: read %s: %w", path, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("keywrap: read %s: %w", path, err)
	}
	if err := checkPrivate(path, fi.Mode()); err != nil {
		return nil, err
	}
	data, err := io.ReadAll(f)
	if err != nil {
		return nil, fmt.Errorf("keywrap: read %s: %w", path, err)
	}
	return data, nil
}

// checkPrivate returns an error saying how to fix it when mode (of the file at path,
// which holds secrets) lets group or others read or write it.
func checkPrivate(path string, mode fs.FileMode) error {
	perm := mode.Perm()
	if perm&0o077 == 0 {
		return nil
	}
	what := "writable"
	if perm&0o044 != 0 {
		what = "readable"
	}
	return fmt.Errorf("%s is %s by others (mode %04o): chmod 600 %s", path, what, perm, path)
}

// writeNew creates path exclusively with mode 0600 and writes data to it.
func writeNew(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("keywrap: create %s: %w", path, err)
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		os.Remove(path)
		return fmt.Errorf("keywrap: write %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		os.Remove(path)
		return fmt.Errorf("keywrap: close %s: %w", path, err)
	}
	return nil
}

// Seal encrypts plaintext bound to label. The result is version || nonce || ciphertext.
func (b *Box) Seal(label string, plaintext []byte) ([]byte, error) {
	out := make([]byte, 1+b.aead.NonceSize(), 1+b.aead.NonceSize()+len(plaintext)+b.aead.Overhead())
	out[0] = version
	if _, err := io.ReadFull(rand.Reader, out[1:]); err != nil {
		return nil, fmt.Errorf("keywrap: nonce: %w", err)
	}
	return b.aead.Seal(out, out[1:], plaintext, []byte(label)), nil
}

// Open decrypts a value sealed with the same label; it returns ErrOpen on any mismatch.
func (b *Box) Open(label string, sealed []byte) ([]byte, error) {
	n := b.aead.NonceSize()
	if len(sealed) < 1+n+b.aead.Overhead() || sealed[0] != version {
		return nil, ErrOpen
	}
	pt, err := b.aead.Open(nil, sealed[1:1+n], sealed[1+n:], []byte(label))
	if err != nil {
		return nil, ErrOpen
	}
	return pt, nil
}
