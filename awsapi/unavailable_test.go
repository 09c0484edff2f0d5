package awsapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// downError is a dependency's error that marks itself unavailable, as the store's do.
type downError struct{ down bool }

func (e downError) Error() string     { return "database at 10.0.0.5 refused the connection" }
func (e downError) Unavailable() bool { return e.down }

// TestUnavailableErrors: an error that reports Unavailable() true, however wrapped,
// is ServiceUnavailable 503 in every protocol, without its text; one reporting
// false stays InternalFailure.
func TestUnavailableErrors(t *testing.T) {
	err := fmt.Errorf("iam: get role: %w", downError{down: true})
	if e := AsError(err); e.Code != "ServiceUnavailable" || e.Status != http.StatusServiceUnavailable || e.Sender {
		t.Fatalf("AsError = %+v, want ServiceUnavailable 503 Receiver", e)
	}
	if e := AsError(fmt.Errorf("x: %w", downError{})); e.Code != "InternalFailure" {
		t.Errorf("an error reporting Unavailable() false: %s, want InternalFailure", e.Code)
	}
	if e := AsError(errors.Join(err, AccessDenied("no"))); e.Code != "AccessDenied" {
		t.Errorf("an *Error in the chain wins: %s", e.Code)
	}

	for _, tc := range []struct {
		name  string
		write func(w http.ResponseWriter)
		want  string
	}{
		{"query", func(w http.ResponseWriter) {
			WriteQueryError(w, "https://iam.amazonaws.com/doc/2010-05-08/", "rid", err)
		}, "<Type>Receiver</Type><Code>ServiceUnavailable</Code>"},
		{"rest", func(w http.ResponseWriter) { WriteRESTError(w, "rid", "/b/k", err) }, "<Code>ServiceUnavailable</Code>"},
		{"json", func(w http.ResponseWriter) { WriteJSONError(w, "application/x-amz-json-1.1", "rid", err) }, `"__type":"ServiceUnavailable"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			tc.write(rec)
			body := rec.Body.String()
			if rec.Code != http.StatusServiceUnavailable || !strings.Contains(body, tc.want) {
				t.Errorf("%d %s, want 503 with %s", rec.Code, body, tc.want)
			}
			if strings.Contains(body, "10.0.0.5") {
				t.Errorf("the reply shows the error's text: %s", body)
			}
			if tc.name == "json" && !json.Valid(rec.Body.Bytes()) {
				t.Errorf("not JSON: %s", body)
			}
		})
	}
}
