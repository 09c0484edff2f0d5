package provision

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	orgtypes "github.com/aws/aws-sdk-go-v2/service/organizations/types"
)

// accountsConfig is a small config with an accounts section put in place of
// ACCOUNTS.
const accountsConfig = `name: web
ACCOUNTS
providers:
  gh: {type: github}
roles:
  - name: deploy
    trust: {subjects: ["repo:acme/web:ref:refs/heads/main"]}
`

// TestAccountsParse decodes an accounts section: targets (quoted or not), the
// admin role and the OU, and the default admin role ARN per account.
func TestAccountsParse(t *testing.T) {
	section := "accounts:\n  targets: [\"333333333333\", 222222222222]\n  admin_role: arn:aws:iam::{account}:role/ops/provisioner\n  organizational_unit: ou-ab12-cd34ef56"
	spec, err := Parse("keyless.yaml", []byte(strings.Replace(accountsConfig, "ACCOUNTS", section, 1)))
	if err != nil {
		t.Fatal(err)
	}
	if err := spec.Validate(); err != nil {
		t.Fatal(err)
	}
	want := &AccountsSpec{Targets: []string{"333333333333", "222222222222"}, AdminRole: "arn:aws:iam::{account}:role/ops/provisioner", OrganizationalUnit: "ou-ab12-cd34ef56"}
	if !reflect.DeepEqual(spec.Accounts, want) {
		t.Errorf("accounts: got %+v, want %+v", spec.Accounts, want)
	}
	if got := spec.Accounts.AdminRoleARN("aws", "222222222222"); got != "arn:aws:iam::222222222222:role/ops/provisioner" {
		t.Errorf("ARN pattern: got %s", got)
	}
	named := &AccountsSpec{AdminRole: "Provisioner"}
	if got := named.AdminRoleARN("aws-us-gov", "222222222222"); got != "arn:aws-us-gov:iam::222222222222:role/Provisioner" {
		t.Errorf("role name: got %s", got)
	}
	if got := (&AccountsSpec{}).AdminRoleARN("aws", "222222222222"); got != "arn:aws:iam::222222222222:role/OrganizationAccountAccessRole" {
		t.Errorf("default: got %s", got)
	}
}

// TestAccountsValidation checks every way an accounts section can be wrong: the
// error names the field and says what to write.
func TestAccountsValidation(t *testing.T) {
	tests := []struct {
		name, section, want string
	}{
		{"no targets", "accounts: {admin_role: Admin}", `keyless.yaml:2:1: accounts: no target accounts: list them, e.g. accounts: {targets: ["222222222222"]}, or name an organizational_unit: ou-…`},
		{"short id", `accounts: {targets: ["22222222222"]}`, `keyless.yaml:2:22: accounts.targets[0]: "22222222222" is not an AWS account id: write its 12 digits in quotes, e.g. "222222222222"`},
		{"letters", `accounts: {targets: ["22222222222x"]}`, `keyless.yaml:2:22: accounts.targets[0]: "22222222222x" is not an AWS account id`},
		{"duplicate", `accounts: {targets: ["222222222222", "333333333333", "222222222222"]}`, `keyless.yaml:2:54: accounts.targets[2]: account 222222222222 is also accounts.targets[0]: list each account once`},
		{"bad role name", `accounts: {targets: ["222222222222"], admin_role: "ops/admin"}`, `accounts.admin_role: "ops/admin" is not a role name: use letters, digits and + = , . @ _ - (for a role with a path, write arn:aws:iam::{account}:role/PATH/NAME)`},
		{"long role name", `accounts: {targets: ["222222222222"], admin_role: ` + strings.Repeat("a", 65) + `}`, `has 65 characters; IAM allows 64`},
		{"pattern without account", `accounts: {targets: ["222222222222"], admin_role: "arn:aws:iam::111111111111:role/Admin"}`, `an ARN pattern names the target account once as {account}`},
		{"pattern not a role", `accounts: {targets: ["222222222222"], admin_role: "arn:aws:iam::{account}:user/admin"}`, `is not a role ARN pattern: write arn:PARTITION:iam::{account}:role/[PATH/]NAME, or just the role name`},
		{"account elsewhere", `accounts: {targets: ["222222222222"], admin_role: "arn:aws:iam::111111111111:role/{account}"}`, `is not a role ARN pattern`},
		{"bad OU", `accounts: {organizational_unit: "123"}`, `accounts.organizational_unit: "123" is not an organizational unit id`},
		{"account and accounts", "account: \"111111111111\"\naccounts: {targets: [\"222222222222\"]}", `account: account 111111111111 pins the config to one account, but accounts lists the accounts to provision: leave account out`},
		{"unknown key", `accounts: {target: ["222222222222"]}`, `unknown key "target" (did you mean "targets"?)`},
		{"targets not a list", `accounts: {targets: "222222222222"}`, `accounts.targets: want a list`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			spec, err := Parse("keyless.yaml", []byte(strings.Replace(accountsConfig, "ACCOUNTS", tt.section, 1)))
			if err == nil {
				err = spec.Validate()
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got  %v\nwant %s", err, tt.want)
			}
		})
	}
	// What is valid passes.
	for _, section := range []string{
		`accounts: {targets: ["222222222222"]}`,
		`accounts: {organizational_unit: ou-ab12-cd34ef56}`,
		`accounts: {organizational_unit: r-ab12, admin_role: Admin.Role@x}`,
		`accounts: {targets: ["222222222222"], admin_role: "arn:aws-cn:iam::{account}:role/a/b/c"}`,
	} {
		spec, err := Parse("keyless.yaml", []byte(strings.Replace(accountsConfig, "ACCOUNTS", section, 1)))
		if err == nil {
			err = spec.Validate()
		}
		if err != nil {
			t.Errorf("%s: %v", section, err)
		}
	}
}

// fakeOrgs is an organization: the accounts and child OUs of each parent, with
// pages of one item so that paging is exercised.
type fakeOrgs struct {
	mu       sync.Mutex
	accounts map[string][]orgtypes.Account
	children map[string][]string
	fail     map[string]error // by parent
	calls    int
}

func (f *fakeOrgs) ListAccountsForParent(_ context.Context, in *organizations.ListAccountsForParentInput, _ ...func(*organizations.Options)) (*organizations.ListAccountsForParentOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	parent := aws.ToString(in.ParentId)
	if err := f.fail[parent]; err != nil {
		return nil, err
	}
	all := f.accounts[parent]
	i := pageIndex(in.NextToken)
	out := &organizations.ListAccountsForParentOutput{}
	if i < len(all) {
		out.Accounts = all[i : i+1]
		if i+1 < len(all) {
			out.NextToken = aws.String(string(rune('0' + i + 1)))
		}
	}
	return out, nil
}

func (f *fakeOrgs) ListOrganizationalUnitsForParent(_ context.Context, in *organizations.ListOrganizationalUnitsForParentInput, _ ...func(*organizations.Options)) (*organizations.ListOrganizationalUnitsForParentOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	all := f.children[aws.ToString(in.ParentId)]
	i := pageIndex(in.NextToken)
	out := &organizations.ListOrganizationalUnitsForParentOutput{}
	if i < len(all) {
		out.OrganizationalUnits = []orgtypes.OrganizationalUnit{{Id: aws.String(all[i])}}
		if i+1 < len(all) {
			out.NextToken = aws.String(string(rune('0' + i + 1)))
		}
	}
	return out, nil
}

func pageIndex(tok *string) int {
	if s := aws.ToString(tok); s != "" {
		return int(s[0] - '0')
	}
	return 0
}

func orgAccount(id string, state orgtypes.AccountState) orgtypes.Account {
	return orgtypes.Account{Id: aws.String(id), State: state}
}

// TestAccountsResolve lists an OU's accounts recursively, page by page, leaves
// out suspended and closed accounts, merges the listed targets and returns them
// sorted, each once.
func TestAccountsResolve(t *testing.T) {
	orgs := &fakeOrgs{
		accounts: map[string][]orgtypes.Account{
			"ou-root-aaaaaaaa": {orgAccount("444444444444", orgtypes.AccountStateActive), orgAccount("555555555555", orgtypes.AccountStateSuspended)},
			"ou-kid1-bbbbbbbb": {orgAccount("666666666666", orgtypes.AccountStateActive), orgAccount("222222222222", "")},
			"ou-kid2-cccccccc": {{Id: aws.String("777777777777"), Status: orgtypes.AccountStatusActive}, orgAccount("888888888888", orgtypes.AccountStateClosed)},
			"ou-gkid-dddddddd": {orgAccount("999999999999", orgtypes.AccountStateActive)},
		},
		children: map[string][]string{
			"ou-root-aaaaaaaa": {"ou-kid1-bbbbbbbb", "ou-kid2-cccccccc"},
			"ou-kid2-cccccccc": {"ou-gkid-dddddddd"},
		},
	}
	a := &AccountsSpec{Targets: []string{"333333333333", "222222222222"}, OrganizationalUnit: "ou-root-aaaaaaaa"}
	got, err := a.Resolve(context.Background(), orgs)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"222222222222", "333333333333", "444444444444", "666666666666", "777777777777", "999999999999"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got  %v\nwant %v", got, want)
	}

	orgs.fail = map[string]error{"ou-kid2-cccccccc": errors.New("AccessDeniedException: not the management account")}
	_, err = a.Resolve(context.Background(), orgs)
	if err == nil || !strings.Contains(err.Error(), "list the accounts of ou-kid2-cccccccc (organizations:ListAccountsForParent): AccessDeniedException") {
		t.Errorf("a failing listing: got %v", err)
	}

	// Without an OU, no Organizations call is needed.
	plain := &AccountsSpec{Targets: []string{"333333333333", "222222222222"}}
	if got, err := plain.Resolve(context.Background(), nil); err != nil || !reflect.DeepEqual(got, []string{"222222222222", "333333333333"}) {
		t.Errorf("targets only: got %v, %v", got, err)
	}
}
