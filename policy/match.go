package policy

import (
	"strings"
	"unicode/utf8"
)

// pattern is a compiled string pattern: literal text, "*" and "?" wildcards (when
// enabled) and policy variables (when enabled). Chunks are the parts between "*"
// wildcards.
type pattern struct {
	raw     string
	chunks  [][]elem
	lit     string // the text when literal
	literal bool   // no wildcard and no variable
	any     bool   // exactly "*"
	vars    bool   // holds at least one variable
}

// compilePattern compiles s. With vars, "${…}" is a variable or escape; with
// wildcards, "*" and "?" are wildcards.
func compilePattern(s string, vars, wildcards bool) pattern {
	p := pattern{raw: s}
	var chunk []elem
	var lit strings.Builder
	flush := func() {
		if lit.Len() > 0 {
			chunk = append(chunk, elem{kind: elemLit, text: lit.String()})
			lit.Reset()
		}
	}
	for i := 0; i < len(s); {
		c := s[i]
		if vars && c == '$' && i+1 < len(s) && s[i+1] == '{' {
			if j := strings.IndexByte(s[i+2:], '}'); j >= 0 {
				if e, ok := parseVariable(s[i+2 : i+2+j]); ok {
					if e.kind == elemLit {
						lit.WriteString(e.text)
					} else {
						flush()
						chunk = append(chunk, e)
						p.vars = true
					}
					i += j + 3
					continue
				}
			}
		}
		if wildcards && c == '*' {
			flush()
			p.chunks = append(p.chunks, chunk)
			chunk = nil
			i++
			continue
		}
		if wildcards && c == '?' {
			flush()
			chunk = append(chunk, elem{kind: elemOne})
			i++
			continue
		}
		lit.WriteByte(c)
		i++
	}
	flush()
	p.chunks = append(p.chunks, chunk)
	if len(p.chunks) == 1 && !p.vars {
		p.literal = true
		for _, e := range p.chunks[0] {
			if e.kind != elemLit {
				p.literal = false
			}
		}
		if p.literal {
			for _, e := range p.chunks[0] {
				p.lit += e.text
			}
		}
	}
	p.any = len(p.chunks) == 2 && len(p.chunks[0]) == 0 && len(p.chunks[1]) == 0
	return p
}

// hasWildcard reports whether the pattern has a "*" or "?" wildcard.
func (p *pattern) hasWildcard() bool {
	if len(p.chunks) > 1 {
		return true
	}
	for _, e := range p.chunks[0] {
		if e.kind == elemOne {
			return true
		}
	}
	return false
}

// resolve substitutes the variables of p from ctx. It returns the unresolvable
// variable's name when one has no value.
func (p *pattern) resolve(ctx Context) ([][]elem, string) {
	out := make([][]elem, len(p.chunks))
	for i, ch := range p.chunks {
		nc := make([]elem, len(ch))
		for j, e := range ch {
			if e.kind == elemVar {
				v, ok := resolveVar(e, ctx)
				if !ok {
					return nil, variableName(e)
				}
				e = elem{kind: elemLit, text: v}
			}
			nc[j] = e
		}
		out[i] = nc
	}
	return out, ""
}

// text returns the pattern's text after variable substitution (wildcards are
// rendered back as "*" and "?"), or the name of a variable without a value.
func (p *pattern) text(ctx Context) (string, string) {
	if p.literal {
		return p.lit, ""
	}
	chunks := p.chunks
	if p.vars {
		var missing string
		if chunks, missing = p.resolve(ctx); missing != "" {
			return "", missing
		}
	}
	var b strings.Builder
	for i, ch := range chunks {
		if i > 0 {
			b.WriteByte('*')
		}
		for _, e := range ch {
			if e.kind == elemOne {
				b.WriteByte('?')
			} else {
				b.WriteString(e.text)
			}
		}
	}
	return b.String(), ""
}

// match reports whether s matches the pattern, folding ASCII case when fold is set.
// missing names a variable without a value (the pattern then matches nothing).
func (p *pattern) match(s string, fold bool, ctx Context) (ok bool, missing string) {
	if p.any {
		return true, ""
	}
	if p.literal {
		if fold {
			return strings.EqualFold(s, p.lit), ""
		}
		return s == p.lit, ""
	}
	chunks := p.chunks
	if p.vars {
		if chunks, missing = p.resolve(ctx); missing != "" {
			return false, missing
		}
	}
	return globChunks(chunks, s, fold), ""
}

// globChunks matches s against chunks separated by "*". Matching the middle chunks
// at their leftmost position is optimal because each chunk consumes a determined
// length from a given start.
func globChunks(chunks [][]elem, s string, fold bool) bool {
	if len(chunks) == 1 {
		end, ok := matchChunk(chunks[0], s, 0, fold)
		return ok && end == len(s)
	}
	pos, ok := matchChunk(chunks[0], s, 0, fold)
	if !ok {
		return false
	}
	for _, c := range chunks[1 : len(chunks)-1] {
		found := false
		for start := pos; start <= len(s); start++ {
			if start < len(s) && !utf8.RuneStart(s[start]) {
				continue
			}
			if end, ok := matchChunk(c, s, start, fold); ok {
				pos, found = end, true
				break
			}
		}
		if !found {
			return false
		}
	}
	last := chunks[len(chunks)-1]
	if n, fixed := fixedLen(last); fixed {
		start := len(s) - n
		if start < pos || (start < len(s) && !utf8.RuneStart(s[start])) {
			return false
		}
		end, ok := matchChunk(last, s, start, fold)
		return ok && end == len(s)
	}
	for start := pos; start <= len(s); start++ {
		if start < len(s) && !utf8.RuneStart(s[start]) {
			continue
		}
		if end, ok := matchChunk(last, s, start, fold); ok && end == len(s) {
			return true
		}
	}
	return false
}

// fixedLen returns the byte length of a chunk made of literals only.
func fixedLen(c []elem) (int, bool) {
	n := 0
	for _, e := range c {
		if e.kind != elemLit {
			return 0, false
		}
		n += len(e.text)
	}
	return n, true
}

func matchChunk(c []elem, s string, pos int, fold bool) (int, bool) {
	for _, e := range c {
		switch e.kind {
		case elemLit:
			if len(s)-pos < len(e.text) {
				return 0, false
			}
			part := s[pos : pos+len(e.text)]
			if fold {
				if !strings.EqualFold(part, e.text) {
					return 0, false
				}
			} else if part != e.text {
				return 0, false
			}
			pos += len(e.text)
		case elemOne:
			if pos >= len(s) {
				return 0, false
			}
			_, size := utf8.DecodeRuneInString(s[pos:])
			pos += size
		default:
			return 0, false
		}
	}
	return pos, true
}

// arnPattern is a compiled ARN pattern: when it has the six colon-separated parts
// of an ARN each part is matched separately (wildcards never cross a colon before
// the resource part); otherwise the whole text is matched.
type arnPattern struct {
	whole pattern
	parts [6]pattern
	split bool
}

// compileARN compiles a Resource or Arn* condition pattern.
func compileARN(s string, vars bool) arnPattern {
	a := arnPattern{whole: compilePattern(s, vars, true)}
	if a.whole.any || a.whole.literal {
		return a
	}
	rest := s
	for i := 0; i < 5; i++ {
		j := indexColon(rest, vars)
		if j < 0 {
			return a
		}
		a.parts[i] = compilePattern(rest[:j], vars, true)
		rest = rest[j+1:]
	}
	a.parts[5] = compilePattern(rest, vars, true)
	a.split = true
	return a
}

// indexColon finds the first ':' of s outside "${…}" variables (when vars is set).
func indexColon(s string, vars bool) int {
	for i := 0; i < len(s); i++ {
		switch {
		case s[i] == ':':
			return i
		case vars && s[i] == '$' && i+1 < len(s) && s[i+1] == '{':
			if j := strings.IndexByte(s[i:], '}'); j > 0 {
				i += j
			}
		}
	}
	return -1
}

// match reports whether the ARN s matches; missing names a variable without a value.
func (a *arnPattern) match(s string, ctx Context) (bool, string) {
	if !a.split {
		return a.whole.match(s, false, ctx)
	}
	rest := s
	for i := 0; i < 5; i++ {
		j := strings.IndexByte(rest, ':')
		if j < 0 {
			// Not a six-part ARN: only the resolved pattern text can tell.
			_, missing := a.whole.text(ctx)
			return false, missing
		}
		if ok, missing := a.parts[i].match(rest[:j], false, ctx); !ok {
			return false, missing
		}
		rest = rest[j+1:]
	}
	return a.parts[5].match(rest, false, ctx)
}

// matchesAction reports whether a request action matches one of the patterns
// (action names are case-insensitive).
func matchesAction(pats []pattern, action string) bool {
	for i := range pats {
		if ok, _ := pats[i].match(action, true, nil); ok {
			return true
		}
	}
	return false
}

// matches reports whether the request principal matches this Principal element.
// ptype, when not empty, restricts the comparison to one principal type ("AWS",
// "Federated", "Service" or "CanonicalUser").
func (p *Principal) matches(principal, ptype string) bool {
	if p.Wildcard {
		return true
	}
	for _, v := range p.AWS {
		if v == "*" {
			return true
		}
	}
	if principal == "" || principal == "*" {
		return false
	}
	check := func(t string) bool { return ptype == "" || strings.EqualFold(ptype, t) }
	if check("AWS") {
		for _, v := range p.AWS {
			if awsPrincipalMatches(v, principal) {
				return true
			}
		}
	}
	if check("Federated") && contains(p.Federated, principal) {
		return true
	}
	if check("Service") && contains(p.Service, principal) {
		return true
	}
	if check("CanonicalUser") && contains(p.CanonicalUser, principal) {
		return true
	}
	return false
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// awsPrincipalMatches compares an AWS principal entry with a request principal. An
// account id or an account root ARN matches every principal of that account.
func awsPrincipalMatches(entry, principal string) bool {
	if entry == principal {
		return true
	}
	acct := ""
	if isAccountID(entry) {
		acct = entry
	} else if strings.HasPrefix(entry, "arn:") && strings.HasSuffix(entry, ":root") {
		if a := arnField(entry, 4); isAccountID(a) && arnField(entry, 2) == "iam" && arnField(entry, 5) == "root" {
			acct = a
		}
	}
	if acct == "" {
		return false
	}
	if principal == acct {
		return true
	}
	return strings.HasPrefix(principal, "arn:") && arnField(principal, 4) == acct
}

// arnField returns colon-separated field i (0-based; 5 is the rest) of an ARN.
func arnField(s string, i int) string {
	for n := 0; n < i; n++ {
		j := strings.IndexByte(s, ':')
		if j < 0 {
			return ""
		}
		s = s[j+1:]
	}
	if i < 5 {
		if j := strings.IndexByte(s, ':'); j >= 0 {
			return s[:j]
		}
		return ""
	}
	return s
}
