package invalidation

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

// keys returns n keys "prefix0suffix" … "prefix(n-1)suffix".
func keys(n int, prefix, suffix string) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s%d%s", prefix, i, suffix)
	}
	return out
}

// cat concatenates key lists.
func cat(lists ...[]string) []string { return slices.Concat(lists...) }

func TestNewPlan(t *testing.T) {
	tests := []struct {
		name    string
		changed []string
		o       Options
		want    []string
		// reasons are substrings that some reason must contain, in order.
		reasons []string
	}{
		{
			name:    "empty change set",
			changed: nil,
			want:    nil,
			reasons: []string{"no keys changed: nothing to invalidate"},
		},
		{
			name:    "nothing under the origin path",
			changed: []string{"other/a.html", "b.html"},
			o:       Options{OriginPath: "/site"},
			want:    nil,
			reasons: []string{`none of the 2 changed keys is under the origin path "site/": nothing to invalidate`},
		},
		{
			name:    "two files exactly",
			changed: []string{"b.css", "a.html"},
			want:    []string{"/a.html", "/b.css"},
			reasons: []string{"2 paths cover 2 changed files"},
		},
		{
			name:    "duplicates count once",
			changed: []string{"a.html", "a.html"},
			want:    []string{"/a.html"},
			reasons: []string{"1 path covers 1 changed file"},
		},
		{
			name:    "origin path stripped, keys outside ignored",
			changed: []string{"site/a.html", "site/css/b.css", "sitemap.xml", "other/c.html"},
			o:       Options{OriginPath: "/site/"},
			want:    []string{"/a.html", "/css/b.css"},
			reasons: []string{`2 paths cover 2 changed files under the origin path "site/"`,
				`ignored 2 changed keys outside the origin path "site/": this distribution does not serve them`},
		},
		{
			name:    "origin path without slashes",
			changed: []string{"site/a.html"},
			o:       Options{OriginPath: "site"},
			want:    []string{"/a.html"},
		},
		{
			name:    "root default root object",
			changed: []string{"index.html"},
			o:       Options{DefaultRootObject: "index.html"},
			want:    []string{"/", "/index.html"},
			reasons: []string{"2 paths cover 1 changed file", `invalidating the directory paths of 1 default root object too (index.html is served for its directory): "index.html" also as /`},
		},
		{
			name:    "nested default root object",
			changed: []string{"site/docs/index.html"},
			o:       Options{OriginPath: "site/", DefaultRootObject: "index.html"},
			want:    []string{"/docs", "/docs/", "/docs/index.html"},
			reasons: []string{`"site/docs/index.html" also as /docs/ and /docs`},
		},
		{
			name:    "not a default root object",
			changed: []string{"docs/myindex.html", "index.html.bak"},
			o:       Options{DefaultRootObject: "index.html"},
			want:    []string{"/docs/myindex.html", "/index.html.bak"},
		},
		{
			name:    "no default root object",
			changed: []string{"docs/index.html"},
			want:    []string{"/docs/index.html"},
		},
		{
			name:    "non-ASCII and spaces percent-encoded",
			changed: []string{"café/menu del día.html", "日本/索引.html"},
			want:    []string{"/%E6%97%A5%E6%9C%AC/%E7%B4%A2%E5%BC%95.html", "/caf%C3%A9/menu%20del%20d%C3%ADa.html"},
			reasons: []string{`percent-encoded 2 keys, as CloudFront requires for spaces, non-ASCII and unsafe characters: "café/menu del día.html" as /caf%C3%A9/menu%20del%20d%C3%ADa.html`},
		},
		{
			name:    "RFC 1738 unsafe characters and ? encoded, others kept",
			changed: []string{`a#b?c~d%e"f<g>h{i}j|k\l^m[n]o` + "`p.html", "x+y=z&w;v:u@t$s,r!q'(p).html"},
			want:    []string{"/a%23b%3Fc%7Ed%25e%22f%3Cg%3Eh%7Bi%7Dj%7Ck%5Cl%5Em%5Bn%5Do%60p.html", "/x+y=z&w;v:u@t$s,r!q'(p).html"},
		},
		{
			name:    "encoded default root object directory",
			changed: []string{"a b/index.html"},
			o:       Options{DefaultRootObject: "index.html"},
			want:    []string{"/a%20b", "/a%20b/", "/a%20b/index.html"},
		},
		{
			name:    "a key with a star becomes a wildcard that also covers its neighbours",
			changed: []string{"img/a*b.png", "img/a1.png", "img/b.png"},
			want:    []string{"/img/a*", "/img/b.png"},
			reasons: []string{`invalidating 1 key containing "*" with a wildcard, as CloudFront reads "*" as a wildcard and only at the end of a path: "img/a*b.png" as /img/a*`},
		},
		{
			name:    "a directory that changed entirely is collapsed",
			changed: keys(5, "assets/", ".js"),
			o:       Options{All: cat(keys(5, "assets/", ".js"), []string{"index.html", "about.html"})},
			want:    []string{"/assets/*"},
			reasons: []string{"1 path covers 5 changed files (1 wildcard, 0 individual paths)",
				"collapsed 5 changed files under /assets/ into /assets/*: 1 path instead of 5, and it evicts no unchanged file"},
		},
		{
			name:    "a directory where 80% changed is collapsed",
			changed: keys(4, "assets/", ".js"),
			o:       Options{All: cat(keys(5, "assets/", ".js"), []string{"index.html", "about.html"})},
			want:    []string{"/assets/*"},
			reasons: []string{"collapsed 4 changed files under /assets/ into /assets/*: 1 path instead of 4, and it evicts 1 unchanged file"},
		},
		{
			name:    "a directory where less than 80% changed is not",
			changed: keys(3, "assets/", ".js"),
			o:       Options{All: cat(keys(4, "assets/", ".js"), []string{"index.html"})},
			want:    []string{"/assets/0.js", "/assets/1.js", "/assets/2.js"},
		},
		{
			name:    "without the site's keys nothing is collapsed",
			changed: keys(5, "assets/", ".js"),
			want:    []string{"/assets/0.js", "/assets/1.js", "/assets/2.js", "/assets/3.js", "/assets/4.js"},
		},
		{
			name:    "the outermost directory is collapsed",
			changed: cat(keys(3, "a/b/", ".js"), keys(2, "a/c/", ".js")),
			o:       Options{All: cat(keys(3, "a/b/", ".js"), keys(2, "a/c/", ".js"), keys(5, "d/", ".html"))},
			want:    []string{"/a/*"},
		},
		{
			name:    "a single changed file is not collapsed",
			changed: []string{"a/only.js"},
			o:       Options{All: []string{"a/only.js", "b.html"}},
			want:    []string{"/a/only.js"},
		},
		{
			name:    "a default root object alone in its directory",
			changed: []string{"post/x/index.html"},
			o:       Options{DefaultRootObject: "index.html", All: []string{"post/x/index.html", "post/y/index.html", "index.html"}},
			want:    []string{"/post/x", "/post/x/*"},
			reasons: []string{"collapsed 1 changed file under /post/x/ into /post/x/*: 1 path instead of 2, and it evicts no unchanged file"},
		},
		{
			name:    "everything changed: /*",
			changed: []string{"index.html", "a.css", "img/b.png"},
			o:       Options{DefaultRootObject: "index.html", All: []string{"index.html", "a.css", "img/b.png"}},
			want:    []string{"/*"},
			reasons: []string{"collapsed 3 changed files under / into /*: 1 path instead of 4, and it evicts no unchanged file"},
		},
		{
			name:    "nearly everything changed: /*",
			changed: keys(9, "", ".html"),
			o:       Options{OriginPath: "www", All: keys(10, "www/", ".html")},
			want:    nil, // keys outside the origin path
			reasons: []string{`none of the 9 changed keys is under the origin path "www/"`},
		},
		{
			name:    "nearly everything changed under the origin path: /*",
			changed: keys(9, "www/", ".html"),
			o:       Options{OriginPath: "www", All: cat(keys(10, "www/", ".html"), keys(50, "other/", ".html"))},
			want:    []string{"/*"},
			reasons: []string{"collapsed 9 changed files under / into /*: 1 path instead of 9, and it evicts 1 unchanged file"},
		},
		{
			name:    "over the path limit, site unknown: the deepest directory that fits",
			changed: cat(keys(4, "a/", ".js"), []string{"r.html"}),
			o:       Options{MaxPaths: 3},
			want:    []string{"/a/*", "/r.html"},
			reasons: []string{"collapsed 4 changed files under /a/ into /a/* to stay within the limit of 3 paths: 1 path instead of 4 (how many unchanged files it evicts is unknown: no list of the site's keys was given)"},
		},
		{
			name:    "over the path limit, site unknown: the narrowest directory that fits",
			changed: cat(keys(6, "a/b/", ".js"), keys(2, "a/c/", ".js")),
			o:       Options{MaxPaths: 6},
			want:    cat([]string{"/a/b/0.js", "/a/b/1.js", "/a/b/2.js", "/a/b/3.js", "/a/b/4.js", "/a/b/5.js"}, []string{"/a/c/*"}),
		},
		{
			name:    "over the path limit, site known: the directory evicting least",
			changed: []string{"x/1", "x/2", "y/1", "y/2"},
			o:       Options{MaxPaths: 2, All: cat([]string{"x/1", "x/2", "y/1", "y/2", "y/3"}, keys(10, "x/u", ""))},
			want:    []string{"/x/1", "/x/2", "/y/*"},
			reasons: []string{"collapsed 2 changed files under /y/ into /y/* to stay within the limit of 2 paths: 1 path instead of 2 (it evicts 1 unchanged file)"},
		},
		{
			name:    "over the path limit, site known: a cheap partial collapse first",
			changed: cat(keys(4, "a/", ""), keys(4, "b/", ""), []string{"c"}),
			// 9 paths, 3 allowed: /a/ and /b/ each evict 2 (1 per 2 saved),
			// the root alone evicts 104.
			o:    Options{MaxPaths: 3, All: cat(keys(6, "a/", ""), keys(6, "b/", ""), keys(101, "", ".html"), []string{"c"})},
			want: []string{"/a/*", "/b/*", "/c"},
		},
		{
			name:    "over the wildcard limit: wildcards merged",
			changed: []string{"a/x*1", "a/y*1", "b/z*1"},
			o:       Options{MaxWildcards: 2},
			want:    []string{"/a/*", "/b/z*"},
			reasons: []string{"collapsed 2 changed files under /a/ into /a/* to stay within the limit of 2 wildcards: 1 path instead of 2 (how many"},
		},
		{
			name:    "voluntary collapses within the wildcard limit",
			changed: cat(keys(3, "a/", ".js"), keys(2, "b/", ".js")),
			o:       Options{MaxWildcards: 1, All: cat(keys(3, "a/", ".js"), keys(2, "b/", ".js"), []string{"x.html", "y.html"})},
			want:    []string{"/a/*", "/b/0.js", "/b/1.js"},
			reasons: []string{"collapsed 3 changed files under /a/ into /a/*", "kept the 2 paths under /b/ although all its files changed: /b/* would exceed the limit of 1 wildcard"},
		},
		{
			name:    "over both limits: everything",
			changed: cat(keys(3, "a/", ""), keys(3, "b/", ""), keys(3, "c/", "")),
			o:       Options{MaxPaths: 2, MaxWildcards: 1},
			want:    []string{"/*"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := NewPlan(tt.changed, tt.o)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(p.Paths, tt.want) {
				t.Errorf("Paths = %q, want %q\nreasons:\n  %s", p.Paths, tt.want, strings.Join(p.Reasons, "\n  "))
			}
			wild := 0
			for _, q := range p.Paths {
				if strings.HasSuffix(q, "*") {
					wild++
				}
			}
			if p.Wildcards != wild {
				t.Errorf("Wildcards = %d, want %d", p.Wildcards, wild)
			}
			if len(p.Reasons) == 0 {
				t.Error("no reasons")
			}
			rest := p.Reasons
			for _, want := range tt.reasons {
				i := slices.IndexFunc(rest, func(r string) bool { return strings.Contains(r, want) })
				if i < 0 {
					t.Errorf("no reason (in order) contains %q; reasons:\n  %s", want, strings.Join(p.Reasons, "\n  "))
					break
				}
				rest = rest[i+1:]
			}
		})
	}
}

func TestNewPlanLongKey(t *testing.T) {
	key := "d/" + strings.Repeat("é", 1500) + ".html" // 9,000+ characters encoded
	p, err := NewPlan([]string{key, "d/other.html"}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Paths) != 2 || p.Wildcards != 1 {
		t.Fatalf("Paths = %.100q, want a wildcard and /d/other.html", p.Paths)
	}
	w := p.Paths[0]
	if !strings.HasPrefix(w, "/d/%C3%A9%C3%A9") || !strings.HasSuffix(w, "%A9*") || len(w) > MaxPathLength {
		t.Errorf("wildcard %.40q…%q has %d characters: want a prefix of the encoded key that ends on an escape, at most %d", w, w[len(w)-10:], len(w), MaxPathLength)
	}
	if err := CheckPath(w); err != nil {
		t.Error(err)
	}
	if !strings.Contains(strings.Join(p.Reasons, "\n"), "1 key too long for a path with a wildcard on the longest prefix that fits CloudFront's 4000 characters") {
		t.Errorf("reasons: %q", p.Reasons)
	}
}

func TestNewPlanErrors(t *testing.T) {
	tests := []struct {
		changed []string
		o       Options
		want    string
	}{
		{[]string{"a.html", ""}, Options{}, "changed key 2 of 2 is empty: list object keys, one a line, without blank lines"},
		{[]string{"a.html"}, Options{MaxPaths: -1}, "MaxPaths is -1: give a positive number, or 0 for CloudFront's 3000"},
		{[]string{"a.html"}, Options{MaxWildcards: -2}, "MaxWildcards is -2: give a positive number, or 0 for CloudFront's 15"},
	}
	for _, tt := range tests {
		_, err := NewPlan(tt.changed, tt.o)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("NewPlan(%q, %+v) = %v, want an error containing %q", tt.changed, tt.o, err, tt.want)
		}
	}
}

// TestNewPlanLimitsDefault: 3,001 changed files in one directory, the site
// unknown, exceed CloudFront's 3,000 paths: they become one wildcard.
func TestNewPlanLimitsDefault(t *testing.T) {
	p, err := NewPlan(keys(3001, "img/", ".png"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(p.Paths, []string{"/img/*"}) {
		t.Errorf("Paths = %.100q, want [/img/*]", p.Paths)
	}
	p, err = NewPlan(keys(3000, "img/", ".png"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Paths) != 3000 || p.Wildcards != 0 {
		t.Errorf("3,000 changed files: %d paths, %d wildcards, want 3,000 individual paths", len(p.Paths), p.Wildcards)
	}
}

func TestEncodePath(t *testing.T) {
	for rel, want := range map[string]string{
		"":                 "/",
		"a/b.html":         "/a/b.html",
		"a b":              "/a%20b",
		"tab\there":        "/tab%09here",
		"del\x7f":          "/del%7F",
		"ü":                "/%C3%BC",
		"100%":             "/100%25",
		"q?x=1":            "/q%3Fx=1",
		"keep-_.~":         "/keep-_.%7E",
		"a+b=c&d":          "/a+b=c&d",
		"star*":            "/star*", // NewPlan makes it a wildcard
		"invalid\xffutf-8": "/invalid%FFutf-8",
	} {
		if got := EncodePath(rel); got != want {
			t.Errorf("EncodePath(%q) = %q, want %q", rel, got, want)
		}
	}
}

func TestCheckPath(t *testing.T) {
	for p, want := range map[string]string{
		"/a.html":                 "",
		"/a/*":                    "",
		"/*":                      "",
		"/search?q=a":             "",
		"/caf%C3%A9":              "",
		"a.html":                  `does not start with "/": write it as a URL path, such as "/a.html"`,
		"/a*/b":                   `has a "*" before its end`,
		"/a b":                    `has the character ' ', which CloudFront requires percent-encoded: write it as %20`,
		"/café":                   `has the character 'é', which CloudFront requires percent-encoded: write it as %C3%A9`,
		"/x\xff":                  `has the byte 0xFF, which CloudFront requires percent-encoded: write it as %FF`,
		"/100%":                   `has a % that does not start a %XX escape: write a literal % as %25`,
		"/%zz":                    `has a % that does not start a %XX escape`,
		"/" + long(MaxPathLength): `has 4001 characters: CloudFront allows at most 4000`,
	} {
		err := CheckPath(p)
		switch {
		case want == "" && err != nil:
			t.Errorf("CheckPath(%.40q) = %v, want nil", p, err)
		case want != "" && (err == nil || !strings.Contains(err.Error(), want)):
			t.Errorf("CheckPath(%.40q) = %v, want an error containing %q", p, err, want)
		}
	}
}

func long(n int) string { return strings.Repeat("x", n) }
