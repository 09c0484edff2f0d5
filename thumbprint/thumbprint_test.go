package thumbprint

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha1"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// pki is a root CA, an intermediate CA it signs, and server certificates.
type pki struct {
	root, inter       *x509.Certificate
	rootKey, interKey crypto.Signer
}

func newKey(t *testing.T) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func sign(t *testing.T, tmpl, parent *x509.Certificate, pub crypto.PublicKey, key crypto.Signer) *x509.Certificate {
	t.Helper()
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, pub, key)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func template(t *testing.T, cn string, ca bool) *x509.Certificate {
	t.Helper()
	serial, err := rand.Int(rand.Reader, big.NewInt(1<<62))
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: cn},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
	}
	if ca {
		tmpl.IsCA, tmpl.BasicConstraintsValid = true, true
		tmpl.KeyUsage = x509.KeyUsageCertSign
	} else {
		tmpl.KeyUsage = x509.KeyUsageDigitalSignature
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
		tmpl.DNSNames = []string{"localhost"}
		tmpl.IPAddresses = []net.IP{net.IPv4(127, 0, 0, 1)}
	}
	return tmpl
}

func newPKI(t *testing.T, name string) *pki {
	t.Helper()
	rk, ik := newKey(t), newKey(t)
	rootTmpl := template(t, name+" Root CA", true)
	root := sign(t, rootTmpl, rootTmpl, rk.Public(), rk)
	inter := sign(t, template(t, name+" Intermediate CA", true), root, ik.Public(), rk)
	return &pki{root: root, inter: inter, rootKey: rk, interKey: ik}
}

// leafChain returns a server certificate signed by the intermediate (or by the
// root when direct) followed by the extra certificates the server is to send.
func (p *pki) leaf(t *testing.T, direct bool, extra ...*x509.Certificate) (tls.Certificate, []*x509.Certificate) {
	t.Helper()
	k := newKey(t)
	parent, pkey := p.inter, p.interKey
	if direct {
		parent, pkey = p.root, p.rootKey
	}
	leaf := sign(t, template(t, "keyless test server", false), parent, k.Public(), pkey)
	chain := append([]*x509.Certificate{leaf}, extra...)
	cert := tls.Certificate{PrivateKey: k, Leaf: leaf}
	for _, c := range chain {
		cert.Certificate = append(cert.Certificate, c.Raw)
	}
	return cert, chain
}

// server starts an HTTPS test server on 127.0.0.1 serving cert, whose discovery
// document points at jwks (a URL, or "" for its own keys.json).
func server(t *testing.T, cert tls.Certificate, jwks func(self string) string) *httptest.Server {
	t.Helper()
	mux := http.NewServeMux()
	srv := httptest.NewUnstartedServer(mux)
	mux.HandleFunc("/issuer/.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"issuer": %q, "jwks_uri": %q, "id_token_signing_alg_values_supported": ["RS256"]}`, srv.URL+"/issuer", jwks(srv.URL))
	})
	mux.HandleFunc("/keys.json", func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, `{"keys": []}`) })
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv
}

func self(s string) string { return s + "/keys.json" }

// opensslSHA1 is what `openssl x509 -fingerprint -sha1 -noout` prints, without
// "SHA1 Fingerprint=" and colons, lower-cased: computed independently of Of.
func opensslSHA1(c *x509.Certificate) string {
	sum := sha1.Sum(c.Raw)
	return strings.ToLower(hex.EncodeToString(sum[:]))
}

func TestGet(t *testing.T) {
	a, b := newPKI(t, "A"), newPKI(t, "B")
	type want struct {
		roles      string
		top        *x509.Certificate
		chainLen   int
		sameAsDisc bool
	}
	tests := []struct {
		name string
		// setup returns the issuer URL, the roots to trust and the hosts wanted.
		setup func(t *testing.T) (issuer string, roots []*x509.Certificate, want []want)
	}{
		{"leaf and intermediate: the intermediate", func(t *testing.T) (string, []*x509.Certificate, []want) {
			cert, _ := a.leaf(t, false, a.inter)
			s := server(t, cert, self)
			return s.URL + "/issuer", []*x509.Certificate{a.root}, []want{{"jwks_uri,discovery", a.inter, 2, true}}
		}},
		{"leaf, intermediate and root: the root, last served", func(t *testing.T) (string, []*x509.Certificate, []want) {
			cert, _ := a.leaf(t, false, a.inter, a.root)
			s := server(t, cert, self)
			return s.URL + "/issuer", []*x509.Certificate{a.root}, []want{{"jwks_uri,discovery", a.root, 3, true}}
		}},
		{"leaf alone: the leaf", func(t *testing.T) (string, []*x509.Certificate, []want) {
			cert, chain := a.leaf(t, true)
			s := server(t, cert, self)
			return s.URL + "/issuer", []*x509.Certificate{a.root}, []want{{"jwks_uri,discovery", chain[0], 1, true}}
		}},
		{"leaf and local CA, like keyless up", func(t *testing.T) (string, []*x509.Certificate, []want) {
			cert, _ := a.leaf(t, true, a.root)
			s := server(t, cert, self)
			return s.URL + "/issuer", []*x509.Certificate{a.root}, []want{{"jwks_uri,discovery", a.root, 2, true}}
		}},
		{"keys on another host: both, jwks_uri first", func(t *testing.T) (string, []*x509.Certificate, []want) {
			kcert, _ := b.leaf(t, false, b.inter)
			keys := server(t, kcert, self)
			_, port, _ := net.SplitHostPort(strings.TrimPrefix(keys.URL, "https://"))
			dcert, _ := a.leaf(t, false, a.inter)
			disc := server(t, dcert, func(string) string { return "https://localhost:" + port + "/keys.json" })
			return disc.URL + "/issuer", []*x509.Certificate{a.root, b.root}, []want{{"jwks_uri", b.inter, 2, false}, {"discovery", a.inter, 2, false}}
		}},
		{"given without https:// and with a trailing slash", func(t *testing.T) (string, []*x509.Certificate, []want) {
			cert, _ := a.leaf(t, false, a.inter)
			s := server(t, cert, self)
			return strings.TrimPrefix(s.URL, "https://") + "/issuer/", []*x509.Certificate{a.root}, []want{{"jwks_uri,discovery", a.inter, 2, true}}
		}},
		{"given as the discovery URL", func(t *testing.T) (string, []*x509.Certificate, []want) {
			cert, _ := a.leaf(t, false, a.inter)
			s := server(t, cert, self)
			return s.URL + "/issuer/.well-known/openid-configuration", []*x509.Certificate{a.root}, []want{{"jwks_uri,discovery", a.inter, 2, true}}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			issuer, roots, want := tc.setup(t)
			pool := x509.NewCertPool()
			for _, r := range roots {
				pool.AddCert(r)
			}
			res, err := Get(context.Background(), issuer, Config{RootCAs: pool, Timeout: 5 * time.Second})
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Hosts) != len(want) {
				t.Fatalf("hosts = %+v, want %d", res.Hosts, len(want))
			}
			if !strings.HasSuffix(res.DiscoveryURL, "/issuer"+DiscoveryPath) || !strings.HasSuffix(res.JWKSURI, "/keys.json") {
				t.Errorf("discovery %s, jwks %s", res.DiscoveryURL, res.JWKSURI)
			}
			for i, w := range want {
				h := res.Hosts[i]
				if got := strings.Join(h.Roles, ","); got != w.roles {
					t.Errorf("host %d roles %s, want %s", i, got, w.roles)
				}
				if h.Thumbprint != opensslSHA1(w.top) || len(h.Thumbprint) != 40 {
					t.Errorf("host %d (%s) thumbprint %s, want %s (%s)", i, h.Address, h.Thumbprint, opensslSHA1(w.top), w.top.Subject)
				}
				if h.Subject != w.top.Subject.String() || h.ChainLength != w.chainLen {
					t.Errorf("host %d subject %q chain %d, want %q %d", i, h.Subject, h.ChainLength, w.top.Subject, w.chainLen)
				}
			}
			if got := res.Thumbprints(); len(got) != len(want) || got[0] != res.Hosts[0].Thumbprint {
				t.Errorf("Thumbprints() = %v", got)
			}
		})
	}
}

func TestGetErrors(t *testing.T) {
	a := newPKI(t, "A")
	pool := x509.NewCertPool()
	pool.AddCert(a.root)
	cert, _ := a.leaf(t, false, a.inter)
	mux := http.NewServeMux()
	docs := map[string]string{
		"not-json":  `<html>hello</html>`,
		"no-jwks":   `{"issuer": "x"}`,
		"http-jwks": `{"jwks_uri": "http://127.0.0.1/keys.json"}`,
		"big":       `{"jwks_uri": "` + strings.Repeat("a", MaxDiscoveryBytes) + `"}`,
	}
	for name, doc := range docs {
		mux.HandleFunc("/"+name+DiscoveryPath, func(w http.ResponseWriter, _ *http.Request) { fmt.Fprint(w, doc) })
	}
	closed := httptest.NewServer(http.NotFoundHandler())
	closedURL := closed.URL
	closed.Close()
	mux.HandleFunc("/closed-jwks"+DiscoveryPath, func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintf(w, `{"jwks_uri": %q}`, strings.Replace(closedURL, "http:", "https:", 1)+"/keys.json")
	})
	srv := httptest.NewUnstartedServer(mux)
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
	srv.StartTLS()
	defer srv.Close()

	tests := []struct {
		name, issuer string
		roots        *x509.CertPool
		want         string
		unknownCA    bool
	}{
		{"empty", " ", pool, "the issuer URL is empty", false},
		{"http issuer", "http://127.0.0.1/x", pool, "AWS accepts only https issuers", false},
		{"query", srv.URL + "/x?a=b", pool, "has a user, query or fragment", false},
		{"untrusted CA", srv.URL + "/no-jwks", x509.NewCertPool(), "fetch discovery document", true},
		{"404", srv.URL + "/missing", pool, "answered 404 Not Found", false},
		{"not JSON", srv.URL + "/not-json", pool, "not a JSON object", false},
		{"no jwks_uri", srv.URL + "/no-jwks", pool, "has no jwks_uri", false},
		{"http jwks_uri", srv.URL + "/http-jwks", pool, "is not an absolute https URL", false},
		{"too large", srv.URL + "/big", pool, "larger than 1048576 bytes", false},
		{"jwks host down", srv.URL + "/closed-jwks", pool, "jwks_uri host: TLS handshake with 127.0.0.1:", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Get(context.Background(), tc.issuer, Config{RootCAs: tc.roots, Timeout: 5 * time.Second})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to contain %q", err, tc.want)
			}
			var ua x509.UnknownAuthorityError
			if errors.As(err, &ua) != tc.unknownCA {
				t.Errorf("errors.As(UnknownAuthorityError) = %v, want %v: %v", !tc.unknownCA, tc.unknownCA, err)
			}
		})
	}
}

// TestServedChainUntrusted: a handshake with a server the roots do not trust fails
// with the verification error, rather than thumbprinting whoever answered.
func TestServedChainUntrusted(t *testing.T) {
	a, b := newPKI(t, "A"), newPKI(t, "B")
	cert, _ := a.leaf(t, false, a.inter)
	s := server(t, cert, self)
	pool := x509.NewCertPool()
	pool.AddCert(b.root)
	_, err := ServedChain(context.Background(), strings.TrimPrefix(s.URL, "https://"), "127.0.0.1", Config{RootCAs: pool})
	var ve *tls.CertificateVerificationError
	if !errors.As(err, &ve) {
		t.Fatalf("err = %v, want a certificate verification error", err)
	}
}

func TestDiscoveryURL(t *testing.T) {
	const want = "https://api.bitbucket.org/2.0/workspaces/acme/pipelines-config/identity/oidc/.well-known/openid-configuration"
	tests := []struct{ in, want, err string }{
		{"https://api.bitbucket.org/2.0/workspaces/acme/pipelines-config/identity/oidc", want, ""},
		{"api.bitbucket.org/2.0/workspaces/acme/pipelines-config/identity/oidc", want, ""},
		{"  https://api.bitbucket.org/2.0/workspaces/acme/pipelines-config/identity/oidc/ ", want, ""},
		{"HTTPS://api.bitbucket.org/2.0/workspaces/acme/pipelines-config/identity/oidc", want, ""},
		{want, want, ""},
		{"token.actions.githubusercontent.com", "https://token.actions.githubusercontent.com/.well-known/openid-configuration", ""},
		{"127.0.0.1:8400/x", "https://127.0.0.1:8400/x/.well-known/openid-configuration", ""},
		{"", "", "empty"},
		{"http://example.com", "", "uses http"},
		{"ftp://example.com", "", "uses ftp"},
		{"https://", "", "has no host"},
		{"https://u:p@example.com", "", "user, query or fragment"},
		{"https://example.com/#x", "", "user, query or fragment"},
		{"https://exa mple.com", "", "is not a URL"},
	}
	for _, tc := range tests {
		got, err := DiscoveryURL(tc.in)
		switch {
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
			t.Errorf("DiscoveryURL(%q) error %v, want %q", tc.in, err, tc.err)
		case tc.err == "" && err != nil:
			t.Errorf("DiscoveryURL(%q): %v", tc.in, err)
		case tc.err == "" && got.String() != tc.want:
			t.Errorf("DiscoveryURL(%q) = %s, want %s", tc.in, got, tc.want)
		}
	}
}

func TestParseDiscovery(t *testing.T) {
	tests := []struct{ doc, want, err string }{
		{`{"jwks_uri": "https://api.bitbucket.org/2.0/workspaces/acme/pipelines-config/identity/oidc/keys.json"}`, "https://api.bitbucket.org/2.0/workspaces/acme/pipelines-config/identity/oidc/keys.json", ""},
		{`{"jwks_uri": "https://keys.example.com:8443/k", "other": [1, 2]}`, "https://keys.example.com:8443/k", ""},
		{`{}`, "", "has no jwks_uri"},
		{`{"jwks_uri": ""}`, "", "has no jwks_uri"},
		{`{"jwks_uri": 7}`, "", "not a JSON object"},
		{`[]`, "", "not a JSON object"},
		{`{"jwks_uri": "/keys.json"}`, "", "not an absolute https URL"},
		{`{"jwks_uri": "http://example.com/keys"}`, "", "not an absolute https URL"},
		{`{"jwks_uri": "https://a b/"}`, "", "is not a URL"},
	}
	for _, tc := range tests {
		got, err := ParseDiscovery([]byte(tc.doc))
		switch {
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
			t.Errorf("ParseDiscovery(%s) error %v, want %q", tc.doc, err, tc.err)
		case tc.err == "" && err != nil:
			t.Errorf("ParseDiscovery(%s): %v", tc.doc, err)
		case tc.err == "" && got.String() != tc.want:
			t.Errorf("ParseDiscovery(%s) = %s, want %s", tc.doc, got, tc.want)
		}
	}
}

// TestOutput compares the text and JSON forms with golden files.
func TestOutput(t *testing.T) {
	one := &Result{
		DiscoveryURL: "https://127.0.0.1:8400/2.0/workspaces/keyless/pipelines-config/identity/oidc/.well-known/openid-configuration",
		JWKSURI:      "https://127.0.0.1:8400/2.0/workspaces/keyless/pipelines-config/identity/oidc/keys.json",
		Hosts:        []Host{{Roles: []string{RoleJWKS, RoleDiscovery}, Address: "127.0.0.1:8400", Thumbprint: "00112233445566778899aabbccddeeff00112233", Subject: "CN=keyless local CA", ChainLength: 2}},
	}
	two := &Result{
		DiscoveryURL: "https://issuer.example.com/.well-known/openid-configuration",
		JWKSURI:      "https://keys.example.net/jwks.json",
		Hosts: []Host{
			{Roles: []string{RoleJWKS}, Address: "keys.example.net:443", Thumbprint: "0123456789abcdef0123456789abcdef01234567", Subject: "CN=Example Keys Intermediate CA", ChainLength: 2},
			{Roles: []string{RoleDiscovery}, Address: "issuer.example.com:443", Thumbprint: "fedcba9876543210fedcba9876543210fedcba98", Subject: "CN=Example Issuer Intermediate CA", ChainLength: 3},
		},
	}
	for _, tc := range []struct {
		name string
		res  *Result
	}{{"one-host", one}, {"two-hosts", two}} {
		var text, js bytes.Buffer
		if err := tc.res.WriteText(&text); err != nil {
			t.Fatal(err)
		}
		if err := tc.res.WriteJSON(&js); err != nil {
			t.Fatal(err)
		}
		golden(t, tc.name+".txt", text.Bytes())
		golden(t, tc.name+".json", js.Bytes())
	}
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from %s:\n%s", name, path, got)
	}
}
