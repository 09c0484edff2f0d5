package testenv

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// recorder is a testing.TB that records a skip or a failure instead of acting on it.
type recorder struct {
	testing.TB
	skipped, failed string
}

func (r *recorder) Helper() {}

func (r *recorder) Skipf(format string, args ...any) {
	r.skipped = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

func (r *recorder) Fatalf(format string, args ...any) {
	r.failed = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

// outcome runs f as a test body would run and reports how it ended.
func outcome(t *testing.T, f func(tb testing.TB)) *recorder {
	t.Helper()
	r := &recorder{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		f(r)
	}()
	<-done
	return r
}

// TestRequireSkipsOutsideCIAndFailsInCI checks the policy: a missing requirement
// skips the test with the reason, unless CI is true, where it fails the test.
func TestRequireSkipsOutsideCIAndFailsInCI(t *testing.T) {
	for _, tc := range []struct {
		ci         string
		wantSkip   bool
		wantPrefix string
	}{
		{"", true, "needs the widget: not installed"},
		{"false", true, "needs the widget: not installed"},
		{"true", false, "CI requires the widget: not installed"},
		{"1", false, "CI requires the widget: not installed"},
	} {
		t.Run("CI="+tc.ci, func(t *testing.T) {
			t.Setenv("CI", tc.ci)
			r := outcome(t, func(tb testing.TB) { Require(tb, "the widget", false, "not installed") })
			got := r.failed
			if tc.wantSkip {
				got = r.skipped
				if r.failed != "" {
					t.Fatalf("failed (%q), want a skip", r.failed)
				}
			} else if r.skipped != "" {
				t.Fatalf("skipped (%q), want a failure", r.skipped)
			}
			if got != tc.wantPrefix {
				t.Fatalf("message %q, want %q", got, tc.wantPrefix)
			}
		})
	}
	t.Run("available", func(t *testing.T) {
		t.Setenv("CI", "true")
		r := outcome(t, func(tb testing.TB) { Require(tb, "the widget", true, "") })
		if r.skipped != "" || r.failed != "" {
			t.Fatalf("skipped %q, failed %q; want neither", r.skipped, r.failed)
		}
	})
}

// TestLookPath finds a program on PATH, and a missing one is a skip, or a failure
// in CI, naming it.
func TestLookPath(t *testing.T) {
	dir := t.TempDir()
	tool := filepath.Join(dir, "keyless-testenv-tool")
	if err := os.WriteFile(tool, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", dir)
	t.Setenv("CI", "")
	var got string
	r := outcome(t, func(tb testing.TB) { got = LookPath(tb, "keyless-testenv-tool") })
	if r.skipped != "" || r.failed != "" || got != tool {
		t.Fatalf("LookPath = %q (skipped %q, failed %q), want %s", got, r.skipped, r.failed, tool)
	}

	r = outcome(t, func(tb testing.TB) { LookPath(tb, "keyless-testenv-missing") })
	if !strings.HasPrefix(r.skipped, "needs keyless-testenv-missing: ") || !strings.Contains(r.skipped, "not found") {
		t.Fatalf("missing program: skipped %q, failed %q; want a skip naming it", r.skipped, r.failed)
	}
	t.Setenv("CI", "true")
	r = outcome(t, func(tb testing.TB) { LookPath(tb, "keyless-testenv-missing") })
	if !strings.HasPrefix(r.failed, "CI requires keyless-testenv-missing: ") {
		t.Fatalf("missing program in CI: skipped %q, failed %q; want a failure naming it", r.skipped, r.failed)
	}
}

// TestGetenv returns a set variable and skips, saying how to set it, when unset.
func TestGetenv(t *testing.T) {
	t.Setenv("CI", "")
	t.Setenv("KEYLESS_TESTENV_X", "value")
	var got string
	if r := outcome(t, func(tb testing.TB) { got = Getenv(tb, "KEYLESS_TESTENV_X", "set it") }); got != "value" || r.skipped != "" {
		t.Fatalf("Getenv = %q, skipped %q", got, r.skipped)
	}
	t.Setenv("KEYLESS_TESTENV_X", "")
	r := outcome(t, func(tb testing.TB) { Getenv(tb, "KEYLESS_TESTENV_X", "set it to a DSN") })
	if r.skipped != "needs KEYLESS_TESTENV_X: the environment variable is not set; set it to a DSN" {
		t.Fatalf("unset variable: skipped %q, failed %q", r.skipped, r.failed)
	}
}

// TestPython3MissingModule passes for a module python3 has and skips, with
// Python's own error, for one it lacks.
func TestPython3MissingModule(t *testing.T) {
	t.Setenv("CI", "")
	py := LookPath(t, "python3") // this test itself needs python3
	r := outcome(t, func(tb testing.TB) { Python3(tb, "json") })
	if r.skipped != "" || r.failed != "" {
		t.Fatalf("python3 %s cannot import json? skipped %q, failed %q", py, r.skipped, r.failed)
	}
	r = outcome(t, func(tb testing.TB) { Python3(tb, "json", "keyless_testenv_no_such_module") })
	t.Logf("skip message: %s", r.skipped)
	if !strings.HasPrefix(r.skipped, "needs python3 with json, keyless_testenv_no_such_module: ") ||
		!strings.Contains(r.skipped, "keyless_testenv_no_such_module") || !strings.Contains(r.skipped, "Error") {
		t.Fatalf("missing module: skipped %q, failed %q; want a skip naming the module and Python's error", r.skipped, r.failed)
	}
}

// TestDisableInstanceMetadata sets AWS_EC2_METADATA_DISABLED=true over any other value.
func TestDisableInstanceMetadata(t *testing.T) {
	t.Setenv("AWS_EC2_METADATA_DISABLED", "false")
	DisableInstanceMetadata()
	if got := os.Getenv("AWS_EC2_METADATA_DISABLED"); got != "true" {
		t.Fatalf("AWS_EC2_METADATA_DISABLED=%q after DisableInstanceMetadata, want true", got)
	}
}
