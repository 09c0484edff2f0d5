package cloudformation

import (
	"bytes"
	"crypto/sha256"
	"encoding/base32"
	"encoding/json"
	"errors"
	"fmt"
	neturl "net/url"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/keyless-dev/keyless/policy"
	"github.com/keyless-dev/keyless/provision"
)

// The resource types keyless reads.
const (
	typeProvider      = "AWS::IAM::OIDCProvider"
	typeRole          = "AWS::IAM::Role"
	typeManagedPolicy = "AWS::IAM::ManagedPolicy"
	typePolicy        = "AWS::IAM::Policy"
	typeRolePolicy    = "AWS::IAM::RolePolicy"
)

// iamTypes are the types keyless reads; other resources are left alone, and a
// reference to one is an error.
var iamTypes = map[string]bool{typeProvider: true, typeRole: true, typeManagedPolicy: true, typePolicy: true, typeRolePolicy: true}

// properties are the properties of each type keyless reads (all CloudFormation
// has, for these types).
var properties = map[string][]string{
	typeProvider:      {"Url", "ClientIdList", "ThumbprintList", "Tags"},
	typeRole:          {"AssumeRolePolicyDocument", "Description", "ManagedPolicyArns", "MaxSessionDuration", "Path", "PermissionsBoundary", "Policies", "RoleName", "Tags"},
	typeManagedPolicy: {"ManagedPolicyName", "Description", "Path", "PolicyDocument", "Roles", "Groups", "Users"},
	typePolicy:        {"PolicyName", "PolicyDocument", "Roles", "Groups", "Users"},
	typeRolePolicy:    {"PolicyName", "PolicyDocument", "RoleName"},
}

var (
	nameRe       = regexp.MustCompile(`^[\w+=,.@-]+$`)
	pathRe       = regexp.MustCompile(`^/([\x21-\x7E]*/)?$`)
	thumbprintRe = regexp.MustCompile(`^[0-9A-Fa-f]{40}$`)
	policyARNRe  = regexp.MustCompile(`^arn:[a-z-]+:iam::(aws|\d{12}|` + regexp.QuoteMeta(provision.AccountPlaceholder) + `):policy/([\x21-\x7E]*/)?[\w+=,.@-]{1,128}$`)
)

// prop returns a property's node (nil when absent) and path.
func prop(res *resource, key string) (*yaml.Node, string) {
	return lookup(res.props, key), res.path + ".Properties." + key
}

// propsNode is where a missing property is reported: Properties, or the
// resource when it has none.
func propsNode(res *resource) *yaml.Node {
	if res.props != nil {
		return res.props
	}
	return res.node
}

// str resolves a property to a string; "" when it is absent.
func (r *reader) str(res *resource, key string) (string, *yaml.Node, error) {
	n, path := prop(res, key)
	if n == nil {
		return "", nil, nil
	}
	v, err := r.value(n, path)
	if err != nil {
		return "", n, err
	}
	s, ok := text(v)
	if !ok {
		return "", n, errAt(path, n, "must be a string, not %s", describe(v))
	}
	return s, n, nil
}

// list resolves a property to a list of strings; nil when it is absent.
func (r *reader) list(res *resource, key string) ([]string, error) {
	n, path := prop(res, key)
	if n == nil {
		return nil, nil
	}
	v, err := r.value(n, path)
	if err != nil {
		return nil, err
	}
	l, ok := v.([]any)
	if !ok {
		return nil, errAt(path, n, "must be a list of strings, not %s", describe(v))
	}
	out := make([]string, len(l))
	for i, e := range l {
		s, ok := text(e)
		if !ok {
			return nil, errAt(fmt.Sprintf("%s[%d]", path, i), item(n, i), "must be a string, not %s", describe(e))
		}
		out[i] = s
	}
	return out, nil
}

// identity computes, once, the name, path and ARN of an IAM resource, which Ref
// and Fn::GetAtt of other resources may need before it is read.
func (r *reader) identity(res *resource) error {
	switch res.state {
	case 1:
		return errAt(res.path, res.node, "circular reference: the name of %s depends on itself", res.id)
	case 2:
		return res.err
	}
	res.state = 1
	cur := r.cur
	r.cur = res
	res.err = r.computeIdentity(res)
	r.cur = cur
	res.state = 2
	return res.err
}

func (r *reader) computeIdentity(res *resource) error {
	part, acct := r.opts.Partition, r.account
	switch res.typ {
	case typeRole, typeManagedPolicy:
		key, max, kind := "RoleName", 64, "role"
		if res.typ == typeManagedPolicy {
			key, max, kind = "ManagedPolicyName", 128, "policy"
		}
		name, n, err := r.str(res, key)
		if err != nil {
			return err
		}
		if n == nil {
			name = generatedName(r.opts.StackName, res.id, max)
		} else if len(name) > max || !nameRe.MatchString(name) {
			_, path := prop(res, key)
			return errAt(path, n, "%q is not a %s name: write 1 to %d letters, digits and +=,.@_-", name, kind, max)
		}
		iamPath, pn, err := r.str(res, "Path")
		if err != nil {
			return err
		}
		if pn == nil {
			iamPath = "/"
		} else if len(iamPath) > 512 || !pathRe.MatchString(iamPath) {
			_, path := prop(res, "Path")
			return errAt(path, pn, "%q is not an IAM path: write / or /a/path/", iamPath)
		}
		res.name, res.iamPath = name, iamPath
		res.arn = fmt.Sprintf("arn:%s:iam::%s:%s%s%s", part, acct, kind, iamPath, name)
	case typeProvider:
		url, n, err := r.str(res, "Url")
		if err != nil {
			return err
		}
		_, path := prop(res, "Url")
		if n == nil {
			return errAt(res.path+".Properties", propsNode(res), "Url is required")
		}
		u, perr := neturl.Parse(url)
		if perr != nil || u.Scheme != "https" || u.Host == "" || u.Opaque != "" || u.User != nil || strings.ContainsAny(url, "?# \t\r\n") || len(url) > 255 {
			return errAt(path, n, "%q is not an issuer URL: write https://HOST[/PATH] as the token's iss shows it", url)
		}
		res.name = strings.TrimPrefix(url, "https://")
		res.arn = fmt.Sprintf("arn:%s:iam::%s:oidc-provider/%s", part, acct, res.name)
	case typePolicy, typeRolePolicy:
		name, n, err := r.str(res, "PolicyName")
		if err != nil {
			return err
		}
		if n == nil {
			return errAt(res.path+".Properties", propsNode(res), "PolicyName is required")
		}
		if len(name) > 128 || !nameRe.MatchString(name) {
			_, path := prop(res, "PolicyName")
			return errAt(path, n, "%q is not a policy name: write 1 to 128 letters, digits and +=,.@_-", name)
		}
		res.name = name
	}
	return nil
}

// generatedName is the name of a role or managed policy without one:
// STACK-LOGICALID-HASH like CloudFormation's, the first two parts shortened to fit
// max, HASH from the full stack name and logical id instead of random.
func generatedName(stack, id string, max int) string {
	sum := sha256.Sum256([]byte(stack + "\x00" + id))
	hash := base32.StdEncoding.EncodeToString(sum[:])[:12]
	room := max - len(hash) - 2
	for len(stack)+len(id) > room {
		if len(stack) >= len(id) {
			stack = stack[:len(stack)-1]
		} else {
			id = id[:len(id)-1]
		}
	}
	return stack + "-" + id + "-" + hash
}

// roleDraft is a role being read, with where its documents come from.
type roleDraft struct {
	res    *resource
	role   provision.Role
	inline []inlineDraft
}

type inlineDraft struct {
	name, path string
	node       *yaml.Node
}

// state reads every IAM resource into the desired state.
func (r *reader) state() (*provision.State, error) {
	st := &provision.State{Name: r.opts.Name, Account: r.opts.Account, Partition: r.opts.Partition}
	var (
		roles    []*roleDraft
		byName   = map[string]*roleDraft{}
		urls     = map[string]string{}
		policies = map[string]string{}
	)
	for _, res := range r.order {
		if !iamTypes[res.typ] {
			continue
		}
		r.cur = res
		for _, p := range pairs(res.props) {
			if !slices.Contains(properties[res.typ], p.key) {
				return nil, errAt(res.path+".Properties."+p.key, p.kn, "unknown property %s of %s", p.key, res.typ)
			}
			if p.key == "Groups" || p.key == "Users" {
				return nil, errAt(res.path+".Properties."+p.key, p.kn, "%s is not supported: keyless manages roles, not users and groups", p.key)
			}
		}
		if err := r.identity(res); err != nil {
			return nil, err
		}
		switch res.typ {
		case typeProvider:
			if other, dup := urls[res.name]; dup {
				return nil, errAt(res.path, res.node, "%s and %s are both providers for %s", other, res.id, res.name)
			}
			urls[res.name] = res.id
			p, err := r.provider(res)
			if err != nil {
				return nil, err
			}
			st.Providers = append(st.Providers, p)
		case typeRole:
			if other := byName[res.name]; other != nil {
				return nil, errAt(res.path, res.node, "%s and %s are both roles named %s", other.res.id, res.id, res.name)
			}
			d, err := r.role(res)
			if err != nil {
				return nil, err
			}
			roles = append(roles, d)
			byName[res.name] = d
		}
	}
	// Policies attach to roles by name, so they come once every role is known.
	for _, res := range r.order {
		r.cur = res
		switch res.typ {
		case typeManagedPolicy:
			if other, dup := policies[res.arn]; dup {
				return nil, errAt(res.path, res.node, "%s and %s are both policies %s", other, res.id, res.arn)
			}
			policies[res.arn] = res.id
			mp, fs, err := r.managedPolicy(res)
			if err != nil {
				return nil, err
			}
			st.Policies = append(st.Policies, mp)
			st.Findings = append(st.Findings, fs...)
			if err := r.attach(res, "Roles", byName, func(d *roleDraft) error {
				d.role.ManagedPolicyARNs = append(d.role.ManagedPolicyARNs, res.arn)
				return nil
			}); err != nil {
				return nil, err
			}
		case typePolicy, typeRolePolicy:
			n, path := prop(res, "PolicyDocument")
			if n == nil {
				return nil, errAt(res.path+".Properties", propsNode(res), "PolicyDocument is required")
			}
			key := "Roles"
			if res.typ == typeRolePolicy {
				key = "RoleName"
			}
			if err := r.attach(res, key, byName, func(d *roleDraft) error {
				for _, in := range d.inline {
					if in.name == res.name {
						return errAt(res.path, res.node, "role %s already has an inline policy named %s", d.role.Name, res.name)
					}
				}
				d.inline = append(d.inline, inlineDraft{res.name, path, n})
				return nil
			}); err != nil {
				return nil, err
			}
		}
	}
	for _, d := range roles {
		r.cur = d.res
		fs, err := r.documents(d)
		if err != nil {
			return nil, err
		}
		st.Roles = append(st.Roles, d.role)
		st.Findings = append(st.Findings, fs...)
	}
	if len(st.Providers)+len(st.Roles)+len(st.Policies) == 0 {
		return nil, errors.New("the template has no AWS::IAM::OIDCProvider, AWS::IAM::Role or AWS::IAM::ManagedPolicy")
	}
	sort.Slice(st.Providers, func(i, j int) bool { return st.Providers[i].URL < st.Providers[j].URL })
	sort.Slice(st.Roles, func(i, j int) bool { return st.Roles[i].Name < st.Roles[j].Name })
	sort.Slice(st.Policies, func(i, j int) bool { return st.Policies[i].ARN < st.Policies[j].ARN })
	sortFindings(st.Findings)
	return st, nil
}

// attach calls add for every template role a policy names in key (Roles, or
// RoleName of an AWS::IAM::RolePolicy).
func (r *reader) attach(res *resource, key string, byName map[string]*roleDraft, add func(*roleDraft) error) error {
	n, path := prop(res, key)
	if n == nil {
		if res.typ == typeManagedPolicy {
			return nil
		}
		return errAt(res.path+".Properties", propsNode(res), "%s is required: keyless reads policies attached to roles", key)
	}
	var names []string
	var err error
	if key == "RoleName" {
		var name string
		name, _, err = r.str(res, key)
		names = []string{name}
	} else {
		names, err = r.list(res, key)
	}
	if err != nil {
		return err
	}
	for i, name := range names {
		d := byName[name]
		if d == nil {
			return errAt(path, item(n, i), "role %s is not defined in the template: keyless reads policies of the template's roles only", name)
		}
		if err := add(d); err != nil {
			return err
		}
	}
	return nil
}

// provider reads an AWS::IAM::OIDCProvider.
func (r *reader) provider(res *resource) (provision.Provider, error) {
	p := provision.Provider{ID: res.id, URL: res.name, ARN: res.arn}
	var err error
	if p.ClientIDs, err = r.list(res, "ClientIdList"); err != nil {
		return p, err
	}
	if p.Thumbprints, err = r.list(res, "ThumbprintList"); err != nil {
		return p, err
	}
	for i, t := range p.Thumbprints {
		if !thumbprintRe.MatchString(t) {
			n, path := prop(res, "ThumbprintList")
			return p, errAt(fmt.Sprintf("%s[%d]", path, i), item(n, i), "%q is not a thumbprint: want 40 hex digits", t)
		}
		p.Thumbprints[i] = strings.ToLower(t)
	}
	p.Tags, err = r.tags(res)
	return p, err
}

// role reads an AWS::IAM::Role but its documents.
func (r *reader) role(res *resource) (*roleDraft, error) {
	d := &roleDraft{res: res, role: provision.Role{Name: res.name, Path: res.iamPath, ARN: res.arn, MaxSessionDuration: 3600}}
	role := &d.role
	var err error
	if role.Description, _, err = r.str(res, "Description"); err != nil {
		return nil, err
	}
	if role.ManagedPolicyARNs, err = r.list(res, "ManagedPolicyArns"); err != nil {
		return nil, err
	}
	n, path := prop(res, "ManagedPolicyArns")
	for i, arn := range role.ManagedPolicyARNs {
		if !policyARNRe.MatchString(arn) {
			return nil, errAt(fmt.Sprintf("%s[%d]", path, i), item(n, i), "%q is not a managed policy ARN: write arn:%s:iam::aws:policy/NAME or arn:%s:iam::ACCOUNT:policy/NAME", arn, r.opts.Partition, r.opts.Partition)
		}
	}
	boundary, bn, err := r.str(res, "PermissionsBoundary")
	if err != nil {
		return nil, err
	}
	if bn != nil && !policyARNRe.MatchString(boundary) {
		_, path := prop(res, "PermissionsBoundary")
		return nil, errAt(path, bn, "%q is not a managed policy ARN", boundary)
	}
	role.PermissionsBoundary = boundary
	msd, mn, err := r.str(res, "MaxSessionDuration")
	if err != nil {
		return nil, err
	}
	if mn != nil {
		v, err := strconv.Atoi(msd)
		if err != nil || v < 3600 || v > 43200 {
			_, path := prop(res, "MaxSessionDuration")
			return nil, errAt(path, mn, "%q is not a session duration: write 3600 to 43200 seconds", msd)
		}
		role.MaxSessionDuration = int32(v)
	}
	if role.Tags, err = r.tags(res); err != nil {
		return nil, err
	}
	pn, ppath := prop(res, "Policies")
	if pn != nil {
		if pn.Kind != yaml.SequenceNode {
			return nil, errAt(ppath, pn, "must be a list of {PolicyName, PolicyDocument}")
		}
		for i, e := range pn.Content {
			epath := fmt.Sprintf("%s[%d]", ppath, i)
			name, doc := lookup(e, "PolicyName"), lookup(e, "PolicyDocument")
			if e.Kind != yaml.MappingNode || len(e.Content) != 4 || name == nil || doc == nil {
				return nil, errAt(epath, e, "must be a mapping of PolicyName and PolicyDocument")
			}
			v, err := r.value(name, epath+".PolicyName")
			if err != nil {
				return nil, err
			}
			s, _ := text(v)
			if len(s) > 128 || !nameRe.MatchString(s) {
				return nil, errAt(epath+".PolicyName", name, "%s is not a policy name: write 1 to 128 letters, digits and +=,.@_-", quote(v))
			}
			for _, in := range d.inline {
				if in.name == s {
					return nil, errAt(epath+".PolicyName", name, "role %s already has an inline policy named %s", role.Name, s)
				}
			}
			d.inline = append(d.inline, inlineDraft{s, epath + ".PolicyDocument", doc})
		}
	}
	return d, nil
}

// quote renders a value for an error message.
func quote(v any) string {
	if s, ok := text(v); ok {
		return strconv.Quote(s)
	}
	return describe(v)
}

// documents reads, validates and lints a role's trust and inline policies.
func (r *reader) documents(d *roleDraft) ([]provision.Finding, error) {
	res, role := d.res, &d.role
	n, path := prop(res, "AssumeRolePolicyDocument")
	if n == nil {
		return nil, errAt(res.path+".Properties", propsNode(res), "AssumeRolePolicyDocument is required")
	}
	doc, p, err := r.document(n, path, policy.KindTrust, provision.MaxTrustPolicyChars) // apply holds it to the account's quota
	if err != nil {
		return nil, err
	}
	role.TrustPolicy = doc
	role.Provider = trustedProvider(p)
	var out []provision.Finding
	for _, f := range policy.Lint(p) {
		out = append(out, provision.Finding{Role: role.Name, Policy: "trust", Finding: f})
	}
	total := 0
	for _, in := range d.inline {
		doc, p, err := r.document(in.node, in.path, policy.KindIdentity, -1)
		if err != nil {
			return nil, err
		}
		total += policy.Size([]byte(doc), policy.KindIdentity)
		role.InlinePolicies = append(role.InlinePolicies, provision.InlinePolicy{Name: in.name, Document: doc})
		for _, f := range policy.Lint(p) {
			out = append(out, provision.Finding{Role: role.Name, Policy: in.name, Finding: f})
		}
	}
	if total > policy.MaxInlineRolePolicy {
		return nil, errAt(res.path, res.node, "the inline policies of role %s have %d characters together; IAM allows %d per role: move some into an AWS::IAM::ManagedPolicy", role.Name, total, policy.MaxInlineRolePolicy)
	}
	sort.Slice(role.InlinePolicies, func(i, j int) bool { return role.InlinePolicies[i].Name < role.InlinePolicies[j].Name })
	slices.Sort(role.ManagedPolicyARNs)
	role.ManagedPolicyARNs = slices.Compact(role.ManagedPolicyARNs)
	if k := len(role.ManagedPolicyARNs); k > 20 {
		return nil, errAt(res.path, res.node, "role %s has %d managed policies; IAM allows 10 by default and at most 20", role.Name, k)
	}
	return out, nil
}

// trustedProvider returns the URL of the first OIDC provider a trust policy
// names as Federated principal, or "".
func trustedProvider(p *policy.Policy) string {
	for _, s := range p.Statements {
		if s.Principal == nil {
			continue
		}
		for _, f := range s.Principal.Federated {
			if _, url, ok := strings.Cut(f, ":oidc-provider/"); ok {
				return url
			}
		}
	}
	return ""
}

// managedPolicy reads an AWS::IAM::ManagedPolicy.
func (r *reader) managedPolicy(res *resource) (provision.ManagedPolicy, []provision.Finding, error) {
	mp := provision.ManagedPolicy{Name: res.name, Path: res.iamPath, ARN: res.arn}
	var err error
	if mp.Description, _, err = r.str(res, "Description"); err != nil {
		return mp, nil, err
	}
	n, path := prop(res, "PolicyDocument")
	if n == nil {
		return mp, nil, errAt(res.path+".Properties", propsNode(res), "PolicyDocument is required")
	}
	doc, p, err := r.document(n, path, policy.KindIdentity, policy.MaxManagedPolicySize)
	if err != nil {
		return mp, nil, err
	}
	mp.Document = doc
	mp.Tags = []provision.Tag{{Key: provision.ManagedTagKey, Value: r.opts.Name}}
	var out []provision.Finding
	for _, f := range policy.Lint(p) {
		out = append(out, provision.Finding{Policy: mp.Name, Finding: f})
	}
	return mp, out, nil
}

// document resolves a policy document — a mapping, or a JSON string as Fn::Sub
// makes — into compact JSON and validates it as kind with the size limit max (0
// for the kind's default, -1 for none).
func (r *reader) document(n *yaml.Node, path string, kind policy.Kind, max int) (provision.Document, *policy.Policy, error) {
	v, err := r.value(n, path)
	if err != nil {
		return "", nil, err
	}
	var doc []byte
	switch v := v.(type) {
	case string:
		var b bytes.Buffer
		if err := json.Compact(&b, []byte(v)); err != nil {
			// policy.Parse says what is wrong in IAM's words
			_, perr := policy.Parse([]byte(v), kind, policy.WithMaxSize(-1))
			if perr == nil {
				perr = err
			}
			return "", nil, errAt(path, n, "invalid %s policy: %w", kind, perr)
		}
		doc = b.Bytes()
	case *object:
		if doc, err = render(v); err != nil {
			return "", nil, errAt(path, n, "%w", err)
		}
	default:
		return "", nil, errAt(path, n, "must be a policy document (a mapping or a JSON string), not %s", describe(v))
	}
	var opts []policy.Option
	if max != 0 {
		opts = append(opts, policy.WithMaxSize(max))
	}
	p, err := policy.Parse(doc, kind, opts...)
	if err != nil {
		return "", nil, errAt(path, n, "invalid %s policy: %w", kind, err)
	}
	return provision.Document(doc), p, nil
}

// tags reads Tags and adds keyless:managed.
func (r *reader) tags(res *resource) ([]provision.Tag, error) {
	out := []provision.Tag{{Key: provision.ManagedTagKey, Value: r.opts.Name}}
	n, path := prop(res, "Tags")
	if n == nil {
		return out, nil
	}
	v, err := r.value(n, path)
	if err != nil {
		return nil, err
	}
	l, ok := v.([]any)
	if !ok {
		return nil, errAt(path, n, "must be a list of {Key, Value}, not %s", describe(v))
	}
	seen := map[string]bool{}
	for i, e := range l {
		ep, en := fmt.Sprintf("%s[%d]", path, i), item(n, i)
		o, ok := e.(*object)
		var key, value string
		var kok, vok bool
		if ok && len(o.keys) == 2 {
			key, kok = text(o.vals["Key"])
			value, vok = text(o.vals["Value"])
		}
		if !kok || !vok {
			return nil, errAt(ep, en, "a tag must be a mapping of Key and Value")
		}
		switch {
		case key == provision.ManagedTagKey && value == r.opts.Name:
			continue // as keyless render writes it: the tag keyless sets anyway
		case key == provision.ManagedTagKey:
			return nil, errAt(ep, en, "%s is set by keyless to the stack name or the given name, %q: remove the tag, or give it that value", key, r.opts.Name)
		case !tagKeyRe.MatchString(key):
			return nil, errAt(ep, en, "%q is not a tag key: write 1 to 128 letters, digits, spaces and _.:/=+-@", key)
		case !tagValueRe.MatchString(value):
			return nil, errAt(ep, en, "%q is not a tag value: write up to 256 letters, digits, spaces and _.:/=+-@", value)
		case seen[key]:
			return nil, errAt(ep, en, "tag %s appears twice", key)
		}
		seen[key] = true
		out = append(out, provision.Tag{Key: key, Value: value})
	}
	if len(out) > 50 {
		return nil, errAt(path, n, "%d tags: IAM allows 50 per entity and keyless adds %s; remove some", len(l), provision.ManagedTagKey)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out, nil
}

// sortFindings orders findings like package provision does: by role, the trust
// policy before the others, then policy name and statement.
func sortFindings(fs []provision.Finding) {
	sort.SliceStable(fs, func(i, j int) bool {
		a, b := fs[i], fs[j]
		if a.Role != b.Role {
			return a.Role < b.Role
		}
		if (a.Policy == "trust") != (b.Policy == "trust") {
			return a.Policy == "trust"
		}
		if a.Policy != b.Policy {
			return a.Policy < b.Policy
		}
		return a.Statement < b.Statement
	})
}
