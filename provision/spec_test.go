package provision

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestParseDefaults checks the name taken from the file, an unquoted account id,
// ordered decoding of providers and the defaults Desired fills in.
func TestParseDefaults(t *testing.T) {
	spec, err := Parse(filepath.Join("ci", "web-deploy.yml"), []byte(`
account: 123456789012
providers:
  z: {type: gitlab}
  a: {type: github}
roles:
  - name: r
    provider: a
    trust: {subjects: ["repo:acme/web:ref:refs/heads/main"]}
`))
	if err != nil {
		t.Fatal(err)
	}
	if spec.Name != "web-deploy" || spec.Account != "123456789012" || spec.Providers[0].ID != "z" || spec.Providers[1].ID != "a" {
		t.Errorf("name %q, account %q, providers %q, %q", spec.Name, spec.Account, spec.Providers[0].ID, spec.Providers[1].ID)
	}
	st, err := Desired(spec)
	if err != nil {
		t.Fatal(err)
	}
	r := st.Roles[0]
	got := fmt.Sprintf("%s %s %s %d %s %v|%s %v", st.Partition, r.Path, r.ARN, r.MaxSessionDuration, st.Providers[0].URL, st.Providers[0].ClientIDs, st.Providers[1].URL, st.Providers[1].ClientIDs)
	const want = "aws / arn:aws:iam::123456789012:role/r 3600 gitlab.com [https://gitlab.com]|token.actions.githubusercontent.com [sts.amazonaws.com]"
	if got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	const trust = `"StringEquals":{"token.actions.githubusercontent.com:aud":"sts.amazonaws.com","token.actions.githubusercontent.com:sub":"repo:acme/web:ref:refs/heads/main"}`
	if !strings.Contains(string(r.TrustPolicy), trust) {
		t.Errorf("an exact sub must use StringEquals:\n%s", r.TrustPolicy)
	}
}

// TestSpecInCode checks that a Spec built in code is validated the same way and
// that its errors, having no file or positions, name the field only.
func TestSpecInCode(t *testing.T) {
	spec := &Spec{
		Name:      "ci",
		Account:   "42",
		Providers: []ProviderSpec{{ID: "gh", Type: TypeGitHub}},
		Roles:     []RoleSpec{{Name: "r", Trust: TrustSpec{Subjects: []string{"repo:a/b:*"}, SourceIPs: []string{"10.0.0.0/8"}}}},
	}
	_, err := Desired(spec)
	const want = `account: "42" is not an AWS account id: write its 12 digits in quotes, e.g. account: "123456789012", or leave account out to resolve it at plan time`
	if err == nil || err.Error() != want {
		t.Errorf("got  %v\nwant %s", err, want)
	}
	spec.Account = ""
	spec.Name = ""
	if err := spec.Validate(); err == nil || err.Error() != "name: the config has no name: write name: web-deploy (it tags every entity keyless manages)" {
		t.Errorf("no name: %v", err)
	}
}

// TestAliasBudget checks that aliases cannot make a small file expensive.
func TestAliasBudget(t *testing.T) {
	repos := strings.Repeat("a/b, ", 400) + "a/b"
	src := "providers: {gh: {type: github}}\nroles:\n  - &r {name: r, matrix: {repositories: [" + repos + "]}}\n" + strings.Repeat("  - *r\n", 1000)
	_, err := Parse("k.yaml", []byte(src))
	const want = "the document expands to more than 200000 values (aliases included): write it out plainly"
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("got %.200v, want an error containing %q", err, want)
	}
}

// TestAccountPlaceholderInFiles checks that a policy file may write <account-id>,
// which becomes the config's account.
func TestAccountPlaceholderInFiles(t *testing.T) {
	dir := t.TempDir()
	cfg := "account: \"123456789012\"\nproviders: {gh: {type: github}}\nroles:\n  - name: r\n    trust: {subjects: [\"repo:a/b:*\"]}\n    permissions: [{file: p.json}]\n"
	doc := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sqs:SendMessage","Resource":"arn:aws:sqs:eu-west-1:<account-id>:builds"}]}`
	for name, data := range map[string]string{"k.yaml": cfg, "p.json": doc} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	spec, err := Load(filepath.Join(dir, "k.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	st, err := Desired(spec)
	if err != nil {
		t.Fatal(err)
	}
	if got := string(st.Roles[0].InlinePolicies[0].Document); !strings.Contains(got, "arn:aws:sqs:eu-west-1:123456789012:builds") || st.Roles[0].InlinePolicies[0].Name != "p" {
		t.Errorf("policy %s: %s", st.Roles[0].InlinePolicies[0].Name, got)
	}
}
