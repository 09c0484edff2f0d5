package pipeline

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/keyless-dev/keyless/internal/didyoumean"
)

// Error is one problem in a pipelines file, at a place in it.
type Error struct {
	// Line and Column are 1-based; Column is 0 when the YAML parser only
	// knows the line (syntax errors).
	Line, Column int
	Msg          string
}

func (e *Error) Error() string {
	if e.Column > 0 {
		return fmt.Sprintf("line %d, column %d: %s", e.Line, e.Column, e.Msg)
	}
	return fmt.Sprintf("line %d: %s", e.Line, e.Msg)
}

// Errors are all the problems Parse found, in file order. Parse returns them
// as its error; use errors.As to get at each one.
type Errors []*Error

func (es Errors) Error() string {
	msgs := make([]string, len(es))
	for i, e := range es {
		msgs[i] = e.Error()
	}
	return strings.Join(msgs, "\n")
}

// maxExpansion bounds the work aliases can make Parse do (a file of a few
// kilobytes can otherwise expand to billions of nodes).
const maxExpansion = 200_000

// maxErrors bounds how many problems Parse collects before it stops.
const maxErrors = 50

// Parse reads a bitbucket-pipelines.yml. YAML anchors, aliases and merge keys
// (`<<: *step`) are resolved as Bitbucket resolves them: keys written in a
// mapping win over merged ones. Unknown keys, values of the wrong type and
// missing required keys are errors; the error (of type Errors) lists every
// problem found with its line and column and what to write instead.
func Parse(data []byte) (*File, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, Errors{syntaxError(err)}
	}
	p := &parser{}
	if doc.Kind == 0 || len(doc.Content) == 0 {
		return nil, Errors{{Line: 1, Column: 1, Msg: "the file is empty: a bitbucket-pipelines.yml needs at least `pipelines:` with a `default:` or other pipeline"}}
	}
	f := p.file(doc.Content[0])
	if len(p.errs) > 0 {
		sort.SliceStable(p.errs, func(i, j int) bool {
			a, b := p.errs[i], p.errs[j]
			if a.Line != b.Line {
				return a.Line < b.Line
			}
			return a.Column < b.Column
		})
		return nil, p.errs
	}
	return f, nil
}

var yamlLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// syntaxError turns the YAML library's error into an Error.
func syntaxError(err error) *Error {
	msg := err.Error()
	var te *yaml.TypeError
	if errors.As(err, &te) && len(te.Errors) > 0 {
		msg = te.Errors[0]
	}
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[1])
		return &Error{Line: line, Msg: "invalid YAML: " + m[2] + " (check the indentation, and quote values that contain \": \" or start with *, &, !, { or [)"}
	}
	return &Error{Line: 1, Msg: "invalid YAML: " + strings.TrimPrefix(msg, "yaml: ")}
}

type parser struct {
	errs   Errors
	budget int
}

// errorf records a problem at n.
func (p *parser) errorf(n *yaml.Node, format string, args ...any) {
	if len(p.errs) >= maxErrors {
		return
	}
	p.errs = append(p.errs, &Error{Line: n.Line, Column: n.Column, Msg: fmt.Sprintf(format, args...)})
}

// spend charges the expansion budget; false once it is exhausted.
func (p *parser) spend() bool {
	p.budget++
	if p.budget == maxExpansion {
		p.errs = append(p.errs, &Error{Line: 1, Column: 1, Msg: "the file expands to too many nodes through its aliases: keep anchors for steps and scripts, not nested aliases of aliases"})
	}
	return p.budget < maxExpansion
}

// resolve follows aliases to the node they name.
func resolve(n *yaml.Node) *yaml.Node {
	for i := 0; n != nil && n.Kind == yaml.AliasNode && i < 100; i++ {
		n = n.Alias
	}
	return n
}

// kind names a node's kind for messages.
func kind(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		if n.Tag == "!!null" {
			return "empty"
		}
		return fmt.Sprintf("%q", n.Value)
	}
	return "something else"
}

type entry struct {
	key, val *yaml.Node
}

// entries are a mapping's key/value pairs with merge keys (`<<: *x` or
// `<<: [*x, *y]`) expanded: keys written in the mapping win over merged
// ones, earlier merged mappings over later ones. Duplicate keys are errors.
// where names the mapping in messages ("a step").
func (p *parser) entries(n *yaml.Node, where string) []entry {
	n = resolve(n)
	var out []entry
	seen := map[string]bool{}
	var merged []entry
	for i := 0; i+1 < len(n.Content); i += 2 {
		if !p.spend() {
			return nil
		}
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind == yaml.ScalarNode && k.Value == "<<" && k.Style == 0 {
			merged = append(merged, p.merge(v, where)...)
			continue
		}
		if k.Kind != yaml.ScalarNode {
			p.errorf(k, "a key in %s must be a plain name, not %s", where, kind(resolve(k)))
			continue
		}
		if seen[k.Value] {
			p.errorf(k, "%q appears twice in %s: keep one", k.Value, where)
			continue
		}
		seen[k.Value] = true
		out = append(out, entry{k, v})
	}
	for _, e := range merged {
		if !seen[e.key.Value] {
			seen[e.key.Value] = true
			out = append(out, e)
		}
	}
	return out
}

// merge returns the entries a merge key's value contributes.
func (p *parser) merge(v *yaml.Node, where string) []entry {
	r := resolve(v)
	switch r.Kind {
	case yaml.MappingNode:
		return p.entries(r, where)
	case yaml.SequenceNode:
		var out []entry
		have := map[string]bool{}
		for _, item := range r.Content {
			ri := resolve(item)
			if ri.Kind != yaml.MappingNode {
				p.errorf(item, "a merge key (<<) takes an alias of a mapping, or a list of them, not %s: write <<: *name", kind(ri))
				continue
			}
			for _, e := range p.entries(ri, where) {
				if !have[e.key.Value] {
					have[e.key.Value] = true
					out = append(out, e)
				}
			}
		}
		return out
	}
	p.errorf(v, "a merge key (<<) takes an alias of a mapping, or a list of them, not %s: write <<: *name", kind(r))
	return nil
}

// mapping checks that n is a mapping, then returns its entries, reporting any
// key not in allowed.
func (p *parser) mapping(n *yaml.Node, where string, allowed ...string) ([]entry, bool) {
	r := resolve(n)
	if r.Kind != yaml.MappingNode {
		p.errorf(n, "%s must be a mapping (key: value lines), not %s", where, kind(r))
		return nil, false
	}
	es := p.entries(r, where)
	var ok []entry
	for _, e := range es {
		if !slices.Contains(allowed, e.key.Value) {
			p.unknown(e.key, where, allowed)
			continue
		}
		ok = append(ok, e)
	}
	return ok, true
}

// unknown reports an unknown key, with the nearest allowed one if close.
func (p *parser) unknown(k *yaml.Node, where string, allowed []string) {
	if s := didyoumean.Nearest(k.Value, allowed); s != "" {
		p.errorf(k, "unknown key %q in %s: did you mean %q?", k.Value, where, s)
		return
	}
	p.errorf(k, "unknown key %q in %s: it takes %s", k.Value, where, strings.Join(allowed, ", "))
}

// str reads a scalar as text.
func (p *parser) str(n *yaml.Node, what string) string {
	r := resolve(n)
	if r.Kind != yaml.ScalarNode {
		p.errorf(n, "%s must be a single value, not %s", what, kind(r))
		return ""
	}
	if r.Tag == "!!null" {
		return ""
	}
	return r.Value
}

// nonEmpty reads a scalar that must not be empty.
func (p *parser) nonEmpty(n *yaml.Node, what, example string) string {
	s := p.str(n, what)
	if s == "" && resolve(n).Kind == yaml.ScalarNode {
		p.errorf(n, "%s is empty: write for example %s", what, example)
	}
	return s
}

// boolean reads true or false.
func (p *parser) boolean(n *yaml.Node, what string) bool {
	r := resolve(n)
	if r.Kind == yaml.ScalarNode && r.Tag == "!!bool" {
		return strings.EqualFold(r.Value, "true")
	}
	p.errorf(n, "%s must be true or false, not %s: write %s: true", what, kind(r), what)
	return false
}

// integer reads a positive whole number.
func (p *parser) integer(n *yaml.Node, what string) int {
	r := resolve(n)
	if r.Kind == yaml.ScalarNode && r.Tag == "!!int" {
		if v, err := strconv.Atoi(r.Value); err == nil && v > 0 {
			return v
		}
	}
	p.errorf(n, "%s must be a whole number above 0, not %s: write for example %s: 10", what, kind(r), what)
	return 0
}

// strings reads a list of scalars (or, if single is set, one scalar as a
// list of one).
func (p *parser) strList(n *yaml.Node, what string, single bool) []string {
	r := resolve(n)
	if single && r.Kind == yaml.ScalarNode && r.Tag != "!!null" {
		return []string{r.Value}
	}
	if r.Kind != yaml.SequenceNode {
		p.errorf(n, "%s must be a list (lines starting with \"- \"), not %s", what, kind(r))
		return nil
	}
	var out []string
	for _, item := range r.Content {
		if !p.spend() {
			return out
		}
		ri := resolve(item)
		if ri.Kind != yaml.ScalarNode || ri.Tag == "!!null" {
			p.errorf(item, "each item of %s must be a single value, not %s", what, kind(ri))
			continue
		}
		out = append(out, ri.Value)
	}
	return out
}

var (
	topKeys        = []string{"image", "clone", "options", "definitions", "pipelines"}
	cloneKeys      = []string{"enabled", "depth", "lfs", "skip-ssl-verify"}
	optionKeys     = []string{"max-time", "size", "docker"}
	definitionKeys = []string{"steps", "caches", "services", "pipes"}
	pipelinesKeys  = []string{"default", "branches", "tags", "pull-requests", "custom"}
	stepKeys       = []string{"name", "script", "after-script", "image", "oidc", "deployment", "trigger", "size", "caches", "services", "artifacts", "max-time", "condition", "clone", "runs-on", "fail-fast"}
	itemKeys       = []string{"step", "parallel", "stage"}
	parallelKeys   = []string{"steps", "fail-fast"}
	stageKeys      = []string{"name", "deployment", "steps", "condition", "trigger"}
	conditionKeys  = []string{"changesets"}
	changesetKeys  = []string{"includePaths", "excludePaths"}
	imageKeys      = []string{"name", "username", "password", "email", "aws", "run-as-user"}
	artifactKeys   = []string{"download", "paths"}
	pipeKeys       = []string{"pipe", "variables"}
	variableKeys   = []string{"name", "default", "allowed-values", "description"}
	sizes          = []string{"1x", "2x", "4x", "8x", "16x"}
)

func (p *parser) file(root *yaml.Node) *File {
	f := &File{}
	es, ok := p.mapping(root, "the top level", topKeys...)
	if !ok {
		return f
	}
	havePipelines := false
	for _, e := range es {
		switch e.key.Value {
		case "image":
			f.Image = p.image(e.val)
		case "clone":
			p.clone(e.val, "clone")
		case "options":
			p.options(f, e.val)
		case "definitions":
			p.definitions(f, e.val)
		case "pipelines":
			havePipelines = true
			p.pipelines(f, e.val)
		}
	}
	if !havePipelines {
		p.errorf(root, "no pipelines: add a top-level `pipelines:` with `default:` (or branches:, tags:, pull-requests:, custom:) and its steps")
	}
	return f
}

func (p *parser) image(n *yaml.Node) string {
	r := resolve(n)
	if r.Kind == yaml.MappingNode {
		es, _ := p.mapping(n, "image", imageKeys...)
		name := ""
		for _, e := range es {
			if e.key.Value == "name" {
				name = p.nonEmpty(e.val, "image name", "name: amazon/aws-cli")
			}
		}
		if name == "" {
			p.errorf(n, "image has no name: add name: with the image, e.g. name: amazon/aws-cli")
		}
		return name
	}
	return p.nonEmpty(n, "image", "image: amazon/aws-cli")
}

func (p *parser) clone(n *yaml.Node, where string) {
	es, _ := p.mapping(n, where, cloneKeys...)
	for _, e := range es {
		switch e.key.Value {
		case "enabled", "lfs", "skip-ssl-verify":
			p.boolean(e.val, e.key.Value)
		case "depth":
			if r := resolve(e.val); r.Kind == yaml.ScalarNode && r.Value == "full" {
				continue
			}
			p.integer(e.val, "depth")
		}
	}
}

func (p *parser) options(f *File, n *yaml.Node) {
	es, _ := p.mapping(n, "options", optionKeys...)
	for _, e := range es {
		switch e.key.Value {
		case "max-time":
			f.MaxTime = time.Duration(p.integer(e.val, "max-time")) * time.Minute
		case "size":
			f.Size = p.size(e.val)
		case "docker":
			p.boolean(e.val, "docker")
		}
	}
}

func (p *parser) size(n *yaml.Node) string {
	s := p.str(n, "size")
	if s != "" && !slices.Contains(sizes, s) {
		p.errorf(n, "size %q is not one of %s: write for example size: 2x", s, strings.Join(sizes, ", "))
	}
	return s
}

func (p *parser) definitions(f *File, n *yaml.Node) {
	es, _ := p.mapping(n, "definitions", definitionKeys...)
	for _, e := range es {
		switch e.key.Value {
		case "steps":
			// Steps defined here are usually anchors used elsewhere; parse
			// them so their mistakes are reported once, here.
			p.items(e.val, "definitions.steps", false)
		case "caches":
			f.Caches = p.names(e.val, "definitions.caches")
		case "services":
			f.Services = p.names(e.val, "definitions.services")
		case "pipes":
			p.names(e.val, "definitions.pipes")
		}
	}
}

// names are the keys of a mapping of named definitions.
func (p *parser) names(n *yaml.Node, where string) []string {
	r := resolve(n)
	if r.Kind != yaml.MappingNode {
		p.errorf(n, "%s must be a mapping of names to definitions, not %s", where, kind(r))
		return nil
	}
	var out []string
	for _, e := range p.entries(r, where) {
		out = append(out, e.key.Value)
	}
	return out
}

func (p *parser) pipelines(f *File, n *yaml.Node) {
	es, ok := p.mapping(n, "pipelines", pipelinesKeys...)
	if !ok {
		return
	}
	if len(es) == 0 {
		p.errorf(n, "pipelines is empty: add default: (or branches:, tags:, pull-requests:, custom:) with its steps")
	}
	for _, e := range es {
		switch e.key.Value {
		case "default":
			f.Default = p.pipeline(e.val, "pipelines.default", false)
		case "branches":
			f.Branches = p.named(e.val, "branches", false)
		case "tags":
			f.Tags = p.named(e.val, "tags", false)
		case "pull-requests":
			f.PullRequests = p.named(e.val, "pull-requests", false)
		case "custom":
			f.Custom = p.named(e.val, "custom", true)
		}
	}
}

func (p *parser) named(n *yaml.Node, kindName string, custom bool) []Named {
	r := resolve(n)
	if r.Kind != yaml.MappingNode {
		p.errorf(n, "pipelines.%s must map names or globs to steps, e.g.\n  %s:\n    main:\n      - step: ...\nnot %s", kindName, kindName, kind(r))
		return nil
	}
	var out []Named
	for _, e := range p.entries(r, "pipelines."+kindName) {
		if e.key.Value == "" {
			p.errorf(e.key, "an empty name in pipelines.%s: write the branch, tag or pipeline name (quote a glob that starts with *: '*')", kindName)
			continue
		}
		pl := p.pipeline(e.val, fmt.Sprintf("pipelines.%s.%s", kindName, e.key.Value), custom)
		out = append(out, Named{Pattern: e.key.Value, Pipeline: pl})
	}
	return out
}

func (p *parser) pipeline(n *yaml.Node, where string, custom bool) *Pipeline {
	pl := &Pipeline{Line: n.Line}
	r := resolve(n)
	if r.Kind != yaml.SequenceNode || len(r.Content) == 0 {
		p.errorf(n, "%s must be a list of steps, e.g.\n    - step:\n        script:\n          - echo hello\nnot %s", where, kind(r))
		return pl
	}
	items := r.Content
	if custom {
		if first := resolve(items[0]); first.Kind == yaml.MappingNode {
			if es := p.entries(first, where); len(es) == 1 && es[0].key.Value == "variables" {
				pl.Variables = p.variables(es[0].val)
				items = items[1:]
				if len(items) == 0 {
					p.errorf(n, "%s has variables but no steps: add at least one - step:", where)
					return pl
				}
			}
		}
	}
	pl.Stages = p.items(&yaml.Node{Kind: yaml.SequenceNode, Content: items, Line: n.Line, Column: n.Column}, where, custom)
	return pl
}

func (p *parser) variables(n *yaml.Node) []Variable {
	r := resolve(n)
	if r.Kind != yaml.SequenceNode {
		p.errorf(n, "variables must be a list of - name: VAR entries, not %s", kind(r))
		return nil
	}
	var out []Variable
	for _, item := range r.Content {
		es, ok := p.mapping(item, "a custom pipeline variable", variableKeys...)
		if !ok {
			continue
		}
		var v Variable
		for _, e := range es {
			switch e.key.Value {
			case "name":
				v.Name = p.nonEmpty(e.val, "name", "name: DEPLOY_ENV")
			case "default":
				v.Default = p.str(e.val, "default")
			case "allowed-values":
				v.AllowedValues = p.strList(e.val, "allowed-values", false)
			case "description":
				v.Description = p.str(e.val, "description")
			}
		}
		if v.Name == "" {
			p.errorf(item, "a custom pipeline variable needs a name: write - name: VAR")
			continue
		}
		out = append(out, v)
	}
	return out
}

// items reads a list of `- step:`, `- parallel:` and `- stage:` items.
func (p *parser) items(n *yaml.Node, where string, custom bool) []Stage {
	r := resolve(n)
	if r.Kind != yaml.SequenceNode {
		p.errorf(n, "%s must be a list of - step:, - parallel: or - stage: items, not %s", where, kind(r))
		return nil
	}
	var out []Stage
	for _, item := range r.Content {
		if !p.spend() {
			return out
		}
		ri := resolve(item)
		if ri.Kind != yaml.MappingNode {
			p.errorf(item, "each item of %s must be - step:, - parallel: or - stage:, not %s", where, kind(ri))
			continue
		}
		es := p.entries(ri, where)
		if len(es) != 1 {
			if len(es) > 1 && slices.Contains(itemKeys, es[0].key.Value) && slices.Contains(stepKeys, es[1].key.Value) {
				p.errorf(es[1].key, "%q is not indented under %q: indent the step's keys further than \"- %s:\"", es[1].key.Value, es[0].key.Value, es[0].key.Value)
			} else {
				p.errorf(item, "each item of %s must hold exactly one of step:, parallel: or stage:", where)
			}
			continue
		}
		e := es[0]
		switch e.key.Value {
		case "step":
			if s := p.step(e.val); s != nil {
				out = append(out, Stage{Steps: []*Step{s}, Line: s.Line})
			}
		case "parallel":
			out = append(out, p.parallel(e.val))
		case "stage":
			out = append(out, p.stage(e.val))
		case "variables":
			if custom {
				p.errorf(e.key, "variables: must be the first item of a custom pipeline")
			} else {
				p.errorf(e.key, "variables: is only allowed as the first item of a custom pipeline (pipelines.custom.NAME)")
			}
		default:
			p.unknown(e.key, where, itemKeys)
		}
	}
	return out
}

func (p *parser) parallel(n *yaml.Node) Stage {
	st := Stage{Parallel: true, Line: n.Line}
	r := resolve(n)
	steps := r
	if r.Kind == yaml.MappingNode {
		es, _ := p.mapping(n, "parallel", parallelKeys...)
		steps = nil
		for _, e := range es {
			switch e.key.Value {
			case "steps":
				steps = e.val
			case "fail-fast":
				st.FailFast = p.boolean(e.val, "fail-fast")
			}
		}
		if steps == nil {
			p.errorf(n, "parallel: needs steps: with its - step: items")
			return st
		}
	}
	st.Steps = p.stepList(steps, "parallel")
	return st
}

func (p *parser) stage(n *yaml.Node) Stage {
	st := Stage{Line: n.Line}
	es, ok := p.mapping(n, "a stage", stageKeys...)
	if !ok {
		return st
	}
	var steps *yaml.Node
	for _, e := range es {
		switch e.key.Value {
		case "name":
			st.Name = p.str(e.val, "name")
		case "deployment":
			st.Deployment = p.nonEmpty(e.val, "deployment", "deployment: production")
		case "steps":
			steps = e.val
		case "condition":
			st.Changesets, _ = p.condition(e.val)
		case "trigger":
			p.trigger(e.val)
		}
	}
	if steps == nil {
		p.errorf(n, "a stage needs steps: with its - step: items")
		return st
	}
	st.Steps = p.stepList(steps, "a stage")
	return st
}

// stepList reads a list of `- step:` items only (parallel groups and stages).
func (p *parser) stepList(n *yaml.Node, where string) []*Step {
	r := resolve(n)
	if r.Kind != yaml.SequenceNode || len(r.Content) == 0 {
		p.errorf(n, "the steps of %s must be a list of - step: items, not %s", where, kind(r))
		return nil
	}
	var out []*Step
	for _, item := range r.Content {
		if !p.spend() {
			return out
		}
		ri := resolve(item)
		if ri.Kind != yaml.MappingNode {
			p.errorf(item, "each item of %s must be - step:, not %s", where, kind(ri))
			continue
		}
		es := p.entries(ri, where)
		if len(es) != 1 || es[0].key.Value != "step" {
			p.errorf(item, "%s holds only - step: items (no nested parallel: or stage:)", where)
			continue
		}
		if s := p.step(es[0].val); s != nil {
			out = append(out, s)
		}
	}
	return out
}

func (p *parser) trigger(n *yaml.Node) string {
	t := p.str(n, "trigger")
	if t != "" && t != "automatic" && t != "manual" {
		p.errorf(n, "trigger %q is not automatic or manual: write trigger: manual", t)
	}
	return t
}

func (p *parser) condition(n *yaml.Node) (include, exclude []string) {
	es, _ := p.mapping(n, "condition", conditionKeys...)
	for _, e := range es {
		ces, _ := p.mapping(e.val, "condition.changesets", changesetKeys...)
		if len(ces) == 0 {
			p.errorf(e.val, "changesets needs includePaths: (or excludePaths:) with a list of globs")
		}
		for _, ce := range ces {
			if ce.key.Value == "includePaths" {
				include = p.strList(ce.val, "includePaths", false)
			} else {
				exclude = p.strList(ce.val, "excludePaths", false)
			}
		}
	}
	return include, exclude
}

func (p *parser) step(n *yaml.Node) *Step {
	r := resolve(n)
	if r.Kind != yaml.MappingNode {
		if r.Tag == "!!null" {
			p.errorf(n, "the step is empty: indent its keys under \"- step:\", at least script: with a command")
		} else {
			p.errorf(n, "a step must be a mapping (name:, script:, …), not %s", kind(r))
		}
		return nil
	}
	s := &Step{Line: r.Line, Column: r.Column}
	if n.Kind != yaml.AliasNode {
		s.Line, s.Column = n.Line, n.Column
	}
	es, _ := p.mapping(r, "a step", stepKeys...)
	haveScript := false
	for _, e := range es {
		switch e.key.Value {
		case "name":
			s.Name = p.str(e.val, "name")
		case "script":
			haveScript = true
			s.Script = p.script(e.val, "script")
			if len(s.Script) == 0 && resolve(e.val).Kind == yaml.SequenceNode {
				p.errorf(e.val, "script is empty: add at least one command, e.g. - echo hello")
			}
		case "after-script":
			s.AfterScript = p.script(e.val, "after-script")
		case "image":
			s.Image = p.image(e.val)
		case "oidc":
			s.OIDC = p.boolean(e.val, "oidc")
		case "deployment":
			s.Deployment = p.nonEmpty(e.val, "deployment", "deployment: production")
		case "trigger":
			s.Trigger = p.trigger(e.val)
		case "size":
			s.Size = p.size(e.val)
		case "caches":
			s.Caches = p.strList(e.val, "caches", false)
		case "services":
			s.Services = p.strList(e.val, "services", false)
		case "artifacts":
			s.Artifacts = p.artifacts(e.val)
		case "max-time":
			s.MaxTime = time.Duration(p.integer(e.val, "max-time")) * time.Minute
		case "condition":
			s.Changesets, s.ExcludePaths = p.condition(e.val)
		case "clone":
			p.clone(e.val, "the step's clone")
		case "runs-on":
			s.RunsOn = p.strList(e.val, "runs-on", true)
		case "fail-fast":
			s.FailFast = p.boolean(e.val, "fail-fast")
		}
	}
	if !haveScript {
		p.errorf(r, "the step%s has no script: add script: with at least one command", nameSuffix(s.Name))
	}
	return s
}

func nameSuffix(name string) string {
	if name == "" {
		return ""
	}
	return fmt.Sprintf(" %q", name)
}

func (p *parser) artifacts(n *yaml.Node) []string {
	r := resolve(n)
	if r.Kind == yaml.MappingNode {
		es, _ := p.mapping(n, "artifacts", artifactKeys...)
		var out []string
		for _, e := range es {
			if e.key.Value == "paths" {
				out = p.strList(e.val, "artifacts.paths", false)
			} else {
				p.boolean(e.val, "download")
			}
		}
		return out
	}
	return p.strList(n, "artifacts", false)
}

func (p *parser) script(n *yaml.Node, what string) []Command {
	r := resolve(n)
	if r.Kind != yaml.SequenceNode {
		p.errorf(n, "%s must be a list of commands, each on a line starting with \"- \", not %s", what, kind(r))
		return nil
	}
	var out []Command
	for _, item := range r.Content {
		if !p.spend() {
			return out
		}
		ri := resolve(item)
		switch ri.Kind {
		case yaml.ScalarNode:
			if ri.Tag == "!!null" || strings.TrimSpace(ri.Value) == "" {
				p.errorf(item, "an empty command in %s: remove the line or write the command after \"- \"", what)
				continue
			}
			out = append(out, Command{Shell: ri.Value, Line: item.Line, Column: item.Column})
		case yaml.MappingNode:
			if c, ok := p.pipe(item, ri, what); ok {
				out = append(out, c)
			}
		default:
			p.errorf(item, "each item of %s must be a command or - pipe:, not %s", what, kind(ri))
		}
	}
	return out
}

// pipe reads a `- pipe: NAME` entry; a mapping without pipe: is a command
// that YAML read as a mapping because of its ": ".
func (p *parser) pipe(item, ri *yaml.Node, what string) (Command, bool) {
	es := p.entries(ri, "a pipe")
	hasPipe := false
	for _, e := range es {
		if e.key.Value == "pipe" {
			hasPipe = true
		}
	}
	if !hasPipe {
		p.errorf(item, "this %s line was read as a mapping because it contains \": \": quote the whole command, e.g. - 'echo \"key: value\"'", what)
		return Command{}, false
	}
	c := Command{Line: item.Line, Column: item.Column}
	for _, e := range es {
		switch e.key.Value {
		case "pipe":
			c.Pipe = p.nonEmpty(e.val, "pipe", "pipe: atlassian/aws-s3-deploy:1.1.0")
		case "variables":
			c.Vars = p.pipeVars(e.val)
		default:
			p.unknown(e.key, "a pipe", pipeKeys)
		}
	}
	return c, c.Pipe != ""
}

func (p *parser) pipeVars(n *yaml.Node) map[string]string {
	r := resolve(n)
	if r.Kind == yaml.ScalarNode && r.Tag == "!!null" {
		return map[string]string{}
	}
	if r.Kind != yaml.MappingNode {
		p.errorf(n, "a pipe's variables must be a mapping of NAME: value, not %s", kind(r))
		return nil
	}
	vars := map[string]string{}
	for _, e := range p.entries(r, "a pipe's variables") {
		name := e.key.Value
		v := resolve(e.val)
		switch v.Kind {
		case yaml.ScalarNode:
			if v.Tag == "!!null" {
				vars[name] = ""
			} else {
				vars[name] = v.Value
			}
		case yaml.SequenceNode:
			items := p.strList(e.val, "the pipe variable "+name, false)
			vars[name+"_COUNT"] = strconv.Itoa(len(items))
			for i, it := range items {
				vars[name+"_"+strconv.Itoa(i)] = it
			}
		default:
			p.errorf(e.val, "the pipe variable %s must be a value or a list of values, not %s", name, kind(v))
		}
	}
	return vars
}
