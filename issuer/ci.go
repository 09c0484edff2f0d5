package issuer

import (
	"crypto/sha1"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
)

// CI names the CI system whose token a mint request asks for.
type CI string

// The CI systems the issuer imitates.
const (
	// CIBitbucket is Bitbucket Pipelines' step token (BITBUCKET_STEP_OIDC_TOKEN), the default.
	CIBitbucket CI = "bitbucket"
	// CIGitHub is a GitHub Actions job's ID token (ACTIONS_ID_TOKEN_REQUEST_URL).
	CIGitHub CI = "github"
	// CIGitLab is a GitLab CI/CD job's ID token (id_tokens:).
	CIGitLab CI = "gitlab"
)

// CIs lists the CI systems in the order help texts name them.
var CIs = []CI{CIBitbucket, CIGitHub, CIGitLab}

// ParseCI reads a CI name; the empty string is Bitbucket.
func ParseCI(s string) (CI, error) {
	switch c := CI(strings.ToLower(strings.TrimSpace(s))); c {
	case "":
		return CIBitbucket, nil
	case CIBitbucket, CIGitHub, CIGitLab:
		return c, nil
	}
	return "", invalid("ci", "unknown CI %q: use bitbucket, github or gitlab", s)
}

// Issuer paths of the GitHub- and GitLab-shaped identity providers under the base URL.
// Like github.com's and gitlab.com's, each is one issuer for every owner or group; they
// cannot collide with the Bitbucket issuers, which all live under /2.0/workspaces/.
const (
	GitHubIssuerPath = "/github"
	GitLabIssuerPath = "/gitlab"
	// githubJWKSPath and gitlabJWKSPath are where each publishes its keys under its
	// issuer, as token.actions.githubusercontent.com and gitlab.com do.
	githubJWKSPath = "/.well-known/jwks"
	gitlabJWKSPath = "/oauth/discovery/keys"
)

// DefaultCIAudience is the audience of GitHub- and GitLab-shaped tokens when the
// request names none: the one AWS's own actions and examples request.
const DefaultCIAudience = "sts.amazonaws.com"

// Defaults of GitHub- and GitLab-shaped tokens for what the request leaves out.
const (
	defaultCIBranch = "main"
	defaultCIEvent  = "push"
	defaultCIActor  = "keyless"
	// githubWorkflow is the workflow of every GitHub-shaped token, in the file
	// .github/workflows/<githubWorkflow>.yml.
	githubWorkflow = "deploy"
)

// GitHubIssuerURL is the issuer URL of GitHub Actions-shaped tokens: Config.GitHubIssuer,
// else BaseURL/github.
func (is *Issuer) GitHubIssuerURL() string {
	if is.cfg.GitHubIssuer != "" {
		return is.cfg.GitHubIssuer
	}
	return is.cfg.BaseURL + GitHubIssuerPath
}

// GitLabIssuerURL is the issuer URL of GitLab-shaped tokens: Config.GitLabIssuer, else
// BaseURL/gitlab.
func (is *Issuer) GitLabIssuerURL() string {
	if is.cfg.GitLabIssuer != "" {
		return is.cfg.GitLabIssuer
	}
	return is.cfg.BaseURL + GitLabIssuerPath
}

// IssuerURLFor is the issuer of ci's tokens; workspace matters for Bitbucket only.
func (is *Issuer) IssuerURLFor(ci CI, workspace string) string {
	switch ci {
	case CIGitHub:
		return is.GitHubIssuerURL()
	case CIGitLab:
		return is.GitLabIssuerURL()
	}
	return is.IssuerURL(workspace)
}

// ciNames are the validated names of a GitHub or GitLab mint request.
type ciNames struct {
	namespace string // GitHub owner, GitLab group path (may hold subgroups)
	name      string // repository or project name
	path      string // namespace/name
	env       string
	refType   string // "branch" or "tag"
	refName   string // the branch or tag
	event     string
	sha       string
	actor     string
}

// splitPath reads a mint request's names the GitHub/GitLab way: repository is either
// a name, with the owner or group in workspace, or the full path OWNER/NAME (GitLab:
// GROUP[/SUBGROUP…]/PROJECT), in which case workspace must be empty or the same.
func splitPath(ci CI, workspace, repository string) (namespace, name string, err error) {
	what, ns := "owner", "--owner"
	if ci == CIGitLab {
		what, ns = "group", "--group"
	}
	if repository == "" {
		return "", "", invalid("repository", "a repository is required: --repository OWNER/NAME, or --repository NAME with %s (%s)", ns, what)
	}
	i := strings.LastIndexByte(repository, '/')
	if i < 0 {
		if workspace == "" {
			return "", "", invalid("workspace", "no %s for repository %q: give the full path (--repository OWNER/NAME) or %s", what, repository, ns)
		}
		return workspace, repository, nil
	}
	namespace, name = repository[:i], repository[i+1:]
	if workspace != "" && workspace != namespace {
		return "", "", invalid("workspace", "repository %q names its %s %q, but the request also names %s %q: give the %s once", repository, what, namespace, what, workspace, what)
	}
	return namespace, name, nil
}

// namespaceOf is the workspace, owner or group a request mints for, as runner
// permissions see it.
func namespaceOf(req MintRequest) string {
	ci, err := ParseCI(string(req.CI))
	if err != nil || ci == CIBitbucket {
		return req.Workspace
	}
	if i := strings.LastIndexByte(req.Repository, '/'); i >= 0 {
		return req.Repository[:i]
	}
	return req.Workspace
}

var (
	// githubOwnerRE is GitHub's rule for user and organization names.
	githubOwnerRE = regexp.MustCompile(`^[A-Za-z0-9](?:[A-Za-z0-9-]{0,37}[A-Za-z0-9])?$`)
	// githubRepoRE is GitHub's rule for repository names.
	githubRepoRE = regexp.MustCompile(`^[A-Za-z0-9._-]{1,100}$`)
	// gitlabSegmentRE is one segment of a GitLab group or project path.
	gitlabSegmentRE = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.-]{0,254}$`)
	// ciEnvironmentRE is what GitHub and GitLab environment names may hold here; no
	// ':', which separates the parts of sub.
	ciEnvironmentRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9 _./-]{0,254}$`)
	// eventRE is a GitHub event name or GitLab pipeline source.
	eventRE = regexp.MustCompile(`^[a-z][a-z_]{0,63}$`)
	// actorRE is a GitHub login or GitLab username.
	actorRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,38}$`)
	// shaRE is a git commit id, SHA-1 or SHA-256.
	shaRE = regexp.MustCompile(`^(?:[0-9a-f]{40}|[0-9a-f]{64})$`)
)

// validateCINames checks a GitHub or GitLab mint request and fills in its defaults.
func validateCINames(ci CI, req MintRequest) (ciNames, error) {
	for _, f := range []struct{ field, v string }{
		{"workspaceUuid", req.WorkspaceUUID}, {"repositoryUuid", req.RepositoryUUID}, {"environmentUuid", req.EnvironmentUUID},
		{"pipelineUuid", req.PipelineUUID}, {"stepUuid", req.StepUUID},
	} {
		if f.v != "" {
			return ciNames{}, invalid(f.field, "%s is a Bitbucket field; %s tokens derive their numeric IDs from the names", f.field, ciTitle(ci))
		}
	}
	ns, name, err := splitPath(ci, req.Workspace, req.Repository)
	if err != nil {
		return ciNames{}, err
	}
	n := ciNames{namespace: ns, name: name, path: ns + "/" + name}
	switch ci {
	case CIGitHub:
		if !githubOwnerRE.MatchString(ns) || strings.Contains(ns, "--") {
			return ciNames{}, invalid("workspace", "invalid GitHub owner %q: use 1-39 letters, digits or single '-' between them", ns)
		}
		if !githubRepoRE.MatchString(name) || name == "." || name == ".." {
			return ciNames{}, invalid("repository", "invalid GitHub repository name %q: use 1-100 letters, digits, '-', '_' or '.'", name)
		}
	case CIGitLab:
		segs := strings.Split(n.path, "/")
		if len(segs) > 21 {
			return ciNames{}, invalid("workspace", "GitLab project path %q is nested %d deep; the limit is 20 subgroups", n.path, len(segs)-1)
		}
		for i, s := range segs {
			field, what := "workspace", "group"
			if i == len(segs)-1 {
				field, what = "repository", "project"
			}
			if !gitlabSegmentRE.MatchString(s) || strings.HasSuffix(s, ".git") || strings.HasSuffix(s, ".atom") {
				return ciNames{}, invalid(field, "invalid GitLab %s path %q in %q: use letters, digits, '_', '-' or '.', starting with a letter, digit or '_', not ending in .git or .atom", what, s, n.path)
			}
		}
	}
	if req.Environment != "" {
		if !ciEnvironmentRE.MatchString(req.Environment) {
			return ciNames{}, invalid("environment", "invalid environment name %q: use 1-255 letters, digits, spaces, '-', '_', '.' or '/', starting with a letter or digit", req.Environment)
		}
		n.env = req.Environment
	}
	switch {
	case req.Branch != "" && req.Tag != "":
		return ciNames{}, invalid("tag", "both a branch (%q) and a tag (%q) were given: a job runs for one ref", req.Branch, req.Tag)
	case req.Tag != "":
		if err := ValidateBranch(req.Tag); err != nil {
			return ciNames{}, invalid("tag", "invalid tag name %q: not a valid git ref name", req.Tag)
		}
		n.refType, n.refName = "tag", req.Tag
	case req.Branch != "":
		if err := ValidateBranch(req.Branch); err != nil {
			return ciNames{}, err
		}
		n.refType, n.refName = "branch", req.Branch
	default:
		n.refType, n.refName = "branch", defaultCIBranch
	}
	n.event = defaultCIEvent
	if req.Event != "" {
		if !eventRE.MatchString(req.Event) {
			return ciNames{}, invalid("event", "invalid event %q: use a GitHub event name or GitLab pipeline source such as push, pull_request, schedule or merge_request_event", req.Event)
		}
		n.event = req.Event
	}
	n.actor = defaultCIActor
	if req.Actor != "" {
		if !actorRE.MatchString(req.Actor) {
			return ciNames{}, invalid("actor", "invalid actor %q: use a user name of 1-39 letters, digits, '-', '_' or '.'", req.Actor)
		}
		n.actor = req.Actor
	}
	if req.SHA != "" {
		s := strings.ToLower(req.SHA)
		if !shaRE.MatchString(s) {
			return ciNames{}, invalid("sha", "invalid commit SHA %q: use 40 (or 64) hexadecimal digits", req.SHA)
		}
		n.sha = s
	} else {
		n.sha = derivedSHA(ci, n.path, n.refType, n.refName)
	}
	switch ci {
	case CIGitHub:
		if len(req.Audiences) > 1 {
			return ciNames{}, invalid("audiences", "%d audiences requested; a GitHub Actions token carries one (core.getIDToken(audience))", len(req.Audiences))
		}
	}
	return n, nil
}

// validateBitbucketOnly refuses GitHub/GitLab fields in a Bitbucket request.
func validateBitbucketOnly(req MintRequest) error {
	for _, f := range []struct{ field, v string }{{"tag", req.Tag}, {"event", req.Event}, {"sha", req.SHA}, {"actor", req.Actor}} {
		if f.v != "" {
			return invalid(f.field, "%s is a GitHub and GitLab field; Bitbucket step tokens have no such claim (mint with ci github or gitlab)", f.field)
		}
	}
	return nil
}

func ciTitle(ci CI) string {
	switch ci {
	case CIGitHub:
		return "GitHub Actions"
	case CIGitLab:
		return "GitLab"
	}
	return "Bitbucket"
}

// idNamespace roots the numeric IDs derived for GitHub and GitLab names. It must
// never change: trust policies and tests written against derived IDs rely on it.
const idNamespace = "keyless numeric id v1"

// numericID is the stable 9-digit ID keyless derives for a named GitHub or GitLab
// entity of the given kind. Names compare case-insensitively, as both CIs treat them.
func numericID(kind, name string) int64 {
	sum := sha256.Sum256([]byte(idNamespace + "\x00" + kind + "\x00" + strings.ToLower(name)))
	return int64(binary.BigEndian.Uint64(sum[:8])%900_000_000) + 100_000_000
}

func idString(kind, name string) string { return strconv.FormatInt(numericID(kind, name), 10) }

// GitHubAccountID is the stable numeric ID keyless derives for a GitHub user or
// organization (the repository_owner_id and actor_id claims).
func GitHubAccountID(login string) string { return idString("github:account", login) }

// GitHubRepositoryID is the stable numeric ID keyless derives for the GitHub
// repository OWNER/NAME (the repository_id claim).
func GitHubRepositoryID(owner, name string) string {
	return idString("github:repository", owner+"/"+name)
}

// GitLabNamespaceID is the stable numeric ID keyless derives for a GitLab group path
// (the namespace_id claim).
func GitLabNamespaceID(group string) string { return idString("gitlab:namespace", group) }

// GitLabProjectID is the stable numeric ID keyless derives for a GitLab project path
// GROUP/PROJECT (the project_id claim).
func GitLabProjectID(path string) string { return idString("gitlab:project", path) }

// GitLabUserID is the stable numeric ID keyless derives for a GitLab user name (the
// user_id claim).
func GitLabUserID(login string) string { return idString("gitlab:user", login) }

// derivedSHA is the commit a ref of a repository is at when the request names none:
// stable, so that the same request gives the same sha claim.
func derivedSHA(ci CI, path, refType, ref string) string {
	sum := sha1.Sum([]byte(idNamespace + "\x00commit\x00" + string(ci) + "\x00" + strings.ToLower(path) + "\x00" + refType + "\x00" + ref))
	return hex.EncodeToString(sum[:])
}

// randomID reads a fresh 10-digit run, pipeline or job ID from r.
func randomID(r io.Reader) (int64, error) {
	var b [8]byte
	if _, err := io.ReadFull(r, b[:]); err != nil {
		return 0, fmt.Errorf("issuer: random id: %w", err)
	}
	return int64(binary.BigEndian.Uint64(b[:])%9_000_000_000) + 1_000_000_000, nil
}

// gitlabTier is the deployment tier GitLab guesses from an environment's name when the
// job names none (its Environment#guess_tier rules, in its order).
func gitlabTier(env string) string {
	for _, t := range []struct {
		re   *regexp.Regexp
		tier string
	}{
		{tierDevelopment, "development"}, {tierTesting, "testing"}, {tierStaging, "staging"}, {tierProduction, "production"},
	} {
		if t.re.MatchString(env) {
			return t.tier
		}
	}
	return "other"
}

var (
	tierDevelopment = regexp.MustCompile(`(?i)(dev|review|trunk)`)
	tierTesting     = regexp.MustCompile(`(?i)(test|tst|int|ac(ce|)pt|qa|qc|control|quality)`)
	tierStaging     = regexp.MustCompile(`(?i)(st(a|)g|mod(e|)l|pre|demo|non)`)
	tierProduction  = regexp.MustCompile(`(?i)(pr(o|)d|live)`)
)
