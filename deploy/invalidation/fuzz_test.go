package invalidation

import (
	"math/rand/v2"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/keyless-dev/keyless/cloudfront"
)

// FuzzNewPlan checks NewPlan's invariants on any change set: every changed
// key (and a default root object's directory) is covered by a path; at most
// MaxWildcards wildcards and MaxPaths individual paths; every path valid for
// CloudFront and for CheckPath; paths sorted, unique and none covered by
// another; the same plan for the keys in any order.
func FuzzNewPlan(f *testing.F) {
	f.Add("index.html\ndocs/index.html\na b/c.html", "index.html\ndocs/index.html\na b/c.html\nx.js", "", "index.html", uint8(2), uint8(1), true)
	f.Add("site/a/1\nsite/a/2\nsite/b/1\nsite/c*d", "", "/site/", "", uint8(1), uint8(1), false)
	f.Add("é/ü?#%\nx/y/z/w\nx/y/q\n*", "é/ü?#%\nother", "", "w", uint8(0), uint8(0), true)
	f.Add("a/b/c/d/e/f\na/b/c/d/e/g\na/b/x\nk/l", "a/b/c/d/e/f", "a", "e", uint8(3), uint8(2), true)
	f.Fuzz(func(t *testing.T, changedText, allText, origin, dro string, maxPaths, maxWild uint8, known bool) {
		changed := lines(changedText)
		var all []string
		if known {
			all = append(lines(allText), changed...)
		}
		if len(changed) > 300 || len(all) > 600 {
			t.Skip()
		}
		o := Options{OriginPath: origin, DefaultRootObject: dro, All: all, MaxPaths: 1 + int(maxPaths%20), MaxWildcards: 1 + int(maxWild%5)}
		p, err := NewPlan(changed, o)
		if err != nil {
			t.Fatalf("NewPlan(%q, %+v): %v", changed, o, err)
		}
		if len(p.Reasons) == 0 {
			t.Error("no reasons")
		}
		if !slices.IsSorted(p.Paths) || len(slices.Compact(slices.Clone(p.Paths))) != len(p.Paths) {
			t.Errorf("paths not sorted and unique: %q", p.Paths)
		}
		wild := 0
		var prefixes []string // decoded wildcard prefixes
		for _, q := range p.Paths {
			if err := CheckPath(q); err != nil {
				t.Error(err)
			}
			if !cloudfront.ValidPath(q) {
				t.Errorf("cloudfront.ValidPath(%q) = false", q)
			}
			if base, ok := strings.CutSuffix(q, "*"); ok {
				wild++
				prefixes = append(prefixes, unescape(t, base))
			}
		}
		if p.Wildcards != wild || wild > o.MaxWildcards || len(p.Paths)-wild > o.MaxPaths {
			t.Errorf("%d paths, Wildcards = %d (counted %d); limits %d paths, %d wildcards: %q", len(p.Paths), p.Wildcards, wild, o.MaxPaths, o.MaxWildcards, p.Paths)
		}
		covered := func(target string) bool {
			for _, q := range p.Paths {
				if !strings.HasSuffix(q, "*") && unescape(t, q) == target {
					return true
				}
			}
			for _, w := range prefixes {
				if strings.HasPrefix(target, w) {
					return true
				}
			}
			return false
		}
		for _, q := range p.Paths {
			base, isWild := strings.CutSuffix(unescape(t, q), "*")
			for _, w := range prefixes {
				if strings.HasPrefix(base, w) && !(isWild && base == w) {
					t.Errorf("path %q is covered by the wildcard %q*", q, w)
				}
			}
		}
		prefix := strings.Trim(origin, "/")
		if prefix != "" {
			prefix += "/"
		}
		for _, k := range changed {
			rel, ok := strings.CutPrefix(k, prefix)
			if !ok {
				continue
			}
			targets := []string{"/" + rel}
			switch {
			case dro == "":
			case rel == dro:
				targets = append(targets, "/")
			case !strings.Contains(dro, "/") && strings.HasSuffix(rel, "/"+dro):
				dir := strings.TrimSuffix(rel, dro)
				targets = append(targets, "/"+dir, "/"+strings.TrimSuffix(dir, "/"))
			}
			for _, target := range targets {
				if !covered(target) {
					t.Errorf("changed key %q: %q is not covered by %q", k, target, p.Paths)
				}
			}
		}
		// The same plan whatever the order of the keys.
		shuffled := slices.Clone(changed)
		rand.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
		o.All = slices.Clone(all)
		rand.Shuffle(len(o.All), func(i, j int) { o.All[i], o.All[j] = o.All[j], o.All[i] })
		again, err := NewPlan(shuffled, o)
		if err != nil || !slices.Equal(again.Paths, p.Paths) || !slices.Equal(again.Reasons, p.Reasons) {
			t.Errorf("keys shuffled: %q, %q, %v; want %q, %q", again.Paths, again.Reasons, err, p.Paths, p.Reasons)
		}
	})
}

// lines splits text into its non-empty lines.
func lines(text string) []string {
	var out []string
	for l := range strings.SplitSeq(text, "\n") {
		if l != "" {
			out = append(out, l)
		}
	}
	return out
}

// unescape decodes a path's %XX escapes.
func unescape(t *testing.T, p string) string {
	t.Helper()
	s, err := url.PathUnescape(p)
	if err != nil {
		t.Fatalf("path %q: %v", p, err)
	}
	return s
}
