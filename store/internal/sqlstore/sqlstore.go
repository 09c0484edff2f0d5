// Package sqlstore is the SQL implementation of store.Store shared by the SQL backends
// (store/sqlite and store/postgres); everything that differs between the databases
// lives in the Dialect each backend's Open builds.
//
//
// Storage conventions (the conformance suite in store/storetest checks them):
//   - Times are stored as BIGINT microseconds since the Unix epoch, UTC; a zero
//     time.Time is stored as NULL. Reads return UTC times truncated to the microsecond.
//   - Slices and maps (client IDs, thumbprints, tags, policies, workspaces) are JSON
//     text columns; empty ones are stored as NULL and read back as nil. Empty byte
//     slices are likewise read back as nil.
//   - Role, user and instance profile names are unique case-insensitively: the key
//     column name_key holds strings.ToLower(name), the name column the name as given
//     (case-preserving).
//   - Lists are ordered by key in byte order (roles, users and instance profiles by
//     lower-cased name,
//     runners by name then ID); signing keys and access keys by creation time then ID;
//     audit events newest first (ties: most recently appended first).
//   - An update callback may change the record's key; the record is then renamed and
//     rows that reference it follow (ON UPDATE CASCADE). Deleting a user deletes its
//     access keys; deleting a workspace or repository (not in the interface yet) would
//     delete what is inside it.
//   - S3 metadata (s3.go) follows the same rules; object keys are compared and
//     ordered by their bytes, which is also the order of their code points.

package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/keyless-dev/keyless/store"
)

// Dialect is what differs between the SQL databases behind this file.
type Dialect struct {
	// Types replaces the {text}, {blob} and {seqpk} tokens in migration DDL.
	Types *strings.Replacer
	// ForUpdate is appended to the SELECT that reads a record inside an update
	// transaction (" FOR UPDATE" where the database has row locks).
	ForUpdate string
	// MigrateLock, when not empty, is the first statement of the migration
	// transaction; it serialises concurrent migrators.
	MigrateLock string
	// HasTable is a query with one parameter, a table name, whose one row counts the
	// tables of that name where migrations create them (0 or 1).
	HasTable string
	// Classify maps a constraint violation to store.ErrAlreadyExists (unique key) or
	// an error wrapping store.ErrNotFound (missing referenced record); it returns nil
	// for every other error.
	Classify func(error) error
}

// mapErr returns the store sentinel for a constraint violation, else err itself.
func (d Dialect) mapErr(err error) error {
	if err == nil {
		return nil
	}
	if m := d.Classify(err); m != nil {
		return m
	}
	return err
}

// migrations are the schema steps in order: schema version v is reached by applying
// migrations[v-1]. Never edit a step that has been released; append a new one. The
// tokens {text}, {blob} and {seqpk} are replaced by the dialect's types.
var migrations = [][]string{
	// Version 1: the initial schema.
	{
		`CREATE TABLE settings (
			name  {text} PRIMARY KEY,
			value {blob}
		)`,
		`CREATE TABLE signing_keys (
			id           {text} PRIMARY KEY,
			algorithm    {text} NOT NULL,
			state        {text} NOT NULL,
			private_key  {blob},
			public_jwk   {blob},
			created_at   BIGINT,
			activated_at BIGINT,
			retired_at   BIGINT,
			not_after    BIGINT
		)`,
		`CREATE TABLE workspaces (
			slug         {text} PRIMARY KEY,
			uuid         {text} NOT NULL,
			session_tags BOOLEAN NOT NULL,
			created_at   BIGINT
		)`,
		`CREATE TABLE repositories (
			workspace  {text} NOT NULL REFERENCES workspaces (slug) ON UPDATE CASCADE ON DELETE CASCADE,
			slug       {text} NOT NULL,
			uuid       {text} NOT NULL,
			created_at BIGINT,
			PRIMARY KEY (workspace, slug)
		)`,
		`CREATE TABLE environments (
			workspace  {text} NOT NULL,
			repository {text} NOT NULL,
			name       {text} NOT NULL,
			uuid       {text} NOT NULL,
			created_at BIGINT,
			PRIMARY KEY (workspace, repository, name),
			FOREIGN KEY (workspace, repository) REFERENCES repositories (workspace, slug)
				ON UPDATE CASCADE ON DELETE CASCADE
		)`,
		`CREATE TABLE runners (
			id          {text} PRIMARY KEY,
			name        {text} NOT NULL,
			secret_hash {blob},
			workspaces  {text},
			created_at  BIGINT
		)`,
		`CREATE INDEX runners_name ON runners (name, id)`,
		`CREATE TABLE oidc_providers (
			arn         {text} PRIMARY KEY,
			url         {text} NOT NULL,
			client_ids  {text},
			thumbprints {text},
			tags        {text},
			created_at  BIGINT
		)`,
		`CREATE TABLE roles (
			name_key             {text} PRIMARY KEY,
			name                 {text} NOT NULL,
			id                   {text} NOT NULL,
			path                 {text} NOT NULL,
			arn                  {text} NOT NULL,
			assume_role_policy   {text} NOT NULL,
			description          {text} NOT NULL,
			max_session_duration BIGINT NOT NULL,
			permissions_boundary {text} NOT NULL,
			tags                 {text},
			inline_policies      {text},
			attached_policies    {text},
			created_at           BIGINT,
			last_used_at         BIGINT,
			last_used_region     {text} NOT NULL
		)`,
		`CREATE TABLE policies (
			arn         {text} PRIMARY KEY,
			id          {text} NOT NULL,
			name        {text} NOT NULL,
			path        {text} NOT NULL,
			document    {text} NOT NULL,
			description {text} NOT NULL,
			version_id  {text} NOT NULL,
			tags        {text},
			created_at  BIGINT,
			updated_at  BIGINT
		)`,
		`CREATE TABLE users (
			name_key          {text} PRIMARY KEY,
			name              {text} NOT NULL,
			id                {text} NOT NULL,
			path              {text} NOT NULL,
			arn               {text} NOT NULL,
			tags              {text},
			inline_policies   {text},
			attached_policies {text},
			created_at        BIGINT
		)`,
		`CREATE TABLE access_keys (
			id                {text} PRIMARY KEY,
			user_key          {text} NOT NULL REFERENCES users (name_key) ON UPDATE CASCADE ON DELETE CASCADE,
			secret            {blob},
			status            {text} NOT NULL,
			created_at        BIGINT,
			last_used_at      BIGINT,
			last_used_service {text} NOT NULL,
			last_used_region  {text} NOT NULL
		)`,
		`CREATE INDEX access_keys_user ON access_keys (user_key, created_at, id)`,
		// access_keys_v reports an access key with its user's current, canonical name.
		`CREATE VIEW access_keys_v AS
			SELECT k.id, u.name AS user_name, k.user_key, k.secret, k.status, k.created_at,
			       k.last_used_at, k.last_used_service, k.last_used_region
			FROM access_keys k JOIN users u ON u.name_key = k.user_key`,
		`CREATE TABLE audit_events (
			seq        {seqpk},
			id         {text} NOT NULL UNIQUE,
			at         BIGINT,
			request_id {text} NOT NULL,
			action     {text} NOT NULL,
			caller     {text} NOT NULL,
			role_name  {text} NOT NULL,
			decision   {text} NOT NULL,
			detail     {blob}
		)`,
		`CREATE INDEX audit_events_at ON audit_events (at, seq)`,
	},
	// Version 2: managed policy versions (kept in the policy's row, so that a
	// version change is one update of one record) and instance profiles.
	{
		`ALTER TABLE policies ADD COLUMN versions {text}`,
		`ALTER TABLE policies ADD COLUMN last_version BIGINT NOT NULL DEFAULT 0`,
		`CREATE TABLE instance_profiles (
			name_key   {text} PRIMARY KEY,
			name       {text} NOT NULL,
			id         {text} NOT NULL,
			path       {text} NOT NULL,
			arn        {text} NOT NULL,
			roles      {text},
			tags       {text},
			created_at BIGINT
		)`,
	},
	// Version 3: the local S3 service's metadata (the bytes are in package
	// blob). Keys sort by byte value: BINARY in SQLite, COLLATE "C" in
	// PostgreSQL. Objects keep their bucket from being deleted; uploads and
	// their parts go with their bucket.
	s3Migration,
	// Version 4: small blobs kept inline (store.BlobStore), keyed by the
	// SHA-256 of their key.
	blobsMigration,
	// Bitbucket Pipelines variables (store.PipelineVariableStore), secured
	// values sealed by the caller.
	pipelineVariablesMigration,
	// The local Secrets Manager's secrets and their versions (store.SecretStore),
	// values sealed by the caller.
	secretsMigration,
	// Audit queries: the repository column and one index per filter (audit.go).
	auditQueryMigration,
	// The local AWS Organizations service (store.OrganizationStore): organizations, roots, OUs, member accounts.
	organizationsMigration,
	// Small objects' bytes in their record (store.InlineObjectStore): NULL
	// for an object whose bytes are a blob.
	{`ALTER TABLE s3_objects ADD COLUMN data {blob}`},
	// Organizations' invitations (store.Handshake).
	handshakesMigration,
}

// Migrate brings the database to the latest schema version in one transaction. A
// database at a newer version than this binary knows is left untouched and reported
// as store.ErrSchemaTooNew.
func Migrate(ctx context.Context, db *sql.DB, d Dialect) error {
	return migrate(ctx, db, d, len(migrations))
}

// migrate brings the database to schema version latest (tests stop short of the
// newest to check a later step against data an older one wrote).
func migrate(ctx context.Context, db *sql.DB, d Dialect, latest int) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("store: migrate: begin: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	if d.MigrateLock != "" {
		if _, err := tx.ExecContext(ctx, d.MigrateLock); err != nil {
			return fmt.Errorf("store: migrate: lock: %w", err)
		}
	}
	if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    BIGINT PRIMARY KEY,
		applied_at BIGINT NOT NULL
	)`); err != nil {
		return fmt.Errorf("store: migrate: create schema_migrations: %w", err)
	}
	var cur int
	if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&cur); err != nil {
		return fmt.Errorf("store: migrate: read version: %w", err)
	}
	switch {
	case cur > latest:
		return fmt.Errorf("store: database schema version %d, this keyless supports up to %d: %w",
			cur, latest, store.ErrSchemaTooNew)
	case cur == latest:
		return nil
	}
	for v := cur + 1; v <= latest; v++ {
		for _, stmt := range migrations[v-1] {
			if _, err := tx.ExecContext(ctx, d.Types.Replace(stmt)); err != nil {
				return fmt.Errorf("store: migrate to version %d: %w", v, err)
			}
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)`,
			v, time.Now().UTC().UnixMicro()); err != nil {
			return fmt.Errorf("store: migrate to version %d: record version: %w", v, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("store: migrate: commit: %w", err)
	}
	return nil
}

// Check reports whether the database holds a keyless store at the schema version
// this binary writes, reading only: a database without keyless's schema gives an
// error wrapping store.ErrNoStore, an older version one wrapping
// store.ErrSchemaTooOld, a newer one store.ErrSchemaTooNew.
func Check(ctx context.Context, db *sql.DB, d Dialect) error {
	return checkSchema(ctx, db, d, len(migrations))
}

func checkSchema(ctx context.Context, db *sql.DB, d Dialect, latest int) error {
	var n int
	if err := db.QueryRowContext(ctx, d.HasTable, "schema_migrations").Scan(&n); err != nil {
		return fmt.Errorf("store: check schema: %w", err)
	}
	if n == 0 {
		return fmt.Errorf("store: %w (no schema_migrations table)", store.ErrNoStore)
	}
	var cur int
	if err := db.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&cur); err != nil {
		return fmt.Errorf("store: check schema: read version: %w", err)
	}
	switch {
	case cur == 0:
		return fmt.Errorf("store: %w (no schema version recorded)", store.ErrNoStore)
	case cur < latest:
		return fmt.Errorf("store: database schema version %d, this keyless writes %d: %w", cur, latest, store.ErrSchemaTooOld)
	case cur > latest:
		return fmt.Errorf("store: database schema version %d, this keyless supports up to %d: %w", cur, latest, store.ErrSchemaTooNew)
	}
	return nil
}

// Store is a store.Store on an SQL database. Its methods are safe for concurrent use.
// An Update callback runs inside a write transaction and must not call the Store.
type Store struct {
	r, w   *sql.DB // readers and writers; the same pool unless the database needs a split
	d      Dialect
	inline inlineBatch    // PutObjectInline's group commit
	stops  []func() error // see CloseFirst
}

var _ store.Store = (*Store)(nil)

// New returns a Store reading through r and writing through w (the same pool unless
// the database needs a split), already migrated with Migrate.
func New(r, w *sql.DB, d Dialect) *Store { return &Store{r: r, w: w, d: d} }

// CloseFirst makes Close call stop before it closes the connections: for
// work a dialect runs in the background over them.
func (s *Store) CloseFirst(stop func() error) { s.stops = append(s.stops, stop) }

// Close ends what CloseFirst registered and releases the database connections.
func (s *Store) Close() error {
	var err error
	for _, stop := range s.stops {
		err = errors.Join(err, stop())
	}
	s.stops = nil
	err = errors.Join(err, s.w.Close())
	if s.r != s.w {
		err = errors.Join(err, s.r.Close())
	}
	return err
}

// SchemaVersion reports the migration version the database is at.
func (s *Store) SchemaVersion(ctx context.Context) (int, error) {
	var v int
	if err := s.r.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&v); err != nil {
		return 0, fmt.Errorf("store: schema version: %w", err)
	}
	return v, nil
}

// GetSetting returns the named setting, or an error wrapping store.ErrNotFound.
func (s *Store) GetSetting(ctx context.Context, name string) ([]byte, error) {
	var v []byte
	err := s.r.QueryRowContext(ctx, `SELECT value FROM settings WHERE name = $1`, name).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		err = store.ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("store: get setting %q: %w", name, err)
	}
	return nilIfEmpty(v), nil
}

// CreateSetting stores a new setting; an error wraps store.ErrAlreadyExists if it is set.
func (s *Store) CreateSetting(ctx context.Context, name string, value []byte) error {
	if _, err := s.w.ExecContext(ctx, `INSERT INTO settings (name, value) VALUES ($1, $2)`,
		name, blob(value)); err != nil {
		return fmt.Errorf("store: create setting %q: %w", name, s.d.mapErr(err))
	}
	return nil
}

// PutSetting creates or replaces a setting.
func (s *Store) PutSetting(ctx context.Context, name string, value []byte) error {
	if _, err := s.w.ExecContext(ctx, `INSERT INTO settings (name, value) VALUES ($1, $2)
		ON CONFLICT (name) DO UPDATE SET value = excluded.value`, name, blob(value)); err != nil {
		return fmt.Errorf("store: put setting %q: %w", name, s.d.mapErr(err))
	}
	return nil
}

// UpdateSetting replaces a setting with what fn returns, in a write transaction that
// holds the row; an error from fn aborts without change.
func (s *Store) UpdateSetting(ctx context.Context, name string, fn func([]byte) ([]byte, error)) error {
	err := func() error {
		tx, err := s.w.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		defer func() { _ = tx.Rollback() }()
		var cur []byte
		err = tx.QueryRowContext(ctx, `SELECT value FROM settings WHERE name = $1`+s.d.ForUpdate, name).Scan(&cur)
		if errors.Is(err, sql.ErrNoRows) {
			return store.ErrNotFound
		}
		if err != nil {
			return err
		}
		next, err := fn(nilIfEmpty(cur))
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE settings SET value = $1 WHERE name = $2`, blob(next), name); err != nil {
			return s.d.mapErr(err)
		}
		return tx.Commit()
	}()
	if err != nil {
		return fmt.Errorf("store: update setting %q: %w", name, err)
	}
	return nil
}

// CreateSigningKey stores a new signing key.
func (s *Store) CreateSigningKey(ctx context.Context, k store.SigningKey) error {
	return create(ctx, s, signingKeys, k, k.ID)
}

// GetSigningKey returns the signing key with the given ID.
func (s *Store) GetSigningKey(ctx context.Context, id string) (store.SigningKey, error) {
	return get(ctx, s, signingKeys, id, id)
}

// ListSigningKeys returns all signing keys, oldest first.
func (s *Store) ListSigningKeys(ctx context.Context) ([]store.SigningKey, error) {
	return list(ctx, s, signingKeys, "", 0)
}

// UpdateSigningKey replaces a signing key with what fn returns, in a transaction.
func (s *Store) UpdateSigningKey(ctx context.Context, id string, fn func(store.SigningKey) (store.SigningKey, error)) error {
	return update(ctx, s, signingKeys, id, fn, id)
}

// DeleteSigningKey deletes a signing key.
func (s *Store) DeleteSigningKey(ctx context.Context, id string) error {
	return remove(ctx, s, signingKeys, id, id)
}

// CreateWorkspace stores a new workspace.
func (s *Store) CreateWorkspace(ctx context.Context, w store.Workspace) error {
	return create(ctx, s, workspaces, w, w.Slug)
}

// GetWorkspace returns the workspace with the given slug.
func (s *Store) GetWorkspace(ctx context.Context, slug string) (store.Workspace, error) {
	return get(ctx, s, workspaces, slug, slug)
}

// ListWorkspaces returns all workspaces ordered by slug.
func (s *Store) ListWorkspaces(ctx context.Context) ([]store.Workspace, error) {
	return list(ctx, s, workspaces, "", 0)
}

// UpdateWorkspace replaces a workspace with what fn returns, in a transaction.
func (s *Store) UpdateWorkspace(ctx context.Context, slug string, fn func(store.Workspace) (store.Workspace, error)) error {
	return update(ctx, s, workspaces, slug, fn, slug)
}

// CreateRepository stores a new repository; its workspace must exist (else an error
// wrapping store.ErrNotFound).
func (s *Store) CreateRepository(ctx context.Context, r store.Repository) error {
	return create(ctx, s, repositories, r, r.Workspace+"/"+r.Slug)
}

// GetRepository returns a repository of a workspace.
func (s *Store) GetRepository(ctx context.Context, workspace, slug string) (store.Repository, error) {
	return get(ctx, s, repositories, workspace+"/"+slug, workspace, slug)
}

// ListRepositories returns the repositories of a workspace ordered by slug.
func (s *Store) ListRepositories(ctx context.Context, workspace string) ([]store.Repository, error) {
	return list(ctx, s, repositories, "workspace = $1", 0, workspace)
}

// CreateEnvironment stores a new deployment environment; its repository must exist
// (else an error wrapping store.ErrNotFound).
func (s *Store) CreateEnvironment(ctx context.Context, e store.Environment) error {
	return create(ctx, s, environments, e, e.Workspace+"/"+e.Repository+"/"+e.Name)
}

// GetEnvironment returns a deployment environment of a repository.
func (s *Store) GetEnvironment(ctx context.Context, workspace, repository, name string) (store.Environment, error) {
	return get(ctx, s, environments, workspace+"/"+repository+"/"+name, workspace, repository, name)
}

// ListEnvironments returns the environments of a repository ordered by name.
func (s *Store) ListEnvironments(ctx context.Context, workspace, repository string) ([]store.Environment, error) {
	return list(ctx, s, environments, "workspace = $1 AND repository = $2", 0, workspace, repository)
}

// CreateRunner stores a new runner credential.
func (s *Store) CreateRunner(ctx context.Context, r store.Runner) error {
	return create(ctx, s, runners, r, r.ID)
}

// GetRunner returns the runner with the given ID.
func (s *Store) GetRunner(ctx context.Context, id string) (store.Runner, error) {
	return get(ctx, s, runners, id, id)
}

// ListRunners returns all runners ordered by name, then ID.
func (s *Store) ListRunners(ctx context.Context) ([]store.Runner, error) {
	return list(ctx, s, runners, "", 0)
}

// DeleteRunner deletes a runner.
func (s *Store) DeleteRunner(ctx context.Context, id string) error {
	return remove(ctx, s, runners, id, id)
}

// CreateOIDCProvider stores a new OpenID Connect provider.
func (s *Store) CreateOIDCProvider(ctx context.Context, p store.OIDCProvider) error {
	return create(ctx, s, oidcProviders, p, p.ARN)
}

// GetOIDCProvider returns the OpenID Connect provider with the given ARN.
func (s *Store) GetOIDCProvider(ctx context.Context, arn string) (store.OIDCProvider, error) {
	return get(ctx, s, oidcProviders, arn, arn)
}

// ListOIDCProviders returns all OpenID Connect providers ordered by ARN.
func (s *Store) ListOIDCProviders(ctx context.Context) ([]store.OIDCProvider, error) {
	return list(ctx, s, oidcProviders, "", 0)
}

// UpdateOIDCProvider replaces a provider with what fn returns, in a transaction.
func (s *Store) UpdateOIDCProvider(ctx context.Context, arn string, fn func(store.OIDCProvider) (store.OIDCProvider, error)) error {
	return update(ctx, s, oidcProviders, arn, fn, arn)
}

// DeleteOIDCProvider deletes an OpenID Connect provider.
func (s *Store) DeleteOIDCProvider(ctx context.Context, arn string) error {
	return remove(ctx, s, oidcProviders, arn, arn)
}

// CreateRole stores a new role; names are unique case-insensitively.
func (s *Store) CreateRole(ctx context.Context, r store.Role) error {
	return create(ctx, s, roles, r, r.Name)
}

// GetRole returns the role with the given name, in any letter case.
func (s *Store) GetRole(ctx context.Context, name string) (store.Role, error) {
	return get(ctx, s, roles, name, nameKey(name))
}

// ListRoles returns all roles ordered by lower-cased name.
func (s *Store) ListRoles(ctx context.Context) ([]store.Role, error) {
	return list(ctx, s, roles, "", 0)
}

// UpdateRole replaces a role with what fn returns, in a transaction.
func (s *Store) UpdateRole(ctx context.Context, name string, fn func(store.Role) (store.Role, error)) error {
	return update(ctx, s, roles, name, fn, nameKey(name))
}

// DeleteRole deletes a role.
func (s *Store) DeleteRole(ctx context.Context, name string) error {
	return remove(ctx, s, roles, name, nameKey(name))
}

// CreatePolicy stores a new managed policy.
func (s *Store) CreatePolicy(ctx context.Context, p store.ManagedPolicy) error {
	return create(ctx, s, policies, p, p.ARN)
}

// GetPolicy returns the managed policy with the given ARN.
func (s *Store) GetPolicy(ctx context.Context, arn string) (store.ManagedPolicy, error) {
	return get(ctx, s, policies, arn, arn)
}

// ListPolicies returns all managed policies ordered by ARN.
func (s *Store) ListPolicies(ctx context.Context) ([]store.ManagedPolicy, error) {
	return list(ctx, s, policies, "", 0)
}

// UpdatePolicy replaces a managed policy with what fn returns, in a transaction.
func (s *Store) UpdatePolicy(ctx context.Context, arn string, fn func(store.ManagedPolicy) (store.ManagedPolicy, error)) error {
	return update(ctx, s, policies, arn, fn, arn)
}

// DeletePolicy deletes a managed policy with its versions. Roles and users that
// attach it are not changed; refusing to delete an attached policy is the IAM
// service's job.
func (s *Store) DeletePolicy(ctx context.Context, arn string) error {
	return remove(ctx, s, policies, arn, arn)
}

// CreateInstanceProfile stores a new instance profile; names are unique
// case-insensitively.
func (s *Store) CreateInstanceProfile(ctx context.Context, p store.InstanceProfile) error {
	return create(ctx, s, instanceProfiles, p, p.Name)
}

// GetInstanceProfile returns the instance profile with the given name, in any
// letter case.
func (s *Store) GetInstanceProfile(ctx context.Context, name string) (store.InstanceProfile, error) {
	return get(ctx, s, instanceProfiles, name, nameKey(name))
}

// ListInstanceProfiles returns all instance profiles ordered by lower-cased name.
func (s *Store) ListInstanceProfiles(ctx context.Context) ([]store.InstanceProfile, error) {
	return list(ctx, s, instanceProfiles, "", 0)
}

// UpdateInstanceProfile replaces an instance profile with what fn returns, in a
// transaction.
func (s *Store) UpdateInstanceProfile(ctx context.Context, name string, fn func(store.InstanceProfile) (store.InstanceProfile, error)) error {
	return update(ctx, s, instanceProfiles, name, fn, nameKey(name))
}

// DeleteInstanceProfile deletes an instance profile (not its roles).
func (s *Store) DeleteInstanceProfile(ctx context.Context, name string) error {
	return remove(ctx, s, instanceProfiles, name, nameKey(name))
}

// CreateUser stores a new user; names are unique case-insensitively.
func (s *Store) CreateUser(ctx context.Context, u store.User) error {
	return create(ctx, s, users, u, u.Name)
}

// GetUser returns the user with the given name, in any letter case.
func (s *Store) GetUser(ctx context.Context, name string) (store.User, error) {
	return get(ctx, s, users, name, nameKey(name))
}

// ListUsers returns all users ordered by lower-cased name.
func (s *Store) ListUsers(ctx context.Context) ([]store.User, error) {
	return list(ctx, s, users, "", 0)
}

// UpdateUser replaces a user with what fn returns, in a transaction. Renaming the
// user keeps its access keys.
func (s *Store) UpdateUser(ctx context.Context, name string, fn func(store.User) (store.User, error)) error {
	return update(ctx, s, users, name, fn, nameKey(name))
}

// DeleteUser deletes a user and its access keys.
func (s *Store) DeleteUser(ctx context.Context, name string) error {
	return remove(ctx, s, users, name, nameKey(name))
}

// CreateAccessKey stores a new access key; its user must exist (else an error
// wrapping store.ErrNotFound).
func (s *Store) CreateAccessKey(ctx context.Context, k store.AccessKey) error {
	return create(ctx, s, accessKeys, k, k.ID)
}

// GetAccessKey returns the access key with the given ID. Its UserName is the user's
// current name as stored, whatever case the key was created with.
func (s *Store) GetAccessKey(ctx context.Context, id string) (store.AccessKey, error) {
	return get(ctx, s, accessKeys, id, id)
}

// ListAccessKeys returns a user's access keys, oldest first; none (not an error) for
// an unknown user.
func (s *Store) ListAccessKeys(ctx context.Context, userName string) ([]store.AccessKey, error) {
	return list(ctx, s, accessKeys, "user_key = $1", 0, nameKey(userName))
}

// UpdateAccessKey replaces an access key with what fn returns, in a transaction.
func (s *Store) UpdateAccessKey(ctx context.Context, id string, fn func(store.AccessKey) (store.AccessKey, error)) error {
	return update(ctx, s, accessKeys, id, fn, id)
}

// DeleteAccessKey deletes an access key.
func (s *Store) DeleteAccessKey(ctx context.Context, id string) error {
	return remove(ctx, s, accessKeys, id, id)
}

// row is a *sql.Row or *sql.Rows.
type row interface{ Scan(dest ...any) error }

// querier is a *sql.DB or *sql.Tx.
type querier interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// entity describes how one record type maps onto its table.
type entity[T any] struct {
	what  string   // singular noun for error messages
	table string   // table written to
	from  string   // table or view read from
	cols  []string // columns written, in the order args returns their values
	read  []string // columns read, in the order scan consumes them
	key   []string // key columns (present in table and from)
	order string   // ORDER BY of lists
	args  func(T) []any
	scan  func(row) (T, error)

	once  sync.Once
	stmts entityStatements // see statements
}

// entityStatements are the statements of an entity that do not vary.
type entityStatements struct {
	selectByKey string // SELECT read FROM from WHERE key = …, to which a suffix may be added
	insert      string // INSERT INTO table (cols) VALUES (…)
	insertNew   string // insert, ON CONFLICT (key) DO NOTHING
	update      string // UPDATE table SET cols = … WHERE key = …, the key values last
}

// statements returns e's fixed statements, built on first use: a store runs
// them for every record it reads or writes.
func (e *entity[T]) statements() *entityStatements {
	e.once.Do(func() {
		e.stmts = entityStatements{
			selectByKey: "SELECT " + strings.Join(e.read, ", ") + " FROM " + e.from + " WHERE " + equals(e.key, 1, " AND "),
			insert:      "INSERT INTO " + e.table + " (" + strings.Join(e.cols, ", ") + ") VALUES (" + placeholders(1, len(e.cols)) + ")",
			insertNew: "INSERT INTO " + e.table + " (" + strings.Join(e.cols, ", ") + ") VALUES (" + placeholders(1, len(e.cols)) +
				") ON CONFLICT (" + strings.Join(e.key, ", ") + ") DO NOTHING",
			update: "UPDATE " + e.table + " SET " + equals(e.cols, 1, ", ") + " WHERE " + equals(e.key, len(e.cols)+1, " AND "),
		}
	})
	return &e.stmts
}

// placeholders returns "$first, …" for n parameters.
func placeholders(first, n int) string {
	p := make([]string, n)
	for i := range p {
		p[i] = "$" + strconv.Itoa(first+i)
	}
	return strings.Join(p, ", ")
}

// equals returns "c1 = $first AND c2 = $first+1 …" (sep " AND ") or the SET list (sep ", ").
func equals(cols []string, first int, sep string) string {
	p := make([]string, len(cols))
	for i, c := range cols {
		p[i] = c + " = $" + strconv.Itoa(first+i)
	}
	return strings.Join(p, sep)
}

func create[T any](ctx context.Context, s *Store, e *entity[T], v T, id string) error {
	if _, err := s.w.ExecContext(ctx, e.statements().insert, e.args(v)...); err != nil {
		return fmt.Errorf("store: create %s %q: %w", e.what, id, s.d.mapErr(err))
	}
	return nil
}

// selectOne reads the record with the given key values; suffix ends the query.
func selectOne[T any](ctx context.Context, q querier, e *entity[T], suffix string, keys []any) (T, error) {
	query := e.statements().selectByKey
	if suffix != "" {
		query += suffix
	}
	v, err := e.scan(q.QueryRowContext(ctx, query, keys...))
	if errors.Is(err, sql.ErrNoRows) {
		err = store.ErrNotFound
	}
	return v, err
}

func get[T any](ctx context.Context, s *Store, e *entity[T], id string, keys ...any) (T, error) {
	v, err := selectOne(ctx, s.r, e, "", keys)
	if err != nil {
		var zero T
		return zero, fmt.Errorf("store: get %s %q: %w", e.what, id, err)
	}
	return v, nil
}

// list returns the records matching cond (all when empty) in the entity's order, at
// most limit of them when limit > 0.
func list[T any](ctx context.Context, s *Store, e *entity[T], cond string, limit int, args ...any) ([]T, error) {
	q := "SELECT " + strings.Join(e.read, ", ") + " FROM " + e.from
	if cond != "" {
		q += " WHERE " + cond
	}
	q += " ORDER BY " + e.order
	if limit > 0 {
		args = append(args, limit)
		q += " LIMIT $" + strconv.Itoa(len(args))
	}
	out, err := func() ([]T, error) {
		rows, err := s.r.QueryContext(ctx, q, args...)
		if err != nil {
			return nil, err
		}
		defer func() { _ = rows.Close() }()
		var out []T
		for rows.Next() {
			v, err := e.scan(rows)
			if err != nil {
				return nil, err
			}
			out = append(out, v)
		}
		return out, rows.Err()
	}()
	if err != nil {
		return nil, fmt.Errorf("store: list %s: %w", e.what, err)
	}
	return out, nil
}

func update[T any](ctx context.Context, s *Store, e *entity[T], id string, fn func(T) (T, error), keys ...any) error {
	err := func() error {
		tx, err := s.w.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		defer func() { _ = tx.Rollback() }()
		cur, err := selectOne(ctx, tx, e, s.d.ForUpdate, keys)
		if err != nil {
			return err
		}
		next, err := fn(cur)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, e.statements().update, append(e.args(next), keys...)...); err != nil {
			return s.d.mapErr(err)
		}
		return tx.Commit()
	}()
	if err != nil {
		return fmt.Errorf("store: update %s %q: %w", e.what, id, err)
	}
	return nil
}

func remove[T any](ctx context.Context, s *Store, e *entity[T], id string, keys ...any) error {
	err := func() error {
		res, err := s.w.ExecContext(ctx, "DELETE FROM "+e.table+" WHERE "+equals(e.key, 1, " AND "), keys...)
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		if err != nil {
			return err
		}
		if n == 0 {
			return store.ErrNotFound
		}
		return nil
	}()
	if err != nil {
		return fmt.Errorf("store: delete %s %q: %w", e.what, id, err)
	}
	return nil
}

// nameKey is the case-insensitive key of a role or user name.
func nameKey(name string) string { return strings.ToLower(name) }

// micros is the stored form of a time: microseconds since the Unix epoch, or NULL
// for the zero time.
func micros(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UnixMicro()
}

// timeOf reverses micros.
func timeOf(n sql.NullInt64) time.Time {
	if !n.Valid {
		return time.Time{}
	}
	return time.UnixMicro(n.Int64).UTC()
}

// blob is the stored form of a byte slice: NULL when empty.
func blob(b []byte) any {
	if len(b) == 0 {
		return nil
	}
	return b
}

func nilIfEmpty(b []byte) []byte {
	if len(b) == 0 {
		return nil
	}
	return b
}

// jsonList is the stored form of a slice: JSON text, or NULL when empty.
func jsonList[E any](v []E) any {
	if len(v) == 0 {
		return nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("store: encode %T: %v", v, err)) // impossible for the record types
	}
	return string(b)
}

// jsonMap is the stored form of a map: JSON text, or NULL when empty.
func jsonMap(m map[string]string) any {
	if len(m) == 0 {
		return nil
	}
	b, err := json.Marshal(m)
	if err != nil {
		panic(fmt.Sprintf("store: encode %T: %v", m, err)) // impossible for a map of strings
	}
	return string(b)
}

// decodeJSON reverses jsonList and jsonMap; the first failure is kept in *errp and
// later calls do nothing.
func decodeJSON[T any](s sql.NullString, column string, errp *error) T {
	var v T
	if *errp != nil || !s.Valid || s.String == "" {
		return v
	}
	if err := json.Unmarshal([]byte(s.String), &v); err != nil {
		*errp = fmt.Errorf("decode column %s: %w", column, err)
	}
	return v
}

// The entities below are read-only descriptions of the tables.

var signingKeys = &entity[store.SigningKey]{
	what:  "signing key",
	table: "signing_keys",
	from:  "signing_keys",
	cols:  []string{"id", "algorithm", "state", "private_key", "public_jwk", "created_at", "activated_at", "retired_at", "not_after"},
	read:  []string{"id", "algorithm", "state", "private_key", "public_jwk", "created_at", "activated_at", "retired_at", "not_after"},
	key:   []string{"id"},
	order: "created_at NULLS FIRST, id",
	args: func(k store.SigningKey) []any {
		return []any{k.ID, k.Algorithm, string(k.State), blob(k.PrivateKey), blob(k.PublicJWK),
			micros(k.CreatedAt), micros(k.ActivatedAt), micros(k.RetiredAt), micros(k.NotAfter)}
	},
	scan: func(r row) (store.SigningKey, error) {
		var k store.SigningKey
		var state string
		var created, activated, retired, notAfter sql.NullInt64
		err := r.Scan(&k.ID, &k.Algorithm, &state, &k.PrivateKey, &k.PublicJWK, &created, &activated, &retired, &notAfter)
		k.State = store.KeyState(state)
		k.PrivateKey, k.PublicJWK = nilIfEmpty(k.PrivateKey), nilIfEmpty(k.PublicJWK)
		k.CreatedAt, k.ActivatedAt, k.RetiredAt, k.NotAfter = timeOf(created), timeOf(activated), timeOf(retired), timeOf(notAfter)
		return k, err
	},
}

var workspaces = &entity[store.Workspace]{
	what:  "workspace",
	table: "workspaces",
	from:  "workspaces",
	cols:  []string{"slug", "uuid", "session_tags", "created_at"},
	read:  []string{"slug", "uuid", "session_tags", "created_at"},
	key:   []string{"slug"},
	order: "slug",
	args: func(w store.Workspace) []any {
		return []any{w.Slug, w.UUID, w.SessionTags, micros(w.CreatedAt)}
	},
	scan: func(r row) (store.Workspace, error) {
		var w store.Workspace
		var created sql.NullInt64
		err := r.Scan(&w.Slug, &w.UUID, &w.SessionTags, &created)
		w.CreatedAt = timeOf(created)
		return w, err
	},
}

var repositories = &entity[store.Repository]{
	what:  "repository",
	table: "repositories",
	from:  "repositories",
	cols:  []string{"workspace", "slug", "uuid", "created_at"},
	read:  []string{"workspace", "slug", "uuid", "created_at"},
	key:   []string{"workspace", "slug"},
	order: "workspace, slug",
	args: func(p store.Repository) []any {
		return []any{p.Workspace, p.Slug, p.UUID, micros(p.CreatedAt)}
	},
	scan: func(r row) (store.Repository, error) {
		var p store.Repository
		var created sql.NullInt64
		err := r.Scan(&p.Workspace, &p.Slug, &p.UUID, &created)
		p.CreatedAt = timeOf(created)
		return p, err
	},
}

var environments = &entity[store.Environment]{
	what:  "environment",
	table: "environments",
	from:  "environments",
	cols:  []string{"workspace", "repository", "name", "uuid", "created_at"},
	read:  []string{"workspace", "repository", "name", "uuid", "created_at"},
	key:   []string{"workspace", "repository", "name"},
	order: "workspace, repository, name",
	args: func(e store.Environment) []any {
		return []any{e.Workspace, e.Repository, e.Name, e.UUID, micros(e.CreatedAt)}
	},
	scan: func(r row) (store.Environment, error) {
		var e store.Environment
		var created sql.NullInt64
		err := r.Scan(&e.Workspace, &e.Repository, &e.Name, &e.UUID, &created)
		e.CreatedAt = timeOf(created)
		return e, err
	},
}

var runners = &entity[store.Runner]{
	what:  "runner",
	table: "runners",
	from:  "runners",
	cols:  []string{"id", "name", "secret_hash", "workspaces", "created_at"},
	read:  []string{"id", "name", "secret_hash", "workspaces", "created_at"},
	key:   []string{"id"},
	order: "name, id",
	args: func(u store.Runner) []any {
		return []any{u.ID, u.Name, blob(u.SecretHash), jsonList(u.Workspaces), micros(u.CreatedAt)}
	},
	scan: func(r row) (store.Runner, error) {
		var u store.Runner
		var ws sql.NullString
		var created sql.NullInt64
		err := r.Scan(&u.ID, &u.Name, &u.SecretHash, &ws, &created)
		u.SecretHash = nilIfEmpty(u.SecretHash)
		u.Workspaces = decodeJSON[[]string](ws, "workspaces", &err)
		u.CreatedAt = timeOf(created)
		return u, err
	},
}

var oidcProviders = &entity[store.OIDCProvider]{
	what:  "OIDC provider",
	table: "oidc_providers",
	from:  "oidc_providers",
	cols:  []string{"arn", "url", "client_ids", "thumbprints", "tags", "created_at"},
	read:  []string{"arn", "url", "client_ids", "thumbprints", "tags", "created_at"},
	key:   []string{"arn"},
	order: "arn",
	args: func(p store.OIDCProvider) []any {
		return []any{p.ARN, p.URL, jsonList(p.ClientIDs), jsonList(p.Thumbprints), jsonList(p.Tags), micros(p.CreatedAt)}
	},
	scan: func(r row) (store.OIDCProvider, error) {
		var p store.OIDCProvider
		var clients, thumbs, tags sql.NullString
		var created sql.NullInt64
		err := r.Scan(&p.ARN, &p.URL, &clients, &thumbs, &tags, &created)
		p.ClientIDs = decodeJSON[[]string](clients, "client_ids", &err)
		p.Thumbprints = decodeJSON[[]string](thumbs, "thumbprints", &err)
		p.Tags = decodeJSON[[]store.Tag](tags, "tags", &err)
		p.CreatedAt = timeOf(created)
		return p, err
	},
}

var roles = &entity[store.Role]{
	what:  "role",
	table: "roles",
	from:  "roles",
	cols: []string{"name_key", "name", "id", "path", "arn", "assume_role_policy", "description",
		"max_session_duration", "permissions_boundary", "tags", "inline_policies", "attached_policies",
		"created_at", "last_used_at", "last_used_region"},
	read: []string{"name", "id", "path", "arn", "assume_role_policy", "description",
		"max_session_duration", "permissions_boundary", "tags", "inline_policies", "attached_policies",
		"created_at", "last_used_at", "last_used_region"},
	key:   []string{"name_key"},
	order: "name_key",
	args: func(r store.Role) []any {
		return []any{nameKey(r.Name), r.Name, r.ID, r.Path, r.ARN, r.AssumeRolePolicyDocument, r.Description,
			r.MaxSessionDuration, r.PermissionsBoundary, jsonList(r.Tags), jsonMap(r.InlinePolicies),
			jsonList(r.AttachedPolicies), micros(r.CreatedAt), micros(r.LastUsedAt), r.LastUsedRegion}
	},
	scan: func(sc row) (store.Role, error) {
		var r store.Role
		var tags, inline, attached sql.NullString
		var created, lastUsed sql.NullInt64
		err := sc.Scan(&r.Name, &r.ID, &r.Path, &r.ARN, &r.AssumeRolePolicyDocument, &r.Description,
			&r.MaxSessionDuration, &r.PermissionsBoundary, &tags, &inline, &attached,
			&created, &lastUsed, &r.LastUsedRegion)
		r.Tags = decodeJSON[[]store.Tag](tags, "tags", &err)
		r.InlinePolicies = decodeJSON[map[string]string](inline, "inline_policies", &err)
		r.AttachedPolicies = decodeJSON[[]string](attached, "attached_policies", &err)
		r.CreatedAt, r.LastUsedAt = timeOf(created), timeOf(lastUsed)
		return r, err
	},
}

var policies = &entity[store.ManagedPolicy]{
	what:  "policy",
	table: "policies",
	from:  "policies",
	cols: []string{"arn", "id", "name", "path", "document", "description", "version_id", "tags", "created_at", "updated_at",
		"versions", "last_version"},
	read: []string{"arn", "id", "name", "path", "document", "description", "version_id", "tags", "created_at", "updated_at",
		"versions", "last_version"},
	key:   []string{"arn"},
	order: "arn",
	args: func(p store.ManagedPolicy) []any {
		return []any{p.ARN, p.ID, p.Name, p.Path, p.Document, p.Description, p.VersionID, jsonList(p.Tags),
			micros(p.CreatedAt), micros(p.UpdatedAt), jsonList(storedVersions(p.Versions)), p.LastVersion}
	},
	scan: func(r row) (store.ManagedPolicy, error) {
		var p store.ManagedPolicy
		var tags, versions sql.NullString
		var created, updated sql.NullInt64
		err := r.Scan(&p.ARN, &p.ID, &p.Name, &p.Path, &p.Document, &p.Description, &p.VersionID, &tags, &created, &updated,
			&versions, &p.LastVersion)
		p.Tags = decodeJSON[[]store.Tag](tags, "tags", &err)
		p.Versions = loadedVersions(decodeJSON[[]policyVersion](versions, "versions", &err))
		p.CreatedAt, p.UpdatedAt = timeOf(created), timeOf(updated)
		return p, err
	},
}

// policyVersion is the stored form of a store.PolicyVersion in the versions JSON
// column: the time in microseconds like every other time (0 for the zero time).
type policyVersion struct {
	ID        string `json:"id"`
	Document  string `json:"document"`
	CreatedAt int64  `json:"created_at,omitempty"`
}

func storedVersions(vs []store.PolicyVersion) []policyVersion {
	out := make([]policyVersion, len(vs))
	for i, v := range vs {
		out[i] = policyVersion{ID: v.ID, Document: v.Document}
		if !v.CreatedAt.IsZero() {
			out[i].CreatedAt = v.CreatedAt.UnixMicro()
		}
	}
	return out
}

func loadedVersions(vs []policyVersion) []store.PolicyVersion {
	if len(vs) == 0 {
		return nil
	}
	out := make([]store.PolicyVersion, len(vs))
	for i, v := range vs {
		out[i] = store.PolicyVersion{ID: v.ID, Document: v.Document}
		if v.CreatedAt != 0 {
			out[i].CreatedAt = time.UnixMicro(v.CreatedAt).UTC()
		}
	}
	return out
}

var instanceProfiles = &entity[store.InstanceProfile]{
	what:  "instance profile",
	table: "instance_profiles",
	from:  "instance_profiles",
	cols:  []string{"name_key", "name", "id", "path", "arn", "roles", "tags", "created_at"},
	read:  []string{"name", "id", "path", "arn", "roles", "tags", "created_at"},
	key:   []string{"name_key"},
	order: "name_key",
	args: func(p store.InstanceProfile) []any {
		return []any{nameKey(p.Name), p.Name, p.ID, p.Path, p.ARN, jsonList(p.Roles), jsonList(p.Tags), micros(p.CreatedAt)}
	},
	scan: func(r row) (store.InstanceProfile, error) {
		var p store.InstanceProfile
		var roles, tags sql.NullString
		var created sql.NullInt64
		err := r.Scan(&p.Name, &p.ID, &p.Path, &p.ARN, &roles, &tags, &created)
		p.Roles = decodeJSON[[]string](roles, "roles", &err)
		p.Tags = decodeJSON[[]store.Tag](tags, "tags", &err)
		p.CreatedAt = timeOf(created)
		return p, err
	},
}

var users = &entity[store.User]{
	what:  "user",
	table: "users",
	from:  "users",
	cols:  []string{"name_key", "name", "id", "path", "arn", "tags", "inline_policies", "attached_policies", "created_at"},
	read:  []string{"name", "id", "path", "arn", "tags", "inline_policies", "attached_policies", "created_at"},
	key:   []string{"name_key"},
	order: "name_key",
	args: func(u store.User) []any {
		return []any{nameKey(u.Name), u.Name, u.ID, u.Path, u.ARN, jsonList(u.Tags), jsonMap(u.InlinePolicies),
			jsonList(u.AttachedPolicies), micros(u.CreatedAt)}
	},
	scan: func(r row) (store.User, error) {
		var u store.User
		var tags, inline, attached sql.NullString
		var created sql.NullInt64
		err := r.Scan(&u.Name, &u.ID, &u.Path, &u.ARN, &tags, &inline, &attached, &created)
		u.Tags = decodeJSON[[]store.Tag](tags, "tags", &err)
		u.InlinePolicies = decodeJSON[map[string]string](inline, "inline_policies", &err)
		u.AttachedPolicies = decodeJSON[[]string](attached, "attached_policies", &err)
		u.CreatedAt = timeOf(created)
		return u, err
	},
}

var accessKeys = &entity[store.AccessKey]{
	what:  "access key",
	table: "access_keys",
	from:  "access_keys_v",
	cols: []string{"id", "user_key", "secret", "status", "created_at", "last_used_at",
		"last_used_service", "last_used_region"},
	read: []string{"id", "user_name", "secret", "status", "created_at", "last_used_at",
		"last_used_service", "last_used_region"},
	key:   []string{"id"},
	order: "created_at NULLS FIRST, id",
	args: func(k store.AccessKey) []any {
		return []any{k.ID, nameKey(k.UserName), blob(k.Secret), k.Status, micros(k.CreatedAt), micros(k.LastUsedAt),
			k.LastUsedSvc, k.LastUsedRgn}
	},
	scan: func(r row) (store.AccessKey, error) {
		var k store.AccessKey
		var created, lastUsed sql.NullInt64
		err := r.Scan(&k.ID, &k.UserName, &k.Secret, &k.Status, &created, &lastUsed, &k.LastUsedSvc, &k.LastUsedRgn)
		k.Secret = nilIfEmpty(k.Secret)
		k.CreatedAt, k.LastUsedAt = timeOf(created), timeOf(lastUsed)
		return k, err
	},
}

// LatestVersion is the schema version this binary migrates to.
func LatestVersion() int { return len(migrations) }

// Reader is the pool reads go through (for backend tests).
func (s *Store) Reader() *sql.DB { return s.r }

// Writer is the pool writes go through (for backend tests).
func (s *Store) Writer() *sql.DB { return s.w }
