package store

import "errors"

// ErrUnavailable is wrapped by the errors of a store that cannot serve for the
// moment: its database cannot be reached (PostgreSQL stopped, the network cut, a
// connect timeout) or has no space left to write. Nothing was written by the failed
// operation. Backends reconnect by themselves, so the same call succeeds once the
// database is back; servers answer ServiceUnavailable (HTTP 503) meanwhile.
var ErrUnavailable = errors.New("store unavailable")

// Unavailable wraps err, a backend's error, as a store that cannot serve for the
// moment: errors.Is(result, ErrUnavailable) holds, errors.Is and errors.As still see
// err, and the result has the method Unavailable() bool (returning true) by which
// packages that do not import store (awsapi) recognise it. cause is a short,
// secret-free phrase for operators, such as "unreachable" or "disk full".
func Unavailable(cause string, err error) error {
	if err == nil {
		return nil
	}
	var ue *unavailableError
	if errors.As(err, &ue) {
		return err // marked already
	}
	return &unavailableError{cause: cause, err: err}
}

// unavailableError is the error Unavailable returns.
type unavailableError struct {
	cause string
	err   error
}

func (e *unavailableError) Error() string {
	return "store unavailable (" + e.cause + "): " + e.err.Error()
}

// Unwrap returns the backend's error and ErrUnavailable.
func (e *unavailableError) Unwrap() []error { return []error{e.err, ErrUnavailable} }

// Unavailable reports true: the error means a dependency that is down for now.
func (e *unavailableError) Unavailable() bool { return true }

// UnavailableCause returns the phrase given to Unavailable for an error that wraps
// one ("unreachable", "disk full"), else "".
func UnavailableCause(err error) string {
	var ue *unavailableError
	if errors.As(err, &ue) {
		return ue.cause
	}
	return ""
}
