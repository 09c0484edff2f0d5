package policy

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
)

// member is one name/value pair of a JSON object, in document order.
type member struct {
	key string
	val json.RawMessage
	off int // byte offset of val in the whole document
}

var errNotObject = errors.New("not a JSON object")

// objectMembers decodes a JSON object keeping member order and offsets; base is the
// offset of raw in the whole document. Duplicate names are an error.
func objectMembers(raw []byte, base int) ([]member, error) {
	raw, lead := trimLeft(raw)
	if len(raw) == 0 || raw[0] != '{' {
		return nil, errNotObject
	}
	base += lead
	dec := json.NewDecoder(bytes.NewReader(raw))
	if _, err := dec.Token(); err != nil {
		return nil, err
	}
	var out []member
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, err
		}
		key, _ := tok.(string)
		for _, m := range out {
			if m.key == key {
				return nil, errorf("duplicate element %q: AWS would keep only the last one and silently drop the other; merge them into one", key)
			}
		}
		off := skipSep(raw, int(dec.InputOffset()))
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, err
		}
		out = append(out, member{key: key, val: v, off: base + off})
	}
	if _, err := dec.Token(); err != nil {
		return nil, err
	}
	return out, nil
}

// arrayElements decodes a JSON array keeping element offsets.
func arrayElements(raw []byte, base int) ([]member, error) {
	raw, lead := trimLeft(raw)
	if len(raw) == 0 || raw[0] != '[' {
		return nil, errors.New("not a JSON array")
	}
	base += lead
	dec := json.NewDecoder(bytes.NewReader(raw))
	if _, err := dec.Token(); err != nil {
		return nil, err
	}
	var out []member
	for dec.More() {
		off := skipSep(raw, int(dec.InputOffset()))
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, err
		}
		out = append(out, member{val: v, off: base + off})
	}
	if _, err := dec.Token(); err != nil {
		return nil, err
	}
	return out, nil
}

func trimLeft(raw []byte) ([]byte, int) {
	n := 0
	for n < len(raw) && isSpace(raw[n]) {
		n++
	}
	return raw[n:], n
}

// skipSep skips JSON whitespace, ':' and ',' from off.
func skipSep(raw []byte, off int) int {
	for off < len(raw) && (isSpace(raw[off]) || raw[off] == ':' || raw[off] == ',') {
		off++
	}
	return off
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// kindOf returns the JSON type of raw: "string", "array", "object", "number",
// "boolean" or "null".
func kindOf(raw []byte) string {
	raw, _ = trimLeft(raw)
	if len(raw) == 0 {
		return "empty"
	}
	switch raw[0] {
	case '"':
		return "string"
	case '[':
		return "array"
	case '{':
		return "object"
	case 't', 'f':
		return "boolean"
	case 'n':
		return "null"
	}
	return "number"
}

// stringOrList decodes a string or a non-empty array of strings.
func stringOrList(raw []byte) ([]string, error) {
	switch kindOf(raw) {
	case "string":
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, err
		}
		return []string{s}, nil
	case "array":
		var list []json.RawMessage
		if err := json.Unmarshal(raw, &list); err != nil {
			return nil, err
		}
		if len(list) == 0 {
			return nil, errors.New("must not be an empty list")
		}
		out := make([]string, 0, len(list))
		for i, el := range list {
			if kindOf(el) != "string" {
				return nil, fmt.Errorf("element %d must be a string, not a %s", i, kindOf(el))
			}
			var s string
			if err := json.Unmarshal(el, &s); err != nil {
				return nil, err
			}
			out = append(out, s)
		}
		return out, nil
	}
	return nil, fmt.Errorf("must be a string or a list of strings, not a %s", kindOf(raw))
}

// scalarOrList decodes a condition value: a string, number or boolean, or a
// non-empty array of them, as strings (numbers keep their literal text).
func scalarOrList(raw []byte) ([]string, error) {
	one := func(el []byte) (string, error) {
		switch kindOf(el) {
		case "string":
			var s string
			err := json.Unmarshal(el, &s)
			return s, err
		case "number":
			var n json.Number
			err := json.Unmarshal(el, &n)
			return n.String(), err
		case "boolean":
			var b bool
			err := json.Unmarshal(el, &b)
			return strconv.FormatBool(b), err
		}
		return "", fmt.Errorf("must be a string, number or boolean, not a %s", kindOf(el))
	}
	if kindOf(raw) == "array" {
		var list []json.RawMessage
		if err := json.Unmarshal(raw, &list); err != nil {
			return nil, err
		}
		if len(list) == 0 {
			return nil, errors.New("must not be an empty list")
		}
		out := make([]string, 0, len(list))
		for _, el := range list {
			s, err := one(el)
			if err != nil {
				return nil, err
			}
			out = append(out, s)
		}
		return out, nil
	}
	s, err := one(raw)
	if err != nil {
		return nil, err
	}
	return []string{s}, nil
}

// lineCol converts a byte offset into a 1-based line and column.
func lineCol(doc []byte, off int) (line, col int) {
	if off > len(doc) {
		off = len(doc)
	}
	line, col = 1, 1
	for _, c := range doc[:off] {
		if c == '\n' {
			line++
			col = 1
		} else {
			col++
		}
	}
	return line, col
}
