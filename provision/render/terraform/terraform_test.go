package terraform_test

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/hcl/v2/hclparse"
	"github.com/hashicorp/hcl/v2/hclsyntax"

	"github.com/keyless-dev/keyless/internal/testenv"
	"github.com/keyless-dev/keyless/provision"
	"github.com/keyless-dev/keyless/provision/render/internal/rendertest"
	"github.com/keyless-dev/keyless/provision/render/terraform"
)

// TestGolden renders the example configs and compares each main.tf with its
// golden file; rendering twice gives the same bytes.
func TestGolden(t *testing.T) {
	for _, name := range rendertest.Configs {
		t.Run(name, func(t *testing.T) {
			got, err := terraform.File(rendertest.State(t, name))
			if err != nil {
				t.Fatal(err)
			}
			again, err := terraform.File(rendertest.State(t, name))
			if err != nil || !bytes.Equal(got, again) {
				t.Errorf("a second rendering differs (%v)", err)
			}
			rendertest.Golden(t, filepath.Join("testdata", name+".tf"), got)
		})
	}
}

// TestParse parses the golden files with HCL's own parser and counts their
// blocks: one resource per provider, role, inline policy and managed policy of
// the state, a variable per provider, an output per provider and role.
func TestParse(t *testing.T) {
	for _, name := range rendertest.Configs {
		t.Run(name, func(t *testing.T) {
			st := rendertest.State(t, name)
			want := map[string]int{
				"terraform":          1,
				"data aws_partition": 1,
				"variable":           len(st.Providers),
				"resource aws_iam_openid_connect_provider": len(st.Providers),
				"resource aws_iam_role":                    len(st.Roles),
				"output":                                   len(st.Providers) + len(st.Roles),
			}
			for _, r := range st.Roles {
				if n := len(r.InlinePolicies); n > 0 {
					want["resource aws_iam_role_policy"] += n
				}
				if n := len(r.ManagedPolicyARNs); n > 0 {
					want["resource aws_iam_role_policy_attachment"] += n
				}
			}
			// The account is looked up only where a document or ARN other than
			// a provider's needs it.
			for _, r := range st.Roles {
				trust := string(r.TrustPolicy)
				for _, p := range st.Providers {
					trust = strings.ReplaceAll(trust, p.ARN, "")
				}
				docs := []string{trust, r.PermissionsBoundary}
				docs = append(docs, r.ManagedPolicyARNs...)
				for _, in := range r.InlinePolicies {
					docs = append(docs, string(in.Document))
				}
				for _, d := range docs {
					if strings.Contains(d, provision.AccountPlaceholder) {
						want["data aws_caller_identity"] = 1
					}
				}
			}
			path := filepath.Join("testdata", name+".tf")
			f, diags := hclparse.NewParser().ParseHCLFile(path)
			if diags.HasErrors() {
				t.Fatalf("parse %s: %s", path, diags.Error())
			}
			got := map[string]int{}
			for _, b := range f.Body.(*hclsyntax.Body).Blocks {
				k := b.Type
				if b.Type == "resource" || b.Type == "data" {
					k += " " + b.Labels[0]
				}
				got[k]++
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("%s has blocks %v, want %v", path, got, want)
			}
		})
	}
}

// TestValidate runs terraform init (from the provider mirror, without network)
// and terraform validate on the golden files.
func TestValidate(t *testing.T) {
	tf := testenv.LookPath(t, "terraform")
	const mirror = "/opt/tf-plugins"
	_, err := os.Stat(filepath.Join(mirror, "registry.terraform.io", "hashicorp", "aws"))
	testenv.Require(t, "the hashicorp/aws provider mirrored in "+mirror, err == nil, "terraform init must not use the network: "+errString(err))
	home := t.TempDir()
	rc := filepath.Join(home, "terraform.rc")
	if err := os.WriteFile(rc, []byte("provider_installation {\n  filesystem_mirror {\n    path = \""+mirror+"\"\n  }\n}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, name := range rendertest.Configs {
		t.Run(name, func(t *testing.T) {
			src, err := os.ReadFile(filepath.Join("testdata", name+".tf"))
			if err != nil {
				t.Fatal(err)
			}
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, "main.tf"), src, 0o600); err != nil {
				t.Fatal(err)
			}
			env := append(os.Environ(),
				"TF_CLI_CONFIG_FILE="+rc, "TF_DATA_DIR="+filepath.Join(dir, ".terraform"),
				"HOME="+home, "TF_IN_AUTOMATION=1", "TF_INPUT=0", "CHECKPOINT_DISABLE=1",
				testenv.MetadataDisabledEnv)
			for _, args := range [][]string{{"init", "-input=false", "-backend=false", "-no-color"}, {"validate", "-no-color"}, {"fmt", "-check", "-no-color"}} {
				ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
				cmd := exec.CommandContext(ctx, tf, args...)
				cmd.Dir, cmd.Env = dir, env
				out, err := cmd.CombinedOutput()
				cancel()
				if err != nil {
					t.Fatalf("terraform %s: %v\n%s", args[0], err, out)
				}
			}
		})
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
