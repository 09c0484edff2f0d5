package e2e

import (
	"context"
	"database/sql"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	_ "modernc.org/sqlite" // to age the database behind keyless's back
)

// TestNewerSchemaIsRefusedUntouched: a data directory written by a newer keyless gets
// a clear error from every command and is not modified.
func TestNewerSchemaIsRefusedUntouched(t *testing.T) {
	data := t.TempDir()
	p := startUp(t, data)
	if err := p.stop(); err != nil {
		t.Fatal(err)
	}
	dbPath := filepath.Join(data, "keyless.db")
	db, err := sql.Open("sqlite", dbPath)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := db.ExecContext(ctx, "INSERT INTO schema_migrations (version, applied_at) VALUES (999, 0)"); err != nil {
		t.Fatal(err)
	}
	snapshot := func() string {
		var b strings.Builder
		rows, err := db.QueryContext(ctx, "SELECT version FROM schema_migrations ORDER BY version")
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		for rows.Next() {
			var v int
			rows.Scan(&v)
			b.WriteString(" " + string(rune('0'+v%10)))
		}
		var keys, settings int
		db.QueryRowContext(ctx, "SELECT COUNT(*) FROM signing_keys").Scan(&keys)
		db.QueryRowContext(ctx, "SELECT COUNT(*) FROM settings").Scan(&settings)
		b.WriteString(strings.Repeat("k", keys) + strings.Repeat("s", settings))
		return b.String()
	}
	before := snapshot()
	db.Close()

	cmd := exec.Command(keylessBin, "up", "--listen", "127.0.0.1:0", "--data", data)
	cmd.Env = cleanEnv()
	out, err := cmd.CombinedOutput()
	if err == nil {
		t.Fatal("keyless up started on a database from a newer keyless")
	}
	if !strings.Contains(string(out), "schema version 999") || !strings.Contains(string(out), "newer") {
		t.Errorf("keyless up's refusal does not name the problem:\n%s", out)
	}
	_, stderr, code := run(t, cleanEnv(), "keys", "list", "--data", data)
	if code != 1 || !strings.Contains(stderr, "newer") {
		t.Errorf("keys list on a newer database: exit %d, %q", code, stderr)
	}

	db, err = sql.Open("sqlite", dbPath)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if after := snapshot(); after != before {
		t.Errorf("the refused database changed: %q -> %q", before, after)
	}
}
