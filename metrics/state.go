package metrics

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// SigningKeys is the state of the identity provider's published signing keys.
type SigningKeys struct {
	Prepared, Active, Retired int
	// NextActivation is when the rotation schedule next lets a key sign; zero
	// when no activation is scheduled (rotation disabled).
	NextActivation time.Time
}

// SessionKeyring is the state of the ring that seals session credentials.
type SessionKeyring struct {
	// Current is when the key that seals new credentials was created.
	Current time.Time
	// Keys is the number of keys in the ring (the current one and those still
	// opening older credentials).
	Keys int
}

// State are the readers the state gauges call at each scrape. A nil reader
// leaves its gauges out. They must be cheap: no store access.
type State struct {
	SigningKeys    func() SigningKeys
	SessionKeyring func() SessionKeyring
	// AuditQueue is the number of audit events waiting to be stored.
	AuditQueue func() int
}

// Watch adds the gauges of the server's state: keyless_signing_keys by state,
// keyless_signing_key_next_activation_seconds, keyless_session_keyring_age_seconds,
// keyless_session_keyring_keys and keyless_audit_queue_length. Call it once,
// before serving.
func (m *Metrics) Watch(s State) {
	m.reg.MustRegister(&stateCollector{s: s, now: m.now})
}

var (
	descSigningKeys = prometheus.NewDesc("keyless_signing_keys",
		"Signing keys the identity provider publishes, by state (prepared, active, retired).", []string{"state"}, nil)
	descNextActivation = prometheus.NewDesc("keyless_signing_key_next_activation_seconds",
		"Seconds until the rotation schedule next lets a key sign (0 when due now); absent when rotation is disabled.", nil, nil)
	descKeyringAge = prometheus.NewDesc("keyless_session_keyring_age_seconds",
		"Age of the session key ring's current key, which seals new session credentials.", nil, nil)
	descKeyringKeys = prometheus.NewDesc("keyless_session_keyring_keys",
		"Keys in the session key ring.", nil, nil)
	descAuditQueue = prometheus.NewDesc("keyless_audit_queue_length",
		"Audit events waiting to be written to the store.", nil, nil)
)

// stateCollector reads the server's state at each scrape.
type stateCollector struct {
	s   State
	now func() time.Time
}

// Describe implements prometheus.Collector.
func (c *stateCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descSigningKeys, descNextActivation, descKeyringAge, descKeyringKeys, descAuditQueue} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (c *stateCollector) Collect(ch chan<- prometheus.Metric) {
	now := c.now()
	if c.s.SigningKeys != nil {
		k := c.s.SigningKeys()
		for _, s := range []struct {
			state string
			n     int
		}{{"prepared", k.Prepared}, {"active", k.Active}, {"retired", k.Retired}} {
			ch <- prometheus.MustNewConstMetric(descSigningKeys, prometheus.GaugeValue, float64(s.n), s.state)
		}
		if !k.NextActivation.IsZero() {
			ch <- prometheus.MustNewConstMetric(descNextActivation, prometheus.GaugeValue, max(k.NextActivation.Sub(now), 0).Seconds())
		}
	}
	if c.s.SessionKeyring != nil {
		r := c.s.SessionKeyring()
		if !r.Current.IsZero() {
			ch <- prometheus.MustNewConstMetric(descKeyringAge, prometheus.GaugeValue, max(now.Sub(r.Current), 0).Seconds())
		}
		ch <- prometheus.MustNewConstMetric(descKeyringKeys, prometheus.GaugeValue, float64(r.Keys))
	}
	if c.s.AuditQueue != nil {
		ch <- prometheus.MustNewConstMetric(descAuditQueue, prometheus.GaugeValue, float64(c.s.AuditQueue()))
	}
}
