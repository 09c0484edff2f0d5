package sqlstore

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/keyless-dev/keyless/store"
)

// secretsMigration is the schema step of the local Secrets Manager: secrets
// and their versions, whose values are sealed by the caller. A version goes
// with its secret.
var secretsMigration = []string{
	`CREATE TABLE secrets (
		name             {text} PRIMARY KEY,
		arn              {text} NOT NULL UNIQUE,
		description      {text} NOT NULL,
		kms_key_id       {text} NOT NULL,
		tags             {text},
		created_at       BIGINT,
		last_changed_at  BIGINT,
		last_accessed_at BIGINT,
		deleted_at       BIGINT,
		deletion_date    BIGINT
	)`,
	`CREATE TABLE secret_versions (
		secret           {text} NOT NULL REFERENCES secrets (name) ON DELETE CASCADE,
		version_id       {text} NOT NULL,
		stages           {text},
		value            {blob},
		created_at       BIGINT,
		last_accessed_at BIGINT,
		PRIMARY KEY (secret, version_id)
	)`,
}

var _ store.SecretStore = (*Store)(nil)

// secretCols are the columns of the secrets table, in secretArgs's order.
var secretCols = []string{"name", "arn", "description", "kms_key_id", "tags", "created_at",
	"last_changed_at", "last_accessed_at", "deleted_at", "deletion_date"}

func secretArgs(s store.Secret) []any {
	return []any{s.Name, s.ARN, s.Description, s.KMSKeyID, jsonList(s.Tags), micros(s.CreatedAt),
		micros(s.LastChangedAt), micros(s.LastAccessedAt), micros(s.DeletedAt), micros(s.DeletionDate)}
}

// versionCols are the columns of secret_versions written, in versionArgs's order.
var versionCols = []string{"secret", "version_id", "stages", "value", "created_at", "last_accessed_at"}

func versionArgs(secret string, v store.SecretVersion) []any {
	return []any{secret, v.ID, jsonList(v.Stages), blob(v.Value), micros(v.CreatedAt), micros(v.LastAccessedAt)}
}

// secretQuery selects secrets joined with their versions, one row per
// version (one row with NULL version columns for a secret without any),
// ordered by secret name, then version age and ID; withValues selects the
// versions' values too (else NULL). cond restricts the secrets ("" for all).
func secretQuery(cond string, withValues bool) string {
	cols := make([]string, 0, len(secretCols)+6)
	for _, c := range secretCols {
		cols = append(cols, "s."+c)
	}
	value := "NULL"
	if withValues {
		value = "v.value"
	}
	cols = append(cols, "v.version_id", "v.stages", value, "v.created_at", "v.last_accessed_at")
	q := "SELECT " + strings.Join(cols, ", ") + " FROM secrets s LEFT JOIN secret_versions v ON v.secret = s.name"
	if cond != "" {
		q += " WHERE " + cond
	}
	return q + " ORDER BY s.name, v.created_at NULLS FIRST, v.version_id"
}

// queryer is a *sql.DB or *sql.Tx.
type queryer interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// readSecrets runs a secretQuery and folds its rows into secrets.
func readSecrets(ctx context.Context, q queryer, query string, args ...any) ([]store.Secret, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer func() { _ = rows.Close() }()
	var out []store.Secret
	for rows.Next() {
		var s store.Secret
		var tags, stages, versionID sql.NullString
		var created, changed, accessed, deleted, deletion, vCreated, vAccessed sql.NullInt64
		var value []byte
		err := rows.Scan(&s.Name, &s.ARN, &s.Description, &s.KMSKeyID, &tags, &created, &changed, &accessed, &deleted, &deletion,
			&versionID, &stages, &value, &vCreated, &vAccessed)
		if err != nil {
			return nil, err
		}
		if n := len(out); n == 0 || out[n-1].Name != s.Name {
			s.Tags = decodeJSON[[]store.Tag](tags, "tags", &err)
			s.CreatedAt, s.LastChangedAt, s.LastAccessedAt = timeOf(created), timeOf(changed), timeOf(accessed)
			s.DeletedAt, s.DeletionDate = timeOf(deleted), timeOf(deletion)
			out = append(out, s)
		}
		if versionID.Valid {
			v := store.SecretVersion{ID: versionID.String, Value: nilIfEmpty(value),
				CreatedAt: timeOf(vCreated), LastAccessedAt: timeOf(vAccessed)}
			v.Stages = decodeJSON[[]string](stages, "stages", &err)
			last := &out[len(out)-1]
			last.Versions = append(last.Versions, v)
		}
		if err != nil {
			return nil, err
		}
	}
	return out, rows.Err()
}

// CreateSecret stores a new secret with its versions in one transaction.
func (s *Store) CreateSecret(ctx context.Context, sec store.Secret) error {
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		q := "INSERT INTO secrets (" + strings.Join(secretCols, ", ") + ") VALUES (" + placeholders(1, len(secretCols)) + ")"
		if _, err := tx.ExecContext(ctx, q, secretArgs(sec)...); err != nil {
			return s.d.mapErr(err)
		}
		return s.insertVersions(ctx, tx, sec.Name, sec.Versions)
	})
	if err != nil {
		return fmt.Errorf("store: create secret %q: %w", sec.Name, err)
	}
	return nil
}

// insertVersions inserts versions of secret in tx.
func (s *Store) insertVersions(ctx context.Context, tx *sql.Tx, secret string, vs []store.SecretVersion) error {
	q := "INSERT INTO secret_versions (" + strings.Join(versionCols, ", ") + ") VALUES (" + placeholders(1, len(versionCols)) + ")"
	for _, v := range vs {
		if _, err := tx.ExecContext(ctx, q, versionArgs(secret, v)...); err != nil {
			return s.d.mapErr(err)
		}
	}
	return nil
}

// GetSecret returns a secret with its versions and their values, read in
// one statement.
func (s *Store) GetSecret(ctx context.Context, name string) (store.Secret, error) {
	out, err := readSecrets(ctx, s.r, secretQuery("s.name = $1", true), name)
	if err == nil && len(out) == 0 {
		err = store.ErrNotFound
	}
	if err != nil {
		return store.Secret{}, fmt.Errorf("store: get secret %q: %w", name, err)
	}
	return out[0], nil
}

// ListSecrets returns every secret by name, with its versions but without
// their values.
func (s *Store) ListSecrets(ctx context.Context) ([]store.Secret, error) {
	out, err := readSecrets(ctx, s.r, secretQuery("", false))
	if err != nil {
		return nil, fmt.Errorf("store: list secrets: %w", err)
	}
	return out, nil
}

// errVersionChanged is returned when an update callback changes an existing
// version's value or creation time.
var errVersionChanged = errors.New("the callback changed a stored version's value or creation time, which cannot change")

// UpdateSecret replaces a secret with what fn returns, in a transaction that
// holds the secret's row: the secret's row is rewritten, and its versions
// added, rewritten or deleted to match.
func (s *Store) UpdateSecret(ctx context.Context, name string, fn func(store.Secret) (store.Secret, error)) error {
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var locked string
		err := tx.QueryRowContext(ctx, `SELECT name FROM secrets WHERE name = $1`+s.d.ForUpdate, name).Scan(&locked)
		if errors.Is(err, sql.ErrNoRows) {
			return store.ErrNotFound
		}
		if err != nil {
			return err
		}
		cur, err := readSecrets(ctx, tx, secretQuery("s.name = $1", true), name)
		if err != nil {
			return err
		}
		if len(cur) != 1 {
			return store.ErrNotFound
		}
		next, err := fn(cloneSecret(cur[0]))
		if err != nil {
			return err
		}
		if next.Name != cur[0].Name || next.ARN != cur[0].ARN {
			return errRenamed
		}
		return s.writeSecret(ctx, tx, cur[0], next)
	})
	if err != nil {
		return fmt.Errorf("store: update secret %q: %w", name, err)
	}
	return nil
}

// writeSecret writes next over cur in tx.
func (s *Store) writeSecret(ctx context.Context, tx *sql.Tx, cur, next store.Secret) error {
	q := "UPDATE secrets SET " + equals(secretCols, 1, ", ") + " WHERE name = $" + fmt.Sprint(len(secretCols)+1)
	if _, err := tx.ExecContext(ctx, q, append(secretArgs(next), cur.Name)...); err != nil {
		return s.d.mapErr(err)
	}
	old := make(map[string]store.SecretVersion, len(cur.Versions))
	for _, v := range cur.Versions {
		old[v.ID] = v
	}
	seen := make(map[string]bool, len(next.Versions))
	var added []store.SecretVersion
	for _, v := range next.Versions {
		if seen[v.ID] {
			return fmt.Errorf("version %q appears twice: %w", v.ID, store.ErrAlreadyExists)
		}
		seen[v.ID] = true
		o, ok := old[v.ID]
		if !ok {
			added = append(added, v)
			continue
		}
		if !bytes.Equal(o.Value, nilIfEmpty(v.Value)) || o.CreatedAt.UnixMicro() != v.CreatedAt.UnixMicro() || o.CreatedAt.IsZero() != v.CreatedAt.IsZero() {
			return errVersionChanged
		}
		if slices.Equal(o.Stages, nilSlice(v.Stages)) && o.LastAccessedAt.Equal(norm(v.LastAccessedAt)) {
			continue
		}
		if _, err := tx.ExecContext(ctx, `UPDATE secret_versions SET stages = $1, last_accessed_at = $2 WHERE secret = $3 AND version_id = $4`,
			jsonList(v.Stages), micros(v.LastAccessedAt), cur.Name, v.ID); err != nil {
			return s.d.mapErr(err)
		}
	}
	for _, o := range cur.Versions {
		if seen[o.ID] {
			continue
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM secret_versions WHERE secret = $1 AND version_id = $2`, cur.Name, o.ID); err != nil {
			return err
		}
	}
	return s.insertVersions(ctx, tx, cur.Name, added)
}

// norm is a time as the store reads it back: UTC, to the microsecond.
func norm(t time.Time) time.Time {
	if t.IsZero() {
		return t
	}
	return t.UTC().Truncate(time.Microsecond)
}

// cloneSecret copies the slices of s, so that fn's changes to them do not
// reach the record it is compared with.
func cloneSecret(s store.Secret) store.Secret {
	s.Tags = slices.Clone(s.Tags)
	s.Versions = slices.Clone(s.Versions)
	for i := range s.Versions {
		s.Versions[i].Stages = slices.Clone(s.Versions[i].Stages)
	}
	return s
}

// DeleteSecret deletes a secret and, by cascade, its versions.
func (s *Store) DeleteSecret(ctx context.Context, name string) error {
	return remove(ctx, s, secretsEntity, name, name)
}

// secretsEntity describes the secrets table for remove (deletes only).
var secretsEntity = &entity[store.Secret]{
	what:  "secret",
	table: "secrets",
	from:  "secrets",
	key:   []string{"name"},
}
