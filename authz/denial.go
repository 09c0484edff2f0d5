package authz

import (
	"fmt"

	"github.com/keyless-dev/keyless/authn"
	"github.com/keyless-dev/keyless/policy"
)

// DeniedMessage is AWS's AccessDenied text for a decision that is not Allowed:
// "User: ARN is not authorized to perform: ACTION on resource: RESOURCE", then why:
// an explicit deny (and in which kind of policy), or no policy of the kind that
// decided allowing the action.
func DeniedMessage(p *authn.Principal, action, resource string, res policy.Result) string {
	who := "anonymous"
	if p != nil {
		who = p.ARN
	}
	head := fmt.Sprintf("User: %s is not authorized to perform: %s on resource: %s", who, action, resource)
	if res.Decision == policy.ExplicitlyDenied {
		where := "an identity-based policy"
		if d := res.Explain.Deciding; d != nil {
			switch d.Policy.Source {
			case policy.SourceSession:
				where = "a session policy"
			case policy.SourceBoundary:
				where = "a permissions boundary"
			case policy.SourceResource:
				where = "a resource-based policy"
			}
		}
		return head + " with an explicit deny in " + where
	}
	kind := "identity-based policy"
	switch res.Explain.Reason {
	case policy.ReasonSessionPolicy:
		kind = "session policy"
	case policy.ReasonBoundary:
		kind = "permissions boundary"
	case policy.ReasonCrossAccountResource:
		kind = "resource-based policy"
	}
	return head + " because no " + kind + " allows the " + action + " action"
}

// Deciding names the statement that decided res and the condition of it that
// failed, for audit events: `identity policy "deploy" statement "NoOtherSite"` and
// `StringEquals aws:SourceIp`. Both are "" when no statement decided.
func Deciding(res policy.Result) (statement, condition string) {
	d := res.Explain.Deciding
	if d == nil {
		return "", ""
	}
	name := fmt.Sprintf("#%d", d.Index)
	if d.Sid != "" {
		name = fmt.Sprintf("%q", d.Sid)
	}
	statement = d.Policy.String() + " statement " + name
	if c := d.FailedCondition(); c != nil {
		condition = c.Operator + " " + c.Key
	}
	return statement, condition
}
