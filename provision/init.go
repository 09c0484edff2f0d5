package provision

import (
	"errors"
	"fmt"
	"os"
	"strings"
)

// StarterProviders returns the provider types [Starter] has a starter for.
func StarterProviders() []string {
	return []string{TypeBitbucket, TypeGitHub, TypeGitLab}
}

// Starter returns the commented starter keyless.yaml for a provider type
// (bitbucket, github or gitlab). Every starter parses, validates and yields a
// desired state.
func Starter(provider string) ([]byte, error) {
	var body string
	switch provider {
	case TypeBitbucket:
		body = starterBitbucket
	case TypeGitHub:
		body = starterGitHub
	case TypeGitLab:
		body = starterGitLab
	default:
		return nil, fmt.Errorf("no starter for provider %q: choose %s", provider, strings.Join(StarterProviders(), ", "))
	}
	return []byte(starterHeader + body + starterFooter), nil
}

// WriteStarter writes the starter for provider to path. Without force it refuses
// to replace an existing file; the error then wraps [fs.ErrExist].
func WriteStarter(path, provider string, force bool) error {
	data, err := Starter(provider)
	if err != nil {
		return err
	}
	flags := os.O_WRONLY | os.O_CREATE | os.O_EXCL
	if force {
		flags = os.O_WRONLY | os.O_CREATE | os.O_TRUNC
	}
	f, err := os.OpenFile(path, flags, 0o644)
	if err != nil {
		return fmt.Errorf("write starter: %w", err)
	}
	_, werr := f.Write(data)
	cerr := f.Close()
	if err := errors.Join(werr, cerr); err != nil {
		return fmt.Errorf("write starter %s: %w", path, err)
	}
	return nil
}

const starterHeader = `# keyless.yaml: the IAM OpenID Connect provider and roles that let CI pipelines
# deploy to AWS with no stored secrets. Values marked REPLACE are examples.
# Unknown keys are errors, so a typo never passes silently.

# name is the value of the keyless:managed tag on everything this file manages;
# it defaults to the file's name without extension.
# name: web-deploy

# account is the 12-digit AWS account id (in quotes). Left out, it is the account
# of the credentials keyless runs with; set, keyless refuses any other account.
# account: "123456789012"
# partition: aws

# tags go on every provider and role, next to keyless:managed.
tags:
  owner: platform-team   # REPLACE

`

const starterFooter = `
# Other permissions (each entry is one inline policy; set name: to rename it):
#   - template: cdk-deploy            # seed 001's CDK role; qualifier: hnb659fds
#   - template: codeartifact-read     # domain: acme, repository: npm-store
#   - file: policies/extra.json       # a policy document, relative to this file
# and per role:
#   managed_policies: [ReadOnlyAccess]     # AWS managed policy names or ARNs
#   permissions_boundary: arn:aws:iam::123456789012:policy/ci-boundary
#   path: /ci/
`

const starterBitbucket = `providers:
  bitbucket:
    type: bitbucket
    # REPLACE: the workspace slug (bitbucket.org/<slug>/) and the workspace UUID,
    # the part of the Audience after ari:cloud:bitbucket::workspace/, both under
    # Repository settings > OpenID Connect.
    workspace: acme
    workspace_uuid: "{84c08677-e352-4a1c-a107-6df387cfeef7}"
    # The issuer URL and audience follow from those; override them to trust a
    # local "keyless up" issuer instead:
    # url: https://127.0.0.1:8400/2.0/workspaces/keyless/pipelines-config/identity/oidc
    # audiences: ["ari:cloud:bitbucket::workspace/<uuid>"]
    # thumbprints: auto   # or a list of SHA-1 thumbprints (40 hex digits each)

roles:
  # One role per repository and deployment environment: a step of web deploying
  # to production assumes deploy-web-production and no other role. Bitbucket's sub
  # is {repository}:{environment}:{step}, so each role trusts
  # StringLike sub "{repository-uuid}:{environment-uuid}:*".
  - name: deploy-{repository}-{environment}   # at most 64 characters once filled in
    description: Deploys {repository} to {environment} from Bitbucket Pipelines
    matrix:
      # REPLACE: names and UUIDs from Repository settings > OpenID Connect.
      repositories:
        - {name: web, uuid: "{13faecea-5b4a-4a2b-8c9d-0e1f2a3b4c5d}"}
      environments:
        - {name: staging, uuid: "{1111c1e6-9b1f-4c3e-8f7a-5d6e7f8a9b0c}"}
        - {name: production, uuid: "{2222c1e6-9b1f-4c3e-8f7a-5d6e7f8a9b0c}"}
    trust:
      # Only accept steps running from Atlassian's published egress ranges
      # (steps with atlassian-ip-ranges: true), or list CIDR blocks:
      # source_ips: atlassian:bitbucket
      # source_ips: [203.0.113.0/24]
    permissions:
      # REPLACE: what the atlassian/aws-s3-deploy and aws-cloudfront-invalidate
      # pipes need, on your bucket and distribution.
      - template: s3-deploy
        bucket: acme-{environment}-site
      - template: cloudfront-invalidate
        distribution: E2QWRUHAPOMQZL
    max_session_duration: 1h
`

const starterGitHub = `providers:
  github:
    type: github
    # The issuer and audience of GitHub Actions; override url for GitHub
    # Enterprise Server (https://HOST/_services/token).
    # url: https://token.actions.githubusercontent.com
    # audiences: [sts.amazonaws.com]
    # thumbprints: auto

roles:
  # One role per repository and environment: a job with environment: production
  # gets sub repo:acme/web:environment:production and assumes
  # deploy-web-production only. (Use branches: [main] instead of environments for
  # sub repo:OWNER/REPO:ref:refs/heads/main.)
  - name: deploy-{repository}-{environment}   # at most 64 characters once filled in
    description: Deploys {owner}/{repository} to {environment} from GitHub Actions
    matrix:
      repositories: [acme/web]   # REPLACE: OWNER/REPO
      environments: [staging, production]
    permissions:
      # REPLACE: your bucket and distribution.
      - template: s3-deploy
        bucket: acme-{environment}-site
      - template: cloudfront-invalidate
        distribution: E2QWRUHAPOMQZL
    max_session_duration: 1h
`

const starterGitLab = `providers:
  gitlab:
    type: gitlab
    # Your instance for self-managed GitLab; the audience is the aud of the job's
    # id_tokens: entry, the instance URL by default.
    url: https://gitlab.com
    # audiences: [https://gitlab.com]
    # thumbprints: auto

roles:
  # One role per project and branch: a pipeline on main of acme/web gets sub
  # project_path:acme/web:ref_type:branch:ref:main and assumes deploy-web-main.
  - name: deploy-{repository}-{branch}   # at most 64 characters once filled in
    description: Deploys {owner}/{repository} from GitLab CI on {branch}
    matrix:
      repositories: [acme/web]   # REPLACE: GROUP/PROJECT
      branches: [main]
    permissions:
      # REPLACE: your bucket, and the key prefix the job syncs to.
      - template: s3-deploy
        bucket: acme-site
        prefix: web/
    max_session_duration: 1h
`
