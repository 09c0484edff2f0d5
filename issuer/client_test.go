package issuer_test

import (
	"context"
	"crypto/x509"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"syscall"
	"testing"

	"github.com/keyless-dev/keyless/issuer"
)

func TestClientMints(t *testing.T) {
	f := newFixture(t, issuer.KeyConfig{Algorithm: "ES256"}, true)
	h, cred := newHandler(t, f)
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	c, err := issuer.NewClient(srv.URL+"/", cred, issuer.ClientOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	cases := []struct {
		req issuer.MintRequest
		sub string
	}{
		{issuer.MintRequest{Workspace: "acme", Repository: "web", Environment: "production"}, "{" + issuer.RepositoryUUID("acme", "web") + "}:{" + issuer.EnvironmentUUID("acme", "web", "production") + "}:"},
		{issuer.MintRequest{CI: issuer.CIGitHub, Repository: "acme/web", Environment: "production"}, "repo:acme/web:environment:production"},
		{issuer.MintRequest{CI: issuer.CIGitLab, Repository: "acme/web"}, "project_path:acme/web:ref_type:branch:ref:main"},
	}
	for _, tc := range cases {
		tok, err := c.Mint(ctx, tc.req)
		if err != nil {
			t.Fatalf("%+v: %v", tc.req, err)
		}
		if !strings.HasPrefix(tok.Subject(), tc.sub) || payload(t, tok.Raw)["sub"] != tok.Subject() || tok.KeyID != "" {
			t.Errorf("%+v: sub %q (token's %v), kid %q; want sub starting %q and no kid", tc.req, tok.Subject(), payload(t, tok.Raw)["sub"], tok.KeyID, tc.sub)
		}
		if want := tc.req.CI; want != "" && tok.CI != want {
			t.Errorf("CI %q, want %q", tok.CI, want)
		}
	}
}

func TestClientErrors(t *testing.T) {
	f := newFixture(t, issuer.KeyConfig{Algorithm: "ES256"}, true)
	h, cred := newHandler(t, f)
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	ctx := context.Background()

	t.Run("refusals are *Error with the API's code and field", func(t *testing.T) {
		for _, tc := range []struct {
			cred  string
			req   issuer.MintRequest
			code  string
			field string
		}{
			{cred, issuer.MintRequest{Workspace: "acme", Repository: "Web!"}, issuer.CodeInvalidRequest, "repository"},
			{cred, issuer.MintRequest{CI: issuer.CIGitHub, Repository: "web"}, issuer.CodeInvalidRequest, "workspace"},
			{"klr_nope_nope", issuer.MintRequest{Workspace: "acme", Repository: "web"}, issuer.CodeUnauthorized, ""},
		} {
			c, err := issuer.NewClient(srv.URL, tc.cred, issuer.ClientOptions{})
			if err != nil {
				t.Fatal(err)
			}
			_, err = c.Mint(ctx, tc.req)
			var ie *issuer.Error
			if !errors.As(err, &ie) || ie.Code != tc.code || ie.Field != tc.field || ie.Message == "" {
				t.Errorf("%+v: err = %#v, want %s on %q with a message", tc.req, err, tc.code, tc.field)
			}
		}
	})

	t.Run("answers that are not the API's", func(t *testing.T) {
		for _, tc := range []struct {
			status int
			body   string
			says   string
		}{
			{502, "<html>bad gateway</html>", "answered 502 Bad Gateway"},
			{200, `{"claims":{}}`, "malformed response: no token"},
			{200, `not json`, "malformed response"},
			{200, `{"token":"a.b.c","ci":"jenkins"}`, "malformed response"},
		} {
			fake := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				w.WriteHeader(tc.status)
				w.Write([]byte(tc.body))
			}))
			c, err := issuer.NewClient(fake.URL, cred, issuer.ClientOptions{})
			if err != nil {
				t.Fatal(err)
			}
			_, err = c.Mint(ctx, issuer.MintRequest{Workspace: "acme", Repository: "web"})
			fake.Close()
			if err == nil || !strings.Contains(err.Error(), tc.says) {
				t.Errorf("%d %q: err = %v, want %q", tc.status, tc.body, err, tc.says)
			}
		}
	})

	t.Run("transport errors stay visible", func(t *testing.T) {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := l.Addr().String()
		l.Close()
		c, err := issuer.NewClient("http://"+addr, cred, issuer.ClientOptions{})
		if err != nil {
			t.Fatal(err)
		}
		_, err = c.Mint(ctx, issuer.MintRequest{Workspace: "acme", Repository: "web"})
		if !errors.Is(err, syscall.ECONNREFUSED) {
			t.Errorf("err = %v, want one that unwraps to ECONNREFUSED", err)
		}
	})

	t.Run("https trusts the given roots only", func(t *testing.T) {
		tlsSrv := httptest.NewTLSServer(h)
		t.Cleanup(tlsSrv.Close)
		pool := x509.NewCertPool()
		pool.AddCert(tlsSrv.Certificate())
		c, err := issuer.NewClient(tlsSrv.URL, cred, issuer.ClientOptions{RootCAs: pool})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.Mint(ctx, issuer.MintRequest{Workspace: "acme", Repository: "web"}); err != nil {
			t.Errorf("with the server's CA: %v", err)
		}
		c, err = issuer.NewClient(tlsSrv.URL, cred, issuer.ClientOptions{RootCAs: x509.NewCertPool()})
		if err != nil {
			t.Fatal(err)
		}
		var ue x509.UnknownAuthorityError
		if _, err := c.Mint(ctx, issuer.MintRequest{Workspace: "acme", Repository: "web"}); !errors.As(err, &ue) {
			t.Errorf("without it: err = %v, want an unknown-authority error", err)
		}
	})

	t.Run("bad configuration", func(t *testing.T) {
		for _, tc := range []struct{ endpoint, cred, says string }{
			{"", cred, "no endpoint"},
			{"127.0.0.1:8400", cred, "not an http or https URL"},
			{srv.URL, "", "no runner credential"},
		} {
			if _, err := issuer.NewClient(tc.endpoint, tc.cred, issuer.ClientOptions{}); err == nil || !strings.Contains(err.Error(), tc.says) {
				t.Errorf("NewClient(%q, …): err = %v, want %q", tc.endpoint, err, tc.says)
			}
		}
	})
}
