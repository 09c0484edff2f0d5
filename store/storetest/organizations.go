package storetest

import (
	"errors"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/keyless-dev/keyless/store"
)

// RunOrganizations runs the conformance suite of store.OrganizationStore.
// open must return a new, empty store for each call and close it when the
// test ends. Beyond the interface's comments, the suite pins down:
//
//   - Creating an organization stores its root and management account with
//     it, or (a management account that is a member elsewhere, a taken ID)
//     nothing at all.
//   - An OU's name is unique under its parent only; a parent of another
//     organization, or none, is ErrNotFound; a root is no OU.
//   - Creating an account stores its request's record with it, or (a taken
//     ID, email address or request ID; a missing parent) neither.
//   - Email addresses collide case-insensitively and read back as given.
//   - A move to a parent that is not in the account's organization, and a
//     callback that changes the account's key fields, write nothing.
//   - Concurrent creations of distinct accounts all land; of one account ID,
//     exactly one does.
//   - A handshake's update changes its state alone; the member account it
//     returns is created with the new state, or (a taken ID or email, a
//     missing parent) neither is written.
func RunOrganizations(t *testing.T, open func(t *testing.T) store.OrganizationStore) {
	t.Helper()
	tests := []struct {
		name string
		fn   func(t *testing.T, s store.OrganizationStore)
	}{
		{"CreateGet", testOrgCreateGet},
		{"OrganizationalUnits", testOrgUnits},
		{"Accounts", testOrgAccounts},
		{"Move", testOrgMove},
		{"AccountRequests", testOrgAccountRequests},
		{"ConcurrentAccounts", testOrgConcurrentAccounts},
		{"Handshakes", testOrgHandshakes},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.fn(t, open(t))
		})
	}
}

// testOrg returns organization n (0…9) with management account mgmt.
func testOrg(n int, mgmt string) (store.Organization, store.OrgAccount) {
	id := fmt.Sprintf("o-%010d", n)
	root := fmt.Sprintf("r-%04d", n)
	arn := "arn:aws:organizations::" + mgmt + ":"
	o := store.Organization{
		ID: id, ARN: arn + "organization/" + id, FeatureSet: "ALL",
		ManagementAccountID: mgmt, ManagementAccountARN: arn + "account/" + id + "/" + mgmt, ManagementAccountEmail: mgmt + "@example.com",
		Root:      store.OrgRoot{ID: root, ARN: arn + "root/" + id + "/" + root, Name: "Root"},
		CreatedAt: at(time.Duration(n) * time.Hour),
	}
	return o, orgAccount(o, mgmt, root, "management", "INVITED")
}

// orgAccount returns a member account of o under parent.
func orgAccount(o store.Organization, id, parent, name, joined string) store.OrgAccount {
	return store.OrgAccount{ID: id, ARN: "arn:aws:organizations::" + o.ManagementAccountID + ":account/" + o.ID + "/" + id,
		Name: name, Email: id + "@example.com", OrganizationID: o.ID, ParentID: parent, Status: "ACTIVE",
		JoinedMethod: joined, JoinedAt: at(time.Minute)}
}

// orgUnit returns an OU of o under parent.
func orgUnit(o store.Organization, id, parent, name string) store.OrganizationalUnit {
	return store.OrganizationalUnit{ID: id, ARN: "arn:aws:organizations::" + o.ManagementAccountID + ":ou/" + o.ID + "/" + id,
		Name: name, OrganizationID: o.ID, ParentID: parent, CreatedAt: at(time.Second)}
}

// accountRequest returns the record of a successful CreateAccount of a.
func accountRequest(id string, a store.OrgAccount) store.CreateAccountStatus {
	return store.CreateAccountStatus{ID: id, OrganizationID: a.OrganizationID, AccountName: a.Name, State: "SUCCEEDED",
		AccountID: a.ID, RequestedAt: at(time.Minute), CompletedAt: at(time.Minute)}
}

// wantOrgRecord returns v as a backend must read it back (times normalised).
func wantOrgRecord[T any](v T) T {
	switch x := any(&v).(type) {
	case *store.Organization:
		x.CreatedAt = norm(x.CreatedAt)
	case *store.OrganizationalUnit:
		x.CreatedAt = norm(x.CreatedAt)
	case *store.OrgAccount:
		x.JoinedAt = norm(x.JoinedAt)
	case *store.CreateAccountStatus:
		x.RequestedAt, x.CompletedAt = norm(x.RequestedAt), norm(x.CompletedAt)
	case *store.Handshake:
		x.RequestedAt, x.ExpiresAt = norm(x.RequestedAt), norm(x.ExpiresAt)
	default:
		panic(fmt.Sprintf("storetest: wantOrgRecord: unexpected type %T", v))
	}
	return v
}

// checkOrg fails the test unless err is nil and got is exp as read back.
func checkOrg[T any](t *testing.T, op string, got T, err error, exp T) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", op, err)
	}
	if w := wantOrgRecord(exp); !reflect.DeepEqual(got, w) {
		t.Fatalf("%s:\n got %+v\nwant %+v", op, got, w)
	}
}

// checkOrgList fails the test unless err is nil and got is exp, in order.
func checkOrgList[T any](t *testing.T, op string, got []T, err error, exp ...T) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", op, err)
	}
	var w []T
	for _, e := range exp {
		w = append(w, wantOrgRecord(e))
	}
	if len(got) != len(w) || (len(w) > 0 && !reflect.DeepEqual(got, w)) {
		t.Fatalf("%s:\n got %+v\nwant %+v", op, got, w)
	}
}

func testOrgCreateGet(t *testing.T, s store.OrganizationStore) {
	ctx := t.Context()
	o, mgmt := testOrg(1, "111111111111")
	must(t, "CreateOrganization", s.CreateOrganization(ctx, o, mgmt))
	got, err := s.GetOrganization(ctx, o.ID)
	checkOrg(t, "GetOrganization", got, err, o)
	acct, err := s.GetOrgAccount(ctx, mgmt.ID)
	checkOrg(t, "GetOrgAccount of the management account", acct, err, mgmt)
	got, err = s.GetOrganizationByRoot(ctx, o.Root.ID)
	checkOrg(t, "GetOrganizationByRoot", got, err, o)
	_, err = s.GetOrganization(ctx, "o-9999999999")
	wantErr(t, "GetOrganization of a missing ID", err, store.ErrNotFound)
	_, err = s.GetOrganizationByRoot(ctx, "r-9999")
	wantErr(t, "GetOrganizationByRoot of a missing root", err, store.ErrNotFound)
	_, err = s.GetOrganizationByRoot(ctx, o.ID)
	wantErr(t, "GetOrganizationByRoot of an organization ID", err, store.ErrNotFound)

	// The same ID again, or the same management account in another
	// organization: nothing of the second is stored.
	wantErr(t, "CreateOrganization of a taken ID", s.CreateOrganization(ctx, o, orgAccount(o, "222222222222", o.Root.ID, "m", "INVITED")), store.ErrAlreadyExists)
	if _, err := s.GetOrgAccount(ctx, "222222222222"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("the refused organization's management account was stored: %v", err)
	}
	o2, _ := testOrg(2, "111111111111")
	mgmt2 := orgAccount(o2, "111111111111", o2.Root.ID, "again", "INVITED")
	mgmt2.Email = "other@example.com"
	wantErr(t, "CreateOrganization by a member of another", s.CreateOrganization(ctx, o2, mgmt2), store.ErrAlreadyExists)
	if _, err := s.GetOrganization(ctx, o2.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("the refused organization was stored in part: %v", err)
	}
	if ous, err := s.ListOrganizationalUnits(ctx, o2.Root.ID); err != nil || len(ous) != 0 {
		t.Fatalf("the refused organization's root has OUs: %v, %v", ous, err)
	}
	o3, mgmt3 := testOrg(3, "333333333333")
	must(t, "CreateOrganization of a second organization", s.CreateOrganization(ctx, o3, mgmt3))
	got, err = s.GetOrganization(ctx, o3.ID)
	checkOrg(t, "GetOrganization of the second", got, err, o3)
}

func testOrgUnits(t *testing.T, s store.OrganizationStore) {
	ctx := t.Context()
	o, mgmt := testOrg(1, "111111111111")
	must(t, "CreateOrganization", s.CreateOrganization(ctx, o, mgmt))
	other, otherMgmt := testOrg(2, "222222222222")
	must(t, "CreateOrganization", s.CreateOrganization(ctx, other, otherMgmt))

	dev := orgUnit(o, "ou-0001-bbbbbbbb", o.Root.ID, "dev")
	prod := orgUnit(o, "ou-0001-aaaaaaaa", o.Root.ID, "prod")
	team := orgUnit(o, "ou-0001-cccccccc", dev.ID, "prod") // a name taken under another parent
	for _, ou := range []store.OrganizationalUnit{dev, prod, team} {
		must(t, "CreateOrganizationalUnit "+ou.ID, s.CreateOrganizationalUnit(ctx, ou))
	}
	got, err := s.GetOrganizationalUnit(ctx, team.ID)
	checkOrg(t, "GetOrganizationalUnit", got, err, team)
	ous, err := s.ListOrganizationalUnits(ctx, o.Root.ID)
	checkOrgList(t, "ListOrganizationalUnits of the root", ous, err, prod, dev)
	ous, err = s.ListOrganizationalUnits(ctx, dev.ID)
	checkOrgList(t, "ListOrganizationalUnits of dev", ous, err, team)
	ous, err = s.ListOrganizationalUnits(ctx, "ou-0001-zzzzzzzz")
	checkOrgList(t, "ListOrganizationalUnits of a missing parent", ous, err)

	refused := []struct {
		name   string
		ou     store.OrganizationalUnit
		target error
	}{
		{"a name taken under the parent", orgUnit(o, "ou-0001-dddddddd", o.Root.ID, "dev"), store.ErrAlreadyExists},
		{"a taken ID", orgUnit(o, dev.ID, prod.ID, "new"), store.ErrAlreadyExists},
		{"a missing parent", orgUnit(o, "ou-0001-eeeeeeee", "ou-0001-zzzzzzzz", "x"), store.ErrNotFound},
		{"a parent of another organization", orgUnit(o, "ou-0001-ffffffff", other.Root.ID, "x"), store.ErrNotFound},
		{"no parent", orgUnit(o, "ou-0001-gggggggg", "", "x"), store.ErrNotFound},
	}
	for _, tc := range refused {
		wantErr(t, "CreateOrganizationalUnit with "+tc.name, s.CreateOrganizationalUnit(ctx, tc.ou), tc.target)
		if tc.ou.ID != dev.ID {
			if _, err := s.GetOrganizationalUnit(ctx, tc.ou.ID); !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("the OU refused for %s was stored: %v", tc.name, err)
			}
		}
	}
	_, err = s.GetOrganizationalUnit(ctx, o.Root.ID)
	wantErr(t, "GetOrganizationalUnit of a root", err, store.ErrNotFound)
}

func testOrgAccounts(t *testing.T, s store.OrganizationStore) {
	ctx := t.Context()
	o, mgmt := testOrg(1, "111111111111")
	must(t, "CreateOrganization", s.CreateOrganization(ctx, o, mgmt))
	other, otherMgmt := testOrg(2, "999999999999")
	must(t, "CreateOrganization", s.CreateOrganization(ctx, other, otherMgmt))
	ou := orgUnit(o, "ou-0001-aaaaaaaa", o.Root.ID, "dev")
	must(t, "CreateOrganizationalUnit", s.CreateOrganizationalUnit(ctx, ou))

	a := orgAccount(o, "555555555555", ou.ID, "app", "CREATED")
	a.Email = "App.Owner@Example.com"
	b := orgAccount(o, "444444444444", o.Root.ID, "logs", "CREATED")
	reqA, reqB := accountRequest("car-aaaaaaaa", a), accountRequest("car-bbbbbbbb", b)
	must(t, "CreateOrgAccount a", s.CreateOrgAccount(ctx, a, reqA))
	must(t, "CreateOrgAccount b", s.CreateOrgAccount(ctx, b, reqB))
	got, err := s.GetOrgAccount(ctx, a.ID)
	checkOrg(t, "GetOrgAccount", got, err, a)
	got, err = s.GetOrgAccountByEmail(ctx, "app.owner@example.COM")
	checkOrg(t, "GetOrgAccountByEmail in another case", got, err, a)
	_, err = s.GetOrgAccountByEmail(ctx, "nobody@example.com")
	wantErr(t, "GetOrgAccountByEmail of an unknown address", err, store.ErrNotFound)
	req, err := s.GetAccountRequest(ctx, reqA.ID)
	checkOrg(t, "GetAccountRequest", req, err, reqA)

	all, err := s.ListOrgAccounts(ctx, o.ID, "")
	checkOrgList(t, "ListOrgAccounts of the organization", all, err, mgmt, b, a)
	under, err := s.ListOrgAccounts(ctx, o.ID, o.Root.ID)
	checkOrgList(t, "ListOrgAccounts of the root", under, err, mgmt, b)
	under, err = s.ListOrgAccounts(ctx, o.ID, ou.ID)
	checkOrgList(t, "ListOrgAccounts of the OU", under, err, a)
	under, err = s.ListOrgAccounts(ctx, other.ID, "")
	checkOrgList(t, "ListOrgAccounts of the other organization", under, err, otherMgmt)

	dupEmail := orgAccount(o, "666666666666", o.Root.ID, "dup", "CREATED")
	dupEmail.Email = "APP.OWNER@example.com"
	refused := []struct {
		name   string
		a      store.OrgAccount
		req    store.CreateAccountStatus
		target error
	}{
		{"a taken ID", orgAccount(o, a.ID, o.Root.ID, "again", "CREATED"), accountRequest("car-cccccccc", a), store.ErrAlreadyExists},
		{"the management account's ID", orgAccount(o, mgmt.ID, o.Root.ID, "again", "CREATED"), accountRequest("car-dddddddd", mgmt), store.ErrAlreadyExists},
		{"a taken email address", dupEmail, accountRequest("car-eeeeeeee", dupEmail), store.ErrAlreadyExists},
		{"a taken request ID", orgAccount(o, "777777777777", o.Root.ID, "x", "CREATED"), accountRequest(reqA.ID, a), store.ErrAlreadyExists},
		{"a missing parent", orgAccount(o, "888888888888", "ou-0001-zzzzzzzz", "x", "CREATED"), accountRequest("car-ffffffff", a), store.ErrNotFound},
		{"a parent of another organization", orgAccount(o, "888888888888", other.Root.ID, "x", "CREATED"), accountRequest("car-gggggggg", a), store.ErrNotFound},
	}
	for _, tc := range refused {
		wantErr(t, "CreateOrgAccount with "+tc.name, s.CreateOrgAccount(ctx, tc.a, tc.req), tc.target)
		if tc.req.ID != reqA.ID {
			if _, err := s.GetAccountRequest(ctx, tc.req.ID); !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("CreateOrgAccount with %s stored the request's record: %v", tc.name, err)
			}
		}
	}
	all, err = s.ListOrgAccounts(ctx, o.ID, "")
	checkOrgList(t, "ListOrgAccounts after the refusals", all, err, mgmt, b, a)
}

func testOrgMove(t *testing.T, s store.OrganizationStore) {
	ctx := t.Context()
	o, mgmt := testOrg(1, "111111111111")
	must(t, "CreateOrganization", s.CreateOrganization(ctx, o, mgmt))
	other, otherMgmt := testOrg(2, "222222222222")
	must(t, "CreateOrganization", s.CreateOrganization(ctx, other, otherMgmt))
	ou := orgUnit(o, "ou-0001-aaaaaaaa", o.Root.ID, "dev")
	must(t, "CreateOrganizationalUnit", s.CreateOrganizationalUnit(ctx, ou))
	a := orgAccount(o, "555555555555", o.Root.ID, "app", "CREATED")
	must(t, "CreateOrgAccount", s.CreateOrgAccount(ctx, a, accountRequest("car-aaaaaaaa", a)))

	moved := a
	moved.ParentID, moved.Name = ou.ID, "app-renamed"
	must(t, "UpdateOrgAccount (move)", s.UpdateOrgAccount(ctx, a.ID, func(cur store.OrgAccount) (store.OrgAccount, error) {
		if cur.ParentID != o.Root.ID {
			t.Errorf("the callback got parent %q, want the root", cur.ParentID)
		}
		cur.ParentID, cur.Name = ou.ID, "app-renamed"
		return cur, nil
	}))
	got, err := s.GetOrgAccount(ctx, a.ID)
	checkOrg(t, "GetOrgAccount after the move", got, err, moved)
	under, err := s.ListOrgAccounts(ctx, o.ID, ou.ID)
	checkOrgList(t, "ListOrgAccounts of the OU after the move", under, err, moved)

	refusal := errors.New("refused")
	refused := []struct {
		name   string
		fn     func(store.OrgAccount) (store.OrgAccount, error)
		target error
	}{
		{"a missing parent", func(c store.OrgAccount) (store.OrgAccount, error) { c.ParentID = "ou-0001-zzzzzzzz"; return c, nil }, store.ErrNotFound},
		{"a parent of another organization", func(c store.OrgAccount) (store.OrgAccount, error) { c.ParentID = other.Root.ID; return c, nil }, store.ErrNotFound},
		{"no parent", func(c store.OrgAccount) (store.OrgAccount, error) { c.ParentID = ""; return c, nil }, store.ErrNotFound},
		{"the callback's error", func(c store.OrgAccount) (store.OrgAccount, error) { c.ParentID = o.Root.ID; return c, refusal }, refusal},
	}
	for _, tc := range refused {
		wantErr(t, "UpdateOrgAccount to "+tc.name, s.UpdateOrgAccount(ctx, a.ID, tc.fn), tc.target)
	}
	for _, change := range []func(*store.OrgAccount){
		func(c *store.OrgAccount) { c.ID = "666666666666" },
		func(c *store.OrgAccount) { c.OrganizationID = other.ID },
		func(c *store.OrgAccount) { c.Email = "new@example.com" },
	} {
		err := s.UpdateOrgAccount(ctx, a.ID, func(c store.OrgAccount) (store.OrgAccount, error) { change(&c); return c, nil })
		if err == nil {
			t.Fatalf("UpdateOrgAccount changing a key field succeeded")
		}
	}
	got, err = s.GetOrgAccount(ctx, a.ID)
	checkOrg(t, "GetOrgAccount after the refused updates", got, err, moved)
	wantErr(t, "UpdateOrgAccount of a missing account", s.UpdateOrgAccount(ctx, "000000000009", noCall[store.OrgAccount](t)), store.ErrNotFound)
}

func testOrgAccountRequests(t *testing.T, s store.OrganizationStore) {
	ctx := t.Context()
	o, mgmt := testOrg(1, "111111111111")
	must(t, "CreateOrganization", s.CreateOrganization(ctx, o, mgmt))
	failed := store.CreateAccountStatus{ID: "car-ffffffff", OrganizationID: o.ID, AccountName: "dup", State: "FAILED",
		FailureReason: "EMAIL_ALREADY_EXISTS", RequestedAt: at(time.Minute), CompletedAt: at(time.Minute)}
	must(t, "CreateAccountRequest", s.CreateAccountRequest(ctx, failed))
	got, err := s.GetAccountRequest(ctx, failed.ID)
	checkOrg(t, "GetAccountRequest", got, err, failed)
	wantErr(t, "CreateAccountRequest of a taken ID", s.CreateAccountRequest(ctx, failed), store.ErrAlreadyExists)
	_, err = s.GetAccountRequest(ctx, "car-00000000")
	wantErr(t, "GetAccountRequest of a missing ID", err, store.ErrNotFound)
}

func testOrgConcurrentAccounts(t *testing.T, s store.OrganizationStore) {
	ctx := t.Context()
	o, mgmt := testOrg(1, "111111111111")
	must(t, "CreateOrganization", s.CreateOrganization(ctx, o, mgmt))
	const n = 8
	var wg sync.WaitGroup
	errs := make([]error, 2*n)
	for i := range n {
		wg.Go(func() {
			a := orgAccount(o, fmt.Sprintf("5000000000%02d", i), o.Root.ID, "distinct", "CREATED")
			errs[i] = s.CreateOrgAccount(ctx, a, accountRequest(fmt.Sprintf("car-a00000%02d", i), a))
		})
		wg.Go(func() {
			a := orgAccount(o, "600000000000", o.Root.ID, "same", "CREATED")
			a.Email = fmt.Sprintf("same%d@example.com", i)
			errs[n+i] = s.CreateOrgAccount(ctx, a, accountRequest(fmt.Sprintf("car-b00000%02d", i), a))
		})
	}
	wg.Wait()
	created := 0
	for i, err := range errs {
		switch {
		case i < n && err != nil:
			t.Fatalf("concurrent CreateOrgAccount of a distinct account: %v", err)
		case i >= n && err == nil:
			created++
		case i >= n && !errors.Is(err, store.ErrAlreadyExists):
			t.Fatalf("concurrent CreateOrgAccount of one ID: %v, want ErrAlreadyExists", err)
		}
	}
	if created != 1 {
		t.Fatalf("%d concurrent creations of one account ID succeeded, want 1", created)
	}
	all, err := s.ListOrgAccounts(ctx, o.ID, "")
	if err != nil || len(all) != n+2 {
		t.Fatalf("ListOrgAccounts after the concurrent creations: %d accounts, %v; want %d", len(all), err, n+2)
	}
}

// handshake returns an OPEN invitation of o to target (an account ID).
func handshake(o store.Organization, id, target string) store.Handshake {
	return store.Handshake{ID: id, ARN: "arn:aws:organizations::" + o.ManagementAccountID + ":handshake/" + o.ID + "/invite/" + id,
		OrganizationID: o.ID, Action: "INVITE", State: "OPEN", TargetType: "ACCOUNT", TargetID: target, Notes: "join us",
		RequestedAt: at(time.Minute), ExpiresAt: at(15 * 24 * time.Hour)}
}

func testOrgHandshakes(t *testing.T, s store.OrganizationStore) {
	ctx := t.Context()
	o, mgmt := testOrg(1, "111111111111")
	must(t, "CreateOrganization", s.CreateOrganization(ctx, o, mgmt))
	other, otherMgmt := testOrg(2, "999999999999")
	must(t, "CreateOrganization", s.CreateOrganization(ctx, other, otherMgmt))

	h1 := handshake(o, "h-00000000000000000000000000000001", "222222222222")
	h2 := handshake(o, "h-00000000000000000000000000000002", "333333333333")
	h3 := handshake(other, "h-00000000000000000000000000000003", "222222222222")
	h3.Notes = ""
	for _, h := range []store.Handshake{h2, h1, h3} {
		must(t, "CreateHandshake "+h.ID, s.CreateHandshake(ctx, h))
	}
	wantErr(t, "CreateHandshake of a taken ID", s.CreateHandshake(ctx, h1), store.ErrAlreadyExists)
	orphan := handshake(store.Organization{ID: "o-0000000009", ManagementAccountID: "111111111111"}, "h-00000000000000000000000000000009", "222222222222")
	wantErr(t, "CreateHandshake of a missing organization", s.CreateHandshake(ctx, orphan), store.ErrNotFound)
	got, err := s.GetHandshake(ctx, h1.ID)
	checkOrg(t, "GetHandshake", got, err, h1)
	_, err = s.GetHandshake(ctx, "h-ffffffffffffffffffffffffffffffff")
	wantErr(t, "GetHandshake of an unknown ID", err, store.ErrNotFound)

	list, err := s.ListHandshakes(ctx, o.ID, "")
	checkOrgList(t, "ListHandshakes of the organization", list, err, h1, h2)
	list, err = s.ListHandshakes(ctx, "", "222222222222")
	checkOrgList(t, "ListHandshakes of the target", list, err, h1, h3)
	list, err = s.ListHandshakes(ctx, other.ID, "222222222222")
	checkOrgList(t, "ListHandshakes of the organization and target", list, err, h3)
	list, err = s.ListHandshakes(ctx, "", "")
	checkOrgList(t, "ListHandshakes of all", list, err, h1, h2, h3)

	// A decline changes the state alone.
	must(t, "UpdateHandshake decline", s.UpdateHandshake(ctx, h2.ID, func(h store.Handshake) (store.Handshake, *store.OrgAccount, error) {
		h.State = "DECLINED"
		return h, nil, nil
	}))
	h2.State = "DECLINED"
	got, err = s.GetHandshake(ctx, h2.ID)
	checkOrg(t, "GetHandshake after the decline", got, err, h2)

	// Refused updates write nothing: another field changed, a member that
	// cannot be created, the callback's error.
	joined := orgAccount(o, "222222222222", o.Root.ID, "invited", "INVITED")
	taken := orgAccount(o, "222222222222", o.Root.ID, "invited", "INVITED")
	taken.Email = mgmt.Email
	lost := orgAccount(o, "222222222222", "ou-0001-zzzzzzzz", "invited", "INVITED")
	boom := errors.New("boom")
	for _, tc := range []struct {
		name   string
		fn     func(store.Handshake) (store.Handshake, *store.OrgAccount, error)
		target error
	}{
		{"a changed target", func(h store.Handshake) (store.Handshake, *store.OrgAccount, error) {
			h.State, h.TargetID = "ACCEPTED", "444444444444"
			return h, nil, nil
		}, nil},
		{"a member whose email is taken", func(h store.Handshake) (store.Handshake, *store.OrgAccount, error) {
			h.State = "ACCEPTED"
			return h, &taken, nil
		}, store.ErrAlreadyExists},
		{"a member whose parent is missing", func(h store.Handshake) (store.Handshake, *store.OrgAccount, error) {
			h.State = "ACCEPTED"
			return h, &lost, nil
		}, store.ErrNotFound},
		{"the callback's error", func(h store.Handshake) (store.Handshake, *store.OrgAccount, error) {
			return h, nil, boom
		}, boom},
	} {
		err := s.UpdateHandshake(ctx, h1.ID, tc.fn)
		if err == nil || tc.target != nil && !errors.Is(err, tc.target) {
			t.Fatalf("UpdateHandshake with %s: %v, want an error (%v)", tc.name, err, tc.target)
		}
		got, err := s.GetHandshake(ctx, h1.ID)
		checkOrg(t, "GetHandshake after the refused update with "+tc.name, got, err, h1)
		if _, err := s.GetOrgAccount(ctx, "222222222222"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("UpdateHandshake with %s created the member: %v", tc.name, err)
		}
	}
	wantErr(t, "UpdateHandshake of an unknown ID", s.UpdateHandshake(ctx, "h-ffffffffffffffffffffffffffffffff",
		func(h store.Handshake) (store.Handshake, *store.OrgAccount, error) { return h, nil, nil }), store.ErrNotFound)

	// An accept creates the member with the new state.
	must(t, "UpdateHandshake accept", s.UpdateHandshake(ctx, h1.ID, func(h store.Handshake) (store.Handshake, *store.OrgAccount, error) {
		h.State = "ACCEPTED"
		return h, &joined, nil
	}))
	h1.State = "ACCEPTED"
	got, err = s.GetHandshake(ctx, h1.ID)
	checkOrg(t, "GetHandshake after the accept", got, err, h1)
	member, err := s.GetOrgAccount(ctx, joined.ID)
	checkOrg(t, "GetOrgAccount of the accepted invitation", member, err, joined)
}
