package explain

import (
	"encoding/json"
	"fmt"
)

// Value is what a check expected or found: data — a string or a list of strings,
// such as a claim, a request value or a condition's policy values — or, when there is
// no such datum, a phrase for people ("no aud claim"). JSON carries data as JSON
// values (a string or an array of strings) and a phrase as a string; the text output
// quotes data and prints a phrase as it is.
type Value struct {
	kind   valueKind
	prefix string // text output only, e.g. "one of "
	s      string
	l      []string
}

type valueKind uint8

const (
	noValue valueKind = iota
	phraseValue
	stringValue
	listValue
)

// phrase is a Value for people, printed as it is.
func phrase(s string) Value { return Value{kind: phraseValue, s: s} }

// str is a string datum.
func str(s string) Value { return Value{kind: stringValue, s: s} }

// list is a list datum.
func list(l []string) Value { return Value{kind: listValue, l: l} }

// oneOf is a list datum the text output introduces with "one of".
func oneOf(l []string) Value { return Value{kind: listValue, prefix: "one of ", l: l} }

// IsZero reports whether v holds nothing.
func (v Value) IsZero() bool { return v.kind == noValue }

// String renders v for the text output: a phrase as it is, a string quoted, a list as
// ["a", "b"].
func (v Value) String() string {
	switch v.kind {
	case phraseValue:
		return v.s
	case stringValue:
		return v.prefix + quote(v.s)
	case listValue:
		return v.prefix + quoteList(v.l)
	}
	return ""
}

// MarshalJSON encodes v as a JSON string or array of strings.
func (v Value) MarshalJSON() ([]byte, error) {
	switch v.kind {
	case listValue:
		if v.l == nil {
			return []byte("[]"), nil
		}
		return json.Marshal(v.l)
	case noValue:
		return []byte("null"), nil
	}
	return json.Marshal(v.s)
}

// UnmarshalJSON decodes a string (as a string datum) or an array of strings.
func (v *Value) UnmarshalJSON(b []byte) error {
	var x any
	if err := json.Unmarshal(b, &x); err != nil {
		return err
	}
	switch t := x.(type) {
	case nil:
		*v = Value{}
	case string:
		*v = str(t)
	case []any:
		l := make([]string, 0, len(t))
		for _, e := range t {
			s, ok := e.(string)
			if !ok {
				return fmt.Errorf("explain value: list element %v is not a string", e)
			}
			l = append(l, s)
		}
		*v = list(l)
	default:
		return fmt.Errorf("explain value: %s is neither a string nor a list of strings", b)
	}
	return nil
}
