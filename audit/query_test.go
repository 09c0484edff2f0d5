package audit

import (
	"context"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/keyless-dev/keyless/policy"
	"github.com/keyless-dev/keyless/store"
)

// TestDecodeRoundTrip records events through a Recorder and checks that
// Decode gives back what was recorded, the failed condition included.
func TestDecodeRoundTrip(t *testing.T) {
	st := openSpy(t)
	r := NewRecorder(st, nil)
	denied := event(1)
	denied.Decision, denied.ErrorCode, denied.Statement, denied.Condition = Denied, "AccessDenied", `"RepoOnly"`, `StringLike "k:sub" wants ["a"]`
	denied.Reason, denied.Repository = "sts:AssumeRoleWithWebIdentity: denied", "{repo}"
	denied.Failed = NewFailedCondition(policy.Allow, policy.ConditionTrace{Operator: "StringLike", Key: "k:sub",
		PolicyValues: []string{"a"}, RequestValues: []string{"b"}, KeyPresent: true})
	allowed := event(2)
	r.Record(denied)
	r.Record(allowed)
	r.Close()
	evs, err := st.QueryAuditEvents(t.Context(), store.AuditQuery{Order: store.AuditAppended})
	if err != nil || len(evs) != 2 {
		t.Fatalf("QueryAuditEvents: %d events, %v", len(evs), err)
	}
	for i, want := range []Event{denied, allowed} {
		got, err := Decode(evs[i])
		if err != nil {
			t.Fatal(err)
		}
		if got.ID != evs[i].ID || got.Seq != evs[i].Seq {
			t.Fatalf("Decode: ID %q Seq %d, want %q %d", got.ID, got.Seq, evs[i].ID, evs[i].Seq)
		}
		want.Time = want.Time.UTC()
		if !reflect.DeepEqual(got.Event, want) {
			t.Fatalf("Decode:\n got %+v\nwant %+v", got.Event, want)
		}
	}
	if _, err := Decode(store.AuditEvent{ID: "x", Detail: []byte("{")}); err == nil {
		t.Fatal("Decode of a malformed detail: no error")
	}
}

// TestFailedConditionKeepsNoExternalID checks that the shared secret of an
// external-ID condition is not kept.
func TestFailedConditionKeepsNoExternalID(t *testing.T) {
	f := NewFailedCondition(policy.Allow, policy.ConditionTrace{Operator: "StringEquals", Key: "sts:ExternalId",
		PolicyValues: []string{"expected"}, RequestValues: []string{"s3cr3t"}, KeyPresent: true})
	if slices.Contains(f.RequestValues, "s3cr3t") {
		t.Fatalf("request values kept: %q", f.RequestValues)
	}
}

// hidingStore hides the events whose IDs it holds from queries, as a
// PostgreSQL transaction not yet committed would.
type hidingStore struct {
	store.Store
	mu     sync.Mutex
	hidden map[string]bool
}

func (h *hidingStore) QueryAuditEvents(ctx context.Context, q store.AuditQuery) ([]store.AuditEvent, error) {
	evs, err := h.Store.QueryAuditEvents(ctx, q)
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.DeleteFunc(evs, func(e store.AuditEvent) bool { return h.hidden[e.ID] }), err
}

func (h *hidingStore) show(id string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	delete(h.hidden, id)
}

func appendN(t *testing.T, st store.Store, from, to int, decision string) {
	t.Helper()
	for i := from; i < to; i++ {
		e := store.AuditEvent{ID: fmt.Sprintf("e%03d", i), Time: time.Unix(int64(i), 0), Action: "A", Decision: decision}
		if err := st.AppendAuditEvent(t.Context(), e); err != nil {
			t.Fatal(err)
		}
	}
}

func idsOf(evs []store.AuditEvent) string {
	var s []string
	for _, e := range evs {
		s = append(s, e.ID)
	}
	return strings.Join(s, " ")
}

// TestFollower checks tail and follow: the last events first, then each new
// event once, in append order, across pages; an event that becomes visible
// late (within the grace) is still returned, once.
func TestFollower(t *testing.T) {
	spy := openSpy(t)
	st := &hidingStore{Store: spy, hidden: map[string]bool{}}
	clock := time.Unix(1000, 0)
	now := func() time.Time { return clock }
	appendN(t, st, 0, 5, Allowed)

	evs, f, err := Tail(t.Context(), st, store.AuditQuery{}, 3, time.Second, now)
	if err != nil {
		t.Fatal(err)
	}
	if got := idsOf(evs); got != "e002 e003 e004" {
		t.Fatalf("Tail: %s", got)
	}
	poll := func(want string) {
		t.Helper()
		got, err := f.Poll(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if idsOf(got) != want {
			t.Fatalf("Poll: %q, want %q", idsOf(got), want)
		}
	}
	poll("")
	// e006 is visible before e005 (which commits later).
	st.hidden["e005"] = true
	appendN(t, st, 5, 8, Allowed)
	poll("e006 e007")
	clock = clock.Add(500 * time.Millisecond)
	poll("")
	st.show("e005")
	clock = clock.Add(400 * time.Millisecond)
	poll("e005")
	clock = clock.Add(2 * time.Second)
	poll("")
	// More than a page at once.
	appendN(t, st, 8, 8+pageSize+20, Allowed)
	got, err := f.Poll(t.Context())
	if err != nil || len(got) != pageSize+20 || got[0].ID != "e008" || got[len(got)-1].ID != fmt.Sprintf("e%03d", 8+pageSize+19) {
		t.Fatalf("Poll after %d appends: %d events, %v", pageSize+20, len(got), err)
	}
	for i := 1; i < len(got); i++ {
		if got[i].Seq <= got[i-1].Seq {
			t.Fatalf("Poll out of append order at %d", i)
		}
	}
	clock = clock.Add(5 * time.Second)
	poll("")
	if len(f.seen) > 0 {
		t.Fatalf("%d events remembered after the grace", len(f.seen))
	}

	// A filtered tail with nothing selected follows from the newest event.
	_, fd, err := Tail(t.Context(), st, store.AuditQuery{Decision: Denied}, 10, time.Second, now)
	if err != nil {
		t.Fatal(err)
	}
	appendN(t, st, 600, 603, Denied)
	appendN(t, st, 603, 605, Allowed)
	got, err = fd.Poll(t.Context())
	if err != nil || idsOf(got) != "e600 e601 e602" {
		t.Fatalf("filtered Poll: %q, %v", idsOf(got), err)
	}
}
