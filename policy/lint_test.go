package policy

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

const lintProvider = "arn:aws:iam::123456789012:oidc-provider/api.bitbucket.org/2.0/workspaces/acme/pipelines-config/identity/oidc"
const lintHost = "api.bitbucket.org/2.0/workspaces/acme/pipelines-config/identity/oidc"

// seedFifteen is the aws:SourceIp list of seed 003's CloudFormation template.
const seedFifteen = `["34.199.54.113/32", "34.232.25.90/32", "34.232.119.183/32", "34.236.25.177/32", "35.171.175.212/32",
	"52.54.90.98/32", "52.202.195.162/32", "52.203.14.55/32", "52.204.96.37/32", "34.218.156.209/32",
	"34.218.168.212/32", "52.41.219.63/32", "35.155.178.254/32", "35.160.177.10/32", "34.216.18.129/32"]`

func trustDoc(principal, action, cond string) string {
	c := ""
	if cond != "" {
		c = `, "Condition": ` + cond
	}
	return fmt.Sprintf(`{"Version": "2012-10-17", "Statement": [{"Sid": "T", "Effect": "Allow", "Principal": %s, "Action": %s%s}]}`, principal, action, c)
}

func TestLintRules(t *testing.T) {
	fed := `{"Federated": "` + lintProvider + `"}`
	act := `"sts:AssumeRoleWithWebIdentity"`
	aud := `"StringEquals": {"` + lintHost + `:aud": "ari:cloud:bitbucket::workspace/84c08677"}`
	sub := func(op, v string) string { return `"` + op + `": {"` + lintHost + `:sub": "` + v + `"}` }
	const uuid = "{4d1e3f9a-0d4b-4c8e-9a56-1f2b3c4d5e6f}"
	tests := []struct {
		name string
		kind Kind
		doc  string
		want []string // rule ids, in order
	}{
		{"good trust", KindTrust, trustDoc(fed, act, `{`+aud+`, `+sub("StringLike", uuid+":*")+`}`), nil},
		{"good trust, exact sub", KindTrust, trustDoc(fed, act, `{"StringEquals": {"`+lintHost+`:aud": "x", "`+lintHost+`:sub": "`+uuid+`:{1}"}}`), nil},
		{"no conditions", KindTrust, trustDoc(fed, act, ""), []string{RuleNoSub, RuleNoAud}},
		{"seed: aud and IP, no sub", KindTrust, trustDoc(fed, act, `{`+aud+`, "IpAddress": {"aws:SourceIp": ["34.199.54.113/32"]}}`), []string{RuleNoSub, RuleBitbucketIPs}},
		{"seed's fifteen addresses", KindTrust, trustDoc(fed, act, `{`+aud+`, `+sub("StringLike", uuid+":*")+`, "IpAddress": {"aws:SourceIp": `+seedFifteen+`}}`), []string{RuleBitbucketIPs}},
		{"seed's addresses without /32, in IpAddressIfExists", KindTrust, trustDoc(fed, act, `{`+aud+`, `+sub("StringLike", uuid+":*")+`, "IpAddressIfExists": {"aws:sourceip": ["52.41.219.63", "34.216.18.129/32"]}}`), []string{RuleBitbucketIPs}},
		{"seed's fifteen and another address", KindTrust, trustDoc(fed, act, `{`+aud+`, `+sub("StringLike", uuid+":*")+`, "IpAddress": {"aws:SourceIp": `+strings.Replace(seedFifteen, `[`, `["3.216.235.48/32", `, 1)+`}}`), nil},
		{"a range holding a seed address", KindTrust, trustDoc(fed, act, `{`+aud+`, `+sub("StringLike", uuid+":*")+`, "IpAddress": {"aws:SourceIp": "34.199.54.0/24"}}`), nil},
		{"seed's fifteen in NotIpAddress", KindTrust, trustDoc(fed, act, `{`+aud+`, `+sub("StringLike", uuid+":*")+`, "NotIpAddress": {"aws:SourceIp": `+seedFifteen+`}}`), nil},
		{"seed's fifteen in an identity policy", KindIdentity, `{"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*", "Condition": {"IpAddress": {"aws:SourceIp": ` + seedFifteen + `}}}}`, nil},
		{"sub only negated", KindTrust, trustDoc(fed, act, `{`+aud+`, `+sub("StringNotLike", "{bad}:*")+`}`), []string{RuleNoSub}},
		{"sub key case-insensitive", KindTrust, trustDoc(fed, act, `{`+aud+`, "StringLike": {"API.bitbucket.org/2.0/workspaces/acme/pipelines-config/identity/oidc:SUB": "`+uuid+`:*"}}`), nil},
		{"sub star", KindTrust, trustDoc(fed, act, `{`+aud+`, `+sub("StringLike", "*")+`}`), []string{RuleOverbroadSub}},
		{"sub brace star", KindTrust, trustDoc(fed, act, `{`+aud+`, `+sub("StringLike", "{*}:*")+`}`), []string{RuleOverbroadSub}},
		{"sub partial uuid", KindTrust, trustDoc(fed, act, `{`+aud+`, `+sub("StringLike", "{4d1e*")+`}`), []string{RuleOverbroadSub}},
		{"sub GitHub org-wide", KindTrust, trustDoc(`{"Federated": "arn:aws:iam::1:oidc-provider/token.actions.githubusercontent.com"}`, act, `{"StringEquals": {"token.actions.githubusercontent.com:aud": "sts.amazonaws.com"}, "StringLike": {"token.actions.githubusercontent.com:sub": "repo:acme/*"}}`), []string{RuleOverbroadSub}},
		{"sub GitHub one repo", KindTrust, trustDoc(`{"Federated": "arn:aws:iam::1:oidc-provider/token.actions.githubusercontent.com"}`, act, `{"StringEquals": {"token.actions.githubusercontent.com:aud": "sts.amazonaws.com"}, "StringLike": {"token.actions.githubusercontent.com:sub": "repo:acme/web:*"}}`), nil},
		{"sub in StringEquals with star", KindTrust, trustDoc(fed, act, `{"StringEquals": {"`+lintHost+`:aud": "x", "`+lintHost+`:sub": "`+uuid+`:*"}}`), []string{RuleWildcardEquals}},
		{"ForAllValues on sub in Allow", KindTrust, trustDoc(fed, act, `{`+aud+`, `+sub("ForAllValues:StringLike", uuid+":*")+`}`), []string{RuleForAllValues, RuleNoSub}},
		{"ForAllValues with Null guard", KindIdentity, `{"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "ec2:CreateTags", "Resource": "*", "Condition": {"ForAllValues:StringEquals": {"aws:TagKeys": ["a"]}, "Null": {"aws:TagKeys": "false"}}}}`, nil},
		{"ForAllValues in Deny is fine", KindIdentity, `{"Version": "2012-10-17", "Statement": {"Effect": "Deny", "Action": "ec2:CreateTags", "Resource": "*", "Condition": {"ForAllValues:StringEquals": {"aws:TagKeys": ["a"]}}}}`, nil},
		{"principal star", KindTrust, trustDoc(`"*"`, act, `{`+aud+`}`), []string{RulePrincipalStar}},
		{"AWS star", KindTrust, trustDoc(`{"AWS": "*"}`, `"sts:AssumeRole"`, ""), []string{RulePrincipalStar}},
		{"sts star", KindTrust, trustDoc(fed, `"sts:*"`, `{`+aud+`, `+sub("StringLike", uuid+":*")+`}`), []string{RuleTrustAction}},
		{"action star in trust", KindTrust, trustDoc(fed, `"*"`, `{`+aud+`, `+sub("StringLike", uuid+":*")+`}`), []string{RuleTrustAction}},
		{"NotAction in trust", KindTrust, trustDoc(fed, `"sts:TagSession"`, "")[:0] + `{"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Principal": {"AWS": "123456789012"}, "NotAction": "sts:TagSession"}}`, []string{RuleTrustAction}},
		{"service trust", KindTrust, trustDoc(`{"Service": "ec2.amazonaws.com"}`, `"sts:AssumeRole"`, ""), nil},
		{"admin", KindIdentity, `{"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "*", "Resource": "*"}}`, []string{RuleAdminAccess}},
		{"admin with condition (seed CDK)", KindIdentity, cdkPolicy, []string{RuleAdminAccess}},
		{"admin deny is fine", KindIdentity, `{"Version": "2012-10-17", "Statement": {"Effect": "Deny", "Action": "*", "Resource": "*"}}`, nil},
		{"passrole star", KindIdentity, `{"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": ["iam:PassRole", "ec2:RunInstances"], "Resource": "*"}}`, []string{RulePassRoleStar}},
		{"iam star on star", KindIdentity, `{"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "iam:*", "Resource": "*"}}`, []string{RulePassRoleStar}},
		{"passrole scoped", KindIdentity, `{"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "iam:PassRole", "Resource": "arn:aws:iam::*:role/cdk-*"}}`, nil},
		{"StringEquals star in identity", KindIdentity, `{"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "s3:*", "Resource": "*", "Condition": {"StringEquals": {"s3:prefix": "home/*"}}}}`, []string{RuleWildcardEquals}},
		{"StringEquals escaped star is fine", KindIdentity, `{"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "s3:*", "Resource": "*", "Condition": {"StringEquals": {"s3:prefix": "a${*}"}}}}`, nil},
		{"missing version", KindIdentity, `{"Statement": {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}}`, []string{RuleOldVersion}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := mustParse(t, tc.doc, tc.kind)
			var got []string
			fs := Lint(p)
			for _, f := range fs {
				got = append(got, f.RuleID)
				if f.Message == "" || f.Fix == "" || f.Severity != ruleSeverity(f.RuleID) {
					t.Errorf("incomplete finding %+v", f)
				}
				if f.Statement >= 0 && f.Line == 0 {
					t.Errorf("finding without a line: %+v", f)
				}
			}
			if strings.Join(got, ",") != strings.Join(tc.want, ",") {
				t.Errorf("rules = %v, want %v\n%+v", got, tc.want, fs)
			}
		})
	}
}

func TestLintSeverities(t *testing.T) {
	errs := []string{RuleNoSub, RuleWildcardEquals, RuleForAllValues, RuleOverbroadSub, RulePrincipalStar, RuleAdminAccess}
	for _, r := range Rules() {
		want := SeverityWarning
		if r.ID == RuleOldVersion {
			want = SeverityInfo
		}
		for _, e := range errs {
			if r.ID == e {
				want = SeverityError
			}
		}
		if r.Severity != want {
			t.Errorf("%s: severity %s, want %s", r.ID, r.Severity, want)
		}
	}
}

func TestFindingRenderers(t *testing.T) {
	p := mustParse(t, trustDoc(`{"Federated": "`+lintProvider+`"}`, `"sts:AssumeRoleWithWebIdentity"`, ""), KindTrust)
	fs := Lint(p)
	if !HasErrors(fs) {
		t.Fatal("want errors")
	}
	var text bytes.Buffer
	if err := WriteFindingsText(&text, "trust.json", fs); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(text.String(), "trust.json:1:41: error [no-sub-condition] statement \"T\" trusts") || !strings.Contains(text.String(), "2 finding(s): 1 error(s), 1 warning(s)") {
		t.Errorf("text:\n%s", text.String())
	}
	var js bytes.Buffer
	if err := WriteFindingsJSON(&js, "trust.json", fs); err != nil {
		t.Fatal(err)
	}
	var decoded struct {
		File     string
		Findings []Finding
	}
	if err := json.Unmarshal(js.Bytes(), &decoded); err != nil || len(decoded.Findings) != 2 || decoded.Findings[0].RuleID != RuleNoSub {
		t.Errorf("json %v:\n%s", err, js.String())
	}
	var sarif bytes.Buffer
	if err := WriteSARIF(&sarif, "trust.json", fs); err != nil {
		t.Fatal(err)
	}
	var log struct {
		Version string `json:"version"`
		Runs    []struct {
			Tool struct {
				Driver struct {
					Rules []struct{ ID string }
				}
			}
			Results []struct {
				RuleID    string `json:"ruleId"`
				RuleIndex int    `json:"ruleIndex"`
				Level     string
				Locations []struct {
					PhysicalLocation struct {
						ArtifactLocation struct{ URI string }
						Region           struct{ StartLine int }
					}
				}
			}
		}
	}
	if err := json.Unmarshal(sarif.Bytes(), &log); err != nil {
		t.Fatal(err)
	}
	if log.Version != "2.1.0" || len(log.Runs) != 1 || len(log.Runs[0].Results) != 2 {
		t.Fatalf("sarif:\n%s", sarif.String())
	}
	r := log.Runs[0].Results[0]
	if r.Level != "error" || log.Runs[0].Tool.Driver.Rules[r.RuleIndex].ID != r.RuleID || r.Locations[0].PhysicalLocation.ArtifactLocation.URI != "trust.json" || r.Locations[0].PhysicalLocation.Region.StartLine != 1 {
		t.Errorf("sarif result %+v", r)
	}
}

// TestLintBitbucketIPs: the pre-2024 list warning says what changed and what to
// run, counts distinct addresses, and its rule is listed in SARIF logs.
func TestLintBitbucketIPs(t *testing.T) {
	doubled := strings.Replace(seedFifteen, `[`, `["34.199.54.113", `, 1)
	p := mustParse(t, trustDoc(`{"Federated": "`+lintProvider+`"}`, `"sts:AssumeRoleWithWebIdentity"`,
		`{"StringEquals": {"`+lintHost+`:aud": "a"}, "StringLike": {"`+lintHost+`:sub": "{4d1e3f9a-0d4b-4c8e-9a56-1f2b3c4d5e6f}:*"}, "IpAddress": {"aws:SourceIp": `+doubled+`}}`), KindTrust)
	fs := Lint(p)
	if len(fs) != 1 || fs[0].RuleID != RuleBitbucketIPs || fs[0].Severity != SeverityWarning {
		t.Fatalf("findings %+v", fs)
	}
	for _, want := range []string{`statement "T": IpAddress on "aws:SourceIp" is pinned to Bitbucket's pre-2024 IP list (15 of its 15 addresses)`, "2024 runtime migration", "`atlassian-ip-ranges: true`"} {
		if !strings.Contains(fs[0].Message, want) {
			t.Errorf("message lacks %q: %s", want, fs[0].Message)
		}
	}
	if !strings.Contains(fs[0].Fix, "keyless ip-ranges") {
		t.Errorf("fix: %s", fs[0].Fix)
	}
	var sarif bytes.Buffer
	if err := WriteSARIF(&sarif, "trust.json", fs); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(sarif.String(), `"id": "`+RuleBitbucketIPs+`"`) || !strings.Contains(sarif.String(), `"ruleId": "`+RuleBitbucketIPs+`"`) {
		t.Errorf("SARIF log lacks the rule:\n%s", sarif.String())
	}
}
