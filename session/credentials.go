package session

import (
	"encoding/base32"
	"encoding/base64"
	"fmt"
	"io"
)

// AccessKeyPrefix starts every temporary access key id, as on AWS.
const AccessKeyPrefix = "ASIA"

// NewCredentials returns a fresh temporary access key id, "ASIA" followed by 16
// upper-case base32 characters ([A-Z2-7], 80 random bits), and a 40-character secret
// access key of [A-Za-z0-9+/] (240 random bits), both drawn from rand
// (crypto/rand.Reader in production). Errors never contain the generated values.
func NewCredentials(rand io.Reader) (accessKeyID, secret string, err error) {
	var b [10 + 30]byte
	if _, err := io.ReadFull(rand, b[:]); err != nil {
		return "", "", fmt.Errorf("session: reading random credentials: %w", err)
	}
	accessKeyID = AccessKeyPrefix + base32.StdEncoding.EncodeToString(b[:10])
	secret = base64.StdEncoding.EncodeToString(b[10:])
	clear(b[:])
	return accessKeyID, secret, nil
}
