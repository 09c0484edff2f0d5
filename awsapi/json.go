package awsapi

import (
	"encoding/json"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Content types of the AWS JSON protocols.
const (
	// ContentTypeJSON11 is the media type of AWS JSON 1.1 requests and
	// replies (Secrets Manager, …).
	ContentTypeJSON11 = "application/x-amz-json-1.1"
	// ContentTypeJSON10 is the media type of AWS JSON 1.0 requests and
	// replies.
	ContentTypeJSON10 = "application/x-amz-json-1.0"
)

// TargetHeader is the header naming the operation of a JSON-protocol request:
// "secretsmanager.GetSecretValue".
const TargetHeader = "X-Amz-Target"

// ParseTarget splits an X-Amz-Target value into the service's target prefix
// and the operation ("secretsmanager", "GetSecretValue"). ok is false unless
// both are present and the operation is an operation name (ASCII letters and
// digits).
func ParseTarget(target string) (prefix, operation string, ok bool) {
	i := strings.LastIndexByte(target, '.')
	if i <= 0 || i == len(target)-1 {
		return "", "", false
	}
	prefix, operation = target[:i], target[i+1:]
	if !isActionName(operation) {
		return "", "", false
	}
	return prefix, operation, true
}

// jsonCodes are the JSON protocols' names of the errors that the Query
// protocol names otherwise: the same failure, as AWS's JSON services report
// it (all with status 400).
var jsonCodes = map[string]string{
	"AccessDenied":               "AccessDeniedException",
	"InvalidClientTokenId":       "UnrecognizedClientException",
	"SignatureDoesNotMatch":      "InvalidSignatureException",
	"RequestExpired":             "InvalidSignatureException",
	"IncompleteSignature":        "IncompleteSignatureException",
	"ExpiredToken":               "ExpiredTokenException",
	"MissingAuthenticationToken": "MissingAuthenticationTokenException",
	"Throttling":                 "ThrottlingException",
}

// JSONError returns err as an AWS JSON-protocol service reports it: its code
// in the JSON protocols' spelling (AccessDenied is AccessDeniedException,
// InvalidClientTokenId UnrecognizedClientException, …, with status 400), any
// other code and status unchanged. An err that is not an *Error is
// InternalFailure.
func JSONError(err error) *Error {
	e := AsError(err)
	if code, ok := jsonCodes[e.Code]; ok {
		return &Error{Code: code, Message: e.Message, Status: http.StatusBadRequest, Sender: true}
	}
	return e
}

// jsonErrorBody is the body of a JSON-protocol error.
type jsonErrorBody struct {
	Type    string `json:"__type"`
	Message string `json:"Message,omitempty"`
}

// WriteJSONError writes an AWS JSON-protocol error reply:
//
//	{"__type":"ResourceNotFoundException","Message":"…"}
//
// with the error's status (see JSONError for the codes), Content-Type
// contentType, and the x-amzn-RequestId and x-amzn-ErrorType headers. An err
// that is not (and does not wrap) an *Error is written as InternalFailure 500
// and its text is not revealed.
func WriteJSONError(w http.ResponseWriter, contentType, requestID string, err error) {
	e := JSONError(err)
	body, merr := json.Marshal(jsonErrorBody{Type: e.Code, Message: e.Message})
	if merr != nil { // impossible for two strings
		body = []byte(`{"__type":"InternalFailure"}`)
	}
	w.Header()["X-Amzn-Errortype"] = []string{e.Code}
	writeJSON(w, contentType, requestID, statusOf(e), body)
}

// WriteJSONResult writes a successful AWS JSON-protocol reply: result
// marshalled with encoding/json ("{}" for nil), status 200, Content-Type
// contentType and the x-amzn-RequestId header. If result cannot be
// marshalled, an InternalFailure error is written instead.
func WriteJSONResult(w http.ResponseWriter, contentType, requestID string, result any) {
	body := []byte("{}")
	if !isNil(result) {
		b, err := json.Marshal(result)
		if err != nil {
			WriteJSONError(w, contentType, requestID, err)
			return
		}
		body = b
	}
	writeJSON(w, contentType, requestID, http.StatusOK, body)
}

func writeJSON(w http.ResponseWriter, contentType, requestID string, status int, body []byte) {
	h := w.Header()
	h["Content-Type"] = []string{contentType}
	h["Content-Length"] = []string{strconv.Itoa(len(body))}
	if requestID != "" {
		h[canonicalIDHeader("x-amzn-RequestId")] = []string{requestID}
	}
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// EpochTime is a timestamp as the AWS JSON protocols send it: a number of
// seconds since the Unix epoch, with milliseconds (1700000000.123). Mark
// fields `json:",omitzero"` to leave out the zero time.
type EpochTime time.Time

// IsZero reports whether t is the zero time.
func (t EpochTime) IsZero() bool { return time.Time(t).IsZero() }

// MarshalJSON writes the seconds since the epoch, to the millisecond.
func (t EpochTime) MarshalJSON() ([]byte, error) {
	ms := time.Time(t).UnixMilli()
	return strconv.AppendFloat(nil, float64(ms)/1000, 'f', -1, 64), nil
}

// UnmarshalJSON reads a number of seconds since the epoch.
func (t *EpochTime) UnmarshalJSON(b []byte) error {
	f, err := strconv.ParseFloat(string(b), 64)
	if err != nil {
		return &json.UnsupportedValueError{Str: string(b)}
	}
	*t = EpochTime(time.UnixMilli(int64(math.Round(f * 1000))).UTC())
	return nil
}
