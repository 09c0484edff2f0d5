package authz_test

import (
	"strings"
	"testing"

	"github.com/keyless-dev/keyless/authn"
	"github.com/keyless-dev/keyless/authz"
	"github.com/keyless-dev/keyless/policy"
)

// The caller's account is account (the store's); the bucket shared and the role
// deploy belong to otherAccount.
const (
	otherAccount = "210987654321"
	sharedObject = "arn:aws:s3:::shared/app.zip"
	sharedBucket = "arn:aws:s3:::shared"
	deployRole   = "arn:aws:iam::" + otherAccount + ":role/deploy"
)

// sharedPolicy is a bucket policy of shared granting s3:* on the bucket and its
// objects to principal (a JSON Principal value), with Sid Shared.
func sharedPolicy(principal string) string {
	return `{"Version":"2012-10-17","Statement":[{"Sid":"Shared","Effect":"Allow","Principal":` + principal +
		`,"Action":"s3:*","Resource":["arn:aws:s3:::shared","arn:aws:s3:::shared/*"]}]}`
}

// TestCrossAccount: a request for a resource of another account (ResourceAccount)
// is allowed only when the caller's side (identity policies bounded by session
// policies and the permissions boundary) and the resource policy both allow it,
// whichever way the resource policy names the caller (account, root ARN, role
// ARN, session ARN, user ARN, organization); an explicit Deny on either side
// wins; the root user needs the resource policy; anonymous callers are decided
// as in one account; ResourceAccount empty or equal to the caller's account is
// the same-account logic.
func TestCrossAccount(t *testing.T) {
	e := newEnv(t)
	deployer := e.role(t, "deployer", "", inline(allowDeleteAll), nil)
	deploy := sessionOf(deployer, "deploy", "", nil)
	deploy2 := sessionOf(deployer, "deploy2", "", nil)
	bare := sessionOf(e.role(t, "bare", "", nil, nil), "bare", "", nil)
	guarded := sessionOf(e.role(t, "guarded", "", inline(allowAll, denyDeleteBkt), nil), "guarded", "", nil)
	bounded := sessionOf(e.role(t, "bounded", e.policy(t, "GetB", allowGetB), inline(allowAll), nil), "bounded", "", nil)
	scoped := sessionOf(e.role(t, "scoped", "", inline(allowAll), nil), "scoped", allowGetC, nil)
	pinned := sessionOf(e.role(t, "pinned", "", inline(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*","Condition":{"StringEquals":{"aws:ResourceAccount":"`+otherAccount+`"}}}]}`), nil), "pinned", "", nil)
	assumer := sessionOf(e.role(t, "assumer", "", inline(`{"Version":"2012-10-17","Statement":[{"Sid":"AssumeDeploy","Effect":"Allow","Action":"sts:AssumeRole","Resource":"`+deployRole+`"}]}`), nil), "assumer", "", nil)
	reader := e.user(t, "reader", inline(allowGetAll), nil)
	root := &authn.Principal{Kind: authn.Root, Account: account, ARN: "arn:aws:iam::" + account + ":root", UserID: account}

	toAccount := sharedPolicy(`{"AWS":"` + account + `"}`)
	toRoot := sharedPolicy(`{"AWS":"arn:aws:iam::` + account + `:root"}`)
	toRole := sharedPolicy(`{"AWS":"` + deployer.ARN + `"}`)
	toSession := sharedPolicy(`{"AWS":"` + deploy.ARN + `"}`)
	toUser := sharedPolicy(`{"AWS":"` + reader.ARN + `"}`)
	toOther := sharedPolicy(`{"AWS":"333333333333"}`)
	denyDelete := `{"Version":"2012-10-17","Statement":[{"Sid":"Shared","Effect":"Allow","Principal":{"AWS":"` + account + `"},"Action":"s3:*","Resource":"arn:aws:s3:::shared/*"},` +
		`{"Sid":"NoDelete","Effect":"Deny","Principal":"*","Action":"s3:DeleteObject","Resource":"arn:aws:s3:::shared/*"}]}`
	org := `{"Version":"2012-10-17","Statement":[{"Sid":"Org","Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::shared/*","Condition":{"StringEquals":{"aws:PrincipalOrgID":"o-abc"}}}]}`
	public := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::shared/*"}]}`
	orgID := func(id string) policy.Context { return policy.NewContext().Set("aws:PrincipalOrgID", id) }

	for _, c := range []struct {
		name     string
		caller   *authn.Principal
		action   string
		resource string
		bp       string
		account  string // Request.ResourceAccount
		ctx      policy.Context
		want     policy.Decision
		reason   policy.Reason // when set
		by       string        // the deciding policy (PolicyRef.String), when set
		message  string        // the end of DeniedMessage, when set
	}{
		{name: "identity Allow, same account (ResourceAccount empty)", caller: deploy, action: "s3:GetObject", resource: sharedObject,
			want: policy.Allowed},
		{name: "identity Allow, same account (ResourceAccount the caller's)", caller: deploy, action: "s3:GetObject", resource: sharedObject, account: account,
			want: policy.Allowed},
		{name: "identity Allow, other account, no bucket policy", caller: deploy, action: "s3:GetObject", resource: sharedObject, account: otherAccount,
			want: policy.ImplicitlyDenied, reason: policy.ReasonCrossAccountResource, message: "because no resource-based policy allows the s3:GetObject action"},
		{name: "identity Allow, other account, bucket policy names another account", caller: deploy, action: "s3:GetObject", resource: sharedObject, bp: toOther, account: otherAccount,
			want: policy.ImplicitlyDenied, reason: policy.ReasonCrossAccountResource, by: "resource", message: "because no resource-based policy allows the s3:GetObject action"},
		{name: "bucket Allow only, same account", caller: bare, action: "s3:PutObject", resource: sharedObject, bp: toAccount,
			want: policy.Allowed, by: "resource"},
		{name: "bucket Allow only, other account", caller: bare, action: "s3:PutObject", resource: sharedObject, bp: toAccount, account: otherAccount,
			want: policy.ImplicitlyDenied, reason: policy.ReasonCrossAccountIdentity, message: "because no identity-based policy allows the s3:PutObject action"},
		{name: "both: bucket names the account", caller: deploy, action: "s3:GetObject", resource: sharedObject, bp: toAccount, account: otherAccount,
			want: policy.Allowed, by: "identity[0]"},
		{name: "both: bucket names the root ARN", caller: deploy, action: "s3:DeleteObject", resource: sharedObject, bp: toRoot, account: otherAccount,
			want: policy.Allowed, by: "identity[0]"},
		{name: "both: bucket names the role ARN", caller: deploy, action: "s3:GetObject", resource: sharedObject, bp: toRole, account: otherAccount,
			want: policy.Allowed, by: "identity[0]"},
		{name: "both: bucket names the session ARN", caller: deploy, action: "s3:GetObject", resource: sharedObject, bp: toSession, account: otherAccount,
			want: policy.Allowed, by: "identity[0]"},
		{name: "bucket names another session of the role", caller: deploy2, action: "s3:GetObject", resource: sharedObject, bp: toSession, account: otherAccount,
			want: policy.ImplicitlyDenied, reason: policy.ReasonCrossAccountResource},
		{name: "bucket names another role", caller: reader, action: "s3:GetObject", resource: sharedObject, bp: toRole, account: otherAccount,
			want: policy.ImplicitlyDenied, reason: policy.ReasonCrossAccountResource},
		{name: "both: bucket names the user ARN", caller: reader, action: "s3:GetObject", resource: sharedObject, bp: toUser, account: otherAccount,
			want: policy.Allowed},
		{name: "user without a bucket policy", caller: reader, action: "s3:GetObject", resource: sharedObject, account: otherAccount,
			want: policy.ImplicitlyDenied, reason: policy.ReasonCrossAccountResource},
		{name: "bucket Deny wins over both Allows", caller: deploy, action: "s3:DeleteObject", resource: sharedObject, bp: denyDelete, account: otherAccount,
			want: policy.ExplicitlyDenied, by: "resource", message: "with an explicit deny in a resource-based policy"},
		{name: "identity Deny wins over both Allows", caller: guarded, action: "s3:DeleteBucket", resource: sharedBucket, bp: toAccount, account: otherAccount,
			want: policy.ExplicitlyDenied, by: "identity[1]", message: "with an explicit deny in an identity-based policy"},
		{name: "permissions boundary bounds the caller's side", caller: bounded, action: "s3:GetObject", resource: sharedObject, bp: toAccount, account: otherAccount,
			want: policy.ImplicitlyDenied, reason: policy.ReasonBoundary, by: "boundary", message: "because no permissions boundary allows the s3:GetObject action"},
		{name: "session policy bounds the caller's side", caller: scoped, action: "s3:GetObject", resource: sharedObject, bp: toAccount, account: otherAccount,
			want: policy.ImplicitlyDenied, reason: policy.ReasonSessionPolicy, by: "session[0]", message: "because no session policy allows the s3:GetObject action"},
		{name: "aws:PrincipalOrgID in the organization", caller: deploy, action: "s3:GetObject", resource: sharedObject, bp: org, account: otherAccount, ctx: orgID("o-abc"),
			want: policy.Allowed},
		{name: "aws:PrincipalOrgID of another organization", caller: deploy, action: "s3:GetObject", resource: sharedObject, bp: org, account: otherAccount, ctx: orgID("o-xyz"),
			want: policy.ImplicitlyDenied, reason: policy.ReasonCrossAccountResource},
		{name: "aws:PrincipalOrgID absent", caller: deploy, action: "s3:GetObject", resource: sharedObject, bp: org, account: otherAccount,
			want: policy.ImplicitlyDenied, reason: policy.ReasonCrossAccountResource},
		{name: "aws:ResourceAccount is the resource's account", caller: pinned, action: "s3:GetObject", resource: sharedObject, bp: toAccount, account: otherAccount,
			want: policy.Allowed, by: "identity[0]"},
		{name: "aws:ResourceAccount of a third account", caller: pinned, action: "s3:GetObject", resource: sharedObject, bp: toAccount, account: "333333333333",
			want: policy.ImplicitlyDenied, reason: policy.ReasonCrossAccountIdentity},
		{name: "root, same account, no bucket policy", caller: root, action: "s3:GetObject", resource: sharedObject,
			want: policy.Allowed},
		{name: "root, other account, no bucket policy", caller: root, action: "s3:GetObject", resource: sharedObject, account: otherAccount,
			want: policy.ImplicitlyDenied, reason: policy.ReasonCrossAccountResource},
		{name: "root, other account, bucket names the account", caller: root, action: "s3:GetObject", resource: sharedObject, bp: toAccount, account: otherAccount,
			want: policy.Allowed},
		{name: "root, other account, bucket names the root ARN", caller: root, action: "s3:PutObject", resource: sharedObject, bp: toRoot, account: otherAccount,
			want: policy.Allowed},
		{name: "root, other account, bucket names a role only", caller: root, action: "s3:GetObject", resource: sharedObject, bp: toRole, account: otherAccount,
			want: policy.ImplicitlyDenied, reason: policy.ReasonCrossAccountResource},
		{name: "root, other account, bucket Deny", caller: root, action: "s3:DeleteObject", resource: sharedObject, bp: denyDelete, account: otherAccount,
			want: policy.ExplicitlyDenied, by: "resource"},
		{name: "anonymous, public bucket of another account", action: "s3:GetObject", resource: sharedObject, bp: public, account: otherAccount,
			want: policy.Allowed, by: "resource"},
		{name: "anonymous, no bucket policy", action: "s3:GetObject", resource: sharedObject, account: otherAccount,
			want: policy.ImplicitlyDenied},
		{name: "role session assumes a role of another account", caller: assumer, action: "sts:AssumeRole", resource: deployRole, account: otherAccount,
			bp:   `{"Version":"2012-10-17","Statement":[{"Sid":"TrustAccount","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::` + account + `:root"},"Action":"sts:AssumeRole"}]}`,
			want: policy.Allowed, by: "identity[0]"},
	} {
		t.Run(c.name, func(t *testing.T) {
			req := authz.Request{Caller: c.caller, Action: c.action, Resource: c.resource, ResourcePolicy: c.bp, ResourceAccount: c.account, Context: c.ctx}
			if c.action == "sts:AssumeRole" {
				req.ResourcePolicyKind = policy.KindTrust
			}
			res, err := e.z.Authorize(e.ctx, req)
			if err != nil {
				t.Fatalf("Authorize: %v", err)
			}
			if res.Decision != c.want {
				t.Fatalf("%s on %s: %v (%s), want %v\n%s", c.action, c.resource, res.Decision, res.Explain.Reason, c.want, res.Explain)
			}
			if c.reason != "" && res.Explain.Reason != c.reason {
				t.Errorf("reason %s, want %s\n%s", res.Explain.Reason, c.reason, res.Explain)
			}
			if c.by != "" {
				if d := res.Explain.Deciding; d == nil || d.Policy.String() != c.by {
					t.Errorf("deciding statement %+v, want one of policy %s\n%s", d, c.by, res.Explain)
				}
			}
			if c.message != "" {
				if msg := authz.DeniedMessage(c.caller, c.action, c.resource, res); !strings.HasSuffix(msg, c.message) {
					t.Errorf("DeniedMessage = %q, want it to end with %q", msg, c.message)
				}
			}
		})
	}
}

// TestCrossAccountExplanation: a trust policy of another account that trusts the
// caller's account, and a caller whose identity policies do not allow
// sts:AssumeRole: the explanation names both sides and their accounts.
func TestCrossAccountExplanation(t *testing.T) {
	e := newEnv(t)
	caller := sessionOf(e.role(t, "ci", "", inline(allowGetAll), nil), "build", "", nil)
	trust := `{"Version":"2012-10-17","Statement":[{"Sid":"TrustAccount","Effect":"Allow","Principal":{"AWS":"` + account + `"},"Action":"sts:AssumeRole"}]}`
	res, err := e.z.Authorize(e.ctx, authz.Request{Caller: caller, Action: "sts:AssumeRole", Resource: deployRole,
		ResourcePolicy: trust, ResourcePolicyKind: policy.KindTrust, ResourceAccount: otherAccount})
	if err != nil {
		t.Fatal(err)
	}
	want := `ImplicitlyDenied: the trust policy in account ` + otherAccount + ` allows "sts:AssumeRole" on "` + deployRole + `" by "` + caller.ARN +
		`", but the caller's identity policies in account ` + account + ` do not allow "sts:AssumeRole"; across accounts both must allow it`
	if got := strings.SplitN(res.Explain.String(), "\n", 2)[0]; got != want {
		t.Errorf("explanation:\n%s\nwant:\n%s", got, want)
	}
	if o := res.Explain.OtherSide; o == nil || o.Sid != "TrustAccount" {
		t.Errorf("other side %+v, want the trust statement", o)
	}
	if stmt, _ := authz.Deciding(res); stmt != "identity[0] statement #0" {
		t.Errorf("Deciding = %q, want the caller's identity statement that came closest", stmt)
	}
}

// TestResourcePolicyKind: a trust policy is refused as a resource policy (it has
// no Resource), accepted as policy.KindTrust, and other kinds are errors.
func TestResourcePolicyKind(t *testing.T) {
	e := newEnv(t)
	caller := sessionOf(e.role(t, "ci", "", inline(allowAll), nil), "build", "", nil)
	trust := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"` + account + `"},"Action":"sts:AssumeRole"}]}`
	for _, c := range []struct {
		kind    policy.Kind
		wantErr bool
	}{{0, true}, {policy.KindResource, true}, {policy.KindTrust, false}, {policy.KindIdentity, true}} {
		res, err := e.z.Authorize(e.ctx, authz.Request{Caller: caller, Action: "sts:AssumeRole", Resource: deployRole,
			ResourcePolicy: trust, ResourcePolicyKind: c.kind, ResourceAccount: otherAccount})
		if (err != nil) != c.wantErr {
			t.Errorf("kind %v: error %v, want error %v", c.kind, err, c.wantErr)
		}
		if err == nil && res.Decision != policy.Allowed {
			t.Errorf("kind %v: %v\n%s", c.kind, res.Decision, res.Explain)
		}
	}
}
