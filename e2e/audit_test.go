package e2e

// End-to-end tests of `keyless audit` against the store of a running (and a
// restarted) `keyless up`: queries that explain a denial as `keyless explain`
// does, tail, and retention.

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/keyless-dev/keyless/store"
	"github.com/keyless-dev/keyless/store/sqlite"
)

// auditLine is an event of `keyless audit ... --output json/jsonl`.
type auditLine struct {
	RequestID   string `json:"requestId"`
	Action      string `json:"action"`
	Decision    string `json:"decision"`
	Role        string `json:"role"`
	Repository  string `json:"repository"`
	Statement   string `json:"statement"`
	Explanation *struct {
		Status, Title, Fix string
		Expected, Actual   json.RawMessage
	} `json:"explanation"`
}

func parseAuditLines(t *testing.T, out string) []auditLine {
	t.Helper()
	var evs []auditLine
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		if line == "" {
			continue
		}
		var e auditLine
		if err := json.Unmarshal([]byte(line), &e); err != nil {
			t.Fatalf("not a JSON line: %q: %v", line, err)
		}
		evs = append(evs, e)
	}
	return evs
}

// TestAuditQueryExplainsDenial makes an allowed and a denied exchange, and
// checks that `keyless audit query --decision denied` shows the denial with
// the explanation `keyless explain` gives for the same token and role, and
// that `keyless audit tail` shows both, in order.
func TestAuditQueryExplainsDenial(t *testing.T) {
	t.Parallel()
	f := newFederation(t)
	ctx := context.Background()
	webNoDeploy := f.tokenFile(t, "--repository", "web")
	webToken, _ := os.ReadFile(webNoDeploy)
	token := strings.TrimSpace(string(webToken))
	stsc := sts.NewFromConfig(aws.Config{Region: "us-east-1", BaseEndpoint: aws.String(f.p.env["KEYLESS_ENDPOINT"]),
		Credentials: aws.AnonymousCredentials{}, RetryMaxAttempts: 1})
	exchange := func(role string) (*sts.AssumeRoleWithWebIdentityOutput, error) {
		return stsc.AssumeRoleWithWebIdentity(ctx, &sts.AssumeRoleWithWebIdentityInput{
			RoleArn: aws.String(role), RoleSessionName: aws.String("audit-e2e"), WebIdentityToken: aws.String(token)})
	}
	allowed, err := exchange(f.repoRole)
	if err != nil {
		t.Fatalf("exchange for the repository's role: %v", err)
	}
	if _, err := exchange(f.envRole); err == nil {
		t.Fatal("a token of a step without a deployment environment was exchanged for the production role")
	} else if code, _ := apiError(err); code != "AccessDenied" {
		t.Fatalf("denied exchange: %v, want AccessDenied", err)
	}

	env := withEnv(f.p.env, "HOME="+t.TempDir())
	data := f.p.data
	// The recorder stores events in the background: wait until the denial is in.
	var denials []auditLine
	var out, errOut string
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		var code int
		out, errOut, code = run(t, env, "audit", "query", "--data", data, "--decision", "denied", "--output", "json")
		if code != 0 {
			t.Fatalf("audit query: exit %d: %s", code, errOut)
		}
		if err := json.Unmarshal([]byte(out), &denials); err != nil {
			t.Fatalf("audit query --output json printed %q: %v", out, err)
		}
		if len(denials) > 0 || time.Now().After(deadline) {
			break
		}
	}
	if len(denials) != 1 {
		t.Fatalf("%d denials, want 1:\n%s", len(denials), out)
	}
	d := denials[0]
	if d.Action != "AssumeRoleWithWebIdentity" || d.Role != f.envRole || d.Repository != f.webRepoUUID || d.Explanation == nil {
		t.Fatalf("denial: %+v", d)
	}
	noSecrets(t, "audit query output", out+errOut, token, aws.ToString(allowed.Credentials.SecretAccessKey), aws.ToString(allowed.Credentials.SessionToken))

	// keyless explain says the same of the same token and role.
	out, errOut, code := run(t, env, "explain", "--role-arn", f.envRole, "--token-file", webNoDeploy, "--output", "json")
	var rep explainReport
	if code != 1 || json.Unmarshal([]byte(out), &rep) != nil {
		t.Fatalf("explain: exit %d %q %s", code, out, errOut)
	}
	found := false
	for _, c := range rep.Checks {
		if c.ID == "condition" && c.Status == "FAIL" {
			found = true
			ex := d.Explanation
			if ex.Status != c.Status || ex.Title != c.Title || ex.Fix != c.Fix || string(ex.Expected) != string(c.Expected) || string(ex.Actual) != string(c.Actual) {
				t.Errorf("audit explains\n%+v\nexplain says\n%+v", *ex, c)
			}
			if !strings.Contains(c.Fix, "step without a deployment environment") {
				t.Errorf("explain's fix: %s", c.Fix)
			}
		}
	}
	if !found {
		t.Fatalf("explain reports no failed condition: %s", out)
	}

	// The table shows the same lines under the denial.
	out, errOut, code = run(t, env, "audit", "query", "--data", data, "--role", f.envRole)
	if code != 0 || !strings.Contains(out, "Denied") || !strings.Contains(out, "FAIL  "+d.Explanation.Title) ||
		!strings.Contains(out, "fix:      "+d.Explanation.Fix) {
		t.Errorf("audit query table: exit %d %s\n%s", code, errOut, out)
	}

	// tail shows both exchanges, in the order they were made.
	out, errOut, code = run(t, env, "audit", "tail", "--data", data, "--action", "AssumeRoleWithWebIdentity", "--output", "jsonl")
	if code != 0 {
		t.Fatalf("audit tail: exit %d: %s", code, errOut)
	}
	tail := parseAuditLines(t, out)
	if len(tail) != 2 || tail[0].Decision != "Allowed" || tail[0].Role != f.repoRole || tail[1].Decision != "Denied" || tail[1].Role != f.envRole {
		t.Fatalf("audit tail:\n%s", out)
	}
	out, _, code = run(t, env, "audit", "export", "--data", data, "--repository", f.webRepoUUID)
	if ev := parseAuditLines(t, out); code != 0 || len(ev) != 2 || ev[0].RequestID != tail[0].RequestID {
		t.Fatalf("audit export --repository:\n%s", out)
	}
	noSecrets(t, "audit tail and export output", out, token, aws.ToString(allowed.Credentials.SessionToken))
}

// TestAuditRetention restarts a server with an audit retention and checks that
// it prunes the events older than the retention, and beyond the count.
func TestAuditRetention(t *testing.T) {
	t.Parallel()
	data := t.TempDir()
	p := startUp(t, data)
	if err := p.stop(); err != nil {
		t.Fatalf("stop: %v", err)
	}
	// 30 events two days old, then 5 recent ones, written straight into the store.
	st, err := sqlite.Open(context.Background(), filepath.Join(data, "keyless.db"))
	if err != nil {
		t.Fatal(err)
	}
	var evs []store.AuditEvent
	now := time.Now().UTC()
	for i := range 35 {
		at := now.Add(-48 * time.Hour).Add(time.Duration(i) * time.Second)
		if i >= 30 {
			at = now.Add(-time.Duration(35-i) * time.Minute)
		}
		evs = append(evs, store.AuditEvent{ID: fmt.Sprintf("ret-%02d", i), Time: at, RequestID: fmt.Sprintf("ret-%02d", i), Action: "CreateRole", Decision: "Allowed"})
	}
	if err := st.AppendAuditEvents(context.Background(), evs); err != nil {
		t.Fatal(err)
	}
	st.Close()

	cfg := filepath.Join(t.TempDir(), "keyless.json")
	if err := os.WriteFile(cfg, []byte(`{"audit": {"retention": "24h", "max_events": 3}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	p = startUp(t, data, "--config", cfg)
	env := withEnv(p.env, "HOME="+t.TempDir())
	var out string
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		var errOut string
		var code int
		out, errOut, code = run(t, env, "audit", "query", "--data", data, "--action", "CreateRole", "--limit", "0", "--output", "jsonl")
		if code != 0 {
			t.Fatalf("audit query: exit %d: %s", code, errOut)
		}
		if len(parseAuditLines(t, out)) <= 3 || time.Now().After(deadline) {
			break
		}
	}
	var ids []string
	for _, e := range parseAuditLines(t, out) {
		ids = append(ids, e.RequestID)
	}
	if got := strings.Join(ids, " "); got != "ret-34 ret-33 ret-32" {
		t.Fatalf("after retention: %q, want the newest three", got)
	}
	if !strings.Contains(p.settledStderr(), "audit retention") {
		t.Errorf("keyless up did not log its pruning:\n%s", p.stderr)
	}
}
