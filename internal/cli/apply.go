package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/keyless-dev/keyless/atomicfile"
	"github.com/keyless-dev/keyless/provision"
)

// newApplyCmd builds "keyless apply".
func newApplyCmd(s Streams) *cobra.Command {
	var (
		flags       provisionFlags
		autoApprove bool
		allowRisky  bool
		quotas      provision.Quotas
		reportFile  string
		onlyFailed  string
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

With an accounts section in keyless.yaml, apply plans each target account as
"keyless plan" does (through the admin role assumed there), prints the plans in
account order, asks once, and applies the accounts --parallel at once. An
account that fails leaves the others applied; the outcome of every account is
printed in account order, the failed ones are named, and the exit status is 1.
--report FILE writes each account's outcome as JSON; apply --only-failed FILE
re-runs only the accounts that report marks failed (with --report FILE, their
new outcome is merged into it). A second apply changes nothing in any account.

Without --auto-approve, apply asks on the terminal; when standard input is not a
terminal (CI) it refuses unless --auto-approve is given.`,
		Example: `  . .keyless/env && keyless apply
  keyless apply -f ci/aws.yaml --auto-approve
  keyless apply --auto-approve --trust-policy-quota 4096
  keyless apply --auto-approve --parallel 8 --report accounts.json
  keyless apply --auto-approve --only-failed accounts.json --report accounts.json
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
			src, err := flags.readSource()
			if err != nil {
				return fmt.Errorf("apply: %w", err)
			}
			opts := provision.ApplyOptions{AllowRisky: allowRisky, Quotas: quotas, Concurrency: flags.concurrency}
			if src.accounts() != nil {
				return applyAccountsCmd(ctx, s, flags, src, applyAccountsOptions{apply: opts, autoApprove: autoApprove, report: reportFile, onlyFailed: onlyFailed})
			}
			if reportFile != "" || onlyFailed != "" {
				return fmt.Errorf("apply: --report and --only-failed go with target accounts: %s has no accounts section", flags.file)
			}
			plan, client, err := makePlan(ctx, flags, src)
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
			if err := plan.Check(opts); err != nil {
				var le *provision.LintError
				if errors.As(err, &le) {
					return fmt.Errorf("apply: %w\npass --allow-risky to apply them anyway", err)
				}
				return fmt.Errorf("apply: %w", err)
			}
			if !autoApprove {
				if err := confirm(s); err != nil {
					return err
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
	cmd.Flags().StringVar(&reportFile, "report", "", "with accounts in the config: write each account's outcome to FILE (JSON), for --only-failed")
	cmd.Flags().StringVar(&onlyFailed, "only-failed", "", "with accounts in the config: apply only the accounts the report FILE marks failed (and merge their outcome into --report)")
	cmd.Flags().IntVar(&quotas.ManagedPoliciesPerRole, "managed-policies-quota", provision.DefaultManagedPoliciesPerRole, "the account's managed policies per role quota (raisable to 20)")
	return cmd
}

// confirm asks on the terminal whether to apply and returns an error unless the
// answer is "yes".
func confirm(s Streams) error {
	fmt.Fprint(s.Err, "\nApply these changes? Only \"yes\" applies them: ")
	line, err := bufio.NewReader(s.In).ReadString('\n')
	if strings.TrimSpace(line) != "yes" {
		if err != nil && line == "" {
			return fmt.Errorf("apply: no answer (%w): nothing was changed", err)
		}
		return errors.New("apply: not confirmed: nothing was changed")
	}
	return nil
}

// applyAccountsOptions are the flags of a multi-account apply.
type applyAccountsOptions struct {
	apply       provision.ApplyOptions
	autoApprove bool
	report      string // --report FILE
	onlyFailed  string // --only-failed FILE
}

// applyAccountsCmd is "keyless apply" for a config with target accounts: it
// plans every account (or, with --only-failed, those a report marks failed),
// prints the plans in account order, asks once, applies the accounts at most
// --parallel at once and prints each account's outcome. An account that fails
// leaves the others applied; --report records every account's outcome so that
// --only-failed re-runs the failed ones.
func applyAccountsCmd(ctx context.Context, s Streams, flags provisionFlags, src *source, o applyAccountsOptions) error {
	var (
		only     []string
		previous *provision.AccountsReport
	)
	if o.onlyFailed != "" {
		data, err := os.ReadFile(o.onlyFailed)
		if err != nil {
			return fmt.Errorf("apply: --only-failed: %w", err)
		}
		if previous, err = provision.ParseAccountsReport(data); err != nil {
			return fmt.Errorf("apply: --only-failed %s: %w", o.onlyFailed, err)
		}
		if only = previous.Failed(); len(only) == 0 {
			_, err := fmt.Fprintf(s.Out, "%s marks no account failed: nothing to re-run.\n", o.onlyFailed)
			return err
		}
		if previous.Name != "" && src.spec.Name != previous.Name {
			return fmt.Errorf("apply: --only-failed %s is the report of config %s, not %s: give the report of this config", o.onlyFailed, previous.Name, src.spec.Name)
		}
	}
	ap, err := planAccounts(ctx, flags, src, only)
	if err != nil {
		return fmt.Errorf("apply: %w", err)
	}
	if err := ap.writeText(s.Out); err != nil {
		return err
	}
	// Refuse, account by account, what Apply would refuse before asking.
	for i := range ap.plans {
		p := &ap.plans[i]
		if p.Err != nil || p.Plan.Empty() {
			continue
		}
		if err := p.Plan.Check(o.apply); err != nil {
			var le *provision.LintError
			if errors.As(err, &le) {
				err = fmt.Errorf("%w\npass --allow-risky to apply them anyway", err)
			}
			p.Err = err
		}
	}
	pending := false
	for _, p := range ap.plans {
		pending = pending || (p.Err == nil && !p.Plan.Empty())
	}
	if pending && !o.autoApprove {
		if err := confirm(s); err != nil {
			return err
		}
	}
	rep := provision.ApplyAccounts(ctx, ap.name, ap.plans, provision.FanOutOptions{Parallel: flags.parallel, Apply: o.apply})
	if err := rep.WriteText(s.Out); err != nil {
		return err
	}
	if o.report != "" {
		out := rep
		if previous != nil {
			out = previous.Merge(rep)
		}
		b, err := out.JSON()
		if err != nil {
			return fmt.Errorf("apply: %w", err)
		}
		if err := atomicfile.Write(o.report, b, 0o644); err != nil {
			return fmt.Errorf("apply: write the report: %w", err)
		}
		if _, err := fmt.Fprintf(s.Out, "Wrote the report %s.\n", o.report); err != nil {
			return err
		}
	}
	if failed := rep.Failed(); len(failed) > 0 {
		err := accountsFailedError("apply", failed, len(rep.Accounts))
		if o.report != "" {
			err = fmt.Errorf("%w; fix the cause and run keyless apply --only-failed %s --report %s to complete them", err, o.report, o.report)
		} else {
			err = fmt.Errorf("%w; fix the cause and run keyless apply again to complete them", err)
		}
		return err
	}
	return nil
}
