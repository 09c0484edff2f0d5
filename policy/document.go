// Package policy implements the AWS IAM policy language: it parses and validates
// policy documents, evaluates requests against them with AWS's logic, explains every
// decision statement by statement and condition by condition, and lints policies
// (above all the trust policies of roles that trust a CI provider's OIDC issuer).
//
// Parse a document once with [Parse]; a [*Policy] is immutable and safe for
// concurrent use. Evaluate requests with [Evaluate] (full trace) or [EvaluateFast]
// (the deciding statement and failing condition only), check it with [Lint].
//
// Where AWS's documentation leaves a choice open, this package decides as follows:
//   - A plain (single-valued) operator given several request values is true when any
//     value matches; its negated form is true when none does.
//   - A policy value whose variable has no value (missing or multivalued key and no
//     default) matches no request value; a Resource holding one matches nothing.
//   - A request value of the wrong type (a non-number for Numeric*, a non-address
//     for IpAddress) matches nothing.
//   - BinaryEquals accepts the request value as raw bytes or base64.
//   - Duplicate JSON member names are rejected (AWS keeps the last one silently, a
//     classic way to lose a condition), and condition operator names are
//     case-sensitive.
package policy

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// Kind is the role a policy document plays; it decides which elements are required
// or forbidden and the default size limit.
type Kind uint8

// Policy kinds.
const (
	// KindIdentity is an identity-based (permission) policy attached to a user, group
	// or role: no Principal, Resource required.
	KindIdentity Kind = iota + 1
	// KindTrust is a role's trust (assume-role) policy: Principal required, no
	// NotPrincipal, no Resource.
	KindTrust
	// KindResource is a resource-based policy such as a bucket policy: Principal or
	// NotPrincipal and Resource required.
	KindResource
	// KindSession is a session policy passed to AssumeRole*: like an identity policy.
	KindSession
	// KindBoundary is a permissions boundary: like an identity policy.
	KindBoundary
)

var kindNames = [...]string{"", "identity", "trust", "resource", "session", "boundary"}

// String returns the lower-case kind name ("identity", "trust", ...).
func (k Kind) String() string {
	if int(k) < len(kindNames) && k != 0 {
		return kindNames[k]
	}
	return "unknown"
}

// ParseKind converts a kind name ("identity", "trust", "resource", "session",
// "boundary") to a Kind.
func ParseKind(s string) (Kind, error) {
	for i, n := range kindNames {
		if i > 0 && strings.EqualFold(s, n) {
			return Kind(i), nil
		}
	}
	return 0, fmt.Errorf("unknown policy kind %q (want identity, trust, resource, session or boundary)", s)
}

// DetectKind guesses the kind of a document: statements with a Principal or
// NotPrincipal make it a trust policy when every action is an sts:AssumeRole*
// action (or it has no Resource) and a resource policy otherwise; documents without
// principals are identity policies. Unparsable documents are reported as identity
// policies; [Parse] then reports the error.
func DetectKind(doc []byte) Kind {
	top, err := objectMembers(doc, 0)
	if err != nil {
		return KindIdentity
	}
	var stmts []json.RawMessage
	for _, m := range top {
		if m.key != "Statement" {
			continue
		}
		if kindOf(m.val) == "array" {
			_ = json.Unmarshal(m.val, &stmts)
		} else {
			stmts = []json.RawMessage{m.val}
		}
	}
	principals, resources, assume, other := false, false, false, false
	for _, s := range stmts {
		var f map[string]json.RawMessage
		if json.Unmarshal(s, &f) != nil {
			continue
		}
		if _, ok := f["Principal"]; ok {
			principals = true
		}
		if _, ok := f["NotPrincipal"]; ok {
			principals = true
		}
		if _, ok := f["Resource"]; ok {
			resources = true
		}
		if _, ok := f["NotResource"]; ok {
			resources = true
		}
		acts, _ := stringOrList(f["Action"])
		for _, a := range acts {
			if l := strings.ToLower(a); strings.HasPrefix(l, "sts:assumerole") || strings.HasPrefix(l, "sts:tagsession") || strings.HasPrefix(l, "sts:setsourceidentity") || l == "sts:*" {
				assume = true
			} else {
				other = true
			}
		}
	}
	switch {
	case !principals:
		return KindIdentity
	case !resources || (assume && !other):
		return KindTrust
	}
	return KindResource
}

// Effect is a statement's effect, "Allow" or "Deny".
type Effect string

// Statement effects.
const (
	Allow Effect = "Allow" // the statement grants
	Deny  Effect = "Deny"  // the statement denies, overriding every Allow
)

// Versions of the policy language.
const (
	// Version2012 is the current language version; it enables policy variables.
	Version2012 = "2012-10-17"
	// Version2008 is the original version; "${…}" is literal text under it.
	Version2008 = "2008-10-17"
)

// Policy is a parsed, validated and precompiled policy document. It is immutable
// after Parse and safe for concurrent use.
type Policy struct {
	// Version is the document's Version element ("" when absent).
	Version string
	// ID is the document's Id element.
	ID string
	// Kind is the kind the document was validated as.
	Kind Kind
	// Statements are the statements in document order.
	Statements []*Statement
}

// VariablesEnabled reports whether policy variables are substituted, which AWS does
// only under Version 2012-10-17.
func (p *Policy) VariablesEnabled() bool { return p.Version == Version2012 }

// Statement is one statement of a policy.
type Statement struct {
	// Index is the zero-based position of the statement in the document.
	Index int
	// Sid is the optional statement id.
	Sid string
	// Effect is Allow or Deny.
	Effect Effect
	// Principal is the Principal (or, with NotPrincipal set, the NotPrincipal)
	// element; nil when the statement has neither.
	Principal *Principal
	// NotPrincipal reports that Principal came from a NotPrincipal element.
	NotPrincipal bool
	// Actions are the Action (or NotAction) patterns as written.
	Actions []string
	// NotAction reports that Actions came from a NotAction element.
	NotAction bool
	// Resources are the Resource (or NotResource) patterns as written; empty in a
	// trust policy.
	Resources []string
	// NotResource reports that Resources came from a NotResource element.
	NotResource bool
	// Conditions are the condition clauses, one per operator and key, in document order.
	Conditions []*Condition
	// Line and Column locate the statement in the source document (1-based).
	Line, Column int

	actions   []pattern
	resources []arnPattern
}

// Name identifies the statement for people: its Sid in quotes, or "#index".
func (s *Statement) Name() string {
	if s.Sid != "" {
		return fmt.Sprintf("%q", s.Sid)
	}
	return fmt.Sprintf("#%d", s.Index)
}

// Principal is a Principal or NotPrincipal element.
type Principal struct {
	// Wildcard is set for "Principal": "*".
	Wildcard bool
	// AWS lists account ids, account root ARNs, IAM user/role ARNs, or "*".
	AWS []string `json:",omitempty"`
	// Federated lists identity providers (OIDC/SAML provider ARNs or web identity hosts).
	Federated []string `json:",omitempty"`
	// Service lists service principals such as "ec2.amazonaws.com".
	Service []string `json:",omitempty"`
	// CanonicalUser lists S3 canonical user ids.
	CanonicalUser []string `json:",omitempty"`
}

// String renders the principal as compact JSON.
func (p *Principal) String() string {
	if p.Wildcard {
		return `"*"`
	}
	var parts []string
	add := func(name string, v []string) {
		if len(v) > 0 {
			b, _ := json.Marshal(v)
			parts = append(parts, fmt.Sprintf("%q: %s", name, b))
		}
	}
	add("AWS", p.AWS)
	add("Federated", p.Federated)
	add("Service", p.Service)
	add("CanonicalUser", p.CanonicalUser)
	return "{" + strings.Join(parts, ", ") + "}"
}

// Default size limits, in characters, per kind (see [DefaultMaxSize]).
const (
	MaxTrustPolicySize    = 2048  // role trust policy (ACLSizePerRole)
	MaxInlineRolePolicy   = 10240 // inline policies of one role
	MaxManagedPolicySize  = 6144  // a managed policy, used for permissions boundaries
	MaxSessionPolicySize  = 2048  // the Policy parameter of AssumeRole*
	MaxResourcePolicySize = 20480 // an S3 bucket policy
)

// DefaultMaxSize returns AWS's default size limit for a kind: trust 2048, identity
// 10240 (a role's inline policy), boundary 6144 (a managed policy), session 2048,
// resource 20480 (a bucket policy).
func DefaultMaxSize(k Kind) int {
	switch k {
	case KindTrust:
		return MaxTrustPolicySize
	case KindSession:
		return MaxSessionPolicySize
	case KindBoundary:
		return MaxManagedPolicySize
	case KindResource:
		return MaxResourcePolicySize
	}
	return MaxInlineRolePolicy
}

// Option configures [Parse].
type Option func(*parseConfig)

type parseConfig struct {
	maxSize int
	sizeSet bool
}

// WithMaxSize sets the size limit in characters; n <= 0 disables the check.
func WithMaxSize(n int) Option {
	return func(c *parseConfig) { c.maxSize, c.sizeSet = n, true }
}

// Size returns the size AWS counts against a kind's limit: the number of characters
// excluding JSON whitespace outside strings for every kind but KindSession, whose
// limit (the Policy request parameter) counts every character.
func Size(doc []byte, k Kind) int {
	if k == KindSession {
		return utf8.RuneCount(doc)
	}
	n, inStr, esc := 0, false, false
	for i := 0; i < len(doc); {
		r, size := utf8.DecodeRune(doc[i:])
		i += size
		switch {
		case inStr:
			n++
			if esc {
				esc = false
			} else if r == '\\' {
				esc = true
			} else if r == '"' {
				inStr = false
			}
		case r == ' ' || r == '\t' || r == '\n' || r == '\r':
		default:
			n++
			if r == '"' {
				inStr = true
			}
		}
	}
	return n
}

// Parse validates a policy document of the given kind and precompiles it for
// evaluation. Errors are [*Error] values with code MalformedPolicyDocument (or
// LimitExceeded when the document is over the kind's size limit, see
// [DefaultMaxSize] and [WithMaxSize]).
func Parse(doc []byte, kind Kind, opts ...Option) (*Policy, error) {
	if kind < KindIdentity || kind > KindBoundary {
		return nil, docError("", "unknown policy kind %d", kind)
	}
	cfg := parseConfig{maxSize: DefaultMaxSize(kind)}
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.maxSize > 0 {
		if n := Size(doc, kind); n > cfg.maxSize {
			return nil, &Error{Code: CodeLimitExceeded, Statement: -1, Message: fmt.Sprintf("Cannot exceed quota for %s policy size: %d (the document has %d characters)", kind, cfg.maxSize, n)}
		}
	}
	if !utf8.Valid(doc) {
		return nil, docError("", "Syntax errors in policy: the document is not valid UTF-8")
	}
	if !json.Valid(doc) {
		var v any
		err := json.Unmarshal(doc, &v)
		var se *json.SyntaxError
		if errors.As(err, &se) {
			line, col := lineCol(doc, int(se.Offset))
			return nil, docError("", "Syntax errors in policy: %v at line %d, column %d", se, line, col)
		}
		return nil, docError("", "Syntax errors in policy: %v", err)
	}
	top, err := objectMembers(doc, 0)
	if err != nil {
		if errors.Is(err, errNotObject) {
			return nil, docError("", "Syntax errors in policy: the document must be a JSON object")
		}
		return nil, docError("", "Syntax errors in policy: %v", err)
	}
	p := &Policy{Kind: kind}
	var stmtRaw *member
	for i := range top {
		m := &top[i]
		switch m.key {
		case "Version":
			if err := json.Unmarshal(m.val, &p.Version); err != nil || (p.Version != Version2012 && p.Version != Version2008) {
				return nil, docError("Version", "The policy must contain a valid version string: %q or %q", Version2012, Version2008)
			}
		case "Id":
			if err := json.Unmarshal(m.val, &p.ID); err != nil {
				return nil, docError("Id", "Id must be a string")
			}
		case "Statement":
			stmtRaw = m
		default:
			return nil, docError(m.key, "Unknown element %q at the top level (want Version, Id or Statement)", m.key)
		}
	}
	if stmtRaw == nil {
		return nil, docError("Statement", "Missing required field Statement")
	}
	var elems []member
	switch kindOf(stmtRaw.val) {
	case "object":
		elems = []member{{val: stmtRaw.val, off: stmtRaw.off}}
	case "array":
		elems, err = arrayElements(stmtRaw.val, stmtRaw.off)
		if err != nil {
			return nil, docError("Statement", "Syntax errors in policy: %v", err)
		}
		if len(elems) == 0 {
			return nil, docError("Statement", "Statement must not be empty")
		}
	default:
		return nil, docError("Statement", "Statement must be an object or a list of objects")
	}
	sids := map[string]int{}
	for i, el := range elems {
		s, err := parseStatement(p, i, el, doc)
		if err != nil {
			return nil, err
		}
		if s.Sid != "" {
			if j, dup := sids[s.Sid]; dup {
				return nil, &Error{Code: CodeMalformedPolicyDocument, Statement: i, Sid: s.Sid, Field: "Sid", Message: fmt.Sprintf("Statement IDs (SID) in a single policy must be unique (statement %d has the same Sid)", j)}
			}
			sids[s.Sid] = i
		}
		p.Statements = append(p.Statements, s)
	}
	return p, nil
}

func parseStatement(p *Policy, idx int, el member, doc []byte) (*Statement, error) {
	s := &Statement{Index: idx}
	s.Line, s.Column = lineCol(doc, el.off)
	fail := func(field, format string, args ...any) error {
		return &Error{Code: CodeMalformedPolicyDocument, Statement: idx, Sid: s.Sid, Field: field, Message: fmt.Sprintf(format, args...)}
	}
	fields, err := objectMembers(el.val, el.off)
	if err != nil {
		if errors.Is(err, errNotObject) {
			return nil, fail("", "a statement must be a JSON object, not a %s", kindOf(el.val))
		}
		return nil, fail("", "%v", err)
	}
	// Sid first so that every later error can name it.
	for _, f := range fields {
		if f.key == "Sid" {
			if kindOf(f.val) != "string" {
				return nil, fail("Sid", "Sid must be a string")
			}
			_ = json.Unmarshal(f.val, &s.Sid)
		}
	}
	var cond *member
	seen := map[string]bool{}
	for i := range fields {
		f := &fields[i]
		seen[f.key] = true
		switch f.key {
		case "Sid":
		case "Effect":
			var e string
			if kindOf(f.val) != "string" || json.Unmarshal(f.val, &e) != nil || (e != "Allow" && e != "Deny") {
				return nil, fail("Effect", "Invalid effect: Effect must be \"Allow\" or \"Deny\"")
			}
			s.Effect = Effect(e)
		case "Principal", "NotPrincipal":
			if s.Principal != nil {
				return nil, fail(f.key, "a statement cannot have both Principal and NotPrincipal")
			}
			pr, field, err := parsePrincipal(f.val)
			if err != nil {
				return nil, fail(f.key+field, "%v", err)
			}
			s.Principal, s.NotPrincipal = pr, f.key == "NotPrincipal"
		case "Action", "NotAction":
			if s.Actions != nil {
				return nil, fail(f.key, "a statement cannot have both Action and NotAction")
			}
			list, err := stringOrList(f.val)
			if err != nil {
				return nil, fail(f.key, "%s %v", f.key, err)
			}
			for _, a := range list {
				if err := validAction(a); err != nil {
					return nil, fail(f.key, "%v", err)
				}
				s.actions = append(s.actions, compilePattern(a, false, true))
			}
			s.Actions, s.NotAction = list, f.key == "NotAction"
		case "Resource", "NotResource":
			if s.Resources != nil {
				return nil, fail(f.key, "a statement cannot have both Resource and NotResource")
			}
			list, err := stringOrList(f.val)
			if err != nil {
				return nil, fail(f.key, "%s %v", f.key, err)
			}
			for _, r := range list {
				if r != "*" && !strings.HasPrefix(r, "arn:") {
					return nil, fail(f.key, "Resource %q must be in ARN format or \"*\"", r)
				}
				s.resources = append(s.resources, compileARN(r, p.VariablesEnabled()))
			}
			s.Resources, s.NotResource = list, f.key == "NotResource"
		case "Condition":
			cond = f
		default:
			return nil, fail(f.key, "Unknown field %q (want Sid, Effect, Principal, NotPrincipal, Action, NotAction, Resource, NotResource or Condition)", f.key)
		}
	}
	if s.Effect == "" {
		return nil, fail("Effect", "Missing required field Effect")
	}
	if s.Actions == nil {
		return nil, fail("Action", "Policy statement must contain actions (Action or NotAction)")
	}
	switch p.Kind {
	case KindTrust:
		if seen["NotPrincipal"] {
			return nil, fail("NotPrincipal", "Has prohibited field NotPrincipal: a trust policy cannot use NotPrincipal")
		}
		if s.Principal == nil {
			return nil, fail("Principal", "Missing required field Principal: a trust policy must name the principal it trusts")
		}
		if s.Resources != nil {
			f := "Resource"
			if s.NotResource {
				f = "NotResource"
			}
			return nil, fail(f, "Has prohibited field %s: a trust policy applies to its role and names no resource", f)
		}
	case KindResource:
		if s.Principal == nil {
			return nil, fail("Principal", "Missing required field Principal: a resource policy must name a Principal or NotPrincipal")
		}
		if s.Resources == nil {
			return nil, fail("Resource", "Policy statement must contain resources (Resource or NotResource)")
		}
	default:
		if s.Principal != nil {
			f := "Principal"
			if s.NotPrincipal {
				f = "NotPrincipal"
			}
			return nil, fail(f, "Policy document should not specify a principal: a %s policy applies to the identity it is attached to", p.Kind)
		}
		if s.Resources == nil {
			return nil, fail("Resource", "Policy statement must contain resources (Resource or NotResource)")
		}
	}
	if cond != nil {
		conds, field, err := parseConditions(cond.val, cond.off, p.VariablesEnabled())
		if err != nil {
			return nil, fail("Condition"+field, "%v", err)
		}
		s.Conditions = conds
	}
	return s, nil
}

func validAction(a string) error {
	if a == "*" {
		return nil
	}
	i := strings.IndexByte(a, ':')
	if i <= 0 || i == len(a)-1 {
		return errorf("Action %q must be prefaced by a vendor, e.g. \"s3:GetObject\", or be \"*\"", a)
	}
	for _, c := range a[:i] {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '*' || c == '?') {
			return errorf("Action %q has an invalid vendor prefix %q", a, a[:i])
		}
	}
	return nil
}

func parsePrincipal(raw []byte) (*Principal, string, error) {
	if kindOf(raw) == "string" {
		var s string
		_ = json.Unmarshal(raw, &s)
		if s != "*" {
			return nil, "", errorf("Invalid principal %q: a string principal must be \"*\"; use {\"AWS\": …}, {\"Federated\": …} or {\"Service\": …}", s)
		}
		return &Principal{Wildcard: true}, "", nil
	}
	members, err := objectMembers(raw, 0)
	if err != nil {
		return nil, "", fmt.Errorf("must be \"*\" or an object with AWS, Federated, Service or CanonicalUser")
	}
	if len(members) == 0 {
		return nil, "", fmt.Errorf("must not be empty")
	}
	p := &Principal{}
	for _, m := range members {
		list, err := stringOrList(m.val)
		if err != nil {
			return nil, "." + m.key, err
		}
		for _, v := range list {
			if v == "" {
				return nil, "." + m.key, errorf("Invalid principal: empty value")
			}
		}
		switch m.key {
		case "AWS":
			for _, v := range list {
				if v != "*" && !isAccountID(v) && !strings.HasPrefix(v, "arn:") {
					return nil, ".AWS", errorf("Invalid principal in policy: %q (want an account id, an ARN or \"*\")", v)
				}
			}
			p.AWS = list
		case "Federated":
			p.Federated = list
		case "Service":
			p.Service = list
		case "CanonicalUser":
			p.CanonicalUser = list
		default:
			return nil, "." + m.key, errorf("Invalid principal type %q (want AWS, Federated, Service or CanonicalUser)", m.key)
		}
	}
	return p, "", nil
}

func isAccountID(s string) bool {
	if len(s) != 12 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
