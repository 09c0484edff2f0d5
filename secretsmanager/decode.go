package secretsmanager

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"
	"unicode/utf8"

	"github.com/keyless-dev/keyless/awsapi"
)

// decodeRequest decodes the JSON 1.1 body of a request into v, a pointer to
// one of the *Input structs. An empty body is an empty object. Anything but
// one JSON object, or a member of the wrong JSON type, is a
// SerializationException that names what was wrong; members the struct does
// not know are ignored, as AWS ignores members newer clients send.
func decodeRequest(body []byte, v any) error {
	body = bytes.TrimSpace(body)
	if len(body) == 0 {
		return nil
	}
	if body[0] != '{' {
		return errSerialization("The request body must be a JSON object, such as {\"SecretId\":\"my-secret\"}.")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(v); err != nil {
		return decodeError(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return errSerialization("The request body must hold one JSON object and nothing after it.")
	}
	return nil
}

// decodeError turns an encoding/json failure into a SerializationException.
func decodeError(err error) *awsapi.Error {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		field := te.Field
		if field == "" {
			field = "the request"
		}
		return errSerialization(fmt.Sprintf("The value of %s must be %s, not a JSON %s.", field, jsonKind(te.Type), te.Value))
	}
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return errSerialization(fmt.Sprintf("The request body is not valid JSON (at byte %d): %s.", se.Offset, strings.TrimPrefix(se.Error(), "json: ")))
	}
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return errSerialization("The request body is not valid JSON: it ends in the middle of a value.")
	}
	// Invalid base64 in SecretBinary, most likely.
	return errSerialization("The request body could not be read: " + strings.TrimPrefix(err.Error(), "json: ") +
		" (SecretBinary must be base64).")
}

// jsonKind names the JSON value a Go type is decoded from.
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

// validator collects the constraint violations of a request, in the words
// of AWS's ValidationException.
type validator struct {
	violations []string
}

func (v *validator) add(member, constraint string) {
	v.violations = append(v.violations, "Value at '"+member+"' failed to satisfy constraint: Member must "+constraint)
}

// required checks that a required member is present.
func (v *validator) required(member string, present bool) {
	if !present {
		v.violations = append(v.violations, "Value null at '"+member+"' failed to satisfy constraint: Member must not be null")
	}
}

// length checks the length in characters of an optional string member.
func (v *validator) length(member string, s *string, min, max int) {
	if s == nil {
		return
	}
	n := utf8.RuneCountInString(*s)
	switch {
	case n < min:
		v.add(member, fmt.Sprintf("have length greater than or equal to %d", min))
	case n > max:
		v.add(member, fmt.Sprintf("have length less than or equal to %d", max))
	}
}

// bytesLength checks the length of an optional blob member (nil: absent).
func (v *validator) bytesLength(member string, b []byte, min, max int) {
	if b == nil {
		return
	}
	switch {
	case len(b) < min:
		v.add(member, fmt.Sprintf("have length greater than or equal to %d", min))
	case len(b) > max:
		v.add(member, fmt.Sprintf("have length less than or equal to %d", max))
	}
}

// count checks the number of items of an optional list member.
func (v *validator) count(member string, n int, present bool, min, max int) {
	if !present {
		return
	}
	switch {
	case n < min:
		v.add(member, fmt.Sprintf("have length greater than or equal to %d", min))
	case n > max:
		v.add(member, fmt.Sprintf("have length less than or equal to %d", max))
	}
}

// between checks the value of an optional integer member.
func (v *validator) between(member string, n *int64, min, max int64) {
	if n == nil {
		return
	}
	switch {
	case *n < min:
		v.add(member, fmt.Sprintf("have value greater than or equal to %d", min))
	case *n > max:
		v.add(member, fmt.Sprintf("have value less than or equal to %d", max))
	}
}

// oneOf checks that an optional member is one of values.
func (v *validator) oneOf(member string, s *string, values ...string) {
	if s == nil {
		return
	}
	for _, x := range values {
		if *s == x {
			return
		}
	}
	v.add(member, "satisfy enum value set: ["+strings.Join(values, ", ")+"]")
}

// tags checks a list of tags.
func (v *validator) tags(member string, tags []tagJSON, present bool) {
	v.count(member, len(tags), present, 0, maxTags)
	for i, t := range tags {
		m := fmt.Sprintf("%s.%d.member", member, i+1)
		v.required(m+".key", t.Key != nil)
		v.length(m+".key", t.Key, 1, 128)
		v.length(m+".value", t.Value, 0, 256)
	}
}

// err is the ValidationException of the violations found, or nil.
func (v *validator) err() error {
	if len(v.violations) == 0 {
		return nil
	}
	return validationError(v.violations)
}
