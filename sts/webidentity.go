package sts

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/keyless-dev/keyless/audit"
	"github.com/keyless-dev/keyless/authz"
	"github.com/keyless-dev/keyless/awsapi"
	"github.com/keyless-dev/keyless/oidc"
	"github.com/keyless-dev/keyless/policy"
	"github.com/keyless-dev/keyless/session"
)

// AssumeRoleWithWebIdentity exchanges a verified OIDC ID token for role
// session credentials, after the request's parameters were validated
// (decodeWebIdentity). The checks run in real STS's order: the token
// (oidc.Verifier.Verify, with the provider looked up by iss), the role, the
// trust policy (sts:AssumeRoleWithWebIdentity, then sts:TagSession when the
// token carries session tags and sts:SetSourceIdentity when it carries a
// source identity), DurationSeconds against the role's MaxSessionDuration, the
// session policies, and the size of the sealed session token.
//
// Errors are *awsapi.Error for every refusal; any other error is an internal
// failure. Every outcome is audited.
func (s *Service) AssumeRoleWithWebIdentity(ctx context.Context, req WebIdentityRequest, meta Meta) (*WebIdentityResult, error) {
	now := s.cfg.Now()
	ev := audit.Event{
		Time: now, RequestID: meta.RequestID, Action: ActionAssumeRoleWithWebIdentity,
		Role: req.RoleARN, SourceIP: addrString(meta), Decision: audit.Failed,
	}
	res, err := s.webIdentity(ctx, req, meta, now, &ev)
	s.recordOutcome(&ev, err)
	s.observeExchange(req.WebIdentityToken, &ev)
	if err != nil {
		return nil, err
	}
	return res, nil
}

// recordOutcome completes an action's audit event with its outcome and records it:
// Allowed on success; otherwise the error code and, unless the action already named
// one (a denial's statement and condition), its message as the reason. Internal
// failures are logged in full but audited without their text.
func (s *Service) recordOutcome(ev *audit.Event, err error) {
	if err == nil {
		ev.Decision = audit.Allowed
		s.record(*ev)
		return
	}
	e := awsapi.AsError(err)
	ev.ErrorCode = e.Code
	if ev.Reason == "" {
		ev.Reason = e.Message
	}
	if e.Code == "InternalFailure" {
		ev.Reason = "internal failure"
		s.log.Error("sts: "+ev.Action, "request_id", ev.RequestID, "err", err)
	}
	s.record(*ev)
}

func (s *Service) webIdentity(ctx context.Context, req WebIdentityRequest, meta Meta, now time.Time, ev *audit.Event) (*WebIdentityResult, error) {
	if s.cfg.Verifier == nil || s.cfg.Sealer == nil {
		return nil, errors.New("sts: web identity federation is not configured")
	}
	tok, err := s.cfg.Verifier.Verify(ctx, req.WebIdentityToken, s.cache.lookupProvider)
	if err != nil {
		var oe *oidc.Error
		if errors.As(err, &oe) {
			ev.Reason = oe.Reason.String() + ": " + oe.Message
			if oe.Detail != "" {
				ev.Reason += " (" + oe.Detail + ")"
			}
			return nil, awsapi.NewError(oe.Code, oe.HTTPStatus(), oe.Message)
		}
		return nil, fmt.Errorf("sts: verify web identity token: %w", err)
	}
	ev.Caller = tok.Issuer + " " + tok.Subject
	ev.Repository = tokenRepository(tok)
	ev.Claims = auditClaims(req.WebIdentityToken, tok)

	role, found, err := s.findRole(ctx, req.RoleARN)
	if err != nil {
		return nil, err
	}
	if !found {
		ev.Decision, ev.Reason = audit.Denied, "no role "+req.RoleARN+" in this account"
		return nil, notAuthorizedWebIdentity()
	}
	trust, err := s.cache.policy(role.AssumeRolePolicyDocument, policy.KindTrust)
	if err != nil {
		ev.Decision, ev.Reason = audit.Denied, "the role's trust policy does not parse: "+err.Error()
		return nil, notAuthorizedWebIdentity()
	}
	ts, err := ReadTokenSession(tok.Claim)
	if err != nil {
		return nil, err
	}

	prov := tok.Provider
	c := baseContext(now, meta)
	defer releaseContext(c)
	_, hasSub := tok.RawClaim("sub")
	authz.WebIdentity{
		ProviderURL: prov.URL, ProviderARN: prov.ARN, Audience: tok.Audience,
		Subject: tok.Subject, HasSubject: hasSub, AZP: tok.AZP, AMR: tok.AMR,
		SessionName: req.RoleSessionName,
	}.SetKeys(c)
	ts.SetKeys(c)
	var buf [3]string
	in := policy.Input{Resource: trust}
	for _, action := range ts.TrustActions(buf[:0]) {
		pr := policy.Request{Principal: prov.ARN, PrincipalType: "Federated", Action: action, Context: c}
		if res := policy.EvaluateFast(pr, in); res.Decision != policy.Allowed {
			// Render the full explanation only for denials.
			denial(ev, action, policy.Evaluate(pr, in))
			return nil, notAuthorizedWebIdentity()
		}
	}

	duration, err := checkDuration(req.DurationSeconds, role, false)
	if err != nil {
		return nil, err
	}
	if err := s.sessionPolicies(ctx, req.Policy, req.PolicyARNs); err != nil {
		return nil, err
	}
	claims := session.Claims{
		Account: s.cfg.Account, RoleARN: role.ARN, RoleID: role.ID, RoleName: role.Name,
		SessionName: req.RoleSessionName, SourceIdentity: ts.SourceIdentity,
		Provider: prov.ARN, Subject: tok.Subject, Audience: tok.Audience,
		SessionPolicy: req.Policy, PolicyARNs: req.PolicyARNs,
		Tags: ts.Tags, TransitiveTagKeys: ts.TransitiveTags,
	}
	packed := req.Policy != "" || len(req.PolicyARNs) > 0 || len(ts.Tags) > 0
	out, err := s.issue(claims, now, duration, req.MinimumSessionTokenSize, packed)
	if err != nil {
		return nil, err
	}
	s.touchRole(role.Name, meta.Region, now)
	return &WebIdentityResult{
		Credentials:                 out.creds,
		SubjectFromWebIdentityToken: tok.Subject,
		AssumedRoleUser:             out.user,
		PackedPolicySize:            out.packed,
		Provider:                    prov.ARN,
		Audience:                    tok.Audience,
		SourceIdentity:              ts.SourceIdentity,
		SessionTokenSize:            out.tokenSize,
		SessionTokenUtilization:     out.utilization,
	}, nil
}

// invalidTokenClaim is the error for session tags or a source identity in the
// token that AWS would refuse. The code is STS's code for token problems; the
// message is our choice (AWS's text is not documented).
func invalidTokenClaim(msg string) *awsapi.Error {
	return awsapi.NewError(oidc.CodeInvalidIdentityToken, http.StatusBadRequest, msg)
}

// unauditedClaims are claims an audit event leaves out: hashes that bind the
// token to other secrets (an access token, a code) and the nonce.
var unauditedClaims = []string{"at_hash", "c_hash", "s_hash", "nonce"}

// auditClaims are the claims of the verified token raw that its audit event
// keeps, as a JSON object (iss, sub, aud and the provider's own claims), so
// that the console shows what the token said: never the token itself nor its
// signature. On the hot path it is the token's claims segment as it was
// verified, decoded from base64 and not parsed again; only a token that may
// carry an unaudited claim (or escapes in names) is decoded and re-encoded.
func auditClaims(raw string, tok *oidc.Token) json.RawMessage {
	_, rest, ok := strings.Cut(strings.TrimSpace(raw), ".")
	seg, _, ok2 := strings.Cut(rest, ".")
	if ok && ok2 {
		if b, err := base64.RawURLEncoding.DecodeString(seg); err == nil && !mayHoldUnaudited(b) {
			return b
		}
	}
	m := tok.Claims()
	for _, k := range unauditedClaims {
		delete(m, k)
	}
	b, err := json.Marshal(m)
	if err != nil {
		return nil
	}
	return b
}

// mayHoldUnaudited reports whether a claims object may name an unaudited claim.
func mayHoldUnaudited(b []byte) bool {
	if bytes.Contains(b, []byte(`\u`)) {
		return true
	}
	for _, k := range unauditedClaims {
		if bytes.Contains(b, []byte(`"`+k+`"`)) {
			return true
		}
	}
	return false
}
