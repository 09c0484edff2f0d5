package cli

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/keyless-dev/keyless/bitbucket"
	"github.com/keyless-dev/keyless/explain"
	"github.com/keyless-dev/keyless/issuer"
	"github.com/keyless-dev/keyless/oidc"
)

func newTokenCmd(s Streams) *cobra.Command {
	cmd := &cobra.Command{
		Use:     "token",
		Short:   "Mint and inspect pipeline step and job tokens",
		Example: "  keyless token mint --workspace acme --repository web --environment production\n  keyless token mint --ci github --repository acme/web --environment production",
	}
	cmd.AddCommand(newTokenMintCmd(s), newTokenInspectCmd(s))
	return cmd
}

func newTokenInspectCmd(s Streams) *cobra.Command {
	var verify bool
	var output, caFile string
	cmd := &cobra.Command{
		Use:   "inspect [TOKEN|-]",
		Short: "Show a token's header, claims and the AWS condition keys it yields",
		Long: `Decode a web identity token and show its header and claims (times relative to now)
and the condition keys STS derives from it, such as <issuer>:sub. With --verify the
signature is checked against the issuer's discovery document and keys over HTTPS, and
the token's lifetime against now (with STS's 5 minutes of clock skew); when that fails
the command exits 1 and says why: expired or not yet valid (the signature being
valid), a kid the issuer does not publish, a bad signature, or an issuer that cannot
be reached. The token itself is never printed. The keys of an issuer that keyless up
serves under a production URL (KEYLESS_ISSUER_ALIASES, from its env file) are taken
from that server.

The token is the argument; "-" reads it from standard input; without an argument it is
read from standard input when that is not a terminal and holds one, and otherwise comes
from BITBUCKET_STEP_OIDC_TOKEN.`,
		Example: `  keyless token inspect "$BITBUCKET_STEP_OIDC_TOKEN"
  keyless token mint --repository web | keyless token inspect - --verify
  keyless token inspect --output json < token.jwt`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if output != "text" && output != "json" {
				return fmt.Errorf("invalid --output %q: use text or json", output)
			}
			raw, err := readTokenArg(s, args)
			if err != nil {
				return err
			}
			in, err := explain.Inspect(raw, time.Now())
			if err != nil {
				return fmt.Errorf("%w (is it the step's OIDC token?)", err)
			}
			if verify {
				pool, err := certPool(caFile)
				if err != nil {
					return err
				}
				aliases, err := issuerAliases()
				if err != nil {
					return err
				}
				v := explain.VerifyToken(cmd.Context(), raw, oidc.Config{RootCAs: pool, Aliases: aliases})
				in.SetVerification(v)
				if !v.OK() {
					defer func() { fmt.Fprintln(s.Err, "keyless: "+v.Message) }()
				}
			}
			if output == "json" {
				enc := json.NewEncoder(s.Out)
				enc.SetIndent("", "  ")
				if err := enc.Encode(in); err != nil {
					return err
				}
			} else if err := in.WriteText(s.Out); err != nil {
				return err
			}
			if in.Verification != nil && !in.Verification.OK() {
				return &ExitError{Code: 1}
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&verify, "verify", false, "verify the signature against the issuer's published keys, and the lifetime against now")
	cmd.Flags().StringVar(&output, "output", "text", "output: text or json")
	cmd.Flags().StringVar(&caFile, "ca-bundle", os.Getenv("KEYLESS_CA_BUNDLE"), "extra PEM CA bundle to trust for the issuer (default $KEYLESS_CA_BUNDLE)")
	return cmd
}

// readTokenArg reads the token of `token inspect`, first found of: the argument; "-",
// standard input; standard input when it is not a terminal and holds a token;
// BITBUCKET_STEP_OIDC_TOKEN.
func readTokenArg(s Streams, args []string) (string, error) {
	var raw string
	switch {
	case len(args) == 1 && args[0] == "-":
		b, err := readStdinToken(s.In)
		if err != nil {
			return "", err
		}
		raw = b
	case len(args) == 1:
		raw = args[0]
	default:
		if !isTerminal(s.In) {
			b, err := readStdinToken(s.In)
			if err != nil {
				return "", err
			}
			raw = b
		}
		if strings.TrimSpace(raw) == "" {
			raw = os.Getenv("BITBUCKET_STEP_OIDC_TOKEN")
		}
		if raw == "" {
			return "", errors.New("no token: pass it as an argument, pipe it to standard input (or pass '-'), or run in a step with `oidc: true` (BITBUCKET_STEP_OIDC_TOKEN)")
		}
	}
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return "", errors.New("the token is empty")
	}
	return raw, nil
}

// readStdinToken reads at most 1 MiB of standard input.
func readStdinToken(in io.Reader) (string, error) {
	if in == nil {
		return "", nil
	}
	b, err := io.ReadAll(io.LimitReader(in, 1<<20))
	if err != nil {
		return "", fmt.Errorf("read token from standard input: %w", err)
	}
	return string(b), nil
}

// isTerminal reports whether in is absent or a character device such as a terminal
// (or /dev/null): nothing to read a token from without asking. Readers that are not
// files, such as a test's buffer, are read.
func isTerminal(in io.Reader) bool {
	if in == nil {
		return true
	}
	f, ok := in.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err != nil || fi.Mode()&os.ModeCharDevice != 0
}

func newTokenMintCmd(s Streams) *cobra.Command {
	var (
		req                            issuer.MintRequest
		ci, owner, group, project      string
		ttl                            time.Duration
		output, endpoint, cred, caFile string
		printEnv                       bool
	)
	cmd := &cobra.Command{
		Use:   "mint",
		Short: "Mint a Bitbucket-shaped step token (or a GitHub Actions or GitLab job's ID token) from keyless up",
		Long: `Ask the identity provider of "keyless up" for a step token, as Bitbucket Pipelines
gives a step with "oidc: true" — or, with --ci, the ID token a GitHub Actions job
(--ci github) or GitLab CI/CD job (--ci gitlab) gets. With DIR/env sourced it needs no
other setup: the endpoint, runner credential and CA come from KEYLESS_ENDPOINT,
KEYLESS_RUNNER_TOKEN and KEYLESS_CA_BUNDLE.

Bitbucket: --workspace and --repository are slugs; the token's issuer is the
workspace's, and sub is {repository}:{step} or {repository}:{environment}:{step}.

GitHub: --repository OWNER/REPO (or --owner OWNER --repository REPO); sub is
repo:OWNER/REPO:environment:NAME for a job with an --environment, else
repo:OWNER/REPO:pull_request for --event pull_request, else
repo:OWNER/REPO:ref:refs/heads/BRANCH (refs/tags/TAG with --tag). The issuer is
<server>/github; the audience sts.amazonaws.com unless --audience names one.

GitLab: --project GROUP/PROJECT (or --group GROUP --project PROJECT; groups may hold
subgroups, a/b/c); sub is project_path:GROUP/PROJECT:ref_type:branch:ref:BRANCH
(ref_type:tag with --tag). The issuer is <server>/gitlab; the audience, which a job
sets in id_tokens:, is sts.amazonaws.com unless --audience names others.

GitHub and GitLab IDs (repository_id, project_id, namespace_id, …) are derived from
the names, so the same names always give the same IDs; run, pipeline and job IDs are
fresh on every mint.

--print-env prints what a Bitbucket step of that repository (and deployment
environment) would have in its environment, as POSIX "export K='V'" lines to eval: the
token as BITBUCKET_STEP_OIDC_TOKEN, then the pipeline variables keyless up keeps for
the workspace, the repository and the deployment environment (those of the Bitbucket
variables API, such as rotated access keys), later scopes overriding earlier ones as
Bitbucket does. Secured values are included, as the step gets them: the output is the
step's own environment.`,
		Example: `  keyless token mint --workspace acme --repository web
  keyless token mint --workspace acme --repository web --environment production --branch main --output json
  export BITBUCKET_STEP_OIDC_TOKEN=$(keyless token mint --workspace acme --repository web --audience sts.amazonaws.com)
  keyless token mint --ci github --repository acme/web --environment production
  keyless token mint --ci github --owner acme --repository web --branch release --event workflow_dispatch
  keyless token mint --ci gitlab --project acme/web --branch main --output json
  keyless token mint --ci gitlab --group acme/platform --project web --tag v1.2.0 --audience https://vault.example.com
  eval "$(keyless token mint --workspace acme --repository web --environment Production --print-env)"`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if output != "token" && output != "json" {
				return fmt.Errorf("invalid --output %q: use token or json", output)
			}
			c, err := issuer.ParseCI(ci)
			if err != nil {
				return fmt.Errorf("invalid --ci %q: use bitbucket, github or gitlab", ci)
			}
			if printEnv && cmd.Flags().Changed("output") {
				return errors.New("--print-env prints export lines: leave out --output")
			}
			if printEnv && c != issuer.CIBitbucket {
				return fmt.Errorf("--print-env is for Bitbucket step tokens: keyless keeps no %s variables; leave out --ci or --print-env", c)
			}
			if err := mintNames(cmd, c, &req, owner, group, project); err != nil {
				return err
			}
			if endpoint == "" {
				return errors.New("no endpoint: source the env file `keyless up` wrote (. .keyless/env) or pass --endpoint")
			}
			if cred == "" {
				return errors.New("no runner credential: source the env file `keyless up` wrote (. .keyless/env) or pass --runner-token")
			}
			req.CI = c
			req.TTL = issuer.Duration(ttl)
			pool, err := certPool(caFile)
			if err != nil {
				return err
			}
			client, err := issuer.NewClient(endpoint, cred, issuer.ClientOptions{RootCAs: pool})
			if err != nil {
				return fmt.Errorf("mint: %w", err)
			}
			tok, err := client.Mint(cmd.Context(), req)
			if err != nil {
				return fmt.Errorf("mint: %w", err)
			}
			if printEnv {
				hc := &http.Client{Timeout: 30 * time.Second, Transport: tlsTransport(pool)}
				vars, err := bitbucket.FetchStepVariables(cmd.Context(), hc, endpoint, cred, req.Workspace, req.Repository, req.Environment)
				if err != nil {
					return fmt.Errorf("read the step's variables: %w", err)
				}
				_, err = io.WriteString(s.Out, stepEnv(tok.Raw, vars))
				return err
			}
			if output == "json" {
				enc := json.NewEncoder(s.Out)
				enc.SetIndent("", "  ")
				enc.SetEscapeHTML(false)
				return enc.Encode(tok)
			}
			_, err = fmt.Fprintln(s.Out, tok.Raw)
			return err
		},
	}
	f := cmd.Flags()
	f.StringVar(&ci, "ci", "bitbucket", "whose token to mint: bitbucket, github or gitlab")
	f.StringVar(&req.Workspace, "workspace", os.Getenv("KEYLESS_WORKSPACE"), "workspace slug (default $KEYLESS_WORKSPACE); with --ci github or gitlab, the owner or group")
	f.StringVar(&owner, "owner", "", "GitHub repository owner (--ci github; or give --repository OWNER/REPO)")
	f.StringVar(&group, "group", "", "GitLab group path (--ci gitlab; or give --project GROUP/PROJECT)")
	f.StringVar(&req.Repository, "repository", "", "repository slug; with --ci github, REPO or OWNER/REPO")
	f.StringVar(&project, "project", "", "GitLab project, PROJECT or GROUP/PROJECT (--ci gitlab)")
	f.StringVar(&req.Environment, "environment", "", "deployment environment (makes a deployment step or job token)")
	f.StringVar(&req.Branch, "branch", "", "branch name (Bitbucket branchName claim; GitHub and GitLab ref, default main)")
	f.StringVar(&req.Tag, "tag", "", "tag the job runs for, instead of a branch (--ci github or gitlab)")
	f.StringVar(&req.Event, "event", "", "GitHub event_name or GitLab pipeline_source (default push)")
	f.StringVar(&req.SHA, "sha", "", "commit SHA (--ci github or gitlab; default one derived from the ref)")
	f.StringVar(&req.Actor, "actor", "", "user who started the run: GitHub actor, GitLab user_login (default keyless)")
	f.StringArrayVar(&req.Audiences, "audience", nil, "custom audience (repeatable, at most 10; one for GitHub); default the workspace audience, for GitHub and GitLab sts.amazonaws.com")
	f.DurationVar(&ttl, "ttl", 0, "token lifetime, e.g. 15m (default the server's, 1h)")
	f.StringVar(&req.WorkspaceUUID, "workspace-uuid", "", "register the workspace with this UUID instead of a derived one")
	f.StringVar(&req.RepositoryUUID, "repository-uuid", "", "register the repository with this UUID instead of a derived one")
	f.StringVar(&req.EnvironmentUUID, "environment-uuid", "", "register the environment with this UUID instead of a derived one")
	f.StringVar(&req.PipelineUUID, "pipeline-uuid", "", "pipeline UUID (default random)")
	f.StringVar(&req.StepUUID, "step-uuid", "", "step UUID (default random)")
	f.StringVar(&output, "output", "token", "output: token (the JWT) or json ({\"token\",\"ci\",\"claims\"})")
	f.BoolVar(&printEnv, "print-env", false, "print a Bitbucket step's environment as export lines: the token as BITBUCKET_STEP_OIDC_TOKEN and the pipeline variables of its workspace, repository and deployment environment, secured values included")
	f.StringVar(&endpoint, "endpoint", os.Getenv("KEYLESS_ENDPOINT"), "keyless server URL (default $KEYLESS_ENDPOINT)")
	f.StringVar(&cred, "runner-token", os.Getenv("KEYLESS_RUNNER_TOKEN"), "runner credential (default $KEYLESS_RUNNER_TOKEN)")
	f.StringVar(&caFile, "ca-bundle", os.Getenv("KEYLESS_CA_BUNDLE"), "PEM bundle to trust for an https endpoint (default $KEYLESS_CA_BUNDLE)")
	return cmd
}

// mintNames settles the request's namespace and repository from the flags: --owner
// (GitHub) and --group (GitLab) are --workspace by their CI's name, --project
// (GitLab) is --repository; a full path OWNER/REPO in --repository or --project
// replaces the $KEYLESS_WORKSPACE default.
func mintNames(cmd *cobra.Command, ci issuer.CI, req *issuer.MintRequest, owner, group, project string) error {
	f := cmd.Flags()
	// Each alias flag, the CI it belongs to, and what says the same for the others.
	for _, fl := range []struct {
		name string
		ci   issuer.CI
		alt  map[issuer.CI]string
	}{
		{"owner", issuer.CIGitHub, map[issuer.CI]string{issuer.CIBitbucket: "--workspace", issuer.CIGitLab: "--group"}},
		{"group", issuer.CIGitLab, map[issuer.CI]string{issuer.CIBitbucket: "--workspace", issuer.CIGitHub: "--owner"}},
		{"project", issuer.CIGitLab, map[issuer.CI]string{issuer.CIBitbucket: "--repository", issuer.CIGitHub: "--repository"}},
	} {
		if f.Changed(fl.name) && ci != fl.ci {
			return fmt.Errorf("--%s is for --ci %s tokens: for a %s token use %s (or mint with --ci %s)", fl.name, fl.ci, ci, fl.alt[ci], fl.ci)
		}
	}
	explicit := f.Changed("workspace")
	for _, alt := range []struct{ name, v string }{{"owner", owner}, {"group", group}} {
		if !f.Changed(alt.name) {
			continue
		}
		if explicit {
			return fmt.Errorf("--%s and --workspace name the same thing: give one", alt.name)
		}
		req.Workspace, explicit = alt.v, true
	}
	if f.Changed("project") {
		if f.Changed("repository") {
			return errors.New("--project and --repository name the same thing: give one")
		}
		req.Repository = project
	}
	if ci != issuer.CIBitbucket && strings.Contains(req.Repository, "/") && !explicit {
		req.Workspace = ""
	}
	return nil
}

// issuerAliases reads KEYLESS_ISSUER_ALIASES, which keyless up writes to its env file:
// the issuer URLs it serves in place of production ones (https://api.bitbucket.org/…),
// each with the local issuer URL whose keys verify its tokens.
func issuerAliases() (map[string]string, error) {
	a, err := oidc.ParseAliases(os.Getenv(oidc.AliasesEnv))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", oidc.AliasesEnv, err)
	}
	return a, nil
}

// certPool is the system roots plus the PEM file caFile.
func certPool(caFile string) (*x509.CertPool, error) {
	pool, err := x509.SystemCertPool()
	if err != nil {
		pool = x509.NewCertPool()
	}
	if caFile != "" {
		pem, err := os.ReadFile(caFile)
		if err != nil {
			return nil, fmt.Errorf("read CA bundle: %w", err)
		}
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("CA bundle %s holds no PEM certificate", caFile)
		}
	}
	return pool, nil
}

// stepEnv is the environment of a Bitbucket step as POSIX export lines: the
// token as BITBUCKET_STEP_OIDC_TOKEN, then the step's variables (a variable of
// that name does not replace the token, which Bitbucket sets).
func stepEnv(token string, vars []bitbucket.StepVariable) string {
	const tokenVar = "BITBUCKET_STEP_OIDC_TOKEN"
	var b strings.Builder
	fmt.Fprintf(&b, "export %s=%s\n", tokenVar, singleQuote(token))
	for _, v := range vars {
		if v.Key != tokenVar {
			fmt.Fprintf(&b, "export %s=%s\n", v.Key, singleQuote(v.Value))
		}
	}
	return b.String()
}

// singleQuote quotes s for POSIX sh: in single quotes, each quote in s closing
// the quoting, escaped, and reopening it.
func singleQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// tlsTransport is an HTTP transport trusting pool.
func tlsTransport(pool *x509.CertPool) *http.Transport {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	return tr
}
