package cli

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/keyless-dev/keyless/internal/server"
)

// newAccountsCmd is `keyless accounts`: the local accounts of a data directory and
// their root credentials.
func newAccountsCmd(s Streams) *cobra.Command {
	var dataDir, dsn string
	cmd := &cobra.Command{
		Use:   "accounts",
		Short: "List the local AWS accounts of keyless up and print their root credentials",
		Long: `keyless up serves one AWS account (account_id, whose root credentials are in DIR/env)
and the further accounts its config lists under "accounts", each with its own IAM,
Secrets Manager and root credentials. These commands read the store of a keyless up
(its --data directory, or its PostgreSQL --store with KEYLESS_KEK or a --data
directory holding its kek.key), running or stopped; they never create or change it.
Further accounts are those the last start served and those AWS Organizations'
CreateAccount made (marked "(created by Organizations)"), which keyless up keeps
serving whatever its config lists.`,
		Example: `  keyless accounts list
  keyless accounts credentials 222222222222
  eval "$(keyless accounts credentials 222222222222)"`,
	}
	cmd.PersistentFlags().StringVar(&dataDir, "data", defaultDataDir(), "data directory of keyless up")
	cmd.PersistentFlags().StringVar(&dsn, "store", "", "PostgreSQL DSN, when keyless up runs with a PostgreSQL store")
	list := func(cmd *cobra.Command) ([]server.AccountInfo, error) {
		accts, err := server.ListAccounts(cmd.Context(), dataDir, dsn, os.Getenv)
		if err != nil {
			return nil, fmt.Errorf("accounts %s: %w", cmd.Name(), err)
		}
		return accts, nil
	}

	listCmd := &cobra.Command{
		Use:     "list",
		Short:   "List the local accounts: ID, name and root access key ID",
		Example: "  keyless accounts list",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			accts, err := list(cmd)
			if err != nil {
				return err
			}
			tw := tabwriter.NewWriter(s.Out, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tNAME\tROOT ACCESS KEY ID")
			for _, a := range accts {
				name := a.Name
				switch {
				case a.First && name == "":
					name = "(first account: account_id)"
				case name == "":
					name = "-"
				}
				if a.Organization {
					name += " (created by Organizations)"
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\n", a.ID, name, a.Root.AccessKeyID)
			}
			return tw.Flush()
		},
	}

	var format string
	credsCmd := &cobra.Command{
		Use:   "credentials ID",
		Short: "Print an account's root credentials (as shell exports, or as JSON for credential_process)",
		Long: `Print the root credentials of the local account ID (its 12-digit id or its configured
name). --format env (the default) prints shell exports of AWS_ACCESS_KEY_ID and
AWS_SECRET_ACCESS_KEY, to eval; --format json prints the JSON an AWS profile's
credential_process reads. Both hold the account's secret: keep the output to yourself.`,
		Example: `  eval "$(keyless accounts credentials 222222222222)"
  keyless accounts credentials deploy-b --format json`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if format != "env" && format != "json" {
				return fmt.Errorf("invalid --format %q: use env or json", format)
			}
			accts, err := list(cmd)
			if err != nil {
				return err
			}
			var known []string
			for _, a := range accts {
				if a.ID != args[0] && (a.Name == "" || a.Name != args[0]) {
					known = append(known, a.ID)
					continue
				}
				if format == "json" {
					enc := json.NewEncoder(s.Out)
					enc.SetIndent("", "  ")
					return enc.Encode(struct {
						Version         int
						AccessKeyID     string `json:"AccessKeyId"`
						SecretAccessKey string
						AccountID       string `json:"AccountId"`
					}{1, a.Root.AccessKeyID, a.Root.SecretAccessKey, a.ID})
				}
				fmt.Fprintf(s.Out, "export AWS_ACCESS_KEY_ID=%s\nexport AWS_SECRET_ACCESS_KEY=%s\nunset AWS_SESSION_TOKEN\n",
					singleQuote(a.Root.AccessKeyID), singleQuote(a.Root.SecretAccessKey))
				return nil
			}
			return fmt.Errorf("accounts credentials: no local account %q in %s: the accounts are %s (see keyless accounts list)",
				args[0], where(dataDir, dsn), strings.Join(known, ", "))
		},
	}
	credsCmd.Flags().StringVar(&format, "format", "env", "output format: env (shell exports) or json (credential_process)")
	cmd.AddCommand(listCmd, credsCmd)
	return cmd
}

// where names the store the accounts commands read, for messages (never a DSN,
// which may hold a password).
func where(dataDir, dsn string) string {
	if dsn != "" {
		return "the PostgreSQL store"
	}
	return "data directory " + dataDir
}
