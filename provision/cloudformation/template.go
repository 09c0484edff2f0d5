package cloudformation

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Error is a problem at a position of the template.
type Error struct {
	// Path locates the value, e.g. Resources.DeployRole.Properties.RoleName.
	Path string
	// Line and Column are 1-based positions in the template (0 when unknown).
	Line, Column int
	// Err is the problem.
	Err error
}

// Error renders the error as "PATH (line L, column C): problem".
func (e *Error) Error() string {
	where := e.Path
	if e.Line > 0 {
		pos := fmt.Sprintf("line %d, column %d", e.Line, e.Column)
		if where == "" {
			where = pos
		} else {
			where += " (" + pos + ")"
		}
	}
	if where == "" {
		return e.Err.Error()
	}
	return where + ": " + e.Err.Error()
}

// Unwrap returns the problem.
func (e *Error) Unwrap() error { return e.Err }

// errAt returns an *Error at n (which may be nil) with a formatted problem; %w
// wraps as in fmt.Errorf. An *Error argument passes through unchanged.
func errAt(path string, n *yaml.Node, format string, args ...any) error {
	e := &Error{Path: path, Err: fmt.Errorf(format, args...)}
	if n != nil {
		e.Line, e.Column = n.Line, n.Column
	}
	return e
}

// pass returns err unchanged when it is already positioned, otherwise positions it.
func pass(path string, n *yaml.Node, err error) error {
	var e *Error
	if errors.As(err, &e) {
		return err
	}
	return errAt(path, n, "%w", err)
}

// pair is one key and value of a mapping node.
type pair struct {
	key   string
	kn, v *yaml.Node
}

// pairs returns the entries of a mapping node (none for nil); check has refused
// duplicate and non-string keys before.
func pairs(n *yaml.Node) []pair {
	if n == nil {
		return nil
	}
	out := make([]pair, 0, len(n.Content)/2)
	for i := 0; i+1 < len(n.Content); i += 2 {
		out = append(out, pair{n.Content[i].Value, n.Content[i], n.Content[i+1]})
	}
	return out
}

// lookup returns the value of key in a mapping node, or nil.
func lookup(n *yaml.Node, key string) *yaml.Node {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}

// check refuses what CloudFormation refuses before reading values: aliases,
// mapping keys that are not plain strings, and duplicate keys.
func check(n *yaml.Node, path string) error {
	switch n.Kind {
	case yaml.AliasNode:
		return errAt(path, n, "YAML aliases (*%s) are not supported by CloudFormation", n.Value)
	case yaml.SequenceNode:
		for i, c := range n.Content {
			if err := check(c, fmt.Sprintf("%s[%d]", path, i)); err != nil {
				return err
			}
		}
	case yaml.MappingNode:
		seen := map[string]bool{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i]
			if k.Kind != yaml.ScalarNode || !isPlainScalarTag(k.ShortTag()) {
				return errAt(path, k, "a mapping key must be a string")
			}
			if seen[k.Value] {
				return errAt(join(path, k.Value), k, "duplicate key %s", k.Value)
			}
			seen[k.Value] = true
			if err := check(n.Content[i+1], join(path, k.Value)); err != nil {
				return err
			}
		}
	}
	return nil
}

// isPlainScalarTag reports whether a key's tag is a YAML core scalar type (a key
// such as 2012 or true is its text to CloudFormation).
func isPlainScalarTag(tag string) bool {
	switch tag {
	case "!!str", "!!int", "!!float", "!!bool", "!!timestamp", "!!null":
		return true
	}
	return false
}

// join appends a key to a path.
func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// sections are the top-level keys of a template.
var sections = []string{"AWSTemplateFormatVersion", "Description", "Metadata", "Parameters", "Rules", "Mappings", "Conditions", "Transform", "Resources", "Outputs"}

// resourceAttributes are the keys of a resource besides Type and Properties.
var resourceAttributes = []string{"Type", "Properties", "DependsOn", "Metadata", "DeletionPolicy", "UpdateReplacePolicy", "CreationPolicy", "UpdatePolicy", "Condition"}

var (
	logicalIDRe = regexp.MustCompile(`^[A-Za-z0-9]{1,255}$`)
	stackNameRe = regexp.MustCompile(`^[A-Za-z][-A-Za-z0-9]{0,127}$`)
	regionRe    = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-\d$`)
	accountRe   = regexp.MustCompile(`^\d{12}$`)
)

// partitions are the AWS partitions (the same as package provision's).
var partitions = []string{"aws", "aws-cn", "aws-us-gov", "aws-iso", "aws-iso-b", "aws-iso-e", "aws-iso-f", "aws-eusc"}

// resource is one entry of Resources.
type resource struct {
	id, typ, path string
	node, props   *yaml.Node

	// identity, computed on first use ([reader.identity])
	state     int // 0 not yet, 1 in progress, 2 done
	name, arn string
	iamPath   string
	err       error

	deps []*resource // the resources its properties reference, in order of first use
}

// param is one entry of Parameters with its value.
type param struct {
	name, typ string
	node      *yaml.Node
	value     any // string, or []any of strings for list types
}

// parseParameters reads Parameters and gives each its override or default.
func (r *reader) parseParameters(n *yaml.Node, overrides map[string]string) error {
	r.params = map[string]*param{}
	var order []string
	if n != nil {
		if n.Kind != yaml.MappingNode {
			return errAt("Parameters", n, "must be a mapping of parameter names to declarations")
		}
		for _, p := range pairs(n) {
			path := join("Parameters", p.key)
			if !logicalIDRe.MatchString(p.key) {
				return errAt(path, p.kn, "a parameter name must be 1 to 255 letters and digits")
			}
			pr, err := declare(p.key, p.v, path)
			if err != nil {
				return err
			}
			r.params[p.key] = pr
			order = append(order, p.key)
		}
	}
	names := make([]string, 0, len(overrides))
	for k := range overrides {
		names = append(names, k)
	}
	slices.Sort(names)
	for _, k := range names {
		if r.params[k] == nil {
			return fmt.Errorf("parameter %s is not declared in the template's Parameters", k)
		}
	}
	var missing []string
	for _, name := range order {
		pr := r.params[name]
		raw, ok := overrides[name]
		n := pr.node
		path := join("Parameters", name)
		if !ok {
			d := lookup(pr.node, "Default")
			if d == nil {
				missing = append(missing, name)
				continue
			}
			if d.Kind != yaml.ScalarNode || !isPlainScalarTag(d.ShortTag()) {
				return errAt(path+".Default", d, "must be a plain value, not %s", nodeKind(d))
			}
			raw, n, path = d.Value, d, path+".Default"
		}
		v, err := pr.convert(raw)
		if err != nil {
			if ok {
				return fmt.Errorf("parameter %s: %w", name, err)
			}
			return errAt(path, n, "%w", err)
		}
		pr.value = v
	}
	if len(missing) > 0 {
		return fmt.Errorf("parameters without a default need a value: %s (give each with --parameter NAME=VALUE)", strings.Join(missing, ", "))
	}
	return nil
}

// parameterKeys are the keys of a parameter declaration.
var parameterKeys = []string{"Type", "Default", "Description", "AllowedValues", "AllowedPattern", "ConstraintDescription", "NoEcho", "MinLength", "MaxLength", "MinValue", "MaxValue"}

// declare reads one parameter declaration.
func declare(name string, n *yaml.Node, path string) (*param, error) {
	if n.Kind != yaml.MappingNode {
		return nil, errAt(path, n, "must be a mapping with Type and optional Default")
	}
	for _, p := range pairs(n) {
		if !slices.Contains(parameterKeys, p.key) {
			return nil, errAt(join(path, p.key), p.kn, "unknown parameter property %s: write one of %s", p.key, strings.Join(parameterKeys, ", "))
		}
	}
	t := lookup(n, "Type")
	if t == nil {
		return nil, errAt(path, n, "has no Type")
	}
	if t.Kind != yaml.ScalarNode {
		return nil, errAt(path+".Type", t, "must be a type name such as String")
	}
	typ := t.Value
	switch {
	case typ == "String", typ == "Number", typ == "CommaDelimitedList", typ == "List<Number>":
	case strings.HasPrefix(typ, "AWS::SSM::Parameter::Value<"):
		return nil, errAt(path+".Type", t, "type %s is resolved from Systems Manager by CloudFormation, which keyless cannot do: declare the parameter as String and pass its value", typ)
	case strings.HasPrefix(typ, "AWS::"), strings.HasPrefix(typ, "List<AWS::") && strings.HasSuffix(typ, ">"):
	default:
		return nil, errAt(path+".Type", t, "unknown parameter type %s: write String, Number, CommaDelimitedList, List<Number> or an AWS-specific type", typ)
	}
	return &param{name: name, typ: typ, node: n}, nil
}

// convert turns a raw value into the parameter's value and checks its constraints.
func (p *param) convert(raw string) (any, error) {
	list := p.typ == "CommaDelimitedList" || strings.HasPrefix(p.typ, "List<")
	items := []string{raw}
	if list {
		items = strings.Split(raw, ",")
	}
	allowed := lookup(p.node, "AllowedValues")
	var allow []string
	if allowed != nil {
		if allowed.Kind != yaml.SequenceNode {
			return nil, errors.New("AllowedValues must be a list")
		}
		for _, a := range allowed.Content {
			if a.Kind != yaml.ScalarNode {
				return nil, errors.New("AllowedValues must be a list of plain values")
			}
			allow = append(allow, a.Value)
		}
	}
	var pattern *regexp.Regexp
	ap := lookup(p.node, "AllowedPattern")
	if ap != nil {
		re, err := regexp.Compile(`^(?:` + ap.Value + `)$`)
		if err != nil || ap.Kind != yaml.ScalarNode {
			return nil, fmt.Errorf("AllowedPattern %q is not a regular expression keyless can check", ap.Value)
		}
		pattern = re
	}
	for _, it := range items {
		if p.typ == "Number" || p.typ == "List<Number>" {
			if _, err := strconv.ParseFloat(strings.TrimSpace(it), 64); err != nil {
				return nil, fmt.Errorf("%q is not a number", it)
			}
		}
		if allow != nil && !slices.Contains(allow, it) {
			return nil, fmt.Errorf("%q is not one of the AllowedValues %s", it, strings.Join(allow, ", "))
		}
		if pattern != nil && !pattern.MatchString(it) {
			return nil, fmt.Errorf("%q does not match the AllowedPattern %s", it, ap.Value)
		}
	}
	if !list {
		return raw, nil
	}
	out := make([]any, len(items))
	for i, it := range items {
		out[i] = it
	}
	return out, nil
}

// nodeKind names a node's kind for error messages.
func nodeKind(n *yaml.Node) string {
	switch n.Kind {
	case yaml.SequenceNode:
		return "a list"
	case yaml.MappingNode:
		return "a mapping"
	}
	if !isPlainScalarTag(n.ShortTag()) {
		return "a " + n.ShortTag() + " function"
	}
	return "a scalar"
}

// parseResources reads Resources: their logical ids, types and attributes.
func (r *reader) parseResources(n *yaml.Node) error {
	if n == nil {
		return errors.New("the template has no Resources")
	}
	if n.Kind != yaml.MappingNode || len(n.Content) == 0 {
		return errAt("Resources", n, "must be a mapping of logical ids to resources")
	}
	r.resources = map[string]*resource{}
	for _, p := range pairs(n) {
		path := join("Resources", p.key)
		if !logicalIDRe.MatchString(p.key) {
			return errAt(path, p.kn, "a logical id must be 1 to 255 letters and digits")
		}
		if r.params[p.key] != nil {
			return errAt(path, p.kn, "%s is both a parameter and a resource", p.key)
		}
		if p.v.Kind != yaml.MappingNode {
			return errAt(path, p.v, "must be a mapping with Type and Properties")
		}
		for _, a := range pairs(p.v) {
			if !slices.Contains(resourceAttributes, a.key) {
				return errAt(join(path, a.key), a.kn, "unknown resource attribute %s", a.key)
			}
		}
		t := lookup(p.v, "Type")
		if t == nil || t.Kind != yaml.ScalarNode || t.Value == "" {
			return errAt(path, p.v, "has no Type")
		}
		res := &resource{id: p.key, typ: t.Value, path: path, node: p.v, props: lookup(p.v, "Properties")}
		if c := lookup(p.v, "Condition"); c != nil && iamTypes[res.typ] {
			return errAt(path+".Condition", c, "conditional resources are not supported: keyless does not evaluate Conditions")
		}
		if res.props != nil && res.props.Kind != yaml.MappingNode {
			return errAt(path+".Properties", res.props, "must be a mapping")
		}
		r.resources[p.key] = res
		r.order = append(r.order, res)
	}
	return nil
}
