// Package invalidation plans and runs the cheapest CloudFront invalidation
// that covers a deploy's changed keys, within CloudFront's limits, and says
// what it chose and why.
//
// The core is NewPlan: from the changed object keys, the origin path, the
// default root object and (optionally) every key of the site, it computes the
// invalidation paths. The handler is Invalidator.Run, which sends a Plan to
// CloudFront in batches that fit beside the invalidations already in progress
// on the distribution, and can wait for them to complete.
//
// # Cost model and rules
//
// CloudFront bills every invalidation path the same, a wildcard path ("/dir/*")
// counting as one, however many objects it matches; but a wildcard also evicts
// the unchanged objects it matches, which then miss the cache once. At most
// 3,000 individual paths and 15 wildcard paths may be in progress on a
// distribution at a time, and a single invalidation must fit these limits.
// NewPlan therefore:
//
//  1. Maps every changed key under the origin path to its URL path, with the
//     origin path stripped and what CloudFront requires percent-encoded (see
//     EncodePath). A default root object ("docs/index.html") is also served
//     as its directory, so "/docs/" and "/docs" are invalidated too ("/" for
//     the root's). A key with a "*" (which CloudFront reads as a wildcard, and
//     only at the end) or too long to be a path is invalidated as a wildcard
//     on the part before the "*" or on the longest prefix that fits.
//  2. Collapses, when Options.All lists the site, a directory's paths into
//     "/dir/*" when that replaces at least two paths and at least 80% of the
//     directory's files (all of them, in every subdirectory) changed, so that
//     it evicts at most one unchanged file for every four changed ones: the
//     outermost such directories are taken ("/*" when it holds for the whole
//     site), those saving the most paths first, while the wildcard limit
//     allows.
//  3. Merges, while there are more wildcards than the limit, the wildcards
//     under a directory into that directory's wildcard.
//  4. Collapses, while there are more individual paths than the limit, a
//     directory whose wildcard keeps within the wildcard limit.
//
// In steps 3 and 4 the directory is, when Options.All lists the site, the one
// evicting the fewest more unchanged files among those that save enough on
// their own, unless one that saves only part evicts fewer per path saved (its
// rate, over all that must be saved, being fewer than the former's). Without
// Options.All nothing is collapsed but to meet the limits, and as the
// unchanged files are unknown a deeper directory is assumed to evict fewer:
// the deepest directory other than the root that saves enough on its own,
// else the one saving the most, else the root. Ties are broken by depth
// (deeper first), then by path, so a plan is deterministic; its paths are
// sorted.
package invalidation

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
)

// CloudFront's limits on the invalidation paths in progress per distribution.
const (
	// DefaultMaxPaths is how many individual (non-wildcard) paths may be in
	// progress on a distribution.
	DefaultMaxPaths = 3000
	// DefaultMaxWildcards is how many wildcard paths may be in progress on a
	// distribution.
	DefaultMaxWildcards = 15
)

// collapseShare is the rule of step 2: a directory is collapsed voluntarily
// when its unchanged files, times collapseShare, are at most its changed
// files (at least 80% changed).
const collapseShare = 4

// Options configure NewPlan.
type Options struct {
	// OriginPath is the distribution origin's path, the prefix the sync
	// wrote under ("site", "/site" and "site/" are the same). Keys outside it
	// are ignored, and it is stripped: "site/a.html" is "/a.html".
	OriginPath string
	// DefaultRootObject is the object served for a directory, usually
	// "index.html": a changed "docs/index.html" also invalidates "/docs/" and
	// "/docs", and the root "index.html" also "/". Empty: none.
	DefaultRootObject string
	// All is every key of the site after the deploy (the same kind of keys as
	// the changed ones, prefix included), so the planner knows which
	// unchanged objects a wildcard would also evict. Nil: unknown, and
	// nothing is collapsed but to meet the limits.
	All []string
	// MaxPaths is the most individual paths the plan may have (0: 3,000,
	// DefaultMaxPaths).
	MaxPaths int
	// MaxWildcards is the most wildcard paths the plan may have (0: 15,
	// DefaultMaxWildcards).
	MaxWildcards int
}

// Plan is what to invalidate.
type Plan struct {
	// Paths are the invalidation paths, sorted: URL paths that start with
	// "/", percent-encoded, a wildcard ending in "*".
	Paths []string
	// Wildcards is how many of Paths end in "*".
	Wildcards int
	// Reasons explain the plan in sentences, for the user: the first sums it
	// up, the others say what was collapsed, encoded or ignored, and why.
	Reasons []string
}

// NewPlan returns the invalidation that covers the changed keys (object keys,
// prefix included, as a sync reports them: uploaded, updated or deleted ones)
// at the least cost within the limits, by the rules of the package
// documentation. Duplicate keys count once. An empty change set, or one with
// no key under the origin path, gives a plan with no paths and a reason.
func NewPlan(changed []string, o Options) (Plan, error) {
	switch {
	case o.MaxPaths < 0:
		return Plan{}, fmt.Errorf("invalidation plan: MaxPaths is %d: give a positive number, or 0 for CloudFront's %d", o.MaxPaths, DefaultMaxPaths)
	case o.MaxWildcards < 0:
		return Plan{}, fmt.Errorf("invalidation plan: MaxWildcards is %d: give a positive number, or 0 for CloudFront's %d", o.MaxWildcards, DefaultMaxWildcards)
	}
	if o.MaxPaths == 0 {
		o.MaxPaths = DefaultMaxPaths
	}
	if o.MaxWildcards == 0 {
		o.MaxWildcards = DefaultMaxWildcards
	}
	for i, k := range changed {
		if k == "" {
			return Plan{}, fmt.Errorf("invalidation plan: changed key %d of %d is empty: list object keys, one a line, without blank lines", i+1, len(changed))
		}
	}
	pl := &planner{o: o, nodes: map[string]*node{}}
	pl.prefix = strings.Trim(o.OriginPath, "/")
	if pl.prefix != "" {
		pl.prefix += "/"
	}
	pl.addChanged(changed)
	if len(pl.rels) == 0 {
		return pl.empty(len(changed)), nil
	}
	pl.addAll()
	for _, n := range pl.order {
		n.paths0, n.unchanged0 = n.exact+n.wild, n.unchanged
	}
	if pl.known {
		pl.voluntary()
	}
	pl.fitWildcards()
	pl.fitPaths()
	return pl.plan(), nil
}

// A node is a directory of URL paths, such as "/" or "/docs/".
type node struct {
	path     string // "/…/", encoded
	parent   *node
	children []*node
	depth    int // 0 for "/"

	// exact and wild count the paths of the plan under the directory (in
	// it and its subdirectories) as it is now: individual paths, and
	// wildcards (its own "/dir/*" when collapsed).
	exact, wild int
	// changed counts the changed files under the directory.
	changed int
	// unchanged counts the unchanged files under the directory that no
	// wildcard of the plan evicts yet (0 when the site is unknown).
	unchanged int

	collapsed bool // the plan has path+"*"
	covered   bool // an ancestor is collapsed

	// paths0 and unchanged0 are exact+wild and unchanged before any
	// collapse, for the reasons.
	paths0, unchanged0 int
	// why is the rule a collapsed directory was collapsed by: voluntary,
	// or the limit it was collapsed to meet; kept is the reason a
	// directory was not collapsed voluntarily.
	why, kept string
}

// Rules a directory is collapsed by (node.why).
const (
	whyVoluntary = "voluntary"
	whyWildcards = "wildcards"
	whyPaths     = "paths"
)

// planner is the state of one NewPlan.
type planner struct {
	o      Options
	prefix string

	rels    []string        // the changed keys under the prefix, relative, sorted, unique
	changed map[string]bool // rels as a set
	targets []string        // the paths the changed files need, before collapsing
	nodes   map[string]*node
	order   []*node // every node, sorted by path
	root    *node
	known   bool // Options.All was given

	outside           int             // changed keys outside the prefix
	encoded           []string        // keys whose path needed percent-encoding
	indexes           []string        // default root objects, with their extra paths
	starred, tooLong  []string        // keys invalidated with a wildcard
	forcedUnchanged   int             // unchanged files that those wildcards evict
	wildcardsToTarget map[string]bool // bases of the wildcard targets ("/a/b" for "/a/b*")
}

// addChanged maps the changed keys to their target paths and builds the
// directory tree.
func (pl *planner) addChanged(changed []string) {
	pl.changed = map[string]bool{}
	for _, k := range changed {
		rel, ok := strings.CutPrefix(k, pl.prefix)
		if !ok {
			pl.outside++
			continue
		}
		if !pl.changed[rel] {
			pl.changed[rel] = true
			pl.rels = append(pl.rels, rel)
		}
	}
	slices.Sort(pl.rels)
	key := func(rel string) string { return pl.prefix + rel }
	seen := map[string]bool{}
	add := func(p string) {
		if !seen[p] {
			seen[p] = true
			pl.targets = append(pl.targets, p)
		}
	}
	var anchors []string // the directory of each changed file's main path
	for _, rel := range pl.rels {
		main := EncodePath(rel)
		if i := strings.IndexByte(rel, '*'); i >= 0 {
			main = EncodePath(rel[:i]) + "*"
			pl.starred = append(pl.starred, fmt.Sprintf("%q as %s", key(rel), truncate(main)))
		} else if main != "/"+rel {
			pl.encoded = append(pl.encoded, fmt.Sprintf("%q as %s", key(rel), main))
		}
		if len(main) > MaxPathLength {
			main = cutPath(main, MaxPathLength-1) + "*"
			pl.tooLong = append(pl.tooLong, fmt.Sprintf("%.60q… as %s", key(rel), truncate(main)))
		}
		add(main)
		anchors = append(anchors, dirOf(main))
		if strings.HasSuffix(main, "*") {
			continue
		}
		if extra := pl.indexPaths(rel); len(extra) > 0 {
			for _, p := range extra {
				add(p)
			}
			pl.indexes = append(pl.indexes, fmt.Sprintf("%q also as %s", key(rel), strings.Join(extra, " and ")))
		}
	}
	// A wildcard target covers the targets it prefixes.
	pl.wildcardsToTarget = map[string]bool{}
	for _, t := range pl.targets {
		if base, ok := strings.CutSuffix(t, "*"); ok {
			pl.wildcardsToTarget[base] = true
		}
	}
	if len(pl.wildcardsToTarget) > 0 {
		pl.targets = slices.DeleteFunc(pl.targets, func(t string) bool {
			base, wild := strings.CutSuffix(t, "*")
			n := len(base)
			if wild {
				n-- // a wildcard does not cover itself
			}
			return pl.coveredByTarget(base, n)
		})
	}
	slices.Sort(pl.targets)
	for _, t := range pl.targets {
		n := pl.dir(dirOf(t))
		for a := n; a != nil; a = a.parent {
			if strings.HasSuffix(t, "*") {
				a.wild++
			} else {
				a.exact++
			}
		}
	}
	for _, d := range anchors {
		for a := pl.dir(d); a != nil; a = a.parent {
			a.changed++
		}
	}
	pl.root = pl.nodes["/"]
	for _, n := range pl.nodes {
		pl.order = append(pl.order, n)
	}
	slices.SortFunc(pl.order, func(a, b *node) int { return strings.Compare(a.path, b.path) })
}

// coveredByTarget reports whether a wildcard target's base is a prefix of
// p[:n] or shorter.
func (pl *planner) coveredByTarget(p string, n int) bool {
	for i := 1; i <= n && i <= len(p); i++ {
		if pl.wildcardsToTarget[p[:i]] {
			return true
		}
	}
	return false
}

// indexPaths returns the directory paths under which a default root object
// is also served: "/" for the root's, "/docs/" and "/docs" for
// "docs/index.html".
func (pl *planner) indexPaths(rel string) []string {
	dro := pl.o.DefaultRootObject
	switch {
	case dro == "":
		return nil
	case rel == dro:
		return []string{"/"}
	case !strings.Contains(dro, "/") && strings.HasSuffix(rel, "/"+dro):
		dir := rel[:len(rel)-len(dro)]
		return []string{EncodePath(dir), EncodePath(strings.TrimSuffix(dir, "/"))}
	}
	return nil
}

// dir returns the node of a directory path, creating it and its ancestors.
func (pl *planner) dir(p string) *node {
	if n := pl.nodes[p]; n != nil {
		return n
	}
	n := &node{path: p, depth: strings.Count(p, "/") - 1}
	pl.nodes[p] = n
	if p != "/" {
		n.parent = pl.dir(parentDir(p))
		n.parent.children = append(n.parent.children, n)
	}
	return n
}

// addAll counts, when Options.All is given, the unchanged files under every
// directory, less those the wildcard targets evict anyway.
func (pl *planner) addAll() {
	if pl.o.All == nil {
		return
	}
	pl.known = true
	seen := map[string]bool{}
	for _, k := range pl.o.All {
		rel, ok := strings.CutPrefix(k, pl.prefix)
		if !ok || k == "" || pl.changed[rel] || seen[rel] {
			continue
		}
		seen[rel] = true
		p := EncodePath(rel)
		if pl.coveredByTarget(p, len(p)) {
			pl.forcedUnchanged++
			continue
		}
		d := dirOf(p)
		for pl.nodes[d] == nil {
			d = parentDir(d)
		}
		for a := pl.nodes[d]; a != nil; a = a.parent {
			a.unchanged++
		}
	}
}

// voluntary collapses the outermost directories where a wildcard replaces at
// least two paths and at least 80% of the files changed (rule 2).
func (pl *planner) voluntary() {
	qualifies := func(n *node) bool {
		return n.exact+n.wild >= 2 && collapseShare*n.unchanged <= n.changed
	}
	var outer []*node
	for _, n := range pl.order {
		if !qualifies(n) {
			continue
		}
		inner := false
		for a := n.parent; a != nil; a = a.parent {
			if qualifies(a) {
				inner = true
				break
			}
		}
		if !inner {
			outer = append(outer, n)
		}
	}
	slices.SortStableFunc(outer, func(a, b *node) int {
		return cmp.Or(
			cmp.Compare(b.exact+b.wild, a.exact+a.wild),
			cmp.Compare(a.unchanged, b.unchanged),
			strings.Compare(a.path, b.path))
	})
	for _, n := range outer {
		if n.wild == 0 && pl.root.wild+1 > pl.o.MaxWildcards {
			n.kept = fmt.Sprintf("kept the %s under %s although %s changed: %s* would exceed the limit of %s",
				plural(n.exact, "path"), n.path, share(n), n.path, plural(pl.o.MaxWildcards, "wildcard"))
			continue
		}
		pl.collapse(n, whyVoluntary)
	}
}

// share describes how many of a directory's files changed.
func share(n *node) string {
	if n.unchanged == 0 {
		return "all its files"
	}
	return fmt.Sprintf("%d of its %d files", n.changed, n.changed+n.unchanged)
}

// fitWildcards merges wildcards while there are more than the limit
// (rule 3).
func (pl *planner) fitWildcards() {
	for pl.root.wild > pl.o.MaxWildcards {
		best := pl.choose(pl.root.wild-pl.o.MaxWildcards, func(n *node) int {
			return n.wild - 1
		})
		pl.collapse(best, whyWildcards)
	}
}

// fitPaths collapses directories while there are more individual paths than
// the limit (rule 4).
func (pl *planner) fitPaths() {
	for pl.root.exact > pl.o.MaxPaths {
		best := pl.choose(pl.root.exact-pl.o.MaxPaths, func(n *node) int {
			if n.exact+n.wild < 2 || pl.root.wild+1-n.wild > pl.o.MaxWildcards {
				return 0
			}
			return n.exact
		})
		pl.collapse(best, whyPaths)
	}
}

// choose returns the directory to collapse next to save need paths (or
// wildcards), saves(n) being what collapsing n saves (0 or less: n is not a
// candidate). The root saves everything, so there always is one.
//
// When the site is known, a directory that saves enough on its own is the
// one evicting the fewest unchanged files; but a directory that does not is
// taken first when it evicts the fewest per unit saved and that rate, over
// all of need, evicts fewer than the best one that saves enough.
//
// When the site is unknown, the unchanged files a wildcard evicts are
// guessed fewer the deeper its directory: the deepest directory but the root
// that saves enough on its own, the one saving least among those; else the
// one but the root saving the most, to go on from; else the root.
//
// Remaining ties go to the deeper directory, then to the first path.
func (pl *planner) choose(need int, saves func(*node) int) *node {
	var enough, partial *node
	var enoughSaves, partialSaves int
	for _, n := range pl.order {
		if n.covered || n.collapsed {
			continue
		}
		s := saves(n)
		if s <= 0 || (!pl.known && n == pl.root) {
			continue
		}
		if s >= need {
			if enough == nil || pl.better(n, s, enough, enoughSaves, true) {
				enough, enoughSaves = n, s
			}
		} else if partial == nil || pl.better(n, s, partial, partialSaves, false) {
			partial, partialSaves = n, s
		}
	}
	switch {
	case !pl.known && enough != nil:
		return enough
	case !pl.known && partial != nil:
		return partial
	case !pl.known:
		return pl.root
	case enough == nil: // not when a limit is exceeded: the root saves enough
		return partial
	case partial != nil && partial.unchanged*need < enough.unchanged*partialSaves:
		return partial
	}
	return enough
}

// better reports whether collapsing a, saving as, is preferred to b, saving
// bs, among the directories that each save enough (alone) or not.
func (pl *planner) better(a *node, as int, b *node, bs int, alone bool) bool {
	var c int
	switch {
	case pl.known && alone: // fewest evictions
		c = cmp.Compare(a.unchanged, b.unchanged)
	case pl.known: // fewest evictions per unit saved
		c = cmp.Compare(a.unchanged*bs, b.unchanged*as)
	case alone: // deepest, then saving least
		c = cmp.Or(cmp.Compare(b.depth, a.depth), cmp.Compare(as, bs))
	default: // saving most
		c = cmp.Compare(bs, as)
	}
	return cmp.Or(c, cmp.Compare(b.depth, a.depth)) < 0
}

// collapse replaces the paths under n by n.path+"*", by rule why.
func (pl *planner) collapse(n *node, why string) {
	n.why = why
	for a := n.parent; a != nil; a = a.parent {
		a.exact -= n.exact
		a.wild += 1 - n.wild
		a.unchanged -= n.unchanged
	}
	n.exact, n.wild, n.unchanged = 0, 1, 0
	n.collapsed = true
	var cover func(*node)
	cover = func(c *node) {
		for _, d := range c.children {
			d.covered = true
			cover(d)
		}
	}
	cover(n)
}

// evicts says how many unchanged files a wildcard evicts.
func (pl *planner) evicts(n int) string {
	switch {
	case !pl.known:
		return "how many unchanged files it evicts is unknown: no list of the site's keys was given"
	case n == 0:
		return "it evicts no unchanged file"
	}
	return fmt.Sprintf("it evicts %s", plural(n, "unchanged file"))
}

// collapseReason explains a directory of the plan: why it was collapsed, or
// why not ("" for neither).
func (pl *planner) collapseReason(n *node) string {
	switch {
	case n.covered:
		return ""
	case !n.collapsed:
		return n.kept
	case n.why == whyVoluntary:
		return fmt.Sprintf("collapsed %s under %s into %s*: 1 path instead of %d, and %s (a directory is collapsed when at least 80%% of its files changed)",
			plural(n.changed, "changed file"), n.path, n.path, n.paths0, pl.evicts(n.unchanged0))
	}
	limit := plural(pl.o.MaxPaths, "path")
	if n.why == whyWildcards {
		limit = plural(pl.o.MaxWildcards, "wildcard")
	}
	return fmt.Sprintf("collapsed %s under %s into %s* to stay within the limit of %s: 1 path instead of %d (%s)",
		plural(n.changed, "changed file"), n.path, n.path, limit, n.paths0, pl.evicts(n.unchanged0))
}

// plan assembles the result.
func (pl *planner) plan() Plan {
	var p Plan
	for _, t := range pl.targets {
		if n := pl.nodes[dirOf(t)]; !n.covered && !n.collapsed {
			p.Paths = append(p.Paths, t)
		}
	}
	for _, n := range pl.order {
		if n.collapsed && !n.covered {
			p.Paths = append(p.Paths, n.path+"*")
		}
	}
	slices.Sort(p.Paths)
	p.Paths = slices.Compact(p.Paths)
	for _, t := range p.Paths {
		if strings.HasSuffix(t, "*") {
			p.Wildcards++
		}
	}
	summary := fmt.Sprintf("%s cover %s", plural(len(p.Paths), "path"), plural(len(pl.rels), "changed file"))
	if len(p.Paths) == 1 {
		summary = strings.Replace(summary, " cover ", " covers ", 1)
	}
	if p.Wildcards > 0 {
		summary += fmt.Sprintf(" (%s, %s)", plural(p.Wildcards, "wildcard"), plural(len(p.Paths)-p.Wildcards, "individual path"))
	}
	if pl.prefix != "" {
		summary += fmt.Sprintf(" under the origin path %q", pl.prefix)
	}
	p.Reasons = append(p.Reasons, summary)
	if pl.outside > 0 {
		p.Reasons = append(p.Reasons, fmt.Sprintf("ignored %s outside the origin path %q: this distribution does not serve them", plural(pl.outside, "changed key"), pl.prefix))
	}
	if len(pl.indexes) > 0 {
		p.Reasons = append(p.Reasons, fmt.Sprintf("invalidating the directory paths of %s too (%s is served for its directory): %s",
			plural(len(pl.indexes), "default root object"), pl.o.DefaultRootObject, list(pl.indexes)))
	}
	if len(pl.encoded) > 0 {
		p.Reasons = append(p.Reasons, fmt.Sprintf("percent-encoded %s, as CloudFront requires for spaces, non-ASCII and unsafe characters: %s",
			plural(len(pl.encoded), "key"), list(pl.encoded)))
	}
	if len(pl.starred) > 0 {
		r := fmt.Sprintf("invalidating %s with a wildcard, as CloudFront reads \"*\" as a wildcard and only at the end of a path: %s",
			plural(len(pl.starred), "key containing \"*\""), list(pl.starred))
		if pl.known {
			r += fmt.Sprintf(" (%s)", pl.evicts(pl.forcedUnchanged))
			r = strings.Replace(r, "(it evicts", "(they evict", 1)
		}
		p.Reasons = append(p.Reasons, r)
	}
	if len(pl.tooLong) > 0 {
		p.Reasons = append(p.Reasons, fmt.Sprintf("invalidating %s with a wildcard on the longest prefix that fits CloudFront's %d characters: %s",
			plural(len(pl.tooLong), "key too long for a path"), MaxPathLength, list(pl.tooLong)))
	}
	for _, n := range pl.order {
		if r := pl.collapseReason(n); r != "" {
			p.Reasons = append(p.Reasons, r)
		}
	}
	return p
}

// empty is the plan for a change set with nothing under the origin path.
func (pl *planner) empty(changed int) Plan {
	reason := "no keys changed: nothing to invalidate"
	if changed > 0 {
		reason = fmt.Sprintf("none of the %s is under the origin path %q: nothing to invalidate", plural(changed, "changed key"), pl.prefix)
	}
	return Plan{Reasons: []string{reason}}
}

// dirOf returns the directory of a path: "/a/" for "/a/b.html", "/a/" and
// "/a/b*", "/" for "/a".
func dirOf(p string) string {
	p = strings.TrimSuffix(p, "*")
	return p[:strings.LastIndexByte(p, '/')+1]
}

// parentDir returns the parent of a directory other than "/".
func parentDir(d string) string {
	d = d[:len(d)-1]
	return d[:strings.LastIndexByte(d, '/')+1]
}

// cutPath returns the longest prefix of an encoded path of at most n bytes
// that does not split a %XX escape.
func cutPath(p string, n int) string {
	if len(p) <= n {
		return p
	}
	p = p[:n]
	if i := strings.LastIndexByte(p, '%'); i >= 0 && i > n-3 {
		p = p[:i]
	}
	return p
}

// plural returns "1 path" or "n paths".
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	if strings.HasSuffix(noun, "\"") { // key containing "*"
		return fmt.Sprintf("%d %s", n, strings.Replace(noun, "key ", "keys ", 1))
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// list joins at most five items, saying how many more there are.
func list(items []string) string {
	const shown = 5
	if len(items) <= shown {
		return strings.Join(items, ", ")
	}
	return strings.Join(items[:shown], ", ") + fmt.Sprintf(" and %d more", len(items)-shown)
}

// truncate shortens a path for a sentence.
func truncate(p string) string {
	if len(p) <= 80 {
		return p
	}
	return p[:40] + "…" + p[len(p)-20:]
}
