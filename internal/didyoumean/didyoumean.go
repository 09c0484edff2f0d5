// Package didyoumean finds the known word a mistyped one was meant to be,
// for error messages that name unknown keys, types and templates.
package didyoumean

import "strings"

// Nearest returns the word of known nearest to s (s lower-cased) within two
// edits (insertions, deletions, substitutions), the first of them on a tie;
// else, for s of four or more characters, the first known word s begins; else
// "".
func Nearest(s string, known []string) string {
	best, bestD := "", 3
	for _, k := range known {
		if d := distance(strings.ToLower(s), k); d < bestD {
			best, bestD = k, d
		}
	}
	if best == "" && len(s) >= 4 {
		for _, k := range known {
			if strings.HasPrefix(k, s) {
				return k
			}
		}
	}
	return best
}

// distance is the Levenshtein distance of a and b, or 64 when either is
// longer than 64 bytes (no key is; the bound keeps the cost fixed).
func distance(a, b string) int {
	if len(a) > 64 || len(b) > 64 {
		return 64
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			c := prev[j-1]
			if a[i-1] != b[j-1] {
				c++
			}
			cur[j] = min(c, prev[j]+1, cur[j-1]+1)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
