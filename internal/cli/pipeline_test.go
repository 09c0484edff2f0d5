package cli

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseEnvFile(t *testing.T) {
	in := "# Written by keyless up; source it: . '/tmp/a b/env'\n" +
		"export KEYLESS_ENDPOINT=http://127.0.0.1:8400\n" +
		"export KEYLESS_DATA='/tmp/a b'\n" +
		"export QUOTE='it'\\''s'\n\n" +
		"PLAIN=x\n"
	got, err := parseEnvFile([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"KEYLESS_ENDPOINT": "http://127.0.0.1:8400", "KEYLESS_DATA": "/tmp/a b", "QUOTE": "it's", "PLAIN": "x"}
	if len(got) != len(want) {
		t.Errorf("got %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %q, want %q", k, got[k], v)
		}
	}
	for _, tt := range []struct{ in, want string }{
		{"export X='open\n", "line 1 (X): a ' quote is never closed"},
		{"just words\n", "line 1 is not export KEY=VALUE"},
		{"export X=a\\", "line 1 (X): the value ends with a backslash"},
	} {
		if _, err := parseEnvFile([]byte(tt.in)); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("parseEnvFile(%q) = %v, want %q", tt.in, err, tt.want)
		}
	}
}

func FuzzParseEnvFile(f *testing.F) {
	f.Add([]byte("export A='b'\\''c'\nB=d\n# c\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		vars, err := parseEnvFile(b)
		if err != nil {
			return
		}
		// What it reads, written back as keyless up writes it, reads the same.
		var out strings.Builder
		for k, v := range vars {
			out.WriteString("export " + k + "=" + singleQuote(v) + "\n")
		}
		again, err := parseEnvFile([]byte(out.String()))
		if err != nil {
			t.Fatalf("re-reading %q: %v", out.String(), err)
		}
		for k, v := range vars {
			if again[k] != v && !strings.ContainsAny(v, "\n\r") {
				t.Fatalf("%s: %q became %q", k, v, again[k])
			}
		}
	})
}

func TestPipelineRunNeedsKeylessUp(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "bitbucket-pipelines.yml")
	if err := os.WriteFile(file, []byte("pipelines:\n  default:\n    - step:\n        script:\n          - echo hi\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("KEYLESS_ENDPOINT", "")
	var out, errOut bytes.Buffer
	code := Execute(t.Context(), []string{"pipeline", "run", file}, Streams{In: strings.NewReader(""), Out: &out, Err: &errOut})
	if code != 1 || !strings.Contains(errOut.String(), "keyless up is not in the environment (no KEYLESS_ENDPOINT): start it with `keyless up`") {
		t.Errorf("exit %d, stderr %q", code, errOut.String())
	}
	code = Execute(t.Context(), []string{"pipeline", "run", filepath.Join(dir, "missing.yml")}, Streams{In: strings.NewReader(""), Out: &out, Err: &errOut})
	if code != 1 || !strings.Contains(errOut.String(), "read the pipeline file") {
		t.Errorf("missing file: exit %d, stderr %q", code, errOut.String())
	}
}

func TestParseVarFlags(t *testing.T) {
	got, err := parseVarFlags([]string{"ENVIRONMENT=staging", "EMPTY=", "URL=a=b"})
	if err != nil || len(got) != 3 || got["ENVIRONMENT"] != "staging" || got["EMPTY"] != "" || got["URL"] != "a=b" {
		t.Fatalf("parseVarFlags = %v, %v", got, err)
	}
	for _, bad := range []string{"NOVALUE", "=x"} {
		if _, err := parseVarFlags([]string{bad}); err == nil || !strings.Contains(err.Error(), "write NAME=VALUE") {
			t.Errorf("parseVarFlags(%q) = %v, want an error saying NAME=VALUE", bad, err)
		}
	}
}
