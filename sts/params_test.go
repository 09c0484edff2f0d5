package sts

import (
	"strings"
	"testing"
	"unicode/utf16"
)

// TestJavaLen compares javaLen, which skips ASCII eight bytes at a time, with
// the UTF-16 length counted rune by rune, for non-ASCII text at every offset.
func TestJavaLen(t *testing.T) {
	slow := func(s string) int {
		n := 0
		for _, r := range s {
			n += utf16.RuneLen(r)
		}
		return n
	}
	for _, tail := range []string{"", "é", "中", "\U0001F600", "\xff", "\xe4\xb8", "a\x80b"} {
		for pre := range 20 {
			for post := range 10 {
				s := strings.Repeat("a", pre) + tail + strings.Repeat("z", post)
				if got, want := javaLen(s), slow(s); got != want {
					t.Fatalf("javaLen(%q) = %d, want %d", s, got, want)
				}
			}
		}
	}
}

// TestRoleName checks which role ARNs name a role of the account, which are
// someone else's (AccessDenied), and which are no ARN at all.
func TestRoleName(t *testing.T) {
	const acct = "123456789012"
	cases := []struct {
		arn, name   string
		ok, invalid bool
	}{
		{"arn:aws:iam::123456789012:role/x", "x", true, false},
		{"arn:aws:iam::123456789012:role/ci/deploy", "deploy", true, false},
		{"arn:aws-cn:iam::123456789012:role/a/b/deploy", "deploy", true, false},
		{"arn:aws:iam::123456789012:role/a:b:c", "a:b:c", true, false},
		{"arn:aws:iam::210987654321:role/x", "", false, false},
		{"arn:aws:iam:us-east-1:123456789012:role/x", "", false, false},
		{"arn:aws:sts::123456789012:role/x", "", false, false},
		{"arn:aws:iam::123456789012:user/x", "", false, false},
		{"arn:aws:iam::123456789012:role", "", false, false},
		{"arn:aws:iam::123456789012:role/", "", false, false},
		{"arn:aws:iam::123456789012:role/ci/", "", false, false},
		{"", "", false, true},
		{":", "", false, true},
		{"arn", "", false, true},
		{"a:b:c:d:e:f", "", false, true},
		{"arn:aws:iam::123456789012", "", false, true},
		{"arn::iam::123456789012:role/x", "", false, true},
		{"arn:aws:::123456789012:role/x", "", false, true},
		{"arn:aws:iam::123456789012:", "", false, true},
		{":::::", "", false, true},
	}
	for _, tc := range cases {
		name, ok, err := roleName(tc.arn, acct)
		if invalid := err != nil; invalid != tc.invalid || ok != tc.ok || name != tc.name {
			t.Errorf("roleName(%q) = %q, %v, %v; want %q, %v, invalid %v", tc.arn, name, ok, err, tc.name, tc.ok, tc.invalid)
		}
		if err != nil && !strings.Contains(err.Error(), msgInvalidARN) {
			t.Errorf("roleName(%q) error %v, want %q", tc.arn, err, msgInvalidARN)
		}
	}
}
