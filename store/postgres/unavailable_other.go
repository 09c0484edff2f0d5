//go:build !linux

package postgres

import (
	"syscall"
	"time"
)

// userTimeout is nil where TCP_USER_TIMEOUT does not exist: keepalive probes
// alone detect a vanished host there.
func userTimeout(time.Duration) func(network, address string, c syscall.RawConn) error {
	return nil
}
