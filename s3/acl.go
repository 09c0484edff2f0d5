package s3

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/keyless-dev/keyless/awsapi"
	"github.com/keyless-dev/keyless/store"
)

// Access control lists and Object Ownership: GetObjectAcl, PutObjectAcl,
// GetBucketAcl and PutBucketAcl (the ?acl subresource of an object or a
// bucket); PutBucketOwnershipControls, GetBucketOwnershipControls and
// DeleteBucketOwnershipControls (a bucket's ?ownershipControls); and the
// read access an object ACL grants to the AllUsers and AuthenticatedUsers
// groups, which authorize consults after a denial of s3:GetObject.
//
// As in S3, a bucket whose Object Ownership is BucketOwnerEnforced has ACLs
// disabled: its ACLs, and its objects', read back as the bucket owner's
// FULL_CONTROL, a PutBucketAcl or PutObjectAcl that sets anything else is
// refused with AccessControlListNotSupported, and ACLs grant nothing.

// The predefined groups an ACL may grant to.
const (
	groupAllUsers           = "http://acs.amazonaws.com/groups/global/AllUsers"
	groupAuthenticatedUsers = "http://acs.amazonaws.com/groups/global/AuthenticatedUsers"
	groupLogDelivery        = "http://acs.amazonaws.com/groups/s3/LogDelivery"
)

// Grantee types, as xsi:type names them.
const (
	granteeCanonicalUser = "CanonicalUser"
	granteeGroup         = "Group"
	granteeEmail         = "AmazonCustomerByEmail"
)

// ACL permissions.
const (
	permFullControl = "FULL_CONTROL"
	permRead        = "READ"
	permWrite       = "WRITE"
	permReadACP     = "READ_ACP"
	permWriteACP    = "WRITE_ACP"
)

// xsiNamespace is the XML Schema instance namespace of a Grantee's xsi:type.
const xsiNamespace = "http://www.w3.org/2001/XMLSchema-instance"

// grantHeaders are the x-amz-grant-* headers and the permission each grants,
// in the order their grants are listed.
var grantHeaders = [...]struct{ header, perm string }{
	{"X-Amz-Grant-Full-Control", permFullControl},
	{"X-Amz-Grant-Read", permRead},
	{"X-Amz-Grant-Read-Acp", permReadACP},
	{"X-Amz-Grant-Write", permWrite},
	{"X-Amz-Grant-Write-Acp", permWriteACP},
}

// Configurations key and value that record a bucket whose ownership controls
// were deleted (DeleteBucketOwnershipControls): the store keeps
// ObjectOwnership non-empty, so the bucket is stored as ObjectWriter, which
// is how S3 treats a bucket without ownership controls (ACLs enabled, the
// writer owns what it uploads), with this mark so that
// GetBucketOwnershipControls answers OwnershipControlsNotFoundError.
const (
	ownershipControlsConfig = "ownershipControls"
	noOwnershipControls     = "none"
)

// canonicalIDLen is the length of an S3 canonical user ID (hex digits).
const canonicalIDLen = 64

func errMalformedACL() *awsapi.Error {
	return awsapi.NewError("MalformedACLError", http.StatusBadRequest,
		"The XML you provided was not well-formed or did not validate against our published schema")
}

func errMissingACLHeader() *awsapi.Error {
	return awsapi.NewError("MissingSecurityHeader", http.StatusBadRequest, "Your request was missing a required header")
}

func errACLBothCannedAndGrants() *awsapi.Error {
	return errInvalidRequest("Specifying both Canned ACLs and Header Grants is not allowed")
}

func errUnexpectedContent() *awsapi.Error {
	return awsapi.NewError("UnexpectedContent", http.StatusBadRequest, "This request does not support content")
}

func errUnresolvableEmail() *awsapi.Error {
	return awsapi.NewError("UnresolvableGrantByEmailAddress", http.StatusBadRequest,
		"The e-mail address you provided does not match any account on record.")
}

func errOwnershipControlsNotFound() *awsapi.Error {
	return awsapi.NewError("OwnershipControlsNotFoundError", http.StatusNotFound, "The bucket ownership controls were not found")
}

// XML documents.

// granteeXML is a Grantee as S3 sends it, with its xsi:type.
type granteeXML struct {
	XSI          string `xml:"xmlns:xsi,attr"`
	Type         string `xml:"xsi:type,attr"`
	ID           string `xml:"ID,omitempty"`
	DisplayName  string `xml:"DisplayName,omitempty"`
	EmailAddress string `xml:"EmailAddress,omitempty"`
	URI          string `xml:"URI,omitempty"`
}

type grantXML struct {
	Grantee    granteeXML `xml:"Grantee"`
	Permission string     `xml:"Permission"`
}

// accessControlPolicy is the reply of GetObjectAcl and GetBucketAcl.
type accessControlPolicy struct {
	XMLName xml.Name `xml:"http://s3.amazonaws.com/doc/2006-03-01/ AccessControlPolicy"`
	Owner   ownerXML `xml:"Owner"`
	ACL     struct {
		Grants []grantXML `xml:"Grant"`
	} `xml:"AccessControlList"`
}

// accessControlPolicyRequest is the body of PutObjectAcl and PutBucketAcl, in
// S3's namespace or none. Pointers tell a missing element from an empty one.
type accessControlPolicyRequest struct {
	XMLName xml.Name
	Owner   *struct {
		ID *string `xml:"ID"`
	} `xml:"Owner"`
	ACL *struct {
		Grants []struct {
			Grantee *struct {
				Type         string  `xml:"type,attr"` // xsi:type
				ID           *string `xml:"ID"`
				EmailAddress *string `xml:"EmailAddress"`
				URI          *string `xml:"URI"`
			} `xml:"Grantee"`
			Permission string `xml:"Permission"`
		} `xml:"Grant"`
	} `xml:"AccessControlList"`
}

// ownershipControls is the reply of GetBucketOwnershipControls.
type ownershipControls struct {
	XMLName xml.Name                `xml:"http://s3.amazonaws.com/doc/2006-03-01/ OwnershipControls"`
	Rules   []ownershipControlsRule `xml:"Rule"`
}

type ownershipControlsRule struct {
	ObjectOwnership string `xml:"ObjectOwnership"`
}

// ownershipControlsRequest is the body of PutBucketOwnershipControls.
type ownershipControlsRequest struct {
	XMLName xml.Name
	Rules   []ownershipControlsRule `xml:"Rule"`
}

// Routing.

// routeACL finds the operation of a request on a bucket's or an object's ?acl.
func routeACL(method, key string) (string, operation) {
	switch {
	case method == http.MethodGet && key == "":
		return "GetBucketAcl", (*Service).handleGetBucketACL
	case method == http.MethodPut && key == "":
		return "PutBucketAcl", (*Service).handlePutBucketACL
	case method == http.MethodGet:
		return "GetObjectAcl", (*Service).handleGetObjectACL
	case method == http.MethodPut:
		return "PutObjectAcl", (*Service).handlePutObjectACL
	}
	return "", nil
}

// routeOwnershipControls finds the operation of a request on a bucket's
// ?ownershipControls; objects have none.
func routeOwnershipControls(method, key string) (string, operation) {
	if key != "" {
		return "Unsupported", nil
	}
	switch method {
	case http.MethodPut:
		return "PutBucketOwnershipControls", (*Service).handlePutBucketOwnershipControls
	case http.MethodGet:
		return "GetBucketOwnershipControls", (*Service).handleGetBucketOwnershipControls
	case http.MethodDelete:
		return "DeleteBucketOwnershipControls", (*Service).handleDeleteBucketOwnershipControls
	}
	return "", nil
}

// Parsing a Put*Acl request.

// aclRequest is the ACL a PutObjectAcl or PutBucketAcl sets.
type aclRequest struct {
	canned string // the x-amz-acl, if that is how it was set
	grants []store.Grant
}

// aclOwners are the canonical user IDs an ACL is read against: the owner of
// the bucket or object whose ACL it is, the bucket's owner, and every ID a
// grant may name (S3 refuses IDs of no account with "Invalid id").
type aclOwners struct {
	owner, bucketOwner string
	known              []string
}

// validCanonicalID reports whether id has the form of an S3 canonical user
// ID: 64 hex digits.
func validCanonicalID(id string) bool {
	if len(id) != canonicalIDLen {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
			return false
		}
	}
	return true
}

// validGroup reports whether uri is one of S3's predefined groups.
func validGroup(uri string) bool {
	return uri == groupAllUsers || uri == groupAuthenticatedUsers || uri == groupLogDelivery
}

// validPermission reports whether p is an ACL permission.
func validPermission(p string) bool {
	switch p {
	case permFullControl, permRead, permWrite, permReadACP, permWriteACP:
		return true
	}
	return false
}

// parseACLRequest reads the ACL of a PutObjectAcl (bucket false) or
// PutBucketAcl (bucket true) request: exactly one of a canned x-amz-acl, the
// x-amz-grant-* headers, or an AccessControlPolicy body, checked as S3 checks
// them: MissingSecurityHeader for none, InvalidRequest for a canned ACL with
// grant headers, UnexpectedContent for either with a body, InvalidArgument
// for an unknown canned ACL, a grant header S3 cannot read, an unknown group
// URI or a canonical ID of no account, MalformedACLError for a body that does
// not follow S3's schema, UnresolvableGrantByEmailAddress for a grant by
// e-mail, AccessDenied for a body that names another owner.
func parseACLRequest(h http.Header, body []byte, o aclOwners, bucket bool) (aclRequest, error) {
	canned := h.Get("X-Amz-Acl")
	hasGrants := false
	for _, g := range grantHeaders {
		if len(h.Values(g.header)) > 0 {
			hasGrants = true
		}
	}
	hasBody := len(bytes.TrimSpace(body)) > 0
	switch {
	case canned == "" && !hasGrants && !hasBody:
		return aclRequest{}, errMissingACLHeader()
	case canned != "" && hasGrants:
		return aclRequest{}, errACLBothCannedAndGrants()
	case (canned != "" || hasGrants) && hasBody:
		return aclRequest{}, errUnexpectedContent()
	case canned != "":
		if !validCannedACL(canned) {
			return aclRequest{}, errInvalidArgument("")
		}
		return aclRequest{canned: canned, grants: cannedGrants(canned, o.owner, o.bucketOwner, bucket)}, nil
	case hasGrants:
		grants, err := parseGrantHeaders(h, o)
		return aclRequest{grants: grants}, err
	}
	grants, err := parseAccessControlPolicy(body, o)
	return aclRequest{grants: grants}, err
}

// cannedGrants are the grants of a canned ACL (validated) for a bucket or an
// object owned by owner in a bucket owned by bucketOwner. The bucket-owner-*
// ACLs add nothing when the two are one, and S3 ignores them on buckets;
// log-delivery-write applies to buckets only.
func cannedGrants(canned, owner, bucketOwner string, bucket bool) []store.Grant {
	grants := []store.Grant{userGrant(owner, permFullControl)}
	group := func(uri, perm string) {
		grants = append(grants, store.Grant{Grantee: store.Grantee{Type: granteeGroup, URI: uri}, Permission: perm})
	}
	switch canned {
	case "public-read":
		group(groupAllUsers, permRead)
	case "public-read-write":
		group(groupAllUsers, permRead)
		group(groupAllUsers, permWrite)
	case "authenticated-read":
		group(groupAuthenticatedUsers, permRead)
	case "log-delivery-write":
		if bucket {
			group(groupLogDelivery, permWrite)
			group(groupLogDelivery, permReadACP)
		}
	case "bucket-owner-read", "bucket-owner-full-control":
		if !bucket && bucketOwner != owner {
			perm := permRead
			if canned == "bucket-owner-full-control" {
				perm = permFullControl
			}
			grants = append(grants, userGrant(bucketOwner, perm))
		}
	}
	return grants
}

// userGrant grants perm to the canonical user id.
func userGrant(id, perm string) store.Grant {
	return store.Grant{Grantee: store.Grantee{Type: granteeCanonicalUser, ID: id}, Permission: perm}
}

// parseGrantHeaders reads the x-amz-grant-* headers: each a comma-separated
// list of id="canonical user ID", uri="group URI" or emailAddress="…". The
// grants are exactly those listed: the owner keeps no FULL_CONTROL it is not
// given, as in S3.
func parseGrantHeaders(h http.Header, o aclOwners) ([]store.Grant, error) {
	var grants []store.Grant
	for _, g := range grantHeaders {
		vals := h.Values(g.header)
		if len(vals) == 0 {
			continue
		}
		for _, item := range strings.Split(strings.Join(vals, ","), ",") {
			kind, val, ok := strings.Cut(strings.TrimSpace(item), "=")
			kind = strings.TrimSpace(kind)
			val = strings.Trim(strings.TrimSpace(val), `"`)
			switch {
			case !ok:
				return nil, errInvalidArgument("Argument format not recognized")
			case strings.EqualFold(kind, "id"):
				if !validCanonicalID(val) || !slices.Contains(o.known, strings.ToLower(val)) {
					return nil, errInvalidArgument("Invalid id")
				}
				grants = append(grants, userGrant(strings.ToLower(val), g.perm))
			case strings.EqualFold(kind, "uri"):
				if !validGroup(val) {
					return nil, errInvalidArgument("Invalid group uri")
				}
				grants = append(grants, store.Grant{Grantee: store.Grantee{Type: granteeGroup, URI: val}, Permission: g.perm})
			case strings.EqualFold(kind, "emailAddress"):
				return nil, errUnresolvableEmail()
			default:
				return nil, errInvalidArgument("Argument format not recognized")
			}
		}
	}
	return grants, nil
}

// parseAccessControlPolicy reads an AccessControlPolicy body: an Owner with
// the ID of the resource's owner and an AccessControlList of grants by
// canonical user ID or group URI.
func parseAccessControlPolicy(body []byte, o aclOwners) ([]store.Grant, error) {
	var req accessControlPolicyRequest
	if err := xml.Unmarshal(body, &req); err != nil {
		return nil, errMalformedACL()
	}
	if req.XMLName.Local != "AccessControlPolicy" || req.Owner == nil || req.ACL == nil {
		return nil, errMalformedACL()
	}
	ownerID := ""
	if req.Owner.ID != nil {
		ownerID = strings.TrimSpace(*req.Owner.ID)
	}
	if !validCanonicalID(ownerID) {
		return nil, errInvalidArgument("Invalid id")
	}
	grants := []store.Grant{}
	for _, g := range req.ACL.Grants {
		perm := strings.TrimSpace(g.Permission)
		if g.Grantee == nil || !validPermission(perm) {
			return nil, errMalformedACL()
		}
		ge := g.Grantee
		switch ge.Type {
		case granteeCanonicalUser:
			id := ""
			if ge.ID != nil {
				id = strings.ToLower(strings.TrimSpace(*ge.ID))
			}
			if !validCanonicalID(id) || !slices.Contains(o.known, id) {
				return nil, errInvalidArgument("Invalid id")
			}
			grants = append(grants, userGrant(id, perm))
		case granteeGroup:
			uri := ""
			if ge.URI != nil {
				uri = strings.TrimSpace(*ge.URI)
			}
			if !validGroup(uri) {
				return nil, errInvalidArgument("Invalid group uri")
			}
			grants = append(grants, store.Grant{Grantee: store.Grantee{Type: granteeGroup, URI: uri}, Permission: perm})
		case granteeEmail:
			return nil, errUnresolvableEmail()
		default:
			return nil, errMalformedACL()
		}
	}
	if !strings.EqualFold(ownerID, o.owner) {
		// The owner of a bucket or object cannot be changed through its ACL.
		return nil, awsapi.AccessDenied("Access Denied")
	}
	return grants, nil
}

// parseOwnershipControls reads a PutBucketOwnershipControls body: exactly one
// Rule naming BucketOwnerEnforced, BucketOwnerPreferred or ObjectWriter;
// anything else is MalformedXML, as in S3.
func parseOwnershipControls(body []byte) (string, error) {
	var req ownershipControlsRequest
	if err := xml.Unmarshal(body, &req); err != nil || req.XMLName.Local != "OwnershipControls" || len(req.Rules) != 1 {
		return "", errMalformedXML()
	}
	switch o := strings.TrimSpace(req.Rules[0].ObjectOwnership); o {
	case ownershipEnforced, ownershipPreferred, ownershipWriter:
		return o, nil
	}
	return "", errMalformedXML()
}

// Object Ownership of a bucket.

// aclsDisabled reports whether a bucket's Object Ownership disables ACLs
// (BucketOwnerEnforced, S3's default).
func aclsDisabled(b store.Bucket) bool {
	return b.ObjectOwnership == ownershipEnforced || b.ObjectOwnership == ""
}

// bucketOwnershipControls returns a bucket's Object Ownership setting, and
// false when its ownership controls were deleted.
func bucketOwnershipControls(b store.Bucket) (string, bool) {
	if b.Configurations[ownershipControlsConfig] == noOwnershipControls {
		return "", false
	}
	if b.ObjectOwnership == "" {
		return ownershipEnforced, true
	}
	return b.ObjectOwnership, true
}

// ownerFullControlOnly reports whether an ACL set on a bucket with ACLs
// disabled is one S3 accepts there: the bucket-owner-full-control canned ACL,
// or grants (headers or body) of FULL_CONTROL to the bucket owner alone.
func ownerFullControlOnly(req aclRequest, bucketOwner string) bool {
	if req.canned != "" {
		return req.canned == "bucket-owner-full-control"
	}
	if len(req.grants) == 0 {
		return false
	}
	for _, g := range req.grants {
		if g.Grantee.Type != granteeCanonicalUser || g.Grantee.ID != bucketOwner || g.Permission != permFullControl {
			return false
		}
	}
	return true
}

// onlyOwnerGrants reports whether a bucket ACL grants nothing to anyone but
// the bucket owner, as turning ACLs off (BucketOwnerEnforced) requires.
func onlyOwnerGrants(grants []store.Grant, bucketOwner string) bool {
	for _, g := range grants {
		if g.Grantee.Type != granteeCanonicalUser || !strings.EqualFold(g.Grantee.ID, bucketOwner) {
			return false
		}
	}
	return true
}

// aclWriteConditions are the condition keys of a request that sets an ACL:
// s3:x-amz-acl and s3:x-amz-grant-*, for the headers it has.
func aclWriteConditions(h http.Header) []string {
	var extra []string
	if acl := h.Get("X-Amz-Acl"); acl != "" {
		extra = append(extra, "s3:x-amz-acl", acl)
	}
	for _, g := range grantHeaders {
		if vals := h.Values(g.header); len(vals) > 0 {
			extra = append(extra, "s3:"+strings.ToLower(g.header), strings.Join(vals, ","))
		}
	}
	return extra
}

// writeACL sends an AccessControlPolicy: the owner and its grants; no grants
// stored is the owner's FULL_CONTROL.
func (c *call) writeACL(owner string, grants []store.Grant) error {
	if grants == nil {
		grants = []store.Grant{userGrant(owner, permFullControl)}
	}
	res := accessControlPolicy{Owner: ownerXML{ID: owner}}
	for _, g := range grants {
		res.ACL.Grants = append(res.ACL.Grants, grantXML{
			Grantee: granteeXML{
				XSI: xsiNamespace, Type: g.Grantee.Type, ID: g.Grantee.ID, DisplayName: g.Grantee.DisplayName,
				EmailAddress: g.Grantee.Email, URI: g.Grantee.URI,
			},
			Permission: g.Permission,
		})
	}
	return c.writeXML(res)
}

// checkVersionID refuses a versionId other than "null": objects are not
// versioned.
func checkVersionID(c *call) error {
	q := c.r.URL.Query()
	if q.Has("versionId") && q.Get("versionId") != "null" {
		return errInvalidArgument("Invalid version id specified")
	}
	return nil
}

// aclOwnersOf are the owners an object's (o non-nil) or a bucket's ACL is
// read against.
func (s *Service) aclOwnersOf(b store.Bucket, o *store.Object) aclOwners {
	bucketOwner := CanonicalUserID(b.Owner)
	owner := bucketOwner
	if o != nil && !aclsDisabled(b) {
		owner = CanonicalUserID(o.Owner)
	}
	known := []string{s.ownerID, bucketOwner, owner}
	return aclOwners{owner: owner, bucketOwner: bucketOwner, known: known}
}

// Handlers.

func (s *Service) handleGetBucketACL(c *call) error {
	if err := s.authorize(c, "s3:GetBucketAcl", ARN(c.bucket, ""), c.conditions()); err != nil {
		return err
	}
	b, err := s.bucket(c, c.bucket)
	if err != nil {
		return err
	}
	owner := CanonicalUserID(b.Owner)
	if aclsDisabled(b) {
		return c.writeACL(owner, nil)
	}
	return c.writeACL(owner, b.ACL)
}

func (s *Service) handlePutBucketACL(c *call) error {
	h := c.r.Header
	if err := s.authorize(c, "s3:PutBucketAcl", ARN(c.bucket, ""), c.conditions(aclWriteConditions(h)...)); err != nil {
		return err
	}
	b, err := s.bucket(c, c.bucket)
	if err != nil {
		return err
	}
	body, err := c.readXMLBody()
	if err != nil {
		return err
	}
	owners := s.aclOwnersOf(b, nil)
	req, err := parseACLRequest(h, body, owners, true)
	if err != nil {
		return err
	}
	err = s.updateBucket(c.ctx, c.bucket, func(b store.Bucket) (store.Bucket, error) {
		if aclsDisabled(b) {
			if !ownerFullControlOnly(req, owners.bucketOwner) {
				return b, errACLNotSupported()
			}
			return b, nil // ACLs off: the owner's FULL_CONTROL is all there is
		}
		b.ACL = req.grants
		return b, nil
	})
	return c.bucketUpdated(err, "put bucket acl")
}

func (s *Service) handleGetObjectACL(c *call) error {
	if err := s.authorize(c, "s3:GetObjectAcl", ARN(c.bucket, c.key), c.conditions()); err != nil {
		return err
	}
	if err := checkVersionID(c); err != nil {
		return err
	}
	b, err := s.bucket(c, c.bucket)
	if err != nil {
		return err
	}
	o, err := s.object(c.ctx, c.bucket, c.key)
	if err != nil {
		return err
	}
	owners := s.aclOwnersOf(b, &o)
	if aclsDisabled(b) {
		return c.writeACL(owners.owner, nil)
	}
	return c.writeACL(owners.owner, o.ACL)
}

func (s *Service) handlePutObjectACL(c *call) error {
	h := c.r.Header
	if err := s.authorize(c, "s3:PutObjectAcl", ARN(c.bucket, c.key), c.conditions(aclWriteConditions(h)...)); err != nil {
		return err
	}
	if err := checkVersionID(c); err != nil {
		return err
	}
	b, err := s.bucket(c, c.bucket)
	if err != nil {
		return err
	}
	o, err := s.object(c.ctx, c.bucket, c.key)
	if err != nil {
		return err
	}
	body, err := c.readXMLBody()
	if err != nil {
		return err
	}
	owners := s.aclOwnersOf(b, &o)
	req, err := parseACLRequest(h, body, owners, false)
	if err != nil {
		return err
	}
	if aclsDisabled(b) {
		if !ownerFullControlOnly(req, owners.bucketOwner) {
			return errACLNotSupported()
		}
	} else {
		err = s.cfg.Store.UpdateObject(c.ctx, c.bucket, c.key, func(o store.Object) (store.Object, error) {
			o.ACL = req.grants
			return o, nil
		})
		if errors.Is(err, store.ErrNotFound) {
			return errNoSuchKey()
		}
		if err != nil {
			return fmt.Errorf("s3: put object acl: %w", err)
		}
	}
	c.w.Header().Set("Content-Length", "0")
	c.writeStatus(http.StatusOK)
	return nil
}

func (s *Service) handlePutBucketOwnershipControls(c *call) error {
	if err := s.authorize(c, "s3:PutBucketOwnershipControls", ARN(c.bucket, ""), c.conditions()); err != nil {
		return err
	}
	if _, err := s.bucket(c, c.bucket); err != nil {
		return err
	}
	body, err := c.readXMLBody()
	if err != nil {
		return err
	}
	ownership, err := parseOwnershipControls(body)
	if err != nil {
		return err
	}
	err = s.updateBucket(c.ctx, c.bucket, func(b store.Bucket) (store.Bucket, error) {
		if ownership == ownershipEnforced && !aclsDisabled(b) && !onlyOwnerGrants(b.ACL, CanonicalUserID(b.Owner)) {
			return b, errBucketACLWithOwnership()
		}
		b.ObjectOwnership = ownership
		if _, ok := b.Configurations[ownershipControlsConfig]; ok {
			b.Configurations = withoutKey(b.Configurations, ownershipControlsConfig)
		}
		return b, nil
	})
	return c.bucketUpdated(err, "put bucket ownership controls")
}

func (s *Service) handleGetBucketOwnershipControls(c *call) error {
	if err := s.authorize(c, "s3:GetBucketOwnershipControls", ARN(c.bucket, ""), c.conditions()); err != nil {
		return err
	}
	b, err := s.bucket(c, c.bucket)
	if err != nil {
		return err
	}
	ownership, ok := bucketOwnershipControls(b)
	if !ok {
		return errOwnershipControlsNotFound()
	}
	return c.writeXML(ownershipControls{Rules: []ownershipControlsRule{{ObjectOwnership: ownership}}})
}

// handleDeleteBucketOwnershipControls removes a bucket's ownership controls:
// as in S3 it is authorized as s3:PutBucketOwnershipControls, is idempotent
// (204), and leaves the bucket as one created before Object Ownership
// existed: ACLs enabled, objects owned by their writer.
func (s *Service) handleDeleteBucketOwnershipControls(c *call) error {
	if err := s.authorize(c, "s3:PutBucketOwnershipControls", ARN(c.bucket, ""), c.conditions()); err != nil {
		return err
	}
	err := s.updateBucket(c.ctx, c.bucket, func(b store.Bucket) (store.Bucket, error) {
		if _, ok := bucketOwnershipControls(b); !ok {
			return b, nil
		}
		b.ObjectOwnership = ownershipWriter
		cfg := make(map[string]string, len(b.Configurations)+1)
		for k, v := range b.Configurations {
			cfg[k] = v
		}
		cfg[ownershipControlsConfig] = noOwnershipControls
		b.Configurations = cfg
		return b, nil
	})
	if errors.Is(err, store.ErrNotFound) {
		return errNoSuchBucket(c.bucket)
	}
	if err != nil {
		return fmt.Errorf("s3: delete bucket ownership controls: %w", err)
	}
	c.writeStatus(http.StatusNoContent)
	return nil
}

// withoutKey returns a copy of m without key; nil when nothing is left.
func withoutKey(m map[string]string, key string) map[string]string {
	var out map[string]string
	for k, v := range m {
		if k == key {
			continue
		}
		if out == nil {
			out = map[string]string{}
		}
		out[k] = v
	}
	return out
}

// Access granted by object ACLs.

// aclReadStatement is the bucket policy statement an object ACL's read grant
// amounts to, for bucket: anyone may s3:GetObject. It is added to the
// bucket's policy only for a request whose object the ACL grants, so its
// Resource need not name the key (which keeps the documents the Authorizer
// sees, and may cache, one per bucket policy).
func aclReadStatement(bucket string) []byte {
	stmt, _ := json.Marshal(map[string]any{
		"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": ARN(bucket, "*"),
	})
	return stmt
}

// withStatement returns the bucket policy doc (a JSON object, or "" for
// none) with one more statement.
func withStatement(doc string, stmt []byte) (string, error) {
	if strings.TrimSpace(doc) == "" {
		return `{"Version":"2012-10-17","Statement":[` + string(stmt) + `]}`, nil
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal([]byte(doc), &top); err != nil {
		return "", fmt.Errorf("s3: read the bucket policy: %w", err)
	}
	var stmts []json.RawMessage
	switch raw := bytes.TrimSpace(top["Statement"]); {
	case len(raw) > 0 && raw[0] == '[':
		if err := json.Unmarshal(raw, &stmts); err != nil {
			return "", fmt.Errorf("s3: read the bucket policy's statements: %w", err)
		}
	case len(raw) > 0 && !bytes.Equal(raw, []byte("null")):
		stmts = []json.RawMessage{raw}
	}
	stmts = append(stmts, stmt)
	all, err := json.Marshal(stmts)
	if err != nil {
		return "", fmt.Errorf("s3: add a statement to the bucket policy: %w", err)
	}
	top["Statement"] = all
	out, err := json.Marshal(top)
	if err != nil {
		return "", fmt.Errorf("s3: add a statement to the bucket policy: %w", err)
	}
	return string(out), nil
}

// grantsRead reports whether an object ACL gives READ (or FULL_CONTROL) to
// AllUsers, or, for a signed caller, to AuthenticatedUsers.
func grantsRead(grants []store.Grant, signed bool) bool {
	for _, g := range grants {
		if g.Grantee.Type != granteeGroup || g.Permission != permRead && g.Permission != permFullControl {
			continue
		}
		if g.Grantee.URI == groupAllUsers || signed && g.Grantee.URI == groupAuthenticatedUsers {
			return true
		}
	}
	return false
}

// aclAllowsRead decides, after the Authorizer denied s3:GetObject on
// resource, whether the object's ACL lets the caller read it, as S3 does: the
// bucket must have ACLs enabled and the object's ACL must grant READ to
// AllUsers (or, to a signed caller, AuthenticatedUsers). The grant then acts
// as a statement of the bucket policy allowing anyone s3:GetObject, and the
// Authorizer is asked again with the policy so extended: an explicit Deny, in
// the bucket policy or the caller's own, still wins, and conditions keep
// their effect. Anything that fails here leaves the denial standing.
func (s *Service) aclAllowsRead(c *call, resource string, conds map[string][]string, bucketPolicy string) bool {
	rest, ok := strings.CutPrefix(resource, "arn:aws:s3:::")
	if !ok {
		return false
	}
	bucket, key, ok := strings.Cut(rest, "/")
	if !ok || bucket == "" || key == "" {
		return false
	}
	b, ok, err := s.loadBucket(c, bucket)
	if err != nil || !ok || aclsDisabled(b) {
		return false
	}
	o, err := s.cfg.Store.GetObject(c.ctx, bucket, key)
	if err != nil || !grantsRead(o.ACL, !c.anonymous) {
		return false
	}
	extended, err := withStatement(bucketPolicy, aclReadStatement(bucket))
	if err == nil {
		err = s.cfg.Authorizer.Authorize(c.ctx, "s3:GetObject", resource, conds, extended)
	}
	if err != nil {
		if d, _ := accessDenied(err); d == nil && s.cfg.Logger != nil {
			s.cfg.Logger.Warn("s3: authorize a read granted by an object ACL", "request_id", c.requestID, "resource", resource, "err", err)
		}
		return false
	}
	return true
}

// bucketUpdated answers a call that updated its bucket's configuration: 200
// with no body, or err as S3 gives it (NoSuchBucket, the AWS error fn
// returned, else an internal error naming what failed).
func (c *call) bucketUpdated(err error, what string) error {
	switch {
	case errors.Is(err, store.ErrNotFound):
		return errNoSuchBucket(c.bucket)
	case errorsIsAWS(err):
		return awsapi.AsError(err)
	case err != nil:
		return fmt.Errorf("s3: %s: %w", what, err)
	}
	c.w.Header().Set("Content-Length", "0")
	c.writeStatus(http.StatusOK)
	return nil
}
