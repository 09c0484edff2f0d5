package oidc

// validJSON reports whether b is one valid JSON value with optional
// surrounding whitespace: exactly what encoding/json's Valid accepts,
// nesting limit (10000) included, and like it without checking that strings
// are valid UTF-8. It is Valid's grammar written as a loop over the bytes
// instead of a state function per byte, which made json.Valid the largest
// non-cryptographic cost of a verification; FuzzValidJSON and
// TestValidJSON compare the two.
func validJSON(b []byte) bool {
	// inObject has bit d set when the container at depth d (from 0) is an
	// object rather than an array.
	var inObject [maxJSONDepth/64 + 1]uint64
	depth := 0
	i := skipSpace(b, 0)
	const (
		value = iota // a value must come next
		after        // a value just ended
		name         // a member name must come next
	)
	state := value
	for {
		switch state {
		case value:
			if i >= len(b) {
				return false
			}
			switch c := b[i]; {
			case c == '{' || c == '[':
				if depth == maxJSONDepth {
					return false
				}
				w, bit := depth/64, uint64(1)<<(depth%64)
				if c == '{' {
					inObject[w] |= bit
				} else {
					inObject[w] &^= bit
				}
				depth++
				i = skipSpace(b, i+1)
				if i < len(b) && b[i] == c+2 { // '}' or ']'
					depth--
					i++
					state = after
				} else if c == '{' {
					state = name
				}
				continue
			case c == '"':
				i = scanJSONString(b, i)
			case c == 't':
				i = scanLiteral(b, i, "true")
			case c == 'f':
				i = scanLiteral(b, i, "false")
			case c == 'n':
				i = scanLiteral(b, i, "null")
			case c == '-' || '0' <= c && c <= '9':
				i = scanNumber(b, i)
			default:
				return false
			}
			if i < 0 {
				return false
			}
			state = after
		case after:
			i = skipSpace(b, i)
			if depth == 0 {
				return i == len(b)
			}
			if i >= len(b) {
				return false
			}
			d := depth - 1
			obj := inObject[d/64]&(1<<(d%64)) != 0
			switch c := b[i]; {
			case c == ',':
				i = skipSpace(b, i+1)
				if obj {
					state = name
				} else {
					state = value
				}
			case obj && c == '}' || !obj && c == ']':
				depth--
				i++
			default:
				return false
			}
		case name:
			if i >= len(b) || b[i] != '"' {
				return false
			}
			if i = scanJSONString(b, i); i < 0 {
				return false
			}
			i = skipSpace(b, i)
			if i >= len(b) || b[i] != ':' {
				return false
			}
			i = skipSpace(b, i+1)
			state = value
		}
	}
}

// maxJSONDepth is encoding/json's maxNestingDepth.
const maxJSONDepth = 10000

// jsonStringPlain[c] is true for the bytes that stand for themselves inside a
// JSON string: all but '"', '\\' and the control characters below 0x20.
var jsonStringPlain = func() (t [256]bool) {
	for c := 0x20; c < 256; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// scanJSONString returns the index just past the string starting at b[i]
// (a '"'), or -1 if it is not a valid string.
func scanJSONString(b []byte, i int) int {
	j := i + 1
	for {
		for j < len(b) && jsonStringPlain[b[j]] {
			j++
		}
		if j >= len(b) {
			return -1
		}
		switch b[j] {
		case '"':
			return j + 1
		case '\\':
			if j+1 >= len(b) {
				return -1
			}
			switch b[j+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				j += 2
			case 'u':
				if j+6 > len(b) {
					return -1
				}
				for _, h := range b[j+2 : j+6] {
					if !('0' <= h && h <= '9' || 'a' <= h && h <= 'f' || 'A' <= h && h <= 'F') {
						return -1
					}
				}
				j += 6
			default:
				return -1
			}
		default: // a control character
			return -1
		}
	}
}

// scanLiteral returns the index just past lit at b[i], or -1.
func scanLiteral(b []byte, i int, lit string) int {
	if len(b)-i < len(lit) || string(b[i:i+len(lit)]) != lit {
		return -1
	}
	return i + len(lit)
}

// scanNumber returns the index just past the number starting at b[i] ('-' or
// a digit), or -1 if what starts there is not a JSON number. What follows the
// number is for the caller to judge.
func scanNumber(b []byte, i int) int {
	if b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && '1' <= b[i] && b[i] <= '9':
		i = skipDigits(b, i+1)
	default:
		return -1
	}
	if i < len(b) && b[i] == '.' {
		j := skipDigits(b, i+1)
		if j == i+1 {
			return -1
		}
		i = j
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		j := skipDigits(b, i)
		if j == i {
			return -1
		}
		i = j
	}
	return i
}

func skipDigits(b []byte, i int) int {
	for i < len(b) && '0' <= b[i] && b[i] <= '9' {
		i++
	}
	return i
}
