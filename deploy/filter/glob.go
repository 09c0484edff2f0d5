package filter

import (
	"fmt"
	"unicode/utf8"
)

// glob is a compiled shell pattern with the semantics of Python's
// fnmatch.fnmatchcase, which is what aws s3 sync uses (on Linux and macOS,
// where fnmatch does not fold case):
//
//   - '*' matches any run of characters, '/' and newlines included;
//   - '?' matches any one character, '/' included;
//   - '[seq]' matches one character in seq and '[!seq]' one not in it; a ']'
//     right after '[' or '[!' is part of seq, 'a-z' is a range, and a
//     reversed range such as 'z-a' is dropped;
//   - a '[' with no closing ']' is a literal '[';
//   - everything else, '\' included, is literal: there is no escape character
//     ("[*]" matches a literal '*').
//
// Characters are Unicode code points; a byte that is not valid UTF-8 stands
// for U+DC80 plus its value, as in Python's surrogateescape decoding of file
// names.
type glob struct {
	toks []token
}

type tokenKind uint8

const (
	tokLiteral tokenKind = iota // one character, r
	tokAny                      // '?', or a set that matches every character ("[!]" after dropping ranges)
	tokStar                     // '*'
	tokSet                      // a bracket expression
	tokNever                    // a set that matches nothing (every range in it was reversed)
)

type token struct {
	kind   tokenKind
	r      rune
	negate bool
	ranges []runeRange // inclusive; single characters are lo == hi
}

type runeRange struct{ lo, hi rune }

func (t *token) matches(c rune) bool {
	switch t.kind {
	case tokLiteral:
		return c == t.r
	case tokAny:
		return true
	case tokSet:
		in := false
		for _, rg := range t.ranges {
			if rg.lo <= c && c <= rg.hi {
				in = true
				break
			}
		}
		return in != t.negate
	}
	return false // tokNever; tokStar is handled by the matcher
}

// decode returns s's characters, with each byte of an invalid UTF-8 sequence
// as U+DC80+byte (Python's surrogateescape).
func decode(s string) []rune {
	out := make([]rune, 0, len(s))
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size <= 1 {
			out = append(out, 0xDC80+rune(s[i]))
			i++
			continue
		}
		out = append(out, r)
		i += size
	}
	return out
}

// compileGlob compiles pattern. It never fails: like fnmatch, it reads an
// unterminated '[' as a literal. unclosedBracket reports where that happened
// (-1 when it did not), for callers that refuse such patterns.
func compileGlob(pattern string) (g glob, unclosedBracket int) {
	pat := decode(pattern)
	unclosedBracket = -1
	n := len(pat)
	for i := 0; i < n; {
		c := pat[i]
		i++
		switch c {
		case '*':
			if len(g.toks) == 0 || g.toks[len(g.toks)-1].kind != tokStar {
				g.toks = append(g.toks, token{kind: tokStar})
			}
		case '?':
			g.toks = append(g.toks, token{kind: tokAny})
		case '[':
			j := closingBracket(pat, i)
			if j < 0 {
				if unclosedBracket < 0 {
					unclosedBracket = i - 1
				}
				g.toks = append(g.toks, token{kind: tokLiteral, r: '['})
				continue
			}
			g.toks = append(g.toks, compileSet(pat, i, j))
			i = j + 1
		default:
			g.toks = append(g.toks, token{kind: tokLiteral, r: c})
		}
	}
	return g, unclosedBracket
}

// closingBracket returns the index of the ']' that closes the bracket
// expression whose '[' is at i-1, or -1 when there is none: a '!' right after
// the '[', and then a ']' right after that, belong to the set.
func closingBracket(pat []rune, i int) int {
	j := i
	if j < len(pat) && pat[j] == '!' {
		j++
	}
	if j < len(pat) && pat[j] == ']' {
		j++
	}
	for j < len(pat) && pat[j] != ']' {
		j++
	}
	if j >= len(pat) {
		return -1
	}
	return j
}

// compileSet compiles the bracket expression pat[i:j] (between '[' and ']')
// the way fnmatch.translate does: split at the hyphens that make ranges,
// drop reversed ranges, and read everything else literally.
func compileSet(pat []rune, i, j int) token {
	stuff := pat[i:j]
	var chunks [][]rune
	if !containsRune(stuff, '-') {
		chunks = [][]rune{stuff}
	} else {
		// A hyphen right after '[' or '[!' is literal; after a range the
		// next hyphen that can start one is two characters on.
		k := i + 1
		if pat[i] == '!' {
			k = i + 2
		}
		for {
			k = indexRune(pat, '-', k, j)
			if k < 0 {
				break
			}
			chunks = append(chunks, pat[i:k])
			i = k + 1
			k += 3
		}
		if chunk := pat[i:j]; len(chunk) > 0 {
			chunks = append(chunks, chunk)
		} else {
			last := len(chunks) - 1
			chunks[last] = append(append([]rune(nil), chunks[last]...), '-')
		}
		// Drop reversed ranges, last first, as fnmatch does: the two
		// endpoints go and the chunks on either side merge.
		for k := len(chunks) - 1; k > 0; k-- {
			prev, cur := chunks[k-1], chunks[k]
			if len(prev) == 0 || len(cur) == 0 {
				continue // unreachable: only the first chunk can become empty
			}
			if prev[len(prev)-1] > cur[0] {
				merged := append(append([]rune(nil), prev[:len(prev)-1]...), cur[1:]...)
				chunks[k-1] = merged
				chunks = append(chunks[:k], chunks[k+1:]...)
			}
		}
	}
	size := 0
	for _, ch := range chunks {
		size += len(ch)
	}
	if size == 0 {
		return token{kind: tokNever}
	}
	t := token{kind: tokSet}
	if chunks[0][0] == '!' {
		if size == 1 {
			return token{kind: tokAny}
		}
		t.negate = true
		chunks[0] = chunks[0][1:]
	}
	for k, ch := range chunks {
		for _, c := range ch {
			t.ranges = append(t.ranges, runeRange{c, c})
		}
		if k > 0 && len(chunks[k-1]) > 0 {
			t.ranges = append(t.ranges, runeRange{chunks[k-1][len(chunks[k-1])-1], ch[0]})
		}
	}
	return t
}

func containsRune(s []rune, r rune) bool {
	return indexRune(s, r, 0, len(s)) >= 0
}

func indexRune(s []rune, r rune, from, to int) int {
	for i := from; i < to && i < len(s); i++ {
		if s[i] == r {
			return i
		}
	}
	return -1
}

// match reports whether g matches all of name.
func (g glob) match(name []rune) bool {
	t := g.toks
	ti, ni := 0, 0
	starT, starN := -1, 0
	for ni < len(name) {
		if ti < len(t) {
			if t[ti].kind == tokStar {
				starT, starN = ti, ni
				ti++
				continue
			}
			if t[ti].matches(name[ni]) {
				ti++
				ni++
				continue
			}
		}
		if starT < 0 {
			return false
		}
		// Backtrack: the last '*' takes one more character.
		starN++
		ti, ni = starT+1, starN
	}
	for ti < len(t) && t[ti].kind == tokStar {
		ti++
	}
	return ti == len(t)
}

// hasMeta reports whether pattern has a character that is special to fnmatch.
func hasMeta(pattern string) bool {
	for _, c := range pattern {
		if c == '*' || c == '?' || c == '[' {
			return true
		}
	}
	return false
}

// badPattern is the error for a pattern keyless refuses.
func badPattern(pattern, why string) error {
	return fmt.Errorf("pattern %q: %s", pattern, why)
}
