package session

import "github.com/keyless-dev/keyless/accesskey"

// AccessKeyPrefix starts every temporary access key id, as on AWS; the keys
// themselves come from accesskey.New(rand, accesskey.Temporary).
const AccessKeyPrefix = string(accesskey.Temporary)
