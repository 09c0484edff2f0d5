// Package cdk renders a desired IAM state as an AWS CDK app in plain
// JavaScript (CommonJS), so that it runs with Node.js alone, without a
// TypeScript compiler: app.js, package.json (aws-cdk-lib and constructs) and
// cdk.json (so that `npx cdk synth|deploy` finds the app). `node app.js`
// synthesizes the stack into CDK_OUTDIR (cdk.out by default) with no account.
//
// The stack, named keyless-NAME after the config, has an iam.OidcProviderNative
// (a native AWS::IAM::OIDCProvider) per provider and an iam.Role per role: its
// trust as an iam.WebIdentityPrincipal of the provider's ARN with the trust
// policy's conditions (withSessionTags() when the trust policy allows
// sts:TagSession), inline policies through iam.PolicyDocument.fromJson, managed
// policies, boundary, session duration and tags (cdk.Tags), and a CfnOutput with
// every ARN. Construct ids are the CloudFormation renderer's logical IDs.
// Strings that depend on the account or partition use cdk.Aws.ACCOUNT_ID and
// cdk.Aws.PARTITION as the CloudFormation renderer uses Fn::Sub. The trust
// policy's statement loses its Sid (WebIdentity), which CDK principals do not
// carry; the policy is otherwise the same.
package cdk

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/keyless-dev/keyless/provision"
	"github.com/keyless-dev/keyless/provision/render"
	"github.com/keyless-dev/keyless/provision/render/cloudformation"
)

// The versions of aws-cdk-lib and constructs package.json asks for: the
// aws-cdk-lib the app was tested with and later 2.x.
const (
	AWSCDKLibVersion  = "^2.278.0"
	ConstructsVersion = "^10.0.0"
)

// Renderer renders the CDK app.
type Renderer struct{}

// Format returns "cdk".
func (Renderer) Format() string { return "cdk" }

// Render returns app.js, cdk.json and package.json.
func (Renderer) Render(st *provision.State) ([]render.File, error) {
	app, err := App(st)
	if err != nil {
		return nil, err
	}
	pkg, err := marshal(map[string]any{
		"name":         StackName(st),
		"private":      true,
		"description":  "IAM OpenID Connect providers and roles of the keyless config " + st.Name + " (keyless render)",
		"scripts":      map[string]string{"synth": "node app.js"},
		"dependencies": map[string]string{"aws-cdk-lib": AWSCDKLibVersion, "constructs": ConstructsVersion},
	})
	if err != nil {
		return nil, err
	}
	cdkJSON, err := marshal(map[string]any{"app": "node app.js"})
	if err != nil {
		return nil, err
	}
	return []render.File{
		{Name: "app.js", Data: app},
		{Name: "cdk.json", Data: cdkJSON},
		{Name: "package.json", Data: pkg},
	}, nil
}

// StackName is the name of the app's stack: keyless- and the config's name,
// reduced to letters, digits and hyphens.
func StackName(st *provision.State) string {
	return strings.Join(append([]string{"keyless"}, render.Words(st.Name)...), "-")
}

// App renders app.js.
func App(st *provision.State) ([]byte, error) {
	if err := render.CheckResolved(st); err != nil {
		return nil, err
	}
	pids, rids, err := cloudformation.IDs(st)
	if err != nil {
		return nil, err
	}
	w := &writer{st: st, providerByARN: map[string]string{}}
	b := &w.b
	fmt.Fprintf(b, "// IAM OpenID Connect providers and roles of the keyless config %s (keyless render).\n", strings.ReplaceAll(st.Name, "\n", " "))
	b.WriteString("// `node app.js` synthesizes the stack into CDK_OUTDIR (default cdk.out); `npx cdk deploy` deploys it.\n")
	b.WriteString("\"use strict\";\n")
	b.WriteString("const cdk = require(\"aws-cdk-lib\");\n")
	b.WriteString("const iam = require(\"aws-cdk-lib/aws-iam\");\n\n")
	b.WriteString("const app = new cdk.App();\n")
	fmt.Fprintf(b, "const stack = new cdk.Stack(app, %s, {\n  description: %s,\n});\n", lit(StackName(st)), lit("IAM OpenID Connect providers and roles of the keyless config "+st.Name+" (keyless render)"))

	for i, p := range st.Providers {
		v := variable(pids[i])
		w.providerByARN[p.ARN] = v + ".oidcProviderArn"
		fmt.Fprintf(b, "\nconst %s = new iam.OidcProviderNative(stack, %s, {\n", v, lit(pids[i]))
		fmt.Fprintf(b, "  url: %s,\n", lit("https://"+p.URL))
		fmt.Fprintf(b, "  clientIds: %s,\n", lits(p.ClientIDs))
		if len(p.Thumbprints) > 0 {
			fmt.Fprintf(b, "  thumbprints: %s,\n", lits(p.Thumbprints))
		}
		b.WriteString("});\n")
		writeTags(b, v, p.Tags)
		fmt.Fprintf(b, "new cdk.CfnOutput(stack, %s, {\n  description: %s,\n  value: %s.oidcProviderArn,\n});\n",
			lit(pids[i]+"Arn"), lit("ARN of the OpenID Connect provider https://"+p.URL), v)
	}
	for i, r := range st.Roles {
		v := variable(rids[i])
		principal, err := w.principal(r)
		if err != nil {
			return nil, fmt.Errorf("render role %s trust policy: %w", r.Name, err)
		}
		fmt.Fprintf(b, "\nconst %s = new iam.Role(stack, %s, {\n", v, lit(rids[i]))
		fmt.Fprintf(b, "  roleName: %s,\n", lit(r.Name))
		fmt.Fprintf(b, "  path: %s,\n", lit(r.Path))
		if r.Description != "" {
			fmt.Fprintf(b, "  description: %s,\n", lit(r.Description))
		}
		fmt.Fprintf(b, "  assumedBy: %s,\n", principal)
		if len(r.InlinePolicies) > 0 {
			b.WriteString("  inlinePolicies: {\n")
			for _, in := range r.InlinePolicies {
				doc, err := render.ParseJSON([]byte(in.Document))
				if err != nil {
					return nil, fmt.Errorf("render role %s inline policy %s: %w", r.Name, in.Name, err)
				}
				fmt.Fprintf(b, "    %s: iam.PolicyDocument.fromJson(%s),\n", lit(in.Name), w.value(doc, "    "))
			}
			b.WriteString("  },\n")
		}
		if len(r.ManagedPolicyARNs) > 0 {
			b.WriteString("  managedPolicies: [\n")
			for j, a := range r.ManagedPolicyARNs {
				fmt.Fprintf(b, "    iam.ManagedPolicy.fromManagedPolicyArn(stack, %s, %s),\n", lit(fmt.Sprintf("%sManaged%d", rids[i], j+1)), w.str(a))
			}
			b.WriteString("  ],\n")
		}
		if r.PermissionsBoundary != "" {
			fmt.Fprintf(b, "  permissionsBoundary: iam.ManagedPolicy.fromManagedPolicyArn(stack, %s, %s),\n", lit(rids[i]+"Boundary"), w.str(r.PermissionsBoundary))
		}
		fmt.Fprintf(b, "  maxSessionDuration: cdk.Duration.seconds(%d),\n", r.MaxSessionDuration)
		b.WriteString("});\n")
		writeTags(b, v, r.Tags)
		fmt.Fprintf(b, "new cdk.CfnOutput(stack, %s, {\n  description: %s,\n  value: %s.roleArn,\n});\n",
			lit(rids[i]+"Arn"), lit("ARN of the role "+r.Name), v)
	}
	b.WriteString("\napp.synth();\n")
	return []byte(b.String()), nil
}

// writer renders JavaScript values.
type writer struct {
	b             strings.Builder
	st            *provision.State
	providerByARN map[string]string // provider ARN → its expression
}

// principal renders the role's trust policy as an iam.WebIdentityPrincipal. The
// policy must be what provision renders: one Allow statement whose principal is
// a provider of the state, for sts:AssumeRoleWithWebIdentity and possibly
// sts:TagSession, with conditions.
func (w *writer) principal(r provision.Role) (string, error) {
	doc, err := render.ParseJSON([]byte(r.TrustPolicy))
	if err != nil {
		return "", err
	}
	stmts, _ := doc.Get("Statement")
	if len(stmts.Items) != 1 {
		return "", fmt.Errorf("want one statement, have %d", len(stmts.Items))
	}
	s := stmts.Items[0]
	effect, _ := s.Get("Effect")
	principal, _ := s.Get("Principal")
	federated, _ := principal.Get("Federated")
	provider, known := w.providerByARN[federated.Text]
	action, _ := s.Get("Action")
	actions, _ := action.Strings()
	tagSession := false
	for _, a := range actions {
		switch a {
		case "sts:AssumeRoleWithWebIdentity":
		case "sts:TagSession":
			tagSession = true
		default:
			return "", fmt.Errorf("action %s: a web identity principal allows sts:AssumeRoleWithWebIdentity and sts:TagSession only", a)
		}
	}
	for _, f := range s.Fields {
		switch f.Key {
		case "Sid", "Effect", "Principal", "Action", "Condition":
		default:
			return "", fmt.Errorf("the statement has %s, which a web identity principal cannot express", f.Key)
		}
	}
	if effect.Text != "Allow" || !known || len(principal.Fields) != 1 || len(actions) == 0 {
		return "", fmt.Errorf("want an Allow statement for a provider of the config")
	}
	cond := render.Value{Kind: render.Object}
	if c, ok := s.Get("Condition"); ok {
		cond = c
	}
	out := fmt.Sprintf("new iam.WebIdentityPrincipal(%s, %s)", provider, w.value(cond, "  "))
	if tagSession {
		out += ".withSessionTags()"
	}
	return out, nil
}

// value renders v as a JavaScript expression, indent being the indentation of
// the line it starts on.
func (w *writer) value(v render.Value, indent string) string {
	switch v.Kind {
	case render.Null:
		return "null"
	case render.Bool, render.Number:
		return v.Text
	case render.String:
		return w.str(v.Text)
	case render.Array:
		if _, scalars := v.Strings(); scalars {
			items := make([]string, len(v.Items))
			for i, it := range v.Items {
				items[i] = w.value(it, indent)
			}
			return "[" + strings.Join(items, ", ") + "]"
		}
		var b strings.Builder
		b.WriteString("[\n")
		for _, it := range v.Items {
			b.WriteString(indent + "  " + w.value(it, indent+"  ") + ",\n")
		}
		b.WriteString(indent + "]")
		return b.String()
	}
	if len(v.Fields) == 0 {
		return "{}"
	}
	var b strings.Builder
	b.WriteString("{\n")
	for _, f := range v.Fields {
		b.WriteString(indent + "  " + lit(f.Key) + ": " + w.value(f.Value, indent+"  ") + ",\n")
	}
	b.WriteString(indent + "}")
	return b.String()
}

// str renders a string: a provider's ARN as its oidcProviderArn, a string that
// depends on the account or partition as a concatenation with cdk.Aws tokens,
// any other as a literal.
func (w *writer) str(s string) string {
	if expr, ok := w.providerByARN[s]; ok {
		return expr
	}
	parts := render.Split(s, w.st.Partition)
	if len(parts) == 0 {
		return lit("")
	}
	out := make([]string, len(parts))
	for i, p := range parts {
		switch p.Ref {
		case render.Account:
			out[i] = "cdk.Aws.ACCOUNT_ID"
		case render.Partition:
			out[i] = "cdk.Aws.PARTITION"
		default:
			out[i] = lit(p.Text)
		}
	}
	return strings.Join(out, " + ")
}

// variable makes a JavaScript variable name of a logical ID: its first letter
// lower-cased.
func variable(id string) string { return strings.ToLower(id[:1]) + id[1:] }

// lit renders s as a JavaScript string literal (a JSON string, U+2028 and U+2029
// escaped).
func lit(s string) string {
	b, _ := json.Marshal(s) // a string always marshals
	return string(b)
}

func lits(v []string) string {
	q := make([]string, len(v))
	for i, s := range v {
		q[i] = lit(s)
	}
	return "[" + strings.Join(q, ", ") + "]"
}

func writeTags(b *strings.Builder, v string, tags []provision.Tag) {
	for _, t := range tags {
		fmt.Fprintf(b, "cdk.Tags.of(%s).add(%s, %s);\n", v, lit(t.Key), lit(t.Value))
	}
}

// marshal renders v as indented JSON without HTML escaping.
func marshal(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}
