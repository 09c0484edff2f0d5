package provision

import (
	"fmt"
	"regexp"
	"sort"
	"strings"
)

// Template is a permission template: a named inline policy with parameters that
// grants the least its job needs.
type Template struct {
	// Name is what "template:" names, such as "s3-deploy".
	Name string
	// Summary says what the template is for.
	Summary string
	// Params are the template's parameters, in the order they are documented.
	Params []Param

	build func(p map[string]string, env templateEnv) (grant, *paramError)
}

// Param is one parameter of a template.
type Param struct {
	// Name is the parameter's key.
	Name string
	// Required reports that the parameter has no default.
	Required bool
	// Default is the value used when the parameter is left out.
	Default string
	// Doc says what the parameter is, with an example.
	Doc string
}

// templateEnv is what a template needs besides its parameters.
type templateEnv struct {
	partition string
	account   string // the account id or AccountPlaceholder
}

// grant is what a template contributes to a role.
type grant struct {
	statements []statement
	managed    []string // AWS managed policy names
}

// paramError is a bad parameter value: which parameter and what to write instead.
type paramError struct {
	param, msg string
}

var templates = [...]Template{
	{
		Name:    "s3-deploy",
		Summary: "what `aws s3 sync --delete --acl …` (and the atlassian/aws-s3-deploy pipe) needs on one bucket, optionally under one key prefix",
		Params: []Param{
			{Name: "bucket", Required: true, Doc: "the bucket name, e.g. my-site"},
			{Name: "prefix", Doc: "a key prefix, e.g. site/ (with the slash for a folder); the whole bucket when left out"},
		},
		build: buildS3Deploy,
	},
	{
		Name:    "cloudfront-invalidate",
		Summary: "creating and following invalidations of one CloudFront distribution (the atlassian/aws-cloudfront-invalidate pipe)",
		Params: []Param{
			{Name: "distribution", Required: true, Doc: "the distribution ID, e.g. E2QWRUHAPOMQZL"},
		},
		build: buildCloudFrontInvalidate,
	},
	{
		Name:    "cdk-deploy",
		Summary: "the CDK deployment role of the Bitbucket CDK guide: ReadOnlyAccess, anything through CloudFormation, the CDK staging buckets and bootstrap roles",
		Params: []Param{
			{Name: "qualifier", Default: "hnb659fds", Doc: "the CDK bootstrap qualifier"},
		},
		build: buildCDKDeploy,
	},
	{
		Name:    "codeartifact-read",
		Summary: "reading packages from one CodeArtifact repository (npm, pip, Maven login and install)",
		Params: []Param{
			{Name: "domain", Required: true, Doc: "the CodeArtifact domain, e.g. acme"},
			{Name: "repository", Required: true, Doc: "the repository in the domain, e.g. npm-store"},
			{Name: "domain_owner", Doc: "the 12-digit account owning the domain; the config's account when left out"},
			{Name: "region", Default: "*", Doc: "the domain's region, e.g. eu-west-1"},
		},
		build: buildCodeArtifactRead,
	},
}

// Templates returns every permission template, sorted by name.
func Templates() []Template {
	out := append([]Template(nil), templates[:]...)
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// TemplateNames returns the template names, sorted.
func TemplateNames() []string {
	var out []string
	for _, t := range Templates() {
		out = append(out, t.Name)
	}
	return out
}

func lookupTemplate(name string) (Template, bool) {
	for _, t := range templates {
		if t.Name == name {
			return t, true
		}
	}
	return Template{}, false
}

// withDefaults returns the parameters with defaults filled in, or the first
// missing required parameter.
func (t Template) withDefaults(p map[string]string) (map[string]string, string) {
	out := make(map[string]string, len(t.Params))
	for _, prm := range t.Params {
		v, ok := p[prm.Name]
		switch {
		case ok && v != "":
			out[prm.Name] = v
		case prm.Required:
			return nil, prm.Name
		default:
			out[prm.Name] = prm.Default
		}
	}
	return out, ""
}

var (
	bucketName   = regexp.MustCompile(`^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$`)
	distribution = regexp.MustCompile(`^[A-Z0-9]{1,64}$`)
	cdkQualifier = regexp.MustCompile(`^[a-z0-9]{1,10}$`)
	caName       = regexp.MustCompile(`^[a-z][a-z0-9-]{0,48}[a-z0-9]$`)
	caRepo       = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{1,99}$`)
	regionName   = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-\d$`)
	accountID    = regexp.MustCompile(`^\d{12}$`)
)

func buildS3Deploy(p map[string]string, env templateEnv) (grant, *paramError) {
	bucket, prefix := p["bucket"], p["prefix"]
	if !bucketName.MatchString(bucket) || strings.Contains(bucket, "..") {
		return grant{}, &paramError{"bucket", fmt.Sprintf("%q is not an S3 bucket name: write 3 to 63 lower-case letters, digits, dots and hyphens, starting and ending with a letter or digit, e.g. my-site", bucket)}
	}
	if strings.HasPrefix(prefix, "/") || strings.ContainsAny(prefix, "*?") {
		return grant{}, &paramError{"prefix", fmt.Sprintf("%q is not a key prefix: write it without a leading slash and without wildcards, e.g. site/", prefix)}
	}
	bucketARN := fmt.Sprintf("arn:%s:s3:::%s", env.partition, bucket)
	list := statement{Sid: "ListBucket", Effect: "Allow", Action: "s3:ListBucket", Resource: bucketARN}
	if prefix != "" {
		list.Condition = conditions{"StringLike": {"s3:prefix": prefix + "*"}}
	}
	return grant{statements: []statement{
		list,
		{Sid: "SyncObjects", Effect: "Allow",
			Action:   []string{"s3:DeleteObject", "s3:GetObject", "s3:PutObject", "s3:PutObjectAcl"},
			Resource: fmt.Sprintf("%s/%s*", bucketARN, prefix)},
	}}, nil
}

func buildCloudFrontInvalidate(p map[string]string, env templateEnv) (grant, *paramError) {
	id := p["distribution"]
	if !distribution.MatchString(id) {
		return grant{}, &paramError{"distribution", fmt.Sprintf("%q is not a CloudFront distribution ID: write its upper-case letters and digits as the console shows them, e.g. E2QWRUHAPOMQZL", id)}
	}
	return grant{statements: []statement{{
		Sid: "Invalidate", Effect: "Allow",
		Action:   []string{"cloudfront:CreateInvalidation", "cloudfront:GetInvalidation", "cloudfront:ListInvalidations"},
		Resource: fmt.Sprintf("arn:%s:cloudfront::%s:distribution/%s", env.partition, env.account, id),
	}}}, nil
}

func buildCDKDeploy(p map[string]string, env templateEnv) (grant, *paramError) {
	q := p["qualifier"]
	if !cdkQualifier.MatchString(q) {
		return grant{}, &paramError{"qualifier", fmt.Sprintf("%q is not a CDK qualifier: write up to 10 lower-case letters and digits, e.g. hnb659fds", q)}
	}
	part := env.partition
	return grant{
		managed: []string{"ReadOnlyAccess"},
		statements: []statement{
			{Sid: "ThroughCloudFormation", Effect: "Allow", Action: "*", Resource: "*",
				Condition: conditions{"ForAnyValue:StringEquals": {"aws:CalledVia": "cloudformation.amazonaws.com"}}},
			{Sid: "CDKAssets", Effect: "Allow", Action: "s3:*",
				Resource: []string{fmt.Sprintf("arn:%s:s3:::cdk-*stagingbucket-*", part), fmt.Sprintf("arn:%s:s3:::cdk-%s-assets-*", part, q)}},
			{Sid: "CDKBootstrapRoles", Effect: "Allow", Action: []string{"iam:PassRole", "sts:AssumeRole"},
				Resource: fmt.Sprintf("arn:%s:iam::*:role/cdk-%s-*-role-*", part, q)},
			{Sid: "ChangeSets", Effect: "Allow",
				Action: []string{"cloudformation:CreateChangeSet", "cloudformation:DeleteChangeSet", "cloudformation:DescribeChangeSet",
					"cloudformation:DescribeStackEvents", "cloudformation:DescribeStacks", "cloudformation:ExecuteChangeSet",
					"cloudformation:GetTemplate", "cloudformation:ValidateTemplate"},
				Resource: "*"},
			{Sid: "EventBuses", Effect: "Allow", Action: "events:PutEvents",
				Resource: fmt.Sprintf("arn:%s:events:*:%s:event-bus/*", part, env.account)},
		},
	}, nil
}

func buildCodeArtifactRead(p map[string]string, env templateEnv) (grant, *paramError) {
	domain, repo, owner, region := p["domain"], p["repository"], p["domain_owner"], p["region"]
	if !caName.MatchString(domain) {
		return grant{}, &paramError{"domain", fmt.Sprintf("%q is not a CodeArtifact domain name: write 2 to 50 lower-case letters, digits and hyphens, starting with a letter, e.g. acme", domain)}
	}
	if !caRepo.MatchString(repo) {
		return grant{}, &paramError{"repository", fmt.Sprintf("%q is not a CodeArtifact repository name: write 2 to 100 letters, digits, dots, underscores and hyphens, e.g. npm-store", repo)}
	}
	if owner == "" {
		owner = env.account
	} else if !accountID.MatchString(owner) {
		return grant{}, &paramError{"domain_owner", fmt.Sprintf("%q is not an account id: write the 12 digits of the account owning the domain, e.g. \"123456789012\"", owner)}
	}
	if region != "*" && !regionName.MatchString(region) {
		return grant{}, &paramError{"region", fmt.Sprintf("%q is not a region: write a region name such as eu-west-1, or leave it out for any region", region)}
	}
	part := env.partition
	return grant{statements: []statement{
		{Sid: "AuthorizationToken", Effect: "Allow", Action: "codeartifact:GetAuthorizationToken",
			Resource: fmt.Sprintf("arn:%s:codeartifact:%s:%s:domain/%s", part, region, owner, domain)},
		{Sid: "BearerToken", Effect: "Allow", Action: "sts:GetServiceBearerToken", Resource: "*",
			Condition: conditions{"StringEquals": {"sts:AWSServiceName": "codeartifact.amazonaws.com"}}},
		{Sid: "ReadRepository", Effect: "Allow",
			Action:   []string{"codeartifact:GetRepositoryEndpoint", "codeartifact:ReadFromRepository"},
			Resource: fmt.Sprintf("arn:%s:codeartifact:%s:%s:repository/%s/%s", part, region, owner, domain, repo)},
	}}, nil
}
