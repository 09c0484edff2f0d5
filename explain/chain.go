package explain

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/keyless-dev/keyless/authz"
	"github.com/keyless-dev/keyless/store"
)

// DefaultSessionName names the role sessions of a chain when ChainInput gives
// no SessionName; it only builds the callers' ARNs (sts:RoleSessionName stays
// unknown).
const DefaultSessionName = "explain"

// ChainInput is what Chain needs.
type ChainInput struct {
	// WebIdentity, if not nil, is hop 1 (Run's report for the web-identity
	// role); the first AssumeRole hop's caller is then a session of its role.
	WebIdentity *Report
	// Caller is the ARN of the first AssumeRole hop's caller when WebIdentity is
	// nil (a role session or an IAM user).
	Caller string
	// Roles are the roles to assume with sts:AssumeRole, in order.
	Roles []string
	// Store returns the store of a local account, which holds its roles and
	// their policies.
	Store func(ctx context.Context, account string) (store.Store, error)
	// ExternalID is the sts:ExternalId of every AssumeRole hop; empty for none.
	ExternalID string
	// SessionName is every hop's RoleSessionName; empty when unknown.
	SessionName string
	// SourceIP is the address the hops call STS from; empty when unknown.
	SourceIP string
	Now      time.Time
}

// ChainReport is the outcome of Chain: the hops explained, in order, up to the
// first that STS would refuse.
type ChainReport struct {
	Hops     []HopReport `json:"hops"`
	Verdict  Verdict     `json:"verdict"`
	Admitted bool        `json:"admitted"`
	// FailedHop numbers the hop STS would refuse; 0 when none.
	FailedHop int `json:"failedHop,omitempty"`
}

// Chain explains a role chain hop by hop: the web identity hop (if any), then
// each sts:AssumeRole hop by the previous hop's session, stopping at the first
// hop STS would refuse. An error means a store could not be read.
func Chain(ctx context.Context, in ChainInput) (ChainReport, error) {
	var r ChainReport
	caller, undetermined := in.Caller, false
	name := in.SessionName
	if name == "" {
		name = DefaultSessionName
	}
	if w := in.WebIdentity; w != nil {
		r.Hops = append(r.Hops, WebIdentityHop(*w))
		switch w.Verdict {
		case VerdictDenied:
			r.Verdict, r.FailedHop = VerdictDenied, 1
			return r, nil
		case VerdictUndetermined:
			undetermined = true
		}
		caller = SessionARN(w.RoleARN, name)
	}
	if caller == "" && len(in.Roles) > 0 {
		return r, errors.New("explain: no caller for the first AssumeRole hop")
	}
	if len(in.Roles) > 0 && accountOf(caller) == "" {
		return r, fmt.Errorf("explain: caller %q is not an ARN: give a role session (arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION) or an IAM user (arn:aws:iam::ACCOUNT:user/NAME)", caller)
	}
	for _, role := range in.Roles {
		if accountOf(role) == "" {
			return r, fmt.Errorf("explain: role %q is not an ARN: give arn:aws:iam::ACCOUNT:role/NAME", role)
		}
	}
	for _, roleARN := range in.Roles {
		hop, err := assumeHop(ctx, in, caller, roleARN)
		if err != nil {
			return r, err
		}
		hop.Hop = len(r.Hops) + 1
		r.Hops = append(r.Hops, hop)
		if !hop.Admitted {
			r.Verdict, r.FailedHop = VerdictDenied, hop.Hop
			return r, nil
		}
		caller = SessionARN(roleARN, name)
	}
	r.Verdict = VerdictAdmitted
	if undetermined {
		r.Verdict = VerdictUndetermined
	}
	r.Admitted = r.Verdict == VerdictAdmitted
	return r, nil
}

// assumeHop explains one AssumeRole hop of a chain, reading the caller and the
// role from their accounts' stores.
func assumeHop(ctx context.Context, in ChainInput, callerARN, roleARN string) (HopReport, error) {
	fail := func(id, title, actual, fix string) HopReport {
		return HopReport{Action: ActionAssumeRole, Caller: callerARN, RoleARN: roleARN, Verdict: VerdictDenied,
			CrossAccount: accountOf(callerARN) != accountOf(roleARN), Failed: actual,
			Checks: []Check{{ID: id, Status: Fail, Title: title, Actual: phrase(actual), Fix: fix}}}
	}
	callerAccount, roleAccount := accountOf(callerARN), accountOf(roleARN)
	cst, err := in.Store(ctx, callerAccount)
	if err != nil {
		return fail("caller", "the caller's account is a local account", err.Error(), "explain reads the stores of keyless up: name a caller of one of its accounts (keyless accounts list)"), nil
	}
	caller, err := CallerFromARN(ctx, cst, callerARN)
	if err != nil {
		return fail("caller", "the caller exists", err.Error(), "name a role session or user that exists in account "+callerAccount), nil
	}
	rst, err := in.Store(ctx, roleAccount)
	if err != nil {
		return fail("role", "the role's account is a local account", err.Error(), "name a role of one of the accounts of keyless up (keyless accounts list)"), nil
	}
	name := roleARN[strings.LastIndex(roleARN, "/")+1:]
	role, err := rst.GetRole(ctx, name)
	if errors.Is(err, store.ErrNotFound) || err == nil && role.ARN != roleARN {
		return fail("role", "the role exists", "account "+roleAccount+" has no role "+roleARN,
			"create it (aws iam create-role, with credentials of account "+roleAccount+") or fix the ARN"), nil
	}
	if err != nil {
		return HopReport{}, fmt.Errorf("explain: read role %s: %w", roleARN, err)
	}
	return AssumeRole(ctx, HopInput{Caller: caller, Identity: authz.New(cst), RoleARN: roleARN, TrustPolicy: role.AssumeRolePolicyDocument,
		ExternalID: in.ExternalID, SessionName: in.SessionName, SourceIP: in.SourceIP, Now: in.Now})
}

// WriteText renders the chain for people: each hop's checks, then which hop and
// side STS would refuse.
func (r ChainReport) WriteText(w io.Writer) error {
	var b strings.Builder
	if n := len(r.Hops); n > 0 {
		fmt.Fprintf(&b, "Would this chain assume %s?\n", r.Hops[n-1].RoleARN)
	}
	for _, h := range r.Hops {
		h.writeText(&b)
	}
	switch {
	case r.FailedHop > 0:
		h := r.Hops[r.FailedHop-1]
		fmt.Fprintf(&b, "Result: DENIED at hop %d (%s of %s)", h.Hop, h.Action, h.RoleARN)
		if h.Failed != "" {
			fmt.Fprintf(&b, ": refused by the %s", h.Failed)
		}
		b.WriteString(".\n")
	case r.Verdict == VerdictUndetermined:
		b.WriteString("Result: UNDETERMINED — hop 1 depends on values explain does not know (see its SKIP checks).\n")
	default:
		fmt.Fprintf(&b, "Result: ADMITTED — STS would return credentials at every hop (%d).\n", len(r.Hops))
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// writeText renders one hop.
func (h HopReport) writeText(b *strings.Builder) {
	switch {
	case h.Caller == "":
		fmt.Fprintf(b, "Hop %d: web identity token → %s (%s)\n", h.Hop, h.RoleARN, h.Action)
	case h.CrossAccount:
		fmt.Fprintf(b, "Hop %d: %s → %s (%s, across accounts %s → %s)\n", h.Hop, h.Caller, h.RoleARN, h.Action, accountOf(h.Caller), accountOf(h.RoleARN))
	default:
		fmt.Fprintf(b, "Hop %d: %s → %s (%s)\n", h.Hop, h.Caller, h.RoleARN, h.Action)
	}
	for _, c := range h.Checks {
		c.WriteText(b, "  ") // writes to a strings.Builder cannot fail
	}
	if h.Explanation != "" && !h.Admitted {
		indent := "          "
		fmt.Fprintf(b, "  why:    %s\n", strings.ReplaceAll(h.Explanation, "\n", "\n"+indent))
	}
}
