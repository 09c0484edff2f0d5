package provision

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"net/url"
	"path"
	"regexp"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/keyless-dev/keyless/policy"
)

// RefBitbucketEgress is the source_ips reference to Atlassian's published Bitbucket
// Pipelines egress ranges, resolved through [IPRanges].
const RefBitbucketEgress = "atlassian:bitbucket"

// ManagedTagKey is the tag every entity keyless manages carries; its value is the
// config's name.
const ManagedTagKey = "keyless:managed"

// Defaults.
const (
	DefaultPartition       = "aws"
	DefaultGitHubURL       = "https://token.actions.githubusercontent.com"
	DefaultGitHubAudience  = "sts.amazonaws.com"
	DefaultGitLabURL       = "https://gitlab.com"
	DefaultMaxSession      = time.Hour
	bitbucketIssuerPattern = "https://api.bitbucket.org/2.0/workspaces/%s/pipelines-config/identity/oidc"
	bitbucketAudiencePref  = "ari:cloud:bitbucket::workspace/"
)

var partitions = []string{"aws", "aws-cn", "aws-us-gov", "aws-iso", "aws-iso-b", "aws-iso-e", "aws-iso-f", "aws-eusc"}

var (
	uuidRe        = regexp.MustCompile(`^\{?([0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12})\}?$`)
	slugRe        = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]*$`)
	thumbprintRe  = regexp.MustCompile(`^[0-9A-Fa-f]{40}$`)
	roleNameRe    = regexp.MustCompile(`^[\w+=,.@-]+$`)
	rolePathRe    = regexp.MustCompile(`^/([\x21-\x7E]*/)?$`)
	githubRepoRe  = regexp.MustCompile(`^[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?/[A-Za-z0-9._-]+$`)
	gitlabPathRe  = regexp.MustCompile(`^[A-Za-z0-9_.-]+(?:/[A-Za-z0-9_.-]+)+$`)
	placeholderRe = regexp.MustCompile(`\{([^{}]*)\}`)
	tagKeyRe      = regexp.MustCompile(`^[\p{L}\p{Z}\p{N}_.:/=+\-@]{1,128}$`)
	tagValueRe    = regexp.MustCompile(`^[\p{L}\p{Z}\p{N}_.:/=+\-@]{0,256}$`)
	managedNameRe = regexp.MustCompile(`^([\w+=,.@-]+/)*[\w+=,.@-]{1,128}$`)
	policyARNRe   = regexp.MustCompile(`^arn:[a-z-]+:iam::(aws|\d{12}):policy/([\x21-\x7E]*/)?[\w+=,.@-]{1,128}$`)
	descriptionRe = regexp.MustCompile(`^[\t\n\r\x20-\x7E\x{A1}-\x{FF}]*$`)
)

// placeholders are the variables a role name pattern, description and template
// parameters may use.
var placeholders = []string{"repository", "owner", "environment", "branch"}

// compiled is a validated spec with every role expanded.
type compiled struct {
	name, account, partition string
	providers                []*compiledProvider
	roles                    []*roleInstance
}

type compiledProvider struct {
	spec        *ProviderSpec
	path        string // providers.ID
	url         string // host/path, without https://
	audiences   []string
	thumbprints []string
	tags        map[string]string
}

// roleInstance is one role of the desired state, before rendering.
type roleInstance struct {
	index       int    // into Spec.Roles
	path        string // roles[i]
	vars        map[string]string
	name        string
	iamPath     string
	description string
	provider    *compiledProvider
	audiences   []string
	subjects    []string
	anySubject  bool
	sourceIPs   []string
	ipRefs      []string
	extra       conditions
	sessionTags bool
	inline      []inlineInstance
	managed     []string
	boundary    string
	maxSession  int32
	tags        map[string]string
}

type inlineInstance struct {
	path  string // roles[i].permissions[j]
	name  string
	doc   []byte // a file's document
	grant *grant // a template's statements
}

// checker collects errors, one per path.
type checker struct {
	s    *Spec
	errs Errors
	seen map[string]bool
}

func (c *checker) errorf(path, format string, args ...any) {
	if c.seen[path] {
		return
	}
	c.seen[path] = true
	c.errs = append(c.errs, c.s.errorAt(path, fmt.Sprintf(format, args...)))
}

// Validate checks every value against what AWS and the CI providers accept and
// expands the role matrices: bad values, role names AWS would refuse, duplicate role
// names, unknown template parameters and invalid extra conditions are errors with
// their position and what to write instead. Policy files are checked by [Desired].
func (s *Spec) Validate() error {
	_, err := s.compile()
	return err
}

func (s *Spec) compile() (*compiled, error) {
	c := &checker{s: s, seen: map[string]bool{}}
	out := &compiled{name: s.Name, account: s.Account, partition: s.Partition}
	if out.partition == "" {
		out.partition = DefaultPartition
	}
	switch {
	case s.Name == "":
		c.errorf("name", "the config has no name: write name: web-deploy (it tags every entity keyless manages)")
	case !tagValueRe.MatchString(s.Name):
		c.errorf("name", "%q cannot be a tag value: use at most 256 letters, digits, spaces and _ . : / = + - @", s.Name)
	}
	if s.Account != "" && !accountID.MatchString(s.Account) {
		c.errorf("account", "%q is not an AWS account id: write its 12 digits in quotes, e.g. account: \"123456789012\", or leave account out to resolve it at plan time", s.Account)
	}
	if !contains(partitions, out.partition) {
		c.errorf("partition", "unknown partition %q%s: write one of %s", s.Partition, suggest(s.Partition, partitions), strings.Join(partitions, ", "))
	}
	c.accounts(s.Accounts)
	c.tags("tags", s.Tags)
	if len(s.Providers) == 0 && s.Rotation == nil {
		c.errorf("providers", "no providers: add one, e.g. providers: {github: {type: github}}")
	}
	c.rotation(s.Rotation)
	urls := map[string]string{}
	for i := range s.Providers {
		p := c.provider(&s.Providers[i])
		if p == nil {
			continue
		}
		if other, ok := urls[p.url]; ok {
			c.errorf(p.path+".url", "the issuer %s is also %s: IAM holds one provider per URL; keep one and list every audience in it", p.url, other)
			continue
		}
		urls[p.url] = p.path
		out.providers = append(out.providers, p)
	}
	total := 0
	for i := range s.Roles {
		if m := s.Roles[i].Matrix; m != nil {
			total += matrixSize(m)
		} else {
			total++
		}
	}
	if total > maxRoles {
		c.errorf("roles", "the config makes %d roles; IAM allows at most %d per account (1000 by default): split the config or shorten the matrices", total, maxRoles)
		return nil, c.errs.asError()
	}
	names := map[string]*roleInstance{}
	for i := range s.Roles {
		for _, r := range c.role(i, out) {
			key := strings.ToLower(r.name)
			if first, ok := names[key]; ok {
				if first.index != r.index {
					c.errorf(r.path+".name", "the role name %q is also made by %s (line %d): role names are unique in an account, ignoring case; rename one", r.name, first.path, s.at(first.path+".name").Line)
				}
				continue
			}
			names[key] = r
			out.roles = append(out.roles, r)
		}
	}
	if err := c.errs.asError(); err != nil {
		return nil, err
	}
	sort.Slice(out.providers, func(i, j int) bool { return out.providers[i].url < out.providers[j].url })
	sort.Slice(out.roles, func(i, j int) bool { return out.roles[i].name < out.roles[j].name })
	return out, nil
}

// tags checks user tags: AWS's key and value rules, and keys keyless reserves.
func (c *checker) tags(path string, tags map[string]string) {
	if len(tags) > 49 {
		c.errorf(path, "%d tags: IAM allows 50 per entity and keyless adds %s; remove some", len(tags), ManagedTagKey)
	}
	keys := make([]string, 0, len(tags))
	for k := range tags {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		p := path + "." + k
		switch {
		case k == ManagedTagKey:
			c.errorf(p, "%s is set by keyless to the config's name: remove it, or set name:", ManagedTagKey)
		case strings.HasPrefix(strings.ToLower(k), "aws:"):
			c.errorf(p, "tag keys starting with aws: are reserved by AWS: choose another key")
		case !tagKeyRe.MatchString(k):
			c.errorf(p, "%q is not a tag key: use 1 to 128 letters, digits, spaces and _ . : / = + - @", k)
		case !tagValueRe.MatchString(tags[k]):
			c.errorf(p, "%q is not a tag value: use at most 256 letters, digits, spaces and _ . : / = + - @", tags[k])
		}
	}
}

// bareUUID returns the lower-case UUID without braces, or "".
func bareUUID(s string) string {
	m := uuidRe.FindStringSubmatch(s)
	if m == nil || (strings.HasPrefix(s, "{") != strings.HasSuffix(s, "}")) {
		return ""
	}
	return strings.ToLower(m[1])
}

func (c *checker) provider(ps *ProviderSpec) *compiledProvider {
	path := "providers." + ps.ID
	p := &compiledProvider{spec: ps, path: path, tags: ps.Tags}
	c.tags(path+".tags", ps.Tags)
	if ps.Type != TypeBitbucket {
		if ps.Workspace != "" {
			c.errorf(path+".workspace", "workspace is for type bitbucket only: remove it")
		}
		if ps.WorkspaceUUID != "" {
			c.errorf(path+".workspace_uuid", "workspace_uuid is for type bitbucket only: remove it")
		}
	}
	rawURL := ps.URL
	switch ps.Type {
	case TypeBitbucket:
		if ps.Workspace == "" && rawURL == "" {
			c.errorf(path, "a bitbucket provider needs its workspace: write workspace: <slug> (the name in bitbucket.org/<slug>/), or the issuer as url:")
			return nil
		}
		if ps.Workspace != "" && !slugRe.MatchString(ps.Workspace) {
			c.errorf(path+".workspace", "%q is not a workspace slug: write the name as in bitbucket.org/<slug>/, e.g. acme", ps.Workspace)
			return nil
		}
		if rawURL == "" {
			rawURL = fmt.Sprintf(bitbucketIssuerPattern, ps.Workspace)
		}
		if len(ps.Audiences) == 0 {
			if ps.WorkspaceUUID == "" {
				c.errorf(path, "a bitbucket provider needs its workspace UUID for the audience: write workspace_uuid: \"{…}\" as Repository settings › OpenID Connect shows it (the part after ari:cloud:bitbucket::workspace/), or list audiences:")
				return nil
			}
			u := bareUUID(ps.WorkspaceUUID)
			if u == "" {
				c.errorf(path+".workspace_uuid", "%q is not a UUID: write it as Bitbucket shows it, e.g. \"{84c08677-e352-4a1c-a107-6df387cfeef7}\"", ps.WorkspaceUUID)
				return nil
			}
			p.audiences = []string{bitbucketAudiencePref + u}
		} else if ps.WorkspaceUUID != "" && bareUUID(ps.WorkspaceUUID) == "" {
			c.errorf(path+".workspace_uuid", "%q is not a UUID: write it as Bitbucket shows it, e.g. \"{84c08677-e352-4a1c-a107-6df387cfeef7}\"", ps.WorkspaceUUID)
		}
	case TypeGitHub:
		if rawURL == "" {
			rawURL = DefaultGitHubURL
		}
		if len(ps.Audiences) == 0 {
			p.audiences = []string{DefaultGitHubAudience}
		}
	case TypeGitLab:
		if rawURL == "" {
			rawURL = DefaultGitLabURL
		}
		if len(ps.Audiences) == 0 {
			p.audiences = []string{rawURL}
		}
	case TypeOIDC:
		if rawURL == "" {
			c.errorf(path, "an oidc provider needs its issuer: write url: https://issuer.example.com (the token's iss)")
			return nil
		}
		if len(ps.Audiences) == 0 {
			c.errorf(path, "an oidc provider needs its audiences: write audiences: [sts.amazonaws.com] (the token's aud)")
			return nil
		}
	case "":
		c.errorf(path, "the provider has no type: write type: one of %s", strings.Join(providerTypes, ", "))
		return nil
	default:
		c.errorf(path+".type", "unknown provider type %q%s: write one of %s", ps.Type, suggest(ps.Type, providerTypes), strings.Join(providerTypes, ", "))
		return nil
	}
	u, err := url.Parse(rawURL)
	switch {
	case err != nil || u.Host == "" || u.Opaque != "":
		c.errorf(path+".url", "%q is not an issuer URL: write https://host/path as the token's iss shows it", rawURL)
		return nil
	case u.Scheme != "https":
		c.errorf(path+".url", "%q: IAM accepts only https issuers: write https://%s", rawURL, strings.TrimPrefix(strings.TrimPrefix(rawURL, u.Scheme), "://"))
		return nil
	case u.RawQuery != "" || u.Fragment != "" || u.User != nil || strings.HasSuffix(rawURL, "?") || strings.HasSuffix(rawURL, "#"):
		c.errorf(path+".url", "%q: an issuer URL has no user, query or fragment: write https://%s%s", rawURL, u.Host, u.EscapedPath())
		return nil
	case len(rawURL) > 255:
		c.errorf(path+".url", "the URL has %d characters; IAM allows 255", len(rawURL))
		return nil
	}
	p.url = strings.TrimPrefix(rawURL, "https://")
	if len(ps.Audiences) > 0 {
		if len(ps.Audiences) > 100 {
			c.errorf(path+".audiences", "%d audiences: IAM allows 100 per provider", len(ps.Audiences))
		}
		seen := map[string]bool{}
		for i, a := range ps.Audiences {
			ap := fmt.Sprintf("%s.audiences[%d]", path, i)
			switch {
			case a == "" || utf8.RuneCountInString(a) > 255:
				c.errorf(ap, "an audience (client ID) has 1 to 255 characters, e.g. sts.amazonaws.com")
			case seen[a]:
				c.errorf(ap, "the audience %q is listed twice: keep one", a)
			}
			seen[a] = true
		}
		p.audiences = append([]string(nil), ps.Audiences...)
	}
	if len(ps.Thumbprints) > 5 {
		c.errorf(path+".thumbprints", "%d thumbprints: IAM allows 5 per provider", len(ps.Thumbprints))
	}
	for i, t := range ps.Thumbprints {
		if !thumbprintRe.MatchString(t) {
			c.errorf(fmt.Sprintf("%s.thumbprints[%d]", path, i), "%q is not a thumbprint: write the 40 hex digits of the certificate's SHA-1, e.g. a031c46782e6e6c662c2c87c76da9aa62ccabd8e, or thumbprints: auto", t)
			continue
		}
		p.thumbprints = append(p.thumbprints, strings.ToLower(t))
	}
	return p
}

// combo is one combination of a matrix, with the dimension values that made it.
type combo struct {
	vars    map[string]string
	subject string
}

func (c combo) describe() string {
	var parts []string
	for _, k := range placeholders {
		if v, ok := c.vars[k]; ok && k != "owner" {
			parts = append(parts, fmt.Sprintf("%s %q", k, v))
		}
	}
	return strings.Join(parts, ", ")
}

// matrix expands a role's matrix into combinations with their sub values.
func (c *checker) matrix(path string, m *MatrixSpec, p *compiledProvider) []combo {
	mp := path + ".matrix"
	ps := p.spec
	if len(m.Repositories) == 0 {
		c.errorf(mp, "the matrix has no repositories: list them under repositories:")
		return nil
	}
	if n := matrixSize(m); n > maxRoles {
		c.errorf(mp, "the matrix makes %d roles; IAM allows at most %d per account (1000 by default): split the config or shorten the lists", n, maxRoles)
		return nil
	}
	ok := c.unique(mp+".repositories", m.Repositories) && c.unique(mp+".environments", m.Environments)
	for i, b := range m.Branches {
		for _, prev := range m.Branches[:i] {
			if prev == b {
				c.errorf(fmt.Sprintf("%s.branches[%d]", mp, i), "the branch %s is listed twice: keep one", b)
				ok = false
			}
		}
	}
	var out []combo
	switch ps.Type {
	case TypeBitbucket:
		if len(m.Branches) > 0 {
			c.errorf(mp+".branches", "Bitbucket's sub has no branch ({repository}:{environment}:{step}): remove branches, or use a deployment environment per branch")
			return nil
		}
		repos := make([]string, len(m.Repositories))
		for i, r := range m.Repositories {
			rp := fmt.Sprintf("%s.repositories[%d]", mp, i)
			repos[i] = bareUUID(r.UUID)
			switch {
			case r.Name == "":
				c.errorf(rp, "a Bitbucket repository needs name and uuid: write {name: web, uuid: \"{…}\"} (the UUID is under Repository settings › OpenID Connect)")
				ok = false
			case r.UUID == "":
				c.errorf(rp, "the repository %s has no uuid: write {name: %s, uuid: \"{…}\"} with the UUID from Repository settings › OpenID Connect", r.Name, r.Name)
				ok = false
			case repos[i] == "":
				c.errorf(rp+".uuid", "%q is not a UUID: write it as Bitbucket shows it, e.g. \"{13faecea-5b4a-4a2b-8c9d-0e1f2a3b4c5d}\"", r.UUID)
				ok = false
			}
		}
		envs := make([]string, len(m.Environments))
		for i, e := range m.Environments {
			ep := fmt.Sprintf("%s.environments[%d]", mp, i)
			envs[i] = bareUUID(e.UUID)
			switch {
			case e.Name == "":
				c.errorf(ep, "a deployment environment needs name and uuid: write {name: production, uuid: \"{…}\"}")
				ok = false
			case e.UUID == "":
				c.errorf(ep, "the environment %s has no uuid: write {name: %s, uuid: \"{…}\"} with the UUID from Repository settings › OpenID Connect › Deployment environments", e.Name, e.Name)
				ok = false
			case envs[i] == "":
				c.errorf(ep+".uuid", "%q is not a UUID: write it as Bitbucket shows it, e.g. \"{2222c1e6-9b1f-4c3e-8f7a-5d6e7f8a9b0c}\"", e.UUID)
				ok = false
			}
		}
		if !ok {
			return nil
		}
		for i, r := range m.Repositories {
			base := map[string]string{"repository": r.Name, "owner": ps.Workspace}
			if len(m.Environments) == 0 {
				out = append(out, combo{vars: base, subject: "{" + repos[i] + "}:*"})
				continue
			}
			for j, e := range m.Environments {
				v := copyVars(base)
				v["environment"] = e.Name
				out = append(out, combo{vars: v, subject: "{" + repos[i] + "}:{" + envs[j] + "}:*"})
			}
		}
	case TypeGitHub, TypeGitLab:
		gh := ps.Type == TypeGitHub
		if gh && len(m.Environments) > 0 && len(m.Branches) > 0 {
			c.errorf(mp, "environments and branches together: a job with an environment gets sub repo:OWNER/REPO:environment:NAME, never its branch; keep one of them (protect the environment's branches in GitHub instead)")
			return nil
		}
		if !gh && len(m.Environments) > 0 {
			c.errorf(mp+".environments", "GitLab's sub has no environment (project_path:GROUP/PROJECT:ref_type:branch:ref:BRANCH): use branches, or extra conditions")
			return nil
		}
		for i, r := range m.Repositories {
			rp := fmt.Sprintf("%s.repositories[%d]", mp, i)
			switch {
			case r.UUID != "":
				c.errorf(rp, "%s repositories have no uuid: write the path, e.g. acme/web", ps.Type)
				ok = false
			case gh && !githubRepoRe.MatchString(r.Name):
				c.errorf(rp, "%q is not a GitHub repository: write OWNER/REPO, e.g. acme/web", r.Name)
				ok = false
			case !gh && !gitlabPathRe.MatchString(r.Name):
				c.errorf(rp, "%q is not a GitLab project path: write GROUP/PROJECT, e.g. acme/web", r.Name)
				ok = false
			}
		}
		for i, e := range m.Environments {
			if e.UUID != "" || e.Name == "" {
				c.errorf(fmt.Sprintf("%s.environments[%d]", mp, i), "a GitHub environment is its name: write e.g. production")
				ok = false
			}
		}
		for i, b := range m.Branches {
			if b == "" || strings.HasPrefix(b, "refs/") {
				c.errorf(fmt.Sprintf("%s.branches[%d]", mp, i), "write the branch name without refs/heads/, e.g. main")
				ok = false
			}
		}
		if !ok {
			return nil
		}
		for _, r := range m.Repositories {
			cut := strings.LastIndexByte(r.Name, '/')
			base := map[string]string{"repository": r.Name[cut+1:], "owner": r.Name[:cut]}
			prefix := "repo:" + r.Name + ":"
			if !gh {
				prefix = "project_path:" + r.Name + ":"
			}
			switch {
			case len(m.Environments) > 0:
				for _, e := range m.Environments {
					v := copyVars(base)
					v["environment"] = e.Name
					out = append(out, combo{vars: v, subject: prefix + "environment:" + e.Name})
				}
			case len(m.Branches) > 0:
				for _, b := range m.Branches {
					v := copyVars(base)
					v["branch"] = b
					sub := prefix + "ref:refs/heads/" + b
					if !gh {
						sub = prefix + "ref_type:branch:ref:" + b
					}
					out = append(out, combo{vars: v, subject: sub})
				}
			default:
				out = append(out, combo{vars: base, subject: prefix + "*"})
			}
		}
	default:
		c.errorf(mp, "a matrix is for bitbucket, github and gitlab providers: for %s write the sub values under trust.subjects", ps.Type)
		return nil
	}
	return out
}

// maxRoles is IAM's hard limit of roles per account.
const maxRoles = 5000

// matrixSize is the number of combinations a matrix makes.
func matrixSize(m *MatrixSpec) int {
	return len(m.Repositories) * max(1, len(m.Environments)) * max(1, len(m.Branches))
}

// unique reports (and refuses) a name listed twice.
func (c *checker) unique(path string, list []NamedUUID) bool {
	seen := map[string]bool{}
	for i, v := range list {
		if v.Name != "" && seen[v.Name] {
			c.errorf(fmt.Sprintf("%s[%d]", path, i), "%s is listed twice: keep one", v.Name)
			return false
		}
		seen[v.Name] = true
	}
	return true
}

func copyVars(m map[string]string) map[string]string {
	out := make(map[string]string, len(m)+1)
	for k, v := range m {
		out[k] = v
	}
	return out
}

// expand replaces {placeholder}s with vars; it reports the first placeholder that
// is unknown or has no value.
func expand(pattern string, vars map[string]string) (string, string) {
	bad := ""
	out := placeholderRe.ReplaceAllStringFunc(pattern, func(m string) string {
		name := m[1 : len(m)-1]
		v, ok := vars[name]
		if !ok && bad == "" {
			bad = name
		}
		return v
	})
	return out, bad
}

// placeholderError explains a placeholder expand could not fill.
func placeholderError(name string, vars map[string]string) string {
	if !contains(placeholders, name) {
		return fmt.Sprintf("unknown placeholder {%s}%s: the placeholders are {repository}, {owner}, {environment} and {branch}", name, suggest(name, placeholders))
	}
	if len(vars) == 0 {
		return fmt.Sprintf("{%s} needs a matrix: without one, write the name out", name)
	}
	return fmt.Sprintf("{%s} has no value: the matrix has no %s; add them, or remove {%s}", name, map[string]string{"environment": "environments", "branch": "branches", "owner": "owner (set the provider's workspace)", "repository": "repositories"}[name], name)
}

func (c *checker) role(i int, out *compiled) []*roleInstance {
	s := c.s
	rs := &s.Roles[i]
	path := fmt.Sprintf("roles[%d]", i)
	var prov *compiledProvider
	switch {
	case rs.Provider == "" && len(s.Providers) == 1:
		prov = findProvider(out.providers, s.Providers[0].ID)
	case rs.Provider == "":
		c.errorf(path, "which provider does the role trust? write provider: one of %s", strings.Join(providerIDs(s), ", "))
		return nil
	default:
		prov = findProvider(out.providers, rs.Provider)
		if prov == nil && !hasProviderID(s, rs.Provider) {
			c.errorf(path+".provider", "no provider %q%s: write one of %s", rs.Provider, suggest(rs.Provider, providerIDs(s)), strings.Join(providerIDs(s), ", "))
		}
	}
	if rs.Name == "" {
		c.errorf(path, "the role has no name: write name: deploy-{repository}-{environment} (or a plain name without a matrix)")
	}
	iamPath := rs.Path
	if iamPath == "" {
		iamPath = "/"
	}
	if !rolePathRe.MatchString(iamPath) || len(iamPath) > 512 {
		c.errorf(path+".path", "%q is not an IAM path: write / or /a/path/ (starting and ending with /, at most 512 characters)", rs.Path)
	}
	maxSession := rs.MaxSessionDuration
	if maxSession == 0 {
		maxSession = DefaultMaxSession
	}
	if maxSession < time.Hour || maxSession > 12*time.Hour || maxSession%time.Second != 0 {
		c.errorf(path+".max_session_duration", "%s is out of range: IAM allows 1h to 12h in whole seconds, e.g. 2h", shortDuration(rs.MaxSessionDuration))
	}
	c.tags(path+".tags", rs.Tags)
	managed := c.managed(path, rs, out.partition)
	boundary := ""
	if rs.PermissionsBoundary != "" {
		boundary = c.policyARN(path+".permissions_boundary", rs.PermissionsBoundary, out.partition)
	}
	tr := rs.Trust
	tp := path + ".trust"
	ips, refs := c.sourceIPs(tp+".source_ips", tr.SourceIPs)
	extra := c.extraConditions(tp+".conditions", tr.Conditions)
	if prov == nil {
		return nil
	}
	auds := prov.audiences
	if len(tr.Audiences) > 0 {
		auds = nil
		for j, a := range tr.Audiences {
			if !contains(prov.audiences, a) {
				c.errorf(fmt.Sprintf("%s.audiences[%d]", tp, j), "the provider %s does not list the audience %q (it lists %s): add it to %s.audiences, or use one of those", prov.spec.ID, a, strings.Join(prov.audiences, ", "), prov.path)
				continue
			}
			if !contains(auds, a) {
				auds = append(auds, a)
			}
		}
	}
	var combos []combo
	switch {
	case rs.Matrix != nil && len(tr.Subjects) > 0:
		c.errorf(tp+".subjects", "subjects and a matrix together: the matrix makes each role's sub; remove one")
		return nil
	case rs.Matrix != nil:
		combos = c.matrix(path, rs.Matrix, prov)
		if combos == nil {
			return nil
		}
	default:
		for j, sub := range tr.Subjects {
			if sub == "" {
				c.errorf(fmt.Sprintf("%s.subjects[%d]", tp, j), "an empty sub: write the subject, e.g. repo:acme/web:environment:production")
			}
		}
		if len(tr.Subjects) == 0 && !tr.AllowAnySubject {
			c.errorf(path, "the role has no sub condition, so any pipeline that gets a token from %s could assume it: add a matrix, or trust.subjects, or (to accept that) trust.allow_any_subject: true", prov.url)
			return nil
		}
		combos = []combo{{vars: nil}}
	}
	var roles []*roleInstance
	byName := map[string]combo{}
	longest, longestCombo := "", combo{}
	for _, cb := range combos {
		name, bad := expand(rs.Name, cb.vars)
		if bad != "" {
			c.errorf(path+".name", "%s", placeholderError(bad, cb.vars))
			return nil
		}
		if len(name) > len(longest) {
			longest, longestCombo = name, cb
		}
		if !roleNameRe.MatchString(name) {
			what := ""
			if cb.vars != nil {
				what = " for " + cb.describe()
			}
			c.errorf(path+".name", "the role name %q%s has characters IAM refuses: a role name holds only letters, digits and + = , . @ _ -; change the pattern or the names", name, what)
			return nil
		}
		if first, ok := byName[strings.ToLower(name)]; ok {
			c.errorf(path+".name", "the pattern %q makes the role name %q for both %s and %s: add {%s} to the pattern", rs.Name, name, first.describe(), cb.describe(), differing(first, cb))
			return nil
		}
		byName[strings.ToLower(name)] = cb
		desc, bad := expand(rs.Description, cb.vars)
		if bad != "" {
			c.errorf(path+".description", "%s", placeholderError(bad, cb.vars))
		} else if utf8.RuneCountInString(desc) > 1000 || !descriptionRe.MatchString(desc) {
			c.errorf(path+".description", "a role description has at most 1000 characters, printable ASCII or Latin-1")
		}
		r := &roleInstance{
			index: i, path: path, vars: cb.vars, name: name, iamPath: iamPath, description: desc,
			provider: prov, audiences: auds, anySubject: tr.AllowAnySubject, sourceIPs: ips, ipRefs: refs,
			extra: extra, sessionTags: tr.SessionTags, managed: managed, boundary: boundary,
			maxSession: int32(maxSession / time.Second), tags: rs.Tags,
		}
		if cb.subject != "" {
			r.subjects = []string{cb.subject}
		} else {
			r.subjects = append([]string(nil), tr.Subjects...)
		}
		r.inline = c.permissions(path, rs, cb, out)
		roles = append(roles, r)
	}
	if n := len(longest); n > 64 {
		what := ""
		if longestCombo.vars != nil {
			what = fmt.Sprintf(" for %s (the longest combination)", longestCombo.describe())
		}
		c.errorf(path+".name", "the role name %q%s has %d characters; IAM allows 64: shorten the pattern or the names", longest, what, n)
		return nil
	}
	return roles
}

// differing names the first placeholder whose value differs between two combinations.
func differing(a, b combo) string {
	for _, k := range placeholders {
		if a.vars[k] != b.vars[k] {
			return k
		}
	}
	return "repository"
}

func findProvider(ps []*compiledProvider, id string) *compiledProvider {
	for _, p := range ps {
		if p.spec.ID == id {
			return p
		}
	}
	return nil
}

func hasProviderID(s *Spec, id string) bool {
	for _, p := range s.Providers {
		if p.ID == id {
			return true
		}
	}
	return false
}

func providerIDs(s *Spec) []string {
	var out []string
	for _, p := range s.Providers {
		out = append(out, p.ID)
	}
	return out
}

// sourceIPs splits source_ips into canonical CIDRs and references.
func (c *checker) sourceIPs(path string, vals []string) (cidrs, refs []string) {
	for i, v := range vals {
		p := fmt.Sprintf("%s[%d]", path, i)
		if len(vals) == 1 {
			if _, ok := c.s.pos[p]; !ok {
				p = path
			}
		}
		if v == RefBitbucketEgress {
			if !contains(refs, v) {
				refs = append(refs, v)
			}
			continue
		}
		if strings.Contains(v, ":") && !strings.Contains(v, "/") && !strings.Contains(v, "::") {
			c.errorf(p, "unknown address reference %q: the only one is %s", v, RefBitbucketEgress)
			continue
		}
		pfx, err := netip.ParsePrefix(v)
		if err != nil {
			if a, aerr := netip.ParseAddr(v); aerr == nil && a.Zone() == "" {
				pfx = netip.PrefixFrom(a, a.BitLen())
			} else {
				c.errorf(p, "%q is not a CIDR block: write an address range such as 203.0.113.0/24 or 2001:db8::/32, or %s", v, RefBitbucketEgress)
				continue
			}
		}
		if pfx.Masked() != pfx {
			c.errorf(p, "%q has bits set after the /%d: write %s", v, pfx.Bits(), pfx.Masked())
			continue
		}
		if s := pfx.String(); !contains(cidrs, s) {
			cidrs = append(cidrs, s)
		}
	}
	return cidrs, refs
}

// extraConditions decodes the conditions JSON: an object of operators, each an
// object of condition keys and their values.
func (c *checker) extraConditions(path, raw string) conditions {
	if strings.TrimSpace(raw) == "" {
		return nil
	}
	const want = conditionsHint
	var any0 any
	if err := json.Unmarshal([]byte(raw), &any0); err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			line, col := jsonLineCol(raw, int(se.Offset))
			c.errorf(path, "not valid JSON (%v, at line %d, column %d of the JSON): %s", se, line, col, want)
		} else {
			c.errorf(path, "not valid JSON (%v): %s", err, want)
		}
		return nil
	}
	var ops map[string]json.RawMessage
	if err := json.Unmarshal([]byte(raw), &ops); err != nil || ops == nil {
		c.errorf(path, "the conditions are %s, not a JSON object: %s", jsonKind(any0), want)
		return nil
	}
	// policy.Parse refuses what encoding/json would let pass silently, such as
	// an operator or key written twice (the last one would win).
	wrapped := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Federated":"keyless"},"Action":"sts:AssumeRoleWithWebIdentity","Condition":` + raw + `}]}`
	if _, err := policy.Parse([]byte(wrapped), policy.KindTrust, policy.WithMaxSize(0)); err != nil {
		var pe *policy.Error
		msg := err.Error()
		if errors.As(err, &pe) {
			msg = pe.Message
			if f := strings.TrimPrefix(strings.TrimPrefix(pe.Field, "Condition"), "."); f != "" {
				msg = f + ": " + msg
			}
		}
		c.errorf(path, "%s (conditions is a policy's Condition element, e.g. '{\"StringEquals\": {\"aws:RequestedRegion\": \"eu-west-1\"}}')", msg)
		return nil
	}
	opNames := make([]string, 0, len(ops))
	for op := range ops {
		opNames = append(opNames, op)
	}
	sort.Strings(opNames)
	v := make(conditions, len(ops))
	for _, op := range opNames {
		body := ops[op]
		dec := json.NewDecoder(bytes.NewReader(body))
		dec.UseNumber()
		var keys map[string]any
		if err := dec.Decode(&keys); err != nil || keys == nil {
			var x any
			_ = json.Unmarshal(body, &x)
			c.errorf(path, "the operator %s holds %s, not an object of condition keys: %s", op, jsonKind(x), want)
			return nil
		}
		v[op] = keys
	}
	for _, op := range opNames {
		keys := v[op]
		if len(keys) == 0 {
			c.errorf(path, "the operator %s has no condition keys: %s", op, want)
			return nil
		}
		for _, k := range sortedKeys(keys) {
			switch x := keys[k].(type) {
			case string, json.Number, bool:
			case []any:
				for _, e := range x {
					switch e.(type) {
					case string, json.Number, bool:
					default:
						c.errorf(path, "%s %s: a condition value is a string, number, boolean or a list of them", op, k)
						return nil
					}
				}
			default:
				c.errorf(path, "%s %s: a condition value is a string, number, boolean or a list of them", op, k)
				return nil
			}
		}
	}
	return v
}

// conditionsHint says how to write trust.conditions.
const conditionsHint = `write a JSON object of operators like a policy's Condition element, e.g. '{"StringEquals": {"aws:RequestedRegion": "eu-west-1"}}'`

func sortedKeys(m map[string]any) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// jsonKind names the JSON type of a decoded value for messages.
func jsonKind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "a string"
	case float64:
		return "a number"
	case bool:
		return "a boolean"
	case []any:
		return "a list"
	}
	return "an object"
}

func jsonLineCol(s string, off int) (int, int) {
	if off > len(s) {
		off = len(s)
	}
	line, col := 1, 1
	for _, r := range s[:off] {
		if r == '\n' {
			line, col = line+1, 1
		} else {
			col++
		}
	}
	return line, col
}

// managed resolves managed policy names and ARNs, deduplicated and sorted.
func (c *checker) managed(path string, rs *RoleSpec, partition string) []string {
	var out []string
	for i, m := range rs.ManagedPolicies {
		if arn := c.policyARN(fmt.Sprintf("%s.managed_policies[%d]", path, i), m, partition); arn != "" && !contains(out, arn) {
			out = append(out, arn)
		}
	}
	return out
}

// policyARN resolves an AWS managed policy name, or checks a policy ARN.
func (c *checker) policyARN(path, v, partition string) string {
	switch {
	case strings.HasPrefix(v, "arn:"):
		if !policyARNRe.MatchString(v) {
			c.errorf(path, "%q is not a managed policy ARN: write arn:%s:iam::aws:policy/NAME, arn:%s:iam::ACCOUNT:policy/NAME or an AWS managed policy name such as ReadOnlyAccess", v, partition, partition)
			return ""
		}
		if p := strings.SplitN(v, ":", 3)[1]; p != partition {
			c.errorf(path, "%q is in partition %s, the config in %s: write arn:%s:…", v, p, partition, partition)
			return ""
		}
		return v
	case managedNameRe.MatchString(v):
		return fmt.Sprintf("arn:%s:iam::aws:policy/%s", partition, v)
	}
	c.errorf(path, "%q is not a managed policy: write an AWS managed policy name such as ReadOnlyAccess (service-role/NAME for those under a path) or an ARN", v)
	return ""
}

// permissions builds a role's inline policies for one combination.
func (c *checker) permissions(path string, rs *RoleSpec, cb combo, out *compiled) []inlineInstance {
	env := templateEnv{partition: out.partition, account: out.account}
	if env.account == "" {
		env.account = AccountPlaceholder
	}
	var list []inlineInstance
	names := map[string]string{}
	for j, ps := range rs.Permissions {
		pp := fmt.Sprintf("%s.permissions[%d]", path, j)
		in := inlineInstance{path: pp, name: ps.Name}
		switch {
		case ps.Template != "":
			t, ok := lookupTemplate(ps.Template)
			if !ok {
				c.errorf(pp+".template", "unknown template %q%s; the templates are %s", ps.Template, suggest(ps.Template, TemplateNames()), strings.Join(TemplateNames(), ", "))
				continue
			}
			for k := range ps.Params {
				if !t.hasParam(k) {
					c.errorf(pp+"."+k, "template %s has no parameter %q%s: it takes %s", t.Name, k, suggest(k, t.paramNames()), strings.Join(t.paramNames(), ", "))
				}
			}
			params := make(map[string]string, len(ps.Params))
			for k, v := range ps.Params {
				x, bad := expand(v, cb.vars)
				if bad != "" {
					c.errorf(pp+"."+k, "%s", placeholderError(bad, cb.vars))
					continue
				}
				params[k] = x
			}
			full, missing := t.withDefaults(params)
			if missing != "" {
				if _, given := ps.Params[missing]; given {
					continue // reported as a placeholder problem
				}
				c.errorf(pp, "template %s needs %s: add %s: <%s>", t.Name, missing, missing, t.param(missing).Doc)
				continue
			}
			g, perr := t.build(full, env)
			if perr != nil {
				msg := perr.msg
				if raw := ps.Params[perr.param]; raw != full[perr.param] && cb.vars != nil {
					msg = fmt.Sprintf("%s (from %s for %s)", msg, raw, cb.describe())
				}
				c.errorf(pp+"."+perr.param, "%s", msg)
				continue
			}
			in.grant = &g
			if in.name == "" {
				in.name = t.Name
			}
		case ps.File != "":
			in.doc = ps.Document
			if in.name == "" {
				base := path0Base(ps.File)
				in.name = strings.TrimSuffix(base, pathExt(base))
			}
		default:
			c.errorf(pp, "names no template and no file: write {template: %s, …} or {file: policies/extra.json}", strings.Join(TemplateNames(), "|"))
			continue
		}
		np := pp + ".name"
		if ps.Name == "" {
			np = pp
		}
		if !roleNameRe.MatchString(in.name) || len(in.name) > 128 {
			c.errorf(np, "%q cannot name an inline policy: use 1 to 128 letters, digits and + = , . @ _ -; set name:", in.name)
			continue
		}
		if other, dup := names[in.name]; dup {
			c.errorf(np, "the inline policy name %q is also used by %s: give one of them a name:", in.name, other)
			continue
		}
		names[in.name] = pp
		list = append(list, in)
	}
	return list
}

func path0Base(p string) string { return path.Base(strings.ReplaceAll(p, "\\", "/")) }

func pathExt(p string) string { return path.Ext(p) }

func (t Template) hasParam(name string) bool {
	for _, p := range t.Params {
		if p.Name == name {
			return true
		}
	}
	return false
}

func (t Template) param(name string) Param {
	for _, p := range t.Params {
		if p.Name == name {
			return p
		}
	}
	return Param{}
}

func (t Template) paramNames() []string {
	var out []string
	for _, p := range t.Params {
		out = append(out, p.Name)
	}
	return out
}

// trimJSON compacts a JSON document, or returns it unchanged when it is not JSON.
func trimJSON(doc []byte) []byte {
	var b bytes.Buffer
	if err := json.Compact(&b, doc); err != nil {
		return doc
	}
	return b.Bytes()
}

// shortDuration renders 24h rather than 24h0m0s.
func shortDuration(d time.Duration) string {
	v := d.String()
	if strings.HasSuffix(v, "m0s") {
		v = strings.TrimSuffix(v, "0s")
	}
	if strings.HasSuffix(v, "h0m") {
		v = strings.TrimSuffix(v, "0m")
	}
	return v
}
