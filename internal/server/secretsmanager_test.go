package server

import (
	"errors"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	smtypes "github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"
)

// TestSecretsManagerServed: the env file names the endpoint for Secrets
// Manager, which answers the SDK there, and a secret outlives a restart on
// the same data directory with its value.
func TestSecretsManagerServed(t *testing.T) {
	dir := t.TempDir()
	s := startTest(t, dir, Config{}, noEnv, nil)
	env := map[string]string{}
	for _, kv := range s.Env() {
		env[kv[0]] = kv[1]
	}
	if env["AWS_ENDPOINT_URL_SECRETS_MANAGER"] != s.Endpoint() {
		t.Fatalf("AWS_ENDPOINT_URL_SECRETS_MANAGER = %q, want %q", env["AWS_ENDPOINT_URL_SECRETS_MANAGER"], s.Endpoint())
	}
	client := func(s *Server) *secretsmanager.Client {
		root := s.Root()
		return secretsmanager.NewFromConfig(aws.Config{Region: SecretsManagerRegion, BaseEndpoint: aws.String(s.Endpoint()),
			Credentials: credentials.NewStaticCredentialsProvider(root.AccessKeyID, root.SecretAccessKey, "")})
	}
	out, err := client(s).CreateSecret(t.Context(), &secretsmanager.CreateSecretInput{Name: aws.String("kept"), SecretString: aws.String("value")})
	if err != nil {
		t.Fatalf("CreateSecret: %v", err)
	}
	if _, err := client(s).GetSecretValue(t.Context(), &secretsmanager.GetSecretValueInput{SecretId: aws.String("nope")}); !errors.As(err, new(*smtypes.ResourceNotFoundException)) {
		t.Fatalf("GetSecretValue of a missing secret: %v", err)
	}
	stopTest(t, s)
	s = startTest(t, dir, Config{}, noEnv, nil)
	got, err := client(s).GetSecretValue(t.Context(), &secretsmanager.GetSecretValueInput{SecretId: out.ARN})
	if err != nil || aws.ToString(got.SecretString) != "value" || aws.ToString(got.VersionId) != aws.ToString(out.VersionId) {
		t.Fatalf("GetSecretValue after a restart = %+v, %v", got, err)
	}
}
