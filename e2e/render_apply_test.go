package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/keyless-dev/keyless/internal/testenv"
	"github.com/keyless-dev/keyless/issuer"
	"github.com/keyless-dev/keyless/provision"
	"github.com/keyless-dev/keyless/provision/cloudformation"
)

// acmeIssuer is Bitbucket's production issuer URL of workspace acme, which the
// servers of these tests serve workspace acme under (README, "Production issuer
// URLs, offline"): every server then has the same issuer URL, with no port, and
// one keyless.yaml describes the same IAM state for each of them.
const acmeIssuer = "https://api.bitbucket.org/2.0/workspaces/acme/pipelines-config/identity/oidc"

// startAcme starts keyless up serving its default workspace acme under acmeIssuer.
func startAcme(t *testing.T) *upProc {
	t.Helper()
	cfg := filepath.Join(t.TempDir(), "keyless.json")
	if err := os.WriteFile(cfg, []byte(`{"default_workspace": "acme", "workspaces": [{"slug": "acme", "issuer_url": "`+acmeIssuer+`"}]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	p := startUp(t, t.TempDir(), "--config", cfg)
	if p.env["KEYLESS_ISSUER"] != acmeIssuer {
		t.Fatalf("KEYLESS_ISSUER = %q, want %s", p.env["KEYLESS_ISSUER"], acmeIssuer)
	}
	return p
}

// acmeConfig is a keyless.yaml named name for workspace acme at acmeIssuer (the
// default URL of a Bitbucket provider for acme) with the audience of p: a role
// deploy-REPO-ENV per repository and environment, with the UUIDs keyless up
// derives from the names, the s3-deploy (bucket acme-REPO-ENV plus suffix) and
// cloudfront-invalidate templates, and the config-wide tag owner.
func acmeConfig(p *upProc, name string, repos, envs []string, bucketSuffix, owner string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "name: %s\ntags: {owner: %s}\nproviders:\n  bitbucket:\n    type: bitbucket\n    workspace: acme\n    workspace_uuid: %q\n    audiences: [%q]\nroles:\n",
		name, owner, "{"+issuer.WorkspaceUUID("acme")+"}", p.env["KEYLESS_AUDIENCE"])
	for _, repo := range repos {
		// Bitbucket's environment UUIDs belong to a repository: one entry each.
		fmt.Fprintf(&b, "  - name: deploy-{repository}-{environment}\n    description: Deploys {repository} to {environment}\n    matrix:\n      repositories:\n        - {name: %s, uuid: %q}\n      environments:\n",
			repo, "{"+issuer.RepositoryUUID("acme", repo)+"}")
		for _, env := range envs {
			fmt.Fprintf(&b, "        - {name: %s, uuid: %q}\n", env, "{"+issuer.EnvironmentUUID("acme", repo, env)+"}")
		}
		fmt.Fprintf(&b, "    permissions:\n      - template: s3-deploy\n        bucket: acme-{repository}-{environment}%s\n      - template: cloudfront-invalidate\n        distribution: E2QWRUHAPOMQZL\n", bucketSuffix)
	}
	return b.String()
}

// writeConfig writes text to dir/keyless.yaml and returns its path.
func writeConfig(t *testing.T, dir, text string) string {
	t.Helper()
	file := filepath.Join(dir, "keyless.yaml")
	if err := os.WriteFile(file, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return file
}

// iamProvider and iamRole are an OIDC provider and a role as the Go SDK reads them
// back, documents decoded from IAM's percent-encoding and parsed.
type iamProvider struct {
	URL         string
	ClientIDs   []string
	Thumbprints []string
	Tags        map[string]string
}

type iamRole struct {
	ARN, Path, Description, Boundary string
	MaxSessionDuration               int32
	Trust                            any
	Inline                           map[string]any
	Attached                         []string
	Tags                             map[string]string
}

// iamSnapshot is every OIDC provider (by URL) and role (by name) of an account.
type iamSnapshot struct {
	Providers map[string]iamProvider
	Roles     map[string]iamRole
}

// readIAM reads every OIDC provider and role of the account with the Go SDK:
// ListOpenIDConnectProviders, GetOpenIDConnectProvider, ListRoles, GetRole,
// ListRolePolicies, GetRolePolicy, ListAttachedRolePolicies and ListRoleTags.
func readIAM(t *testing.T, c *iam.Client) iamSnapshot {
	t.Helper()
	ctx := context.Background()
	snap := iamSnapshot{Providers: map[string]iamProvider{}, Roles: map[string]iamRole{}}
	provs, err := c.ListOpenIDConnectProviders(ctx, &iam.ListOpenIDConnectProvidersInput{})
	if err != nil {
		t.Fatalf("ListOpenIDConnectProviders: %v", err)
	}
	for _, e := range provs.OpenIDConnectProviderList {
		got, err := c.GetOpenIDConnectProvider(ctx, &iam.GetOpenIDConnectProviderInput{OpenIDConnectProviderArn: e.Arn})
		if err != nil {
			t.Fatalf("GetOpenIDConnectProvider %s: %v", aws.ToString(e.Arn), err)
		}
		p := iamProvider{URL: aws.ToString(got.Url), ClientIDs: sorted(got.ClientIDList), Thumbprints: sorted(got.ThumbprintList), Tags: map[string]string{}}
		for _, tg := range got.Tags {
			p.Tags[aws.ToString(tg.Key)] = aws.ToString(tg.Value)
		}
		snap.Providers[strings.TrimPrefix(p.URL, "https://")] = p
	}
	roles := iam.NewListRolesPaginator(c, &iam.ListRolesInput{})
	for roles.HasMorePages() {
		page, err := roles.NextPage(ctx)
		if err != nil {
			t.Fatalf("ListRoles: %v", err)
		}
		for _, listed := range page.Roles {
			name := listed.RoleName
			got, err := c.GetRole(ctx, &iam.GetRoleInput{RoleName: name})
			if err != nil {
				t.Fatalf("GetRole %s: %v", aws.ToString(name), err)
			}
			r := iamRole{
				ARN: aws.ToString(got.Role.Arn), Path: aws.ToString(got.Role.Path), Description: aws.ToString(got.Role.Description),
				MaxSessionDuration: aws.ToInt32(got.Role.MaxSessionDuration),
				Trust:              document(t, aws.ToString(got.Role.AssumeRolePolicyDocument)),
				Inline:             map[string]any{}, Tags: map[string]string{},
			}
			if got.Role.PermissionsBoundary != nil {
				r.Boundary = aws.ToString(got.Role.PermissionsBoundary.PermissionsBoundaryArn)
			}
			inline, err := c.ListRolePolicies(ctx, &iam.ListRolePoliciesInput{RoleName: name})
			if err != nil {
				t.Fatalf("ListRolePolicies %s: %v", aws.ToString(name), err)
			}
			for _, pn := range inline.PolicyNames {
				pol, err := c.GetRolePolicy(ctx, &iam.GetRolePolicyInput{RoleName: name, PolicyName: aws.String(pn)})
				if err != nil {
					t.Fatalf("GetRolePolicy %s %s: %v", aws.ToString(name), pn, err)
				}
				r.Inline[pn] = document(t, aws.ToString(pol.PolicyDocument))
			}
			attached, err := c.ListAttachedRolePolicies(ctx, &iam.ListAttachedRolePoliciesInput{RoleName: name})
			if err != nil {
				t.Fatalf("ListAttachedRolePolicies %s: %v", aws.ToString(name), err)
			}
			for _, ap := range attached.AttachedPolicies {
				r.Attached = append(r.Attached, aws.ToString(ap.PolicyArn))
			}
			sort.Strings(r.Attached)
			tags, err := c.ListRoleTags(ctx, &iam.ListRoleTagsInput{RoleName: name})
			if err != nil {
				t.Fatalf("ListRoleTags %s: %v", aws.ToString(name), err)
			}
			for _, tg := range tags.Tags {
				r.Tags[aws.ToString(tg.Key)] = aws.ToString(tg.Value)
			}
			snap.Roles[aws.ToString(name)] = r
		}
	}
	return snap
}

// document parses a policy document IAM returned percent-encoded (RFC 3986: a
// "+" is a plus sign), so that documents compare by meaning, not by bytes.
func document(t *testing.T, raw string) any {
	t.Helper()
	text, err := url.PathUnescape(raw)
	if err != nil {
		t.Fatalf("policy document %q is not percent-encoded: %v", raw, err)
	}
	var v any
	if err := json.Unmarshal([]byte(text), &v); err != nil {
		t.Fatalf("policy document %s is not JSON: %v", text, err)
	}
	return v
}

func sorted(v []string) []string {
	out := append([]string{}, v...)
	sort.Strings(out)
	return out
}

// pretty is v as indented JSON, for failure messages.
func pretty(v any) string {
	b, _ := json.MarshalIndent(v, "", "  ")
	return string(b)
}

// TestRenderedCloudFormationReadsBackAsApply: a keyless.yaml (Bitbucket workspace
// acme, 2 repositories × 2 deployment environments, s3-deploy and
// cloudfront-invalidate, a tag) is applied with `keyless apply --auto-approve` to
// keyless up A, and rendered with `keyless render --format cloudformation`; the
// template, read with provision/cloudformation.Read (parameters at their defaults,
// B's account, the stack named after the config so that keyless:managed has the
// config's name), is planned and applied with provision.NewPlan and
// provision.Apply to a second keyless up B. Both servers serve acme under the
// same production issuer URL, so the two accounts must then hold the same IAM,
// read back with the Go SDK: the provider (URL, client IDs, thumbprints, tags)
// and every role (ARN, path, description, session duration, boundary, trust and
// inline policies compared as parsed JSON, attached policies, tags). A second plan
// of the template against B is empty, `keyless plan` of the config against B
// exits 0, and a step token of web/production minted by B assumes
// deploy-web-production there.
func TestRenderedCloudFormationReadsBackAsApply(t *testing.T) {
	t.Parallel()
	start := time.Now()
	a, b := startAcme(t), startAcme(t)
	if a.env["KEYLESS_AUDIENCE"] != b.env["KEYLESS_AUDIENCE"] || a.env["KEYLESS_ACCOUNT_ID"] != b.env["KEYLESS_ACCOUNT_ID"] {
		t.Fatalf("the servers differ in audience (%s, %s) or account (%s, %s): the same config cannot describe both",
			a.env["KEYLESS_AUDIENCE"], b.env["KEYLESS_AUDIENCE"], a.env["KEYLESS_ACCOUNT_ID"], b.env["KEYLESS_ACCOUNT_ID"])
	}
	const name = "render-e2e"
	file := writeConfig(t, t.TempDir(), acmeConfig(a, name, []string{"web", "api"}, []string{"staging", "production"}, "", "platform"))

	if out, errOut, code := run(t, provisionEnv(t, a), "apply", "-f", file, "--auto-approve"); code != 0 {
		t.Fatalf("keyless apply to A: exit %d\n%s%s", code, out, errOut)
	}
	tpl, errOut, code := run(t, cleanEnv(), "render", "--format", "cloudformation", "-f", file)
	if code != 0 {
		t.Fatalf("keyless render --format cloudformation: exit %d\n%s", code, errOut)
	}

	ctx := context.Background()
	iamB := iam.NewFromConfig(rootConfig(b))
	// The stack is named after the config, so that the keyless:managed tag Read
	// gives every entity has the value keyless apply gave A's.
	desired, err := cloudformation.Read([]byte(tpl), cloudformation.Options{Account: b.env["KEYLESS_ACCOUNT_ID"], StackName: name})
	if err != nil {
		t.Fatalf("read the template keyless render wrote: %v", err)
	}
	actual, err := provision.ReadActual(ctx, iamB, desired, provision.ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	plan, err := provision.NewPlan(desired, actual)
	if err != nil {
		t.Fatal(err)
	}
	report, err := provision.Apply(ctx, iamB, plan, provision.ApplyOptions{})
	if err != nil || !report.Complete() {
		var w strings.Builder
		if report != nil {
			report.WriteText(&w) //nolint:errcheck // a strings.Builder does not fail
		}
		t.Fatalf("apply the template's state to B: %v\n%s", err, w.String())
	}

	gotA, gotB := readIAM(t, iam.NewFromConfig(rootConfig(a))), readIAM(t, iamB)
	if len(gotA.Providers) != 1 || len(gotA.Roles) != 4 {
		t.Fatalf("keyless apply left %d providers and %d roles in A, want 1 and 4:\n%s", len(gotA.Providers), len(gotA.Roles), pretty(gotA))
	}
	if p, ok := gotA.Providers[strings.TrimPrefix(acmeIssuer, "https://")]; !ok || p.Tags["owner"] != "platform" || p.Tags[provision.ManagedTagKey] != name {
		t.Errorf("A's providers = %s; want %s tagged owner=platform, %s=%s", pretty(gotA.Providers), acmeIssuer, provision.ManagedTagKey, name)
	}
	if pa, pb := gotA.Providers, gotB.Providers; !reflect.DeepEqual(pa, pb) {
		t.Errorf("OIDC providers differ:\napplied from the config (A): %s\napplied from the rendered template (B): %s", pretty(pa), pretty(pb))
	}
	for role, ra := range gotA.Roles {
		rb, ok := gotB.Roles[role]
		switch {
		case !ok:
			t.Errorf("role %s is in A but not in B", role)
		case len(ra.Inline) != 2:
			t.Errorf("role %s in A has inline policies %v, want s3-deploy and cloudfront-invalidate", role, pretty(ra.Inline))
		case !reflect.DeepEqual(ra, rb):
			t.Errorf("role %s differs:\napplied from the config (A): %s\napplied from the rendered template (B): %s", role, pretty(ra), pretty(rb))
		}
	}
	for role := range gotB.Roles {
		if _, ok := gotA.Roles[role]; !ok {
			t.Errorf("role %s is in B but not in A", role)
		}
	}

	// Nothing is left to do, by the template's plan or by the config's.
	if actual, err = provision.ReadActual(ctx, iamB, desired, provision.ReadOptions{}); err != nil {
		t.Fatal(err)
	}
	if again, err := provision.NewPlan(desired, actual); err != nil || !again.Empty() {
		var w strings.Builder
		if again != nil {
			again.WriteText(&w) //nolint:errcheck // a strings.Builder does not fail
		}
		t.Errorf("a second plan of the template against B: %v\n%s", err, w.String())
	}
	if out, errOut, code := run(t, provisionEnv(t, b), "plan", "-f", file); code != 0 {
		t.Errorf("keyless plan of the config against B (applied from the template): exit %d, want 0\n%s%s", code, out, errOut)
	}

	// A pipeline step of web deploying to production gets in on B.
	token := mintJSON(t, b.env, "--repository", "web", "--environment", "production").Token
	stsB := sts.NewFromConfig(aws.Config{Region: "us-east-1", BaseEndpoint: aws.String(b.env["KEYLESS_ENDPOINT"]), Credentials: aws.AnonymousCredentials{}})
	roleARN := "arn:aws:iam::" + b.env["KEYLESS_ACCOUNT_ID"] + ":role/deploy-web-production"
	if _, err := stsB.AssumeRoleWithWebIdentity(ctx, &sts.AssumeRoleWithWebIdentityInput{
		RoleArn: aws.String(roleARN), RoleSessionName: aws.String("e2e"), WebIdentityToken: aws.String(token),
	}); err != nil {
		t.Errorf("web/production assuming %s on B: %v", roleARN, err)
	}
	t.Logf("took %s", time.Since(start).Round(100*time.Millisecond))
}

// TestRenderedTerraformAppliesChangesAndDestroys runs the machine's terraform on
// `keyless render --format terraform`'s main.tf, unchanged, against keyless up
// (the provider's endpoints and root credentials in a file of their own): init,
// apply, and a plan -detailed-exitcode that exits 0; `keyless plan` of the config
// then exits 0 too, so Terraform made what keyless would. Then the config changes
// — the s3-deploy bucket (an inline policy edited in place), the config-wide tag,
// a third repository (two roles more) — and is rendered again: apply, plan exits
// 0, keyless plan exits 0, and the Go SDK finds the new bucket, the new tag on
// the provider and every role, and the new roles. destroy leaves no role or
// provider. Every IAM call Terraform made is one keyless up implements.
func TestRenderedTerraformAppliesChangesAndDestroys(t *testing.T) {
	const covered = "meanwhile the hcl/v2 parse checks of provision/render/terraform cover only the syntax of what keyless render writes"
	tf, err := exec.LookPath("terraform")
	testenv.Require(t, "terraform", err == nil, errString(err)+"; "+covered)
	_, err = os.Stat(filepath.Join(tfPluginMirror, "registry.terraform.io", "hashicorp", "aws"))
	testenv.Require(t, "the hashicorp/aws provider mirrored in "+tfPluginMirror, err == nil,
		"terraform init must not use the network: "+errString(err)+"; "+covered)
	start := time.Now()

	p := startAcme(t)
	ctx := context.Background()
	root := iam.NewFromConfig(rootConfig(p))
	const name = "tf-render-e2e"
	confDir, dir, home := t.TempDir(), t.TempDir(), t.TempDir()
	envs := []string{"staging", "production"}
	keylessEnv := provisionEnv(t, p)

	// The provider settings live beside the rendered main.tf, which stays as keyless
	// render wrote it.
	providerTF := `provider "aws" {
  region                  = "us-east-1"
  skip_metadata_api_check = true
  skip_region_validation  = true
  endpoints {
    iam = "` + p.env["KEYLESS_ENDPOINT"] + `"
    sts = "` + p.env["KEYLESS_ENDPOINT"] + `"
  }
}
`
	if err := os.WriteFile(filepath.Join(dir, "keyless_up.tf"), []byte(providerTF), 0o600); err != nil {
		t.Fatal(err)
	}
	cliConfig := filepath.Join(home, "terraform.rc")
	if err := os.WriteFile(cliConfig, []byte("provider_installation {\n  filesystem_mirror {\n    path = \""+tfPluginMirror+"\"\n  }\n}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tfEnv := withEnv(map[string]string{
		"TF_CLI_CONFIG_FILE":          cliConfig,
		"TF_DATA_DIR":                 filepath.Join(home, "data"),
		"TF_IN_AUTOMATION":            "1",
		"TF_INPUT":                    "0",
		"CHECKPOINT_DISABLE":          "1",
		"HOME":                        home,
		"AWS_ACCESS_KEY_ID":           p.env["KEYLESS_ROOT_ACCESS_KEY_ID"],
		"AWS_SECRET_ACCESS_KEY":       p.env["KEYLESS_ROOT_SECRET_ACCESS_KEY"],
		"AWS_CONFIG_FILE":             filepath.Join(home, "aws-config"),
		"AWS_SHARED_CREDENTIALS_FILE": filepath.Join(home, "aws-credentials"),
	})
	timings := map[string]time.Duration{}
	terraform := func(args ...string) {
		t.Helper()
		ctx, cancel := context.WithTimeout(ctx, 3*time.Minute)
		defer cancel()
		began := time.Now()
		cmd := exec.CommandContext(ctx, tf, append(args, "-input=false", "-no-color")...)
		cmd.Dir, cmd.Env = dir, tfEnv
		out, err := cmd.CombinedOutput()
		timings[args[0]] += time.Since(began)
		if err != nil {
			var ee *exec.ExitError
			if !errors.As(err, &ee) {
				t.Fatalf("terraform %s: %v", args[0], err)
			}
			t.Fatalf("terraform %s exited %d, want 0:\n%s\nkeyless up stderr:\n%.4000s", strings.Join(args, " "), ee.ExitCode(), out, p.stderr)
		}
	}
	// render writes the config and renders its main.tf.
	render := func(config string) string {
		t.Helper()
		file := writeConfig(t, confDir, config)
		if out, errOut, code := run(t, cleanEnv(), "render", "--format", "terraform", "-f", file, "-o", filepath.Join(dir, "main.tf")); code != 0 {
			t.Fatalf("keyless render --format terraform: exit %d\n%s%s", code, out, errOut)
		}
		return file
	}
	// apply applies main.tf and checks that a plan of Terraform and one of keyless
	// of the config file both find nothing to change.
	apply := func(file string) {
		t.Helper()
		terraform("apply", "-auto-approve")
		terraform("plan", "-detailed-exitcode")
		if out, errOut, code := run(t, keylessEnv, "plan", "-f", file); code != 0 {
			t.Errorf("keyless plan after terraform apply: exit %d, want 0 (Terraform made something other than the config says)\n%s%s", code, out, errOut)
		}
	}
	providerARN := "arn:aws:iam::" + p.env["KEYLESS_ACCOUNT_ID"] + ":oidc-provider/" + strings.TrimPrefix(acmeIssuer, "https://")

	file := render(acmeConfig(p, name, []string{"web", "api"}, envs, "", "platform"))
	terraform("init")
	apply(file)
	snap := readIAM(t, root)
	if len(snap.Providers) != 1 || len(snap.Roles) != 4 {
		t.Fatalf("after the first apply IAM has %d providers and %d roles, want 1 and 4:\n%s", len(snap.Providers), len(snap.Roles), pretty(snap))
	}

	apply(render(acmeConfig(p, name, []string{"web", "api", "docs"}, envs, "-assets", "infra")))
	snap = readIAM(t, root)
	if len(snap.Providers) != 1 || len(snap.Roles) != 6 {
		t.Errorf("after the change IAM has %d providers and %d roles, want 1 and 6", len(snap.Providers), len(snap.Roles))
	}
	for _, pr := range snap.Providers {
		if pr.Tags["owner"] != "infra" || pr.Tags[provision.ManagedTagKey] != name {
			t.Errorf("provider %s has tags %v, want owner=infra and %s=%s", pr.URL, pr.Tags, provision.ManagedTagKey, name)
		}
	}
	for _, repo := range []string{"web", "api", "docs"} {
		for _, env := range envs {
			role := "deploy-" + repo + "-" + env
			r, ok := snap.Roles[role]
			if !ok {
				t.Errorf("role %s missing after the change", role)
				continue
			}
			if r.Tags["owner"] != "infra" {
				t.Errorf("role %s has tags %v, want owner=infra", role, r.Tags)
			}
			s3, _ := json.Marshal(r.Inline["s3-deploy"])
			bucket := "arn:aws:s3:::acme-" + repo + "-" + env
			if !strings.Contains(string(s3), `"`+bucket+`-assets"`) || strings.Contains(string(s3), `"`+bucket+`"`) {
				t.Errorf("s3-deploy policy of %s after the change = %s; want bucket acme-%s-%s-assets instead of acme-%[3]s-%[4]s", role, s3, repo, env)
			}
			if trust, _ := json.Marshal(r.Trust); !strings.Contains(string(trust), issuer.RepositoryUUID("acme", repo)) || !strings.Contains(string(trust), providerARN) {
				t.Errorf("trust policy of %s = %s; want the provider %s and repository %s's UUID", role, trust, providerARN, repo)
			}
		}
	}

	terraform("destroy", "-auto-approve")
	snap = readIAM(t, root)
	for role := range snap.Roles {
		t.Errorf("role %s left after terraform destroy", role)
	}
	for u := range snap.Providers {
		t.Errorf("OIDC provider %s left after terraform destroy", u)
	}
	if logs := p.stderr.String(); strings.Contains(logs, "InvalidAction") {
		t.Errorf("Terraform called an action keyless up does not implement:\n%.4000s", logs)
	}
	t.Logf("took %s; terraform init %s, apply %s, plan %s, destroy %s", time.Since(start).Round(100*time.Millisecond),
		timings["init"].Round(100*time.Millisecond), timings["apply"].Round(100*time.Millisecond), timings["plan"].Round(100*time.Millisecond), timings["destroy"].Round(100*time.Millisecond))
}
