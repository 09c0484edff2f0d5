package provision

import (
	"fmt"
	"strings"

	"github.com/keyless-dev/keyless/policy"
)

// Quotas are the IAM quotas [CheckQuotas] holds a plan to. The zero value of a
// field means its default (the Default* constants); accounts whose quotas were
// raised through Service Quotas set the raised values.
type Quotas struct {
	// TrustPolicyChars is the role trust policy length, whitespace not counted:
	// 2048 by default, raisable to 4096.
	TrustPolicyChars int
	// ManagedPoliciesPerRole is 10 by default, raisable to 20.
	ManagedPoliciesPerRole int
}

// IAM's quotas, from https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html.
const (
	DefaultTrustPolicyChars       = 2048  // role trust policy length, raisable
	MaxTrustPolicyChars           = 4096  // the most TrustPolicyChars can be raised to
	DefaultManagedPoliciesPerRole = 10    // managed policies attached to a role, raisable
	MaxManagedPoliciesPerRole     = 20    // the most ManagedPoliciesPerRole can be raised to
	MaxInlinePolicyCharsPerRole   = 10240 // all inline policies of a role together
	MaxClientIDsPerProvider       = 100   // client IDs (audiences) of an OIDC provider
	MaxThumbprintsPerProvider     = 5     // thumbprints of an OIDC provider
	MaxRoleNameLength             = 64    // a role name
	MaxPathLength                 = 512   // a role path
	MaxPolicyVersions             = 5     // versions of a customer managed policy
)

func (q Quotas) trust() int {
	if q.TrustPolicyChars > 0 {
		return q.TrustPolicyChars
	}
	return DefaultTrustPolicyChars
}

func (q Quotas) managed() int {
	if q.ManagedPoliciesPerRole > 0 {
		return q.ManagedPoliciesPerRole
	}
	return DefaultManagedPoliciesPerRole
}

// Validate refuses quotas beyond what AWS allows raising them to.
func (q Quotas) Validate() error {
	if q.TrustPolicyChars < 0 || q.TrustPolicyChars > MaxTrustPolicyChars {
		return fmt.Errorf("trust policy quota %d: AWS allows %d characters by default and at most %d once raised", q.TrustPolicyChars, DefaultTrustPolicyChars, MaxTrustPolicyChars)
	}
	if q.ManagedPoliciesPerRole < 0 || q.ManagedPoliciesPerRole > MaxManagedPoliciesPerRole {
		return fmt.Errorf("managed policies per role quota %d: AWS allows %d by default and at most %d once raised", q.ManagedPoliciesPerRole, DefaultManagedPoliciesPerRole, MaxManagedPoliciesPerRole)
	}
	return nil
}

// QuotaError lists the quotas a plan would exceed.
type QuotaError struct {
	// Violations are one sentence each, naming the entity, the quota and what to do.
	Violations []string
}

func (e *QuotaError) Error() string {
	return fmt.Sprintf("the plan exceeds %d IAM quota(s); nothing was changed:\n  %s", len(e.Violations), strings.Join(e.Violations, "\n  "))
}

// CheckQuotas checks every provider, role and customer managed policy a plan
// creates or updates against IAM's quotas and returns a *QuotaError listing every
// violation, or nil.
func CheckQuotas(p *Plan, q Quotas) error {
	if err := q.Validate(); err != nil {
		return err
	}
	var v []string
	for _, c := range p.Changes {
		if d := c.provider; d != nil {
			if n := len(d.ClientIDs); n > MaxClientIDsPerProvider {
				v = append(v, fmt.Sprintf("provider %s has %d client IDs; IAM allows %d per provider: split the audiences over providers", d.URL, n, MaxClientIDsPerProvider))
			}
			if n := len(d.Thumbprints); n > MaxThumbprintsPerProvider {
				v = append(v, fmt.Sprintf("provider %s has %d thumbprints; IAM allows %d per provider: list fewer", d.URL, n, MaxThumbprintsPerProvider))
			}
		}
		if mp := c.policy; mp != nil {
			if n := policy.Size([]byte(mp.Document), policy.KindIdentity); n > policy.MaxManagedPolicySize {
				v = append(v, fmt.Sprintf("policy %s: the document has %d characters (whitespace not counted); IAM allows %d per managed policy, a quota that cannot be raised: split it into several policies", mp.Name, n, policy.MaxManagedPolicySize))
			}
		}
		d := c.role
		if d == nil {
			continue
		}
		if n := len(d.Name); n > MaxRoleNameLength {
			v = append(v, fmt.Sprintf("role %s: the name has %d characters; IAM allows %d: shorten the name pattern", d.Name, n, MaxRoleNameLength))
		}
		if n := len(d.Path); n > MaxPathLength {
			v = append(v, fmt.Sprintf("role %s: the path has %d characters; IAM allows %d: shorten it", d.Name, n, MaxPathLength))
		}
		if n := policy.Size([]byte(d.TrustPolicy), policy.KindTrust); n > q.trust() {
			v = append(v, fmt.Sprintf("role %s: the trust policy has %d characters (whitespace not counted); the role trust policy length quota is %d: list fewer subjects or source_ips, or ask AWS to raise the quota (up to %d) and pass the raised value", d.Name, n, q.trust(), MaxTrustPolicyChars))
		}
		if n := len(d.ManagedPolicyARNs); n > q.managed() {
			v = append(v, fmt.Sprintf("role %s has %d managed policies; the managed policies per role quota is %d: attach fewer, or ask AWS to raise the quota (up to %d) and pass the raised value", d.Name, n, q.managed(), MaxManagedPoliciesPerRole))
		}
		total := 0
		for _, ip := range d.InlinePolicies {
			total += policy.Size([]byte(ip.Document), policy.KindIdentity)
		}
		if total > MaxInlinePolicyCharsPerRole {
			v = append(v, fmt.Sprintf("role %s: its inline policies have %d characters together (whitespace not counted); IAM allows %d per role, a quota that cannot be raised: move some into managed policies", d.Name, total, MaxInlinePolicyCharsPerRole))
		}
	}
	if len(v) > 0 {
		return &QuotaError{Violations: v}
	}
	return nil
}
