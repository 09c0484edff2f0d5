package listing

import (
	"context"
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"
	"unicode/utf8"
)

// source is a sorted key set with a Scan that counts its calls and the
// entries it returns.
type source struct {
	keys           []string
	scans, entries int
}

func newSource(keys ...string) *source {
	k := slices.Clone(keys)
	sort.Strings(k) // byte order
	return &source{keys: slices.Compact(k)}
}

func (s *source) scan(_ context.Context, r Range, limit int) ([]string, error) {
	if limit < 1 {
		return nil, fmt.Errorf("scan limit %d", limit)
	}
	if !utf8.ValidString(r.From) || !utf8.ValidString(r.To) {
		return nil, fmt.Errorf("scan bounds %q, %q are not valid UTF-8", r.From, r.To)
	}
	s.scans++
	i := sort.SearchStrings(s.keys, r.From)
	if !r.Inclusive && i < len(s.keys) && s.keys[i] == r.From {
		i++
	}
	var out []string
	for ; i < len(s.keys) && len(out) < limit; i++ {
		if r.To != "" && s.keys[i] >= r.To {
			break
		}
		out = append(out, s.keys[i])
	}
	s.entries += len(out)
	return out, nil
}

func (s *source) list(t testing.TB, p Params) Page[string] {
	t.Helper()
	page, err := List(context.Background(), p, func(k string) string { return k }, s.scan)
	if err != nil {
		t.Fatalf("List(%+v): %v", p, err)
	}
	return page
}

// naive is the reference: it reads every key in order.
func naive(keys []string, p Params) Page[string] {
	var page Page[string]
	if p.MaxKeys <= 0 {
		return page
	}
	sorted := slices.Clone(keys)
	sort.Strings(sorted)
	sorted = slices.Compact(sorted)
	n := 0
	lastCP := ""
	for _, k := range sorted {
		if !strings.HasPrefix(k, p.Prefix) {
			continue
		}
		cp := ""
		if p.Delimiter != "" {
			if i := strings.Index(k[len(p.Prefix):], p.Delimiter); i >= 0 {
				cp = k[:len(p.Prefix)+i+len(p.Delimiter)]
			}
		}
		switch {
		case cp != "" && (cp <= p.After || cp == lastCP):
			continue
		case cp == "" && k <= p.After:
			continue
		}
		if n == p.MaxKeys {
			page.IsTruncated = true
			return page
		}
		n++
		if cp != "" {
			page.CommonPrefixes = append(page.CommonPrefixes, cp)
			lastCP = cp
			page.Next = cp
		} else {
			page.Contents = append(page.Contents, k)
			page.Next = k
		}
	}
	page.Next = ""
	return page
}

type pageWant struct {
	contents, prefixes []string
	truncated          bool
	next               string
}

func (w pageWant) page() Page[string] {
	return Page[string]{Contents: w.contents, CommonPrefixes: w.prefixes, IsTruncated: w.truncated, Next: w.next}
}

func TestList(t *testing.T) {
	tests := []struct {
		name string
		keys []string
		p    Params
		want pageWant
	}{
		{"all keys in byte order", []string{"b", "a", "c", "B"}, Params{MaxKeys: 1000},
			pageWant{contents: []string{"B", "a", "b", "c"}}},
		{"UTF-8 byte order, not UTF-16", []string{"z", "é", "\uFF61", "😀", "A", "\u007F", "\u0080"}, Params{MaxKeys: 1000},
			pageWant{contents: []string{"A", "z", "\u007F", "\u0080", "é", "\uFF61", "😀"}}},
		{"prefix", []string{"a/1", "a/2", "ab", "b", "a"}, Params{Prefix: "a/", MaxKeys: 1000},
			pageWant{contents: []string{"a/1", "a/2"}}},
		{"delimiter", []string{"a/1", "a/2", "b/1", "c"}, Params{Delimiter: "/", MaxKeys: 1000},
			pageWant{contents: []string{"c"}, prefixes: []string{"a/", "b/"}}},
		{"key equal to the prefix", []string{"photos/", "photos/2024/a.jpg", "photos/b.jpg"}, Params{Prefix: "photos/", Delimiter: "/", MaxKeys: 1000},
			pageWant{contents: []string{"photos/", "photos/b.jpg"}, prefixes: []string{"photos/2024/"}}},
		{"delimiter at the end of a key", []string{"dir/", "dir/x", "dir"}, Params{Delimiter: "/", MaxKeys: 1000},
			pageWant{contents: []string{"dir"}, prefixes: []string{"dir/"}}},
		{"key equal to the delimiter", []string{"/", "/a", "a"}, Params{Delimiter: "/", MaxKeys: 1000},
			pageWant{contents: []string{"a"}, prefixes: []string{"/"}}},
		{"prefix not ending in the delimiter", []string{"foo/bar", "foobar/x", "foo", "fop/"}, Params{Prefix: "foo", Delimiter: "/", MaxKeys: 1000},
			pageWant{contents: []string{"foo"}, prefixes: []string{"foo/", "foobar/"}}},
		{"multi-character delimiter", []string{"a--b--c", "a--d", "ab", "a-"}, Params{Delimiter: "--", MaxKeys: 1000},
			pageWant{contents: []string{"a-", "ab"}, prefixes: []string{"a--"}}},
		{"non-ASCII delimiter and prefix", []string{"日本/東京/x", "日本/東京/y", "日本/大阪", "日本語"}, Params{Prefix: "日本/", Delimiter: "/", MaxKeys: 1000},
			pageWant{contents: []string{"日本/大阪"}, prefixes: []string{"日本/東京/"}}},
		{"delimiter U+10FFFF", []string{"a\U0010FFFFx", "a\U0010FFFFy", "b"}, Params{Delimiter: "\U0010FFFF", MaxKeys: 1000},
			pageWant{contents: []string{"b"}, prefixes: []string{"a\U0010FFFF"}}},
		{"delimiter before the surrogates", []string{"x\uD7FFa", "x\uD7FFb", "x\uE000"}, Params{Delimiter: "\uD7FF", MaxKeys: 1000},
			pageWant{contents: []string{"x\uE000"}, prefixes: []string{"x\uD7FF"}}},
		{"max-keys 1, a key", []string{"a", "b"}, Params{MaxKeys: 1},
			pageWant{contents: []string{"a"}, truncated: true, next: "a"}},
		{"max-keys 1, a common prefix", []string{"a/1", "a/2", "b"}, Params{Delimiter: "/", MaxKeys: 1},
			pageWant{prefixes: []string{"a/"}, truncated: true, next: "a/"}},
		{"max-keys 1, last common prefix", []string{"a/1", "a/2"}, Params{Delimiter: "/", MaxKeys: 1},
			pageWant{prefixes: []string{"a/"}}},
		{"exactly max-keys is not truncated", []string{"a", "b"}, Params{MaxKeys: 2},
			pageWant{contents: []string{"a", "b"}}},
		{"common prefixes count toward max-keys", []string{"a/1", "b/1", "b/2", "c/1", "d"}, Params{Delimiter: "/", MaxKeys: 2},
			pageWant{prefixes: []string{"a/", "b/"}, truncated: true, next: "b/"}},
		{"after a common prefix (next page)", []string{"a/1", "b/1", "b/2", "c/1", "d"}, Params{Delimiter: "/", After: "b/", MaxKeys: 2},
			pageWant{contents: []string{"d"}, prefixes: []string{"c/"}}},
		{"after a key inside a group", []string{"a/1", "a/2", "b"}, Params{Delimiter: "/", After: "a/1", MaxKeys: 1000},
			pageWant{contents: []string{"b"}}},
		{"after a key, no delimiter", []string{"a/1", "a/2", "b"}, Params{After: "a/1", MaxKeys: 1000},
			pageWant{contents: []string{"a/2", "b"}}},
		{"after a key that does not exist", []string{"a", "c", "e"}, Params{After: "b", MaxKeys: 1000},
			pageWant{contents: []string{"c", "e"}}},
		{"after before the prefix", []string{"a", "b1", "b2", "c"}, Params{Prefix: "b", After: "a", MaxKeys: 1000},
			pageWant{contents: []string{"b1", "b2"}}},
		{"after past the prefix", []string{"a1", "a2", "b"}, Params{Prefix: "a", After: "b", MaxKeys: 1000},
			pageWant{}},
		{"max-keys 0", []string{"a"}, Params{MaxKeys: 0}, pageWant{}},
		{"empty bucket", nil, Params{Delimiter: "/", MaxKeys: 1000}, pageWant{}},
		{"prefix matching nothing", []string{"a", "b"}, Params{Prefix: "x", MaxKeys: 1000}, pageWant{}},
		{"invalid UTF-8 prefix (half of é)", []string{"é", "ê", "e"}, Params{Prefix: "\xc3", MaxKeys: 1000},
			pageWant{contents: []string{"é", "ê"}}},
		{"invalid UTF-8 delimiter", []string{"é1", "é2", "ê"}, Params{Delimiter: "\xa9", MaxKeys: 1000},
			pageWant{contents: []string{"ê"}, prefixes: []string{"\xc3\xa9"}}},
		{"invalid UTF-8 after", []string{"é", "ê", "e"}, Params{After: "\xc3\xa9\xff", MaxKeys: 1000},
			pageWant{contents: []string{"ê"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := newSource(tc.keys...).list(t, tc.p)
			if want := tc.want.page(); !reflect.DeepEqual(got, want) {
				t.Fatalf("List:\n got %+v\nwant %+v", got, want)
			}
			if ref := naive(tc.keys, tc.p); !reflect.DeepEqual(ref, tc.want.page()) {
				t.Fatalf("the reference disagrees with the table:\n ref %+v", ref)
			}
		})
	}
}

// TestPagination: following Next page by page lists every key and common
// prefix once, in order, as one big page does, for every max-keys.
func TestPagination(t *testing.T) {
	keys := []string{"a", "a/", "a/1", "a/2/x", "a/2/y", "a/3", "b/1", "b/2", "b/3", "c", "c/", "c/d/e", "d/1", "é/1", "é/2", "😀"}
	for _, delim := range []string{"", "/"} {
		for _, prefix := range []string{"", "a/", "a", "c/"} {
			full := naive(keys, Params{Prefix: prefix, Delimiter: delim, MaxKeys: 1000})
			for maxKeys := 1; maxKeys <= 4; maxKeys++ {
				checkPages(t, newSource(keys...), Params{Prefix: prefix, Delimiter: delim, MaxKeys: maxKeys}, full)
			}
		}
	}
}

func checkPages(t *testing.T, src *source, p Params, full Page[string]) {
	t.Helper()
	var contents, prefixes []string
	for pages := 0; ; pages++ {
		if pages > 1000 {
			t.Fatalf("%+v: no end after 1000 pages", p)
		}
		page := src.list(t, p)
		if n := page.KeyCount(); n > p.MaxKeys || page.IsTruncated && n != p.MaxKeys {
			t.Fatalf("%+v: page of %d (truncated %v)", p, n, page.IsTruncated)
		}
		contents = append(contents, page.Contents...)
		prefixes = append(prefixes, page.CommonPrefixes...)
		if !page.IsTruncated {
			if page.Next != "" {
				t.Fatalf("%+v: last page has Next %q", p, page.Next)
			}
			break
		}
		p.After = page.Next
	}
	if !slices.Equal(contents, full.Contents) || !slices.Equal(prefixes, full.CommonPrefixes) {
		t.Fatalf("%+v: pages listed\n %q %q\nwant\n %q %q", p, contents, prefixes, full.Contents, full.CommonPrefixes)
	}
}

// TestSkipsGroups: a large group rolled up into one common prefix costs one
// scan to skip, not a read of its keys.
func TestSkipsGroups(t *testing.T) {
	var keys []string
	for i := range 10000 {
		keys = append(keys, fmt.Sprintf("big/%05d", i))
	}
	keys = append(keys, "a", "z/1", "zz")
	src := newSource(keys...)
	page := src.list(t, Params{Delimiter: "/", MaxKeys: 1000})
	want := Page[string]{Contents: []string{"a", "zz"}, CommonPrefixes: []string{"big/", "z/"}}
	if !reflect.DeepEqual(page, want) {
		t.Fatalf("List = %+v, want %+v", page, want)
	}
	if src.entries > 2*delimitedBatch || src.scans > 4 {
		t.Fatalf("List read %d entries in %d scans to skip a group of 10000", src.entries, src.scans)
	}
}

func TestSuccessor(t *testing.T) {
	tests := []struct {
		in, want string
		ok       bool
	}{
		{"", "", false},
		{"a", "b", true},
		{"a/", "a0", true},
		{"\u007F", "\u0080", true},
		{"é", "ê", true},
		{"\uD7FF", "\uE000", true},
		{"\uFFFF", "\U00010000", true},
		{"a\U0010FFFF", "b", true},
		{"\U0010FFFF\U0010FFFF", "", false},
		{"a\xc3", "a\xc4", true},
		{"a\xff", "b", true},
	}
	for _, tc := range tests {
		got, ok := Successor(tc.in)
		if got != tc.want || ok != tc.ok {
			t.Errorf("Successor(%q) = %q, %v; want %q, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}

// TestRandom compares List with the reference on random key sets over a
// small alphabet that makes groups, prefixes and delimiters collide.
func TestRandom(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	alphabet := []string{"a", "b", "/", "é", "😀", "-"}
	word := func(n int) string {
		var b strings.Builder
		for range n {
			b.WriteString(alphabet[rng.IntN(len(alphabet))])
		}
		return b.String()
	}
	for range 300 {
		var keys []string
		for range rng.IntN(40) {
			keys = append(keys, word(1+rng.IntN(5)))
		}
		p := Params{Prefix: word(rng.IntN(2)), Delimiter: word(rng.IntN(2)), After: word(rng.IntN(3)), MaxKeys: rng.IntN(6)}
		if got, want := newSource(keys...).list(t, p), naive(keys, p); !reflect.DeepEqual(got, want) {
			t.Fatalf("keys %q, %+v:\n got %+v\nwant %+v", keys, p, got, want)
		}
		if p.MaxKeys > 0 {
			p.After = ""
			checkPages(t, newSource(keys...), p, naive(keys, Params{Prefix: p.Prefix, Delimiter: p.Delimiter, MaxKeys: 1000}))
		}
	}
}

// FuzzList compares List with the reference: keys are the lines of the input
// made valid UTF-8; the parameters are any bytes.
func FuzzList(f *testing.F) {
	f.Add("a/1\na/2\nb\nc/d", "", "/", "", uint16(1))
	f.Add("é\nê\ne\n😀/x", "\xc3", "\xa9", "a", uint16(2))
	f.Add("photos/\nphotos/2024/a\nphotos/b", "photos/", "/", "photos/", uint16(1000))
	f.Fuzz(func(t *testing.T, lines, prefix, delim, after string, maxKeys uint16) {
		var keys []string
		for _, k := range strings.Split(strings.ToValidUTF8(lines, "?"), "\n") {
			if k != "" {
				keys = append(keys, k)
			}
		}
		p := Params{Prefix: prefix, Delimiter: delim, After: after, MaxKeys: int(maxKeys % 1001)}
		if got, want := newSource(keys...).list(t, p), naive(keys, p); !reflect.DeepEqual(got, want) {
			t.Fatalf("keys %q, %+v:\n got %+v\nwant %+v", keys, p, got, want)
		}
	})
}
