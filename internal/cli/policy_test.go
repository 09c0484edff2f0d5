package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const testProvider = "api.bitbucket.org/2.0/workspaces/acme/pipelines-config/identity/oidc"

const testTrust = `{"Version": "2012-10-17", "Statement": [{"Sid": "RepoOnly", "Effect": "Allow",
  "Principal": {"Federated": "arn:aws:iam::123456789012:oidc-provider/` + testProvider + `"},
  "Action": "sts:AssumeRoleWithWebIdentity",
  "Condition": {"StringEquals": {"` + testProvider + `:aud": "ari:cloud:bitbucket::workspace/84c08677"},
                "StringLike": {"` + testProvider + `:sub": "{4d1e3f9a-0d4b-4c8e-9a56-1f2b3c4d5e6f}:*"}}}]}`

const testTrustNoSub = `{"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
  "Principal": {"Federated": "arn:aws:iam::123456789012:oidc-provider/` + testProvider + `"},
  "Action": "sts:AssumeRoleWithWebIdentity",
  "Condition": {"StringEquals": {"` + testProvider + `:aud": "ari:cloud:bitbucket::workspace/84c08677"}}}]}`

func run(t *testing.T, stdin string, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := Execute(context.Background(), args, Streams{In: strings.NewReader(stdin), Out: &out, Err: &errb})
	return code, out.String(), errb.String()
}

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestPolicyValidate(t *testing.T) {
	f := writeFile(t, "trust.json", testTrust)
	code, out, errs := run(t, "", "policy", "validate", f)
	if code != 0 || !strings.Contains(out, "valid trust policy (1 statement)") || errs != "" {
		t.Fatalf("code %d out %q err %q", code, out, errs)
	}
	code, out, _ = run(t, testTrust, "policy", "validate", "--kind", "trust", "-")
	if code != 0 || !strings.HasPrefix(out, "-: valid trust policy") {
		t.Fatalf("stdin: code %d out %q", code, out)
	}
	// The same document is not a valid identity policy.
	code, _, errs = run(t, "", "policy", "validate", "--kind", "identity", f)
	if code != 1 || !strings.Contains(errs, "keyless: ") || !strings.Contains(errs, "MalformedPolicyDocument: statement 0 (Sid \"RepoOnly\"), Principal: Policy document should not specify a principal") {
		t.Fatalf("code %d err %q", code, errs)
	}
	bad := writeFile(t, "bad.json", `{"Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*", "Condition": {"IpAddress": {"aws:SourceIp": "nope"}}}]}`)
	if code, _, errs = run(t, "", "policy", "validate", bad); code != 1 || !strings.Contains(errs, "Condition.IpAddress.aws:SourceIp") {
		t.Fatalf("code %d err %q", code, errs)
	}
	if code, _, errs = run(t, "", "policy", "validate"); code != 1 || !strings.Contains(errs, "no policy FILE given") {
		t.Fatalf("no args: code %d err %q", code, errs)
	}
	if code, _, errs = run(t, "", "policy", "validate", "--kind", "role", f); code != 1 || !strings.Contains(errs, "unknown policy kind") {
		t.Fatalf("bad kind: code %d err %q", code, errs)
	}
	if code, _, errs = run(t, "", "policy", "validate", filepath.Join(t.TempDir(), "missing.json")); code != 1 || !strings.Contains(errs, "no such file") {
		t.Fatalf("missing file: code %d err %q", code, errs)
	}
}

func TestPolicyLint(t *testing.T) {
	good := writeFile(t, "good.json", testTrust)
	code, out, errs := run(t, "", "policy", "lint", good)
	if code != 0 || !strings.Contains(out, "no findings") || errs != "" {
		t.Fatalf("code %d out %q err %q", code, out, errs)
	}
	bad := writeFile(t, "nosub.json", testTrustNoSub)
	code, out, errs = run(t, "", "policy", "lint", bad)
	if code != 1 || errs != "" || !strings.Contains(out, "error [no-sub-condition]") || !strings.Contains(out, "fix: ") {
		t.Fatalf("code %d out %q err %q", code, out, errs)
	}
	code, out, _ = run(t, "", "policy", "lint", "--format", "json", bad)
	var js struct {
		Findings []struct {
			RuleID   string `json:"ruleId"`
			Severity string `json:"severity"`
		} `json:"findings"`
	}
	if code != 1 || json.Unmarshal([]byte(out), &js) != nil || len(js.Findings) != 1 || js.Findings[0].RuleID != "no-sub-condition" || js.Findings[0].Severity != "error" {
		t.Fatalf("json: code %d out %s", code, out)
	}
	code, out, _ = run(t, "", "policy", "lint", "--format", "sarif", bad)
	if code != 1 || !strings.Contains(out, `"version": "2.1.0"`) || !strings.Contains(out, `"ruleId": "no-sub-condition"`) {
		t.Fatalf("sarif: code %d out %s", code, out)
	}
	// Warnings only: exit 0.
	warn := writeFile(t, "warn.json", `{"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "iam:PassRole", "Resource": "*"}}`)
	if code, out, _ = run(t, "", "policy", "lint", "--kind", "identity", warn); code != 0 || !strings.Contains(out, "warning [passrole-star]") {
		t.Fatalf("warn: code %d out %s", code, out)
	}
	if code, _, errs = run(t, "", "policy", "lint", "--format", "xml", good); code != 1 || !strings.Contains(errs, `unknown --format "xml"`) {
		t.Fatalf("bad format: code %d err %q", code, errs)
	}
}

func simInput(sub, ip string) string {
	b, _ := json.Marshal(map[string]any{
		"request": map[string]any{
			"principal": "arn:aws:iam::123456789012:oidc-provider/" + testProvider,
			"action":    "sts:AssumeRoleWithWebIdentity",
			"context":   map[string]any{testProvider + ":aud": "ari:cloud:bitbucket::workspace/84c08677", testProvider + ":sub": sub, "aws:SourceIp": []string{ip}},
		},
		"resourcePolicy": json.RawMessage(testTrust),
	})
	return string(b)
}

func TestPolicySimulate(t *testing.T) {
	in := simInput("{4d1e3f9a-0d4b-4c8e-9a56-1f2b3c4d5e6f}:{77a}", "1.2.3.4")
	code, out, errs := run(t, in, "policy", "simulate")
	var res struct {
		Decision string `json:"decision"`
		Explain  struct {
			Message string `json:"message"`
		} `json:"explain"`
	}
	if code != 0 || errs != "" || json.Unmarshal([]byte(out), &res) != nil || res.Decision != "Allowed" {
		t.Fatalf("code %d out %s err %q", code, out, errs)
	}
	f := writeFile(t, "in.json", simInput("{9c2}:{77a}", "1.2.3.4"))
	code, out, _ = run(t, "", "policy", "simulate", "--input", f)
	if code != 0 || json.Unmarshal([]byte(out), &res) != nil || res.Decision != "ImplicitlyDenied" ||
		!strings.Contains(res.Explain.Message, `statement "RepoOnly" did not apply: StringLike on "`+testProvider+`:sub" wants one of ["{4d1e3f9a-0d4b-4c8e-9a56-1f2b3c4d5e6f}:*"], the request has "{9c2}:{77a}"`) {
		t.Fatalf("code %d out %s", code, out)
	}
	if code, _, errs = run(t, `{"request": {}}`, "policy", "simulate"); code != 1 || !strings.Contains(errs, "request.action") {
		t.Fatalf("missing action: code %d err %q", code, errs)
	}
	if code, _, errs = run(t, `{"request": {"action": "s3:GetObject"}, "resourcePolcy": {}}`, "policy", "simulate"); code != 1 || !strings.Contains(errs, "resourcePolcy") {
		t.Fatalf("unknown field: code %d err %q", code, errs)
	}
}

func TestPolicySimulateJSONL(t *testing.T) {
	lines := simInput("{4d1e3f9a-0d4b-4c8e-9a56-1f2b3c4d5e6f}:{1}", "1.2.3.4") + "\n\n" + simInput("{9c2}:{1}", "1.2.3.4") + "\n" + `{"request": {"action": "x:y"}, "identityPolicies": [{"Statement": []}]}` + "\n"
	code, out, errs := run(t, lines, "policy", "simulate", "--jsonl")
	got := strings.Split(strings.TrimSpace(out), "\n")
	if code != 1 || len(got) != 3 || !strings.Contains(errs, "1 of 3 documents") {
		t.Fatalf("code %d err %q out:\n%s", code, errs, out)
	}
	for i, want := range []string{`"decision":"Allowed"`, `"decision":"ImplicitlyDenied"`, `"line":4,"error":"identityPolicies[0]`} {
		if !strings.Contains(got[i], want) {
			t.Errorf("line %d = %.200s, want %s", i, got[i], want)
		}
	}
}
