// Package pgtest gives tests a fresh PostgreSQL schema of their own on the server
// named by the environment variable KEYLESS_TEST_POSTGRES_DSN, dropped when the
// test ends.
//
// Without the variable the test is skipped, or fails in CI (internal/testenv).
package pgtest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"strings"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver

	"github.com/keyless-dev/keyless/internal/testenv"
)

// DSNEnv names the environment variable with the DSN of a PostgreSQL database the
// tests may create schemas in.
const DSNEnv = "KEYLESS_TEST_POSTGRES_DSN"

// hint says how to set DSNEnv.
const hint = "e.g. " + DSNEnv + "='postgres://postgres@127.0.0.1:5432/test?sslmode=disable' (make test sets it when PostgreSQL answers on 127.0.0.1:5432)"

// Server is the PostgreSQL server named by DSNEnv, with a connection outside any
// test schema that creates and drops them.
type Server struct {
	dsn   string
	admin *sql.DB
}

// Open returns the server named by DSNEnv, skipping t when the variable is unset
// (or failing it in CI). Its connection stays open until t ends, so schemas made
// with NewSchema must belong to t or to one of its subtests.
func Open(t testing.TB) *Server {
	t.Helper()
	dsn := testenv.Getenv(t, DSNEnv, hint)
	admin, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatalf("open %s: %v", DSNEnv, err)
	}
	// Registered before any schema's cleanup, so it runs after them all.
	t.Cleanup(func() { _ = admin.Close() })
	return &Server{dsn: dsn, admin: admin}
}

// Schema is a fresh, empty PostgreSQL schema.
type Schema struct {
	// Name is the schema's name, keyless_test_ and 16 random hex digits.
	Name string
	// DSN is the server's DSN with search_path set to Name, so that everything
	// opened with it lives in the schema.
	DSN string

	admin *sql.DB
}

// NewSchema creates a fresh schema, dropped with everything in it when t ends.
// params are further run-time parameters to set in its DSN, as name, value pairs.
func (s *Server) NewSchema(t testing.TB, params ...string) *Schema {
	t.Helper()
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	name := "keyless_test_" + hex.EncodeToString(b)
	if _, err := s.admin.ExecContext(t.Context(), "CREATE SCHEMA "+name); err != nil {
		t.Fatalf("create schema: %v", err)
	}
	t.Cleanup(func() {
		// t.Context is already cancelled in cleanup.
		if _, err := s.admin.ExecContext(context.Background(), "DROP SCHEMA "+name+" CASCADE"); err != nil {
			t.Errorf("drop schema %s: %v", name, err)
		}
	})
	return &Schema{Name: name, DSN: withParams(t, s.dsn, append([]string{"search_path", name}, params...)...), admin: s.admin}
}

// NewSchema opens the server named by DSNEnv for t and creates a fresh schema on
// it, dropped when t ends: Open(t).NewSchema(t, params...).
func NewSchema(t testing.TB, params ...string) *Schema {
	t.Helper()
	return Open(t).NewSchema(t, params...)
}

// Tables returns the number of tables in the schema.
func (s *Schema) Tables(t testing.TB) int {
	t.Helper()
	var n int
	if err := s.admin.QueryRowContext(t.Context(), "SELECT COUNT(*) FROM pg_catalog.pg_tables WHERE schemaname = $1", s.Name).Scan(&n); err != nil {
		t.Fatalf("count the tables in schema %s: %v", s.Name, err)
	}
	return n
}

// withParams returns dsn, a URL or keyword/value DSN, with the given run-time
// parameters (name, value pairs) set.
func withParams(t testing.TB, dsn string, kv ...string) string {
	t.Helper()
	if len(kv)%2 != 0 {
		t.Fatalf("pgtest: odd number of parameter names and values: %q", kv)
	}
	if !strings.Contains(dsn, "://") {
		for i := 0; i < len(kv); i += 2 {
			dsn += " " + kv[i] + "=" + kv[i+1]
		}
		return dsn
	}
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatalf("parse %s: %v", DSNEnv, err)
	}
	q := u.Query()
	for i := 0; i < len(kv); i += 2 {
		q.Set(kv[i], kv[i+1])
	}
	u.RawQuery = q.Encode()
	return u.String()
}
