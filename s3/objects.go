package s3

import (
	"bytes"
	"context"
	"crypto/md5"
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
// S3's default CRC64NVME) is stored with the object. With Config.Inline, a
// body of at most InlineMax bytes is read whole and committed with the
// metadata in one transaction instead.
func (s *Service) putObject(ctx context.Context, o store.Object, body upload, cond func(*store.Object) error) (store.Object, error) {
	id, err := s.newBlobID()
	if err != nil {
		return store.Object{}, err
	}
	var r io.Reader = body
	if s.cfg.Inline != nil {
		bp := s.inlineBufs.Get().(*[]byte)
		defer s.inlineBufs.Put(bp)
		n, eof, err := blob.Fill(ctx, body, *bp)
		if err != nil {
			return store.Object{}, blobPutError(err)
		}
		if eof && n <= s.cfg.InlineMax {
			data := (*bp)[:n]
			sum := md5.Sum(data)
			s.describe(&o, id, int64(n), sum[:], body)
			return s.commitInline(ctx, o, data, cond)
		}
		r = io.MultiReader(bytes.NewReader((*bp)[:n]), body)
	}
	info, err := s.cfg.Blobs.Put(ctx, id, r)
	if err != nil {
		s.deleteBlob(ctx, id) // Put leaves nothing behind; be sure
		return store.Object{}, blobPutError(err)
	}
	s.describe(&o, id, info.Size, info.MD5, body)
	return s.commit(ctx, o, cond)
}

// blobPutError is the error of a PUT whose body could not be read or stored:
// the body's own AWS error (a bad checksum, a short body) as it is.
func blobPutError(err error) error {
	if ae := (*awsapi.Error)(nil); errors.As(err, &ae) {
		return ae
	}
	return fmt.Errorf("s3: put blob: %w", err)
}

// describe fills in what o's bytes, read in full from body, tell: the blob
// ID, size, ETag (the MD5 digest) and checksum.
func (s *Service) describe(o *store.Object, id string, size int64, md5sum []byte, body upload) {
	o.Size, o.BlobID, o.LastModified = size, id, s.now()
	o.ETag = hex.EncodeToString(md5sum)
	alg, value, ok := body.Checksum()
	if !ok {
		alg, value = awsapi.ChecksumCRC64NVME, body.Checksums()[awsapi.ChecksumCRC64NVME]
	}
	o.Checksums, o.ChecksumType = nil, ""
	if value != "" {
		o.Checksums, o.ChecksumType = map[string]string{string(alg): value}, "FULL_OBJECT"
	}
}

// commit stores o, whose blob is written, if cond (when not nil) accepts the
// current object, and deletes the blob of the object it replaced; on failure
// it deletes o's blob.
func (s *Service) commit(ctx context.Context, o store.Object, cond func(*store.Object) error) (store.Object, error) {
	old, err := s.cfg.Store.PutObject(ctx, o, cond)
	if err != nil {
		s.deleteBlob(ctx, o.BlobID)
		return store.Object{}, commitError(o, err)
	}
	if old != nil && old.BlobID != o.BlobID && !old.Inline {
		s.deleteBlob(ctx, old.BlobID)
	}
	return o, nil
}

// commitInline stores o with its bytes, data, in its record, in one
// transaction (see Config.Inline), if cond accepts the current object, and
// deletes the blob of the object it replaced unless its bytes went with it.
func (s *Service) commitInline(ctx context.Context, o store.Object, data []byte, cond func(*store.Object) error) (store.Object, error) {
	old, oldGone, err := s.cfg.Inline.PutObjectInline(ctx, o, data, cond)
	if err != nil {
		return store.Object{}, commitError(o, err)
	}
	if old != nil && old.BlobID != o.BlobID && !oldGone {
		s.deleteBlob(ctx, old.BlobID)
	}
	return o, nil
}

// commitError is the error of a failed commit of o: cond's AWS error as it
// is, NoSuchBucket when the bucket went meanwhile.
func commitError(o store.Object, err error) error {
	if errorsIsAWS(err) {
		return awsapi.AsError(err)
	}
	if errors.Is(err, store.ErrNotFound) {
		return errNoSuchBucket(o.Bucket)
	}
	return fmt.Errorf("s3: put object: %w", err)
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

// openObject returns an object's metadata and a reader of its bytes (see
// OpenObject), or NoSuchKey.
func (s *Service) openObject(ctx context.Context, bucket, key string) (store.Object, blob.Reader, error) {
	o, rd, err := OpenObject(ctx, s.cfg.Store, s.cfg.Blobs, bucket, key)
	if errors.Is(err, store.ErrNotFound) {
		return store.Object{}, nil, errNoSuchKey()
	}
	return o, rd, err
}

// OpenObject returns the record of the object bucket/key in st and a reader
// of its bytes, which the caller closes: the bytes kept in the record
// (store.Object.Inline; st is then a store.InlineObjectStore, which returns
// them with the record), or the blob BlobID of blobs. An object replaced
// between reading its record and opening its blob has lost that blob; its
// record is read again. A missing object is an error wrapping
// store.ErrNotFound.
func OpenObject(ctx context.Context, st store.S3Store, blobs blob.Store, bucket, key string) (store.Object, blob.Reader, error) {
	in, _ := st.(store.InlineObjectStore)
	for range 3 {
		var o store.Object
		var data []byte
		var err error
		if in != nil {
			o, data, err = in.ReadObject(ctx, bucket, key)
		} else {
			o, err = st.GetObject(ctx, bucket, key)
		}
		if err != nil {
			return store.Object{}, nil, fmt.Errorf("s3: get object: %w", err)
		}
		if o.Inline {
			if in == nil {
				return store.Object{}, nil, fmt.Errorf("s3: object %q is kept in its record, which the store (%T) cannot read", bucket+"/"+key, st)
			}
			return o, bytesReader{bytes.NewReader(data)}, nil
		}
		rd, err := blobs.Open(ctx, o.BlobID)
		if errors.Is(err, blob.ErrNotFound) {
			continue // replaced or deleted meanwhile
		}
		if err != nil {
			return store.Object{}, nil, fmt.Errorf("s3: open blob: %w", err)
		}
		return o, rd, nil
	}
	return store.Object{}, nil, fmt.Errorf("s3: open object %q: replaced while it was read, 3 times: %w", bucket+"/"+key, store.ErrNotFound)
}

// objectData reads the bytes kept in the record of the Inline object o: an
// error wrapping store.ErrNotFound when o has been replaced.
func objectData(ctx context.Context, st store.S3Store, o store.Object) ([]byte, error) {
	in, ok := st.(store.InlineObjectStore)
	if !ok {
		return nil, fmt.Errorf("s3: object %q is kept in its record, which the store (%T) cannot read", o.Bucket+"/"+o.Key, st)
	}
	data, err := in.ObjectData(ctx, o.Bucket, o.Key, o.BlobID)
	if err != nil {
		return nil, fmt.Errorf("s3: read object: %w", err)
	}
	return data, nil
}

// bytesReader is a blob.Reader of bytes in memory: an inline object's.
type bytesReader struct{ *bytes.Reader }

// Close implements blob.Reader.
func (bytesReader) Close() error { return nil }

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
	if !o.Inline {
		s.deleteBlob(ctx, o.BlobID)
	}
	return nil
}

// copyObject copies the bytes of src into a new blob (or, for an inline src,
// a new inline object) and commits dst (its Bucket, Key, Owner and
// ObjectHeaders filled by the caller) with src's size, ETag and checksums.
// The copy of a blob streams (blob.Store.Concat).
func (s *Service) copyObject(ctx context.Context, src, dst store.Object) (store.Object, error) {
	id, err := s.newBlobID()
	if err != nil {
		return store.Object{}, err
	}
	dst.BlobID, dst.LastModified = id, s.now()
	dst.ETag, dst.Checksums, dst.ChecksumType, dst.PartSizes = src.ETag, src.Checksums, src.ChecksumType, src.PartSizes
	if src.Inline {
		data, err := objectData(ctx, s.cfg.Store, src)
		if errors.Is(err, store.ErrNotFound) {
			return store.Object{}, errNoSuchKey() // replaced or deleted meanwhile
		}
		if err != nil {
			return store.Object{}, err
		}
		dst.Size = int64(len(data))
		if s.cfg.Inline != nil && len(data) <= s.cfg.InlineMax {
			return s.commitInline(ctx, dst, data, nil)
		}
		if _, err := s.cfg.Blobs.Put(ctx, id, bytes.NewReader(data)); err != nil {
			s.deleteBlob(ctx, id)
			return store.Object{}, fmt.Errorf("s3: copy blob: %w", err)
		}
		return s.commit(ctx, dst, nil)
	}
	info, err := s.cfg.Blobs.Concat(ctx, id, src.BlobID)
	if errors.Is(err, blob.ErrNotFound) {
		return store.Object{}, errNoSuchKey() // replaced or deleted meanwhile
	}
	if err != nil {
		s.deleteBlob(ctx, id)
		return store.Object{}, fmt.Errorf("s3: copy blob: %w", err)
	}
	dst.Size = info.Size
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
