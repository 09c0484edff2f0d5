package sts

import (
	"context"

	"github.com/keyless-dev/keyless/audit"
	"github.com/keyless-dev/keyless/authn"
	"github.com/keyless-dev/keyless/awsapi"
)

// GetCallerIdentity reports who signed the request. Like AWS it needs no
// permission, so it works even when every action is explicitly denied: the
// signature verification that produced caller is the whole check.
func (s *Service) GetCallerIdentity(_ context.Context, caller *authn.Principal, meta Meta) (*CallerIdentity, error) {
	if caller == nil {
		return nil, awsapi.MissingAuthenticationToken()
	}
	role := ""
	if caller.Session != nil {
		role = caller.Session.RoleARN
	}
	s.record(audit.Event{
		Time: s.cfg.Now(), RequestID: meta.RequestID, Action: ActionGetCallerIdentity,
		Caller: caller.ARN, Role: role, Decision: audit.Allowed, SourceIP: addrString(meta),
	})
	return &CallerIdentity{ARN: caller.ARN, UserID: caller.UserID, Account: caller.Account}, nil
}
