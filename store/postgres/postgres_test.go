package postgres

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"net/url"
	"os"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/stdlib"

	"github.com/keyless-dev/keyless/store"
	"github.com/keyless-dev/keyless/store/internal/sqlstore"
	"github.com/keyless-dev/keyless/store/storetest"
)

// dsnEnv names the environment variable with the DSN of a PostgreSQL database the
// tests may create schemas in.
const dsnEnv = "KEYLESS_TEST_POSTGRES_DSN"

// schemas returns a function that creates a fresh schema for a test, dropped when
// that test ends, and returns a DSN that uses it. It skips t when no database is
// configured.
func schemas(t *testing.T) func(t *testing.T) string {
	t.Helper()
	base := os.Getenv(dsnEnv)
	if base == "" {
		t.Skipf("set %s to run the PostgreSQL tests, e.g. %s='postgres://postgres@127.0.0.1:5432/test?sslmode=disable'", dsnEnv, dsnEnv)
	}
	admin, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatalf("open %s: %v", dsnEnv, err)
	}
	t.Cleanup(func() { _ = admin.Close() })
	return func(t *testing.T) string {
		t.Helper()
		b := make([]byte, 8)
		_, _ = rand.Read(b)
		schema := "keyless_test_" + hex.EncodeToString(b)
		if _, err := admin.ExecContext(t.Context(), "CREATE SCHEMA "+schema); err != nil {
			t.Fatalf("create schema: %v", err)
		}
		t.Cleanup(func() {
			// t.Context is already cancelled in cleanup.
			if _, err := admin.ExecContext(context.Background(), "DROP SCHEMA "+schema+" CASCADE"); err != nil {
				t.Errorf("drop schema %s: %v", schema, err)
			}
		})
		return withParams(t, base, "search_path", schema,
			// Tests need no durability; this keeps them fast on a busy disk.
			"synchronous_commit", "off")
	}
}

// withParams returns dsn with the given run-time parameters (name, value pairs) set.
func withParams(t *testing.T, dsn string, kv ...string) string {
	t.Helper()
	if !strings.Contains(dsn, "://") {
		for i := 0; i < len(kv); i += 2 {
			dsn += " " + kv[i] + "=" + kv[i+1]
		}
		return dsn
	}
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatalf("parse %s: %v", dsnEnv, err)
	}
	q := u.Query()
	for i := 0; i < len(kv); i += 2 {
		q.Set(kv[i], kv[i+1])
	}
	u.RawQuery = q.Encode()
	return u.String()
}

func TestConformance(t *testing.T) {
	newSchema := schemas(t)
	storetest.Run(t, func(t *testing.T) store.Store {
		s, err := Open(t.Context(), newSchema(t))
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		return s
	})
}

func TestMigrations(t *testing.T) {
	ctx := t.Context()
	dsn := schemas(t)(t)

	s, err := Open(ctx, dsn)
	if err != nil {
		t.Fatalf("Open fresh: %v", err)
	}
	if v, err := s.SchemaVersion(ctx); err != nil || v != sqlstore.LatestVersion() {
		t.Fatalf("SchemaVersion = %d, %v; want %d", v, err, sqlstore.LatestVersion())
	}
	if err := s.CreateSetting(ctx, "kept", []byte("v")); err != nil {
		t.Fatalf("CreateSetting: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s, err = Open(ctx, dsn)
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	var rows int
	if err := s.Reader().QueryRowContext(ctx, "SELECT COUNT(*) FROM schema_migrations").Scan(&rows); err != nil || rows != sqlstore.LatestVersion() {
		t.Fatalf("schema_migrations rows = %d, %v; want %d", rows, err, sqlstore.LatestVersion())
	}
	if v, err := s.GetSetting(ctx, "kept"); err != nil || string(v) != "v" {
		t.Fatalf("GetSetting after reopen = %q, %v", v, err)
	}
	future := sqlstore.LatestVersion() + 1
	if _, err := s.Writer().ExecContext(ctx, "INSERT INTO schema_migrations (version, applied_at) VALUES ($1, 0)", future); err != nil {
		t.Fatal(err)
	}
	before := dump(t, s)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s2, err := Open(ctx, dsn)
	if !errors.Is(err, store.ErrSchemaTooNew) {
		if s2 != nil {
			_ = s2.Close()
		}
		t.Fatalf("Open newer database: err = %v, want ErrSchemaTooNew", err)
	}
	s, err = openRaw(t, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = s.Close() }()
	if after := dump(t, s); !bytes.Equal(before, after) {
		t.Fatalf("Open of a newer database changed it:\nbefore %s\nafter  %s", before, after)
	}
}

// openRaw opens a Store on dsn without migrating.
func openRaw(t *testing.T, dsn string) (*sqlstore.Store, error) {
	t.Helper()
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		return nil, err
	}
	return sqlstore.New(db, db, postgresDialect), nil
}

// dump describes the schema's tables, columns and migration rows.
func dump(t *testing.T, s *sqlstore.Store) []byte {
	t.Helper()
	var b bytes.Buffer
	rows, err := s.Reader().QueryContext(t.Context(), `SELECT table_name, column_name, data_type FROM information_schema.columns
		WHERE table_schema = current_schema() ORDER BY table_name, ordinal_position`)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = rows.Close() }()
	for rows.Next() {
		var tbl, col, typ string
		if err := rows.Scan(&tbl, &col, &typ); err != nil {
			t.Fatal(err)
		}
		b.WriteString(tbl + "." + col + " " + typ + "\n")
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	var versions string
	if err := s.Reader().QueryRowContext(t.Context(),
		`SELECT string_agg(version::text || '@' || applied_at::text, ',' ORDER BY version) FROM schema_migrations`).Scan(&versions); err != nil {
		t.Fatal(err)
	}
	b.WriteString("versions " + versions + "\n")
	return b.Bytes()
}

func TestOpenBadDSN(t *testing.T) {
	_, err := Open(t.Context(), "postgres://user:secret@127.0.0.1:1/x?sslmode=disable&connect_timeout=1")
	if err == nil {
		t.Fatal("Open of an unreachable server succeeded")
	}
	if strings.Contains(err.Error(), "secret") {
		t.Fatalf("error leaks the password: %v", err)
	}
	_ = stdlib.GetDefaultDriver() // the pgx driver is registered for database/sql
}

// TestConcurrentOpen opens one fresh schema from several goroutines at once, as
// concurrently started replicas would: all must succeed and migrate exactly once.
func TestConcurrentOpen(t *testing.T) {
	dsn := schemas(t)(t)
	errs := make(chan error, 4)
	for range 4 {
		go func() {
			s, err := Open(t.Context(), dsn)
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
	s, err := openRaw(t, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = s.Close() }()
	var rows int
	if err := s.Reader().QueryRowContext(t.Context(), "SELECT COUNT(*) FROM schema_migrations").Scan(&rows); err != nil || rows != sqlstore.LatestVersion() {
		t.Fatalf("schema_migrations rows = %d, %v; want %d", rows, err, sqlstore.LatestVersion())
	}
}
