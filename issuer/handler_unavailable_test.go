package issuer

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"testing"

	"github.com/keyless-dev/keyless/store"
)

// TestWriteErrorStoreUnavailable: an error of a store that cannot be reached
// is answered 503 Unavailable with a message that says to retry, not 500
// InternalError; any other unexpected error stays an internal error.
func TestWriteErrorStoreUnavailable(t *testing.T) {
	h := NewHandler(nil, nil, slog.New(slog.DiscardHandler))
	for _, tc := range []struct {
		err    error
		status int
		code   string
	}{
		{fmt.Errorf("read runner: %w", store.Unavailable("unreachable", errors.New("dial tcp: connection refused"))), 503, CodeUnavailable},
		{errors.New("something else"), 500, "InternalError"},
	} {
		rec := httptest.NewRecorder()
		h.writeError(rec, tc.err)
		var body ErrorBody
		if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
			t.Fatalf("%v: body %q: %v", tc.err, rec.Body, err)
		}
		if rec.Code != tc.status || body.Error.Code != tc.code {
			t.Errorf("%v: %d %+v, want %d %s", tc.err, rec.Code, body.Error, tc.status, tc.code)
		}
		if tc.status == 503 && body.Error.Message != StoreUnavailable().Message {
			t.Errorf("message %q", body.Error.Message)
		}
	}
}
