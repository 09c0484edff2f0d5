package pipe

import (
	"errors"
	"strings"
)

// splitWords splits s into words as a POSIX shell does, without any
// expansion: words are separated by unquoted blanks (space, tab, newline);
// '…' quotes everything up to the next '; "…" quotes everything up to the
// next unescaped ", where a backslash escapes only $ ` " \ and newline; an
// unquoted backslash escapes the next character (and a backslash-newline is
// removed). Empty quotes make an empty word. $VAR, globs and ~ are literal:
// Bitbucket has already expanded $VAR in the pipe's variables.
func splitWords(s string) ([]string, error) {
	var words []string
	var w strings.Builder
	inWord := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch c {
		case ' ', '\t', '\n', '\r':
			if inWord {
				words = append(words, w.String())
				w.Reset()
				inWord = false
			}
		case '\'':
			end := strings.IndexByte(s[i+1:], '\'')
			if end < 0 {
				return nil, errors.New("a ' quote is never closed")
			}
			w.WriteString(s[i+1 : i+1+end])
			i += end + 1
			inWord = true
		case '"':
			i++
			for ; i < len(s) && s[i] != '"'; i++ {
				if s[i] == '\\' && i+1 < len(s) && strings.IndexByte("$`\"\\\n", s[i+1]) >= 0 {
					i++
					if s[i] == '\n' {
						continue
					}
				}
				w.WriteByte(s[i])
			}
			if i >= len(s) {
				return nil, errors.New(`a " quote is never closed`)
			}
			inWord = true
		case '\\':
			if i+1 >= len(s) {
				return nil, errors.New("it ends with a backslash that escapes nothing")
			}
			i++
			if s[i] == '\n' {
				continue
			}
			w.WriteByte(s[i])
			inWord = true
		default:
			w.WriteByte(c)
			inWord = true
		}
	}
	if inWord {
		words = append(words, w.String())
	}
	return words, nil
}
