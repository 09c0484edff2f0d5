package metrics

import (
	"strings"

	"github.com/prometheus/client_golang/prometheus"
)

// Providers of token issuers (the provider label).
const (
	ProviderBitbucket = "bitbucket"
	ProviderGitHub    = "github"
	ProviderGitLab    = "gitlab"
)

// providers are the provider label's values, Other last.
var providers = [...]string{ProviderBitbucket, ProviderGitHub, ProviderGitLab, Other}

// Decisions of a token exchange (the decision label), as audit events record them.
var decisions = [...]string{"allowed", "denied", "error"}

// Issuers describes the token issuers a server knows.
type Issuers struct {
	// Known are the issuer URLs that get a label of their own in the JWKS metrics:
	// the ones the server is configured with. Every other issuer is "other", so
	// that the label stays bounded whatever issuers IAM providers name.
	Known []string
	// Providers gives the provider of issuer URLs the built-in rules do not
	// recognize (such as a local GitLab-shaped issuer). The built-in rules:
	// Bitbucket Pipelines' URL shape (…/2.0/workspaces/<slug>/pipelines-config/identity/oidc,
	// keyless's own included), https://token.actions.githubusercontent.com[/…]
	// and https://gitlab.com.
	Providers map[string]string
}

// Provider classifies an issuer URL (as a token claims it) into one of the
// provider label's values.
func (is Issuers) Provider(issuer string) string {
	if p, ok := is.Providers[issuer]; ok {
		return p
	}
	const github = "https://token.actions.githubusercontent.com"
	switch {
	case strings.HasSuffix(issuer, "/pipelines-config/identity/oidc") && strings.Contains(issuer, "/2.0/workspaces/"):
		return ProviderBitbucket
	case issuer == github || strings.HasPrefix(issuer, github+"/"):
		return ProviderGitHub
	case issuer == "https://gitlab.com":
		return ProviderGitLab
	}
	return Other
}

// exchangeMetrics count AssumeRoleWithWebIdentity decisions, with a child per
// provider and decision made up front.
type exchangeMetrics struct {
	children [len(providers)][len(decisions)]prometheus.Counter
}

func newExchangeMetrics(reg prometheus.Registerer) *exchangeMetrics {
	vec := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "keyless_token_exchanges_total",
		Help: "AssumeRoleWithWebIdentity calls decided, by the provider of the token's issuer (bitbucket, github, gitlab, other) and decision (allowed, denied, error).",
	}, []string{"provider", "decision"})
	reg.MustRegister(vec)
	m := &exchangeMetrics{}
	for i, p := range providers {
		for j, d := range decisions {
			m.children[i][j] = vec.WithLabelValues(p, d)
		}
	}
	return m
}

// WebIdentityExchange counts one AssumeRoleWithWebIdentity decision: issuer is
// the token's iss ("" when the token could not be read), decision the audit
// decision (Allowed, Denied or Error; anything else counts as error). It
// implements sts.ExchangeObserver.
func (m *Metrics) WebIdentityExchange(issuer, decision string) {
	p := len(providers) - 1
	if issuer != "" {
		switch m.issuers.Provider(issuer) {
		case ProviderBitbucket:
			p = 0
		case ProviderGitHub:
			p = 1
		case ProviderGitLab:
			p = 2
		}
	}
	d := 2
	switch decision {
	case "Allowed":
		d = 0
	case "Denied":
		d = 1
	}
	m.exchanges.children[p][d].Inc()
}
