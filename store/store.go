// Package store defines the one persistence interface keyless uses. Backends live in
// sub-packages (sqlite, postgres); storetest holds the conformance suite every backend
// must pass. Values are plain structs; secrets in them are already encrypted by the
// caller, so a backend never sees plaintext key material.
//
// S3Store (s3.go) is a narrower interface of its own, the metadata of the local
// S3 service, with its own conformance suite (storetest.RunS3); the SQL
// backends implement both. Object bytes are not kept here but in package blob.
//
// PipelineVariableStore (pipelinevars.go) keeps Bitbucket Pipelines variables
// of workspaces, repositories and deployment environments, with its own
// conformance suite (storetest.RunPipelineVariables); the SQL backends
// implement it too.
package store

import (
	"context"
	"errors"
	"time"
)

// Sentinel errors every backend returns (possibly wrapped) so callers can use errors.Is.
var (
	// ErrNotFound means the addressed record does not exist.
	ErrNotFound = errors.New("not found")
	// ErrAlreadyExists means a create collided with an existing record's unique key.
	ErrAlreadyExists = errors.New("already exists")
	// ErrSchemaTooNew means the database was written by a newer keyless; it is left untouched.
	ErrSchemaTooNew = errors.New("database schema is newer than this keyless supports")
	// ErrSchemaTooOld means the database was written by an older keyless and needs a
	// migration, which only an opening that may migrate (keyless up) performs.
	ErrSchemaTooOld = errors.New("database schema is older than this keyless")
	// ErrNoStore means the database holds no keyless store: the file is missing, or
	// it has no keyless schema. Backends' OpenExisting report it instead of creating one.
	ErrNoStore = errors.New("no keyless store")
)

// Store is the persistence interface. All methods are safe for concurrent use.
// Update methods run the callback inside a transaction: the callback gets the current
// record and returns the new one; an error from it aborts the update unchanged. The
// callback must not call the Store (a backend may hold its only write connection for
// it). It may change the record's key, which renames the record (ErrAlreadyExists if
// the new key is taken).
//
// Conventions every backend follows (store/storetest checks them): times are kept to
// the microsecond and read back in UTC; empty slices, maps and byte slices read back as
// nil; lists are ordered by key (roles, users and instance profiles by lower-cased name,
// runners by name),
// except signing keys and access keys (oldest first) and audit events (newest first);
// creating a record whose parent (workspace, repository, user) is missing gives
// ErrNotFound; deleting a user deletes its access keys; deleting a managed policy
// deletes its versions (they live in its record).
type Store interface {
	// Settings are small named blobs: CA material, root credentials, key rings.
	GetSetting(ctx context.Context, name string) ([]byte, error)
	// CreateSetting stores a new setting; ErrAlreadyExists if it is set (first-start races).
	CreateSetting(ctx context.Context, name string, value []byte) error
	// PutSetting creates or replaces a setting.
	PutSetting(ctx context.Context, name string, value []byte) error
	// UpdateSetting replaces a setting with what fn returns, in a transaction, so that
	// replicas changing one setting (a key ring's rotation) do not lose each other's
	// writes; ErrNotFound if it is not set.
	UpdateSetting(ctx context.Context, name string, fn func([]byte) ([]byte, error)) error

	// Signing keys of the identity provider.
	CreateSigningKey(ctx context.Context, k SigningKey) error
	GetSigningKey(ctx context.Context, id string) (SigningKey, error)
	ListSigningKeys(ctx context.Context) ([]SigningKey, error)
	UpdateSigningKey(ctx context.Context, id string, fn func(SigningKey) (SigningKey, error)) error
	DeleteSigningKey(ctx context.Context, id string) error

	// Pipeline directory: workspaces, repositories, deployment environments.
	CreateWorkspace(ctx context.Context, w Workspace) error
	GetWorkspace(ctx context.Context, slug string) (Workspace, error)
	ListWorkspaces(ctx context.Context) ([]Workspace, error)
	UpdateWorkspace(ctx context.Context, slug string, fn func(Workspace) (Workspace, error)) error
	CreateRepository(ctx context.Context, r Repository) error
	GetRepository(ctx context.Context, workspace, slug string) (Repository, error)
	ListRepositories(ctx context.Context, workspace string) ([]Repository, error)
	CreateEnvironment(ctx context.Context, e Environment) error
	GetEnvironment(ctx context.Context, workspace, repository, name string) (Environment, error)
	ListEnvironments(ctx context.Context, workspace, repository string) ([]Environment, error)

	// Runner credentials that may call the mint API.
	CreateRunner(ctx context.Context, r Runner) error
	GetRunner(ctx context.Context, id string) (Runner, error)
	ListRunners(ctx context.Context) ([]Runner, error)
	DeleteRunner(ctx context.Context, id string) error

	// IAM: OpenID Connect providers, keyed by ARN.
	CreateOIDCProvider(ctx context.Context, p OIDCProvider) error
	GetOIDCProvider(ctx context.Context, arn string) (OIDCProvider, error)
	ListOIDCProviders(ctx context.Context) ([]OIDCProvider, error)
	UpdateOIDCProvider(ctx context.Context, arn string, fn func(OIDCProvider) (OIDCProvider, error)) error
	DeleteOIDCProvider(ctx context.Context, arn string) error

	// IAM roles, keyed by name (unique case-insensitively).
	CreateRole(ctx context.Context, r Role) error
	GetRole(ctx context.Context, name string) (Role, error)
	ListRoles(ctx context.Context) ([]Role, error)
	UpdateRole(ctx context.Context, name string, fn func(Role) (Role, error)) error
	DeleteRole(ctx context.Context, name string) error

	// IAM managed policies, keyed by ARN.
	CreatePolicy(ctx context.Context, p ManagedPolicy) error
	GetPolicy(ctx context.Context, arn string) (ManagedPolicy, error)
	ListPolicies(ctx context.Context) ([]ManagedPolicy, error)
	UpdatePolicy(ctx context.Context, arn string, fn func(ManagedPolicy) (ManagedPolicy, error)) error
	DeletePolicy(ctx context.Context, arn string) error

	// IAM instance profiles, keyed by name (unique case-insensitively).
	CreateInstanceProfile(ctx context.Context, p InstanceProfile) error
	GetInstanceProfile(ctx context.Context, name string) (InstanceProfile, error)
	ListInstanceProfiles(ctx context.Context) ([]InstanceProfile, error)
	UpdateInstanceProfile(ctx context.Context, name string, fn func(InstanceProfile) (InstanceProfile, error)) error
	DeleteInstanceProfile(ctx context.Context, name string) error

	// IAM users, keyed by name (unique case-insensitively).
	CreateUser(ctx context.Context, u User) error
	GetUser(ctx context.Context, name string) (User, error)
	ListUsers(ctx context.Context) ([]User, error)
	UpdateUser(ctx context.Context, name string, fn func(User) (User, error)) error
	DeleteUser(ctx context.Context, name string) error

	// IAM access keys, keyed by access key id.
	CreateAccessKey(ctx context.Context, k AccessKey) error
	GetAccessKey(ctx context.Context, id string) (AccessKey, error)
	ListAccessKeys(ctx context.Context, userName string) ([]AccessKey, error)
	UpdateAccessKey(ctx context.Context, id string, fn func(AccessKey) (AccessKey, error)) error
	DeleteAccessKey(ctx context.Context, id string) error

	// Audit events, append-only. ListAuditEvents returns the newest first, at most limit
	// (0 means no limit), only those at or after since.
	AppendAuditEvent(ctx context.Context, e AuditEvent) error
	// AppendAuditEvents appends events atomically, in one transaction, in slice
	// order (so among events with the same Time the later in the slice lists
	// first). If any event cannot be appended (a duplicate ID, within the batch or
	// with a stored event, gives ErrAlreadyExists) none is. An empty slice is a
	// no-op.
	AppendAuditEvents(ctx context.Context, events []AuditEvent) error
	ListAuditEvents(ctx context.Context, since time.Time, limit int) ([]AuditEvent, error)
	// QueryAuditEvents returns the events q selects, in q's order, at most q.Limit,
	// with their Seq set; a page continues after q.After (see audit.go).
	QueryAuditEvents(ctx context.Context, q AuditQuery) ([]AuditEvent, error)
	// CountAuditEvents counts the events q selects by decision, in steps of
	// step from q.Since (see AuditCount); q's Order, After and Limit do not
	// apply. q.Since and q.Until must be set and step at least a microsecond.
	CountAuditEvents(ctx context.Context, q AuditQuery, step time.Duration) ([]AuditCount, error)
	// PruneAuditEvents deletes at most p.Limit of the events p selects for deletion,
	// oldest first, in one transaction, and reports how many it deleted.
	PruneAuditEvents(ctx context.Context, p AuditPrune) (int, error)

	// SchemaVersion is the migration version the database is at.
	SchemaVersion(ctx context.Context) (int, error)
	// Close releases the backend's resources.
	Close() error
}

// KeyState is a signing key's place in its lifecycle.
type KeyState string

// Signing-key lifecycle states: prepared (published, not signing), active (signing),
// retired (published until its last token expires, then deleted).
const (
	KeyPrepared KeyState = "prepared"
	KeyActive   KeyState = "active"
	KeyRetired  KeyState = "retired"
)

// SigningKey is one identity-provider signing key. PrivateKey is the sealed
// (encrypted) private key; PublicJWK is the public JSON Web Key as published.
type SigningKey struct {
	ID          string // RFC 7638 thumbprint, used as kid
	Algorithm   string // RS256 or ES256
	State       KeyState
	PrivateKey  []byte
	PublicJWK   []byte
	CreatedAt   time.Time
	ActivatedAt time.Time // zero until activated
	RetiredAt   time.Time // zero until retired
	// NotAfter is when a retired key may leave the JWKS: the expiry of the last token
	// it could have signed. Zero while the key is not retired.
	NotAfter time.Time
}

// Workspace is a pipeline workspace (Bitbucket's unit of issuer and audience).
type Workspace struct {
	Slug        string
	UUID        string // lower-case, without braces
	SessionTags bool   // include the AWS session-tags claim in its tokens
	CreatedAt   time.Time
}

// Repository is a repository inside a workspace.
type Repository struct {
	Workspace string
	Slug      string
	UUID      string
	CreatedAt time.Time
}

// Environment is a deployment environment of a repository.
type Environment struct {
	Workspace  string
	Repository string
	Name       string
	UUID       string
	CreatedAt  time.Time
}

// Runner is a credential a CI runner presents to the mint API. SecretHash is a
// SHA-256 of the secret; the secret itself is never stored.
type Runner struct {
	ID         string
	Name       string
	SecretHash []byte
	// Workspaces limits which workspaces it may mint for; empty means all.
	Workspaces []string
	CreatedAt  time.Time
}

// Tag is an IAM tag.
type Tag struct {
	Key   string
	Value string
}

// OIDCProvider is an IAM OpenID Connect provider.
type OIDCProvider struct {
	ARN         string
	URL         string // without the https:// scheme, as IAM stores it
	ClientIDs   []string
	Thumbprints []string
	Tags        []Tag
	CreatedAt   time.Time
}

// Role is an IAM role with its inline and attached policies.
type Role struct {
	ID                       string // AROA…
	Name                     string
	Path                     string
	ARN                      string
	AssumeRolePolicyDocument string // JSON, not encoded
	Description              string
	MaxSessionDuration       int // seconds
	PermissionsBoundary      string
	Tags                     []Tag
	InlinePolicies           map[string]string // name → JSON document
	AttachedPolicies         []string          // managed policy ARNs
	CreatedAt                time.Time
	LastUsedAt               time.Time
	LastUsedRegion           string
}

// ManagedPolicy is an IAM customer-managed policy with its versions. Document and
// VersionID are the default version's, so that readers that evaluate the policy
// need not look at Versions.
type ManagedPolicy struct {
	ID          string // ANPA…
	Name        string
	Path        string
	ARN         string
	Document    string // the default version's document
	Description string
	VersionID   string // the default version: v1, v2, …
	Tags        []Tag
	CreatedAt   time.Time
	UpdatedAt   time.Time
	// Versions are all the versions kept (at most 5 in IAM), the default among
	// them, oldest first. Nil for a policy written before versions were kept and
	// for the AWS managed policies: their one version is VersionID with Document,
	// created at UpdatedAt.
	Versions []PolicyVersion
	// LastVersion is the number of the newest version ever created (5 for v5), so
	// that the ids of deleted versions are not reused; 0 when not recorded.
	LastVersion int
}

// PolicyVersion is one version of a managed policy's document.
type PolicyVersion struct {
	ID        string // v1, v2, …
	Document  string // JSON, not encoded
	CreatedAt time.Time
}

// InstanceProfile is an IAM instance profile: a container for (at most one, in
// IAM) role, referenced by role name.
type InstanceProfile struct {
	ID        string // AIPA…
	Name      string
	Path      string
	ARN       string
	Roles     []string // names of the roles in it
	Tags      []Tag
	CreatedAt time.Time
}

// User is an IAM user with its inline and attached policies.
type User struct {
	ID               string // AIDA…
	Name             string
	Path             string
	ARN              string
	Tags             []Tag
	InlinePolicies   map[string]string
	AttachedPolicies []string
	CreatedAt        time.Time
}

// AccessKey is a long-term IAM access key. Secret is sealed by the caller.
type AccessKey struct {
	ID          string // AKIA…
	UserName    string
	Secret      []byte
	Status      string // Active or Inactive
	CreatedAt   time.Time
	LastUsedAt  time.Time
	LastUsedSvc string
	LastUsedRgn string
}

// AuditEvent is one secret-free record of a decision.
type AuditEvent struct {
	ID        string
	Time      time.Time
	RequestID string
	Action    string
	Caller    string
	Role      string
	Decision  string // e.g. Allowed, Denied, Error
	// Repository is the repository a web identity token names (empty for other
	// callers), for queries by repository.
	Repository string
	// Detail is a JSON object with the rest: failing statement and condition, error code.
	Detail []byte
	// Seq is the event's place in append order, set by the store when
	// QueryAuditEvents reads it (zero elsewhere; ignored on append).
	Seq int64
}
