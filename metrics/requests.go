package metrics

import (
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Outcomes of a request (the outcome label).
const (
	OutcomeSuccess = "success" // answered without an error
	OutcomeDenied  = "denied"  // refused by policy: AccessDenied
	OutcomeError   = "error"   // any other AWS error
)

// requestKey is one combination of the request counter's labels.
type requestKey struct{ service, action, outcome, code string }

// requestChildren are the counter and histogram children of one requestKey.
type requestChildren struct {
	count   prometheus.Counter
	latency prometheus.Observer
}

// requestMetrics count and time the AWS requests. The children of each label
// combination are looked up once and kept in a map, so that a request costs a
// map read under a read lock and no label building.
type requestMetrics struct {
	total   *prometheus.CounterVec
	latency *prometheus.HistogramVec

	mu       sync.RWMutex
	children map[requestKey]requestChildren
}

func newRequestMetrics(reg prometheus.Registerer) *requestMetrics {
	m := &requestMetrics{
		total: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "keyless_requests_total",
			Help: "AWS API requests answered, by service, action, outcome (success, denied, error) and AWS error code (empty on success).",
		}, []string{"service", "action", "outcome", "error_code"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "keyless_request_duration_seconds",
			Help:    "Time taken to answer AWS API requests, by service and action.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"service", "action"}),
		children: map[requestKey]requestChildren{},
	}
	reg.MustRegister(m.total, m.latency)
	return m
}

// ObserveRequest counts one answered AWS request and records how long it took.
// service is the service that answered ("s3"; "other" when none), action the
// action it performed, one the service serves ("" and unknown actions are the
// caller's to map to "other"), and code the AWS error code of the reply ("" for
// success). Values that cannot be keyless's own names are counted as "other".
// It implements gateway.RequestObserver.
func (m *Metrics) ObserveRequest(service, action, code string, took time.Duration) {
	k := requestKey{service: name(service), action: name(action), code: code}
	switch code {
	case "":
		k.outcome = OutcomeSuccess
	case "AccessDenied", "AccessDeniedException":
		k.outcome = OutcomeDenied
	default:
		k.outcome = OutcomeError
		k.code = name(code)
	}
	c := m.requests.get(k)
	c.count.Inc()
	c.latency.Observe(max(took, 0).Seconds())
}

func (m *requestMetrics) get(k requestKey) requestChildren {
	m.mu.RLock()
	c, ok := m.children[k]
	m.mu.RUnlock()
	if ok {
		return c
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if c, ok := m.children[k]; ok {
		return c
	}
	c = requestChildren{
		count:   m.total.WithLabelValues(k.service, k.action, k.outcome, k.code),
		latency: m.latency.WithLabelValues(k.service, k.action),
	}
	m.children[k] = c
	return c
}

// name returns v when it looks like one of keyless's names (a service, action or
// error code: 1 to 64 ASCII letters, digits, '.', '_' or '-'), else Other. It is
// a guard, not the bound: callers pass only names from keyless's own sets.
func name(v string) string {
	if v == "" || len(v) > 64 {
		return Other
	}
	for i := 0; i < len(v); i++ {
		c := v[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			return Other
		}
	}
	return v
}
