package sqlstore

import (
	"database/sql"
	"path/filepath"
	"strings"
	"testing"
	"time"

	_ "modernc.org/sqlite"

	"github.com/keyless-dev/keyless/store"
)

// TestMigrateAddsBlobs: a database at schema version 3 (S3 metadata, object
// bytes all in files) keeps its objects across the migrations that add inline
// blobs and inline objects, which then work; its objects are not Inline.
func TestMigrateAddsBlobs(t *testing.T) {
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
	if err := migrate(ctx, db, d, 3); err != nil {
		t.Fatalf("migrate to 3: %v", err)
	}
	s := New(db, db, d)
	at := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	if err := s.CreateBucket(ctx, store.Bucket{Name: "site", Region: "us-east-1", Owner: "000000000000", CreatedAt: at}); err != nil {
		t.Fatal(err)
	}
	// The object as a version-3 keyless wrote it (today's writes name
	// columns added later).
	if _, err := db.ExecContext(ctx, `INSERT INTO s3_objects (`+strings.Join(objectCols, ", ")+`) VALUES (`+placeholders(1, len(objectCols))+`)`,
		objectArgs(store.Object{Bucket: "site", Key: "index.html", Size: 5, ETag: "e", LastModified: at, Owner: "000000000000", BlobID: "file-blob"})...); err != nil {
		t.Fatal(err)
	}
	if err := Migrate(ctx, db, d); err != nil {
		t.Fatalf("Migrate: %v", err)
	}
	if got, err := s.GetObject(ctx, "site", "index.html"); err != nil || got.BlobID != "file-blob" || got.Inline {
		t.Fatalf("GetObject after migration = %+v, %v", got, err)
	}
	if err := s.PutBlob(ctx, "inline-blob", []byte("hello")); err != nil {
		t.Fatalf("PutBlob after migration: %v", err)
	}
	if got, err := s.GetBlob(ctx, "inline-blob"); err != nil || string(got) != "hello" {
		t.Fatalf("GetBlob after migration = %q, %v", got, err)
	}
	if v, err := s.SchemaVersion(ctx); err != nil || v != LatestVersion() {
		t.Fatalf("SchemaVersion = %d, %v; want %d", v, err, LatestVersion())
	}
}
