package server

import (
	"bytes"
	"encoding/base64"
	"errors"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/keyless-dev/keyless/keywrap"
	"github.com/keyless-dev/keyless/store"
	"github.com/keyless-dev/keyless/store/postgres/pgtest"
)

// envWith returns a getenv that knows only the given variables.
func envWith(kv ...string) func(string) string {
	return func(k string) string {
		for i := 0; i < len(kv); i += 2 {
			if kv[i] == k {
				return kv[i+1]
			}
		}
		return ""
	}
}

// TestOpenKeyAdminNeedsAnExistingStore: the keys commands never create a store. Where
// there is none they say so and how to make one, and leave the place as it was.
func TestOpenKeyAdminNeedsAnExistingStore(t *testing.T) {
	base := t.TempDir()
	empty := filepath.Join(base, "empty")
	if err := os.Mkdir(empty, 0o700); err != nil {
		t.Fatal(err)
	}
	emptyDB := filepath.Join(base, "emptydb")
	if err := os.Mkdir(emptyDB, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(emptyDB, StoreFile), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(base, "missing")
	tests := []struct {
		name, dir, want string
	}{
		{"empty directory", empty, "no keyless store in " + empty + " (no keyless.db): start `keyless up --data " + empty + "` first, or point --data at the server's data directory"},
		{"missing directory", missing, "no keyless store in " + missing + " (no keyless.db): start `keyless up --data " + missing + "` first"},
		{"empty keyless.db", emptyDB, filepath.Join(emptyDB, StoreFile) + " holds no keyless store (no schema): start `keyless up --data " + emptyDB + "` first"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, statErr := os.Stat(tc.dir)
			existed := statErr == nil
			var before []string
			if existed {
				before = listing(t, tc.dir)
			}
			ka, err := OpenKeyAdmin(t.Context(), tc.dir, "", noEnv)
			if err == nil {
				ka.Close()
				t.Fatal("OpenKeyAdmin succeeded")
			}
			if !errors.Is(err, store.ErrNoStore) || !strings.HasPrefix(err.Error(), tc.want) {
				t.Errorf("error %q, want ErrNoStore saying %q", err, tc.want)
			}
			if !existed {
				if _, err := os.Stat(tc.dir); !errors.Is(err, os.ErrNotExist) {
					t.Errorf("OpenKeyAdmin created %s", tc.dir)
				}
			} else if after := listing(t, tc.dir); strings.Join(before, "|") != strings.Join(after, "|") {
				t.Errorf("OpenKeyAdmin changed the directory:\nbefore %v\nafter  %v", before, after)
			}
		})
	}
}

// TestOpenKeyAdminKEK: the keys commands use the server's key-encryption key and no
// other. Without one they say which key is missing and how to supply it, without
// creating kek.key; with a wrong one they say so before sealing anything with it.
func TestOpenKeyAdminKEK(t *testing.T) {
	kek := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{5}, 32))
	wrong := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{6}, 32))
	dir := t.TempDir()
	stopTest(t, startTest(t, dir, Config{}, envWith(keywrap.EnvVar, kek), nil))
	kekFile := filepath.Join(dir, keywrap.FileName)

	_, err := OpenKeyAdmin(t.Context(), dir, "", noEnv)
	want := "no key-encryption key: KEYLESS_KEK is unset and " + kekFile + " does not exist: set KEYLESS_KEK to the base64 key the server uses, or point --data at the server's data directory (the one holding kek.key)"
	if !errors.Is(err, keywrap.ErrNoKey) || err.Error() != want {
		t.Errorf("without a key: %v\nwant: %s", err, want)
	}
	if _, err := os.Stat(kekFile); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("OpenKeyAdmin created %s", kekFile)
	}

	_, err = OpenKeyAdmin(t.Context(), dir, "", envWith(keywrap.EnvVar, wrong))
	if !errors.Is(err, keywrap.ErrOpen) || !strings.HasPrefix(err.Error(), "the key-encryption key in KEYLESS_KEK does not open this store's secrets: it is not the key the server uses") {
		t.Errorf("with a wrong key: %v", err)
	}

	ka, err := OpenKeyAdmin(t.Context(), dir, "", envWith(keywrap.EnvVar, kek))
	if err != nil {
		t.Fatalf("with the server's key: %v", err)
	}
	defer ka.Close()
	keys, err := ka.List(t.Context())
	if err != nil || len(keys) != 1 || keys[0].State != store.KeyActive {
		t.Errorf("List = %+v, %v; want the server's active key", keys, err)
	}
}

// TestOpenKeyAdminPostgresWithoutStore: pointed at a PostgreSQL schema keyless up
// never used, the keys commands say it holds no store (without the DSN's password)
// and create no table there.
func TestOpenKeyAdminPostgresWithoutStore(t *testing.T) {
	dsn, tables := postgresSchema(t)
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	u.User = url.UserPassword(u.User.Username(), "s3cret") // trust auth ignores it
	dsn = u.String()
	u.User = url.UserPassword(u.User.Username(), "xxxxx")
	redacted := u.String()

	_, err = OpenKeyAdmin(t.Context(), t.TempDir(), dsn, noEnv)
	want := redacted + " holds no keyless store (no schema): start `keyless up --config FILE` with \"store\" set to it first"
	if !errors.Is(err, store.ErrNoStore) || err.Error() != want {
		t.Errorf("error %v\nwant  %s", err, want)
	}
	if n := tables(); n != 0 {
		t.Errorf("OpenKeyAdmin created %d tables", n)
	}
}

// postgresSchema returns the DSN of a fresh PostgreSQL schema, dropped when the test
// ends, and a function counting the tables in it (store/postgres/pgtest).
func postgresSchema(t *testing.T) (string, func() int) {
	t.Helper()
	sch := pgtest.NewSchema(t)
	return sch.DSN, func() int { return sch.Tables(t) }
}
