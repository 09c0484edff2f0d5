package explain

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"time"

	"github.com/keyless-dev/keyless/arn"
	"github.com/keyless-dev/keyless/authn"
	"github.com/keyless-dev/keyless/authz"
	"github.com/keyless-dev/keyless/policy"
	"github.com/keyless-dev/keyless/session"
	"github.com/keyless-dev/keyless/store"
)

// An sts:AssumeRole hop: a signed caller (an IAM user or a role session, such as
// the web-identity role's session) assuming a role, maybe of another account.
// AssumeRole replays STS's decision with the same policy engine: the role's trust
// policy, and the caller's identity policies in its own account (bounded by its
// session policies and permissions boundary). Across accounts both must allow,
// decided in one evaluation as STS does; within one account the trust policy
// alone suffices when it names the caller (or its role) itself.

// ActionAssumeRole is the action of an AssumeRole hop.
const ActionAssumeRole = "sts:AssumeRole"

// HopInput is what AssumeRole needs.
type HopInput struct {
	// Caller is the principal that calls AssumeRole, as STS authenticates it
	// (see CallerFromARN).
	Caller *authn.Principal
	// Identity is the authorizer over the store of the caller's account, which
	// holds its identity policies.
	Identity *authz.Authorizer
	// RoleARN is the role to assume; TrustPolicy its trust policy document.
	RoleARN     string
	TrustPolicy string
	// ExternalID is the sts:ExternalId the caller passes; empty for none.
	ExternalID string
	// SessionName is the RoleSessionName (sts:RoleSessionName); empty when unknown.
	SessionName string
	// SourceIP is the address the caller calls STS from (aws:SourceIp); empty
	// when unknown.
	SourceIP string
	Now      time.Time
}

// HopReport is the outcome of one hop of a chain: AssumeRoleWithWebIdentity with
// a token (Run) or AssumeRole by a caller (AssumeRole).
type HopReport struct {
	// Hop numbers the hops from 1 (the web-identity role of a chain).
	Hop    int    `json:"hop"`
	Action string `json:"action"`
	// Caller is the calling principal's ARN; empty for a web identity hop.
	Caller  string `json:"caller,omitempty"`
	RoleARN string `json:"roleArn"`
	// CrossAccount reports a caller of another account than the role's.
	CrossAccount bool    `json:"crossAccount,omitempty"`
	Verdict      Verdict `json:"verdict"`
	Admitted     bool    `json:"admitted"`
	// Unknown is Report.Unknown for a web identity hop.
	Unknown []string `json:"unknown,omitempty"`
	// Failed names the side that refused: "trust policy of ROLE in account B" or
	// "identity policies of CALLER in account A"; empty when admitted.
	Failed string `json:"failed,omitempty"`
	// Explanation is the policy engine's explanation of the decision, which
	// across accounts names the side and account that failed.
	Explanation string  `json:"explanation,omitempty"`
	Checks      []Check `json:"checks"`
}

// WebIdentityHop turns a Run report into the first hop of a chain.
func WebIdentityHop(r Report) HopReport {
	return HopReport{Hop: 1, Action: "sts:AssumeRoleWithWebIdentity", RoleARN: r.RoleARN, Verdict: r.Verdict,
		Admitted: r.Admitted, Unknown: r.Unknown, Checks: r.Checks}
}

// CallerFromARN builds the principal an ARN names as STS would authenticate it,
// from st, the store of its account: an IAM user (arn:aws:iam::A:user/NAME), a
// role session (arn:aws:sts::A:assumed-role/ROLE/SESSION) or the root user
// (arn:aws:iam::A:root). The role or user must exist in st.
func CallerFromARN(ctx context.Context, st store.Store, callerARN string) (*authn.Principal, error) {
	a, err := arn.Parse(callerARN)
	if err != nil || !arn.IsAccountID(a.Account()) {
		return nil, fmt.Errorf("caller %q is not an ARN: give a role session (arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION) or an IAM user (arn:aws:iam::ACCOUNT:user/NAME)", callerARN)
	}
	account, res, service := a.Account(), a.Resource(), a.Service()
	switch {
	case service == "iam" && res == "root":
		return &authn.Principal{Kind: authn.Root, Account: account, ARN: callerARN, UserID: account}, nil
	case service == "iam" && strings.HasPrefix(res, "user/"):
		name := res[strings.LastIndex(res, "/")+1:]
		u, err := st.GetUser(ctx, name)
		if errors.Is(err, store.ErrNotFound) {
			return nil, fmt.Errorf("caller %s: account %s has no user %s", callerARN, account, name)
		}
		if err != nil {
			return nil, fmt.Errorf("caller %s: read user %s: %w", callerARN, name, err)
		}
		return &authn.Principal{Kind: authn.User, Account: account, ARN: u.ARN, UserID: u.ID, User: &u}, nil
	case service == "sts" && strings.HasPrefix(res, "assumed-role/"):
		parts := strings.Split(res, "/")
		if len(parts) != 3 || parts[1] == "" || parts[2] == "" {
			return nil, fmt.Errorf("caller %s: a role session's ARN is arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION", callerARN)
		}
		role, err := st.GetRole(ctx, parts[1])
		if errors.Is(err, store.ErrNotFound) {
			return nil, fmt.Errorf("caller %s: account %s has no role %s", callerARN, account, parts[1])
		}
		if err != nil {
			return nil, fmt.Errorf("caller %s: read role %s: %w", callerARN, parts[1], err)
		}
		return &authn.Principal{Kind: authn.AssumedRole, Account: account, ARN: callerARN, UserID: role.ID + ":" + parts[2],
			Session: &session.Claims{Account: account, RoleARN: role.ARN, RoleID: role.ID, RoleName: role.Name, SessionName: parts[2]}}, nil
	}
	return nil, fmt.Errorf("caller %s: give a role session (arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION) or an IAM user (arn:aws:iam::ACCOUNT:user/NAME)", callerARN)
}

// SessionARN is the ARN of a session of roleARN named sessionName.
func SessionARN(roleARN, sessionName string) string {
	r, err := arn.Parse(roleARN)
	if err != nil {
		return ""
	}
	return arn.AssumedRole(r.Partition(), r.Account(), r.Name(), sessionName).String()
}

// AssumeRole replays STS's decision on an AssumeRole hop and reports, as PASS or
// FAIL with a fix, the role's trust policy and the caller's identity policies,
// and which side refused. An error means the policies could not be read.
func AssumeRole(ctx context.Context, in HopInput) (HopReport, error) {
	p := in.Caller
	r := HopReport{Action: ActionAssumeRole, Caller: p.ARN, RoleARN: in.RoleARN, Verdict: VerdictDenied}
	roleAccount := accountOf(in.RoleARN)
	r.CrossAccount = roleAccount != p.Account
	add := func(c Check) { r.Checks = append(r.Checks, c) }
	if p.Kind == authn.Root {
		r.Failed = "the caller: a root user"
		add(Check{ID: "caller", Status: Fail, Title: "the caller may assume roles", Actual: phrase("the root user of account " + p.Account),
			Fix: "STS refuses AssumeRole by a root user: call it as an IAM user or a role session of account " + p.Account})
		return r, nil
	}
	trust, err := policy.Parse([]byte(in.TrustPolicy), policy.KindTrust, policy.WithMaxSize(1<<20))
	if err != nil {
		r.Failed = "trust policy of " + in.RoleARN
		add(Check{ID: "trust", Status: Fail, Title: "the role's trust policy is valid", Actual: phrase(err.Error()), Fix: "fix the trust policy: keyless policy validate FILE"})
		return r, nil
	}
	now := in.Now
	if now.IsZero() {
		now = time.Now()
	}
	var ip netip.Addr
	if in.SourceIP != "" {
		if ip, err = netip.ParseAddr(in.SourceIP); err != nil {
			return r, fmt.Errorf("source IP %q is not an IP address", in.SourceIP)
		}
	}
	reqCtx := policy.NewContext()
	if in.SessionName != "" {
		reqCtx.Set("sts:RoleSessionName", in.SessionName)
	}
	if in.ExternalID != "" {
		reqCtx.Set("sts:ExternalId", in.ExternalID)
	}

	// The trust side alone, as STS compares it: the caller's ARN and, for a role
	// session, its role's ARN.
	trustCtx := policy.NewContext()
	for k, v := range reqCtx {
		trustCtx.Set(k, v...)
	}
	authz.GlobalContext(trustCtx, p, now, ip, true)
	preq := policy.Request{Principal: p.ARN, PrincipalType: "AWS", Action: ActionAssumeRole, Context: trustCtx}
	if p.Session != nil {
		preq.RoleARN = p.Session.RoleARN
	}
	trustRes := policy.Evaluate(preq, policy.Input{Resource: trust})

	// The caller's side alone: its identity policies in its own account.
	idRes, err := in.Identity.Authorize(ctx, authz.Request{Caller: p, Action: ActionAssumeRole, Resource: in.RoleARN,
		SourceIP: ip, Time: now, Secure: true, Context: reqCtx})
	if err != nil {
		return r, fmt.Errorf("explain: identity policies of %s: %w", p.ARN, err)
	}

	trustSide := fmt.Sprintf("trust policy of %s in account %s", in.RoleARN, roleAccount)
	idSide := fmt.Sprintf("identity policies of %s in account %s", callerOwner(p), p.Account)
	direct := namesCaller(trust, trustRes.Explain, p)

	// Trust check, with its failed conditions.
	tc := Check{ID: "trust", Status: Pass, Title: "the " + trustSide + " allows " + p.ARN + " to sts:AssumeRole", Actual: phrase(trustRes.Decision.String())}
	if trustRes.Decision != policy.Allowed {
		tc.Status = Fail
		tc.Expected = phrase(fmt.Sprintf("an Allow statement for sts:AssumeRole whose Principal names %s or account %s", principalWanted(p), p.Account))
		tc.Fix = trustFix(trustRes, p, in)
		for _, c := range failedConditions(trustRes.Explain, in) {
			add(c)
		}
	}
	add(tc)

	// Identity check.
	ic := Check{ID: "identity", Status: Pass, Title: "the " + idSide + " allow sts:AssumeRole on " + in.RoleARN, Actual: phrase(idRes.Decision.String())}
	switch {
	case idRes.Decision == policy.ExplicitlyDenied:
		ic.Status = Fail
		ic.Fix = fmt.Sprintf("%s: remove that Deny, or assume the role as another principal", idRes.Explain.String())
	case idRes.Decision != policy.Allowed && !r.CrossAccount && direct:
		ic.Actual = phrase("not needed: the trust policy names the caller itself, which suffices within one account")
	case idRes.Decision != policy.Allowed && !r.CrossAccount && tc.Status == Fail:
		ic.Status = Skip
		ic.Actual = phrase("not needed: within one account they matter only once the trust policy allows the caller's account")
	case idRes.Decision != policy.Allowed:
		ic.Status = Fail
		ic.Expected = phrase("an identity policy statement allowing sts:AssumeRole on " + in.RoleARN)
		ic.Fix = identityFix(idRes, p, in.RoleARN, r.CrossAccount)
	}
	add(ic)

	// The decision: across accounts one evaluation of both sides, as STS makes it.
	allowed := tc.Status == Pass && ic.Status == Pass // within one account, as STS decides
	if r.CrossAccount {
		res, err := in.Identity.Authorize(ctx, authz.Request{Caller: p, Action: ActionAssumeRole, Resource: in.RoleARN,
			SourceIP: ip, Time: now, Secure: true, Context: reqCtx,
			ResourcePolicy: in.TrustPolicy, ResourcePolicyKind: policy.KindTrust, ResourceAccount: roleAccount})
		if err != nil {
			return r, fmt.Errorf("explain: AssumeRole of %s by %s: %w", in.RoleARN, p.ARN, err)
		}
		allowed = res.Decision == policy.Allowed
		r.Explanation = res.Explain.String()
	} else if tc.Status == Fail {
		r.Explanation = trustRes.Explain.String()
	} else if ic.Status == Fail {
		r.Explanation = idRes.Explain.String()
	}
	if allowed {
		r.Verdict, r.Admitted = VerdictAdmitted, true
		return r, nil
	}
	switch {
	case tc.Status == Fail && ic.Status == Fail:
		r.Failed = trustSide + " and the " + idSide
	case tc.Status == Fail:
		r.Failed = trustSide
	default:
		r.Failed = idSide
	}
	return r, nil
}

// callerOwner is whose identity policies decide for p: its role's ARN for a role
// session, else its own ARN.
func callerOwner(p *authn.Principal) string {
	if p.Kind == authn.AssumedRole && p.Session != nil {
		return "role " + p.Session.RoleARN
	}
	return p.ARN
}

// principalWanted is the principal a trust policy should name for p.
func principalWanted(p *authn.Principal) string {
	if p.Kind == authn.AssumedRole && p.Session != nil {
		return p.Session.RoleARN
	}
	return p.ARN
}

// namesCaller reports whether an applying Allow statement of the trust policy
// names p (its ARN, its role's ARN) or "*" rather than only its account.
func namesCaller(trust *policy.Policy, ex policy.Explanation, p *authn.Principal) bool {
	for _, t := range ex.Statements {
		if !t.Applies || t.Effect != policy.Allow || t.Index < 0 || t.Index >= len(trust.Statements) {
			continue
		}
		st := trust.Statements[t.Index]
		if st.Principal == nil || st.NotPrincipal {
			continue
		}
		if st.Principal.Wildcard {
			return true
		}
		for _, a := range st.Principal.AWS {
			if a == "*" || a == p.ARN || (p.Session != nil && a == p.Session.RoleARN) {
				return true
			}
		}
	}
	return false
}

// failedConditions reports the conditions that kept an Allow of the trust
// policy naming the caller from applying, or made a Deny apply.
func failedConditions(ex policy.Explanation, in HopInput) []Check {
	var out []Check
	for _, t := range ex.Statements {
		if t.Principal != policy.MatchYes || t.Action != policy.MatchYes {
			continue
		}
		name := fmt.Sprintf("statement #%d", t.Index)
		if t.Sid != "" {
			name = fmt.Sprintf("statement %q", t.Sid)
		}
		for _, c := range t.Conditions {
			if t.Effect == policy.Allow && c.Matched || t.Effect == policy.Deny && !t.Applies {
				continue
			}
			chk := Check{ID: "condition", Status: Fail, Title: fmt.Sprintf("%s (%s): %s on %s", name, t.Effect, c.Operator, c.Key),
				Expected: list(c.PolicyValues), Actual: phrase("absent")}
			if c.KeyPresent {
				chk.Actual = list(c.RequestValues)
			}
			switch {
			case t.Effect == policy.Deny:
				chk.Fix = fmt.Sprintf("a Deny statement's %s on %s matched this request; the role refuses it on purpose", c.Operator, c.Key)
			case strings.EqualFold(c.Key, "sts:ExternalId") && in.ExternalID == "":
				chk.Fix = "the role's owner requires an external ID: pass it with the request (aws sts assume-role --external-id ID; ExternalId in the SDKs) and here with --external-id ID"
			case strings.EqualFold(c.Key, "sts:ExternalId"):
				chk.Fix = fmt.Sprintf("the external ID %q is not the one the role's owner gave: pass %s", in.ExternalID, quoteList(c.PolicyValues))
			case strings.EqualFold(c.Key, "sts:RoleSessionName") && in.SessionName == "":
				chk.Fix = "the role wants a particular session name: pass it with --session-name"
			default:
				chk.Fix = fmt.Sprintf("%s on %s wants %s; the request has %s", c.Operator, c.Key, quoteList(c.PolicyValues), chk.Actual)
			}
			out = append(out, chk)
		}
	}
	return out
}

// trustFix is the advice for a trust policy that refused p.
func trustFix(res policy.Result, p *authn.Principal, in HopInput) string {
	if res.Decision == policy.ExplicitlyDenied {
		return res.Explain.String() + ": the role refuses this caller on purpose"
	}
	for _, t := range res.Explain.Statements {
		if t.Effect == policy.Allow && t.Principal == policy.MatchYes && t.Action == policy.MatchYes && t.FailedCondition() != nil {
			return "a statement names the caller but its condition fails: see the condition above"
		}
	}
	st, _ := json.Marshal(map[string]any{"Effect": "Allow", "Principal": map[string]any{"AWS": principalWanted(p)}, "Action": ActionAssumeRole})
	return fmt.Sprintf("no statement of the trust policy names %s (or account %s): add %s to the trust policy of %s (aws iam update-assume-role-policy, with credentials of account %s)",
		principalWanted(p), p.Account, st, in.RoleARN, accountOf(in.RoleARN))
}

// identityFix is the advice for identity policies that do not allow the hop.
func identityFix(res policy.Result, p *authn.Principal, roleARN string, cross bool) string {
	why := ""
	switch res.Explain.Reason {
	case policy.ReasonSessionPolicy:
		return "the identity policies allow it, but the caller's session policy does not: assume the calling session without that session policy, or with one that allows sts:AssumeRole on " + roleARN
	case policy.ReasonBoundary:
		return "the identity policies allow it, but the permissions boundary of " + callerOwner(p) + " does not: allow sts:AssumeRole on " + roleARN + " in the boundary"
	}
	if cross {
		why = " (across accounts the caller's own account must allow it too, whatever the trust policy says)"
	}
	doc := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole","Resource":"` + roleARN + `"}]}`
	name := "assume-" + roleARN[strings.LastIndex(roleARN, "/")+1:]
	if p.Kind == authn.AssumedRole && p.Session != nil {
		return fmt.Sprintf("allow it in account %s%s: aws iam put-role-policy --role-name %s --policy-name %s --policy-document '%s'", p.Account, why, p.Session.RoleName, name, doc)
	}
	if p.Kind == authn.User && p.User != nil {
		return fmt.Sprintf("allow it in account %s%s: aws iam put-user-policy --user-name %s --policy-name %s --policy-document '%s'", p.Account, why, p.User.Name, name, doc)
	}
	return "allow sts:AssumeRole on " + roleARN + " in an identity policy of the caller" + why
}

// accountOf is the account field of an ARN ("" if s is not one).
func accountOf(s string) string {
	a, err := arn.Parse(s)
	if err != nil {
		return ""
	}
	return a.Account()
}
