//go:build unix

package cli

import (
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// TestExecGivesTheChildARegion: the AWS CLI refuses to run without AWS_DEFAULT_REGION
// (SDKs read AWS_REGION), so exec passes the region of the exchange in both, never
// overriding one the user set unless --region says so.
func TestExecGivesTheChildARegion(t *testing.T) {
	sh := needSh(t)
	tests := []struct {
		name       string
		env        map[string]string
		flags      []string
		wantRegion string
		wantDef    string
	}{
		{"nothing set: the exchange's default", nil, nil, "us-east-1", "us-east-1"},
		{"AWS_REGION kept, AWS_DEFAULT_REGION filled", map[string]string{"AWS_REGION": "ap-southeast-2"}, nil, "ap-southeast-2", "ap-southeast-2"},
		{"AWS_DEFAULT_REGION kept, AWS_REGION filled", map[string]string{"AWS_DEFAULT_REGION": "eu-west-1"}, nil, "eu-west-1", "eu-west-1"},
		{"both kept", map[string]string{"AWS_REGION": "eu-north-1", "AWS_DEFAULT_REGION": "eu-west-3"}, nil, "eu-north-1", "eu-west-3"},
		{"--region sets both", map[string]string{"AWS_REGION": "eu-north-1"}, []string{"--region", "sa-east-1"}, "sa-east-1", "sa-east-1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			loginCleanEnv(t)
			st := newLoginSTSStub(t)
			t.Setenv("EXEC_TEST_TOKEN", loginTestToken)
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			args := append([]string{"exec"}, tt.flags...)
			args = append(args, execArgs(st, sh, "-c", `echo "region=$AWS_REGION default=$AWS_DEFAULT_REGION"`)[1:]...)
			code, out, errOut := loginRun(t, "", args...)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, errOut)
			}
			if want := "region=" + tt.wantRegion + " default=" + tt.wantDef + "\n"; out != want {
				t.Errorf("child saw %q, want %q", out, want)
			}
		})
	}
}

func TestExecWithoutACommandSaysHow(t *testing.T) {
	loginCleanEnv(t)
	code, _, errOut := loginRun(t, "", "exec", "--role-arn", loginTestRole)
	if code != 1 || !strings.Contains(errOut, "exec needs a command to run") || !strings.Contains(errOut, "keyless exec -- aws sts get-caller-identity") {
		t.Errorf("exit %d, stderr %q", code, errOut)
	}
}

// TestSessionNameGivenIsCheckedNotRewritten: a name the user chose reaches STS as
// given or is refused with the rule it breaks; only derived names are sanitized.
func TestSessionNameGivenIsCheckedNotRewritten(t *testing.T) {
	tests := []struct {
		name     string
		flag     string
		env      string
		wantErr  string // substring of stderr; "" means success
		wantSent string
	}{
		{"valid flag sent verbatim", "deploy@web.prod", "", "", "deploy@web.prod"},
		{"too short", "x", "", "--session-name: invalid role session name \"x\": STS accepts 2 to 64 characters, this has 1", ""},
		{"space", "a b", "", "--session-name: invalid role session name \"a b\": STS accepts only letters, digits and _+=,.@- (not ' ')", ""},
		{"too long", strings.Repeat("n", 65), "", "STS accepts 2 to 64 characters, this has 65", ""},
		{"invalid from the environment", "", "web/deploy", "AWS_ROLE_SESSION_NAME: invalid role session name \"web/deploy\"", ""},
		{"valid from the environment", "", "from_env", "", "from_env"},
		{"flag wins over the environment", "flag-name", "env-name", "", "flag-name"},
		{"derived from Bitbucket: sanitized", "", "", "", "bitbucket--7d1c-9--42"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			loginCleanEnv(t)
			st := newLoginSTSStub(t)
			t.Setenv("MY_TOKEN", loginTestToken)
			t.Setenv("AWS_ROLE_SESSION_NAME", tt.env)
			t.Setenv("BITBUCKET_BUILD_NUMBER", "42")
			t.Setenv("BITBUCKET_REPO_SLUG", "{7d1c/9}")
			args := []string{"login", "--role-arn", loginTestRole, "--token-env", "MY_TOKEN", "--sts-endpoint", st.srv.URL}
			if tt.flag != "" {
				args = append(args, "--session-name", tt.flag)
			}
			code, _, errOut := loginRun(t, "", args...)
			if tt.wantErr != "" {
				if code != 1 || !strings.Contains(errOut, tt.wantErr) {
					t.Errorf("exit %d, stderr %q, want it to contain %q", code, errOut, tt.wantErr)
				}
				if n := len(st.requests()); n != 0 {
					t.Errorf("STS saw %d requests for a refused name", n)
				}
				return
			}
			if code != 0 {
				t.Fatalf("exit %d: %s", code, errOut)
			}
			if reqs := st.requests(); len(reqs) != 1 || reqs[0]["RoleSessionName"] != tt.wantSent {
				t.Errorf("STS got %v, want RoleSessionName %q", reqs, tt.wantSent)
			}
		})
	}
}

// TestLoginDenialHintNamesTheTokenFlag: the explain command a denial suggests must
// find the same token, so it carries the token flag the user gave login.
func TestLoginDenialHintNamesTheTokenFlag(t *testing.T) {
	tokenFile := filepath.Join(t.TempDir(), "web identity token")
	if err := os.WriteFile(tokenFile, []byte(loginTestToken), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		flags []string
		hint  string
	}{
		{"--token-env", []string{"--token-env", "MY_TOKEN"}, "run `keyless explain --role-arn " + loginTestRole + " --token-env MY_TOKEN` to see which condition fails"},
		{"--token-file", []string{"--token-file", tokenFile}, "run `keyless explain --role-arn " + loginTestRole + " --token-file '" + tokenFile + "'`"},
		{"Bitbucket's variable needs no flag", nil, "run `keyless explain --role-arn " + loginTestRole + "` to see"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			loginCleanEnv(t)
			st := newLoginSTSStub(t)
			st.deny = true
			t.Setenv("MY_TOKEN", loginTestToken)
			t.Setenv("BITBUCKET_STEP_OIDC_TOKEN", loginTestToken)
			args := append([]string{"login", "--role-arn", loginTestRole, "--sts-endpoint", st.srv.URL}, tt.flags...)
			code, _, errOut := loginRun(t, "", args...)
			if code != 1 || !strings.Contains(errOut, tt.hint) {
				t.Errorf("exit %d, stderr %q, want the hint %q", code, errOut, tt.hint)
			}
		})
	}
}

func TestWhoamiWithoutCredentialsIsOneLine(t *testing.T) {
	loginCleanEnv(t)
	code, out, errOut := loginRun(t, "", "whoami", "--sts-endpoint", "http://127.0.0.1:1")
	if code != 1 || out != "" {
		t.Errorf("exit %d, stdout %q", code, out)
	}
	if strings.Count(errOut, "\n") != 1 || !strings.Contains(errOut, "no AWS credentials found") || !strings.Contains(errOut, "keyless exec") {
		t.Errorf("stderr is not one line saying what to do: %q", errOut)
	}
	if strings.Contains(errOut, "IMDS") || strings.Contains(errOut, "failed to refresh cached credentials") {
		t.Errorf("stderr dumps the SDK's credential chain: %q", errOut)
	}
}

// closedLoopbackAddr returns a loopback address nothing listens on.
func closedLoopbackAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// TestConnectionRefusedSaysStartKeylessUp: commands against a stack that is not
// running say what to do rather than only "connection refused".
func TestConnectionRefusedSaysStartKeylessUp(t *testing.T) {
	addr := closedLoopbackAddr(t)
	loginCleanEnv(t)
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIAEXAMPLEEXAMPLE00")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "not-a-real-secret")
	t.Setenv("MY_TOKEN", loginTestToken)
	for name, args := range map[string][]string{
		"whoami":     {"whoami", "--sts-endpoint", "http://" + addr},
		"token mint": {"token", "mint", "--repository", "web", "--endpoint", "http://" + addr, "--runner-token", "x"},
		"login":      {"login", "--role-arn", loginTestRole, "--token-env", "MY_TOKEN", "--sts-endpoint", "http://" + addr, "--max-attempts", "1"},
	} {
		code, _, errOut := loginRun(t, "", args...)
		want := "hint: nothing is listening at " + addr + ": is keyless up running? start it with `keyless up`"
		if code != 1 || !strings.Contains(errOut, want) {
			t.Errorf("%s: exit %d, stderr %q, want %q", name, code, errOut, want)
		}
	}
	if hint := connectionHint(&net.OpError{Op: "dial", Net: "tcp", Addr: &net.TCPAddr{IP: net.IPv4(192, 0, 2, 1), Port: 443}, Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}); !strings.Contains(hint, "check the endpoint URL") || strings.Contains(hint, "keyless up") {
		t.Errorf("a remote endpoint's hint = %q", hint)
	}
}

func TestVersionFlagMatchesVersionCommand(t *testing.T) {
	_, viaCmd, _ := run(t, "", "version")
	code, viaFlag, errOut := run(t, "", "--version")
	if code != 0 || viaFlag != viaCmd || !strings.HasPrefix(viaFlag, "keyless ") {
		t.Errorf("--version: exit %d, %q (stderr %q); version: %q", code, viaFlag, errOut, viaCmd)
	}
}

func TestCompletionScripts(t *testing.T) {
	for shell, want := range map[string]string{"bash": "__start_keyless", "zsh": "#compdef keyless", "fish": "complete -c keyless"} {
		code, out, errOut := run(t, "", "completion", shell)
		if code != 0 || !strings.Contains(out, want) {
			t.Errorf("completion %s: exit %d, stderr %q, output lacks %q", shell, code, errOut, want)
		}
	}
	if _, out, _ := run(t, "", "--help"); !strings.Contains(out, "completion") {
		t.Error("keyless --help does not list the completion command")
	}
}

func TestManPages(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "man")
	if err := WriteManPages(dir); err != nil {
		t.Fatal(err)
	}
	for page, want := range map[string]string{
		"keyless.1":            "keyless",
		"keyless-login.1":      "Exchange the CI step's OIDC token",
		"keyless-token-mint.1": "Mint a Bitbucket-shaped step token",
		"keyless-exec.1":       "AWS_DEFAULT_REGION",
	} {
		b, err := os.ReadFile(filepath.Join(dir, page))
		if err != nil {
			t.Errorf("%s: %v", page, err)
			continue
		}
		if !strings.HasPrefix(string(b), ".nh") && !strings.Contains(string(b), ".TH \"KEYLESS\" \"1\"") {
			t.Errorf("%s is not a section-1 man page:\n%.200s", page, b)
		}
		if !strings.Contains(string(b), want) {
			t.Errorf("%s lacks %q", page, want)
		}
	}
}

func TestDemoKeepKeepsTheDataDirectory(t *testing.T) {
	loginCleanEnv(t)
	code, out, errOut := run(t, "", "demo", "--keep")
	if code != 0 {
		t.Fatalf("demo --keep: exit %d: %s", code, errOut)
	}
	_, rest, ok := strings.Cut(out, "The data directory is kept: ")
	if !ok {
		t.Fatalf("demo --keep does not say where the data is:\n%s", out)
	}
	dir, _, _ := strings.Cut(rest, " ")
	t.Cleanup(func() { os.RemoveAll(dir) })
	if _, err := os.Stat(filepath.Join(dir, "env")); err != nil {
		t.Errorf("kept data directory has no env file: %v", err)
	}
}

// TestPolicyValidateManyFiles: validate takes many files and globs, reports each,
// and exits 1 when any is invalid.
func TestPolicyValidateManyFiles(t *testing.T) {
	dir := t.TempDir()
	for name, doc := range map[string]string{"a-trust.json": testTrust, "b-trust.json": testTrustNoSub, "c-bad.json": `{"Statement": []`} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(doc), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	code, out, errOut := run(t, "", "policy", "validate", filepath.Join(dir, "*-trust.json"))
	if code != 0 || errOut != "" || strings.Count(out, ": valid trust policy (1 statement)\n") != 2 {
		t.Errorf("glob: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	code, out, errOut = run(t, "", "policy", "validate", filepath.Join(dir, "*.json"))
	if code != 1 || strings.Count(out, "valid trust policy") != 2 || !strings.Contains(errOut, "c-bad.json") || !strings.Contains(errOut, "keyless: 1 of 3 policies are invalid\n") {
		t.Errorf("one invalid: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	if strings.Contains(errOut, "keyless: keyless") {
		t.Errorf("message names keyless twice: %q", errOut)
	}
	code, out, _ = run(t, "", "policy", "validate", "--output", "json", filepath.Join(dir, "a-trust.json"), filepath.Join(dir, "c-bad.json"))
	dec := json.NewDecoder(strings.NewReader(out))
	var got []validation
	for dec.More() {
		var v validation
		if err := dec.Decode(&v); err != nil {
			t.Fatalf("json output: %v\n%s", err, out)
		}
		got = append(got, v)
	}
	if code != 1 || len(got) != 2 || !got[0].Valid || got[0].Kind != "trust" || got[0].Statements != 1 || got[1].Valid || got[1].Error == "" {
		t.Errorf("json: exit %d, %+v", code, got)
	}
	if code, _, errOut = run(t, "", "policy", "validate", filepath.Join(dir, "*.yaml")); code != 1 || !strings.Contains(errOut, "no file matches") {
		t.Errorf("glob without match: exit %d, stderr %q", code, errOut)
	}
}

func TestPolicyLintManyFiles(t *testing.T) {
	good := writeFile(t, "good.json", testTrust)
	bad := writeFile(t, "nosub.json", testTrustNoSub)
	code, out, _ := run(t, "", "policy", "lint", good, bad)
	if code != 1 || !strings.Contains(out, good+": no findings") || !strings.Contains(out, bad+":1:41: error [no-sub-condition]") {
		t.Errorf("text: exit %d\n%s", code, out)
	}
	code, out, _ = run(t, "", "policy", "lint", "--format", "sarif", good, bad)
	var log struct {
		Runs []struct {
			Results []struct {
				Locations []struct {
					PhysicalLocation struct {
						ArtifactLocation struct{ URI string } `json:"artifactLocation"`
					} `json:"physicalLocation"`
				} `json:"locations"`
			} `json:"results"`
		} `json:"runs"`
	}
	if err := json.Unmarshal([]byte(out), &log); err != nil || code != 1 || len(log.Runs) != 1 || len(log.Runs[0].Results) != 1 ||
		log.Runs[0].Results[0].Locations[0].PhysicalLocation.ArtifactLocation.URI != bad {
		t.Errorf("sarif: exit %d, %v\n%s", code, err, out)
	}
	code, out, _ = run(t, "", "policy", "lint", "--format", "json", good, bad)
	dec := json.NewDecoder(strings.NewReader(out))
	var files []string
	for dec.More() {
		var ff struct {
			File string `json:"file"`
		}
		if err := dec.Decode(&ff); err != nil {
			t.Fatalf("json: %v\n%s", err, out)
		}
		files = append(files, ff.File)
	}
	if code != 1 || len(files) != 2 || files[0] != good || files[1] != bad {
		t.Errorf("json: exit %d, files %v", code, files)
	}
}

func TestLocalIssuerForAliasedThumbprint(t *testing.T) {
	const prod = "https://api.bitbucket.org/2.0/workspaces/acme/pipelines-config/identity/oidc"
	const local = "https://127.0.0.1:8400/2.0/workspaces/acme/pipelines-config/identity/oidc"
	aliases := prod + "=" + local
	for _, tt := range []struct{ in, aliases, want string }{
		{prod, aliases, local},
		{"api.bitbucket.org/2.0/workspaces/acme/pipelines-config/identity/oidc/", aliases, local},
		{prod + "/.well-known/openid-configuration", aliases, local},
		{"https://api.bitbucket.org/2.0/workspaces/other/pipelines-config/identity/oidc", aliases, "https://api.bitbucket.org/2.0/workspaces/other/pipelines-config/identity/oidc"},
		{prod, "", prod},
	} {
		got, err := localIssuer(tt.in, tt.aliases)
		if err != nil || got != tt.want {
			t.Errorf("localIssuer(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
	if _, err := localIssuer(prod, "not-a-pair"); err == nil || !strings.Contains(err.Error(), "KEYLESS_ISSUER_ALIASES") {
		t.Errorf("malformed aliases: %v", err)
	}
}
