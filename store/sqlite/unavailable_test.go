package sqlite

import (
	"context"
	"errors"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/keyless-dev/keyless/store"
)

// TestDiskFullIsUnavailable: a write that SQLite refuses with SQLITE_FULL (here a
// database held to a few pages by max_page_count, as a full disk does) wraps
// store.ErrUnavailable, leaves nothing behind, and works once there is room.
func TestDiskFullIsUnavailable(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "full.db")
	db, err := openDB(dsn(path, "_txlock=immediate"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	if _, err := db.ExecContext(ctx, "CREATE TABLE t (v TEXT)"); err != nil {
		t.Fatal(err)
	}
	var pages int
	if err := db.QueryRowContext(ctx, "PRAGMA page_count").Scan(&pages); err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(ctx, "PRAGMA max_page_count = "+strconv.Itoa(pages)); err != nil {
		t.Fatal(err)
	}
	big := strings.Repeat("x", 64<<10)
	_, err = db.ExecContext(ctx, "INSERT INTO t (v) VALUES ($1)", big)
	if !errors.Is(err, store.ErrUnavailable) || store.UnavailableCause(err) != "disk full" {
		t.Fatalf("insert into a full database: %v, want store.ErrUnavailable (disk full)", err)
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.ExecContext(ctx, "INSERT INTO t (v) VALUES ($1)", big); !errors.Is(err, store.ErrUnavailable) {
		t.Errorf("insert in a transaction into a full database: %v, want store.ErrUnavailable", err)
	}
	_ = tx.Rollback()
	var n int
	if err := db.QueryRowContext(ctx, "SELECT COUNT(*) FROM t").Scan(&n); err != nil || n != 0 {
		t.Fatalf("rows after the failed writes: %d, %v; want 0", n, err)
	}
	if _, err := db.ExecContext(ctx, "PRAGMA max_page_count = 1000000"); err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(ctx, "INSERT INTO t (v) VALUES ($1)", big); err != nil {
		t.Fatalf("insert once there is room: %v", err)
	}
}
