package provision

import (
	"testing"
)

// badConfigs are configs Parse or Validate must refuse, with the exact message.
// Each differs from a valid config by one mistake.
var badConfigs = []struct {
	name, src, want string
}{
	{"unknown top-level key", `
providers: {gh: {type: github}}
role: []
`,
		"keyless.yaml:3:1: unknown key \"role\" (did you mean \"roles\"?); the keys here are name, account, accounts, partition, tags, providers, roles, rotation"},
	{"unknown provider key with suggestion", `
providers:
  bb:
    type: bitbucket
    worksapce: acme
`,
		"keyless.yaml:5:5: providers.bb: unknown key \"worksapce\" (did you mean \"workspace\"?); the keys here are type, workspace, workspace_uuid, url, audiences, thumbprints, tags"},
	{"unknown role key", `
providers: {gh: {type: github}}
roles:
  - name: r
    trust: {subjects: ["repo:a/b:*"]}
    max_session: 2h
`,
		"keyless.yaml:6:5: roles[0]: unknown key \"max_session\" (did you mean \"max_session_duration\"?); the keys here are name, provider, path, description, matrix, trust, permissions, managed_policies, permissions_boundary, max_session_duration, tags"},
	{"wrong type: list for a mapping", `
providers: [github]
`,
		"keyless.yaml:2:12: providers: want a mapping, e.g. {bitbucket: {type: bitbucket, workspace: acme, workspace_uuid: …}}; got a list"},
	{"wrong type: mapping for a list", `
providers: {gh: {type: github}}
roles: {name: r}
`,
		"keyless.yaml:3:8: roles: want a list, e.g. [{name: deploy-{repository}, …}]; got a mapping"},
	{"wrong type: boolean", `
providers: {gh: {type: github}}
roles:
  - name: r
    trust: {allow_any_subject: "yes"}
`,
		"keyless.yaml:5:32: roles[0].trust.allow_any_subject: want true or false; got \"yes\""},
	{"wrong type: duration", `
providers: {gh: {type: github}}
roles:
  - name: r
    trust: {subjects: ["repo:a/b:*"]}
    max_session_duration: [1h]
`,
		"keyless.yaml:6:27: roles[0].max_session_duration: want a duration between 1h and 12h such as 2h or 90m (or seconds, 3600 to 43200); got a list"},
	{"duplicate key", `
providers: {gh: {type: github}}
providers: {gl: {type: gitlab}}
`,
		"keyless.yaml:3:1: providers: the key \"providers\" appears twice: keep one"},
	{"second document", `
providers: {gh: {type: github}}
---
roles: []
`,
		"keyless.yaml:3:1: a second YAML document: a config is one document; remove the \"---\" and what follows, or merge it into the first"},
	{"not YAML", "providers: {gh: [\n",
		"keyless.yaml:1:1: not valid YAML: did not find expected node content"},
	{"empty file", "",
		"keyless.yaml:1:1: the file is empty: run `keyless init` for a commented starter"},
	{"merge key", `
providers: {gh: &b {type: github}, gh2: {<<: *b}}
`,
		"keyless.yaml:2:42: providers.gh2.<<: merge keys (<<) are not supported: write the keys out"},
	{"thumbprints word", `
providers: {gh: {type: github, thumbprints: automatic}}
`,
		"keyless.yaml:2:45: providers.gh.thumbprints: want a list of 40-hex-digit SHA-1 thumbprints or the word auto; got \"automatic\""},
	{"bad thumbprint", `
providers: {gh: {type: github, thumbprints: [abc]}}
`,
		"keyless.yaml:2:46: providers.gh.thumbprints[0]: \"abc\" is not a thumbprint: write the 40 hex digits of the certificate's SHA-1, e.g. a031c46782e6e6c662c2c87c76da9aa62ccabd8e, or thumbprints: auto"},
	{"unknown provider type", `
providers: {gh: {type: githb}}
`,
		"keyless.yaml:2:24: providers.gh.type: unknown provider type \"githb\" (did you mean \"github\"?): write one of bitbucket, github, gitlab, oidc"},
	{"missing workspace UUID", `
providers:
  bb:
    type: bitbucket
    workspace: acme
`,
		"keyless.yaml:3:3: providers.bb: a bitbucket provider needs its workspace UUID for the audience: write workspace_uuid: \"{…}\" as Repository settings › OpenID Connect shows it (the part after ari:cloud:bitbucket::workspace/), or list audiences:"},
	{"bad workspace UUID", `
providers:
  bb: {type: bitbucket, workspace: acme, workspace_uuid: "{84c08677-e352}"}
`,
		"keyless.yaml:3:58: providers.bb.workspace_uuid: \"{84c08677-e352}\" is not a UUID: write it as Bitbucket shows it, e.g. \"{84c08677-e352-4a1c-a107-6df387cfeef7}\""},
	{"workspace on github", `
providers:
  gh: {type: github, workspace: acme}
`,
		"keyless.yaml:3:33: providers.gh.workspace: workspace is for type bitbucket only: remove it"},
	{"http issuer", `
providers:
  x: {type: oidc, url: "http://issuer.example.com", audiences: [a]}
`,
		"keyless.yaml:3:24: providers.x.url: \"http://issuer.example.com\": IAM accepts only https issuers: write https://issuer.example.com"},
	{"oidc without audiences", `
providers:
  x: {type: oidc, url: "https://issuer.example.com"}
`,
		"keyless.yaml:3:3: providers.x: an oidc provider needs its audiences: write audiences: [sts.amazonaws.com] (the token's aud)"},
	{"same issuer twice", `
providers:
  a: {type: github}
  b: {type: oidc, url: "https://token.actions.githubusercontent.com", audiences: [x]}
`,
		"keyless.yaml:4:24: providers.b.url: the issuer token.actions.githubusercontent.com is also providers.a: IAM holds one provider per URL; keep one and list every audience in it"},
	{"bad account", `
account: 12345
providers: {gh: {type: github}}
`,
		"keyless.yaml:2:10: account: \"12345\" is not an AWS account id: write its 12 digits in quotes, e.g. account: \"123456789012\", or leave account out to resolve it at plan time"},
	{"unknown partition", `
partition: aws-china
providers: {gh: {type: github}}
`,
		"keyless.yaml:2:12: partition: unknown partition \"aws-china\": write one of aws, aws-cn, aws-us-gov, aws-iso, aws-iso-b, aws-iso-e, aws-iso-f, aws-eusc"},
	{"reserved tag", `
tags: {"keyless:managed": other}
providers: {gh: {type: github}}
`,
		"keyless.yaml:2:27: tags.keyless:managed: keyless:managed is set by keyless to the config's name: remove it, or set name:"},
	{"no providers", `
roles: []
`,
		"keyless.yaml: providers: no providers: add one, e.g. providers: {github: {type: github}}"},
	{"role without provider among several", `
providers: {gh: {type: github}, gl: {type: gitlab}}
roles:
  - name: r
    trust: {subjects: ["repo:a/b:*"]}
`,
		"keyless.yaml:4:5: roles[0]: which provider does the role trust? write provider: one of gh, gl"},
	{"unknown provider reference", `
providers: {github: {type: github}}
roles:
  - name: r
    provider: githib
    trust: {subjects: ["repo:a/b:*"]}
`,
		"keyless.yaml:5:15: roles[0].provider: no provider \"githib\" (did you mean \"github\"?): write one of github"},
	{"no sub condition", `
providers: {gh: {type: github}}
roles:
  - name: r
`,
		"keyless.yaml:4:5: roles[0]: the role has no sub condition, so any pipeline that gets a token from token.actions.githubusercontent.com could assume it: add a matrix, or trust.subjects, or (to accept that) trust.allow_any_subject: true"},
	{"role name too long from the pattern", `
providers:
  bb: {type: bitbucket, workspace: acme, workspace_uuid: "84c08677-e352-4a1c-a107-6df387cfeef7"}
roles:
  - name: deployment-role-for-{repository}-into-environment-{environment}
    matrix:
      repositories:
        - {name: web, uuid: "13faecea-5b4a-4a2b-8c9d-0e1f2a3b4c5d"}
        - {name: customer-portal-frontend, uuid: "23faecea-5b4a-4a2b-8c9d-0e1f2a3b4c5d"}
      environments:
        - {name: production, uuid: "1111c1e6-9b1f-4c3e-8f7a-5d6e7f8a9b0c"}
        - {name: staging, uuid: "2222c1e6-9b1f-4c3e-8f7a-5d6e7f8a9b0c"}
`,
		"keyless.yaml:5:11: roles[0].name: the role name \"deployment-role-for-customer-portal-frontend-into-environment-production\" for repository \"customer-portal-frontend\", environment \"production\" (the longest combination) has 72 characters; IAM allows 64: shorten the pattern or the names"},
	{"role name characters from a branch", `
providers: {gh: {type: github}}
roles:
  - name: deploy-{repository}-{branch}
    matrix: {repositories: [acme/web], branches: [feature/x]}
`,
		"keyless.yaml:4:11: roles[0].name: the role name \"deploy-web-feature/x\" for repository \"web\", branch \"feature/x\" has characters IAM refuses: a role name holds only letters, digits and + = , . @ _ -; change the pattern or the names"},
	{"duplicate role names from the matrix", `
providers:
  bb: {type: bitbucket, workspace: acme, workspace_uuid: "84c08677-e352-4a1c-a107-6df387cfeef7"}
roles:
  - name: deploy-{repository}
    matrix:
      repositories: [{name: web, uuid: "13faecea-5b4a-4a2b-8c9d-0e1f2a3b4c5d"}]
      environments:
        - {name: production, uuid: "1111c1e6-9b1f-4c3e-8f7a-5d6e7f8a9b0c"}
        - {name: staging, uuid: "2222c1e6-9b1f-4c3e-8f7a-5d6e7f8a9b0c"}
`,
		"keyless.yaml:5:11: roles[0].name: the pattern \"deploy-{repository}\" makes the role name \"deploy-web\" for both repository \"web\", environment \"production\" and repository \"web\", environment \"staging\": add {environment} to the pattern"},
	{"duplicate role names across roles", `
providers: {gh: {type: github}}
roles:
  - name: deploy-{repository}
    matrix: {repositories: [acme/web]}
  - name: Deploy-Web
    trust: {subjects: ["repo:acme/web:*"]}
`,
		"keyless.yaml:6:11: roles[1].name: the role name \"Deploy-Web\" is also made by roles[0] (line 4): role names are unique in an account, ignoring case; rename one"},
	{"unknown placeholder", `
providers: {gh: {type: github}}
roles:
  - name: deploy-{repo}
    matrix: {repositories: [acme/web]}
`,
		"keyless.yaml:4:11: roles[0].name: unknown placeholder {repo} (did you mean \"repository\"?): the placeholders are {repository}, {owner}, {environment} and {branch}"},
	{"placeholder without its dimension", `
providers: {gh: {type: github}}
roles:
  - name: deploy-{repository}-{environment}
    matrix: {repositories: [acme/web]}
`,
		"keyless.yaml:4:11: roles[0].name: {environment} has no value: the matrix has no environments; add them, or remove {environment}"},
	{"bitbucket repository without uuid", `
providers:
  bb: {type: bitbucket, workspace: acme, workspace_uuid: "84c08677-e352-4a1c-a107-6df387cfeef7"}
roles:
  - name: deploy-{repository}
    matrix: {repositories: [web]}
`,
		"keyless.yaml:6:29: roles[0].matrix.repositories[0]: the repository web has no uuid: write {name: web, uuid: \"{…}\"} with the UUID from Repository settings › OpenID Connect"},
	{"bitbucket branches", `
providers:
  bb: {type: bitbucket, workspace: acme, workspace_uuid: "84c08677-e352-4a1c-a107-6df387cfeef7"}
roles:
  - name: deploy-{repository}
    matrix:
      repositories: [{name: web, uuid: "13faecea-5b4a-4a2b-8c9d-0e1f2a3b4c5d"}]
      branches: [main]
`,
		"keyless.yaml:8:17: roles[0].matrix.branches: Bitbucket's sub has no branch ({repository}:{environment}:{step}): remove branches, or use a deployment environment per branch"},
	{"github environments and branches", `
providers: {gh: {type: github}}
roles:
  - name: deploy-{repository}
    matrix: {repositories: [acme/web], environments: [production], branches: [main]}
`,
		"keyless.yaml:5:5: roles[0].matrix: environments and branches together: a job with an environment gets sub repo:OWNER/REPO:environment:NAME, never its branch; keep one of them (protect the environment's branches in GitHub instead)"},
	{"repository listed twice", `
providers: {gh: {type: github}}
roles:
  - name: deploy-{repository}
    matrix: {repositories: [acme/web, acme/api, acme/web]}
`,
		"keyless.yaml:5:49: roles[0].matrix.repositories[2]: acme/web is listed twice: keep one"},
	{"github repository without owner", `
providers: {gh: {type: github}}
roles:
  - name: deploy-{repository}
    matrix: {repositories: [web]}
`,
		"keyless.yaml:5:29: roles[0].matrix.repositories[0]: \"web\" is not a GitHub repository: write OWNER/REPO, e.g. acme/web"},
	{"gitlab environments", `
providers: {gl: {type: gitlab}}
roles:
  - name: deploy-{repository}
    matrix: {repositories: [acme/web], environments: [production]}
`,
		"keyless.yaml:5:54: roles[0].matrix.environments: GitLab's sub has no environment (project_path:GROUP/PROJECT:ref_type:branch:ref:BRANCH): use branches, or extra conditions"},
	{"matrix and subjects", `
providers: {gh: {type: github}}
roles:
  - name: deploy-{repository}
    matrix: {repositories: [acme/web]}
    trust: {subjects: ["repo:acme/web:*"]}
`,
		"keyless.yaml:6:23: roles[0].trust.subjects: subjects and a matrix together: the matrix makes each role's sub; remove one"},
	{"audience the provider lacks", `
providers: {gh: {type: github}}
roles:
  - name: r
    trust: {subjects: ["repo:a/b:*"], audiences: [sigstore]}
`,
		"keyless.yaml:5:51: roles[0].trust.audiences[0]: the provider gh does not list the audience \"sigstore\" (it lists sts.amazonaws.com): add it to providers.gh.audiences, or use one of those"},
	{"bad CIDR", `
providers: {gh: {type: github}}
roles:
  - name: r
    trust: {subjects: ["repo:a/b:*"], source_ips: [10.0.0.0/33]}
`,
		"keyless.yaml:5:52: roles[0].trust.source_ips[0]: \"10.0.0.0/33\" is not a CIDR block: write an address range such as 203.0.113.0/24 or 2001:db8::/32, or atlassian:bitbucket"},
	{"CIDR with host bits", `
providers: {gh: {type: github}}
roles:
  - name: r
    trust: {subjects: ["repo:a/b:*"], source_ips: [10.1.2.3/8]}
`,
		"keyless.yaml:5:52: roles[0].trust.source_ips[0]: \"10.1.2.3/8\" has bits set after the /8: write 10.0.0.0/8"},
	{"unknown address reference", `
providers: {gh: {type: github}}
roles:
  - name: r
    trust: {subjects: ["repo:a/b:*"], source_ips: "github:actions"}
`,
		"keyless.yaml:5:51: roles[0].trust.source_ips: unknown address reference \"github:actions\": the only one is atlassian:bitbucket"},
	{"invalid extra condition JSON", `
providers: {gh: {type: github}}
roles:
  - name: r
    trust:
      subjects: ["repo:a/b:*"]
      conditions: '{"StringEquals": {"aws:RequestedRegion": "eu-west-1"}'
`,
		"keyless.yaml:7:19: roles[0].trust.conditions: not valid JSON (unexpected end of JSON input, at line 1, column 54 of the JSON): write a JSON object of operators like a policy's Condition element, e.g. '{\"StringEquals\": {\"aws:RequestedRegion\": \"eu-west-1\"}}'"},
	{"extra condition of the wrong shape", `
providers: {gh: {type: github}}
roles:
  - name: r
    trust:
      subjects: ["repo:a/b:*"]
      conditions: '{"StringEquals": "eu-west-1"}'
`,
		"keyless.yaml:7:19: roles[0].trust.conditions: StringEquals: the value of StringEquals must be an object mapping condition keys to values (conditions is a policy's Condition element, e.g. '{\"StringEquals\": {\"aws:RequestedRegion\": \"eu-west-1\"}}')"},
	{"extra condition with a key written twice", `
providers: {gh: {type: github}}
roles:
  - name: r
    trust:
      subjects: ["repo:a/b:*"]
      conditions: '{"StringEquals": {"aws:RequestedRegion": "eu-west-1", "aws:RequestedRegion": "us-east-1"}}'
`,
		"keyless.yaml:7:19: roles[0].trust.conditions: StringEquals: duplicate element \"aws:RequestedRegion\": AWS would keep only the last one and silently drop the other; merge them into one (conditions is a policy's Condition element, e.g. '{\"StringEquals\": {\"aws:RequestedRegion\": \"eu-west-1\"}}')"},
	{"extra condition with an unknown operator", `
providers: {gh: {type: github}}
roles:
  - name: r
    trust:
      subjects: ["repo:a/b:*"]
      conditions: '{"StringEqual": {"aws:RequestedRegion": "eu-west-1"}}'
`,
		"keyless.yaml:7:19: roles[0].trust.conditions: StringEqual: Invalid Condition type : StringEqual (conditions is a policy's Condition element, e.g. '{\"StringEquals\": {\"aws:RequestedRegion\": \"eu-west-1\"}}')"},
	{"extra condition clashing with a generated one", `
providers: {gh: {type: github}}
roles:
  - name: r
    trust:
      subjects: ["repo:a/b:*"]
      conditions: '{"StringLike": {"token.actions.githubusercontent.com:sub": "repo:a/*"}}'
`,
		"keyless.yaml:7:19: roles[0].trust.conditions: StringLike on token.actions.githubusercontent.com:sub is also a condition keyless writes from the config: remove it from conditions"},
	{"unknown template", `
providers: {gh: {type: github}}
roles:
  - name: r
    trust: {subjects: ["repo:a/b:*"]}
    permissions:
      - template: s3-sync
        bucket: site
`,
		"keyless.yaml:7:19: roles[0].permissions[0].template: unknown template \"s3-sync\"; the templates are cdk-deploy, cloudfront-invalidate, codeartifact-read, s3-deploy"},
	{"unknown template parameter", `
providers: {gh: {type: github}}
roles:
  - name: r
    trust: {subjects: ["repo:a/b:*"]}
    permissions:
      - template: s3-deploy
        bucket: site
        perfix: web/
`,
		"keyless.yaml:9:9: roles[0].permissions[0]: unknown key \"perfix\" (did you mean \"prefix\"?); template s3-deploy takes bucket, prefix (and name)"},
	{"missing template parameter", `
providers: {gh: {type: github}}
roles:
  - name: r
    trust: {subjects: ["repo:a/b:*"]}
    permissions:
      - template: cloudfront-invalidate
`,
		"keyless.yaml:7:9: roles[0].permissions[0]: template cloudfront-invalidate needs distribution: add distribution: <the distribution ID, e.g. E2QWRUHAPOMQZL>"},
	{"bad bucket name from a placeholder", `
providers: {gh: {type: github}}
roles:
  - name: deploy-{repository}
    matrix: {repositories: [acme/Web]}
    permissions:
      - template: s3-deploy
        bucket: site-{repository}
`,
		"keyless.yaml:8:17: roles[0].permissions[0].bucket: \"site-Web\" is not an S3 bucket name: write 3 to 63 lower-case letters, digits, dots and hyphens, starting and ending with a letter or digit, e.g. my-site (from site-{repository} for repository \"Web\")"},
	{"lower-case distribution", `
providers: {gh: {type: github}}
roles:
  - name: r
    trust: {subjects: ["repo:a/b:*"]}
    permissions:
      - template: cloudfront-invalidate
        distribution: 123xyz
`,
		"keyless.yaml:8:23: roles[0].permissions[0].distribution: \"123xyz\" is not a CloudFront distribution ID: write its upper-case letters and digits as the console shows them, e.g. E2QWRUHAPOMQZL"},
	{"two inline policies with one name", `
providers: {gh: {type: github}}
roles:
  - name: r
    trust: {subjects: ["repo:a/b:*"]}
    permissions:
      - {template: s3-deploy, bucket: site-a}
      - {template: s3-deploy, bucket: site-b}
`,
		"keyless.yaml:8:9: roles[0].permissions[1]: the inline policy name \"s3-deploy\" is also used by roles[0].permissions[0]: give one of them a name:"},
	{"template and file in one entry", `
providers: {gh: {type: github}}
roles:
  - name: r
    trust: {subjects: ["repo:a/b:*"]}
    permissions:
      - {template: cdk-deploy, file: p.json}
`,
		"keyless.yaml:7:9: roles[0].permissions[0]: has both template and file: one entry is one inline policy; split it in two entries"},
	{"bad managed policy", `
providers: {gh: {type: github}}
roles:
  - name: r
    trust: {subjects: ["repo:a/b:*"]}
    managed_policies: ["arn:aws:iam::aws:role/ReadOnlyAccess"]
`,
		"keyless.yaml:6:24: roles[0].managed_policies[0]: \"arn:aws:iam::aws:role/ReadOnlyAccess\" is not a managed policy ARN: write arn:aws:iam::aws:policy/NAME, arn:aws:iam::ACCOUNT:policy/NAME or an AWS managed policy name such as ReadOnlyAccess"},
	{"max session duration too long", `
providers: {gh: {type: github}}
roles:
  - name: r
    trust: {subjects: ["repo:a/b:*"]}
    max_session_duration: 24h
`,
		"keyless.yaml:6:27: roles[0].max_session_duration: 24h is out of range: IAM allows 1h to 12h in whole seconds, e.g. 2h"},
	{"bad path", `
providers: {gh: {type: github}}
roles:
  - name: r
    path: ci
    trust: {subjects: ["repo:a/b:*"]}
`,
		"keyless.yaml:5:11: roles[0].path: \"ci\" is not an IAM path: write / or /a/path/ (starting and ending with /, at most 512 characters)"},
}

func TestBadConfigs(t *testing.T) {
	for _, tc := range badConfigs {
		t.Run(tc.name, func(t *testing.T) {
			spec, err := Parse("keyless.yaml", []byte(tc.src))
			if err == nil {
				_, err = Desired(spec)
			}
			if err == nil {
				t.Fatal("accepted")
			}
			if err.Error() != tc.want {
				t.Errorf("got:\n%s\nwant:\n%s", err, tc.want)
				if *update {
					t.Logf("WANT %q %q", tc.name, err.Error())
				}
			}
		})
	}
}
