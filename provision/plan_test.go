package provision

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/keyless-dev/keyless/policy"
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

const extraPolicyARN = "arn:aws:iam::123456789012:policy/deploy-extra"

// policyDoc is a managed policy document allowing action on everything.
func policyDoc(action string) string {
	return `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"` + action + `","Resource":"*"}]}`
}

// withPolicy is the desired state of baseConfig plus the customer managed policy
// deploy-extra, as a CloudFormation template gives it, which deploy-web-production
// attaches; edit changes the policy.
func withPolicy(t *testing.T, doc string, edit func(*ManagedPolicy)) *State {
	t.Helper()
	st := desiredState(t, baseConfig)
	mp := ManagedPolicy{Name: "deploy-extra", Path: "/", ARN: extraPolicyARN, Document: Document(doc), Tags: []Tag{{ManagedTagKey, "web"}}}
	if edit != nil {
		edit(&mp)
	}
	st.Policies = []ManagedPolicy{mp}
	for i := range st.Roles {
		if st.Roles[i].Name == "deploy-web-production" {
			st.Roles[i].ManagedPolicyARNs = append(append([]string(nil), st.Roles[i].ManagedPolicyARNs...), mp.ARN)
		}
	}
	return st
}

// fullSteps renders every step with its detail.
func fullSteps(p *Plan) []string {
	var out []string
	for _, s := range p.Steps() {
		out = append(out, s.String())
	}
	return out
}

// TestPlanPolicies plans customer managed policies against IAM holding baseConfig
// and deploy-extra (version v1, attached to deploy-web-production) as applied
// before: the IAM calls in order — a policy created before the role attaches it,
// a changed document as a new default version (the oldest non-default version
// deleted first when IAM's 5 exist), detached before deleted, its other versions
// deleted before it — or the conflict; then applies the plan to the fake (which
// refuses what IAM refuses: attaching a missing policy, a sixth version, deleting
// an attached policy or one with versions) and plans again: nothing left to do.
func TestPlanPolicies(t *testing.T) {
	const prod = "deploy-web-production"
	a, b := policyDoc("s3:GetObject"), policyDoc("s3:PutObject")
	fiveVersions := func(def string) func(*testing.T, *fakeIAM) {
		return func(t *testing.T, f *fakeIAM) {
			p := f.policies[extraPolicyARN]
			for i := 2; i <= 5; i++ {
				p.versions = append(p.versions, fakeVersion{id: fmt.Sprintf("v%d", i), doc: policyDoc(fmt.Sprintf("s3:Get%d", i)), created: time.Unix(int64(1000+i), 0)})
			}
			p.lastVersion = 5
			p.defaultID = def
			p.version(def).doc = a
		}
	}
	for _, tc := range []struct {
		name    string
		fresh   bool // IAM holds baseConfig only
		seed    func(*testing.T, *fakeIAM)
		desired func(*testing.T) *State
		want    []string
		wantErr string
	}{
		{name: "create", fresh: true, desired: func(t *testing.T) *State { return withPolicy(t, a, nil) },
			want: []string{"CreatePolicy deploy-extra", "AttachRolePolicy " + prod + " (" + extraPolicyARN + ")"}},
		{name: "no-change", desired: func(t *testing.T) *State { return withPolicy(t, a, nil) }},
		{name: "encoded-and-reordered", seed: func(t *testing.T, f *fakeIAM) {
			p := f.policies[extraPolicyARN]
			p.versions[0].doc = reorder(t, p.versions[0].doc)
		}, desired: func(t *testing.T) *State { return withPolicy(t, a, nil) }},
		{name: "document-changed", desired: func(t *testing.T) *State { return withPolicy(t, b, nil) },
			want: []string{"CreatePolicyVersion deploy-extra (as the default)"}},
		{name: "five-versions", seed: fiveVersions("v3"), desired: func(t *testing.T) *State { return withPolicy(t, b, nil) },
			want: []string{"DeletePolicyVersion deploy-extra (v1, the oldest of 5)", "CreatePolicyVersion deploy-extra (as the default)"}},
		{name: "five-versions-oldest-default", seed: fiveVersions("v1"), desired: func(t *testing.T) *State { return withPolicy(t, b, nil) },
			want: []string{"DeletePolicyVersion deploy-extra (v2, the oldest of 5)", "CreatePolicyVersion deploy-extra (as the default)"}},
		{name: "tags-changed", desired: func(t *testing.T) *State {
			return withPolicy(t, a, func(mp *ManagedPolicy) { mp.Tags = append(mp.Tags, Tag{"team", "web"}) })
		}, want: []string{"TagPolicy deploy-extra (team)"}},
		{name: "removed", seed: func(t *testing.T, f *fakeIAM) {
			p := f.policies[extraPolicyARN]
			p.versions = append(p.versions, fakeVersion{id: "v2", doc: b, created: time.Unix(1002, 0)})
			p.defaultID, p.lastVersion = "v2", 2
		}, desired: func(t *testing.T) *State { return desiredState(t, baseConfig) },
			want: []string{"DetachRolePolicy " + prod + " (" + extraPolicyARN + ")", "DeletePolicyVersion deploy-extra (v1)", "DeletePolicy deploy-extra"}},
		{name: "untagged-same-name", seed: func(t *testing.T, f *fakeIAM) {
			f.policies[extraPolicyARN].tags = map[string]string{}
		}, desired: func(t *testing.T) *State { return withPolicy(t, a, nil) },
			wantErr: "policy deploy-extra already exists in IAM and has no keyless:managed tag"},
		{name: "path-changed", desired: func(t *testing.T) *State {
			return withPolicy(t, a, func(mp *ManagedPolicy) { mp.Path, mp.ARN = "/ci/", "arn:aws:iam::123456789012:policy/ci/deploy-extra" })
		}, wantErr: "policy deploy-extra has path / in IAM and /ci/ in the config: IAM cannot move a policy"},
		{name: "description-changed", desired: func(t *testing.T) *State {
			return withPolicy(t, a, func(mp *ManagedPolicy) { mp.Description = "new" })
		}, wantErr: `policy deploy-extra has description "" in IAM and "new" in the config: IAM cannot change a managed policy's description`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeIAM()
			applyConfig(t, f, baseConfig)
			if !tc.fresh {
				p, err := planFor(t, f, withPolicy(t, a, nil))
				if err != nil {
					t.Fatal(err)
				}
				if _, err := Apply(context.Background(), f, p, ApplyOptions{}); err != nil {
					t.Fatal(err)
				}
			}
			if tc.seed != nil {
				tc.seed(t, f)
			}
			f.calls = nil
			desired := tc.desired(t)
			p, err := planFor(t, f, desired)
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
			if got := fullSteps(p); !slices.Equal(got, tc.want) {
				t.Fatalf("steps:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(tc.want, "\n  "))
			}
			rep, err := Apply(context.Background(), f, p, ApplyOptions{Concurrency: 4})
			if err != nil {
				var b bytes.Buffer
				rep.WriteText(&b)
				t.Fatalf("Apply: %v\n%s", err, b.String())
			}
			if again, err := planFor(t, f, desired); err != nil || !again.Empty() {
				t.Errorf("the plan after apply: %v, steps %v; want none", err, fullSteps(again))
			}
			if len(desired.Policies) == 0 {
				if f.policies[extraPolicyARN] != nil {
					t.Error("deploy-extra is still in IAM")
				}
				return
			}
			fp := f.policies[extraPolicyARN]
			if same, _ := SameDocument(Document(fp.version(fp.defaultID).doc), desired.Policies[0].Document); !same || len(fp.versions) > MaxPolicyVersions {
				t.Errorf("IAM holds default %s of %d versions: %s", fp.defaultID, len(fp.versions), fp.version(fp.defaultID).doc)
			}
		})
	}
}

// TestPlanPolicyText checks how a plan shows a managed policy: the created policy
// with its document, its lint findings labelled with the policy's name, and the
// summary.
func TestPlanPolicyText(t *testing.T) {
	f := newFakeIAM()
	applyConfig(t, f, baseConfig)
	desired := withPolicy(t, policyDoc("s3:GetObject"), nil)
	desired.Findings = append(desired.Findings, Finding{Policy: "deploy-extra", Finding: policy.Finding{Severity: policy.SeverityWarning, RuleID: "r", Message: "m"}})
	p, err := planFor(t, f, desired)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := p.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"+ create policy deploy-extra\n    " + extraPolicyARN + "\n    path: /\n    tags:\n      + keyless:managed=web\n    + policy document:\n      + {",
		"~ update role deploy-web-production",
		"      + " + extraPolicyARN,
		"warning  managed policy deploy-extra: m [r]",
		"Plan: 1 to create, 1 to update, 0 to delete (2 IAM calls).",
	} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("plan text lacks %q:\n%s", want, b.String())
		}
	}
}
