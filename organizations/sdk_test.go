package organizations

import (
	"context"
	"errors"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	orgsdk "github.com/aws/aws-sdk-go-v2/service/organizations"
	"github.com/aws/aws-sdk-go-v2/service/organizations/types"

	"github.com/keyless-dev/keyless/authn"
	"github.com/keyless-dev/keyless/awsapi"
	"github.com/keyless-dev/keyless/gateway"
)

// sdkSecret is the secret access key of every test access key.
const sdkSecret = "test-secret-access-key-0123456789abcdef"

// sdkClients serves f's service behind the real gateway (SigV4 verified,
// X-Amz-Target routed) on a loopback httptest server, and returns a client
// of the official SDK for each account's root user: the access key
// "AKID" + account ID.
func sdkClients(t *testing.T, f *fixture, accounts ...string) map[string]*orgsdk.Client {
	t.Helper()
	principals := map[string]*authn.Principal{}
	for _, a := range accounts {
		principals["AKID"+a] = root(a)
	}
	lookup := awsapi.CredentialLookupFunc(func(_ context.Context, key, _ string) (awsapi.Credential, error) {
		p, ok := principals[key]
		if !ok {
			return awsapi.Credential{}, awsapi.InvalidClientTokenID()
		}
		return awsapi.Credential{SecretAccessKey: sdkSecret, Principal: p}, nil
	})
	gw := gateway.New(gateway.Config{
		JSON: map[string]*gateway.JSONService{
			SigningName: {TargetPrefix: TargetPrefix, ContentType: awsapi.ContentTypeJSON11, Handler: f.svc},
		},
		Verifier: awsapi.NewVerifier(lookup),
	})
	srv := httptest.NewServer(gw)
	t.Cleanup(srv.Close)
	clients := map[string]*orgsdk.Client{}
	for _, a := range accounts {
		clients[a] = orgsdk.NewFromConfig(aws.Config{Region: Region, BaseEndpoint: aws.String(srv.URL),
			Credentials: credentials.NewStaticCredentialsProvider("AKID"+a, sdkSecret, "")})
	}
	return clients
}

// wantSDKErr fails the test unless err is an error of type E (the SDK's
// modeled exception).
func wantSDKErr[E error](t *testing.T, what string, err error) {
	t.Helper()
	var target E
	if !errors.As(err, &target) {
		t.Fatalf("%s: %v, want %T", what, err, target)
	}
}

// TestSDK: the official aws-sdk-go-v2 Organizations client, signing with
// SigV4 through keyless's gateway, creates an organization, OUs and
// accounts, pages through them with its paginators, moves an account, and
// decodes every refusal as the modeled exception.
func TestSDK(t *testing.T) {
	f := newFixture(t, nil)
	ctx := t.Context()
	clients := sdkClients(t, f, mgmtAccount, outsiderAccount)
	c := clients[mgmtAccount]

	_, err := c.DescribeOrganization(ctx, &orgsdk.DescribeOrganizationInput{})
	wantSDKErr[*types.AWSOrganizationsNotInUseException](t, "DescribeOrganization before CreateOrganization", err)
	created, err := c.CreateOrganization(ctx, &orgsdk.CreateOrganizationInput{FeatureSet: types.OrganizationFeatureSetAll})
	if err != nil {
		t.Fatalf("CreateOrganization: %v", err)
	}
	org := created.Organization
	if !patOrgID.MatchString(aws.ToString(org.Id)) || org.FeatureSet != types.OrganizationFeatureSetAll ||
		aws.ToString(org.MasterAccountId) != mgmtAccount || aws.ToString(org.Arn) != "arn:aws:organizations::"+mgmtAccount+":organization/"+aws.ToString(org.Id) {
		t.Fatalf("CreateOrganization = %+v", org)
	}
	_, err = c.CreateOrganization(ctx, &orgsdk.CreateOrganizationInput{})
	wantSDKErr[*types.AlreadyInOrganizationException](t, "CreateOrganization again", err)

	roots, err := c.ListRoots(ctx, &orgsdk.ListRootsInput{})
	if err != nil || len(roots.Roots) != 1 {
		t.Fatalf("ListRoots = %+v, %v", roots, err)
	}
	rid := aws.ToString(roots.Roots[0].Id)
	ou, err := c.CreateOrganizationalUnit(ctx, &orgsdk.CreateOrganizationalUnitInput{ParentId: aws.String(rid), Name: aws.String("workloads")})
	if err != nil {
		t.Fatalf("CreateOrganizationalUnit: %v", err)
	}
	ouID := aws.ToString(ou.OrganizationalUnit.Id)
	if !patOUIDOfRoot(rid).MatchString(ouID) {
		t.Fatalf("CreateOrganizationalUnit = %+v", ou.OrganizationalUnit)
	}
	_, err = c.CreateOrganizationalUnit(ctx, &orgsdk.CreateOrganizationalUnitInput{ParentId: aws.String(rid), Name: aws.String("workloads")})
	wantSDKErr[*types.DuplicateOrganizationalUnitException](t, "CreateOrganizationalUnit of a taken name", err)
	_, err = c.CreateOrganizationalUnit(ctx, &orgsdk.CreateOrganizationalUnitInput{ParentId: aws.String("r-zzzz"), Name: aws.String("x")})
	wantSDKErr[*types.ParentNotFoundException](t, "CreateOrganizationalUnit under an unknown root", err)
	d, err := c.DescribeOrganizationalUnit(ctx, &orgsdk.DescribeOrganizationalUnitInput{OrganizationalUnitId: aws.String(ouID)})
	if err != nil || aws.ToString(d.OrganizationalUnit.Name) != "workloads" {
		t.Fatalf("DescribeOrganizationalUnit = %+v, %v", d, err)
	}

	want := []string{mgmtAccount}
	var lastRequest string
	for _, name := range []string{"a", "b", "c", "d", "e"} {
		out, err := c.CreateAccount(ctx, &orgsdk.CreateAccountInput{AccountName: aws.String(name), Email: aws.String(name + "@example.com")})
		if err != nil || out.CreateAccountStatus.State != types.CreateAccountStateSucceeded || !patNewAccount.MatchString(aws.ToString(out.CreateAccountStatus.AccountId)) {
			t.Fatalf("CreateAccount %s = %+v, %v", name, out, err)
		}
		want = append(want, aws.ToString(out.CreateAccountStatus.AccountId))
		lastRequest = aws.ToString(out.CreateAccountStatus.Id)
	}
	slices.Sort(want)
	st, err := c.DescribeCreateAccountStatus(ctx, &orgsdk.DescribeCreateAccountStatusInput{CreateAccountRequestId: aws.String(lastRequest)})
	if err != nil || st.CreateAccountStatus.State != types.CreateAccountStateSucceeded || st.CreateAccountStatus.CompletedTimestamp == nil {
		t.Fatalf("DescribeCreateAccountStatus = %+v, %v", st, err)
	}
	dup, err := c.CreateAccount(ctx, &orgsdk.CreateAccountInput{AccountName: aws.String("dup"), Email: aws.String("A@example.com")})
	if err != nil || dup.CreateAccountStatus.State != types.CreateAccountStateFailed ||
		dup.CreateAccountStatus.FailureReason != types.CreateAccountFailureReasonEmailAlreadyExists {
		t.Fatalf("CreateAccount with an address in use = %+v, %v", dup, err)
	}
	_, err = c.DescribeCreateAccountStatus(ctx, &orgsdk.DescribeCreateAccountStatusInput{CreateAccountRequestId: aws.String("car-00000000")})
	wantSDKErr[*types.CreateAccountStatusNotFoundException](t, "DescribeCreateAccountStatus of an unknown request", err)

	var got []string
	pages := 0
	p := orgsdk.NewListAccountsPaginator(c, &orgsdk.ListAccountsInput{MaxResults: aws.Int32(2)})
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			t.Fatalf("ListAccounts page %d: %v", pages+1, err)
		}
		pages++
		for _, a := range out.Accounts {
			if a.Status != types.AccountStatusActive || a.State != types.AccountStateActive || a.JoinedTimestamp == nil ||
				!a.JoinedTimestamp.Equal(f.clock().Truncate(time.Millisecond)) {
				t.Errorf("ListAccounts: %+v", a)
			}
			got = append(got, aws.ToString(a.Id))
		}
	}
	if !slices.Equal(got, want) || pages != 3 {
		t.Fatalf("ListAccounts by pages of 2 = %v in %d pages, want %v in 3", got, pages, want)
	}

	moved := want[0]
	if moved == mgmtAccount {
		moved = want[1]
	}
	if _, err := c.MoveAccount(ctx, &orgsdk.MoveAccountInput{AccountId: aws.String(moved), SourceParentId: aws.String(rid), DestinationParentId: aws.String(ouID)}); err != nil {
		t.Fatalf("MoveAccount: %v", err)
	}
	under, err := c.ListAccountsForParent(ctx, &orgsdk.ListAccountsForParentInput{ParentId: aws.String(ouID)})
	if err != nil || len(under.Accounts) != 1 || aws.ToString(under.Accounts[0].Id) != moved {
		t.Fatalf("ListAccountsForParent of the OU = %+v, %v", under, err)
	}
	parents, err := c.ListParents(ctx, &orgsdk.ListParentsInput{ChildId: aws.String(moved)})
	if err != nil || len(parents.Parents) != 1 || aws.ToString(parents.Parents[0].Id) != ouID || parents.Parents[0].Type != types.ParentTypeOrganizationalUnit {
		t.Fatalf("ListParents = %+v, %v", parents, err)
	}
	ous, err := c.ListOrganizationalUnitsForParent(ctx, &orgsdk.ListOrganizationalUnitsForParentInput{ParentId: aws.String(rid)})
	if err != nil || len(ous.OrganizationalUnits) != 1 || aws.ToString(ous.OrganizationalUnits[0].Id) != ouID {
		t.Fatalf("ListOrganizationalUnitsForParent = %+v, %v", ous, err)
	}
	acct, err := c.DescribeAccount(ctx, &orgsdk.DescribeAccountInput{AccountId: aws.String(moved)})
	if err != nil || aws.ToString(acct.Account.Id) != moved || acct.Account.JoinedMethod != types.AccountJoinedMethodCreated {
		t.Fatalf("DescribeAccount = %+v, %v", acct, err)
	}

	refusals := []struct {
		what string
		call func() error
		want func(error) bool
	}{
		{"MoveAccount to where it is", func() error {
			_, err := c.MoveAccount(ctx, &orgsdk.MoveAccountInput{AccountId: aws.String(moved), SourceParentId: aws.String(ouID), DestinationParentId: aws.String(ouID)})
			return err
		}, is[*types.DuplicateAccountException]},
		{"MoveAccount from an unknown parent", func() error {
			_, err := c.MoveAccount(ctx, &orgsdk.MoveAccountInput{AccountId: aws.String(moved), SourceParentId: aws.String("r-zzzz"), DestinationParentId: aws.String(rid)})
			return err
		}, is[*types.SourceParentNotFoundException]},
		{"MoveAccount to an unknown parent", func() error {
			_, err := c.MoveAccount(ctx, &orgsdk.MoveAccountInput{AccountId: aws.String(moved), SourceParentId: aws.String(ouID), DestinationParentId: aws.String("r-zzzz")})
			return err
		}, is[*types.DestinationParentNotFoundException]},
		{"DescribeAccount of an unknown account", func() error {
			_, err := c.DescribeAccount(ctx, &orgsdk.DescribeAccountInput{AccountId: aws.String("123456789012")})
			return err
		}, is[*types.AccountNotFoundException]},
		{"ListParents of an unknown child", func() error {
			_, err := c.ListParents(ctx, &orgsdk.ListParentsInput{ChildId: aws.String("123456789012")})
			return err
		}, is[*types.ChildNotFoundException]},
		{"DescribeAccount of a malformed ID", func() error {
			_, err := c.DescribeAccount(ctx, &orgsdk.DescribeAccountInput{AccountId: aws.String("12")})
			return err
		}, is[*types.InvalidInputException]},
		{"ListAccounts as an outsider", func() error {
			_, err := clients[outsiderAccount].ListAccounts(ctx, &orgsdk.ListAccountsInput{})
			return err
		}, is[*types.AWSOrganizationsNotInUseException]},
	}
	for _, r := range refusals {
		if err := r.call(); !r.want(err) {
			t.Errorf("%s: %v", r.what, err)
		}
	}

	// A member account, signing with its own key, may describe the
	// organization and is refused the rest with AccessDeniedException.
	member := sdkClients(t, f, moved)[moved]
	if out, err := member.DescribeOrganization(ctx, &orgsdk.DescribeOrganizationInput{}); err != nil || aws.ToString(out.Organization.Id) != aws.ToString(org.Id) {
		t.Fatalf("DescribeOrganization as a member = %+v, %v", out, err)
	}
	_, err = member.ListAccounts(ctx, &orgsdk.ListAccountsInput{})
	wantSDKErr[*types.AccessDeniedException](t, "ListAccounts as a member", err)
}

// is reports whether err is an E.
func is[E error](err error) bool {
	var target E
	return errors.As(err, &target)
}
