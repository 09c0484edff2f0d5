package cloudformation

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
)

// A resolved template value is one of: string, number (a YAML or JSON number as
// written), bool, nil, []any, or *object. Intrinsic functions are gone by then.

// number is a numeric scalar, kept as written.
type number string

// object is a mapping that keeps its keys in template order, so documents
// render as they are written.
type object struct {
	keys []string
	vals map[string]any
}

// render writes v as compact JSON without HTML escaping; a number that is not a
// JSON number (YAML's 0x1F, .inf) becomes a string.
func render(v any) ([]byte, error) {
	var b bytes.Buffer
	if err := renderTo(&b, v); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

func renderTo(b *bytes.Buffer, v any) error {
	switch v := v.(type) {
	case nil:
		b.WriteString("null")
	case bool:
		b.WriteString(strconv.FormatBool(v))
	case number:
		if json.Valid([]byte(v)) {
			b.WriteString(string(v))
		} else {
			writeString(b, string(v))
		}
	case string:
		writeString(b, v)
	case []any:
		b.WriteByte('[')
		for i, e := range v {
			if i > 0 {
				b.WriteByte(',')
			}
			if err := renderTo(b, e); err != nil {
				return err
			}
		}
		b.WriteByte(']')
	case *object:
		b.WriteByte('{')
		for i, k := range v.keys {
			if i > 0 {
				b.WriteByte(',')
			}
			writeString(b, k)
			b.WriteByte(':')
			if err := renderTo(b, v.vals[k]); err != nil {
				return err
			}
		}
		b.WriteByte('}')
	default:
		return fmt.Errorf("cannot render %T as JSON", v)
	}
	return nil
}

func writeString(b *bytes.Buffer, s string) {
	enc := json.NewEncoder(b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s) // a string always encodes
	b.Truncate(b.Len() - 1)
}

// describe names a value's kind for error messages.
func describe(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "a boolean"
	case number:
		return "a number"
	case string:
		return "a string"
	case []any:
		return "a list"
	case *object:
		return "a mapping"
	}
	return fmt.Sprintf("%T", v)
}

// text converts a scalar to the string CloudFormation would pass.
func text(v any) (string, bool) {
	switch v := v.(type) {
	case string:
		return v, true
	case number:
		return string(v), true
	case bool:
		return strconv.FormatBool(v), true
	}
	return "", false
}
