package cloudformation

import (
	"fmt"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"
)

// supported names the intrinsic functions keyless resolves, for error messages.
const supported = "keyless resolves Ref, Fn::Sub, Fn::GetAtt and Fn::Join"

// functions are CloudFormation's intrinsic functions and condition functions;
// keyless resolves the first four.
var functions = []string{"Ref", "Fn::Sub", "Fn::GetAtt", "Fn::Join",
	"Fn::If", "Fn::Select", "Fn::Split", "Fn::FindInMap", "Fn::ImportValue", "Fn::GetAZs",
	"Fn::Base64", "Fn::Cidr", "Fn::Equals", "Fn::And", "Fn::Or", "Fn::Not", "Fn::Transform",
	"Fn::Length", "Fn::ToJsonString", "Condition"}

// shortForm returns the function a YAML short-form tag stands for (!Ref → Ref,
// !Sub → Fn::Sub).
func shortForm(tag string) (string, bool) {
	name := strings.TrimPrefix(tag, "!")
	if name != "Ref" && name != "Condition" {
		name = "Fn::" + name
	}
	return name, name != "Fn::Transform" && slices.Contains(functions, name)
}

// intrinsic reports whether n is an intrinsic function call, in short form
// (!Sub …) or long form ({"Fn::Sub": …}), and returns its name and argument.
func intrinsic(n *yaml.Node, path string) (name string, arg *yaml.Node, ok bool, err error) {
	if tag := n.ShortTag(); !isPlainScalarTag(tag) && tag != "!!seq" && tag != "!!map" {
		if strings.HasPrefix(tag, "!!") {
			return "", nil, false, errAt(path, n, "unsupported YAML tag %s", tag)
		}
		name, known := shortForm(tag)
		if !known {
			return "", nil, false, errAt(path, n, "unknown tag %s: %s", tag, supported)
		}
		a := *n
		switch n.Kind {
		case yaml.ScalarNode:
			a.Tag = "!!str"
		case yaml.SequenceNode:
			a.Tag = "!!seq"
		default:
			a.Tag = "!!map"
		}
		return name, &a, true, nil
	}
	if n.Kind == yaml.MappingNode && len(n.Content) == 2 {
		k := n.Content[0].Value
		if k == "Ref" || strings.HasPrefix(k, "Fn::") {
			return k, n.Content[1], true, nil
		}
	}
	return "", nil, false, nil
}

// value resolves n and every intrinsic function inside it.
func (r *reader) value(n *yaml.Node, path string) (any, error) {
	fn, arg, ok, err := intrinsic(n, path)
	if err != nil {
		return nil, err
	}
	if ok {
		return r.call(fn, arg, join(path, fn))
	}
	switch n.Kind {
	case yaml.ScalarNode:
		return scalar(n), nil
	case yaml.SequenceNode:
		out := make([]any, 0, len(n.Content))
		for i, c := range n.Content {
			v, err := r.value(c, fmt.Sprintf("%s[%d]", path, i))
			if err != nil {
				return nil, err
			}
			out = append(out, v)
		}
		return out, nil
	case yaml.MappingNode:
		o := &object{vals: map[string]any{}}
		for _, p := range pairs(n) {
			v, err := r.value(p.v, join(path, p.key))
			if err != nil {
				return nil, err
			}
			o.keys = append(o.keys, p.key)
			o.vals[p.key] = v
		}
		return o, nil
	}
	return nil, errAt(path, n, "unsupported YAML node")
}

// scalar converts a plain scalar: numbers stay as written, timestamps (Version:
// 2012-10-17) are their text.
func scalar(n *yaml.Node) any {
	switch n.ShortTag() {
	case "!!int", "!!float":
		return number(n.Value)
	case "!!bool":
		var b bool
		if n.Decode(&b) == nil {
			return b
		}
	case "!!null":
		return nil
	}
	return n.Value
}

// call applies one intrinsic function; path ends with its name.
func (r *reader) call(fn string, arg *yaml.Node, path string) (any, error) {
	switch fn {
	case "Ref":
		if arg.Kind != yaml.ScalarNode || !isPlainScalarTag(arg.ShortTag()) {
			return nil, errAt(path, arg, "Ref takes a parameter name or logical id, not %s", nodeKind(arg))
		}
		v, found, err := r.ref(arg.Value)
		if err != nil {
			return nil, pass(path, arg, err)
		}
		if !found {
			return nil, errAt(path, arg, "Ref %s: no parameter, pseudo-parameter or resource is named %s", arg.Value, arg.Value)
		}
		return v, nil
	case "Fn::Sub":
		return r.sub(arg, path)
	case "Fn::GetAtt":
		var id, attr string
		switch {
		case arg.Kind == yaml.ScalarNode && isPlainScalarTag(arg.ShortTag()):
			id, attr, _ = strings.Cut(arg.Value, ".")
		case arg.Kind == yaml.SequenceNode && len(arg.Content) == 2 && plain(arg.Content[0]) && plain(arg.Content[1]):
			id, attr = arg.Content[0].Value, arg.Content[1].Value
		}
		if id == "" || attr == "" {
			return nil, errAt(path, arg, "Fn::GetAtt takes LOGICALID.ATTRIBUTE or [LOGICALID, ATTRIBUTE]")
		}
		v, err := r.getAtt(id, attr)
		if err != nil {
			return nil, pass(path, arg, err)
		}
		return v, nil
	case "Fn::Join":
		if arg.Kind != yaml.SequenceNode || len(arg.Content) != 2 || !plain(arg.Content[0]) {
			return nil, errAt(path, arg, "Fn::Join takes [DELIMITER, [VALUE, …]]")
		}
		lp := path + "[1]"
		v, err := r.value(arg.Content[1], lp)
		if err != nil {
			return nil, err
		}
		list, ok := v.([]any)
		if !ok {
			return nil, errAt(lp, arg.Content[1], "Fn::Join needs a list of strings, not %s", describe(v))
		}
		parts := make([]string, len(list))
		for i, e := range list {
			s, ok := text(e)
			if !ok {
				return nil, errAt(fmt.Sprintf("%s[%d]", lp, i), item(arg.Content[1], i), "Fn::Join needs strings, not %s", describe(e))
			}
			parts[i] = s
		}
		return strings.Join(parts, arg.Content[0].Value), nil
	}
	if slices.Contains(functions, fn) {
		return nil, errAt(path, arg, "%s is not supported: %s", fn, supported)
	}
	return nil, errAt(path, arg, "unknown intrinsic function %s: %s", fn, supported)
}

// plain reports whether n is a scalar without a function tag.
func plain(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && isPlainScalarTag(n.ShortTag())
}

// item returns the i-th element node of a sequence, or n itself when n is not one
// (a list that came from a function).
func item(n *yaml.Node, i int) *yaml.Node {
	if n.Kind == yaml.SequenceNode && i < len(n.Content) {
		return n.Content[i]
	}
	return n
}

// ref resolves a Ref target: a parameter, pseudo-parameter or resource.
func (r *reader) ref(name string) (v any, found bool, err error) {
	if p := r.params[name]; p != nil {
		return p.value, true, nil
	}
	if strings.HasPrefix(name, "AWS::") {
		v, err := r.pseudo(name)
		return v, true, err
	}
	if res := r.resources[name]; res != nil {
		v, err := r.refResource(res)
		return v, true, err
	}
	return nil, false, nil
}

// pseudo resolves a pseudo-parameter.
func (r *reader) pseudo(name string) (any, error) {
	switch name {
	case "AWS::AccountId":
		return r.account, nil
	case "AWS::Partition":
		return r.opts.Partition, nil
	case "AWS::StackName":
		return r.opts.StackName, nil
	case "AWS::Region":
		if r.opts.Region == "" {
			return nil, fmt.Errorf("%s is unknown: give the stack's region", name)
		}
		return r.opts.Region, nil
	case "AWS::URLSuffix":
		switch r.opts.Partition {
		case "aws", "aws-us-gov":
			return "amazonaws.com", nil
		case "aws-cn":
			return "amazonaws.com.cn", nil
		}
		return nil, fmt.Errorf("%s of partition %s is unknown to keyless", name, r.opts.Partition)
	case "AWS::NoValue":
		return nil, fmt.Errorf("%s is not supported: it is useful only in Fn::If, which keyless does not evaluate", name)
	case "AWS::StackId", "AWS::NotificationARNs":
		return nil, fmt.Errorf("%s is known only after the stack is created", name)
	}
	return nil, fmt.Errorf("unknown pseudo-parameter %s", name)
}

// refResource returns what Ref gives for a resource: a role's name, the ARN of a
// provider or managed policy.
func (r *reader) refResource(res *resource) (any, error) {
	if !iamTypes[res.typ] {
		return nil, notIAM("Ref "+res.id, res)
	}
	r.depend(res)
	if err := r.identity(res); err != nil {
		return nil, err
	}
	switch res.typ {
	case typeRole:
		return res.name, nil
	case typePolicy, typeRolePolicy:
		return nil, fmt.Errorf("%s is an %s, whose physical id is known only after the stack is created", res.id, res.typ)
	}
	return res.arn, nil
}

func notIAM(what string, res *resource) error {
	return fmt.Errorf("%s: %s is an %s, whose name keyless cannot know (it reads only IAM resources): pass the value as a parameter", what, res.id, res.typ)
}

// attributes are the Fn::GetAtt attributes of the IAM types; "" marks one known
// only after the stack is created.
var attributes = map[string][]string{
	typeRole:          {"Arn", "RoleId"},
	typeProvider:      {"Arn"},
	typeManagedPolicy: {"PolicyArn", "AttachmentCount", "CreateDate", "DefaultVersionId", "IsAttachable", "PermissionsBoundaryUsageCount", "PolicyId", "UpdateDate"},
	typePolicy:        {"Id"},
}

// getAtt resolves Fn::GetAtt of an IAM resource.
func (r *reader) getAtt(id, attr string) (any, error) {
	what := "Fn::GetAtt " + id + "." + attr
	res := r.resources[id]
	if res == nil {
		return nil, fmt.Errorf("%s: no resource is named %s", what, id)
	}
	if !iamTypes[res.typ] {
		return nil, notIAM(what, res)
	}
	attrs := attributes[res.typ]
	if !slices.Contains(attrs, attr) {
		return nil, fmt.Errorf("%s: an %s has no attribute %s (it has %s)", what, res.typ, attr, strings.Join(attrs, ", "))
	}
	if attr != "Arn" && attr != "PolicyArn" {
		return nil, fmt.Errorf("%s is known only after the stack is created", what)
	}
	r.depend(res)
	if err := r.identity(res); err != nil {
		return nil, err
	}
	return res.arn, nil
}

// sub resolves Fn::Sub in its string and list forms.
func (r *reader) sub(arg *yaml.Node, path string) (any, error) {
	tmpl, tpath := arg, path
	vars := map[string]string{}
	if arg.Kind == yaml.SequenceNode && len(arg.Content) == 2 {
		tmpl, tpath = arg.Content[0], path+"[0]"
		m := arg.Content[1]
		if _, _, isFn, _ := intrinsic(m, path); isFn || m.Kind != yaml.MappingNode {
			return nil, errAt(path+"[1]", m, "the variables of Fn::Sub must be a mapping of names to values")
		}
		for _, p := range pairs(m) {
			vp := join(path+"[1]", p.key)
			v, err := r.value(p.v, vp)
			if err != nil {
				return nil, err
			}
			s, ok := text(v)
			if !ok {
				return nil, errAt(vp, p.v, "the variable %s of Fn::Sub is %s; it must be a string", p.key, describe(v))
			}
			vars[p.key] = s
		}
	}
	if !plain(tmpl) {
		return nil, errAt(tpath, tmpl, "Fn::Sub takes a string, or [STRING, {VARIABLE: VALUE, …}]")
	}
	s := tmpl.Value
	var b strings.Builder
	for {
		i := strings.Index(s, "${")
		if i < 0 {
			b.WriteString(s)
			break
		}
		b.WriteString(s[:i])
		s = s[i+2:]
		if strings.HasPrefix(s, "!") { // ${!Literal} is the text ${Literal}
			b.WriteString("${")
			s = s[1:]
			continue
		}
		j := strings.IndexByte(s, '}')
		if j < 0 {
			b.WriteString("${" + s)
			break
		}
		name := s[:j]
		s = s[j+1:]
		v, err := r.subVar(name, vars)
		if err != nil {
			return nil, pass(tpath, tmpl, err)
		}
		b.WriteString(v)
	}
	return b.String(), nil
}

// subVar resolves one ${NAME} of Fn::Sub: a variable, a parameter,
// pseudo-parameter or resource (as Ref), or LOGICALID.ATTRIBUTE (as Fn::GetAtt).
func (r *reader) subVar(name string, vars map[string]string) (string, error) {
	if v, ok := vars[name]; ok {
		return v, nil
	}
	var v any
	if id, attr, dotted := strings.Cut(name, "."); dotted && r.resources[id] != nil {
		var err error
		if v, err = r.getAtt(id, attr); err != nil {
			return "", err
		}
	} else {
		var found bool
		var err error
		if v, found, err = r.ref(name); err != nil {
			return "", err
		}
		if !found {
			return "", fmt.Errorf("Fn::Sub: ${%s} names no parameter, pseudo-parameter, resource or variable (write ${!%s} for the literal text)", name, name)
		}
	}
	s, ok := text(v)
	if !ok {
		return "", fmt.Errorf("Fn::Sub: ${%s} is %s; Fn::Sub needs a string (use Fn::Join for a list)", name, describe(v))
	}
	return s, nil
}
