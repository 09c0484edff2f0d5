package policy

import (
	"fmt"
	"strconv"
)

// Decision is the outcome of an evaluation. The zero value is ImplicitlyDenied, so
// a forgotten result fails closed.
type Decision uint8

// Decisions.
const (
	// ImplicitlyDenied: no applicable statement allowed the request.
	ImplicitlyDenied Decision = iota
	// Allowed: an Allow applied, no Deny did, and the session policy and
	// permissions boundary (when present) allow it too.
	Allowed
	// ExplicitlyDenied: a Deny statement applied.
	ExplicitlyDenied
)

var decisionNames = [...]string{"ImplicitlyDenied", "Allowed", "ExplicitlyDenied"}

// String returns "Allowed", "ExplicitlyDenied" or "ImplicitlyDenied".
func (d Decision) String() string {
	if int(d) < len(decisionNames) {
		return decisionNames[d]
	}
	return "Decision(" + strconv.Itoa(int(d)) + ")"
}

// MarshalText encodes the decision as its name.
func (d Decision) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// UnmarshalText decodes a decision name.
func (d *Decision) UnmarshalText(b []byte) error {
	for i, n := range decisionNames {
		if string(b) == n {
			*d = Decision(i)
			return nil
		}
	}
	return fmt.Errorf("unknown decision %q", b)
}

// Request is what is being authorized.
type Request struct {
	// Principal is the caller: an ARN (role, user, assumed role, OIDC provider for
	// web identity), an account id, a service principal, or "*" for anonymous.
	// It is compared with the Principal elements of trust and resource policies.
	Principal string
	// RoleARN is, for a role session, the ARN of its role (the value of
	// aws:PrincipalArn); empty otherwise. As in AWS, a Principal element naming the
	// role then matches the session as well as one naming the session's own ARN,
	// and a NotPrincipal element excludes the session only when it lists both (or
	// the account).
	RoleARN string
	// PrincipalType optionally restricts which Principal map entries are compared:
	// "AWS", "Federated", "Service" or "CanonicalUser". Empty compares all.
	PrincipalType string
	// Action is the action, e.g. "sts:AssumeRoleWithWebIdentity" (case-insensitive).
	Action string
	// Resource is the resource ARN (case-sensitive); empty for trust policies.
	Resource string
	// Context holds the condition keys. Its keys must be lower case: build it with
	// NewContext().Set(...) or ContextFrom.
	Context Context
}

// Input is the set of policies that apply to a request.
type Input struct {
	// Identity are the caller's identity-based policies.
	Identity []*Policy
	// Resource is the resource-based policy, e.g. the role's trust policy for
	// sts:AssumeRole*.
	Resource *Policy
	// Session is the session policy passed when the session was created.
	Session *Policy
	// SessionPolicies are further session policies (e.g. managed PolicyArns); all
	// session policies together form one allow set that bounds the session.
	SessionPolicies []*Policy
	// Boundary is the permissions boundary of the caller.
	Boundary *Policy
	// CrossAccount selects AWS's cross-account logic, for a caller whose account
	// is not the account that owns the resource: an explicit Deny in any policy
	// still wins, but the request is allowed only when both sides allow it, the
	// caller's side (an identity policy, bounded by the session policies and the
	// permissions boundary when present) and the resource side (Resource, which
	// must name the caller, its role or its account). Without a resource policy
	// a cross-account request is implicitly denied. The explanation says which
	// side did not allow (ReasonCrossAccountIdentity, ReasonCrossAccountResource).
	// False is the same-account logic, where either side's Allow suffices.
	CrossAccount bool
}

// Result is a decision and its explanation.
type Result struct {
	// Decision is Allowed, ExplicitlyDenied or ImplicitlyDenied.
	Decision Decision `json:"decision"`
	// Explain says why.
	Explain Explanation `json:"explain"`
}

// Evaluate decides req against the policies of in with AWS's same-account logic:
// an explicit Deny in any policy wins; otherwise an Allow from an identity policy or
// the resource policy is needed, and when a session policy or a permissions boundary
// is present it must allow the request too; otherwise the request is implicitly
// denied. With in.CrossAccount set it applies the cross-account logic instead (see
// [Input]). The explanation traces every statement and condition.
func Evaluate(req Request, in Input) Result { return evaluate(req, &in, true) }

// EvaluateFast decides like [Evaluate] but short-circuits and records only the
// deciding statement: the Deny that applied, the Allow that applied, or for an
// implicit denial the Allow statement that came closest, with its first failing
// condition. It is the form for hot paths such as STS.
func EvaluateFast(req Request, in Input) Result { return evaluate(req, &in, false) }

// Group of a policy in the evaluation logic.
type group uint8

const (
	groupIdentity group = iota // identity policies
	groupResource              // the resource policy; with the identity policies one allow set in one account
	groupSession
	groupBoundary
	numGroups
)

// stage says how far a statement matched: principal, action, resource, conditions.
const (
	stagePrincipal = iota
	stageAction
	stageResource
	stageConditions
	stageApplies
)

type stmtOutcome struct {
	stage      int
	principal  Match
	action     Match
	resource   Match
	resMissing string
	failed     *Condition // first failing condition
	missing    string     // variable without value in the failed condition
}

type candidate struct {
	ok    bool
	pol   *Policy
	ref   PolicyRef
	stmt  *Statement
	out   stmtOutcome
	trace int // index into traces (full mode)
}

type evaluator struct {
	req    Request
	full   bool
	traces []StatementTrace
	conds  []ConditionTrace

	deny    candidate
	allow   [numGroups]candidate
	nearest [numGroups]candidate
	present [numGroups]bool
}

func evaluate(req Request, in *Input, full bool) Result {
	e := evaluator{req: req, full: full}
	npol := len(in.Identity) + len(in.SessionPolicies)
	if full {
		ns, nc := 0, 0
		count := func(p *Policy) {
			if p != nil {
				for _, s := range p.Statements {
					ns++
					nc += len(s.Conditions)
				}
			}
		}
		for _, p := range in.Identity {
			count(p)
		}
		count(in.Resource)
		count(in.Session)
		for _, p := range in.SessionPolicies {
			count(p)
		}
		count(in.Boundary)
		e.traces = make([]StatementTrace, 0, ns)
		e.conds = make([]ConditionTrace, 0, nc)
	}
	for i, p := range in.Identity {
		if e.policy(p, PolicyRef{Source: SourceIdentity, Index: i}, groupIdentity) {
			return e.result(npol, in)
		}
	}
	if in.Resource != nil {
		npol++
		if e.policy(in.Resource, PolicyRef{Source: SourceResource}, groupResource) {
			return e.result(npol, in)
		}
	}
	if in.Session != nil {
		npol++
		if e.policy(in.Session, PolicyRef{Source: SourceSession}, groupSession) {
			return e.result(npol, in)
		}
	}
	for i, p := range in.SessionPolicies {
		if e.policy(p, PolicyRef{Source: SourceSession, Index: i + 1}, groupSession) {
			return e.result(npol, in)
		}
	}
	if in.Boundary != nil {
		npol++
		if e.policy(in.Boundary, PolicyRef{Source: SourceBoundary}, groupBoundary) {
			return e.result(npol, in)
		}
	}
	return e.result(npol, in)
}

// policy evaluates every statement of p; it returns true when the fast path can stop
// (an explicit deny was found).
func (e *evaluator) policy(p *Policy, ref PolicyRef, g group) bool {
	if p == nil {
		return false
	}
	e.present[g] = true
	for _, s := range p.Statements {
		out := e.statement(p, ref, s)
		c := candidate{ok: true, pol: p, ref: ref, stmt: s, out: out, trace: len(e.traces) - 1}
		if s.Effect == Deny {
			if out.stage == stageApplies && !e.deny.ok {
				e.deny = c
				if !e.full {
					return true
				}
			}
			continue
		}
		if out.stage == stageApplies {
			if !e.allow[g].ok {
				e.allow[g] = c
			}
			continue
		}
		if !e.nearest[g].ok || out.stage > e.nearest[g].out.stage {
			e.nearest[g] = c
		}
	}
	return false
}

// statement matches one statement; in full mode it records a trace.
func (e *evaluator) statement(p *Policy, ref PolicyRef, s *Statement) stmtOutcome {
	req := &e.req
	out := stmtOutcome{}
	full := e.full
	// Principal.
	if s.Principal == nil {
		out.principal = MatchNotApplicable
	} else if principalApplies(s, req) {
		out.principal = MatchYes
	} else {
		out.principal = MatchNo
	}
	ok := out.principal != MatchNo
	if ok {
		out.stage = stageAction
	}
	// Action.
	if ok || full {
		if matchesAction(s.actions, req.Action) != s.NotAction {
			out.action = MatchYes
		} else {
			out.action = MatchNo
			ok = false
		}
		if ok {
			out.stage = stageResource
		}
	}
	// Resource.
	if ok || full {
		if len(s.resources) == 0 {
			out.resource = MatchNotApplicable
		} else {
			hit := false
			for i := range s.resources {
				m, missing := s.resources[i].match(req.Resource, req.Context)
				if missing != "" && out.resMissing == "" {
					out.resMissing = missing
				}
				if m {
					hit = true
					break
				}
			}
			if hit != s.NotResource {
				out.resource = MatchYes
			} else {
				out.resource = MatchNo
				ok = false
			}
		}
		if ok {
			out.stage = stageConditions
		}
	}
	// Conditions.
	var traced []ConditionTrace
	if ok || full {
		start := len(e.conds)
		for _, c := range s.Conditions {
			m, missing := c.eval(req.Context)
			if full {
				vals, present := req.Context[c.lkey]
				e.conds = append(e.conds, ConditionTrace{Operator: c.Operator, Key: c.Key, PolicyValues: c.Values, RequestValues: vals, KeyPresent: present, Matched: m, UnresolvedVariable: missing, cond: c})
			}
			if !m {
				if out.failed == nil {
					out.failed, out.missing = c, missing
				}
				ok = false
				if !full {
					break
				}
			}
		}
		if full && len(e.conds) > start {
			traced = e.conds[start:len(e.conds):len(e.conds)]
		}
		if ok {
			out.stage = stageApplies
		}
	}
	if full {
		e.traces = append(e.traces, StatementTrace{
			Policy: ref, Index: s.Index, Sid: s.Sid, Effect: s.Effect,
			Principal: out.principal, Action: out.action, Resource: out.resource,
			UnresolvedVariable: out.resMissing, Conditions: traced,
			Applies: out.stage == stageApplies, stmt: s, pol: p,
		})
	}
	return out
}

// principalApplies reports whether the Principal (or NotPrincipal) element of s,
// which must have one, lets the statement apply to the caller of req.
func principalApplies(s *Statement, req *Request) bool {
	m := s.Principal.matches(req.Principal, req.PrincipalType)
	if req.RoleARN == "" {
		return m != s.NotPrincipal
	}
	r := s.Principal.matches(req.RoleARN, req.PrincipalType)
	if s.NotPrincipal {
		return !(m && r)
	}
	return m || r
}

func (e *evaluator) result(npol int, in *Input) Result {
	ex := Explanation{Principal: e.req.Principal, Action: e.req.Action, Resource: e.req.Resource, Statements: e.traces, policies: npol}
	var pick, other *candidate
	if in.CrossAccount {
		pick, other = e.crossAccount(&ex, in)
	} else {
		// In one account the identity and resource policies form one allow set:
		// the first Allow that applied, identity policies first, or the statement
		// that came closest.
		switch {
		case e.deny.ok:
			ex.Decision, ex.Reason, pick = ExplicitlyDenied, ReasonExplicitDeny, &e.deny
		case !e.allow[groupIdentity].ok && !e.allow[groupResource].ok:
			ex.Decision, ex.Reason, pick = ImplicitlyDenied, ReasonNoAllow, e.nearer(groupIdentity, groupResource)
			if len(in.Identity) == 0 && in.Resource == nil {
				ex.Reason = ReasonNoPolicies
			}
		case e.present[groupSession] && !e.allow[groupSession].ok:
			ex.Decision, ex.Reason, pick = ImplicitlyDenied, ReasonSessionPolicy, &e.nearest[groupSession]
		case e.present[groupBoundary] && !e.allow[groupBoundary].ok:
			ex.Decision, ex.Reason, pick = ImplicitlyDenied, ReasonBoundary, &e.nearest[groupBoundary]
		case e.allow[groupIdentity].ok:
			ex.Decision, ex.Reason, pick = Allowed, ReasonAllowed, &e.allow[groupIdentity]
		default:
			ex.Decision, ex.Reason, pick = Allowed, ReasonAllowed, &e.allow[groupResource]
		}
	}
	ex.Deciding = e.trace(pick)
	ex.OtherSide = e.trace(other)
	return Result{Decision: ex.Decision, Explain: ex}
}

// nearer returns the statement of groups a and b (a evaluated first) that came
// closest to applying: b's only when it got strictly further.
func (e *evaluator) nearer(a, b group) *candidate {
	if r := &e.nearest[b]; r.ok && (!e.nearest[a].ok || r.out.stage > e.nearest[a].out.stage) {
		return r
	}
	return &e.nearest[a]
}

// trace returns the trace of a candidate, nil for none.
func (e *evaluator) trace(c *candidate) *StatementTrace {
	if c == nil || !c.ok {
		return nil
	}
	if e.full {
		return &e.traces[c.trace]
	}
	return c.materialize(e.req.Context)
}

// materialize builds the trace of a candidate in fast mode, in one allocation.
func (c *candidate) materialize(ctx Context) *StatementTrace {
	box := &struct {
		st StatementTrace
		ct [1]ConditionTrace
	}{}
	s := c.stmt
	box.st = StatementTrace{
		Policy: c.ref, Index: s.Index, Sid: s.Sid, Effect: s.Effect,
		Principal: c.out.principal, Action: c.out.action, Resource: c.out.resource,
		UnresolvedVariable: c.out.resMissing, Applies: c.out.stage == stageApplies,
		stmt: s, pol: c.pol,
	}
	if f := c.out.failed; f != nil {
		vals, present := ctx[f.lkey]
		box.ct[0] = ConditionTrace{Operator: f.Operator, Key: f.Key, PolicyValues: f.Values, RequestValues: vals, KeyPresent: present, UnresolvedVariable: c.out.missing, cond: f}
		box.st.Conditions = box.ct[:]
	}
	return &box.st
}
