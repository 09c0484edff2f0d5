package storetest

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/keyless-dev/keyless/store"
)

// auditFixture appends 40 events, one a minute from base, cycling through two
// decisions, three roles, two actions and two repositories (the role of event i
// is i%3, its decision Denied when i%4 == 0, its action iam when i%5 == 0, its
// repository r1 when i%2 == 0), plus one event with no time. It returns the
// timed events in append order.
func auditFixture(t *testing.T, s store.Store) []store.AuditEvent {
	t.Helper()
	var evs []store.AuditEvent
	for i := range 40 {
		e := store.AuditEvent{
			ID: fmt.Sprintf("q%02d", i), Time: at(time.Duration(i) * time.Minute), RequestID: fmt.Sprintf("req-%02d", i),
			Action: "AssumeRoleWithWebIdentity", Caller: "https://issuer sub",
			Role: fmt.Sprintf("arn:aws:iam::000000000000:role/r%d", i%3), Decision: "Allowed", Repository: "{r2}",
			Detail: []byte(`{"service":"sts"}`),
		}
		if i%4 == 0 {
			e.Decision = "Denied"
		}
		if i%5 == 0 {
			e.Action = "CreateRole"
		}
		if i%2 == 0 {
			e.Repository = "{r1}"
		}
		evs = append(evs, e)
	}
	// Two events share a time (q10's): q40 is appended after q10.
	twin := evs[10]
	twin.ID, twin.RequestID = "q40", "req-40"
	must(t, "AppendAuditEvents", s.AppendAuditEvents(t.Context(), evs[:20]))
	for _, e := range evs[20:] {
		must(t, "AppendAuditEvent "+e.ID, s.AppendAuditEvent(t.Context(), e))
	}
	must(t, "AppendAuditEvent q40", s.AppendAuditEvent(t.Context(), twin))
	must(t, "AppendAuditEvent timeless", s.AppendAuditEvent(t.Context(), store.AuditEvent{ID: "timeless", Action: "X", Decision: "Denied"}))
	return append(evs, twin)
}

// ids returns the events' IDs.
func ids(evs []store.AuditEvent) string {
	var out []string
	for _, e := range evs {
		out = append(out, e.ID)
	}
	return strings.Join(out, " ")
}

// expect returns the IDs of the events keep selects from evs, in time order
// (newest first unless oldest), ties by append order as the store breaks them.
func expect(evs []store.AuditEvent, oldest bool, keep func(store.AuditEvent) bool) string {
	var sel []store.AuditEvent
	for i, e := range evs {
		if keep(e) {
			e.Seq = int64(i) // append order
			sel = append(sel, e)
		}
	}
	slices.SortStableFunc(sel, func(a, b store.AuditEvent) int {
		if c := a.Time.Compare(b.Time); c != 0 {
			return c
		}
		return int(a.Seq - b.Seq)
	})
	if !oldest {
		slices.Reverse(sel)
	}
	return ids(sel)
}

// testAuditQuery checks QueryAuditEvents: each filter alone and together, time
// bounds, the four orders, and keyset pages that neither skip nor repeat.
func testAuditQuery(t *testing.T, s store.Store) {
	ctx := t.Context()
	got, err := s.QueryAuditEvents(ctx, store.AuditQuery{})
	must(t, "QueryAuditEvents empty store", err)
	if len(got) != 0 {
		t.Fatalf("QueryAuditEvents on an empty store: %s", ids(got))
	}
	evs := auditFixture(t, s)
	role1 := "arn:aws:iam::000000000000:role/r1"
	tests := []struct {
		name string
		q    store.AuditQuery
		keep func(store.AuditEvent) bool
	}{
		{"all", store.AuditQuery{}, func(store.AuditEvent) bool { return true }},
		{"decision", store.AuditQuery{Decision: "Denied"}, func(e store.AuditEvent) bool { return e.Decision == "Denied" }},
		{"role", store.AuditQuery{Role: role1}, func(e store.AuditEvent) bool { return e.Role == role1 }},
		{"action", store.AuditQuery{Action: "CreateRole"}, func(e store.AuditEvent) bool { return e.Action == "CreateRole" }},
		{"repository", store.AuditQuery{Repository: "{r1}"}, func(e store.AuditEvent) bool { return e.Repository == "{r1}" }},
		{"since until", store.AuditQuery{Since: at(10 * time.Minute), Until: at(20 * time.Minute)}, func(e store.AuditEvent) bool {
			return !e.Time.Before(at(10*time.Minute)) && e.Time.Before(at(20*time.Minute))
		}},
		{"combined", store.AuditQuery{Decision: "Denied", Role: role1, Since: at(5 * time.Minute)}, func(e store.AuditEvent) bool {
			return e.Decision == "Denied" && e.Role == role1 && !e.Time.Before(at(5*time.Minute))
		}},
		{"no match", store.AuditQuery{Role: "arn:aws:iam::000000000000:role/none"}, func(store.AuditEvent) bool { return false }},
	}
	for _, tc := range tests {
		for _, oldest := range []bool{false, true} {
			q := tc.q
			if oldest {
				q.Order = store.AuditOldestFirst
			}
			want := expect(evs, oldest, tc.keep)
			got, err := s.QueryAuditEvents(ctx, q)
			must(t, "QueryAuditEvents "+tc.name, err)
			if ids(got) != want {
				t.Fatalf("QueryAuditEvents %s (oldest first %v):\n got %s\nwant %s", tc.name, oldest, ids(got), want)
			}
			// The same in pages of 3, continued from each page's last event.
			var paged []store.AuditEvent
			q.Limit = 3
			for range 50 {
				page, err := s.QueryAuditEvents(ctx, q)
				must(t, "QueryAuditEvents page "+tc.name, err)
				if len(page) > 3 {
					t.Fatalf("page of %d events with limit 3", len(page))
				}
				paged = append(paged, page...)
				if len(page) < 3 {
					break
				}
				q.After = page[len(page)-1].Cursor()
			}
			if ids(paged) != want {
				t.Fatalf("QueryAuditEvents %s in pages (oldest first %v):\n got %s\nwant %s", tc.name, oldest, ids(paged), want)
			}
		}
	}

	// Events read back whole, with increasing Seq in append order.
	all, err := s.QueryAuditEvents(ctx, store.AuditQuery{Order: store.AuditAppended})
	must(t, "QueryAuditEvents appended", err)
	if want := ids(evs) + " timeless"; ids(all) != want {
		t.Fatalf("QueryAuditEvents appended:\n got %s\nwant %s", ids(all), want)
	}
	for i, e := range all[:len(evs)] {
		if i > 0 && e.Seq <= all[i-1].Seq {
			t.Fatalf("Seq %d of %s not above %d", e.Seq, e.ID, all[i-1].Seq)
		}
		w := want(evs[i])
		e.Seq = 0
		if fmt.Sprintf("%+v", e) != fmt.Sprintf("%+v", w) {
			t.Fatalf("QueryAuditEvents read\n got %+v\nwant %+v", e, w)
		}
	}
	last, err := s.QueryAuditEvents(ctx, store.AuditQuery{Order: store.AuditLastAppended, Limit: 2})
	must(t, "QueryAuditEvents last appended", err)
	if ids(last) != "timeless q40" {
		t.Fatalf("QueryAuditEvents last appended: %s", ids(last))
	}
	// Following: after a position in append order, with a filter.
	next, err := s.QueryAuditEvents(ctx, store.AuditQuery{Order: store.AuditAppended, After: all[35].Cursor(), Decision: "Denied"})
	must(t, "QueryAuditEvents after", err)
	if ids(next) != "q36 timeless" {
		t.Fatalf("QueryAuditEvents appended after q35, denied: %s", ids(next))
	}
	prev, err := s.QueryAuditEvents(ctx, store.AuditQuery{Order: store.AuditLastAppended, After: all[3].Cursor()})
	must(t, "QueryAuditEvents before", err)
	if ids(prev) != "q02 q01 q00" {
		t.Fatalf("QueryAuditEvents last appended before q03: %s", ids(prev))
	}
}

// testAuditCount checks CountAuditEvents against the fixture: each filter, steps
// that split the range unevenly, bounds that cut through it, and the refusal
// of a query without a range or step.
func testAuditCount(t *testing.T, s store.Store) {
	ctx := t.Context()
	evs := auditFixture(t, s)
	role1 := "arn:aws:iam::000000000000:role/r1"
	tests := []struct {
		name string
		q    store.AuditQuery
		step time.Duration
		keep func(store.AuditEvent) bool
	}{
		{"all in steps of 10m", store.AuditQuery{}, 10 * time.Minute, func(store.AuditEvent) bool { return true }},
		{"all in one step", store.AuditQuery{}, time.Hour, func(store.AuditEvent) bool { return true }},
		{"denied", store.AuditQuery{Decision: "Denied"}, 7 * time.Minute, func(e store.AuditEvent) bool { return e.Decision == "Denied" }},
		{"allowed", store.AuditQuery{Decision: "Allowed"}, 7 * time.Minute, func(e store.AuditEvent) bool { return e.Decision == "Allowed" }},
		{"role", store.AuditQuery{Role: role1}, 3 * time.Minute, func(e store.AuditEvent) bool { return e.Role == role1 }},
		{"action", store.AuditQuery{Action: "CreateRole"}, 10 * time.Minute, func(e store.AuditEvent) bool { return e.Action == "CreateRole" }},
		{"repository", store.AuditQuery{Repository: "{r1}"}, 10 * time.Minute, func(e store.AuditEvent) bool { return e.Repository == "{r1}" }},
		{"combined", store.AuditQuery{Decision: "Denied", Role: role1}, 5 * time.Minute, func(e store.AuditEvent) bool { return e.Decision == "Denied" && e.Role == role1 }},
		{"no match", store.AuditQuery{Role: "arn:aws:iam::000000000000:role/none"}, time.Minute, func(store.AuditEvent) bool { return false }},
	}
	for _, tc := range tests {
		for _, r := range []struct{ since, until time.Duration }{{0, 40 * time.Minute}, {5*time.Minute + 30*time.Second, 27 * time.Minute}} {
			q := tc.q
			q.Since, q.Until = at(r.since), at(r.until)
			want := map[store.AuditCount]bool{}
			n := map[[2]any]int64{}
			for _, e := range evs {
				if tc.keep(e) && !e.Time.Before(q.Since) && e.Time.Before(q.Until) {
					n[[2]any{int(e.Time.Sub(q.Since) / tc.step), e.Decision}]++
				}
			}
			for k, v := range n {
				want[store.AuditCount{Step: k[0].(int), Decision: k[1].(string), N: v}] = true
			}
			got, err := s.CountAuditEvents(ctx, q, tc.step)
			must(t, "CountAuditEvents "+tc.name, err)
			gotSet := map[store.AuditCount]bool{}
			for _, c := range got {
				gotSet[c] = true
			}
			if len(got) != len(gotSet) || fmt.Sprint(sortedCounts(gotSet)) != fmt.Sprint(sortedCounts(want)) {
				t.Errorf("CountAuditEvents %s in [%v, %v) by %v:\n got %v\nwant %v", tc.name, r.since, r.until, tc.step, sortedCounts(gotSet), sortedCounts(want))
			}
		}
	}
	for _, bad := range []struct {
		q    store.AuditQuery
		step time.Duration
	}{
		{store.AuditQuery{Until: at(time.Hour)}, time.Minute},
		{store.AuditQuery{Since: at(0)}, time.Minute},
		{store.AuditQuery{Since: at(0), Until: at(time.Hour)}, 0},
	} {
		if got, err := s.CountAuditEvents(ctx, bad.q, bad.step); err == nil {
			t.Errorf("CountAuditEvents(since %v, until %v, step %v) = %v, want an error", bad.q.Since, bad.q.Until, bad.step, got)
		}
	}
}

// sortedCounts returns the counts of set ordered by step, then decision.
func sortedCounts(set map[store.AuditCount]bool) []store.AuditCount {
	out := slices.Collect(maps.Keys(set))
	slices.SortFunc(out, func(a, b store.AuditCount) int {
		if a.Step != b.Step {
			return a.Step - b.Step
		}
		return strings.Compare(a.Decision, b.Decision)
	})
	return out
}

// testAuditPrune checks PruneAuditEvents: by age, by count, both, in limited
// batches, never the newest event.
func testAuditPrune(t *testing.T, s store.Store) {
	ctx := t.Context()
	n, err := s.PruneAuditEvents(ctx, store.AuditPrune{Before: at(time.Hour), Keep: 1, Limit: 10})
	if err != nil || n != 0 {
		t.Fatalf("PruneAuditEvents on an empty store = %d, %v", n, err)
	}
	evs := auditFixture(t, s)
	left := func() string {
		t.Helper()
		got, err := s.QueryAuditEvents(ctx, store.AuditQuery{Order: store.AuditAppended})
		must(t, "QueryAuditEvents", err)
		return ids(got)
	}
	prune := func(p store.AuditPrune, wantN int) {
		t.Helper()
		n, err := s.PruneAuditEvents(ctx, p)
		must(t, "PruneAuditEvents", err)
		if n != wantN {
			t.Fatalf("PruneAuditEvents(%+v) deleted %d, want %d", p, n, wantN)
		}
	}
	prune(store.AuditPrune{}, 0) // no bound: nothing
	// Age, in batches of 4: q00..q09 are older than 10 minutes.
	prune(store.AuditPrune{Before: at(10 * time.Minute), Limit: 4}, 4)
	prune(store.AuditPrune{Before: at(10 * time.Minute), Limit: 4}, 4)
	prune(store.AuditPrune{Before: at(10 * time.Minute), Limit: 4}, 2)
	prune(store.AuditPrune{Before: at(10 * time.Minute), Limit: 4}, 0)
	want := ids(evs[10:]) + " timeless"
	if got := left(); got != want {
		t.Fatalf("after pruning by age:\n got %s\nwant %s", got, want)
	}
	// Count: keep the newest 5 in append order.
	prune(store.AuditPrune{Keep: 5}, 27)
	if got, want := left(), "q37 q38 q39 q40 timeless"; got != want {
		t.Fatalf("after pruning by count:\n got %s\nwant %s", got, want)
	}
	// Age past everything: the newest event (timeless: no time, so not old
	// either) stays; so does the newest when it is old.
	prune(store.AuditPrune{Before: at(24 * time.Hour), Keep: 100}, 4)
	if got := left(); got != "timeless" {
		t.Fatalf("after pruning all by age: %s", got)
	}
	must(t, "AppendAuditEvent", s.AppendAuditEvent(ctx, store.AuditEvent{ID: "old", Time: at(0), Action: "X", Decision: "Allowed"}))
	prune(store.AuditPrune{Before: at(time.Hour)}, 0)
	prune(store.AuditPrune{Keep: 1}, 1)
	if got := left(); got != "old" {
		t.Fatalf("after keeping 1: %s", got)
	}
	// A new event's Seq is above every earlier one's.
	must(t, "AppendAuditEvent", s.AppendAuditEvent(ctx, store.AuditEvent{ID: "new", Time: at(0), Action: "X", Decision: "Allowed"}))
	got, err := s.QueryAuditEvents(ctx, store.AuditQuery{Order: store.AuditAppended})
	must(t, "QueryAuditEvents", err)
	if ids(got) != "old new" || got[1].Seq <= got[0].Seq {
		t.Fatalf("after a new append: %s %+v", ids(got), got)
	}
}
