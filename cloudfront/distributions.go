package cloudfront

import (
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// distribution is one distribution and its invalidations. Its fields are
// guarded by Service.mu; config is never changed after creation.
type distribution struct {
	id       string
	domain   string
	etag     string
	modified time.Time // creation, reported as LastModifiedTime
	deployed time.Time // from when Status is Deployed
	config   *DistributionConfig
	site     Site

	invs     []*invalidation          // in creation order
	invByID  map[string]*invalidation // by invalidation ID
	invByRef map[string]*invalidation // by CallerReference
}

// add registers a distribution (s.mu held, or no concurrent use yet).
func (s *Service) add(d *distribution) {
	d.invByID = map[string]*invalidation{}
	d.invByRef = map[string]*invalidation{}
	s.dists = append(s.dists, d)
	s.byID[d.id] = d
	s.byRef[d.config.CallerReference] = d
}

// status is the distribution's Status at now.
func (d *distribution) status(now time.Time) string {
	if now.Before(d.deployed) {
		return "InProgress"
	}
	return "Deployed"
}

// createDistribution creates a distribution with the given ID (generated
// before the call was authorized) from a configuration checkConfig
// accepted, and returns it.
func (s *Service) createDistribution(id string, dc *DistributionConfig, site Site) (*distribution, error) {
	label, err := s.randString(13, lowerAlnum)
	if err != nil {
		return nil, err
	}
	etag, err := s.newID("E")
	if err != nil {
		return nil, err
	}
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	if old := s.byRef[dc.CallerReference]; old != nil {
		return nil, errDistributionAlreadyExists(old.id)
	}
	for _, other := range s.dists {
		for _, a := range other.site.Aliases {
			for _, b := range site.Aliases {
				if strings.EqualFold(a, b) {
					return nil, errCNAMEAlreadyExists()
				}
			}
		}
	}
	d := &distribution{
		id:       id,
		domain:   "d" + label + "." + s.cfg.DomainSuffix,
		etag:     etag,
		modified: now,
		deployed: now.Add(s.cfg.DeployDelay),
		config:   dc,
	}
	site.ID, site.DomainName = d.id, d.domain
	d.site = site
	s.add(d)
	return d, nil
}

// lookup returns a distribution (s.mu held).
func (s *Service) lookup(id string) (*distribution, error) {
	d := s.byID[id]
	if d == nil {
		return nil, errNoSuchDistribution()
	}
	return d, nil
}

// Managed cache policies whose TTLs keyless knows; any other cache policy is
// taken to have CachingOptimized's TTLs.
const (
	cachingDisabledPolicy = "4135ea2d-6df8-44a3-9df3-4b5a84be39ad"
	defaultTTL            = 86400
	maxTTL                = 31536000
)

// Settings CloudFront accepts.
var (
	viewerProtocolPolicies = []string{"allow-all", "https-only", "redirect-to-https"}
	priceClasses           = []string{"PriceClass_100", "PriceClass_200", "PriceClass_All", "None"}
	httpVersions           = []string{"http1.1", "http2", "http3", "http2and3"}
)

// checkQuantity checks a {Quantity, Items} pair: a Quantity must be given
// when there are items, and equal their number.
func checkQuantity(q *int, n int) error {
	if (q == nil && n > 0) || (q != nil && *q != n) {
		return errInconsistentQuantities()
	}
	return nil
}

// emptyList accepts only an absent or empty list of a kind keyless does not
// model.
func emptyList(q *quantity, what string) (*quantity, error) {
	if q == nil || q.Quantity == nil {
		return &quantity{Quantity: ptr(0)}, nil
	}
	if *q.Quantity != 0 {
		return nil, errInvalidArgument("keyless does not support " + what + "; the list must be empty.")
	}
	return q, nil
}

// checkConfig validates a distribution configuration as CreateDistribution
// does, fills in the defaults CloudFront reports back, and returns the
// serving settings (without ID and domain name).
func (s *Service) checkConfig(dc *DistributionConfig) (Site, error) {
	var site Site
	if dc.CallerReference == "" {
		return site, errInvalidArgument("The parameter CallerReference is required.")
	}
	if dc.Enabled == nil {
		return site, errInvalidArgument("The parameter Enabled is required.")
	}
	site.Enabled = *dc.Enabled
	if dc.Comment == nil {
		dc.Comment = ptr("")
	}
	if len(*dc.Comment) > 128 {
		return site, errInvalidArgument("The parameter Comment is too long.")
	}
	if !validRootObject(dc.DefaultRootObject) {
		return site, errInvalidDefaultRootObject()
	}
	site.DefaultRootObject = dc.DefaultRootObject

	if dc.Aliases == nil {
		dc.Aliases = &Aliases{Quantity: ptr(0)}
	}
	if err := checkQuantity(dc.Aliases.Quantity, len(dc.Aliases.Items)); err != nil {
		return site, err
	}
	for _, a := range dc.Aliases.Items {
		if !patAlias.MatchString(a) {
			return site, errInvalidArgument("The parameter CNAME contains one or more characters that are not valid.")
		}
	}
	site.Aliases = dc.Aliases.Items

	var err error
	if dc.OriginGroups, err = emptyList(dc.OriginGroups, "OriginGroups"); err != nil {
		return site, err
	}
	if dc.CacheBehaviors, err = emptyList(dc.CacheBehaviors, "CacheBehaviors"); err != nil {
		return site, err
	}
	if err := s.checkOrigins(dc, &site); err != nil {
		return site, err
	}
	if err := checkCacheBehavior(&dc.DefaultCacheBehavior, &site); err != nil {
		return site, err
	}
	if err := checkErrorResponses(dc, &site); err != nil {
		return site, err
	}

	if dc.Logging == nil {
		dc.Logging = &Logging{}
	}
	if dc.PriceClass == "" {
		dc.PriceClass = "PriceClass_All"
	} else if !oneOf(dc.PriceClass, priceClasses) {
		return site, errInvalidArgument("The parameter PriceClass is not valid.")
	}
	if dc.HTTPVersion == "" {
		dc.HTTPVersion = "http2"
	} else if !oneOf(dc.HTTPVersion, httpVersions) {
		return site, errInvalidArgument("The parameter HttpVersion is not valid.")
	}
	if dc.ViewerCertificate == nil {
		dc.ViewerCertificate = &ViewerCertificate{
			CloudFrontDefaultCertificate: ptr(true),
			SSLSupportMethod:             "vip",
			MinimumProtocolVersion:       "TLSv1",
			CertificateSource:            "cloudfront",
		}
	}
	if dc.Restrictions == nil {
		dc.Restrictions = &Restrictions{GeoRestriction: GeoRestriction{RestrictionType: "none", Quantity: ptr(0)}}
	}
	g := dc.Restrictions.GeoRestriction
	if err := checkQuantity(g.Quantity, len(g.Items)); err != nil {
		return site, err
	}
	if dc.WebACLID == nil {
		dc.WebACLID = ptr("")
	}
	if dc.Staging == nil {
		dc.Staging = ptr(false)
	}
	return site, nil
}

// checkOrigins validates the origins: at least one, unique IDs, each an S3
// bucket endpoint.
func (s *Service) checkOrigins(dc *DistributionConfig, site *Site) error {
	o := &dc.Origins
	if err := checkQuantity(o.Quantity, len(o.Items)); err != nil {
		return err
	}
	if len(o.Items) == 0 {
		return errInvalidArgument("The parameter Origins must contain at least one origin.")
	}
	seen := map[string]bool{}
	for i := range o.Items {
		it := &o.Items[i]
		if it.ID == "" || seen[it.ID] {
			return errInvalidArgument("The parameter Origin Id must be unique and not empty.")
		}
		seen[it.ID] = true
		if it.OriginPath != "" && (!strings.HasPrefix(it.OriginPath, "/") || strings.HasSuffix(it.OriginPath, "/") || len(it.OriginPath) > 255) {
			return errInvalidArgument("The parameter OriginPath must begin with a / and must not end with a /.")
		}
		if it.CustomHeaders != nil && it.CustomHeaders.Quantity != nil && *it.CustomHeaders.Quantity != 0 {
			return errInvalidArgument("keyless does not support origin CustomHeaders; the list must be empty.")
		}
		if it.CustomHeaders == nil {
			it.CustomHeaders = &quantity{Quantity: ptr(0)}
		}
		if c := it.CustomOriginConfig; c != nil && c.OriginSslProtocols != nil {
			if err := checkQuantity(c.OriginSslProtocols.Quantity, len(c.OriginSslProtocols.Items)); err != nil {
				return err
			}
		}
		if it.S3OriginConfig == nil && it.CustomOriginConfig == nil {
			it.S3OriginConfig = &S3OriginConfig{}
		}
		if it.ConnectionAttempts == nil {
			it.ConnectionAttempts = ptr(3)
		}
		if it.ConnectionTimeout == nil {
			it.ConnectionTimeout = ptr(10)
		}
		bucket, ok := s.originBucket(it.DomainName)
		if !ok {
			return errInvalidOrigin()
		}
		if it.ID == dc.DefaultCacheBehavior.TargetOriginID {
			site.Bucket, site.OriginPath = bucket, it.OriginPath
		}
	}
	if site.Bucket == "" {
		return errNoSuchOrigin()
	}
	return nil
}

// checkCacheBehavior validates the default cache behavior and fills in
// CloudFront's defaults.
func checkCacheBehavior(b *DefaultCacheBehavior, site *Site) error {
	if !oneOf(b.ViewerProtocolPolicy, viewerProtocolPolicies) {
		return errInvalidArgument("The parameter ViewerProtocolPolicy is not valid.")
	}
	if b.TrustedSigners == nil {
		b.TrustedSigners = &TrustedSigners{Quantity: ptr(0)}
	}
	if err := checkQuantity(b.TrustedSigners.Quantity, len(b.TrustedSigners.Items)); err != nil {
		return err
	}
	if b.TrustedSigners.Enabled || len(b.TrustedSigners.Items) > 0 {
		return errInvalidArgument("keyless does not serve signed URLs; TrustedSigners must be disabled.")
	}
	if b.AllowedMethods == nil {
		b.AllowedMethods = &AllowedMethods{Quantity: ptr(2), Items: []string{"HEAD", "GET"}}
	}
	if b.AllowedMethods.CachedMethods == nil {
		b.AllowedMethods.CachedMethods = &Methods{Quantity: ptr(2), Items: []string{"HEAD", "GET"}}
	}
	if err := checkQuantity(b.AllowedMethods.Quantity, len(b.AllowedMethods.Items)); err != nil {
		return err
	}
	cm := b.AllowedMethods.CachedMethods
	if err := checkQuantity(cm.Quantity, len(cm.Items)); err != nil {
		return err
	}
	if b.SmoothStreaming == nil {
		b.SmoothStreaming = ptr(false)
	}
	if b.Compress == nil {
		b.Compress = ptr(false)
	}
	if fv := b.ForwardedValues; fv != nil {
		for _, n := range []*Names{fv.Headers, fv.QueryStringCacheKeys, fv.Cookies.WhitelistedNames} {
			if n != nil {
				if err := checkQuantity(n.Quantity, len(n.Items)); err != nil {
					return err
				}
			}
		}
	}
	if b.CachePolicyID != "" {
		// The TTLs come from the cache policy; keyless knows the managed
		// CachingDisabled policy and treats any other as CachingOptimized.
		if b.CachePolicyID == cachingDisabledPolicy {
			site.MinTTL, site.DefaultTTL, site.MaxTTL = 0, 0, 0
		} else {
			site.MinTTL, site.DefaultTTL, site.MaxTTL = time.Second, defaultTTL*time.Second, maxTTL*time.Second
		}
		return nil
	}
	if b.MinTTL == nil {
		return errInvalidArgument("The parameter MinTTL is required when no CachePolicyId is given.")
	}
	if b.DefaultTTL == nil {
		b.DefaultTTL = ptr(int64(max(defaultTTL, *b.MinTTL)))
	}
	if b.MaxTTL == nil {
		b.MaxTTL = ptr(int64(max(maxTTL, *b.DefaultTTL)))
	}
	if *b.MinTTL < 0 || *b.DefaultTTL < 0 || *b.MaxTTL < 0 || *b.MaxTTL > 1<<40 {
		return errInvalidArgument("The TTL values must be between 0 and 2^40 seconds.")
	}
	if *b.MinTTL > *b.DefaultTTL || *b.DefaultTTL > *b.MaxTTL {
		return errInvalidTTLOrder()
	}
	site.MinTTL = time.Duration(*b.MinTTL) * time.Second
	site.DefaultTTL = time.Duration(*b.DefaultTTL) * time.Second
	site.MaxTTL = time.Duration(*b.MaxTTL) * time.Second
	return nil
}

// checkErrorResponses validates the custom error responses.
func checkErrorResponses(dc *DistributionConfig, site *Site) error {
	if dc.CustomErrorResponses == nil {
		dc.CustomErrorResponses = &CustomErrorResponses{Quantity: ptr(0)}
	}
	c := dc.CustomErrorResponses
	if err := checkQuantity(c.Quantity, len(c.Items)); err != nil {
		return err
	}
	for _, e := range c.Items {
		if e.ErrorCode < 400 || e.ErrorCode > 599 {
			return errInvalidErrorCode()
		}
		r := ErrorResponse{ErrorCode: e.ErrorCode, PagePath: e.ResponsePagePath}
		if e.ResponsePagePath != "" && !strings.HasPrefix(e.ResponsePagePath, "/") {
			return errInvalidArgument("The parameter ResponsePagePath must begin with a /.")
		}
		if e.ResponseCode != "" {
			code, err := strconv.Atoi(e.ResponseCode)
			if err != nil || code < 200 || code > 599 {
				return errInvalidResponseCode()
			}
			r.ResponseCode = code
		}
		if e.ErrorCachingMinTTL != nil {
			if *e.ErrorCachingMinTTL < 0 {
				return errInvalidArgument("The parameter ErrorCachingMinTTL must not be negative.")
			}
			r.MinTTL = time.Duration(*e.ErrorCachingMinTTL) * time.Second
		} else {
			r.MinTTL = 10 * time.Second
		}
		site.ErrorResponses = append(site.ErrorResponses, r)
	}
	return nil
}

// validRootObject reports whether a DefaultRootObject is acceptable: empty,
// or up to 255 printable characters not starting with "/".
func validRootObject(s string) bool {
	if s == "" {
		return true
	}
	if len(s) > 255 || strings.HasPrefix(s, "/") || !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f {
			return false
		}
	}
	return true
}

// patAlias is what an alternate domain name may be (with an optional leading
// wildcard label).
var patAlias = regexp.MustCompile(`^(\*\.)?([a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?\.)+[a-zA-Z]{2,63}$`)

// patS3Endpoint matches the S3 endpoints an origin may name: REST
// (bucket.s3.amazonaws.com, bucket.s3.REGION.amazonaws.com,
// bucket.s3-REGION.amazonaws.com, dual-stack) and website
// (bucket.s3-website-REGION.amazonaws.com, bucket.s3-website.REGION.amazonaws.com).
var patS3Endpoint = regexp.MustCompile(`^(.+?)\.s3(?:-website)?(?:[.-]dualstack)?(?:[.-][a-z]{2}(?:-[a-z]+)+-[0-9])?\.amazonaws\.com(?:\.cn)?$`)

// patBucket is an S3 bucket name.
var patBucket = regexp.MustCompile(`^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$`)

// originBucket returns the bucket an origin domain names, when it is an S3
// endpoint or ends in one of the configured origin suffixes.
func (s *Service) originBucket(domain string) (string, bool) {
	domain = strings.ToLower(strings.TrimSuffix(domain, "."))
	bucket := ""
	if m := patS3Endpoint.FindStringSubmatch(domain); m != nil {
		bucket = m[1]
	} else {
		for _, suffix := range s.cfg.OriginSuffixes {
			suffix = "." + strings.ToLower(strings.Trim(suffix, "."))
			if b, ok := strings.CutSuffix(domain, suffix); ok {
				bucket = b
				break
			}
		}
	}
	if !patBucket.MatchString(bucket) || strings.Contains(bucket, "..") {
		return "", false
	}
	return bucket, true
}

func oneOf(s string, set []string) bool {
	for _, v := range set {
		if s == v {
			return true
		}
	}
	return false
}
