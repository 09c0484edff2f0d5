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

// Recorder persists and logs events.
type Recorder struct {
	st   store.Store
	log  *slog.Logger
	ch   chan store.AuditEvent
	wg   sync.WaitGroup
	once sync.Once
}

// NewRecorder starts a recorder writing to st (may be nil: log only). Close it to
// flush pending events.
func NewRecorder(st store.Store, log *slog.Logger) *Recorder {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	r := &Recorder{st: st, log: log, ch: make(chan store.AuditEvent, 4096)}
	if st != nil {
		r.wg.Add(1)
		go r.run()
	}
	return r
}

func (r *Recorder) run() {
	defer r.wg.Done()
	for e := range r.ch {
		if err := r.st.AppendAuditEvent(context.Background(), e); err != nil {
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
	attrs := []any{"request_id", e.RequestID, "service", e.Service, "action", e.Action, "decision", e.Decision, "caller", e.Caller}
	for _, kv := range [][2]string{{"role", e.Role}, {"source_ip", e.SourceIP}, {"code", e.ErrorCode}, {"statement", e.Statement}, {"condition", e.Condition}, {"reason", e.Reason}} {
		if kv[1] != "" {
			attrs = append(attrs, kv[0], kv[1])
		}
	}
	level := slog.LevelInfo
	if e.Decision == Failed {
		level = slog.LevelWarn
	}
	r.log.Log(context.Background(), level, "audit", attrs...)
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

// Close flushes queued events and stops the writer.
func (r *Recorder) Close() {
	r.once.Do(func() {
		close(r.ch)
		r.wg.Wait()
	})
}

func newID() string {
	var b [16]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
