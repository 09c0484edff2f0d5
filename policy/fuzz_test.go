package policy

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var fuzzSeeds = []string{
	benchTrust,
	cdkPolicy,
	`{"Version":"2012-10-17","Statement":{"Effect":"Deny","NotAction":"iam:*","NotResource":["arn:aws:s3:::${aws:username}/*"],"Condition":{"ForAllValues:StringLike":{"aws:TagKeys":["a*","${*}"]},"Null":{"k:x":"true"}}}}`,
	`{"Statement":[{"Sid":"x","Effect":"Allow","Principal":"*","Action":"*","Resource":"*","Condition":{"DateLessThan":{"aws:CurrentTime":"2026-01-01"},"NumericEqualsIfExists":{"k:n":[1,2.5]},"Bool":{"aws:SecureTransport":true},"BinaryEquals":{"k:b":"QQ=="},"ArnNotLike":{"aws:SourceArn":"arn:aws:*:*:*:*"}}}]}`,
	`{"Version":"2008-10-17","Statement":{"Effect":"Allow","Principal":{"AWS":["123456789012","arn:aws:iam::123456789012:root"],"Service":"ec2.amazonaws.com"},"NotAction":"sts:*","Resource":"arn:aws:s3:::b"}}`,
	`{"Statement":[]}`, `[]`, `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:*","Resource":"arn:aws:s3:::a?b*c${x, 'y'}","Condition":{"IpAddress":{"aws:SourceIp":["::1/128","10.0.0.0/8"]}}}}`,
}

// goldenDocs adds the policies of the golden files to a fuzz corpus.
func goldenDocs(f *testing.F) []string {
	var out []string
	files, _ := filepath.Glob(filepath.Join("testdata", "*.json"))
	for _, file := range files {
		b, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		var g struct {
			Input Simulation `json:"input"`
		}
		if json.Unmarshal(b, &g) != nil {
			continue
		}
		for _, raw := range append(g.Input.IdentityPolicies, g.Input.ResourcePolicy, g.Input.SessionPolicy) {
			if len(raw) > 0 {
				out = append(out, string(raw))
			}
		}
	}
	return out
}

// FuzzParse checks that no document makes Parse, Lint or evaluation panic, and
// that a parsed document's statements are consistent.
func FuzzParse(f *testing.F) {
	for _, s := range append(fuzzSeeds, goldenDocs(f)...) {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, doc []byte) {
		_ = DetectKind(doc)
		_ = Size(doc, KindTrust)
		for k := KindIdentity; k <= KindBoundary; k++ {
			p, err := Parse(doc, k, WithMaxSize(0))
			if err != nil {
				if _, ok := err.(*Error); !ok {
					t.Fatalf("Parse error is %T, not *Error: %v", err, err)
				}
				_ = err.Error()
				continue
			}
			for i, s := range p.Statements {
				if s.Index != i || (s.Effect != Allow && s.Effect != Deny) || len(s.Actions) == 0 {
					t.Fatalf("inconsistent statement %d: %+v", i, s)
				}
			}
			_ = Lint(p)
			req := Request{Principal: "arn:aws:iam::123456789012:role/r", Action: "s3:GetObject", Resource: "arn:aws:s3:::b/k", Context: kv("aws:SourceIp", "10.0.0.1", "aws:username", "u", "aws:TagKeys", []string{"a", "b"})}
			in := Input{Identity: []*Policy{p}}
			if k == KindTrust || k == KindResource {
				in = Input{Resource: p}
			}
			r := Evaluate(req, in)
			if fr := EvaluateFast(req, in); fr.Decision != r.Decision {
				t.Fatalf("EvaluateFast %v != Evaluate %v", fr.Decision, r.Decision)
			}
			_ = r.Explain.String()
			if _, err := json.Marshal(r); err != nil {
				t.Fatal(err)
			}
		}
	})
}

// FuzzEvaluate evaluates arbitrary requests against a condition-rich policy and
// arbitrary condition values, checking that Evaluate and EvaluateFast agree.
func FuzzEvaluate(f *testing.F) {
	f.Add("sts:AssumeRoleWithWebIdentity", "", "{4d1}:{77a}", "34.199.54.113", "StringLike", "{4d1}:*")
	f.Add("s3:PutObject", "arn:aws:s3:::cdk-hnb659fds-assets-1/x", "", "::1", "ArnLike", "arn:aws:s3:::*")
	f.Add("S3:getobject", "arn:aws:s3:::b/${aws:username}", "2026-01-01T00:00:00Z", "1.2.3.4", "DateLessThan", "1700000000")
	f.Add("iam:PassRole", "*", "3", "x", "ForAllValues:NumericLessThanIfExists", "4")
	f.Fuzz(func(t *testing.T, action, resource, value, ip, op, policyValue string) {
		trust, err := Parse([]byte(benchTrust), KindTrust)
		if err != nil {
			t.Fatal(err)
		}
		cdk, err := Parse([]byte(cdkPolicy), KindIdentity)
		if err != nil {
			t.Fatal(err)
		}
		ctx := NewContext().Set(benchProvider+":aud", value).Set(benchProvider+":sub", value).Set("aws:SourceIp", ip).Set("aws:CalledVia", value, ip).Set("k:v", value)
		req := Request{Principal: benchProviderARN, Action: action, Resource: resource, Context: ctx}
		inputs := []Input{{Resource: trust}, {Identity: []*Policy{cdk}}, {Identity: []*Policy{cdk}, Resource: trust, Session: cdk, Boundary: cdk}}
		b, _ := json.Marshal(map[string]any{"Version": "2012-10-17", "Statement": map[string]any{"Effect": "Allow", "Action": "*", "Resource": []string{"*", strings.ToValidUTF8(policyValue, "")}, "Condition": map[string]any{op: map[string]any{"k:v": policyValue}}}})
		if p, err := Parse(b, KindIdentity, WithMaxSize(0)); err == nil {
			inputs = append(inputs, Input{Identity: []*Policy{p}})
		}
		for _, in := range inputs {
			r := Evaluate(req, in)
			fr := EvaluateFast(req, in)
			if r.Decision != fr.Decision {
				t.Fatalf("Evaluate %v != EvaluateFast %v", r.Decision, fr.Decision)
			}
			_ = r.Explain.String()
			_ = fr.Explain.String()
		}
	})
}
