package server

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"sync"
	"time"

	"github.com/keyless-dev/keyless/authn"
	"github.com/keyless-dev/keyless/authz"
	"github.com/keyless-dev/keyless/awsapi"
	"github.com/keyless-dev/keyless/gateway"
	"github.com/keyless-dev/keyless/organizations"
	"github.com/keyless-dev/keyless/policy"
	"github.com/keyless-dev/keyless/store"
)

// Organizations.
//
// keyless up serves one AWS Organizations API (package organizations) for every
// account: the organizations live in the first account's store, and any local
// account may call it, as the core's rules allow (the account that calls
// CreateOrganization becomes its management account; members may only describe
// their organization). CreateAccount makes a real local account, served at
// once: a store of its own (as a config account's, accounts.go), root
// credentials, and the role CreateAccount's RoleName names
// (OrganizationAccountAccessRole by default), which the management account may
// assume (its trust policy names arn:aws:iam::MANAGEMENT:root) and which may do
// everything (an inline policy AdministratorAccess allowing * on *), as AWS
// creates it. The account is recorded in settingAccounts, and served again by
// every later start, whatever the config lists; replicas sharing the store
// serve it within accountWatchInterval (watchAccounts). An account of the
// config joins an organization as on AWS: invited by the management account
// (InviteAccountToOrganization), it accepts the handshake.
//
// Every signed call of a member account's principal carries aws:PrincipalOrgID
// and aws:PrincipalOrgPaths (authn.Authenticator.SetOrgKeys, authz.GlobalContext),
// from a cache of at most orgKeysTTL, dropped whenever an organization changes.

// defaultAccessRole is the role CreateAccount creates without a RoleName.
const defaultAccessRole = "OrganizationAccountAccessRole"

// orgKeysTTL bounds how long a caller's organization keys are cached (this
// server drops them at once when it changes an organization; another replica's
// change shows within this time).
const orgKeysTTL = 2 * time.Second

// maxOrgKeys bounds the cache of organization keys (accounts).
const maxOrgKeys = 4096

// accountWatchInterval is how often a server looks in the store for accounts
// that CreateAccount made on another replica sharing it.
const accountWatchInterval = 2 * time.Second

// orgServer is the Organizations service of keyless up: the service over the
// first account's store, and what CreateAccount does beyond recording the
// account.
type orgServer struct {
	s    *Server
	core *organizations.Organizations
	svc  *organizations.Service
	keys *orgKeyCache

	provisionMu sync.Mutex // one new account at a time
}

// newOrganizations builds the Organizations service, serves the accounts an
// earlier CreateAccount recorded but no start served (a crash between the two),
// and makes the authenticator give callers their organization keys.
func (s *Server) newOrganizations(ctx context.Context, first *authz.Authorizer) (*gateway.JSONService, error) {
	ost, ok := s.st.(store.OrganizationStore)
	if !ok {
		return nil, fmt.Errorf("organizations: the store (%T) does not keep organizations", s.st)
	}
	o := &orgServer{s: s}
	core, err := organizations.NewOrganizations(organizations.CoreConfig{
		Store: ost, Now: s.now, Rand: rand.Reader, AccountInUse: o.accountInUse,
	})
	if err != nil {
		return nil, err
	}
	o.core = core
	if o.svc, err = organizations.New(organizations.Config{
		Core: core, Authorizer: callerAuthorizer{reg: s.reg, first: first}, Audit: s.audit, Logger: s.log,
	}); err != nil {
		return nil, err
	}
	o.keys = &orgKeyCache{core: core, now: s.now, m: map[string]orgKeys{}}
	s.orgs = o
	if err := o.reconcile(ctx); err != nil {
		return nil, err
	}
	s.authn.SetOrgKeys(o.keys.lookup)
	return &gateway.JSONService{TargetPrefix: organizations.TargetPrefix, ContentType: awsapi.ContentTypeJSON11, Handler: o}, nil
}

// Serves implements gateway.ActionSet.
func (o *orgServer) Serves(action string) bool { return o.svc.Serves(action) }

// ServeJSON implements gateway.JSONHandler: the service's reply, once a
// CreateAccount that made an account has made it a served local account.
func (o *orgServer) ServeJSON(ctx context.Context, call *gateway.Call, body []byte) (any, error) {
	out, err := o.svc.ServeJSON(ctx, call, body)
	if err != nil {
		return nil, err
	}
	switch call.Action {
	case "CreateOrganization", "CreateAccount", "MoveAccount", "AcceptHandshake":
		o.keys.invalidate()
	}
	if call.Action == "CreateAccount" && call.Caller != nil {
		if err := o.created(ctx, call.Caller.Account, body, out); err != nil {
			o.s.log.Error("organizations: CreateAccount recorded an account keyless up could not serve; the next start serves it",
				"request_id", call.RequestID, "err", err)
			return nil, err
		}
	}
	return out, nil
}

// created serves the account a successful CreateAccount (its request body and
// reply) of the management account made.
func (o *orgServer) created(ctx context.Context, management string, body []byte, out any) error {
	b, err := json.Marshal(out)
	if err != nil {
		return fmt.Errorf("organizations: read the CreateAccount reply: %w", err)
	}
	var reply struct {
		CreateAccountStatus struct{ State, AccountID, AccountName string } `json:"CreateAccountStatus"`
	}
	if err := json.Unmarshal(b, &reply); err != nil {
		return fmt.Errorf("organizations: read the CreateAccount reply: %w", err)
	}
	st := reply.CreateAccountStatus
	if st.State != "SUCCEEDED" || st.AccountID == "" {
		return nil
	}
	var in struct{ RoleName string }
	if err := json.Unmarshal(body, &in); err != nil {
		return fmt.Errorf("organizations: read the CreateAccount request: %w", err) // the service decoded it already
	}
	if in.RoleName == "" {
		in.RoleName = defaultAccessRole
	}
	// The account is recorded: finish serving it even if the caller goes away.
	return o.provision(context.WithoutCancel(ctx), accountRecord{ID: st.AccountID, Name: st.AccountName, Organization: true}, management, in.RoleName)
}

// provision makes the account r a served local account: its store, root
// credentials, services, record in settingAccounts, and the role roleName that
// management may assume. An account served already is left as it is.
func (o *orgServer) provision(ctx context.Context, r accountRecord, management, roleName string) error {
	o.provisionMu.Lock()
	defer o.provisionMu.Unlock()
	s := o.s
	if served, err := o.serveNew(ctx, r); err != nil || !served {
		return err
	}
	// The role before the record: another replica serves the account once it
	// is recorded (watchAccounts), and finds it complete. A stop between the
	// two leaves it unrecorded, which the next start's reconcile mends.
	if err := o.createAccessRole(ctx, r.ID, management, roleName); err != nil {
		return err
	}
	if err := s.recordAccount(ctx, r); err != nil {
		return err
	}
	s.log.Info("organizations: account created and served", "account", r.ID, "name", r.Name, "role", roleName)
	return nil
}

// createAccessRole creates, in account id, the role roleName that the root of
// management (and whom it allows sts:AssumeRole) may assume, allowed every
// action, as AWS's CreateAccount does; a role of that name is left as it is.
// It goes through the account's IAM as the account's root user, so the role
// has IAM's IDs and ARN and the audit log records its creation.
func (o *orgServer) createAccessRole(ctx context.Context, id, management, roleName string) error {
	iamSvc, ok := o.s.reg.load().iam[id]
	if !ok {
		return fmt.Errorf("organizations: create role %s: account %s is not served", roleName, id)
	}
	trust, err := json.Marshal(policyDoc{Version: policy.Version2012, Statement: []policyStatement{{
		Effect: "Allow", Principal: map[string]string{"AWS": "arn:aws:iam::" + management + ":root"}, Action: "sts:AssumeRole",
	}}})
	if err != nil {
		return fmt.Errorf("organizations: create role %s: %w", roleName, err)
	}
	admin, err := json.Marshal(policyDoc{Version: policy.Version2012, Statement: []policyStatement{{Effect: "Allow", Action: "*", Resource: "*"}}})
	if err != nil {
		return fmt.Errorf("organizations: create role %s: %w", roleName, err)
	}
	root := &authn.Principal{Kind: authn.Root, Account: id, ARN: "arn:aws:iam::" + id + ":root", UserID: id}
	call := func(action string, params url.Values) error {
		params.Set("Action", action)
		params.Set("Version", "2010-05-08")
		_, err := iamSvc.Serve(ctx, &gateway.Call{
			RequestID: "keyless-organizations-" + id, Action: action, Caller: root, Time: o.s.now(), Secure: true,
			Query: awsapi.QueryRequest{Action: action, Version: "2010-05-08", Values: params},
		})
		return err
	}
	err = call("CreateRole", url.Values{
		"RoleName": {roleName}, "AssumeRolePolicyDocument": {string(trust)},
		"Description": {"Created by keyless up for AWS Organizations' CreateAccount: the management account's access"},
	})
	var ae *awsapi.Error
	if errors.As(err, &ae) && ae.Code == "EntityAlreadyExists" {
		return nil
	}
	if err != nil {
		return fmt.Errorf("organizations: create role %s in account %s: %w", roleName, id, err)
	}
	if err := call("PutRolePolicy", url.Values{
		"RoleName": {roleName}, "PolicyName": {"AdministratorAccess"}, "PolicyDocument": {string(admin)},
	}); err != nil {
		return fmt.Errorf("organizations: put the policy of role %s in account %s: %w", roleName, id, err)
	}
	return nil
}

type policyDoc struct {
	Version   string
	Statement []policyStatement
}

type policyStatement struct {
	Effect    string
	Principal map[string]string `json:",omitempty"`
	Action    string
	Resource  string `json:",omitempty"`
}

// accountInUse reports whether keyless serves account id, or has its store
// (an account a config listed once): CreateAccount never gives its ID.
func (o *orgServer) accountInUse(_ context.Context, id string) (bool, error) {
	if o.s.reg.has(id) {
		return true, nil
	}
	return o.s.cfg.Store == "" && exists(accountStorePath(o.s.dataDir, id)), nil
}

// reconcile serves the accounts CreateAccount made in the organizations of the
// served accounts that no start serves yet: those of a CreateAccount whose
// server stopped before it served the account. They get the default role.
func (o *orgServer) reconcile(ctx context.Context) error {
	seen := map[string]bool{}
	for id := range o.s.reg.load().iam {
		org, member, err := o.core.PrincipalOrgID(ctx, id)
		if err != nil {
			return err
		}
		if !member || seen[org] {
			continue
		}
		seen[org] = true
		accts, err := o.core.Accounts(ctx, org, true)
		if err != nil {
			return err
		}
		o2, err := ostOf(o.s.st).GetOrganization(ctx, org)
		if err != nil {
			return fmt.Errorf("organizations: %w", err)
		}
		for _, a := range accts {
			if a.JoinedMethod != "CREATED" || o.s.reg.has(a.ID) {
				continue
			}
			o.s.log.Warn("organizations: serving an account CreateAccount recorded but no start served", "account", a.ID)
			if err := o.provision(ctx, accountRecord{ID: a.ID, Name: a.Name, Organization: true}, o2.ManagementAccountID, defaultAccessRole); err != nil {
				return err
			}
		}
	}
	return nil
}

// watchAccounts runs until ctx ends, then calls done: every
// accountWatchInterval it serves the accounts that settingAccounts records as
// made by CreateAccount and this server does not serve yet: those another
// replica sharing the store made (it records an account once its store, root
// credentials and access role exist). A store that cannot be read is logged
// once, and its recovery once.
func (o *orgServer) watchAccounts(ctx context.Context, done func()) {
	defer done()
	t := time.NewTicker(accountWatchInterval)
	defer t.Stop()
	failing := false
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		err := o.adoptRecorded(ctx)
		switch {
		case ctx.Err() != nil:
			return
		case err != nil && !failing:
			failing = true
			o.s.log.Warn("organizations: cannot serve the accounts other replicas created; retrying", "err", err, "every", accountWatchInterval)
		case err == nil && failing:
			failing = false
			o.s.log.Info("organizations: the accounts other replicas created are served again")
		}
	}
}

// adoptRecorded serves the accounts of settingAccounts that CreateAccount made
// and this server does not serve.
func (o *orgServer) adoptRecorded(ctx context.Context) error {
	records, err := readAccountRecords(ctx, o.s.st)
	if err != nil {
		return err
	}
	for _, r := range records {
		if !r.Organization || o.s.reg.has(r.ID) {
			continue
		}
		if err := o.adopt(ctx, r); err != nil {
			return err
		}
	}
	return nil
}

// adopt serves the account r, which another replica created and recorded.
func (o *orgServer) adopt(ctx context.Context, r accountRecord) error {
	o.provisionMu.Lock()
	defer o.provisionMu.Unlock()
	if served, err := o.serveNew(ctx, r); err != nil || !served {
		return err
	}
	o.keys.invalidate()
	o.s.log.Info("organizations: serving an account another replica created", "account", r.ID, "name", r.Name)
	return nil
}

// serveNew opens and serves the account r unless it is served already, and
// reports whether it did. The caller holds provisionMu.
func (o *orgServer) serveNew(ctx context.Context, r accountRecord) (bool, error) {
	if o.s.reg.has(r.ID) {
		return false, nil
	}
	a, err := o.s.openAccount(ctx, r)
	if err != nil {
		return false, err
	}
	if err := o.s.serveAccount(a); err != nil {
		return false, err
	}
	return true, nil
}

// ostOf is st as an OrganizationStore (newOrganizations checked it).
func ostOf(st store.Store) store.OrganizationStore { return st.(store.OrganizationStore) }

// callerAuthorizer authorizes Organizations calls with the Authorizer of the
// caller's account, which holds the caller's policies.
type callerAuthorizer struct {
	reg   *registry
	first *authz.Authorizer
}

// Authorize implements organizations.Authorizer.
func (c callerAuthorizer) Authorize(ctx context.Context, req authz.Request) (policy.Result, error) {
	z := c.first
	if req.Caller != nil {
		var ok bool
		if z, ok = c.reg.authorizer(req.Caller.Account); !ok {
			return policy.Result{Decision: policy.ImplicitlyDenied}, nil
		}
	}
	return z.Authorize(ctx, req)
}

// orgKeyCache caches the organization keys of accounts (authn.OrgKeysFunc).
type orgKeyCache struct {
	core *organizations.Organizations
	now  func() time.Time

	mu  sync.RWMutex
	m   map[string]orgKeys
	gen uint64 // bumped by invalidate, so a lookup begun before it caches nothing
}

type orgKeys struct {
	id      string
	paths   []string
	member  bool
	fetched time.Time
}

// lookup implements authn.OrgKeysFunc.
func (c *orgKeyCache) lookup(ctx context.Context, account string) (string, []string, bool, error) {
	now := c.now()
	c.mu.RLock()
	k, ok := c.m[account]
	gen := c.gen
	c.mu.RUnlock()
	if ok && now.Sub(k.fetched) < orgKeysTTL {
		return k.id, k.paths, k.member, nil
	}
	stale := k
	id, member, err := c.core.PrincipalOrgID(ctx, account)
	k = orgKeys{id: id, member: member, fetched: now}
	if err == nil && member {
		k.paths, err = c.core.PrincipalOrgPaths(ctx, account)
	}
	if err != nil {
		if ok {
			// The store did not answer: keep the keys last read rather than
			// failing a signed call that may need nothing else from it.
			return stale.id, stale.paths, stale.member, nil
		}
		return "", nil, false, err
	}
	c.mu.Lock()
	if c.gen == gen {
		if len(c.m) >= maxOrgKeys {
			clear(c.m)
		}
		c.m[account] = k
	}
	c.mu.Unlock()
	return k.id, k.paths, k.member, nil
}

// invalidate drops every cached key (an organization changed).
func (c *orgKeyCache) invalidate() {
	c.mu.Lock()
	clear(c.m)
	c.gen++
	c.mu.Unlock()
}
