package provision

import (
	"context"
	"fmt"
	"net/url"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/iam/types"
)

// fakeIAM is an in-memory IAM with the calls IAMAPI has. It returns documents
// percent-encoded as IAM does, provider URLs with https:// when withScheme is set
// (as keyless up does for URLs with a port), pages ListRoles by pageSize, logs every
// mutating call and fails the call whose "Op target" is in fail.
type fakeIAM struct {
	mu         sync.Mutex
	account    string
	providers  map[string]*fakeProvider // by ARN
	roles      map[string]*fakeRole     // by name
	policies   map[string]*fakePolicy   // customer managed, by ARN
	calls      []string                 // "Op target" of every mutating call
	reads      int
	fail       map[string]error
	withScheme bool
	pageSize   int
}

type fakeProvider struct {
	url         string
	clientIDs   []string
	thumbprints []string
	tags        map[string]string
}

type fakePolicy struct {
	name, path, description string
	versions                []fakeVersion // oldest first
	defaultID               string
	lastVersion             int
	tags                    map[string]string
}

type fakeVersion struct {
	id, doc string
	created time.Time
}

func (p *fakePolicy) version(id string) *fakeVersion {
	for i := range p.versions {
		if p.versions[i].id == id {
			return &p.versions[i]
		}
	}
	return nil
}

type fakeRole struct {
	path, description, trust, boundary string
	maxSession                         int32
	inline                             map[string]string
	attached                           []string
	tags                               map[string]string
}

func newFakeIAM() *fakeIAM {
	return &fakeIAM{account: "123456789012", providers: map[string]*fakeProvider{}, roles: map[string]*fakeRole{}, policies: map[string]*fakePolicy{}, fail: map[string]error{}, pageSize: 3}
}

func (f *fakeIAM) mutate(op, target string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	key := op + " " + target
	if err := f.fail[key]; err != nil {
		return err
	}
	f.calls = append(f.calls, key)
	return nil
}

func (f *fakeIAM) callLog() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.calls...)
}

func noEntity(what string) error {
	return &types.NoSuchEntityException{Message: aws.String(what + " cannot be found.")}
}

func tagMap(ts []types.Tag) map[string]string {
	m := map[string]string{}
	for _, t := range ts {
		m[aws.ToString(t.Key)] = aws.ToString(t.Value)
	}
	return m
}

func iamTagList(m map[string]string) []types.Tag {
	var out []types.Tag
	for k, v := range m {
		out = append(out, types.Tag{Key: aws.String(k), Value: aws.String(v)})
	}
	// IAM returns tags in no particular order: reverse them to prove that.
	sort.Slice(out, func(i, j int) bool { return *out[i].Key > *out[j].Key })
	return out
}

func encode(doc string) string { return strings.ReplaceAll(url.QueryEscape(doc), "+", "%20") }

func (f *fakeIAM) role(name string) (*fakeRole, error) {
	r := f.roles[name]
	if r == nil {
		return nil, noEntity("The role with name " + name)
	}
	return r, nil
}

func (f *fakeIAM) provider(arn string) (*fakeProvider, error) {
	p := f.providers[arn]
	if p == nil {
		return nil, noEntity("OpenIDConnect Provider " + arn)
	}
	return p, nil
}

func (f *fakeIAM) ListOpenIDConnectProviders(context.Context, *iam.ListOpenIDConnectProvidersInput, ...func(*iam.Options)) (*iam.ListOpenIDConnectProvidersOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.reads++
	out := &iam.ListOpenIDConnectProvidersOutput{}
	for arn := range f.providers {
		out.OpenIDConnectProviderList = append(out.OpenIDConnectProviderList, types.OpenIDConnectProviderListEntry{Arn: aws.String(arn)})
	}
	return out, nil
}

func (f *fakeIAM) GetOpenIDConnectProvider(_ context.Context, in *iam.GetOpenIDConnectProviderInput, _ ...func(*iam.Options)) (*iam.GetOpenIDConnectProviderOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.reads++
	p, err := f.provider(aws.ToString(in.OpenIDConnectProviderArn))
	if err != nil {
		return nil, err
	}
	u := p.url
	if f.withScheme {
		u = "https://" + u
	}
	return &iam.GetOpenIDConnectProviderOutput{Url: aws.String(u), ClientIDList: append([]string(nil), p.clientIDs...), ThumbprintList: append([]string(nil), p.thumbprints...), Tags: iamTagList(p.tags)}, nil
}

func (f *fakeIAM) ListRoles(_ context.Context, in *iam.ListRolesInput, _ ...func(*iam.Options)) (*iam.ListRolesOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.reads++
	var names []string
	for n := range f.roles {
		names = append(names, n)
	}
	sort.Strings(names)
	start := 0
	if in.Marker != nil {
		start, _ = strconv.Atoi(*in.Marker)
	}
	end := min(start+f.pageSize, len(names))
	out := &iam.ListRolesOutput{}
	for _, n := range names[start:end] {
		out.Roles = append(out.Roles, types.Role{RoleName: aws.String(n), Path: aws.String(f.roles[n].path)})
	}
	if end < len(names) {
		out.IsTruncated, out.Marker = true, aws.String(strconv.Itoa(end))
	}
	return out, nil
}

func (f *fakeIAM) GetRole(_ context.Context, in *iam.GetRoleInput, _ ...func(*iam.Options)) (*iam.GetRoleOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.reads++
	name := aws.ToString(in.RoleName)
	r, err := f.role(name)
	if err != nil {
		return nil, err
	}
	out := types.Role{
		RoleName: aws.String(name), Path: aws.String(r.path),
		Arn:                      aws.String(fmt.Sprintf("arn:aws:iam::%s:role%s%s", f.account, r.path, name)),
		AssumeRolePolicyDocument: aws.String(encode(r.trust)),
		MaxSessionDuration:       aws.Int32(r.maxSession),
		Tags:                     iamTagList(r.tags),
	}
	if r.description != "" {
		out.Description = aws.String(r.description)
	}
	if r.boundary != "" {
		out.PermissionsBoundary = &types.AttachedPermissionsBoundary{PermissionsBoundaryArn: aws.String(r.boundary)}
	}
	return &iam.GetRoleOutput{Role: &out}, nil
}

func (f *fakeIAM) ListRolePolicies(_ context.Context, in *iam.ListRolePoliciesInput, _ ...func(*iam.Options)) (*iam.ListRolePoliciesOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.reads++
	r, err := f.role(aws.ToString(in.RoleName))
	if err != nil {
		return nil, err
	}
	out := &iam.ListRolePoliciesOutput{}
	for n := range r.inline {
		out.PolicyNames = append(out.PolicyNames, n)
	}
	return out, nil
}

func (f *fakeIAM) GetRolePolicy(_ context.Context, in *iam.GetRolePolicyInput, _ ...func(*iam.Options)) (*iam.GetRolePolicyOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.reads++
	r, err := f.role(aws.ToString(in.RoleName))
	if err != nil {
		return nil, err
	}
	doc, ok := r.inline[aws.ToString(in.PolicyName)]
	if !ok {
		return nil, noEntity("The role policy " + aws.ToString(in.PolicyName))
	}
	return &iam.GetRolePolicyOutput{RoleName: in.RoleName, PolicyName: in.PolicyName, PolicyDocument: aws.String(encode(doc))}, nil
}

func (f *fakeIAM) ListAttachedRolePolicies(_ context.Context, in *iam.ListAttachedRolePoliciesInput, _ ...func(*iam.Options)) (*iam.ListAttachedRolePoliciesOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.reads++
	r, err := f.role(aws.ToString(in.RoleName))
	if err != nil {
		return nil, err
	}
	out := &iam.ListAttachedRolePoliciesOutput{}
	for _, a := range r.attached {
		out.AttachedPolicies = append(out.AttachedPolicies, types.AttachedPolicy{PolicyArn: aws.String(a)})
	}
	return out, nil
}

func (f *fakeIAM) CreateOpenIDConnectProvider(_ context.Context, in *iam.CreateOpenIDConnectProviderInput, _ ...func(*iam.Options)) (*iam.CreateOpenIDConnectProviderOutput, error) {
	u := strings.TrimPrefix(aws.ToString(in.Url), "https://")
	if err := f.mutate("CreateOpenIDConnectProvider", u); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	arn := fmt.Sprintf("arn:aws:iam::%s:oidc-provider/%s", f.account, u)
	if f.providers[arn] != nil {
		return nil, &types.EntityAlreadyExistsException{Message: aws.String("Provider with url " + aws.ToString(in.Url) + " already exists.")}
	}
	f.providers[arn] = &fakeProvider{url: u, clientIDs: in.ClientIDList, thumbprints: in.ThumbprintList, tags: tagMap(in.Tags)}
	return &iam.CreateOpenIDConnectProviderOutput{OpenIDConnectProviderArn: aws.String(arn)}, nil
}

// providerOp runs fn on the provider arn names, after logging and failure injection.
func (f *fakeIAM) providerOp(op, arn string, fn func(*fakeProvider)) error {
	_, u, _ := strings.Cut(arn, ":oidc-provider/")
	if err := f.mutate(op, u); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	p, err := f.provider(arn)
	if err != nil {
		return err
	}
	fn(p)
	return nil
}

// roleOp runs fn on the role name names, after logging and failure injection.
func (f *fakeIAM) roleOp(op, name string, fn func(*fakeRole) error) error {
	if err := f.mutate(op, name); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	r, err := f.role(name)
	if err != nil {
		return err
	}
	return fn(r)
}

func (f *fakeIAM) DeleteOpenIDConnectProvider(_ context.Context, in *iam.DeleteOpenIDConnectProviderInput, _ ...func(*iam.Options)) (*iam.DeleteOpenIDConnectProviderOutput, error) {
	arn := aws.ToString(in.OpenIDConnectProviderArn)
	return &iam.DeleteOpenIDConnectProviderOutput{}, f.providerOp("DeleteOpenIDConnectProvider", arn, func(*fakeProvider) { delete(f.providers, arn) })
}

func (f *fakeIAM) AddClientIDToOpenIDConnectProvider(_ context.Context, in *iam.AddClientIDToOpenIDConnectProviderInput, _ ...func(*iam.Options)) (*iam.AddClientIDToOpenIDConnectProviderOutput, error) {
	return &iam.AddClientIDToOpenIDConnectProviderOutput{}, f.providerOp("AddClientIDToOpenIDConnectProvider", aws.ToString(in.OpenIDConnectProviderArn), func(p *fakeProvider) {
		p.clientIDs = append(p.clientIDs, aws.ToString(in.ClientID))
	})
}

func (f *fakeIAM) RemoveClientIDFromOpenIDConnectProvider(_ context.Context, in *iam.RemoveClientIDFromOpenIDConnectProviderInput, _ ...func(*iam.Options)) (*iam.RemoveClientIDFromOpenIDConnectProviderOutput, error) {
	return &iam.RemoveClientIDFromOpenIDConnectProviderOutput{}, f.providerOp("RemoveClientIDFromOpenIDConnectProvider", aws.ToString(in.OpenIDConnectProviderArn), func(p *fakeProvider) {
		var keep []string
		for _, c := range p.clientIDs {
			if c != aws.ToString(in.ClientID) {
				keep = append(keep, c)
			}
		}
		p.clientIDs = keep
	})
}

func (f *fakeIAM) UpdateOpenIDConnectProviderThumbprint(_ context.Context, in *iam.UpdateOpenIDConnectProviderThumbprintInput, _ ...func(*iam.Options)) (*iam.UpdateOpenIDConnectProviderThumbprintOutput, error) {
	return &iam.UpdateOpenIDConnectProviderThumbprintOutput{}, f.providerOp("UpdateOpenIDConnectProviderThumbprint", aws.ToString(in.OpenIDConnectProviderArn), func(p *fakeProvider) {
		p.thumbprints = in.ThumbprintList
	})
}

func (f *fakeIAM) TagOpenIDConnectProvider(_ context.Context, in *iam.TagOpenIDConnectProviderInput, _ ...func(*iam.Options)) (*iam.TagOpenIDConnectProviderOutput, error) {
	return &iam.TagOpenIDConnectProviderOutput{}, f.providerOp("TagOpenIDConnectProvider", aws.ToString(in.OpenIDConnectProviderArn), func(p *fakeProvider) {
		for k, v := range tagMap(in.Tags) {
			p.tags[k] = v
		}
	})
}

func (f *fakeIAM) UntagOpenIDConnectProvider(_ context.Context, in *iam.UntagOpenIDConnectProviderInput, _ ...func(*iam.Options)) (*iam.UntagOpenIDConnectProviderOutput, error) {
	return &iam.UntagOpenIDConnectProviderOutput{}, f.providerOp("UntagOpenIDConnectProvider", aws.ToString(in.OpenIDConnectProviderArn), func(p *fakeProvider) {
		for _, k := range in.TagKeys {
			delete(p.tags, k)
		}
	})
}

func (f *fakeIAM) CreateRole(_ context.Context, in *iam.CreateRoleInput, _ ...func(*iam.Options)) (*iam.CreateRoleOutput, error) {
	name := aws.ToString(in.RoleName)
	if err := f.mutate("CreateRole", name); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.roles[name] != nil {
		return nil, &types.EntityAlreadyExistsException{Message: aws.String("Role with name " + name + " already exists.")}
	}
	path := aws.ToString(in.Path)
	if path == "" {
		path = "/"
	}
	max := aws.ToInt32(in.MaxSessionDuration)
	if max == 0 {
		max = 3600
	}
	f.roles[name] = &fakeRole{path: path, description: aws.ToString(in.Description), trust: aws.ToString(in.AssumeRolePolicyDocument),
		boundary: aws.ToString(in.PermissionsBoundary), maxSession: max, inline: map[string]string{}, tags: tagMap(in.Tags)}
	return &iam.CreateRoleOutput{Role: &types.Role{RoleName: in.RoleName}}, nil
}

func (f *fakeIAM) DeleteRole(_ context.Context, in *iam.DeleteRoleInput, _ ...func(*iam.Options)) (*iam.DeleteRoleOutput, error) {
	name := aws.ToString(in.RoleName)
	return &iam.DeleteRoleOutput{}, f.roleOp("DeleteRole", name, func(r *fakeRole) error {
		if len(r.inline) > 0 || len(r.attached) > 0 {
			return &types.DeleteConflictException{Message: aws.String("Cannot delete entity, must delete policies first.")}
		}
		delete(f.roles, name)
		return nil
	})
}

func (f *fakeIAM) UpdateRole(_ context.Context, in *iam.UpdateRoleInput, _ ...func(*iam.Options)) (*iam.UpdateRoleOutput, error) {
	return &iam.UpdateRoleOutput{}, f.roleOp("UpdateRole", aws.ToString(in.RoleName), func(r *fakeRole) error {
		if in.Description != nil {
			r.description = *in.Description
		}
		if in.MaxSessionDuration != nil {
			r.maxSession = *in.MaxSessionDuration
		}
		return nil
	})
}

func (f *fakeIAM) UpdateAssumeRolePolicy(_ context.Context, in *iam.UpdateAssumeRolePolicyInput, _ ...func(*iam.Options)) (*iam.UpdateAssumeRolePolicyOutput, error) {
	return &iam.UpdateAssumeRolePolicyOutput{}, f.roleOp("UpdateAssumeRolePolicy", aws.ToString(in.RoleName), func(r *fakeRole) error {
		r.trust = aws.ToString(in.PolicyDocument)
		return nil
	})
}

func (f *fakeIAM) PutRolePolicy(_ context.Context, in *iam.PutRolePolicyInput, _ ...func(*iam.Options)) (*iam.PutRolePolicyOutput, error) {
	return &iam.PutRolePolicyOutput{}, f.roleOp("PutRolePolicy", aws.ToString(in.RoleName), func(r *fakeRole) error {
		r.inline[aws.ToString(in.PolicyName)] = aws.ToString(in.PolicyDocument)
		return nil
	})
}

func (f *fakeIAM) DeleteRolePolicy(_ context.Context, in *iam.DeleteRolePolicyInput, _ ...func(*iam.Options)) (*iam.DeleteRolePolicyOutput, error) {
	return &iam.DeleteRolePolicyOutput{}, f.roleOp("DeleteRolePolicy", aws.ToString(in.RoleName), func(r *fakeRole) error {
		delete(r.inline, aws.ToString(in.PolicyName))
		return nil
	})
}

func (f *fakeIAM) AttachRolePolicy(_ context.Context, in *iam.AttachRolePolicyInput, _ ...func(*iam.Options)) (*iam.AttachRolePolicyOutput, error) {
	return &iam.AttachRolePolicyOutput{}, f.roleOp("AttachRolePolicy", aws.ToString(in.RoleName), func(r *fakeRole) error {
		// As IAM does, refuse a customer managed policy of the account that does
		// not exist (yet).
		a := aws.ToString(in.PolicyArn)
		if strings.HasPrefix(a, "arn:aws:iam::"+f.account+":policy/") && f.policies[a] == nil {
			return noEntity("Policy " + a)
		}
		r.attached = append(r.attached, a)
		return nil
	})
}

func (f *fakeIAM) DetachRolePolicy(_ context.Context, in *iam.DetachRolePolicyInput, _ ...func(*iam.Options)) (*iam.DetachRolePolicyOutput, error) {
	return &iam.DetachRolePolicyOutput{}, f.roleOp("DetachRolePolicy", aws.ToString(in.RoleName), func(r *fakeRole) error {
		var keep []string
		for _, a := range r.attached {
			if a != aws.ToString(in.PolicyArn) {
				keep = append(keep, a)
			}
		}
		r.attached = keep
		return nil
	})
}

func (f *fakeIAM) TagRole(_ context.Context, in *iam.TagRoleInput, _ ...func(*iam.Options)) (*iam.TagRoleOutput, error) {
	return &iam.TagRoleOutput{}, f.roleOp("TagRole", aws.ToString(in.RoleName), func(r *fakeRole) error {
		for k, v := range tagMap(in.Tags) {
			r.tags[k] = v
		}
		return nil
	})
}

func (f *fakeIAM) UntagRole(_ context.Context, in *iam.UntagRoleInput, _ ...func(*iam.Options)) (*iam.UntagRoleOutput, error) {
	return &iam.UntagRoleOutput{}, f.roleOp("UntagRole", aws.ToString(in.RoleName), func(r *fakeRole) error {
		for _, k := range in.TagKeys {
			delete(r.tags, k)
		}
		return nil
	})
}

func (f *fakeIAM) PutRolePermissionsBoundary(_ context.Context, in *iam.PutRolePermissionsBoundaryInput, _ ...func(*iam.Options)) (*iam.PutRolePermissionsBoundaryOutput, error) {
	return &iam.PutRolePermissionsBoundaryOutput{}, f.roleOp("PutRolePermissionsBoundary", aws.ToString(in.RoleName), func(r *fakeRole) error {
		r.boundary = aws.ToString(in.PermissionsBoundary)
		return nil
	})
}

func (f *fakeIAM) DeleteRolePermissionsBoundary(_ context.Context, in *iam.DeleteRolePermissionsBoundaryInput, _ ...func(*iam.Options)) (*iam.DeleteRolePermissionsBoundaryOutput, error) {
	return &iam.DeleteRolePermissionsBoundaryOutput{}, f.roleOp("DeleteRolePermissionsBoundary", aws.ToString(in.RoleName), func(r *fakeRole) error {
		r.boundary = ""
		return nil
	})
}

// seedPolicy puts a customer managed policy with one version per document (the
// last one the default) into the fake, as if created by hand or an earlier apply.
func (f *fakeIAM) seedPolicy(name, path string, tags map[string]string, docs ...string) string {
	a := fmt.Sprintf("arn:aws:iam::%s:policy%s%s", f.account, path, name)
	p := &fakePolicy{name: name, path: path, tags: tags}
	for i, d := range docs {
		p.versions = append(p.versions, fakeVersion{id: fmt.Sprintf("v%d", i+1), doc: d, created: time.Unix(int64(1000+i), 0)})
	}
	p.lastVersion = len(docs)
	p.defaultID = p.versions[len(docs)-1].id
	f.policies[a] = p
	return a
}

func (f *fakeIAM) policy(a string) (*fakePolicy, error) {
	p := f.policies[a]
	if p == nil {
		return nil, noEntity("Policy " + a)
	}
	return p, nil
}

// policyOp runs fn on the policy a names, after logging (with the policy's name as
// target) and failure injection.
func (f *fakeIAM) policyOp(op, a string, fn func(*fakePolicy) error) error {
	name := a[strings.LastIndex(a, "/")+1:]
	if err := f.mutate(op, name); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	p, err := f.policy(a)
	if err != nil {
		return err
	}
	return fn(p)
}

func (f *fakeIAM) ListPolicies(_ context.Context, in *iam.ListPoliciesInput, _ ...func(*iam.Options)) (*iam.ListPoliciesOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.reads++
	if in.Scope != types.PolicyScopeTypeLocal {
		return nil, fmt.Errorf("fake ListPolicies: Scope %q, want Local (the AWS managed policies are many)", in.Scope)
	}
	var arns []string
	for a := range f.policies {
		arns = append(arns, a)
	}
	sort.Strings(arns)
	start := 0
	if in.Marker != nil {
		start, _ = strconv.Atoi(*in.Marker)
	}
	end := min(start+f.pageSize, len(arns))
	out := &iam.ListPoliciesOutput{}
	for _, a := range arns[start:end] {
		p := f.policies[a]
		out.Policies = append(out.Policies, types.Policy{Arn: aws.String(a), PolicyName: aws.String(p.name), Path: aws.String(p.path), DefaultVersionId: aws.String(p.defaultID)})
	}
	if end < len(arns) {
		out.IsTruncated, out.Marker = true, aws.String(strconv.Itoa(end))
	}
	return out, nil
}

func (f *fakeIAM) ListPolicyTags(_ context.Context, in *iam.ListPolicyTagsInput, _ ...func(*iam.Options)) (*iam.ListPolicyTagsOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.reads++
	p, err := f.policy(aws.ToString(in.PolicyArn))
	if err != nil {
		return nil, err
	}
	return &iam.ListPolicyTagsOutput{Tags: iamTagList(p.tags)}, nil
}

func (f *fakeIAM) GetPolicy(_ context.Context, in *iam.GetPolicyInput, _ ...func(*iam.Options)) (*iam.GetPolicyOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.reads++
	a := aws.ToString(in.PolicyArn)
	p, err := f.policy(a)
	if err != nil {
		return nil, err
	}
	out := &types.Policy{Arn: aws.String(a), PolicyName: aws.String(p.name), Path: aws.String(p.path), DefaultVersionId: aws.String(p.defaultID)}
	if p.description != "" {
		out.Description = aws.String(p.description)
	}
	return &iam.GetPolicyOutput{Policy: out}, nil
}

func (f *fakeIAM) GetPolicyVersion(_ context.Context, in *iam.GetPolicyVersionInput, _ ...func(*iam.Options)) (*iam.GetPolicyVersionOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.reads++
	a := aws.ToString(in.PolicyArn)
	p, err := f.policy(a)
	if err != nil {
		return nil, err
	}
	v := p.version(aws.ToString(in.VersionId))
	if v == nil {
		return nil, noEntity("Policy " + a + " version " + aws.ToString(in.VersionId))
	}
	return &iam.GetPolicyVersionOutput{PolicyVersion: &types.PolicyVersion{VersionId: aws.String(v.id), Document: aws.String(encode(v.doc)), IsDefaultVersion: v.id == p.defaultID}}, nil
}

func (f *fakeIAM) ListPolicyVersions(_ context.Context, in *iam.ListPolicyVersionsInput, _ ...func(*iam.Options)) (*iam.ListPolicyVersionsOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.reads++
	p, err := f.policy(aws.ToString(in.PolicyArn))
	if err != nil {
		return nil, err
	}
	out := &iam.ListPolicyVersionsOutput{}
	// IAM lists the newest first.
	for i := len(p.versions) - 1; i >= 0; i-- {
		v := p.versions[i]
		out.Versions = append(out.Versions, types.PolicyVersion{VersionId: aws.String(v.id), IsDefaultVersion: v.id == p.defaultID, CreateDate: aws.Time(v.created)})
	}
	return out, nil
}

func (f *fakeIAM) CreatePolicy(_ context.Context, in *iam.CreatePolicyInput, _ ...func(*iam.Options)) (*iam.CreatePolicyOutput, error) {
	name := aws.ToString(in.PolicyName)
	if err := f.mutate("CreatePolicy", name); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, p := range f.policies {
		if p.name == name {
			return nil, &types.EntityAlreadyExistsException{Message: aws.String("A policy called " + name + " already exists. Duplicate names are not allowed.")}
		}
	}
	path := aws.ToString(in.Path)
	if path == "" {
		path = "/"
	}
	a := fmt.Sprintf("arn:aws:iam::%s:policy%s%s", f.account, path, name)
	f.policies[a] = &fakePolicy{name: name, path: path, description: aws.ToString(in.Description), tags: tagMap(in.Tags),
		versions: []fakeVersion{{id: "v1", doc: aws.ToString(in.PolicyDocument), created: time.Unix(1000, 0)}}, defaultID: "v1", lastVersion: 1}
	return &iam.CreatePolicyOutput{Policy: &types.Policy{Arn: aws.String(a)}}, nil
}

func (f *fakeIAM) DeletePolicy(_ context.Context, in *iam.DeletePolicyInput, _ ...func(*iam.Options)) (*iam.DeletePolicyOutput, error) {
	a := aws.ToString(in.PolicyArn)
	return &iam.DeletePolicyOutput{}, f.policyOp("DeletePolicy", a, func(p *fakePolicy) error {
		for _, r := range f.roles {
			if slices.Contains(r.attached, a) {
				return &types.DeleteConflictException{Message: aws.String("Cannot delete a policy attached to entities.")}
			}
		}
		if len(p.versions) > 1 {
			return &types.DeleteConflictException{Message: aws.String("This policy has more than one version. Before you delete a policy, you must delete the policy's versions.")}
		}
		delete(f.policies, a)
		return nil
	})
}

func (f *fakeIAM) CreatePolicyVersion(_ context.Context, in *iam.CreatePolicyVersionInput, _ ...func(*iam.Options)) (*iam.CreatePolicyVersionOutput, error) {
	return &iam.CreatePolicyVersionOutput{}, f.policyOp("CreatePolicyVersion", aws.ToString(in.PolicyArn), func(p *fakePolicy) error {
		if len(p.versions) >= 5 {
			return &types.LimitExceededException{Message: aws.String("A managed policy can have up to 5 versions. Before you create a new version, you must delete an existing version.")}
		}
		p.lastVersion++
		v := fakeVersion{id: fmt.Sprintf("v%d", p.lastVersion), doc: aws.ToString(in.PolicyDocument), created: time.Unix(int64(1000+p.lastVersion), 0)}
		p.versions = append(p.versions, v)
		if in.SetAsDefault {
			p.defaultID = v.id
		}
		return nil
	})
}

func (f *fakeIAM) DeletePolicyVersion(_ context.Context, in *iam.DeletePolicyVersionInput, _ ...func(*iam.Options)) (*iam.DeletePolicyVersionOutput, error) {
	return &iam.DeletePolicyVersionOutput{}, f.policyOp("DeletePolicyVersion", aws.ToString(in.PolicyArn), func(p *fakePolicy) error {
		id := aws.ToString(in.VersionId)
		if id == p.defaultID {
			return &types.DeleteConflictException{Message: aws.String("Cannot delete the default version of a policy.")}
		}
		if p.version(id) == nil {
			return noEntity("Policy version " + id)
		}
		p.versions = slices.DeleteFunc(p.versions, func(v fakeVersion) bool { return v.id == id })
		return nil
	})
}

func (f *fakeIAM) TagPolicy(_ context.Context, in *iam.TagPolicyInput, _ ...func(*iam.Options)) (*iam.TagPolicyOutput, error) {
	return &iam.TagPolicyOutput{}, f.policyOp("TagPolicy", aws.ToString(in.PolicyArn), func(p *fakePolicy) error {
		for k, v := range tagMap(in.Tags) {
			p.tags[k] = v
		}
		return nil
	})
}

func (f *fakeIAM) UntagPolicy(_ context.Context, in *iam.UntagPolicyInput, _ ...func(*iam.Options)) (*iam.UntagPolicyOutput, error) {
	return &iam.UntagPolicyOutput{}, f.policyOp("UntagPolicy", aws.ToString(in.PolicyArn), func(p *fakePolicy) error {
		for _, k := range in.TagKeys {
			delete(p.tags, k)
		}
		return nil
	})
}

var _ IAMAPI = (*fakeIAM)(nil)
var _ IAMAPI = (*iam.Client)(nil)

// TestReadActual reads back what the fake holds: the provider URL without the
// https:// some implementations return, documents decoded from percent-encoding,
// sorted tags and lists, roles over several ListRoles pages, and only the
// entities the desired state names or this config's tag marks.
func TestReadActual(t *testing.T) {
	ctx := context.Background()
	f := newFakeIAM()
	f.withScheme = true
	f.providers["arn:aws:iam::123456789012:oidc-provider/127.0.0.1:8400/oidc"] = &fakeProvider{url: "127.0.0.1:8400/oidc", clientIDs: []string{"b", "a"}, thumbprints: []string{"ABCDEF0123456789ABCDEF0123456789ABCDEF01"}, tags: map[string]string{ManagedTagKey: "web", "z": "1"}}
	f.providers["arn:aws:iam::123456789012:oidc-provider/other.example"] = &fakeProvider{url: "other.example", tags: map[string]string{}}
	trust := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sts:AssumeRoleWithWebIdentity","Principal":{"Federated":"x"},"Condition":{"StringLike":{"k":"a+b c"}}}]}`
	for i := range 7 {
		f.roles[fmt.Sprintf("unrelated-%d", i)] = &fakeRole{path: "/", trust: trust, tags: map[string]string{}, inline: map[string]string{}}
	}
	f.roles["gone"] = &fakeRole{path: "/ci/", trust: trust, maxSession: 3600, tags: map[string]string{ManagedTagKey: "web"}, inline: map[string]string{"p": `{"Version":"2012-10-17","Statement":[]}`}, attached: []string{"arn:aws:iam::aws:policy/B", "arn:aws:iam::aws:policy/A"}}
	f.roles["named"] = &fakeRole{path: "/", trust: trust, maxSession: 7200, description: "d", boundary: "arn:aws:iam::123456789012:policy/b", tags: map[string]string{"owner": "x"}, inline: map[string]string{}}
	desired := &State{Name: "web", Account: "123456789012", Partition: "aws",
		Providers: []Provider{{URL: "127.0.0.1:8400/oidc"}}, Roles: []Role{{Name: "named"}}}

	got, err := ReadActual(ctx, f, desired, ReadOptions{Concurrency: 2})
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Providers) != 1 || got.Providers[0].URL != "127.0.0.1:8400/oidc" {
		t.Fatalf("providers = %+v, want only 127.0.0.1:8400/oidc without https://", got.Providers)
	}
	p := got.Providers[0]
	if strings.Join(p.ClientIDs, ",") != "a,b" || p.Thumbprints[0] != "abcdef0123456789abcdef0123456789abcdef01" || p.Tags[0].Key != ManagedTagKey {
		t.Errorf("provider read as %+v", p)
	}
	var names []string
	for _, r := range got.Roles {
		names = append(names, r.Name)
	}
	if strings.Join(names, ",") != "gone,named" {
		t.Fatalf("roles = %v, want gone (tagged web) and named (desired)", names)
	}
	gone, named := got.Roles[0], got.Roles[1]
	if gone.TrustPolicy != Document(trust) {
		t.Errorf("trust policy decoded as %s, want %s", gone.TrustPolicy, trust)
	}
	if len(gone.InlinePolicies) != 1 || gone.InlinePolicies[0].Name != "p" || strings.Join(gone.ManagedPolicyARNs, ",") != "arn:aws:iam::aws:policy/A,arn:aws:iam::aws:policy/B" || gone.Path != "/ci/" {
		t.Errorf("gone read as %+v", gone)
	}
	if named.Description != "d" || named.MaxSessionDuration != 7200 || named.PermissionsBoundary != "arn:aws:iam::123456789012:policy/b" || named.ARN != "arn:aws:iam::123456789012:role/named" {
		t.Errorf("named read as %+v", named)
	}

	if _, err := ReadActual(ctx, f, &State{}, ReadOptions{}); err == nil || !strings.Contains(err.Error(), "no name") {
		t.Errorf("a desired state without a name: err = %v, want one saying so", err)
	}
	if _, err := ReadActual(ctx, failingReads{f}, desired, ReadOptions{}); err == nil || !strings.Contains(err.Error(), "read IAM role") {
		t.Errorf("a failing GetRole: err = %v, want it named", err)
	}
}

// failingReads fails every GetRole.
type failingReads struct{ *fakeIAM }

func (failingReads) GetRole(context.Context, *iam.GetRoleInput, ...func(*iam.Options)) (*iam.GetRoleOutput, error) {
	return nil, fmt.Errorf("throttled")
}

func TestDecodeDocument(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{`%7B%22a%22%3A%20%22b%2Bc%22%7D`, `{"a":"b+c"}`},
		{`{"a": "100%"}`, `{"a":"100%"}`},
		{``, ``},
	} {
		got, err := decodeDocument(tc.in)
		if err != nil || string(got) != tc.want {
			t.Errorf("decodeDocument(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
	if _, err := decodeDocument("not json"); err == nil {
		t.Error("decodeDocument accepted text that is not JSON")
	}
}

// TestReadActualPolicies reads the customer managed policies a desired state names
// (tagged or not) and those tagged for its config, over several ListPolicies
// pages: the document of the default version (not the newest), decoded; the
// versions oldest first with the default marked; tags sorted; the description.
// Policies neither named nor tagged for the config are not read beyond their tags.
func TestReadActualPolicies(t *testing.T) {
	f := newFakeIAM()
	doc := func(action string) string {
		return `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"` + action + `","Resource":"*"}]}`
	}
	named := f.seedPolicy("named", "/ci/", map[string]string{"owner": "x"}, doc("s3:GetObject"), doc("s3:PutObject"), doc("s3:ListBucket"))
	f.policies[named].defaultID = "v2"
	f.policies[named].description = "by hand"
	tagged := f.seedPolicy("tagged", "/", map[string]string{ManagedTagKey: "web", "z": "1", "a": "2"}, doc("sqs:SendMessage"))
	for i := range 5 {
		f.seedPolicy(fmt.Sprintf("unrelated-%d", i), "/", map[string]string{ManagedTagKey: "api"}, doc("s3:GetObject"))
	}
	desired := &State{Name: "web", Account: "123456789012", Partition: "aws", Policies: []ManagedPolicy{{Name: "named", Path: "/ci/"}}}

	got, err := ReadActual(context.Background(), f, desired, ReadOptions{Concurrency: 2})
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Policies) != 2 || got.Policies[0].ARN != named || got.Policies[1].ARN != tagged {
		t.Fatalf("policies = %+v, want %s (named) and %s (tagged web), by ARN", got.Policies, named, tagged)
	}
	n := got.Policies[0]
	want := ManagedPolicy{Name: "named", Path: "/ci/", ARN: named, Description: "by hand", Document: Document(doc("s3:PutObject")),
		Tags:     []Tag{{"owner", "x"}},
		Versions: []PolicyVersion{{ID: "v1"}, {ID: "v2", Default: true}, {ID: "v3"}}}
	if !reflect.DeepEqual(n, want) {
		t.Errorf("named read as\n  %+v\nwant\n  %+v", n, want)
	}
	if tg := got.Policies[1]; !reflect.DeepEqual(tg.Tags, []Tag{{"a", "2"}, {ManagedTagKey, "web"}, {"z", "1"}}) || tg.Document != Document(doc("sqs:SendMessage")) {
		t.Errorf("tagged read as %+v", tg)
	}

	// Either kept policy may fail first.
	_, err = ReadActual(context.Background(), failingPolicyReads{f}, desired, ReadOptions{})
	if e := fmt.Sprint(err); e != "read the default version v2 of IAM policy "+named+": throttled" && e != "read the default version v1 of IAM policy "+tagged+": throttled" {
		t.Errorf("a failing GetPolicyVersion: err = %v, want the version and policy named", err)
	}
}

// failingPolicyReads fails every GetPolicyVersion.
type failingPolicyReads struct{ *fakeIAM }

func (failingPolicyReads) GetPolicyVersion(context.Context, *iam.GetPolicyVersionInput, ...func(*iam.Options)) (*iam.GetPolicyVersionOutput, error) {
	return nil, fmt.Errorf("throttled")
}
