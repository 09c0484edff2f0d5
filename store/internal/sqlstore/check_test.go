package sqlstore

import (
	"database/sql"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	_ "modernc.org/sqlite"

	"github.com/keyless-dev/keyless/store"
)

// TestCheckSchema: Check tells a database without keyless's schema, or at another
// version than this binary's, from one it can use, and changes nothing.
func TestCheckSchema(t *testing.T) {
	d := Dialect{
		Types:    strings.NewReplacer("{text}", "TEXT", "{blob}", "BLOB", "{seqpk}", "INTEGER PRIMARY KEY"),
		HasTable: `SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = $1`,
		Classify: func(error) error { return nil },
	}
	tests := []struct {
		name   string
		setup  []string
		latest int
		want   error
	}{
		{"empty database", nil, 1, store.ErrNoStore},
		{"foreign tables", []string{"CREATE TABLE notes (body TEXT)"}, 1, store.ErrNoStore},
		{"no version recorded", []string{"CREATE TABLE schema_migrations (version BIGINT PRIMARY KEY, applied_at BIGINT NOT NULL)"}, 1, store.ErrNoStore},
		{"current", []string{"CREATE TABLE schema_migrations (version BIGINT PRIMARY KEY, applied_at BIGINT NOT NULL)", "INSERT INTO schema_migrations VALUES (1, 0)"}, 1, nil},
		{"older", []string{"CREATE TABLE schema_migrations (version BIGINT PRIMARY KEY, applied_at BIGINT NOT NULL)", "INSERT INTO schema_migrations VALUES (1, 0)"}, 2, store.ErrSchemaTooOld},
		{"newer", []string{"CREATE TABLE schema_migrations (version BIGINT PRIMARY KEY, applied_at BIGINT NOT NULL)", "INSERT INTO schema_migrations VALUES (1, 0)", "INSERT INTO schema_migrations VALUES (2, 0)"}, 1, store.ErrSchemaTooNew},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx := t.Context()
			db, err := sql.Open("sqlite", filepath.Join(t.TempDir(), "k.db"))
			if err != nil {
				t.Fatal(err)
			}
			defer func() { _ = db.Close() }()
			for _, stmt := range tc.setup {
				if _, err := db.ExecContext(ctx, stmt); err != nil {
					t.Fatal(err)
				}
			}
			schema := func() string {
				var s sql.NullString
				if err := db.QueryRowContext(ctx, "SELECT group_concat(type || ' ' || name, ', ') FROM sqlite_master").Scan(&s); err != nil {
					t.Fatal(err)
				}
				return s.String
			}
			before := schema()
			err = checkSchema(ctx, db, d, tc.latest)
			if tc.want == nil && err != nil || tc.want != nil && !errors.Is(err, tc.want) {
				t.Fatalf("checkSchema = %v, want %v", err, tc.want)
			}
			if after := schema(); after != before {
				t.Errorf("checkSchema changed the schema: %q -> %q", before, after)
			}
		})
	}
}
