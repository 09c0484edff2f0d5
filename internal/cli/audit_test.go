package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/keyless-dev/keyless/audit"
	"github.com/keyless-dev/keyless/internal/server"
	"github.com/keyless-dev/keyless/policy"
	"github.com/keyless-dev/keyless/store"
	"github.com/keyless-dev/keyless/store/sqlite"
)

const (
	testRole     = "arn:aws:iam::000000000000:role/deploy"
	otherRole    = "arn:aws:iam::000000000000:role/other"
	testRepoUUID = "{5291555b-671e-53b7-9a57-fa18d7630cfc}"
	testSubKey   = "127.0.0.1:8400/2.0/workspaces/acme/pipelines-config/identity/oidc:sub"
)

// auditDir makes a data directory whose store holds, recorded as STS records
// them: an allowed exchange two hours ago, a denied one 30 minutes ago (its
// sub condition failed), and an error on another role 10 minutes ago.
func auditDir(t *testing.T) (string, time.Time) {
	t.Helper()
	t.Setenv("KEYLESS_DATA", "")
	dir := t.TempDir()
	st, err := sqlite.Open(t.Context(), filepath.Join(dir, server.StoreFile))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC().Truncate(time.Second)
	rec := audit.NewRecorder(st, nil)
	base := audit.Event{Service: "sts", Action: "AssumeRoleWithWebIdentity", Caller: "https://127.0.0.1:8400/x {ws}:" + testRepoUUID + ":{step}",
		Role: testRole, SourceIP: "127.0.0.1", Repository: testRepoUUID}
	allowed := base
	allowed.Time, allowed.RequestID, allowed.Decision = now.Add(-2*time.Hour), "req-allowed", audit.Allowed
	denied := base
	denied.Time, denied.RequestID = now.Add(-30*time.Minute), "req-denied"
	denied.Conclude(true, `"RepoOnly"`, "StringLike on sub", "sts:AssumeRoleWithWebIdentity: ImplicitlyDenied", nil)
	denied.Failed = audit.NewFailedCondition(policy.Allow, policy.ConditionTrace{Operator: "StringLike", Key: testSubKey,
		PolicyValues:  []string{"{ac31e3a2-5125-5aeb-9e0e-08cb740150f1}:{5291555b-671e-53b7-9a57-fa18d7630cfc}:*"},
		RequestValues: []string{"{ac31e3a2-5125-5aeb-9e0e-08cb740150f1}:{22222222-2222-4222-8222-222222222222}"}, KeyPresent: true})
	failed := base
	failed.Time, failed.RequestID, failed.Role, failed.Repository = now.Add(-10*time.Minute), "req-error", otherRole, ""
	failed.Decision, failed.ErrorCode, failed.Reason = audit.Failed, "InvalidIdentityToken", "the token has expired"
	for _, e := range []audit.Event{allowed, denied, failed} {
		rec.Record(e)
	}
	rec.Close()
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	return dir, now
}

func requestIDs(t *testing.T, jsonl string) string {
	t.Helper()
	var ids []string
	for _, line := range strings.Split(strings.TrimSpace(jsonl), "\n") {
		if line == "" {
			continue
		}
		var e eventJSON
		if err := json.Unmarshal([]byte(line), &e); err != nil {
			t.Fatalf("not a JSON line: %q: %v", line, err)
		}
		ids = append(ids, e.RequestID)
	}
	return strings.Join(ids, " ")
}

// TestAuditQueryFilters runs audit query with each filter, as JSON Lines.
func TestAuditQueryFilters(t *testing.T) {
	dir, now := auditDir(t)
	cases := []struct {
		args []string
		want string
	}{
		{nil, "req-error req-denied req-allowed"},
		{[]string{"--decision", "denied"}, "req-denied"},
		{[]string{"--decision", "ALLOWED"}, "req-allowed"},
		{[]string{"--decision", "error"}, "req-error"},
		{[]string{"--role", testRole}, "req-denied req-allowed"},
		{[]string{"--role", otherRole, "--decision", "denied"}, ""},
		{[]string{"--action", "AssumeRoleWithWebIdentity", "--limit", "2"}, "req-error req-denied"},
		{[]string{"--action", "CreateRole"}, ""},
		{[]string{"--repository", strings.Trim(testRepoUUID, "{}")}, "req-denied req-allowed"},
		{[]string{"--repository", testRepoUUID, "--decision", "denied"}, "req-denied"},
		{[]string{"--since", "1h"}, "req-error req-denied"},
		{[]string{"--since", "1d"}, "req-error req-denied req-allowed"},
		{[]string{"--until", "20m"}, "req-denied req-allowed"},
		{[]string{"--since", now.Add(-time.Hour).Format(time.RFC3339), "--until", now.Add(-20 * time.Minute).Format(time.RFC3339)}, "req-denied"},
		{[]string{"--limit", "0"}, "req-error req-denied req-allowed"},
	}
	for _, tc := range cases {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			args := append([]string{"audit", "query", "--data", dir, "--output", "jsonl"}, tc.args...)
			code, out, errOut := keysRun(t, args...)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, errOut)
			}
			if got := requestIDs(t, out); got != tc.want {
				t.Fatalf("got %q, want %q", got, tc.want)
			}
		})
	}
}

// TestAuditQueryExplainsDenials checks that a denial is explained in explain's
// words in every output: JSON, table and the --explain detail view.
func TestAuditQueryExplainsDenials(t *testing.T) {
	dir, _ := auditDir(t)
	const fix = "fix:      the policy admits sub like `{ac31e3a2-5125-5aeb-9e0e-08cb740150f1}:{5291555b-671e-53b7-9a57-fa18d7630cfc}:*` (deployment environment {5291555b-671e-53b7-9a57-fa18d7630cfc} only); this token is from a step without a deployment environment"
	const title = `FAIL  statement "RepoOnly" (Allow): StringLike on ` + testSubKey

	code, out, errOut := keysRun(t, "audit", "query", "--data", dir, "--decision", "denied", "--output", "json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var evs []map[string]any
	if err := json.Unmarshal([]byte(out), &evs); err != nil || len(evs) != 1 {
		t.Fatalf("--output json: %v, %d events:\n%s", err, len(evs), out)
	}
	ex, _ := evs[0]["explanation"].(map[string]any)
	if evs[0]["decision"] != "Denied" || evs[0]["statement"] != `"RepoOnly"` || ex["status"] != "FAIL" ||
		!strings.HasPrefix(fmt.Sprint(ex["fix"]), strings.TrimPrefix(fix, "fix:      ")) {
		t.Fatalf("denial in JSON:\n%s", out)
	}
	if fmt.Sprint(ex["actual"]) != "{ac31e3a2-5125-5aeb-9e0e-08cb740150f1}:{22222222-2222-4222-8222-222222222222}" {
		t.Fatalf("explanation actual = %v", ex["actual"])
	}

	code, out, errOut = keysRun(t, "audit", "query", "--data", dir)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	lines := strings.Split(out, "\n")
	if !strings.HasPrefix(lines[0], "TIME") || !strings.Contains(lines[0], "DECISION") || !strings.Contains(lines[1], "Error") ||
		!strings.Contains(lines[2], "ERROR  the token has expired") || !strings.Contains(lines[3], "Denied") ||
		!strings.Contains(lines[4], title) || !strings.Contains(out, fix) || !strings.Contains(lines[len(lines)-2], "Allowed") {
		t.Fatalf("table:\n%s", out)
	}
	if strings.Index(lines[1], "AssumeRoleWithWebIdentity") != strings.Index(lines[3], "AssumeRoleWithWebIdentity") {
		t.Fatalf("table columns not aligned:\n%s", out)
	}

	code, out, errOut = keysRun(t, "audit", "query", "--data", dir, "--decision", "denied", "--explain")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, want := range []string{"Request ID: req-denied", "Repository: " + testRepoUUID, "Source IP:  127.0.0.1", "Explanation:\n  " + title, fix} {
		if !strings.Contains(out, want) {
			t.Fatalf("--explain lacks %q:\n%s", want, out)
		}
	}
}

// TestAuditTailExportPrune checks tail's order, export of more than a page,
// and prune.
func TestAuditTailExportPrune(t *testing.T) {
	dir, _ := auditDir(t)
	code, out, errOut := keysRun(t, "audit", "tail", "--data", dir, "-n", "2", "--output", "jsonl")
	if code != 0 || requestIDs(t, out) != "req-denied req-error" {
		t.Fatalf("tail -n 2: exit %d %s\n%s", code, errOut, out)
	}
	code, out, _ = keysRun(t, "audit", "tail", "--data", dir)
	lines := strings.Split(out, "\n")
	if code != 0 || !strings.HasPrefix(lines[0], "TIME") || !strings.Contains(lines[1], "Allowed") || !strings.Contains(lines[2], "Denied") {
		t.Fatalf("tail table (oldest first):\n%s", out)
	}

	// More events than a page, exported oldest first.
	st, err := sqlite.Open(t.Context(), filepath.Join(dir, server.StoreFile))
	if err != nil {
		t.Fatal(err)
	}
	var batch []store.AuditEvent
	old := time.Now().Add(-48 * time.Hour).UTC()
	for i := range auditPage + 10 {
		batch = append(batch, store.AuditEvent{ID: fmt.Sprintf("bulk-%04d", i), Time: old.Add(time.Duration(i) * time.Millisecond),
			RequestID: fmt.Sprintf("bulk-%04d", i), Action: "CreateRole", Decision: audit.Allowed})
	}
	// The newest event is always kept: append a recent one last.
	batch = append(batch, store.AuditEvent{ID: "late", Time: time.Now().UTC(), RequestID: "req-late", Action: "A", Decision: audit.Allowed})
	if err := st.AppendAuditEvents(t.Context(), batch); err != nil {
		t.Fatal(err)
	}
	st.Close()
	code, out, errOut = keysRun(t, "audit", "export", "--data", dir, "--action", "CreateRole")
	if code != 0 {
		t.Fatalf("export: exit %d: %s", code, errOut)
	}
	ids := strings.Fields(requestIDs(t, out))
	if len(ids) != auditPage+10 || ids[0] != "bulk-0000" || ids[len(ids)-1] != fmt.Sprintf("bulk-%04d", auditPage+9) {
		t.Fatalf("export: %d events, first %q", len(ids), ids[:1])
	}
	code, out, _ = keysRun(t, "audit", "export", "--data", dir, "--since", "1d")
	if code != 0 || requestIDs(t, out) != "req-allowed req-denied req-error req-late" {
		t.Fatalf("export --since 1d:\n%s", out)
	}

	code, out, errOut = keysRun(t, "audit", "prune", "--data", dir, "--older-than", "1d")
	if code != 0 || out != fmt.Sprintf("Deleted %d audit events.\n", auditPage+10) {
		t.Fatalf("prune --older-than 1d: exit %d %q %s", code, out, errOut)
	}
	code, out, _ = keysRun(t, "audit", "prune", "--data", dir, "--max-events", "1")
	if code != 0 || out != "Deleted 3 audit events.\n" {
		t.Fatalf("prune --max-events 1: exit %d %q", code, out)
	}
	code, out, _ = keysRun(t, "audit", "query", "--data", dir, "--output", "jsonl")
	if code != 0 || requestIDs(t, out) != "req-late" {
		t.Fatalf("after prune:\n%s", out)
	}
}

// syncBuffer is a bytes.Buffer safe for a writer and a reader goroutine.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestAuditTailFollow checks that tail --follow prints the last events, then
// each new one once, in order, and stops when interrupted.
func TestAuditTailFollow(t *testing.T) {
	dir, _ := auditDir(t)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var out syncBuffer
	done := make(chan int)
	go func() {
		done <- Execute(ctx, []string{"audit", "tail", "--data", dir, "-n", "1", "--follow", "--interval", "20ms", "--output", "jsonl"},
			Streams{In: strings.NewReader(""), Out: &out, Err: &out})
	}()
	waitFor(t, &out, "req-error") // the last event, printed before following
	st, err := sqlite.Open(t.Context(), filepath.Join(dir, server.StoreFile))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	for i := range 3 {
		e := store.AuditEvent{ID: fmt.Sprintf("new-%d", i), Time: time.Now().UTC(), RequestID: fmt.Sprintf("req-new-%d", i), Action: "A", Decision: audit.Allowed}
		if err := st.AppendAuditEvent(t.Context(), e); err != nil {
			t.Fatal(err)
		}
		waitFor(t, &out, e.RequestID)
	}
	cancel()
	if code := <-done; code != 0 {
		t.Fatalf("exit %d: %s", code, out.String())
	}
	if got := requestIDs(t, out.String()); got != "req-error req-new-0 req-new-1 req-new-2" {
		t.Fatalf("followed %q", got)
	}
}

// waitFor waits until out holds s (for at most 20 s).
func waitFor(t *testing.T, out *syncBuffer, s string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(out.String(), s) {
		if time.Now().After(deadline) {
			t.Fatalf("no %q in:\n%s", s, out.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestAuditFlagErrors checks the refusals of bad flags and of a missing store.
func TestAuditFlagErrors(t *testing.T) {
	dir, _ := auditDir(t)
	empty := t.TempDir()
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"audit", "query", "--data", dir, "--decision", "maybe"}, `invalid --decision "maybe": use allowed, denied or error`},
		{[]string{"audit", "query", "--data", dir, "--since", "yesterday"}, `invalid --since "yesterday"`},
		{[]string{"audit", "query", "--data", dir, "--since", "1h", "--until", "2h"}, "is not before --until"},
		{[]string{"audit", "query", "--data", dir, "--output", "xml"}, `invalid --output "xml"`},
		{[]string{"audit", "prune", "--data", dir}, "nothing to prune by"},
		{[]string{"audit", "prune", "--data", dir, "--older-than", "soon"}, `invalid --older-than "soon"`},
		{[]string{"audit", "query", "--data", empty}, "audit query: no keyless store in " + empty},
	}
	for _, tc := range cases {
		code, out, errOut := keysRun(t, tc.args...)
		if code == 0 || out != "" || !strings.Contains(errOut, tc.want) {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want an error with %q", tc.args, code, out, errOut, tc.want)
		}
	}
}

// TestParseWhen checks --since and --until values.
func TestParseWhen(t *testing.T) {
	now := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	cases := []struct {
		in   string
		want time.Time
		ok   bool
	}{
		{"", time.Time{}, true},
		{"30m", now.Add(-30 * time.Minute), true},
		{"24h", now.Add(-24 * time.Hour), true},
		{"7d", now.Add(-7 * 24 * time.Hour), true},
		{"1d12h", now.Add(-36 * time.Hour), true},
		{"2026-12-01T00:00:00Z", time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC), true},
		{"2026-12-01T01:00:00+01:00", time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC), true},
		{"-1h", time.Time{}, false},
		{"xd", time.Time{}, false},
		{"2026-12-01", time.Time{}, false},
	}
	for _, tc := range cases {
		got, err := parseWhen("--since", tc.in, now)
		if (err == nil) != tc.ok || !got.Equal(tc.want) {
			t.Errorf("parseWhen(%q) = %v, %v; want %v ok=%v", tc.in, got, err, tc.want, tc.ok)
		}
	}
}
