package sts_test

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"log/slog"
	"net/netip"
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

// TestAssumeRoleCrossAccountOneEvaluation: AssumeRole by a role session of
// another local account is decided in one evaluation of both sides, as on AWS:
// the role's trust policy must allow the caller (its role or its account) and
// the caller's identity policies in its own account must allow the action; an
// explicit Deny on either side refuses. Refusals are AWS's AccessDenied text, and
// the audit event's reason names the side and account that refused.
func TestAssumeRoleCrossAccountOneEvaluation(t *testing.T) {
	const acctA, acctB = "111111111111", "222222222222"
	ctx := context.Background()
	open := func() store.Store {
		st, err := sqlite.Open(ctx, t.TempDir()+"/keyless.db")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		return st
	}
	stA, stB := open(), open()
	role := func(st store.Store, acct, name, trust, policy string) store.Role {
		t.Helper()
		r := store.Role{ID: "AROA" + strings.ToUpper(name + "0000000000000000")[:16], Name: name, Path: "/",
			ARN: "arn:aws:iam::" + acct + ":role/" + name, AssumeRolePolicyDocument: trust, MaxSessionDuration: 3600, CreatedAt: time.Now()}
		if policy != "" {
			r.InlinePolicies = map[string]string{"inline": policy}
		}
		if err := st.CreateRole(ctx, r); err != nil {
			t.Fatal(err)
		}
		return r
	}
	trustBy := func(principal, extra string) string {
		return `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"` + principal + `"},"Action":"sts:AssumeRole"}` + extra + `]}`
	}
	allowAssume := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole","Resource":"arn:aws:iam::` + acctB + `:role/*"}]}`
	hub := role(stA, acctA, "hub", trustBy(acctA, ""), allowAssume)
	plain := role(stA, acctA, "plain", trustBy(acctA, ""), "")
	denier := role(stA, acctA, "denier", trustBy(acctA, ""), `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole","Resource":"*"},{"Sid":"NotB","Effect":"Deny","Action":"sts:AssumeRole","Resource":"arn:aws:iam::`+acctB+`:role/*"}]}`)
	for _, r := range []struct{ name, trust string }{
		{"by-role", trustBy(hub.ARN, "")},
		{"by-plain", trustBy(plain.ARN, "")},
		{"by-account", trustBy(acctA, "")},
		{"by-other", trustBy("333333333333", "")},
		{"deny-hub", trustBy(acctA, `,{"Sid":"NoHub","Effect":"Deny","Principal":{"AWS":"`+hub.ARN+`"},"Action":"sts:AssumeRole"}`)},
	} {
		role(stB, acctB, r.name, r.trust, "")
	}

	ring, err := session.NewKeyring(rand.Reader, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.DiscardHandler)
	rec := audit.NewRecorder(stB, log)
	zA := authz.New(stA)
	svc := sts.New(sts.Config{Store: stB, Sealer: session.NewSealer(ring, rand.Reader), Authorizer: authz.New(stB), Audit: rec, Account: acctB,
		Logger: log, CallerAuthorizer: func(acct string) (*authz.Authorizer, bool) { return zA, acct == acctA }})
	t.Cleanup(svc.Close)
	sessionOf := func(r store.Role, acct string) *authn.Principal {
		arn := "arn:aws:sts::" + acct + ":assumed-role/" + r.Name + "/s1"
		return &authn.Principal{Kind: authn.AssumedRole, Account: acct, ARN: arn, UserID: r.ID + ":s1",
			Session: &session.Claims{Account: acct, RoleARN: r.ARN, RoleID: r.ID, RoleName: r.Name, SessionName: "s1"}}
	}

	for _, tc := range []struct {
		name   string
		caller *authn.Principal
		role   string
		reason string // in the audit event's reason; "" when allowed
	}{
		{"trust names the role, identity allows", sessionOf(hub, acctA), "by-role", ""},
		{"trust names the account, identity allows", sessionOf(hub, acctA), "by-account", ""},
		// Across accounts a trust policy naming the role does not stand in for
		// the caller's own account's permission.
		{"trust names the role, identity lacks the action", sessionOf(plain, acctA), "by-plain",
			"but the caller's identity policies in account " + acctA + " do not allow"},
		{"trust names the account, identity lacks the action", sessionOf(plain, acctA), "by-account",
			"but the caller's identity policies in account " + acctA + " do not allow \"sts:AssumeRole\"; across accounts both must allow it"},
		{"neither side allows", sessionOf(plain, acctA), "by-role",
			"no statement allows \"sts:AssumeRole\" on \"arn:aws:iam::" + acctB + ":role/by-role\" by \"arn:aws:sts::" + acctA + ":assumed-role/plain/s1\"; across accounts both the caller's identity policies in account " + acctA + " and the trust policy in account " + acctB + " must allow it"},
		{"trust names another account", sessionOf(hub, acctA), "by-other",
			"but the trust policy in account " + acctB + " does not allow the caller; across accounts both must allow it"},
		{"trust denies the caller's role", sessionOf(hub, acctA), "deny-hub", `statement "NoHub"`},
		{"identity denies", sessionOf(denier, acctA), "by-account", `statement "NotB"`},
		{"caller of an account not served", sessionOf(hub, "444444444444"), "by-account", "the caller's account 444444444444 is not a local account"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			roleARN := "arn:aws:iam::" + acctB + ":role/" + tc.role
			reqID := "req-" + strings.ReplaceAll(tc.name, " ", "-")
			_, err := svc.AssumeRole(ctx, sts.AssumeRoleRequest{Caller: tc.caller, RoleARN: roleARN, RoleSessionName: "chained"},
				sts.Meta{RequestID: reqID, SourceIP: netip.MustParseAddr("127.0.0.1"), Secure: true})
			if tc.reason == "" {
				if err != nil {
					t.Fatalf("AssumeRole %s: %v, want it allowed", roleARN, err)
				}
				return
			}
			var ae *awsapi.Error
			want := "User: " + tc.caller.ARN + " is not authorized to perform: sts:AssumeRole on resource: " + roleARN
			if !errors.As(err, &ae) || ae.Code != "AccessDenied" || ae.Message != want {
				t.Fatalf("AssumeRole %s: %v, want AccessDenied: %s", roleARN, err, want)
			}
			var reason string
			for deadline := time.Now().Add(5 * time.Second); reason == "" && time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
				events, err := stB.ListAuditEvents(ctx, time.Time{}, 0)
				if err != nil {
					t.Fatal(err)
				}
				for _, e := range events {
					var d struct {
						Reason string `json:"reason"`
					}
					if e.RequestID == reqID && json.Unmarshal(e.Detail, &d) == nil {
						reason = d.Reason
					}
				}
			}
			if !strings.Contains(reason, tc.reason) {
				t.Errorf("audit reason %q lacks %q", reason, tc.reason)
			}
		})
	}
}
