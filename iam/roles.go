package iam

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/keyless-dev/keyless/awsapi"
	"github.com/keyless-dev/keyless/policy"
	"github.com/keyless-dev/keyless/store"
)

// Role limits.
const (
	defaultMaxSession   = 3600
	maxTrustPolicySize  = policy.MaxTrustPolicySize  // ACLSizePerRole
	maxRoleInlineSize   = policy.MaxInlineRolePolicy // all inline policies of a role
	maxAttachedPolicies = 10                         // PoliciesPerRole / PoliciesPerUser
)

// roleARN is the ARN of a role.
func (s *Service) roleARN(path, name string) string {
	return "arn:aws:iam::" + s.cfg.Account + ":role" + path + name
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

// deleteRole deletes a role that has no inline or attached policies left.
func (s *Service) deleteRole(ctx context.Context, name string) error {
	r, err := s.getRole(ctx, name)
	if err != nil {
		return err
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

// Inline policies (roles and users share the rules; only the size budget and the
// wording of messages differ).

// inlineSize is the size IAM counts for a set of inline policies.
func inlineSize(policies map[string]string) int {
	n := 0
	for _, d := range policies {
		n += policy.Size([]byte(d), policy.KindIdentity)
	}
	return n
}

// putInline sets policies[name] = doc, refusing to exceed the size budget.
func putInline(policies map[string]string, name, doc string, budget int, what, entity string) (map[string]string, error) {
	next := make(map[string]string, len(policies)+1)
	for k, v := range policies {
		if k != name {
			next[k] = v
		}
	}
	next[name] = doc
	if inlineSize(next) > budget {
		return nil, limitExceeded(fmt.Sprintf("Maximum policy size of %d bytes exceeded for %s %s", budget, what, entity))
	}
	return next, nil
}

// policyNames returns the names of inline policies, sorted.
func policyNames(policies map[string]string) []string {
	names := make([]string, 0, len(policies))
	for n := range policies {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// putRolePolicy adds or replaces an inline policy of a role.
func (s *Service) putRolePolicy(ctx context.Context, role, name, doc string) error {
	if err := parsePolicy(doc, policy.KindIdentity); err != nil {
		return err
	}
	_, err := s.updateRole(ctx, role, func(r *store.Role) error {
		next, err := putInline(r.InlinePolicies, name, doc, maxRoleInlineSize, "role", r.Name)
		r.InlinePolicies = next
		return err
	})
	return err
}

// getRolePolicy returns an inline policy of a role.
func (s *Service) getRolePolicy(ctx context.Context, role, name string) (store.Role, string, error) {
	r, err := s.getRole(ctx, role)
	if err != nil {
		return r, "", err
	}
	doc, ok := r.InlinePolicies[name]
	if !ok {
		return r, "", noSuchEntity("The role policy with name " + name + " cannot be found.")
	}
	return r, doc, nil
}

// deleteRolePolicy removes an inline policy of a role.
func (s *Service) deleteRolePolicy(ctx context.Context, role, name string) error {
	_, err := s.updateRole(ctx, role, func(r *store.Role) error {
		if _, ok := r.InlinePolicies[name]; !ok {
			return noSuchEntity("The role policy with name " + name + " cannot be found.")
		}
		delete(r.InlinePolicies, name)
		return nil
	})
	return err
}

// attachRolePolicy attaches a managed policy to a role (at most 10).
func (s *Service) attachRolePolicy(ctx context.Context, role, arn string) error {
	if _, err := s.getRole(ctx, role); err != nil {
		return err
	}
	if err := s.checkAttachable(ctx, arn); err != nil {
		return err
	}
	_, err := s.updateRole(ctx, role, func(r *store.Role) error {
		next, err := attach(r.AttachedPolicies, arn, "PoliciesPerRole")
		r.AttachedPolicies = next
		return err
	})
	return err
}

// detachRolePolicy detaches a managed policy from a role.
func (s *Service) detachRolePolicy(ctx context.Context, role, arn string) error {
	_, err := s.updateRole(ctx, role, func(r *store.Role) error {
		next, err := detach(r.AttachedPolicies, arn)
		r.AttachedPolicies = next
		return err
	})
	return err
}

// attach adds arn to a list of attached policies, within the quota.
func attach(list []string, arn, quota string) ([]string, error) {
	if contains(list, arn) {
		return list, nil
	}
	if len(list) >= maxAttachedPolicies {
		return list, limitExceeded(fmt.Sprintf("Cannot exceed quota for %s: %d", quota, maxAttachedPolicies))
	}
	return append(list, arn), nil
}

// detach removes arn from a list of attached policies.
func detach(list []string, arn string) ([]string, error) {
	if !contains(list, arn) {
		return list, noSuchEntity("Policy " + arn + " was not found.")
	}
	return remove(list, arn), nil
}
