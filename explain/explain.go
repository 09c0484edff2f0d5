// Package explain answers "would this web identity token assume this role, and if
// not, why?": it replays what STS checks — token present and well formed, issuer
// registered, audience among the provider's client IDs, signature, expiry, every
// condition of the trust policy — and reports each check as PASS or FAIL with what
// was expected, what the token has, and a concrete fix. It also explains
// sts:AssumeRole hops and whole role chains (AssumeRole, Chain): the role's trust
// policy and the caller's identity policies in its own account, across accounts
// both, naming the hop and side that refuse.
package explain

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/keyless-dev/keyless/authz"
	"github.com/keyless-dev/keyless/oidc"
	"github.com/keyless-dev/keyless/policy"
	"github.com/keyless-dev/keyless/sts"
)

// Status is a check's outcome.
type Status string

// Check outcomes.
const (
	Pass Status = "PASS"
	Fail Status = "FAIL"
	Skip Status = "SKIP"
)

// Check is one thing STS checks.
type Check struct {
	ID       string `json:"id"`
	Status   Status `json:"status"`
	Title    string `json:"title"`
	Expected Value  `json:"expected,omitzero"`
	Actual   Value  `json:"actual,omitzero"`
	Fix      string `json:"fix,omitempty"`
}

// Verdict is the answer to "would STS admit this token?".
type Verdict string

// Verdicts.
const (
	// VerdictAdmitted: STS would return credentials.
	VerdictAdmitted Verdict = "ADMITTED"
	// VerdictDenied: STS would refuse the token, whatever the values explain does
	// not know.
	VerdictDenied Verdict = "DENIED"
	// VerdictUndetermined: the answer depends on request values explain does not
	// know (Report.Unknown), such as the address the step calls STS from.
	VerdictUndetermined Verdict = "UNDETERMINED"
)

// Report is the outcome of Run.
type Report struct {
	RoleARN string  `json:"roleArn"`
	Verdict Verdict `json:"verdict"`
	// Admitted is Verdict == VerdictAdmitted.
	Admitted bool `json:"admitted"`
	// Unknown names the condition keys whose unknown values leave the verdict
	// undetermined (e.g. "aws:SourceIp"); empty unless Verdict is VerdictUndetermined.
	Unknown []string `json:"unknown,omitempty"`
	Checks  []Check  `json:"checks"`
}

// SignatureChecker verifies a token's signature against its issuer's published keys
// (discovery and JWKS over HTTPS, trusted as STS trusts them). Only the signature and
// key retrieval are its concern; audience and expiry are checked separately.
type SignatureChecker interface {
	CheckSignature(ctx context.Context, raw string, p oidc.Provider) error
}

// Input is what Run needs.
type Input struct {
	// Token is the raw web identity token; empty when the step had none.
	Token string
	// TokenSource says where the token was looked for, for the no-token advice
	// (e.g. "BITBUCKET_STEP_OIDC_TOKEN").
	TokenSource string
	RoleARN     string
	// TrustPolicy is the role's assume-role policy document.
	TrustPolicy string
	// Providers are the account's IAM OIDC providers (only the one matching iss is used).
	Providers []oidc.Provider
	// SourceIP is the address STS would see (aws:SourceIp); empty when unknown.
	SourceIP string
	// SessionName is the RoleSessionName (sts:RoleSessionName).
	SessionName string
	Now         time.Time
	// Signature verifies the signature; nil skips that check.
	Signature SignatureChecker
}

// Skew is the clock skew STS allows on exp.
const Skew = 5 * time.Minute

// Run performs every check it can and reports them in STS's order. The verdict is
// DENIED when a check fails, UNDETERMINED when no check fails but the trust policy's
// answer depends on request values Input leaves unknown (SourceIP, SessionName), and
// ADMITTED otherwise.
func Run(ctx context.Context, in Input) Report {
	r := Report{RoleARN: in.RoleARN}
	r.Unknown = run(ctx, in, &r)
	failed := slices.ContainsFunc(r.Checks, func(c Check) bool { return c.Status == Fail })
	switch {
	case failed:
		r.Verdict, r.Unknown = VerdictDenied, nil
	case len(r.Unknown) > 0:
		r.Verdict = VerdictUndetermined
	default:
		r.Verdict = VerdictAdmitted
	}
	r.Admitted = r.Verdict == VerdictAdmitted
	return r
}

// run adds the checks to r and returns the unknown condition keys the trust
// policy's answer depends on.
func run(ctx context.Context, in Input, r *Report) []string {
	add := func(c Check) { r.Checks = append(r.Checks, c) }
	if strings.TrimSpace(in.Token) == "" {
		src := in.TokenSource
		if src == "" {
			src = "the step's environment"
		}
		add(Check{ID: "token", Status: Fail, Title: "the step has a web identity token", Expected: phrase("an OpenID Connect token"), Actual: phrase("no token in " + src),
			Fix: "add `oidc: true` to the step in bitbucket-pipelines.yml (Bitbucket sets BITBUCKET_STEP_OIDC_TOKEN only for such steps); on GitHub Actions grant `permissions: id-token: write`; on GitLab declare `id_tokens:`"})
		return nil
	}
	_, claims, err := oidc.ParseUnverified(in.Token)
	if err != nil {
		add(Check{ID: "token", Status: Fail, Title: "the token is a JWT", Expected: phrase("a compact JWS (three base64url parts)"), Actual: phrase("not a JWT"),
			Fix: "pass the step's OIDC token itself (e.g. $BITBUCKET_STEP_OIDC_TOKEN), not an access token or a file name"})
		return nil
	}
	add(Check{ID: "token", Status: Pass, Title: "the token is a JWT"})
	tok := readClaims(claims)
	ts, tsErr := sts.ReadTokenSession(func(name string) (any, bool) { v, ok := claims[name]; return v, ok })

	// Issuer registered as an IAM OIDC provider.
	issURL := strings.TrimPrefix(tok.iss, "https://")
	var provider *oidc.Provider
	for i := range in.Providers {
		if in.Providers[i].URL == issURL {
			provider = &in.Providers[i]
		}
	}
	if provider == nil || !strings.HasPrefix(tok.iss, "https://") {
		var registered []string
		near := ""
		for _, p := range in.Providers {
			registered = append(registered, p.URL)
			if strings.TrimSuffix(p.URL, "/") == strings.TrimSuffix(issURL, "/") {
				near = p.URL
			}
		}
		fix := fmt.Sprintf("register the issuer: aws iam create-open-id-connect-provider --url %s --client-id-list %s", tok.iss, firstOr(tok.aud, "<audience>"))
		if near != "" {
			fix = fmt.Sprintf("the provider is registered as %q but the token's issuer is %q: the trailing slash is significant; register the issuer exactly as the token writes it", near, issURL)
		}
		if !strings.HasPrefix(tok.iss, "https://") {
			fix = "AWS accepts only https issuers; the identity provider must publish an https issuer URL"
		}
		add(Check{ID: "issuer", Status: Fail, Title: "the issuer is registered as an IAM OIDC provider", Expected: oneOf(registered), Actual: str(tok.iss), Fix: fix})
		return nil
	}
	add(Check{ID: "issuer", Status: Pass, Title: "the issuer is registered as an IAM OIDC provider", Actual: phrase(provider.ARN)})

	// Audience.
	var matchedAud string
	for _, a := range tok.aud {
		if slices.Contains(provider.ClientIDs, a) {
			matchedAud = a
			break
		}
	}
	switch {
	case len(tok.aud) == 0:
		add(Check{ID: "audience", Status: Fail, Title: "the token's audience is a client ID of the provider", Expected: oneOf(provider.ClientIDs), Actual: phrase("no aud claim"),
			Fix: "the identity provider must put an aud claim in the token"})
	case matchedAud == "":
		add(Check{ID: "audience", Status: Fail, Title: "the token's audience is a client ID of the provider", Expected: oneOf(provider.ClientIDs), Actual: list(tok.aud),
			Fix: fmt.Sprintf("add the token's audience to the provider (aws iam add-client-id-to-open-id-connect-provider --open-id-connect-provider-arn %s --client-id %s), or request the audience %s in the pipeline", provider.ARN, tok.aud[0], firstOr(provider.ClientIDs, "<client id>"))})
	default:
		add(Check{ID: "audience", Status: Pass, Title: "the token's audience is a client ID of the provider", Actual: str(matchedAud)})
	}

	// Signature.
	if in.Signature == nil {
		add(Check{ID: "signature", Status: Skip, Title: "the signature verifies against the issuer's keys", Fix: "pass --verify to fetch the issuer's keys"})
	} else if err := in.Signature.CheckSignature(ctx, in.Token, *provider); err != nil {
		c := Check{ID: "signature", Status: Fail, Title: "the signature verifies against the issuer's keys", Actual: phrase(errMessage(err))}
		var oe *oidc.Error
		switch {
		case errors.As(err, &oe) && oe.Reason == oidc.ReasonThumbprint:
			c.Fix = "the JWKS host's certificate chains to no trusted CA and matches none of the provider's thumbprints: update them with aws iam update-open-id-connect-provider-thumbprint"
		case errors.As(err, &oe) && oe.Reason == oidc.ReasonKeyRetrieval:
			c.Fix = "STS could not fetch discovery and keys.json within 5 seconds, or no published key has the token's kid: check that the issuer is reachable over HTTPS and publishes the signing key"
		default:
			c.Fix = "the token was not signed by a key the issuer publishes (tampered, or from another issuer): use the token exactly as the CI system issued it"
		}
		add(c)
	} else {
		add(Check{ID: "signature", Status: Pass, Title: "the signature verifies against the issuer's keys"})
	}

	// Expiry.
	now := in.Now
	if now.IsZero() {
		now = time.Now()
	}
	exp := time.Unix(tok.exp, 0).UTC()
	// STS refuses a token once now minus the skew has reached exp (whole seconds).
	bound := time.Unix(now.Unix(), 0).UTC().Add(-Skew)
	switch {
	case tok.exp == 0:
		add(Check{ID: "expiry", Status: Fail, Title: "the token has not expired", Actual: phrase("no exp claim"), Fix: "the identity provider must set exp"})
	case !exp.After(bound):
		add(Check{ID: "expiry", Status: Fail, Title: "the token has not expired",
			Expected: phrase(fmt.Sprintf("exp after %s (now minus the %s of clock skew STS allows)", bound.Format(time.RFC3339), skewWords(Skew))),
			Actual:   phrase(fmt.Sprintf("expired at %s, %s ago", exp.Format(time.RFC3339), now.Sub(exp).Round(time.Second))),
			Fix:      "get a fresh token: step tokens live one hour, so exchange them when the step starts (keyless exec refreshes them for long jobs)"})
	default:
		add(Check{ID: "expiry", Status: Pass, Title: "the token has not expired", Actual: phrase("expires " + exp.Format(time.RFC3339))})
	}

	// Session tags and source identity, which STS reads once it has the role.
	if c, asked := sessionClaimsCheck(ts, tsErr); asked {
		add(c)
		if c.Status == Fail {
			return nil
		}
	}

	// Trust policy.
	return trustChecks(r, add, in, provider, tok, ts, matchedAud, now)
}

// sessionClaimsCheck reports on the token's session tags and source identity
// claims, when it has one (asked).
func sessionClaimsCheck(ts sts.TokenSession, err error) (c Check, asked bool) {
	const title = "the token's session tags and source identity claims are well formed"
	if err != nil {
		return Check{ID: "session", Status: Fail, Title: title, Actual: phrase(errMessage(err)),
			Fix: "the identity provider must issue " + sts.ClaimSessionTags + ` as {"principal_tags": {"Key": ["value"]}, "transitive_tag_keys": ["Key"]} (at most 50 tags) and ` +
				sts.ClaimSourceIdentity + " as a string of 2 to 64 characters of letters, digits and +=,.@_-; STS answers InvalidIdentityToken (400) otherwise"}, true
	}
	var what []string
	if n := len(ts.Tags); n > 0 {
		keys := make([]string, n)
		for i, t := range ts.Tags {
			keys[i] = t.Key
		}
		what = append(what, fmt.Sprintf("%d session tag%s (%s)", n, plural(n), strings.Join(keys, ", ")))
	}
	if ts.SourceIdentity != "" {
		what = append(what, "source identity "+strconv.Quote(ts.SourceIdentity))
	}
	if len(what) == 0 {
		return Check{}, false
	}
	return Check{ID: "session", Status: Pass, Title: title, Actual: phrase(strings.Join(what, " and "))}, true
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

// token holds the claims explain looks at.
type token struct {
	iss, sub, azp string
	aud, amr      []string
	exp           int64
}

func readClaims(c map[string]any) token {
	var t token
	t.iss, _ = c["iss"].(string)
	t.sub, _ = c["sub"].(string)
	t.azp, _ = c["azp"].(string)
	t.aud = stringList(c["aud"])
	t.amr = stringList(c["amr"])
	switch v := c["exp"].(type) {
	case float64:
		t.exp = int64(v)
	case json.Number:
		t.exp, _ = v.Int64()
	}
	return t
}

func stringList(v any) []string {
	switch x := v.(type) {
	case string:
		return []string{x}
	case []any:
		var out []string
		for _, e := range x {
			if s, ok := e.(string); ok {
				out = append(out, s)
			}
		}
		return out
	case []string:
		return x
	}
	return nil
}

// TrustContext is the condition context STS builds for AssumeRoleWithWebIdentity
// (the same authz functions build both).
func TrustContext(providerURL, providerARN, audience, sub, azp string, amr []string, sessionName, sourceIP string, now time.Time) policy.Context {
	c := policy.NewContext()
	ip, _ := netip.ParseAddr(sourceIP)
	authz.GlobalContext(c, nil, now, ip, true)
	authz.WebIdentity{
		ProviderURL: providerURL, ProviderARN: providerARN, Audience: audience,
		Subject: sub, HasSubject: sub != "", AZP: azp, AMR: amr, SessionName: sessionName,
	}.SetKeys(c)
	return c
}

// contextKeys are the request values of the trust context that explain may not know,
// with the flag that supplies each.
var contextKeys = []struct {
	key, flag, what string
	known           func(Input) bool
}{
	{"aws:SourceIp", "--source-ip ADDRESS", "the address the step calls STS from", func(in Input) bool { return in.SourceIP != "" }},
	{"sts:RoleSessionName", "--session-name NAME", "the RoleSessionName the step passes", func(in Input) bool { return in.SessionName != "" }},
}

// unknownKey returns the index in contextKeys of key when its value is unknown.
func unknownKey(in Input, key string) (int, bool) {
	for i, k := range contextKeys {
		if strings.EqualFold(k.key, key) && !k.known(in) {
			return i, true
		}
	}
	return 0, false
}

// outcome is whether a statement applies to the request: yes, no, or maybe (only
// conditions on unknown values stand between it and applying).
type outcome uint8

const (
	applies outcome = iota
	doesNotApply
	mayApply
)

func trustChecks(r *Report, add func(Check), in Input, p *oidc.Provider, tok token, ts sts.TokenSession, aud string, now time.Time) []string {
	const title = "the role's trust policy allows this token"
	doc, err := policy.Parse([]byte(in.TrustPolicy), policy.KindTrust, policy.WithMaxSize(1<<20))
	if err != nil {
		add(Check{ID: "trust", Status: Fail, Title: "the role's trust policy is valid", Actual: phrase(err.Error()), Fix: "fix the trust policy: keyless policy validate FILE"})
		return nil
	}
	if aud == "" && len(tok.aud) > 0 {
		aud = tok.aud[0]
	}
	ctx := TrustContext(p.URL, p.ARN, aud, tok.sub, tok.azp, tok.amr, in.SessionName, in.SourceIP, now)
	ts.SetKeys(ctx)
	res := policy.Evaluate(policy.Request{Principal: p.ARN, PrincipalType: "Federated", Action: "sts:AssumeRoleWithWebIdentity", Context: ctx}, policy.Input{Resource: doc})

	// Report the conditions of the statements that name this provider and action, and
	// find out whether values explain does not know could change the decision.
	relevant := 0
	var allowYes, allowMaybe, denyYes, denyMaybe bool
	unknownUsed := make([]bool, len(contextKeys))
	for i := range res.Explain.Statements {
		st := &res.Explain.Statements[i]
		if st.Principal != policy.MatchYes || st.Action != policy.MatchYes || st.Resource == policy.MatchNo {
			continue
		}
		relevant++
		name := fmt.Sprintf("statement #%d", st.Index)
		if st.Sid != "" {
			name = fmt.Sprintf("statement %q", st.Sid)
		}
		// A statement applies when every condition holds: it does not when a known
		// condition fails, and may when only conditions on unknown values stand in
		// the way.
		out := applies
		var unknownHere []int
		for _, c := range st.Conditions {
			if k, ok := unknownKey(in, c.Key); ok {
				unknownHere = append(unknownHere, k)
				if out == applies {
					out = mayApply
				}
			} else if !c.Matched {
				out = doesNotApply
			}
		}
		// An Allow's condition fails when it does not hold; a Deny's conditions fail
		// (they are why the token is refused) when the Deny surely applies.
		for _, c := range st.Conditions {
			chk := Check{ID: "condition", Status: Pass, Title: fmt.Sprintf("%s (%s): %s on %s", name, st.Effect, c.Operator, c.Key),
				Expected: list(c.PolicyValues), Actual: requestValues(c, in)}
			if k, ok := unknownKey(in, c.Key); ok {
				chk.Status = Skip
				chk.Fix = fmt.Sprintf("pass %s with %s", strings.Fields(contextKeys[k].flag)[0], contextKeys[k].what)
			} else if st.Effect == policy.Allow && !c.Matched || st.Effect == policy.Deny && out == applies {
				chk.Status = Fail
				chk.Fix = conditionFix(c, tok, p, in, st.Effect)
			}
			add(chk)
		}
		if out == mayApply {
			for _, k := range unknownHere {
				unknownUsed[k] = true
			}
		}
		switch {
		case st.Effect == policy.Deny && out == applies:
			denyYes = true
		case st.Effect == policy.Deny && out == mayApply:
			denyMaybe = true
		case out == applies:
			allowYes = true
		case out == mayApply:
			allowMaybe = true
		}
	}
	if relevant == 0 {
		add(Check{ID: "trust", Status: Fail, Title: "a trust statement names this provider and sts:AssumeRoleWithWebIdentity",
			Expected: phrase("Principal {\"Federated\": " + quote(p.ARN) + "} with Action sts:AssumeRoleWithWebIdentity"), Actual: phrase("no statement does"),
			Fix: "add a statement with that Principal and Action to the role's trust policy"})
		return nil
	}
	// Undetermined: no Deny surely applies, and either no Allow surely applies but one
	// may, or some Allow may apply while a Deny may too.
	if !denyYes && (allowMaybe && !allowYes || denyMaybe && (allowYes || allowMaybe)) {
		var keys, flags, whats []string
		for k, used := range unknownUsed {
			if used {
				keys = append(keys, contextKeys[k].key)
				flags = append(flags, contextKeys[k].flag)
				whats = append(whats, contextKeys[k].what)
			}
		}
		add(Check{ID: "trust", Status: Skip, Title: title,
			Actual: phrase("undetermined: the decision depends on " + strings.Join(keys, " and ") + ", which explain does not know"),
			Fix:    "pass " + strings.Join(flags, " and ") + " (" + strings.Join(whats, "; ") + ")"})
		return keys
	}
	c := Check{ID: "trust", Status: Pass, Title: title, Actual: phrase(res.Decision.String())}
	if res.Decision != policy.Allowed {
		c.Status = Fail
		c.Actual = phrase(res.Decision.String() + ": STS answers AccessDenied (403) Not authorized to perform sts:AssumeRoleWithWebIdentity")
		if !hasFailedCondition(r) {
			c.Fix = res.Explain.String()
		}
		add(c)
		return nil
	}
	add(c)
	// What the token asks beyond the role, each one more action of the same
	// trust policy, in STS's order.
	for _, action := range ts.TrustActions(nil)[1:] {
		add(extraTrustCheck(doc, p, ctx, action))
	}
	return nil
}

// extraTrustCheck evaluates the trust policy doc for action (sts:TagSession or
// sts:SetSourceIdentity), which a token carrying session tags or a source
// identity needs besides sts:AssumeRoleWithWebIdentity.
func extraTrustCheck(doc *policy.Policy, p *oidc.Provider, ctx policy.Context, action string) Check {
	why := "the token carries session tags"
	if action == "sts:SetSourceIdentity" {
		why = "the token carries a source identity"
	}
	c := Check{ID: "trust", Status: Pass, Title: fmt.Sprintf("the role's trust policy allows %s (%s)", action, why)}
	res := policy.Evaluate(policy.Request{Principal: p.ARN, PrincipalType: "Federated", Action: action, Context: ctx}, policy.Input{Resource: doc})
	c.Actual = phrase(res.Decision.String())
	if res.Decision == policy.Allowed {
		return c
	}
	c.Status = Fail
	c.Actual = phrase(res.Decision.String() + ": STS answers AccessDenied (403) Not authorized to perform sts:AssumeRoleWithWebIdentity")
	c.Fix = fmt.Sprintf(`add %q to the Action of the trust statement that admits this provider ("Action": ["sts:AssumeRoleWithWebIdentity", %q]), or have the identity provider leave the claim out`, action, action)
	if res.Decision == policy.ExplicitlyDenied {
		c.Fix = res.Explain.String()
	}
	return c
}

func hasFailedCondition(r *Report) bool {
	for _, c := range r.Checks {
		if c.ID == "condition" && c.Status == Fail {
			return true
		}
	}
	return false
}

func requestValues(c policy.ConditionTrace, in Input) Value {
	if k, ok := unknownKey(in, c.Key); ok {
		return phrase("unknown (no " + strings.Fields(contextKeys[k].flag)[0] + ")")
	}
	if !c.KeyPresent {
		return phrase("absent")
	}
	if len(c.RequestValues) == 1 {
		return str(c.RequestValues[0])
	}
	return list(c.RequestValues)
}

var bracedUUIDs = regexp.MustCompile(`\{[^{}]*\}`)

// conditionFix turns a failed condition into advice a person can act on.
func conditionFix(c policy.ConditionTrace, tok token, p *oidc.Provider, in Input, effect policy.Effect) string {
	key := strings.ToLower(c.Key)
	if effect == policy.Deny {
		return fmt.Sprintf("a Deny statement's %s on %s matched this request; the role refuses it on purpose", c.Operator, c.Key)
	}
	switch {
	case key == strings.ToLower(p.URL+":sub"):
		return subFix(c.PolicyValues, tok.sub)
	case key == strings.ToLower(p.URL+":aud"):
		return fmt.Sprintf("the policy wants aud %s; this token's audience is %s: align the condition with the provider's client ID or request that audience in the pipeline", quoteList(c.PolicyValues), quoteList(tok.aud))
	case key == "aws:sourceip":
		return fmt.Sprintf("the step calls STS from %s, outside the allowed list: run the step from an allowed address (on Bitbucket, `atlassian-ip-ranges: true` on 4x/8x steps) or add %s/32 to the list", in.SourceIP, in.SourceIP)
	}
	return fmt.Sprintf("%s on %s wants %s; the request has %s", c.Operator, c.Key, quoteList(c.PolicyValues), requestValues(c, in))
}

// subFix compares Bitbucket-shaped sub patterns ({repo}:* or {repo}:{env}:*) with the
// token's sub and names the part that differs.
func subFix(patterns []string, sub string) string {
	parts := bracedUUIDs.FindAllString(sub, -1)
	if len(parts) < 2 || len(patterns) == 0 {
		return fmt.Sprintf("the policy admits sub like %s; this token's sub is %q", quoteList(patterns), sub)
	}
	repo := parts[0]
	var env string
	if len(parts) == 3 {
		env = parts[1]
	}
	pat := patterns[0]
	pparts := bracedUUIDs.FindAllString(pat, -1)
	if len(pparts) == 0 {
		return fmt.Sprintf("the policy admits sub like %q; this token's sub is %q", pat, sub)
	}
	if pparts[0] != repo {
		want := repo + ":*"
		if len(pparts) >= 2 { // the policy pins a deployment environment: keep doing so
			want = repo + ":" + env + ":*"
			if env == "" {
				want = repo + ":{<deployment environment uuid>}:*"
			}
		}
		return fmt.Sprintf("the policy admits sub like `%s`; this token's repository is `%s`: add `%s` or run from repository %s", pat, repo, want, pparts[0])
	}
	if len(pparts) >= 2 && strings.HasSuffix(pat, ":*") && len(pparts) == 2 && strings.Count(pat, ":") == 2 {
		if env == "" {
			return fmt.Sprintf("the policy admits sub like `%s` (deployment environment %s only); this token is from a step without a deployment environment: add `deployment: <environment>` to the step, or admit `%s:*`", pat, pparts[1], repo)
		}
		return fmt.Sprintf("the policy admits sub like `%s`; this token's deployment environment is `%s`: deploy to environment %s, or add `%s:%s:*`", pat, env, pparts[1], repo, env)
	}
	return fmt.Sprintf("the policy admits sub like %s; this token's sub is %q", quoteList(patterns), sub)
}

// WriteText renders the report for people. A field spanning several lines keeps
// every line aligned under its first.
func (r Report) WriteText(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "Would this token assume %s?\n", r.RoleARN)
	for _, c := range r.Checks {
		c.WriteText(&b, "") // writes to a strings.Builder cannot fail
	}
	switch {
	case r.Verdict == VerdictUndetermined:
		var flags []string
		for _, k := range r.Unknown {
			for _, ck := range contextKeys {
				if strings.EqualFold(ck.key, k) {
					flags = append(flags, ck.flag)
				}
			}
		}
		fmt.Fprintf(&b, "Result: UNDETERMINED — STS's answer depends on %s, which explain does not know: pass %s to decide.\n",
			strings.Join(r.Unknown, " and "), strings.Join(flags, " and "))
	case r.Admitted:
		b.WriteString("Result: ADMITTED — STS would return credentials for this token.\n")
	default:
		b.WriteString("Result: DENIED — STS would refuse this token.\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func errMessage(err error) string {
	var oe *oidc.Error
	if errors.As(err, &oe) {
		return oe.Code + ": " + oe.Message
	}
	return err.Error()
}

func firstOr(l []string, def string) string {
	if len(l) > 0 {
		return l[0]
	}
	return def
}

func quote(s string) string { return strconv.Quote(s) }

func quoteList(l []string) string {
	q := make([]string, len(l))
	for i, s := range l {
		q[i] = strconv.Quote(s)
	}
	return "[" + strings.Join(q, ", ") + "]"
}

// OIDCChecker checks signatures the way STS does: discovery and JWKS fetched over
// HTTPS from the issuer, trusted through RootCAs or the provider's thumbprints.
type OIDCChecker struct {
	RootCAs *x509.CertPool
	// Aliases map issuer URLs to the local issuer URL their keys are fetched from
	// instead (oidc.Config.Aliases): the issuers `keyless up` serves under production
	// URLs, from KEYLESS_ISSUER_ALIASES.
	Aliases map[string]string
}

// CheckSignature verifies raw's signature with the keys its issuer publishes. Audience
// and expiry are neutralised (they are separate checks): the token is verified as of its
// issue time, against its own audiences.
func (c OIDCChecker) CheckSignature(ctx context.Context, raw string, p oidc.Provider) error {
	_, claims, err := oidc.ParseUnverified(raw)
	if err != nil {
		return err
	}
	t := readClaims(claims)
	at := time.Unix(t.exp, 0).Add(-time.Second)
	if iat, ok := unixClaim(claims["iat"]); ok {
		at = iat
	}
	v, err := oidc.NewVerifier(oidc.Config{RootCAs: c.RootCAs, Aliases: c.Aliases, Now: func() time.Time { return at }})
	if err != nil {
		return err
	}
	p.ClientIDs = t.aud
	_, err = v.Verify(ctx, raw, func(context.Context, string) (oidc.Provider, bool, error) { return p, true, nil })
	return err
}
