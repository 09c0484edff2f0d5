// Package thumbprint finds the IAM OIDC provider thumbprints of an issuer, the way
// AWS's documented procedure does by hand with curl and openssl: fetch the issuer's
// discovery document, take the host of its jwks_uri, take the certificate chain that
// host serves in its TLS handshake (as `openssl s_client -showcerts` prints it, not a
// chain rebuilt by verification), and hash the last certificate of that chain — the
// top intermediate CA, or the server's own certificate when it sends nothing else —
// with SHA-1: 40 lower-case hexadecimal characters.
//
// When the discovery document and the keys are served by different hosts, both are
// thumbprinted: AWS's advice is to pin both.
package thumbprint

import (
	"context"
	"crypto/sha1"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// DiscoveryPath is where an OpenID Connect issuer publishes its discovery document.
const DiscoveryPath = "/.well-known/openid-configuration"

// MaxDiscoveryBytes bounds the discovery document Get reads.
const MaxDiscoveryBytes = 1 << 20

// DefaultTimeout bounds the discovery request and each TLS handshake when
// Config.Timeout is zero.
const DefaultTimeout = 15 * time.Second

// Roles a host plays for the issuer.
const (
	// RoleJWKS is the host of the discovery document's jwks_uri.
	RoleJWKS = "jwks_uri"
	// RoleDiscovery is the host serving the discovery document.
	RoleDiscovery = "discovery"
)

// Config says how Get reaches the issuer.
type Config struct {
	// RootCAs verifies the issuer's HTTPS servers, for the discovery request and the
	// TLS handshakes alike; nil means the system roots.
	RootCAs *x509.CertPool
	// Timeout bounds the discovery request and each TLS handshake; zero means
	// DefaultTimeout.
	Timeout time.Duration
}

func (c Config) timeout() time.Duration {
	if c.Timeout > 0 {
		return c.Timeout
	}
	return DefaultTimeout
}

func (c Config) tlsConfig(serverName string) *tls.Config {
	return &tls.Config{RootCAs: c.RootCAs, ServerName: serverName, MinVersion: tls.VersionTLS12}
}

// Host is one HTTPS host of the issuer and the thumbprint of the chain it serves.
type Host struct {
	// Roles are what the host serves: RoleJWKS, RoleDiscovery or both.
	Roles []string `json:"roles"`
	// Address is host:port as dialled.
	Address string `json:"host"`
	// Thumbprint is the lower-case hex SHA-1 of the DER of the last certificate the
	// host serves.
	Thumbprint string `json:"thumbprint"`
	// Subject is the subject of that certificate.
	Subject string `json:"subject"`
	// ChainLength is how many certificates the host serves (1: only its own).
	ChainLength int `json:"chainLength"`
}

// Has reports whether h plays role.
func (h Host) Has(role string) bool {
	for _, r := range h.Roles {
		if r == role {
			return true
		}
	}
	return false
}

// Result is what Get found.
type Result struct {
	// DiscoveryURL is the discovery document's URL.
	DiscoveryURL string `json:"discoveryUrl"`
	// JWKSURI is the discovery document's jwks_uri.
	JWKSURI string `json:"jwksUri"`
	// Hosts holds the jwks_uri host first, then the discovery host when it differs.
	Hosts []Host `json:"hosts"`
}

// Thumbprints returns the thumbprint of every host, in the order of Hosts: the
// list to give IAM as ThumbprintList.
func (r *Result) Thumbprints() []string {
	out := make([]string, 0, len(r.Hosts))
	for _, h := range r.Hosts {
		out = append(out, h.Thumbprint)
	}
	return out
}

// Of returns the thumbprint of cert as IAM wants it: the lower-case hex SHA-1 of its
// DER encoding, 40 characters, no colons.
func Of(cert *x509.Certificate) string {
	sum := sha1.Sum(cert.Raw)
	return hex.EncodeToString(sum[:])
}

// DiscoveryURL returns the discovery document URL of issuer, which may be given
// with or without "https://", with or without a trailing slash, or as the discovery
// URL itself. Only https is accepted: AWS accepts no other issuer.
func DiscoveryURL(issuer string) (*url.URL, error) {
	s := strings.TrimSpace(issuer)
	if s == "" {
		return nil, errors.New("the issuer URL is empty: give one such as https://api.bitbucket.org/2.0/workspaces/WORKSPACE/pipelines-config/identity/oidc")
	}
	if !strings.Contains(s, "://") {
		s = "https://" + s
	}
	u, err := url.Parse(s)
	if err != nil {
		return nil, fmt.Errorf("issuer URL %q is not a URL: %w", issuer, err)
	}
	if !strings.EqualFold(u.Scheme, "https") {
		return nil, fmt.Errorf("issuer URL %q uses %s: AWS accepts only https issuers, and only an HTTPS server has a certificate to thumbprint: give the https:// URL", issuer, u.Scheme)
	}
	if u.Host == "" || u.Hostname() == "" {
		return nil, fmt.Errorf("issuer URL %q has no host", issuer)
	}
	if u.User != nil || u.RawQuery != "" || u.Fragment != "" || u.ForceQuery {
		return nil, fmt.Errorf("issuer URL %q has a user, query or fragment, which issuer URLs never have: give the issuer (the token's iss claim)", issuer)
	}
	u.Scheme = "https"
	u.Path = strings.TrimRight(u.Path, "/")
	u.RawPath = ""
	if !strings.HasSuffix(u.Path, DiscoveryPath) {
		u.Path += DiscoveryPath
	}
	return u, nil
}

// ParseDiscovery returns the jwks_uri of a discovery document, which must be an
// absolute https URL.
func ParseDiscovery(doc []byte) (*url.URL, error) {
	var d struct {
		JWKSURI *string `json:"jwks_uri"`
	}
	if err := json.Unmarshal(doc, &d); err != nil {
		return nil, fmt.Errorf("the discovery document is not a JSON object: %w", err)
	}
	if d.JWKSURI == nil || *d.JWKSURI == "" {
		return nil, errors.New("the discovery document has no jwks_uri")
	}
	u, err := url.Parse(*d.JWKSURI)
	if err != nil {
		return nil, fmt.Errorf("the discovery document's jwks_uri %q is not a URL: %w", *d.JWKSURI, err)
	}
	if !strings.EqualFold(u.Scheme, "https") || u.Hostname() == "" {
		return nil, fmt.Errorf("the discovery document's jwks_uri %q is not an absolute https URL, which AWS requires", *d.JWKSURI)
	}
	return u, nil
}

// address returns host:port of an https URL, with 443 when no port is given.
func address(u *url.URL) string {
	port := u.Port()
	if port == "" {
		port = "443"
	}
	return net.JoinHostPort(u.Hostname(), port)
}

// Get fetches issuer's discovery document and returns the thumbprint of the chain
// served by the jwks_uri host and, when it is another host (or port), by the
// discovery host. Both are reached with cfg's roots: a server they do not trust is
// an error, not a thumbprint.
func Get(ctx context.Context, issuer string, cfg Config) (*Result, error) {
	disc, err := DiscoveryURL(issuer)
	if err != nil {
		return nil, err
	}
	doc, err := fetchDiscovery(ctx, disc.String(), cfg)
	if err != nil {
		return nil, err
	}
	jwks, err := ParseDiscovery(doc)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", disc, err)
	}
	res := &Result{DiscoveryURL: disc.String(), JWKSURI: jwks.String()}
	targets := []struct {
		u    *url.URL
		role string
	}{{jwks, RoleJWKS}, {disc, RoleDiscovery}}
	for _, tg := range targets {
		addr := address(tg.u)
		if len(res.Hosts) > 0 && res.Hosts[0].Address == addr {
			res.Hosts[0].Roles = append(res.Hosts[0].Roles, tg.role)
			continue
		}
		chain, err := ServedChain(ctx, addr, tg.u.Hostname(), cfg)
		if err != nil {
			return nil, fmt.Errorf("%s host: %w", tg.role, err)
		}
		top := chain[len(chain)-1]
		res.Hosts = append(res.Hosts, Host{
			Roles:       []string{tg.role},
			Address:     addr,
			Thumbprint:  Of(top),
			Subject:     top.Subject.String(),
			ChainLength: len(chain),
		})
	}
	return res, nil
}

func fetchDiscovery(ctx context.Context, u string, cfg Config) ([]byte, error) {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = cfg.tlsConfig("")
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: cfg.timeout()}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, fmt.Errorf("fetch discovery document: %w", err)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("fetch discovery document: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("fetch discovery document: GET %s answered %s: is it the issuer URL (the token's iss claim)?", u, resp.Status)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, MaxDiscoveryBytes+1))
	if err != nil {
		return nil, fmt.Errorf("fetch discovery document: read %s: %w", u, err)
	}
	if len(body) > MaxDiscoveryBytes {
		return nil, fmt.Errorf("fetch discovery document: %s is larger than %d bytes, which no discovery document is", u, MaxDiscoveryBytes)
	}
	return body, nil
}

// ServedChain performs a TLS handshake with address (host:port), verifying the
// server for serverName with cfg's roots, and returns the certificates the server
// sent, in the order it sent them (leaf first), as `openssl s_client -showcerts`
// shows them.
func ServedChain(ctx context.Context, address, serverName string, cfg Config) ([]*x509.Certificate, error) {
	ctx, cancel := context.WithTimeout(ctx, cfg.timeout())
	defer cancel()
	d := &tls.Dialer{Config: cfg.tlsConfig(serverName)}
	conn, err := d.DialContext(ctx, "tcp", address)
	if err != nil {
		return nil, fmt.Errorf("TLS handshake with %s: %w", address, err)
	}
	defer conn.Close()
	chain := conn.(*tls.Conn).ConnectionState().PeerCertificates
	if len(chain) == 0 {
		return nil, fmt.Errorf("TLS handshake with %s: the server sent no certificate", address)
	}
	return chain, nil
}
