package awsapi

import (
	"errors"
	"testing"
)

// TestJSONRequestDecoder: a JSON-protocol body decodes into an input struct, and
// each kind of bad body is a SerializationException (HTTP 400) saying what was
// wrong.
func TestJSONRequestDecoder(t *testing.T) {
	type input struct {
		Name  *string
		Count *int
		Blob  []byte
	}
	d := JSONRequestDecoder{Example: `{"Name":"x"}`, UnreadableHint: "Blob must be base64"}
	for _, tc := range []struct {
		body, want string // want "" means no error
	}{
		{``, ""},
		{`  {"Name":"a","Count":2,"New":true}  `, ""},
		{`[1]`, `The request body must be a JSON object, such as {"Name":"x"}.`},
		{`{"Count":"two"}`, "The value of Count must be an integer, not a JSON string."},
		{`{"Blob":5}`, "The value of Blob must be a base64 string, not a JSON number."},
		{`{"Name":"a"} {}`, "The request body must hold one JSON object and nothing after it."},
		{`{"Name":`, "The request body is not valid JSON: it ends in the middle of a value."},
		{`{"Name" "a"}`, "The request body is not valid JSON (at byte 9): invalid character '\"' after object key."},
		{`{"Blob":"%%%"}`, "The request body could not be read: illegal base64 data at input byte 0 (Blob must be base64)."},
	} {
		var in input
		err := d.Decode([]byte(tc.body), &in)
		if tc.want == "" {
			if err != nil {
				t.Errorf("Decode(%q) = %v; want no error", tc.body, err)
			}
			continue
		}
		var e *Error
		if !errors.As(err, &e) || e.Code != "SerializationException" || e.Status != 400 || e.Message != tc.want {
			t.Errorf("Decode(%q) = %#v; want SerializationException %q", tc.body, err, tc.want)
		}
	}
}
