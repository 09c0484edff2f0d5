package oidc

import "net/http"

// AWS error codes returned by Verify.
const (
	// CodeInvalidIdentityToken is the code STS uses for every token that
	// fails validation except an expired one.
	CodeInvalidIdentityToken = "InvalidIdentityToken"
	// CodeExpiredToken is the code STS uses when exp has passed.
	CodeExpiredToken = "ExpiredTokenException"
	// CodeIDPCommunicationError is the code STS uses when an identity provider
	// cannot be reached. Verify returns it (with MessageIDPCommunication) when
	// the discovery document or JWKS host does not answer — refused, reset or
	// timed out — and no cached key verifies the token, so that clients retry;
	// AWS has been observed to answer that case with InvalidIdentityToken and
	// MessageKeyRetrieval, which it still gives for a reachable provider that
	// answers with an error or publishes no key for the token's kid.
	CodeIDPCommunicationError = "IDPCommunicationError"
)

// Messages returned by Verify. The ones marked "observed" are real STS texts
// (see shared/reference/aws-federation.md); the others are our choice and are
// documented as such.
const (
	// MessageNotJWT is returned for anything that is not a well-formed compact
	// JWS with JSON header and claims (ReasonMalformed). Our choice: this is
	// the text STS is widely reported to send when it cannot parse the token;
	// not confirmed against a captured response.
	MessageNotJWT = "The ID Token provided is not a valid JWT. (You may see this error if you sent an Access Token)"
	// MessageNoProviderPrefix is followed by the token's iss (observed).
	MessageNoProviderPrefix = "No OpenIDConnect provider found in your account for "
	// MessageKeyRetrieval is returned when discovery or the JWKS cannot be
	// fetched, or holds no key for the token's kid (observed; the double space
	// is original).
	MessageKeyRetrieval = "Couldn't retrieve verification key from your identity provider,  please reference AssumeRoleWithWebIdentity documentation for requirements"
	// MessageThumbprint is returned when the TLS certificate of the discovery
	// or JWKS host is trusted neither by a root CA nor by a thumbprint
	// (observed).
	MessageThumbprint = "OpenIDConnect provider's HTTPS certificate doesn't match configured thumbprint"
	// MessageInvalidToken is returned for a bad signature or a refused
	// algorithm. Our choice: STS gives no specific text there, so we use the
	// description of InvalidIdentityTokenException from the STS service model.
	MessageInvalidToken = "The web identity token that was passed could not be validated by AWS. Get a new identity token from the identity provider and then retry the request."
	// MessageMissingAud is returned when the token has no aud (observed).
	MessageMissingAud = "Missing a required claim: aud"
	// MessageMissingExp is returned when the token has no exp. Our choice,
	// modelled on MessageMissingAud.
	MessageMissingExp = "Missing a required claim: exp"
	// MessageIncorrectAud is returned when no aud value is a client ID of the
	// provider (observed).
	MessageIncorrectAud = "Incorrect token audience"
)

// Reason classifies a verification failure more finely than the AWS code, for
// `keyless explain`, audit events and retry decisions.
type Reason int

// Reasons, in the order Verify checks them.
const (
	// ReasonMalformed: not a compact JWS, undecodable header or claims, a
	// claim of the wrong type (exp/iat/nbf not integers, aud not a string or
	// string array), too large, or exp missing.
	ReasonMalformed Reason = iota + 1
	// ReasonIssuer: iss is not https:// or matches no registered provider.
	ReasonIssuer
	// ReasonKeyRetrieval: discovery/JWKS unreachable, too slow, not 200, bad
	// JSON, too large, or no usable key with the token's kid. The only
	// reason worth retrying.
	ReasonKeyRetrieval
	// ReasonThumbprint: the TLS certificate of the discovery or JWKS host is
	// trusted neither through the root CAs nor through the thumbprints.
	ReasonThumbprint
	// ReasonAlgorithm: alg is not RS256/384/512 or ES256/384/512, or does
	// not fit the key (type, curve or the JWK's own alg).
	ReasonAlgorithm
	// ReasonSignature: the signature does not verify with the published key.
	ReasonSignature
	// ReasonAudienceMissing: no aud claim.
	ReasonAudienceMissing
	// ReasonAudience: no aud value is a client ID of the provider.
	ReasonAudience
	// ReasonExpired: exp is more than the allowed skew in the past.
	ReasonExpired
	// ReasonNotYetValid: nbf or iat is more than the allowed skew in the
	// future. AWS's behaviour here is not documented; see MessageNotYetValid.
	ReasonNotYetValid
)

var reasonNames = [...]string{
	ReasonMalformed:       "malformed",
	ReasonIssuer:          "issuer",
	ReasonKeyRetrieval:    "key-retrieval",
	ReasonThumbprint:      "thumbprint",
	ReasonAlgorithm:       "algorithm",
	ReasonSignature:       "signature",
	ReasonAudienceMissing: "audience-missing",
	ReasonAudience:        "audience",
	ReasonExpired:         "expired",
	ReasonNotYetValid:     "not-yet-valid",
}

// String returns a short stable name such as "key-retrieval".
func (r Reason) String() string {
	if r > 0 && int(r) < len(reasonNames) {
		return reasonNames[r]
	}
	return "unknown"
}

// Retryable reports whether the same token may succeed later without change:
// true only for ReasonKeyRetrieval (the identity provider was unreachable or
// has not published the key yet).
func (r Reason) Retryable() bool { return r == ReasonKeyRetrieval }

// Error is a token rejection, shaped like the AWS error STS returns. Neither
// Message nor Detail ever contains the token.
type Error struct {
	// Code is the AWS error code: CodeInvalidIdentityToken or CodeExpiredToken.
	Code string
	// Message is the AWS-compatible message for the caller.
	Message string
	// Reason classifies the failure.
	Reason Reason
	// Detail is an operator-facing explanation (URL fetched, status, the
	// thumbprint the server presented, ...). It is safe to log and to show
	// in `keyless explain`, but it is not part of the AWS response.
	Detail string

	cause error
}

// Error returns "Code: Message".
func (e *Error) Error() string { return e.Code + ": " + e.Message }

// Unwrap returns the underlying cause, if any (for example a network error).
func (e *Error) Unwrap() error { return e.cause }

// HTTPStatus returns the HTTP status STS answers with: 400 for every reason.
func (e *Error) HTTPStatus() int { return http.StatusBadRequest }

// Retryable reports whether retrying with the same token may succeed.
func (e *Error) Retryable() bool { return e.Reason.Retryable() }

func invalid(r Reason, msg, detail string) *Error {
	return &Error{Code: CodeInvalidIdentityToken, Message: msg, Reason: r, Detail: detail}
}

func malformed(detail string) *Error { return invalid(ReasonMalformed, MessageNotJWT, detail) }
