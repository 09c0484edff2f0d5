package cli

import (
	"fmt"
	"log/slog"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/keyless-dev/keyless/internal/server"
)

func newUpCmd(s Streams) *cobra.Command {
	var listen, dataDir, configFile, publicURL, logLevel string
	cmd := &cobra.Command{
		Use:   "up",
		Short: "Run the local identity provider and AWS-compatible services",
		Long: `Run everything keyless offers locally on one address: a Bitbucket-compatible pipeline
identity provider (served over HTTPS with a local CA) and the AWS-compatible endpoints.

When ready it writes DIR/env, a file of POSIX "export K=V" lines (mode 0600) with
KEYLESS_ENDPOINT, KEYLESS_ISSUER, KEYLESS_CA_BUNDLE, KEYLESS_ACCOUNT_ID, the root
credentials of the local account and AWS_ENDPOINT_URL. A later start on the same data
directory reuses its keys, CA and credentials.

The listen address is checked and bound before the data directory is touched, and a
start that fails removes what it created. A kek.key that group or others may read is
refused (chmod 600 it); a data directory others may write to is warned about.`,
		Example: `  keyless up
  keyless up --listen 127.0.0.1:0 --data /tmp/kl
  . .keyless/env && keyless token mint --workspace acme --repository web`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var cfg server.Config
			if configFile != "" {
				var err error
				if cfg, err = server.LoadConfig(configFile); err != nil {
					return err
				}
			}
			if cmd.Flags().Changed("listen") || cfg.Listen == "" {
				cfg.Listen = listen
			}
			if publicURL != "" {
				cfg.PublicURL = publicURL
			}
			var level slog.Level
			if err := level.UnmarshalText([]byte(logLevel)); err != nil {
				return fmt.Errorf("invalid --log-level %q: use debug, info, warn or error", logLevel)
			}
			log := slog.New(slog.NewTextHandler(s.Err, &slog.HandlerOptions{Level: level}))
			ctx := cmd.Context()
			srv, err := server.Start(ctx, server.Options{Config: cfg, DataDir: dataDir, Getenv: os.Getenv, Logger: log})
			if err != nil {
				return fmt.Errorf("up: %w", err)
			}
			fmt.Fprint(s.Out, srv.Banner())
			return srv.Wait(ctx)
		},
	}
	cmd.Flags().StringVar(&listen, "listen", "127.0.0.1:8400", "address to serve HTTP and HTTPS on (port 0 picks a free one)")
	cmd.Flags().StringVar(&dataDir, "data", defaultDataDir(), "data directory (store, keys, CA, env file)")
	cmd.Flags().StringVar(&configFile, "config", "", "JSON config file (see README)")
	cmd.Flags().StringVar(&publicURL, "public-url", "", "public https base URL of the issuer, when served behind a hostname")
	cmd.Flags().StringVar(&logLevel, "log-level", "info", "log level: debug, info, warn or error")
	return cmd
}

// defaultDataDir is $KEYLESS_DATA when set, else ./.keyless.
func defaultDataDir() string {
	if d := strings.TrimSpace(os.Getenv("KEYLESS_DATA")); d != "" {
		return d
	}
	return ".keyless"
}
