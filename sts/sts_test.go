package sts_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	awssts "github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/aws-sdk-go-v2/service/sts/types"

	"github.com/keyless-dev/keyless/authn"
	"github.com/keyless-dev/keyless/authz"
	"github.com/keyless-dev/keyless/issuer"
	"github.com/keyless-dev/keyless/policy"
	"github.com/keyless-dev/keyless/session"
	"github.com/keyless-dev/keyless/store"
)

// bitbucketIPs is the seed CloudFormation template's list of Bitbucket
// Pipelines source addresses (a sample).
const bitbucketIPs = `"34.199.54.113/32","34.232.25.90/32","34.232.119.183/32","34.236.25.177/32","35.171.175.212/32","52.54.90.98/32","52.202.195.162/32","52.203.14.55/32","52.204.59.61/32","34.218.156.209/32","34.218.168.212/32","52.41.219.63/32","35.155.178.254/32","35.160.177.10/32","34.216.18.129/32"`

// packedPolicySize reads the deprecated result field, which STS still sends.
func packedPolicySize(out *awssts.AssumeRoleWithWebIdentityOutput) *int32 {
	//lint:ignore SA1019 the deprecated field is part of the wire contract under test
	return out.PackedPolicySize
}

func braced(u string) string { return "{" + u + "}" }

// waitAudit polls the store for an audit event matching ok.
func (s *stack) waitAudit(ok func(store.AuditEvent) bool) store.AuditEvent {
	s.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		evs, err := s.st.ListAuditEvents(s.ctx, time.Time{}, 0)
		if err != nil {
			s.t.Fatal(err)
		}
		for _, e := range evs {
			if ok(e) {
				return e
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	s.t.Fatal("no matching audit event")
	return store.AuditEvent{}
}

func TestSeedCloudFormationTrustPolicy(t *testing.T) {
	s := newStack(t)
	allowed := s.addRole("bitbucket-deploy", s.trustWeb(`"IpAddress":{"aws:SourceIp":[`+bitbucketIPs+`,"127.0.0.1/32"]}`), 3600, nil)
	denied := s.addRole("bitbucket-only", s.trustWeb(`"IpAddress":{"aws:SourceIp":[`+bitbucketIPs+`]}`), 3600, nil)
	tok := s.mint(issuer.MintRequest{Repository: "web"})

	before := time.Now()
	out, err := s.webIdentity(allowed, tok)
	if err != nil {
		t.Fatal(err)
	}
	c := out.Credentials
	if !strings.HasPrefix(*c.AccessKeyId, "ASIA") || len(*c.AccessKeyId) != 20 || len(*c.SecretAccessKey) != 40 {
		t.Errorf("credential formats: %s / %d-char secret", *c.AccessKeyId, len(*c.SecretAccessKey))
	}
	if exp := c.Expiration.Sub(before); exp < 59*time.Minute || exp > 61*time.Minute {
		t.Errorf("expiration %v after the call, want an hour", exp)
	}
	wantARN := "arn:aws:sts::" + account + ":assumed-role/bitbucket-deploy/pipeline"
	if *out.AssumedRoleUser.Arn != wantARN || !strings.HasSuffix(*out.AssumedRoleUser.AssumedRoleId, ":pipeline") || !strings.HasPrefix(*out.AssumedRoleUser.AssumedRoleId, "AROA") {
		t.Errorf("AssumedRoleUser = %s / %s", *out.AssumedRoleUser.Arn, *out.AssumedRoleUser.AssumedRoleId)
	}
	if *out.Provider != s.providerARN || *out.Audience != s.audience {
		t.Errorf("Provider %q Audience %q", *out.Provider, *out.Audience)
	}
	repo := braced(issuer.RepositoryUUID(workspace, "web"))
	if !strings.HasPrefix(*out.SubjectFromWebIdentityToken, repo+":") {
		t.Errorf("SubjectFromWebIdentityToken = %q", *out.SubjectFromWebIdentityToken)
	}
	if int(*out.SessionTokenSize) != len(*c.SessionToken) || *out.SessionTokenUtilization != int32(session.Utilization(len(*c.SessionToken))) {
		t.Errorf("SessionTokenSize %d / Utilization %d for a %d-byte token", *out.SessionTokenSize, *out.SessionTokenUtilization, len(*c.SessionToken))
	}
	if packedPolicySize(out) != nil {
		t.Errorf("PackedPolicySize %d without session policies or tags", *packedPolicySize(out))
	}

	_, err = s.webIdentity(denied, tok)
	if code, status := apiError(t, err); code != "AccessDenied" || status != 403 {
		t.Fatalf("IP list without 127.0.0.1: %s %d", code, status)
	}
	if !strings.Contains(err.Error(), "Not authorized to perform sts:AssumeRoleWithWebIdentity") {
		t.Errorf("message: %v", err)
	}
	ev := s.waitAudit(func(e store.AuditEvent) bool { return e.Role == denied && e.Decision == "Denied" })
	d := string(ev.Detail)
	if !strings.Contains(d, `"statement":"\"Pipelines\""`) || !strings.Contains(d, "IpAddress") || !strings.Contains(d, "aws:SourceIp") || !strings.Contains(d, "127.0.0.1") {
		t.Errorf("audit detail does not name the failing statement and condition: %s", d)
	}
	if !strings.HasPrefix(ev.Caller, "https://"+s.providerURL+" "+repo) {
		t.Errorf("audit caller %q", ev.Caller)
	}
	s.waitAudit(func(e store.AuditEvent) bool { return e.Role == allowed && e.Decision == "Allowed" })
}

func TestRepositoryRestriction(t *testing.T) {
	s := newStack(t)
	repo := braced(issuer.RepositoryUUID(workspace, "web"))
	role := s.addRole("web-only", s.trustWeb(`"StringLike":{"`+s.providerURL+`:sub":"`+repo+`:*"}`), 3600, nil)
	if _, err := s.webIdentity(role, s.mint(issuer.MintRequest{Repository: "web"})); err != nil {
		t.Fatalf("from the right repository: %v", err)
	}
	_, err := s.webIdentity(role, s.mint(issuer.MintRequest{Repository: "other"}))
	if code, status := apiError(t, err); code != "AccessDenied" || status != 403 {
		t.Fatalf("from another repository: %s %d", code, status)
	}
	ev := s.waitAudit(func(e store.AuditEvent) bool { return e.Role == role && e.Decision == "Denied" })
	if !strings.Contains(string(ev.Detail), "StringLike") || !strings.Contains(string(ev.Detail), ":sub") {
		t.Errorf("audit detail %s", ev.Detail)
	}
}

func TestDeploymentEnvironmentRestriction(t *testing.T) {
	s := newStack(t)
	repo := braced(issuer.RepositoryUUID(workspace, "web"))
	env := braced(issuer.EnvironmentUUID(workspace, "web", "production"))
	role := s.addRole("prod", s.trustWeb(`"StringLike":{"`+s.providerURL+`:sub":"`+repo+`:`+env+`:*"}`), 3600, nil)
	if _, err := s.webIdentity(role, s.mint(issuer.MintRequest{Repository: "web", Environment: "production"})); err != nil {
		t.Fatalf("production deployment: %v", err)
	}
	for _, e := range []string{"staging", ""} {
		_, err := s.webIdentity(role, s.mint(issuer.MintRequest{Repository: "web", Environment: e}))
		if code, status := apiError(t, err); code != "AccessDenied" || status != 403 {
			t.Fatalf("environment %q: %s %d", e, code, status)
		}
	}
}

func TestSessionTags(t *testing.T) {
	s := newStack(t)
	const ws = "tagged"
	if err := s.st.CreateWorkspace(s.ctx, store.Workspace{Slug: ws, UUID: issuer.WorkspaceUUID(ws), SessionTags: true, CreatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	u := strings.TrimPrefix(s.is.IssuerURL(ws), "https://")
	aud := issuer.WorkspaceAudience(issuer.WorkspaceUUID(ws))
	s.addProvider(u, aud)
	provARN := "arn:aws:iam::" + account + ":oidc-provider/" + u
	trust := func(actions string, cond string) string {
		return `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Federated":"` + provARN + `"},"Action":` + actions + `,"Condition":{"StringEquals":{"` + u + `:aud":"` + aud + `"` + cond + `}}}]}`
	}
	noTag := s.addRole("no-tag", trust(`"sts:AssumeRoleWithWebIdentity"`, ""), 3600, nil)
	withTag := s.addRole("with-tag", trust(`["sts:AssumeRoleWithWebIdentity","sts:TagSession"]`, `,"aws:RequestTag/repository":"web"`), 3600, nil)
	tok := s.mint(issuer.MintRequest{Workspace: ws, Repository: "web", Environment: "production", Branch: "main"})

	_, err := s.webIdentity(noTag, tok)
	if code, status := apiError(t, err); code != "AccessDenied" || status != 403 {
		t.Fatalf("tags without sts:TagSession: %s %d", code, status)
	}
	ev := s.waitAudit(func(e store.AuditEvent) bool { return e.Role == noTag && e.Decision == "Denied" })
	if !strings.Contains(string(ev.Detail), "sts:TagSession") {
		t.Errorf("audit does not say sts:TagSession was refused: %s", ev.Detail)
	}

	out, err := s.webIdentity(withTag, tok)
	if err != nil {
		t.Fatalf("tags with sts:TagSession: %v", err)
	}
	if packedPolicySize(out) == nil {
		t.Error("no PackedPolicySize with session tags")
	}
	c, err := s.ring.Open(*out.Credentials.SessionToken, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, tg := range c.Tags {
		got[tg.Key] = tg.Value
	}
	if got["repository"] != "web" || got["environment"] != "production" || got["branch"] != "main" || len(c.TransitiveTagKeys) != 3 {
		t.Errorf("session tags %v transitive %v", c.Tags, c.TransitiveTagKeys)
	}
	// The signed calls of the session carry them (aws:PrincipalTag/*).
	if p := s.principal(out.Credentials); p.Session == nil || len(p.Session.Tags) != 3 {
		t.Error("the authenticated session has no tags")
	}
}

func (s *stack) principal(c *types.Credentials) *authn.Principal {
	s.t.Helper()
	cred, err := s.authn.LookupCredential(s.ctx, *c.AccessKeyId, *c.SessionToken)
	if err != nil {
		s.t.Fatal(err)
	}
	return cred.Principal.(*authn.Principal)
}

func TestDurationSeconds(t *testing.T) {
	s := newStack(t)
	short := s.addRole("short", s.trustWeb(""), 3600, nil)
	long := s.addRole("long", s.trustWeb(""), 7200, nil)
	tok := s.mint(issuer.MintRequest{Repository: "web"})
	dur := func(in *awssts.AssumeRoleWithWebIdentityInput) { in.DurationSeconds = aws.Int32(7200) }
	_, err := s.webIdentity(short, tok, dur)
	if code, status := apiError(t, err); code != "ValidationError" || status != 400 || !strings.Contains(err.Error(), "The requested DurationSeconds exceeds the MaxSessionDuration set for this role.") {
		t.Fatalf("over MaxSessionDuration: %s %d %v", code, status, err)
	}
	out, err := s.webIdentity(long, tok, dur)
	if err != nil {
		t.Fatal(err)
	}
	if d := time.Until(*out.Credentials.Expiration); d < 119*time.Minute || d > 121*time.Minute {
		t.Errorf("expiration in %v, want 2h", d)
	}
}

func TestSessionPolicyNarrowsAndCannotWiden(t *testing.T) {
	s := newStack(t)
	role := s.addRole("reader", s.trustWeb(""), 3600, map[string]string{
		"s3": `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:GetObject","s3:PutObject"],"Resource":"arn:aws:s3:::site/*"}]}`,
	})
	tok := s.mint(issuer.MintRequest{Repository: "web"})
	authorize := func(c *types.Credentials, action, resource string) policy.Decision {
		t.Helper()
		res, err := s.authz.Authorize(s.ctx, authz.Request{Caller: s.principal(c), Action: action, Resource: resource, Time: time.Now()})
		if err != nil {
			t.Fatal(err)
		}
		return res.Decision
	}

	narrow, err := s.webIdentity(role, tok, func(in *awssts.AssumeRoleWithWebIdentityInput) {
		in.Policy = aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}`)
	})
	if err != nil {
		t.Fatal(err)
	}
	if packedPolicySize(narrow) == nil {
		t.Error("no PackedPolicySize with a session policy")
	}
	if d := authorize(narrow.Credentials, "s3:GetObject", "arn:aws:s3:::site/index.html"); d != policy.Allowed {
		t.Errorf("GetObject in role ∩ session: %v", d)
	}
	if d := authorize(narrow.Credentials, "s3:PutObject", "arn:aws:s3:::site/index.html"); d == policy.Allowed {
		t.Error("PutObject allowed although the session policy does not allow it")
	}

	wide, err := s.webIdentity(role, tok, func(in *awssts.AssumeRoleWithWebIdentityInput) {
		in.Policy = aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}`)
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ action, resource string }{{"s3:DeleteBucket", "arn:aws:s3:::site"}, {"iam:CreateUser", "*"}, {"s3:GetObject", "arn:aws:s3:::other/x"}} {
		if d := authorize(wide.Credentials, c.action, c.resource); d == policy.Allowed {
			t.Errorf("a session policy of * widened the role: %s on %s allowed", c.action, c.resource)
		}
	}
	if d := authorize(wide.Credentials, "s3:PutObject", "arn:aws:s3:::site/a"); d != policy.Allowed {
		t.Errorf("PutObject within the role: %v", d)
	}

	_, err = s.webIdentity(role, tok, func(in *awssts.AssumeRoleWithWebIdentityInput) {
		in.Policy = aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject"}]}`)
	})
	if code, status := apiError(t, err); code != "MalformedPolicyDocument" || status != 400 {
		t.Fatalf("session policy without Resource: %s %d", code, status)
	}
}

func TestGetCallerIdentityThroughWebIdentityProvider(t *testing.T) {
	s := newStack(t)
	role := s.addRole("deny-all", s.trustWeb(""), 3600, map[string]string{
		"deny": `{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"*","Resource":"*"}]}`,
	})
	file := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(file, []byte(s.mint(issuer.MintRequest{Repository: "web"})+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	prov := stscreds.NewWebIdentityRoleProvider(s.client(nil), role, stscreds.IdentityTokenFile(file), func(o *stscreds.WebIdentityRoleOptions) {
		o.RoleSessionName = "bitbucket-step"
	})
	out, err := s.client(aws.NewCredentialsCache(prov)).GetCallerIdentity(s.ctx, &awssts.GetCallerIdentityInput{})
	if err != nil {
		t.Fatal(err)
	}
	r, err := s.st.GetRole(s.ctx, "deny-all")
	if err != nil {
		t.Fatal(err)
	}
	if *out.Arn != "arn:aws:sts::"+account+":assumed-role/deny-all/bitbucket-step" || *out.UserId != r.ID+":bitbucket-step" || *out.Account != account {
		t.Errorf("GetCallerIdentity = %s %s %s", *out.Arn, *out.UserId, *out.Account)
	}
	// Root and users too.
	root, err := s.client(static(aws.Credentials{AccessKeyID: rootKeyID, SecretAccessKey: rootKey})).GetCallerIdentity(s.ctx, &awssts.GetCallerIdentityInput{})
	if err != nil || *root.Arn != "arn:aws:iam::"+account+":root" || *root.UserId != account {
		t.Errorf("root identity: %v %v", root, err)
	}
}

func TestAssumeRoleAndChaining(t *testing.T) {
	s := newStack(t)
	allowAssume := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["sts:AssumeRole","sts:TagSession"],"Resource":"*"}]}`
	accountTrust := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::` + account + `:root"},"Action":["sts:AssumeRole","sts:TagSession"]}]}`
	alice := s.addUser("alice", map[string]string{"assume": allowAssume})
	bob := s.addUser("bob", nil)
	carol := s.addUser("carol", nil)
	deployer := s.addRole("deployer", accountTrust, 43200, nil)
	direct := s.addRole("direct", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::`+account+`:user/carol"},"Action":"sts:AssumeRole","Condition":{"StringEquals":{"sts:ExternalId":"ext-123"}}}]}`, 3600, nil)
	ci := s.addRole("ci", s.trustWeb(""), 3600, map[string]string{"assume": allowAssume})
	chainTarget := s.addRole("chain-target", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"`+ci+`"},"Action":"sts:AssumeRole"}]}`, 43200, nil)

	assume := func(c aws.Credentials, role string, mod ...func(*awssts.AssumeRoleInput)) (*awssts.AssumeRoleOutput, error) {
		in := &awssts.AssumeRoleInput{RoleArn: aws.String(role), RoleSessionName: aws.String("s1")}
		for _, m := range mod {
			m(in)
		}
		return s.client(static(c)).AssumeRole(s.ctx, in)
	}
	// Account-wide trust: the identity policy decides.
	out, err := assume(alice, deployer)
	if err != nil {
		t.Fatalf("alice → deployer: %v", err)
	}
	if *out.AssumedRoleUser.Arn != "arn:aws:sts::"+account+":assumed-role/deployer/s1" || out.SessionTokenSize == nil {
		t.Errorf("AssumeRole result %s", *out.AssumedRoleUser.Arn)
	}
	_, err = assume(bob, deployer)
	if code, status := apiError(t, err); code != "AccessDenied" || status != 403 || !strings.Contains(err.Error(), "User: arn:aws:iam::"+account+":user/bob is not authorized to perform: sts:AssumeRole on resource: "+deployer) {
		t.Fatalf("bob without identity permission: %s %d %v", code, status, err)
	}
	// A trust policy naming the user directly needs no identity permission.
	ext := func(in *awssts.AssumeRoleInput) { in.ExternalId = aws.String("ext-123") }
	if _, err := assume(carol, direct, ext); err != nil {
		t.Fatalf("carol named directly: %v", err)
	}
	_, err = assume(carol, direct)
	if code, status := apiError(t, err); code != "AccessDenied" || status != 403 {
		t.Fatalf("carol without the external id: %s %d", code, status)
	}
	_, err = assume(bob, direct, ext)
	if code, _ := apiError(t, err); code != "AccessDenied" {
		t.Fatalf("bob on carol's role: %s", code)
	}
	// The root user cannot assume roles.
	_, err = assume(aws.Credentials{AccessKeyID: rootKeyID, SecretAccessKey: rootKey}, deployer)
	if code, status := apiError(t, err); code != "AccessDenied" || status != 403 {
		t.Fatalf("root: %s %d", code, status)
	}

	// Role chaining from a web identity session: one-hour cap.
	web, err := s.webIdentity(ci, s.mint(issuer.MintRequest{Repository: "web"}))
	if err != nil {
		t.Fatal(err)
	}
	_, err = assume(outCreds(web.Credentials), chainTarget, func(in *awssts.AssumeRoleInput) { in.DurationSeconds = aws.Int32(7200) })
	if code, status := apiError(t, err); code != "ValidationError" || status != 400 || !strings.Contains(err.Error(), "1 hour session limit for roles assumed by role chaining") {
		t.Fatalf("chained 2h: %s %d %v", code, status, err)
	}
	chained, err := assume(outCreds(web.Credentials), chainTarget)
	if err != nil {
		t.Fatalf("chained 1h (trust names the role, matched by its session): %v", err)
	}
	c, err := s.ring.Open(*chained.Credentials.SessionToken, time.Now())
	if err != nil || !c.Chained {
		t.Fatalf("chained claims: %v %v", c.Chained, err)
	}
	who, err := s.client(static(outCreds(chained.Credentials))).GetCallerIdentity(s.ctx, &awssts.GetCallerIdentityInput{})
	if err != nil || *who.Arn != "arn:aws:sts::"+account+":assumed-role/chain-target/s1" {
		t.Fatalf("chained identity: %v %v", who, err)
	}

	// Transitive tags carry over through chaining; others do not.
	tagger := s.addRole("tagger", accountTrust, 3600, map[string]string{"assume": allowAssume})
	tagged, err := assume(alice, tagger, func(in *awssts.AssumeRoleInput) {
		in.Tags = []types.Tag{{Key: aws.String("team"), Value: aws.String("web")}, {Key: aws.String("tmp"), Value: aws.String("x")}}
		in.TransitiveTagKeys = []string{"team"}
	})
	if err != nil {
		t.Fatalf("tagged AssumeRole: %v", err)
	}
	next, err := assume(outCreds(tagged.Credentials), deployer, func(in *awssts.AssumeRoleInput) { in.RoleSessionName = aws.String("s2") })
	if err != nil {
		t.Fatalf("chain from tagged session: %v", err)
	}
	c, err = s.ring.Open(*next.Credentials.SessionToken, time.Now())
	if err != nil || len(c.Tags) != 1 || c.Tags[0] != (session.Tag{Key: "team", Value: "web"}) || len(c.TransitiveTagKeys) != 1 {
		t.Fatalf("carried tags %v %v (%v)", c.Tags, c.TransitiveTagKeys, err)
	}
	// Tags need sts:TagSession in the trust policy.
	_, err = assume(carol, direct, ext, func(in *awssts.AssumeRoleInput) {
		in.Tags = []types.Tag{{Key: aws.String("team"), Value: aws.String("web")}}
	})
	if code, _ := apiError(t, err); code != "AccessDenied" {
		t.Fatalf("tags without sts:TagSession: %s", code)
	}
}

func TestRetiredUnpublishedKey(t *testing.T) {
	s := newStack(t)
	role := s.addRole("r", s.trustWeb(""), 3600, nil)
	old := s.mint(issuer.MintRequest{Repository: "web"})
	next, err := s.keys.Prepare(s.ctx, "RS256")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.keys.Activate(s.ctx, next.ID, true); err != nil {
		t.Fatal(err)
	}
	keys, err := s.keys.List(s.ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range keys {
		if k.ID != next.ID && k.State != store.KeyRetired {
			if _, err := s.keys.Retire(s.ctx, k.ID); err != nil {
				t.Fatal(err)
			}
		}
	}
	s.idpClock.Set(4 * time.Hour) // past the retired key's NotAfter
	if err := s.keys.Tick(s.ctx); err != nil {
		t.Fatal(err)
	}
	if strings.Count(string(s.keys.JWKS()), `"kid"`) != 1 {
		t.Fatalf("the retired key is still published: %s", s.keys.JWKS())
	}
	_, err = s.webIdentity(role, old)
	if code, status := apiError(t, err); code != "InvalidIdentityToken" || status != 400 || !strings.Contains(err.Error(), "Couldn't retrieve verification key") {
		t.Fatalf("token of an unpublished key: %s %d %v", code, status, err)
	}
}
