package oidc

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"net"
	"strings"
	"testing"
)

// tlsHarness serves the IdP with cert and verifies with roots and thumbs.
func tlsHarness(t *testing.T, cert *tls.Certificate, roots *x509.CertPool, thumbs ...string) *harness {
	t.Helper()
	testKeys(t)
	h := &harness{t: t, clock: newClock()}
	h.rsa = signingKey{kid: "rsa-1", alg: "RS256", priv: rsaKeys[0]}
	h.idp = newIDP(t, cert)
	h.idp.publish(h.rsa)
	v, err := NewVerifier(Config{RootCAs: roots, Now: h.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	h.v = v
	h.prov = Provider{ARN: "arn:aws:iam::123456789012:oidc-provider/" + h.idp.iamURL(), URL: h.idp.iamURL(),
		ClientIDs: []string{testAud}, Thumbprints: thumbs}
	h.lookup = mapLookup(h.prov)
	return h
}

func TestThumbprintTrust(t *testing.T) {
	root := newCA(t, "Untrusted Root", nil)
	inter := newCA(t, "Untrusted Intermediate", root)
	chain := leaf(t, inter, inter.cert) // server sends leaf, intermediate
	unrelated := newCA(t, "Unrelated Root", nil)

	attackerRoot := newCA(t, "Attacker Root", nil)
	// The attacker appends the (public) pinned intermediate to its own chain.
	forged := leaf(t, attackerRoot, inter.cert)

	interTP := Thumbprint(inter.cert)
	cases := []struct {
		name    string
		cert    *tls.Certificate
		roots   *x509.CertPool
		thumbs  []string
		reason  Reason // 0 = success
		trusted string
	}{
		{"CA trusted, no thumbprint", &chain, pool(root), nil, 0, "ca"},
		{"untrusted CA, matching thumbprint (upper case)", &chain, pool(unrelated), []string{"0000000000000000000000000000000000000000", strings.ToUpper(interTP)}, 0, "thumbprint"},
		{"untrusted CA, thumbprint mismatch", &chain, pool(unrelated), []string{Thumbprint(root.cert)}, ReasonThumbprint, ""},
		{"untrusted CA, no thumbprint", &chain, pool(unrelated), nil, ReasonThumbprint, ""},
		{"system roots only, no thumbprint", &chain, nil, nil, ReasonThumbprint, ""},
		{"forged chain ending in the pinned certificate", &forged, pool(unrelated), []string{interTP}, ReasonThumbprint, ""},
		{"self-signed server, its own thumbprint", nil, pool(unrelated), []string{"SELF"}, 0, "thumbprint"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			thumbs := tc.thumbs
			h := tlsHarness(t, tc.cert, tc.roots)
			if len(thumbs) == 1 && thumbs[0] == "SELF" {
				thumbs = []string{Thumbprint(h.idp.srv.Certificate())}
			}
			h.prov.Thumbprints = thumbs
			h.lookup = mapLookup(h.prov)
			_, err := h.verify(mint(t, h.rsa, h.claims(nil), nil))
			if tc.reason == 0 {
				if err != nil {
					t.Fatalf("want success: %v (%s)", err, detailOf(err))
				}
				info, err := h.v.FetchKeys(context.Background(), h.idp.issuer(), h.prov)
				if err != nil || info.TrustedBy != tc.trusted {
					t.Fatalf("FetchKeys: %v %+v", err, info)
				}
				return
			}
			e := asError(t, err)
			if e.Code != CodeInvalidIdentityToken || e.Message != MessageThumbprint || e.Reason != tc.reason || e.Retryable() {
				t.Fatalf("got %s %q %v (%s)", e.Code, e.Message, e.Reason, e.Detail)
			}
			// The detail names the thumbprint the server presented.
			certs := chainOf(h)
			if !strings.Contains(e.Detail, Thumbprint(certs[len(certs)-1])) {
				t.Fatalf("detail lacks presented thumbprint: %s", e.Detail)
			}
		})
	}
}

func chainOf(h *harness) []*x509.Certificate {
	var out []*x509.Certificate
	for _, der := range h.idp.srv.TLS.Certificates[0].Certificate {
		c, _ := x509.ParseCertificate(der)
		out = append(out, c)
	}
	return out
}

func TestThumbprintWrongHost(t *testing.T) {
	root := newCA(t, "Root", nil)
	inter := newCA(t, "Intermediate", root)
	c, k := newCert(t, &x509.Certificate{
		IPAddresses: []net.IP{net.IPv4(10, 9, 8, 7)},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}, inter)
	cert := tls.Certificate{Certificate: [][]byte{c.Raw, inter.cert.Raw}, PrivateKey: k}
	h := tlsHarness(t, &cert, x509.NewCertPool(), Thumbprint(inter.cert))
	_, err := h.verify(mint(t, h.rsa, h.claims(nil), nil))
	if e := asError(t, err); e.Reason != ReasonThumbprint {
		t.Fatalf("got %v (%s)", e.Reason, e.Detail)
	}
}

func TestThumbprintFormat(t *testing.T) {
	root := newCA(t, "Root", nil)
	tp := Thumbprint(root.cert)
	if len(tp) != 40 || strings.ToLower(tp) != tp {
		t.Fatal(tp)
	}
}
