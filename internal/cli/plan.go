package cli

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/keyless-dev/keyless/arn"
	"github.com/keyless-dev/keyless/awsconfig"
	"github.com/keyless-dev/keyless/ipranges"
	"github.com/keyless-dev/keyless/oidc"
	"github.com/keyless-dev/keyless/provision"
	"github.com/keyless-dev/keyless/provision/cloudformation"
	"github.com/keyless-dev/keyless/thumbprint"
)

// provisionFlags are the flags plan and apply share.
type provisionFlags struct {
	file         string
	ipRangesFile string
	ipRangesURL  string
	concurrency  int
	parallel     int
	caBundle     string
	template     templateFlags
	fs           *pflag.FlagSet
}

func (f *provisionFlags) register(fs *pflag.FlagSet) {
	f.fs = fs
	fs.StringVarP(&f.file, "file", "f", "keyless.yaml", "the config to plan")
	fs.StringVar(&f.ipRangesFile, "ip-ranges-file", "", "resolve source_ips: "+provision.RefBitbucketEgress+" from FILE, a saved copy of Atlassian's IP-range feed, instead of fetching it")
	fs.StringVar(&f.ipRangesURL, "ip-ranges-url", ipranges.DefaultURL, "URL of Atlassian's IP-range feed")
	fs.IntVar(&f.concurrency, "concurrency", provision.DefaultConcurrency, "IAM calls in flight at once")
	fs.IntVar(&f.parallel, "parallel", provision.DefaultParallel, "with accounts in the config: target accounts planned or applied at once")
	fs.StringVar(&f.caBundle, "ca-bundle", os.Getenv("KEYLESS_CA_BUNDLE"), "extra PEM CA bundle to trust when computing \"thumbprints: auto\" (default $KEYLESS_CA_BUNDLE)")
	f.template.register(fs, "plan")
}

// templateFlags select a CloudFormation template as the desired state: plan,
// apply and policy lint share them.
type templateFlags struct {
	file       string
	parameters []string
	stackName  string
}

func (t *templateFlags) register(fs *pflag.FlagSet, verb string) {
	fs.StringVar(&t.file, "cloudformation", "", verb+" the IAM resources of the CloudFormation template FILE (YAML or JSON) instead of keyless.yaml")
	fs.StringArrayVar(&t.parameters, "parameter", nil, "a template parameter, KEY=VALUE (repeatable); parameters not given take their defaults")
	fs.StringVar(&t.stackName, "stack-name", "", "the stack name (AWS::StackName, and the keyless:managed tag of everything the template creates); default: the template's file name without extension")
}

// check refuses template flags without --cloudformation.
func (t *templateFlags) check() error {
	if t.file == "" && (len(t.parameters) > 0 || t.stackName != "") {
		return errors.New("--parameter and --stack-name go with --cloudformation TEMPLATE: name the template")
	}
	return nil
}

// options returns the template's stack-level inputs but the account, partition
// and region: the parameters and the stack name (the template's base name without
// extension when --stack-name is not given).
func (t *templateFlags) options() (cloudformation.Options, error) {
	opts := cloudformation.Options{Parameters: map[string]string{}, StackName: t.stackName}
	for _, kv := range t.parameters {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return opts, fmt.Errorf("--parameter %q: write KEY=VALUE, such as --parameter RoleName=deploy", kv)
		}
		if _, dup := opts.Parameters[k]; dup {
			return opts, fmt.Errorf("--parameter %s is given twice: give each parameter once", k)
		}
		opts.Parameters[k] = v
	}
	if opts.StackName == "" {
		base := filepath.Base(t.file)
		opts.StackName = strings.TrimSuffix(base, filepath.Ext(base))
	}
	return opts, nil
}

// read reads the template's IAM resources with opts completed by options.
func (t *templateFlags) read(opts cloudformation.Options) (*provision.State, error) {
	data, err := os.ReadFile(t.file)
	if err != nil {
		return nil, fmt.Errorf("read the CloudFormation template: %w", err)
	}
	st, err := cloudformation.Read(data, opts)
	if err != nil {
		hint := ""
		if t.stackName == "" && strings.HasPrefix(err.Error(), "stack name ") {
			hint = " (the default is the template's file name without extension: pass --stack-name NAME)"
		}
		return nil, fmt.Errorf("%s: %w%s", t.file, err, hint)
	}
	return st, nil
}

const planLong = `Read the account's IAM through the IAM API and compare it with the config: the
OpenID Connect providers and roles to create, update or delete, client ID and
thumbprint changes, tags, and the trust and permission policy changes as line diffs
of the pretty-printed documents. Documents are compared by meaning (IAM returns them
percent-encoded and reordered), so an unchanged policy never shows as a change.

Only entities tagged keyless:managed with the config's name are ever deleted, when
the config no longer has them; an entity of the same name without that tag is an
error that names it, never adopted silently. The policy linter runs on every
generated document and its findings are shown.

With --cloudformation TEMPLATE, the desired state is the IAM resources of an
existing CloudFormation template instead (AWS::IAM::OIDCProvider, Role,
ManagedPolicy, Policy and RolePolicy), resolved as CloudFormation would for one
stack: --parameter KEY=VALUE for each parameter without a default, --stack-name
for AWS::StackName (default: the template's file name without extension). The
stack name is the keyless:managed tag of everything the template creates, so two
stacks never touch each other's entities.

Credentials and endpoint come from the AWS SDK's usual sources (environment,
profile, SSO; AWS_ENDPOINT_URL), or, with none of your own, from the root
credentials of a sourced keyless up env file (. .keyless/env). The account and
partition are those of the credentials (sts:GetCallerIdentity); a config that
names another account is refused. source_ips: atlassian:bitbucket is resolved from
Atlassian's feed (--ip-ranges-file for a saved copy), so a change of the feed's
ranges shows as a trust policy change. "thumbprints: auto" is computed as
"keyless thumbprint" does (trusting the system roots and --ca-bundle, default
$KEYLESS_CA_BUNDLE; an issuer keyless up serves under a production URL, named in
KEYLESS_ISSUER_ALIASES, is thumbprinted at its local issuer), so apply sets the
thumbprints and plan shows when they change.

With an accounts section in keyless.yaml (targets, or an organizational_unit
whose accounts AWS Organizations lists), the config is planned in each target
account instead, as a CloudFormation StackSet would deploy it: from the caller's
credentials (the hub) keyless assumes the admin role in each target
(accounts.admin_role, default OrganizationAccountAccessRole; session name
keyless-provision) and plans there as for one account, --parallel accounts at
once. The plans are printed in account order, then a summary naming the
accounts that failed.

Exit status: 0 when nothing would change, 2 when something would (like terraform
plan -detailed-exitcode), 1 on error (with target accounts: when one failed).`

// newPlanCmd builds "keyless plan".
func newPlanCmd(s Streams) *cobra.Command {
	var (
		flags  provisionFlags
		output string
	)
	cmd := &cobra.Command{
		Use:   "plan",
		Short: "Show what apply would change in IAM to match keyless.yaml or a CloudFormation template",
		Long:  planLong,
		Example: `  . .keyless/env && keyless plan
  keyless plan -f ci/aws.yaml --output json
  keyless plan --ip-ranges-file ip-ranges.json
  keyless plan --cloudformation bitbucket-oidc.yaml --parameter WorkspaceName=acme --parameter RoleName=deploy`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if output != "text" && output != "json" {
				return fmt.Errorf("plan: invalid --output %q: use text or json", output)
			}
			src, err := flags.readSource()
			if err != nil {
				return fmt.Errorf("plan: %w", err)
			}
			if src.accounts() != nil {
				return planAccountsCmd(cmd.Context(), s, flags, src, output)
			}
			plan, _, err := makePlan(cmd.Context(), flags, src)
			if err != nil {
				return fmt.Errorf("plan: %w", err)
			}
			if output == "json" {
				b, err := plan.JSON()
				if err != nil {
					return fmt.Errorf("plan: %w", err)
				}
				if _, err := s.Out.Write(b); err != nil {
					return err
				}
			} else if err := plan.WriteText(s.Out); err != nil {
				return err
			}
			if !plan.Empty() {
				return &ExitError{Code: 2}
			}
			return nil
		},
	}
	flags.register(cmd.Flags())
	cmd.Flags().StringVar(&output, "output", "text", "output: text or json")
	return cmd
}

// planAccountsCmd is "keyless plan" for a config with target accounts: every
// account's plan in account order; exit status 1 when an account failed, else 2
// when something would change, else 0.
func planAccountsCmd(ctx context.Context, s Streams, flags provisionFlags, src *source, output string) error {
	ap, err := planAccounts(ctx, flags, src, nil)
	if err != nil {
		return fmt.Errorf("plan: %w", err)
	}
	if output == "json" {
		b, err := ap.json()
		if err != nil {
			return fmt.Errorf("plan: %w", err)
		}
		if _, err := s.Out.Write(b); err != nil {
			return err
		}
	} else if err := ap.writeText(s.Out); err != nil {
		return err
	}
	if failed := ap.failed(); len(failed) > 0 {
		return accountsFailedError("plan", failed, len(ap.plans))
	}
	if ap.changed() {
		return &ExitError{Code: 2}
	}
	return nil
}

// caller is the account, partition and region of the AWS credentials.
type caller struct {
	account, partition, region string
	arn                        arn.ARN
}

// loadDesired returns the desired state bound to the caller's account: the IAM
// resources of the CloudFormation template of --cloudformation, read with the
// caller's account, partition and region, or keyless.yaml's (-f, as src holds
// it), whose partition must be the caller's. Nothing is resolved yet (see
// makePlan).
func loadDesired(f provisionFlags, src *source, c caller) (*provision.State, error) {
	if f.template.file != "" {
		opts, err := f.template.options()
		if err != nil {
			return nil, err
		}
		opts.Account, opts.Partition, opts.Region = c.account, c.partition, c.region
		return f.template.read(opts)
	}
	desired := src.desired
	if c.partition != desired.Partition {
		return nil, fmt.Errorf("%s is for partition %s, but the credentials are in partition %s (%s): set partition: %s, or use credentials of the other partition", f.file, desired.Partition, c.partition, c.arn, c.partition)
	}
	desired, err := desired.WithAccount(c.account)
	if err != nil {
		return nil, fmt.Errorf("%s: %w: use credentials of that account, or change account in the config", f.file, err)
	}
	return desired, nil
}

// source is where a plan's desired state comes from, read once per command so
// that every step of it (the accounts, the plan, a report's config name) sees
// the same keyless.yaml even if the file changes meanwhile.
type source struct {
	// spec is keyless.yaml (-f); nil with --cloudformation, whose template is
	// read once the caller's account is known (loadDesired).
	spec *provision.Spec
	// desired is spec's desired state, ARNs carrying
	// provision.AccountPlaceholder unless the config names its account.
	desired *provision.State
}

// accounts returns the config's accounts section, or nil when it has none or
// the desired state is a CloudFormation template.
func (s *source) accounts() *provision.AccountsSpec {
	if s.spec == nil {
		return nil
	}
	return s.spec.Accounts
}

// readSource refuses contradictory flags and reads what can be read before the
// credentials are: keyless.yaml is loaded and compiled into its desired state;
// of a template, the file is checked and the parameters parsed.
func (f provisionFlags) readSource() (*source, error) {
	if err := f.template.check(); err != nil {
		return nil, err
	}
	if f.template.file == "" {
		spec, err := provision.Load(f.file)
		if err != nil {
			return nil, err
		}
		desired, err := provision.Desired(spec)
		if err != nil {
			return nil, err
		}
		return &source{spec: spec, desired: desired}, nil
	}
	if f.fs != nil && f.fs.Changed("file") {
		return nil, fmt.Errorf("-f %s and --cloudformation %s name two desired states: give one", f.file, f.template.file)
	}
	if _, err := os.Stat(f.template.file); err != nil {
		return nil, fmt.Errorf("read the CloudFormation template: %w", err)
	}
	if _, err := f.template.options(); err != nil {
		return nil, err
	}
	return &source{}, nil
}

// makePlan loads the desired state, binds it to the account and partition of the
// AWS credentials, resolves its IP-range references and "thumbprints: auto",
// reads IAM and plans.
func makePlan(ctx context.Context, f provisionFlags, src *source) (*provision.Plan, *iam.Client, error) {
	cfg, c, err := loadCaller(ctx)
	if err != nil {
		return nil, nil, err
	}
	desired, err := loadDesired(f, src, c)
	if err != nil {
		return nil, nil, err
	}
	if desired, err = resolveDesired(ctx, f, desired); err != nil {
		return nil, nil, err
	}
	client := iam.NewFromConfig(cfg)
	actual, err := provision.ReadActual(ctx, client, desired, provision.ReadOptions{Concurrency: f.concurrency})
	if err != nil {
		return nil, nil, err
	}
	plan, err := provision.NewPlan(desired, actual)
	if err != nil {
		return nil, nil, err
	}
	return plan, client, nil
}

// loadCaller loads the AWS configuration and finds the account, partition and
// region of its credentials.
func loadCaller(ctx context.Context) (aws.Config, caller, error) {
	cfg, err := awsconfig.Load(ctx, os.Getenv)
	if err != nil {
		return aws.Config{}, caller{}, err
	}
	id, err := sts.NewFromConfig(cfg).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		return aws.Config{}, caller{}, fmt.Errorf("find the account with sts:GetCallerIdentity: %w", err)
	}
	callerARN, err := arn.Parse(aws.ToString(id.Arn))
	if err != nil {
		return aws.Config{}, caller{}, fmt.Errorf("sts:GetCallerIdentity: %w", err)
	}
	return cfg, caller{account: aws.ToString(id.Account), partition: callerARN.Partition(), region: cfg.Region, arn: callerARN}, nil
}

// resolveDesired resolves the IP-range references and "thumbprints: auto" of
// desired.
func resolveDesired(ctx context.Context, f provisionFlags, desired *provision.State) (*provision.State, error) {
	var err error
	if desired.Pending() {
		if desired, err = desired.Resolve(ctx, ipranges.Source{File: f.ipRangesFile, URL: f.ipRangesURL}); err != nil {
			return nil, err
		}
	}
	if desired.AutoThumbprints() {
		if desired, err = desired.ResolveThumbprints(ctx, issuerThumbprints(f.caBundle)); err != nil {
			return nil, err
		}
	}
	return desired, nil
}

// issuerThumbprints computes an issuer's thumbprints as "keyless thumbprint"
// does: with the system roots plus the CA bundle caFile, and at the local issuer
// for an issuer keyless up serves under a production URL (KEYLESS_ISSUER_ALIASES),
// never at the real host.
func issuerThumbprints(caFile string) provision.ThumbprintFunc {
	return func(ctx context.Context, issuer string) ([]string, error) {
		pool, err := certPool(caFile)
		if err != nil {
			return nil, err
		}
		local, err := localIssuer(issuer, os.Getenv(oidc.AliasesEnv))
		if err != nil {
			return nil, err
		}
		res, err := thumbprint.Get(ctx, local, thumbprint.Config{RootCAs: pool})
		if err != nil {
			var ve *tls.CertificateVerificationError
			if errors.As(err, &ve) {
				return nil, fmt.Errorf("%w: pass the issuer's CA with --ca-bundle FILE, or list the thumbprints in the config", err)
			}
			return nil, err
		}
		return res.Thumbprints(), nil
	}
}

// accountPlans is a config planned in each of its target accounts.
type accountPlans struct {
	name  string
	plans []provision.AccountPlan
	roles map[string]string // account → the admin role assumed there
}

// planAccounts plans keyless.yaml in each of its target accounts, at most
// --parallel at once: from the caller's credentials (the hub) it assumes the
// admin role in each target (session keyless-provision) and plans there as for
// one account. src is keyless.yaml with an accounts section; only, when not
// nil, restricts the targets to those accounts.
func planAccounts(ctx context.Context, f provisionFlags, src *source, only []string) (*accountPlans, error) {
	accts := src.accounts()
	if f.parallel <= 0 {
		return nil, fmt.Errorf("--parallel %d: give at least 1", f.parallel)
	}
	cfg, hub, err := loadCaller(ctx)
	if err != nil {
		return nil, err
	}
	if hub.arn.Service() == "iam" && hub.arn.Resource() == "root" {
		return nil, fmt.Errorf("the credentials are those of account %s's root user (%s), and AWS lets no root user assume a role: use the credentials of an IAM user or role of that account allowed sts:AssumeRole on the admin roles", hub.account, hub.arn)
	}
	desired := src.desired
	if hub.partition != desired.Partition {
		return nil, fmt.Errorf("%s is for partition %s, but the credentials are in partition %s (%s): set partition: %s, or use credentials of the other partition", f.file, desired.Partition, hub.partition, hub.arn, hub.partition)
	}
	if desired, err = resolveDesired(ctx, f, desired); err != nil {
		return nil, err
	}
	var orgs provision.OrganizationsAPI
	if accts.OrganizationalUnit != "" {
		orgs = organizations.NewFromConfig(cfg)
	}
	targets, err := accts.Resolve(ctx, orgs)
	if err != nil {
		return nil, err
	}
	if only != nil {
		if targets = keepOnly(targets, only); len(targets) == 0 {
			return nil, fmt.Errorf("%s: none of the accounts to re-run (%s) is a target of the config any more", f.file, strings.Join(only, ", "))
		}
	}
	if len(targets) == 0 {
		return nil, fmt.Errorf("%s: no target accounts to provision (the organizational unit %s has no active account)", f.file, accts.OrganizationalUnit)
	}
	out := &accountPlans{name: desired.Name, roles: map[string]string{}}
	for _, t := range targets {
		out.roles[t] = accts.AdminRoleARN(hub.partition, t)
	}
	hubSTS := sts.NewFromConfig(cfg)
	open := func(ctx context.Context, account string) (provision.IAMAPI, error) {
		role := out.roles[account]
		acfg := cfg.Copy()
		acfg.Credentials = aws.NewCredentialsCache(stscreds.NewAssumeRoleProvider(hubSTS, role, func(o *stscreds.AssumeRoleOptions) {
			o.RoleSessionName = provision.AdminSessionName
		}))
		if _, err := acfg.Credentials.Retrieve(ctx); err != nil {
			// The SDK wraps STS's answer in several layers: keep the answer.
			var ae smithy.APIError
			if errors.As(err, &ae) {
				err = ae
			}
			return nil, fmt.Errorf("assume the admin role %s from %s: %w (the role must trust account %s, and the caller be allowed sts:AssumeRole on it; set accounts.admin_role for another role)", role, hub.arn, err, hub.account)
		}
		id, err := sts.NewFromConfig(acfg).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
		if err != nil {
			return nil, fmt.Errorf("sts:GetCallerIdentity as %s: %w", role, err)
		}
		if got := aws.ToString(id.Account); got != account {
			return nil, fmt.Errorf("assumed %s, but its credentials are of account %s: check accounts.admin_role", role, got)
		}
		return iam.NewFromConfig(acfg), nil
	}
	out.plans = provision.PlanAccounts(ctx, desired, targets, open, provision.FanOutOptions{
		Parallel: f.parallel,
		Read:     provision.ReadOptions{Concurrency: f.concurrency},
	})
	return out, nil
}

// keepOnly returns the accounts of targets that are in only, in targets' order.
func keepOnly(targets, only []string) []string {
	var out []string
	for _, t := range targets {
		if slices.Contains(only, t) {
			out = append(out, t)
		}
	}
	return out
}

// failed returns the accounts that could not be planned.
func (a *accountPlans) failed() []string {
	var out []string
	for _, p := range a.plans {
		if p.Err != nil {
			out = append(out, p.Account)
		}
	}
	return out
}

// changed reports whether some account's plan has changes.
func (a *accountPlans) changed() bool {
	for _, p := range a.plans {
		if p.Plan != nil && !p.Plan.Empty() {
			return true
		}
	}
	return false
}

// writeText writes each account's plan, or why it has none, in account order,
// then a summary line.
func (a *accountPlans) writeText(w io.Writer) error {
	changed := 0
	for i, p := range a.plans {
		if i > 0 {
			fmt.Fprintln(w)
		}
		if p.Err != nil {
			if _, err := fmt.Fprintf(w, "== account %s (through %s): failed\nError: %v\n", p.Account, a.roles[p.Account], p.Err); err != nil {
				return err
			}
			continue
		}
		if !p.Plan.Empty() {
			changed++
		}
		if _, err := fmt.Fprintf(w, "== account %s (through %s)\n", p.Account, a.roles[p.Account]); err != nil {
			return err
		}
		if err := p.Plan.WriteText(w); err != nil {
			return err
		}
	}
	failed := a.failed()
	_, err := fmt.Fprintf(w, "\nAccounts: %d planned, %d with changes, %d failed%s.\n", len(a.plans)-len(failed), changed, len(failed), listed(failed))
	return err
}

// listed renders " (A, B)" for a non-empty list.
func listed(accounts []string) string {
	if len(accounts) == 0 {
		return ""
	}
	return " (" + strings.Join(accounts, ", ") + ")"
}

// accountPlanJSON is one account of the JSON output of a multi-account plan.
type accountPlanJSON struct {
	Account   string          `json:"account"`
	AdminRole string          `json:"adminRole"`
	Plan      json.RawMessage `json:"plan,omitempty"`
	Error     string          `json:"error,omitempty"`
}

// json renders every account's plan (as "keyless plan --output json" does for
// one) or error, in account order.
func (a *accountPlans) json() ([]byte, error) {
	out := struct {
		Name     string            `json:"name"`
		Accounts []accountPlanJSON `json:"accounts"`
	}{Name: a.name}
	for _, p := range a.plans {
		e := accountPlanJSON{Account: p.Account, AdminRole: a.roles[p.Account]}
		if p.Err != nil {
			e.Error = p.Err.Error()
		} else {
			b, err := p.Plan.JSON()
			if err != nil {
				return nil, err
			}
			e.Plan = b
		}
		out.Accounts = append(out.Accounts, e)
	}
	b, err := json.MarshalIndent(out, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("encode the plans: %w", err)
	}
	return append(b, '\n'), nil
}

// accountsFailedError is the error of a multi-account command some of whose
// accounts failed.
func accountsFailedError(verb string, failed []string, total int) error {
	return fmt.Errorf("%s: %d of %d accounts failed: %s", verb, len(failed), total, strings.Join(failed, ", "))
}
