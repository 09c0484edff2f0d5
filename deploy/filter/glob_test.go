package filter

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"os/exec"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/keyless-dev/keyless/internal/testenv"
)

func TestGlob(t *testing.T) {
	tests := []struct {
		pattern, name string
		want          bool
	}{
		{"*", "", true},
		{"*", "a/b/c", true},
		{"*.js", "a/b/c.js", true},
		{"*.js", "a/b/c.js.map", false},
		{"a?c", "a/c", true},
		{"a?c", "abbc", false},
		{"[abc]x", "bx", true},
		{"[!abc]x", "bx", false},
		{"[!abc]x", "dx", true},
		{"[a-c]", "b", true},
		{"[a-c]", "-", false},
		{"[a-]", "-", true},
		{"[-a]", "-", true},
		{"[]]", "]", true},
		{"[!]]", "]", false},
		{"[!]]", "x", true},
		{"[]-a]", "_", true},  // ']'..'a' is a range
		{"[z-a]", "m", false}, // reversed range: matches nothing
		{"[z-a]", "z", false},
		{"[!z-a]", "m", true}, // "[!" with nothing left: any character
		{"[abc", "[abc", true},
		{"[abc", "a", false},
		{"a[", "a[", true},
		{"[[]", "[", true},
		{"[*]", "*", true},
		{"[*]", "x", false},
		{`\*`, `\x`, true}, // no escape character: '\' is literal
		{`[\]`, `\`, true},
		{"[^a]", "^", true}, // '^' is not negation
		{"[^a]", "b", false},
		{"**a", "xa", true},
		{"*a*b*c*", "xaxbxcx", true},
		{"*a*b*c*", "xaxcxbx", false},
		{"é?", "éü", true},
		{"[à-ÿ]", "é", true},
		{"a*", "a\nb", true},
		{"a?b", "a\nb", true},
	}
	for _, tt := range tests {
		g, _ := compileGlob(tt.pattern)
		if got := g.match(decode(tt.name)); got != tt.want {
			t.Errorf("fnmatch(%q, %q) = %v, want %v", tt.name, tt.pattern, got, tt.want)
		}
	}
}

// TestGlobMatchesPythonFnmatch compares the matcher with Python's
// fnmatch.fnmatchcase, which aws s3 sync uses, on the edge cases above and on
// thousands of random patterns made of the characters fnmatch treats
// specially.
func TestGlobMatchesPythonFnmatch(t *testing.T) {
	py := testenv.Python3(t)
	rng := rand.New(rand.NewPCG(11, 42))
	const patChars = "ab!^-]*?[\\/.zé"
	const nameChars = "ab!^-][\\/.zé*?"
	randStr := func(chars string, max int) string {
		rs := []rune(chars)
		n := rng.IntN(max + 1)
		var b strings.Builder
		for range n {
			b.WriteRune(rs[rng.IntN(len(rs))])
		}
		return b.String()
	}
	var pairs [][2]string
	for _, p := range []string{"[abc", "[]-a]", "[!z-a]", "[z-a]", "[a-]", "[--0]", "[a-b-c]", "[b--c]", "[!-a]", "[!]-a]", "[a-z-a]", "[!z-ab-c]", "[z-ab-c]", "[^a]", "[\\]", "[a&&b]", "[a~~b]", "[a||b]", "[[:alpha:]]", "[a[:alpha:]"} {
		for _, n := range []string{"", "a", "b", "c", "-", "]", "!", "^", "_", "0", "z", "m", "[", "\\", "&", "~", "|", ":", "[abc", "[:alpha:]"} {
			pairs = append(pairs, [2]string{p, n})
		}
	}
	for range 20000 {
		pairs = append(pairs, [2]string{randStr(patChars, 8), randStr(nameChars, 6)})
	}
	in, err := json.Marshal(pairs)
	if err != nil {
		t.Fatal(err)
	}
	script := `import sys, json, fnmatch, warnings
warnings.simplefilter("ignore")
out = []
for p, n in json.load(sys.stdin):
    try:
        out.append(1 if fnmatch.fnmatchcase(n, p) else 0)
    except Exception:
        out.append(-1)
json.dump(out, sys.stdout)
`
	cmd := exec.Command(py, "-c", script)
	cmd.Stdin = bytes.NewReader(in)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("python3 fnmatch: %v\n%s", err, stderr.String())
	}
	var want []int
	if err := json.Unmarshal(out, &want); err != nil || len(want) != len(pairs) {
		t.Fatalf("python3 answered %d results (%v), want %d", len(want), err, len(pairs))
	}
	failures := 0
	for i, pr := range pairs {
		if want[i] < 0 {
			t.Errorf("python3 fnmatch raised for pattern %q", pr[0])
			continue
		}
		g, _ := compileGlob(pr[0])
		if got := g.match(decode(pr[1])); got != (want[i] == 1) {
			t.Errorf("fnmatchcase(%q, %q): keyless %v, python %v", pr[1], pr[0], got, want[i] == 1)
			if failures++; failures > 20 {
				t.Fatal("too many differences")
			}
		}
	}
}

func TestDecodeSurrogateEscape(t *testing.T) {
	got := decode("a\xffé\xc3")
	want := []rune{'a', 0xDCFF, 'é', 0xDCC3}
	if string(got) != string(want) {
		t.Errorf("decode = %U, want %U", got, want)
	}
	g, _ := compileGlob("a?é?")
	if !g.match(decode("a\xffé\xc3")) {
		t.Error("'?' does not match one undecodable byte")
	}
}

// refMatch is a plain recursive matcher over compiled tokens, the reference
// for the iterative one.
func refMatch(t []token, name []rune) bool {
	if len(t) == 0 {
		return len(name) == 0
	}
	if t[0].kind == tokStar {
		for i := 0; i <= len(name); i++ {
			if refMatch(t[1:], name[i:]) {
				return true
			}
		}
		return false
	}
	return len(name) > 0 && t[0].matches(name[0]) && refMatch(t[1:], name[1:])
}

func FuzzGlob(f *testing.F) {
	for _, s := range [][2]string{{"*.js", "a/b.js"}, {"[!a-c]*", "d"}, {"[]-a]?", "_x"}, {"[abc", "[abc"}, {"*a*b", "aab"}, {"[!z-a]", "q"}} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, pattern, name string) {
		if len(pattern) > 64 || len(name) > 64 {
			return // the reference matcher is exponential
		}
		g, at := compileGlob(pattern)
		n := decode(name)
		got := g.match(n)
		if want := refMatch(g.toks, n); got != want {
			t.Fatalf("match(%q, %q) = %v, reference %v", pattern, name, got, want)
		}
		if !hasMeta(pattern) && utf8.ValidString(pattern) && !g.match(decode(pattern)) {
			t.Fatalf("pattern %q without metacharacters does not match itself", pattern)
		}
		if at >= 0 && decode(pattern)[at] != '[' {
			t.Fatalf("unclosed bracket reported at %d of %q", at, pattern)
		}
	})
}
