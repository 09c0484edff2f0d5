package organizations

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/keyless-dev/keyless/policy"
	"github.com/keyless-dev/keyless/store"
)

// TestPrincipalOrgIDAndPaths: the condition keys of an account's
// principals follow it through the organization: its ID, and its path from
// the organization through the root and each OU above it; an account in no
// organization has neither.
func TestPrincipalOrgIDAndPaths(t *testing.T) {
	f := newFixture(t, nil)
	ctx := t.Context()
	oid := str(f.setup(), "Id")
	rid := str(first(f.ok("ListRoots", js()), "Roots"), "Id")
	prod := f.newOU(rid, "prod")
	eu := f.newOU(prod, "eu")
	app := f.newAccount("app", "app@example.com")
	f.ok("MoveAccount", js("AccountId", app, "SourceParentId", rid, "DestinationParentId", eu))

	tests := []struct {
		account string
		inOrg   bool
		path    string
	}{
		{mgmtAccount, true, oid + "/" + rid + "/"},
		{app, true, oid + "/" + rid + "/" + prod + "/" + eu + "/"},
		{outsiderAccount, false, ""},
	}
	for _, tc := range tests {
		id, ok, err := f.core.PrincipalOrgID(ctx, tc.account)
		if err != nil || ok != tc.inOrg || tc.inOrg && id != oid || !tc.inOrg && id != "" {
			t.Errorf("PrincipalOrgID(%s) = %q, %v, %v; want %q, %v", tc.account, id, ok, err, oid, tc.inOrg)
		}
		paths, err := f.core.PrincipalOrgPaths(ctx, tc.account)
		want := []string{tc.path}
		if !tc.inOrg {
			want = nil
		}
		if err != nil || !slices.Equal(paths, want) {
			t.Errorf("PrincipalOrgPaths(%s) = %q, %v; want %q", tc.account, paths, err, want)
		}
	}
	// SetPrincipalKeys puts both into a request's condition keys, and
	// nothing for an account in no organization.
	keys := policy.NewContext()
	if err := f.core.SetPrincipalKeys(ctx, keys, app); err != nil {
		t.Fatal(err)
	}
	gotID, _ := keys.Get("aws:PrincipalOrgID")
	gotPaths, _ := keys.Get("aws:PrincipalOrgPaths")
	if !slices.Equal(gotID, []string{oid}) || !slices.Equal(gotPaths, []string{oid + "/" + rid + "/" + prod + "/" + eu + "/"}) {
		t.Errorf("SetPrincipalKeys = %v", keys)
	}
	none := policy.NewContext()
	if err := f.core.SetPrincipalKeys(ctx, none, outsiderAccount); err != nil || len(none) != 0 {
		t.Errorf("SetPrincipalKeys of an outsider = %v, %v; want no keys", none, err)
	}
	// A move changes the path.
	f.ok("MoveAccount", js("AccountId", app, "SourceParentId", eu, "DestinationParentId", prod))
	if paths, err := f.core.PrincipalOrgPaths(ctx, app); err != nil || !slices.Equal(paths, []string{oid + "/" + rid + "/" + prod + "/"}) {
		t.Errorf("PrincipalOrgPaths after the move = %q, %v", paths, err)
	}
}

// TestAccountsHelper: Accounts enumerates the targets of a provisioning
// run: under a root or OU, directly or at any depth, or a whole
// organization; an unknown ID is store.ErrNotFound.
func TestAccountsHelper(t *testing.T) {
	f := newFixture(t, nil)
	ctx := t.Context()
	oid := str(f.setup(), "Id")
	rid := str(first(f.ok("ListRoots", js()), "Roots"), "Id")
	prod := f.newOU(rid, "prod")
	eu := f.newOU(prod, "eu")
	top := f.newAccount("top", "top@example.com")
	mid := f.newAccount("mid", "mid@example.com")
	deep := f.newAccount("deep", "deep@example.com")
	f.ok("MoveAccount", js("AccountId", mid, "SourceParentId", rid, "DestinationParentId", prod))
	f.ok("MoveAccount", js("AccountId", deep, "SourceParentId", rid, "DestinationParentId", eu))

	sorted := func(ids ...string) []string { slices.Sort(ids); return ids }
	tests := []struct {
		id        string
		recursive bool
		want      []string
	}{
		{rid, false, sorted(mgmtAccount, top)},
		{rid, true, append(sorted(mgmtAccount, top), mid, deep)},
		{prod, false, []string{mid}},
		{prod, true, []string{mid, deep}},
		{eu, true, []string{deep}},
		{oid, false, sorted(mgmtAccount, top, mid, deep)},
	}
	for _, tc := range tests {
		as, err := f.core.Accounts(ctx, tc.id, tc.recursive)
		var got []string
		for _, a := range as {
			got = append(got, a.ID)
		}
		if err != nil || !slices.Equal(got, tc.want) {
			t.Errorf("Accounts(%s, recursive %v) = %v, %v; want %v", tc.id, tc.recursive, got, err, tc.want)
		}
	}
	for _, id := range []string{"r-zzzz", "ou-zzzz-zzzzzzzz", "o-zzzzzzzzzz", "123456789012", ""} {
		if _, err := f.core.Accounts(ctx, id, true); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("Accounts(%q) = %v, want store.ErrNotFound", id, err)
		}
	}
}

// TestCreateAccountUniqueIDs: a new account never takes an ID a member has:
// when the random ID drawn is taken (here, the same bytes drawn twice), the
// account is created under another one.
func TestCreateAccountUniqueIDs(t *testing.T) {
	// CreateOrganization draws 20 + 8 bytes; each CreateAccount 64 for the
	// request ID and 24 for the account ID. Zeros for the organization and
	// for two CreateAccount calls: the second draws the first's IDs.
	script := bytes.Repeat([]byte{0}, 28+2*(64+24))
	f := newFixture(t, &scriptedRand{script: bytes.NewReader(script), rest: rand.Reader})
	f.setup()
	a := f.newAccount("a", "a@example.com")
	b := f.newAccount("b", "b@example.com")
	if a != "000000000000" || b == a || !patNewAccount.MatchString(b) {
		t.Fatalf("the accounts' IDs are %s and %s, want 000000000000 and another", a, b)
	}
	as, err := f.core.Accounts(t.Context(), str(first(f.ok("ListRoots", js()), "Roots"), "Id"), false)
	if err != nil || len(as) != 3 {
		t.Fatalf("the root holds %v, %v; want the management account, a and b", as, err)
	}
}

// TestCreateAccountAvoidsAccountsInUse: an ID that AccountInUse reports
// (an account keyless serves outside any organization) is never given to a
// new account.
func TestCreateAccountAvoidsAccountsInUse(t *testing.T) {
	// Zeros for the organization and the first CreateAccount's two IDs.
	script := bytes.Repeat([]byte{0}, 28+64+24)
	f := newFixture(t, &scriptedRand{script: bytes.NewReader(script), rest: rand.Reader})
	var asked []string
	var err error
	f.core, err = NewOrganizations(CoreConfig{Store: f.st, Now: f.clock, Rand: f.core.rand,
		AccountInUse: func(_ context.Context, id string) (bool, error) {
			asked = append(asked, id)
			return id == "000000000000", nil
		}})
	if err != nil {
		t.Fatal(err)
	}
	f.svc.core = f.core
	f.setup()
	id := f.newAccount("a", "a@example.com")
	if id == "000000000000" || len(asked) != 2 || asked[0] != "000000000000" || asked[1] != id {
		t.Fatalf("CreateAccount gave ID %s after asking about %v, want another than the one in use", id, asked)
	}
}

// TestNewRequiresStore: the core and the service name what their
// configuration lacks.
func TestNewRequiresStore(t *testing.T) {
	if _, err := NewOrganizations(CoreConfig{}); err == nil {
		t.Error("NewOrganizations without a Store succeeded")
	}
	if _, err := New(Config{}); err == nil {
		t.Error("New without a Core succeeded")
	}
	f := newFixture(t, nil)
	if _, err := New(Config{Core: f.core}); err == nil {
		t.Error("New without an Authorizer succeeded")
	}
}

// TestConcurrentCreates: racing requests resolve as AWS's would, one
// winner each: of CreateOrganization by one account, one organization and
// AlreadyInOrganizationException for the rest; of CreateAccount with one
// email address, one account and FAILED EMAIL_ALREADY_EXISTS requests for
// the rest.
func TestConcurrentCreates(t *testing.T) {
	f := newFixture(t, nil)
	const n = 6
	orgs := make([]reply, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { orgs[i] = f.call("CreateOrganization", js()) })
	}
	wg.Wait()
	won := 0
	for _, r := range orgs {
		switch {
		case r.err == nil:
			won++
		case r.err.Code != "AlreadyInOrganizationException":
			t.Fatalf("a racing CreateOrganization: %v", r.err)
		}
	}
	if won != 1 {
		t.Fatalf("%d racing CreateOrganization calls succeeded, want 1", won)
	}

	accts := make([]reply, n)
	for i := range n {
		wg.Go(func() {
			accts[i] = f.call("CreateAccount", js("AccountName", fmt.Sprintf("a%d", i), "Email", "same@example.com"))
		})
	}
	wg.Wait()
	states := map[string]int{}
	for _, r := range accts {
		if r.err != nil {
			t.Fatalf("a racing CreateAccount: %v", r.err)
		}
		st := obj(r.out, "CreateAccountStatus")
		states[str(st, "State")+" "+str(st, "FailureReason")]++
	}
	if states["SUCCEEDED "] != 1 || states["FAILED EMAIL_ALREADY_EXISTS"] != n-1 {
		t.Fatalf("racing CreateAccount calls with one address ended %v, want 1 SUCCEEDED and %d FAILED", states, n-1)
	}
	if got := ids(f.ok("ListAccounts", js()), "Accounts"); len(got) != 2 {
		t.Fatalf("after the race the organization has %v, want the management account and one more", got)
	}
}
