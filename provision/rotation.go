package provision

import (
	"fmt"
	"net"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// Default ages of a rotated access key (see [RotationAges]).
const (
	DefaultRotateAge     = 90 * Day
	DefaultDeactivateAge = 100 * Day
	DefaultDeleteAge     = 110 * Day
)

// Day is 24 hours, the unit of "90d" in a rotation age.
const Day = 24 * time.Hour

// Default CI variable names rotated credentials are written under.
const (
	DefaultAccessKeyIDVariable     = "AWS_ACCESS_KEY_ID"
	DefaultSecretAccessKeyVariable = "AWS_SECRET_ACCESS_KEY"
)

// Rotation target types.
const (
	TargetBitbucket = "bitbucket" // Bitbucket Pipelines variables
	TargetGitHub    = "github"    // GitHub Actions secrets
	TargetGitLab    = "gitlab"    // GitLab CI/CD variables
)

// RotationSpec is the "rotation" section of keyless.yaml: IAM users whose static
// access keys keyless rotates, the Secrets Manager secret that holds each user's
// live key, and the CI variables the key is pushed into.
type RotationSpec struct {
	// Ages are the defaults of every user; unset fields take
	// DefaultRotateAge, DefaultDeactivateAge and DefaultDeleteAge.
	Ages RotationAges
	// Users are the users to rotate, in file order.
	Users []RotationUser
}

// RotationAges are the ages of an access key at which it is replaced (Rotate),
// made inactive once unused (Deactivate) and deleted once inactive (Delete).
// A nil field is not set in the file.
type RotationAges struct {
	Rotate     *time.Duration // the age at which the key is replaced
	Deactivate *time.Duration // the age from which an unused old key is made inactive
	Delete     *time.Duration // the age from which an inactive key is deleted
}

// RotationUser is one entry under rotation.users.
type RotationUser struct {
	// User is the IAM user name.
	User string
	// Secret is the Secrets Manager secret (name or ARN) holding the user's live
	// key as JSON {"AccessKeyId": …, "SecretAccessKey": …}: the source of truth.
	Secret string
	// Ages override rotation.ages for this user.
	Ages RotationAges
	// Variables are the CI variable names for this user's targets.
	Variables RotationVariables
	// Targets are the CI variable scopes the key is pushed into.
	Targets []RotationTarget
}

// RotationVariables names the two CI variables; an empty field takes the
// enclosing level's name, and finally DefaultAccessKeyIDVariable or
// DefaultSecretAccessKeyVariable.
type RotationVariables struct {
	AccessKeyID     string // the access key ID's variable (access_key_id)
	SecretAccessKey string // the secret access key's variable (secret_access_key)
}

// RotationTarget is one entry under a user's targets: where in CI the key goes.
// Which fields apply depends on Type.
type RotationTarget struct {
	// Type is bitbucket, github or gitlab.
	Type string
	// URL replaces the provider's API root (a self-hosted GitLab, GitHub
	// Enterprise Server, or a local stand-in); https, or http on a loopback host.
	URL string
	// Variables override the user's variable names for this target.
	Variables RotationVariables

	// Workspace is the Bitbucket workspace (slug or {UUID}).
	Workspace string
	// Repository is the Bitbucket repository slug, or the GitHub repository as
	// OWNER/REPO.
	Repository string
	// Deployment is a Bitbucket deployment environment of Repository, by name or
	// {UUID}.
	Deployment string
	// Environment is a GitHub environment of Repository.
	Environment string
	// Org is a GitHub organisation, for organisation secrets.
	Org string
	// Visibility of a GitHub organisation secret: all, private (default) or
	// selected.
	Visibility string
	// SelectedRepositoryIDs are the repositories of visibility selected.
	SelectedRepositoryIDs []int64
	// Project is a GitLab project ID or full path.
	Project string
	// Group is a GitLab group ID or full path.
	Group string
	// EnvironmentScope is the GitLab variables' environment scope ("*" when empty).
	EnvironmentScope string
	// Protected exposes GitLab variables to protected branches and tags only.
	Protected bool
	// Masked is GitLab's masked flag of the secret access key; nil means true,
	// and false is refused: a secret access key is always masked.
	Masked *bool
}

// AgesFor returns the ages user i rotates by: its own, else rotation.ages, else
// the defaults.
func (r *RotationSpec) AgesFor(i int) (rotate, deactivate, del time.Duration) {
	pick := func(own, shared *time.Duration, def time.Duration) time.Duration {
		switch {
		case own != nil:
			return *own
		case shared != nil:
			return *shared
		}
		return def
	}
	u := r.Users[i].Ages
	return pick(u.Rotate, r.Ages.Rotate, DefaultRotateAge),
		pick(u.Deactivate, r.Ages.Deactivate, DefaultDeactivateAge),
		pick(u.Delete, r.Ages.Delete, DefaultDeleteAge)
}

// VariablesFor returns the variable names of target j of user i: the target's,
// else the user's, else the defaults.
func (r *RotationSpec) VariablesFor(i, j int) RotationVariables {
	u := r.Users[i]
	t := u.Targets[j].Variables
	v := RotationVariables{AccessKeyID: DefaultAccessKeyIDVariable, SecretAccessKey: DefaultSecretAccessKeyVariable}
	for _, lvl := range []RotationVariables{u.Variables, t} {
		if lvl.AccessKeyID != "" {
			v.AccessKeyID = lvl.AccessKeyID
		}
		if lvl.SecretAccessKey != "" {
			v.SecretAccessKey = lvl.SecretAccessKey
		}
	}
	return v
}

// ParseAge reads a rotation age: a number of days ("90d" or 90) or a Go
// duration ("36h", "10m", "0s"). Ages are not negative.
func ParseAge(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, fmt.Errorf("empty age: write a number of days such as 90d")
	}
	days := strings.TrimSuffix(s, "d")
	if n, err := strconv.ParseUint(days, 10, 16); err == nil {
		if n > 36500 {
			return 0, fmt.Errorf("%q: at most 36500 days", s)
		}
		return time.Duration(n) * Day, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("%q is not an age: write days such as 90d, or a duration such as 36h", s)
	}
	if d < 0 {
		return 0, fmt.Errorf("%q is negative: an age is 0 or more", s)
	}
	return d, nil
}

// formatAge writes an age as days when it is a whole number of them.
func formatAge(d time.Duration) string {
	if d%Day == 0 {
		return strconv.FormatInt(int64(d/Day), 10) + "d"
	}
	return d.String()
}

var (
	rotationKeys       = []string{"ages", "users"}
	rotationUserKeys   = []string{"user", "secret", "ages", "variables", "targets"}
	rotationAgeKeys    = []string{"rotate", "deactivate", "delete"}
	rotationVarKeys    = []string{"access_key_id", "secret_access_key"}
	rotationTargetKeys = map[string][]string{
		TargetBitbucket: {"type", "url", "variables", "workspace", "repository", "deployment"},
		TargetGitHub:    {"type", "url", "variables", "repository", "environment", "org", "visibility", "selected_repository_ids"},
		TargetGitLab:    {"type", "url", "variables", "project", "group", "environment_scope", "protected", "masked"},
	}
	targetTypes = []string{TargetBitbucket, TargetGitHub, TargetGitLab}
)

func (d *decoder) rotation(n *yaml.Node, path string) *RotationSpec {
	r := &RotationSpec{}
	for _, f := range d.fields(n, path, rotationKeys, "{ages: {rotate: 90d}, users: [{user: ci-legacy, secret: ci/legacy, targets: […]}]}") {
		switch f.key {
		case "ages":
			r.Ages = d.ages(f.val, f.fieldPath)
		case "users":
			d.list(f.val, f.fieldPath, "[{user: ci-legacy, secret: ci/legacy, targets: […]}]", func(n *yaml.Node, p string) {
				r.Users = append(r.Users, d.rotationUser(n, p))
			})
		}
	}
	return r
}

func (d *decoder) ages(n *yaml.Node, path string) RotationAges {
	var a RotationAges
	for _, f := range d.fields(n, path, rotationAgeKeys, "{rotate: 90d, deactivate: 100d, delete: 110d}") {
		v := d.age(f.val, f.fieldPath)
		switch f.key {
		case "rotate":
			a.Rotate = v
		case "deactivate":
			a.Deactivate = v
		case "delete":
			a.Delete = v
		}
	}
	return a
}

// age decodes "90d", 90 (days) or a duration such as "36h".
func (d *decoder) age(n *yaml.Node, path string) *time.Duration {
	n = d.resolve(n)
	if n == nil || isNull(n) {
		return nil
	}
	d.pos[path] = Pos{n.Line, n.Column}
	if n.Kind != yaml.ScalarNode || n.ShortTag() == "!!bool" {
		d.errorf(n, path, "want an age such as 90d or 36h; got %s", describe(n))
		return nil
	}
	v, err := ParseAge(n.Value)
	if err != nil {
		d.errorf(n, path, "%v", err)
		return nil
	}
	return &v
}

func (d *decoder) rotationUser(n *yaml.Node, path string) RotationUser {
	var u RotationUser
	for _, f := range d.fields(n, path, rotationUserKeys, "{user: ci-legacy, secret: ci/legacy, targets: […]}") {
		switch f.key {
		case "user":
			u.User = d.str(f.val, f.fieldPath, "ci-legacy")
		case "secret":
			u.Secret = d.str(f.val, f.fieldPath, "ci/legacy-deployer")
		case "ages":
			u.Ages = d.ages(f.val, f.fieldPath)
		case "variables":
			u.Variables = d.variables(f.val, f.fieldPath)
		case "targets":
			d.list(f.val, f.fieldPath, "[{type: bitbucket, workspace: acme, repository: web, deployment: production}]", func(n *yaml.Node, p string) {
				u.Targets = append(u.Targets, d.rotationTarget(n, p))
			})
		}
	}
	return u
}

func (d *decoder) variables(n *yaml.Node, path string) RotationVariables {
	var v RotationVariables
	for _, f := range d.fields(n, path, rotationVarKeys, "{access_key_id: AWS_ACCESS_KEY_ID, secret_access_key: AWS_SECRET_ACCESS_KEY}") {
		switch f.key {
		case "access_key_id":
			v.AccessKeyID = d.str(f.val, f.fieldPath, "AWS_ACCESS_KEY_ID")
		case "secret_access_key":
			v.SecretAccessKey = d.str(f.val, f.fieldPath, "AWS_SECRET_ACCESS_KEY")
		}
	}
	return v
}

func (d *decoder) rotationTarget(n *yaml.Node, path string) RotationTarget {
	const example = "{type: bitbucket, workspace: acme, repository: web, deployment: production}"
	var t RotationTarget
	fs := d.fields(n, path, nil, example)
	for _, f := range fs {
		if f.key == "type" {
			t.Type = d.str(f.val, f.fieldPath, "bitbucket")
		}
	}
	known, ok := rotationTargetKeys[t.Type]
	if !ok {
		if r := d.resolve(n); r != nil && r.Kind == yaml.MappingNode {
			if t.Type == "" {
				d.errorf(r, path, "a target needs its type: write type: %s", strings.Join(targetTypes, ", type: "))
			} else {
				d.errorf(r, joinPath(path, "type"), "unknown target type %q%s; the types are %s", t.Type, suggest(t.Type, targetTypes), strings.Join(targetTypes, ", "))
				d.errs[len(d.errs)-1].Pos = d.pos[joinPath(path, "type")]
			}
		}
		return t
	}
	for _, f := range fs {
		if !contains(known, f.key) {
			d.errorf(f.keyNode, path, "unknown key %q%s; a %s target takes %s", f.key, suggest(f.key, known), t.Type, strings.Join(known, ", "))
			continue
		}
		p := f.fieldPath
		switch f.key {
		case "url":
			t.URL = d.str(f.val, p, "https://gitlab.example.com")
		case "variables":
			t.Variables = d.variables(f.val, p)
		case "workspace":
			t.Workspace = d.str(f.val, p, "acme")
		case "repository":
			t.Repository = d.str(f.val, p, "web")
		case "deployment":
			t.Deployment = d.str(f.val, p, "production")
		case "environment":
			t.Environment = d.str(f.val, p, "production")
		case "org":
			t.Org = d.str(f.val, p, "acme")
		case "visibility":
			t.Visibility = d.str(f.val, p, "private")
		case "selected_repository_ids":
			d.list(f.val, p, "[1296269]", func(n *yaml.Node, ip string) {
				s := d.str(n, ip, "1296269")
				id, err := strconv.ParseInt(s, 10, 64)
				if s != "" && (err != nil || id <= 0) {
					d.errorf(n, ip, "want a repository ID (a positive number); got %s", describe(n))
				}
				t.SelectedRepositoryIDs = append(t.SelectedRepositoryIDs, id)
			})
		case "project":
			t.Project = d.str(f.val, p, "acme/web")
		case "group":
			t.Group = d.str(f.val, p, "acme")
		case "environment_scope":
			t.EnvironmentScope = d.str(f.val, p, "production")
		case "protected":
			t.Protected = d.boolean(f.val, p)
		case "masked":
			m := d.boolean(f.val, p)
			t.Masked = &m
		}
	}
	return t
}

var (
	iamUserNameRe  = regexp.MustCompile(`^[\w+=,.@-]{1,64}$`)
	secretNameRe   = regexp.MustCompile(`^[A-Za-z0-9/_+=.@-]{1,512}$`)
	secretARNRe    = regexp.MustCompile(`^arn:[a-z-]+:secretsmanager:[a-z0-9-]+:\d{12}:secret:[A-Za-z0-9/_+=.@-]{1,512}$`)
	ciVariableRe   = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
	gitlabIDRe     = regexp.MustCompile(`^[1-9][0-9]*$`)
	gitlabGroupRe  = regexp.MustCompile(`^[A-Za-z0-9_.-]+(?:/[A-Za-z0-9_.-]+)*$`)
	githubOwnerRe  = regexp.MustCompile(`^[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?$`)
	githubEnvRe    = regexp.MustCompile(`^[^\x00-\x1f'"` + "`" + `,;\\]{1,255}$`)
	bitbucketEnvRe = regexp.MustCompile(`^[^\x00-\x1f/]{1,255}$`)
)

// rotation checks the rotation section: user names, secrets, ages in order,
// variable names and every target's scope.
func (c *checker) rotation(r *RotationSpec) {
	if r == nil {
		return
	}
	c.rotationAges("rotation.ages", r.Ages)
	if len(r.Users) == 0 {
		c.errorf("rotation", "no users to rotate: add users: [{user: ci-legacy, secret: ci/legacy, targets: […]}], or remove rotation:")
	}
	users, secrets := map[string]string{}, map[string]string{}
	for i, u := range r.Users {
		path := fmt.Sprintf("rotation.users[%d]", i)
		switch {
		case u.User == "":
			c.errorf(path, "names no IAM user: write user: <name>")
		case !iamUserNameRe.MatchString(u.User):
			c.errorf(path+".user", "%q is not an IAM user name: use 1 to 64 letters, digits and _ + = , . @ -", u.User)
		default:
			if first, ok := users[strings.ToLower(u.User)]; ok {
				c.errorf(path+".user", "the user %q is also %s: list each user once", u.User, first)
			}
			users[strings.ToLower(u.User)] = path
		}
		switch {
		case u.Secret == "":
			c.errorf(path, "names no secret: write secret: <Secrets Manager secret name or ARN> (it holds the live key)")
		case strings.HasPrefix(u.Secret, "arn:") && !secretARNRe.MatchString(u.Secret):
			c.errorf(path+".secret", "%q is not a Secrets Manager secret ARN: write arn:aws:secretsmanager:REGION:ACCOUNT:secret:NAME-SUFFIX, or the secret's name", u.Secret)
		case !strings.HasPrefix(u.Secret, "arn:") && !secretNameRe.MatchString(u.Secret):
			c.errorf(path+".secret", "%q is not a secret name: use 1 to 512 letters, digits and / _ + = . @ -", u.Secret)
		default:
			if first, ok := secrets[u.Secret]; ok {
				c.errorf(path+".secret", "the secret %q is also %s's: each user needs a secret of its own", u.Secret, first)
			}
			secrets[u.Secret] = path
		}
		rot, deact, del := r.AgesFor(i)
		if own := u.Ages; (own.Rotate != nil || own.Deactivate != nil || own.Delete != nil) && (rot > deact || deact > del) {
			c.errorf(path+".ages", "the ages must grow: rotate %s ≤ deactivate %s ≤ delete %s; fix rotation.ages or this user's ages", formatAge(rot), formatAge(deact), formatAge(del))
		}
		c.rotationVariables(path+".variables", u.Variables)
		seen := map[string]string{}
		for j, t := range u.Targets {
			tp := fmt.Sprintf("%s.targets[%d]", path, j)
			c.rotationTarget(tp, t)
			c.rotationVariables(tp+".variables", t.Variables)
			if v := r.VariablesFor(i, j); v.AccessKeyID == v.SecretAccessKey {
				c.errorf(tp+".variables", "both variables are named %s: give the access key ID and the secret access key different names", v.AccessKeyID)
			}
			key := targetKey(t)
			if first, ok := seen[key]; ok {
				c.errorf(tp, "the same variables as %s: list each target once", first)
			}
			seen[key] = tp
		}
	}
}

// targetKey identifies the scope a target writes, to find duplicates.
func targetKey(t RotationTarget) string {
	return strings.Join([]string{t.Type, t.URL, t.Workspace, t.Repository, t.Deployment, t.Environment, t.Org, t.Project, t.Group, t.EnvironmentScope, t.Variables.AccessKeyID, t.Variables.SecretAccessKey}, "\x00")
}

// rotationAges checks that rotation.ages, completed with the defaults, grow.
func (c *checker) rotationAges(path string, a RotationAges) {
	get := func(p *time.Duration, def time.Duration) time.Duration {
		if p != nil {
			return *p
		}
		return def
	}
	rot, deact, del := get(a.Rotate, DefaultRotateAge), get(a.Deactivate, DefaultDeactivateAge), get(a.Delete, DefaultDeleteAge)
	if rot > deact || deact > del {
		c.errorf(path, "the ages must grow: rotate %s ≤ deactivate %s ≤ delete %s (unset ages are 90d, 100d, 110d)", formatAge(rot), formatAge(deact), formatAge(del))
	}
}

func (c *checker) rotationVariables(path string, v RotationVariables) {
	for _, f := range []struct{ key, name string }{{"access_key_id", v.AccessKeyID}, {"secret_access_key", v.SecretAccessKey}} {
		if f.name != "" && !ciVariableRe.MatchString(f.name) {
			c.errorf(path+"."+f.key, "%q is not a CI variable name: use letters, digits and underscores, not starting with a digit", f.name)
		}
	}
}

func (c *checker) rotationTarget(path string, t RotationTarget) {
	if t.URL != "" {
		if msg := checkAPIURL(t.URL); msg != "" {
			c.errorf(path+".url", "%s", msg)
		}
	}
	switch t.Type {
	case TargetBitbucket:
		switch {
		case t.Workspace == "":
			c.errorf(path, "a bitbucket target needs its workspace: write workspace: <slug>")
		case !slugRe.MatchString(t.Workspace) && bareUUID(t.Workspace) == "":
			c.errorf(path+".workspace", "%q is not a workspace slug or {UUID}: write the name as in bitbucket.org/<slug>/", t.Workspace)
		}
		if t.Repository != "" && !slugRe.MatchString(t.Repository) {
			c.errorf(path+".repository", "%q is not a repository slug: write the name as in bitbucket.org/<workspace>/<slug>", t.Repository)
		}
		if t.Deployment != "" {
			switch {
			case t.Repository == "":
				c.errorf(path+".deployment", "a deployment environment belongs to a repository: add repository: <slug>")
			case bareUUID(t.Deployment) == "" && !bitbucketEnvRe.MatchString(t.Deployment):
				c.errorf(path+".deployment", "%q is not a deployment environment name or {UUID}", t.Deployment)
			}
		}
	case TargetGitHub:
		switch {
		case t.Org != "" && t.Repository != "":
			c.errorf(path, "give an org (organisation secrets) or a repository (OWNER/REPO), not both")
		case t.Org != "":
			if !githubOwnerRe.MatchString(t.Org) {
				c.errorf(path+".org", "%q is not a GitHub organisation name", t.Org)
			}
			if t.Environment != "" {
				c.errorf(path+".environment", "an environment belongs to a repository: write repository: OWNER/REPO instead of org")
			}
			switch t.Visibility {
			case "", "all", "private":
				if len(t.SelectedRepositoryIDs) > 0 {
					c.errorf(path+".selected_repository_ids", "selected repositories go with visibility: selected")
				}
			case "selected":
				if len(t.SelectedRepositoryIDs) == 0 {
					c.errorf(path+".visibility", "visibility selected needs selected_repository_ids: [ID, …]")
				}
			default:
				c.errorf(path+".visibility", "unknown visibility %q: write all, private or selected", t.Visibility)
			}
		case t.Repository == "":
			c.errorf(path, "a github target needs repository: OWNER/REPO, or org: <organisation>")
		default:
			if !githubRepoRe.MatchString(t.Repository) {
				c.errorf(path+".repository", "%q is not a GitHub repository: write OWNER/REPO, e.g. acme/web", t.Repository)
			}
			if t.Visibility != "" || len(t.SelectedRepositoryIDs) > 0 {
				c.errorf(path+".visibility", "visibility applies to organisation secrets (org:) only: remove it")
			}
			if t.Environment != "" && !githubEnvRe.MatchString(t.Environment) {
				c.errorf(path+".environment", "%q is not a GitHub environment name", t.Environment)
			}
		}
	case TargetGitLab:
		switch {
		case t.Project != "" && t.Group != "":
			c.errorf(path, "give a project or a group, not both")
		case t.Project != "":
			if !gitlabIDRe.MatchString(t.Project) && !gitlabPathRe.MatchString(t.Project) {
				c.errorf(path+".project", "%q is not a GitLab project: write its ID or its full path GROUP/PROJECT", t.Project)
			}
		case t.Group != "":
			if !gitlabIDRe.MatchString(t.Group) && !gitlabGroupRe.MatchString(t.Group) {
				c.errorf(path+".group", "%q is not a GitLab group: write its ID or its full path", t.Group)
			}
		default:
			c.errorf(path, "a gitlab target needs project: GROUP/PROJECT (or its ID), or group: <path or ID>")
		}
		if t.Masked != nil && !*t.Masked {
			c.errorf(path+".masked", "the secret access key is always masked: remove masked: false")
		}
	}
}

// checkAPIURL accepts https, or http on a loopback host, with nothing but a path.
func checkAPIURL(raw string) string {
	u, err := url.Parse(raw)
	switch {
	case err != nil || u.Host == "":
		return fmt.Sprintf("%q is not a URL: write https://HOST[/PATH]", raw)
	case u.User != nil:
		return "the URL must not hold credentials: tokens come from the environment (BITBUCKET_TOKEN, GITHUB_TOKEN, GITLAB_TOKEN)"
	case u.RawQuery != "" || u.Fragment != "":
		return fmt.Sprintf("%q: remove the query or fragment", raw)
	case u.Scheme == "https":
		return ""
	case u.Scheme == "http":
		h := u.Hostname()
		if ip := net.ParseIP(h); h == "localhost" || ip != nil && ip.IsLoopback() {
			return ""
		}
		return fmt.Sprintf("%q: use https (plain http is for loopback hosts only)", raw)
	}
	return fmt.Sprintf("%q: the scheme must be https", raw)
}
