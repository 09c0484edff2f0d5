package pipeline

import (
	"fmt"
	"regexp"
	"strings"
)

// Selectors lists every pipeline in the file as Select takes it: "default",
// then "branches:PATTERN", "tags:PATTERN", "pull-requests:PATTERN" and
// "custom:NAME" in file order.
func (f *File) Selectors() []string {
	var out []string
	if f.Default != nil {
		out = append(out, "default")
	}
	for _, g := range f.groups() {
		for _, n := range g.named {
			out = append(out, g.kind+":"+n.Pattern)
		}
	}
	return out
}

type group struct {
	kind  string
	named []Named
}

func (f *File) groups() []group {
	return []group{{"branches", f.Branches}, {"tags", f.Tags}, {"pull-requests", f.PullRequests}, {"custom", f.Custom}}
}

// Select chooses the pipeline to run and says which it chose and why.
//
// With sel empty, the choice is Bitbucket's for a push to branch: the
// branches: entry whose name is exactly the branch, else the most specific
// glob that matches it (the one with the most literal characters, so
// feature/bb-123-* beats feature/bb-* beats feature/*; the first in the file
// on a tie), else default. With branch empty too, default.
//
// Otherwise sel names the pipeline: "default", "custom:NAME", or
// "branches:X", "tags:X", "pull-requests:X" where X is either a pattern as
// written in the file or a branch/tag name to match against the patterns
// (with the precedence above).
func (f *File) Select(sel, branch string) (*Pipeline, string, error) {
	if sel == "" {
		if branch != "" {
			if n, how := match(f.Branches, branch); n != nil {
				return n.Pipeline, fmt.Sprintf("branches: %q (%s branch %q)", n.Pattern, how, branch), nil
			}
		}
		if f.Default == nil {
			if branch != "" {
				return nil, "", fmt.Errorf("select pipeline: no branches: pattern matches %q and there is no default pipeline; add pipelines.default or run one of: %s", branch, f.available())
			}
			return nil, "", fmt.Errorf("select pipeline: there is no default pipeline; pass --pipeline with one of: %s", f.available())
		}
		if branch != "" && len(f.Branches) > 0 {
			return f.Default, fmt.Sprintf("default (no branches: pattern matches %q)", branch), nil
		}
		return f.Default, "default", nil
	}
	if sel == "default" {
		if f.Default == nil {
			return nil, "", fmt.Errorf("select pipeline: there is no default pipeline; run one of: %s", f.available())
		}
		return f.Default, "default", nil
	}
	kindName, name, ok := strings.Cut(sel, ":")
	if !ok || name == "" {
		return nil, "", fmt.Errorf("select pipeline %q: write default, branches:NAME, tags:NAME, pull-requests:NAME or custom:NAME (this file has: %s)", sel, f.available())
	}
	for _, g := range f.groups() {
		if g.kind != kindName {
			continue
		}
		for i := range g.named {
			if g.named[i].Pattern == name {
				return g.named[i].Pipeline, fmt.Sprintf("%s: %q", g.kind, name), nil
			}
		}
		if g.kind != "custom" {
			if n, how := match(g.named, name); n != nil {
				return n.Pipeline, fmt.Sprintf("%s: %q (%s %q)", g.kind, n.Pattern, how, name), nil
			}
		}
		return nil, "", fmt.Errorf("select pipeline %q: no %s pipeline is named or matches %q; this file has: %s", sel, g.kind, name, f.available())
	}
	return nil, "", fmt.Errorf("select pipeline %q: %q is not a kind of pipeline: write default, branches:NAME, tags:NAME, pull-requests:NAME or custom:NAME", sel, kindName)
}

func (f *File) available() string {
	s := f.Selectors()
	if len(s) == 0 {
		return "(none)"
	}
	return strings.Join(s, ", ")
}

// match finds the entry for name: an exact pattern first, else the matching
// glob with the most literal characters (first in file order on a tie).
func match(named []Named, name string) (*Named, string) {
	for i := range named {
		if named[i].Pattern == name {
			return &named[i], "exactly names"
		}
	}
	var best *Named
	bestScore := -1
	for i := range named {
		g, err := CompileGlob(named[i].Pattern)
		if err != nil || !g.Match(name) {
			continue
		}
		if s := g.literals; s > bestScore {
			best, bestScore = &named[i], s
		}
	}
	if best == nil {
		return nil, ""
	}
	return best, "glob matches"
}

// Glob is a compiled Bitbucket glob (branches, tags, pull-requests,
// changesets): `*` matches any run of characters but `/`, `**` any run
// including `/`, `?` one character but `/`, `{a,b}` either alternative
// (alternatives may hold wildcards and nest); everything else is literal.
type Glob struct {
	re       *regexp.Regexp
	literals int
}

// maxGlob bounds the length of a pattern CompileGlob accepts.
const maxGlob = 1024

// CompileGlob compiles a Bitbucket glob. An unbalanced brace is an error.
func CompileGlob(pattern string) (*Glob, error) {
	if len(pattern) > maxGlob {
		return nil, fmt.Errorf("compile glob: pattern longer than %d characters", maxGlob)
	}
	var b strings.Builder
	b.WriteString(`^`)
	depth, literals := 0, 0
	rs := []rune(pattern)
	for i := 0; i < len(rs); i++ {
		c := rs[i]
		switch {
		case c == '*' && i+1 < len(rs) && rs[i+1] == '*':
			b.WriteString(`.*`)
			i++
		case c == '*':
			b.WriteString(`[^/]*`)
		case c == '?':
			b.WriteString(`[^/]`)
		case c == '{':
			depth++
			b.WriteString(`(?:`)
		case c == '}' && depth > 0:
			depth--
			b.WriteString(`)`)
		case c == ',' && depth > 0:
			b.WriteString(`|`)
		default:
			literals++
			b.WriteString(regexp.QuoteMeta(string(c)))
		}
	}
	if depth != 0 {
		return nil, fmt.Errorf("compile glob %q: a { has no closing }", pattern)
	}
	b.WriteString(`$`)
	re, err := regexp.Compile(b.String())
	if err != nil {
		return nil, fmt.Errorf("compile glob %q: %w", pattern, err)
	}
	return &Glob{re: re, literals: literals}, nil
}

// Match reports whether name matches the glob in full.
func (g *Glob) Match(name string) bool { return g.re.MatchString(name) }

// Steps are the pipeline's steps in order, parallel groups and stages
// flattened.
func (p *Pipeline) Steps() []*Step {
	var out []*Step
	for _, st := range p.Stages {
		out = append(out, st.Steps...)
	}
	return out
}
