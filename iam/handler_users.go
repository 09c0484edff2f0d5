package iam

import (
	"context"
	"strings"

	"github.com/keyless-dev/keyless/authn"
	"github.com/keyless-dev/keyless/awsapi"
	"github.com/keyless-dev/keyless/policy"
	"github.com/keyless-dev/keyless/store"
)

// userRequest authorizes a call about the named user.
func (s *Service) userRequest(ctx context.Context, r *request, name string, extra policy.Context) error {
	arn, u, err := s.userResource(ctx, name)
	if err != nil {
		return err
	}
	if u != nil {
		extra = resourceTagContext(extra, u.Tags)
	}
	return s.authorize(ctx, r, arn, extra)
}

// namedUser validates a required UserName (with whatever v collected before) and
// authorizes the call on that user.
func (s *Service) namedUser(ctx context.Context, r *request, v *validator, extra policy.Context) (string, error) {
	name := v.entityName(r, "UserName", "userName", true, 128)
	if err := v.err(); err != nil {
		return "", err
	}
	return name, s.userRequest(ctx, r, name, extra)
}

// selfOrNamedUser is namedUser for actions whose UserName defaults to the caller.
func (s *Service) selfOrNamedUser(ctx context.Context, r *request, v *validator) (string, error) {
	name, err := targetUser(r, v)
	if err != nil {
		return "", err
	}
	return name, s.userRequest(ctx, r, name, nil)
}

func (s *Service) handleCreateUser(ctx context.Context, r *request) (any, error) {
	var v validator
	name := v.entityName(r, "UserName", "userName", true, 64)
	path := v.path(r, "Path", "path")
	tags := v.tags(r)
	if r.has("PermissionsBoundary") {
		v.str(r, "PermissionsBoundary", "permissionsBoundary", false, 20, 2048, nil)
	}
	if err := v.err(); err != nil {
		return nil, err
	}
	if err := s.authorize(ctx, r, s.userARN(path, name), requestTagContext(tags)); err != nil {
		return nil, err
	}
	if r.has("PermissionsBoundary") {
		return nil, invalidInput("Permissions boundaries for users are not supported by keyless.")
	}
	u, err := s.createUser(ctx, userInput{Name: name, Path: path, Tags: tags})
	if err != nil {
		return nil, err
	}
	return &userResult{User: userXML(u, true)}, nil
}

func (s *Service) handleGetUser(ctx context.Context, r *request) (any, error) {
	var v validator
	name := v.entityName(r, "UserName", "userName", false, 128)
	if err := v.err(); err != nil {
		return nil, err
	}
	p := r.caller()
	if !r.has("UserName") && p != nil && p.Kind == authn.Root {
		// The root "user", as IAM describes it: no name and no path.
		if err := s.authorize(ctx, r, p.ARN, nil); err != nil {
			return nil, err
		}
		return &userResult{User: xmlUser{UserID: s.cfg.Account, Arn: p.ARN, CreateDate: xmlTimePtr(s.cfg.RootCreatedAt)}}, nil
	}
	if !r.has("UserName") {
		var err error
		if name, err = targetUser(r, &v); err != nil {
			return nil, err
		}
	}
	if err := s.userRequest(ctx, r, name, nil); err != nil {
		return nil, err
	}
	u, err := s.getUser(ctx, name)
	if err != nil {
		return nil, err
	}
	return &userResult{User: userXML(u, true)}, nil
}

func (s *Service) handleListUsers(ctx context.Context, r *request) (any, error) {
	var v validator
	prefix := v.pathPrefix(r)
	marker, max := v.pageParams(r)
	if err := v.err(); err != nil {
		return nil, err
	}
	if err := s.authorize(ctx, r, "*", nil); err != nil {
		return nil, err
	}
	users, err := s.listUsers(ctx, prefix)
	if err != nil {
		return nil, err
	}
	items, pf, err := page(users, func(_ int, u store.User) string { return strings.ToLower(u.Name) }, marker, max)
	if err != nil {
		return nil, err
	}
	out := &listUsersResult{pageFields: pf}
	out.Users.Members = make([]xmlUser, len(items))
	for i, u := range items {
		out.Users.Members[i] = userXML(u, false)
	}
	return out, nil
}

func (s *Service) handleDeleteUser(ctx context.Context, r *request) (any, error) {
	var v validator
	name, err := s.namedUser(ctx, r, &v, nil)
	if err != nil {
		return nil, err
	}
	return nil, s.deleteUser(ctx, name)
}

// Access keys.

func (s *Service) handleCreateAccessKey(ctx context.Context, r *request) (any, error) {
	var v validator
	name, err := s.selfOrNamedUser(ctx, r, &v)
	if err != nil {
		return nil, err
	}
	k, err := s.createAccessKey(ctx, name)
	if err != nil {
		return nil, err
	}
	return &createAccessKeyResult{AccessKey: xmlAccessKey{
		UserName:        k.Key.UserName,
		AccessKeyID:     k.Key.ID,
		Status:          k.Key.Status,
		SecretAccessKey: k.Secret,
		CreateDate:      xmlTime(k.Key.CreatedAt),
	}}, nil
}

func (s *Service) handleListAccessKeys(ctx context.Context, r *request) (any, error) {
	var v validator
	marker, max := v.pageParams(r)
	p := r.caller()
	if !r.has("UserName") && p != nil && p.Kind == authn.Root {
		// The root user's own keys are the ones in DIR/env, which IAM does not list.
		if err := v.err(); err != nil {
			return nil, err
		}
		if err := s.authorize(ctx, r, p.ARN, nil); err != nil {
			return nil, err
		}
		return &listAccessKeysResult{}, nil
	}
	name, err := s.selfOrNamedUser(ctx, r, &v)
	if err != nil {
		return nil, err
	}
	u, keys, err := s.listAccessKeys(ctx, name)
	if err != nil {
		return nil, err
	}
	items, pf, err := page(keys, func(_ int, k store.AccessKey) string {
		return k.CreatedAt.UTC().Format("20060102T150405.000000000") + k.ID
	}, marker, max)
	if err != nil {
		return nil, err
	}
	out := &listAccessKeysResult{pageFields: pf, UserName: u.Name}
	out.AccessKeyMetadata.Members = make([]xmlAccessKey, len(items))
	for i, k := range items {
		out.AccessKeyMetadata.Members[i] = xmlAccessKey{UserName: k.UserName, AccessKeyID: k.ID, Status: k.Status, CreateDate: xmlTime(k.CreatedAt)}
	}
	return out, nil
}

// accessKeyTarget validates AccessKeyId and the optional UserName of a key action
// and authorizes it on the key's user. Root may leave UserName out and address
// any user's key by its id.
func (s *Service) accessKeyTarget(ctx context.Context, r *request, v *validator) (user, id string, err error) {
	id = v.str(r, "AccessKeyId", "accessKeyId", true, 16, 128, &patKeyID)
	if err := v.err(); err != nil {
		return "", "", err
	}
	p := r.caller()
	if !r.has("UserName") && p != nil && p.Kind == authn.Root {
		resource := "*"
		if k, err := s.st.GetAccessKey(ctx, id); err == nil {
			if u, err := s.st.GetUser(ctx, k.UserName); err == nil {
				resource = u.ARN
			}
		}
		return "", id, s.authorize(ctx, r, resource, nil)
	}
	user, err = s.selfOrNamedUser(ctx, r, v)
	return user, id, err
}

func (s *Service) handleUpdateAccessKey(ctx context.Context, r *request) (any, error) {
	var v validator
	status := v.enum(r, "Status", "status", true, "Active", "Inactive")
	user, id, err := s.accessKeyTarget(ctx, r, &v)
	if err != nil {
		return nil, err
	}
	return nil, s.setAccessKeyStatus(ctx, user, id, status)
}

func (s *Service) handleDeleteAccessKey(ctx context.Context, r *request) (any, error) {
	var v validator
	user, id, err := s.accessKeyTarget(ctx, r, &v)
	if err != nil {
		return nil, err
	}
	return nil, s.deleteAccessKey(ctx, user, id)
}

func (s *Service) handleGetAccessKeyLastUsed(ctx context.Context, r *request) (any, error) {
	var v validator
	id := v.str(r, "AccessKeyId", "accessKeyId", true, 16, 128, &patKeyID)
	if err := v.err(); err != nil {
		return nil, err
	}
	k, kerr := s.st.GetAccessKey(ctx, id)
	resource := "*"
	var u store.User
	if kerr == nil {
		var err error
		if u, err = s.getUser(ctx, k.UserName); err != nil && !awsapi.HasCode(err, "NoSuchEntity") {
			return nil, err
		}
		if u.ARN != "" {
			resource = u.ARN
		}
	}
	if err := s.authorize(ctx, r, resource, nil); err != nil {
		return nil, err
	}
	if kerr != nil {
		if _, err := s.userKey(ctx, "", id); err != nil {
			return nil, err
		}
	}
	last := xmlAccessKeyLastUsed{ServiceName: "N/A", Region: "N/A"}
	if !k.LastUsedAt.IsZero() {
		last = xmlAccessKeyLastUsed{LastUsedDate: xmlTimePtr(k.LastUsedAt), ServiceName: k.LastUsedSvc, Region: k.LastUsedRgn}
	}
	return &accessKeyLastUsedResult{UserName: k.UserName, AccessKeyLastUsed: last}, nil
}
