package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	orgtypes "github.com/aws/aws-sdk-go-v2/service/organizations/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"
)

// awsCfg is an SDK config for s with static credentials.
func awsCfg(s *Server, id, secret, token string) aws.Config {
	return aws.Config{Region: "us-east-1", BaseEndpoint: aws.String(s.Endpoint()), RetryMaxAttempts: 1,
		Credentials: credentials.NewStaticCredentialsProvider(id, secret, token)}
}

// rootCfg is the SDK config of account id's root user on s.
func rootCfg(t *testing.T, s *Server, id string) aws.Config {
	t.Helper()
	for _, a := range s.Accounts() {
		if a.ID == id {
			return awsCfg(s, a.Root.AccessKeyID, a.Root.SecretAccessKey, "")
		}
	}
	t.Fatalf("account %s is not served; Accounts() = %v", id, accountIDs(s))
	return aws.Config{}
}

func accountIDs(s *Server) []string {
	var ids []string
	for _, a := range s.Accounts() {
		ids = append(ids, a.ID)
	}
	return ids
}

// orgUser creates, in the account of cfg, an IAM user whose inline policy is
// doc, and returns its SDK config.
func orgUser(t *testing.T, s *Server, cfg aws.Config, name, doc string) aws.Config {
	t.Helper()
	ctx := t.Context()
	c := iam.NewFromConfig(cfg)
	if _, err := c.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String(name)}); err != nil {
		t.Fatalf("CreateUser %s: %v", name, err)
	}
	if _, err := c.PutUserPolicy(ctx, &iam.PutUserPolicyInput{UserName: aws.String(name), PolicyName: aws.String("p"), PolicyDocument: aws.String(doc)}); err != nil {
		t.Fatalf("PutUserPolicy %s: %v", name, err)
	}
	k, err := c.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: aws.String(name)})
	if err != nil {
		t.Fatalf("CreateAccessKey %s: %v", name, err)
	}
	return awsCfg(s, aws.ToString(k.AccessKey.AccessKeyId), aws.ToString(k.AccessKey.SecretAccessKey), "")
}

// assume assumes role with cfg and returns the session's SDK config.
func assume(ctx context.Context, s *Server, cfg aws.Config, role string) (aws.Config, error) {
	out, err := sts.NewFromConfig(cfg).AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String(role), RoleSessionName: aws.String("test")})
	if err != nil {
		return aws.Config{}, err
	}
	c := out.Credentials
	return awsCfg(s, aws.ToString(c.AccessKeyId), aws.ToString(c.SecretAccessKey), aws.ToString(c.SessionToken)), nil
}

func callerAccount(t *testing.T, cfg aws.Config) string {
	t.Helper()
	id, err := sts.NewFromConfig(cfg).GetCallerIdentity(t.Context(), &sts.GetCallerIdentityInput{})
	if err != nil {
		t.Fatalf("GetCallerIdentity: %v", err)
	}
	return aws.ToString(id.Account)
}

const assumeAnyDoc = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole","Resource":"*"}]}`

// TestOrganizationsCreateAccount: DIR/env names the Organizations endpoint; the
// first account creates an organization and an account, which is served at
// once: its root credentials, its OrganizationAccountAccessRole (trusting the
// management account, allowed everything) assumed by a management user; the
// account is kept, served again after a restart whose config does not list it,
// and listed by ListAccounts (keyless accounts); a further config account's
// calls reach the same organization (as a non-member).
func TestOrganizationsCreateAccount(t *testing.T) {
	dir := t.TempDir()
	cfg := Config{Accounts: []AccountConfig{{ID: "222222222222", Name: "config-b"}}}
	s := startTest(t, dir, cfg, noEnv, nil)
	ctx := t.Context()
	env := map[string]string{}
	for _, kv := range s.Env() {
		env[kv[0]] = kv[1]
	}
	if env["AWS_ENDPOINT_URL_ORGANIZATIONS"] != s.Endpoint() {
		t.Fatalf("AWS_ENDPOINT_URL_ORGANIZATIONS = %q, want %q", env["AWS_ENDPOINT_URL_ORGANIZATIONS"], s.Endpoint())
	}
	orgA := organizations.NewFromConfig(rootCfg(t, s, "000000000000"))
	org, err := orgA.CreateOrganization(ctx, &organizations.CreateOrganizationInput{})
	if err != nil {
		t.Fatalf("CreateOrganization: %v", err)
	}
	if got := aws.ToString(org.Organization.MasterAccountId); got != "000000000000" {
		t.Fatalf("management account %s, want the first account", got)
	}
	// A config account is served by the same Organizations, as a non-member.
	_, err = organizations.NewFromConfig(rootCfg(t, s, "222222222222")).DescribeOrganization(ctx, &organizations.DescribeOrganizationInput{})
	var nu *orgtypes.AWSOrganizationsNotInUseException
	if !errors.As(err, &nu) {
		t.Errorf("DescribeOrganization by config account B: %v, want AWSOrganizationsNotInUseException", err)
	}

	created, err := orgA.CreateAccount(ctx, &organizations.CreateAccountInput{AccountName: aws.String("dev"), Email: aws.String("dev@example.com")})
	if err != nil {
		t.Fatalf("CreateAccount: %v", err)
	}
	st := created.CreateAccountStatus
	newID := aws.ToString(st.AccountId)
	if st.State != orgtypes.CreateAccountStateSucceeded || len(newID) != 12 || newID == "000000000000" || newID == "222222222222" {
		t.Fatalf("CreateAccount: state %s, account %q", st.State, newID)
	}
	infos := s.Accounts()
	if len(infos) != 3 || infos[2].ID != newID || infos[2].Name != "dev" || !infos[2].Organization || infos[1].Organization ||
		!strings.HasPrefix(infos[2].Root.AccessKeyID, "AKIA") || infos[2].Root.AccessKeyID == infos[0].Root.AccessKeyID {
		t.Fatalf("Accounts() after CreateAccount = %v", accountIDs(s))
	}
	newRoot := infos[2].Root
	if got := callerAccount(t, rootCfg(t, s, newID)); got != newID {
		t.Fatalf("GetCallerIdentity with the new account's root: account %s, want %s", got, newID)
	}
	// The member reaches the same organization: it may describe it, not change it.
	orgN := organizations.NewFromConfig(rootCfg(t, s, newID))
	if d, err := orgN.DescribeOrganization(ctx, &organizations.DescribeOrganizationInput{}); err != nil || aws.ToString(d.Organization.Id) != aws.ToString(org.Organization.Id) {
		t.Errorf("DescribeOrganization by the member: %+v, %v; want %s", d, err, aws.ToString(org.Organization.Id))
	}
	var denied *orgtypes.AccessDeniedException
	if _, err := orgN.CreateAccount(ctx, &organizations.CreateAccountInput{AccountName: aws.String("x"), Email: aws.String("x@example.com")}); !errors.As(err, &denied) {
		t.Errorf("CreateAccount by the member: %v, want AccessDeniedException", err)
	}

	// The access role: trusts the management account, may do everything.
	roleARN := "arn:aws:iam::" + newID + ":role/OrganizationAccountAccessRole"
	role, err := iam.NewFromConfig(rootCfg(t, s, newID)).GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String("OrganizationAccountAccessRole")})
	if err != nil {
		t.Fatalf("GetRole OrganizationAccountAccessRole in the new account: %v", err)
	}
	trust, _ := url.QueryUnescape(aws.ToString(role.Role.AssumeRolePolicyDocument))
	if aws.ToString(role.Role.Arn) != roleARN || !strings.Contains(trust, `"arn:aws:iam::000000000000:root"`) || !strings.Contains(trust, `"sts:AssumeRole"`) {
		t.Fatalf("role %s trusts %s", aws.ToString(role.Role.Arn), trust)
	}
	if _, err := assume(ctx, s, rootCfg(t, s, "000000000000"), roleARN); err == nil {
		t.Errorf("the root user assumed a role; AWS refuses that")
	}
	admin := orgUser(t, s, rootCfg(t, s, "000000000000"), "admin", assumeAnyDoc)
	sess, err := assume(ctx, s, admin, roleARN)
	if err != nil {
		t.Fatalf("AssumeRole %s as a management user: %v", roleARN, err)
	}
	if got := callerAccount(t, sess); got != newID {
		t.Fatalf("the access role's session is of account %s, want %s", got, newID)
	}
	if _, err := iam.NewFromConfig(sess).CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("made-by-admin")}); err != nil {
		t.Errorf("CreateUser with the access role (Allow * on *): %v", err)
	}
	// A config account's user may not: the trust policy names the management account only.
	userB := orgUser(t, s, rootCfg(t, s, "222222222222"), "b", assumeAnyDoc)
	var ae smithy.APIError
	if _, err := assume(ctx, s, userB, roleARN); !errors.As(err, &ae) || ae.ErrorCode() != "AccessDenied" {
		t.Errorf("AssumeRole %s by account B: %v, want AccessDenied", roleARN, err)
	}

	// A restart with a config that lists no account serves it again, same keys.
	stopTest(t, s)
	s = startTest(t, dir, Config{}, noEnv, nil)
	infos = s.Accounts()
	if len(infos) != 2 || infos[1].ID != newID || infos[1].Root != newRoot || !infos[1].Organization {
		t.Fatalf("Accounts() after a restart without config accounts = %v, want the first and %s", accountIDs(s), newID)
	}
	if got := callerAccount(t, rootCfg(t, s, newID)); got != newID {
		t.Fatalf("after a restart, the new account's root is of %s", got)
	}
	list, err := organizations.NewFromConfig(rootCfg(t, s, "000000000000")).ListAccounts(ctx, &organizations.ListAccountsInput{})
	if err != nil {
		t.Fatalf("ListAccounts: %v", err)
	}
	var ids []string
	for _, a := range list.Accounts {
		ids = append(ids, aws.ToString(a.Id))
	}
	slices.Sort(ids)
	if want := slices.Sorted(slices.Values([]string{"000000000000", newID})); !slices.Equal(ids, want) {
		t.Errorf("ListAccounts = %v, want %v (config accounts are no members)", ids, want)
	}
	stopTest(t, s)
	listed, err := ListAccounts(ctx, dir, "", noEnv)
	if err != nil {
		t.Fatalf("ListAccounts of the stopped server: %v", err)
	}
	if len(listed) != 2 || listed[1].ID != newID || listed[1].Name != "dev" || !listed[1].Organization || listed[1].Root != newRoot {
		t.Errorf("ListAccounts of the stopped server = %+v", listed)
	}
}

// TestOrganizationsPrincipalOrgKeys: a trust policy conditioned on
// aws:PrincipalOrgID admits a caller of a member account and refuses one of an
// account outside the organization; one conditioned on aws:PrincipalOrgPaths
// under an OU admits the member only once MoveAccount put it there.
func TestOrganizationsPrincipalOrgKeys(t *testing.T) {
	s := startTest(t, t.TempDir(), Config{Accounts: []AccountConfig{{ID: "222222222222"}}}, noEnv, nil)
	ctx := t.Context()
	rootA := rootCfg(t, s, "000000000000")
	orgA := organizations.NewFromConfig(rootA)
	org, err := orgA.CreateOrganization(ctx, &organizations.CreateOrganizationInput{})
	if err != nil {
		t.Fatal(err)
	}
	orgID := aws.ToString(org.Organization.Id)
	roots, err := orgA.ListRoots(ctx, &organizations.ListRootsInput{})
	if err != nil {
		t.Fatal(err)
	}
	rootID := aws.ToString(roots.Roots[0].Id)
	ou, err := orgA.CreateOrganizationalUnit(ctx, &organizations.CreateOrganizationalUnitInput{ParentId: aws.String(rootID), Name: aws.String("prod")})
	if err != nil {
		t.Fatal(err)
	}
	ouID := aws.ToString(ou.OrganizationalUnit.Id)
	created, err := orgA.CreateAccount(ctx, &organizations.CreateAccountInput{AccountName: aws.String("member"), Email: aws.String("m@example.com")})
	if err != nil {
		t.Fatal(err)
	}
	memberID := aws.ToString(created.CreateAccountStatus.AccountId)

	// Roles of A that trust anyone, under a condition on the organization keys.
	iamA := iam.NewFromConfig(rootA)
	mkRole := func(name, cond string) string {
		t.Helper()
		doc := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"*"},"Action":"sts:AssumeRole","Condition":` + cond + `}]}`
		r, err := iamA.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String(name), AssumeRolePolicyDocument: aws.String(doc)})
		if err != nil {
			t.Fatalf("CreateRole %s: %v", name, err)
		}
		return aws.ToString(r.Role.Arn)
	}
	inOrg := mkRole("in-org", `{"StringEquals":{"aws:PrincipalOrgID":"`+orgID+`"}}`)
	inOU := mkRole("in-prod-ou", `{"ForAnyValue:StringLike":{"aws:PrincipalOrgPaths":"`+orgID+`/`+rootID+`/`+ouID+`/*"}}`)

	member := orgUser(t, s, rootCfg(t, s, memberID), "deployer", assumeAnyDoc)
	outsider := orgUser(t, s, rootCfg(t, s, "222222222222"), "deployer", assumeAnyDoc)
	denied := func(err error) bool {
		var ae smithy.APIError
		return errors.As(err, &ae) && ae.ErrorCode() == "AccessDenied"
	}
	for _, tc := range []struct {
		name   string
		caller aws.Config
		role   string
		allow  bool
	}{
		{"member, org id", member, inOrg, true},
		{"outsider, org id", outsider, inOrg, false},
		{"member under the root, OU path", member, inOU, false},
	} {
		_, err := assume(ctx, s, tc.caller, tc.role)
		if tc.allow && err != nil || !tc.allow && !denied(err) {
			t.Errorf("%s: AssumeRole %s: %v, want allowed %v", tc.name, tc.role, err, tc.allow)
		}
	}
	if _, err := orgA.MoveAccount(ctx, &organizations.MoveAccountInput{AccountId: aws.String(memberID),
		SourceParentId: aws.String(rootID), DestinationParentId: aws.String(ouID)}); err != nil {
		t.Fatalf("MoveAccount: %v", err)
	}
	if _, err := assume(ctx, s, member, inOU); err != nil {
		t.Errorf("AssumeRole %s by the member moved into the OU: %v", inOU, err)
	}
	if _, err := assume(ctx, s, outsider, inOU); !denied(err) {
		t.Errorf("AssumeRole %s by the outsider: %v, want AccessDenied", inOU, err)
	}
}

// TestOrganizationsAccountInUse: CreateAccount's IDs avoid every account keyless
// serves or has a store of.
func TestOrganizationsAccountInUse(t *testing.T) {
	s := startTest(t, t.TempDir(), Config{Accounts: []AccountConfig{{ID: "222222222222"}}}, noEnv, nil)
	for id, want := range map[string]bool{"000000000000": true, "222222222222": true, "444444444444": false} {
		if got, err := s.orgs.accountInUse(t.Context(), id); err != nil || got != want {
			t.Errorf("accountInUse(%s) = %v, %v; want %v", id, got, err, want)
		}
	}
}

// TestOrganizationsConcurrentCreateAccount: accounts created at the same time,
// while the first account's callers keep calling, are each served with their
// own root credentials (run with -race: the registry is read without a lock).
func TestOrganizationsConcurrentCreateAccount(t *testing.T) {
	s := startTest(t, t.TempDir(), Config{}, noEnv, nil)
	ctx := t.Context()
	rootA := rootCfg(t, s, "000000000000")
	orgA := organizations.NewFromConfig(rootA)
	if _, err := orgA.CreateOrganization(ctx, &organizations.CreateOrganizationInput{}); err != nil {
		t.Fatal(err)
	}
	const n = 4
	ids := make([]string, n)
	errs := make([]error, n)
	stop, hot := make(chan struct{}), make(chan error, 1)
	go func() { // the first account's hot path, meanwhile
		c := sts.NewFromConfig(rootA)
		for {
			select {
			case <-stop:
				hot <- nil
				return
			default:
			}
			if _, err := c.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{}); err != nil {
				hot <- err
				return
			}
		}
	}()
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out, err := orgA.CreateAccount(ctx, &organizations.CreateAccountInput{
				AccountName: aws.String(fmt.Sprintf("acct-%d", i)), Email: aws.String(fmt.Sprintf("a%d@example.com", i))})
			if err == nil {
				ids[i] = aws.ToString(out.CreateAccountStatus.AccountId)
			}
			errs[i] = err
		}()
	}
	wg.Wait()
	close(stop)
	if err := <-hot; err != nil {
		t.Errorf("GetCallerIdentity of the first account during CreateAccount: %v", err)
	}
	if err := errors.Join(errs...); err != nil {
		t.Fatalf("CreateAccount: %v", err)
	}
	if got := len(s.Accounts()); got != n+1 {
		t.Fatalf("%d accounts served, want %d", got, n+1)
	}
	for _, id := range ids {
		if got := callerAccount(t, rootCfg(t, s, id)); got != id {
			t.Errorf("root of %s calls as %s", id, got)
		}
	}
}

// TestOrganizationsReconcile: an account CreateAccount recorded but that no
// start served (the server stopped between the two) is served by the next
// start, with the default access role, and recorded again.
func TestOrganizationsReconcile(t *testing.T) {
	dir := t.TempDir()
	s := startTest(t, dir, Config{}, noEnv, nil)
	ctx := t.Context()
	orgA := organizations.NewFromConfig(rootCfg(t, s, "000000000000"))
	if _, err := orgA.CreateOrganization(ctx, &organizations.CreateOrganizationInput{}); err != nil {
		t.Fatal(err)
	}
	out, err := orgA.CreateAccount(ctx, &organizations.CreateAccountInput{AccountName: aws.String("lost"), Email: aws.String("lost@example.com"),
		RoleName: aws.String("Custom-Access")})
	if err != nil {
		t.Fatal(err)
	}
	id := aws.ToString(out.CreateAccountStatus.AccountId)
	if _, err := iam.NewFromConfig(rootCfg(t, s, id)).GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String("Custom-Access")}); err != nil {
		t.Errorf("GetRole of CreateAccount's RoleName: %v", err)
	}
	stopTest(t, s)
	st, err := OpenStore(ctx, dir, "")
	if err != nil {
		t.Fatal(err)
	}
	if err := st.PutSetting(ctx, settingAccounts, []byte("[]")); err != nil { // as if never recorded
		t.Fatal(err)
	}
	st.Close()
	s = startTest(t, dir, Config{}, noEnv, nil)
	if ids := accountIDs(s); len(ids) != 2 || ids[1] != id {
		t.Fatalf("Accounts() after a start = %v, want the first and %s", ids, id)
	}
	if got := callerAccount(t, rootCfg(t, s, id)); got != id {
		t.Errorf("root of %s calls as %s", id, got)
	}
	stopTest(t, s)
	listed, err := ListAccounts(ctx, dir, "", noEnv)
	if err != nil || len(listed) != 2 || listed[1].ID != id || !listed[1].Organization {
		t.Errorf("ListAccounts = %+v, %v; want %s recorded again", listed, err, id)
	}
}

// TestOrganizationsRecordKeepsOtherReplicas: an account another replica
// sharing the store recorded stays recorded when this server's CreateAccount
// records its own, and this server serves it (what its account watch does).
func TestOrganizationsRecordKeepsOtherReplicas(t *testing.T) {
	s := startTest(t, t.TempDir(), Config{}, noEnv, nil)
	ctx := t.Context()
	const other = "555555555555"
	records, err := readAccountRecords(ctx, s.st)
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(append(records, accountRecord{ID: other, Name: "made-at-b", Organization: true}))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.st.PutSetting(ctx, settingAccounts, b); err != nil { // as replica B records it
		t.Fatal(err)
	}
	orgA := organizations.NewFromConfig(rootCfg(t, s, "000000000000"))
	if _, err := orgA.CreateOrganization(ctx, &organizations.CreateOrganizationInput{}); err != nil {
		t.Fatal(err)
	}
	out, err := orgA.CreateAccount(ctx, &organizations.CreateAccountInput{AccountName: aws.String("made-at-a"), Email: aws.String("a@example.com")})
	if err != nil {
		t.Fatal(err)
	}
	mine := aws.ToString(out.CreateAccountStatus.AccountId)
	if records, err = readAccountRecords(ctx, s.st); err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, r := range records {
		ids = append(ids, r.ID)
	}
	if !slices.Contains(ids, other) || !slices.Contains(ids, mine) {
		t.Errorf("recorded accounts after CreateAccount: %v, want %s (the other replica's) and %s", ids, other, mine)
	}
	if err := s.orgs.adoptRecorded(ctx); err != nil {
		t.Fatal(err)
	}
	if got := callerAccount(t, rootCfg(t, s, other)); got != other {
		t.Errorf("root of %s, recorded by another replica, calls as %s", other, got)
	}
}
