package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/keyless-dev/keyless/rotate"
	"github.com/keyless-dev/keyless/rotate/target"
)

// The Bitbucket deployment environment the rotated key goes to.
const (
	rotateWorkspace = "acme"
	rotateRepo      = "web"
	rotateEnvUUID   = "{6a1f1b0e-2c3d-4e5f-8a9b-0c1d2e3f4a5b}"
	rotateToken     = "bb-test-token"
)

// bbVar is one Bitbucket pipeline variable as the fake keeps it.
type bbVar struct {
	UUID    string `json:"uuid"`
	Key     string `json:"key"`
	Value   string `json:"value,omitempty"`
	Secured bool   `json:"secured"`
	Type    string `json:"type,omitempty"`
}

// fakeBitbucket is a loopback stand-in for Bitbucket's deployment variables
// API (one environment): bearer-token auth, pagination with pagelen and next,
// secured values never returned.
type fakeBitbucket struct {
	mu    sync.Mutex
	vars  []bbVar
	n     int
	url   string
	puts  int
	posts int
}

func startFakeBitbucket(t *testing.T) *fakeBitbucket {
	t.Helper()
	fb := &fakeBitbucket{}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: fb, ReadHeaderTimeout: 5 * time.Second}
	go srv.Serve(l) //nolint:errcheck // ends with Close
	t.Cleanup(func() { srv.Close() })
	fb.url = "http://" + l.Addr().String()
	return fb
}

func (fb *fakeBitbucket) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	fb.mu.Lock()
	defer fb.mu.Unlock()
	reply := func(status int, v any) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		json.NewEncoder(w).Encode(v) //nolint:errcheck
	}
	bbErr := func(status int, msg string) {
		reply(status, map[string]any{"type": "error", "error": map[string]string{"message": msg}})
	}
	if r.Header.Get("Authorization") != "Bearer "+rotateToken {
		bbErr(http.StatusUnauthorized, "Token is invalid or not supported for this endpoint.")
		return
	}
	prefix := "/2.0/repositories/" + rotateWorkspace + "/" + rotateRepo + "/deployments_config/environments/" + rotateEnvUUID + "/variables"
	rest, ok := strings.CutPrefix(r.URL.Path, prefix)
	if !ok {
		bbErr(http.StatusNotFound, "Resource not found")
		return
	}
	rest = strings.TrimPrefix(rest, "/")
	switch {
	case r.Method == http.MethodGet && rest == "":
		page, _ := strconv.Atoi(r.URL.Query().Get("page"))
		page = max(page, 1)
		// One variable a page, to make the client follow "next".
		out := map[string]any{"page": page, "pagelen": 1, "size": len(fb.vars), "values": []bbVar{}}
		if page <= len(fb.vars) {
			v := fb.vars[page-1]
			if v.Secured {
				v.Value = ""
			}
			out["values"] = []bbVar{v}
		}
		if page < len(fb.vars) {
			out["next"] = "http://" + r.Host + prefix + "?pagelen=1&page=" + strconv.Itoa(page+1)
		}
		reply(http.StatusOK, out)
	case r.Method == http.MethodPost && rest == "":
		var v bbVar
		if err := json.NewDecoder(r.Body).Decode(&v); err != nil || v.Key == "" {
			bbErr(http.StatusBadRequest, "bad variable")
			return
		}
		for _, e := range fb.vars {
			if e.Key == v.Key {
				bbErr(http.StatusConflict, "variable "+v.Key+" already exists")
				return
			}
		}
		fb.n++
		fb.posts++
		v.UUID = fmt.Sprintf("{00000000-0000-4000-8000-%012d}", fb.n)
		fb.vars = append(fb.vars, v)
		reply(http.StatusCreated, v)
	case r.Method == http.MethodPut && rest != "":
		var v bbVar
		if err := json.NewDecoder(r.Body).Decode(&v); err != nil {
			bbErr(http.StatusBadRequest, "bad variable")
			return
		}
		for i, e := range fb.vars {
			if e.UUID == rest {
				v.UUID = e.UUID
				fb.vars[i] = v
				fb.puts++
				reply(http.StatusOK, v)
				return
			}
		}
		bbErr(http.StatusNotFound, "no variable "+rest)
	default:
		bbErr(http.StatusMethodNotAllowed, "method not allowed")
	}
}

// faultProxy forwards to a Bitbucket API and, when told to, refuses every
// write as Bitbucket refuses a token without the pipelines write scope:
// reads work, writes fail.
type faultProxy struct {
	mu         sync.Mutex
	failWrites bool
	rp         *httputil.ReverseProxy
	url        string
}

func startFaultProxy(t *testing.T, upstream string) *faultProxy {
	t.Helper()
	u, err := url.Parse(upstream)
	if err != nil {
		t.Fatal(err)
	}
	fp := &faultProxy{rp: httputil.NewSingleHostReverseProxy(u)}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: fp, ReadHeaderTimeout: 5 * time.Second}
	go srv.Serve(l) //nolint:errcheck // ends with Close
	t.Cleanup(func() { srv.Close() })
	fp.url = "http://" + l.Addr().String()
	return fp
}

func (fp *faultProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	fp.mu.Lock()
	fail := fp.failWrites
	fp.mu.Unlock()
	if fail && r.Method != http.MethodGet {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusForbidden)
		io.WriteString(w, `{"type":"error","error":{"message":"Your credentials lack one or more required privilege scopes.","detail":{"required":["pipeline:variable"],"granted":["pipeline"]}}}`) //nolint:errcheck
		return
	}
	fp.rp.ServeHTTP(w, r)
}

func (fp *faultProxy) setFail(fail bool) {
	fp.mu.Lock()
	defer fp.mu.Unlock()
	fp.failWrites = fail
}

// holds returns the access key ID and secret the environment holds.
func (fb *fakeBitbucket) holds() (string, string) {
	fb.mu.Lock()
	defer fb.mu.Unlock()
	var id, secret string
	for _, v := range fb.vars {
		switch v.Key {
		case "AWS_ACCESS_KEY_ID":
			id = v.Value
		case "AWS_SECRET_ACCESS_KEY":
			secret = v.Value
		}
	}
	return id, secret
}

// rotateTarget is the CI variable scope a world's key is pushed into.
type rotateTarget interface {
	// upstream is the API root.
	upstream() string
	// yaml is the target's entry under targets: in keyless.yaml, with the API
	// root base.
	yaml(base string) string
	// token is the BITBUCKET_TOKEN that works.
	token() string
	// seed writes a key the way seed 004 left it.
	seed(t *testing.T, id, secret string)
	// holds returns the key the scope holds, as a pipeline step sees it.
	holds(t *testing.T) (id, secret string)
}

// fakeBBTarget is a loopback fake Bitbucket.
type fakeBBTarget struct{ fb *fakeBitbucket }

func (f fakeBBTarget) upstream() string { return f.fb.url }
func (f fakeBBTarget) yaml(base string) string {
	return fmt.Sprintf("{type: bitbucket, url: %q, workspace: %s, repository: %s, deployment: %q}", base, rotateWorkspace, rotateRepo, rotateEnvUUID)
}
func (f fakeBBTarget) token() string { return rotateToken }
func (f fakeBBTarget) seed(_ *testing.T, id, secret string) {
	f.fb.mu.Lock()
	defer f.fb.mu.Unlock()
	f.fb.vars = []bbVar{
		{UUID: "{00000000-0000-4000-8000-100000000001}", Key: "AWS_ACCESS_KEY_ID", Value: id},
		{UUID: "{00000000-0000-4000-8000-100000000002}", Key: "AWS_SECRET_ACCESS_KEY", Value: secret, Secured: true},
	}
}
func (f fakeBBTarget) holds(*testing.T) (string, string) { return f.fb.holds() }

// upBBTarget is the Production deployment environment of a repository on
// keyless up's Bitbucket variables API.
type upBBTarget struct {
	p    *upProc
	repo string
}

func (u upBBTarget) upstream() string { return u.p.env["KEYLESS_ENDPOINT"] }
func (u upBBTarget) yaml(base string) string {
	return fmt.Sprintf("{type: bitbucket, url: %q, workspace: %s, repository: %s, deployment: Production}", base, rotateWorkspace, u.repo)
}
func (u upBBTarget) token() string { return u.p.env["KEYLESS_BITBUCKET_TOKEN"] }
func (u upBBTarget) client(t *testing.T) target.Target {
	tg, err := target.NewBitbucket(target.BitbucketConfig{Workspace: rotateWorkspace, Repo: u.repo, Environment: "Production"},
		target.Options{BaseURL: u.p.env["KEYLESS_ENDPOINT"], Getenv: func(string) string { return u.token() }})
	if err != nil {
		t.Fatal(err)
	}
	return tg
}
func (u upBBTarget) seed(t *testing.T, id, secret string) {
	c := target.Credentials{AccessKeyID: id, SecretAccessKey: secret}
	if err := u.client(t).Put(context.Background(), c.Variables(target.Names{})); err != nil {
		t.Fatal(err)
	}
}

// holds reads the key back as a deployment step of the environment sees it
// (keyless token mint --print-env): the secured secret included.
func (u upBBTarget) holds(t *testing.T) (string, string) {
	t.Helper()
	out, errOut, code := run(t, withEnv(u.p.env), "token", "mint", "--print-env", "--workspace", rotateWorkspace, "--repository", u.repo, "--environment", "Production")
	if code != 0 {
		t.Fatalf("token mint --print-env: exit %d: %s", code, errOut)
	}
	f := filepath.Join(t.TempDir(), "env")
	if err := os.WriteFile(f, []byte(out), 0o600); err != nil {
		t.Fatal(err)
	}
	env, err := readEnvFile(f)
	if err != nil {
		t.Fatal(err)
	}
	return env["AWS_ACCESS_KEY_ID"], env["AWS_SECRET_ACCESS_KEY"]
}

// rotateBackend is an implementation of IAM, Secrets Manager and STS, and of
// Bitbucket's variables API.
type rotateBackend struct {
	name   string
	data   string     // keyless up's data directory ("" for moto)
	cfg    aws.Config // administrator credentials
	env    []string   // keyless rotate's AWS environment
	target func(t *testing.T, n int) rotateTarget
}

// motoBackend is moto's server, a third-party implementation that accepts any
// credentials for its own calls (GetCallerIdentity with the new key still
// names the key's user, so verification checks the key is the user's), with a
// loopback fake Bitbucket per world.
func motoBackend(t *testing.T) rotateBackend {
	endpoint, _ := startMoto(t)
	return rotateBackend{
		name: "moto",
		cfg:  awsConfigFor(endpoint, "testing", "testing"),
		env:  []string{"AWS_ENDPOINT_URL=" + endpoint, "AWS_ACCESS_KEY_ID=testing", "AWS_SECRET_ACCESS_KEY=testing", "AWS_REGION=us-east-1"},
		target: func(t *testing.T, _ int) rotateTarget {
			return fakeBBTarget{startFakeBitbucket(t)}
		},
	}
}

// upBackend is keyless up: its IAM, Secrets Manager and STS with SigV4 and
// the policy engine, and its Bitbucket variables API.
func upBackend(t *testing.T) rotateBackend {
	data := t.TempDir()
	p := startUp(t, data)
	var env []string
	for k, v := range p.env {
		env = append(env, k+"="+v)
	}
	return rotateBackend{
		name:   "keyless up",
		data:   data,
		cfg:    rootConfig(p),
		env:    env,
		target: func(_ *testing.T, n int) rotateTarget { return upBBTarget{p: p, repo: fmt.Sprintf("r%d", n)} },
	}
}

func awsConfigFor(endpoint, id, secret string) aws.Config {
	return aws.Config{Region: "us-east-1", BaseEndpoint: aws.String(endpoint), Credentials: credentials.NewStaticCredentialsProvider(id, secret, "")}
}

// rotateWorld is one IAM user, its secret and its Bitbucket environment.
type rotateWorld struct {
	t      *testing.T
	ctx    context.Context
	be     rotateBackend
	user   string
	secret string
	file   string
	env    []string
	iam    *iam.Client
	sm     *secretsmanager.Client
	target rotateTarget
	proxy  *faultProxy
	// pendingDeleted: the scenario deleted the AWSPENDING key by hand.
	pendingDeleted bool
}

// newRotateWorld makes a user with one key; with secret, a secret holding
// that key; and a Bitbucket environment holding it too (as seed 004 left
// things). Ages are zero, so every pass rotates.
func newRotateWorld(t *testing.T, be rotateBackend, n int, name string, withSecret bool) *rotateWorld {
	t.Helper()
	w := &rotateWorld{t: t, ctx: context.Background(), be: be, user: fmt.Sprintf("ci-%s-%d", name, n), secret: fmt.Sprintf("ci/%s-%d", name, n), target: be.target(t, n)}
	w.iam, w.sm = iam.NewFromConfig(be.cfg), secretsmanager.NewFromConfig(be.cfg)
	if _, err := w.iam.CreateUser(w.ctx, &iam.CreateUserInput{UserName: aws.String(w.user)}); err != nil {
		t.Fatal(err)
	}
	k, err := w.iam.CreateAccessKey(w.ctx, &iam.CreateAccessKeyInput{UserName: aws.String(w.user)})
	if err != nil {
		t.Fatal(err)
	}
	id, secret := aws.ToString(k.AccessKey.AccessKeyId), aws.ToString(k.AccessKey.SecretAccessKey)
	if withSecret {
		value, _ := json.Marshal(map[string]string{"AccessKeyId": id, "SecretAccessKey": secret})
		if _, err := w.sm.CreateSecret(w.ctx, &secretsmanager.CreateSecretInput{Name: aws.String(w.secret), SecretString: aws.String(string(value))}); err != nil {
			t.Fatal(err)
		}
	}
	w.target.seed(t, id, secret)
	w.proxy = startFaultProxy(t, w.target.upstream())
	dir, home := t.TempDir(), t.TempDir()
	w.file = filepath.Join(dir, "keyless.yaml")
	config := fmt.Sprintf(`name: rotation-e2e
rotation:
  ages: {rotate: 0s, deactivate: 0s, delete: 0s}
  users:
    - user: %s
      secret: %s
      targets:
        - %s
`, w.user, w.secret, w.target.yaml(w.proxy.url))
	if err := os.WriteFile(w.file, []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	w.env = append(append(cleanEnv(), "HOME="+home, "AWS_CONFIG_FILE="+filepath.Join(home, "c"), "AWS_SHARED_CREDENTIALS_FILE="+filepath.Join(home, "k"),
		"BITBUCKET_TOKEN="+w.target.token()), be.env...)
	return w
}

// setFail makes every write to the Bitbucket API fail (403), or work again.
func (w *rotateWorld) setFail(fail bool) { w.proxy.setFail(fail) }

// rotate runs `keyless rotate ARGS -f FILE`; with crashAt set it expects the
// process to die of SIGKILL there and reports whether it did (false: it exited
// without reaching the point).
func (w *rotateWorld) rotate(crashAt string, args ...string) (stdout string, killed bool, code int) {
	w.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, keylessBin, append(append([]string{"rotate"}, args...), "-f", w.file)...)
	cmd.Env = w.env
	if crashAt != "" {
		cmd.Env = append(slices.Clone(w.env), "KEYLESS_ROTATE_CRASH_AT="+crashAt)
	}
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return out.String(), false, 0
	case errors.As(err, &ee):
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() && ws.Signal() == syscall.SIGKILL {
			return out.String(), true, -1
		}
		return out.String() + errOut.String(), false, ee.ExitCode()
	}
	w.t.Fatalf("keyless rotate %v: %v\n%s", args, err, &errOut)
	return "", false, 0
}

// rotateOK runs a pass that must succeed: the rotation is then recorded in the
// secret and the target.
func (w *rotateWorld) rotateOK() {
	w.t.Helper()
	if out, _, code := w.rotate("", "run"); code != 0 {
		w.t.Fatalf("rotate run: exit %d\n%s", code, out)
	}
}

// keys lists the user's access keys: id → active.
func (w *rotateWorld) keys() map[string]bool {
	w.t.Helper()
	out, err := w.iam.ListAccessKeys(w.ctx, &iam.ListAccessKeysInput{UserName: aws.String(w.user)})
	if err != nil {
		w.t.Fatal(err)
	}
	keys := map[string]bool{}
	for _, k := range out.AccessKeyMetadata {
		keys[aws.ToString(k.AccessKeyId)] = k.Status == iamtypes.StatusTypeActive
	}
	return keys
}

// staged returns the key a stage of the secret holds ("" when none).
func (w *rotateWorld) staged(stage string) (string, string) {
	out, err := w.sm.GetSecretValue(w.ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(w.secret), VersionStage: aws.String(stage)})
	if err != nil {
		return "", ""
	}
	var v struct{ AccessKeyId, SecretAccessKey string }
	if err := json.Unmarshal([]byte(aws.ToString(out.SecretString)), &v); err != nil {
		w.t.Fatalf("secret %s %s: %v", w.secret, stage, err)
	}
	return v.AccessKeyId, v.SecretAccessKey
}

// invariants: at most two keys; the AWSCURRENT key exists, is active and
// works as the user (GetCallerIdentity); every key the secret or the target
// holds exists and is active; with final, the target holds AWSCURRENT.
func (w *rotateWorld) invariants(when string, final bool) {
	w.t.Helper()
	keys := w.keys()
	if len(keys) > 2 {
		w.t.Fatalf("%s: %d access keys", when, len(keys))
	}
	curID, curSecret := w.staged("AWSCURRENT")
	if curID != "" {
		if !keys[curID] {
			w.t.Fatalf("%s: AWSCURRENT holds %s, deleted or inactive (keys %v)", when, curID, keys)
		}
		cfg := w.be.cfg.Copy()
		cfg.Credentials = credentials.NewStaticCredentialsProvider(curID, curSecret, "")
		id, err := sts.NewFromConfig(cfg).GetCallerIdentity(w.ctx, &sts.GetCallerIdentityInput{})
		if err != nil || !strings.HasSuffix(aws.ToString(id.Arn), ":user/"+w.user) {
			w.t.Fatalf("%s: the AWSCURRENT key authenticates as %v (%v)", when, aws.ToString(id.Arn), err)
		}
	}
	if p, _ := w.staged("AWSPENDING"); p != "" && !w.pendingDeleted {
		if _, ok := keys[p]; !ok {
			w.t.Fatalf("%s: AWSPENDING holds deleted key %s", when, p)
		}
	}
	heldID, heldSecret := w.target.holds(w.t)
	if heldID != "" && !keys[heldID] {
		w.t.Fatalf("%s: the Bitbucket environment holds %s, deleted or inactive (keys %v)", when, heldID, keys)
	}
	if final && (heldID != curID || heldSecret != curSecret) {
		w.t.Fatalf("%s: the Bitbucket environment holds %s, AWSCURRENT is %s (or their secrets differ)", when, heldID, curID)
	}
}

// rotateScenario prepares a world for a pass that is killed at each of its
// steps in turn.
type rotateScenario struct {
	name   string
	secret bool               // the secret exists at the start
	steps  []rotate.Step      // the steps it kills at
	setup  func(*rotateWorld) // before the pass that is killed
	after  func(*rotateWorld) // before the recovery pass
}

var rotateScenarios = []rotateScenario{
	{name: "rotation", secret: true, steps: []rotate.Step{
		rotate.StepMarkCreating, rotate.StepCreateKey, rotate.StepStorePending, rotate.StepClearCreating,
		rotate.StepVerify, rotate.StepPromote, rotate.StepFinishPending, rotate.StepPush, rotate.StepRecordTarget,
		rotate.StepRecordSynced, rotate.StepMarkInactive, rotate.StepDeactivate, rotate.StepDelete}},
	{name: "bootstrap", steps: []rotate.Step{rotate.StepCreateSecret}},
	{name: "rollback", secret: true, steps: []rotate.Step{rotate.StepMarkRollback, rotate.StepRollback},
		setup: func(w *rotateWorld) { w.rotateOK(); w.setFail(true) },
		after: func(w *rotateWorld) { w.setFail(false) }},
	{name: "rolled-back", secret: true, steps: []rotate.Step{rotate.StepDeleteRolledBack, rotate.StepClearRollback},
		setup: func(w *rotateWorld) {
			w.rotateOK()
			w.setFail(true)
			if out, _, code := w.rotate("", "run"); code != 1 || !strings.Contains(out, "HTTP 403") {
				w.t.Fatalf("a run with a failing target: exit %d\n%s", code, out)
			}
			w.setFail(false)
		}},
	{name: "orphan", secret: true, steps: []rotate.Step{rotate.StepDeleteOrphan},
		setup: func(w *rotateWorld) { w.kill(rotate.After + string(rotate.StepCreateKey)) }},
	{name: "stale-pending", secret: true, steps: []rotate.Step{rotate.StepDropPending},
		setup: func(w *rotateWorld) {
			w.kill(rotate.After + string(rotate.StepStorePending))
			p, _ := w.staged("AWSPENDING")
			w.pendingDeleted = true
			if _, err := w.iam.DeleteAccessKey(w.ctx, &iam.DeleteAccessKeyInput{UserName: aws.String(w.user), AccessKeyId: aws.String(p)}); err != nil {
				w.t.Fatal(err)
			}
		}},
}

// kill runs a pass that must be killed at point.
func (w *rotateWorld) kill(point string) {
	w.t.Helper()
	if out, killed, code := w.rotate(point, "run"); !killed {
		w.t.Fatalf("keyless rotate run was not killed at %s: exit %d\n%s", point, code, out)
	}
}

// TestRotateCrashAtEveryStep runs `keyless rotate run` against moto's server
// (IAM, Secrets Manager and STS) with a loopback Bitbucket, and against
// keyless up with its own Bitbucket variables API. For every step of the
// algorithm it kills the process with SIGKILL right before and right after
// the step's call, checks the invariants (at most two keys; the AWSCURRENT
// key exists, is active and authenticates as the user through
// GetCallerIdentity; no key the secret or the target holds is deleted or
// inactive), runs it again to completion and checks them again, now also that
// the Bitbucket environment holds the key AWSCURRENT holds, secret included.
func TestRotateCrashAtEveryStep(t *testing.T) {
	for _, backend := range []func(*testing.T) rotateBackend{motoBackend, upBackend} {
		be := backend(t)
		t.Run(be.name, func(t *testing.T) {
			covered := map[rotate.Step]bool{}
			n := 0
			for _, sc := range rotateScenarios {
				for _, step := range sc.steps {
					covered[step] = true
					for _, point := range []string{rotate.Before + string(step), rotate.After + string(step)} {
						n++
						w := newRotateWorld(t, be, n, sc.name, sc.secret)
						if sc.setup != nil {
							sc.setup(w)
						}
						w.kill(point)
						w.invariants(sc.name+", killed at "+point, false)
						if sc.after != nil {
							sc.after(w)
						}
						if out, _, code := w.rotate("", "run"); code != 0 {
							t.Fatalf("%s, after a kill at %s: exit %d\n%s", sc.name, point, code, out)
						}
						w.invariants(sc.name+", resumed after "+point, true)
					}
				}
			}
			for _, step := range rotate.Steps() {
				if !covered[step] {
					t.Errorf("no scenario kills at %s", step)
				}
			}
		})
	}
}

// TestRotateCommands: plan, run, status and sync as a user runs them, against
// moto and against keyless up.
func TestRotateCommands(t *testing.T) {
	for _, backend := range []func(*testing.T) rotateBackend{motoBackend, upBackend} {
		be := backend(t)
		t.Run(be.name, func(t *testing.T) {
			w := newRotateWorld(t, be, 0, "commands", true)
			before := w.keys()
			out, _, code := w.rotate("", "plan")
			if code != 2 || !strings.Contains(out, "create a new access key for IAM user "+w.user) || !strings.Contains(out, "plan:") {
				t.Fatalf("plan: exit %d\n%s", code, out)
			}
			if !maps.Equal(w.keys(), before) {
				t.Fatal("plan changed the keys")
			}
			out, _, code = w.rotate("", "run", "--output", "json")
			if code != 0 {
				t.Fatalf("run: exit %d\n%s", code, out)
			}
			var reports []rotate.Report
			if err := json.Unmarshal([]byte(out), &reports); err != nil || len(reports) != 1 {
				t.Fatalf("run output: %v\n%s", err, out)
			}
			r := reports[0]
			if r.Current == "" || r.SyncedAt == nil || len(r.Keys) != 1 || r.Targets[0].State != rotate.TargetInSync || r.Error != "" {
				t.Fatalf("run report: %s", out)
			}
			if _, curSecret := w.staged("AWSCURRENT"); strings.Contains(out, curSecret) {
				t.Fatal("the secret access key is in the output")
			}
			w.invariants("after run", true)

			out, _, code = w.rotate("", "status")
			if code != 0 || !strings.Contains(out, "in-sync") || !strings.Contains(out, r.Current) {
				t.Fatalf("status: exit %d\n%s", code, out)
			}
			// Someone overwrites the variables; status sees it, sync puts them back.
			w.target.seed(t, "AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
			if out, _, code := w.rotate("", "status", "--output", "json"); code != 0 || !strings.Contains(out, `"state": "stale"`) {
				t.Fatalf("status after an overwrite: exit %d\n%s", code, out)
			}
			if out, _, code := w.rotate("", "sync"); code != 0 || !strings.Contains(out, "write key "+r.Current) {
				t.Fatalf("sync: exit %d\n%s", code, out)
			}
			w.invariants("after sync", true)

			// A failing target fails the run, naming the target and the status;
			// the new key is rolled back.
			w.setFail(true)
			out, _, code = w.rotate("", "run")
			if code != 1 || !strings.Contains(out, "HTTP 403") || !strings.Contains(out, "bitbucket deployment acme/") || !strings.Contains(out, "move AWSCURRENT back to key "+r.Current) {
				t.Fatalf("run with a failing target: exit %d\n%s", code, out)
			}
			w.invariants("after a rollback", false)
			w.setFail(false)
			if out, _, code := w.rotate("", "run"); code != 0 || !strings.Contains(out, "delete key") {
				t.Fatalf("run after the target works again: exit %d\n%s", code, out)
			}
			w.invariants("after the rollback is cleaned up", true)
		})
	}
}

// TestRotateConfigErrors: what is wrong before any AWS call is said plainly.
func TestRotateConfigErrors(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		f := filepath.Join(dir, name)
		if err := os.WriteFile(f, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return f
	}
	noRotation := write("none.yaml", "name: x\nproviders: {gh: {type: github}}\n")
	withRotation := write("rot.yaml", "name: x\nrotation:\n  users: [{user: ci-legacy, secret: ci/legacy, targets: [{type: bitbucket, workspace: acme}]}]\n")
	env := append(cleanEnv(), "HOME="+t.TempDir())
	with := func(kv string) []string { return append(slices.Clone(env), kv) }
	for _, tc := range []struct {
		name string
		env  []string
		args []string
		want string
	}{
		{"no rotation section", env, []string{"plan", "-f", noRotation}, "has no rotation section: add one"},
		{"unknown user", with("BITBUCKET_TOKEN=t"), []string{"run", "-f", withRotation, "--user", "bob"}, "--user bob is not in " + withRotation + ": its users are ci-legacy"},
		{"no token", env, []string{"status", "-f", withRotation}, "no credentials: set BITBUCKET_TOKEN"},
		{"bad crash point", with("KEYLESS_ROTATE_CRASH_AT=after:lunch"), []string{"run", "-f", withRotation}, `KEYLESS_ROTATE_CRASH_AT="after:lunch" is not a crash point`},
		{"bad output", env, []string{"plan", "-f", withRotation, "--output", "yaml"}, `invalid --output "yaml"`},
		{"short interval", env, []string{"daemon", "-f", withRotation, "--interval", "5s"}, "--interval 5s is too short"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, errOut, code := run(t, tc.env, append([]string{"rotate"}, tc.args...)...)
			if code != 1 || !strings.Contains(errOut, tc.want) {
				t.Fatalf("exit %d, stderr %q; want 1 and %q", code, errOut, tc.want)
			}
		})
	}
}

// daemonProc is a running `keyless rotate daemon`.
type daemonProc struct {
	cmd         *exec.Cmd
	out, errOut *syncBuffer
	done        chan error
}

func (w *rotateWorld) startDaemon(args ...string) *daemonProc {
	w.t.Helper()
	d := &daemonProc{out: &syncBuffer{}, errOut: &syncBuffer{}, done: make(chan error, 1)}
	d.cmd = exec.Command(keylessBin, append([]string{"rotate", "daemon", "-f", w.file}, args...)...)
	d.cmd.Env, d.cmd.Stdout, d.cmd.Stderr = w.env, d.out, d.errOut
	if err := d.cmd.Start(); err != nil {
		w.t.Fatal(err)
	}
	go func() { d.done <- d.cmd.Wait() }()
	w.t.Cleanup(func() { d.cmd.Process.Kill() })
	return d
}

// waitFor waits until the daemon's stdout or stderr holds s.
func (d *daemonProc) waitFor(t *testing.T, s string) bool {
	t.Helper()
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if strings.Contains(d.out.String(), s) || strings.Contains(d.errOut.String(), s) {
			return true
		}
	}
	return false
}

// stop sends SIGTERM and waits for a clean exit.
func (d *daemonProc) stop(t *testing.T) {
	t.Helper()
	d.cmd.Process.Signal(syscall.SIGTERM) //nolint:errcheck
	select {
	case err := <-d.done:
		if err != nil {
			t.Fatalf("rotate daemon: %v\n%s%s", err, d.out, d.errOut)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("rotate daemon did not stop within 30s of SIGTERM")
	}
}

// TestRotateDaemon runs two daemons on keyless up's store: one takes the lease
// and rotates, the other skips its pass; stopped, the first releases the
// lease, and a new daemon resumes at once.
func TestRotateDaemon(t *testing.T) {
	be := upBackend(t)
	w := newRotateWorld(t, be, 0, "daemon", true)
	first, _ := w.staged("AWSCURRENT")
	a := w.startDaemon("--data", be.data)
	if !a.waitFor(t, "rotation pass done") {
		t.Fatalf("no pass:\n%s%s", a.out, a.errOut)
	}
	b := w.startDaemon("--data", be.data)
	if !b.waitFor(t, "another replica holds the lease") {
		t.Fatalf("the second daemon did not skip its pass:\n%s%s", b.out, b.errOut)
	}
	if strings.Contains(b.out.String(), "user ci-daemon-0") {
		t.Fatalf("the second daemon ran a pass:\n%s", b.out)
	}
	a.stop(t)
	b.stop(t)
	cur, _ := w.staged("AWSCURRENT")
	if cur == first || !strings.Contains(a.out.String(), "user ci-daemon-0") {
		t.Fatalf("no rotation: AWSCURRENT %s\n%s", cur, a.out)
	}
	w.invariants("after the daemon", true)
	c := w.startDaemon("--data", be.data, "--output", "json")
	if !c.waitFor(t, "rotation pass done") {
		t.Fatalf("a new daemon did not take the released lease:\n%s%s", c.out, c.errOut)
	}
	c.stop(t)
	w.invariants("after the second daemon", true)
}
