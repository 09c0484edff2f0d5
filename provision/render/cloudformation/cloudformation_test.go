package cloudformation_test

import (
	"bytes"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/keyless-dev/keyless/internal/testenv"
	"github.com/keyless-dev/keyless/provision/render/cloudformation"
	"github.com/keyless-dev/keyless/provision/render/internal/rendertest"
)

// TestGolden renders the example configs and compares each template with its
// golden file; rendering twice gives the same bytes.
func TestGolden(t *testing.T) {
	for _, name := range rendertest.Configs {
		t.Run(name, func(t *testing.T) {
			st := rendertest.State(t, name)
			got, err := cloudformation.Template(st)
			if err != nil {
				t.Fatal(err)
			}
			again, err := cloudformation.Template(rendertest.State(t, name))
			if err != nil || !bytes.Equal(got, again) {
				t.Errorf("a second rendering differs (%v)", err)
			}
			rendertest.Golden(t, filepath.Join("testdata", name+".yaml"), got)
		})
	}
}

// TestCfnLint runs cfn-lint on the golden templates: no errors, warnings or
// informational findings.
func TestCfnLint(t *testing.T) {
	lint := testenv.LookPath(t, "cfn-lint")
	for _, name := range rendertest.Configs {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join("testdata", name+".yaml")
			out, err := exec.Command(lint, "--include-checks", "I", "--", path).CombinedOutput()
			if err != nil {
				t.Errorf("cfn-lint %s: %v\n%s", path, err, out)
			}
		})
	}
}
