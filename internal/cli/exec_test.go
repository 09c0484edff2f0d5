//go:build unix

package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/keyless-dev/keyless/internal/testenv"
)

// TestExecHelperProcess is not a test: run by TestExecWhoamiInChild as the child of
// `keyless exec`, it runs the keyless command line given after "--".
func TestExecHelperProcess(t *testing.T) {
	if os.Getenv("KEYLESS_EXEC_TEST_HELPER") != "1" {
		t.Skip("helper process")
	}
	args := os.Args
	for i, a := range args {
		if a == "--" {
			args = args[i+1:]
			break
		}
	}
	os.Exit(Execute(context.Background(), args, Streams{In: os.Stdin, Out: os.Stdout, Err: os.Stderr}))
}

func needSh(t *testing.T) string {
	t.Helper()
	return testenv.LookPath(t, "sh")
}

func execArgs(st *loginSTSStub, cmd ...string) []string {
	return append([]string{"exec", "--role-arn", loginTestRole, "--token-env", "EXEC_TEST_TOKEN", "--sts-endpoint", st.srv.URL, "--"}, cmd...)
}

func TestExecPassesExitCode(t *testing.T) {
	sh := needSh(t)
	loginCleanEnv(t)
	st := newLoginSTSStub(t)
	t.Setenv("EXEC_TEST_TOKEN", loginTestToken)
	for _, want := range []int{0, 3, 7} {
		code, _, errOut := loginRun(t, "", execArgs(st, sh, "-c", "exit "+string(rune('0'+want)))...)
		if code != want {
			t.Errorf("exit %d, want %d (stderr %q)", code, want, errOut)
		}
	}
	if code, _, errOut := loginRun(t, "", execArgs(st, "/nonexistent/command")...); code != 127 || !strings.Contains(errOut, "/nonexistent/command") {
		t.Errorf("missing command: exit %d, stderr %q", code, errOut)
	}
}

func TestExecEnvironmentAndStreams(t *testing.T) {
	sh := needSh(t)
	loginCleanEnv(t)
	st := newLoginSTSStub(t)
	t.Setenv("EXEC_TEST_TOKEN", loginTestToken)
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIASTALE")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "stale")
	t.Setenv("AWS_PROFILE", "stale")
	t.Setenv("AWS_REGION", "ap-southeast-2")
	script := `read line; echo "in=$line"; echo "uri=$AWS_CONTAINER_CREDENTIALS_FULL_URI"; ` +
		`echo "auth=${AWS_CONTAINER_AUTHORIZATION_TOKEN:+set}"; echo "key=${AWS_ACCESS_KEY_ID-unset}"; ` +
		`echo "secret=${AWS_SECRET_ACCESS_KEY-unset}"; echo "profile=${AWS_PROFILE-unset}"; echo "region=$AWS_REGION"; echo err >&2`
	code, out, errOut := loginRun(t, "hello\n", execArgs(st, sh, "-c", script)...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, want := range []string{"in=hello\n", "uri=http://127.0.0.1:", "auth=set\n", "key=unset\n", "secret=unset\n", "profile=unset\n", "region=ap-southeast-2\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("child output lacks %q:\n%s", want, out)
		}
	}
	if errOut != "err\n" {
		t.Errorf("stderr = %q", errOut)
	}
}

// TestExecWhoamiInChild runs `keyless whoami` as the child of `keyless exec`: the
// child's aws-sdk-go-v2 default chain must find the container credentials.
func TestExecWhoamiInChild(t *testing.T) {
	loginCleanEnv(t)
	st := newLoginSTSStub(t)
	t.Setenv("EXEC_TEST_TOKEN", loginTestToken)
	t.Setenv("AWS_ENDPOINT_URL_STS", st.srv.URL)
	t.Setenv("KEYLESS_EXEC_TEST_HELPER", "1")
	code, out, errOut := loginRun(t, "", execArgs(st, os.Args[0], "-test.run=^TestExecHelperProcess$", "--", "whoami", "--output", "json")...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var id map[string]string
	if err := json.Unmarshal([]byte(out), &id); err != nil {
		t.Fatalf("%v: %q", err, out)
	}
	if id["Account"] != "000000000000" || !strings.HasPrefix(id["Arn"], "arn:aws:sts::000000000000:assumed-role/deploy/keyless-") {
		t.Errorf("child whoami = %v", id)
	}
}

// signalWriter reports when the first byte arrives.
type signalWriter struct {
	mu    sync.Mutex
	buf   bytes.Buffer
	ready chan struct{}
	once  sync.Once
}

func (w *signalWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.once.Do(func() { close(w.ready) })
	return w.buf.Write(p)
}

func TestExecForwardsSIGTERM(t *testing.T) {
	sh := needSh(t)
	loginCleanEnv(t)
	st := newLoginSTSStub(t)
	t.Setenv("EXEC_TEST_TOKEN", loginTestToken)
	out := &signalWriter{ready: make(chan struct{})}
	var errb bytes.Buffer
	done := make(chan int, 1)
	go func() {
		done <- Execute(context.Background(), execArgs(st, sh, "-c", `trap 'exit 42' TERM; echo ready; while :; do sleep 0.05; done`),
			Streams{In: strings.NewReader(""), Out: out, Err: &errb})
	}()
	select {
	case <-out.ready:
	case <-time.After(10 * time.Second):
		t.Fatal("child did not start")
	}
	// keyless has registered for SIGTERM before starting the child, so this reaches
	// keyless (which forwards it) instead of ending the test process.
	if err := syscall.Kill(os.Getpid(), syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case code := <-done:
		if code != 42 {
			t.Errorf("exit %d, want the child's 42 (stderr %q)", code, errb.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("child did not stop on SIGTERM")
	}
}

func TestChildEnv(t *testing.T) {
	got := childEnv([]string{"PATH=/bin", "AWS_ACCESS_KEY_ID=x", "AWS_REGION=eu-west-1", "AWS_CONTAINER_CREDENTIALS_FULL_URI=old", "AWS_ROLE_ARN=r"},
		[]string{"AWS_CONTAINER_CREDENTIALS_FULL_URI=new"})
	want := []string{"PATH=/bin", "AWS_REGION=eu-west-1", "AWS_CONTAINER_CREDENTIALS_FULL_URI=new"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("childEnv = %v, want %v", got, want)
	}
}

// TestExecRoleChainInChild: the child of `keyless exec --role-chain` gets the last
// role's credentials.
func TestExecRoleChainInChild(t *testing.T) {
	loginCleanEnv(t)
	st := newLoginSTSStub(t)
	t.Setenv("EXEC_TEST_TOKEN", loginTestToken)
	t.Setenv("AWS_ENDPOINT_URL_STS", st.srv.URL)
	t.Setenv("KEYLESS_EXEC_TEST_HELPER", "1")
	args := append([]string{"exec", "--role-chain", loginChainRole2 + "," + loginChainRole3}, execArgs(st, os.Args[0], "-test.run=^TestExecHelperProcess$", "--", "whoami", "--output", "json")[1:]...)
	code, out, errOut := loginRun(t, "", args...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var id map[string]string
	if err := json.Unmarshal([]byte(out), &id); err != nil {
		t.Fatalf("%v: %q", err, out)
	}
	if id["Account"] != "222222222222" || !strings.HasPrefix(id["Arn"], "arn:aws:sts::222222222222:assumed-role/deploy/keyless-") {
		t.Errorf("child whoami = %v, want a session of %s", id, loginChainRole3)
	}
	if n := len(st.chainRequests()); n != 2 {
		t.Errorf("%d AssumeRole calls, want 2", n)
	}
}

func TestExecRoleChainHopDenied(t *testing.T) {
	sh := needSh(t)
	loginCleanEnv(t)
	st := newLoginSTSStub(t)
	st.denyRoles[loginChainRole2] = true
	t.Setenv("EXEC_TEST_TOKEN", loginTestToken)
	args := append([]string{"exec", "--role-chain", loginChainRole2}, execArgs(st, sh, "-c", "echo child ran")[1:]...)
	code, out, errOut := loginRun(t, "", args...)
	if code != 1 || strings.Contains(out, "child ran") {
		t.Errorf("exit %d, stdout %q: want exit 1 before the child starts", code, out)
	}
	if want := "role chain hop 2 (" + loginChainRole2 + "): AccessDenied: "; !strings.Contains(errOut, want) {
		t.Errorf("stderr lacks %q:\n%s", want, errOut)
	}
}
