package iam

import (
	"context"
	"strings"

	"github.com/keyless-dev/keyless/policy"
	"github.com/keyless-dev/keyless/store"
)

// policyXML renders a managed policy with its usage counts.
func policyXML(p store.ManagedPolicy, u policyUsage, full bool) xmlPolicy {
	x := xmlPolicy{
		PolicyName:                    p.Name,
		PolicyID:                      p.ID,
		Arn:                           p.ARN,
		Path:                          p.Path,
		DefaultVersionID:              p.VersionID,
		AttachmentCount:               u.attached[p.ARN],
		PermissionsBoundaryUsageCount: u.boundary[p.ARN],
		IsAttachable:                  true,
		CreateDate:                    xmlTime(p.CreatedAt),
		UpdateDate:                    xmlTime(p.UpdatedAt),
	}
	if full {
		x.Description = p.Description
		x.Tags = tagsXML(p.Tags)
	}
	return x
}

// policyRequest validates PolicyArn and authorizes the call on the policy.
func (s *Service) policyRequest(ctx context.Context, r *request, v *validator, extra policy.Context) (string, error) {
	arn := v.arn(r, "PolicyArn", "policyArn")
	if err := v.err(); err != nil {
		return "", err
	}
	if p, err := s.st.GetPolicy(ctx, arn); err == nil {
		extra = resourceTagContext(extra, p.Tags)
	}
	return arn, s.authorize(ctx, r, arn, extra)
}

func (s *Service) handleCreatePolicy(ctx context.Context, r *request) (any, error) {
	var v validator
	name := v.entityName(r, "PolicyName", "policyName", true, 128)
	path := v.path(r, "Path", "path")
	doc := v.document(r, "PolicyDocument", "policyDocument")
	desc := v.str(r, "Description", "description", false, 0, 1000, &patDescription)
	tags := v.tags(r)
	if err := v.err(); err != nil {
		return nil, err
	}
	if err := s.authorize(ctx, r, s.policyARN(path, name), requestTagContext(tags)); err != nil {
		return nil, err
	}
	p, err := s.createPolicy(ctx, policyInput{Name: name, Path: path, Document: doc, Description: desc, Tags: tags})
	if err != nil {
		return nil, err
	}
	x := policyXML(p, policyUsage{}, false)
	x.Tags = tagsXML(p.Tags)
	return &policyResult{Policy: x}, nil
}

func (s *Service) handleGetPolicy(ctx context.Context, r *request) (any, error) {
	var v validator
	arn, err := s.policyRequest(ctx, r, &v, nil)
	if err != nil {
		return nil, err
	}
	p, err := s.getPolicy(ctx, arn)
	if err != nil {
		return nil, err
	}
	u, err := s.usage(ctx)
	if err != nil {
		return nil, err
	}
	return &policyResult{Policy: policyXML(p, u, true)}, nil
}

func (s *Service) handleListPolicies(ctx context.Context, r *request) (any, error) {
	var v validator
	scope := v.enum(r, "Scope", "scope", false, "All", "AWS", "Local")
	if scope == "" {
		scope = "All"
	}
	onlyAttached := v.boolean(r, "OnlyAttached", "onlyAttached")
	prefix := v.pathPrefix(r)
	v.enum(r, "PolicyUsageFilter", "policyUsageFilter", false, "PermissionsPolicy", "PermissionsBoundary")
	marker, max := v.pageParams(r)
	if err := v.err(); err != nil {
		return nil, err
	}
	if err := s.authorize(ctx, r, "*", nil); err != nil {
		return nil, err
	}
	u, err := s.usage(ctx)
	if err != nil {
		return nil, err
	}
	ps, err := s.listPolicies(ctx, policyFilter{Scope: scope, OnlyAttached: onlyAttached, PathPrefix: prefix}, u)
	if err != nil {
		return nil, err
	}
	if r.get("PolicyUsageFilter") == "PermissionsBoundary" && onlyAttached {
		var bounded []store.ManagedPolicy
		for _, p := range ps {
			if u.boundary[p.ARN] > 0 {
				bounded = append(bounded, p)
			}
		}
		ps = bounded
	}
	items, pf, err := page(ps, func(_ int, p store.ManagedPolicy) string { return p.ARN }, marker, max)
	if err != nil {
		return nil, err
	}
	out := &listPoliciesResult{pageFields: pf}
	out.Policies.Members = make([]xmlPolicy, len(items))
	for i, p := range items {
		out.Policies.Members[i] = policyXML(p, u, false)
	}
	return out, nil
}

func (s *Service) handleDeletePolicy(ctx context.Context, r *request) (any, error) {
	var v validator
	arn, err := s.policyRequest(ctx, r, &v, nil)
	if err != nil {
		return nil, err
	}
	return nil, s.deletePolicy(ctx, arn, r.caller().ARN)
}

func (s *Service) handleGetPolicyVersion(ctx context.Context, r *request) (any, error) {
	var v validator
	version := v.str(r, "VersionId", "versionId", true, 0, 0, &patVersionID)
	arn, err := s.policyRequest(ctx, r, &v, nil)
	if err != nil {
		return nil, err
	}
	p, ver, err := s.getPolicyVersion(ctx, arn, version)
	if err != nil {
		return nil, err
	}
	x := policyVersionXML(p, ver)
	x.Document = encodeDocument(ver.Document)
	return &policyVersionResult{PolicyVersion: x}, nil
}

// policyVersionXML renders a version of p, without its document.
func policyVersionXML(p store.ManagedPolicy, v store.PolicyVersion) xmlPolicyVersion {
	return xmlPolicyVersion{VersionID: v.ID, IsDefaultVersion: v.ID == p.VersionID, CreateDate: xmlTime(v.CreatedAt)}
}

func (s *Service) handleListPolicyVersions(ctx context.Context, r *request) (any, error) {
	var v validator
	marker, max := v.pageParams(r)
	arn, err := s.policyRequest(ctx, r, &v, nil)
	if err != nil {
		return nil, err
	}
	p, err := s.getPolicy(ctx, arn)
	if err != nil {
		return nil, err
	}
	// Newest first, as IAM lists them.
	stored := versionsOf(p)
	versions := make([]xmlPolicyVersion, len(stored))
	for i, ver := range stored {
		versions[len(stored)-1-i] = policyVersionXML(p, ver)
	}
	items, pf, err := page(versions, indexKey[xmlPolicyVersion], marker, max)
	if err != nil {
		return nil, err
	}
	out := &listPolicyVersionsResult{pageFields: pf}
	out.Versions.Members = items
	return out, nil
}

func (s *Service) handleCreatePolicyVersion(ctx context.Context, r *request) (any, error) {
	var v validator
	doc := v.document(r, "PolicyDocument", "policyDocument")
	setDefault := v.boolean(r, "SetAsDefault", "setAsDefault")
	arn, err := s.policyRequest(ctx, r, &v, nil)
	if err != nil {
		return nil, err
	}
	ver, err := s.createPolicyVersion(ctx, r, arn, doc, setDefault)
	if err != nil {
		return nil, err
	}
	return &policyVersionResult{PolicyVersion: xmlPolicyVersion{VersionID: ver.ID, IsDefaultVersion: setDefault, CreateDate: xmlTime(ver.CreatedAt)}}, nil
}

func (s *Service) handleDeletePolicyVersion(ctx context.Context, r *request) (any, error) {
	var v validator
	version := v.str(r, "VersionId", "versionId", true, 0, 0, &patVersionID)
	arn, err := s.policyRequest(ctx, r, &v, nil)
	if err != nil {
		return nil, err
	}
	return nil, s.deletePolicyVersion(ctx, r, arn, version)
}

func (s *Service) handleSetDefaultPolicyVersion(ctx context.Context, r *request) (any, error) {
	var v validator
	version := v.str(r, "VersionId", "versionId", true, 0, 0, &patVersionID)
	arn, err := s.policyRequest(ctx, r, &v, nil)
	if err != nil {
		return nil, err
	}
	return nil, s.setDefaultPolicyVersion(ctx, r, arn, version)
}

func (s *Service) handleListEntitiesForPolicy(ctx context.Context, r *request) (any, error) {
	var v validator
	filter := v.enum(r, "EntityFilter", "entityFilter", false, "User", "Role", "Group", "LocalManagedPolicy", "AWSManagedPolicy")
	prefix := v.pathPrefix(r)
	usage := v.enum(r, "PolicyUsageFilter", "policyUsageFilter", false, "PermissionsPolicy", "PermissionsBoundary")
	marker, max := v.pageParams(r)
	arn, err := s.policyRequest(ctx, r, &v, nil)
	if err != nil {
		return nil, err
	}
	ents, err := s.entitiesForPolicy(ctx, arn, usage == "PermissionsBoundary")
	if err != nil {
		return nil, err
	}
	// One list, users before roles, each in name order, so that one marker pages
	// through both.
	type entity struct {
		key  string
		user *xmlPolicyUser
		role *xmlPolicyRole
	}
	var all []entity
	if filter == "" || filter == "User" {
		for _, u := range ents.Users {
			if strings.HasPrefix(u.Path, prefix) {
				all = append(all, entity{key: "1" + strings.ToLower(u.Name), user: &xmlPolicyUser{UserName: u.Name, UserID: u.ID}})
			}
		}
	}
	if filter == "" || filter == "Role" {
		for _, x := range ents.Roles {
			if strings.HasPrefix(x.Path, prefix) {
				all = append(all, entity{key: "2" + strings.ToLower(x.Name), role: &xmlPolicyRole{RoleName: x.Name, RoleID: x.ID}})
			}
		}
	}
	items, pf, err := page(all, func(_ int, e entity) string { return e.key }, marker, max)
	if err != nil {
		return nil, err
	}
	out := &listEntitiesForPolicyResult{pageFields: pf}
	out.PolicyGroups.Members = []xmlPolicyGroup{}
	out.PolicyUsers.Members = []xmlPolicyUser{}
	out.PolicyRoles.Members = []xmlPolicyRole{}
	for _, it := range items {
		if it.user != nil {
			out.PolicyUsers.Members = append(out.PolicyUsers.Members, *it.user)
		} else {
			out.PolicyRoles.Members = append(out.PolicyRoles.Members, *it.role)
		}
	}
	return out, nil
}

func (s *Service) handleTagPolicy(ctx context.Context, r *request) (any, error) {
	var v validator
	tags := v.requiredTags(r)
	arn, err := s.policyRequest(ctx, r, &v, requestTagContext(tags))
	if err != nil {
		return nil, err
	}
	return nil, s.updatePolicy(ctx, arn, r, func(p *store.ManagedPolicy) error {
		if err := checkTagKeys(p.Tags, tags); err != nil {
			return err
		}
		p.Tags = mergeTags(p.Tags, tags)
		return nil
	})
}

func (s *Service) handleUntagPolicy(ctx context.Context, r *request) (any, error) {
	var v validator
	keys := v.tagKeys(r)
	arn, err := s.policyRequest(ctx, r, &v, tagKeysContext(keys))
	if err != nil {
		return nil, err
	}
	return nil, s.updatePolicy(ctx, arn, r, func(p *store.ManagedPolicy) error {
		p.Tags = removeTags(p.Tags, keys)
		return nil
	})
}

func (s *Service) handleListPolicyTags(ctx context.Context, r *request) (any, error) {
	var v validator
	marker, max := v.pageParams(r)
	arn, err := s.policyRequest(ctx, r, &v, nil)
	if err != nil {
		return nil, err
	}
	p, err := s.getPolicy(ctx, arn)
	if err != nil {
		return nil, err
	}
	return tagPage(p.Tags, marker, max)
}
