package sts

import (
	"bytes"
	"net/netip"
	"time"

	"github.com/keyless-dev/keyless/authn"
	"github.com/keyless-dev/keyless/awsapi"
	"github.com/keyless-dev/keyless/session"
)

// Action names served by the Service.
const (
	ActionAssumeRoleWithWebIdentity = "AssumeRoleWithWebIdentity"
	ActionAssumeRoleWithSAML        = "AssumeRoleWithSAML"
	ActionAssumeRole                = "AssumeRole"
	ActionGetCallerIdentity         = "GetCallerIdentity"
)

// Meta is what the core needs to know about the HTTP request besides its
// parameters.
type Meta struct {
	// RequestID is the x-amzn-RequestId of the reply, for audit events.
	RequestID string
	// SourceIP is aws:SourceIp.
	SourceIP netip.Addr
	// Secure is aws:SecureTransport.
	Secure bool
	// Region is the SigV4 scope's region of a signed call ("" if unsigned).
	Region string
}

// WebIdentityRequest is a validated AssumeRoleWithWebIdentity request.
type WebIdentityRequest struct {
	RoleARN         string
	RoleSessionName string
	// WebIdentityToken is the raw ID token. It is secret: never log it.
	WebIdentityToken string
	// DurationSeconds is 900–43200; 0 means the default (3600).
	DurationSeconds int
	// Policy is the inline session policy, or "".
	Policy string
	// PolicyARNs are the managed session policies.
	PolicyARNs []string
	// MinimumSessionTokenSize pads the session token (0–4096).
	MinimumSessionTokenSize int
}

// AssumeRoleRequest is a validated AssumeRole request.
type AssumeRoleRequest struct {
	// Caller is who signed the request.
	Caller          *authn.Principal
	RoleARN         string
	RoleSessionName string
	// DurationSeconds is 900–43200; 0 means the default (3600).
	DurationSeconds         int
	Policy                  string
	PolicyARNs              []string
	Tags                    []session.Tag
	TransitiveTagKeys       []string
	SourceIdentity          string
	ExternalID              string
	MinimumSessionTokenSize int
	// MFA reports that SerialNumber or TokenCode was sent; keyless has no MFA
	// devices, so such a request is always refused.
	MFA bool
}

// Credentials are temporary security credentials. SecretAccessKey and
// SessionToken are secret.
type Credentials struct {
	AccessKeyID     string `xml:"AccessKeyId"`
	SecretAccessKey string
	SessionToken    string
	// Expiration is ISO-8601 UTC with a Z, e.g. 2026-01-02T15:04:05Z.
	Expiration string
}

// String redacts the secrets.
func (c Credentials) String() string {
	return "sts.Credentials{AccessKeyID: " + c.AccessKeyID + ", SecretAccessKey: <redacted>, SessionToken: <redacted>, Expiration: " + c.Expiration + "}"
}

// GoString is String, so that %#v does not print the secrets either.
func (c Credentials) GoString() string { return c.String() }

// AssumedRoleUser identifies a role session.
type AssumedRoleUser struct {
	// AssumedRoleID is "<RoleId>:<RoleSessionName>".
	AssumedRoleID string `xml:"AssumedRoleId"`
	// ARN is "arn:aws:sts::<account>:assumed-role/<RoleName>/<RoleSessionName>".
	ARN string `xml:"Arn"`
}

// WebIdentityResult is the content of <AssumeRoleWithWebIdentityResult>, in
// the element order of real STS replies.
type WebIdentityResult struct {
	Credentials Credentials
	// SubjectFromWebIdentityToken is the token's sub.
	SubjectFromWebIdentityToken string
	AssumedRoleUser             AssumedRoleUser
	// PackedPolicySize is present only when session policies or session tags
	// were passed; see packedPolicySize.
	PackedPolicySize *int `xml:",omitempty"`
	// Provider is the ARN of the IAM OIDC provider that matched the token's
	// iss, as real STS answers for OIDC tokens (observed; its documentation
	// says the iss).
	Provider string
	// Audience is the token audience that matched a client ID of the provider.
	Audience       string
	SourceIdentity string `xml:",omitempty"`
	// SessionTokenSize is len(SessionToken); SessionTokenUtilization is its
	// percentage of the 4096-byte maximum (2026 fields).
	SessionTokenSize        int
	SessionTokenUtilization int
}

// AssumeRoleResult is the content of <AssumeRoleResult>.
type AssumeRoleResult struct {
	Credentials             Credentials
	AssumedRoleUser         AssumedRoleUser
	PackedPolicySize        *int   `xml:",omitempty"`
	SourceIdentity          string `xml:",omitempty"`
	SessionTokenSize        int
	SessionTokenUtilization int
}

// MarshalQueryXML writes the result as encoding/xml would, without
// reflection (awsapi.QueryXMLMarshaler); TestResultXMLFastPath compares them.
func (r *WebIdentityResult) MarshalQueryXML(buf *bytes.Buffer) {
	r.Credentials.marshalQueryXML(buf)
	awsapi.WriteXMLElement(buf, "SubjectFromWebIdentityToken", r.SubjectFromWebIdentityToken)
	r.AssumedRoleUser.marshalQueryXML(buf)
	if r.PackedPolicySize != nil {
		awsapi.WriteXMLIntElement(buf, "PackedPolicySize", *r.PackedPolicySize)
	}
	awsapi.WriteXMLElement(buf, "Provider", r.Provider)
	awsapi.WriteXMLElement(buf, "Audience", r.Audience)
	if r.SourceIdentity != "" {
		awsapi.WriteXMLElement(buf, "SourceIdentity", r.SourceIdentity)
	}
	awsapi.WriteXMLIntElement(buf, "SessionTokenSize", r.SessionTokenSize)
	awsapi.WriteXMLIntElement(buf, "SessionTokenUtilization", r.SessionTokenUtilization)
}

// MarshalQueryXML writes the result as encoding/xml would, without
// reflection (awsapi.QueryXMLMarshaler); TestResultXMLFastPath compares them.
func (r *AssumeRoleResult) MarshalQueryXML(buf *bytes.Buffer) {
	r.Credentials.marshalQueryXML(buf)
	r.AssumedRoleUser.marshalQueryXML(buf)
	if r.PackedPolicySize != nil {
		awsapi.WriteXMLIntElement(buf, "PackedPolicySize", *r.PackedPolicySize)
	}
	if r.SourceIdentity != "" {
		awsapi.WriteXMLElement(buf, "SourceIdentity", r.SourceIdentity)
	}
	awsapi.WriteXMLIntElement(buf, "SessionTokenSize", r.SessionTokenSize)
	awsapi.WriteXMLIntElement(buf, "SessionTokenUtilization", r.SessionTokenUtilization)
}

func (c *Credentials) marshalQueryXML(buf *bytes.Buffer) {
	buf.WriteString("<Credentials>")
	awsapi.WriteXMLElement(buf, "AccessKeyId", c.AccessKeyID)
	awsapi.WriteXMLElement(buf, "SecretAccessKey", c.SecretAccessKey)
	awsapi.WriteXMLElement(buf, "SessionToken", c.SessionToken)
	awsapi.WriteXMLElement(buf, "Expiration", c.Expiration)
	buf.WriteString("</Credentials>")
}

func (u *AssumedRoleUser) marshalQueryXML(buf *bytes.Buffer) {
	buf.WriteString("<AssumedRoleUser>")
	awsapi.WriteXMLElement(buf, "AssumedRoleId", u.AssumedRoleID)
	awsapi.WriteXMLElement(buf, "Arn", u.ARN)
	buf.WriteString("</AssumedRoleUser>")
}

// CallerIdentity is the content of <GetCallerIdentityResult>.
type CallerIdentity struct {
	ARN     string `xml:"Arn"`
	UserID  string `xml:"UserId"`
	Account string
}

// formatExpiration renders t as STS does: ISO-8601, UTC, seconds, Z.
func formatExpiration(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05Z") }
