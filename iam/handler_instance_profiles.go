package iam

import (
	"context"
	"errors"
	"strings"

	"github.com/keyless-dev/keyless/policy"
	"github.com/keyless-dev/keyless/store"
)

// instanceProfileRequest validates InstanceProfileName (with whatever v collected
// before) and authorizes the call on the instance profile: its own ARN when it
// exists, else the ARN it would have at path "/".
func (s *Service) instanceProfileRequest(ctx context.Context, r *request, v *validator, extra policy.Context) (string, error) {
	name := v.entityName(r, "InstanceProfileName", "instanceProfileName", true, 128)
	if err := v.err(); err != nil {
		return "", err
	}
	arn := s.instanceProfileARN("/", name)
	p, err := s.st.GetInstanceProfile(ctx, name)
	switch {
	case err == nil:
		arn = p.ARN
		extra = resourceTagContext(extra, p.Tags)
	case !errors.Is(err, store.ErrNotFound):
		return "", storeErr("get instance profile", err)
	}
	return name, s.authorize(ctx, r, arn, extra)
}

func (s *Service) handleCreateInstanceProfile(ctx context.Context, r *request) (any, error) {
	var v validator
	name := v.entityName(r, "InstanceProfileName", "instanceProfileName", true, 128)
	path := v.path(r, "Path", "path")
	tags := v.tags(r)
	if err := v.err(); err != nil {
		return nil, err
	}
	if err := s.authorize(ctx, r, s.instanceProfileARN(path, name), requestTagContext(tags)); err != nil {
		return nil, err
	}
	p, err := s.createInstanceProfile(ctx, instanceProfileInput{Name: name, Path: path, Tags: tags})
	if err != nil {
		return nil, err
	}
	x, err := s.instanceProfileXML(ctx, p)
	if err != nil {
		return nil, err
	}
	return &instanceProfileResult{InstanceProfile: x}, nil
}

func (s *Service) handleGetInstanceProfile(ctx context.Context, r *request) (any, error) {
	var v validator
	name, err := s.instanceProfileRequest(ctx, r, &v, nil)
	if err != nil {
		return nil, err
	}
	p, err := s.getInstanceProfile(ctx, name)
	if err != nil {
		return nil, err
	}
	x, err := s.instanceProfileXML(ctx, p)
	if err != nil {
		return nil, err
	}
	return &instanceProfileResult{InstanceProfile: x}, nil
}

func (s *Service) handleDeleteInstanceProfile(ctx context.Context, r *request) (any, error) {
	var v validator
	name, err := s.instanceProfileRequest(ctx, r, &v, nil)
	if err != nil {
		return nil, err
	}
	return nil, s.deleteInstanceProfile(ctx, name)
}

// profileRoleRequest validates RoleName and InstanceProfileName and authorizes
// the call on the instance profile.
func (s *Service) profileRoleRequest(ctx context.Context, r *request) (profile, role string, err error) {
	var v validator
	role = v.entityName(r, "RoleName", "roleName", true, 64)
	profile, err = s.instanceProfileRequest(ctx, r, &v, nil)
	return profile, role, err
}

func (s *Service) handleAddRoleToInstanceProfile(ctx context.Context, r *request) (any, error) {
	profile, role, err := s.profileRoleRequest(ctx, r)
	if err != nil {
		return nil, err
	}
	return nil, s.addRoleToInstanceProfile(ctx, profile, role)
}

func (s *Service) handleRemoveRoleFromInstanceProfile(ctx context.Context, r *request) (any, error) {
	profile, role, err := s.profileRoleRequest(ctx, r)
	if err != nil {
		return nil, err
	}
	return nil, s.removeRoleFromInstanceProfile(ctx, profile, role)
}

func (s *Service) handleListInstanceProfiles(ctx context.Context, r *request) (any, error) {
	var v validator
	prefix := v.pathPrefix(r)
	marker, max := v.pageParams(r)
	if err := v.err(); err != nil {
		return nil, err
	}
	if err := s.authorize(ctx, r, "*", nil); err != nil {
		return nil, err
	}
	ps, err := s.listInstanceProfiles(ctx, prefix, "")
	if err != nil {
		return nil, err
	}
	return s.instanceProfilePage(ctx, ps, marker, max)
}

func (s *Service) handleListInstanceProfilesForRole(ctx context.Context, r *request) (any, error) {
	var v validator
	marker, max := v.pageParams(r)
	role, err := s.roleRequest(ctx, r, &v, nil)
	if err != nil {
		return nil, err
	}
	x, err := s.getRole(ctx, role)
	if err != nil {
		return nil, err
	}
	ps, err := s.listInstanceProfiles(ctx, "/", x.Name)
	if err != nil {
		return nil, err
	}
	return s.instanceProfilePage(ctx, ps, marker, max)
}

// instanceProfilePage is one page of a ListInstanceProfiles(ForRole) result.
func (s *Service) instanceProfilePage(ctx context.Context, ps []store.InstanceProfile, marker string, max int) (any, error) {
	items, pf, err := page(ps, func(_ int, p store.InstanceProfile) string { return strings.ToLower(p.Name) }, marker, max)
	if err != nil {
		return nil, err
	}
	out := &listInstanceProfilesResult{pageFields: pf}
	out.InstanceProfiles.Members = make([]xmlInstanceProfile, len(items))
	for i, p := range items {
		if out.InstanceProfiles.Members[i], err = s.instanceProfileXML(ctx, p); err != nil {
			return nil, err
		}
	}
	return out, nil
}
