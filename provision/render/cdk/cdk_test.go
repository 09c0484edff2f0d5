package cdk_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/keyless-dev/keyless/internal/testenv"
	"github.com/keyless-dev/keyless/provision/render/cdk"
	"github.com/keyless-dev/keyless/provision/render/internal/rendertest"
)

// TestGolden renders the example configs and compares each file of the app with
// its golden file; rendering twice gives the same bytes.
func TestGolden(t *testing.T) {
	for _, name := range rendertest.Configs {
		t.Run(name, func(t *testing.T) {
			files, err := cdk.Renderer{}.Render(rendertest.State(t, name))
			if err != nil {
				t.Fatal(err)
			}
			again, err := cdk.Renderer{}.Render(rendertest.State(t, name))
			if err != nil || fmt.Sprint(files) != fmt.Sprint(again) {
				t.Errorf("a second rendering differs (%v)", err)
			}
			for _, f := range files {
				rendertest.Golden(t, filepath.Join("testdata", name, f.Name), f.Data)
			}
		})
	}
}

// TestSynth synthesizes the golden apps with node and the aws-cdk-lib of
// testdata/npm (make deps installs it), and checks that each template has the
// same IAM providers and roles as the rendered CloudFormation template: the same
// URLs, client ids, thumbprints and tags; the same role names, paths,
// descriptions, trust policies (but for the Sid CDK principals drop), inline
// policies, managed policies, boundaries, session durations and tags, with every
// intrinsic function of both templates evaluated for one account.
func TestSynth(t *testing.T) {
	node := testenv.LookPath(t, "node")
	modules, err := filepath.Abs(filepath.Join("testdata", "npm", "node_modules"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = os.Stat(filepath.Join(modules, "aws-cdk-lib", "package.json"))
	testenv.Require(t, "aws-cdk-lib in "+modules, err == nil, "run make deps (npm ci in provision/render/cdk/testdata/npm): "+fmt.Sprint(err))
	for _, name := range rendertest.Configs {
		t.Run(name, func(t *testing.T) {
			st := rendertest.State(t, name)
			dir := t.TempDir()
			app, err := os.ReadFile(filepath.Join("testdata", name, "app.js"))
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, "app.js"), app, 0o600); err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
			defer cancel()
			cmd := exec.CommandContext(ctx, node, "app.js")
			cmd.Dir = dir
			cmd.Env = append(os.Environ(), "CDK_OUTDIR=out", "NODE_PATH="+modules, "HOME="+t.TempDir(), "CDK_DISABLE_VERSION_CHECK=1", testenv.MetadataDisabledEnv)
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("node app.js: %v\n%s", err, out)
			}
			synth, err := os.ReadFile(filepath.Join(dir, "out", cdk.StackName(st)+".template.json"))
			if err != nil {
				t.Fatal(err)
			}
			var fromCDK map[string]any
			if err := json.Unmarshal(synth, &fromCDK); err != nil {
				t.Fatal(err)
			}
			cfn, err := os.ReadFile(filepath.Join("..", "cloudformation", "testdata", name+".yaml"))
			if err != nil {
				t.Fatal(err)
			}
			fromCFN := yamlTemplate(t, cfn)
			got, want := iamEntities(t, fromCDK), iamEntities(t, fromCFN)
			if len(want) != len(st.Providers)+len(st.Roles) {
				t.Fatalf("the CloudFormation template has %d IAM entities, want %d", len(want), len(st.Providers)+len(st.Roles))
			}
			for k, w := range want {
				if g := got[k]; g != w {
					t.Errorf("%s\n  CDK:            %s\n  CloudFormation: %s", k, g, w)
				}
			}
			for k := range got {
				if _, ok := want[k]; !ok {
					t.Errorf("the CDK template has %s, which the CloudFormation template has not", k)
				}
			}
		})
	}
}

// yamlTemplate decodes a YAML template, short-form intrinsic functions turned
// into their long form.
func yamlTemplate(t *testing.T, b []byte) map[string]any {
	var doc yaml.Node
	if err := yaml.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	v, err := fromYAML(doc.Content[0])
	if err != nil {
		t.Fatal(err)
	}
	return v.(map[string]any)
}

func fromYAML(n *yaml.Node) (any, error) {
	switch n.Kind {
	case yaml.MappingNode:
		m := map[string]any{}
		for i := 0; i < len(n.Content); i += 2 {
			v, err := fromYAML(n.Content[i+1])
			if err != nil {
				return nil, err
			}
			m[n.Content[i].Value] = v
		}
		return m, nil
	case yaml.SequenceNode:
		var l []any
		for _, c := range n.Content {
			v, err := fromYAML(c)
			if err != nil {
				return nil, err
			}
			l = append(l, v)
		}
		if strings.HasPrefix(n.Tag, "!") && !strings.HasPrefix(n.Tag, "!!") {
			return map[string]any{"Fn::" + n.Tag[1:]: l}, nil
		}
		return l, nil
	}
	switch n.Tag {
	case "!Ref":
		return map[string]any{"Ref": n.Value}, nil
	case "!GetAtt":
		res, attr, _ := strings.Cut(n.Value, ".")
		return map[string]any{"Fn::GetAtt": []any{res, attr}}, nil
	case "!Sub":
		return map[string]any{"Fn::Sub": n.Value}, nil
	}
	var v any
	if err := n.Decode(&v); err != nil {
		return nil, err
	}
	if i, ok := v.(int); ok {
		return float64(i), nil
	}
	return v, nil
}

const account = "111122223333"

// evaluator evaluates the intrinsic functions of a template for account, in the
// aws partition, with parameters at their defaults.
type evaluator struct {
	tmpl map[string]any
}

func (e *evaluator) section(name string) map[string]any {
	m, _ := e.tmpl[name].(map[string]any)
	return m
}

// noValue stands for AWS::NoValue.
type noValue struct{}

func (e *evaluator) ref(name string) (any, error) {
	switch name {
	case "AWS::AccountId":
		return account, nil
	case "AWS::Partition":
		return "aws", nil
	case "AWS::NoValue":
		return noValue{}, nil
	}
	if p, ok := e.section("Parameters")[name].(map[string]any); ok {
		def, _ := p["Default"].(string)
		if p["Type"] == "CommaDelimitedList" {
			var l []any
			for _, s := range strings.Split(def, ",") {
				l = append(l, s)
			}
			return l, nil
		}
		return def, nil
	}
	return e.arn(name)
}

// arn is the ARN of the template's resource id (what Ref and Fn::GetAtt Arn
// give for IAM OIDC providers and roles).
func (e *evaluator) arn(id string) (any, error) {
	res, ok := e.section("Resources")[id].(map[string]any)
	if !ok {
		return nil, fmt.Errorf("no resource or parameter %s", id)
	}
	props, _ := res["Properties"].(map[string]any)
	switch res["Type"] {
	case "AWS::IAM::OIDCProvider":
		return "arn:aws:iam::" + account + ":oidc-provider/" + strings.TrimPrefix(props["Url"].(string), "https://"), nil
	case "AWS::IAM::Role":
		return "arn:aws:iam::" + account + ":role" + props["Path"].(string) + props["RoleName"].(string), nil
	}
	return nil, fmt.Errorf("no ARN for %s of type %v", id, res["Type"])
}

func (e *evaluator) eval(v any) (any, error) {
	switch v := v.(type) {
	case []any:
		var out []any
		for _, it := range v {
			r, err := e.eval(it)
			if err != nil {
				return nil, err
			}
			if _, skip := r.(noValue); !skip {
				out = append(out, r)
			}
		}
		return out, nil
	case map[string]any:
		if len(v) == 1 {
			for k, arg := range v {
				if k == "Ref" || strings.HasPrefix(k, "Fn::") || k == "Condition" {
					return e.fn(k, arg)
				}
			}
		}
		out := map[string]any{}
		for k, it := range v {
			r, err := e.eval(it)
			if err != nil {
				return nil, err
			}
			if _, skip := r.(noValue); !skip {
				out[k] = r
			}
		}
		return out, nil
	}
	return v, nil
}

func (e *evaluator) fn(name string, arg any) (any, error) {
	args, _ := arg.([]any)
	switch name {
	case "Ref":
		return e.ref(arg.(string))
	case "Fn::GetAtt":
		if args[1] != "Arn" {
			return nil, fmt.Errorf("Fn::GetAtt %v", args)
		}
		return e.arn(args[0].(string))
	case "Fn::Sub":
		s := arg.(string)
		var b strings.Builder
		for {
			i := strings.Index(s, "${")
			if i < 0 {
				b.WriteString(s)
				return b.String(), nil
			}
			b.WriteString(s[:i])
			s = s[i+2:]
			if strings.HasPrefix(s, "!") {
				b.WriteString("${")
				s = s[1:]
				continue
			}
			j := strings.Index(s, "}")
			var r any
			var err error
			if res, attr, ok := strings.Cut(s[:j], "."); ok {
				r, err = e.fn("Fn::GetAtt", []any{res, attr})
			} else {
				r, err = e.ref(s[:j])
			}
			if err != nil {
				return nil, err
			}
			b.WriteString(r.(string))
			s = s[j+1:]
		}
	case "Fn::Join":
		list, err := e.eval(args[1])
		if err != nil {
			return nil, err
		}
		var parts []string
		for _, p := range list.([]any) {
			parts = append(parts, p.(string))
		}
		return strings.Join(parts, args[0].(string)), nil
	case "Fn::Equals":
		a, err := e.eval(args)
		if err != nil {
			return nil, err
		}
		l := a.([]any)
		return fmt.Sprint(l[0]) == fmt.Sprint(l[1]), nil
	case "Fn::Not":
		a, err := e.eval(args[0])
		if err != nil {
			return nil, err
		}
		return !a.(bool), nil
	case "Fn::If", "Condition":
		cname := arg
		if name == "Fn::If" {
			cname = args[0]
		}
		c, err := e.eval(e.section("Conditions")[cname.(string)])
		if err != nil {
			return nil, err
		}
		if name == "Condition" {
			return c, nil
		}
		if c.(bool) {
			return e.eval(args[1])
		}
		return e.eval(args[2])
	}
	return nil, fmt.Errorf("unsupported %s", name)
}

// iamEntities evaluates the template's IAM OIDC providers and roles and returns
// each, normalized, as JSON by "provider URL" or "role NAME".
func iamEntities(t *testing.T, tmpl map[string]any) map[string]string {
	t.Helper()
	e := &evaluator{tmpl: tmpl}
	out := map[string]string{}
	for id, r := range e.section("Resources") {
		res := r.(map[string]any)
		typ := res["Type"]
		if typ != "AWS::IAM::OIDCProvider" && typ != "AWS::IAM::Role" {
			continue
		}
		v, err := e.eval(res["Properties"])
		if err != nil {
			t.Fatalf("resource %s: %v", id, err)
		}
		props := v.(map[string]any)
		props["Tags"] = tagMap(props["Tags"])
		key := "provider " + fmt.Sprint(props["Url"])
		if typ == "AWS::IAM::Role" {
			key = "role " + fmt.Sprint(props["RoleName"])
			props["AssumeRolePolicyDocument"] = normalizeDoc(props["AssumeRolePolicyDocument"], true)
			if pols, ok := props["Policies"].([]any); ok {
				m := map[string]any{}
				for _, p := range pols {
					p := p.(map[string]any)
					m[p["PolicyName"].(string)] = normalizeDoc(p["PolicyDocument"], false)
				}
				props["Policies"] = m
			}
			if arns, ok := props["ManagedPolicyArns"]; ok {
				props["ManagedPolicyArns"] = sortedStrings(arns)
			}
		}
		b, err := json.Marshal(props)
		if err != nil {
			t.Fatal(err)
		}
		out[key] = string(b)
	}
	return out
}

func tagMap(v any) map[string]any {
	m := map[string]any{}
	l, _ := v.([]any)
	for _, tg := range l {
		tg := tg.(map[string]any)
		m[tg["Key"].(string)] = tg["Value"]
	}
	return m
}

// normalizeDoc makes equivalent policy documents equal: the values of Action,
// Resource and of conditions as sorted lists, and for a trust policy no Sid.
func normalizeDoc(v any, trust bool) any {
	doc, _ := v.(map[string]any)
	stmts, _ := doc["Statement"].([]any)
	for _, s := range stmts {
		s := s.(map[string]any)
		if trust {
			delete(s, "Sid")
		}
		for _, k := range []string{"Action", "NotAction", "Resource", "NotResource"} {
			if a, ok := s[k]; ok {
				s[k] = sortedStrings(a)
			}
		}
		if c, ok := s["Condition"].(map[string]any); ok {
			for _, keys := range c {
				keys := keys.(map[string]any)
				for k, val := range keys {
					keys[k] = sortedStrings(val)
				}
			}
		}
	}
	return doc
}

func sortedStrings(v any) []string {
	var out []string
	switch v := v.(type) {
	case string:
		out = []string{v}
	case []any:
		for _, it := range v {
			out = append(out, fmt.Sprint(it))
		}
	}
	sort.Strings(out)
	return out
}

// TestRenderFiles checks the files of the app and its package.json.
func TestRenderFiles(t *testing.T) {
	files, err := cdk.Renderer{}.Render(rendertest.State(t, "github"))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, f := range files {
		names = append(names, f.Name)
	}
	if fmt.Sprint(names) != "[app.js cdk.json package.json]" {
		t.Errorf("files %v", names)
	}
	if !bytes.Contains(files[2].Data, []byte(`"aws-cdk-lib": "`+cdk.AWSCDKLibVersion+`"`)) {
		t.Errorf("package.json:\n%s", files[2].Data)
	}
}
