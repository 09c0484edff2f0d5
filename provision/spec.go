// Package provision models keyless.yaml, the description of the IAM OpenID Connect
// providers and roles that let CI pipelines deploy to AWS, and turns it into the
// desired IAM state: [Parse] decodes a file strictly (unknown keys, wrong types and
// duplicate keys are errors with file:line:column), [Spec.Validate] checks every value
// against what AWS accepts, and [Desired] expands the role matrix and renders every
// trust and permission policy, validated and linted with package policy.
package provision

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/keyless-dev/keyless/internal/didyoumean"
)

// MaxFileSize is the largest keyless.yaml Parse accepts, in bytes.
const MaxFileSize = 1 << 20

// maxNodes bounds the nodes the decoder visits, aliases included, so that a small
// document of nested aliases cannot make it work for ever.
const maxNodes = 200_000

// Provider types.
const (
	TypeBitbucket = "bitbucket" // a Bitbucket Pipelines workspace
	TypeGitHub    = "github"    // GitHub Actions
	TypeGitLab    = "gitlab"    // a GitLab instance
	TypeOIDC      = "oidc"      // any other OpenID Connect issuer
)

// providerTypes lists the provider types in the order messages name them.
var providerTypes = []string{TypeBitbucket, TypeGitHub, TypeGitLab, TypeOIDC}

// ThumbprintsAuto is the value of "thumbprints" that asks for the thumbprints to be
// computed from the issuer's certificate chain when they are needed.
const ThumbprintsAuto = "auto"

// Spec is a decoded keyless.yaml. Build one with [Parse] or [Load], or in code; a
// Spec built in code has no positions, and its errors name the field only.
type Spec struct {
	// File is the path the spec was read from; "" when it was built in code.
	File string
	// Name is the config's name: the value of every entity's keyless:managed tag.
	// It defaults to File's base name without extension.
	Name string
	// Account is the 12-digit AWS account id, or "" to leave it to plan time
	// (ARNs then carry [AccountPlaceholder]).
	Account string
	// Partition is the AWS partition; "" means "aws".
	Partition string
	// Tags are added to every provider and role.
	Tags map[string]string
	// Providers are the OpenID Connect identity providers, in file order.
	Providers []ProviderSpec
	// Roles are the role definitions, in file order; each may expand to many roles.
	Roles []RoleSpec
	// Rotation is the "rotation" section: IAM users whose static access keys
	// keyless rotates (package rotate); nil when the file has none.
	Rotation *RotationSpec
	// Accounts is the "accounts" section: the accounts to provision the config
	// into through an assumed role; nil for the caller's account alone.
	Accounts *AccountsSpec

	pos map[string]Pos
}

// ProviderSpec is one entry under "providers".
type ProviderSpec struct {
	// ID is the provider's key under "providers"; roles refer to it.
	ID string
	// Type is bitbucket, github, gitlab or oidc.
	Type string
	// Workspace is the Bitbucket workspace slug.
	Workspace string
	// WorkspaceUUID is the Bitbucket workspace UUID (braces optional).
	WorkspaceUUID string
	// URL is the issuer URL; derived from the type (and workspace) when empty.
	URL string
	// Audiences are the provider's client IDs; derived from the type when empty.
	Audiences []string
	// Thumbprints are SHA-1 certificate thumbprints, 40 hex characters each.
	Thumbprints []string
	// ThumbprintsAuto reports "thumbprints: auto": computed when asked.
	ThumbprintsAuto bool
	// Tags are added to the provider.
	Tags map[string]string
}

// RoleSpec is one entry under "roles": a role, or with a matrix one role per
// combination of its values.
type RoleSpec struct {
	// Name is the role name or, with a matrix, a pattern such as
	// "deploy-{repository}-{environment}".
	Name string
	// Provider is the ID of the provider the role trusts; it may be left out when
	// the config has exactly one provider.
	Provider string
	// Path is the IAM path, "/" when empty.
	Path string
	// Description is the role's description; it may use the pattern's placeholders.
	Description string
	// Matrix generates one role per combination and the sub condition of each.
	Matrix *MatrixSpec
	// Trust holds the trust conditions.
	Trust TrustSpec
	// Permissions are the inline policies: templates and policy files.
	Permissions []PermissionSpec
	// ManagedPolicies are managed policy ARNs, or names of AWS managed policies.
	ManagedPolicies []string
	// PermissionsBoundary is a managed policy ARN or AWS managed policy name.
	PermissionsBoundary string
	// MaxSessionDuration is between 1h and 12h; zero means 1h.
	MaxSessionDuration time.Duration
	// Tags are added to the role.
	Tags map[string]string
}

// MatrixSpec lists the values a role is generated for.
type MatrixSpec struct {
	// Repositories are Bitbucket repositories (name and UUID), GitHub repositories
	// (OWNER/REPO) or GitLab projects (GROUP/PROJECT).
	Repositories []NamedUUID
	// Environments are deployment environments: Bitbucket ones by name and UUID,
	// GitHub ones by name.
	Environments []NamedUUID
	// Branches are branch names (GitHub, GitLab).
	Branches []string
}

// NamedUUID is a name with an optional UUID, written as a plain string (the name)
// or as a mapping with name and uuid.
type NamedUUID struct {
	// Name is the repository (OWNER/REPO on GitHub, GROUP/PROJECT on GitLab) or
	// environment name.
	Name string
	// UUID is the Bitbucket UUID, braces optional; empty elsewhere.
	UUID string
}

// TrustSpec holds a role's trust conditions beyond the provider principal.
type TrustSpec struct {
	// Audiences restrict aud to some of the provider's audiences; all of them when empty.
	Audiences []string
	// Subjects are explicit sub values (with * and ? wildcards); not with a matrix.
	Subjects []string
	// AllowAnySubject permits a role with no sub condition. Lint flags it.
	AllowAnySubject bool
	// SourceIPs are CIDR blocks or references such as [RefBitbucketEgress].
	SourceIPs []string
	// Conditions is extra condition JSON, an object of operators like a policy's
	// Condition element, merged into the trust statement.
	Conditions string
	// SessionTags also allows sts:TagSession, for issuers that send session tags.
	SessionTags bool
}

// PermissionSpec is one entry under a role's "permissions": a template with its
// parameters, or a policy file.
type PermissionSpec struct {
	// Name is the inline policy's name; the template's name or the file's base
	// name without extension when empty.
	Name string
	// Template is a template name such as "s3-deploy" (see [Templates]).
	Template string
	// Params are the template's parameters.
	Params map[string]string
	// File is a JSON policy file, relative to the config file.
	File string
	// Document is the content of File, read by [Load].
	Document []byte
}

// Pos is a 1-based line and column in a config file.
type Pos struct {
	// Line and Column are 1-based; zero when unknown.
	Line, Column int
}

// Error is one problem in a config: where it is and what to write instead.
type Error struct {
	// File is the config file ("" for a spec built in code).
	File string
	// Pos is the position of the offending value (zero when unknown).
	Pos Pos
	// Path names the field, such as "roles[0].name".
	Path string
	// Message says what is wrong and what to write instead.
	Message string
}

// Error renders "FILE:LINE:COLUMN: PATH: MESSAGE", leaving out what is unknown.
func (e *Error) Error() string {
	var b strings.Builder
	if e.File != "" {
		b.WriteString(e.File)
		if e.Pos.Line > 0 {
			fmt.Fprintf(&b, ":%d:%d", e.Pos.Line, e.Pos.Column)
		}
		b.WriteString(": ")
	}
	if e.Path != "" {
		b.WriteString(e.Path)
		b.WriteString(": ")
	}
	b.WriteString(e.Message)
	return b.String()
}

// Errors is every problem found in a config, ordered by position.
type Errors []*Error

// Error renders one problem per line.
func (es Errors) Error() string {
	lines := make([]string, len(es))
	for i, e := range es {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

// Unwrap returns the individual errors.
func (es Errors) Unwrap() []error {
	out := make([]error, len(es))
	for i, e := range es {
		out[i] = e
	}
	return out
}

// asError returns nil for no errors and the sorted list otherwise.
func (es Errors) asError() error {
	if len(es) == 0 {
		return nil
	}
	sort.SliceStable(es, func(i, j int) bool {
		a, b := es[i].Pos, es[j].Pos
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		return a.Column < b.Column
	})
	return es
}

// Load reads, decodes and validates a config file and reads the policy files its
// permissions name (relative to the config's directory).
func Load(path string) (*Spec, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	s, err := Parse(path, data)
	if err != nil {
		return nil, err
	}
	if err := s.Validate(); err != nil {
		return nil, err
	}
	if err := s.ReadPolicyFiles(filepath.Dir(path)); err != nil {
		return nil, err
	}
	return s, nil
}

// ReadPolicyFiles reads the Document of every file permission, relative to dir.
func (s *Spec) ReadPolicyFiles(dir string) error {
	var errs Errors
	for i := range s.Roles {
		for j := range s.Roles[i].Permissions {
			p := &s.Roles[i].Permissions[j]
			if p.File == "" {
				continue
			}
			name := p.File
			if !filepath.IsAbs(name) {
				name = filepath.Join(dir, name)
			}
			data, err := os.ReadFile(name)
			if err != nil {
				path := fmt.Sprintf("roles[%d].permissions[%d].file", i, j)
				errs = append(errs, s.errorAt(path, fmt.Sprintf("cannot read the policy file: %v; the path is relative to the config file's directory", err)))
				continue
			}
			p.Document = data
		}
	}
	return errs.asError()
}

// Parse decodes a keyless.yaml strictly: an unknown key, a value of the wrong type,
// a duplicate key or a second document is an error naming file:line:column and what
// to write instead. file names the config in messages and gives the default Name.
// Parse checks the shape only; [Spec.Validate] checks the values.
func Parse(file string, data []byte) (*Spec, error) {
	d := &decoder{file: file, pos: map[string]Pos{}}
	if len(data) > MaxFileSize {
		return nil, Errors{{File: file, Message: fmt.Sprintf("the file has %d bytes; a config may have at most %d", len(data), MaxFileSize)}}
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, Errors{{File: file, Pos: Pos{1, 1}, Message: "the file is empty: run `keyless init` for a commented starter"}}
		}
		return nil, Errors{{File: file, Pos: yamlErrorPos(err), Message: "not valid YAML: " + yamlErrorText(err)}}
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		p := Pos{extra.Line, extra.Column}
		if err != nil {
			p = yamlErrorPos(err)
		}
		return nil, Errors{{File: file, Pos: p, Message: "a second YAML document: a config is one document; remove the \"---\" and what follows, or merge it into the first"}}
	}
	s := &Spec{File: file, pos: d.pos}
	root := &doc
	if root.Kind == yaml.DocumentNode && len(root.Content) == 1 {
		root = root.Content[0]
	}
	d.spec(root, s)
	if err := d.errs.asError(); err != nil {
		return nil, err
	}
	if s.Name == "" && file != "" {
		base := filepath.Base(file)
		s.Name = strings.TrimSuffix(base, filepath.Ext(base))
	}
	return s, nil
}

// yamlErrorPos extracts "line N" from a yaml.v3 error message.
func yamlErrorPos(err error) Pos {
	msg := err.Error()
	if i := strings.Index(msg, "line "); i >= 0 {
		j := i + len("line ")
		k := j
		for k < len(msg) && msg[k] >= '0' && msg[k] <= '9' {
			k++
		}
		if n, convErr := strconv.Atoi(msg[j:k]); convErr == nil {
			return Pos{n, 1}
		}
	}
	return Pos{}
}

// yamlErrorText strips yaml.v3's "yaml: line N: " prefix.
func yamlErrorText(err error) string {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	if strings.HasPrefix(msg, "line ") {
		if i := strings.Index(msg, ": "); i >= 0 {
			msg = msg[i+2:]
		}
	}
	return msg
}

// field is one key of a mapping and its value.
type field struct {
	key       string
	keyNode   *yaml.Node
	val       *yaml.Node
	fieldPath string
}

// decoder walks the YAML node tree, collecting errors and value positions.
type decoder struct {
	file   string
	errs   Errors
	pos    map[string]Pos
	visits int
}

func (d *decoder) errorf(n *yaml.Node, path, format string, args ...any) {
	e := &Error{File: d.file, Path: path, Message: fmt.Sprintf(format, args...)}
	if n != nil {
		e.Pos = Pos{n.Line, n.Column}
	}
	d.errs = append(d.errs, e)
}

// resolve follows aliases and counts visits; it returns nil when over budget.
func (d *decoder) resolve(n *yaml.Node) *yaml.Node {
	for depth := 0; n != nil && n.Kind == yaml.AliasNode; depth++ {
		if depth > 100 {
			return nil
		}
		n = n.Alias
	}
	d.visits++
	if d.visits > maxNodes {
		if d.visits == maxNodes+1 {
			d.errorf(n, "", "the document expands to more than %d values (aliases included): write it out plainly", maxNodes)
		}
		return nil
	}
	return n
}

// describe names a node's type for "got …" messages.
func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		switch n.ShortTag() {
		case "!!null":
			return "nothing (null)"
		case "!!bool":
			return "the boolean " + n.Value
		case "!!int", "!!float":
			return "the number " + n.Value
		}
		return strconv.Quote(n.Value)
	}
	return "an unsupported node"
}

func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}

// fields checks that n is a mapping with only known keys, each once, and returns
// its fields in order. example shows a correct mapping in the type error.
func (d *decoder) fields(n *yaml.Node, path string, known []string, example string) []field {
	n = d.resolve(n)
	if n == nil || isNull(n) {
		return nil
	}
	if n.Kind != yaml.MappingNode {
		d.errorf(n, path, "want a mapping, e.g. %s; got %s", example, describe(n))
		return nil
	}
	seen := map[string]bool{}
	var out []field
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := d.resolve(n.Content[i]), n.Content[i+1]
		if k == nil {
			return out
		}
		if k.Kind != yaml.ScalarNode {
			d.errorf(k, path, "a key must be a plain word; got %s", describe(k))
			continue
		}
		fp := joinPath(path, k.Value)
		if k.Value == "<<" {
			d.errorf(k, fp, "merge keys (<<) are not supported: write the keys out")
			continue
		}
		if known != nil && !contains(known, k.Value) {
			d.errorf(k, path, "unknown key %q%s; the keys here are %s", k.Value, suggest(k.Value, known), strings.Join(known, ", "))
			continue
		}
		if seen[k.Value] {
			d.errorf(k, fp, "the key %q appears twice: keep one", k.Value)
			continue
		}
		seen[k.Value] = true
		d.pos[fp] = Pos{k.Line, k.Column}
		out = append(out, field{key: k.Value, keyNode: k, val: v, fieldPath: fp})
	}
	return out
}

func joinPath(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// suggest returns ` (did you mean "x"?)` for a close known key, or "".
func suggest(s string, known []string) string {
	if best := didyoumean.Nearest(s, known); best != "" {
		return fmt.Sprintf(" (did you mean %q?)", best)
	}
	return ""
}

// str decodes a scalar as text (numbers keep their spelling, so an unquoted
// account id works). null gives "".
func (d *decoder) str(n *yaml.Node, path, example string) string {
	n = d.resolve(n)
	if n == nil || isNull(n) {
		return ""
	}
	d.pos[path] = Pos{n.Line, n.Column}
	if n.Kind != yaml.ScalarNode || n.ShortTag() == "!!bool" {
		d.errorf(n, path, "want a string, e.g. %s; got %s", example, describe(n))
		return ""
	}
	return n.Value
}

// boolean decodes true or false.
func (d *decoder) boolean(n *yaml.Node, path string) bool {
	n = d.resolve(n)
	if n == nil || isNull(n) {
		return false
	}
	d.pos[path] = Pos{n.Line, n.Column}
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!bool" {
		d.errorf(n, path, "want true or false; got %s", describe(n))
		return false
	}
	return n.Value == "true"
}

// list decodes a sequence, calling item for each element with its path.
func (d *decoder) list(n *yaml.Node, path, example string, item func(*yaml.Node, string)) {
	n = d.resolve(n)
	if n == nil || isNull(n) {
		return
	}
	d.pos[path] = Pos{n.Line, n.Column}
	if n.Kind != yaml.SequenceNode {
		d.errorf(n, path, "want a list, e.g. %s; got %s", example, describe(n))
		return
	}
	for i, c := range n.Content {
		ip := fmt.Sprintf("%s[%d]", path, i)
		d.pos[ip] = Pos{c.Line, c.Column}
		item(c, ip)
	}
}

// strs decodes a list of strings.
func (d *decoder) strs(n *yaml.Node, path, example string) []string {
	var out []string
	d.list(n, path, example, func(c *yaml.Node, p string) {
		out = append(out, d.str(c, p, strconv.Quote(strings.Trim(example, "[]"))))
	})
	return out
}

// strMap decodes a mapping of strings to strings (tags, template parameters).
func (d *decoder) strMap(n *yaml.Node, path, example string) map[string]string {
	fs := d.fields(n, path, nil, example)
	if len(fs) == 0 {
		return nil
	}
	out := make(map[string]string, len(fs))
	for _, f := range fs {
		out[f.key] = d.str(f.val, f.fieldPath, `"value"`)
	}
	return out
}

var topKeys = []string{"name", "account", "accounts", "partition", "tags", "providers", "roles", "rotation"}

func (d *decoder) spec(root *yaml.Node, s *Spec) {
	root = d.resolve(root)
	if root == nil {
		return
	}
	if root.Kind != yaml.MappingNode {
		d.errorf(root, "", "want a mapping with providers and roles at the top; got %s (run `keyless init` for a commented starter)", describe(root))
		return
	}
	for _, f := range d.fields(root, "", topKeys, "{providers: …, roles: …}") {
		switch f.key {
		case "name":
			s.Name = d.str(f.val, f.fieldPath, "web-deploy")
		case "account":
			s.Account = d.str(f.val, f.fieldPath, `"123456789012"`)
		case "partition":
			s.Partition = d.str(f.val, f.fieldPath, "aws")
		case "tags":
			s.Tags = d.strMap(f.val, f.fieldPath, "{team: web}")
		case "providers":
			for _, pf := range d.fields(f.val, f.fieldPath, nil, "{bitbucket: {type: bitbucket, workspace: acme, workspace_uuid: …}}") {
				s.Providers = append(s.Providers, d.provider(pf.key, pf.val, pf.fieldPath))
			}
		case "roles":
			d.list(f.val, f.fieldPath, "[{name: deploy-{repository}, …}]", func(n *yaml.Node, p string) {
				s.Roles = append(s.Roles, d.role(n, p))
			})
		case "rotation":
			s.Rotation = d.rotation(f.val, f.fieldPath)
		case "accounts":
			s.Accounts = d.accounts(f.val, f.fieldPath)
		}
	}
}

var providerKeys = []string{"type", "workspace", "workspace_uuid", "url", "audiences", "thumbprints", "tags"}

func (d *decoder) provider(id string, n *yaml.Node, path string) ProviderSpec {
	p := ProviderSpec{ID: id}
	for _, f := range d.fields(n, path, providerKeys, "{type: github}") {
		switch f.key {
		case "type":
			p.Type = d.str(f.val, f.fieldPath, "bitbucket")
		case "workspace":
			p.Workspace = d.str(f.val, f.fieldPath, "acme")
		case "workspace_uuid":
			p.WorkspaceUUID = d.str(f.val, f.fieldPath, `"{84c08677-e352-4a1c-a107-6df387cfeef7}"`)
		case "url":
			p.URL = d.str(f.val, f.fieldPath, "https://token.actions.githubusercontent.com")
		case "audiences":
			p.Audiences = d.strs(f.val, f.fieldPath, "[sts.amazonaws.com]")
		case "thumbprints":
			v := d.resolve(f.val)
			if v != nil && v.Kind == yaml.ScalarNode && !isNull(v) {
				d.pos[f.fieldPath] = Pos{v.Line, v.Column}
				if v.Value != ThumbprintsAuto {
					d.errorf(v, f.fieldPath, "want a list of 40-hex-digit SHA-1 thumbprints or the word auto; got %s", describe(v))
				}
				p.ThumbprintsAuto = true
				continue
			}
			p.Thumbprints = d.strs(v, f.fieldPath, "[a031c46782e6e6c662c2c87c76da9aa62ccabd8e]")
		case "tags":
			p.Tags = d.strMap(f.val, f.fieldPath, "{team: web}")
		}
	}
	return p
}

var roleKeys = []string{"name", "provider", "path", "description", "matrix", "trust", "permissions", "managed_policies", "permissions_boundary", "max_session_duration", "tags"}

func (d *decoder) role(n *yaml.Node, path string) RoleSpec {
	var r RoleSpec
	for _, f := range d.fields(n, path, roleKeys, "{name: deploy-{repository}, provider: bitbucket, …}") {
		switch f.key {
		case "name":
			r.Name = d.str(f.val, f.fieldPath, "deploy-{repository}-{environment}")
		case "provider":
			r.Provider = d.str(f.val, f.fieldPath, "bitbucket")
		case "path":
			r.Path = d.str(f.val, f.fieldPath, "/ci/")
		case "description":
			r.Description = d.str(f.val, f.fieldPath, `"Deploys {repository}"`)
		case "matrix":
			r.Matrix = d.matrix(f.val, f.fieldPath)
		case "trust":
			r.Trust = d.trust(f.val, f.fieldPath)
		case "permissions":
			d.list(f.val, f.fieldPath, "[{template: s3-deploy, bucket: my-site}]", func(n *yaml.Node, p string) {
				r.Permissions = append(r.Permissions, d.permission(n, p))
			})
		case "managed_policies":
			r.ManagedPolicies = d.strs(f.val, f.fieldPath, "[ReadOnlyAccess]")
		case "permissions_boundary":
			r.PermissionsBoundary = d.str(f.val, f.fieldPath, "arn:aws:iam::123456789012:policy/ci-boundary")
		case "max_session_duration":
			r.MaxSessionDuration = d.duration(f.val, f.fieldPath)
		case "tags":
			r.Tags = d.strMap(f.val, f.fieldPath, "{team: web}")
		}
	}
	return r
}

// duration decodes "2h", "90m" or a number of seconds.
func (d *decoder) duration(n *yaml.Node, path string) time.Duration {
	n = d.resolve(n)
	if n == nil || isNull(n) {
		return 0
	}
	d.pos[path] = Pos{n.Line, n.Column}
	if n.Kind == yaml.ScalarNode {
		if n.ShortTag() == "!!int" {
			if secs, err := strconv.ParseInt(n.Value, 10, 32); err == nil && secs > 0 {
				return time.Duration(secs) * time.Second
			}
		} else if n.ShortTag() == "!!str" {
			if v, err := time.ParseDuration(n.Value); err == nil && v > 0 {
				return v
			}
		}
	}
	d.errorf(n, path, "want a duration between 1h and 12h such as 2h or 90m (or seconds, 3600 to 43200); got %s", describe(n))
	return 0
}

var matrixKeys = []string{"repositories", "environments", "branches"}

func (d *decoder) matrix(n *yaml.Node, path string) *MatrixSpec {
	m := &MatrixSpec{}
	for _, f := range d.fields(n, path, matrixKeys, "{repositories: […], environments: […]}") {
		switch f.key {
		case "repositories":
			d.list(f.val, f.fieldPath, "[{name: web, uuid: …}] or [acme/web]", func(n *yaml.Node, p string) {
				m.Repositories = append(m.Repositories, d.namedUUID(n, p, "acme/web or {name: web, uuid: …}"))
			})
		case "environments":
			d.list(f.val, f.fieldPath, "[{name: production, uuid: …}] or [production]", func(n *yaml.Node, p string) {
				m.Environments = append(m.Environments, d.namedUUID(n, p, "production or {name: production, uuid: …}"))
			})
		case "branches":
			m.Branches = d.strs(f.val, f.fieldPath, "[main]")
		}
	}
	return m
}

// namedUUID decodes a plain name or a {name, uuid} mapping.
func (d *decoder) namedUUID(n *yaml.Node, path, example string) NamedUUID {
	n = d.resolve(n)
	if n == nil {
		return NamedUUID{}
	}
	if n.Kind != yaml.MappingNode {
		if n.Kind != yaml.ScalarNode || isNull(n) || n.ShortTag() == "!!bool" {
			d.errorf(n, path, "want %s; got %s", example, describe(n))
			return NamedUUID{}
		}
		d.pos[path+".name"] = Pos{n.Line, n.Column}
		d.pos[path] = Pos{n.Line, n.Column}
		return NamedUUID{Name: n.Value}
	}
	d.pos[path] = Pos{n.Line, n.Column}
	var v NamedUUID
	for _, f := range d.fields(n, path, []string{"name", "uuid"}, example) {
		switch f.key {
		case "name":
			v.Name = d.str(f.val, f.fieldPath, "web")
		case "uuid":
			v.UUID = d.str(f.val, f.fieldPath, `"{13faecea-…}"`)
		}
	}
	return v
}

var trustKeys = []string{"audiences", "subjects", "allow_any_subject", "source_ips", "conditions", "session_tags"}

func (d *decoder) trust(n *yaml.Node, path string) TrustSpec {
	var t TrustSpec
	for _, f := range d.fields(n, path, trustKeys, "{source_ips: [203.0.113.0/24]}") {
		switch f.key {
		case "audiences":
			t.Audiences = d.strs(f.val, f.fieldPath, "[sts.amazonaws.com]")
		case "subjects":
			t.Subjects = d.strs(f.val, f.fieldPath, `["repo:acme/web:*"]`)
		case "allow_any_subject":
			t.AllowAnySubject = d.boolean(f.val, f.fieldPath)
		case "source_ips":
			v := d.resolve(f.val)
			if v != nil && v.Kind == yaml.ScalarNode && !isNull(v) {
				t.SourceIPs = []string{d.str(v, f.fieldPath, RefBitbucketEgress)}
				continue
			}
			t.SourceIPs = d.strs(v, f.fieldPath, "[203.0.113.0/24]")
		case "conditions":
			t.Conditions = d.str(f.val, f.fieldPath, `'{"StringEquals": {"aws:RequestedRegion": "eu-west-1"}}'`)
		case "session_tags":
			t.SessionTags = d.boolean(f.val, f.fieldPath)
		}
	}
	return t
}

func (d *decoder) permission(n *yaml.Node, path string) PermissionSpec {
	var p PermissionSpec
	if r := d.resolve(n); r == nil || r.Kind != yaml.MappingNode {
		d.fields(r, path, nil, "{template: s3-deploy, bucket: my-site} or {file: policies/extra.json}")
		return p
	}
	fs := d.fields(n, path, nil, "{template: s3-deploy, bucket: my-site} or {file: policies/extra.json}")
	for _, f := range fs {
		switch f.key {
		case "template":
			p.Template = d.str(f.val, f.fieldPath, "s3-deploy")
		case "file":
			p.File = d.str(f.val, f.fieldPath, "policies/extra.json")
		case "name":
			p.Name = d.str(f.val, f.fieldPath, "site-deploy")
		}
	}
	if p.Template != "" && p.File != "" {
		d.errorf(n, path, "has both template and file: one entry is one inline policy; split it in two entries")
		return p
	}
	if p.Template == "" && p.File == "" {
		d.errorf(n, path, "names no template and no file: write {template: %s, …} or {file: policies/extra.json}", strings.Join(TemplateNames(), "|"))
		return p
	}
	known := []string{"file", "name"}
	what := "a file entry takes file and name"
	if p.Template != "" {
		t, ok := lookupTemplate(p.Template)
		if !ok {
			d.errorf(n, joinPath(path, "template"), "unknown template %q%s; the templates are %s", p.Template, suggest(p.Template, TemplateNames()), strings.Join(TemplateNames(), ", "))
			d.errs[len(d.errs)-1].Pos = d.pos[joinPath(path, "template")]
			return p
		}
		known = append([]string{"template", "name"}, t.paramNames()...)
		what = fmt.Sprintf("template %s takes %s (and name)", t.Name, strings.Join(t.paramNames(), ", "))
	}
	for _, f := range fs {
		if !contains(known, f.key) {
			d.errorf(f.keyNode, path, "unknown key %q%s; %s", f.key, suggest(f.key, known), what)
			continue
		}
		if f.key == "name" || f.key == "template" || f.key == "file" {
			continue
		}
		if p.Params == nil {
			p.Params = map[string]string{}
		}
		p.Params[f.key] = d.str(f.val, f.fieldPath, `"value"`)
	}
	return p
}

// at returns the recorded position of path, or of its closest recorded parent.
func (s *Spec) at(path string) Pos {
	for path != "" {
		if p, ok := s.pos[path]; ok {
			return p
		}
		i := strings.LastIndexAny(path, ".[")
		if i < 0 {
			break
		}
		path = path[:i]
	}
	return Pos{}
}

// errorAt builds an Error at the position of path.
func (s *Spec) errorAt(path, msg string) *Error {
	return &Error{File: s.File, Pos: s.at(path), Path: path, Message: msg}
}
