package sts

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/keyless-dev/keyless/audit"
	"github.com/keyless-dev/keyless/authn"
	"github.com/keyless-dev/keyless/authz"
	"github.com/keyless-dev/keyless/awsapi"
	"github.com/keyless-dev/keyless/policy"
	"github.com/keyless-dev/keyless/session"
)

// msgDuplicateTags is STS's text for session tags whose keys collide
// (observed), which we also use when a request tag collides with a transitive
// tag carried over from the calling session.
const msgDuplicateTags = "Duplicate tag keys found. Please note that Tag keys are case insensitive."

// AssumeRole returns credentials for a role session to a signed caller, after
// the request's parameters were validated (decodeAssumeRole).
//
// Authorization follows AWS's same-account rules:
//
//   - the role's trust policy must allow sts:AssumeRole for the caller; the
//     principal compared is the caller's ARN and, for a role session, also the
//     role's ARN (a trust policy naming a role matches its sessions, as on AWS;
//     the policy engine compares one principal string, so we evaluate both and
//     any explicit Deny wins);
//   - when the allowing statement names the caller directly (its ARN, its
//     role's ARN, or "*"), the trust policy alone suffices; when it names only
//     the account (its id or arn:aws:iam::<acct>:root), the caller's identity
//     policies (through authz, so a session policy bounds a chained caller)
//     must also allow sts:AssumeRole on the role;
//   - an explicit Deny in the caller's identity or session policies refuses
//     the request in either case;
//   - session tags need sts:TagSession and a source identity needs
//     sts:SetSourceIdentity, by the same rules.
//
// A caller of another local account (cross-account) needs both sides, as on
// AWS, decided in one evaluation (authorizeCrossAccount) by the caller's
// account's authorizer (Config.CallerAuthorizer) with the trust policy as the
// resource policy: the trust policy must allow it (naming its ARN, its role's
// ARN, or its account), and its identity policies in its own account, session
// policies and boundary included, must allow the action on the role, whichever
// way the trust policy names it. An explicit Deny on either side refuses, and
// the audit event's reason names the side and account that did.
//
// A caller that is itself a role session is role chaining: DurationSeconds
// above one hour is refused, the new session is marked Chained, and the
// caller's transitive tags and source identity carry over, across accounts
// too. As on AWS, carried tags need sts:TagSession and a carried source
// identity sts:SetSourceIdentity exactly as ones passed in the request do, and
// the carried source identity is the request's sts:SourceIdentity; a request
// may not change the source identity (AccessDenied for
// sts:SetSourceIdentity) nor pass a tag whose key is a carried transitive
// tag's. A refusal of sts:TagSession or sts:SetSourceIdentity names that
// action, as AWS's does. The root user cannot assume roles (as on AWS).
func (s *Service) AssumeRole(ctx context.Context, req AssumeRoleRequest, meta Meta) (*AssumeRoleResult, error) {
	now := s.cfg.Now()
	ev := audit.Event{
		Time: now, RequestID: meta.RequestID, Action: ActionAssumeRole,
		Role: req.RoleARN, SourceIP: addrString(meta), Decision: audit.Failed,
	}
	if req.Caller != nil {
		ev.Caller = req.Caller.ARN
	}
	res, err := s.assumeRole(ctx, req, meta, now, &ev)
	s.recordOutcome(&ev, err)
	if err != nil {
		return nil, err
	}
	return res, nil
}

func (s *Service) assumeRole(ctx context.Context, req AssumeRoleRequest, meta Meta, now time.Time, ev *audit.Event) (*AssumeRoleResult, error) {
	caller := req.Caller
	if caller == nil {
		return nil, awsapi.MissingAuthenticationToken()
	}
	if s.cfg.Sealer == nil || s.cfg.Authorizer == nil {
		return nil, errors.New("sts: AssumeRole is not configured")
	}
	denied := notAuthorizedAssumeRole(caller.ARN, req.RoleARN)
	if caller.Kind == authn.Root {
		ev.Decision = audit.Denied
		return nil, awsapi.AccessDenied(msgRootAssume)
	}
	if req.MFA {
		ev.Decision = audit.Denied
		return nil, awsapi.AccessDenied(msgMFA)
	}
	role, found, err := s.findRole(ctx, req.RoleARN)
	if err != nil {
		return nil, err
	}
	if !found {
		ev.Decision, ev.Reason = audit.Denied, "no role "+req.RoleARN+" in this account"
		return nil, denied
	}
	trust, err := s.cache.policy(role.AssumeRolePolicyDocument, policy.KindTrust)
	if err != nil {
		ev.Decision, ev.Reason = audit.Denied, "the role's trust policy does not parse: "+err.Error()
		return nil, denied
	}

	// Role chaining: transitive tags and the source identity carry over.
	var parent *session.Claims
	if caller.Kind == authn.AssumedRole {
		parent = caller.Session
	}
	tags, transitive, err := chainTags(parent, req.Tags, req.TransitiveTagKeys)
	if err != nil {
		return nil, err
	}
	sourceID := req.SourceIdentity
	if parent != nil && parent.SourceIdentity != "" {
		if sourceID != "" && sourceID != parent.SourceIdentity {
			// AWS documents that such a request "will be denied"; it does not
			// document the text, so we answer its refusal of the action.
			ev.Decision = audit.Denied
			ev.Reason = actSetSourceIdentity + ": the calling session's source identity " + strconv.Quote(parent.SourceIdentity) +
				" cannot be changed to " + strconv.Quote(sourceID)
			return nil, notAuthorized(caller.ARN, actSetSourceIdentity, req.RoleARN)
		}
		sourceID = parent.SourceIdentity
	}

	// Request-specific condition keys; authz adds the caller's global keys.
	reqCtx := policy.NewContext()
	reqCtx.Set("sts:RoleSessionName", req.RoleSessionName)
	if req.ExternalID != "" {
		reqCtx.Set("sts:ExternalId", req.ExternalID)
	}
	if sourceID != "" {
		// A carried source identity is in the request too (AWS: "both the
		// aws:SourceIdentity and sts:SourceIdentity keys are present").
		reqCtx.Set("sts:SourceIdentity", sourceID)
	}
	addRequestTags(reqCtx, req.Tags, req.TransitiveTagKeys)
	trustCtx := callerContext(caller, now, meta)
	for k, v := range reqCtx {
		trustCtx[k] = v
	}

	// Tags and a source identity carried from the calling session need the
	// permission as much as ones passed in the request (as on AWS).
	actions := []string{actAssumeRole}
	if len(tags) > 0 {
		actions = append(actions, actTagSession)
	}
	if sourceID != "" {
		actions = append(actions, actSetSourceIdentity)
	}
	for _, action := range actions {
		var ok bool
		if caller.Account != s.cfg.Account {
			ok, err = s.authorizeCrossAccount(ctx, role.AssumeRolePolicyDocument, role.ARN, action, caller, reqCtx, now, meta, ev)
		} else {
			ok, err = s.authorizeAssume(ctx, trust, role.ARN, action, caller, trustCtx, reqCtx, now, meta, ev)
		}
		if err != nil {
			return nil, err
		}
		if !ok {
			if action == actAssumeRole {
				return nil, denied
			}
			return nil, notAuthorized(caller.ARN, action, req.RoleARN)
		}
	}

	duration, err := checkDuration(req.DurationSeconds, role, parent != nil)
	if err != nil {
		return nil, err
	}
	if err := s.sessionPolicies(ctx, req.Policy, req.PolicyARNs); err != nil {
		return nil, err
	}
	claims := session.Claims{
		Account: s.cfg.Account, RoleARN: role.ARN, RoleID: role.ID, RoleName: role.Name,
		SessionName: req.RoleSessionName, SourceIdentity: sourceID,
		SessionPolicy: req.Policy, PolicyARNs: req.PolicyARNs,
		Tags: tags, TransitiveTagKeys: transitive, Chained: parent != nil,
	}
	packed := req.Policy != "" || len(req.PolicyARNs) > 0 || len(tags) > 0
	out, err := s.issue(claims, now, duration, req.MinimumSessionTokenSize, packed)
	if err != nil {
		return nil, err
	}
	s.touchRole(role.Name, meta.Region, now)
	return &AssumeRoleResult{
		Credentials:             out.creds,
		AssumedRoleUser:         out.user,
		PackedPolicySize:        out.packed,
		SourceIdentity:          sourceID,
		SessionTokenSize:        out.tokenSize,
		SessionTokenUtilization: out.utilization,
	}, nil
}

// authorizeAssume decides one action of AssumeRole for a caller of the role's
// account (see AssumeRole's rules) and fills the audit event on denial.
func (s *Service) authorizeAssume(ctx context.Context, trust *policy.Policy, roleARN, action string, caller *authn.Principal,
	trustCtx, reqCtx policy.Context, now time.Time, meta Meta, ev *audit.Event) (bool, error) {
	principals := []string{caller.ARN}
	if caller.Kind == authn.AssumedRole && caller.Session != nil {
		principals = append(principals, caller.Session.RoleARN)
	}
	in := policy.Input{Resource: trust}
	var best policy.Result
	allowed, direct, deny := false, false, false
	for i, p := range principals {
		res := policy.Evaluate(policy.Request{Principal: p, PrincipalType: "AWS", Action: action, Context: trustCtx}, in)
		if i == 0 {
			best = res
		}
		switch res.Decision {
		case policy.ExplicitlyDenied:
			deny, best = true, res
		case policy.Allowed:
			if !allowed && !deny {
				best = res
			}
			allowed = true
			if namesDirectly(trust, res.Explain, principals) {
				direct = true
			}
		}
	}
	if deny || !allowed {
		denial(ev, action+" (trust policy)", best)
		return false, nil
	}
	id, err := s.cfg.Authorizer.Authorize(ctx, authz.Request{
		Caller: caller, Action: action, Resource: roleARN,
		SourceIP: meta.SourceIP, Time: now, Secure: meta.Secure, Context: reqCtx,
	})
	if err != nil {
		return false, fmt.Errorf("sts: authorize %s: %w", action, err)
	}
	switch {
	case id.Decision == policy.ExplicitlyDenied:
		denial(ev, action+" (identity policy)", id)
		return false, nil
	case id.Decision == policy.Allowed, direct:
		return true, nil
	}
	denial(ev, action+" (identity policy; the trust policy names only the account)", id)
	return false, nil
}

// authorizeCrossAccount decides one action of AssumeRole for a caller of
// another local account in one evaluation, as AWS does across accounts: by the
// caller's account's authorizer (Config.CallerAuthorizer, which holds the
// caller's identity policies, session policies and boundary) with the role's
// trust policy trustDoc as the resource policy of roleARN, owned by this
// account. Both sides must allow and an explicit Deny on either refuses; on
// denial the audit event's reason is the explanation, which names the side and
// account that refused.
func (s *Service) authorizeCrossAccount(ctx context.Context, trustDoc, roleARN, action string, caller *authn.Principal,
	reqCtx policy.Context, now time.Time, meta Meta, ev *audit.Event) (bool, error) {
	var z *authz.Authorizer
	ok := false
	if s.cfg.CallerAuthorizer != nil {
		z, ok = s.cfg.CallerAuthorizer(caller.Account)
	}
	if !ok {
		ev.Decision, ev.Reason = audit.Denied, action+": the caller's account "+caller.Account+" is not a local account"
		return false, nil
	}
	res, err := z.Authorize(ctx, authz.Request{
		Caller: caller, Action: action, Resource: roleARN,
		SourceIP: meta.SourceIP, Time: now, Secure: meta.Secure, Context: reqCtx,
		ResourcePolicy: trustDoc, ResourcePolicyKind: policy.KindTrust, ResourceAccount: s.cfg.Account,
	})
	if err != nil {
		return false, fmt.Errorf("sts: authorize %s: %w", action, err)
	}
	if res.Decision == policy.Allowed {
		return true, nil
	}
	denial(ev, action+" (across accounts)", res)
	return false, nil
}

// notAuthorized is AWS's AccessDenied text for AssumeRole when the action it
// refuses is another than sts:AssumeRole (sts:TagSession,
// sts:SetSourceIdentity): AWS names the refused action.
func notAuthorized(caller, action, role string) *awsapi.Error {
	return awsapi.AccessDenied("User: " + caller + " is not authorized to perform: " + action + " on resource: " + role)
}

// namesDirectly reports whether an Allow statement of the trust policy that
// applied names one of principals (or "*") rather than only the account.
func namesDirectly(trust *policy.Policy, ex policy.Explanation, principals []string) bool {
	for _, t := range ex.Statements {
		if !t.Applies || t.Effect != policy.Allow || t.Policy.Source != policy.SourceResource {
			continue
		}
		if t.Index < 0 || t.Index >= len(trust.Statements) {
			continue
		}
		st := trust.Statements[t.Index]
		p := st.Principal
		if p == nil || st.NotPrincipal {
			continue
		}
		if p.Wildcard {
			return true
		}
		for _, a := range p.AWS {
			if a == "*" {
				return true
			}
			for _, want := range principals {
				if a == want {
					return true
				}
			}
		}
	}
	return false
}

// callerContext holds the global condition keys for a signed caller, exactly as
// authz builds them for identity policies.
func callerContext(p *authn.Principal, now time.Time, meta Meta) policy.Context {
	c := make(policy.Context, 16)
	authz.GlobalContext(c, p, now, meta.SourceIP, meta.Secure)
	return c
}

// chainTags merges the request's session tags with the transitive tags of the
// calling session (nil unless role chaining). Transitive tags stay
// transitive; a request tag may not reuse a key of one, and request
// TransitiveTagKeys must name request tags.
func chainTags(parent *session.Claims, tags []session.Tag, transitive []string) ([]session.Tag, []string, error) {
	if _, dup := tagKeysConflict(tags); dup {
		return nil, nil, awsapi.InvalidParameterValue(msgDuplicateTags)
	}
	for _, k := range transitive {
		if !hasTagKeyFold(tags, k) {
			// Our text: AWS refuses this but its message is not documented.
			return nil, nil, awsapi.InvalidParameterValue("The transitive tag key " + k + " is not the key of a session tag of the request.")
		}
	}
	var outTags []session.Tag
	var outKeys []string
	if parent != nil {
		for _, k := range parent.TransitiveTagKeys {
			for _, t := range parent.Tags {
				if strings.EqualFold(t.Key, k) {
					outTags = append(outTags, t)
					outKeys = append(outKeys, t.Key)
					break
				}
			}
		}
	}
	for _, t := range tags {
		if hasTagKeyFold(outTags, t.Key) {
			return nil, nil, awsapi.InvalidParameterValue(msgDuplicateTags)
		}
	}
	outTags = append(outTags, tags...)
	outKeys = append(outKeys, transitive...)
	return outTags, outKeys, nil
}

func hasTagKeyFold(tags []session.Tag, k string) bool {
	for _, t := range tags {
		if strings.EqualFold(t.Key, k) {
			return true
		}
	}
	return false
}
