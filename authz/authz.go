// Package authz decides whether a caller may perform an action on a resource, by
// gathering the caller's policies from the store and evaluating them with the one
// policy engine: a user's inline and attached policies; a role session's role
// policies intersected with its session policies and the role's permissions boundary;
// the root user may do everything. A request may name the resource's own policy (an
// S3 bucket policy), which is evaluated with them as AWS does within one account: it
// can allow what no identity policy allows, its explicit Deny wins over any Allow
// (the root user's too), and it alone decides for an anonymous caller. A request
// for a resource of another account is decided as AWS does across accounts: the
// caller's side and the resource policy must both allow it.
package authz

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/keyless-dev/keyless/authn"
	"github.com/keyless-dev/keyless/policy"
	"github.com/keyless-dev/keyless/store"
)

// Request is what a caller wants to do.
type Request struct {
	// Caller is the authenticated caller; nil for an anonymous (unsigned) request,
	// which only ResourcePolicy can allow.
	Caller   *authn.Principal
	Action   string // e.g. iam:CreateRole
	Resource string // ARN, or "*"
	SourceIP netip.Addr
	Time     time.Time
	Secure   bool
	// Context adds request-specific condition keys (e.g. aws:RequestTag/*).
	Context policy.Context
	// ResourcePolicy is the resource-based policy of Resource (an S3 bucket
	// policy), the JSON document as stored; empty for none. Its Principal
	// elements are matched against the caller's ARN and account, and "*"
	// against anyone, anonymous callers included; a role session also matches
	// a Principal naming its role.
	ResourcePolicy string
	// ResourcePolicyKind is the kind of ResourcePolicy: zero for a resource-based
	// policy (policy.KindResource), policy.KindTrust for a role's trust policy.
	ResourcePolicyKind policy.Kind
	// ResourceAccount is the account that owns Resource; empty means the
	// caller's own account. When it is another account than the caller's, the
	// request is cross-account and decided as AWS does (policy.Input's
	// CrossAccount): the caller's identity policies, bounded by its session
	// policies and permissions boundary, and ResourcePolicy must both allow it,
	// so that without a resource policy it is denied, and the root user of the
	// caller's account is allowed only what ResourcePolicy allows it. The
	// Authorizer must then be the one over the caller's account's store, which
	// holds the caller's policies. A non-empty ResourceAccount is also the
	// condition key aws:ResourceAccount. It does not change how an anonymous
	// caller is decided.
	ResourceAccount string
}

// rootPermissions stands for the root user's permissions on the caller's side of
// a cross-account request: every action in its own account.
const rootPermissions = `{"Version":"2012-10-17","Statement":[{"Sid":"RootUser","Effect":"Allow","Action":"*","Resource":"*"}]}`

// Authorizer evaluates requests. It is safe for concurrent use.
type Authorizer struct {
	st     store.Store
	parsed sync.Map // kind + "\x00" + document → *policy.Policy
}

// New returns an Authorizer over st.
func New(st store.Store) *Authorizer { return &Authorizer{st: st} }

// Authorize returns the decision and its explanation. An error means the policies
// could not be gathered, or the resource policy does not parse (the caller should
// answer InternalFailure).
//
// Without a resource policy, an anonymous caller is implicitly denied and the root
// user allowed. With one, an anonymous caller is decided by it alone (as Principal
// "*"), the root user is allowed unless it explicitly denies, and users and role
// sessions are decided by policy.Evaluate over their policies and it together.
// Across accounts (see Request.ResourceAccount) the root user needs the resource
// policy's Allow and users and role sessions need it and their own policies' Allow.
func (z *Authorizer) Authorize(ctx context.Context, req Request) (policy.Result, error) {
	var in policy.Input
	if req.ResourcePolicy != "" {
		kind := req.ResourcePolicyKind
		if kind == 0 {
			kind = policy.KindResource
		}
		if kind != policy.KindResource && kind != policy.KindTrust {
			return policy.Result{}, fmt.Errorf("authz: resource policy of %s: kind %s is neither a resource nor a trust policy", req.Resource, kind)
		}
		rp, err := z.parse(req.ResourcePolicy, kind)
		if err != nil {
			return policy.Result{}, fmt.Errorf("authz: resource policy of %s: %w", req.Resource, err)
		}
		in.Resource = rp
	}
	p := req.Caller
	if p == nil {
		if in.Resource == nil {
			return policy.Result{Decision: policy.ImplicitlyDenied}, nil
		}
		return policy.Evaluate(policy.Request{Principal: "*", Action: req.Action, Resource: req.Resource, Context: z.context(req)},
			policy.Input{Resource: in.Resource}), nil
	}
	in.CrossAccount = req.ResourceAccount != "" && req.ResourceAccount != p.Account
	if p.Kind == authn.Root && in.CrossAccount {
		all, err := z.parse(rootPermissions, policy.KindIdentity)
		if err != nil {
			return policy.Result{}, fmt.Errorf("authz: root user permissions: %w", err)
		}
		in.Identity = []*policy.Policy{all}
		return policy.Evaluate(policy.Request{Principal: p.ARN, Action: req.Action, Resource: req.Resource, Context: z.context(req)}, in), nil
	}
	if p.Kind == authn.Root {
		if in.Resource != nil {
			res := policy.Evaluate(policy.Request{Principal: p.ARN, Action: req.Action, Resource: req.Resource, Context: z.context(req)},
				policy.Input{Resource: in.Resource})
			if res.Decision == policy.ExplicitlyDenied {
				return res, nil
			}
		}
		return policy.Result{Decision: policy.Allowed}, nil
	}
	preq := policy.Request{Principal: p.ARN, Action: req.Action, Resource: req.Resource, Context: z.context(req)}
	switch p.Kind {
	case authn.User:
		u, err := z.st.GetUser(ctx, p.User.Name)
		if errors.Is(err, store.ErrNotFound) {
			return policy.Result{Decision: policy.ImplicitlyDenied}, nil
		}
		if err != nil {
			return policy.Result{}, fmt.Errorf("authz: load user %s: %w", p.User.Name, err)
		}
		if in.Identity, err = z.identity(ctx, u.InlinePolicies, u.AttachedPolicies); err != nil {
			return policy.Result{}, err
		}
	case authn.AssumedRole:
		s := p.Session
		preq.RoleARN = s.RoleARN
		role, err := z.st.GetRole(ctx, s.RoleName)
		if errors.Is(err, store.ErrNotFound) || (err == nil && role.ID != s.RoleID) {
			return policy.Result{Decision: policy.ImplicitlyDenied}, nil // the role is gone
		}
		if err != nil {
			return policy.Result{}, fmt.Errorf("authz: load role %s: %w", s.RoleName, err)
		}
		if in.Identity, err = z.identity(ctx, role.InlinePolicies, role.AttachedPolicies); err != nil {
			return policy.Result{}, err
		}
		if role.PermissionsBoundary != "" {
			if in.Boundary, err = z.managed(ctx, role.PermissionsBoundary, policy.KindBoundary); err != nil {
				return policy.Result{}, err
			}
		}
		if s.SessionPolicy != "" {
			if in.Session, err = z.parse(s.SessionPolicy, policy.KindSession); err != nil {
				return policy.Result{}, err
			}
		}
		for _, arn := range s.PolicyARNs {
			sp, err := z.managed(ctx, arn, policy.KindSession)
			if err != nil {
				return policy.Result{}, err
			}
			if sp == nil {
				// The session was bounded by a policy that no longer exists: fail
				// closed rather than let the session lose its bound.
				return policy.Result{Decision: policy.ImplicitlyDenied}, nil
			}
			in.SessionPolicies = append(in.SessionPolicies, sp)
		}
	default:
		return policy.Result{Decision: policy.ImplicitlyDenied}, nil
	}
	return policy.Evaluate(preq, in), nil
}

// context builds the condition keys of req: its own, then the global ones.
func (z *Authorizer) context(req Request) policy.Context {
	c := policy.NewContext()
	for k, v := range req.Context {
		c.Set(k, v...)
	}
	if req.ResourceAccount != "" {
		c.Set("aws:ResourceAccount", req.ResourceAccount)
	}
	t := req.Time
	if t.IsZero() {
		t = time.Now()
	}
	GlobalContext(c, req.Caller, t, req.SourceIP, req.Secure)
	return c
}

// GlobalContext sets the global condition keys AWS supplies for every request of a
// signed caller: time, transport, source address, and the principal's ARN, type,
// account, user id, user name and principal tags (for role sessions also the
// federated provider and source identity), and aws:PrincipalOrgID and
// aws:PrincipalOrgPaths when the principal carries its organization. STS uses
// it for AssumeRole's trust policy.
func GlobalContext(c policy.Context, p *authn.Principal, now time.Time, sourceIP netip.Addr, secure bool) {
	c.Set("aws:CurrentTime", now.UTC().Format(time.RFC3339))
	c.Set("aws:EpochTime", strconv.FormatInt(now.Unix(), 10))
	c.Set("aws:SecureTransport", strconv.FormatBool(secure))
	if sourceIP.IsValid() {
		c.Set("aws:SourceIp", sourceIP.String())
	}
	if p == nil {
		return
	}
	c.Set("aws:PrincipalAccount", p.Account)
	c.Set("aws:userid", p.UserID)
	if p.OrgID != "" { // the caller's account is in an organization (authn.SetOrgKeys)
		c.Set("aws:PrincipalOrgID", p.OrgID)
		c.Set("aws:PrincipalOrgPaths", p.OrgPaths...)
	}
	switch p.Kind {
	case authn.Root:
		c.Set("aws:PrincipalArn", p.ARN)
		c.Set("aws:PrincipalType", "Account")
	case authn.User:
		c.Set("aws:PrincipalArn", p.ARN)
		c.Set("aws:PrincipalType", "User")
		if p.User != nil {
			c.Set("aws:username", p.User.Name)
			for _, t := range p.User.Tags {
				c.Set("aws:PrincipalTag/"+t.Key, t.Value)
			}
		}
	case authn.AssumedRole:
		c.Set("aws:PrincipalType", "AssumedRole")
		if s := p.Session; s != nil {
			c.Set("aws:PrincipalArn", s.RoleARN)
			for _, t := range s.Tags {
				c.Set("aws:PrincipalTag/"+t.Key, t.Value)
			}
			if s.Provider != "" {
				c.Set("aws:FederatedProvider", s.Provider)
			}
			if s.SourceIdentity != "" {
				c.Set("aws:SourceIdentity", s.SourceIdentity)
			}
		}
	}
}

func (z *Authorizer) identity(ctx context.Context, inline map[string]string, attached []string) ([]*policy.Policy, error) {
	out := make([]*policy.Policy, 0, len(inline)+len(attached))
	// In name order, so that explanations and audit events name the same deciding
	// statement every time.
	for _, name := range slices.Sorted(maps.Keys(inline)) {
		doc := inline[name]
		p, err := z.parse(doc, policy.KindIdentity)
		if err != nil {
			return nil, fmt.Errorf("authz: inline policy %s: %w", name, err)
		}
		out = append(out, p)
	}
	for _, arn := range attached {
		p, err := z.managed(ctx, arn, policy.KindIdentity)
		if err != nil {
			return nil, err
		}
		if p != nil {
			out = append(out, p)
		}
	}
	return out, nil
}

// managed loads a managed policy's default version; a missing one yields nil.
func (z *Authorizer) managed(ctx context.Context, arn string, kind policy.Kind) (*policy.Policy, error) {
	mp, err := z.st.GetPolicy(ctx, arn)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("authz: load managed policy %s: %w", arn, err)
	}
	p, err := z.parse(mp.Document, kind)
	if err != nil {
		return nil, fmt.Errorf("authz: managed policy %s: %w", arn, err)
	}
	return p, nil
}

func (z *Authorizer) parse(doc string, kind policy.Kind) (*policy.Policy, error) {
	key := kind.String() + "\x00" + doc
	if p, ok := z.parsed.Load(key); ok {
		return p.(*policy.Policy), nil
	}
	p, err := policy.Parse([]byte(doc), kind, policy.WithMaxSize(1<<20))
	if err != nil {
		return nil, err
	}
	z.parsed.Store(key, p)
	return p, nil
}

// WebIdentity is what a verified web identity token and its request contribute to
// the trust-policy context of AssumeRoleWithWebIdentity.
type WebIdentity struct {
	// ProviderURL is the IAM provider's URL (host/path, no scheme); its condition keys
	// are <ProviderURL>:aud, :sub, :azp and :amr.
	ProviderURL string
	ProviderARN string
	// Audience is the token's audience that matched a client ID.
	Audience string
	// Subject is the token's sub; HasSubject tells an absent claim from an empty one.
	Subject    string
	HasSubject bool
	AZP        string
	AMR        []string
	// SessionName is the RoleSessionName of the request.
	SessionName string
}

// SetKeys sets the keys STS derives from a web identity: the provider's aud, sub,
// azp and amr, sts:RoleSessionName and aws:FederatedProvider.
func (w WebIdentity) SetKeys(c policy.Context) {
	c.Set(w.ProviderURL+":aud", w.Audience)
	if w.HasSubject {
		c.Set(w.ProviderURL+":sub", w.Subject)
	}
	if w.AZP != "" {
		c.Set(w.ProviderURL+":azp", w.AZP)
	}
	if len(w.AMR) > 0 {
		c.Set(w.ProviderURL+":amr", w.AMR...)
	}
	if w.SessionName != "" {
		c.Set("sts:RoleSessionName", w.SessionName)
	}
	c.Set("aws:FederatedProvider", w.ProviderARN)
}
