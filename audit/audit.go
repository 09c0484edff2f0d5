// Package audit records every STS and IAM decision as a structured, secret-free event,
// kept in the store and logged. Events are written by a background goroutine so the
// hot path (token exchange) does not wait for the database.
package audit

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"log/slog"
	"math"
	mrand "math/rand/v2"
	"sync"
	"sync/atomic"
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
	// Repository is the repository a web identity token names (its
	// repositoryUuid, repository or project_path claim), for queries by repository.
	Repository string
	// Failed is the condition that decided a denial, traced, so that keyless
	// audit explains it as keyless explain does (see denial.go); nil otherwise.
	Failed *FailedCondition
	// Claims are a web identity token's claims as STS read them, a JSON object
	// (iss, sub, aud and the provider's own), never the token or its signature;
	// nil otherwise.
	Claims json.RawMessage
}

// maxBatch is the most events the writer stores in one transaction. It is
// large so that a writer that had to wait for the store's write lock (held
// by a retention prune, say) catches up in one transaction: with 256, it
// stored 256 events per turn of the lock while thousands arrived, the queue
// filled and requests stalled in Record for seconds.
const maxBatch = 4096

// queueSize is how many events may wait for the writer before Record blocks
// (about 5 MB).
const queueSize = 2 * maxBatch

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
	// sampleAllowed holds the math.Float64bits of the fraction of allowed
	// decisions that are logged (see SetLogSampling); 0 bits mean 1, all.
	sampleAllowed atomic.Uint64
	// downUntil, used by the writer only, is when to try the store again after
	// it reported itself unavailable; batches before then are not stored.
	downUntil time.Time
	// lost counts the events not stored while the store was unavailable since
	// the writer last said so in the log.
	lost int
}

// unavailableBackoff is how long the writer leaves a store that reported
// itself unavailable (store.ErrUnavailable) before it tries again. Trying
// each batch meanwhile, and each event of a failed batch, could take a
// connect timeout each while the queue fills and Record blocks requests that
// need no store.
const unavailableBackoff = time.Second

// SetLogSampling logs only the fraction rate (0 to 1, chosen at random) of
// allowed decisions; denials and errors are always logged, and every event is
// stored whatever the rate. At rate 1, the default, every decision is logged;
// below it, logged allowed decisions carry the rate as log_sample_rate, so
// that counts can be scaled back. Under load the log line is a large part of
// an exchange's cost and of the log's growth (about 300 bytes each). It is
// safe to call while events are recorded.
func (r *Recorder) SetLogSampling(rate float64) {
	rate = min(max(rate, 0), 1)
	if rate == 1 {
		r.sampleAllowed.Store(0)
		return
	}
	r.sampleAllowed.Store(math.Float64bits(rate) | 1<<63) // the sign bit marks "set", also for 0
}

// logSampleRate is the fraction of allowed decisions logged.
func (r *Recorder) logSampleRate() float64 {
	b := r.sampleAllowed.Load()
	if b == 0 {
		return 1
	}
	return math.Float64frombits(b &^ (1 << 63))
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
	if now := time.Now(); now.Before(r.downUntil) {
		r.lost += len(batch)
		return
	}
	err := r.st.AppendAuditEvents(ctx, batch)
	if err == nil {
		if r.lost > 0 {
			r.log.Warn("audit: store available again; the events recorded while it was not were not stored", "events_not_stored", r.lost)
			r.lost = 0
		}
		return
	}
	if errors.Is(err, store.ErrUnavailable) {
		// Every event would fail the same way: none is retried, and the
		// store is left alone for a while (see unavailableBackoff).
		if r.lost == 0 {
			r.log.Error("audit: store unavailable; events are not stored until it returns (denials and errors are in this log)", "err", err)
		}
		r.lost += len(batch)
		r.downUntil = time.Now().Add(unavailableBackoff)
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

// Record logs the event (an allowed decision only if sampled, see
// SetLogSampling) and queues it for the store. When the queue is full it waits,
// so events are not dropped, except while the store reports itself unavailable
// (store.ErrUnavailable): then they are not stored, and the log says how many.
func (r *Recorder) Record(e Event) {
	if e.Time.IsZero() {
		e.Time = time.Now()
	}
	level := slog.LevelInfo
	if e.Decision == Failed {
		level = slog.LevelWarn
	}
	rate := 1.0
	if e.Decision == Allowed {
		rate = r.logSampleRate()
	}
	if ctx := context.Background(); (rate >= 1 || rate > 0 && mrand.Float64() < rate) && r.log.Enabled(ctx, level) {
		attrs := []any{"request_id", e.RequestID, "service", e.Service, "action", e.Action, "decision", e.Decision, "caller", e.Caller}
		for _, kv := range [...][2]string{{"role", e.Role}, {"source_ip", e.SourceIP}, {"code", e.ErrorCode}, {"statement", e.Statement}, {"condition", e.Condition}, {"reason", e.Reason}} {
			if kv[1] != "" {
				attrs = append(attrs, kv[0], kv[1])
			}
		}
		if rate < 1 {
			attrs = append(attrs, "log_sample_rate", rate)
		}
		r.log.Log(ctx, level, "audit", attrs...)
	}
	if r.st == nil {
		return
	}
	detail, _ := json.Marshal(struct {
		Service   string           `json:"service,omitempty"`
		SourceIP  string           `json:"sourceIp,omitempty"`
		ErrorCode string           `json:"errorCode,omitempty"`
		Statement string           `json:"statement,omitempty"`
		Condition string           `json:"condition,omitempty"`
		Reason    string           `json:"reason,omitempty"`
		Failed    *FailedCondition `json:"failed,omitempty"`
		Claims    json.RawMessage  `json:"claims,omitempty"`
	}{e.Service, e.SourceIP, e.ErrorCode, e.Statement, e.Condition, e.Reason, e.Failed, e.Claims})
	r.ch <- store.AuditEvent{ID: newID(e.Time), Time: e.Time.UTC(), RequestID: e.RequestID, Action: e.Action, Caller: e.Caller, Role: e.Role, Decision: e.Decision, Repository: e.Repository, Detail: detail}
}

// QueueLen is the number of events waiting for the writer (for metrics).
func (r *Recorder) QueueLen() int { return len(r.ch) }

// Close flushes queued events (every event recorded before Close is stored, or
// logged as failed) and stops the writer. Record must not be called after Close.
func (r *Recorder) Close() {
	r.once.Do(func() {
		close(r.closing)
		close(r.ch)
		r.wg.Wait()
	})
}

// newID is a fresh event ID for an event at t: 32 hex digits, the first 12
// t's Unix milliseconds and the rest random, so that IDs increase with time.
// The store keeps a unique index on the ID; with random IDs every insert
// landed on a random page of that index, so that each batch dirtied (and
// SQLite wrote to its WAL) about one 4 KiB page per event, and the writer's
// CPU and I/O grew with the table. Time-ordered IDs append to the index's
// last pages instead.
func newID(t time.Time) string {
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], uint64(t.UnixMilli())<<16)
	rand.Read(b[6:])
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
