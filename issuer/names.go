package issuer

import (
	"fmt"
	"regexp"
	"strings"
	"unicode"

	"github.com/google/uuid"
)

var (
	workspaceSlugRE  = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,63}$`)
	repositorySlugRE = regexp.MustCompile(`^[a-z0-9][a-z0-9_.-]{0,63}$`)
	environmentRE    = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9 _.-]{0,63}$`)
)

// uuidNamespace roots the stable, name-derived UUIDs (UUIDv5) of the local directory.
// It must never change: trust policies written against derived UUIDs rely on it.
var uuidNamespace = uuid.MustParse("6f1c3a52-4e0b-5c3e-9a57-2d1b8e4f7a90")

// WorkspaceUUID is the stable UUID keyless derives for a workspace slug.
func WorkspaceUUID(slug string) string {
	return uuid.NewSHA1(uuidNamespace, []byte("workspace:"+slug)).String()
}

// RepositoryUUID is the stable UUID keyless derives for a repository.
func RepositoryUUID(workspace, slug string) string {
	return uuid.NewSHA1(uuidNamespace, []byte("repository:"+workspace+"/"+slug)).String()
}

// EnvironmentUUID is the stable UUID keyless derives for a deployment environment.
func EnvironmentUUID(workspace, repository, name string) string {
	return uuid.NewSHA1(uuidNamespace, []byte("environment:"+workspace+"/"+repository+"/"+name)).String()
}

// ValidateWorkspace checks a workspace slug.
func ValidateWorkspace(slug string) error {
	if !workspaceSlugRE.MatchString(slug) {
		return invalid("workspace", "invalid workspace slug %q: use 1-64 lower-case letters, digits, '-' or '_', starting with a letter or digit", slug)
	}
	return nil
}

// ValidateRepository checks a repository slug.
func ValidateRepository(slug string) error {
	if !repositorySlugRE.MatchString(slug) {
		return invalid("repository", "invalid repository slug %q: use 1-64 lower-case letters, digits, '-', '_' or '.', starting with a letter or digit", slug)
	}
	return nil
}

// ValidateEnvironment checks a deployment environment name.
func ValidateEnvironment(name string) error {
	if !environmentRE.MatchString(name) {
		return invalid("environment", "invalid deployment environment name %q: use 1-64 letters, digits, spaces, '-', '_' or '.', starting with a letter or digit", name)
	}
	return nil
}

// ValidateBranch checks a branch name the way git refs are restricted.
func ValidateBranch(name string) error {
	if len(name) > 255 {
		return invalid("branch", "branch name is %d bytes long; the limit is 255", len(name))
	}
	for _, r := range name {
		if unicode.IsControl(r) || r == ' ' || r == '~' || r == '^' || r == ':' || r == '\\' {
			return invalid("branch", "invalid branch name %q: it may not contain spaces, control characters or any of ~^:\\", name)
		}
	}
	if strings.Contains(name, "..") || strings.HasPrefix(name, "/") || strings.HasSuffix(name, "/") {
		return invalid("branch", "invalid branch name %q: not a valid git branch name", name)
	}
	return nil
}

// NormalizeUUID accepts a UUID with or without braces, in any case, and returns it
// lower-case without braces.
func NormalizeUUID(field, s string) (string, error) {
	t := strings.TrimSuffix(strings.TrimPrefix(strings.TrimSpace(s), "{"), "}")
	u, err := uuid.Parse(t)
	if err != nil || len(t) != 36 {
		return "", invalid(field, "invalid %s %q: want a UUID such as {0b9c4e3a-7d52-4b9f-8f0e-4a7c1f2d9e61}", field, s)
	}
	return u.String(), nil
}

// braced wraps a UUID in braces, as Bitbucket writes them in tokens.
func braced(u string) string { return "{" + u + "}" }

func invalid(field, format string, args ...any) error {
	return &Error{Code: CodeInvalidRequest, Field: field, Message: fmt.Sprintf(format, args...)}
}
