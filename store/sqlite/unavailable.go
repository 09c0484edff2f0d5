package sqlite

import (
	"context"
	"database/sql/driver"
	"errors"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/keyless-dev/keyless/store"
)

// diskFullConnector opens driver connections whose errors report a full disk as
// store.ErrUnavailable (store.Unavailable with cause "disk full"): a statement or
// commit that fails with SQLITE_FULL wrote nothing (SQLite rolls it back), and the
// same call succeeds once space is freed, with no reopening. It sits under
// stmtCacheConnector.
type diskFullConnector struct {
	driver.Connector
}

// Connect opens a driver connection that marks full-disk errors.
func (c diskFullConnector) Connect(ctx context.Context) (driver.Conn, error) {
	conn, err := c.Connector.Connect(ctx)
	if err != nil {
		return nil, markFull(err)
	}
	return diskFullConn{conn}, nil
}

// markFull wraps err with store.Unavailable when SQLite says the disk (or the
// database's size limit) is full.
func markFull(err error) error {
	var se *sqlite.Error
	if err != nil && errors.As(err, &se) && se.Code()&0xff == sqlite3.SQLITE_FULL {
		return store.Unavailable("disk full", err)
	}
	return err
}

// diskFullConn is a driver connection whose statements and transactions mark
// full-disk errors. It offers what stmtCacheConnector's connections use.
type diskFullConn struct {
	driver.Conn
}

var (
	_ driver.ConnPrepareContext = diskFullConn{}
	_ driver.ConnBeginTx        = diskFullConn{}
	_ driver.Pinger             = diskFullConn{}
	_ driver.SessionResetter    = diskFullConn{}
	_ driver.Validator          = diskFullConn{}
)

// Prepare is PrepareContext without a context.
func (c diskFullConn) Prepare(query string) (driver.Stmt, error) {
	return c.PrepareContext(context.Background(), query)
}

// PrepareContext prepares query on the driver's connection.
func (c diskFullConn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	var st driver.Stmt
	var err error
	if pc, ok := c.Conn.(driver.ConnPrepareContext); ok {
		st, err = pc.PrepareContext(ctx, query)
	} else {
		st, err = c.Conn.Prepare(query)
	}
	if err != nil {
		return nil, markFull(err)
	}
	return diskFullStmt{st}, nil
}

// Begin is BeginTx with default options.
func (c diskFullConn) Begin() (driver.Tx, error) {
	return c.BeginTx(context.Background(), driver.TxOptions{})
}

// BeginTx starts a transaction whose commit marks full-disk errors.
func (c diskFullConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	bc, ok := c.Conn.(driver.ConnBeginTx)
	if !ok {
		return nil, errors.New("store: sqlite driver connection cannot begin transactions with options")
	}
	tx, err := bc.BeginTx(ctx, opts)
	if err != nil {
		return nil, markFull(err)
	}
	return diskFullTx{tx}, nil
}

// Ping checks the connection, if the driver can.
func (c diskFullConn) Ping(ctx context.Context) error {
	if p, ok := c.Conn.(driver.Pinger); ok {
		return p.Ping(ctx)
	}
	return nil
}

// ResetSession is the driver's, when it has one.
func (c diskFullConn) ResetSession(ctx context.Context) error {
	if r, ok := c.Conn.(driver.SessionResetter); ok {
		return r.ResetSession(ctx)
	}
	return nil
}

// IsValid is the driver's, when it has one.
func (c diskFullConn) IsValid() bool {
	if v, ok := c.Conn.(driver.Validator); ok {
		return v.IsValid()
	}
	return true
}

// diskFullStmt is a prepared statement whose Exec and Query mark full-disk errors.
type diskFullStmt struct {
	driver.Stmt
}

// ExecContext runs the statement with the driver's context-aware Exec.
func (s diskFullStmt) ExecContext(ctx context.Context, args []driver.NamedValue) (driver.Result, error) {
	e, ok := s.Stmt.(driver.StmtExecContext)
	if !ok {
		return nil, errors.New("store: sqlite driver statement has no ExecContext")
	}
	r, err := e.ExecContext(ctx, args)
	return r, markFull(err)
}

// QueryContext runs the statement with the driver's context-aware Query.
func (s diskFullStmt) QueryContext(ctx context.Context, args []driver.NamedValue) (driver.Rows, error) {
	q, ok := s.Stmt.(driver.StmtQueryContext)
	if !ok {
		return nil, errors.New("store: sqlite driver statement has no QueryContext")
	}
	r, err := q.QueryContext(ctx, args)
	return r, markFull(err)
}

// diskFullTx is a transaction whose commit marks full-disk errors.
type diskFullTx struct {
	driver.Tx
}

// Commit commits the transaction.
func (t diskFullTx) Commit() error { return markFull(t.Tx.Commit()) }
