package explain_test

import (
	"bytes"
	"context"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/keyless-dev/keyless/explain"
	"github.com/keyless-dev/keyless/issuer"
	"github.com/keyless-dev/keyless/oidc"
	"github.com/keyless-dev/keyless/policy"
)

// TestFailedConditionMatchesRun checks that the check rebuilt from a denial's
// policy trace (what an audit event keeps) is the check Run reports for the same
// token and trust policy, and renders as the same lines.
func TestFailedConditionMatchesRun(t *testing.T) {
	w := newWorld(t)
	u := w.provider.URL
	aud := map[string]any{u + ":aud": w.provider.ClientIDs[0]}
	web := "{" + issuer.RepositoryUUID("acme", "web") + "}"
	prod := "{" + issuer.EnvironmentUUID("acme", "web", "production") + "}"
	repoPolicy := w.trust(map[string]any{"StringEquals": aud, "StringLike": map[string]any{u + ":sub": web + ":*"}})
	envPolicy := w.trust(map[string]any{"StringEquals": aud, "StringLike": map[string]any{u + ":sub": web + ":" + prod + ":*"}})
	ipPolicy := w.trust(map[string]any{"StringEquals": aud, "IpAddress": map[string]any{"aws:SourceIp": []string{"34.199.54.113/32"}}})
	audPolicy := w.trust(map[string]any{"StringEquals": map[string]any{u + ":aud": "another-audience"}})
	cases := []struct {
		name, token, policy, sourceIP string
	}{
		{"wrong repository", w.mint(t, issuer.MintRequest{Repository: "api"}), repoPolicy, ""},
		{"wrong environment", w.mint(t, issuer.MintRequest{Repository: "web", Environment: "staging"}), envPolicy, ""},
		{"no environment", w.mint(t, issuer.MintRequest{Repository: "web"}), envPolicy, ""},
		{"source address outside", w.mint(t, issuer.MintRequest{Repository: "web"}), ipPolicy, "203.0.113.7"},
		{"audience", w.mint(t, issuer.MintRequest{Repository: "web"}), audPolicy, "203.0.113.7"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			now := t0.Add(time.Minute)
			rep := explain.Run(context.Background(), explain.Input{
				Token: tc.token, RoleARN: "arn:aws:iam::000000000000:role/deploy", TrustPolicy: tc.policy,
				Providers: []oidc.Provider{w.provider}, SourceIP: tc.sourceIP, Now: now,
			})
			var want *explain.Check
			for i, c := range rep.Checks {
				if c.ID == "condition" && c.Status == explain.Fail {
					want = &rep.Checks[i]
					break
				}
			}
			if want == nil {
				t.Fatalf("explain reports no failed condition: %+v", rep.Checks)
			}

			// What STS evaluates, and keeps in the audit event.
			_, claims, err := oidc.ParseUnverified(tc.token)
			if err != nil {
				t.Fatal(err)
			}
			sub, _ := claims["sub"].(string)
			tokAud, _ := claims["aud"].(string)
			doc, err := policy.Parse([]byte(tc.policy), policy.KindTrust)
			if err != nil {
				t.Fatal(err)
			}
			ctx := explain.TrustContext(w.provider.URL, w.provider.ARN, tokAud, sub, "", nil, "", tc.sourceIP, now)
			res := policy.Evaluate(policy.Request{Principal: w.provider.ARN, PrincipalType: "Federated",
				Action: "sts:AssumeRoleWithWebIdentity", Context: ctx}, policy.Input{Resource: doc})
			d := res.Explain.Deciding
			if res.Decision == policy.Allowed || d == nil || d.FailedCondition() == nil {
				t.Fatalf("policy decision %s, deciding %+v", res.Decision, d)
			}
			got := explain.FailedCondition(strconv.Quote(d.Sid), d.Effect, *d.FailedCondition())
			if !reflect.DeepEqual(got, *want) {
				t.Fatalf("FailedCondition:\n got %+v\nwant %+v", got, *want)
			}
			var line, full bytes.Buffer
			if err := got.WriteText(&line, ""); err != nil {
				t.Fatal(err)
			}
			if err := rep.WriteText(&full); err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(full.String(), line.String()) || !strings.Contains(line.String(), "fix:") {
				t.Fatalf("check renders as\n%s\nnot as in explain's report\n%s", line.String(), full.String())
			}
		})
	}
}
