package e2e

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// TestS3BucketPolicies: with keyless up, an unsigned curl-style GET of
// site/index.html (Host site.s3.localhost, the virtual host the gateway serves
// unsigned requests on) is AccessDenied until the root user puts a public-read
// bucket policy (Principal "*", s3:GetObject on arn:aws:s3:::site/*), then reads
// the object, while an unsigned DELETE stays AccessDenied; GetBucketPolicy
// returns the policy. A bucket policy that denies s3:DeleteObject stops a role
// session whose identity policy allows it (AccessDenied naming the
// resource-based policy, the object kept, the denial audited with the deciding
// statement) where the same session could delete before the policy was put.
func TestS3BucketPolicies(t *testing.T) {
	p := startUp(t, t.TempDir(), "--config", allDataEventsConfig(t)) // the allowed anonymous read is audited
	ctx := context.Background()
	endpoint := p.env["KEYLESS_ENDPOINT"]
	account := p.env["KEYLESS_ACCOUNT_ID"]
	u, err := url.Parse(endpoint)
	if err != nil {
		t.Fatal(err)
	}
	root := s3.NewFromConfig(rootConfig(p), func(o *s3.Options) { o.UsePathStyle = true })
	if _, err := root.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("site")}); err != nil {
		t.Fatalf("CreateBucket: %v", err)
	}
	page := "<!doctype html><h1>public</h1>\n"
	for _, key := range []string{"index.html", "tmp.txt"} {
		if _, err := root.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("site"), Key: aws.String(key), Body: strings.NewReader(page)}); err != nil {
			t.Fatalf("PutObject %s: %v", key, err)
		}
	}

	// curl -H 'Host: site.s3.localhost:PORT' ENDPOINT/index.html
	anonymous := func(method string) (int, string) {
		t.Helper()
		req, err := http.NewRequestWithContext(ctx, method, endpoint+"/index.html", nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Host = "site.s3.localhost:" + u.Port()
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := anonymous(http.MethodGet); code != 403 || !strings.Contains(body, "<Code>AccessDenied</Code>") {
		t.Fatalf("anonymous GET without a bucket policy: %d %s", code, body)
	}
	publicRead := `{"Version":"2012-10-17","Statement":[
		{"Sid":"PublicRead","Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::site/*"}]}`
	if _, err := root.PutBucketPolicy(ctx, &s3.PutBucketPolicyInput{Bucket: aws.String("site"), Policy: aws.String(publicRead)}); err != nil {
		t.Fatalf("PutBucketPolicy: %v\nserver: %s", err, p.stderr)
	}
	if got, err := root.GetBucketPolicy(ctx, &s3.GetBucketPolicyInput{Bucket: aws.String("site")}); err != nil || aws.ToString(got.Policy) != publicRead {
		t.Fatalf("GetBucketPolicy = %q, %v", aws.ToString(got.Policy), err)
	}
	if code, body := anonymous(http.MethodGet); code != 200 || body != page {
		t.Fatalf("anonymous GET with a public-read policy: %d %s\nserver: %s", code, body, p.stderr)
	}
	if code, body := anonymous(http.MethodDelete); code != 403 || !strings.Contains(body, "<Code>AccessDenied</Code>") {
		t.Fatalf("anonymous DELETE with a public-read policy: %d %s", code, body)
	}

	// A role session whose identity policy allows deleting.
	session := s3.NewFromConfig(roleSession(t, p, `{"Version":"2012-10-17","Statement":[
		{"Effect":"Allow","Action":["s3:GetObject","s3:PutObject","s3:DeleteObject"],"Resource":"arn:aws:s3:::site/*"}]}`),
		func(o *s3.Options) { o.UsePathStyle = true })
	sessionARN := "arn:aws:sts::" + account + ":assumed-role/s3-deployer/deploy"
	if _, err := session.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String("site"), Key: aws.String("tmp.txt")}); err != nil {
		t.Fatalf("session DeleteObject before the Deny: %v", err)
	}
	noDelete := `{"Version":"2012-10-17","Statement":[
		{"Sid":"PublicRead","Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::site/*"},
		{"Sid":"NoDelete","Effect":"Deny","Principal":"*","Action":"s3:DeleteObject","Resource":"arn:aws:s3:::site/*"}]}`
	if _, err := root.PutBucketPolicy(ctx, &s3.PutBucketPolicyInput{Bucket: aws.String("site"), Policy: aws.String(noDelete)}); err != nil {
		t.Fatalf("PutBucketPolicy NoDelete: %v", err)
	}
	_, err = session.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String("site"), Key: aws.String("index.html")})
	if code, status := apiError(err); code != "AccessDenied" || status != 403 || !strings.Contains(err.Error(), "explicit deny in a resource-based policy") {
		t.Fatalf("session DeleteObject under the bucket Deny: %s %d %v", code, status, err)
	}
	if _, err := session.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("site"), Key: aws.String("index.html")}); err != nil {
		t.Errorf("session GetObject under the bucket policy: %v", err)
	}
	if _, err := root.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("site"), Key: aws.String("index.html")}); err != nil {
		t.Errorf("index.html after the denied delete: %v", err)
	}
	// The root user may still replace the policy that denies everyone.
	if _, err := root.DeleteBucketPolicy(ctx, &s3.DeleteBucketPolicyInput{Bucket: aws.String("site")}); err != nil {
		t.Fatalf("DeleteBucketPolicy: %v", err)
	}
	if code, _ := anonymous(http.MethodGet); code != 403 {
		t.Errorf("anonymous GET after DeleteBucketPolicy: %d", code)
	}

	var denied, anonAllowed bool
	for _, line := range strings.Split(p.settledStderr(), "\n") {
		if !strings.Contains(line, "msg=audit") || !strings.Contains(line, "service=s3") {
			continue
		}
		if strings.Contains(line, "action=DeleteObject") && strings.Contains(line, "decision=Denied") && strings.Contains(line, "caller="+sessionARN) &&
			strings.Contains(line, "code=AccessDenied") && strings.Contains(line, "role=arn:aws:s3:::site/index.html") && strings.Contains(line, "NoDelete") {
			denied = true
		}
		if strings.Contains(line, "action=GetObject") && strings.Contains(line, "decision=Allowed") && !strings.Contains(line, "caller=arn:") &&
			strings.Contains(line, "role=arn:aws:s3:::site/index.html") {
			anonAllowed = true
		}
	}
	if !denied || !anonAllowed {
		t.Errorf("audit: session denial %v, anonymous read %v\n%s", denied, anonAllowed, p.stderr)
	}
}
