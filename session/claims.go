package session

import (
	"encoding/binary"
	"time"

	"github.com/keyless-dev/keyless/arn"
)

// Tag is one principal (session) tag: aws:PrincipalTag/<Key> = Value.
type Tag struct {
	// Key is the tag key (AWS: 1–128 characters).
	Key string
	// Value is the tag value (AWS: 0–256 characters).
	Value string
}

// Claims is everything a later SigV4-signed call needs to be authenticated and
// authorized without a database lookup. STS fills it at AssumeRoleWithWebIdentity or
// AssumeRole time; the request authenticator gets it back from Open.
//
// The role's own (identity) policies are deliberately not sealed: they are read from
// IAM at call time so that detaching a policy takes effect at once. Only the session
// policy and the session policy ARNs, which exist nowhere else, travel in the token.
//
// Times are kept at one-second precision: Seal truncates IssuedAt and Expiration to
// whole seconds and Open returns them in UTC.
//
// Claims contains the session's secret access key. Its String and GoString methods
// redact it, but any code that reads SecretAccessKey directly must not log it.
type Claims struct {
	// AccessKeyID is the temporary access key id ("ASIA" + 16 characters). The
	// authenticator must check that it equals the access key id of the signature.
	AccessKeyID string
	// SecretAccessKey is the 40-character secret the caller signs with.
	SecretAccessKey string

	// Account is the 12-digit account id of the role.
	Account string
	// RoleARN is the assumed role's ARN (aws:PrincipalArn), path included.
	RoleARN string
	// RoleID is the role's unique id ("AROA…").
	RoleID string
	// RoleName is the role's name without its path.
	RoleName string
	// SessionName is the RoleSessionName of the request.
	SessionName string
	// SourceIdentity is the sts:SourceIdentity set at assume time, or "".
	SourceIdentity string

	// Provider is the OIDC provider ARN the web identity was verified against
	// (aws:FederatedProvider), or "" for AssumeRole.
	Provider string
	// Subject is the web identity token's "sub", or "" for AssumeRole.
	Subject string
	// Audience is the web identity token's audience that matched, or "".
	Audience string

	// SessionPolicy is the inline session policy document (≤ 2048 characters), or "".
	SessionPolicy string
	// PolicyARNs are the managed session policies (PolicyArns, at most 10).
	PolicyARNs []string

	// Tags are the session's principal tags in request order.
	Tags []Tag
	// TransitiveTagKeys are the tag keys that survive role chaining.
	TransitiveTagKeys []string

	// Chained reports that these credentials came from AssumeRole called by a role
	// session (role chaining), which caps their lifetime at one hour.
	Chained bool

	// IssuedAt is when STS issued the credentials.
	IssuedAt time.Time
	// Expiration is when the credentials stop being valid; Open returns ErrExpired
	// at and after this instant.
	Expiration time.Time
}

// AssumedRoleARN returns the session's ARN,
// arn:<partition>:sts::<account>:assumed-role/<RoleName>/<SessionName>, with the
// partition taken from RoleARN (arn.DefaultPartition if RoleARN is no ARN).
func (c *Claims) AssumedRoleARN() string {
	partition := arn.DefaultPartition
	if role, err := arn.Parse(c.RoleARN); err == nil {
		partition = role.Partition()
	}
	return arn.AssumedRole(partition, c.Account, c.RoleName, c.SessionName).String()
}

// AssumedRoleID returns "<RoleID>:<SessionName>", the AssumedRoleId of the STS
// result and the value of aws:userid for calls made with the session.
func (c *Claims) AssumedRoleID() string {
	return c.RoleID + ":" + c.SessionName
}

// String describes the session without its secret access key.
func (c Claims) String() string {
	return "session.Claims{AccessKeyID: " + c.AccessKeyID +
		", SecretAccessKey: <redacted>, RoleARN: " + c.RoleARN +
		", SessionName: " + c.SessionName +
		", Expiration: " + c.Expiration.UTC().Format(time.RFC3339) + "}"
}

// GoString is String, so that %#v does not print the secret either.
func (c Claims) GoString() string { return c.String() }

// Version-1 claims encoding. Every string is a uvarint length followed by its bytes;
// every list is a uvarint count followed by its items; times are varint Unix seconds.
// The field order below is the format: never reorder it, add a new version instead.
//
//	AccessKeyID SecretAccessKey Account RoleARN RoleID RoleName SessionName
//	SourceIdentity Provider Subject Audience SessionPolicy
//	[PolicyARNs] [Tags: Key Value] [TransitiveTagKeys]
//	flags(byte: bit 0 = Chained) IssuedAt Expiration
const flagChained = 1

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

func appendClaims(b []byte, c *Claims) []byte {
	for _, s := range [...]string{
		c.AccessKeyID, c.SecretAccessKey, c.Account, c.RoleARN, c.RoleID, c.RoleName,
		c.SessionName, c.SourceIdentity, c.Provider, c.Subject, c.Audience, c.SessionPolicy,
	} {
		b = appendString(b, s)
	}
	b = binary.AppendUvarint(b, uint64(len(c.PolicyARNs)))
	for _, s := range c.PolicyARNs {
		b = appendString(b, s)
	}
	b = binary.AppendUvarint(b, uint64(len(c.Tags)))
	for _, t := range c.Tags {
		b = appendString(b, t.Key)
		b = appendString(b, t.Value)
	}
	b = binary.AppendUvarint(b, uint64(len(c.TransitiveTagKeys)))
	for _, s := range c.TransitiveTagKeys {
		b = appendString(b, s)
	}
	var flags byte
	if c.Chained {
		flags |= flagChained
	}
	b = append(b, flags)
	b = binary.AppendVarint(b, c.IssuedAt.Unix())
	b = binary.AppendVarint(b, c.Expiration.Unix())
	return b
}

// decoder reads the claims encoding out of one string, so that every decoded string
// field is a substring of it and decoding costs one allocation for all of them.
type decoder struct {
	s   string
	bad bool
}

func (d *decoder) uvarint() uint64 {
	var x uint64
	for i := 0; i < binary.MaxVarintLen64; i++ {
		if i >= len(d.s) {
			break
		}
		c := d.s[i]
		if c < 0x80 {
			if i == binary.MaxVarintLen64-1 && c > 1 {
				break
			}
			d.s = d.s[i+1:]
			return x | uint64(c)<<(7*i)
		}
		x |= uint64(c&0x7f) << (7 * i)
	}
	d.bad = true
	d.s = ""
	return 0
}

func (d *decoder) varint() int64 {
	ux := d.uvarint()
	x := int64(ux >> 1)
	if ux&1 != 0 {
		x = ^x
	}
	return x
}

func (d *decoder) str() string {
	n := d.uvarint()
	if n > uint64(len(d.s)) {
		d.bad = true
		d.s = ""
		return ""
	}
	v := d.s[:n]
	d.s = d.s[n:]
	return v
}

// count reads a list length; each item takes at least minItem bytes, which bounds
// the allocation by the input size.
func (d *decoder) count(minItem int) int {
	n := d.uvarint()
	if n > uint64(len(d.s)/minItem) {
		d.bad = true
		d.s = ""
		return 0
	}
	return int(n)
}

func (d *decoder) strs() []string {
	n := d.count(1)
	if n == 0 {
		return nil
	}
	v := make([]string, n)
	for i := range v {
		v[i] = d.str()
	}
	return v
}

func (d *decoder) byte() byte {
	if len(d.s) == 0 {
		d.bad = true
		return 0
	}
	c := d.s[0]
	d.s = d.s[1:]
	return c
}

// decodeClaims parses a version-1 claims encoding; ok is false unless the input is
// exactly one well-formed encoding.
func decodeClaims(s string) (c Claims, ok bool) {
	d := decoder{s: s}
	for _, p := range [...]*string{
		&c.AccessKeyID, &c.SecretAccessKey, &c.Account, &c.RoleARN, &c.RoleID, &c.RoleName,
		&c.SessionName, &c.SourceIdentity, &c.Provider, &c.Subject, &c.Audience, &c.SessionPolicy,
	} {
		*p = d.str()
	}
	c.PolicyARNs = d.strs()
	if n := d.count(2); n > 0 {
		c.Tags = make([]Tag, n)
		for i := range c.Tags {
			c.Tags[i] = Tag{Key: d.str(), Value: d.str()}
		}
	}
	c.TransitiveTagKeys = d.strs()
	flags := d.byte()
	if flags&^flagChained != 0 {
		d.bad = true
	}
	c.Chained = flags&flagChained != 0
	c.IssuedAt = time.Unix(d.varint(), 0).UTC()
	c.Expiration = time.Unix(d.varint(), 0).UTC()
	if d.bad || len(d.s) != 0 {
		return Claims{}, false
	}
	return c, true
}
