package policy

import (
	"fmt"
	"strconv"
)

// Error codes used by [Error]; they are the codes AWS IAM and STS return.
const (
	// CodeMalformedPolicyDocument reports a document that is not a valid policy.
	CodeMalformedPolicyDocument = "MalformedPolicyDocument"
	// CodeLimitExceeded reports a document larger than the size limit of its kind.
	CodeLimitExceeded = "LimitExceeded"
)

// Error is a policy validation error in the style AWS IAM reports it: an error code
// ([CodeMalformedPolicyDocument] or [CodeLimitExceeded]) and a message. Statement,
// Sid and Field say where the problem is when it is inside a statement.
type Error struct {
	// Code is the AWS error code.
	Code string
	// Statement is the zero-based statement index, or -1 for a document-level problem.
	Statement int
	// Sid is the statement's Sid, when it has one.
	Sid string
	// Field names the offending element, such as "Condition" or "Principal.AWS".
	Field string
	// Message says what is wrong.
	Message string
}

// Error renders the error as "Code: where: message".
func (e *Error) Error() string {
	where := ""
	if e.Statement >= 0 {
		where = "statement " + strconv.Itoa(e.Statement)
		if e.Sid != "" {
			where += fmt.Sprintf(" (Sid %q)", e.Sid)
		}
	}
	if e.Field != "" {
		if where != "" {
			where += ", "
		}
		where += e.Field
	}
	if where != "" {
		return e.Code + ": " + where + ": " + e.Message
	}
	return e.Code + ": " + e.Message
}

func docError(field, format string, args ...any) *Error {
	return &Error{Code: CodeMalformedPolicyDocument, Statement: -1, Field: field, Message: fmt.Sprintf(format, args...)}
}

// msgError is an internal error whose text becomes an [Error] message verbatim
// (AWS messages start with a capital letter).
type msgError string

func (e msgError) Error() string { return string(e) }

func errorf(format string, args ...any) error { return msgError(fmt.Sprintf(format, args...)) }
