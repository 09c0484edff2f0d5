package provision

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
)

// baseConfig is the config the plan and apply tests start from: a GitHub provider
// and one deploy role per environment of acme/web.
const baseConfig = `name: web
tags: {owner: platform, tier: "1"}
providers:
  gh:
    type: github
    audiences: [sts.amazonaws.com]
    thumbprints: [aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa]
roles:
  - name: deploy-{repository}-{environment}
    matrix:
      repositories: [acme/web]
      environments: [staging, production]
    trust:
      audiences: [sts.amazonaws.com]
    permissions:
      - template: s3-deploy
        bucket: acme-{environment}
`

// edit returns baseConfig with each old string replaced by the new one after it.
func edit(t *testing.T, pairs ...string) string {
	t.Helper()
	s := baseConfig
	for i := 0; i < len(pairs); i += 2 {
		if !strings.Contains(s, pairs[i]) {
			t.Fatalf("baseConfig has no %q", pairs[i])
		}
		s = strings.Replace(s, pairs[i], pairs[i+1], 1)
	}
	return s
}

// desiredState is the desired state of a config text in account 123456789012.
func desiredState(t *testing.T, config string) *State {
	t.Helper()
	spec, err := Parse("keyless.yaml", []byte(config))
	if err != nil {
		t.Fatal(err)
	}
	st, err := Desired(spec)
	if err != nil {
		t.Fatal(err)
	}
	st, err = st.WithAccount("123456789012")
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// planFor reads the fake and plans desired against it.
func planFor(t *testing.T, f *fakeIAM, desired *State) (*Plan, error) {
	t.Helper()
	actual, err := ReadActual(context.Background(), f, desired, ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return NewPlan(desired, actual)
}

// applyConfig plans a config against the fake and applies the plan.
func applyConfig(t *testing.T, f *fakeIAM, config string) {
	t.Helper()
	p, err := planFor(t, f, desiredState(t, config))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Apply(context.Background(), f, p, ApplyOptions{}); err != nil {
		t.Fatal(err)
	}
}

func stepList(p *Plan) []string {
	var out []string
	for _, s := range p.Steps() {
		out = append(out, s.Op+" "+s.Target)
	}
	return out
}

// reorder rewrites a document as IAM may hand it back: keys in another order,
// strings as one-element lists, lists reversed, whitespace added.
func reorder(t *testing.T, doc string) string {
	t.Helper()
	var v any
	if err := json.Unmarshal([]byte(doc), &v); err != nil {
		t.Fatal(err)
	}
	var mess func(any) any
	mess = func(v any) any {
		switch x := v.(type) {
		case map[string]any:
			for k, e := range x {
				if s, ok := e.(string); ok && k != "Version" && k != "Effect" && k != "Sid" {
					x[k] = []any{s}
				} else {
					x[k] = mess(e)
				}
			}
			return x
		case []any:
			slices.Reverse(x)
			for i := range x {
				x[i] = mess(x[i])
			}
			return x
		}
		return v
	}
	b, err := json.MarshalIndent(mess(v), "", "    ")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestPlan plans an edited config against IAM holding what baseConfig applied
// (or nothing, for fresh), and checks the IAM calls of the plan, in order, the
// error, and the text rendering against testdata/plan-NAME.golden.
func TestPlan(t *testing.T) {
	const (
		staging = "deploy-web-staging"
		prod    = "deploy-web-production"
		url     = "token.actions.githubusercontent.com"
	)
	for _, tc := range []struct {
		name    string
		fresh   bool                    // IAM holds nothing instead of baseConfig
		config  func(*testing.T) string // defaults to baseConfig
		seed    func(*testing.T, *fakeIAM)
		want    []string // "Op target" of every step, in order
		wantErr string
		golden  bool
	}{
		{name: "no-change", golden: true},
		{name: "create", fresh: true, golden: true, want: []string{
			"CreateOpenIDConnectProvider " + url,
			"CreateRole " + prod, "PutRolePolicy " + prod,
			"CreateRole " + staging, "PutRolePolicy " + staging,
		}},
		{name: "new-role", config: func(t *testing.T) string {
			return edit(t, "[staging, production]", "[staging, production, qa]")
		}, want: []string{"CreateRole deploy-web-qa", "PutRolePolicy deploy-web-qa"}},
		{name: "trust-changed", golden: true, config: func(t *testing.T) string {
			return edit(t, "audiences: [sts.amazonaws.com]\n    permissions", "audiences: [sts.amazonaws.com]\n      source_ips: [203.0.113.0/24]\n    permissions")
		}, want: []string{"UpdateAssumeRolePolicy " + prod, "UpdateAssumeRolePolicy " + staging}},
		{name: "encoded-and-reordered", seed: func(t *testing.T, f *fakeIAM) {
			for _, r := range f.roles {
				r.trust = reorder(t, r.trust)
				for n, d := range r.inline {
					r.inline[n] = reorder(t, d)
				}
			}
		}},
		{name: "client-id-added", golden: true, config: func(t *testing.T) string {
			return edit(t, "audiences: [sts.amazonaws.com]\n    thumbprints", "audiences: [sts.amazonaws.com, https://github.com/acme]\n    thumbprints")
		}, want: []string{"AddClientIDToOpenIDConnectProvider " + url}},
		{name: "thumbprint-changed", config: func(t *testing.T) string {
			return edit(t, "[aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa]", "[BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB]")
		}, want: []string{"UpdateOpenIDConnectProviderThumbprint " + url}},
		{name: "thumbprint-case-only", config: func(t *testing.T) string {
			return edit(t, "[aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa]", "[AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA]")
		}},
		{name: "tags-changed", golden: true, config: func(t *testing.T) string {
			return edit(t, `{owner: platform, tier: "1"}`, `{owner: web-team, cost: "42"}`)
		}, want: []string{
			"TagOpenIDConnectProvider " + url, "UntagOpenIDConnectProvider " + url,
			"TagRole " + prod, "UntagRole " + prod, "TagRole " + staging, "UntagRole " + staging,
		}},
		{name: "role-attributes", config: func(t *testing.T) string {
			return edit(t, "    permissions:", "    description: Deploys {repository}\n    max_session_duration: 2h\n    permissions_boundary: arn:aws:iam::123456789012:policy/ci\n    managed_policies: [ReadOnlyAccess]\n    permissions:")
		}, want: []string{
			"UpdateRole " + prod, "PutRolePermissionsBoundary " + prod, "AttachRolePolicy " + prod,
			"UpdateRole " + staging, "PutRolePermissionsBoundary " + staging, "AttachRolePolicy " + staging,
		}},
		{name: "role-removed", golden: true, config: func(t *testing.T) string {
			return edit(t, "[staging, production]", "[production]")
		}, seed: func(t *testing.T, f *fakeIAM) {
			f.roles["other-config"] = &fakeRole{path: "/", trust: f.roles[staging].trust, tags: map[string]string{ManagedTagKey: "api"}, inline: map[string]string{}}
			f.roles["by-hand"] = &fakeRole{path: "/", trust: f.roles[staging].trust, tags: map[string]string{}, inline: map[string]string{}}
		}, want: []string{"DeleteRolePolicy " + staging, "DeleteRole " + staging}},
		{name: "provider-removed", config: func(t *testing.T) string {
			return "name: web\nproviders:\n  gl: {type: gitlab}\nroles:\n  - name: gl-{repository}-{branch}\n    matrix: {repositories: [acme/web], branches: [main]}\n"
		}, want: []string{
			"CreateOpenIDConnectProvider gitlab.com", "CreateRole gl-web-main",
			"DeleteRolePolicy " + prod, "DeleteRole " + prod, "DeleteRolePolicy " + staging, "DeleteRole " + staging,
			"DeleteOpenIDConnectProvider " + url,
		}},
		{name: "untagged-same-name", seed: func(t *testing.T, f *fakeIAM) {
			delete(f.roles[prod].tags, ManagedTagKey)
		}, wantErr: "role deploy-web-production already exists in IAM and has no keyless:managed tag"},
		{name: "other-config-same-name", seed: func(t *testing.T, f *fakeIAM) {
			f.roles[prod].tags[ManagedTagKey] = "api"
		}, wantErr: `role deploy-web-production already exists in IAM and is managed by config "api"`},
		{name: "untagged-provider", seed: func(t *testing.T, f *fakeIAM) {
			for _, p := range f.providers {
				p.tags = map[string]string{}
			}
		}, wantErr: "provider " + url + " already exists in IAM and has no keyless:managed tag"},
		{name: "path-changed", seed: func(t *testing.T, f *fakeIAM) {
			f.roles[prod].path = "/old/"
		}, wantErr: "role deploy-web-production has path /old/ in IAM and / in the config: IAM cannot move a role"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeIAM()
			if !tc.fresh {
				applyConfig(t, f, baseConfig)
			}
			if tc.seed != nil {
				tc.seed(t, f)
			}
			config := baseConfig
			if tc.config != nil {
				config = tc.config(t)
			}
			f.calls = nil
			p, err := planFor(t, f, desiredState(t, config))
			if tc.wantErr != "" {
				var ce *ConflictError
				if !errors.As(err, &ce) || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want a *ConflictError with %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := stepList(p); !slices.Equal(got, tc.want) {
				t.Errorf("steps:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(tc.want, "\n  "))
			}
			if p.Empty() != (len(tc.want) == 0) {
				t.Errorf("Empty() = %v with %d steps", p.Empty(), len(tc.want))
			}
			if len(f.callLog()) != 0 {
				t.Errorf("planning changed IAM: %v", f.callLog())
			}
			var text bytes.Buffer
			if err := p.WriteText(&text); err != nil {
				t.Fatal(err)
			}
			if tc.golden {
				golden(t, "plan-"+tc.name+".golden", text.Bytes())
			}
			js, err := p.JSON()
			if err != nil {
				t.Fatal(err)
			}
			var back struct {
				Changes []Change `json:"changes"`
				Summary struct{ Create, Update, Delete, Calls int }
			}
			if err := json.Unmarshal(js, &back); err != nil {
				t.Fatalf("plan JSON does not decode: %v\n%s", err, js)
			}
			if back.Summary.Calls != len(tc.want) || len(back.Changes) != len(p.Changes) {
				t.Errorf("plan JSON summary %+v with %d changes, want %d calls and %d changes", back.Summary, len(back.Changes), len(tc.want), len(p.Changes))
			}
		})
	}
}

// TestPlanTrustDiffIsReadable checks the trust policy diff line by line: the
// unchanged lines are context, and only the added condition is marked.
func TestPlanTrustDiffIsReadable(t *testing.T) {
	f := newFakeIAM()
	applyConfig(t, f, baseConfig)
	p, err := planFor(t, f, desiredState(t, edit(t, "audiences: [sts.amazonaws.com]\n    permissions", "audiences: [sts.amazonaws.com]\n      source_ips: [203.0.113.0/24]\n    permissions")))
	if err != nil {
		t.Fatal(err)
	}
	d := p.Changes[0].Documents[0]
	if d.Policy != "trust" || d.Action != ActionUpdate || d.Before == "" || d.After == "" {
		t.Fatalf("document change %+v, want an update of the trust policy with both documents", d)
	}
	var plus, minus []string
	for _, l := range d.Diff {
		switch l[:2] {
		case "+ ":
			plus = append(plus, strings.TrimSpace(l[2:]))
		case "- ":
			minus = append(minus, strings.TrimSpace(l[2:]))
		}
	}
	want := []string{`"IpAddress": {`, `"aws:SourceIp": "203.0.113.0/24"`, `},`}
	if !slices.Equal(plus, want) || len(minus) != 0 {
		t.Errorf("diff adds %q and removes %q, want it to add %q only:\n%s", plus, minus, want, strings.Join(d.Diff, "\n"))
	}
}

func TestSameDocument(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		same bool
	}{
		{`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}`,
			`{"Statement":{"Resource":["*"],"Action":["s3:GetObject"],"Effect":"Allow"},"Version":"2012-10-17"}`, true},
		{`{"Statement":[{"Action":["a","b"]}]}`, `{"Statement":[{"Action":["b","a","a"]}]}`, true},
		{`{"Statement":[{"Action":"a"},{"Action":"b"}]}`, `{"Statement":[{"Action":"b"},{"Action":"a"}]}`, true},
		{`{"Statement":[{"Action":"a"}]}`, `{"Statement":[{"Action":"b"}]}`, false},
		{`{"Statement":[{"Condition":{"NumericLessThan":{"k":10}}}]}`, `{"Statement":[{"Condition":{"NumericLessThan":{"k":10.0}}}]}`, false},
		{`{"Statement":[{"Effect":"Allow"}]}`, `{"Statement":[{"Effect":"Deny"}]}`, false},
	} {
		got, err := SameDocument(Document(tc.a), Document(tc.b))
		if err != nil || got != tc.same {
			t.Errorf("SameDocument(%s, %s) = %v, %v; want %v", tc.a, tc.b, got, err, tc.same)
		}
	}
}

func TestLineDiff(t *testing.T) {
	got := lineDiff([]string{"a", "b", "c"}, []string{"a", "x", "c", "d"})
	want := []string{"  a", "- b", "+ x", "  c", "+ d"}
	if !slices.Equal(got, want) {
		t.Errorf("lineDiff = %q, want %q", got, want)
	}
}

func TestNewPlanNeedsAccountAndResolvedTrust(t *testing.T) {
	spec, err := Parse("keyless.yaml", []byte(baseConfig))
	if err != nil {
		t.Fatal(err)
	}
	st, err := Desired(spec)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := NewPlan(st, &State{}); err == nil || !strings.Contains(err.Error(), "WithAccount") {
		t.Errorf("a state without account: err = %v, want one naming WithAccount", err)
	}
	spec, err = Parse("keyless.yaml", []byte(edit(t, "audiences: [sts.amazonaws.com]\n    permissions", "audiences: [sts.amazonaws.com]\n      source_ips: atlassian:bitbucket\n    permissions")))
	if err != nil {
		t.Fatal(err)
	}
	st, err = Desired(spec)
	if err != nil {
		t.Fatal(err)
	}
	st, _ = st.WithAccount("123456789012")
	if _, err := NewPlan(st, &State{}); err == nil || !strings.Contains(err.Error(), "Resolve") {
		t.Errorf("a state with unresolved source_ips: err = %v, want one naming Resolve", err)
	}
}
