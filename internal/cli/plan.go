package cli

import (
	"context"
	"crypto/tls"
	"fmt"
	"net/http"
	"os"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/keyless-dev/keyless/arn"
	"github.com/keyless-dev/keyless/awsconfig"
	"github.com/keyless-dev/keyless/ipranges"
	"github.com/keyless-dev/keyless/provision"
)

// provisionFlags are the flags plan and apply share.
type provisionFlags struct {
	file         string
	ipRangesFile string
	ipRangesURL  string
	concurrency  int
}

func (f *provisionFlags) register(fs *pflag.FlagSet) {
	fs.StringVarP(&f.file, "file", "f", "keyless.yaml", "the config to plan")
	fs.StringVar(&f.ipRangesFile, "ip-ranges-file", "", "resolve source_ips: "+provision.RefBitbucketEgress+" from FILE, a saved copy of Atlassian's IP-range feed, instead of fetching it")
	fs.StringVar(&f.ipRangesURL, "ip-ranges-url", ipranges.DefaultURL, "URL of Atlassian's IP-range feed")
	fs.IntVar(&f.concurrency, "concurrency", provision.DefaultConcurrency, "IAM calls in flight at once")
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

Credentials and endpoint come from the AWS SDK's usual sources (environment,
profile, SSO; AWS_ENDPOINT_URL), or, with none of your own, from the root
credentials of a sourced keyless up env file (. .keyless/env). The account and
partition are those of the credentials (sts:GetCallerIdentity); a config that
names another account is refused. source_ips: atlassian:bitbucket is resolved from
Atlassian's feed (--ip-ranges-file for a saved copy), so a change of the feed's
ranges shows as a trust policy change. "thumbprints: auto" leaves the thumbprints
to IAM, which computes them when it creates a provider.

Exit status: 0 when nothing would change, 2 when something would (like terraform
plan -detailed-exitcode), 1 on error.`

// newPlanCmd builds "keyless plan".
func newPlanCmd(s Streams) *cobra.Command {
	var (
		flags  provisionFlags
		output string
	)
	cmd := &cobra.Command{
		Use:   "plan",
		Short: "Show what apply would change in IAM to match keyless.yaml",
		Long:  planLong,
		Example: `  . .keyless/env && keyless plan
  keyless plan -f ci/aws.yaml --output json
  keyless plan --ip-ranges-file ip-ranges.json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if output != "text" && output != "json" {
				return fmt.Errorf("plan: invalid --output %q: use text or json", output)
			}
			plan, _, err := makePlan(cmd.Context(), flags)
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

// loadDesired returns the desired state the file describes. keyless.yaml is the
// one source today; other readers that return a *provision.State (such as a
// CloudFormation template reader) plug in here, chosen by the file.
func loadDesired(path string) (*provision.State, error) {
	spec, err := provision.Load(path)
	if err != nil {
		return nil, err
	}
	return provision.Desired(spec)
}

// makePlan loads the desired state, binds it to the account and partition of the
// AWS credentials, resolves its IP-range references, reads IAM and plans.
func makePlan(ctx context.Context, f provisionFlags) (*provision.Plan, *iam.Client, error) {
	desired, err := loadDesired(f.file)
	if err != nil {
		return nil, nil, err
	}
	cfg, err := awsconfig.Load(ctx, os.Getenv)
	if err != nil {
		return nil, nil, err
	}
	id, err := sts.NewFromConfig(cfg).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		return nil, nil, fmt.Errorf("find the account with sts:GetCallerIdentity: %w", err)
	}
	caller, err := arn.Parse(aws.ToString(id.Arn))
	if err != nil {
		return nil, nil, fmt.Errorf("sts:GetCallerIdentity: %w", err)
	}
	if caller.Partition() != desired.Partition {
		return nil, nil, fmt.Errorf("%s is for partition %s, but the credentials are in partition %s (%s): set partition: %s, or use credentials of the other partition", f.file, desired.Partition, caller.Partition(), caller, caller.Partition())
	}
	if desired, err = desired.WithAccount(aws.ToString(id.Account)); err != nil {
		return nil, nil, fmt.Errorf("%s: %w: use credentials of that account, or change account in the config", f.file, err)
	}
	if desired.Pending() {
		if desired, err = desired.Resolve(ctx, feedRanges{file: f.ipRangesFile, url: f.ipRangesURL}); err != nil {
			return nil, nil, err
		}
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

// feedRanges is provision.IPRanges over Atlassian's feed: a saved copy (file) or
// the published one (url).
type feedRanges struct{ file, url string }

// BitbucketEgress returns the feed's Bitbucket egress ranges, every region.
func (r feedRanges) BitbucketEgress(ctx context.Context) ([]string, error) {
	var feed *ipranges.Feed
	if r.file != "" {
		in, err := os.Open(r.file)
		if err != nil {
			return nil, err
		}
		defer in.Close()
		if feed, err = ipranges.Read(in); err != nil {
			return nil, fmt.Errorf("%s: %w", r.file, err)
		}
	} else {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.TLSClientConfig = &tls.Config{MinVersion: tls.VersionTLS12}
		client := &http.Client{Transport: tr, Timeout: 30 * time.Second}
		var err error
		if feed, err = ipranges.Fetch(ctx, client, r.url); err != nil {
			return nil, fmt.Errorf("%w (without internet access, pass a saved copy of the feed with --ip-ranges-file)", err)
		}
	}
	var out []string
	for _, rg := range feed.Select(ipranges.ProductBitbucket, ipranges.DirectionEgress, nil) {
		out = append(out, rg.Prefix.String())
	}
	return out, nil
}
