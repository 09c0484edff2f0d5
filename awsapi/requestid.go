package awsapi

import (
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"io"
	"math/rand/v2"
	"sync"
)

// RequestIDs generates request IDs in UUID version 4 form
// (xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx), as AWS puts in x-amzn-RequestId: each ID
// carries 122 fresh random bits, so two IDs, consecutive or not, share nothing but
// the version and variant bits, and none can be guessed from another. The bits come
// from a ChaCha8 stream (math/rand/v2, a cryptographically strong generator) keyed
// once from the seed reader, which costs a fraction of reading 16 bytes from
// crypto/rand per request. A RequestIDs is safe for concurrent use; make one with
// NewRequestIDs.
type RequestIDs struct {
	mu  sync.Mutex
	src *rand.ChaCha8
}

// NewRequestIDs returns a generator keyed with 32 bytes read from r
// (crypto/rand.Reader in production).
func NewRequestIDs(r io.Reader) (*RequestIDs, error) {
	var seed [32]byte
	if _, err := io.ReadFull(r, seed[:]); err != nil {
		return nil, fmt.Errorf("awsapi: seed request ids: %w", err)
	}
	return &RequestIDs{src: rand.NewChaCha8(seed)}, nil
}

// Next returns a new random ID.
func (g *RequestIDs) Next() string {
	var b [16]byte
	g.mu.Lock()
	hi, lo := g.src.Uint64(), g.src.Uint64()
	g.mu.Unlock()
	binary.BigEndian.PutUint64(b[:8], hi)
	binary.BigEndian.PutUint64(b[8:], lo)
	return formatUUID4(&b)
}

// NewRequestIDFrom returns a single request ID whose 16 random bytes come from r.
func NewRequestIDFrom(r io.Reader) (string, error) {
	var b [16]byte
	if _, err := io.ReadFull(r, b[:]); err != nil {
		return "", fmt.Errorf("awsapi: read request id randomness: %w", err)
	}
	return formatUUID4(&b), nil
}

// formatUUID4 sets the version 4 and RFC 9562 variant bits of b and returns it in
// the 8-4-4-4-12 hex form.
func formatUUID4(b *[16]byte) string {
	b[6] = b[6]&0x0f | 0x40 // version 4
	b[8] = b[8]&0x3f | 0x80 // RFC 9562 variant
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
	return string(out[:])
}
