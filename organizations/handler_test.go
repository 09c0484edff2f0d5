package organizations

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/keyless-dev/keyless/audit"
	"github.com/keyless-dev/keyless/authn"
	"github.com/keyless-dev/keyless/store"
)

// TestCreateAndDescribeOrganization: before an organization an account gets
// AWSOrganizationsNotInUseException; CreateOrganization answers with AWS's
// IDs and ARNs, the caller as management account; a second one is
// AlreadyInOrganizationException; a member account may describe it.
func TestCreateAndDescribeOrganization(t *testing.T) {
	f := newFixture(t, nil)
	for _, op := range []string{"DescribeOrganization", "ListRoots", "ListAccounts", "CreateAccount"} {
		body := js()
		if op == "CreateAccount" {
			body = js("AccountName", "a", "Email", "a@example.com")
		}
		f.call(op, body).wantErr(t, op+" before an organization", "AWSOrganizationsNotInUseException",
			"Your account is not a member of an organization.", true)
	}
	org := obj(f.ok("CreateOrganization", js()), "Organization")
	id := str(org, "Id")
	if !patOrgID.MatchString(id) || str(org, "Arn") != "arn:aws:organizations::"+mgmtAccount+":organization/"+id ||
		str(org, "FeatureSet") != "ALL" || str(org, "MasterAccountId") != mgmtAccount ||
		str(org, "MasterAccountArn") != "arn:aws:organizations::"+mgmtAccount+":account/"+id+"/"+mgmtAccount ||
		str(org, "MasterAccountEmail") != mgmtAccount+"@keyless.invalid" {
		t.Fatalf("CreateOrganization = %v", org)
	}
	if got := obj(f.ok("DescribeOrganization", ""), "Organization"); fmt.Sprint(got) != fmt.Sprint(org) {
		t.Fatalf("DescribeOrganization = %v, want %v", got, org)
	}
	f.call("CreateOrganization", js()).wantErr(t, "CreateOrganization again", "AlreadyInOrganizationException",
		"The AWS account is already a member of an organization.", true)

	roots, _ := f.ok("ListRoots", js())["Roots"].([]any)
	if len(roots) != 1 {
		t.Fatalf("ListRoots = %v, want one root", roots)
	}
	r := roots[0].(map[string]any)
	rid := str(r, "Id")
	if !patRootIDOut.MatchString(rid) || str(r, "Name") != "Root" ||
		str(r, "Arn") != "arn:aws:organizations::"+mgmtAccount+":root/"+id+"/"+rid {
		t.Fatalf("ListRoots = %v", r)
	}

	// A member account may describe the organization, and nothing else; it
	// cannot create one of its own.
	member := f.newAccount("member", "member@example.com")
	if got := obj(f.okAs(root(member), "DescribeOrganization", js()), "Organization"); str(got, "Id") != id {
		t.Fatalf("DescribeOrganization as a member = %v", got)
	}
	for _, op := range []string{"ListRoots", "ListAccounts", "DescribeAccount"} {
		f.callAs(root(member), op, js("AccountId", member)).wantErr(t, op+" as a member", "AccessDeniedException",
			"You don't have permissions to access this resource.", true)
	}
	f.callAs(root(member), "CreateOrganization", js()).wantErr(t, "CreateOrganization as a member",
		"AlreadyInOrganizationException", "The AWS account is already a member of an organization.", true)
	f.callAs(root(outsiderAccount), "DescribeOrganization", js()).wantErr(t, "DescribeOrganization as an outsider",
		"AWSOrganizationsNotInUseException", "Your account is not a member of an organization.", true)
	f.call("CreateOrganization", js("FeatureSet", "CONSOLIDATED_BILLING")).wantErr(t, "CreateOrganization of consolidated billing",
		"InvalidInputException", "FeatureSet", false)
}

// TestOrganizationalUnits: OUs nest under the root and each other with
// AWS's IDs and ARNs; names are unique under a parent; unknown parents and
// OUs are AWS's errors; ListParents names each child's parent.
func TestOrganizationalUnits(t *testing.T) {
	f := newFixture(t, nil)
	org := f.setup()
	rid := str(first(f.ok("ListRoots", js()), "Roots"), "Id")
	ou := obj(f.ok("CreateOrganizationalUnit", js("ParentId", rid, "Name", "prod")), "OrganizationalUnit")
	prod := str(ou, "Id")
	if !patOUIDOfRoot(rid).MatchString(prod) || str(ou, "Name") != "prod" ||
		str(ou, "Arn") != "arn:aws:organizations::"+mgmtAccount+":ou/"+str(org, "Id")+"/"+prod {
		t.Fatalf("CreateOrganizationalUnit = %v", ou)
	}
	dev := f.newOU(rid, "dev")
	team := f.newOU(prod, "dev") // the name of another parent's OU
	if got := obj(f.ok("DescribeOrganizationalUnit", js("OrganizationalUnitId", team)), "OrganizationalUnit"); str(got, "Name") != "dev" || str(got, "Id") != team {
		t.Fatalf("DescribeOrganizationalUnit = %v", got)
	}
	want := []string{prod, dev}
	slices.Sort(want)
	if got := ids(f.ok("ListOrganizationalUnitsForParent", js("ParentId", rid)), "OrganizationalUnits"); !slices.Equal(got, want) {
		t.Fatalf("ListOrganizationalUnitsForParent of the root = %v, want %v", got, want)
	}
	if got := ids(f.ok("ListOrganizationalUnitsForParent", js("ParentId", dev)), "OrganizationalUnits"); len(got) != 0 {
		t.Fatalf("ListOrganizationalUnitsForParent of an empty OU = %v", got)
	}
	parents := []struct{ child, id, typ string }{{team, prod, "ORGANIZATIONAL_UNIT"}, {prod, rid, "ROOT"}, {mgmtAccount, rid, "ROOT"}}
	for _, p := range parents {
		got, _ := f.ok("ListParents", js("ChildId", p.child))["Parents"].([]any)
		if len(got) != 1 || fmt.Sprint(got[0]) != fmt.Sprintf("map[Id:%s Type:%s]", p.id, p.typ) {
			t.Errorf("ListParents of %s = %v, want %s %s", p.child, got, p.id, p.typ)
		}
	}

	otherRoot := "ou-" + rid[2:] + "-zzzzzzzz"
	refused := []struct {
		name, op, body, code, msg string
	}{
		{"a taken name", "CreateOrganizationalUnit", js("ParentId", rid, "Name", "prod"), "DuplicateOrganizationalUnitException", "An OU with the same name already exists."},
		{"an unknown parent OU", "CreateOrganizationalUnit", js("ParentId", otherRoot, "Name", "x"), "ParentNotFoundException", "We can't find a root or OU with the ParentId that you specified."},
		{"an unknown root", "CreateOrganizationalUnit", js("ParentId", "r-zzzz", "Name", "x"), "ParentNotFoundException", "We can't find a root or OU with the ParentId that you specified."},
		{"an unknown OU", "DescribeOrganizationalUnit", js("OrganizationalUnitId", otherRoot), "OrganizationalUnitNotFoundException", "We can't find an OU with the OrganizationalUnitId that you specified."},
		{"an unknown parent", "ListOrganizationalUnitsForParent", js("ParentId", otherRoot), "ParentNotFoundException", "We can't find a root or OU with the ParentId that you specified."},
		{"an unknown child OU", "ListParents", js("ChildId", otherRoot), "ChildNotFoundException", "We can't find an organizational unit (OU) or AWS account with the ChildId that you specified."},
		{"an unknown child account", "ListParents", js("ChildId", "123456789012"), "ChildNotFoundException", "We can't find an organizational unit (OU) or AWS account with the ChildId that you specified."},
	}
	for _, tc := range refused {
		t.Run(tc.name, func(t *testing.T) {
			f.call(tc.op, tc.body).wantErr(t, tc.op+" with "+tc.name, tc.code, tc.msg, true)
		})
	}
	if got := ids(f.ok("ListOrganizationalUnitsForParent", js("ParentId", rid)), "OrganizationalUnits"); len(got) != 2 {
		t.Fatalf("a refused CreateOrganizationalUnit added an OU: %v", got)
	}

	// OUs nest five levels deep under the root, as in AWS, and no deeper.
	parent := rid
	for level := 1; level <= 5; level++ {
		parent = f.newOU(parent, fmt.Sprintf("level%d", level))
	}
	f.call("CreateOrganizationalUnit", js("ParentId", parent, "Name", "level6")).wantErr(t, "CreateOrganizationalUnit six levels deep",
		"ConstraintViolationException", "OU_DEPTH_LIMIT_EXCEEDED: You attempted to create an OU tree that is too many levels deep.", true)
	deep := f.newAccount("deep", "deep@example.com")
	f.ok("MoveAccount", js("AccountId", deep, "SourceParentId", rid, "DestinationParentId", parent))
	paths, err := f.core.PrincipalOrgPaths(t.Context(), deep)
	if err != nil || len(paths) != 1 || strings.Count(paths[0], "/ou-") != 5 || !strings.HasSuffix(paths[0], "/"+parent+"/") {
		t.Fatalf("PrincipalOrgPaths of an account five OUs deep = %q, %v", paths, err)
	}
}

// ids2 returns the first object of list out[key] ("" argument unused): the
// one root of ListRoots.
func first(out map[string]any, key string) map[string]any {
	list, _ := out[key].([]any)
	if len(list) == 0 {
		return nil
	}
	m, _ := list[0].(map[string]any)
	return m
}

// TestAccounts: CreateAccount succeeds at once with a new 12-digit ID under
// the root, and its status can be described; an email address in use fails
// the request as AWS does (FAILED, EMAIL_ALREADY_EXISTS); DescribeAccount,
// ListAccounts and ListAccountsForParent show the members, MoveAccount
// moves them, with AWS's errors.
func TestAccounts(t *testing.T) {
	f := newFixture(t, nil)
	org := f.setup()
	oid := str(org, "Id")
	rid := str(first(f.ok("ListRoots", js()), "Roots"), "Id")
	out := obj(f.ok("CreateAccount", js("AccountName", "app", "Email", "App@Example.com", "RoleName", "OrganizationAccountAccessRole",
		"IamUserAccessToBilling", "DENY")), "CreateAccountStatus")
	app := str(out, "AccountId")
	reqID := str(out, "Id")
	now := float64(f.clock().UnixMilli()) / 1000
	if !patNewAccount.MatchString(app) || app == mgmtAccount || !patRequestOut.MatchString(reqID) || str(out, "State") != "SUCCEEDED" ||
		str(out, "AccountName") != "app" || out["RequestedTimestamp"] != now || out["CompletedTimestamp"] != now || out["FailureReason"] != nil {
		t.Fatalf("CreateAccount = %v", out)
	}
	f.advance(time.Hour)
	if got := obj(f.ok("DescribeCreateAccountStatus", js("CreateAccountRequestId", reqID)), "CreateAccountStatus"); fmt.Sprint(got) != fmt.Sprint(out) {
		t.Fatalf("DescribeCreateAccountStatus = %v, want %v", got, out)
	}
	acct := obj(f.ok("DescribeAccount", js("AccountId", app)), "Account")
	if str(acct, "Id") != app || str(acct, "Arn") != "arn:aws:organizations::"+mgmtAccount+":account/"+oid+"/"+app ||
		str(acct, "Email") != "App@Example.com" || str(acct, "Name") != "app" || str(acct, "Status") != "ACTIVE" ||
		str(acct, "State") != "ACTIVE" || str(acct, "JoinedMethod") != "CREATED" || acct["JoinedTimestamp"] != now {
		t.Fatalf("DescribeAccount = %v", acct)
	}
	mgmt := obj(f.ok("DescribeAccount", js("AccountId", mgmtAccount)), "Account")
	if str(mgmt, "JoinedMethod") != "INVITED" || str(mgmt, "Email") != mgmtAccount+"@keyless.invalid" {
		t.Fatalf("DescribeAccount of the management account = %v", mgmt)
	}

	// The same address, in another case: the request fails, as AWS's does.
	dup := obj(f.ok("CreateAccount", js("AccountName", "dup", "Email", "app@example.COM")), "CreateAccountStatus")
	if str(dup, "State") != "FAILED" || str(dup, "FailureReason") != "EMAIL_ALREADY_EXISTS" || dup["AccountId"] != nil {
		t.Fatalf("CreateAccount with an address in use = %v", dup)
	}
	if got := obj(f.ok("DescribeCreateAccountStatus", js("CreateAccountRequestId", str(dup, "Id"))), "CreateAccountStatus"); str(got, "State") != "FAILED" {
		t.Fatalf("DescribeCreateAccountStatus of the failed request = %v", got)
	}

	ou := f.newOU(rid, "workloads")
	logs := f.newAccount("logs", "logs@example.com")
	wantAll := []string{mgmtAccount, app, logs}
	slices.Sort(wantAll)
	if got := ids(f.ok("ListAccounts", js()), "Accounts"); !slices.Equal(got, wantAll) {
		t.Fatalf("ListAccounts = %v, want %v", got, wantAll)
	}
	f.ok("MoveAccount", js("AccountId", app, "SourceParentId", rid, "DestinationParentId", ou))
	if got := ids(f.ok("ListAccountsForParent", js("ParentId", ou)), "Accounts"); !slices.Equal(got, []string{app}) {
		t.Fatalf("ListAccountsForParent of the OU after the move = %v", got)
	}
	if got := ids(f.ok("ListAccountsForParent", js("ParentId", rid)), "Accounts"); slices.Contains(got, app) || len(got) != 2 {
		t.Fatalf("ListAccountsForParent of the root after the move = %v", got)
	}

	missingOU := "ou-" + rid[2:] + "-zzzzzzzz"
	refused := []struct {
		name, op, body, code, msg string
	}{
		{"an unknown account", "DescribeAccount", js("AccountId", "123456789012"), "AccountNotFoundException", "We can't find an AWS account with the AccountId"},
		{"an outsider", "DescribeAccount", js("AccountId", outsiderAccount), "AccountNotFoundException", "We can't find an AWS account with the AccountId"},
		{"an unknown request", "DescribeCreateAccountStatus", js("CreateAccountRequestId", "car-00000000"), "CreateAccountStatusNotFoundException", "CreateAccountRequestId"},
		{"an unknown parent", "ListAccountsForParent", js("ParentId", missingOU), "ParentNotFoundException", "ParentId"},
		{"an unknown source", "MoveAccount", js("AccountId", logs, "SourceParentId", missingOU, "DestinationParentId", ou), "SourceParentNotFoundException",
			"We can't find a source root or OU with the ParentId that you specified."},
		{"an unknown destination", "MoveAccount", js("AccountId", logs, "SourceParentId", rid, "DestinationParentId", missingOU), "DestinationParentNotFoundException",
			"We can't find the destination container (a root or OU) with the ParentId that you specified."},
		{"the account's own parent", "MoveAccount", js("AccountId", app, "SourceParentId", ou, "DestinationParentId", ou), "DuplicateAccountException",
			"That account is already present in the specified destination."},
		{"a source that is not the account's parent", "MoveAccount", js("AccountId", logs, "SourceParentId", ou, "DestinationParentId", rid), "AccountNotFoundException",
			"We can't find an AWS account"},
		{"an unknown account to move", "MoveAccount", js("AccountId", "123456789012", "SourceParentId", rid, "DestinationParentId", ou), "AccountNotFoundException",
			"We can't find an AWS account"},
	}
	for _, tc := range refused {
		t.Run(tc.name, func(t *testing.T) {
			f.call(tc.op, tc.body).wantErr(t, tc.op+" of "+tc.name, tc.code, tc.msg, false)
		})
	}
	if got := ids(f.ok("ListAccountsForParent", js("ParentId", ou)), "Accounts"); !slices.Equal(got, []string{app}) {
		t.Fatalf("a refused MoveAccount moved an account: the OU holds %v", got)
	}
}

// TestValidation: malformed requests get AWS's InvalidInputException (or
// SerializationException for what is not the request's JSON) before
// anything is looked up or changed.
func TestValidation(t *testing.T) {
	f := newFixture(t, nil)
	f.setup()
	tests := []struct {
		name, op, body, code, msg string
	}{
		// msg is the whole message of InvalidInputException, a part of others'.
		{"no name", "CreateAccount", js("Email", "a@example.com"), "InvalidInputException", "INPUT_REQUIRED: You must include a value for all required parameters: AccountName is missing."},
		{"no email", "CreateAccount", js("AccountName", "a"), "InvalidInputException", "INPUT_REQUIRED: You must include a value for all required parameters: Email is missing."},
		{"a bad email", "CreateAccount", js("AccountName", "a", "Email", "not-an-address"), "InvalidInputException", "INVALID_PATTERN: You provided a value that doesn't match the required pattern: Email must be an email address (name@domain.tld)."},
		{"a long name", "CreateAccount", js("AccountName", strings.Repeat("n", 51), "Email", "a@example.com"), "InvalidInputException", "MAX_LENGTH_EXCEEDED: You provided a string parameter that is longer than allowed: AccountName must have at most 50 characters."},
		{"a non-ASCII name", "CreateAccount", js("AccountName", "café", "Email", "a@example.com"), "InvalidInputException", "INVALID_PATTERN: You provided a value that doesn't match the required pattern: AccountName must be printable ASCII characters."},
		{"a bad billing access", "CreateAccount", js("AccountName", "a", "Email", "a@example.com", "IamUserAccessToBilling", "MAYBE"), "InvalidInputException", "INVALID_ENUM: You specified an invalid value: IamUserAccessToBilling must be one of ALLOW, DENY."},
		{"tags", "CreateAccount", js("AccountName", "a", "Email", "a@example.com", "Tags", []map[string]string{{"Key": "k", "Value": "v"}}), "InvalidInputException", "TARGET_NOT_SUPPORTED: keyless does not keep tags of Organizations resources: leave out Tags."},
		{"a short account ID", "DescribeAccount", js("AccountId", "12345"), "InvalidInputException", "INVALID_PATTERN: You provided a value that doesn't match the required pattern: AccountId must be an account ID of exactly 12 digits."},
		{"no account ID", "DescribeAccount", js(), "InvalidInputException", "INPUT_REQUIRED: You must include a value for all required parameters: AccountId is missing."},
		{"a bad parent ID", "ListAccountsForParent", js("ParentId", "o-abcdefghij"), "InvalidInputException", "INVALID_PATTERN: You provided a value that doesn't match the required pattern: ParentId must be a root ID (r- and 4 to 32 lowercase letters or digits) or an OU ID (ou-, 4 to 32 lowercase letters or digits, -, 8 to 32 more)."},
		{"a root as child", "ListParents", js("ChildId", "r-abcd"), "InvalidInputException", "INVALID_PATTERN: You provided a value that doesn't match the required pattern: ChildId must be an account ID (12 digits) or an OU ID (ou-, 4 to 32 lowercase letters or digits, -, 8 to 32 more); a root has no parent."},
		{"a bad OU ID", "DescribeOrganizationalUnit", js("OrganizationalUnitId", "ou-ab"), "InvalidInputException", "INVALID_PATTERN: You provided a value that doesn't match the required pattern: OrganizationalUnitId must be an OU ID (ou-, 4 to 32 lowercase letters or digits, -, 8 to 32 more)."},
		{"a bad request ID", "DescribeCreateAccountStatus", js("CreateAccountRequestId", "car-UPPER123"), "InvalidInputException", "INVALID_PATTERN: You provided a value that doesn't match the required pattern: CreateAccountRequestId must be car- and 8 to 32 lowercase letters or digits."},
		{"an empty OU name", "CreateOrganizationalUnit", js("ParentId", "r-abcd", "Name", ""), "InvalidInputException", "MIN_LENGTH_EXCEEDED: You provided a string parameter that is shorter than allowed: Name must have at least 1 characters."},
		{"MaxResults 0", "ListAccounts", js("MaxResults", 0), "InvalidInputException", "MIN_VALUE_EXCEEDED: You provided a numeric parameter that has a smaller value than allowed: MaxResults must be at least 1."},
		{"MaxResults 21", "ListAccounts", js("MaxResults", 21), "InvalidInputException", "MAX_VALUE_EXCEEDED: You provided a numeric parameter that has a larger value than allowed: MaxResults must be at most 20."},
		{"a forged token", "ListAccounts", js("NextToken", "!!"), "InvalidInputException", "INVALID_PAGINATION_TOKEN: Get the value for the NextToken parameter from the response to a previous call of the operation."},
		{"not JSON", "ListAccounts", `{"MaxResults":`, "SerializationException", "not valid JSON"},
		{"a wrong type", "DescribeAccount", `{"AccountId":5}`, "SerializationException", "The value of AccountId must be a string, not a JSON number."},
		{"trailing data", "ListRoots", `{} {}`, "SerializationException", "nothing after it"},
		{"not an object", "ListRoots", `[]`, "SerializationException", "must be a JSON object"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f.call(tc.op, tc.body).wantErr(t, tc.op+" with "+tc.name, tc.code, tc.msg, tc.code == "InvalidInputException")
		})
	}
	if got := ids(f.ok("ListAccounts", js()), "Accounts"); len(got) != 1 {
		t.Fatalf("a refused request created an account: %v", got)
	}
	f.call("DeleteOrganization", js()).wantErr(t, "an operation keyless does not serve", "UnknownOperationException",
		"keyless does not serve the Organizations operation DeleteOrganization", false)
}

// TestPagination: List operations page by MaxResults with NextToken, as
// the SDKs' paginators expect: every item once, in order, the last page
// without a token.
func TestPagination(t *testing.T) {
	f := newFixture(t, nil)
	f.setup()
	want := []string{mgmtAccount}
	for i := range 6 {
		want = append(want, f.newAccount(fmt.Sprintf("a%d", i), fmt.Sprintf("a%d@example.com", i)))
	}
	slices.Sort(want)
	var got []string
	var pages int
	token := ""
	for {
		body := js("MaxResults", 3)
		if token != "" {
			body = js("MaxResults", 3, "NextToken", token)
		}
		out := f.ok("ListAccounts", body)
		page := ids(out, "Accounts")
		if len(page) > 3 {
			t.Fatalf("a page of %d accounts, MaxResults 3", len(page))
		}
		got = append(got, page...)
		pages++
		token = str(out, "NextToken")
		if token == "" || pages > 5 {
			break
		}
	}
	if !slices.Equal(got, want) || pages != 3 {
		t.Fatalf("ListAccounts by pages of 3 = %v in %d pages, want %v in 3", got, pages, want)
	}
	if got := ids(f.ok("ListAccounts", js()), "Accounts"); !slices.Equal(got, want) {
		t.Fatalf("ListAccounts without MaxResults = %v, want %v", got, want)
	}
}

// TestAuthorization: every call of the management account's IAM users is
// authorized as organizations:<Operation> on the organization's, parent's or
// account's ARN; denials are AccessDeniedException in AWS's words; every
// call is audited with the resource.
func TestAuthorization(t *testing.T) {
	f := newFixture(t, nil)
	org := f.setup()
	oid := str(org, "Id")
	rid := str(first(f.ok("ListRoots", js()), "Roots"), "Id")
	app := f.newAccount("app", "app@example.com")
	other := f.newAccount("other", "other@example.com")
	ou := f.newOU(rid, "prod")
	base := "arn:aws:organizations::" + mgmtAccount + ":"
	policy := `{"Version":"2012-10-17","Statement":[
		{"Sid":"DescribeApp","Effect":"Allow","Action":"organizations:DescribeAccount","Resource":"` + base + `account/` + oid + `/` + app + `"},
		{"Sid":"List","Effect":"Allow","Action":["organizations:ListAccounts","organizations:DescribeOrganization"],"Resource":"*"},
		{"Sid":"ListUnderRoot","Effect":"Allow","Action":"organizations:ListAccountsForParent","Resource":"` + base + `root/` + oid + `/*"}]}`
	u := store.User{Name: "ops", ID: "AIDAOPS", Path: "/", ARN: "arn:aws:iam::" + mgmtAccount + ":user/ops", InlinePolicies: map[string]string{"orgs": policy}}
	if err := f.st.CreateUser(t.Context(), u); err != nil {
		t.Fatal(err)
	}
	ops := &authn.Principal{Kind: authn.User, Account: mgmtAccount, ARN: u.ARN, UserID: u.ID, User: &u}
	for _, c := range []struct{ op, body string }{
		{"DescribeAccount", js("AccountId", app)},
		{"ListAccounts", js()},
		{"DescribeOrganization", js()},
		{"ListAccountsForParent", js("ParentId", rid)},
	} {
		if r := f.callAs(ops, c.op, c.body); r.err != nil {
			t.Errorf("%s as ops: %v", c.op, r.err)
		}
	}
	denied := []struct{ op, body, resource string }{
		{"DescribeAccount", js("AccountId", other), base + "account/" + oid + "/" + other},
		{"ListAccountsForParent", js("ParentId", ou), base + "ou/" + oid + "/" + ou},
		{"CreateAccount", js("AccountName", "x", "Email", "x@example.com"), base + "organization/" + oid},
		{"MoveAccount", js("AccountId", app, "SourceParentId", rid, "DestinationParentId", ou), base + "account/" + oid + "/" + app},
		// An account that does not exist is not revealed to a caller who may not look.
		{"DescribeAccount", js("AccountId", "123456789012"), base + "account/" + oid + "/123456789012"},
	}
	for _, c := range denied {
		t.Run("denied "+c.op+" "+c.body, func(t *testing.T) {
			f.takeEvents()
			r := f.callAs(ops, c.op, c.body)
			want := "User: " + u.ARN + " is not authorized to perform: organizations:" + c.op + " on resource: " + c.resource +
				" because no identity-based policy allows the organizations:" + c.op + " action"
			r.wantErr(t, c.op, "AccessDeniedException", want, true)
			ev := f.takeEvents()
			if len(ev) != 1 || ev[0].Decision != audit.Denied || ev[0].Service != "organizations" || ev[0].Action != c.op ||
				ev[0].Role != c.resource || ev[0].Caller != u.ARN || ev[0].SourceIP != "192.0.2.7" || ev[0].ErrorCode != "AccessDenied" {
				t.Fatalf("audit events of the denial: %+v", ev)
			}
		})
	}
	if got := ids(f.ok("ListAccounts", js()), "Accounts"); len(got) != 3 {
		t.Fatalf("a denied CreateAccount created an account: %v", got)
	}

	// Allowed calls are audited with the resource they were on.
	f.takeEvents()
	created := obj(f.ok("CreateAccount", js("AccountName", "new", "Email", "new@example.com")), "CreateAccountStatus")
	ev := f.takeEvents()
	if len(ev) != 1 || ev[0].Decision != audit.Allowed || ev[0].Action != "CreateAccount" ||
		ev[0].Role != base+"account/"+oid+"/"+str(created, "AccountId") || ev[0].Caller != "arn:aws:iam::"+mgmtAccount+":root" {
		t.Fatalf("audit event of CreateAccount: %+v", ev)
	}
	f.callAs(root(app), "ListAccounts", js())
	ev = f.takeEvents()
	if len(ev) != 1 || ev[0].Decision != audit.Denied || ev[0].Role != base+"organization/"+oid {
		t.Fatalf("audit event of a member account's ListAccounts: %+v", ev)
	}
}
