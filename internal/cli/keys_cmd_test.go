package cli

import (
	"bytes"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/keyless-dev/keyless/store/postgres/pgtest"
)

// keysRun runs keyless with args and returns the exit code, stdout and stderr.
func keysRun(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := Execute(t.Context(), args, Streams{In: strings.NewReader(""), Out: &out, Err: &errb})
	return code, out.String(), errb.String()
}

// TestKeysCommandsNeverCreateAStore: every keys command pointed at a data directory
// keyless up never used fails, saying so and how to fix it, and leaves it empty.
func TestKeysCommandsNeverCreateAStore(t *testing.T) {
	t.Setenv("KEYLESS_KEK", "")
	t.Setenv("KEYLESS_DATA", "")
	for _, args := range [][]string{
		{"keys", "list"},
		{"keys", "prepare"},
		{"keys", "activate"},
		{"keys", "retire", "kid"},
	} {
		t.Run(args[1], func(t *testing.T) {
			dir := t.TempDir()
			code, out, errOut := keysRun(t, append(args, "--data", dir)...)
			want := "keyless: " + strings.Join(args[:2], " ") + ": no keyless store in " + dir + " (no keyless.db): start `keyless up --data " + dir + "` first"
			if code != 1 || out != "" || !strings.HasPrefix(errOut, want) {
				t.Errorf("exit %d, stdout %q, stderr %q; want exit 1 and %q", code, out, errOut, want)
			}
			if entries, _ := os.ReadDir(dir); len(entries) != 0 {
				t.Errorf("keyless %s left %d entries in the data directory", strings.Join(args, " "), len(entries))
			}
		})
	}
}

// TestKeysListOnPostgresWithoutStore: `keys list --store DSN` on a database keyless up
// never used says it holds no store, hiding the password, and creates no table.
func TestKeysListOnPostgresWithoutStore(t *testing.T) {
	t.Setenv("KEYLESS_KEK", "")
	t.Setenv("KEYLESS_DATA", "")
	sch := pgtest.NewSchema(t)
	u, err := url.Parse(sch.DSN)
	if err != nil {
		t.Fatal(err)
	}
	u.User = url.UserPassword(u.User.Username(), "s3cret") // trust auth ignores it

	data := filepath.Join(t.TempDir(), "data")
	code, out, errOut := keysRun(t, "keys", "list", "--store", u.String(), "--data", data)
	u.User = url.UserPassword(u.User.Username(), "xxxxx")
	want := "keyless: keys list: " + u.String() + " holds no keyless store (no schema): start `keyless up --config FILE` with \"store\" set to it first\n"
	if code != 1 || out != "" || errOut != want {
		t.Errorf("exit %d, stdout %q, stderr %q\nwant exit 1 and %q", code, out, errOut, want)
	}
	if tables := sch.Tables(t); tables != 0 {
		t.Errorf("keys list created %d tables in the database", tables)
	}
	if _, err := os.Stat(data); err == nil {
		t.Errorf("keys list created the data directory %s", data)
	}
}

// TestKeyIDOperands: a key ID that begins with "-" (one kid in 64) is an operand of
// keys activate and keys retire wherever it stands, and no other command line changes.
func TestKeyIDOperands(t *testing.T) {
	const dash = "-289YJtMcR7xH9PNR6JxySjUxRFF7lykqkS7s8syGlM"
	const dash2 = "--89YJtMcR7xH9PNR6JxySjUxRFF7lykqkS7s8syGlM"
	root := NewRootCommand(Streams{})
	for _, tc := range []struct {
		args, want []string
	}{
		{[]string{"keys", "activate", "--force", dash}, []string{"keys", "activate", "--force", "--", dash}},
		{[]string{"keys", "activate", dash, "--force"}, []string{"keys", "activate", "--force", "--", dash}},
		{[]string{"keys", "retire", dash2, "--data", "d"}, []string{"keys", "retire", "--data", "d", "--", dash2}},
		{[]string{"keys", "retire", "--", dash}, []string{"keys", "retire", "--", dash}},
		{[]string{"keys", "retire", "abc"}, []string{"keys", "retire", "abc"}},
		{[]string{"keys", "retire", "-x"}, []string{"keys", "retire", "-x"}},
		{[]string{"keys", "retire", dash + "="}, []string{"keys", "retire", dash + "="}},
		{[]string{"keys", "list", dash}, []string{"keys", "list", dash}},
		{[]string{"version", dash}, []string{"version", dash}},
	} {
		if got := keyIDOperands(root, tc.args); !slices.Equal(got, tc.want) {
			t.Errorf("keyIDOperands(%q) = %q; want %q", tc.args, got, tc.want)
		}
	}
}

// TestKeysRetireDashKeyID: keys retire given a kid that begins with "-" looks the kid
// up, rather than failing on an unknown shorthand flag.
func TestKeysRetireDashKeyID(t *testing.T) {
	t.Setenv("KEYLESS_KEK", "")
	t.Setenv("KEYLESS_DATA", "")
	dir := t.TempDir()
	code, _, errOut := keysRun(t, "keys", "retire", "-289YJtMcR7xH9PNR6JxySjUxRFF7lykqkS7s8syGlM", "--data", dir)
	if want := "keyless: keys retire: no keyless store in " + dir; code != 1 || !strings.HasPrefix(errOut, want) {
		t.Errorf("exit %d, stderr %q; want exit 1 and %q", code, errOut, want)
	}
}
