package provision

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/iam/types"

	"github.com/keyless-dev/keyless/policy"
)

// Action is what a change does to an entity.
type Action string

// The actions of a change.
const (
	ActionCreate Action = "create"
	ActionUpdate Action = "update"
	ActionDelete Action = "delete"
)

// Kind is the kind of IAM entity a change is about.
type Kind string

// The kinds of entity a plan changes.
const (
	KindProvider Kind = "provider"
	KindRole     Kind = "role"
	KindPolicy   Kind = "policy" // a customer managed policy
)

// Plan is what it takes to make IAM match a desired state: the changes, in the
// order [Apply] carries them out (providers created or updated, then customer
// managed policies created or updated, then roles created or updated, then roles
// deleted, then policies deleted, then providers deleted), and the linter's
// findings on the desired documents. Build one with [NewPlan].
type Plan struct {
	// Name is the config's name, the value of keyless:managed.
	Name string `json:"name"`
	// Account and Partition are those of the desired state.
	Account   string `json:"account"`
	Partition string `json:"partition"`
	// Changes are the entity changes, in dependency order.
	Changes []Change `json:"changes"`
	// Findings are policy.Lint's findings on every desired document.
	Findings []Finding `json:"findings,omitempty"`
}

// Change is a change to one provider, role or customer managed policy and the IAM
// calls that make it.
type Change struct {
	// Action is create, update or delete.
	Action Action `json:"action"`
	// Kind is provider, role or policy.
	Kind Kind `json:"kind"`
	// Name is the provider's URL (without https://), the role's or the policy's name.
	Name string `json:"name"`
	// ARN is the entity's ARN.
	ARN string `json:"arn"`
	// Fields are the changed attributes other than policy documents.
	Fields []FieldChange `json:"fields,omitempty"`
	// Documents are the changed trust and inline policy documents of a role, or the
	// document of a managed policy.
	Documents []DocumentChange `json:"documents,omitempty"`
	// Steps are the IAM calls, in order.
	Steps []Step `json:"steps"`

	role     *Role          // desired role of a create or update
	provider *Provider      // desired provider of a create or update
	policy   *ManagedPolicy // desired managed policy of a create or update
}

// FieldChange is a changed attribute: a scalar with Old and New, or a set with
// the members Added and Removed.
type FieldChange struct {
	// Field names the attribute: "client IDs", "thumbprints", "tags", "description",
	// "max session duration", "permissions boundary", "managed policies", "path".
	Field string `json:"field"`
	// Old and New are a scalar's values.
	Old string `json:"old,omitempty"`
	New string `json:"new,omitempty"`
	// Added and Removed are a set's members (tags as KEY=VALUE).
	Added   []string `json:"added,omitempty"`
	Removed []string `json:"removed,omitempty"`
}

// DocumentChange is a created, updated or deleted policy document.
type DocumentChange struct {
	// Policy is "trust", the inline policy's name, or the managed policy's name.
	Policy string `json:"policy"`
	// Action is create, update or delete.
	Action Action `json:"action"`
	// Before and After are the documents in canonical form (keys sorted, lists
	// sorted, one-element lists as their element); empty on create and delete.
	Before Document `json:"before"`
	After  Document `json:"after"`
	// Diff is the line diff of the pretty-printed canonical documents: each line
	// starts with "+ ", "- " or "  ".
	Diff []string `json:"diff"`
}

// Step is one IAM call of a plan.
type Step struct {
	// Op is the IAM action, such as CreateRole or UpdateAssumeRolePolicy.
	Op string `json:"op"`
	// Target is the role's or policy's name, or the provider's URL.
	Target string `json:"target"`
	// Detail names what the call changes in the target: a policy name or ARN, a
	// client ID, tag keys, a policy version.
	Detail string `json:"detail,omitempty"`

	input any // the SDK input, such as *iam.CreateRoleInput
}

// String renders the step as "Op target (detail)".
func (s Step) String() string {
	if s.Detail == "" {
		return s.Op + " " + s.Target
	}
	return s.Op + " " + s.Target + " (" + s.Detail + ")"
}

// ConflictError lists entities a plan refuses to touch: same-named ones that this
// config did not create, and changes IAM cannot make in place.
type ConflictError struct {
	// Problems are one sentence each, naming the entity and what to do.
	Problems []string
}

func (e *ConflictError) Error() string {
	return "the plan cannot be made:\n  " + strings.Join(e.Problems, "\n  ")
}

// Empty reports whether the plan changes nothing.
func (p *Plan) Empty() bool { return len(p.Changes) == 0 }

// Summary counts the changes by action.
func (p *Plan) Summary() (create, update, del int) {
	for _, c := range p.Changes {
		switch c.Action {
		case ActionCreate:
			create++
		case ActionUpdate:
			update++
		case ActionDelete:
			del++
		}
	}
	return create, update, del
}

// Steps returns every step of the plan, in order.
func (p *Plan) Steps() []Step {
	var out []Step
	for _, c := range p.Changes {
		out = append(out, c.Steps...)
	}
	return out
}

// NewPlan compares desired with actual (as [ReadActual] returns it) and returns the
// changes that make IAM match desired. It is pure. Documents are compared in
// canonical form, so a document IAM returns reordered or with one-element lists
// for strings is no change. Entities that carry keyless:managed = desired.Name and
// that desired no longer has are deleted; a desired entity that exists without that
// tag, or with a role or policy path (or policy description) other than the
// desired one, is a *ConflictError naming it. Thumbprints are compared only when
// desired lists some (IAM computes its own otherwise; see
// [State.ResolveThumbprints]). desired must have its account and resolved trust
// policies.
//
// A customer managed policy whose document changed gets a new default version
// (CreatePolicyVersion); when it has IAM's 5 versions already, its oldest
// non-default version is deleted first. A policy is created before the roles that
// attach it and deleted (its non-default versions first) after the roles that
// detach it.
func NewPlan(desired, actual *State) (*Plan, error) {
	if desired.Account == "" {
		return nil, errors.New("plan: the desired state has no account: call State.WithAccount with the account of the credentials")
	}
	if desired.Pending() {
		return nil, errors.New("plan: some trust policies wait for their source_ips references: call State.Resolve first")
	}
	p := &Plan{Name: desired.Name, Account: desired.Account, Partition: desired.Partition, Findings: desired.Findings}
	var conflicts []string
	owned := func(tags []Tag) bool { return tagValue(tags, ManagedTagKey) == desired.Name }
	notOwned := func(kind, name string, tags []Tag) string {
		owner := tagValue(tags, ManagedTagKey)
		how := fmt.Sprintf("has no %s tag", ManagedTagKey)
		if owner != "" {
			how = fmt.Sprintf("is managed by config %q (%s=%s)", owner, ManagedTagKey, owner)
		}
		return fmt.Sprintf("%s %s already exists in IAM and %s: keyless does not adopt it silently; rename the %s in the config, delete it, or tag it %s=%s to let this config manage it", kind, name, how, kind, ManagedTagKey, desired.Name)
	}

	actualProviders := map[string]*Provider{}
	for i := range actual.Providers {
		actualProviders[actual.Providers[i].URL] = &actual.Providers[i]
	}
	desiredProviders := map[string]bool{}
	var providerChanges, providerDeletes []Change
	for i := range desired.Providers {
		d := &desired.Providers[i]
		desiredProviders[d.URL] = true
		a := actualProviders[d.URL]
		switch {
		case a == nil:
			providerChanges = append(providerChanges, createProvider(d))
		case !owned(a.Tags):
			conflicts = append(conflicts, notOwned("provider", d.URL, a.Tags))
		default:
			if c, ok := updateProvider(d, a); ok {
				providerChanges = append(providerChanges, c)
			}
		}
	}
	for i := range actual.Providers {
		a := &actual.Providers[i]
		if !desiredProviders[a.URL] && owned(a.Tags) {
			providerDeletes = append(providerDeletes, Change{
				Action: ActionDelete, Kind: KindProvider, Name: a.URL, ARN: a.ARN,
				Steps: []Step{{Op: "DeleteOpenIDConnectProvider", Target: a.URL, input: &iam.DeleteOpenIDConnectProviderInput{OpenIDConnectProviderArn: aws.String(a.ARN)}}},
			})
		}
	}

	actualRoles := map[string]*Role{}
	for i := range actual.Roles {
		actualRoles[actual.Roles[i].Name] = &actual.Roles[i]
	}
	desiredRoles := map[string]bool{}
	var roleChanges, roleDeletes []Change
	for i := range desired.Roles {
		d := &desired.Roles[i]
		desiredRoles[d.Name] = true
		a := actualRoles[d.Name]
		switch {
		case a == nil:
			c, err := createRole(d)
			if err != nil {
				return nil, err
			}
			roleChanges = append(roleChanges, c)
		case !owned(a.Tags):
			conflicts = append(conflicts, notOwned("role", d.Name, a.Tags))
		case a.Path != d.Path:
			conflicts = append(conflicts, fmt.Sprintf("role %s has path %s in IAM and %s in the config: IAM cannot move a role; set path: %s back in the config, or delete the role so that apply creates it again", d.Name, a.Path, d.Path, a.Path))
		default:
			c, ok, err := updateRole(d, a)
			if err != nil {
				return nil, err
			}
			if ok {
				roleChanges = append(roleChanges, c)
			}
		}
	}
	for i := range actual.Roles {
		a := &actual.Roles[i]
		if !desiredRoles[a.Name] && owned(a.Tags) {
			roleDeletes = append(roleDeletes, deleteRole(a))
		}
	}
	actualPolicies := map[string]*ManagedPolicy{}
	for i := range actual.Policies {
		actualPolicies[actual.Policies[i].Name] = &actual.Policies[i]
	}
	desiredPolicies := map[string]bool{}
	var policyChanges, policyDeletes []Change
	for i := range desired.Policies {
		d := &desired.Policies[i]
		desiredPolicies[d.Name] = true
		a := actualPolicies[d.Name]
		switch {
		case a == nil:
			c, err := createPolicy(d)
			if err != nil {
				return nil, err
			}
			policyChanges = append(policyChanges, c)
		case !owned(a.Tags):
			conflicts = append(conflicts, notOwned("policy", d.Name, a.Tags))
		case a.Path != d.Path:
			conflicts = append(conflicts, fmt.Sprintf("policy %s has path %s in IAM and %s in the config: IAM cannot move a policy; set its path back to %s, or delete the policy so that apply creates it again", d.Name, a.Path, d.Path, a.Path))
		case a.Description != d.Description:
			conflicts = append(conflicts, fmt.Sprintf("policy %s has description %q in IAM and %q in the config: IAM cannot change a managed policy's description; set it back, or delete the policy so that apply creates it again", d.Name, a.Description, d.Description))
		default:
			c, ok, err := updatePolicy(d, a)
			if err != nil {
				return nil, err
			}
			if ok {
				policyChanges = append(policyChanges, c)
			}
		}
	}
	for i := range actual.Policies {
		a := &actual.Policies[i]
		if !desiredPolicies[a.Name] && owned(a.Tags) {
			policyDeletes = append(policyDeletes, deletePolicy(a))
		}
	}
	if len(conflicts) > 0 {
		return nil, &ConflictError{Problems: conflicts}
	}
	p.Changes = append(p.Changes, providerChanges...)
	p.Changes = append(p.Changes, policyChanges...)
	p.Changes = append(p.Changes, roleChanges...)
	p.Changes = append(p.Changes, roleDeletes...)
	p.Changes = append(p.Changes, policyDeletes...)
	p.Changes = append(p.Changes, providerDeletes...)
	return p, nil
}

// createPolicy creates a customer managed policy (its version v1).
func createPolicy(d *ManagedPolicy) (Change, error) {
	in := &iam.CreatePolicyInput{
		PolicyName:     aws.String(d.Name),
		Path:           aws.String(d.Path),
		PolicyDocument: aws.String(string(d.Document)),
		Tags:           iamTags(d.Tags),
	}
	if d.Description != "" {
		in.Description = aws.String(d.Description)
	}
	c := Change{Action: ActionCreate, Kind: KindPolicy, Name: d.Name, ARN: d.ARN, policy: d,
		Steps: []Step{{Op: "CreatePolicy", Target: d.Name, input: in}}}
	c.Fields = append(c.Fields, FieldChange{Field: "path", New: d.Path})
	if d.Description != "" {
		c.Fields = append(c.Fields, FieldChange{Field: "description", New: d.Description})
	}
	c.Fields = append(c.Fields, FieldChange{Field: "tags", Added: tagStrings(d.Tags)})
	dc, err := documentChange(d.Name, "", d.Document)
	if err != nil {
		return Change{}, fmt.Errorf("policy %s: %w", d.Name, err)
	}
	c.Documents = append(c.Documents, dc)
	return c, nil
}

// updatePolicy gives a managed policy a new default version when its document
// changed, deleting the oldest non-default version first when IAM's 5 exist, and
// sets and removes tags.
func updatePolicy(d, a *ManagedPolicy) (Change, bool, error) {
	c := Change{Action: ActionUpdate, Kind: KindPolicy, Name: d.Name, ARN: a.ARN, policy: d}
	arnp := aws.String(a.ARN)
	same, err := SameDocument(d.Document, a.Document)
	if err != nil {
		return Change{}, false, fmt.Errorf("policy %s: %w", d.Name, err)
	}
	if !same {
		dc, err := documentChange(d.Name, a.Document, d.Document)
		if err != nil {
			return Change{}, false, fmt.Errorf("policy %s: %w", d.Name, err)
		}
		c.Documents = append(c.Documents, dc)
		if len(a.Versions) >= MaxPolicyVersions {
			for _, v := range a.Versions {
				if !v.Default {
					c.Steps = append(c.Steps, Step{Op: "DeletePolicyVersion", Target: d.Name, Detail: v.ID + ", the oldest of " + strconv.Itoa(len(a.Versions)),
						input: &iam.DeletePolicyVersionInput{PolicyArn: arnp, VersionId: aws.String(v.ID)}})
					break
				}
			}
		}
		c.Steps = append(c.Steps, Step{Op: "CreatePolicyVersion", Target: d.Name, Detail: "as the default",
			input: &iam.CreatePolicyVersionInput{PolicyArn: arnp, PolicyDocument: aws.String(string(d.Document)), SetAsDefault: true}})
	}
	set, unset, field := diffTags(d.Tags, a.Tags)
	if len(set)+len(unset) > 0 {
		c.Fields = append(c.Fields, field)
	}
	if len(set) > 0 {
		c.Steps = append(c.Steps, Step{Op: "TagPolicy", Target: d.Name, Detail: keys(set),
			input: &iam.TagPolicyInput{PolicyArn: arnp, Tags: iamTags(set)}})
	}
	if len(unset) > 0 {
		c.Steps = append(c.Steps, Step{Op: "UntagPolicy", Target: d.Name, Detail: strings.Join(unset, ", "),
			input: &iam.UntagPolicyInput{PolicyArn: arnp, TagKeys: unset}})
	}
	return c, len(c.Steps) > 0, nil
}

// deletePolicy deletes a managed policy's non-default versions, as IAM requires,
// then the policy.
func deletePolicy(a *ManagedPolicy) Change {
	c := Change{Action: ActionDelete, Kind: KindPolicy, Name: a.Name, ARN: a.ARN}
	arnp := aws.String(a.ARN)
	for _, v := range a.Versions {
		if !v.Default {
			c.Steps = append(c.Steps, Step{Op: "DeletePolicyVersion", Target: a.Name, Detail: v.ID,
				input: &iam.DeletePolicyVersionInput{PolicyArn: arnp, VersionId: aws.String(v.ID)}})
		}
	}
	c.Steps = append(c.Steps, Step{Op: "DeletePolicy", Target: a.Name, input: &iam.DeletePolicyInput{PolicyArn: arnp}})
	return c
}

func iamTags(tags []Tag) []types.Tag {
	out := make([]types.Tag, len(tags))
	for i, t := range tags {
		out[i] = types.Tag{Key: aws.String(t.Key), Value: aws.String(t.Value)}
	}
	return out
}

func tagStrings(tags []Tag) []string {
	out := make([]string, len(tags))
	for i, t := range tags {
		out[i] = t.Key + "=" + t.Value
	}
	return out
}

// diffTags returns the tags to set (added or changed) and the keys to remove.
func diffTags(want, have []Tag) (set []Tag, unset []string, field FieldChange) {
	h := map[string]string{}
	for _, t := range have {
		h[t.Key] = t.Value
	}
	w := map[string]bool{}
	field.Field = "tags"
	for _, t := range want {
		w[t.Key] = true
		if v, ok := h[t.Key]; !ok || v != t.Value {
			set = append(set, t)
			field.Added = append(field.Added, t.Key+"="+t.Value)
			if ok {
				field.Removed = append(field.Removed, t.Key+"="+v)
			}
		}
	}
	for _, t := range have {
		if !w[t.Key] {
			unset = append(unset, t.Key)
			field.Removed = append(field.Removed, t.Key+"="+t.Value)
		}
	}
	return set, unset, field
}

// diffSets returns the members of want missing from have, and those of have
// missing from want, in their order.
func diffSets(want, have []string) (added, removed []string) {
	for _, s := range want {
		if !contains(have, s) && !contains(added, s) {
			added = append(added, s)
		}
	}
	for _, s := range have {
		if !contains(want, s) && !contains(removed, s) {
			removed = append(removed, s)
		}
	}
	return added, removed
}

func keys(tags []Tag) string {
	ks := make([]string, len(tags))
	for i, t := range tags {
		ks[i] = t.Key
	}
	return strings.Join(ks, ", ")
}

func createProvider(d *Provider) Change {
	in := &iam.CreateOpenIDConnectProviderInput{
		Url:          aws.String("https://" + d.URL),
		ClientIDList: append([]string(nil), d.ClientIDs...),
		Tags:         iamTags(d.Tags),
	}
	if len(d.Thumbprints) > 0 {
		in.ThumbprintList = append([]string(nil), d.Thumbprints...)
	}
	c := Change{Action: ActionCreate, Kind: KindProvider, Name: d.URL, ARN: d.ARN, provider: d,
		Steps: []Step{{Op: "CreateOpenIDConnectProvider", Target: d.URL, input: in}}}
	c.Fields = append(c.Fields, FieldChange{Field: "client IDs", Added: d.ClientIDs})
	if len(d.Thumbprints) > 0 {
		c.Fields = append(c.Fields, FieldChange{Field: "thumbprints", Added: d.Thumbprints})
	}
	c.Fields = append(c.Fields, FieldChange{Field: "tags", Added: tagStrings(d.Tags)})
	return c
}

func updateProvider(d, a *Provider) (Change, bool) {
	c := Change{Action: ActionUpdate, Kind: KindProvider, Name: d.URL, ARN: a.ARN, provider: d}
	arnp := aws.String(a.ARN)
	added, removed := diffSets(d.ClientIDs, a.ClientIDs)
	if len(added)+len(removed) > 0 {
		c.Fields = append(c.Fields, FieldChange{Field: "client IDs", Added: added, Removed: removed})
	}
	for _, id := range added {
		c.Steps = append(c.Steps, Step{Op: "AddClientIDToOpenIDConnectProvider", Target: d.URL, Detail: id,
			input: &iam.AddClientIDToOpenIDConnectProviderInput{OpenIDConnectProviderArn: arnp, ClientID: aws.String(id)}})
	}
	for _, id := range removed {
		c.Steps = append(c.Steps, Step{Op: "RemoveClientIDFromOpenIDConnectProvider", Target: d.URL, Detail: id,
			input: &iam.RemoveClientIDFromOpenIDConnectProviderInput{OpenIDConnectProviderArn: arnp, ClientID: aws.String(id)}})
	}
	if len(d.Thumbprints) > 0 {
		want := lowerSorted(d.Thumbprints)
		added, removed := diffSets(want, a.Thumbprints)
		if len(added)+len(removed) > 0 {
			c.Fields = append(c.Fields, FieldChange{Field: "thumbprints", Added: added, Removed: removed})
			c.Steps = append(c.Steps, Step{Op: "UpdateOpenIDConnectProviderThumbprint", Target: d.URL, Detail: strings.Join(want, ", "),
				input: &iam.UpdateOpenIDConnectProviderThumbprintInput{OpenIDConnectProviderArn: arnp, ThumbprintList: want}})
		}
	}
	set, unset, field := diffTags(d.Tags, a.Tags)
	if len(set)+len(unset) > 0 {
		c.Fields = append(c.Fields, field)
	}
	if len(set) > 0 {
		c.Steps = append(c.Steps, Step{Op: "TagOpenIDConnectProvider", Target: d.URL, Detail: keys(set),
			input: &iam.TagOpenIDConnectProviderInput{OpenIDConnectProviderArn: arnp, Tags: iamTags(set)}})
	}
	if len(unset) > 0 {
		c.Steps = append(c.Steps, Step{Op: "UntagOpenIDConnectProvider", Target: d.URL, Detail: strings.Join(unset, ", "),
			input: &iam.UntagOpenIDConnectProviderInput{OpenIDConnectProviderArn: arnp, TagKeys: unset}})
	}
	return c, len(c.Steps) > 0
}

func createRole(d *Role) (Change, error) {
	in := &iam.CreateRoleInput{
		RoleName:                 aws.String(d.Name),
		Path:                     aws.String(d.Path),
		AssumeRolePolicyDocument: aws.String(string(d.TrustPolicy)),
		MaxSessionDuration:       aws.Int32(d.MaxSessionDuration),
		Tags:                     iamTags(d.Tags),
	}
	if d.Description != "" {
		in.Description = aws.String(d.Description)
	}
	if d.PermissionsBoundary != "" {
		in.PermissionsBoundary = aws.String(d.PermissionsBoundary)
	}
	c := Change{Action: ActionCreate, Kind: KindRole, Name: d.Name, ARN: d.ARN, role: d,
		Steps: []Step{{Op: "CreateRole", Target: d.Name, input: in}}}
	c.Fields = append(c.Fields, FieldChange{Field: "path", New: d.Path})
	if d.Description != "" {
		c.Fields = append(c.Fields, FieldChange{Field: "description", New: d.Description})
	}
	c.Fields = append(c.Fields, FieldChange{Field: "max session duration", New: fmt.Sprintf("%ds", d.MaxSessionDuration)})
	if d.PermissionsBoundary != "" {
		c.Fields = append(c.Fields, FieldChange{Field: "permissions boundary", New: d.PermissionsBoundary})
	}
	if len(d.ManagedPolicyARNs) > 0 {
		c.Fields = append(c.Fields, FieldChange{Field: "managed policies", Added: d.ManagedPolicyARNs})
	}
	c.Fields = append(c.Fields, FieldChange{Field: "tags", Added: tagStrings(d.Tags)})
	dc, err := documentChange("trust", "", d.TrustPolicy)
	if err != nil {
		return Change{}, fmt.Errorf("role %s: %w", d.Name, err)
	}
	c.Documents = append(c.Documents, dc)
	for _, ip := range d.InlinePolicies {
		dc, err := documentChange(ip.Name, "", ip.Document)
		if err != nil {
			return Change{}, fmt.Errorf("role %s: %w", d.Name, err)
		}
		c.Documents = append(c.Documents, dc)
		c.Steps = append(c.Steps, putRolePolicy(d.Name, ip))
	}
	for _, m := range d.ManagedPolicyARNs {
		c.Steps = append(c.Steps, Step{Op: "AttachRolePolicy", Target: d.Name, Detail: m,
			input: &iam.AttachRolePolicyInput{RoleName: aws.String(d.Name), PolicyArn: aws.String(m)}})
	}
	return c, nil
}

func putRolePolicy(role string, ip InlinePolicy) Step {
	return Step{Op: "PutRolePolicy", Target: role, Detail: ip.Name,
		input: &iam.PutRolePolicyInput{RoleName: aws.String(role), PolicyName: aws.String(ip.Name), PolicyDocument: aws.String(string(ip.Document))}}
}

func updateRole(d, a *Role) (Change, bool, error) {
	c := Change{Action: ActionUpdate, Kind: KindRole, Name: d.Name, ARN: a.ARN, role: d}
	name := aws.String(d.Name)

	same, err := SameDocument(d.TrustPolicy, a.TrustPolicy)
	if err != nil {
		return Change{}, false, fmt.Errorf("role %s: trust policy: %w", d.Name, err)
	}
	if !same {
		dc, err := documentChange("trust", a.TrustPolicy, d.TrustPolicy)
		if err != nil {
			return Change{}, false, fmt.Errorf("role %s: %w", d.Name, err)
		}
		c.Documents = append(c.Documents, dc)
		c.Steps = append(c.Steps, Step{Op: "UpdateAssumeRolePolicy", Target: d.Name,
			input: &iam.UpdateAssumeRolePolicyInput{RoleName: name, PolicyDocument: aws.String(string(d.TrustPolicy))}})
	}

	if d.Description != a.Description || d.MaxSessionDuration != a.MaxSessionDuration {
		var what []string
		if d.Description != a.Description {
			c.Fields = append(c.Fields, FieldChange{Field: "description", Old: a.Description, New: d.Description})
			what = append(what, "description")
		}
		if d.MaxSessionDuration != a.MaxSessionDuration {
			c.Fields = append(c.Fields, FieldChange{Field: "max session duration", Old: fmt.Sprintf("%ds", a.MaxSessionDuration), New: fmt.Sprintf("%ds", d.MaxSessionDuration)})
			what = append(what, "max session duration")
		}
		c.Steps = append(c.Steps, Step{Op: "UpdateRole", Target: d.Name, Detail: strings.Join(what, ", "),
			input: &iam.UpdateRoleInput{RoleName: name, Description: aws.String(d.Description), MaxSessionDuration: aws.Int32(d.MaxSessionDuration)}})
	}

	if d.PermissionsBoundary != a.PermissionsBoundary {
		c.Fields = append(c.Fields, FieldChange{Field: "permissions boundary", Old: a.PermissionsBoundary, New: d.PermissionsBoundary})
		if d.PermissionsBoundary == "" {
			c.Steps = append(c.Steps, Step{Op: "DeleteRolePermissionsBoundary", Target: d.Name, Detail: a.PermissionsBoundary,
				input: &iam.DeleteRolePermissionsBoundaryInput{RoleName: name}})
		} else {
			c.Steps = append(c.Steps, Step{Op: "PutRolePermissionsBoundary", Target: d.Name, Detail: d.PermissionsBoundary,
				input: &iam.PutRolePermissionsBoundaryInput{RoleName: name, PermissionsBoundary: aws.String(d.PermissionsBoundary)}})
		}
	}

	// Removals before additions, so the role stays within its quotas (10,240
	// characters of inline policies, 10 or 20 managed policies) at every step.
	have := map[string]Document{}
	for _, ip := range a.InlinePolicies {
		have[ip.Name] = ip.Document
	}
	want := map[string]bool{}
	var puts []Step
	for _, ip := range d.InlinePolicies {
		want[ip.Name] = true
		old, ok := have[ip.Name]
		if ok {
			same, err := SameDocument(ip.Document, old)
			if err != nil {
				return Change{}, false, fmt.Errorf("role %s: inline policy %s: %w", d.Name, ip.Name, err)
			}
			if same {
				continue
			}
		}
		dc, err := documentChange(ip.Name, old, ip.Document)
		if err != nil {
			return Change{}, false, fmt.Errorf("role %s: %w", d.Name, err)
		}
		c.Documents = append(c.Documents, dc)
		puts = append(puts, putRolePolicy(d.Name, ip))
	}
	for _, ip := range a.InlinePolicies {
		if want[ip.Name] {
			continue
		}
		dc, err := documentChange(ip.Name, ip.Document, "")
		if err != nil {
			return Change{}, false, fmt.Errorf("role %s: %w", d.Name, err)
		}
		c.Documents = append(c.Documents, dc)
		c.Steps = append(c.Steps, Step{Op: "DeleteRolePolicy", Target: d.Name, Detail: ip.Name,
			input: &iam.DeleteRolePolicyInput{RoleName: name, PolicyName: aws.String(ip.Name)}})
	}
	c.Steps = append(c.Steps, puts...)

	attach, detach := diffSets(d.ManagedPolicyARNs, a.ManagedPolicyARNs)
	if len(attach)+len(detach) > 0 {
		c.Fields = append(c.Fields, FieldChange{Field: "managed policies", Added: attach, Removed: detach})
	}
	for _, m := range detach {
		c.Steps = append(c.Steps, Step{Op: "DetachRolePolicy", Target: d.Name, Detail: m,
			input: &iam.DetachRolePolicyInput{RoleName: name, PolicyArn: aws.String(m)}})
	}
	for _, m := range attach {
		c.Steps = append(c.Steps, Step{Op: "AttachRolePolicy", Target: d.Name, Detail: m,
			input: &iam.AttachRolePolicyInput{RoleName: name, PolicyArn: aws.String(m)}})
	}

	set, unset, field := diffTags(d.Tags, a.Tags)
	if len(set)+len(unset) > 0 {
		c.Fields = append(c.Fields, field)
	}
	if len(set) > 0 {
		c.Steps = append(c.Steps, Step{Op: "TagRole", Target: d.Name, Detail: keys(set),
			input: &iam.TagRoleInput{RoleName: name, Tags: iamTags(set)}})
	}
	if len(unset) > 0 {
		c.Steps = append(c.Steps, Step{Op: "UntagRole", Target: d.Name, Detail: strings.Join(unset, ", "),
			input: &iam.UntagRoleInput{RoleName: name, TagKeys: unset}})
	}
	return c, len(c.Steps) > 0, nil
}

// deleteRole empties the role (inline policies deleted, managed ones detached, as
// IAM requires) and deletes it.
func deleteRole(a *Role) Change {
	c := Change{Action: ActionDelete, Kind: KindRole, Name: a.Name, ARN: a.ARN}
	name := aws.String(a.Name)
	for _, ip := range a.InlinePolicies {
		c.Steps = append(c.Steps, Step{Op: "DeleteRolePolicy", Target: a.Name, Detail: ip.Name,
			input: &iam.DeleteRolePolicyInput{RoleName: name, PolicyName: aws.String(ip.Name)}})
	}
	for _, m := range a.ManagedPolicyARNs {
		c.Steps = append(c.Steps, Step{Op: "DetachRolePolicy", Target: a.Name, Detail: m,
			input: &iam.DetachRolePolicyInput{RoleName: name, PolicyArn: aws.String(m)}})
	}
	c.Steps = append(c.Steps, Step{Op: "DeleteRole", Target: a.Name, input: &iam.DeleteRoleInput{RoleName: name}})
	return c
}

// documentChange diffs two documents ("" for none) in canonical form.
func documentChange(name string, before, after Document) (DocumentChange, error) {
	dc := DocumentChange{Policy: name, Action: ActionUpdate}
	switch {
	case before == "":
		dc.Action = ActionCreate
	case after == "":
		dc.Action = ActionDelete
	}
	var old, cur []string
	if before != "" {
		c, pretty, err := canonicalDocument(before)
		if err != nil {
			return DocumentChange{}, fmt.Errorf("policy %s in IAM: %w", name, err)
		}
		if dc.Action == ActionUpdate {
			dc.Before = c
		}
		old = pretty
	}
	if after != "" {
		c, pretty, err := canonicalDocument(after)
		if err != nil {
			return DocumentChange{}, fmt.Errorf("policy %s: %w", name, err)
		}
		if dc.Action == ActionUpdate {
			dc.After = c
		}
		cur = pretty
	}
	dc.Diff = lineDiff(old, cur)
	return dc, nil
}

// SameDocument reports whether two policy documents mean the same: equal once
// both are in canonical form (object keys sorted, lists sorted and without
// duplicates, a one-element list the same as its element).
func SameDocument(a, b Document) (bool, error) {
	ca, _, err := canonicalDocument(a)
	if err != nil {
		return false, err
	}
	cb, _, err := canonicalDocument(b)
	if err != nil {
		return false, err
	}
	return ca == cb, nil
}

// canonicalDocument returns a document's canonical compact form and its
// pretty-printed lines.
func canonicalDocument(d Document) (Document, []string, error) {
	if d == "" {
		return "", nil, nil
	}
	dec := json.NewDecoder(strings.NewReader(string(d)))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return "", nil, fmt.Errorf("not JSON: %w", err)
	}
	v = canonical(v)
	compact, err := marshalNoEscape(v, "")
	if err != nil {
		return "", nil, err
	}
	pretty, err := marshalNoEscape(v, "  ")
	if err != nil {
		return "", nil, err
	}
	return Document(compact), strings.Split(pretty, "\n"), nil
}

func marshalNoEscape(v any, indent string) (string, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", indent)
	if err := enc.Encode(v); err != nil {
		return "", fmt.Errorf("encode policy: %w", err)
	}
	return strings.TrimSuffix(b.String(), "\n"), nil
}

// canonical orders what IAM does not: lists are sets in a policy (of statements,
// actions, resources, condition values), so they are sorted and deduplicated, and
// a one-element list means its element. Maps are sorted by encoding/json.
func canonical(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			x[k] = canonical(e)
		}
		return x
	case []any:
		type item struct {
			v   any
			key string
		}
		items := make([]item, 0, len(x))
		seen := map[string]bool{}
		for _, e := range x {
			e = canonical(e)
			b, _ := json.Marshal(e)
			if seen[string(b)] {
				continue
			}
			seen[string(b)] = true
			items = append(items, item{e, string(b)})
		}
		if len(items) == 1 {
			return items[0].v
		}
		sort.Slice(items, func(i, j int) bool { return items[i].key < items[j].key })
		out := make([]any, len(items))
		for i, it := range items {
			out[i] = it.v
		}
		return out
	default:
		return v
	}
}

// lineDiff returns the lines of a and b marked "- " (only in a), "+ " (only in b)
// or "  " (in both), from a longest common subsequence.
func lineDiff(a, b []string) []string {
	n, m := len(a), len(b)
	lcs := make([][]int, n+1)
	for i := range lcs {
		lcs[i] = make([]int, m+1)
	}
	for i := n - 1; i >= 0; i-- {
		for j := m - 1; j >= 0; j-- {
			if a[i] == b[j] {
				lcs[i][j] = lcs[i+1][j+1] + 1
			} else {
				lcs[i][j] = max(lcs[i+1][j], lcs[i][j+1])
			}
		}
	}
	out := make([]string, 0, n+m)
	i, j := 0, 0
	for i < n && j < m {
		switch {
		case a[i] == b[j]:
			out = append(out, "  "+a[i])
			i, j = i+1, j+1
		case lcs[i+1][j] >= lcs[i][j+1]:
			out = append(out, "- "+a[i])
			i++
		default:
			out = append(out, "+ "+b[j])
			j++
		}
	}
	for ; i < n; i++ {
		out = append(out, "- "+a[i])
	}
	for ; j < m; j++ {
		out = append(out, "+ "+b[j])
	}
	return out
}

var actionMark = map[Action]string{ActionCreate: "+", ActionUpdate: "~", ActionDelete: "-"}

// WriteText writes the plan for a person: one block per change, marked + (create),
// ~ (update) or - (delete), with the changed attributes and the line diffs of the
// changed documents, then the lint findings and a summary line.
func (p *Plan) WriteText(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "Config %s, account %s (partition %s)\n", p.Name, p.Account, p.Partition)
	if p.Empty() {
		b.WriteString("\nNo changes: IAM matches the config.\n")
	}
	for _, c := range p.Changes {
		fmt.Fprintf(&b, "\n%s %s %s %s\n", actionMark[c.Action], c.Action, c.Kind, c.Name)
		if c.Action == ActionDelete {
			fmt.Fprintf(&b, "    %s, tagged %s=%s and no longer in the config\n", c.ARN, ManagedTagKey, p.Name)
			for _, s := range c.Steps {
				fmt.Fprintf(&b, "    - %s\n", s)
			}
		} else {
			fmt.Fprintf(&b, "    %s\n", c.ARN)
		}
		for _, f := range c.Fields {
			writeField(&b, f, c.Action == ActionUpdate)
		}
		for _, d := range c.Documents {
			title := "trust policy"
			switch {
			case c.Kind == KindPolicy:
				title = "policy document"
			case d.Policy != "trust":
				title = "inline policy " + d.Policy
			}
			fmt.Fprintf(&b, "    %s %s:\n", actionMark[d.Action], title)
			for _, l := range d.Diff {
				fmt.Fprintf(&b, "      %s\n", l)
			}
		}
	}
	if len(p.Findings) > 0 {
		b.WriteString("\nLint findings on the config's documents:\n")
		for _, f := range p.Findings {
			fmt.Fprintf(&b, "  %s  %s: %s [%s]", f.Severity, findingLabel(f), f.Message, f.RuleID)
			if f.Fix != "" {
				fmt.Fprintf(&b, "\n      fix: %s", f.Fix)
			}
			b.WriteString("\n")
		}
	}
	create, update, del := p.Summary()
	calls := "calls"
	if len(p.Steps()) == 1 {
		calls = "call"
	}
	fmt.Fprintf(&b, "\nPlan: %d to create, %d to update, %d to delete (%d IAM %s).\n", create, update, del, len(p.Steps()), calls)
	_, err := io.WriteString(w, b.String())
	return err
}

// findingLabel names the document of a finding: "role R, trust policy", "role R,
// inline policy P", or "managed policy P" (a finding with no role).
func findingLabel(f Finding) string {
	switch {
	case f.Role == "":
		return "managed policy " + f.Policy
	case f.Policy == "trust":
		return "role " + f.Role + ", trust policy"
	}
	return "role " + f.Role + ", inline policy " + f.Policy
}

func writeField(b *strings.Builder, f FieldChange, update bool) {
	switch {
	case f.Old != "" || f.New != "":
		quote := func(s string) string {
			if f.Field == "description" || s == "" {
				return strconv.Quote(s)
			}
			return s
		}
		if !update {
			fmt.Fprintf(b, "    %s: %s\n", f.Field, quote(f.New))
		} else {
			fmt.Fprintf(b, "    %s: %s -> %s\n", f.Field, quote(f.Old), quote(f.New))
		}
	default:
		fmt.Fprintf(b, "    %s:\n", f.Field)
		for _, r := range f.Removed {
			fmt.Fprintf(b, "      - %s\n", r)
		}
		for _, a := range f.Added {
			fmt.Fprintf(b, "      + %s\n", a)
		}
	}
}

// planJSON is the JSON form of a plan, with a summary.
type planJSON struct {
	*Plan
	Summary struct {
		Create int `json:"create"`
		Update int `json:"update"`
		Delete int `json:"delete"`
		Calls  int `json:"calls"`
	} `json:"summary"`
	HasLintErrors bool `json:"hasLintErrors"`
}

// JSON renders the plan as indented JSON: name, account, partition, changes (each
// with action, kind, name, arn, fields, documents with canonical before/after and
// their line diff, and steps), findings, a summary of the counts and
// hasLintErrors.
func (p *Plan) JSON() ([]byte, error) {
	out := planJSON{Plan: p}
	out.Summary.Create, out.Summary.Update, out.Summary.Delete = p.Summary()
	out.Summary.Calls = len(p.Steps())
	out.HasLintErrors = p.LintErrors()
	if out.Changes == nil {
		out.Plan = &Plan{Name: p.Name, Account: p.Account, Partition: p.Partition, Changes: []Change{}, Findings: p.Findings}
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(out); err != nil {
		return nil, fmt.Errorf("encode plan: %w", err)
	}
	return b.Bytes(), nil
}

// LintErrors reports whether a finding has error severity.
func (p *Plan) LintErrors() bool {
	for _, f := range p.Findings {
		if f.Severity == policy.SeverityError {
			return true
		}
	}
	return false
}
