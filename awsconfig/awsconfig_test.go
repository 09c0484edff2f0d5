package awsconfig_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/keyless-dev/keyless/awsconfig"
)

// cleanEnv removes the AWS configuration of the machine running the tests and
// disables the instance metadata service, so that the chain ends where it would on a
// laptop with nothing configured.
func cleanEnv(t *testing.T) string {
	t.Helper()
	for _, k := range []string{
		"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_DEFAULT_PROFILE",
		"AWS_ROLE_ARN", "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_ROLE_SESSION_NAME", "AWS_REGION", "AWS_DEFAULT_REGION",
		"AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_STS", "AWS_ENDPOINT_URL_IAM",
		"AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_CONTAINER_AUTHORIZATION_TOKEN",
		awsconfig.EnvRootAccessKeyID, awsconfig.EnvRootSecretAccessKey,
	} {
		t.Setenv(k, "")
	}
	dir := t.TempDir()
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(dir, "config"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(dir, "credentials"))
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	return dir
}

func TestLoadPicksCredentials(t *testing.T) {
	const root, own, profile = "AKIAKEYLESSROOT00001", "AKIAOWNKEY0000000001", "AKIAPROFILE000000001"
	cases := []struct {
		name string
		env  map[string]string
		want string // access key ID the configuration signs with
	}{
		{"keyless root credentials", map[string]string{}, root},
		// The seeds' pipeline pattern: AWS_ROLE_ARN names the role the step assumes; it
		// is not a credential of the user's own.
		{"keyless root credentials with AWS_ROLE_ARN set", map[string]string{"AWS_ROLE_ARN": "arn:aws:iam::000000000000:role/deploy"}, root},
		{"the user's own static keys win", map[string]string{"AWS_ACCESS_KEY_ID": own, "AWS_SECRET_ACCESS_KEY": "own-secret"}, own},
		{"the user's own profile wins", map[string]string{"AWS_PROFILE": "dev"}, profile},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := cleanEnv(t)
			if err := os.WriteFile(filepath.Join(dir, "credentials"), []byte("[dev]\naws_access_key_id = "+profile+"\naws_secret_access_key = profile-secret\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			t.Setenv(awsconfig.EnvRootAccessKeyID, root)
			t.Setenv(awsconfig.EnvRootSecretAccessKey, "root-secret")
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			cfg, err := awsconfig.Load(context.Background(), nil)
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			creds, err := cfg.Credentials.Retrieve(context.Background())
			if err != nil {
				t.Fatalf("Retrieve: %v", err)
			}
			if creds.AccessKeyID != tc.want {
				t.Errorf("signs with %s, want %s", creds.AccessKeyID, tc.want)
			}
		})
	}
}

func TestLoadWithoutCredentials(t *testing.T) {
	cleanEnv(t)
	t.Setenv("AWS_ROLE_ARN", "arn:aws:iam::000000000000:role/deploy")
	_, err := awsconfig.Load(context.Background(), nil)
	if !errors.Is(err, awsconfig.ErrNoCredentials) {
		t.Fatalf("Load: %v, want ErrNoCredentials", err)
	}
	msg := err.Error()
	if strings.Contains(msg, "\n") || strings.Contains(msg, "IMDS") || !strings.Contains(msg, ". .keyless/env") {
		t.Errorf("error is not one line of advice: %q", msg)
	}
}

func TestLoadRegion(t *testing.T) {
	cases := []struct {
		name, region, want string
	}{
		{"default", "", awsconfig.DefaultRegion},
		{"AWS_REGION", "eu-west-1", "eu-west-1"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cleanEnv(t)
			t.Setenv(awsconfig.EnvRootAccessKeyID, "AKIAKEYLESSROOT00001")
			t.Setenv(awsconfig.EnvRootSecretAccessKey, "root-secret")
			t.Setenv("AWS_REGION", tc.region)
			cfg, err := awsconfig.Load(context.Background(), nil)
			if err != nil {
				t.Fatal(err)
			}
			if cfg.Region != tc.want {
				t.Errorf("region %q, want %q", cfg.Region, tc.want)
			}
		})
	}
}
