package iam

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/keyless-dev/keyless/awsapi"
	"github.com/keyless-dev/keyless/store"
)

// Constraint patterns as IAM's service model writes them (they appear verbatim in
// ValidationError messages), with the Go expression that implements each.
type pattern struct {
	text string
	re   *regexp.Regexp
}

// newPattern compiles a constraint; the result is never modified after init.
func newPattern(text, goRE string) pattern {
	return pattern{text: text, re: regexp.MustCompile(`^(?:` + goRE + `)$`)}
}

// The constraint patterns of the IAM service model.
var (
	patName        = newPattern(`[\w+=,.@-]+`, `[\w+=,.@-]+`)
	patPath        = newPattern(`(\u002F)|(\u002F[\u0021-\u007E]+\u002F)`, `/|/[\x21-\x7E]+/`)
	patPathPrefix  = newPattern(`\u002F[\u0021-\u007F]*`, `/[\x21-\x7F]*`)
	patDescription = newPattern(`[\u0009\u000A\u000D\u0020-\u007E\u00A1-\u00FF]*`, `[\t\n\r\x20-\x7E\x{A1}-\x{FF}]*`)
	patDocument    = newPattern(`[\u0009\u000A\u000D\u0020-\u00FF]+`, `[\t\n\r\x20-\x{FF}]+`)
	patMarker      = newPattern(`[\u0020-\u00FF]+`, `[\x20-\x{FF}]+`)
	patKeyID       = newPattern(`[\w]+`, `[\w]+`)
	patTagKey      = newPattern(`[\p{L}\p{Z}\p{N}_.:/=+\-@]+`, `[\pL\pZ\pN_.:/=+\-@]+`)
	patTagValue    = newPattern(`[\p{L}\p{Z}\p{N}_.:/=+\-@]*`, `[\pL\pZ\pN_.:/=+\-@]*`)
	patVersionID   = newPattern(`v[1-9][0-9]*(\.[A-Za-z0-9-]*)?`, `v[1-9][0-9]*(\.[A-Za-z0-9-]*)?`)
	patThumbprint  = newPattern(`[0-9A-Fa-f]{40}`, `[0-9A-Fa-f]{40}`)
)

// validator collects constraint violations in IAM's wording:
//
//	1 validation error detected: Value 'x' at 'roleName' failed to satisfy constraint: Member must …
type validator struct {
	msgs []string
}

func (v *validator) add(value, field, constraint string) {
	v.msgs = append(v.msgs, fmt.Sprintf("Value %s at '%s' failed to satisfy constraint: Member %s", value, field, constraint))
}

func quoteValue(s string) string { return "'" + s + "'" }

// length checks a string's length in characters.
func (v *validator) length(value, field string, min, max int) bool {
	n := utf8.RuneCountInString(value)
	ok := true
	if n < min {
		v.add(quoteValue(value), field, fmt.Sprintf("must have length greater than or equal to %d", min))
		ok = false
	}
	if max > 0 && n > max {
		v.add(quoteValue(value), field, fmt.Sprintf("must have length less than or equal to %d", max))
		ok = false
	}
	return ok
}

// match checks a string against a pattern.
func (v *validator) match(value, field string, p pattern) bool {
	if !p.re.MatchString(value) {
		v.add(quoteValue(value), field, "must satisfy regular expression pattern: "+p.text)
		return false
	}
	return true
}

// str checks a string parameter: presence (when required), length and pattern.
// It returns the value.
func (v *validator) str(r *request, param, field string, required bool, min, max int, p *pattern) string {
	if !r.has(param) {
		if required {
			v.add("null", field, "must not be null")
		}
		return ""
	}
	val := r.get(param)
	v.length(val, field, min, max)
	if p != nil { // IAM reports every failed constraint, so '' fails length and pattern
		v.match(val, field, *p)
	}
	return val
}

// intRange checks an optional integer parameter; def is returned when absent.
func (v *validator) intRange(r *request, param, field string, min, max, def int) int {
	if !r.has(param) {
		return def
	}
	raw := r.get(param)
	n, err := strconv.Atoi(raw)
	if err != nil {
		v.add(quoteValue(raw), field, "must be a number")
		return def
	}
	if n < min {
		v.add(quoteValue(raw), field, fmt.Sprintf("must have value greater than or equal to %d", min))
	}
	if n > max {
		v.add(quoteValue(raw), field, fmt.Sprintf("must have value less than or equal to %d", max))
	}
	return n
}

// boolean reads an optional boolean parameter.
func (v *validator) boolean(r *request, param, field string) bool {
	if !r.has(param) {
		return false
	}
	switch strings.ToLower(r.get(param)) {
	case "true":
		return true
	case "false":
		return false
	}
	v.add(quoteValue(r.get(param)), field, "must be a boolean")
	return false
}

// enum checks a parameter against a set of values.
func (v *validator) enum(r *request, param, field string, required bool, values ...string) string {
	if !r.has(param) {
		if required {
			v.add("null", field, "must not be null")
		}
		return ""
	}
	val := r.get(param)
	for _, x := range values {
		if val == x {
			return val
		}
	}
	v.add(quoteValue(val), field, "must satisfy enum value set: ["+strings.Join(values, ", ")+"]")
	return val
}

// list checks a list parameter's size and each member's length (and pattern).
func (v *validator) list(r *request, param, field string, max, minLen, maxLen int, p *pattern) []string {
	items := awsapi.Strings(r.params, param)
	if max > 0 && len(items) > max {
		v.add(quoteValue("["+strings.Join(items, ", ")+"]"), field, fmt.Sprintf("must have length less than or equal to %d", max))
	}
	for i, it := range items {
		f := fmt.Sprintf("%s.%d.member", field, i+1)
		if v.length(it, f, minLen, maxLen) && p != nil {
			v.match(it, f, *p)
		}
	}
	return items
}

// tags reads and checks a Tags list.
func (v *validator) tags(r *request) []store.Tag {
	ms := awsapi.Members(r.params, "Tags")
	if len(ms) > 50 {
		v.add("'[…]'", "tags", "must have length less than or equal to 50")
	}
	out := make([]store.Tag, 0, len(ms))
	for i, m := range ms {
		key, hasKey := m["Key"]
		val, hasVal := m["Value"]
		fk := fmt.Sprintf("tags.%d.member.key", i+1)
		fv := fmt.Sprintf("tags.%d.member.value", i+1)
		if !hasKey {
			v.add("null", fk, "must not be null")
		} else if v.length(key, fk, 1, 128) {
			v.match(key, fk, patTagKey)
		}
		if !hasVal {
			v.add("null", fv, "must not be null")
		} else if v.length(val, fv, 0, 256) {
			v.match(val, fv, patTagValue)
		}
		out = append(out, store.Tag{Key: key, Value: val})
	}
	return out
}

// err returns the collected violations as one ValidationError, or nil.
func (v *validator) err() error {
	switch len(v.msgs) {
	case 0:
		return nil
	case 1:
		return awsapi.ValidationError("1 validation error detected: " + v.msgs[0])
	}
	return awsapi.ValidationError(fmt.Sprintf("%d validation errors detected: %s", len(v.msgs), strings.Join(v.msgs, "; ")))
}

// Common parameter readers.

func (v *validator) entityName(r *request, param, field string, required bool, max int) string {
	return v.str(r, param, field, required, 1, max, &patName)
}

func (v *validator) path(r *request, param, field string) string {
	if !r.has(param) {
		return "/"
	}
	return v.str(r, param, field, false, 1, 512, &patPath)
}

func (v *validator) pathPrefix(r *request) string {
	if !r.has("PathPrefix") {
		return "/"
	}
	return v.str(r, "PathPrefix", "pathPrefix", false, 1, 512, &patPathPrefix)
}

func (v *validator) document(r *request, param, field string) string {
	return v.str(r, param, field, true, 1, 131072, &patDocument)
}

func (v *validator) arn(r *request, param, field string) string {
	return v.str(r, param, field, true, 20, 2048, nil)
}

// pageParams reads Marker and MaxItems.
func (v *validator) pageParams(r *request) (marker string, maxItems int) {
	marker = v.str(r, "Marker", "marker", false, 1, 320, &patMarker)
	maxItems = v.intRange(r, "MaxItems", "maxItems", 1, 1000, 100)
	return marker, maxItems
}
