package daemon

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/keyless-dev/keyless/rotate"
	"github.com/keyless-dev/keyless/store/sqlite"
)

func openStore(t *testing.T) Settings {
	t.Helper()
	st, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "keyless.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// TestLease: one holder at a time; renewals keep it; an expired or released
// lease passes to another replica.
func TestLease(t *testing.T) {
	ctx := t.Context()
	st := openStore(t)
	clk := &fakeClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	a := &Lease{Store: st, Holder: "a", TTL: time.Minute, Now: clk.Now}
	b := &Lease{Store: st, Holder: "b", TTL: time.Minute, Now: clk.Now}
	if ok, _, err := a.Acquire(ctx); !ok || err != nil {
		t.Fatalf("a: %v %v", ok, err)
	}
	if ok, other, err := b.Acquire(ctx); ok || err != nil || other != "a until 2026-01-01T00:01:00Z" {
		t.Fatalf("b while a holds: %v %q %v", ok, other, err)
	}
	clk.add(50 * time.Second)
	if ok, _, _ := a.Acquire(ctx); !ok {
		t.Fatal("a cannot renew")
	}
	clk.add(50 * time.Second)
	if ok, _, _ := b.Acquire(ctx); ok {
		t.Fatal("b took a renewed lease")
	}
	clk.add(11 * time.Second)
	if ok, _, _ := b.Acquire(ctx); !ok {
		t.Fatal("b cannot take an expired lease")
	}
	if err := a.Release(ctx); err != nil {
		t.Fatal(err) // not a's: a no-op
	}
	if ok, _, _ := a.Acquire(ctx); ok {
		t.Fatal("a's release freed b's lease")
	}
	if err := b.Release(ctx); err != nil {
		t.Fatal(err)
	}
	if ok, _, _ := a.Acquire(ctx); !ok {
		t.Fatal("a cannot take a released lease")
	}
}

// TestServe runs passes until cancelled, records each pass's status and
// releases the lease at the end.
func TestServe(t *testing.T) {
	st := openStore(t)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	passes := 0
	d := &Daemon{
		Interval: time.Minute,
		Lease:    &Lease{Store: st, Holder: "a", TTL: time.Hour},
		Pass: func(context.Context) ([]*rotate.Report, error) {
			passes++
			return []*rotate.Report{{User: "ci-legacy", Current: "AKIAIOSFODNN7EXAMPLE"}}, nil
		},
		Sleep: func(_ context.Context, d time.Duration) error {
			if d != time.Minute {
				t.Errorf("slept %v", d)
			}
			if passes == 3 {
				cancel()
			}
			return nil
		},
	}
	if err := d.Serve(ctx); err != nil {
		t.Fatal(err)
	}
	if passes != 3 {
		t.Fatalf("%d passes", passes)
	}
	s, err := ReadStatus(t.Context(), st)
	if err != nil {
		t.Fatal(err)
	}
	if s.Holder != "a" || len(s.Reports) != 1 || s.Reports[0].User != "ci-legacy" || s.Error != "" || s.Finished.Before(s.Started) {
		t.Fatalf("status = %+v", s)
	}
	if ok, _, _ := (&Lease{Store: st, Holder: "b"}).Acquire(t.Context()); !ok {
		t.Fatal("the lease was not released")
	}
}

// TestServeSkipsWhileAnotherHolds: a replica without the lease runs no pass.
func TestServeSkipsWhileAnotherHolds(t *testing.T) {
	st := openStore(t)
	if ok, _, _ := (&Lease{Store: st, Holder: "a", TTL: time.Hour}).Acquire(t.Context()); !ok {
		t.Fatal("a")
	}
	ctx, cancel := context.WithCancel(t.Context())
	d := &Daemon{
		Interval: time.Minute,
		Lease:    &Lease{Store: st, Holder: "b", TTL: time.Hour},
		Pass: func(context.Context) ([]*rotate.Report, error) {
			t.Error("b ran a pass")
			return nil, nil
		},
		Sleep: func(context.Context, time.Duration) error { cancel(); return nil },
	}
	if err := d.Serve(ctx); err != nil {
		t.Fatal(err)
	}
}

// TestLostLeaseCancelsPass: when another replica takes the lease during a
// pass, the pass's context is cancelled and the status says why.
func TestLostLeaseCancelsPass(t *testing.T) {
	st := openStore(t)
	ctx, cancel := context.WithCancel(t.Context())
	d := &Daemon{
		Interval:   time.Minute,
		Lease:      &Lease{Store: st, Holder: "a", TTL: time.Hour},
		RenewEvery: time.Millisecond,
		Pass: func(ctx context.Context) ([]*rotate.Report, error) {
			b, _ := json.Marshal(leaseRecord{Holder: "b", Expires: time.Now().Add(time.Hour)})
			if err := st.PutSetting(ctx, LeaseSetting, b); err != nil {
				return nil, err
			}
			<-ctx.Done()
			return nil, context.Cause(ctx)
		},
		Sleep: func(context.Context, time.Duration) error { cancel(); return nil },
	}
	if err := d.Serve(ctx); err != nil {
		t.Fatal(err)
	}
	s, err := ReadStatus(t.Context(), st)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(s.Error, "lease was lost") {
		t.Fatalf("status error = %q", s.Error)
	}
}

// TestServeWithoutStore runs passes with no lease at all.
func TestServeWithoutStore(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	n := 0
	d := &Daemon{Interval: time.Second,
		Pass:  func(context.Context) ([]*rotate.Report, error) { n++; return nil, nil },
		Sleep: func(context.Context, time.Duration) error { cancel(); return nil }}
	if err := d.Serve(ctx); err != nil || n != 1 {
		t.Fatalf("%v, %d passes", err, n)
	}
	if err := (&Daemon{}).Serve(t.Context()); err == nil {
		t.Fatal("a daemon without a pass started")
	}
}
