package oidc

import (
	"context"
	"crypto/sha1"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"
	"time"
)

// Thumbprint returns the IAM thumbprint of cert: the lower-case hex SHA-1 of
// its DER encoding (40 characters). IAM expects the thumbprint of the top
// intermediate CA certificate the server presents, that is the last
// certificate of the chain it sends (for a single self-signed certificate,
// that certificate).
func Thumbprint(cert *x509.Certificate) string {
	sum := sha1.Sum(cert.Raw)
	return hex.EncodeToString(sum[:])
}

// normalizeThumbprints lower-cases, drops empties and sorts, so that the
// result can be part of a cache key and compared directly.
func normalizeThumbprints(in []string) []string {
	out := make([]string, 0, len(in))
	for _, t := range in {
		t = strings.ToLower(strings.TrimSpace(t))
		if t != "" && !slices.Contains(out, t) {
			out = append(out, t)
		}
	}
	slices.Sort(out)
	return out
}

// thumbprintError is returned by the TLS handshake when the server is trusted
// neither by a root CA nor by a thumbprint.
type thumbprintError struct {
	host      string
	presented string // thumbprint of the last certificate sent
	caErr     error
	detail    string
}

func (e *thumbprintError) Error() string {
	return fmt.Sprintf("TLS certificate of %s not trusted: %s (CA verification: %v; top certificate thumbprint %s)", e.host, e.detail, e.caErr, e.presented)
}

// trust decides whether a server is trusted: first through the root CAs
// (nil = system roots), then through the provider's thumbprints.
type trust struct {
	roots       *x509.CertPool
	thumbprints []string // normalized
	now         func() time.Time
}

// verify checks the chain the server sent for host. It returns how the
// server was trusted ("ca" or "thumbprint").
func (t *trust) verify(host string, certs []*x509.Certificate) (string, error) {
	if len(certs) == 0 {
		return "", &thumbprintError{host: host, detail: "server sent no certificate"}
	}
	leaf := certs[0]
	inter := x509.NewCertPool()
	for _, c := range certs[1:] {
		inter.AddCert(c)
	}
	opts := x509.VerifyOptions{
		Roots:         t.roots,
		Intermediates: inter,
		DNSName:       host,
		CurrentTime:   t.now(),
		KeyUsages:     []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	_, caErr := leaf.Verify(opts)
	if caErr == nil {
		return "ca", nil
	}
	top := certs[len(certs)-1]
	presented := Thumbprint(top)
	if !slices.Contains(t.thumbprints, presented) {
		detail := "no configured thumbprint matches"
		if len(t.thumbprints) == 0 {
			detail = "no thumbprint configured"
		}
		return "", &thumbprintError{host: host, presented: presented, caErr: caErr, detail: detail}
	}
	// The thumbprint pins the top certificate, which is public: anyone can
	// append it to their own chain. So the chain must still verify, with the
	// pinned certificate as its only root, for this host.
	pinned := x509.NewCertPool()
	pinned.AddCert(top)
	opts.Roots = pinned
	if _, err := leaf.Verify(opts); err != nil {
		return "", &thumbprintError{host: host, presented: presented, caErr: caErr,
			detail: "thumbprint matches but the chain does not verify up to the pinned certificate: " + err.Error()}
	}
	return "thumbprint", nil
}

// dialer returns a DialTLSContext function that performs the TLS handshake
// itself, with the host taken from the dialled address (so IP addresses are
// verified too), and our trust rules instead of Go's default verification.
func (t *trust) dialer(dial func(ctx context.Context, network, addr string) (net.Conn, error)) func(ctx context.Context, network, addr string) (net.Conn, error) {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		host, _, err := net.SplitHostPort(addr)
		if err != nil {
			return nil, err
		}
		raw, err := dial(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		cfg := &tls.Config{
			ServerName: host,
			MinVersion: tls.VersionTLS12,
			// Verification is done in VerifyConnection, with our roots and
			// thumbprints; Go's default verifier would refuse thumbprint-
			// trusted servers.
			InsecureSkipVerify: true, //nolint:gosec // replaced by VerifyConnection
			VerifyConnection: func(cs tls.ConnectionState) error {
				_, err := t.verify(host, cs.PeerCertificates)
				return err
			},
		}
		conn := tls.Client(raw, cfg)
		if err := conn.HandshakeContext(ctx); err != nil {
			raw.Close()
			return nil, err
		}
		return conn, nil
	}
}

func asThumbprintError(err error) (*thumbprintError, bool) {
	var te *thumbprintError
	ok := errors.As(err, &te)
	return te, ok
}
