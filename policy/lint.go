package policy

import (
	"fmt"
	"net/netip"
	"regexp"
	"slices"
	"sort"
	"strings"
)

// Severity is the severity of a lint finding.
type Severity string

// Severities.
const (
	SeverityError   Severity = "error"   // fails "keyless policy lint"
	SeverityWarning Severity = "warning" // risky, review it
	SeverityInfo    Severity = "info"    // worth knowing
)

// Rule describes one lint rule.
type Rule struct {
	// ID is the stable rule id, e.g. "no-sub-condition".
	ID string
	// Severity is the rule's severity.
	Severity Severity
	// Title is a one-line summary.
	Title string
	// Help explains the risk and the fix.
	Help string
}

// Lint rule ids.
const (
	RuleNoSub          = "no-sub-condition"
	RuleNoAud          = "no-aud-condition"
	RuleWildcardEquals = "wildcard-in-string-equals"
	RuleForAllValues   = "for-all-values-in-allow"
	RuleOverbroadSub   = "overbroad-sub"
	RulePrincipalStar  = "principal-star"
	RuleTrustAction    = "trust-action-wildcard"
	RuleAdminAccess    = "admin-access"
	RulePassRoleStar   = "passrole-star"
	RuleOldVersion     = "old-version"
	RuleBitbucketIPs   = "bitbucket-pre-2024-source-ip"
)

var rules = [...]Rule{
	{RuleNoSub, SeverityError, "OIDC trust without a sub condition",
		"A role that trusts an OIDC provider with no condition on <provider>:sub can be assumed by any repository or pipeline that can get a token from that issuer. Pin the subject with StringLike or StringEquals on <provider>:sub."},
	{RuleNoAud, SeverityWarning, "OIDC trust without an aud condition",
		"Without a condition on <provider>:aud the role accepts tokens minted for any audience the provider registers. Add StringEquals on <provider>:aud."},
	{RuleWildcardEquals, SeverityError, "Wildcard inside StringEquals",
		"StringEquals compares literally: a '*' in its value is a literal asterisk, so the condition never matches a real value. Use StringLike for patterns."},
	{RuleForAllValues, SeverityError, "ForAllValues in an Allow",
		"ForAllValues is true when the key is missing or empty, so an Allow guarded by it applies to requests that lack the key entirely. Use ForAnyValue, or add a Null condition requiring the key."},
	{RuleOverbroadSub, SeverityError, "Over-broad sub pattern",
		"A sub pattern such as '*' or one whose wildcard covers the repository part lets other repositories assume the role. Pin one repository, e.g. '{repository-uuid}:*' for Bitbucket or 'repo:owner/name:*' for GitHub."},
	{RulePrincipalStar, SeverityError, "Principal \"*\" in an Allow",
		"An Allow with Principal \"*\" (or {\"AWS\": \"*\"}) trusts everyone; conditions are then the only protection. Name the principal, e.g. {\"Federated\": \"<oidc-provider ARN>\"}."},
	{RuleTrustAction, SeverityWarning, "Wildcard action in a trust policy",
		"A trust policy that allows sts:* or * also allows AssumeRole, TagSession and SetSourceIdentity for that principal. Name the action, e.g. sts:AssumeRoleWithWebIdentity."},
	{RuleAdminAccess, SeverityError, "Action \"*\" on Resource \"*\"",
		"An Allow of every action on every resource is administrator access. Grant the actions and resources the workload needs."},
	{RulePassRoleStar, SeverityWarning, "iam:PassRole on every resource",
		"iam:PassRole on \"*\" lets the holder pass any role, including more privileged ones, to a service. Restrict Resource to the roles it must pass."},
	{RuleOldVersion, SeverityInfo, "Old or missing policy Version",
		"Without \"Version\": \"2012-10-17\" policy variables such as ${aws:username} are literal text. Add the current version."},
	{RuleBitbucketIPs, SeverityWarning, "aws:SourceIp pinned to Bitbucket's pre-2024 IP list",
		"The fifteen addresses of Bitbucket Pipelines' old egress list (the seed articles' CloudFormation template) no longer cover the steps: since the 2024 runtime migration steps leave from Atlassian's published ranges only when they are larger steps with `atlassian-ip-ranges: true`, so the role refuses other steps. Opt the deploying steps in and take the current ranges from the feed with `keyless ip-ranges --format condition`."},
}

// Rules returns every lint rule.
func Rules() []Rule { return append([]Rule(nil), rules[:]...) }

// Finding is one lint finding.
type Finding struct {
	// RuleID is the rule's id.
	RuleID string `json:"ruleId"`
	// Severity is error, warning or info.
	Severity Severity `json:"severity"`
	// Statement is the statement index, or -1 for the whole document.
	Statement int `json:"statement"`
	// Sid is the statement's Sid, if any.
	Sid string `json:"sid,omitempty"`
	// Line and Column locate the statement in the source (0 when unknown).
	Line   int `json:"line,omitempty"`
	Column int `json:"column,omitempty"`
	// Message says what is wrong.
	Message string `json:"message"`
	// Fix says how to correct it.
	Fix string `json:"fix"`
}

// HasErrors reports whether any finding has error severity.
func HasErrors(fs []Finding) bool {
	for _, f := range fs {
		if f.Severity == SeverityError {
			return true
		}
	}
	return false
}

// Lint checks a parsed policy for dangerous or ineffective constructs. Trust
// policies are checked for OIDC trust without sub or aud conditions, over-broad
// sub patterns, Principal "*", wildcard actions and an aws:SourceIp pinned to
// Bitbucket's pre-2024 addresses; permission policies for
// administrator access and iam:PassRole on "*"; every policy for wildcards inside
// StringEquals and ForAllValues in an Allow. Findings are ordered by statement.
func Lint(p *Policy) []Finding {
	var out []Finding
	add := func(s *Statement, rule, msg, fix string) {
		f := Finding{RuleID: rule, Severity: ruleSeverity(rule), Statement: -1, Message: msg, Fix: fix}
		if s != nil {
			f.Statement, f.Sid, f.Line, f.Column = s.Index, s.Sid, s.Line, s.Column
		}
		out = append(out, f)
	}
	if p.Version != Version2012 {
		v := "is missing"
		if p.Version != "" {
			v = "is " + p.Version
		}
		add(nil, RuleOldVersion, "the policy Version "+v+": policy variables such as ${aws:username} are literal text", `add "Version": "2012-10-17" at the top of the document`)
	}
	trust := p.Kind == KindTrust
	for _, s := range p.Statements {
		name := "statement " + s.Name()
		for _, c := range s.Conditions {
			if c.info.fam == famString || c.info.fam == famStringIgnoreCase {
				for _, v := range c.Values {
					if hasLiteralStar(v, p.VariablesEnabled()) {
						add(s, RuleWildcardEquals,
							fmt.Sprintf("%s: %s on %s has the value %s; wildcards are literal in %s, so it never matches a real value", name, c.Operator, quote(c.Key), quote(v), c.base),
							fmt.Sprintf("use %s for wildcard matching", strings.Replace(c.Operator, "Equals", "Like", 1)))
					}
				}
			}
			if c.set == ForAllValues && s.Effect == Allow && !requiresKey(s, c.lkey) {
				add(s, RuleForAllValues,
					fmt.Sprintf("%s: %s on %s in an Allow is true when the request has no %s at all, so the statement applies without it", name, c.Operator, quote(c.Key), quote(c.Key)),
					fmt.Sprintf(`use ForAnyValue:%s, or add "Null": {%s: "false"} to require the key`, c.base, quote(c.Key)))
			}
		}
		if s.Effect != Allow {
			continue
		}
		if s.Principal != nil && !s.NotPrincipal && isStar(s.Principal) {
			fix := `name the principal, e.g. "Principal": {"Federated": "arn:aws:iam::<account>:oidc-provider/<host/path>"}`
			if !trust {
				fix = `name the principals, e.g. "Principal": {"AWS": "arn:aws:iam::<account>:role/<name>"}`
			}
			add(s, RulePrincipalStar, fmt.Sprintf(`%s allows Principal %s: every principal, anonymous callers included, is trusted and only the conditions protect the %s`, name, s.Principal, map[bool]string{true: "role", false: "resource"}[trust]), fix)
		}
		if trust {
			lintTrustActions(s, name, add)
			lintOIDC(s, name, add)
			lintBitbucketIPs(s, name, add)
			continue
		}
		if s.Principal == nil || p.Kind == KindResource {
			lintPermissions(s, name, add)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Statement < out[j].Statement })
	return out
}

func ruleSeverity(id string) Severity {
	for _, r := range rules {
		if r.ID == id {
			return r.Severity
		}
	}
	return SeverityWarning
}

// hasLiteralStar reports a '*' that is not the ${*} escape.
func hasLiteralStar(v string, vars bool) bool {
	if vars {
		v = strings.ReplaceAll(v, "${*}", "")
	}
	return strings.Contains(v, "*")
}

// requiresKey reports whether the statement also has "Null": {key: "false"}.
func requiresKey(s *Statement, lkey string) bool {
	for _, c := range s.Conditions {
		if c.info.fam == famNull && c.lkey == lkey {
			for _, v := range c.vals {
				if !v.b {
					return true
				}
			}
		}
	}
	return false
}

func isStar(p *Principal) bool {
	if p.Wildcard {
		return true
	}
	for _, v := range p.AWS {
		if v == "*" {
			return true
		}
	}
	return false
}

func lintTrustActions(s *Statement, name string, add func(*Statement, string, string, string)) {
	if s.NotAction {
		add(s, RuleTrustAction, fmt.Sprintf("%s uses NotAction %s in a trust policy: it allows every other sts action", name, quoteList(s.Actions)), `use "Action": "sts:AssumeRoleWithWebIdentity"`)
		return
	}
	for i, a := range s.Actions {
		pat := &s.actions[i]
		if !pat.hasWildcard() {
			continue
		}
		if ok, _ := pat.match("sts:AssumeRole", true, nil); !ok {
			if ok, _ := pat.match("sts:AssumeRoleWithWebIdentity", true, nil); !ok {
				continue
			}
		}
		add(s, RuleTrustAction, fmt.Sprintf("%s allows the action %s in a trust policy: it covers sts:AssumeRole, sts:TagSession and every other sts action", name, quote(a)), `name the action: "Action": "sts:AssumeRoleWithWebIdentity" (add "sts:TagSession" only if the token carries session tags)`)
	}
}

// oidcProviders returns the provider keys (host/path) an Allow statement trusts
// for web identity.
func oidcProviders(s *Statement) []string {
	if s.Principal == nil || s.NotPrincipal {
		return nil
	}
	if !matchesAction(s.actions, "sts:AssumeRoleWithWebIdentity") {
		return nil
	}
	var out []string
	for _, f := range s.Principal.Federated {
		if strings.HasPrefix(f, "arn:") {
			if _, host, ok := strings.Cut(arnField(f, 5), "oidc-provider/"); ok && strings.HasPrefix(arnField(f, 5), "oidc-provider/") {
				out = append(out, host)
			}
			continue
		}
		if f != "cognito-identity.amazonaws.com" {
			out = append(out, f)
		}
	}
	return out
}

func lintOIDC(s *Statement, name string, add func(*Statement, string, string, string)) {
	for _, host := range oidcProviders(s) {
		sub, aud := strings.ToLower(host)+":sub", strings.ToLower(host)+":aud"
		pinned, hasAud := false, false
		for _, c := range s.Conditions {
			positive := !c.info.negated && c.info.fam != famNull && c.set != ForAllValues
			switch {
			case c.lkey == aud && positive:
				hasAud = true
			case c.lkey == sub && positive:
				pinned = true
				if c.info.fam != famStringLike && c.info.fam != famArn {
					continue
				}
				for _, v := range c.Values {
					if !pinsRepository(v) {
						add(s, RuleOverbroadSub,
							fmt.Sprintf("%s: %s on %s allows %s, which does not pin one repository: other repositories on the issuer can assume the role", name, c.Operator, quote(c.Key), quote(v)),
							"pin one repository: "+subExample(host))
					}
				}
			}
		}
		if !pinned {
			add(s, RuleNoSub,
				fmt.Sprintf("%s trusts the OIDC provider %s with no condition on %s: any repository or pipeline that can get a token from this issuer can assume the role", name, quote(host), quote(host+":sub")),
				fmt.Sprintf(`add "StringLike": {%s: %s}`, quote(host+":sub"), quote(subPlaceholder(host))))
		}
		if !hasAud {
			add(s, RuleNoAud,
				fmt.Sprintf("%s trusts the OIDC provider %s with no condition on %s: tokens minted for any registered audience are accepted", name, quote(host), quote(host+":aud")),
				fmt.Sprintf(`add "StringEquals": {%s: "<audience>"}`, quote(host+":aud")))
		}
	}
}

var bracedUUID = regexp.MustCompile(`^\{[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}\}`)

// pinsRepository reports whether a sub pattern names one repository: a pattern
// without wildcards always does; otherwise the text before the first wildcard must
// hold the whole repository part of the subject.
func pinsRepository(v string) bool {
	i := strings.IndexAny(v, "*?")
	if i < 0 {
		return v != ""
	}
	lit := v[:i]
	switch {
	case lit == "":
		return false
	case strings.HasPrefix(lit, "{"): // Bitbucket: {repositoryUuid}:{…}
		return bracedUUID.MatchString(lit)
	case strings.HasPrefix(lit, "repo:"): // GitHub: repo:owner/name:…
		owner, rest, ok := strings.Cut(lit[len("repo:"):], "/")
		return ok && owner != "" && strings.Contains(rest, ":") && !strings.HasPrefix(rest, ":")
	case strings.HasPrefix(lit, "project_path:"): // GitLab: project_path:group/project:…
		rest := lit[len("project_path:"):]
		j := strings.IndexByte(rest, ':')
		return j > 0 && strings.Contains(rest[:j], "/")
	}
	j := strings.IndexByte(lit, ':')
	return j > 0
}

func subPlaceholder(host string) string {
	switch {
	case strings.Contains(host, "bitbucket"):
		return "{<repository-uuid>}:*"
	case strings.Contains(host, "githubusercontent"):
		return "repo:<owner>/<repository>:*"
	case strings.Contains(host, "gitlab"):
		return "project_path:<group>/<project>:*"
	}
	return "<subject of one repository>"
}

func subExample(host string) string {
	return fmt.Sprintf("%q, or a StringEquals on the exact subject", subPlaceholder(host))
}

func lintPermissions(s *Statement, name string, add func(*Statement, string, string, string)) {
	if s.NotAction || s.NotResource {
		return
	}
	allRes := false
	for i := range s.resources {
		if s.resources[i].whole.any {
			allRes = true
		}
	}
	if !allRes {
		return
	}
	allAct := false
	for _, a := range s.Actions {
		if a == "*" || a == "*:*" {
			allAct = true
		}
	}
	if allAct {
		msg := fmt.Sprintf(`%s allows Action "*" on Resource "*": administrator access`, name)
		if len(s.Conditions) > 0 {
			msg += " whenever its conditions hold"
		}
		add(s, RuleAdminAccess, msg, "list the actions and resources the workload needs instead of \"*\"")
		return
	}
	if matchesAction(s.actions, "iam:PassRole") {
		add(s, RulePassRoleStar, fmt.Sprintf(`%s allows iam:PassRole on Resource "*": the holder can pass any role, including more privileged ones, to a service`, name),
			`restrict Resource to the roles it must pass, e.g. "arn:aws:iam::<account>:role/<prefix>-*", and add a condition on iam:PassedToService`)
	}
}

// bitbucketPre2024IPs are the fifteen addresses of Bitbucket Pipelines' egress list
// before the 2024 runtime migration, as the seed articles' CloudFormation template
// pins them.
var bitbucketPre2024IPs = [...]string{
	"34.199.54.113", "34.232.25.90", "34.232.119.183", "34.236.25.177", "35.171.175.212",
	"52.54.90.98", "52.202.195.162", "52.203.14.55", "52.204.96.37", "34.218.156.209",
	"34.218.168.212", "52.41.219.63", "35.155.178.254", "35.160.177.10", "34.216.18.129",
}

// bitbucketPre2024IP returns the address a condition value (an address or a
// single-address CIDR) names when it is one of bitbucketPre2024IPs.
func bitbucketPre2024IP(v string) (string, bool) {
	v = strings.TrimSpace(v)
	var addr netip.Addr
	if p, err := netip.ParsePrefix(v); err == nil {
		if p.Bits() != p.Addr().BitLen() {
			return "", false
		}
		addr = p.Addr()
	} else if a, err := netip.ParseAddr(v); err == nil {
		addr = a
	} else {
		return "", false
	}
	ip := addr.Unmap().String()
	return ip, slices.Contains(bitbucketPre2024IPs[:], ip)
}

// lintBitbucketIPs warns about an IpAddress condition on aws:SourceIp whose every
// value is one of Bitbucket's pre-2024 addresses: the whole old list or part of it.
func lintBitbucketIPs(s *Statement, name string, add func(*Statement, string, string, string)) {
	for _, c := range s.Conditions {
		if c.info.fam != famIP || c.info.negated || c.lkey != "aws:sourceip" || c.set == ForAllValues || len(c.Values) == 0 {
			continue
		}
		pinned := map[string]bool{}
		for _, v := range c.Values {
			ip, ok := bitbucketPre2024IP(v)
			if !ok {
				pinned = nil
				break
			}
			pinned[ip] = true
		}
		if pinned == nil {
			continue
		}
		add(s, RuleBitbucketIPs,
			fmt.Sprintf("%s: %s on %s is pinned to Bitbucket's pre-2024 IP list (%d of its %d addresses): since the 2024 runtime migration steps leave from Atlassian's published ranges only with `atlassian-ip-ranges: true` on larger steps, and the role refuses every other step", name, c.Operator, quote(c.Key), len(pinned), len(bitbucketPre2024IPs)),
			"run `keyless ip-ranges --format condition` for the current Bitbucket Pipelines egress ranges and set `atlassian-ip-ranges: true` on the steps that assume the role")
	}
}
