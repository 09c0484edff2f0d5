package cli

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/spf13/cobra"

	"github.com/keyless-dev/keyless/awsconfig"
	"github.com/keyless-dev/keyless/bitbucket"
	"github.com/keyless-dev/keyless/explain"
	"github.com/keyless-dev/keyless/issuer"
	"github.com/keyless-dev/keyless/oidc"
	"github.com/keyless-dev/keyless/pipeline"
	piperun "github.com/keyless-dev/keyless/pipeline/run"
)

func newPipelineCmd(s Streams) *cobra.Command {
	cmd := &cobra.Command{
		Use:     "pipeline",
		Short:   "Run and check a bitbucket-pipelines.yml locally against keyless up",
		Example: "  keyless pipeline validate bitbucket-pipelines.yml\n  . .keyless/env && keyless pipeline run --pipeline branches:main",
	}
	cmd.AddCommand(newPipelineRunCmd(s), newPipelineValidateCmd(s))
	return cmd
}

func newPipelineRunCmd(s Streams) *cobra.Command {
	var (
		sel, step, branch, commit, workspace, repository string
		envFile, output                                  string
		buildNumber                                      int
		vars                                             []string
	)
	cmd := &cobra.Command{
		Use:   "run [FILE]",
		Short: "Run a pipeline's steps on this host with the step environment Bitbucket gives",
		Long: `Run the steps of a pipeline of FILE (default ./bitbucket-pipelines.yml) in order, each
in a fresh copy of the directory FILE is in (without .git and keyless up's data
directory), against the local stack of "keyless up".

Each step gets the environment Bitbucket gives it: BITBUCKET_* variables (build
number, repository slug and UUID, workspace, branch, commit, step and pipeline UUIDs,
deployment environment and its UUID, clone dir) with the UUIDs the local issuer
derives; with "oidc: true" BITBUCKET_STEP_OIDC_TOKEN, minted for exactly that
repository, deployment environment and step, and none without; the workspace,
repository and deployment variables of the local Bitbucket variables API, secured ones
masked (***) in the log; AWS_ENDPOINT_URL and the others pointing at the local stack.
Each step has a fresh, empty HOME; the host's own AWS variables, profiles and
keyless credentials are not passed on.

Scripts run in bash -e on the host: "image" is reported and otherwise ignored, and a
command the host lacks fails saying the image would have had it. The pipes
atlassian/aws-s3-deploy and atlassian/aws-cloudfront-invalidate run keyless's own
implementations (keyless pipe …) with the pipe's variables, $VAR substituted.

The pipeline is chosen as Bitbucket would for a push to --branch (default the checked
out branch, else main), or named with --pipeline: default, branches:NAME, tags:NAME,
pull-requests:NAME or custom:NAME. A custom pipeline's variables (its leading
"- variables:") are given with --var NAME=VALUE, as Bitbucket's "Run pipeline"
form takes them; those not given take their default. The summary lists each step's result, duration and
the role it assumes; a step refused by STS gets keyless explain's reason.

Needs a running keyless up: its env file sourced (. .keyless/env), or given with --env.
Exit status: 0 when every step passed, 1 otherwise.`,
		Example: `  . .keyless/env
  keyless pipeline run
  keyless pipeline run --pipeline branches:main --step 'Deploy to production'
  keyless pipeline run --pipeline custom:deploy --var ENVIRONMENT=staging
  keyless pipeline run ci/bitbucket-pipelines.yml --workspace acme --repository web --output json`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			if output != "text" && output != "json" {
				return fmt.Errorf("invalid --output %q: use text or json", output)
			}
			file := "bitbucket-pipelines.yml"
			if len(args) == 1 {
				file = args[0]
			}
			data, err := os.ReadFile(file)
			if err != nil {
				return fmt.Errorf("read the pipeline file: %w", err)
			}
			f, err := pipeline.Parse(data)
			if err != nil {
				return fmt.Errorf("%s: %w", file, err)
			}
			dir, err := filepath.Abs(filepath.Dir(file))
			if err != nil {
				return err
			}
			getenv, err := stackEnv(envFile)
			if err != nil {
				return err
			}
			if workspace == "" {
				workspace = getenv("KEYLESS_WORKSPACE")
			}
			if repository == "" {
				repository = strings.ToLower(filepath.Base(dir))
				if err := issuer.ValidateRepository(repository); err != nil {
					return fmt.Errorf("the repository slug from the directory name %q is not one: pass --repository SLUG", filepath.Base(dir))
				}
			}
			if branch == "" && !cmd.Flags().Changed("branch") {
				branch = gitOutput(ctx, dir, "rev-parse", "--abbrev-ref", "HEAD")
				if branch == "" || branch == "HEAD" {
					branch = "main"
				}
			}
			if commit == "" {
				commit = gitOutput(ctx, dir, "rev-parse", "HEAD")
			}
			p, how, err := f.Select(sel, branch)
			if err != nil {
				return err
			}
			r, err := newStepRunner(getenv, dir)
			if err != nil {
				return err
			}
			r.Workspace, r.Repository, r.Branch, r.Commit, r.BuildNumber, r.Image = workspace, repository, branch, commit, buildNumber, f.Image
			r.Out = s.Out
			if output == "json" {
				r.Out = s.Err
			}
			fmt.Fprintf(r.Out, "Pipeline %s of %s, for %s/%s on branch %s\n", how, file, workspace, repository, branch)
			given, err := parseVarFlags(vars)
			if err != nil {
				return err
			}
			res, err := r.Run(ctx, p, piperun.Options{Step: step, Variables: given})
			if err != nil {
				return err
			}
			if output == "json" {
				enc := json.NewEncoder(s.Out)
				enc.SetIndent("", "  ")
				enc.SetEscapeHTML(false)
				if err := enc.Encode(res); err != nil {
					return err
				}
			} else {
				fmt.Fprintln(s.Out)
				if err := res.WriteText(s.Out); err != nil {
					return err
				}
			}
			if !res.OK {
				return &ExitError{Code: 1}
			}
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&sel, "pipeline", "", "pipeline to run: default, branches:NAME, tags:NAME, pull-requests:NAME or custom:NAME (default: Bitbucket's choice for --branch)")
	fl.StringVar(&step, "step", "", "run only the step of this name")
	fl.StringArrayVar(&vars, "var", nil, "NAME=VALUE for a variable the custom pipeline declares (repeatable; the others take their default)")
	fl.StringVar(&branch, "branch", "", "branch the pipeline runs for, BITBUCKET_BRANCH (default the checked-out branch, else main)")
	fl.StringVar(&commit, "commit", "", "BITBUCKET_COMMIT (default the checked-out commit)")
	fl.IntVar(&buildNumber, "build-number", 1, "BITBUCKET_BUILD_NUMBER")
	fl.StringVar(&workspace, "workspace", "", "workspace slug (default $KEYLESS_WORKSPACE)")
	fl.StringVar(&repository, "repository", "", "repository slug (default the name of FILE's directory)")
	fl.StringVar(&envFile, "env", "", "env file keyless up wrote (DIR/env), instead of its variables in the environment")
	fl.StringVar(&output, "output", "text", "output: text (the log, then a summary) or json (the summary; the log goes to stderr)")
	return cmd
}

// parseVarFlags reads --var NAME=VALUE flags.
func parseVarFlags(flags []string) (map[string]string, error) {
	if len(flags) == 0 {
		return nil, nil
	}
	m := map[string]string{}
	for _, f := range flags {
		k, v, ok := strings.Cut(f, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("invalid --var %q: write NAME=VALUE", f)
		}
		m[k] = v
	}
	return m, nil
}

// stackEnv looks up keyless up's variables: from envFile when given, else the
// process environment (a sourced env file).
func stackEnv(envFile string) (func(string) string, error) {
	if envFile == "" {
		if os.Getenv("KEYLESS_ENDPOINT") == "" {
			return nil, errors.New("keyless up is not in the environment (no KEYLESS_ENDPOINT): start it with `keyless up`, then source its env file (. .keyless/env) or pass --env DIR/env")
		}
		return os.Getenv, nil
	}
	b, err := os.ReadFile(envFile)
	if err != nil {
		return nil, fmt.Errorf("read keyless up's env file: %w", err)
	}
	vars, err := parseEnvFile(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", envFile, err)
	}
	if vars["KEYLESS_ENDPOINT"] == "" {
		return nil, fmt.Errorf("%s sets no KEYLESS_ENDPOINT: give the env file keyless up wrote (DIR/env)", envFile)
	}
	return func(k string) string {
		if v, ok := vars[k]; ok {
			return v
		}
		return os.Getenv(k)
	}, nil
}

// parseEnvFile reads the export lines keyless up writes: `export KEY=VALUE`,
// VALUE bare or in single quotes with '\” for a quote; # comments and blank
// lines are skipped.
func parseEnvFile(b []byte) (map[string]string, error) {
	vars := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 0, 64*1024), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, ok := strings.Cut(strings.TrimPrefix(line, "export "), "=")
		if !ok || k == "" || strings.ContainsAny(k, " \t'\"") {
			return nil, fmt.Errorf("line %d is not export KEY=VALUE: give the env file keyless up wrote", n)
		}
		val, err := unquoteShell(v)
		if err != nil {
			return nil, fmt.Errorf("line %d (%s): %w", n, k, err)
		}
		vars[k] = val
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read env file: %w", err)
	}
	return vars, nil
}

// unquoteShell undoes the quoting of singleQuote (and bare words).
func unquoteShell(s string) (string, error) {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '\'':
			j := strings.IndexByte(s[i+1:], '\'')
			if j < 0 {
				return "", errors.New("a ' quote is never closed")
			}
			b.WriteString(s[i+1 : i+1+j])
			i += j + 1
		case '\\':
			if i+1 == len(s) {
				return "", errors.New("the value ends with a backslash")
			}
			i++
			b.WriteByte(s[i])
		default:
			b.WriteByte(c)
		}
	}
	return b.String(), nil
}

// gitOutput is the trimmed output of a read-only git command in dir, or "".
func gitOutput(ctx context.Context, dir string, args ...string) string {
	cmd := exec.CommandContext(ctx, "git", append([]string{"-C", dir}, args...)...)
	out, err := cmd.Output()
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(out))
}

// stackVars are the variables of keyless up a step gets: where the local stack
// is and which CA to trust; never its credentials.
var stackVars = []string{
	"AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_STS", "AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL_CLOUDFRONT",
	"AWS_ENDPOINT_URL_SECRETS_MANAGER", "AWS_ENDPOINT_URL_IAM",
	"KEYLESS_ENDPOINT", "KEYLESS_ISSUER", "KEYLESS_WORKSPACE", "KEYLESS_AUDIENCE", "KEYLESS_ACCOUNT_ID",
	"KEYLESS_CA_BUNDLE", oidc.AliasesEnv,
}

// baseStepEnv is the environment a step starts from: the host's, without its AWS,
// keyless and Bitbucket variables, plus the local stack's. (The runner gives each
// step a fresh HOME, so no host AWS profile is used either.)
func baseStepEnv(getenv func(string) string) []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		switch {
		case strings.HasPrefix(k, "AWS_"), strings.HasPrefix(k, "KEYLESS_"), strings.HasPrefix(k, "BITBUCKET_"),
			k == bitbucket.TokenEnv, k == "CI":
			continue
		}
		env = append(env, kv)
	}
	for _, k := range stackVars {
		if v := getenv(k); v != "" {
			env = append(env, k+"="+v)
		}
	}
	if ca := getenv("KEYLESS_CA_BUNDLE"); ca != "" {
		env = append(env, "AWS_CA_BUNDLE="+ca)
	}
	return append(env, "AWS_EC2_METADATA_DISABLED=true")
}

// newStepRunner wires a runner to keyless up: its issuer, its variables API, the
// pipes of this binary and explain against its IAM.
func newStepRunner(getenv func(string) string, dir string) (piperun.Runner, error) {
	endpoint, cred := getenv("KEYLESS_ENDPOINT"), getenv("KEYLESS_RUNNER_TOKEN")
	if cred == "" {
		return piperun.Runner{}, errors.New("no runner credential (KEYLESS_RUNNER_TOKEN): source the env file `keyless up` wrote (. .keyless/env) or pass --env DIR/env")
	}
	pool, err := certPool(getenv("KEYLESS_CA_BUNDLE"))
	if err != nil {
		return piperun.Runner{}, err
	}
	client, err := issuer.NewClient(endpoint, cred, issuer.ClientOptions{RootCAs: pool})
	if err != nil {
		return piperun.Runner{}, fmt.Errorf("mint: %w", err)
	}
	hc := &http.Client{Timeout: 30 * time.Second, Transport: tlsTransport(pool)}
	self, err := os.Executable()
	if err != nil {
		return piperun.Runner{}, fmt.Errorf("find the keyless binary for the pipes: %w", err)
	}
	var exclude []string
	if d := getenv("KEYLESS_DATA"); d != "" {
		exclude = append(exclude, d)
	}
	aliases, err := oidc.ParseAliases(getenv(oidc.AliasesEnv))
	if err != nil {
		return piperun.Runner{}, fmt.Errorf("%s: %w", oidc.AliasesEnv, err)
	}
	ex := pipelineExplainer{getenv: getenv, sig: explain.OIDCChecker{RootCAs: pool, Aliases: aliases}}
	return piperun.Runner{
		Source:  dir,
		Exclude: exclude,
		Env:     baseStepEnv(getenv),
		Mint:    client.Mint,
		Variables: func(ctx context.Context, ws, repo, env string) ([]bitbucket.StepVariable, error) {
			return bitbucket.FetchStepVariables(ctx, hc, endpoint, cred, ws, repo, env)
		},
		Pipe: func(ctx context.Context, name string, env []string, dir string, out io.Writer) error {
			c := exec.CommandContext(ctx, self, "pipe", name)
			c.Env, c.Dir, c.Stdout, c.Stderr = env, dir, out, out
			return c.Run()
		},
		Explain: ex.explain,
	}, nil
}

// pipelineExplainer runs keyless explain's checks for a refused step.
type pipelineExplainer struct {
	getenv func(string) string
	sig    explain.SignatureChecker
}

func (e pipelineExplainer) explain(ctx context.Context, roleARN, token string) (string, error) {
	reader, err := stackIAMReader(ctx, e.getenv)
	if err != nil {
		return "", err
	}
	rep, err := explainRole(ctx, reader, roleARN, token, e.sig)
	if err != nil {
		return "", err
	}
	return reportReason(rep), nil
}

// trustReader reads what explain needs from IAM: explain.IAMReader, or a fake
// in tests.
type trustReader interface {
	TrustPolicy(ctx context.Context, roleARN string) (string, error)
	Providers(ctx context.Context) ([]oidc.Provider, error)
}

// stackIAMReader reads IAM with the AWS configuration of getenv (keyless up's
// AWS_ENDPOINT_URL when set).
func stackIAMReader(ctx context.Context, getenv func(string) string) (explain.IAMReader, error) {
	var opts []func(*config.LoadOptions) error
	if ep := getenv("AWS_ENDPOINT_URL"); ep != "" {
		opts = append(opts, config.WithBaseEndpoint(ep))
	}
	cfg, err := awsconfig.Load(ctx, getenv, opts...)
	if err != nil {
		return explain.IAMReader{}, err
	}
	return explain.IAMReader{Client: iam.NewFromConfig(cfg)}, nil
}

// explainRole is keyless explain's verdict on token (a step's
// BITBUCKET_STEP_OIDC_TOKEN) against the trust policy of roleARN as IAM has it;
// sig nil skips the signature check.
func explainRole(ctx context.Context, reader trustReader, roleARN, token string, sig explain.SignatureChecker) (explain.Report, error) {
	doc, providers, err := readTrust(ctx, reader, roleARN)
	if err != nil {
		return explain.Report{}, err
	}
	return evaluateTrust(ctx, roleARN, doc, providers, token, sig), nil
}

// readTrust reads the trust policy of roleARN and the account's OIDC providers.
func readTrust(ctx context.Context, reader trustReader, roleARN string) (string, []oidc.Provider, error) {
	doc, err := reader.TrustPolicy(ctx, roleARN)
	if err != nil {
		return "", nil, err
	}
	providers, err := reader.Providers(ctx)
	if err != nil {
		return "", nil, err
	}
	return doc, providers, nil
}

// evaluateTrust runs keyless explain on token against a trust policy read by
// readTrust.
func evaluateTrust(ctx context.Context, roleARN, doc string, providers []oidc.Provider, token string, sig explain.SignatureChecker) explain.Report {
	return explain.Run(ctx, explain.Input{
		Token: token, TokenSource: piperun.TokenVar, RoleARN: roleARN, TrustPolicy: doc,
		Providers: providers, Now: time.Now(), Signature: sig,
	})
}

// reportReason is the failed checks of rep, one a line, with their fixes.
func reportReason(rep explain.Report) string {
	switch rep.Verdict {
	case explain.VerdictAdmitted:
		return "keyless explain finds that the trust policy of " + rep.RoleARN + " admits the token: the refusal comes from elsewhere (run `keyless explain --role-arn " + rep.RoleARN + "` with the token)"
	case explain.VerdictUndetermined:
		return "the trust policy of " + rep.RoleARN + " depends on " + strings.Join(rep.Unknown, " and ") + ", which keyless explain does not know"
	}
	var lines []string
	for _, c := range rep.Checks {
		if c.Status != explain.Fail {
			continue
		}
		l := "FAIL " + c.Title
		var got []string
		if !c.Expected.IsZero() {
			got = append(got, "expected "+c.Expected.String())
		}
		if !c.Actual.IsZero() {
			got = append(got, "actual "+c.Actual.String())
		}
		if len(got) > 0 {
			l += " (" + strings.Join(got, ", ") + ")"
		}
		if c.Fix != "" {
			l += ": " + c.Fix
		}
		lines = append(lines, l)
	}
	return "STS refuses " + rep.RoleARN + ":\n" + strings.Join(lines, "\n")
}
