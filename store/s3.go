package store

import (
	"context"
	"errors"
	"time"
)

// ErrNotEmpty means a bucket still holds objects and cannot be deleted.
var ErrNotEmpty = errors.New("not empty")

// ObjectOwnershipBucketOwnerEnforced is S3's default object ownership (since
// April 2023): ACLs are disabled and the bucket owner owns every object.
// CreateBucket stores it when the bucket's ObjectOwnership is empty.
const ObjectOwnershipBucketOwnerEnforced = "BucketOwnerEnforced"

// S3Store keeps the metadata of the local S3 service: buckets, objects and
// multipart uploads with their parts. The bytes of objects and parts live in a
// blob.Store under the BlobID each record names; this interface never touches
// them. Methods that drop a record return it, so that the caller can delete
// its blob after the metadata change is committed.
//
// Conventions, beyond Store's (store/storetest checks them): keys are valid
// UTF-8 without NUL (S3's rule; the service validates them), ordered by their
// bytes; a bucket name is unique across accounts; creating an object, upload
// or part whose bucket or upload is missing gives ErrNotFound; maps with no
// entries read back as nil.
type S3Store interface {
	// Buckets, keyed by name.
	CreateBucket(ctx context.Context, b Bucket) error
	GetBucket(ctx context.Context, name string) (Bucket, error)
	// ListBuckets returns all buckets (of every owner) ordered by name.
	ListBuckets(ctx context.Context) ([]Bucket, error)
	// UpdateBucket replaces a bucket with what fn returns, in a transaction;
	// fn may not rename it (an error).
	UpdateBucket(ctx context.Context, name string, fn func(Bucket) (Bucket, error)) error
	// DeleteBucket deletes an empty bucket, with its multipart uploads in
	// progress, and returns their parts; a bucket that holds objects gives
	// ErrNotEmpty.
	DeleteBucket(ctx context.Context, name string) ([]Part, error)

	// PutObject creates or replaces the object o.Bucket/o.Key in a
	// transaction that first passes the current object (nil when there is
	// none) to cond, if cond is not nil; an error from cond aborts the write
	// and is returned (wrapped). It returns the object it replaced, or nil.
	PutObject(ctx context.Context, o Object, cond func(cur *Object) error) (*Object, error)
	GetObject(ctx context.Context, bucket, key string) (Object, error)
	// UpdateObject replaces an object's metadata with what fn returns, in a
	// transaction (ACLs, tags); its bytes stay, and fn may not change its
	// bucket, key, BlobID or Inline (an error).
	UpdateObject(ctx context.Context, bucket, key string, fn func(Object) (Object, error)) error
	// DeleteObject deletes an object, if cond (when not nil) accepts it, and
	// returns it; ErrNotFound if there is none.
	DeleteObject(ctx context.Context, bucket, key string, cond func(cur Object) error) (Object, error)
	// ScanObjects returns at most limit (> 0) objects of a bucket whose keys
	// are in r, ordered by key: the primitive that package s3/listing builds
	// ListObjects and ListObjectsV2 on. An unknown bucket has no objects.
	ScanObjects(ctx context.Context, bucket string, r KeyRange, limit int) ([]Object, error)

	// Multipart uploads, keyed by upload ID and addressed by bucket, key and
	// upload ID: an upload under another bucket or key is not found.
	CreateMultipartUpload(ctx context.Context, u MultipartUpload) error
	GetMultipartUpload(ctx context.Context, bucket, key, uploadID string) (MultipartUpload, error)
	// ListMultipartUploads returns a bucket's uploads in progress whose key
	// has prefix, ordered by key, then initiation time, then upload ID.
	ListMultipartUploads(ctx context.Context, bucket, prefix string) ([]MultipartUpload, error)
	// PutPart creates or replaces part p.Number of upload p.UploadID and
	// returns the part it replaced, or nil; ErrNotFound if the upload is gone.
	PutPart(ctx context.Context, p Part) (*Part, error)
	// ListParts returns an upload's parts ordered by number; none for an
	// unknown upload.
	ListParts(ctx context.Context, uploadID string) ([]Part, error)
	// CompleteMultipartUpload, in one transaction, checks that the upload
	// exists (ErrNotFound), runs cond on the current object as PutObject does,
	// stores o as the object of the upload's bucket and key, and deletes the
	// upload with its parts. It returns the object replaced (or nil) and all
	// the parts the upload had, whose blobs the caller may now delete.
	CompleteMultipartUpload(ctx context.Context, uploadID string, o Object, cond func(cur *Object) error) (*Object, []Part, error)
	// AbortMultipartUpload deletes an upload with its parts and returns the
	// parts; ErrNotFound if the upload is not there.
	AbortMultipartUpload(ctx context.Context, bucket, key, uploadID string) ([]Part, error)
}

// BlobStore keeps small blobs in the database: the bytes of small S3 objects
// and parts, which cost a row there instead of a file each on disk (package
// blob/tiered puts blobs up to a threshold here and bigger ones in a
// blob.Store). Keys are blob keys: opaque byte strings of 1 to 4,096 bytes,
// NUL and invalid UTF-8 included; the caller checks them (blob.CheckKey).
// A blob is written, read and deleted whole; it is not meant for more than a
// few hundred KiB. Writes are as durable as the backend's other writes, so
// an object's inline bytes and its metadata survive (or not) together.
//
// Conventions, beyond Store's (store/storetest.RunBlobs checks them): an empty
// blob is stored and reads back as nil with no error; distinct keys, however
// similar (case, a trailing NUL, a 4,096-byte key and its prefix), are
// distinct blobs.
type BlobStore interface {
	// PutBlob creates or replaces the blob under key, atomically.
	PutBlob(ctx context.Context, key string, data []byte) error
	// GetBlob returns the blob under key, or an error wrapping ErrNotFound.
	GetBlob(ctx context.Context, key string) ([]byte, error)
	// DeleteBlob removes the blob under key, or returns an error wrapping
	// ErrNotFound if there is none.
	DeleteBlob(ctx context.Context, key string) error
}

// InlineObjectStore is a BlobStore that keeps a small object's bytes in the
// object's record, written with its metadata in one transaction: a PUT costs
// one commit and no blob.
type InlineObjectStore interface {
	BlobStore
	// PutObjectInline is S3Store.PutObject of o with data as its bytes, kept
	// in its record: the object reads back Inline, and o.BlobID, which names
	// no blob, tells this write from a later one (ObjectData). In the same
	// transaction it drops the bytes of the object it replaces when they were
	// kept here (in that record, or as a blob of this BlobStore), and reports
	// whether it did (oldBlobGone), so that the caller deletes the old blob
	// only when it lives elsewhere.
	PutObjectInline(ctx context.Context, o Object, data []byte, cond func(cur *Object) error) (old *Object, oldBlobGone bool, err error)
	// ReadObject is S3Store.GetObject that also returns, in the same read,
	// the bytes of an Inline object (an empty one's as nil); nil for another.
	ReadObject(ctx context.Context, bucket, key string) (Object, []byte, error)
	// ObjectData returns the bytes of the Inline object bucket/key whose
	// BlobID is blobID (an empty object's as nil), or an error wrapping
	// ErrNotFound when that object has been deleted or replaced.
	ObjectData(ctx context.Context, bucket, key, blobID string) ([]byte, error)
}

// KeyRange selects object keys by byte order: those after From (from From on
// when Inclusive) and before To; an empty To sets no upper bound.
type KeyRange struct {
	From      string
	Inclusive bool
	To        string
}

// Grantee is who an ACL grant is for: a canonical user (ID), a predefined
// group (URI) or, in requests only, an e-mail address.
type Grantee struct {
	Type        string `json:"type"` // CanonicalUser, Group or AmazonCustomerByEmail
	ID          string `json:"id,omitempty"`
	DisplayName string `json:"display_name,omitempty"`
	URI         string `json:"uri,omitempty"`
	Email       string `json:"email,omitempty"`
}

// Grant is one entry of an S3 access control list.
type Grant struct {
	Grantee    Grantee `json:"grantee"`
	Permission string  `json:"permission"` // FULL_CONTROL, READ, WRITE, READ_ACP, WRITE_ACP
}

// Bucket is an S3 bucket.
type Bucket struct {
	Name      string
	Region    string
	Owner     string // the owner's account ID
	CreatedAt time.Time
	// ObjectOwnership is BucketOwnerEnforced (stored when empty),
	// BucketOwnerPreferred or ObjectWriter.
	ObjectOwnership string
	Policy          string  // the bucket policy, JSON as given; empty for none
	ACL             []Grant // used when ObjectOwnership allows ACLs
	Tags            []Tag
	// Configurations are the bucket's other subresources (cors, website,
	// lifecycle, versioning, encryption, publicAccessBlock, …) by name, each
	// the document the service stores for it.
	Configurations map[string]string
}

// ObjectHeaders are the attributes of an object that its writer sets: those
// of PutObject, and of CreateMultipartUpload for the object it will complete.
type ObjectHeaders struct {
	ContentType        string
	CacheControl       string
	ContentEncoding    string
	ContentDisposition string
	ContentLanguage    string
	Expires            string // the Expires header as given
	StorageClass       string // STANDARD when empty, as S3 reports it
	// Metadata is the user metadata: x-amz-meta-* headers by name without the
	// prefix, lower case.
	Metadata map[string]string
	ACL      []Grant
	Tags     []Tag
}

// Object is the metadata of one S3 object (unversioned: one per key).
type Object struct {
	Bucket       string
	Key          string
	Size         int64
	ETag         string // without quotes: hex MD5, or hex MD5 of part MD5s and "-N"
	LastModified time.Time
	Owner        string // account ID
	ObjectHeaders
	// Checksums are the object's checksums by algorithm (CRC32, CRC32C,
	// CRC64NVME, SHA1, SHA256), base64 as S3 reports them.
	Checksums    map[string]string
	ChecksumType string // FULL_OBJECT or COMPOSITE; empty without checksums
	// PartSizes are the sizes of the parts of an object a multipart upload
	// completed, in order (GetObject's partNumber); nil for other objects.
	PartSizes []int64
	BlobID    string // the blob holding the bytes; with Inline, an ID of this write only
	// Inline is set when the bytes are kept with the record
	// (InlineObjectStore.PutObjectInline): read them with ObjectData.
	Inline bool
}

// MultipartUpload is an S3 multipart upload in progress.
type MultipartUpload struct {
	UploadID  string
	Bucket    string
	Key       string
	Initiated time.Time
	Initiator string // the ARN of the caller that created it
	Owner     string // account ID
	ObjectHeaders
	ChecksumAlgorithm string
	ChecksumType      string
}

// Part is one uploaded part of a multipart upload.
type Part struct {
	UploadID     string
	Number       int // 1 to 10,000
	Size         int64
	ETag         string // without quotes
	LastModified time.Time
	Checksums    map[string]string
	BlobID       string
}
