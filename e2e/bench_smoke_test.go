package e2e

import (
	"encoding/json"
	"testing"
)

// TestBenchSmoke runs each `keyless bench` mode briefly against keyless up, found
// through its data directory, and checks that nothing failed and the JSON report
// holds the figures, the server's RSS among them (its process found through
// DIR/lock). The long runs (throughput, soak) are in README's "Load and soak".
func TestBenchSmoke(t *testing.T) {
	data := t.TempDir()
	p := startUp(t, data)
	for _, mode := range []string{"exchange", "mint", "s3"} {
		t.Run(mode, func(t *testing.T) {
			out, stderr, code := run(t, cleanEnv(), "bench", mode, "--data", data,
				"--duration", "2s", "--count", "200", "--concurrency", "4", "--warmup", "20", "--output", "json")
			if code != 0 {
				t.Fatalf("keyless bench %s: exit %d\nstderr: %s\nstdout: %s\nserver: %s", mode, code, stderr, out, p.stderr)
			}
			var rep struct {
				Mode         string            `json:"mode"`
				Endpoint     string            `json:"endpoint"`
				Requests     uint64            `json:"requests"`
				Errors       uint64            `json:"errors"`
				ErrorsByCode map[string]uint64 `json:"errors_by_code"`
				Throughput   float64           `json:"throughput_per_s"`
				Latency      struct {
					P50, P99, P999, Max float64
				} `json:"latency_ms"`
				ServerStart *serverFigures `json:"server_start"`
				ServerEnd   *serverFigures `json:"server_end"`
			}
			if err := json.Unmarshal([]byte(out), &rep); err != nil {
				t.Fatalf("the report is not JSON: %v\n%s", err, out)
			}
			if rep.Mode != mode || rep.Endpoint != p.env["KEYLESS_ENDPOINT"] {
				t.Errorf("report of %q against %q, want %q against %q", rep.Mode, rep.Endpoint, mode, p.env["KEYLESS_ENDPOINT"])
			}
			if rep.Requests == 0 || rep.Requests > 200 || rep.Errors != 0 || len(rep.ErrorsByCode) != 0 {
				t.Errorf("%d requests, %d errors %v; want 1 to 200 and none failed", rep.Requests, rep.Errors, rep.ErrorsByCode)
			}
			if rep.Throughput <= 0 || rep.Latency.P50 <= 0 || rep.Latency.P99 < rep.Latency.P50 || rep.Latency.Max < rep.Latency.P999 {
				t.Errorf("figures out of order: throughput %g, latency %+v", rep.Throughput, rep.Latency)
			}
			if rep.ServerStart == nil || rep.ServerEnd == nil || rep.ServerStart.RSS <= 0 || rep.ServerEnd.Data <= 0 {
				t.Errorf("server figures %+v %+v, want its RSS and data directory size", rep.ServerStart, rep.ServerEnd)
			}
		})
	}
}

// serverFigures are the server's figures in a `keyless bench` report.
type serverFigures struct {
	RSS  int64 `json:"rss_bytes"`
	Data int64 `json:"data_bytes"`
}
