package store

import "time"

// AuditOrder is the order QueryAuditEvents returns events in.
type AuditOrder int

// Orders of QueryAuditEvents.
const (
	// AuditNewestFirst orders by Time, newest first; ties (equal times) last
	// appended first. Events with a zero Time are not returned in this order nor
	// in AuditOldestFirst.
	AuditNewestFirst AuditOrder = iota
	// AuditOldestFirst orders by Time, oldest first; ties first appended first.
	AuditOldestFirst
	// AuditAppended orders by Seq, first appended first: what a reader following
	// the log (keyless audit tail --follow) continues from.
	AuditAppended
	// AuditLastAppended orders by Seq, last appended first.
	AuditLastAppended
)

// AuditQuery selects audit events. Every set field narrows the selection; the
// string filters match exactly. Each filter is served by an index with time
// order, so a query stays fast however many events the store holds.
type AuditQuery struct {
	// Since (inclusive) and Until (exclusive) bound the event Time; zero is unbounded.
	Since, Until time.Time
	Action       string
	Role         string
	Decision     string
	Repository   string
	// Order is the order of the results (default AuditNewestFirst).
	Order AuditOrder
	// After continues a query (keyset pagination): only events after this
	// position in Order are returned. The zero cursor starts at the beginning.
	After AuditCursor
	// Limit is the most events returned; 0 or less means no limit.
	Limit int
}

// AuditCursor is a position in the order of an AuditQuery: that of the last
// event of the previous page (AuditEvent.Cursor). The append orders use only Seq.
type AuditCursor struct {
	Time time.Time
	Seq  int64
}

// IsZero reports whether c is the zero cursor (the beginning).
func (c AuditCursor) IsZero() bool { return c.Seq == 0 && c.Time.IsZero() }

// Cursor is e's position, to continue a query after e. e must come from
// QueryAuditEvents (which sets Seq).
func (e AuditEvent) Cursor() AuditCursor { return AuditCursor{Time: e.Time, Seq: e.Seq} }

// AuditCount is how many events of one decision fall in one step of a
// CountAuditEvents range. Only steps and decisions with events have one, in
// no particular order.
type AuditCount struct {
	// Step is the step's index: its events' times are in
	// [Since + Step×step, Since + (Step+1)×step).
	Step     int
	Decision string
	N        int64
}

// AuditPrune selects audit events to delete: those older than Before, and
// those beyond the newest Keep in append order. The newest event (highest Seq)
// is never deleted, so that sequence numbers never go back (SQLite would reuse
// them) and a follower's position stays valid.
type AuditPrune struct {
	// Before deletes events whose Time is before it; zero: no age bound.
	Before time.Time
	// Keep deletes the events appended more than Keep appends before the newest
	// (by Seq: all but the newest Keep, or fewer where sequence numbers were
	// skipped, as a rolled-back append may do in PostgreSQL); 0: no count bound.
	Keep int
	// Limit is the most events deleted by one call (one transaction); 0 or less
	// means no limit.
	Limit int
}
