// Package sqlite is the embedded, default keyless store: one SQLite database file,
// opened with the pure-Go driver modernc.org/sqlite (no cgo).
//
// The database runs in WAL mode with foreign keys on. Writes go through a single
// connection whose transactions begin IMMEDIATE, so concurrent writers in this process
// queue instead of failing with SQLITE_BUSY, and writers in other processes wait up to
// the busy timeout; reads use a separate pool of read-only connections and run
// concurrently with the writer. Storage conventions (time precision, ordering, case
// rules, cascades) are described in store/internal/sqlstore, which this package shares with
// store/postgres.
package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"runtime"
	"strings"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/keyless-dev/keyless/store"
	"github.com/keyless-dev/keyless/store/internal/sqlstore"
)

// busyTimeoutMillis is how long a connection waits for another process's lock.
const busyTimeoutMillis = 10000

// sqliteDialect is SQLite's side of the shared SQL code.
var sqliteDialect = sqlstore.Dialect{
	Types: strings.NewReplacer(
		"{text}", "TEXT",
		"{blob}", "BLOB",
		"{seqpk}", "INTEGER PRIMARY KEY", // an alias of the rowid: increases with each append
	),
	ForUpdate: "", // the writer's transactions are IMMEDIATE: they hold the write lock from BEGIN
	HasTable:  `SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = $1`,
	Classify:  classifySQLite,
}

// classifySQLite maps SQLite constraint violations to store sentinels.
func classifySQLite(err error) error {
	var se *sqlite.Error
	if !errors.As(err, &se) {
		return nil
	}
	switch se.Code() {
	case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
		return store.ErrAlreadyExists
	case sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY:
		return fmt.Errorf("referenced record %w", store.ErrNotFound)
	}
	return nil
}

// dsn is the driver data source name for the database file at path with the given
// extra query parameters.
func dsn(path string, params ...string) string {
	q := []string{
		"_pragma=" + url.QueryEscape(fmt.Sprintf("busy_timeout(%d)", busyTimeoutMillis)),
		"_pragma=" + url.QueryEscape("foreign_keys(1)"),
		"_pragma=" + url.QueryEscape("synchronous(NORMAL)"),
	}
	return "file:" + url.PathEscape(path) + "?" + strings.Join(append(q, params...), "&")
}

// openDB opens a pool of connections to dsn that keep their prepared
// statements (see stmtCacheConnector).
func openDB(dsn string) (*sql.DB, error) {
	c, err := sqlite.NewConnector(dsn)
	if err != nil {
		return nil, err
	}
	return sql.OpenDB(stmtCacheConnector{diskFullConnector{c}}), nil // unavailable.go: a full disk is store.ErrUnavailable
}

// Memory is the path that opens a private in-memory database, for tests. It lives on
// one connection, used for reads and writes alike, and disappears on Close.
const Memory = ":memory:"

// Open opens (creating it if needed, with mode 0600) the SQLite database at path and
// migrates it to the latest schema version. A database written by a newer keyless is
// left untouched and reported with an error wrapping store.ErrSchemaTooNew.
func Open(ctx context.Context, path string) (*sqlstore.Store, error) {
	return open(ctx, path, true)
}

// OpenExisting opens the keyless database at path without creating, migrating or
// otherwise changing anything (not even its journal mode), for commands that work on
// a store `keyless up` made. A missing file, or a database without keyless's schema,
// gives an error wrapping store.ErrNoStore; one at another schema version an error
// wrapping store.ErrSchemaTooOld or store.ErrSchemaTooNew.
func OpenExisting(ctx context.Context, path string) (*sqlstore.Store, error) {
	return open(ctx, path, false)
}

func open(ctx context.Context, path string, create bool) (*sqlstore.Store, error) {
	if path == "" {
		return nil, errors.New("store: open sqlite: empty path")
	}
	var extra []string // connection parameters of both pools
	switch {
	case !create && path == Memory:
		return nil, fmt.Errorf("store: open sqlite %q: %w (an in-memory database starts empty)", path, store.ErrNoStore)
	case !create:
		if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("store: open sqlite %q: %w (no such file)", path, store.ErrNoStore)
		}
		extra = append(extra, "mode=rw") // never create the file, even if it vanishes meanwhile
	case path != Memory:
		if err := createPrivate(path); err != nil {
			return nil, fmt.Errorf("store: open sqlite %q: %w", path, err)
		}
	}
	wparams := append(extra, "_txlock=immediate")
	background := create && path != Memory // a server's store: checkpoints in the background
	if background {
		wparams = append(wparams, "_pragma="+url.QueryEscape(fmt.Sprintf("wal_autocheckpoint(%d)", walBackstopPages)))
	}
	w, err := openDB(dsn(path, wparams...))
	if err != nil {
		return nil, fmt.Errorf("store: open sqlite %q: %w", path, err)
	}
	// One writer connection: in-process writers queue on it instead of on the file lock.
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	w.SetConnMaxIdleTime(0)
	if create {
		err = sqlstore.Migrate(ctx, w, sqliteDialect)
	} else {
		err = sqlstore.Check(ctx, w, sqliteDialect)
	}
	if err != nil {
		_ = w.Close()
		return nil, fmt.Errorf("store: open sqlite %q: %w", path, err)
	}
	if path == Memory {
		return sqlstore.New(w, w, sqliteDialect), nil
	}
	if create {
		// journal_mode is persistent; set it only once the schema is known to be ours,
		// so that a database from a newer keyless is not modified.
		mode, err := enableWAL(ctx, w)
		if err != nil {
			_ = w.Close()
			return nil, fmt.Errorf("store: open sqlite %q: set WAL mode: %w", path, err)
		}
		if !strings.EqualFold(mode, "wal") {
			_ = w.Close()
			return nil, fmt.Errorf("store: open sqlite %q: journal mode is %q, want wal", path, mode)
		}
	}
	r, err := openDB(dsn(path, append(extra, "_pragma="+url.QueryEscape("query_only(1)"))...))
	if err != nil {
		_ = w.Close()
		return nil, fmt.Errorf("store: open sqlite %q: %w", path, err)
	}
	n := max(4, runtime.GOMAXPROCS(0))
	r.SetMaxOpenConns(n)
	r.SetMaxIdleConns(n)
	if err := r.PingContext(ctx); err != nil {
		_ = r.Close()
		_ = w.Close()
		return nil, fmt.Errorf("store: open sqlite %q: %w", path, err)
	}
	st := sqlstore.New(r, w, sqliteDialect)
	if background {
		ck, err := openDB(dsn(path, extra...))
		if err != nil {
			_ = st.Close()
			return nil, fmt.Errorf("store: open sqlite %q: %w", path, err)
		}
		ck.SetMaxOpenConns(1)
		ck.SetMaxIdleConns(1)
		st.CloseFirst(startCheckpointer(ck, w).stop)
	}
	return st, nil
}

// createPrivate creates path as an empty file with mode 0600 unless it exists, so that
// a new database (and the WAL and shared-memory files SQLite gives the same mode) is
// readable only by its owner. SQLite takes an empty file for an empty database.
func createPrivate(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("create database file: %w", err)
	}
	return f.Close()
}

// enableWAL switches the database to WAL mode. The switch needs an exclusive lock and
// SQLite answers SQLITE_BUSY at once, without its busy handler, while another
// connection holds the file (several processes opening a new database together), so
// it is retried for up to the busy timeout. A database already in WAL mode is left be.
func enableWAL(ctx context.Context, db *sql.DB) (string, error) {
	var mode string
	if err := db.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode); err == nil && strings.EqualFold(mode, "wal") {
		return mode, nil
	}
	deadline := time.Now().Add(busyTimeoutMillis * time.Millisecond)
	wait := time.Millisecond
	for {
		err := db.QueryRowContext(ctx, "PRAGMA journal_mode = WAL").Scan(&mode)
		var se *sqlite.Error
		if err == nil || !errors.As(err, &se) || se.Code()&0xff != sqlite3.SQLITE_BUSY || time.Now().After(deadline) {
			return mode, err
		}
		select {
		case <-ctx.Done():
			return "", ctx.Err()
		case <-time.After(wait):
		}
		wait = min(2*wait, 100*time.Millisecond)
	}
}
