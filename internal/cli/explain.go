package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/spf13/cobra"

	"github.com/keyless-dev/keyless/client"
	"github.com/keyless-dev/keyless/explain"
	"github.com/keyless-dev/keyless/oidc"
)

func newExplainCmd(s Streams) *cobra.Command {
	var (
		roleARN, token, tokenFile, tokenEnv, trustFile string
		providerURL, sourceIP, sessionName, output     string
		caFile                                         string
		clientIDs                                      []string
		verify                                         bool
	)
	cmd := &cobra.Command{
		Use:   "explain --role-arn ARN [--token TOKEN]",
		Short: "Say whether a token would assume a role, and if not, why",
		Long: `Replay what STS checks for AssumeRoleWithWebIdentity — issuer registered, audience
among the provider's client IDs, signature, expiry, each trust-policy condition — and
print PASS or FAIL for each with expected against actual and a concrete fix.

The role's trust policy comes from IAM GetRole (with the default AWS credential chain,
or the root credentials of a sourced keyless env file), or from --trust-policy. The
provider comes from IAM, or from --provider-url and --client-id. The token comes from
--token, --token-file, --token-env or BITBUCKET_STEP_OIDC_TOKEN.
Exit status 0 when the token would be admitted, 1 when not.`,
		Example: `  keyless explain --role-arn arn:aws:iam::123456789012:role/deploy
  keyless explain --role-arn arn:aws:iam::123456789012:role/deploy --token-file web-identity-token --source-ip 34.199.54.113
  keyless explain --role-arn arn:aws:iam::123456789012:role/deploy --trust-policy trust.json \
      --provider-url https://api.bitbucket.org/2.0/workspaces/acme/pipelines-config/identity/oidc --client-id ari:cloud:bitbucket::workspace/<uuid>`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			if output != "text" && output != "json" {
				return fmt.Errorf("invalid --output %q: use text or json", output)
			}
			if roleARN == "" {
				return errors.New("--role-arn is required")
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
			var iamClient *iam.Client
			needIAM := trustFile == "" || providerURL == ""
			if needIAM {
				cfg, err := awsConfig(ctx)
				if err != nil {
					return err
				}
				iamClient = iam.NewFromConfig(cfg)
			}
			if trustFile != "" {
				b, err := os.ReadFile(trustFile)
				if err != nil {
					return fmt.Errorf("read trust policy: %w", err)
				}
				in.TrustPolicy = string(b)
			} else {
				doc, err := trustPolicyOf(ctx, iamClient, roleARN)
				if err != nil {
					return err
				}
				in.TrustPolicy = doc
			}
			if providerURL != "" {
				u := strings.TrimPrefix(providerURL, "https://")
				acct := client.ARNAccount(roleARN)
				in.Providers = []oidc.Provider{{URL: u, ARN: "arn:aws:iam::" + acct + ":oidc-provider/" + u, ClientIDs: clientIDs}}
			} else {
				ps, err := providersOf(ctx, iamClient)
				if err != nil {
					return err
				}
				in.Providers = ps
			}
			if verify {
				pool, err := certPool(caFile)
				if err != nil {
					return err
				}
				in.Signature = explain.OIDCChecker{RootCAs: pool}
			}
			rep := explain.Run(ctx, in)
			if output == "json" {
				enc := json.NewEncoder(s.Out)
				enc.SetIndent("", "  ")
				if err := enc.Encode(rep); err != nil {
					return err
				}
			} else if err := rep.WriteText(s.Out); err != nil {
				return err
			}
			if !rep.Admitted {
				return &ExitError{Code: 1}
			}
			return nil
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
	return cmd
}

// awsConfig is the default AWS configuration; with a keyless env file sourced and no
// AWS credentials of its own, it signs with the local root credentials.
func awsConfig(ctx context.Context) (aws.Config, error) {
	var opts []func(*config.LoadOptions) error
	if os.Getenv("AWS_REGION") == "" && os.Getenv("AWS_DEFAULT_REGION") == "" {
		opts = append(opts, config.WithRegion("us-east-1"))
	}
	if id, secret := os.Getenv("KEYLESS_ROOT_ACCESS_KEY_ID"), os.Getenv("KEYLESS_ROOT_SECRET_ACCESS_KEY"); id != "" && secret != "" &&
		os.Getenv("AWS_ACCESS_KEY_ID") == "" && os.Getenv("AWS_PROFILE") == "" && os.Getenv("AWS_ROLE_ARN") == "" {
		opts = append(opts, config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider(id, secret, "")))
	}
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return aws.Config{}, fmt.Errorf("load AWS configuration: %w", err)
	}
	return cfg, nil
}

func trustPolicyOf(ctx context.Context, c *iam.Client, roleARN string) (string, error) {
	name := roleARN[strings.LastIndex(roleARN, "/")+1:]
	out, err := c.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String(name)})
	if err != nil {
		return "", fmt.Errorf("read the trust policy of %s with iam:GetRole (or pass --trust-policy FILE): %w", roleARN, err)
	}
	doc := aws.ToString(out.Role.AssumeRolePolicyDocument)
	if dec, err := url.QueryUnescape(doc); err == nil {
		doc = dec // IAM returns the document percent-encoded
	}
	return doc, nil
}

func providersOf(ctx context.Context, c *iam.Client) ([]oidc.Provider, error) {
	list, err := c.ListOpenIDConnectProviders(ctx, &iam.ListOpenIDConnectProvidersInput{})
	if err != nil {
		return nil, fmt.Errorf("list IAM OIDC providers (or pass --provider-url and --client-id): %w", err)
	}
	var out []oidc.Provider
	for _, e := range list.OpenIDConnectProviderList {
		p, err := c.GetOpenIDConnectProvider(ctx, &iam.GetOpenIDConnectProviderInput{OpenIDConnectProviderArn: e.Arn})
		if err != nil {
			return nil, fmt.Errorf("read IAM OIDC provider %s: %w", aws.ToString(e.Arn), err)
		}
		out = append(out, oidc.Provider{ARN: aws.ToString(e.Arn), URL: aws.ToString(p.Url), ClientIDs: p.ClientIDList, Thumbprints: p.ThumbprintList})
	}
	return out, nil
}
