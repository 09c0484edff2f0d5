// Package audit records every STS and IAM decision as a structured, secret-free event,
// kept in the store and logged. Events are written by a background goroutine so the
// hot path (token exchange) does not wait for the database.
package audit

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"log/slog"
	"sync"
	"time"

	"github.com/keyless-dev/keyless/awsapi"
	"github.com/keyless-dev/keyless/store"
)

// Decisions recorded in events.
const (
	Allowed = "Allowed"
	Denied  = "Denied"
	Failed  = "Error"
)

// Event is one decision. It must never hold a token, secret key or session token:
// Detail carries only identifiers, codes, and for denials the failing statement and
// condition.
type Event struct {
	Time      time.Time
	RequestID string
	Service   string // sts, iam
	Action    string
	Caller    string // the caller's ARN, or the token's issuer and subject for web identity
	Role      string // the role ARN concerned, if any
	Decision  string // Allowed, Denied or Error
	SourceIP  string
	// ErrorCode is the AWS error code returned, if any.
	ErrorCode string
	// Statement and Condition name what decided a denial (from the policy explanation).
	Statement string
	Condition string
	// Reason is a human sentence for a denial or error.
	Reason string
}

// maxBatch is the most events the writer stores in one transaction.
const maxBatch = 256

// queueSize is how many events may wait for the writer before Record blocks.
const queueSize = 4096

// batchLinger is how long the writer, woken by an event, lets more accumulate
// before storing the batch (unless Close is called meanwhile). A commit costs
// far more than a row, so under load this turns one commit per event into one
// per few dozen; an event reaches the store at most this much later. The
// writer sleeps rather than waiting on the queue during the linger, so that
// recording an event does not have to wake it.
const batchLinger = 2 * time.Millisecond

// Recorder persists and logs events. A background writer drains the queue in
// batches of up to maxBatch events, each stored with one AppendAuditEvents
// transaction, so that a burst of decisions costs one database commit rather
// than one per event.
type Recorder struct {
	st      store.Store
	log     *slog.Logger
	ch      chan store.AuditEvent
	closing chan struct{} // closed by Close: stop lingering
	wg      sync.WaitGroup
	once    sync.Once
}

// NewRecorder starts a recorder writing to st (may be nil: log only). Close it to
// flush pending events.
func NewRecorder(st store.Store, log *slog.Logger) *Recorder {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	r := &Recorder{st: st, log: log, ch: make(chan store.AuditEvent, queueSize), closing: make(chan struct{})}
	if st != nil {
		r.wg.Add(1)
		go r.run()
	}
	return r
}

// run is the writer. It waits for an event, lingers (see batchLinger) unless
// a full batch is already queued, takes up to maxBatch queued events and
// stores them; it stops when the queue is closed and empty.
func (r *Recorder) run() {
	defer r.wg.Done()
	batch := make([]store.AuditEvent, 0, maxBatch)
	linger := time.NewTimer(time.Hour)
	linger.Stop()
	for e := range r.ch {
		batch = append(batch[:0], e)
		if len(r.ch) < maxBatch-1 {
			linger.Reset(batchLinger)
			select {
			case <-linger.C:
			case <-r.closing:
				linger.Stop()
			}
		}
	fill:
		for len(batch) < maxBatch {
			select {
			case e, ok := <-r.ch:
				if !ok {
					break fill // closed: store what we have, then the range ends
				}
				batch = append(batch, e)
			default:
				break fill
			}
		}
		r.write(batch)
		clear(batch) // drop references to the stored events
	}
}

// write stores a batch. If the batch fails as a whole, its events are retried
// one by one so that a single bad event cannot take the others with it; each
// event that still fails is logged (by request ID only) and skipped.
func (r *Recorder) write(batch []store.AuditEvent) {
	ctx := context.Background()
	err := r.st.AppendAuditEvents(ctx, batch)
	if err == nil {
		return
	}
	if len(batch) == 1 {
		r.log.Error("audit: store event", "request_id", batch[0].RequestID, "err", err)
		return
	}
	r.log.Warn("audit: store batch failed; storing its events one by one", "events", len(batch), "err", err)
	for _, e := range batch {
		if err := r.st.AppendAuditEvent(ctx, e); err != nil {
			r.log.Error("audit: store event", "request_id", e.RequestID, "err", err)
		}
	}
}

// Record logs the event and queues it for the store. When the queue is full it waits,
// so events are never dropped.
func (r *Recorder) Record(e Event) {
	if e.Time.IsZero() {
		e.Time = time.Now()
	}
	level := slog.LevelInfo
	if e.Decision == Failed {
		level = slog.LevelWarn
	}
	if ctx := context.Background(); r.log.Enabled(ctx, level) {
		attrs := []any{"request_id", e.RequestID, "service", e.Service, "action", e.Action, "decision", e.Decision, "caller", e.Caller}
		for _, kv := range [...][2]string{{"role", e.Role}, {"source_ip", e.SourceIP}, {"code", e.ErrorCode}, {"statement", e.Statement}, {"condition", e.Condition}, {"reason", e.Reason}} {
			if kv[1] != "" {
				attrs = append(attrs, kv[0], kv[1])
			}
		}
		r.log.Log(ctx, level, "audit", attrs...)
	}
	if r.st == nil {
		return
	}
	detail, _ := json.Marshal(struct {
		Service   string `json:"service,omitempty"`
		SourceIP  string `json:"sourceIp,omitempty"`
		ErrorCode string `json:"errorCode,omitempty"`
		Statement string `json:"statement,omitempty"`
		Condition string `json:"condition,omitempty"`
		Reason    string `json:"reason,omitempty"`
	}{e.Service, e.SourceIP, e.ErrorCode, e.Statement, e.Condition, e.Reason})
	r.ch <- store.AuditEvent{ID: newID(), Time: e.Time.UTC(), RequestID: e.RequestID, Action: e.Action, Caller: e.Caller, Role: e.Role, Decision: e.Decision, Detail: detail}
}

// Close flushes queued events (every event recorded before Close is stored, or
// logged as failed) and stops the writer. Record must not be called after Close.
func (r *Recorder) Close() {
	r.once.Do(func() {
		close(r.closing)
		close(r.ch)
		r.wg.Wait()
	})
}

func newID() string {
	var b [16]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// Conclude sets e's decision from how the call ended: Denied, with the deciding
// statement, failed condition and reason, when denied; else Failed, with err's AWS
// error code (and its message, unless the failure was internal), when err is not
// nil; else Allowed.
func (e *Event) Conclude(denied bool, statement, condition, reason string, err error) {
	switch {
	case denied:
		e.Decision, e.ErrorCode = Denied, "AccessDenied"
		e.Statement, e.Condition, e.Reason = statement, condition, reason
	case err != nil:
		e.Decision = Failed
		ae := awsapi.AsError(err)
		e.ErrorCode = ae.Code
		if ae.Code != "InternalFailure" {
			e.Reason = ae.Message
		}
	default:
		e.Decision = Allowed
	}
}
