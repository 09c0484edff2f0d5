package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"

	"github.com/keyless-dev/keyless/internal/testenv"
)

// Accounts of TestAccounts: A is the first (account_id), B and C further ones.
const (
	accountA = "000000000000"
	accountB = "222222222222"
	accountC = "333333333333"
)

// staticConfig is an SDK config for endpoint with fixed credentials.
func staticConfig(endpoint, id, secret, token string) aws.Config {
	return aws.Config{Region: "us-east-1", BaseEndpoint: aws.String(endpoint), RetryMaxAttempts: 1,
		Credentials: credentials.NewStaticCredentialsProvider(id, secret, token)}
}

// TestAccounts runs `keyless up --config` with accounts B and C beside the first
// account A: `keyless accounts` lists them and prints B's root credentials, which
// the AWS CLI and aws-sdk-go-v2 see as B's; bucket names are shared by the accounts;
// IAM is per account; a pipeline role of A
// (assumed with a Bitbucket step token) chains into a role of B only when B's trust
// policy and A's identity policy both allow it, with AWS's AccessDenied otherwise.
func TestAccounts(t *testing.T) {
	data := t.TempDir()
	cfgPath := filepath.Join(t.TempDir(), "keyless.json")
	cfg := `{"accounts": [{"id": "` + accountB + `", "name": "deploy-b"}, {"id": "` + accountC + `", "name": "audit-c"}]}`
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	p := startUp(t, data, "--config", cfgPath)
	endpoint := p.env["KEYLESS_ENDPOINT"]
	ctx := context.Background()
	if p.env["KEYLESS_ACCOUNT_ID"] != accountA {
		t.Fatalf("DIR/env names account %s, want the first account %s", p.env["KEYLESS_ACCOUNT_ID"], accountA)
	}

	// keyless accounts list: every account, its name and root access key id.
	out, errOut, code := run(t, cleanEnv(), "accounts", "list", "--data", data)
	if code != 0 {
		t.Fatalf("keyless accounts list: exit %d: %s", code, errOut)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 4 || !strings.HasPrefix(lines[0], "ID ") ||
		!strings.HasPrefix(lines[1], accountA+" ") || !strings.HasSuffix(lines[1], " "+p.env["KEYLESS_ROOT_ACCESS_KEY_ID"]) ||
		!strings.HasPrefix(lines[2], accountB+" ") || !strings.Contains(lines[2], " deploy-b ") ||
		!strings.HasPrefix(lines[3], accountC+" ") || !strings.Contains(lines[3], " audit-c ") {
		t.Fatalf("keyless accounts list printed:\n%s", out)
	}

	// B's root credentials: as shell exports for the AWS CLI, as JSON for the SDK.
	out, errOut, code = run(t, cleanEnv(), "accounts", "credentials", accountB, "--data", data)
	if code != 0 {
		t.Fatalf("keyless accounts credentials %s: exit %d: %s", accountB, code, errOut)
	}
	exports := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		if kv, ok := strings.CutPrefix(line, "export "); ok {
			k, v, _ := strings.Cut(kv, "=")
			exports[k] = strings.Trim(v, "'")
		}
	}
	rootB := [2]string{exports["AWS_ACCESS_KEY_ID"], exports["AWS_SECRET_ACCESS_KEY"]}
	if !strings.HasPrefix(rootB[0], "AKIA") || rootB[0] == p.env["KEYLESS_ROOT_ACCESS_KEY_ID"] || !strings.Contains(lines[2], rootB[0]) || len(rootB[1]) != 40 {
		t.Fatalf("keyless accounts credentials %s printed no root key of B:\n%s", accountB, strings.ReplaceAll(out, rootB[1], "<secret>"))
	}
	out, errOut, code = run(t, cleanEnv(), "accounts", "credentials", "deploy-b", "--format", "json", "--data", data)
	if code != 0 {
		t.Fatalf("keyless accounts credentials deploy-b --format json: exit %d: %s", code, errOut)
	}
	var cp map[string]any
	if err := json.Unmarshal([]byte(out), &cp); err != nil {
		t.Fatalf("--format json printed no JSON: %v", err)
	}
	if cp["Version"] != float64(1) || cp["AccessKeyId"] != rootB[0] || cp["SecretAccessKey"] != rootB[1] || cp["AccountId"] != accountB {
		t.Fatalf("--format json printed Version %v, AccessKeyId %v, AccountId %v; want 1, %s, %s", cp["Version"], cp["AccessKeyId"], cp["AccountId"], rootB[0], accountB)
	}
	_, errOut, code = run(t, cleanEnv(), "accounts", "credentials", "444444444444", "--data", data)
	if want := `accounts credentials: no local account "444444444444" in data directory ` + data + ": the accounts are 000000000000, 222222222222, 333333333333"; code == 0 || !strings.Contains(errOut, want) {
		t.Errorf("credentials of an unknown account: exit %d, stderr %q; want %q", code, errOut, want)
	}

	testenv.LookPath(t, "aws")
	home := t.TempDir()
	cliEnv := append(cleanEnv(), "AWS_ACCESS_KEY_ID="+rootB[0], "AWS_SECRET_ACCESS_KEY="+rootB[1],
		"AWS_ENDPOINT_URL="+endpoint, "AWS_DEFAULT_REGION=us-east-1", "HOME="+home,
		"AWS_CONFIG_FILE="+filepath.Join(home, "config"), "AWS_SHARED_CREDENTIALS_FILE="+filepath.Join(home, "credentials"))
	out, errOut, code = runIn(t, cliEnv, "", "aws", "sts", "get-caller-identity", "--output", "json")
	if code != 0 {
		t.Fatalf("aws sts get-caller-identity with B's root: exit %d: %s", code, errOut)
	}
	if id := parseIdentity(t, "aws sts get-caller-identity", out); id.Account != accountB || id.Arn != "arn:aws:iam::"+accountB+":root" {
		t.Errorf("aws sts get-caller-identity with B's root: %+v", id)
	}
	// Bucket names are one namespace: B's bucket is not A's to create.
	if _, errOut, code := runIn(t, cliEnv, "", "aws", "s3api", "create-bucket", "--bucket", "deploy-b-artifacts"); code != 0 {
		t.Fatalf("aws s3api create-bucket as B: exit %d: %s", code, errOut)
	}
	_, err := s3.NewFromConfig(rootConfig(p), func(o *s3.Options) { o.UsePathStyle = true }).
		CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("deploy-b-artifacts")})
	if !isCode(err, "BucketAlreadyExists") {
		t.Errorf("CreateBucket of B's bucket name as A: %v, want BucketAlreadyExists", err)
	}
	cfgB := staticConfig(endpoint, rootB[0], rootB[1], "")
	if id, err := sts.NewFromConfig(cfgB).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{}); err != nil || aws.ToString(id.Account) != accountB {
		t.Fatalf("aws-sdk-go-v2 GetCallerIdentity with B's root: %+v, %v", id, err)
	}

	// IAM is per account: B's roles are not A's.
	iamA, iamB := iam.NewFromConfig(rootConfig(p)), iam.NewFromConfig(cfgB)
	assumeTrust := func(principal string, cond map[string]any) *string {
		st := map[string]any{"Effect": "Allow", "Principal": map[string]any{"AWS": principal}, "Action": "sts:AssumeRole"}
		if cond != nil {
			st["Condition"] = cond
		}
		b, _ := json.Marshal(map[string]any{"Version": "2012-10-17", "Statement": []any{st}})
		return aws.String(string(b))
	}
	pipelineARN := "arn:aws:iam::" + accountA + ":role/pipeline"
	mkB := func(name string, trust *string) string {
		t.Helper()
		r, err := iamB.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String(name), AssumeRolePolicyDocument: trust})
		if err != nil {
			t.Fatalf("CreateRole %s in B: %v", name, err)
		}
		want := "arn:aws:iam::" + accountB + ":role/" + name
		if aws.ToString(r.Role.Arn) != want {
			t.Fatalf("role %s made in B has ARN %s, want %s", name, aws.ToString(r.Role.Arn), want)
		}
		return want
	}
	deployB := mkB("deploy", assumeTrust(pipelineARN, nil))
	otherB := mkB("deploy-from-c", assumeTrust(accountC, nil))
	externalB := mkB("deploy-external", assumeTrust("arn:aws:iam::"+accountA+":root", map[string]any{"StringEquals": map[string]any{"sts:ExternalId": "ext-7f3a"}}))
	noPermB := mkB("deploy-for-reader", assumeTrust("arn:aws:iam::"+accountA+":role/reader", nil))
	rolesA, err := iamA.ListRoles(ctx, &iam.ListRolesInput{})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rolesA.Roles {
		if strings.Contains(aws.ToString(r.Arn), accountB) || aws.ToString(r.RoleName) == "deploy" {
			t.Errorf("A's ListRoles shows %s, a role of B", aws.ToString(r.Arn))
		}
	}
	if _, err := iamA.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String("deploy")}); !isCode(err, "NoSuchEntity") {
		t.Errorf("GetRole deploy in A: %v, want NoSuchEntity", err)
	}

	// A's pipeline roles, assumed with a Bitbucket step token: "pipeline" may
	// sts:AssumeRole on B's roles, "reader" may not.
	issuer := p.env["KEYLESS_ISSUER"]
	prov, err := iamA.CreateOpenIDConnectProvider(ctx, &iam.CreateOpenIDConnectProviderInput{Url: aws.String(issuer), ClientIDList: []string{p.env["KEYLESS_AUDIENCE"]}})
	if err != nil {
		t.Fatal(err)
	}
	webTrust := aws.String(trustPolicy(aws.ToString(prov.OpenIDConnectProviderArn), strings.TrimPrefix(issuer, "https://"),
		map[string]any{"StringEquals": map[string]any{strings.TrimPrefix(issuer, "https://") + ":aud": p.env["KEYLESS_AUDIENCE"]}}))
	for name, policy := range map[string]string{
		"pipeline": `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole","Resource":"arn:aws:iam::` + accountB + `:role/*"}]}`,
		"reader":   `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}`,
	} {
		if _, err := iamA.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String(name), AssumeRolePolicyDocument: webTrust}); err != nil {
			t.Fatal(err)
		}
		if _, err := iamA.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String(name), PolicyName: aws.String("inline"), PolicyDocument: aws.String(policy)}); err != nil {
			t.Fatal(err)
		}
	}
	step := mintJSON(t, p.env, "--repository", "web").Token
	anon := sts.NewFromConfig(aws.Config{Region: "us-east-1", BaseEndpoint: aws.String(endpoint), Credentials: aws.AnonymousCredentials{}, RetryMaxAttempts: 1})
	session := func(role string) aws.Config {
		t.Helper()
		out, err := anon.AssumeRoleWithWebIdentity(ctx, &sts.AssumeRoleWithWebIdentityInput{
			RoleArn: aws.String(role), RoleSessionName: aws.String("step"), WebIdentityToken: aws.String(step)})
		if err != nil {
			t.Fatalf("AssumeRoleWithWebIdentity %s: %v", role, err)
		}
		c := out.Credentials
		return staticConfig(endpoint, aws.ToString(c.AccessKeyId), aws.ToString(c.SecretAccessKey), aws.ToString(c.SessionToken))
	}
	pipeline := sts.NewFromConfig(session(pipelineARN))
	reader := sts.NewFromConfig(session("arn:aws:iam::" + accountA + ":role/reader"))

	// Allowed: B's trust names A's role, A's policy allows sts:AssumeRole.
	got, err := pipeline.AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String(deployB), RoleSessionName: aws.String("chained")})
	if err != nil {
		t.Fatalf("AssumeRole %s from A's pipeline role: %v", deployB, err)
	}
	c := got.Credentials
	id, err := sts.NewFromConfig(staticConfig(endpoint, aws.ToString(c.AccessKeyId), aws.ToString(c.SecretAccessKey), aws.ToString(c.SessionToken))).
		GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if want := "arn:aws:sts::" + accountB + ":assumed-role/deploy/chained"; err != nil || aws.ToString(id.Arn) != want || aws.ToString(id.Account) != accountB {
		t.Errorf("GetCallerIdentity of the chained session: %+v, %v; want %s in %s", id, err, want, accountB)
	}
	// The session acts in B, with the policies of B's role: it lists B's roles.
	if _, err := iamB.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String("deploy"), PolicyName: aws.String("list"),
		PolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:ListRoles","Resource":"*"}]}`)}); err != nil {
		t.Fatal(err)
	}
	listed, err := iam.NewFromConfig(staticConfig(endpoint, aws.ToString(c.AccessKeyId), aws.ToString(c.SecretAccessKey), aws.ToString(c.SessionToken))).
		ListRoles(ctx, &iam.ListRolesInput{})
	if err != nil {
		t.Fatalf("ListRoles with the chained session in B: %v", err)
	}
	var names []string
	for _, r := range listed.Roles {
		names = append(names, aws.ToString(r.RoleName))
	}
	if !slices.Contains(names, "deploy-external") || slices.Contains(names, "pipeline") {
		t.Errorf("ListRoles with the chained session in B lists %v, want B's roles (deploy-external) and not A's (pipeline)", names)
	}
	// Chained: at most one hour, as today.
	_, err = pipeline.AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String(deployB), RoleSessionName: aws.String("long"), DurationSeconds: aws.Int32(7200)})
	if !isCode(err, "ValidationError") || !strings.Contains(err.Error(), "exceeds the 1 hour session limit for roles assumed by role chaining") {
		t.Errorf("chained AssumeRole for two hours: %v, want the one-hour ValidationError", err)
	}

	// Refused, with AWS's AccessDenied text.
	denied := func(caller, role string) string {
		return "User: arn:aws:sts::" + accountA + ":assumed-role/" + caller + "/step is not authorized to perform: sts:AssumeRole on resource: " + role
	}
	for _, tc := range []struct {
		name   string
		client *sts.Client
		caller string
		in     sts.AssumeRoleInput
	}{
		{"trust policy names another account", pipeline, "pipeline", sts.AssumeRoleInput{RoleArn: aws.String(otherB)}},
		{"identity policy lacks sts:AssumeRole", reader, "reader", sts.AssumeRoleInput{RoleArn: aws.String(noPermB)}},
		{"ExternalId missing", pipeline, "pipeline", sts.AssumeRoleInput{RoleArn: aws.String(externalB)}},
		{"ExternalId wrong", pipeline, "pipeline", sts.AssumeRoleInput{RoleArn: aws.String(externalB), ExternalId: aws.String("ext-0000")}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := tc.in
			in.RoleSessionName = aws.String("cross")
			_, err := tc.client.AssumeRole(ctx, &in)
			var ae smithy.APIError
			if want := denied(tc.caller, aws.ToString(in.RoleArn)); !errors.As(err, &ae) || ae.ErrorCode() != "AccessDenied" || ae.ErrorMessage() != want {
				t.Errorf("AssumeRole: %v\nwant AccessDenied: %s", err, want)
			}
		})
	}
	// The right ExternalId: the account-wide trust delegates to A's policy, which allows.
	if _, err := pipeline.AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String(externalB), RoleSessionName: aws.String("cross"), ExternalId: aws.String("ext-7f3a")}); err != nil {
		t.Errorf("AssumeRole %s with the right ExternalId: %v", externalB, err)
	}

	// AssumeRoleWithWebIdentity into B needs the provider in B's IAM, as on AWS.
	webB := mkB("web-in-b", webTrust) // names A's provider ARN: B has no such provider
	if _, err := anon.AssumeRoleWithWebIdentity(ctx, &sts.AssumeRoleWithWebIdentityInput{RoleArn: aws.String(webB), RoleSessionName: aws.String("step"), WebIdentityToken: aws.String(step)}); !isCode(err, "InvalidIdentityToken") || !strings.Contains(err.Error(), "No OpenIDConnect provider found in your account for "+issuer) {
		t.Errorf("AssumeRoleWithWebIdentity into B without B's provider: %v, want InvalidIdentityToken: No OpenIDConnect provider found in your account for %s", err, issuer)
	}
	provB, err := iamB.CreateOpenIDConnectProvider(ctx, &iam.CreateOpenIDConnectProviderInput{Url: aws.String(issuer), ClientIDList: []string{p.env["KEYLESS_AUDIENCE"]}})
	if err != nil {
		t.Fatal(err)
	}
	webTrustB := trustPolicy(aws.ToString(provB.OpenIDConnectProviderArn), strings.TrimPrefix(issuer, "https://"),
		map[string]any{"StringEquals": map[string]any{strings.TrimPrefix(issuer, "https://") + ":aud": p.env["KEYLESS_AUDIENCE"]}})
	if _, err := iamB.UpdateAssumeRolePolicy(ctx, &iam.UpdateAssumeRolePolicyInput{RoleName: aws.String("web-in-b"), PolicyDocument: aws.String(webTrustB)}); err != nil {
		t.Fatal(err)
	}
	id, err = sts.NewFromConfig(session(webB)).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if want := "arn:aws:sts::" + accountB + ":assumed-role/web-in-b/step"; err != nil || aws.ToString(id.Arn) != want {
		t.Errorf("GetCallerIdentity after a web identity exchange into B: %+v, %v; want %s", id, err, want)
	}
}

// isCode reports whether err is an AWS API error with code.
func isCode(err error, code string) bool {
	c, _ := apiError(err)
	return err != nil && c == code
}
