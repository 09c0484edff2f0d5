package bitbucket

import (
	"fmt"
	"net/http"
)

// Error is a refusal the API sends as Bitbucket does: an HTTP status and
// {"type":"error","error":{"message":…}}. Its message says what was wrong and
// what to do.
type Error struct {
	// Status is the HTTP status: 400, 401, 404, 405, 409, 413, 415.
	Status int
	// Message is the error's text, sent as error.message.
	Message string
}

// Error returns the message.
func (e *Error) Error() string { return e.Message }

func badRequest(format string, args ...any) *Error {
	return &Error{Status: http.StatusBadRequest, Message: fmt.Sprintf(format, args...)}
}

func notFound(format string, args ...any) *Error {
	return &Error{Status: http.StatusNotFound, Message: fmt.Sprintf(format, args...)}
}

func conflict(format string, args ...any) *Error {
	return &Error{Status: http.StatusConflict, Message: fmt.Sprintf(format, args...)}
}
