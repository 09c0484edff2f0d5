package cli

import (
	"bufio"
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/keyless-dev/keyless/provision"
)

// newApplyCmd builds "keyless apply".
func newApplyCmd(s Streams) *cobra.Command {
	var (
		flags       provisionFlags
		autoApprove bool
		allowRisky  bool
		quotas      provision.Quotas
	)
	cmd := &cobra.Command{
		Use:   "apply",
		Short: "Create, update and delete IAM providers, roles and policies to match keyless.yaml or a CloudFormation template",
		Long: `Plan as "keyless plan" does (from keyless.yaml, or from a CloudFormation template
with --cloudformation TEMPLATE --parameter KEY=VALUE... [--stack-name NAME]), print
the plan, ask for "yes", and carry it out in dependency order: providers before the
roles that trust them, customer managed policies before the roles that attach them,
each role before its policies and attachments, deletions last (a policy after the
roles that detach it). A changed managed policy gets a new default version; when it
has IAM's 5 versions, its oldest non-default version is deleted first. A second
apply changes nothing.

apply never touches or deletes what it did not create: only entities tagged
keyless:managed with the config's name are changed or deleted, and an existing
entity of the same name without that tag is an error naming it. Trust policies are
changed in place (UpdateAssumeRolePolicy), never by deleting and recreating a role.

Before any IAM call, apply refuses error-severity lint findings unless
--allow-risky, and plans that exceed IAM's quotas: a trust policy of more than
2048 characters (the default quota; AWS raises it to 4096 on request: pass
--trust-policy-quota), more than 10 managed policies per role (raisable to 20:
--managed-policies-quota), more than 10240 characters of inline policies per role,
100 client IDs or 5 thumbprints per provider, role names over 64 characters and
paths over 512.

If an IAM call fails halfway, apply lists the calls done, the one that failed and
those not done; run it again to complete the work.

Without --auto-approve, apply asks on the terminal; when standard input is not a
terminal (CI) it refuses unless --auto-approve is given.`,
		Example: `  . .keyless/env && keyless apply
  keyless apply -f ci/aws.yaml --auto-approve
  keyless apply --auto-approve --trust-policy-quota 4096
  keyless apply --auto-approve --cloudformation bitbucket-oidc.yaml --parameter WorkspaceName=acme --parameter RoleName=deploy`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			if err := quotas.Validate(); err != nil {
				return fmt.Errorf("apply: %w", err)
			}
			if !autoApprove && !isTerminal(s.In) {
				return errors.New("apply: standard input is not a terminal, so apply cannot ask for confirmation: review the changes with keyless plan, then run keyless apply --auto-approve")
			}
			plan, client, err := makePlan(ctx, flags)
			if err != nil {
				return fmt.Errorf("apply: %w", err)
			}
			if err := plan.WriteText(s.Out); err != nil {
				return err
			}
			if plan.Empty() {
				return nil
			}
			// Refuse what Apply would refuse before asking.
			opts := provision.ApplyOptions{AllowRisky: allowRisky, Quotas: quotas, Concurrency: flags.concurrency}
			if err := plan.Check(opts); err != nil {
				var le *provision.LintError
				if errors.As(err, &le) {
					return fmt.Errorf("apply: %w\npass --allow-risky to apply them anyway", err)
				}
				return fmt.Errorf("apply: %w", err)
			}
			if !autoApprove {
				fmt.Fprint(s.Err, "\nApply these changes? Only \"yes\" applies them: ")
				line, err := bufio.NewReader(s.In).ReadString('\n')
				if strings.TrimSpace(line) != "yes" {
					if err != nil && line == "" {
						return fmt.Errorf("apply: no answer (%w): nothing was changed", err)
					}
					return errors.New("apply: not confirmed: nothing was changed")
				}
			}
			rep, err := provision.Apply(ctx, client, plan, opts)
			if werr := rep.WriteText(s.Out); werr != nil && err == nil {
				return werr
			}
			if err != nil {
				return fmt.Errorf("apply: %w", err)
			}
			return nil
		},
	}
	flags.register(cmd.Flags())
	cmd.Flags().BoolVar(&autoApprove, "auto-approve", false, "apply without asking (for CI)")
	cmd.Flags().BoolVar(&allowRisky, "allow-risky", false, "apply even with error-severity lint findings")
	cmd.Flags().IntVar(&quotas.TrustPolicyChars, "trust-policy-quota", provision.DefaultTrustPolicyChars, "the account's role trust policy length quota (raisable to 4096)")
	cmd.Flags().IntVar(&quotas.ManagedPoliciesPerRole, "managed-policies-quota", provision.DefaultManagedPoliciesPerRole, "the account's managed policies per role quota (raisable to 20)")
	return cmd
}
