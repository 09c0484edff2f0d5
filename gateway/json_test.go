package gateway_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/keyless-dev/keyless/awsapi"
	"github.com/keyless-dev/keyless/gateway"
)

// fakeJSON is a JSONHandler that records its calls and answers with result
// or err.
type fakeJSON struct {
	result any
	err    error

	mu    sync.Mutex
	calls []jsonHit
}

type jsonHit struct {
	call *gateway.Call
	body string
}

func (f *fakeJSON) ServeJSON(_ context.Context, c *gateway.Call, body []byte) (any, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, jsonHit{call: c, body: string(body)})
	return f.result, f.err
}

func (f *fakeJSON) taken() []jsonHit {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := f.calls
	f.calls = nil
	return out
}

// jsonEnv is a gateway in front of a fake Secrets Manager, with keyless's own
// routes as the fallback.
type jsonEnv struct {
	*env
	sm       *fakeJSON
	fallback int // requests the fallback got
	mu       sync.Mutex
}

func newJSONEnv(t *testing.T, maxBody int64) *jsonEnv {
	t.Helper()
	e := &jsonEnv{sm: &fakeJSON{result: map[string]string{"Name": "db"}}}
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, _ *http.Request) {
		e.mu.Lock()
		e.fallback++
		e.mu.Unlock()
		io.WriteString(w, "fallback")
	})
	e.env = newEnv(t, func(c *gateway.Config) {
		c.JSON = map[string]*gateway.JSONService{
			"secretsmanager": {TargetPrefix: "secretsmanager", ContentType: awsapi.ContentTypeJSON11, Handler: e.sm},
		}
		c.Fallback = mux
		c.MaxBody = maxBody
	})
	return e
}

// jsonRequest is a JSON 1.1 request to path with target and body, signed for
// service with key and secret (unsigned when service is "").
func jsonRequest(t *testing.T, method, url, target, body, service, key, sec string) *http.Request {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", awsapi.ContentTypeJSON11)
	if target != "" {
		req.Header.Set("X-Amz-Target", target)
	}
	if service != "" {
		sum := sha256.Sum256([]byte(body))
		if err := v4.NewSigner().SignHTTP(context.Background(), aws.Credentials{AccessKeyID: key, SecretAccessKey: sec},
			req, hex.EncodeToString(sum[:]), service, "us-east-1", time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	return req
}

// jsonReply is a JSON-protocol reply.
type jsonReply struct {
	status      int
	contentType string
	requestID   string
	errorType   string // x-amzn-ErrorType
	body        string
	fields      map[string]any
}

func doJSON(t *testing.T, req *http.Request) jsonReply {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	r := jsonReply{status: resp.StatusCode, contentType: resp.Header.Get("Content-Type"), requestID: resp.Header.Get("x-amzn-RequestId"),
		errorType: resp.Header.Get("x-amzn-ErrorType"), body: string(b)}
	_ = json.Unmarshal(b, &r.fields)
	return r
}

func TestJSONRouting(t *testing.T) {
	const target = "secretsmanager.GetSecretValue"
	const body = `{"SecretId":"db"}`
	tests := []struct {
		name string
		req  func(t *testing.T, base string) *http.Request
		// answer, if set, is what the fake service returns.
		answer error
		// status and code of the reply ("" code: success, the fake's result).
		status int
		code   string
		// message, if set, must be in the error's Message.
		message string
		served  bool // the service performed the call
		// fallback: the request went to keyless's own routes instead.
		fallback bool
	}{
		{
			name: "signed POST /",
			req: func(t *testing.T, b string) *http.Request {
				return jsonRequest(t, "POST", b+"/", target, body, "secretsmanager", keyID, secret)
			},
			status: 200, served: true,
		},
		{
			name: "signed, at one of keyless's own paths",
			req: func(t *testing.T, b string) *http.Request {
				return jsonRequest(t, "POST", b+"/keyless/v1/token", target, body, "secretsmanager", keyID, secret)
			},
			status: 200, served: true,
		},
		{
			name: "the service's error, as it is",
			req: func(t *testing.T, b string) *http.Request {
				return jsonRequest(t, "POST", b+"/", target, body, "secretsmanager", keyID, secret)
			},
			answer: awsapi.NewError("ResourceNotFoundException", 400, "Secrets Manager can't find the specified secret."),
			status: 400, code: "ResourceNotFoundException", message: "Secrets Manager can't find the specified secret.", served: true,
		},
		{
			name: "AccessDenied, in the JSON protocols' spelling",
			req: func(t *testing.T, b string) *http.Request {
				return jsonRequest(t, "POST", b+"/", target, body, "secretsmanager", keyID, secret)
			},
			answer: awsapi.AccessDenied("User: x is not authorized"),
			status: 400, code: "AccessDeniedException", message: "is not authorized", served: true,
		},
		{
			name: "an internal error, without its text",
			req: func(t *testing.T, b string) *http.Request {
				return jsonRequest(t, "POST", b+"/", target, body, "secretsmanager", keyID, secret)
			},
			answer: errors.New("database on fire"),
			status: 500, code: "InternalFailure", served: true,
		},
		{
			name: "unsigned, for the service's target",
			req: func(t *testing.T, b string) *http.Request {
				return jsonRequest(t, "POST", b+"/", target, body, "", "", "")
			},
			status: 400, code: "MissingAuthenticationTokenException",
		},
		{
			name: "unsigned, another target",
			req: func(t *testing.T, b string) *http.Request {
				return jsonRequest(t, "POST", b+"/", "kms.Encrypt", body, "", "", "")
			},
			fallback: true, status: 200,
		},
		{
			name: "unsigned, no target",
			req: func(t *testing.T, b string) *http.Request {
				return jsonRequest(t, "POST", b+"/keyless/v1/x", "", body, "", "", "")
			},
			fallback: true, status: 200,
		},
		{
			name: "unknown access key",
			req: func(t *testing.T, b string) *http.Request {
				return jsonRequest(t, "POST", b+"/", target, body, "secretsmanager", "AKIAUNKNOWNUNKNOWN00", secret)
			},
			status: 400, code: "UnrecognizedClientException", message: "The security token included in the request is invalid.",
		},
		{
			name: "wrong secret key",
			req: func(t *testing.T, b string) *http.Request {
				return jsonRequest(t, "POST", b+"/", target, body, "secretsmanager", keyID, "wrong")
			},
			status: 400, code: "InvalidSignatureException",
		},
		{
			name: "body changed after signing",
			req: func(t *testing.T, b string) *http.Request {
				req := jsonRequest(t, "POST", b+"/", target, body, "secretsmanager", keyID, secret)
				req.Body = io.NopCloser(strings.NewReader(`{"SecretId":"other"}`))
				req.ContentLength = int64(len(`{"SecretId":"other"}`))
				return req
			},
			status: 400, code: "InvalidSignatureException",
		},
		{
			name: "another service's target",
			req: func(t *testing.T, b string) *http.Request {
				return jsonRequest(t, "POST", b+"/", "kms.Encrypt", body, "secretsmanager", keyID, secret)
			},
			status: 400, code: "UnknownOperationException", message: `"kms.Encrypt"`,
		},
		{
			name: "no target",
			req: func(t *testing.T, b string) *http.Request {
				return jsonRequest(t, "POST", b+"/", "", body, "secretsmanager", keyID, secret)
			},
			status: 400, code: "UnknownOperationException", message: "(missing)",
		},
		{
			name: "a target that is not an operation name",
			req: func(t *testing.T, b string) *http.Request {
				return jsonRequest(t, "POST", b+"/", "secretsmanager.Get-Secret", body, "secretsmanager", keyID, secret)
			},
			status: 400, code: "UnknownOperationException",
		},
		{
			name: "GET",
			req: func(t *testing.T, b string) *http.Request {
				return jsonRequest(t, "GET", b+"/", target, "", "secretsmanager", keyID, secret)
			},
			status: 400, code: "UnknownOperationException", message: "POST",
		},
		{
			name: "body over the limit",
			req: func(t *testing.T, b string) *http.Request {
				return jsonRequest(t, "POST", b+"/", target, `{"SecretString":"`+strings.Repeat("x", 2048)+`"}`, "secretsmanager", keyID, secret)
			},
			status: 413, code: "RequestEntityTooLarge",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newJSONEnv(t, 1024)
			e.sm.err = tc.answer
			r := doJSON(t, tc.req(t, e.srv.URL))
			hits := e.sm.taken()
			if tc.served != (len(hits) == 1) {
				t.Fatalf("service calls = %d, want served %v", len(hits), tc.served)
			}
			e.mu.Lock()
			fallback := e.fallback
			e.mu.Unlock()
			if tc.fallback {
				if fallback != 1 || r.body != "fallback" {
					t.Fatalf("reply %d %q, fallback hits %d: want the fallback", r.status, r.body, fallback)
				}
				return
			}
			if fallback != 0 {
				t.Fatalf("the fallback got the request; reply %d %s", r.status, r.body)
			}
			if r.status != tc.status {
				t.Fatalf("status = %d, want %d\n%s", r.status, tc.status, r.body)
			}
			if r.contentType != awsapi.ContentTypeJSON11 || r.requestID == "" {
				t.Errorf("Content-Type %q, x-amzn-RequestId %q; want %s and an ID", r.contentType, r.requestID, awsapi.ContentTypeJSON11)
			}
			if tc.code == "" {
				if r.fields["Name"] != "db" {
					t.Errorf("reply body %s, want the service's result", r.body)
				}
			} else {
				if r.fields["__type"] != tc.code || r.errorType != tc.code {
					t.Errorf("error __type %v, x-amzn-ErrorType %q; want %s\n%s", r.fields["__type"], r.errorType, tc.code, r.body)
				}
				msg, _ := r.fields["Message"].(string)
				if !strings.Contains(msg, tc.message) || strings.Contains(r.body, "on fire") {
					t.Errorf("error Message %q, want it to hold %q (and no internal detail)", msg, tc.message)
				}
			}
			if !tc.served {
				return
			}
			h := hits[0]
			if h.call.Action != "GetSecretValue" || h.body != body || h.call.Caller == nil || h.call.Caller.ARN != callerARN ||
				h.call.Sig == nil || h.call.Sig.Service != "secretsmanager" || h.call.RequestID != r.requestID || !h.call.SourceIP.IsValid() {
				t.Errorf("the service got call %+v with body %q", h.call, h.body)
			}
		})
	}
}

// TestJSONResultShapes: a nil result is "{}", and a result that cannot be
// encoded is an InternalFailure, not a half-written reply.
func TestJSONResultShapes(t *testing.T) {
	for _, tc := range []struct {
		name   string
		result any
		status int
		body   string
	}{
		{"nil", nil, 200, "{}"},
		{"nil pointer", (*struct{ A int })(nil), 200, "{}"},
		{"unencodable", map[string]any{"f": func() {}}, 500, `{"__type":"InternalFailure","Message":"The request processing has failed because of an unknown error, exception or failure."}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newJSONEnv(t, 1024)
			e.sm.result = tc.result
			r := doJSON(t, jsonRequest(t, "POST", e.srv.URL+"/", "secretsmanager.TagResource", `{}`, "secretsmanager", keyID, secret))
			if r.status != tc.status || r.body != tc.body {
				t.Fatalf("reply %d %s, want %d %s", r.status, r.body, tc.status, tc.body)
			}
		})
	}
}
