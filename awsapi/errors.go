package awsapi

import (
	"errors"
	"fmt"
	"net/http"
)

// Error is an AWS-shaped error: the code, message and HTTP status a real AWS
// endpoint would return. Sender is true when the caller is at fault (the
// <Type>Sender</Type> of the Query protocol) and false for server faults
// (<Type>Receiver</Type>).
//
// Messages are sent to the client verbatim, so they must never contain a
// secret, a session token or a signature key.
type Error struct {
	Code    string
	Message string
	Status  int
	Sender  bool
}

// Error returns "Code: Message".
func (e *Error) Error() string {
	if e.Message == "" {
		return e.Code
	}
	return e.Code + ": " + e.Message
}

// Is reports whether target is an *Error with the same Code, so that
// errors.Is(err, awsapi.InvalidClientTokenID()) works.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Code == e.Code
}

// NewError returns an *Error with the given code, status and message; Sender
// is set for 4xx statuses.
func NewError(code string, status int, message string) *Error {
	return &Error{Code: code, Message: message, Status: status, Sender: status < 500}
}

// AsError returns err as an *Error when it is (or wraps) one; an error of a
// dependency that is down for the moment (one with an Unavailable() bool method
// reporting true, as the store's errors when its database cannot be reached)
// becomes ServiceUnavailable; any other error becomes InternalFailure. Neither
// shows the error's text to the client.
func AsError(err error) *Error {
	var e *Error
	if errors.As(err, &e) && e != nil {
		return e
	}
	var u interface{ Unavailable() bool }
	if errors.As(err, &u) && u.Unavailable() {
		return ServiceUnavailable()
	}
	return InternalFailure()
}

// HasCode reports whether err is (or wraps) an *Error with the given code.
func HasCode(err error, code string) bool {
	var e *Error
	return errors.As(err, &e) && e != nil && e.Code == code
}

// Message texts used by real AWS endpoints.
const (
	msgInvalidClientTokenID  = "The security token included in the request is invalid."
	msgSignatureDoesNotMatch = "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details."
	msgExpiredToken          = "The security token included in the request is expired"
	msgMissingAuthToken      = "Request is missing Authentication Token"
	msgInternalFailure       = "The request processing has failed because of an unknown error, exception or failure."
	msgServiceUnavailable    = "The request has failed due to a temporary failure of the server."
	msgThrottling            = "Rate exceeded"
)

// InvalidClientTokenID is the 403 for an unknown access key ID or a session
// token that cannot be opened.
func InvalidClientTokenID() *Error {
	return NewError("InvalidClientTokenId", http.StatusForbidden, msgInvalidClientTokenID)
}

// SignatureDoesNotMatch is the 403 for a SigV4 signature that does not verify.
func SignatureDoesNotMatch() *Error {
	return NewError("SignatureDoesNotMatch", http.StatusForbidden, msgSignatureDoesNotMatch)
}

// SignatureDoesNotMatchMsg is SignatureDoesNotMatch with a specific message,
// as AWS sends for credential-scope problems.
func SignatureDoesNotMatchMsg(message string) *Error {
	return NewError("SignatureDoesNotMatch", http.StatusForbidden, message)
}

// IncompleteSignature is the 400 for a malformed or incomplete SigV4
// Authorization header or presigned query.
func IncompleteSignature(message string) *Error {
	return NewError("IncompleteSignature", http.StatusBadRequest, message)
}

// RequestExpired is the 400 for a signature outside the clock window.
func RequestExpired(message string) *Error {
	return NewError("RequestExpired", http.StatusBadRequest, message)
}

// ExpiredToken is the 403 for a session token past its expiry.
func ExpiredToken() *Error {
	return NewError("ExpiredToken", http.StatusForbidden, msgExpiredToken)
}

// MissingAuthenticationToken is the 403 for a request that carries no
// signature where one is required.
func MissingAuthenticationToken() *Error {
	return NewError("MissingAuthenticationToken", http.StatusForbidden, msgMissingAuthToken)
}

// InvalidAction is the 400 for an unknown Action, worded as STS and IAM word it.
func InvalidAction(action, version string) *Error {
	return NewError("InvalidAction", http.StatusBadRequest,
		fmt.Sprintf("Could not find operation %s for version %s", action, version))
}

// MissingAction is the 400 for a Query request without an Action parameter.
func MissingAction() *Error {
	return NewError("MissingAction", http.StatusBadRequest, "Missing Action")
}

// AccessDenied is the 403 for a request that policy does not allow.
func AccessDenied(message string) *Error {
	return NewError("AccessDenied", http.StatusForbidden, message)
}

// ValidationError is the 400 for a parameter that fails its constraints.
func ValidationError(message string) *Error {
	return NewError("ValidationError", http.StatusBadRequest, message)
}

// MissingParameter is the 400 for a required parameter that is absent.
func MissingParameter(name string) *Error {
	return NewError("MissingParameter", http.StatusBadRequest,
		fmt.Sprintf("The request must contain the parameter %s", name))
}

// InvalidParameterValue is the 400 for a parameter with an unusable value.
func InvalidParameterValue(message string) *Error {
	return NewError("InvalidParameterValue", http.StatusBadRequest, message)
}

// MalformedQueryString is the error for a Query request that cannot be
// decoded. AWS documents it with HTTP status 404.
func MalformedQueryString(message string) *Error {
	return NewError("MalformedQueryString", http.StatusNotFound, message)
}

// RequestEntityTooLarge is the 413 for a body over the configured limit.
func RequestEntityTooLarge(limit int64) *Error {
	return NewError("RequestEntityTooLarge", http.StatusRequestEntityTooLarge,
		fmt.Sprintf("Request body must not exceed %d bytes.", limit))
}

// InternalFailure is the 500 for any server fault; its message never
// reveals the underlying cause.
func InternalFailure() *Error {
	return NewError("InternalFailure", http.StatusInternalServerError, msgInternalFailure)
}

// ServiceUnavailable is the 503 for a temporary server failure.
func ServiceUnavailable() *Error {
	return NewError("ServiceUnavailable", http.StatusServiceUnavailable, msgServiceUnavailable)
}

// Throttling is the 400 AWS returns when a caller exceeds a rate limit.
func Throttling() *Error {
	return NewError("Throttling", http.StatusBadRequest, msgThrottling)
}
