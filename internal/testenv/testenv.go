// Package testenv is the test suite's one policy for what tests need from the
// machine, and for keeping them off the network.
//
// A test that needs something from outside the repository — an external program
// such as python3 with boto3, the AWS CLI or Node.js, or a service such as
// PostgreSQL — asks for it here. When it is missing the test is skipped with the
// reason, so that `go test ./...` on a laptop without it still passes; when the
// environment variable CI is true (as .ci/run sets it) the test fails instead,
// because CI must run everything.
//
// Packages whose tests build an AWS SDK configuration use Main as their TestMain
// (or call DisableInstanceMetadata from their own), so that the SDK's default
// credential chain never falls through to the EC2 instance metadata address, and
// child processes get MetadataDisabledEnv.
package testenv

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// MetadataDisabledEnv is the environment entry that keeps AWS SDKs and CLIs from
// asking the EC2 instance metadata service (169.254.169.254) for credentials or a
// region.
const MetadataDisabledEnv = "AWS_EC2_METADATA_DISABLED=true"

// DisableInstanceMetadata sets AWS_EC2_METADATA_DISABLED=true in the process
// environment, for the test process's own SDK clients and every child process that
// inherits it. Call it from TestMain before m.Run.
func DisableInstanceMetadata() {
	k, v, _ := strings.Cut(MetadataDisabledEnv, "=")
	if err := os.Setenv(k, v); err != nil {
		panic(fmt.Sprintf("testenv: set %s: %v", MetadataDisabledEnv, err))
	}
}

// Main is the TestMain of a package whose tests build AWS SDK clients or start
// programs that do: it calls DisableInstanceMetadata, runs the tests and exits with
// their status. When nothing else answers, the AWS SDK's default credential chain
// falls through to the EC2 instance metadata address; AWS_EC2_METADATA_DISABLED=true
// keeps the tests, and every child process they start, off it.
func Main(m *testing.M) {
	DisableInstanceMetadata()
	os.Exit(m.Run())
}

// InCI reports whether the tests run in CI: the environment variable CI is true
// (any spelling strconv.ParseBool accepts, such as "true" or "1").
func InCI() bool {
	ci, _ := strconv.ParseBool(os.Getenv("CI"))
	return ci
}

// Require skips t when available is false, saying that the test needs what and
// why it is missing (reason), or fails t if InCI.
func Require(t testing.TB, what string, available bool, reason string) {
	t.Helper()
	if available {
		return
	}
	if InCI() {
		t.Fatalf("CI requires %s: %s", what, reason)
	}
	t.Skipf("needs %s: %s", what, reason)
}

// LookPath returns the path of the program name, which Require-s it: a missing
// program skips the test, or fails it in CI.
func LookPath(t testing.TB, name string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	Require(t, name, err == nil, fmt.Sprint(err))
	return path
}

// Getenv returns the value of the environment variable name, which Require-s it:
// when it is unset or empty the test is skipped, or fails in CI. hint says how to
// set it.
func Getenv(t testing.TB, name, hint string) string {
	t.Helper()
	v := os.Getenv(name)
	Require(t, name, v != "", "the environment variable is not set; "+hint)
	return v
}

// pythonChecks caches, per list of modules, the result of importing them.
var pythonChecks sync.Map // string -> error

// Python3 returns the path of python3, Require-ing it and that it can import each
// of modules (such as "boto3").
func Python3(t testing.TB, modules ...string) string {
	t.Helper()
	py := LookPath(t, "python3")
	if len(modules) == 0 {
		return py
	}
	key := py + "\x00" + strings.Join(modules, ",")
	res, ok := pythonChecks.Load(key)
	if !ok {
		var stderr bytes.Buffer
		cmd := exec.Command(py, "-c", "import "+strings.Join(modules, ", "))
		cmd.Stderr = &stderr
		var err error
		if runErr := cmd.Run(); runErr != nil {
			msg := strings.TrimSpace(stderr.String())
			if i := strings.LastIndexByte(msg, '\n'); i >= 0 {
				msg = msg[i+1:] // the exception line, e.g. ModuleNotFoundError: …
			}
			if msg == "" {
				msg = runErr.Error()
			}
			err = fmt.Errorf("%s: %s", py, msg)
		}
		res, _ = pythonChecks.LoadOrStore(key, err)
	}
	err, _ := res.(error)
	Require(t, "python3 with "+strings.Join(modules, ", "), err == nil, fmt.Sprint(err))
	return py
}
