package provision

import (
	"strings"
	"testing"

	"github.com/keyless-dev/keyless/policy"
)

// TestTemplates builds every template with its required parameters and checks
// that the document is a valid identity policy, that it has a summary and
// documented parameters, and that leaving out a required parameter is refused.
func TestTemplates(t *testing.T) {
	example := map[string]string{"bucket": "my-site", "distribution": "E2QWRUHAPOMQZL", "domain": "acme", "repository": "npm-store"}
	if got := strings.Join(TemplateNames(), " "); got != "cdk-deploy cloudfront-invalidate codeartifact-read s3-deploy" {
		t.Errorf("templates: %s", got)
	}
	for _, tm := range Templates() {
		if tm.Summary == "" {
			t.Errorf("%s has no summary", tm.Name)
		}
		params := map[string]string{}
		for _, p := range tm.Params {
			if p.Doc == "" {
				t.Errorf("%s.%s has no doc", tm.Name, p.Name)
			}
			if p.Required {
				params[p.Name] = example[p.Name]
			}
		}
		full, missing := tm.withDefaults(params)
		if missing != "" {
			t.Fatalf("%s: missing %s", tm.Name, missing)
		}
		g, perr := tm.build(full, templateEnv{partition: "aws", account: "123456789012"})
		if perr != nil {
			t.Fatalf("%s: %s: %s", tm.Name, perr.param, perr.msg)
		}
		doc, err := render(document{Version: policy.Version2012, Statement: g.statements})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := policy.Parse([]byte(doc), policy.KindIdentity); err != nil {
			t.Errorf("%s: %v\n%s", tm.Name, err, doc)
		}
		for name := range params {
			without := map[string]string{}
			for k, v := range params {
				if k != name {
					without[k] = v
				}
			}
			if _, m := tm.withDefaults(without); m != name {
				t.Errorf("%s without %s: missing %q", tm.Name, name, m)
			}
		}
	}
}

// TestS3DeployPrefix checks the least privilege of s3-deploy with a prefix:
// listing only under the prefix, objects only under it.
func TestS3DeployPrefix(t *testing.T) {
	tm, _ := lookupTemplate("s3-deploy")
	g, perr := tm.build(map[string]string{"bucket": "my-site", "prefix": "web/"}, templateEnv{partition: "aws-cn", account: AccountPlaceholder})
	if perr != nil {
		t.Fatal(perr.msg)
	}
	doc, _ := render(document{Version: policy.Version2012, Statement: g.statements})
	const want = `{"Version":"2012-10-17","Statement":[` +
		`{"Sid":"ListBucket","Effect":"Allow","Action":"s3:ListBucket","Resource":"arn:aws-cn:s3:::my-site","Condition":{"StringLike":{"s3:prefix":"web/*"}}},` +
		`{"Sid":"SyncObjects","Effect":"Allow","Action":["s3:DeleteObject","s3:GetObject","s3:PutObject","s3:PutObjectAcl"],"Resource":"arn:aws-cn:s3:::my-site/web/*"}]}`
	if doc != want {
		t.Errorf("got  %s\nwant %s", doc, want)
	}
}
