package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/keyless-dev/keyless/audit"
	"github.com/keyless-dev/keyless/explain"
	"github.com/keyless-dev/keyless/internal/server"
	"github.com/keyless-dev/keyless/store"
)

// auditPage is how many events the audit commands read per store query.
const auditPage = 1000

func newAuditCmd(s Streams) *cobra.Command {
	var dataDir, dsn string
	cmd := &cobra.Command{
		Use:   "audit",
		Short: "Query, follow, export and prune the audit log of STS and IAM decisions",
		Long: `Read the audit events a "keyless up" stores for every decision: who asked for what,
whether it was allowed, and for a denial the trust-policy statement and condition that
refused it, explained in the words of "keyless explain".

They work on the store a "keyless up" made: its --data directory, or its PostgreSQL
--store. Every filter is answered by an index, so queries stay fast on millions of
events. Events are kept as long as the server's audit retention says ("audit":
{"retention": "720h", "max_events": N} in its --config file); "keyless audit prune"
prunes once.`,
		Example: `  keyless audit tail --follow
  keyless audit query --decision denied --since 24h
  keyless audit query --role arn:aws:iam::000000000000:role/deploy --output json
  keyless audit export --since 2026-12-01T00:00:00Z > audit.jsonl`,
	}
	cmd.PersistentFlags().StringVar(&dataDir, "data", defaultDataDir(), "data directory of keyless up")
	cmd.PersistentFlags().StringVar(&dsn, "store", "", "PostgreSQL DSN, when keyless up runs with a PostgreSQL store")
	open := func(cmd *cobra.Command) (store.Store, error) {
		st, err := server.OpenExistingStore(cmd.Context(), dataDir, dsn)
		if err != nil {
			return nil, fmt.Errorf("audit %s: %w", cmd.Name(), err)
		}
		return st, nil
	}
	cmd.AddCommand(newAuditQueryCmd(s, open), newAuditTailCmd(s, open), newAuditExportCmd(s, open), newAuditPruneCmd(s, open))
	return cmd
}

// auditFilters are the flags that narrow every audit command's events.
type auditFilters struct {
	action, role, decision, repository string
}

func (f *auditFilters) register(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringVar(&f.action, "action", "", "only this action (e.g. AssumeRoleWithWebIdentity)")
	fl.StringVar(&f.role, "role", "", "only events about this role ARN")
	fl.StringVar(&f.decision, "decision", "", "only this decision: allowed, denied or error")
	fl.StringVar(&f.repository, "repository", "", "only tokens of this repository (Bitbucket repository UUID, GitHub owner/name, GitLab project path)")
}

// query returns the store query of the filters.
func (f *auditFilters) query() (store.AuditQuery, error) {
	q := store.AuditQuery{Action: f.action, Role: f.role, Repository: audit.RepositoryFilter(f.repository)}
	var ok bool
	if q.Decision, ok = audit.ParseDecision(f.decision); !ok {
		return q, fmt.Errorf("invalid --decision %q: use allowed, denied or error", f.decision)
	}
	return q, nil
}

// timeFlags are --since and --until.
type timeFlags struct{ since, until string }

func (t *timeFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringVar(&t.since, "since", "", "only events at or after this: a duration ago (30m, 24h, 7d) or an RFC 3339 time")
	cmd.Flags().StringVar(&t.until, "until", "", "only events before this: an RFC 3339 time or a duration ago")
}

func (t *timeFlags) apply(q *store.AuditQuery, now time.Time) error {
	var err error
	if q.Since, err = parseWhen("--since", t.since, now); err != nil {
		return err
	}
	if q.Until, err = parseWhen("--until", t.until, now); err != nil {
		return err
	}
	if !q.Since.IsZero() && !q.Until.IsZero() && !q.Since.Before(q.Until) {
		return fmt.Errorf("--since %s is not before --until %s", q.Since.Format(time.RFC3339), q.Until.Format(time.RFC3339))
	}
	return nil
}

// parseWhen reads an RFC 3339 time, or a duration before now (Go's units and
// d for days, e.g. 7d or 1d12h); empty is the zero time.
func parseWhen(flag, v string, now time.Time) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
		return t, nil
	}
	d, err := audit.ParseAge(v)
	if err != nil {
		return time.Time{}, fmt.Errorf("invalid %s %q: use a duration such as 30m, 24h or 7d, or an RFC 3339 time such as 2026-12-01T00:00:00Z", flag, v)
	}
	return now.Add(-d), nil
}

// outputFlag is --output for the commands that print events.
func outputFlag(cmd *cobra.Command, v *string, def string) {
	cmd.Flags().StringVarP(v, "output", "o", def, "output: table, json or jsonl")
}

func checkOutput(v string) error {
	switch v {
	case "table", "json", "jsonl":
		return nil
	}
	return fmt.Errorf("invalid --output %q: use table, json or jsonl", v)
}

func newAuditQueryCmd(s Streams, open func(*cobra.Command) (store.Store, error)) *cobra.Command {
	var (
		filters  auditFilters
		times    timeFlags
		limit    int
		output   string
		detailed bool
	)
	cmd := &cobra.Command{
		Use:   "query [--since D] [--until T] [--action A] [--role ARN] [--decision allowed|denied|error] [--repository R]",
		Short: "List audit events, newest first, with each denial explained",
		Long: `List the audit events the filters select, newest first. A denial is followed by the
trust-policy condition that refused it, with what the policy expected, what the request
had and how to fix it — as "keyless explain" says it. --explain prints every field of
each event instead of a table row.`,
		Example: `  keyless audit query --decision denied --since 24h
  keyless audit query --role arn:aws:iam::000000000000:role/deploy --decision denied --limit 5 --explain
  keyless audit query --repository acme/web --since 2026-12-01T00:00:00Z --until 2026-12-02T00:00:00Z --output jsonl`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkOutput(output); err != nil {
				return err
			}
			if limit < 0 {
				return fmt.Errorf("invalid --limit %d: use 0 (no limit) or more", limit)
			}
			q, err := filters.query()
			if err != nil {
				return err
			}
			if err := times.apply(&q, time.Now()); err != nil {
				return err
			}
			st, err := open(cmd)
			if err != nil {
				return err
			}
			defer st.Close()
			w := newEventWriter(s.Out, output, detailed)
			err = scanEvents(cmd.Context(), st, q, limit, w.write)
			return errors.Join(err, w.close())
		},
	}
	filters.register(cmd)
	times.register(cmd)
	cmd.Flags().IntVar(&limit, "limit", 100, "most events to list; 0 lists all")
	outputFlag(cmd, &output, "table")
	cmd.Flags().BoolVar(&detailed, "explain", false, "print every field of each event, and the explanation of each denial")
	return cmd
}

func newAuditExportCmd(s Streams, open func(*cobra.Command) (store.Store, error)) *cobra.Command {
	var (
		filters auditFilters
		times   timeFlags
	)
	cmd := &cobra.Command{
		Use:   "export [--since D] [--until T]",
		Short: "Write audit events as JSON Lines, oldest first, for a SIEM",
		Long: `Write the audit events the filters select to standard output as JSON Lines (one
object per line), oldest first, streaming: any number of events in constant memory.
Each object has the fields of "keyless audit query --output jsonl".`,
		Example: `  keyless audit export --since 24h > audit.jsonl
  keyless audit export --since 2026-12-01T00:00:00Z --until 2026-12-02T00:00:00Z | gzip > audit-2026-12-01.jsonl.gz`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			q, err := filters.query()
			if err != nil {
				return err
			}
			if err := times.apply(&q, time.Now()); err != nil {
				return err
			}
			q.Order = store.AuditOldestFirst
			st, err := open(cmd)
			if err != nil {
				return err
			}
			defer st.Close()
			w := newEventWriter(s.Out, "jsonl", false)
			err = scanEvents(cmd.Context(), st, q, 0, w.write)
			return errors.Join(err, w.close())
		},
	}
	filters.register(cmd)
	times.register(cmd)
	return cmd
}

func newAuditTailCmd(s Streams, open func(*cobra.Command) (store.Store, error)) *cobra.Command {
	var (
		filters  auditFilters
		lines    int
		follow   bool
		interval time.Duration
		output   string
		detailed bool
	)
	cmd := &cobra.Command{
		Use:   "tail [-n N] [--follow]",
		Short: "Print the last audit events, and with --follow new ones as they are stored",
		Long: `Print the last events stored (in the order they were stored), and with --follow keep
printing new ones, each once and in order, until interrupted. Denials are explained as
in "keyless audit query".`,
		Example: `  keyless audit tail
  keyless audit tail -n 50 --decision denied
  keyless audit tail --follow --output jsonl`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkOutput(output); err != nil {
				return err
			}
			if lines < 0 {
				return fmt.Errorf("invalid --lines %d", lines)
			}
			if interval <= 0 {
				return fmt.Errorf("invalid --interval %s", interval)
			}
			q, err := filters.query()
			if err != nil {
				return err
			}
			st, err := open(cmd)
			if err != nil {
				return err
			}
			defer st.Close()
			ctx := cmd.Context()
			if output == "json" && follow {
				output = "jsonl" // an array never ends
			}
			w := newEventWriter(s.Out, output, detailed)
			evs, f, err := audit.Tail(ctx, st, q, lines, 0, nil)
			if err != nil {
				return err
			}
			for _, e := range evs {
				if err := w.write(e); err != nil {
					return err
				}
			}
			if !follow {
				return w.close()
			}
			if err := w.flush(); err != nil {
				return err
			}
			t := time.NewTicker(interval)
			defer t.Stop()
			for {
				select {
				case <-ctx.Done():
					return w.close()
				case <-t.C:
				}
				evs, err := f.Poll(ctx)
				if err != nil && ctx.Err() == nil {
					return err
				}
				for _, e := range evs {
					if err := w.write(e); err != nil {
						return err
					}
				}
				if err := w.flush(); err != nil {
					return err
				}
			}
		},
	}
	filters.register(cmd)
	cmd.Flags().IntVarP(&lines, "lines", "n", 10, "how many of the last events to print first")
	cmd.Flags().BoolVarP(&follow, "follow", "f", false, "keep printing new events until interrupted")
	cmd.Flags().DurationVar(&interval, "interval", time.Second, "how often --follow reads the store")
	outputFlag(cmd, &output, "table")
	cmd.Flags().BoolVar(&detailed, "explain", false, "print every field of each event, and the explanation of each denial")
	return cmd
}

func newAuditPruneCmd(s Streams, open func(*cobra.Command) (store.Store, error)) *cobra.Command {
	var (
		olderThan string
		maxEvents int
		batch     int
	)
	cmd := &cobra.Command{
		Use:   "prune --older-than D | --max-events N",
		Short: "Delete old audit events once, in batches",
		Long: `Delete the audit events older than --older-than, and all but the newest --max-events,
in batches of --batch events (one short transaction each), so that a running server
keeps serving meanwhile. The newest event is always kept. A server prunes by itself
when its config sets "audit": {"retention": ..., "max_events": ...}.`,
		Example: `  keyless audit prune --older-than 30d
  keyless audit prune --max-events 1000000`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			r := audit.Retention{MaxEvents: maxEvents, BatchSize: batch}
			if olderThan != "" {
				d, err := audit.ParseAge(olderThan)
				if err != nil || d == 0 {
					return fmt.Errorf("invalid --older-than %q: use a duration such as 720h or 30d", olderThan)
				}
				r.MaxAge = d
			}
			if maxEvents < 0 || batch < 0 {
				return errors.New("--max-events and --batch must not be negative")
			}
			if !r.Enabled() {
				return errors.New("nothing to prune by: pass --older-than D and/or --max-events N")
			}
			st, err := open(cmd)
			if err != nil {
				return err
			}
			defer st.Close()
			n, err := audit.Prune(cmd.Context(), st, r)
			if err != nil {
				return err
			}
			fmt.Fprintf(s.Out, "Deleted %d audit events.\n", n)
			return nil
		},
	}
	cmd.Flags().StringVar(&olderThan, "older-than", "", "delete events older than this (720h, 30d)")
	cmd.Flags().IntVar(&maxEvents, "max-events", 0, "keep only the newest N events")
	cmd.Flags().IntVar(&batch, "batch", 1000, "events deleted per transaction")
	return cmd
}

// scanEvents calls fn with each event q selects, in q's order, at most limit
// (0: all), reading the store page by page.
func scanEvents(ctx context.Context, st store.Store, q store.AuditQuery, limit int, fn func(store.AuditEvent) error) error {
	done := 0
	for {
		q.Limit = auditPage
		if limit > 0 {
			q.Limit = min(auditPage, limit-done)
		}
		page, err := st.QueryAuditEvents(ctx, q)
		if err != nil {
			return err
		}
		for _, e := range page {
			if err := fn(e); err != nil {
				return err
			}
		}
		done += len(page)
		if len(page) < q.Limit || limit > 0 && done >= limit {
			return nil
		}
		q.After = page[len(page)-1].Cursor()
	}
}

// eventJSON is an event as the json and jsonl outputs (and export) write it.
type eventJSON struct {
	ID          string         `json:"id"`
	Time        time.Time      `json:"time"`
	RequestID   string         `json:"requestId"`
	Service     string         `json:"service,omitempty"`
	Action      string         `json:"action"`
	Decision    string         `json:"decision"`
	Caller      string         `json:"caller,omitempty"`
	Role        string         `json:"role,omitempty"`
	Repository  string         `json:"repository,omitempty"`
	SourceIP    string         `json:"sourceIp,omitempty"`
	ErrorCode   string         `json:"errorCode,omitempty"`
	Statement   string         `json:"statement,omitempty"`
	Condition   string         `json:"condition,omitempty"`
	Reason      string         `json:"reason,omitempty"`
	Explanation *explain.Check `json:"explanation,omitempty"`
}

// explanation is the check `keyless explain` reports for the condition that
// refused a denial, when the event kept it.
func explanation(e audit.Stored) *explain.Check {
	if e.Decision != audit.Denied || e.Failed == nil {
		return nil
	}
	c := explain.FailedCondition(e.Statement, e.Failed.Effect, e.Failed.ConditionTrace)
	return &c
}

func toJSON(e audit.Stored) eventJSON {
	return eventJSON{
		ID: e.ID, Time: e.Time, RequestID: e.RequestID, Service: e.Service, Action: e.Action, Decision: e.Decision,
		Caller: e.Caller, Role: e.Role, Repository: e.Repository, SourceIP: e.SourceIP, ErrorCode: e.ErrorCode,
		Statement: e.Statement, Condition: e.Condition, Reason: e.Reason, Explanation: explanation(e),
	}
}

// eventWriter prints events in one output format: a table (rows aligned per
// flush, each denial followed by its explanation), detail blocks (--explain),
// a JSON array, or JSON Lines.
type eventWriter struct {
	out      io.Writer
	format   string
	detailed bool
	n        int // events written
	rows     []audit.Stored
	header   bool // table header printed
}

func newEventWriter(out io.Writer, format string, detailed bool) *eventWriter {
	return &eventWriter{out: out, format: format, detailed: detailed}
}

func (w *eventWriter) write(se store.AuditEvent) error {
	e, err := audit.Decode(se)
	if err != nil {
		e.Reason = "(" + err.Error() + ")"
	}
	defer func() { w.n++ }()
	switch {
	case w.format == "jsonl":
		return json.NewEncoder(w.out).Encode(toJSON(e))
	case w.format == "json":
		b, err := json.MarshalIndent(toJSON(e), "  ", "  ")
		if err != nil {
			return err
		}
		sep := ",\n  "
		if w.n == 0 {
			sep = "[\n  "
		}
		_, err = fmt.Fprintf(w.out, "%s%s", sep, b)
		return err
	case w.detailed:
		return w.writeDetail(e)
	}
	w.rows = append(w.rows, e)
	if len(w.rows) >= auditPage {
		return w.flush()
	}
	return nil
}

// flush prints the table rows held.
func (w *eventWriter) flush() error {
	if w.format != "table" || w.detailed || len(w.rows) == 0 {
		return nil
	}
	var buf bytes.Buffer
	tw := tabwriter.NewWriter(&buf, 0, 4, 2, ' ', 0)
	if !w.header {
		fmt.Fprintln(tw, "TIME\tDECISION\tACTION\tROLE\tREPOSITORY\tCALLER")
	}
	for _, e := range w.rows {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", e.Time.UTC().Format(time.RFC3339), e.Decision, e.Action,
			dash(e.Role), dash(e.Repository), dash(e.Caller))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	lines := strings.SplitAfter(buf.String(), "\n")
	if !w.header {
		if _, err := io.WriteString(w.out, lines[0]); err != nil {
			return err
		}
		lines, w.header = lines[1:], true
	}
	var out strings.Builder
	for i, e := range w.rows {
		out.WriteString(lines[i])
		writeWhy(&out, e, "    ")
	}
	w.rows = w.rows[:0]
	_, err := io.WriteString(w.out, out.String())
	return err
}

// writeWhy writes why a denied or failed event was refused: the explanation
// of the failing condition when the event kept it, else its reason.
func writeWhy(b *strings.Builder, e audit.Stored, prefix string) {
	if c := explanation(e); c != nil {
		_ = c.WriteText(b, prefix)
		return
	}
	if e.Decision != audit.Allowed && e.Reason != "" {
		fmt.Fprintf(b, "%s  %s  %s\n", prefix, strings.ToUpper(e.Decision), e.Reason)
	}
}

func (w *eventWriter) writeDetail(e audit.Stored) error {
	var b strings.Builder
	if w.n > 0 {
		b.WriteString("\n")
	}
	field := func(name, v string) {
		if v != "" {
			fmt.Fprintf(&b, "%-12s%s\n", name+":", v)
		}
	}
	field("Event", e.ID)
	field("Time", e.Time.UTC().Format(time.RFC3339Nano))
	field("Request ID", e.RequestID)
	field("Service", e.Service)
	field("Action", e.Action)
	field("Decision", e.Decision)
	field("Caller", e.Caller)
	field("Role", e.Role)
	field("Repository", e.Repository)
	field("Source IP", e.SourceIP)
	field("Error code", e.ErrorCode)
	field("Statement", e.Statement)
	field("Condition", e.Condition)
	field("Reason", e.Reason)
	if c := explanation(e); c != nil {
		b.WriteString("Explanation:\n")
		_ = c.WriteText(&b, "")
	}
	_, err := io.WriteString(w.out, b.String())
	return err
}

// close ends the output (the JSON array's bracket, the table's last rows).
func (w *eventWriter) close() error {
	switch {
	case w.format == "json" && w.n == 0:
		_, err := io.WriteString(w.out, "[]\n")
		return err
	case w.format == "json":
		_, err := io.WriteString(w.out, "\n]\n")
		return err
	case w.format == "table" && !w.detailed && w.n == 0:
		_, err := io.WriteString(w.out, "No audit events.\n")
		return err
	}
	return w.flush()
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
