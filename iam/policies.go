package iam

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

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
	return "arn:aws:iam::" + s.cfg.Account + ":policy" + path + name
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
	if _, err := s.getPolicy(ctx, arn); err != nil {
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
	err = s.st.DeletePolicy(ctx, arn)
	if errors.Is(err, store.ErrNotFound) {
		return noSuchEntity("Policy " + arn + " was not found.")
	}
	return storeErr("delete policy", err)
}

// getPolicyVersion returns a version of a managed policy (only the default one is kept).
func (s *Service) getPolicyVersion(ctx context.Context, arn, version string) (store.ManagedPolicy, error) {
	p, err := s.getPolicy(ctx, arn)
	if err != nil {
		return p, err
	}
	if p.VersionID != version {
		return store.ManagedPolicy{}, noSuchEntity("Policy " + arn + " version " + version + " does not exist or is not attachable.")
	}
	return p, nil
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
