package cli

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
)

// lintTemplateYAML has a role with a trust policy (no sub condition: an error
// finding) and an inline policy, and a managed policy that allows "*" on "*".
const lintTemplateYAML = `Parameters:
  RoleName: {Type: String}
Resources:
  Provider:
    Type: AWS::IAM::OIDCProvider
    Properties:
      Url: https://token.actions.githubusercontent.com
      ClientIdList: [sts.amazonaws.com]
  Role:
    Type: AWS::IAM::Role
    Properties:
      RoleName: !Ref RoleName
      AssumeRolePolicyDocument:
        Version: "2012-10-17"
        Statement:
          - Effect: Allow
            Principal: {Federated: !GetAtt Provider.Arn}
            Action: sts:AssumeRoleWithWebIdentity
            Condition:
              StringEquals: {"token.actions.githubusercontent.com:aud": sts.amazonaws.com}
      Policies:
        - PolicyName: read
          PolicyDocument:
            Version: "2012-10-17"
            Statement: [{Effect: Allow, Action: s3:GetObject, Resource: "*"}]
  Admin:
    Type: AWS::IAM::ManagedPolicy
    Properties:
      ManagedPolicyName: admin
      PolicyDocument:
        Version: "2012-10-17"
        Statement: [{Effect: Allow, Action: "*", Resource: "*"}]
      Roles: [!Ref Role]
`

// TestPolicyLintCloudFormation lints every document of a template's IAM
// resources: one report per document, named by template, role and policy, in
// text and JSON; SARIF locates every result in the template; exit status 1 for
// the error findings.
func TestPolicyLintCloudFormation(t *testing.T) {
	tmpl := writeFile(t, "stack.yaml", lintTemplateYAML)
	code, out, errs := run(t, "", "policy", "lint", "--cloudformation", tmpl, "--parameter", "RoleName=deploy")
	if code != 1 {
		t.Fatalf("exit %d, want 1 (error findings)\nstdout: %s\nstderr: %s", code, out, errs)
	}
	for _, want := range []string{
		tmpl + ": role deploy, trust policy: error [no-sub-condition]",
		tmpl + ": role deploy, inline policy read: no findings",
		tmpl + ": managed policy admin: error [admin-access]",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("text output lacks %q:\n%s", want, out)
		}
	}

	code, out, _ = run(t, "", "policy", "lint", "--cloudformation", tmpl, "--parameter", "RoleName=deploy", "--format", "json")
	dec := json.NewDecoder(strings.NewReader(out))
	var files []string
	for dec.More() {
		var ff struct {
			File     string            `json:"file"`
			Findings []json.RawMessage `json:"findings"`
		}
		if err := dec.Decode(&ff); err != nil {
			t.Fatalf("JSON output: %v\n%s", err, out)
		}
		files = append(files, strings.TrimPrefix(ff.File, tmpl+": "))
	}
	if want := "role deploy, trust policy|role deploy, inline policy read|managed policy admin"; code != 1 || strings.Join(files, "|") != want {
		t.Errorf("JSON: exit %d, documents %q, want %q", code, files, want)
	}

	code, out, _ = run(t, "", "policy", "lint", "--cloudformation", tmpl, "--parameter", "RoleName=deploy", "--format", "sarif")
	var log struct {
		Runs []struct {
			Results []struct {
				Locations []struct {
					Physical struct {
						Artifact struct{ URI string } `json:"artifactLocation"`
					} `json:"physicalLocation"`
				} `json:"locations"`
			} `json:"results"`
		} `json:"runs"`
	}
	if err := json.Unmarshal([]byte(out), &log); err != nil || code != 1 || len(log.Runs) != 1 || len(log.Runs[0].Results) < 2 {
		t.Fatalf("SARIF: exit %d, %v\n%s", code, err, out)
	}
	for _, r := range log.Runs[0].Results {
		if len(r.Locations) != 1 || !strings.HasSuffix(r.Locations[0].Physical.Artifact.URI, filepath.Base(tmpl)) {
			t.Errorf("SARIF result located at %+v, want the template", r.Locations)
		}
	}
}

// TestTemplateFlagErrors checks the errors of the --cloudformation flags, all
// given before any AWS call: they name the flag and what to write.
func TestTemplateFlagErrors(t *testing.T) {
	tmpl := writeFile(t, "stack.yaml", lintTemplateYAML)
	bad := writeFile(t, "bad_name.yaml", lintTemplateYAML)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"policy", "lint", "--parameter", "RoleName=x", "trust.json"}, "--parameter and --stack-name go with --cloudformation TEMPLATE"},
		{[]string{"policy", "lint", "--cloudformation", tmpl, "trust.json"}, "policy FILE arguments and --cloudformation " + tmpl + ": lint one or the other"},
		{[]string{"policy", "lint", "--cloudformation", tmpl, "--parameter", "RoleName"}, `--parameter "RoleName": write KEY=VALUE`},
		{[]string{"policy", "lint", "--cloudformation", tmpl, "--parameter", "RoleName=a", "--parameter", "RoleName=b"}, "--parameter RoleName is given twice"},
		{[]string{"policy", "lint", "--cloudformation", tmpl, "--kind", "trust", "--parameter", "RoleName=a"}, "--kind does not go with --cloudformation"},
		{[]string{"policy", "lint", "--cloudformation", tmpl}, "parameters without a default need a value: RoleName"},
		{[]string{"policy", "lint", "--cloudformation", tmpl, "--parameter", "Nope=1", "--parameter", "RoleName=a"}, "Nope"},
		{[]string{"policy", "lint", "--cloudformation", bad, "--parameter", "RoleName=a"}, `stack name "bad_name"`},
		{[]string{"policy", "lint", "--cloudformation", bad, "--parameter", "RoleName=a"}, "pass --stack-name NAME"},
		{[]string{"plan", "--stack-name", "s"}, "--parameter and --stack-name go with --cloudformation TEMPLATE"},
		{[]string{"plan", "-f", "keyless.yaml", "--cloudformation", tmpl}, "-f keyless.yaml and --cloudformation " + tmpl + " name two desired states: give one"},
		{[]string{"apply", "--auto-approve", "--cloudformation", filepath.Join(t.TempDir(), "missing.yaml")}, "read the CloudFormation template: stat"},
		{[]string{"apply", "--auto-approve", "--cloudformation", tmpl, "--parameter", "=x"}, `--parameter "=x": write KEY=VALUE`},
	} {
		code, out, errs := run(t, "", tc.args...)
		if code != 1 || !strings.Contains(errs, tc.want) {
			t.Errorf("keyless %s: exit %d, stderr %q, want 1 and %q (stdout %q)", strings.Join(tc.args, " "), code, errs, tc.want, out)
		}
	}
}
