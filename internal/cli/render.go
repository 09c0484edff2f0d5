package cli

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/keyless-dev/keyless/ipranges"
	"github.com/keyless-dev/keyless/provision"
	"github.com/keyless-dev/keyless/provision/render"
	"github.com/keyless-dev/keyless/provision/render/cdk"
	"github.com/keyless-dev/keyless/provision/render/cloudformation"
	"github.com/keyless-dev/keyless/provision/render/terraform"
)

// renderers are the formats of "keyless render", in the order help lists them.
var renderers = []render.Renderer{cloudformation.Renderer{}, terraform.Renderer{}, cdk.Renderer{}, render.JSON{}}

// newRenderCmd builds "keyless render", which writes a config's desired IAM state
// as infrastructure as code.
func newRenderCmd(s Streams) *cobra.Command {
	var formats []string
	for _, r := range renderers {
		formats = append(formats, r.Format())
	}
	var (
		format, file, out, ipFile string
	)
	cmd := &cobra.Command{
		Use:   "render",
		Short: "Write keyless.yaml's providers and roles as CloudFormation, Terraform, CDK or JSON",
		Long: `Turn the IAM OpenID Connect providers and roles a keyless.yaml describes into
infrastructure as code, for teams that deploy IAM with their own tools:

  cloudformation  template.yaml: AWS::IAM::OIDCProvider and AWS::IAM::Role resources,
                  a thumbprint parameter for each provider with thumbprints, the ARNs as outputs
  terraform       main.tf for hashicorp/aws 5.x: aws_iam_openid_connect_provider,
                  aws_iam_role, aws_iam_role_policy, aws_iam_role_policy_attachment
  cdk             a CDK app in plain JavaScript (app.js, package.json, cdk.json):
                  npm install, then node app.js or npx cdk deploy
  json            state.json: the desired state itself

With an accounts section in the config, cloudformation writes a StackSet:
template.yaml, the same template (every ARN of the deploying account is
${AWS::AccountId}, so it serves every account), and stackset-parameters.json,
one entry per target account with its parameter overrides, for aws
cloudformation create-stack-set and create-stack-instances; name a directory
with -o DIR.

The documents are those keyless validates and lints. Where the config has no
account, ARNs take the deploying account from the tool (AWS::AccountId,
aws_caller_identity), and every ARN takes the partition from it. Roles whose
source_ips name atlassian:bitbucket get Atlassian's current ranges, fetched from
` + ipranges.DefaultURL + ` or read from --ip-ranges-file.

Without -o the one file of cloudformation, terraform and json goes to standard
output; -o FILE writes it there, -o DIR (an existing directory) into it. cdk
writes several files and needs -o DIR. The output depends only on the config.`,
		Example: `  keyless render --format cloudformation > template.yaml
  keyless render --format terraform -f ci/aws.yaml -o infra/iam/main.tf
  keyless render --format cdk -o iam-app && cd iam-app && npm install && npx cdk synth`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var r render.Renderer
			for _, c := range renderers {
				if c.Format() == format {
					r = c
				}
			}
			if r == nil {
				return fmt.Errorf("render: --format %q: want one of %s", format, strings.Join(formats, ", "))
			}
			spec, err := provision.Load(file)
			if err != nil {
				return err
			}
			st, err := provision.Desired(spec)
			if err != nil {
				return err
			}
			if st.Pending() {
				if st, err = st.Resolve(cmd.Context(), ipranges.Source{File: ipFile}); err != nil {
					return fmt.Errorf("render: %w", err)
				}
			}
			for _, f := range st.Findings {
				fmt.Fprintf(s.Err, "keyless render: %s: role %s, %s policy: %s (%s)\n", f.Severity, f.Role, f.Policy, f.Message, f.RuleID)
			}
			var files []render.File
			if spec.Accounts != nil && format == (cloudformation.Renderer{}).Format() {
				files, err = cloudformation.StackSet(st, spec.Accounts.Targets)
				if ou := spec.Accounts.OrganizationalUnit; ou != "" && err == nil {
					fmt.Fprintf(s.Err, "keyless render: accounts.organizational_unit %s: render does not list its accounts; %s has the listed targets only: deploy to the OU with aws cloudformation create-stack-instances --deployment-targets OrganizationalUnitIds=%s\n", ou, cloudformation.ParametersFileName, ou)
				}
			} else {
				files, err = r.Render(st)
			}
			if err != nil {
				return err
			}
			return writeRendered(s, files, out, format)
		},
	}
	cmd.Flags().StringVar(&format, "format", "", "output format: "+strings.Join(formats, ", ")+" (required)")
	cmd.Flags().StringVarP(&file, "file", "f", "keyless.yaml", "the config to render")
	cmd.Flags().StringVarP(&out, "output", "o", "", "write to FILE, or into the existing directory DIR (cdk: the directory, created if need be)")
	cmd.Flags().StringVar(&ipFile, "ip-ranges-file", "", "a saved copy of Atlassian's IP-range feed, for source_ips: atlassian:bitbucket")
	_ = cmd.MarkFlagRequired("format")
	return cmd
}

// writeRendered writes files to standard output (one file, no -o), to the file
// out (one file, out not a directory) or into the directory out.
func writeRendered(s Streams, files []render.File, out, format string) error {
	info, statErr := os.Stat(out)
	isDir := statErr == nil && info.IsDir()
	switch {
	case out == "" && len(files) == 1:
		_, err := s.Out.Write(files[0].Data)
		return err
	case out == "":
		var names []string
		for _, f := range files {
			names = append(names, f.Name)
		}
		return fmt.Errorf("render: --format %s writes %d files (%s): name a directory with -o DIR", format, len(files), strings.Join(names, ", "))
	case len(files) == 1 && !isDir:
		if err := os.WriteFile(out, files[0].Data, 0o644); err != nil {
			return fmt.Errorf("render: %w", err)
		}
		_, err := fmt.Fprintf(s.Out, "wrote %s\n", out)
		return err
	}
	if statErr != nil && !errors.Is(statErr, fs.ErrNotExist) {
		return fmt.Errorf("render: %w", statErr)
	}
	if statErr == nil && !isDir {
		return fmt.Errorf("render: %s is a file: --format %s writes several files, name a directory", out, format)
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return fmt.Errorf("render: %w", err)
	}
	for _, f := range files {
		p := filepath.Join(out, f.Name)
		if err := os.WriteFile(p, f.Data, 0o644); err != nil {
			return fmt.Errorf("render: %w", err)
		}
		if _, err := fmt.Fprintf(s.Out, "wrote %s\n", p); err != nil {
			return err
		}
	}
	return nil
}
