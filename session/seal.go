package session

import (
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"
)

// MaxTokenSize is the largest session token, in bytes of its encoded (string) form,
// that STS may hand out (the 2026 AWS limit) and that Open accepts.
const MaxTokenSize = 4096

// Errors returned by Seal and Open. Open returns exactly ErrMalformed or ErrExpired,
// unwrapped, so that the STS layer can map them with errors.Is or ==.
var (
	// ErrMalformed means the token is not an authentic keyless session token: not
	// ours, tampered with, truncated, sealed under an unknown or pruned key, or not a
	// token at all. STS answers InvalidClientTokenId (403) "The security token
	// included in the request is invalid."
	ErrMalformed = errors.New("session: invalid session token")
	// ErrExpired means the token is authentic but its Expiration has passed. STS
	// answers ExpiredToken (403) "The security token included in the request is
	// expired".
	ErrExpired = errors.New("session: session token expired")
	// ErrTooLarge means the claims do not fit in a MaxTokenSize-byte token. STS
	// answers PackedPolicyTooLarge.
	ErrTooLarge = errors.New("session: session token would exceed 4096 bytes")
	// ErrInvalidClaims means Seal was given claims it refuses to seal, such as no
	// expiration. The wrapping error names the field, never its value.
	ErrInvalidClaims = errors.New("session: invalid claims")
)

// Token layout. The token string is standard base64 (with padding, the alphabet AWS
// session tokens use) of
//
//	version (1 byte) | key id (4, big-endian) | nonce (12) | AES-256-GCM(plaintext) + tag (16)
//
// with version and key id as the additional authenticated data, and plaintext
//
//	body encoding (1 byte: 0 raw, 1 lz, see lz.go) | body length (uvarint) | body | zero padding
//
// where the body is the claims encoding of claims.go, raw or compressed. The padding
// implements SealOptions.MinSize and is authenticated like the rest.
const (
	tokenVersion = 1
	headerLen    = 1 + 4
	nonceLen     = 12
	tagLen       = 16
	overhead     = headerLen + nonceLen + tagLen

	bodyRaw = 0
	bodyLZ  = 1

	// maxRawToken is the largest decoded token Open considers.
	maxRawToken = MaxTokenSize / 4 * 3
	// compressAbove is the claims size from which Seal tries compression.
	compressAbove = 512
	// maxPayload bounds the uncompressed claims encoding, at Seal and when
	// decompressing at Open.
	maxPayload = 32 << 10
)

// SealOptions tune Seal.
type SealOptions struct {
	// MinSize pads the token to at least this many bytes (the 2026 STS parameter
	// MinimumSessionTokenSize, 0–MaxTokenSize). The token may exceed MinSize by up
	// to 3 bytes, because base64 comes in 4-byte groups; it never exceeds
	// MaxTokenSize.
	MinSize int
}

// Utilization returns the SessionTokenUtilization STS reports for a token of size
// bytes: the percentage of MaxTokenSize it uses, rounded up, from 0 to 100. The
// matching SessionTokenSize is simply len(token).
func Utilization(size int) int {
	if size <= 0 {
		return 0
	}
	if size >= MaxTokenSize {
		return 100
	}
	return (size*100 + MaxTokenSize - 1) / MaxTokenSize
}

// Sealer seals claims into session tokens under a Keyring's current key. It is safe
// for concurrent use if its random source is (crypto/rand.Reader is).
type Sealer struct {
	keys *Keyring
	rand io.Reader
	pool sync.Pool // *sealState
}

// NewSealer returns a Sealer that seals under keys' current key and draws nonces
// from rand (crypto/rand.Reader in production; it must be safe for concurrent use if
// the Sealer is). Rotating keys takes effect on the next Seal.
func NewSealer(keys *Keyring, rand io.Reader) *Sealer {
	return &Sealer{keys: keys, rand: rand}
}

// Keyring returns the key ring the Sealer seals under.
func (s *Sealer) Keyring() *Keyring { return s.keys }

type sealState struct {
	payload []byte
	comp    []byte
	lz      *lzEncoder
	plain   []byte
	raw     []byte
	b64     []byte          // the token, before its copy to a string
	hdr     [headerLen]byte // the additional data, kept apart from dst as cipher.AEAD requires
}

// Seal is SealWithOptions with no options.
func (s *Sealer) Seal(c Claims) (string, error) {
	return s.SealWithOptions(c, SealOptions{})
}

// SealWithOptions seals c into a session token under the current key. The token's
// length is its SessionTokenSize; see Utilization. It returns ErrTooLarge (wrapped)
// if the token would exceed MaxTokenSize and ErrInvalidClaims (wrapped) if c has no
// access key id, no secret, or an Expiration that is zero or not after IssuedAt.
func (s *Sealer) SealWithOptions(c Claims, o SealOptions) (string, error) {
	if o.MinSize < 0 || o.MinSize > MaxTokenSize {
		return "", fmt.Errorf("session: MinSize %d is outside 0..%d", o.MinSize, MaxTokenSize)
	}
	switch {
	case c.AccessKeyID == "":
		return "", fmt.Errorf("%w: empty AccessKeyID", ErrInvalidClaims)
	case c.SecretAccessKey == "":
		return "", fmt.Errorf("%w: empty SecretAccessKey", ErrInvalidClaims)
	case c.Expiration.IsZero():
		return "", fmt.Errorf("%w: no Expiration", ErrInvalidClaims)
	case c.Expiration.Unix() <= c.IssuedAt.Unix():
		return "", fmt.Errorf("%w: Expiration is not after IssuedAt", ErrInvalidClaims)
	}
	ks := s.keys.set.Load()
	if ks == nil {
		return "", errors.New("session: key ring has no keys")
	}
	key := ks.current()

	st, _ := s.pool.Get().(*sealState)
	if st == nil {
		st = new(sealState)
	}
	defer s.pool.Put(st)

	st.payload = appendClaims(st.payload[:0], &c)
	if len(st.payload) > maxPayload {
		return "", fmt.Errorf("%w (claims encode to %d bytes)", ErrTooLarge, len(st.payload))
	}
	body, enc := st.payload, byte(bodyRaw)
	// Small claims (no session policy, few tags) make a token of a few hundred bytes
	// either way: compressing them costs more time than the bytes it saves.
	if len(st.payload) > compressAbove {
		if st.lz == nil {
			st.lz = newLZEncoder()
		}
		st.comp = st.lz.encode(st.comp[:0], st.payload)
		if len(st.comp) < len(body) {
			body, enc = st.comp, bodyLZ
		}
	}

	plainLen := 1 + uvarintLen(uint64(len(body))) + len(body)
	rawLen := overhead + plainLen
	if n := base64.StdEncoding.EncodedLen(rawLen); n > MaxTokenSize {
		return "", fmt.Errorf("%w (would be %d bytes)", ErrTooLarge, n)
	}
	if want := (o.MinSize + 3) / 4 * 3; rawLen < want {
		plainLen += want - rawLen
		rawLen = want
	}

	plain := append(st.plain[:0], enc)
	plain = binary.AppendUvarint(plain, uint64(len(body)))
	plain = append(plain, body...)
	for len(plain) < plainLen {
		plain = append(plain, 0)
	}
	st.plain = plain

	raw := append(st.raw[:0], tokenVersion)
	raw = binary.BigEndian.AppendUint32(raw, key.id)
	raw = append(raw, make([]byte, nonceLen)...)
	if _, err := io.ReadFull(s.rand, raw[headerLen:]); err != nil {
		return "", fmt.Errorf("session: reading random nonce: %w", err)
	}
	copy(st.hdr[:], raw)
	raw = key.aead.Seal(raw, raw[headerLen:], plain, st.hdr[:])
	st.raw = raw
	clear(st.payload)
	clear(st.plain)
	if st.lz != nil { // scrub what compression saw of the secret
		clear(st.comp)
		clear(st.lz.buf[len(lzDict):])
	}
	// Encode into the pooled buffer: EncodeToString would allocate both an
	// encoding buffer and the string copied from it.
	st.b64 = base64.StdEncoding.AppendEncode(st.b64[:0], raw)
	return string(st.b64), nil
}

func uvarintLen(x uint64) int {
	n := 1
	for x >= 0x80 {
		x >>= 7
		n++
	}
	return n
}

// Open is the Keyring's Open: it opens token under the Sealer's key ring.
func (s *Sealer) Open(token string, now time.Time) (Claims, error) {
	return s.keys.Open(token, now)
}

type openState struct {
	raw [maxRawToken]byte
	out []byte // lzDict followed by room for maxPayload decoded bytes
}

// minToken is the shortest possible token: the overhead plus a one-byte body
// encoding, a one-byte length, and an empty body, in base64.
const minToken = (overhead + 2 + 2) / 3 * 4

// Open authenticates and decrypts token with any key of the ring and returns its
// claims. It returns ErrMalformed for anything that is not an authentic token of this
// ring (including a token sealed under a pruned key, or one longer than
// MaxTokenSize, which is rejected before decoding), and ErrExpired, together with
// the claims, for an authentic token whose Expiration is not after now. Callers must
// not authorize anything with the claims returned alongside ErrExpired; they are
// there for audit (which must still not log the secret).
//
// Open never panics and does work bounded by MaxTokenSize whatever the input.
func (k *Keyring) Open(token string, now time.Time) (Claims, error) {
	if len(token) < minToken || len(token) > MaxTokenSize || len(token)%4 != 0 {
		return Claims{}, ErrMalformed
	}
	ks := k.set.Load()
	if ks == nil {
		return Claims{}, ErrMalformed
	}
	st, _ := k.pool.Get().(*openState)
	if st == nil {
		st = new(openState)
	}
	defer k.pool.Put(st)

	// Strict decoding rejects non-zero padding bits; checking the decoded length
	// against the input rejects the \r and \n the decoder would otherwise skip. So
	// exactly one token string maps to each byte string.
	n, err := base64.StdEncoding.Strict().Decode(st.raw[:], []byte(token))
	if err != nil || base64.StdEncoding.EncodedLen(n) != len(token) || n < overhead+2 {
		return Claims{}, ErrMalformed
	}
	raw := st.raw[:n]
	if raw[0] != tokenVersion {
		return Claims{}, ErrMalformed
	}
	key := ks.find(binary.BigEndian.Uint32(raw[1:headerLen]))
	if key == nil {
		return Claims{}, ErrMalformed
	}
	ct := raw[headerLen+nonceLen:]
	plain, err := key.aead.Open(ct[:0], raw[headerLen:headerLen+nonceLen], ct, raw[:headerLen])
	if err != nil {
		return Claims{}, ErrMalformed
	}

	// Authentic from here on: the checks below guard against our own bugs.
	enc := plain[0]
	bodyLen, used := binary.Uvarint(plain[1:])
	if used <= 0 || bodyLen > uint64(len(plain)-1-used) {
		return Claims{}, ErrMalformed
	}
	body := plain[1+used : 1+used+int(bodyLen)]
	for _, b := range plain[1+used+int(bodyLen):] {
		if b != 0 {
			return Claims{}, ErrMalformed
		}
	}
	var payload string
	switch enc {
	case bodyRaw:
		payload = string(body)
	case bodyLZ:
		if st.out == nil {
			st.out = make([]byte, len(lzDict)+maxPayload)
			copy(st.out, lzDict)
		}
		dec, ok := lzDecode(st.out, body)
		if !ok {
			return Claims{}, ErrMalformed
		}
		payload = string(dec)
		clear(dec)
	default:
		return Claims{}, ErrMalformed
	}
	clear(raw)

	c, ok := decodeClaims(payload)
	if !ok {
		return Claims{}, ErrMalformed
	}
	if !now.Before(c.Expiration) {
		return c, ErrExpired
	}
	return c, nil
}
