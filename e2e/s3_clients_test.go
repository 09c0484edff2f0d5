//lint:file-ignore SA1019 the transfer manager (feature/s3/manager) is deprecated for feature/s3/transfermanager, but it is still what Go programs use for multipart transfers.

package e2e

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"hash/crc32"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/feature/s3/manager"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go/logging"

	"github.com/keyless-dev/keyless/internal/testenv"
)

// crc32Base64 is the CRC32 (IEEE) of b as S3 sends it: base64 of the big-endian sum.
func crc32Base64(b []byte) string {
	return base64.StdEncoding.EncodeToString(binary.BigEndian.AppendUint32(nil, crc32.ChecksumIEEE(b)))
}

// compositeCRC32 is the checksum S3 gives a multipart upload of b in parts of
// partSize: the CRC32 of the parts' concatenated CRC32s, then "-" and the part count.
func compositeCRC32(b []byte, partSize int) string {
	var sums []byte
	n := 0
	for off := 0; off < len(b); off += partSize {
		sums = binary.BigEndian.AppendUint32(sums, crc32.ChecksumIEEE(b[off:min(off+partSize, len(b))]))
		n++
	}
	return fmt.Sprintf("%s-%d", crc32Base64(sums), n)
}

// TestS3MoreOfficialClients: more official clients work unchanged against
// keyless up with the root credentials — the Go SDK's transfer manager (a
// multipart upload and a ranged, concurrent download over HTTPS), boto3's
// ListObjectsV2 paginator and presigned GET and PUT URLs, and the JavaScript
// SDK v3's S3Client — and every object reads back byte-identical with the
// checksum S3 would give it.
func TestS3MoreOfficialClients(t *testing.T) {
	p := startUp(t, t.TempDir())
	endpoint := p.env["KEYLESS_ENDPOINT"]
	https := strings.Replace(endpoint, "http://", "https://", 1)
	ctx := context.Background()
	root := s3.NewFromConfig(rootConfig(p), func(o *s3.Options) { o.UsePathStyle = true })
	if _, err := root.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("clients")}); err != nil {
		t.Fatalf("CreateBucket: %v\nserver: %s", err, p.stderr)
	}

	t.Run("GoTransferManager", func(t *testing.T) {
		// A client configured as a program would: LoadDefaultConfig (default
		// checksums), the endpoint over HTTPS, trusting KEYLESS_CA_BUNDLE.
		ca, err := os.Open(p.env["KEYLESS_CA_BUNDLE"])
		if err != nil {
			t.Fatal(err)
		}
		defer ca.Close()
		cfg, err := config.LoadDefaultConfig(ctx,
			config.WithRegion("us-east-1"),
			config.WithSharedConfigFiles([]string{}), config.WithSharedCredentialsFiles([]string{}),
			config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider(
				p.env["KEYLESS_ROOT_ACCESS_KEY_ID"], p.env["KEYLESS_ROOT_SECRET_ACCESS_KEY"], "")),
			config.WithBaseEndpoint(https),
			config.WithCustomCABundle(ca),
			// The SDK's notes (such as that ranged GETs carry no checksum to validate) go to the test log.
			config.WithLogger(logging.LoggerFunc(func(c logging.Classification, format string, v ...any) {
				t.Logf("SDK %s: "+format, append([]any{c}, v...)...)
			})),
		)
		if err != nil {
			t.Fatal(err)
		}
		if cfg.RequestChecksumCalculation != aws.RequestChecksumCalculationWhenSupported {
			t.Fatalf("LoadDefaultConfig's RequestChecksumCalculation is %v, want the default WhenSupported", cfg.RequestChecksumCalculation)
		}
		client := s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true })

		const partSize = 5 << 20
		body := make([]byte, 17<<20)
		for i := range body {
			body[i] = byte(i*13 + i>>11 + i>>19)
		}
		up, err := manager.NewUploader(client, func(u *manager.Uploader) { u.PartSize = partSize }).Upload(ctx, &s3.PutObjectInput{
			Bucket: aws.String("clients"), Key: aws.String("go/big.bin"), Body: bytes.NewReader(body),
		})
		if err != nil {
			t.Fatalf("transfer manager Upload: %v\nserver: %s", err, p.stderr)
		}
		if !strings.HasSuffix(aws.ToString(up.ETag), "-4\"") || up.UploadID == "" || len(up.CompletedParts) != 4 {
			t.Errorf("17 MiB in 5 MiB parts should be a 4-part multipart upload: ETag %s, upload %q, %d parts",
				aws.ToString(up.ETag), up.UploadID, len(up.CompletedParts))
		}
		want := compositeCRC32(body, partSize)
		if got := aws.ToString(up.ChecksumCRC32); got != want {
			t.Errorf("CompleteMultipartUpload ChecksumCRC32 = %q, want the composite %q", got, want)
		}

		buf := manager.NewWriteAtBuffer(make([]byte, 0, len(body)))
		n, err := manager.NewDownloader(client, func(d *manager.Downloader) { d.PartSize = partSize }).Download(ctx, buf, &s3.GetObjectInput{
			Bucket: aws.String("clients"), Key: aws.String("go/big.bin"),
		})
		if err != nil {
			t.Fatalf("transfer manager Download: %v\nserver: %s", err, p.stderr)
		}
		if n != int64(len(body)) || !bytes.Equal(buf.Bytes(), body) {
			t.Errorf("transfer manager Download wrote %d bytes, not the %d uploaded (equal %v)", n, len(body), bytes.Equal(buf.Bytes(), body))
		}

		head, err := client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("clients"), Key: aws.String("go/big.bin"), ChecksumMode: s3types.ChecksumModeEnabled})
		if err != nil {
			t.Fatalf("HeadObject: %v", err)
		}
		if aws.ToInt64(head.ContentLength) != int64(len(body)) || aws.ToString(head.ETag) != aws.ToString(up.ETag) {
			t.Errorf("HeadObject: %d bytes, ETag %s; want %d bytes, ETag %s", aws.ToInt64(head.ContentLength), aws.ToString(head.ETag), len(body), aws.ToString(up.ETag))
		}
		if got := aws.ToString(head.ChecksumCRC32); got != want {
			t.Errorf("HeadObject ChecksumCRC32 = %q, want the composite %q", got, want)
		}
	})

	t.Run("Boto3", func(t *testing.T) {
		python := testenv.Python3(t, "boto3")

		// 1,100 keys under many/, put concurrently with the Go SDK.
		const nKeys = 1100
		keys := make(chan int)
		errs := make(chan error, nKeys)
		var wg sync.WaitGroup
		for range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range keys {
					key := fmt.Sprintf("many/%04d.txt", i)
					if _, err := root.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("clients"), Key: aws.String(key),
						Body: strings.NewReader(key)}); err != nil {
						errs <- fmt.Errorf("PutObject %s: %w", key, err)
					}
				}
			}()
		}
		for i := range nKeys {
			keys <- i
		}
		close(keys)
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatalf("%v\nserver: %s", err, p.stderr)
		}
		getBody := []byte("presigned GET body\x00\xff\n")
		if _, err := root.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("clients"), Key: aws.String("presigned/get.bin"),
			Body: bytes.NewReader(getBody)}); err != nil {
			t.Fatal(err)
		}

		home := t.TempDir()
		cmd := exec.CommandContext(ctx, python, "-c", `
import json, sys, urllib.request, urllib.error, boto3
from botocore.config import Config
s3 = boto3.client("s3")
# SigV4 presigned URLs: in us-east-1 botocore presigns with SigV2 query
# authentication unless told otherwise, which keyless refuses as new S3 buckets do.
presigner = boto3.client("s3", config=Config(signature_version="s3v4"))
v2_url = s3.generate_presigned_url("get_object", Params={"Bucket": "clients", "Key": "presigned/get.bin"}, ExpiresIn=300)
try:
    urllib.request.urlopen(v2_url)
    v2 = {"status": 200, "body": ""}
except urllib.error.HTTPError as e:
    v2 = {"status": e.code, "body": e.read().decode()}
pages = []
for page in s3.get_paginator("list_objects_v2").paginate(Bucket="clients", Prefix="many/", PaginationConfig={"PageSize": 500}):
    pages.append([o["Key"] for o in page.get("Contents", [])])
get_url = presigner.generate_presigned_url("get_object", Params={"Bucket": "clients", "Key": "presigned/get.bin"}, ExpiresIn=300)
with urllib.request.urlopen(get_url) as r:
    got = r.read()
put_url = presigner.generate_presigned_url("put_object", Params={"Bucket": "clients", "Key": "presigned/put.bin"}, ExpiresIn=300)
req = urllib.request.Request(put_url, data=bytes(range(256)) * 3, method="PUT")
with urllib.request.urlopen(req) as r:
    put_status = r.status
print(json.dumps({"pages": pages, "get_hex": got.hex(), "put_status": put_status, "get_url": get_url, "put_url": put_url, "v2_url": v2_url, "v2": v2}))
`)
		cmd.Env = append(cleanEnv(),
			"AWS_ACCESS_KEY_ID="+p.env["KEYLESS_ROOT_ACCESS_KEY_ID"],
			"AWS_SECRET_ACCESS_KEY="+p.env["KEYLESS_ROOT_SECRET_ACCESS_KEY"],
			"AWS_ENDPOINT_URL_S3="+p.env["AWS_ENDPOINT_URL_S3"],
			"AWS_DEFAULT_REGION=us-east-1",
			"AWS_CONFIG_FILE="+filepath.Join(home, "config"),
			"AWS_SHARED_CREDENTIALS_FILE="+filepath.Join(home, "credentials"),
			"HOME="+home,
		)
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		if err := cmd.Run(); err != nil {
			t.Fatalf("boto3: %v\n%s%s\nserver: %s", err, &stdout, &stderr, p.stderr)
		}
		var res struct {
			Pages     [][]string `json:"pages"`
			GetHex    string     `json:"get_hex"`
			PutStatus int        `json:"put_status"`
			GetURL    string     `json:"get_url"`
			PutURL    string     `json:"put_url"`
			V2URL     string     `json:"v2_url"`
			V2        struct {
				Status int    `json:"status"`
				Body   string `json:"body"`
			} `json:"v2"`
		}
		if err := json.Unmarshal(stdout.Bytes(), &res); err != nil {
			t.Fatalf("boto3 printed %q: %v", &stdout, err)
		}

		// The paginator: pages of 500, 500 and 100, every key exactly once, in order.
		var sizes []int
		var all []string
		for _, page := range res.Pages {
			sizes = append(sizes, len(page))
			all = append(all, page...)
		}
		if fmt.Sprint(sizes) != "[500 500 100]" {
			t.Errorf("list_objects_v2 paginator with PageSize 500 gave pages of %v keys, want [500 500 100]", sizes)
		}
		seen := map[string]int{}
		for _, k := range all {
			seen[k]++
		}
		for i := range nKeys {
			if k := fmt.Sprintf("many/%04d.txt", i); seen[k] != 1 {
				t.Errorf("paginator listed %s %d times, want once", k, seen[k])
			}
		}
		if len(all) != nKeys {
			t.Errorf("paginator listed %d keys, want %d", len(all), nKeys)
		}

		// The presigned URLs.
		for _, u := range []string{res.GetURL, res.PutURL} {
			if !strings.HasPrefix(u, endpoint+"/clients/presigned/") || !strings.Contains(u, "X-Amz-Algorithm=AWS4-HMAC-SHA256") {
				t.Errorf("presigned URL %q is not a SigV4-presigned path-style URL at %s", u, endpoint)
			}
		}
		if got := fmt.Sprintf("%x", getBody); res.GetHex != got {
			t.Errorf("presigned GET returned %s, want %s", res.GetHex, got)
		}
		if res.PutStatus != 200 {
			t.Errorf("presigned PUT answered %d, want 200", res.PutStatus)
		}
		// boto3's default presigner in us-east-1 signs with Signature Version 2: S3's
		// refusal, in S3's error shape, not a 404 from one of keyless's own routes.
		if !strings.Contains(res.V2URL, "AWSAccessKeyId=") || res.V2.Status != 400 ||
			!strings.Contains(res.V2.Body, "<Code>InvalidRequest</Code>") || !strings.Contains(res.V2.Body, "Please use AWS4-HMAC-SHA256") {
			t.Errorf("SigV2 presigned GET %q answered %d %q, want 400 InvalidRequest asking for AWS4-HMAC-SHA256", res.V2URL, res.V2.Status, res.V2.Body)
		}
		putBody := bytes.Repeat(func() []byte {
			b := make([]byte, 256)
			for i := range b {
				b[i] = byte(i)
			}
			return b
		}(), 3)
		out, err := root.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("clients"), Key: aws.String("presigned/put.bin"), ChecksumMode: s3types.ChecksumModeEnabled})
		if err != nil {
			t.Fatalf("GetObject of the presigned PUT's object: %v", err)
		}
		defer out.Body.Close()
		var got bytes.Buffer
		if _, err := got.ReadFrom(out.Body); err != nil || !bytes.Equal(got.Bytes(), putBody) {
			t.Errorf("the presigned PUT's object reads back %d bytes (%v), want the %d put", got.Len(), err, len(putBody))
		}
	})

	t.Run("JSSDK", func(t *testing.T) {
		node := requireJSSDK(t)
		_, err := os.Stat(filepath.Join("js", "node_modules", "@aws-sdk", "client-s3", "package.json"))
		testenv.Require(t, "@aws-sdk/client-s3 in e2e/js/node_modules", err == nil, "run `make deps` (npm ci in e2e/js)")
		dir := t.TempDir()
		in, out := filepath.Join(dir, "in.bin"), filepath.Join(dir, "out.bin")
		body := make([]byte, 300_000)
		for i := range body {
			body[i] = byte(i*29 + i>>9)
		}
		if err := os.WriteFile(in, body, 0o644); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(ctx, time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, node, filepath.Join("js", "s3.mjs"), "clients", "js/object.bin", in, out)
		cmd.Env = append(cleanEnv(),
			"AWS_ACCESS_KEY_ID="+p.env["KEYLESS_ROOT_ACCESS_KEY_ID"],
			"AWS_SECRET_ACCESS_KEY="+p.env["KEYLESS_ROOT_SECRET_ACCESS_KEY"],
			"AWS_ENDPOINT_URL_S3="+https,
			"AWS_REGION=us-east-1",
			"NODE_EXTRA_CA_CERTS="+p.env["KEYLESS_CA_BUNDLE"],
			"AWS_CONFIG_FILE="+filepath.Join(dir, "config"),
			"AWS_SHARED_CREDENTIALS_FILE="+filepath.Join(dir, "credentials"),
		)
		stdout, err := cmd.Output()
		var res struct {
			Error   string `json:"error"`
			Status  int    `json:"status"`
			Message string `json:"message"`
			Put     struct{ ETag, ChecksumCRC32 string }
			Get     struct {
				ETag, ChecksumCRC32 string
				ContentLength       int64
			}
			List []struct {
				Key  string
				Size int64
				ETag string
			}
		}
		if jerr := json.Unmarshal(stdout, &res); jerr != nil || err != nil || res.Error != "" {
			t.Fatalf("node s3.mjs: %v %v\n%s\nserver: %s", err, jerr, stdout, p.stderr)
		}
		want := crc32Base64(body)
		if res.Put.ChecksumCRC32 != want {
			t.Errorf("JS PutObject (default checksums) returned ChecksumCRC32 %q, want %q", res.Put.ChecksumCRC32, want)
		}
		if res.Get.ChecksumCRC32 != want || res.Get.ContentLength != int64(len(body)) || res.Get.ETag != res.Put.ETag {
			t.Errorf("JS GetObject (ChecksumMode ENABLED): CRC32 %q, %d bytes, ETag %s; want %q, %d bytes, ETag %s",
				res.Get.ChecksumCRC32, res.Get.ContentLength, res.Get.ETag, want, len(body), res.Put.ETag)
		}
		if got, err := os.ReadFile(out); err != nil || !bytes.Equal(got, body) {
			t.Errorf("JS GetObject body: %d bytes (%v), not the %d put", len(got), err, len(body))
		}
		listed := false
		for _, o := range res.List {
			if o.Key == "js/object.bin" {
				listed = o.Size == int64(len(body)) && o.ETag == res.Put.ETag
			}
		}
		if !listed {
			t.Errorf("JS ListObjectsV2 does not list js/object.bin with %d bytes and ETag %s: %+v", len(body), res.Put.ETag, res.List)
		}
		head, err := root.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("clients"), Key: aws.String("js/object.bin"), ChecksumMode: s3types.ChecksumModeEnabled})
		if err != nil || aws.ToString(head.ChecksumCRC32) != want {
			t.Errorf("Go HeadObject of the JS upload: %v, CRC32 %q, want %q", err, aws.ToString(head.ChecksumCRC32), want)
		}
	})
}
