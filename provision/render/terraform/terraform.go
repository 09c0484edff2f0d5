// Package terraform renders a desired IAM state as one Terraform file, main.tf,
// for the hashicorp/aws provider: an aws_iam_openid_connect_provider per
// provider; per role an aws_iam_role (trust policy as jsonencode of an HCL
// object), an aws_iam_role_policy per inline policy and an
// aws_iam_role_policy_attachment per managed policy; outputs with every ARN.
//
// Resource names are the names in snake_case (the provider's key in the config,
// the role name, the role and policy names). ARNs of the account deployed to take
// the account from data.aws_caller_identity where the config left it to plan time
// (provision.AccountPlaceholder), and every ARN its partition from
// data.aws_partition; an account id the config names stays literal. The trust
// policy names its provider by reference (aws_iam_openid_connect_provider.X.arn),
// but its condition keys are literal strings of the provider's URL without
// https://, as IAM evaluates them — not derived from the provider's url
// attribute, which keeps https:// for an issuer with a port. Each provider's
// thumbprints are a variable, defaulting to the config's.
package terraform

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/hashicorp/hcl/v2/hclwrite"

	"github.com/keyless-dev/keyless/provision"
	"github.com/keyless-dev/keyless/provision/render"
)

// FileName is the name of the rendered file.
const FileName = "main.tf"

// ProviderVersion is the version constraint on hashicorp/aws main.tf declares:
// 5.x, whose aws_iam_openid_connect_provider takes no thumbprint_list (it is
// optional and computed).
const ProviderVersion = ">= 5.81.0, < 6.0.0"

// Renderer renders main.tf.
type Renderer struct{}

// Format returns "terraform".
func (Renderer) Format() string { return "terraform" }

// Render returns main.tf.
func (Renderer) Render(st *provision.State) ([]render.File, error) {
	b, err := File(st)
	if err != nil {
		return nil, err
	}
	return []render.File{{Name: FileName, Data: b}}, nil
}

const (
	accountExpr   = "data.aws_caller_identity.current.account_id"
	partitionExpr = "data.aws_partition.current.partition"
)

// name makes a Terraform name of s: snake_case, behind an underscore when it
// would start with a digit.
func name(s string) string {
	n := render.Snake(s)
	if n != "" && n[0] >= '0' && n[0] <= '9' {
		n = "_" + n
	}
	return n
}

// File renders main.tf for st.
func File(st *provision.State) ([]byte, error) {
	if err := render.CheckResolved(st); err != nil {
		return nil, err
	}
	var pnames, rnames, inames, mnames []string
	for _, p := range st.Providers {
		pnames = append(pnames, p.ID)
	}
	for _, r := range st.Roles {
		rnames = append(rnames, r.Name)
		for _, in := range r.InlinePolicies {
			inames = append(inames, r.Name+"\x00"+in.Name)
		}
		for _, a := range r.ManagedPolicyARNs {
			mnames = append(mnames, r.Name+"\x00"+a)
		}
	}
	pids, err := render.Identifiers(pnames, name, "_")
	if err != nil {
		return nil, err
	}
	rids, err := render.Identifiers(rnames, name, "_")
	if err != nil {
		return nil, err
	}
	iids, err := render.Identifiers(inames, func(n string) string { return name(strings.ReplaceAll(n, "\x00", "_")) }, "_")
	if err != nil {
		return nil, err
	}
	mids, err := render.Identifiers(mnames, func(n string) string {
		role, arn, _ := strings.Cut(n, "\x00")
		_, policy, _ := strings.Cut(arn, ":policy/")
		return name(role + "_" + policy)
	}, "_")
	if err != nil {
		return nil, err
	}

	w := &writer{st: st, providerByARN: map[string]string{}}
	for i, p := range st.Providers {
		w.providerByARN[p.ARN] = "aws_iam_openid_connect_provider." + pids[i] + ".arn"
	}
	var body strings.Builder
	b := &body
	for i, p := range st.Providers {
		id := pids[i]
		fmt.Fprintf(b, "variable %s {\n", quote(id+"_thumbprints"))
		fmt.Fprintf(b, "description = %s\n", quote("SHA-1 thumbprints (40 hex characters) of the certificate of https://"+p.URL+"; empty for none: AWS then trusts the issuer by its certificate authority"))
		b.WriteString("type = list(string)\n")
		fmt.Fprintf(b, "default = %s\n}\n\n", list(p.Thumbprints))
		fmt.Fprintf(b, "resource \"aws_iam_openid_connect_provider\" %s {\n", quote(id))
		fmt.Fprintf(b, "url = %s\n", quote("https://"+p.URL))
		fmt.Fprintf(b, "client_id_list = %s\n", list(p.ClientIDs))
		fmt.Fprintf(b, "thumbprint_list = length(var.%s_thumbprints) > 0 ? var.%[1]s_thumbprints : null\n", id)
		writeTags(b, p.Tags)
		b.WriteString("}\n\n")
	}
	ii, mi := 0, 0
	for i, r := range st.Roles {
		id := rids[i]
		fmt.Fprintf(b, "resource \"aws_iam_role\" %s {\n", quote(id))
		fmt.Fprintf(b, "name = %s\n", quote(r.Name))
		fmt.Fprintf(b, "path = %s\n", quote(r.Path))
		if r.Description != "" {
			fmt.Fprintf(b, "description = %s\n", quote(r.Description))
		}
		trust, err := w.document(r.TrustPolicy)
		if err != nil {
			return nil, fmt.Errorf("render role %s trust policy: %w", r.Name, err)
		}
		fmt.Fprintf(b, "assume_role_policy = %s\n", trust)
		if r.PermissionsBoundary != "" {
			fmt.Fprintf(b, "permissions_boundary = %s\n", w.str(r.PermissionsBoundary))
		}
		fmt.Fprintf(b, "max_session_duration = %d\n", r.MaxSessionDuration)
		writeTags(b, r.Tags)
		b.WriteString("}\n\n")
		for _, in := range r.InlinePolicies {
			doc, err := w.document(in.Document)
			if err != nil {
				return nil, fmt.Errorf("render role %s inline policy %s: %w", r.Name, in.Name, err)
			}
			fmt.Fprintf(b, "resource \"aws_iam_role_policy\" %s {\n", quote(iids[ii]))
			fmt.Fprintf(b, "role = aws_iam_role.%s.name\n", id)
			fmt.Fprintf(b, "name = %s\n", quote(in.Name))
			fmt.Fprintf(b, "policy = %s\n}\n\n", doc)
			ii++
		}
		for _, a := range r.ManagedPolicyARNs {
			fmt.Fprintf(b, "resource \"aws_iam_role_policy_attachment\" %s {\n", quote(mids[mi]))
			fmt.Fprintf(b, "role = aws_iam_role.%s.name\n", id)
			fmt.Fprintf(b, "policy_arn = %s\n}\n\n", w.str(a))
			mi++
		}
	}
	for i, p := range st.Providers {
		fmt.Fprintf(b, "output %s {\n", quote(pids[i]+"_provider_arn"))
		fmt.Fprintf(b, "description = %s\n", quote("ARN of the OpenID Connect provider https://"+p.URL))
		fmt.Fprintf(b, "value = aws_iam_openid_connect_provider.%s.arn\n}\n\n", pids[i])
	}
	for i, r := range st.Roles {
		fmt.Fprintf(b, "output %s {\n", quote(rids[i]+"_role_arn"))
		fmt.Fprintf(b, "description = %s\n", quote("ARN of the role "+r.Name))
		fmt.Fprintf(b, "value = aws_iam_role.%s.arn\n}\n\n", rids[i])
	}

	var head strings.Builder
	fmt.Fprintf(&head, "# IAM OpenID Connect providers and roles of the keyless config %s (keyless render).\n\n", strings.ReplaceAll(st.Name, "\n", " "))
	fmt.Fprintf(&head, "terraform {\nrequired_providers {\naws = {\nsource = \"hashicorp/aws\"\nversion = %s\n}\n}\n}\n\n", quote(ProviderVersion))
	if w.account {
		head.WriteString("data \"aws_caller_identity\" \"current\" {}\n\n")
	}
	if w.partition {
		head.WriteString("data \"aws_partition\" \"current\" {}\n\n")
	}
	src := strings.TrimRight(head.String()+body.String(), "\n") + "\n"
	return hclwrite.Format([]byte(src)), nil
}

// writer renders values, and records which data sources they use.
type writer struct {
	st                 *provision.State
	providerByARN      map[string]string // provider ARN → its expression
	account, partition bool
}

// document renders a policy document as jsonencode of an HCL object.
func (w *writer) document(doc provision.Document) (string, error) {
	v, err := render.ParseJSON([]byte(doc))
	if err != nil {
		return "", err
	}
	var b strings.Builder
	b.WriteString("jsonencode(")
	w.value(&b, v)
	b.WriteString(")")
	return b.String(), nil
}

func (w *writer) value(b *strings.Builder, v render.Value) {
	switch v.Kind {
	case render.Null:
		b.WriteString("null")
	case render.Bool, render.Number:
		b.WriteString(v.Text)
	case render.String:
		b.WriteString(w.str(v.Text))
	case render.Array:
		if _, scalars := v.Strings(); scalars {
			b.WriteString("[")
			for i, it := range v.Items {
				if i > 0 {
					b.WriteString(", ")
				}
				w.value(b, it)
			}
			b.WriteString("]")
			return
		}
		b.WriteString("[\n")
		for _, it := range v.Items {
			w.value(b, it)
			b.WriteString(",\n")
		}
		b.WriteString("]")
	case render.Object:
		if len(v.Fields) == 0 {
			b.WriteString("{}")
			return
		}
		b.WriteString("{\n")
		for _, f := range v.Fields {
			b.WriteString(key(f.Key))
			b.WriteString(" = ")
			w.value(b, f.Value)
			b.WriteString("\n")
		}
		b.WriteString("}")
	}
}

// str renders a string: a provider's ARN as a reference to its arn attribute, a
// string that depends on the account or partition as a template that
// interpolates the data sources, any other as a quoted literal.
func (w *writer) str(s string) string {
	if expr, ok := w.providerByARN[s]; ok {
		return expr
	}
	var b strings.Builder
	b.WriteByte('"')
	for _, p := range render.Split(s, w.st.Partition) {
		switch p.Ref {
		case render.Account:
			w.account = true
			b.WriteString("${" + accountExpr + "}")
		case render.Partition:
			w.partition = true
			b.WriteString("${" + partitionExpr + "}")
		default:
			b.WriteString(escape(p.Text))
		}
	}
	b.WriteByte('"')
	return b.String()
}

var identifier = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// key renders an object key: bare when it is an identifier, quoted otherwise.
func key(k string) string {
	if identifier.MatchString(k) && k != "true" && k != "false" && k != "null" {
		return k
	}
	return quote(k)
}

// quote renders s as an HCL string literal.
func quote(s string) string { return `"` + escape(s) + `"` }

// escape escapes s for an HCL quoted template: backslash escapes, and $${ and
// %%{ so that IAM policy variables such as ${aws:username} stay literal.
func escape(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\\':
			b.WriteString(`\\`)
		case c == '"':
			b.WriteString(`\"`)
		case c == '\n':
			b.WriteString(`\n`)
		case c == '\r':
			b.WriteString(`\r`)
		case c == '\t':
			b.WriteString(`\t`)
		case c < 0x20:
			fmt.Fprintf(&b, `\u%04x`, c)
		case (c == '$' || c == '%') && i+1 < len(s) && s[i+1] == '{':
			b.WriteByte(c)
			b.WriteByte(c)
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// list renders strings as an HCL tuple of literals.
func list(v []string) string {
	q := make([]string, len(v))
	for i, s := range v {
		q[i] = quote(s)
	}
	return "[" + strings.Join(q, ", ") + "]"
}

func writeTags(b *strings.Builder, tags []provision.Tag) {
	b.WriteString("tags = {\n")
	for _, t := range tags {
		fmt.Fprintf(b, "%s = %s\n", quote(t.Key), quote(t.Value))
	}
	b.WriteString("}\n")
}
