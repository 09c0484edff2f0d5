package issuer_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/keyless-dev/keyless/issuer"
)

const (
	base        = "https://127.0.0.1:8443"
	acmeBB      = "https://api.bitbucket.org/2.0/workspaces/acme/pipelines-config/identity/oidc"
	githubProd  = "https://token.actions.githubusercontent.com"
	gitlabProd  = "https://gitlab.com"
	acmeLocal   = base + "/2.0/workspaces/acme/pipelines-config/identity/oidc"
	otherLocal  = base + "/2.0/workspaces/other/pipelines-config/identity/oidc"
	githubLocal = base + "/github"
	gitlabLocal = base + "/gitlab"
)

// prodFixture is an issuer serving workspace acme, GitHub and GitLab under their
// production issuer URLs.
func prodFixture(t *testing.T) *fixture {
	t.Helper()
	f := newFixture(t, issuer.KeyConfig{LeadTime: 30 * time.Minute}, true)
	var err error
	f.is, err = issuer.New(issuer.Config{
		BaseURL: base, AutoRegister: true,
		WorkspaceIssuers: map[string]string{"acme": acmeBB},
		GitHubIssuer:     githubProd, GitLabIssuer: gitlabProd,
	}, f.st, f.keys, f.clk.Now)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// TestConfiguredIssuerURLs: tokens of a workspace (or CI) with a configured issuer URL
// carry it as iss, keep their shape, and everything else keeps the local issuer.
func TestConfiguredIssuerURLs(t *testing.T) {
	f := prodFixture(t)
	for _, tc := range []struct {
		name    string
		req     issuer.MintRequest
		wantIss string
		wantSub string // prefix
	}{
		{"bitbucket, configured workspace", issuer.MintRequest{Workspace: "acme", Repository: "web", Environment: "production"}, acmeBB, "{" + issuer.RepositoryUUID("acme", "web") + "}:{" + issuer.EnvironmentUUID("acme", "web", "production") + "}:{"},
		{"bitbucket, other workspace", issuer.MintRequest{Workspace: "other", Repository: "web"}, otherLocal, "{" + issuer.RepositoryUUID("other", "web") + "}:{"},
		{"github", issuer.MintRequest{CI: issuer.CIGitHub, Repository: "acme/web", Environment: "production"}, githubProd, "repo:acme/web:environment:production"},
		{"gitlab", issuer.MintRequest{CI: issuer.CIGitLab, Repository: "acme/web"}, gitlabProd, "project_path:acme/web:ref_type:branch:ref:main"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tok, err := f.is.Mint(context.Background(), tc.req)
			if err != nil {
				t.Fatal(err)
			}
			c := payload(t, tok.Raw)
			if c["iss"] != tc.wantIss {
				t.Errorf("iss %v, want %s", c["iss"], tc.wantIss)
			}
			if sub, _ := c["sub"].(string); !strings.HasPrefix(sub, tc.wantSub) {
				t.Errorf("sub %q, want it to start with %q", sub, tc.wantSub)
			}
			if tc.req.CI == issuer.CIGitLab {
				// As on gitlab.com: the config URI is under the issuer's host.
				if got := c["ci_config_ref_uri"]; got != "gitlab.com/acme/web//.gitlab-ci.yml@refs/heads/main" {
					t.Errorf("ci_config_ref_uri %v", got)
				}
			}
		})
	}
	if got := f.is.IssuerURL("acme"); got != acmeBB {
		t.Errorf("IssuerURL(acme) = %s", got)
	}
	if got := f.is.LocalIssuerURL("acme"); got != acmeLocal {
		t.Errorf("LocalIssuerURL(acme) = %s", got)
	}
	want := map[string]string{acmeBB: acmeLocal, githubProd: githubLocal, gitlabProd: gitlabLocal}
	got := f.is.Aliases()
	if len(got) != len(want) {
		t.Errorf("Aliases() = %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("Aliases()[%s] = %q, want %q", k, got[k], v)
		}
	}
	plain := newFixture(t, issuer.KeyConfig{}, true)
	if a := plain.is.Aliases(); len(a) != 0 {
		t.Errorf("an issuer without configured URLs has aliases %v", a)
	}
}

// TestDiscoveryOfConfiguredIssuerURLs: the local discovery documents of an issuer
// served under a production URL name that URL as the issuer and the local keys as
// jwks_uri, so a relying party reading them is never sent to the real host.
func TestDiscoveryOfConfiguredIssuerURLs(t *testing.T) {
	f := prodFixture(t)
	h, _ := newHandler(t, f)
	for _, tc := range []struct {
		path, iss, jwks string
	}{
		{"/2.0/workspaces/acme/pipelines-config/identity/oidc", acmeBB, acmeLocal + "/keys.json"},
		{"/2.0/workspaces/other/pipelines-config/identity/oidc", otherLocal, otherLocal + "/keys.json"},
		{"/github", githubProd, githubLocal + "/.well-known/jwks"},
		{"/gitlab", gitlabProd, gitlabLocal + "/oauth/discovery/keys"},
	} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", tc.path+"/.well-known/openid-configuration", nil))
		var doc struct {
			Issuer  string `json:"issuer"`
			JWKSURI string `json:"jwks_uri"`
		}
		if rec.Code != http.StatusOK || json.Unmarshal(rec.Body.Bytes(), &doc) != nil {
			t.Fatalf("%s: %d %s", tc.path, rec.Code, rec.Body)
		}
		if doc.Issuer != tc.iss || doc.JWKSURI != tc.jwks {
			t.Errorf("%s: issuer %q jwks_uri %q, want %q and %q", tc.path, doc.Issuer, doc.JWKSURI, tc.iss, tc.jwks)
		}
		// The keys are served where jwks_uri says.
		rec = httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", strings.TrimPrefix(tc.jwks, base), nil))
		if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), `"keys"`) {
			t.Errorf("%s: %d %s", tc.jwks, rec.Code, rec.Body)
		}
	}
}

func TestConfiguredIssuerURLsValidated(t *testing.T) {
	f := newFixture(t, issuer.KeyConfig{}, true)
	for _, tc := range []struct {
		name string
		cfg  issuer.Config
		want string
	}{
		{"http workspace issuer", issuer.Config{WorkspaceIssuers: map[string]string{"acme": "http://api.bitbucket.org/x"}}, "must be an https URL"},
		{"workspace issuer with a query", issuer.Config{WorkspaceIssuers: map[string]string{"acme": acmeBB + "?a=b"}}, "without user info, query or fragment"},
		{"workspace issuer with user info", issuer.Config{WorkspaceIssuers: map[string]string{"acme": "https://u@api.bitbucket.org/x"}}, "without user info"},
		{"invalid workspace slug", issuer.Config{WorkspaceIssuers: map[string]string{"Not Valid": acmeBB}}, "workspace"},
		{"two workspaces, one URL", issuer.Config{WorkspaceIssuers: map[string]string{"acme": acmeBB, "beta": acmeBB}}, "both have the issuer URL"},
		{"GitHub and GitLab share a URL", issuer.Config{GitHubIssuer: gitlabProd, GitLabIssuer: gitlabProd}, "both have the issuer URL"},
		{"GitLab without scheme", issuer.Config{GitLabIssuer: "gitlab.com"}, "https://gitlab.com"},
	} {
		cfg := tc.cfg
		cfg.BaseURL = base
		_, err := issuer.New(cfg, f.st, f.keys, f.clk.Now)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want one containing %q", tc.name, err, tc.want)
		}
	}
}
