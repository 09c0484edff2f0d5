package e2e

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"io/fs"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

const (
	s3BenchConcurrency = 16
	s3BenchObjectSize  = 4 << 10
	s3BenchGetKeys     = 256 // GET reads these objects, put before the timer, round robin
	s3BenchRounds      = 5   // each target's share of b.N, in rounds that alternate between them
)

// BenchmarkS3SmallObjects is issue 10's small-object load test: 4 KiB PUTs and GETs
// signed with SigV4 over loopback HTTP from s3BenchConcurrency workers, against
// `keyless up` and against moto's S3 server on the same load. Each operation's
// b.N requests go to each server in s3BenchRounds rounds that alternate between
// them, so that a change in the shared machine's speed during the run weighs on
// both alike. It runs twice: "signer" sends requests signed by the SDK's v4 signer
// on a plain HTTP client, "sdk" uses the SDK's S3 client (path style, its default
// checksums), whose middleware costs more CPU per request than the keyless server
// does. Each sub-benchmark reports both servers' requests/s, keyless-x (keyless's
// rate over moto's; the goal is ≥ 20), the server CPU time per request of each
// (server-CPU-µs/req) and server-CPU-x (moto's over keyless's), and the CPU time per
// request of this process, the client, while it loads keyless (client and server
// share the machine's cores, so the client's cost bounds the rate keyless can
// show). Run it with
//
//	go test ./e2e -run '^$' -bench S3SmallObjects -benchtime 10000x -timeout 30m
//
// (3,000 requests last a third of a second against keyless, mostly its warm-up:
// a new database's first pages and log, the heap's growth.)
func BenchmarkS3SmallObjects(b *testing.B) {
	p := startUp(b, b.TempDir())
	for _, kind := range []string{"signer", "sdk"} {
		b.Run(kind, func(b *testing.B) {
			endpoint, pid := startMoto(b)
			bucket := "bench-small-" + kind
			targets := []*smallObjectTarget{
				newSmallObjectTarget(b, "keyless", kind, rootConfig(p), bucket, p.cmd.Process.Pid),
				newSmallObjectTarget(b, "moto", kind, aws.Config{
					Region:       "us-east-1",
					BaseEndpoint: aws.String(endpoint),
					Credentials:  credentials.NewStaticCredentialsProvider("AKIAMOTOBENCH", "moto-accepts-any-secret", ""),
				}, bucket, pid),
			}
			for _, op := range []string{"PUT", "GET"} {
				b.Run(op, func(b *testing.B) { s3SmallObjectOp(b, op, targets) })
			}
		})
	}
}

// benchS3Client is a path-style S3 client whose HTTP transport keeps a connection
// per worker.
func benchS3Client(cfg aws.Config, optFns ...func(*s3.Options)) *s3.Client {
	cfg.HTTPClient = awshttp.NewBuildableClient().WithTransportOptions(func(t *http.Transport) {
		t.MaxIdleConns = 2 * s3BenchConcurrency
		t.MaxIdleConnsPerHost = 2 * s3BenchConcurrency
	})
	cfg.RetryMaxAttempts = 1 // a failed request fails the benchmark, not a hidden retry
	return s3.NewFromConfig(cfg, append([]func(*s3.Options){func(o *s3.Options) { o.UsePathStyle = true }}, optFns...)...)
}

// smallObjectTarget is one server of BenchmarkS3SmallObjects: how to PUT and GET
// its objects, the process serving them, and what was measured of it.
type smallObjectTarget struct {
	name     string
	pid      int
	put, get func(key string) error
	puts     atomic.Int64 // PUTs sent so far, which name new keys

	elapsed, serverCPU, clientCPU time.Duration // summed over the rounds of an operation
	requests                      int
}

// newSmallObjectTarget creates bucket on the server of cfg (served by process pid)
// and the s3BenchGetKeys objects GET reads, with the SDK's S3 client (kind "sdk")
// or SigV4-signed requests on a plain HTTP client ("signer").
func newSmallObjectTarget(b *testing.B, name, kind string, cfg aws.Config, bucket string, pid int) *smallObjectTarget {
	ctx := context.Background()
	client := benchS3Client(cfg)
	if _, err := client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
		b.Fatalf("%s: CreateBucket: %v", name, err)
	}
	body := make([]byte, s3BenchObjectSize)
	rand.NewChaCha8([32]byte{10}).Read(body)
	t := &smallObjectTarget{name: name, pid: pid}
	switch kind {
	case "sdk":
		t.put = func(key string) error {
			_, err := client.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Body: bytes.NewReader(body)})
			return err
		}
		t.get = func(key string) error {
			out, err := client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
			if err != nil {
				return err
			}
			return readAll(out.Body, key)
		}
	default:
		sc, err := newSignedClient(ctx, cfg)
		if err != nil {
			b.Fatal(err)
		}
		t.put = func(key string) error {
			resp, err := sc.do(ctx, http.MethodPut, bucket, key, body)
			if err != nil {
				return err
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			return resp.Body.Close()
		}
		t.get = func(key string) error {
			resp, err := sc.do(ctx, http.MethodGet, bucket, key, nil)
			if err != nil {
				return err
			}
			return readAll(resp.Body, key)
		}
	}
	for i := range s3BenchGetKeys {
		if err := t.put(fmt.Sprintf("get/%04d", i)); err != nil {
			b.Fatalf("%s: PUT before the benchmark: %v", name, err)
		}
	}
	for i := range s3BenchConcurrency { // open the connections
		if err := t.get(fmt.Sprintf("get/%04d", i)); err != nil {
			b.Fatalf("%s: GET before the benchmark: %v", name, err)
		}
	}
	return t
}

// do sends the i-th request of op ("PUT": a new key; "GET": the GET keys in turn).
func (t *smallObjectTarget) do(op string, i int) error {
	if op == "PUT" {
		return t.put(fmt.Sprintf("put/%08d", t.puts.Add(1)))
	}
	return t.get(fmt.Sprintf("get/%04d", i%s3BenchGetKeys))
}

// s3SmallObjectOp sends b.N requests of op to each target, in s3BenchRounds
// rounds that alternate between them, and reports the figures described at
// BenchmarkS3SmallObjects; the first target is keyless, the second moto.
func s3SmallObjectOp(b *testing.B, op string, targets []*smallObjectTarget) {
	for _, t := range targets {
		t.elapsed, t.serverCPU, t.clientCPU, t.requests = 0, 0, 0, 0
	}
	b.ResetTimer()
	for round := range s3BenchRounds {
		n := b.N/s3BenchRounds + min(1, max(0, b.N%s3BenchRounds-round)) // b.N in all
		for _, t := range targets {
			cpu0, err := procCPUTime(t.pid)
			if err != nil {
				b.Fatal(err)
			}
			self0 := selfCPUTime()
			elapsed, err := concurrentRequests(n, func(i int) error { return t.do(op, i) })
			if err != nil {
				b.Fatalf("%s %s: %v", t.name, op, err)
			}
			self1 := selfCPUTime()
			cpu1, err := procCPUTime(t.pid)
			if err != nil {
				b.Fatal(err)
			}
			t.elapsed += elapsed
			t.serverCPU += cpu1 - cpu0
			t.clientCPU += self1 - self0
			t.requests += n
		}
	}
	b.StopTimer()
	if b.N < s3BenchRounds {
		return // the runner's first, one-request call: too few requests to report on
	}
	k, m := targets[0], targets[1]
	rate := func(t *smallObjectTarget) float64 { return float64(t.requests) / t.elapsed.Seconds() }
	perRequest := func(d time.Duration, t *smallObjectTarget) time.Duration { return d / time.Duration(t.requests) }
	µs := func(d time.Duration) float64 { return float64(d.Nanoseconds()) / 1e3 }
	b.ReportMetric(rate(k), "keyless-requests/s")
	b.ReportMetric(rate(m), "moto-requests/s")
	b.ReportMetric(rate(k)/rate(m), "keyless-x")
	b.ReportMetric(µs(perRequest(k.serverCPU, k)), "keyless-server-CPU-µs/req")
	b.ReportMetric(µs(perRequest(m.serverCPU, m)), "moto-server-CPU-µs/req")
	b.ReportMetric(float64(m.serverCPU)/float64(m.requests)/(float64(k.serverCPU)/float64(k.requests)), "server-CPU-x")
	b.ReportMetric(µs(perRequest(k.clientCPU, k)), "client-CPU-µs/req")
	b.ReportMetric(s3BenchConcurrency, "concurrency")
	b.Logf("%s: keyless %.0f requests/s, moto %.0f requests/s: keyless is %.1f× moto (goal ≥ 20×); server CPU per request keyless %s, moto %s",
		op, rate(k), rate(m), rate(k)/rate(m), perRequest(k.serverCPU, k), perRequest(m.serverCPU, m))
}

// readAll reads and closes a GET's body, which must be s3BenchObjectSize bytes.
func readAll(body io.ReadCloser, key string) error {
	n, err := io.Copy(io.Discard, body)
	body.Close()
	if err == nil && n != s3BenchObjectSize {
		err = fmt.Errorf("GET %s read %d bytes, want %d", key, n, s3BenchObjectSize)
	}
	return err
}

// signedClient sends S3 requests signed with SigV4 by the SDK's signer over a
// plain net/http client: the SDK's wire without its middleware stack (request
// building, retries, checksums), whose CPU on the shared cores would otherwise
// bound the rate either server can show.
type signedClient struct {
	http     *http.Client
	endpoint string
	creds    aws.Credentials
	signer   *v4.Signer
}

func newSignedClient(ctx context.Context, cfg aws.Config) (*signedClient, error) {
	creds, err := cfg.Credentials.Retrieve(ctx)
	if err != nil {
		return nil, err
	}
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConns, t.MaxIdleConnsPerHost = 2*s3BenchConcurrency, 2*s3BenchConcurrency
	return &signedClient{http: &http.Client{Transport: t}, endpoint: aws.ToString(cfg.BaseEndpoint), creds: creds, signer: v4.NewSigner()}, nil
}

// do sends a path-style request for bucket/key with body (nil for none),
// signed with its SHA-256, and fails on a status other than 200.
func (c *signedClient) do(ctx context.Context, method, bucket, key string, body []byte) (*http.Response, error) {
	var r io.Reader = http.NoBody
	if body != nil {
		r = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.endpoint+"/"+bucket+"/"+key, r)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(body)
	hash := hex.EncodeToString(sum[:])
	req.Header.Set("X-Amz-Content-Sha256", hash)
	if err := c.signer.SignHTTP(ctx, c.creds, req, hash, "s3", "us-east-1", time.Now()); err != nil {
		return nil, err
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<10))
		resp.Body.Close()
		return nil, fmt.Errorf("%s %s/%s: %s: %s", method, bucket, key, resp.Status, b)
	}
	return resp, nil
}

// selfCPUTime is the user and system CPU time this process (the benchmark's
// client) has used.
func selfCPUTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// concurrentRequests runs do(0) … do(n-1) from s3BenchConcurrency workers and
// returns how long they took, or the first error.
func concurrentRequests(n int, do func(i int) error) (time.Duration, error) {
	var next atomic.Int64
	var failed error
	var once sync.Once
	var wg sync.WaitGroup
	start := time.Now()
	for range s3BenchConcurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				if err := do(i); err != nil {
					once.Do(func() { failed = err })
					next.Store(int64(n))
					return
				}
			}
		}()
	}
	wg.Wait()
	return time.Since(start), failed
}

const streamSize = 1 << 30

// BenchmarkS3Stream1GiB is issue 10's streaming test: one 1 GiB object PUT to and
// GET from `keyless up` over loopback HTTP (SigV4 with an unsigned payload, as the
// SDK does for streams), its body generated on the fly and read back through a
// CRC-32C, so that neither side needs the object in memory. It reports put-MB/s and
// get-MB/s next to copy-MB/s, the rate of copying the object's own file, on the same
// disk, with io.Copy and an fsync (the server fsyncs what it stores); and peak-RSS-MB, the server's VmHWM after the transfers (the
// goal is under 100 MB). Run it with
//
//	go test ./e2e -run '^$' -bench S3Stream1GiB -benchtime 1x
func BenchmarkS3Stream1GiB(b *testing.B) {
	data := b.TempDir()
	p := startUp(b, data)
	client := benchS3Client(rootConfig(p), func(o *s3.Options) {
		o.RequestChecksumCalculation = aws.RequestChecksumCalculationWhenRequired
		o.ResponseChecksumValidation = aws.ResponseChecksumValidationWhenRequired
		o.APIOptions = append(o.APIOptions, v4.SwapComputePayloadSHA256ForUnsignedPayloadMiddleware)
	})
	ctx := context.Background()
	bucket, key := "bench-stream", "one-gib.bin"
	if _, err := client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
		b.Fatalf("CreateBucket: %v", err)
	}
	table := crc32.MakeTable(crc32.Castagnoli)
	want := crc32.New(table)
	if _, err := io.Copy(want, newStreamBody(streamSize)); err != nil {
		b.Fatal(err)
	}
	stopSampling := sampleRSS(b, p.cmd.Process.Pid)

	var putTime, getTime, copyTime time.Duration
	b.ResetTimer()
	for range b.N {
		start := time.Now()
		if _, err := client.PutObject(ctx, &s3.PutObjectInput{
			Bucket: aws.String(bucket), Key: aws.String(key),
			Body: newStreamBody(streamSize), ContentLength: aws.Int64(streamSize),
		}); err != nil {
			b.Fatalf("PutObject: %v\nserver: %s", err, p.stderr)
		}
		putTime += time.Since(start)

		start = time.Now()
		out, err := client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
		if err != nil {
			b.Fatalf("GetObject: %v", err)
		}
		got := crc32.New(table)
		n, err := io.Copy(got, out.Body)
		out.Body.Close()
		getTime += time.Since(start)
		if err != nil || n != streamSize || got.Sum32() != want.Sum32() {
			b.Fatalf("GET read %d bytes with CRC-32C %08x, %v; want %d with %08x", n, got.Sum32(), err, streamSize, want.Sum32())
		}

		b.StopTimer()
		src := largestFile(b, data)
		dst := filepath.Join(filepath.Dir(src), "bench-copy.tmp")
		b.StartTimer()
		start = time.Now()
		if err := copyFile(dst, src); err != nil {
			b.Fatal(err)
		}
		copyTime += time.Since(start)
		b.StopTimer()
		os.Remove(dst)
		b.StartTimer()
	}
	b.StopTimer()
	peakSampled := stopSampling()
	hwm, err := procStatusKB(p.cmd.Process.Pid, "VmHWM")
	if err != nil {
		b.Fatal(err)
	}
	mbps := func(d time.Duration) float64 { return float64(b.N) * streamSize / 1e6 / d.Seconds() }
	b.ReportMetric(mbps(putTime), "put-MB/s")
	b.ReportMetric(mbps(getTime), "get-MB/s")
	b.ReportMetric(mbps(copyTime), "copy-MB/s")
	b.ReportMetric(float64(hwm)/1024, "peak-RSS-MB")
	b.Logf("PUT %.0f MB/s, GET %.0f MB/s, file copy %.0f MB/s; keyless up peak RSS %.1f MiB (VmHWM; largest VmRSS sampled during the transfers %.1f MiB)",
		mbps(putTime), mbps(getTime), mbps(copyTime), float64(hwm)/1024, float64(peakSampled)/1024)
}

// streamBody is a deterministic, seekable body of size bytes: a 1 MiB random block
// repeated, each MiB stamped with its index so no two are alike.
type streamBody struct {
	off, size int64
}

var streamBlock = func() []byte {
	blk := make([]byte, 1<<20)
	rand.NewChaCha8([32]byte{1, 0}).Read(blk)
	return blk
}()

func newStreamBody(size int64) *streamBody { return &streamBody{size: size} }

func (s *streamBody) Read(p []byte) (int, error) {
	if s.off >= s.size {
		return 0, io.EOF
	}
	if rest := s.size - s.off; int64(len(p)) > rest {
		p = p[:rest]
	}
	n := 0
	for n < len(p) {
		at := s.off + int64(n)
		in := at % int64(len(streamBlock))
		c := copy(p[n:], streamBlock[in:])
		// Stamp the first 8 bytes of each MiB with its index.
		for j := range c {
			if o := in + int64(j); o < 8 {
				p[n+j] ^= byte(at / int64(len(streamBlock)) >> (8 * o))
			} else {
				break
			}
		}
		n += c
	}
	s.off += int64(n)
	return n, nil
}

func (s *streamBody) Seek(offset int64, whence int) (int64, error) {
	switch whence {
	case io.SeekStart:
	case io.SeekCurrent:
		offset += s.off
	case io.SeekEnd:
		offset += s.size
	}
	if offset < 0 {
		return 0, errors.New("streamBody: negative offset")
	}
	s.off = offset
	return offset, nil
}

// sampleRSS samples the VmRSS of process pid every 20 ms until the returned
// function is called, which returns the largest, in KiB.
func sampleRSS(b *testing.B, pid int) func() int64 {
	var peak int64
	stop, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(20 * time.Millisecond)
		defer t.Stop()
		for {
			if kb, err := procStatusKB(pid, "VmRSS"); err == nil && kb > peak {
				peak = kb
			}
			select {
			case <-stop:
				return
			case <-t.C:
			}
		}
	}()
	var once sync.Once
	stopFn := func() int64 {
		once.Do(func() { close(stop); <-done })
		return peak
	}
	b.Cleanup(func() { stopFn() })
	return stopFn
}

// procCPUTime returns the user and system CPU time process pid has used, from
// /proc/PID/stat (in clock ticks, taken as 100 a second, as on Linux everywhere).
func procCPUTime(pid int) (time.Duration, error) {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The fields after the command name, which is in parentheses: utime and stime
	// are the 14th and 15th of the whole line.
	_, rest, ok := strings.Cut(string(raw), ") ")
	fields := strings.Fields(rest)
	if !ok || len(fields) < 13 {
		return 0, fmt.Errorf("/proc/%d/stat: unexpected %q", pid, raw)
	}
	var ticks int64
	for _, f := range fields[11:13] {
		n, err := strconv.ParseInt(f, 10, 64)
		if err != nil {
			return 0, err
		}
		ticks += n
	}
	return time.Duration(ticks) * 10 * time.Millisecond, nil
}

// procStatusKB reads field (such as VmHWM) of /proc/PID/status, in KiB.
func procStatusKB(pid int, field string) (int64, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), field+":"); ok {
			return strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		}
	}
	if err := sc.Err(); err != nil {
		return 0, err
	}
	return 0, fmt.Errorf("/proc/%d/status has no %s", pid, field)
}

// largestFile returns the largest regular file under dir: the stored object.
func largestFile(b *testing.B, dir string) string {
	b.Helper()
	var best string
	var size int64 = -1
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		if info, err := d.Info(); err == nil && info.Size() > size {
			best, size = path, info.Size()
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	if size < streamSize {
		b.Fatalf("no file of the object's %d bytes under %s (largest %s, %d bytes)", streamSize, dir, best, size)
	}
	return best
}

// copyFile copies src to dst with io.Copy and fsyncs dst, as the server fsyncs the
// object a PUT writes.
func copyFile(dst, src string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return errors.Join(out.Sync(), out.Close())
}
