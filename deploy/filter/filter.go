// Package filter selects the files and objects a deploy touches and the
// per-file header rules it applies: --exclude/--include with the exact
// semantics of aws s3 sync (patterns evaluated in order, the last that
// matches wins, everything included by default), pattern lists such as
// --gzip '*.js,*.css', and rules such as --cache-control 'index.html=no-cache'.
//
// All patterns are shell patterns as Python's fnmatch reads them, which is
// what the AWS CLI uses: '*' matches any run of characters including '/',
// '?' any one character including '/', '[seq]' one character in seq and
// '[!seq]' one not in it ('a-z' ranges work; a ']' first in the set is part
// of it). There is no escape character: write "[*]", "[?]" or "[[]" for a
// literal '*', '?' or '['. Matching is case-sensitive.
package filter

import "strings"

// Filter is an ordered list of --exclude and --include patterns, as
// aws s3 sync evaluates them. The zero Filter includes everything.
//
// aws s3 sync joins each pattern to the sync's root (the absolute path of the
// local directory, or BUCKET/PREFIX on the S3 side) and matches it with
// fnmatch against the file's full path. Included does the same with the root
// taken literally, which is the same thing as matching the pattern against the
// path relative to the root: "*.map" excludes maps at every depth (since '*'
// crosses '/'), "assets/*" everything under assets/, "index.html" only the
// top-level index.html, and "node_modules" no file at all (a directory is
// never matched, only the files in it, so write "node_modules/*"). The two
// corner cases where the root itself matters — a pattern beginning with '/',
// which aws s3 sync matches against the absolute local path and so never
// against an S3 key, and a root that itself contains '*', '?' or '[' — are
// reproduced by Rooted.
type Filter struct {
	rules []rule
	root  string
}

type rule struct {
	exclude bool
	pattern string
	glob    glob // pattern joined to the Filter's root (see Rooted)
}

// Exclude appends an --exclude pattern. Like aws s3 sync it accepts any
// string: a '[' that is never closed is a literal '[' (see CheckPattern).
func (f *Filter) Exclude(pattern string) { f.add(true, pattern) }

// Include appends an --include pattern; see Exclude.
func (f *Filter) Include(pattern string) { f.add(false, pattern) }

func (f *Filter) add(exclude bool, pattern string) {
	g, _ := compileGlob(joinRoot(f.root, pattern))
	f.rules = append(f.rules, rule{exclude: exclude, pattern: pattern, glob: g})
}

// Empty reports whether f has no patterns, so that it includes everything.
func (f Filter) Empty() bool { return len(f.rules) == 0 }

// Rooted returns a copy of f that evaluates its patterns exactly as
// aws s3 sync does on one side of a sync whose root is root: each pattern is
// joined to root as Python's os.path.join does (a pattern beginning with '/'
// replaces the root) and matched against root joined to the relative path.
// For the local side root is the absolute path of the source directory; for
// the S3 side it is "BUCKET/PREFIX" as written after s3:// (no trailing
// slash needed). It differs from f only for patterns beginning with '/' and
// for roots containing '*', '?' or '['.
func (f Filter) Rooted(root string) Filter {
	out := Filter{root: root, rules: make([]rule, len(f.rules))}
	for i, r := range f.rules {
		g, _ := compileGlob(joinRoot(root, r.pattern))
		out.rules[i] = rule{exclude: r.exclude, pattern: r.pattern, glob: g}
	}
	return out
}

// joinRoot is Python's posixpath.join(root, p) for a single p.
func joinRoot(root, p string) string {
	switch {
	case strings.HasPrefix(p, "/"), root == "":
		return p
	case strings.HasSuffix(root, "/"):
		return root + p
	default:
		return root + "/" + p
	}
}

// Included reports whether rel, a slash-separated path relative to the sync's
// root (the local directory, or the bucket prefix on the S3 side), is
// selected: the last pattern that matches it decides, and a path no pattern
// matches is included.
func (f Filter) Included(rel string) bool {
	if len(f.rules) == 0 {
		return true
	}
	name := decode(joinRoot(f.root, rel))
	for i := len(f.rules) - 1; i >= 0; i-- {
		if f.rules[i].glob.match(name) {
			return !f.rules[i].exclude
		}
	}
	return true
}

// CheckPattern reports a pattern that aws s3 sync (and Filter) accept but that
// almost certainly does not say what was meant, so that a command can warn or
// refuse: a '[' that is never closed (it is matched literally; "[[]" is the
// way to write a literal '['), and a pattern beginning with '/' (aws s3 sync
// matches it against the absolute local path, not the path under the sync's
// root, and never against an S3 key). It returns nil for every other pattern.
func CheckPattern(pattern string) error {
	if strings.HasPrefix(pattern, "/") {
		return badPattern(pattern, "it begins with '/', so aws s3 sync matches it against the absolute path of the local file, never against an S3 key; patterns are relative to the sync's root: drop the leading '/'")
	}
	if _, at := compileGlob(pattern); at >= 0 {
		return badPattern(pattern, "a '[' is never closed, so it matches a literal '['; write '[[]' for a literal '[' or close the set with ']'")
	}
	return nil
}
