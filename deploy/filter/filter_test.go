package filter

import (
	"fmt"
	"strings"
	"testing"
)

// filterOf builds a Filter from aws-style arguments: "-x PATTERN" excludes,
// "+PATTERN" includes.
func filterOf(args ...string) Filter {
	var f Filter
	for _, a := range args {
		if p, ok := strings.CutPrefix(a, "+"); ok {
			f.Include(p)
		} else {
			f.Exclude(strings.TrimPrefix(a, "-"))
		}
	}
	return f
}

func TestFilterIncluded(t *testing.T) {
	tests := []struct {
		name    string
		filters []string // "-P" is --exclude P, "+P" is --include P
		in, out []string
	}{
		{"no filters", nil, []string{"index.html", "a/b/c.js", ".env"}, nil},
		{"star crosses slashes", []string{"-*.map"}, []string{"app.js", "map"}, []string{"app.js.map", "a/b/app.js.map"}},
		{"exclude all include some", []string{"-*", "+*.html"}, []string{"index.html", "a/b.html"}, []string{"a.js", "html"}},
		{"last match wins", []string{"+*.html", "-*"}, nil, []string{"index.html", "a.js"}},
		{"re-exclude", []string{"-*", "+assets/*", "-assets/*.map"}, []string{"assets/a.js", "assets/x/y.css"}, []string{"assets/a.js.map", "index.html"}},
		{"literal name is top-level only", []string{"-index.html"}, []string{"a/index.html"}, []string{"index.html"}},
		{"directory name alone matches no file", []string{"-node_modules"}, []string{"node_modules/x.js"}, nil},
		{"directory contents", []string{"-node_modules/*"}, []string{"a/node_modules/x.js"}, []string{"node_modules/x.js", "node_modules/a/b.js"}},
		{"any depth", []string{"-*node_modules/*"}, nil, []string{"node_modules/x.js", "a/node_modules/x.js"}},
		{"dotfiles", []string{"-.*", "-*/.*"}, []string{"a.txt", "a/b.c"}, []string{".env", ".well-known/x", "a/.DS_Store"}},
		{"question mark", []string{"-?.txt"}, []string{"ab.txt", "a/bc.txt"}, []string{"a.txt", "?.txt", "b.txt"}},
		{"set", []string{"-*.[jc]s"}, []string{"a.ts", "a.jsx"}, []string{"a.js", "b/a.cs"}},
		{"negated set", []string{"-[!a]*"}, []string{"a", "a/b"}, []string{"b", "b/a"}},
		{"case-sensitive", []string{"-*.png"}, []string{"a.PNG"}, []string{"a.png"}},
		{"unclosed bracket is literal", []string{"-[abc"}, []string{"a", "abc"}, []string{"[abc"}},
		{"bracket set, not literal", []string{"-a[1].txt"}, []string{"a[1].txt"}, []string{"a1.txt"}},
		{"literal bracket", []string{"-a[[]1].txt"}, []string{"a1.txt"}, []string{"a[1].txt"}},
		{"absolute pattern never matches a relative path", []string{"-/*"}, []string{"a", "index.html"}, nil},
		{"trailing slash matches no file", []string{"-*/"}, []string{"a/b"}, nil},
		{"empty pattern matches nothing", []string{"-"}, []string{"a"}, nil},
		{"reversed range matches nothing", []string{"-*[z-a]*"}, []string{"a", "z", "m"}, nil},
		{"unicode", []string{"-*ü*"}, []string{"u.txt"}, []string{"ü.txt", "a/über/x"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := filterOf(tt.filters...)
			for _, p := range tt.in {
				if !f.Included(p) {
					t.Errorf("%v excludes %q, want included", tt.filters, p)
				}
			}
			for _, p := range tt.out {
				if f.Included(p) {
					t.Errorf("%v includes %q, want excluded", tt.filters, p)
				}
			}
		})
	}
}

func TestFilterZero(t *testing.T) {
	var f Filter
	if !f.Empty() || !f.Included("anything/at/all") {
		t.Error("the zero Filter does not include everything")
	}
	f.Exclude("*")
	if f.Empty() || f.Included("a") {
		t.Error("Exclude('*') does not exclude")
	}
}

func TestFilterRooted(t *testing.T) {
	tests := []struct {
		name    string
		root    string
		filters []string
		in, out []string
	}{
		{"local root, relative pattern", "/home/u/site", []string{"-*.map"}, []string{"a.js"}, []string{"a.js.map"}},
		{"absolute pattern matches the absolute local path", "/home/u/site", []string{"-/*"}, nil, []string{"a", "b/c"}},
		{"absolute pattern naming the root", "/home/u/site", []string{"-/home/u/site/a*"}, []string{"b"}, []string{"a", "a/b"}},
		{"absolute pattern on the S3 side never matches", "bucket/prefix", []string{"-/*"}, []string{"a", "b/c"}, nil},
		{"S3 root with trailing slash", "bucket/", []string{"-a/*"}, []string{"b/a"}, []string{"a/b"}},
		{"root with a set in it", "/tmp/site[1]", []string{"-*"}, []string{"a"}, nil},                       // "/tmp/site[1]/*" never matches "/tmp/site[1]/a"
		{"root with a star in it", "/tmp/s*e", []string{"-a"}, []string{"b", "x/a"}, []string{"a", "xe/a"}}, // "/tmp/s*e/a" matches "/tmp/s*e/xe/a"
		{"empty root is plain Included", "", []string{"-*.map"}, []string{"a"}, []string{"a.map"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := filterOf(tt.filters...).Rooted(tt.root)
			for _, p := range tt.in {
				if !f.Included(p) {
					t.Errorf("under %q, %v excludes %q, want included", tt.root, tt.filters, p)
				}
			}
			for _, p := range tt.out {
				if f.Included(p) {
					t.Errorf("under %q, %v includes %q, want excluded", tt.root, tt.filters, p)
				}
			}
		})
	}
	// Patterns added after Rooted are joined to the root too.
	f := Filter{}.Rooted("/r")
	f.Exclude("/r/x")
	if f.Included("x") {
		t.Error("a pattern added after Rooted is not joined to the root")
	}
}

func TestCheckPattern(t *testing.T) {
	for _, p := range []string{"*.map", "a[[]1]", "[!a-z]*", "assets/*", "*]"} {
		if err := CheckPattern(p); err != nil {
			t.Errorf("CheckPattern(%q) = %v, want nil", p, err)
		}
	}
	for p, want := range map[string]string{
		"[abc":     `pattern "[abc": a '[' is never closed`,
		"*.[jt]s[": `pattern "*.[jt]s[": a '[' is never closed`,
		"/build/*": `pattern "/build/*": it begins with '/'`,
	} {
		err := CheckPattern(p)
		if err == nil || !strings.HasPrefix(err.Error(), want) {
			t.Errorf("CheckPattern(%q) = %v, want an error starting %q", p, err, want)
		}
	}
}

func TestParsePatterns(t *testing.T) {
	tests := []struct {
		list    string
		in, out []string
		norm    string
	}{
		{"*.js,*.css,*.svg", []string{"a.js", "x/y/z.css", "i.svg"}, []string{"a.json", "a.js.map"}, "*.js,*.css,*.svg"},
		{" *.js , *.css ", []string{"a.js", "a.css"}, []string{"a.html"}, "*.js,*.css"},
		{"index.html", []string{"index.html", "docs/index.html"}, []string{"index.htm", "index.html.bak"}, "index.html"},
		{"docs/index.html", []string{"docs/index.html"}, []string{"index.html", "x/docs/index.html"}, "docs/index.html"},
		{"?.txt", []string{"a.txt", "d/a.txt"}, []string{"ab.txt"}, "?.txt"},
		{"[,]*", []string{",a", "d/,b"}, []string{"a"}, "[,]*"},
		{"assets/*", []string{"assets/a", "assets/a/b"}, []string{"x/assets/a"}, "assets/*"},
	}
	for _, tt := range tests {
		p, err := ParsePatterns(tt.list)
		if err != nil {
			t.Errorf("ParsePatterns(%q): %v", tt.list, err)
			continue
		}
		if got := p.String(); got != tt.norm {
			t.Errorf("ParsePatterns(%q).String() = %q, want %q", tt.list, got, tt.norm)
		}
		for _, rel := range tt.in {
			if !p.Match(rel) {
				t.Errorf("%q does not match %q", tt.list, rel)
			}
		}
		for _, rel := range tt.out {
			if p.Match(rel) {
				t.Errorf("%q matches %q", tt.list, rel)
			}
		}
	}
	var zero Patterns
	if zero.Match("a") || !zero.Empty() {
		t.Error("the zero Patterns matches")
	}
}

func TestParsePatternsErrors(t *testing.T) {
	for list, want := range map[string]string{
		"":             "empty pattern list",
		"  ":           "empty pattern list",
		"*.js,,*.css":  "empty pattern in a comma-separated list",
		"*.js,":        "empty pattern in a comma-separated list",
		"*.[jt]s,[abc": `pattern "[abc": a '[' is never closed`,
		"/index.html":  `pattern "/index.html": patterns are relative`,
	} {
		_, err := ParsePatterns(list)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParsePatterns(%q) = %v, want an error containing %q", list, err, want)
		}
	}
}

func TestRules(t *testing.T) {
	type check struct {
		rel  string
		want string // "-" for no match
	}
	tests := []struct {
		name   string
		rules  []string
		checks []check
	}{
		{"bare value", []string{"max-age=300"}, []check{{"a", "max-age=300"}, {"x/y.js", "max-age=300"}}},
		{"bare value with commas and =", []string{"max-age=31536000,immutable"}, []check{{"a.js", "max-age=31536000,immutable"}}},
		{"bare value starting with a directive without =", []string{"public, max-age=300"}, []check{{"a", "public, max-age=300"}}},
		{"bare value, several directives before =", []string{"no-cache,no-store,max-age=0"}, []check{{"a", "no-cache,no-store,max-age=0"}}},
		{"bare value without =", []string{"no-cache"}, []check{{"a", "no-cache"}}},
		{"upper-case directive", []string{"Max-Age=60"}, []check{{"a", "Max-Age=60"}}},
		{"patterns", []string{"*.html=no-cache"}, []check{{"index.html", "no-cache"}, {"a.js", "-"}}},
		{"pattern value with = and ,", []string{"assets/*=max-age=31536000,immutable"}, []check{{"assets/a.js", "max-age=31536000,immutable"}, {"index.html", "-"}}},
		{"several patterns", []string{"index.html,*.json=no-cache"}, []check{{"docs/index.html", "no-cache"}, {"a.json", "no-cache"}, {"a.js", "-"}}},
		{"last match wins", []string{"max-age=86400", "*.html=no-cache", "assets/*=max-age=31536000,immutable"},
			[]check{{"a.css", "max-age=86400"}, {"a.html", "no-cache"}, {"assets/a.html", "max-age=31536000,immutable"}}},
		{"a later default overrides", []string{"*.html=no-cache", "max-age=60"}, []check{{"a.html", "max-age=60"}}},
		{"star means every file", []string{"*=foo=bar"}, []check{{"a", "foo=bar"}, {"a/b", "foo=bar"}}},
		{"empty value", []string{"max-age=60", "index.html="}, []check{{"index.html", ""}, {"a.js", "max-age=60"}}},
		{"spaces", []string{" *.html = no-cache "}, []check{{"a.html", "no-cache"}}},
		{"= inside a set", []string{"a[=]b=x"}, []check{{"a=b", "x"}, {"a", "-"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var r Rules
			for _, s := range tt.rules {
				if err := r.Add(s); err != nil {
					t.Fatalf("Add(%q): %v", s, err)
				}
			}
			for _, c := range tt.checks {
				got, ok := r.Value(c.rel)
				if c.want == "-" {
					if ok {
						t.Errorf("%q: Value = %q, want no match", c.rel, got)
					}
					continue
				}
				if !ok || got != c.want {
					t.Errorf("%q: Value = %q, %v, want %q", c.rel, got, ok, c.want)
				}
			}
		})
	}
	var zero Rules
	if v, ok := zero.Value("a"); ok || v != "" || !zero.Empty() {
		t.Error("the zero Rules matches")
	}
}

func TestRulesErrors(t *testing.T) {
	for rule, want := range map[string]string{
		"":                  "empty rule",
		"=no-cache":         `rule "=no-cache" has no pattern before '='`,
		"*.html":            `rule "*.html" has a pattern but no '=VALUE'`,
		"no-cache,*.html=x": `"no-cache" is a Cache-Control directive, not a file pattern`,
		"[abc=x":            `pattern "[abc": a '[' is never closed`,
		"/index.html=x":     `pattern "/index.html": patterns are relative`,
		"*.js,,*.css=x":     "empty pattern",
	} {
		var r Rules
		err := r.Add(rule)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Add(%q) = %v, want an error containing %q", rule, err, want)
		}
		if !r.Empty() {
			t.Errorf("Add(%q) failed but added a rule", rule)
		}
	}
}

func TestBareRule(t *testing.T) {
	for value, want := range map[string]string{
		"max-age=3600":                "max-age=3600",
		"public, max-age=3600":        "public, max-age=3600",
		"no-cache":                    "no-cache",
		"foo=bar":                     "*=foo=bar",
		"x-custom=1, max-age=2":       "*=x-custom=1, max-age=2",
		"max-age=0,no-cache,no-store": "max-age=0,no-cache,no-store",
		"*weird":                      "*=*weird",
		"":                            "*=",
	} {
		got := BareRule(value)
		if got != want {
			t.Errorf("BareRule(%q) = %q, want %q", value, got, want)
		}
		var r Rules
		if err := r.Add(got); err != nil {
			t.Errorf("Add(BareRule(%q)): %v", value, err)
			continue
		}
		for _, rel := range []string{"a", "x/y.js"} {
			if v, ok := r.Value(rel); !ok || v != strings.TrimSpace(value) {
				t.Errorf("BareRule(%q) gives %q for %q, want the value", value, v, rel)
			}
		}
	}
}

func FuzzParsePatterns(f *testing.F) {
	for _, s := range []string{"*.js,*.css", "index.html", "[,]x,y", "a,,b", "[abc", "/x", " a , b "} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := ParsePatterns(s)
		if err != nil {
			if !p.Empty() {
				t.Fatalf("ParsePatterns(%q) failed but returned patterns", s)
			}
			return
		}
		if p.Empty() {
			t.Fatalf("ParsePatterns(%q) succeeded with no patterns", s)
		}
		// The normalized form parses to the same list.
		q, err := ParsePatterns(p.String())
		if err != nil || q.String() != p.String() {
			t.Fatalf("ParsePatterns(%q).String() = %q reparses to %q, %v", s, p.String(), q.String(), err)
		}
		for _, lp := range p.list {
			if !hasMeta(lp.text) && strings.ToValidUTF8(lp.text, "") == lp.text && !p.Match(lp.text) {
				t.Fatalf("pattern %q does not match itself", lp.text)
			}
		}
	})
}

func FuzzRulesAdd(f *testing.F) {
	for _, s := range []string{"max-age=300", "*.html=no-cache", "a,b=c=d", "=x", "public, max-age=1", "[=]=1", "no-cache,*.x=y"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var r Rules
		if err := r.Add(s); err != nil {
			if !r.Empty() {
				t.Fatalf("Add(%q) failed but added a rule", s)
			}
			return
		}
		hr := r.list[0]
		if hr.all && hr.patterns.Empty() {
			if v, ok := r.Value("any/file"); !ok || v != strings.TrimSpace(s) {
				t.Fatalf("bare rule %q gives %q, %v", s, v, ok)
			}
		}
		// BareRule of any value round-trips.
		var b Rules
		if err := b.Add(BareRule(s)); err != nil {
			t.Fatalf("Add(BareRule(%q)): %v", s, err)
		}
		if v, ok := b.Value("x"); !ok || v != strings.TrimSpace(s) {
			t.Fatalf("BareRule(%q) gives %q, %v", s, v, ok)
		}
	})
}

// BenchmarkFilterIncluded is a site's worth of paths through a typical
// filter, as a sync evaluates it on both sides.
func BenchmarkFilterIncluded(b *testing.B) {
	var paths []string
	for i := range 2000 {
		paths = append(paths, fmt.Sprintf("assets/chunk-%d/file-%d.js", i%40, i))
	}
	f := filterOf("-*.map", "-node_modules/*", "-.*", "-*/.*", "+.well-known/*").Rooted("/home/user/site/build")
	for b.Loop() {
		for _, p := range paths {
			f.Included(p)
		}
	}
}
