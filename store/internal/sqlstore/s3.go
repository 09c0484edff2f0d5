package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/keyless-dev/keyless/store"
)

// s3Migration is schema version 3: buckets, objects, multipart uploads, parts.
var s3Migration = []string{
	`CREATE TABLE s3_buckets (
		name             {text} PRIMARY KEY,
		region           {text} NOT NULL,
		owner            {text} NOT NULL,
		created_at       BIGINT,
		object_ownership {text} NOT NULL,
		policy           {text} NOT NULL,
		acl              {text},
		tags             {text},
		configurations   {text}
	)`,
	`CREATE TABLE s3_objects (
		bucket              {text} NOT NULL REFERENCES s3_buckets (name),
		object_key          {text} NOT NULL,
		size                BIGINT NOT NULL,
		etag                {text} NOT NULL,
		last_modified       BIGINT,
		owner               {text} NOT NULL,
		content_type        {text} NOT NULL,
		cache_control       {text} NOT NULL,
		content_encoding    {text} NOT NULL,
		content_disposition {text} NOT NULL,
		content_language    {text} NOT NULL,
		expires             {text} NOT NULL,
		storage_class       {text} NOT NULL,
		metadata            {text},
		acl                 {text},
		tags                {text},
		checksums           {text},
		checksum_type       {text} NOT NULL,
		part_sizes          {text},
		blob_id             {text} NOT NULL,
		PRIMARY KEY (bucket, object_key)
	)`,
	`CREATE TABLE s3_uploads (
		upload_id           {text} PRIMARY KEY,
		bucket              {text} NOT NULL REFERENCES s3_buckets (name) ON DELETE CASCADE,
		object_key          {text} NOT NULL,
		initiated           BIGINT,
		initiator           {text} NOT NULL,
		owner               {text} NOT NULL,
		content_type        {text} NOT NULL,
		cache_control       {text} NOT NULL,
		content_encoding    {text} NOT NULL,
		content_disposition {text} NOT NULL,
		content_language    {text} NOT NULL,
		expires             {text} NOT NULL,
		storage_class       {text} NOT NULL,
		metadata            {text},
		acl                 {text},
		tags                {text},
		checksum_algorithm  {text} NOT NULL,
		checksum_type       {text} NOT NULL
	)`,
	`CREATE INDEX s3_uploads_key ON s3_uploads (bucket, object_key, initiated, upload_id)`,
	`CREATE TABLE s3_parts (
		upload_id     {text} NOT NULL REFERENCES s3_uploads (upload_id) ON DELETE CASCADE,
		part_number   BIGINT NOT NULL,
		size          BIGINT NOT NULL,
		etag          {text} NOT NULL,
		last_modified BIGINT,
		checksums     {text},
		blob_id       {text} NOT NULL,
		PRIMARY KEY (upload_id, part_number)
	)`,
}

var _ store.S3Store = (*Store)(nil)

// errRenamed is returned when an update callback changes a record's key where
// the key is immutable.
var errRenamed = errors.New("the callback changed the record's key, which cannot change")

// errRebound is returned when UpdateObject's callback changes where the
// object's bytes are, which only a put changes.
var errRebound = errors.New("the callback changed the object's BlobID or Inline, which only a put changes")

// CreateBucket stores a new bucket; an empty ObjectOwnership is stored as
// BucketOwnerEnforced.
func (s *Store) CreateBucket(ctx context.Context, b store.Bucket) error {
	return create(ctx, s, buckets, b, b.Name)
}

// GetBucket returns the bucket with the given name.
func (s *Store) GetBucket(ctx context.Context, name string) (store.Bucket, error) {
	return get(ctx, s, buckets, name, name)
}

// ListBuckets returns all buckets ordered by name.
func (s *Store) ListBuckets(ctx context.Context) ([]store.Bucket, error) {
	return list(ctx, s, buckets, "", 0)
}

// UpdateBucket replaces a bucket with what fn returns, in a transaction.
func (s *Store) UpdateBucket(ctx context.Context, name string, fn func(store.Bucket) (store.Bucket, error)) error {
	return update(ctx, s, buckets, name, func(cur store.Bucket) (store.Bucket, error) {
		next, err := fn(cur)
		if err == nil && next.Name != cur.Name {
			err = errRenamed
		}
		return next, err
	}, name)
}

// DeleteBucket deletes a bucket that holds no objects, with its uploads and
// their parts, which it returns.
func (s *Store) DeleteBucket(ctx context.Context, name string) ([]store.Part, error) {
	var parts []store.Part
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := selectOne(ctx, tx, buckets, s.d.ForUpdate, []any{name}); err != nil {
			return err
		}
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM (SELECT 1 FROM s3_objects WHERE bucket = $1 LIMIT 1) t`, name).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return store.ErrNotEmpty
		}
		var err error
		parts, err = listTx(ctx, tx, parts3, "upload_id IN (SELECT upload_id FROM s3_uploads WHERE bucket = $1)", "upload_id, part_number", name)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM s3_buckets WHERE name = $1`, name); err != nil {
			// An object created meanwhile still refers to the bucket.
			if m := s.d.mapErr(err); errors.Is(m, store.ErrNotFound) {
				return store.ErrNotEmpty
			}
			return err
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: delete bucket %q: %w", name, err)
	}
	return parts, nil
}

// PutObject creates or replaces an object, if cond accepts the current one.
func (s *Store) PutObject(ctx context.Context, o store.Object, cond func(*store.Object) error) (*store.Object, error) {
	var old *store.Object
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var err error
		old, err = upsert(ctx, s, tx, objects, o, cond, o.Bucket, o.Key)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("store: put object %q: %w", o.Bucket+"/"+o.Key, err)
	}
	return old, nil
}

// GetObject returns an object of a bucket.
func (s *Store) GetObject(ctx context.Context, bucket, key string) (store.Object, error) {
	return get(ctx, s, objects, bucket+"/"+key, bucket, key)
}

// readObjectSQL reads an object's record and the bytes in it.
var readObjectSQL = "SELECT " + strings.Join(objectRead, ", ") + ", data FROM s3_objects WHERE bucket = $1 AND object_key = $2"

// ReadObject returns the record of bucket/key and, if it is inline, its
// bytes, in one read.
func (s *Store) ReadObject(ctx context.Context, bucket, key string) (store.Object, []byte, error) {
	var data []byte
	o, err := scanObjectAnd(s.r.QueryRowContext(ctx, readObjectSQL, bucket, key), &data)
	if errors.Is(err, sql.ErrNoRows) {
		err = store.ErrNotFound
	}
	if err != nil {
		return store.Object{}, nil, fmt.Errorf("store: read object %q: %w", bucket+"/"+key, err)
	}
	return o, nilIfEmpty(data), nil
}

// ObjectData returns the bytes of the inline object bucket/key whose BlobID
// is blobID.
func (s *Store) ObjectData(ctx context.Context, bucket, key, blobID string) ([]byte, error) {
	var data []byte
	err := s.r.QueryRowContext(ctx, `SELECT data FROM s3_objects
		WHERE bucket = $1 AND object_key = $2 AND blob_id = $3 AND data IS NOT NULL`, bucket, key, blobID).Scan(&data)
	if errors.Is(err, sql.ErrNoRows) {
		err = store.ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("store: read the bytes of object %q: %w", bucket+"/"+key, err)
	}
	return nilIfEmpty(data), nil
}

// UpdateObject replaces an object's metadata with what fn returns, in a
// transaction; its bytes stay.
func (s *Store) UpdateObject(ctx context.Context, bucket, key string, fn func(store.Object) (store.Object, error)) error {
	return update(ctx, s, objectMetadata, bucket+"/"+key, func(cur store.Object) (store.Object, error) {
		next, err := fn(cur)
		switch {
		case err != nil:
		case next.Bucket != cur.Bucket || next.Key != cur.Key:
			err = errRenamed
		case next.BlobID != cur.BlobID || next.Inline != cur.Inline:
			err = errRebound
		}
		return next, err
	}, bucket, key)
}

// DeleteObject deletes an object, if cond accepts it, and returns it.
func (s *Store) DeleteObject(ctx context.Context, bucket, key string, cond func(store.Object) error) (store.Object, error) {
	var cur store.Object
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var err error
		cur, err = selectOne(ctx, tx, objects, s.d.ForUpdate, []any{bucket, key})
		if err != nil {
			return err
		}
		if cond != nil {
			if err := cond(cur); err != nil {
				return err
			}
		}
		_, err = tx.ExecContext(ctx, `DELETE FROM s3_objects WHERE bucket = $1 AND object_key = $2`, bucket, key)
		return err
	})
	if err != nil {
		return store.Object{}, fmt.Errorf("store: delete object %q: %w", bucket+"/"+key, err)
	}
	return cur, nil
}

// ScanObjects returns at most limit objects of a bucket with keys in r, by key.
func (s *Store) ScanObjects(ctx context.Context, bucket string, r store.KeyRange, limit int) ([]store.Object, error) {
	if limit <= 0 {
		return nil, fmt.Errorf("store: scan objects of %q: limit %d, want > 0", bucket, limit)
	}
	cond := "bucket = $1 AND object_key > $2"
	if r.Inclusive {
		cond = "bucket = $1 AND object_key >= $2"
	}
	args := []any{bucket, r.From}
	if r.To != "" {
		cond += " AND object_key < $3"
		args = append(args, r.To)
	}
	return list(ctx, s, objects, cond, limit, args...)
}

// CreateMultipartUpload stores a new multipart upload; its bucket must exist.
func (s *Store) CreateMultipartUpload(ctx context.Context, u store.MultipartUpload) error {
	return create(ctx, s, uploads, u, u.UploadID)
}

// GetMultipartUpload returns the upload with the given ID if it is of the
// given bucket and key.
func (s *Store) GetMultipartUpload(ctx context.Context, bucket, key, uploadID string) (store.MultipartUpload, error) {
	return get(ctx, s, uploads, uploadID, bucket, key, uploadID)
}

// ListMultipartUploads returns a bucket's uploads whose key has prefix.
func (s *Store) ListMultipartUploads(ctx context.Context, bucket, prefix string) ([]store.MultipartUpload, error) {
	us, err := list(ctx, s, uploads, "bucket = $1 AND object_key >= $2", 0, bucket, prefix)
	if err != nil {
		return nil, err
	}
	for i, u := range us {
		if !strings.HasPrefix(u.Key, prefix) {
			return nilSlice(us[:i]), nil
		}
	}
	return us, nil
}

// PutPart creates or replaces a part of an upload and returns the one replaced.
func (s *Store) PutPart(ctx context.Context, p store.Part) (*store.Part, error) {
	var old *store.Part
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var err error
		old, err = upsert(ctx, s, tx, parts3, p, nil, p.UploadID, p.Number)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("store: put part %d of upload %q: %w", p.Number, p.UploadID, err)
	}
	return old, nil
}

// ListParts returns an upload's parts by number.
func (s *Store) ListParts(ctx context.Context, uploadID string) ([]store.Part, error) {
	return list(ctx, s, parts3, "upload_id = $1", 0, uploadID)
}

// CompleteMultipartUpload stores o as the object of the upload and deletes the
// upload, in one transaction.
func (s *Store) CompleteMultipartUpload(ctx context.Context, uploadID string, o store.Object, cond func(*store.Object) error) (*store.Object, []store.Part, error) {
	var old *store.Object
	var ps []store.Part
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := selectOne(ctx, tx, uploads, s.d.ForUpdate, []any{o.Bucket, o.Key, uploadID}); err != nil {
			return err
		}
		var err error
		if ps, err = listTx(ctx, tx, parts3, "upload_id = $1", parts3.order, uploadID); err != nil {
			return err
		}
		if old, err = upsert(ctx, s, tx, objects, o, cond, o.Bucket, o.Key); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `DELETE FROM s3_uploads WHERE upload_id = $1`, uploadID)
		return err
	})
	if err != nil {
		return nil, nil, fmt.Errorf("store: complete multipart upload %q: %w", uploadID, err)
	}
	return old, ps, nil
}

// AbortMultipartUpload deletes an upload with its parts and returns the parts.
func (s *Store) AbortMultipartUpload(ctx context.Context, bucket, key, uploadID string) ([]store.Part, error) {
	var ps []store.Part
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := selectOne(ctx, tx, uploads, s.d.ForUpdate, []any{bucket, key, uploadID}); err != nil {
			return err
		}
		var err error
		if ps, err = listTx(ctx, tx, parts3, "upload_id = $1", parts3.order, uploadID); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `DELETE FROM s3_uploads WHERE upload_id = $1`, uploadID)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("store: abort multipart upload %q: %w", uploadID, err)
	}
	return ps, nil
}

// inTx runs fn in a write transaction and commits it if fn returns nil.
func (s *Store) inTx(ctx context.Context, fn func(*sql.Tx) error) error {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer func() { _ = tx.Rollback() }()
	if err := fn(tx); err != nil {
		return err
	}
	return tx.Commit()
}

// maxUpsertTries bounds how often upsert retries an insert that lost a race
// with another inserting the same key.
const maxUpsertTries = 5

// upsert writes v, whose key values are keys, in tx: it reads the current
// record for update, passes it (nil when there is none) to cond, then updates
// the record or inserts v. An insert that collides with one committed
// meanwhile (PostgreSQL; SQLite's writers are serialised) reads the record
// again, so cond always judges the record v replaces. It returns that record.
//
// Without cond, a new key is the common case (a PUT under a new name): v is
// inserted first, and the record is read (and updated) only when one exists,
// which saves a new key's read.
func upsert[T any](ctx context.Context, s *Store, tx *sql.Tx, e *entity[T], v T, cond func(*T) error, keys ...any) (*T, error) {
	stmts := e.statements()
	inserted := func() (bool, error) {
		res, err := tx.ExecContext(ctx, stmts.insertNew, e.args(v)...)
		if err != nil {
			return false, s.d.mapErr(err)
		}
		n, err := res.RowsAffected()
		return n == 1, err
	}
	for range maxUpsertTries {
		if cond == nil {
			if ok, err := inserted(); err != nil || ok {
				return nil, err
			}
		}
		cur, err := selectOne(ctx, tx, e, s.d.ForUpdate, keys)
		var old *T
		switch {
		case err == nil:
			old = &cur
		case !errors.Is(err, store.ErrNotFound):
			return nil, err
		}
		if cond != nil {
			if err := cond(old); err != nil {
				return nil, err
			}
		}
		if old != nil {
			if _, err := tx.ExecContext(ctx, stmts.update, append(e.args(v), keys...)...); err != nil {
				return nil, s.d.mapErr(err)
			}
			return old, nil
		}
		if cond == nil {
			continue // deleted since the insert collided with it: insert again
		}
		if ok, err := inserted(); err != nil || ok {
			return nil, err
		}
	}
	return nil, fmt.Errorf("lost %d races to write the record", maxUpsertTries)
}

// listTx is list inside a transaction, with an explicit order.
func listTx[T any](ctx context.Context, tx *sql.Tx, e *entity[T], cond, order string, args ...any) ([]T, error) {
	rows, err := tx.QueryContext(ctx, "SELECT "+strings.Join(e.read, ", ")+" FROM "+e.from+" WHERE "+cond+" ORDER BY "+order, args...)
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
}

func nilSlice[E any](v []E) []E {
	if len(v) == 0 {
		return nil
	}
	return v
}

// ownership is the stored object ownership: BucketOwnerEnforced when empty.
func ownership(o string) string {
	if o == "" {
		return store.ObjectOwnershipBucketOwnerEnforced
	}
	return o
}

var buckets = &entity[store.Bucket]{
	what:  "bucket",
	table: "s3_buckets",
	from:  "s3_buckets",
	cols:  []string{"name", "region", "owner", "created_at", "object_ownership", "policy", "acl", "tags", "configurations"},
	read:  []string{"name", "region", "owner", "created_at", "object_ownership", "policy", "acl", "tags", "configurations"},
	key:   []string{"name"},
	order: "name",
	args: func(b store.Bucket) []any {
		return []any{b.Name, b.Region, b.Owner, micros(b.CreatedAt), ownership(b.ObjectOwnership), b.Policy,
			jsonList(b.ACL), jsonList(b.Tags), jsonMap(b.Configurations)}
	},
	scan: func(r row) (store.Bucket, error) {
		var b store.Bucket
		var created sql.NullInt64
		var acl, tags, configs sql.NullString
		err := r.Scan(&b.Name, &b.Region, &b.Owner, &created, &b.ObjectOwnership, &b.Policy, &acl, &tags, &configs)
		b.CreatedAt = timeOf(created)
		b.ACL = decodeJSON[[]store.Grant](acl, "acl", &err)
		b.Tags = decodeJSON[[]store.Tag](tags, "tags", &err)
		b.Configurations = decodeJSON[map[string]string](configs, "configurations", &err)
		return b, err
	},
}

// headerCols are the columns of store.ObjectHeaders, in headerArgs's order.
var headerCols = []string{"content_type", "cache_control", "content_encoding", "content_disposition",
	"content_language", "expires", "storage_class", "metadata", "acl", "tags"}

func headerArgs(h store.ObjectHeaders) []any {
	return []any{h.ContentType, h.CacheControl, h.ContentEncoding, h.ContentDisposition, h.ContentLanguage,
		h.Expires, h.StorageClass, jsonMap(h.Metadata), jsonList(h.ACL), jsonList(h.Tags)}
}

// headerScan holds the scan targets of the header columns.
type headerScan struct {
	h                   store.ObjectHeaders
	metadata, acl, tags sql.NullString
}

func (hs *headerScan) dest() []any {
	h := &hs.h
	return []any{&h.ContentType, &h.CacheControl, &h.ContentEncoding, &h.ContentDisposition, &h.ContentLanguage,
		&h.Expires, &h.StorageClass, &hs.metadata, &hs.acl, &hs.tags}
}

func (hs *headerScan) headers(errp *error) store.ObjectHeaders {
	h := hs.h
	h.Metadata = decodeJSON[map[string]string](hs.metadata, "metadata", errp)
	h.ACL = decodeJSON[[]store.Grant](hs.acl, "acl", errp)
	h.Tags = decodeJSON[[]store.Tag](hs.tags, "tags", errp)
	return h
}

func concat(parts ...[]string) []string {
	var out []string
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

var objectCols = concat([]string{"bucket", "object_key", "size", "etag", "last_modified", "owner"}, headerCols,
	[]string{"checksums", "checksum_type", "part_sizes", "blob_id"})

// objectRead is what is read of an object: its metadata, and whether its
// bytes are in its record (store.Object.Inline).
var objectRead = concat(objectCols, []string{"data IS NOT NULL"})

// objectArgs are the values of objectCols for o, with room for one more.
func objectArgs(o store.Object) []any {
	a := make([]any, 0, len(objectCols)+1)
	a = append(a, o.Bucket, o.Key, o.Size, o.ETag, micros(o.LastModified), o.Owner)
	a = append(a, headerArgs(o.ObjectHeaders)...)
	return append(a, jsonMap(o.Checksums), o.ChecksumType, jsonList(o.PartSizes), o.BlobID)
}

func scanObject(r row) (store.Object, error) { return scanObjectAnd(r) }

// scanObjectAnd scans the objectRead columns and then, into extra, those
// that follow them.
func scanObjectAnd(r row, extra ...any) (store.Object, error) {
	var o store.Object
	var modified sql.NullInt64
	var hs headerScan
	var checksums, partSizes sql.NullString
	dest := []any{&o.Bucket, &o.Key, &o.Size, &o.ETag, &modified, &o.Owner}
	dest = append(dest, hs.dest()...)
	dest = append(dest, &checksums, &o.ChecksumType, &partSizes, &o.BlobID, &o.Inline)
	err := r.Scan(append(dest, extra...)...)
	o.LastModified = timeOf(modified)
	o.ObjectHeaders = hs.headers(&err)
	o.Checksums = decodeJSON[map[string]string](checksums, "checksums", &err)
	o.PartSizes = decodeJSON[[]int64](partSizes, "part_sizes", &err)
	return o, err
}

// objectEntity is an entity of s3_objects that writes cols.
func objectEntity[T any](cols []string, args func(T) []any, scan func(row) (T, error)) *entity[T] {
	return &entity[T]{what: "object", table: "s3_objects", from: "s3_objects", cols: cols, read: objectRead,
		key: []string{"bucket", "object_key"}, order: "bucket, object_key", args: args, scan: scan}
}

// objects writes an object whose bytes are a blob: no bytes in the record,
// dropping those of an inline object it replaces.
var objects = objectEntity(concat(objectCols, []string{"data"}),
	func(o store.Object) []any { return append(objectArgs(o), nil) }, scanObject)

// objectMetadata writes an object's metadata only (UpdateObject): its bytes
// stay where they are.
var objectMetadata = objectEntity(objectCols, objectArgs, scanObject)

// inlineRecord is an object with its bytes, kept in its record.
type inlineRecord struct {
	store.Object
	data []byte
}

// inlineObjects writes an object with its bytes in its record
// (PutObjectInline). An empty object's bytes are an empty, not NULL, value.
var inlineObjects = objectEntity(concat(objectCols, []string{"data"}),
	func(r inlineRecord) []any {
		data := r.data
		if data == nil {
			data = []byte{}
		}
		return append(objectArgs(r.Object), data)
	},
	func(r row) (inlineRecord, error) {
		o, err := scanObject(r)
		return inlineRecord{Object: o}, err
	})

var uploadCols = concat([]string{"upload_id", "bucket", "object_key", "initiated", "initiator", "owner"}, headerCols,
	[]string{"checksum_algorithm", "checksum_type"})

var uploads = &entity[store.MultipartUpload]{
	what:  "multipart upload",
	table: "s3_uploads",
	from:  "s3_uploads",
	cols:  uploadCols,
	read:  uploadCols,
	key:   []string{"bucket", "object_key", "upload_id"},
	order: "bucket, object_key, initiated NULLS FIRST, upload_id",
	args: func(u store.MultipartUpload) []any {
		a := []any{u.UploadID, u.Bucket, u.Key, micros(u.Initiated), u.Initiator, u.Owner}
		a = append(a, headerArgs(u.ObjectHeaders)...)
		return append(a, u.ChecksumAlgorithm, u.ChecksumType)
	},
	scan: func(r row) (store.MultipartUpload, error) {
		var u store.MultipartUpload
		var initiated sql.NullInt64
		var hs headerScan
		dest := []any{&u.UploadID, &u.Bucket, &u.Key, &initiated, &u.Initiator, &u.Owner}
		dest = append(dest, hs.dest()...)
		dest = append(dest, &u.ChecksumAlgorithm, &u.ChecksumType)
		err := r.Scan(dest...)
		u.Initiated = timeOf(initiated)
		u.ObjectHeaders = hs.headers(&err)
		return u, err
	},
}

// parts3 describes s3_parts (named so as not to shadow the many "parts"
// variables).
var parts3 = &entity[store.Part]{
	what:  "part",
	table: "s3_parts",
	from:  "s3_parts",
	cols:  []string{"upload_id", "part_number", "size", "etag", "last_modified", "checksums", "blob_id"},
	read:  []string{"upload_id", "part_number", "size", "etag", "last_modified", "checksums", "blob_id"},
	key:   []string{"upload_id", "part_number"},
	order: "upload_id, part_number",
	args: func(p store.Part) []any {
		return []any{p.UploadID, p.Number, p.Size, p.ETag, micros(p.LastModified), jsonMap(p.Checksums), p.BlobID}
	},
	scan: func(r row) (store.Part, error) {
		var p store.Part
		var modified sql.NullInt64
		var checksums sql.NullString
		err := r.Scan(&p.UploadID, &p.Number, &p.Size, &p.ETag, &modified, &checksums, &p.BlobID)
		p.LastModified = timeOf(modified)
		p.Checksums = decodeJSON[map[string]string](checksums, "checksums", &err)
		return p, err
	},
}
