package audit

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/keyless-dev/keyless/store"
)

// Retention says how long audit events are kept and how they are pruned. The
// zero value keeps every event.
type Retention struct {
	// MaxAge prunes events older than this; 0 keeps events of any age.
	MaxAge time.Duration
	// MaxEvents prunes all but the newest MaxEvents events; 0 keeps any number.
	MaxEvents int
	// BatchSize is the most events deleted per transaction (default 500,
	// about 16 ms on SQLite at 10 million events), so that a prune never holds
	// the store's write lock for long: meanwhile the audit writer waits, and
	// its queue must not fill.
	BatchSize int
	// Pause is the least wait between two batches of one run (default 50 ms),
	// in which the writes of requests proceed. A batch that took longer is
	// followed by a pause as long as it took, so that pruning never holds the
	// write lock more than half the time.
	Pause time.Duration
	// Interval is the time between runs of StartRetention (default 1 minute).
	Interval time.Duration
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// Enabled reports whether r prunes anything.
func (r Retention) Enabled() bool { return r.MaxAge > 0 || r.MaxEvents > 0 }

func (r Retention) withDefaults() Retention {
	if r.BatchSize <= 0 {
		r.BatchSize = 500
	}
	if r.Pause <= 0 {
		r.Pause = 50 * time.Millisecond
	}
	if r.Interval <= 0 {
		r.Interval = time.Minute
	}
	if r.Now == nil {
		r.Now = time.Now
	}
	return r
}

// Prune deletes the events r does not keep, in batches of r.BatchSize events
// (one transaction each) with r.Pause between them, until none is left to
// delete or ctx ends. It returns how many it deleted. The newest event is
// always kept (store.AuditPrune).
func Prune(ctx context.Context, st store.Store, r Retention) (int, error) {
	if !r.Enabled() {
		return 0, nil
	}
	r = r.withDefaults()
	p := store.AuditPrune{Keep: r.MaxEvents, Limit: r.BatchSize}
	if r.MaxAge > 0 {
		p.Before = r.Now().Add(-r.MaxAge)
	}
	total := 0
	for {
		start := time.Now()
		n, err := st.PruneAuditEvents(ctx, p)
		took := time.Since(start)
		total += n
		if err != nil {
			return total, fmt.Errorf("audit: prune: %w", err)
		}
		if n < r.BatchSize {
			return total, nil
		}
		select {
		case <-ctx.Done():
			return total, ctx.Err()
		case <-time.After(max(r.Pause, took)):
		}
	}
}

// StartRetention prunes st by r now and then every r.Interval in a background
// goroutine, logging what it deleted, until the returned stop function is
// called (which waits for a batch in progress). It does nothing when r keeps
// every event.
func StartRetention(st store.Store, r Retention, log *slog.Logger) (stop func()) {
	if !r.Enabled() {
		return func() {}
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	r = r.withDefaults()
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(r.Interval)
		defer t.Stop()
		for {
			start := time.Now()
			n, err := Prune(ctx, st, r)
			switch { // what a run deleted is logged even if stop ended it
			case err != nil && ctx.Err() == nil:
				log.Warn("audit retention", "deleted", n, "err", err)
			case n > 0:
				log.Info("audit retention", "deleted", n, "took", time.Since(start).Round(time.Millisecond))
			}
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	})
	return func() {
		cancel()
		wg.Wait()
	}
}
