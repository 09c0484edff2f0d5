package e2e

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/keyless-dev/keyless/store/postgres/pgtest"
)

// TestReplicasShareAPostgresStore runs two keyless up processes on one PostgreSQL
// store (their own data directories, one KEK): what one provisions the other serves,
// and session credentials sealed by one are accepted by the other.
func TestReplicasShareAPostgresStore(t *testing.T) {
	dsn := pgtest.NewSchema(t).DSN

	kek := make([]byte, 32)
	rand.Read(kek)
	cfg := filepath.Join(t.TempDir(), "config.json")
	if err := os.WriteFile(cfg, []byte(`{"store":"`+dsn+`"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	kekEnv := []string{"KEYLESS_KEK=" + base64.StdEncoding.EncodeToString(kek)}
	a := startUpEnv(t, t.TempDir(), kekEnv, "--config", cfg)
	r2 := startUpEnv(t, t.TempDir(), kekEnv, "--config", cfg)
	if a.env["KEYLESS_ROOT_ACCESS_KEY_ID"] != r2.env["KEYLESS_ROOT_ACCESS_KEY_ID"] {
		t.Fatal("the replicas have different root credentials")
	}

	// Provision through replica A.
	ctx := context.Background()
	iamA := iam.NewFromConfig(rootConfig(a))
	prov, err := iamA.CreateOpenIDConnectProvider(ctx, &iam.CreateOpenIDConnectProviderInput{Url: aws.String(a.env["KEYLESS_ISSUER"]), ClientIDList: []string{a.env["KEYLESS_AUDIENCE"]}})
	if err != nil {
		t.Fatal(err)
	}
	providerURL := strings.TrimPrefix(a.env["KEYLESS_ISSUER"], "https://")
	role, err := iamA.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("shared"),
		AssumeRolePolicyDocument: aws.String(trustPolicy(aws.ToString(prov.OpenIDConnectProviderArn), providerURL, map[string]any{"StringEquals": map[string]any{providerURL + ":aud": a.env["KEYLESS_AUDIENCE"]}}))})
	if err != nil {
		t.Fatal(err)
	}

	// A step token from A's issuer is exchanged at replica B...
	tok := mintJSON(t, a.env, "--repository", "web").Token
	stsB := sts.NewFromConfig(aws.Config{Region: "us-east-1", BaseEndpoint: aws.String(r2.env["KEYLESS_ENDPOINT"]), Credentials: aws.AnonymousCredentials{}})
	out, err := stsB.AssumeRoleWithWebIdentity(ctx, &sts.AssumeRoleWithWebIdentityInput{RoleArn: role.Role.Arn, RoleSessionName: aws.String("replica"), WebIdentityToken: aws.String(tok)})
	if err != nil {
		t.Fatalf("replica B refused what replica A provisioned: %v", err)
	}
	// ...and the session credentials B sealed work at replica A.
	c := out.Credentials
	stsA := sts.NewFromConfig(aws.Config{Region: "us-east-1", BaseEndpoint: aws.String(a.env["KEYLESS_ENDPOINT"]),
		Credentials: credentials.NewStaticCredentialsProvider(aws.ToString(c.AccessKeyId), aws.ToString(c.SecretAccessKey), aws.ToString(c.SessionToken))})
	who, err := stsA.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		t.Fatalf("replica A refused session credentials sealed by replica B: %v", err)
	}
	if !strings.HasSuffix(aws.ToString(who.Arn), ":assumed-role/shared/replica") {
		t.Fatalf("GetCallerIdentity at A = %s", aws.ToString(who.Arn))
	}
	if string(readFile(t, a.env["KEYLESS_CA_BUNDLE"])) != string(readFile(t, r2.env["KEYLESS_CA_BUNDLE"])) {
		t.Error("the replicas serve with different CAs")
	}
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
