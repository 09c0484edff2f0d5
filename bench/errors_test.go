package bench

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
)

func TestCheckAnswerReadsTheErrorCode(t *testing.T) {
	for _, tc := range []struct {
		name, body string
		status     int
		wantCode   string
		wantMsg    string
	}{
		{"ok", "<AssumeRoleWithWebIdentityResponse/>", 200, "", ""},
		{"query xml", `<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>Not authorized to perform sts:AssumeRoleWithWebIdentity</Message></Error><RequestId>1</RequestId></ErrorResponse>`, 403, "AccessDenied", "Not authorized to perform sts:AssumeRoleWithWebIdentity"},
		{"s3 xml", `<?xml version="1.0" encoding="UTF-8"?>` + "\n" + `<Error><Code>NoSuchKey</Code><Message>The specified key does not exist.</Message></Error>`, 404, "NoSuchKey", "The specified key does not exist."},
		{"json 1.1", `{"__type":"com.amazonaws.secretsmanager#ResourceNotFoundException","message":"no such secret"}`, 400, "ResourceNotFoundException", "no such secret"},
		{"keyless json", `{"error":{"code":"InvalidRequest","message":"unknown repository"}}`, 400, "InvalidRequest", "unknown repository"},
		{"no document", "upstream gone", 503, "HTTP 503", "upstream gone"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp := &http.Response{StatusCode: tc.status, Body: io.NopCloser(strings.NewReader(tc.body))}
			err := checkAnswer(resp)
			if tc.wantCode == "" {
				if err != nil {
					t.Fatalf("checkAnswer = %v, want nil", err)
				}
				return
			}
			var be *Error
			if !errors.As(err, &be) || be.Code != tc.wantCode || be.Message != tc.wantMsg {
				t.Fatalf("checkAnswer = %#v, want code %q message %q", err, tc.wantCode, tc.wantMsg)
			}
			if ErrorCode(fmt.Errorf("exchange: %w", err)) != tc.wantCode {
				t.Errorf("ErrorCode of the wrapped error is %q", ErrorCode(fmt.Errorf("x: %w", err)))
			}
		})
	}
}

func TestErrorCodeOfTransportFailures(t *testing.T) {
	refused := &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connection refused")}
	for err, want := range map[error]string{
		refused:                    "ConnectionError",
		io.ErrUnexpectedEOF:        "ConnectionError",
		errors.New("something"):    "Error",
		&Error{Code: "Throttling"}: "Throttling",
	} {
		if got := ErrorCode(err); got != want {
			t.Errorf("ErrorCode(%v) = %q, want %q", err, got, want)
		}
	}
}
