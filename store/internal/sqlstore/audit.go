package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/keyless-dev/keyless/store"
)

// auditQueryMigration adds the repository a web identity token names, and the
// indexes that serve each filter of QueryAuditEvents in time order (the
// equality column first, then at and seq, so that a filtered page is a range
// scan that stops at the limit). Each index costs the audit writer (a batch
// touches one page per distinct value), so three are partial: decisions other
// than Allowed (what an operator looks for; Allowed events are most of the
// table, and the time index finds them), and non-empty roles and repositories
// (most S3, IAM and Secrets Manager calls have neither). A query names the
// index's condition literally (QueryAuditEvents), so that SQLite, which does
// not derive it from the filter's equality, uses the index. Role with
// decision, the commonest combination, has none of its own: its query reads
// the role's events of the period until it has a page of the decision
// (BenchmarkAuditQuery).
var auditQueryMigration = []string{
	`ALTER TABLE audit_events ADD COLUMN repository {text} NOT NULL DEFAULT ''`,
	`CREATE INDEX audit_events_decision ON audit_events (decision, at, seq) WHERE ` + partialDecision,
	`CREATE INDEX audit_events_role ON audit_events (role_name, at, seq) WHERE ` + partialRole,
	`CREATE INDEX audit_events_action ON audit_events (action, at, seq)`,
	`CREATE INDEX audit_events_repository ON audit_events (repository, at, seq) WHERE ` + partialRepository,
}

// The conditions of the partial audit indexes, which QueryAuditEvents repeats.
const (
	partialDecision   = `decision <> 'Allowed'`
	partialRole       = `role_name <> ''`
	partialRepository = `repository <> ''`
)

// AppendAuditEvent appends an audit event; event IDs are unique.
func (s *Store) AppendAuditEvent(ctx context.Context, e store.AuditEvent) error {
	return create(ctx, s, auditEvents, e, e.ID)
}

// AppendAuditEvents appends events in one transaction, in slice order (one
// prepared single-row INSERT executed per event, so sequence numbers follow
// the slice). Nothing is appended if any event fails (a duplicate ID gives an
// error wrapping store.ErrAlreadyExists).
func (s *Store) AppendAuditEvents(ctx context.Context, events []store.AuditEvent) error {
	if len(events) == 0 {
		return nil
	}
	e := auditEvents
	err := func() error {
		tx, err := s.w.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		defer func() { _ = tx.Rollback() }()
		q := "INSERT INTO " + e.table + " (" + strings.Join(e.cols, ", ") + ") VALUES (" + placeholders(1, len(e.cols)) + ")"
		stmt, err := tx.PrepareContext(ctx, q)
		if err != nil {
			return err
		}
		defer func() { _ = stmt.Close() }()
		for _, ev := range events {
			if _, err := stmt.ExecContext(ctx, e.args(ev)...); err != nil {
				return s.d.mapErr(err)
			}
			// Let the requests waiting for this thread run between rows: SQLite's
			// transpiled code runs a whole batch (milliseconds) without blocking,
			// so that on a small machine the requests queued behind it waited for
			// the batch and a GC stop-the-world for its next preemption point.
			runtime.Gosched()
		}
		return tx.Commit()
	}()
	if err != nil {
		return fmt.Errorf("store: append %d audit events: %w", len(events), err)
	}
	return nil
}

// ListAuditEvents returns the events at or after since (all when since is zero),
// newest first, at most limit of them (all when limit is 0 or less).
func (s *Store) ListAuditEvents(ctx context.Context, since time.Time, limit int) ([]store.AuditEvent, error) {
	if since.IsZero() {
		return list(ctx, s, auditEvents, "", limit)
	}
	return list(ctx, s, auditEvents, "at >= $1", limit, since.UnixMicro())
}

var auditEvents = &entity[store.AuditEvent]{
	what:  "audit event",
	table: "audit_events",
	from:  "audit_events",
	cols:  []string{"id", "at", "request_id", "action", "caller", "role_name", "decision", "repository", "detail"},
	read:  []string{"id", "at", "request_id", "action", "caller", "role_name", "decision", "repository", "detail"},
	key:   []string{"id"},
	order: "at DESC NULLS LAST, seq DESC",
	args: func(e store.AuditEvent) []any {
		return []any{e.ID, micros(e.Time), e.RequestID, e.Action, e.Caller, e.Role, e.Decision, e.Repository, blob(e.Detail)}
	},
	scan: func(r row) (store.AuditEvent, error) {
		var e store.AuditEvent
		var at sql.NullInt64
		err := r.Scan(&e.ID, &at, &e.RequestID, &e.Action, &e.Caller, &e.Role, &e.Decision, &e.Repository, &e.Detail)
		e.Detail = nilIfEmpty(e.Detail)
		e.Time = timeOf(at)
		return e, err
	},
}

// auditFilters returns the conditions of q's filters (decision, role, action,
// repository), arg adding each value as a parameter.
func auditFilters(q store.AuditQuery, arg func(any) string) []string {
	var conds []string
	for _, f := range [...]struct{ col, val, partial, outside string }{
		{"decision", q.Decision, partialDecision, "Allowed"},
		{"role_name", q.Role, partialRole, ""},
		{"action", q.Action, "", ""},
		{"repository", q.Repository, partialRepository, ""},
	} {
		if f.val == "" {
			continue
		}
		conds = append(conds, f.col+" = "+arg(f.val))
		// The index's condition, literally, so that the index can serve;
		// but not the decision's with a role or repository, whose indexes
		// serve better (a role's events of a period are fewer than all the
		// period's denials) and which SQLite, with both, would not choose.
		byRoleOrRepo := q.Role != "" || q.Repository != ""
		if f.partial != "" && f.val != f.outside && (f.col != "decision" || !byRoleOrRepo) {
			conds = append(conds, f.partial)
		}
	}
	return conds
}

// CountAuditEvents counts the events q selects by decision in steps of step
// from q.Since, in the database: one grouped range scan of the index that
// serves q's filters (for a decision other than Allowed, its partial index,
// which holds every column the count reads), however many events match.
func (s *Store) CountAuditEvents(ctx context.Context, q store.AuditQuery, step time.Duration) ([]store.AuditCount, error) {
	if q.Since.IsZero() || q.Until.IsZero() || step < time.Microsecond {
		return nil, fmt.Errorf("store: count audit events: give Since, Until and a step of at least 1µs (got %v, %v, %v)", q.Since, q.Until, step)
	}
	var args []any
	arg := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	conds := auditFilters(q, arg)
	since := arg(q.Since.UnixMicro())
	conds = append(conds, "at >= "+since, "at < "+arg(q.Until.UnixMicro()))
	query := "SELECT (at - " + since + ") / " + arg(step.Microseconds()) + ", decision, COUNT(*) FROM audit_events WHERE " +
		strings.Join(conds, " AND ") + " GROUP BY 1, 2"
	out, err := func() ([]store.AuditCount, error) {
		rows, err := s.r.QueryContext(ctx, query, args...)
		if err != nil {
			return nil, err
		}
		defer func() { _ = rows.Close() }()
		var out []store.AuditCount
		for rows.Next() {
			var c store.AuditCount
			if err := rows.Scan(&c.Step, &c.Decision, &c.N); err != nil {
				return nil, err
			}
			out = append(out, c)
		}
		return out, rows.Err()
	}()
	if err != nil {
		return nil, fmt.Errorf("store: count audit events: %w", err)
	}
	return out, nil
}

// QueryAuditEvents returns the events q selects, in q.Order, with their Seq
// set. Pages continue by keyset (q.After), never by offset, so that every page
// is one index range scan however deep it is.
func (s *Store) QueryAuditEvents(ctx context.Context, q store.AuditQuery) ([]store.AuditEvent, error) {
	var (
		conds []string
		args  []any
	)
	arg := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	conds = auditFilters(q, arg)
	// past reports whether an event's time (microseconds) is beyond the far
	// end of a time-ordered query: rows come in order, so the first one past
	// it ends the query.
	past := func(int64) bool { return false }
	var order string
	switch q.Order {
	case store.AuditNewestFirst, store.AuditOldestFirst:
		// Only the near end of the time range (and the cursor) is a bound in
		// SQL: the far end is checked on the rows as they come. SQLite's
		// planner, without statistics, takes a range bounded at both ends for
		// more selective than an equality, and would pick an index by it; the
		// scan stops at the limit anyway.
		op, dir := "<", "DESC"
		near, far := q.Until, q.Since
		nearOp := "at < "
		past = func(at int64) bool { return !far.IsZero() && at < far.UnixMicro() }
		if q.Order == store.AuditOldestFirst {
			op, dir = ">", "ASC"
			near, far = q.Since, q.Until
			nearOp = "at >= "
			past = func(at int64) bool { return !far.IsZero() && at >= far.UnixMicro() }
		}
		if !near.IsZero() {
			conds = append(conds, nearOp+arg(near.UnixMicro()))
		}
		if !q.After.IsZero() {
			// (at, seq) beyond the cursor, written so that the range on at is
			// an index bound in both databases.
			t := arg(q.After.Time.UnixMicro())
			conds = append(conds, "at "+op+"= "+t+" AND (at "+op+" "+t+" OR seq "+op+" "+arg(q.After.Seq)+")")
		}
		if near.IsZero() && q.After.IsZero() {
			conds = append(conds, "at IS NOT NULL")
		}
		order = "at " + dir + ", seq " + dir
	case store.AuditAppended, store.AuditLastAppended:
		if !q.Since.IsZero() {
			conds = append(conds, "at >= "+arg(q.Since.UnixMicro()))
		}
		if !q.Until.IsZero() {
			conds = append(conds, "at < "+arg(q.Until.UnixMicro()))
		}
		op, dir := ">", "ASC"
		if q.Order == store.AuditLastAppended {
			op, dir = "<", "DESC"
		}
		if !q.After.IsZero() {
			conds = append(conds, "seq "+op+" "+arg(q.After.Seq))
		}
		order = "seq " + dir
	default:
		return nil, fmt.Errorf("store: query audit events: unknown order %d", q.Order)
	}
	e := auditEvents
	query := "SELECT " + strings.Join(e.read, ", ") + ", seq FROM " + e.from
	if len(conds) > 0 {
		query += " WHERE " + strings.Join(conds, " AND ")
	}
	query += " ORDER BY " + order
	if q.Limit > 0 {
		query += " LIMIT " + arg(q.Limit)
	}
	out, err := func() ([]store.AuditEvent, error) {
		rows, err := s.r.QueryContext(ctx, query, args...)
		if err != nil {
			return nil, err
		}
		defer func() { _ = rows.Close() }()
		var out []store.AuditEvent
		for rows.Next() {
			var ev store.AuditEvent
			var at sql.NullInt64
			if err := rows.Scan(&ev.ID, &at, &ev.RequestID, &ev.Action, &ev.Caller, &ev.Role, &ev.Decision,
				&ev.Repository, &ev.Detail, &ev.Seq); err != nil {
				return nil, err
			}
			if past(at.Int64) {
				break
			}
			ev.Detail = nilIfEmpty(ev.Detail)
			ev.Time = timeOf(at)
			out = append(out, ev)
		}
		return out, rows.Err()
	}()
	if err != nil {
		return nil, fmt.Errorf("store: query audit events: %w", err)
	}
	return out, nil
}

// PruneAuditEvents deletes, in one transaction, at most p.Limit events: first
// those older than p.Before (oldest first), then those more than p.Keep
// sequence numbers before the newest. The newest event is always kept.
func (s *Store) PruneAuditEvents(ctx context.Context, p store.AuditPrune) (int, error) {
	if p.Before.IsZero() && p.Keep <= 0 {
		return 0, nil
	}
	n, err := func() (int, error) {
		tx, err := s.w.BeginTx(ctx, nil)
		if err != nil {
			return 0, err
		}
		defer func() { _ = tx.Rollback() }()
		var newest sql.NullInt64
		if err := tx.QueryRowContext(ctx, `SELECT MAX(seq) FROM audit_events`).Scan(&newest); err != nil {
			return 0, err
		}
		if !newest.Valid {
			return 0, nil // no events
		}
		limit := p.Limit
		if limit <= 0 {
			limit = -1
		}
		deleted := 0
		// del deletes up to the remaining limit of the events sel selects, in
		// order; sel is a SELECT of seq whose last parameter is the limit.
		del := func(sel string, args ...any) error {
			if limit >= 0 && deleted >= limit {
				return nil
			}
			lim := int64(limit - deleted)
			if limit < 0 {
				lim = 1<<62 - 1
			}
			res, err := tx.ExecContext(ctx, `DELETE FROM audit_events WHERE seq IN (`+sel+`)`, append(args, lim)...)
			if err != nil {
				return err
			}
			n, err := res.RowsAffected()
			deleted += int(n)
			return err
		}
		if !p.Before.IsZero() {
			if err := del(`SELECT seq FROM audit_events WHERE at < $1 AND seq < $2 ORDER BY at, seq LIMIT $3`,
				p.Before.UnixMicro(), newest.Int64); err != nil {
				return 0, err
			}
		}
		if p.Keep > 0 {
			// By sequence number, so that finding the cut costs nothing however
			// many events are kept.
			if cut := newest.Int64 - int64(p.Keep); cut > 0 {
				if err := del(`SELECT seq FROM audit_events WHERE seq <= $1 ORDER BY seq LIMIT $2`, cut); err != nil {
					return 0, err
				}
			}
		}
		return deleted, tx.Commit()
	}()
	if err != nil {
		return 0, fmt.Errorf("store: prune audit events: %w", err)
	}
	return n, nil
}
