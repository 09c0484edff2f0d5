package invalidation

import (
	"context"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cfsdk "github.com/aws/aws-sdk-go-v2/service/cloudfront"
	cftypes "github.com/aws/aws-sdk-go-v2/service/cloudfront/types"

	"github.com/keyless-dev/keyless/cloudfront"
)

// allowAll authorizes every CloudFront call.
type allowAll struct{}

func (allowAll) Authorize(context.Context, string, string) error { return nil }

// stepClock is a clock that moves one second per request, so that an
// invalidation completes after a number of requests, whatever their timing.
type stepClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *stepClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *stepClock) step() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(time.Second)
}

// TestRunOverTheWire plans a deploy and runs it with the official SDK client
// against keyless's CloudFront service (the one keyless up serves), with
// CloudFront's limits and an invalidation in progress using 14 of the 15
// wildcards: the plan goes in two invalidations, the second once the one in
// progress has completed, and Run waits for both to complete.
func TestRunOverTheWire(t *testing.T) {
	const dist = "EWIRETEST00001"
	clock := &stepClock{now: time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)}
	svc, err := cloudfront.New(cloudfront.Config{
		Account:           "123456789012",
		Authorizer:        allowAll{},
		Declared:          []cloudfront.Declared{{ID: dist, Bucket: "site", OriginPath: "/www"}},
		InvalidationDelay: 3 * time.Second,
		Now:               clock.Now,
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		clock.step()
		svc.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	client := cfsdk.New(cfsdk.Options{
		BaseEndpoint: aws.String(srv.URL),
		Region:       "us-east-1",
		Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{AccessKeyID: "AKIDEXAMPLE", SecretAccessKey: "secret", Source: "test"}, nil
		}),
		HTTPClient: srv.Client(),
	})
	ctx := context.Background()
	old, err := client.CreateInvalidation(ctx, &cfsdk.CreateInvalidationInput{
		DistributionId: aws.String(dist),
		InvalidationBatch: &cftypes.InvalidationBatch{
			CallerReference: aws.String("earlier-deploy"),
			Paths:           &cftypes.Paths{Quantity: aws.Int32(14), Items: wildcards(14, "/old")},
		},
	})
	if err != nil {
		t.Fatal(err)
	}

	all := []string{"www/index.html", "www/x.html", "www/y.html", "www/a/1", "www/a/2", "www/b/1", "www/b/2", "www/c/é 1", "www/c/é 2"}
	changed := []string{"www/index.html", "www/a/1", "www/a/2", "www/b/1", "www/b/2", "www/c/é 1", "www/c/é 2"}
	p, err := NewPlan(changed, Options{OriginPath: "/www", DefaultRootObject: "index.html", All: all})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"/", "/a/*", "/b/*", "/c/*", "/index.html"}; !slices.Equal(p.Paths, want) {
		t.Fatalf("plan %q, want %q", p.Paths, want)
	}
	ids, err := Invalidator{API: client, PollInterval: time.Millisecond}.Run(ctx, dist, p, true)
	if err != nil {
		t.Fatal(err)
	}
	want := [][]string{{"/a/*", "/", "/index.html"}, {"/b/*", "/c/*"}}
	if len(ids) != len(want) {
		t.Fatalf("Run = %q, want %d invalidations", ids, len(want))
	}
	for i, id := range ids {
		out, err := client.GetInvalidation(ctx, &cfsdk.GetInvalidationInput{DistributionId: aws.String(dist), Id: aws.String(id)})
		if err != nil {
			t.Fatal(err)
		}
		iv := out.Invalidation
		if got := iv.InvalidationBatch.Paths.Items; !slices.Equal(got, want[i]) || aws.ToString(iv.Status) != "Completed" {
			t.Errorf("invalidation %s: %s %q, want Completed %q", id, aws.ToString(iv.Status), got, want[i])
		}
		if !iv.CreateTime.After(aws.ToTime(old.Invalidation.CreateTime)) {
			t.Errorf("invalidation %s created at %v, not after the one in progress (%v)", id, iv.CreateTime, old.Invalidation.CreateTime)
		}
	}
	second, _ := client.GetInvalidation(ctx, &cfsdk.GetInvalidationInput{DistributionId: aws.String(dist), Id: aws.String(ids[1])})
	if created, oldDone := aws.ToTime(second.Invalidation.CreateTime), aws.ToTime(old.Invalidation.CreateTime).Add(3*time.Second); created.Before(oldDone) {
		t.Errorf("second invalidation created at %v, before the one in progress completed (%v)", created, oldDone)
	}
}
