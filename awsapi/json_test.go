package awsapi

import (
	"encoding/json"
	"errors"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestParseTarget(t *testing.T) {
	tests := []struct {
		target, prefix, op string
		ok                 bool
	}{
		{"secretsmanager.GetSecretValue", "secretsmanager", "GetSecretValue", true},
		{"DynamoDB_20120810.GetItem", "DynamoDB_20120810", "GetItem", true},
		{"a.b.Op1", "a.b", "Op1", true},
		{"secretsmanager.", "", "", false},
		{".GetSecretValue", "", "", false},
		{"GetSecretValue", "", "", false},
		{"secretsmanager.Get-Secret", "", "", false},
		{"secretsmanager.Get Secret", "", "", false},
		{"", "", "", false},
	}
	for _, tc := range tests {
		prefix, op, ok := ParseTarget(tc.target)
		if prefix != tc.prefix || op != tc.op || ok != tc.ok {
			t.Errorf("ParseTarget(%q) = %q, %q, %v; want %q, %q, %v", tc.target, prefix, op, ok, tc.prefix, tc.op, tc.ok)
		}
	}
}

// TestJSONError: the Query protocol's names of authentication failures
// become the JSON protocols' (all 400); other errors keep code and status;
// anything else is InternalFailure.
func TestJSONError(t *testing.T) {
	tests := []struct {
		err    error
		code   string
		status int
	}{
		{InvalidClientTokenID(), "UnrecognizedClientException", 400},
		{SignatureDoesNotMatch(), "InvalidSignatureException", 400},
		{RequestExpired("Signature expired"), "InvalidSignatureException", 400},
		{IncompleteSignature("x"), "IncompleteSignatureException", 400},
		{ExpiredToken(), "ExpiredTokenException", 400},
		{MissingAuthenticationToken(), "MissingAuthenticationTokenException", 400},
		{AccessDenied("no"), "AccessDeniedException", 400},
		{Throttling(), "ThrottlingException", 400},
		{NewError("ResourceNotFoundException", 400, "m"), "ResourceNotFoundException", 400},
		{RequestEntityTooLarge(10), "RequestEntityTooLarge", 413},
		{errors.New("secret detail"), "InternalFailure", 500},
	}
	for _, tc := range tests {
		e := JSONError(tc.err)
		if e.Code != tc.code || e.Status != tc.status {
			t.Errorf("JSONError(%v) = %s %d, want %s %d", tc.err, e.Code, e.Status, tc.code, tc.status)
		}
	}
	if e := JSONError(SignatureDoesNotMatch()); e.Message != msgSignatureDoesNotMatch {
		t.Errorf("the message changed: %q", e.Message)
	}
}

func TestWriteJSON(t *testing.T) {
	w := httptest.NewRecorder()
	WriteJSONError(w, ContentTypeJSON11, "req-1", NewError("ResourceNotFoundException", 400, `Secrets Manager can't find the "specified" secret.`))
	if w.Code != 400 || w.Header().Get("Content-Type") != ContentTypeJSON11 || w.Header().Get("x-amzn-RequestId") != "req-1" ||
		w.Header().Get("x-amzn-ErrorType") != "ResourceNotFoundException" ||
		w.Body.String() != `{"__type":"ResourceNotFoundException","Message":"Secrets Manager can't find the \"specified\" secret."}` {
		t.Fatalf("WriteJSONError: %d %v %s", w.Code, w.Header(), w.Body)
	}
	w = httptest.NewRecorder()
	WriteJSONError(w, ContentTypeJSON10, "", errors.New("database password is hunter2"))
	if w.Code != 500 || strings.Contains(w.Body.String(), "hunter2") || !strings.Contains(w.Body.String(), `"__type":"InternalFailure"`) ||
		w.Header().Get("Content-Type") != ContentTypeJSON10 {
		t.Fatalf("WriteJSONError of an internal error: %d %s", w.Code, w.Body)
	}
	w = httptest.NewRecorder()
	WriteJSONResult(w, ContentTypeJSON11, "req-2", struct {
		ARN  string
		When EpochTime
	}{"a", EpochTime(time.UnixMilli(1700000000123))})
	if w.Code != 200 || w.Body.String() != `{"ARN":"a","When":1700000000.123}` || w.Header().Get("Content-Length") != "33" {
		t.Fatalf("WriteJSONResult: %d %v %s", w.Code, w.Header(), w.Body)
	}
}

func TestEpochTime(t *testing.T) {
	for _, ms := range []int64{0, 1, 1700000000000, 1700000000123, 1700000000999, -1500} {
		in := EpochTime(time.UnixMilli(ms))
		b, err := json.Marshal(in)
		if err != nil {
			t.Fatal(err)
		}
		var out EpochTime
		if err := json.Unmarshal(b, &out); err != nil || time.Time(out).UnixMilli() != ms {
			t.Errorf("EpochTime %d ms: marshalled %s, read back %v (%v)", ms, b, time.Time(out).UnixMilli(), err)
		}
	}
	var v struct {
		T EpochTime `json:"T,omitzero"`
	}
	if b, _ := json.Marshal(v); string(b) != "{}" {
		t.Errorf("the zero EpochTime with omitzero encodes as %s, want {}", b)
	}
	if err := json.Unmarshal([]byte(`"2020-01-01"`), &v.T); err == nil {
		t.Errorf("a string decoded as an EpochTime")
	}
}

// FuzzParseTarget: any X-Amz-Target parses without panicking, and what it
// accepts splits back into the target.
func FuzzParseTarget(f *testing.F) {
	for _, s := range []string{"secretsmanager.GetSecretValue", "a.b.C", ".", "x.", ".y", "\xff.Op"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, target string) {
		prefix, op, ok := ParseTarget(target)
		if ok && (prefix == "" || !isActionName(op) || prefix+"."+op != target) {
			t.Fatalf("ParseTarget(%q) = %q, %q", target, prefix, op)
		}
	})
}
