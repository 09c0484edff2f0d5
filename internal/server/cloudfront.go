package server

import (
	"context"
	"fmt"
	"time"

	"github.com/keyless-dev/keyless/authz"
	"github.com/keyless-dev/keyless/cloudfront"
	"github.com/keyless-dev/keyless/gateway"
	"github.com/keyless-dev/keyless/issuer"
	"github.com/keyless-dev/keyless/policy"
)

// S3VirtualHost is the domain of the S3 service's virtual-host-style addresses
// (BUCKET.s3.localhost:PORT), which CloudFront also accepts as S3 origin domains.
const S3VirtualHost = "s3.localhost"

// defaultInvalidationDelay is how long an invalidation stays InProgress unless the
// config says otherwise.
const defaultInvalidationDelay = 5 * time.Second

// CloudFrontConfig configures the CloudFront API.
type CloudFrontConfig struct {
	// InvalidationDelay is how long an invalidation stays InProgress before it is
	// Completed (default 5s; "0s" completes it at once).
	InvalidationDelay *issuer.Duration `json:"invalidation_delay,omitempty"`
	// Distributions exist from the start, with the IDs given, across restarts.
	Distributions []DistributionConfig `json:"distributions,omitempty"`
}

// DistributionConfig declares a CloudFront distribution in front of an S3 bucket.
type DistributionConfig struct {
	// ID is the distribution ID: 1 to 64 upper-case letters and digits
	// (CloudFront's look like EDFDVBD6EXAMPLE).
	ID     string `json:"id"`
	Bucket string `json:"bucket"`
	// OriginPath is an optional directory of the bucket ("/site").
	OriginPath string `json:"origin_path,omitempty"`
	// DefaultRootObject is served for "/" (default index.html).
	DefaultRootObject string   `json:"default_root_object,omitempty"`
	Aliases           []string `json:"aliases,omitempty"`
	Comment           string   `json:"comment,omitempty"`
	// MinTTL, DefaultTTL and MaxTTL bound caching (CloudFront's defaults: 0, 24h, 8760h).
	MinTTL     *issuer.Duration `json:"min_ttl,omitempty"`
	DefaultTTL *issuer.Duration `json:"default_ttl,omitempty"`
	MaxTTL     *issuer.Duration `json:"max_ttl,omitempty"`
}

// declared converts the configured distributions for cloudfront.Config.
func (c CloudFrontConfig) declared() []cloudfront.Declared {
	dur := func(d *issuer.Duration) *time.Duration {
		if d == nil {
			return nil
		}
		v := time.Duration(*d)
		return &v
	}
	out := make([]cloudfront.Declared, 0, len(c.Distributions))
	for _, d := range c.Distributions {
		out = append(out, cloudfront.Declared{
			ID: d.ID, Bucket: d.Bucket, OriginPath: d.OriginPath, DefaultRootObject: d.DefaultRootObject,
			Aliases: d.Aliases, Comment: d.Comment,
			MinTTL: dur(d.MinTTL), DefaultTTL: dur(d.DefaultTTL), MaxTTL: dur(d.MaxTTL),
		})
	}
	return out
}

// invalidationDelay is the configured delay, or the default.
func (c CloudFrontConfig) invalidationDelay() time.Duration {
	if c.InvalidationDelay == nil {
		return defaultInvalidationDelay
	}
	return time.Duration(*c.InvalidationDelay)
}

// newCloudFront builds the CloudFront API over the policy engine and the audit log,
// telling listener (the edge cache) about invalidations.
func (s *Server) newCloudFront(authorizer *authz.Authorizer, listener cloudfront.Listener) (*cloudfront.Service, error) {
	cf := s.cfg.CloudFront
	svc, err := cloudfront.New(cloudfront.Config{
		Account:           s.cfg.AccountID,
		Authorizer:        cloudFrontAuthorizer{authorizer},
		Audit:             s.auditor(), // metrics.go: counts the requests
		Identify:          identify,
		Listener:          listener,
		Logger:            s.log,
		Declared:          cf.declared(),
		InvalidationDelay: cf.invalidationDelay(),
		OriginSuffixes:    []string{S3VirtualHost},
		Now:               s.now,
	})
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	return svc, nil
}

// identify tells the audit log who made a REST request, from the gateway's call.
func identify(ctx context.Context) cloudfront.Identity {
	var id cloudfront.Identity
	c := gateway.CallFrom(ctx)
	if c == nil {
		return id
	}
	id.Caller, id.SourceIP = c.Identity()
	return id
}

// cloudFrontAuthorizer authorizes CloudFront calls exactly as IAM's: the caller's
// identity policies, session policies and permissions boundary, with the global
// condition keys of the gateway's call.
type cloudFrontAuthorizer struct{ z *authz.Authorizer }

// Authorize implements cloudfront.Authorizer.
func (a cloudFrontAuthorizer) Authorize(ctx context.Context, action, resource string) error {
	c := gateway.CallFrom(ctx)
	if c == nil {
		return fmt.Errorf("authorize %s: no authenticated call in the request context", action)
	}
	res, err := a.z.Authorize(ctx, authz.Request{
		Caller: c.Caller, Action: action, Resource: resource,
		SourceIP: c.SourceIP, Time: c.Time, Secure: c.Secure,
	})
	if err != nil {
		return fmt.Errorf("authorize %s: %w", action, err)
	}
	if res.Decision == policy.Allowed {
		return nil
	}
	d := &cloudfront.Denial{Message: authz.DeniedMessage(c.Caller, action, resource, res), Reason: string(res.Explain.Reason)}
	d.Statement, d.Condition = authz.Deciding(res)
	return d
}
