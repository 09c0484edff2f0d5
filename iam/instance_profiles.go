package iam

import (
	"context"
	"errors"
	"strings"

	"github.com/keyless-dev/keyless/store"

	"github.com/keyless-dev/keyless/arn"
)

// Instance profiles: containers of one role each, which keyless keeps so that
// tools managing a role's lifecycle (Terraform lists a role's instance profiles
// before deleting it) work; nothing launches instances with them.

// maxRolesPerInstanceProfile is IAM's InstanceSessionsPerInstanceProfile quota.
const maxRolesPerInstanceProfile = 1

// instanceProfileARN is the ARN of an instance profile.
func (s *Service) instanceProfileARN(path, name string) string {
	return arn.InstanceProfile(arn.DefaultPartition, s.cfg.Account, path, name).String()
}

func noSuchInstanceProfile(name string) error {
	return noSuchEntity("Instance Profile " + name + " cannot be found.")
}

// removeRolesFirst is the DeleteConflict of deleting a role that is in an
// instance profile, or an instance profile that holds a role.
func removeRolesFirst() error {
	return deleteConflict("Cannot delete entity, must remove roles from instance profile first.")
}

// instanceProfileInput is what CreateInstanceProfile asks for.
type instanceProfileInput struct {
	Name string
	Path string
	Tags []store.Tag
}

// createInstanceProfile creates an empty instance profile; names are unique
// case-insensitively.
func (s *Service) createInstanceProfile(ctx context.Context, in instanceProfileInput) (store.InstanceProfile, error) {
	if err := checkTagKeys(nil, in.Tags); err != nil {
		return store.InstanceProfile{}, err
	}
	id, err := s.newID("AIPA")
	if err != nil {
		return store.InstanceProfile{}, err
	}
	p := store.InstanceProfile{
		ID:        id,
		Name:      in.Name,
		Path:      in.Path,
		ARN:       s.instanceProfileARN(in.Path, in.Name),
		Tags:      in.Tags,
		CreatedAt: s.now(),
	}
	if err := s.st.CreateInstanceProfile(ctx, p); err != nil {
		if errors.Is(err, store.ErrAlreadyExists) {
			return store.InstanceProfile{}, entityAlreadyExists("Instance Profile " + in.Name + " already exists.")
		}
		return store.InstanceProfile{}, storeErr("create instance profile", err)
	}
	return p, nil
}

// getInstanceProfile returns an instance profile by name.
func (s *Service) getInstanceProfile(ctx context.Context, name string) (store.InstanceProfile, error) {
	p, err := s.st.GetInstanceProfile(ctx, name)
	if errors.Is(err, store.ErrNotFound) {
		return store.InstanceProfile{}, noSuchInstanceProfile(name)
	}
	return p, storeErr("get instance profile", err)
}

// listInstanceProfiles returns the instance profiles whose path starts with
// prefix and, when role is not empty, that hold that role; by lower-cased name.
func (s *Service) listInstanceProfiles(ctx context.Context, prefix, role string) ([]store.InstanceProfile, error) {
	all, err := s.st.ListInstanceProfiles(ctx)
	if err != nil {
		return nil, storeErr("list instance profiles", err)
	}
	var out []store.InstanceProfile
	for _, p := range all {
		if strings.HasPrefix(p.Path, prefix) && (role == "" || holdsRole(p, role)) {
			out = append(out, p)
		}
	}
	return out, nil
}

// holdsRole reports whether an instance profile holds the named role.
func holdsRole(p store.InstanceProfile, role string) bool {
	for _, r := range p.Roles {
		if strings.EqualFold(r, role) {
			return true
		}
	}
	return false
}

// updateInstanceProfile changes an instance profile in a transaction.
func (s *Service) updateInstanceProfile(ctx context.Context, name string, fn func(*store.InstanceProfile) error) error {
	err := s.st.UpdateInstanceProfile(ctx, name, func(p store.InstanceProfile) (store.InstanceProfile, error) {
		err := fn(&p)
		return p, err
	})
	if errors.Is(err, store.ErrNotFound) {
		return noSuchInstanceProfile(name)
	}
	return storeErr("update instance profile", err)
}

// addRoleToInstanceProfile puts a role in an instance profile, which holds at
// most one.
func (s *Service) addRoleToInstanceProfile(ctx context.Context, profile, role string) error {
	if _, err := s.getInstanceProfile(ctx, profile); err != nil {
		return err
	}
	r, err := s.getRole(ctx, role)
	if err != nil {
		return err
	}
	return s.updateInstanceProfile(ctx, profile, func(p *store.InstanceProfile) error {
		if len(p.Roles) >= maxRolesPerInstanceProfile {
			return limitExceeded("Cannot exceed quota for InstanceSessionsPerInstanceProfile: 1")
		}
		p.Roles = append(p.Roles, r.Name)
		return nil
	})
}

// removeRoleFromInstanceProfile takes a role out of an instance profile.
func (s *Service) removeRoleFromInstanceProfile(ctx context.Context, profile, role string) error {
	if _, err := s.getInstanceProfile(ctx, profile); err != nil {
		return err
	}
	return s.updateInstanceProfile(ctx, profile, func(p *store.InstanceProfile) error {
		var kept []string
		for _, r := range p.Roles {
			if !strings.EqualFold(r, role) {
				kept = append(kept, r)
			}
		}
		if len(kept) == len(p.Roles) {
			return noSuchRole(role)
		}
		p.Roles = kept
		return nil
	})
}

// deleteInstanceProfile deletes an instance profile that holds no role.
func (s *Service) deleteInstanceProfile(ctx context.Context, name string) error {
	p, err := s.getInstanceProfile(ctx, name)
	if err != nil {
		return err
	}
	if len(p.Roles) > 0 {
		return removeRolesFirst()
	}
	err = s.st.DeleteInstanceProfile(ctx, p.Name)
	if errors.Is(err, store.ErrNotFound) {
		return noSuchInstanceProfile(name)
	}
	return storeErr("delete instance profile", err)
}

// instanceProfileXML renders an instance profile with its roles as they are
// now (a role deleted meanwhile is left out).
func (s *Service) instanceProfileXML(ctx context.Context, p store.InstanceProfile) (xmlInstanceProfile, error) {
	x := xmlInstanceProfile{
		Path:                p.Path,
		InstanceProfileName: p.Name,
		InstanceProfileID:   p.ID,
		Arn:                 p.ARN,
		CreateDate:          xmlTime(p.CreatedAt),
		Roles:               xmlRoles{Members: []xmlRole{}},
		Tags:                tagsXML(p.Tags),
	}
	for _, name := range p.Roles {
		r, err := s.st.GetRole(ctx, name)
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err != nil {
			return x, storeErr("get role", err)
		}
		x.Roles.Members = append(x.Roles.Members, roleXML(r, false))
	}
	return x, nil
}
