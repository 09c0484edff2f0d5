package cloudformation_test

import (
	"bytes"
	"encoding/json"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/keyless-dev/keyless/internal/testenv"
	"github.com/keyless-dev/keyless/provision"
	"github.com/keyless-dev/keyless/provision/render/cloudformation"
	"github.com/keyless-dev/keyless/provision/render/internal/rendertest"
)

// stackSetState loads testdata/stackset/keyless.yaml, a config with target
// accounts, and returns its spec and desired state.
func stackSetState(t *testing.T) (*provision.Spec, *provision.State) {
	t.Helper()
	spec, err := provision.Load(filepath.Join("testdata", "stackset", "keyless.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	st, err := provision.Desired(spec)
	if err != nil {
		t.Fatal(err)
	}
	return spec, st
}

// TestStackSetGolden renders a config with target accounts as a StackSet: the
// template is the one-account template (every ARN of the account deployed to is
// ${AWS::AccountId}, so one template serves every account) and the parameters
// file has one entry per account, in account order, with every template
// parameter; both match their golden files.
func TestStackSetGolden(t *testing.T) {
	spec, st := stackSetState(t)
	files, err := cloudformation.StackSet(st, spec.Accounts.Targets)
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != 2 || files[0].Name != "template.yaml" || files[1].Name != "stackset-parameters.json" {
		t.Fatalf("files: %+v", files)
	}
	tmpl, err := cloudformation.Template(st)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(files[0].Data, tmpl) {
		t.Errorf("the StackSet template differs from the template of one account")
	}
	if strings.Contains(string(tmpl), "222222222222") || !strings.Contains(string(tmpl), "${AWS::AccountId}") {
		t.Errorf("the template does not take the account from AWS::AccountId:\n%s", tmpl)
	}
	var instances []cloudformation.StackInstance
	if err := json.Unmarshal(files[1].Data, &instances); err != nil {
		t.Fatal(err)
	}
	if len(instances) != 2 || instances[0].Account != "222222222222" || instances[1].Account != "333333333333" {
		t.Errorf("instances: %+v", instances)
	}
	for _, in := range instances {
		if len(in.ParameterOverrides) != 1 || in.ParameterOverrides[0].ParameterKey != "ProviderGithubThumbprints" || in.ParameterOverrides[0].ParameterValue != "6938fd4d98bab03faadb97b34396831e3780aea1" {
			t.Errorf("account %s overrides: %+v", in.Account, in.ParameterOverrides)
		}
	}
	rendertest.Golden(t, filepath.Join("testdata", "stackset", "template.yaml"), files[0].Data)
	rendertest.Golden(t, filepath.Join("testdata", "stackset", "stackset-parameters.json"), files[1].Data)
}

// TestStackSetRefusesAccount refuses a state that names its account: its ARNs
// would point every stack instance at that one account.
func TestStackSetRefusesAccount(t *testing.T) {
	st := rendertest.State(t, "bitbucket") // account: "123456789012"
	_, err := cloudformation.StackSet(st, []string{"222222222222"})
	const want = "render: the config names account 123456789012, so its ARNs cannot follow each account of a StackSet: leave account out"
	if err == nil || err.Error() != want {
		t.Errorf("got  %v\nwant %s", err, want)
	}
}

// TestStackSetCfnLint runs cfn-lint on the golden StackSet template.
func TestStackSetCfnLint(t *testing.T) {
	lint := testenv.LookPath(t, "cfn-lint")
	path := filepath.Join("testdata", "stackset", "template.yaml")
	out, err := exec.Command(lint, "--include-checks", "I", "--", path).CombinedOutput()
	if err != nil {
		t.Errorf("cfn-lint %s: %v\n%s", path, err, out)
	}
}
