package sqlite

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"path/filepath"
	"sync/atomic"
	"testing"

	"modernc.org/sqlite"
)

// countingConnector counts the statements its connections compile.
type countingConnector struct {
	driver.Connector
	prepared *atomic.Int64
}

func (c countingConnector) Connect(ctx context.Context) (driver.Conn, error) {
	conn, err := c.Connector.Connect(ctx)
	if err != nil {
		return nil, err
	}
	return countingConn{conn.(fullConn), c.prepared}, nil
}

type fullConn interface {
	driver.Conn
	driver.ConnPrepareContext
	driver.ConnBeginTx
}

type countingConn struct {
	fullConn
	prepared *atomic.Int64
}

func (c countingConn) PrepareContext(ctx context.Context, q string) (driver.Stmt, error) {
	c.prepared.Add(1)
	return c.fullConn.PrepareContext(ctx, q)
}

// TestStmtCache: a query text is compiled once per connection however often it
// runs, in transactions too, and running a statement again while its rows are
// still being read (it is busy) gives correct results from a second statement.
func TestStmtCache(t *testing.T) {
	ctx := context.Background()
	c, err := sqlite.NewConnector("file:" + filepath.Join(t.TempDir(), "cache.db"))
	if err != nil {
		t.Fatal(err)
	}
	var prepared atomic.Int64
	db := sql.OpenDB(stmtCacheConnector{countingConnector{c, &prepared}})
	defer db.Close()
	db.SetMaxOpenConns(1)
	if _, err := db.ExecContext(ctx, `CREATE TABLE t (k INTEGER PRIMARY KEY, v TEXT)`); err != nil {
		t.Fatal(err)
	}
	const insert = `INSERT INTO t (k, v) VALUES ($1, $2)`
	for k := range 50 {
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tx.ExecContext(ctx, insert, k, "v"); err != nil {
			t.Fatal(err)
		}
		if err := tx.Commit(); err != nil {
			t.Fatal(err)
		}
	}
	if got := prepared.Load(); got != 2 { // CREATE TABLE, INSERT
		t.Errorf("compiled %d statements for 1 CREATE and 50 INSERTs, want 2", got)
	}

	// In a transaction, to run the nested query on the same (only) connection.
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	const sel = `SELECT k FROM t WHERE k < $1 ORDER BY k`
	rows, err := tx.QueryContext(ctx, sel, 3)
	if err != nil {
		t.Fatal(err)
	}
	var outer []int
	for rows.Next() {
		var k int
		if err := rows.Scan(&k); err != nil {
			t.Fatal(err)
		}
		outer = append(outer, k)
		// The same text again while the first statement's rows are open.
		var inner []int
		nested, err := tx.QueryContext(ctx, sel, 2)
		if err != nil {
			t.Fatal(err)
		}
		for nested.Next() {
			var k int
			if err := nested.Scan(&k); err != nil {
				t.Fatal(err)
			}
			inner = append(inner, k)
		}
		if err := nested.Close(); err != nil {
			t.Fatal(err)
		}
		if len(inner) != 2 || inner[0] != 0 || inner[1] != 1 {
			t.Errorf("nested rows = %v, want [0 1]", inner)
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	rows.Close()
	if len(outer) != 3 || outer[0] != 0 || outer[2] != 2 {
		t.Errorf("outer rows = %v, want [0 1 2]", outer)
	}
}
