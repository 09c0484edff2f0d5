package explain_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/keyless-dev/keyless/explain"
	"github.com/keyless-dev/keyless/issuer"
	"github.com/keyless-dev/keyless/oidc"
)

// withClaims returns raw with claims added to its payload. Its signature no
// longer verifies, so the tests that use it leave the signature unchecked.
func withClaims(t *testing.T, raw string, add map[string]any) string {
	t.Helper()
	parts := strings.Split(raw, ".")
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var claims map[string]any
	if err := json.Unmarshal(payload, &claims); err != nil {
		t.Fatal(err)
	}
	for k, v := range add {
		claims[k] = v
	}
	b, err := json.Marshal(claims)
	if err != nil {
		t.Fatal(err)
	}
	return parts[0] + "." + base64.RawURLEncoding.EncodeToString(b) + "." + parts[2]
}

// TestSessionClaims: a token carrying session tags or a source identity needs
// sts:TagSession or sts:SetSourceIdentity in the trust policy besides
// sts:AssumeRoleWithWebIdentity, as STS checks it, and the tags are request
// values (aws:RequestTag/*) the conditions see; a malformed claim is refused as
// STS refuses it.
func TestSessionClaims(t *testing.T) {
	w := newWorld(t)
	u := w.provider.URL
	aud := map[string]any{u + ":aud": w.provider.ClientIDs[0]}
	tags := map[string]any{"https://aws.amazon.com/tags": map[string]any{
		"principal_tags": map[string]any{"team": []any{"web"}, "env": []any{"prod"}}, "transitive_tag_keys": []any{"team"}}}
	source := map[string]any{"https://aws.amazon.com/source_identity": "alice"}
	base := w.mint(t, issuer.MintRequest{Repository: "web"})
	trust := func(actions []string, cond map[string]any) string {
		s := stmt("Web", "Allow", cond)
		s["Action"] = actions
		return w.policy(s)
	}
	webOnly := []string{"sts:AssumeRoleWithWebIdentity"}
	withTag := []string{"sts:AssumeRoleWithWebIdentity", "sts:TagSession"}
	withSource := []string{"sts:AssumeRoleWithWebIdentity", "sts:SetSourceIdentity"}
	cases := []struct {
		name    string
		claims  map[string]any
		trust   string
		verdict explain.Verdict
		// want is a check (title fragment → status) the report must have.
		wantTitle  string
		wantStatus explain.Status
	}{
		{"tags without sts:TagSession", tags, trust(webOnly, map[string]any{"StringEquals": aud}), explain.VerdictDenied,
			"allows sts:TagSession", explain.Fail},
		{"tags with sts:TagSession", tags, trust(withTag, map[string]any{"StringEquals": aud}), explain.VerdictAdmitted,
			"allows sts:TagSession", explain.Pass},
		{"tags read as aws:RequestTag", tags, trust(withTag, map[string]any{"StringEquals": map[string]any{"aws:RequestTag/team": "web"}}), explain.VerdictAdmitted,
			"StringEquals on aws:RequestTag/team", explain.Pass},
		{"a tag the condition refuses", tags, trust(withTag, map[string]any{"StringEquals": map[string]any{"aws:RequestTag/team": "api"}}), explain.VerdictDenied,
			"StringEquals on aws:RequestTag/team", explain.Fail},
		{"source identity without sts:SetSourceIdentity", source, trust(withTag, map[string]any{"StringEquals": aud}), explain.VerdictDenied,
			"allows sts:SetSourceIdentity", explain.Fail},
		{"source identity with sts:SetSourceIdentity", source, trust(withSource, map[string]any{"StringEquals": aud}), explain.VerdictAdmitted,
			"allows sts:SetSourceIdentity", explain.Pass},
		{"malformed tags", map[string]any{"https://aws.amazon.com/tags": map[string]any{"principal_tags": map[string]any{"team": "web"}}},
			trust(withTag, map[string]any{"StringEquals": aud}), explain.VerdictDenied, "session tags and source identity claims are well formed", explain.Fail},
		{"no session claims", nil, trust(webOnly, map[string]any{"StringEquals": aud}), explain.VerdictAdmitted,
			"the role's trust policy allows this token", explain.Pass},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rep := explain.Run(context.Background(), explain.Input{
				Token: withClaims(t, base, tc.claims), RoleARN: "arn:aws:iam::000000000000:role/deploy", TrustPolicy: tc.trust,
				Providers: []oidc.Provider{w.provider}, Now: t0.Add(time.Minute),
			})
			var text strings.Builder
			if err := rep.WriteText(&text); err != nil {
				t.Fatal(err)
			}
			if rep.Verdict != tc.verdict {
				t.Errorf("verdict %s, want %s\n%s", rep.Verdict, tc.verdict, text.String())
			}
			found := false
			for _, c := range rep.Checks {
				if strings.Contains(c.Title, tc.wantTitle) {
					found = true
					if c.Status != tc.wantStatus {
						t.Errorf("check %q is %s, want %s\n%s", c.Title, c.Status, tc.wantStatus, text.String())
					}
				}
			}
			if !found {
				t.Errorf("no check %q in\n%s", tc.wantTitle, text.String())
			}
			hasSession := strings.Contains(text.String(), "session tags and source identity claims")
			if hasSession != (tc.claims != nil) {
				t.Errorf("the report has the session claims check: %v, want %v\n%s", hasSession, tc.claims != nil, text.String())
			}
		})
	}
}
