package metrics

import (
	"github.com/prometheus/client_golang/prometheus"
)

// jwksChildren are the JWKS counters of one issuer label.
type jwksChildren struct {
	hits, misses           prometheus.Counter
	fetchesOK, fetchErrors prometheus.Counter
}

// jwksMetrics count the web identity verifier's key cache use and fetches by
// issuer: the known issuers each have their children, made up front; every
// other issuer shares Other's. The map is written by KnowIssuers, before the
// verifier runs, and only read after.
type jwksMetrics struct {
	hits, misses, fetches *prometheus.CounterVec
	byIssuer              map[string]*jwksChildren
	other                 *jwksChildren
}

func newJWKSMetrics(reg prometheus.Registerer) *jwksMetrics {
	m := &jwksMetrics{
		hits: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "keyless_jwks_cache_hits_total",
			Help: "Web identity tokens whose key was found in a fresh cached key set of their issuer, by issuer (the configured issuers; \"other\" for the rest).",
		}, []string{"issuer"}),
		misses: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "keyless_jwks_cache_misses_total",
			Help: "Web identity tokens whose issuer had no fresh cached key set, or one without the token's kid, by issuer.",
		}, []string{"issuer"}),
		fetches: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "keyless_jwks_fetches_total",
			Help: "Fetches of an issuer's discovery document and JWKS (or in-process key source) by the web identity verifier, by issuer and result (success, error).",
		}, []string{"issuer", "result"}),
		byIssuer: map[string]*jwksChildren{},
	}
	reg.MustRegister(m.hits, m.misses, m.fetches)
	m.other = m.children(Other)
	return m
}

func (m *jwksMetrics) children(iss string) *jwksChildren {
	return &jwksChildren{
		hits: m.hits.WithLabelValues(iss), misses: m.misses.WithLabelValues(iss),
		fetchesOK: m.fetches.WithLabelValues(iss, "success"), fetchErrors: m.fetches.WithLabelValues(iss, "error"),
	}
}

// KnowIssuers sets the issuers the server knows: the JWKS metrics of those in
// is.Known are labelled with their URL, and is classifies token exchanges by
// provider. Call it once, before the verifier and STS report to m.
func (m *Metrics) KnowIssuers(is Issuers) {
	m.issuers = is
	for _, iss := range is.Known {
		if iss != "" && iss != Other && m.jwks.byIssuer[iss] == nil {
			m.jwks.byIssuer[iss] = m.jwks.children(iss)
		}
	}
}

func (m *jwksMetrics) of(issuer string) *jwksChildren {
	if c := m.byIssuer[issuer]; c != nil {
		return c
	}
	return m.other
}

// KeyCacheLookup counts a token's key lookup in the verifier's cache as a hit or
// a miss. It implements oidc.KeyObserver.
func (m *Metrics) KeyCacheLookup(issuer string, hit bool) {
	c := m.jwks.of(issuer)
	if hit {
		c.hits.Inc()
	} else {
		c.misses.Inc()
	}
}

// KeysFetched counts one fetch of an issuer's keys. It implements
// oidc.KeyObserver.
func (m *Metrics) KeysFetched(issuer string, failed bool) {
	c := m.jwks.of(issuer)
	if failed {
		c.fetchErrors.Inc()
	} else {
		c.fetchesOK.Inc()
	}
}
