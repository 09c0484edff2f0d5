package e2e

import (
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudfront"
	cftypes "github.com/aws/aws-sdk-go-v2/service/cloudfront/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// edgeDist is the distribution of the edge test's config.
const edgeDist = "EKEYLESSEDGE01"

// TestEdgeServesSite: keyless up serves a declared distribution's site from its S3
// bucket, by Host (ID.cloudfront.localhost) and by path (/keyless/v1/cloudfront/ID/…),
// through a cache that keeps serving an overwritten object until a CloudFront
// invalidation evicts it.
func TestEdgeServesSite(t *testing.T) {
	data := t.TempDir()
	cfgPath := filepath.Join(t.TempDir(), "keyless.json")
	if err := os.WriteFile(cfgPath, []byte(`{"cloudfront": {"invalidation_delay": "0s", "distributions": [
		{"id": "`+edgeDist+`", "bucket": "site"}]}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	p := startUp(t, data, "--config", cfgPath)
	ctx := context.Background()
	bucket := s3.NewFromConfig(rootConfig(p), func(o *s3.Options) { o.UsePathStyle = true })
	if _, err := bucket.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("site")}); err != nil {
		t.Fatalf("CreateBucket: %v", err)
	}
	put := func(key, body string) {
		t.Helper()
		if _, err := bucket.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("site"), Key: aws.String(key),
			Body: strings.NewReader(body), ContentType: aws.String("text/html")}); err != nil {
			t.Fatalf("PutObject %s: %v", key, err)
		}
	}
	endpoint := p.env["KEYLESS_ENDPOINT"] // http://127.0.0.1:PORT
	host := strings.ToLower(edgeDist) + ".cloudfront." + strings.TrimPrefix(strings.Replace(endpoint, "127.0.0.1", "localhost", 1), "http://")
	get := func(url, host string, wantStatus int, wantXCache, wantBody string) {
		t.Helper()
		req, err := http.NewRequest("GET", url, nil)
		if err != nil {
			t.Fatal(err)
		}
		if host != "" {
			req.Host = host
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("GET %s (Host %s): %v", url, host, err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != wantStatus || resp.Header.Get("X-Cache") != wantXCache || (wantBody != "" && string(body) != wantBody) {
			t.Fatalf("GET %s (Host %s) = %d %q %q, want %d %q %q", url, host, resp.StatusCode, resp.Header.Get("X-Cache"), body, wantStatus, wantXCache, wantBody)
		}
	}

	put("index.html", "<h1>v1</h1>")
	get(endpoint+"/", host, 200, "Miss from cloudfront", "<h1>v1</h1>")
	get(endpoint+"/", host, 200, "Hit from cloudfront", "<h1>v1</h1>")
	get(endpoint+"/missing.html", host, 404, "Error from cloudfront", "")

	// The path form, cached separately from "/" (another viewer path).
	pathForm := endpoint + "/keyless/v1/cloudfront/" + edgeDist + "/index.html"
	get(pathForm, "", 200, "Miss from cloudfront", "<h1>v1</h1>")
	get(pathForm, "", 200, "Hit from cloudfront", "<h1>v1</h1>")

	// Overwritten in S3: the edges keep the old content until an invalidation.
	put("index.html", "<h1>v2</h1>")
	get(endpoint+"/", host, 200, "Hit from cloudfront", "<h1>v1</h1>")
	get(pathForm, "", 200, "Hit from cloudfront", "<h1>v1</h1>")
	cf := cloudfront.NewFromConfig(rootConfig(p))
	if _, err := cf.CreateInvalidation(ctx, &cloudfront.CreateInvalidationInput{DistributionId: aws.String(edgeDist),
		InvalidationBatch: &cftypes.InvalidationBatch{CallerReference: aws.String("deploy-2"),
			Paths: &cftypes.Paths{Quantity: aws.Int32(1), Items: []string{"/*"}}}}); err != nil {
		t.Fatalf("CreateInvalidation: %v", err)
	}
	get(endpoint+"/", host, 200, "Miss from cloudfront", "<h1>v2</h1>")
	get(endpoint+"/", host, 200, "Hit from cloudfront", "<h1>v2</h1>")
	get(pathForm, "", 200, "Miss from cloudfront", "<h1>v2</h1>")
}
