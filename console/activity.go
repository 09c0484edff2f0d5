package console

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/keyless-dev/keyless/audit"
	"github.com/keyless-dev/keyless/store"
)

// Errors of the Core that the handler answers with 404 and 400.
var (
	ErrNotFound = errors.New("not found")
	ErrInvalid  = errors.New("invalid")
)

// Buckets is how many steps the activity timeline has.
const Buckets = 60

// maxScan bounds the rows one activity request reads to filter by provider,
// for its page or its timeline.
const maxScan = 200_000

// ActivityQuery selects the activity view's events: Since to Until, the
// store's filters, and Provider (an IAM OIDC provider's ARN or URL).
type ActivityQuery struct {
	Since, Until time.Time
	Action       string
	Role         string // a role ARN
	Repository   string
	Provider     string
	Decision     string // audit.Allowed, audit.Denied, audit.Failed or ""
	Limit        int
	After        store.AuditCursor
}

// ParseActivityQuery reads the activity view's query parameters as `keyless
// audit` reads its flags (audit.ParseAge, ParseDecision, RepositoryFilter):
// since (a duration back from until, such as 24h, 7d or 1d12h, or RFC 3339), until (RFC 3339, default
// now), action, role (an ARN, or a name of account's role), repository,
// provider, decision (allowed, denied or error), limit (1 to 500, default 100)
// and after (a cursor the previous page returned).
func ParseActivityQuery(v url.Values, now time.Time, account string) (ActivityQuery, error) {
	q := ActivityQuery{Until: now, Limit: 100, Action: v.Get("action"), Repository: audit.RepositoryFilter(v.Get("repository")), Provider: v.Get("provider")}
	if s := v.Get("until"); s != "" {
		t, err := time.Parse(time.RFC3339, s)
		if err != nil {
			return q, fmt.Errorf("until %q is not an RFC 3339 time such as 2026-01-02T15:04:05Z", s)
		}
		q.Until = t
	}
	since := v.Get("since")
	if since == "" {
		since = "24h"
	}
	if d, err := audit.ParseAge(since); err == nil && d > 0 {
		q.Since = q.Until.Add(-d)
	} else if t, err := time.Parse(time.RFC3339, since); err == nil {
		q.Since = t
	} else {
		return q, fmt.Errorf("since %q is neither a duration such as 24h nor an RFC 3339 time", since)
	}
	if !q.Since.Before(q.Until) {
		return q, errors.New("since must be before until")
	}
	if r := v.Get("role"); r != "" {
		if !strings.HasPrefix(r, "arn:") {
			r = "arn:aws:iam::" + account + ":role/" + r
		}
		q.Role = r
	}
	var ok bool
	if q.Decision, ok = audit.ParseDecision(v.Get("decision")); !ok {
		return q, fmt.Errorf("decision %q is not allowed, denied or error", v.Get("decision"))
	}
	if s := v.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 500 {
			return q, fmt.Errorf("limit %q is not a number from 1 to 500", s)
		}
		q.Limit = n
	}
	if s := v.Get("after"); s != "" {
		c, err := parseCursor(s)
		if err != nil {
			return q, err
		}
		q.After = c
	}
	return q, nil
}

// formatCursor writes a cursor as "<unix microseconds>.<seq>".
func formatCursor(c store.AuditCursor) string {
	return strconv.FormatInt(c.Time.UnixMicro(), 10) + "." + strconv.FormatInt(c.Seq, 10)
}

func parseCursor(s string) (store.AuditCursor, error) {
	t, seq, ok := strings.Cut(s, ".")
	us, err1 := strconv.ParseInt(t, 10, 64)
	n, err2 := strconv.ParseInt(seq, 10, 64)
	if !ok || err1 != nil || err2 != nil || n <= 0 {
		return store.AuditCursor{}, fmt.Errorf("after %q is not a cursor this API returned", s)
	}
	return store.AuditCursor{Time: time.UnixMicro(us).UTC(), Seq: n}, nil
}

// EventJSON is one audit event as the console shows it.
type EventJSON struct {
	ID         string    `json:"id"`
	Time       time.Time `json:"time"`
	Action     string    `json:"action"`
	Service    string    `json:"service"`
	Decision   string    `json:"decision"` // allowed, denied or error
	Caller     string    `json:"caller"`
	Role       string    `json:"role"`
	Repository string    `json:"repository"`
	Provider   string    `json:"provider"`
	SourceIP   string    `json:"sourceIp"`
	ErrorCode  string    `json:"errorCode"`
	Reason     string    `json:"reason"`
}

// BucketJSON counts one step of the timeline.
type BucketJSON struct {
	Start   time.Time `json:"start"`
	Allowed int       `json:"allowed"`
	Denied  int       `json:"denied"`
	Error   int       `json:"error"`
}

// ActivityJSON is the activity view.
type ActivityJSON struct {
	Events        []EventJSON  `json:"events"`
	Next          string       `json:"next"`
	Buckets       []BucketJSON `json:"buckets"`
	BucketSeconds int64        `json:"bucketSeconds"`
}

// decisionName is the console's word for an audit decision.
func decisionName(d string) string {
	switch d {
	case audit.Allowed:
		return "allowed"
	case audit.Denied:
		return "denied"
	}
	return "error"
}

// issuerOf is the issuer of a web identity event's caller ("iss sub"), else "".
func issuerOf(caller string) string {
	if strings.HasPrefix(caller, "https://") {
		iss, _, _ := strings.Cut(caller, " ")
		return iss
	}
	return ""
}

// providers maps provider URLs (without https://) to their ARNs.
type providers map[string]string

func (c *Core) providers(ctx context.Context) (providers, error) {
	list, err := c.st.ListOIDCProviders(ctx)
	if err != nil {
		return nil, fmt.Errorf("console: list providers: %w", err)
	}
	m := providers{}
	for _, p := range list {
		m[strings.TrimPrefix(p.URL, "https://")] = p.ARN
	}
	return m, nil
}

// of is the provider of an event: the ARN of the provider its issuer matches,
// or the issuer URL when none does.
func (ps providers) of(caller string) string {
	iss := issuerOf(caller)
	if iss == "" {
		return ""
	}
	if arn, ok := ps[strings.TrimPrefix(iss, "https://")]; ok {
		return arn
	}
	return iss
}

// matches reports whether an event's provider is want (an ARN or URL).
func (ps providers) matches(caller, want string) bool {
	got := ps.of(caller)
	if got == "" {
		return false
	}
	w := strings.TrimPrefix(want, "https://")
	return got == want || strings.TrimPrefix(issuerOf(caller), "https://") == w || ps[w] == got
}

func (ps providers) event(e store.AuditEvent) EventJSON {
	s, _ := audit.Decode(e) // an undecodable detail keeps the columns
	return EventJSON{
		ID: e.ID, Time: e.Time, Action: e.Action, Service: s.Service, Decision: decisionName(e.Decision),
		Caller: e.Caller, Role: e.Role, Repository: e.Repository, Provider: ps.of(e.Caller),
		SourceIP: s.SourceIP, ErrorCode: s.ErrorCode, Reason: s.Reason,
	}
}

// storeQuery is the store's part of q.
func (q ActivityQuery) storeQuery() store.AuditQuery {
	return store.AuditQuery{Since: q.Since, Until: q.Until, Action: q.Action, Role: q.Role, Decision: q.Decision, Repository: q.Repository}
}

// Activity is the activity view: a page of events, newest first (keyset
// pages), and the timeline's counts over [Since, Until).
func (c *Core) Activity(ctx context.Context, q ActivityQuery) (ActivityJSON, error) {
	ps, err := c.providers(ctx)
	if err != nil {
		return ActivityJSON{}, err
	}
	out := ActivityJSON{Events: []EventJSON{}}
	sq := q.storeQuery()
	sq.Order, sq.After = store.AuditNewestFirst, q.After
	sq.Limit = q.Limit
	if q.Provider != "" {
		sq.Limit = 500
	}
	for scanned := 0; len(out.Events) < q.Limit && scanned < maxScan; {
		page, err := c.st.QueryAuditEvents(ctx, sq)
		if err != nil {
			return ActivityJSON{}, fmt.Errorf("console: activity: %w", err)
		}
		scanned += len(page)
		for _, e := range page {
			sq.After = e.Cursor()
			if q.Provider != "" && !ps.matches(e.Caller, q.Provider) {
				continue
			}
			out.Events = append(out.Events, ps.event(e))
			if len(out.Events) == q.Limit {
				out.Next = formatCursor(e.Cursor())
				break
			}
		}
		if len(out.Events) == q.Limit {
			break
		}
		if len(page) < sq.Limit {
			out.Next = "" // the store has no more rows
			break
		}
		out.Next = formatCursor(sq.After) // more may follow the rows read
	}
	if out.Buckets, out.BucketSeconds, err = c.buckets(ctx, q, ps); err != nil {
		return ActivityJSON{}, err
	}
	return out, nil
}

// buckets counts the events q selects in Buckets steps of [Since, Until).
//
// Unfiltered (or by decision only), totals come from sequence numbers: the
// events of a step are those between the first event at or after its start
// and the first at or after its end, in append order, which one indexed query
// of one row per boundary finds; denials and errors are counted by the store
// over their partial index; allowed decisions are the rest. This is exact
// when events are appended in time order with consecutive sequence numbers,
// as the audit recorder appends them to SQLite (PostgreSQL may skip numbers
// after a rolled-back append, over-counting allowed decisions by as many).
// Filtered by role, repository or action, the store counts the filtered
// events by their index; filtered by provider, which the store does not
// know, the events are read (at most maxScan) and matched.
func (c *Core) buckets(ctx context.Context, q ActivityQuery, ps providers) ([]BucketJSON, int64, error) {
	span := q.Until.Sub(q.Since)
	step := (span + Buckets - 1) / Buckets
	if step < time.Second {
		step = time.Second
	}
	step = step.Truncate(time.Second)
	if step*Buckets < span {
		step += time.Second
	}
	out := make([]BucketJSON, Buckets)
	for i := range out {
		out[i].Start = q.Since.Add(time.Duration(i) * step).UTC()
	}
	index := func(t time.Time) int {
		i := int(t.Sub(q.Since) / step)
		if i < 0 || i >= Buckets || !t.Before(q.Until) {
			return -1
		}
		return i
	}
	count := func(sq store.AuditQuery) error {
		sq.Order = store.AuditNewestFirst
		sq.Limit = 1000
		for scanned := 0; scanned < maxScan; {
			page, err := c.st.QueryAuditEvents(ctx, sq)
			if err != nil {
				return fmt.Errorf("console: activity timeline: %w", err)
			}
			scanned += len(page)
			for _, e := range page {
				if q.Provider != "" && !ps.matches(e.Caller, q.Provider) {
					continue
				}
				if i := index(e.Time); i >= 0 {
					switch e.Decision {
					case audit.Allowed:
						out[i].Allowed++
					case audit.Denied:
						out[i].Denied++
					default:
						out[i].Error++
					}
				}
			}
			if len(page) < sq.Limit {
				break
			}
			sq.After = page[len(page)-1].Cursor()
		}
		return nil
	}
	// tally adds the store's counts of what sq selects.
	tally := func(sq store.AuditQuery) error {
		counts, err := c.st.CountAuditEvents(ctx, sq, step)
		if err != nil {
			return fmt.Errorf("console: activity timeline: %w", err)
		}
		for _, n := range counts {
			if n.Step < 0 || n.Step >= Buckets {
				continue
			}
			switch n.Decision {
			case audit.Allowed:
				out[n.Step].Allowed += int(n.N)
			case audit.Denied:
				out[n.Step].Denied += int(n.N)
			default:
				out[n.Step].Error += int(n.N)
			}
		}
		return nil
	}
	base := q.storeQuery()
	if q.Provider != "" {
		return out, int64(step / time.Second), count(base)
	}
	if q.Role != "" || q.Repository != "" || q.Action != "" {
		return out, int64(step / time.Second), tally(base)
	}
	switch q.Decision {
	case audit.Denied, audit.Failed:
		return out, int64(step / time.Second), tally(base)
	}
	// Totals per step from sequence numbers.
	last, err := c.st.QueryAuditEvents(ctx, store.AuditQuery{Order: store.AuditLastAppended, Limit: 1})
	if err != nil {
		return nil, 0, fmt.Errorf("console: activity timeline: %w", err)
	}
	if len(last) == 0 {
		return out, int64(step / time.Second), nil
	}
	end := last[0].Seq + 1
	bound := make([]int64, Buckets+1)
	for i := range bound {
		t := q.Since.Add(time.Duration(i) * step)
		if i == Buckets || t.After(q.Until) {
			t = q.Until
		}
		first, err := c.st.QueryAuditEvents(ctx, store.AuditQuery{Since: t, Order: store.AuditOldestFirst, Limit: 1})
		if err != nil {
			return nil, 0, fmt.Errorf("console: activity timeline: %w", err)
		}
		bound[i] = end
		if len(first) == 1 {
			bound[i] = first[0].Seq
		}
	}
	others := base
	for _, d := range []string{audit.Denied, audit.Failed} {
		others.Decision = d
		if err := tally(others); err != nil {
			return nil, 0, err
		}
	}
	for i := range out {
		total := int(max(bound[i+1]-bound[i], 0))
		allowed := max(total-out[i].Denied-out[i].Error, 0)
		if q.Decision == audit.Allowed {
			out[i].Denied, out[i].Error = 0, 0
		}
		out[i].Allowed = allowed
	}
	return out, int64(step / time.Second), nil
}

// eventTime is the time an audit event ID starts with (audit's newID: the
// first 12 hex digits are Unix milliseconds).
func eventTime(id string) (time.Time, error) {
	if len(id) != 32 {
		return time.Time{}, fmt.Errorf("%w: %q is not an audit event id (32 hex digits)", ErrInvalid, id)
	}
	b, err := hex.DecodeString(id)
	if err != nil {
		return time.Time{}, fmt.Errorf("%w: %q is not an audit event id (32 hex digits)", ErrInvalid, id)
	}
	var ms int64
	for _, x := range b[:6] {
		ms = ms<<8 | int64(x)
	}
	return time.UnixMilli(ms).UTC(), nil
}

// find reads the stored event with id, by the millisecond its id names.
func (c *Core) find(ctx context.Context, id string) (store.AuditEvent, error) {
	t, err := eventTime(id)
	if err != nil {
		return store.AuditEvent{}, err
	}
	evs, err := c.st.QueryAuditEvents(ctx, store.AuditQuery{Since: t, Until: t.Add(time.Millisecond), Order: store.AuditOldestFirst})
	if err != nil {
		return store.AuditEvent{}, fmt.Errorf("console: read event: %w", err)
	}
	for _, e := range evs {
		if e.ID == id {
			return e, nil
		}
	}
	return store.AuditEvent{}, ErrNotFound
}
