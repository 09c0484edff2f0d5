package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/keyless-dev/keyless/arn"
	"github.com/keyless-dev/keyless/awsconfig"
	"github.com/keyless-dev/keyless/internal/server"
	"github.com/keyless-dev/keyless/provision"
	"github.com/keyless-dev/keyless/rotate"
	"github.com/keyless-dev/keyless/rotate/daemon"
	"github.com/keyless-dev/keyless/rotate/target"
)

// EnvRotateCrashAt names a crash point ("before:STEP" or "after:STEP", see
// rotate.CrashPoints) at which `keyless rotate` kills itself with SIGKILL: the
// fault-injection tests' hook. Never set it anywhere else.
const EnvRotateCrashAt = "KEYLESS_ROTATE_CRASH_AT"

const rotateLong = `Rotate the static IAM access keys of users that cannot use OpenID Connect yet, keep
the live key in an AWS Secrets Manager secret, and push every new key into CI
variables (Bitbucket Pipelines, GitHub Actions, GitLab CI/CD), as keyless.yaml's
rotation: section says.

A rotation creates the new key, stores it as the secret's AWSPENDING version,
verifies it with sts:GetCallerIdentity, promotes it to AWSCURRENT, and pushes it to
every target. The old key is deactivated once it is past its deactivate age and
unused since every target got the new key, and deleted once inactive past its
delete age; a user never gets a third key. If no target takes the new key it is
rolled back; if some do, both keys stay active and the failing targets are
reported.

Every step is recorded in IAM and the secret (its staging labels and a few
keyless:rotation:* tags) before the next is taken, so a pass killed at any point
resumes correctly on the next one: run "keyless rotate run" from a schedule, or
"keyless rotate daemon". Passes over one user must not overlap.

AWS credentials and endpoint come as for "keyless plan" (the SDK's sources, or a
sourced keyless up env file). CI tokens come from the environment only:
BITBUCKET_TOKEN (or BITBUCKET_USERNAME and BITBUCKET_APP_PASSWORD), GITHUB_TOKEN,
GITLAB_TOKEN. No secret value is ever printed or logged.`

const rotationExample = `  # keyless.yaml
  rotation:
    ages: {rotate: 90d, deactivate: 100d, delete: 110d}
    users:
      - user: ci-legacy
        secret: ci/legacy-deployer
        targets:
          - {type: bitbucket, workspace: acme, repository: web, deployment: production}
          - {type: github, repository: acme/tools}
          - {type: gitlab, project: acme/api, protected: true, environment_scope: production}`

// rotateFlags are the flags every rotate command shares.
type rotateFlags struct {
	file   string
	user   string
	output string
}

func (f *rotateFlags) register(fs *pflag.FlagSet) {
	fs.StringVarP(&f.file, "file", "f", "keyless.yaml", "the config with the rotation section")
	fs.StringVar(&f.user, "user", "", "only this IAM user (default every user of the config)")
	fs.StringVar(&f.output, "output", "text", "output: text or json")
}

// newRotateCmd builds "keyless rotate".
func newRotateCmd(s Streams) *cobra.Command {
	var f rotateFlags
	cmd := &cobra.Command{
		Use:   "rotate",
		Short: "Rotate static IAM access keys and sync them into CI variables",
		Long:  rotateLong,
		Example: `  keyless rotate plan
  keyless rotate run --user ci-legacy
  keyless rotate status --output json
  keyless rotate sync
  keyless rotate daemon --interval 10m --data .keyless

` + rotationExample,
	}
	f.register(cmd.PersistentFlags())

	var dryRun bool
	plan := &cobra.Command{
		Use:   "plan",
		Short: "Show what run would do now and why",
		Long: `Read each user's keys (with their last use), secret and targets, and show the steps
"keyless rotate run" would take now, each with its reason, changing nothing.

Exit status: 0 when nothing would change, 2 when something would, 1 on error.`,
		Example: "  keyless rotate plan\n  keyless rotate plan --user ci-legacy --output json",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return rotateEach(cmd.Context(), s, f, "plan", func(ctx context.Context, e *rotate.Engine, u rotate.User) (*rotate.Report, error) {
				return e.Plan(ctx, u)
			})
		},
	}
	run := &cobra.Command{
		Use:   "run",
		Short: "Run one rotation pass: idempotent, safe to repeat every few minutes",
		Long: `Take every step that is due for each user, in order: finish what an interrupted
pass left, promote a verified new key, push the current key to targets that lack
it, record the rotation, deactivate and delete old keys whose time has come, and
start a rotation when the current key is past its rotate age.

Exit status: 0 when every user is done and every target holds its key, 1 when a
step failed or a target is failing (the report says which and why). With
--dry-run, the same as "keyless rotate plan".`,
		Example: "  keyless rotate run\n  keyless rotate run --user ci-legacy --dry-run",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			verb, fn := "run", func(ctx context.Context, e *rotate.Engine, u rotate.User) (*rotate.Report, error) {
				return e.Run(ctx, u)
			}
			if dryRun {
				verb, fn = "plan", func(ctx context.Context, e *rotate.Engine, u rotate.User) (*rotate.Report, error) {
					return e.Plan(ctx, u)
				}
			}
			return rotateEach(cmd.Context(), s, f, verb, fn)
		},
	}
	run.Flags().BoolVar(&dryRun, "dry-run", false, "show the steps without taking them")
	status := &cobra.Command{
		Use:   "status",
		Short: "Show each user's keys, secret and targets",
		Long: `Show, per user, the access keys with their age, state and last use, which key the
secret's AWSCURRENT holds, each target's state (in-sync, stale, failing with the
error, or unknown for a target keyless never wrote that cannot be read back), and
the next step "keyless rotate run" would take.`,
		Example: "  keyless rotate status\n  keyless rotate status --output json",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return rotateEach(cmd.Context(), s, f, "status", func(ctx context.Context, e *rotate.Engine, u rotate.User) (*rotate.Report, error) {
				return e.Status(ctx, u)
			})
		},
	}
	var syncDry bool
	sync := &cobra.Command{
		Use:   "sync",
		Short: "Push the key the secret holds into every target",
		Long: `Write the key the secret's AWSCURRENT version holds into every target of each user,
whether or not it holds it already, and record the results: what to run after
putting a key into the secret by hand.

Exit status: 0 when every target took it, 1 otherwise.`,
		Example: "  keyless rotate sync\n  keyless rotate sync --user ci-legacy --dry-run",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return rotateEach(cmd.Context(), s, f, "sync", func(ctx context.Context, e *rotate.Engine, u rotate.User) (*rotate.Report, error) {
				return e.Sync(ctx, u, syncDry)
			})
		},
	}
	sync.Flags().BoolVar(&syncDry, "dry-run", false, "show the targets without writing them")
	cmd.AddCommand(plan, run, status, sync, newRotateDaemonCmd(s, &f))
	return cmd
}

// newRotateDaemonCmd builds "keyless rotate daemon".
func newRotateDaemonCmd(s Streams, f *rotateFlags) *cobra.Command {
	var (
		interval     time.Duration
		dataDir, dsn string
	)
	cmd := &cobra.Command{
		Use:   "daemon",
		Short: "Run rotation passes on a schedule",
		Long: `Run "keyless rotate run" for every user every --interval until stopped (SIGINT or
SIGTERM). The rotation's state is in IAM and the secrets, so a restarted daemon
resumes where the last pass stopped.

With a keyless store (--data DIR of keyless up, or --store DSN of its PostgreSQL
store), replicas take turns through a lease in the store, renewed while a pass
runs: only one runs a pass at a time, and each pass's outcome is kept in the
store. Without one, replicas do not coordinate: run a single daemon.`,
		Example: "  keyless rotate daemon\n  keyless rotate daemon --interval 10m --data .keyless",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if interval < time.Minute {
				return fmt.Errorf("rotate daemon: --interval %s is too short: use 1m or more", interval)
			}
			if f.output != "text" && f.output != "json" {
				return fmt.Errorf("rotate daemon: invalid --output %q: use text or json", f.output)
			}
			ctx := cmd.Context()
			log := slog.New(slog.NewTextHandler(s.Err, nil))
			env, err := newRotateEnv(ctx, *f, log)
			if err != nil {
				return fmt.Errorf("rotate daemon: %w", err)
			}
			d := &daemon.Daemon{Interval: interval, Logger: log}
			if dataDir != "" || dsn != "" {
				st, err := server.OpenExistingStore(ctx, dataDir, dsn)
				if err != nil {
					return fmt.Errorf("rotate daemon: %w", err)
				}
				defer st.Close()
				d.Lease = &daemon.Lease{Store: st, Holder: daemon.NewHolder()}
			}
			d.Pass = func(ctx context.Context) ([]*rotate.Report, error) {
				var reports []*rotate.Report
				for _, u := range env.users {
					r, _ := env.engine(u).Run(ctx, u)
					reports = append(reports, r)
					if ctx.Err() != nil {
						return reports, context.Cause(ctx)
					}
				}
				if err := writeRotateReports(s.Out, f.output, "run", reports); err != nil {
					return reports, err
				}
				return reports, nil
			}
			return d.Serve(ctx)
		},
	}
	cmd.Flags().DurationVar(&interval, "interval", 5*time.Minute, "time between the end of a pass and the next")
	cmd.Flags().StringVar(&dataDir, "data", "", "data directory of keyless up whose store holds the lease")
	cmd.Flags().StringVar(&dsn, "store", "", "PostgreSQL DSN of keyless up's store that holds the lease")
	return cmd
}

// rotateEnv is what every rotate command works with: the users, built, and an
// engine per Secrets Manager region.
type rotateEnv struct {
	cfg     aws.Config
	users   []rotate.User
	engines map[string]*rotate.Engine
	log     *slog.Logger
	hook    func(string)
}

// newRotateEnv loads the config, builds the targets (reading their tokens) and
// the AWS clients.
func newRotateEnv(ctx context.Context, f rotateFlags, log *slog.Logger) (*rotateEnv, error) {
	hook, err := crashHook(os.Getenv(EnvRotateCrashAt))
	if err != nil {
		return nil, err
	}
	spec, err := provision.Load(f.file)
	if err != nil {
		return nil, err
	}
	if spec.Rotation == nil {
		return nil, fmt.Errorf("%s has no rotation section: add one, e.g.\n%s", f.file, rotationExample)
	}
	configs := rotate.Configs(spec.Rotation)
	if f.user != "" {
		i := slices.IndexFunc(configs, func(c rotate.UserConfig) bool { return strings.EqualFold(c.Name, f.user) })
		if i < 0 {
			var names []string
			for _, c := range configs {
				names = append(names, c.Name)
			}
			return nil, fmt.Errorf("--user %s is not in %s: its users are %s", f.user, f.file, strings.Join(names, ", "))
		}
		configs = configs[i : i+1]
	}
	env := &rotateEnv{engines: map[string]*rotate.Engine{}, log: log, hook: hook}
	for _, c := range configs {
		u, err := c.Build(target.Options{Getenv: os.Getenv, Logger: log})
		if err != nil {
			return nil, err
		}
		env.users = append(env.users, u)
	}
	if env.cfg, err = awsconfig.Load(ctx, os.Getenv); err != nil {
		return nil, err
	}
	return env, nil
}

// engine returns the engine for u: its secret's region when named by ARN.
func (env *rotateEnv) engine(u rotate.User) *rotate.Engine {
	region := env.cfg.Region
	if a, err := arn.Parse(u.Secret); err == nil && a.Region() != "" {
		region = a.Region()
	}
	if e, ok := env.engines[region]; ok {
		return e
	}
	cfg := env.cfg.Copy()
	cfg.Region = region
	e := &rotate.Engine{
		IAM:     iam.NewFromConfig(env.cfg),
		Secrets: secretsmanager.NewFromConfig(cfg),
		Verify:  rotate.STSVerifier(env.cfg),
		Logger:  env.log,
		Hook:    env.hook,
	}
	env.engines[region] = e
	return e
}

// crashHook turns KEYLESS_ROTATE_CRASH_AT into a hook that SIGKILLs this
// process at that point.
func crashHook(point string) (func(string), error) {
	if point == "" {
		return nil, nil
	}
	if !slices.Contains(rotate.CrashPoints(), point) {
		return nil, fmt.Errorf("%s=%q is not a crash point: use before:STEP or after:STEP with a step of %v", EnvRotateCrashAt, point, rotate.Steps())
	}
	return func(p string) {
		if p != point {
			return
		}
		self, err := os.FindProcess(os.Getpid())
		if err == nil {
			err = self.Kill()
		}
		if err == nil {
			select {} // the signal is on its way
		}
		os.Exit(137)
	}, nil
}

// rotateEach runs fn for every user, writes the reports and sets the exit
// status: verb "plan" exits 2 when something would change; "run" and "sync"
// exit 1 when a user failed.
func rotateEach(ctx context.Context, s Streams, f rotateFlags, verb string, fn func(context.Context, *rotate.Engine, rotate.User) (*rotate.Report, error)) error {
	if f.output != "text" && f.output != "json" {
		return fmt.Errorf("rotate %s: invalid --output %q: use text or json", verb, f.output)
	}
	env, err := newRotateEnv(ctx, f, slog.New(slog.NewTextHandler(s.Err, &slog.HandlerOptions{Level: slog.LevelWarn})))
	if err != nil {
		return fmt.Errorf("rotate %s: %w", verb, err)
	}
	var reports []*rotate.Report
	failed, changes := false, false
	for _, u := range env.users {
		r, err := fn(ctx, env.engine(u), u)
		if r == nil {
			return fmt.Errorf("rotate %s: %w", verb, err)
		}
		reports = append(reports, r)
		failed = failed || r.Failed()
		changes = changes || r.Changes()
	}
	if err := writeRotateReports(s.Out, f.output, verb, reports); err != nil {
		return err
	}
	switch {
	case failed && verb != "plan" && verb != "status" || slices.ContainsFunc(reports, func(r *rotate.Report) bool { return r.Error != "" }):
		return &ExitError{Code: 1}
	case changes && verb == "plan":
		return &ExitError{Code: 2}
	}
	return nil
}

// writeRotateReports prints the reports as JSON (an array) or as text.
func writeRotateReports(w io.Writer, output, verb string, reports []*rotate.Report) error {
	if output == "json" {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		if reports == nil {
			reports = []*rotate.Report{}
		}
		return enc.Encode(reports)
	}
	for i, r := range reports {
		if i > 0 {
			fmt.Fprintln(w)
		}
		if err := writeRotateText(w, verb, r); err != nil {
			return err
		}
	}
	return nil
}

func writeRotateText(w io.Writer, verb string, r *rotate.Report) error {
	secret := r.Secret
	if r.SecretARN != "" && r.SecretARN != r.Secret {
		secret += " (" + r.SecretARN + ")"
	}
	fmt.Fprintf(w, "user %s, secret %s\n", r.User, secret)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	if len(r.Keys) == 0 {
		fmt.Fprintln(tw, "  keys:\tnone")
	} else {
		fmt.Fprintln(tw, "  KEY\tROLE\tSTATE\tAGE\tLAST USED")
	}
	for _, k := range r.Keys {
		state := "active"
		if !k.Active {
			state = "inactive"
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%dd\t%s\n", k.ID, k.Role, state, k.AgeDays, lastUsed(k))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, k := range r.Keys {
		if k.Note != "" {
			fmt.Fprintf(w, "  %s: %s\n", k.ID, k.Note)
		}
	}
	if r.SyncedAt != nil {
		fmt.Fprintf(w, "  every target got %s at %s\n", r.Current, r.SyncedAt.Format(time.RFC3339))
	}
	if len(r.Targets) > 0 {
		tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "  TARGET\tSTATE\tHOLDS\tERROR")
		for _, t := range r.Targets {
			holds := t.Holds
			if holds == "" {
				holds = "-"
			}
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\n", t.Name, t.State, holds, t.Error)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	heading := map[string]string{"plan": "plan", "run": "done", "sync": "done", "status": "next"}[verb]
	if len(r.Actions) == 0 {
		if verb == "plan" || verb == "status" {
			fmt.Fprintln(w, "  nothing to do")
		}
	} else {
		fmt.Fprintf(w, "  %s:\n", heading)
	}
	for _, a := range r.Actions {
		line := "    " + a.Description
		if a.Reason != "" {
			line += ": " + a.Reason
		}
		if a.Error != "" {
			line += "\n      FAILED: " + a.Error
		}
		fmt.Fprintln(w, line)
	}
	if r.Blocked != "" {
		fmt.Fprintf(w, "  waiting: %s\n", r.Blocked)
	}
	for _, warn := range r.Warnings {
		fmt.Fprintf(w, "  warning: %s\n", warn)
	}
	if r.Error != "" {
		fmt.Fprintf(w, "  error: %s\n", r.Error)
	}
	return nil
}

func lastUsed(k rotate.KeyReport) string {
	if k.LastUsed == nil {
		return "never"
	}
	s := k.LastUsed.Format(time.RFC3339)
	var where []string
	if k.LastUsedService != "" {
		where = append(where, k.LastUsedService)
	}
	if k.LastUsedRegion != "" {
		where = append(where, k.LastUsedRegion)
	}
	if len(where) > 0 {
		s += " (" + strings.Join(where, ", ") + ")"
	}
	return s
}
