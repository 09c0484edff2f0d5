package provision

import (
	"context"
	"fmt"
	"regexp"
	"sort"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	orgtypes "github.com/aws/aws-sdk-go-v2/service/organizations/types"
	"go.yaml.in/yaml/v3"
)

// DefaultAdminRole is the role keyless assumes in each target account when the
// config's accounts section names none: the role AWS Organizations creates in
// the accounts it creates, trusting the management account.
const DefaultAdminRole = "OrganizationAccountAccessRole"

// AccountPattern is the placeholder of an admin_role ARN pattern that stands for
// the target account's id.
const AccountPattern = "{account}"

// AdminSessionName is the role session name of every sts:AssumeRole into a
// target account, so that CloudTrail shows which sessions were keyless's.
const AdminSessionName = "keyless-provision"

var (
	ouRe      = regexp.MustCompile(`^(ou-[0-9a-z]{4,32}-[0-9a-z]{8,32}|r-[0-9a-z]{4,32})$`)
	roleARNRe = regexp.MustCompile(`^arn:[a-z-]+:iam::\d{12}:role/([\x21-\x7E]*/)?([\w+=,.@-]{1,64})$`)
)

// AccountsSpec is the "accounts" section: the accounts a config is provisioned
// into, each through a role keyless assumes there from the caller's account (the
// hub), as a CloudFormation StackSet would.
type AccountsSpec struct {
	// Targets are 12-digit account ids, in file order.
	Targets []string
	// AdminRole is the role assumed in each target: a role name, or an ARN
	// pattern with {account} such as arn:aws:iam::{account}:role/ops/provisioner.
	// "" means DefaultAdminRole.
	AdminRole string
	// OrganizationalUnit is an AWS Organizations OU (ou-…) or root (r-…) whose
	// accounts, in it and in its child OUs, are targets too; "" for none.
	OrganizationalUnit string
}

var accountsKeys = []string{"targets", "admin_role", "organizational_unit"}

// accounts decodes the "accounts" section.
func (d *decoder) accounts(n *yaml.Node, path string) *AccountsSpec {
	a := &AccountsSpec{}
	for _, f := range d.fields(n, path, accountsKeys, `{targets: ["222222222222", "333333333333"]}`) {
		switch f.key {
		case "targets":
			a.Targets = d.strs(f.val, f.fieldPath, `["222222222222"]`)
		case "admin_role":
			a.AdminRole = d.str(f.val, f.fieldPath, DefaultAdminRole)
		case "organizational_unit":
			a.OrganizationalUnit = d.str(f.val, f.fieldPath, "ou-ab12-cd34ef56")
		}
	}
	return a
}

// accounts checks the "accounts" section: ids of 12 digits, each once, an admin
// role IAM could have, an OU id of the form AWS gives them, and no single
// "account" beside it.
func (c *checker) accounts(a *AccountsSpec) {
	if a == nil {
		return
	}
	if c.s.Account != "" {
		c.errorf("account", "account %s pins the config to one account, but accounts lists the accounts to provision: leave account out (each target's id goes into its ARNs)", c.s.Account)
	}
	if len(a.Targets) == 0 && a.OrganizationalUnit == "" {
		c.errorf("accounts", `no target accounts: list them, e.g. accounts: {targets: ["222222222222"]}, or name an organizational_unit: ou-…`)
	}
	seen := map[string]int{}
	for i, id := range a.Targets {
		p := fmt.Sprintf("accounts.targets[%d]", i)
		if !accountID.MatchString(id) {
			c.errorf(p, "%q is not an AWS account id: write its 12 digits in quotes, e.g. \"222222222222\"", id)
			continue
		}
		if j, dup := seen[id]; dup {
			c.errorf(p, "account %s is also accounts.targets[%d]: list each account once", id, j)
			continue
		}
		seen[id] = i
	}
	if a.OrganizationalUnit != "" && !ouRe.MatchString(a.OrganizationalUnit) {
		c.errorf("accounts.organizational_unit", "%q is not an organizational unit id: write the OU's id as AWS Organizations shows it, e.g. ou-ab12-cd34ef56 (or a root, r-ab12)", a.OrganizationalUnit)
	}
	if msg := checkAdminRole(a.AdminRole); msg != "" {
		c.errorf("accounts.admin_role", "%s", msg)
	}
}

// checkAdminRole returns what is wrong with an admin_role, or "".
func checkAdminRole(role string) string {
	switch {
	case role == "":
		return ""
	case strings.HasPrefix(role, "arn:"):
		if strings.Count(role, AccountPattern) != 1 {
			return fmt.Sprintf("%q: an ARN pattern names the target account once as {account}, e.g. arn:aws:iam::{account}:role/%s", role, DefaultAdminRole)
		}
		m := roleARNRe.FindStringSubmatch(strings.Replace(role, AccountPattern, "000000000000", 1))
		if m == nil || !strings.Contains(role, "::"+AccountPattern+":role/") {
			return fmt.Sprintf("%q is not a role ARN pattern: write arn:PARTITION:iam::{account}:role/[PATH/]NAME, or just the role name", role)
		}
		return ""
	case len(role) > 64:
		return fmt.Sprintf("the role name %q has %d characters; IAM allows 64: write the role's name, or its ARN pattern arn:aws:iam::{account}:role/PATH/NAME", role, len(role))
	case !roleNameRe.MatchString(role):
		return fmt.Sprintf("%q is not a role name: use letters, digits and + = , . @ _ - (for a role with a path, write arn:aws:iam::{account}:role/PATH/NAME)", role)
	}
	return ""
}

// AdminRoleARN returns the ARN of the role to assume in account: the admin_role
// ARN pattern with {account} replaced, or arn:PARTITION:iam::ACCOUNT:role/NAME
// for a role name (DefaultAdminRole when none is set).
func (a *AccountsSpec) AdminRoleARN(partition, account string) string {
	role := DefaultAdminRole
	if a != nil && a.AdminRole != "" {
		role = a.AdminRole
	}
	if strings.HasPrefix(role, "arn:") {
		return strings.Replace(role, AccountPattern, account, 1)
	}
	if partition == "" {
		partition = DefaultPartition
	}
	return fmt.Sprintf("arn:%s:iam::%s:role/%s", partition, account, role)
}

// OrganizationsAPI is the part of the AWS Organizations client that
// [AccountsSpec.Resolve] calls; *organizations.Client implements it.
type OrganizationsAPI interface {
	ListAccountsForParent(ctx context.Context, in *organizations.ListAccountsForParentInput, optFns ...func(*organizations.Options)) (*organizations.ListAccountsForParentOutput, error)
	ListOrganizationalUnitsForParent(ctx context.Context, in *organizations.ListOrganizationalUnitsForParentInput, optFns ...func(*organizations.Options)) (*organizations.ListOrganizationalUnitsForParentOutput, error)
}

// maxOUDepth bounds the recursion into child OUs; AWS Organizations allows five
// levels below the root.
const maxOUDepth = 10

// Resolve returns the target accounts, sorted and each once: Targets, and with an
// OrganizationalUnit the active accounts in it and in its child OUs, listed
// through api (which may be nil when there is no OU).
func (a *AccountsSpec) Resolve(ctx context.Context, api OrganizationsAPI) ([]string, error) {
	set := map[string]bool{}
	for _, id := range a.Targets {
		set[id] = true
	}
	if a.OrganizationalUnit != "" {
		if api == nil {
			return nil, fmt.Errorf("list the accounts of %s: no AWS Organizations client", a.OrganizationalUnit)
		}
		if err := listOU(ctx, api, a.OrganizationalUnit, 0, set); err != nil {
			return nil, err
		}
	}
	out := make([]string, 0, len(set))
	for id := range set {
		out = append(out, id)
	}
	sort.Strings(out)
	return out, nil
}

// listOU adds the active accounts of ou and its child OUs to set.
func listOU(ctx context.Context, api OrganizationsAPI, ou string, depth int, set map[string]bool) error {
	if depth > maxOUDepth {
		return fmt.Errorf("list the accounts of %s: OUs nested deeper than %d levels", ou, maxOUDepth)
	}
	var next *string
	for {
		out, err := api.ListAccountsForParent(ctx, &organizations.ListAccountsForParentInput{ParentId: aws.String(ou), NextToken: next})
		if err != nil {
			return fmt.Errorf("list the accounts of %s (organizations:ListAccountsForParent): %w", ou, err)
		}
		for _, acct := range out.Accounts {
			if activeAccount(acct) {
				set[aws.ToString(acct.Id)] = true
			}
		}
		if next = out.NextToken; aws.ToString(next) == "" {
			break
		}
	}
	next = nil
	for {
		out, err := api.ListOrganizationalUnitsForParent(ctx, &organizations.ListOrganizationalUnitsForParentInput{ParentId: aws.String(ou), NextToken: next})
		if err != nil {
			return fmt.Errorf("list the child OUs of %s (organizations:ListOrganizationalUnitsForParent): %w", ou, err)
		}
		for _, child := range out.OrganizationalUnits {
			if err := listOU(ctx, api, aws.ToString(child.Id), depth+1, set); err != nil {
				return err
			}
		}
		if next = out.NextToken; aws.ToString(next) == "" {
			break
		}
	}
	return nil
}

// activeAccount reports whether an account can be provisioned: its State (or,
// from older endpoints, its Status) is ACTIVE or not given.
func activeAccount(a orgtypes.Account) bool {
	switch {
	case a.State != "":
		return a.State == orgtypes.AccountStateActive
	case a.Status != "":
		return a.Status == orgtypes.AccountStatusActive
	}
	return true
}
