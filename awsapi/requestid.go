package awsapi

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
)

// NewRequestID returns a random request ID in UUID version 4 form
// (xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx), as AWS puts in x-amzn-RequestId.
func NewRequestID() string {
	id, err := NewRequestIDFrom(rand.Reader)
	if err != nil {
		// crypto/rand.Reader does not fail on supported platforms.
		panic(err)
	}
	return id
}

// NewRequestIDFrom is NewRequestID drawing its 16 random bytes from r, so
// that tests can inject a deterministic source.
func NewRequestIDFrom(r io.Reader) (string, error) {
	var b [16]byte
	if _, err := io.ReadFull(r, b[:]); err != nil {
		return "", fmt.Errorf("awsapi: read request id randomness: %w", err)
	}
	b[6] = b[6]&0x0f | 0x40 // version 4
	b[8] = b[8]&0x3f | 0x80 // RFC 4122 variant
	var out [36]byte
	hex.Encode(out[0:8], b[0:4])
	out[8] = '-'
	hex.Encode(out[9:13], b[4:6])
	out[13] = '-'
	hex.Encode(out[14:18], b[6:8])
	out[18] = '-'
	hex.Encode(out[19:23], b[8:10])
	out[23] = '-'
	hex.Encode(out[24:36], b[10:16])
	return string(out[:]), nil
}
