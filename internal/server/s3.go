package server

import (
	"context"
	"crypto/rand"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/keyless-dev/keyless/authn"
	"github.com/keyless-dev/keyless/authz"
	"github.com/keyless-dev/keyless/awsapi"
	"github.com/keyless-dev/keyless/blob"
	"github.com/keyless-dev/keyless/blob/fs"
	"github.com/keyless-dev/keyless/blob/tiered"
	"github.com/keyless-dev/keyless/gateway"
	"github.com/keyless-dev/keyless/policy"
	"github.com/keyless-dev/keyless/s3"
	"github.com/keyless-dev/keyless/store"
)

// S3Region is the region the S3 service answers for.
const S3Region = "us-east-1"

// blobsDir is the directory of the S3 objects' bytes inside the data directory.
const blobsDir = "blobs"

// staleBlobAge is how old a temporary blob file must be for the start-up sweep
// to delete it. The data directory is locked, so no other process writes
// there; the margin only guards against clock steps.
const staleBlobAge = time.Minute

// newBlobs builds the blob store of the S3 objects' bytes, which the S3
// service writes and the edge reads: files in DIR/blobs, and, when the server's
// store keeps blobs (store.BlobStore: SQLite and PostgreSQL do), the small ones
// inline in the store instead (blob/tiered), which costs a small PUT a row
// rather than a file. Objects written as files before stay readable. It first
// removes the temporary files a killed server left in DIR/blobs.
func (s *Server) newBlobs(ctx context.Context) (blob.Store, error) {
	dir := filepath.Join(s.dataDir, blobsDir)
	if !exists(dir) {
		// Removed (if empty) with the data directory when the start fails.
		s.createdDirs = append([]string{dir}, s.createdDirs...)
	}
	files, err := fs.New(dir)
	if err != nil {
		return nil, fmt.Errorf("s3: %w", err)
	}
	// File times are the real clock's, whatever s.now says.
	if n, err := files.RemoveStale(ctx, time.Now().Add(-staleBlobAge)); err != nil {
		return nil, fmt.Errorf("s3: %w", err)
	} else if n > 0 {
		s.log.Info("removed temporary S3 blob files left by an earlier run", "count", n, "dir", dir)
	}
	inline, ok := s.st.(store.BlobStore)
	if !ok {
		return files, nil
	}
	blobs, err := tiered.New(files, inline)
	if err != nil {
		return nil, fmt.Errorf("s3: %w", err)
	}
	return blobs, nil
}

// newS3 builds the S3 service: object metadata in the server's store, bytes in
// blobs (newBlobs), every call authorized through the policy engine and audited.
func (s *Server) newS3(authorizer *authz.Authorizer, blobs blob.Store) (*s3.Service, error) {
	meta, ok := s.st.(store.S3Store)
	if !ok {
		return nil, fmt.Errorf("s3: the store (%T) does not keep S3 metadata", s.st)
	}
	cfg := s3.Config{
		Store:      meta,
		Blobs:      blobs,
		Region:     S3Region,
		Account:    s.cfg.AccountID,
		Authorizer: s3Authorizer{authorizer},
		Audit:      s.auditor(), // metrics.go: counts the requests
		Identify:   identifyS3,
		Logger:     s.log,
		Now:        s.now,
		Rand:       rand.Reader,
	}
	if t, ok := blobs.(*tiered.Store); ok {
		if inline, ok := s.st.(store.InlineObjectStore); ok {
			// Small objects: bytes and metadata in one transaction.
			cfg.Inline, cfg.InlineMax = inline, t.Threshold()
		}
	}
	svc, err := s3.New(cfg)
	if err != nil {
		return nil, fmt.Errorf("s3: %w", err)
	}
	return svc, nil
}

// s3Handler serves the S3 requests the gateway routes to the service: those
// signed for s3, addressed path style (/bucket/key), and those whose Host is a
// virtual host (bucket.s3.localhost), signed or not. Unsigned requests are
// served anonymously (a nil Auth): only a bucket policy can allow them, such
// as a public-read one with Principal "*".
type s3Handler struct{ svc *s3.Service }

// ServeHTTP implements http.Handler.
func (h s3Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	c := gateway.CallFrom(r.Context())
	if c == nil {
		s3.WriteError(w, "", awsapi.AccessDenied("Access Denied"))
		return
	}
	bucket, ok := virtualHostBucket(r.Host)
	if !ok {
		h.svc.ServeHTTP(w, r.WithContext(s3.WithAuth(r.Context(), c.Sig)))
		return
	}
	key, err := url.PathUnescape(strings.TrimPrefix(r.URL.EscapedPath(), "/"))
	if err != nil {
		s3.WriteError(w, c.RequestID, awsapi.NewError("InvalidURI", http.StatusBadRequest, "Couldn't parse the specified URI."))
		return
	}
	h.svc.Serve(w, r, c.Sig, bucket, key)
}

// virtualHostBucket returns the bucket a virtual-host-style Host names: all
// that comes before .s3.localhost (bucket names may hold dots, as S3's
// virtual hosts allow). Any other Host, s3.localhost itself included, is path
// style.
func virtualHostBucket(hostport string) (string, bool) {
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	}
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	bucket, ok := strings.CutSuffix(host, "."+S3VirtualHost)
	if !ok || bucket == "" {
		return "", false
	}
	return bucket, true
}

// identifyS3 tells the S3 audit events who made a request.
func identifyS3(ctx context.Context) s3.Identity {
	id := identify(ctx)
	return s3.Identity{Caller: id.Caller, SourceIP: id.SourceIP}
}

// crossAccountKey is the context key of a crossAccountS3.
type crossAccountKey struct{}

// crossAccountS3 marks a request that a signed caller of another account makes
// to a bucket (serveCrossAccount): caller evaluates the caller's side, over the
// caller's account's store, and owner is the bucket's account.
type crossAccountS3 struct {
	caller *authz.Authorizer
	owner  string
}

// serveCrossAccount serves, with the bucket owner's S3 service ownerSvc, a
// request of a signed caller of another account to a bucket of owner, as AWS
// does across accounts: the bucket policy must allow the caller (its ARN, its
// role's ARN for a role session, or its account) and the caller's own identity
// policies (callerAuthz, the authorizer of the caller's account), bounded by
// its session policies and permissions boundary, must allow the action too; an
// explicit Deny on either side refuses. Objects it writes are the bucket
// owner's, as with BucketOwnerEnforced.
func serveCrossAccount(w http.ResponseWriter, r *http.Request, c *gateway.Call, ownerSvc *s3.Service, owner string, callerAuthz *authz.Authorizer) {
	if ownerSvc == nil || callerAuthz == nil {
		s3.WriteError(w, c.RequestID, fmt.Errorf("s3: serve a request of account %s to a bucket of account %s: no such local account", c.Caller.Account, owner))
		return
	}
	ctx := context.WithValue(r.Context(), crossAccountKey{}, crossAccountS3{caller: callerAuthz, owner: owner})
	s3Handler{ownerSvc}.ServeHTTP(w, r.WithContext(ctx))
}

// s3Authorizer authorizes S3 calls as IAM's and CloudFront's: the caller's
// identity policies, session policies and permissions boundary, with the
// request's S3 condition keys and the global ones of the gateway's call
// (aws:SourceIp, aws:SecureTransport, aws:PrincipalTag/*, …), together with
// the bucket's policy, which alone decides for an anonymous caller. As in S3,
// the account's root user may always read, replace and delete a bucket's
// policy, whatever it denies, so that a policy cannot lock the owner out.
//
// A request of a signed caller of another account (serveCrossAccount) is
// decided across accounts: with the caller's account's authorizer, the bucket
// policy as the resource policy and the bucket's account as the resource
// account, so that both sides must allow it and the root user of the caller's
// account gets only what the bucket policy grants. A bucket's policy is its
// owner's alone to read, replace or delete, as on AWS.
type s3Authorizer struct{ z *authz.Authorizer }

// bucketPolicyActions are the actions on a bucket's policy itself.
var bucketPolicyActions = []string{"s3:GetBucketPolicy", "s3:PutBucketPolicy", "s3:DeleteBucketPolicy"}

// Authorize implements s3.Authorizer.
func (a s3Authorizer) Authorize(ctx context.Context, action, resource string, conditions map[string][]string, bucketPolicy string) error {
	c := gateway.CallFrom(ctx)
	if c == nil {
		return fmt.Errorf("authorize %s: no call in the request context", action)
	}
	z, req := a.z, authz.Request{
		Caller: c.Caller, Action: action, Resource: resource,
		SourceIP: c.SourceIP, Time: c.Time, Secure: c.Secure,
		Context:        policy.ContextFrom(conditions),
		ResourcePolicy: bucketPolicy,
	}
	cross, isCross := ctx.Value(crossAccountKey{}).(crossAccountS3)
	isCross = isCross && c.Caller != nil && c.Caller.Account != cross.owner
	switch {
	case isCross && slices.Contains(bucketPolicyActions, action):
		// AWS: the caller must "belong to the bucket owner's account"; the text is ours.
		return &s3.Denial{
			Message: fmt.Sprintf("User: %s is not authorized to perform: %s on resource: %s because only the bucket owner's account may read or change a bucket's policy",
				c.Caller.ARN, action, resource),
			Reason: "only the bucket owner's account " + cross.owner + " may read or change a bucket's policy",
		}
	case isCross:
		z, req.ResourceAccount = cross.caller, cross.owner
	case c.Caller != nil && c.Caller.Kind == authn.Root && slices.Contains(bucketPolicyActions, action):
		req.ResourcePolicy = ""
	}
	res, err := z.Authorize(ctx, req)
	if err != nil {
		return fmt.Errorf("authorize %s: %w", action, err)
	}
	if res.Decision == policy.Allowed {
		return nil
	}
	if c.Caller == nil {
		// S3 tells an anonymous caller no more than this.
		d := &s3.Denial{Message: "Access Denied", Reason: "anonymous request not allowed by a bucket policy"}
		if bucketPolicy == "" {
			d.Reason = "anonymous request to a bucket without a policy"
		}
		d.Statement, d.Condition = authz.Deciding(res)
		return d
	}
	d := &s3.Denial{Message: authz.DeniedMessage(c.Caller, action, resource, res), Reason: string(res.Explain.Reason)}
	if isCross {
		// Name the side and account that refused: the explanation's first line.
		d.Reason, _, _ = strings.Cut(res.Explain.String(), "\n")
	}
	d.Statement, d.Condition = authz.Deciding(res)
	return d
}
