// Package rendertest holds what the tests of the renderers share: the desired
// states of provision's example configs, and golden files.
package rendertest

import (
	"bytes"
	"context"
	"flag"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/keyless-dev/keyless/provision"
)

// Update makes Golden rewrite the golden files: go test ./provision/render/... -update.
var Update = flag.Bool("update", false, "rewrite the golden files")

// Configs are the example configs of provision/testdata the renderers are tested on.
var Configs = []string{"bitbucket", "github", "gitlab"}

// EgressCIDRs are the addresses the stand-in resolver gives atlassian:bitbucket.
var EgressCIDRs = []string{"104.192.136.0/21", "185.166.140.0/22", "2401:1d80:1010::/64"}

type ranges struct{}

func (ranges) BitbucketEgress(context.Context) ([]string, error) { return EgressCIDRs, nil }

// State returns the desired state of provision/testdata/NAME.yaml, its source_ips
// references resolved to EgressCIDRs.
func State(t testing.TB, name string) *provision.State {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	path := filepath.Join(filepath.Dir(file), "..", "..", "..", "testdata", name+".yaml")
	spec, err := provision.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	st, err := provision.Desired(spec)
	if err != nil {
		t.Fatal(err)
	}
	st, err = st.Resolve(context.Background(), ranges{})
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// Golden compares got with the golden file path, or with -update writes it.
func Golden(t testing.TB, path string, got []byte) {
	t.Helper()
	if *Update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test with -update to write it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the rendered output (run go test with -update to accept the change); got:\n%s", path, got)
	}
}
