package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"reflect"
	"strings"

	"github.com/keyless-dev/keyless/store"
)

// organizationsMigration is the schema step of the local AWS Organizations
// service: organizations, their roots and OUs (one table, org_units, so that
// an account's or OU's parent is one foreign key whichever kind it is), their
// member accounts and the records of CreateAccount requests. A parent must be
// of its child's organization: the foreign keys name both columns.
var organizationsMigration = []string{
	`CREATE TABLE organizations (
		id                 {text} PRIMARY KEY,
		arn                {text} NOT NULL,
		feature_set        {text} NOT NULL,
		management_account {text} NOT NULL UNIQUE,
		management_arn     {text} NOT NULL,
		management_email   {text} NOT NULL,
		root_id            {text} NOT NULL UNIQUE,
		created_at         BIGINT
	)`,
	`CREATE TABLE org_units (
		id         {text} PRIMARY KEY,
		org_id     {text} NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
		kind       {text} NOT NULL,
		parent_id  {text},
		name       {text} NOT NULL,
		arn        {text} NOT NULL,
		created_at BIGINT,
		UNIQUE (org_id, id),
		UNIQUE (parent_id, name),
		FOREIGN KEY (org_id, parent_id) REFERENCES org_units (org_id, id)
	)`,
	`CREATE TABLE org_accounts (
		id            {text} PRIMARY KEY,
		org_id        {text} NOT NULL,
		parent_id     {text} NOT NULL,
		name          {text} NOT NULL,
		email         {text} NOT NULL,
		email_key     {text} NOT NULL UNIQUE,
		arn           {text} NOT NULL,
		status        {text} NOT NULL,
		joined_method {text} NOT NULL,
		joined_at     BIGINT,
		FOREIGN KEY (org_id, parent_id) REFERENCES org_units (org_id, id)
	)`,
	`CREATE INDEX org_accounts_org ON org_accounts (org_id, parent_id, id)`,
	`CREATE TABLE org_account_requests (
		id             {text} PRIMARY KEY,
		org_id         {text} NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
		account_name   {text} NOT NULL,
		state          {text} NOT NULL,
		account_id     {text} NOT NULL,
		failure_reason {text} NOT NULL,
		requested_at   BIGINT,
		completed_at   BIGINT
	)`,
}

// The kinds of org_units rows.
const (
	unitRoot = "root"
	unitOU   = "ou"
)

var _ store.OrganizationStore = (*Store)(nil)

// CreateOrganization stores o, its root and its management account in one
// transaction.
func (s *Store) CreateOrganization(ctx context.Context, o store.Organization, management store.OrgAccount) error {
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO organizations (id, arn, feature_set, management_account, management_arn,
			management_email, root_id, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
			o.ID, o.ARN, o.FeatureSet, o.ManagementAccountID, o.ManagementAccountARN, o.ManagementAccountEmail, o.Root.ID, micros(o.CreatedAt)); err != nil {
			return s.d.mapErr(err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO org_units (id, org_id, kind, parent_id, name, arn, created_at)
			VALUES ($1, $2, $3, NULL, $4, $5, $6)`, o.Root.ID, o.ID, unitRoot, o.Root.Name, o.Root.ARN, micros(o.CreatedAt)); err != nil {
			return s.d.mapErr(err)
		}
		return s.insertOrgAccount(ctx, tx, management)
	})
	if err != nil {
		return fmt.Errorf("store: create organization %q: %w", o.ID, err)
	}
	return nil
}

// GetOrganization returns an organization with its root.
func (s *Store) GetOrganization(ctx context.Context, id string) (store.Organization, error) {
	o, err := s.readOrganization(ctx, "o.id", id)
	if err != nil {
		return store.Organization{}, fmt.Errorf("store: get organization %q: %w", id, err)
	}
	return o, nil
}

// GetOrganizationByRoot returns the organization of a root.
func (s *Store) GetOrganizationByRoot(ctx context.Context, rootID string) (store.Organization, error) {
	o, err := s.readOrganization(ctx, "o.root_id", rootID)
	if err != nil {
		return store.Organization{}, fmt.Errorf("store: get organization of root %q: %w", rootID, err)
	}
	return o, nil
}

// readOrganization reads the organization whose column col (o.id or
// o.root_id) is key, with its root.
func (s *Store) readOrganization(ctx context.Context, col, key string) (store.Organization, error) {
	var o store.Organization
	var created sql.NullInt64
	err := s.r.QueryRowContext(ctx, `SELECT o.id, o.arn, o.feature_set, o.management_account, o.management_arn, o.management_email,
		r.id, r.arn, r.name, o.created_at FROM organizations o JOIN org_units r ON r.id = o.root_id WHERE `+col+` = $1`, key).Scan(
		&o.ID, &o.ARN, &o.FeatureSet, &o.ManagementAccountID, &o.ManagementAccountARN, &o.ManagementAccountEmail,
		&o.Root.ID, &o.Root.ARN, &o.Root.Name, &created)
	if errors.Is(err, sql.ErrNoRows) {
		err = store.ErrNotFound
	}
	o.CreatedAt = timeOf(created)
	return o, err
}

// ouEntity describes the OU rows of org_units.
var ouEntity = &entity[store.OrganizationalUnit]{
	what:  "organizational unit",
	table: "org_units",
	from:  "org_units",
	cols:  []string{"id", "org_id", "kind", "parent_id", "name", "arn", "created_at"},
	read:  []string{"id", "org_id", "parent_id", "name", "arn", "created_at"},
	key:   []string{"id", "kind"},
	order: "id",
	args: func(u store.OrganizationalUnit) []any {
		return []any{u.ID, u.OrganizationID, unitOU, u.ParentID, u.Name, u.ARN, micros(u.CreatedAt)}
	},
	scan: func(r row) (store.OrganizationalUnit, error) {
		var u store.OrganizationalUnit
		var created sql.NullInt64
		err := r.Scan(&u.ID, &u.OrganizationID, &u.ParentID, &u.Name, &u.ARN, &created)
		u.CreatedAt = timeOf(created)
		return u, err
	},
}

// CreateOrganizationalUnit stores a new OU.
func (s *Store) CreateOrganizationalUnit(ctx context.Context, ou store.OrganizationalUnit) error {
	if ou.ParentID == "" {
		return fmt.Errorf("store: create organizational unit %q: no parent: %w", ou.ID, store.ErrNotFound)
	}
	return create(ctx, s, ouEntity, ou, ou.ID)
}

// GetOrganizationalUnit returns an OU (a root's ID gives ErrNotFound).
func (s *Store) GetOrganizationalUnit(ctx context.Context, id string) (store.OrganizationalUnit, error) {
	return get(ctx, s, ouEntity, id, id, unitOU)
}

// ListOrganizationalUnits returns the OUs under parentID, by ID.
func (s *Store) ListOrganizationalUnits(ctx context.Context, parentID string) ([]store.OrganizationalUnit, error) {
	return list(ctx, s, ouEntity, "parent_id = $1 AND kind = $2", 0, parentID, unitOU)
}

// orgAccountCols are the columns of org_accounts, in orgAccountArgs's order.
var orgAccountCols = []string{"id", "org_id", "parent_id", "name", "email", "email_key", "arn", "status", "joined_method", "joined_at"}

func orgAccountArgs(a store.OrgAccount) []any {
	return []any{a.ID, a.OrganizationID, a.ParentID, a.Name, a.Email, strings.ToLower(a.Email), a.ARN, a.Status, a.JoinedMethod, micros(a.JoinedAt)}
}

// orgAccountEntity describes org_accounts.
var orgAccountEntity = &entity[store.OrgAccount]{
	what:  "organization account",
	table: "org_accounts",
	from:  "org_accounts",
	cols:  orgAccountCols,
	read:  []string{"id", "org_id", "parent_id", "name", "email", "arn", "status", "joined_method", "joined_at"},
	key:   []string{"id"},
	order: "id",
	args:  orgAccountArgs,
	scan: func(r row) (store.OrgAccount, error) {
		var a store.OrgAccount
		var joined sql.NullInt64
		err := r.Scan(&a.ID, &a.OrganizationID, &a.ParentID, &a.Name, &a.Email, &a.ARN, &a.Status, &a.JoinedMethod, &joined)
		a.JoinedAt = timeOf(joined)
		return a, err
	},
}

// insertOrgAccount inserts a member account in tx.
func (s *Store) insertOrgAccount(ctx context.Context, tx *sql.Tx, a store.OrgAccount) error {
	if a.ParentID == "" {
		return fmt.Errorf("account %q has no parent: %w", a.ID, store.ErrNotFound)
	}
	q := "INSERT INTO org_accounts (" + strings.Join(orgAccountCols, ", ") + ") VALUES (" + placeholders(1, len(orgAccountCols)) + ")"
	if _, err := tx.ExecContext(ctx, q, orgAccountArgs(a)...); err != nil {
		return s.d.mapErr(err)
	}
	return nil
}

// accountRequestCols are the columns of org_account_requests, in
// accountRequestArgs's order.
var accountRequestCols = []string{"id", "org_id", "account_name", "state", "account_id", "failure_reason", "requested_at", "completed_at"}

func accountRequestArgs(r store.CreateAccountStatus) []any {
	return []any{r.ID, r.OrganizationID, r.AccountName, r.State, r.AccountID, r.FailureReason, micros(r.RequestedAt), micros(r.CompletedAt)}
}

// accountRequestEntity describes org_account_requests.
var accountRequestEntity = &entity[store.CreateAccountStatus]{
	what:  "create account request",
	table: "org_account_requests",
	from:  "org_account_requests",
	cols:  accountRequestCols,
	read:  accountRequestCols,
	key:   []string{"id"},
	order: "id",
	args:  accountRequestArgs,
	scan: func(r row) (store.CreateAccountStatus, error) {
		var c store.CreateAccountStatus
		var requested, completed sql.NullInt64
		err := r.Scan(&c.ID, &c.OrganizationID, &c.AccountName, &c.State, &c.AccountID, &c.FailureReason, &requested, &completed)
		c.RequestedAt, c.CompletedAt = timeOf(requested), timeOf(completed)
		return c, err
	},
}

// CreateOrgAccount stores a member account and its request's record in one
// transaction.
func (s *Store) CreateOrgAccount(ctx context.Context, a store.OrgAccount, req store.CreateAccountStatus) error {
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if err := s.insertOrgAccount(ctx, tx, a); err != nil {
			return err
		}
		q := "INSERT INTO org_account_requests (" + strings.Join(accountRequestCols, ", ") + ") VALUES (" + placeholders(1, len(accountRequestCols)) + ")"
		if _, err := tx.ExecContext(ctx, q, accountRequestArgs(req)...); err != nil {
			return s.d.mapErr(err)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("store: create organization account %q: %w", a.ID, err)
	}
	return nil
}

// GetOrgAccount returns a member account.
func (s *Store) GetOrgAccount(ctx context.Context, id string) (store.OrgAccount, error) {
	return get(ctx, s, orgAccountEntity, id, id)
}

// GetOrgAccountByEmail returns the member account of an email address,
// compared case-insensitively.
func (s *Store) GetOrgAccountByEmail(ctx context.Context, email string) (store.OrgAccount, error) {
	out, err := list(ctx, s, orgAccountEntity, "email_key = $1", 1, strings.ToLower(email))
	if err == nil && len(out) == 0 {
		err = store.ErrNotFound
	}
	if err != nil {
		return store.OrgAccount{}, fmt.Errorf("store: get organization account of email %q: %w", email, err)
	}
	return out[0], nil
}

// ListOrgAccounts returns the member accounts of an organization, or of one
// of its parents, by ID.
func (s *Store) ListOrgAccounts(ctx context.Context, orgID, parentID string) ([]store.OrgAccount, error) {
	if parentID == "" {
		return list(ctx, s, orgAccountEntity, "org_id = $1", 0, orgID)
	}
	return list(ctx, s, orgAccountEntity, "org_id = $1 AND parent_id = $2", 0, orgID, parentID)
}

// errOrgAccountKey is returned when an update callback changes a member
// account's ID, organization or email address.
var errOrgAccountKey = errors.New("the callback changed the account's ID, organization or email address, which cannot change")

// UpdateOrgAccount replaces a member account with what fn returns.
func (s *Store) UpdateOrgAccount(ctx context.Context, id string, fn func(store.OrgAccount) (store.OrgAccount, error)) error {
	return update(ctx, s, orgAccountEntity, id, func(cur store.OrgAccount) (store.OrgAccount, error) {
		next, err := fn(cur)
		if err != nil {
			return next, err
		}
		if next.ID != cur.ID || next.OrganizationID != cur.OrganizationID || next.Email != cur.Email {
			return next, errOrgAccountKey
		}
		if next.ParentID == "" {
			return next, fmt.Errorf("account %q has no parent: %w", id, store.ErrNotFound)
		}
		return next, nil
	}, id)
}

// CreateAccountRequest stores the record of a CreateAccount request that
// made no account.
func (s *Store) CreateAccountRequest(ctx context.Context, req store.CreateAccountStatus) error {
	return create(ctx, s, accountRequestEntity, req, req.ID)
}

// GetAccountRequest returns the record of a CreateAccount request.
func (s *Store) GetAccountRequest(ctx context.Context, id string) (store.CreateAccountStatus, error) {
	return get(ctx, s, accountRequestEntity, id, id)
}

// handshakesMigration is the schema step of Organizations' invitations: one
// row a handshake, found by its organization or its target.
var handshakesMigration = []string{
	`CREATE TABLE org_handshakes (
		id           {text} PRIMARY KEY,
		org_id       {text} NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
		arn          {text} NOT NULL,
		action       {text} NOT NULL,
		state        {text} NOT NULL,
		target_type  {text} NOT NULL,
		target_id    {text} NOT NULL,
		notes        {text} NOT NULL,
		requested_at BIGINT,
		expires_at   BIGINT
	)`,
	`CREATE INDEX org_handshakes_org ON org_handshakes (org_id, id)`,
	`CREATE INDEX org_handshakes_target ON org_handshakes (target_id, id)`,
}

// handshakeCols are the columns of org_handshakes, in handshakeArgs's order.
var handshakeCols = []string{"id", "org_id", "arn", "action", "state", "target_type", "target_id", "notes", "requested_at", "expires_at"}

func handshakeArgs(h store.Handshake) []any {
	return []any{h.ID, h.OrganizationID, h.ARN, h.Action, h.State, h.TargetType, h.TargetID, h.Notes, micros(h.RequestedAt), micros(h.ExpiresAt)}
}

// handshakeEntity describes org_handshakes.
var handshakeEntity = &entity[store.Handshake]{
	what:  "handshake",
	table: "org_handshakes",
	from:  "org_handshakes",
	cols:  handshakeCols,
	read:  handshakeCols,
	key:   []string{"id"},
	order: "id",
	args:  handshakeArgs,
	scan: func(r row) (store.Handshake, error) {
		var h store.Handshake
		var requested, expires sql.NullInt64
		err := r.Scan(&h.ID, &h.OrganizationID, &h.ARN, &h.Action, &h.State, &h.TargetType, &h.TargetID, &h.Notes, &requested, &expires)
		h.RequestedAt, h.ExpiresAt = timeOf(requested), timeOf(expires)
		return h, err
	},
}

// CreateHandshake stores a new handshake.
func (s *Store) CreateHandshake(ctx context.Context, h store.Handshake) error {
	return create(ctx, s, handshakeEntity, h, h.ID)
}

// GetHandshake returns a handshake.
func (s *Store) GetHandshake(ctx context.Context, id string) (store.Handshake, error) {
	return get(ctx, s, handshakeEntity, id, id)
}

// ListHandshakes returns the handshakes of an organization, of a target, or
// both, by ID.
func (s *Store) ListHandshakes(ctx context.Context, orgID, targetID string) ([]store.Handshake, error) {
	switch {
	case orgID != "" && targetID != "":
		return list(ctx, s, handshakeEntity, "org_id = $1 AND target_id = $2", 0, orgID, targetID)
	case orgID != "":
		return list(ctx, s, handshakeEntity, "org_id = $1", 0, orgID)
	case targetID != "":
		return list(ctx, s, handshakeEntity, "target_id = $1", 0, targetID)
	}
	return list(ctx, s, handshakeEntity, "", 0)
}

// errHandshakeKey is returned when an update callback changes a handshake's
// fields other than its state.
var errHandshakeKey = errors.New("the callback changed the handshake's fields other than its state, which cannot change")

// UpdateHandshake replaces a handshake's state with what fn returns and
// creates the member account fn returns, in one transaction.
func (s *Store) UpdateHandshake(ctx context.Context, id string, fn func(store.Handshake) (store.Handshake, *store.OrgAccount, error)) error {
	e := handshakeEntity
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		cur, err := selectOne(ctx, tx, e, s.d.ForUpdate, []any{id})
		if err != nil {
			return err
		}
		next, member, err := fn(cur)
		if err != nil {
			return err
		}
		same := next
		same.State = cur.State
		if !reflect.DeepEqual(same, cur) {
			return errHandshakeKey
		}
		if _, err := tx.ExecContext(ctx, e.statements().update, append(e.args(next), id)...); err != nil {
			return s.d.mapErr(err)
		}
		if member != nil {
			return s.insertOrgAccount(ctx, tx, *member)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("store: update handshake %q: %w", id, err)
	}
	return nil
}
