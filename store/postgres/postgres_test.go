package postgres

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/stdlib"

	"github.com/keyless-dev/keyless/store"
	"github.com/keyless-dev/keyless/store/internal/sqlstore"
	"github.com/keyless-dev/keyless/store/postgres/pgtest"
	"github.com/keyless-dev/keyless/store/storetest"
)

// schemas returns a function that creates a fresh schema for a test, dropped when
// that test ends, and returns a DSN that uses it. It skips t when no database is
// configured, or fails it in CI (store/postgres/pgtest).
func schemas(t *testing.T) func(t *testing.T) string {
	t.Helper()
	srv := pgtest.Open(t)
	return func(t *testing.T) string {
		t.Helper()
		// Tests need no durability; this keeps them fast on a busy disk.
		return srv.NewSchema(t, "synchronous_commit", "off").DSN
	}
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

func TestS3Conformance(t *testing.T) {
	newSchema := schemas(t)
	storetest.RunS3(t, func(t *testing.T) store.S3Store {
		s, err := Open(t.Context(), newSchema(t))
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		t.Cleanup(func() { _ = s.Close() })
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

func TestOpenExistingConformance(t *testing.T) {
	newSchema := schemas(t)
	storetest.RunOpenExisting(t, storetest.Backend{
		Empty: newSchema,
		Open: func(ctx context.Context, dsn string) (store.Store, error) {
			s, err := Open(ctx, dsn)
			if err != nil {
				return nil, err
			}
			return s, nil
		},
		OpenExisting: func(ctx context.Context, dsn string) (store.Store, error) {
			s, err := OpenExisting(ctx, dsn)
			if err != nil {
				return nil, err
			}
			return s, nil
		},
	})
}

// TestOpenExistingChangesNothing: OpenExisting refuses a schema without keyless's
// tables, or with a newer version, and leaves it as it was.
func TestOpenExistingChangesNothing(t *testing.T) {
	ctx := t.Context()
	newSchema := schemas(t)

	dsn := newSchema(t)
	raw, err := openRaw(t, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = raw.Close() }()
	if _, err := raw.Writer().ExecContext(ctx, "CREATE TABLE notes (body TEXT)"); err != nil {
		t.Fatal(err)
	}
	_, err = OpenExisting(ctx, dsn)
	if !errors.Is(err, store.ErrNoStore) {
		t.Fatalf("OpenExisting of a schema without keyless's tables: err = %v, want ErrNoStore", err)
	}
	var tables []string
	rows, err := raw.Reader().QueryContext(ctx, "SELECT tablename FROM pg_catalog.pg_tables WHERE schemaname = current_schema() ORDER BY tablename")
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			t.Fatal(err)
		}
		tables = append(tables, name)
	}
	if err := rows.Close(); err != nil {
		t.Fatal(err)
	}
	if strings.Join(tables, ",") != "notes" {
		t.Errorf("after OpenExisting the schema holds tables %v, want only notes", tables)
	}

	dsn = newSchema(t)
	s, err := Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Writer().ExecContext(ctx, "INSERT INTO schema_migrations (version, applied_at) VALUES ($1, 0)", sqlstore.LatestVersion()+1); err != nil {
		t.Fatal(err)
	}
	before := dump(t, s)
	_, err = OpenExisting(ctx, dsn)
	if !errors.Is(err, store.ErrSchemaTooNew) {
		t.Errorf("OpenExisting of a newer schema: err = %v, want ErrSchemaTooNew", err)
	}
	if after := dump(t, s); !bytes.Equal(before, after) {
		t.Errorf("OpenExisting of a newer schema changed it:\nbefore %s\nafter  %s", before, after)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestRedact(t *testing.T) {
	tests := []struct{ dsn, want string }{
		{"postgres://keyless:s3cret@db:5432/keyless?sslmode=disable", "postgres://keyless:xxxxx@db:5432/keyless?sslmode=disable"},
		{"postgresql://keyless@db/keyless?password=s3cret&sslmode=require", "postgresql://keyless@db/keyless?password=xxxxx&sslmode=require"},
		{"postgres://postgres@127.0.0.1:5432/test?sslmode=disable", "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"},
		{"host=db user=keyless password=s3cret dbname=keyless", "host=db user=keyless password=xxxxx dbname=keyless"},
		{"host=db password = 's3 cret\\'x' dbname=keyless", "host=db password = xxxxx dbname=keyless"},
		{"postgres://u:s3cret%zz@db/x", "postgres://… (unparsable, not shown)"},
	}
	for _, tc := range tests {
		got := Redact(tc.dsn)
		if got != tc.want || strings.Contains(got, "s3") {
			t.Errorf("Redact(%q) = %q, want %q", tc.dsn, got, tc.want)
		}
	}
}
