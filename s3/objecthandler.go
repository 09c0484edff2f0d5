package s3

import (
	"encoding/xml"
	"errors"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/keyless-dev/keyless/awsapi"
	"github.com/keyless-dev/keyless/store"
)

// storageClasses are the x-amz-storage-class values S3 accepts.
var storageClasses = []string{
	"STANDARD", "REDUCED_REDUNDANCY", "STANDARD_IA", "ONEZONE_IA", "INTELLIGENT_TIERING",
	"GLACIER", "DEEP_ARCHIVE", "OUTPOSTS", "GLACIER_IR", "SNOW", "EXPRESS_ONEZONE",
}

// cannedACLs are the x-amz-acl values S3 accepts.
var cannedACLs = []string{
	"private", "public-read", "public-read-write", "authenticated-read", "aws-exec-read",
	"bucket-owner-read", "bucket-owner-full-control", "log-delivery-write",
}

func validCannedACL(acl string) bool { return slices.Contains(cannedACLs, acl) }

// hasGrantHeaders reports whether a request sets an ACL with x-amz-grant-*.
func hasGrantHeaders(h http.Header) bool {
	for k := range h {
		if strings.HasPrefix(strings.ToLower(k), "x-amz-grant-") {
			return true
		}
	}
	return false
}

// storageClass is an object's storage class as S3 lists it.
func storageClass(o store.Object) string {
	if o.StorageClass == "" {
		return "STANDARD"
	}
	return o.StorageClass
}

// objectACL checks the ACL a PutObject or CopyObject request sets against the
// bucket's object ownership: with ACLs disabled (BucketOwnerEnforced) only
// bucket-owner-full-control is accepted, as S3 does; otherwise the canned ACL
// becomes the object's grants.
func (s *Service) objectACL(b store.Bucket, h http.Header, owner string) ([]store.Grant, error) {
	acl := h.Get("X-Amz-Acl")
	if acl != "" && !validCannedACL(acl) {
		return nil, errInvalidArgument("")
	}
	if b.ObjectOwnership == ownershipEnforced || b.ObjectOwnership == "" {
		if acl != "" && acl != "bucket-owner-full-control" || hasGrantHeaders(h) {
			return nil, errACLNotSupported()
		}
		return nil, nil
	}
	if hasGrantHeaders(h) {
		return nil, errNotImplemented()
	}
	if acl == "" {
		return nil, nil
	}
	grants := []store.Grant{{Grantee: store.Grantee{Type: "CanonicalUser", ID: CanonicalUserID(owner)}, Permission: "FULL_CONTROL"}}
	group := func(uri, perm string) {
		grants = append(grants, store.Grant{Grantee: store.Grantee{Type: "Group", URI: uri}, Permission: perm})
	}
	const allUsers = "http://acs.amazonaws.com/groups/global/AllUsers"
	switch acl {
	case "public-read":
		group(allUsers, "READ")
	case "public-read-write":
		group(allUsers, "READ")
		group(allUsers, "WRITE")
	case "authenticated-read":
		group("http://acs.amazonaws.com/groups/global/AuthenticatedUsers", "READ")
	case "bucket-owner-read", "bucket-owner-full-control":
		perm := "READ"
		if acl == "bucket-owner-full-control" {
			perm = "FULL_CONTROL"
		}
		grants = append(grants, store.Grant{Grantee: store.Grantee{Type: "CanonicalUser", ID: CanonicalUserID(b.Owner)}, Permission: perm})
	}
	return grants, nil
}

// objectHeaders reads the system and user metadata of a PutObject (or a
// CopyObject with REPLACE).
func objectHeaders(h http.Header) (store.ObjectHeaders, error) {
	oh := store.ObjectHeaders{
		ContentType:        h.Get("Content-Type"),
		CacheControl:       h.Get("Cache-Control"),
		ContentEncoding:    awsapi.StoredContentEncoding(h),
		ContentDisposition: h.Get("Content-Disposition"),
		ContentLanguage:    h.Get("Content-Language"),
		Expires:            h.Get("Expires"),
	}
	if err := setStorageClass(&oh, h); err != nil {
		return oh, err
	}
	size := 0
	for k, vs := range h {
		name, ok := strings.CutPrefix(strings.ToLower(k), "x-amz-meta-")
		if !ok || name == "" {
			continue
		}
		v := strings.Join(vs, ",")
		size += len(name) + len(v)
		if oh.Metadata == nil {
			oh.Metadata = map[string]string{}
		}
		oh.Metadata[name] = v
	}
	if size > MaxMetadataSize {
		return oh, errMetadataTooLarge()
	}
	return oh, nil
}

// setStorageClass sets the storage class x-amz-storage-class names, if any.
func setStorageClass(oh *store.ObjectHeaders, h http.Header) error {
	sc := h.Get("X-Amz-Storage-Class")
	if sc == "" {
		return nil
	}
	if !slices.Contains(storageClasses, sc) {
		return errInvalidStorageClass()
	}
	oh.StorageClass = sc
	if sc == "STANDARD" {
		oh.StorageClass = ""
	}
	return nil
}

// aclConditions are the s3:x-amz-acl condition key when the request has it.
func aclConditions(h http.Header) []string {
	if acl := h.Get("X-Amz-Acl"); acl != "" {
		return []string{"s3:x-amz-acl", acl}
	}
	return nil
}

// authorizeWrite authorizes s3:PutObject on the object, and s3:PutObjectAcl
// too when the request sets an ACL.
func (s *Service) authorizeWrite(c *call, extra ...string) error {
	h := c.r.Header
	conds := c.conditions(append(extra, aclConditions(h)...)...)
	if err := s.authorize(c, "s3:PutObject", ARN(c.bucket, c.key), conds); err != nil {
		return err
	}
	if h.Get("X-Amz-Acl") != "" || hasGrantHeaders(h) {
		return s.authorize(c, "s3:PutObjectAcl", ARN(c.bucket, c.key), conds)
	}
	return nil
}

// writeConditions is the check of a conditional PutObject (If-Match,
// If-None-Match: *) against the current object, or nil.
func writeConditions(h http.Header) func(cur *store.Object) error {
	match, noneMatch := h.Get("If-Match"), h.Get("If-None-Match")
	if match == "" && noneMatch == "" {
		return nil
	}
	return func(cur *store.Object) error {
		if noneMatch != "" && cur != nil && etagMatches(noneMatch, cur.ETag) {
			return errPreconditionFailed()
		}
		if match != "" && (cur == nil || !etagMatches(match, cur.ETag)) {
			if cur == nil {
				return errNoSuchKey()
			}
			return errPreconditionFailed()
		}
		return nil
	}
}

func (s *Service) handlePutObject(c *call) error {
	h := c.r.Header
	if err := s.authorizeWrite(c); err != nil {
		return err
	}
	b, err := s.bucket(c, c.bucket)
	if err != nil {
		return err
	}
	grants, err := s.objectACL(b, h, s.cfg.Account)
	if err != nil {
		return err
	}
	oh, err := objectHeaders(h)
	if err != nil {
		return err
	}
	oh.ACL = grants
	pr, err := awsapi.NewPayloadReader(c.r, c.auth, awsapi.PayloadOptions{Checksums: []awsapi.ChecksumAlgorithm{awsapi.ChecksumCRC64NVME}})
	if err != nil {
		return err
	}
	if pr.ContentLength() > MaxObjectSize {
		return errEntityTooLarge()
	}
	cond := writeConditions(h)
	if cond != nil { // fail early, before reading the body; the commit checks again
		cur, err := s.cfg.Store.GetObject(c.ctx, c.bucket, c.key)
		var curp *store.Object
		if err == nil {
			curp = &cur
		}
		if err := cond(curp); err != nil {
			return err
		}
	}
	// A body of unknown length (aws-chunked without
	// x-amz-decoded-content-length) is cut off at MaxObjectSize.
	body := &sizeLimit{upload: pr, left: MaxObjectSize}
	o, err := s.putObject(c.ctx, store.Object{Bucket: c.bucket, Key: c.key, Owner: s.cfg.Account, ObjectHeaders: oh}, body, cond)
	if err != nil {
		return err
	}
	wh := c.w.Header()
	wh.Set("ETag", `"`+o.ETag+`"`)
	setChecksumHeaders(wh, o)
	wh.Set("Content-Length", "0")
	c.writeStatus(http.StatusOK)
	return nil
}

// setChecksumHeaders sets the x-amz-checksum-* and x-amz-checksum-type
// headers of an object's stored checksum.
func setChecksumHeaders(h http.Header, o store.Object) {
	for alg, v := range o.Checksums {
		if name := awsapi.ChecksumAlgorithm(alg).Header(); name != "" {
			h.Set(name, v)
		}
	}
	if o.ChecksumType != "" {
		h.Set("x-amz-checksum-type", o.ChecksumType)
	}
}

// etagMatches reports whether an If-Match or If-None-Match list names etag
// (unquoted) or is "*". Weak tags compare by their value.
func etagMatches(list, etag string) bool {
	for _, t := range strings.Split(list, ",") {
		t = strings.TrimSpace(t)
		t = strings.TrimPrefix(t, "W/")
		if t == "*" || strings.Trim(t, `"`) == etag {
			return true
		}
	}
	return false
}

// checkPreconditions evaluates the conditional headers named by the four
// arguments (RFC 9110 order, as S3 does): it returns PreconditionFailed,
// 304 (notModified true) or nil.
func checkPreconditions(h http.Header, o store.Object, ifMatch, ifUnmodified, ifNoneMatch, ifModified string) (notModified bool, err error) {
	if v := h.Get(ifMatch); v != "" {
		if !etagMatches(v, o.ETag) {
			return false, errPreconditionFailed()
		}
	} else if v := h.Get(ifUnmodified); v != "" {
		if t, perr := http.ParseTime(v); perr == nil && o.LastModified.Truncate(time.Second).After(t) {
			return false, errPreconditionFailed()
		}
	}
	if v := h.Get(ifNoneMatch); v != "" {
		return etagMatches(v, o.ETag), nil
	}
	if v := h.Get(ifModified); v != "" {
		if t, perr := http.ParseTime(v); perr == nil && !o.LastModified.Truncate(time.Second).After(t) {
			return true, nil
		}
	}
	return false, nil
}

// parseRange reads a Range header for an object of size bytes: ok is false
// when the whole object is to be sent (no header, or one S3 ignores: not
// bytes, several ranges, malformed); InvalidRange when it is not satisfiable.
func parseRange(v string, size int64) (start, length int64, ok bool, err error) {
	spec, found := strings.CutPrefix(v, "bytes=")
	if v == "" || !found || strings.Contains(spec, ",") {
		return 0, size, false, nil
	}
	first, last, found := strings.Cut(strings.TrimSpace(spec), "-")
	if !found {
		return 0, size, false, nil
	}
	if first == "" { // suffix: the last n bytes
		n, perr := strconv.ParseInt(last, 10, 64)
		if perr != nil || n < 0 {
			return 0, size, false, nil
		}
		if n == 0 || size == 0 {
			return 0, 0, false, errInvalidRange()
		}
		n = min(n, size)
		return size - n, n, true, nil
	}
	a, perr := strconv.ParseInt(first, 10, 64)
	if perr != nil || a < 0 {
		return 0, size, false, nil
	}
	b := size - 1
	if last != "" {
		if b, perr = strconv.ParseInt(last, 10, 64); perr != nil || b < a {
			return 0, size, false, nil
		}
	}
	if a >= size {
		return 0, 0, false, errInvalidRange()
	}
	b = min(b, size-1)
	return a, b - a + 1, true, nil
}

// responseOverrides are the GetObject query parameters that override reply
// headers (for presigned links).
var responseOverrides = [][2]string{
	{"response-content-type", "Content-Type"},
	{"response-content-language", "Content-Language"},
	{"response-expires", "Expires"},
	{"response-cache-control", "Cache-Control"},
	{"response-content-disposition", "Content-Disposition"},
	{"response-content-encoding", "Content-Encoding"},
}

// setObjectHeaders sets the headers of a GetObject or HeadObject reply.
func setObjectHeaders(h http.Header, o store.Object) {
	h.Set("Last-Modified", o.LastModified.UTC().Format(http.TimeFormat))
	h.Set("ETag", `"`+o.ETag+`"`)
	ct := o.ContentType
	if ct == "" {
		ct = "binary/octet-stream"
	}
	h.Set("Content-Type", ct)
	for _, kv := range [][2]string{
		{"Cache-Control", o.CacheControl}, {"Content-Encoding", o.ContentEncoding},
		{"Content-Disposition", o.ContentDisposition}, {"Content-Language", o.ContentLanguage},
		{"Expires", o.Expires},
	} {
		if kv[1] != "" {
			h.Set(kv[0], kv[1])
		}
	}
	if o.StorageClass != "" && o.StorageClass != "STANDARD" {
		h.Set("x-amz-storage-class", o.StorageClass)
	}
	for k, v := range o.Metadata {
		h["X-Amz-Meta-"+k] = []string{v}
	}
	h.Set("Accept-Ranges", "bytes")
}

func (s *Service) handleGetObject(c *call) error {
	if err := s.authorize(c, "s3:GetObject", ARN(c.bucket, c.key), c.conditions()); err != nil {
		return err
	}
	if _, err := s.bucket(c, c.bucket); err != nil {
		return err
	}
	o, rd, err := s.openObject(c.ctx, c.bucket, c.key)
	if err != nil {
		return err
	}
	defer rd.Close()
	h := c.w.Header()
	notModified, err := checkPreconditions(c.r.Header, o, "If-Match", "If-Unmodified-Since", "If-None-Match", "If-Modified-Since")
	if err != nil {
		return err
	}
	if notModified {
		h.Set("ETag", `"`+o.ETag+`"`)
		h.Set("Last-Modified", o.LastModified.UTC().Format(http.TimeFormat))
		c.writeStatus(http.StatusNotModified)
		return nil
	}
	start, length, partial, err := parseRange(c.r.Header.Get("Range"), o.Size)
	if err != nil {
		return err
	}
	setObjectHeaders(h, o)
	q := c.r.URL.Query()
	for _, kv := range responseOverrides {
		if q.Has(kv[0]) {
			h.Set(kv[1], q.Get(kv[0]))
		}
	}
	if strings.EqualFold(c.r.Header.Get("X-Amz-Checksum-Mode"), "ENABLED") && !partial {
		setChecksumHeaders(h, o)
	}
	h.Set("Content-Length", strconv.FormatInt(length, 10))
	status := http.StatusOK
	if partial {
		status = http.StatusPartialContent
		h.Set("Content-Range", "bytes "+strconv.FormatInt(start, 10)+"-"+strconv.FormatInt(start+length-1, 10)+"/"+strconv.FormatInt(o.Size, 10))
	}
	c.writeStatus(status)
	if c.r.Method == http.MethodHead {
		return nil
	}
	if _, err := io.Copy(c.w, io.NewSectionReader(rd, start, length)); err != nil {
		return err // the reply is cut short
	}
	return nil
}

func (s *Service) handleDeleteObject(c *call) error {
	if err := s.authorize(c, "s3:DeleteObject", ARN(c.bucket, c.key), c.conditions()); err != nil {
		return err
	}
	if _, err := s.bucket(c, c.bucket); err != nil {
		return err
	}
	if err := s.deleteObject(c.ctx, c.bucket, c.key); err != nil {
		return err
	}
	c.writeStatus(http.StatusNoContent)
	return nil
}

// hasChecksumHeader reports whether a request carries an integrity check of
// its body, which DeleteObjects requires.
func hasChecksumHeader(h http.Header) bool {
	for k := range h {
		l := strings.ToLower(k)
		if l == "content-md5" || l == "x-amz-trailer" || l == "x-amz-sdk-checksum-algorithm" ||
			strings.HasPrefix(l, "x-amz-checksum-") && l != "x-amz-checksum-type" && l != "x-amz-checksum-mode" {
			return true
		}
	}
	return false
}

func (s *Service) handleDeleteObjects(c *call) error {
	// Each key is authorized as s3:DeleteObject below; the bucket is the
	// call's audited resource.
	c.resource = ARN(c.bucket, "")
	if !hasChecksumHeader(c.r.Header) {
		return errInvalidRequest("Missing required header for this request: Content-Md5.")
	}
	body, err := c.readXMLBody()
	if err != nil {
		return err
	}
	var req deleteRequest
	if err := xml.Unmarshal(body, &req); err != nil || len(req.Objects) == 0 || len(req.Objects) > MaxDeleteObjects {
		return errMalformedXML()
	}
	if _, err := s.bucket(c, c.bucket); err != nil {
		return err
	}
	var res deleteResult
	for _, obj := range req.Objects {
		if obj.Key == nil {
			return errMalformedXML()
		}
		key := *obj.Key
		fail := func(err error) {
			ae := awsapi.AsError(err)
			code := ae.Code
			if code == "InternalFailure" {
				code = "InternalError"
			}
			res.Errors = append(res.Errors, deleteErrorXML{Key: key, Code: code, Message: ae.Message})
		}
		if err := CheckKey(key); err != nil {
			fail(err)
			continue
		}
		bucketPolicy, err := s.bucketPolicy(c, ARN(c.bucket, key))
		if err == nil {
			err = s.cfg.Authorizer.Authorize(c.ctx, "s3:DeleteObject", ARN(c.bucket, key), c.conditions(), bucketPolicy)
		}
		if err != nil {
			if _, out := accessDenied(err); out != nil {
				fail(out)
			}
			continue
		}
		if err := s.deleteObject(c.ctx, c.bucket, key); err != nil {
			if s.cfg.Logger != nil {
				s.cfg.Logger.Error("s3: delete object", "request_id", c.requestID, "err", err)
			}
			fail(err)
			continue
		}
		if !req.Quiet {
			res.Deleted = append(res.Deleted, deletedXML{Key: key})
		}
	}
	return c.writeXML(res)
}

// copySource parses x-amz-copy-source: "bucket/key" or "/bucket/key",
// URL-encoded, optionally with "?versionId=null".
func copySource(v string) (bucket, key string, err error) {
	raw, query, _ := strings.Cut(v, "?")
	if query != "" {
		q, perr := url.ParseQuery(query)
		if perr != nil || len(q) != 1 || !q.Has("versionId") {
			return "", "", errInvalidArgument("Invalid copy source object key")
		}
		if q.Get("versionId") != "null" {
			return "", "", errInvalidArgument("Invalid version id specified")
		}
	}
	raw, err = url.PathUnescape(strings.TrimPrefix(raw, "/"))
	if err != nil {
		return "", "", errInvalidArgument("Invalid copy source encoding")
	}
	bucket, key, ok := strings.Cut(raw, "/")
	if !ok || bucket == "" || key == "" {
		return "", "", errInvalidArgument("Invalid copy source object key")
	}
	return bucket, key, nil
}

func (s *Service) handleCopyObject(c *call) error {
	h := c.r.Header
	srcBucket, srcKey, err := copySource(h.Get("X-Amz-Copy-Source"))
	if err != nil {
		return err
	}
	if err := CheckKey(srcKey); err != nil {
		return err
	}
	directive := h.Get("X-Amz-Metadata-Directive")
	extra := []string{"s3:x-amz-copy-source", h.Get("X-Amz-Copy-Source")}
	if directive != "" {
		extra = append(extra, "s3:x-amz-metadata-directive", directive)
	}
	if err := s.authorizeWrite(c, extra...); err != nil {
		return err
	}
	if err := s.authorize(c, "s3:GetObject", ARN(srcBucket, srcKey), c.conditions()); err != nil {
		return err
	}
	switch directive {
	case "", "COPY", "REPLACE":
	default:
		return errInvalidArgument("Unknown metadata directive.")
	}
	b, err := s.bucket(c, c.bucket)
	if err != nil {
		return err
	}
	if _, err := s.bucket(c, srcBucket); err != nil {
		return err
	}
	src, err := s.object(c.ctx, srcBucket, srcKey)
	if err != nil {
		return err
	}
	if notModified, err := checkPreconditions(h, src, "X-Amz-Copy-Source-If-Match", "X-Amz-Copy-Source-If-Unmodified-Since",
		"X-Amz-Copy-Source-If-None-Match", "X-Amz-Copy-Source-If-Modified-Since"); err != nil || notModified {
		return errPreconditionFailed()
	}
	grants, err := s.objectACL(b, h, s.cfg.Account)
	if err != nil {
		return err
	}
	var oh store.ObjectHeaders
	if directive == "REPLACE" {
		if oh, err = objectHeaders(h); err != nil {
			return err
		}
	} else {
		oh = src.ObjectHeaders
		if h.Get("X-Amz-Storage-Class") != "" {
			if err := setStorageClass(&oh, h); err != nil {
				return err
			}
		}
		if srcBucket == c.bucket && srcKey == c.key && oh.StorageClass == src.StorageClass {
			return errCopyToItself()
		}
	}
	oh.ACL, oh.Tags = grants, src.Tags
	o, err := s.copyObject(c.ctx, src, store.Object{Bucket: c.bucket, Key: c.key, Owner: s.cfg.Account, ObjectHeaders: oh})
	if err != nil {
		return err
	}
	res := copyObjectResult{ETag: `"` + o.ETag + `"`, LastModified: formatTime(o.LastModified), ChecksumType: o.ChecksumType}
	for alg, v := range o.Checksums {
		switch awsapi.ChecksumAlgorithm(alg) {
		case awsapi.ChecksumCRC32:
			res.ChecksumCRC32 = v
		case awsapi.ChecksumCRC32C:
			res.ChecksumCRC32C = v
		case awsapi.ChecksumCRC64NVME:
			res.ChecksumCRC64NVME = v
		case awsapi.ChecksumSHA1:
			res.ChecksumSHA1 = v
		case awsapi.ChecksumSHA256:
			res.ChecksumSHA256 = v
		}
	}
	return c.writeXML(res)
}

// errorsIsAWS reports whether err carries an S3 error to send as it is.
func errorsIsAWS(err error) bool {
	var ae *awsapi.Error
	return errors.As(err, &ae)
}

// sizeLimit fails an upload with EntityTooLarge once it passes left bytes.
type sizeLimit struct {
	upload
	left int64
}

func (l *sizeLimit) Read(p []byte) (int, error) {
	n, err := l.upload.Read(p)
	if l.left -= int64(n); l.left < 0 {
		return n, errEntityTooLarge()
	}
	return n, err
}
