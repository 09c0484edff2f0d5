package cli

import (
	"errors"
	"fmt"
	"io/fs"
	"strings"

	"github.com/keyless-dev/keyless/provision"
	"github.com/spf13/cobra"
)

// newInitCmd builds "keyless init", which writes a commented starter keyless.yaml.
func newInitCmd(s Streams) *cobra.Command {
	var (
		provider string
		file     string
		force    bool
	)
	cmd := &cobra.Command{
		Use:   "init",
		Short: "Write a commented starter keyless.yaml for Bitbucket, GitHub or GitLab",
		Long: `Write a commented starter keyless.yaml: the IAM OpenID Connect provider of your CI
and a matrix of deploy roles, one per repository and environment (or branch), each
trusting only its own pipelines and granting only what an S3 deploy and a CloudFront
invalidation need. Replace the values marked REPLACE with your own.

The starter is valid as written. An existing file is kept unless --force is given.`,
		Example: `  keyless init
  keyless init --provider github
  keyless init --provider gitlab -f ci/aws.yaml --force`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := provision.WriteStarter(file, provider, force); err != nil {
				if errors.Is(err, fs.ErrExist) {
					return fmt.Errorf("%s already exists: pass --force to overwrite it, or -f FILE to write another file", file)
				}
				return err
			}
			_, err := fmt.Fprintf(s.Out, "wrote %s (%s starter): replace the values marked REPLACE with your own\n", file, provider)
			return err
		},
	}
	cmd.Flags().StringVar(&provider, "provider", provision.TypeBitbucket, "CI provider: "+strings.Join(provision.StarterProviders(), ", "))
	cmd.Flags().StringVarP(&file, "file", "f", "keyless.yaml", "file to write")
	cmd.Flags().BoolVar(&force, "force", false, "overwrite an existing file")
	return cmd
}
