// Package organizations serves the part of the AWS Organizations API
// (version 2016-11-28, AWS JSON 1.1, signing name organizations, region
// us-east-1) that the aws:PrincipalOrgID and aws:PrincipalOrgPaths
// condition keys and provisioning need: DescribeOrganization,
// CreateOrganization, ListRoots, CreateOrganizationalUnit,
// DescribeOrganizationalUnit, ListOrganizationalUnitsForParent, ListParents,
// CreateAccount, DescribeCreateAccountStatus, DescribeAccount, ListAccounts,
// ListAccountsForParent and MoveAccount, and invitations
// (InviteAccountToOrganization, Describe-, Accept-, Decline- and
// CancelHandshake, ListHandshakesForAccount and
// ListHandshakesForOrganization: handshake.go). It is wire compatible with the
// official SDKs and CLIs: the same members, IDs, ARNs and error codes as
// AWS Organizations.
//
// The package is split in two sides. The handler (service.go, handler.go,
// decode.go, types.go) decodes and validates requests, checks that the
// caller's account may call the operation (any member may describe its
// organization; every other operation is the management account's),
// authorizes the caller through the policy engine as organizations:<Operation>
// on the organization's, root's, OU's, account's or handshake's ARN (an
// invited account may list, describe, accept and decline its invitations),
// records every call as
// an audit event and encodes the replies. The core (core.go, Organizations)
// applies Organizations' rules to the records of a store.OrganizationStore
// and answers the rest of keyless: PrincipalOrgID, PrincipalOrgPaths and
// SetPrincipalKeys (the condition keys of a caller's account) and Accounts
// (the target accounts of a provisioning run).
//
// Callers are authenticated (SigV4) by the gateway in front of the handler,
// which hands it the operation and the JSON body (gateway.JSONService).
package organizations

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"

	"github.com/keyless-dev/keyless/audit"
	"github.com/keyless-dev/keyless/authz"
	"github.com/keyless-dev/keyless/gateway"
	"github.com/keyless-dev/keyless/policy"
	"github.com/keyless-dev/keyless/store"
)

// TargetPrefix is the X-Amz-Target prefix of the service's operations.
const TargetPrefix = "AWSOrganizationsV20161128"

// SigningName is the service name of the SigV4 credential scope.
const SigningName = "organizations"

// Region is the region AWS Organizations answers in (its ARNs have none).
const Region = "us-east-1"

// Authorizer decides whether a caller may perform an action on a resource;
// *authz.Authorizer implements it.
type Authorizer interface {
	Authorize(ctx context.Context, req authz.Request) (policy.Result, error)
}

// Auditor records the outcome of every call; *audit.Recorder implements it.
type Auditor interface {
	Record(audit.Event)
}

// Config configures a Service.
type Config struct {
	// Core keeps the organizations (NewOrganizations). Required.
	Core *Organizations
	// Authorizer decides whether a caller may perform an action. Required.
	Authorizer Authorizer
	// Audit records every call. May be nil (no events).
	Audit Auditor
	// Logger logs what a caller is not told. May be nil.
	Logger *slog.Logger
}

// Service is the AWS Organizations API. It implements gateway.JSONHandler
// and is safe for concurrent use.
type Service struct {
	cfg  Config
	core *Organizations
}

var _ gateway.JSONHandler = (*Service)(nil)

// New returns the service, or an error naming what the configuration lacks.
func New(cfg Config) (*Service, error) {
	switch {
	case cfg.Core == nil:
		return nil, errors.New("organizations: a Core (NewOrganizations) is required")
	case cfg.Authorizer == nil:
		return nil, errors.New("organizations: an Authorizer is required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Service{cfg: cfg, core: cfg.Core}, nil
}

// Serves reports whether action is one of the Organizations operations
// keyless serves (a gateway.ActionSet: the request metrics label only these).
func (s *Service) Serves(action string) bool { return operations[action] != nil }

// call is the state of one request as it goes through the handler.
type call struct {
	gw   *gateway.Call
	op   string
	body []byte

	// Set by authorize: the resource audited and how the decision went.
	resource string
	denied   bool
	result   policy.Result
}

// operation performs one operation and returns its reply.
type operation func(s *Service, ctx context.Context, c *call) (any, error)

// operations are the operations served, by name.
var operations = map[string]operation{
	"DescribeOrganization":             (*Service).describeOrganization,
	"CreateOrganization":               (*Service).createOrganization,
	"ListRoots":                        (*Service).listRoots,
	"CreateOrganizationalUnit":         (*Service).createOrganizationalUnit,
	"DescribeOrganizationalUnit":       (*Service).describeOrganizationalUnit,
	"ListOrganizationalUnitsForParent": (*Service).listOrganizationalUnitsForParent,
	"ListParents":                      (*Service).listParents,
	"CreateAccount":                    (*Service).createAccount,
	"DescribeCreateAccountStatus":      (*Service).describeCreateAccountStatus,
	"DescribeAccount":                  (*Service).describeAccount,
	"ListAccounts":                     (*Service).listAccounts,
	"ListAccountsForParent":            (*Service).listAccountsForParent,
	"MoveAccount":                      (*Service).moveAccount,
	"InviteAccountToOrganization":      (*Service).inviteAccountToOrganization,
	"DescribeHandshake":                (*Service).describeHandshake,
	"AcceptHandshake":                  (*Service).acceptHandshake,
	"DeclineHandshake":                 (*Service).declineHandshake,
	"CancelHandshake":                  (*Service).cancelHandshake,
	"ListHandshakesForAccount":         (*Service).listHandshakesForAccount,
	"ListHandshakesForOrganization":    (*Service).listHandshakesForOrganization,
}

// operationNames lists the operations served, sorted.
func operationNames() []string { return slices.Sorted(maps.Keys(operations)) }

// ServeJSON performs one operation (call.Action) with its JSON body and
// records the outcome as an audit event. Errors are *awsapi.Error values as
// AWS Organizations sends them, or internal failures.
func (s *Service) ServeJSON(ctx context.Context, gc *gateway.Call, body []byte) (any, error) {
	c := &call{gw: gc, op: gc.Action, body: body}
	var (
		out any
		err error
	)
	if op := operations[c.op]; op == nil {
		err = errUnknownOperation(c.op)
	} else {
		out, err = op(s, ctx, c)
	}
	s.record(c, err)
	if err != nil {
		return nil, err
	}
	return out, nil
}

// callerAccount is the account of the call's signer ("" for none).
func (c *call) callerAccount() string {
	if c.gw.Caller == nil {
		return ""
	}
	return c.gw.Caller.Account
}

// organization returns the organization of the caller's account for an
// operation only its management account may call:
// AWSOrganizationsNotInUseException when the account is a member of none,
// AccessDeniedException (in AWS's words) when it is a member account.
func (s *Service) organization(ctx context.Context, c *call) (store.Organization, error) {
	org, found, err := s.core.membership(ctx, c.callerAccount())
	if err != nil {
		return store.Organization{}, err
	}
	if !found {
		return store.Organization{}, errNotInUse()
	}
	if org.ManagementAccountID != c.callerAccount() {
		c.resource, c.denied = org.ARN, true
		return store.Organization{}, errMemberAccess()
	}
	return org, nil
}

// managed is the prologue of a call on the caller's organization: it decodes
// c's body into in, validates it with check (the first failure is the error),
// finds the organization the caller manages (see organization), and
// authorizes the call on each ARN resources names in it, in order.
func (s *Service) managed(ctx context.Context, c *call, in any, check func(v *validator), resources func(store.Organization) []string) (store.Organization, error) {
	if err := decodeRequest(c.body, in); err != nil {
		return store.Organization{}, err
	}
	var v validator
	check(&v)
	if err := v.check(); err != nil {
		return store.Organization{}, err
	}
	org, err := s.organization(ctx, c)
	if err != nil {
		return store.Organization{}, err
	}
	for _, arn := range resources(org) {
		if err := s.authorize(ctx, c, arn); err != nil {
			return store.Organization{}, err
		}
	}
	return org, nil
}

// authorize asks the policy engine whether the caller may perform
// organizations:<op> on resource. A denial is AccessDeniedException, worded
// as AWS words it; a failure to decide is an internal error.
func (s *Service) authorize(ctx context.Context, c *call, resource string) error {
	action := "organizations:" + c.op
	if c.resource == "" {
		c.resource = resource
	}
	res, err := s.cfg.Authorizer.Authorize(ctx, authz.Request{
		Caller: c.gw.Caller, Action: action, Resource: resource,
		SourceIP: c.gw.SourceIP, Time: c.gw.Time, Secure: c.gw.Secure,
	})
	if err != nil {
		return fmt.Errorf("organizations: authorize %s: %w", action, err)
	}
	if res.Decision == policy.Allowed {
		return nil
	}
	c.denied, c.result = true, res
	return errAccessDenied(authz.DeniedMessage(c.gw.Caller, action, resource, res))
}

// record turns the outcome of a call into an audit event: who, what, on
// which resource (its ARN), and for a denial the deciding statement.
func (s *Service) record(c *call, err error) {
	if s.cfg.Audit == nil {
		return
	}
	e := audit.Event{
		Time:      c.gw.Time,
		RequestID: c.gw.RequestID,
		Service:   SigningName,
		Action:    c.op,
		Role:      c.resource,
		Decision:  audit.Allowed,
	}
	e.Caller, e.SourceIP = c.gw.Identity()
	stmt, cond := authz.Deciding(c.result)
	e.Conclude(c.denied, stmt, cond, string(c.result.Explain.Reason), err)
	s.cfg.Audit.Record(e)
}
