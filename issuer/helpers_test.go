package issuer_test

import (
	"crypto"
	_ "crypto/sha256"
	"encoding/base64"
)

const cryptoSHA256 = crypto.SHA256

func b64url(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }
