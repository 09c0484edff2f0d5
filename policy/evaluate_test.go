package policy

import (
	"strings"
	"testing"
)

func TestPrincipalMatching(t *testing.T) {
	tests := []struct {
		name      string
		principal string
		req       string
		reqType   string
		want      bool
	}{
		{"federated provider", `{"Federated": "` + benchProviderARN + `"}`, benchProviderARN, "", true},
		{"federated other provider", `{"Federated": "` + benchProviderARN + `"}`, "arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com", "", false},
		{"federated list", `{"Federated": ["arn:aws:iam::1:oidc-provider/a", "` + benchProviderARN + `"]}`, benchProviderARN, "Federated", true},
		{"federated host", `{"Federated": "accounts.google.com"}`, "accounts.google.com", "", true},
		{"type restricts", `{"Federated": "` + benchProviderARN + `"}`, benchProviderARN, "AWS", false},
		{"star", `"*"`, benchProviderARN, "", true},
		{"AWS star", `{"AWS": "*"}`, "arn:aws:iam::999999999999:role/x", "", true},
		{"AWS account id", `{"AWS": "123456789012"}`, "arn:aws:iam::123456789012:role/deploy", "", true},
		{"AWS account id other account", `{"AWS": "123456789012"}`, "arn:aws:iam::999999999999:role/deploy", "", false},
		{"AWS root ARN is the account", `{"AWS": "arn:aws:iam::123456789012:root"}`, "arn:aws:sts::123456789012:assumed-role/deploy/s", "", true},
		{"AWS role ARN exact", `{"AWS": "arn:aws:iam::123456789012:role/deploy"}`, "arn:aws:iam::123456789012:role/deploy", "", true},
		{"AWS role ARN case-sensitive", `{"AWS": "arn:aws:iam::123456789012:role/deploy"}`, "arn:aws:iam::123456789012:role/Deploy", "", false},
		{"AWS account id as request", `{"AWS": "123456789012"}`, "123456789012", "", true},
		{"service", `{"Service": "ec2.amazonaws.com"}`, "ec2.amazonaws.com", "Service", true},
		{"service is not federated", `{"Service": "ec2.amazonaws.com"}`, "ec2.amazonaws.com", "Federated", false},
		{"canonical user", `{"CanonicalUser": "79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be"}`, "79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be", "", true},
		{"anonymous only matches star", `{"AWS": "123456789012"}`, "*", "", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			doc := `{"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Principal": ` + tc.principal + `, "Action": "sts:AssumeRoleWithWebIdentity"}}`
			p := mustParse(t, doc, KindTrust)
			r := Evaluate(Request{Principal: tc.req, PrincipalType: tc.reqType, Action: "sts:AssumeRoleWithWebIdentity"}, Input{Resource: p})
			if got := r.Decision == Allowed; got != tc.want {
				t.Errorf("allowed = %v, want %v\n%s", got, tc.want, r.Explain)
			}
		})
	}
}

func TestNotPrincipal(t *testing.T) {
	p := mustParse(t, `{"Version": "2012-10-17", "Statement": {"Effect": "Deny", "NotPrincipal": {"AWS": "arn:aws:iam::123456789012:role/admin"}, "Action": "s3:*", "Resource": "arn:aws:s3:::b/*"}}`, KindResource)
	allow := mustParse(t, `{"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "s3:*", "Resource": "*"}}`, KindIdentity)
	for _, tc := range []struct {
		principal string
		want      Decision
	}{{"arn:aws:iam::123456789012:role/admin", Allowed}, {"arn:aws:iam::123456789012:role/dev", ExplicitlyDenied}} {
		r := Evaluate(Request{Principal: tc.principal, Action: "s3:GetObject", Resource: "arn:aws:s3:::b/k"}, Input{Identity: []*Policy{allow}, Resource: p})
		if r.Decision != tc.want {
			t.Errorf("%s: %v, want %v", tc.principal, r.Decision, tc.want)
		}
	}
}

func TestActionsAndResources(t *testing.T) {
	tests := []struct {
		name     string
		stmt     string
		action   string
		resource string
		want     bool
	}{
		{"action exact", `"Action": "s3:GetObject", "Resource": "*"`, "s3:GetObject", "arn:aws:s3:::b/k", true},
		{"action case-insensitive", `"Action": "S3:getobject", "Resource": "*"`, "s3:GetObject", "arn:aws:s3:::b/k", true},
		{"action wildcard", `"Action": "s3:Get*", "Resource": "*"`, "s3:GetObjectAcl", "arn:aws:s3:::b/k", true},
		{"action wildcard case-insensitive", `"Action": "s3:get*", "Resource": "*"`, "S3:GETOBJECT", "arn:aws:s3:::b/k", true},
		{"action question mark", `"Action": "s3:?etObject", "Resource": "*"`, "s3:GetObject", "arn:aws:s3:::b/k", true},
		{"action other service", `"Action": "s3:*", "Resource": "*"`, "s3express:GetObject", "arn:aws:s3:::b/k", false},
		{"action star", `"Action": "*", "Resource": "*"`, "ec2:RunInstances", "*", true},
		{"action list", `"Action": ["ec2:*", "s3:PutObject"], "Resource": "*"`, "s3:PutObject", "arn:aws:s3:::b/k", true},
		{"NotAction excludes", `"NotAction": "iam:*", "Resource": "*"`, "iam:CreateUser", "*", false},
		{"NotAction allows others", `"NotAction": "iam:*", "Resource": "*"`, "s3:GetObject", "*", true},
		{"resource exact", `"Action": "s3:*", "Resource": "arn:aws:s3:::b/k"`, "s3:GetObject", "arn:aws:s3:::b/k", true},
		{"resource case-sensitive", `"Action": "s3:*", "Resource": "arn:aws:s3:::b/K"`, "s3:GetObject", "arn:aws:s3:::b/k", false},
		{"resource wildcard spans slashes", `"Action": "s3:*", "Resource": "arn:aws:s3:::b/*"`, "s3:GetObject", "arn:aws:s3:::b/a/b/c", true},
		{"resource wildcard account", `"Action": "iam:PassRole", "Resource": "arn:aws:iam::*:role/cdk-*"`, "iam:PassRole", "arn:aws:iam::123456789012:role/cdk-hnb659fds-cfn-exec-role", true},
		{"resource wildcard does not cross colon", `"Action": "iam:PassRole", "Resource": "arn:aws:iam::*:role/cdk-*"`, "iam:PassRole", "arn:aws:iam::1:2:role/cdk-x", false},
		{"resource question mark", `"Action": "s3:*", "Resource": "arn:aws:s3:::b?"`, "s3:ListBucket", "arn:aws:s3:::b1", true},
		{"resource bucket does not match objects", `"Action": "s3:*", "Resource": "arn:aws:s3:::b"`, "s3:GetObject", "arn:aws:s3:::b/k", false},
		{"NotResource", `"Action": "s3:*", "NotResource": "arn:aws:s3:::secret/*"`, "s3:GetObject", "arn:aws:s3:::secret/k", false},
		{"NotResource others", `"Action": "s3:*", "NotResource": "arn:aws:s3:::secret/*"`, "s3:GetObject", "arn:aws:s3:::public/k", true},
		{"resource variable", `"Action": "s3:*", "Resource": "arn:aws:s3:::home/${aws:username}/*"`, "s3:GetObject", "arn:aws:s3:::home/john/k", true},
		{"resource variable other user", `"Action": "s3:*", "Resource": "arn:aws:s3:::home/${aws:username}/*"`, "s3:GetObject", "arn:aws:s3:::home/mary/k", false},
		{"resource variable in account part", `"Action": "iam:*", "Resource": "arn:aws:iam::${aws:PrincipalAccount}:role/x"`, "iam:GetRole", "arn:aws:iam::123456789012:role/x", true},
	}
	ctx := kv("aws:username", "john", "aws:PrincipalAccount", "123456789012")
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := mustParse(t, `{"Version": "2012-10-17", "Statement": {"Effect": "Allow", `+tc.stmt+`}}`, KindIdentity)
			r := Evaluate(Request{Action: tc.action, Resource: tc.resource, Context: ctx}, Input{Identity: []*Policy{p}})
			if got := r.Decision == Allowed; got != tc.want {
				t.Errorf("allowed = %v, want %v\n%s", got, tc.want, r.Explain)
			}
		})
	}
}

func TestResourceVariableWithoutValueMatchesNothing(t *testing.T) {
	p := mustParse(t, `{"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "s3:*", "Resource": "arn:aws:s3:::home/${aws:username}*"}}`, KindIdentity)
	r := Evaluate(Request{Action: "s3:GetObject", Resource: "arn:aws:s3:::home/", Context: NewContext()}, Input{Identity: []*Policy{p}})
	if r.Decision != ImplicitlyDenied || r.Explain.Deciding.UnresolvedVariable != "${aws:username}" {
		t.Fatalf("got %v %+v", r.Decision, r.Explain.Deciding)
	}
	if !strings.Contains(r.Explain.String(), "policy variable ${aws:username} has no value") {
		t.Errorf("explanation does not name the variable:\n%s", r.Explain)
	}
}

func TestEvaluationLogic(t *testing.T) {
	allowS3 := mustParse(t, `{"Version": "2012-10-17", "Statement": {"Sid": "AllowS3", "Effect": "Allow", "Action": "s3:*", "Resource": "*"}}`, KindIdentity)
	allowAll := mustParse(t, `{"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "*", "Resource": "*"}}`, KindIdentity)
	denyDelete := mustParse(t, `{"Version": "2012-10-17", "Statement": {"Sid": "NoDelete", "Effect": "Deny", "Action": "s3:Delete*", "Resource": "*"}}`, KindIdentity)
	onlyGet := mustParse(t, `{"Version": "2012-10-17", "Statement": {"Sid": "OnlyGet", "Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}}`, KindSession)
	boundary := mustParse(t, `{"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject"], "Resource": "*"}}`, KindBoundary)
	bucket := mustParse(t, `{"Version": "2012-10-17", "Statement": {"Sid": "Bucket", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::123456789012:role/r"}, "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*"}}`, KindResource)
	bucketDeny := mustParse(t, `{"Version": "2012-10-17", "Statement": {"Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": "arn:aws:s3:::b/*", "Condition": {"Bool": {"aws:SecureTransport": "false"}}}}`, KindResource)
	const role = "arn:aws:iam::123456789012:role/r"
	tests := []struct {
		name   string
		action string
		ctx    Context
		in     Input
		want   Decision
		reason Reason
	}{
		{"no policies", "s3:GetObject", nil, Input{}, ImplicitlyDenied, ReasonNoPolicies},
		{"identity allow", "s3:GetObject", nil, Input{Identity: []*Policy{allowS3}}, Allowed, ReasonAllowed},
		{"identity no match", "ec2:RunInstances", nil, Input{Identity: []*Policy{allowS3}}, ImplicitlyDenied, ReasonNoAllow},
		{"deny wins over allow", "s3:DeleteObject", nil, Input{Identity: []*Policy{allowS3, denyDelete}}, ExplicitlyDenied, ReasonExplicitDeny},
		{"deny in another policy wins", "s3:DeleteObject", nil, Input{Identity: []*Policy{denyDelete}, Resource: bucket}, ExplicitlyDenied, ReasonExplicitDeny},
		{"resource policy alone allows", "s3:GetObject", nil, Input{Resource: bucket}, Allowed, ReasonAllowed},
		{"resource deny with condition", "s3:GetObject", kv("aws:SecureTransport", "false"), Input{Identity: []*Policy{allowS3}, Resource: bucketDeny}, ExplicitlyDenied, ReasonExplicitDeny},
		{"resource deny condition not met", "s3:GetObject", kv("aws:SecureTransport", "true"), Input{Identity: []*Policy{allowS3}, Resource: bucketDeny}, Allowed, ReasonAllowed},
		{"session intersects: allowed", "s3:GetObject", nil, Input{Identity: []*Policy{allowAll}, Session: onlyGet}, Allowed, ReasonAllowed},
		{"session intersects: denied", "s3:PutObject", nil, Input{Identity: []*Policy{allowAll}, Session: onlyGet}, ImplicitlyDenied, ReasonSessionPolicy},
		{"session alone does not allow", "s3:GetObject", nil, Input{Session: onlyGet}, ImplicitlyDenied, ReasonNoPolicies},
		{"session policies union", "s3:PutObject", nil, Input{Identity: []*Policy{allowAll}, Session: onlyGet, SessionPolicies: []*Policy{allowS3}}, Allowed, ReasonAllowed},
		{"boundary allows", "s3:PutObject", nil, Input{Identity: []*Policy{allowAll}, Boundary: boundary}, Allowed, ReasonAllowed},
		{"boundary bounds", "ec2:RunInstances", nil, Input{Identity: []*Policy{allowAll}, Boundary: boundary}, ImplicitlyDenied, ReasonBoundary},
		{"boundary does not grant", "s3:GetObject", nil, Input{Boundary: boundary}, ImplicitlyDenied, ReasonNoPolicies},
		{"session and boundary both needed", "s3:PutObject", nil, Input{Identity: []*Policy{allowAll}, Session: onlyGet, Boundary: boundary}, ImplicitlyDenied, ReasonSessionPolicy},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req := Request{Principal: role, Action: tc.action, Resource: "arn:aws:s3:::b/k", Context: tc.ctx}
			for _, eval := range []func(Request, Input) Result{Evaluate, EvaluateFast} {
				r := eval(req, tc.in)
				if r.Decision != tc.want || r.Explain.Reason != tc.reason {
					t.Errorf("got %v (%s), want %v (%s)\n%s", r.Decision, r.Explain.Reason, tc.want, tc.reason, r.Explain)
				}
			}
		})
	}
}

func TestFastReportsFailingCondition(t *testing.T) {
	p := mustParse(t, benchTrust, KindTrust)
	req := benchTrustRequest()
	req.Context = NewContext().Set(benchProvider+":aud", "ari:cloud:bitbucket::workspace/84c08677-e352-4a1c-a107-6df387cfeef7").
		Set(benchProvider+":sub", "{4d1e3f9a-0d4b-4c8e-9a56-1f2b3c4d5e6f}:{1}").Set("aws:SourceIp", "198.51.100.7")
	r := EvaluateFast(req, Input{Resource: p})
	if r.Decision != ImplicitlyDenied {
		t.Fatal(r.Decision)
	}
	d := r.Explain.Deciding
	if d == nil || d.Sid != "BitbucketRepo" {
		t.Fatalf("deciding = %+v", d)
	}
	c := d.FailedCondition()
	if c == nil || c.Operator != "IpAddress" || c.Key != "aws:SourceIp" || c.RequestValues[0] != "198.51.100.7" {
		t.Fatalf("failed condition = %+v", c)
	}
	want := `statement "BitbucketRepo" did not apply: IpAddress on "aws:SourceIp" wants an address in ["34.199.54.113/32", `
	if !strings.Contains(r.Explain.String(), want) {
		t.Errorf("explanation:\n%s\nwant it to contain:\n%s", r.Explain, want)
	}
}

func TestExplanationText(t *testing.T) {
	p := mustParse(t, `{"Version": "2012-10-17", "Statement": [{"Sid": "RepoOnly", "Effect": "Allow", "Principal": {"Federated": "arn:aws:iam::123456789012:oidc-provider/api.example/oidc"}, "Action": "sts:AssumeRoleWithWebIdentity", "Condition": {"StringLike": {"api.example/oidc:sub": "{4d1}:*"}}}]}`, KindTrust)
	req := Request{Principal: "arn:aws:iam::123456789012:oidc-provider/api.example/oidc", Action: "sts:AssumeRoleWithWebIdentity", Context: NewContext().Set("api.example/oidc:sub", "{9c2}:{77a}")}
	want := `ImplicitlyDenied: no statement allows "sts:AssumeRoleWithWebIdentity" by "arn:aws:iam::123456789012:oidc-provider/api.example/oidc"
statement "RepoOnly" did not apply: StringLike on "api.example/oidc:sub" wants one of ["{4d1}:*"], the request has "{9c2}:{77a}"`
	for _, eval := range []func(Request, Input) Result{Evaluate, EvaluateFast} {
		if got := eval(req, Input{Resource: p}).Explain.String(); got != want {
			t.Errorf("got\n%s\nwant\n%s", got, want)
		}
	}
	// A principal mismatch and a missing key are explained too.
	req.Principal = "arn:aws:iam::123456789012:oidc-provider/other"
	req.Context = NewContext()
	got := Evaluate(req, Input{Resource: p}).Explain.String()
	for _, w := range []string{`principal "arn:aws:iam::123456789012:oidc-provider/other" is not in Principal {"Federated": ["arn:aws:iam::123456789012:oidc-provider/api.example/oidc"]}`, `the request has no value for it`} {
		if !strings.Contains(got, w) {
			t.Errorf("explanation\n%s\nlacks %q", got, w)
		}
	}
}

func TestContext(t *testing.T) {
	c := ContextFrom(map[string][]string{"AWS:SourceIp": {"1.2.3.4"}})
	if v, ok := c.Get("aws:sourceip"); !ok || v[0] != "1.2.3.4" {
		t.Fatal(v, ok)
	}
	c.Add("aws:SOURCEIP", "5.6.7.8").Delete("x:y")
	if v, _ := c.Get("aws:SourceIp"); len(v) != 2 {
		t.Fatal(v)
	}
	c.Delete("Aws:SourceIP")
	if _, ok := c.Get("aws:sourceip"); ok {
		t.Fatal("not deleted")
	}
}
