// Package cloudfront serves the part of the Amazon CloudFront API (version
// 2020-05-31, REST-XML, signing name cloudfront) that deploying a static site
// needs: distributions with Amazon S3 origins (CreateDistribution,
// GetDistribution, GetDistributionConfig, ListDistributions) and invalidations
// (CreateInvalidation, GetInvalidation, ListInvalidations). It is wire
// compatible with the official SDKs: the same paths, XML shapes, headers, error
// codes and HTTP statuses as CloudFront.
//
// The package is split in two sides. The handler (handler.go, types.go)
// routes, decodes and validates requests, authorizes the caller and encodes
// results. The core (distributions.go, invalidations.go) keeps the state in
// memory and applies CloudFront's rules: caller-reference idempotency, the
// in-progress invalidation limits, and invalidations that complete a
// configurable delay after they were created, on an injected clock.
//
// Callers are authenticated (SigV4) by the server in front of the handler;
// this package authorizes every call through an Authorizer, records it through
// an Auditor, and tells a Listener (the edge cache) about every invalidation.
package cloudfront

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"fmt"
	"io"
	"log/slog"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/keyless-dev/keyless/audit"
	"github.com/keyless-dev/keyless/awsapi"
)

// APIVersion is the CloudFront API version served.
const APIVersion = "2020-05-31"

// Namespace is the XML namespace of CloudFront requests and replies.
const Namespace = "http://cloudfront.amazonaws.com/doc/2020-05-31/"

// PathPrefix is where the handler expects to be mounted: it serves
// PathPrefix and everything below it (/2020-05-31/distribution/…).
const PathPrefix = "/" + APIVersion + "/distribution"

// CloudFront's limits.
const (
	// MaxInProgressPaths is how many individual (non-wildcard) paths may be
	// in progress per distribution.
	MaxInProgressPaths = 3000
	// MaxInProgressWildcards is how many wildcard paths may be in progress
	// per distribution.
	MaxInProgressWildcards = 15
	// MaxPathLength is the longest invalidation path.
	MaxPathLength = 4000
	// maxListItems is the default and the largest MaxItems of a list call.
	maxListItems = 100
	// maxBody bounds request bodies (3,000 paths of 4,000 characters fit).
	maxBody = 16 << 20
)

// Authorizer decides whether the caller of a request may perform action
// ("cloudfront:CreateInvalidation") on resource (a distribution ARN, or "*").
// The server implements it with authz, finding the caller in ctx where its
// authentication put it. Authorize returns nil to allow, a *Denial (or an
// *awsapi.Error with code AccessDenied) to deny, and any other error when it
// could not decide (the client then gets InternalFailure).
type Authorizer interface {
	Authorize(ctx context.Context, action, resource string) error
}

// Auditor records the outcome of every call; *audit.Recorder implements it.
type Auditor interface {
	Record(audit.Event)
}

// Listener is told about every new invalidation (not about an idempotent
// replay of one), after it is recorded and before CreateInvalidation answers,
// so that a cache serving the distribution can evict the paths: a path ending
// in "*" is a prefix, any other path an exact object path. Invalidated must
// not block for long and must not call back into the Service.
type Listener interface {
	Invalidated(distributionID string, paths []string)
}

// Identity is who made a request, for audit events.
type Identity struct {
	// Caller is the caller's ARN.
	Caller string
	// SourceIP is the caller's address.
	SourceIP string
}

// Declared is a distribution declared in the server's configuration: it
// exists from the start, in front of an S3 bucket, and keeps its ID across
// restarts.
type Declared struct {
	// ID is the distribution ID: 1 to 64 upper-case letters and digits
	// (CloudFront's are "E" and 13 characters, such as EDFDVBD6EXAMPLE).
	ID string
	// Bucket is the S3 bucket served.
	Bucket string
	// OriginPath is an optional directory of the bucket ("/site").
	OriginPath string
	// DefaultRootObject is served for "/" (default index.html).
	DefaultRootObject string
	// Aliases are alternate domain names.
	Aliases []string
	// Comment describes the distribution.
	Comment string
	// MinTTL, DefaultTTL and MaxTTL bound how long objects stay cached; nil
	// means CloudFront's defaults (0, one day, one year). They are
	// truncated to whole seconds.
	MinTTL, DefaultTTL, MaxTTL *time.Duration
}

// Config configures a Service.
type Config struct {
	// Account is the 12-digit account ID in distribution ARNs.
	Account string
	// Authorizer authorizes every call. Required.
	Authorizer Authorizer
	// Audit records every call. May be nil (no events).
	Audit Auditor
	// Identify tells who made a request, for audit events. May be nil.
	Identify func(ctx context.Context) Identity
	// Listener is told about new invalidations. May be nil.
	Listener Listener
	// Logger logs internal failures. May be nil.
	Logger *slog.Logger
	// Declared are the distributions of the server's configuration.
	Declared []Declared
	// InvalidationDelay is how long an invalidation stays InProgress before
	// it is Completed (on AWS, typically tens of seconds to minutes). Zero
	// completes it as soon as it is created (CreateInvalidation still
	// answers InProgress, as CloudFront always does).
	InvalidationDelay time.Duration
	// DeployDelay is how long a new distribution stays InProgress before it
	// is Deployed (zero: at once, after the CreateDistribution reply).
	DeployDelay time.Duration
	// DomainSuffix is the domain of distribution domain names
	// (dxxxxxxxxxxxxx.SUFFIX); default cloudfront.net.
	DomainSuffix string
	// OriginSuffixes are host suffixes accepted as S3 origins besides AWS's S3
	// endpoints: an origin domain BUCKET.SUFFIX names bucket BUCKET (for the
	// local S3 service's virtual-host domain, such as "s3.localhost").
	OriginSuffixes []string
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Rand is the source of IDs and ETags (default crypto/rand.Reader).
	Rand io.Reader
}

// Service is the CloudFront API: an http.Handler for PathPrefix, and the
// distribution table the edge cache reads. It is safe for concurrent use.
type Service struct {
	cfg Config
	ids *awsapi.RequestIDs

	// randMu guards cfg.Rand, which need not be safe for concurrent use.
	randMu sync.Mutex

	mu    sync.Mutex
	dists []*distribution          // in creation order (declared first)
	byID  map[string]*distribution // by distribution ID
	byRef map[string]*distribution // by CallerReference
}

// patDeclaredID is what a declared distribution's ID may be.
var patDeclaredID = regexp.MustCompile(`^[A-Z0-9]{1,64}$`)

// New returns the service with the declared distributions, or an error when
// the configuration is invalid.
func New(cfg Config) (*Service, error) {
	if cfg.Authorizer == nil {
		return nil, fmt.Errorf("cloudfront: an Authorizer is required")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Rand == nil {
		cfg.Rand = rand.Reader
	}
	if cfg.DomainSuffix == "" {
		cfg.DomainSuffix = "cloudfront.net"
	}
	if cfg.InvalidationDelay < 0 || cfg.DeployDelay < 0 {
		return nil, fmt.Errorf("cloudfront: negative delay")
	}
	ids, err := awsapi.NewRequestIDs(cfg.Rand)
	if err != nil {
		return nil, fmt.Errorf("cloudfront: %w", err)
	}
	s := &Service{cfg: cfg, ids: ids, byID: map[string]*distribution{}, byRef: map[string]*distribution{}}
	for _, d := range cfg.Declared {
		if err := s.declare(d); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// declare adds a declared distribution, validated as CreateDistribution
// validates a configuration.
func (s *Service) declare(d Declared) error {
	if !patDeclaredID.MatchString(d.ID) {
		return fmt.Errorf("cloudfront: declared distribution ID %q: want 1 to 64 upper-case letters and digits", d.ID)
	}
	if s.byID[d.ID] != nil {
		return fmt.Errorf("cloudfront: distribution %s declared twice", d.ID)
	}
	root := d.DefaultRootObject
	if root == "" {
		root = "index.html"
	}
	seconds := func(p *time.Duration) *int64 {
		if p == nil {
			return nil
		}
		return ptr(int64(*p / time.Second))
	}
	dc := &DistributionConfig{
		CallerReference:   "keyless-declared-" + d.ID,
		DefaultRootObject: root,
		Origins: Origins{Quantity: ptr(1), Items: []Origin{{
			ID:             "s3-" + d.Bucket,
			DomainName:     d.Bucket + ".s3.amazonaws.com",
			OriginPath:     d.OriginPath,
			S3OriginConfig: &S3OriginConfig{},
		}}},
		DefaultCacheBehavior: DefaultCacheBehavior{
			TargetOriginID:       "s3-" + d.Bucket,
			ViewerProtocolPolicy: "redirect-to-https",
			MinTTL:               seconds(d.MinTTL),
			DefaultTTL:           seconds(d.DefaultTTL),
			MaxTTL:               seconds(d.MaxTTL),
		},
		Comment: ptr(d.Comment),
		Enabled: ptr(true),
	}
	if d.MinTTL == nil {
		dc.DefaultCacheBehavior.MinTTL = ptr(int64(0))
	}
	if len(d.Aliases) > 0 {
		dc.Aliases = &Aliases{Quantity: ptr(len(d.Aliases)), Items: d.Aliases}
	}
	site, err := s.checkConfig(dc)
	if err != nil {
		return fmt.Errorf("cloudfront: declared distribution %s: %s", d.ID, awsapi.AsError(err).Message)
	}
	etag, err := s.newID("E")
	if err != nil {
		return err
	}
	site.ID, site.DomainName = d.ID, declaredDomain(d.ID)+"."+s.cfg.DomainSuffix
	s.add(&distribution{
		id:       d.ID,
		domain:   site.DomainName,
		etag:     etag,
		modified: s.now(),
		config:   dc,
		site:     site,
	})
	return nil
}

// declaredDomain is the stable first label of a declared distribution's
// domain name: "d" and 13 characters derived from its ID.
func declaredDomain(id string) string {
	sum := sha256.Sum256([]byte("keyless cloudfront " + id))
	return "d" + strings.ToLower(base32.StdEncoding.EncodeToString(sum[:]))[:13]
}

// Site is what the edge cache needs to serve a distribution.
type Site struct {
	// ID and DomainName identify the distribution; Aliases are its other
	// domain names.
	ID         string
	DomainName string
	Aliases    []string
	// Enabled is false for a disabled distribution (which serves nothing).
	Enabled bool
	// Bucket and OriginPath locate the content in S3.
	Bucket     string
	OriginPath string
	// DefaultRootObject is served for "/" ("" for none).
	DefaultRootObject string
	// MinTTL, DefaultTTL and MaxTTL are the cache lifetimes.
	MinTTL, DefaultTTL, MaxTTL time.Duration
	// ErrorResponses are the custom error responses, by origin status.
	ErrorResponses []ErrorResponse
}

// ErrorResponse replaces an origin error status by a page of the site.
type ErrorResponse struct {
	// ErrorCode is the origin's HTTP status (403, 404, …).
	ErrorCode int
	// PagePath is the object served instead ("" to cache the error only).
	PagePath string
	// ResponseCode is the status sent to the viewer (0: ErrorCode).
	ResponseCode int
	// MinTTL is how long the error is cached.
	MinTTL time.Duration
}

// Site returns the serving settings of a distribution.
func (s *Service) Site(id string) (Site, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	d := s.byID[id]
	if d == nil {
		return Site{}, false
	}
	return d.site.clone(), true
}

// Sites returns the serving settings of every distribution, in creation order.
func (s *Service) Sites() []Site {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Site, len(s.dists))
	for i, d := range s.dists {
		out[i] = d.site.clone()
	}
	return out
}

// clone returns a copy that shares no slice with the original.
func (s Site) clone() Site {
	s.Aliases = slices.Clone(s.Aliases)
	s.ErrorResponses = slices.Clone(s.ErrorResponses)
	return s
}

// ARN returns the ARN of a distribution.
func (s *Service) ARN(id string) string {
	return "arn:aws:cloudfront::" + s.cfg.Account + ":distribution/" + id
}

// now is the current time in UTC, at millisecond precision as CloudFront
// reports times.
func (s *Service) now() time.Time { return s.cfg.Now().UTC().Truncate(time.Millisecond) }

// Alphabets of generated identifiers.
const (
	upperAlnum = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	lowerAlnum = "abcdefghijklmnopqrstuvwxyz0123456789"
)

// randString returns n characters drawn uniformly from alphabet (≤ 256 symbols).
func (s *Service) randString(n int, alphabet string) (string, error) {
	limit := 256 - 256%len(alphabet)
	out := make([]byte, 0, n)
	buf := make([]byte, n+8)
	s.randMu.Lock()
	defer s.randMu.Unlock()
	for len(out) < n {
		if _, err := io.ReadFull(s.cfg.Rand, buf); err != nil {
			return "", fmt.Errorf("cloudfront: random: %w", err)
		}
		for _, b := range buf {
			if int(b) < limit && len(out) < n {
				out = append(out, alphabet[int(b)%len(alphabet)])
			}
		}
	}
	return string(out), nil
}

// newID returns a CloudFront-style ID: prefix ("E" for distributions, "I"
// for invalidations) and 13 upper-case letters and digits.
func (s *Service) newID(prefix string) (string, error) {
	tail, err := s.randString(13, upperAlnum)
	if err != nil {
		return "", err
	}
	return prefix + tail, nil
}

func ptr[T any](v T) *T { return &v }
