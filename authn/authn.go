// Package authn authenticates signed AWS calls: it resolves an access key (the local
// account's root key, an IAM user's key, or a temporary key whose session token seals
// a role session) to its secret and to the Principal who made the call.
//
// One Authenticator serves one account's store; Add lets it resolve the keys of
// further local accounts too, each Principal naming the account it belongs to.
package authn

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/keyless-dev/keyless/awsapi"
	"github.com/keyless-dev/keyless/keywrap"
	"github.com/keyless-dev/keyless/session"
	"github.com/keyless-dev/keyless/store"

	"github.com/keyless-dev/keyless/arn"
)

// Kind is the kind of caller.
type Kind int

// Caller kinds.
const (
	Root Kind = iota + 1
	User
	AssumedRole
)

func (k Kind) String() string {
	switch k {
	case Root:
		return "Root"
	case User:
		return "User"
	case AssumedRole:
		return "AssumedRole"
	}
	return "Unknown"
}

// Principal is who signed a request.
type Principal struct {
	Kind    Kind
	Account string
	// ARN is the caller's ARN: arn:aws:iam::<acct>:root, arn:aws:iam::<acct>:user/<path><name>
	// or arn:aws:sts::<acct>:assumed-role/<role>/<session>.
	ARN string
	// UserID is what GetCallerIdentity reports: the account id for root, AIDA… for a
	// user, <RoleId>:<session> for a role session.
	UserID      string
	AccessKeyID string
	// User is the IAM user, for Kind User.
	User *store.User
	// Session is the opened role session, for Kind AssumedRole.
	Session *session.Claims
	// OrgID and OrgPaths are the aws:PrincipalOrgID and aws:PrincipalOrgPaths
	// of the caller's account when it is a member of an organization (see
	// Authenticator.SetOrgKeys); empty otherwise.
	OrgID    string
	OrgPaths []string
}

// RootCredentials are the local account's root access key.
type RootCredentials struct {
	AccessKeyID     string
	SecretAccessKey string
}

// AccessKeyLabel is the keywrap label an IAM user's secret access key is sealed under.
func AccessKeyLabel(id string) string { return "access-key/" + id }

// Authenticator implements awsapi.CredentialLookup. Verified principals are returned
// in awsapi.Auth.Principal as *Principal.
type Authenticator struct {
	st       store.Store
	box      *keywrap.Box
	sessions *session.Keyring
	root     RootCredentials
	account  string
	now      func() time.Time

	mu    sync.Mutex
	cache map[string]cachedKey // user access keys, briefly, so signed calls skip the store

	// joined are the further accounts' Authenticators (Add): an
	// immutable snapshot, replaced whole under joinMu, so that lookups read it
	// without a lock.
	joined atomic.Pointer[joinedAccounts]
	joinMu sync.Mutex

	// orgKeys, if set (SetOrgKeys), gives the organization keys of an account.
	orgKeys OrgKeysFunc
}

// joinedAccounts are the Authenticators of the further accounts, by account id
// (others) and by root access key id (roots).
type joinedAccounts struct {
	others map[string]*Authenticator
	roots  map[string]*Authenticator
}

// OrgKeysFunc returns the organization ID and paths (aws:PrincipalOrgID,
// aws:PrincipalOrgPaths) of an account, ok false when it is a member of no
// organization. It is called for every signed call: it should be cheap (cached).
type OrgKeysFunc func(ctx context.Context, account string) (orgID string, paths []string, ok bool, err error)

type cachedKey struct {
	key     store.AccessKey
	user    store.User
	secret  string
	fetched time.Time
}

// keyCacheTTL bounds how long a deactivated or deleted user key keeps working
// (AWS itself is eventually consistent for IAM changes).
const keyCacheTTL = 2 * time.Second

// NewAuthenticator returns an Authenticator for the account.
func NewAuthenticator(st store.Store, box *keywrap.Box, sessions *session.Keyring, root RootCredentials, account string, now func() time.Time) *Authenticator {
	if now == nil {
		now = time.Now
	}
	return &Authenticator{st: st, box: box, sessions: sessions, root: root, account: account, now: now, cache: map[string]cachedKey{}}
}

// Add makes a also resolve the access keys of a further local account, served by
// its own Authenticator o (over that account's store): its root key and IAM user
// keys authenticate to its account. Session tokens carry their account and are
// opened by a's key ring, which must be the one that seals every account's
// sessions; a session of an account a does not know (its own or an added one) is
// refused. Add is safe while a serves: calls in flight see the accounts before
// or after it.
func (a *Authenticator) Add(o *Authenticator) {
	a.joinMu.Lock()
	defer a.joinMu.Unlock()
	j := &joinedAccounts{others: map[string]*Authenticator{}, roots: map[string]*Authenticator{}}
	if old := a.joined.Load(); old != nil {
		j.others, j.roots = maps.Clone(old.others), maps.Clone(old.roots)
	}
	j.add(o)
	a.joined.Store(j)
}

func (j *joinedAccounts) add(o *Authenticator) {
	j.others[o.account] = o
	if o.root.AccessKeyID != "" {
		j.roots[o.root.AccessKeyID] = o
	}
}

// other returns the joined Authenticator of account, if any.
func (a *Authenticator) other(account string) *Authenticator {
	if j := a.joined.Load(); j != nil {
		return j.others[account]
	}
	return nil
}

// SetOrgKeys makes a fill the OrgID and OrgPaths of every Principal it
// resolves from f (nil: none). Call it before a serves.
func (a *Authenticator) SetOrgKeys(f OrgKeysFunc) { a.orgKeys = f }

// LookupCredential resolves accessKeyID (and sessionToken for temporary keys).
// The account's own keys are looked up first, then those of the joined accounts.
// With SetOrgKeys, the Principal carries its account's organization keys.
func (a *Authenticator) LookupCredential(ctx context.Context, accessKeyID, sessionToken string) (awsapi.Credential, error) {
	cred, err := a.lookupCredential(ctx, accessKeyID, sessionToken)
	if err != nil || a.orgKeys == nil {
		return cred, err
	}
	if p, ok := cred.Principal.(*Principal); ok && p != nil {
		id, paths, member, err := a.orgKeys(ctx, p.Account)
		if err != nil {
			return awsapi.Credential{}, fmt.Errorf("authn: organization of account %s: %w", p.Account, err)
		}
		if member {
			p.OrgID, p.OrgPaths = id, paths
		}
	}
	return cred, nil
}

func (a *Authenticator) lookupCredential(ctx context.Context, accessKeyID, sessionToken string) (awsapi.Credential, error) {
	switch {
	case accessKeyID == a.root.AccessKeyID && a.root.AccessKeyID != "":
		if sessionToken != "" {
			return awsapi.Credential{}, awsapi.InvalidClientTokenID()
		}
		return a.rootCredential(), nil
	case strings.HasPrefix(accessKeyID, session.AccessKeyPrefix):
		return a.lookupSession(accessKeyID, sessionToken)
	case strings.HasPrefix(accessKeyID, "AKIA"):
		if sessionToken != "" {
			return awsapi.Credential{}, awsapi.InvalidClientTokenID()
		}
		j := a.joined.Load()
		if j == nil {
			j = &joinedAccounts{}
		}
		if o := j.roots[accessKeyID]; o != nil {
			return o.rootCredential(), nil
		}
		cred, found, err := a.lookupUserKey(ctx, accessKeyID)
		for _, o := range j.others {
			if found || err != nil {
				break
			}
			cred, found, err = o.lookupUserKey(ctx, accessKeyID)
		}
		if err == nil && !found {
			err = awsapi.InvalidClientTokenID()
		}
		return cred, err
	}
	return awsapi.Credential{}, awsapi.InvalidClientTokenID()
}

// rootCredential is the account's root key, as a verified caller.
func (a *Authenticator) rootCredential() awsapi.Credential {
	return awsapi.Credential{SecretAccessKey: a.root.SecretAccessKey, Principal: &Principal{
		Kind: Root, Account: a.account, ARN: arn.Root(arn.DefaultPartition, a.account).String(), UserID: a.account, AccessKeyID: a.root.AccessKeyID,
	}}
}

func (a *Authenticator) lookupSession(accessKeyID, token string) (awsapi.Credential, error) {
	if token == "" || a.sessions == nil {
		return awsapi.Credential{}, awsapi.InvalidClientTokenID()
	}
	c, err := a.sessions.Open(token, a.now())
	switch {
	case errors.Is(err, session.ErrExpired):
		return awsapi.Credential{}, awsapi.ExpiredToken()
	case err != nil:
		return awsapi.Credential{}, awsapi.InvalidClientTokenID()
	case c.AccessKeyID != accessKeyID:
		return awsapi.Credential{}, awsapi.InvalidClientTokenID()
	case c.Account != a.account && a.other(c.Account) == nil:
		// A session of an account not served (removed from the config).
		return awsapi.Credential{}, awsapi.InvalidClientTokenID()
	}
	return awsapi.Credential{SecretAccessKey: c.SecretAccessKey, Principal: &Principal{
		Kind: AssumedRole, Account: c.Account, ARN: c.AssumedRoleARN(), UserID: c.AssumedRoleID(), AccessKeyID: accessKeyID, Session: &c,
	}}, nil
}

// lookupUserKey resolves an IAM user's access key of a's own account; found is
// false when the account has no such key.
func (a *Authenticator) lookupUserKey(ctx context.Context, id string) (_ awsapi.Credential, found bool, _ error) {
	now := a.now()
	a.mu.Lock()
	ck, ok := a.cache[id]
	a.mu.Unlock()
	if !ok || now.Sub(ck.fetched) > keyCacheTTL {
		k, err := a.st.GetAccessKey(ctx, id)
		if errors.Is(err, store.ErrNotFound) {
			return awsapi.Credential{}, false, nil
		}
		if err != nil {
			return awsapi.Credential{}, false, fmt.Errorf("authn: look up access key: %w", err)
		}
		u, err := a.st.GetUser(ctx, k.UserName)
		if err != nil {
			return awsapi.Credential{}, false, fmt.Errorf("authn: look up user of access key: %w", err)
		}
		secret, err := a.box.Open(AccessKeyLabel(id), k.Secret)
		if err != nil {
			return awsapi.Credential{}, false, fmt.Errorf("authn: open access key secret: %w", err)
		}
		ck = cachedKey{key: k, user: u, secret: string(secret), fetched: now}
		a.mu.Lock()
		a.cache[id] = ck
		a.mu.Unlock()
	}
	if ck.key.Status != "Active" {
		return awsapi.Credential{}, true, awsapi.InvalidClientTokenID()
	}
	u := ck.user
	return awsapi.Credential{SecretAccessKey: ck.secret, Principal: &Principal{
		Kind: User, Account: a.account, ARN: u.ARN, UserID: u.ID, AccessKeyID: id, User: &u,
	}}, true, nil
}

// Forget drops a user access key from the cache (after IAM changed or deleted it).
func (a *Authenticator) Forget(accessKeyID string) {
	a.mu.Lock()
	delete(a.cache, accessKeyID)
	a.mu.Unlock()
}

// RecordUse notes that a user's access key signed a verified call, for
// GetAccessKeyLastUsed. It writes at most once a minute per key.
func (a *Authenticator) RecordUse(ctx context.Context, p *Principal, service, region string) error {
	if p == nil || p.Kind != User {
		return nil
	}
	if p.Account != a.account {
		if o := a.other(p.Account); o != nil {
			return o.RecordUse(ctx, p, service, region)
		}
		return nil
	}
	now := a.now().UTC()
	a.mu.Lock()
	ck, ok := a.cache[p.AccessKeyID]
	fresh := ok && now.Sub(ck.key.LastUsedAt) < time.Minute && ck.key.LastUsedSvc == service && ck.key.LastUsedRgn == region
	if ok && !fresh { // the cache remembers the last write, so the minute counts from it
		ck.key.LastUsedAt, ck.key.LastUsedSvc, ck.key.LastUsedRgn = now, service, region
		a.cache[p.AccessKeyID] = ck
	}
	a.mu.Unlock()
	if fresh {
		return nil
	}
	err := a.st.UpdateAccessKey(ctx, p.AccessKeyID, func(k store.AccessKey) (store.AccessKey, error) {
		k.LastUsedAt, k.LastUsedSvc, k.LastUsedRgn = now, service, region
		return k, nil
	})
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("authn: record access key use: %w", err)
	}
	return nil
}
