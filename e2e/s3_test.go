package e2e

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/keyless-dev/keyless/internal/testenv"
)

// siteTree writes a static site of 20 small files (some binary, some nested)
// under dir, with modification times an hour old as a build's would be, and
// returns their contents by slash-separated path.
func siteTree(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	files := map[string][]byte{}
	old := time.Now().Add(-time.Hour)
	for i := range 20 {
		var name string
		var body []byte
		switch {
		case i == 0:
			name, body = "index.html", []byte("<!doctype html><h1>site</h1>\n")
		case i%3 == 0:
			name = fmt.Sprintf("assets/img/%02d.bin", i)
			body = make([]byte, 1000+i*997)
			for j := range body {
				body[j] = byte(j*31 + i)
			}
		case i%3 == 1:
			name, body = fmt.Sprintf("assets/css/%02d.css", i), []byte(strings.Repeat(fmt.Sprintf(".c%d{color:red}\n", i), i+1))
		default:
			name, body = fmt.Sprintf("docs/page %02d.html", i), []byte(fmt.Sprintf("<p>page %d – ünïcode</p>\n", i))
		}
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, body, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(p, old, old); err != nil {
			t.Fatal(err)
		}
		files[name] = body
	}
	return files
}

// TestS3WithOfficialClients: keyless up serves S3 at the env file's endpoint
// to the AWS CLI (mb, cp, ls, sync twice, cp to stdout), boto3 (upload_file,
// download_file) and the Go SDK over HTTP and HTTPS (same port, trusting
// KEYLESS_CA_BUNDLE), with the root credentials; and a role session limited to
// one bucket is AccessDenied elsewhere, with the denial audited.
func TestS3WithOfficialClients(t *testing.T) {
	awsCLI := testenv.LookPath(t, "aws")
	p := startUp(t, t.TempDir())
	endpoint := p.env["KEYLESS_ENDPOINT"]
	if p.env["AWS_ENDPOINT_URL_S3"] != endpoint {
		t.Fatalf("env AWS_ENDPOINT_URL_S3 = %q, want the endpoint %q", p.env["AWS_ENDPOINT_URL_S3"], endpoint)
	}
	account := p.env["KEYLESS_ACCOUNT_ID"]
	ctx := context.Background()
	clientEnv := rootCLIEnv(t, p)
	cli := func(args ...string) (stdout string, err error) {
		t.Helper()
		ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, awsCLI, append([]string{"s3"}, args...)...)
		cmd.Env = clientEnv
		var out, errOut bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errOut
		if err := cmd.Run(); err != nil {
			return out.String(), fmt.Errorf("aws s3 %s: %w\nstdout: %s\nstderr: %s\nserver: %s", strings.Join(args, " "), err, &out, &errOut, p.stderr)
		}
		return out.String(), nil
	}

	// The AWS CLI.
	if out, err := cli("mb", "s3://site"); err != nil || !strings.Contains(out, "make_bucket: site") {
		t.Fatalf("mb: %q %v", out, err)
	}
	work := t.TempDir()
	hello := filepath.Join(work, "hello.txt")
	if err := os.WriteFile(hello, []byte("hello, keyless\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := cli("cp", hello, "s3://site/hello.txt"); err != nil || !strings.Contains(out, "upload:") {
		t.Fatalf("cp: %q %v", out, err)
	}
	if out, err := cli("ls", "s3://site"); err != nil || !strings.Contains(out, " 15 hello.txt") {
		t.Fatalf("ls: %q %v", out, err)
	}
	tree := filepath.Join(work, "public")
	files := siteTree(t, tree)
	out, err := cli("sync", tree, "s3://site")
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(out, "upload:"); n != len(files) {
		t.Fatalf("first sync uploaded %d files, want %d:\n%s", n, len(files), out)
	}
	if out, err := cli("sync", tree, "s3://site"); err != nil || out != "" {
		t.Fatalf("second sync (nothing changed) printed %q, %v", out, err)
	}
	for _, name := range []string{"index.html", "assets/img/18.bin", "docs/page 02.html"} {
		got, err := cli("cp", "s3://site/"+name, "-")
		if err != nil {
			t.Fatal(err)
		}
		if got != string(files[name]) {
			t.Errorf("cp s3://site/%s - read %d bytes, want the %d uploaded", name, len(got), len(files[name]))
		}
	}
	if out, err := cli("ls", "--recursive", "s3://site"); err != nil || strings.Count(out, "\n") != len(files)+1 {
		t.Errorf("ls --recursive after sync: %v\n%s", err, out)
	}

	// Over the CLI's 8 MiB threshold, cp uploads and downloads in parts.
	big := make([]byte, 9<<20+12345)
	for i := range big {
		big[i] = byte(i*7 + i>>13)
	}
	bigFile, bigBack := filepath.Join(work, "big.bin"), filepath.Join(work, "big-back.bin")
	if err := os.WriteFile(bigFile, big, 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := cli("cp", bigFile, "s3://site/big.bin"); err != nil || !strings.Contains(out, "upload:") {
		t.Fatalf("cp of a 9 MiB file: %q %v", out, err)
	}
	if _, err := cli("cp", "s3://site/big.bin", bigBack); err != nil {
		t.Fatal(err)
	}
	if got, err := os.ReadFile(bigBack); err != nil || !bytes.Equal(got, big) {
		t.Errorf("the 9 MiB object read back differs (%d bytes, %v)", len(got), err)
	}
	if head, err := s3.NewFromConfig(rootConfig(p), func(o *s3.Options) { o.UsePathStyle = true }).HeadObject(context.Background(),
		&s3.HeadObjectInput{Bucket: aws.String("site"), Key: aws.String("big.bin")}); err != nil || !strings.HasSuffix(aws.ToString(head.ETag), "-2\"") {
		t.Errorf("the CLI's 9 MiB upload should be a 2-part multipart upload: ETag %v, %v", head, err)
	}

	// boto3: the managed transfer's upload_file and download_file.
	python := testenv.Python3(t, "boto3")
	src := filepath.Join(tree, "assets/img/03.bin")
	dst := filepath.Join(work, "boto3-download.bin")
	cmd := exec.CommandContext(ctx, python, "-c", `
import sys, boto3
s3 = boto3.client("s3")
s3.upload_file(sys.argv[1], "site", "boto3/file.bin")
s3.download_file("site", "boto3/file.bin", sys.argv[2])
`, src, dst)
	cmd.Env = clientEnv
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("boto3: %v\n%s\nserver: %s", err, out, p.stderr)
	}
	if got, err := os.ReadFile(dst); err != nil || !bytes.Equal(got, files["assets/img/03.bin"]) {
		t.Errorf("boto3 round trip: %d bytes, %v", len(got), err)
	}

	// The Go SDK, over HTTP and over HTTPS on the same port, with checksums.
	https := strings.Replace(endpoint, "http://", "https://", 1)
	for _, c := range []struct {
		name string
		cfg  aws.Config
	}{
		{"http", rootConfig(p)},
		{"https", func() aws.Config {
			cfg := rootConfig(p)
			cfg.BaseEndpoint = aws.String(https)
			cfg.HTTPClient = caClient(t, p.env)
			return cfg
		}()},
	} {
		client := s3.NewFromConfig(c.cfg)
		body := bytes.Repeat([]byte("keyless over "+c.name+"\n"), 5000)
		key := "go-sdk/" + c.name + ".txt"
		if _, err := client.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("site"), Key: aws.String(key),
			Body: bytes.NewReader(body), ChecksumAlgorithm: s3types.ChecksumAlgorithmCrc32}); err != nil {
			t.Fatalf("%s PutObject: %v\nserver: %s", c.name, err, p.stderr)
		}
		out, err := client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("site"), Key: aws.String(key), ChecksumMode: s3types.ChecksumModeEnabled})
		if err != nil {
			t.Fatalf("%s GetObject: %v", c.name, err)
		}
		got, err := io.ReadAll(out.Body) // the SDK fails the read on a checksum mismatch
		out.Body.Close()
		if err != nil || !bytes.Equal(got, body) {
			t.Errorf("%s GetObject read %d bytes, %v; want the %d put", c.name, len(got), err, len(body))
		}
	}

	// A role session allowed to deploy to bucket site only.
	root := s3.NewFromConfig(rootConfig(p))
	if _, err := root.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("other")}); err != nil {
		t.Fatalf("CreateBucket other: %v", err)
	}
	session := s3.NewFromConfig(roleSession(t, p, `{"Version":"2012-10-17","Statement":[
		{"Sid":"DeploySite","Effect":"Allow","Action":["s3:PutObject","s3:GetObject"],"Resource":"arn:aws:s3:::site/*"},
		{"Sid":"ListSite","Effect":"Allow","Action":"s3:ListBucket","Resource":"arn:aws:s3:::site"}]}`))
	if _, err := session.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("site"), Key: aws.String("deploy.txt"), Body: strings.NewReader("ok")}); err != nil {
		t.Fatalf("session PutObject on site: %v", err)
	}
	if l, err := session.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String("site"), Prefix: aws.String("deploy")}); err != nil || len(l.Contents) != 1 {
		t.Fatalf("session ListObjectsV2 on site: %v", err)
	}
	sessionARN := "arn:aws:sts::" + account + ":assumed-role/s3-deployer/deploy"
	_, err = session.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("other"), Key: aws.String("x.txt"), Body: strings.NewReader("no")})
	if code, status := apiError(err); code != "AccessDenied" || status != 403 {
		t.Errorf("session PutObject on other: %s %d %v", code, status, err)
	}
	_, err = session.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String("site"), Key: aws.String("deploy.txt")})
	if code, status := apiError(err); code != "AccessDenied" || status != 403 {
		t.Errorf("session DeleteObject on site: %s %d %v", code, status, err)
	}
	if _, err := root.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("site"), Key: aws.String("deploy.txt")}); err != nil {
		t.Errorf("deploy.txt after the denied delete: %v", err)
	}
	if _, err := root.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("other"), Key: aws.String("x.txt")}); err == nil {
		t.Errorf("other/x.txt exists after the denied put")
	}

	// The audit log has the denied calls; the allowed object write is a data
	// event, which like CloudTrail keyless audits only when asked to
	// (audit.data_events "all"), while the bucket's creation always is.
	want := map[string]bool{
		"action=PutObject decision=Denied role=arn:aws:s3:::other/x.txt":        false,
		"action=DeleteObject decision=Denied role=arn:aws:s3:::site/deploy.txt": false,
	}
	created := false
	for _, line := range strings.Split(p.settledStderr(), "\n") {
		if !strings.Contains(line, "msg=audit") || !strings.Contains(line, "service=s3") {
			continue
		}
		if strings.Contains(line, "action=CreateBucket decision=Allowed") && strings.Contains(line, "role=arn:aws:s3:::site") {
			created = true
		}
		if strings.Contains(line, "decision=Allowed") && strings.Contains(line, "action=PutObject") {
			t.Errorf("an allowed PutObject was audited by default: %s", line)
		}
		if !strings.Contains(line, "caller="+sessionARN) || !strings.Contains(line, "source_ip=127.0.0.1") {
			continue
		}
		for w := range want {
			action, rest, _ := strings.Cut(w, " ")
			decision, role, _ := strings.Cut(rest, " ")
			if strings.Contains(line, action) && strings.Contains(line, decision) && strings.Contains(line, role) &&
				(decision == "decision=Allowed" || strings.Contains(line, "code=AccessDenied")) {
				want[w] = true
			}
		}
	}
	for w, seen := range want {
		if !seen {
			t.Errorf("no audit event %q for %s\n%s", w, sessionARN, p.stderr)
		}
	}
	if !created {
		t.Errorf("no audit event of CreateBucket site\n%s", p.stderr)
	}
}

// allDataEventsConfig writes a keyless up config that audits every S3 object
// request, allowed ones too, and returns its path.
func allDataEventsConfig(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "keyless.json")
	if err := os.WriteFile(path, []byte(`{"audit": {"data_events": "all"}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// roleSession creates role s3-deployer with the inline policy given, lets a
// user assume it (root may not) and returns the SDK config of session deploy.
func roleSession(t *testing.T, p *upProc, policy string) aws.Config {
	t.Helper()
	ctx := context.Background()
	account := p.env["KEYLESS_ACCOUNT_ID"]
	rootIAM := iam.NewFromConfig(rootConfig(p))
	role, err := rootIAM.CreateRole(ctx, &iam.CreateRoleInput{
		RoleName:                 aws.String("s3-deployer"),
		AssumeRolePolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::` + account + `:root"},"Action":"sts:AssumeRole"}]}`),
	})
	if err != nil {
		t.Fatalf("CreateRole: %v", err)
	}
	if _, err := rootIAM.PutRolePolicy(ctx, &iam.PutRolePolicyInput{
		RoleName: aws.String("s3-deployer"), PolicyName: aws.String("deploy"), PolicyDocument: aws.String(policy),
	}); err != nil {
		t.Fatalf("PutRolePolicy: %v", err)
	}
	if _, err := rootIAM.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("ci")}); err != nil {
		t.Fatalf("CreateUser: %v", err)
	}
	if _, err := rootIAM.PutUserPolicy(ctx, &iam.PutUserPolicyInput{
		UserName: aws.String("ci"), PolicyName: aws.String("assume"),
		PolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole","Resource":"*"}]}`),
	}); err != nil {
		t.Fatalf("PutUserPolicy: %v", err)
	}
	key, err := rootIAM.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: aws.String("ci")})
	if err != nil {
		t.Fatalf("CreateAccessKey: %v", err)
	}
	ucfg := rootConfig(p)
	ucfg.Credentials = credentials.NewStaticCredentialsProvider(aws.ToString(key.AccessKey.AccessKeyId), aws.ToString(key.AccessKey.SecretAccessKey), "")
	assumed, err := sts.NewFromConfig(ucfg).AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: role.Role.Arn, RoleSessionName: aws.String("deploy")})
	if err != nil {
		t.Fatalf("AssumeRole: %v", err)
	}
	c := assumed.Credentials
	cfg := rootConfig(p)
	cfg.Credentials = credentials.NewStaticCredentialsProvider(aws.ToString(c.AccessKeyId), aws.ToString(c.SecretAccessKey), aws.ToString(c.SessionToken))
	return cfg
}
