package server

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/cloudfront"
)

func TestParseCloudFrontConfig(t *testing.T) {
	c, err := ParseConfig([]byte(`{"cloudfront":{"invalidation_delay":"1500ms","distributions":[
		{"id":"ESITE","bucket":"site","origin_path":"/www","aliases":["www.example.com"],"default_ttl":"1h"}]}}`))
	if err != nil {
		t.Fatal(err)
	}
	if d := c.CloudFront.invalidationDelay(); d != 1500*time.Millisecond {
		t.Errorf("invalidation delay %s", d)
	}
	decl := c.CloudFront.declared()
	if len(decl) != 1 || decl[0].ID != "ESITE" || decl[0].Bucket != "site" || decl[0].OriginPath != "/www" ||
		decl[0].Aliases[0] != "www.example.com" || decl[0].DefaultTTL == nil || *decl[0].DefaultTTL != time.Hour || decl[0].MinTTL != nil {
		t.Errorf("declared %+v", decl)
	}
	for doc, want := range map[string]time.Duration{`{}`: 5 * time.Second, `{"cloudfront":{"invalidation_delay":"0s"}}`: 0} {
		c, err := ParseConfig([]byte(doc))
		if err != nil {
			t.Fatal(err)
		}
		if d := c.CloudFront.invalidationDelay(); d != want {
			t.Errorf("%s: invalidation delay %s, want %s", doc, d, want)
		}
	}
	if _, err := ParseConfig([]byte(`{"cloudfront":{"distributions":[{"id":"E1","bucket":"b","buckt":"c"}]}}`)); err == nil || !strings.Contains(err.Error(), "unknown field") {
		t.Errorf("misspelt distribution field: %v", err)
	}
}

// TestStartRefusesBadDistribution: a declared distribution CloudFront would refuse
// stops the start with the reason.
func TestStartRefusesBadDistribution(t *testing.T) {
	_, err := Start(t.Context(), Options{Config: Config{Listen: "127.0.0.1:0", CloudFront: CloudFrontConfig{
		Distributions: []DistributionConfig{{ID: "lower-case", Bucket: "site"}}}}, DataDir: t.TempDir(), Getenv: noEnv})
	if err == nil || !strings.Contains(err.Error(), "lower-case") {
		t.Fatalf("Start: %v", err)
	}
}

// TestCloudFrontServed: the CloudFront API answers the SDK at the endpoint for
// requests signed for cloudfront, whatever the path, while unsigned requests keep
// reaching keyless's own routes.
func TestCloudFrontServed(t *testing.T) {
	s := startTest(t, t.TempDir(), Config{CloudFront: CloudFrontConfig{Distributions: []DistributionConfig{{ID: "ESITE", Bucket: "site"}}}}, noEnv, nil)
	env := map[string]string{}
	for _, kv := range s.Env() {
		env[kv[0]] = kv[1]
	}
	if env["AWS_ENDPOINT_URL_CLOUDFRONT"] != s.Endpoint() || env["AWS_ENDPOINT_URL_S3"] != s.Endpoint() {
		t.Errorf("env %v", env)
	}
	root := s.Root()
	creds := aws.Credentials{AccessKeyID: root.AccessKeyID, SecretAccessKey: root.SecretAccessKey}
	cf := cloudfront.NewFromConfig(aws.Config{Region: "us-east-1", BaseEndpoint: aws.String(s.Endpoint()),
		Credentials: credentials.StaticCredentialsProvider{Value: creds}})
	out, err := cf.ListDistributions(t.Context(), &cloudfront.ListDistributionsInput{})
	if err != nil {
		t.Fatal(err)
	}
	if l := out.DistributionList; aws.ToInt32(l.Quantity) != 1 || aws.ToString(l.Items[0].Id) != "ESITE" ||
		aws.ToString(l.Items[0].ARN) != "arn:aws:cloudfront::000000000000:distribution/ESITE" {
		t.Errorf("ListDistributions = %+v", l)
	}

	get := func(path, service string) (int, string) {
		t.Helper()
		req, err := http.NewRequest(http.MethodGet, s.Endpoint()+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		if service != "" {
			const emptySHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
			if service == "s3" {
				req.Header.Set("X-Amz-Content-Sha256", emptySHA256) // S3 requires it
			}
			if err := v4.NewSigner().SignHTTP(context.Background(), creds, req, emptySHA256, service, "us-east-1", time.Now()); err != nil {
				t.Fatal(err)
			}
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := get("/healthz", ""); code != http.StatusOK || !strings.Contains(body, `"ok"`) {
		t.Errorf("unsigned /healthz: %d %s", code, body)
	}
	if code, body := get("/healthz", "cloudfront"); code == http.StatusOK || !strings.Contains(body, "cloudfront.amazonaws.com") {
		t.Errorf("cloudfront-signed /healthz reached keyless: %d %s", code, body)
	}
	if code, body := get("/2020-05-31/distribution", ""); code != http.StatusNotFound {
		t.Errorf("unsigned CloudFront path: %d %s", code, body)
	}
	if code, body := get("/keyless", "s3"); code != http.StatusNotFound || !strings.Contains(body, "<Code>NoSuchBucket</Code>") {
		t.Errorf("s3-signed /keyless reached keyless, not S3: %d %s", code, body)
	}
}
