package e2e

import (
	"bufio"
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"hash/crc32"
	"io"
	"net"
	"net/http"
	"os"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sts"
)

// hostileBucket is the bucket every hostile case writes into.
const hostileBucket = "hostile"

// TestS3Hostile: keyless up refuses what a hostile or broken client sends
// and stores nothing for it:
//   - an aws-chunked upload (STREAMING-AWS4-HMAC-SHA256-PAYLOAD, signed by
//     hand) with one data byte flipped after signing is SignatureDoesNotMatch,
//     where the same upload untampered stores the object;
//   - a STREAMING-UNSIGNED-PAYLOAD-TRAILER upload whose x-amz-checksum-crc32
//     trailer is wrong is BadDigest, where the right trailer stores the object;
//   - a presigned GET URL that expires in 1s is AccessDenied "Request has
//     expired" once expired, where a URL valid for an hour reads the object;
//   - a session policy denying s3:DeleteObject (AssumeRole with Policy) stops
//     a delete the role's identity policy allows (AccessDenied naming the
//     session policy, object kept), where a session without it may delete;
//   - keys "../etc/passwd", "a/../../b", "ключ/日本語 ☃" and 1,024 bytes
//     round-trip byte-exactly and list as themselves; 1,025 bytes is
//     KeyTooLongError and stores nothing;
//   - a PUT declaring Content-Length 5 GiB that sends a few bytes and closes
//     its write side gets no 200 (IncompleteBody), stores nothing, and the
//     server's RSS does not grow by anything like the declared length.
//
// A bucket policy Deny beating an identity Allow is TestS3BucketPolicies.
func TestS3Hostile(t *testing.T) {
	p := startUp(t, t.TempDir())
	ctx := context.Background()
	root := s3.NewFromConfig(rootConfig(p), func(o *s3.Options) { o.UsePathStyle = true })
	if _, err := root.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(hostileBucket)}); err != nil {
		t.Fatalf("CreateBucket: %v", err)
	}
	creds := aws.Credentials{AccessKeyID: p.env["KEYLESS_ROOT_ACCESS_KEY_ID"], SecretAccessKey: p.env["KEYLESS_ROOT_SECRET_ACCESS_KEY"]}
	objectURL := func(key string) string {
		return p.env["KEYLESS_ENDPOINT"] + "/" + hostileBucket + "/" + key
	}
	// absent asserts HeadObject of key is a 404.
	absent := func(t *testing.T, key string) {
		t.Helper()
		_, err := root.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(hostileBucket), Key: aws.String(key)})
		if _, status := apiError(err); status != 404 {
			t.Errorf("HeadObject %q after the refused upload: %v, want a 404", key, err)
		}
	}
	// get reads key with the root user.
	get := func(t *testing.T, key string) []byte {
		t.Helper()
		out, err := root.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(hostileBucket), Key: aws.String(key)})
		if err != nil {
			t.Fatalf("GetObject %q: %v", key, err)
		}
		defer out.Body.Close()
		b, err := io.ReadAll(out.Body)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}

	t.Run("TamperedSignedChunk", func(t *testing.T) {
		data := make([]byte, 8192+1000)
		for i := range data {
			data[i] = byte(i*7 + 3)
		}
		put := func(key string, tamper bool) (int, string) {
			t.Helper()
			return sendSignedChunked(t, creds, objectURL(key), data, tamper)
		}
		if code, body := put("chunked-good", false); code != 200 {
			t.Fatalf("untampered signed aws-chunked PUT: %d %s", code, body)
		}
		if got := get(t, "chunked-good"); !bytes.Equal(got, data) {
			t.Fatalf("untampered signed aws-chunked object: %d bytes, want the %d sent", len(got), len(data))
		}
		code, body := put("chunked-tampered", true)
		if code != 403 || !strings.Contains(body, "<Code>SignatureDoesNotMatch</Code>") {
			t.Fatalf("signed aws-chunked PUT with a flipped data byte: %d %s", code, body)
		}
		absent(t, "chunked-tampered")
	})

	t.Run("WrongTrailerChecksum", func(t *testing.T) {
		data := []byte("trailer checked payload\n")
		sum := make([]byte, 4)
		binary.BigEndian.PutUint32(sum, crc32.ChecksumIEEE(data))
		right := base64.StdEncoding.EncodeToString(sum)
		sum[0] ^= 0xff
		wrong := base64.StdEncoding.EncodeToString(sum)
		if code, body := sendUnsignedTrailer(t, creds, objectURL("trailer-good"), data, right); code != 200 {
			t.Fatalf("unsigned trailer PUT with the right crc32: %d %s", code, body)
		}
		if got := get(t, "trailer-good"); !bytes.Equal(got, data) {
			t.Fatalf("unsigned trailer object = %q, want %q", got, data)
		}
		code, body := sendUnsignedTrailer(t, creds, objectURL("trailer-bad"), data, wrong)
		if code != 400 || !strings.Contains(body, "<Code>BadDigest</Code>") {
			t.Fatalf("unsigned trailer PUT with a wrong crc32: %d %s", code, body)
		}
		absent(t, "trailer-bad")
	})

	t.Run("ExpiredPresignedGet", func(t *testing.T) {
		page := "presigned\n"
		if _, err := root.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(hostileBucket), Key: aws.String("presigned.txt"), Body: strings.NewReader(page)}); err != nil {
			t.Fatalf("PutObject: %v", err)
		}
		presign := s3.NewPresignClient(root)
		in := &s3.GetObjectInput{Bucket: aws.String(hostileBucket), Key: aws.String("presigned.txt")}
		long, err := presign.PresignGetObject(ctx, in, s3.WithPresignExpires(time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		short, err := presign.PresignGetObject(ctx, in, s3.WithPresignExpires(time.Second))
		if err != nil {
			t.Fatal(err)
		}
		if code, body := httpGet(t, long.URL); code != 200 || body != page {
			t.Fatalf("GET of a presigned URL valid for an hour: %d %s", code, body)
		}
		time.Sleep(2100 * time.Millisecond)
		code, body := httpGet(t, short.URL)
		if code != 403 || !strings.Contains(body, "<Code>AccessDenied</Code>") || !strings.Contains(body, "<Message>Request has expired</Message>") {
			t.Fatalf("GET of a presigned URL 2s after its 1s expiry: %d %s", code, body)
		}
	})

	t.Run("SessionPolicyDeniesDelete", func(t *testing.T) {
		identity := `{"Version":"2012-10-17","Statement":[
			{"Effect":"Allow","Action":["s3:GetObject","s3:PutObject","s3:DeleteObject"],"Resource":"arn:aws:s3:::` + hostileBucket + `/*"}]}`
		sessionPolicy := `{"Version":"2012-10-17","Statement":[
			{"Effect":"Allow","Action":"s3:*","Resource":"*"},
			{"Sid":"NoDelete","Effect":"Deny","Action":"s3:DeleteObject","Resource":"*"}]}`
		plain, limited := roleSessions(t, p, identity, sessionPolicy)
		plainS3 := s3.NewFromConfig(plain, func(o *s3.Options) { o.UsePathStyle = true })
		limitedS3 := s3.NewFromConfig(limited, func(o *s3.Options) { o.UsePathStyle = true })
		for _, key := range []string{"doomed.txt", "kept.txt"} {
			if _, err := limitedS3.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(hostileBucket), Key: aws.String(key), Body: strings.NewReader(key)}); err != nil {
				t.Fatalf("PutObject %s under the session policy: %v", key, err)
			}
		}
		if _, err := plainS3.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(hostileBucket), Key: aws.String("doomed.txt")}); err != nil {
			t.Fatalf("DeleteObject by the session without a session policy: %v", err)
		}
		absent(t, "doomed.txt")
		_, err := limitedS3.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(hostileBucket), Key: aws.String("kept.txt")})
		if code, status := apiError(err); code != "AccessDenied" || status != 403 || !strings.Contains(err.Error(), "explicit deny in a session policy") {
			t.Fatalf("DeleteObject under a session policy denying it: %s %d %v", code, status, err)
		}
		if got := get(t, "kept.txt"); string(got) != "kept.txt" {
			t.Errorf("kept.txt after the denied delete = %q", got)
		}
	})

	t.Run("Keys", func(t *testing.T) {
		long := "long/" + strings.Repeat("k", 1024-len("long/"))
		keys := []string{"../etc/passwd", "a/../../b", "ключ/日本語 ☃", long}
		if len(long) != 1024 {
			t.Fatalf("long key is %d bytes", len(long))
		}
		for i, key := range keys {
			body := fmt.Sprintf("object %d: %q\n", i, key)
			if _, err := root.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(hostileBucket), Key: aws.String(key), Body: strings.NewReader(body)}); err != nil {
				t.Errorf("PutObject %q: %v", key, err)
				continue
			}
			if got := get(t, key); string(got) != body {
				t.Errorf("GetObject %q = %q, want %q", key, got, body)
			}
		}
		tooLong := long + "k"
		_, err := root.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(hostileBucket), Key: aws.String(tooLong), Body: strings.NewReader("x")})
		if code, status := apiError(err); code != "KeyTooLongError" || status != 400 {
			t.Errorf("PutObject of a 1,025-byte key: %s %d %v", code, status, err)
		}
		// Every key listed under these prefixes is one of ours, byte for byte.
		var listed []string
		for _, prefix := range []string{"../", "a/", "ключ/", "long/"} {
			out, err := root.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(hostileBucket), Prefix: aws.String(prefix)})
			if err != nil {
				t.Fatalf("ListObjectsV2 %q: %v", prefix, err)
			}
			for _, o := range out.Contents {
				listed = append(listed, aws.ToString(o.Key))
			}
		}
		want := append([]string(nil), keys...)
		sort.Strings(want)
		sort.Strings(listed)
		if strings.Join(listed, "\x00") != strings.Join(want, "\x00") {
			t.Errorf("listed keys %q, want %q", listed, want)
		}
	})

	t.Run("ShortBodyFor5GiB", func(t *testing.T) {
		before := rssKiB(t, p)
		const declared = 5 << 30
		req, err := http.NewRequest(http.MethodPut, objectURL("huge.bin"), nil)
		if err != nil {
			t.Fatal(err)
		}
		req.ContentLength = declared
		req.Header.Set("X-Amz-Content-Sha256", "UNSIGNED-PAYLOAD")
		if err := v4.NewSigner().SignHTTP(ctx, creds, req, "UNSIGNED-PAYLOAD", "s3", "us-east-1", time.Now()); err != nil {
			t.Fatal(err)
		}
		conn, err := net.Dial("tcp", req.URL.Host)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		var head strings.Builder
		fmt.Fprintf(&head, "PUT %s HTTP/1.1\r\nHost: %s\r\nContent-Length: %d\r\n", req.URL.RequestURI(), req.URL.Host, int64(declared))
		for k, vs := range req.Header {
			for _, v := range vs {
				fmt.Fprintf(&head, "%s: %s\r\n", k, v)
			}
		}
		head.WriteString("\r\n")
		if _, err := io.WriteString(conn, head.String()+"only a few bytes"); err != nil {
			t.Fatal(err)
		}
		if err := conn.(*net.TCPConn).CloseWrite(); err != nil {
			t.Fatal(err)
		}
		conn.SetReadDeadline(time.Now().Add(30 * time.Second))
		resp, err := http.ReadResponse(bufio.NewReader(conn), req)
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 400 || !strings.Contains(string(b), "<Code>IncompleteBody</Code>") {
				t.Errorf("PUT declaring 5 GiB with a short body: %d %s", resp.StatusCode, b)
			}
		} else {
			// A connection closed without any response is also a refusal.
			t.Logf("PUT declaring 5 GiB with a short body: no response (%v)", err)
		}
		absent(t, "huge.bin")
		after := rssKiB(t, p)
		t.Logf("server RSS %d KiB before, %d KiB after", before, after)
		if before > 0 && after-before > 64<<10 {
			t.Errorf("server RSS grew from %d KiB to %d KiB over the short 5 GiB PUT", before, after)
		}
	})
}

// sendSignedChunked PUTs data to rawURL as a STREAMING-AWS4-HMAC-SHA256-PAYLOAD
// aws-chunked body of 8 KiB chunks: the headers signed with the SDK's signer,
// each chunk signed as AWS documents, "AWS4-HMAC-SHA256-PAYLOAD\n" date "\n"
// scope "\n" previous signature "\n" hash("") "\n" hash(chunk data). With
// tamper, one data byte of the last data chunk is flipped after signing.
func sendSignedChunked(t *testing.T, creds aws.Credentials, rawURL string, data []byte, tamper bool) (int, string) {
	t.Helper()
	const chunkSize = 8192
	var chunks [][]byte
	for rest := data; len(rest) > 0; {
		n := min(chunkSize, len(rest))
		chunks = append(chunks, rest[:n])
		rest = rest[n:]
	}
	chunks = append(chunks, nil)
	sigLen := len(";chunk-signature=") + 64
	encodedLen := 0
	for _, c := range chunks {
		encodedLen += len(strconv.FormatInt(int64(len(c)), 16)) + sigLen + 2 + len(c) + 2
	}
	const payload = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"
	req, err := http.NewRequest(http.MethodPut, rawURL, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.ContentLength = int64(encodedLen)
	req.Header.Set("Content-Encoding", "aws-chunked")
	req.Header.Set("X-Amz-Content-Sha256", payload)
	req.Header.Set("X-Amz-Decoded-Content-Length", strconv.Itoa(len(data)))
	now := time.Now().UTC()
	if err := v4.NewSigner().SignHTTP(context.Background(), creds, req, payload, "s3", "us-east-1", now); err != nil {
		t.Fatal(err)
	}
	_, prev, ok := strings.Cut(req.Header.Get("Authorization"), "Signature=")
	if !ok {
		t.Fatalf("no signature in %q", req.Header.Get("Authorization"))
	}
	date := now.Format("20060102")
	scope := date + "/us-east-1/s3/aws4_request"
	key := hmacSHA256([]byte("AWS4"+creds.SecretAccessKey), date)
	for _, part := range []string{"us-east-1", "s3", "aws4_request"} {
		key = hmacSHA256(key, part)
	}
	emptyHash := sha256.Sum256(nil)
	var body bytes.Buffer
	for i, c := range chunks {
		dataHash := sha256.Sum256(c)
		sts := "AWS4-HMAC-SHA256-PAYLOAD\n" + now.Format("20060102T150405Z") + "\n" + scope + "\n" + prev + "\n" +
			hex.EncodeToString(emptyHash[:]) + "\n" + hex.EncodeToString(dataHash[:])
		prev = hex.EncodeToString(hmacSHA256(key, sts))
		if tamper && i == len(chunks)-2 {
			c = append([]byte(nil), c...)
			c[len(c)/2] ^= 0x01
		}
		fmt.Fprintf(&body, "%x;chunk-signature=%s\r\n", len(c), prev)
		body.Write(c)
		body.WriteString("\r\n")
	}
	if body.Len() != encodedLen {
		t.Fatalf("encoded body is %d bytes, computed %d", body.Len(), encodedLen)
	}
	req.Body = io.NopCloser(&body)
	return doRequest(t, req)
}

// sendUnsignedTrailer PUTs data to rawURL as a STREAMING-UNSIGNED-PAYLOAD-TRAILER
// aws-chunked body, one data chunk and an x-amz-checksum-crc32 trailer of crc.
func sendUnsignedTrailer(t *testing.T, creds aws.Credentials, rawURL string, data []byte, crc string) (int, string) {
	t.Helper()
	const payload = "STREAMING-UNSIGNED-PAYLOAD-TRAILER"
	body := fmt.Sprintf("%x\r\n%s\r\n0\r\nx-amz-checksum-crc32:%s\r\n\r\n", len(data), data, crc)
	req, err := http.NewRequest(http.MethodPut, rawURL, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Encoding", "aws-chunked")
	req.Header.Set("X-Amz-Content-Sha256", payload)
	req.Header.Set("X-Amz-Decoded-Content-Length", strconv.Itoa(len(data)))
	req.Header.Set("X-Amz-Trailer", "x-amz-checksum-crc32")
	if err := v4.NewSigner().SignHTTP(context.Background(), creds, req, payload, "s3", "us-east-1", time.Now()); err != nil {
		t.Fatal(err)
	}
	return doRequest(t, req)
}

func hmacSHA256(key []byte, data string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(data))
	return m.Sum(nil)
}

func doRequest(t *testing.T, req *http.Request) (int, string) {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func httpGet(t *testing.T, rawURL string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, rawURL, nil)
	if err != nil {
		t.Fatal(err)
	}
	return doRequest(t, req)
}

// roleSessions creates role s3-hostile with the identity policy given, lets a
// user assume it, and returns the configs of a session without a session
// policy and of one with sessionPolicy.
func roleSessions(t *testing.T, p *upProc, identity, sessionPolicy string) (plain, limited aws.Config) {
	t.Helper()
	ctx := context.Background()
	account := p.env["KEYLESS_ACCOUNT_ID"]
	rootIAM := iam.NewFromConfig(rootConfig(p))
	role, err := rootIAM.CreateRole(ctx, &iam.CreateRoleInput{
		RoleName:                 aws.String("s3-hostile"),
		AssumeRolePolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::` + account + `:root"},"Action":"sts:AssumeRole"}]}`),
	})
	if err != nil {
		t.Fatalf("CreateRole: %v", err)
	}
	if _, err := rootIAM.PutRolePolicy(ctx, &iam.PutRolePolicyInput{
		RoleName: aws.String("s3-hostile"), PolicyName: aws.String("objects"), PolicyDocument: aws.String(identity),
	}); err != nil {
		t.Fatalf("PutRolePolicy: %v", err)
	}
	if _, err := rootIAM.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("hostile")}); err != nil {
		t.Fatalf("CreateUser: %v", err)
	}
	if _, err := rootIAM.PutUserPolicy(ctx, &iam.PutUserPolicyInput{
		UserName: aws.String("hostile"), PolicyName: aws.String("assume"),
		PolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole","Resource":"*"}]}`),
	}); err != nil {
		t.Fatalf("PutUserPolicy: %v", err)
	}
	key, err := rootIAM.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: aws.String("hostile")})
	if err != nil {
		t.Fatalf("CreateAccessKey: %v", err)
	}
	ucfg := rootConfig(p)
	ucfg.Credentials = credentials.NewStaticCredentialsProvider(aws.ToString(key.AccessKey.AccessKeyId), aws.ToString(key.AccessKey.SecretAccessKey), "")
	assume := func(name string, policy *string) aws.Config {
		out, err := sts.NewFromConfig(ucfg).AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: role.Role.Arn, RoleSessionName: aws.String(name), Policy: policy})
		if err != nil {
			t.Fatalf("AssumeRole %s: %v", name, err)
		}
		c := out.Credentials
		cfg := rootConfig(p)
		cfg.Credentials = credentials.NewStaticCredentialsProvider(aws.ToString(c.AccessKeyId), aws.ToString(c.SecretAccessKey), aws.ToString(c.SessionToken))
		return cfg
	}
	return assume("plain", nil), assume("limited", aws.String(sessionPolicy))
}

// rssKiB is the server's resident set size from /proc, 0 where there is none.
func rssKiB(t *testing.T, p *upProc) int64 {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.cmd.Process.Pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			n, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return n
		}
	}
	return 0
}
