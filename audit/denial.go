package audit

import (
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

// NewFailedCondition returns the FailedCondition of a statement with effect
// whose condition c failed.
func NewFailedCondition(effect policy.Effect, c policy.ConditionTrace) *FailedCondition {
	for _, k := range secretKeys {
		if strings.EqualFold(c.Key, k) && c.RequestValues != nil {
			c.RequestValues = []string{"(not recorded)"}
		}
	}
	return &FailedCondition{Effect: effect, ConditionTrace: c}
}
