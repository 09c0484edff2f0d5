package cli

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/keyless-dev/keyless/deploy/pipe"
)

func newPipeCmd(s Streams) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "pipe",
		Short: "Drop-in steps for the Atlassian aws-s3-deploy and aws-cloudfront-invalidate pipes",
		Long: `Run a Bitbucket Pipelines pipe's job from the same variables, in the environment, so a
step swaps ` + "`pipe: atlassian/aws-s3-deploy:1.1.0`" + ` for ` + "`keyless pipe aws-s3-deploy`" + ` and keeps
its variables. The work is done by keyless deploy (by content, exact invalidations);
the step's OIDC token is used when AWS_OIDC_ROLE_ARN is set. Like the pipes, it ends
with a ✔ success line, or a ✖ failure line and exit status 1.`,
		Example: `  # bitbucket-pipelines.yml, a step with oidc: true and the pipe's variables:
  keyless pipe aws-s3-deploy
  keyless pipe aws-cloudfront-invalidate`,
	}
	cmd.AddCommand(&cobra.Command{
		Use:   "aws-s3-deploy",
		Short: "atlassian/aws-s3-deploy from its variables: S3_BUCKET, LOCAL_PATH, EXTRA_ARGS, …",
		Long: `Deploy LOCAL_PATH to S3_BUCKET as the aws-s3-deploy pipe does, by content.

Variables: AWS_DEFAULT_REGION; AWS_OIDC_ROLE_ARN (with the step's
BITBUCKET_STEP_OIDC_TOKEN, from ` + "`oidc: true`" + `) or AWS_ACCESS_KEY_ID and
AWS_SECRET_ACCESS_KEY; S3_BUCKET (BUCKET or BUCKET/PREFIX); LOCAL_PATH; ACL;
CONTENT_ENCODING; STORAGE_CLASS; CACHE_CONTROL; EXPIRES; DELETE_FLAG; EXTRA_ARGS (the
aws s3 sync flags: --exclude, --include, --acl, --cache-control, --content-type,
--dryrun, --size-only, --exact-timestamps, --delete, …; others are refused); DEBUG.`,
		Example: `  AWS_DEFAULT_REGION=us-east-1 AWS_OIDC_ROLE_ARN=arn:aws:iam::123456789012:role/deploy \
    S3_BUCKET=www.example.com LOCAL_PATH=build EXTRA_ARGS="--exclude '*.map'" \
    keyless pipe aws-s3-deploy`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			fmt.Fprintln(s.Out, "INFO: Starting deployment to S3...")
			d, err := pipe.ReadS3Deploy(os.Getenv)
			if err != nil {
				return pipeFailed(s, "Deployment failed", err)
			}
			args := append([]string{"s3"}, d.Args...)
			args = append(args, pipeAuthArgs(d.Region, d.RoleARN, d.OIDC, d.Debug)...)
			if err := runDeploy(cmd, s, args); err != nil {
				return pipeFailed(s, "Deployment failed", err)
			}
			fmt.Fprintln(s.Out, "✔ Deployment successful.")
			return nil
		},
	}, &cobra.Command{
		Use:   "aws-cloudfront-invalidate",
		Short: "atlassian/aws-cloudfront-invalidate from its variables: DISTRIBUTION_ID, PATHS, …",
		Long: `Invalidate PATHS (default /*) on DISTRIBUTION_ID as the aws-cloudfront-invalidate pipe
does. Variables: AWS_DEFAULT_REGION; AWS_OIDC_ROLE_ARN (with the step's
BITBUCKET_STEP_OIDC_TOKEN) or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY;
DISTRIBUTION_ID; PATHS (space separated); WAIT (true: wait until it completes); DEBUG.`,
		Example: `  AWS_DEFAULT_REGION=us-east-1 AWS_OIDC_ROLE_ARN=arn:aws:iam::123456789012:role/deploy \
    DISTRIBUTION_ID=E2QWRUHAPOMQZL PATHS='/index.html /assets/*' keyless pipe aws-cloudfront-invalidate`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			fmt.Fprintln(s.Out, "INFO: Creating a CloudFront invalidation...")
			inv, err := pipe.ReadInvalidate(os.Getenv)
			if err != nil {
				return pipeFailed(s, "Invalidation failed", err)
			}
			args := append([]string{"invalidate"}, inv.Args...)
			args = append(args, pipeAuthArgs(inv.Region, inv.RoleARN, inv.OIDC, inv.Debug)...)
			if err := runDeploy(cmd, s, args); err != nil {
				return pipeFailed(s, "Invalidation failed", err)
			}
			fmt.Fprintln(s.Out, "✔ Invalidation created successfully.")
			return nil
		},
	})
	return cmd
}

// pipeAuthArgs are the deploy flags for a pipe's region, role and DEBUG.
func pipeAuthArgs(region, roleARN string, oidc, debug bool) []string {
	args := []string{"--region", region}
	if oidc {
		args = append(args, "--role-arn", roleARN)
	}
	if debug {
		args = append(args, "--log-level", "debug")
	}
	return args
}

// runDeploy runs `keyless deploy ARGS…` in this process.
func runDeploy(parent *cobra.Command, s Streams, args []string) error {
	d := newDeployCmd(s)
	d.SilenceUsage, d.SilenceErrors = true, true
	d.SetArgs(args)
	d.SetIn(s.In)
	d.SetOut(s.Out)
	d.SetErr(s.Err)
	return d.ExecuteContext(parent.Context())
}

// pipeFailed prints the pipes' failure line and ends with status 1.
func pipeFailed(s Streams, what string, err error) error {
	fmt.Fprintf(s.Err, "✖ %s: %v\n", what, err)
	return &ExitError{Code: 1}
}
