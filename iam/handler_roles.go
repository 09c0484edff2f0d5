package iam

import (
	"context"
	"strings"

	"github.com/keyless-dev/keyless/policy"
	"github.com/keyless-dev/keyless/store"
)

// roleRequest validates RoleName (with whatever v collected before), and
// authorizes the call on the role.
func (s *Service) roleRequest(ctx context.Context, r *request, v *validator, extra policy.Context) (string, error) {
	name := v.entityName(r, "RoleName", "roleName", true, 64)
	if err := v.err(); err != nil {
		return "", err
	}
	arn, role, err := s.roleResource(ctx, name)
	if err != nil {
		return "", err
	}
	if role != nil {
		extra = resourceTagContext(extra, role.Tags)
	}
	return name, s.authorize(ctx, r, arn, extra)
}

func (s *Service) handleCreateRole(ctx context.Context, r *request) (any, error) {
	var v validator
	name := v.entityName(r, "RoleName", "roleName", true, 64)
	path := v.path(r, "Path", "path")
	doc := v.document(r, "AssumeRolePolicyDocument", "assumeRolePolicyDocument")
	desc := v.str(r, "Description", "description", false, 0, 1000, &patDescription)
	maxSession := v.intRange(r, "MaxSessionDuration", "maxSessionDuration", 3600, 43200, defaultMaxSession)
	boundary := ""
	if r.has("PermissionsBoundary") {
		boundary = v.str(r, "PermissionsBoundary", "permissionsBoundary", false, 20, 2048, nil)
	}
	tags := v.tags(r)
	if err := v.err(); err != nil {
		return nil, err
	}
	c := requestTagContext(tags)
	if boundary != "" {
		c.Set("iam:PermissionsBoundary", boundary)
	}
	if err := s.authorize(ctx, r, s.roleARN(path, name), c); err != nil {
		return nil, err
	}
	role, err := s.createRole(ctx, roleInput{
		Name: name, Path: path, TrustPolicy: doc, Description: desc,
		MaxSessionDuration: maxSession, PermissionsBoundary: boundary, Tags: tags,
	})
	if err != nil {
		return nil, err
	}
	x := roleXML(role, true)
	x.RoleLastUsed = nil
	return &roleResult{Role: x}, nil
}

func (s *Service) handleGetRole(ctx context.Context, r *request) (any, error) {
	var v validator
	name, err := s.roleRequest(ctx, r, &v, nil)
	if err != nil {
		return nil, err
	}
	role, err := s.getRole(ctx, name)
	if err != nil {
		return nil, err
	}
	return &roleResult{Role: roleXML(role, true)}, nil
}

func (s *Service) handleListRoles(ctx context.Context, r *request) (any, error) {
	var v validator
	prefix := v.pathPrefix(r)
	marker, max := v.pageParams(r)
	if err := v.err(); err != nil {
		return nil, err
	}
	if err := s.authorize(ctx, r, "*", nil); err != nil {
		return nil, err
	}
	roles, err := s.listRoles(ctx, prefix)
	if err != nil {
		return nil, err
	}
	items, pf, err := page(roles, func(_ int, x store.Role) string { return strings.ToLower(x.Name) }, marker, max)
	if err != nil {
		return nil, err
	}
	out := &listRolesResult{pageFields: pf}
	out.Roles.Members = make([]xmlRole, len(items))
	for i, x := range items {
		out.Roles.Members[i] = roleXML(x, false)
	}
	return out, nil
}

func (s *Service) handleUpdateRole(ctx context.Context, r *request) (any, error) {
	var v validator
	desc := v.str(r, "Description", "description", false, 0, 1000, &patDescription)
	maxSession := v.intRange(r, "MaxSessionDuration", "maxSessionDuration", 3600, 43200, 0)
	name, err := s.roleRequest(ctx, r, &v, nil)
	if err != nil {
		return nil, err
	}
	_, err = s.updateRole(ctx, name, func(x *store.Role) error {
		if r.has("Description") {
			x.Description = desc
		}
		if maxSession != 0 {
			x.MaxSessionDuration = maxSession
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &struct{}{}, nil
}

func (s *Service) handleUpdateRoleDescription(ctx context.Context, r *request) (any, error) {
	var v validator
	desc := v.str(r, "Description", "description", true, 0, 1000, &patDescription)
	name, err := s.roleRequest(ctx, r, &v, nil)
	if err != nil {
		return nil, err
	}
	role, err := s.updateRole(ctx, name, func(x *store.Role) error {
		x.Description = desc
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &roleResult{Role: roleXML(role, true)}, nil
}

func (s *Service) handleUpdateAssumeRolePolicy(ctx context.Context, r *request) (any, error) {
	var v validator
	doc := v.document(r, "PolicyDocument", "policyDocument")
	name, err := s.roleRequest(ctx, r, &v, nil)
	if err != nil {
		return nil, err
	}
	if _, err := s.getRole(ctx, name); err != nil {
		return nil, err
	}
	if err := checkTrustPolicy(doc); err != nil {
		return nil, err
	}
	_, err = s.updateRole(ctx, name, func(x *store.Role) error {
		x.AssumeRolePolicyDocument = doc
		return nil
	})
	return nil, err
}

func (s *Service) handleDeleteRole(ctx context.Context, r *request) (any, error) {
	var v validator
	name, err := s.roleRequest(ctx, r, &v, nil)
	if err != nil {
		return nil, err
	}
	return nil, s.deleteRole(ctx, name)
}

func (s *Service) handlePutRolePermissionsBoundary(ctx context.Context, r *request) (any, error) {
	var v validator
	boundary := v.str(r, "PermissionsBoundary", "permissionsBoundary", true, 20, 2048, nil)
	name, err := s.roleRequest(ctx, r, &v, policy.NewContext().Set("iam:PermissionsBoundary", boundary))
	if err != nil {
		return nil, err
	}
	if _, err := s.getRole(ctx, name); err != nil {
		return nil, err
	}
	if err := s.checkBoundary(ctx, boundary); err != nil {
		return nil, err
	}
	_, err = s.updateRole(ctx, name, func(x *store.Role) error {
		x.PermissionsBoundary = boundary
		return nil
	})
	return nil, err
}

func (s *Service) handleDeleteRolePermissionsBoundary(ctx context.Context, r *request) (any, error) {
	var v validator
	name, err := s.roleRequest(ctx, r, &v, nil)
	if err != nil {
		return nil, err
	}
	_, err = s.updateRole(ctx, name, func(x *store.Role) error {
		x.PermissionsBoundary = ""
		return nil
	})
	return nil, err
}
