package policy

import "testing"

const (
	benchProvider    = "api.bitbucket.org/2.0/workspaces/acme/pipelines-config/identity/oidc"
	benchProviderARN = "arn:aws:iam::123456789012:oidc-provider/" + benchProvider
)

// benchTrust is a three-condition trust policy: aud, the repository through sub,
// and the Bitbucket Pipelines source addresses.
const benchTrust = `{
  "Version": "2012-10-17",
  "Statement": [{
    "Sid": "BitbucketRepo",
    "Effect": "Allow",
    "Principal": {"Federated": "` + benchProviderARN + `"},
    "Action": "sts:AssumeRoleWithWebIdentity",
    "Condition": {
      "StringEquals": {"` + benchProvider + `:aud": "ari:cloud:bitbucket::workspace/84c08677-e352-4a1c-a107-6df387cfeef7"},
      "StringLike": {"` + benchProvider + `:sub": "{4d1e3f9a-0d4b-4c8e-9a56-1f2b3c4d5e6f}:*"},
      "IpAddress": {"aws:SourceIp": ["34.199.54.113/32", "34.232.25.90/32", "34.232.119.183/32", "34.236.25.177/32", "35.171.175.212/32", "52.54.90.98/32", "52.202.195.162/32", "52.203.14.55/32", "52.204.96.37/32", "34.218.156.209/32", "34.218.168.212/32", "52.41.219.63/32", "35.155.178.254/32", "35.160.177.10/32", "34.216.18.129/32"]}
    }
  }]
}`

// cdkPolicy is the CDK deployment role's custom permissions (seed 001) as JSON.
const cdkPolicy = `{
  "Version": "2012-10-17",
  "Statement": [
    {"Sid": "DeployAnythingViaCloudFormation", "Effect": "Allow", "Action": "*", "Resource": "*",
     "Condition": {"ForAnyValue:StringEquals": {"aws:CalledVia": "cloudformation.amazonaws.com"}}},
    {"Sid": "CdkStagingBuckets", "Effect": "Allow",
     "Action": ["s3:GetObject*", "s3:PutObject*", "s3:DeleteObject*", "s3:ListBucket", "s3:GetBucketLocation", "s3:GetEncryptionConfiguration"],
     "Resource": ["arn:aws:s3:::cdk-*stagingbucket*", "arn:aws:s3:::cdk-*stagingbucket*/*", "arn:aws:s3:::cdk-hnb659fds-assets-*", "arn:aws:s3:::cdk-hnb659fds-assets-*/*"]},
    {"Sid": "CodeArtifact", "Effect": "Allow",
     "Action": ["codeartifact:GetAuthorizationToken", "codeartifact:GetRepositoryEndpoint", "codeartifact:ReadFromRepository", "codeartifact:PublishPackageVersion", "codeartifact:PutPackageMetadata"],
     "Resource": "*"},
    {"Sid": "CodeArtifactBearerToken", "Effect": "Allow", "Action": "sts:GetServiceBearerToken", "Resource": "*",
     "Condition": {"StringEquals": {"sts:AWSServiceName": "codeartifact.amazonaws.com"}}},
    {"Sid": "CloudFormationChangeSets", "Effect": "Allow",
     "Action": ["cloudformation:ValidateTemplate", "cloudformation:CreateChangeSet", "cloudformation:DescribeChangeSet", "cloudformation:ExecuteChangeSet", "cloudformation:DeleteChangeSet", "cloudformation:CreateStack", "cloudformation:UpdateStack", "cloudformation:DescribeStacks", "cloudformation:DescribeStackEvents", "cloudformation:GetTemplate"],
     "Resource": "*"},
    {"Sid": "CdkV2AssumeAndPassRoles", "Effect": "Allow", "Action": ["sts:AssumeRole", "iam:PassRole"],
     "Resource": "arn:aws:iam::*:role/cdk-*"}
  ]
}`

func benchTrustRequest() Request {
	return Request{
		Principal: benchProviderARN,
		Action:    "sts:AssumeRoleWithWebIdentity",
		Context: NewContext().
			Set(benchProvider+":aud", "ari:cloud:bitbucket::workspace/84c08677-e352-4a1c-a107-6df387cfeef7").
			Set(benchProvider+":sub", "{4d1e3f9a-0d4b-4c8e-9a56-1f2b3c4d5e6f}:{0c1d2e3f-4a5b-4c6d-8e7f-9a0b1c2d3e4f}").
			Set("aws:SourceIp", "35.160.177.10"),
	}
}

func mustParse(tb testing.TB, doc string, k Kind) *Policy {
	tb.Helper()
	p, err := Parse([]byte(doc), k)
	if err != nil {
		tb.Fatal(err)
	}
	return p
}

func benchEval(b *testing.B, eval func(Request, Input) Result, req Request, in Input, want Decision) {
	b.ReportAllocs()
	for b.Loop() {
		if r := eval(req, in); r.Decision != want {
			b.Fatalf("decision %v, want %v", r.Decision, want)
		}
	}
}

func BenchmarkEvaluateTrust3Conditions(b *testing.B) {
	in := Input{Resource: mustParse(b, benchTrust, KindTrust)}
	benchEval(b, Evaluate, benchTrustRequest(), in, Allowed)
}

func BenchmarkEvaluateFastTrust3Conditions(b *testing.B) {
	in := Input{Resource: mustParse(b, benchTrust, KindTrust)}
	benchEval(b, EvaluateFast, benchTrustRequest(), in, Allowed)
}

func BenchmarkEvaluateFastTrust3ConditionsDenied(b *testing.B) {
	in := Input{Resource: mustParse(b, benchTrust, KindTrust)}
	req := benchTrustRequest()
	req.Context = NewContext().Set(benchProvider+":aud", "ari:cloud:bitbucket::workspace/84c08677-e352-4a1c-a107-6df387cfeef7").
		Set(benchProvider+":sub", "{9c2e3f9a-0d4b-4c8e-9a56-1f2b3c4d5e6f}:{0c1d2e3f-4a5b-4c6d-8e7f-9a0b1c2d3e4f}").
		Set("aws:SourceIp", "35.160.177.10")
	benchEval(b, EvaluateFast, req, in, ImplicitlyDenied)
}

func BenchmarkEvaluateCDKIdentity(b *testing.B) {
	in := Input{Identity: []*Policy{mustParse(b, cdkPolicy, KindIdentity)}}
	req := Request{Principal: "arn:aws:sts::123456789012:assumed-role/CDKDeploymentRole/s", Action: "s3:PutObject", Resource: "arn:aws:s3:::cdk-hnb659fds-assets-123456789012-ap-southeast-2/asset.zip", Context: NewContext()}
	benchEval(b, Evaluate, req, in, Allowed)
}

func BenchmarkParseTrust(b *testing.B) {
	b.ReportAllocs()
	doc := []byte(benchTrust)
	for b.Loop() {
		if _, err := Parse(doc, KindTrust); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkLintTrust(b *testing.B) {
	p := mustParse(b, benchTrust, KindTrust)
	b.ReportAllocs()
	for b.Loop() {
		_ = Lint(p)
	}
}
