package bench

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"
)

// Report is a run's summary as `keyless bench --output json` prints it.
// Latencies are in milliseconds.
type Report struct {
	Mode        string  `json:"mode"`
	Endpoint    string  `json:"endpoint"`
	Loop        string  `json:"loop"`           // open (fixed rate) or closed (fixed concurrency)
	Rate        float64 `json:"rate,omitempty"` // requested, per second
	Concurrency int     `json:"concurrency"`
	ElapsedSec  float64 `json:"elapsed_s"`
	Requests    uint64  `json:"requests"`
	// Throughput is answered requests per second.
	Throughput   float64           `json:"throughput_per_s"`
	Errors       uint64            `json:"errors"`
	ErrorsByCode map[string]uint64 `json:"errors_by_code"`
	// ErrorSamples holds the first message of each error code.
	ErrorSamples map[string]string `json:"error_samples,omitempty"`
	Latency      LatencyReport     `json:"latency_ms"`
	// Server holds the server's figures at the start and end, and Intervals
	// the periodic lines, of a run with --interval.
	ServerStart *ServerStats     `json:"server_start,omitempty"`
	ServerEnd   *ServerStats     `json:"server_end,omitempty"`
	Intervals   []IntervalReport `json:"intervals,omitempty"`
}

// LatencyReport are latency figures in milliseconds.
type LatencyReport struct {
	Min  float64 `json:"min"`
	Mean float64 `json:"mean"`
	P50  float64 `json:"p50"`
	P90  float64 `json:"p90"`
	P99  float64 `json:"p99"`
	P999 float64 `json:"p999"`
	Max  float64 `json:"max"`
}

// IntervalReport is one periodic line of a long run.
type IntervalReport struct {
	ElapsedSec float64 `json:"elapsed_s"`
	Requests   uint64  `json:"requests"`
	Errors     uint64  `json:"errors"`
	Throughput float64 `json:"throughput_per_s"`
	P50        float64 `json:"p50_ms"`
	P99        float64 `json:"p99_ms"`
	ServerStats
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// Latencies summarizes h.
func Latencies(h *Histogram) LatencyReport {
	return LatencyReport{
		Min: ms(h.Min()), Mean: ms(h.Mean()), P50: ms(h.Quantile(0.5)), P90: ms(h.Quantile(0.9)),
		P99: ms(h.Quantile(0.99)), P999: ms(h.Quantile(0.999)), Max: ms(h.Max()),
	}
}

// NewReport summarizes a run of mode against endpoint under c.
func NewReport(mode, endpoint string, c Config, r *Result) Report {
	rep := Report{
		Mode: mode, Endpoint: endpoint, Loop: "closed", Concurrency: c.Concurrency,
		ElapsedSec: r.Elapsed.Seconds(), Requests: r.Requests, Errors: r.ErrorCount(),
		ErrorsByCode: r.Errors, ErrorSamples: r.ErrorSamples, Latency: Latencies(r.Latency),
	}
	if c.Rate > 0 {
		rep.Loop, rep.Rate = "open", c.Rate
	}
	if r.Elapsed > 0 {
		rep.Throughput = float64(r.Requests) / r.Elapsed.Seconds()
	}
	if rep.ErrorsByCode == nil {
		rep.ErrorsByCode = map[string]uint64{}
	}
	return rep
}

// NewIntervalReport is the periodic line of iv with the server's figures s.
func NewIntervalReport(iv Interval, s ServerStats) IntervalReport {
	return IntervalReport{
		ElapsedSec: iv.Elapsed.Seconds(), Requests: iv.Requests, Errors: iv.Errors, Throughput: iv.Throughput,
		P50: ms(iv.Latency.Quantile(0.5)), P99: ms(iv.Latency.Quantile(0.99)), ServerStats: s,
	}
}

// WriteText writes the report for a person.
func (r Report) WriteText(w io.Writer) error {
	var b strings.Builder
	loop := fmt.Sprintf("closed loop, concurrency %d", r.Concurrency)
	if r.Loop == "open" {
		loop = fmt.Sprintf("open loop at %g/s (latency from the intended send time), up to %d in flight", r.Rate, r.Concurrency)
	}
	fmt.Fprintf(&b, "keyless bench %s against %s: %s\n", r.Mode, r.Endpoint, loop)
	fmt.Fprintf(&b, "  requests    %d in %.2fs (%.0f/s), %d errors\n", r.Requests, r.ElapsedSec, r.Throughput, r.Errors)
	l := r.Latency
	fmt.Fprintf(&b, "  latency ms  p50 %.3f  p90 %.3f  p99 %.3f  p99.9 %.3f  max %.3f  (mean %.3f)\n", l.P50, l.P90, l.P99, l.P999, l.Max, l.Mean)
	for _, code := range slices.Sorted(maps.Keys(r.ErrorsByCode)) {
		fmt.Fprintf(&b, "  error %-24s %d", code, r.ErrorsByCode[code])
		if s := r.ErrorSamples[code]; s != "" {
			fmt.Fprintf(&b, "  (%s)", s)
		}
		b.WriteByte('\n')
	}
	if r.ServerStart != nil && r.ServerEnd != nil {
		fmt.Fprintf(&b, "  server      start %s   end %s\n", r.ServerStart, r.ServerEnd)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// String formats the figures as "rss 41.2MiB goroutines 23 data 15.1MiB",
// with "?" for those unknown.
func (s ServerStats) String() string {
	return fmt.Sprintf("rss %s goroutines %s data %s", mib(s.RSSBytes), count(s.Goroutines), mib(s.DataBytes))
}

// Line formats the periodic line.
func (iv IntervalReport) Line() string {
	return fmt.Sprintf("%7.0fs  %8.0f/s  p50 %7.3fms  p99 %7.3fms  errors %d  %s",
		iv.ElapsedSec, iv.Throughput, iv.P50, iv.P99, iv.Errors, iv.ServerStats)
}

func mib(n int64) string {
	if n < 0 {
		return "?"
	}
	return fmt.Sprintf("%.1fMiB", float64(n)/(1<<20))
}

func count(n int64) string {
	if n < 0 {
		return "?"
	}
	return fmt.Sprint(n)
}
