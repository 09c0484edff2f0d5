package iam

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/keyless-dev/keyless/arn"
	"github.com/keyless-dev/keyless/awsapi"
	"github.com/keyless-dev/keyless/policy"
	"github.com/keyless-dev/keyless/store"
)

// Role limits.
const (
	defaultMaxSession  = 3600
	maxTrustPolicySize = policy.MaxTrustPolicySize  // ACLSizePerRole
	maxRoleInlineSize  = policy.MaxInlineRolePolicy // all inline policies of a role
)

// roleARN is the ARN of a role.
func (s *Service) roleARN(path, name string) string {
	return arn.Role(arn.DefaultPartition, s.cfg.Account, path, name).String()
}

// roleResource is the ARN a request about a role is authorized against: the role's
// own ARN (with its path) when it exists, else the ARN it would have at path "/".
func (s *Service) roleResource(ctx context.Context, name string) (string, *store.Role, error) {
	r, err := s.st.GetRole(ctx, name)
	switch {
	case err == nil:
		return r.ARN, &r, nil
	case errors.Is(err, store.ErrNotFound):
		return s.roleARN("/", name), nil, nil
	}
	return "", nil, storeErr("get role", err)
}

// roleInput is what CreateRole asks for.
type roleInput struct {
	Name                string
	Path                string
	TrustPolicy         string
	Description         string
	MaxSessionDuration  int
	PermissionsBoundary string
	Tags                []store.Tag
}

// checkTrustPolicy validates a role's trust policy: size, then syntax and grammar.
func checkTrustPolicy(doc string) error {
	if policy.Size([]byte(doc), policy.KindTrust) > maxTrustPolicySize {
		return limitExceeded(fmt.Sprintf("Cannot exceed quota for ACLSizePerRole: %d", maxTrustPolicySize))
	}
	return parsePolicy(doc, policy.KindTrust)
}

// createRole creates a role; names are unique case-insensitively.
func (s *Service) createRole(ctx context.Context, in roleInput) (store.Role, error) {
	if err := checkTrustPolicy(in.TrustPolicy); err != nil {
		return store.Role{}, err
	}
	if err := checkTagKeys(nil, in.Tags); err != nil {
		return store.Role{}, err
	}
	if in.PermissionsBoundary != "" {
		if err := s.checkBoundary(ctx, in.PermissionsBoundary); err != nil {
			return store.Role{}, err
		}
	}
	id, err := s.newID("AROA")
	if err != nil {
		return store.Role{}, err
	}
	if in.MaxSessionDuration == 0 {
		in.MaxSessionDuration = defaultMaxSession
	}
	r := store.Role{
		ID:                       id,
		Name:                     in.Name,
		Path:                     in.Path,
		ARN:                      s.roleARN(in.Path, in.Name),
		AssumeRolePolicyDocument: in.TrustPolicy,
		Description:              in.Description,
		MaxSessionDuration:       in.MaxSessionDuration,
		PermissionsBoundary:      in.PermissionsBoundary,
		Tags:                     in.Tags,
		CreatedAt:                s.now(),
	}
	if err := s.st.CreateRole(ctx, r); err != nil {
		if errors.Is(err, store.ErrAlreadyExists) {
			return store.Role{}, entityAlreadyExists("Role with name " + in.Name + " already exists.")
		}
		return store.Role{}, storeErr("create role", err)
	}
	return r, nil
}

// checkBoundary requires a permissions boundary to be an existing managed policy.
func (s *Service) checkBoundary(ctx context.Context, arn string) error {
	if _, err := s.getPolicy(ctx, arn); err != nil {
		if awsapi.HasCode(err, "NoSuchEntity") {
			return noSuchEntity("Scope ARN: " + arn + " does not exist or is not attachable.")
		}
		return err
	}
	return s.ensureStored(ctx, arn)
}

// getRole returns a role by name.
func (s *Service) getRole(ctx context.Context, name string) (store.Role, error) {
	r, err := s.st.GetRole(ctx, name)
	if errors.Is(err, store.ErrNotFound) {
		return store.Role{}, noSuchRole(name)
	}
	return r, storeErr("get role", err)
}

// listRoles returns the roles whose path starts with prefix, by lower-cased name.
func (s *Service) listRoles(ctx context.Context, prefix string) ([]store.Role, error) {
	all, err := s.st.ListRoles(ctx)
	if err != nil {
		return nil, storeErr("list roles", err)
	}
	var out []store.Role
	for _, r := range all {
		if strings.HasPrefix(r.Path, prefix) {
			out = append(out, r)
		}
	}
	return out, nil
}

// updateRole changes a role in a transaction and returns the new record.
func (s *Service) updateRole(ctx context.Context, name string, fn func(*store.Role) error) (store.Role, error) {
	var out store.Role
	err := s.st.UpdateRole(ctx, name, func(r store.Role) (store.Role, error) {
		if err := fn(&r); err != nil {
			return r, err
		}
		out = r
		return r, nil
	})
	if errors.Is(err, store.ErrNotFound) {
		return store.Role{}, noSuchRole(name)
	}
	return out, storeErr("update role", err)
}

// deleteRole deletes a role that is in no instance profile and has no inline or
// attached policies left.
func (s *Service) deleteRole(ctx context.Context, name string) error {
	r, err := s.getRole(ctx, name)
	if err != nil {
		return err
	}
	profiles, err := s.listInstanceProfiles(ctx, "/", r.Name)
	if err != nil {
		return err
	}
	if len(profiles) > 0 {
		return removeRolesFirst()
	}
	if len(r.InlinePolicies) > 0 {
		return deleteConflict("Cannot delete entity, must delete policies first.")
	}
	if len(r.AttachedPolicies) > 0 {
		return deleteConflict("Cannot delete entity, must detach all policies first.")
	}
	err = s.st.DeleteRole(ctx, r.Name)
	if errors.Is(err, store.ErrNotFound) {
		return noSuchRole(name)
	}
	return storeErr("delete role", err)
}
