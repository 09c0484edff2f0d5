// Package explain answers "would this web identity token assume this role, and if
// not, why?": it replays what STS checks — token present and well formed, issuer
// registered, audience among the provider's client IDs, signature, expiry, every
// condition of the trust policy — and reports each check as PASS or FAIL with what
// was expected, what the token has, and a concrete fix.
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
	Expected string `json:"expected,omitempty"`
	Actual   string `json:"actual,omitempty"`
	Fix      string `json:"fix,omitempty"`
}

// Report is the outcome of Run.
type Report struct {
	RoleARN  string  `json:"roleArn"`
	Admitted bool    `json:"admitted"`
	Checks   []Check `json:"checks"`
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

// Run performs every check it can and reports them in STS's order.
func Run(ctx context.Context, in Input) Report {
	r := Report{RoleARN: in.RoleARN, Admitted: true}
	add := func(c Check) {
		if c.Status == Fail {
			r.Admitted = false
		}
		r.Checks = append(r.Checks, c)
	}
	if strings.TrimSpace(in.Token) == "" {
		src := in.TokenSource
		if src == "" {
			src = "the step's environment"
		}
		add(Check{ID: "token", Status: Fail, Title: "the step has a web identity token", Expected: "an OpenID Connect token", Actual: "no token in " + src,
			Fix: "add `oidc: true` to the step in bitbucket-pipelines.yml (Bitbucket sets BITBUCKET_STEP_OIDC_TOKEN only for such steps); on GitHub Actions grant `permissions: id-token: write`; on GitLab declare `id_tokens:`"})
		return r
	}
	_, claims, err := oidc.ParseUnverified(in.Token)
	if err != nil {
		add(Check{ID: "token", Status: Fail, Title: "the token is a JWT", Expected: "a compact JWS (three base64url parts)", Actual: "not a JWT",
			Fix: "pass the step's OIDC token itself (e.g. $BITBUCKET_STEP_OIDC_TOKEN), not an access token or a file name"})
		return r
	}
	add(Check{ID: "token", Status: Pass, Title: "the token is a JWT"})
	tok := readClaims(claims)

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
		add(Check{ID: "issuer", Status: Fail, Title: "the issuer is registered as an IAM OIDC provider", Expected: "one of " + quoteList(registered), Actual: quote(tok.iss), Fix: fix})
		return r
	}
	add(Check{ID: "issuer", Status: Pass, Title: "the issuer is registered as an IAM OIDC provider", Actual: provider.ARN})

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
		add(Check{ID: "audience", Status: Fail, Title: "the token's audience is a client ID of the provider", Expected: "one of " + quoteList(provider.ClientIDs), Actual: "no aud claim",
			Fix: "the identity provider must put an aud claim in the token"})
	case matchedAud == "":
		add(Check{ID: "audience", Status: Fail, Title: "the token's audience is a client ID of the provider", Expected: "one of " + quoteList(provider.ClientIDs), Actual: quoteList(tok.aud),
			Fix: fmt.Sprintf("add the token's audience to the provider (aws iam add-client-id-to-open-id-connect-provider --open-id-connect-provider-arn %s --client-id %s), or request the audience %s in the pipeline", provider.ARN, tok.aud[0], firstOr(provider.ClientIDs, "<client id>"))})
	default:
		add(Check{ID: "audience", Status: Pass, Title: "the token's audience is a client ID of the provider", Actual: quote(matchedAud)})
	}

	// Signature.
	if in.Signature == nil {
		add(Check{ID: "signature", Status: Skip, Title: "the signature verifies against the issuer's keys", Fix: "pass --verify to fetch the issuer's keys"})
	} else if err := in.Signature.CheckSignature(ctx, in.Token, *provider); err != nil {
		c := Check{ID: "signature", Status: Fail, Title: "the signature verifies against the issuer's keys", Actual: errMessage(err)}
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
	switch {
	case tok.exp == 0:
		add(Check{ID: "expiry", Status: Fail, Title: "the token has not expired", Actual: "no exp claim", Fix: "the identity provider must set exp"})
	case now.After(exp.Add(Skew)):
		add(Check{ID: "expiry", Status: Fail, Title: "the token has not expired", Expected: "exp after " + now.UTC().Format(time.RFC3339) + " (5 minutes of skew allowed)",
			Actual: fmt.Sprintf("expired at %s, %s ago", exp.Format(time.RFC3339), now.Sub(exp).Round(time.Second)),
			Fix:    "get a fresh token: step tokens live one hour, so exchange them when the step starts (keyless exec refreshes them for long jobs)"})
	default:
		add(Check{ID: "expiry", Status: Pass, Title: "the token has not expired", Actual: "expires " + exp.Format(time.RFC3339)})
	}

	// Trust policy.
	trustChecks(&r, add, in, provider, tok, matchedAud, now)
	return r
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

func trustChecks(r *Report, add func(Check), in Input, p *oidc.Provider, tok token, aud string, now time.Time) {
	const title = "the role's trust policy allows this token"
	doc, err := policy.Parse([]byte(in.TrustPolicy), policy.KindTrust, policy.WithMaxSize(1<<20))
	if err != nil {
		add(Check{ID: "trust", Status: Fail, Title: "the role's trust policy is valid", Actual: err.Error(), Fix: "fix the trust policy: keyless policy validate FILE"})
		return
	}
	if aud == "" && len(tok.aud) > 0 {
		aud = tok.aud[0]
	}
	ctx := TrustContext(p.URL, p.ARN, aud, tok.sub, tok.azp, tok.amr, in.SessionName, in.SourceIP, now)
	res := policy.Evaluate(policy.Request{Principal: p.ARN, PrincipalType: "Federated", Action: "sts:AssumeRoleWithWebIdentity", Context: ctx}, policy.Input{Resource: doc})

	// Report the conditions of the statements that name this provider and action.
	relevant := 0
	for i := range res.Explain.Statements {
		st := &res.Explain.Statements[i]
		if st.Principal != policy.MatchYes || st.Action != policy.MatchYes {
			continue
		}
		relevant++
		name := fmt.Sprintf("statement #%d", st.Index)
		if st.Sid != "" {
			name = fmt.Sprintf("statement %q", st.Sid)
		}
		for _, c := range st.Conditions {
			chk := Check{ID: "condition", Status: Pass, Title: fmt.Sprintf("%s (%s): %s on %s", name, st.Effect, c.Operator, c.Key),
				Expected: quoteList(c.PolicyValues), Actual: requestValues(c, in.SourceIP)}
			wantMatch := st.Effect == policy.Allow
			if c.Matched != wantMatch {
				chk.Status = Fail
				chk.Fix = conditionFix(c, tok, p, in.SourceIP, st.Effect)
			}
			if c.Key == "aws:SourceIp" && in.SourceIP == "" {
				chk.Status = Skip
				chk.Fix = "pass --source-ip with the address the step calls STS from"
			}
			add(chk)
		}
	}
	if relevant == 0 {
		add(Check{ID: "trust", Status: Fail, Title: "a trust statement names this provider and sts:AssumeRoleWithWebIdentity",
			Expected: "Principal {\"Federated\": " + quote(p.ARN) + "} with Action sts:AssumeRoleWithWebIdentity", Actual: "no statement does",
			Fix: "add a statement with that Principal and Action to the role's trust policy"})
		return
	}
	c := Check{ID: "trust", Status: Pass, Title: title, Actual: res.Decision.String()}
	if res.Decision != policy.Allowed {
		c.Status = Fail
		c.Actual = res.Decision.String() + ": STS answers AccessDenied (403) Not authorized to perform sts:AssumeRoleWithWebIdentity"
		if !hasFailedCondition(r) {
			c.Fix = res.Explain.String()
		}
	}
	add(c)
}

func hasFailedCondition(r *Report) bool {
	for _, c := range r.Checks {
		if c.ID == "condition" && c.Status == Fail {
			return true
		}
	}
	return false
}

func requestValues(c policy.ConditionTrace, sourceIP string) string {
	if !c.KeyPresent {
		if c.Key == "aws:SourceIp" && sourceIP == "" {
			return "unknown (no --source-ip)"
		}
		return "absent"
	}
	if len(c.RequestValues) == 1 {
		return quote(c.RequestValues[0])
	}
	return quoteList(c.RequestValues)
}

var bracedUUIDs = regexp.MustCompile(`\{[^{}]*\}`)

// conditionFix turns a failed condition into advice a person can act on.
func conditionFix(c policy.ConditionTrace, tok token, p *oidc.Provider, sourceIP string, effect policy.Effect) string {
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
		return fmt.Sprintf("the step calls STS from %s, outside the allowed list: run the step from an allowed address (on Bitbucket, `atlassian-ip-ranges: true` on 4x/8x steps) or add %s/32 to the list", sourceIP, sourceIP)
	}
	return fmt.Sprintf("%s on %s wants %s; the request has %s", c.Operator, c.Key, quoteList(c.PolicyValues), requestValues(c, sourceIP))
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

// WriteText renders the report for people.
func (r Report) WriteText(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "Would this token assume %s?\n", r.RoleARN)
	for _, c := range r.Checks {
		fmt.Fprintf(&b, "  %s  %s\n", c.Status, c.Title)
		if c.Status != Pass && c.Expected != "" {
			fmt.Fprintf(&b, "        expected: %s\n", c.Expected)
		}
		if c.Actual != "" && (c.Status != Pass || c.ID == "issuer") {
			fmt.Fprintf(&b, "        actual:   %s\n", c.Actual)
		}
		if c.Status != Pass && c.Fix != "" {
			fmt.Fprintf(&b, "        fix:      %s\n", c.Fix)
		}
	}
	if r.Admitted {
		b.WriteString("Result: ADMITTED — STS would return credentials for this token.\n")
	} else {
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
	v, err := oidc.NewVerifier(oidc.Config{RootCAs: c.RootCAs, Now: func() time.Time { return at }})
	if err != nil {
		return err
	}
	p.ClientIDs = t.aud
	_, err = v.Verify(ctx, raw, func(context.Context, string) (oidc.Provider, bool, error) { return p, true, nil })
	return err
}
