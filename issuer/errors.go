package issuer

// Error codes the issuer returns; the mint API sends them as {"error":{"code","field","message"}}.
const (
	CodeInvalidRequest = "InvalidRequest" // bad input; HTTP 400
	CodeNotFound       = "NotFound"       // unknown name and registration forbidden, or unknown API path; HTTP 404
	CodeConflict       = "Conflict"       // a name registered with a different UUID; HTTP 409
	CodeUnauthorized   = "Unauthorized"   // missing or wrong runner credential; HTTP 401
	CodeForbidden      = "Forbidden"      // runner not allowed for the workspace; HTTP 403
	CodeUnavailable    = "Unavailable"    // no active signing key; HTTP 503

	CodeMethodNotAllowed     = "MethodNotAllowed"      // wrong HTTP method; HTTP 405
	CodeRequestTooLarge      = "RequestEntityTooLarge" // body over the limit; HTTP 413
	CodeUnsupportedMediaType = "UnsupportedMediaType"  // body not sent as JSON; HTTP 415
)

// Error is an issuer error that names the problem in words a person can act on.
type Error struct {
	Code    string
	Field   string // the request field at fault, if any
	Message string
}

func (e *Error) Error() string { return e.Message }

// StoreUnavailable is the error of a request that needs the store while it
// cannot be reached (store.ErrUnavailable): Unavailable, HTTP 503, which a
// client retries.
func StoreUnavailable() *Error {
	return &Error{Code: CodeUnavailable, Message: "the store keyless keeps its state in cannot be reached for the moment: retry shortly"}
}

// Status is the HTTP status for the error's code.
func (e *Error) Status() int {
	switch e.Code {
	case CodeInvalidRequest:
		return 400
	case CodeNotFound:
		return 404
	case CodeConflict:
		return 409
	case CodeUnauthorized:
		return 401
	case CodeForbidden:
		return 403
	case CodeUnavailable:
		return 503
	case CodeMethodNotAllowed:
		return 405
	case CodeRequestTooLarge:
		return 413
	case CodeUnsupportedMediaType:
		return 415
	}
	return 500
}
