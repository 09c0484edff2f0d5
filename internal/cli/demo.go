package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/spf13/cobra"

	"github.com/keyless-dev/keyless/client"
	"github.com/keyless-dev/keyless/explain"
	"github.com/keyless-dev/keyless/internal/server"
	"github.com/keyless-dev/keyless/issuer"
	"github.com/keyless-dev/keyless/oidc"
	"github.com/keyless-dev/keyless/policy"
)

func newDemoCmd(s Streams) *cobra.Command {
	var keep bool
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Run the seed articles' scenario end to end on a temporary local stack",
		Long: `Start keyless up in-process on a temporary data directory, register its Bitbucket-style
issuer as an IAM OIDC provider, create a role that admits one repository's production
deployment environment, mint that step's token, log in and call whoami; then show a
step from another repository being denied and explain saying why.`,
		Example: "  keyless demo\n  keyless demo --keep   # keep the data directory to look at afterwards",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			dir, err := os.MkdirTemp("", "keyless-demo-")
			if err != nil {
				return fmt.Errorf("demo: %w", err)
			}
			if !keep {
				defer os.RemoveAll(dir)
			}
			if err := runDemo(cmd.Context(), s.Out, dir); err != nil {
				return err
			}
			if keep {
				fmt.Fprintf(s.Out, "\nThe data directory is kept: %s (start it again with `keyless up --data %s`)\n", dir, dir)
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&keep, "keep", false, "keep the temporary data directory (store, keys, CA, env file) and print its path")
	cmd.AddCommand(newDemoRotateCmd(s))
	return cmd
}

// runDemo is the demo's script; every step prints what it did.
func runDemo(ctx context.Context, out io.Writer, dir string) error {
	step := 0
	say := func(format string, args ...any) {
		step++
		fmt.Fprintf(out, "\n%d. %s\n", step, fmt.Sprintf(format, args...))
	}
	detail := func(format string, args ...any) { fmt.Fprintf(out, "   %s\n", fmt.Sprintf(format, args...)) }

	const workspace, repo, otherRepo, env = "acme", "web", "api", "production"
	srv, err := server.Start(ctx, server.Options{
		Config:  server.Config{Listen: "127.0.0.1:0", DefaultWorkspace: workspace},
		DataDir: dir,
		Getenv:  func(string) string { return "" },
		Logger:  slog.New(slog.DiscardHandler),
	})
	if err != nil {
		return fmt.Errorf("demo: start the local stack: %w", err)
	}
	defer srv.Shutdown(context.Background())
	issuerURL := srv.IssuerURL()
	audience := issuer.WorkspaceAudience(issuer.WorkspaceUUID(workspace))
	say("Started keyless up in-process (data in %s)", dir)
	detail("AWS endpoint: %s", srv.Endpoint())
	detail("issuer of workspace %q: %s", workspace, issuerURL)

	root := srv.Root()
	cfg := aws.Config{Region: "us-east-1", BaseEndpoint: aws.String(srv.Endpoint()),
		Credentials: credentials.NewStaticCredentialsProvider(root.AccessKeyID, root.SecretAccessKey, "")}
	iamc := iam.NewFromConfig(cfg)
	prov, err := iamc.CreateOpenIDConnectProvider(ctx, &iam.CreateOpenIDConnectProviderInput{Url: aws.String(issuerURL), ClientIDList: []string{audience}})
	if err != nil {
		return fmt.Errorf("demo: register the issuer: %w", err)
	}
	providerARN := aws.ToString(prov.OpenIDConnectProviderArn)
	providerURL := strings.TrimPrefix(issuerURL, "https://")
	say("Registered the issuer as an IAM OpenID Connect provider (aws iam create-open-id-connect-provider)")
	detail("provider: %s", providerARN)
	detail("client ID (audience): %s", audience)

	repoUUID := "{" + issuer.RepositoryUUID(workspace, repo) + "}"
	envUUID := "{" + issuer.EnvironmentUUID(workspace, repo, env) + "}"
	trustDoc, err := policy.WebIdentityTrust{Sid: "WebProductionOnly", ProviderARN: providerARN, ProviderURL: providerURL,
		Audience: audience, Subject: repoUUID + ":" + envUUID + ":*"}.Marshal()
	if err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	role, err := iamc.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("deploy-web-production"), AssumeRolePolicyDocument: aws.String(string(trustDoc))})
	if err != nil {
		return fmt.Errorf("demo: create the role: %w", err)
	}
	roleARN := aws.ToString(role.Role.Arn)
	say("Created role %s; its trust policy admits only %s/%s deploying to %s:", roleARN, workspace, repo, env)
	detail("StringEquals %s:aud = %s", providerURL, audience)
	detail("StringLike   %s:sub = %s:%s:*", providerURL, repoUUID, envUUID)

	tok, err := srv.Issuer().Mint(ctx, issuer.MintRequest{Workspace: workspace, Repository: repo, Environment: env, Branch: "main"})
	if err != nil {
		return fmt.Errorf("demo: mint the step token: %w", err)
	}
	say("Minted the step token a deployment step of %s/%s gets with `oidc: true` (BITBUCKET_STEP_OIDC_TOKEN)", workspace, repo)
	detail("sub: %s", tok.Claims.Subject)
	detail("expires: %s", time.Unix(tok.Claims.Expiry, 0).UTC().Format(time.RFC3339))

	exchange := func(raw string) (client.Credentials, error) {
		ex, err := client.NewExchanger(client.ExchangeOptions{RoleARN: roleARN, SessionName: "bitbucket-web-1", Endpoint: srv.Endpoint(), MaxAttempts: 1})
		if err != nil {
			return client.Credentials{}, err
		}
		return ex.Exchange(ctx, raw)
	}
	creds, err := exchange(tok.Raw)
	if err != nil {
		return fmt.Errorf("demo: log in: %w", err)
	}
	say("keyless login: exchanged the token with AssumeRoleWithWebIdentity")
	detail("temporary credentials %s… for %s, valid until %s", creds.AccessKeyID[:8], creds.AssumedRoleARN, creds.Expiration.UTC().Format(time.RFC3339))

	stsc := sts.NewFromConfig(aws.Config{Region: "us-east-1", BaseEndpoint: aws.String(srv.Endpoint()),
		Credentials: credentials.NewStaticCredentialsProvider(creds.AccessKeyID, creds.SecretAccessKey, creds.SessionToken)})
	who, err := stsc.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		return fmt.Errorf("demo: whoami: %w", err)
	}
	say("keyless whoami (aws sts get-caller-identity) with those credentials")
	detail("Account: %s", aws.ToString(who.Account))
	detail("Arn:     %s", aws.ToString(who.Arn))
	detail("UserId:  %s", aws.ToString(who.UserId))

	other, err := srv.Issuer().Mint(ctx, issuer.MintRequest{Workspace: workspace, Repository: otherRepo, Branch: "main"})
	if err != nil {
		return fmt.Errorf("demo: mint the other step's token: %w", err)
	}
	_, err = exchange(other.Raw)
	var xe *client.ExchangeError
	if err == nil || !errors.As(err, &xe) || xe.Code != "AccessDenied" {
		return fmt.Errorf("demo: a step of %s/%s was not refused as it should be: %v", workspace, otherRepo, err)
	}
	say("A step of %s/%s tries the same role and is refused", workspace, otherRepo)
	detail("STS: %s (HTTP %d): %s", xe.Code, xe.StatusCode, xe.Message)
	if xe.Hint != "" {
		detail("hint: %s", xe.Hint)
	}

	say("keyless explain says why:")
	rep := explain.Run(ctx, explain.Input{
		Token: other.Raw, RoleARN: roleARN, TrustPolicy: string(trustDoc), Now: time.Now(),
		Providers: []oidc.Provider{{ARN: providerARN, URL: providerURL, ClientIDs: []string{audience}}},
		Signature: explain.OIDCChecker{RootCAs: srv.CAPool()},
	})
	var b strings.Builder
	rep.WriteText(&b)
	for _, line := range strings.Split(strings.TrimRight(b.String(), "\n"), "\n") {
		detail("%s", line)
	}
	if rep.Admitted {
		return errors.New("demo: explain admitted a token STS refused")
	}
	fmt.Fprintf(out, "\nDone: one repository's deployment step got short-lived credentials with no stored secret; another was refused, with the reason.\n")
	return nil
}
