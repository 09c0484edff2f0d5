package postgres

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"net"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/keyless-dev/keyless/store"
)

// TestUnreachableIsUnavailable: a database nobody listens for is
// store.ErrUnavailable, at once; needs no PostgreSQL.
func TestUnreachableIsUnavailable(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	_, err = Open(context.Background(), "postgres://keyless@"+addr+"/keyless?sslmode=disable")
	if !errors.Is(err, store.ErrUnavailable) || store.UnavailableCause(err) != "unreachable" {
		t.Fatalf("Open on a closed port: %v, want store.ErrUnavailable (unreachable)", err)
	}
}

func TestMarkLost(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want bool
	}{
		{driver.ErrBadConn, true},
		{fmt.Errorf("commit: %w", pgconn.ErrConnClosed), true},
		{&pgconn.PgError{Code: "57P01"}, true}, // admin_shutdown
		{&pgconn.PgError{Code: "53100"}, true}, // disk_full
		{&pgconn.PgError{Code: "08006"}, true}, // connection_failure
		{&pgconn.PgError{Code: "23505"}, false},
		{errors.New("syntax"), false},
	} {
		got := markLost(tc.err)
		if errors.Is(got, store.ErrUnavailable) != tc.want || !errors.Is(got, tc.err) {
			t.Errorf("markLost(%v) = %v; unavailable %v, want %v", tc.err, got, !tc.want, tc.want)
		}
	}
	if markLost(nil) != nil {
		t.Error("markLost(nil) is not nil")
	}
}
