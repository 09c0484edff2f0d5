package sts_test

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"log/slog"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/keyless-dev/keyless/audit"
	"github.com/keyless-dev/keyless/authn"
	"github.com/keyless-dev/keyless/authz"
	"github.com/keyless-dev/keyless/awsapi"
	"github.com/keyless-dev/keyless/session"
	"github.com/keyless-dev/keyless/store"
	"github.com/keyless-dev/keyless/store/sqlite"
	"github.com/keyless-dev/keyless/sts"
)

// tagsChain is a fixture of three local accounts A, B and C, each with its own
// store and STS service, all sealing sessions with one key ring (as keyless up
// does), for role chains A → B → C.
type tagsChain struct {
	t        *testing.T
	ctx      context.Context
	ring     *session.Keyring
	st       map[string]store.Store
	svc      map[string]*sts.Service
	reqSeq   int
	lastReqs map[string]string // account → request id of the last AssumeRole into it
}

const (
	tagsAcctA = "111111111111"
	tagsAcctB = "222222222222"
	tagsAcctC = "333333333333"
)

func newTagsChain(t *testing.T) *tagsChain {
	t.Helper()
	ctx := context.Background()
	ring, err := session.NewKeyring(rand.Reader, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	f := &tagsChain{t: t, ctx: ctx, ring: ring, st: map[string]store.Store{}, svc: map[string]*sts.Service{}, lastReqs: map[string]string{}}
	z := map[string]*authz.Authorizer{}
	for _, acct := range []string{tagsAcctA, tagsAcctB, tagsAcctC} {
		st, err := sqlite.Open(ctx, t.TempDir()+"/keyless.db")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		f.st[acct], z[acct] = st, authz.New(st)
	}
	log := slog.New(slog.DiscardHandler)
	for _, acct := range []string{tagsAcctA, tagsAcctB, tagsAcctC} {
		svc := sts.New(sts.Config{Store: f.st[acct], Sealer: session.NewSealer(ring, rand.Reader), Authorizer: z[acct],
			Audit: audit.NewRecorder(f.st[acct], log), Account: acct, Logger: log,
			CallerAuthorizer: func(caller string) (*authz.Authorizer, bool) { a, ok := z[caller]; return a, ok }})
		t.Cleanup(svc.Close)
		f.svc[acct] = svc
	}
	return f
}

// tagsDoc is a policy document of stmts.
func tagsDoc(stmts ...map[string]any) string {
	b, err := json.Marshal(map[string]any{"Version": "2012-10-17", "Statement": stmts})
	if err != nil {
		panic(err)
	}
	return string(b)
}

// tagsTrust allows principal the actions, under cond (nil for none).
func tagsTrust(principal string, actions []string, cond map[string]any) map[string]any {
	st := map[string]any{"Effect": "Allow", "Principal": map[string]any{"AWS": principal}, "Action": actions}
	if cond != nil {
		st["Condition"] = cond
	}
	return st
}

// tagsAllow is an identity-policy statement allowing actions on resources.
func tagsAllow(actions []string, resources ...string) map[string]any {
	return map[string]any{"Effect": "Allow", "Action": actions, "Resource": resources}
}

func (f *tagsChain) role(acct, name, trust, policy string) string {
	f.t.Helper()
	arn := "arn:aws:iam::" + acct + ":role/" + name
	r := store.Role{ID: "AROA" + strings.ToUpper(strings.ReplaceAll(name, "-", "") + "0000000000000000")[:16], Name: name, Path: "/",
		ARN: arn, AssumeRolePolicyDocument: trust, MaxSessionDuration: 43200, CreatedAt: time.Now()}
	if policy != "" {
		r.InlinePolicies = map[string]string{"inline": policy}
	}
	if err := f.st[acct].CreateRole(f.ctx, r); err != nil {
		f.t.Fatal(err)
	}
	return arn
}

func (f *tagsChain) user(acct, name, policy string) *authn.Principal {
	f.t.Helper()
	u := store.User{ID: "AIDA" + strings.ToUpper(name + "0000000000000000")[:16], Name: name, Path: "/",
		ARN: "arn:aws:iam::" + acct + ":user/" + name, InlinePolicies: map[string]string{"inline": policy}, CreatedAt: time.Now()}
	if err := f.st[acct].CreateUser(f.ctx, u); err != nil {
		f.t.Fatal(err)
	}
	return &authn.Principal{Kind: authn.User, Account: acct, ARN: u.ARN, UserID: u.ID, User: &u}
}

// assume calls AssumeRole of the account that owns in.RoleARN as caller and
// returns the result and the new session as the next hop's caller.
func (f *tagsChain) assume(caller *authn.Principal, in sts.AssumeRoleRequest) (*sts.AssumeRoleResult, *authn.Principal, error) {
	f.t.Helper()
	acct := strings.Split(in.RoleARN, ":")[4]
	in.Caller = caller
	if in.RoleSessionName == "" {
		in.RoleSessionName = "hop"
	}
	f.reqSeq++
	reqID := "req-" + acct + "-" + strconv.Itoa(f.reqSeq)
	f.lastReqs[acct] = reqID
	res, err := f.svc[acct].AssumeRole(f.ctx, in, sts.Meta{RequestID: reqID, SourceIP: netip.MustParseAddr("127.0.0.1"), Secure: true})
	if err != nil {
		return nil, nil, err
	}
	c, err := f.ring.Open(res.Credentials.SessionToken, time.Now())
	if err != nil {
		f.t.Fatalf("open the session token of %s: %v", in.RoleARN, err)
	}
	return res, &authn.Principal{Kind: authn.AssumedRole, Account: c.Account, ARN: c.AssumedRoleARN(), UserID: c.AssumedRoleID(),
		AccessKeyID: c.AccessKeyID, Session: &c}, nil
}

// auditReason waits for the audit event of the last AssumeRole into acct and
// returns its reason.
func (f *tagsChain) auditReason(acct string) string {
	f.t.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		events, err := f.st[acct].ListAuditEvents(f.ctx, time.Time{}, 0)
		if err != nil {
			f.t.Fatal(err)
		}
		for _, e := range events {
			var d struct {
				Reason string `json:"reason"`
			}
			if e.RequestID == f.lastReqs[acct] && json.Unmarshal(e.Detail, &d) == nil {
				return d.Reason
			}
		}
	}
	f.t.Fatalf("no audit event for request %s in account %s", f.lastReqs[acct], acct)
	return ""
}

// tagsWantDenied checks that err is AWS's AccessDenied for action on role by caller.
func tagsWantDenied(t *testing.T, err error, caller, action, role string) {
	t.Helper()
	var ae *awsapi.Error
	want := "User: " + caller + " is not authorized to perform: " + action + " on resource: " + role
	if !errors.As(err, &ae) || ae.Code != "AccessDenied" || ae.Message != want {
		t.Fatalf("AssumeRole %s: %v, want AccessDenied: %s", role, err, want)
	}
}

var (
	tagsAllSTS = []string{"sts:AssumeRole", "sts:TagSession", "sts:SetSourceIdentity"}
	tagsWeb    = []session.Tag{{Key: "team", Value: "web"}, {Key: "ticket", Value: "T-42"}}
)

// TestCrossAccountChainTagsAndSourceIdentity: a user of A assumes hub in A
// with session tags (team transitive, ticket not) and a source identity; hub
// chains into B's deploy and that into C's deploy. As on AWS:
//   - the transitive tag and the source identity reach every later session,
//     across accounts; the non-transitive tag does not go past the next hop;
//   - a later hop's trust policy sees the caller's session tags as
//     aws:PrincipalTag/<k> and the carried source identity as sts:SourceIdentity
//     (and aws:SourceIdentity);
//   - a carried source identity needs sts:SetSourceIdentity and carried
//     transitive tags need sts:TagSession, in the trust policy and, across
//     accounts, in the caller's identity policy, even when the request passes
//     neither; refusals name the action refused;
//   - the source identity cannot be changed, a transitive tag cannot be
//     overridden, and a chained session lasts at most one hour.
func TestCrossAccountChainTagsAndSourceIdentity(t *testing.T) {
	f := newTagsChain(t)
	hubARN := "arn:aws:iam::" + tagsAcctA + ":role/hub"
	deployBARN := "arn:aws:iam::" + tagsAcctB + ":role/deploy"
	b := func(name string) string { return "arn:aws:iam::" + tagsAcctB + ":role/" + name }
	c := func(name string) string { return "arn:aws:iam::" + tagsAcctC + ":role/" + name }
	alice := f.user(tagsAcctA, "alice", tagsDoc(tagsAllow(tagsAllSTS, hubARN)))
	// hub may set tags and source identity on B's roles except ident-no-tag
	// and ident-no-source, whose trust policies would allow it.
	f.role(tagsAcctA, "hub", tagsDoc(tagsTrust(tagsAcctA, tagsAllSTS, nil)), tagsDoc(
		tagsAllow([]string{"sts:AssumeRole"}, "arn:aws:iam::"+tagsAcctB+":role/*"),
		tagsAllow([]string{"sts:TagSession"}, b("deploy"), b("no-tag-session"), b("no-set-source"), b("wrong-tag"), b("wrong-source"), b("ident-no-source"), b("needs-ticket")),
		tagsAllow([]string{"sts:SetSourceIdentity"}, b("deploy"), b("no-tag-session"), b("no-set-source"), b("wrong-tag"), b("wrong-source"), b("ident-no-tag"), b("needs-ticket")),
	))
	webAlice := map[string]any{"StringEquals": map[string]any{"aws:PrincipalTag/team": "web", "sts:SourceIdentity": "alice", "aws:SourceIdentity": "alice"}}
	f.role(tagsAcctB, "deploy", tagsDoc(tagsTrust(hubARN, tagsAllSTS, webAlice)), tagsDoc(tagsAllow(tagsAllSTS, "arn:aws:iam::"+tagsAcctC+":role/*")))
	for _, r := range []struct{ name, trust string }{
		{"no-tag-session", tagsDoc(tagsTrust(hubARN, []string{"sts:AssumeRole", "sts:SetSourceIdentity"}, nil))},
		{"no-set-source", tagsDoc(tagsTrust(hubARN, []string{"sts:AssumeRole", "sts:TagSession"}, nil))},
		{"wrong-tag", tagsDoc(tagsTrust(hubARN, tagsAllSTS, map[string]any{"StringEquals": map[string]any{"aws:PrincipalTag/team": "api"}}))},
		{"wrong-source", tagsDoc(tagsTrust(hubARN, tagsAllSTS, map[string]any{"StringEquals": map[string]any{"sts:SourceIdentity": "bob"}}))},
		{"ident-no-tag", tagsDoc(tagsTrust(hubARN, tagsAllSTS, nil))},
		{"ident-no-source", tagsDoc(tagsTrust(hubARN, tagsAllSTS, nil))},
		{"needs-ticket", tagsDoc(tagsTrust(hubARN, tagsAllSTS, map[string]any{"StringEquals": map[string]any{"aws:PrincipalTag/ticket": "T-42"}}))},
	} {
		f.role(tagsAcctB, r.name, r.trust, "")
	}
	// Same-account links of A: trust policies naming hub directly.
	f.role(tagsAcctA, "local", tagsDoc(tagsTrust(hubARN, tagsAllSTS, webAlice)), "")
	f.role(tagsAcctA, "local-no-source", tagsDoc(tagsTrust(hubARN, []string{"sts:AssumeRole", "sts:TagSession"}, nil)), "")
	f.role(tagsAcctC, "deploy", tagsDoc(tagsTrust(deployBARN, tagsAllSTS, webAlice)), "")
	f.role(tagsAcctC, "needs-ticket", tagsDoc(tagsTrust(deployBARN, tagsAllSTS, map[string]any{"StringEquals": map[string]any{"aws:PrincipalTag/ticket": "T-42"}})), "")
	f.role(tagsAcctC, "no-tag-session", tagsDoc(tagsTrust(deployBARN, []string{"sts:AssumeRole", "sts:SetSourceIdentity"}, nil)), "")

	// Hop 1, in A: the source identity is set and the tags passed.
	res1, hub, err := f.assume(alice, sts.AssumeRoleRequest{RoleARN: hubARN, RoleSessionName: "alice",
		Tags: tagsWeb, TransitiveTagKeys: []string{"team"}, SourceIdentity: "alice"})
	if err != nil {
		t.Fatalf("alice → hub: %v", err)
	}
	if res1.SourceIdentity != "alice" || !slices.Equal(hub.Session.Tags, tagsWeb) {
		t.Fatalf("hub session: source identity %q, tags %v", res1.SourceIdentity, hub.Session.Tags)
	}

	t.Run("the chain A → B → C carries the transitive tag and the source identity", func(t *testing.T) {
		res2, deployB, err := f.assume(hub, sts.AssumeRoleRequest{RoleARN: deployBARN})
		if err != nil {
			t.Fatalf("hub → B's deploy (its trust policy wants aws:PrincipalTag/team=web and sts:SourceIdentity=alice): %v", err)
		}
		team := []session.Tag{{Key: "team", Value: "web"}}
		if s := deployB.Session; res2.SourceIdentity != "alice" || s.SourceIdentity != "alice" || !slices.Equal(s.Tags, team) ||
			!slices.Equal(s.TransitiveTagKeys, []string{"team"}) || !s.Chained {
			t.Errorf("B's session: result source identity %q, claims %q, tags %v, transitive %v, chained %v",
				res2.SourceIdentity, s.SourceIdentity, s.Tags, s.TransitiveTagKeys, s.Chained)
		}
		res3, deployC, err := f.assume(deployB, sts.AssumeRoleRequest{RoleARN: c("deploy")})
		if err != nil {
			t.Fatalf("B's deploy → C's deploy: %v", err)
		}
		if s := deployC.Session; res3.SourceIdentity != "alice" || s.SourceIdentity != "alice" || !slices.Equal(s.Tags, team) ||
			!slices.Equal(s.TransitiveTagKeys, []string{"team"}) || s.Account != tagsAcctC {
			t.Errorf("C's session: result source identity %q, claims %q, tags %v, transitive %v, account %s",
				res3.SourceIdentity, s.SourceIdentity, s.Tags, s.TransitiveTagKeys, s.Account)
		}
		id, err := f.svc[tagsAcctC].GetCallerIdentity(f.ctx, deployC, sts.Meta{RequestID: "who"})
		if want := "arn:aws:sts::" + tagsAcctC + ":assumed-role/deploy/hop"; err != nil || id.ARN != want || id.Account != tagsAcctC {
			t.Errorf("GetCallerIdentity in C: %+v %v, want %s", id, err, want)
		}
		// ticket was hub's session tag but not transitive: B's trust policy
		// sees it, C's does not.
		if _, _, err := f.assume(hub, sts.AssumeRoleRequest{RoleARN: b("needs-ticket")}); err != nil {
			t.Errorf("hub → B's needs-ticket (aws:PrincipalTag/ticket of hub's session): %v", err)
		}
		_, _, err = f.assume(deployB, sts.AssumeRoleRequest{RoleARN: c("needs-ticket")})
		tagsWantDenied(t, err, deployB.ARN, "sts:AssumeRole", c("needs-ticket"))
		// A carried transitive tag needs sts:TagSession in C's trust policy too.
		_, _, err = f.assume(deployB, sts.AssumeRoleRequest{RoleARN: c("no-tag-session")})
		tagsWantDenied(t, err, deployB.ARN, "sts:TagSession", c("no-tag-session"))
	})

	for _, tc := range []struct {
		name   string
		role   string
		action string // the action AWS names in the refusal
		reason string // in the audit event's reason
	}{
		{"carried tags need sts:TagSession in the trust policy", b("no-tag-session"), "sts:TagSession", "trust policy in account " + tagsAcctB},
		{"a carried source identity needs sts:SetSourceIdentity in the trust policy", b("no-set-source"), "sts:SetSourceIdentity", "trust policy in account " + tagsAcctB},
		{"across accounts carried tags need sts:TagSession in the caller's identity policy", b("ident-no-tag"), "sts:TagSession", "identity policies in account " + tagsAcctA},
		{"across accounts a carried source identity needs sts:SetSourceIdentity in the caller's identity policy", b("ident-no-source"), "sts:SetSourceIdentity", "identity policies in account " + tagsAcctA},
		{"aws:PrincipalTag of another value refuses", b("wrong-tag"), "sts:AssumeRole", "aws:PrincipalTag/team"},
		{"sts:SourceIdentity of another value refuses", b("wrong-source"), "sts:AssumeRole", "sts:SourceIdentity"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := f.assume(hub, sts.AssumeRoleRequest{RoleARN: tc.role})
			tagsWantDenied(t, err, hub.ARN, tc.action, tc.role)
			if reason := f.auditReason(tagsAcctB); !strings.Contains(reason, tc.action) || !strings.Contains(reason, tc.reason) {
				t.Errorf("audit reason %q lacks %q or %q", reason, tc.action, tc.reason)
			}
		})
	}

	t.Run("within one account the same rules hold", func(t *testing.T) {
		local := "arn:aws:iam::" + tagsAcctA + ":role/local"
		res, s, err := f.assume(hub, sts.AssumeRoleRequest{RoleARN: local})
		if err != nil {
			t.Fatalf("hub → A's local (its trust policy wants aws:PrincipalTag/team=web and sts:SourceIdentity=alice): %v", err)
		}
		if res.SourceIdentity != "alice" || !slices.Equal(s.Session.Tags, []session.Tag{{Key: "team", Value: "web"}}) {
			t.Errorf("A's local session: source identity %q, tags %v", res.SourceIdentity, s.Session.Tags)
		}
		noSource := "arn:aws:iam::" + tagsAcctA + ":role/local-no-source"
		_, _, err = f.assume(hub, sts.AssumeRoleRequest{RoleARN: noSource})
		tagsWantDenied(t, err, hub.ARN, "sts:SetSourceIdentity", noSource)
	})

	t.Run("the source identity cannot be changed by a later hop", func(t *testing.T) {
		_, _, err := f.assume(hub, sts.AssumeRoleRequest{RoleARN: deployBARN, SourceIdentity: "mallory"})
		tagsWantDenied(t, err, hub.ARN, "sts:SetSourceIdentity", deployBARN)
		if reason := f.auditReason(tagsAcctB); !strings.Contains(reason, `"alice"`) || !strings.Contains(reason, `"mallory"`) {
			t.Errorf("audit reason %q does not name both source identities", reason)
		}
		// Passing the same value again is not a change.
		if res, _, err := f.assume(hub, sts.AssumeRoleRequest{RoleARN: deployBARN, SourceIdentity: "alice"}); err != nil || res.SourceIdentity != "alice" {
			t.Errorf("hub → B's deploy restating the source identity: %v", err)
		}
	})

	t.Run("a transitive tag cannot be overridden by a later hop", func(t *testing.T) {
		for _, k := range []string{"team", "TEAM"} {
			_, _, err := f.assume(hub, sts.AssumeRoleRequest{RoleARN: deployBARN, Tags: []session.Tag{{Key: k, Value: "api"}}})
			var ae *awsapi.Error
			if !errors.As(err, &ae) || ae.Code != "InvalidParameterValue" || !strings.Contains(ae.Message, "Duplicate tag keys") {
				t.Errorf("hub → B's deploy with tag %s=api: %v, want InvalidParameterValue (duplicate tag keys)", k, err)
			}
		}
		// A non-transitive tag of the calling session may be passed anew.
		_, s, err := f.assume(hub, sts.AssumeRoleRequest{RoleARN: deployBARN, Tags: []session.Tag{{Key: "ticket", Value: "T-43"}}})
		if err != nil {
			t.Fatalf("hub → B's deploy with a new ticket tag: %v", err)
		}
		if want := []session.Tag{{Key: "team", Value: "web"}, {Key: "ticket", Value: "T-43"}}; !slices.Equal(s.Session.Tags, want) {
			t.Errorf("tags %v, want %v", s.Session.Tags, want)
		}
	})

	t.Run("a chained session lasts at most one hour, across accounts too", func(t *testing.T) {
		_, _, err := f.assume(hub, sts.AssumeRoleRequest{RoleARN: deployBARN, DurationSeconds: 3601})
		var ae *awsapi.Error
		if !errors.As(err, &ae) || ae.Code != "ValidationError" ||
			ae.Message != "The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining." {
			t.Errorf("hub → B's deploy for 3601 s: %v, want ValidationError (1 hour limit for role chaining)", err)
		}
		res, s, err := f.assume(hub, sts.AssumeRoleRequest{RoleARN: deployBARN, DurationSeconds: 3600})
		if err != nil {
			t.Fatalf("hub → B's deploy for 3600 s: %v", err)
		}
		if d := s.Session.Expiration.Sub(s.Session.IssuedAt); d != time.Hour || res.Credentials.Expiration == "" {
			t.Errorf("chained session lasts %v, want 1h", d)
		}
	})
}
