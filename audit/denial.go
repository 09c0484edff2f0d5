package audit

import (
	"slices"
	"strings"

	"github.com/keyless-dev/keyless/policy"
)

// FailedCondition is the condition that decided a denial as the policy
// evaluator traced it, with the effect of its statement: what `keyless audit`
// needs to explain the denial in the words of `keyless explain`
// (explain.FailedCondition). It holds policy values and the request's values
// of one condition key, never a token or secret: the values of keys that carry
// a caller's shared secret (sts:ExternalId) are not kept.
type FailedCondition struct {
	Effect policy.Effect `json:"effect"`
	policy.ConditionTrace
}

// secretKeys are condition keys whose request values are not kept.
var secretKeys = []string{"sts:ExternalId"}

// Redact returns ex with the request's values of secretKeys replaced in every
// condition it traced, so that neither its rendering (an event's Reason) nor a
// failed condition taken from it records them. ex itself is not changed.
func Redact(ex policy.Explanation) policy.Explanation {
	redact := func(t *policy.StatementTrace) *policy.StatementTrace {
		if t == nil {
			return nil
		}
		c := *t
		c.Conditions = slices.Clone(t.Conditions)
		for i := range c.Conditions {
			c.Conditions[i] = redactTrace(c.Conditions[i])
		}
		return &c
	}
	ex.Deciding, ex.OtherSide = redact(ex.Deciding), redact(ex.OtherSide)
	if ex.Statements != nil {
		st := make([]policy.StatementTrace, len(ex.Statements))
		for i := range ex.Statements {
			st[i] = *redact(&ex.Statements[i])
		}
		ex.Statements = st
	}
	return ex
}

// redactTrace replaces the request's values of c when c's key is a secret one.
func redactTrace(c policy.ConditionTrace) policy.ConditionTrace {
	for _, k := range secretKeys {
		if strings.EqualFold(c.Key, k) && c.RequestValues != nil {
			c.RequestValues = []string{"(not recorded)"}
		}
	}
	return c
}

// NewFailedCondition returns the FailedCondition of a statement with effect
// whose condition c failed.
func NewFailedCondition(effect policy.Effect, c policy.ConditionTrace) *FailedCondition {
	return &FailedCondition{Effect: effect, ConditionTrace: redactTrace(c)}
}
