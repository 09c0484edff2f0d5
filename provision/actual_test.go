package provision

import (
	"context"
	"fmt"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"

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

type fakeRole struct {
	path, description, trust, boundary string
	maxSession                         int32
	inline                             map[string]string
	attached                           []string
	tags                               map[string]string
}

func newFakeIAM() *fakeIAM {
	return &fakeIAM{account: "123456789012", providers: map[string]*fakeProvider{}, roles: map[string]*fakeRole{}, fail: map[string]error{}, pageSize: 3}
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
		r.attached = append(r.attached, aws.ToString(in.PolicyArn))
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
