package explain

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/keyless-dev/keyless/store"
	"github.com/keyless-dev/keyless/store/sqlite"
)

const (
	acctA = "000000000000"
	acctB = "222222222222"
	acctC = "333333333333"
)

// accounts holds one SQLite store per account, with the roles of the tests: in
// A, hub (may sts:AssumeRole on B's roles), reader (may not), and local (trusts
// hub by name); in B, roles whose trust policies name hub, C, A with an external
// ID, reader, or deny hub, and next, which trusts B's deploy.
func accounts(t *testing.T) map[string]store.Store {
	t.Helper()
	ctx := t.Context()
	stores := map[string]store.Store{}
	for _, id := range []string{acctA, acctB} {
		st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "keyless.db"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		stores[id] = st
	}
	trust := func(principal, extra string) string {
		return `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"` + principal + `"},"Action":"sts:AssumeRole"` + extra + `}]}`
	}
	role := func(acct, name, trust string, policy string) {
		t.Helper()
		r := store.Role{ID: "AROA" + strings.ToUpper(fmt.Sprintf("%016x", len(name)*7919+int(acct[0]))), Name: name, Path: "/",
			ARN: "arn:aws:iam::" + acct + ":role/" + name, AssumeRolePolicyDocument: trust, MaxSessionDuration: 3600, CreatedAt: time.Now()}
		if policy != "" {
			r.InlinePolicies = map[string]string{"inline": policy}
		}
		if err := stores[acct].CreateRole(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	hub := "arn:aws:iam::" + acctA + ":role/hub"
	role(acctA, "hub", trust(acctA, ""), `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole","Resource":"arn:aws:iam::`+acctB+`:role/*"}]}`)
	role(acctA, "reader", trust(acctA, ""), `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}`)
	role(acctA, "local", trust(hub, ""), "")
	role(acctB, "deploy", trust(hub, ""), "")
	role(acctB, "deploy-from-c", trust(acctC, ""), "")
	role(acctB, "deploy-external", trust("arn:aws:iam::"+acctA+":root", `,"Condition":{"StringEquals":{"sts:ExternalId":"ext-7f3a"}}`), "")
	role(acctB, "deploy-for-reader", trust("arn:aws:iam::"+acctA+":role/reader", ""), "")
	role(acctB, "deploy-denies", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"`+acctA+`"},"Action":"sts:AssumeRole"},{"Sid":"NoHub","Effect":"Deny","Principal":{"AWS":"`+hub+`"},"Action":"sts:AssumeRole"}]}`, "")
	role(acctB, "next", trust("arn:aws:iam::"+acctB+":role/deploy", ""), "")
	return stores
}

func storeOf(stores map[string]store.Store) func(context.Context, string) (store.Store, error) {
	return func(_ context.Context, id string) (store.Store, error) {
		if st, ok := stores[id]; ok {
			return st, nil
		}
		return nil, fmt.Errorf("no local account %s", id)
	}
}

// TestChainHops: each AssumeRole hop is decided as STS decides it (across
// accounts both the trust policy and the caller's identity policies must allow,
// within one account a trust policy naming the caller suffices) and reported
// with the side that refused and a fix; a chain stops at its first failing hop.
func TestChainHops(t *testing.T) {
	stores := accounts(t)
	hubSession := "arn:aws:sts::" + acctA + ":assumed-role/hub/step"
	roleB := func(name string) string { return "arn:aws:iam::" + acctB + ":role/" + name }
	for _, tc := range []struct {
		name       string
		caller     string
		roles      []string
		externalID string
		verdict    Verdict
		failedHop  int
		failed     string            // the failing hop's Failed
		statuses   map[string]Status // check id → status, of the last hop
		text       []string          // in WriteText's output
	}{
		{name: "both sides allow", caller: hubSession, roles: []string{roleB("deploy")}, verdict: VerdictAdmitted,
			statuses: map[string]Status{"trust": Pass, "identity": Pass},
			text:     []string{"Hop 1: " + hubSession + " → " + roleB("deploy") + " (sts:AssumeRole, across accounts " + acctA + " → " + acctB + ")", "Result: ADMITTED"}},
		{name: "trust policy names another account", caller: hubSession, roles: []string{roleB("deploy-from-c")}, verdict: VerdictDenied, failedHop: 1,
			failed:   "trust policy of " + roleB("deploy-from-c") + " in account " + acctB,
			statuses: map[string]Status{"trust": Fail, "identity": Pass},
			text: []string{"FAIL  the trust policy of " + roleB("deploy-from-c") + " in account " + acctB + " allows " + hubSession,
				`add {"Action":"sts:AssumeRole","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::` + acctA + `:role/hub"}} to the trust policy of ` + roleB("deploy-from-c"),
				"Result: DENIED at hop 1 (sts:AssumeRole of " + roleB("deploy-from-c") + "): refused by the trust policy of " + roleB("deploy-from-c") + " in account " + acctB}},
		{name: "identity policy lacks sts:AssumeRole", caller: "arn:aws:sts::" + acctA + ":assumed-role/reader/step", roles: []string{roleB("deploy-for-reader")},
			verdict: VerdictDenied, failedHop: 1, failed: "identity policies of role arn:aws:iam::" + acctA + ":role/reader in account " + acctA,
			statuses: map[string]Status{"trust": Pass, "identity": Fail},
			text: []string{"aws iam put-role-policy --role-name reader --policy-name assume-deploy-for-reader",
				"why:    ImplicitlyDenied: the trust policy in account " + acctB + " allows"}},
		{name: "external ID missing", caller: hubSession, roles: []string{roleB("deploy-external")}, verdict: VerdictDenied, failedHop: 1,
			failed:   "trust policy of " + roleB("deploy-external") + " in account " + acctB,
			statuses: map[string]Status{"condition": Fail, "trust": Fail, "identity": Pass},
			text:     []string{`FAIL  statement #0 (Allow): StringEquals on sts:ExternalId`, "here with --external-id ID"}},
		{name: "external ID given", caller: hubSession, roles: []string{roleB("deploy-external")}, externalID: "ext-7f3a", verdict: VerdictAdmitted,
			statuses: map[string]Status{"trust": Pass, "identity": Pass}},
		{name: "trust policy denies", caller: hubSession, roles: []string{roleB("deploy-denies")}, verdict: VerdictDenied, failedHop: 1,
			failed: "trust policy of " + roleB("deploy-denies") + " in account " + acctB, statuses: map[string]Status{"trust": Fail},
			text: []string{`"NoHub"`, "refuses this caller on purpose"}},
		{name: "same account, trust names the caller", caller: hubSession, roles: []string{"arn:aws:iam::" + acctA + ":role/local"}, verdict: VerdictAdmitted,
			statuses: map[string]Status{"trust": Pass, "identity": Pass}},
		{name: "chain stops at its first failing hop", caller: hubSession, roles: []string{roleB("deploy-from-c"), roleB("deploy")}, verdict: VerdictDenied, failedHop: 1,
			failed: "trust policy of " + roleB("deploy-from-c") + " in account " + acctB},
		{name: "chain into B then within B", caller: hubSession, roles: []string{roleB("deploy"), roleB("next")}, verdict: VerdictAdmitted,
			statuses: map[string]Status{"trust": Pass, "identity": Pass},
			text:     []string{"Hop 2: arn:aws:sts::" + acctB + ":assumed-role/deploy/step → " + roleB("next") + " (sts:AssumeRole)", "every hop (2)"}},
		{name: "second hop fails", caller: hubSession, roles: []string{roleB("deploy"), roleB("deploy-from-c")}, verdict: VerdictDenied, failedHop: 2,
			failed: "trust policy of " + roleB("deploy-from-c") + " in account " + acctB, text: []string{"Result: DENIED at hop 2"}},
		{name: "root user", caller: "arn:aws:iam::" + acctA + ":root", roles: []string{roleB("deploy")}, verdict: VerdictDenied, failedHop: 1,
			failed: "the caller: a root user", statuses: map[string]Status{"caller": Fail}},
		{name: "no such role", caller: hubSession, roles: []string{roleB("nope")}, verdict: VerdictDenied, failedHop: 1,
			failed: "account " + acctB + " has no role " + roleB("nope"), statuses: map[string]Status{"role": Fail}},
		{name: "role of an account not served", caller: hubSession, roles: []string{"arn:aws:iam::" + acctC + ":role/x"}, verdict: VerdictDenied, failedHop: 1,
			statuses: map[string]Status{"role": Fail}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rep, err := Chain(t.Context(), ChainInput{Caller: tc.caller, Roles: tc.roles, Store: storeOf(stores), ExternalID: tc.externalID,
				SessionName: "step", Now: time.Now()})
			if err != nil {
				t.Fatal(err)
			}
			if rep.Verdict != tc.verdict || rep.Admitted != (tc.verdict == VerdictAdmitted) || rep.FailedHop != tc.failedHop {
				t.Fatalf("verdict %s (admitted %v), failed hop %d; want %s, %d", rep.Verdict, rep.Admitted, rep.FailedHop, tc.verdict, tc.failedHop)
			}
			want := len(tc.roles)
			if tc.failedHop > 0 {
				want = tc.failedHop
			}
			if len(rep.Hops) != want {
				t.Fatalf("%d hops reported, want %d", len(rep.Hops), want)
			}
			last := rep.Hops[len(rep.Hops)-1]
			if tc.failed != "" && last.Failed != tc.failed {
				t.Errorf("failed side %q, want %q", last.Failed, tc.failed)
			}
			got := map[string]Status{}
			for _, c := range last.Checks {
				got[c.ID] = c.Status
			}
			for id, st := range tc.statuses {
				if got[id] != st {
					t.Errorf("check %s is %q, want %s (checks %v)", id, got[id], st, got)
				}
			}
			var b strings.Builder
			if err := rep.WriteText(&b); err != nil {
				t.Fatal(err)
			}
			for _, w := range tc.text {
				if !strings.Contains(b.String(), w) {
					t.Errorf("text lacks %q:\n%s", w, b.String())
				}
			}
		})
	}
}

// TestChainAfterWebIdentity: after the web identity hop the first AssumeRole
// hop's caller is a session of the token's role, and a denied token stops the
// chain at hop 1.
func TestChainAfterWebIdentity(t *testing.T) {
	stores := accounts(t)
	hub := "arn:aws:iam::" + acctA + ":role/hub"
	deploy := "arn:aws:iam::" + acctB + ":role/deploy"
	admitted := Report{RoleARN: hub, Verdict: VerdictAdmitted, Admitted: true, Checks: []Check{{ID: "token", Status: Pass, Title: "the token is a JWT"}}}
	rep, err := Chain(t.Context(), ChainInput{WebIdentity: &admitted, Roles: []string{deploy}, Store: storeOf(stores), SessionName: "bb-42"})
	if err != nil {
		t.Fatal(err)
	}
	if !rep.Admitted || len(rep.Hops) != 2 || rep.Hops[1].Caller != "arn:aws:sts::"+acctA+":assumed-role/hub/bb-42" {
		t.Fatalf("chain after an admitted token: %+v", rep)
	}
	var b strings.Builder
	if err := rep.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	if want := "Hop 1: web identity token → " + hub + " (sts:AssumeRoleWithWebIdentity)\n    PASS  the token is a JWT\n"; !strings.Contains(b.String(), want) {
		t.Errorf("text lacks %q:\n%s", want, b.String())
	}

	denied := Report{RoleARN: hub, Verdict: VerdictDenied, Checks: []Check{{ID: "token", Status: Fail, Title: "the step has a web identity token"}}}
	rep, err = Chain(t.Context(), ChainInput{WebIdentity: &denied, Roles: []string{deploy}, Store: storeOf(stores)})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Verdict != VerdictDenied || rep.FailedHop != 1 || len(rep.Hops) != 1 {
		t.Errorf("chain after a denied token: verdict %s, failed hop %d, %d hops; want DENIED at hop 1 alone", rep.Verdict, rep.FailedHop, len(rep.Hops))
	}
}

// TestCallerFromARN: a caller ARN becomes the principal STS would see, read from
// its account's store, and a bad or unknown one is refused saying what to give.
func TestCallerFromARN(t *testing.T) {
	stores := accounts(t)
	ctx := t.Context()
	if err := stores[acctA].CreateUser(ctx, store.User{ID: "AIDAALICE00000000000", Name: "alice", Path: "/", ARN: "arn:aws:iam::" + acctA + ":user/alice", CreatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		arn, wantARN, wantErr string
	}{
		{arn: "arn:aws:sts::" + acctA + ":assumed-role/hub/step", wantARN: "arn:aws:sts::" + acctA + ":assumed-role/hub/step"},
		{arn: "arn:aws:iam::" + acctA + ":user/alice", wantARN: "arn:aws:iam::" + acctA + ":user/alice"},
		{arn: "arn:aws:iam::" + acctA + ":root", wantARN: "arn:aws:iam::" + acctA + ":root"},
		{arn: "hub", wantErr: `caller "hub" is not an ARN: give a role session`},
		{arn: "arn:aws:sts::" + acctA + ":assumed-role/gone/step", wantErr: "account " + acctA + " has no role gone"},
		{arn: "arn:aws:iam::" + acctA + ":user/bob", wantErr: "account " + acctA + " has no user bob"},
		{arn: "arn:aws:iam::" + acctA + ":role/hub", wantErr: "give a role session (arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION)"},
	} {
		p, err := CallerFromARN(ctx, stores[acctA], tc.arn)
		switch {
		case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
			t.Errorf("CallerFromARN(%s): %v, want an error with %q", tc.arn, err, tc.wantErr)
		case tc.wantErr == "" && (err != nil || p.ARN != tc.wantARN || p.Account != acctA):
			t.Errorf("CallerFromARN(%s): %+v, %v; want %s of %s", tc.arn, p, err, tc.wantARN, acctA)
		}
	}
}

// TestChainJSON: the JSON of a chain names each hop, the failing hop and its side.
func TestChainJSON(t *testing.T) {
	stores := accounts(t)
	deny := "arn:aws:iam::" + acctB + ":role/deploy-from-c"
	rep, err := Chain(t.Context(), ChainInput{Caller: "arn:aws:sts::" + acctA + ":assumed-role/hub/step", Roles: []string{deny}, Store: storeOf(stores)})
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(rep)
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		Verdict   string `json:"verdict"`
		FailedHop int    `json:"failedHop"`
		Hops      []struct {
			Hop          int    `json:"hop"`
			Action       string `json:"action"`
			Caller       string `json:"caller"`
			RoleARN      string `json:"roleArn"`
			CrossAccount bool   `json:"crossAccount"`
			Failed       string `json:"failed"`
			Explanation  string `json:"explanation"`
		} `json:"hops"`
	}
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	if got.Verdict != "DENIED" || got.FailedHop != 1 || len(got.Hops) != 1 {
		t.Fatalf("JSON %s", b)
	}
	h := got.Hops[0]
	if h.Hop != 1 || h.Action != "sts:AssumeRole" || h.RoleARN != deny || !h.CrossAccount ||
		h.Failed != "trust policy of "+deny+" in account "+acctB || !strings.Contains(h.Explanation, "the trust policy in account "+acctB+" does not allow the caller") {
		t.Errorf("JSON hop %+v", h)
	}
}

// TestChainBadARNs: a chain refuses a caller or role that is not an ARN before
// reading any store.
func TestChainBadARNs(t *testing.T) {
	stores := accounts(t)
	for _, tc := range []struct {
		caller, role, want string
	}{
		{"hub", "arn:aws:iam::" + acctB + ":role/deploy", `caller "hub" is not an ARN`},
		{"arn:aws:sts::" + acctA + ":assumed-role/hub/step", "deploy", `role "deploy" is not an ARN`},
	} {
		_, err := Chain(t.Context(), ChainInput{Caller: tc.caller, Roles: []string{tc.role}, Store: storeOf(stores)})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Chain(%s → %s): %v, want an error with %q", tc.caller, tc.role, err, tc.want)
		}
	}
}
