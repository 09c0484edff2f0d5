package keywrap

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func noEnv(string) string { return "" }

func TestLoadCreatesAndReusesKEK(t *testing.T) {
	dir := t.TempDir()
	b1, err := Load(dir, noEnv)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(filepath.Join(dir, FileName))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("kek file mode = %v, want 0600", fi.Mode().Perm())
	}
	sealed, err := b1.Seal("label", []byte("secret"))
	if err != nil {
		t.Fatal(err)
	}
	b2, err := Load(dir, noEnv)
	if err != nil {
		t.Fatal(err)
	}
	pt, err := b2.Open("label", sealed)
	if err != nil || string(pt) != "secret" {
		t.Fatalf("reloaded box Open = %q, %v; want secret", pt, err)
	}
	if bytes.Contains(sealed, []byte("secret")) {
		t.Error("sealed value contains the plaintext")
	}
}

func TestLoadFromEnv(t *testing.T) {
	kek := bytes.Repeat([]byte{7}, 32)
	env := func(k string) string {
		if k == EnvVar {
			return base64.StdEncoding.EncodeToString(kek)
		}
		return ""
	}
	dir := t.TempDir()
	b, err := Load(dir, env)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, FileName)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a KEK from the environment must not write %s (stat err %v)", FileName, err)
	}
	direct, _ := New(kek)
	sealed, _ := b.Seal("x", []byte("v"))
	if _, err := direct.Open("x", sealed); err != nil {
		t.Errorf("box from env and box from the same key disagree: %v", err)
	}
	if _, err := Load(dir, func(string) string { return "%%%" }); err == nil {
		t.Error("invalid base64 KEK accepted")
	}
	if _, err := Load(dir, func(string) string { return base64.StdEncoding.EncodeToString([]byte("short")) }); err == nil {
		t.Error("short KEK accepted")
	}
}

func TestOpenRejects(t *testing.T) {
	b, _ := New(bytes.Repeat([]byte{1}, 32))
	other, _ := New(bytes.Repeat([]byte{2}, 32))
	sealed, _ := b.Seal("signing-key/abc", []byte("private"))
	cases := map[string]func() ([]byte, error){
		"wrong label": func() ([]byte, error) { return b.Open("signing-key/xyz", sealed) },
		"wrong key":   func() ([]byte, error) { return other.Open("signing-key/abc", sealed) },
		"truncated":   func() ([]byte, error) { return b.Open("signing-key/abc", sealed[:10]) },
		"empty":       func() ([]byte, error) { return b.Open("signing-key/abc", nil) },
		"bit flip": func() ([]byte, error) {
			c := bytes.Clone(sealed)
			c[len(c)-1] ^= 1
			return b.Open("signing-key/abc", c)
		},
		"bad version": func() ([]byte, error) {
			c := bytes.Clone(sealed)
			c[0] = 9
			return b.Open("signing-key/abc", c)
		},
	}
	for name, open := range cases {
		if _, err := open(); !errors.Is(err, ErrOpen) {
			t.Errorf("%s: err = %v, want ErrOpen", name, err)
		}
	}
}

func TestLoadExistingNeverCreates(t *testing.T) {
	dir := t.TempDir()
	_, err := LoadExisting(dir, noEnv)
	if !errors.Is(err, ErrNoKey) {
		t.Fatalf("LoadExisting without a key: err = %v, want ErrNoKey", err)
	}
	path := filepath.Join(dir, FileName)
	if msg := err.Error(); !strings.Contains(msg, EnvVar+" is unset") || !strings.Contains(msg, path+" does not exist") {
		t.Errorf("error %q does not say which key is missing", msg)
	}
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("LoadExisting created %s (stat err %v)", FileName, err)
	}
	// Once the server has made the key, LoadExisting opens what it sealed.
	server, err := Load(dir, noEnv)
	if err != nil {
		t.Fatal(err)
	}
	sealed, _ := server.Seal("x", []byte("v"))
	admin, err := LoadExisting(dir, noEnv)
	if err != nil {
		t.Fatalf("LoadExisting of the server's key: %v", err)
	}
	if pt, err := admin.Open("x", sealed); err != nil || string(pt) != "v" {
		t.Errorf("LoadExisting's box does not open the server's value: %q, %v", pt, err)
	}
	env := func(k string) string {
		if k == EnvVar {
			return base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{9}, 32))
		}
		return ""
	}
	if _, err := LoadExisting(t.TempDir(), env); err != nil {
		t.Errorf("LoadExisting with %s set and no file: %v", EnvVar, err)
	}
}

// TestKEKFileModes: a kek.key that group or others may read or write is refused, with
// the fix, by Load and LoadExisting alike; an owner-only one is used.
func TestKEKFileModes(t *testing.T) {
	tests := []struct {
		mode os.FileMode
		says string // "" means accepted
	}{
		{0o600, ""},
		{0o400, ""},
		{0o644, "is readable by others (mode 0644)"},
		{0o640, "is readable by others (mode 0640)"},
		{0o604, "is readable by others (mode 0604)"},
		{0o620, "is writable by others (mode 0620)"},
		{0o666, "is readable by others (mode 0666)"},
	}
	for _, tc := range tests {
		for name, load := range map[string]func(string, func(string) string) (*Box, error){"Load": Load, "LoadExisting": LoadExisting} {
			t.Run(fmt.Sprintf("%s/%04o", name, tc.mode), func(t *testing.T) {
				dir := t.TempDir()
				if _, err := Load(dir, noEnv); err != nil {
					t.Fatal(err)
				}
				path := filepath.Join(dir, FileName)
				if err := os.Chmod(path, tc.mode); err != nil {
					t.Fatal(err)
				}
				before, _ := os.ReadFile(path)
				_, err := load(dir, noEnv)
				if tc.says == "" {
					if err != nil {
						t.Fatalf("%s of a kek.key with mode %04o: %v", name, tc.mode, err)
					}
					return
				}
				if err == nil {
					t.Fatalf("%s accepted a kek.key with mode %04o", name, tc.mode)
				}
				if want := path + " " + tc.says + ": chmod 600 " + path; err.Error() != want {
					t.Errorf("error %q, want %q", err, want)
				}
				if after, _ := os.ReadFile(path); !bytes.Equal(before, after) {
					t.Error("the refused kek.key was changed")
				}
			})
		}
	}
}
