package metrics

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/keyless-dev/keyless/store"
)

// storeMetrics are the store operations' latency histograms and error counters.
// An operation's children are made when it first runs (so that a scrape lists
// only the operations this server performs), then kept in an array, so that an
// operation costs two atomic adds and no label lookup.
type storeMetrics struct {
	latency *prometheus.HistogramVec
	errs    *prometheus.CounterVec
	ops     [numStoreOps]storeOpChildren
}

// storeOpChildren are the children of one operation, made once.
type storeOpChildren struct {
	once    sync.Once
	latency prometheus.Observer
	errs    prometheus.Counter
}

func newStoreMetrics(reg prometheus.Registerer) *storeMetrics {
	m := &storeMetrics{
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "keyless_store_operation_duration_seconds",
			Help:    "Time taken by store operations, by operation (the store method).",
			Buckets: []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
		}, []string{"operation"}),
		errs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "keyless_store_operation_errors_total",
			Help: "Store operations that failed, by operation. A record not found or already existing, and a refusal by the caller's update or condition callback, are answers, not failures.",
		}, []string{"operation"}),
	}
	reg.MustRegister(m.latency, m.errs)
	return m
}

// op returns the children of op, making them on first use.
func (m *storeMetrics) op(op storeOp) *storeOpChildren {
	c := &m.ops[op]
	c.once.Do(func() {
		c.latency = m.latency.WithLabelValues(storeOpNames[op])
		c.errs = m.errs.WithLabelValues(storeOpNames[op])
	})
	return c
}

// callbackErr is the last error a caller's callback returned inside a store
// operation.
type callbackErr struct{ err error }

// observe records one operation that started at start and ended with *err. Deferred
// by every instrumented method.
func (m *storeMetrics) observe(op storeOp, start time.Time, err *error, cb *callbackErr) {
	c := m.op(op)
	c.latency.Observe(time.Since(start).Seconds())
	if failed(*err, cb) {
		c.errs.Inc()
	}
}

// failed reports whether err is a failure of the store rather than an answer.
func failed(err error, cb *callbackErr) bool {
	switch {
	case err == nil,
		errors.Is(err, store.ErrNotFound),
		errors.Is(err, store.ErrAlreadyExists),
		errors.Is(err, store.ErrNotEmpty),
		errors.Is(err, context.Canceled):
		return false
	case cb != nil && cb.err != nil && errors.Is(err, cb.err):
		return false // the caller's callback refused
	}
	return true
}

// watchUpdate wraps an update callback to note the error it returns; nil stays nil.
func watchUpdate[T any](cb *callbackErr, fn func(T) (T, error)) func(T) (T, error) {
	if fn == nil {
		return nil
	}
	return func(v T) (T, error) {
		v, err := fn(v)
		cb.err = err
		return v, err
	}
}

// watchCond wraps a condition callback to note the error it returns; nil stays nil.
func watchCond[T any](cb *callbackErr, fn func(T) error) func(T) error {
	if fn == nil {
		return nil
	}
	return func(v T) error {
		err := fn(v)
		cb.err = err
		return err
	}
}

// instrumented is a store.Store whose operations are timed and counted. Methods
// it does not define (added to store.Store later) pass through uninstrumented.
type instrumented struct {
	store.Store
	m *storeMetrics
}

// instrumentedFull is instrumented for a backend that also keeps S3 metadata,
// blobs, secrets and pipeline variables (both SQL backends do), so that the
// services' type assertions on the server's store still find them.
type instrumentedFull struct {
	*instrumented
	s3      store.S3Store
	blobs   store.BlobStore
	secrets store.SecretStore
	vars    store.PipelineVariableStore
}

// instrumentedInline is instrumentedFull for a backend that also writes
// small objects with their bytes (store.InlineObjectStore).
type instrumentedInline struct {
	*instrumentedFull
	inline store.InlineObjectStore
}

// instrumentedOrgs is instrumentedInline for a backend that also keeps the
// local AWS Organizations service's records (store.OrganizationStore).
type instrumentedOrgs struct {
	*instrumentedInline
	orgs store.OrganizationStore
}

var (
	_ store.OrganizationStore     = (*instrumentedOrgs)(nil)
	_ store.S3Store               = (*instrumentedFull)(nil)
	_ store.SecretStore           = (*instrumentedFull)(nil)
	_ store.PipelineVariableStore = (*instrumentedFull)(nil)
	_ store.InlineObjectStore     = (*instrumentedInline)(nil)
)

// InstrumentStore returns st with every operation timed
// (keyless_store_operation_duration_seconds) and its failures counted
// (keyless_store_operation_errors_total). The result implements store.S3Store,
// store.BlobStore, store.SecretStore and store.PipelineVariableStore when st
// implements all four (else none of them), store.InlineObjectStore too
// when st does, and then store.OrganizationStore when st does. Closing it
// closes st.
func (m *Metrics) InstrumentStore(st store.Store) store.Store {
	base := &instrumented{Store: st, m: m.store}
	s3, ok1 := st.(store.S3Store)
	blobs, ok2 := st.(store.BlobStore)
	secrets, ok3 := st.(store.SecretStore)
	vars, ok4 := st.(store.PipelineVariableStore)
	if !ok1 || !ok2 || !ok3 || !ok4 {
		return base
	}
	full := &instrumentedFull{instrumented: base, s3: s3, blobs: blobs, secrets: secrets, vars: vars}
	if inline, ok := st.(store.InlineObjectStore); ok {
		in := &instrumentedInline{instrumentedFull: full, inline: inline}
		if orgs, ok := st.(store.OrganizationStore); ok {
			return &instrumentedOrgs{instrumentedInline: in, orgs: orgs}
		}
		return in
	}
	return full
}
