package oidc

import (
	"bytes"
	"encoding/json"
	"iter"
	"unicode/utf8"
)

// This file walks JSON text that json.Valid has already accepted, without
// decoding it: Verify needs only a handful of claims, and decoding every claim
// into a map[string]any cost about a sixth of a token exchange. Because the
// input is known to be valid, the walker only has to find where tokens end;
// it never has to diagnose errors. Names and strings are unescaped exactly as
// encoding/json does (through encoding/json itself whenever an escape or an
// invalid UTF-8 byte makes the text differ from the value), and names match
// exactly (case-sensitively), as map keys do.

// members yields the name token (quotes included) and the raw value of each
// member of the JSON object obj, in document order. obj must be valid JSON
// whose first non-space byte is '{'.
func members(obj []byte) iter.Seq2[[]byte, []byte] {
	return func(yield func(name, value []byte) bool) {
		i := skipSpace(obj, 0) + 1 // past '{'
		for {
			i = skipSpace(obj, i)
			if i >= len(obj) || obj[i] == '}' {
				return
			}
			end := skipString(obj, i)
			name := obj[i:end]
			i = skipSpace(obj, end) + 1 // past ':'
			i = skipSpace(obj, i)
			end = skipValue(obj, i)
			if !yield(name, obj[i:end]) {
				return
			}
			i = skipSpace(obj, end)
			if i < len(obj) && obj[i] == ',' {
				i++
			}
		}
	}
}

// elements yields the raw value of each element of the JSON array arr, which
// must be valid JSON starting with '['.
func elements(arr []byte) iter.Seq[[]byte] {
	return func(yield func(value []byte) bool) {
		i := 1 // past '['
		for {
			i = skipSpace(arr, i)
			if i >= len(arr) || arr[i] == ']' {
				return
			}
			end := skipValue(arr, i)
			if !yield(arr[i:end]) {
				return
			}
			i = skipSpace(arr, end)
			if i < len(arr) && arr[i] == ',' {
				i++
			}
		}
	}
}

func skipSpace(b []byte, i int) int {
	for i < len(b) {
		switch b[i] {
		case ' ', '\t', '\r', '\n':
			i++
		default:
			return i
		}
	}
	return i
}

// skipString returns the index just past the string token starting at b[i].
func skipString(b []byte, i int) int {
	for j := i + 1; j < len(b); j++ {
		switch b[j] {
		case '\\':
			j++ // the escaped byte cannot end the string
		case '"':
			return j + 1
		}
	}
	return len(b)
}

// skipValue returns the index just past the value starting at b[i].
func skipValue(b []byte, i int) int {
	if i >= len(b) {
		return i
	}
	switch b[i] {
	case '"':
		return skipString(b, i)
	case '{', '[':
		depth := 0
		for j := i; j < len(b); {
			switch b[j] {
			case '"':
				j = skipString(b, j)
				continue
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return j + 1
				}
			}
			j++
		}
		return len(b)
	}
	// A number or a literal (true, false, null).
	j := i
	for j < len(b) {
		switch b[j] {
		case ',', '}', ']', ' ', '\t', '\r', '\n':
			return j
		}
		j++
	}
	return j
}

// plain reports whether the contents of a string token (without its quotes)
// are the string's value: no escapes and valid UTF-8.
func plain(inner []byte) bool {
	return bytes.IndexByte(inner, '\\') < 0 && utf8.Valid(inner)
}

// unquoteKey returns a member name's value. ok is false only if the token
// does not decode, which cannot happen for text json.Valid accepted.
func unquoteKey(tok []byte) (name []byte, ok bool) {
	inner := tok[1 : len(tok)-1]
	if plain(inner) {
		return inner, true
	}
	var s string
	if err := json.Unmarshal(tok, &s); err != nil {
		return nil, false
	}
	return []byte(s), true
}

// unquote returns the value of a string token (as encoding/json decodes it,
// invalid UTF-8 becoming U+FFFD).
func unquote(tok []byte) string {
	inner := tok[1 : len(tok)-1]
	if plain(inner) {
		return string(inner)
	}
	var s string
	_ = json.Unmarshal(tok, &s)
	return s
}
