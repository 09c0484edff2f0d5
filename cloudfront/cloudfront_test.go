package cloudfront

import (
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cfsdk "github.com/aws/aws-sdk-go-v2/service/cloudfront"
	cftypes "github.com/aws/aws-sdk-go-v2/service/cloudfront/types"

	"github.com/keyless-dev/keyless/audit"
)

func TestCreateGetListDistributions(t *testing.T) {
	e := newEnv(t, time.Minute)
	ctx := context.Background()

	out, err := e.client.CreateDistribution(ctx, &cfsdk.CreateDistributionInput{DistributionConfig: minimalConfig("ref-1", "www.example.com")})
	if err != nil {
		t.Fatal(err)
	}
	d := out.Distribution
	id := aws.ToString(d.Id)
	if got := status(t, out.ResultMetadata); got != http.StatusCreated {
		t.Errorf("status = %d, want 201", got)
	}
	if len(id) != 14 || id[0] != 'E' {
		t.Errorf("Id = %q, want E and 13 characters", id)
	}
	if want := "https://cloudfront.amazonaws.com/2020-05-31/distribution/" + id; aws.ToString(out.Location) != want {
		t.Errorf("Location = %q, want %q", aws.ToString(out.Location), want)
	}
	if aws.ToString(out.ETag) == "" {
		t.Error("no ETag")
	}
	if want := "arn:aws:cloudfront::123456789012:distribution/" + id; aws.ToString(d.ARN) != want {
		t.Errorf("ARN = %q, want %q", aws.ToString(d.ARN), want)
	}
	if aws.ToString(d.Status) != "InProgress" || !strings.HasSuffix(aws.ToString(d.DomainName), ".cloudfront.net") {
		t.Errorf("Status %q DomainName %q", aws.ToString(d.Status), aws.ToString(d.DomainName))
	}
	dc := d.DistributionConfig
	if aws.ToString(dc.DefaultRootObject) != "index.html" || aws.ToString(dc.Comment) != "site www.example.com" || !aws.ToBool(dc.Enabled) {
		t.Errorf("config not echoed: %+v", dc)
	}
	if got := aws.ToString(dc.Origins.Items[0].DomainName); got != "www.example.com.s3.amazonaws.com" {
		t.Errorf("origin = %q", got)
	}
	b := dc.DefaultCacheBehavior
	if got := ttls(b); got != [3]int64{0, 86400, 31536000} {
		t.Errorf("TTLs = %v, want [0 86400 31536000] (CloudFront's defaults)", got)
	}
	if site, ok := e.svc.Site(id); !ok || site.Bucket != "www.example.com" || site.DefaultRootObject != "index.html" || site.DefaultTTL != 24*time.Hour {
		t.Errorf("Site(%s) = %+v, %v", id, site, ok)
	}

	got, err := e.client.GetDistribution(ctx, &cfsdk.GetDistributionInput{Id: aws.String(id)})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(got.ETag) != aws.ToString(out.ETag) {
		t.Errorf("GetDistribution ETag = %q, want %q", aws.ToString(got.ETag), aws.ToString(out.ETag))
	}
	if aws.ToString(got.Distribution.Status) != "Deployed" || aws.ToString(got.Distribution.DistributionConfig.CallerReference) != "ref-1" {
		t.Errorf("GetDistribution = %+v", got.Distribution)
	}
	cfg, err := e.client.GetDistributionConfig(ctx, &cfsdk.GetDistributionConfigInput{Id: aws.String(id)})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(cfg.ETag) != aws.ToString(out.ETag) || aws.ToString(cfg.DistributionConfig.DefaultRootObject) != "index.html" {
		t.Errorf("GetDistributionConfig = %q %+v", aws.ToString(cfg.ETag), cfg.DistributionConfig)
	}

	// Four more, then list them two at a time: the declared one first, then
	// in creation order.
	want := []string{"EDECLARED00001", id}
	for _, ref := range []string{"ref-2", "ref-3", "ref-4"} {
		o, err := e.client.CreateDistribution(ctx, &cfsdk.CreateDistributionInput{DistributionConfig: minimalConfig(ref, "bucket-"+ref)})
		if err != nil {
			t.Fatal(err)
		}
		want = append(want, aws.ToString(o.Distribution.Id))
	}
	var ids []string
	pages := 0
	p := cfsdk.NewListDistributionsPaginator(e.client, &cfsdk.ListDistributionsInput{MaxItems: aws.Int32(2)})
	for p.HasMorePages() {
		pg, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		l := pg.DistributionList
		if int(aws.ToInt32(l.Quantity)) != len(l.Items) || aws.ToInt32(l.MaxItems) != 2 || len(l.Items) > 2 {
			t.Errorf("page %d: Quantity %d, MaxItems %d, %d items", pages, aws.ToInt32(l.Quantity), aws.ToInt32(l.MaxItems), len(l.Items))
		}
		if aws.ToBool(l.IsTruncated) != (l.NextMarker != nil) {
			t.Errorf("page %d: IsTruncated %v with NextMarker %v", pages, aws.ToBool(l.IsTruncated), l.NextMarker)
		}
		for _, s := range l.Items {
			ids = append(ids, aws.ToString(s.Id))
			if aws.ToString(s.ARN) == "" || s.Origins == nil || s.DefaultCacheBehavior == nil {
				t.Errorf("summary %s incomplete", aws.ToString(s.Id))
			}
		}
	}
	if !slices.Equal(ids, want) || pages != 3 {
		t.Errorf("listed %v in %d pages, want %v in 3", ids, pages, want)
	}
}

func TestCreateDistributionErrors(t *testing.T) {
	e := newEnv(t, time.Minute)
	ctx := context.Background()
	if _, err := e.client.CreateDistribution(ctx, &cfsdk.CreateDistributionInput{DistributionConfig: minimalConfig("taken", "bucket-a")}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		change func(*cftypes.DistributionConfig)
		code   string
		status int
	}{
		{"caller reference reused", func(c *cftypes.DistributionConfig) { c.CallerReference = aws.String("taken") }, "DistributionAlreadyExists", 409},
		{"custom origin", func(c *cftypes.DistributionConfig) { c.Origins.Items[0].DomainName = aws.String("example.com") }, "InvalidOrigin", 400},
		{"unknown target origin", func(c *cftypes.DistributionConfig) { c.DefaultCacheBehavior.TargetOriginId = aws.String("other") }, "NoSuchOrigin", 404},
		{"origins quantity", func(c *cftypes.DistributionConfig) { c.Origins.Quantity = aws.Int32(2) }, "InconsistentQuantities", 400},
		{"root object with slash", func(c *cftypes.DistributionConfig) { c.DefaultRootObject = aws.String("/index.html") }, "InvalidDefaultRootObject", 400},
		{"ttl order", func(c *cftypes.DistributionConfig) { setTTLs(c.DefaultCacheBehavior, 100, 10) }, "InvalidTTLOrder", 400},
		{"viewer protocol policy", func(c *cftypes.DistributionConfig) { c.DefaultCacheBehavior.ViewerProtocolPolicy = "gopher" }, "InvalidArgument", 400},
		{"cache behaviors", func(c *cftypes.DistributionConfig) {
			c.CacheBehaviors = &cftypes.CacheBehaviors{Quantity: aws.Int32(1), Items: []cftypes.CacheBehavior{{PathPattern: aws.String("/api/*"), TargetOriginId: aws.String("s3"), ViewerProtocolPolicy: "allow-all"}}}
		}, "InvalidArgument", 400},
		{"custom error code", func(c *cftypes.DistributionConfig) {
			c.CustomErrorResponses = &cftypes.CustomErrorResponses{Quantity: aws.Int32(1), Items: []cftypes.CustomErrorResponse{{ErrorCode: aws.Int32(200)}}}
		}, "InvalidErrorCode", 400},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := minimalConfig("ref-"+string(rune('a'+i)), "bucket-b")
			tt.change(c)
			_, err := e.client.CreateDistribution(ctx, &cfsdk.CreateDistributionInput{DistributionConfig: c})
			wantErr(t, err, tt.code, tt.status, "")
		})
	}
	_, err := e.client.GetDistribution(ctx, &cfsdk.GetDistributionInput{Id: aws.String("ENOSUCHDIST000")})
	wantErr(t, err, "NoSuchDistribution", 404, "The specified distribution does not exist.")
}

func TestCreateInvalidation(t *testing.T) {
	e := newEnv(t, time.Minute)
	ctx := context.Background()
	out := e.invalidate("EDECLARED00001", "2025-06-01T12:00:00Z", "/index.html", "/assets/*")
	iv := out.Invalidation
	id := aws.ToString(iv.Id)
	if got := status(t, out.ResultMetadata); got != http.StatusCreated {
		t.Errorf("status = %d, want 201", got)
	}
	if want := "https://cloudfront.amazonaws.com/2020-05-31/distribution/EDECLARED00001/invalidation/" + id; aws.ToString(out.Location) != want {
		t.Errorf("Location = %q, want %q", aws.ToString(out.Location), want)
	}
	if len(id) != 14 || id[0] != 'I' || aws.ToString(iv.Status) != "InProgress" || !iv.CreateTime.Equal(e.clock.Now()) {
		t.Errorf("Invalidation = %s %s %v", id, aws.ToString(iv.Status), iv.CreateTime)
	}
	if got := iv.InvalidationBatch; aws.ToString(got.CallerReference) != "2025-06-01T12:00:00Z" || !slices.Equal(got.Paths.Items, []string{"/index.html", "/assets/*"}) || aws.ToInt32(got.Paths.Quantity) != 2 {
		t.Errorf("batch = %+v", got)
	}
	if calls := e.listener.Calls(); len(calls) != 1 || calls[0].dist != "EDECLARED00001" || !slices.Equal(calls[0].paths, []string{"/index.html", "/assets/*"}) {
		t.Errorf("listener calls = %+v", calls)
	}

	get, err := e.client.GetInvalidation(ctx, &cfsdk.GetInvalidationInput{DistributionId: aws.String("EDECLARED00001"), Id: aws.String(id)})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(get.Invalidation.Status) != "InProgress" {
		t.Errorf("status before the delay = %s", aws.ToString(get.Invalidation.Status))
	}
	d, err := e.client.GetDistribution(ctx, &cfsdk.GetDistributionInput{Id: aws.String("EDECLARED00001")})
	if err != nil {
		t.Fatal(err)
	}
	if n := aws.ToInt32(d.Distribution.InProgressInvalidationBatches); n != 1 {
		t.Errorf("InProgressInvalidationBatches = %d, want 1", n)
	}
	e.clock.Advance(time.Minute)
	get, err = e.client.GetInvalidation(ctx, &cfsdk.GetInvalidationInput{DistributionId: aws.String("EDECLARED00001"), Id: aws.String(id)})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(get.Invalidation.Status) != "Completed" {
		t.Errorf("status after the delay = %s", aws.ToString(get.Invalidation.Status))
	}

	_, err = e.client.GetInvalidation(ctx, &cfsdk.GetInvalidationInput{DistributionId: aws.String("EDECLARED00001"), Id: aws.String("INOSUCHINVAL00")})
	wantErr(t, err, "NoSuchInvalidation", 404, "")
	_, err = e.client.GetInvalidation(ctx, &cfsdk.GetInvalidationInput{DistributionId: aws.String("ENOSUCHDIST000"), Id: aws.String(id)})
	wantErr(t, err, "NoSuchDistribution", 404, "")

	evs := e.audit.Events()
	first := evs[0]
	if first.Service != "cloudfront" || first.Action != "CreateInvalidation" || first.Decision != audit.Allowed ||
		first.Caller != testCaller || first.SourceIP != "192.0.2.7" || first.Role != "arn:aws:cloudfront::123456789012:distribution/EDECLARED00001" || first.RequestID == "" {
		t.Errorf("audit event = %+v", first)
	}
	if last := evs[len(evs)-1]; last.Decision != audit.Failed || last.ErrorCode != "NoSuchDistribution" {
		t.Errorf("last audit event = %+v", last)
	}
}

func TestInvalidationIdempotency(t *testing.T) {
	e := newEnv(t, time.Minute)
	other, err := e.client.CreateDistribution(context.Background(), &cfsdk.CreateDistributionInput{DistributionConfig: minimalConfig("other", "other-bucket")})
	if err != nil {
		t.Fatal(err)
	}
	otherID := aws.ToString(other.Distribution.Id)
	first := e.invalidate("EDECLARED00001", "ref", "/a", "/b")

	tests := []struct {
		name    string
		dist    string
		paths   []string
		code    string // "" for success
		sameID  bool
		notices int // listener calls after the request
	}{
		{"same paths", "EDECLARED00001", []string{"/a", "/b"}, "", true, 1},
		{"same paths in another order", "EDECLARED00001", []string{"/b", "/a"}, "", true, 1},
		{"other paths", "EDECLARED00001", []string{"/a", "/c"}, "InvalidationBatchAlreadyExists", false, 1},
		{"fewer paths", "EDECLARED00001", []string{"/a"}, "InvalidationBatchAlreadyExists", false, 1},
		{"same reference on another distribution", otherID, []string{"/a", "/b"}, "", false, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := e.createInvalidation(tt.dist, "ref", len(tt.paths), tt.paths...)
			if tt.code != "" {
				wantErr(t, err, tt.code, 409, "")
			} else if err != nil {
				t.Fatal(err)
			} else {
				if got := aws.ToString(out.Invalidation.Id) == aws.ToString(first.Invalidation.Id); got != tt.sameID {
					t.Errorf("same invalidation = %v, want %v", got, tt.sameID)
				}
				if got := status(t, out.ResultMetadata); got != http.StatusCreated {
					t.Errorf("status = %d", got)
				}
			}
			if n := len(e.listener.Calls()); n != tt.notices {
				t.Errorf("listener called %d times, want %d", n, tt.notices)
			}
		})
	}
}

func TestInvalidationLimits(t *testing.T) {
	const delay = 10 * time.Minute
	tests := []struct {
		name string
		// before are batches created first, one per entry.
		before [][]string
		next   []string
		code   string
		status int
	}{
		{"3,000 paths in one batch", nil, paths(3000, "/f", ""), "", 0},
		{"3,001 paths in one batch", nil, paths(3001, "/f", ""), "BatchTooLarge", 413},
		{"3,000 in progress, one more", [][]string{paths(2000, "/f", ""), paths(1000, "/g", "")}, []string{"/one-more"}, "TooManyInvalidationsInProgress", 400},
		{"15 wildcards in one batch", nil, paths(15, "/w", "/*"), "", 0},
		{"16 wildcards in one batch", nil, paths(16, "/w", "/*"), "BatchTooLarge", 413},
		{"15 wildcards in progress, one more", [][]string{paths(10, "/w", "*"), paths(5, "/v", "*")}, []string{"/*"}, "TooManyInvalidationsInProgress", 400},
		{"wildcards do not count as paths", [][]string{paths(15, "/w", "*")}, paths(3000, "/f", ""), "", 0},
		{"paths do not count as wildcards", [][]string{paths(3000, "/f", "")}, paths(15, "/w", "*"), "", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, delay)
			for i, b := range tt.before {
				e.invalidate("EDECLARED00001", "before-"+string(rune('a'+i)), b...)
			}
			_, err := e.createInvalidation("EDECLARED00001", "next", len(tt.next), tt.next...)
			if tt.code == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			wantErr(t, err, tt.code, tt.status, "")
			if tt.code != "TooManyInvalidationsInProgress" {
				return
			}
			// Still refused just before the others complete, accepted once they have.
			e.clock.Advance(delay - time.Millisecond)
			_, err = e.createInvalidation("EDECLARED00001", "next", len(tt.next), tt.next...)
			wantErr(t, err, tt.code, tt.status, "")
			e.clock.Advance(time.Millisecond)
			if _, err := e.createInvalidation("EDECLARED00001", "next", len(tt.next), tt.next...); err != nil {
				t.Fatalf("after the others completed: %v", err)
			}
		})
	}
}

func TestInvalidationValidation(t *testing.T) {
	e := newEnv(t, time.Minute)
	tests := []struct {
		name     string
		dist     string
		quantity int
		paths    []string
		code     string
		status   int
	}{
		{"quantity above items", "EDECLARED00001", 3, []string{"/a", "/b"}, "InconsistentQuantities", 400},
		{"quantity below items", "EDECLARED00001", 1, []string{"/a", "/b"}, "InconsistentQuantities", 400},
		{"no leading slash", "EDECLARED00001", 1, []string{"index.html"}, "InvalidArgument", 400},
		{"star inside", "EDECLARED00001", 1, []string{"/a*b"}, "InvalidArgument", 400},
		{"star not last", "EDECLARED00001", 1, []string{"/*/index.html"}, "InvalidArgument", 400},
		{"empty path", "EDECLARED00001", 1, []string{""}, "InvalidArgument", 400},
		{"too long", "EDECLARED00001", 1, []string{"/" + strings.Repeat("a", MaxPathLength)}, "InvalidArgument", 400},
		{"control character", "EDECLARED00001", 1, []string{"/a\tb"}, "InvalidArgument", 400},
		{"no paths", "EDECLARED00001", 0, nil, "InvalidArgument", 400},
		{"no such distribution", "ENOSUCHDIST000", 1, []string{"/a"}, "NoSuchDistribution", 404},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := e.createInvalidation(tt.dist, "ref-"+tt.name, tt.quantity, tt.paths...)
			wantErr(t, err, tt.code, tt.status, "")
		})
	}
	if n := len(e.listener.Calls()); n != 0 {
		t.Errorf("listener called %d times for refused batches", n)
	}
	// Accepted: the longest path, a lone "/*", a path with spaces and unicode.
	e.invalidate("EDECLARED00001", "ok", "/"+strings.Repeat("a", MaxPathLength-1), "/*", "/my page é.html")
}

func TestInvalidationCompletedWaiter(t *testing.T) {
	const delay = 5 * time.Minute
	e := newEnv(t, delay)
	out := e.invalidate("EDECLARED00001", "wait", "/*")
	id := aws.ToString(out.Invalidation.Id)
	// Every GetInvalidation moves the clock a minute on, after it is answered.
	polls := 0
	e.after(func(r *http.Request) {
		if r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "/invalidation/"+id) {
			polls++
			e.clock.Advance(time.Minute)
		}
	})
	w := cfsdk.NewInvalidationCompletedWaiter(e.client, func(o *cfsdk.InvalidationCompletedWaiterOptions) {
		o.MinDelay, o.MaxDelay = time.Millisecond, time.Millisecond
	})
	got, err := w.WaitForOutput(context.Background(), &cfsdk.GetInvalidationInput{DistributionId: aws.String("EDECLARED00001"), Id: aws.String(id)}, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(got.Invalidation.Status) != "Completed" {
		t.Errorf("status = %s", aws.ToString(got.Invalidation.Status))
	}
	// Polled at +0 … +4 minutes (InProgress), then at +5 (Completed).
	if polls != 6 {
		t.Errorf("waiter polled %d times, want 6", polls)
	}
}

func TestListInvalidations(t *testing.T) {
	e := newEnv(t, time.Minute)
	var want []string
	for _, ref := range []string{"a", "b", "c", "d", "e"} {
		want = append(want, aws.ToString(e.invalidate("EDECLARED00001", ref, "/"+ref).Invalidation.Id))
		e.clock.Advance(20 * time.Second)
	}
	slices.Reverse(want) // most recent first
	var ids, statuses []string
	pages := 0
	p := cfsdk.NewListInvalidationsPaginator(e.client, &cfsdk.ListInvalidationsInput{DistributionId: aws.String("EDECLARED00001"), MaxItems: aws.Int32(2)})
	for p.HasMorePages() {
		pg, err := p.NextPage(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		pages++
		l := pg.InvalidationList
		if int(aws.ToInt32(l.Quantity)) != len(l.Items) || aws.ToBool(l.IsTruncated) != (l.NextMarker != nil) {
			t.Errorf("page %d inconsistent: %+v", pages, l)
		}
		for _, s := range l.Items {
			ids = append(ids, aws.ToString(s.Id))
			statuses = append(statuses, aws.ToString(s.Status))
		}
	}
	if !slices.Equal(ids, want) || pages != 3 {
		t.Errorf("listed %v in %d pages, want %v in 3", ids, pages, want)
	}
	// Created at +0, +20 s, … +80 s, listed at +100 s with a one-minute delay:
	// those of +80 s and +60 s are in progress, that of +40 s just completed.
	wantStatus := []string{"InProgress", "InProgress", "Completed", "Completed", "Completed"}
	if !slices.Equal(statuses, wantStatus) {
		t.Errorf("statuses = %v, want %v", statuses, wantStatus)
	}
	_, err := e.client.ListInvalidations(context.Background(), &cfsdk.ListInvalidationsInput{DistributionId: aws.String("EDECLARED00001"), Marker: aws.String("INOTANINVALIDA")})
	wantErr(t, err, "InvalidArgument", 400, "")
}

func TestAuthorization(t *testing.T) {
	e := newEnv(t, time.Minute)
	ctx := context.Background()
	arn := "arn:aws:cloudfront::123456789012:distribution/EDECLARED00001"
	iv := e.invalidate("EDECLARED00001", "first", "/a")
	ivID := aws.ToString(iv.Invalidation.Id)

	tests := []struct {
		action   string
		resource string
		call     func() error
	}{
		{"CreateInvalidation", arn, func() error {
			ref := fmt.Sprintf("call-%d", len(e.authz.Asked())) // a new batch every time
			_, err := e.createInvalidation("EDECLARED00001", ref, 1, "/b")
			return err
		}},
		{"GetInvalidation", arn, func() error {
			_, err := e.client.GetInvalidation(ctx, &cfsdk.GetInvalidationInput{DistributionId: aws.String("EDECLARED00001"), Id: aws.String(ivID)})
			return err
		}},
		{"ListInvalidations", arn, func() error {
			_, err := e.client.ListInvalidations(ctx, &cfsdk.ListInvalidationsInput{DistributionId: aws.String("EDECLARED00001")})
			return err
		}},
		{"GetDistribution", arn, func() error {
			_, err := e.client.GetDistribution(ctx, &cfsdk.GetDistributionInput{Id: aws.String("EDECLARED00001")})
			return err
		}},
		{"GetDistributionConfig", arn, func() error {
			_, err := e.client.GetDistributionConfig(ctx, &cfsdk.GetDistributionConfigInput{Id: aws.String("EDECLARED00001")})
			return err
		}},
		{"ListDistributions", "*", func() error { _, err := e.client.ListDistributions(ctx, &cfsdk.ListDistributionsInput{}); return err }},
	}
	for _, tt := range tests {
		t.Run(tt.action, func(t *testing.T) {
			action := "cloudfront:" + tt.action
			if err := tt.call(); err != nil {
				t.Fatalf("allowed call: %v", err)
			}
			if asked := e.authz.Asked(); asked[len(asked)-1] != action+" "+tt.resource {
				t.Errorf("authorized %q, want %q", asked[len(asked)-1], action+" "+tt.resource)
			}
			e.authz.mu.Lock()
			e.authz.deny[action+" "+tt.resource] = true
			e.authz.mu.Unlock()
			msg := "User: " + testCaller + " is not authorized to perform: " + action + " on resource: " + tt.resource + " because no identity-based policy allows the " + action + " action"
			wantErr(t, tt.call(), "AccessDenied", 403, msg)
			evs := e.audit.Events()
			ev := evs[len(evs)-1]
			if ev.Decision != audit.Denied || ev.Action != tt.action || ev.ErrorCode != "AccessDenied" || ev.Role != tt.resource ||
				ev.Statement != "inline policy deploy statement #0" || ev.Reason != "NoMatchingStatement" || ev.Caller != testCaller {
				t.Errorf("audit event = %+v", ev)
			}
		})
	}
	// "first" and the allowed call's batch; the denied one evicts nothing.
	if n := len(e.listener.Calls()); n != 2 {
		t.Errorf("listener called %d times, want 2", n)
	}

	// CreateDistribution is authorized on the ARN of the distribution it creates.
	out, err := e.client.CreateDistribution(ctx, &cfsdk.CreateDistributionInput{DistributionConfig: minimalConfig("new", "new-bucket")})
	if err != nil {
		t.Fatal(err)
	}
	asked := e.authz.Asked()
	if want := "cloudfront:CreateDistribution " + aws.ToString(out.Distribution.ARN); asked[len(asked)-1] != want {
		t.Errorf("authorized %q, want %q", asked[len(asked)-1], want)
	}

	// An authorizer that cannot decide is an internal failure, not a denial.
	e.authz.mu.Lock()
	e.authz.fail = errors.New("store unavailable")
	e.authz.mu.Unlock()
	before := len(e.authz.Asked())
	_, err = e.client.GetDistribution(ctx, &cfsdk.GetDistributionInput{Id: aws.String("EDECLARED00001")})
	wantErr(t, err, "InternalFailure", 500, "")
	if n := len(e.authz.Asked()) - before; n != 1 {
		t.Errorf("the 500 was tried %d times, want 1 (the test client retries only the transport race)", n)
	}
	if ev := e.audit.Events()[len(e.audit.Events())-1]; ev.Decision != audit.Failed || ev.Reason != "" {
		t.Errorf("audit event = %+v", ev)
	}
}

// TestErrorBody checks the error document byte by byte where the SDK is
// lenient: CloudFront's ErrorResponse in its namespace, the request ID in the
// body and the x-amzn-RequestId header.
func TestErrorBody(t *testing.T) {
	e := newEnv(t, time.Minute)
	e.authz.deny["cloudfront:GetDistribution arn:aws:cloudfront::123456789012:distribution/EDECLARED00001"] = true
	tests := []struct {
		name, method, path, body string
		status                   int
		code                     string
	}{
		{"denied", "GET", "/2020-05-31/distribution/EDECLARED00001", "", 403, "AccessDenied"},
		{"missing body", "POST", "/2020-05-31/distribution/EDECLARED00001/invalidation", "", 400, "MissingBody"},
		{"malformed", "POST", "/2020-05-31/distribution/EDECLARED00001/invalidation", "<InvalidationBatch><Paths>", 400, "MalformedInput"},
		{"wrong root", "POST", "/2020-05-31/distribution/EDECLARED00001/invalidation", "<Batch/>", 400, "MalformedInput"},
		{"bad quantity", "POST", "/2020-05-31/distribution/EDECLARED00001/invalidation",
			`<InvalidationBatch xmlns="http://cloudfront.amazonaws.com/doc/2020-05-31/"><Paths><Quantity>x</Quantity></Paths><CallerReference>r</CallerReference></InvalidationBatch>`, 400, "MalformedInput"},
		{"unknown operation", "DELETE", "/2020-05-31/distribution/EDECLARED00001", "", 404, "UnknownOperationException"},
		{"bad MaxItems", "GET", "/2020-05-31/distribution?MaxItems=-1", "", 400, "InvalidArgument"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequest(tt.method, e.srv.URL+tt.path, strings.NewReader(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			resp, err := e.srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tt.status {
				t.Errorf("status = %d, want %d", resp.StatusCode, tt.status)
			}
			var doc struct {
				XMLName xml.Name `xml:"http://cloudfront.amazonaws.com/doc/2020-05-31/ ErrorResponse"`
				Error   struct{ Type, Code, Message string }
				ID      string `xml:"RequestId"`
			}
			if err := xml.Unmarshal(body, &doc); err != nil {
				t.Fatalf("error body %s: %v", body, err)
			}
			if doc.Error.Type != "Sender" || doc.Error.Code != tt.code || doc.Error.Message == "" || doc.ID == "" || doc.ID != resp.Header.Get("x-amzn-RequestId") {
				t.Errorf("error body %s (header request ID %q)", body, resp.Header.Get("x-amzn-RequestId"))
			}
		})
	}
}

func TestDeclared(t *testing.T) {
	minute, day := time.Minute, 24*time.Hour
	tests := []struct {
		name     string
		declared []Declared
		wantErr  string
	}{
		{"ok", []Declared{{ID: "ESITE", Bucket: "my-site", DefaultTTL: &minute, MaxTTL: &day, Aliases: []string{"www.example.com"}}}, ""},
		{"lower-case ID", []Declared{{ID: "esite", Bucket: "my-site"}}, "declared distribution ID"},
		{"no bucket", []Declared{{ID: "ESITE"}}, "not valid"},
		{"bad bucket", []Declared{{ID: "ESITE", Bucket: "My_Bucket"}}, "not valid"},
		{"twice", []Declared{{ID: "ESITE", Bucket: "a-site"}, {ID: "ESITE", Bucket: "b-site"}}, "declared twice"},
		{"ttl order", []Declared{{ID: "ESITE", Bucket: "my-site", MinTTL: &day, DefaultTTL: &minute}}, "TTL order"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			svc, err := New(Config{Account: testAccount, Authorizer: &fakeAuthorizer{}, Declared: tt.declared, Now: newClock().Now})
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			site, ok := svc.Site("ESITE")
			want := Site{ID: "ESITE", DomainName: declaredDomain("ESITE") + ".cloudfront.net", Aliases: []string{"www.example.com"}, Enabled: true,
				Bucket: "my-site", DefaultRootObject: "index.html", MinTTL: 0, DefaultTTL: time.Minute, MaxTTL: day}
			if !ok || site.ID != want.ID || site.DomainName != want.DomainName || site.Bucket != want.Bucket || site.DefaultRootObject != want.DefaultRootObject ||
				site.MinTTL != want.MinTTL || site.DefaultTTL != want.DefaultTTL || site.MaxTTL != want.MaxTTL || !site.Enabled || !slices.Equal(site.Aliases, want.Aliases) {
				t.Errorf("Site = %+v, want %+v", site, want)
			}
			// The domain name is stable across restarts.
			again, _ := New(Config{Account: testAccount, Authorizer: &fakeAuthorizer{}, Declared: tt.declared})
			if s2, _ := again.Site("ESITE"); s2.DomainName != site.DomainName {
				t.Errorf("domain %s then %s", site.DomainName, s2.DomainName)
			}
		})
	}
}

func TestValidPath(t *testing.T) {
	tests := []struct {
		path string
		ok   bool
	}{
		{"/", true},
		{"/*", true},
		{"/index.html", true},
		{"/images/*", true},
		{"/images/image*", true},
		{"/a%20b.html", true},
		{"/" + strings.Repeat("x", MaxPathLength-1), true},
		{"", false},
		{"*", false},
		{"index.html", false},
		{"/*.jpg", false},
		{"/a**", false},
		{"/" + strings.Repeat("x", MaxPathLength), false},
		{"/a\nb", false},
		{"/a\x7fb", false},
		{"/\xff", false},
	}
	for _, tt := range tests {
		if got := ValidPath(tt.path); got != tt.ok {
			t.Errorf("ValidPath(%.40q) = %v, want %v", tt.path, got, tt.ok)
		}
	}
}

func TestOriginBucket(t *testing.T) {
	svc, err := New(Config{Authorizer: &fakeAuthorizer{}, OriginSuffixes: []string{"s3.localhost"}})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		domain, bucket string
	}{
		{"my-site.s3.amazonaws.com", "my-site"},
		{"My-Site.S3.amazonaws.com.", "my-site"},
		{"www.example.com.s3.amazonaws.com", "www.example.com"},
		{"my-site.s3.eu-west-1.amazonaws.com", "my-site"},
		{"my-site.s3-eu-west-1.amazonaws.com", "my-site"},
		{"my-site.s3.dualstack.us-east-1.amazonaws.com", "my-site"},
		{"my-site.s3-website-us-east-1.amazonaws.com", "my-site"},
		{"my-site.s3-website.eu-central-1.amazonaws.com", "my-site"},
		{"a.s3.b.s3.amazonaws.com", "a.s3.b"},
		{"my-site.s3.localhost", "my-site"},
		{"example.com", ""},
		{"s3.amazonaws.com", ""},
		{"x.s3.amazonaws.com", ""},
		{"bad..name.s3.amazonaws.com", ""},
		{"my-site.s3.amazonaws.com.evil.example", ""},
	}
	for _, tt := range tests {
		b, ok := svc.originBucket(tt.domain)
		if b != tt.bucket || ok != (tt.bucket != "") {
			t.Errorf("originBucket(%q) = %q, %v, want %q", tt.domain, b, ok, tt.bucket)
		}
	}
}
