package s3

import (
	"context"
	"encoding/xml"
	"errors"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/keyless-dev/keyless/audit"
	"github.com/keyless-dev/keyless/awsapi"
	"github.com/keyless-dev/keyless/policy"
)

// ownerID is the canonical user ID of the test account, which owns every
// bucket and object.
var ownerID = CanonicalUserID(testAccount)

// otherID is a well-formed canonical user ID of no account keyless knows.
var otherID = strings.Repeat("ab", 32)

// writerBucket creates a bucket with ACLs enabled (ObjectWriter).
func (f *fixture) writerBucket(t *testing.T, name string) {
	t.Helper()
	_, err := f.client.CreateBucket(bg, &s3.CreateBucketInput{Bucket: aws.String(name), ObjectOwnership: types.ObjectOwnershipObjectWriter})
	if err != nil {
		t.Fatalf("CreateBucket %s: %v", name, err)
	}
}

// raw serves one request straight through the handler: signed (a verified
// unsigned-payload Auth) or anonymous.
func (f *fixture) raw(method, target string, h http.Header, body string, anonymous bool) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	r := httptest.NewRequestWithContext(bg, method, target, strings.NewReader(body))
	for k, v := range h {
		r.Header[http.CanonicalHeaderKey(k)] = v
	}
	ctx := r.Context()
	if !anonymous {
		ctx = WithAuth(ctx, &awsapi.Auth{PayloadHash: awsapi.UnsignedPayload})
	}
	f.svc.ServeHTTP(rec, r.WithContext(ctx))
	return rec
}

var (
	codeRE    = regexp.MustCompile(`<Code>([^<]*)</Code>`)
	messageRE = regexp.MustCompile(`<Message>([^<]*)</Message>`)
)

// restError is the code and message of an S3 Error document.
func restError(body string) (code, message string) {
	if m := codeRE.FindStringSubmatch(body); m != nil {
		code = m[1]
	}
	if m := messageRE.FindStringSubmatch(body); m != nil {
		message = m[1]
	}
	return code, message
}

// grantsOf renders SDK grants as "Type:ID-or-URI:PERMISSION" strings.
func grantsOf(gs []types.Grant) []string {
	var out []string
	for _, g := range gs {
		who := aws.ToString(g.Grantee.ID)
		if g.Grantee.Type == types.TypeGroup {
			who = aws.ToString(g.Grantee.URI)
		}
		out = append(out, string(g.Grantee.Type)+":"+who+":"+string(g.Permission))
	}
	return out
}

func ownerFull() string { return "CanonicalUser:" + ownerID + ":FULL_CONTROL" }

// acpBody is an AccessControlPolicy document with the owner ID and grants.
func acpBody(owner string, grants ...string) string {
	return `<AccessControlPolicy xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Owner><ID>` + owner + `</ID></Owner><AccessControlList>` +
		strings.Join(grants, "") + `</AccessControlList></AccessControlPolicy>`
}

// userGrantXML and groupGrantXML are Grant elements of an AccessControlPolicy.
func userGrantXML(id, perm string) string {
	return `<Grant><Grantee xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="CanonicalUser"><ID>` + id +
		`</ID></Grantee><Permission>` + perm + `</Permission></Grant>`
}

func groupGrantXML(uri, perm string) string {
	return `<Grant><Grantee xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="Group"><URI>` + uri +
		`</URI></Grantee><Permission>` + perm + `</Permission></Grant>`
}

// TestObjectACL: with the official SDK on a bucket with ACLs enabled, an
// object without an ACL reads back as its owner's FULL_CONTROL;
// PutObjectAcl (authorized as s3:PutObjectAcl on the object ARN, with
// s3:x-amz-acl) sets a canned ACL, x-amz-grant-* headers (exactly the grants
// named, as in S3) or an AccessControlPolicy body, each read back by
// GetObjectAcl (s3:GetObjectAcl); a missing key is NoSuchKey, a missing
// bucket NoSuchBucket; a denied PutObjectAcl changes nothing.
func TestObjectACL(t *testing.T) {
	f := newFixture(t, false)
	f.writerBucket(t, "acls")
	f.put(t, "acls", "doc.txt", []byte("hello"))
	f.authCalls()
	get := func() []string {
		t.Helper()
		out, err := f.client.GetObjectAcl(bg, &s3.GetObjectAclInput{Bucket: aws.String("acls"), Key: aws.String("doc.txt")})
		if err != nil {
			t.Fatalf("GetObjectAcl: %v", err)
		}
		if aws.ToString(out.Owner.ID) != ownerID {
			t.Fatalf("GetObjectAcl Owner %q, want %q", aws.ToString(out.Owner.ID), ownerID)
		}
		return grantsOf(out.Grants)
	}
	if got := strings.Join(get(), " "); got != ownerFull() {
		t.Fatalf("default object ACL %s", got)
	}
	if _, ok := hasCall(f.authCalls(), "s3:GetObjectAcl", "arn:aws:s3:::acls/doc.txt"); !ok {
		t.Fatal("GetObjectAcl not authorized as s3:GetObjectAcl on the object")
	}

	for _, c := range []struct {
		name string
		in   s3.PutObjectAclInput
		want []string
	}{
		{"canned public-read", s3.PutObjectAclInput{ACL: types.ObjectCannedACLPublicRead},
			[]string{ownerFull(), "Group:" + groupAllUsers + ":READ"}},
		{"canned authenticated-read", s3.PutObjectAclInput{ACL: types.ObjectCannedACLAuthenticatedRead},
			[]string{ownerFull(), "Group:" + groupAuthenticatedUsers + ":READ"}},
		{"grant headers", s3.PutObjectAclInput{GrantRead: aws.String(`uri="` + groupLogDelivery + `", id="` + ownerID + `"`),
			GrantFullControl: aws.String("id=" + ownerID)},
			[]string{ownerFull(), "Group:" + groupLogDelivery + ":READ", "CanonicalUser:" + ownerID + ":READ"}},
		{"policy body", s3.PutObjectAclInput{AccessControlPolicy: &types.AccessControlPolicy{
			Owner: &types.Owner{ID: aws.String(ownerID)},
			Grants: []types.Grant{
				{Grantee: &types.Grantee{Type: types.TypeCanonicalUser, ID: aws.String(ownerID)}, Permission: types.PermissionFullControl},
				{Grantee: &types.Grantee{Type: types.TypeGroup, URI: aws.String(groupLogDelivery)}, Permission: types.PermissionWrite},
			}}},
			[]string{ownerFull(), "Group:" + groupLogDelivery + ":WRITE"}},
		{"canned private", s3.PutObjectAclInput{ACL: types.ObjectCannedACLPrivate}, []string{ownerFull()}},
	} {
		in := c.in
		in.Bucket, in.Key = aws.String("acls"), aws.String("doc.txt")
		if _, err := f.client.PutObjectAcl(bg, &in); err != nil {
			t.Fatalf("%s: PutObjectAcl: %v", c.name, err)
		}
		call, ok := hasCall(f.authCalls(), "s3:PutObjectAcl", "arn:aws:s3:::acls/doc.txt")
		if !ok || in.ACL != "" && call.conds["s3:x-amz-acl"][0] != string(in.ACL) {
			t.Errorf("%s: PutObjectAcl authorization %+v, %v", c.name, call, ok)
		}
		if got := get(); strings.Join(got, " ") != strings.Join(c.want, " ") {
			t.Errorf("%s: grants %v, want %v", c.name, got, c.want)
		}
	}

	// A denied PutObjectAcl changes nothing.
	f.deny = func(action, _ string) error {
		if action == "s3:PutObjectAcl" {
			return &Denial{Statement: "no-acl"}
		}
		return nil
	}
	_, err := f.client.PutObjectAcl(bg, &s3.PutObjectAclInput{Bucket: aws.String("acls"), Key: aws.String("doc.txt"), ACL: types.ObjectCannedACLPublicRead})
	if errCode(err) != "AccessDenied" || httpStatus(err) != 403 {
		t.Fatalf("denied PutObjectAcl: %v", err)
	}
	if e := f.lastEvent(); e.Action != "PutObjectAcl" || e.Decision != audit.Denied || e.Statement != "no-acl" || e.Role != "arn:aws:s3:::acls/doc.txt" {
		t.Errorf("audit %+v", e)
	}
	f.deny = nil
	if got := strings.Join(get(), " "); got != ownerFull() {
		t.Fatalf("ACL after the denied put: %s", got)
	}

	_, err = f.client.GetObjectAcl(bg, &s3.GetObjectAclInput{Bucket: aws.String("acls"), Key: aws.String("nothere")})
	if errCode(err) != "NoSuchKey" || httpStatus(err) != 404 {
		t.Errorf("GetObjectAcl of a missing key: %v", err)
	}
	_, err = f.client.PutObjectAcl(bg, &s3.PutObjectAclInput{Bucket: aws.String("acls"), Key: aws.String("nothere"), ACL: types.ObjectCannedACLPrivate})
	if errCode(err) != "NoSuchKey" {
		t.Errorf("PutObjectAcl of a missing key: %v", err)
	}
	_, err = f.client.GetObjectAcl(bg, &s3.GetObjectAclInput{Bucket: aws.String("nothere"), Key: aws.String("k")})
	if errCode(err) != "NoSuchBucket" {
		t.Errorf("GetObjectAcl in a missing bucket: %v", err)
	}
	// An object put with a canned ACL reads it back.
	_, err = f.client.PutObject(bg, &s3.PutObjectInput{Bucket: aws.String("acls"), Key: aws.String("pub.txt"), Body: strings.NewReader("x"), ACL: types.ObjectCannedACLPublicRead})
	if err != nil {
		t.Fatal(err)
	}
	out, err := f.client.GetObjectAcl(bg, &s3.GetObjectAclInput{Bucket: aws.String("acls"), Key: aws.String("pub.txt")})
	if err != nil || strings.Join(grantsOf(out.Grants), " ") != ownerFull()+" Group:"+groupAllUsers+":READ" {
		t.Errorf("GetObjectAcl of an object put public-read: %v %v", err, grantsOf(out.Grants))
	}
}

// TestBucketACL: GetBucketAcl (s3:GetBucketAcl on the bucket ARN) of a new
// bucket is the owner's FULL_CONTROL; PutBucketAcl (s3:PutBucketAcl, with
// s3:x-amz-acl) sets a canned ACL, grant headers or a policy body, read back
// as set; a missing bucket is NoSuchBucket.
func TestBucketACL(t *testing.T) {
	f := newFixture(t, false)
	f.writerBucket(t, "acls")
	f.authCalls()
	get := func() []string {
		t.Helper()
		out, err := f.client.GetBucketAcl(bg, &s3.GetBucketAclInput{Bucket: aws.String("acls")})
		if err != nil || aws.ToString(out.Owner.ID) != ownerID {
			t.Fatalf("GetBucketAcl: %v %+v", err, out)
		}
		return grantsOf(out.Grants)
	}
	if got := strings.Join(get(), " "); got != ownerFull() {
		t.Fatalf("default bucket ACL %s", got)
	}
	if _, ok := hasCall(f.authCalls(), "s3:GetBucketAcl", "arn:aws:s3:::acls"); !ok {
		t.Fatal("GetBucketAcl not authorized as s3:GetBucketAcl on the bucket")
	}
	for _, c := range []struct {
		name string
		in   s3.PutBucketAclInput
		want []string
	}{
		{"public-read", s3.PutBucketAclInput{ACL: types.BucketCannedACLPublicRead}, []string{ownerFull(), "Group:" + groupAllUsers + ":READ"}},
		{"private", s3.PutBucketAclInput{ACL: types.BucketCannedACLPrivate}, []string{ownerFull()}},
		{"log-delivery-write", s3.PutBucketAclInput{ACL: types.BucketCannedACL("log-delivery-write")},
			[]string{ownerFull(), "Group:" + groupLogDelivery + ":WRITE", "Group:" + groupLogDelivery + ":READ_ACP"}},
		{"grant header", s3.PutBucketAclInput{GrantRead: aws.String(`uri="` + groupLogDelivery + `"`)}, []string{"Group:" + groupLogDelivery + ":READ"}},
		{"policy body", s3.PutBucketAclInput{AccessControlPolicy: &types.AccessControlPolicy{
			Owner: &types.Owner{ID: aws.String(ownerID)},
			Grants: []types.Grant{
				{Grantee: &types.Grantee{Type: types.TypeCanonicalUser, ID: aws.String(ownerID)}, Permission: types.PermissionFullControl},
				{Grantee: &types.Grantee{Type: types.TypeGroup, URI: aws.String(groupAuthenticatedUsers)}, Permission: types.PermissionRead},
			}}},
			[]string{ownerFull(), "Group:" + groupAuthenticatedUsers + ":READ"}},
	} {
		in := c.in
		in.Bucket = aws.String("acls")
		if _, err := f.client.PutBucketAcl(bg, &in); err != nil {
			t.Fatalf("%s: PutBucketAcl: %v", c.name, err)
		}
		call, ok := hasCall(f.authCalls(), "s3:PutBucketAcl", "arn:aws:s3:::acls")
		if !ok || in.ACL != "" && call.conds["s3:x-amz-acl"][0] != string(in.ACL) {
			t.Errorf("%s: PutBucketAcl authorization %+v, %v", c.name, call, ok)
		}
		if c.in.GrantRead != nil && call.conds["s3:x-amz-grant-read"][0] != *c.in.GrantRead {
			t.Errorf("%s: s3:x-amz-grant-read condition %v", c.name, call.conds)
		}
		if got := get(); strings.Join(got, " ") != strings.Join(c.want, " ") {
			t.Errorf("%s: grants %v, want %v", c.name, got, c.want)
		}
	}
	if _, err := f.client.GetBucketAcl(bg, &s3.GetBucketAclInput{Bucket: aws.String("nothere")}); errCode(err) != "NoSuchBucket" {
		t.Errorf("GetBucketAcl of a missing bucket: %v", err)
	}
	if _, err := f.client.PutBucketAcl(bg, &s3.PutBucketAclInput{Bucket: aws.String("nothere"), ACL: types.BucketCannedACLPrivate}); errCode(err) != "NoSuchBucket" {
		t.Errorf("PutBucketAcl of a missing bucket: %v", err)
	}
}

// TestACLWireShape: GetObjectAcl and GetBucketOwnershipControls answer S3's
// documents byte for byte: AccessControlPolicy in S3's namespace with Owner
// and AccessControlList/Grant/Grantee carrying xmlns:xsi and xsi:type.
func TestACLWireShape(t *testing.T) {
	f := newFixture(t, false)
	f.writerBucket(t, "acls")
	_, err := f.client.PutObject(bg, &s3.PutObjectInput{Bucket: aws.String("acls"), Key: aws.String("k"), Body: strings.NewReader("x"), ACL: types.ObjectCannedACLPublicRead})
	if err != nil {
		t.Fatal(err)
	}
	rec := f.raw(http.MethodGet, "/acls/k?acl", nil, "", false)
	want := xml.Header + `<AccessControlPolicy xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Owner><ID>` + ownerID + `</ID></Owner>` +
		`<AccessControlList><Grant><Grantee xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="CanonicalUser"><ID>` + ownerID +
		`</ID></Grantee><Permission>FULL_CONTROL</Permission></Grant><Grant><Grantee xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="Group">` +
		`<URI>http://acs.amazonaws.com/groups/global/AllUsers</URI></Grantee><Permission>READ</Permission></Grant></AccessControlList></AccessControlPolicy>`
	if rec.Code != 200 || rec.Body.String() != want || rec.Header().Get("Content-Type") != "application/xml" {
		t.Errorf("GET ?acl: %d %s\n%s\nwant\n%s", rec.Code, rec.Header(), rec.Body, want)
	}
	rec = f.raw(http.MethodGet, "/acls?ownershipControls", nil, "", false)
	want = xml.Header + `<OwnershipControls xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Rule><ObjectOwnership>ObjectWriter</ObjectOwnership></Rule></OwnershipControls>`
	if rec.Code != 200 || rec.Body.String() != want {
		t.Errorf("GET ?ownershipControls: %d %s", rec.Code, rec.Body)
	}
	// A body without S3's namespace is accepted too.
	rec = f.raw(http.MethodPut, "/acls/k?acl", nil, strings.ReplaceAll(acpBody(ownerID, userGrantXML(ownerID, "FULL_CONTROL")), ` xmlns="http://s3.amazonaws.com/doc/2006-03-01/"`, ""), false)
	if rec.Code != 200 {
		t.Errorf("PUT ?acl without a namespace: %d %s", rec.Code, rec.Body)
	}
	// Methods S3 does not have on these subresources.
	for _, target := range []string{"/acls/k?acl", "/acls?acl", "/acls?ownershipControls"} {
		if rec := f.raw(http.MethodPost, target, nil, "", false); rec.Code != http.StatusMethodNotAllowed {
			t.Errorf("POST %s: %d %s", target, rec.Code, rec.Body)
		}
	}
	if rec := f.raw(http.MethodGet, "/acls/k?ownershipControls", nil, "", false); rec.Code != http.StatusNotImplemented {
		t.Errorf("GET of an object's ?ownershipControls: %d %s", rec.Code, rec.Body)
	}
}

// TestACLRequestErrors: PutObjectAcl and PutBucketAcl refuse, with S3's
// codes, statuses and messages, a request that sets no ACL, sets it two ways,
// names an unknown canned ACL, a grant header S3 cannot read, an unknown
// group, a canonical ID of no account or an e-mail address, or a body that
// does not follow S3's schema or names another owner; the ACL is left as it
// was.
func TestACLRequestErrors(t *testing.T) {
	f := newFixture(t, false)
	f.writerBucket(t, "acls")
	f.put(t, "acls", "k", []byte("x"))
	const (
		malformed = "The XML you provided was not well-formed or did not validate against our published schema"
	)
	hdr := func(kv ...string) http.Header {
		h := http.Header{}
		for i := 0; i+1 < len(kv); i += 2 {
			h.Add(kv[i], kv[i+1])
		}
		return h
	}
	for _, c := range []struct {
		name          string
		h             http.Header
		body          string
		code, message string
		status        int
	}{
		{"nothing", nil, "", "MissingSecurityHeader", "Your request was missing a required header", 400},
		{"canned and grants", hdr("x-amz-acl", "private", "x-amz-grant-read", "uri="+groupAllUsers), "", "InvalidRequest",
			"Specifying both Canned ACLs and Header Grants is not allowed", 400},
		{"canned and body", hdr("x-amz-acl", "private"), acpBody(ownerID, userGrantXML(ownerID, "FULL_CONTROL")), "UnexpectedContent",
			"This request does not support content", 400},
		{"grants and body", hdr("x-amz-grant-read", "uri="+groupAllUsers), acpBody(ownerID), "UnexpectedContent",
			"This request does not support content", 400},
		{"unknown canned", hdr("x-amz-acl", "fake-acl"), "", "InvalidArgument", "", 400},
		{"grant key", hdr("x-amz-grant-write", `fakekey="1234"`), "", "InvalidArgument", "Argument format not recognized", 400},
		{"grant no equals", hdr("x-amz-grant-write", `1234`), "", "InvalidArgument", "Argument format not recognized", 400},
		{"grant group", hdr("x-amz-grant-write", `uri="http://acs.amazonaws.com/groups/s3/FakeGroup"`), "", "InvalidArgument", "Invalid group uri", 400},
		{"grant id form", hdr("x-amz-grant-write", `id="wrong-id"`), "", "InvalidArgument", "Invalid id", 400},
		{"grant id of no account", hdr("x-amz-grant-read", `id="`+otherID+`"`), "", "InvalidArgument", "Invalid id", 400},
		{"grant email", hdr("x-amz-grant-read", `emailAddress="a@example.com"`), "", "UnresolvableGrantByEmailAddress",
			"The e-mail address you provided does not match any account on record.", 400},
		{"body not XML", nil, "<AccessControlPolicy>", "MalformedACLError", malformed, 400},
		{"body other root", nil, "<Policy/>", "MalformedACLError", malformed, 400},
		{"body empty policy", nil, "<AccessControlPolicy/>", "MalformedACLError", malformed, 400},
		{"body no owner", nil, `<AccessControlPolicy><AccessControlList>` + groupGrantXML(groupLogDelivery, "WRITE") + `</AccessControlList></AccessControlPolicy>`,
			"MalformedACLError", malformed, 400},
		{"body no list", nil, `<AccessControlPolicy><Owner><ID>` + ownerID + `</ID></Owner></AccessControlPolicy>`, "MalformedACLError", malformed, 400},
		{"body permission", nil, acpBody(ownerID, groupGrantXML(groupLogDelivery, "WRONG-PERMISSION")), "MalformedACLError", malformed, 400},
		{"body owner id form", nil, acpBody("wrong-id", groupGrantXML(groupLogDelivery, "WRITE")), "InvalidArgument", "Invalid id", 400},
		{"body group", nil, acpBody(ownerID, groupGrantXML("http://acs.amazonaws.com/groups/s3/FakeGroup", "WRITE")), "InvalidArgument", "Invalid group uri", 400},
		{"body user id", nil, acpBody(ownerID, userGrantXML("wrong-id", "WRITE")), "InvalidArgument", "Invalid id", 400},
		{"body grantee type", nil, acpBody(ownerID, `<Grant><Grantee xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="BadType"><ID>`+ownerID+
			`</ID></Grantee><Permission>READ</Permission></Grant>`), "MalformedACLError", malformed, 400},
		{"body no grantee", nil, acpBody(ownerID, `<Grant><Permission>READ</Permission></Grant>`), "MalformedACLError", malformed, 400},
		{"body email", nil, acpBody(ownerID, `<Grant><Grantee xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="AmazonCustomerByEmail">`+
			`<EmailAddress>a@example.com</EmailAddress></Grantee><Permission>READ</Permission></Grant>`), "UnresolvableGrantByEmailAddress",
			"The e-mail address you provided does not match any account on record.", 400},
		{"body other owner", nil, acpBody(otherID, userGrantXML(ownerID, "FULL_CONTROL")), "AccessDenied", "Access Denied", 403},
	} {
		for _, target := range []string{"/acls/k?acl", "/acls?acl"} {
			rec := f.raw(http.MethodPut, target, c.h, c.body, false)
			code, msg := restError(rec.Body.String())
			if rec.Code != c.status || code != c.code || msg != c.message {
				t.Errorf("%s: PUT %s: %d %s %q; want %d %s %q", c.name, target, rec.Code, code, msg, c.status, c.code, c.message)
			}
		}
	}
	for _, target := range []string{"/acls/k?acl", "/acls?acl"} {
		rec := f.raw(http.MethodGet, target, nil, "", false)
		if rec.Code != 200 || strings.Count(rec.Body.String(), "<Grant>") != 1 || !strings.Contains(rec.Body.String(), "<Permission>FULL_CONTROL</Permission>") {
			t.Errorf("GET %s after the refused puts: %d %s", target, rec.Code, rec.Body)
		}
	}
	if rec := f.raw(http.MethodGet, "/acls/k?acl&versionId=3HL4kqtJlcpXroDTDmJ", nil, "", false); rec.Code != 400 {
		t.Errorf("GET ?acl of a version: %d %s", rec.Code, rec.Body)
	}
	if rec := f.raw(http.MethodGet, "/acls/k?acl&versionId=null", nil, "", false); rec.Code != 200 {
		t.Errorf("GET ?acl of the null version: %d %s", rec.Code, rec.Body)
	}
}

// TestACLsDisabled: on a bucket with the default Object Ownership
// (BucketOwnerEnforced), GetObjectAcl and GetBucketAcl always answer the
// bucket owner's FULL_CONTROL; PutObjectAcl and PutBucketAcl accept only an
// ACL that gives the bucket owner FULL_CONTROL alone (the
// bucket-owner-full-control canned ACL, or such grants), as S3 does, and
// refuse any other — canned private included — with
// AccessControlListNotSupported, after S3's checks of the request itself.
func TestACLsDisabled(t *testing.T) {
	f := newFixture(t, false)
	f.bucket(t, "locked")
	f.put(t, "locked", "k", []byte("x"))
	notSupported := func(name string, err error) {
		t.Helper()
		if errCode(err) != "AccessControlListNotSupported" || httpStatus(err) != 400 || errMessage(err) != "The bucket does not allow ACLs" {
			t.Errorf("%s: %v; want AccessControlListNotSupported", name, err)
		}
	}
	for _, acl := range []types.ObjectCannedACL{types.ObjectCannedACLPublicRead, types.ObjectCannedACLPrivate, types.ObjectCannedACLAuthenticatedRead} {
		_, err := f.client.PutObjectAcl(bg, &s3.PutObjectAclInput{Bucket: aws.String("locked"), Key: aws.String("k"), ACL: acl})
		notSupported("PutObjectAcl "+string(acl), err)
	}
	for _, acl := range []types.BucketCannedACL{types.BucketCannedACLPublicRead, types.BucketCannedACLPrivate} {
		_, err := f.client.PutBucketAcl(bg, &s3.PutBucketAclInput{Bucket: aws.String("locked"), ACL: acl})
		notSupported("PutBucketAcl "+string(acl), err)
	}
	_, err := f.client.PutObjectAcl(bg, &s3.PutObjectAclInput{Bucket: aws.String("locked"), Key: aws.String("k"), GrantRead: aws.String("id=" + ownerID)})
	notSupported("PutObjectAcl READ to the owner", err)
	_, err = f.client.PutBucketAcl(bg, &s3.PutBucketAclInput{Bucket: aws.String("locked"), AccessControlPolicy: &types.AccessControlPolicy{
		Owner: &types.Owner{ID: aws.String(ownerID)},
		Grants: []types.Grant{{Grantee: &types.Grantee{Type: types.TypeCanonicalUser, ID: aws.String(ownerID)}, Permission: types.PermissionFullControl},
			{Grantee: &types.Grantee{Type: types.TypeGroup, URI: aws.String(groupAllUsers)}, Permission: types.PermissionRead}}}})
	notSupported("PutBucketAcl body with AllUsers", err)
	// The request's own errors come first.
	_, err = f.client.PutObjectAcl(bg, &s3.PutObjectAclInput{Bucket: aws.String("locked"), Key: aws.String("k"), ACL: "fake-acl"})
	if errCode(err) != "InvalidArgument" {
		t.Errorf("PutObjectAcl fake-acl on a bucket without ACLs: %v", err)
	}

	// What S3 accepts.
	if _, err := f.client.PutObjectAcl(bg, &s3.PutObjectAclInput{Bucket: aws.String("locked"), Key: aws.String("k"), ACL: types.ObjectCannedACLBucketOwnerFullControl}); err != nil {
		t.Errorf("PutObjectAcl bucket-owner-full-control: %v", err)
	}
	if _, err := f.client.PutObjectAcl(bg, &s3.PutObjectAclInput{Bucket: aws.String("locked"), Key: aws.String("k"), GrantFullControl: aws.String(`id="` + ownerID + `"`)}); err != nil {
		t.Errorf("PutObjectAcl full control to the owner: %v", err)
	}
	ownerOnly := &types.AccessControlPolicy{Owner: &types.Owner{ID: aws.String(ownerID)},
		Grants: []types.Grant{{Grantee: &types.Grantee{Type: types.TypeCanonicalUser, ID: aws.String(ownerID)}, Permission: types.PermissionFullControl}}}
	if _, err := f.client.PutBucketAcl(bg, &s3.PutBucketAclInput{Bucket: aws.String("locked"), AccessControlPolicy: ownerOnly}); err != nil {
		t.Errorf("PutBucketAcl full control to the owner: %v", err)
	}
	obj, err := f.client.GetObjectAcl(bg, &s3.GetObjectAclInput{Bucket: aws.String("locked"), Key: aws.String("k")})
	if err != nil || aws.ToString(obj.Owner.ID) != ownerID || strings.Join(grantsOf(obj.Grants), " ") != ownerFull() {
		t.Errorf("GetObjectAcl: %v %+v", err, obj)
	}
	bkt, err := f.client.GetBucketAcl(bg, &s3.GetBucketAclInput{Bucket: aws.String("locked")})
	if err != nil || aws.ToString(bkt.Owner.ID) != ownerID || strings.Join(grantsOf(bkt.Grants), " ") != ownerFull() {
		t.Errorf("GetBucketAcl: %v %+v", err, bkt)
	}

	// ACLs set while they were enabled are not shown (nor used) once they
	// are disabled, and come back when they are enabled again.
	f.writerBucket(t, "switch")
	_, err = f.client.PutObject(bg, &s3.PutObjectInput{Bucket: aws.String("switch"), Key: aws.String("k"), Body: strings.NewReader("x"), ACL: types.ObjectCannedACLPublicRead})
	if err != nil {
		t.Fatal(err)
	}
	setOwnership := func(o types.ObjectOwnership) {
		t.Helper()
		if _, err := f.client.PutBucketOwnershipControls(bg, &s3.PutBucketOwnershipControlsInput{Bucket: aws.String("switch"),
			OwnershipControls: &types.OwnershipControls{Rules: []types.OwnershipControlsRule{{ObjectOwnership: o}}}}); err != nil {
			t.Fatalf("PutBucketOwnershipControls %s: %v", o, err)
		}
	}
	objectGrants := func() string {
		t.Helper()
		out, err := f.client.GetObjectAcl(bg, &s3.GetObjectAclInput{Bucket: aws.String("switch"), Key: aws.String("k")})
		if err != nil {
			t.Fatal(err)
		}
		return strings.Join(grantsOf(out.Grants), " ")
	}
	setOwnership(types.ObjectOwnershipBucketOwnerEnforced)
	if got := objectGrants(); got != ownerFull() {
		t.Errorf("object ACL with ACLs disabled: %s", got)
	}
	setOwnership(types.ObjectOwnershipBucketOwnerPreferred)
	if got := objectGrants(); got != ownerFull()+" Group:"+groupAllUsers+":READ" {
		t.Errorf("object ACL with ACLs enabled again: %s", got)
	}
}

// TestOwnershipControls: GetBucketOwnershipControls (authorized as
// s3:GetBucketOwnershipControls) of a new bucket is BucketOwnerEnforced;
// PutBucketOwnershipControls (s3:PutBucketOwnershipControls) changes it, and
// refuses a document without exactly one rule of a known setting
// (MalformedXML), and BucketOwnerEnforced while the bucket ACL grants anyone
// but the owner (InvalidBucketAclWithObjectOwnership);
// DeleteBucketOwnershipControls (s3:PutBucketOwnershipControls, as in S3)
// removes it idempotently, after which Get is OwnershipControlsNotFoundError
// (404) and the bucket takes ACLs; a missing bucket is NoSuchBucket.
func TestOwnershipControls(t *testing.T) {
	f := newFixture(t, false)
	f.bucket(t, "own")
	f.authCalls()
	get := func() (types.ObjectOwnership, error) {
		t.Helper()
		out, err := f.client.GetBucketOwnershipControls(bg, &s3.GetBucketOwnershipControlsInput{Bucket: aws.String("own")})
		if err != nil {
			return "", err
		}
		if len(out.OwnershipControls.Rules) != 1 {
			t.Fatalf("GetBucketOwnershipControls: %d rules", len(out.OwnershipControls.Rules))
		}
		return out.OwnershipControls.Rules[0].ObjectOwnership, nil
	}
	put := func(rules ...types.ObjectOwnership) error {
		in := &s3.PutBucketOwnershipControlsInput{Bucket: aws.String("own"), OwnershipControls: &types.OwnershipControls{Rules: []types.OwnershipControlsRule{}}}
		for _, r := range rules {
			in.OwnershipControls.Rules = append(in.OwnershipControls.Rules, types.OwnershipControlsRule{ObjectOwnership: r})
		}
		_, err := f.client.PutBucketOwnershipControls(bg, in)
		return err
	}
	if o, err := get(); err != nil || o != types.ObjectOwnershipBucketOwnerEnforced {
		t.Fatalf("default ownership %s, %v", o, err)
	}
	if _, ok := hasCall(f.authCalls(), "s3:GetBucketOwnershipControls", "arn:aws:s3:::own"); !ok {
		t.Fatal("GetBucketOwnershipControls not authorized as s3:GetBucketOwnershipControls")
	}
	if err := put(types.ObjectOwnershipObjectWriter); err != nil {
		t.Fatalf("PutBucketOwnershipControls: %v", err)
	}
	if _, ok := hasCall(f.authCalls(), "s3:PutBucketOwnershipControls", "arn:aws:s3:::own"); !ok {
		t.Fatal("PutBucketOwnershipControls not authorized as s3:PutBucketOwnershipControls")
	}
	if o, err := get(); err != nil || o != types.ObjectOwnershipObjectWriter {
		t.Fatalf("ownership after the put %s, %v", o, err)
	}
	for name, rules := range map[string][]types.ObjectOwnership{
		"two rules": {types.ObjectOwnershipBucketOwnerPreferred, types.ObjectOwnershipObjectWriter},
		"no rule":   {},
		"unknown":   {"RandomValue"},
	} {
		if err := put(rules...); errCode(err) != "MalformedXML" || httpStatus(err) != 400 {
			t.Errorf("%s: %v; want MalformedXML", name, err)
		}
	}

	// Turning ACLs off needs a bucket ACL that grants only the owner.
	if _, err := f.client.PutBucketAcl(bg, &s3.PutBucketAclInput{Bucket: aws.String("own"), ACL: types.BucketCannedACLPublicRead}); err != nil {
		t.Fatal(err)
	}
	err := put(types.ObjectOwnershipBucketOwnerEnforced)
	if errCode(err) != "InvalidBucketAclWithObjectOwnership" || httpStatus(err) != 400 ||
		errMessage(err) != "Bucket cannot have ACLs set with ObjectOwnership's BucketOwnerEnforced setting" {
		t.Fatalf("BucketOwnerEnforced over a public-read bucket ACL: %v", err)
	}
	if o, err := get(); err != nil || o != types.ObjectOwnershipObjectWriter {
		t.Fatalf("ownership after the refused put %s, %v", o, err)
	}
	if _, err := f.client.PutBucketAcl(bg, &s3.PutBucketAclInput{Bucket: aws.String("own"), ACL: types.BucketCannedACLPrivate}); err != nil {
		t.Fatal(err)
	}
	if err := put(types.ObjectOwnershipBucketOwnerEnforced); err != nil {
		t.Fatalf("BucketOwnerEnforced over a private bucket ACL: %v", err)
	}

	f.authCalls()
	for range 2 { // idempotent, 204
		if _, err := f.client.DeleteBucketOwnershipControls(bg, &s3.DeleteBucketOwnershipControlsInput{Bucket: aws.String("own")}); err != nil {
			t.Fatalf("DeleteBucketOwnershipControls: %v", err)
		}
		if _, ok := hasCall(f.authCalls(), "s3:PutBucketOwnershipControls", "arn:aws:s3:::own"); !ok {
			t.Fatal("DeleteBucketOwnershipControls not authorized as s3:PutBucketOwnershipControls")
		}
	}
	if e := f.lastEvent(); e.Action != "DeleteBucketOwnershipControls" || e.Decision != audit.Allowed || e.Role != "arn:aws:s3:::own" {
		t.Errorf("audit %+v", e)
	}
	_, err = get()
	if errCode(err) != "OwnershipControlsNotFoundError" || httpStatus(err) != 404 || errMessage(err) != "The bucket ownership controls were not found" {
		t.Fatalf("GetBucketOwnershipControls after delete: %v", err)
	}
	// Without ownership controls the bucket takes ACLs, as S3's buckets did before them.
	_, err = f.client.PutObject(bg, &s3.PutObjectInput{Bucket: aws.String("own"), Key: aws.String("k"), Body: strings.NewReader("x"), ACL: types.ObjectCannedACLPublicRead})
	if err != nil {
		t.Fatalf("PutObject public-read without ownership controls: %v", err)
	}
	if err := put(types.ObjectOwnershipBucketOwnerPreferred); err != nil {
		t.Fatal(err)
	}
	if o, err := get(); err != nil || o != types.ObjectOwnershipBucketOwnerPreferred {
		t.Fatalf("ownership put after delete %s, %v", o, err)
	}

	for name, call := range map[string]func() error{
		"Put": func() error {
			_, err := f.client.PutBucketOwnershipControls(bg, &s3.PutBucketOwnershipControlsInput{Bucket: aws.String("nothere"),
				OwnershipControls: &types.OwnershipControls{Rules: []types.OwnershipControlsRule{{ObjectOwnership: types.ObjectOwnershipObjectWriter}}}})
			return err
		},
		"Get": func() error {
			_, err := f.client.GetBucketOwnershipControls(bg, &s3.GetBucketOwnershipControlsInput{Bucket: aws.String("nothere")})
			return err
		},
		"Delete": func() error {
			_, err := f.client.DeleteBucketOwnershipControls(bg, &s3.DeleteBucketOwnershipControlsInput{Bucket: aws.String("nothere")})
			return err
		},
	} {
		if err := call(); errCode(err) != "NoSuchBucket" || httpStatus(err) != 404 {
			t.Errorf("%sBucketOwnershipControls of a missing bucket: %v", name, err)
		}
	}
}

// aclAuthorizer decides as the server does, with the policy engine: an
// anonymous caller by the bucket policy alone (Principal "*"); a signed
// caller by what its identity allows and the bucket policy, whose explicit
// Deny wins. Every call is also recorded by the fixture.
type aclAuthorizer struct {
	f *fixture
	// identity tells what a signed caller's own policies allow.
	identity func(action, resource string) bool
}

func (a *aclAuthorizer) Authorize(ctx context.Context, action, resource string, conds map[string][]string, bucketPolicy string) error {
	_ = a.f.Authorize(ctx, action, resource, conds, bucketPolicy)
	decision := policy.ImplicitlyDenied
	if bucketPolicy != "" {
		p, err := policy.Parse([]byte(bucketPolicy), policy.KindResource)
		if err != nil {
			return err
		}
		decision = policy.Evaluate(policy.Request{Principal: "*", Action: action, Resource: resource, Context: policy.ContextFrom(conds)},
			policy.Input{Resource: p}).Decision
	}
	_, signed := conds["s3:signatureversion"]
	switch {
	case decision == policy.ExplicitlyDenied:
		return &Denial{Message: "Access Denied", Reason: "explicit deny"}
	case decision == policy.Allowed, signed && a.identity(action, resource):
		return nil
	}
	return &Denial{Message: "Access Denied", Reason: "implicit deny"}
}

// TestACLGrantsRead: an object ACL that grants AllUsers READ lets an
// anonymous GET and HEAD read the object, as S3 does, and a signed caller
// whose own policies do not allow s3:GetObject; AuthenticatedUsers READ lets
// any signed caller read, but not an anonymous one; a private object, a
// missing key, WRITE alone, an explicit Deny in the bucket policy, and a
// bucket whose ACLs are disabled (BucketOwnerEnforced) all stay AccessDenied.
func TestACLGrantsRead(t *testing.T) {
	f := newFixture(t, false)
	az := &aclAuthorizer{f: f, identity: func(action, resource string) bool {
		return action != "s3:GetObject" // the signed caller may do all but read objects
	}}
	cfg := f.svc.cfg
	cfg.Authorizer = az
	svc, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	f.svc = svc

	f.writerBucket(t, "pub")
	for key, acl := range map[string]types.ObjectCannedACL{
		"open.txt": types.ObjectCannedACLPublicRead, "auth.txt": types.ObjectCannedACLAuthenticatedRead,
		"closed.txt": types.ObjectCannedACLPrivate, "plain.txt": "",
	} {
		if _, err := f.client.PutObject(bg, &s3.PutObjectInput{Bucket: aws.String("pub"), Key: aws.String(key), Body: strings.NewReader("body of " + key), ACL: acl}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := f.client.PutObjectAcl(bg, &s3.PutObjectAclInput{Bucket: aws.String("pub"), Key: aws.String("plain.txt"),
		GrantWrite: aws.String("uri=" + groupAllUsers)}); err != nil {
		t.Fatal(err)
	}
	anonymous := func(method, key string) *httptest.ResponseRecorder {
		return f.raw(method, "/pub/"+key, nil, "", true)
	}
	signedGet := func(key string) error {
		out, err := f.client.GetObject(bg, &s3.GetObjectInput{Bucket: aws.String("pub"), Key: aws.String(key)})
		if err == nil {
			out.Body.Close()
		}
		return err
	}

	for _, c := range []struct {
		key             string
		anonymous, sign bool
	}{
		{"open.txt", true, true},
		{"auth.txt", false, true},
		{"closed.txt", false, false},
		{"plain.txt", false, false}, // AllUsers WRITE grants no read
		{"missing.txt", false, false},
	} {
		rec := anonymous(http.MethodGet, c.key)
		if c.anonymous && (rec.Code != 200 || rec.Body.String() != "body of "+c.key) || !c.anonymous && rec.Code != 403 {
			t.Errorf("anonymous GET %s: %d %s", c.key, rec.Code, rec.Body)
		}
		if rec := anonymous(http.MethodHead, c.key); c.anonymous && rec.Code != 200 || !c.anonymous && rec.Code != 403 {
			t.Errorf("anonymous HEAD %s: %d", c.key, rec.Code)
		}
		if err := signedGet(c.key); c.sign && err != nil || !c.sign && errCode(err) != "AccessDenied" {
			t.Errorf("signed GET %s: %v", c.key, err)
		}
	}
	anonymous(http.MethodGet, "open.txt")
	if e := f.lastEvent(); e.Action != "GetObject" || e.Decision != audit.Allowed || e.Role != "arn:aws:s3:::pub/open.txt" {
		t.Errorf("audit of the ACL read %+v", e)
	}
	anonymous(http.MethodGet, "closed.txt")
	if e := f.lastEvent(); e.Decision != audit.Denied || e.ErrorCode != "AccessDenied" {
		t.Errorf("audit of the denied read %+v", e)
	}

	// The ACL adds to the bucket policy; an explicit Deny in it still wins.
	deny := `{"Version":"2012-10-17","Statement":[
		{"Sid":"Other","Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::pub/nothing"},
		{"Sid":"NoReads","Effect":"Deny","Principal":"*","Action":"s3:GetObject","Resource":["arn:aws:s3:::pub/open.txt","arn:aws:s3:::pub/auth.txt"]}]}`
	if _, err := f.client.PutBucketPolicy(bg, &s3.PutBucketPolicyInput{Bucket: aws.String("pub"), Policy: aws.String(deny)}); err != nil {
		t.Fatal(err)
	}
	if rec := anonymous(http.MethodGet, "open.txt"); rec.Code != 403 {
		t.Errorf("anonymous GET under an explicit Deny: %d %s", rec.Code, rec.Body)
	}
	if err := signedGet("auth.txt"); errCode(err) != "AccessDenied" {
		t.Errorf("signed GET under an explicit Deny: %v", err)
	}
	// A policy whose Statement is one object, not a list, works the same.
	single := `{"Version":"2012-10-17","Statement":{"Effect":"Deny","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::pub/auth.txt"}}`
	if _, err := f.client.PutBucketPolicy(bg, &s3.PutBucketPolicyInput{Bucket: aws.String("pub"), Policy: aws.String(single)}); err != nil {
		t.Fatal(err)
	}
	if rec := anonymous(http.MethodGet, "open.txt"); rec.Code != 200 {
		t.Errorf("anonymous GET with a single-statement policy: %d %s", rec.Code, rec.Body)
	}
	if err := signedGet("auth.txt"); errCode(err) != "AccessDenied" {
		t.Errorf("signed GET under a single-statement Deny: %v", err)
	}
	if _, err := f.client.DeleteBucketPolicy(bg, &s3.DeleteBucketPolicyInput{Bucket: aws.String("pub")}); err != nil {
		t.Fatal(err)
	}

	// With ACLs disabled they grant nothing.
	if _, err := f.client.PutBucketOwnershipControls(bg, &s3.PutBucketOwnershipControlsInput{Bucket: aws.String("pub"),
		OwnershipControls: &types.OwnershipControls{Rules: []types.OwnershipControlsRule{{ObjectOwnership: types.ObjectOwnershipBucketOwnerEnforced}}}}); err != nil {
		t.Fatal(err)
	}
	if rec := anonymous(http.MethodGet, "open.txt"); rec.Code != 403 {
		t.Errorf("anonymous GET with ACLs disabled: %d %s", rec.Code, rec.Body)
	}
	if err := signedGet("auth.txt"); errCode(err) != "AccessDenied" {
		t.Errorf("signed GET with ACLs disabled: %v", err)
	}
	// Only reads: an ACL never lets anyone write or delete.
	if rec := f.raw(http.MethodDelete, "/pub/open.txt", nil, "", true); rec.Code != 403 {
		t.Errorf("anonymous DELETE: %d", rec.Code)
	}
}

// TestWithStatement: a statement is added to a bucket policy whose Statement
// is a list, a single object, or absent, and the result is a valid resource
// policy holding both.
func TestWithStatement(t *testing.T) {
	stmt := aclReadStatement("b")
	for _, c := range []struct{ name, doc string }{
		{"none", ""},
		{"list", `{"Version":"2012-10-17","Statement":[{"Sid":"A","Effect":"Deny","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/x"}]}`},
		{"object", `{"Version":"2012-10-17","Statement":{"Sid":"A","Effect":"Deny","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/x"}}`},
		{"id and no version", `{"Id":"p","Statement":[{"Effect":"Deny","Principal":{"AWS":"*"},"Action":"s3:*","Resource":"arn:aws:s3:::b/x"}]}`},
	} {
		out, err := withStatement(c.doc, stmt)
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		p, err := policy.Parse([]byte(out), policy.KindResource)
		if err != nil {
			t.Errorf("%s: %s does not parse: %v", c.name, out, err)
			continue
		}
		req := func(key string) policy.Decision {
			return policy.Evaluate(policy.Request{Principal: "*", Action: "s3:GetObject", Resource: "arn:aws:s3:::b/" + key, Context: policy.NewContext()},
				policy.Input{Resource: p}).Decision
		}
		if req("y") != policy.Allowed || c.doc != "" && req("x") != policy.ExplicitlyDenied {
			t.Errorf("%s: %s decides y %v, x %v", c.name, out, req("y"), req("x"))
		}
	}
	if _, err := withStatement("[1]", stmt); err == nil {
		t.Error("a policy that is not an object was extended")
	}
}

// TestParseACLRequestGrants: the grants a request sets, table-driven: canned
// ACLs for buckets and objects, grant headers in their order, and a body.
func TestParseACLRequestGrants(t *testing.T) {
	owners := aclOwners{owner: ownerID, bucketOwner: ownerID, known: []string{ownerID}}
	other := aclOwners{owner: ownerID, bucketOwner: otherID, known: []string{ownerID, otherID}}
	for _, c := range []struct {
		name   string
		h      http.Header
		body   string
		o      aclOwners
		bucket bool
		want   []string
	}{
		{"public-read-write", http.Header{"X-Amz-Acl": {"public-read-write"}}, "", owners, false,
			[]string{"CanonicalUser:" + ownerID + ":FULL_CONTROL", "Group:" + groupAllUsers + ":READ", "Group:" + groupAllUsers + ":WRITE"}},
		{"bucket-owner-read, same owner", http.Header{"X-Amz-Acl": {"bucket-owner-read"}}, "", owners, false,
			[]string{"CanonicalUser:" + ownerID + ":FULL_CONTROL"}},
		{"bucket-owner-full-control, another bucket owner", http.Header{"X-Amz-Acl": {"bucket-owner-full-control"}}, "", other, false,
			[]string{"CanonicalUser:" + ownerID + ":FULL_CONTROL", "CanonicalUser:" + otherID + ":FULL_CONTROL"}},
		{"bucket-owner-full-control on a bucket", http.Header{"X-Amz-Acl": {"bucket-owner-full-control"}}, "", other, true,
			[]string{"CanonicalUser:" + ownerID + ":FULL_CONTROL"}},
		{"log-delivery-write on an object", http.Header{"X-Amz-Acl": {"log-delivery-write"}}, "", owners, false,
			[]string{"CanonicalUser:" + ownerID + ":FULL_CONTROL"}},
		{"grant headers", http.Header{"X-Amz-Grant-Write-Acp": {"uri=" + groupLogDelivery}, "X-Amz-Grant-Read": {`uri="` + groupAllUsers + `",  ID="` + strings.ToUpper(ownerID) + `"`}}, "", owners, false,
			[]string{"Group:" + groupAllUsers + ":READ", "CanonicalUser:" + ownerID + ":READ", "Group:" + groupLogDelivery + ":WRITE_ACP"}},
		{"empty list", nil, acpBody(ownerID), owners, true, nil},
	} {
		req, err := parseACLRequest(c.h, []byte(c.body), c.o, c.bucket)
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		var got []string
		for _, g := range req.grants {
			who := g.Grantee.ID
			if g.Grantee.Type == granteeGroup {
				who = g.Grantee.URI
			}
			got = append(got, g.Grantee.Type+":"+who+":"+g.Permission)
		}
		if strings.Join(got, " ") != strings.Join(c.want, " ") {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
	}
}

// FuzzParseACLRequest: any headers and body give either grants S3 could
// store (known permissions, a canonical user of a known ID or a predefined
// group) or an S3 error of status 400 or 403; never a panic.
func FuzzParseACLRequest(f *testing.F) {
	f.Add("", "", "", acpBody(ownerID, userGrantXML(ownerID, "FULL_CONTROL"), groupGrantXML(groupAllUsers, "READ")))
	f.Add("public-read", "", "", "")
	f.Add("", `uri="`+groupAllUsers+`", id=`+ownerID, "emailAddress=x", "")
	f.Add("", "id", "=,=", "<AccessControlPolicy><Owner/><AccessControlList><Grant/></AccessControlList></AccessControlPolicy>")
	owners := aclOwners{owner: ownerID, bucketOwner: ownerID, known: []string{ownerID}}
	f.Fuzz(func(t *testing.T, canned, read, write, body string) {
		h := http.Header{}
		if canned != "" {
			h.Set("X-Amz-Acl", canned)
		}
		if read != "" {
			h.Set("X-Amz-Grant-Read", read)
		}
		if write != "" {
			h.Set("X-Amz-Grant-Write", write)
		}
		for _, bucket := range []bool{false, true} {
			req, err := parseACLRequest(h, []byte(body), owners, bucket)
			if err != nil {
				var ae *awsapi.Error
				if !errors.As(err, &ae) || ae.Status != 400 && ae.Status != 403 {
					t.Fatalf("error %v is not an S3 client error", err)
				}
				continue
			}
			for _, g := range req.grants {
				ok := validPermission(g.Permission) &&
					(g.Grantee.Type == granteeCanonicalUser && g.Grantee.ID == ownerID || g.Grantee.Type == granteeGroup && validGroup(g.Grantee.URI))
				if !ok {
					t.Fatalf("grant %+v", g)
				}
			}
		}
	})
}

// FuzzParseOwnershipControls: any body gives one of the three settings or
// MalformedXML.
func FuzzParseOwnershipControls(f *testing.F) {
	f.Add(`<OwnershipControls><Rule><ObjectOwnership>ObjectWriter</ObjectOwnership></Rule></OwnershipControls>`)
	f.Add(`<OwnershipControls><Rule/><Rule/></OwnershipControls>`)
	f.Add(``)
	f.Fuzz(func(t *testing.T, body string) {
		o, err := parseOwnershipControls([]byte(body))
		if err != nil {
			if awsapi.AsError(err).Code != "MalformedXML" {
				t.Fatalf("error %v", err)
			}
			return
		}
		if o != ownershipEnforced && o != ownershipPreferred && o != ownershipWriter {
			t.Fatalf("ownership %q", o)
		}
	})
}
