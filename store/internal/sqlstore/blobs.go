package sqlstore

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"errors"
	"fmt"

	"github.com/keyless-dev/keyless/store"
)

// blobsMigration is schema version 4: small blobs, inline. A blob key may be
// 4,096 bytes of anything (NUL, invalid UTF-8), which neither a PostgreSQL
// text column nor its B-tree index (at most about 2,700 bytes an entry)
// takes, so rows are keyed by the key's SHA-256, as package blob/fs names its
// files; blob_key keeps the key itself, for a reader of the table.
var blobsMigration = []string{
	`CREATE TABLE blobs (
		key_hash {blob} PRIMARY KEY,
		blob_key {blob} NOT NULL,
		data     {blob}
	)`,
}

var _ store.InlineObjectStore = (*Store)(nil)

// putBlobSQL creates or replaces a blob row: key hash, key, data.
const putBlobSQL = `INSERT INTO blobs (key_hash, blob_key, data) VALUES ($1, $2, $3)
	ON CONFLICT (key_hash) DO UPDATE SET blob_key = excluded.blob_key, data = excluded.data`

// keyHash is the primary key of key's row in blobs.
func keyHash(key string) []byte {
	h := sha256.Sum256([]byte(key))
	return h[:]
}

// PutBlob creates or replaces the blob under key in one statement.
func (s *Store) PutBlob(ctx context.Context, key string, data []byte) error {
	if _, err := s.w.ExecContext(ctx, putBlobSQL, keyHash(key), []byte(key), blob(data)); err != nil {
		return fmt.Errorf("store: put blob: %w", s.d.mapErr(err))
	}
	return nil
}

// GetBlob returns the blob under key; an empty one reads back as nil.
func (s *Store) GetBlob(ctx context.Context, key string) ([]byte, error) {
	var data []byte
	err := s.r.QueryRowContext(ctx, `SELECT data FROM blobs WHERE key_hash = $1`, keyHash(key)).Scan(&data)
	if errors.Is(err, sql.ErrNoRows) {
		err = store.ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("store: get blob: %w", err)
	}
	return nilIfEmpty(data), nil
}

// DeleteBlob removes the blob under key.
func (s *Store) DeleteBlob(ctx context.Context, key string) error {
	res, err := s.w.ExecContext(ctx, `DELETE FROM blobs WHERE key_hash = $1`, keyHash(key))
	if err != nil {
		return fmt.Errorf("store: delete blob: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("store: delete blob: %w", err)
	}
	if n == 0 {
		return fmt.Errorf("store: delete blob: %w", store.ErrNotFound)
	}
	return nil
}
