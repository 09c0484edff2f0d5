package sqlstore_test

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/keyless-dev/keyless/store"
	"github.com/keyless-dev/keyless/store/internal/sqlstore"
	"github.com/keyless-dev/keyless/store/postgres"
	"github.com/keyless-dev/keyless/store/postgres/pgtest"
	"github.com/keyless-dev/keyless/store/sqlite"
)

// The audit query benchmark generates KEYLESS_AUDIT_BENCH_EVENTS events
// (default 10 million) straight into a fresh store, spread over 30 days and
// ending now: 100 roles, 500 repositories, 5 % denied (decorrelated from the
// role), 2 % CreateRole, the rest AssumeRoleWithWebIdentity. It then measures
// the queries of `keyless audit query`. It is not part of the default test run
// (a benchmark) and takes minutes to generate:
//
//	go test ./store/internal/sqlstore -run '^$' -bench AuditQuery -benchtime 200x -timeout 60m
//
// KEYLESS_TEST_POSTGRES_DSN adds the PostgreSQL backend. KEYLESS_AUDIT_BENCH_DB
// names a SQLite file to keep the generated events in and reuse on the next run
// (the prune benchmark, last, deletes some of the oldest: 1,000 per iteration).

const benchSpan = 30 * 24 * time.Hour

func benchEvents(b *testing.B) int {
	n := 10_000_000
	if v := os.Getenv("KEYLESS_AUDIT_BENCH_EVENTS"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n < 1000 {
			b.Fatalf("KEYLESS_AUDIT_BENCH_EVENTS=%q: want a number of at least 1000", v)
		}
	}
	return n
}

// generated is the events' SELECT, in each dialect: $1 and $2 bound the
// numbers i, $3 is the first event's time and $4 the step between two, in
// microseconds. The hash h (Knuth's multiplicative hash, high bits)
// decorrelates the decision from the role.
var generated = map[string]string{
	"sqlite": `WITH RECURSIVE s(i) AS (SELECT $1 UNION ALL SELECT i + 1 FROM s WHERE i + 1 < $2),
		h(i, h) AS (SELECT i, (i * 2654435761) % 4294967296 / 4096 FROM s)
		SELECT printf('%032x', i), $3 + i * $4, 'req-' || i,
			CASE WHEN i % 50 = 0 THEN 'CreateRole' ELSE 'AssumeRoleWithWebIdentity' END,
			'https://127.0.0.1:8400/2.0/workspaces/acme/pipelines-config/identity/oidc {ws}:{repo-' || (i % 500) || '}:{step}',
			'arn:aws:iam::000000000000:role/role-' || (i % 100),
			CASE WHEN h % 20 = 0 THEN 'Denied' ELSE 'Allowed' END,
			'{repo-' || (i % 500) || '}',
			CAST(CASE WHEN h % 20 = 0 THEN '{"service":"sts","sourceIp":"127.0.0.1","errorCode":"AccessDenied","statement":"\"RepoOnly\"","condition":"StringLike \"sub\" wants [\"{repo}:*\"], the request has [\"{other}:{step}\"]","reason":"sts:AssumeRoleWithWebIdentity: ImplicitlyDenied"}'
				ELSE '{"service":"sts","sourceIp":"127.0.0.1"}' END AS BLOB)
		FROM h`,
	"postgres": `SELECT lpad(to_hex(i), 32, '0'), $3 + i * $4, 'req-' || i,
			CASE WHEN i % 50 = 0 THEN 'CreateRole' ELSE 'AssumeRoleWithWebIdentity' END,
			'https://127.0.0.1:8400/2.0/workspaces/acme/pipelines-config/identity/oidc {ws}:{repo-' || (i % 500) || '}:{step}',
			'arn:aws:iam::000000000000:role/role-' || (i % 100),
			CASE WHEN (i * 2654435761) % 4294967296 / 4096 % 20 = 0 THEN 'Denied' ELSE 'Allowed' END,
			'{repo-' || (i % 500) || '}',
			convert_to(CASE WHEN (i * 2654435761) % 4294967296 / 4096 % 20 = 0 THEN '{"service":"sts","sourceIp":"127.0.0.1","errorCode":"AccessDenied","statement":"\"RepoOnly\"","condition":"StringLike \"sub\" wants [\"{repo}:*\"], the request has [\"{other}:{step}\"]","reason":"sts:AssumeRoleWithWebIdentity: ImplicitlyDenied"}'
				ELSE '{"service":"sts","sourceIp":"127.0.0.1"}' END, 'UTF8')
		FROM generate_series($1::bigint, $2::bigint - 1) AS i`,
}

// populate generates n events into db in transactions of a million rows, the
// newest at end.
func populate(b *testing.B, db *sql.DB, dialect string, n int, end time.Time) {
	b.Helper()
	ctx := context.Background()
	step := benchSpan.Microseconds() / int64(n)
	first := end.Add(-benchSpan).UnixMicro()
	start := time.Now()
	// Building the indexes once after the rows is far faster than keeping them
	// up to date row by row; the result is the same.
	indexes := map[string]string{}
	for _, name := range []string{"audit_events_at", "audit_events_decision", "audit_events_role", "audit_events_action", "audit_events_repository"} {
		var def string
		q := `SELECT sql FROM sqlite_master WHERE name = $1`
		if dialect == "postgres" {
			q = `SELECT indexdef FROM pg_indexes WHERE indexname = $1 AND schemaname = current_schema()`
		}
		if err := db.QueryRowContext(ctx, q, name).Scan(&def); err != nil {
			b.Fatalf("index %s: %v", name, err)
		}
		indexes[name] = def
		if _, err := db.ExecContext(ctx, `DROP INDEX `+name); err != nil {
			b.Fatal(err)
		}
	}
	const chunk = 1_000_000
	for lo := 0; lo < n; lo += chunk {
		hi := min(lo+chunk, n)
		q := `INSERT INTO audit_events (id, at, request_id, action, caller, role_name, decision, repository, detail) ` + generated[dialect]
		if _, err := db.ExecContext(ctx, q, lo, hi, first, step); err != nil {
			b.Fatalf("generate events %d-%d: %v", lo, hi, err)
		}
	}
	rows := time.Since(start)
	for _, def := range indexes {
		if _, err := db.ExecContext(ctx, def); err != nil {
			b.Fatalf("%s: %v", def, err)
		}
	}
	b.Logf("%s: generated %d events in %s (rows %s, indexes %s)", dialect, n, time.Since(start).Round(time.Second),
		rows.Round(time.Second), (time.Since(start) - rows).Round(time.Second))
}

func count(b *testing.B, db *sql.DB) int {
	var n int
	if err := db.QueryRow(`SELECT COUNT(*) FROM audit_events`).Scan(&n); err != nil {
		b.Fatal(err)
	}
	return n
}

func BenchmarkAuditQuery(b *testing.B) {
	n := benchEvents(b)
	b.Run("sqlite", func(b *testing.B) {
		path := os.Getenv("KEYLESS_AUDIT_BENCH_DB")
		if path == "" {
			path = filepath.Join(b.TempDir(), "keyless.db")
		}
		st, err := sqlite.Open(context.Background(), path)
		if err != nil {
			b.Fatal(err)
		}
		defer st.Close()
		end := latest(b, st)
		if have := count(b, st.Writer()); have == 0 {
			end = time.Now().UTC()
			populate(b, st.Writer(), "sqlite", n, end)
		} else {
			b.Logf("reusing the %d events of %s", have, path)
		}
		benchQueries(b, st, end)
		benchPrune(b, st)
	})
	b.Run("postgres", func(b *testing.B) {
		sch := pgtest.NewSchema(b)
		st, err := postgres.Open(context.Background(), sch.DSN)
		if err != nil {
			b.Fatal(err)
		}
		defer st.Close()
		end := time.Now().UTC()
		populate(b, st.Writer(), "postgres", n, end)
		if _, err := st.Writer().Exec(`ANALYZE audit_events`); err != nil { // as autovacuum would
			b.Fatal(err)
		}
		benchQueries(b, st, end)
		benchPrune(b, st)
	})
}

// benchPrune measures one batch of retention (store.AuditPrune with the
// default batch of 1,000), the time the store's write lock is held for it.
// Each batch deletes the 1,000 oldest events left.
func benchPrune(b *testing.B, st *sqlstore.Store) {
	b.Run("prune-batch-1000", func(b *testing.B) {
		ctx := context.Background()
		oldest, err := st.QueryAuditEvents(ctx, store.AuditQuery{Order: store.AuditOldestFirst, Limit: 1})
		if err != nil || len(oldest) == 0 {
			b.Fatalf("oldest event: %v", err)
		}
		p := store.AuditPrune{Before: oldest[0].Time.Add(benchSpan / 2), Limit: 1000}
		for b.Loop() {
			n, err := st.PruneAuditEvents(ctx, p)
			if err != nil || n != p.Limit {
				b.Fatalf("pruned %d, %v", n, err)
			}
		}
		b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N)/1000, "ms/batch")
	})
}

// latest is the time of the newest event (now when there is none).
func latest(b *testing.B, st *sqlstore.Store) time.Time {
	evs, err := st.QueryAuditEvents(context.Background(), store.AuditQuery{Limit: 1})
	if err != nil {
		b.Fatal(err)
	}
	if len(evs) == 0 {
		return time.Now().UTC()
	}
	return evs[0].Time
}

// benchQueries measures the queries of `keyless audit query` (pages of 100).
func benchQueries(b *testing.B, st *sqlstore.Store, end time.Time) {
	ctx := context.Background()
	day := end.Add(-24 * time.Hour)
	role := "arn:aws:iam::000000000000:role/role-42"
	cases := []struct {
		name string
		q    store.AuditQuery
		deep bool // the 40th page, by keyset
	}{
		{"denied-role-24h", store.AuditQuery{Decision: "Denied", Role: role, Since: day, Limit: 100}, false},
		{"denied-24h", store.AuditQuery{Decision: "Denied", Since: day, Limit: 100}, false},
		{"role", store.AuditQuery{Role: role, Limit: 100}, false},
		{"repository-7d-oldest", store.AuditQuery{Repository: "{repo-7}", Since: end.Add(-7 * 24 * time.Hour), Order: store.AuditOldestFirst, Limit: 100}, false},
		{"action-createrole", store.AuditQuery{Action: "CreateRole", Limit: 100}, false},
		{"newest", store.AuditQuery{Limit: 100}, false},
		{"denied-role-page40", store.AuditQuery{Decision: "Denied", Role: role, Limit: 100}, true},
		{"tail", store.AuditQuery{Order: store.AuditLastAppended, Limit: 100}, false},
	}
	for _, tc := range cases {
		b.Run(tc.name, func(b *testing.B) {
			q := tc.q
			if tc.deep {
				for range 39 {
					page, err := st.QueryAuditEvents(ctx, q)
					if err != nil || len(page) != q.Limit {
						b.Fatalf("page: %d events, %v", len(page), err)
					}
					q.After = page[len(page)-1].Cursor()
				}
			}
			var got int
			for b.Loop() {
				page, err := st.QueryAuditEvents(ctx, q)
				if err != nil {
					b.Fatal(err)
				}
				got = len(page)
			}
			if got != q.Limit { // too few events generated for this query to mean much
				b.Logf("%d events, not a full page of %d", got, q.Limit)
			}
			b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N)/1000, "ms/query")
		})
	}
}

// BenchmarkAuditAppend measures what the query indexes cost the audit writer:
// batches of 256 events (the recorder's largest) appended to a SQLite store
// with the indexes, and without those of auditQueryMigration.
//
//	go test ./store/internal/sqlstore -run '^$' -bench AuditAppend -benchtime 2000x
func BenchmarkAuditAppend(b *testing.B) {
	for _, indexed := range []bool{true, false} {
		name := "indexed"
		if !indexed {
			name = "without-query-indexes"
		}
		b.Run(name, func(b *testing.B) {
			st, err := sqlite.Open(context.Background(), filepath.Join(b.TempDir(), "keyless.db"))
			if err != nil {
				b.Fatal(err)
			}
			defer st.Close()
			if !indexed {
				for _, ix := range []string{"audit_events_decision", "audit_events_role", "audit_events_action", "audit_events_repository"} {
					if _, err := st.Writer().Exec(`DROP INDEX ` + ix); err != nil {
						b.Fatal(err)
					}
				}
			}
			batch := make([]store.AuditEvent, 256)
			n := 0
			for b.Loop() {
				for i := range batch {
					n++
					batch[i] = store.AuditEvent{ID: strconv.Itoa(n), Time: time.Now(), RequestID: "req-" + strconv.Itoa(n),
						Action: "AssumeRoleWithWebIdentity", Caller: "https://127.0.0.1:8400/2.0/workspaces/acme/pipelines-config/identity/oidc {ws}:{repo}:{step}",
						Role: "arn:aws:iam::000000000000:role/role-" + strconv.Itoa(n%100), Decision: "Allowed", Repository: "{repo-" + strconv.Itoa(n%500) + "}",
						Detail: []byte(`{"service":"sts","sourceIp":"127.0.0.1"}`)}
				}
				if err := st.AppendAuditEvents(context.Background(), batch); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "events/s")
		})
	}
}
