package sqlstore

import (
	"database/sql"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	_ "modernc.org/sqlite"

	"github.com/keyless-dev/keyless/store"
)

// TestMigrateKeepsVersion1Policies: a managed policy written at schema version 1,
// before versions were kept, reads back unchanged after the migration to the
// latest version, with no versions recorded (LastVersion 0, Versions nil), and can
// then be given versions.
func TestMigrateKeepsVersion1Policies(t *testing.T) {
	ctx := t.Context()
	d := Dialect{
		Types:    strings.NewReplacer("{text}", "TEXT", "{blob}", "BLOB", "{seqpk}", "INTEGER PRIMARY KEY"),
		HasTable: `SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = $1`,
		Classify: func(error) error { return nil },
	}
	db, err := sql.Open("sqlite", filepath.Join(t.TempDir(), "k.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = db.Close() }()
	db.SetMaxOpenConns(1)
	if err := migrate(ctx, db, d, 1); err != nil {
		t.Fatalf("migrate to 1: %v", err)
	}
	created := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	if _, err := db.ExecContext(ctx, `INSERT INTO policies (arn, id, name, path, document, description, version_id, tags, created_at, updated_at)
		VALUES ('arn:aws:iam::000000000000:policy/old', 'ANPAOLD', 'old', '/', '{}', 'd', 'v1', NULL, $1, $1)`, created.UnixMicro()); err != nil {
		t.Fatal(err)
	}
	if err := Migrate(ctx, db, d); err != nil {
		t.Fatalf("Migrate: %v", err)
	}
	s := New(db, db, d)
	got, err := s.GetPolicy(ctx, "arn:aws:iam::000000000000:policy/old")
	if err != nil {
		t.Fatal(err)
	}
	want := store.ManagedPolicy{ID: "ANPAOLD", Name: "old", Path: "/", ARN: "arn:aws:iam::000000000000:policy/old",
		Document: "{}", Description: "d", VersionID: "v1", CreatedAt: created, UpdatedAt: created}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("GetPolicy after migration:\n got %+v\nwant %+v", got, want)
	}
	if err := s.UpdatePolicy(ctx, want.ARN, func(p store.ManagedPolicy) (store.ManagedPolicy, error) {
		p.Versions = []store.PolicyVersion{{ID: "v1", Document: "{}", CreatedAt: created}}
		p.LastVersion = 1
		return p, nil
	}); err != nil {
		t.Fatalf("UpdatePolicy after migration: %v", err)
	}
	if v, err := s.SchemaVersion(ctx); err != nil || v != LatestVersion() {
		t.Fatalf("SchemaVersion = %d, %v; want %d", v, err, LatestVersion())
	}
}
