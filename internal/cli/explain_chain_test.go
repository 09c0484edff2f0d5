package cli

import (
	"strings"
	"testing"
)

// TestExplainCmdChainBadInput: the AssumeRole hops of keyless explain refuse a
// role chain entry that is no role ARN, a caller together with a token, and an
// external ID without an AssumeRole hop, and say where to find keyless up's stores
// when the data directory has none.
func TestExplainCmdChainBadInput(t *testing.T) {
	explainCmdEnv(t)
	dir := t.TempDir()
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"role chain entry not a role ARN", []string{"explain", "--caller-arn", "arn:aws:sts::000000000000:assumed-role/hub/s",
			"--role-arn", explainCmdRole, "--role-chain", "deploy", "--data", dir}, "--role-chain"},
		{"a caller and a token", []string{"explain", "--caller-arn", "arn:aws:sts::000000000000:assumed-role/hub/s",
			"--role-arn", explainCmdRole, "--token", "x", "--data", dir}, "--caller-arn explains sts:AssumeRole by that caller, which needs no token"},
		{"an external ID without an AssumeRole hop", []string{"explain", "--role-arn", explainCmdRole, "--external-id", "e",
			"--trust-policy", "/nonexistent", "--provider-url", "https://x", "--data", dir}, "--external-id is for sts:AssumeRole hops"},
		{"no store in the data directory", []string{"explain", "--caller-arn", "arn:aws:sts::000000000000:assumed-role/hub/s",
			"--role-arn", "arn:aws:iam::222222222222:role/deploy", "--data", dir}, "explain: read the accounts of keyless up: "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errOut := explainCmdRun(t, nil, tc.args...)
			if code == 0 || out != "" || !strings.Contains(errOut, tc.want) {
				t.Errorf("exit %d, stdout %q, stderr %q; want a failure naming %q", code, out, errOut, tc.want)
			}
		})
	}
}
