package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/keyless-dev/keyless/internal/server"
	"github.com/keyless-dev/keyless/issuer"
)

func newKeysCmd(s Streams) *cobra.Command {
	var dataDir, dsn string
	cmd := &cobra.Command{
		Use:   "keys",
		Short: "Manage the identity provider's signing keys (prepare → activate → retire)",
		Long: `Manage the signing keys of a keyless data directory. A prepared key is published in
the JWKS for the lead time before it may sign; activating it retires the key it replaces,
which stays published until every token it signed has expired.

Running "keyless up" servers are told at once: each checks the store every 250 ms and
reloads its keys when they change. After a change, prepare, activate and retire ask
every server running on the store (they register themselves in it) until it has loaded
the change, and print what it serves, such as "kid X is in the JWKS at URL". With no
server running, they say so: a server serves the change as soon as it starts. A server
that does not answer is reported on stderr; the change is made all the same (exit 0).

They work on the store and key-encryption key a "keyless up" made: its --data directory,
or its PostgreSQL --store with KEYLESS_KEK (or a --data directory holding its kek.key).
They never create or migrate either.`,
		Example: `  keyless keys list
  keyless keys prepare
  keyless keys activate
  keyless keys retire <kid>`,
	}
	cmd.PersistentFlags().StringVar(&dataDir, "data", defaultDataDir(), "data directory of keyless up")
	cmd.PersistentFlags().StringVar(&dsn, "store", "", "PostgreSQL DSN, when keyless up runs with a PostgreSQL store")
	// open opens the store and key a running (or stopped) keyless up uses; it never
	// creates either, so a mistyped --data or --store is told, not initialised.
	open := func(cmd *cobra.Command) (*server.KeyAdmin, error) {
		ka, err := server.OpenKeyAdmin(cmd.Context(), dataDir, dsn, os.Getenv)
		if err != nil {
			return nil, fmt.Errorf("keys %s: %w", cmd.Name(), err)
		}
		return ka, nil
	}

	var output string
	list := &cobra.Command{
		Use:     "list",
		Short:   "List signing keys and their states",
		Example: "  keyless keys list\n  keyless keys list --output json",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if output != "text" && output != "json" {
				return fmt.Errorf("invalid --output %q: use text or json", output)
			}
			ka, err := open(cmd)
			if err != nil {
				return err
			}
			defer ka.Close()
			keys, err := ka.List(cmd.Context())
			if err != nil {
				return err
			}
			if output == "json" {
				enc := json.NewEncoder(s.Out)
				enc.SetIndent("", "  ")
				return enc.Encode(keys)
			}
			tw := tabwriter.NewWriter(s.Out, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tALG\tSTATE\tCREATED\tACTIVATED\tUNPUBLISH AFTER")
			for _, k := range keys {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", k.ID, k.Algorithm, k.State, k.CreatedAt.Format(time.RFC3339), fmtTime(k.ActivatedAt), fmtTime(k.NotAfter))
			}
			return tw.Flush()
		},
	}
	list.Flags().StringVar(&output, "output", "text", "output: text or json")

	var alg string
	prepare := &cobra.Command{
		Use:     "prepare",
		Short:   "Create a key and publish it without signing with it yet",
		Example: "  keyless keys prepare\n  keyless keys prepare --alg ES256",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if alg != "" && alg != "RS256" && alg != "ES256" {
				return fmt.Errorf("invalid --alg %q: use RS256 or ES256", alg)
			}
			ka, err := open(cmd)
			if err != nil {
				return err
			}
			defer ka.Close()
			k, err := ka.Prepare(cmd.Context(), alg)
			if err != nil {
				return err
			}
			ready := k.CreatedAt.Add(ka.Config().LeadTime)
			fmt.Fprintf(s.Out, "prepared %s (%s); may be activated from %s\n", k.ID, k.Algorithm, ready.Format(time.RFC3339))
			return confirmServed(cmd, s, ka, k.ID, func(sv server.Served) (string, bool) {
				if sv.Published {
					return fmt.Sprintf("kid %s is in the JWKS at %s", k.ID, sv.Server.JWKSURL), true
				}
				return fmt.Sprintf("kid %s is not in the JWKS at %s", k.ID, sv.Server.JWKSURL), false
			})
		},
	}
	prepare.Flags().StringVar(&alg, "alg", "", "algorithm: RS256 or ES256 (default the server's)")

	var force bool
	activate := &cobra.Command{
		Use:     "activate [ID]",
		Short:   "Make a prepared key the signing key (the oldest prepared one by default)",
		Example: "  keyless keys activate\n  keyless keys activate <kid> --force",
		Args:    cobra.MaximumNArgs(1),
		// A kid may begin with "-": Execute moves it after a "--".
		Annotations: map[string]string{keyIDAnnotation: "true"},
		RunE: func(cmd *cobra.Command, args []string) error {
			ka, err := open(cmd)
			if err != nil {
				return err
			}
			defer ka.Close()
			id := ""
			if len(args) == 1 {
				id = args[0]
			}
			k, err := ka.Activate(cmd.Context(), id, force)
			if errors.Is(err, issuer.ErrLeadTime) {
				return &ExitError{Code: 1, Err: err}
			}
			if err != nil {
				return err
			}
			fmt.Fprintf(s.Out, "activated %s (%s); the previous signing key is retired\n", k.ID, k.Algorithm)
			return confirmServed(cmd, s, ka, k.ID, func(sv server.Served) (string, bool) {
				if sv.SigningKeyID == k.ID && sv.Published {
					return fmt.Sprintf("kid %s signs new tokens at %s and is in the JWKS at %s", k.ID, sv.Server.Endpoint, sv.Server.JWKSURL), true
				}
				return fmt.Sprintf("kid %s does not sign at %s: %s does (in the JWKS: %t)", k.ID, sv.Server.Endpoint, sv.SigningKeyID, sv.Published), false
			})
		},
	}
	activate.Flags().BoolVar(&force, "force", false, "activate before the lead time has passed (relying parties may reject its tokens until they refetch the JWKS)")

	retire := &cobra.Command{
		Use:         "retire ID",
		Short:       "Retire a key: it leaves the JWKS once its last token has expired",
		Example:     "  keyless keys retire <kid>",
		Args:        cobra.ExactArgs(1),
		Annotations: map[string]string{keyIDAnnotation: "true"},
		RunE: func(cmd *cobra.Command, args []string) error {
			ka, err := open(cmd)
			if err != nil {
				return err
			}
			defer ka.Close()
			k, err := ka.Retire(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			gone := k.NotAfter != nil && !k.NotAfter.After(time.Now())
			if gone {
				fmt.Fprintf(s.Out, "retired %s; it never signed, so it leaves the JWKS now\n", k.ID)
			} else {
				fmt.Fprintf(s.Out, "retired %s; it stays published until %s\n", k.ID, fmtTime(k.NotAfter))
			}
			return confirmServed(cmd, s, ka, k.ID, func(sv server.Served) (string, bool) {
				switch {
				case gone && !sv.Published:
					return fmt.Sprintf("kid %s is no longer in the JWKS at %s", k.ID, sv.Server.JWKSURL), true
				case !gone && sv.Published:
					return fmt.Sprintf("kid %s stays in the JWKS at %s until %s", k.ID, sv.Server.JWKSURL, fmtTime(k.NotAfter)), true
				case gone:
					return fmt.Sprintf("kid %s is still in the JWKS at %s", k.ID, sv.Server.JWKSURL), false
				}
				return fmt.Sprintf("kid %s is not in the JWKS at %s", k.ID, sv.Server.JWKSURL), false
			})
		},
	}
	cmd.AddCommand(list, prepare, activate, retire)
	return cmd
}

func fmtTime(t *time.Time) string {
	if t == nil {
		return "-"
	}
	return t.Format(time.RFC3339)
}

// confirmServed prints, for every keyless up running on the store, what it serves
// after a change to key kid: describe words a server's answer and says whether it
// is what the change should show. Servers that cannot confirm are reported on
// stderr; the change stands either way.
func confirmServed(cmd *cobra.Command, s Streams, ka *server.KeyAdmin, kid string, describe func(server.Served) (string, bool)) error {
	served, err := ka.Confirm(cmd.Context(), kid, server.ConfirmWait)
	if err != nil {
		fmt.Fprintf(s.Err, "keyless: keys %s: the change is made, but the running servers could not be listed: %v\n", cmd.Name(), err)
		return nil
	}
	if len(served) == 0 {
		fmt.Fprintln(s.Out, "no keyless up is running on this store: a server serves the change as soon as it starts")
		return nil
	}
	for _, sv := range served {
		if sv.Err != nil {
			fmt.Fprintf(s.Err, "keyless: keys %s: keyless up at %s (pid %d on %s) %v; a running server loads key changes within %s of reading the store\n",
				cmd.Name(), sv.Server.Endpoint, sv.Server.PID, sv.Server.Host, sv.Err, server.KeyWatchInterval)
			continue
		}
		line, ok := describe(sv)
		if ok {
			fmt.Fprintln(s.Out, line)
		} else {
			fmt.Fprintf(s.Err, "keyless: keys %s: %s\n", cmd.Name(), line)
		}
	}
	return nil
}
