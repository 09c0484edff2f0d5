package s3

import (
	"encoding/xml"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/keyless-dev/keyless/awsapi"
	"github.com/keyless-dev/keyless/store"
)

// Multipart uploads (the wire side): routing, decoding, authorization and
// S3's XML replies.

// routeMultipart finds the multipart operation of a request, or returns an
// empty action when the request is not one.
func routeMultipart(method, key string, q url.Values, h http.Header) (string, operation) {
	if key == "" {
		if method == http.MethodGet && q.Has("uploads") {
			return "ListMultipartUploads", (*Service).handleListMultipartUploads
		}
		return "", nil
	}
	switch {
	case method == http.MethodPost && q.Has("uploads"):
		return "CreateMultipartUpload", (*Service).handleCreateMultipartUpload
	case method == http.MethodPost && q.Has("uploadId"):
		return "CompleteMultipartUpload", (*Service).handleCompleteMultipartUpload
	case method == http.MethodPut && q.Has("uploadId") && q.Has("partNumber"):
		if h.Get("X-Amz-Copy-Source") != "" {
			return "UploadPartCopy", (*Service).handleUploadPartCopy
		}
		return "UploadPart", (*Service).handleUploadPart
	case method == http.MethodGet && q.Has("uploadId"):
		return "ListParts", (*Service).handleListParts
	case method == http.MethodDelete && q.Has("uploadId"):
		return "AbortMultipartUpload", (*Service).handleAbortMultipartUpload
	}
	return "", nil
}

// checksumsXML are the checksum elements of parts and completed objects.
type checksumsXML struct {
	ChecksumCRC32     string `xml:"ChecksumCRC32,omitempty"`
	ChecksumCRC32C    string `xml:"ChecksumCRC32C,omitempty"`
	ChecksumCRC64NVME string `xml:"ChecksumCRC64NVME,omitempty"`
	ChecksumSHA1      string `xml:"ChecksumSHA1,omitempty"`
	ChecksumSHA256    string `xml:"ChecksumSHA256,omitempty"`
}

// field returns the element of an algorithm, or nil.
func (x *checksumsXML) field(alg awsapi.ChecksumAlgorithm) *string {
	switch alg {
	case awsapi.ChecksumCRC32:
		return &x.ChecksumCRC32
	case awsapi.ChecksumCRC32C:
		return &x.ChecksumCRC32C
	case awsapi.ChecksumCRC64NVME:
		return &x.ChecksumCRC64NVME
	case awsapi.ChecksumSHA1:
		return &x.ChecksumSHA1
	case awsapi.ChecksumSHA256:
		return &x.ChecksumSHA256
	}
	return nil
}

func newChecksumsXML(sums map[string]string) checksumsXML {
	var x checksumsXML
	for alg, v := range sums {
		if f := x.field(awsapi.ChecksumAlgorithm(alg)); f != nil {
			*f = v
		}
	}
	return x
}

type initiateMultipartUploadResult struct {
	XMLName  xml.Name `xml:"http://s3.amazonaws.com/doc/2006-03-01/ InitiateMultipartUploadResult"`
	Bucket   string   `xml:"Bucket"`
	Key      string   `xml:"Key"`
	UploadID string   `xml:"UploadId"`
}

type completeMultipartUploadRequest struct {
	XMLName xml.Name `xml:"CompleteMultipartUpload"`
	Parts   []struct {
		PartNumber *int   `xml:"PartNumber"`
		ETag       string `xml:"ETag"`
		checksumsXML
	} `xml:"Part"`
}

type completeMultipartUploadResult struct {
	XMLName  xml.Name `xml:"http://s3.amazonaws.com/doc/2006-03-01/ CompleteMultipartUploadResult"`
	Location string   `xml:"Location"`
	Bucket   string   `xml:"Bucket"`
	Key      string   `xml:"Key"`
	ETag     string   `xml:"ETag"`
	checksumsXML
	ChecksumType string `xml:"ChecksumType,omitempty"`
}

type copyPartResult struct {
	XMLName      xml.Name `xml:"http://s3.amazonaws.com/doc/2006-03-01/ CopyPartResult"`
	ETag         string   `xml:"ETag"`
	LastModified string   `xml:"LastModified"`
	checksumsXML
}

type partXML struct {
	PartNumber   int    `xml:"PartNumber"`
	LastModified string `xml:"LastModified"`
	ETag         string `xml:"ETag"`
	Size         int64  `xml:"Size"`
	checksumsXML
}

type listPartsResult struct {
	XMLName              xml.Name  `xml:"http://s3.amazonaws.com/doc/2006-03-01/ ListPartsResult"`
	Bucket               string    `xml:"Bucket"`
	Key                  string    `xml:"Key"`
	UploadID             string    `xml:"UploadId"`
	PartNumberMarker     int       `xml:"PartNumberMarker"`
	NextPartNumberMarker int       `xml:"NextPartNumberMarker"`
	MaxParts             int       `xml:"MaxParts"`
	IsTruncated          bool      `xml:"IsTruncated"`
	Parts                []partXML `xml:"Part"`
	Initiator            ownerXML  `xml:"Initiator"`
	Owner                ownerXML  `xml:"Owner"`
	StorageClass         string    `xml:"StorageClass"`
	ChecksumAlgorithm    string    `xml:"ChecksumAlgorithm,omitempty"`
	ChecksumType         string    `xml:"ChecksumType,omitempty"`
}

type uploadXML struct {
	Key               string   `xml:"Key"`
	UploadID          string   `xml:"UploadId"`
	Initiator         ownerXML `xml:"Initiator"`
	Owner             ownerXML `xml:"Owner"`
	StorageClass      string   `xml:"StorageClass"`
	Initiated         string   `xml:"Initiated"`
	ChecksumAlgorithm string   `xml:"ChecksumAlgorithm,omitempty"`
	ChecksumType      string   `xml:"ChecksumType,omitempty"`
}

type listMultipartUploadsResult struct {
	XMLName            xml.Name    `xml:"http://s3.amazonaws.com/doc/2006-03-01/ ListMultipartUploadsResult"`
	Bucket             string      `xml:"Bucket"`
	KeyMarker          string      `xml:"KeyMarker"`
	UploadIDMarker     string      `xml:"UploadIdMarker"`
	NextKeyMarker      string      `xml:"NextKeyMarker,omitempty"`
	NextUploadIDMarker string      `xml:"NextUploadIdMarker,omitempty"`
	Prefix             string      `xml:"Prefix"`
	Delimiter          string      `xml:"Delimiter,omitempty"`
	MaxUploads         int         `xml:"MaxUploads"`
	EncodingType       string      `xml:"EncodingType,omitempty"`
	IsTruncated        bool        `xml:"IsTruncated"`
	Uploads            []uploadXML `xml:"Upload"`
	CommonPrefixes     []prefixXML `xml:"CommonPrefixes"`
}

// setPartChecksumHeaders sets the x-amz-checksum-* headers of a part's
// checksums.
func setPartChecksumHeaders(h http.Header, sums map[string]string) {
	for alg, v := range sums {
		if name := awsapi.ChecksumAlgorithm(alg).Header(); name != "" {
			h.Set(name, v)
		}
	}
}

// initiator is the Initiator of an upload: the caller's ARN.
func (s *Service) initiator(c *call) string {
	if s.cfg.Identify == nil {
		return ""
	}
	return s.cfg.Identify(c.ctx).Caller
}

func (s *Service) handleCreateMultipartUpload(c *call) error {
	h := c.r.Header
	if err := s.authorizeWrite(c); err != nil {
		return err
	}
	var alg awsapi.ChecksumAlgorithm
	if v := h.Get("X-Amz-Checksum-Algorithm"); v != "" {
		a, ok := awsapi.ParseChecksumAlgorithm(v)
		if !ok {
			return errInvalidRequest("Checksum algorithm provided is unsupported. Please try again with any of the valid types: [CRC32, CRC32C, CRC64NVME, SHA1, SHA256]")
		}
		alg = a
	}
	typ, err := checkUploadChecksum(alg, strings.ToUpper(h.Get("X-Amz-Checksum-Type")))
	if err != nil {
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
	u, err := s.createMultipartUpload(c.ctx, store.MultipartUpload{
		Bucket: c.bucket, Key: c.key, Owner: s.cfg.Account, Initiator: s.initiator(c),
		ObjectHeaders: oh, ChecksumAlgorithm: string(alg), ChecksumType: typ,
	})
	if err != nil {
		return err
	}
	if alg != "" {
		c.w.Header().Set("x-amz-checksum-algorithm", string(alg))
		c.w.Header().Set("x-amz-checksum-type", typ)
	}
	return c.writeXML(initiateMultipartUploadResult{Bucket: c.bucket, Key: c.key, UploadID: u.UploadID})
}

// partRequest authorizes an UploadPart or UploadPartCopy (s3:PutObject) and
// returns its upload and part number.
func (s *Service) partRequest(c *call, extra ...string) (store.MultipartUpload, int, error) {
	if err := s.authorize(c, "s3:PutObject", ARN(c.bucket, c.key), c.conditions(extra...)); err != nil {
		return store.MultipartUpload{}, 0, err
	}
	q := c.r.URL.Query()
	n, err := parsePartNumber(q.Get("partNumber"))
	if err != nil {
		return store.MultipartUpload{}, 0, err
	}
	if _, err := s.bucket(c, c.bucket); err != nil {
		return store.MultipartUpload{}, 0, err
	}
	u, err := s.multipartUpload(c.ctx, c.bucket, c.key, q.Get("uploadId"))
	return u, n, err
}

func (s *Service) handleUploadPart(c *call) error {
	u, n, err := s.partRequest(c)
	if err != nil {
		return err
	}
	var opts awsapi.PayloadOptions
	if u.ChecksumAlgorithm != "" {
		opts.Checksums = []awsapi.ChecksumAlgorithm{awsapi.ChecksumAlgorithm(u.ChecksumAlgorithm)}
	}
	pr, err := awsapi.NewPayloadReader(c.r, c.auth, opts)
	if err != nil {
		return err
	}
	if pr.ContentLength() > MaxPartSize {
		return errEntityTooLarge()
	}
	if u.ChecksumAlgorithm != "" {
		if alg := sentChecksumAlgorithm(c.r.Header); alg != "" && alg != awsapi.ChecksumAlgorithm(u.ChecksumAlgorithm) {
			return errInvalidRequest("Checksum Type mismatch occurred, expected checksum Type: " +
				strings.ToLower(u.ChecksumAlgorithm) + ", actual checksum Type: " + strings.ToLower(string(alg)))
		}
	}
	p, err := s.putPart(c.ctx, u, n, &sizeLimit{upload: pr, left: MaxPartSize})
	if err != nil {
		return err
	}
	wh := c.w.Header()
	wh.Set("ETag", `"`+p.ETag+`"`)
	setPartChecksumHeaders(wh, p.Checksums)
	wh.Set("Content-Length", "0")
	c.writeStatus(http.StatusOK)
	return nil
}

// sentChecksumAlgorithm is the checksum algorithm a request names in
// x-amz-sdk-checksum-algorithm, an x-amz-checksum-* header or x-amz-trailer,
// or "".
func sentChecksumAlgorithm(h http.Header) awsapi.ChecksumAlgorithm {
	if a, ok := awsapi.ParseChecksumAlgorithm(h.Get("X-Amz-Sdk-Checksum-Algorithm")); ok {
		return a
	}
	for _, name := range []string{h.Get("X-Amz-Trailer")} {
		if a, ok := awsapi.ParseChecksumAlgorithm(strings.TrimPrefix(strings.ToLower(strings.TrimSpace(name)), "x-amz-checksum-")); ok {
			return a
		}
	}
	for k := range h {
		l := strings.ToLower(k)
		if rest, ok := strings.CutPrefix(l, "x-amz-checksum-"); ok {
			if a, ok := awsapi.ParseChecksumAlgorithm(rest); ok {
				return a
			}
		}
	}
	return ""
}

// parseCopySourceRange reads x-amz-copy-source-range ("bytes=first-last")
// for a source of size bytes; without the header the whole source is copied.
func parseCopySourceRange(v string, size int64) (start, length int64, err error) {
	if v == "" {
		return 0, size, nil
	}
	bad := errInvalidArgument("The x-amz-copy-source-range value must be of the form bytes=first-last where first and last are the zero-based offsets of the first and last bytes to copy")
	spec, ok := strings.CutPrefix(v, "bytes=")
	if !ok {
		return 0, 0, bad
	}
	first, last, ok := strings.Cut(spec, "-")
	if !ok {
		return 0, 0, bad
	}
	a, err1 := strconv.ParseInt(first, 10, 64)
	b, err2 := strconv.ParseInt(last, 10, 64)
	if err1 != nil || err2 != nil || a < 0 || b < a {
		return 0, 0, bad
	}
	if b >= size {
		return 0, 0, errInvalidArgument("Range specified is not valid for source object of size: " + strconv.FormatInt(size, 10))
	}
	return a, b - a + 1, nil
}

func (s *Service) handleUploadPartCopy(c *call) error {
	h := c.r.Header
	srcBucket, srcKey, err := copySource(h.Get("X-Amz-Copy-Source"))
	if err != nil {
		return err
	}
	if err := CheckKey(srcKey); err != nil {
		return err
	}
	u, n, err := s.partRequest(c, "s3:x-amz-copy-source", h.Get("X-Amz-Copy-Source"))
	if err != nil {
		return err
	}
	if err := s.authorize(c, "s3:GetObject", ARN(srcBucket, srcKey), c.conditions()); err != nil {
		return err
	}
	if _, err := s.bucket(c, srcBucket); err != nil {
		return err
	}
	src, rd, err := s.openObject(c.ctx, srcBucket, srcKey)
	if err != nil {
		return err
	}
	defer rd.Close()
	if notModified, err := checkPreconditions(h, src, "X-Amz-Copy-Source-If-Match", "X-Amz-Copy-Source-If-Unmodified-Since",
		"X-Amz-Copy-Source-If-None-Match", "X-Amz-Copy-Source-If-Modified-Since"); err != nil || notModified {
		return errPreconditionFailed()
	}
	start, length, err := parseCopySourceRange(h.Get("X-Amz-Copy-Source-Range"), rd.Size())
	if err != nil {
		return err
	}
	if length > MaxPartSize {
		return errEntityTooLarge()
	}
	p, err := s.copyPart(c.ctx, u, n, rd, start, length)
	if err != nil {
		return err
	}
	return c.writeXML(copyPartResult{ETag: `"` + p.ETag + `"`, LastModified: formatTime(p.LastModified), checksumsXML: newChecksumsXML(p.Checksums)})
}

func (s *Service) handleCompleteMultipartUpload(c *call) error {
	if err := s.authorizeWrite(c); err != nil {
		return err
	}
	body, err := c.readXMLBody()
	if err != nil {
		return err
	}
	var req completeMultipartUploadRequest
	if err := xml.Unmarshal(body, &req); err != nil || len(req.Parts) == 0 || len(req.Parts) > MaxPartNumber {
		return errMalformedXML()
	}
	if _, err := s.bucket(c, c.bucket); err != nil {
		return err
	}
	u, err := s.multipartUpload(c.ctx, c.bucket, c.key, c.r.URL.Query().Get("uploadId"))
	if err != nil {
		return err
	}
	named := make([]completedPart, 0, len(req.Parts))
	for _, p := range req.Parts {
		if p.PartNumber == nil {
			return errMalformedXML()
		}
		cp := completedPart{Number: *p.PartNumber, ETag: strings.Trim(strings.TrimSpace(p.ETag), `"`)}
		if f := p.field(awsapi.ChecksumAlgorithm(u.ChecksumAlgorithm)); f != nil {
			cp.Checksum = *f
		}
		named = append(named, cp)
	}
	o, err := s.completeMultipartUpload(c.ctx, u, named, writeConditions(c.r.Header))
	if err != nil {
		return err
	}
	loc := "/" + c.bucket + "/" + (&url.URL{Path: c.key}).EscapedPath()
	if c.r.Host != "" {
		scheme := "http"
		if c.r.TLS != nil {
			scheme = "https"
		}
		loc = scheme + "://" + c.r.Host + loc
	}
	return c.writeXML(completeMultipartUploadResult{
		Location: loc, Bucket: c.bucket, Key: c.key, ETag: `"` + o.ETag + `"`,
		checksumsXML: newChecksumsXML(o.Checksums), ChecksumType: o.ChecksumType,
	})
}

func (s *Service) handleAbortMultipartUpload(c *call) error {
	if err := s.authorize(c, "s3:AbortMultipartUpload", ARN(c.bucket, c.key), c.conditions()); err != nil {
		return err
	}
	if _, err := s.bucket(c, c.bucket); err != nil {
		return err
	}
	if err := s.abortMultipartUpload(c.ctx, c.bucket, c.key, c.r.URL.Query().Get("uploadId")); err != nil {
		return err
	}
	c.writeStatus(http.StatusNoContent)
	return nil
}

// listLimit reads a max-parts or max-uploads parameter: 0 to maxListParts,
// maxListParts when absent.
func listLimit(q url.Values, name string) (int, error) {
	if !q.Has(name) {
		return maxListParts, nil
	}
	n, err := strconv.Atoi(q.Get(name))
	if err != nil || n < 0 {
		return 0, errInvalidArgument("Provided " + name + " not an integer or within integer range")
	}
	return min(n, maxListParts), nil
}

// uploadOwners are the Initiator and Owner elements of an upload.
func (s *Service) uploadOwners(u store.MultipartUpload) (initiator, owner ownerXML) {
	owner = ownerXML{ID: CanonicalUserID(u.Owner)}
	initiator = owner
	if u.Initiator != "" {
		initiator = ownerXML{ID: u.Initiator}
	}
	return initiator, owner
}

func (s *Service) handleListParts(c *call) error {
	if err := s.authorize(c, "s3:ListMultipartUploadParts", ARN(c.bucket, c.key), c.conditions()); err != nil {
		return err
	}
	q := c.r.URL.Query()
	limit, err := listLimit(q, "max-parts")
	if err != nil {
		return err
	}
	marker := 0
	if q.Has("part-number-marker") {
		if marker, err = strconv.Atoi(q.Get("part-number-marker")); err != nil || marker < 0 {
			return errInvalidArgument("Provided part-number-marker not an integer or within integer range")
		}
	}
	if _, err := s.bucket(c, c.bucket); err != nil {
		return err
	}
	u, err := s.multipartUpload(c.ctx, c.bucket, c.key, q.Get("uploadId"))
	if err != nil {
		return err
	}
	parts, err := s.cfg.Store.ListParts(c.ctx, u.UploadID)
	if err != nil {
		return err
	}
	i := slices.IndexFunc(parts, func(p store.Part) bool { return p.Number > marker })
	if i < 0 {
		i = len(parts)
	}
	parts = parts[i:]
	res := listPartsResult{
		Bucket: c.bucket, Key: c.key, UploadID: u.UploadID, PartNumberMarker: marker, MaxParts: limit,
		StorageClass:      storageClass(store.Object{ObjectHeaders: u.ObjectHeaders}),
		ChecksumAlgorithm: u.ChecksumAlgorithm, ChecksumType: u.ChecksumType,
	}
	res.Initiator, res.Owner = s.uploadOwners(u)
	if len(parts) > limit {
		parts, res.IsTruncated = parts[:limit], true
	}
	for _, p := range parts {
		res.Parts = append(res.Parts, partXML{
			PartNumber: p.Number, LastModified: formatTime(p.LastModified), ETag: `"` + p.ETag + `"`,
			Size: p.Size, checksumsXML: newChecksumsXML(p.Checksums),
		})
		res.NextPartNumberMarker = p.Number
	}
	return c.writeXML(res)
}

func (s *Service) handleListMultipartUploads(c *call) error {
	q := c.r.URL.Query()
	if err := s.authorize(c, "s3:ListBucketMultipartUploads", ARN(c.bucket, ""), c.listConditions(q)); err != nil {
		return err
	}
	limit, err := listLimit(q, "max-uploads")
	if err != nil {
		return err
	}
	encType := q.Get("encoding-type")
	if encType != "" && encType != "url" {
		return errInvalidArgument("Invalid Encoding Method specified in Request")
	}
	prefix, delim := q.Get("prefix"), q.Get("delimiter")
	keyMarker, idMarker := q.Get("key-marker"), q.Get("upload-id-marker")
	if _, err := s.bucket(c, c.bucket); err != nil {
		return err
	}
	all, err := s.cfg.Store.ListMultipartUploads(c.ctx, c.bucket, prefix)
	if err != nil {
		return err
	}
	// Skip to after the markers: past key-marker, or past the upload
	// upload-id-marker of key-marker.
	start := 0
	if keyMarker != "" {
		start = len(all)
		for i, u := range all {
			rolledUp := delim != "" && strings.HasSuffix(keyMarker, delim) && strings.HasPrefix(u.Key, keyMarker)
			if u.Key > keyMarker && !rolledUp {
				start = i
				break
			}
			if idMarker != "" && u.Key == keyMarker && u.UploadID == idMarker {
				start = i + 1
				break
			}
		}
	}
	enc := encoder(encType)
	res := listMultipartUploadsResult{
		Bucket: c.bucket, KeyMarker: enc(keyMarker), UploadIDMarker: idMarker, Prefix: enc(prefix),
		Delimiter: enc(delim), MaxUploads: limit, EncodingType: encType,
	}
	lastPrefix := ""
	count := 0
	for _, u := range all[start:] {
		cp := ""
		if delim != "" {
			if i := strings.Index(u.Key[len(prefix):], delim); i >= 0 {
				cp = u.Key[:len(prefix)+i+len(delim)]
			}
		}
		if cp != "" && cp == lastPrefix {
			continue
		}
		if count == limit {
			res.IsTruncated = true
			break
		}
		count++
		if cp != "" {
			lastPrefix = cp
			res.CommonPrefixes = append(res.CommonPrefixes, prefixXML{Prefix: enc(cp)})
			res.NextKeyMarker, res.NextUploadIDMarker = enc(cp), ""
			continue
		}
		x := uploadXML{
			Key: enc(u.Key), UploadID: u.UploadID, Initiated: formatTime(u.Initiated),
			StorageClass:      storageClass(store.Object{ObjectHeaders: u.ObjectHeaders}),
			ChecksumAlgorithm: u.ChecksumAlgorithm, ChecksumType: u.ChecksumType,
		}
		x.Initiator, x.Owner = s.uploadOwners(u)
		res.Uploads = append(res.Uploads, x)
		res.NextKeyMarker, res.NextUploadIDMarker = enc(u.Key), u.UploadID
	}
	if !res.IsTruncated {
		res.NextKeyMarker, res.NextUploadIDMarker = "", ""
	}
	return c.writeXML(res)
}
