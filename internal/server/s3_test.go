package server

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"
)

func TestVirtualHostBucket(t *testing.T) {
	for _, c := range []struct {
		host, bucket string
		ok           bool
	}{
		{"site.s3.localhost:8400", "site", true},
		{"www.example.com.s3.localhost", "www.example.com", true},
		{"Site.S3.Localhost.:1", "site", true},
		{"s3.localhost:8400", "", false},
		{"127.0.0.1:8400", "", false},
		{"site.localhost:8400", "", false},
	} {
		if b, ok := virtualHostBucket(c.host); b != c.bucket || ok != c.ok {
			t.Errorf("virtualHostBucket(%q) = %q, %v; want %q, %v", c.host, b, ok, c.bucket, c.ok)
		}
	}
}

// TestS3Served: the Go SDK puts and gets objects path style at the endpoint and
// virtual-host style at BUCKET.s3.localhost; the bytes of this small object
// land inline in the store (TestS3BlobTiers: bigger ones under DIR/blobs); an
// unsigned virtual-host request is AccessDenied in S3's Error shape.
func TestS3Served(t *testing.T) {
	dir := t.TempDir()
	s := startTest(t, dir, Config{}, noEnv, nil)
	root := s.Root()
	addr := strings.TrimPrefix(s.Endpoint(), "http://")
	// Every host name, BUCKET.s3.localhost included, dials the server.
	hc := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, network, addr)
	}}}
	client := func(endpoint string, pathStyle bool) *s3.Client {
		return s3.NewFromConfig(aws.Config{Region: "us-east-1", HTTPClient: hc,
			Credentials: credentials.NewStaticCredentialsProvider(root.AccessKeyID, root.SecretAccessKey, "")},
			func(o *s3.Options) { o.BaseEndpoint = aws.String(endpoint); o.UsePathStyle = pathStyle })
	}
	ctx := t.Context()
	path := client(s.Endpoint(), true)
	if _, err := path.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("site")}); err != nil {
		t.Fatal(err)
	}
	body := []byte("<h1>hello</h1>\n")
	if _, err := path.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("site"), Key: aws.String("index.html"), Body: bytes.NewReader(body)}); err != nil {
		t.Fatal(err)
	}
	port := addr[strings.LastIndex(addr, ":")+1:]
	vhost := client("http://s3.localhost:"+port, false)
	out, err := vhost.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("site"), Key: aws.String("index.html")})
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(out.Body)
	out.Body.Close()
	if err != nil || !bytes.Equal(got, body) {
		t.Errorf("virtual-host GetObject = %q, %v", got, err)
	}
	if where := blobPlace(t, s, dir, "site", "index.html"); where != "inline" {
		t.Errorf("the object's bytes are %s, want inline", where)
	}
	// …written with the object's metadata in one transaction (the store's
	// metrics show which operation stored them).
	scrape, err := hc.Get(s.Endpoint() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(scrape.Body)
	scrape.Body.Close()
	for _, line := range []string{
		`keyless_store_operation_duration_seconds_count{operation="PutObjectInline"} 1`,
	} {
		if !strings.Contains(string(metrics), line+"\n") {
			t.Errorf("the metrics lack %s", line)
		}
	}
	if strings.Contains(string(metrics), `operation="PutBlob"`) || strings.Contains(string(metrics), `operation="PutObject"}`) {
		t.Error("the small object was stored in two steps (PutBlob, PutObject), not one")
	}
	_, err = vhost.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("nothere"), Key: aws.String("x")})
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != "NoSuchBucket" {
		t.Errorf("GetObject of a missing bucket: %v", err)
	}

	req, err := http.NewRequest(http.MethodGet, "http://site.s3.localhost:"+port+"/index.html", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(string(b), "<Code>AccessDenied</Code>") || resp.Header.Get("x-amz-request-id") == "" {
		t.Errorf("anonymous virtual-host GET: %d %s", resp.StatusCode, b)
	}
}

// TestS3DataEventsAudit: like a CloudTrail trail, keyless audits allowed S3
// object-level requests (data events) only with audit.data_events "all"; the
// bucket's creation and every denial are audited either way, and a value it
// does not know is refused at start.
func TestS3DataEventsAudit(t *testing.T) {
	for _, tc := range []struct {
		dataEvents string
		want       []string // audited actions and decisions, oldest first
	}{
		{"", []string{"CreateBucket Allowed", "GetObject Denied"}},
		{"denied", []string{"CreateBucket Allowed", "GetObject Denied"}},
		{"all", []string{"CreateBucket Allowed", "PutObject Allowed", "HeadObject Allowed", "ListObjectsV2 Allowed", "GetObject Denied"}},
	} {
		t.Run("data_events="+tc.dataEvents, func(t *testing.T) {
			s := startTest(t, t.TempDir(), Config{Audit: AuditConfig{DataEvents: tc.dataEvents}}, noEnv, nil)
			root := s.Root()
			client := s3.NewFromConfig(aws.Config{Region: "us-east-1",
				Credentials: credentials.NewStaticCredentialsProvider(root.AccessKeyID, root.SecretAccessKey, "")},
				func(o *s3.Options) { o.BaseEndpoint = aws.String(s.Endpoint()); o.UsePathStyle = true })
			ctx := t.Context()
			if _, err := client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("site")}); err != nil {
				t.Fatal(err)
			}
			if _, err := client.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("site"), Key: aws.String("a.txt"), Body: strings.NewReader("a")}); err != nil {
				t.Fatal(err)
			}
			if _, err := client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("site"), Key: aws.String("a.txt")}); err != nil {
				t.Fatal(err)
			}
			if _, err := client.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String("site")}); err != nil {
				t.Fatal(err)
			}
			addr := strings.TrimPrefix(s.Endpoint(), "http://")
			hc := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
				return (&net.Dialer{}).DialContext(ctx, network, addr)
			}}}
			resp, err := hc.Get("http://site.s3.localhost:" + addr[strings.LastIndex(addr, ":")+1:] + "/a.txt") // anonymous: denied
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusForbidden {
				t.Fatalf("anonymous GET: %d", resp.StatusCode)
			}
			var got []string
			for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
				events, err := s.st.ListAuditEvents(ctx, time.Time{}, 0)
				if err != nil {
					t.Fatal(err)
				}
				got = got[:0]
				for i := len(events) - 1; i >= 0; i-- {
					if e := events[i]; strings.HasPrefix(e.Role, "arn:aws:s3:::") {
						got = append(got, e.Action+" "+e.Decision)
					}
				}
				if len(got) > 0 && got[len(got)-1] == "GetObject Denied" {
					break
				}
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("audited %q; want %q", got, tc.want)
			}
		})
	}
	_, err := Start(t.Context(), Options{Config: Config{Listen: "127.0.0.1:0", Audit: AuditConfig{DataEvents: "some"}}, DataDir: t.TempDir(), Getenv: noEnv})
	if want := `config: audit.data_events "some": use "denied"`; err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("Start with audit.data_events \"some\": %v; want %q", err, want)
	}
}
