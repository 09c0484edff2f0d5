package audit

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/keyless-dev/keyless/store"
)

// countingStore counts PruneAuditEvents calls.
type countingStore struct {
	store.Store
	mu     sync.Mutex
	prunes []store.AuditPrune
	done   chan struct{} // closed after the first prune run deleted nothing more
}

func (c *countingStore) PruneAuditEvents(ctx context.Context, p store.AuditPrune) (int, error) {
	n, err := c.Store.PruneAuditEvents(ctx, p)
	c.mu.Lock()
	defer c.mu.Unlock()
	c.prunes = append(c.prunes, p)
	if n < p.Limit && c.done != nil {
		close(c.done)
		c.done = nil
	}
	return n, err
}

func remaining(t *testing.T, st store.Store) int {
	t.Helper()
	evs, err := st.QueryAuditEvents(t.Context(), store.AuditQuery{Order: store.AuditAppended})
	if err != nil {
		t.Fatal(err)
	}
	return len(evs)
}

// TestPrune checks pruning by age and by count, in batches.
func TestPrune(t *testing.T) {
	st := &countingStore{Store: openSpy(t)}
	appendN(t, st, 0, 100, Allowed) // times 0..99 s after the epoch
	now := func() time.Time { return time.Unix(100, 0) }

	n, err := Prune(t.Context(), st, Retention{})
	if n != 0 || err != nil || len(st.prunes) != 0 {
		t.Fatalf("Prune with no bound: %d, %v, %d calls", n, err, len(st.prunes))
	}
	// Older than 60 s: events 0..39, in batches of 15 (15, 15, 10).
	n, err = Prune(t.Context(), st, Retention{MaxAge: time.Minute, BatchSize: 15, Pause: time.Millisecond, Now: now})
	if n != 40 || err != nil || len(st.prunes) != 3 {
		t.Fatalf("Prune by age: %d, %v, %d batches", n, err, len(st.prunes))
	}
	if r := remaining(t, st); r != 60 {
		t.Fatalf("%d events left, want 60", r)
	}
	n, err = Prune(t.Context(), st, Retention{MaxEvents: 25, Now: now})
	if n != 35 || err != nil || remaining(t, st) != 25 {
		t.Fatalf("Prune by count: %d, %v, %d left", n, err, remaining(t, st))
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := Prune(ctx, st, Retention{MaxEvents: 1, BatchSize: 1}); !errors.Is(err, context.Canceled) {
		t.Fatalf("Prune with a cancelled context: %v", err)
	}
}

// TestStartRetention checks that the background pruner prunes at once, logs
// it, and stops.
func TestStartRetention(t *testing.T) {
	done := make(chan struct{})
	st := &countingStore{Store: openSpy(t), done: done}
	appendN(t, st, 0, 50, Allowed)
	var logs bytes.Buffer
	var mu sync.Mutex
	stop := StartRetention(st, Retention{MaxEvents: 10, BatchSize: 7, Pause: time.Millisecond, Interval: time.Hour},
		slog.New(slog.NewTextHandler(&lockedWriter{w: &logs, mu: &mu}, nil)))
	<-done
	stop()
	stop = StartRetention(st, Retention{}, nil) // keeps everything: no goroutine
	stop()
	if r := remaining(t, st); r != 10 {
		t.Fatalf("%d events left, want 10", r)
	}
	mu.Lock()
	defer mu.Unlock()
	if !strings.Contains(logs.String(), "audit retention") || !strings.Contains(logs.String(), "deleted=40") {
		t.Fatalf("log: %s", logs.String())
	}
}
