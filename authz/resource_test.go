package authz_test

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/keyless-dev/keyless/authn"
	"github.com/keyless-dev/keyless/authz"
	"github.com/keyless-dev/keyless/policy"
)

// Bucket policies of bucket site, used below.
const (
	bpPublicRead = `{"Version":"2012-10-17","Statement":[{"Sid":"PublicRead","Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::site/*"}]}`
	bpDenyDelete = `{"Version":"2012-10-17","Statement":[{"Sid":"NoDelete","Effect":"Deny","Principal":"*","Action":"s3:DeleteObject","Resource":"arn:aws:s3:::site/*"}]}`
	bpAccount    = `{"Version":"2012-10-17","Statement":[{"Sid":"Account","Effect":"Allow","Principal":{"AWS":"` + account + `"},"Action":"s3:PutObject","Resource":"arn:aws:s3:::site/*"}]}`
	bpOtherAcct  = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::210987654321:root"},"Action":"s3:PutObject","Resource":"arn:aws:s3:::site/*"}]}`
	bpFromNet    = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::site/*","Condition":{"IpAddress":{"aws:SourceIp":"203.0.113.0/24"}}}]}`
)

// TestResourcePolicy: a bucket policy is evaluated with the caller's policies as
// policy.Evaluate does within one account: its Deny beats an identity Allow (and
// the root user), its Allow grants a same-account principal (by account id or
// ARN) with no identity Allow, but not one it does not name; for an anonymous
// caller it alone decides, with Principal "*" and the global keys; without one an
// anonymous caller is denied and a bad document is an error, not a decision.
func TestResourcePolicy(t *testing.T) {
	e := newEnv(t)
	deployer := e.role(t, "deployer", "", inline(allowDeleteAll), nil)
	deploy := sessionOf(deployer, "deploy", "", nil)
	bare := sessionOf(e.role(t, "bare", "", nil, nil), "bare", "", nil)
	// A session policy still bounds what a bucket policy grants the session.
	scoped := sessionOf(e.role(t, "scoped", "", nil, nil), "scoped", allowGetB, nil)
	nobody := e.user(t, "nobody", nil, nil)
	root := &authn.Principal{Kind: authn.Root, Account: account, ARN: "arn:aws:iam::" + account + ":root", UserID: account}
	byARN := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"` + nobody.ARN + `"},"Action":"s3:ListBucket","Resource":"arn:aws:s3:::site"}]}`

	for _, c := range []struct {
		name     string
		caller   *authn.Principal
		action   string
		resource string
		bp       string
		ip       string
		want     policy.Decision
		by       string // the deciding policy (PolicyRef.String: "resource", "identity[0]"), when checked
	}{
		{name: "bucket Deny beats identity Allow", caller: deploy, action: "s3:DeleteObject", resource: "arn:aws:s3:::site/a", bp: bpDenyDelete, want: policy.ExplicitlyDenied, by: "resource"},
		{name: "identity Allow where the bucket Deny does not apply", caller: deploy, action: "s3:GetObject", resource: "arn:aws:s3:::site/a", bp: bpDenyDelete, want: policy.Allowed, by: "identity[0]"},
		{name: "identity Allow, no bucket policy", caller: deploy, action: "s3:DeleteObject", resource: "arn:aws:s3:::site/a", want: policy.Allowed, by: "identity[0]"},
		{name: "bucket Allow by account grants a session with no identity Allow", caller: bare, action: "s3:PutObject", resource: "arn:aws:s3:::site/a", bp: bpAccount, want: policy.Allowed, by: "resource"},
		{name: "no identity Allow, no bucket policy", caller: bare, action: "s3:PutObject", resource: "arn:aws:s3:::site/a", want: policy.ImplicitlyDenied},
		{name: "bucket Allow of another account grants nothing", caller: bare, action: "s3:PutObject", resource: "arn:aws:s3:::site/a", bp: bpOtherAcct, want: policy.ImplicitlyDenied},
		{name: "bucket Allow, other action", caller: bare, action: "s3:DeleteObject", resource: "arn:aws:s3:::site/a", bp: bpAccount, want: policy.ImplicitlyDenied},
		{name: "bucket Allow bounded by the session policy", caller: scoped, action: "s3:PutObject", resource: "arn:aws:s3:::site/a", bp: bpAccount, want: policy.ImplicitlyDenied},
		{name: "bucket Allow by user ARN", caller: nobody, action: "s3:ListBucket", resource: "arn:aws:s3:::site", bp: byARN, want: policy.Allowed, by: "resource"},
		{name: "bucket Allow by user ARN, other user", caller: bare, action: "s3:ListBucket", resource: "arn:aws:s3:::site", bp: byARN, want: policy.ImplicitlyDenied},
		{name: "Principal * allows anonymous GetObject", action: "s3:GetObject", resource: "arn:aws:s3:::site/index.html", bp: bpPublicRead, want: policy.Allowed, by: "resource"},
		{name: "Principal * allows anyone signed too", caller: nobody, action: "s3:GetObject", resource: "arn:aws:s3:::site/index.html", bp: bpPublicRead, want: policy.Allowed, by: "resource"},
		{name: "public read is not public write", action: "s3:PutObject", resource: "arn:aws:s3:::site/index.html", bp: bpPublicRead, want: policy.ImplicitlyDenied},
		{name: "public read of another bucket", action: "s3:GetObject", resource: "arn:aws:s3:::other/index.html", bp: bpPublicRead, want: policy.ImplicitlyDenied},
		{name: "account principal does not match anonymous", action: "s3:PutObject", resource: "arn:aws:s3:::site/a", bp: bpAccount, want: policy.ImplicitlyDenied},
		{name: "anonymous with the global aws:SourceIp in range", action: "s3:GetObject", resource: "arn:aws:s3:::site/a", bp: bpFromNet, ip: "203.0.113.9", want: policy.Allowed, by: "resource"},
		{name: "anonymous with aws:SourceIp out of range", action: "s3:GetObject", resource: "arn:aws:s3:::site/a", bp: bpFromNet, ip: "198.51.100.1", want: policy.ImplicitlyDenied},
		{name: "no policy: anonymous denied", action: "s3:GetObject", resource: "arn:aws:s3:::site/index.html", want: policy.ImplicitlyDenied},
		{name: "root allowed without a policy", caller: root, action: "s3:DeleteObject", resource: "arn:aws:s3:::site/a", want: policy.Allowed},
		{name: "root allowed where the bucket Deny does not apply", caller: root, action: "s3:GetObject", resource: "arn:aws:s3:::site/a", bp: bpDenyDelete, want: policy.Allowed},
		{name: "bucket Deny binds root", caller: root, action: "s3:DeleteObject", resource: "arn:aws:s3:::site/a", bp: bpDenyDelete, want: policy.ExplicitlyDenied, by: "resource"},
	} {
		t.Run(c.name, func(t *testing.T) {
			req := authz.Request{Caller: c.caller, Action: c.action, Resource: c.resource, ResourcePolicy: c.bp}
			if c.ip != "" {
				req.SourceIP = netip.MustParseAddr(c.ip)
			}
			res, err := e.z.Authorize(e.ctx, req)
			if err != nil {
				t.Fatalf("Authorize: %v", err)
			}
			if res.Decision != c.want {
				t.Fatalf("%s on %s: %v (%s), want %v", c.action, c.resource, res.Decision, res.Explain.Reason, c.want)
			}
			if c.by != "" {
				if d := res.Explain.Deciding; d == nil || d.Policy.String() != c.by {
					t.Fatalf("deciding statement %+v, want one of policy %s", d, c.by)
				}
			}
			if c.want == policy.ExplicitlyDenied {
				msg := authz.DeniedMessage(c.caller, c.action, c.resource, res)
				if !strings.HasSuffix(msg, "with an explicit deny in a resource-based policy") {
					t.Errorf("DeniedMessage = %q", msg)
				}
				if stmt, _ := authz.Deciding(res); !strings.Contains(stmt, `"NoDelete"`) {
					t.Errorf("Deciding = %q", stmt)
				}
			}
		})
	}

	_, err := e.z.Authorize(e.ctx, authz.Request{Action: "s3:GetObject", Resource: "arn:aws:s3:::site/a", ResourcePolicy: `{"Statement":[]`})
	if err == nil {
		t.Error("a resource policy that does not parse: no error")
	}
}
