package store

import (
	"context"
	"time"
)

// SecretStore keeps the secrets of the local AWS Secrets Manager: each secret
// with its versions, their staging labels and their values. Values arrive
// already sealed by the caller (package keywrap), so a backend never sees a
// secret value in clear.
//
// Conventions, beyond Store's (store/storetest.RunSecrets checks them):
// secret names are case-sensitive and compared and ordered by their bytes; a
// secret's ARN is unique like its name; a secret's versions read back oldest
// first (by CreatedAt, then ID), each version's Stages in the order they were
// written; a version's Value and CreatedAt never change once it is stored;
// deleting a secret deletes its versions.
type SecretStore interface {
	// CreateSecret stores a new secret with its versions; ErrAlreadyExists
	// if a secret has its name or its ARN.
	CreateSecret(ctx context.Context, s Secret) error
	// GetSecret returns the secret with the given name, with its versions
	// and their values.
	GetSecret(ctx context.Context, name string) (Secret, error)
	// ListSecrets returns every secret ordered by name, with its versions
	// but not their values (every Value is nil).
	ListSecrets(ctx context.Context) ([]Secret, error)
	// UpdateSecret replaces a secret with what fn returns, in a
	// transaction: the secret's own fields and its versions, adding the
	// versions that are new, rewriting the changed ones (stages, last
	// access) and deleting those fn dropped. fn gets the versions with their
	// values; it may not change the secret's name or ARN, nor an existing
	// version's Value or CreatedAt (an error, and nothing is written).
	UpdateSecret(ctx context.Context, name string, fn func(Secret) (Secret, error)) error
	// DeleteSecret deletes a secret with its versions.
	DeleteSecret(ctx context.Context, name string) error
}

// Secret is a secret of the local Secrets Manager.
type Secret struct {
	// Name is the secret's name, its key.
	Name string
	// ARN is arn:aws:secretsmanager:REGION:ACCOUNT:secret:NAME-XXXXXX.
	ARN         string
	Description string
	// KMSKeyID is the KMS key the caller named, kept and reported; keyless
	// seals values with its own key-encryption key whatever it says.
	KMSKeyID string
	Tags     []Tag
	// CreatedAt, LastChangedAt and LastAccessedAt are when the secret was
	// created, last changed (value, metadata, stages) and last read.
	CreatedAt      time.Time
	LastChangedAt  time.Time
	LastAccessedAt time.Time
	// DeletedAt is when the secret's deletion was scheduled and
	// DeletionDate when it takes effect (the end of the recovery window);
	// both zero unless the secret is scheduled for deletion.
	DeletedAt    time.Time
	DeletionDate time.Time
	// Versions are the secret's versions, oldest first.
	Versions []SecretVersion
}

// SecretVersion is one version of a secret.
type SecretVersion struct {
	// ID is the version ID (the ClientRequestToken that created it).
	ID string
	// Stages are the staging labels attached (AWSCURRENT, AWSPREVIOUS,
	// AWSPENDING, or the caller's); none for a deprecated version.
	Stages []string
	// Value is the sealed value. Nil when listed (ListSecrets).
	Value          []byte
	CreatedAt      time.Time
	LastAccessedAt time.Time
}
