package cli

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/keyless-dev/keyless/explain"
	"github.com/keyless-dev/keyless/issuer"
	"github.com/keyless-dev/keyless/oidc"
)

func newTokenCmd(s Streams) *cobra.Command {
	cmd := &cobra.Command{
		Use:     "token",
		Short:   "Mint and inspect pipeline step tokens",
		Example: "  keyless token mint --workspace acme --repository web --environment production",
	}
	cmd.AddCommand(newTokenMintCmd(s), newTokenInspectCmd(s))
	return cmd
}

func newTokenInspectCmd(s Streams) *cobra.Command {
	var verify bool
	var output, caFile string
	cmd := &cobra.Command{
		Use:   "inspect [TOKEN|-]",
		Short: "Show a token's header, claims and the AWS condition keys it yields",
		Long: `Decode a web identity token and show its header and claims (times relative to now)
and the condition keys STS derives from it, such as <issuer>:sub. With --verify the
signature is checked against the issuer's discovery document and keys over HTTPS, and
the token's lifetime against now (with STS's 5 minutes of clock skew); when that fails
the command exits 1 and says why: expired or not yet valid (the signature being
valid), a kid the issuer does not publish, a bad signature, or an issuer that cannot
be reached. The token itself is never printed.

The token is the argument; "-" reads it from standard input; without an argument it is
read from standard input when that is not a terminal and holds one, and otherwise comes
from BITBUCKET_STEP_OIDC_TOKEN.`,
		Example: `  keyless token inspect "$BITBUCKET_STEP_OIDC_TOKEN"
  keyless token mint --repository web | keyless token inspect - --verify
  keyless token inspect --output json < token.jwt`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if output != "text" && output != "json" {
				return fmt.Errorf("invalid --output %q: use text or json", output)
			}
			raw, err := readTokenArg(s, args)
			if err != nil {
				return err
			}
			in, err := explain.Inspect(raw, time.Now())
			if err != nil {
				return fmt.Errorf("%w (is it the step's OIDC token?)", err)
			}
			if verify {
				pool, err := certPool(caFile)
				if err != nil {
					return err
				}
				v := explain.VerifyToken(cmd.Context(), raw, oidc.Config{RootCAs: pool})
				in.SetVerification(v)
				if !v.OK() {
					defer func() { fmt.Fprintln(s.Err, "keyless: "+v.Message) }()
				}
			}
			if output == "json" {
				enc := json.NewEncoder(s.Out)
				enc.SetIndent("", "  ")
				if err := enc.Encode(in); err != nil {
					return err
				}
			} else if err := in.WriteText(s.Out); err != nil {
				return err
			}
			if in.Verification != nil && !in.Verification.OK() {
				return &ExitError{Code: 1}
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&verify, "verify", false, "verify the signature against the issuer's published keys, and the lifetime against now")
	cmd.Flags().StringVar(&output, "output", "text", "output: text or json")
	cmd.Flags().StringVar(&caFile, "ca-bundle", os.Getenv("KEYLESS_CA_BUNDLE"), "extra PEM CA bundle to trust for the issuer (default $KEYLESS_CA_BUNDLE)")
	return cmd
}

// readTokenArg reads the token of `token inspect`, first found of: the argument; "-",
// standard input; standard input when it is not a terminal and holds a token;
// BITBUCKET_STEP_OIDC_TOKEN.
func readTokenArg(s Streams, args []string) (string, error) {
	var raw string
	switch {
	case len(args) == 1 && args[0] == "-":
		b, err := readStdinToken(s.In)
		if err != nil {
			return "", err
		}
		raw = b
	case len(args) == 1:
		raw = args[0]
	default:
		if !isTerminal(s.In) {
			b, err := readStdinToken(s.In)
			if err != nil {
				return "", err
			}
			raw = b
		}
		if strings.TrimSpace(raw) == "" {
			raw = os.Getenv("BITBUCKET_STEP_OIDC_TOKEN")
		}
		if raw == "" {
			return "", errors.New("no token: pass it as an argument, pipe it to standard input (or pass '-'), or run in a step with `oidc: true` (BITBUCKET_STEP_OIDC_TOKEN)")
		}
	}
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return "", errors.New("the token is empty")
	}
	return raw, nil
}

// readStdinToken reads at most 1 MiB of standard input.
func readStdinToken(in io.Reader) (string, error) {
	if in == nil {
		return "", nil
	}
	b, err := io.ReadAll(io.LimitReader(in, 1<<20))
	if err != nil {
		return "", fmt.Errorf("read token from standard input: %w", err)
	}
	return string(b), nil
}

// isTerminal reports whether in is absent or a character device such as a terminal
// (or /dev/null): nothing to read a token from without asking. Readers that are not
// files, such as a test's buffer, are read.
func isTerminal(in io.Reader) bool {
	if in == nil {
		return true
	}
	f, ok := in.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err != nil || fi.Mode()&os.ModeCharDevice != 0
}

func newTokenMintCmd(s Streams) *cobra.Command {
	var (
		req                            issuer.MintRequest
		ttl                            time.Duration
		output, endpoint, cred, caFile string
	)
	cmd := &cobra.Command{
		Use:   "mint",
		Short: "Mint a Bitbucket-shaped step token from a keyless identity provider",
		Long: `Ask the identity provider of "keyless up" for a step token, as Bitbucket Pipelines
gives a step with "oidc: true". With DIR/env sourced it needs no other setup: the
endpoint, runner credential and CA come from KEYLESS_ENDPOINT, KEYLESS_RUNNER_TOKEN and
KEYLESS_CA_BUNDLE.`,
		Example: `  keyless token mint --workspace acme --repository web
  keyless token mint --workspace acme --repository web --environment production --branch main --output json
  export BITBUCKET_STEP_OIDC_TOKEN=$(keyless token mint --workspace acme --repository web --audience sts.amazonaws.com)`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if output != "token" && output != "json" {
				return fmt.Errorf("invalid --output %q: use token or json", output)
			}
			if endpoint == "" {
				return errors.New("no endpoint: source the env file `keyless up` wrote (. .keyless/env) or pass --endpoint")
			}
			if cred == "" {
				return errors.New("no runner credential: source the env file `keyless up` wrote (. .keyless/env) or pass --runner-token")
			}
			req.TTL = issuer.Duration(ttl)
			body, err := json.Marshal(req)
			if err != nil {
				return err
			}
			client, err := httpClient(caFile)
			if err != nil {
				return err
			}
			hreq, err := http.NewRequestWithContext(cmd.Context(), http.MethodPost, strings.TrimRight(endpoint, "/")+issuer.MintPath, bytes.NewReader(body))
			if err != nil {
				return fmt.Errorf("mint: %w", err)
			}
			hreq.Header.Set("Content-Type", "application/json")
			hreq.Header.Set("Authorization", "Bearer "+cred)
			resp, err := client.Do(hreq)
			if err != nil {
				return fmt.Errorf("mint: %w", err)
			}
			defer resp.Body.Close()
			data, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
			if err != nil {
				return fmt.Errorf("mint: read response: %w", err)
			}
			if resp.StatusCode != http.StatusOK {
				var eb issuer.ErrorBody
				if json.Unmarshal(data, &eb) == nil && eb.Error.Message != "" {
					return fmt.Errorf("mint: %s", eb.Error.Message)
				}
				return fmt.Errorf("mint: %s answered %s", endpoint, resp.Status)
			}
			if output == "json" {
				var pretty bytes.Buffer
				if err := json.Indent(&pretty, data, "", "  "); err != nil {
					return fmt.Errorf("mint: malformed response: %w", err)
				}
				_, err = s.Out.Write(append(bytes.TrimSpace(pretty.Bytes()), '\n'))
				return err
			}
			var tok issuer.Token
			if err := json.Unmarshal(data, &tok); err != nil || tok.Raw == "" {
				return errors.New("mint: malformed response: no token")
			}
			_, err = fmt.Fprintln(s.Out, tok.Raw)
			return err
		},
	}
	f := cmd.Flags()
	f.StringVar(&req.Workspace, "workspace", os.Getenv("KEYLESS_WORKSPACE"), "workspace slug (default $KEYLESS_WORKSPACE)")
	f.StringVar(&req.Repository, "repository", "", "repository slug")
	f.StringVar(&req.Environment, "environment", "", "deployment environment (makes a deployment step token)")
	f.StringVar(&req.Branch, "branch", "", "branch name (branchName claim)")
	f.StringArrayVar(&req.Audiences, "audience", nil, "custom audience (repeatable, at most 10); default is the workspace audience")
	f.DurationVar(&ttl, "ttl", 0, "token lifetime, e.g. 15m (default the server's, 1h)")
	f.StringVar(&req.WorkspaceUUID, "workspace-uuid", "", "register the workspace with this UUID instead of a derived one")
	f.StringVar(&req.RepositoryUUID, "repository-uuid", "", "register the repository with this UUID instead of a derived one")
	f.StringVar(&req.EnvironmentUUID, "environment-uuid", "", "register the environment with this UUID instead of a derived one")
	f.StringVar(&req.PipelineUUID, "pipeline-uuid", "", "pipeline UUID (default random)")
	f.StringVar(&req.StepUUID, "step-uuid", "", "step UUID (default random)")
	f.StringVar(&output, "output", "token", "output: token (the JWT) or json ({\"token\",\"claims\"})")
	f.StringVar(&endpoint, "endpoint", os.Getenv("KEYLESS_ENDPOINT"), "keyless server URL (default $KEYLESS_ENDPOINT)")
	f.StringVar(&cred, "runner-token", os.Getenv("KEYLESS_RUNNER_TOKEN"), "runner credential (default $KEYLESS_RUNNER_TOKEN)")
	f.StringVar(&caFile, "ca-bundle", os.Getenv("KEYLESS_CA_BUNDLE"), "PEM bundle to trust for an https endpoint (default $KEYLESS_CA_BUNDLE)")
	return cmd
}

// certPool is the system roots plus the PEM file caFile.
func certPool(caFile string) (*x509.CertPool, error) {
	pool, err := x509.SystemCertPool()
	if err != nil {
		pool = x509.NewCertPool()
	}
	if caFile != "" {
		pem, err := os.ReadFile(caFile)
		if err != nil {
			return nil, fmt.Errorf("read CA bundle: %w", err)
		}
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("CA bundle %s holds no PEM certificate", caFile)
		}
	}
	return pool, nil
}

// httpClient returns a client that trusts the system roots plus the PEM file caFile.
func httpClient(caFile string) (*http.Client, error) {
	pool, err := certPool(caFile)
	if err != nil {
		return nil, err
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	return &http.Client{Transport: tr, Timeout: 30 * time.Second}, nil
}
