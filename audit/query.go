package audit

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/keyless-dev/keyless/store"
)

// Stored is an event as read back from the store: the recorded Event with its
// store ID and sequence number.
type Stored struct {
	ID  string
	Seq int64
	Event
}

// Decode turns a stored event back into what was recorded. Its detail is the
// JSON object Record wrote; an event whose detail does not parse keeps its
// columns and reports the error.
func Decode(e store.AuditEvent) (Stored, error) {
	s := Stored{ID: e.ID, Seq: e.Seq, Event: Event{
		Time: e.Time, RequestID: e.RequestID, Action: e.Action, Caller: e.Caller, Role: e.Role,
		Decision: e.Decision, Repository: e.Repository,
	}}
	if len(e.Detail) == 0 {
		return s, nil
	}
	var d struct {
		Service   string           `json:"service"`
		SourceIP  string           `json:"sourceIp"`
		ErrorCode string           `json:"errorCode"`
		Statement string           `json:"statement"`
		Condition string           `json:"condition"`
		Reason    string           `json:"reason"`
		Failed    *FailedCondition `json:"failed"`
		Claims    json.RawMessage  `json:"claims"`
	}
	if err := json.Unmarshal(e.Detail, &d); err != nil {
		return s, fmt.Errorf("audit: event %s: detail: %w", e.ID, err)
	}
	s.Service, s.SourceIP, s.ErrorCode = d.Service, d.SourceIP, d.ErrorCode
	s.Statement, s.Condition, s.Reason, s.Failed, s.Claims = d.Statement, d.Condition, d.Reason, d.Failed, d.Claims
	return s, nil
}

// Follower reads the events appended to a store, in append order, each exactly
// once, for `keyless audit tail --follow`.
//
// With several writers (replicas on one PostgreSQL database) an event can
// become visible after one with a higher sequence number (its transaction
// committed later), so a follower does not simply continue after the highest
// number it has returned: it reads again from the highest number it returned
// at least Grace ago, and skips the events it has returned since. An event
// that becomes visible more than Grace after a later-numbered one was returned
// is missed; with one writer (SQLite) none is.
type Follower struct {
	st    store.Store
	q     store.AuditQuery
	grace time.Duration
	now   func() time.Time
	low   int64               // the query continues after this number
	seen  map[int64]time.Time // events returned above low, with when
}

// DefaultGrace is how long a Follower waits for an event that commits later
// than one appended after it: far longer than an audit append transaction.
const DefaultGrace = 2 * time.Second

// pageSize is how many events a Follower reads per query.
const pageSize = 500

// NewFollower returns a follower of the events q's filters select (its order,
// cursor and limit are ignored), starting after the event with sequence
// number after (0: from the first). grace 0 means DefaultGrace; now nil means
// time.Now.
func NewFollower(st store.Store, q store.AuditQuery, after int64, grace time.Duration, now func() time.Time) *Follower {
	if grace <= 0 {
		grace = DefaultGrace
	}
	if now == nil {
		now = time.Now
	}
	q.Order, q.Limit = store.AuditAppended, pageSize
	return &Follower{st: st, q: q, grace: grace, now: now, low: after, seen: map[int64]time.Time{}}
}

// Tail returns the last n events q's filters select, oldest first, and a
// follower that continues after them.
func Tail(ctx context.Context, st store.Store, q store.AuditQuery, n int, grace time.Duration, now func() time.Time) ([]store.AuditEvent, *Follower, error) {
	q.Order, q.Limit, q.After = store.AuditLastAppended, n, store.AuditCursor{}
	var evs []store.AuditEvent
	if n > 0 {
		var err error
		if evs, err = st.QueryAuditEvents(ctx, q); err != nil {
			return nil, nil, fmt.Errorf("audit: tail: %w", err)
		}
	}
	slices.Reverse(evs)
	f := NewFollower(st, q, 0, grace, now)
	if len(evs) > 0 {
		f.low = evs[0].Seq - 1
		for _, e := range evs {
			f.seen[e.Seq] = f.now()
		}
	} else {
		last, err := st.QueryAuditEvents(ctx, store.AuditQuery{Order: store.AuditLastAppended, Limit: 1})
		if err != nil {
			return nil, nil, fmt.Errorf("audit: tail: %w", err)
		}
		if len(last) == 1 {
			f.low = last[0].Seq // nothing selected so far: follow from the newest event
		}
	}
	return evs, f, nil
}

// Poll returns the events appended since the last call (or the start) that it
// has not returned before, in append order.
func (f *Follower) Poll(ctx context.Context) ([]store.AuditEvent, error) {
	var out []store.AuditEvent
	q := f.q
	q.After = store.AuditCursor{Seq: f.low}
	now := f.now()
	for {
		page, err := f.st.QueryAuditEvents(ctx, q)
		if err != nil {
			return out, fmt.Errorf("audit: follow: %w", err)
		}
		for _, e := range page {
			if _, ok := f.seen[e.Seq]; !ok {
				f.seen[e.Seq] = now
				out = append(out, e)
			}
		}
		if len(page) < q.Limit {
			break
		}
		q.After = page[len(page)-1].Cursor()
	}
	// Continue next time after the highest number returned at least grace ago.
	for seq, at := range f.seen {
		if now.Sub(at) >= f.grace {
			f.low = max(f.low, seq)
		}
	}
	for seq := range f.seen {
		if seq <= f.low {
			delete(f.seen, seq)
		}
	}
	return out, nil
}
