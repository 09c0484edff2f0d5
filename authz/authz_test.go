package authz_test

import (
	"context"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/keyless-dev/keyless/authn"
	"github.com/keyless-dev/keyless/authz"
	"github.com/keyless-dev/keyless/policy"
	"github.com/keyless-dev/keyless/session"
	"github.com/keyless-dev/keyless/store"
	"github.com/keyless-dev/keyless/store/sqlite"
)

const account = "123456789012"

func arnPolicy(name string) string { return "arn:aws:iam::" + account + ":policy/" + name }

// Policy documents used below.
const (
	allowAll        = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}`
	allowGetAll     = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}`
	allowGetB       = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"}]}`
	allowGetC       = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::c/*"}]}`
	allowDeleteAll  = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:DeleteObject","s3:GetObject"],"Resource":"*"}]}`
	denyDeleteBkt   = `{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"s3:DeleteBucket","Resource":"*"}]}`
	allowHome       = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::home/${aws:username}/*"}]}`
	allowFromNet    = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"ec2:DescribeInstances","Resource":"*","Condition":{"IpAddress":{"aws:SourceIp":"203.0.113.0/24"}}}]}`
	allowTeamBlue   = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sqs:SendMessage","Resource":"*","Condition":{"StringEquals":{"aws:PrincipalTag/team":"blue"}}}]}`
	allowProdTag    = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"ec2:RunInstances","Resource":"*","Condition":{"StringEquals":{"aws:RequestTag/env":"prod"}}}]}`
	denyInsecure    = `{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"*","Resource":"*","Condition":{"Bool":{"aws:SecureTransport":"false"}}}]}`
	allowBefore2031 = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sns:Publish","Resource":"*","Condition":{"DateLessThan":{"aws:CurrentTime":"2031-01-01T00:00:00Z"}}}]}`
	allowGlobalKeys = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"kms:Decrypt","Resource":"*","Condition":{
		"StringEquals":{"aws:PrincipalAccount":"` + account + `","aws:PrincipalType":"%TYPE%"},
		"StringLike":{"aws:userid":"%USERID%","aws:PrincipalArn":"%ARN%"}}}]}`
)

type env struct {
	ctx context.Context
	st  store.Store
	z   *authz.Authorizer
}

func newEnv(t *testing.T) *env {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, t.TempDir()+"/k.db")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return &env{ctx: ctx, st: st, z: authz.New(st)}
}

func (e *env) policy(t *testing.T, name, doc string) string {
	t.Helper()
	arn := arnPolicy(name)
	if err := e.st.CreatePolicy(e.ctx, store.ManagedPolicy{ID: "ANPA" + name, Name: name, Path: "/", ARN: arn, Document: doc, VersionID: "v1"}); err != nil {
		t.Fatal(err)
	}
	return arn
}

// user stores a user and returns the principal authn would give its key.
func (e *env) user(t *testing.T, name string, inline map[string]string, attached []string, tags ...store.Tag) *authn.Principal {
	t.Helper()
	u := store.User{
		ID: "AIDA" + name, Name: name, Path: "/", ARN: "arn:aws:iam::" + account + ":user/" + name,
		Tags: tags, InlinePolicies: inline, AttachedPolicies: attached,
	}
	if err := e.st.CreateUser(e.ctx, u); err != nil {
		t.Fatal(err)
	}
	return &authn.Principal{Kind: authn.User, Account: account, ARN: u.ARN, UserID: u.ID, AccessKeyID: "AKIA" + name, User: &u}
}

func (e *env) role(t *testing.T, name, boundary string, inline map[string]string, attached []string) store.Role {
	t.Helper()
	r := store.Role{
		ID: "AROA" + name, Name: name, Path: "/", ARN: "arn:aws:iam::" + account + ":role/" + name,
		AssumeRolePolicyDocument: `{"Version":"2012-10-17","Statement":[]}`,
		MaxSessionDuration:       3600, PermissionsBoundary: boundary,
		InlinePolicies: inline, AttachedPolicies: attached,
	}
	if err := e.st.CreateRole(e.ctx, r); err != nil {
		t.Fatal(err)
	}
	return r
}

// session returns the principal of a session of r, as authn opens it.
func sessionOf(r store.Role, name, sessionPolicy string, arns []string, tags ...session.Tag) *authn.Principal {
	c := &session.Claims{
		AccessKeyID: "ASIA" + name, SecretAccessKey: "x", Account: account,
		RoleARN: r.ARN, RoleID: r.ID, RoleName: r.Name, SessionName: name,
		SessionPolicy: sessionPolicy, PolicyARNs: arns, Tags: tags,
	}
	return &authn.Principal{Kind: authn.AssumedRole, Account: account, ARN: c.AssumedRoleARN(), UserID: c.AssumedRoleID(), AccessKeyID: c.AccessKeyID, Session: c}
}

func inline(docs ...string) map[string]string {
	m := map[string]string{}
	for i, d := range docs {
		m[string(rune('a'+i))] = d
	}
	return m
}

type check struct {
	name     string
	caller   *authn.Principal
	action   string
	resource string
	ip       string
	secure   bool
	time     time.Time
	ctx      policy.Context
	want     policy.Decision
}

func (e *env) run(t *testing.T, checks []check) {
	t.Helper()
	for _, c := range checks {
		t.Run(c.name, func(t *testing.T) {
			req := authz.Request{Caller: c.caller, Action: c.action, Resource: c.resource, Secure: c.secure, Time: c.time, Context: c.ctx}
			if c.ip != "" {
				req.SourceIP = netip.MustParseAddr(c.ip)
			}
			res, err := e.z.Authorize(e.ctx, req)
			if err != nil {
				t.Fatalf("Authorize: %v", err)
			}
			if res.Decision != c.want {
				t.Fatalf("%s on %s: decision %v, want %v", c.action, c.resource, res.Decision, c.want)
			}
		})
	}
}

func replace(s string, kv ...string) string { return strings.NewReplacer(kv...).Replace(s) }

func TestUsers(t *testing.T) {
	e := newEnv(t)
	attachedGet := e.policy(t, "GetB", allowGetB)
	attachedDeny := e.policy(t, "DenyDeleteBucket", denyDeleteBkt)

	nobody := e.user(t, "nobody", nil, nil)
	inl := e.user(t, "inl", inline(allowGetAll), nil)
	att := e.user(t, "att", nil, []string{attachedGet})
	denied := e.user(t, "denied", inline(allowAll), []string{attachedDeny})
	missing := e.user(t, "missing", nil, []string{arnPolicy("NoSuchPolicy")})
	alice := e.user(t, "alice", inline(allowHome), nil)
	ipUser := e.user(t, "ip", inline(allowFromNet), nil)
	blue := e.user(t, "blue", inline(allowTeamBlue), nil, store.Tag{Key: "team", Value: "blue"})
	red := e.user(t, "red", inline(allowTeamBlue), nil, store.Tag{Key: "team", Value: "red"})
	tagger := e.user(t, "tagger", inline(allowProdTag), nil)
	secure := e.user(t, "secure", inline(allowAll, denyInsecure), nil)
	timed := e.user(t, "timed", inline(allowBefore2031), nil)
	global := e.user(t, "global", inline(replace(allowGlobalKeys, "%TYPE%", "User", "%USERID%", "AIDAglobal", "%ARN%", "arn:aws:iam::"+account+":user/global")), nil)
	gone := e.user(t, "gone", inline(allowAll), nil)
	if err := e.st.DeleteUser(e.ctx, "gone"); err != nil {
		t.Fatal(err)
	}

	in2030 := time.Date(2030, 6, 1, 0, 0, 0, 0, time.UTC)
	in2032 := time.Date(2032, 6, 1, 0, 0, 0, 0, time.UTC)
	e.run(t, []check{
		{name: "no policies", caller: nobody, action: "s3:GetObject", resource: "arn:aws:s3:::b/x", want: policy.ImplicitlyDenied},
		{name: "inline allow", caller: inl, action: "s3:GetObject", resource: "arn:aws:s3:::b/x", want: policy.Allowed},
		{name: "inline allow, other action", caller: inl, action: "s3:PutObject", resource: "arn:aws:s3:::b/x", want: policy.ImplicitlyDenied},
		{name: "action is case-insensitive", caller: inl, action: "S3:getobject", resource: "arn:aws:s3:::b/x", want: policy.Allowed},
		{name: "attached managed policy", caller: att, action: "s3:GetObject", resource: "arn:aws:s3:::b/x", want: policy.Allowed},
		{name: "attached managed policy, other resource", caller: att, action: "s3:GetObject", resource: "arn:aws:s3:::c/x", want: policy.ImplicitlyDenied},
		{name: "explicit deny wins over allow *", caller: denied, action: "s3:DeleteBucket", resource: "arn:aws:s3:::b", want: policy.ExplicitlyDenied},
		{name: "allow * where no deny applies", caller: denied, action: "s3:CreateBucket", resource: "arn:aws:s3:::b", want: policy.Allowed},
		{name: "missing attached policy grants nothing", caller: missing, action: "s3:GetObject", resource: "arn:aws:s3:::b/x", want: policy.ImplicitlyDenied},
		{name: "${aws:username} resolves", caller: alice, action: "s3:GetObject", resource: "arn:aws:s3:::home/alice/notes", want: policy.Allowed},
		{name: "${aws:username} is not another user", caller: alice, action: "s3:GetObject", resource: "arn:aws:s3:::home/bob/notes", want: policy.ImplicitlyDenied},
		{name: "aws:SourceIp in range", caller: ipUser, action: "ec2:DescribeInstances", resource: "*", ip: "203.0.113.5", want: policy.Allowed},
		{name: "aws:SourceIp out of range", caller: ipUser, action: "ec2:DescribeInstances", resource: "*", ip: "198.51.100.7", want: policy.ImplicitlyDenied},
		{name: "aws:SourceIp absent", caller: ipUser, action: "ec2:DescribeInstances", resource: "*", want: policy.ImplicitlyDenied},
		{name: "aws:PrincipalTag matches", caller: blue, action: "sqs:SendMessage", resource: "*", want: policy.Allowed},
		{name: "aws:PrincipalTag differs", caller: red, action: "sqs:SendMessage", resource: "*", want: policy.ImplicitlyDenied},
		{name: "request context key", caller: tagger, action: "ec2:RunInstances", resource: "*", ctx: policy.NewContext().Set("aws:RequestTag/env", "prod"), want: policy.Allowed},
		{name: "request context key differs", caller: tagger, action: "ec2:RunInstances", resource: "*", ctx: policy.NewContext().Set("aws:RequestTag/env", "dev"), want: policy.ImplicitlyDenied},
		{name: "request context key absent", caller: tagger, action: "ec2:RunInstances", resource: "*", want: policy.ImplicitlyDenied},
		{name: "aws:SecureTransport true", caller: secure, action: "s3:GetObject", resource: "*", secure: true, want: policy.Allowed},
		{name: "aws:SecureTransport false", caller: secure, action: "s3:GetObject", resource: "*", secure: false, want: policy.ExplicitlyDenied},
		{name: "aws:CurrentTime before", caller: timed, action: "sns:Publish", resource: "*", time: in2030, want: policy.Allowed},
		{name: "aws:CurrentTime after", caller: timed, action: "sns:Publish", resource: "*", time: in2032, want: policy.ImplicitlyDenied},
		{name: "principal global keys", caller: global, action: "kms:Decrypt", resource: "*", want: policy.Allowed},
		{name: "deleted user", caller: gone, action: "s3:GetObject", resource: "*", want: policy.ImplicitlyDenied},
	})
}

func TestUserPoliciesAreReadAtCallTime(t *testing.T) {
	e := newEnv(t)
	p := e.user(t, "u", inline(allowGetAll), nil)
	req := authz.Request{Caller: p, Action: "s3:GetObject", Resource: "arn:aws:s3:::b/x"}
	if res, err := e.z.Authorize(e.ctx, req); err != nil || res.Decision != policy.Allowed {
		t.Fatalf("before: %v %v", res.Decision, err)
	}
	// The principal still carries the old policies; the store's copy counts.
	if err := e.st.UpdateUser(e.ctx, "u", func(u store.User) (store.User, error) { u.InlinePolicies = nil; return u, nil }); err != nil {
		t.Fatal(err)
	}
	if res, err := e.z.Authorize(e.ctx, req); err != nil || res.Decision != policy.ImplicitlyDenied {
		t.Fatalf("after removing the inline policy: %v %v", res.Decision, err)
	}
}

func TestRoleSessions(t *testing.T) {
	e := newEnv(t)
	getB := e.policy(t, "GetB", allowGetB)
	getC := e.policy(t, "GetC", allowGetC)
	boundaryB := e.policy(t, "BoundaryB", allowGetB)
	roleAttached := e.policy(t, "RoleGetAll", allowGetAll)

	// The role allows s3:GetObject on everything, and nothing else.
	r := e.role(t, "reader", "", inline(allowGetAll), nil)
	ra := e.role(t, "attached", "", nil, []string{roleAttached})
	rb := e.role(t, "bounded", boundaryB, inline(allowDeleteAll), nil)
	rt := e.role(t, "tagged", "", inline(allowTeamBlue), nil)
	rg := e.role(t, "global", "", inline(replace(allowGlobalKeys, "%TYPE%", "AssumedRole", "%USERID%", "AROAglobal:s1", "%ARN%", "arn:aws:iam::"+account+":role/global")), nil)
	rd := e.role(t, "denier", "", inline(allowAll, denyDeleteBkt), nil)

	plain := sessionOf(r, "plain", "", nil)
	inlineB := sessionOf(r, "inlineB", allowGetB, nil)
	widen := sessionOf(r, "widen", allowDeleteAll, nil)
	managedB := sessionOf(r, "managedB", "", []string{getB})
	both := sessionOf(r, "both", allowGetB, []string{getC})
	viaAttached := sessionOf(ra, "att", "", nil)
	bounded := sessionOf(rb, "bounded", "", nil)
	blue := sessionOf(rt, "blue", "", nil, session.Tag{Key: "team", Value: "blue"})
	red := sessionOf(rt, "red", "", nil, session.Tag{Key: "team", Value: "red"})
	global := sessionOf(rg, "s1", "", nil)
	sessionAll := sessionOf(rd, "all", allowAll, nil)

	e.run(t, []check{
		{name: "role policy, no session policy", caller: plain, action: "s3:GetObject", resource: "arn:aws:s3:::c/x", want: policy.Allowed},
		{name: "role attached policy", caller: viaAttached, action: "s3:GetObject", resource: "arn:aws:s3:::c/x", want: policy.Allowed},
		{name: "role denies what it does not allow", caller: plain, action: "s3:PutObject", resource: "arn:aws:s3:::c/x", want: policy.ImplicitlyDenied},
		{name: "session policy allows b", caller: inlineB, action: "s3:GetObject", resource: "arn:aws:s3:::b/x", want: policy.Allowed},
		{name: "session policy excludes c", caller: inlineB, action: "s3:GetObject", resource: "arn:aws:s3:::c/x", want: policy.ImplicitlyDenied},
		{name: "session policy cannot widen", caller: widen, action: "s3:DeleteObject", resource: "arn:aws:s3:::b/x", want: policy.ImplicitlyDenied},
		{name: "session policy within role", caller: widen, action: "s3:GetObject", resource: "arn:aws:s3:::b/x", want: policy.Allowed},
		{name: "managed session policy allows b", caller: managedB, action: "s3:GetObject", resource: "arn:aws:s3:::b/x", want: policy.Allowed},
		{name: "managed session policy excludes c", caller: managedB, action: "s3:GetObject", resource: "arn:aws:s3:::c/x", want: policy.ImplicitlyDenied},
		{name: "inline and managed session policies: b", caller: both, action: "s3:GetObject", resource: "arn:aws:s3:::b/x", want: policy.Allowed},
		{name: "inline and managed session policies: c", caller: both, action: "s3:GetObject", resource: "arn:aws:s3:::c/x", want: policy.Allowed},
		{name: "inline and managed session policies: d", caller: both, action: "s3:GetObject", resource: "arn:aws:s3:::d/x", want: policy.ImplicitlyDenied},
		{name: "boundary allows b", caller: bounded, action: "s3:GetObject", resource: "arn:aws:s3:::b/x", want: policy.Allowed},
		{name: "boundary excludes c", caller: bounded, action: "s3:GetObject", resource: "arn:aws:s3:::c/x", want: policy.ImplicitlyDenied},
		{name: "boundary excludes an action the role allows", caller: bounded, action: "s3:DeleteObject", resource: "arn:aws:s3:::b/x", want: policy.ImplicitlyDenied},
		{name: "session aws:PrincipalTag matches", caller: blue, action: "sqs:SendMessage", resource: "*", want: policy.Allowed},
		{name: "session aws:PrincipalTag differs", caller: red, action: "sqs:SendMessage", resource: "*", want: policy.ImplicitlyDenied},
		{name: "session global keys", caller: global, action: "kms:Decrypt", resource: "*", want: policy.Allowed},
		{name: "role deny beats session allow", caller: sessionAll, action: "s3:DeleteBucket", resource: "arn:aws:s3:::b", want: policy.ExplicitlyDenied},
	})
}

func TestRoleSessionSourceIP(t *testing.T) {
	e := newEnv(t)
	r := e.role(t, "r", "", inline(allowFromNet), nil)
	s := sessionOf(r, "s", "", nil)
	e.run(t, []check{
		{name: "in range", caller: s, action: "ec2:DescribeInstances", resource: "*", ip: "203.0.113.9", want: policy.Allowed},
		{name: "out of range", caller: s, action: "ec2:DescribeInstances", resource: "*", ip: "192.0.2.1", want: policy.ImplicitlyDenied},
	})
}

func TestRoleGoneOrReplaced(t *testing.T) {
	e := newEnv(t)
	r := e.role(t, "r", "", inline(allowAll), nil)
	s := sessionOf(r, "s", "", nil)
	req := authz.Request{Caller: s, Action: "s3:GetObject", Resource: "*"}
	decide := func() policy.Decision {
		t.Helper()
		res, err := e.z.Authorize(e.ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		return res.Decision
	}
	if d := decide(); d != policy.Allowed {
		t.Fatalf("live role: %v", d)
	}
	if err := e.st.DeleteRole(e.ctx, "r"); err != nil {
		t.Fatal(err)
	}
	if d := decide(); d != policy.ImplicitlyDenied {
		t.Fatalf("deleted role: %v, want ImplicitlyDenied", d)
	}
	// Recreated under the same name: a new RoleID, so old sessions stay dead.
	r2 := r
	r2.ID = "AROAREPLACEMENT"
	if err := e.st.CreateRole(e.ctx, r2); err != nil {
		t.Fatal(err)
	}
	if d := decide(); d != policy.ImplicitlyDenied {
		t.Fatalf("recreated role: %v, want ImplicitlyDenied", d)
	}
	// A session of the new role works.
	req.Caller = sessionOf(r2, "s2", "", nil)
	if d := decide(); d != policy.Allowed {
		t.Fatalf("session of the recreated role: %v, want Allowed", d)
	}
}

// TestDeletedManagedSessionPolicy: a managed session policy (PolicyArns) that is
// deleted after the session was issued must not leave the session unbounded. STS
// checks the ARN exists at issue time, but nothing stops DeletePolicy afterwards
// (a session policy is not an attachment).
func TestDeletedManagedSessionPolicy(t *testing.T) {
	e := newEnv(t)
	getB := e.policy(t, "GetB", allowGetB)
	r := e.role(t, "r", "", inline(allowAll), nil)
	s := sessionOf(r, "s", "", []string{getB})
	req := authz.Request{Caller: s, Action: "s3:PutObject", Resource: "arn:aws:s3:::c/x"}
	res, err := e.z.Authorize(e.ctx, req)
	if err != nil || res.Decision != policy.ImplicitlyDenied {
		t.Fatalf("before deletion: %v %v, want ImplicitlyDenied", res.Decision, err)
	}
	if err := e.st.DeletePolicy(e.ctx, getB); err != nil {
		t.Fatal(err)
	}
	res, err = e.z.Authorize(e.ctx, req)
	if err != nil {
		return // failing closed with an error is acceptable too
	}
	if res.Decision != policy.ImplicitlyDenied {
		t.Fatalf("after the session policy was deleted: %v, want ImplicitlyDenied (the session must stay bounded)", res.Decision)
	}
}

func TestRootAndOthers(t *testing.T) {
	e := newEnv(t)
	root := &authn.Principal{Kind: authn.Root, Account: account, ARN: "arn:aws:iam::" + account + ":root", UserID: account}
	e.run(t, []check{
		{name: "root", caller: root, action: "iam:DeleteRole", resource: "*", want: policy.Allowed},
		{name: "root, any action", caller: root, action: "s3:DeleteBucket", resource: "arn:aws:s3:::b", want: policy.Allowed},
		{name: "no caller", caller: nil, action: "iam:GetUser", resource: "*", want: policy.ImplicitlyDenied},
		{name: "unknown kind", caller: &authn.Principal{Account: account, ARN: "arn:aws:iam::" + account + ":user/x"}, action: "iam:GetUser", resource: "*", want: policy.ImplicitlyDenied},
	})
}

func TestUnparseableStoredPolicyIsAnError(t *testing.T) {
	e := newEnv(t)
	bad := e.policy(t, "Bad", `{"Version":"2012-10-17","Statement":[{"Effect":"Maybe"}]}`)
	r := e.role(t, "r", "", inline(allowAll), nil)
	tests := []struct {
		name   string
		caller *authn.Principal
	}{
		{"user inline", e.user(t, "u1", inline(`not json`), nil)},
		{"user attached", e.user(t, "u2", nil, []string{bad})},
		{"session policy", sessionOf(r, "s1", `not json`, nil)},
		{"managed session policy", sessionOf(r, "s2", "", []string{bad})},
		{"boundary", sessionOf(e.role(t, "rb", bad, inline(allowAll), nil), "s3", "", nil)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res, err := e.z.Authorize(e.ctx, authz.Request{Caller: tc.caller, Action: "s3:GetObject", Resource: "*"})
			if err == nil {
				t.Fatalf("Authorize = %v, want an error", res.Decision)
			}
			if res.Decision == policy.Allowed {
				t.Fatalf("an error came with an Allowed decision")
			}
		})
	}
}
