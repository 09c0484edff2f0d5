package e2e

import (
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/keyless-dev/keyless/internal/testenv"
)

// The tree of BenchmarkDeploy, issue 11's: deployBenchSmallFiles files of
// 1–20 KiB in nested directories, plus deployBenchLargeFiles of
// deployBenchLargeSize bytes.
const (
	deployBenchSmallFiles = 2000
	deployBenchSmallMin   = 1 << 10
	deployBenchSmallMax   = 20 << 10
	deployBenchLargeFiles = 5
	deployBenchLargeSize  = 50_000_000
)

// deployBenchTool is one sync tool of BenchmarkDeploy: how to find it and
// the command line that syncs src to s3://bucket on endpoint.
type deployBenchTool struct {
	name    string
	program string // looked up on PATH, unless envVar names it
	envVar  string
	install string // how to get it, for the skip message
	version []string
	args    func(endpoint, src, bucket string) []string
	env     func(b *testing.B, p *upProc) []string // extra environment
}

// deployBenchTools are the tools compared, each with its defaults
// (concurrency, part size) apart from what it needs to reach keyless up.
var deployBenchTools = []deployBenchTool{
	{
		name: "keyless",
		args: func(_, src, bucket string) []string { return []string{"deploy", "s3", src, "s3://" + bucket} },
	},
	{
		name: "s5cmd", program: "s5cmd", envVar: "KEYLESS_BENCH_S5CMD",
		install: "build v2.3.0 from a throwaway module: see BenchmarkDeploy's doc comment",
		version: []string{"version"},
		args: func(endpoint, src, bucket string) []string {
			return []string{"--endpoint-url", endpoint, "sync", src + "/", "s3://" + bucket + "/"}
		},
	},
	{
		name: "aws", program: "aws", envVar: "KEYLESS_BENCH_AWS",
		install: "install the AWS CLI (pip install awscli)",
		version: []string{"--version"},
		args: func(endpoint, src, bucket string) []string {
			return []string{"--endpoint-url", endpoint, "s3", "sync", src, "s3://" + bucket, "--only-show-errors", "--no-progress"}
		},
		env: func(b *testing.B, _ *upProc) []string {
			dir := b.TempDir() // no config or credentials file of the machine's
			return []string{"AWS_CONFIG_FILE=" + filepath.Join(dir, "config"), "AWS_SHARED_CREDENTIALS_FILE=" + filepath.Join(dir, "credentials")}
		},
	},
	{
		name: "rclone", program: "rclone", envVar: "KEYLESS_BENCH_RCLONE",
		install: "apt-get install -y rclone",
		version: []string{"version"},
		args: func(_, src, bucket string) []string {
			return []string{"sync", src, "keyless:" + bucket}
		},
		env: func(b *testing.B, p *upProc) []string {
			conf := filepath.Join(b.TempDir(), "rclone.conf")
			if err := os.WriteFile(conf, nil, 0o600); err != nil {
				b.Fatal(err)
			}
			// keyless up's buckets have ACLs disabled (BucketOwnerEnforced, as
			// new AWS buckets do): rclone's default x-amz-acl: private is
			// refused there, bucket-owner-full-control is what such buckets take.
			return []string{
				"RCLONE_CONFIG=" + conf,
				"RCLONE_CONFIG_KEYLESS_TYPE=s3",
				"RCLONE_CONFIG_KEYLESS_PROVIDER=Other",
				"RCLONE_CONFIG_KEYLESS_ENV_AUTH=true",
				"RCLONE_CONFIG_KEYLESS_ENDPOINT=" + p.env["KEYLESS_ENDPOINT"],
				"RCLONE_CONFIG_KEYLESS_FORCE_PATH_STYLE=true",
				"RCLONE_CONFIG_KEYLESS_REGION=us-east-1",
				"RCLONE_CONFIG_KEYLESS_ACL=bucket-owner-full-control",
			}
		},
	},
}

// deployBenchPhases are the syncs of each sub-benchmark, in order.
var deployBenchPhases = []string{"first", "nochange", "touched"}

// deployPhaseResult is one phase's figures: seconds and writes summed over
// b.N while running, then averaged.
type deployPhaseResult struct {
	seconds float64
	writes  float64        // PUTs: PutObject, UploadPart, CopyObject, UploadPartCopy
	actions map[string]int // those by action, summed over b.N
	rssKiB  int64          // the client's peak RSS, the largest over b.N
	// CPU seconds of the client (its process tree) and of keyless up.
	clientCPU, serverCPU float64
}

// BenchmarkDeploy is issue 11's deploy benchmark: in one run against one
// `keyless up`, each tool syncs the same tree — 2,000 files of 1–20 KiB in
// nested directories and 5 of 50 MB, deterministic random content — into a
// fresh bucket of its own: a first upload, a re-sync with nothing changed,
// and a re-sync after touching every file (mtime now, as a fresh CI checkout
// has). The tools are `keyless deploy s3`, s5cmd sync (v2.3.0), aws s3 sync
// (the CLI) and rclone sync, each with its own defaults. The sub-benchmark
// keyless-small syncs the 2,000 small files alone, the tree of the issue's
// figures on moto's S3 (s5cmd 5.8 s, aws 7.9 s, rclone 10.3 s).
//
// Each sub-benchmark reports, per phase, the seconds of the whole client
// process (PHASE-s), the object writes keyless up audited for the bucket
// (PHASE-PUTs: PutObject, UploadPart, CopyObject and UploadPartCopy, all
// HTTP PUTs, the deploy manifest's included) and the client's peak RSS
// (PHASE-RSS-MB: wait4's Maxrss, the largest process of the client's tree).
// The last sub-benchmark, goals, reports s5cmd-x and aws-x (their first
// upload's seconds over keyless's) and logs how keyless's figures compare
// with the goals: a first upload at least as fast as s5cmd's and
// ≥ 5× the aws CLI's, re-syncs in under a second with zero PUTs, peak RSS
// under 150 MB. At the end a table of every tool's figures, with the CPU
// seconds of the client and of keyless up, is printed on standard output.
//
// The tools are found on PATH, or at the paths in KEYLESS_BENCH_S5CMD,
// KEYLESS_BENCH_AWS and KEYLESS_BENCH_RCLONE; a missing one skips its
// sub-benchmark. s5cmd v2.3.0 (the module proxy refuses `go install` of it)
// and rclone:
//
//	mkdir /tmp/s5cmd-build && cd /tmp/s5cmd-build && go mod init x
//	go get github.com/peak/s5cmd/v2@v2.3.0
//	go build -o "$(go env GOPATH)/bin/s5cmd" github.com/peak/s5cmd/v2
//	apt-get install -y rclone
//
// Run it (under a minute on two cores; 1.5 GB under the temporary
// directory) with
//
//	go test ./e2e -run '^$' -bench Deploy -benchtime 1x
func BenchmarkDeploy(b *testing.B) {
	root := b.TempDir()
	small := filepath.Join(root, "small")
	full := filepath.Join(root, "full")
	smallBytes := writeDeployBenchTree(b, small, full)
	fullBytes := smallBytes + deployBenchLargeFiles*deployBenchLargeSize
	p := startUp(b, b.TempDir())
	d := &deployBench{
		p:      p,
		client: s3.NewFromConfig(rootConfig(p), func(o *s3.Options) { o.UsePathStyle = true }),
		built:  time.Now().Add(-time.Hour).Truncate(time.Second),
	}

	results := map[string]map[string]*deployPhaseResult{}
	var order []string
	run := func(name string, tool deployBenchTool, src string, files int, size int64) {
		b.Run(name, func(b *testing.B) {
			results[name] = d.tool(b, tool, name, src, files, size)
			order = append(order, name)
		})
	}
	for _, tool := range deployBenchTools {
		run(tool.name, tool, full, deployBenchSmallFiles+deployBenchLargeFiles, fullBytes)
	}
	run("keyless-small", deployBenchTools[0], small, deployBenchSmallFiles, smallBytes)
	logged := false
	b.Run("goals", func(b *testing.B) {
		if len(order) == 0 {
			b.Skip("no tool was benchmarked")
		}
		k := results["keyless"]
		for _, other := range []string{"s5cmd", "aws"} {
			if r := results[other]; r != nil && k != nil {
				b.ReportMetric(r["first"].seconds/k["first"].seconds, other+"-x")
			}
		}
		if !logged { // once, however many times the benchmark is run
			logged = true
			logDeployBenchGoals(b, results)
		}
	})
	if len(order) > 0 {
		printDeployBenchTable(order, results)
	}
}

// deployBench is one run of BenchmarkDeploy.
type deployBench struct {
	p      *upProc    // the keyless up every tool syncs to
	client *s3.Client // root's, for the buckets
	built  time.Time  // the tree's modification time before each tool syncs it
}

// tool runs the three phases of tool (sub-benchmark name) on the tree src
// of files files and size bytes b.N times, each time into a fresh bucket,
// and reports their figures. A missing tool skips b.
func (d *deployBench) tool(b *testing.B, tool deployBenchTool, name, src string, files int, size int64) map[string]*deployPhaseResult {
	b.StopTimer()
	bin := keylessBin
	if tool.program != "" {
		bin = deployBenchLookPath(b, tool)
	}
	if tool.version != nil {
		out, _ := exec.Command(bin, tool.version...).CombinedOutput()
		first, _, _ := strings.Cut(strings.TrimSpace(string(out)), "\n")
		b.Logf("%s: %s", bin, first)
	}
	env := withEnv(nil,
		"AWS_ACCESS_KEY_ID="+d.p.env["KEYLESS_ROOT_ACCESS_KEY_ID"],
		"AWS_SECRET_ACCESS_KEY="+d.p.env["KEYLESS_ROOT_SECRET_ACCESS_KEY"],
		"AWS_ENDPOINT_URL_S3="+d.p.env["KEYLESS_ENDPOINT"],
		"AWS_DEFAULT_REGION=us-east-1", "AWS_REGION=us-east-1")
	if tool.env != nil {
		env = append(env, tool.env(b, d.p)...)
	}
	res := map[string]*deployPhaseResult{}
	for _, ph := range deployBenchPhases {
		res[ph] = &deployPhaseResult{actions: map[string]int{}}
	}
	for i := range b.N {
		bucket := fmt.Sprintf("bench-deploy-%s-%d", name, i)
		if _, err := d.client.CreateBucket(context.Background(), &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
			b.Fatalf("CreateBucket %s: %v", bucket, err)
		}
		// Every file as old as the tree, whatever was touched before: the
		// mtime-based tools see the objects of the first upload as newer.
		setDeployBenchMtimes(b, src, d.built)
		for _, ph := range deployBenchPhases {
			if ph == "touched" {
				setDeployBenchMtimes(b, src, time.Now())
			}
			r := d.phase(b, bin, tool.args(d.p.env["KEYLESS_ENDPOINT"], src, bucket), env, bucket)
			acc := res[ph]
			acc.seconds += r.seconds
			acc.writes += r.writes
			for a, n := range r.actions {
				acc.actions[a] += n
			}
			acc.rssKiB = max(acc.rssKiB, r.rssKiB)
			acc.clientCPU += r.clientCPU
			acc.serverCPU += r.serverCPU
			if ph == "first" {
				checkDeployBenchBucket(b, d.client, bucket, files, size)
			}
		}
	}
	for _, ph := range deployBenchPhases {
		r := res[ph]
		r.seconds /= float64(b.N)
		r.writes /= float64(b.N)
		r.clientCPU /= float64(b.N)
		r.serverCPU /= float64(b.N)
		b.ReportMetric(r.seconds, ph+"-s")
		b.ReportMetric(r.writes, ph+"-PUTs")
		b.ReportMetric(float64(r.rssKiB)/1024, ph+"-RSS-MB")
		b.Logf("%-8s %6.2f s %5.0f PUTs %v, peak RSS %.1f MB, CPU client %.2f s, keyless up %.2f s",
			ph, r.seconds, r.writes, r.actions, float64(r.rssKiB)/1024, r.clientCPU, r.serverCPU)
	}
	return res
}

// deployBenchLookPath finds tool's program: the path in its environment
// variable, else on PATH. A missing program skips b (internal/testenv).
func deployBenchLookPath(b *testing.B, tool deployBenchTool) string {
	b.Helper()
	if v := os.Getenv(tool.envVar); v != "" {
		path, err := exec.LookPath(v)
		testenv.Require(b, tool.program+" ($"+tool.envVar+")", err == nil, fmt.Sprint(err))
		return path
	}
	path, err := exec.LookPath(tool.program)
	testenv.Require(b, tool.program, err == nil, fmt.Sprintf("%v; set %s to its path, or %s", err, tool.envVar, tool.install))
	return path
}

// phase runs one sync (bin args with env) to completion and returns its
// wall time, peak RSS and CPU time, keyless up's CPU time meanwhile, and the
// writes keyless up audited for bucket.
func (d *deployBench) phase(b *testing.B, bin string, args, env []string, bucket string) deployPhaseResult {
	b.Helper()
	p := d.p
	mark := len(p.settledStderr())
	cmd := exec.Command(bin, args...)
	cmd.Env = env
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cpu0, err := procCPUTime(p.cmd.Process.Pid)
	if err != nil {
		b.Fatal(err)
	}
	b.StartTimer()
	start := time.Now()
	err = cmd.Run()
	elapsed := time.Since(start)
	b.StopTimer()
	if err != nil {
		b.Fatalf("%s %s: %v\n%s", filepath.Base(bin), strings.Join(args, " "), err, lastLines(out.String(), 20))
	}
	var rss int64
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		rss = ru.Maxrss // KiB on Linux
	}
	log := p.settledStderr()[mark:]
	cpu1, err := procCPUTime(p.cmd.Process.Pid)
	if err != nil {
		b.Fatal(err)
	}
	writes, actions := deployBenchWrites(log, bucket)
	return deployPhaseResult{
		seconds: elapsed.Seconds(), writes: float64(writes), actions: actions, rssKiB: rss,
		clientCPU: (cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()).Seconds(),
		serverCPU: (cpu1 - cpu0).Seconds(),
	}
}

// deployBenchWrites counts the object writes (HTTP PUTs) keyless up's audit
// log shows allowed on bucket, in all and by action.
func deployBenchWrites(log, bucket string) (int, map[string]int) {
	actions := map[string]int{}
	total := 0
	for _, line := range strings.Split(log, "\n") {
		if !strings.Contains(line, "msg=audit") {
			continue
		}
		var service, action, decision, role string
		for _, f := range strings.Fields(line) {
			k, v, _ := strings.Cut(f, "=")
			switch k {
			case "service":
				service = v
			case "action":
				action = v
			case "decision":
				decision = v
			case "role":
				role = v
			}
		}
		if service != "s3" || decision != "Allowed" || !strings.HasPrefix(role, "arn:aws:s3:::"+bucket+"/") {
			continue
		}
		switch action {
		case "PutObject", "UploadPart", "CopyObject", "UploadPartCopy":
			actions[action]++
			total++
		}
	}
	return total, actions
}

// checkDeployBenchBucket fails b unless bucket holds the tree's files and
// bytes (the deploy manifest aside): the tool uploaded everything.
func checkDeployBenchBucket(b *testing.B, client *s3.Client, bucket string, files int, size int64) {
	b.Helper()
	var n int
	var total int64
	pg := s3.NewListObjectsV2Paginator(client, &s3.ListObjectsV2Input{Bucket: aws.String(bucket)})
	for pg.HasMorePages() {
		page, err := pg.NextPage(context.Background())
		if err != nil {
			b.Fatalf("ListObjectsV2 %s: %v", bucket, err)
		}
		for _, o := range page.Contents {
			if strings.HasSuffix(aws.ToString(o.Key), ".keyless-deploy.json") {
				continue
			}
			n++
			total += aws.ToInt64(o.Size)
		}
	}
	if n != files || total != size {
		b.Fatalf("after the first upload %s holds %d objects of %d bytes, want %d files of %d bytes", bucket, n, total, files, size)
	}
}

// writeDeployBenchTree writes the small files under small, and under full
// the same files (hard links) and the large ones, all with deterministic
// random content, and returns the small files' bytes.
func writeDeployBenchTree(b *testing.B, small, full string) int64 {
	b.Helper()
	rng := rand.New(rand.NewPCG(11, 2000))
	data := rand.NewChaCha8([32]byte{'d', 'e', 'p', 'l', 'o', 'y'})
	exts := []string{".html", ".css", ".js", ".json", ".svg", ".png", ".woff2", ".txt"}
	var total int64
	for i := range deployBenchSmallFiles {
		rel := filepath.Join(fmt.Sprintf("section-%02d", i%20), fmt.Sprintf("part-%d", i/20%10))
		if i%3 == 0 {
			rel = filepath.Join(rel, "deep", fmt.Sprintf("d%d", i%7))
		}
		rel = filepath.Join(rel, fmt.Sprintf("file-%04d%s", i, exts[i%len(exts)]))
		body := make([]byte, deployBenchSmallMin+rng.IntN(deployBenchSmallMax-deployBenchSmallMin+1))
		data.Read(body)
		total += int64(len(body))
		dst := filepath.Join(small, rel)
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			b.Fatal(err)
		}
		if err := os.WriteFile(dst, body, 0o644); err != nil {
			b.Fatal(err)
		}
		link := filepath.Join(full, rel)
		if err := os.MkdirAll(filepath.Dir(link), 0o755); err != nil {
			b.Fatal(err)
		}
		if err := os.Link(dst, link); err != nil {
			b.Fatal(err)
		}
	}
	buf := make([]byte, 1<<20)
	for i := range deployBenchLargeFiles {
		path := filepath.Join(full, "media", fmt.Sprintf("video-%d.mp4", i))
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			b.Fatal(err)
		}
		f, err := os.Create(path)
		if err != nil {
			b.Fatal(err)
		}
		for left := deployBenchLargeSize; left > 0; left -= len(buf) {
			chunk := buf[:min(left, len(buf))]
			data.Read(chunk)
			if _, err := f.Write(chunk); err != nil {
				b.Fatal(err)
			}
		}
		if err := f.Close(); err != nil {
			b.Fatal(err)
		}
	}
	return total
}

// setDeployBenchMtimes sets the modification (and access) time of every
// file under dir to t.
func setDeployBenchMtimes(b *testing.B, dir string, t time.Time) {
	b.Helper()
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		return os.Chtimes(path, t, t)
	})
	if err != nil {
		b.Fatal(err)
	}
}

// lastLines returns the last n lines of s.
func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

// printDeployBenchTable prints every tool's figures, a row per tool and
// phase, on standard output (a benchmark's log shows ten lines at most).
func printDeployBenchTable(order []string, results map[string]map[string]*deployPhaseResult) {
	var t strings.Builder
	fmt.Fprintf(&t, "\nBenchmarkDeploy figures (keyless up on loopback; CPU seconds of the client and of keyless up)\n")
	fmt.Fprintf(&t, "%-14s %-9s %8s %6s %7s %10s %10s\n", "tool", "phase", "seconds", "PUTs", "RSS MB", "client CPU", "server CPU")
	for _, name := range order {
		for _, ph := range deployBenchPhases {
			r := results[name][ph]
			fmt.Fprintf(&t, "%-14s %-9s %8.2f %6.0f %7.1f %10.2f %10.2f\n", name, ph, r.seconds, r.writes, float64(r.rssKiB)/1024, r.clientCPU, r.serverCPU)
		}
	}
	fmt.Print(t.String())
}

// logDeployBenchGoals logs how keyless's figures compare with the goals of
// issue 11.
func logDeployBenchGoals(b *testing.B, results map[string]map[string]*deployPhaseResult) {
	k := results["keyless"]
	if k == nil {
		b.Log("keyless deploy s3 was not benchmarked: no goal to compare with")
		return
	}
	var t strings.Builder
	verdict := func(ok bool) string {
		if ok {
			return "met"
		}
		return "NOT met"
	}
	t.WriteString("keyless against the goals of issue 11:")
	if s := results["s5cmd"]; s != nil {
		fmt.Fprintf(&t, "\n  first upload %.2f s, s5cmd %.2f s: %.2f× s5cmd's speed (goal ≥ 1): %s",
			k["first"].seconds, s["first"].seconds, s["first"].seconds/k["first"].seconds, verdict(k["first"].seconds <= s["first"].seconds))
	}
	if a := results["aws"]; a != nil {
		fmt.Fprintf(&t, "\n  first upload %.2f s, aws %.2f s: %.2f× the aws CLI's speed (goal ≥ 5): %s",
			k["first"].seconds, a["first"].seconds, a["first"].seconds/k["first"].seconds, verdict(a["first"].seconds >= 5*k["first"].seconds))
	}
	for _, ph := range []string{"nochange", "touched"} {
		r := k[ph]
		fmt.Fprintf(&t, "\n  %s re-sync %.2f s with %.0f PUTs (goal < 1 s, 0 PUTs): %s", ph, r.seconds, r.writes, verdict(r.seconds < 1 && r.writes == 0))
	}
	var peak int64
	for _, ph := range deployBenchPhases {
		peak = max(peak, k[ph].rssKiB)
	}
	fmt.Fprintf(&t, "\n  peak RSS %.1f MB (goal < 150 MB): %s", float64(peak)/1024, verdict(peak < 150*1024))
	if ks := results["keyless-small"]; ks != nil {
		fmt.Fprintf(&t, "\n  2,000 small files alone: first upload %.2f s (on moto's S3 the issue measured s5cmd 5.8 s, aws 7.9 s, rclone 10.3 s)", ks["first"].seconds)
	}
	b.Log(t.String())
}
