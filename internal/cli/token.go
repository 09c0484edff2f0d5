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

	"github.com/keyless-dev/keyless/issuer"
)

func newTokenCmd(s Streams) *cobra.Command {
	cmd := &cobra.Command{
		Use:     "token",
		Short:   "Mint and inspect pipeline step tokens",
		Example: "  keyless token mint --workspace acme --repository web --environment production",
	}
	cmd.AddCommand(newTokenMintCmd(s))
	return cmd
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

// httpClient returns a client that trusts the system roots plus the PEM file caFile.
func httpClient(caFile string) (*http.Client, error) {
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
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	return &http.Client{Transport: tr, Timeout: 30 * time.Second}, nil
}
