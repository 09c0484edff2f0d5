package provision

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/keyless-dev/keyless/policy"
)

// TestStarters compares each starter with its golden file and checks that it
// parses, validates and yields a desired state with no lint error.
func TestStarters(t *testing.T) {
	for _, p := range StarterProviders() {
		t.Run(p, func(t *testing.T) {
			data, err := Starter(p)
			if err != nil {
				t.Fatal(err)
			}
			golden(t, "starter-"+p+".yaml", data)
			spec, err := Parse("keyless.yaml", data)
			if err != nil {
				t.Fatal(err)
			}
			if err := spec.Validate(); err != nil {
				t.Fatal(err)
			}
			st, err := Desired(spec)
			if err != nil {
				t.Fatal(err)
			}
			if len(st.Roles) == 0 {
				t.Fatal("the starter makes no role")
			}
			checkDocuments(t, st)
			for _, f := range st.Findings {
				if f.Severity == policy.SeverityError {
					t.Errorf("lint error in the starter: %s %s: %s", f.Role, f.Policy, f.Message)
				}
			}
		})
	}
	if _, err := Starter("jenkins"); err == nil || err.Error() != `no starter for provider "jenkins": choose bitbucket, github, gitlab` {
		t.Errorf("Starter(jenkins): %v", err)
	}
}

// TestWriteStarter checks that an existing file is kept unless force is set.
func TestWriteStarter(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keyless.yaml")
	if err := WriteStarter(path, TypeGitHub, false); err != nil {
		t.Fatal(err)
	}
	want, _ := Starter(TypeGitHub)
	if got, _ := os.ReadFile(path); string(got) != string(want) {
		t.Fatalf("wrote %q", got)
	}
	err := WriteStarter(path, TypeGitLab, false)
	if !errors.Is(err, fs.ErrExist) {
		t.Fatalf("second write without force: %v, want fs.ErrExist", err)
	}
	if got, _ := os.ReadFile(path); string(got) != string(want) {
		t.Fatal("a refused write changed the file")
	}
	if err := WriteStarter(path, TypeGitLab, true); err != nil {
		t.Fatal(err)
	}
	want, _ = Starter(TypeGitLab)
	if got, _ := os.ReadFile(path); string(got) != string(want) {
		t.Fatal("force did not overwrite the file")
	}
}
