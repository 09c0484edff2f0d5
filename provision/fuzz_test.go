package provision

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/keyless-dev/keyless/policy"
)

// FuzzParse feeds arbitrary bytes to Parse, and what parses to Validate and
// Desired: none may panic, every refusal must be an Errors with at least one
// message, and every document Desired renders must parse as its kind.
func FuzzParse(f *testing.F) {
	seeds, _ := filepath.Glob(filepath.Join("testdata", "*.yaml"))
	for _, s := range seeds {
		if data, err := os.ReadFile(s); err == nil {
			f.Add(data)
		}
	}
	for _, tc := range badConfigs {
		f.Add([]byte(tc.src))
	}
	f.Add([]byte("a: &a [*a, *a]\nb: &b [*a, *a, *a]\nc: [*b, *b, *b, *b]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		spec, err := Parse("fuzz.yaml", data)
		if err != nil {
			if es, ok := err.(Errors); !ok || len(es) == 0 || err.Error() == "" {
				t.Fatalf("Parse error of type %T: %v", err, err)
			}
			return
		}
		for i := range spec.Roles {
			for j := range spec.Roles[i].Permissions {
				if spec.Roles[i].Permissions[j].File != "" {
					spec.Roles[i].Permissions[j].Document = []byte(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}`)
				}
			}
		}
		st, err := Desired(spec)
		if err != nil {
			if es, ok := err.(Errors); !ok || len(es) == 0 {
				t.Fatalf("Desired error of type %T: %v", err, err)
			}
			return
		}
		for _, r := range st.Roles {
			if r.TrustPolicy != "" {
				if _, err := policy.Parse([]byte(r.TrustPolicy), policy.KindTrust); err != nil {
					t.Fatalf("role %s trust: %v", r.Name, err)
				}
			}
			for _, ip := range r.InlinePolicies {
				if _, err := policy.Parse([]byte(ip.Document), policy.KindIdentity, policy.WithMaxSize(0)); err != nil {
					t.Fatalf("role %s %s: %v", r.Name, ip.Name, err)
				}
			}
		}
		if _, err := st.JSON(); err != nil {
			t.Fatal(err)
		}
	})
}
