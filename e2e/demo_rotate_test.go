package e2e

import (
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestDemoRotate runs `keyless demo rotate` as CI does and checks the key
// lines of its narrative, in order: seed 004's key rotated at 91 days, the
// deploy step on the rotated key, the old key kept alive by its use, then
// deactivated and deleted as the days pass.
func TestDemoRotate(t *testing.T) {
	t.Parallel()
	env := append(cleanEnv(), "HOME="+t.TempDir())
	start := time.Now()
	out, errOut, code := run(t, env, "demo", "rotate")
	if code != 0 {
		t.Fatalf("keyless demo rotate: exit %d\nstdout: %s\nstderr: %s", code, out, errOut)
	}
	t.Logf("keyless demo rotate took %v", time.Since(start))
	if errOut != "" {
		t.Errorf("keyless demo rotate wrote to stderr: %s", errOut)
	}
	old := regexp.MustCompile(`IAM user legacy-deployer with one access key, (AKIA[A-Z0-9]{16})\n`).FindStringSubmatch(out)
	rotated := regexp.MustCompile(`✔ new key (AKIA[A-Z0-9]{16}) created, verified and promoted to AWSCURRENT\n`).FindStringSubmatch(out)
	if old == nil || rotated == nil || old[1] == rotated[1] {
		t.Fatalf("keyless demo rotate does not name an old and a new key:\n%s", out)
	}
	oldID, newID := regexp.QuoteMeta(old[1]), regexp.QuoteMeta(rotated[1])
	pos := 0
	for _, s := range []struct{ what, re string }{
		{"day 0", `(?m)^\d+\. Day 0 \(\d{4}-\d\d-\d\d\): what seed 004 leaves behind$`},
		{"the rotation section", `(?m)^\s+rotation:\n\s+ages: \{rotate: 90d, deactivate: 100d, delete: 110d\}$`},
		{"the plan", `(?m)^\d+\. Day 91 .*: keyless rotate plan`},
		{"the rotation", `(?m)^\d+\. Day 91 .*: keyless rotate run`},
		{"the new key's checks", `✔ new key ` + newID + ` created, verified and promoted to AWSCURRENT`},
		{"the previous version", `✔ AWSPREVIOUS holds the old key ` + oldID},
		{"the deployment variables", `✔ bitbucket deployment acme/web Production holds ` + newID},
		{"the deploy step", `AWS_ACCESS_KEY_ID\s+` + newID + ` \(deployment variable\)\n\s+AWS_SECRET_ACCESS_KEY\s+secured deployment variable \(40 characters, not shown\)`},
		{"GetCallerIdentity with the rotated key", `aws sts get-caller-identity: arn:aws:iam::\d{12}:user/legacy-deployer\n\s+✔ the step deploys as legacy-deployer with the rotated key, ` + newID},
		{"the old key's recorded use", `iam:GetAccessKeyLastUsed\(` + oldID + `\): \S+, service sts, region us-east-1`},
		{"day 100", `(?m)^\d+\. Day 100 `},
		{"the watch", oldID + `: kept until \S+: watched for use for 10d`},
		{"day 104", `(?m)^\d+\. Day 104 `},
		{"the use keeping it alive", oldID + `: kept: still in use, last used \S+ \(by sts in us-east-1\)`},
		{"day 108", `(?m)^\d+\. Day 108 `},
		{"the deactivation", `deactivate key ` + oldID + `: it is 108d old \(deactivate at 100d\)`},
		{"AWS refusing it", `a call signed with ` + oldID + ` now gets InvalidClientTokenId`},
		{"day 112", `(?m)^\d+\. Day 112 `},
		{"the grace", oldID + `: inactive since \S+; deleted from \S+ \(10d after it was made inactive\)`},
		{"day 118", `(?m)^\d+\. Day 118 `},
		{"the deletion", `delete key ` + oldID + `: it is inactive since \S+ and 118d old \(delete at 110d\)`},
		{"one key left", `✔ legacy-deployer has one key, ` + newID + `, which AWSCURRENT and the deployment variables hold`},
		{"Done:", `(?m)^Done: `},
	} {
		loc := regexp.MustCompile(s.re).FindStringIndex(out[pos:])
		if loc == nil {
			t.Fatalf("keyless demo rotate output lacks %s (%s) after offset %d:\n%s", s.what, s.re, pos, out)
		}
		pos += loc[1]
	}
	if strings.Contains(out, "✖") {
		t.Errorf("keyless demo rotate marks a transition as not done:\n%s", out)
	}
	// A secret access key is 40 characters of Base64; nothing else printed is.
	if m := regexp.MustCompile(`[A-Za-z0-9/+]{40}`).FindString(out); m != "" {
		t.Errorf("keyless demo rotate printed a secret-shaped string of %d characters", len(m))
	}
}
