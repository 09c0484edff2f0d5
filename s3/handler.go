package s3

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/keyless-dev/keyless/audit"
	"github.com/keyless-dev/keyless/awsapi"
	"github.com/keyless-dev/keyless/s3/listing"
	"github.com/keyless-dev/keyless/store"
)

// call is the state of one request as it goes through the handler.
type call struct {
	ctx       context.Context
	w         http.ResponseWriter
	r         *http.Request
	auth      *awsapi.Auth // an unsigned payload's for an anonymous call
	anonymous bool         // the request was not signed
	requestID string
	time      time.Time
	action    string // the S3 operation, such as PutObject
	bucket    string
	key       string

	// Set by authorize.
	resource string
	denial   *Denial
	buckets  map[string]*store.Bucket // buckets read, by name (nil: none)
	// wrote is set once a reply's status is written: a later error can
	// no longer be sent.
	wrote bool
}

// operation serves one S3 operation and writes its successful reply.
type operation func(s *Service, c *call) error

type authKey struct{}

// WithAuth returns ctx carrying the verified signature of the request, for
// ServeHTTP.
func WithAuth(ctx context.Context, auth *awsapi.Auth) context.Context {
	return context.WithValue(ctx, authKey{}, auth)
}

// SplitPath splits the escaped path of a path-style request
// (r.URL.EscapedPath(): "/bucket/key") into the bucket and the unescaped key.
// "/" gives neither; "/bucket" and "/bucket/" give the bucket alone. The key
// is taken byte for byte: "../", "//" and Unicode are part of it.
func SplitPath(escapedPath string) (bucket, key string, err error) {
	rest, ok := strings.CutPrefix(escapedPath, "/")
	if !ok {
		return "", "", errInvalidArgument("The request path must start with /.")
	}
	bucket, key, _ = strings.Cut(rest, "/")
	if bucket, err = url.PathUnescape(bucket); err != nil {
		return "", "", errInvalidBucketName()
	}
	if key, err = url.PathUnescape(key); err != nil {
		return "", "", awsapi.NewError("InvalidURI", http.StatusBadRequest, "Couldn't parse the specified URI.")
	}
	return bucket, key, nil
}

// ServeHTTP serves a path-style request (/bucket/key). The server must have
// verified its signature and put the *awsapi.Auth in its context with
// WithAuth; a request without one is served anonymously (see Serve).
func (s *Service) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	auth, _ := r.Context().Value(authKey{}).(*awsapi.Auth)
	bucket, key, err := SplitPath(r.URL.EscapedPath())
	if err != nil {
		id := s.ids.Next()
		setIDs(w.Header(), id)
		s.writeError(w, r, id, r.URL.Path, err)
		return
	}
	s.Serve(w, r, auth, bucket, key)
}

// Serve serves one S3 request addressed to bucket and key (either may be
// empty), however they were found in the request (path style, or a virtual
// host). auth is the request's verified signature: the handler reads the body
// through awsapi.NewPayloadReader with it. A nil auth is an anonymous
// (unsigned) request, which the Authorizer allows only where a bucket policy
// does (or, for a read, the object's ACL: see aclAllowsRead); its body is
// read as an unsigned payload. Every call is authorized, audited and
// answered as S3 answers, errors in S3's Error document (a HEAD request gets
// the status alone).
func (s *Service) Serve(w http.ResponseWriter, r *http.Request, auth *awsapi.Auth, bucket, key string) {
	c := &call{ctx: r.Context(), w: w, r: r, auth: auth, requestID: s.ids.Next(), time: s.cfg.Now(), bucket: bucket, key: key}
	if auth == nil {
		c.anonymous, c.auth = true, &awsapi.Auth{PayloadHash: awsapi.UnsignedPayload}
	}
	setIDs(w.Header(), c.requestID)
	action, op := route(r.Method, bucket, key, r.URL.Query(), r.Header)
	c.action = action
	var err error
	switch {
	case op == nil:
		err = errNotImplemented()
		if action == "" {
			err = errMethodNotAllowed()
		}
	case bucket != "" && !validBucketForRequest(bucket, action):
		err = errInvalidBucketName()
		if action != "CreateBucket" {
			err = errNoSuchBucket(bucket)
		}
	case key != "":
		err = CheckKey(key)
	}
	if err == nil {
		err = op(s, c)
	}
	if err != nil && r.Context().Err() != nil && errors.Is(err, context.Canceled) {
		// The client went away: not a failure of the service. Nobody reads
		// the reply; the audit says what happened.
		err = errRequestCanceled()
	}
	s.record(c, err)
	if err == nil {
		return
	}
	if awsapi.AsError(err).Code == "InternalFailure" && s.cfg.Logger != nil {
		s.cfg.Logger.Error("s3: internal failure", "request_id", c.requestID, "action", c.action, "err", err)
	}
	if c.wrote {
		return // the reply is under way; the client sees it cut short
	}
	s.writeError(w, r, c.requestID, resourcePath(bucket, key), err)
}

// validBucketForRequest reports whether a request may name bucket: any
// existing bucket may be addressed, but CreateBucket checks the rules.
func validBucketForRequest(bucket, action string) bool {
	if action == "CreateBucket" {
		return ValidBucketName(bucket)
	}
	return bucket != "" && len(bucket) <= 255 && !strings.ContainsAny(bucket, "/\x00")
}

// setIDs sets S3's request ID headers.
func setIDs(h http.Header, id string) {
	h["X-Amz-Request-Id"] = []string{id}
	h["X-Amz-Id-2"] = []string{id}
}

// resourcePath is the Resource of an error document: "/bucket/key".
func resourcePath(bucket, key string) string {
	if key == "" {
		return "/" + bucket
	}
	return "/" + bucket + "/" + key
}

// writeError sends err as S3 does: the Error document, or for HEAD only the
// status.
func (s *Service) writeError(w http.ResponseWriter, r *http.Request, requestID, resource string, err error) {
	if r.Method == http.MethodHead {
		e := awsapi.AsError(err)
		w.Header().Set("x-amz-request-id", requestID)
		w.WriteHeader(e.Status)
		return
	}
	awsapi.WriteRESTError(w, requestID, resource, err)
}

// Subresources of bucket and object requests this slice does not serve.
var unservedSubresources = []string{
	"policy", "policyStatus", "cors", "website", "versioning", "lifecycle", "tagging",
	"encryption", "publicAccessBlock", "logging", "notification",
	"replication", "requestPayment", "accelerate", "analytics", "inventory", "metrics",
	"intelligent-tiering", "object-lock", "legal-hold", "retention", "versions", "uploads",
	"uploadId", "partNumber", "attributes", "restore", "select", "torrent",
}

// route finds the operation of a request. A nil operation is one S3 has and
// keyless does not serve (NotImplemented), or, with an empty action, a method
// S3 does not allow.
func route(method, bucket, key string, q url.Values, h http.Header) (string, operation) {
	if action, op := routeMultipart(method, key, q, h); action != "" && bucket != "" {
		return action, op // multiparthandler.go
	}
	if bucket != "" && key == "" && q.Has("policy") {
		return routePolicy(method) // policy.go
	}
	if bucket != "" && q.Has("acl") {
		return routeACL(method, key) // acl.go
	}
	if bucket != "" && q.Has("ownershipControls") {
		return routeOwnershipControls(method, key) // acl.go
	}
	for _, sub := range unservedSubresources {
		if q.Has(sub) {
			return "Unsupported", nil
		}
	}
	switch {
	case bucket == "":
		if method == http.MethodGet {
			return "ListBuckets", (*Service).handleListBuckets
		}
	case key == "":
		switch method {
		case http.MethodPut:
			return "CreateBucket", (*Service).handleCreateBucket
		case http.MethodHead:
			return "HeadBucket", (*Service).handleHeadBucket
		case http.MethodDelete:
			return "DeleteBucket", (*Service).handleDeleteBucket
		case http.MethodGet:
			switch {
			case q.Has("location"):
				return "GetBucketLocation", (*Service).handleGetBucketLocation
			case q.Get("list-type") == "2":
				return "ListObjectsV2", (*Service).handleListObjectsV2
			default:
				return "ListObjects", (*Service).handleListObjects
			}
		case http.MethodPost:
			if q.Has("delete") {
				return "DeleteObjects", (*Service).handleDeleteObjects
			}
			return "Unsupported", nil
		}
	default:
		switch method {
		case http.MethodPut:
			if h.Get("X-Amz-Copy-Source") != "" {
				return "CopyObject", (*Service).handleCopyObject
			}
			return "PutObject", (*Service).handlePutObject
		case http.MethodGet:
			return "GetObject", (*Service).handleGetObject
		case http.MethodHead:
			return "HeadObject", (*Service).handleGetObject
		case http.MethodDelete:
			return "DeleteObject", (*Service).handleDeleteObject
		case http.MethodPost:
			return "Unsupported", nil
		}
	}
	return "", nil
}

// ARN returns the S3 ARN of a bucket, or of an object when key is not empty.
func ARN(bucket, key string) string {
	if key == "" {
		return "arn:aws:s3:::" + bucket
	}
	return "arn:aws:s3:::" + bucket + "/" + key
}

// conditions returns the S3 condition keys every request has (none of the
// signature's for an anonymous one), plus extra (name, value pairs).
func (c *call) conditions(extra ...string) map[string][]string {
	m := map[string][]string{}
	if !c.anonymous {
		m["s3:signatureversion"] = []string{"AWS4-HMAC-SHA256"}
		m["s3:authType"] = []string{"REST-HEADER"}
		if c.auth.Presigned {
			m["s3:authType"] = []string{"REST-QUERY-STRING"}
		}
		if c.auth.PayloadHash != "" {
			m["s3:x-amz-content-sha256"] = []string{c.auth.PayloadHash}
		}
	}
	for i := 0; i+1 < len(extra); i += 2 {
		m[extra[i]] = []string{extra[i+1]}
	}
	return m
}

// authorize asks the Authorizer whether the caller may perform action on
// resource, with the policy of the resource's bucket. A denial is
// AccessDenied, unless the action is s3:GetObject and the object's ACL grants
// the read (aclAllowsRead); a failure to decide is an internal error. The
// first resource authorized is the one audited.
func (s *Service) authorize(c *call, action, resource string, conds map[string][]string) error {
	if c.resource == "" {
		c.resource = resource
	}
	bucketPolicy, err := s.bucketPolicy(c, resource)
	if err != nil {
		return err
	}
	err = s.cfg.Authorizer.Authorize(c.ctx, action, resource, conds, bucketPolicy)
	if err == nil {
		return nil
	}
	if d, out := accessDenied(err); d != nil {
		if action == "s3:GetObject" && s.aclAllowsRead(c, resource, conds, bucketPolicy) {
			return nil // an object ACL grants the read (acl.go)
		}
		c.denial = d
		return out
	}
	return fmt.Errorf("s3: authorize %s: %w", action, err)
}

// record turns the outcome of a call into an audit event.
func (s *Service) record(c *call, err error) {
	if s.cfg.Audit == nil {
		return
	}
	e := audit.Event{
		Time:      c.time,
		RequestID: c.requestID,
		Service:   "s3",
		Action:    c.action,
		Role:      c.resource,
		Decision:  audit.Allowed,
	}
	if s.cfg.Identify != nil {
		id := s.cfg.Identify(c.ctx)
		e.Caller, e.SourceIP = id.Caller, id.SourceIP
	}
	if d := c.denial; d != nil {
		e.Conclude(true, d.Statement, d.Condition, d.Reason, err)
	} else {
		e.Conclude(false, "", "", "", err)
	}
	s.cfg.Audit.Record(e)
}

// writeXML sends a 200 reply with an XML document.
func (c *call) writeXML(v any) error {
	var buf bytes.Buffer
	buf.WriteString(xml.Header)
	if err := xml.NewEncoder(&buf).Encode(v); err != nil {
		return fmt.Errorf("s3: encode reply: %w", err)
	}
	h := c.w.Header()
	h.Set("Content-Type", "application/xml")
	h.Set("Content-Length", strconv.Itoa(buf.Len()))
	c.wrote = true
	c.w.WriteHeader(http.StatusOK)
	_, _ = c.w.Write(buf.Bytes())
	return nil
}

// writeStatus sends a reply without a body.
func (c *call) writeStatus(status int) {
	c.wrote = true
	c.w.WriteHeader(status)
}

// readXMLBody reads a small XML request body through the payload verifier.
func (c *call) readXMLBody() ([]byte, error) {
	pr, err := awsapi.NewPayloadReader(c.r, c.auth, awsapi.PayloadOptions{})
	if err != nil {
		return nil, err
	}
	body, err := io.ReadAll(io.LimitReader(pr, maxXMLBody+1))
	if err != nil {
		return nil, err
	}
	if len(body) > maxXMLBody {
		return nil, errMalformedXML()
	}
	return body, nil
}

// Buckets.

// Object ownership settings.
const (
	ownershipEnforced  = store.ObjectOwnershipBucketOwnerEnforced
	ownershipPreferred = "BucketOwnerPreferred"
	ownershipWriter    = "ObjectWriter"
)

func (s *Service) handleCreateBucket(c *call) error {
	h := c.r.Header
	ownership := h.Get("X-Amz-Object-Ownership")
	acl := h.Get("X-Amz-Acl")
	extra := []string{}
	if acl != "" {
		extra = append(extra, "s3:x-amz-acl", acl)
	}
	if ownership != "" {
		extra = append(extra, "s3:x-amz-object-ownership", ownership)
	}
	if err := s.authorize(c, "s3:CreateBucket", ARN(c.bucket, ""), c.conditions(extra...)); err != nil {
		return err
	}
	if ownership != "" {
		if err := s.authorize(c, "s3:PutBucketOwnershipControls", ARN(c.bucket, ""), c.conditions(extra...)); err != nil {
			return err
		}
	}
	switch ownership {
	case "":
		ownership = ownershipEnforced
	case ownershipEnforced, ownershipPreferred, ownershipWriter:
	default:
		return errInvalidArgument("Invalid x-amz-object-ownership header: " + ownership)
	}
	if acl != "" && !validCannedACL(acl) {
		return errInvalidArgument("")
	}
	if ownership == ownershipEnforced && (acl != "" && acl != "private" || hasGrantHeaders(h)) {
		return errBucketACLWithOwnership()
	}
	body, err := c.readXMLBody()
	if err != nil {
		return err
	}
	var constraint string
	if len(bytes.TrimSpace(body)) > 0 {
		var cfg createBucketConfiguration
		if err := xml.Unmarshal(body, &cfg); err != nil {
			return errMalformedXML()
		}
		constraint = cfg.LocationConstraint
	}
	region := s.cfg.Region
	switch {
	case constraint == "" && region != "us-east-1":
		return errIllegalLocationConstraint("")
	case constraint == "us-east-1" && region == "us-east-1":
		return errInvalidLocationConstraint()
	case constraint != "" && constraint != region:
		return errIllegalLocationConstraint(constraint)
	}
	if err := s.createBucket(c.ctx, c.bucket, region, ownership); err != nil {
		return err
	}
	c.w.Header().Set("Location", "/"+c.bucket)
	c.w.Header().Set("Content-Length", "0")
	c.writeStatus(http.StatusOK)
	return nil
}

func (s *Service) handleHeadBucket(c *call) error {
	if err := s.authorize(c, "s3:ListBucket", ARN(c.bucket, ""), c.conditions()); err != nil {
		return err
	}
	b, err := s.bucket(c, c.bucket)
	if err != nil {
		return err
	}
	c.w.Header().Set("x-amz-bucket-region", b.Region)
	c.writeStatus(http.StatusOK)
	return nil
}

func (s *Service) handleGetBucketLocation(c *call) error {
	if err := s.authorize(c, "s3:GetBucketLocation", ARN(c.bucket, ""), c.conditions()); err != nil {
		return err
	}
	b, err := s.bucket(c, c.bucket)
	if err != nil {
		return err
	}
	region := b.Region
	if region == "us-east-1" {
		region = "" // S3 reports us-east-1 as no constraint
	}
	return c.writeXML(locationConstraint{Region: region})
}

func (s *Service) handleListBuckets(c *call) error {
	if err := s.authorize(c, "s3:ListAllMyBuckets", "*", c.conditions()); err != nil {
		return err
	}
	bs, err := s.listBuckets(c.ctx)
	if err != nil {
		return err
	}
	res := listAllMyBucketsResult{Owner: ownerXML{ID: s.ownerID}}
	for _, b := range bs {
		res.Buckets = append(res.Buckets, bucketXML{Name: b.Name, CreationDate: formatTime(b.CreatedAt), BucketRegion: b.Region})
	}
	return c.writeXML(res)
}

func (s *Service) handleDeleteBucket(c *call) error {
	if err := s.authorize(c, "s3:DeleteBucket", ARN(c.bucket, ""), c.conditions()); err != nil {
		return err
	}
	if err := s.deleteBucket(c.ctx, c.bucket); err != nil {
		return err
	}
	c.writeStatus(http.StatusNoContent)
	return nil
}

// Listing.

// listConditions are the condition keys of ListBucket: s3:prefix,
// s3:delimiter and s3:max-keys, when the request has them.
func (c *call) listConditions(q url.Values) map[string][]string {
	var extra []string
	for _, k := range []string{"prefix", "delimiter", "max-keys"} {
		if q.Has(k) {
			extra = append(extra, "s3:"+k, q.Get(k))
		}
	}
	return c.conditions(extra...)
}

// argumentError maps listing's parameter errors to S3's InvalidArgument.
func argumentError(err error) error {
	var ae *listing.ArgumentError
	if errors.As(err, &ae) {
		return errInvalidArgument(ae.Message)
	}
	return err
}

// encoder returns the function that writes keys and prefixes in a listing:
// URL-encoded (as S3 does, space as "+") for encoding-type=url.
func encoder(encodingType string) func(string) string {
	if encodingType == listing.EncodingURL {
		return url.QueryEscape
	}
	return func(s string) string { return s }
}

func (s *Service) objectXML(o store.Object, enc func(string) string, owner bool) objectXML {
	x := objectXML{
		Key: enc(o.Key), LastModified: formatTime(o.LastModified), ETag: `"` + o.ETag + `"`,
		Size: o.Size, StorageClass: storageClass(o), ChecksumType: o.ChecksumType,
	}
	for alg := range o.Checksums {
		x.ChecksumAlgorithm = append(x.ChecksumAlgorithm, alg)
	}
	if owner {
		x.Owner = &ownerXML{ID: CanonicalUserID(o.Owner)}
	}
	return x
}

func (s *Service) handleListObjectsV2(c *call) error {
	q := c.r.URL.Query()
	if err := s.authorize(c, "s3:ListBucket", ARN(c.bucket, ""), c.listConditions(q)); err != nil {
		return err
	}
	req, err := listing.ParseV2(q)
	if err != nil {
		return argumentError(err)
	}
	if _, err := s.bucket(c, c.bucket); err != nil {
		return err
	}
	page, err := s.listObjects(c.ctx, c.bucket, req.Params())
	if err != nil {
		return err
	}
	enc := encoder(req.EncodingType)
	res := listBucketV2Result{
		Name: c.bucket, Prefix: enc(req.Prefix), Delimiter: enc(req.Delimiter), StartAfter: enc(req.StartAfter),
		ContinuationToken: req.ContinuationToken, KeyCount: page.KeyCount(), MaxKeys: req.MaxKeys,
		EncodingType: req.EncodingType, IsTruncated: page.IsTruncated,
	}
	if page.IsTruncated {
		res.NextContinuationToken = listing.EncodeToken(page.Next)
	}
	for _, o := range page.Contents {
		res.Contents = append(res.Contents, s.objectXML(o, enc, req.FetchOwner))
	}
	for _, p := range page.CommonPrefixes {
		res.CommonPrefixes = append(res.CommonPrefixes, prefixXML{Prefix: enc(p)})
	}
	return c.writeXML(res)
}

func (s *Service) handleListObjects(c *call) error {
	q := c.r.URL.Query()
	if err := s.authorize(c, "s3:ListBucket", ARN(c.bucket, ""), c.listConditions(q)); err != nil {
		return err
	}
	req, err := listing.ParseV1(q)
	if err != nil {
		return argumentError(err)
	}
	if _, err := s.bucket(c, c.bucket); err != nil {
		return err
	}
	page, err := s.listObjects(c.ctx, c.bucket, req.Params())
	if err != nil {
		return err
	}
	enc := encoder(req.EncodingType)
	res := listBucketV1Result{
		Name: c.bucket, Prefix: enc(req.Prefix), Marker: enc(req.Marker), NextMarker: enc(listing.NextMarker(req, page)),
		MaxKeys: req.MaxKeys, Delimiter: enc(req.Delimiter), EncodingType: req.EncodingType, IsTruncated: page.IsTruncated,
	}
	for _, o := range page.Contents {
		res.Contents = append(res.Contents, s.objectXML(o, enc, true))
	}
	for _, p := range page.CommonPrefixes {
		res.CommonPrefixes = append(res.CommonPrefixes, prefixXML{Prefix: enc(p)})
	}
	return c.writeXML(res)
}
