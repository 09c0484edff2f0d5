package provision

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
)

// TestApplyOrderAndIdempotency applies a config to an empty IAM: each provider is
// created before any role, each role before its policies are put and attached;
// a second plan is empty and applying it makes no call; and every step of the
// plan is in the report's Done list.
func TestApplyOrderAndIdempotency(t *testing.T) {
	ctx := context.Background()
	config := strings.Replace(baseConfig, "roles:", "  gl: {type: gitlab}\nroles:", 1)
	config = strings.Replace(config, "    matrix:", "    provider: gh\n    matrix:", 1)
	config = strings.Replace(config, "[staging, production]", "[dev, qa, staging, production]", 1)
	config = strings.Replace(config, "    permissions:", "    managed_policies: [ReadOnlyAccess]\n    permissions:", 1)
	config += "  - name: gl-{repository}-{branch}\n    provider: gl\n    matrix: {repositories: [acme/web, acme/api], branches: [main]}\n"
	f := newFakeIAM()
	desired := desiredState(t, config)
	p, err := planFor(t, f, desired)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := Apply(ctx, f, p, ApplyOptions{Concurrency: 4})
	if err != nil {
		t.Fatal(err)
	}
	if !rep.Complete() || len(rep.Done) != len(p.Steps()) {
		t.Errorf("report: %d done, %d failed, %d not done; want all %d done", len(rep.Done), len(rep.Failed), len(rep.NotDone), len(p.Steps()))
	}
	calls := f.callLog()
	if len(calls) != len(p.Steps()) {
		t.Errorf("%d calls for %d steps", len(calls), len(p.Steps()))
	}
	firstRole, lastProvider := len(calls), -1
	created := map[string]int{}
	for i, c := range calls {
		op, target, _ := strings.Cut(c, " ")
		switch op {
		case "CreateOpenIDConnectProvider":
			lastProvider = i
		case "CreateRole":
			firstRole = min(firstRole, i)
			created[target] = i
		case "PutRolePolicy", "AttachRolePolicy":
			at, ok := created[target]
			if !ok || at > i {
				t.Errorf("call %d %s before CreateRole %s", i, c, target)
			}
		}
	}
	if lastProvider < 0 || lastProvider > firstRole {
		t.Errorf("a provider was created after a role (calls %v)", calls)
	}
	if len(created) != 6 {
		t.Errorf("created %d roles, want 6: %v", len(created), calls)
	}

	again, err := planFor(t, f, desired)
	if err != nil {
		t.Fatal(err)
	}
	if !again.Empty() {
		var b bytes.Buffer
		again.WriteText(&b)
		t.Fatalf("the plan after apply is not empty:\n%s", b.String())
	}
	before := len(f.callLog())
	if rep, err := Apply(ctx, f, again, ApplyOptions{}); err != nil || len(rep.Done) != 0 || len(f.callLog()) != before {
		t.Errorf("applying the empty plan: %v, %d done, %d calls", err, len(rep.Done), len(f.callLog())-before)
	}
}

// TestApplyDeletesInOrder deletes a provider and its roles: each role is emptied
// (policies deleted, detached) before it is deleted, and the provider goes last.
func TestApplyDeletesInOrder(t *testing.T) {
	f := newFakeIAM()
	applyConfig(t, f, edit(t, "    permissions:", "    managed_policies: [ReadOnlyAccess]\n    permissions:"))
	f.calls = nil
	applyConfig(t, f, "name: web\nproviders:\n  gl: {type: gitlab}\nroles:\n  - name: gl-{repository}-{branch}\n    matrix: {repositories: [acme/web], branches: [main]}\n")
	calls := f.callLog()
	want := []string{
		"CreateOpenIDConnectProvider gitlab.com", "CreateRole gl-web-main",
		"DeleteRolePolicy deploy-web-production", "DetachRolePolicy deploy-web-production", "DeleteRole deploy-web-production",
		"DeleteRolePolicy deploy-web-staging", "DetachRolePolicy deploy-web-staging", "DeleteRole deploy-web-staging",
		"DeleteOpenIDConnectProvider token.actions.githubusercontent.com",
	}
	// The two deleted roles may interleave; each role's own order may not.
	for _, role := range []string{"deploy-web-production", "deploy-web-staging", "gl-web-main"} {
		if got, w := only(calls, role), only(want, role); !slices.Equal(got, w) {
			t.Errorf("calls for %s: %v, want %v", role, got, w)
		}
	}
	if calls[0] != want[0] || calls[len(calls)-1] != want[len(want)-1] || len(calls) != len(want) {
		t.Errorf("calls %v, want the new provider first and the old one deleted last", calls)
	}
	if len(f.roles) != 1 || len(f.providers) != 1 {
		t.Errorf("IAM holds %d roles and %d providers, want 1 and 1", len(f.roles), len(f.providers))
	}
}

func only(calls []string, target string) []string {
	var out []string
	for _, c := range calls {
		if strings.HasSuffix(c, " "+target) {
			out = append(out, c)
		}
	}
	return out
}

// TestApplyFailureHalfway injects a failure into one role's PutRolePolicy: the
// report lists the steps done (the provider and the roles before it), the failed
// one with IAM's message, and those not done; the error names the failed step. A
// fresh plan and apply once IAM accepts the call complete the work.
func TestApplyFailureHalfway(t *testing.T) {
	ctx := context.Background()
	f := newFakeIAM()
	desired := desiredState(t, edit(t, "[staging, production]", "[a, b, c, d]"))
	p, err := planFor(t, f, desired)
	if err != nil {
		t.Fatal(err)
	}
	f.fail["PutRolePolicy deploy-web-c"] = errors.New("LimitExceeded: throttled")
	rep, err := Apply(ctx, f, p, ApplyOptions{Concurrency: 1})
	if err == nil || !strings.Contains(err.Error(), "PutRolePolicy deploy-web-c (s3-deploy): LimitExceeded: throttled") {
		t.Fatalf("err = %v, want the failed step and IAM's answer", err)
	}
	var done, notDone []string
	for _, s := range rep.Done {
		done = append(done, s.Op+" "+s.Target)
	}
	for _, s := range rep.NotDone {
		notDone = append(notDone, s.Op+" "+s.Target)
	}
	wantDone := []string{"CreateOpenIDConnectProvider token.actions.githubusercontent.com",
		"CreateRole deploy-web-a", "PutRolePolicy deploy-web-a", "CreateRole deploy-web-b", "PutRolePolicy deploy-web-b", "CreateRole deploy-web-c"}
	if !slices.Equal(done, wantDone) {
		t.Errorf("done %v, want %v", done, wantDone)
	}
	if len(rep.Failed) != 1 || rep.Failed[0].Step.String() != "PutRolePolicy deploy-web-c (s3-deploy)" {
		t.Errorf("failed %+v", rep.Failed)
	}
	if want := []string{"CreateRole deploy-web-d", "PutRolePolicy deploy-web-d"}; !slices.Equal(notDone, want) {
		t.Errorf("not done %v, want %v", notDone, want)
	}
	if !slices.Equal(f.callLog(), done) {
		t.Errorf("IAM saw %v, the report says %v", f.callLog(), done)
	}
	var text bytes.Buffer
	if err := rep.WriteText(&text); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"6 of 9 IAM calls done", "done      CreateRole deploy-web-c", "failed    PutRolePolicy deploy-web-c (s3-deploy): LimitExceeded: throttled", "not done  CreateRole deploy-web-d", "run apply again"} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("report text lacks %q:\n%s", want, text.String())
		}
	}

	delete(f.fail, "PutRolePolicy deploy-web-c")
	f.calls = nil
	applyConfig(t, f, edit(t, "[staging, production]", "[a, b, c, d]"))
	// Roles run at once: compare each role's calls.
	if got, want := only(f.callLog(), "deploy-web-c"), []string{"PutRolePolicy deploy-web-c"}; !slices.Equal(got, want) {
		t.Errorf("the re-run called %v, want %v", got, want)
	}
	if want := []string{"CreateRole deploy-web-d", "PutRolePolicy deploy-web-d"}; !slices.Equal(only(f.callLog(), "deploy-web-d"), want) || len(f.callLog()) != 3 {
		t.Errorf("the re-run called %v, want %v", f.callLog(), want)
	}
	if p, err := planFor(t, f, desired); err != nil || !p.Empty() {
		t.Errorf("after the re-run the plan is not empty (%v)", err)
	}
}

// anySubjectConfig has a role any GitHub repository can assume: an error-severity
// lint finding.
const anySubjectConfig = "name: web\nproviders:\n  gh: {type: github}\nroles:\n  - name: deploy-any\n    trust: {allow_any_subject: true}\n"

// TestApplyRefusesBeforeCalling refuses plans that exceed a quota or carry
// error-severity lint findings before making any IAM call, and names the
// violation; --allow-risky (AllowRisky) lets the lint case through.
func TestApplyRefusesBeforeCalling(t *testing.T) {
	elevenManaged := make([]string, 11)
	for i := range elevenManaged {
		elevenManaged[i] = fmt.Sprintf("arn:aws:iam::123456789012:policy/p%d", i)
	}
	for _, tc := range []struct {
		name    string
		config  func(*testing.T) string
		opts    ApplyOptions
		wantErr string
		target  any
	}{
		{name: "managed policies over 10", config: func(t *testing.T) string {
			return edit(t, "    permissions:", "    managed_policies: ["+strings.Join(elevenManaged, ", ")+"]\n    permissions:")
		}, wantErr: "role deploy-web-production has 11 managed policies; the managed policies per role quota is 10", target: new(*QuotaError)},
		{name: "managed policies within a raised quota", config: func(t *testing.T) string {
			return edit(t, "    permissions:", "    managed_policies: ["+strings.Join(elevenManaged, ", ")+"]\n    permissions:")
		}, opts: ApplyOptions{Quotas: Quotas{ManagedPoliciesPerRole: 20}}},
		{name: "trust policy over the quota", config: func(t *testing.T) string { return baseConfig },
			opts:    ApplyOptions{Quotas: Quotas{TrustPolicyChars: 200}},
			wantErr: "the role trust policy length quota is 200", target: new(*QuotaError)},
		{name: "trust policy over 2048 at the default quota", config: func(t *testing.T) string { return sourceIPsConfig(t, 130) },
			wantErr: "the role trust policy length quota is 2048: list fewer subjects or source_ips, or ask AWS to raise the quota (up to 4096)", target: new(*QuotaError)},
		{name: "trust policy over 2048 within a raised quota", config: func(t *testing.T) string { return sourceIPsConfig(t, 130) },
			opts: ApplyOptions{Quotas: Quotas{TrustPolicyChars: 4096}}},
		{name: "quota beyond what AWS raises", config: func(t *testing.T) string { return baseConfig },
			opts: ApplyOptions{Quotas: Quotas{TrustPolicyChars: 8192}}, wantErr: "at most 4096"},
		{name: "lint error", config: func(t *testing.T) string {
			return anySubjectConfig
		}, wantErr: "error-severity lint finding", target: new(*LintError)},
		{name: "lint error allowed", config: func(t *testing.T) string {
			return anySubjectConfig
		}, opts: ApplyOptions{AllowRisky: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeIAM()
			for i := range elevenManaged {
				f.seedPolicy(fmt.Sprintf("p%d", i), "/", map[string]string{}, `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:ListBucket","Resource":"*"}]}`)
			}
			p, err := planFor(t, f, desiredState(t, tc.config(t)))
			if err != nil {
				t.Fatal(err)
			}
			rep, err := Apply(context.Background(), f, p, tc.opts)
			if tc.wantErr == "" {
				if err != nil || !rep.Complete() {
					t.Fatalf("Apply: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("err = %v, want %q", err, tc.wantErr)
			}
			if tc.target != nil && !errors.As(err, tc.target) {
				t.Errorf("err is a %T, want %T", err, tc.target)
			}
			if calls := f.callLog(); len(calls) != 0 {
				t.Errorf("IAM was called: %v", calls)
			}
			if len(rep.NotDone) != len(p.Steps()) || len(rep.Done) != 0 {
				t.Errorf("report: %d done, %d not done of %d steps", len(rep.Done), len(rep.NotDone), len(p.Steps()))
			}
		})
	}
}
