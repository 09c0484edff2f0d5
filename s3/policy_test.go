package s3

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"

	"github.com/keyless-dev/keyless/audit"
)

const publicRead = `{
  "Version": "2012-10-17",
  "Statement": [{"Sid": "PublicRead", "Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::site/*"}]
}`

// errMessage is the AWS error message of err.
func errMessage(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorMessage()
	}
	return ""
}

// TestBucketPolicy: with the official SDK, GetBucketPolicy of a bucket without
// one is NoSuchBucketPolicy (404); PutBucketPolicy (authorized as
// s3:PutBucketPolicy on the bucket ARN) stores the document, which
// GetBucketPolicy (s3:GetBucketPolicy) returns byte for byte and every later
// authorization of the bucket's objects is given, while another bucket's are
// given none; DeleteBucketPolicy (s3:DeleteBucketPolicy) removes it, idempotently;
// a denied PutBucketPolicy changes nothing and is audited; a missing bucket is
// NoSuchBucket.
func TestBucketPolicy(t *testing.T) {
	f := newFixture(t, false)
	f.bucket(t, "site")
	f.bucket(t, "other")
	f.put(t, "site", "index.html", []byte("<h1>hi</h1>"))
	f.put(t, "other", "x", []byte("x"))
	f.authCalls()

	_, err := f.client.GetBucketPolicy(bg, &s3.GetBucketPolicyInput{Bucket: aws.String("site")})
	if errCode(err) != "NoSuchBucketPolicy" || httpStatus(err) != 404 || errMessage(err) != "The bucket policy does not exist" {
		t.Fatalf("GetBucketPolicy without a policy: %v", err)
	}
	if _, ok := hasCall(f.authCalls(), "s3:GetBucketPolicy", "arn:aws:s3:::site"); !ok {
		t.Fatal("GetBucketPolicy not authorized as s3:GetBucketPolicy")
	}

	if _, err := f.client.PutBucketPolicy(bg, &s3.PutBucketPolicyInput{Bucket: aws.String("site"), Policy: aws.String(publicRead)}); err != nil {
		t.Fatalf("PutBucketPolicy: %v", err)
	}
	if c, ok := hasCall(f.authCalls(), "s3:PutBucketPolicy", "arn:aws:s3:::site"); !ok || c.bucketPolicy != "" {
		t.Fatalf("PutBucketPolicy authorization %+v, %v", c, ok)
	}
	if e := f.lastEvent(); e.Action != "PutBucketPolicy" || e.Decision != audit.Allowed || e.Role != "arn:aws:s3:::site" {
		t.Errorf("audit %+v", e)
	}
	got, err := f.client.GetBucketPolicy(bg, &s3.GetBucketPolicyInput{Bucket: aws.String("site")})
	if err != nil || aws.ToString(got.Policy) != publicRead {
		t.Fatalf("GetBucketPolicy = %q, %v", aws.ToString(got.Policy), err)
	}
	if c, ok := hasCall(f.authCalls(), "s3:GetBucketPolicy", "arn:aws:s3:::site"); !ok || c.bucketPolicy != publicRead {
		t.Fatalf("GetBucketPolicy authorization %+v, %v", c, ok)
	}

	// Every authorization of the bucket carries its policy; another bucket's none.
	if _, err := f.client.HeadObject(bg, &s3.HeadObjectInput{Bucket: aws.String("site"), Key: aws.String("index.html")}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.client.ListObjectsV2(bg, &s3.ListObjectsV2Input{Bucket: aws.String("site")}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.client.HeadObject(bg, &s3.HeadObjectInput{Bucket: aws.String("other"), Key: aws.String("x")}); err != nil {
		t.Fatal(err)
	}
	calls := f.authCalls()
	if c, ok := hasCall(calls, "s3:GetObject", "arn:aws:s3:::site/index.html"); !ok || c.bucketPolicy != publicRead {
		t.Errorf("GetObject on site authorized with %+v, %v", c, ok)
	}
	if c, ok := hasCall(calls, "s3:ListBucket", "arn:aws:s3:::site"); !ok || c.bucketPolicy != publicRead {
		t.Errorf("ListBucket on site authorized with %+v, %v", c, ok)
	}
	if c, ok := hasCall(calls, "s3:GetObject", "arn:aws:s3:::other/x"); !ok || c.bucketPolicy != "" {
		t.Errorf("GetObject on other authorized with %+v, %v", c, ok)
	}
	// CopyObject reads the source with the source bucket's policy.
	if _, err := f.client.CopyObject(bg, &s3.CopyObjectInput{Bucket: aws.String("other"), Key: aws.String("copy"), CopySource: aws.String("site/index.html")}); err != nil {
		t.Fatal(err)
	}
	calls = f.authCalls()
	if c, ok := hasCall(calls, "s3:GetObject", "arn:aws:s3:::site/index.html"); !ok || c.bucketPolicy != publicRead {
		t.Errorf("CopyObject source authorized with %+v, %v", c, ok)
	}
	if c, ok := hasCall(calls, "s3:PutObject", "arn:aws:s3:::other/copy"); !ok || c.bucketPolicy != "" {
		t.Errorf("CopyObject destination authorized with %+v, %v", c, ok)
	}

	// A denied PutBucketPolicy leaves the policy as it was.
	f.deny = func(action, _ string) error {
		if action == "s3:PutBucketPolicy" {
			return &Denial{Message: "no", Statement: "deny-put-policy"}
		}
		return nil
	}
	_, err = f.client.PutBucketPolicy(bg, &s3.PutBucketPolicyInput{Bucket: aws.String("site"), Policy: aws.String(`{"Version":"2012-10-17","Statement":[]}`)})
	if errCode(err) != "AccessDenied" || httpStatus(err) != 403 {
		t.Fatalf("denied PutBucketPolicy: %v", err)
	}
	if e := f.lastEvent(); e.Action != "PutBucketPolicy" || e.Decision != audit.Denied || e.Statement != "deny-put-policy" {
		t.Errorf("audit %+v", e)
	}
	f.deny = nil
	if got, err := f.client.GetBucketPolicy(bg, &s3.GetBucketPolicyInput{Bucket: aws.String("site")}); err != nil || aws.ToString(got.Policy) != publicRead {
		t.Fatalf("GetBucketPolicy after the denied put = %q, %v", aws.ToString(got.Policy), err)
	}

	for range 2 { // idempotent, 204
		if _, err := f.client.DeleteBucketPolicy(bg, &s3.DeleteBucketPolicyInput{Bucket: aws.String("site")}); err != nil {
			t.Fatalf("DeleteBucketPolicy: %v", err)
		}
		if _, ok := hasCall(f.authCalls(), "s3:DeleteBucketPolicy", "arn:aws:s3:::site"); !ok {
			t.Fatal("DeleteBucketPolicy not authorized as s3:DeleteBucketPolicy")
		}
	}
	if _, err := f.client.GetBucketPolicy(bg, &s3.GetBucketPolicyInput{Bucket: aws.String("site")}); errCode(err) != "NoSuchBucketPolicy" {
		t.Fatalf("GetBucketPolicy after delete: %v", err)
	}
	if _, err := f.client.HeadObject(bg, &s3.HeadObjectInput{Bucket: aws.String("site"), Key: aws.String("index.html")}); err != nil {
		t.Fatal(err)
	}
	if c, ok := hasCall(f.authCalls(), "s3:GetObject", "arn:aws:s3:::site/index.html"); !ok || c.bucketPolicy != "" {
		t.Errorf("GetObject after delete authorized with %+v, %v", c, ok)
	}

	for name, call := range map[string]func() error{
		"Put": func() error {
			_, err := f.client.PutBucketPolicy(bg, &s3.PutBucketPolicyInput{Bucket: aws.String("nothere"), Policy: aws.String(publicRead)})
			return err
		},
		"Get": func() error {
			_, err := f.client.GetBucketPolicy(bg, &s3.GetBucketPolicyInput{Bucket: aws.String("nothere")})
			return err
		},
		"Delete": func() error {
			_, err := f.client.DeleteBucketPolicy(bg, &s3.DeleteBucketPolicyInput{Bucket: aws.String("nothere")})
			return err
		},
	} {
		if err := call(); errCode(err) != "NoSuchBucket" || httpStatus(err) != 404 {
			t.Errorf("%sBucketPolicy of a missing bucket: %v", name, err)
		}
	}
}

// TestMalformedBucketPolicy: PutBucketPolicy refuses, with MalformedPolicy (400)
// and S3's messages, a document that is not a JSON object, is not valid JSON,
// names an invalid principal or none, has no resource, or is over 20 KB (not
// counting whitespace, so that an indented policy under the limit is accepted),
// and stores nothing.
func TestMalformedBucketPolicy(t *testing.T) {
	f := newFixture(t, false)
	f.bucket(t, "site")
	const notJSON = "Policies must be valid JSON and the first byte must be '{'"
	stmt := func(s string) string { return `{"Version":"2012-10-17","Statement":[` + s + `]}` }
	big := stmt(`{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":[` +
		strings.TrimSuffix(strings.Repeat(`"arn:aws:s3:::site/`+strings.Repeat("k", 90)+`",`, 220), ",") + `]}`)
	for _, c := range []struct{ name, doc, msg string }{
		{"not an object", `["Version"]`, notJSON},
		{"not JSON", `Version: 2012-10-17`, notJSON},
		{"truncated", `{"Version":"2012-10-17","Statement":[`, notJSON},
		{"invalid principal", stmt(`{"Effect":"Allow","Principal":{"AWS":"bob"},"Action":"s3:GetObject","Resource":"arn:aws:s3:::site/*"}`), "Invalid principal in policy"},
		{"string principal", stmt(`{"Effect":"Allow","Principal":"bob","Action":"s3:GetObject","Resource":"arn:aws:s3:::site/*"}`), "Invalid principal in policy"},
		{"no principal", stmt(`{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::site/*"}`), "Missing required field Principal"},
		{"no resource", stmt(`{"Effect":"Allow","Principal":"*","Action":"s3:GetObject"}`), "Policy has invalid resource"},
		{"over 20 KB", big, "Policy exceeds the maximum allowed document size."},
	} {
		_, err := f.client.PutBucketPolicy(bg, &s3.PutBucketPolicyInput{Bucket: aws.String("site"), Policy: aws.String(c.doc)})
		if errCode(err) != "MalformedPolicy" || httpStatus(err) != 400 || errMessage(err) != c.msg {
			t.Errorf("%s: %v; want MalformedPolicy %q", c.name, err, c.msg)
		}
	}
	if _, err := f.client.GetBucketPolicy(bg, &s3.GetBucketPolicyInput{Bucket: aws.String("site")}); errCode(err) != "NoSuchBucketPolicy" {
		t.Fatalf("GetBucketPolicy after the refused puts: %v", err)
	}
	// 20 KB of content with as much indentation again is within the limit.
	indented := strings.ReplaceAll(stmt(`{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":[`+
		strings.TrimSuffix(strings.Repeat(`"arn:aws:s3:::site/`+strings.Repeat("k", 90)+`",`, 180), ",")+`]}`), ",", ",\n"+strings.Repeat(" ", 120))
	if len(indented) <= MaxBucketPolicySize {
		t.Fatalf("the indented policy is only %d bytes", len(indented))
	}
	if _, err := f.client.PutBucketPolicy(bg, &s3.PutBucketPolicyInput{Bucket: aws.String("site"), Policy: aws.String(indented)}); err != nil {
		t.Fatalf("PutBucketPolicy of %d bytes, indented: %v", len(indented), err)
	}
}

// TestAnonymousRequests: a request served without an Auth (unsigned) reaches
// the Authorizer with the bucket's policy and no signature condition keys; it
// reads an object where the Authorizer allows, uploads a body read as an
// unsigned payload, and is AccessDenied (audited with no caller) where it does not.
func TestAnonymousRequests(t *testing.T) {
	f := newFixture(t, false)
	f.bucket(t, "site")
	f.put(t, "site", "index.html", []byte("<h1>public</h1>"))
	if _, err := f.client.PutBucketPolicy(bg, &s3.PutBucketPolicyInput{Bucket: aws.String("site"), Policy: aws.String(publicRead)}); err != nil {
		t.Fatal(err)
	}
	f.authCalls()
	f.deny = func(action, _ string) error {
		if action != "s3:GetObject" && action != "s3:PutObject" {
			return &Denial{}
		}
		return nil
	}
	serve := func(method, path, body string) *httptest.ResponseRecorder {
		rec := httptest.NewRecorder()
		r := httptest.NewRequestWithContext(context.Background(), method, path, strings.NewReader(body))
		f.svc.ServeHTTP(rec, r) // no WithAuth: anonymous
		return rec
	}
	rec := serve(http.MethodGet, "/site/index.html", "")
	if rec.Code != 200 || rec.Body.String() != "<h1>public</h1>" {
		t.Fatalf("anonymous GET: %d %s", rec.Code, rec.Body)
	}
	c, ok := hasCall(f.authCalls(), "s3:GetObject", "arn:aws:s3:::site/index.html")
	if !ok || c.bucketPolicy != publicRead {
		t.Fatalf("anonymous GetObject authorized with %+v, %v", c, ok)
	}
	for _, k := range []string{"s3:signatureversion", "s3:authType", "s3:x-amz-content-sha256"} {
		if _, has := c.conds[k]; has {
			t.Errorf("anonymous request has condition key %s: %v", k, c.conds)
		}
	}
	rec = serve(http.MethodPut, "/site/drop.txt", "dropped")
	if rec.Code != 200 {
		t.Fatalf("anonymous PUT: %d %s", rec.Code, rec.Body)
	}
	out, err := f.client.GetObject(bg, &s3.GetObjectInput{Bucket: aws.String("site"), Key: aws.String("drop.txt")})
	if err != nil || aws.ToInt64(out.ContentLength) != int64(len("dropped")) {
		t.Fatalf("the anonymous upload: %v", err)
	}
	out.Body.Close()
	rec = serve(http.MethodDelete, "/site/index.html", "")
	if rec.Code != 403 || !strings.Contains(rec.Body.String(), "<Code>AccessDenied</Code><Message>Access Denied</Message>") {
		t.Fatalf("anonymous DELETE: %d %s", rec.Code, rec.Body)
	}
	if e := f.lastEvent(); e.Action != "DeleteObject" || e.Decision != audit.Denied || e.Caller != "" {
		t.Errorf("audit %+v", e)
	}
}
