package cli

import (
	"crypto/tls"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/keyless-dev/keyless/oidc"
	"github.com/keyless-dev/keyless/thumbprint"
)

func newThumbprintCmd(s Streams) *cobra.Command {
	var output, caFile string
	cmd := &cobra.Command{
		Use:   "thumbprint URL",
		Short: "Print the IAM OIDC provider thumbprint of an issuer",
		Long: `Compute the thumbprint IAM takes for an OpenID Connect provider, the way AWS's
documented procedure does with openssl: fetch URL/.well-known/openid-configuration
(URL given with or without https://), take the host of its jwks_uri, take the
certificate chain that host serves in its TLS handshake, and print the SHA-1 of the
last certificate of that chain (the top intermediate CA) as 40 lower-case hex
characters without colons.

When the discovery document and the keys are served by different hosts, both are
printed, one per line as "THUMBPRINT  ROLE host HOST:PORT", the jwks_uri host first:
pin both. --output json gives {discoveryUrl, jwksUri, thumbprints, hosts}.

The servers are verified with the system roots plus --ca-bundle (default
$KEYLESS_CA_BUNDLE), so a private CA is passed there, and a server that cannot be
verified gets no thumbprint. Against "keyless up", which serves its certificate and
the local CA that signed it, the thumbprint is that of the CA certificate, as
"openssl x509 -fingerprint -sha1 -noout -in $KEYLESS_CA_BUNDLE" prints it.

An issuer that "keyless up" serves under a production URL (KEYLESS_ISSUER_ALIASES
in its env file) is never looked up: its local issuer is thumbprinted instead.

AWS now verifies an issuer's certificate against the CAs it trusts and falls back
to the thumbprints for the others; older tools may still require a ThumbprintList.`,
		Example: `  keyless thumbprint api.bitbucket.org/2.0/workspaces/acme/pipelines-config/identity/oidc
  keyless thumbprint "$KEYLESS_ISSUER" --output json
  keyless thumbprint https://oidc.example.com --ca-bundle private-ca.pem`,
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) != 1 {
				return fmt.Errorf("thumbprint takes one issuer URL (the tokens' iss claim), got %d arguments: e.g. keyless thumbprint \"$KEYLESS_ISSUER\"", len(args))
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if output != "text" && output != "json" {
				return fmt.Errorf("invalid --output %q: use text or json", output)
			}
			pool, err := certPool(caFile)
			if err != nil {
				return fmt.Errorf("thumbprint: %w", err)
			}
			issuer, err := localIssuer(args[0], os.Getenv(oidc.AliasesEnv))
			if err != nil {
				return fmt.Errorf("thumbprint: %w", err)
			}
			if issuer != args[0] {
				fmt.Fprintf(s.Err, "note: %s is served by the local stack (%s): this is the thumbprint of its local issuer %s\n", args[0], oidc.AliasesEnv, issuer)
			}
			res, err := thumbprint.Get(cmd.Context(), issuer, thumbprint.Config{RootCAs: pool})
			if err != nil {
				var ve *tls.CertificateVerificationError
				if errors.As(err, &ve) {
					return fmt.Errorf("thumbprint: %w\nhint: the issuer's certificate is not signed by a CA this machine trusts: pass that CA with --ca-bundle FILE (for keyless up, `. .keyless/env` sets KEYLESS_CA_BUNDLE)", err)
				}
				return fmt.Errorf("thumbprint: %w", err)
			}
			for _, h := range res.Hosts {
				if h.ChainLength == 1 {
					fmt.Fprintf(s.Err, "note: %s (%s) sends only its own certificate, so its thumbprint is that of the server certificate, which changes whenever it is renewed\n", h.Address, strings.Join(h.Roles, " and "))
				}
			}
			if output == "json" {
				return res.WriteJSON(s.Out)
			}
			return res.WriteText(s.Out)
		},
	}
	cmd.Flags().StringVar(&output, "output", "text", "output: text or json")
	cmd.Flags().StringVar(&caFile, "ca-bundle", os.Getenv("KEYLESS_CA_BUNDLE"), "extra PEM CA bundle to trust for the issuer (default $KEYLESS_CA_BUNDLE)")
	return cmd
}

// localIssuer returns the local issuer URL that stands for issuer when aliases
// (the value of KEYLESS_ISSUER_ALIASES) name it, else issuer itself. The issuer may
// be written as the thumbprint command accepts it: with or without https://, a
// trailing slash or the discovery path.
func localIssuer(issuer, aliases string) (string, error) {
	if strings.TrimSpace(aliases) == "" {
		return issuer, nil
	}
	m, err := oidc.ParseAliases(aliases)
	if err != nil {
		return "", fmt.Errorf("%s: %w", oidc.AliasesEnv, err)
	}
	u, err := thumbprint.DiscoveryURL(issuer)
	if err != nil {
		return "", err
	}
	u.Path = strings.TrimSuffix(u.Path, thumbprint.DiscoveryPath)
	if local, ok := m[u.String()]; ok {
		return local, nil
	}
	return issuer, nil
}
