package e2e

import (
	"bytes"
	"context"
	"errors"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"text/template"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"

	"github.com/keyless-dev/keyless/internal/testenv"
)

// tfPluginMirror is where the hashicorp/aws provider is mirrored, so that
// `terraform init` needs no network.
const tfPluginMirror = "/opt/tf-plugins"

// tfConfig is the Terraform configuration the test applies: the local issuer as an
// IAM OIDC provider, a role it may assume, a managed policy attached to the role,
// an inline policy and tags. Changed is the second revision: the managed policy's
// document (a new policy version), a provider tag and a second role.
var tfConfig = template.Must(template.New("main.tf").Parse(`
terraform {
  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "5.100.0"
    }
  }
}

provider "aws" {
  region                      = "us-east-1"
  skip_metadata_api_check     = true
  skip_region_validation      = true
  endpoints {
    iam = "{{.Endpoint}}"
    sts = "{{.Endpoint}}"
  }
}

locals {
  # The condition-key prefix: the provider URL without its scheme. (A local
  # provider's url attribute keeps https:// because its URL has a port.)
  issuer = replace(aws_iam_openid_connect_provider.ci.url, "https://", "")
}

resource "aws_iam_openid_connect_provider" "ci" {
  url            = "{{.Issuer}}"
  client_id_list = ["{{.Audience}}"]
  tags = {
    team = "{{if .Changed}}infra{{else}}platform{{end}}"
  }
}

resource "aws_iam_role" "deploy" {
  name        = "tf-deploy"
  description = "deploys from CI"
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { Federated = aws_iam_openid_connect_provider.ci.arn }
      Action    = "sts:AssumeRoleWithWebIdentity"
      Condition = { StringEquals = { "${local.issuer}:aud" = "{{.Audience}}" } }
    }]
  })
  tags = {
    env = "test"
  }
}

resource "aws_iam_policy" "deploy" {
  name        = "tf-deploy"
  description = "what CI may do"
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect   = "Allow"
      Action   = {{if .Changed}}["s3:GetObject", "s3:PutObject"]{{else}}"s3:GetObject"{{end}}
      Resource = "arn:aws:s3:::site/*"
    }]
  })
  tags = {
    env = "test"
  }
}

resource "aws_iam_role_policy_attachment" "deploy" {
  role       = aws_iam_role.deploy.name
  policy_arn = aws_iam_policy.deploy.arn
}

resource "aws_iam_role_policy" "list" {
  role = aws_iam_role.deploy.id
  name = "list"
  policy = jsonencode({
    Version   = "2012-10-17"
    Statement = [{ Effect = "Allow", Action = "s3:ListBucket", Resource = "arn:aws:s3:::site" }]
  })
}
{{if .Changed}}
resource "aws_iam_role" "audit" {
  name                 = "tf-audit"
  description          = "reads the audit trail"
  max_session_duration = 7200
  assume_role_policy   = aws_iam_role.deploy.assume_role_policy
}
{{end}}`))

// TestTerraform is the Terraform AWS provider as the judge of IAM: it creates,
// reads, updates and destroys an OIDC provider, roles, a managed policy with its
// attachment, an inline policy and tags against keyless up, and after each apply a
// plan must find nothing to change (exit code 0 of -detailed-exitcode).
func TestTerraform(t *testing.T) {
	tf := testenv.LookPath(t, "terraform")
	_, err := os.Stat(filepath.Join(tfPluginMirror, "registry.terraform.io", "hashicorp", "aws"))
	testenv.Require(t, "the hashicorp/aws provider mirrored in "+tfPluginMirror, err == nil, "terraform init must not use the network: "+errString(err))
	start := time.Now()

	p := startUp(t, t.TempDir())
	ctx := context.Background()
	root := iam.NewFromConfig(rootConfig(p))
	dir, home := t.TempDir(), t.TempDir()
	cliConfig := filepath.Join(home, "terraform.rc")
	if err := os.WriteFile(cliConfig, []byte("provider_installation {\n  filesystem_mirror {\n    path = \""+tfPluginMirror+"\"\n  }\n}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	env := withEnv(map[string]string{
		"TF_CLI_CONFIG_FILE":          cliConfig,
		"TF_DATA_DIR":                 filepath.Join(home, "data"),
		"TF_IN_AUTOMATION":            "1",
		"TF_INPUT":                    "0",
		"CHECKPOINT_DISABLE":          "1", // no version check over the network
		"HOME":                        home,
		"AWS_ACCESS_KEY_ID":           p.env["KEYLESS_ROOT_ACCESS_KEY_ID"],
		"AWS_SECRET_ACCESS_KEY":       p.env["KEYLESS_ROOT_SECRET_ACCESS_KEY"],
		"AWS_CONFIG_FILE":             filepath.Join(home, "aws-config"),
		"AWS_SHARED_CREDENTIALS_FILE": filepath.Join(home, "aws-credentials"),
	})
	write := func(changed bool) {
		t.Helper()
		var b bytes.Buffer
		if err := tfConfig.Execute(&b, map[string]any{
			"Endpoint": p.env["KEYLESS_ENDPOINT"],
			"Issuer":   p.env["KEYLESS_ISSUER"],
			"Audience": p.env["KEYLESS_AUDIENCE"],
			"Changed":  changed,
		}); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "main.tf"), b.Bytes(), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	terraform := func(wantCode int, args ...string) {
		t.Helper()
		ctx, cancel := context.WithTimeout(ctx, 3*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, tf, append(args, "-no-color")...)
		cmd.Dir, cmd.Env = dir, env
		out, err := cmd.CombinedOutput()
		code := 0
		var ee *exec.ExitError
		switch {
		case errors.As(err, &ee):
			code = ee.ExitCode()
		case err != nil:
			t.Fatalf("terraform %s: %v", args[0], err)
		}
		if code != wantCode {
			t.Fatalf("terraform %s exited %d, want %d:\n%s\nkeyless up stderr:\n%s", strings.Join(args, " "), code, wantCode, out, p.stderr)
		}
	}
	provider := "arn:aws:iam::" + p.env["KEYLESS_ACCOUNT_ID"] + ":oidc-provider/" + strings.TrimPrefix(p.env["KEYLESS_ISSUER"], "https://")
	policyARN := "arn:aws:iam::" + p.env["KEYLESS_ACCOUNT_ID"] + ":policy/tf-deploy"

	write(false)
	terraform(0, "init", "-input=false")
	terraform(0, "apply", "-auto-approve", "-input=false")
	terraform(0, "plan", "-detailed-exitcode", "-input=false")
	role, err := root.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String("tf-deploy")})
	if err != nil {
		t.Fatalf("GetRole after apply: %v", err)
	}
	if doc, _ := url.QueryUnescape(aws.ToString(role.Role.AssumeRolePolicyDocument)); !strings.Contains(doc, `"`+strings.TrimPrefix(p.env["KEYLESS_ISSUER"], "https://")+`:aud"`) {
		t.Errorf("trust policy of tf-deploy = %s; want the condition key <issuer without https://>:aud", doc)
	}

	write(true)
	terraform(0, "apply", "-auto-approve", "-input=false")
	terraform(0, "plan", "-detailed-exitcode", "-input=false")
	pol, err := root.GetPolicy(ctx, &iam.GetPolicyInput{PolicyArn: aws.String(policyARN)})
	if err != nil {
		t.Fatalf("GetPolicy after the change: %v", err)
	}
	def := aws.ToString(pol.Policy.DefaultVersionId)
	ver, err := root.GetPolicyVersion(ctx, &iam.GetPolicyVersionInput{PolicyArn: aws.String(policyARN), VersionId: aws.String(def)})
	if err != nil {
		t.Fatalf("GetPolicyVersion %s: %v", def, err)
	}
	if doc, _ := url.QueryUnescape(aws.ToString(ver.PolicyVersion.Document)); def != "v2" || !strings.Contains(doc, "s3:PutObject") {
		t.Errorf("default version after the change = %s with %s; want v2 with s3:PutObject", def, doc)
	}
	tags, err := root.ListOpenIDConnectProviderTags(ctx, &iam.ListOpenIDConnectProviderTagsInput{OpenIDConnectProviderArn: aws.String(provider)})
	if err != nil || len(tags.Tags) != 1 || aws.ToString(tags.Tags[0].Value) != "infra" {
		t.Errorf("provider tags after the change = %+v, %v; want team=infra", tags, err)
	}
	second, err := root.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String("tf-audit")})
	if err != nil || aws.ToInt32(second.Role.MaxSessionDuration) != 7200 || aws.ToString(second.Role.Description) != "reads the audit trail" {
		t.Errorf("second role = %+v, %v", second, err)
	}

	terraform(0, "destroy", "-auto-approve", "-input=false")
	roles, err := root.ListRoles(ctx, &iam.ListRolesInput{})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range roles.Roles {
		t.Errorf("role %s left after destroy", aws.ToString(r.RoleName))
	}
	local, err := root.ListPolicies(ctx, &iam.ListPoliciesInput{Scope: "Local"})
	if err != nil {
		t.Fatal(err)
	}
	for _, pl := range local.Policies {
		t.Errorf("policy %s left after destroy", aws.ToString(pl.Arn))
	}
	providers, err := root.ListOpenIDConnectProviders(ctx, &iam.ListOpenIDConnectProvidersInput{})
	if err != nil {
		t.Fatal(err)
	}
	for _, pr := range providers.OpenIDConnectProviderList {
		t.Errorf("OIDC provider %s left after destroy", aws.ToString(pr.Arn))
	}

	// Every call Terraform made was implemented, and the new ones are audited.
	logs := p.stderr.String()
	if strings.Contains(logs, "InvalidAction") {
		t.Errorf("Terraform called an action keyless does not implement:\n%s", logs)
	}
	for _, action := range []string{"CreatePolicyVersion", "ListPolicyVersions", "DeletePolicyVersion", "ListInstanceProfilesForRole"} {
		if !strings.Contains(logs, "action="+action+" decision=Allowed") {
			t.Errorf("no audit event for an allowed %s in keyless up's log", action)
		}
	}
	t.Logf("terraform init, apply, plan, apply, plan, destroy took %s", time.Since(start).Round(time.Second))
}

// errString is err's text, or "" for nil.
func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
