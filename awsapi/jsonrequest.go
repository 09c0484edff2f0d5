package awsapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"strings"
)

// JSONRequestDecoder decodes the bodies of AWS JSON-protocol requests (1.0 and
// 1.1) into a service's input structs, refusing what AWS refuses with a
// SerializationException that names what was wrong.
type JSONRequestDecoder struct {
	// Example is a valid request body, shown when a body is not a JSON object.
	Example string
	// UnreadableHint, if set, follows in parentheses the message of a member
	// encoding/json could not read for another reason than its JSON type (such
	// as invalid base64 in a blob member).
	UnreadableHint string
}

// Decode decodes body into v, a pointer to an input struct. An empty body is an
// empty object. Anything but one JSON object, or a member of the wrong JSON
// type, is a SerializationException (HTTP 400); members the struct does not
// know are ignored, as AWS ignores members newer clients send.
func (d JSONRequestDecoder) Decode(body []byte, v any) error {
	body = bytes.TrimSpace(body)
	if len(body) == 0 {
		return nil
	}
	if body[0] != '{' {
		return serializationError(fmt.Sprintf("The request body must be a JSON object, such as %s.", d.Example))
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(v); err != nil {
		return d.decodeError(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return serializationError("The request body must hold one JSON object and nothing after it.")
	}
	return nil
}

// decodeError turns an encoding/json failure into a SerializationException.
func (d JSONRequestDecoder) decodeError(err error) *Error {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		field := te.Field
		if field == "" {
			field = "the request"
		}
		return serializationError(fmt.Sprintf("The value of %s must be %s, not a JSON %s.", field, jsonKind(te.Type), te.Value))
	}
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return serializationError(fmt.Sprintf("The request body is not valid JSON (at byte %d): %s.", se.Offset, strings.TrimPrefix(se.Error(), "json: ")))
	}
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return serializationError("The request body is not valid JSON: it ends in the middle of a value.")
	}
	msg := "The request body could not be read: " + strings.TrimPrefix(err.Error(), "json: ")
	if d.UnreadableHint != "" {
		msg += " (" + d.UnreadableHint + ")"
	}
	return serializationError(msg + ".")
}

func serializationError(message string) *Error {
	return NewError("SerializationException", http.StatusBadRequest, message)
}

// jsonKind names the JSON type that encodes a value of Go type t.
func jsonKind(t reflect.Type) string {
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "an integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Uint8 {
			return "a base64 string"
		}
		return "a list"
	case reflect.Map, reflect.Struct:
		return "an object"
	case reflect.Pointer:
		return jsonKind(t.Elem())
	}
	return "a " + t.String()
}
