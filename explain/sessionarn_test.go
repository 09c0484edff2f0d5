package explain

import "testing"

// TestSessionARN: a role session's ARN keeps the role's partition and drops its
// path, as STS names sessions.
func TestSessionARN(t *testing.T) {
	for _, tc := range []struct{ role, want string }{
		{"arn:aws:iam::111111111111:role/deploy", "arn:aws:sts::111111111111:assumed-role/deploy/s"},
		{"arn:aws-cn:iam::111111111111:role/ci/deploy", "arn:aws-cn:sts::111111111111:assumed-role/deploy/s"},
		{"not-an-arn", ""},
	} {
		if got := SessionARN(tc.role, "s"); got != tc.want {
			t.Errorf("SessionARN(%q) = %q; want %q", tc.role, got, tc.want)
		}
	}
}
