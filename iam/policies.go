package iam

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/keyless-dev/keyless/arn"
	"github.com/keyless-dev/keyless/awsapi"
	"github.com/keyless-dev/keyless/policy"
	"github.com/keyless-dev/keyless/store"
)

// Managed policy limits and names.
const (
	maxManagedPolicySize = policy.MaxManagedPolicySize // PolicySize
	awsPolicyPrefix      = "arn:aws:iam::aws:policy"
)

// policyARN is the ARN of a customer-managed policy.
func (s *Service) policyARN(path, name string) string {
	return arn.Policy(arn.DefaultPartition, s.cfg.Account, path, name).String()
}

// policyInput is what CreatePolicy asks for.
type policyInput struct {
	Name        string
	Path        string
	Document    string
	Description string
	Tags        []store.Tag
}

// checkManagedDocument validates a managed policy document: size, then grammar.
func checkManagedDocument(doc string) error {
	if policy.Size([]byte(doc), policy.KindIdentity) > maxManagedPolicySize {
		return limitExceeded(fmt.Sprintf("Cannot exceed quota for PolicySize: %d", maxManagedPolicySize))
	}
	return parsePolicy(doc, policy.KindIdentity)
}

// createPolicy creates a customer-managed policy (version v1). Policy names are
// unique in the account whatever their path.
func (s *Service) createPolicy(ctx context.Context, in policyInput) (store.ManagedPolicy, error) {
	if err := checkManagedDocument(in.Document); err != nil {
		return store.ManagedPolicy{}, err
	}
	if err := checkTagKeys(nil, in.Tags); err != nil {
		return store.ManagedPolicy{}, err
	}
	all, err := s.st.ListPolicies(ctx)
	if err != nil {
		return store.ManagedPolicy{}, storeErr("create policy", err)
	}
	exists := entityAlreadyExists("A policy called " + in.Name + " already exists. Duplicate names are not allowed.")
	for _, p := range all {
		if !isAWSManaged(p.ARN) && strings.EqualFold(p.Name, in.Name) {
			return store.ManagedPolicy{}, exists
		}
	}
	id, err := s.newID("ANPA")
	if err != nil {
		return store.ManagedPolicy{}, err
	}
	now := s.now()
	p := store.ManagedPolicy{
		ID:          id,
		Name:        in.Name,
		Path:        in.Path,
		ARN:         s.policyARN(in.Path, in.Name),
		Document:    in.Document,
		Description: in.Description,
		VersionID:   "v1",
		Tags:        in.Tags,
		CreatedAt:   now,
		UpdatedAt:   now,
		Versions:    []store.PolicyVersion{{ID: "v1", Document: in.Document, CreatedAt: now}},
		LastVersion: 1,
	}
	if err := s.st.CreatePolicy(ctx, p); err != nil {
		if errors.Is(err, store.ErrAlreadyExists) {
			return store.ManagedPolicy{}, exists
		}
		return store.ManagedPolicy{}, storeErr("create policy", err)
	}
	return p, nil
}

// getPolicy returns a managed policy: a customer-managed one from the store, or one
// of the AWS managed policies keyless knows.
func (s *Service) getPolicy(ctx context.Context, arn string) (store.ManagedPolicy, error) {
	p, err := s.st.GetPolicy(ctx, arn)
	if err == nil {
		return p, nil
	}
	if !errors.Is(err, store.ErrNotFound) {
		return p, storeErr("get policy", err)
	}
	if p, ok := awsManagedPolicy(arn); ok {
		return p, nil
	}
	return store.ManagedPolicy{}, noSuchEntity("Policy " + arn + " was not found.")
}

// checkAttachable requires arn to name a policy that can be attached, and makes
// sure an AWS managed one is in the store (where the authorizer reads it).
func (s *Service) checkAttachable(ctx context.Context, arn string) error {
	if _, err := s.getPolicy(ctx, arn); err != nil {
		if awsapi.HasCode(err, "NoSuchEntity") {
			return notAttachable(arn)
		}
		return err
	}
	return s.ensureStored(ctx, arn)
}

// ensureStored copies a known AWS managed policy into the store on first use.
func (s *Service) ensureStored(ctx context.Context, arn string) error {
	p, ok := awsManagedPolicy(arn)
	if !ok {
		return nil
	}
	if err := s.st.CreatePolicy(ctx, p); err != nil && !errors.Is(err, store.ErrAlreadyExists) {
		return storeErr("store AWS managed policy", err)
	}
	return nil
}

// policyUsage counts, per policy ARN, the roles and users it is attached to and
// those it bounds.
type policyUsage struct {
	attached map[string]int
	boundary map[string]int
}

// usage scans roles and users for attached policies and permissions boundaries.
func (s *Service) usage(ctx context.Context) (policyUsage, error) {
	u := policyUsage{attached: map[string]int{}, boundary: map[string]int{}}
	roles, err := s.st.ListRoles(ctx)
	if err != nil {
		return u, storeErr("count policy attachments", err)
	}
	for _, r := range roles {
		for _, a := range r.AttachedPolicies {
			u.attached[a]++
		}
		if r.PermissionsBoundary != "" {
			u.boundary[r.PermissionsBoundary]++
		}
	}
	users, err := s.st.ListUsers(ctx)
	if err != nil {
		return u, storeErr("count policy attachments", err)
	}
	for _, usr := range users {
		for _, a := range usr.AttachedPolicies {
			u.attached[a]++
		}
	}
	return u, nil
}

// policyFilter selects managed policies for ListPolicies.
type policyFilter struct {
	Scope        string // All, AWS or Local
	OnlyAttached bool
	PathPrefix   string
}

// listPolicies returns the managed policies that match f, ordered by ARN.
func (s *Service) listPolicies(ctx context.Context, f policyFilter, u policyUsage) ([]store.ManagedPolicy, error) {
	stored, err := s.st.ListPolicies(ctx)
	if err != nil {
		return nil, storeErr("list policies", err)
	}
	byARN := map[string]store.ManagedPolicy{}
	if f.Scope != "AWS" {
		for _, p := range stored {
			if !isAWSManaged(p.ARN) {
				byARN[p.ARN] = p
			}
		}
	}
	if f.Scope != "Local" {
		for _, p := range awsManagedPolicies() {
			byARN[p.ARN] = p
		}
	}
	var out []store.ManagedPolicy
	for _, p := range byARN {
		if !strings.HasPrefix(p.Path, f.PathPrefix) {
			continue
		}
		if f.OnlyAttached && u.attached[p.ARN] == 0 {
			continue
		}
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ARN < out[j].ARN })
	return out, nil
}

// deletePolicy deletes a customer-managed policy that nothing uses.
func (s *Service) deletePolicy(ctx context.Context, arn string, callerARN string) error {
	p, err := s.getPolicy(ctx, arn)
	if err != nil {
		return err
	}
	if isAWSManaged(arn) {
		return awsManagedReadOnly(callerARN, "DeletePolicy", arn)
	}
	u, err := s.usage(ctx)
	if err != nil {
		return err
	}
	if u.attached[arn] > 0 || u.boundary[arn] > 0 {
		return deleteConflict("Cannot delete a policy attached to entities.")
	}
	if len(versionsOf(p)) > 1 {
		return deleteConflict("This policy has more than one version. Before you delete a policy, you must delete the policy's versions. The default version is deleted with the policy.")
	}
	err = s.st.DeletePolicy(ctx, arn)
	if errors.Is(err, store.ErrNotFound) {
		return noSuchEntity("Policy " + arn + " was not found.")
	}
	return storeErr("delete policy", err)
}

// Policy versions.

// maxPolicyVersions is how many versions a managed policy may have.
const maxPolicyVersions = 5

// versionsOf returns a policy's versions, oldest first. A policy stored before
// versions were kept, and an AWS managed one, has one: its default.
func versionsOf(p store.ManagedPolicy) []store.PolicyVersion {
	if len(p.Versions) > 0 {
		return p.Versions
	}
	return []store.PolicyVersion{{ID: p.VersionID, Document: p.Document, CreatedAt: p.UpdatedAt}}
}

// versionNumber is N of a version id vN (0 when it is not of that form).
func versionNumber(id string) int {
	n, err := strconv.Atoi(strings.TrimPrefix(id, "v"))
	if err != nil || !strings.HasPrefix(id, "v") {
		return 0
	}
	return n
}

// noSuchVersion is the NoSuchEntity for a version a policy does not have.
func noSuchVersion(arn, version string) *awsapi.Error {
	return noSuchEntity("Policy " + arn + " version " + version + " does not exist or is not attachable.")
}

// getPolicyVersion returns a managed policy and one of its versions.
func (s *Service) getPolicyVersion(ctx context.Context, arn, version string) (store.ManagedPolicy, store.PolicyVersion, error) {
	p, err := s.getPolicy(ctx, arn)
	if err != nil {
		return p, store.PolicyVersion{}, err
	}
	for _, v := range versionsOf(p) {
		if v.ID == version {
			return p, v, nil
		}
	}
	return store.ManagedPolicy{}, store.PolicyVersion{}, noSuchVersion(arn, version)
}

// createPolicyVersion adds a version to a customer-managed policy (at most
// maxPolicyVersions), its id one past the newest ever created, and makes it the
// default when setDefault is true.
func (s *Service) createPolicyVersion(ctx context.Context, r *request, arn, doc string, setDefault bool) (store.PolicyVersion, error) {
	if _, err := s.getPolicy(ctx, arn); err != nil {
		return store.PolicyVersion{}, err
	}
	if err := checkManagedDocument(doc); err != nil {
		return store.PolicyVersion{}, err
	}
	var out store.PolicyVersion
	err := s.updatePolicy(ctx, arn, r, func(p *store.ManagedPolicy) error {
		versions := versionsOf(*p)
		if len(versions) >= maxPolicyVersions {
			return limitExceeded("A managed policy can have up to 5 versions. Before you create a new version, you must delete an existing version.")
		}
		last := p.LastVersion
		for _, v := range versions {
			last = max(last, versionNumber(v.ID))
		}
		now := s.now()
		out = store.PolicyVersion{ID: "v" + strconv.Itoa(last+1), Document: doc, CreatedAt: now}
		p.Versions = append(append([]store.PolicyVersion(nil), versions...), out)
		p.LastVersion = last + 1
		p.UpdatedAt = now
		if setDefault {
			p.VersionID, p.Document = out.ID, out.Document
		}
		return nil
	})
	return out, err
}

// deletePolicyVersion deletes a version that is not the default.
func (s *Service) deletePolicyVersion(ctx context.Context, r *request, arn, version string) error {
	if _, _, err := s.getPolicyVersion(ctx, arn, version); err != nil {
		return err
	}
	return s.updatePolicy(ctx, arn, r, func(p *store.ManagedPolicy) error {
		versions := versionsOf(*p)
		var kept []store.PolicyVersion
		for _, v := range versions {
			if v.ID != version {
				kept = append(kept, v)
			}
		}
		switch {
		case len(kept) == len(versions):
			return noSuchVersion(arn, version)
		case version == p.VersionID:
			return deleteConflict("Cannot delete the default version of a policy.")
		}
		p.Versions = kept
		return nil
	})
}

// setDefaultPolicyVersion makes an existing version the default.
func (s *Service) setDefaultPolicyVersion(ctx context.Context, r *request, arn, version string) error {
	if _, _, err := s.getPolicyVersion(ctx, arn, version); err != nil {
		return err
	}
	return s.updatePolicy(ctx, arn, r, func(p *store.ManagedPolicy) error {
		for _, v := range versionsOf(*p) {
			if v.ID == version {
				p.Versions = versionsOf(*p)
				p.VersionID, p.Document = v.ID, v.Document
				return nil
			}
		}
		return noSuchVersion(arn, version)
	})
}

// policyEntities are the users and roles a managed policy is attached to (or,
// for boundaries, that it bounds), in name order.
type policyEntities struct {
	Users []store.User
	Roles []store.Role
}

// entitiesForPolicy lists the users and roles that use a managed policy as a
// permissions policy (boundary false) or as their permissions boundary.
func (s *Service) entitiesForPolicy(ctx context.Context, arn string, boundary bool) (policyEntities, error) {
	var out policyEntities
	if _, err := s.getPolicy(ctx, arn); err != nil {
		return out, err
	}
	roles, err := s.st.ListRoles(ctx)
	if err != nil {
		return out, storeErr("list entities for policy", err)
	}
	for _, r := range roles {
		if boundary && r.PermissionsBoundary == arn || !boundary && contains(r.AttachedPolicies, arn) {
			out.Roles = append(out.Roles, r)
		}
	}
	if boundary { // keyless has no user permissions boundaries
		return out, nil
	}
	users, err := s.st.ListUsers(ctx)
	if err != nil {
		return out, storeErr("list entities for policy", err)
	}
	for _, u := range users {
		if contains(u.AttachedPolicies, arn) {
			out.Users = append(out.Users, u)
		}
	}
	return out, nil
}

// AWS managed policies.

// isAWSManaged reports whether arn names an AWS managed policy.
func isAWSManaged(arn string) bool { return strings.HasPrefix(arn, awsPolicyPrefix+"/") }

// awsManagedPolicies returns the AWS managed policies keyless serves. Their
// documents are the real ones for AdministratorAccess, IAMFullAccess and the S3
// and CloudFront policies; ReadOnlyAccess and IAMReadOnlyAccess are reduced to the
// services keyless serves.
func awsManagedPolicies() []store.ManagedPolicy {
	defs := []struct{ name, doc string }{
		{"AdministratorAccess", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}`},
		{"ReadOnlyAccess", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["iam:Get*","iam:List*","iam:GenerateCredentialReport","iam:GenerateServiceLastAccessedDetails","iam:SimulateCustomPolicy","iam:SimulatePrincipalPolicy","s3:Get*","s3:List*","s3:Describe*","cloudfront:Describe*","cloudfront:Get*","cloudfront:List*","sts:GetCallerIdentity"],"Resource":"*"}]}`},
		{"IAMFullAccess", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["iam:*","organizations:DescribeAccount","organizations:DescribeOrganization","organizations:DescribeOrganizationalUnit","organizations:DescribePolicy","organizations:ListChildren","organizations:ListParents","organizations:ListPoliciesForTarget","organizations:ListRoots","organizations:ListPolicies","organizations:ListTargetsForPolicy"],"Resource":"*"}]}`},
		{"IAMReadOnlyAccess", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["iam:GenerateCredentialReport","iam:GenerateServiceLastAccessedDetails","iam:Get*","iam:List*","iam:SimulateCustomPolicy","iam:SimulatePrincipalPolicy"],"Resource":"*"}]}`},
		{"AmazonS3FullAccess", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:*","s3-object-lambda:*"],"Resource":"*"}]}`},
		{"AmazonS3ReadOnlyAccess", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:Get*","s3:List*","s3:Describe*","s3-object-lambda:Get*","s3-object-lambda:List*"],"Resource":"*"}]}`},
		{"CloudFrontFullAccess", `{"Version":"2012-10-17","Statement":[{"Action":["s3:ListAllMyBuckets"],"Effect":"Allow","Resource":"arn:aws:s3:::*"},{"Action":["acm:ListCertificates","cloudfront:*","cloudfront-keyvaluestore:*","iam:ListServerCertificates","waf:ListWebACLs","waf:GetWebACL","wafv2:ListWebACLs","wafv2:GetWebACL","kinesis:ListStreams"],"Effect":"Allow","Resource":"*"}]}`},
	}
	created := time.Date(2015, 2, 6, 18, 39, 46, 0, time.UTC)
	out := make([]store.ManagedPolicy, len(defs))
	for i, d := range defs {
		sum := sha256.Sum256([]byte(d.name))
		id := make([]byte, 17)
		for j := range id {
			id[j] = upperAlnum[int(sum[j])%len(upperAlnum)]
		}
		out[i] = store.ManagedPolicy{
			ID:        "ANPA" + string(id),
			Name:      d.name,
			Path:      "/",
			ARN:       awsPolicyPrefix + "/" + d.name,
			Document:  d.doc,
			VersionID: "v1",
			CreatedAt: created,
			UpdatedAt: created,
		}
	}
	return out
}

// awsManagedPolicy returns the AWS managed policy with the given ARN, if known.
func awsManagedPolicy(arn string) (store.ManagedPolicy, bool) {
	if !isAWSManaged(arn) {
		return store.ManagedPolicy{}, false
	}
	for _, p := range awsManagedPolicies() {
		if p.ARN == arn {
			return p, true
		}
	}
	return store.ManagedPolicy{}, false
}

// updatePolicy changes a customer-managed policy in a transaction; AWS managed
// policies cannot be changed.
func (s *Service) updatePolicy(ctx context.Context, arn string, r *request, fn func(*store.ManagedPolicy) error) error {
	if isAWSManaged(arn) {
		if _, err := s.getPolicy(ctx, arn); err != nil {
			return err
		}
		return awsManagedReadOnly(r.caller().ARN, r.action, arn)
	}
	err := s.st.UpdatePolicy(ctx, arn, func(p store.ManagedPolicy) (store.ManagedPolicy, error) {
		err := fn(&p)
		return p, err
	})
	if errors.Is(err, store.ErrNotFound) {
		return noSuchEntity("Policy " + arn + " was not found.")
	}
	return storeErr("update policy", err)
}
