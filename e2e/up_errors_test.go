package e2e

import (
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestFailedUpLeavesDataDirAsFound: `keyless up` refused for its address exits
// non-zero naming the address, and leaves no kek.key, keyless.db or lock behind: a
// new data directory is not created, an empty one stays empty.
func TestFailedUpLeavesDataDirAsFound(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	tests := []struct {
		name, listen, says string
	}{
		{"listen nonsense", "nonsense", `invalid listen address "nonsense": missing port in address`},
		{"port in use", busy.Addr().String(), "listen on " + busy.Addr().String() + ": the address is already in use"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			base := t.TempDir()
			fresh := filepath.Join(base, "fresh")
			empty := filepath.Join(base, "empty")
			if err := os.Mkdir(empty, 0o700); err != nil {
				t.Fatal(err)
			}
			for _, dir := range []string{fresh, empty} {
				stdout, stderr, code := run(t, cleanEnv(), "up", "--listen", tc.listen, "--data", dir)
				if code == 0 || stdout != "" || !strings.Contains(stderr, tc.says) {
					t.Errorf("keyless up --listen %s --data %s: exit %d, stdout %q, stderr %q; want a failure saying %q",
						tc.listen, filepath.Base(dir), code, stdout, stderr, tc.says)
				}
			}
			if _, err := os.Stat(fresh); !os.IsNotExist(err) {
				entries, _ := os.ReadDir(fresh)
				t.Errorf("the failed start created %s, holding %d entries", fresh, len(entries))
			}
			if entries, err := os.ReadDir(empty); err != nil || len(entries) != 0 {
				var names []string
				for _, e := range entries {
					names = append(names, e.Name())
				}
				t.Errorf("the failed start left %v in the empty data directory (%v)", names, err)
			}
		})
	}
}

// TestUpRefusesKEKReadableByOthers: a kek.key others can read is refused with the fix,
// as ssh refuses such a private key; once fixed, the same directory starts.
func TestUpRefusesKEKReadableByOthers(t *testing.T) {
	data := t.TempDir()
	p := startUp(t, data)
	if err := p.stop(); err != nil {
		t.Fatal(err)
	}
	kek := filepath.Join(data, "kek.key")
	if err := os.Chmod(kek, 0o644); err != nil {
		t.Fatal(err)
	}
	_, stderr, code := run(t, cleanEnv(), "up", "--listen", "127.0.0.1:0", "--data", data)
	want := kek + " is readable by others (mode 0644): chmod 600 " + kek
	if code != 1 || !strings.Contains(stderr, want) {
		t.Errorf("keyless up with kek.key at 0644: exit %d, stderr %q; want exit 1 and %q", code, stderr, want)
	}
	_, stderr, code = run(t, cleanEnv(), "keys", "list", "--data", data)
	if code != 1 || !strings.Contains(stderr, want) {
		t.Errorf("keyless keys list with kek.key at 0644: exit %d, stderr %q; want exit 1 and %q", code, stderr, want)
	}
	if err := os.Chmod(kek, 0o600); err != nil {
		t.Fatal(err)
	}
	startUp(t, data)
}

// TestUpWarnsAboutWritableDataDir: keyless up serves from a data directory others may
// write to, but warns about it on stderr.
func TestUpWarnsAboutWritableDataDir(t *testing.T) {
	data := t.TempDir()
	if err := os.Chmod(data, 0o777); err != nil {
		t.Fatal(err)
	}
	p := startUp(t, data)
	if err := p.stop(); err != nil {
		t.Fatal(err)
	}
	if want := `level=WARN msg="data directory is writable by others, who could replace keyless's files: chmod 700 it"`; !strings.Contains(p.stderr.String(), want) {
		t.Errorf("stderr lacks %q:\n%s", want, p.stderr)
	}
}
