package server

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/keyless-dev/keyless/issuer"
	"github.com/keyless-dev/keyless/store"
)

// readyTimeout bounds each readiness check, so that /readyz answers within it even
// when the store does not.
const readyTimeout = 2 * time.Second

// storeWatchInterval is how often the server checks that its store answers, to log
// the moment it stops and starts answering (see readiness.watch).
const storeWatchInterval = 2 * time.Second

// readiness answers GET /readyz: whether this server can serve requests now — its
// store answers and its signing keys are loaded — as opposed to /healthz, which only
// says the process is alive. Load balancers take a replica that is not ready out of
// rotation; it comes back by itself.
type readiness struct {
	st   store.Store
	keys *issuer.KeySet
	log  *slog.Logger

	mu       sync.Mutex
	storeErr string // the last store check's failure, "" when it answered
}

func newReadiness(st store.Store, keys *issuer.KeySet, log *slog.Logger) *readiness {
	return &readiness{st: st, keys: keys, log: log}
}

// check is one named readiness check's outcome.
type check struct {
	Name   string `json:"name"`
	OK     bool   `json:"ok"`
	Detail string `json:"detail,omitempty"`
}

// readyReply is the body of /readyz.
type readyReply struct {
	Status string  `json:"status"` // "ready" or "not ready"
	Checks []check `json:"checks"`
}

// run performs the checks.
func (r *readiness) run(ctx context.Context) readyReply {
	checks := []check{r.checkStore(ctx), r.checkKeys()}
	reply := readyReply{Status: "ready", Checks: checks}
	for _, c := range checks {
		if !c.OK {
			reply.Status = "not ready"
		}
	}
	return reply
}

// checkStore asks the store a trivial question and logs when the answer changes
// from the previous check's.
func (r *readiness) checkStore(ctx context.Context) check {
	cctx, cancel := context.WithTimeout(ctx, readyTimeout)
	defer cancel()
	c := check{Name: "store", OK: true}
	_, err := r.st.SchemaVersion(cctx)
	if err != nil {
		c.OK = false
		c.Detail = "the store does not answer"
		if cause := store.UnavailableCause(err); cause != "" {
			c.Detail += " (" + cause + ")"
		}
	}
	if ctx.Err() == nil { // not a check cut short by its caller
		r.note(err)
	}
	return c
}

// note logs a change of the store's state: one line when it stops answering, with
// the error (which never holds a DSN password or a secret), one when it is back.
func (r *readiness) note(err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	switch {
	case err != nil && r.storeErr == "":
		r.log.Error("store unavailable: requests that need it get ServiceUnavailable (HTTP 503) until it answers again", "err", err)
		r.storeErr = err.Error()
	case err == nil && r.storeErr != "":
		r.log.Info("store available again")
		r.storeErr = ""
	}
}

// checkKeys checks that the issuer has a signing key and publishes a JWKS.
func (r *readiness) checkKeys() check {
	c := check{Name: "signing_keys", OK: true}
	if r.keys == nil || r.keys.SigningKeyID() == "" || len(r.keys.JWKS()) == 0 {
		c.OK = false
		c.Detail = "no active signing key loaded"
	}
	return c
}

// ServeHTTP answers GET /readyz: 200 with {"status":"ready","checks":[…]} when every
// check passes, else 503 with the failing checks marked "ok": false.
func (r *readiness) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	reply := r.run(req.Context())
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	if reply.Status != "ready" {
		w.WriteHeader(http.StatusServiceUnavailable)
	}
	_ = json.NewEncoder(w).Encode(reply)
}

// watch checks the store every interval until ctx ends, so that the log says when
// it stops and starts answering even when nobody asks /readyz.
func (r *readiness) watch(ctx context.Context, every time.Duration, done func()) {
	defer done()
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			r.checkStore(ctx)
		}
	}
}
