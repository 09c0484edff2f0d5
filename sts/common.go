package sts

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/keyless-dev/keyless/accesskey"
	"github.com/keyless-dev/keyless/arn"
	"github.com/keyless-dev/keyless/audit"
	"github.com/keyless-dev/keyless/authz"
	"github.com/keyless-dev/keyless/awsapi"
	"github.com/keyless-dev/keyless/policy"
	"github.com/keyless-dev/keyless/session"
	"github.com/keyless-dev/keyless/store"
)

// Messages of real STS (observed) and, where marked, our own.
const (
	msgDurationOverMax = "The requested DurationSeconds exceeds the MaxSessionDuration set for this role."
	msgDurationChained = "The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining."
	msgInvalidARN      = "Request ARN is invalid"
	msgRootAssume      = "Roles may not be assumed by root accounts."
	msgMFA             = "MultiFactorAuthentication failed with invalid MFA one time pass code."
	// msgPackedTooLarge: AWS names the percentage ("Packed policy consumes 112%
	// of allotted space, …"); the session package does not report the size, so
	// we say "more than 100%".
	msgPackedTooLarge = "Packed policy consumes more than 100% of allotted space, please use smaller policy for request."
)

// Well-known claims of web identity tokens: the session tags and the source
// identity a token asks for (ReadTokenSession).
const (
	ClaimSessionTags    = "https://aws.amazon.com/tags"
	ClaimSourceIdentity = "https://aws.amazon.com/source_identity"
)

// STS actions evaluated against trust policies.
const (
	actAssumeRole        = "sts:AssumeRole"
	actAssumeWebIdentity = "sts:AssumeRoleWithWebIdentity"
	actTagSession        = "sts:TagSession"
	actSetSourceIdentity = "sts:SetSourceIdentity"
)

func notAuthorizedWebIdentity() *awsapi.Error {
	return awsapi.AccessDenied("Not authorized to perform sts:AssumeRoleWithWebIdentity")
}

// notAuthorizedAssumeRole is AWS's AccessDenied text for AssumeRole.
func notAuthorizedAssumeRole(caller, role string) *awsapi.Error {
	return awsapi.AccessDenied("User: " + caller + " is not authorized to perform: sts:AssumeRole on resource: " + role)
}

// roleName checks that roleARN is an ARN ("Request ARN is invalid" otherwise)
// and returns the name of the role it designates in account, or ok=false when
// it is not a role of this account (AccessDenied: AWS does not say which).
func roleName(roleARN, account string) (name string, ok bool, err error) {
	a, err := arn.Parse(roleARN)
	if err != nil {
		return "", false, awsapi.ValidationError(msgInvalidARN)
	}
	if a.Service() != "iam" || a.Region() != "" || a.Account() != account || a.ResourceType() != "role" || a.Name() == "" {
		return "", false, nil
	}
	return a.Name(), true, nil
}

// findRole returns the role at arn (path included), or found=false.
func (s *Service) findRole(ctx context.Context, arn string) (store.Role, bool, error) {
	name, ok, err := roleName(arn, s.cfg.Account)
	if err != nil || !ok {
		return store.Role{}, false, err
	}
	r, found, err := s.cache.role(ctx, name)
	if err != nil || !found || r.ARN != arn {
		return store.Role{}, false, err
	}
	return r, true, nil
}

// checkDuration applies the role's MaxSessionDuration and, for chained
// sessions, the one-hour cap, and returns the effective duration.
func checkDuration(requested int, role store.Role, chained bool) (int, error) {
	d := requested
	if d == 0 {
		d = defaultDuration
	}
	max := role.MaxSessionDuration
	if max <= 0 {
		max = defaultDuration
	}
	if chained && requested > chainedMaxDuration {
		return 0, awsapi.ValidationError(msgDurationChained)
	}
	if d > max {
		return 0, awsapi.ValidationError(msgDurationOverMax)
	}
	return d, nil
}

// sessionPolicies parses the inline session policy and checks that the
// managed session policies exist. A policy that does not parse is
// MalformedPolicyDocument with the engine's message. For an unknown policy
// ARN we answer MalformedPolicyDocument with IAM's "does not exist" text
// (our choice: the code STS uses there is not documented).
func (s *Service) sessionPolicies(ctx context.Context, doc string, arns []string) error {
	if doc != "" {
		if _, err := s.cache.policy(doc, policy.KindSession); err != nil {
			var pe *policy.Error
			msg := "The policy is not in the valid JSON format."
			if errors.As(err, &pe) {
				msg = pe.Message
			}
			return awsapi.NewError("MalformedPolicyDocument", http.StatusBadRequest, msg)
		}
	}
	for _, arn := range arns {
		if _, err := s.cfg.Store.GetPolicy(ctx, arn); err != nil {
			if errors.Is(err, store.ErrNotFound) {
				return awsapi.NewError("MalformedPolicyDocument", http.StatusBadRequest, "Policy "+arn+" does not exist or is not attachable.")
			}
			return fmt.Errorf("sts: get session policy %s: %w", arn, err)
		}
	}
	return nil
}

// issued is a freshly sealed session.
type issued struct {
	creds       Credentials
	user        AssumedRoleUser
	tokenSize   int
	utilization int
	packed      *int
}

// issue draws credentials, seals c (its identity fields already set) with
// them and returns the result fields common to AssumeRole*.
func (s *Service) issue(c session.Claims, now time.Time, duration, minSize int, packed bool) (issued, error) {
	id, secret, err := accesskey.New(s.cfg.Rand, accesskey.Temporary)
	if err != nil {
		return issued{}, fmt.Errorf("sts: new credentials: %w", err)
	}
	now = time.Unix(now.Unix(), 0).UTC()
	c.AccessKeyID, c.SecretAccessKey = id, secret
	c.IssuedAt = now
	c.Expiration = now.Add(time.Duration(duration) * time.Second)
	tok, err := s.cfg.Sealer.SealWithOptions(c, session.SealOptions{MinSize: minSize})
	if errors.Is(err, session.ErrTooLarge) {
		return issued{}, awsapi.NewError("PackedPolicyTooLarge", http.StatusBadRequest, msgPackedTooLarge)
	}
	if err != nil {
		return issued{}, fmt.Errorf("sts: seal session: %w", err)
	}
	out := issued{
		creds:       Credentials{AccessKeyID: id, SecretAccessKey: secret, SessionToken: tok, Expiration: formatExpiration(c.Expiration)},
		user:        AssumedRoleUser{AssumedRoleID: c.AssumedRoleID(), ARN: c.AssumedRoleARN()},
		tokenSize:   len(tok),
		utilization: session.Utilization(len(tok)),
	}
	if packed {
		// PackedPolicySize (deprecated) is the percentage of the session
		// token that the claims, session policies and tags included, take.
		p := out.utilization
		out.packed = &p
	}
	return out, nil
}

// baseContext holds the global condition keys of every STS request. The map
// comes from a pool: give it back with releaseContext once nothing refers to it.
func baseContext(now time.Time, meta Meta) policy.Context {
	c := contextPool.Get().(policy.Context)
	authz.GlobalContext(c, nil, now, meta.SourceIP, meta.Secure)
	return c
}

// contextPool recycles trust-evaluation contexts: a fresh map for the dozen
// keys of an exchange was its largest single allocation.
var contextPool = sync.Pool{New: func() any { return make(policy.Context, 16) }}

// maxPooledContext is the most keys a context may have held to be pooled;
// clearing a map costs in proportion to its capacity.
const maxPooledContext = 32

// releaseContext empties c and returns it to the pool. The value slices are
// not reused, so results that kept one stay valid.
func releaseContext(c policy.Context) {
	if len(c) > maxPooledContext {
		return
	}
	clear(c)
	contextPool.Put(c)
}

// addRequestTags sets aws:RequestTag/<k>, aws:TagKeys and
// sts:TransitiveTagKeys for session tags.
func addRequestTags(c policy.Context, tags []session.Tag, transitive []string) {
	if len(tags) == 0 {
		return
	}
	keys := make([]string, len(tags))
	for i, t := range tags {
		c.Set("aws:RequestTag/"+t.Key, t.Value)
		keys[i] = t.Key
	}
	c.Set("aws:TagKeys", keys...)
	if len(transitive) > 0 {
		c.Set("sts:TransitiveTagKeys", transitive...)
	}
}

// denial fills the audit fields of a denied decision from the explanation.
func denial(e *audit.Event, action string, res policy.Result) {
	e.Decision = audit.Denied
	ex := audit.Redact(res.Explain) // no caller's secret (sts:ExternalId) in Condition, Failed or Reason
	if d := ex.Deciding; d != nil {
		if d.Sid != "" {
			e.Statement = strconv.Quote(d.Sid)
		} else {
			e.Statement = "#" + strconv.Itoa(d.Index)
		}
		if c := d.FailedCondition(); c != nil {
			e.Condition = conditionText(c)
			e.Failed = audit.NewFailedCondition(d.Effect, *c)
		}
	}
	e.Reason = action + ": " + ex.String()
}

// conditionText renders a failed condition for an audit event.
func conditionText(c *policy.ConditionTrace) string {
	var b strings.Builder
	b.WriteString(c.Operator)
	b.WriteString(" ")
	b.WriteString(strconv.Quote(c.Key))
	b.WriteString(" wants ")
	b.WriteString(fmt.Sprintf("%q", c.PolicyValues))
	if !c.KeyPresent {
		b.WriteString(", the request has no such key")
	} else {
		b.WriteString(", the request has ")
		b.WriteString(fmt.Sprintf("%q", c.RequestValues))
	}
	return b.String()
}

// tagKeysConflict reports a key present twice, case-insensitively.
func tagKeysConflict(tags []session.Tag) (string, bool) {
	seen := make(map[string]bool, len(tags))
	for _, t := range tags {
		k := strings.ToLower(t.Key)
		if seen[k] {
			return t.Key, true
		}
		seen[k] = true
	}
	return "", false
}
