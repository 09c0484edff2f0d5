package console

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/keyless-dev/keyless/audit"
	"github.com/keyless-dev/keyless/store"
)

// BenchmarkConsoleActivity100k times the activity view's first load (the
// first page and the 24h timeline) over 100,000 audit events of the last 24
// hours, as the audit recorder stores them: 1 in 20 denied and 1 in 100 an
// error (denied=5%), and, as under a flood of refused tokens, 1 in 2 denied
// (denied=50%). Its ms/op must stay well under the page's 300 ms budget.
func BenchmarkConsoleActivity100k(b *testing.B) {
	for _, share := range []struct {
		name   string
		denied int // 1 in denied events is denied
	}{{"denied=5%", 20}, {"denied=50%", 2}} {
		b.Run(share.name, func(b *testing.B) { benchmarkActivity(b, share.denied) })
	}
}

func benchmarkActivity(b *testing.B, denied int) {
	f := newFixture(b)
	ctx := b.Context()
	const n = 100_000
	now := f.clock.now()
	step := 24 * time.Hour / n
	batch := make([]store.AuditEvent, 0, 4096)
	for i := range n {
		at := now.Add(-24*time.Hour + time.Duration(i)*step + time.Millisecond)
		d, reason := audit.Allowed, ""
		switch {
		case i%100 == 7:
			d, reason = audit.Failed, "InvalidIdentityToken"
		case i%denied == 1:
			d, reason = audit.Denied, "StringEquals on sub"
		}
		batch = append(batch, store.AuditEvent{
			ID: fmt.Sprintf("%012x%020d", at.UnixMilli(), i), Time: at, RequestID: fmt.Sprint(i), Action: "AssumeRoleWithWebIdentity",
			Caller: "https://127.0.0.1:8400/2.0/workspaces/acme/pipelines-config/identity/oidc {repo}:{step}", Role: fmt.Sprintf("arn:aws:iam::%s:role/deploy-%d", acct, i%10),
			Decision: d, Repository: "{repo}",
			Detail: fmt.Appendf(nil, `{"service":"sts","sourceIp":"127.0.0.1","reason":%q,"claims":{"iss":"https://127.0.0.1:8400","sub":"{repo}:{step}","repositoryUuid":"{repo}"}}`, reason),
		})
		if len(batch) == cap(batch) || i == n-1 {
			if err := f.st.AppendAuditEvents(ctx, batch); err != nil {
				b.Fatal(err)
			}
			batch = batch[:0]
		}
	}
	sealed, err := f.h.seal.seal(Session{Account: acct, AccessKeyID: f.root.AccessKeyID, ARN: "arn:aws:iam::" + acct + ":root",
		Issued: now, Expires: now.Add(time.Hour)})
	if err != nil {
		b.Fatal(err)
	}
	cookie := &http.Cookie{Name: CookieName, Value: sealed}
	b.ResetTimer()
	for b.Loop() {
		req := httptest.NewRequestWithContext(ctx, "GET", "/console/api/activity?since=24h", nil)
		req.AddCookie(cookie)
		rec := httptest.NewRecorder()
		f.h.ServeHTTP(rec, req)
		if rec.Code != 200 {
			b.Fatalf("activity: %d %s", rec.Code, rec.Body)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/op")
}
