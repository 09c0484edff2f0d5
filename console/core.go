package console

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/keyless-dev/keyless/arn"
	"github.com/keyless-dev/keyless/audit"
	"github.com/keyless-dev/keyless/explain"
	"github.com/keyless-dev/keyless/issuer"
	"github.com/keyless-dev/keyless/oidc"
	"github.com/keyless-dev/keyless/policy"
	"github.com/keyless-dev/keyless/rotate"
	"github.com/keyless-dev/keyless/store"
)

// Core reads what the console's views show. It holds no request state.
type Core struct {
	st        store.Store
	account   string
	keys      KeySource
	signature explain.SignatureChecker
	now       func() time.Time
	log       *slog.Logger
}

// NewCore returns the core of a console configured by cfg.
func NewCore(cfg Config) *Core {
	now := cfg.Now
	if now == nil {
		now = time.Now
	}
	return &Core{st: cfg.Store, account: cfg.Account, keys: cfg.Keys, signature: cfg.Signature, now: now, log: cfg.Logger}
}

// FailingJSON is the condition that decided a denial.
type FailingJSON struct {
	Statement string   `json:"statement"`
	Condition string   `json:"condition"`
	Key       string   `json:"key"`
	Expected  []string `json:"expected"`
	Actual    []string `json:"actual"`
}

// CheckJSON is one line of a decision's PASS/FAIL table.
type CheckJSON struct {
	Name   string `json:"name"`
	Status string `json:"status"`
	Detail string `json:"detail"`
}

// DecisionJSON is one decision opened: the event, the token's recorded claims,
// the role's trust policy and, for a denial, why and the fix.
type DecisionJSON struct {
	Event       EventJSON      `json:"event"`
	Claims      map[string]any `json:"claims"`
	TrustPolicy string         `json:"trustPolicy"`
	Failing     *FailingJSON   `json:"failing"`
	Checks      []CheckJSON    `json:"checks"`
	Fix         string         `json:"fix"`
}

// Decision opens the audit event id.
func (c *Core) Decision(ctx context.Context, id string) (DecisionJSON, error) {
	e, err := c.find(ctx, id)
	if err != nil {
		return DecisionJSON{}, err
	}
	ps, err := c.providers(ctx)
	if err != nil {
		return DecisionJSON{}, err
	}
	s, err := audit.Decode(e)
	if err != nil {
		c.log.Warn("console: decision detail does not parse", "id", id, "err", err)
	}
	out := DecisionJSON{Event: ps.event(e), Claims: map[string]any{}, Checks: []CheckJSON{}}
	if len(s.Claims) > 0 {
		if err := json.Unmarshal(s.Claims, &out.Claims); err != nil {
			c.log.Warn("console: decision claims do not parse", "id", id, "err", err)
		}
	}
	if s.Role != "" {
		if r, err := c.role(ctx, s.Role); err == nil {
			out.TrustPolicy = pretty(r.AssumeRolePolicyDocument)
		} else if !errors.Is(err, ErrNotFound) {
			return DecisionJSON{}, err
		}
	}
	switch {
	case s.Decision == audit.Denied && s.Failed != nil:
		ck := explain.FailedCondition(s.Statement, s.Failed.Effect, s.Failed.ConditionTrace)
		out.Failing = &FailingJSON{
			Statement: s.Statement, Condition: s.Condition, Key: s.Failed.Key,
			Expected: nonNil(s.Failed.PolicyValues), Actual: nonNil(s.Failed.RequestValues),
		}
		out.Checks = append(out.Checks, CheckJSON{Name: ck.Title, Status: string(ck.Status), Detail: checkDetail(ck)})
		out.Fix = ck.Fix
	case s.Decision == audit.Allowed:
		out.Checks = append(out.Checks, CheckJSON{Name: "decision", Status: string(explain.Pass), Detail: s.Action + " allowed"})
	default:
		detail := s.Reason
		if s.ErrorCode != "" {
			detail = s.ErrorCode + ": " + detail
		}
		out.Checks = append(out.Checks, CheckJSON{Name: "decision", Status: string(explain.Fail), Detail: detail})
	}
	return out, nil
}

func nonNil(l []string) []string {
	if l == nil {
		return []string{}
	}
	return l
}

// checkDetail is a check's expected and actual values as explain's text prints them.
func checkDetail(ck explain.Check) string {
	var parts []string
	if !ck.Expected.IsZero() {
		parts = append(parts, "expected "+ck.Expected.String())
	}
	if !ck.Actual.IsZero() {
		parts = append(parts, "actual "+ck.Actual.String())
	}
	return strings.Join(parts, "; ")
}

// pretty indents a JSON document (as it is when it does not parse).
func pretty(doc string) string {
	var b bytes.Buffer
	if err := json.Indent(&b, []byte(doc), "", "  "); err != nil {
		return doc
	}
	return b.String()
}

// role reads the account's role roleARN names.
func (c *Core) role(ctx context.Context, roleARN string) (store.Role, error) {
	a, err := arn.Parse(roleARN)
	if err != nil || a.Account() != c.account || !strings.HasPrefix(a.Resource(), "role/") {
		return store.Role{}, fmt.Errorf("%w: %q is not the ARN of a role of account %s", ErrNotFound, roleARN, c.account)
	}
	r, err := c.st.GetRole(ctx, a.Name())
	if errors.Is(err, store.ErrNotFound) || (err == nil && r.ARN != roleARN) {
		return store.Role{}, fmt.Errorf("%w: no role %s in account %s", ErrNotFound, roleARN, c.account)
	}
	if err != nil {
		return store.Role{}, fmt.Errorf("console: read role: %w", err)
	}
	return r, nil
}

// AdmitJSON is one repository (and environment) a trust policy admits.
type AdmitJSON struct {
	Repository  string `json:"repository"`
	Environment string `json:"environment"`
	Branch      string `json:"branch"`
	Subject     string `json:"subject"`
}

// FindingJSON is one lint finding on a trust policy.
type FindingJSON struct {
	Severity string `json:"severity"`
	Rule     string `json:"rule"`
	Message  string `json:"message"`
}

// RoleJSON is one role of the trust map.
type RoleJSON struct {
	ARN           string        `json:"arn"`
	Name          string        `json:"name"`
	Admits        []AdmitJSON   `json:"admits"`
	AnyRepository bool          `json:"anyRepository"`
	Findings      []FindingJSON `json:"findings"`
}

// ProviderJSON is one provider of the trust map, with the roles it may assume.
type ProviderJSON struct {
	ARN       string     `json:"arn"`
	URL       string     `json:"url"`
	Audiences []string   `json:"audiences"`
	Roles     []RoleJSON `json:"roles"`
}

// TrustMapJSON is the trust map.
type TrustMapJSON struct {
	Providers []ProviderJSON `json:"providers"`
}

// probe is a token's subject the trust map tries against a trust policy.
type probe struct {
	repository, environment, subject string
}

// TrustMap computes, for each provider, the roles whose trust policy names it
// and what each admits: the policy engine evaluates the trust policy against
// the token each known repository (and environment) would present, and against
// tokens of unrelated random repositories (anyRepository).
func (c *Core) TrustMap(ctx context.Context) (TrustMapJSON, error) {
	provs, err := c.st.ListOIDCProviders(ctx)
	if err != nil {
		return TrustMapJSON{}, fmt.Errorf("console: trust map: list providers: %w", err)
	}
	roles, err := c.st.ListRoles(ctx)
	if err != nil {
		return TrustMapJSON{}, fmt.Errorf("console: trust map: list roles: %w", err)
	}
	known, err := c.knownProbes(ctx)
	if err != nil {
		return TrustMapJSON{}, err
	}
	unrelated := unrelatedProbes()
	now := c.now()
	out := TrustMapJSON{Providers: []ProviderJSON{}}
	for _, p := range provs {
		pj := ProviderJSON{ARN: p.ARN, URL: "https://" + strings.TrimPrefix(p.URL, "https://"), Audiences: nonNil(p.ClientIDs), Roles: []RoleJSON{}}
		aud := ""
		if len(p.ClientIDs) > 0 {
			aud = p.ClientIDs[0]
		}
		for _, r := range roles {
			trust, err := policy.Parse([]byte(r.AssumeRolePolicyDocument), policy.KindTrust)
			if err != nil || !namesProvider(trust, p.ARN) {
				continue
			}
			admits := func(pr probe) bool {
				ctxKeys := explain.TrustContext(strings.TrimPrefix(p.URL, "https://"), p.ARN, aud, pr.subject, "", nil, "keyless-console", "", now)
				res := policy.Evaluate(policy.Request{Principal: p.ARN, PrincipalType: "Federated", Action: "sts:AssumeRoleWithWebIdentity", Context: ctxKeys},
					policy.Input{Resource: trust})
				return res.Decision == policy.Allowed
			}
			rj := RoleJSON{ARN: r.ARN, Name: r.Name, Admits: []AdmitJSON{}, Findings: []FindingJSON{}}
			for _, pr := range known {
				if admits(pr) {
					rj.Admits = append(rj.Admits, AdmitJSON{Repository: pr.repository, Environment: pr.environment, Subject: pr.subject})
				}
			}
			rj.AnyRepository = slices.ContainsFunc(unrelated, admits)
			for _, f := range policy.Lint(trust) {
				rj.Findings = append(rj.Findings, FindingJSON{Severity: string(f.Severity), Rule: f.RuleID, Message: f.Message})
			}
			pj.Roles = append(pj.Roles, rj)
		}
		out.Providers = append(out.Providers, pj)
	}
	return out, nil
}

// namesProvider reports whether a statement of the trust policy names the
// provider (or any federated principal) as its principal.
func namesProvider(p *policy.Policy, providerARN string) bool {
	for _, s := range p.Statements {
		if s.Principal == nil || s.NotPrincipal {
			continue
		}
		if s.Principal.Wildcard || slices.Contains(s.Principal.Federated, providerARN) || slices.Contains(s.Principal.Federated, "*") {
			return true
		}
	}
	return false
}

// knownProbes are the subjects the directory's repositories and environments
// present in Bitbucket tokens (their step UUID random).
func (c *Core) knownProbes(ctx context.Context) ([]probe, error) {
	wss, err := c.st.ListWorkspaces(ctx)
	if err != nil {
		return nil, fmt.Errorf("console: trust map: list workspaces: %w", err)
	}
	var out []probe
	for _, ws := range wss {
		repos, err := c.st.ListRepositories(ctx, ws.Slug)
		if err != nil {
			return nil, fmt.Errorf("console: trust map: list repositories: %w", err)
		}
		for _, r := range repos {
			step := "{" + uuid.NewString() + "}"
			out = append(out, probe{repository: ws.Slug + "/" + r.Slug, subject: "{" + r.UUID + "}:" + step})
			envs, err := c.st.ListEnvironments(ctx, ws.Slug, r.Slug)
			if err != nil {
				return nil, fmt.Errorf("console: trust map: list environments: %w", err)
			}
			for _, e := range envs {
				out = append(out, probe{repository: ws.Slug + "/" + r.Slug, environment: e.Name, subject: "{" + r.UUID + "}:{" + e.UUID + "}:" + step})
			}
		}
	}
	return out, nil
}

// unrelatedProbes are subjects of repositories nobody registered: Bitbucket's
// (with and without an environment), GitHub's and GitLab's.
func unrelatedProbes() []probe {
	repo, env, step := "{"+uuid.NewString()+"}", "{"+uuid.NewString()+"}", "{"+uuid.NewString()+"}"
	name := "keyless-console-probe/unrelated-" + uuid.NewString()[:8]
	return []probe{
		{subject: repo + ":" + step},
		{subject: repo + ":" + env + ":" + step},
		{subject: "repo:" + name + ":ref:refs/heads/main"},
		{subject: "project_path:" + name + ":ref_type:branch:ref:main"},
	}
}

// SigningKeyJSON is one signing key on the time axis.
type SigningKeyJSON struct {
	KID         string     `json:"kid"`
	Alg         string     `json:"alg"`
	State       string     `json:"state"`
	CreatedAt   time.Time  `json:"createdAt"`
	ActivatesAt *time.Time `json:"activatesAt"`
	RetiredAt   *time.Time `json:"retiredAt"`
	NotAfter    *time.Time `json:"notAfter"`
}

// NextJSON is the key schedule's next event.
type NextJSON struct {
	Event string    `json:"event"`
	At    time.Time `json:"at"`
}

// StaticKeyJSON is one IAM user access key with its rotation status.
type StaticKeyJSON struct {
	User        string     `json:"user"`
	AccessKeyID string     `json:"accessKeyId"`
	Status      string     `json:"status"`
	CreatedAt   time.Time  `json:"createdAt"`
	LastUsedAt  *time.Time `json:"lastUsedAt"`
	Age         string     `json:"age"`
	Rotation    string     `json:"rotation"`
}

// KeysJSON is the keys view.
type KeysJSON struct {
	Signing []SigningKeyJSON `json:"signing"`
	Next    *NextJSON        `json:"next"`
	Static  []StaticKeyJSON  `json:"static"`
}

// Keys is the keys view: the issuer's signing keys with the schedule's next
// event, and the IAM users' access keys with their rotation status at the
// rotation's default ages.
func (c *Core) Keys(ctx context.Context) (KeysJSON, error) {
	out := KeysJSON{Signing: []SigningKeyJSON{}, Static: []StaticKeyJSON{}}
	now := c.now().UTC()
	if c.keys != nil {
		list, err := c.keys.List(ctx)
		if err != nil {
			return KeysJSON{}, fmt.Errorf("console: keys: %w", err)
		}
		for _, k := range list {
			sk := SigningKeyJSON{KID: k.ID, Alg: k.Algorithm, State: string(k.State), CreatedAt: k.CreatedAt,
				ActivatesAt: k.ActivatedAt, RetiredAt: k.RetiredAt, NotAfter: k.NotAfter}
			if k.State == store.KeyRetired && k.NotAfter != nil && !k.NotAfter.After(now) {
				sk.State = "unpublished"
			}
			out.Signing = append(out.Signing, sk)
		}
		out.Next = nextEvent(list, c.keys.Config(), now)
	}
	users, err := c.st.ListUsers(ctx)
	if err != nil {
		return KeysJSON{}, fmt.Errorf("console: keys: list users: %w", err)
	}
	ages := rotate.DefaultAges()
	for _, u := range users {
		keys, err := c.st.ListAccessKeys(ctx, u.Name)
		if err != nil {
			return KeysJSON{}, fmt.Errorf("console: keys: list access keys of %s: %w", u.Name, err)
		}
		for _, k := range keys {
			age := now.Sub(k.CreatedAt)
			sk := StaticKeyJSON{User: u.Name, AccessKeyID: k.ID, Status: k.Status, CreatedAt: k.CreatedAt,
				Age: fmt.Sprintf("%dd", int(age.Hours()/24)), Rotation: rotation(k.Status, age, ages)}
			if !k.LastUsedAt.IsZero() {
				t := k.LastUsedAt
				sk.LastUsedAt = &t
			}
			out.Static = append(out.Static, sk)
		}
	}
	return out, nil
}

// rotation is a static key's rotation status at the rotation's ages.
func rotation(status string, age time.Duration, a rotate.Ages) string {
	days := func(d time.Duration) int { return int((d + 24*time.Hour - 1) / (24 * time.Hour)) }
	switch {
	case status != "Active" && age >= a.Delete:
		return "inactive: due for deletion"
	case status != "Active":
		return fmt.Sprintf("inactive: deletion in %d days", days(a.Delete-age))
	case age >= a.Deactivate:
		return "overdue: deactivate once unused"
	case age >= a.Rotate:
		return "due: rotate now"
	}
	return fmt.Sprintf("ok: rotation in %d days", days(a.Rotate-age))
}

// nextEvent is the key schedule's next step (as issuer.KeySet's schedule takes
// it): a prepared key's activation, the preparation of the active key's
// successor, or a retired key's unpublication, whichever comes first.
func nextEvent(keys []issuer.KeyInfo, cfg issuer.KeyConfig, now time.Time) *NextJSON {
	var next *NextJSON
	consider := func(event string, at time.Time) {
		if next == nil || at.Before(next.At) {
			next = &NextJSON{Event: event, At: at.UTC()}
		}
	}
	var active *issuer.KeyInfo
	prepared := false
	for i, k := range keys {
		switch k.State {
		case store.KeyActive:
			if k.ActivatedAt != nil && (active == nil || k.ActivatedAt.After(*active.ActivatedAt)) {
				active = &keys[i]
			}
		case store.KeyRetired:
			if k.NotAfter != nil && k.NotAfter.After(now) {
				consider("unpublish "+k.ID, *k.NotAfter)
			}
		}
	}
	if cfg.RotationPeriod > 0 && active != nil {
		for _, k := range keys {
			if k.State == store.KeyPrepared {
				prepared = true
				at := active.ActivatedAt.Add(cfg.RotationPeriod)
				if lead := k.CreatedAt.Add(cfg.LeadTime); lead.After(at) {
					at = lead
				}
				consider("activate "+k.ID, at)
				break
			}
		}
		if !prepared {
			consider("prepare the successor of "+active.ID, active.ActivatedAt.Add(cfg.RotationPeriod-cfg.LeadTime))
		}
	}
	return next
}

// Explain runs `keyless explain` for a token and a role of the account: the
// same report `keyless explain --output json` prints. The token is not kept.
func (c *Core) Explain(ctx context.Context, token, roleARN string) (explain.Report, error) {
	r, err := c.role(ctx, roleARN)
	if err != nil {
		return explain.Report{}, err
	}
	list, err := c.st.ListOIDCProviders(ctx)
	if err != nil {
		return explain.Report{}, fmt.Errorf("console: explain: list providers: %w", err)
	}
	provs := make([]oidc.Provider, 0, len(list))
	for _, p := range list {
		provs = append(provs, oidc.Provider{ARN: p.ARN, URL: strings.TrimPrefix(p.URL, "https://"), ClientIDs: p.ClientIDs, Thumbprints: p.Thumbprints})
	}
	return explain.Run(ctx, explain.Input{
		Token: strings.TrimSpace(token), TokenSource: "the pasted token", RoleARN: roleARN, TrustPolicy: r.AssumeRolePolicyDocument,
		Providers: provs, Now: c.now(), Signature: c.signature,
	}), nil
}
