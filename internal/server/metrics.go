package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"slices"
	"syscall"
	"time"

	"github.com/keyless-dev/keyless/audit"
	"github.com/keyless-dev/keyless/metrics"
	"github.com/keyless-dev/keyless/s3"
)

// MetricsPath is where the Prometheus metrics are served.
const MetricsPath = "/metrics"

// serverMetrics are the server's Prometheus metrics and, with --metrics-listen,
// the listener and HTTP server that serve them apart from the main address.
type serverMetrics struct {
	m        *metrics.Metrics
	listener net.Listener // nil: /metrics is on the main listener
	http     *http.Server
	url      string
}

// newMetrics makes the server's metrics (before the store opens: they time its
// operations) and binds Config.MetricsListen, if set, so that a taken address
// fails the start before the data directory is touched.
func (s *Server) newMetrics() error {
	s.metrics = &serverMetrics{m: metrics.New(metrics.Options{Now: s.now})}
	if s.cfg.MetricsListen == "" {
		return nil
	}
	l, err := listen(s.cfg.MetricsListen)
	if errors.Is(err, syscall.EADDRINUSE) {
		return &explainedError{err: err, msg: fmt.Sprintf(
			"metrics: listen on %s: the address is already in use: stop what is using it or choose another --metrics-listen address (port 0 picks a free port)", s.cfg.MetricsListen)}
	}
	if err != nil {
		return fmt.Errorf("metrics: %w", err)
	}
	s.metrics.listener = l
	s.metrics.url = "http://" + l.Addr().String() + MetricsPath
	return nil
}

// knowIssuers tells the metrics the issuers this server serves, which get
// labels of their own in the JWKS metrics and classify token exchanges by
// provider. Called once the identity provider exists, before the verifier.
func (s *Server) knowIssuers() {
	known := []string{
		s.issuer.GitHubIssuerURL(), s.issuer.GitLabIssuerURL(), s.IssuerURL(),
		// The public issuers of GitHub Actions and GitLab.com: one URL each.
		"https://token.actions.githubusercontent.com", "https://gitlab.com",
	}
	for _, w := range s.cfg.Workspaces {
		known = append(known, s.issuer.IssuerURL(w.Slug))
	}
	known = append(known, slices.Collect(maps.Keys(s.issuer.Aliases()))...)
	s.metrics.m.KnowIssuers(metrics.Issuers{
		Known: known,
		Providers: map[string]string{
			s.issuer.GitHubIssuerURL(): metrics.ProviderGitHub,
			s.issuer.GitLabIssuerURL(): metrics.ProviderGitLab,
		},
	})
}

// watchState adds the gauges of the signing keys, the session key ring and the
// audit queue, once they exist.
func (s *Server) watchState() {
	keys, ring, rec := s.keys, s.sessionKeys, s.audit
	s.metrics.m.Watch(metrics.State{
		SigningKeys: func() metrics.SigningKeys {
			st := keys.Stats()
			return metrics.SigningKeys{Prepared: st.Prepared, Active: st.Active, Retired: st.Retired, NextActivation: st.NextActivation}
		},
		SessionKeyring: func() metrics.SessionKeyring {
			var r metrics.SessionKeyring
			for _, k := range ring.Keys() {
				r.Keys++
				if k.Current {
					r.Current = k.CreatedAt
				}
			}
			return r
		},
		AuditQueue: rec.QueueLen,
	})
}

// mountMetrics serves the metrics on mux (the main address) unless they have an
// address of their own. They are unauthenticated, like /healthz: they hold
// counts and names of keyless's own, never a token, secret, session name or
// caller-chosen value.
func (s *Server) mountMetrics(mux *http.ServeMux) {
	if s.metrics.listener == nil {
		mux.Handle("GET "+MetricsPath, s.metrics.m.Handler())
		s.metrics.url = s.endpoint + MetricsPath
	}
}

// serveMetrics starts serving the metrics on their own address, if they have one.
func (s *Server) serveMetrics() {
	sm := s.metrics
	if sm.listener != nil {
		mux := http.NewServeMux()
		mux.Handle("GET "+MetricsPath, sm.m.Handler())
		sm.http = &http.Server{
			Handler:           mux,
			ReadHeaderTimeout: 10 * time.Second,
			ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelDebug),
		}
		srv, l := sm.http, sm.listener
		go func() {
			if err := srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
				s.log.Error("metrics server stopped", "err", err)
			}
		}()
	}
	s.log.Info("metrics served", "url", sm.url)
}

// MetricsURL is the URL the Prometheus metrics are served at.
func (s *Server) MetricsURL() string { return s.metrics.url }

// closeMetrics stops the metrics' own server (scrapes under way get a second to
// finish), or releases its listener when the start failed before serving.
func (s *Server) closeMetrics() {
	sm := s.metrics
	if sm == nil || sm.listener == nil {
		return
	}
	defer func() { sm.listener, sm.http = nil, nil }()
	if sm.http == nil {
		sm.listener.Close()
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if err := sm.http.Shutdown(ctx); err != nil {
		sm.http.Close()
	}
}

// observedAuditor reports the requests a REST service (S3, CloudFront) answers
// to the request metrics, from the audit event the service records for each,
// then records the event, unless it is an allowed S3 data event and those are
// not audited (audit.data_events).
type observedAuditor struct {
	rec *audit.Recorder
	m   *metrics.Metrics
	// allDataEvents records allowed S3 object-level requests too.
	allDataEvents bool
}

// Record implements s3.Auditor and cloudfront.Auditor. The latency runs from
// the event's time, when the service took the request, as its clock tells it.
func (a observedAuditor) Record(e audit.Event) {
	a.m.ObserveRequest(e.Service, e.Action, e.ErrorCode, time.Since(e.Time))
	if e.Decision == audit.Allowed && !a.allDataEvents && e.Service == "s3" && s3.IsDataEvent(e.Action) {
		return
	}
	a.rec.Record(e)
}

// auditor is the audit recorder of a REST service, which counts its requests.
func (s *Server) auditor() observedAuditor {
	return observedAuditor{rec: s.audit, m: s.metrics.m, allDataEvents: s.cfg.Audit.DataEvents == DataEventsAll}
}
