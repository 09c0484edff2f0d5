package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/spf13/cobra"

	"github.com/keyless-dev/keyless/awsconfig"
	"github.com/keyless-dev/keyless/client"
	"github.com/keyless-dev/keyless/explain"
	"github.com/keyless-dev/keyless/internal/server"
	"github.com/keyless-dev/keyless/oidc"
)

func newExplainCmd(s Streams) *cobra.Command {
	var (
		roleARN, token, tokenFile, tokenEnv, trustFile string
		providerURL, sourceIP, sessionName, output     string
		caFile, callerARN, externalID, dataDir, dsn    string
		clientIDs, roleChain                           []string
		verify                                         bool
	)
	cmd := &cobra.Command{
		Use:   "explain --role-arn ARN [--token TOKEN | --caller-arn ARN] [--role-chain ARN[,ARN...]]",
		Short: "Say whether a token would assume a role, and if not, why",
		Long: `Replay what STS checks for AssumeRoleWithWebIdentity — issuer registered, audience
among the provider's client IDs, signature, expiry, each trust-policy condition — and
print PASS or FAIL for each with expected against actual and a concrete fix.

The role's trust policy comes from IAM GetRole (with your AWS credentials, or else the
root credentials of a sourced keyless env file), or from --trust-policy. The provider
comes from IAM, or from --provider-url and --client-id. The token comes from --token,
--token-file, --token-env or BITBUCKET_STEP_OIDC_TOKEN. The keys of an issuer that
keyless up serves under a production URL (KEYLESS_ISSUER_ALIASES, from its env file)
are taken from that server.

Conditions on values explain is not given — aws:SourceIp without --source-ip,
sts:RoleSessionName without --session-name — are SKIP; when the answer depends on them
the result is UNDETERMINED and says what to pass.

sts:AssumeRole hops, within an account or across the accounts of keyless up:
--caller-arn names the caller (a role session arn:aws:sts::A:assumed-role/ROLE/SESSION
or an IAM user) that assumes --role-arn; --role-chain ARN[,ARN...] (the syntax of
keyless login --role-chain) names further roles, each assumed by the session of the
hop before it, after the token's role (or after --role-arn with --caller-arn). Each
hop prints PASS or FAIL for the role's trust policy and for the caller's identity
policies in its own account (across accounts both must allow), which side refused,
and the fix; the chain stops at the first hop STS would refuse. These hops read the
roles and policies from the store of keyless up (--data, or --store), running or
stopped. --external-id is the sts:ExternalId every AssumeRole hop passes;
--session-name names the hops' sessions.

Exit status: 0 admitted, 1 denied, 2 undetermined.`,
		Example: `  keyless explain --role-arn arn:aws:iam::123456789012:role/deploy
  keyless explain --role-arn arn:aws:iam::123456789012:role/deploy --token-file web-identity-token --source-ip 34.199.54.113
  keyless explain --role-arn arn:aws:iam::123456789012:role/deploy --trust-policy trust.json \
      --provider-url https://api.bitbucket.org/2.0/workspaces/acme/pipelines-config/identity/oidc --client-id ari:cloud:bitbucket::workspace/<uuid>
  keyless explain --caller-arn arn:aws:sts::000000000000:assumed-role/hub/step --role-arn arn:aws:iam::222222222222:role/deploy --external-id ext-7f3a
  keyless explain --role-arn arn:aws:iam::000000000000:role/hub --role-chain arn:aws:iam::222222222222:role/deploy`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			if output != "text" && output != "json" {
				return fmt.Errorf("invalid --output %q: use text or json", output)
			}
			if roleARN == "" {
				return errors.New("--role-arn is required")
			}
			chain, err := client.ResolveRoleChain(roleChain, func(string) string { return "" })
			if err != nil {
				return err
			}
			switch {
			case callerARN != "" && (token != "" || tokenFile != "" || tokenEnv != ""):
				return errors.New("--caller-arn explains sts:AssumeRole by that caller, which needs no token: drop --token, --token-file and --token-env, or drop --caller-arn to start from the token's role")
			case externalID != "" && callerARN == "" && len(chain) == 0:
				return errors.New("--external-id is for sts:AssumeRole hops: give --caller-arn or --role-chain too")
			}
			if callerARN != "" {
				return explainChain(cmd, s, explain.ChainInput{Caller: callerARN, Roles: append([]string{roleARN}, chain...),
					ExternalID: externalID, SessionName: sessionName, SourceIP: sourceIP, Now: time.Now()}, dataDir, dsn, output)
			}
			in := explain.Input{RoleARN: roleARN, SourceIP: sourceIP, SessionName: sessionName, Now: time.Now(), TokenSource: "BITBUCKET_STEP_OIDC_TOKEN"}
			switch {
			case token != "":
				in.Token, in.TokenSource = token, "--token"
			case tokenFile != "":
				b, err := os.ReadFile(tokenFile)
				if err != nil {
					return fmt.Errorf("read token file: %w", err)
				}
				in.Token, in.TokenSource = strings.TrimSpace(string(b)), tokenFile
			case tokenEnv != "":
				in.Token, in.TokenSource = os.Getenv(tokenEnv), tokenEnv
			default:
				in.Token = os.Getenv("BITBUCKET_STEP_OIDC_TOKEN")
			}
			var reader explain.IAMReader
			if trustFile == "" || providerURL == "" {
				cfg, err := awsconfig.Load(ctx, os.Getenv)
				if errors.Is(err, awsconfig.ErrNoCredentials) {
					return errors.New("no AWS credentials to read the role and its provider from IAM: source the env file keyless up wrote (. .keyless/env), set AWS credentials, or pass --trust-policy FILE and --provider-url URL")
				}
				if err != nil {
					return err
				}
				reader.Client = iam.NewFromConfig(cfg)
			}
			if trustFile != "" {
				b, err := os.ReadFile(trustFile)
				if err != nil {
					return fmt.Errorf("read trust policy: %w", err)
				}
				in.TrustPolicy = string(b)
			} else {
				doc, err := reader.TrustPolicy(ctx, roleARN)
				if err != nil {
					return fmt.Errorf("%w (or pass --trust-policy FILE)", err)
				}
				in.TrustPolicy = doc
			}
			if providerURL != "" {
				in.Providers = []oidc.Provider{explain.ProviderForURL(roleARN, providerURL, clientIDs)}
			} else {
				ps, err := reader.Providers(ctx)
				if err != nil {
					return fmt.Errorf("%w (or pass --provider-url and --client-id)", err)
				}
				in.Providers = ps
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
				in.Signature = explain.OIDCChecker{RootCAs: pool, Aliases: aliases}
			}
			rep := explain.Run(ctx, in)
			if len(chain) > 0 {
				return explainChain(cmd, s, explain.ChainInput{WebIdentity: &rep, Roles: chain,
					ExternalID: externalID, SessionName: sessionName, SourceIP: sourceIP, Now: in.Now}, dataDir, dsn, output)
			}
			return writeExplained(s, output, rep, rep.Verdict)
		},
	}
	f := cmd.Flags()
	f.StringVar(&roleARN, "role-arn", os.Getenv("AWS_ROLE_ARN"), "role to check (default $AWS_ROLE_ARN)")
	f.StringVar(&token, "token", "", "the web identity token")
	f.StringVar(&tokenFile, "token-file", "", "file holding the token (e.g. $AWS_WEB_IDENTITY_TOKEN_FILE)")
	f.StringVar(&tokenEnv, "token-env", "", "environment variable holding the token")
	f.StringVar(&trustFile, "trust-policy", "", "trust policy JSON file instead of IAM GetRole")
	f.StringVar(&providerURL, "provider-url", "", "issuer URL of the IAM OIDC provider instead of reading IAM")
	f.StringArrayVar(&clientIDs, "client-id", nil, "client ID (audience) of the provider given with --provider-url (repeatable)")
	f.StringVar(&sourceIP, "source-ip", "", "address the step calls STS from, for aws:SourceIp conditions")
	f.StringVar(&sessionName, "session-name", "", "RoleSessionName, for sts:RoleSessionName conditions")
	f.BoolVar(&verify, "verify", true, "verify the signature against the issuer's published keys")
	f.StringVar(&caFile, "ca-bundle", os.Getenv("KEYLESS_CA_BUNDLE"), "extra PEM CA bundle to trust for the issuer (default $KEYLESS_CA_BUNDLE)")
	f.StringVar(&output, "output", "text", "output: text or json")
	f.StringVar(&callerARN, "caller-arn", "", "explain sts:AssumeRole of --role-arn by this caller (role session or IAM user ARN) instead of a token")
	f.StringSliceVar(&roleChain, "role-chain", nil, "then explain assuming these roles in order with sts:AssumeRole, each by the previous hop's session (comma-separated ARNs, as keyless login --role-chain)")
	f.StringVar(&externalID, "external-id", "", "sts:ExternalId that the sts:AssumeRole hops pass")
	f.StringVar(&dataDir, "data", defaultDataDir(), "data directory of keyless up, whose stores the sts:AssumeRole hops read")
	f.StringVar(&dsn, "store", "", "PostgreSQL DSN, when keyless up runs with a PostgreSQL store")
	return cmd
}

// explainChain explains the sts:AssumeRole hops of in, reading the roles and
// policies from the stores of keyless up (dataDir or dsn), prints the report
// and returns the exit status: 0 admitted, 1 denied, 2 undetermined.
func explainChain(cmd *cobra.Command, s Streams, in explain.ChainInput, dataDir, dsn, output string) error {
	ctx := cmd.Context()
	stores, err := server.OpenAccountStores(ctx, dataDir, dsn)
	if err != nil {
		return fmt.Errorf("explain: read the accounts of keyless up: %w (pass --data DIR or --store DSN)", err)
	}
	defer stores.Close()
	in.Store = stores.Store
	rep, err := explain.Chain(ctx, in)
	if err != nil {
		return err
	}
	return writeExplained(s, output, rep, rep.Verdict)
}

// writeExplained prints an explain report (a token's or a chain's) as text or
// JSON and returns the exit status of its verdict: 0 admitted, 1 denied, 2
// undetermined.
func writeExplained(s Streams, output string, rep interface{ WriteText(io.Writer) error }, v explain.Verdict) error {
	if output == "json" {
		enc := json.NewEncoder(s.Out)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep); err != nil {
			return err
		}
	} else if err := rep.WriteText(s.Out); err != nil {
		return err
	}
	switch v {
	case explain.VerdictAdmitted:
		return nil
	case explain.VerdictUndetermined:
		return &ExitError{Code: 2}
	}
	return &ExitError{Code: 1}
}
