package explain_test

import (
	"bytes"
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/keyless-dev/keyless/explain"
	"github.com/keyless-dev/keyless/issuer"
	"github.com/keyless-dev/keyless/oidc"
)

// TestVerdictWithUnknownContext checks that a verdict depending on request values
// explain was not given (the source address, the session name) is UNDETERMINED, and
// that one those values cannot change is ADMITTED or DENIED.
func TestVerdictWithUnknownContext(t *testing.T) {
	w := newWorld(t)
	u := w.provider.URL
	aud := map[string]any{u + ":aud": w.provider.ClientIDs[0]}
	web := "{" + issuer.RepositoryUUID("acme", "web") + "}"
	const inside, outside = "34.199.54.113", "203.0.113.7"
	repo := func() map[string]any {
		return stmt("Repo", "Allow", map[string]any{"StringEquals": aud, "StringLike": map[string]any{u + ":sub": web + ":*"}})
	}
	fromIP := func() map[string]any {
		return stmt("FromIP", "Allow", map[string]any{"StringEquals": aud, "IpAddress": map[string]any{"aws:SourceIp": inside + "/32"}})
	}
	repoFromIP := func() map[string]any {
		return stmt("RepoFromIP", "Allow", map[string]any{"StringLike": map[string]any{u + ":sub": web + ":*"}, "IpAddress": map[string]any{"aws:SourceIp": inside + "/32"}})
	}
	denyOutside := func() map[string]any {
		return stmt("DenyOutside", "Deny", map[string]any{"NotIpAddress": map[string]any{"aws:SourceIp": inside + "/32"}})
	}
	// A Deny whose known condition (another repository) does not hold: it cannot apply.
	denyOtherRepoOutside := func() map[string]any {
		return stmt("DenyOtherRepoOutside", "Deny", map[string]any{
			"StringLike":   map[string]any{u + ":sub": "{00000000-0000-4000-8000-000000000000}:*"},
			"NotIpAddress": map[string]any{"aws:SourceIp": inside + "/32"}})
	}
	// A Deny whose known condition (the audience) holds and whose other is unknown.
	denyAudOutside := func() map[string]any {
		return stmt("DenyAudOutside", "Deny", map[string]any{"StringEquals": aud, "NotIpAddress": map[string]any{"aws:SourceIp": inside + "/32"}})
	}
	// A Deny with one known condition that holds (the audience) and one that does not.
	denyAudOtherRepo := func() map[string]any {
		return stmt("DenyAudOtherRepo", "Deny", map[string]any{"StringEquals": aud, "StringLike": map[string]any{u + ":sub": "{00000000-0000-4000-8000-000000000000}:*"}})
	}
	denyAud := func() map[string]any { return stmt("DenyAud", "Deny", map[string]any{"StringEquals": aud}) }
	session := func() map[string]any {
		return stmt("Session", "Allow", map[string]any{"StringEquals": aud, "StringLike": map[string]any{"sts:RoleSessionName": "deploy-*"}})
	}
	sessionFromIP := func() map[string]any {
		return stmt("SessionFromIP", "Allow", map[string]any{"StringLike": map[string]any{"sts:RoleSessionName": "deploy-*"}, "IpAddress": map[string]any{"aws:SourceIp": inside + "/32"}})
	}
	webTok := w.mint(t, issuer.MintRequest{Repository: "web"})
	apiTok := w.mint(t, issuer.MintRequest{Repository: "api"})
	shortTok := w.mint(t, issuer.MintRequest{Repository: "web", TTL: issuer.Duration(15 * time.Minute)})

	cases := []struct {
		name        string
		token       string
		policy      string
		sourceIP    string
		sessionName string
		now         time.Time
		verdict     explain.Verdict
		unknown     []string
	}{
		{"allow from an address, address unknown", webTok, w.policy(fromIP()), "", "", t0, explain.VerdictUndetermined, []string{"aws:SourceIp"}},
		{"allow from an address, inside", webTok, w.policy(fromIP()), inside, "", t0, explain.VerdictAdmitted, nil},
		{"allow from an address, outside", webTok, w.policy(fromIP()), outside, "", t0, explain.VerdictDenied, nil},
		{"the only allow fails on a known condition", apiTok, w.policy(repoFromIP()), "", "", t0, explain.VerdictDenied, nil},
		{"another allow passes in full", webTok, w.policy(fromIP(), repo()), "", "", t0, explain.VerdictAdmitted, nil},
		{"a deny may apply to an admitted token", webTok, w.policy(repo(), denyOutside()), "", "", t0, explain.VerdictUndetermined, []string{"aws:SourceIp"}},
		{"the deny does not apply from inside", webTok, w.policy(repo(), denyOutside()), inside, "", t0, explain.VerdictAdmitted, nil},
		{"the deny applies from outside", webTok, w.policy(repo(), denyOutside()), outside, "", t0, explain.VerdictDenied, nil},
		{"a deny may apply but no allow can", apiTok, w.policy(repoFromIP(), denyOutside()), "", "", t0, explain.VerdictDenied, nil},
		{"a deny whose known condition fails cannot apply", webTok, w.policy(repo(), denyOtherRepoOutside()), "", "", t0, explain.VerdictAdmitted, nil},
		{"a deny with a holding condition may apply", webTok, w.policy(repo(), denyAudOutside()), "", "", t0, explain.VerdictUndetermined, []string{"aws:SourceIp"}},
		{"a deny with a holding condition applies from outside", webTok, w.policy(repo(), denyAudOutside()), outside, "", t0, explain.VerdictDenied, nil},
		{"a deny with one condition holding and one not does not apply", webTok, w.policy(repo(), denyAudOtherRepo()), "", "", t0, explain.VerdictAdmitted, nil},
		{"a deny whose conditions all hold applies", webTok, w.policy(repo(), denyAud()), "", "", t0, explain.VerdictDenied, nil},
		{"allow by session name, name unknown", webTok, w.policy(session()), "", "", t0, explain.VerdictUndetermined, []string{"sts:RoleSessionName"}},
		{"allow by session name, name matches", webTok, w.policy(session()), "", "deploy-42", t0, explain.VerdictAdmitted, nil},
		{"both unknown", webTok, w.policy(sessionFromIP()), "", "", t0, explain.VerdictUndetermined, []string{"aws:SourceIp", "sts:RoleSessionName"}},
		{"a known failure elsewhere decides", shortTok, w.policy(fromIP()), "", "", t0.Add(2 * time.Hour), explain.VerdictDenied, nil},
	}
	flags := map[string]string{"aws:SourceIp": "--source-ip ADDRESS", "sts:RoleSessionName": "--session-name NAME"}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rep := explain.Run(context.Background(), explain.Input{
				Token: tc.token, RoleARN: "arn:aws:iam::000000000000:role/deploy", TrustPolicy: tc.policy,
				Providers: []oidc.Provider{w.provider}, SourceIP: tc.sourceIP, SessionName: tc.sessionName,
				Now: tc.now.Add(time.Minute), Signature: jwksChecker{w.keys},
			})
			if rep.Verdict != tc.verdict || !slices.Equal(rep.Unknown, tc.unknown) {
				t.Errorf("verdict %s unknown %q, want %s unknown %q", rep.Verdict, rep.Unknown, tc.verdict, tc.unknown)
			}
			for _, c := range rep.Checks {
				if c.Status == explain.Fail && tc.verdict != explain.VerdictDenied {
					t.Errorf("a %s verdict with a FAIL check: %s", tc.verdict, c.Title)
				}
			}
			var text bytes.Buffer
			if err := rep.WriteText(&text); err != nil {
				t.Fatal(err)
			}
			out := text.String()
			if !strings.Contains(out, "Result: "+string(tc.verdict)+" ") {
				t.Errorf("text output lacks Result: %s:\n%s", tc.verdict, out)
			}
			for _, k := range tc.unknown {
				if !strings.Contains(out, "pass "+flags[k]) && !strings.Contains(out, " and "+flags[k]) {
					t.Errorf("undetermined output does not say to pass %s:\n%s", flags[k], out)
				}
			}
		})
	}
}

// TestJSONValues checks that expected and actual are JSON values in --output json,
// not JSON text inside strings, while the text output keeps its quoting.
func TestJSONValues(t *testing.T) {
	w := newWorld(t)
	u := w.provider.URL
	web := "{" + issuer.RepositoryUUID("acme", "web") + "}"
	rep := explain.Run(context.Background(), explain.Input{
		Token: w.mint(t, issuer.MintRequest{Repository: "api"}), RoleARN: "arn:aws:iam::000000000000:role/deploy",
		TrustPolicy: w.trust(map[string]any{"StringLike": map[string]any{u + ":sub": web + ":*"}}),
		Providers:   []oidc.Provider{w.provider}, Now: t0.Add(time.Minute),
	})
	b, err := json.Marshal(rep)
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		Verdict string `json:"verdict"`
		Checks  []struct {
			ID       string `json:"id"`
			Status   string `json:"status"`
			Expected any    `json:"expected"`
			Actual   any    `json:"actual"`
		} `json:"checks"`
	}
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	if got.Verdict != "DENIED" {
		t.Errorf("verdict %q, want DENIED", got.Verdict)
	}
	sub := "{" + issuer.RepositoryUUID("acme", "api") + "}:{22222222-2222-4222-8222-222222222222}"
	found := false
	for _, c := range got.Checks {
		if c.ID != "condition" || c.Status != "FAIL" {
			continue
		}
		found = true
		if l, ok := c.Expected.([]any); !ok || len(l) != 1 || l[0] != web+":*" {
			t.Errorf("expected is %#v, want the JSON array [%q]", c.Expected, web+":*")
		}
		if c.Actual != sub {
			t.Errorf("actual is %#v, want the JSON string %q", c.Actual, sub)
		}
	}
	if !found {
		t.Fatalf("no failing condition in %s", b)
	}
	var text bytes.Buffer
	rep.WriteText(&text)
	for _, want := range []string{"        expected: [\"" + web + ":*\"]\n", "        actual:   \"" + sub + "\"\n"} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("text output lacks %q:\n%s", want, text.String())
		}
	}
	// The report decodes back.
	var back explain.Report
	if err := json.Unmarshal(b, &back); err != nil || len(back.Checks) != len(rep.Checks) {
		t.Errorf("the JSON report does not decode back: %v", err)
	}
}

// TestWriteTextAlignsContinuationLines checks that a field of several lines keeps
// every line under the first.
func TestWriteTextAlignsContinuationLines(t *testing.T) {
	rep := explain.Report{RoleARN: "arn:aws:iam::000000000000:role/deploy", Verdict: explain.VerdictDenied, Checks: []explain.Check{{
		ID: "trust", Status: explain.Fail, Title: "the role's trust policy allows this token",
		Fix: "ExplicitlyDenied: statement \"NoOne\" denies it\nstatement \"NoOne\" applied: it has no conditions",
	}}}
	var b bytes.Buffer
	if err := rep.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	want := "        fix:      ExplicitlyDenied: statement \"NoOne\" denies it\n" +
		"                  statement \"NoOne\" applied: it has no conditions\n"
	if !strings.Contains(b.String(), want) {
		t.Errorf("fix lines not aligned:\n%s\nwant:\n%s", b.String(), want)
	}
}

// TestExpiryBound checks that the expected expiry is the real bound, now minus the
// skew, and that the bound is STS's: a token is refused once now − 5 min reaches exp.
func TestExpiryBound(t *testing.T) {
	w := newWorld(t)
	tok := w.mint(t, issuer.MintRequest{Repository: "web", TTL: issuer.Duration(15 * time.Minute)})
	exp := t0.Add(15 * time.Minute)
	cases := []struct {
		name    string
		now     time.Time
		expired bool
	}{
		{"within the skew", exp.Add(explain.Skew - time.Second), false},
		{"at the bound", exp.Add(explain.Skew), true},
		{"long after", exp.Add(2 * time.Hour), true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rep := explain.Run(context.Background(), explain.Input{
				Token: tok, RoleARN: "arn:aws:iam::000000000000:role/deploy", TrustPolicy: w.trust(nil),
				Providers: []oidc.Provider{w.provider}, Now: tc.now,
			})
			var c *explain.Check
			for i := range rep.Checks {
				if rep.Checks[i].ID == "expiry" {
					c = &rep.Checks[i]
				}
			}
			if c == nil {
				t.Fatal("no expiry check")
			}
			if (c.Status == explain.Fail) != tc.expired {
				t.Fatalf("expiry %s, want expired=%v", c.Status, tc.expired)
			}
			if tc.expired {
				want := "exp after " + tc.now.Add(-explain.Skew).UTC().Format(time.RFC3339) + " (now minus the 5 minutes of clock skew STS allows)"
				if c.Expected.String() != want {
					t.Errorf("expected %q, want %q", c.Expected, want)
				}
			}
		})
	}
}
