package s3

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"unicode/utf8"

	"github.com/keyless-dev/keyless/awsapi"
	"github.com/keyless-dev/keyless/blob"
	"github.com/keyless-dev/keyless/s3/listing"
	"github.com/keyless-dev/keyless/store"
)

// CheckKey returns KeyTooLongError for a key over MaxKeyLen bytes, and
// InvalidArgument for an empty key or one that is not UTF-8 or holds NUL.
// Any other bytes ("../", Unicode, spaces) are just key bytes.
func CheckKey(key string) error {
	if len(key) > MaxKeyLen {
		return errKeyTooLong()
	}
	if key == "" || !utf8.ValidString(key) {
		return errInvalidKey()
	}
	for i := 0; i < len(key); i++ {
		if key[i] == 0 {
			return errInvalidKey()
		}
	}
	return nil
}

// upload is a verified object body: a PayloadReader, or its test stand-in.
type upload interface {
	io.Reader
	Checksum() (alg awsapi.ChecksumAlgorithm, value string, ok bool)
	Checksums() awsapi.Checksums
}

// putObject streams body into a new blob and commits o (whose Bucket, Key,
// Owner and ObjectHeaders the caller filled) over the key's current object.
// When the body fails its checks, or the commit fails, nothing is stored and
// the new blob is removed. The checksum the client sent (or, without one,
// S3's default CRC64NVME) is stored with the object.
func (s *Service) putObject(ctx context.Context, o store.Object, body upload, cond func(*store.Object) error) (store.Object, error) {
	id, err := s.newBlobID()
	if err != nil {
		return store.Object{}, err
	}
	info, err := s.cfg.Blobs.Put(ctx, id, body)
	if err != nil {
		s.deleteBlob(ctx, id) // Put leaves nothing behind; be sure
		if ae := (*awsapi.Error)(nil); errors.As(err, &ae) {
			return store.Object{}, ae
		}
		return store.Object{}, fmt.Errorf("s3: put blob: %w", err)
	}
	o.Size, o.BlobID, o.LastModified = info.Size, id, s.now()
	o.ETag = hex.EncodeToString(info.MD5)
	alg, value, ok := body.Checksum()
	if !ok {
		alg, value = awsapi.ChecksumCRC64NVME, body.Checksums()[awsapi.ChecksumCRC64NVME]
	}
	o.Checksums, o.ChecksumType = nil, ""
	if value != "" {
		o.Checksums, o.ChecksumType = map[string]string{string(alg): value}, "FULL_OBJECT"
	}
	return s.commit(ctx, o, cond)
}

// commit stores o, whose blob is written, if cond (when not nil) accepts the
// current object, and deletes the blob of the object it replaced; on failure
// it deletes o's blob.
func (s *Service) commit(ctx context.Context, o store.Object, cond func(*store.Object) error) (store.Object, error) {
	old, err := s.cfg.Store.PutObject(ctx, o, cond)
	if err != nil {
		s.deleteBlob(ctx, o.BlobID)
		if errorsIsAWS(err) {
			return store.Object{}, awsapi.AsError(err)
		}
		if errors.Is(err, store.ErrNotFound) {
			return store.Object{}, errNoSuchBucket(o.Bucket)
		}
		return store.Object{}, fmt.Errorf("s3: put object: %w", err)
	}
	if old != nil && old.BlobID != o.BlobID {
		s.deleteBlob(ctx, old.BlobID)
	}
	return o, nil
}

// object returns an object's metadata, or NoSuchKey.
func (s *Service) object(ctx context.Context, bucket, key string) (store.Object, error) {
	o, err := s.cfg.Store.GetObject(ctx, bucket, key)
	if errors.Is(err, store.ErrNotFound) {
		return store.Object{}, errNoSuchKey()
	}
	if err != nil {
		return store.Object{}, fmt.Errorf("s3: get object: %w", err)
	}
	return o, nil
}

// openObject returns an object's metadata and a reader of its bytes, which
// the caller closes. A concurrent overwrite may delete the blob between the
// two reads; the metadata is then read again.
func (s *Service) openObject(ctx context.Context, bucket, key string) (store.Object, blob.Reader, error) {
	for range 3 {
		o, err := s.object(ctx, bucket, key)
		if err != nil {
			return store.Object{}, nil, err
		}
		rd, err := s.cfg.Blobs.Open(ctx, o.BlobID)
		if errors.Is(err, blob.ErrNotFound) {
			continue
		}
		if err != nil {
			return store.Object{}, nil, fmt.Errorf("s3: open blob: %w", err)
		}
		return o, rd, nil
	}
	return store.Object{}, nil, errNoSuchKey()
}

// deleteObject deletes an object and its blob; a missing object is no error
// (S3's DeleteObject is idempotent).
func (s *Service) deleteObject(ctx context.Context, bucket, key string) error {
	o, err := s.cfg.Store.DeleteObject(ctx, bucket, key, nil)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("s3: delete object: %w", err)
	}
	s.deleteBlob(ctx, o.BlobID)
	return nil
}

// copyObject copies the bytes of src into a new blob and commits dst (its
// Bucket, Key, Owner and ObjectHeaders filled by the caller) with src's
// size, ETag and checksums. The copy streams (blob.Store.Concat).
func (s *Service) copyObject(ctx context.Context, src, dst store.Object) (store.Object, error) {
	id, err := s.newBlobID()
	if err != nil {
		return store.Object{}, err
	}
	info, err := s.cfg.Blobs.Concat(ctx, id, src.BlobID)
	if errors.Is(err, blob.ErrNotFound) {
		return store.Object{}, errNoSuchKey() // replaced or deleted meanwhile
	}
	if err != nil {
		s.deleteBlob(ctx, id)
		return store.Object{}, fmt.Errorf("s3: copy blob: %w", err)
	}
	dst.Size, dst.BlobID, dst.LastModified = info.Size, id, s.now()
	dst.ETag, dst.Checksums, dst.ChecksumType, dst.PartSizes = src.ETag, src.Checksums, src.ChecksumType, src.PartSizes
	return s.commit(ctx, dst, nil)
}

// listObjects returns one page of a bucket's objects.
func (s *Service) listObjects(ctx context.Context, bucket string, p listing.Params) (listing.Page[store.Object], error) {
	scan := func(ctx context.Context, r listing.Range, limit int) ([]store.Object, error) {
		return s.cfg.Store.ScanObjects(ctx, bucket, store.KeyRange(r), limit)
	}
	page, err := listing.List(ctx, p, func(o store.Object) string { return o.Key }, scan)
	if err != nil {
		return page, fmt.Errorf("s3: list objects: %w", err)
	}
	return page, nil
}
