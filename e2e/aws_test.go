package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"

	"github.com/keyless-dev/keyless/internal/testenv"
)

// bitbucketIPs is the source-IP list of the seed CloudFormation template.
var bitbucketIPs = []string{
	"34.199.54.113/32", "34.232.25.90/32", "34.232.119.183/32", "34.236.25.177/32",
	"35.171.175.212/32", "52.54.90.98/32", "52.202.195.162/32", "52.203.14.55/32",
	"52.204.96.37/32", "34.218.156.209/32", "34.218.168.212/32", "52.41.219.63/32",
	"35.155.178.254/32", "35.160.177.10/32", "34.216.18.129/32",
}

// federation is a running keyless up with the seed articles' provider and roles.
type federation struct {
	p           *upProc
	providerURL string // issuer without https://
	providerARN string
	audience    string
	cfnRole     string // CloudFormation trust policy, 127.0.0.1 among the allowed IPs
	cfnRoleNoIP string // the same policy with only Bitbucket's IPs
	repoRole    string // repository-UUID restriction: {web}:*
	envRole     string // deployment environment restriction: {web}:{production}:*
	webRepoUUID string
	prodEnvUUID string
	rootIAM     *iam.Client
	account     string
}

func rootConfig(p *upProc) aws.Config {
	return aws.Config{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(p.env["KEYLESS_ENDPOINT"]),
		Credentials:  credentials.NewStaticCredentialsProvider(p.env["KEYLESS_ROOT_ACCESS_KEY_ID"], p.env["KEYLESS_ROOT_SECRET_ACCESS_KEY"], ""),
	}
}

// rootCLIEnv is the environment of an AWS CLI or boto3 process that calls p's S3
// with its root credentials, with a fresh HOME and no AWS files of the user's.
func rootCLIEnv(t testing.TB, p *upProc) []string {
	home := t.TempDir()
	return append(cleanEnv(),
		"AWS_ACCESS_KEY_ID="+p.env["KEYLESS_ROOT_ACCESS_KEY_ID"],
		"AWS_SECRET_ACCESS_KEY="+p.env["KEYLESS_ROOT_SECRET_ACCESS_KEY"],
		"AWS_ENDPOINT_URL_S3="+p.env["AWS_ENDPOINT_URL_S3"],
		"AWS_DEFAULT_REGION=us-east-1",
		"AWS_CONFIG_FILE="+filepath.Join(home, "config"),
		"AWS_SHARED_CREDENTIALS_FILE="+filepath.Join(home, "credentials"),
		"HOME="+home,
	)
}

func trustPolicy(providerARN, providerURL string, conditions map[string]any) string {
	doc := map[string]any{
		"Version": "2012-10-17",
		"Statement": []any{map[string]any{
			"Effect":    "Allow",
			"Principal": map[string]any{"Federated": providerARN},
			"Action":    "sts:AssumeRoleWithWebIdentity",
			"Condition": conditions,
		}},
	}
	b, _ := json.Marshal(doc)
	return string(b)
}

// newFederation starts keyless up and provisions, through the official IAM client with
// the root credentials, what the seed articles provision in AWS.
func newFederation(t testing.TB) *federation {
	t.Helper()
	return newFederationIn(t, t.TempDir())
}

// newFederationIn is newFederation with the server's data directory at data.
func newFederationIn(t testing.TB, data string) *federation {
	t.Helper()
	p := startUp(t, data)
	ctx := context.Background()
	f := &federation{p: p, account: p.env["KEYLESS_ACCOUNT_ID"], audience: p.env["KEYLESS_AUDIENCE"]}
	f.rootIAM = iam.NewFromConfig(rootConfig(p))
	out, err := f.rootIAM.CreateOpenIDConnectProvider(ctx, &iam.CreateOpenIDConnectProviderInput{
		Url:          aws.String(p.env["KEYLESS_ISSUER"]),
		ClientIDList: []string{f.audience},
	})
	if err != nil {
		t.Fatalf("CreateOpenIDConnectProvider: %v", err)
	}
	f.providerARN = aws.ToString(out.OpenIDConnectProviderArn)
	f.providerURL = strings.TrimPrefix(p.env["KEYLESS_ISSUER"], "https://")
	if want := "arn:aws:iam::" + f.account + ":oidc-provider/" + f.providerURL; f.providerARN != want {
		t.Fatalf("provider ARN %s, want %s", f.providerARN, want)
	}
	// The repository and environment UUIDs come from a minted token's claims.
	m := mintJSON(t, p.env, "--repository", "web", "--environment", "production")
	f.webRepoUUID = m.Claims["repositoryUuid"].(string)
	f.prodEnvUUID = m.Claims["deploymentEnvironmentUuid"].(string)

	aud := map[string]any{f.providerURL + ":aud": f.audience}
	mk := func(name string, cond map[string]any) string {
		r, err := f.rootIAM.CreateRole(ctx, &iam.CreateRoleInput{
			RoleName:                 aws.String(name),
			AssumeRolePolicyDocument: aws.String(trustPolicy(f.providerARN, f.providerURL, cond)),
		})
		if err != nil {
			t.Fatalf("CreateRole %s: %v", name, err)
		}
		return aws.ToString(r.Role.Arn)
	}
	f.cfnRole = mk("CfnOIDCRole", map[string]any{"StringEquals": aud, "IpAddress": map[string]any{"aws:SourceIp": append(append([]string{}, bitbucketIPs...), "127.0.0.1/32")}})
	f.cfnRoleNoIP = mk("CfnOIDCRoleBitbucketIPsOnly", map[string]any{"StringEquals": aud, "IpAddress": map[string]any{"aws:SourceIp": bitbucketIPs}})
	f.repoRole = mk("WebRepoRole", map[string]any{"StringEquals": aud, "StringLike": map[string]any{f.providerURL + ":sub": f.webRepoUUID + ":*"}})
	f.envRole = mk("WebProductionRole", map[string]any{"StringEquals": aud, "StringLike": map[string]any{f.providerURL + ":sub": f.webRepoUUID + ":" + f.prodEnvUUID + ":*"}})
	return f
}

// tokenFile mints a step token for args and writes it where AWS_WEB_IDENTITY_TOKEN_FILE
// will point, as the seeds do with BITBUCKET_STEP_OIDC_TOKEN.
func (f *federation) tokenFile(t testing.TB, args ...string) string {
	t.Helper()
	out, stderr, code := run(t, withEnv(f.p.env), append([]string{"token", "mint"}, args...)...)
	if code != 0 {
		t.Fatalf("token mint %v: %s", args, stderr)
	}
	path := filepath.Join(t.TempDir(), "web-identity-token")
	if err := os.WriteFile(path, []byte(out), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// clientEnv is the environment of a pipeline step using the seeds' pattern.
func (f *federation) clientEnv(t *testing.T, roleARN, tokenFile string) []string {
	home := t.TempDir()
	return append(cleanEnv(),
		"AWS_ROLE_ARN="+roleARN,
		"AWS_WEB_IDENTITY_TOKEN_FILE="+tokenFile,
		"AWS_ROLE_SESSION_NAME=bitbucket-step",
		"AWS_REGION=us-east-1", "AWS_DEFAULT_REGION=us-east-1",
		"AWS_ENDPOINT_URL="+f.p.env["KEYLESS_ENDPOINT"],
		"AWS_ENDPOINT_URL_STS="+f.p.env["KEYLESS_ENDPOINT"],
		"AWS_CONFIG_FILE="+filepath.Join(home, "config"),
		"AWS_SHARED_CREDENTIALS_FILE="+filepath.Join(home, "credentials"),
		"HOME="+home,
	)
}

type identity struct {
	Account, Arn, UserId string
}

// goSDKWhoAmI uses aws-sdk-go-v2's default chain, which reads AWS_ROLE_ARN and
// AWS_WEB_IDENTITY_TOKEN_FILE from the environment, then calls GetCallerIdentity.
func goSDKWhoAmI(t *testing.T, env []string) (identity, error) {
	t.Helper()
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, "AWS_") {
			t.Setenv(k, v)
		}
	}
	cfg, err := config.LoadDefaultConfig(context.Background(), config.WithRetryMaxAttempts(1))
	if err != nil {
		t.Fatal(err)
	}
	out, err := sts.NewFromConfig(cfg).GetCallerIdentity(context.Background(), &sts.GetCallerIdentityInput{})
	if err != nil {
		return identity{}, err
	}
	return identity{aws.ToString(out.Account), aws.ToString(out.Arn), aws.ToString(out.UserId)}, nil
}

func apiError(err error) (code string, status int) {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		code = ae.ErrorCode()
	}
	var re *awshttp.ResponseError
	if errors.As(err, &re) {
		status = re.HTTPStatusCode()
	}
	return code, status
}

const boto3WhoAmI = `
import json, boto3, botocore.exceptions
try:
    out = boto3.client("sts").get_caller_identity()
    print(json.dumps({"Account": out["Account"], "Arn": out["Arn"], "UserId": out["UserId"]}))
except botocore.exceptions.ClientError as e:
    print(json.dumps({"error": e.response["Error"]["Code"], "status": e.response["ResponseMetadata"]["HTTPStatusCode"]}))
`

type clientResult struct {
	Account, Arn, UserId string
	Error                string `json:"error"`
	Status               int    `json:"status"`
}

func runJSONClient(t *testing.T, env []string, name string, args ...string) (clientResult, string) {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Env = env
	out, err := cmd.CombinedOutput()
	var res clientResult
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if jerr := json.Unmarshal([]byte(lines[len(lines)-1]), &res); jerr != nil {
		if err == nil {
			t.Fatalf("%s printed %q", name, out)
		}
		return clientResult{}, string(out)
	}
	return res, string(out)
}

func TestSeedFederationWithOfficialClients(t *testing.T) {
	f := newFederation(t)
	webToken := f.tokenFile(t, "--repository", "web", "--environment", "production")
	otherToken := f.tokenFile(t, "--repository", "api")

	cases := []struct {
		name      string
		role      string
		token     string
		wantAllow bool
	}{
		{"CloudFormation trust policy from an allowed address", f.cfnRole, webToken, true},
		{"CloudFormation trust policy from an address outside Bitbucket's", f.cfnRoleNoIP, webToken, false},
		{"repository restriction, right repository", f.repoRole, webToken, true},
		{"repository restriction, other repository", f.repoRole, otherToken, false},
		{"environment restriction, production step", f.envRole, webToken, true},
		{"environment restriction, step without that environment", f.envRole, otherToken, false},
	}
	roleName := func(arn string) string { return arn[strings.LastIndex(arn, "/")+1:] }
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			env := f.clientEnv(t, tc.role, tc.token)
			wantArn := "arn:aws:sts::" + f.account + ":assumed-role/" + roleName(tc.role) + "/"

			t.Run("aws-sdk-go-v2", func(t *testing.T) {
				// Through its default chain (web identity from the environment).
				id, err := goSDKWhoAmI(t, env)
				if tc.wantAllow {
					if err != nil || !strings.HasPrefix(id.Arn, wantArn) || id.Account != f.account {
						t.Errorf("Go SDK: %+v, %v; want %s…", id, err, wantArn)
					}
				} else if code, status := apiError(err); code != "AccessDenied" || status != 403 {
					t.Errorf("Go SDK: err %v (code %q status %d), want AccessDenied 403", err, code, status)
				}
			})

			t.Run("boto3", func(t *testing.T) {
				// boto3 from the machine image.
				py := testenv.Python3(t, "boto3")
				res, out := runJSONClient(t, env, py, "-c", boto3WhoAmI)
				checkClient(t, "boto3", res, out, tc.wantAllow, wantArn, f.account)
			})

			t.Run("aws CLI", func(t *testing.T) {
				// The AWS CLI, exactly as the seeds debug it.
				cli := exec.Command(testenv.LookPath(t, "aws"), "sts", "get-caller-identity", "--output", "json")
				cli.Env = env
				cliOut, cliErr := cli.CombinedOutput()
				if tc.wantAllow {
					var got identity
					if cliErr != nil || json.Unmarshal(cliOut, &got) != nil || !strings.HasPrefix(got.Arn, wantArn) {
						t.Errorf("aws sts get-caller-identity: %v\n%s", cliErr, cliOut)
					}
				} else if cliErr == nil || !strings.Contains(string(cliOut), "AccessDenied") {
					t.Errorf("aws sts get-caller-identity should fail with AccessDenied: %v\n%s", cliErr, cliOut)
				}
			})

			t.Run("JS SDK v3", func(t *testing.T) {
				// The JavaScript SDK v3 from npm.
				res, out := runJSONClient(t, env, requireJSSDK(t), filepath.Join("js", "whoami.mjs"))
				checkClient(t, "JS SDK v3", res, out, tc.wantAllow, wantArn, f.account)
			})
		})
	}
}

func checkClient(t *testing.T, name string, res clientResult, out string, allow bool, wantArn, account string) {
	t.Helper()
	if allow {
		if res.Error != "" || !strings.HasPrefix(res.Arn, wantArn) || res.Account != account {
			t.Errorf("%s: %s; want %s…", name, out, wantArn)
		}
		return
	}
	if res.Error != "AccessDenied" || res.Status != 403 {
		t.Errorf("%s: %s; want AccessDenied 403", name, out)
	}
}

// TestProvisioningWithIAMClient drives the IAM API with the root credentials the way
// provisioning does, and checks what the official client reads back.
func TestProvisioningWithIAMClient(t *testing.T) {
	f := newFederation(t)
	ctx := context.Background()
	got, err := f.rootIAM.GetOpenIDConnectProvider(ctx, &iam.GetOpenIDConnectProviderInput{OpenIDConnectProviderArn: aws.String(f.providerARN)})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(got.Url) != "https://"+f.providerURL || len(got.ClientIDList) != 1 || got.ClientIDList[0] != f.audience {
		t.Errorf("GetOpenIDConnectProvider = %s %v", aws.ToString(got.Url), got.ClientIDList)
	}
	role, err := f.rootIAM.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String("WebRepoRole")})
	if err != nil {
		t.Fatal(err)
	}
	doc := aws.ToString(role.Role.AssumeRolePolicyDocument)
	decoded, err := url.PathUnescape(doc)
	if err != nil || !strings.HasPrefix(doc, "%7B%22") || !json.Valid([]byte(decoded)) || !strings.Contains(decoded, f.webRepoUUID+":*") {
		t.Errorf("AssumeRolePolicyDocument is not the percent-encoded trust policy AWS sends: %.80s (%v)", doc, err)
	}
	_, err = f.rootIAM.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String("Nope")})
	if code, status := apiError(err); code != "NoSuchEntity" || status != 404 {
		t.Errorf("GetRole of a missing role: %v (%s %d)", err, code, status)
	}
}
