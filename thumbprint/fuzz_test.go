package thumbprint

import (
	"strings"
	"testing"
)

// FuzzParseDiscovery: any document either yields an absolute https jwks_uri or an
// error, and never panics.
func FuzzParseDiscovery(f *testing.F) {
	for _, s := range []string{
		`{"jwks_uri": "https://api.bitbucket.org/2.0/workspaces/acme/pipelines-config/identity/oidc/keys.json"}`,
		`{"jwks_uri": "http://x/"}`, `{"jwks_uri": null}`, `{}`, `[]`, `"x"`, ``, `{"jwks_uri": "https://[::1]:8443/k"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, doc []byte) {
		u, err := ParseDiscovery(doc)
		if err != nil {
			return
		}
		if !strings.EqualFold(u.Scheme, "https") || u.Hostname() == "" || address(u) == "" {
			t.Fatalf("accepted jwks_uri %q", u)
		}
	})
}

// FuzzDiscoveryURL: an accepted issuer gives an https URL ending in the discovery
// path, and normalizing it again gives the same URL.
func FuzzDiscoveryURL(f *testing.F) {
	for _, s := range []string{
		"https://api.bitbucket.org/2.0/workspaces/acme/pipelines-config/identity/oidc",
		"api.bitbucket.org/x/", "127.0.0.1:8400", "http://x", "https://[::1]:1/a", "", "https://a/" + DiscoveryPath,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, issuer string) {
		u, err := DiscoveryURL(issuer)
		if err != nil {
			return
		}
		if u.Scheme != "https" || u.Hostname() == "" || !strings.HasSuffix(u.Path, DiscoveryPath) {
			t.Fatalf("DiscoveryURL(%q) = %s", issuer, u)
		}
		again, err := DiscoveryURL(u.String())
		if err != nil || again.String() != u.String() {
			t.Fatalf("DiscoveryURL(%q) = %s, again %v %v", issuer, u, again, err)
		}
	})
}
