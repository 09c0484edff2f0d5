package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/cloudfront"
	cftypes "github.com/aws/aws-sdk-go-v2/service/cloudfront/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/keyless-dev/keyless/internal/testenv"
)

// TestDeployRoleIsLeastPrivilege provisions, with keyless apply, a role whose
// permissions are the s3-deploy template (bucket site) and the
// cloudfront-invalidate template (the site's distribution), assumes it with a
// token minted for web/production, and checks that the role can do exactly what a
// deploy needs and nothing else: the AWS CLI's `s3 sync --delete --acl
// bucket-owner-full-control` (uploading, then deleting a file removed locally) and
// `cloudfront create-invalidation` work; the neighbours (another bucket, another
// distribution, the bucket's policy, deleting or creating buckets) are
// AccessDenied and leave what root sees unchanged.
func TestDeployRoleIsLeastPrivilege(t *testing.T) {
	awsCLI := testenv.LookPath(t, "aws")
	cfgPath := filepath.Join(t.TempDir(), "keyless.json")
	if err := os.WriteFile(cfgPath, []byte(`{"cloudfront": {"invalidation_delay": "1s", "distributions": [
		{"id": "`+siteDist+`", "bucket": "site"},
		{"id": "`+otherDist+`", "bucket": "other"}]}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	p := startUp(t, t.TempDir(), "--config", cfgPath)
	ctx := context.Background()
	account := p.env["KEYLESS_ACCOUNT_ID"]

	// Root: the two buckets, and an object in the other one.
	root := s3.NewFromConfig(rootConfig(p), func(o *s3.Options) { o.UsePathStyle = true })
	rootCF := cloudfront.NewFromConfig(rootConfig(p))
	for _, b := range []string{"site", "other"} {
		if _, err := root.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(b)}); err != nil {
			t.Fatalf("root CreateBucket %s: %v", b, err)
		}
	}
	if _, err := root.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("other"), Key: aws.String("keep.txt"), Body: strings.NewReader("other's\n")}); err != nil {
		t.Fatalf("root PutObject other/keep.txt: %v", err)
	}

	applyDeployRole(t, p)

	// The deploy's session.
	stsc := sts.NewFromConfig(aws.Config{Region: "us-east-1", BaseEndpoint: aws.String(p.env["KEYLESS_ENDPOINT"]), Credentials: aws.AnonymousCredentials{}})
	assumed, err := stsc.AssumeRoleWithWebIdentity(ctx, &sts.AssumeRoleWithWebIdentityInput{
		RoleArn:          aws.String("arn:aws:iam::" + account + ":role/deploy-web-production"),
		RoleSessionName:  aws.String("deploy"),
		WebIdentityToken: aws.String(mintJSON(t, p.env, "--repository", "web", "--environment", "production").Token),
	})
	if err != nil {
		t.Fatalf("AssumeRoleWithWebIdentity: %v", err)
	}
	c := assumed.Credentials
	sessionCfg := aws.Config{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(p.env["KEYLESS_ENDPOINT"]),
		Credentials:  credentials.NewStaticCredentialsProvider(aws.ToString(c.AccessKeyId), aws.ToString(c.SecretAccessKey), aws.ToString(c.SessionToken)),
	}
	session := s3.NewFromConfig(sessionCfg, func(o *s3.Options) { o.UsePathStyle = true })
	sessionCF := cloudfront.NewFromConfig(sessionCfg)

	// The neighbours, while site is still empty (so that DeleteBucket, were it
	// allowed, would succeed).
	denied := func(what string, err error) {
		t.Helper()
		if err == nil {
			t.Errorf("%s: allowed, want AccessDenied", what)
		} else if code, _ := apiError(err); code != "AccessDenied" {
			t.Errorf("%s: %v, want AccessDenied", what, err)
		}
	}
	_, err = session.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("other"), Key: aws.String("x.txt"), Body: strings.NewReader("no")})
	denied("PutObject other/x.txt", err)
	_, err = session.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("other"), Key: aws.String("keep.txt"), Body: strings.NewReader("overwritten")})
	denied("PutObject other/keep.txt", err)
	_, err = session.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String("other"), Key: aws.String("keep.txt")})
	denied("DeleteObject other/keep.txt", err)
	_, err = session.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String("other")})
	denied("ListObjectsV2 other", err)
	_, err = sessionCF.CreateInvalidation(ctx, &cloudfront.CreateInvalidationInput{
		DistributionId: aws.String(otherDist),
		InvalidationBatch: &cftypes.InvalidationBatch{
			CallerReference: aws.String("neighbour"),
			Paths:           &cftypes.Paths{Quantity: aws.Int32(1), Items: []string{"/*"}},
		},
	})
	denied("CreateInvalidation "+otherDist, err)
	_, err = session.PutBucketPolicy(ctx, &s3.PutBucketPolicyInput{Bucket: aws.String("site"), Policy: aws.String(`{"Version":"2012-10-17","Statement":[
		{"Effect":"Allow","Principal":"*","Action":"s3:*","Resource":["arn:aws:s3:::site","arn:aws:s3:::site/*"]}]}`)})
	denied("PutBucketPolicy site", err)
	_, err = session.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: aws.String("site")})
	denied("DeleteBucket site", err)
	_, err = session.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("neighbour")})
	denied("CreateBucket neighbour", err)

	// What root sees is unchanged.
	if got := objectBody(ctx, t, root, "other", "keep.txt"); got != "other's\n" {
		t.Errorf("other/keep.txt after the denials = %q, want %q", got, "other's\n")
	}
	if got := listKeys(ctx, t, root, "other"); strings.Join(got, " ") != "keep.txt" {
		t.Errorf("other after the denials holds %v, want [keep.txt]", got)
	}
	if invs, err := rootCF.ListInvalidations(ctx, &cloudfront.ListInvalidationsInput{DistributionId: aws.String(otherDist)}); err != nil || aws.ToInt32(invs.InvalidationList.Quantity) != 0 {
		t.Errorf("invalidations of %s after the denial: %v, %v; want none", otherDist, invs, err)
	}
	if _, err := root.GetBucketPolicy(ctx, &s3.GetBucketPolicyInput{Bucket: aws.String("site")}); err == nil {
		t.Error("site has a bucket policy after the denied PutBucketPolicy")
	} else if code, _ := apiError(err); code != "NoSuchBucketPolicy" {
		t.Errorf("root GetBucketPolicy site: %v, want NoSuchBucketPolicy", err)
	}
	buckets, err := root.ListBuckets(ctx, &s3.ListBucketsInput{})
	if err != nil {
		t.Fatalf("root ListBuckets: %v", err)
	}
	var names []string
	for _, b := range buckets.Buckets {
		names = append(names, aws.ToString(b.Name))
	}
	sort.Strings(names)
	if strings.Join(names, " ") != "other site" {
		t.Errorf("buckets after the denials: %v, want [other site]", names)
	}

	// The deploy: the AWS CLI with the session's credentials.
	home := t.TempDir()
	cliEnv := append(cleanEnv(),
		"AWS_ACCESS_KEY_ID="+aws.ToString(c.AccessKeyId),
		"AWS_SECRET_ACCESS_KEY="+aws.ToString(c.SecretAccessKey),
		"AWS_SESSION_TOKEN="+aws.ToString(c.SessionToken),
		"AWS_ENDPOINT_URL="+p.env["KEYLESS_ENDPOINT"],
		"AWS_DEFAULT_REGION=us-east-1",
		"AWS_CONFIG_FILE="+filepath.Join(home, "config"),
		"AWS_SHARED_CREDENTIALS_FILE="+filepath.Join(home, "credentials"),
		"HOME="+home,
	)
	cli := func(args ...string) string {
		t.Helper()
		ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, awsCLI, args...)
		cmd.Env = cliEnv
		var out, errOut bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errOut
		if err := cmd.Run(); err != nil {
			t.Fatalf("aws %s: %v\nstdout: %s\nstderr: %s\nserver: %s", strings.Join(args, " "), err, &out, &errOut, p.stderr)
		}
		return out.String()
	}
	dist := filepath.Join(t.TempDir(), "dist")
	for name, body := range map[string]string{
		"index.html":    "<h1>site</h1>\n",
		"about.html":    "<p>about</p>\n",
		"assets/app.js": "console.log('site')\n",
	} {
		path := filepath.Join(dist, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	sync := []string{"s3", "sync", dist, "s3://site", "--delete", "--acl", "bucket-owner-full-control", "--no-progress"}
	if out := cli(sync...); strings.Count(out, "upload: ") != 3 {
		t.Errorf("first sync uploaded %d files, want 3:\n%s", strings.Count(out, "upload: "), out)
	}
	if got := listKeys(ctx, t, root, "site"); strings.Join(got, " ") != "about.html assets/app.js index.html" {
		t.Errorf("site after the first sync holds %v", got)
	}
	if err := os.Remove(filepath.Join(dist, "about.html")); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dist, "index.html"), []byte("<h1>site, v2</h1>\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out := cli(sync...)
	if !strings.Contains(out, "delete: s3://site/about.html") || !strings.Contains(out, "upload: ") {
		t.Errorf("second sync did not delete about.html and upload index.html:\n%s", out)
	}
	if got := listKeys(ctx, t, root, "site"); strings.Join(got, " ") != "assets/app.js index.html" {
		t.Errorf("site after the second sync holds %v, want [assets/app.js index.html]", got)
	}
	if got := objectBody(ctx, t, root, "site", "index.html"); got != "<h1>site, v2</h1>\n" {
		t.Errorf("site/index.html after the second sync = %q", got)
	}

	out = cli("cloudfront", "create-invalidation", "--distribution-id", siteDist, "--paths", "/*", "--output", "json")
	var inv struct{ Invalidation struct{ Id, Status string } }
	if err := json.Unmarshal([]byte(out), &inv); err != nil || inv.Invalidation.Id == "" {
		t.Fatalf("create-invalidation printed %q (%v)", out, err)
	}
	// The cloudfront-invalidate template lets the pipe follow its invalidation.
	if got, err := sessionCF.GetInvalidation(ctx, &cloudfront.GetInvalidationInput{DistributionId: aws.String(siteDist), Id: aws.String(inv.Invalidation.Id)}); err != nil {
		t.Errorf("the session's GetInvalidation of its own invalidation: %v", err)
	} else if s := aws.ToString(got.Invalidation.Status); s != "InProgress" && s != "Completed" {
		t.Errorf("invalidation status %q", s)
	}
	if invs, err := rootCF.ListInvalidations(ctx, &cloudfront.ListInvalidationsInput{DistributionId: aws.String(siteDist)}); err != nil || aws.ToInt32(invs.InvalidationList.Quantity) != 1 {
		t.Errorf("invalidations of %s after the deploy: %v, %v; want one", siteDist, invs, err)
	}
	// The deploy touched nothing of the neighbours either.
	if got := listKeys(ctx, t, root, "other"); strings.Join(got, " ") != "keep.txt" {
		t.Errorf("other after the deploy holds %v, want [keep.txt]", got)
	}
	if invs, err := rootCF.ListInvalidations(ctx, &cloudfront.ListInvalidationsInput{DistributionId: aws.String(otherDist)}); err != nil || aws.ToInt32(invs.InvalidationList.Quantity) != 0 {
		t.Errorf("invalidations of %s after the deploy: %v, %v; want none", otherDist, invs, err)
	}
}

// listKeys returns the keys of bucket, sorted, read by client.
func listKeys(ctx context.Context, t *testing.T, client *s3.Client, bucket string) []string {
	t.Helper()
	out, err := client.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(bucket)})
	if err != nil {
		t.Fatalf("ListObjectsV2 %s: %v", bucket, err)
	}
	var keys []string
	for _, o := range out.Contents {
		keys = append(keys, aws.ToString(o.Key))
	}
	sort.Strings(keys)
	return keys
}

// objectBody returns the body of bucket/key, read by client.
func objectBody(ctx context.Context, t *testing.T, client *s3.Client, bucket, key string) string {
	t.Helper()
	out, err := client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		t.Fatalf("GetObject %s/%s: %v", bucket, key, err)
	}
	defer out.Body.Close()
	b, err := io.ReadAll(out.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// applyDeployRole provisions with keyless apply, on p, the role
// deploy-web-production, trusted for tokens of web/production from p's issuer,
// with the s3-deploy template (bucket site) and the cloudfront-invalidate
// template (distribution siteDist): the deploy role of the seeds. It returns its
// ARN.
func applyDeployRole(t *testing.T, p *upProc) string {
	t.Helper()
	// keyless.yaml: the local issuer as a Bitbucket provider, one role for
	// web/production with the two templates.
	m := mintJSON(t, p.env, "--repository", "web", "--environment", "production")
	file := filepath.Join(t.TempDir(), "keyless.yaml")
	config := fmt.Sprintf(`name: least
providers:
  bb:
    type: bitbucket
    workspace: keyless
    workspace_uuid: %q
    url: %s
    audiences: [%q]
roles:
  - name: deploy-{repository}-{environment}
    matrix:
      repositories:
        - {name: web, uuid: %q}
      environments:
        - {name: production, uuid: %q}
    permissions:
      - template: s3-deploy
        bucket: site
      - template: cloudfront-invalidate
        distribution: %s
`, m.Claims["workspaceUuid"], p.env["KEYLESS_ISSUER"], p.env["KEYLESS_AUDIENCE"],
		m.Claims["repositoryUuid"], m.Claims["deploymentEnvironmentUuid"], siteDist)
	if err := os.WriteFile(file, []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, errOut, code := run(t, provisionEnv(t, p), "apply", "-f", file, "--auto-approve"); code != 0 {
		t.Fatalf("apply: exit %d\n%s%s", code, out, errOut)
	}

	return "arn:aws:iam::" + p.env["KEYLESS_ACCOUNT_ID"] + ":role/deploy-web-production"
}
