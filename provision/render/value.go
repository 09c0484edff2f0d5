package render

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// Kind is the type of a JSON [Value].
type Kind int

// The kinds of JSON values.
const (
	Null Kind = iota
	Bool
	Number
	String
	Array
	Object
)

// Value is a JSON value that keeps the order of object members, so that a
// rendered policy document reads as keyless wrote it.
type Value struct {
	// Kind is the value's type.
	Kind Kind
	// Text is a string's value, a number as written, or "true" or "false".
	Text string
	// Items are an array's elements.
	Items []Value
	// Fields are an object's members, in document order.
	Fields []Field
}

// Field is a member of a JSON object.
type Field struct {
	// Key is the member's name.
	Key string
	// Value is the member's value.
	Value Value
}

// ParseJSON decodes one JSON value, keeping object members in order. Duplicate
// keys are an error.
func ParseJSON(data []byte) (Value, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	v, err := parseValue(dec)
	if err != nil {
		return Value{}, fmt.Errorf("parse JSON: %w", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return Value{}, fmt.Errorf("parse JSON: data after the value")
	}
	return v, nil
}

func parseValue(dec *json.Decoder) (Value, error) {
	tok, err := dec.Token()
	if err != nil {
		return Value{}, err
	}
	switch t := tok.(type) {
	case nil:
		return Value{Kind: Null}, nil
	case bool:
		return Value{Kind: Bool, Text: fmt.Sprint(t)}, nil
	case json.Number:
		return Value{Kind: Number, Text: t.String()}, nil
	case string:
		return Value{Kind: String, Text: t}, nil
	case json.Delim:
		switch t {
		case '[':
			v := Value{Kind: Array, Items: []Value{}}
			for dec.More() {
				item, err := parseValue(dec)
				if err != nil {
					return Value{}, err
				}
				v.Items = append(v.Items, item)
			}
			_, err := dec.Token() // ]
			return v, err
		case '{':
			v := Value{Kind: Object, Fields: []Field{}}
			seen := map[string]bool{}
			for dec.More() {
				kt, err := dec.Token()
				if err != nil {
					return Value{}, err
				}
				key, _ := kt.(string)
				if seen[key] {
					return Value{}, fmt.Errorf("duplicate key %q", key)
				}
				seen[key] = true
				val, err := parseValue(dec)
				if err != nil {
					return Value{}, err
				}
				v.Fields = append(v.Fields, Field{Key: key, Value: val})
			}
			_, err := dec.Token() // }
			return v, err
		}
	}
	return Value{}, fmt.Errorf("unexpected token %v", tok)
}

// Get returns the value of an object's member key, and whether it has one.
func (v Value) Get(key string) (Value, bool) {
	for _, f := range v.Fields {
		if f.Key == key {
			return f.Value, true
		}
	}
	return Value{}, false
}

// Strings returns the strings of a string or an array of strings, and whether
// v is one of those.
func (v Value) Strings() ([]string, bool) {
	switch v.Kind {
	case String:
		return []string{v.Text}, true
	case Array:
		out := make([]string, 0, len(v.Items))
		for _, it := range v.Items {
			if it.Kind != String {
				return nil, false
			}
			out = append(out, it.Text)
		}
		return out, true
	}
	return nil, false
}
