package bench

import (
	"context"
	"sync/atomic"
	"testing"
	"time"
)

func TestRunClosedLoopStopsAtCountAndCountsErrorsByCode(t *testing.T) {
	var calls atomic.Int64
	op := func(_ context.Context, _ int, seq int64) error {
		calls.Add(1)
		switch seq % 10 {
		case 3:
			return &Error{Code: "Throttling", Message: "Rate exceeded"}
		case 7:
			return context.DeadlineExceeded
		}
		return nil
	}
	res, err := Run(context.Background(), Config{Concurrency: 4, Count: 1000}, op)
	if err != nil {
		t.Fatal(err)
	}
	if calls.Load() != 1000 || res.Requests != 1000 || res.Latency.Count() != 1000 {
		t.Errorf("calls %d, requests %d, latencies %d; want 1000 each", calls.Load(), res.Requests, res.Latency.Count())
	}
	want := map[string]uint64{"Throttling": 100, "Timeout": 100}
	if len(res.Errors) != len(want) || res.Errors["Throttling"] != 100 || res.Errors["Timeout"] != 100 {
		t.Errorf("errors %v, want %v", res.Errors, want)
	}
	if res.ErrorCount() != 200 || res.ErrorSamples["Throttling"] != "Throttling: Rate exceeded" {
		t.Errorf("error count %d, samples %v", res.ErrorCount(), res.ErrorSamples)
	}
}

func TestRunStopsAtDuration(t *testing.T) {
	op := func(ctx context.Context, _ int, _ int64) error {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Millisecond):
			return nil
		}
	}
	for _, c := range []Config{
		{Concurrency: 2, Duration: 200 * time.Millisecond},
		{Rate: 500, Concurrency: 4, Duration: 200 * time.Millisecond},
	} {
		res, err := Run(context.Background(), c, op)
		if err != nil {
			t.Fatal(err)
		}
		if res.Requests == 0 || res.ErrorCount() != 0 {
			t.Errorf("%+v: %d requests, %d errors; want some, none failed", c, res.Requests, res.ErrorCount())
		}
		if c.Rate > 0 && res.Requests > 100 {
			t.Errorf("rate 500/s for 200ms sent %d requests, want at most 100", res.Requests)
		}
	}
}

// An open loop counts latency from when each request was due: a server that
// takes 20ms per request, driven at 100/s by one worker, falls ever further
// behind, and the latencies say so (a closed loop would report 20ms).
func TestRunOpenLoopMeasuresFromTheIntendedSendTime(t *testing.T) {
	op := func(context.Context, int, int64) error { time.Sleep(20 * time.Millisecond); return nil }
	res, err := Run(context.Background(), Config{Rate: 100, Concurrency: 1, Count: 30}, op)
	if err != nil {
		t.Fatal(err)
	}
	if res.Requests != 30 {
		t.Fatalf("%d requests, want 30", res.Requests)
	}
	// Request 29 was due at 290ms and answered no sooner than 600ms.
	if res.Latency.Max() < 250*time.Millisecond {
		t.Errorf("max latency %v: the queueing behind a slow server is not counted", res.Latency.Max())
	}
}

func TestRunIntervals(t *testing.T) {
	var seen []Interval
	op := func(context.Context, int, int64) error { time.Sleep(time.Millisecond); return nil }
	res, err := Run(context.Background(), Config{Concurrency: 1, Duration: 350 * time.Millisecond, Interval: 100 * time.Millisecond,
		OnInterval: func(iv Interval) { seen = append(seen, iv) }}, op)
	if err != nil {
		t.Fatal(err)
	}
	if len(seen) < 2 {
		t.Fatalf("%d intervals in 350ms at 100ms, want at least 2", len(seen))
	}
	var sum uint64
	for _, iv := range seen {
		sum += iv.Requests
		if iv.Requests > 0 && (iv.Throughput <= 0 || iv.Latency.Count() != iv.Requests) {
			t.Errorf("interval %+v: throughput or latencies missing", iv)
		}
	}
	if sum > res.Requests {
		t.Errorf("intervals hold %d requests, the run %d", sum, res.Requests)
	}
}

func TestConfigValidate(t *testing.T) {
	for _, c := range []Config{{}, {Concurrency: 4}, {Count: -1, Duration: time.Second}, {Rate: -1, Count: 1}, {Count: 1, Concurrency: -2}} {
		if err := c.Validate(); err == nil {
			t.Errorf("Validate(%+v) = nil, want an error", c)
		}
		if _, err := Run(context.Background(), c, func(context.Context, int, int64) error { return nil }); err == nil {
			t.Errorf("Run(%+v) ran", c)
		}
	}
}

func TestRunStopsWhenCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	var n atomic.Int64
	op := func(ctx context.Context, _ int, _ int64) error {
		if n.Add(1) == 50 {
			cancel()
		}
		return ctx.Err()
	}
	res, err := Run(ctx, Config{Concurrency: 2, Count: 1 << 40}, op)
	if err != nil {
		t.Fatal(err)
	}
	if res.Requests > 60 {
		t.Errorf("%d requests after cancel", res.Requests)
	}
	if res.ErrorCount() != 0 {
		t.Errorf("requests cut short by the cancel counted as errors: %v", res.Errors)
	}
}
