package sqlite

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/keyless-dev/keyless/store"
	"github.com/keyless-dev/keyless/store/internal/sqlstore"
	"github.com/keyless-dev/keyless/store/storetest"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		s, err := Open(t.Context(), filepath.Join(t.TempDir(), "keyless.db"))
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		return s
	})
}

func TestConformanceMemory(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		s, err := Open(t.Context(), Memory)
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		return s
	})
}

func TestRelativePath(t *testing.T) {
	t.Chdir(t.TempDir())
	if err := os.Mkdir(".keyless", 0o700); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{"keyless.db", "./.keyless/keyless.db"} {
		s, err := Open(t.Context(), path)
		if err != nil {
			t.Fatalf("Open(%q): %v", path, err)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(path); err != nil {
			t.Fatalf("database not at %q: %v", path, err)
		}
	}
}

func TestMigrations(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "keyless.db")

	// A fresh database gets the latest version, in WAL mode.
	s, err := Open(ctx, path)
	if err != nil {
		t.Fatalf("Open fresh: %v", err)
	}
	if v, err := s.SchemaVersion(ctx); err != nil || v != sqlstore.LatestVersion() {
		t.Fatalf("SchemaVersion = %d, %v; want %d", v, err, sqlstore.LatestVersion())
	}
	var mode string
	if err := s.Reader().QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode); err != nil || mode != "wal" {
		t.Fatalf("journal_mode = %q, %v; want wal", mode, err)
	}
	var fk int
	if err := s.Writer().QueryRowContext(ctx, "PRAGMA foreign_keys").Scan(&fk); err != nil || fk != 1 {
		t.Fatalf("foreign_keys = %d, %v; want 1", fk, err)
	}
	if err := s.CreateSetting(ctx, "kept", []byte("v")); err != nil {
		t.Fatalf("CreateSetting: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}

	// Reopening is a no-op: same version, one row per version, data kept.
	s, err = Open(ctx, path)
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	if v, err := s.SchemaVersion(ctx); err != nil || v != sqlstore.LatestVersion() {
		t.Fatalf("SchemaVersion after reopen = %d, %v; want %d", v, err, sqlstore.LatestVersion())
	}
	var rows int
	if err := s.Reader().QueryRowContext(ctx, "SELECT COUNT(*) FROM schema_migrations").Scan(&rows); err != nil || rows != sqlstore.LatestVersion() {
		t.Fatalf("schema_migrations rows = %d, %v; want %d", rows, err, sqlstore.LatestVersion())
	}
	if v, err := s.GetSetting(ctx, "kept"); err != nil || string(v) != "v" {
		t.Fatalf("GetSetting after reopen = %q, %v", v, err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}

	// A database from a newer keyless is refused and left byte-for-byte unchanged.
	future := sqlstore.LatestVersion() + 1
	raw, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := raw.ExecContext(ctx, "INSERT INTO schema_migrations (version, applied_at) VALUES ($1, 0)", future); err != nil {
		t.Fatal(err)
	}
	if err := raw.Close(); err != nil {
		t.Fatal(err)
	}
	before := snapshot(t, path)
	s, err = Open(ctx, path)
	if !errors.Is(err, store.ErrSchemaTooNew) {
		if s != nil {
			_ = s.Close()
		}
		t.Fatalf("Open newer database: err = %v, want ErrSchemaTooNew", err)
	}
	if msg := err.Error(); !strings.Contains(msg, fmt.Sprintf("version %d,", future)) ||
		!strings.Contains(msg, fmt.Sprintf("up to %d", sqlstore.LatestVersion())) {
		t.Errorf("error %q does not name the versions", msg)
	}
	if after := snapshot(t, path); !bytes.Equal(before, after) {
		t.Fatalf("Open of a newer database changed the file")
	}
}

// snapshot returns the database file's bytes and fails if a WAL with content is left.
func snapshot(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(path + "-wal"); err == nil && fi.Size() > 0 {
		t.Fatalf("%s-wal left with %d bytes", path, fi.Size())
	}
	return b
}

func TestOpenErrors(t *testing.T) {
	if _, err := Open(t.Context(), ""); err == nil {
		t.Error("Open(\"\") succeeded")
	}
	if _, err := Open(t.Context(), filepath.Join(t.TempDir(), "missing", "dir", "keyless.db")); err == nil {
		t.Error("Open in a missing directory succeeded")
	}
}

func TestPathWithSpecialCharacters(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a dir?x=1#frag%20")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "keyless.db")
	s, err := Open(t.Context(), path)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("database not at %q: %v", path, err)
	}
}

// TestConcurrentOpen opens one fresh database from several goroutines at once, as
// concurrently started processes would: all must succeed and migrate exactly once.
func TestConcurrentOpen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keyless.db")
	errs := make(chan error, 4)
	for range 4 {
		go func() {
			s, err := Open(t.Context(), path)
			if err == nil {
				err = s.Close()
			}
			errs <- err
		}()
	}
	for range 4 {
		if err := <-errs; err != nil {
			t.Errorf("Open: %v", err)
		}
	}
	s, err := Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = s.Close() }()
	var rows int
	if err := s.Reader().QueryRowContext(t.Context(), "SELECT COUNT(*) FROM schema_migrations").Scan(&rows); err != nil || rows != sqlstore.LatestVersion() {
		t.Fatalf("schema_migrations rows = %d, %v; want %d", rows, err, sqlstore.LatestVersion())
	}
}

func TestOpenExistingConformance(t *testing.T) {
	storetest.RunOpenExisting(t, storetest.Backend{
		Empty: func(t *testing.T) string { return filepath.Join(t.TempDir(), "keyless.db") },
		Open: func(ctx context.Context, path string) (store.Store, error) {
			s, err := Open(ctx, path)
			if err != nil {
				return nil, err
			}
			return s, nil
		},
		OpenExisting: func(ctx context.Context, path string) (store.Store, error) {
			s, err := OpenExisting(ctx, path)
			if err != nil {
				return nil, err
			}
			return s, nil
		},
	})
}

// TestOpenExistingChangesNothing: OpenExisting refuses what is not a keyless store
// of this version and leaves it as it was: a missing file is not created, a foreign
// database is not migrated, a newer one not touched.
func TestOpenExistingChangesNothing(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()

	missing := filepath.Join(dir, "missing.db")
	if _, err := OpenExisting(ctx, missing); !errors.Is(err, store.ErrNoStore) || !strings.Contains(err.Error(), "no such file") {
		t.Errorf("OpenExisting of a missing file: err = %v, want ErrNoStore saying there is no such file", err)
	}
	if _, err := os.Stat(missing); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("OpenExisting created %s (stat: %v)", missing, err)
	}
	if _, err := OpenExisting(ctx, filepath.Join(dir, "no", "dir", "keyless.db")); !errors.Is(err, store.ErrNoStore) {
		t.Errorf("OpenExisting in a missing directory: err = %v, want ErrNoStore", err)
	}
	if _, err := OpenExisting(ctx, Memory); !errors.Is(err, store.ErrNoStore) {
		t.Errorf("OpenExisting(Memory): err = %v, want ErrNoStore", err)
	}

	foreign := filepath.Join(dir, "foreign.db")
	raw, err := sql.Open("sqlite", foreign)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := raw.ExecContext(ctx, "CREATE TABLE notes (body TEXT)"); err != nil {
		t.Fatal(err)
	}
	if err := raw.Close(); err != nil {
		t.Fatal(err)
	}
	empty := filepath.Join(dir, "empty.db")
	if err := os.WriteFile(empty, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{foreign, empty} {
		before := snapshot(t, path)
		if _, err := OpenExisting(ctx, path); !errors.Is(err, store.ErrNoStore) {
			t.Errorf("OpenExisting(%s): err = %v, want ErrNoStore", filepath.Base(path), err)
		}
		if after := snapshot(t, path); !bytes.Equal(before, after) {
			t.Errorf("OpenExisting(%s) changed the file", filepath.Base(path))
		}
	}

	newer := filepath.Join(dir, "newer.db")
	s, err := Open(ctx, newer)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Writer().ExecContext(ctx, "INSERT INTO schema_migrations (version, applied_at) VALUES ($1, 0)", sqlstore.LatestVersion()+1); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	before := snapshot(t, newer)
	if _, err := OpenExisting(ctx, newer); !errors.Is(err, store.ErrSchemaTooNew) {
		t.Errorf("OpenExisting of a newer database: err = %v, want ErrSchemaTooNew", err)
	}
	if after := snapshot(t, newer); !bytes.Equal(before, after) {
		t.Error("OpenExisting of a newer database changed the file")
	}
}

// TestNewDatabaseIsPrivate: a database Open creates is readable by its owner only.
func TestNewDatabaseIsPrivate(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keyless.db")
	s, err := Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = s.Close() }()
	if err := s.CreateSetting(t.Context(), "x", []byte("y")); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{path, path + "-wal"} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if perm := fi.Mode().Perm(); perm != 0o600 {
			t.Errorf("%s has mode %04o, want 0600", filepath.Base(p), perm)
		}
	}
}

func TestS3Conformance(t *testing.T) {
	storetest.RunS3(t, func(t *testing.T) store.S3Store {
		s, err := Open(t.Context(), filepath.Join(t.TempDir(), "keyless.db"))
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		t.Cleanup(func() { _ = s.Close() })
		return s
	})
}

func TestS3ConformanceMemory(t *testing.T) {
	storetest.RunS3(t, func(t *testing.T) store.S3Store {
		s, err := Open(t.Context(), Memory)
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		t.Cleanup(func() { _ = s.Close() })
		return s
	})
}
