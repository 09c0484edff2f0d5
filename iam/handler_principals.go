package iam

import (
	"context"
	"strings"

	"github.com/keyless-dev/keyless/arn"
	"github.com/keyless-dev/keyless/policy"
)

// Tags, inline policies and attached policies of roles and users: each handler
// here serves the role action and the user action (TagRole and TagUser,
// PutRolePolicy and PutUserPolicy, …) for the principalKind it is bound to.

// principalHandler serves a role-or-user action for one kind.
type principalHandler func(ctx context.Context, r *request, k *principalKind) (any, error)

// forKind binds a role-or-user handler to roles or to users.
func forKind(k *principalKind, h principalHandler) handlerFunc {
	return func(ctx context.Context, r *request) (any, error) { return h(ctx, r, k) }
}

func (s *Service) handleTagPrincipal(ctx context.Context, r *request, k *principalKind) (any, error) {
	var v validator
	tags := v.requiredTags(r)
	entity, err := k.request(s, ctx, r, &v, requestTagContext(tags))
	if err != nil {
		return nil, err
	}
	return nil, k.update(s, ctx, entity, func(p *principalRecord) error {
		if err := checkTagKeys(p.Tags, tags); err != nil {
			return err
		}
		p.Tags = mergeTags(p.Tags, tags)
		return nil
	})
}

func (s *Service) handleUntagPrincipal(ctx context.Context, r *request, k *principalKind) (any, error) {
	var v validator
	keys := v.tagKeys(r)
	entity, err := k.request(s, ctx, r, &v, tagKeysContext(keys))
	if err != nil {
		return nil, err
	}
	return nil, k.update(s, ctx, entity, func(p *principalRecord) error {
		p.Tags = removeTags(p.Tags, keys)
		return nil
	})
}

func (s *Service) handleListPrincipalTags(ctx context.Context, r *request, k *principalKind) (any, error) {
	var v validator
	marker, max := v.pageParams(r)
	entity, err := k.request(s, ctx, r, &v, nil)
	if err != nil {
		return nil, err
	}
	p, err := k.get(s, ctx, entity)
	if err != nil {
		return nil, err
	}
	return tagPage(p.Tags, marker, max)
}

func (s *Service) handlePutInlinePolicy(ctx context.Context, r *request, k *principalKind) (any, error) {
	var v validator
	policyName := v.entityName(r, "PolicyName", "policyName", true, 128)
	doc := v.document(r, "PolicyDocument", "policyDocument")
	entity, err := k.request(s, ctx, r, &v, nil)
	if err != nil {
		return nil, err
	}
	return nil, s.putInlinePolicy(ctx, k, entity, policyName, doc)
}

func (s *Service) handleGetInlinePolicy(ctx context.Context, r *request, k *principalKind) (any, error) {
	var v validator
	policyName := v.entityName(r, "PolicyName", "policyName", true, 128)
	entity, err := k.request(s, ctx, r, &v, nil)
	if err != nil {
		return nil, err
	}
	p, doc, err := s.getInlinePolicy(ctx, k, entity, policyName)
	if err != nil {
		return nil, err
	}
	out := &policyDocumentResult{PolicyName: policyName, PolicyDocument: encodeDocument(doc)}
	k.setName(out, p.Name)
	return out, nil
}

func (s *Service) handleDeleteInlinePolicy(ctx context.Context, r *request, k *principalKind) (any, error) {
	var v validator
	policyName := v.entityName(r, "PolicyName", "policyName", true, 128)
	entity, err := k.request(s, ctx, r, &v, nil)
	if err != nil {
		return nil, err
	}
	return nil, s.deleteInlinePolicy(ctx, k, entity, policyName)
}

func (s *Service) handleListInlinePolicies(ctx context.Context, r *request, k *principalKind) (any, error) {
	var v validator
	marker, max := v.pageParams(r)
	entity, err := k.request(s, ctx, r, &v, nil)
	if err != nil {
		return nil, err
	}
	p, err := k.get(s, ctx, entity)
	if err != nil {
		return nil, err
	}
	items, pf, err := page(policyNames(p.Inline), func(_ int, n string) string { return n }, marker, max)
	if err != nil {
		return nil, err
	}
	return &listPolicyNamesResult{PolicyNames: strList(items), pageFields: pf}, nil
}

// attachmentRequest validates PolicyArn and the entity's name, and authorizes
// the call on the entity with iam:PolicyARN.
func (s *Service) attachmentRequest(ctx context.Context, r *request, k *principalKind) (entity, arn string, err error) {
	var v validator
	arn = v.arn(r, "PolicyArn", "policyArn")
	entity, err = k.request(s, ctx, r, &v, policy.NewContext().Set("iam:PolicyARN", arn))
	return entity, arn, err
}

func (s *Service) handleAttachPolicy(ctx context.Context, r *request, k *principalKind) (any, error) {
	entity, arn, err := s.attachmentRequest(ctx, r, k)
	if err != nil {
		return nil, err
	}
	return nil, s.attachPolicy(ctx, k, entity, arn)
}

func (s *Service) handleDetachPolicy(ctx context.Context, r *request, k *principalKind) (any, error) {
	entity, arn, err := s.attachmentRequest(ctx, r, k)
	if err != nil {
		return nil, err
	}
	return nil, s.detachPolicy(ctx, k, entity, arn)
}

func (s *Service) handleListAttachedPolicies(ctx context.Context, r *request, k *principalKind) (any, error) {
	var v validator
	prefix := v.pathPrefix(r)
	marker, max := v.pageParams(r)
	entity, err := k.request(s, ctx, r, &v, nil)
	if err != nil {
		return nil, err
	}
	p, err := k.get(s, ctx, entity)
	if err != nil {
		return nil, err
	}
	var list []xmlAttachedPolicy
	for _, a := range p.Attached {
		path, name := policyPathName(a)
		if strings.HasPrefix(path, prefix) {
			list = append(list, xmlAttachedPolicy{PolicyName: name, PolicyArn: a})
		}
	}
	items, pf, err := page(list, indexKey[xmlAttachedPolicy], marker, max)
	if err != nil {
		return nil, err
	}
	out := &listAttachedResult{pageFields: pf}
	out.AttachedPolicies.Members = items
	return out, nil
}

// policyPathName splits a policy ARN into its path and name; what is not a
// policy ARN is all name.
func policyPathName(policyARN string) (path, name string) {
	a, err := arn.Parse(policyARN)
	if err != nil || a.ResourceType() != "policy" || a.Path() == "" {
		return "/", policyARN
	}
	return a.Path(), a.Name()
}
