package iam

import (
	"context"
	"fmt"

	"github.com/keyless-dev/keyless/authn"
	"github.com/keyless-dev/keyless/awsapi"
	"github.com/keyless-dev/keyless/policy"
	"github.com/keyless-dev/keyless/store"
)

// handlerFunc serves one action: it validates the parameters, authorizes the
// caller, runs the core operation and returns the value to encode.
type handlerFunc func(ctx context.Context, r *request) (any, error)

// handler returns the handler of an action, or nil for an unknown action.
func (s *Service) handler(action string) handlerFunc {
	switch action {
	// OpenID Connect providers.
	case "CreateOpenIDConnectProvider":
		return s.handleCreateOpenIDConnectProvider
	case "GetOpenIDConnectProvider":
		return s.handleGetOpenIDConnectProvider
	case "ListOpenIDConnectProviders":
		return s.handleListOpenIDConnectProviders
	case "UpdateOpenIDConnectProviderThumbprint":
		return s.handleUpdateOpenIDConnectProviderThumbprint
	case "AddClientIDToOpenIDConnectProvider":
		return s.handleAddClientIDToOpenIDConnectProvider
	case "RemoveClientIDFromOpenIDConnectProvider":
		return s.handleRemoveClientIDFromOpenIDConnectProvider
	case "DeleteOpenIDConnectProvider":
		return s.handleDeleteOpenIDConnectProvider
	case "TagOpenIDConnectProvider":
		return s.handleTagOpenIDConnectProvider
	case "UntagOpenIDConnectProvider":
		return s.handleUntagOpenIDConnectProvider
	case "ListOpenIDConnectProviderTags":
		return s.handleListOpenIDConnectProviderTags
	// Roles.
	case "CreateRole":
		return s.handleCreateRole
	case "GetRole":
		return s.handleGetRole
	case "ListRoles":
		return s.handleListRoles
	case "UpdateRole":
		return s.handleUpdateRole
	case "UpdateRoleDescription":
		return s.handleUpdateRoleDescription
	case "UpdateAssumeRolePolicy":
		return s.handleUpdateAssumeRolePolicy
	case "DeleteRole":
		return s.handleDeleteRole
	case "PutRolePolicy":
		return forKind(&roleKind, s.handlePutInlinePolicy)
	case "GetRolePolicy":
		return forKind(&roleKind, s.handleGetInlinePolicy)
	case "DeleteRolePolicy":
		return forKind(&roleKind, s.handleDeleteInlinePolicy)
	case "ListRolePolicies":
		return forKind(&roleKind, s.handleListInlinePolicies)
	case "AttachRolePolicy":
		return forKind(&roleKind, s.handleAttachPolicy)
	case "DetachRolePolicy":
		return forKind(&roleKind, s.handleDetachPolicy)
	case "ListAttachedRolePolicies":
		return forKind(&roleKind, s.handleListAttachedPolicies)
	case "PutRolePermissionsBoundary":
		return s.handlePutRolePermissionsBoundary
	case "DeleteRolePermissionsBoundary":
		return s.handleDeleteRolePermissionsBoundary
	case "TagRole":
		return forKind(&roleKind, s.handleTagPrincipal)
	case "UntagRole":
		return forKind(&roleKind, s.handleUntagPrincipal)
	case "ListRoleTags":
		return forKind(&roleKind, s.handleListPrincipalTags)
	// Managed policies.
	case "CreatePolicy":
		return s.handleCreatePolicy
	case "GetPolicy":
		return s.handleGetPolicy
	case "ListPolicies":
		return s.handleListPolicies
	case "DeletePolicy":
		return s.handleDeletePolicy
	case "GetPolicyVersion":
		return s.handleGetPolicyVersion
	case "ListPolicyVersions":
		return s.handleListPolicyVersions
	case "CreatePolicyVersion":
		return s.handleCreatePolicyVersion
	case "DeletePolicyVersion":
		return s.handleDeletePolicyVersion
	case "SetDefaultPolicyVersion":
		return s.handleSetDefaultPolicyVersion
	case "ListEntitiesForPolicy":
		return s.handleListEntitiesForPolicy
	case "TagPolicy":
		return s.handleTagPolicy
	case "UntagPolicy":
		return s.handleUntagPolicy
	case "ListPolicyTags":
		return s.handleListPolicyTags
	// Instance profiles.
	case "CreateInstanceProfile":
		return s.handleCreateInstanceProfile
	case "GetInstanceProfile":
		return s.handleGetInstanceProfile
	case "DeleteInstanceProfile":
		return s.handleDeleteInstanceProfile
	case "AddRoleToInstanceProfile":
		return s.handleAddRoleToInstanceProfile
	case "RemoveRoleFromInstanceProfile":
		return s.handleRemoveRoleFromInstanceProfile
	case "ListInstanceProfiles":
		return s.handleListInstanceProfiles
	case "ListInstanceProfilesForRole":
		return s.handleListInstanceProfilesForRole
	// Users.
	case "CreateUser":
		return s.handleCreateUser
	case "GetUser":
		return s.handleGetUser
	case "ListUsers":
		return s.handleListUsers
	case "DeleteUser":
		return s.handleDeleteUser
	case "TagUser":
		return forKind(&userKind, s.handleTagPrincipal)
	case "UntagUser":
		return forKind(&userKind, s.handleUntagPrincipal)
	case "ListUserTags":
		return forKind(&userKind, s.handleListPrincipalTags)
	case "PutUserPolicy":
		return forKind(&userKind, s.handlePutInlinePolicy)
	case "GetUserPolicy":
		return forKind(&userKind, s.handleGetInlinePolicy)
	case "DeleteUserPolicy":
		return forKind(&userKind, s.handleDeleteInlinePolicy)
	case "ListUserPolicies":
		return forKind(&userKind, s.handleListInlinePolicies)
	case "AttachUserPolicy":
		return forKind(&userKind, s.handleAttachPolicy)
	case "DetachUserPolicy":
		return forKind(&userKind, s.handleDetachPolicy)
	case "ListAttachedUserPolicies":
		return forKind(&userKind, s.handleListAttachedPolicies)
	// Access keys.
	case "CreateAccessKey":
		return s.handleCreateAccessKey
	case "ListAccessKeys":
		return s.handleListAccessKeys
	case "UpdateAccessKey":
		return s.handleUpdateAccessKey
	case "DeleteAccessKey":
		return s.handleDeleteAccessKey
	case "GetAccessKeyLastUsed":
		return s.handleGetAccessKeyLastUsed
	}
	return nil
}

// Condition-key contexts.

// requestTagContext holds aws:RequestTag/<key> and aws:TagKeys for tags in a request.
func requestTagContext(tags []store.Tag) policy.Context {
	c := policy.NewContext()
	if len(tags) == 0 {
		return c
	}
	keys := make([]string, len(tags))
	for i, t := range tags {
		c.Set("aws:RequestTag/"+t.Key, t.Value)
		keys[i] = t.Key
	}
	c.Set("aws:TagKeys", keys...)
	return c
}

// resourceTagContext adds aws:ResourceTag/<key> (and iam:ResourceTag/<key>) for
// the tags of the entity a request is about.
func resourceTagContext(c policy.Context, tags []store.Tag) policy.Context {
	if c == nil {
		c = policy.NewContext()
	}
	for _, t := range tags {
		c.Set("aws:ResourceTag/"+t.Key, t.Value)
		c.Set("iam:ResourceTag/"+t.Key, t.Value)
	}
	return c
}

// tagKeysContext holds aws:TagKeys for an untag request.
func tagKeysContext(keys []string) policy.Context {
	c := policy.NewContext()
	if len(keys) > 0 {
		c.Set("aws:TagKeys", keys...)
	}
	return c
}

// OpenID Connect providers.

func (s *Service) handleCreateOpenIDConnectProvider(ctx context.Context, r *request) (any, error) {
	var v validator
	raw := v.str(r, "Url", "url", true, 1, 255, nil)
	clientIDs := v.list(r, "ClientIDList", "clientIDList", 0, 1, 255, nil)
	thumbprints := v.list(r, "ThumbprintList", "thumbprintList", maxThumbprints, 40, 40, nil)
	tags := v.tags(r)
	if err := v.err(); err != nil {
		return nil, err
	}
	url, err := s.providerURL(raw)
	if err != nil {
		return nil, err
	}
	if err := s.authorize(ctx, r, s.providerARN(url), requestTagContext(tags)); err != nil {
		return nil, err
	}
	p, err := s.createProvider(ctx, providerInput{URL: url, ClientIDs: clientIDs, Thumbprints: thumbprints, Tags: tags})
	if err != nil {
		return nil, err
	}
	return &createOIDCProviderResult{OpenIDConnectProviderArn: p.ARN, Tags: tagsXML(p.Tags)}, nil
}

// providerRequest validates OpenIDConnectProviderArn and authorizes the call on it.
func (s *Service) providerRequest(ctx context.Context, r *request, v *validator, extra policy.Context) (string, error) {
	arn := v.arn(r, "OpenIDConnectProviderArn", "openIDConnectProviderArn")
	if err := v.err(); err != nil {
		return "", err
	}
	if p, err := s.st.GetOIDCProvider(ctx, arn); err == nil {
		extra = resourceTagContext(extra, p.Tags)
	}
	return arn, s.authorize(ctx, r, arn, extra)
}

func (s *Service) handleGetOpenIDConnectProvider(ctx context.Context, r *request) (any, error) {
	var v validator
	arn, err := s.providerRequest(ctx, r, &v, nil)
	if err != nil {
		return nil, err
	}
	p, err := s.getProvider(ctx, arn)
	if err != nil {
		return nil, err
	}
	return &getOIDCProviderResult{
		URL:            providerURLResult(p.URL),
		ClientIDList:   strList(p.ClientIDs),
		ThumbprintList: strList(p.Thumbprints),
		CreateDate:     xmlTime(p.CreatedAt),
		Tags:           tagsXML(p.Tags),
	}, nil
}

func (s *Service) handleListOpenIDConnectProviders(ctx context.Context, r *request) (any, error) {
	if err := s.authorize(ctx, r, "*", nil); err != nil {
		return nil, err
	}
	ps, err := s.listProviders(ctx)
	if err != nil {
		return nil, err
	}
	out := &listOIDCProvidersResult{}
	out.List.Members = make([]oidcProviderEntry, len(ps))
	for i, p := range ps {
		out.List.Members[i] = oidcProviderEntry{Arn: p.ARN}
	}
	return out, nil
}

func (s *Service) handleUpdateOpenIDConnectProviderThumbprint(ctx context.Context, r *request) (any, error) {
	var v validator
	thumbprints := v.list(r, "ThumbprintList", "thumbprintList", maxThumbprints, 40, 40, nil)
	if thumbprints == nil {
		v.add("null", "thumbprintList", "must not be null")
	}
	arn, err := s.providerRequest(ctx, r, &v, nil)
	if err != nil {
		return nil, err
	}
	return nil, s.setThumbprints(ctx, arn, thumbprints)
}

// clientIDRequest validates ClientID and OpenIDConnectProviderArn, and authorizes
// the call on the provider.
func (s *Service) clientIDRequest(ctx context.Context, r *request) (arn, clientID string, err error) {
	var v validator
	clientID = v.str(r, "ClientID", "clientID", true, 1, 255, nil)
	arn, err = s.providerRequest(ctx, r, &v, nil)
	return arn, clientID, err
}

func (s *Service) handleAddClientIDToOpenIDConnectProvider(ctx context.Context, r *request) (any, error) {
	arn, id, err := s.clientIDRequest(ctx, r)
	if err != nil {
		return nil, err
	}
	return nil, s.addClientID(ctx, arn, id)
}

func (s *Service) handleRemoveClientIDFromOpenIDConnectProvider(ctx context.Context, r *request) (any, error) {
	arn, id, err := s.clientIDRequest(ctx, r)
	if err != nil {
		return nil, err
	}
	return nil, s.removeClientID(ctx, arn, id)
}

func (s *Service) handleDeleteOpenIDConnectProvider(ctx context.Context, r *request) (any, error) {
	var v validator
	arn, err := s.providerRequest(ctx, r, &v, nil)
	if err != nil {
		return nil, err
	}
	return nil, s.deleteProvider(ctx, arn)
}

func (s *Service) handleTagOpenIDConnectProvider(ctx context.Context, r *request) (any, error) {
	var v validator
	tags := v.requiredTags(r)
	arn, err := s.providerRequest(ctx, r, &v, requestTagContext(tags))
	if err != nil {
		return nil, err
	}
	return nil, s.updateProvider(ctx, arn, func(p *store.OIDCProvider) error {
		if err := checkTagKeys(p.Tags, tags); err != nil {
			return err
		}
		p.Tags = mergeTags(p.Tags, tags)
		return nil
	})
}

func (s *Service) handleUntagOpenIDConnectProvider(ctx context.Context, r *request) (any, error) {
	var v validator
	keys := v.tagKeys(r)
	arn, err := s.providerRequest(ctx, r, &v, tagKeysContext(keys))
	if err != nil {
		return nil, err
	}
	return nil, s.updateProvider(ctx, arn, func(p *store.OIDCProvider) error {
		p.Tags = removeTags(p.Tags, keys)
		return nil
	})
}

func (s *Service) handleListOpenIDConnectProviderTags(ctx context.Context, r *request) (any, error) {
	var v validator
	marker, max := v.pageParams(r)
	arn, err := s.providerRequest(ctx, r, &v, nil)
	if err != nil {
		return nil, err
	}
	p, err := s.getProvider(ctx, arn)
	if err != nil {
		return nil, err
	}
	return tagPage(p.Tags, marker, max)
}

// tagPage is one page of a ListXxxTags result.
func tagPage(tags []store.Tag, marker string, max int) (any, error) {
	items, pf, err := page(tags, indexKey[store.Tag], marker, max)
	if err != nil {
		return nil, err
	}
	return &listTagsResult{Tags: tagsXMLAlways(items), pageFields: pf}, nil
}

// indexKey is a page key for lists kept in insertion order.
func indexKey[T any](i int, _ T) string { return fmt.Sprintf("%09d", i) }

// Shared readers.

// requiredTags reads a Tags list that must be present.
func (v *validator) requiredTags(r *request) []store.Tag {
	if awsapi.Members(r.params, "Tags") == nil {
		v.add("null", "tags", "must not be null")
		return nil
	}
	return v.tags(r)
}

// tagKeys reads a required TagKeys list.
func (v *validator) tagKeys(r *request) []string {
	keys := v.list(r, "TagKeys", "tagKeys", maxTags, 1, 128, &patTagKey)
	if keys == nil {
		v.add("null", "tagKeys", "must not be null")
	}
	return keys
}

// targetUser is the user a user-or-self action is about: UserName when given,
// else the calling user. Root and role sessions must name the user (AWS would act
// on the root's own credentials, which keyless does not manage).
func targetUser(r *request, v *validator) (string, error) {
	name := v.entityName(r, "UserName", "userName", false, 128)
	if err := v.err(); err != nil {
		return "", err
	}
	if r.has("UserName") {
		return name, nil
	}
	p := r.caller()
	if p != nil && p.Kind == authn.User && p.User != nil {
		return p.User.Name, nil
	}
	return "", awsapi.ValidationError("Must specify userName when calling with non-User credentials")
}
