package cli

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/spf13/cobra"

	"github.com/keyless-dev/keyless/awsconfig"
	"github.com/keyless-dev/keyless/client"
)

func newWhoamiCmd(s Streams) *cobra.Command {
	var output, region, endpoint string
	cmd := &cobra.Command{
		Use:   "whoami",
		Short: "Show the AWS identity the current credentials belong to",
		Long: `Call STS GetCallerIdentity with the AWS SDK's default credential chain (environment,
profiles, web identity, container credentials, instance roles) and print the account,
ARN and user ID. AWS_ENDPOINT_URL_STS and AWS_ENDPOINT_URL are honoured, as by every
AWS SDK.`,
		Example: `  keyless whoami
  keyless exec -- keyless whoami --output json
  AWS_PROFILE=ci keyless whoami`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if output != "text" && output != "json" {
				return fmt.Errorf("invalid --output %q: use text or json", output)
			}
			ctx := cmd.Context()
			var opts []func(*config.LoadOptions) error
			if region != "" {
				opts = append(opts, config.WithRegion(region))
			}
			cfg, err := config.LoadDefaultConfig(ctx, opts...)
			if err != nil {
				return fmt.Errorf("whoami: load AWS configuration: %w", err)
			}
			if cfg.Region == "" {
				cfg.Region = client.DefaultRegion
			}
			// Ask the chain first: when it found nothing, its error lists every
			// provider it tried, which says less to a person than what to do.
			if err := awsconfig.CheckCredentials(ctx, cfg); errors.Is(err, awsconfig.ErrNoCredentials) {
				return errors.New("whoami: no AWS credentials found (environment, profile, web identity, container or instance role): run it under `keyless exec -- keyless whoami`, or `eval \"$(keyless login)\"` first")
			} else if err != nil {
				return fmt.Errorf("whoami: %w", err)
			}
			stsClient := sts.NewFromConfig(cfg, func(o *sts.Options) {
				if endpoint != "" {
					o.BaseEndpoint = aws.String(endpoint)
				}
			})
			out, err := stsClient.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
			if err != nil {
				return fmt.Errorf("whoami: get caller identity: %w", err)
			}
			id := struct {
				Account string `json:"Account"`
				Arn     string `json:"Arn"`
				UserID  string `json:"UserId"`
			}{aws.ToString(out.Account), aws.ToString(out.Arn), aws.ToString(out.UserId)}
			if output == "json" {
				b, err := json.MarshalIndent(id, "", "  ")
				if err != nil {
					return err
				}
				_, err = fmt.Fprintf(s.Out, "%s\n", b)
				return err
			}
			_, err = fmt.Fprintf(s.Out, "Account  %s\nArn      %s\nUserId   %s\n", id.Account, id.Arn, id.UserID)
			return err
		},
	}
	cmd.Flags().StringVar(&output, "output", "text", "output: text or json")
	cmd.Flags().StringVar(&region, "region", "", "AWS region (default from the environment or profile, else us-east-1)")
	cmd.Flags().StringVar(&endpoint, "sts-endpoint", "", "STS endpoint URL (default $AWS_ENDPOINT_URL_STS, else $AWS_ENDPOINT_URL, else AWS)")
	return cmd
}
