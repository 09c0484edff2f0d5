package store

import (
	"errors"
	"io"
	"testing"
)

func TestUnavailable(t *testing.T) {
	if Unavailable("unreachable", nil) != nil {
		t.Error("Unavailable(nil) is not nil")
	}
	err := Unavailable("unreachable", io.ErrUnexpectedEOF)
	if !errors.Is(err, ErrUnavailable) || !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("%v: errors.Is sees ErrUnavailable %v, the cause %v; want both", err, errors.Is(err, ErrUnavailable), errors.Is(err, io.ErrUnexpectedEOF))
	}
	var u interface{ Unavailable() bool }
	if !errors.As(err, &u) || !u.Unavailable() {
		t.Error("the error has no Unavailable() bool reporting true")
	}
	if got, want := err.Error(), "store unavailable (unreachable): unexpected EOF"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	wrapped := errors.Join(errors.New("context"), err)
	if again := Unavailable("disk full", wrapped); again != wrapped || UnavailableCause(again) != "unreachable" {
		t.Errorf("marking a marked error again: %v (cause %q)", again, UnavailableCause(again))
	}
	if c := UnavailableCause(io.EOF); c != "" {
		t.Errorf("UnavailableCause of an unmarked error = %q", c)
	}
}
