package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/keyless-dev/keyless/internal/testenv"
)

// TestOrganizations drives AWS Organizations of `keyless up` with the AWS CLI,
// unchanged, at DIR/env's AWS_ENDPOINT_URL_ORGANIZATIONS: the first account
// creates an organization, an OU and an account; the account is served at once
// (a management IAM user assumes its OrganizationAccountAccessRole through a CLI
// profile and get-caller-identity shows the new account), `keyless accounts
// list` shows it, and it is served again after a restart. A trust policy
// conditioned on aws:PrincipalOrgID admits the member account's session and
// refuses a user of a config account outside the organization; one conditioned
// on aws:PrincipalOrgPaths admits the member only after move-account put it in
// the OU. The config account, invited, lists and accepts the invitation, and
// its user is then admitted.
func TestOrganizations(t *testing.T) {
	testenv.LookPath(t, "aws")
	data := t.TempDir()
	cfgPath := filepath.Join(t.TempDir(), "keyless.json")
	if err := os.WriteFile(cfgPath, []byte(`{"accounts": [{"id": "`+accountB+`", "name": "outside-b"}]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	p := startUp(t, data, "--config", cfgPath)
	if p.env["AWS_ENDPOINT_URL_ORGANIZATIONS"] != p.env["KEYLESS_ENDPOINT"] {
		t.Fatalf("DIR/env: AWS_ENDPOINT_URL_ORGANIZATIONS = %q, want the endpoint %q", p.env["AWS_ENDPOINT_URL_ORGANIZATIONS"], p.env["KEYLESS_ENDPOINT"])
	}
	home := t.TempDir()
	configFile := filepath.Join(home, "config")
	// cli runs the AWS CLI as the first account's root, with the profiles of
	// configFile, against p (the endpoints of its env file).
	cli := func(t *testing.T, p *upProc, args ...string) (map[string]any, string, int) {
		t.Helper()
		env := append(cleanEnv(), "HOME="+home, "AWS_CONFIG_FILE="+configFile,
			"AWS_SHARED_CREDENTIALS_FILE="+filepath.Join(home, "credentials"), "AWS_DEFAULT_REGION=us-east-1",
			"AWS_ACCESS_KEY_ID="+p.env["KEYLESS_ROOT_ACCESS_KEY_ID"], "AWS_SECRET_ACCESS_KEY="+p.env["KEYLESS_ROOT_SECRET_ACCESS_KEY"])
		if args[0] == "organizations" {
			env = append(env, "AWS_ENDPOINT_URL_ORGANIZATIONS="+p.env["AWS_ENDPOINT_URL_ORGANIZATIONS"])
		} else {
			env = append(env, "AWS_ENDPOINT_URL="+p.env["AWS_ENDPOINT_URL"])
		}
		out, errOut, code := runIn(t, env, "", "aws", append(args, "--output", "json")...)
		var m map[string]any
		if code == 0 && strings.TrimSpace(out) != "" {
			if err := json.Unmarshal([]byte(out), &m); err != nil {
				t.Fatalf("aws %s printed no JSON: %v\n%s", strings.Join(args, " "), err, out)
			}
		}
		return m, errOut, code
	}
	must := func(t *testing.T, p *upProc, args ...string) map[string]any {
		t.Helper()
		m, errOut, code := cli(t, p, args...)
		if code != 0 {
			t.Fatalf("aws %s: exit %d: %s", strings.Join(args, " "), code, errOut)
		}
		return m
	}
	str := func(m map[string]any, path ...string) string {
		var v any = m
		for _, k := range path {
			mm, _ := v.(map[string]any)
			v = mm[k]
		}
		s, _ := v.(string)
		return s
	}

	org := must(t, p, "organizations", "create-organization", "--feature-set", "ALL")
	orgID := str(org, "Organization", "Id")
	if !strings.HasPrefix(orgID, "o-") || str(org, "Organization", "MasterAccountId") != accountA {
		t.Fatalf("create-organization: %v", org)
	}
	roots := must(t, p, "organizations", "list-roots")
	rl, _ := roots["Roots"].([]any)
	if len(rl) != 1 {
		t.Fatalf("list-roots: %v", roots)
	}
	rootID := str(rl[0].(map[string]any), "Id")
	ouID := str(must(t, p, "organizations", "create-organizational-unit", "--parent-id", rootID, "--name", "prod"), "OrganizationalUnit", "Id")
	created := must(t, p, "organizations", "create-account", "--account-name", "dev", "--email", "dev@example.com")
	reqID := str(created, "CreateAccountStatus", "Id")
	status := must(t, p, "organizations", "describe-create-account-status", "--create-account-request-id", reqID)
	devID := str(status, "CreateAccountStatus", "AccountId")
	if str(status, "CreateAccountStatus", "State") != "SUCCEEDED" || len(devID) != 12 || devID != str(created, "CreateAccountStatus", "AccountId") {
		t.Fatalf("describe-create-account-status %s: %v (create-account said %v)", reqID, status, created)
	}
	listed := must(t, p, "organizations", "list-accounts")
	ids := map[string]bool{}
	for _, a := range listed["Accounts"].([]any) {
		ids[str(a.(map[string]any), "Id")] = true
	}
	if len(ids) != 2 || !ids[accountA] || !ids[devID] {
		t.Errorf("list-accounts: %v, want %s and %s", ids, accountA, devID)
	}
	out, errOut, code := run(t, cleanEnv(), "accounts", "list", "--data", data)
	if code != 0 || !strings.Contains(out, devID+"  dev (created by Organizations)") {
		t.Errorf("keyless accounts list: exit %d, %s\n%s", code, errOut, out)
	}

	// A management user "ops" may sts:AssumeRole; profile dev assumes the new
	// account's access role through it.
	must(t, p, "iam", "create-user", "--user-name", "ops")
	must(t, p, "iam", "put-user-policy", "--user-name", "ops", "--policy-name", "assume",
		"--policy-document", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole","Resource":"*"}]}`)
	key := must(t, p, "iam", "create-access-key", "--user-name", "ops")
	// A config account's user, outside the organization, may sts:AssumeRole too.
	outB, errOut, code := run(t, cleanEnv(), "accounts", "credentials", accountB, "--format", "json", "--data", data)
	if code != 0 {
		t.Fatalf("keyless accounts credentials %s: %s", accountB, errOut)
	}
	var rootB map[string]any
	if err := json.Unmarshal([]byte(outB), &rootB); err != nil {
		t.Fatal(err)
	}
	profiles := "[profile ops]\naws_access_key_id = " + str(key, "AccessKey", "AccessKeyId") + "\naws_secret_access_key = " + str(key, "AccessKey", "SecretAccessKey") + "\n" +
		"[profile dev]\nrole_arn = arn:aws:iam::" + devID + ":role/OrganizationAccountAccessRole\nsource_profile = ops\n" +
		"[profile root-b]\naws_access_key_id = " + str(rootB, "AccessKeyId") + "\naws_secret_access_key = " + str(rootB, "SecretAccessKey") + "\n" +
		"[profile in-org-from-dev]\nrole_arn = arn:aws:iam::" + accountA + ":role/in-org\nsource_profile = dev\n" +
		"[profile in-prod-from-dev]\nrole_arn = arn:aws:iam::" + accountA + ":role/in-prod\nsource_profile = dev\n" +
		"[profile in-org-from-b]\nrole_arn = arn:aws:iam::" + accountA + ":role/in-org\nsource_profile = user-b\n"
	if err := os.WriteFile(configFile, []byte(profiles), 0o600); err != nil {
		t.Fatal(err)
	}
	id := must(t, p, "sts", "get-caller-identity", "--profile", "dev")
	if str(id, "Account") != devID || !strings.HasPrefix(str(id, "Arn"), "arn:aws:sts::"+devID+":assumed-role/OrganizationAccountAccessRole/") {
		t.Fatalf("get-caller-identity --profile dev: %v, want the access role of %s", id, devID)
	}
	must(t, p, "iam", "create-user", "--user-name", "made-in-dev", "--profile", "dev") // Allow * on *
	must(t, p, "iam", "create-user", "--user-name", "deployer", "--profile", "root-b")
	must(t, p, "iam", "put-user-policy", "--user-name", "deployer", "--policy-name", "assume", "--profile", "root-b",
		"--policy-document", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole","Resource":"*"}]}`)
	keyB := must(t, p, "iam", "create-access-key", "--user-name", "deployer", "--profile", "root-b")
	profiles += "[profile user-b]\naws_access_key_id = " + str(keyB, "AccessKey", "AccessKeyId") + "\naws_secret_access_key = " + str(keyB, "AccessKey", "SecretAccessKey") + "\n"
	if err := os.WriteFile(configFile, []byte(profiles), 0o600); err != nil {
		t.Fatal(err)
	}

	// Roles of the first account trusting anyone under an organization condition.
	for name, cond := range map[string]string{
		"in-org":  `{"StringEquals":{"aws:PrincipalOrgID":"` + orgID + `"}}`,
		"in-prod": `{"ForAnyValue:StringLike":{"aws:PrincipalOrgPaths":"` + orgID + "/" + rootID + "/" + ouID + `/*"}}`,
	} {
		must(t, p, "iam", "create-role", "--role-name", name, "--assume-role-policy-document",
			`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"*"},"Action":"sts:AssumeRole","Condition":`+cond+`}]}`)
	}
	assumeAs := func(t *testing.T, profile string, allow bool) {
		t.Helper()
		// The CLI caches role sessions by role ARN, whoever assumed it.
		os.RemoveAll(filepath.Join(home, ".aws", "cli", "cache"))
		id, errOut, code := cli(t, p, "sts", "get-caller-identity", "--profile", profile)
		switch {
		case allow && (code != 0 || str(id, "Account") != accountA):
			t.Errorf("get-caller-identity --profile %s: exit %d, %v %s; want a session of %s", profile, code, id, errOut, accountA)
		case !allow && (code == 0 || !strings.Contains(errOut, "AccessDenied")):
			t.Errorf("get-caller-identity --profile %s: exit %d, %v %s; want AccessDenied", profile, code, id, errOut)
		}
	}
	assumeAs(t, "in-org-from-dev", true)
	assumeAs(t, "in-org-from-b", false)
	assumeAs(t, "in-prod-from-dev", false)
	must(t, p, "organizations", "move-account", "--account-id", devID, "--source-parent-id", rootID, "--destination-parent-id", ouID)
	assumeAs(t, "in-prod-from-dev", true)

	// The config account joins as on AWS: invited, it finds and accepts the
	// invitation; its user is then in the organization.
	inv := must(t, p, "organizations", "invite-account-to-organization", "--target", "Id="+accountB+",Type=ACCOUNT", "--notes", "join us")
	hsID := str(inv, "Handshake", "Id")
	listed = must(t, p, "organizations", "list-handshakes-for-account", "--profile", "root-b")
	if hl, _ := listed["Handshakes"].([]any); len(hl) != 1 || str(hl[0].(map[string]any), "Id") != hsID || str(hl[0].(map[string]any), "State") != "OPEN" {
		t.Fatalf("list-handshakes-for-account of %s: %v, want the open invitation %s", accountB, listed, hsID)
	}
	accepted := must(t, p, "organizations", "accept-handshake", "--handshake-id", hsID, "--profile", "root-b")
	if str(accepted, "Handshake", "State") != "ACCEPTED" {
		t.Fatalf("accept-handshake: %v", accepted)
	}
	member := must(t, p, "organizations", "describe-account", "--account-id", accountB)
	if str(member, "Account", "JoinedMethod") != "INVITED" {
		t.Errorf("describe-account %s after accepting: %v, want joined INVITED", accountB, member)
	}
	assumeAs(t, "in-org-from-b", true)

	// Served again after a restart: the same config, which does not list it.
	if err := p.stop(); err != nil {
		t.Fatalf("stop keyless up: %v\n%s", err, p.stderr)
	}
	p = startUp(t, data, "--config", cfgPath)
	os.RemoveAll(filepath.Join(home, ".aws", "cli", "cache")) // no cached role session: assume again
	id = must(t, p, "sts", "get-caller-identity", "--profile", "dev")
	if str(id, "Account") != devID {
		t.Errorf("after a restart, get-caller-identity --profile dev: %v, want account %s", id, devID)
	}
	parents := must(t, p, "organizations", "list-parents", "--child-id", devID)
	if pl, _ := parents["Parents"].([]any); len(pl) != 1 || str(pl[0].(map[string]any), "Id") != ouID {
		t.Errorf("after a restart, list-parents %s: %v, want %s", devID, parents, ouID)
	}
}
