// Package accesskey generates AWS access keys in AWS's shapes: a 20-character
// access key ID (a four-letter prefix naming its kind and 16 upper-case base32
// characters) and a 40-character secret access key.
package accesskey

import (
	"encoding/base32"
	"encoding/base64"
	"fmt"
	"io"
)

// Kind is the kind of an access key, which is also the prefix of its ID.
type Kind string

// Kinds of access keys.
const (
	// LongTerm keys belong to IAM users and the account root ("AKIA…").
	LongTerm Kind = "AKIA"
	// Temporary keys belong to role sessions ("ASIA…").
	Temporary Kind = "ASIA"
)

// New returns a fresh access key of kind: an ID of the kind's prefix followed by
// 16 upper-case base32 characters ([A-Z2-7], 80 random bits), and a 40-character
// secret of [A-Za-z0-9+/] (240 random bits), both drawn from rand
// (crypto/rand.Reader in production) in one read; callers sharing a rand that is
// not safe for concurrent use serialize their calls. Errors never contain the
// generated values.
func New(rand io.Reader, kind Kind) (id, secret string, err error) {
	if kind != LongTerm && kind != Temporary {
		return "", "", fmt.Errorf("new access key: unknown kind %q (want %q or %q)", kind, LongTerm, Temporary)
	}
	var b [10 + 30]byte
	if _, err := io.ReadFull(rand, b[:]); err != nil {
		return "", "", fmt.Errorf("new access key: read random bytes: %w", err)
	}
	id = string(kind) + base32.StdEncoding.EncodeToString(b[:10])
	secret = base64.StdEncoding.EncodeToString(b[10:])
	clear(b[:])
	return id, secret, nil
}
