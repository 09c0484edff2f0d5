package keywrap

import (
	"bytes"
	"encoding/base64"
	"errors"
	"os"
	"path/filepath"
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
