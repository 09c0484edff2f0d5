package organizations

import (
	"context"
	"encoding/base64"
	"strings"

	"github.com/keyless-dev/keyless/awsapi"
	"github.com/keyless-dev/keyless/store"
)

// page returns the items of a List reply after the one nextToken names (the
// first when nil), at most maxResults of them (default and most 20), and the
// NextToken of the rest ("" when none are left). items are ordered by key;
// a token is the key of the last item of a page, so that a page never
// repeats or skips an item that stayed.
func page[T any](items []T, key func(T) string, maxResults *int64, nextToken *string) ([]T, string, error) {
	limit := maxPageSize
	if maxResults != nil {
		limit = int(*maxResults)
	}
	start := 0
	if nextToken != nil {
		after, err := base64.RawURLEncoding.DecodeString(*nextToken)
		if err != nil || len(after) == 0 {
			return nil, "", errInvalidInput("INVALID_PAGINATION_TOKEN",
				"Get the value for the NextToken parameter from the response to a previous call of the operation.")
		}
		for start < len(items) && key(items[start]) <= string(after) {
			start++
		}
	}
	end := min(start+limit, len(items))
	next := ""
	if end < len(items) {
		next = base64.RawURLEncoding.EncodeToString([]byte(key(items[end-1])))
	}
	return items[start:end], next, nil
}

func orgOut(o store.Organization) organizationOut {
	return organizationOut{ID: o.ID, ARN: o.ARN, FeatureSet: o.FeatureSet, MasterAccountARN: o.ManagementAccountARN,
		MasterAccountID: o.ManagementAccountID, MasterAccountEmail: o.ManagementAccountEmail, AvailablePolicyTypes: []policyTypeSummary{}}
}

func ouOf(u store.OrganizationalUnit) ouOut { return ouOut{ID: u.ID, ARN: u.ARN, Name: u.Name} }

func accountOf(a store.OrgAccount) accountOut {
	return accountOut{ID: a.ID, ARN: a.ARN, Email: a.Email, Name: a.Name, Status: a.Status, State: a.Status,
		JoinedMethod: a.JoinedMethod, JoinedTimestamp: awsapi.EpochTime(a.JoinedAt)}
}

func statusOf(r store.CreateAccountStatus) createAccountStatusOut {
	return createAccountStatusOut{ID: r.ID, AccountName: r.AccountName, State: r.State,
		RequestedTimestamp: awsapi.EpochTime(r.RequestedAt), CompletedTimestamp: awsapi.EpochTime(r.CompletedAt),
		AccountID: r.AccountID, FailureReason: r.FailureReason}
}

func accountsOut(as []store.OrgAccount) []accountOut {
	out := make([]accountOut, 0, len(as))
	for _, a := range as {
		out = append(out, accountOf(a))
	}
	return out
}

func accountKey(a store.OrgAccount) string { return a.ID }

func (s *Service) describeOrganization(ctx context.Context, c *call) (any, error) {
	var in struct{}
	if err := decodeRequest(c.body, &in); err != nil {
		return nil, err
	}
	// Any member account may describe its organization.
	org, found, err := s.core.membership(ctx, c.callerAccount())
	if err != nil {
		return nil, err
	}
	if !found {
		return nil, errNotInUse()
	}
	if err := s.authorize(ctx, c, org.ARN); err != nil {
		return nil, err
	}
	return organizationOutput{Organization: orgOut(org)}, nil
}

func (s *Service) createOrganization(ctx context.Context, c *call) (any, error) {
	var in createOrganizationInput
	if err := decodeRequest(c.body, &in); err != nil {
		return nil, err
	}
	var v validator
	v.oneOf("FeatureSet", in.FeatureSet, featureSetAll, "CONSOLIDATED_BILLING")
	if err := v.check(); err != nil {
		return nil, err
	}
	if in.FeatureSet != nil && *in.FeatureSet != featureSetAll {
		return nil, errInvalidInput("INVALID_ENUM", "keyless serves organizations with all features only: leave out FeatureSet or set it to ALL.")
	}
	if _, found, err := s.core.membership(ctx, c.callerAccount()); err != nil || found {
		if err == nil {
			err = errAlreadyInOrganization()
		}
		return nil, err
	}
	if c.callerAccount() == "" {
		return nil, errMemberAccess()
	}
	// No organization yet: the action is authorized on any resource, as
	// AWS's CreateOrganization has no resource type.
	if err := s.authorize(ctx, c, "*"); err != nil {
		return nil, err
	}
	org, err := s.core.createOrganization(ctx, c.callerAccount())
	if err != nil {
		return nil, err
	}
	c.resource = org.ARN
	return organizationOutput{Organization: orgOut(org)}, nil
}

func (s *Service) listRoots(ctx context.Context, c *call) (any, error) {
	var in pageInput
	org, err := s.managed(ctx, c, &in, func(v *validator) {
		v.page(in.MaxResults, in.NextToken)
	}, func(org store.Organization) []string { return []string{org.ARN} })
	if err != nil {
		return nil, err
	}
	roots, next, err := page([]store.OrgRoot{org.Root}, func(r store.OrgRoot) string { return r.ID }, in.MaxResults, in.NextToken)
	if err != nil {
		return nil, err
	}
	out := listRootsOutput{Roots: []rootOut{}, NextToken: next}
	for _, r := range roots {
		out.Roots = append(out.Roots, rootOut{ID: r.ID, ARN: r.ARN, Name: r.Name, PolicyTypes: []policyTypeSummary{}})
	}
	return out, nil
}

func (s *Service) createOrganizationalUnit(ctx context.Context, c *call) (any, error) {
	var in createOrganizationalUnitInput
	org, err := s.managed(ctx, c, &in, func(v *validator) {
		v.required("Name", in.Name != nil)
		v.length("Name", in.Name, 1, maxOUName)
		v.parentID("ParentId", in.ParentID)
		v.tags(in.Tags)
	}, func(org store.Organization) []string { return []string{parentARN(org, *in.ParentID)} })
	if err != nil {
		return nil, err
	}
	ou, err := s.core.createOU(ctx, org, *in.ParentID, *in.Name)
	if err != nil {
		return nil, err
	}
	c.resource = ou.ARN
	return ouOutput{OrganizationalUnit: ouOf(ou)}, nil
}

func (s *Service) describeOrganizationalUnit(ctx context.Context, c *call) (any, error) {
	var in describeOrganizationalUnitInput
	org, err := s.managed(ctx, c, &in, func(v *validator) {
		v.required("OrganizationalUnitId", in.OrganizationalUnitID != nil)
		v.pattern("OrganizationalUnitId", in.OrganizationalUnitID, patOUID,
			"an OU ID (ou-, 4 to 32 lowercase letters or digits, -, 8 to 32 more)")
	}, func(org store.Organization) []string { return []string{ouARN(org, *in.OrganizationalUnitID)} })
	if err != nil {
		return nil, err
	}
	ou, err := s.core.ou(ctx, org, *in.OrganizationalUnitID)
	if err != nil {
		return nil, err
	}
	return ouOutput{OrganizationalUnit: ouOf(ou)}, nil
}

func (s *Service) listOrganizationalUnitsForParent(ctx context.Context, c *call) (any, error) {
	var in listForParentInput
	org, err := s.managed(ctx, c, &in, func(v *validator) {
		v.parentID("ParentId", in.ParentID)
		v.page(in.MaxResults, in.NextToken)
	}, func(org store.Organization) []string { return []string{parentARN(org, *in.ParentID)} })
	if err != nil {
		return nil, err
	}
	ous, err := s.core.listOUs(ctx, org, *in.ParentID)
	if err != nil {
		return nil, err
	}
	ous, next, err := page(ous, func(u store.OrganizationalUnit) string { return u.ID }, in.MaxResults, in.NextToken)
	if err != nil {
		return nil, err
	}
	out := listOUsOutput{OrganizationalUnits: []ouOut{}, NextToken: next}
	for _, u := range ous {
		out.OrganizationalUnits = append(out.OrganizationalUnits, ouOf(u))
	}
	return out, nil
}

func (s *Service) listParents(ctx context.Context, c *call) (any, error) {
	var in listParentsInput
	org, err := s.managed(ctx, c, &in, func(v *validator) {
		v.required("ChildId", in.ChildID != nil)
		v.length("ChildId", in.ChildID, 1, maxParentID)
		if in.ChildID != nil && !patAccountID.MatchString(*in.ChildID) && !patOUID.MatchString(*in.ChildID) {
			v.fail("INVALID_PATTERN", "You provided a value that doesn't match the required pattern: ChildId must be an account ID "+
				"(12 digits) or an OU ID (ou-, 4 to 32 lowercase letters or digits, -, 8 to 32 more); a root has no parent.")
		}
		v.page(in.MaxResults, in.NextToken)
	}, func(org store.Organization) []string { return []string{childARN(org, *in.ChildID)} })
	if err != nil {
		return nil, err
	}
	p, err := s.core.parentOf(ctx, org, *in.ChildID)
	if err != nil {
		return nil, err
	}
	parents, next, err := page([]parentOut{p}, func(p parentOut) string { return p.ID }, in.MaxResults, in.NextToken)
	if err != nil {
		return nil, err
	}
	return listParentsOutput{Parents: append([]parentOut{}, parents...), NextToken: next}, nil
}

func (s *Service) createAccount(ctx context.Context, c *call) (any, error) {
	var in createAccountInput
	org, err := s.managed(ctx, c, &in, func(v *validator) {
		v.required("AccountName", in.AccountName != nil)
		v.length("AccountName", in.AccountName, 1, maxAccountName)
		v.pattern("AccountName", in.AccountName, patASCII, "printable ASCII characters")
		v.required("Email", in.Email != nil)
		v.length("Email", in.Email, minEmail, maxEmail)
		v.pattern("Email", in.Email, patEmail, "an email address (name@domain.tld)")
		v.oneOf("IamUserAccessToBilling", in.IamUserAccessToBilling, "ALLOW", "DENY")
		v.pattern("RoleName", in.RoleName, patRoleName, "1 to 64 letters, digits and +=,.@_-")
		v.tags(in.Tags)
		if in.Email != nil && strings.ContainsFunc(*in.Email, func(r rune) bool { return r > 0x7e }) {
			v.fail("INVALID_EMAIL_ADDRESS_TARGET", "You specified an invalid email address: it must hold 7-bit ASCII characters only.")
		}
	}, func(org store.Organization) []string { return []string{org.ARN} })
	if err != nil {
		return nil, err
	}
	req, err := s.core.createAccount(ctx, org, *in.AccountName, *in.Email)
	if err != nil {
		return nil, err
	}
	if req.AccountID != "" {
		c.resource = accountARN(org.ManagementAccountID, org.ID, req.AccountID)
	}
	return createAccountStatusOutput{CreateAccountStatus: statusOf(req)}, nil
}

func (s *Service) describeCreateAccountStatus(ctx context.Context, c *call) (any, error) {
	var in describeCreateAccountStatusInput
	org, err := s.managed(ctx, c, &in, func(v *validator) {
		v.required("CreateAccountRequestId", in.CreateAccountRequestID != nil)
		v.pattern("CreateAccountRequestId", in.CreateAccountRequestID, patRequestID, "car- and 8 to 32 lowercase letters or digits")
	}, func(org store.Organization) []string { return []string{org.ARN} })
	if err != nil {
		return nil, err
	}
	req, err := s.core.accountRequest(ctx, org, *in.CreateAccountRequestID)
	if err != nil {
		return nil, err
	}
	return createAccountStatusOutput{CreateAccountStatus: statusOf(req)}, nil
}

func (s *Service) describeAccount(ctx context.Context, c *call) (any, error) {
	var in describeAccountInput
	org, err := s.managed(ctx, c, &in, func(v *validator) {
		v.accountID("AccountId", in.AccountID)
	}, func(org store.Organization) []string {
		return []string{accountARN(org.ManagementAccountID, org.ID, *in.AccountID)}
	})
	if err != nil {
		return nil, err
	}
	a, err := s.core.account(ctx, org, *in.AccountID)
	if err != nil {
		return nil, err
	}
	return accountOutput{Account: accountOf(a)}, nil
}

func (s *Service) listAccounts(ctx context.Context, c *call) (any, error) {
	var in pageInput
	org, err := s.managed(ctx, c, &in, func(v *validator) {
		v.page(in.MaxResults, in.NextToken)
	}, func(org store.Organization) []string { return []string{org.ARN} })
	if err != nil {
		return nil, err
	}
	as, err := s.core.listAccounts(ctx, org, "")
	if err != nil {
		return nil, err
	}
	as, next, err := page(as, accountKey, in.MaxResults, in.NextToken)
	if err != nil {
		return nil, err
	}
	return listAccountsOutput{Accounts: accountsOut(as), NextToken: next}, nil
}

func (s *Service) listAccountsForParent(ctx context.Context, c *call) (any, error) {
	var in listForParentInput
	org, err := s.managed(ctx, c, &in, func(v *validator) {
		v.parentID("ParentId", in.ParentID)
		v.page(in.MaxResults, in.NextToken)
	}, func(org store.Organization) []string { return []string{parentARN(org, *in.ParentID)} })
	if err != nil {
		return nil, err
	}
	as, err := s.core.listAccounts(ctx, org, *in.ParentID)
	if err != nil {
		return nil, err
	}
	as, next, err := page(as, accountKey, in.MaxResults, in.NextToken)
	if err != nil {
		return nil, err
	}
	return listAccountsOutput{Accounts: accountsOut(as), NextToken: next}, nil
}

func (s *Service) moveAccount(ctx context.Context, c *call) (any, error) {
	var in moveAccountInput
	org, err := s.managed(ctx, c, &in, func(v *validator) {
		v.accountID("AccountId", in.AccountID)
		v.parentID("SourceParentId", in.SourceParentID)
		v.parentID("DestinationParentId", in.DestinationParentID)
	}, func(org store.Organization) []string {
		// AWS authorizes MoveAccount on the account and on both parents.
		return []string{accountARN(org.ManagementAccountID, org.ID, *in.AccountID),
			parentARN(org, *in.SourceParentID), parentARN(org, *in.DestinationParentID)}
	})
	if err != nil {
		return nil, err
	}
	return nil, s.core.moveAccount(ctx, org, *in.AccountID, *in.SourceParentID, *in.DestinationParentID)
}
