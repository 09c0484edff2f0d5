package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
)

// checkpointDB opens, in a new WAL database at path holding a table t of
// 16 KiB rows, the pools the checkpointer works with: the writer (one
// connection, its automatic checkpoint off, so that only the checkpointer's
// rounds shorten the log) and the checkpointer's own.
func checkpointDB(t *testing.T, path string) (w, ck *sql.DB) {
	t.Helper()
	if err := createPrivate(path); err != nil {
		t.Fatal(err)
	}
	w, err := openDB(dsn(path, "_txlock=immediate", "_pragma="+url.QueryEscape("wal_autocheckpoint(0)")))
	if err != nil {
		t.Fatal(err)
	}
	w.SetMaxOpenConns(1)
	ck, err = openDB(dsn(path))
	if err != nil {
		t.Fatal(err)
	}
	ck.SetMaxOpenConns(1)
	t.Cleanup(func() { _ = ck.Close(); _ = w.Close() })
	ctx := t.Context()
	if _, err := enableWAL(ctx, w); err != nil {
		t.Fatal(err)
	}
	if _, err := w.ExecContext(ctx, `CREATE TABLE t (id INTEGER PRIMARY KEY, data BLOB NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	return w, ck
}

// insertRows commits n rows of 16 KiB (at least four log pages each), one
// transaction each, counting them in rows.
func insertRows(ctx context.Context, w *sql.DB, n int, rows *atomic.Int64) error {
	for range n {
		if _, err := w.ExecContext(ctx, `INSERT INTO t (data) VALUES (zeroblob(16384))`); err != nil {
			return fmt.Errorf("insert: %w", err)
		}
		rows.Add(1)
	}
	return nil
}

// logPages is the length of the database's log in pages.
func logPages(t *testing.T, ck *sql.DB) int {
	t.Helper()
	var busy, log, done int
	if err := ck.QueryRowContext(t.Context(), "PRAGMA wal_checkpoint(PASSIVE)").Scan(&busy, &log, &done); err != nil {
		t.Fatal(err)
	}
	return log
}

// TestCheckpointRoundRestartsTheLog: once the log has walRestartPages pages,
// a round copies it into the database, and the next commit starts the log
// from its beginning, so the log stays short however much is written.
func TestCheckpointRoundRestartsTheLog(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "keyless.db")
	w, ck := checkpointDB(t, path)
	var rows atomic.Int64
	if err := insertRows(ctx, w, walRestartPages/4+10, &rows); err != nil {
		t.Fatal(err)
	}
	c := &checkpointer{ck: ck, w: w}
	log, err := c.round(ctx)
	if err != nil {
		t.Fatalf("round: %v", err)
	}
	if log < walRestartPages {
		t.Fatalf("round saw a log of %d pages after %d rows of 16 KiB, want at least %d", log, rows.Load(), walRestartPages)
	}
	if err := insertRows(ctx, w, 1, &rows); err != nil {
		t.Fatal(err)
	}
	if got := logPages(t, ck); got > 10 {
		t.Errorf("after a round and one more row the log has %d pages, want it restarted (a few pages)", got)
	}
}

// TestCheckpointRoundsUnderSteadyWrites: rounds made while a writer commits
// without pause keep restarting the log (the second, short checkpoint holds
// the writer), and every committed row is kept.
func TestCheckpointRoundsUnderSteadyWrites(t *testing.T) {
	ctx := t.Context()
	w, ck := checkpointDB(t, filepath.Join(t.TempDir(), "keyless.db"))
	var rows atomic.Int64
	const total = 3 * walRestartPages / 4 * 4 // rows: about 12 restarts' worth of pages
	var wg sync.WaitGroup
	var werr error
	wg.Add(1)
	go func() {
		defer wg.Done()
		werr = insertRows(ctx, w, total, &rows)
	}()
	c := &checkpointer{ck: ck, w: w}
	restarts, last := 0, 0
	for rows.Load() < total {
		log, err := c.round(ctx)
		if err != nil {
			t.Fatalf("round: %v", err)
		}
		if log < last {
			restarts++
		}
		last = log
	}
	wg.Wait()
	if werr != nil {
		t.Fatal(werr)
	}
	if want := total * 4 / walRestartPages / 2; restarts < want { // half of what 4 pages a row would give
		t.Errorf("the log restarted %d times while %d rows of 16 KiB were written, want at least %d (one every %d pages or so)", restarts, total, want, walRestartPages)
	}
	var n int64
	if err := w.QueryRowContext(ctx, `SELECT count(*) FROM t`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != total {
		t.Errorf("the table holds %d rows, want %d", n, total)
	}
}

// TestCloseStopsTheCheckpointer: Close ends the background checkpoints
// before it closes the pools, and the database reopens with everything.
func TestCloseStopsTheCheckpointer(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "keyless.db")
	s, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 50 {
		if err := s.PutBlob(ctx, fmt.Sprintf("k%d", i), make([]byte, 8<<10)); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	s, err = Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.GetBlob(ctx, "k49"); err != nil {
		t.Errorf("after reopening: %v", err)
	}
}
