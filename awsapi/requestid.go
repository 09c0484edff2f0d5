package awsapi

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"io"
	"sync/atomic"
)

// RequestIDs generates request IDs in UUID version 4 form
// (xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx), as AWS puts in x-amzn-RequestId, unique
// within the generator and, with overwhelming probability, across generators: the
// first 8 bytes are random, drawn once (58 random bits besides the version), the last
// 8 are a counter that starts at a random value (62 bits besides the variant). This
// costs a fraction of reading 16 random bytes per request. Request IDs correlate
// replies with audit events and logs; nothing relies on their being unpredictable.
// A RequestIDs is safe for concurrent use.
type RequestIDs struct {
	prefix [19]byte // "xxxxxxxx-xxxx-4xxx-"
	next   atomic.Uint64
}

// NewRequestIDs returns a generator seeded from r (crypto/rand.Reader in production).
func NewRequestIDs(r io.Reader) (*RequestIDs, error) {
	var b [16]byte
	if _, err := io.ReadFull(r, b[:]); err != nil {
		return nil, fmt.Errorf("awsapi: seed request ids: %w", err)
	}
	id, _ := NewRequestIDFrom(bytes.NewReader(b[:]))
	g := new(RequestIDs)
	copy(g.prefix[:], id)
	g.next.Store(binary.BigEndian.Uint64(b[8:]))
	return g, nil
}

// Next returns the next ID.
func (g *RequestIDs) Next() string {
	n := g.next.Add(1)
	var out [36]byte
	copy(out[:], g.prefix[:])
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], n)
	b[0] = b[0]&0x3f | 0x80 // RFC 4122 variant
	hex.Encode(out[19:23], b[0:2])
	out[23] = '-'
	hex.Encode(out[24:36], b[2:8])
	return string(out[:])
}

// NewRequestIDFrom returns a single request ID whose 16 random bytes come from r.
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
