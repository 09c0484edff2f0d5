package localca

import (
	"crypto/tls"
	"crypto/x509"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

func TestIssuedCertificateIsTrustedThroughBundle(t *testing.T) {
	now := time.Now()
	ca, err := New(now, "test CA")
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := ca.MarshalKey()
	if err != nil {
		t.Fatal(err)
	}
	reloaded, err := Load(ca.CertPEM(), keyDER)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := reloaded.Issue(now, []string{"localhost", "127.0.0.1", "::1"})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		io.WriteString(w, "ok")
	}))
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
	srv.StartTLS()
	defer srv.Close()

	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(ca.CertPEM()) {
		t.Fatal("bundle PEM not parseable")
	}
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	resp, err := client.Get(srv.URL)
	if err != nil {
		t.Fatalf("GET over TLS with the CA bundle: %v", err)
	}
	resp.Body.Close()

	untrusting := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: x509.NewCertPool()}}}
	if _, err := untrusting.Get(srv.URL); err == nil {
		t.Fatal("a client without the bundle trusted the local certificate")
	}
}

func TestLoadRejectsGarbage(t *testing.T) {
	if _, err := Load([]byte("not pem"), nil); err == nil {
		t.Error("Load accepted non-PEM certificate")
	}
	ca, _ := New(time.Now(), "x")
	if _, err := Load(ca.CertPEM(), []byte{1, 2, 3}); err == nil {
		t.Error("Load accepted a garbage key")
	}
}
