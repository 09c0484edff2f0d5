package policy

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// Match is the outcome of matching one element of a statement.
type Match uint8

// Match outcomes.
const (
	// MatchNotEvaluated: skipped because an earlier element already failed (fast mode).
	MatchNotEvaluated Match = iota
	// MatchNotApplicable: the statement has no such element (no Principal in an
	// identity policy, no Resource in a trust policy).
	MatchNotApplicable
	// MatchYes: the element matched the request.
	MatchYes
	// MatchNo: the element did not match the request.
	MatchNo
)

var matchNames = [...]string{"not-evaluated", "n/a", "matched", "not-matched"}

// String returns "not-evaluated", "n/a", "matched" or "not-matched".
func (m Match) String() string {
	if int(m) < len(matchNames) {
		return matchNames[m]
	}
	return "Match(" + strconv.Itoa(int(m)) + ")"
}

// MarshalText encodes the outcome as its name.
func (m Match) MarshalText() ([]byte, error) { return []byte(m.String()), nil }

// UnmarshalText decodes an outcome name.
func (m *Match) UnmarshalText(b []byte) error {
	for i, n := range matchNames {
		if string(b) == n {
			*m = Match(i)
			return nil
		}
	}
	return fmt.Errorf("unknown match outcome %q", b)
}

// Source is the role a policy plays in an evaluation.
type Source uint8

// Policy sources.
const (
	SourceIdentity Source = iota // an identity-based policy
	SourceResource               // the resource-based (or trust) policy
	SourceSession                // a session policy
	SourceBoundary               // the permissions boundary
)

// PolicyRef identifies a policy of an [Input]: its source and, for identity and
// session policies, its position (the Session field is session 0, SessionPolicies[i]
// is session i+1).
type PolicyRef struct {
	Source Source
	Index  int
}

// String renders the reference as "identity[0]", "resource", "session[0]" or "boundary".
func (r PolicyRef) String() string {
	switch r.Source {
	case SourceIdentity:
		return "identity[" + strconv.Itoa(r.Index) + "]"
	case SourceResource:
		return "resource"
	case SourceSession:
		return "session[" + strconv.Itoa(r.Index) + "]"
	}
	return "boundary"
}

// MarshalText encodes the reference as its String form.
func (r PolicyRef) MarshalText() ([]byte, error) { return []byte(r.String()), nil }

// UnmarshalText decodes the String form.
func (r *PolicyRef) UnmarshalText(b []byte) error {
	s := string(b)
	switch {
	case s == "resource":
		*r = PolicyRef{Source: SourceResource}
	case s == "boundary":
		*r = PolicyRef{Source: SourceBoundary}
	case strings.HasPrefix(s, "identity[") && strings.HasSuffix(s, "]"):
		n, err := strconv.Atoi(s[9 : len(s)-1])
		*r = PolicyRef{Source: SourceIdentity, Index: n}
		return err
	case strings.HasPrefix(s, "session[") && strings.HasSuffix(s, "]"):
		n, err := strconv.Atoi(s[8 : len(s)-1])
		*r = PolicyRef{Source: SourceSession, Index: n}
		return err
	default:
		return fmt.Errorf("unknown policy reference %q", s)
	}
	return nil
}

// label names the policy for people.
func (r PolicyRef) label(p *Policy) string {
	switch r.Source {
	case SourceIdentity:
		return "identity policy #" + strconv.Itoa(r.Index)
	case SourceResource:
		if p != nil && p.Kind == KindTrust {
			return "the trust policy"
		}
		return "the resource policy"
	case SourceSession:
		if r.Index == 0 {
			return "the session policy"
		}
		return "session policy #" + strconv.Itoa(r.Index)
	}
	return "the permissions boundary"
}

// Reason is why a decision was reached.
type Reason string

// Reasons.
const (
	// ReasonAllowed: an Allow applied and nothing denied or bounded it.
	ReasonAllowed Reason = "allowed"
	// ReasonExplicitDeny: a Deny statement applied.
	ReasonExplicitDeny Reason = "explicit-deny"
	// ReasonNoAllow: no identity or resource policy statement allowed the request.
	ReasonNoAllow Reason = "no-allow"
	// ReasonNoPolicies: there was no identity or resource policy at all.
	ReasonNoPolicies Reason = "no-policies"
	// ReasonSessionPolicy: allowed by the identity or resource policy, but not by
	// the session policy.
	ReasonSessionPolicy Reason = "session-policy"
	// ReasonBoundary: allowed by the identity or resource policy, but not by the
	// permissions boundary.
	ReasonBoundary Reason = "permissions-boundary"
)

// ConditionTrace records the evaluation of one condition clause.
type ConditionTrace struct {
	// Operator is the full operator, e.g. "StringLike" or "ForAllValues:StringEquals".
	Operator string `json:"operator"`
	// Key is the condition key as the policy wrote it.
	Key string `json:"key"`
	// PolicyValues are the policy's values as written.
	PolicyValues []string `json:"policyValues"`
	// RequestValues are the request's values for the key (nil when absent).
	RequestValues []string `json:"requestValues"`
	// KeyPresent reports whether the request has the key.
	KeyPresent bool `json:"keyPresent"`
	// Matched is the outcome of the clause.
	Matched bool `json:"matched"`
	// UnresolvedVariable names a policy variable without a value in the request;
	// the policy value holding it matched nothing.
	UnresolvedVariable string `json:"unresolvedVariable,omitempty"`

	cond *Condition
}

// StatementTrace records the evaluation of one statement.
type StatementTrace struct {
	// Policy is the policy the statement belongs to.
	Policy PolicyRef `json:"policy"`
	// Index is the statement's position in its policy.
	Index int `json:"index"`
	// Sid is the statement id, if any.
	Sid string `json:"sid,omitempty"`
	// Effect is Allow or Deny.
	Effect Effect `json:"effect"`
	// Principal, Action and Resource say whether those elements matched.
	Principal Match `json:"principal"`
	Action    Match `json:"action"`
	Resource  Match `json:"resource"`
	// UnresolvedVariable names a policy variable of Resource without a value.
	UnresolvedVariable string `json:"unresolvedVariable,omitempty"`
	// Conditions are the condition clauses evaluated (in fast mode only the first
	// failing one).
	Conditions []ConditionTrace `json:"conditions,omitempty"`
	// Applies reports whether the whole statement matched the request.
	Applies bool `json:"applies"`

	stmt *Statement
	pol  *Policy
}

// FailedCondition returns the first condition clause that did not hold, or nil.
func (t *StatementTrace) FailedCondition() *ConditionTrace {
	for i := range t.Conditions {
		if !t.Conditions[i].Matched {
			return &t.Conditions[i]
		}
	}
	return nil
}

// Explanation is the structured account of a decision. Deciding is the statement
// that decided it: the Deny that applied, the Allow that applied, or for an
// implicit denial the Allow statement that came closest to applying (nil when the
// policies have no Allow statement at all). Statements holds every statement's
// trace ([Evaluate] only; [EvaluateFast] leaves it empty). String renders it for
// people; JSON encoding adds that text as "message".
type Explanation struct {
	// Decision repeats the decision.
	Decision Decision `json:"decision"`
	// Reason says which rule of the evaluation logic decided.
	Reason Reason `json:"reason"`
	// Principal, Action and Resource repeat the request.
	Principal string `json:"principal,omitempty"`
	Action    string `json:"action"`
	Resource  string `json:"resource,omitempty"`
	// Deciding is the deciding (or, for implicit denials, closest) statement.
	Deciding *StatementTrace `json:"deciding,omitempty"`
	// Statements traces every statement of every policy, in evaluation order.
	Statements []StatementTrace `json:"statements,omitempty"`
	// CrossAccount reports a cross-account evaluation (see [Input.CrossAccount]).
	CrossAccount bool `json:"crossAccount,omitempty"`
	// OtherSide is, in a cross-account evaluation, the Allow statement of the side
	// that allowed when Deciding is not on that side: the resource policy's Allow
	// of an allowed request (Deciding is then the caller's), or the Allow of the
	// side that allowed when the other one did not.
	OtherSide *StatementTrace `json:"otherSide,omitempty"`
	// NoResourcePolicy reports a cross-account request denied because there was no
	// resource policy at all (ReasonCrossAccountResource).
	NoResourcePolicy bool `json:"noResourcePolicy,omitempty"`

	resourcePolicy *Policy // the resource policy of a cross-account evaluation, to name it

	policies int
}

// MarshalJSON encodes the explanation with its human rendering as "message".
func (e Explanation) MarshalJSON() ([]byte, error) {
	type plain Explanation
	return marshalNoEscape(struct {
		plain
		Message string `json:"message"`
	}{plain(e), e.String()})
}

func marshalNoEscape(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimRight(b.Bytes(), "\n"), nil
}

// String renders the explanation for people: a first line with the decision, then
// one line per statement that explains it, e.g.
//
//	statement "RepoOnly" did not apply: StringLike on "api.example/oidc:sub" wants one of ["{4d1…}:*"], the request has "{9c2…}:{77a…}"
func (e Explanation) String() string {
	var b strings.Builder
	b.WriteString(e.Decision.String())
	b.WriteString(": ")
	req := quote(e.Action)
	if e.Resource != "" {
		req += " on " + quote(e.Resource)
	}
	if e.Principal != "" {
		req += " by " + quote(e.Principal)
	}
	reason := e.Reason
	if e.CrossAccount && e.crossAccountHead(&b, req) {
		reason = reasonWritten
	}
	switch reason {
	case reasonWritten:
	case ReasonAllowed:
		fmt.Fprintf(&b, "%s allows %s", e.stmtName(e.Deciding, true), req)
	case ReasonExplicitDeny:
		fmt.Fprintf(&b, "%s denies %s", e.stmtName(e.Deciding, true), req)
	case ReasonNoPolicies:
		fmt.Fprintf(&b, "no identity or resource policy allows %s", req)
	case ReasonNoAllow:
		fmt.Fprintf(&b, "no statement allows %s", req)
	case ReasonSessionPolicy:
		fmt.Fprintf(&b, "a policy allows %s, but no session policy statement does", req)
	case ReasonBoundary:
		fmt.Fprintf(&b, "a policy allows %s, but the permissions boundary does not", req)
	default:
		b.WriteString(string(e.Reason))
	}
	if e.Decision == ExplicitlyDenied && e.Deciding != nil {
		b.WriteString("\n")
		b.WriteString(e.stmtName(e.Deciding, false))
		b.WriteString(" applied: ")
		b.WriteString(appliedText(e.Deciding))
	}
	if e.Decision != ImplicitlyDenied {
		return b.String()
	}
	var lines []*StatementTrace
	if len(e.Statements) > 0 {
		want := Source(255)
		switch e.Reason {
		case ReasonSessionPolicy:
			want = SourceSession
		case ReasonBoundary:
			want = SourceBoundary
		case ReasonCrossAccountIdentity:
			want = SourceIdentity
		case ReasonCrossAccountResource:
			want = SourceResource
		}
		for i := range e.Statements {
			t := &e.Statements[i]
			if t.Effect != Allow || t.Applies {
				continue
			}
			s := t.Policy.Source
			if want == 255 && (s == SourceIdentity || s == SourceResource) || s == want {
				lines = append(lines, t)
			}
		}
	} else if e.Deciding != nil {
		lines = append(lines, e.Deciding)
	}
	for _, t := range lines {
		b.WriteString("\n")
		b.WriteString(e.stmtName(t, false))
		b.WriteString(" did not apply: ")
		b.WriteString(strings.Join(e.failures(t), "; "))
	}
	return b.String()
}

// stmtName names a statement, with its policy when the input had several.
func (e *Explanation) stmtName(t *StatementTrace, withPolicy bool) string {
	if t == nil {
		return "a statement"
	}
	name := "statement #" + strconv.Itoa(t.Index)
	if t.Sid != "" {
		name = "statement " + quote(t.Sid)
	}
	if withPolicy || e.policies > 1 {
		name += " of " + t.Policy.label(t.pol)
	}
	return name
}

func appliedText(t *StatementTrace) string {
	var parts []string
	for _, c := range t.Conditions {
		parts = append(parts, fmt.Sprintf("%s on %s held (the request has %s)", c.Operator, quote(c.Key), requestValues(&c)))
	}
	if len(parts) == 0 {
		return "it has no conditions"
	}
	return strings.Join(parts, "; ")
}

// failures lists why a statement did not apply.
func (e *Explanation) failures(t *StatementTrace) []string {
	var out []string
	s := t.stmt
	if t.Principal == MatchNo && s != nil {
		if s.NotPrincipal {
			out = append(out, fmt.Sprintf("principal %s is excluded by NotPrincipal %s", quote(e.Principal), s.Principal))
		} else {
			out = append(out, fmt.Sprintf("principal %s is not in Principal %s", quote(e.Principal), s.Principal))
		}
	}
	if t.Action == MatchNo && s != nil {
		if s.NotAction {
			out = append(out, fmt.Sprintf("action %s is excluded by NotAction %s", quote(e.Action), quoteList(s.Actions)))
		} else {
			out = append(out, fmt.Sprintf("action %s is not in Action %s", quote(e.Action), quoteList(s.Actions)))
		}
	}
	if t.Resource == MatchNo && s != nil {
		el := "is not in Resource"
		if s.NotResource {
			el = "is excluded by NotResource"
		}
		msg := fmt.Sprintf("resource %s %s %s", quote(e.Resource), el, quoteList(s.Resources))
		if t.UnresolvedVariable != "" {
			msg += fmt.Sprintf(" (policy variable %s has no value in the request)", t.UnresolvedVariable)
		}
		out = append(out, msg)
	}
	for i := range t.Conditions {
		if c := &t.Conditions[i]; !c.Matched {
			out = append(out, conditionText(c))
		}
	}
	if len(out) == 0 {
		out = append(out, "it was not evaluated past an earlier mismatch")
	}
	return out
}

// conditionText renders a failed condition clause.
func conditionText(c *ConditionTrace) string {
	has := "the request has " + requestValues(c)
	if c.cond != nil && c.cond.info.fam == famNull {
		want := "present"
		if len(c.cond.vals) > 0 && c.cond.vals[0].b {
			want = "absent"
		}
		return fmt.Sprintf("%s on %s wants the key to be %s, %s", c.Operator, quote(c.Key), want, has)
	}
	want := "one of"
	negated, set := false, NoSet
	if c.cond != nil {
		negated, set = c.cond.info.negated, c.cond.set
		switch c.cond.info.cmp {
		case cmpLt:
			want = "a value less than"
		case cmpLe:
			want = "a value less than or equal to"
		case cmpGt:
			want = "a value greater than"
		case cmpGe:
			want = "a value greater than or equal to"
		}
		if c.cond.info.fam == famIP {
			want = "an address in"
		}
	}
	switch {
	case set == ForAnyValue && negated:
		want = "at least one value that is not " + want
	case set == ForAnyValue:
		want = "at least one value that is " + want
	case set == ForAllValues && negated:
		want = "every value to be none of"
	case set == ForAllValues:
		want = "every value to be " + want
	case negated:
		want = "none of"
	}
	msg := fmt.Sprintf("%s on %s wants %s %s, %s", c.Operator, quote(c.Key), want, quoteList(c.PolicyValues), has)
	if c.UnresolvedVariable != "" {
		msg += fmt.Sprintf(" (policy variable %s has no value in the request)", c.UnresolvedVariable)
	}
	return msg
}

func requestValues(c *ConditionTrace) string {
	switch {
	case !c.KeyPresent:
		return "no value for it"
	case len(c.RequestValues) == 0:
		return "an empty list"
	case len(c.RequestValues) == 1:
		return quote(c.RequestValues[0])
	}
	return quoteList(c.RequestValues)
}

func quote(s string) string {
	b, _ := marshalNoEscape(s)
	return string(b)
}

func quoteList(v []string) string {
	if v == nil {
		v = []string{}
	}
	b, _ := marshalNoEscape(v)
	return strings.ReplaceAll(string(b), `","`, `", "`)
}
