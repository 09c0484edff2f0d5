package policy

import (
	"encoding/json"
	"strings"
	"testing"
)

// The accounts of the cross-account tests: the caller (a session of role ci) is in
// account A, the bucket shared-artifacts and the role deploy are in account B.
const (
	xaAccountA  = "111111111111"
	xaAccountB  = "222222222222"
	xaRole      = "arn:aws:iam::" + xaAccountA + ":role/ci"
	xaSession   = "arn:aws:sts::" + xaAccountA + ":assumed-role/ci/build-7"
	xaObject    = "arn:aws:s3:::shared-artifacts/app.zip"
	xaDeployARN = "arn:aws:iam::" + xaAccountB + ":role/deploy"
)

func xaBucket(tb testing.TB, effect, principal string) *Policy {
	tb.Helper()
	return mustParse(tb, `{"Version": "2012-10-17", "Statement": {"Sid": "Bucket", "Effect": "`+effect+`", "Principal": `+principal+`, "Action": "s3:GetObject", "Resource": "arn:aws:s3:::shared-artifacts/*"}}`, KindResource)
}

func xaIdentity(tb testing.TB, effect, action string) *Policy {
	tb.Helper()
	return mustParse(tb, `{"Version": "2012-10-17", "Statement": {"Sid": "Caller", "Effect": "`+effect+`", "Action": "`+action+`", "Resource": "*"}}`, KindIdentity)
}

// TestCrossAccountLogic runs AWS's documented evaluation logic on one request, a
// role session of account A reading an object of a bucket in account B, once
// with the same-account logic and once with the cross-account logic: in one
// account either side's Allow suffices; across accounts the caller's side
// (identity policies bounded by session policies and the permissions boundary)
// and the bucket policy must both allow; an explicit Deny on either side wins.
func TestCrossAccountLogic(t *testing.T) {
	allowGet := xaIdentity(t, "Allow", "s3:GetObject")
	allowAll := xaIdentity(t, "Allow", "*")
	denyGet := xaIdentity(t, "Deny", "s3:GetObject")
	toRole := xaBucket(t, "Allow", `{"AWS": "`+xaRole+`"}`)
	toAccount := xaBucket(t, "Allow", `{"AWS": "`+xaAccountA+`"}`)
	toRoot := xaBucket(t, "Allow", `{"AWS": "arn:aws:iam::`+xaAccountA+`:root"}`)
	toSession := xaBucket(t, "Allow", `{"AWS": "`+xaSession+`"}`)
	toOtherSession := xaBucket(t, "Allow", `{"AWS": "arn:aws:sts::`+xaAccountA+`:assumed-role/ci/someone-else"}`)
	toOtherAccount := xaBucket(t, "Allow", `{"AWS": "333333333333"}`)
	bucketDeny := xaBucket(t, "Deny", `{"AWS": "`+xaAccountA+`"}`)
	onlyList := mustParse(t, `{"Version": "2012-10-17", "Statement": {"Sid": "OnlyList", "Effect": "Allow", "Action": "s3:ListBucket", "Resource": "*"}}`, KindSession)
	getSession := mustParse(t, `{"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}}`, KindSession)
	onlyPut := mustParse(t, `{"Version": "2012-10-17", "Statement": {"Sid": "OnlyPut", "Effect": "Allow", "Action": "s3:PutObject", "Resource": "*"}}`, KindBoundary)
	getBoundary := mustParse(t, `{"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "s3:Get*", "Resource": "*"}}`, KindBoundary)

	ids := func(p ...*Policy) []*Policy { return p }
	tests := []struct {
		name        string
		in          Input
		same        Decision
		sameReason  Reason
		cross       Decision
		crossReason Reason
		// deciding and other are the policies (PolicyRef.String) of Deciding and
		// OtherSide in the cross-account explanation; "" for none.
		deciding, other string
	}{
		{"identity allow only", Input{Identity: ids(allowGet)},
			Allowed, ReasonAllowed, ImplicitlyDenied, ReasonCrossAccountResource, "", "identity[0]"},
		{"resource allow only", Input{Resource: toRole},
			Allowed, ReasonAllowed, ImplicitlyDenied, ReasonCrossAccountIdentity, "", "resource"},
		{"resource allow, identity allows something else", Input{Identity: ids(xaIdentity(t, "Allow", "s3:PutObject")), Resource: toRole},
			Allowed, ReasonAllowed, ImplicitlyDenied, ReasonCrossAccountIdentity, "identity[0]", "resource"},
		{"both allow", Input{Identity: ids(allowGet), Resource: toRole},
			Allowed, ReasonAllowed, Allowed, ReasonAllowed, "identity[0]", "resource"},
		{"neither allows", Input{Identity: ids(xaIdentity(t, "Allow", "s3:PutObject")), Resource: toOtherAccount},
			ImplicitlyDenied, ReasonNoAllow, ImplicitlyDenied, ReasonNoAllow, "identity[0]", ""},
		{"no policies", Input{},
			ImplicitlyDenied, ReasonNoPolicies, ImplicitlyDenied, ReasonNoPolicies, "", ""},
		{"identity Deny wins over both Allows", Input{Identity: ids(allowGet, denyGet), Resource: toRole},
			ExplicitlyDenied, ReasonExplicitDeny, ExplicitlyDenied, ReasonExplicitDeny, "identity[1]", ""},
		{"resource Deny wins over both Allows", Input{Identity: ids(allowAll), Resource: bucketDeny},
			ExplicitlyDenied, ReasonExplicitDeny, ExplicitlyDenied, ReasonExplicitDeny, "resource", ""},
		{"session policy bounds the caller's side", Input{Identity: ids(allowAll), Resource: toRole, Session: onlyList},
			ImplicitlyDenied, ReasonSessionPolicy, ImplicitlyDenied, ReasonSessionPolicy, "session[0]", ""},
		{"session policy allows", Input{Identity: ids(allowAll), Resource: toRole, Session: getSession},
			Allowed, ReasonAllowed, Allowed, ReasonAllowed, "identity[0]", "resource"},
		{"managed session policy bounds the caller's side", Input{Identity: ids(allowAll), Resource: toRole, SessionPolicies: ids(onlyList)},
			ImplicitlyDenied, ReasonSessionPolicy, ImplicitlyDenied, ReasonSessionPolicy, "session[1]", ""},
		{"permissions boundary bounds the caller's side", Input{Identity: ids(allowAll), Resource: toRole, Boundary: onlyPut},
			ImplicitlyDenied, ReasonBoundary, ImplicitlyDenied, ReasonBoundary, "boundary", ""},
		{"permissions boundary allows", Input{Identity: ids(allowAll), Resource: toRole, Boundary: getBoundary},
			Allowed, ReasonAllowed, Allowed, ReasonAllowed, "identity[0]", "resource"},
		{"boundary and session do not grant the caller's side", Input{Resource: toRole, Session: getSession, Boundary: getBoundary},
			Allowed, ReasonAllowed, ImplicitlyDenied, ReasonCrossAccountIdentity, "", "resource"},
		{"resource names the account: its identity policies decide", Input{Identity: ids(allowGet), Resource: toAccount},
			Allowed, ReasonAllowed, Allowed, ReasonAllowed, "identity[0]", "resource"},
		{"resource names the account, identity does not allow", Input{Identity: ids(xaIdentity(t, "Allow", "s3:PutObject")), Resource: toAccount},
			Allowed, ReasonAllowed, ImplicitlyDenied, ReasonCrossAccountIdentity, "identity[0]", "resource"},
		{"resource names the account root ARN", Input{Identity: ids(allowGet), Resource: toRoot},
			Allowed, ReasonAllowed, Allowed, ReasonAllowed, "identity[0]", "resource"},
		{"resource names the session ARN", Input{Identity: ids(allowGet), Resource: toSession},
			Allowed, ReasonAllowed, Allowed, ReasonAllowed, "identity[0]", "resource"},
		{"resource names the session ARN, identity does not allow", Input{Resource: toSession},
			Allowed, ReasonAllowed, ImplicitlyDenied, ReasonCrossAccountIdentity, "", "resource"},
		{"resource names another session", Input{Identity: ids(allowGet), Resource: toOtherSession},
			Allowed, ReasonAllowed, ImplicitlyDenied, ReasonCrossAccountResource, "resource", "identity[0]"},
		{"resource names another account", Input{Identity: ids(allowGet), Resource: toOtherAccount},
			Allowed, ReasonAllowed, ImplicitlyDenied, ReasonCrossAccountResource, "resource", "identity[0]"},
		{"resource names the role ARN, identity bounded by the boundary", Input{Identity: ids(allowAll), Resource: toRole, Boundary: onlyPut, Session: getSession},
			ImplicitlyDenied, ReasonBoundary, ImplicitlyDenied, ReasonBoundary, "boundary", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req := Request{Principal: xaSession, RoleARN: xaRole, Action: "s3:GetObject", Resource: xaObject, Context: NewContext()}
			for _, eval := range []struct {
				name string
				f    func(Request, Input) Result
			}{{"Evaluate", Evaluate}, {"EvaluateFast", EvaluateFast}} {
				in := tc.in
				in.CrossAccount = false
				r := eval.f(req, in)
				if r.Decision != tc.same || r.Explain.Reason != tc.sameReason || r.Explain.CrossAccount {
					t.Errorf("%s same account: %v (%s, cross %v), want %v (%s)\n%s", eval.name, r.Decision, r.Explain.Reason, r.Explain.CrossAccount, tc.same, tc.sameReason, r.Explain)
				}
				in.CrossAccount = true
				r = eval.f(req, in)
				if r.Decision != tc.cross || r.Explain.Reason != tc.crossReason || !r.Explain.CrossAccount {
					t.Errorf("%s cross account: %v (%s, cross %v), want %v (%s)\n%s", eval.name, r.Decision, r.Explain.Reason, r.Explain.CrossAccount, tc.cross, tc.crossReason, r.Explain)
				}
				if got := refOf(r.Explain.Deciding); got != tc.deciding {
					t.Errorf("%s cross account: deciding statement of %q, want %q\n%s", eval.name, got, tc.deciding, r.Explain)
				}
				if got := refOf(r.Explain.OtherSide); got != tc.other {
					t.Errorf("%s cross account: other side %q, want %q\n%s", eval.name, got, tc.other, r.Explain)
				}
			}
		})
	}
}

func refOf(t *StatementTrace) string {
	if t == nil {
		return ""
	}
	return t.Policy.String()
}

// TestCrossAccountPrincipalOrgID: aws:PrincipalOrgID is only a condition key to the
// engine: a bucket policy granting Principal "*" within organization o-abc allows
// a caller whose context has o-abc, and no caller without it, in one account or
// across accounts.
func TestCrossAccountPrincipalOrgID(t *testing.T) {
	bucket := mustParse(t, `{"Version": "2012-10-17", "Statement": {"Sid": "OrgRead", "Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::shared-artifacts/*", "Condition": {"StringEquals": {"aws:PrincipalOrgID": "o-abc"}}}}`, KindResource)
	allowGet := xaIdentity(t, "Allow", "s3:GetObject")
	for _, tc := range []struct {
		name  string
		ctx   Context
		cross bool
		in    Input
		want  Decision
	}{
		{"same account, in the organization", kv("aws:PrincipalOrgID", "o-abc"), false, Input{Resource: bucket}, Allowed},
		{"same account, other organization", kv("aws:PrincipalOrgID", "o-xyz"), false, Input{Resource: bucket}, ImplicitlyDenied},
		{"same account, no organization", NewContext(), false, Input{Resource: bucket}, ImplicitlyDenied},
		{"cross account, in the organization", kv("aws:PrincipalOrgID", "o-abc"), true, Input{Identity: []*Policy{allowGet}, Resource: bucket}, Allowed},
		{"cross account, in the organization, no identity Allow", kv("aws:PrincipalOrgID", "o-abc"), true, Input{Resource: bucket}, ImplicitlyDenied},
		{"cross account, other organization", kv("aws:PrincipalOrgID", "o-xyz"), true, Input{Identity: []*Policy{allowGet}, Resource: bucket}, ImplicitlyDenied},
		{"cross account, no organization", NewContext(), true, Input{Identity: []*Policy{allowGet}, Resource: bucket}, ImplicitlyDenied},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.in.CrossAccount = tc.cross
			req := Request{Principal: xaSession, RoleARN: xaRole, Action: "s3:GetObject", Resource: xaObject, Context: tc.ctx}
			for _, eval := range []func(Request, Input) Result{Evaluate, EvaluateFast} {
				r := eval(req, tc.in)
				if r.Decision != tc.want {
					t.Fatalf("%v, want %v\n%s", r.Decision, tc.want, r.Explain)
				}
				if tc.want == ImplicitlyDenied && len(tc.ctx) > 0 && tc.in.Identity != nil {
					if c := r.Explain.Deciding.FailedCondition(); c == nil || c.Key != "aws:PrincipalOrgID" {
						t.Errorf("failed condition %+v, want aws:PrincipalOrgID\n%s", c, r.Explain)
					}
				}
			}
		})
	}
}

// TestRoleARNMatchesSession: with Request.RoleARN set, a Principal naming the role
// matches its session as in AWS; NotPrincipal excludes the session only when it
// lists both the session and the role (or their account). Without RoleARN only
// the session ARN itself matches, as before.
func TestRoleARNMatchesSession(t *testing.T) {
	allowAll := xaIdentity(t, "Allow", "*")
	for _, tc := range []struct {
		name    string
		stmt    string
		roleARN string
		in      func(*Policy) Input
		want    Decision
	}{
		{"Principal role ARN matches the session", `"Effect": "Allow", "Principal": {"AWS": "` + xaRole + `"}`, xaRole, func(p *Policy) Input { return Input{Resource: p} }, Allowed},
		{"Principal role ARN without RoleARN", `"Effect": "Allow", "Principal": {"AWS": "` + xaRole + `"}`, "", func(p *Policy) Input { return Input{Resource: p} }, ImplicitlyDenied},
		{"Principal other role", `"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::` + xaAccountA + `:role/other"}`, xaRole, func(p *Policy) Input { return Input{Resource: p} }, ImplicitlyDenied},
		{"NotPrincipal session only: the session is still denied", `"Effect": "Deny", "NotPrincipal": {"AWS": "` + xaSession + `"}`, xaRole, func(p *Policy) Input { return Input{Identity: []*Policy{allowAll}, Resource: p} }, ExplicitlyDenied},
		{"NotPrincipal session only, without RoleARN", `"Effect": "Deny", "NotPrincipal": {"AWS": "` + xaSession + `"}`, "", func(p *Policy) Input { return Input{Identity: []*Policy{allowAll}, Resource: p} }, Allowed},
		{"NotPrincipal session and role", `"Effect": "Deny", "NotPrincipal": {"AWS": ["` + xaSession + `", "` + xaRole + `"]}`, xaRole, func(p *Policy) Input { return Input{Identity: []*Policy{allowAll}, Resource: p} }, Allowed},
		{"NotPrincipal account", `"Effect": "Deny", "NotPrincipal": {"AWS": "arn:aws:iam::` + xaAccountA + `:root"}`, xaRole, func(p *Policy) Input { return Input{Identity: []*Policy{allowAll}, Resource: p} }, Allowed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := mustParse(t, `{"Version": "2012-10-17", "Statement": {`+tc.stmt+`, "Action": "s3:GetObject", "Resource": "arn:aws:s3:::shared-artifacts/*"}}`, KindResource)
			req := Request{Principal: xaSession, RoleARN: tc.roleARN, Action: "s3:GetObject", Resource: xaObject}
			for _, eval := range []func(Request, Input) Result{Evaluate, EvaluateFast} {
				if r := eval(req, tc.in(p)); r.Decision != tc.want {
					t.Errorf("%v, want %v\n%s", r.Decision, tc.want, r.Explain)
				}
			}
		})
	}
}

// TestCrossAccountExplanation: the explanation names the side that did not allow,
// with the accounts when the ARNs carry them, in both evaluation modes, and its
// JSON form marks the evaluation as cross-account.
func TestCrossAccountExplanation(t *testing.T) {
	trustA := mustParse(t, `{"Version": "2012-10-17", "Statement": {"Sid": "TrustCI", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::`+xaAccountA+`:root"}, "Action": "sts:AssumeRole"}}`, KindTrust)
	assume := mustParse(t, `{"Version": "2012-10-17", "Statement": {"Sid": "AssumeDeploy", "Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "`+xaDeployARN+`"}}`, KindIdentity)
	other := mustParse(t, `{"Version": "2012-10-17", "Statement": {"Sid": "ReadOnly", "Effect": "Allow", "Action": "s3:Get*", "Resource": "*"}}`, KindIdentity)
	otherTrust := mustParse(t, `{"Version": "2012-10-17", "Statement": {"Sid": "TrustOps", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::333333333333:root"}, "Action": "sts:AssumeRole"}}`, KindTrust)
	req := Request{Principal: xaSession, RoleARN: xaRole, Action: "sts:AssumeRole", Resource: xaDeployARN, Context: NewContext()}
	tests := []struct {
		name string
		in   Input
		want []string // lines or parts of lines of the explanation, in order
	}{
		{"trust allows, identity does not", Input{Identity: []*Policy{other}, Resource: trustA}, []string{
			`ImplicitlyDenied: the trust policy in account 222222222222 allows "sts:AssumeRole" on "` + xaDeployARN + `" by "` + xaSession + `", but the caller's identity policies in account 111111111111 do not allow "sts:AssumeRole"; across accounts both must allow it`,
			`statement "ReadOnly" of identity policy #0 did not apply: action "sts:AssumeRole" is not in Action ["s3:Get*"]`,
		}},
		{"identity allows, trust does not", Input{Identity: []*Policy{assume}, Resource: otherTrust}, []string{
			`ImplicitlyDenied: the caller's identity policies in account 111111111111 allow "sts:AssumeRole" on "` + xaDeployARN + `" by "` + xaSession + `", but the trust policy in account 222222222222 does not allow the caller; across accounts both must allow it`,
			`statement "TrustOps" of the trust policy did not apply: principal "` + xaSession + `" is not in Principal {"AWS": ["arn:aws:iam::333333333333:root"]}`,
		}},
		{"identity allows, no trust policy", Input{Identity: []*Policy{assume}}, []string{
			`ImplicitlyDenied: the caller's identity policies in account 111111111111 allow "sts:AssumeRole" on "` + xaDeployARN + `" by "` + xaSession + `", but there is no resource policy; across accounts a resource policy must allow the caller too`,
		}},
		{"neither", Input{Identity: []*Policy{other}, Resource: otherTrust}, []string{
			`ImplicitlyDenied: no statement allows "sts:AssumeRole" on "` + xaDeployARN + `" by "` + xaSession + `"; across accounts both the caller's identity policies in account 111111111111 and the trust policy in account 222222222222 must allow it`,
		}},
		{"permissions boundary bounds the caller's side", Input{Identity: []*Policy{assume}, Resource: trustA, Boundary: mustParse(t, `{"Version": "2012-10-17", "Statement": {"Sid": "OnlyS3", "Effect": "Allow", "Action": "s3:*", "Resource": "*"}}`, KindBoundary)}, []string{
			`ImplicitlyDenied: the caller's identity policies in account 111111111111 allow "sts:AssumeRole" on "` + xaDeployARN + `" by "` + xaSession + `", but the caller's permissions boundary does not`,
			`statement "OnlyS3" of the permissions boundary did not apply: action "sts:AssumeRole" is not in Action ["s3:*"]`,
		}},
		{"session policy bounds the caller's side", Input{Identity: []*Policy{assume}, Resource: trustA, Session: mustParse(t, `{"Version": "2012-10-17", "Statement": {"Sid": "OnlyS3", "Effect": "Allow", "Action": "s3:*", "Resource": "*"}}`, KindSession)}, []string{
			`ImplicitlyDenied: the caller's identity policies in account 111111111111 allow "sts:AssumeRole" on "` + xaDeployARN + `" by "` + xaSession + `", but no session policy statement of the caller does`,
			`statement "OnlyS3" of the session policy did not apply: action "sts:AssumeRole" is not in Action ["s3:*"]`,
		}},
		{"explicit deny in the trust policy", Input{Identity: []*Policy{assume}, Resource: mustParse(t, `{"Version": "2012-10-17", "Statement": {"Sid": "NoCI", "Effect": "Deny", "Principal": {"AWS": "`+xaRole+`"}, "Action": "sts:AssumeRole"}}`, KindTrust)}, []string{
			`ExplicitlyDenied: statement "NoCI" of the trust policy denies "sts:AssumeRole" on "` + xaDeployARN + `" by "` + xaSession + `"`,
			`statement "NoCI" of the trust policy applied: it has no conditions`,
		}},
		{"both", Input{Identity: []*Policy{assume}, Resource: trustA}, []string{
			`Allowed: statement "AssumeDeploy" of identity policy #0 allows "sts:AssumeRole" on "` + xaDeployARN + `" by "` + xaSession + `", and statement "TrustCI" of the trust policy allows the caller`,
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.in.CrossAccount = true
			full := Evaluate(req, tc.in).Explain.String()
			fast := EvaluateFast(req, tc.in).Explain.String()
			for mode, got := range map[string]string{"Evaluate": full, "EvaluateFast": fast} {
				lines := strings.Split(got, "\n")
				if lines[0] != tc.want[0] {
					t.Errorf("%s first line:\n%s\nwant:\n%s", mode, lines[0], tc.want[0])
				}
				for _, w := range tc.want[1:] {
					if !strings.Contains(got, w) {
						t.Errorf("%s explanation:\n%s\nlacks:\n%s", mode, got, w)
					}
				}
			}
		})
	}

	r := Evaluate(req, Input{Identity: []*Policy{assume}, CrossAccount: true})
	b, err := json.Marshal(r.Explain)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		CrossAccount     bool            `json:"crossAccount"`
		NoResourcePolicy bool            `json:"noResourcePolicy"`
		Reason           Reason          `json:"reason"`
		OtherSide        *StatementTrace `json:"otherSide"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	if !doc.CrossAccount || !doc.NoResourcePolicy || doc.Reason != ReasonCrossAccountResource || doc.OtherSide == nil || doc.OtherSide.Sid != "AssumeDeploy" {
		t.Errorf("JSON explanation %s", b)
	}
	// The same request in one account: the identity policy suffices, and the JSON
	// carries no cross-account fields.
	r = Evaluate(req, Input{Identity: []*Policy{assume}})
	b, _ = json.Marshal(r.Explain)
	if r.Decision != Allowed || strings.Contains(string(b), "crossAccount") || strings.Contains(string(b), "otherSide") {
		t.Errorf("same-account %v: %s", r.Decision, b)
	}
}

// FuzzCrossAccount checks the cross-account logic against the same-account logic
// on arbitrary requests: both modes of evaluation agree; an explicit deny is the
// same in both logics; a cross-account Allow implies a same-account Allow, an
// Allow of the caller's side alone and an Allow of the resource policy alone.
func FuzzCrossAccount(f *testing.F) {
	f.Add(xaSession, xaRole, "s3:GetObject", xaObject, "o-abc")
	f.Add(xaSession, "", "s3:DeleteObject", xaObject, "")
	f.Add("arn:aws:iam::"+xaAccountA+":user/u", "", "sts:AssumeRole", xaDeployARN, "o-xyz")
	f.Add("arn:aws:iam::333333333333:root", "", "s3:ListBucket", "arn:aws:s3:::shared-artifacts", "o-abc")
	f.Fuzz(func(t *testing.T, principal, roleARN, action, resource, org string) {
		bucket := mustParse(t, `{"Version": "2012-10-17", "Statement": [
			{"Effect": "Allow", "Principal": {"AWS": ["`+xaAccountA+`", "`+xaSession+`"]}, "Action": ["s3:Get*", "s3:List*"], "Resource": ["arn:aws:s3:::shared-artifacts", "arn:aws:s3:::shared-artifacts/*"]},
			{"Effect": "Allow", "Principal": {"AWS": "`+xaRole+`"}, "Action": "s3:*", "Resource": "arn:aws:s3:::shared-artifacts/*"},
			{"Effect": "Allow", "Principal": "*", "Action": "s3:PutObject", "Resource": "*", "Condition": {"StringEquals": {"aws:PrincipalOrgID": "o-abc"}}},
			{"Effect": "Deny", "NotPrincipal": {"AWS": ["`+xaSession+`", "`+xaRole+`"]}, "Action": "s3:DeleteObject", "Resource": "*"}]}`, KindResource)
		trust := mustParse(t, `{"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Principal": {"AWS": "`+xaAccountA+`"}, "Action": "sts:AssumeRole"}}`, KindTrust)
		id := mustParse(t, `{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": ["s3:*", "sts:AssumeRole"], "Resource": "*"}, {"Effect": "Deny", "Action": "s3:PutBucketPolicy", "Resource": "*"}]}`, KindIdentity)
		narrow := mustParse(t, `{"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": ["s3:GetObject", "sts:*"], "Resource": "*"}}`, KindBoundary)
		req := Request{Principal: principal, RoleARN: roleARN, Action: action, Resource: resource, Context: kv("aws:PrincipalOrgID", org)}
		inputs := []Input{
			{Identity: []*Policy{id}, Resource: bucket},
			{Identity: []*Policy{id}, Resource: trust},
			{Identity: []*Policy{id}},
			{Resource: bucket},
			{Identity: []*Policy{id}, Resource: bucket, Boundary: narrow},
			{Identity: []*Policy{id}, Resource: bucket, Session: narrow, SessionPolicies: []*Policy{id}},
		}
		for i, in := range inputs {
			same := Evaluate(req, in)
			in.CrossAccount = true
			cross := Evaluate(req, in)
			if fast := EvaluateFast(req, in); fast.Decision != cross.Decision || fast.Explain.Reason != cross.Explain.Reason {
				t.Fatalf("input %d: EvaluateFast %v (%s) != Evaluate %v (%s)", i, fast.Decision, fast.Explain.Reason, cross.Decision, cross.Explain.Reason)
			}
			if (same.Decision == ExplicitlyDenied) != (cross.Decision == ExplicitlyDenied) {
				t.Fatalf("input %d: explicit deny differs: same account %v, cross account %v", i, same.Decision, cross.Decision)
			}
			if cross.Decision != Allowed {
				continue
			}
			callerSide := Evaluate(req, Input{Identity: in.Identity, Session: in.Session, SessionPolicies: in.SessionPolicies, Boundary: in.Boundary})
			resourceSide := Evaluate(req, Input{Resource: in.Resource})
			if same.Decision != Allowed || callerSide.Decision != Allowed || resourceSide.Decision != Allowed {
				t.Fatalf("input %d: allowed across accounts, but same account %v, caller's side %v, resource side %v\n%s", i, same.Decision, callerSide.Decision, resourceSide.Decision, cross.Explain)
			}
		}
	})
}
