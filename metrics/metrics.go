// Package metrics is what `keyless up` tells Prometheus: requests by service,
// action, outcome and error code with their latency, token exchanges by provider
// and decision, JWKS fetches and cache use by issuer, the signing keys and the
// session key ring, store operations, the audit queue, and the Go runtime and
// process.
//
// Each Metrics has its own registry (nothing is registered globally), so that
// several servers can run in one process. The other packages do not import this
// one: they report through small observer interfaces of their own
// (gateway.RequestObserver, sts.ExchangeObserver, oidc.KeyObserver), which
// Metrics implements, and the composition root (internal/server) wires them.
//
// No label carries a token, secret, session name, access key, request ID or any
// other value a caller chooses freely: services and actions are the ones keyless
// serves ("other" for the rest), error codes are keyless's own, providers are a
// fixed set, and issuers are the configured ones ("other" for the rest).
package metrics

import (
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Other is the label value of everything outside a label's known values.
const Other = "other"

// Options configure New.
type Options struct {
	// Now is the clock of the gauges that measure time (key ring age, time to the
	// next key activation); default time.Now.
	Now func() time.Time
}

// Metrics holds one server's metrics and their registry.
type Metrics struct {
	reg       *prometheus.Registry
	now       func() time.Time
	issuers   Issuers
	requests  *requestMetrics
	exchanges *exchangeMetrics
	jwks      *jwksMetrics
	store     *storeMetrics
}

// New returns Metrics with a registry of their own holding the Go runtime and
// process collectors and keyless's request, exchange, JWKS and store metrics.
// The gauges of the server's state are added with Watch, the issuers the server
// knows set with KnowIssuers.
func New(opts Options) *Metrics {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	return &Metrics{
		reg:       reg,
		now:       now,
		requests:  newRequestMetrics(reg),
		exchanges: newExchangeMetrics(reg),
		jwks:      newJWKSMetrics(reg),
		store:     newStoreMetrics(reg),
	}
}

// Registry returns the registry the metrics are in (for tests and embedding).
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Handler serves the metrics in the Prometheus text format (or OpenMetrics, when
// the scraper asks for it).
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}
