package store

import (
	"context"
	"time"
)

// OrganizationStore keeps the organizations of the local AWS Organizations
// service: each organization with its root, its organizational units (OUs),
// its member accounts and the records of its CreateAccount requests. The
// management account of an organization is one of its members.
//
// Conventions, beyond Store's (store/storetest.RunOrganizations checks them):
// IDs are case-sensitive and unique in the store (organization, root, OU,
// account and create-account request IDs alike, each in its own kind); an
// account is a member of at most one organization, and its email address is
// unique case-insensitively (kept as given); an OU's name is unique among
// its parent's OUs; a parent (root or OU) must be of the same organization
// as its child, else the create or move gives ErrNotFound; lists are ordered
// by ID.
type OrganizationStore interface {
	// CreateOrganization stores a new organization with its root and its
	// management account (a member under the root, management.ParentID the
	// root's ID), in one transaction; ErrAlreadyExists if the organization's
	// or root's ID is taken, or the management account is a member of an
	// organization already.
	CreateOrganization(ctx context.Context, o Organization, management OrgAccount) error
	// GetOrganization returns the organization with the given ID.
	GetOrganization(ctx context.Context, id string) (Organization, error)
	// GetOrganizationByRoot returns the organization whose root has the
	// given ID.
	GetOrganizationByRoot(ctx context.Context, rootID string) (Organization, error)

	// CreateOrganizationalUnit stores a new OU; ErrNotFound if its parent
	// (root or OU) is not in its organization, ErrAlreadyExists if its ID is
	// taken or its parent has an OU of that name.
	CreateOrganizationalUnit(ctx context.Context, ou OrganizationalUnit) error
	// GetOrganizationalUnit returns the OU with the given ID (never a root).
	GetOrganizationalUnit(ctx context.Context, id string) (OrganizationalUnit, error)
	// ListOrganizationalUnits returns the OUs whose parent is parentID (a
	// root or OU ID), by ID; none for a parent that does not exist.
	ListOrganizationalUnits(ctx context.Context, parentID string) ([]OrganizationalUnit, error)

	// CreateOrgAccount stores a new member account and the record of the
	// CreateAccount request that made it, in one transaction; ErrAlreadyExists
	// if the account's ID or email address, or the request's ID, is taken;
	// ErrNotFound if its parent is not in its organization.
	CreateOrgAccount(ctx context.Context, a OrgAccount, req CreateAccountStatus) error
	// GetOrgAccount returns the member account with the given ID.
	GetOrgAccount(ctx context.Context, id string) (OrgAccount, error)
	// GetOrgAccountByEmail returns the member account whose email address is
	// email, compared case-insensitively.
	GetOrgAccountByEmail(ctx context.Context, email string) (OrgAccount, error)
	// ListOrgAccounts returns the member accounts of the organization orgID,
	// by ID: all of them when parentID is "", else those directly under that
	// root or OU.
	ListOrgAccounts(ctx context.Context, orgID, parentID string) ([]OrgAccount, error)
	// UpdateOrgAccount replaces a member account with what fn returns, in a
	// transaction; fn may change its parent (a move; ErrNotFound if the new
	// parent is not in its organization), name and status, not its ID,
	// organization or email address (an error, and nothing is written).
	UpdateOrgAccount(ctx context.Context, id string, fn func(OrgAccount) (OrgAccount, error)) error

	// CreateAccountRequest stores the record of a CreateAccount request that
	// made no account (a failed one); ErrAlreadyExists if its ID is taken.
	CreateAccountRequest(ctx context.Context, req CreateAccountStatus) error
	// GetAccountRequest returns the record of the CreateAccount request with
	// the given ID.
	GetAccountRequest(ctx context.Context, id string) (CreateAccountStatus, error)

	// CreateHandshake stores a new handshake; ErrAlreadyExists if its ID is
	// taken, ErrNotFound if its organization does not exist.
	CreateHandshake(ctx context.Context, h Handshake) error
	// GetHandshake returns the handshake with the given ID.
	GetHandshake(ctx context.Context, id string) (Handshake, error)
	// ListHandshakes returns, by ID, the handshakes of the organization
	// orgID (of every organization when orgID is "") whose target is
	// targetID (any target when targetID is "").
	ListHandshakes(ctx context.Context, orgID, targetID string) ([]Handshake, error)
	// UpdateHandshake replaces a handshake with what fn returns, in a
	// transaction; fn may change only its state (an error otherwise, and
	// nothing is written). When fn also returns a member account, that
	// account is created in the same transaction (an accepted invitation):
	// ErrAlreadyExists if its ID or email address is taken, ErrNotFound if
	// its parent is not in its organization, and then nothing is written.
	UpdateHandshake(ctx context.Context, id string, fn func(Handshake) (Handshake, *OrgAccount, error)) error
}

// Handshake is an invitation of an account to join an organization (AWS
// Organizations' handshake of action INVITE).
type Handshake struct {
	// ID is h- and 32 lowercase letters or digits.
	ID string
	// ARN is arn:aws:organizations::MANAGEMENT:handshake/ORG/invite/ID.
	ARN string
	// OrganizationID is the inviting organization's ID.
	OrganizationID string
	// Action is INVITE.
	Action string
	// State is OPEN, ACCEPTED, DECLINED, CANCELED or EXPIRED.
	State string
	// TargetType is ACCOUNT or EMAIL, and TargetID the account ID or the
	// email address (as given) invited.
	TargetType string
	TargetID   string
	// Notes are the inviter's notes ("" for none).
	Notes       string
	RequestedAt time.Time
	ExpiresAt   time.Time
}

// Organization is an organization of the local AWS Organizations service.
type Organization struct {
	// ID is o- and 10 lowercase letters or digits.
	ID string
	// ARN is arn:aws:organizations::MANAGEMENT:organization/ID.
	ARN string
	// FeatureSet is ALL or CONSOLIDATED_BILLING.
	FeatureSet string
	// ManagementAccountID, ManagementAccountARN and ManagementAccountEmail
	// describe the management account (AWS's MasterAccount*).
	ManagementAccountID    string
	ManagementAccountARN   string
	ManagementAccountEmail string
	// Root is the organization's one root.
	Root OrgRoot
	// CreatedAt is when the organization was created.
	CreatedAt time.Time
}

// OrgRoot is the root of an organization, the parent of its top-level OUs
// and accounts.
type OrgRoot struct {
	// ID is r- and 4 lowercase letters or digits.
	ID string
	// ARN is arn:aws:organizations::MANAGEMENT:root/ORG/ID.
	ARN string
	// Name is "Root".
	Name string
}

// OrganizationalUnit is an OU of an organization.
type OrganizationalUnit struct {
	// ID is ou-, the root's ID without r-, a hyphen and 8 lowercase letters
	// or digits.
	ID string
	// ARN is arn:aws:organizations::MANAGEMENT:ou/ORG/ID.
	ARN  string
	Name string
	// OrganizationID is the organization's ID.
	OrganizationID string
	// ParentID is the ID of the root or OU the OU is in.
	ParentID  string
	CreatedAt time.Time
}

// OrgAccount is a member account of an organization.
type OrgAccount struct {
	// ID is the 12-digit account ID.
	ID string
	// ARN is arn:aws:organizations::MANAGEMENT:account/ORG/ID.
	ARN   string
	Name  string
	Email string
	// OrganizationID is the organization's ID.
	OrganizationID string
	// ParentID is the ID of the root or OU the account is in.
	ParentID string
	// Status is ACTIVE (AWS's AccountStatus).
	Status string
	// JoinedMethod is CREATED, or INVITED (the management account, and an
	// account that accepted an invitation).
	JoinedMethod string
	JoinedAt     time.Time
}

// CreateAccountStatus is the record of a CreateAccount request.
type CreateAccountStatus struct {
	// ID is car- and 32 lowercase letters or digits.
	ID string
	// OrganizationID is the organization the request was made in.
	OrganizationID string
	AccountName    string
	// State is SUCCEEDED or FAILED.
	State string
	// AccountID is the new account's ID when the request succeeded.
	AccountID string
	// FailureReason says why a failed request failed (EMAIL_ALREADY_EXISTS).
	FailureReason string
	RequestedAt   time.Time
	CompletedAt   time.Time
}
