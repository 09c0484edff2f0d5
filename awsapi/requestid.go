package awsapi

import (
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
)

// NewRequestID returns a request ID in UUID version 4 form
// (xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx), as AWS puts in x-amzn-RequestId,
// unique within the process and, with overwhelming probability, across
// processes: the first 8 bytes are drawn from crypto/rand once per process
// (58 random bits besides the version), the last 8 are a counter that starts
// at a random value (62 bits besides the variant). This costs a fraction of
// reading 16 random bytes per request. Request IDs correlate replies with
// audit events and logs; nothing relies on their being unpredictable.
func NewRequestID() string { return requestIDs().id() }

// id returns the next ID.
func (ids *requestIDState) id() string {
	n := ids.next.Add(1)
	var out [36]byte
	copy(out[:], ids.prefix[:])
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], n)
	b[0] = b[0]&0x3f | 0x80 // RFC 4122 variant
	hex.Encode(out[19:23], b[0:2])
	out[23] = '-'
	hex.Encode(out[24:36], b[2:8])
	return string(out[:])
}

// requestIDState is NewRequestID's per-process prefix and counter.
type requestIDState struct {
	prefix [19]byte // "xxxxxxxx-xxxx-4xxx-"
	next   atomic.Uint64
}

var requestIDs = sync.OnceValue(func() *requestIDState {
	var b [16]byte
	if _, err := io.ReadFull(rand.Reader, b[:]); err != nil {
		// crypto/rand.Reader does not fail on supported platforms.
		panic(err)
	}
	id, _ := NewRequestIDFrom(bytes.NewReader(b[:]))
	s := new(requestIDState)
	copy(s.prefix[:], id)
	s.next.Store(binary.BigEndian.Uint64(b[8:]))
	return s
})

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
