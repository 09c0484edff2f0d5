package organizations

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/keyless-dev/keyless/awsapi"
	"github.com/keyless-dev/keyless/policy"
	"github.com/keyless-dev/keyless/store"
)

// The values AWS Organizations reports.
const (
	featureSetAll   = "ALL"
	rootName        = "Root"
	statusActive    = "ACTIVE"
	joinedCreated   = "CREATED"
	joinedInvited   = "INVITED"
	stateSucceeded  = "SUCCEEDED"
	stateFailed     = "FAILED"
	emailExists     = "EMAIL_ALREADY_EXISTS"
	parentTypeRoot  = "ROOT"
	parentTypeOU    = "ORGANIZATIONAL_UNIT"
	idAlphabet      = "abcdefghijklmnopqrstuvwxyz0123456789"
	digits          = "0123456789"
	maxCreateTries  = 5
	maxParentsDepth = 5 // AWS allows OUs five levels deep under the root
)

// CoreConfig configures an Organizations core.
type CoreConfig struct {
	// Store keeps the organizations. Required.
	Store store.OrganizationStore
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Rand is the source of IDs (default crypto/rand.Reader).
	Rand io.Reader
	// ManagementAccount returns the name and email address the management
	// account of a new organization is listed with (keyless knows no account
	// owner's address). Default: "keyless-ACCOUNT" and
	// "ACCOUNT@keyless.invalid".
	ManagementAccount func(accountID string) (name, email string)
	// AccountInUse, if set, reports whether an account ID is taken outside
	// the organizations (an account keyless serves that is a member of
	// none): CreateAccount never gives a new account such an ID.
	AccountInUse func(ctx context.Context, accountID string) (bool, error)
}

// Organizations applies AWS Organizations' rules to the records of a
// store.OrganizationStore: one organization per management account, its
// root, OUs nested under the root, member accounts created with unique
// 12-digit IDs and moved between parents. Its exported methods answer what
// the rest of keyless needs to know about accounts (the aws:PrincipalOrgID
// and aws:PrincipalOrgPaths condition keys, the accounts a provisioning run
// targets); the Service serves the API over it. It is safe for concurrent
// use.
type Organizations struct {
	st         store.OrganizationStore
	now        func() time.Time
	management func(string) (string, string)
	inUse      func(context.Context, string) (bool, error)

	randMu sync.Mutex // guards rand, which need not be safe for concurrent use
	rand   io.Reader
}

// NewOrganizations returns the core, or an error naming what the
// configuration lacks.
func NewOrganizations(cfg CoreConfig) (*Organizations, error) {
	if cfg.Store == nil {
		return nil, errors.New("organizations: a Store (store.OrganizationStore) is required")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Rand == nil {
		cfg.Rand = rand.Reader
	}
	if cfg.ManagementAccount == nil {
		cfg.ManagementAccount = func(id string) (string, string) { return "keyless-" + id, id + "@keyless.invalid" }
	}
	if cfg.AccountInUse == nil {
		cfg.AccountInUse = func(context.Context, string) (bool, error) { return false, nil }
	}
	return &Organizations{st: cfg.Store, now: cfg.Now, rand: cfg.Rand, management: cfg.ManagementAccount, inUse: cfg.AccountInUse}, nil
}

// PrincipalOrgID returns the ID of the organization accountID is a member
// of (the aws:PrincipalOrgID condition key of its principals), and false
// when it is a member of none.
func (o *Organizations) PrincipalOrgID(ctx context.Context, accountID string) (string, bool, error) {
	a, found, err := o.member(ctx, accountID)
	if err != nil || !found {
		return "", false, err
	}
	return a.OrganizationID, true, nil
}

// PrincipalOrgPaths returns the aws:PrincipalOrgPaths values of accountID's
// principals: the one path of the account in its organization, from the
// organization through the root and each OU above the account, each
// followed by "/" (o-a1b2c3d4e5/r-ab12/ou-ab12-11111111/ for an account in
// that OU); nil when the account is a member of no organization.
func (o *Organizations) PrincipalOrgPaths(ctx context.Context, accountID string) ([]string, error) {
	a, found, err := o.member(ctx, accountID)
	if err != nil || !found {
		return nil, err
	}
	chain, err := o.ancestors(ctx, a.ParentID)
	if err != nil {
		return nil, err
	}
	var b strings.Builder
	b.WriteString(a.OrganizationID + "/")
	for i := len(chain) - 1; i >= 0; i-- {
		b.WriteString(chain[i] + "/")
	}
	return []string{b.String()}, nil
}

// SetPrincipalKeys sets the organization condition keys of a request by a
// principal of accountID in c: aws:PrincipalOrgID and aws:PrincipalOrgPaths
// when the account is a member of an organization; nothing when it is not
// (AWS then leaves both keys out of the request context).
func (o *Organizations) SetPrincipalKeys(ctx context.Context, c policy.Context, accountID string) error {
	id, ok, err := o.PrincipalOrgID(ctx, accountID)
	if err != nil || !ok {
		return err
	}
	paths, err := o.PrincipalOrgPaths(ctx, accountID)
	if err != nil {
		return err
	}
	c.Set("aws:PrincipalOrgID", id)
	c.Set("aws:PrincipalOrgPaths", paths...)
	return nil
}

// ancestors returns parentID and the IDs of the OUs (and the root) above
// it, nearest first.
func (o *Organizations) ancestors(ctx context.Context, parentID string) ([]string, error) {
	var chain []string
	for id := parentID; ; {
		chain = append(chain, id)
		if !strings.HasPrefix(id, "ou-") {
			return chain, nil
		}
		ou, err := o.st.GetOrganizationalUnit(ctx, id)
		if err != nil {
			return nil, fmt.Errorf("organizations: path of %s: %w", parentID, err)
		}
		if len(chain) > maxParentsDepth+1 {
			return nil, fmt.Errorf("organizations: path of %s: OUs nested deeper than the %d levels AWS allows", parentID, maxParentsDepth)
		}
		id = ou.ParentID
	}
}

// Accounts returns the member accounts a provisioning run targets: those
// directly under the root or OU parentOrOU, or (recursive) under it at any
// depth; or, for an organization ID (o-…), every member of that
// organization. They are ordered breadth first: the parent's own accounts
// by ID, then those of its OUs (in OU ID order), level by level. An unknown
// ID is an error wrapping store.ErrNotFound.
func (o *Organizations) Accounts(ctx context.Context, parentOrOU string, recursive bool) ([]store.OrgAccount, error) {
	var orgID string
	switch {
	case strings.HasPrefix(parentOrOU, "o-"):
		if _, err := o.st.GetOrganization(ctx, parentOrOU); err != nil {
			return nil, fmt.Errorf("organizations: accounts of %s: %w", parentOrOU, err)
		}
		all, err := o.st.ListOrgAccounts(ctx, parentOrOU, "")
		if err != nil {
			return nil, fmt.Errorf("organizations: accounts of %s: %w", parentOrOU, err)
		}
		return all, nil
	case strings.HasPrefix(parentOrOU, "r-"):
		org, err := o.st.GetOrganizationByRoot(ctx, parentOrOU)
		if err != nil {
			return nil, fmt.Errorf("organizations: accounts of %s: %w", parentOrOU, err)
		}
		orgID = org.ID
	case strings.HasPrefix(parentOrOU, "ou-"):
		ou, err := o.st.GetOrganizationalUnit(ctx, parentOrOU)
		if err != nil {
			return nil, fmt.Errorf("organizations: accounts of %s: %w", parentOrOU, err)
		}
		orgID = ou.OrganizationID
	default:
		return nil, fmt.Errorf("organizations: accounts of %q: not an organization, root or OU ID: %w", parentOrOU, store.ErrNotFound)
	}
	var out []store.OrgAccount
	queue := []string{parentOrOU}
	for len(queue) > 0 {
		id := queue[0]
		queue = queue[1:]
		as, err := o.st.ListOrgAccounts(ctx, orgID, id)
		if err != nil {
			return nil, fmt.Errorf("organizations: accounts of %s: %w", id, err)
		}
		out = append(out, as...)
		if !recursive {
			break
		}
		ous, err := o.st.ListOrganizationalUnits(ctx, id)
		if err != nil {
			return nil, fmt.Errorf("organizations: OUs of %s: %w", id, err)
		}
		for _, ou := range ous {
			queue = append(queue, ou.ID)
		}
	}
	return out, nil
}

// member returns the member account accountID, if it is one.
func (o *Organizations) member(ctx context.Context, accountID string) (store.OrgAccount, bool, error) {
	a, err := o.st.GetOrgAccount(ctx, accountID)
	if errors.Is(err, store.ErrNotFound) {
		return store.OrgAccount{}, false, nil
	}
	if err != nil {
		return store.OrgAccount{}, false, fmt.Errorf("organizations: %w", err)
	}
	return a, true, nil
}

// membership returns the organization accountID is a member of, and whether
// it is one.
func (o *Organizations) membership(ctx context.Context, accountID string) (store.Organization, bool, error) {
	a, found, err := o.member(ctx, accountID)
	if err != nil || !found {
		return store.Organization{}, false, err
	}
	org, err := o.st.GetOrganization(ctx, a.OrganizationID)
	if err != nil {
		return store.Organization{}, false, fmt.Errorf("organizations: organization of %s: %w", accountID, err)
	}
	return org, true, nil
}

// randomID returns n characters drawn uniformly from alphabet.
func (o *Organizations) randomID(alphabet string, n int) (string, error) {
	o.randMu.Lock()
	defer o.randMu.Unlock()
	limit := 256 - 256%len(alphabet)
	out := make([]byte, 0, n)
	buf := make([]byte, 2*n)
	for len(out) < n {
		if _, err := io.ReadFull(o.rand, buf); err != nil {
			return "", fmt.Errorf("organizations: random ID: %w", err)
		}
		for _, b := range buf {
			if int(b) < limit && len(out) < n {
				out = append(out, alphabet[int(b)%len(alphabet)])
			}
		}
	}
	return string(out), nil
}

// arnBase is the start of the ARNs of an organization's resources, up to
// the resource type: arn:aws:organizations::MANAGEMENT:.
func arnBase(management string) string { return "arn:aws:organizations::" + management + ":" }

func orgARN(management, orgID string) string {
	return arnBase(management) + "organization/" + orgID
}

func rootARN(org store.Organization, id string) string {
	return arnBase(org.ManagementAccountID) + "root/" + org.ID + "/" + id
}

func ouARN(org store.Organization, id string) string {
	return arnBase(org.ManagementAccountID) + "ou/" + org.ID + "/" + id
}

func accountARN(management, orgID, id string) string {
	return arnBase(management) + "account/" + orgID + "/" + id
}

// parentARN is the ARN of the root or OU id of org (well formed or not).
func parentARN(org store.Organization, id string) string {
	if strings.HasPrefix(id, "r-") {
		return rootARN(org, id)
	}
	return ouARN(org, id)
}

// childARN is the ARN of the account or OU id of org.
func childARN(org store.Organization, id string) string {
	if strings.HasPrefix(id, "ou-") {
		return ouARN(org, id)
	}
	return accountARN(org.ManagementAccountID, org.ID, id)
}

// createOrganization creates an organization with all features whose
// management account is accountID, with its root.
func (o *Organizations) createOrganization(ctx context.Context, accountID string) (store.Organization, error) {
	name, email := o.management(accountID)
	for range maxCreateTries {
		suffix, err := o.randomID(idAlphabet, 10)
		if err != nil {
			return store.Organization{}, err
		}
		root, err := o.randomID(idAlphabet, 4)
		if err != nil {
			return store.Organization{}, err
		}
		now := o.now()
		org := store.Organization{ID: "o-" + suffix, FeatureSet: featureSetAll, ManagementAccountID: accountID,
			ManagementAccountEmail: email, CreatedAt: now}
		org.ARN = orgARN(accountID, org.ID)
		org.ManagementAccountARN = accountARN(accountID, org.ID, accountID)
		org.Root = store.OrgRoot{ID: "r-" + root, ARN: rootARN(org, "r-"+root), Name: rootName}
		mgmt := store.OrgAccount{ID: accountID, ARN: org.ManagementAccountARN, Name: name, Email: email,
			OrganizationID: org.ID, ParentID: org.Root.ID, Status: statusActive, JoinedMethod: joinedInvited, JoinedAt: now}
		err = o.st.CreateOrganization(ctx, org, mgmt)
		if err == nil {
			return org, nil
		}
		if !errors.Is(err, store.ErrAlreadyExists) {
			return store.Organization{}, fmt.Errorf("organizations: %w", err)
		}
		// The account joined one meanwhile, or an ID was taken: which?
		if _, found, err := o.member(ctx, accountID); err != nil || found {
			if err == nil {
				err = errAlreadyInOrganization()
			}
			return store.Organization{}, err
		}
	}
	return store.Organization{}, errConcurrentModification()
}

// parent checks that id is the root or an OU of org.
func (o *Organizations) parent(ctx context.Context, org store.Organization, id string) (bool, error) {
	if id == org.Root.ID {
		return true, nil
	}
	if !strings.HasPrefix(id, "ou-") {
		return false, nil
	}
	ou, err := o.st.GetOrganizationalUnit(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("organizations: %w", err)
	}
	return ou.OrganizationID == org.ID, nil
}

// ou returns the OU id of org, or OrganizationalUnitNotFoundException.
func (o *Organizations) ou(ctx context.Context, org store.Organization, id string) (store.OrganizationalUnit, error) {
	ou, err := o.st.GetOrganizationalUnit(ctx, id)
	if errors.Is(err, store.ErrNotFound) || err == nil && ou.OrganizationID != org.ID {
		return store.OrganizationalUnit{}, errOUNotFound()
	}
	if err != nil {
		return store.OrganizationalUnit{}, fmt.Errorf("organizations: %w", err)
	}
	return ou, nil
}

// nameTaken reports whether parentID has an OU named name.
func (o *Organizations) nameTaken(ctx context.Context, parentID, name string) (bool, error) {
	ous, err := o.st.ListOrganizationalUnits(ctx, parentID)
	if err != nil {
		return false, fmt.Errorf("organizations: %w", err)
	}
	for _, ou := range ous {
		if ou.Name == name {
			return true, nil
		}
	}
	return false, nil
}

// createOU creates an OU named name under parentID (the root or an OU of
// org).
func (o *Organizations) createOU(ctx context.Context, org store.Organization, parentID, name string) (store.OrganizationalUnit, error) {
	ok, err := o.parent(ctx, org, parentID)
	if err != nil {
		return store.OrganizationalUnit{}, err
	}
	if !ok {
		return store.OrganizationalUnit{}, errParentNotFound()
	}
	if depth, err := o.ancestors(ctx, parentID); err != nil {
		return store.OrganizationalUnit{}, err
	} else if len(depth) > maxParentsDepth {
		return store.OrganizationalUnit{}, newError("ConstraintViolationException",
			"OU_DEPTH_LIMIT_EXCEEDED: You attempted to create an OU tree that is too many levels deep.")
	}
	for range maxCreateTries {
		if taken, err := o.nameTaken(ctx, parentID, name); err != nil || taken {
			if err == nil {
				err = errDuplicateOU()
			}
			return store.OrganizationalUnit{}, err
		}
		suffix, err := o.randomID(idAlphabet, 8)
		if err != nil {
			return store.OrganizationalUnit{}, err
		}
		id := "ou-" + strings.TrimPrefix(org.Root.ID, "r-") + "-" + suffix
		ou := store.OrganizationalUnit{ID: id, ARN: ouARN(org, id), Name: name, OrganizationID: org.ID, ParentID: parentID, CreatedAt: o.now()}
		err = o.st.CreateOrganizationalUnit(ctx, ou)
		switch {
		case err == nil:
			return ou, nil
		case errors.Is(err, store.ErrNotFound):
			return store.OrganizationalUnit{}, errParentNotFound() // deleted meanwhile
		case !errors.Is(err, store.ErrAlreadyExists):
			return store.OrganizationalUnit{}, fmt.Errorf("organizations: %w", err)
		}
		// The name was taken meanwhile (checked again), or the ID.
	}
	return store.OrganizationalUnit{}, errConcurrentModification()
}

// listOUs returns the OUs under parentID, the root or an OU of org.
func (o *Organizations) listOUs(ctx context.Context, org store.Organization, parentID string) ([]store.OrganizationalUnit, error) {
	ok, err := o.parent(ctx, org, parentID)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, errParentNotFound()
	}
	ous, err := o.st.ListOrganizationalUnits(ctx, parentID)
	if err != nil {
		return nil, fmt.Errorf("organizations: %w", err)
	}
	return ous, nil
}

// parentOf returns the ID and type of the parent of childID, an account or
// OU of org, or ChildNotFoundException.
func (o *Organizations) parentOf(ctx context.Context, org store.Organization, childID string) (parentOut, error) {
	var parentID string
	if strings.HasPrefix(childID, "ou-") {
		ou, err := o.ou(ctx, org, childID)
		if err != nil {
			if errors.Is(err, errOUNotFound()) {
				err = errChildNotFound()
			}
			return parentOut{}, err
		}
		parentID = ou.ParentID
	} else {
		a, err := o.account(ctx, org, childID)
		if err != nil {
			if errors.Is(err, errAccountNotFound()) {
				err = errChildNotFound()
			}
			return parentOut{}, err
		}
		parentID = a.ParentID
	}
	if strings.HasPrefix(parentID, "ou-") {
		return parentOut{ID: parentID, Type: parentTypeOU}, nil
	}
	return parentOut{ID: parentID, Type: parentTypeRoot}, nil
}

// account returns the member account id of org, or AccountNotFoundException.
func (o *Organizations) account(ctx context.Context, org store.Organization, id string) (store.OrgAccount, error) {
	a, found, err := o.member(ctx, id)
	if err != nil {
		return store.OrgAccount{}, err
	}
	if !found || a.OrganizationID != org.ID {
		return store.OrgAccount{}, errAccountNotFound()
	}
	return a, nil
}

// listAccounts returns the member accounts of org, or those directly under
// parentID when it is not "".
func (o *Organizations) listAccounts(ctx context.Context, org store.Organization, parentID string) ([]store.OrgAccount, error) {
	if parentID != "" {
		ok, err := o.parent(ctx, org, parentID)
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, errParentNotFound()
		}
	}
	as, err := o.st.ListOrgAccounts(ctx, org.ID, parentID)
	if err != nil {
		return nil, fmt.Errorf("organizations: %w", err)
	}
	return as, nil
}

// createAccount creates a member account of org under its root, named name,
// with the email address email, and returns the record of the request:
// SUCCEEDED with the new account's ID, or FAILED with EMAIL_ALREADY_EXISTS
// when a member account has that address. The account and the record are
// stored together; the ID is 12 random digits no member account has, nor
// any account AccountInUse reports.
func (o *Organizations) createAccount(ctx context.Context, org store.Organization, name, email string) (store.CreateAccountStatus, error) {
	for range maxCreateTries {
		reqSuffix, err := o.randomID(idAlphabet, 32)
		if err != nil {
			return store.CreateAccountStatus{}, err
		}
		now := o.now()
		req := store.CreateAccountStatus{ID: "car-" + reqSuffix, OrganizationID: org.ID, AccountName: name, RequestedAt: now, CompletedAt: now}
		if _, err := o.st.GetOrgAccountByEmail(ctx, email); err == nil {
			req.State, req.FailureReason = stateFailed, emailExists
			if err := o.st.CreateAccountRequest(ctx, req); err != nil {
				if errors.Is(err, store.ErrAlreadyExists) {
					continue // the request ID was taken: draw another
				}
				return store.CreateAccountStatus{}, fmt.Errorf("organizations: %w", err)
			}
			return req, nil
		} else if !errors.Is(err, store.ErrNotFound) {
			return store.CreateAccountStatus{}, fmt.Errorf("organizations: %w", err)
		}
		id, err := o.randomID(digits, 12)
		if err != nil {
			return store.CreateAccountStatus{}, err
		}
		if taken, err := o.inUse(ctx, id); err != nil {
			return store.CreateAccountStatus{}, fmt.Errorf("organizations: is account ID %s in use: %w", id, err)
		} else if taken {
			continue
		}
		req.State, req.AccountID = stateSucceeded, id
		a := store.OrgAccount{ID: id, ARN: accountARN(org.ManagementAccountID, org.ID, id), Name: name, Email: email,
			OrganizationID: org.ID, ParentID: org.Root.ID, Status: statusActive, JoinedMethod: joinedCreated, JoinedAt: now}
		err = o.st.CreateOrgAccount(ctx, a, req)
		if err == nil {
			return req, nil
		}
		if !errors.Is(err, store.ErrAlreadyExists) {
			return store.CreateAccountStatus{}, fmt.Errorf("organizations: %w", err)
		}
		// The address was taken meanwhile (checked again), or an ID.
	}
	return store.CreateAccountStatus{}, errConcurrentModification()
}

// accountRequest returns the record of the CreateAccount request id of org.
func (o *Organizations) accountRequest(ctx context.Context, org store.Organization, id string) (store.CreateAccountStatus, error) {
	req, err := o.st.GetAccountRequest(ctx, id)
	if errors.Is(err, store.ErrNotFound) || err == nil && req.OrganizationID != org.ID {
		return store.CreateAccountStatus{}, errCreateAccountStatusNotFound()
	}
	if err != nil {
		return store.CreateAccountStatus{}, fmt.Errorf("organizations: %w", err)
	}
	return req, nil
}

// moveAccount moves the member account id of org from the root or OU src to
// dst.
func (o *Organizations) moveAccount(ctx context.Context, org store.Organization, id, src, dst string) error {
	if _, err := o.account(ctx, org, id); err != nil {
		return err
	}
	if ok, err := o.parent(ctx, org, src); err != nil || !ok {
		if err == nil {
			err = errSourceParentNotFound()
		}
		return err
	}
	if ok, err := o.parent(ctx, org, dst); err != nil || !ok {
		if err == nil {
			err = errDestinationParentNotFound()
		}
		return err
	}
	err := o.st.UpdateOrgAccount(ctx, id, func(a store.OrgAccount) (store.OrgAccount, error) {
		switch {
		case a.ParentID != src:
			return a, errAccountNotFound()
		case a.ParentID == dst:
			return a, errDuplicateAccount()
		}
		a.ParentID = dst
		return a, nil
	})
	var refusal *awsapi.Error
	switch {
	case err == nil:
		return nil
	case errors.As(err, &refusal):
		return refusal // the callback's DuplicateAccountException or AccountNotFoundException
	case errors.Is(err, store.ErrNotFound):
		// The account, or the destination, went meanwhile.
		if _, aerr := o.account(ctx, org, id); aerr != nil {
			return aerr
		}
		return errDestinationParentNotFound()
	}
	return fmt.Errorf("organizations: %w", err)
}
