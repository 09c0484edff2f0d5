package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/keyless-dev/keyless/store"
)

// pingStore answers SchemaVersion, or fails it with err.
type pingStore struct {
	store.Store
	err error
}

func (p *pingStore) SchemaVersion(context.Context) (int, error) { return 1, p.err }

// TestReadyz: /readyz names each check and fails with 503 naming the one that
// failed; the store's state changes are logged once each.
func TestReadyz(t *testing.T) {
	var logs bytes.Buffer
	st := &pingStore{}
	r := newReadiness(st, nil, slog.New(slog.NewTextHandler(&logs, nil)))
	get := func() (int, readyReply) {
		rec := httptest.NewRecorder()
		r.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/readyz", nil))
		var reply readyReply
		if err := json.Unmarshal(rec.Body.Bytes(), &reply); err != nil {
			t.Fatalf("%q: %v", rec.Body, err)
		}
		return rec.Code, reply
	}
	failing := func(reply readyReply) string {
		var names []string
		for _, c := range reply.Checks {
			if !c.OK {
				names = append(names, c.Name+": "+c.Detail)
			}
		}
		return strings.Join(names, "; ")
	}
	// No signing keys loaded (a nil key set).
	if code, reply := get(); code != 503 || reply.Status != "not ready" || failing(reply) != "signing_keys: no active signing key loaded" {
		t.Errorf("without keys: %d %+v", code, reply)
	}
	st.err = store.Unavailable("unreachable", errors.New("connection refused"))
	get()
	code, reply := get()
	if code != 503 || !strings.Contains(failing(reply), "store: the store does not answer (unreachable)") {
		t.Errorf("store down: %d %+v", code, reply)
	}
	st.err = nil
	get()
	if got := logs.String(); strings.Count(got, `msg="store unavailable:`) != 1 || strings.Count(got, "store available again") != 1 {
		t.Errorf("log:\n%s\nwant one line for each change", got)
	}
}
