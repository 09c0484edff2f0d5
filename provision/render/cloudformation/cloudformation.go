// Package cloudformation renders a desired IAM state as a CloudFormation
// template in YAML: an AWS::IAM::OIDCProvider per provider and an AWS::IAM::Role
// per role, with its trust policy, inline policies, managed policies, boundary,
// session duration and tags.
//
// Logical IDs are the names in PascalCase behind "Provider" (the provider's key
// in the config) or "Role" (the role name). ARNs of the account deployed to use
// Fn::Sub with ${AWS::AccountId} where the config left the account to plan time
// (provision.AccountPlaceholder), and ${AWS::Partition} in every ARN; an account
// id the config names stays literal. A role trusts its provider through
// Fn::GetAtt, so the provider is created first. The thumbprints of a provider
// that lists some are a parameter, defaulting to the config's; a provider with
// none (or "thumbprints: auto") has no ThumbprintList, so AWS trusts its issuer
// by its certificate authority. The template uses no conditions, so that
// keyless's own reader (package provision/cloudformation, which evaluates no
// Fn::If) reads it back. The outputs are the ARNs of every provider and role.
package cloudformation

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/keyless-dev/keyless/provision"
	"github.com/keyless-dev/keyless/provision/render"
)

// FileName is the name of the rendered template.
const FileName = "template.yaml"

// Renderer renders the CloudFormation template.
type Renderer struct{}

// Format returns "cloudformation".
func (Renderer) Format() string { return "cloudformation" }

// Render returns template.yaml.
func (Renderer) Render(st *provision.State) ([]render.File, error) {
	b, err := Template(st)
	if err != nil {
		return nil, err
	}
	return []render.File{{Name: FileName, Data: b}}, nil
}

// IDs returns the logical IDs of the providers and roles of st, in the state's
// order.
func IDs(st *provision.State) (providers, roles []string, err error) {
	var pnames, rnames []string
	for _, p := range st.Providers {
		pnames = append(pnames, p.ID)
	}
	for _, r := range st.Roles {
		rnames = append(rnames, r.Name)
	}
	if providers, err = render.Identifiers(pnames, func(n string) string { return "Provider" + render.Pascal(n) }, "X"); err != nil {
		return nil, nil, err
	}
	if roles, err = render.Identifiers(rnames, func(n string) string { return "Role" + render.Pascal(n) }, "X"); err != nil {
		return nil, nil, err
	}
	return providers, roles, nil
}

// Template renders the template of st as YAML.
func Template(st *provision.State) ([]byte, error) {
	if err := render.CheckResolved(st); err != nil {
		return nil, err
	}
	pids, rids, err := IDs(st)
	if err != nil {
		return nil, err
	}
	t := &templ{st: st, providerByARN: map[string]string{}}
	for i, p := range st.Providers {
		t.providerByARN[p.ARN] = pids[i]
	}

	params, resources, outputs := mapping(), mapping(), mapping()
	for i, p := range st.Providers {
		id := pids[i]
		props := mapping().
			add("Url", str("https://"+p.URL)).
			add("ClientIdList", strs(p.ClientIDs))
		if len(p.Thumbprints) > 0 {
			// A parameter lets a deployment pin other thumbprints. It cannot
			// drop them: an empty CommaDelimitedList is one empty thumbprint,
			// which IAM refuses, and leaving ThumbprintList out would take
			// Fn::If, which keyless's reader does not evaluate.
			param := thumbprintsParameter(id)
			desc := "SHA-1 thumbprints (40 hex characters, comma-separated, at least one) of the certificate of https://" + p.URL + "; to trust the issuer by its certificate authority alone, remove the thumbprints from the keyless config and render again"
			params.add(param, mapping().
				add("Type", str("CommaDelimitedList")).
				add("Default", str(strings.Join(p.Thumbprints, ","))).
				add("Description", str(desc)))
			props.add("ThumbprintList", ref(param))
		}
		props.add("Tags", tags(p.Tags))
		resources.add(id, mapping().add("Type", str("AWS::IAM::OIDCProvider")).add("Properties", props))
		outputs.add(id+"Arn", mapping().
			add("Description", str("ARN of the OpenID Connect provider https://"+p.URL)).
			add("Value", getAtt(id+".Arn")))
	}
	for i, r := range st.Roles {
		id := rids[i]
		props := mapping().add("RoleName", str(r.Name)).add("Path", str(r.Path))
		if r.Description != "" {
			props.add("Description", str(r.Description))
		}
		trust, err := t.document(r.TrustPolicy)
		if err != nil {
			return nil, fmt.Errorf("render role %s trust policy: %w", r.Name, err)
		}
		props.add("AssumeRolePolicyDocument", trust)
		if len(r.InlinePolicies) > 0 {
			pols := seq()
			for _, in := range r.InlinePolicies {
				doc, err := t.document(in.Document)
				if err != nil {
					return nil, fmt.Errorf("render role %s inline policy %s: %w", r.Name, in.Name, err)
				}
				pols.Content = append(pols.Content, mapping().add("PolicyName", str(in.Name)).add("PolicyDocument", doc).Node)
			}
			props.add("Policies", pols)
		}
		if len(r.ManagedPolicyARNs) > 0 {
			arns := seq()
			for _, a := range r.ManagedPolicyARNs {
				arns.Content = append(arns.Content, t.str(a))
			}
			props.add("ManagedPolicyArns", arns)
		}
		if r.PermissionsBoundary != "" {
			props.add("PermissionsBoundary", t.str(r.PermissionsBoundary))
		}
		props.add("MaxSessionDuration", &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!int", Value: strconv.Itoa(int(r.MaxSessionDuration))})
		props.add("Tags", tags(r.Tags))
		resources.add(id, mapping().add("Type", str("AWS::IAM::Role")).add("Properties", props))
		outputs.add(id+"Arn", mapping().
			add("Description", str("ARN of the role "+r.Name)).
			add("Value", getAtt(id+".Arn")))
	}

	top := mapping().
		add("AWSTemplateFormatVersion", str("2010-09-09")).
		add("Description", str("IAM OpenID Connect providers and roles of the keyless config "+st.Name+" (keyless render)"))
	if len(params.Content) > 0 {
		top.add("Parameters", params)
	}
	top.add("Resources", resources)
	if len(outputs.Content) > 0 {
		top.add("Outputs", outputs)
	}
	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(top.Node); err != nil {
		return nil, fmt.Errorf("render template: %w", err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("render template: %w", err)
	}
	return b.Bytes(), nil
}

// templ holds what rendering a document needs.
type templ struct {
	st            *provision.State
	providerByARN map[string]string // provider ARN → logical ID
}

// document renders a policy document as a YAML mapping.
func (t *templ) document(doc provision.Document) (*yaml.Node, error) {
	v, err := render.ParseJSON([]byte(doc))
	if err != nil {
		return nil, err
	}
	return t.value(v), nil
}

func (t *templ) value(v render.Value) *yaml.Node {
	switch v.Kind {
	case render.Null:
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null", Value: "null"}
	case render.Bool:
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!bool", Value: v.Text}
	case render.Number:
		tag := "!!int"
		if strings.ContainsAny(v.Text, ".eE") {
			tag = "!!float"
		}
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: tag, Value: v.Text}
	case render.String:
		return t.str(v.Text)
	case render.Array:
		n := seq()
		for _, it := range v.Items {
			n.Content = append(n.Content, t.value(it))
		}
		return n
	}
	m := mapping()
	for _, f := range v.Fields {
		m.add(f.Key, t.value(f.Value))
	}
	return m.Node
}

// str renders a string: a provider's ARN as its Fn::GetAtt, a string that depends
// on the account or partition as Fn::Sub, any other as itself.
func (t *templ) str(s string) *yaml.Node {
	if id, ok := t.providerByARN[s]; ok {
		return getAtt(id + ".Arn")
	}
	parts := render.Split(s, t.st.Partition)
	if render.IsLiteral(parts) {
		return str(s)
	}
	var b strings.Builder
	for _, p := range parts {
		switch p.Ref {
		case render.Account:
			b.WriteString("${AWS::AccountId}")
		case render.Partition:
			b.WriteString("${AWS::Partition}")
		default:
			// In Fn::Sub, ${! writes a literal ${ (such as an IAM policy variable).
			b.WriteString(strings.ReplaceAll(p.Text, "${", "${!"))
		}
	}
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!Sub", Value: b.String()}
}

// node is a YAML mapping being built.
type node struct{ *yaml.Node }

func mapping() node { return node{&yaml.Node{Kind: yaml.MappingNode}} }

// add appends key: v to the mapping.
func (n node) add(key string, v any) node {
	var vn *yaml.Node
	switch v := v.(type) {
	case node:
		vn = v.Node
	case *yaml.Node:
		vn = v
	}
	n.Content = append(n.Content, str(key), vn)
	return n
}

func str(s string) *yaml.Node { return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: s} }

func strs(v []string) *yaml.Node {
	n := seq()
	for _, s := range v {
		n.Content = append(n.Content, str(s))
	}
	return n
}

func seq(items ...*yaml.Node) *yaml.Node {
	return &yaml.Node{Kind: yaml.SequenceNode, Content: items}
}

func ref(name string) *yaml.Node { return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!Ref", Value: name} }

func getAtt(attr string) *yaml.Node {
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!GetAtt", Value: attr}
}

func tags(ts []provision.Tag) *yaml.Node {
	n := seq()
	for _, tg := range ts {
		n.Content = append(n.Content, mapping().add("Key", str(tg.Key)).add("Value", str(tg.Value)).Node)
	}
	return n
}
