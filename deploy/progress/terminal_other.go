//go:build !linux && !darwin && !dragonfly && !freebsd && !netbsd && !openbsd

package progress

import "os"

// IsTerminal reports whether f is a terminal, so progress can be redrawn
// in place on it. On this system it cannot tell, and says no: progress is
// then written as plain lines.
func IsTerminal(f *os.File) bool { return false }
