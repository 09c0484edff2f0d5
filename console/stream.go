package console

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/netip"
	"time"

	"github.com/keyless-dev/keyless/audit"
	"github.com/keyless-dev/keyless/store"
)

// keepalive is how often the stream sends a comment when no event comes.
const keepalive = 15 * time.Second

// stream sends each new audit event as a Server-Sent Event "audit", polling
// the store's append order; it ends when the client leaves or the session
// expires.
func (h *Handler) stream(w http.ResponseWriter, r *http.Request, c caller) {
	ctx := r.Context()
	if srv, ok := ctx.Value(http.ServerContextKey).(*http.Server); ok {
		h.once.Do(func() { srv.RegisterOnShutdown(func() { close(h.shutdown) }) })
	}
	_, f, err := audit.Tail(ctx, h.cfg.Store, store.AuditQuery{}, 0, 0, h.cfg.Now)
	if err != nil {
		h.fail(w, "activity stream", err)
		return
	}
	rc := http.NewResponseController(w)
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	fmt.Fprint(w, ": keyless console activity stream\n\n")
	if err := rc.Flush(); err != nil {
		return
	}
	from, secure := remoteAddr(r), r.TLS != nil
	tick := time.NewTicker(h.cfg.PollInterval)
	defer tick.Stop()
	quiet := time.Now()
	for {
		select {
		case <-ctx.Done():
			return
		case <-h.shutdown:
			return
		case <-tick.C:
		}
		if !h.cfg.Now().Before(c.sess.Expires) || !h.stillAllowed(ctx, c, from, secure) {
			fmt.Fprint(w, "event: expired\ndata: {}\n\n")
			rc.Flush()
			return
		}
		evs, err := f.Poll(ctx)
		if err != nil {
			if ctx.Err() == nil {
				h.log.Error("console: activity stream", "err", err)
			}
			return
		}
		if len(evs) == 0 && time.Since(quiet) < keepalive {
			continue
		}
		ps, err := h.core.providers(ctx)
		if err != nil {
			h.log.Error("console: activity stream", "err", err)
			return
		}
		if len(evs) == 0 {
			fmt.Fprint(w, ": keepalive\n\n")
		}
		for _, e := range evs {
			b, err := json.Marshal(ps.event(e))
			if err != nil {
				continue
			}
			fmt.Fprintf(w, "event: audit\ndata: %s\n\n", b)
		}
		quiet = time.Now()
		if err := rc.Flush(); err != nil {
			return
		}
	}
}

// stillAllowed reports whether the session's access key still resolves to the
// principal that signed in and that principal may still view the activity (a
// deleted key or user, or a revoked keyless:ViewActivity, ends a stream too).
func (h *Handler) stillAllowed(ctx context.Context, c caller, from netip.Addr, secure bool) bool {
	_, denied, err := h.check(ctx, c.sess, ActionViewActivity, from, secure)
	return err == nil && denied == ""
}
