package provision

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/iam/types"
	"golang.org/x/sync/errgroup"
)

// IAMReadAPI is the part of the IAM client that [ReadActual] calls; *iam.Client
// implements it.
type IAMReadAPI interface {
	ListOpenIDConnectProviders(ctx context.Context, in *iam.ListOpenIDConnectProvidersInput, optFns ...func(*iam.Options)) (*iam.ListOpenIDConnectProvidersOutput, error)
	GetOpenIDConnectProvider(ctx context.Context, in *iam.GetOpenIDConnectProviderInput, optFns ...func(*iam.Options)) (*iam.GetOpenIDConnectProviderOutput, error)
	ListRoles(ctx context.Context, in *iam.ListRolesInput, optFns ...func(*iam.Options)) (*iam.ListRolesOutput, error)
	GetRole(ctx context.Context, in *iam.GetRoleInput, optFns ...func(*iam.Options)) (*iam.GetRoleOutput, error)
	ListRolePolicies(ctx context.Context, in *iam.ListRolePoliciesInput, optFns ...func(*iam.Options)) (*iam.ListRolePoliciesOutput, error)
	GetRolePolicy(ctx context.Context, in *iam.GetRolePolicyInput, optFns ...func(*iam.Options)) (*iam.GetRolePolicyOutput, error)
	ListAttachedRolePolicies(ctx context.Context, in *iam.ListAttachedRolePoliciesInput, optFns ...func(*iam.Options)) (*iam.ListAttachedRolePoliciesOutput, error)
	ListPolicies(ctx context.Context, in *iam.ListPoliciesInput, optFns ...func(*iam.Options)) (*iam.ListPoliciesOutput, error)
	ListPolicyTags(ctx context.Context, in *iam.ListPolicyTagsInput, optFns ...func(*iam.Options)) (*iam.ListPolicyTagsOutput, error)
	GetPolicy(ctx context.Context, in *iam.GetPolicyInput, optFns ...func(*iam.Options)) (*iam.GetPolicyOutput, error)
	GetPolicyVersion(ctx context.Context, in *iam.GetPolicyVersionInput, optFns ...func(*iam.Options)) (*iam.GetPolicyVersionOutput, error)
	ListPolicyVersions(ctx context.Context, in *iam.ListPolicyVersionsInput, optFns ...func(*iam.Options)) (*iam.ListPolicyVersionsOutput, error)
}

// IAMAPI is the part of the IAM client that [ReadActual] and [Apply] call;
// *iam.Client implements it, so the same code runs against AWS and keyless up.
type IAMAPI interface {
	IAMReadAPI
	CreateOpenIDConnectProvider(ctx context.Context, in *iam.CreateOpenIDConnectProviderInput, optFns ...func(*iam.Options)) (*iam.CreateOpenIDConnectProviderOutput, error)
	DeleteOpenIDConnectProvider(ctx context.Context, in *iam.DeleteOpenIDConnectProviderInput, optFns ...func(*iam.Options)) (*iam.DeleteOpenIDConnectProviderOutput, error)
	AddClientIDToOpenIDConnectProvider(ctx context.Context, in *iam.AddClientIDToOpenIDConnectProviderInput, optFns ...func(*iam.Options)) (*iam.AddClientIDToOpenIDConnectProviderOutput, error)
	RemoveClientIDFromOpenIDConnectProvider(ctx context.Context, in *iam.RemoveClientIDFromOpenIDConnectProviderInput, optFns ...func(*iam.Options)) (*iam.RemoveClientIDFromOpenIDConnectProviderOutput, error)
	UpdateOpenIDConnectProviderThumbprint(ctx context.Context, in *iam.UpdateOpenIDConnectProviderThumbprintInput, optFns ...func(*iam.Options)) (*iam.UpdateOpenIDConnectProviderThumbprintOutput, error)
	TagOpenIDConnectProvider(ctx context.Context, in *iam.TagOpenIDConnectProviderInput, optFns ...func(*iam.Options)) (*iam.TagOpenIDConnectProviderOutput, error)
	UntagOpenIDConnectProvider(ctx context.Context, in *iam.UntagOpenIDConnectProviderInput, optFns ...func(*iam.Options)) (*iam.UntagOpenIDConnectProviderOutput, error)
	CreateRole(ctx context.Context, in *iam.CreateRoleInput, optFns ...func(*iam.Options)) (*iam.CreateRoleOutput, error)
	DeleteRole(ctx context.Context, in *iam.DeleteRoleInput, optFns ...func(*iam.Options)) (*iam.DeleteRoleOutput, error)
	UpdateRole(ctx context.Context, in *iam.UpdateRoleInput, optFns ...func(*iam.Options)) (*iam.UpdateRoleOutput, error)
	UpdateAssumeRolePolicy(ctx context.Context, in *iam.UpdateAssumeRolePolicyInput, optFns ...func(*iam.Options)) (*iam.UpdateAssumeRolePolicyOutput, error)
	PutRolePolicy(ctx context.Context, in *iam.PutRolePolicyInput, optFns ...func(*iam.Options)) (*iam.PutRolePolicyOutput, error)
	DeleteRolePolicy(ctx context.Context, in *iam.DeleteRolePolicyInput, optFns ...func(*iam.Options)) (*iam.DeleteRolePolicyOutput, error)
	AttachRolePolicy(ctx context.Context, in *iam.AttachRolePolicyInput, optFns ...func(*iam.Options)) (*iam.AttachRolePolicyOutput, error)
	DetachRolePolicy(ctx context.Context, in *iam.DetachRolePolicyInput, optFns ...func(*iam.Options)) (*iam.DetachRolePolicyOutput, error)
	TagRole(ctx context.Context, in *iam.TagRoleInput, optFns ...func(*iam.Options)) (*iam.TagRoleOutput, error)
	UntagRole(ctx context.Context, in *iam.UntagRoleInput, optFns ...func(*iam.Options)) (*iam.UntagRoleOutput, error)
	PutRolePermissionsBoundary(ctx context.Context, in *iam.PutRolePermissionsBoundaryInput, optFns ...func(*iam.Options)) (*iam.PutRolePermissionsBoundaryOutput, error)
	DeleteRolePermissionsBoundary(ctx context.Context, in *iam.DeleteRolePermissionsBoundaryInput, optFns ...func(*iam.Options)) (*iam.DeleteRolePermissionsBoundaryOutput, error)
	CreatePolicy(ctx context.Context, in *iam.CreatePolicyInput, optFns ...func(*iam.Options)) (*iam.CreatePolicyOutput, error)
	DeletePolicy(ctx context.Context, in *iam.DeletePolicyInput, optFns ...func(*iam.Options)) (*iam.DeletePolicyOutput, error)
	CreatePolicyVersion(ctx context.Context, in *iam.CreatePolicyVersionInput, optFns ...func(*iam.Options)) (*iam.CreatePolicyVersionOutput, error)
	DeletePolicyVersion(ctx context.Context, in *iam.DeletePolicyVersionInput, optFns ...func(*iam.Options)) (*iam.DeletePolicyVersionOutput, error)
	TagPolicy(ctx context.Context, in *iam.TagPolicyInput, optFns ...func(*iam.Options)) (*iam.TagPolicyOutput, error)
	UntagPolicy(ctx context.Context, in *iam.UntagPolicyInput, optFns ...func(*iam.Options)) (*iam.UntagPolicyOutput, error)
}

// DefaultConcurrency is how many IAM reads [ReadActual] has in flight at once, and
// how many roles [Apply] changes at once, when the options leave it zero.
const DefaultConcurrency = 16

// ReadOptions tune [ReadActual].
type ReadOptions struct {
	// Concurrency bounds the IAM calls in flight; DefaultConcurrency when <= 0.
	Concurrency int
}

// ReadActual reads from IAM what a plan for desired compares with: the OpenID
// Connect providers, roles and customer managed policies that desired names
// (whoever manages them; policies by name, which IAM keeps unique whatever the
// path) or that carry keyless:managed = desired.Name. It returns them as a State
// (Name and Findings empty) whose documents are decoded from IAM's
// percent-encoding and compacted, and whose lists and tags are sorted; a policy
// comes with the document of its default version and the list of its versions.
// Provider URLs come without https://, whichever way IAM returns them. Reads run
// concurrently, at most opts.Concurrency at a time.
func ReadActual(ctx context.Context, api IAMReadAPI, desired *State, opts ReadOptions) (*State, error) {
	if desired.Name == "" {
		return nil, fmt.Errorf("read IAM: the desired state has no name, so nothing tells what this config manages: set name: in the config")
	}
	limit := opts.Concurrency
	if limit <= 0 {
		limit = DefaultConcurrency
	}
	wantProvider := map[string]bool{}
	for _, p := range desired.Providers {
		wantProvider[p.URL] = true
	}
	wantRole := map[string]bool{}
	for _, r := range desired.Roles {
		wantRole[r.Name] = true
	}
	out := &State{Account: desired.Account, Partition: desired.Partition}

	// Providers: at most 100 per account, each read for its tags.
	list, err := api.ListOpenIDConnectProviders(ctx, &iam.ListOpenIDConnectProvidersInput{})
	if err != nil {
		return nil, fmt.Errorf("list IAM OIDC providers: %w", err)
	}
	providers := make([]*Provider, len(list.OpenIDConnectProviderList))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(limit)
	for i, e := range list.OpenIDConnectProviderList {
		g.Go(func() error {
			p, err := readProvider(gctx, api, aws.ToString(e.Arn))
			if err != nil {
				return err
			}
			if wantProvider[p.URL] || tagValue(p.Tags, ManagedTagKey) == desired.Name {
				providers[i] = p
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	for _, p := range providers {
		if p != nil {
			out.Providers = append(out.Providers, *p)
		}
	}
	sort.Slice(out.Providers, func(i, j int) bool { return out.Providers[i].URL < out.Providers[j].URL })

	// Roles: ListRoles carries no tags, so every role is read with GetRole; the
	// policies are read only for the roles kept.
	var (
		mu    sync.Mutex
		roles []Role
	)
	g, gctx = errgroup.WithContext(ctx)
	g.SetLimit(limit)
	pages := iam.NewListRolesPaginator(api, &iam.ListRolesInput{})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			g.Wait() //nolint:errcheck // the listing error is the one to report
			return nil, fmt.Errorf("list IAM roles: %w", err)
		}
		for _, listed := range page.Roles {
			name := aws.ToString(listed.RoleName)
			g.Go(func() error {
				r, ok, err := readRole(gctx, api, name, func(r *Role) bool {
					return wantRole[r.Name] || tagValue(r.Tags, ManagedTagKey) == desired.Name
				})
				if err != nil || !ok {
					return err
				}
				mu.Lock()
				roles = append(roles, r)
				mu.Unlock()
				return nil
			})
		}
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	sort.Slice(roles, func(i, j int) bool { return roles[i].Name < roles[j].Name })
	out.Roles = roles

	if out.Policies, err = readPolicies(ctx, api, desired, limit); err != nil {
		return nil, err
	}
	return out, nil
}

// readPolicies reads the account's customer managed policies that desired names
// or that carry its keyless:managed tag. ListPolicies carries no tags, so every
// policy's tags are listed; the policies kept are read with GetPolicy, the
// default version's document and the list of versions.
func readPolicies(ctx context.Context, api IAMReadAPI, desired *State, limit int) ([]ManagedPolicy, error) {
	wantPolicy := map[string]bool{}
	for _, p := range desired.Policies {
		wantPolicy[p.Name] = true
	}
	var (
		mu  sync.Mutex
		out []ManagedPolicy
	)
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(limit)
	pages := iam.NewListPoliciesPaginator(api, &iam.ListPoliciesInput{Scope: types.PolicyScopeTypeLocal})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			g.Wait() //nolint:errcheck // the listing error is the one to report
			return nil, fmt.Errorf("list IAM customer managed policies: %w", err)
		}
		for _, listed := range page.Policies {
			policyARN, name := aws.ToString(listed.Arn), aws.ToString(listed.PolicyName)
			g.Go(func() error {
				tags, err := readPolicyTags(gctx, api, policyARN)
				if err != nil {
					return err
				}
				if !wantPolicy[name] && tagValue(tags, ManagedTagKey) != desired.Name {
					return nil
				}
				p, err := readPolicy(gctx, api, policyARN)
				if err != nil {
					return err
				}
				p.Tags = tags
				mu.Lock()
				out = append(out, *p)
				mu.Unlock()
				return nil
			})
		}
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ARN < out[j].ARN })
	return out, nil
}

// readPolicyTags lists a managed policy's tags, sorted by key.
func readPolicyTags(ctx context.Context, api IAMReadAPI, policyARN string) ([]Tag, error) {
	var tags []Tag
	pages := iam.NewListPolicyTagsPaginator(api, &iam.ListPolicyTagsInput{PolicyArn: aws.String(policyARN)})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("list the tags of IAM policy %s: %w", policyARN, err)
		}
		for _, t := range page.Tags {
			tags = append(tags, Tag{aws.ToString(t.Key), aws.ToString(t.Value)})
		}
	}
	sortTags(tags)
	return tags, nil
}

// readPolicy reads a managed policy but its tags: GetPolicy, the document of the
// default version and the versions, oldest first.
func readPolicy(ctx context.Context, api IAMReadAPI, policyARN string) (*ManagedPolicy, error) {
	got, err := api.GetPolicy(ctx, &iam.GetPolicyInput{PolicyArn: aws.String(policyARN)})
	if err != nil {
		return nil, fmt.Errorf("read IAM policy %s: %w", policyARN, err)
	}
	if got.Policy == nil {
		return nil, fmt.Errorf("read IAM policy %s: GetPolicy answered no policy", policyARN)
	}
	x := got.Policy
	p := &ManagedPolicy{
		Name:        aws.ToString(x.PolicyName),
		Path:        aws.ToString(x.Path),
		ARN:         policyARN,
		Description: aws.ToString(x.Description),
	}
	if p.Path == "" {
		p.Path = "/"
	}
	def := aws.ToString(x.DefaultVersionId)
	ver, err := api.GetPolicyVersion(ctx, &iam.GetPolicyVersionInput{PolicyArn: aws.String(policyARN), VersionId: aws.String(def)})
	if err != nil {
		return nil, fmt.Errorf("read the default version %s of IAM policy %s: %w", def, policyARN, err)
	}
	if ver.PolicyVersion == nil {
		return nil, fmt.Errorf("read the default version %s of IAM policy %s: GetPolicyVersion answered no version", def, policyARN)
	}
	if p.Document, err = decodeDocument(aws.ToString(ver.PolicyVersion.Document)); err != nil {
		return nil, fmt.Errorf("read IAM policy %s: %w", policyARN, err)
	}
	type dated struct {
		PolicyVersion
		created time.Time
		n       int
	}
	var versions []dated
	pages := iam.NewListPolicyVersionsPaginator(api, &iam.ListPolicyVersionsInput{PolicyArn: aws.String(policyARN)})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("list the versions of IAM policy %s: %w", policyARN, err)
		}
		for _, v := range page.Versions {
			id := aws.ToString(v.VersionId)
			n, _ := strconv.Atoi(strings.TrimPrefix(id, "v"))
			versions = append(versions, dated{PolicyVersion{ID: id, Default: v.IsDefaultVersion || id == def}, aws.ToTime(v.CreateDate), n})
		}
	}
	// Oldest first: by creation date, then by version number (IAM numbers them in
	// order, and dates may tie within a second).
	sort.SliceStable(versions, func(i, j int) bool {
		a, b := versions[i], versions[j]
		if !a.created.Equal(b.created) {
			return a.created.Before(b.created)
		}
		return a.n < b.n
	})
	for _, v := range versions {
		p.Versions = append(p.Versions, v.PolicyVersion)
	}
	return p, nil
}

// readProvider reads one OpenID Connect provider.
func readProvider(ctx context.Context, api IAMReadAPI, providerARN string) (*Provider, error) {
	got, err := api.GetOpenIDConnectProvider(ctx, &iam.GetOpenIDConnectProviderInput{OpenIDConnectProviderArn: aws.String(providerARN)})
	if err != nil {
		return nil, fmt.Errorf("read IAM OIDC provider %s: %w", providerARN, err)
	}
	u := NormalizeProviderURL(aws.ToString(got.Url))
	if u == "" {
		// Some implementations leave Url out; the ARN ends with it.
		_, u, _ = strings.Cut(providerARN, ":oidc-provider/")
	}
	p := &Provider{
		URL:         u,
		ARN:         providerARN,
		ClientIDs:   sortedCopy(got.ClientIDList),
		Thumbprints: lowerSorted(got.ThumbprintList),
	}
	for _, t := range got.Tags {
		p.Tags = append(p.Tags, Tag{aws.ToString(t.Key), aws.ToString(t.Value)})
	}
	sortTags(p.Tags)
	return p, nil
}

// NormalizeProviderURL returns an issuer URL as IAM stores it: without https://
// (keyless up returns URLs with a port with it, AWS never) and without a final /.
func NormalizeProviderURL(u string) string {
	return strings.TrimSuffix(strings.TrimPrefix(u, "https://"), "/")
}

// readRole reads a role with GetRole and, when keep accepts it, its inline and
// attached policies.
func readRole(ctx context.Context, api IAMReadAPI, name string, keep func(*Role) bool) (Role, bool, error) {
	got, err := api.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String(name)})
	if err != nil {
		return Role{}, false, fmt.Errorf("read IAM role %s: %w", name, err)
	}
	if got.Role == nil {
		return Role{}, false, fmt.Errorf("read IAM role %s: GetRole answered no role", name)
	}
	x := got.Role
	r := Role{
		Name:               aws.ToString(x.RoleName),
		Path:               aws.ToString(x.Path),
		ARN:                aws.ToString(x.Arn),
		Description:        aws.ToString(x.Description),
		MaxSessionDuration: aws.ToInt32(x.MaxSessionDuration),
	}
	if x.PermissionsBoundary != nil {
		r.PermissionsBoundary = aws.ToString(x.PermissionsBoundary.PermissionsBoundaryArn)
	}
	for _, t := range x.Tags {
		r.Tags = append(r.Tags, Tag{aws.ToString(t.Key), aws.ToString(t.Value)})
	}
	sortTags(r.Tags)
	if !keep(&r) {
		return Role{}, false, nil
	}
	doc, err := decodeDocument(aws.ToString(x.AssumeRolePolicyDocument))
	if err != nil {
		return Role{}, false, fmt.Errorf("read IAM role %s: trust policy: %w", name, err)
	}
	r.TrustPolicy = doc

	inline := iam.NewListRolePoliciesPaginator(api, &iam.ListRolePoliciesInput{RoleName: aws.String(name)})
	for inline.HasMorePages() {
		page, err := inline.NextPage(ctx)
		if err != nil {
			return Role{}, false, fmt.Errorf("list the inline policies of IAM role %s: %w", name, err)
		}
		for _, pn := range page.PolicyNames {
			pol, err := api.GetRolePolicy(ctx, &iam.GetRolePolicyInput{RoleName: aws.String(name), PolicyName: aws.String(pn)})
			if err != nil {
				return Role{}, false, fmt.Errorf("read inline policy %s of IAM role %s: %w", pn, name, err)
			}
			doc, err := decodeDocument(aws.ToString(pol.PolicyDocument))
			if err != nil {
				return Role{}, false, fmt.Errorf("read inline policy %s of IAM role %s: %w", pn, name, err)
			}
			r.InlinePolicies = append(r.InlinePolicies, InlinePolicy{Name: pn, Document: doc})
		}
	}
	sort.Slice(r.InlinePolicies, func(i, j int) bool { return r.InlinePolicies[i].Name < r.InlinePolicies[j].Name })

	attached := iam.NewListAttachedRolePoliciesPaginator(api, &iam.ListAttachedRolePoliciesInput{RoleName: aws.String(name)})
	for attached.HasMorePages() {
		page, err := attached.NextPage(ctx)
		if err != nil {
			return Role{}, false, fmt.Errorf("list the managed policies of IAM role %s: %w", name, err)
		}
		for _, ap := range page.AttachedPolicies {
			r.ManagedPolicyARNs = append(r.ManagedPolicyARNs, aws.ToString(ap.PolicyArn))
		}
	}
	sort.Strings(r.ManagedPolicyARNs)
	return r, true, nil
}

// decodeDocument undoes IAM's percent-encoding of a policy document (RFC 3986, so
// "+" is a plus sign) and compacts it. A document that is JSON already, as some
// implementations return it, is taken as is.
func decodeDocument(raw string) (Document, error) {
	if raw == "" {
		return "", nil
	}
	text := raw
	if dec, err := url.PathUnescape(raw); err == nil && json.Valid([]byte(dec)) {
		text = dec
	} else if !json.Valid([]byte(raw)) {
		return "", fmt.Errorf("the document IAM returned is not JSON, percent-encoded or not")
	}
	var d Document
	if err := d.UnmarshalJSON([]byte(text)); err != nil {
		return "", err
	}
	return d, nil
}

func tagValue(tags []Tag, key string) string {
	for _, t := range tags {
		if t.Key == key {
			return t.Value
		}
	}
	return ""
}

func sortTags(tags []Tag) {
	sort.Slice(tags, func(i, j int) bool { return tags[i].Key < tags[j].Key })
}

func sortedCopy(v []string) []string {
	out := append([]string(nil), v...)
	sort.Strings(out)
	return out
}

func lowerSorted(v []string) []string {
	out := make([]string, len(v))
	for i, s := range v {
		out[i] = strings.ToLower(s)
	}
	sort.Strings(out)
	return out
}
