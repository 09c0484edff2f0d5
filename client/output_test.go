package client

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/config"

	"github.com/keyless-dev/keyless/internal/testenv"
)

func testCreds() Credentials {
	return Credentials{
		AccessKeyID:     "ASIAEXAMPLE000000001",
		SecretAccessKey: "secret/with+chars=",
		SessionToken:    "tok'en$with `odd` \"chars\"",
		Expiration:      time.Date(2026, 11, 22, 3, 0, 0, 0, time.UTC),
		AssumedRoleARN:  "arn:aws:sts::000000000000:assumed-role/deploy/s1",
		RoleARN:         testRole,
	}
}

// isolateAWSEnv clears the variables through which the SDK could find other
// credentials or configuration than the test's.
func isolateAWSEnv(t *testing.T) {
	t.Helper()
	for _, k := range []string{
		"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_DEFAULT_PROFILE",
		"AWS_ROLE_ARN", "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_ROLE_SESSION_NAME", "AWS_ENDPOINT_URL",
		"AWS_ENDPOINT_URL_STS", "AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
		"AWS_CONTAINER_AUTHORIZATION_TOKEN", "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", "AWS_REGION", "AWS_DEFAULT_REGION",
	} {
		t.Setenv(k, "")
	}
	dir := t.TempDir()
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(dir, "no-config"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(dir, "no-credentials"))
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
}

func TestEnvOutputRoundTripsThroughShell(t *testing.T) {
	sh := testenv.LookPath(t, "sh")
	c := testCreds()
	var out bytes.Buffer
	if err := WriteOutput(&out, c, OutputOptions{Format: FormatEnv, Region: "eu-west-1"}); err != nil {
		t.Fatal(err)
	}
	script := out.String() + `printf '%s\n%s\n%s\n%s\n%s\n' "$AWS_ACCESS_KEY_ID" "$AWS_SECRET_ACCESS_KEY" "$AWS_SESSION_TOKEN" "$AWS_CREDENTIAL_EXPIRATION" "$AWS_REGION"`
	got, err := exec.Command(sh, "-c", script).Output()
	if err != nil {
		t.Fatalf("sh: %v\n%s", err, out.String())
	}
	want := strings.Join([]string{c.AccessKeyID, c.SecretAccessKey, c.SessionToken, "2026-11-22T03:00:00Z", "eu-west-1"}, "\n") + "\n"
	if string(got) != want {
		t.Errorf("shell sees\n%s\nwant\n%s", got, want)
	}
	if !strings.HasPrefix(out.String(), "export AWS_ACCESS_KEY_ID=") {
		t.Errorf("env output:\n%s", out.String())
	}
}

func TestDotenvOutput(t *testing.T) {
	c := testCreds()
	c.SessionToken = "plainBase64+/="
	var out bytes.Buffer
	if err := WriteOutput(&out, c, OutputOptions{Format: FormatDotenv}); err != nil {
		t.Fatal(err)
	}
	want := "AWS_ACCESS_KEY_ID=ASIAEXAMPLE000000001\nAWS_SECRET_ACCESS_KEY=secret/with+chars=\nAWS_SESSION_TOKEN=plainBase64+/=\nAWS_CREDENTIAL_EXPIRATION=2026-11-22T03:00:00Z\n"
	if out.String() != want {
		t.Errorf("dotenv:\n%s\nwant\n%s", out.String(), want)
	}
}

func TestJSONOutputs(t *testing.T) {
	c := testCreds()
	for _, f := range []Format{FormatJSON, FormatCredentialProcess} {
		var out bytes.Buffer
		if err := WriteOutput(&out, c, OutputOptions{Format: f}); err != nil {
			t.Fatal(err)
		}
		var got map[string]any
		if err := json.Unmarshal(out.Bytes(), &got); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		want := map[string]any{
			"AccessKeyId":     c.AccessKeyID,
			"SecretAccessKey": c.SecretAccessKey,
			"SessionToken":    c.SessionToken,
			"Expiration":      "2026-11-22T03:00:00Z",
		}
		if f == FormatCredentialProcess {
			want["Version"] = float64(1)
		}
		if len(got) != len(want) {
			t.Errorf("%s: keys %v, want %v", f, got, want)
		}
		for k, v := range want {
			if got[k] != v {
				t.Errorf("%s: %s = %v, want %v", f, k, got[k], v)
			}
		}
	}
	if _, err := ParseFormat("yaml"); err == nil {
		t.Error("ParseFormat accepted yaml")
	}
}

func TestGitHubEnvOutput(t *testing.T) {
	c := testCreds()
	c.SessionToken = "FwoGZXIvYXdzEB"
	ghEnv := filepath.Join(t.TempDir(), "github_env")
	if err := os.WriteFile(ghEnv, []byte("EXISTING=1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	err := WriteOutput(&out, c, OutputOptions{Format: FormatGitHubEnv, Getenv: envOf(map[string]string{"GITHUB_ENV": ghEnv})})
	if err != nil {
		t.Fatal(err)
	}
	wantOut := "::add-mask::" + c.SecretAccessKey + "\n::add-mask::" + c.SessionToken + "\n"
	if out.String() != wantOut {
		t.Errorf("stdout:\n%s\nwant\n%s", out.String(), wantOut)
	}
	data, _ := os.ReadFile(ghEnv)
	wantFile := "EXISTING=1\nAWS_ACCESS_KEY_ID=" + c.AccessKeyID + "\nAWS_SECRET_ACCESS_KEY=" + c.SecretAccessKey +
		"\nAWS_SESSION_TOKEN=" + c.SessionToken + "\nAWS_CREDENTIAL_EXPIRATION=2026-11-22T03:00:00Z\n"
	if string(data) != wantFile {
		t.Errorf("$GITHUB_ENV:\n%s\nwant\n%s", data, wantFile)
	}
	if err := WriteOutput(&out, c, OutputOptions{Format: FormatGitHubEnv, Getenv: envOf(nil)}); err == nil {
		t.Error("no $GITHUB_ENV: no error")
	}
}

const otherConfig = `# my settings
[default]
region = eu-central-1
output = json

[profile other]
region = us-west-2
s3 =
  max_concurrent_requests = 20
`

const otherCredentials = `[other]
aws_access_key_id = AKIAOTHER
aws_secret_access_key = othersecret
`

func writeAWSFiles(t *testing.T) (cfg, creds string, getenv func(string) string) {
	t.Helper()
	dir := t.TempDir()
	cfg, creds = filepath.Join(dir, "config"), filepath.Join(dir, "credentials")
	if err := os.WriteFile(cfg, []byte(otherConfig), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(creds, []byte(otherCredentials), 0o600); err != nil {
		t.Fatal(err)
	}
	return cfg, creds, envOf(map[string]string{"AWS_CONFIG_FILE": cfg, "AWS_SHARED_CREDENTIALS_FILE": creds})
}

func checkMode(t *testing.T, path string) {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("%s has mode %v, want 0600", path, fi.Mode().Perm())
	}
}

func TestAWSProfileStatic(t *testing.T) {
	isolateAWSEnv(t)
	cfg, creds, getenv := writeAWSFiles(t)
	c := testCreds()
	var out bytes.Buffer
	opts := OutputOptions{Format: FormatAWSProfile, Profile: "ci", Region: "eu-west-1", Getenv: getenv}
	if err := WriteOutput(&out, c, opts); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(out.String(), c.SecretAccessKey) || !strings.Contains(out.String(), "AWS_PROFILE=ci") {
		t.Errorf("summary: %q", out.String())
	}
	cfgData, _ := os.ReadFile(cfg)
	credData, _ := os.ReadFile(creds)
	if !strings.HasPrefix(string(cfgData), otherConfig) || !strings.HasPrefix(string(credData), otherCredentials) {
		t.Errorf("other profiles not preserved:\n%s\n---\n%s", cfgData, credData)
	}
	checkMode(t, cfg)
	checkMode(t, creds)

	// Writing again replaces the profile rather than adding a second one.
	c.AccessKeyID = "ASIAEXAMPLE000000002"
	if err := WriteOutput(&out, c, opts); err != nil {
		t.Fatal(err)
	}
	credData, _ = os.ReadFile(creds)
	if strings.Count(string(credData), "[ci]") != 1 || strings.Contains(string(credData), "000000001") {
		t.Errorf("credentials after rewrite:\n%s", credData)
	}

	// The SDK reads the profile.
	ac, err := config.LoadDefaultConfig(context.Background(), config.WithSharedConfigProfile("ci"),
		config.WithSharedConfigFiles([]string{cfg}), config.WithSharedCredentialsFiles([]string{creds}))
	if err != nil {
		t.Fatal(err)
	}
	got, err := ac.Credentials.Retrieve(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if got.AccessKeyID != c.AccessKeyID || got.SecretAccessKey != c.SecretAccessKey || got.SessionToken != c.SessionToken || ac.Region != "eu-west-1" {
		t.Errorf("SDK sees access key %s in %s, not the credentials written (secrets compared, not printed)", got.AccessKeyID, ac.Region)
	}
}

func TestAWSProfileWebIdentityRefreshesThroughSDK(t *testing.T) {
	isolateAWSEnv(t)
	sts := newFakeSTS(t, nil)
	cfg, creds, getenv := writeAWSFiles(t)
	// A static profile of the same name first: the web identity one must replace it.
	if err := WriteOutput(&bytes.Buffer{}, testCreds(), OutputOptions{Format: FormatAWSProfile, Profile: "ci", Getenv: getenv}); err != nil {
		t.Fatal(err)
	}
	tokenFile := filepath.Join(t.TempDir(), "web-identity-token")
	if err := WriteTokenFile(tokenFile, testToken); err != nil {
		t.Fatal(err)
	}
	checkMode(t, tokenFile)
	var out bytes.Buffer
	err := WriteOutput(&out, testCreds(), OutputOptions{
		Format: FormatAWSProfile, Profile: "ci", Region: "eu-west-1", TokenFile: tokenFile,
		SessionName: "bitbucket-web-1", STSEndpoint: sts.URL(), Getenv: getenv,
	})
	if err != nil {
		t.Fatal(err)
	}
	cfgData, _ := os.ReadFile(cfg)
	credData, _ := os.ReadFile(creds)
	if string(credData) != otherCredentials {
		t.Errorf("credentials file should hold only the other profile again:\n%s", credData)
	}
	for _, want := range []string{"[profile ci]", "role_arn = " + testRole, "web_identity_token_file = " + tokenFile, "role_session_name = bitbucket-web-1", "[services keyless-ci]", "endpoint_url = " + sts.URL()} {
		if !strings.Contains(string(cfgData), want) {
			t.Errorf("config lacks %q:\n%s", want, cfgData)
		}
	}
	if strings.Contains(string(cfgData), testToken) || strings.Contains(out.String(), testToken) {
		t.Error("the token leaked into the config or the summary")
	}

	ac, err := config.LoadDefaultConfig(context.Background(), config.WithSharedConfigProfile("ci"),
		config.WithSharedConfigFiles([]string{cfg}), config.WithSharedCredentialsFiles([]string{creds}))
	if err != nil {
		t.Fatal(err)
	}
	got, err := ac.Credentials.Retrieve(context.Background())
	if err != nil {
		t.Fatalf("SDK web identity profile: %v", err)
	}
	if !strings.HasPrefix(got.AccessKeyID, "ASIAFAKE") {
		t.Errorf("SDK credentials %s did not come from the fake STS", got.AccessKeyID)
	}
	form := sts.lastAssume()
	if form.Get("WebIdentityToken") != testToken || form.Get("RoleSessionName") != "bitbucket-web-1" {
		t.Errorf("SDK sent %v", form)
	}
}

func TestINIUpdateKeepsUnrelatedLines(t *testing.T) {
	path := filepath.Join(t.TempDir(), "config")
	orig := "[profile ci]\n# keep me\noutput = text\nrole_arn = old\n  nested = x\nregion = us-east-1\n\n[profile z]\nregion = eu-west-3\n"
	if err := os.WriteFile(path, []byte(orig), 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := loadINI(path)
	if err != nil {
		t.Fatal(err)
	}
	f.update("profile ci", []string{"role_arn"}, map[string]string{"region": "eu-west-1", "aws_x": "1"}, true)
	want := "[profile ci]\n# keep me\noutput = text\nregion = eu-west-1\naws_x = 1\n\n[profile z]\nregion = eu-west-3\n"
	if got := string(f.bytes()); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}
