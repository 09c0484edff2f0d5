package e2e

// Across accounts end to end (issue 15): a Bitbucket step's token assumes a hub
// role in account A, which chains into deploy roles of accounts B and C, which
// upload to a bucket of B whose bucket policy admits only them; every broken link
// is refused with AWS's error and explained hop by hop by `keyless explain`.

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"

	"github.com/keyless-dev/keyless/internal/testenv"
)

// accountConfig is an SDK config with the root credentials of a further account,
// as `keyless accounts credentials ID --format json` prints them.
func accountConfig(t *testing.T, data, endpoint, id string) aws.Config {
	t.Helper()
	out, errOut, code := run(t, cleanEnv(), "accounts", "credentials", id, "--format", "json", "--data", data)
	if code != 0 {
		t.Fatalf("keyless accounts credentials %s: exit %d: %s", id, code, errOut)
	}
	var c struct{ AccessKeyId, SecretAccessKey string }
	if err := json.Unmarshal([]byte(out), &c); err != nil || c.AccessKeyId == "" {
		t.Fatalf("keyless accounts credentials %s --format json: %v", id, err)
	}
	return staticConfig(endpoint, c.AccessKeyId, c.SecretAccessKey, "")
}

// TestCrossAccountChain is issue 15's "done when": with keyless up serving
// accounts A, B and C, a Bitbucket-shaped token assumes hub in A, which chains
// into deploy in B and in C; each uploads to B's bucket, whose policy admits only
// those two roles, through the AWS CLI (keyless exec --role-chain … -- aws s3 cp)
// and aws-sdk-go-v2. Each broken link — B's trust policy naming another account,
// A's identity policy lacking sts:AssumeRole, a missing external ID, a bucket
// policy requiring another organisation — is refused with AWS's AccessDenied, and
// `keyless explain --role-chain` names the hop and side that refuse it.
func TestCrossAccountChain(t *testing.T) {
	testenv.LookPath(t, "aws")
	data := t.TempDir()
	cfgPath := filepath.Join(t.TempDir(), "keyless.json")
	cfg := `{"accounts": [{"id": "` + accountB + `", "name": "deploy-b"}, {"id": "` + accountC + `", "name": "deploy-c"}]}`
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	p := startUp(t, data, "--config", cfgPath)
	endpoint := p.env["KEYLESS_ENDPOINT"]
	ctx := context.Background()
	iamA := iam.NewFromConfig(rootConfig(p))
	cfgB, cfgC := accountConfig(t, data, endpoint, accountB), accountConfig(t, data, endpoint, accountC)
	iamB, iamC := iam.NewFromConfig(cfgB), iam.NewFromConfig(cfgC)
	s3B := s3.NewFromConfig(cfgB, func(o *s3.Options) { o.UsePathStyle = true })

	doc := policyDoc
	assumeBy := func(principal string, cond map[string]any) string {
		st := map[string]any{"Effect": "Allow", "Principal": map[string]any{"AWS": principal}, "Action": "sts:AssumeRole"}
		if cond != nil {
			st["Condition"] = cond
		}
		return doc(st)
	}
	mkRole := func(client *iam.Client, account, name, trust, policy string) string {
		return createRoleIn(ctx, t, client, account, name, trust, policy)
	}

	// A: the token's provider; hub may sts:AssumeRole on B's and C's roles,
	// lonely may not.
	issuer := p.env["KEYLESS_ISSUER"]
	providerURL := strings.TrimPrefix(issuer, "https://")
	prov, err := iamA.CreateOpenIDConnectProvider(ctx, &iam.CreateOpenIDConnectProviderInput{Url: aws.String(issuer), ClientIDList: []string{p.env["KEYLESS_AUDIENCE"]}})
	if err != nil {
		t.Fatal(err)
	}
	webTrust := trustPolicy(aws.ToString(prov.OpenIDConnectProviderArn), providerURL,
		map[string]any{"StringEquals": map[string]any{providerURL + ":aud": p.env["KEYLESS_AUDIENCE"]}})
	hub := mkRole(iamA, accountA, "hub", webTrust, doc(map[string]any{"Effect": "Allow", "Action": "sts:AssumeRole",
		"Resource": []string{"arn:aws:iam::" + accountB + ":role/*", "arn:aws:iam::" + accountC + ":role/*"}}))
	lonely := mkRole(iamA, accountA, "lonely", webTrust, doc(map[string]any{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}))

	// B and C: deploy roles trusting hub; C's may write B's buckets (its own
	// account's permission, needed across accounts).
	deployB := mkRole(iamB, accountB, "deploy", assumeBy(hub, nil), "")
	deployC := mkRole(iamC, accountC, "deploy", assumeBy(hub, nil), doc(map[string]any{"Effect": "Allow", "Action": "s3:PutObject",
		"Resource": []string{"arn:aws:s3:::b-artifacts/*", "arn:aws:s3:::b-org/*"}}))
	// The broken links' roles, in B.
	otherAccount := mkRole(iamB, accountB, "deploy-from-c", assumeBy(accountC, nil), "")
	forLonely := mkRole(iamB, accountB, "deploy-for-lonely", assumeBy(lonely, nil), "")
	external := mkRole(iamB, accountB, "deploy-external", assumeBy(hub, map[string]any{"StringEquals": map[string]any{"sts:ExternalId": "ext-7f3a"}}), "")

	// B's buckets: b-artifacts admits only the deploy roles; b-org wants an
	// organisation that no account here is in.
	bucketPolicy := map[string]string{
		"b-artifacts": doc(map[string]any{"Effect": "Allow", "Principal": map[string]any{"AWS": []string{deployB, deployC}},
			"Action": "s3:PutObject", "Resource": "arn:aws:s3:::b-artifacts/*"}),
		"b-org": doc(map[string]any{"Effect": "Allow", "Principal": map[string]any{"AWS": deployC},
			"Action": "s3:PutObject", "Resource": "arn:aws:s3:::b-org/*",
			"Condition": map[string]any{"StringEquals": map[string]any{"aws:PrincipalOrgID": "o-a1b2c3d4e5"}}}),
	}
	for name, policy := range bucketPolicy {
		if _, err := s3B.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(name)}); err != nil {
			t.Fatalf("CreateBucket %s as B: %v", name, err)
		}
		if _, err := s3B.PutBucketPolicy(ctx, &s3.PutBucketPolicyInput{Bucket: aws.String(name), Policy: aws.String(policy)}); err != nil {
			t.Fatalf("PutBucketPolicy %s as B: %v", name, err)
		}
	}

	token := mintJSON(t, p.env, "--repository", "web").Token
	const session = "bitbucket-web-42" // keyless login's session name for build 42 of repository web
	sessionOf := func(role string) string {
		f := strings.Split(role, ":")
		return "arn:aws:sts::" + f[4] + ":assumed-role/" + role[strings.LastIndex(role, "/")+1:] + "/" + session
	}
	step := func(role string) []string {
		return stepEnv(t, endpoint, "BITBUCKET_BUILD_NUMBER=42", "BITBUCKET_REPO_SLUG=web", "BITBUCKET_WORKSPACE="+p.env["KEYLESS_WORKSPACE"],
			"BITBUCKET_STEP_UUID={7c3ad5a8-0000-4000-8000-000000000042}", "AWS_OIDC_ROLE_ARN="+role, "BITBUCKET_STEP_OIDC_TOKEN="+token,
			"AWS_ENDPOINT_URL_S3="+p.env["AWS_ENDPOINT_URL_S3"])
	}
	explainEnv := withEnv(p.env)
	explainChain := func(t *testing.T, first string, chain string, extra ...string) (string, int) {
		t.Helper()
		args := append([]string{"explain", "--role-arn", first, "--role-chain", chain, "--token", token, "--session-name", session, "--data", data}, extra...)
		out, errOut, code := run(t, explainEnv, args...)
		if strings.Contains(out, token) || strings.Contains(errOut, token) {
			t.Errorf("keyless explain printed the token")
		}
		if code != 0 && code != 1 {
			t.Fatalf("keyless explain %v: exit %d\nstdout: %s\nstderr: %s", args, code, out, errOut)
		}
		return out, code
	}
	artifact := filepath.Join(t.TempDir(), "app.txt")
	if err := os.WriteFile(artifact, []byte("built by step 42\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	readB := func(t *testing.T, bucket, key string) string {
		t.Helper()
		got, err := s3B.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
		if err != nil {
			t.Fatalf("GetObject %s/%s as B: %v", bucket, key, err)
		}
		defer got.Body.Close()
		b, _ := io.ReadAll(got.Body)
		return string(b)
	}
	notAuthorized := func(caller, action, resource string) string {
		return "User: " + caller + " is not authorized to perform: " + action + " on resource: " + resource
	}

	for _, deploy := range []string{deployB, deployC} {
		account := strings.Split(deploy, ":")[4]
		t.Run("AWS CLI uploads to B's bucket through hub and deploy of "+account, func(t *testing.T) {
			key := "from-" + account + ".txt"
			out, errOut, code := run(t, step(hub), "exec", "--role-chain", deploy, "--", "aws", "s3", "cp", artifact, "s3://b-artifacts/"+key)
			if code != 0 || !strings.Contains(out, "upload:") {
				t.Fatalf("keyless exec --role-chain %s -- aws s3 cp: exit %d\nstdout: %s\nstderr: %s", deploy, code, out, errOut)
			}
			if got := readB(t, "b-artifacts", key); got != "built by step 42\n" {
				t.Errorf("B reads %q from b-artifacts/%s", got, key)
			}
			out, code = explainChain(t, hub, deploy)
			hop2 := "Hop 2: " + sessionOf(hub) + " → " + deploy + " (sts:AssumeRole, across accounts " + accountA + " → " + account + ")"
			if code != 0 || !strings.Contains(out, "Hop 1: web identity token → "+hub) || !strings.Contains(out, hop2) || !strings.Contains(out, "Result: ADMITTED") {
				t.Errorf("keyless explain of the working chain: exit %d, want 0 with both hops, %q among them:\n%s", code, hop2, out)
			}
		})
	}

	// aws-sdk-go-v2, hop by hop.
	anon := sts.NewFromConfig(aws.Config{Region: "us-east-1", BaseEndpoint: aws.String(endpoint), Credentials: aws.AnonymousCredentials{}, RetryMaxAttempts: 1})
	web, err := anon.AssumeRoleWithWebIdentity(ctx, &sts.AssumeRoleWithWebIdentityInput{RoleArn: aws.String(hub), RoleSessionName: aws.String(session), WebIdentityToken: aws.String(token)})
	if err != nil {
		t.Fatalf("AssumeRoleWithWebIdentity hub: %v", err)
	}
	hubSTS := sts.NewFromConfig(staticConfig(endpoint, aws.ToString(web.Credentials.AccessKeyId), aws.ToString(web.Credentials.SecretAccessKey), aws.ToString(web.Credentials.SessionToken)))
	webL, err := anon.AssumeRoleWithWebIdentity(ctx, &sts.AssumeRoleWithWebIdentityInput{RoleArn: aws.String(lonely), RoleSessionName: aws.String(session), WebIdentityToken: aws.String(token)})
	if err != nil {
		t.Fatalf("AssumeRoleWithWebIdentity lonely: %v", err)
	}
	lonelySTS := sts.NewFromConfig(staticConfig(endpoint, aws.ToString(webL.Credentials.AccessKeyId), aws.ToString(webL.Credentials.SecretAccessKey), aws.ToString(webL.Credentials.SessionToken)))
	s3As := func(t *testing.T, client *sts.Client, role, externalID string) (*s3.Client, error) {
		t.Helper()
		in := &sts.AssumeRoleInput{RoleArn: aws.String(role), RoleSessionName: aws.String(session)}
		if externalID != "" {
			in.ExternalId = aws.String(externalID)
		}
		out, err := client.AssumeRole(ctx, in)
		if err != nil {
			return nil, err
		}
		c := out.Credentials
		return s3.NewFromConfig(staticConfig(endpoint, aws.ToString(c.AccessKeyId), aws.ToString(c.SecretAccessKey), aws.ToString(c.SessionToken)),
			func(o *s3.Options) { o.UsePathStyle = true }), nil
	}
	t.Run("aws-sdk-go-v2 uploads to B's bucket as C's deploy role", func(t *testing.T) {
		c, err := s3As(t, hubSTS, deployC, "")
		if err != nil {
			t.Fatalf("AssumeRole %s from hub: %v", deployC, err)
		}
		if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("b-artifacts"), Key: aws.String("sdk.txt"), Body: strings.NewReader("sdk")}); err != nil {
			t.Fatalf("PutObject b-artifacts/sdk.txt as C's deploy: %v", err)
		}
		if got := readB(t, "b-artifacts", "sdk.txt"); got != "sdk" {
			t.Errorf("B reads %q from b-artifacts/sdk.txt", got)
		}
		// The bucket policy admits only the deploy roles: hub itself may not write.
		hubS3 := s3.NewFromConfig(staticConfig(endpoint, aws.ToString(web.Credentials.AccessKeyId), aws.ToString(web.Credentials.SecretAccessKey), aws.ToString(web.Credentials.SessionToken)),
			func(o *s3.Options) { o.UsePathStyle = true })
		_, err = hubS3.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("b-artifacts"), Key: aws.String("hub.txt"), Body: strings.NewReader("hub")})
		if want := notAuthorized(sessionOf(hub), "s3:PutObject", "arn:aws:s3:::b-artifacts/hub.txt"); !isDenied(err, want) {
			t.Errorf("PutObject as hub: %v\nwant AccessDenied beginning %s", err, want)
		}
	})

	// The broken links.
	for _, tc := range []struct {
		name    string
		first   string      // the web identity role
		caller  *sts.Client // its session, for the SDK
		role    string      // the chain's role
		explain []string    // in keyless explain's output
	}{
		{"B's trust policy names another account", hub, hubSTS, otherAccount, []string{
			"FAIL  the trust policy of " + otherAccount + " in account " + accountB + " allows " + sessionOf(hub),
			"Result: DENIED at hop 2 (sts:AssumeRole of " + otherAccount + "): refused by the trust policy of " + otherAccount + " in account " + accountB}},
		{"A's identity policy lacks sts:AssumeRole", lonely, lonelySTS, forLonely, []string{
			"FAIL  the identity policies of role " + lonely + " in account " + accountA + " allow sts:AssumeRole on " + forLonely,
			"aws iam put-role-policy --role-name lonely",
			"Result: DENIED at hop 2 (sts:AssumeRole of " + forLonely + "): refused by the identity policies of role " + lonely + " in account " + accountA}},
		{"the external ID is missing", hub, hubSTS, external, []string{
			"FAIL  statement #0 (Allow): StringEquals on sts:ExternalId",
			"--external-id ID",
			"Result: DENIED at hop 2 (sts:AssumeRole of " + external + "): refused by the trust policy of " + external + " in account " + accountB}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			want := notAuthorized(sessionOf(tc.first), "sts:AssumeRole", tc.role)
			out, errOut, code := run(t, step(tc.first), "exec", "--role-chain", tc.role, "--", "aws", "s3", "cp", artifact, "s3://b-artifacts/never.txt")
			if code == 0 || !strings.Contains(errOut, "role chain hop 2 ("+tc.role+"): AccessDenied: "+want) {
				t.Errorf("keyless exec --role-chain %s: exit %d, want a failure with AccessDenied: %s\nstdout: %s\nstderr: %s", tc.role, code, want, out, errOut)
			}
			if _, err := s3As(t, tc.caller, tc.role, ""); !isDenied(err, want) {
				t.Errorf("aws-sdk-go-v2 AssumeRole %s: %v\nwant AccessDenied: %s", tc.role, err, want)
			}
			out, code = explainChain(t, tc.first, tc.role)
			if code != 1 {
				t.Errorf("keyless explain: exit %d, want 1", code)
			}
			for _, w := range tc.explain {
				if !strings.Contains(out, w) {
					t.Errorf("keyless explain lacks %q:\n%s", w, out)
				}
			}
		})
	}
	t.Run("the right external ID mends the link", func(t *testing.T) {
		if _, err := s3As(t, hubSTS, external, "ext-7f3a"); err != nil {
			t.Errorf("AssumeRole %s with the external ID: %v", external, err)
		}
		if out, code := explainChain(t, hub, external, "--external-id", "ext-7f3a"); code != 0 || !strings.Contains(out, "Result: ADMITTED") {
			t.Errorf("keyless explain --external-id ext-7f3a: exit %d, want 0:\n%s", code, out)
		}
		// One hop from a caller ARN, as an operator would ask.
		out, errOut, code := run(t, explainEnv, "explain", "--caller-arn", sessionOf(hub), "--role-arn", external, "--data", data)
		if code != 1 || !strings.Contains(out, "Hop 1: "+sessionOf(hub)+" → "+external) || !strings.Contains(out, "sts:ExternalId") {
			t.Errorf("keyless explain --caller-arn: exit %d, want 1 naming sts:ExternalId\nstdout: %s\nstderr: %s", code, out, errOut)
		}
	})
	t.Run("a bucket policy requiring another organisation refuses", func(t *testing.T) {
		want := notAuthorized(sessionOf(deployC), "s3:PutObject", "arn:aws:s3:::b-org/app.txt") + " because no resource-based policy allows the s3:PutObject action"
		out, errOut, code := run(t, step(hub), "exec", "--role-chain", deployC, "--", "aws", "s3", "cp", artifact, "s3://b-org/app.txt")
		if code == 0 || !strings.Contains(errOut, "(AccessDenied)") || !strings.Contains(errOut, want) {
			t.Errorf("aws s3 cp to b-org: exit %d, want AccessDenied: %s\nstdout: %s\nstderr: %s", code, want, out, errOut)
		}
		c, err := s3As(t, hubSTS, deployC, "")
		if err != nil {
			t.Fatal(err)
		}
		_, err = c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("b-org"), Key: aws.String("app.txt"), Body: strings.NewReader("x")})
		if !isDenied(err, want) {
			t.Errorf("aws-sdk-go-v2 PutObject b-org/app.txt: %v\nwant AccessDenied: %s", err, want)
		}
		// The roles of the chain are not what refuses: explain admits the chain.
		if out, code := explainChain(t, hub, deployC); code != 0 || !strings.Contains(out, "Result: ADMITTED") {
			t.Errorf("keyless explain of hub → C's deploy: exit %d, want 0:\n%s", code, out)
		}
	})
}

// isDenied reports whether err is AccessDenied with a message beginning with want.
func isDenied(err error, want string) bool {
	var ae smithy.APIError
	return errors.As(err, &ae) && ae.ErrorCode() == "AccessDenied" && strings.HasPrefix(ae.ErrorMessage(), want)
}

// policyDoc is an IAM policy document (2012-10-17) of statements.
func policyDoc(stmts ...map[string]any) string {
	b, _ := json.Marshal(map[string]any{"Version": "2012-10-17", "Statement": stmts})
	return string(b)
}

// createRoleIn creates role name in account through client, with the trust
// policy trust and, unless empty, the inline policy policy, and returns its ARN.
func createRoleIn(ctx context.Context, t *testing.T, client *iam.Client, account, name, trust, policy string) string {
	t.Helper()
	r, err := client.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String(name), AssumeRolePolicyDocument: aws.String(trust)})
	if err != nil {
		t.Fatalf("CreateRole %s in %s: %v", name, account, err)
	}
	if policy != "" {
		if _, err := client.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String(name), PolicyName: aws.String("inline"), PolicyDocument: aws.String(policy)}); err != nil {
			t.Fatal(err)
		}
	}
	return aws.ToString(r.Role.Arn)
}
