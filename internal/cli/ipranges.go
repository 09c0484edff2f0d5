package cli

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/keyless-dev/keyless/ipranges"
)

func newIPRangesCmd(s Streams) *cobra.Command {
	var (
		feedURL, file, format string
		regions               []string
	)
	cmd := &cobra.Command{
		Use:   "ip-ranges",
		Short: "Print Bitbucket Pipelines' egress IP ranges from Atlassian's published feed",
		Long: `Read Atlassian's IP-range feed (` + ipranges.DefaultURL + `, or a saved copy
with --file), select the ranges Bitbucket Pipelines steps leave from (product
bitbucket, direction egress; IPv4 and IPv6), optionally only those of the --region
given (repeatable), and print them sorted and without duplicates:

  cidr       one CIDR per line (the default)
  condition  the IAM condition {"IpAddress": {"aws:SourceIp": [...]}} for a trust policy
  json       {creationDate, syncToken, product, direction, regions, ranges: [{cidr, regions}]}

What changed since the seed articles were written: their CloudFormation template
pins fifteen /32 addresses, Bitbucket's list before the 2024 runtime migration.
Since that migration, steps leave from Atlassian's published ranges only when they
are larger steps that opt in with "atlassian-ip-ranges: true";
other steps leave from addresses no published list covers, so a trust policy
pinned to the fifteen refuses them. Opt the deploying steps in, take the ranges
from the feed with this command, and refresh them: the feed changes.

The feed is fetched with a 30-second timeout and at most 16 MiB is read.`,
		Example: `  keyless ip-ranges
  keyless ip-ranges --format condition --region us-east-1 --region us-west-2
  curl -sSf https://ip-ranges.atlassian.com/ -o ip-ranges.json && keyless ip-ranges --file ip-ranges.json --format json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			f, err := ipranges.ParseFormat(format)
			if err != nil {
				return fmt.Errorf("ip-ranges: --format: %w", err)
			}
			feed, err := ipranges.Source{File: file, URL: feedURL}.Load(cmd.Context())
			if err != nil {
				return fmt.Errorf("ip-ranges: %w", err)
			}
			product, direction := ipranges.ProductBitbucket, ipranges.DirectionEgress
			ranges := feed.Select(product, direction, regions)
			if len(ranges) == 0 {
				have := feed.Regions(product, direction)
				if len(have) == 0 {
					return fmt.Errorf("ip-ranges: the feed has no %s %s ranges at all: is it Atlassian's feed?", product, direction)
				}
				return fmt.Errorf("ip-ranges: the feed has no %s %s ranges in region %s: its regions with some are %s", product, direction, strings.Join(regions, ", "), strings.Join(have, ", "))
			}
			return ipranges.Write(s.Out, f, feed, ipranges.Selection{Product: product, Direction: direction, Regions: regions, Ranges: ranges})
		},
	}
	cmd.Flags().StringVar(&feedURL, "url", ipranges.DefaultURL, "URL of the feed")
	cmd.Flags().StringVar(&file, "file", "", "read the feed from FILE (a saved copy) instead of fetching it")
	cmd.Flags().StringArrayVar(&regions, "region", nil, "only ranges of this region (repeatable)")
	cmd.Flags().StringVar(&format, "format", "cidr", "output: cidr, condition or json")
	cmd.MarkFlagsMutuallyExclusive("url", "file")
	return cmd
}
