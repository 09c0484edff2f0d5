// Package s3 serves the part of the Amazon S3 API (REST-XML, signing name s3)
// that deploying and serving a static site needs, wire compatible with the
// official SDKs and the AWS CLI: buckets (CreateBucket, HeadBucket,
// ListBuckets, DeleteBucket, GetBucketLocation) and objects (PutObject,
// GetObject, HeadObject, DeleteObject, DeleteObjects, ListObjectsV2,
// ListObjects, CopyObject), bucket policies (PutBucketPolicy,
// GetBucketPolicy, DeleteBucketPolicy), with S3's XML shapes, headers, error
// codes and HTTP statuses.
//
// The package is split in two sides. The handler (handler.go, xml.go) routes a
// path-style request, decodes and validates it, authorizes the caller and
// encodes the result. The core (service.go, objects.go) applies S3's rules
// over a store.S3Store (the metadata) and a blob.Store (the bytes): every
// object version is written under a fresh blob ID, its metadata committed,
// and only then the blob it replaced deleted, so that readers never see a mix
// and a failed upload leaves nothing behind. Object bodies stream: they are
// never held in memory whole.
//
// Callers are authenticated (SigV4) by the server in front of the handler,
// which passes the verified *awsapi.Auth in (nil for an anonymous request);
// this package checks the payload as it streams (awsapi.NewPayloadReader),
// authorizes every call through an Authorizer with the S3 action, resource
// ARN, condition keys and bucket policy, and records it through an Auditor.
package s3

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/keyless-dev/keyless/audit"
	"github.com/keyless-dev/keyless/awsapi"
	"github.com/keyless-dev/keyless/blob"
	"github.com/keyless-dev/keyless/store"
)

// Namespace is the XML namespace of S3 documents.
const Namespace = "http://s3.amazonaws.com/doc/2006-03-01/"

// S3's limits.
const (
	// MaxKeyLen is the longest object key, in bytes of UTF-8.
	MaxKeyLen = 1024
	// MaxObjectSize is the largest object a single PutObject uploads (5 GiB).
	MaxObjectSize = 5 << 30
	// MaxMetadataSize bounds the user metadata of an object (names and
	// values of the x-amz-meta-* headers), in bytes.
	MaxMetadataSize = 2 << 10
	// MaxDeleteObjects is the most keys one DeleteObjects request names.
	MaxDeleteObjects = 1000
	// maxXMLBody bounds the XML request bodies (DeleteObjects of 1,000 keys
	// of 1,024 bytes fits).
	maxXMLBody = 2 << 20
)

// Authorizer decides whether the caller of a request may perform action
// ("s3:GetObject") on resource ("arn:aws:s3:::bucket/key", or
// "arn:aws:s3:::bucket" for bucket actions, "*" for ListAllMyBuckets). The
// conditions are the S3 condition keys of the request (s3:prefix,
// s3:delimiter, s3:max-keys, s3:x-amz-acl, s3:x-amz-copy-source,
// s3:x-amz-metadata-directive, s3:x-amz-content-sha256, s3:authType,
// s3:signatureversion), with the shape of policy.Context; the global keys
// (aws:SourceIp, aws:SecureTransport, …) are the Authorizer's to add.
// bucketPolicy is the policy of the resource's bucket, the JSON document as
// PutBucketPolicy stored it ("" when it has none, or for "*"): the Authorizer
// evaluates it with the caller's policies. The caller is anonymous when the
// request was not signed (Serve's auth is nil): only the bucket policy can
// allow it. The server implements it with authz, finding the caller in ctx.
// Authorize returns nil to allow, a *Denial (or an *awsapi.Error with code
// AccessDenied) to deny, and any other error when it could not decide (the
// client then gets InternalError).
type Authorizer interface {
	Authorize(ctx context.Context, action, resource string, conditions map[string][]string, bucketPolicy string) error
}

// AuthorizerFunc adapts a function to Authorizer.
type AuthorizerFunc func(ctx context.Context, action, resource string, conditions map[string][]string, bucketPolicy string) error

// Authorize calls f.
func (f AuthorizerFunc) Authorize(ctx context.Context, action, resource string, conditions map[string][]string, bucketPolicy string) error {
	return f(ctx, action, resource, conditions, bucketPolicy)
}

// Auditor records the outcome of every call; *audit.Recorder implements it.
type Auditor interface {
	Record(audit.Event)
}

// Identity is who made a request, for audit events.
type Identity struct {
	// Caller is the caller's ARN.
	Caller string
	// SourceIP is the caller's address.
	SourceIP string
}

// Denial is an authorization refusal with what decided it, for the audit
// event. An Authorizer returns it (or an *awsapi.Error with code AccessDenied)
// to deny a call; Message is sent to the client as the AccessDenied message
// (S3 says "Access Denied" when it is empty).
type Denial struct {
	Message string
	// Statement and Condition name the deciding policy statement and failed
	// condition, if any; Reason is a short explanation. They are audited only.
	Statement string
	Condition string
	Reason    string
}

// Error returns the message.
func (d *Denial) Error() string { return "AccessDenied: " + d.Message }

// Config configures a Service.
type Config struct {
	// Store keeps buckets and object metadata. Required.
	Store store.S3Store
	// Blobs keeps object bytes. Required.
	Blobs blob.Store
	// Region is the region the service answers for (default us-east-1):
	// CreateBucket's location constraint must name it.
	Region string
	// Account is the 12-digit account ID that owns the buckets created.
	Account string
	// Authorizer authorizes every call. Required.
	Authorizer Authorizer
	// Audit records every call. May be nil (no events).
	Audit Auditor
	// Identify tells who made a request, for audit events. May be nil.
	Identify func(ctx context.Context) Identity
	// Logger logs internal failures. May be nil.
	Logger *slog.Logger
	// Now is the clock (default time.Now).
	Now func() time.Time
	// BucketCacheTTL is how long a bucket read from Store is reused (0:
	// DefaultBucketCacheTTL; negative: never). The service's own changes to
	// a bucket take effect at once.
	BucketCacheTTL time.Duration
	// Rand is the source of request and blob IDs (default crypto/rand.Reader).
	Rand io.Reader
	// Inline, when set, keeps the bytes of objects of at most InlineMax bytes
	// in their records, written with their metadata in one transaction (their
	// BlobID names no blob). It should be Store, and InlineMax the threshold
	// of Blobs when that keeps small blobs in the same store (blob/tiered), so
	// that an object Blobs would keep in the database goes in its record.
	Inline store.InlineObjectStore
	// InlineMax is the size, in bytes, up to which Inline keeps an object's
	// bytes: 0 to MaxInline.
	InlineMax int
}

// MaxInline is the largest Config.InlineMax: an inline object is read whole
// into memory before it is stored.
const MaxInline = 1 << 20

// Service is the S3 API over a metadata store and a blob store. It is safe
// for concurrent use.
type Service struct {
	cfg     Config
	ids     *awsapi.RequestIDs
	ownerID string // the canonical user ID of Account

	randMu     sync.Mutex // guards cfg.Rand
	buckets    bucketCache
	inlineBufs sync.Pool // *[]byte of InlineMax+1 bytes, for bodies that may be inline
}

// New returns the service, or an error when the configuration is invalid.
func New(cfg Config) (*Service, error) {
	if cfg.Store == nil || cfg.Blobs == nil {
		return nil, errors.New("s3: a Store and a blob Store are required")
	}
	if cfg.Authorizer == nil {
		return nil, errors.New("s3: an Authorizer is required")
	}
	if cfg.Region == "" {
		cfg.Region = "us-east-1"
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Rand == nil {
		cfg.Rand = rand.Reader
	}
	ids, err := awsapi.NewRequestIDs(cfg.Rand)
	if err != nil {
		return nil, fmt.Errorf("s3: %w", err)
	}
	if cfg.InlineMax < 0 || cfg.InlineMax > MaxInline {
		return nil, fmt.Errorf("s3: InlineMax %d bytes out of range: give 0 to %d", cfg.InlineMax, MaxInline)
	}
	ttl := cfg.BucketCacheTTL
	if ttl == 0 {
		ttl = DefaultBucketCacheTTL
	}
	s := &Service{cfg: cfg, ids: ids, ownerID: CanonicalUserID(cfg.Account), buckets: bucketCache{ttl: max(ttl, 0)}}
	n := cfg.InlineMax + 1
	s.inlineBufs.New = func() any {
		b := make([]byte, n)
		return &b
	}
	return s, nil
}

// CanonicalUserID is the S3 canonical user ID keyless gives an account: 64
// hex digits, as S3's are, derived from the account ID.
func CanonicalUserID(account string) string {
	sum := sha256.Sum256([]byte("keyless-s3-canonical-user:" + account))
	return hex.EncodeToString(sum[:])
}

// newBlobID returns a fresh random blob key.
func (s *Service) newBlobID() (string, error) {
	var b [16]byte
	s.randMu.Lock()
	_, err := io.ReadFull(s.cfg.Rand, b[:])
	s.randMu.Unlock()
	if err != nil {
		return "", fmt.Errorf("s3: blob id: %w", err)
	}
	return "obj/" + hex.EncodeToString(b[:]), nil
}

// now is the current time at S3's precision for LastModified (seconds).
func (s *Service) now() time.Time { return s.cfg.Now().UTC().Truncate(time.Second) }

// deleteBlob removes a blob whose metadata is gone; a failure only leaks
// storage, so it is logged, not returned.
func (s *Service) deleteBlob(ctx context.Context, id string) {
	if id == "" {
		return
	}
	if err := s.cfg.Blobs.Delete(context.WithoutCancel(ctx), id); err != nil && !errors.Is(err, blob.ErrNotFound) && s.cfg.Logger != nil {
		s.cfg.Logger.Warn("s3: delete blob", "blob", id, "err", err)
	}
}

// Buckets.

// ValidBucketName reports whether name follows S3's general purpose bucket
// naming rules: 3 to 63 lower-case letters, digits, dots and hyphens,
// starting and ending with a letter or digit, no two adjacent dots, not an
// IPv4 address, and none of the reserved prefixes and suffixes.
func ValidBucketName(name string) bool {
	if len(name) < 3 || len(name) > 63 {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		alnum := c >= 'a' && c <= 'z' || c >= '0' && c <= '9'
		if !alnum && c != '.' && c != '-' || (i == 0 || i == len(name)-1) && !alnum {
			return false
		}
	}
	if strings.Contains(name, "..") || net.ParseIP(name) != nil {
		return false
	}
	for _, p := range []string{"xn--", "sthree-", "amzn-s3-demo-"} {
		if strings.HasPrefix(name, p) {
			return false
		}
	}
	for _, sfx := range []string{"-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3"} {
		if strings.HasSuffix(name, sfx) {
			return false
		}
	}
	return true
}

// updateBucket changes a bucket in the store (see store.S3Store.UpdateBucket)
// and in the service's cache.
func (s *Service) updateBucket(ctx context.Context, name string, fn func(store.Bucket) (store.Bucket, error)) error {
	defer s.buckets.changed(name)
	return s.cfg.Store.UpdateBucket(ctx, name, fn)
}

// createBucket creates bucket name in region with the given object
// ownership (validated by the caller).
func (s *Service) createBucket(ctx context.Context, name, region, ownership string) error {
	b := store.Bucket{Name: name, Region: region, Owner: s.cfg.Account, CreatedAt: s.now(), ObjectOwnership: ownership}
	err := s.cfg.Store.CreateBucket(ctx, b)
	s.buckets.changed(name)
	if errors.Is(err, store.ErrAlreadyExists) {
		cur, gerr := s.cfg.Store.GetBucket(ctx, name)
		if gerr == nil && cur.Owner == s.cfg.Account {
			return errBucketAlreadyOwnedByYou(name)
		}
		return errBucketAlreadyExists(name)
	}
	if err != nil {
		return fmt.Errorf("s3: create bucket: %w", err)
	}
	return nil
}

// bucket returns a bucket, or NoSuchBucket.
func (s *Service) bucket(c *call, name string) (store.Bucket, error) {
	b, ok, err := s.loadBucket(c, name)
	if err != nil {
		return store.Bucket{}, fmt.Errorf("s3: get bucket: %w", err)
	}
	if !ok {
		return store.Bucket{}, errNoSuchBucket(name)
	}
	return b, nil
}

// loadBucket reads a bucket once per call (ok false when there is none): the
// authorization (its policy) and the handler share the read. A call that
// changes its bucket does so last, so nothing reads a stale record.
func (s *Service) loadBucket(c *call, name string) (b store.Bucket, ok bool, err error) {
	if cached, seen := c.buckets[name]; seen {
		if cached == nil {
			return store.Bucket{}, false, nil
		}
		return *cached, true, nil
	}
	b, ok, err = s.buckets.get(c.ctx, s.cfg.Store, name)
	if err != nil {
		return store.Bucket{}, false, err
	}
	if c.buckets == nil {
		c.buckets = map[string]*store.Bucket{}
	}
	c.buckets[name] = nil
	if ok {
		c.buckets[name] = &b
	}
	return b, ok, nil
}

// listBuckets returns the buckets of the service's account, by name.
func (s *Service) listBuckets(ctx context.Context) ([]store.Bucket, error) {
	all, err := s.cfg.Store.ListBuckets(ctx)
	if err != nil {
		return nil, fmt.Errorf("s3: list buckets: %w", err)
	}
	var mine []store.Bucket
	for _, b := range all {
		if b.Owner == s.cfg.Account {
			mine = append(mine, b)
		}
	}
	return mine, nil
}

// deleteBucket deletes an empty bucket and the blobs of its abandoned
// multipart uploads.
func (s *Service) deleteBucket(ctx context.Context, name string) error {
	parts, err := s.cfg.Store.DeleteBucket(ctx, name)
	s.buckets.changed(name)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return errNoSuchBucket(name)
	case errors.Is(err, store.ErrNotEmpty):
		return errBucketNotEmpty(name)
	case err != nil:
		return fmt.Errorf("s3: delete bucket: %w", err)
	}
	for _, p := range parts {
		s.deleteBlob(ctx, p.BlobID)
	}
	return nil
}
