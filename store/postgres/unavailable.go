package postgres

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"net"
	"os"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/keyless-dev/keyless/store"
)

// defaultConnectTimeout bounds a connection attempt (dial, TLS and startup) when
// the DSN sets no connect_timeout, so that a request needing a store that does not
// answer fails within seconds instead of waiting for the operating system to give up.
const defaultConnectTimeout = 5 * time.Second

// deadPeerTimeout is about how long an open connection to a database host that
// vanished without closing it (powered off, network cut) takes to fail: TCP
// keepalive probes an idle connection after 15 s, every 5 s, 3 times, and on Linux
// TCP_USER_TIMEOUT drops a connection whose sent data stays unacknowledged as long.
const deadPeerTimeout = 30 * time.Second

// failFast makes the connections of cfg report a database that cannot be reached
// as store.ErrUnavailable: a failed dial, and a read or write on an open
// connection that fails (the server stopped, the network cut), are wrapped with
// store.Unavailable. It also sets defaultConnectTimeout when the DSN has none, and
// dials with keepalive probes and a TCP user timeout (deadPeerTimeout) so that a
// vanished host is noticed in seconds rather than the operating system's minutes.
// pgx keeps the wrapped errors' chains, and database/sql replaces a broken
// pooled connection by a new one on the next use, so service resumes by itself
// when the database is back.
func failFast(cfg *pgconn.Config) {
	if cfg.ConnectTimeout == 0 {
		cfg.ConnectTimeout = defaultConnectTimeout // bounds the whole connect, through its context
	}
	d := &net.Dialer{
		KeepAliveConfig: net.KeepAliveConfig{Enable: true, Idle: 15 * time.Second, Interval: 5 * time.Second, Count: 3},
		Control:         userTimeout(deadPeerTimeout), // unavailable_linux.go
	}
	dial := d.DialContext
	cfg.DialFunc = func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := dial(ctx, network, addr)
		if err != nil {
			return nil, store.Unavailable("unreachable", err)
		}
		return markedConn{c}, nil
	}
}

// openDB returns a database/sql pool of connections made with cfg, whose
// errors say when the database cannot be reached (failFast, markingConnector).
func openDB(cfg *pgx.ConnConfig) *sql.DB {
	failFast(&cfg.Config)
	return sql.OpenDB(markingConnector{stdlib.GetConnector(*cfg)})
}

// markingConnector opens pgx's database/sql connections with their errors of a
// lost connection marked store.ErrUnavailable: driver.ErrBadConn (which
// database/sql retries on a new connection outside a transaction, and returns
// inside one), pgconn.ErrConnClosed (a statement or COMMIT on a connection whose
// socket already failed: the transaction was not committed) and the PostgreSQL
// errors of unavailablePgError. errors.Is still sees the original error, so
// database/sql's retries are unchanged.
type markingConnector struct {
	driver.Connector
}

// Connect opens a connection.
func (c markingConnector) Connect(ctx context.Context) (driver.Conn, error) {
	conn, err := c.Connector.Connect(ctx)
	if err != nil {
		return nil, markLost(err)
	}
	sc, ok := conn.(*stdlib.Conn)
	if !ok {
		return conn, nil
	}
	return &markingConn{sc}, nil
}

// markLost marks the errors of a lost connection (see markingConnector).
func markLost(err error) error {
	if err == nil {
		return nil
	}
	var pe *pgconn.PgError
	if errors.Is(err, driver.ErrBadConn) || errors.Is(err, pgconn.ErrConnClosed) || errors.As(err, &pe) && unavailablePgError(pe) {
		return store.Unavailable("connection lost", err)
	}
	return err
}

// markingConn is pgx's database/sql connection, every method and interface of
// it kept, with the errors of statements and transactions marked by markLost.
type markingConn struct {
	*stdlib.Conn
}

// ExecContext runs a statement.
func (c *markingConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	r, err := c.Conn.ExecContext(ctx, query, args)
	return r, markLost(err)
}

// QueryContext runs a query.
func (c *markingConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	r, err := c.Conn.QueryContext(ctx, query, args)
	return r, markLost(err)
}

// Begin is BeginTx with default options.
func (c *markingConn) Begin() (driver.Tx, error) {
	return c.BeginTx(context.Background(), driver.TxOptions{})
}

// BeginTx starts a transaction whose Commit and Rollback errors are marked.
func (c *markingConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	tx, err := c.Conn.BeginTx(ctx, opts)
	if err != nil {
		return nil, markLost(err)
	}
	return markingTx{tx}, nil
}

// markingTx is a transaction whose errors are marked by markLost.
type markingTx struct {
	driver.Tx
}

// Commit commits the transaction.
func (t markingTx) Commit() error { return markLost(t.Tx.Commit()) }

// Rollback rolls the transaction back.
func (t markingTx) Rollback() error { return markLost(t.Tx.Rollback()) }

// markedConn is a connection to the database whose I/O errors are marked
// store.ErrUnavailable.
type markedConn struct{ net.Conn }

func (c markedConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	if err != nil && !errors.Is(err, os.ErrDeadlineExceeded) { // a deadline is pgx cancelling
		err = store.Unavailable("connection lost", err)
	}
	return n, err
}

func (c markedConn) Write(b []byte) (int, error) {
	n, err := c.Conn.Write(b)
	if err != nil && !errors.Is(err, os.ErrDeadlineExceeded) {
		err = store.Unavailable("connection lost", err)
	}
	return n, err
}

// unavailablePgError reports whether a PostgreSQL error means the server cannot
// serve for now rather than that the statement is wrong: class 08 (connection
// exception), 53 (insufficient resources: disk full, out of memory, too many
// connections), 57P01–57P03 (shut down, crash, not yet accepting connections).
func unavailablePgError(pe *pgconn.PgError) bool {
	return strings.HasPrefix(pe.Code, "08") || strings.HasPrefix(pe.Code, "53") ||
		pe.Code == "57P01" || pe.Code == "57P02" || pe.Code == "57P03"
}
