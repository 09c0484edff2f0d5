package provision

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/keyless-dev/keyless/policy"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// golden compares got with testdata/name, or rewrites it under -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./provision -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the output (go test ./provision -update rewrites it):\n%s", path, got)
	}
}

// TestDesiredGolden renders the desired state of each example config and
// compares it with its golden JSON (findings left out); every document in it must
// parse as its kind, every entity carry keyless:managed, and a second run give the
// same bytes.
func TestDesiredGolden(t *testing.T) {
	for _, name := range []string{"bitbucket", "github", "gitlab"} {
		t.Run(name, func(t *testing.T) {
			spec, err := Load(filepath.Join("testdata", name+".yaml"))
			if err != nil {
				t.Fatal(err)
			}
			st, err := Desired(spec)
			if err != nil {
				t.Fatal(err)
			}
			checkDocuments(t, st)
			// Findings are policy.Lint's words, asserted by rule in TestFindings;
			// the golden file holds the state itself.
			bare := *st
			bare.Findings = nil
			out, err := bare.JSON()
			if err != nil {
				t.Fatal(err)
			}
			golden(t, name+".desired.json", out)

			again, err := Desired(spec)
			if err != nil {
				t.Fatal(err)
			}
			again.Findings = nil
			if out2, _ := again.JSON(); !bytes.Equal(out, out2) {
				t.Error("a second Desired of the same spec gave different JSON")
			}
		})
	}
}

// checkDocuments parses every rendered document as its kind and checks the
// keyless:managed tag on every entity.
func checkDocuments(t *testing.T, st *State) {
	t.Helper()
	for _, p := range st.Providers {
		if !hasTag(p.Tags, ManagedTagKey, st.Name) {
			t.Errorf("provider %s lacks %s=%s: %v", p.URL, ManagedTagKey, st.Name, p.Tags)
		}
	}
	for _, r := range st.Roles {
		if !hasTag(r.Tags, ManagedTagKey, st.Name) {
			t.Errorf("role %s lacks %s=%s: %v", r.Name, ManagedTagKey, st.Name, r.Tags)
		}
		if r.TrustPolicy == "" {
			if len(r.SourceIPRefs) == 0 {
				t.Errorf("role %s has no trust policy and nothing pending", r.Name)
			}
		} else if _, err := policy.Parse([]byte(r.TrustPolicy), policy.KindTrust); err != nil {
			t.Errorf("role %s trust policy: %v", r.Name, err)
		}
		for _, ip := range r.InlinePolicies {
			if _, err := policy.Parse([]byte(ip.Document), policy.KindIdentity); err != nil {
				t.Errorf("role %s policy %s: %v", r.Name, ip.Name, err)
			}
		}
	}
}

func hasTag(tags []Tag, k, v string) bool {
	for _, tg := range tags {
		if tg.Key == k && tg.Value == v {
			return true
		}
	}
	return false
}

type fakeRanges struct {
	cidrs []string
	err   error
	calls int
}

func (f *fakeRanges) BitbucketEgress(context.Context) ([]string, error) {
	f.calls++
	return f.cidrs, f.err
}

// TestResolve checks that a pending source_ips reference is resolved through the
// IPRanges interface once, merged with the literal CIDRs, and that errors wrap.
const pendingConfig = `
providers: {bb: {type: bitbucket, workspace: acme, workspace_uuid: "84c08677-e352-4a1c-a107-6df387cfeef7"}}
roles:
  - name: deploy-{repository}
    matrix: {repositories: [{name: web, uuid: "13faecea-5b4a-4a2b-8c9d-0e1f2a3b4c5d"}, {name: api, uuid: "23faecea-5b4a-4a2b-8c9d-0e1f2a3b4c5d"}]}
    trust: {source_ips: [atlassian:bitbucket, 10.0.0.0/8]}
`

func TestResolve(t *testing.T) {
	st := mustDesired(t, pendingConfig)
	if !st.Pending() || st.Roles[0].TrustPolicy != "" || !reflect.DeepEqual(st.Roles[0].SourceIPRefs, []string{RefBitbucketEgress}) {
		t.Fatalf("before Resolve: pending %v, trust %q, refs %v", st.Pending(), st.Roles[0].TrustPolicy, st.Roles[0].SourceIPRefs)
	}
	r := &fakeRanges{cidrs: []string{"34.199.54.113/32", "10.0.0.0/8"}}
	got, err := st.Resolve(context.Background(), r)
	if err != nil {
		t.Fatal(err)
	}
	if r.calls != 1 {
		t.Errorf("BitbucketEgress called %d times, want 1", r.calls)
	}
	if got.Pending() || !st.Pending() {
		t.Errorf("Resolve must return a resolved copy and leave the original: got pending %v, original pending %v", got.Pending(), st.Pending())
	}
	const wantIPs = `"IpAddress":{"aws:SourceIp":["10.0.0.0/8","34.199.54.113/32"]}`
	for _, role := range got.Roles {
		if !strings.Contains(string(role.TrustPolicy), wantIPs) {
			t.Errorf("role %s trust policy lacks %s:\n%s", role.Name, wantIPs, role.TrustPolicy)
		}
	}
	boom := errors.New("feed unreachable")
	if _, err := st.Resolve(context.Background(), &fakeRanges{err: boom}); !errors.Is(err, boom) || err.Error() != "resolve atlassian:bitbucket: feed unreachable" {
		t.Errorf("Resolve with a failing resolver: %v", err)
	}
	if _, err := st.Resolve(context.Background(), nil); err == nil || err.Error() != "role deploy-api: source_ips atlassian:bitbucket needs the IP ranges resolver" {
		t.Errorf("Resolve without a resolver: %v", err)
	}
}

// TestWithAccount checks that the placeholder is replaced everywhere and that a
// config's own account is enforced.
func TestWithAccount(t *testing.T) {
	st := mustDesired(t, pendingConfig)
	got, err := st.WithAccount("111122223333")
	if err != nil {
		t.Fatal(err)
	}
	resolved, err := got.Resolve(context.Background(), &fakeRanges{cidrs: []string{"34.199.54.113/32"}})
	if err != nil {
		t.Fatal(err)
	}
	out, _ := resolved.JSON()
	if bytes.Contains(out, []byte(AccountPlaceholder)) || !bytes.Contains(out, []byte(`"Federated": "arn:aws:iam::111122223333:oidc-provider/api.bitbucket.org/2.0/workspaces/acme/pipelines-config/identity/oidc"`)) {
		t.Errorf("placeholder left or account missing:\n%s", out)
	}
	if orig, _ := st.JSON(); !bytes.Contains(orig, []byte(AccountPlaceholder)) {
		t.Error("WithAccount changed the original state")
	}
	if _, err := got.WithAccount("999999999999"); err == nil || err.Error() != "the config is for account 111122223333, not 999999999999" {
		t.Errorf("WithAccount with another account: %v", err)
	}
	if _, err := st.WithAccount("12"); err == nil || err.Error() != `"12" is not an AWS account id: want 12 digits` {
		t.Errorf("WithAccount(12): %v", err)
	}
}

// TestWithAccountPolicies checks that WithAccount rewrites customer managed
// policies (ARN and document) and the managed policy ARNs roles attach, as a
// CloudFormation template read without an account has them, and leaves the
// original alone.
func TestWithAccountPolicies(t *testing.T) {
	ph := "arn:aws:iam::" + AccountPlaceholder + ":policy/ci/deploy"
	doc := Document(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:PassRole","Resource":"arn:aws:iam::` + AccountPlaceholder + `:role/x"}]}`)
	st := &State{Name: "stack", Partition: "aws",
		Roles:    []Role{{Name: "r", ARN: "arn:aws:iam::" + AccountPlaceholder + ":role/r", ManagedPolicyARNs: []string{"arn:aws:iam::aws:policy/ReadOnlyAccess", ph}}},
		Policies: []ManagedPolicy{{Name: "deploy", Path: "/ci/", ARN: ph, Document: doc}},
	}
	got, err := st.WithAccount("111122223333")
	if err != nil {
		t.Fatal(err)
	}
	const want = "arn:aws:iam::111122223333:policy/ci/deploy"
	if got.Policies[0].ARN != want || !strings.Contains(string(got.Policies[0].Document), "arn:aws:iam::111122223333:role/x") {
		t.Errorf("policy after WithAccount: %+v", got.Policies[0])
	}
	if arns := got.Roles[0].ManagedPolicyARNs; !reflect.DeepEqual(arns, []string{"arn:aws:iam::aws:policy/ReadOnlyAccess", want}) {
		t.Errorf("role's managed policy ARNs after WithAccount: %v", arns)
	}
	if st.Policies[0].ARN != ph || st.Roles[0].ManagedPolicyARNs[1] != ph || st.Policies[0].Document != doc {
		t.Error("WithAccount changed the original state's policies")
	}
}

// TestResolveThumbprints computes the thumbprints of "thumbprints: auto" providers
// through the given function (with the https:// URL), lower-cased and without
// duplicates, leaves listed thumbprints and the original state alone, and names
// the provider in errors.
func TestResolveThumbprints(t *testing.T) {
	const config = `name: web
providers:
  gh: {type: github, thumbprints: auto}
  gl: {type: gitlab, thumbprints: [cccccccccccccccccccccccccccccccccccccccc]}
roles:
  - name: deploy-{repository}
    provider: gh
    matrix: {repositories: [acme/web], branches: [main]}
`
	st := mustDesired(t, config)
	if !st.AutoThumbprints() {
		t.Fatal("AutoThumbprints() = false for a thumbprints: auto provider")
	}
	var asked []string
	get := func(_ context.Context, issuer string) ([]string, error) {
		asked = append(asked, issuer)
		return []string{"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"}, nil
	}
	got, err := st.ResolveThumbprints(context.Background(), get)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(asked, []string{"https://token.actions.githubusercontent.com"}) {
		t.Errorf("asked for %q, want only the auto provider's https URL", asked)
	}
	byURL := map[string]Provider{}
	for _, p := range got.Providers {
		byURL[p.URL] = p
	}
	if gh := byURL["token.actions.githubusercontent.com"]; gh.ThumbprintsAuto || !reflect.DeepEqual(gh.Thumbprints, []string{"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"}) {
		t.Errorf("auto provider after ResolveThumbprints: %+v", gh)
	}
	if gl := byURL["gitlab.com"]; !reflect.DeepEqual(gl.Thumbprints, []string{"cccccccccccccccccccccccccccccccccccccccc"}) {
		t.Errorf("listed thumbprints changed: %+v", gl)
	}
	if got.AutoThumbprints() || !st.AutoThumbprints() {
		t.Error("ResolveThumbprints must return a resolved copy and leave the original")
	}

	boom := errors.New("certificate signed by unknown authority")
	for _, tc := range []struct {
		name string
		get  ThumbprintFunc
		want string
	}{
		{"failing", func(context.Context, string) ([]string, error) { return nil, boom },
			"provider token.actions.githubusercontent.com: compute its thumbprints (thumbprints: auto): certificate signed by unknown authority"},
		{"none", func(context.Context, string) ([]string, error) { return nil, nil },
			"provider token.actions.githubusercontent.com: no thumbprint found (thumbprints: auto): list them in the config"},
		{"too many", func(context.Context, string) ([]string, error) {
			return []string{strings.Repeat("1", 40), strings.Repeat("2", 40), strings.Repeat("3", 40), strings.Repeat("4", 40), strings.Repeat("5", 40), strings.Repeat("6", 40)}, nil
		}, "provider token.actions.githubusercontent.com: 6 thumbprints found; IAM allows 5 per provider: list the ones to pin in the config"},
		{"no function", nil, "provider token.actions.githubusercontent.com: thumbprints: auto needs a thumbprint source"},
	} {
		_, err := st.ResolveThumbprints(context.Background(), tc.get)
		if err == nil || err.Error() != tc.want {
			t.Errorf("%s: err = %v, want %q", tc.name, err, tc.want)
		}
		if tc.name == "failing" && !errors.Is(err, boom) {
			t.Errorf("%s: the cause is not wrapped", tc.name)
		}
	}
}

// sourceIPsConfig is a config whose one trust policy lists n source CIDRs.
func sourceIPsConfig(t *testing.T, n int) string {
	cidrs := make([]string, n)
	for i := range cidrs {
		cidrs[i] = fmt.Sprintf("10.%d.%d.0/24", i/250, i%250)
	}
	return edit(t, "audiences: [sts.amazonaws.com]\n    permissions", "audiences: [sts.amazonaws.com]\n      source_ips: ["+strings.Join(cidrs, ", ")+"]\n    permissions")
}

// TestTrustPolicySizeIsTheQuotasInput checks that Desired accepts a trust policy
// over the default 2048-character quota (the quota is an input of apply, see
// TestApplyRefusesBeforeCalling) and refuses one over 4096, the most any quota
// allows, naming the limit.
func TestTrustPolicySizeIsTheQuotasInput(t *testing.T) {
	st := mustDesired(t, sourceIPsConfig(t, 130))
	n := policy.Size([]byte(st.Roles[0].TrustPolicy), policy.KindTrust)
	if n <= DefaultTrustPolicyChars || n > MaxTrustPolicyChars {
		t.Fatalf("the trust policy has %d characters, want between %d and %d", n, DefaultTrustPolicyChars, MaxTrustPolicyChars)
	}
	spec, err := Parse("keyless.yaml", []byte(sourceIPsConfig(t, 260)))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Desired(spec); err == nil || !strings.Contains(err.Error(), "is too large") || !strings.Contains(err.Error(), "IAM allows 4096 characters even once the quota is raised") {
		t.Errorf("a trust policy over 4096 characters: err = %v", err)
	}
}

// TestFindings checks that lint findings come back with the state: a role that
// allows any subject is flagged, and seed 001's cdk-deploy grant is reported as
// administrator access through CloudFormation.
func TestFindings(t *testing.T) {
	st := mustDesired(t, `
providers: {gh: {type: github}}
roles:
  - name: any
    trust: {allow_any_subject: true}
  - name: cdk
    trust: {subjects: ["repo:acme/infra:ref:refs/heads/main"]}
    permissions: [{template: cdk-deploy}]
`)
	var got []string
	for _, f := range st.Findings {
		got = append(got, f.Role+" "+f.Policy+" "+f.RuleID+" "+string(f.Severity))
	}
	want := []string{
		"any trust no-sub-condition error",
		"cdk cdk-deploy admin-access error",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("findings:\n got %q\nwant %q", got, want)
	}
}

// TestPolicyFileErrors checks the errors of a policy file Desired cannot use.
func TestPolicyFileErrors(t *testing.T) {
	dir := t.TempDir()
	write := func(name, data string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cfg := `providers: {gh: {type: github}}
roles:
  - name: r
    trust: {subjects: ["repo:a/b:*"]}
    permissions:
      - file: p.json
`
	write("k.yaml", cfg)
	write("p.json", `{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject"}]}`)
	spec, err := Load(filepath.Join(dir, "k.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = Desired(spec)
	want := filepath.Join(dir, "k.yaml") + ":6:15: roles[0].permissions[0].file: inline policy p of role r: MalformedPolicyDocument: statement 0, Resource: Policy statement must contain resources (Resource or NotResource)"
	if err == nil || err.Error() != want {
		t.Errorf("got  %v\nwant %s", err, want)
	}
	if err := os.Remove(filepath.Join(dir, "p.json")); err != nil {
		t.Fatal(err)
	}
	_, err = Load(filepath.Join(dir, "k.yaml"))
	if err == nil || !strings.HasPrefix(err.Error(), filepath.Join(dir, "k.yaml")+":6:15: roles[0].permissions[0].file: cannot read the policy file: open ") {
		t.Errorf("missing file: %v", err)
	}
	spec.Roles[0].Permissions[0].Document = nil
	if _, err := Desired(spec); err == nil || !strings.HasSuffix(err.Error(), "roles[0].permissions[0].file: the policy file was not read: load the config with provision.Load, or call ReadPolicyFiles") {
		t.Errorf("unread file: %v", err)
	}
}

func mustDesired(t *testing.T, src string) *State {
	t.Helper()
	spec, err := Parse("keyless.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	st, err := Desired(spec)
	if err != nil {
		t.Fatal(err)
	}
	return st
}
