package cli

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/keyless-dev/keyless/client"
)

// childEnvDrop lists the variables removed from the child's environment: any of them
// would make an SDK use other credentials than the ones keyless serves.
func childEnvDrop() []string {
	return []string{
		"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN",
		"AWS_ACCESS_KEY", "AWS_SECRET_KEY", "AWS_CREDENTIAL_EXPIRATION",
		"AWS_PROFILE", "AWS_DEFAULT_PROFILE",
		"AWS_ROLE_ARN", "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_ROLE_SESSION_NAME",
		"AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_CONTAINER_CREDENTIALS_FULL_URI",
		"AWS_CONTAINER_AUTHORIZATION_TOKEN", "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
	}
}

// childEnv returns environ without the credential variables, plus extra.
func childEnv(environ, extra []string) []string {
	drop := map[string]bool{}
	for _, k := range childEnvDrop() {
		drop[k] = true
	}
	for _, kv := range extra {
		k, _, _ := strings.Cut(kv, "=")
		drop[k] = true
	}
	out := make([]string, 0, len(environ)+len(extra))
	for _, kv := range environ {
		if k, _, _ := strings.Cut(kv, "="); !drop[k] {
			out = append(out, kv)
		}
	}
	return append(out, extra...)
}

// regionEnv returns the region variables to add to the child's environment: both set
// to region when the user chose it with --region (flagSet), else each of AWS_REGION
// and AWS_DEFAULT_REGION that is unset, so that SDKs (AWS_REGION) and the AWS CLI
// (AWS_DEFAULT_REGION) use the region of the exchange without overriding the user's.
func regionEnv(flagSet bool, region string, getenv func(string) string) []string {
	var out []string
	for _, k := range []string{"AWS_REGION", "AWS_DEFAULT_REGION"} {
		if flagSet || getenv(k) == "" {
			out = append(out, k+"="+region)
		}
	}
	return out
}

func newExecCmd(s Streams) *cobra.Command {
	var lf loginFlags
	cmd := &cobra.Command{
		Use:   "exec [login flags] -- CMD [ARGS...]",
		Short: "Run a command with AWS credentials that stay fresh",
		Long: `Run CMD with AWS credentials from the step's OIDC token, for jobs of any length.

keyless serves the credentials on a loopback container-credentials endpoint and points
the command's AWS SDKs and CLI at it (AWS_CONTAINER_CREDENTIALS_FULL_URI and
AWS_CONTAINER_AUTHORIZATION_TOKEN, a random token). Before they expire it exchanges a
fresh token (a token file is re-read, GitHub's token re-requested) for new ones.
Static AWS keys, AWS_PROFILE and web identity variables are removed from the command's
environment. The command gets the region of the exchange in AWS_REGION and
AWS_DEFAULT_REGION (the AWS CLI reads only the latter): --region sets both, and
otherwise a region already in the environment is kept and only a missing one is filled.

With --role-chain (or $KEYLESS_ROLE_CHAIN) the command gets the last role's
credentials, and every refresh re-runs the whole chain from a fresh token.

Standard streams pass through, SIGINT and SIGTERM are forwarded, and keyless exits
with the command's exit status.`,
		Example: `  keyless exec --role-arn arn:aws:iam::123456789012:role/deploy -- aws sts get-caller-identity
  keyless exec --duration 15m -- ./deploy.sh production
  keyless exec --token-env AWS_ID_TOKEN -- terraform apply -auto-approve
  keyless exec --role-chain arn:aws:iam::222222222222:role/deploy -- aws sts get-caller-identity`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return errors.New("exec needs a command to run: keyless exec [login flags] -- CMD [ARGS...], e.g. keyless exec -- aws sts get-caller-identity")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			ls, err := lf.setup(s)
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			srv, err := client.StartCredServer(ctx, client.CredServerOptions{
				Source:   ls.source,
				Exchange: ls.exchangeFunc(),
				Logger:   ls.log,
			})
			if err != nil {
				return err
			}
			defer srv.Close()

			extra := append(srv.Env(), regionEnv(lf.region != "", ls.region, os.Getenv)...)
			child := exec.Command(args[0], args[1:]...)
			child.Env = childEnv(os.Environ(), extra)
			child.Stdin, child.Stdout, child.Stderr = s.In, s.Out, s.Err

			sigs := make(chan os.Signal, 4)
			signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
			defer signal.Stop(sigs)
			if err := child.Start(); err != nil {
				code := 126
				if errors.Is(err, exec.ErrNotFound) || errors.Is(err, os.ErrNotExist) {
					code = 127
				}
				return &ExitError{Code: code, Err: fmt.Errorf("exec %s: %w", args[0], err)}
			}
			waited := make(chan error, 1)
			go func() { waited <- child.Wait() }()

			var (
				forwarded bool
				grace     <-chan time.Time
				ctxDone   = ctx.Done()
			)
			for {
				select {
				case sig := <-sigs:
					forwarded = true
					ls.log.Debug("forwarding signal", slog.String("signal", sig.String()))
					_ = child.Process.Signal(sig)
				case <-ctxDone:
					// keyless is being stopped; main's signal handling usually means the
					// signal was forwarded already. Otherwise ask the child to stop.
					ctxDone = nil
					grace = time.After(time.Second)
				case <-grace:
					if !forwarded {
						_ = child.Process.Signal(syscall.SIGTERM)
					}
				case err := <-waited:
					return exitStatus(child, err)
				}
			}
		},
	}
	lf.register(cmd.Flags())
	// Flags after CMD belong to CMD.
	cmd.Flags().SetInterspersed(false)
	return cmd
}

// exitStatus turns the child's end into keyless's result: nil for 0, else an
// ExitError with its status (128+N when killed by signal N, as shells report it).
func exitStatus(child *exec.Cmd, err error) error {
	ps := child.ProcessState
	if ps == nil {
		return &ExitError{Code: 1, Err: fmt.Errorf("wait for %s: %w", child.Path, err)}
	}
	if ws, ok := ps.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return &ExitError{Code: 128 + int(ws.Signal())}
	}
	if code := ps.ExitCode(); code != 0 {
		return &ExitError{Code: code}
	}
	return nil
}
