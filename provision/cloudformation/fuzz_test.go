package cloudformation

import (
	"strings"
	"testing"

	"github.com/keyless-dev/keyless/policy"
	"github.com/keyless-dev/keyless/provision"
)

// FuzzRead checks that Read never panics and that what it accepts is a valid
// state: every document passes policy.Parse again, names and tags are as IAM
// wants them, and the state renders as JSON.
func FuzzRead(f *testing.F) {
	f.Add(readFile(f, "seed003.yaml"))
	f.Add(readFile(f, "seed003.json"))
	f.Add([]byte(policiesTemplate))
	f.Add([]byte(intrinsicTemplate(`!Join ["/", [!Sub "${Env}", !GetAtt Unnamed.Arn]]`)))
	f.Add([]byte(roleTemplate("      Description: !Sub ['${a}', {a: !Ref AWS::AccountId}]\n")))
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, opts := range []Options{
			{StackName: "fuzz"},
			{StackName: "fuzz", Account: account, Region: "us-east-1", Parameters: seedParams},
		} {
			st, err := Read(data, opts)
			if err != nil {
				if st != nil {
					t.Fatalf("state and error %v", err)
				}
				continue
			}
			checkState(t, st)
		}
	})
}

func checkState(t *testing.T, st *provision.State) {
	t.Helper()
	managed := func(what string, tags []provision.Tag) {
		for _, tg := range tags {
			if tg.Key == provision.ManagedTagKey && tg.Value == st.Name {
				return
			}
		}
		t.Errorf("%s has no %s tag: %v", what, provision.ManagedTagKey, tags)
	}
	for _, p := range st.Providers {
		if p.URL == "" || strings.HasPrefix(p.URL, "https://") || !strings.HasSuffix(p.ARN, ":oidc-provider/"+p.URL) {
			t.Errorf("provider URL %q, ARN %q", p.URL, p.ARN)
		}
		managed("provider "+p.URL, p.Tags)
	}
	for _, r := range st.Roles {
		if len(r.Name) > 64 || !nameRe.MatchString(r.Name) || !pathRe.MatchString(r.Path) || !strings.HasSuffix(r.ARN, ":role"+r.Path+r.Name) {
			t.Errorf("role name %q, path %q, ARN %q", r.Name, r.Path, r.ARN)
		}
		if _, err := policy.Parse([]byte(r.TrustPolicy), policy.KindTrust); err != nil {
			t.Errorf("role %s: trust policy %s: %v", r.Name, r.TrustPolicy, err)
		}
		for _, in := range r.InlinePolicies {
			if _, err := policy.Parse([]byte(in.Document), policy.KindIdentity, policy.WithMaxSize(-1)); err != nil {
				t.Errorf("role %s: inline policy %s: %v", r.Name, in.Name, err)
			}
		}
		if r.MaxSessionDuration < 3600 || r.MaxSessionDuration > 43200 {
			t.Errorf("role %s: max session duration %d", r.Name, r.MaxSessionDuration)
		}
		managed("role "+r.Name, r.Tags)
	}
	for _, p := range st.Policies {
		if _, err := policy.Parse([]byte(p.Document), policy.KindIdentity, policy.WithMaxSize(policy.MaxManagedPolicySize)); err != nil {
			t.Errorf("policy %s: %v", p.Name, err)
		}
		managed("policy "+p.Name, p.Tags)
	}
	if _, err := st.JSON(); err != nil {
		t.Errorf("JSON: %v", err)
	}
}
