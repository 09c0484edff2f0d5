package console

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/keyless-dev/keyless/keywrap"
)

// CookieName is the name of the console's session cookie.
const CookieName = "keyless_console"

// DefaultSessionTTL is how long a console session lasts unless configured.
const DefaultSessionTTL = 15 * time.Minute

// Session is what a session cookie holds: who signed in, with which access key,
// and for how long. It never holds a secret.
type Session struct {
	Account     string    `json:"a"`
	AccessKeyID string    `json:"k"`
	ARN         string    `json:"r"`
	Issued      time.Time `json:"i"`
	Expires     time.Time `json:"e"`
}

// errBadCookie is any cookie that does not open: forged, sealed by another
// server's key, truncated or expired.
var errBadCookie = errors.New("console: session cookie does not open")

// sealer seals and opens session cookies with a keywrap.Box (AES-256-GCM)
// under a random key made for one server: a cookie from another server (or
// from before a restart) does not open.
type sealer struct{ box *keywrap.Box }

// newSealer makes a sealer with a fresh random key.
func newSealer() (*sealer, error) {
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return nil, fmt.Errorf("console: session key: %w", err)
	}
	box, err := keywrap.New(key)
	if err != nil {
		return nil, fmt.Errorf("console: session key: %w", err)
	}
	return &sealer{box: box}, nil
}

// seal encrypts and authenticates s into a cookie value.
func (z *sealer) seal(s Session) (string, error) {
	plain, err := json.Marshal(s)
	if err != nil {
		return "", fmt.Errorf("console: seal session: %w", err)
	}
	sealed, err := z.box.Seal(CookieName, plain)
	if err != nil {
		return "", fmt.Errorf("console: seal session: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(sealed), nil
}

// open authenticates and decrypts a cookie value, refusing it once expired at now.
func (z *sealer) open(value string, now time.Time) (Session, error) {
	raw, err := base64.RawURLEncoding.DecodeString(value)
	if err != nil {
		return Session{}, errBadCookie
	}
	plain, err := z.box.Open(CookieName, raw)
	if err != nil {
		return Session{}, errBadCookie
	}
	var s Session
	if err := json.Unmarshal(plain, &s); err != nil || !now.Before(s.Expires) {
		return Session{}, errBadCookie
	}
	return s, nil
}
