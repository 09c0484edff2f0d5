package sqlite

import (
	"context"
	"database/sql/driver"
	"errors"
)

// maxCachedStmts bounds the statements one connection keeps prepared. The
// store's queries are a fixed set of texts, well under this; a query past the
// bound is prepared and finalized per use, as without the cache.
const maxCachedStmts = 256

// stmtCacheConnector opens connections that keep their prepared statements.
//
// modernc.org/sqlite compiles the SQL text of every Query and Exec anew, and
// for a store request of a few small statements the parser is the largest
// share of the CPU (13% of a 4 KiB S3 PUT and GET load, by a CPU profile of
// `keyless up`). database/sql has no statement cache of its own, so this
// connector interposes on the driver's connections: they offer neither Queryer
// nor Execer, which makes database/sql prepare each statement, and they return
// the prepared statement of the same text when it is free, instead of
// compiling it again. Transactions reuse them too, since they run on the same
// connections.
type stmtCacheConnector struct {
	driver.Connector
}

// Connect opens a driver connection and wraps it with a statement cache.
func (c stmtCacheConnector) Connect(ctx context.Context) (driver.Conn, error) {
	conn, err := c.Connector.Connect(ctx)
	if err != nil {
		return nil, err
	}
	return &cachingConn{conn: conn, stmts: map[string]*cachedStmt{}}, nil
}

// cachingConn is a driver connection with its prepared statements cached by
// SQL text. database/sql uses a connection from one goroutine at a time, so
// the cache needs no lock.
type cachingConn struct {
	conn  driver.Conn
	stmts map[string]*cachedStmt
}

var (
	_ driver.Conn               = (*cachingConn)(nil)
	_ driver.ConnPrepareContext = (*cachingConn)(nil)
	_ driver.ConnBeginTx        = (*cachingConn)(nil)
	_ driver.Pinger             = (*cachingConn)(nil)
	_ driver.SessionResetter    = (*cachingConn)(nil)
	_ driver.Validator          = (*cachingConn)(nil)
)

// Prepare is PrepareContext without a context.
func (c *cachingConn) Prepare(query string) (driver.Stmt, error) {
	return c.PrepareContext(context.Background(), query)
}

// PrepareContext returns the cached statement for query when it is not in
// use, else prepares one (and caches it while there is room).
func (c *cachingConn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	if s := c.stmts[query]; s != nil && !s.busy {
		s.busy = true
		return s, nil
	}
	var ds driver.Stmt
	var err error
	if pc, ok := c.conn.(driver.ConnPrepareContext); ok {
		ds, err = pc.PrepareContext(ctx, query)
	} else {
		ds, err = c.conn.Prepare(query)
	}
	if err != nil {
		return nil, err
	}
	s := &cachedStmt{Stmt: ds, busy: true}
	if _, taken := c.stmts[query]; !taken && len(c.stmts) < maxCachedStmts {
		s.cached = true
		c.stmts[query] = s
	}
	return s, nil
}

// Close finalizes every cached statement and closes the connection.
func (c *cachingConn) Close() error {
	var errs []error
	for q, s := range c.stmts {
		errs = append(errs, s.Stmt.Close())
		delete(c.stmts, q)
	}
	errs = append(errs, c.conn.Close())
	return errors.Join(errs...)
}

// Begin is BeginTx with default options.
func (c *cachingConn) Begin() (driver.Tx, error) {
	return c.BeginTx(context.Background(), driver.TxOptions{})
}

// BeginTx starts a transaction on the driver's connection.
func (c *cachingConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	if bc, ok := c.conn.(driver.ConnBeginTx); ok {
		return bc.BeginTx(ctx, opts)
	}
	return nil, errors.New("store: sqlite driver connection cannot begin transactions with options")
}

// Ping checks the connection, if the driver can.
func (c *cachingConn) Ping(ctx context.Context) error {
	if p, ok := c.conn.(driver.Pinger); ok {
		return p.Ping(ctx)
	}
	return nil
}

// ResetSession is the driver's, when it has one.
func (c *cachingConn) ResetSession(ctx context.Context) error {
	if r, ok := c.conn.(driver.SessionResetter); ok {
		return r.ResetSession(ctx)
	}
	return nil
}

// IsValid is the driver's, when it has one.
func (c *cachingConn) IsValid() bool {
	if v, ok := c.conn.(driver.Validator); ok {
		return v.IsValid()
	}
	return true
}

// cachedStmt is a prepared statement that, when cached, survives Close for the
// next use of the same SQL text on its connection. database/sql closes a
// statement it prepared for one Query or Exec once that call's rows or result
// are done, which marks the statement free again.
type cachedStmt struct {
	driver.Stmt
	cached bool // in its connection's cache: Close frees instead of finalizing
	busy   bool // handed out and not closed yet
}

// Close frees a cached statement for reuse and finalizes any other.
func (s *cachedStmt) Close() error {
	if s.cached {
		s.busy = false
		return nil
	}
	return s.Stmt.Close()
}

// ExecContext runs the statement with the driver's context-aware Exec.
func (s *cachedStmt) ExecContext(ctx context.Context, args []driver.NamedValue) (driver.Result, error) {
	if e, ok := s.Stmt.(driver.StmtExecContext); ok {
		return e.ExecContext(ctx, args)
	}
	return nil, errors.New("store: sqlite driver statement has no ExecContext")
}

// QueryContext runs the statement with the driver's context-aware Query.
func (s *cachedStmt) QueryContext(ctx context.Context, args []driver.NamedValue) (driver.Rows, error) {
	if q, ok := s.Stmt.(driver.StmtQueryContext); ok {
		return q.QueryContext(ctx, args)
	}
	return nil, errors.New("store: sqlite driver statement has no QueryContext")
}
