package pgtest

import (
	"database/sql"
	"testing"
)

// TestNewSchema: the DSN of a new schema puts a connection in it with the extra
// parameters set, Tables counts what is created there, and the schema is gone once
// its test has ended.
func TestNewSchema(t *testing.T) {
	srv := Open(t)
	var name string
	t.Run("schema", func(t *testing.T) {
		sch := srv.NewSchema(t, "application_name", "pgtest")
		name = sch.Name
		db, err := sql.Open("pgx", sch.DSN)
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = db.Close() }()
		var schema, app string
		if err := db.QueryRowContext(t.Context(), "SELECT current_schema(), current_setting('application_name')").Scan(&schema, &app); err != nil {
			t.Fatal(err)
		}
		if schema != sch.Name || app != "pgtest" {
			t.Errorf("current_schema, application_name = %q, %q; want %q, %q", schema, app, sch.Name, "pgtest")
		}
		if n := sch.Tables(t); n != 0 {
			t.Errorf("a new schema holds %d tables", n)
		}
		if _, err := db.ExecContext(t.Context(), "CREATE TABLE notes (body TEXT)"); err != nil {
			t.Fatal(err)
		}
		if n := sch.Tables(t); n != 1 {
			t.Errorf("Tables = %d after creating one", n)
		}
	})
	var n int
	if err := srv.admin.QueryRowContext(t.Context(), "SELECT COUNT(*) FROM pg_catalog.pg_namespace WHERE nspname = $1", name).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if name == "" || n != 0 {
		t.Errorf("schema %q still exists after its test ended", name)
	}
}

func TestWithParams(t *testing.T) {
	for _, tc := range []struct{ dsn, want string }{
		{"postgres://u@db:5432/x?sslmode=disable", "postgres://u@db:5432/x?search_path=s&sslmode=disable&synchronous_commit=off"},
		{"host=db user=u", "host=db user=u search_path=s synchronous_commit=off"},
	} {
		if got := withParams(t, tc.dsn, "search_path", "s", "synchronous_commit", "off"); got != tc.want {
			t.Errorf("withParams(%q) = %q, want %q", tc.dsn, got, tc.want)
		}
	}
}
