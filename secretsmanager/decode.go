package secretsmanager

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/keyless-dev/keyless/awsapi"
)

// requestDecoder decodes the JSON 1.1 request bodies (awsapi.JSONRequestDecoder).
var requestDecoder = awsapi.JSONRequestDecoder{Example: `{"SecretId":"my-secret"}`, UnreadableHint: "SecretBinary must be base64"}

// decodeRequest decodes the JSON 1.1 body of a request into v, a pointer to
// one of the *Input structs; see awsapi.JSONRequestDecoder.Decode.
func decodeRequest(body []byte, v any) error { return requestDecoder.Decode(body, v) }

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
