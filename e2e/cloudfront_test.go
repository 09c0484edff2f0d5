package e2e

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/cloudfront"
	cftypes "github.com/aws/aws-sdk-go-v2/service/cloudfront/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/keyless-dev/keyless/internal/testenv"
)

// Distributions declared in the CloudFront test's config.
const (
	siteDist  = "EKEYLESSSITE01"
	otherDist = "EKEYLESSOTHER2"
)

// TestCloudFrontInvalidations: keyless up serves the CloudFront API behind the
// gateway, with the distributions and invalidation delay of its config, to the AWS
// CLI with the env file's endpoint and root credentials, and authorizes a role
// session's invalidations through its identity policy, auditing the denial.
func TestCloudFrontInvalidations(t *testing.T) {
	awsCLI := testenv.LookPath(t, "aws")
	data := t.TempDir()
	cfgPath := filepath.Join(t.TempDir(), "keyless.json")
	if err := os.WriteFile(cfgPath, []byte(`{"cloudfront": {"invalidation_delay": "2s", "distributions": [
		{"id": "`+siteDist+`", "bucket": "site"},
		{"id": "`+otherDist+`", "bucket": "other", "origin_path": "/www"}]}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	p := startUp(t, data, "--config", cfgPath)
	for _, k := range []string{"AWS_ENDPOINT_URL_CLOUDFRONT", "AWS_ENDPOINT_URL_S3"} {
		if p.env[k] != p.env["KEYLESS_ENDPOINT"] {
			t.Errorf("env %s = %q, want the endpoint %q", k, p.env[k], p.env["KEYLESS_ENDPOINT"])
		}
	}
	account := p.env["KEYLESS_ACCOUNT_ID"]
	ctx := context.Background()

	// The AWS CLI, configured only by the env file.
	home := t.TempDir()
	cliEnv := append(cleanEnv(),
		"AWS_ACCESS_KEY_ID="+p.env["KEYLESS_ROOT_ACCESS_KEY_ID"],
		"AWS_SECRET_ACCESS_KEY="+p.env["KEYLESS_ROOT_SECRET_ACCESS_KEY"],
		"AWS_ENDPOINT_URL_CLOUDFRONT="+p.env["AWS_ENDPOINT_URL_CLOUDFRONT"],
		"AWS_DEFAULT_REGION=us-east-1",
		"AWS_CONFIG_FILE="+filepath.Join(home, "config"),
		"AWS_SHARED_CREDENTIALS_FILE="+filepath.Join(home, "credentials"),
		"HOME="+home,
	)
	cli := func(args ...string) (string, error) {
		t.Helper()
		ctx, cancel := context.WithTimeout(ctx, 90*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, awsCLI, append([]string{"cloudfront"}, args...)...)
		cmd.Env = cliEnv
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	out, err := cli("create-invalidation", "--distribution-id", siteDist, "--paths", "/index.html", "/assets/*", "--output", "json")
	created := time.Now()
	if err != nil {
		t.Fatalf("aws cloudfront create-invalidation: %v\n%s\nserver: %s", err, out, p.stderr)
	}
	var inv struct {
		Location     string
		Invalidation struct {
			Id, Status        string
			InvalidationBatch struct {
				Paths struct {
					Quantity int
					Items    []string
				}
			}
		}
	}
	if err := json.Unmarshal([]byte(out), &inv); err != nil {
		t.Fatalf("create-invalidation printed %q: %v", out, err)
	}
	iv := inv.Invalidation
	if iv.Id == "" || iv.Status != "InProgress" || iv.InvalidationBatch.Paths.Quantity != 2 ||
		strings.Join(iv.InvalidationBatch.Paths.Items, " ") != "/index.html /assets/*" ||
		!strings.HasSuffix(inv.Location, "/2020-05-31/distribution/"+siteDist+"/invalidation/"+iv.Id) {
		t.Fatalf("create-invalidation = %s", out)
	}
	// Within the configured delay the invalidation is still in progress.
	root := cloudfront.NewFromConfig(rootConfig(p))
	got, err := root.GetInvalidation(ctx, &cloudfront.GetInvalidationInput{DistributionId: aws.String(siteDist), Id: aws.String(iv.Id)})
	if err != nil {
		t.Fatalf("GetInvalidation: %v", err)
	}
	if s := aws.ToString(got.Invalidation.Status); s != "InProgress" && time.Since(created) < 2*time.Second {
		t.Errorf("status %s before the 2s delay passed", s)
	}
	// The waiter's first poll comes at once and its next 20s later: poll once the
	// delay has passed.
	time.Sleep(time.Until(created.Add(2100 * time.Millisecond)))
	if out, err := cli("wait", "invalidation-completed", "--distribution-id", siteDist, "--id", iv.Id); err != nil {
		t.Fatalf("aws cloudfront wait invalidation-completed: %v\n%s", err, out)
	}

	// A role session allowed to invalidate the site only.
	rootIAM := iam.NewFromConfig(rootConfig(p))
	role, err := rootIAM.CreateRole(ctx, &iam.CreateRoleInput{
		RoleName:                 aws.String("site-deployer"),
		AssumeRolePolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::` + account + `:root"},"Action":"sts:AssumeRole"}]}`),
	})
	if err != nil {
		t.Fatalf("CreateRole: %v", err)
	}
	siteARN := "arn:aws:cloudfront::" + account + ":distribution/" + siteDist
	otherARN := "arn:aws:cloudfront::" + account + ":distribution/" + otherDist
	if _, err := rootIAM.PutRolePolicy(ctx, &iam.PutRolePolicyInput{
		RoleName:   aws.String("site-deployer"),
		PolicyName: aws.String("invalidate-site"),
		PolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[
			{"Sid":"InvalidateSite","Effect":"Allow","Action":"cloudfront:CreateInvalidation","Resource":"` + siteARN + `"},
			{"Sid":"NoOtherSite","Effect":"Deny","Action":"cloudfront:CreateInvalidation","NotResource":"` + siteARN + `"}]}`),
	}); err != nil {
		t.Fatalf("PutRolePolicy: %v", err)
	}
	// Roles may not be assumed by root: a user assumes it, as a CI deployer would.
	if _, err := rootIAM.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("ci")}); err != nil {
		t.Fatalf("CreateUser: %v", err)
	}
	if _, err := rootIAM.PutUserPolicy(ctx, &iam.PutUserPolicyInput{
		UserName: aws.String("ci"), PolicyName: aws.String("assume"),
		PolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole","Resource":"*"}]}`),
	}); err != nil {
		t.Fatalf("PutUserPolicy: %v", err)
	}
	key, err := rootIAM.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: aws.String("ci")})
	if err != nil {
		t.Fatalf("CreateAccessKey: %v", err)
	}
	ucfg := rootConfig(p)
	ucfg.Credentials = credentials.NewStaticCredentialsProvider(aws.ToString(key.AccessKey.AccessKeyId), aws.ToString(key.AccessKey.SecretAccessKey), "")
	assumed, err := sts.NewFromConfig(ucfg).AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: role.Role.Arn, RoleSessionName: aws.String("deploy")})
	if err != nil {
		t.Fatalf("AssumeRole: %v", err)
	}
	c := assumed.Credentials
	scfg := rootConfig(p)
	scfg.Credentials = credentials.NewStaticCredentialsProvider(aws.ToString(c.AccessKeyId), aws.ToString(c.SecretAccessKey), aws.ToString(c.SessionToken))
	session := cloudfront.NewFromConfig(scfg)
	batch := func(ref string) *cftypes.InvalidationBatch {
		return &cftypes.InvalidationBatch{CallerReference: aws.String(ref), Paths: &cftypes.Paths{Quantity: aws.Int32(1), Items: []string{"/*"}}}
	}
	ok, err := session.CreateInvalidation(ctx, &cloudfront.CreateInvalidationInput{DistributionId: aws.String(siteDist), InvalidationBatch: batch("deploy-1")})
	if err != nil || aws.ToString(ok.Invalidation.Status) != "InProgress" {
		t.Fatalf("session CreateInvalidation on %s: %v", siteDist, err)
	}
	_, err = session.CreateInvalidation(ctx, &cloudfront.CreateInvalidationInput{DistributionId: aws.String(otherDist), InvalidationBatch: batch("deploy-2")})
	sessionARN := "arn:aws:sts::" + account + ":assumed-role/site-deployer/deploy"
	if code, status := apiError(err); code != "AccessDenied" || status != 403 ||
		!strings.Contains(err.Error(), "User: "+sessionARN+" is not authorized to perform: cloudfront:CreateInvalidation on resource: "+otherARN+" with an explicit deny in an identity-based policy") {
		t.Fatalf("session CreateInvalidation on %s: %s %d %v", otherDist, code, status, err)
	}
	// Not even listing: the policy allows nothing else.
	if _, err := session.ListInvalidations(ctx, &cloudfront.ListInvalidationsInput{DistributionId: aws.String(siteDist)}); err == nil {
		t.Errorf("session ListInvalidations allowed")
	} else if code, _ := apiError(err); code != "AccessDenied" {
		t.Errorf("session ListInvalidations: %v", err)
	}

	// The audit log has the allowed and denied calls, the denial with its statement.
	var allowed, denied bool
	for _, line := range strings.Split(p.settledStderr(), "\n") {
		if !strings.Contains(line, "msg=audit") || !strings.Contains(line, "service=cloudfront action=CreateInvalidation") || !strings.Contains(line, "caller="+sessionARN) {
			continue
		}
		switch {
		case strings.Contains(line, "decision=Allowed") && strings.Contains(line, "role="+siteARN):
			allowed = true
		case strings.Contains(line, "decision=Denied") && strings.Contains(line, "role="+otherARN) &&
			strings.Contains(line, "code=AccessDenied") && strings.Contains(line, `NoOtherSite`) && strings.Contains(line, "source_ip=127.0.0.1"):
			denied = true
		}
	}
	if !allowed || !denied {
		t.Errorf("audit log: allowed event %v, denied event %v\n%s", allowed, denied, p.stderr)
	}
}
