package e2e

import (
	"context"
	"encoding/json"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	orgtypes "github.com/aws/aws-sdk-go-v2/service/organizations/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"
)

// accountD is a further account of TestProvisionAccounts, whose admin role is
// created only after a first apply has failed there.
const accountD = "444444444444"

// accountRootConfig returns an SDK config with the root credentials of a local
// account, as `keyless accounts credentials ID --format json` prints them.
func accountRootConfig(t *testing.T, p *upProc, data, id string) aws.Config {
	t.Helper()
	out, errOut, code := run(t, cleanEnv(), "accounts", "credentials", id, "--format", "json", "--data", data)
	if code != 0 {
		t.Fatalf("keyless accounts credentials %s: exit %d: %s", id, code, errOut)
	}
	var c struct{ AccessKeyId, SecretAccessKey, AccountId string }
	if err := json.Unmarshal([]byte(out), &c); err != nil || c.AccountId != id {
		t.Fatalf("keyless accounts credentials %s --format json: account %q, %v", id, c.AccountId, err)
	}
	return staticConfig(p.env["KEYLESS_ENDPOINT"], c.AccessKeyId, c.SecretAccessKey, "")
}

// createAdminRole creates OrganizationAccountAccessRole in the account of cfg,
// trusting the hub account (the first, A) and allowed everything, as AWS
// Organizations creates it.
func createAdminRole(t *testing.T, cfg aws.Config) {
	t.Helper()
	ctx := context.Background()
	c := iam.NewFromConfig(cfg)
	trust := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::` + accountA + `:root"},"Action":"sts:AssumeRole"}]}`
	if _, err := c.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("OrganizationAccountAccessRole"), AssumeRolePolicyDocument: aws.String(trust)}); err != nil {
		t.Fatalf("create the admin role: %v", err)
	}
	admin := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}`
	if _, err := c.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String("OrganizationAccountAccessRole"), PolicyName: aws.String("admin"), PolicyDocument: aws.String(admin)}); err != nil {
		t.Fatalf("allow the admin role: %v", err)
	}
}

// hubUser creates the IAM user provisioner in the first account (A), allowed
// to assume OrganizationAccountAccessRole in any account and the statements
// given, and returns the environment variables of its access key.
func hubUser(t *testing.T, p *upProc, statements ...string) []string {
	t.Helper()
	ctx := context.Background()
	c := iam.NewFromConfig(rootConfig(p))
	if _, err := c.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("provisioner")}); err != nil {
		t.Fatal(err)
	}
	allow := `{"Version":"2012-10-17","Statement":[` + strings.Join(append([]string{`{"Effect":"Allow","Action":"sts:AssumeRole","Resource":"arn:aws:iam::*:role/OrganizationAccountAccessRole"}`}, statements...), ",") + `]}`
	if _, err := c.PutUserPolicy(ctx, &iam.PutUserPolicyInput{UserName: aws.String("provisioner"), PolicyName: aws.String("assume-admin"), PolicyDocument: aws.String(allow)}); err != nil {
		t.Fatal(err)
	}
	key, err := c.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: aws.String("provisioner")})
	if err != nil {
		t.Fatal(err)
	}
	return []string{"AWS_ACCESS_KEY_ID=" + aws.ToString(key.AccessKey.AccessKeyId), "AWS_SECRET_ACCESS_KEY=" + aws.ToString(key.AccessKey.SecretAccessKey),
		"AWS_ENDPOINT_URL=" + p.env["KEYLESS_ENDPOINT"]}
}

// TestProvisionAccounts provisions one keyless.yaml into three accounts of
// keyless up from the first (the hub), through the admin role of each: plan
// shows each account's plan in account order; apply fails in the account whose
// admin role does not exist yet, applies the other two, names the failed
// account and writes a report; once the role exists, apply --only-failed
// completes that account alone; a second apply changes nothing in any account.
// A Bitbucket step token then assumes the provisioned role in a target account,
// which trusts that account's own provider; the hub has none of it.
func TestProvisionAccounts(t *testing.T) {
	data := t.TempDir()
	upConfig := filepath.Join(t.TempDir(), "keyless.json")
	if err := os.WriteFile(upConfig, []byte(`{"accounts": [{"id": "`+accountB+`"}, {"id": "`+accountC+`"}, {"id": "`+accountD+`"}]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	p := startUp(t, data, "--config", upConfig)
	ctx := context.Background()
	cfgs := map[string]aws.Config{}
	for _, id := range []string{accountB, accountC, accountD} {
		cfgs[id] = accountRootConfig(t, p, data, id)
	}
	createAdminRole(t, cfgs[accountB])
	createAdminRole(t, cfgs[accountC])

	dir := t.TempDir()
	file, _ := localConfig(t, p, dir, []string{"web"}, []string{"production"})
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	config := strings.Replace(string(b), "name: e2e\n", "name: e2e\naccounts:\n  targets: [\""+accountD+"\", \""+accountC+"\", \""+accountB+"\"]\n", 1)
	if config == string(b) {
		t.Fatal("the config has no name: e2e line")
	}
	if err := os.WriteFile(file, []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	// The hub's credentials: the root user may assume no role, so an IAM user
	// of A allowed to assume the admin roles, as in an organization's
	// management account.
	_, errOut, code := run(t, provisionEnv(t, p), "plan", "-f", file)
	if want := "the credentials are those of account " + accountA + "'s root user"; code != 1 || !strings.Contains(errOut, want) {
		t.Errorf("plan with root credentials: exit %d, stderr %q; want 1 and %q", code, errOut, want)
	}
	env := append(provisionEnv(t, p), hubUser(t, p)...)
	adminRole := func(id string) string { return "arn:aws:iam::" + id + ":role/OrganizationAccountAccessRole" }

	out, errOut, code := run(t, env, "plan", "-f", file)
	if code != 1 {
		t.Fatalf("plan with an account lacking its admin role: exit %d, want 1\n%s%s", code, out, errOut)
	}
	iB := strings.Index(out, "== account "+accountB+" (through "+adminRole(accountB)+")\nConfig e2e, account "+accountB)
	iC := strings.Index(out, "== account "+accountC+" (through "+adminRole(accountC)+")\nConfig e2e, account "+accountC)
	iD := strings.Index(out, "== account "+accountD+" (through "+adminRole(accountD)+"): failed\nError: assume the admin role "+adminRole(accountD))
	if iB < 0 || iC < iB || iD < iC {
		t.Errorf("plan does not show B, C and D's plans in account order (%d, %d, %d):\n%s", iB, iC, iD, out)
	}
	for _, want := range []string{"Plan: 2 to create, 0 to update, 0 to delete", "\nAccounts: 2 planned, 2 with changes, 1 failed (" + accountD + ").\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("plan lacks %q:\n%s", want, out)
		}
	}
	if want := "plan: 1 of 3 accounts failed: " + accountD; !strings.Contains(errOut, want) {
		t.Errorf("plan's error lacks %q: %s", want, errOut)
	}

	report := filepath.Join(dir, "accounts.json")
	out, errOut, code = run(t, env, "apply", "-f", file, "--auto-approve", "--parallel", "2", "--report", report)
	if code != 1 {
		t.Fatalf("first apply: exit %d, want 1\n%s%s", code, out, errOut)
	}
	for _, want := range []string{
		"== account " + accountB + ": applied (plan: 2 to create, 0 to update, 0 to delete)\nApplied: ",
		"== account " + accountC + ": applied (plan: 2 to create, 0 to update, 0 to delete)\nApplied: ",
		"== account " + accountD + ": failed\nError: assume the admin role " + adminRole(accountD),
		"\nAccounts: 2 applied, 0 unchanged, 1 failed (" + accountD + ").\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("first apply lacks %q:\n%s", want, out)
		}
	}
	if want := "apply: 1 of 3 accounts failed: " + accountD + "; fix the cause and run keyless apply --only-failed " + report; !strings.Contains(errOut, want) {
		t.Errorf("first apply's error lacks %q: %s", want, errOut)
	}
	statuses := func() map[string]string {
		t.Helper()
		b, err := os.ReadFile(report)
		if err != nil {
			t.Fatal(err)
		}
		var r struct {
			Name     string
			Accounts []struct{ Account, Status, Error string }
		}
		if err := json.Unmarshal(b, &r); err != nil || r.Name != "e2e" {
			t.Fatalf("the report %s: name %q, %v\n%s", report, r.Name, err, b)
		}
		m := map[string]string{}
		for _, a := range r.Accounts {
			m[a.Account] = a.Status
		}
		return m
	}
	if got := statuses(); got[accountB] != "applied" || got[accountC] != "applied" || got[accountD] != "failed" || len(got) != 3 {
		t.Errorf("the report after the first apply: %v", got)
	}
	// The applied accounts have the role, trusting their own provider.
	issuerHost := strings.TrimPrefix(p.env["KEYLESS_ISSUER"], "https://")
	for _, id := range []string{accountB, accountC} {
		r, err := iam.NewFromConfig(cfgs[id]).GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String("deploy-web-production")})
		if err != nil {
			t.Fatalf("account %s: %v", id, err)
		}
		trust, _ := url.QueryUnescape(aws.ToString(r.Role.AssumeRolePolicyDocument))
		if aws.ToString(r.Role.Arn) != "arn:aws:iam::"+id+":role/deploy-web-production" || !strings.Contains(trust, "arn:aws:iam::"+id+":oidc-provider/"+issuerHost) {
			t.Errorf("account %s: role %s trusting %s", id, aws.ToString(r.Role.Arn), trust)
		}
	}
	if _, err := iam.NewFromConfig(rootConfig(p)).GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String("deploy-web-production")}); !isCode(err, "NoSuchEntity") {
		t.Errorf("the hub has the role of the targets: %v", err)
	}

	// Fix D and re-run the failed account only.
	createAdminRole(t, cfgs[accountD])
	out, errOut, code = run(t, env, "apply", "-f", file, "--auto-approve", "--only-failed", report, "--report", report)
	if code != 0 {
		t.Fatalf("apply --only-failed: exit %d\n%s%s", code, out, errOut)
	}
	if strings.Contains(out, "account "+accountB) || strings.Contains(out, "account "+accountC) ||
		!strings.Contains(out, "== account "+accountD+": applied (plan: 2 to create, 0 to update, 0 to delete)") ||
		!strings.Contains(out, "\nAccounts: 1 applied, 0 unchanged, 0 failed.\n") {
		t.Errorf("apply --only-failed did not apply D alone:\n%s", out)
	}
	if got := statuses(); got[accountB] != "applied" || got[accountC] != "applied" || got[accountD] != "applied" {
		t.Errorf("the merged report: %v", got)
	}

	// A second apply changes nothing anywhere; plan agrees.
	out, errOut, code = run(t, env, "apply", "-f", file, "--auto-approve")
	if code != 0 || !strings.Contains(out, "\nAccounts: 0 applied, 3 unchanged, 0 failed.\n") || strings.Contains(out, "IAM calls done") {
		t.Errorf("second apply: exit %d, want 0 and every account unchanged\n%s%s", code, out, errOut)
	}
	out, errOut, code = run(t, env, "plan", "-f", file, "--output", "json")
	var js struct {
		Accounts []struct {
			Account string
			Error   string
			Plan    struct {
				Account string
				Changes []json.RawMessage
			}
		}
	}
	if code != 0 || json.Unmarshal([]byte(out), &js) != nil || len(js.Accounts) != 3 {
		t.Fatalf("plan --output json after apply: exit %d\n%s%s", code, out, errOut)
	}
	for i, want := range []string{accountB, accountC, accountD} {
		a := js.Accounts[i]
		if a.Account != want || a.Plan.Account != want || a.Error != "" || len(a.Plan.Changes) != 0 {
			t.Errorf("plan --output json, accounts[%d]: %s (plan of %s, %d changes, error %q); want %s unchanged", i, a.Account, a.Plan.Account, len(a.Plan.Changes), a.Error, want)
		}
	}

	// The provisioned role works: a step token assumes it in C.
	token := mintJSON(t, p.env, "--repository", "web", "--environment", "production").Token
	anon := sts.NewFromConfig(aws.Config{Region: "us-east-1", BaseEndpoint: aws.String(p.env["KEYLESS_ENDPOINT"]), Credentials: aws.AnonymousCredentials{}, RetryMaxAttempts: 1})
	got, err := anon.AssumeRoleWithWebIdentity(ctx, &sts.AssumeRoleWithWebIdentityInput{
		RoleArn: aws.String("arn:aws:iam::" + accountC + ":role/deploy-web-production"), RoleSessionName: aws.String("step"), WebIdentityToken: aws.String(token)})
	if err != nil {
		t.Fatalf("AssumeRoleWithWebIdentity into C's provisioned role: %v", err)
	}
	if arn := aws.ToString(got.AssumedRoleUser.Arn); !strings.HasPrefix(arn, "arn:aws:sts::"+accountC+":assumed-role/deploy-web-production/") {
		t.Errorf("assumed %s", arn)
	}
}

// TestRenderStackSet renders a config with target accounts as CloudFormation:
// -o DIR gets the StackSet template, whose ARNs take the account from
// AWS::AccountId, and stackset-parameters.json with one entry per target in
// account order; without -o, render asks for a directory.
func TestRenderStackSet(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "keyless.yaml")
	config := `name: web-deploy
accounts:
  targets: ["333333333333", "222222222222"]
providers:
  github: {type: github, thumbprints: [6938fd4d98bab03faadb97b34396831e3780aea1]}
roles:
  - name: deploy-web
    trust: {subjects: ["repo:acme/web:ref:refs/heads/main"]}
    permissions:
      - {template: cloudfront-invalidate, distribution: E2QWRUHAPOMQZL}
`
	if err := os.WriteFile(file, []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	_, errOut, code := run(t, cleanEnv(), "render", "--format", "cloudformation", "-f", file)
	if want := "render: --format cloudformation writes 2 files (template.yaml, stackset-parameters.json): name a directory with -o DIR"; code != 1 || !strings.Contains(errOut, want) {
		t.Errorf("render without -o: exit %d, stderr %q; want 1 and %q", code, errOut, want)
	}
	outDir := filepath.Join(dir, "stackset")
	out, errOut, code := run(t, cleanEnv(), "render", "--format", "cloudformation", "-f", file, "-o", outDir)
	if code != 0 {
		t.Fatalf("render -o DIR: exit %d\n%s%s", code, out, errOut)
	}
	tmpl, err := os.ReadFile(filepath.Join(outDir, "template.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(tmpl), "cloudfront::${AWS::AccountId}:distribution/E2QWRUHAPOMQZL") || strings.Contains(string(tmpl), "222222222222") {
		t.Errorf("the template does not take the account from AWS::AccountId:\n%s", tmpl)
	}
	b, err := os.ReadFile(filepath.Join(outDir, "stackset-parameters.json"))
	if err != nil {
		t.Fatal(err)
	}
	var instances []struct {
		Account            string
		ParameterOverrides []struct{ ParameterKey, ParameterValue string }
	}
	if err := json.Unmarshal(b, &instances); err != nil {
		t.Fatal(err)
	}
	if len(instances) != 2 || instances[0].Account != "222222222222" || instances[1].Account != "333333333333" ||
		len(instances[0].ParameterOverrides) != 1 || instances[0].ParameterOverrides[0].ParameterKey != "ProviderGithubThumbprints" ||
		instances[0].ParameterOverrides[0].ParameterValue != "6938fd4d98bab03faadb97b34396831e3780aea1" {
		t.Errorf("stackset-parameters.json:\n%s", b)
	}
}

// TestProvisionOrganizationalUnit provisions a config into the accounts of an
// AWS Organizations OU of keyless up, child OUs included: the hub lists them
// with ListAccountsForParent and ListOrganizationalUnitsForParent, assumes the
// OrganizationAccountAccessRole CreateAccount made in each and applies there;
// the management account and an account outside the OU are left alone, and a
// second apply changes nothing.
func TestProvisionOrganizationalUnit(t *testing.T) {
	p := startUp(t, t.TempDir())
	if p.env["AWS_ENDPOINT_URL_ORGANIZATIONS"] == "" {
		t.Fatal("DIR/env has no AWS_ENDPOINT_URL_ORGANIZATIONS")
	}
	ctx := context.Background()
	orgs := organizations.NewFromConfig(rootConfig(p), func(o *organizations.Options) {
		o.BaseEndpoint = aws.String(p.env["AWS_ENDPOINT_URL_ORGANIZATIONS"])
	})
	if _, err := orgs.CreateOrganization(ctx, &organizations.CreateOrganizationInput{FeatureSet: orgtypes.OrganizationFeatureSetAll}); err != nil {
		t.Fatal(err)
	}
	roots, err := orgs.ListRoots(ctx, &organizations.ListRootsInput{})
	if err != nil || len(roots.Roots) != 1 {
		t.Fatalf("ListRoots: %v", err)
	}
	rootID := aws.ToString(roots.Roots[0].Id)
	mkOU := func(parent, name string) string {
		t.Helper()
		ou, err := orgs.CreateOrganizationalUnit(ctx, &organizations.CreateOrganizationalUnitInput{ParentId: aws.String(parent), Name: aws.String(name)})
		if err != nil {
			t.Fatal(err)
		}
		return aws.ToString(ou.OrganizationalUnit.Id)
	}
	prod := mkOU(rootID, "prod")
	eu := mkOU(prod, "eu")
	mkAccount := func(name, parent string) string {
		t.Helper()
		c, err := orgs.CreateAccount(ctx, &organizations.CreateAccountInput{AccountName: aws.String(name), Email: aws.String(name + "@example.com")})
		if err != nil {
			t.Fatal(err)
		}
		st, err := orgs.DescribeCreateAccountStatus(ctx, &organizations.DescribeCreateAccountStatusInput{CreateAccountRequestId: c.CreateAccountStatus.Id})
		if err != nil || st.CreateAccountStatus.State != orgtypes.CreateAccountStateSucceeded {
			t.Fatalf("CreateAccount %s: %v", name, err)
		}
		id := aws.ToString(st.CreateAccountStatus.AccountId)
		if parent != rootID {
			if _, err := orgs.MoveAccount(ctx, &organizations.MoveAccountInput{AccountId: aws.String(id), SourceParentId: aws.String(rootID), DestinationParentId: aws.String(parent)}); err != nil {
				t.Fatalf("MoveAccount %s: %v", name, err)
			}
		}
		return id
	}
	web, api, sandbox := mkAccount("web", prod), mkAccount("api", eu), mkAccount("sandbox", rootID)

	dir := t.TempDir()
	file, _ := localConfig(t, p, dir, []string{"web"}, []string{"production"})
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(file, []byte(strings.Replace(string(b), "name: e2e\n", "name: e2e\naccounts: {organizational_unit: "+prod+"}\n", 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	env := append(provisionEnv(t, p), hubUser(t, p, `{"Effect":"Allow","Action":["organizations:ListAccountsForParent","organizations:ListOrganizationalUnitsForParent"],"Resource":"*"}`)...)
	out, errOut, code := run(t, env, "apply", "-f", file, "--auto-approve")
	targets := []string{web, api}
	slices.Sort(targets)
	if code != 0 || !strings.Contains(out, "\nAccounts: 2 applied, 0 unchanged, 0 failed.\n") ||
		!strings.Contains(out, "== account "+targets[0]+": applied") || !strings.Contains(out, "== account "+targets[1]+": applied") {
		t.Fatalf("apply to OU %s: exit %d\n%s%s", prod, code, out, errOut)
	}
	if strings.Contains(out, sandbox) || strings.Contains(out, accountA) {
		t.Errorf("apply touched an account outside the OU (%s or %s):\n%s", sandbox, accountA, out)
	}
	out, errOut, code = run(t, env, "apply", "-f", file, "--auto-approve")
	if code != 0 || !strings.Contains(out, "\nAccounts: 0 applied, 2 unchanged, 0 failed.\n") {
		t.Errorf("second apply: exit %d\n%s%s", code, out, errOut)
	}
}
