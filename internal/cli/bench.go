package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/keyless-dev/keyless/bench"
)

// benchFlags are the flags every `keyless bench` scenario shares.
type benchFlags struct {
	data, endpoint, runnerToken, caFile string
	rate                                string
	concurrency                         int
	duration, timeout, interval         time.Duration
	count, warmup                       int64
	output                              string
	serverPID                           int
	metricsURL, pprofURL                string
}

func newBenchCmd(s Streams) *cobra.Command {
	var f benchFlags
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Drive load at a running keyless up on this machine and report latency and errors",
		Long: `Drive a running keyless up on this machine (loopback addresses only) with token
exchanges, token mints or small S3 objects, at a fixed rate or a fixed concurrency,
for a bounded time and/or number of requests, and report the throughput, latency
percentiles (p50, p90, p99, p99.9) and errors by code.

--rate N (or N/s) runs an open loop: request i is due at start + i/N whether or not
earlier ones were answered, and its latency counts from that intended time, so a
server that stalls shows in the latencies (no coordinated omission); --concurrency
then caps the requests in flight (default 64). Without --rate, --concurrency N
workers (default 1) each send the next request when the previous one is answered.
A warm-up (--warmup requests, not counted) comes first.

The server is found through its data directory: --data DIR reads DIR/env, which
keyless up writes (endpoint, root credentials, runner token); without --data, a
sourced env file (KEYLESS_ENDPOINT) is used, else ./.keyless. --endpoint overrides.

For a soak, --interval (default 10s when --duration is a minute or more) prints a
line per interval with the throughput, p50 and p99, and the server's RSS (read
from /proc, the process found through DIR/lock or given by --server-pid),
goroutines (from /metrics or /debug/pprof, "?" when neither serves them) and
data directory size. The exit status is 1 when any request failed.`,
		Example: `  keyless bench exchange --data .keyless --concurrency 8 --duration 30s
  keyless bench exchange --data .keyless --rate 2000 --duration 10m --output json
  keyless bench mint --data .keyless --count 10000 --concurrency 4
  keyless bench s3 --data .keyless --size 4096 --mode mixed --duration 20s`,
	}
	pf := cmd.PersistentFlags()
	pf.StringVar(&f.data, "data", "", "data directory of the keyless up to drive (default: a sourced env file, else ./.keyless)")
	pf.StringVar(&f.endpoint, "endpoint", "", "server URL, a loopback address (default from DIR/env)")
	pf.StringVar(&f.runnerToken, "runner-token", "", "runner credential for minting tokens (default from DIR/env)")
	pf.StringVar(&f.caFile, "ca-bundle", "", "PEM bundle to trust for an https endpoint (default from DIR/env)")
	pf.StringVar(&f.rate, "rate", "", "fixed rate, requests per second (N or N/s): an open loop")
	pf.IntVar(&f.concurrency, "concurrency", 0, "workers of a closed loop (default 1), or the cap on requests in flight at a --rate (default 64)")
	pf.DurationVar(&f.duration, "duration", 0, "how long to run (default 10s unless --count is given)")
	pf.Int64Var(&f.count, "count", 0, "how many requests to send (the run ends at whichever of --duration and --count comes first)")
	pf.Int64Var(&f.warmup, "warmup", 100, "requests sent first and not counted (connections, caches)")
	pf.DurationVar(&f.timeout, "timeout", 10*time.Second, "time limit of each request")
	pf.DurationVar(&f.interval, "interval", 0, "print a line with throughput, p99 and server figures this often (default 10s for runs of a minute or more)")
	pf.StringVar(&f.output, "output", "text", "output: text or json")
	pf.IntVar(&f.serverPID, "server-pid", 0, "process ID of the server, for its RSS (default the holder of DIR/lock)")
	pf.StringVar(&f.metricsURL, "metrics-url", "", "Prometheus endpoint to read go_goroutines from (default ENDPOINT/metrics)")
	pf.StringVar(&f.pprofURL, "pprof-url", "", "/debug/pprof/ URL to count goroutines from when /metrics has none (default ENDPOINT/debug/pprof)")

	var eo bench.ExchangeOptions
	exchange := &cobra.Command{
		Use:   "exchange",
		Short: "AssumeRoleWithWebIdentity with a step token minted once (or every N exchanges)",
		Long: `Exchange a step token for role credentials (AssumeRoleWithWebIdentity, unsigned, over
the Query protocol) as fast as asked. Without --role-arn the benchmark registers the
default workspace's issuer as an OIDC provider (if it is not) and creates or updates
the role ` + bench.BenchRoleName + `, trusting tokens of --repository.`,
		Example: `  keyless bench exchange --data .keyless --concurrency 8 --duration 30s
  keyless bench exchange --rate 2500 --duration 10m --token-every 1000 --output json
  keyless bench exchange --role-arn arn:aws:iam::000000000000:role/deploy --count 5000`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runBench(cmd.Context(), s, "exchange", f, func(ctx context.Context, t bench.Target, conns int) (bench.Op, func() error, error) {
				e, err := bench.NewExchange(ctx, t, eo, conns)
				if err != nil {
					return nil, nil, err
				}
				return e.Op, e.Close, nil
			})
		},
	}
	exchange.Flags().StringVar(&eo.RoleARN, "role-arn", "", "role to assume (default: create or update "+bench.BenchRoleName+")")
	exchange.Flags().StringVar(&eo.Repository, "repository", bench.BenchRepository, "repository slug of the step token")
	exchange.Flags().Int64Var(&eo.TokenEvery, "token-every", 0, "mint a fresh token after every N exchanges, in the background (0: one token for the run)")

	var mintRepo string
	mint := &cobra.Command{
		Use:     "mint",
		Short:   "Mint step tokens from the identity provider",
		Example: "  keyless bench mint --data .keyless --concurrency 4 --count 10000",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runBench(cmd.Context(), s, "mint", f, func(_ context.Context, t bench.Target, conns int) (bench.Op, func() error, error) {
				m, err := bench.NewMint(t, mintRepo, conns)
				if err != nil {
					return nil, nil, err
				}
				return m.Op, nil, nil
			})
		},
	}
	mint.Flags().StringVar(&mintRepo, "repository", bench.BenchRepository, "repository slug of the minted tokens")

	var so bench.S3Options
	s3 := &cobra.Command{
		Use:   "s3",
		Short: "PUT and GET small objects, signed with the root credentials",
		Long: `PUT and GET small objects (path style, SigV4-signed with the local account's root
credentials) in --bucket, created if missing. --keys objects are written once before
the run and then overwritten and read in turn, so the bucket holds at most that many.`,
		Example: `  keyless bench s3 --data .keyless --concurrency 4 --duration 20s --size 4096
  keyless bench s3 --mode get --keys 1000 --rate 1000 --duration 1m`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runBench(cmd.Context(), s, "s3", f, func(ctx context.Context, t bench.Target, conns int) (bench.Op, func() error, error) {
				b, err := bench.NewS3(ctx, t, so, conns)
				if err != nil {
					return nil, nil, err
				}
				return b.Op, nil, nil
			})
		},
	}
	s3.Flags().StringVar(&so.Bucket, "bucket", bench.BenchBucket, "bucket to use (created if missing)")
	s3.Flags().IntVar(&so.Size, "size", 1024, "object size in bytes")
	s3.Flags().IntVar(&so.Keys, "keys", 100, "number of distinct objects")
	s3.Flags().StringVar(&so.Mode, "mode", "mixed", "mixed (PUT and GET alternate), put or get")

	cmd.AddCommand(exchange, mint, s3)
	return cmd
}

// benchSetup prepares a scenario against t with up to conns connections and
// returns its operation and what to call when the run is over (may be nil).
type benchSetup func(ctx context.Context, t bench.Target, conns int) (bench.Op, func() error, error)

// runBench runs one scenario as f says and prints its report.
func runBench(ctx context.Context, s Streams, mode string, f benchFlags, setup benchSetup) error {
	if f.output != "text" && f.output != "json" {
		return fmt.Errorf("invalid --output %q: use text or json", f.output)
	}
	rate, err := parseRate(f.rate)
	if err != nil {
		return err
	}
	cfg := bench.Config{Rate: rate, Concurrency: f.concurrency, Duration: f.duration, Count: f.count, Timeout: f.timeout}
	if cfg.Duration == 0 && cfg.Count == 0 {
		cfg.Duration = 10 * time.Second
	}
	if cfg.Concurrency == 0 {
		cfg.Concurrency = 1
		if rate > 0 {
			cfg.Concurrency = 64
		}
	}
	if err := cfg.Validate(); err != nil {
		return err
	}
	if f.warmup < 0 {
		return fmt.Errorf("invalid --warmup %d: give a number of requests, 0 for none", f.warmup)
	}
	t, dataDir, err := benchTarget(f)
	if err != nil {
		return err
	}
	if err := t.Validate(); err != nil {
		return err
	}
	op, done, err := setup(ctx, t, cfg.Concurrency)
	if err != nil {
		return err
	}
	if f.warmup > 0 {
		w, err := bench.Run(ctx, bench.Config{Concurrency: min(cfg.Concurrency, int(f.warmup)), Count: f.warmup, Timeout: f.timeout}, op)
		if err != nil {
			return fmt.Errorf("warm-up: %w", err)
		}
		if n := w.ErrorCount(); n > 0 {
			for code, msg := range w.ErrorSamples {
				return fmt.Errorf("warm-up: %d of %d requests failed, such as %s: %s", n, w.Requests, code, msg)
			}
		}
	}

	probe := benchProbe(f, t, dataDir)
	interval := f.interval
	if interval == 0 && cfg.Duration >= time.Minute {
		interval = 10 * time.Second
	}
	lines := s.Out
	if f.output == "json" {
		lines = s.Err
	}
	var rep bench.Report
	var start bench.ServerStats
	if probe != nil {
		start = probe.Sample(ctx)
	}
	if interval > 0 {
		cfg.Interval = interval
		fmt.Fprintf(lines, "%8s  %10s  %13s  %13s  %s\n", "elapsed", "throughput", "p50", "p99", "errors and server")
		cfg.OnInterval = func(iv bench.Interval) {
			var st bench.ServerStats
			if probe != nil {
				st = probe.Sample(ctx)
			} else {
				st = bench.ServerStats{RSSBytes: -1, Goroutines: -1, DataBytes: -1}
			}
			ir := bench.NewIntervalReport(iv, st)
			rep.Intervals = append(rep.Intervals, ir)
			fmt.Fprintln(lines, ir.Line())
		}
	}
	res, err := bench.Run(ctx, cfg, op)
	if err != nil {
		return err
	}
	intervals := rep.Intervals
	rep = bench.NewReport(mode, t.Endpoint, cfg, res)
	rep.Intervals = intervals
	if probe != nil {
		end := probe.Sample(context.WithoutCancel(ctx))
		rep.ServerStart, rep.ServerEnd = &start, &end
	}
	var closeErr error
	if done != nil {
		closeErr = done()
	}
	if err := writeBenchReport(s.Out, f.output, rep); err != nil {
		return err
	}
	if closeErr != nil {
		return closeErr
	}
	if ctx.Err() != nil {
		return &ExitError{Code: 130, Err: errors.New("interrupted: the report covers the requests sent until then")}
	}
	if rep.Errors > 0 {
		return &ExitError{Code: 1, Err: fmt.Errorf("%d of %d requests failed", rep.Errors, rep.Requests)}
	}
	return nil
}

func writeBenchReport(w io.Writer, output string, rep bench.Report) error {
	if output == "json" {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	}
	return rep.WriteText(w)
}

// parseRate reads --rate: N or N/s, a positive number of requests per second.
func parseRate(s string) (float64, error) {
	if s == "" {
		return 0, nil
	}
	v, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(s), "/s"), 64)
	if err != nil || v <= 0 {
		return 0, fmt.Errorf("invalid --rate %q: give requests per second, such as 500 or 500/s", s)
	}
	return v, nil
}

// benchTarget finds the server to drive, and its data directory ("" when
// unknown): DIR/env of --data; else the environment when an env file is
// sourced; else ./.keyless/env. Flags override what it says.
func benchTarget(f benchFlags) (bench.Target, string, error) {
	getenv := os.Getenv
	dir := f.data
	if dir == "" && os.Getenv("KEYLESS_ENDPOINT") == "" && f.endpoint == "" {
		dir = defaultDataDir()
	}
	if dir != "" {
		path := filepath.Join(dir, "env")
		b, err := os.ReadFile(path)
		if err != nil {
			return bench.Target{}, "", fmt.Errorf("read keyless up's env file: %w (is keyless up running with --data %s?)", err, dir)
		}
		vars, err := parseEnvFile(b)
		if err != nil {
			return bench.Target{}, "", fmt.Errorf("%s: %w", path, err)
		}
		getenv = func(k string) string { return vars[k] }
	} else {
		dir = os.Getenv("KEYLESS_DATA")
	}
	t := bench.TargetFromEnv(getenv)
	caFile := getenv("KEYLESS_CA_BUNDLE")
	if f.endpoint != "" {
		t.Endpoint = f.endpoint
	}
	if f.runnerToken != "" {
		t.RunnerToken = f.runnerToken
	}
	if f.caFile != "" {
		caFile = f.caFile
	}
	if strings.HasPrefix(t.Endpoint, "https://") {
		pool, err := certPool(caFile)
		if err != nil {
			return bench.Target{}, "", err
		}
		t.RootCAs = pool
	}
	return t, dir, nil
}

// benchProbe watches the server's process and data directory, or is nil when
// neither is known.
func benchProbe(f benchFlags, t bench.Target, dataDir string) *bench.Probe {
	p := &bench.Probe{PID: f.serverPID, DataDir: dataDir, MetricsURL: f.metricsURL, PprofURL: f.pprofURL}
	if p.PID == 0 && dataDir != "" {
		p.PID, _ = bench.ServerPID(dataDir)
	}
	base := strings.TrimRight(t.Endpoint, "/")
	if p.MetricsURL == "" {
		p.MetricsURL = base + "/metrics"
	}
	if p.PprofURL == "" {
		p.PprofURL = base + "/debug/pprof/"
	}
	if p.PID == 0 && p.DataDir == "" {
		return nil
	}
	return p
}
