package rotate

import (
	"encoding/json"
	"errors"
	"strings"

	"github.com/google/uuid"

	"github.com/keyless-dev/keyless/rotate/target"
)

// secretJSON is the secret's value: the shape seed 004 and the AWS CLI's
// credential helpers read.
type secretJSON struct {
	AccessKeyID     string `json:"AccessKeyId"`
	SecretAccessKey string `json:"SecretAccessKey"`
}

// encodeSecret is the secret string holding c.
func encodeSecret(c target.Credentials) string {
	b, _ := json.Marshal(secretJSON{AccessKeyID: c.AccessKeyID, SecretAccessKey: c.SecretAccessKey})
	return string(b)
}

// errSecretShape is the one error parseSecret returns: it never quotes the value.
var errSecretShape = errors.New(`the value is not JSON {"AccessKeyId": "…", "SecretAccessKey": "…"}`)

// parseSecret reads a secret string written by encodeSecret (other members are
// ignored). Its error never holds any of the value.
func parseSecret(s string) (target.Credentials, error) {
	var v secretJSON
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		return target.Credentials{}, errSecretShape
	}
	if !validKeyID(v.AccessKeyID) || v.SecretAccessKey == "" {
		return target.Credentials{}, errSecretShape
	}
	return target.Credentials{AccessKeyID: v.AccessKeyID, SecretAccessKey: v.SecretAccessKey}, nil
}

// validKeyID accepts what IAM access key IDs look like: 16 to 128 upper-case
// letters and digits.
func validKeyID(id string) bool {
	if len(id) < 16 || len(id) > 128 {
		return false
	}
	for _, r := range id {
		if !('A' <= r && r <= 'Z' || '0' <= r && r <= '9') {
			return false
		}
	}
	return true
}

// versionToken is the ClientRequestToken (and so the version id) the key with
// id keyID is stored under: derived from the key, so that storing it again
// after a crash or a lost answer is a no-op, never a second version.
func versionToken(keyID string) string {
	ns := uuid.NewSHA1(uuid.NameSpaceURL, []byte("https://keyless.dev/rotate"))
	return uuid.NewSHA1(ns, []byte(strings.ToUpper(keyID))).String()
}
