// Package run runs the steps of a Bitbucket pipeline (package pipeline) on the
// host against the local stack of `keyless up`: each step in a fresh copy of
// the repository, with the environment Bitbucket gives a step (BITBUCKET_*
// variables, the step's OIDC token with `oidc: true`, the pipeline variables of
// the local Bitbucket variables API, secured ones masked in the log), its script
// through bash, and the Atlassian AWS pipes through keyless's implementations.
//
// Choices a user can see:
//
//   - Each step has a fresh, empty HOME, as a step's container has: nothing the
//     host or an earlier step keeps there (~/.aws, the AWS CLI's credential
//     cache) reaches it.
//   - The working copy of a step is a copy of Runner.Source (the directory of the
//     pipeline file) without .git and without the directories of Runner.Exclude
//     (the data directory of keyless up, whose env file holds root credentials).
//     Symbolic links are copied as links; other special files are left out.
//   - The shell commands between two pipes run in one `bash -e` process, each
//     echoed as "+ command" before it runs, as Bitbucket's log shows them; the
//     state of the shell (cd, export) does not carry across a pipe.
//   - The steps of a parallel group run one after the other; all of them run even
//     when one fails, as on Bitbucket, and the pipeline then stops.
//   - Steps with `trigger: manual` run without waiting.
//   - `image`, `services`, `caches` and `size` are reported and otherwise ignored.
package run

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/keyless-dev/keyless/bitbucket"
	"github.com/keyless-dev/keyless/issuer"
	"github.com/keyless-dev/keyless/pipeline"
)

// Step outcomes, StepResult.Status.
const (
	Passed  = "passed"
	Failed  = "failed"
	NotRun  = "not run"
	Skipped = "skipped"
)

// Runner runs pipelines. Mint and Variables are required; the others have
// defaults or are optional.
type Runner struct {
	// Workspace and Repository are the slugs the steps run for.
	Workspace, Repository string
	// Branch (default main) and Commit (omitted when empty) are
	// BITBUCKET_BRANCH and BITBUCKET_COMMIT.
	Branch, Commit string
	// BuildNumber is BITBUCKET_BUILD_NUMBER (default 1).
	BuildNumber int
	// Source is the directory each step gets a fresh copy of.
	Source string
	// Image is the file's default image (reported, not run).
	Image string
	// Exclude are absolute directories under Source left out of the copies.
	Exclude []string
	// Env is the environment every step starts from: the host's (PATH, HOME, …)
	// and the local stack's (AWS_ENDPOINT_URL…), as KEY=VALUE.
	Env []string
	// Mint mints a step token (issuer.Client.Mint). Every step gets one, for the
	// UUIDs of its BITBUCKET_* variables; only a step with `oidc: true` sees it.
	Mint func(ctx context.Context, req issuer.MintRequest) (issuer.Token, error)
	// Variables returns the pipeline variables of a step (bitbucket.FetchStepVariables).
	Variables func(ctx context.Context, workspace, repository, environment string) ([]bitbucket.StepVariable, error)
	// Pipe runs a supported pipe, by keyless name (aws-s3-deploy,
	// aws-cloudfront-invalidate), with env in dir, writing its log to out.
	Pipe func(ctx context.Context, name string, env []string, dir string, out io.Writer) error
	// Explain says why STS refuses token for roleARN (package explain); nil
	// leaves denials unexplained.
	Explain func(ctx context.Context, roleARN, token string) (string, error)
	// Shell is the bash to run scripts with (default "bash" on PATH).
	Shell string
	// Out receives the log (default io.Discard).
	Out io.Writer
	// Now and NewUUID replace the clock and the UUID source (tests).
	Now     func() time.Time
	NewUUID func() string

	// custom are the custom pipeline's variables of the run (Options.Variables
	// resolved by PipelineVariables).
	custom [][2]string
}

// Result is the outcome of a pipeline.
type Result struct {
	// OK is true when every step that ran passed.
	OK           bool         `json:"ok"`
	PipelineUUID string       `json:"pipelineUuid"`
	Steps        []StepResult `json:"steps"`
}

// StepResult is the outcome of one step.
type StepResult struct {
	Name        string        `json:"name"`
	Stage       string        `json:"stage,omitempty"`
	Deployment  string        `json:"deployment,omitempty"`
	Image       string        `json:"image,omitempty"`
	OIDC        bool          `json:"oidc"`
	StepUUID    string        `json:"stepUuid,omitempty"`
	Status      string        `json:"status"`
	Duration    time.Duration `json:"-"`
	Seconds     float64       `json:"seconds"`
	ExitCode    int           `json:"exitCode"`
	Role        string        `json:"role,omitempty"`
	Error       string        `json:"error,omitempty"`
	Explanation string        `json:"explanation,omitempty"`
}

// Options select what Run runs.
type Options struct {
	// Step, when set, runs only the steps of that name.
	Step string
	// Variables are the values given for a custom pipeline's `variables:`
	// (--var NAME=VALUE), as Bitbucket's "Run pipeline" form takes them; the
	// declared ones not given take their `default:`. Every step gets them,
	// after the workspace, repository and deployment variables.
	Variables map[string]string
}

// Supported maps the Atlassian pipes keyless runs to its implementations.
var supported = map[string]string{
	"atlassian/aws-s3-deploy":             "aws-s3-deploy",
	"atlassian/aws-cloudfront-invalidate": "aws-cloudfront-invalidate",
}

// SupportedPipes lists the pipes Run supports, sorted.
func SupportedPipes() []string {
	l := make([]string, 0, len(supported))
	for k := range supported {
		l = append(l, k)
	}
	sort.Strings(l)
	return l
}

// Run runs p's steps in order and reports each. The error is for a pipeline
// that could not be run at all (no step of the name, no working copy); a step
// that fails is a Result with OK false.
func (r Runner) Run(ctx context.Context, p *pipeline.Pipeline, opt Options) (Result, error) {
	r.defaults()
	if p == nil {
		return Result{}, errors.New("run pipeline: no pipeline")
	}
	if r.Mint == nil || r.Variables == nil {
		return Result{}, errors.New("run pipeline: the runner needs a token minter and a variables source (keyless up)")
	}
	if opt.Step != "" && !hasStep(p, opt.Step) {
		return Result{}, fmt.Errorf("run pipeline: no step named %q; the steps are %s", opt.Step, strings.Join(stepNames(p), ", "))
	}
	custom, err := PipelineVariables(p, opt.Variables)
	if err != nil {
		return Result{}, fmt.Errorf("run pipeline: %w", err)
	}
	r.custom = custom
	res := Result{OK: true, PipelineUUID: r.NewUUID()}
	stopped := false
	for _, st := range p.Stages {
		failedHere := false
		for _, s := range st.Steps {
			sr := StepResult{Name: stepName(s), Stage: st.Name, Deployment: deployment(st, s), Image: r.imageOf(s), OIDC: s.OIDC}
			switch {
			case opt.Step != "" && s.Name != opt.Step:
				sr.Status = Skipped
			case stopped:
				sr.Status = NotRun
			default:
				r.runStep(ctx, res.PipelineUUID, s, &sr)
				if sr.Status == Failed {
					res.OK, failedHere = false, true
				}
			}
			if failedHere && !st.Parallel {
				stopped = true
			}
			res.Steps = append(res.Steps, sr)
		}
		if failedHere {
			stopped = true
		}
	}
	return res, nil
}

func (r *Runner) defaults() {
	if r.Branch == "" {
		r.Branch = "main"
	}
	if r.BuildNumber == 0 {
		r.BuildNumber = 1
	}
	if r.Shell == "" {
		r.Shell = "bash"
	}
	if r.Out == nil {
		r.Out = io.Discard
	}
	if r.Now == nil {
		r.Now = time.Now
	}
	if r.NewUUID == nil {
		r.NewUUID = func() string { return uuid.NewString() }
	}
}

// runStep runs one step and fills sr.
func (r Runner) runStep(ctx context.Context, pipelineUUID string, s *pipeline.Step, sr *StepResult) {
	start := r.Now()
	defer func() {
		sr.Duration = r.Now().Sub(start)
		sr.Seconds = sr.Duration.Seconds()
	}()
	sr.StepUUID = r.NewUUID()
	fmt.Fprintf(r.Out, "\n=== Step: %s\n", sr.Name)
	fmt.Fprintf(r.Out, "image %s: not run (keyless runs the script on this host)\n", sr.Image)
	for _, note := range ignored(s) {
		fmt.Fprintln(r.Out, note)
	}
	fail := func(err error) {
		sr.Status, sr.Error = Failed, err.Error()
		if sr.ExitCode == 0 {
			sr.ExitCode = 1
		}
		fmt.Fprintf(r.Out, "✖ %s\n", err)
	}
	env, err := r.stepEnv(ctx, pipelineUUID, sr.StepUUID, s, sr.Deployment)
	if err != nil {
		fail(err)
		return
	}
	root, err := os.MkdirTemp("", "keyless-step-")
	if err != nil {
		fail(fmt.Errorf("make the step's working copy: %w", err))
		return
	}
	defer os.RemoveAll(root)
	dir, home := filepath.Join(root, "build"), filepath.Join(root, "home")
	if err := os.Mkdir(home, 0o700); err != nil {
		fail(fmt.Errorf("make the step's home directory: %w", err))
		return
	}
	if err := os.Mkdir(dir, 0o755); err != nil {
		fail(fmt.Errorf("make the step's working copy: %w", err))
		return
	}
	if err := copyTree(r.Source, dir, r.Exclude); err != nil {
		fail(fmt.Errorf("make the step's working copy: %w", err))
		return
	}
	env.set("BITBUCKET_CLONE_DIR", dir)
	env.set("HOME", home)
	sr.Role = roleOf(s, env)

	log := newMaskWriter(r.Out, env.secrets)
	code, runErr := r.commands(ctx, s.Script, env, dir, sr.Image, log)
	log.Flush()
	if len(s.AfterScript) > 0 {
		fmt.Fprintln(r.Out, "--- after-script")
		after := env.clone()
		after.set("BITBUCKET_EXIT_CODE", fmt.Sprint(code))
		alog := newMaskWriter(r.Out, env.secrets)
		if ac, err := r.commands(ctx, s.AfterScript, after, dir, sr.Image, alog); err != nil {
			alog.Flush()
			fmt.Fprintf(r.Out, "after-script failed (exit status %d), which does not fail the step: %v\n", ac, err)
		}
		alog.Flush()
	}
	if runErr == nil {
		sr.Status = Passed
		fmt.Fprintf(r.Out, "✔ %s passed\n", sr.Name)
		return
	}
	sr.ExitCode = code
	fail(runErr)
	sr.Explanation = r.explain(ctx, s, env, sr.Role, log.Tail())
	if sr.Explanation != "" {
		fmt.Fprintf(r.Out, "why: %s\n", strings.ReplaceAll(sr.Explanation, "\n", "\n     "))
	}
}

// commands runs cmds in order: each run of shell commands in one bash, each pipe
// on its own. It returns the exit status of the first that fails.
func (r Runner) commands(ctx context.Context, cmds []pipeline.Command, env *stepEnv, dir, image string, log *maskWriter) (int, error) {
	for i := 0; i < len(cmds); {
		if cmds[i].Pipe != "" {
			if err := r.pipe(ctx, cmds[i], env, dir, log); err != nil {
				return 1, err
			}
			i++
			continue
		}
		j := i
		for j < len(cmds) && cmds[j].Pipe == "" {
			j++
		}
		if code, err := r.shell(ctx, cmds[i:j], env, dir, image, log); err != nil {
			return code, err
		}
		i = j
	}
	return 0, nil
}

// pipe runs one pipe with the step's environment and the pipe's variables.
func (r Runner) pipe(ctx context.Context, c pipeline.Command, env *stepEnv, dir string, log *maskWriter) error {
	fmt.Fprintf(log, "+ pipe: %s\n", c.Pipe)
	name, _, _ := strings.Cut(c.Pipe, ":")
	impl, ok := supported[name]
	if !ok {
		return fmt.Errorf("pipe %s is not supported: keyless runs %s", c.Pipe, strings.Join(SupportedPipes(), " and "))
	}
	if r.Pipe == nil {
		return fmt.Errorf("pipe %s: this runner runs no pipes", c.Pipe)
	}
	penv := env.clone()
	for _, k := range sortedKeys(c.Vars) {
		penv.set(k, env.expand(c.Vars[k]))
	}
	if err := r.Pipe(ctx, impl, penv.list(), dir, log); err != nil {
		return fmt.Errorf("pipe %s failed: %w", c.Pipe, err)
	}
	return nil
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func hasStep(p *pipeline.Pipeline, name string) bool {
	for _, st := range p.Stages {
		for _, s := range st.Steps {
			if s.Name == name {
				return true
			}
		}
	}
	return false
}

func stepNames(p *pipeline.Pipeline) []string {
	var l []string
	for _, st := range p.Stages {
		for _, s := range st.Steps {
			l = append(l, fmt.Sprintf("%q", stepName(s)))
		}
	}
	return l
}

func stepName(s *pipeline.Step) string {
	if s.Name != "" {
		return s.Name
	}
	if s.Line > 0 {
		return fmt.Sprintf("step at line %d", s.Line)
	}
	return "step"
}

func deployment(st pipeline.Stage, s *pipeline.Step) string {
	if s.Deployment != "" {
		return s.Deployment
	}
	return st.Deployment
}

// ignored are the log lines for what a step names but keyless does not do.
func ignored(s *pipeline.Step) []string {
	var l []string
	if len(s.Services) > 0 {
		l = append(l, "services "+strings.Join(s.Services, ", ")+": not started")
	}
	if len(s.Caches) > 0 {
		l = append(l, "caches "+strings.Join(s.Caches, ", ")+": not used")
	}
	if s.Trigger == "manual" {
		l = append(l, "trigger: manual — run without waiting")
	}
	return l
}

// imageOf is the image step s would run in on Bitbucket.
func (r Runner) imageOf(s *pipeline.Step) string {
	switch {
	case s.Image != "":
		return s.Image
	case r.Image != "":
		return r.Image
	}
	return DefaultImage
}
