package cli

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/keyless-dev/keyless/provision"
	"github.com/keyless-dev/keyless/rotate"
)

// secretShaped matches what a secret access key looks like: 40 characters of
// Base64. Access key IDs (20 upper-case characters), UUIDs and dates do not.
var secretShaped = regexp.MustCompile(`[A-Za-z0-9/+]{40}`)

// runDemoRotateCmd runs `keyless demo rotate ARGS` through its command.
func runDemoRotateCmd(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	cmd := newDemoRotateCmd(Streams{In: strings.NewReader(""), Out: &out, Err: &errOut})
	cmd.SetArgs(args)
	cmd.SetOut(&out)
	cmd.SetErr(&errOut)
	err := cmd.ExecuteContext(context.Background())
	if errOut.Len() > 0 {
		t.Errorf("demo rotate wrote to stderr: %s", &errOut)
	}
	return out.String(), err
}

// TestDemoRotate plays the scenario and checks that its output tells each
// transition, in order, with the access key IDs it names.
func TestDemoRotate(t *testing.T) {
	out, err := runDemoRotateCmd(t)
	if err != nil {
		t.Fatalf("demo rotate: %v\n%s", err, out)
	}
	old := regexp.MustCompile(`IAM user legacy-deployer with one access key, (AKIA[A-Z0-9]{16})`).FindStringSubmatch(out)
	rotated := regexp.MustCompile(`✔ new key (AKIA[A-Z0-9]{16}) created, verified and promoted to AWSCURRENT`).FindStringSubmatch(out)
	if old == nil || rotated == nil {
		t.Fatalf("the output does not name the old and the new key:\n%s", out)
	}
	oldID, newID := regexp.QuoteMeta(old[1]), regexp.QuoteMeta(rotated[1])
	pos := 0
	for _, s := range []struct{ what, re string }{
		{"the plan on day 91", `(?m)^\d+\. Day 91 \(\d{4}-\d\d-\d\d\): keyless rotate plan`},
		{"the reason to rotate", `record that a key is being created: key ` + oldID + ` is 91d old \(rotate at 90d\)`},
		{"the rotation", `(?m)^\d+\. Day 91 .*: keyless rotate run`},
		{"the verification", `verify key ` + newID + ` with sts:GetCallerIdentity`},
		{"the promotion", `promote key ` + newID + ` to AWSCURRENT`},
		{"the push", `write key ` + newID + ` into bitbucket deployment acme/web Production`},
		{"the deploy step's key", `AWS_ACCESS_KEY_ID\s+` + newID + ` \(deployment variable\)`},
		{"the deploy step's identity", `aws sts get-caller-identity: arn:aws:iam::\d{12}:user/legacy-deployer`},
		{"the recorded use", `iam:GetAccessKeyLastUsed\(` + oldID + `\): \S+, service sts, region us-east-1`},
		{"the watch at day 100", `(?m)^\d+\. Day 100 [\s\S]*` + oldID + `: kept until \S+: watched for use for 10d`},
		{"the use keeping it", `(?m)^\d+\. Day 104 [\s\S]*` + oldID + `: kept: still in use, last used \S+ \(by sts in us-east-1\)`},
		{"the deactivation", `(?m)^\d+\. Day 108 [\s\S]*deactivate key ` + oldID + `: it is 108d old`},
		{"the refusal", `a call signed with ` + oldID + ` now gets InvalidClientTokenId`},
		{"the grace", `(?m)^\d+\. Day 112 [\s\S]*` + oldID + `: inactive since \S+; deleted from`},
		{"the deletion", `(?m)^\d+\. Day 118 [\s\S]*delete key ` + oldID + `: it is inactive since`},
		{"the end state", `✔ legacy-deployer has one key, ` + newID},
		{"the status", `nothing to do until ` + newID + ` is 90d old, on day 181`},
		{"the end", `(?m)^Done: `},
	} {
		loc := regexp.MustCompile(s.re).FindStringIndex(out[pos:])
		if loc == nil {
			t.Fatalf("the output lacks %s (%s) after offset %d:\n%s", s.what, s.re, pos, out)
		}
		pos += loc[1]
	}
	if strings.Contains(out, "✖") {
		t.Errorf("a transition is marked as not done:\n%s", out)
	}
	if m := secretShaped.FindString(out); m != "" {
		t.Errorf("the output holds a secret-shaped string of %d characters", len(m))
	}
	// Without --keep, the data directory is gone.
	dir := regexp.MustCompile(`\(data in (\S+)\)`).FindStringSubmatch(out)
	if dir == nil {
		t.Fatalf("the output does not say where the data is:\n%s", out)
	}
	if _, err := os.Stat(dir[1]); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the data directory %s is still there (%v)", dir[1], err)
	}
}

// TestDemoRotateKeep keeps the data directory, with the env file and the
// keyless.yaml the demo rotated by; nothing of the env file's secrets is in
// the output.
func TestDemoRotateKeep(t *testing.T) {
	out, err := runDemoRotateCmd(t, "--keep")
	if err != nil {
		t.Fatalf("demo rotate --keep: %v\n%s", err, out)
	}
	_, rest, ok := strings.Cut(out, "The data directory is kept: ")
	if !ok {
		t.Fatalf("demo rotate --keep does not say where the data is:\n%s", out)
	}
	dir, _, _ := strings.Cut(rest, " ")
	t.Cleanup(func() { os.RemoveAll(dir) })
	spec, err := provision.Load(filepath.Join(dir, "keyless.yaml"))
	if err != nil || spec.Rotation == nil || len(spec.Rotation.Users) != 1 || spec.Rotation.Users[0].User != demoRotateUser {
		t.Fatalf("the kept keyless.yaml is not the demo's rotation config: %v", err)
	}
	env, err := os.ReadFile(filepath.Join(dir, "env"))
	if err != nil {
		t.Fatalf("kept data directory has no env file: %v", err)
	}
	for _, line := range strings.Split(string(env), "\n") {
		k, v, ok := strings.Cut(strings.TrimPrefix(line, "export "), "=")
		if !ok || !strings.HasSuffix(k, "_SECRET_ACCESS_KEY") && !strings.HasSuffix(k, "_TOKEN") {
			continue
		}
		if v = strings.Trim(v, "'"); v != "" && strings.Contains(out, v) {
			t.Errorf("the output shows %s", k)
		}
	}
}

// TestDemoRotateSaysWhatDidNotHappen: with a delete age the scenario's days do
// not reach, the old key is not deleted on day 118; the demo says so and
// exits 1, naming it.
func TestDemoRotateSaysWhatDidNotHappen(t *testing.T) {
	ages := rotate.DefaultAges()
	ages.Delete = 200 * provision.Day
	var out bytes.Buffer
	err := runDemoRotate(context.Background(), &out, t.TempDir(), ages)
	var ee *ExitError
	if !errors.As(err, &ee) || ee.Code != 1 {
		t.Fatalf("err %v, want an exit status 1\n%s", err, &out)
	}
	if !strings.Contains(ee.Error(), "day 118: ") || !strings.Contains(ee.Error(), " is deleted") {
		t.Errorf("the error %q does not name the deletion that did not happen on day 118", ee.Error())
	}
	for _, want := range []string{"delete: 200d", "✖ AKIA", "FAILED: 2 expected transition(s) did not happen:"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("the output lacks %q:\n%s", want, &out)
		}
	}
	if strings.Contains(out.String(), "\nDone: ") {
		t.Errorf("a failed demo says Done:\n%s", &out)
	}
}

func TestDemoClock(t *testing.T) {
	c := newDemoClock(118)
	if d := c.day(c.Now()); d != 0 {
		t.Errorf("a new clock is on day %d, want 0", d)
	}
	if c.day0.Nanosecond() != 0 {
		t.Errorf("day 0 is %s: not a whole second", c.day0)
	}
	for _, tc := range []struct {
		to      int
		wantErr bool
		wantDay int
	}{
		{to: 91, wantDay: 91},
		{to: 91, wantDay: 91},
		{to: 90, wantErr: true, wantDay: 91},
		{to: 118, wantDay: 118},
	} {
		before := c.Now()
		err := c.to(tc.to)
		if (err != nil) != tc.wantErr {
			t.Errorf("to(%d): err %v, want error %t", tc.to, err, tc.wantErr)
		}
		now := c.Now()
		if d := c.day(now); d != tc.wantDay {
			t.Errorf("after to(%d): day %d, want %d", tc.to, d, tc.wantDay)
		}
		if !now.After(before) {
			t.Errorf("after to(%d): the clock went from %s to %s", tc.to, before, now)
		}
	}
	// The last day is today.
	if skew := time.Since(c.Now()); skew < 0 || skew > time.Minute {
		t.Errorf("on day 118 the clock is %s behind the wall clock", skew)
	}
}
