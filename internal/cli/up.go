package cli

import (
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/keyless-dev/keyless/internal/server"
)

func newUpCmd(s Streams) *cobra.Command {
	var listen, dataDir, configFile, publicURL, logLevel string
	var metricsListen string
	var shutdownTimeout time.Duration
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
refused (chmod 600 it); a data directory others may write to is warned about.

Signals: SIGTERM or SIGINT (Ctrl-C) stops accepting connections, lets in-flight
requests finish for up to --shutdown-timeout, flushes the audit log, closes the store
and exits 0; a second one, or the timeout, cuts the remaining requests off and exits 1.
SIGHUP re-reads --config and applies log_level, log.sample_allowed,
issuer.key_check_interval and workspaces (other settings are logged as waiting for a restart; a config that does
not parse is refused and the running one kept), and re-issues the TLS certificate.`,
		Example: `  keyless up
  keyless up --listen 127.0.0.1:0 --data /tmp/kl
  . .keyless/env && keyless token mint --workspace acme --repository web`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			// Signals are taken before the start, so that none is lost in between.
			sigs := make(chan os.Signal, 4)
			signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP)
			defer signal.Stop(sigs)
			if shutdownTimeout <= 0 {
				return fmt.Errorf("invalid --shutdown-timeout %s: use a positive duration such as 30s", shutdownTimeout)
			}
			// load reads the config file with the flags over it, at start and on SIGHUP.
			load := func() (server.Config, error) {
				var cfg server.Config
				if configFile != "" {
					var err error
					if cfg, err = server.LoadConfig(configFile); err != nil {
						return cfg, err
					}
				}
				if cmd.Flags().Changed("listen") || cfg.Listen == "" {
					cfg.Listen = listen
				}
				if publicURL != "" {
					cfg.PublicURL = publicURL
				}
				if cmd.Flags().Changed("metrics-listen") {
					cfg.MetricsListen = metricsListen
				}
				if cmd.Flags().Changed("log-level") || cfg.LogLevel == "" {
					cfg.LogLevel = logLevel
				}
				return cfg, nil
			}
			cfg, err := load()
			if err != nil {
				return err
			}
			var level slog.LevelVar
			if err := level.UnmarshalText([]byte(cfg.LogLevel)); err != nil {
				if cmd.Flags().Changed("log-level") {
					return fmt.Errorf("invalid --log-level %q: use debug, info, warn or error", cfg.LogLevel)
				}
				return fmt.Errorf("config %s: invalid log_level %q: use debug, info, warn or error", configFile, cfg.LogLevel)
			}
			log := slog.New(slog.NewTextHandler(s.Err, &slog.HandlerOptions{Level: &level}))
			ctx := cmd.Context()
			srv, err := server.Start(ctx, server.Options{Config: cfg, DataDir: dataDir, Getenv: os.Getenv, Logger: log, LogLevel: &level})
			if err != nil {
				return fmt.Errorf("up: %w", err)
			}
			fmt.Fprint(s.Out, srv.Banner())
			if configFile == "" {
				load = nil // SIGHUP re-issues the certificate only
			}
			if err := srv.Run(ctx, server.RunOptions{Signals: sigs, ShutdownTimeout: shutdownTimeout, LoadConfig: load}); err != nil {
				return fmt.Errorf("up: %w", err)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&listen, "listen", "127.0.0.1:8400", "address to serve HTTP and HTTPS on (port 0 picks a free one)")
	cmd.Flags().StringVar(&dataDir, "data", defaultDataDir(), "data directory (store, keys, CA, env file)")
	cmd.Flags().StringVar(&configFile, "config", "", "JSON config file (see README)")
	cmd.Flags().StringVar(&publicURL, "public-url", "", "public https base URL of the issuer, when served behind a hostname")
	cmd.Flags().StringVar(&metricsListen, "metrics-listen", "", "address to serve Prometheus metrics on (GET /metrics) instead of the main address")
	cmd.Flags().StringVar(&logLevel, "log-level", "info", "log level: debug, info, warn or error (overrides log_level in --config)")
	cmd.Flags().DurationVar(&shutdownTimeout, "shutdown-timeout", server.DefaultShutdownTimeout, "on SIGTERM or SIGINT, how long in-flight requests may take to finish before they are cut off")
	return cmd
}

// defaultDataDir is $KEYLESS_DATA when set, else ./.keyless.
func defaultDataDir() string {
	if d := strings.TrimSpace(os.Getenv("KEYLESS_DATA")); d != "" {
		return d
	}
	return ".keyless"
}
