package provision

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/keyless-dev/keyless/policy"
)

// AccountPlaceholder stands for the account id in ARNs when the config has no
// account; [State.WithAccount] replaces it. It has the 12 characters of an account
// id, so policy sizes count the same.
const AccountPlaceholder = "<account-id>"

// IPRanges resolves the named address ranges a config may reference in
// trust.source_ips (package ipranges implements it).
type IPRanges interface {
	// BitbucketEgress returns the CIDR blocks Bitbucket Pipelines steps send from.
	BitbucketEgress(ctx context.Context) ([]string, error)
}

// stand-in range used to render, validate and lint trust policies whose address
// references are not resolved yet (TEST-NET-1, RFC 5737).
const standInCIDR = "192.0.2.0/24"

// State is the desired IAM state of a config: every provider and role, in a
// deterministic order, with every policy document rendered, validated with
// policy.Parse and linted.
type State struct {
	// Name is the config's name, the value of every entity's keyless:managed tag.
	Name string `json:"name"`
	// Account is the account id, "" while ARNs carry AccountPlaceholder.
	Account string `json:"account,omitempty"`
	// Partition is the AWS partition.
	Partition string `json:"partition"`
	// Providers are the OpenID Connect providers, ordered by URL.
	Providers []Provider `json:"providers"`
	// Roles are the roles, ordered by name.
	Roles []Role `json:"roles"`
	// Policies are the customer managed policies to create, ordered by ARN; roles
	// attach them through ManagedPolicyARNs.
	Policies []ManagedPolicy `json:"policies,omitempty"`
	// Findings are policy.Lint's findings on every document, by role and policy.
	Findings []Finding `json:"findings,omitempty"`
}

// Provider is an IAM OpenID Connect provider.
type Provider struct {
	// ID is the provider's key in the config.
	ID string `json:"id"`
	// URL is the issuer without https://, as IAM stores it.
	URL string `json:"url"`
	// ARN is arn:PARTITION:iam::ACCOUNT:oidc-provider/URL.
	ARN string `json:"arn"`
	// ClientIDs are the audiences, in config order.
	ClientIDs []string `json:"clientIds"`
	// Thumbprints are lower-case SHA-1 thumbprints, in config order.
	Thumbprints []string `json:"thumbprints,omitempty"`
	// ThumbprintsAuto reports that the thumbprints are to be computed when asked.
	ThumbprintsAuto bool `json:"thumbprintsAuto,omitempty"`
	// Tags are ordered by key and include keyless:managed.
	Tags []Tag `json:"tags"`
}

// Role is an IAM role with its policies.
type Role struct {
	// Name is the role name.
	Name string `json:"name"`
	// Path is the IAM path.
	Path string `json:"path"`
	// ARN is arn:PARTITION:iam::ACCOUNT:role/PATH/NAME.
	ARN string `json:"arn"`
	// Description is the role's description.
	Description string `json:"description,omitempty"`
	// Provider is the URL of the provider the role trusts.
	Provider string `json:"provider"`
	// TrustPolicy is the trust policy; empty while SourceIPRefs are unresolved.
	TrustPolicy Document `json:"trustPolicy"`
	// SourceIPRefs are address references ([RefBitbucketEgress]) that
	// [State.Resolve] has yet to turn into CIDR blocks of the trust policy.
	SourceIPRefs []string `json:"sourceIpRefs,omitempty"`
	// InlinePolicies are ordered by name.
	InlinePolicies []InlinePolicy `json:"inlinePolicies,omitempty"`
	// ManagedPolicyARNs are ordered.
	ManagedPolicyARNs []string `json:"managedPolicyArns,omitempty"`
	// PermissionsBoundary is a managed policy ARN, or "".
	PermissionsBoundary string `json:"permissionsBoundary,omitempty"`
	// MaxSessionDuration is in seconds, 3600 to 43200.
	MaxSessionDuration int32 `json:"maxSessionDuration"`
	// Tags are ordered by key and include keyless:managed.
	Tags []Tag `json:"tags"`

	trust *trustInput // what renders TrustPolicy, kept for Resolve
}

// ManagedPolicy is a customer managed policy.
type ManagedPolicy struct {
	// Name is the policy name.
	Name string `json:"name"`
	// Path is the IAM path.
	Path string `json:"path"`
	// ARN is arn:PARTITION:iam::ACCOUNT:policy/PATH/NAME.
	ARN string `json:"arn"`
	// Description is the policy's description.
	Description string `json:"description,omitempty"`
	// Document is the policy document.
	Document Document `json:"document"`
	// Tags are ordered by key and include keyless:managed.
	Tags []Tag `json:"tags"`
	// Versions are the policy's versions as IAM holds them, oldest first; only
	// [ReadActual] fills them (a desired policy has one document, no versions).
	Versions []PolicyVersion `json:"versions,omitempty"`
}

// PolicyVersion is one version of a customer managed policy in IAM.
type PolicyVersion struct {
	// ID is IAM's version id, such as v3.
	ID string `json:"id"`
	// Default reports that the version is the policy's default, the one in force.
	Default bool `json:"default,omitempty"`
}

// InlinePolicy is a named inline policy of a role.
type InlinePolicy struct {
	// Name is the policy name.
	Name string `json:"name"`
	// Document is the policy document.
	Document Document `json:"document"`
}

// Tag is an IAM tag.
type Tag struct {
	// Key is the tag key.
	Key string `json:"key"`
	// Value is the tag value.
	Value string `json:"value"`
}

// Finding is a lint finding on one of a role's documents.
type Finding struct {
	// Role is the role's name.
	Role string `json:"role"`
	// Policy is "trust" or the inline policy's name.
	Policy string `json:"policy"`
	policy.Finding
}

// Document is a compact JSON policy document. It marshals as the JSON object
// itself (null when empty), so a State's JSON shows documents as objects.
type Document string

// MarshalJSON returns the document itself, or null when it is empty.
func (d Document) MarshalJSON() ([]byte, error) {
	if d == "" {
		return []byte("null"), nil
	}
	if !json.Valid([]byte(d)) {
		return nil, fmt.Errorf("policy document is not JSON")
	}
	return []byte(d), nil
}

// UnmarshalJSON accepts a JSON object (compacted) or null.
func (d *Document) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*d = ""
		return nil
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, b); err != nil {
		return fmt.Errorf("policy document: %w", err)
	}
	*d = Document(buf.String())
	return nil
}

// conditions is a policy Condition element: operator → key → value(s).
type conditions map[string]map[string]any

type statement struct {
	Sid       string     `json:"Sid,omitempty"`
	Effect    string     `json:"Effect"`
	Principal any        `json:"Principal,omitempty"`
	Action    any        `json:"Action"`
	Resource  any        `json:"Resource,omitempty"`
	Condition conditions `json:"Condition,omitempty"`
}

type document struct {
	Version   string      `json:"Version"`
	Statement []statement `json:"Statement"`
}

// oneOrMany renders a single value as a string and several as a list.
func oneOrMany(v []string) any {
	if len(v) == 1 {
		return v[0]
	}
	return v
}

// render marshals a document compactly without HTML escaping.
func render(d document) (string, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(d); err != nil {
		return "", fmt.Errorf("render policy: %w", err)
	}
	return strings.TrimSuffix(b.String(), "\n"), nil
}

// trustInput is everything a trust policy is rendered from.
type trustInput struct {
	providerARN string
	providerURL string
	audiences   []string
	subjects    []string
	sourceIPs   []string
	extra       conditions
	sessionTags bool
	path        string // roles[i], for errors
	extraPath   string
}

// renderTrust renders the trust policy with the given CIDRs added to the literal ones.
func (t *trustInput) render(more []string) (string, error) {
	cond := conditions{}
	cond["StringEquals"] = map[string]any{t.providerURL + ":aud": oneOrMany(t.audiences)}
	if len(t.subjects) > 0 {
		op := "StringEquals"
		for _, s := range t.subjects {
			if strings.ContainsAny(s, "*?") {
				op = "StringLike"
			}
		}
		if cond[op] == nil {
			cond[op] = map[string]any{}
		}
		cond[op][t.providerURL+":sub"] = oneOrMany(t.subjects)
	}
	ips := append(append([]string(nil), t.sourceIPs...), more...)
	if len(ips) > 0 {
		cond["IpAddress"] = map[string]any{"aws:SourceIp": oneOrMany(ips)}
	}
	for op, keys := range t.extra {
		for k, v := range keys {
			if _, clash := cond[op][k]; clash {
				return "", fmt.Errorf("%s on %s is also a condition keyless writes from the config: remove it from conditions", op, k)
			}
			if cond[op] == nil {
				cond[op] = map[string]any{}
			}
			cond[op][k] = v
		}
	}
	action := any("sts:AssumeRoleWithWebIdentity")
	if t.sessionTags {
		action = []string{"sts:AssumeRoleWithWebIdentity", "sts:TagSession"}
	}
	return render(document{Version: policy.Version2012, Statement: []statement{{
		Sid: "WebIdentity", Effect: "Allow",
		Principal: map[string]any{"Federated": t.providerARN},
		Action:    action,
		Condition: cond,
	}}})
}

// Desired validates spec and returns the desired IAM state: one provider per
// configured issuer and one role per matrix combination, ordered by URL and name,
// each tagged keyless:managed with the config's name, every document checked with
// policy.Parse (trust or identity) and linted; findings come back in the State, not
// as errors. A trust policy may have up to [MaxTrustPolicyChars] characters, the
// most the quota can be raised to; [CheckQuotas] holds it to the account's quota
// when the plan is applied. Without an account, ARNs carry [AccountPlaceholder]. Roles whose
// source_ips reference named ranges have an empty TrustPolicy until [State.Resolve].
// Policy files must have been read ([Load] or [Spec.ReadPolicyFiles]).
func Desired(spec *Spec) (*State, error) {
	c, err := spec.compile()
	if err != nil {
		return nil, err
	}
	account := c.account
	if account == "" {
		account = AccountPlaceholder
	}
	st := &State{Name: c.name, Account: c.account, Partition: c.partition}
	for _, p := range c.providers {
		st.Providers = append(st.Providers, Provider{
			ID:              p.spec.ID,
			URL:             p.url,
			ARN:             fmt.Sprintf("arn:%s:iam::%s:oidc-provider/%s", c.partition, account, p.url),
			ClientIDs:       p.audiences,
			Thumbprints:     p.thumbprints,
			ThumbprintsAuto: p.spec.ThumbprintsAuto,
			Tags:            mergeTags(c.name, spec.Tags, p.tags),
		})
	}
	var errs Errors
	for _, ri := range c.roles {
		r, fs, rerrs := buildRole(spec, c, ri, account)
		errs = append(errs, rerrs...)
		if len(rerrs) == 0 {
			st.Roles = append(st.Roles, r)
			st.Findings = append(st.Findings, fs...)
		}
	}
	if err := errs.asError(); err != nil {
		return nil, err
	}
	sortFindings(st.Findings)
	return st, nil
}

// withAccount replaces AccountPlaceholder (which policy files and extra
// conditions may use too) once the account is known.
func withAccount(doc, account string) string {
	if account == "" {
		return doc
	}
	return strings.ReplaceAll(doc, AccountPlaceholder, account)
}

// sortFindings orders findings by role, the trust policy before inline policies,
// then policy name and statement.
func sortFindings(fs []Finding) {
	sort.SliceStable(fs, func(i, j int) bool {
		a, b := fs[i], fs[j]
		if a.Role != b.Role {
			return a.Role < b.Role
		}
		if (a.Policy == "trust") != (b.Policy == "trust") {
			return a.Policy == "trust"
		}
		if a.Policy != b.Policy {
			return a.Policy < b.Policy
		}
		return a.Statement < b.Statement
	})
}

func mergeTags(name string, layers ...map[string]string) []Tag {
	m := map[string]string{}
	for _, l := range layers {
		for k, v := range l {
			m[k] = v
		}
	}
	m[ManagedTagKey] = name
	out := make([]Tag, 0, len(m))
	for k, v := range m {
		out = append(out, Tag{k, v})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out
}

func buildRole(spec *Spec, c *compiled, ri *roleInstance, account string) (Role, []Finding, Errors) {
	var errs Errors
	fail := func(path, format string, args ...any) {
		errs = append(errs, spec.errorAt(path, fmt.Sprintf(format, args...)))
	}
	r := Role{
		Name: ri.name, Path: ri.iamPath, Description: ri.description,
		ARN:                 fmt.Sprintf("arn:%s:iam::%s:role%s%s", c.partition, account, ri.iamPath, ri.name),
		Provider:            ri.provider.url,
		SourceIPRefs:        ri.ipRefs,
		ManagedPolicyARNs:   append([]string(nil), ri.managed...),
		PermissionsBoundary: ri.boundary,
		MaxSessionDuration:  ri.maxSession,
		Tags:                mergeTags(c.name, spec.Tags, ri.tags),
	}
	r.trust = &trustInput{
		providerARN: fmt.Sprintf("arn:%s:iam::%s:oidc-provider/%s", c.partition, account, ri.provider.url),
		providerURL: ri.provider.url,
		audiences:   ri.audiences, subjects: ri.subjects, sourceIPs: ri.sourceIPs,
		extra: ri.extra, sessionTags: ri.sessionTags,
		path: ri.path, extraPath: ri.path + ".trust.conditions",
	}
	var more []string
	if len(ri.ipRefs) > 0 {
		more = []string{standInCIDR}
	}
	var findings []Finding
	trust, fs, err := r.trust.check(more, ri.name)
	if err != nil {
		var te *trustError
		if errors.As(err, &te) {
			fail(te.path, "%s", te.msg)
		} else {
			fail(ri.path, "role %s: %v", ri.name, err)
		}
		return r, nil, errs
	}
	findings = append(findings, fs...)
	if len(ri.ipRefs) == 0 {
		r.TrustPolicy = Document(withAccount(trust, c.account))
	}
	total := 0
	for _, in := range ri.inline {
		var doc string
		if in.grant != nil {
			var rerr error
			doc, rerr = render(document{Version: policy.Version2012, Statement: in.grant.statements})
			if rerr != nil {
				fail(in.path, "%v", rerr)
				continue
			}
			for _, m := range in.grant.managed {
				arn := fmt.Sprintf("arn:%s:iam::aws:policy/%s", c.partition, m)
				if !contains(r.ManagedPolicyARNs, arn) {
					r.ManagedPolicyARNs = append(r.ManagedPolicyARNs, arn)
				}
			}
		} else {
			if in.doc == nil {
				fail(in.path+".file", "the policy file was not read: load the config with provision.Load, or call ReadPolicyFiles")
				continue
			}
			doc = withAccount(string(trimJSON(in.doc)), c.account)
		}
		p, perr := policy.Parse([]byte(doc), policy.KindIdentity, policy.WithMaxSize(0))
		if perr != nil {
			where := in.path
			if in.grant == nil {
				where += ".file"
			}
			fail(where, "inline policy %s of role %s: %v", in.name, ri.name, perr)
			continue
		}
		total += policy.Size([]byte(doc), policy.KindIdentity)
		for _, f := range policy.Lint(p) {
			findings = append(findings, Finding{Role: ri.name, Policy: in.name, Finding: f})
		}
		r.InlinePolicies = append(r.InlinePolicies, InlinePolicy{Name: in.name, Document: Document(doc)})
	}
	if total > policy.MaxInlineRolePolicy {
		fail(ri.path+".permissions", "the inline policies of role %s have %d characters together; IAM allows %d per role: move some into a managed policy (managed_policies:)", ri.name, total, policy.MaxInlineRolePolicy)
	}
	sort.Strings(r.ManagedPolicyARNs)
	if n := len(r.ManagedPolicyARNs); n > 20 {
		fail(ri.path+".managed_policies", "role %s has %d managed policies; IAM allows 10 by default and at most 20", ri.name, n)
	}
	sort.Slice(r.InlinePolicies, func(i, j int) bool { return r.InlinePolicies[i].Name < r.InlinePolicies[j].Name })
	return r, findings, errs
}

// trustError is a trust policy problem and the config path it comes from.
type trustError struct{ path, msg string }

func (e *trustError) Error() string { return e.msg }

// check renders the trust policy, validates it as a trust policy and lints it.
func (t *trustInput) check(more []string, role string) (string, []Finding, error) {
	doc, err := t.render(more)
	if err != nil {
		return "", nil, &trustError{t.extraPath, err.Error()}
	}
	// The account's quota (2048 characters by default, raisable to 4096) is an
	// input of apply (CheckQuotas), so only what no quota allows is refused here.
	p, err := policy.Parse([]byte(doc), policy.KindTrust, policy.WithMaxSize(MaxTrustPolicyChars))
	if err != nil {
		var pe *policy.Error
		path := t.path + ".trust"
		if t.extra != nil {
			path = t.extraPath
		}
		if errors.As(err, &pe) && pe.Code == policy.CodeLimitExceeded {
			return "", nil, &trustError{t.path + ".trust", fmt.Sprintf("the trust policy of role %s is too large (%v): IAM allows %d characters even once the quota is raised; list fewer source_ips or subjects", role, err, MaxTrustPolicyChars)}
		}
		return "", nil, &trustError{path, fmt.Sprintf("the trust policy of role %s is invalid: %v", role, err)}
	}
	var out []Finding
	for _, f := range policy.Lint(p) {
		out = append(out, Finding{Role: role, Policy: "trust", Finding: f})
	}
	return doc, out, nil
}

// Pending reports whether some role's trust policy waits for [State.Resolve].
func (s *State) Pending() bool {
	for _, r := range s.Roles {
		if len(r.SourceIPRefs) > 0 {
			return true
		}
	}
	return false
}

// Resolve returns a copy of the state with every source_ips reference turned into
// CIDR blocks through r and the affected trust policies rendered and validated.
// The trust findings of those roles are made again. It works on a State returned
// by [Desired] or [State.WithAccount] (not one decoded from JSON).
func (s *State) Resolve(ctx context.Context, r IPRanges) (*State, error) {
	out := *s
	out.Roles = append([]Role(nil), s.Roles...)
	resolved := map[string][]Finding{}
	var egress []string
	for i := range out.Roles {
		role := &out.Roles[i]
		if len(role.SourceIPRefs) == 0 {
			continue
		}
		if role.trust == nil {
			return nil, fmt.Errorf("role %s: resolve a State returned by Desired, not a decoded one", role.Name)
		}
		for _, ref := range role.SourceIPRefs {
			if ref != RefBitbucketEgress {
				return nil, fmt.Errorf("role %s: unknown address reference %q", role.Name, ref)
			}
		}
		if egress == nil {
			if r == nil {
				return nil, fmt.Errorf("role %s: source_ips %s needs the IP ranges resolver", role.Name, RefBitbucketEgress)
			}
			got, err := r.BitbucketEgress(ctx)
			if err != nil {
				return nil, fmt.Errorf("resolve %s: %w", RefBitbucketEgress, err)
			}
			if len(got) == 0 {
				return nil, fmt.Errorf("resolve %s: no ranges", RefBitbucketEgress)
			}
			egress = got
		}
		var more []string
		for _, cidr := range egress {
			if !contains(role.trust.sourceIPs, cidr) && !contains(more, cidr) {
				more = append(more, cidr)
			}
		}
		doc, fs, err := role.trust.check(more, role.Name)
		if err != nil {
			return nil, fmt.Errorf("role %s: %w", role.Name, err)
		}
		role.TrustPolicy = Document(withAccount(doc, s.Account))
		role.SourceIPRefs = nil
		resolved[role.Name] = fs
	}
	if len(resolved) > 0 {
		// The trust findings of resolved roles were made with a stand-in range:
		// replace them with those of the real one.
		out.Findings = nil
		for _, f := range s.Findings {
			if _, ok := resolved[f.Role]; !ok || f.Policy != "trust" {
				out.Findings = append(out.Findings, f)
			}
		}
		for _, fs := range resolved {
			out.Findings = append(out.Findings, fs...)
		}
		sortFindings(out.Findings)
	}
	return &out, nil
}

// WithAccount returns a copy of the state with [AccountPlaceholder] replaced by
// account in every ARN and document: those of providers, roles (with their
// managed policy ARNs and permissions boundary) and customer managed policies. A
// state that has an account is returned as is when account matches it.
func (s *State) WithAccount(account string) (*State, error) {
	if !accountID.MatchString(account) {
		return nil, fmt.Errorf("%q is not an AWS account id: want 12 digits", account)
	}
	if s.Account != "" {
		if s.Account != account {
			return nil, fmt.Errorf("the config is for account %s, not %s", s.Account, account)
		}
		return s, nil
	}
	rep := func(v string) string { return strings.ReplaceAll(v, AccountPlaceholder, account) }
	out := *s
	out.Account = account
	out.Providers = append([]Provider(nil), s.Providers...)
	for i := range out.Providers {
		out.Providers[i].ARN = rep(out.Providers[i].ARN)
	}
	out.Roles = append([]Role(nil), s.Roles...)
	for i := range out.Roles {
		r := &out.Roles[i]
		r.ARN = rep(r.ARN)
		r.TrustPolicy = Document(rep(string(r.TrustPolicy)))
		r.PermissionsBoundary = rep(r.PermissionsBoundary)
		r.ManagedPolicyARNs = append([]string(nil), r.ManagedPolicyARNs...)
		for j := range r.ManagedPolicyARNs {
			r.ManagedPolicyARNs[j] = rep(r.ManagedPolicyARNs[j])
		}
		r.InlinePolicies = append([]InlinePolicy(nil), r.InlinePolicies...)
		for j := range r.InlinePolicies {
			r.InlinePolicies[j].Document = Document(rep(string(r.InlinePolicies[j].Document)))
		}
		if r.trust != nil {
			t := *r.trust
			t.providerARN = rep(t.providerARN)
			r.trust = &t
		}
	}
	if s.Policies != nil {
		out.Policies = append([]ManagedPolicy(nil), s.Policies...)
		for i := range out.Policies {
			mp := &out.Policies[i]
			mp.ARN = rep(mp.ARN)
			mp.Document = Document(rep(string(mp.Document)))
		}
	}
	return &out, nil
}

// ThumbprintFunc returns the thumbprints of an issuer, given as https://URL; package
// thumbprint computes them (see [State.ResolveThumbprints]).
type ThumbprintFunc func(ctx context.Context, issuer string) ([]string, error)

// AutoThumbprints reports whether some provider waits for [State.ResolveThumbprints].
func (s *State) AutoThumbprints() bool {
	for _, p := range s.Providers {
		if p.ThumbprintsAuto {
			return true
		}
	}
	return false
}

// ResolveThumbprints returns a copy of the state in which every provider marked
// ThumbprintsAuto ("thumbprints: auto") has the thumbprints get computes for
// https://URL, lower-case, so that a plan sets and compares them like listed ones.
// It fails, naming the provider, when get fails or finds none, or finds more than
// IAM's 5.
func (s *State) ResolveThumbprints(ctx context.Context, get ThumbprintFunc) (*State, error) {
	out := *s
	out.Providers = append([]Provider(nil), s.Providers...)
	for i := range out.Providers {
		p := &out.Providers[i]
		if !p.ThumbprintsAuto {
			continue
		}
		if get == nil {
			return nil, fmt.Errorf("provider %s: thumbprints: auto needs a thumbprint source", p.URL)
		}
		got, err := get(ctx, "https://"+p.URL)
		if err != nil {
			return nil, fmt.Errorf("provider %s: compute its thumbprints (thumbprints: auto): %w", p.URL, err)
		}
		if len(got) == 0 {
			return nil, fmt.Errorf("provider %s: no thumbprint found (thumbprints: auto): list them in the config", p.URL)
		}
		var tps []string
		for _, t := range got {
			t = strings.ToLower(t)
			if !contains(tps, t) {
				tps = append(tps, t)
			}
		}
		if len(tps) > MaxThumbprintsPerProvider {
			return nil, fmt.Errorf("provider %s: %d thumbprints found; IAM allows %d per provider: list the ones to pin in the config", p.URL, len(tps), MaxThumbprintsPerProvider)
		}
		p.Thumbprints = tps
		p.ThumbprintsAuto = false
	}
	return &out, nil
}

// JSON renders the state as indented JSON, documents as objects and without
// HTML escaping (so AccountPlaceholder reads as written).
func (s *State) JSON() ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(s); err != nil {
		return nil, fmt.Errorf("encode state: %w", err)
	}
	return b.Bytes(), nil
}
