package awsapi

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"net/http"
	"reflect"
	"strconv"
)

// Query-protocol XML namespaces.
const (
	// NamespaceSTS is the XML namespace of STS replies (version 2011-06-15).
	NamespaceSTS = "https://sts.amazonaws.com/doc/2011-06-15/"
	// NamespaceIAM is the XML namespace of IAM replies (version 2010-05-08).
	NamespaceIAM = "https://iam.amazonaws.com/doc/2010-05-08/"
	// NamespaceS3 is the XML namespace of S3 replies.
	NamespaceS3 = "http://s3.amazonaws.com/doc/2006-03-01/"
)

// responseMetadata is the trailer of every Query-protocol reply.
type responseMetadata struct {
	RequestID string `xml:"RequestId"`
}

// WriteQueryResult writes a successful Query-protocol reply:
//
//	<{action}Response xmlns="{namespace}">
//	  <{action}Result>…result…</{action}Result>
//	  <ResponseMetadata><RequestId>{requestID}</RequestId></ResponseMetadata>
//	</{action}Response>
//
// with Content-Type text/xml and the x-amzn-RequestId header. result is
// marshalled with encoding/xml as the content of the Result element (it
// should not carry an XMLName field); a nil result (or nil pointer) omits the
// Result element, as AWS does for actions without output such as DeleteRole.
// If result cannot be marshalled, or action is not an operation name
// (letters and digits), an InternalFailure error is written instead.
func WriteQueryResult(w http.ResponseWriter, namespace, action, requestID string, result any) {
	body, err := encodeQueryResult(namespace, action, requestID, result)
	if err != nil {
		WriteQueryError(w, namespace, requestID, err)
		return
	}
	writeXML(w, "text/xml", "x-amzn-RequestId", requestID, http.StatusOK, body)
}

func encodeQueryResult(namespace, action, requestID string, result any) ([]byte, error) {
	if !isActionName(action) {
		return nil, fmt.Errorf("awsapi: encode response: invalid action name %q", action)
	}
	var buf bytes.Buffer
	enc := xml.NewEncoder(&buf)
	root := xml.StartElement{
		Name: xml.Name{Local: action + "Response"},
		Attr: []xml.Attr{{Name: xml.Name{Local: "xmlns"}, Value: namespace}},
	}
	if err := enc.EncodeToken(root); err != nil {
		return nil, fmt.Errorf("awsapi: encode %s response: %w", action, err)
	}
	if !isNil(result) {
		start := xml.StartElement{Name: xml.Name{Local: action + "Result"}}
		if err := enc.EncodeElement(result, start); err != nil {
			return nil, fmt.Errorf("awsapi: encode %s result: %w", action, err)
		}
	}
	if err := enc.EncodeElement(responseMetadata{RequestID: requestID}, xml.StartElement{Name: xml.Name{Local: "ResponseMetadata"}}); err != nil {
		return nil, fmt.Errorf("awsapi: encode %s metadata: %w", action, err)
	}
	if err := enc.EncodeToken(root.End()); err != nil {
		return nil, fmt.Errorf("awsapi: encode %s response: %w", action, err)
	}
	if err := enc.Flush(); err != nil {
		return nil, fmt.Errorf("awsapi: encode %s response: %w", action, err)
	}
	return buf.Bytes(), nil
}

// isActionName reports whether action is a plausible operation name
// (ASCII letters and digits), so that it is safe as an XML element name.
func isActionName(action string) bool {
	if action == "" || len(action) > 128 {
		return false
	}
	for i := 0; i < len(action); i++ {
		c := action[i]
		if !('A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' && i > 0) {
			return false
		}
	}
	return true
}

func isNil(v any) bool {
	if v == nil {
		return true
	}
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Pointer, reflect.Interface, reflect.Map, reflect.Slice:
		return rv.IsNil()
	}
	return false
}

// queryErrorResponse is the Query-protocol error envelope.
type queryErrorResponse struct {
	XMLName   xml.Name `xml:"ErrorResponse"`
	Xmlns     string   `xml:"xmlns,attr"`
	Error     queryErrorDetail
	RequestID string `xml:"RequestId"`
}

type queryErrorDetail struct {
	Type    string
	Code    string
	Message string
}

// WriteQueryError writes a Query-protocol error reply:
//
//	<ErrorResponse xmlns="{namespace}">
//	  <Error><Type>Sender|Receiver</Type><Code>…</Code><Message>…</Message></Error>
//	  <RequestId>…</RequestId>
//	</ErrorResponse>
//
// with the error's HTTP status, Content-Type text/xml and x-amzn-RequestId.
// An err that is not (and does not wrap) an *Error is written as
// InternalFailure 500 and its text is not revealed.
func WriteQueryError(w http.ResponseWriter, namespace, requestID string, err error) {
	e := AsError(err)
	typ := "Receiver"
	if e.Sender {
		typ = "Sender"
	}
	var buf bytes.Buffer
	// Marshalling a struct of strings cannot fail.
	_ = xml.NewEncoder(&buf).Encode(queryErrorResponse{
		Xmlns:     namespace,
		Error:     queryErrorDetail{Type: typ, Code: e.Code, Message: e.Message},
		RequestID: requestID,
	})
	writeXML(w, "text/xml", "x-amzn-RequestId", requestID, statusOf(e), buf.Bytes())
}

// restError is the REST-XML (S3) error body.
type restError struct {
	XMLName   xml.Name `xml:"Error"`
	Code      string
	Message   string
	Resource  string `xml:",omitempty"`
	RequestID string `xml:"RequestId"`
}

// WriteRESTError writes an S3-style REST-XML error reply:
//
//	<?xml version="1.0" encoding="UTF-8"?>
//	<Error><Code>…</Code><Message>…</Message><Resource>…</Resource><RequestId>…</RequestId></Error>
//
// with the error's HTTP status, Content-Type application/xml and the
// x-amz-request-id header. resource may be empty. Non-*Error errors become
// InternalFailure 500 (S3 calls it InternalError) without their text.
// Callers answering HEAD requests should write only the status instead.
func WriteRESTError(w http.ResponseWriter, requestID, resource string, err error) {
	e := AsError(err)
	code := e.Code
	if code == "InternalFailure" {
		code = "InternalError"
	}
	var buf bytes.Buffer
	buf.WriteString(xml.Header)
	_ = xml.NewEncoder(&buf).Encode(restError{Code: code, Message: e.Message, Resource: resource, RequestID: requestID})
	writeXML(w, "application/xml", "x-amz-request-id", requestID, statusOf(e), buf.Bytes())
}

func statusOf(e *Error) int {
	if e.Status < 100 || e.Status > 599 {
		return http.StatusInternalServerError
	}
	return e.Status
}

func writeXML(w http.ResponseWriter, contentType, idHeader, requestID string, status int, body []byte) {
	h := w.Header()
	h.Set("Content-Type", contentType)
	h.Set("Content-Length", strconv.Itoa(len(body)))
	if requestID != "" {
		h.Set(idHeader, requestID)
	}
	w.WriteHeader(status)
	_, _ = w.Write(body)
}
