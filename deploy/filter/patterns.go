package filter

import (
	"errors"
	"fmt"
	"strings"
)

// Patterns is a comma-separated list of patterns, such as --gzip's.
//
// A pattern containing '/' is matched against the whole path relative to the
// sync's root. A pattern without '/' is matched against the file's base name
// as well, so "index.html" selects index.html at every depth, not only the
// top-level one (unlike --exclude/--include; "*.js" selects every .js file
// either way, since '*' crosses '/').
type Patterns struct {
	list []listPattern
}

type listPattern struct {
	text     string
	glob     glob
	baseName bool // no '/' in text: also match the base name
}

// ParsePatterns parses a comma-separated list such as "*.js,*.css,*.svg".
// Spaces around each pattern are dropped, and a comma inside a [set] is part
// of the set ("[,]" matches a comma). It refuses an empty pattern, a pattern
// beginning with '/' (patterns are relative to the sync's root) and an
// unclosed '[', naming the pattern.
func ParsePatterns(s string) (Patterns, error) {
	var p Patterns
	if strings.TrimSpace(s) == "" {
		return p, errors.New("empty pattern list: give one or more patterns separated by commas, e.g. '*.js,*.css'")
	}
	for _, text := range splitOutsideSets(s, ',') {
		lp, err := compileListPattern(text)
		if err != nil {
			return Patterns{}, err
		}
		p.list = append(p.list, lp)
	}
	return p, nil
}

func compileListPattern(text string) (listPattern, error) {
	text = strings.TrimSpace(text)
	if text == "" {
		return listPattern{}, errors.New("empty pattern in a comma-separated list: remove the extra comma")
	}
	if strings.HasPrefix(text, "/") {
		return listPattern{}, badPattern(text, "patterns are relative to the sync's root and never begin with '/': drop the leading '/'")
	}
	g, at := compileGlob(text)
	if at >= 0 {
		return listPattern{}, badPattern(text, "a '[' is never closed: close the set with ']', or write '[[]' for a literal '['")
	}
	return listPattern{text: text, glob: g, baseName: !strings.Contains(text, "/")}, nil
}

// splitOutsideSets splits s at every sep that is not inside a [set] (a set
// being what fnmatch reads as one: see closingBracket). The characters that
// matter are ASCII, so it works on bytes.
func splitOutsideSets(s string, sep byte) []string {
	var out []string
	start := 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '[':
			if j := closingBracketByte(s, i+1); j >= 0 {
				i = j
			}
		case sep:
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return append(out, s[start:])
}

// closingBracketByte is closingBracket on the bytes of s.
func closingBracketByte(s string, i int) int {
	j := i
	if j < len(s) && s[j] == '!' {
		j++
	}
	if j < len(s) && s[j] == ']' {
		j++
	}
	if k := strings.IndexByte(s[min(j, len(s)):], ']'); k >= 0 {
		return j + k
	}
	return -1
}

// indexOutsideSets is the index in s of the first sep outside a [set], or -1.
func indexOutsideSets(s string, sep byte) int {
	parts := splitOutsideSets(s, sep)
	if len(parts) == 1 {
		return -1
	}
	return len(parts[0])
}

// Match reports whether any pattern matches rel, a slash-separated path
// relative to the sync's root.
func (p Patterns) Match(rel string) bool {
	if len(p.list) == 0 {
		return false
	}
	name := decode(rel)
	base := name
	for i := len(name) - 1; i >= 0; i-- {
		if name[i] == '/' {
			base = name[i+1:]
			break
		}
	}
	for _, lp := range p.list {
		if lp.glob.match(name) || lp.baseName && len(base) != len(name) && lp.glob.match(base) {
			return true
		}
	}
	return false
}

// Empty reports whether p has no patterns.
func (p Patterns) Empty() bool { return len(p.list) == 0 }

// String is the list as it would be written, normalized: "*.js,*.css".
func (p Patterns) String() string {
	texts := make([]string, len(p.list))
	for i, lp := range p.list {
		texts[i] = lp.text
	}
	return strings.Join(texts, ",")
}

// Rules are per-file header values, such as --cache-control's: each rule is
// "PATTERNS=VALUE" or a bare VALUE for every file; for a file the last rule
// that matches wins.
//
// A value may itself contain '=' and ',' ("max-age=31536000,immutable"), so a
// rule is read as a bare value when it has no '=', or when the text before
// its first '=' ends in a Cache-Control directive name (max-age, s-maxage,
// stale-while-revalidate, no-cache, private, …): "max-age=300" and
// "public, max-age=300" apply to every file. Otherwise the text before the
// first '=' is a comma-separated Patterns list and the rest is the value:
// "index.html,*.json=no-cache" and "assets/*=max-age=31536000,immutable".
// "*=VALUE" always means VALUE for every file. An empty VALUE
// ("index.html=") means no header for the files the rule matches.
type Rules struct {
	list []headerRule
}

type headerRule struct {
	patterns Patterns
	all      bool
	value    string
}

// cacheControlDirectives are the directive names of RFC 9111 and RFC 5861 and
// the registered extensions: a rule whose first '=' follows one of them is a
// bare Cache-Control value, not PATTERNS=VALUE.
var cacheControlDirectives = map[string]bool{
	"max-age": true, "s-maxage": true, "max-stale": true, "min-fresh": true,
	"no-cache": true, "no-store": true, "no-transform": true, "only-if-cached": true,
	"must-revalidate": true, "proxy-revalidate": true, "must-understand": true,
	"private": true, "public": true, "immutable": true,
	"stale-while-revalidate": true, "stale-if-error": true,
}

func isDirective(s string) bool {
	return cacheControlDirectives[strings.ToLower(strings.TrimSpace(s))]
}

// Add parses and appends one rule. It refuses an empty rule, a rule with no
// pattern before its '=', a bare value that looks like a pattern (it has '*',
// '?' or '[' but no '='), a Cache-Control directive written where a pattern
// belongs, and bad patterns (see ParsePatterns), saying which.
func (r *Rules) Add(s string) error {
	hr, err := parseRule(s)
	if err != nil {
		return err
	}
	r.list = append(r.list, hr)
	return nil
}

func parseRule(s string) (headerRule, error) {
	if strings.TrimSpace(s) == "" {
		return headerRule{}, errors.New("empty rule: write a VALUE for every file or PATTERNS=VALUE, e.g. 'max-age=300' or 'index.html=no-cache'")
	}
	eq := indexOutsideSets(s, '=')
	if eq < 0 {
		if hasMeta(s) {
			return headerRule{}, fmt.Errorf("rule %q has a pattern but no '=VALUE': write PATTERNS=VALUE, e.g. '%s=no-cache'", s, strings.TrimSpace(s))
		}
		return headerRule{all: true, value: strings.TrimSpace(s)}, nil
	}
	head, value := s[:eq], strings.TrimSpace(s[eq+1:])
	parts := splitOutsideSets(head, ',')
	if isDirective(parts[len(parts)-1]) {
		return headerRule{all: true, value: strings.TrimSpace(s)}, nil
	}
	if strings.TrimSpace(head) == "" {
		return headerRule{}, fmt.Errorf("rule %q has no pattern before '=': write PATTERNS=VALUE, e.g. '*.html=%s', or drop the '=' for a value for every file", s, value)
	}
	var hr headerRule
	for _, text := range parts {
		if isDirective(text) {
			return headerRule{}, fmt.Errorf("rule %q: %q is a Cache-Control directive, not a file pattern: write the patterns first, then '=' and the whole value, e.g. '*.html=no-cache, max-age=0'", s, strings.TrimSpace(text))
		}
		lp, err := compileListPattern(text)
		if err != nil {
			return headerRule{}, fmt.Errorf("rule %q: %w", s, err)
		}
		if lp.text == "*" {
			hr.all = true
		}
		hr.patterns.list = append(hr.patterns.list, lp)
	}
	hr.value = value
	return hr, nil
}

// BareRule returns a rule that Rules.Add reads as value for every file: value
// itself when Add reads it that way, else "*=" + value. It is how a header
// value from elsewhere (aws s3 sync's --cache-control, say) becomes a rule.
func BareRule(value string) string {
	if hr, err := parseRule(value); err == nil && hr.all && hr.patterns.Empty() && hr.value == strings.TrimSpace(value) {
		return value
	}
	return "*=" + value
}

// Empty reports whether r has no rules.
func (r Rules) Empty() bool { return len(r.list) == 0 }

// Value returns the value of the last rule that matches rel, a slash-separated
// path relative to the sync's root, and whether any rule matched. The value
// may be empty: no header for that file.
func (r Rules) Value(rel string) (string, bool) {
	for i := len(r.list) - 1; i >= 0; i-- {
		hr := r.list[i]
		if hr.all || hr.patterns.Match(rel) {
			return hr.value, true
		}
	}
	return "", false
}
