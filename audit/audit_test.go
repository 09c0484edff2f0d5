package audit

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/keyless-dev/keyless/store"
	"github.com/keyless-dev/keyless/store/sqlite"
)

// spyStore is a real SQLite store whose batch appends are counted, can be held
// back (gate) and can be made to fail.
type spyStore struct {
	store.Store
	mu       sync.Mutex
	batches  []int
	singles  int
	gate     chan struct{} // if non-nil, the first batch waits for it to close
	entered  chan struct{} // closed when the first batch starts
	failWhen func(store.AuditEvent) bool
	down     bool // every append fails with store.ErrUnavailable
}

func (s *spyStore) AppendAuditEvents(ctx context.Context, events []store.AuditEvent) error {
	s.mu.Lock()
	first := len(s.batches) == 0
	s.batches = append(s.batches, len(events))
	s.mu.Unlock()
	if first && s.gate != nil {
		close(s.entered)
		<-s.gate
	}
	s.mu.Lock()
	down := s.down
	s.mu.Unlock()
	if down {
		return store.Unavailable("unreachable", errors.New("spy: connection refused"))
	}
	if s.failWhen != nil {
		for _, e := range events {
			if s.failWhen(e) {
				return errors.New("spy: refused batch")
			}
		}
	}
	return s.Store.AppendAuditEvents(ctx, events)
}

func (s *spyStore) AppendAuditEvent(ctx context.Context, e store.AuditEvent) error {
	s.mu.Lock()
	s.singles++
	s.mu.Unlock()
	if s.failWhen != nil && s.failWhen(e) {
		return errors.New("spy: refused event")
	}
	return s.Store.AppendAuditEvent(ctx, e)
}

func openSpy(t *testing.T) *spyStore {
	t.Helper()
	st, err := sqlite.Open(t.Context(), t.TempDir()+"/keyless.db")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return &spyStore{Store: st}
}

func event(i int) Event {
	return Event{
		Time: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), RequestID: fmt.Sprintf("req-%04d", i), Service: "sts",
		Action: "AssumeRoleWithWebIdentity", Caller: "https://issuer sub", Role: "arn:aws:iam::000000000000:role/r",
		Decision: Allowed, SourceIP: "127.0.0.1",
	}
}

func listAll(t *testing.T, st store.Store) []store.AuditEvent {
	t.Helper()
	evs, err := st.ListAuditEvents(t.Context(), time.Time{}, 0)
	if err != nil {
		t.Fatal(err)
	}
	return evs
}

// TestRecorderConcurrentFlush records from many goroutines (more events than
// the queue holds) and checks that Close stores every one, with unique IDs.
func TestRecorderConcurrentFlush(t *testing.T) {
	st := openSpy(t)
	r := NewRecorder(st, nil)
	const workers, per = 8, 700
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range per {
				r.Record(event(w*per + i))
			}
		})
	}
	wg.Wait()
	r.Close()
	r.Close() // idempotent
	evs := listAll(t, st)
	if len(evs) != workers*per {
		t.Fatalf("stored %d events, want %d", len(evs), workers*per)
	}
	ids, reqs := map[string]bool{}, map[string]bool{}
	for _, e := range evs {
		if ids[e.ID] || len(e.ID) != 32 {
			t.Fatalf("ID %q repeated or malformed", e.ID)
		}
		ids[e.ID], reqs[e.RequestID] = true, true
	}
	if len(reqs) != workers*per {
		t.Fatalf("%d distinct request IDs, want %d", len(reqs), workers*per)
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	total := 0
	for _, n := range st.batches {
		if n < 1 || n > maxBatch {
			t.Fatalf("batch of %d events", n)
		}
		total += n
	}
	if total != workers*per || st.singles != 0 {
		t.Fatalf("batches %v total %d, singles %d", st.batches, total, st.singles)
	}
}

// TestRecorderBatches holds the writer in its first transaction, queues more
// than a batch, and checks that the rest is drained in full batches, in order.
func TestRecorderBatches(t *testing.T) {
	st := openSpy(t)
	st.gate, st.entered = make(chan struct{}), make(chan struct{})
	r := NewRecorder(st, nil)
	r.Record(event(0))
	<-st.entered
	const n = maxBatch + 44
	for i := 1; i <= n; i++ {
		r.Record(event(i))
	}
	close(st.gate)
	r.Close()
	st.mu.Lock()
	got := fmt.Sprint(st.batches)
	st.mu.Unlock()
	if want := fmt.Sprint([]int{1, maxBatch, 44}); got != want {
		t.Fatalf("batches %s, want %s", got, want)
	}
	evs := listAll(t, st)
	if len(evs) != n+1 {
		t.Fatalf("stored %d events, want %d", len(evs), n+1)
	}
	// Same time for all: newest first means last recorded first.
	for i, e := range evs {
		if want := fmt.Sprintf("req-%04d", n-i); e.RequestID != want {
			t.Fatalf("event %d is %s, want %s", i, e.RequestID, want)
		}
	}
}

// TestRecorderBatchFailure checks that one event the store refuses does not
// lose the others of its batch, and that the failure is logged without the
// event's content.
func TestRecorderBatchFailure(t *testing.T) {
	st := openSpy(t)
	st.gate, st.entered = make(chan struct{}), make(chan struct{})
	st.failWhen = func(e store.AuditEvent) bool { return e.RequestID == "req-0003" }
	var logs bytes.Buffer
	var mu sync.Mutex
	r := NewRecorder(st, slog.New(slog.NewTextHandler(&lockedWriter{w: &logs, mu: &mu}, nil)))
	r.Record(event(0))
	<-st.entered
	for i := 1; i <= 5; i++ {
		r.Record(event(i))
	}
	close(st.gate)
	r.Close()
	evs := listAll(t, st)
	if len(evs) != 5 {
		t.Fatalf("stored %d events, want 5", len(evs))
	}
	for _, e := range evs {
		if e.RequestID == "req-0003" {
			t.Fatal("the refused event was stored")
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if !strings.Contains(logs.String(), "request_id=req-0003") || !strings.Contains(logs.String(), "one by one") {
		t.Fatalf("failure not logged:\n%s", logs.String())
	}
}

// TestRecorderStoreUnavailable: while the store reports itself unavailable,
// a failed batch is not retried event by event (each try could wait for a
// connect timeout while the queue fills and Record blocks requests), nothing
// is stored for a while, and the log says so once; once the store is back,
// events are stored again and the log says how many were not.
func TestRecorderStoreUnavailable(t *testing.T) {
	st := openSpy(t)
	st.down = true
	var logs bytes.Buffer
	var mu sync.Mutex
	r := NewRecorder(st, slog.New(slog.NewTextHandler(&lockedWriter{w: &logs, mu: &mu}, nil)))
	for i := range 3 {
		r.Record(event(i))
	}
	waitFor(t, func() bool { st.mu.Lock(); defer st.mu.Unlock(); return len(st.batches) > 0 })
	for i := 3; i < 6; i++ { // within the backoff: not tried
		r.Record(event(i))
	}
	time.Sleep(50 * time.Millisecond) // the writer's linger is 2 ms
	st.mu.Lock()
	tries, singles := len(st.batches), st.singles
	st.down = false
	st.mu.Unlock()
	if tries != 1 || singles != 0 {
		t.Errorf("while unavailable: %d batch tries and %d single tries, want 1 and 0", tries, singles)
	}
	time.Sleep(unavailableBackoff)
	r.Record(event(6))
	r.Close()
	evs := listAll(t, st)
	if len(evs) != 1 || evs[0].RequestID != "req-0006" {
		t.Fatalf("stored %+v, want only req-0006", evs)
	}
	mu.Lock()
	defer mu.Unlock()
	out := logs.String()
	if strings.Count(out, "audit: store unavailable") != 1 || !strings.Contains(out, "events_not_stored=6") {
		t.Fatalf("log:\n%s", out)
	}
}

// waitFor polls cond for up to 5 s.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); !cond(); {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 5 s")
		}
		time.Sleep(time.Millisecond)
	}
}

// TestRecordDetail checks the stored shape of an event.
func TestRecordDetail(t *testing.T) {
	st := openSpy(t)
	r := NewRecorder(st, nil)
	e := event(1)
	e.Decision, e.ErrorCode, e.Statement, e.Condition, e.Reason = Denied, "AccessDenied", "0", "IpAddress", "a <reason> & more"
	e.Time = time.Date(2026, 1, 2, 3, 4, 5, 6000, time.FixedZone("X", 3600))
	r.Record(e)
	r.Record(Event{RequestID: "no-time", Decision: Failed})
	r.Close()
	evs := listAll(t, st)
	if len(evs) != 2 {
		t.Fatalf("stored %d events", len(evs))
	}
	var got store.AuditEvent
	for _, ev := range evs {
		if ev.RequestID == e.RequestID {
			got = ev
		} else if ev.Time.IsZero() || ev.Detail != nil && string(ev.Detail) != "{}" {
			t.Fatalf("event without time or detail stored as %+v (%s)", ev, ev.Detail)
		}
	}
	if !got.Time.Equal(e.Time) || got.Action != e.Action || got.Caller != e.Caller || got.Role != e.Role || got.Decision != Denied {
		t.Fatalf("stored %+v", got)
	}
	want, _ := json.Marshal(map[string]string{"service": "sts", "sourceIp": "127.0.0.1", "errorCode": "AccessDenied",
		"statement": "0", "condition": "IpAddress", "reason": "a <reason> & more"})
	var a, b map[string]string
	if err := json.Unmarshal(got.Detail, &a); err != nil {
		t.Fatal(err)
	}
	_ = json.Unmarshal(want, &b)
	if fmt.Sprint(a) != fmt.Sprint(b) {
		t.Fatalf("detail %s, want %s", got.Detail, want)
	}
}

type lockedWriter struct {
	w  *bytes.Buffer
	mu *sync.Mutex
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
