package policy

import "strings"

// elemKind is the kind of one element of a compiled pattern.
type elemKind uint8

const (
	elemLit elemKind = iota // literal text
	elemOne                 // "?" wildcard: exactly one character
	elemVar                 // policy variable ${key} or ${key, 'default'}
)

// elem is one element of a pattern chunk.
type elem struct {
	kind   elemKind
	text   string // literal text, or the lower-cased context key of a variable
	def    string // default value of a variable
	hasDef bool
}

// parseVariable parses the text between "${" and "}". It returns a literal element
// for the escapes ${*}, ${?} and ${$}, a variable element otherwise, and false when
// the text is not a valid variable (it is then kept as literal text).
func parseVariable(inner string) (elem, bool) {
	switch inner {
	case "*", "?", "$":
		return elem{kind: elemLit, text: inner}, true
	}
	key, def, hasDef := inner, "", false
	if i := strings.IndexByte(inner, ','); i >= 0 {
		key = inner[:i]
		d := strings.TrimSpace(inner[i+1:])
		if len(d) < 2 || d[0] != '\'' || d[len(d)-1] != '\'' {
			return elem{}, false
		}
		def, hasDef = d[1:len(d)-1], true
	}
	key = strings.TrimSpace(key)
	if key == "" || strings.ContainsAny(key, " \t${}'") {
		return elem{}, false
	}
	return elem{kind: elemVar, text: strings.ToLower(key), def: def, hasDef: hasDef}, true
}

// resolveVar returns the value of a variable element in ctx: the key's single value,
// else the default. A missing or multivalued key without a default has no value.
func resolveVar(e elem, ctx Context) (string, bool) {
	if v, ok := ctx[e.text]; ok && len(v) == 1 {
		return v[0], true
	}
	if e.hasDef {
		return e.def, true
	}
	return "", false
}

// variableName renders a variable element back as policy text.
func variableName(e elem) string {
	if e.hasDef {
		return "${" + e.text + ", '" + e.def + "'}"
	}
	return "${" + e.text + "}"
}
