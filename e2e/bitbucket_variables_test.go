package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/keyless-dev/keyless/internal/testenv"
	"github.com/keyless-dev/keyless/rotate/target"
)

// bbAPI is a plain net/http client of keyless up's Bitbucket variables API.
type bbAPI struct {
	t        *testing.T
	endpoint string
	token    string
	hc       *http.Client
}

// bbAnswer is one answer of the API.
type bbAnswer struct {
	status int
	header http.Header
	raw    string
	body   map[string]any
}

func (a bbAnswer) message() string {
	e, _ := a.body["error"].(map[string]any)
	m, _ := e["message"].(string)
	return m
}

// call sends method url (absolute, or a path on the endpoint) with a JSON
// body (nil for none) and the token, unless auth is false.
func (c bbAPI) call(method, url string, body any, auth bool) bbAnswer {
	c.t.Helper()
	if strings.HasPrefix(url, "/") {
		url = c.endpoint + url
	}
	var rd io.Reader
	if body != nil {
		data, err := json.Marshal(body)
		if err != nil {
			c.t.Fatal(err)
		}
		rd = bytes.NewReader(data)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		c.t.Fatal(err)
	}
	if auth {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		c.t.Fatal(err)
	}
	a := bbAnswer{status: resp.StatusCode, header: resp.Header, raw: string(data)}
	if len(data) > 0 {
		if err := json.Unmarshal(data, &a.body); err != nil {
			c.t.Fatalf("%s %s: %d, body is not a JSON object: %s", method, url, resp.StatusCode, data)
		}
	}
	return a
}

// TestBitbucketVariables runs rotate/target's Bitbucket target — the client
// written for api.bitbucket.org — against keyless up with only a base URL
// (KEYLESS_ENDPOINT) and the token of DIR/env, for a workspace, a repository
// and a deployment environment named by name and by UUID; then a step minted
// with `keyless token mint --print-env` sees the rotated key, deployment
// over repository over workspace. The server's output never holds a secret.
func TestBitbucketVariables(t *testing.T) {
	data := t.TempDir()
	p := startUp(t, data)
	ctx := context.Background()
	token := p.env["KEYLESS_BITBUCKET_TOKEN"]
	if !strings.HasPrefix(token, "klbb_") {
		t.Fatalf("DIR/env has KEYLESS_BITBUCKET_TOKEN %q, want a klbb_ token", token)
	}
	api := bbAPI{t: t, endpoint: p.env["KEYLESS_ENDPOINT"], token: token, hc: &http.Client{Timeout: 10 * time.Second}}

	// A deployment step token registers acme/web's "production"; the
	// environments list gives it the UUID the token carries.
	minted := mintJSON(t, p.env, "--workspace", "acme", "--repository", "web", "--environment", "production")
	envUUID, _ := minted.Claims["deploymentEnvironmentUuid"].(string)
	envs := api.call(http.MethodGet, "/2.0/repositories/acme/web/environments/", nil, true)
	var listed []string
	for _, v := range envs.body["values"].([]any) {
		e := v.(map[string]any)
		listed = append(listed, fmt.Sprintf("%s=%s", e["name"], e["uuid"]))
	}
	if !strings.Contains(strings.Join(listed, " "), "production="+envUUID) {
		t.Fatalf("environments %v do not list production with the token's UUID %s", listed, envUUID)
	}

	secrets := map[string]string{}
	keyIDs := map[string]string{}
	for _, sc := range []struct {
		name string
		cfg  target.BitbucketConfig
		id   string
	}{
		{"workspace", target.BitbucketConfig{Workspace: "acme"}, "AKIAWORKSPACEAAAAAAA"},
		{"repository", target.BitbucketConfig{Workspace: "acme", Repo: "web"}, "AKIAREPOSITORYAAAAAA"},
		{"deployment by name", target.BitbucketConfig{Workspace: "acme", Repo: "web", Environment: "production"}, "AKIADEPLOYNAMEAAAAAA"},
		{"deployment by UUID", target.BitbucketConfig{Workspace: "acme", Repo: "web", Environment: envUUID}, "AKIADEPLOYUUIDAAAAAA"},
	} {
		t.Run(sc.name, func(t *testing.T) {
			tg, err := target.NewBitbucket(sc.cfg, target.Options{
				BaseURL: p.env["KEYLESS_ENDPOINT"],
				Getenv:  func(k string) string { return map[string]string{target.EnvBitbucketToken: token}[k] },
			})
			if err != nil {
				t.Fatal(err)
			}
			creds := target.Credentials{AccessKeyID: sc.id, SecretAccessKey: "secret/" + strings.ReplaceAll(sc.name, " ", "-") + "/wJalrXUtnFEMI+K7MDENG"}
			secrets[sc.name], keyIDs[sc.name] = creds.SecretAccessKey, creds.AccessKeyID
			// Twice: the first Put creates, the second (a later rotation) updates.
			for _, c := range []target.Credentials{{AccessKeyID: "AKIAOLDOLDOLDOLDOLD0", SecretAccessKey: "old"}, creds} {
				if err := tg.Put(ctx, c.Variables(target.Names{})); err != nil {
					t.Fatalf("Put: %v", err)
				}
			}
			got, err := tg.Get(ctx)
			if err != nil {
				t.Fatalf("Get: %v", err)
			}
			if got["AWS_ACCESS_KEY_ID"].Value != sc.id || got["AWS_SECRET_ACCESS_KEY"] != (target.Variable{Key: "AWS_SECRET_ACCESS_KEY", Secret: true}) {
				t.Errorf("Get = %v, want the new key ID and a secret without its value", got)
			}
		})
	}
	// A variable of the workspace only, and a value the shell must quote.
	if a := api.call(http.MethodPost, "/2.0/workspaces/acme/pipelines-config/variables", map[string]any{"key": "REGION", "value": "eu-west-1"}, true); a.status != http.StatusCreated {
		t.Fatalf("POST REGION: %d %s", a.status, a.raw)
	}
	const quoted = `it's "$HOME" and $(id) and ` + "`id`"
	if a := api.call(http.MethodPost, "/2.0/repositories/acme/web/pipelines_config/variables/", map[string]any{"key": "MOTTO", "value": quoted, "secured": true}, true); a.status != http.StatusCreated {
		t.Fatalf("POST MOTTO: %d %s", a.status, a.raw)
	}

	// The step's environment: deployment over repository over workspace.
	printEnv := func(p *upProc, args ...string) map[string]string {
		t.Helper()
		out, errOut, code := run(t, withEnv(p.env), append([]string{"token", "mint", "--print-env"}, args...)...)
		if code != 0 {
			t.Fatalf("token mint --print-env %v: exit %d: %s", args, code, errOut)
		}
		for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
			if !strings.HasPrefix(line, "export ") || !strings.Contains(line, "='") {
				t.Fatalf("token mint --print-env printed %q, want export K='V' lines only", line)
			}
		}
		f := filepath.Join(t.TempDir(), "env")
		if err := os.WriteFile(f, []byte(out), 0o600); err != nil {
			t.Fatal(err)
		}
		env, err := readEnvFile(f)
		if err != nil {
			t.Fatal(err)
		}
		return env
	}
	deploy := printEnv(p, "--workspace", "acme", "--repository", "web", "--environment", "production")
	want := map[string]string{
		"AWS_ACCESS_KEY_ID":     keyIDs["deployment by UUID"],
		"AWS_SECRET_ACCESS_KEY": secrets["deployment by UUID"],
		"REGION":                "eu-west-1",
		"MOTTO":                 quoted,
	}
	for k, v := range want {
		if deploy[k] != v {
			t.Errorf("deployment step: %s=%q, want %q", k, deploy[k], v)
		}
	}
	if parts := strings.Split(deploy["BITBUCKET_STEP_OIDC_TOKEN"], "."); len(parts) != 3 || !strings.HasPrefix(parts[0], "eyJ") {
		t.Errorf("BITBUCKET_STEP_OIDC_TOKEN = %q, want a JWT", deploy["BITBUCKET_STEP_OIDC_TOKEN"])
	}
	if len(deploy) != 5 {
		t.Errorf("deployment step has %d variables, want the token and 4", len(deploy))
	}
	repo := printEnv(p, "--workspace", "acme", "--repository", "web")
	if repo["AWS_ACCESS_KEY_ID"] != keyIDs["repository"] || repo["AWS_SECRET_ACCESS_KEY"] != secrets["repository"] || repo["REGION"] != "eu-west-1" {
		t.Errorf("repository step: %v", repo)
	}
	other := printEnv(p, "--workspace", "acme", "--repository", "api")
	if other["AWS_ACCESS_KEY_ID"] != keyIDs["workspace"] || other["AWS_SECRET_ACCESS_KEY"] != secrets["workspace"] || other["MOTTO"] != "" {
		t.Errorf("a step of another repository: %v", other)
	}
	// The lines are for eval: a shell ends up with the values as they are.
	sh := testenv.LookPath(t, "sh")
	cmd := exec.Command(sh, "-c", `eval "$("$0" token mint --workspace acme --repository web --environment production --print-env)" && printf '%s\n%s' "$AWS_SECRET_ACCESS_KEY" "$MOTTO"`, keylessBin)
	cmd.Env = withEnv(p.env)
	out, err := cmd.Output()
	if err != nil || string(out) != secrets["deployment by UUID"]+"\n"+quoted {
		t.Errorf("eval of --print-env gave %q, %v", out, err)
	}
	// Refusals say why.
	if _, errOut, code := run(t, withEnv(p.env), "token", "mint", "--ci", "github", "--repository", "acme/web", "--print-env"); code == 0 || !strings.Contains(errOut, "--print-env is for Bitbucket step tokens") {
		t.Errorf("--print-env with --ci github: exit %d: %s", code, errOut)
	}

	// The values survive a restart: sealed under the same key, same token.
	if err := p.stop(); err != nil {
		t.Fatal(err)
	}
	q := startUp(t, data)
	if q.env["KEYLESS_BITBUCKET_TOKEN"] != token {
		t.Error("KEYLESS_BITBUCKET_TOKEN changed across a restart")
	}
	if again := printEnv(q, "--workspace", "acme", "--repository", "web", "--environment", "production"); again["AWS_SECRET_ACCESS_KEY"] != secrets["deployment by UUID"] {
		t.Errorf("after a restart the step gets AWS_SECRET_ACCESS_KEY=%q", again["AWS_SECRET_ACCESS_KEY"])
	}
	// Never a secret in what keyless up printed or logged, nor in the database.
	db, err := os.ReadFile(filepath.Join(data, "keyless.db"))
	if err != nil {
		t.Fatal(err)
	}
	wal, _ := os.ReadFile(filepath.Join(data, "keyless.db-wal")) // absent after a clean stop
	db = append(db, wal...)
	for name, s := range secrets {
		for where, text := range map[string]string{"first stdout": p.stdout.String(), "first stderr": p.stderr.String(), "second stdout": q.stdout.String(), "second stderr": q.stderr.String(), "keyless.db": string(db)} {
			if strings.Contains(text, s) {
				t.Errorf("the %s secret is in keyless up's %s", name, where)
			}
		}
	}
}

// TestBitbucketVariablesHTTP checks the API's shapes with a plain HTTP
// client: Bitbucket's variable and error bodies, its statuses, and
// pagination over three pages by following next.
func TestBitbucketVariablesHTTP(t *testing.T) {
	p := startUp(t, t.TempDir())
	api := bbAPI{t: t, endpoint: p.env["KEYLESS_ENDPOINT"], token: p.env["KEYLESS_BITBUCKET_TOKEN"], hc: &http.Client{Timeout: 10 * time.Second}}
	const coll = "/2.0/repositories/acme/pages/pipelines_config/variables/"

	// Without the token: 401 in Bitbucket's error shape.
	if a := api.call(http.MethodGet, coll, nil, false); a.status != http.StatusUnauthorized || a.body["type"] != "error" || !strings.Contains(a.message(), "KEYLESS_BITBUCKET_TOKEN") {
		t.Errorf("without the token: %d %s", a.status, a.raw)
	}
	for i := range 25 {
		a := api.call(http.MethodPost, coll, map[string]any{"type": "pipeline_variable", "key": fmt.Sprintf("VAR_%02d", i), "value": fmt.Sprintf("value-%d", i), "secured": i == 7}, true)
		if a.status != http.StatusCreated {
			t.Fatalf("POST VAR_%02d: %d %s", i, a.status, a.raw)
		}
		uuid, _ := a.body["uuid"].(string)
		if a.body["type"] != "pipeline_variable" || !strings.HasPrefix(uuid, "{") || a.body["key"] != fmt.Sprintf("VAR_%02d", i) || a.body["secured"] != (i == 7) {
			t.Fatalf("POST answered %s", a.raw)
		}
		if _, has := a.body["value"]; has == (i == 7) {
			t.Fatalf("POST answered %s: a value exactly when not secured", a.raw)
		}
		if a.header.Get("Location") == "" {
			t.Error("201 without Location")
		}
	}
	if a := api.call(http.MethodPost, coll, map[string]any{"key": "VAR_03", "value": "again"}, true); a.status != http.StatusConflict || !strings.Contains(a.message(), "already exists") {
		t.Errorf("duplicate key: %d %s", a.status, a.raw)
	}
	if a := api.call(http.MethodPost, coll, map[string]any{"key": "3VAR", "value": "x"}, true); a.status != http.StatusBadRequest || a.body["type"] != "error" {
		t.Errorf("bad key: %d %s", a.status, a.raw)
	}
	if a := api.call(http.MethodGet, coll+"%7B00000000-0000-4000-8000-000000000000%7D", nil, true); a.status != http.StatusNotFound || a.body["type"] != "error" {
		t.Errorf("unknown variable: %d %s", a.status, a.raw)
	}

	// Three pages of 10, 10 and 5, by following next.
	next := api.endpoint + coll + "?pagelen=10"
	var keys []string
	for page := 1; next != ""; page++ {
		if page > 3 {
			t.Fatalf("a fourth page: %s", next)
		}
		a := api.call(http.MethodGet, next, nil, true)
		values, _ := a.body["values"].([]any)
		wantLen := map[int]int{1: 10, 2: 10, 3: 5}[page]
		if a.status != http.StatusOK || a.body["page"] != float64(page) || a.body["pagelen"] != float64(10) || a.body["size"] != float64(25) || len(values) != wantLen {
			t.Fatalf("page %d: %d page %v pagelen %v size %v, %d values", page, a.status, a.body["page"], a.body["pagelen"], a.body["size"], len(values))
		}
		for _, v := range values {
			m := v.(map[string]any)
			keys = append(keys, m["key"].(string))
			if m["key"] == "VAR_07" && (m["value"] != nil || m["secured"] != true) {
				t.Errorf("the secured variable is listed as %v", m)
			}
		}
		next, _ = a.body["next"].(string)
		if page == 3 && next != "" {
			t.Errorf("the last page has next %q", next)
		}
		if page > 1 && !strings.HasPrefix(fmt.Sprint(a.body["previous"]), api.endpoint+coll) {
			t.Errorf("page %d has previous %v", page, a.body["previous"])
		}
	}
	if len(keys) != 25 || keys[0] != "VAR_00" || keys[24] != "VAR_24" {
		t.Errorf("the pages held %v", keys)
	}
	// pagelen is at most 100, and honoured below.
	if a := api.call(http.MethodGet, coll+"?pagelen=500", nil, true); a.body["pagelen"] != float64(100) || len(a.body["values"].([]any)) != 25 || a.body["next"] != nil {
		t.Errorf("pagelen=500: pagelen %v, %d values, next %v", a.body["pagelen"], len(a.body["values"].([]any)), a.body["next"])
	}
	if a := api.call(http.MethodGet, coll+"?pagelen=ten", nil, true); a.status != http.StatusBadRequest || !strings.Contains(a.message(), "pagelen") {
		t.Errorf("pagelen=ten: %d %s", a.status, a.raw)
	}
}
