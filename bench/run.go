package bench

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// Op is one request of a benchmark. worker is the index of the goroutine
// running it and seq its sequence number (from 0). An error it returns is
// counted under ErrorCode(err).
type Op func(ctx context.Context, worker int, seq int64) error

// Config bounds and shapes a run. A run stops at whichever of Duration and
// Count comes first; one of them must be set.
type Config struct {
	// Rate, when above zero, drives an open loop: request i is due at
	// start + i/Rate whether or not earlier ones have been answered, and its
	// latency is measured from that intended time, so that a stalled server
	// shows in the latencies instead of silently lowering the rate
	// (coordinated omission). Concurrency then caps the requests in flight.
	// Zero drives a closed loop of Concurrency workers, each sending its next
	// request when the previous one is answered.
	Rate float64
	// Concurrency is the number of workers (default 1; in an open loop 64).
	Concurrency int
	// Duration bounds the run's time (0: no time bound).
	Duration time.Duration
	// Count bounds the number of requests (0: no count bound).
	Count int64
	// Timeout bounds each request (default 30s).
	Timeout time.Duration
	// Interval, when above zero, calls OnInterval that often with the
	// figures of the interval just ended.
	Interval   time.Duration
	OnInterval func(Interval)
}

// Interval holds the figures of one period of a run.
type Interval struct {
	Elapsed    time.Duration // since the run started, at the interval's end
	Requests   uint64
	Errors     uint64
	Throughput float64 // requests answered per second during the interval
	Latency    *Histogram
}

// Result is what a run measured.
type Result struct {
	Elapsed  time.Duration
	Requests uint64 // answered, successfully or not
	Errors   map[string]uint64
	// ErrorSamples holds the first message seen for each error code.
	ErrorSamples map[string]string
	Latency      *Histogram // successful and failed requests alike
}

// ErrorCount is the total number of failed requests.
func (r *Result) ErrorCount() uint64 {
	var n uint64
	for _, c := range r.Errors {
		n += c
	}
	return n
}

// recorder collects latencies and errors from the workers.
type recorder struct {
	mu       sync.Mutex
	total    Histogram
	interval Histogram
	errs     map[string]uint64
	samples  map[string]string
	ivErrs   uint64
}

func (r *recorder) record(d time.Duration, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.total.Record(d)
	r.interval.Record(d)
	if err != nil {
		code := ErrorCode(err)
		r.errs[code]++
		r.ivErrs++
		if _, ok := r.samples[code]; !ok {
			msg := err.Error()
			if len(msg) > 300 {
				msg = msg[:300] + "…"
			}
			r.samples[code] = msg
		}
	}
}

// takeInterval returns the interval's histogram and error count and starts a new one.
func (r *recorder) takeInterval() (*Histogram, uint64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	h := new(Histogram)
	*h = r.interval
	n := r.ivErrs
	r.interval.Reset()
	r.ivErrs = 0
	return h, n
}

// Validate checks that c bounds a run and is consistent.
func (c Config) Validate() error {
	switch {
	case c.Duration < 0:
		return fmt.Errorf("duration %s is negative", c.Duration)
	case c.Count < 0:
		return fmt.Errorf("count %d is negative", c.Count)
	case c.Rate < 0:
		return fmt.Errorf("rate %g is negative", c.Rate)
	case c.Concurrency < 0:
		return fmt.Errorf("concurrency %d is negative", c.Concurrency)
	case c.Duration == 0 && c.Count == 0:
		return errors.New("a run needs a bound: set a duration, a count or both")
	}
	return nil
}

// Run drives op as c says and returns what it measured. It stops early, with
// what was measured so far, when ctx is done.
func Run(ctx context.Context, c Config, op Op) (*Result, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	workers := c.Concurrency
	if workers == 0 {
		workers = 1
		if c.Rate > 0 {
			workers = 64
		}
	}
	if c.Timeout <= 0 {
		c.Timeout = 30 * time.Second
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	rec := &recorder{errs: map[string]uint64{}, samples: map[string]string{}}
	start := time.Now()
	var deadline time.Time
	if c.Duration > 0 {
		deadline = start.Add(c.Duration)
	}
	var answered atomic.Uint64
	do := func(w int, seq int64, intended time.Time) {
		rctx, rcancel := context.WithTimeout(ctx, c.Timeout)
		err := op(rctx, w, seq)
		rcancel()
		if ctx.Err() != nil && err != nil {
			return // the run was stopped: not the server's failure
		}
		rec.record(time.Since(intended), err)
		answered.Add(1)
	}

	stopIntervals := make(chan struct{})
	var ivWG sync.WaitGroup
	if c.Interval > 0 && c.OnInterval != nil {
		ivWG.Add(1)
		go func() {
			defer ivWG.Done()
			t := time.NewTicker(c.Interval)
			defer t.Stop()
			last := start
			for {
				select {
				case <-stopIntervals:
					return
				case now := <-t.C:
					h, errs := rec.takeInterval()
					c.OnInterval(Interval{
						Elapsed: now.Sub(start), Requests: h.Count(), Errors: errs,
						Throughput: float64(h.Count()) / now.Sub(last).Seconds(), Latency: h,
					})
					last = now
				}
			}
		}()
	}

	var wg sync.WaitGroup
	if c.Rate > 0 {
		jobs := make(chan job, 4*workers)
		for w := range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for j := range jobs {
					do(w, j.seq, j.intended)
				}
			}()
		}
		dispatch(ctx, c, start, deadline, jobs)
		close(jobs)
	} else {
		var next atomic.Int64
		for w := range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for ctx.Err() == nil {
					seq := next.Add(1) - 1
					if c.Count > 0 && seq >= c.Count {
						return
					}
					now := time.Now()
					if !deadline.IsZero() && !now.Before(deadline) {
						return
					}
					do(w, seq, now)
				}
			}()
		}
	}
	wg.Wait()
	elapsed := time.Since(start)
	close(stopIntervals)
	ivWG.Wait()
	return &Result{Elapsed: elapsed, Requests: answered.Load(), Errors: rec.errs, ErrorSamples: rec.samples, Latency: &rec.total}, nil
}

// job is one request of an open loop, due at intended.
type job struct {
	seq      int64
	intended time.Time
}

// dispatch feeds jobs at c.Rate until the bounds or ctx end the run. When
// the workers fall behind, due jobs wait in the queue (their latency counting
// from when they were due) and, once it is full, dispatch waits too; it then
// sends the jobs that fell due meanwhile at once.
func dispatch(ctx context.Context, c Config, start, deadline time.Time, jobs chan<- job) {
	period := float64(time.Second) / c.Rate
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for seq := int64(0); c.Count <= 0 || seq < c.Count; seq++ {
		intended := start.Add(time.Duration(float64(seq) * period))
		if !deadline.IsZero() && !intended.Before(deadline) {
			return
		}
		if wait := time.Until(intended); wait > 0 {
			timer.Reset(wait)
			select {
			case <-ctx.Done():
				return
			case <-timer.C:
			}
		}
		select {
		case <-ctx.Done():
			return
		case jobs <- job{seq, intended}:
		}
	}
}
