package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/keyless-dev/keyless/client"
)

// loginFlags are the flags `login` and `exec` share: where the token comes from, which
// role to assume and how to reach STS.
type loginFlags struct {
	roleARN, sessionName          string
	tokenFile, tokenEnv, audience string
	stsEndpoint, region           string
	sessionPolicyFile, logLevel   string
	duration                      time.Duration
	policyARNs, allowedAccountIDs []string
	roleChain                     []string
	maxAttempts                   int
}

func (f *loginFlags) register(fs *pflag.FlagSet) {
	fs.StringVar(&f.roleARN, "role-arn", "", "role to assume (default $AWS_ROLE_ARN, else $AWS_OIDC_ROLE_ARN)")
	fs.StringSliceVar(&f.roleChain, "role-chain", nil, "then assume these roles in order with sts:AssumeRole, each with the previous one's credentials (comma-separated ARNs; default $"+client.RoleChainEnv+")")
	fs.StringVar(&f.sessionName, "session-name", "", "role session name (default derived from the CI context, e.g. bitbucket-<repo>-<build>)")
	fs.StringVar(&f.tokenFile, "token-file", "", "read the OIDC token from this file (re-read on refresh), or - for stdin")
	fs.StringVar(&f.tokenEnv, "token-env", "", "read the OIDC token from this environment variable (e.g. a GitLab id_tokens name)")
	fs.StringVar(&f.audience, "audience", client.DefaultAudience, "audience to request from GitHub Actions")
	fs.StringVar(&f.stsEndpoint, "sts-endpoint", "", "STS endpoint URL (default $AWS_ENDPOINT_URL_STS, else $AWS_ENDPOINT_URL, else the regional AWS endpoint)")
	fs.StringVar(&f.region, "region", "", "AWS region (default $AWS_REGION, else $AWS_DEFAULT_REGION, else us-east-1)")
	fs.DurationVar(&f.duration, "duration", 0, "session duration, 15m to 12h (default STS's, 1h)")
	fs.StringVar(&f.sessionPolicyFile, "session-policy", "", "JSON file with an inline session policy")
	fs.StringArrayVar(&f.policyARNs, "policy-arn", nil, "managed session policy ARN (repeatable, at most 10)")
	fs.StringSliceVar(&f.allowedAccountIDs, "allowed-account-ids", nil, "refuse roles and credentials of accounts not in this comma-separated list")
	fs.IntVar(&f.maxAttempts, "max-attempts", client.DefaultMaxAttempts, "attempts per exchange for transient STS errors")
	fs.StringVar(&f.logLevel, "log-level", "warn", "log level on stderr: debug, info, warn or error")
}

// loginSetup is what the shared flags resolve to.
type loginSetup struct {
	source    client.TokenSource
	ci        client.CIContext
	exchanger *client.Exchanger
	chain     *client.Chain // nil without --role-chain
	region    string        // resolved region
	endpoint  string        // resolved STS endpoint override, or ""
	session   string
	log       *slog.Logger
}

// setup resolves the flags against the environment: the token source, the role, the
// session name and the STS client.
func (f *loginFlags) setup(s Streams) (*loginSetup, error) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(f.logLevel)); err != nil {
		return nil, fmt.Errorf("invalid --log-level %q: use debug, info, warn or error", f.logLevel)
	}
	log := slog.New(slog.NewTextHandler(s.Err, &slog.HandlerOptions{Level: level}))
	role, err := client.ResolveRoleARN(f.roleARN, os.Getenv)
	if err != nil {
		return nil, err
	}
	src, ci, err := client.NewTokenSource(client.SourceOptions{
		TokenFile: f.tokenFile,
		TokenEnv:  f.tokenEnv,
		Audience:  f.audience,
		Getenv:    os.Getenv,
		Stdin:     s.In,
	})
	if err != nil {
		return nil, err
	}
	session, err := f.resolveSessionName(ci)
	if err != nil {
		return nil, err
	}
	var policy string
	if f.sessionPolicyFile != "" {
		b, err := os.ReadFile(f.sessionPolicyFile)
		if err != nil {
			return nil, fmt.Errorf("read session policy: %w", err)
		}
		policy = strings.TrimSpace(string(b))
	}
	var accounts []string
	for _, a := range f.allowedAccountIDs {
		if a = strings.TrimSpace(a); a != "" {
			accounts = append(accounts, a)
		}
	}
	ls := &loginSetup{
		source:   src,
		ci:       ci,
		region:   client.ResolveRegion(f.region, os.Getenv),
		endpoint: client.ResolveSTSEndpoint(f.stsEndpoint, os.Getenv),
		session:  session,
		log:      log,
	}
	ls.exchanger, err = client.NewExchanger(client.ExchangeOptions{
		RoleARN:           role,
		SessionName:       session,
		Duration:          f.duration,
		SessionPolicy:     policy,
		PolicyARNs:        f.policyARNs,
		AllowedAccountIDs: accounts,
		Region:            ls.region,
		Endpoint:          ls.endpoint,
		MaxAttempts:       f.maxAttempts,
		ExplainFlags:      client.ExplainTokenFlags(src),
		Logger:            log,
	})
	if err != nil {
		return nil, err
	}
	roles, err := client.ResolveRoleChain(f.roleChain, os.Getenv)
	if err != nil {
		return nil, err
	}
	if len(roles) > 0 {
		ls.chain, err = client.NewChain(client.ChainOptions{
			Roles:             roles,
			SessionName:       session,
			Duration:          f.duration,
			AllowedAccountIDs: accounts,
			Region:            ls.region,
			Endpoint:          ls.endpoint,
			MaxAttempts:       f.maxAttempts,
			Logger:            log,
		})
		if err != nil {
			return nil, err
		}
	}
	log.Debug("login setup", slog.String("ci", string(ci.Provider)), slog.String("role_arn", role),
		slog.String("session_name", session), slog.String("region", ls.region), slog.String("sts_endpoint", ls.endpoint), slog.Any("role_chain", roles))
	return ls, nil
}

// exchangeFunc trades a token for the final credentials: the web-identity role's,
// or with a role chain the last hop's (the whole chain re-run on every call).
func (ls *loginSetup) exchangeFunc() func(ctx context.Context, token string) (client.Credentials, error) {
	if ls.chain == nil {
		return ls.exchanger.Exchange
	}
	return ls.chain.Exchange(ls.exchanger.Exchange)
}

// resolveSessionName is --session-name, else $AWS_ROLE_SESSION_NAME, else a name
// derived from the CI context. A name the user gave is checked, never rewritten;
// only a derived name is sanitized.
func (f *loginFlags) resolveSessionName(ci client.CIContext) (string, error) {
	for _, given := range []struct{ name, from string }{
		{f.sessionName, "--session-name"},
		{os.Getenv("AWS_ROLE_SESSION_NAME"), "AWS_ROLE_SESSION_NAME"},
	} {
		if given.name == "" {
			continue
		}
		if err := client.ValidateSessionName(given.name); err != nil {
			return "", fmt.Errorf("%s: %w", given.from, err)
		}
		return given.name, nil
	}
	return ci.SessionName(time.Now()), nil
}

func newLoginCmd(s Streams) *cobra.Command {
	var (
		lf                                      loginFlags
		format, output, profile, writeTokenFile string
	)
	cmd := &cobra.Command{
		Use:   "login",
		Short: "Exchange the CI step's OIDC token for temporary AWS credentials",
		Long: `Exchange the step's OpenID Connect token for temporary AWS credentials with STS
AssumeRoleWithWebIdentity, and hand them over in the format the job needs.

The token is found by itself in Bitbucket Pipelines (BITBUCKET_STEP_OIDC_TOKEN, with
"oidc: true" on the step) and GitHub Actions (requested with the job's
ACTIONS_ID_TOKEN_REQUEST_URL, with "permissions: id-token: write"); in GitLab pass the
id_tokens variable with --token-env; anywhere else use --token-file or --token-env.

Formats: env (shell export lines), dotenv, json (STS's Credentials fields),
credential-process (for credential_process in an AWS profile), aws-profile (writes
--profile NAME to the AWS config files; with a token file, a web_identity_token_file
profile the SDKs refresh by themselves), github-env (appends to $GITHUB_ENV and masks
the secrets). Secrets appear only in the chosen output.

--output is another name of --format.

--role-chain ARN[,ARN…] (or $KEYLESS_ROLE_CHAIN) then assumes each role in order with
sts:AssumeRole, with the previous role's credentials and the same session name, and
outputs the last role's credentials. STS grants chained sessions at most 1h, so a
longer --duration applies only to the first role. A failing hop is named by number
(hop 1 is the --role-arn role) and role ARN. With aws-profile, each role of the chain
becomes a role_arn + source_profile profile on the previous one (NAME-hop1, NAME-hop2…;
NAME is the last), which the SDKs assume by themselves.

Transient STS errors are retried with jittered backoff; a denial fails at once with
a hint.`,
		Example: `  eval "$(keyless login --role-arn arn:aws:iam::123456789012:role/deploy)"
  keyless login --format aws-profile --profile ci --write-token-file "$PWD/web-identity-token"
  keyless login --token-env AWS_ID_TOKEN --format dotenv > aws.env
  keyless login --format github-env --duration 2h
  keyless login --role-chain arn:aws:iam::222222222222:role/deploy --output aws-profile --profile deploy`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if cmd.Flags().Changed("output") {
				if cmd.Flags().Changed("format") && output != format {
					return fmt.Errorf("--format %s and --output %s disagree: --output is another name of --format, give one of them", format, output)
				}
				format = output
			}
			f, err := client.ParseFormat(format)
			if err != nil {
				return err
			}
			if f == client.FormatAWSProfile && profile == "" {
				return errors.New("--format (--output) aws-profile needs --profile NAME")
			}
			if f == client.FormatGitHubEnv && os.Getenv("GITHUB_ENV") == "" {
				return errors.New("--format github-env: $GITHUB_ENV is not set (run inside a GitHub Actions step)")
			}
			ls, err := lf.setup(s)
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			token, err := ls.source.Token(ctx)
			if err != nil {
				return err
			}
			out := client.OutputOptions{Format: f, Profile: profile, Getenv: os.Getenv}
			var creds client.Credentials
			if ls.chain == nil {
				if creds, err = ls.exchanger.Exchange(ctx, token); err != nil {
					return err
				}
			} else {
				hops, err := ls.chain.Run(ctx, ls.exchanger.Exchange, token)
				if err != nil {
					return err
				}
				creds = hops[len(hops)-1]
				out.Chain, out.ChainDuration = hops, ls.chain.Duration()
				out.SessionName, out.STSEndpoint = ls.session, ls.endpoint
			}
			ls.log.Info("assumed role", slog.Any("credentials", creds))
			if lf.region != "" || f == client.FormatAWSProfile {
				out.Region = ls.region
			}
			tokenFile := ""
			switch {
			case writeTokenFile != "":
				tokenFile = writeTokenFile
			case lf.tokenFile != "" && lf.tokenFile != "-":
				tokenFile = lf.tokenFile
			}
			if writeTokenFile != "" {
				if err := client.WriteTokenFile(writeTokenFile, token); err != nil {
					return err
				}
			}
			if tokenFile != "" {
				if out.TokenFile, err = filepath.Abs(tokenFile); err != nil {
					return fmt.Errorf("token file path: %w", err)
				}
				out.SessionName = ls.session
				out.STSEndpoint = ls.endpoint
			}
			return client.WriteOutput(s.Out, creds, out)
		},
	}
	lf.register(cmd.Flags())
	cmd.Flags().StringVar(&format, "format", string(client.FormatEnv), "output: env, dotenv, json, credential-process, aws-profile or github-env")
	cmd.Flags().StringVar(&output, "output", string(client.FormatEnv), "another name of --format")
	cmd.Flags().StringVar(&profile, "profile", "", "profile name for --format aws-profile")
	cmd.Flags().StringVar(&writeTokenFile, "write-token-file", "", "also write the token to this file (mode 0600), for AWS_WEB_IDENTITY_TOKEN_FILE")
	return cmd
}
