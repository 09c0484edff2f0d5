package iam

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/keyless-dev/keyless/accesskey"
	"github.com/keyless-dev/keyless/arn"
	"github.com/keyless-dev/keyless/authn"
	"github.com/keyless-dev/keyless/store"
)

// User limits.
const (
	maxUserInlineSize = 2048 // all inline policies of a user
	maxAccessKeys     = 2    // AccessKeysPerUser, inactive keys included
)

// userARN is the ARN of a user.
func (s *Service) userARN(path, name string) string {
	return arn.User(arn.DefaultPartition, s.cfg.Account, path, name).String()
}

// userResource is the ARN a request about a user is authorized against: the
// user's own ARN when it exists, else the ARN it would have at path "/".
func (s *Service) userResource(ctx context.Context, name string) (string, *store.User, error) {
	u, err := s.st.GetUser(ctx, name)
	switch {
	case err == nil:
		return u.ARN, &u, nil
	case errors.Is(err, store.ErrNotFound):
		return s.userARN("/", name), nil, nil
	}
	return "", nil, storeErr("get user", err)
}

// userInput is what CreateUser asks for.
type userInput struct {
	Name string
	Path string
	Tags []store.Tag
}

// createUser creates a user; names are unique case-insensitively.
func (s *Service) createUser(ctx context.Context, in userInput) (store.User, error) {
	if err := checkTagKeys(nil, in.Tags); err != nil {
		return store.User{}, err
	}
	id, err := s.newID("AIDA")
	if err != nil {
		return store.User{}, err
	}
	u := store.User{ID: id, Name: in.Name, Path: in.Path, ARN: s.userARN(in.Path, in.Name), Tags: in.Tags, CreatedAt: s.now()}
	if err := s.st.CreateUser(ctx, u); err != nil {
		if errors.Is(err, store.ErrAlreadyExists) {
			return store.User{}, entityAlreadyExists("User with name " + in.Name + " already exists.")
		}
		return store.User{}, storeErr("create user", err)
	}
	return u, nil
}

// getUser returns a user by name.
func (s *Service) getUser(ctx context.Context, name string) (store.User, error) {
	u, err := s.st.GetUser(ctx, name)
	if errors.Is(err, store.ErrNotFound) {
		return store.User{}, noSuchUser(name)
	}
	return u, storeErr("get user", err)
}

// listUsers returns the users whose path starts with prefix, by lower-cased name.
func (s *Service) listUsers(ctx context.Context, prefix string) ([]store.User, error) {
	all, err := s.st.ListUsers(ctx)
	if err != nil {
		return nil, storeErr("list users", err)
	}
	var out []store.User
	for _, u := range all {
		if strings.HasPrefix(u.Path, prefix) {
			out = append(out, u)
		}
	}
	return out, nil
}

// updateUser changes a user in a transaction and returns the new record.
func (s *Service) updateUser(ctx context.Context, name string, fn func(*store.User) error) (store.User, error) {
	var out store.User
	err := s.st.UpdateUser(ctx, name, func(u store.User) (store.User, error) {
		if err := fn(&u); err != nil {
			return u, err
		}
		out = u
		return u, nil
	})
	if errors.Is(err, store.ErrNotFound) {
		return store.User{}, noSuchUser(name)
	}
	return out, storeErr("update user", err)
}

// deleteUser deletes a user that has no access keys and no policies left.
func (s *Service) deleteUser(ctx context.Context, name string) error {
	u, err := s.getUser(ctx, name)
	if err != nil {
		return err
	}
	keys, err := s.st.ListAccessKeys(ctx, u.Name)
	if err != nil {
		return storeErr("delete user", err)
	}
	switch {
	case len(keys) > 0:
		return deleteConflict("Cannot delete entity, must delete access keys first.")
	case len(u.InlinePolicies) > 0:
		return deleteConflict("Cannot delete entity, must delete policies first.")
	case len(u.AttachedPolicies) > 0:
		return deleteConflict("Cannot delete entity, must detach all policies first.")
	}
	err = s.st.DeleteUser(ctx, u.Name)
	if errors.Is(err, store.ErrNotFound) {
		return noSuchUser(name)
	}
	return storeErr("delete user", err)
}

// Access keys.

// newAccessKey is a created key with its secret, which is never stored in clear.
type newAccessKey struct {
	Key    store.AccessKey
	Secret string
}

// createAccessKey creates an active key for a user, at most two per user.
func (s *Service) createAccessKey(ctx context.Context, user string) (newAccessKey, error) {
	u, err := s.getUser(ctx, user)
	if err != nil {
		return newAccessKey{}, err
	}
	s.keysMu.Lock()
	defer s.keysMu.Unlock()
	keys, err := s.st.ListAccessKeys(ctx, u.Name)
	if err != nil {
		return newAccessKey{}, storeErr("create access key", err)
	}
	if len(keys) >= maxAccessKeys {
		return newAccessKey{}, limitExceeded(fmt.Sprintf("Cannot exceed quota for AccessKeysPerUser: %d", maxAccessKeys))
	}
	s.randMu.Lock()
	id, secret, err := accesskey.New(s.cfg.Rand, accesskey.LongTerm)
	s.randMu.Unlock()
	if err != nil {
		return newAccessKey{}, fmt.Errorf("iam: create access key: %w", err)
	}
	sealed, err := s.cfg.Box.Seal(authn.AccessKeyLabel(id), []byte(secret))
	if err != nil {
		return newAccessKey{}, fmt.Errorf("iam: create access key: seal secret: %w", err)
	}
	k := store.AccessKey{ID: id, UserName: u.Name, Secret: sealed, Status: "Active", CreatedAt: s.now()}
	if err := s.st.CreateAccessKey(ctx, k); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return newAccessKey{}, noSuchUser(user)
		}
		return newAccessKey{}, storeErr("create access key", err)
	}
	return newAccessKey{Key: k, Secret: secret}, nil
}

// listAccessKeys returns a user's keys, oldest first.
func (s *Service) listAccessKeys(ctx context.Context, user string) (store.User, []store.AccessKey, error) {
	u, err := s.getUser(ctx, user)
	if err != nil {
		return u, nil, err
	}
	keys, err := s.st.ListAccessKeys(ctx, u.Name)
	return u, keys, storeErr("list access keys", err)
}

// userKey returns a key that belongs to user (any user when user is "").
func (s *Service) userKey(ctx context.Context, user, id string) (store.AccessKey, error) {
	k, err := s.st.GetAccessKey(ctx, id)
	if errors.Is(err, store.ErrNotFound) || (err == nil && user != "" && !strings.EqualFold(k.UserName, user)) {
		return store.AccessKey{}, noSuchAccessKey(id)
	}
	return k, storeErr("get access key", err)
}

// setAccessKeyStatus activates or deactivates a key.
func (s *Service) setAccessKeyStatus(ctx context.Context, user, id, status string) error {
	if user != "" {
		if _, err := s.getUser(ctx, user); err != nil {
			return err
		}
	}
	if _, err := s.userKey(ctx, user, id); err != nil {
		return err
	}
	err := s.st.UpdateAccessKey(ctx, id, func(k store.AccessKey) (store.AccessKey, error) {
		k.Status = status
		return k, nil
	})
	s.forget(id)
	if errors.Is(err, store.ErrNotFound) {
		return noSuchAccessKey(id)
	}
	return storeErr("update access key", err)
}

// deleteAccessKey deletes a key.
func (s *Service) deleteAccessKey(ctx context.Context, user, id string) error {
	if user != "" {
		if _, err := s.getUser(ctx, user); err != nil {
			return err
		}
	}
	if _, err := s.userKey(ctx, user, id); err != nil {
		return err
	}
	err := s.st.DeleteAccessKey(ctx, id)
	s.forget(id)
	if errors.Is(err, store.ErrNotFound) {
		return noSuchAccessKey(id)
	}
	return storeErr("delete access key", err)
}

// forget drops a key from the authenticator's cache.
func (s *Service) forget(id string) {
	if s.cfg.Authenticator != nil {
		s.cfg.Authenticator.Forget(id)
	}
}
