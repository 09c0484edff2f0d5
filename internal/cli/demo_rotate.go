package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"
	"github.com/spf13/cobra"

	"github.com/keyless-dev/keyless/bitbucket"
	"github.com/keyless-dev/keyless/internal/server"
	"github.com/keyless-dev/keyless/issuer"
	"github.com/keyless-dev/keyless/provision"
	"github.com/keyless-dev/keyless/rotate"
	"github.com/keyless-dev/keyless/rotate/target"
)

// The demo's world: seed 004's IAM user, its secret, and the Bitbucket
// deployment environment its pipeline deploys from.
const (
	demoRotateUser      = "legacy-deployer"
	demoRotateSecret    = "ci/legacy-deployer"
	demoRotateWorkspace = "acme"
	demoRotateRepo      = "web"
	demoRotateEnv       = "Production"
	demoRotateRegion    = "us-east-1"
)

// The days the demo moves its clock to, counted from the creation of the
// first key. They are chosen for seed 004's ages (90, 100 and 110 days).
const (
	dayDeployOld      = 90  // a deployment step runs with the first key
	dayRotate         = 91  // the key is past its rotate age: a pass replaces it
	dayOldKeyUsed     = 97  // a job nobody moved to the variables still uses the old key
	dayWatched        = 100 // the old key reaches its deactivate age, still in its watch
	dayStillInUse     = 104 // past the watch, but used after the rotation: kept
	dayJobMoved       = 105 // the job is moved to the key the secret holds
	dayDeactivate     = 108 // unused for 11 days: deactivated
	dayGrace          = 112 // past the delete age, inactive for 4 days only: kept
	dayDelete         = 118 // inactive for 10 days: deleted
	demoRotateLast    = dayDelete
	demoRotateMaxKeys = 2 // IAM's limit of access keys per user, which a rotation never exceeds
)

func newDemoRotateCmd(s Streams) *cobra.Command {
	var keep bool
	cmd := &cobra.Command{
		Use:   "rotate",
		Short: "Run seed 004's access key rotation on a temporary local stack with a clock moved forward",
		Long: `Start keyless up in-process on a temporary data directory, with a clock the demo
moves forward, and play seed 004's scenario: IAM user legacy-deployer has a 91-day-old
access key, kept in Secrets Manager secret ci/legacy-deployer and in the deployment
variables of acme/web's Production environment (keyless up's Bitbucket variables API).

One "keyless rotate run" pass creates a new key, verifies it, moves AWSCURRENT to it
and pushes it into the deployment variables; a deployment step reads it (as
"keyless token mint --print-env" does) and calls GetCallerIdentity with it. A job still
using the old key keeps it alive past its deactivate age, as GetAccessKeyLastUsed
shows; once the job has moved and the key is unused for the watch period it is
deactivated, and deleted after the grace period. Every step says what happened and
why; no secret value is printed, only access key IDs.

Exit status: 0 when every expected transition happened, 1 otherwise (the output
marks what did not happen with ✖, and the error lists it).`,
		Example: "  keyless demo rotate\n  keyless demo rotate --keep   # keep the data directory and its keyless.yaml",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			dir, err := os.MkdirTemp("", "keyless-demo-rotate-")
			if err != nil {
				return fmt.Errorf("demo rotate: %w", err)
			}
			if !keep {
				defer os.RemoveAll(dir)
			}
			err = runDemoRotate(cmd.Context(), s.Out, dir, rotate.DefaultAges())
			if keep {
				fmt.Fprintf(s.Out, "\nThe data directory is kept: %s (start it again with `keyless up --data %s`; its keyless.yaml has the rotation section)\n", dir, dir)
			}
			return err
		},
	}
	cmd.Flags().BoolVar(&keep, "keep", false, "keep the temporary data directory (store, keys, env file, keyless.yaml) and print its path")
	return cmd
}

// demoClock is the clock of the demo's stack and rotation engine: the wall
// clock, shifted so that the last day of the scenario is today, and moved
// forward a whole number of days at a time. It never goes back, and two
// readings are never equal, so every event is after the one before.
type demoClock struct {
	day0  time.Time // the instant "day 0" stands for
	start time.Time // the wall time the clock was made at

	mu   sync.Mutex
	days int // how many days the demo has moved the clock
}

func newDemoClock(lastDay int) *demoClock {
	start := time.Now()
	// Whole seconds, as IAM's dates are: a use on day n reads back as day n.
	day0 := start.Add(-time.Duration(lastDay) * provision.Day).Truncate(time.Second).UTC()
	return &demoClock{day0: day0, start: start}
}

// Now is day0 plus the days moved plus the wall time passed since the start.
func (c *demoClock) Now() time.Time {
	c.mu.Lock()
	days := c.days
	c.mu.Unlock()
	return c.day0.Add(time.Duration(days)*provision.Day + time.Since(c.start)).UTC()
}

// to moves the clock to day n; it refuses to go back.
func (c *demoClock) to(n int) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if n < c.days {
		return fmt.Errorf("the demo clock cannot go back from day %d to day %d", c.days, n)
	}
	c.days = n
	return nil
}

// date is the calendar date of day n.
func (c *demoClock) date(n int) string {
	return c.day0.Add(time.Duration(n) * provision.Day).Format("2006-01-02")
}

// day is the day t falls on.
func (c *demoClock) day(t time.Time) int { return int(t.Sub(c.day0) / provision.Day) }

// clockSigner signs AWS requests with SigV4 at the demo clock's time: the
// local stack checks signatures against that clock, not the wall clock.
type clockSigner struct {
	signer *v4.Signer
	now    func() time.Time
}

// SignHTTP signs r as the SDK's signer does, at the clock's time.
func (s clockSigner) SignHTTP(ctx context.Context, c aws.Credentials, r *http.Request, payloadHash, service, region string, _ time.Time, optFns ...func(*v4.SignerOptions)) error {
	return s.signer.SignHTTP(ctx, c, r, payloadHash, service, region, s.now(), optFns...)
}

// rotateDemo is one run of the scenario.
type rotateDemo struct {
	out   io.Writer
	dir   string
	ages  rotate.Ages
	clock *demoClock

	endpoint string
	runner   string // the runner token, to read a step's variables
	cfg      aws.Config
	signer   clockSigner
	iam      *iam.Client
	sm       *secretsmanager.Client
	engine   *rotate.Engine
	user     rotate.User

	step     int
	failed   []string
	oldKey   target.Credentials // the first key
	jobKey   target.Credentials // the key the report job runs with
	oldID    string
	newID    string
	lastSeen *rotate.Report
}

// runDemoRotate plays the scenario in dir with a rotation config of ages;
// every step prints what it did and why. It returns an *ExitError (status 1)
// naming what did not happen when an expected transition did not, and other
// errors when the demo could not go on.
func runDemoRotate(ctx context.Context, out io.Writer, dir string, ages rotate.Ages) error {
	d := &rotateDemo{out: out, dir: dir, ages: ages, clock: newDemoClock(demoRotateLast)}
	d.signer = clockSigner{signer: v4.NewSigner(), now: d.clock.Now}
	fmt.Fprintln(out, "keyless demo rotate: seed 004's rotation of a static access key, on a local stack whose clock the demo moves forward.")
	err := d.play(ctx)
	if len(d.failed) > 0 {
		fmt.Fprintf(out, "\nFAILED: %d expected transition(s) did not happen:\n", len(d.failed))
		for _, f := range d.failed {
			fmt.Fprintf(out, "  ✖ %s\n", f)
		}
		return &ExitError{Code: 1, Err: fmt.Errorf("demo rotate: %s", strings.Join(d.failed, "; "))}
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "\nDone: the key was replaced at %d days, the new one reached the deployment variables and a deploy step, "+
		"the old one stayed active while a job still used it, then was deactivated and deleted; the user never had more than %d keys.\n",
		dayRotate, demoRotateMaxKeys)
	return nil
}

func (d *rotateDemo) say(format string, args ...any) {
	d.step++
	fmt.Fprintf(d.out, "\n%d. %s\n", d.step, fmt.Sprintf(format, args...))
}

func (d *rotateDemo) detail(format string, args ...any) {
	fmt.Fprintf(d.out, "   %s\n", fmt.Sprintf(format, args...))
}

// block prints text indented under the current step.
func (d *rotateDemo) block(text string) {
	for _, line := range strings.Split(strings.TrimRight(text, "\n"), "\n") {
		fmt.Fprintf(d.out, "     %s\n", line)
	}
}

// expect prints a check and records it when it failed.
func (d *rotateDemo) expect(ok bool, format string, args ...any) bool {
	what := fmt.Sprintf(format, args...)
	if ok {
		d.detail("✔ %s", what)
		return true
	}
	d.detail("✖ %s", what)
	d.failed = append(d.failed, fmt.Sprintf("day %d: %s", d.clock.day(d.clock.Now()), what))
	return false
}

// play runs the scenario's steps in order, stopping at the first step whose
// expectations failed.
func (d *rotateDemo) play(ctx context.Context) error {
	srv, err := server.Start(ctx, server.Options{
		Config:  server.Config{Listen: "127.0.0.1:0", DefaultWorkspace: demoRotateWorkspace},
		DataDir: d.dir,
		Getenv:  func(string) string { return "" },
		Now:     d.clock.Now,
		Logger:  slog.New(slog.DiscardHandler),
	})
	if err != nil {
		return fmt.Errorf("demo rotate: start the local stack: %w", err)
	}
	defer srv.Shutdown(context.Background())
	d.endpoint = srv.Endpoint()
	env := map[string]string{}
	for _, kv := range srv.Env() {
		env[kv[0]] = kv[1]
	}
	d.runner = env["KEYLESS_RUNNER_TOKEN"]
	root := srv.Root()
	d.cfg = aws.Config{Region: demoRotateRegion, BaseEndpoint: aws.String(d.endpoint),
		Credentials: credentials.NewStaticCredentialsProvider(root.AccessKeyID, root.SecretAccessKey, "")}
	d.iam = iam.NewFromConfig(d.cfg, func(o *iam.Options) { o.HTTPSignerV4 = d.signer })
	d.sm = secretsmanager.NewFromConfig(d.cfg, func(o *secretsmanager.Options) { o.HTTPSignerV4 = d.signer })

	d.say("Started keyless up in-process (data in %s)", d.dir)
	d.detail("IAM, STS and Secrets Manager: %s", d.endpoint)
	d.detail("Bitbucket's pipelines variables API: %s/2.0/", d.endpoint)
	d.detail("its clock is the demo's: day 0 is %s, and day %d, the last, is today", d.clock.date(0), demoRotateLast)

	config, err := d.loadConfig(env[bitbucket.TokenEnv])
	if err != nil {
		return err
	}
	for _, stage := range []func(context.Context) error{
		d.seed,
		func(context.Context) error { return d.showConfig(config) },
		func(ctx context.Context) error { return d.deployStep(ctx, dayDeployOld) },
		d.planRotation,
		d.runRotation,
		func(ctx context.Context) error { return d.deployStep(ctx, dayRotate) },
		d.oldKeyUsed,
		d.watched,
		d.stillInUse,
		d.jobMoved,
		d.deactivate,
		d.grace,
		d.deleteOld,
		d.status,
	} {
		if err := stage(ctx); err != nil {
			return err
		}
		if len(d.failed) > 0 {
			fmt.Fprintln(d.out, "\nStopped: what follows depends on what did not happen.")
			return nil
		}
	}
	return nil
}

// loadConfig writes keyless.yaml with the rotation section into the data
// directory and builds the user from it, as `keyless rotate` does, and the
// engine, whose clock and signatures are the demo's.
func (d *rotateDemo) loadConfig(bitbucketToken string) (string, error) {
	config := fmt.Sprintf(`name: demo-rotate
rotation:
  ages: {rotate: %s, deactivate: %s, delete: %s}
  users:
    - user: %s
      secret: %s
      targets:
        - type: bitbucket
          url: %s   # keyless up's Bitbucket API; leave out for api.bitbucket.org
          workspace: %s
          repository: %s
          deployment: %s
`, demoAge(d.ages.Rotate), demoAge(d.ages.Deactivate), demoAge(d.ages.Delete),
		demoRotateUser, demoRotateSecret, d.endpoint, demoRotateWorkspace, demoRotateRepo, demoRotateEnv)
	file := filepath.Join(d.dir, "keyless.yaml")
	if err := os.WriteFile(file, []byte(config), 0o600); err != nil {
		return "", fmt.Errorf("demo rotate: write %s: %w", file, err)
	}
	spec, err := provision.Load(file)
	if err != nil {
		return "", fmt.Errorf("demo rotate: %w", err)
	}
	configs := rotate.Configs(spec.Rotation)
	if len(configs) != 1 {
		return "", fmt.Errorf("demo rotate: %s has %d rotation users, want 1", file, len(configs))
	}
	getenv := func(k string) string {
		if k == target.EnvBitbucketToken { // BITBUCKET_TOKEN, as a pipeline gives it
			return bitbucketToken
		}
		return ""
	}
	if d.user, err = configs[0].Build(target.Options{Getenv: getenv}); err != nil {
		return "", fmt.Errorf("demo rotate: %w", err)
	}
	d.engine = &rotate.Engine{IAM: d.iam, Secrets: d.sm, Verify: d.verify, Now: d.clock.Now}
	return config, nil
}

// demoAge writes an age as keyless.yaml does: days when whole.
func demoAge(a time.Duration) string {
	if a%provision.Day == 0 {
		return fmt.Sprintf("%dd", a/provision.Day)
	}
	return a.String()
}

// verify is the engine's Verifier: sts:GetCallerIdentity with the new key.
func (d *rotateDemo) verify(ctx context.Context, c target.Credentials) (string, error) {
	arn, err := d.callerIdentity(ctx, c)
	if err != nil {
		return "", fmt.Errorf("sts:GetCallerIdentity with %s: %w", c.AccessKeyID, err)
	}
	return arn, nil
}

// callerIdentity calls sts:GetCallerIdentity signed with c and returns the ARN.
func (d *rotateDemo) callerIdentity(ctx context.Context, c target.Credentials) (string, error) {
	client := sts.NewFromConfig(d.cfg, func(o *sts.Options) {
		o.Credentials = credentials.NewStaticCredentialsProvider(c.AccessKeyID, c.SecretAccessKey, "")
		o.HTTPSignerV4 = d.signer
		o.RetryMaxAttempts = 1
	})
	out, err := client.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		return "", err
	}
	return aws.ToString(out.Arn), nil
}

func (d *rotateDemo) at(day int) error {
	if err := d.clock.to(day); err != nil {
		return fmt.Errorf("demo rotate: %w", err)
	}
	return nil
}

func (d *rotateDemo) dayTitle(day int) string {
	return fmt.Sprintf("Day %d (%s)", day, d.clock.date(day))
}

// seed makes what seed 004 left on day 0: the user and its key, the secret
// holding the key, the deployment variables holding it too, and a job that
// was handed a copy of it.
func (d *rotateDemo) seed(ctx context.Context) error {
	if _, err := d.iam.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String(demoRotateUser)}); err != nil {
		return fmt.Errorf("demo rotate: create IAM user %s: %w", demoRotateUser, err)
	}
	k, err := d.iam.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: aws.String(demoRotateUser)})
	if err != nil {
		return fmt.Errorf("demo rotate: create the first access key: %w", err)
	}
	d.oldKey = target.Credentials{AccessKeyID: aws.ToString(k.AccessKey.AccessKeyId), SecretAccessKey: aws.ToString(k.AccessKey.SecretAccessKey)}
	d.oldID, d.jobKey = d.oldKey.AccessKeyID, d.oldKey
	value, err := json.Marshal(map[string]string{"AccessKeyId": d.oldKey.AccessKeyID, "SecretAccessKey": d.oldKey.SecretAccessKey})
	if err != nil {
		return fmt.Errorf("demo rotate: %w", err)
	}
	if _, err := d.sm.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String(demoRotateSecret), SecretString: aws.String(string(value))}); err != nil {
		return fmt.Errorf("demo rotate: create secret %s: %w", demoRotateSecret, err)
	}
	tg := d.user.Targets[0]
	if err := tg.Put(ctx, d.oldKey.Variables(tg.Names)); err != nil {
		return fmt.Errorf("demo rotate: seed the deployment variables: %w", err)
	}
	d.say("%s: what seed 004 leaves behind", d.dayTitle(0))
	d.detail("IAM user %s with one access key, %s", demoRotateUser, d.oldID)
	d.detail("Secrets Manager secret %s holds it as AWSCURRENT, as JSON {\"AccessKeyId\", \"SecretAccessKey\"}: the source of truth", demoRotateSecret)
	d.detail("%s holds it: AWS_ACCESS_KEY_ID, and AWS_SECRET_ACCESS_KEY secured", tg.Name())
	d.detail("a nightly report job on a build server was handed a copy of %s: it does not read the variables", d.oldID)
	return nil
}

func (d *rotateDemo) showConfig(config string) error {
	d.say("The rotation section of keyless.yaml (%s):", filepath.Join(d.dir, "keyless.yaml"))
	d.block(config[strings.Index(config, "rotation:"):])
	d.detail("the Bitbucket token comes from BITBUCKET_TOKEN (here keyless up's KEYLESS_BITBUCKET_TOKEN), never from the file")
	return nil
}

// report prints a report as `keyless rotate VERB` prints it.
func (d *rotateDemo) report(verb string, r *rotate.Report) error {
	var b strings.Builder
	if err := writeRotateText(&b, verb, r); err != nil {
		return err
	}
	d.block(b.String())
	d.lastSeen = r
	return nil
}

// pass runs one `keyless rotate run` pass on day, prints its report and
// checks the invariants: at most two keys, the key AWSCURRENT holds works,
// and the deployment variables hold it.
func (d *rotateDemo) pass(ctx context.Context, day int, why string) (*rotate.Report, error) {
	if err := d.at(day); err != nil {
		return nil, err
	}
	d.say("%s: keyless rotate run — %s", d.dayTitle(day), why)
	r, err := d.engine.Run(ctx, d.user)
	if r == nil {
		return nil, fmt.Errorf("demo rotate: rotate run: %w", err)
	}
	if err := d.report("run", r); err != nil {
		return nil, err
	}
	d.expect(r.Error == "", "the pass finished without an error")
	return r, d.invariants(ctx)
}

// invariants checks what holds after every pass.
func (d *rotateDemo) invariants(ctx context.Context) error {
	keys, err := d.keys(ctx)
	if err != nil {
		return err
	}
	cur, err := d.staged(ctx, "AWSCURRENT")
	if err != nil {
		return err
	}
	arn, callErr := d.callerIdentity(ctx, cur)
	vars, err := d.stepVariables(ctx)
	if err != nil {
		return err
	}
	d.expect(len(keys) <= demoRotateMaxKeys && callErr == nil && strings.HasSuffix(arn, ":user/"+demoRotateUser) &&
		vars["AWS_ACCESS_KEY_ID"] == cur.AccessKeyID && vars["AWS_SECRET_ACCESS_KEY"] == cur.SecretAccessKey,
		"invariants: %d key(s), at most %d; AWSCURRENT's key %s works; the deployment variables hold it", len(keys), demoRotateMaxKeys, cur.AccessKeyID)
	return nil
}

// keys returns the user's access keys: ID → active.
func (d *rotateDemo) keys(ctx context.Context) (map[string]bool, error) {
	out, err := d.iam.ListAccessKeys(ctx, &iam.ListAccessKeysInput{UserName: aws.String(demoRotateUser)})
	if err != nil {
		return nil, fmt.Errorf("demo rotate: list the access keys: %w", err)
	}
	keys := map[string]bool{}
	for _, k := range out.AccessKeyMetadata {
		keys[aws.ToString(k.AccessKeyId)] = k.Status == iamtypes.StatusTypeActive
	}
	return keys, nil
}

// staged returns the key a staging label of the secret holds (none: empty).
func (d *rotateDemo) staged(ctx context.Context, stage string) (target.Credentials, error) {
	out, err := d.sm.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(demoRotateSecret), VersionStage: aws.String(stage)})
	if err != nil {
		var ae smithy.APIError
		if errors.As(err, &ae) && ae.ErrorCode() == "ResourceNotFoundException" {
			return target.Credentials{}, nil
		}
		return target.Credentials{}, fmt.Errorf("demo rotate: read %s of secret %s: %w", stage, demoRotateSecret, err)
	}
	var v struct{ AccessKeyId, SecretAccessKey string }
	if err := json.Unmarshal([]byte(aws.ToString(out.SecretString)), &v); err != nil {
		return target.Credentials{}, fmt.Errorf("demo rotate: %s of secret %s is not an access key as JSON", stage, demoRotateSecret)
	}
	return target.Credentials{AccessKeyID: v.AccessKeyId, SecretAccessKey: v.SecretAccessKey}, nil
}

// stepVariables returns what a deployment step of the environment gets, read
// as `keyless token mint --print-env` reads it: the runner's step variables.
func (d *rotateDemo) stepVariables(ctx context.Context) (map[string]string, error) {
	vars, err := bitbucket.FetchStepVariables(ctx, &http.Client{Timeout: 30 * time.Second}, d.endpoint, d.runner, demoRotateWorkspace, demoRotateRepo, demoRotateEnv)
	if err != nil {
		return nil, fmt.Errorf("demo rotate: read the step's variables: %w", err)
	}
	m := map[string]string{}
	for _, v := range vars {
		m[v.Key] = v.Value
	}
	return m, nil
}

// keyReport returns key id as the last report shows it.
func (d *rotateDemo) keyReport(id string) (rotate.KeyReport, bool) {
	if d.lastSeen == nil {
		return rotate.KeyReport{}, false
	}
	i := slices.IndexFunc(d.lastSeen.Keys, func(k rotate.KeyReport) bool { return k.ID == id })
	if i < 0 {
		return rotate.KeyReport{}, false
	}
	return d.lastSeen.Keys[i], true
}

func hasStep(r *rotate.Report, step rotate.Step, key string) bool {
	return slices.ContainsFunc(r.Actions, func(a rotate.ActionReport) bool {
		return a.Step == step && (key == "" || a.Key == key) && a.Error == ""
	})
}

func (d *rotateDemo) planRotation(ctx context.Context) error {
	if err := d.at(dayRotate); err != nil {
		return err
	}
	d.say("%s: keyless rotate plan — what a pass would do now, and why", d.dayTitle(dayRotate))
	r, err := d.engine.Plan(ctx, d.user)
	if r == nil {
		return fmt.Errorf("demo rotate: rotate plan: %w", err)
	}
	if err := d.report("plan", r); err != nil {
		return err
	}
	d.expect(hasStep(r, rotate.StepCreateKey, "") && hasStep(r, rotate.StepPromote, "") && r.Changes(),
		"key %s is past the rotate age of %s: the plan creates, verifies and promotes a new key (exit status 2 for `keyless rotate plan`)", d.oldID, demoAge(d.ages.Rotate))
	return nil
}

func (d *rotateDemo) runRotation(ctx context.Context) error {
	r, err := d.pass(ctx, dayRotate, "the rotation")
	if err != nil {
		return err
	}
	d.newID = r.Current
	if d.newID == "" || d.newID == d.oldID {
		d.expect(false, "a new key is AWSCURRENT (it holds %q)", r.Current)
		return nil
	}
	d.detail("The pass took seed 004's steps as one state machine, recording each on the secret before the next.")
	d.detail("First it adopted what seed 004 left: no push to the deployment variables was recorded, so it")
	d.detail("wrote the key AWSCURRENT held, %s, there and recorded that. Then it created %s,", d.oldID, d.newID)
	d.detail("stored it as AWSPENDING, verified it with sts:GetCallerIdentity, promoted it to AWSCURRENT")
	d.detail("(%s became AWSPREVIOUS) and wrote it into the deployment variables.", d.oldID)
	keys, err := d.keys(ctx)
	if err != nil {
		return err
	}
	prev, err := d.staged(ctx, "AWSPREVIOUS")
	if err != nil {
		return err
	}
	d.expect(len(keys) == 2 && keys[d.newID] && hasStep(r, rotate.StepVerify, d.newID) && hasStep(r, rotate.StepPromote, d.newID),
		"new key %s created, verified and promoted to AWSCURRENT", d.newID)
	d.expect(prev.AccessKeyID == d.oldID, "AWSPREVIOUS holds the old key %s", d.oldID)
	d.expect(len(r.Targets) == 1 && r.Targets[0].State == rotate.TargetInSync && r.Targets[0].Holds == d.newID,
		"%s holds %s", d.user.Targets[0].Name(), d.newID)
	d.expect(keys[d.oldID], "the old key %s stays active: whoever has not picked up %s yet keeps working", d.oldID, d.newID)
	return nil
}

// deployStep is a deployment step of the environment on day: it reads its
// variables as `keyless token mint --print-env` gives them, and calls AWS with
// them. Before the rotation they hold the first key, after it the new one.
func (d *rotateDemo) deployStep(ctx context.Context, day int) error {
	if err := d.at(day); err != nil {
		return err
	}
	want := d.newID
	if want == "" {
		want = d.oldID
	}
	d.say("%s: a deployment step of %s/%s to %s runs", d.dayTitle(day), demoRotateWorkspace, demoRotateRepo, demoRotateEnv)
	mc, err := issuer.NewClient(d.endpoint, d.runner, issuer.ClientOptions{})
	if err != nil {
		return fmt.Errorf("demo rotate: %w", err)
	}
	tok, err := mc.Mint(ctx, issuer.MintRequest{Workspace: demoRotateWorkspace, Repository: demoRotateRepo, Environment: demoRotateEnv, Branch: "main"})
	if err != nil {
		return fmt.Errorf("demo rotate: mint the step token: %w", err)
	}
	vars, err := bitbucket.FetchStepVariables(ctx, &http.Client{Timeout: 30 * time.Second}, d.endpoint, d.runner, demoRotateWorkspace, demoRotateRepo, demoRotateEnv)
	if err != nil {
		return fmt.Errorf("demo rotate: read the step's variables: %w", err)
	}
	d.detail("its environment, as `keyless token mint --print-env` prints it:")
	d.detail("  BITBUCKET_STEP_OIDC_TOKEN  the step token (sub %s)", tok.Claims.Subject)
	var creds target.Credentials
	for _, v := range vars {
		switch {
		case v.Secured:
			d.detail("  %-25s  secured %s variable (%d characters, not shown)", v.Key, v.Scope, len(v.Value))
		default:
			d.detail("  %-25s  %s (%s variable)", v.Key, v.Value, v.Scope)
		}
		switch v.Key {
		case "AWS_ACCESS_KEY_ID":
			creds.AccessKeyID = v.Value
		case "AWS_SECRET_ACCESS_KEY":
			creds.SecretAccessKey = v.Value
		}
	}
	arn, err := d.callerIdentity(ctx, creds)
	if err != nil {
		d.detail("aws sts get-caller-identity: %v", err)
	} else {
		d.detail("aws sts get-caller-identity: %s", arn)
	}
	what := "the key seed 004 put there"
	if want == d.newID {
		what = "the rotated key"
	}
	d.expect(creds.AccessKeyID == want && err == nil && strings.HasSuffix(arn, ":user/"+demoRotateUser),
		"the step deploys as %s with %s, %s", demoRotateUser, what, want)
	return nil
}

// oldKeyUsed: the report job calls AWS with the old key, and IAM records it.
func (d *rotateDemo) oldKeyUsed(ctx context.Context) error {
	if err := d.at(dayOldKeyUsed); err != nil {
		return err
	}
	d.say("%s: the nightly report job still runs with the old key %s", d.dayTitle(dayOldKeyUsed), d.oldID)
	arn, err := d.callerIdentity(ctx, d.jobKey)
	if err != nil {
		d.detail("sts:GetCallerIdentity with %s: %v", d.oldID, err)
	} else {
		d.detail("sts:GetCallerIdentity with %s: %s", d.oldID, arn)
	}
	d.expect(err == nil, "the old key still works: it is active")
	lu, err := d.iam.GetAccessKeyLastUsed(ctx, &iam.GetAccessKeyLastUsedInput{AccessKeyId: aws.String(d.oldID)})
	if err != nil {
		return fmt.Errorf("demo rotate: GetAccessKeyLastUsed: %w", err)
	}
	last := lu.AccessKeyLastUsed
	if last == nil || last.LastUsedDate == nil {
		d.expect(false, "IAM records the use of %s (GetAccessKeyLastUsed shows none)", d.oldID)
		return nil
	}
	d.detail("iam:GetAccessKeyLastUsed(%s): %s, service %s, region %s", d.oldID,
		last.LastUsedDate.UTC().Format(time.RFC3339), aws.ToString(last.ServiceName), aws.ToString(last.Region))
	d.expect(d.clock.day(*last.LastUsedDate) == dayOldKeyUsed, "IAM records the use on day %d: what the rotation measures \"unused\" by", dayOldKeyUsed)
	return nil
}

func (d *rotateDemo) oldKeyActive(ctx context.Context) (active, exists bool, err error) {
	keys, err := d.keys(ctx)
	if err != nil {
		return false, false, err
	}
	active, exists = keys[d.oldID]
	return active, exists, nil
}

func (d *rotateDemo) watched(ctx context.Context) error {
	r, err := d.pass(ctx, dayWatched, fmt.Sprintf("the old key reaches its deactivate age (%s)", demoAge(d.ages.Deactivate)))
	if err != nil {
		return err
	}
	watch := d.ages.Deactivate - d.ages.Rotate
	d.detail("Deactivation waits for the key to be past its deactivate age AND unused since every target got %s:", d.newID)
	d.detail("age alone is a guess. The old key is watched for %s after the rotation, and it was used on day %d.", demoAge(watch), dayOldKeyUsed)
	active, _, err := d.oldKeyActive(ctx)
	if err != nil {
		return err
	}
	k, _ := d.keyReport(d.oldID)
	d.expect(active && !hasStep(r, rotate.StepDeactivate, d.oldID) && strings.HasPrefix(k.Note, "kept"),
		"%s is %d days old and kept active", d.oldID, dayWatched)
	return nil
}

func (d *rotateDemo) stillInUse(ctx context.Context) error {
	r, err := d.pass(ctx, dayStillInUse, "the watch is over, but the old key was used after the rotation")
	if err != nil {
		return err
	}
	active, _, err := d.oldKeyActive(ctx)
	if err != nil {
		return err
	}
	k, _ := d.keyReport(d.oldID)
	d.expect(active && !hasStep(r, rotate.StepDeactivate, d.oldID) && strings.Contains(k.Note, "still in use"),
		"%s is kept: GetAccessKeyLastUsed shows a use on day %d, after the rotation — the report says when, by which service and where", d.oldID, dayOldKeyUsed)
	return nil
}

// jobMoved: the report job's owner, told by the report, moves it to the key
// the secret holds.
func (d *rotateDemo) jobMoved(ctx context.Context) error {
	if err := d.at(dayJobMoved); err != nil {
		return err
	}
	d.say("%s: the report job's owner reads the report and moves the job to the secret", d.dayTitle(dayJobMoved))
	cur, err := d.staged(ctx, "AWSCURRENT")
	if err != nil {
		return err
	}
	d.jobKey = cur
	arn, err := d.callerIdentity(ctx, d.jobKey)
	if err != nil {
		d.detail("sts:GetCallerIdentity with %s: %v", cur.AccessKeyID, err)
	} else {
		d.detail("the job now reads %s's AWSCURRENT when it starts: %s, and sts:GetCallerIdentity gives %s", demoRotateSecret, cur.AccessKeyID, arn)
	}
	d.expect(err == nil && cur.AccessKeyID == d.newID, "the job runs with %s; nothing uses %s any more", d.newID, d.oldID)
	return nil
}

func (d *rotateDemo) deactivate(ctx context.Context) error {
	watch := d.ages.Deactivate - d.ages.Rotate
	r, err := d.pass(ctx, dayDeactivate, fmt.Sprintf("the old key has been unused for %d days, more than the %s watch", dayDeactivate-dayOldKeyUsed, demoAge(watch)))
	if err != nil {
		return err
	}
	active, exists, err := d.oldKeyActive(ctx)
	if err != nil {
		return err
	}
	d.expect(exists && !active && hasStep(r, rotate.StepDeactivate, d.oldID), "%s is deactivated, not deleted: it can be made active again if something breaks", d.oldID)
	_, callErr := d.callerIdentity(ctx, d.oldKey)
	var ae smithy.APIError
	refused := errors.As(callErr, &ae) && ae.ErrorCode() == "InvalidClientTokenId"
	if refused {
		d.detail("a call signed with %s now gets %s", d.oldID, ae.ErrorCode())
	}
	d.expect(refused, "AWS refuses the inactive key")
	return nil
}

func (d *rotateDemo) grace(ctx context.Context) error {
	grace := d.ages.Delete - d.ages.Deactivate
	r, err := d.pass(ctx, dayGrace, fmt.Sprintf("the old key is past its delete age (%s), but inactive for %d days only", demoAge(d.ages.Delete), dayGrace-dayDeactivate))
	if err != nil {
		return err
	}
	d.detail("An inactive key is deleted once it is past its delete age AND has been inactive for %s (delete − deactivate age).", demoAge(grace))
	active, exists, err := d.oldKeyActive(ctx)
	if err != nil {
		return err
	}
	d.expect(exists && !active && !hasStep(r, rotate.StepDelete, d.oldID), "%s is kept, inactive, until day %d", d.oldID, dayDeactivate+int(grace/provision.Day))
	return nil
}

func (d *rotateDemo) deleteOld(ctx context.Context) error {
	r, err := d.pass(ctx, dayDelete, "the old key has been inactive for its grace period")
	if err != nil {
		return err
	}
	keys, err := d.keys(ctx)
	if err != nil {
		return err
	}
	_, exists := keys[d.oldID]
	d.expect(!exists && hasStep(r, rotate.StepDelete, d.oldID), "%s is deleted", d.oldID)
	d.expect(len(keys) == 1 && keys[d.newID] && r.Current == d.newID, "%s has one key, %s, which AWSCURRENT and the deployment variables hold", demoRotateUser, d.newID)
	return nil
}

func (d *rotateDemo) status(ctx context.Context) error {
	d.say("%s: keyless rotate status", d.dayTitle(dayDelete))
	r, err := d.engine.Status(ctx, d.user)
	if r == nil {
		return fmt.Errorf("demo rotate: rotate status: %w", err)
	}
	if err := d.report("status", r); err != nil {
		return err
	}
	k, _ := d.keyReport(d.newID)
	d.expect(len(r.Actions) == 0 && k.Role == rotate.RoleCurrent, "nothing to do until %s is %s old, on day %d", d.newID, demoAge(d.ages.Rotate), dayRotate+int(d.ages.Rotate/provision.Day))
	return nil
}
