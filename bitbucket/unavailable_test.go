package bitbucket

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"testing"

	"github.com/keyless-dev/keyless/issuer"
	"github.com/keyless-dev/keyless/store"
)

// TestStoreUnavailable: both APIs answer an error of a store that cannot be
// reached with 503 and a message that says to retry, in their own shapes.
func TestStoreUnavailable(t *testing.T) {
	h := &Handler{log: slog.New(slog.DiscardHandler)}
	err := fmt.Errorf("list variables: %w", store.Unavailable("unreachable", errors.New("dial tcp: connection refused")))

	rec := httptest.NewRecorder()
	h.writeError(rec, err)
	var bb errorJSON
	if e := json.Unmarshal(rec.Body.Bytes(), &bb); e != nil || rec.Code != 503 || bb.Type != "error" || bb.Error.Message != issuer.StoreUnavailable().Message {
		t.Errorf("variables API: %d %s (%v)", rec.Code, rec.Body, e)
	}

	rec = httptest.NewRecorder()
	h.writeAPIError(rec, err)
	var kb issuer.ErrorBody
	if e := json.Unmarshal(rec.Body.Bytes(), &kb); e != nil || rec.Code != 503 || kb.Error.Code != issuer.CodeUnavailable {
		t.Errorf("step variables API: %d %s (%v)", rec.Code, rec.Body, e)
	}
}
