package policy

import (
	"fmt"
	"testing"
)

// kv builds a context; a key with a nil slice is present with no values.
func kv(pairs ...any) Context {
	c := NewContext()
	for i := 0; i < len(pairs); i += 2 {
		switch v := pairs[i+1].(type) {
		case string:
			c.Set(pairs[i].(string), v)
		case []string:
			c.Set(pairs[i].(string), v...)
		}
	}
	return c
}

// allowIf evaluates an identity policy with one Allow statement guarded by cond.
func allowIf(t *testing.T, version, cond string, ctx Context) (bool, Result) {
	t.Helper()
	v := ""
	if version != "" {
		v = fmt.Sprintf(`"Version": %q,`, version)
	}
	doc := fmt.Sprintf(`{%s "Statement": {"Sid": "S", "Effect": "Allow", "Action": "s3:GetObject", "Resource": "*", "Condition": %s}}`, v, cond)
	p, err := Parse([]byte(doc), KindIdentity)
	if err != nil {
		t.Fatalf("Parse(%s): %v", doc, err)
	}
	res := Evaluate(Request{Action: "s3:GetObject", Resource: "arn:aws:s3:::b/k", Context: ctx}, Input{Identity: []*Policy{p}})
	fast := EvaluateFast(Request{Action: "s3:GetObject", Resource: "arn:aws:s3:::b/k", Context: ctx}, Input{Identity: []*Policy{p}})
	if fast.Decision != res.Decision {
		t.Errorf("EvaluateFast = %v, Evaluate = %v", fast.Decision, res.Decision)
	}
	return res.Decision == Allowed, res
}

func TestConditionOperators(t *testing.T) {
	const v12 = Version2012
	tests := []struct {
		name string
		cond string
		ctx  Context
		want bool
	}{
		// String operators; key names are case-insensitive, values case-sensitive.
		{"StringEquals match", `{"StringEquals": {"aws:username": "john"}}`, kv("aws:username", "john"), true},
		{"StringEquals key case-insensitive", `{"StringEquals": {"AWS:UserName": "john"}}`, kv("aws:USERNAME", "john"), true},
		{"StringEquals value case-sensitive", `{"StringEquals": {"aws:username": "john"}}`, kv("aws:username", "John"), false},
		{"StringEquals one of several values", `{"StringEquals": {"aws:username": ["a", "john"]}}`, kv("aws:username", "john"), true},
		{"StringEquals missing key", `{"StringEquals": {"aws:username": "john"}}`, kv(), false},
		{"StringEquals star is literal (trap)", `{"StringEquals": {"aws:username": "*"}}`, kv("aws:username", "john"), false},
		{"StringEquals star matches literal star", `{"StringEquals": {"aws:username": "jo*"}}`, kv("aws:username", "jo*"), true},
		{"StringNotEquals differs", `{"StringNotEquals": {"aws:username": "john"}}`, kv("aws:username", "mary"), true},
		{"StringNotEquals equal", `{"StringNotEquals": {"aws:username": "john"}}`, kv("aws:username", "john"), false},
		{"StringNotEquals missing key is true (trap)", `{"StringNotEquals": {"aws:username": "john"}}`, kv(), true},
		{"StringNotEquals multi-valued request, one matches", `{"StringNotEquals": {"aws:TagKeys": "a"}}`, kv("aws:TagKeys", []string{"a", "b"}), false},
		{"StringEqualsIgnoreCase", `{"StringEqualsIgnoreCase": {"aws:username": "JOHN"}}`, kv("aws:username", "john"), true},
		{"StringNotEqualsIgnoreCase", `{"StringNotEqualsIgnoreCase": {"aws:username": "JOHN"}}`, kv("aws:username", "john"), false},
		{"StringLike star", `{"StringLike": {"p:sub": "{4d1}:*"}}`, kv("p:sub", "{4d1}:{77a}"), true},
		{"StringLike other repo", `{"StringLike": {"p:sub": "{4d1}:*"}}`, kv("p:sub", "{9c2}:{77a}"), false},
		{"StringLike question mark", `{"StringLike": {"aws:username": "jo?n"}}`, kv("aws:username", "john"), true},
		{"StringLike question mark is one char", `{"StringLike": {"aws:username": "jo?n"}}`, kv("aws:username", "jooon"), false},
		{"StringLike question mark multibyte", `{"StringLike": {"aws:username": "j?"}}`, kv("aws:username", "jé"), true},
		{"StringLike case-sensitive", `{"StringLike": {"aws:username": "J*"}}`, kv("aws:username", "john"), false},
		{"StringLike middle stars", `{"StringLike": {"k:v": "a*b*c"}}`, kv("k:v", "axxbyyc"), true},
		{"StringLike middle stars fail", `{"StringLike": {"k:v": "a*b*c"}}`, kv("k:v", "axxcyyb"), false},
		{"StringLike suffix overlap", `{"StringLike": {"k:v": "*ab"}}`, kv("k:v", "aab"), true},
		{"StringLike escaped star is literal", `{"StringLike": {"k:v": "a${*}"}}`, kv("k:v", "ab"), false},
		{"StringLike escaped star matches star", `{"StringLike": {"k:v": "a${*}"}}`, kv("k:v", "a*"), true},
		{"StringNotLike", `{"StringNotLike": {"k:v": "a*"}}`, kv("k:v", "ba"), true},
		{"StringNotLike missing key (trap)", `{"StringNotLike": {"k:v": "a*"}}`, kv(), true},

		// IfExists.
		{"StringEqualsIfExists missing", `{"StringEqualsIfExists": {"k:v": "a"}}`, kv(), true},
		{"StringEqualsIfExists present mismatch", `{"StringEqualsIfExists": {"k:v": "a"}}`, kv("k:v", "b"), false},
		{"StringEqualsIfExists present match", `{"StringEqualsIfExists": {"k:v": "a"}}`, kv("k:v", "a"), true},
		{"NumericLessThanIfExists missing", `{"NumericLessThanIfExists": {"k:n": "3"}}`, kv(), true},

		// Set operators.
		{"ForAnyValue one matches", `{"ForAnyValue:StringEquals": {"aws:TagKeys": ["a", "b"]}}`, kv("aws:TagKeys", []string{"x", "b"}), true},
		{"ForAnyValue none match", `{"ForAnyValue:StringEquals": {"aws:TagKeys": ["a"]}}`, kv("aws:TagKeys", []string{"x"}), false},
		{"ForAnyValue missing key is false", `{"ForAnyValue:StringEquals": {"aws:TagKeys": ["a"]}}`, kv(), false},
		{"ForAnyValue empty key is false", `{"ForAnyValue:StringEquals": {"aws:TagKeys": ["a"]}}`, kv("aws:TagKeys", []string{}), false},
		{"ForAnyValue IfExists missing", `{"ForAnyValue:StringEqualsIfExists": {"aws:TagKeys": ["a"]}}`, kv(), true},
		{"ForAnyValue negated: one outside", `{"ForAnyValue:StringNotEquals": {"aws:TagKeys": ["a"]}}`, kv("aws:TagKeys", []string{"a", "z"}), true},
		{"ForAnyValue negated: all inside", `{"ForAnyValue:StringNotEquals": {"aws:TagKeys": ["a"]}}`, kv("aws:TagKeys", []string{"a"}), false},
		{"ForAllValues all match", `{"ForAllValues:StringEquals": {"aws:TagKeys": ["a", "b"]}}`, kv("aws:TagKeys", []string{"a", "b"}), true},
		{"ForAllValues one outside", `{"ForAllValues:StringEquals": {"aws:TagKeys": ["a"]}}`, kv("aws:TagKeys", []string{"a", "z"}), false},
		{"ForAllValues missing key is true (trap)", `{"ForAllValues:StringEquals": {"aws:TagKeys": ["a"]}}`, kv(), true},
		{"ForAllValues empty key is true (trap)", `{"ForAllValues:StringEquals": {"aws:TagKeys": ["a"]}}`, kv("aws:TagKeys", []string{}), true},
		{"ForAllValues negated none inside", `{"ForAllValues:StringNotLike": {"aws:TagKeys": ["a*"]}}`, kv("aws:TagKeys", []string{"x", "y"}), true},
		{"ForAllValues negated one inside", `{"ForAllValues:StringNotLike": {"aws:TagKeys": ["a*"]}}`, kv("aws:TagKeys", []string{"x", "ab"}), false},
		{"ForAllValues StringLike", `{"ForAllValues:StringLike": {"p:amr": ["auth*"]}}`, kv("p:amr", []string{"authenticated", "auth2"}), true},

		// Numeric.
		{"NumericEquals", `{"NumericEquals": {"k:n": "10"}}`, kv("k:n", "10.0"), true},
		{"NumericEquals JSON number", `{"NumericEquals": {"k:n": 10}}`, kv("k:n", "10"), true},
		{"NumericNotEquals", `{"NumericNotEquals": {"k:n": "10"}}`, kv("k:n", "11"), true},
		{"NumericNotEquals missing (trap)", `{"NumericNotEquals": {"k:n": "10"}}`, kv(), true},
		{"NumericLessThan", `{"NumericLessThan": {"k:n": "10"}}`, kv("k:n", "9.5"), true},
		{"NumericLessThan equal", `{"NumericLessThan": {"k:n": "10"}}`, kv("k:n", "10"), false},
		{"NumericLessThanEquals", `{"NumericLessThanEquals": {"k:n": "10"}}`, kv("k:n", "10"), true},
		{"NumericGreaterThan", `{"NumericGreaterThan": {"k:n": "3600"}}`, kv("k:n", "3601"), true},
		{"NumericGreaterThanEquals", `{"NumericGreaterThanEquals": {"k:n": "-1"}}`, kv("k:n", "-1"), true},
		{"Numeric bad request value", `{"NumericEquals": {"k:n": "1"}}`, kv("k:n", "one"), false},
		{"Numeric missing", `{"NumericLessThan": {"k:n": "1"}}`, kv(), false},

		// Date: ISO 8601 and epoch.
		{"DateLessThan ISO", `{"DateLessThan": {"aws:CurrentTime": "2026-12-31T23:59:59Z"}}`, kv("aws:CurrentTime", "2026-06-01T00:00:00Z"), true},
		{"DateLessThan ISO after", `{"DateLessThan": {"aws:CurrentTime": "2026-12-31T23:59:59Z"}}`, kv("aws:CurrentTime", "2027-01-01T00:00:00Z"), false},
		{"DateGreaterThan epoch request", `{"DateGreaterThan": {"aws:CurrentTime": "2020-01-01T00:00:00Z"}}`, kv("aws:CurrentTime", "1700000000"), true},
		{"DateEquals epoch policy vs ISO request", `{"DateEquals": {"aws:EpochTime": "1700000000"}}`, kv("aws:EpochTime", "2023-11-14T22:13:20Z"), true},
		{"DateEquals offset", `{"DateEquals": {"aws:CurrentTime": "2023-11-14T23:13:20+01:00"}}`, kv("aws:CurrentTime", "2023-11-14T22:13:20Z"), true},
		{"DateNotEquals", `{"DateNotEquals": {"aws:CurrentTime": "2023-11-14"}}`, kv("aws:CurrentTime", "2023-11-15"), true},
		{"DateLessThanEquals", `{"DateLessThanEquals": {"aws:CurrentTime": "2023-11-14T22:13:20.500Z"}}`, kv("aws:CurrentTime", "2023-11-14T22:13:20.5Z"), true},
		{"DateGreaterThanEquals date only", `{"DateGreaterThanEquals": {"aws:CurrentTime": "2023-11-14"}}`, kv("aws:CurrentTime", "2023-11-13T23:59:59Z"), false},
		{"Date bad request value", `{"DateLessThan": {"aws:CurrentTime": "2026-01-01"}}`, kv("aws:CurrentTime", "yesterday"), false},

		// Bool.
		{"Bool true", `{"Bool": {"aws:SecureTransport": "true"}}`, kv("aws:SecureTransport", "true"), true},
		{"Bool JSON boolean", `{"Bool": {"aws:SecureTransport": false}}`, kv("aws:SecureTransport", "false"), true},
		{"Bool mismatch", `{"Bool": {"aws:SecureTransport": "true"}}`, kv("aws:SecureTransport", "false"), false},
		{"Bool case-insensitive", `{"Bool": {"aws:SecureTransport": "true"}}`, kv("aws:SecureTransport", "TRUE"), true},
		{"Bool missing", `{"Bool": {"aws:SecureTransport": "true"}}`, kv(), false},
		{"BoolIfExists missing", `{"BoolIfExists": {"aws:MultiFactorAuthPresent": "false"}}`, kv(), true},

		// Binary.
		{"BinaryEquals raw request", `{"BinaryEquals": {"k:b": "QmluYXJ5VmFsdWU="}}`, kv("k:b", "BinaryValue"), true},
		{"BinaryEquals base64 request", `{"BinaryEquals": {"k:b": "QmluYXJ5VmFsdWU="}}`, kv("k:b", "QmluYXJ5VmFsdWU="), true},
		{"BinaryEquals mismatch", `{"BinaryEquals": {"k:b": "QmluYXJ5VmFsdWU="}}`, kv("k:b", "other"), false},

		// IP addresses.
		{"IpAddress in v4 CIDR", `{"IpAddress": {"aws:SourceIp": "203.0.113.0/24"}}`, kv("aws:SourceIp", "203.0.113.7"), true},
		{"IpAddress outside v4 CIDR", `{"IpAddress": {"aws:SourceIp": "203.0.113.0/24"}}`, kv("aws:SourceIp", "203.0.114.7"), false},
		{"IpAddress /32 list", `{"IpAddress": {"aws:SourceIp": ["34.199.54.113/32", "34.232.25.90/32"]}}`, kv("aws:SourceIp", "34.232.25.90"), true},
		{"IpAddress bare address", `{"IpAddress": {"aws:SourceIp": "34.199.54.113"}}`, kv("aws:SourceIp", "34.199.54.113"), true},
		{"IpAddress v6", `{"IpAddress": {"aws:SourceIp": "2001:db8::/32"}}`, kv("aws:SourceIp", "2001:db8:1::5"), true},
		{"IpAddress v6 outside", `{"IpAddress": {"aws:SourceIp": "2001:db8::/32"}}`, kv("aws:SourceIp", "2001:db9::5"), false},
		{"IpAddress v4-mapped v6 request", `{"IpAddress": {"aws:SourceIp": "203.0.113.0/24"}}`, kv("aws:SourceIp", "::ffff:203.0.113.7"), true},
		{"IpAddress v4 policy, v6 request", `{"IpAddress": {"aws:SourceIp": "203.0.113.0/24"}}`, kv("aws:SourceIp", "2001:db8::1"), false},
		{"IpAddress bad request value", `{"IpAddress": {"aws:SourceIp": "0.0.0.0/0"}}`, kv("aws:SourceIp", "not-an-ip"), false},
		{"IpAddress missing", `{"IpAddress": {"aws:SourceIp": "0.0.0.0/0"}}`, kv(), false},
		{"NotIpAddress outside", `{"NotIpAddress": {"aws:SourceIp": "203.0.113.0/24"}}`, kv("aws:SourceIp", "198.51.100.1"), true},
		{"NotIpAddress inside", `{"NotIpAddress": {"aws:SourceIp": "203.0.113.0/24"}}`, kv("aws:SourceIp", "203.0.113.1"), false},
		{"NotIpAddress missing (trap)", `{"NotIpAddress": {"aws:SourceIp": "203.0.113.0/24"}}`, kv(), true},

		// ARNs: six parts matched separately, case-sensitive.
		{"ArnEquals exact", `{"ArnEquals": {"aws:SourceArn": "arn:aws:sns:us-east-1:123456789012:topic"}}`, kv("aws:SourceArn", "arn:aws:sns:us-east-1:123456789012:topic"), true},
		{"ArnEquals wildcard part", `{"ArnEquals": {"aws:SourceArn": "arn:aws:sns:*:123456789012:topic"}}`, kv("aws:SourceArn", "arn:aws:sns:eu-west-1:123456789012:topic"), true},
		{"ArnLike wildcard resource", `{"ArnLike": {"aws:SourceArn": "arn:aws:s3:::bucket/*"}}`, kv("aws:SourceArn", "arn:aws:s3:::bucket/a/b:c"), true},
		{"ArnLike star does not cross a colon", `{"ArnLike": {"aws:SourceArn": "arn:aws:s*:us-east-1:123456789012:topic"}}`, kv("aws:SourceArn", "arn:aws:sns:extra:us-east-1:123456789012:topic"), false},
		{"ArnLike case-sensitive", `{"ArnLike": {"aws:SourceArn": "arn:aws:iam::123456789012:role/Deploy"}}`, kv("aws:SourceArn", "arn:aws:iam::123456789012:role/deploy"), false},
		{"ArnLike not an ARN", `{"ArnLike": {"aws:SourceArn": "arn:aws:s3:::*"}}`, kv("aws:SourceArn", "bucket"), false},
		{"ArnNotEquals", `{"ArnNotEquals": {"aws:SourceArn": "arn:aws:s3:::a"}}`, kv("aws:SourceArn", "arn:aws:s3:::b"), true},
		{"ArnNotLike inside", `{"ArnNotLike": {"aws:SourceArn": "arn:aws:s3:::a*"}}`, kv("aws:SourceArn", "arn:aws:s3:::ab"), false},
		{"ArnNotLike missing (trap)", `{"ArnNotLike": {"aws:SourceArn": "arn:aws:s3:::a*"}}`, kv(), true},

		// Null.
		{"Null true, key absent", `{"Null": {"aws:TokenIssueTime": "true"}}`, kv(), true},
		{"Null true, key present", `{"Null": {"aws:TokenIssueTime": "true"}}`, kv("aws:TokenIssueTime", "x"), false},
		{"Null false, key present", `{"Null": {"aws:TokenIssueTime": "false"}}`, kv("aws:TokenIssueTime", "x"), true},
		{"Null false, key absent", `{"Null": {"aws:TokenIssueTime": false}}`, kv(), false},
		{"Null true, key empty", `{"Null": {"aws:TagKeys": "true"}}`, kv("aws:TagKeys", []string{}), true},

		// AND across operators and keys, OR across values.
		{"two keys both match", `{"StringEquals": {"a:x": "1", "a:y": "2"}}`, kv("a:x", "1", "a:y", "2"), true},
		{"two keys one fails", `{"StringEquals": {"a:x": "1", "a:y": "2"}}`, kv("a:x", "1", "a:y", "3"), false},
		{"two operators one fails", `{"StringEquals": {"a:x": "1"}, "Bool": {"a:y": "true"}}`, kv("a:x", "1"), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, res := allowIf(t, v12, tc.cond, tc.ctx)
			if got != tc.want {
				t.Errorf("allowed = %v, want %v\n%s", got, tc.want, res.Explain)
			}
		})
	}
}

func TestPolicyVariables(t *testing.T) {
	tests := []struct {
		name    string
		version string
		cond    string
		ctx     Context
		want    bool
	}{
		{"variable substituted", Version2012, `{"StringEquals": {"s3:prefix": "home/${aws:username}"}}`, kv("s3:prefix", "home/john", "aws:username", "john"), true},
		{"variable key case-insensitive", Version2012, `{"StringEquals": {"s3:prefix": "home/${AWS:UserName}"}}`, kv("s3:prefix", "home/john", "aws:username", "john"), true},
		{"variable value is literal in StringLike", Version2012, `{"StringLike": {"s3:prefix": "home/${aws:username}"}}`, kv("s3:prefix", "home/john", "aws:username", "*"), false},
		{"variable in StringLike with wildcard", Version2012, `{"StringLike": {"s3:prefix": "home/${aws:username}/*"}}`, kv("s3:prefix", "home/john/x", "aws:username", "john"), true},
		{"variable without value fails StringEquals (trap)", Version2012, `{"StringEquals": {"s3:prefix": "home/${aws:username}"}}`, kv("s3:prefix", "home/"), false},
		{"variable without value fails StringLike (trap)", Version2012, `{"StringLike": {"s3:prefix": "${aws:username}*"}}`, kv("s3:prefix", "anything"), false},
		{"multivalued variable has no value", Version2012, `{"StringEquals": {"s3:prefix": "${aws:TagKeys}"}}`, kv("s3:prefix", "a", "aws:TagKeys", []string{"a", "b"}), false},
		{"default used when missing", Version2012, `{"StringEquals": {"s3:prefix": "home/${aws:username, 'guest'}"}}`, kv("s3:prefix", "home/guest"), true},
		{"default ignored when present", Version2012, `{"StringEquals": {"s3:prefix": "home/${aws:username, 'guest'}"}}`, kv("s3:prefix", "home/guest", "aws:username", "john"), false},
		{"escape dollar", Version2012, `{"StringEquals": {"k:v": "${$}{x}"}}`, kv("k:v", "${x}"), true},
		{"escape question mark literal", Version2012, `{"StringLike": {"k:v": "a${?}"}}`, kv("k:v", "ab"), false},
		{"escape question mark matches", Version2012, `{"StringLike": {"k:v": "a${?}"}}`, kv("k:v", "a?"), true},
		{"literal under 2008", Version2008, `{"StringEquals": {"s3:prefix": "home/${aws:username}"}}`, kv("s3:prefix", "home/${aws:username}", "aws:username", "john"), true},
		{"literal under 2008, not substituted", Version2008, `{"StringEquals": {"s3:prefix": "home/${aws:username}"}}`, kv("s3:prefix", "home/john", "aws:username", "john"), false},
		{"literal without Version", "", `{"StringEquals": {"s3:prefix": "home/${aws:username}"}}`, kv("s3:prefix", "home/john", "aws:username", "john"), false},
		{"OIDC sub variable", Version2012, `{"StringEquals": {"aws:PrincipalTag/repo": "${api.bitbucket.org/oidc:sub}"}}`, kv("aws:PrincipalTag/repo", "{r}:{s}", "api.bitbucket.org/oidc:sub", "{r}:{s}"), true},
		{"numeric variable", Version2012, `{"NumericLessThan": {"k:n": "${k:max}"}}`, kv("k:n", "3", "k:max", "5"), true},
		{"IP variable", Version2012, `{"IpAddress": {"aws:SourceIp": "${k:cidr}"}}`, kv("aws:SourceIp", "10.1.2.3", "k:cidr", "10.0.0.0/8"), true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, res := allowIf(t, tc.version, tc.cond, tc.ctx)
			if got != tc.want {
				t.Errorf("allowed = %v, want %v\n%s", got, tc.want, res.Explain)
			}
		})
	}
}

func TestUnresolvedVariableExplained(t *testing.T) {
	_, res := allowIf(t, Version2012, `{"StringEquals": {"s3:prefix": "home/${aws:username}"}}`, kv("s3:prefix", "home/"))
	c := res.Explain.Deciding.FailedCondition()
	if c == nil || c.UnresolvedVariable != "${aws:username}" {
		t.Fatalf("failed condition = %+v", c)
	}
}
