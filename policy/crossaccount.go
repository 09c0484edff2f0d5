package policy

import (
	"fmt"
	"strings"
)

// Reasons of the cross-account logic (see [Input.CrossAccount]); the others apply
// too: an explicit deny, no Allow on either side (ReasonNoAllow, ReasonNoPolicies),
// and a session policy or permissions boundary that bounds the caller's side.
const (
	// ReasonCrossAccountIdentity: the resource policy allows the request, but no
	// identity policy of the caller does.
	ReasonCrossAccountIdentity Reason = "cross-account-identity"
	// ReasonCrossAccountResource: the caller's side allows the request, but there
	// is no resource policy or it does not allow the caller.
	ReasonCrossAccountResource Reason = "cross-account-resource"
)

// reasonWritten tells Explanation.String that the first line is already written.
const reasonWritten Reason = "\x00written"

// crossAccount decides with the cross-account logic. Deciding is the Deny that
// applied, the caller's Allow for an allowed request, or the closest statement of
// the side that did not allow; other is the Allow of the side that did.
//
// The caller's side is checked first (identity policies, then session policies,
// then the permissions boundary), then the resource side, so that when both fail
// the explanation names the caller's side, where the request comes from.
func (e *evaluator) crossAccount(ex *Explanation, in *Input) (pick, other *candidate) {
	ex.CrossAccount, ex.resourcePolicy = true, in.Resource
	id, res := &e.allow[groupIdentity], &e.allow[groupResource]
	switch {
	case e.deny.ok:
		ex.Decision, ex.Reason, pick = ExplicitlyDenied, ReasonExplicitDeny, &e.deny
	case !id.ok && !res.ok:
		ex.Decision, ex.Reason, pick = ImplicitlyDenied, ReasonNoAllow, e.nearer(groupIdentity, groupResource)
		if len(in.Identity) == 0 && in.Resource == nil {
			ex.Reason = ReasonNoPolicies
		}
	case !id.ok:
		ex.Decision, ex.Reason, pick, other = ImplicitlyDenied, ReasonCrossAccountIdentity, &e.nearest[groupIdentity], res
	case e.present[groupSession] && !e.allow[groupSession].ok:
		ex.Decision, ex.Reason, pick = ImplicitlyDenied, ReasonSessionPolicy, &e.nearest[groupSession]
	case e.present[groupBoundary] && !e.allow[groupBoundary].ok:
		ex.Decision, ex.Reason, pick = ImplicitlyDenied, ReasonBoundary, &e.nearest[groupBoundary]
	case !res.ok:
		ex.Decision, ex.Reason, pick, other = ImplicitlyDenied, ReasonCrossAccountResource, &e.nearest[groupResource], id
		ex.NoResourcePolicy = in.Resource == nil
	default:
		ex.Decision, ex.Reason, pick, other = Allowed, ReasonAllowed, id, res
	}
	return pick, other
}

// crossAccountHead writes the first line of a cross-account explanation after the
// decision, req being the rendered request; it reports false when the same-account
// wording serves (an explicit deny).
func (e *Explanation) crossAccountHead(b *strings.Builder, req string) bool {
	caller := "the caller's identity policies"
	if a := accountOf(e.Principal); a != "" {
		caller += " in account " + a
	}
	resource := PolicyRef{Source: SourceResource}.label(e.resourcePolicy)
	if a := accountOf(e.Resource); a != "" {
		resource += " in account " + a
	}
	switch e.Reason {
	case ReasonAllowed:
		fmt.Fprintf(b, "%s allows %s, and %s allows the caller", e.stmtName(e.Deciding, true), req, e.stmtName(e.OtherSide, true))
	case ReasonNoPolicies, ReasonNoAllow:
		fmt.Fprintf(b, "no statement allows %s; across accounts both %s and %s must allow it", req, caller, resource)
	case ReasonCrossAccountIdentity:
		fmt.Fprintf(b, "%s allows %s, but %s do not allow %s; across accounts both must allow it", resource, req, caller, quote(e.Action))
	case ReasonCrossAccountResource:
		if e.NoResourcePolicy {
			fmt.Fprintf(b, "%s allow %s, but there is no resource policy; across accounts a resource policy must allow the caller too", caller, req)
		} else {
			fmt.Fprintf(b, "%s allow %s, but %s does not allow the caller; across accounts both must allow it", caller, req, resource)
		}
	case ReasonSessionPolicy:
		fmt.Fprintf(b, "%s allow %s, but no session policy statement of the caller does", caller, req)
	case ReasonBoundary:
		fmt.Fprintf(b, "%s allow %s, but the caller's permissions boundary does not", caller, req)
	default:
		return false
	}
	return true
}

// accountOf returns the account of an ARN or account id, or "" when it names none.
func accountOf(s string) string {
	if isAccountID(s) {
		return s
	}
	if strings.HasPrefix(s, "arn:") {
		if a := arnField(s, 4); isAccountID(a) {
			return a
		}
	}
	return ""
}
