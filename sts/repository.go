package sts

import "github.com/keyless-dev/keyless/oidc"

// repositoryClaims are the claims that name a token's repository, by CI:
// Bitbucket Pipelines (the brace-wrapped repositoryUuid), GitHub Actions
// (owner/name) and GitLab CI/CD (the project path).
var repositoryClaims = [...]string{"repositoryUuid", "repository", "project_path"}

// maxRepositoryLen bounds the repository kept in an audit event.
const maxRepositoryLen = 256

// tokenRepository returns the repository tok names, for its audit event ("" if none).
func tokenRepository(tok *oidc.Token) string {
	for _, name := range repositoryClaims {
		if v, ok := tok.Claim(name); ok {
			if s, ok := v.(string); ok && s != "" && len(s) <= maxRepositoryLen {
				return s
			}
		}
	}
	return ""
}
