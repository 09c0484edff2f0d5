package iam

import (
	"context"
	"fmt"
	"maps"
	"sort"

	"github.com/keyless-dev/keyless/policy"
	"github.com/keyless-dev/keyless/store"
)

// Tags, inline policies and attached policies of roles and users. IAM applies the
// same rules to both; a principalKind holds what differs: the noun in messages,
// the name parameter of requests, the inline size budget, the attachment quota
// and the store record.

// maxAttachedPolicies is the PoliciesPerRole and PoliciesPerUser quota.
const maxAttachedPolicies = 10

// principalKind describes roles or users as holders of tags and policies.
type principalKind struct {
	noun         string // "role" or "user", as messages write it
	inlineBudget int    // bytes that all inline policies of one entity may take
	attachQuota  string // the quota named when attaching one policy too many
	// request validates the entity's name parameter (with whatever v collected
	// before), authorizes the call on the entity and returns the name.
	request func(s *Service, ctx context.Context, r *request, v *validator, extra policy.Context) (string, error)
	// get reads an entity; NoSuchEntity when there is none.
	get func(s *Service, ctx context.Context, name string) (principalRecord, error)
	// update changes an entity's tags and policies in a transaction.
	update func(s *Service, ctx context.Context, name string, fn func(*principalRecord) error) error
	// setName puts the entity's name in a GetXxxPolicy result.
	setName func(x *policyDocumentResult, name string)
}

// principalRecord is what the shared operations read and change of a role or
// user record.
type principalRecord struct {
	Name     string            // the entity's name as stored
	Tags     []store.Tag       // in the order they were added
	Inline   map[string]string // policy name → document
	Attached []string          // managed policy ARNs
}

// roleKind is roles, named by RoleName.
var roleKind = principalKind{
	noun:         "role",
	inlineBudget: maxRoleInlineSize,
	attachQuota:  "PoliciesPerRole",
	request:      (*Service).roleRequest,
	get: func(s *Service, ctx context.Context, name string) (principalRecord, error) {
		x, err := s.getRole(ctx, name)
		return principalRecord{x.Name, x.Tags, x.InlinePolicies, x.AttachedPolicies}, err
	},
	update: func(s *Service, ctx context.Context, name string, fn func(*principalRecord) error) error {
		_, err := s.updateRole(ctx, name, func(x *store.Role) error {
			p := principalRecord{x.Name, x.Tags, x.InlinePolicies, x.AttachedPolicies}
			err := fn(&p)
			x.Tags, x.InlinePolicies, x.AttachedPolicies = p.Tags, p.Inline, p.Attached
			return err
		})
		return err
	},
	setName: func(x *policyDocumentResult, name string) { x.RoleName = name },
}

// userKind is users, named by UserName.
var userKind = principalKind{
	noun:         "user",
	inlineBudget: maxUserInlineSize,
	attachQuota:  "PoliciesPerUser",
	request:      (*Service).namedUser,
	get: func(s *Service, ctx context.Context, name string) (principalRecord, error) {
		x, err := s.getUser(ctx, name)
		return principalRecord{x.Name, x.Tags, x.InlinePolicies, x.AttachedPolicies}, err
	},
	update: func(s *Service, ctx context.Context, name string, fn func(*principalRecord) error) error {
		_, err := s.updateUser(ctx, name, func(x *store.User) error {
			p := principalRecord{x.Name, x.Tags, x.InlinePolicies, x.AttachedPolicies}
			err := fn(&p)
			x.Tags, x.InlinePolicies, x.AttachedPolicies = p.Tags, p.Inline, p.Attached
			return err
		})
		return err
	},
	setName: func(x *policyDocumentResult, name string) { x.UserName = name },
}

// noSuchPolicy is the NoSuchEntity for an inline policy an entity does not have.
func (k *principalKind) noSuchPolicy(name string) error {
	return noSuchEntity("The " + k.noun + " policy with name " + name + " cannot be found.")
}

// inlineSize is the size IAM counts for a set of inline policies.
func inlineSize(policies map[string]string) int {
	n := 0
	for _, d := range policies {
		n += policy.Size([]byte(d), policy.KindIdentity)
	}
	return n
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

// putInlinePolicy adds or replaces an inline policy of an entity, refusing to
// exceed the size budget of all its inline policies.
func (s *Service) putInlinePolicy(ctx context.Context, k *principalKind, entity, name, doc string) error {
	if _, err := k.get(s, ctx, entity); err != nil {
		return err
	}
	if err := parsePolicy(doc, policy.KindIdentity); err != nil {
		return err
	}
	return k.update(s, ctx, entity, func(p *principalRecord) error {
		next := make(map[string]string, len(p.Inline)+1)
		maps.Copy(next, p.Inline)
		next[name] = doc
		if inlineSize(next) > k.inlineBudget {
			return limitExceeded(fmt.Sprintf("Maximum policy size of %d bytes exceeded for %s %s", k.inlineBudget, k.noun, p.Name))
		}
		p.Inline = next
		return nil
	})
}

// getInlinePolicy returns an entity and one of its inline policies.
func (s *Service) getInlinePolicy(ctx context.Context, k *principalKind, entity, name string) (principalRecord, string, error) {
	p, err := k.get(s, ctx, entity)
	if err != nil {
		return p, "", err
	}
	doc, ok := p.Inline[name]
	if !ok {
		return p, "", k.noSuchPolicy(name)
	}
	return p, doc, nil
}

// deleteInlinePolicy removes an inline policy of an entity.
func (s *Service) deleteInlinePolicy(ctx context.Context, k *principalKind, entity, name string) error {
	return k.update(s, ctx, entity, func(p *principalRecord) error {
		if _, ok := p.Inline[name]; !ok {
			return k.noSuchPolicy(name)
		}
		delete(p.Inline, name)
		return nil
	})
}

// attachPolicy attaches a managed policy to an entity (at most
// maxAttachedPolicies); attaching it again changes nothing.
func (s *Service) attachPolicy(ctx context.Context, k *principalKind, entity, arn string) error {
	if _, err := k.get(s, ctx, entity); err != nil {
		return err
	}
	if err := s.checkAttachable(ctx, arn); err != nil {
		return err
	}
	return k.update(s, ctx, entity, func(p *principalRecord) error {
		if contains(p.Attached, arn) {
			return nil
		}
		if len(p.Attached) >= maxAttachedPolicies {
			return limitExceeded(fmt.Sprintf("Cannot exceed quota for %s: %d", k.attachQuota, maxAttachedPolicies))
		}
		p.Attached = append(p.Attached, arn)
		return nil
	})
}

// detachPolicy detaches a managed policy from an entity.
func (s *Service) detachPolicy(ctx context.Context, k *principalKind, entity, arn string) error {
	return k.update(s, ctx, entity, func(p *principalRecord) error {
		if !contains(p.Attached, arn) {
			return noSuchEntity("Policy " + arn + " was not found.")
		}
		p.Attached = remove(p.Attached, arn)
		return nil
	})
}
