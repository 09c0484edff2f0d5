// Package session seals and opens the temporary credentials STS hands out, so that
// no database is needed to accept them: everything a later signed call needs (role,
// session name, session policy, principal tags, source identity, expiry and the
// secret access key itself) is encrypted and authenticated into the session token.
//
// A Keyring holds rotatable AES-256-GCM keys (stored by the caller, encrypted at rest);
// a Sealer seals Claims under the current key; Keyring.Open opens a token under any
// key of the ring, so every replica that has loaded the ring accepts every token.
//
// Tokens are standard base64 and at most MaxTokenSize (4096) bytes; a typical token
// with a 500-byte session policy and three tags is about 680 bytes. Claims are
// encoded in a compact versioned binary form and compressed with a small LZ77 codec
// and preset dictionary (lz.go) when that is smaller. Seal runs on every token
// exchange and Open on every signed call: both take a few microseconds, Open does
// not lock, and both reuse their buffers.
package session
