package client

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sts"
)

// Role chaining: after the web-identity role, further roles are assumed in order
// with sts:AssumeRole, each with the credentials of the hop before it.
const (
	// MaxChainedDuration is the longest session STS grants an AssumeRole called
	// with role session credentials (role chaining).
	MaxChainedDuration = time.Hour
	// RoleChainEnv names the environment variable that holds the role chain
	// (comma-separated role ARNs) when --role-chain is not given.
	RoleChainEnv = "KEYLESS_ROLE_CHAIN"
)

// ResolveRoleChain returns the roles to assume after the web-identity role: flag
// (each value may hold comma-separated ARNs) when it holds any, else
// $KEYLESS_ROLE_CHAIN; nil when neither names a role. Every entry must be an IAM
// role ARN; the error names the one that is not and where it came from.
func ResolveRoleChain(flag []string, getenv func(string) string) ([]string, error) {
	from, values := "--role-chain", flag
	if !slices.ContainsFunc(flag, func(s string) bool { return strings.TrimSpace(s) != "" }) {
		from, values = RoleChainEnv, []string{getenv(RoleChainEnv)}
	}
	var roles []string
	for _, v := range values {
		for _, r := range strings.Split(v, ",") {
			if r = strings.TrimSpace(r); r == "" {
				continue
			}
			if _, err := roleAccount(r); err != nil {
				return nil, fmt.Errorf("%s: %w", from, err)
			}
			roles = append(roles, r)
		}
	}
	return roles, nil
}

// ChainOptions configure a Chain.
type ChainOptions struct {
	// Roles are the roles to assume after the web-identity role, in order; at
	// least one.
	Roles []string
	// SessionName is the RoleSessionName of every hop; required.
	SessionName string
	// Duration is the session duration asked for. Above MaxChainedDuration it is
	// clamped to it, with a warning to Logger; zero leaves STS's default (one hour).
	Duration time.Duration
	// AllowedAccountIDs, when not empty, refuses roles and credentials of any
	// other account.
	AllowedAccountIDs []string
	// Region is the STS region; DefaultRegion when empty.
	Region string
	// Endpoint overrides the STS endpoint; empty uses the SDK's regional endpoint.
	Endpoint string
	// MaxAttempts bounds the attempts per hop; DefaultMaxAttempts when < 1.
	MaxAttempts int
	// HTTPClient sends the requests; the SDK's default when nil.
	HTTPClient aws.HTTPClient
	// Logger receives warnings (never secrets); discarded when nil.
	Logger *slog.Logger
	// Sleep waits between attempts; a context-aware timer when nil.
	Sleep func(ctx context.Context, d time.Duration) error
	// Jitter returns a random duration in [0, limit); uniform when nil.
	Jitter func(limit time.Duration) time.Duration
}

// Chain assumes a list of roles one after the other with sts:AssumeRole, starting
// from the credentials of the web-identity role. Hops are numbered from 1, the
// web-identity role; the first role of the chain is hop 2.
type Chain struct {
	opts   ChainOptions
	retry  retrier
	client *sts.Client
}

// NewChain checks opts and builds the STS client (signed per call with the
// previous hop's credentials; the SDK's own retries disabled).
func NewChain(opts ChainOptions) (*Chain, error) {
	if len(opts.Roles) == 0 {
		return nil, errors.New("role chain: no role to assume")
	}
	for _, r := range opts.Roles {
		if _, err := checkRoleAccount(r, opts.AllowedAccountIDs); err != nil {
			return nil, fmt.Errorf("role chain: %w", err)
		}
	}
	if opts.SessionName == "" {
		return nil, errors.New("role chain: no role session name")
	}
	retry := newRetrier(opts.MaxAttempts, opts.Logger, opts.Sleep, opts.Jitter)
	if d := opts.Duration; d > MaxChainedDuration {
		retry.logger.Warn("STS grants chained role sessions at most 1h: the roles of the chain are assumed for 1h",
			slog.Duration("requested", d), slog.Duration("granted", MaxChainedDuration))
		opts.Duration = MaxChainedDuration
	}
	if d := opts.Duration; d != 0 && (d < 15*time.Minute || d%time.Second != 0) {
		return nil, fmt.Errorf("role chain: invalid duration %s: STS accepts whole seconds from 15m to 1h for chained roles", d)
	}
	// Each call is signed with the previous hop's credentials (see assume).
	return &Chain{opts: opts, retry: retry, client: newSTSClient(opts.Region, opts.Endpoint, opts.HTTPClient, nil)}, nil
}

// Duration is the session duration of the chained hops after clamping; zero is
// STS's default (one hour).
func (c *Chain) Duration() time.Duration { return c.opts.Duration }

// Assume runs the chain from first, the web-identity role's credentials, and
// returns the credentials of every hop, first included, in order: the last are
// the chain's result. A failed hop is a *ChainError.
func (c *Chain) Assume(ctx context.Context, first Credentials) ([]Credentials, error) {
	hops := make([]Credentials, 0, 1+len(c.opts.Roles))
	hops = append(hops, first)
	for i, role := range c.opts.Roles {
		next, err := c.assume(ctx, i+2, role, hops[len(hops)-1])
		if err != nil {
			return nil, err
		}
		hops = append(hops, next)
	}
	return hops, nil
}

// Run trades token for the credentials of every hop, in order: exchange (the
// web-identity hop, e.g. (*Exchanger).Exchange), then every role of the chain (see
// Assume). A failure of the web-identity hop is a *ChainError of hop 1 when it is an
// *ExchangeError, else wrapped naming hop 1.
func (c *Chain) Run(ctx context.Context, exchange func(ctx context.Context, token string) (Credentials, error), token string) ([]Credentials, error) {
	first, err := exchange(ctx, token)
	if err != nil {
		if xe := (*ExchangeError)(nil); errors.As(err, &xe) {
			return nil, &ChainError{Hop: 1, Err: xe}
		}
		return nil, fmt.Errorf("role chain hop 1: %w", err)
	}
	return c.Assume(ctx, first)
}

// Exchange returns a function that trades a token for the chain's final
// credentials (see Run). Given to CredServerOptions.Exchange, each refresh re-runs
// the whole chain.
func (c *Chain) Exchange(exchange func(ctx context.Context, token string) (Credentials, error)) func(ctx context.Context, token string) (Credentials, error) {
	return func(ctx context.Context, token string) (Credentials, error) {
		hops, err := c.Run(ctx, exchange, token)
		if err != nil {
			return Credentials{}, err
		}
		return hops[len(hops)-1], nil
	}
}

// assume is hop number hop: sts:AssumeRole of role with the credentials from.
func (c *Chain) assume(ctx context.Context, hop int, role string, from Credentials) (Credentials, error) {
	in := &sts.AssumeRoleInput{
		RoleArn:         aws.String(role),
		RoleSessionName: aws.String(c.opts.SessionName),
	}
	if c.opts.Duration > 0 {
		in.DurationSeconds = aws.Int32(int32(c.opts.Duration / time.Second))
	}
	signer := func(o *sts.Options) {
		o.Credentials = credentials.NewStaticCredentialsProvider(from.AccessKeyID, from.SecretAccessKey, from.SessionToken)
	}
	for attempt := 1; ; attempt++ {
		out, err := c.client.AssumeRole(ctx, in, signer)
		if err == nil {
			return c.credentials(hop, role, out)
		}
		ce := newChainError(err, hop, role, from)
		again, err := c.retry.again(ctx, ce.Err, attempt, "STS AssumeRole of the role chain failed, retrying",
			slog.Int("hop", hop), slog.String("role_arn", role))
		if err != nil {
			return Credentials{}, fmt.Errorf("role chain hop %d (%s): %w", hop, role, err)
		}
		if !again {
			return Credentials{}, ce
		}
	}
}

func (c *Chain) credentials(hop int, role string, out *sts.AssumeRoleOutput) (Credentials, error) {
	if out.Credentials == nil || out.Credentials.AccessKeyId == nil || out.Credentials.SecretAccessKey == nil {
		return Credentials{}, fmt.Errorf("role chain hop %d (%s): response holds no credentials", hop, role)
	}
	cr := Credentials{
		AccessKeyID:     aws.ToString(out.Credentials.AccessKeyId),
		SecretAccessKey: aws.ToString(out.Credentials.SecretAccessKey),
		SessionToken:    aws.ToString(out.Credentials.SessionToken),
		Expiration:      aws.ToTime(out.Credentials.Expiration),
		RoleARN:         role,
	}
	if u := out.AssumedRoleUser; u != nil {
		cr.AssumedRoleARN = aws.ToString(u.Arn)
		cr.AssumedRoleID = aws.ToString(u.AssumedRoleId)
	}
	if ids := c.opts.AllowedAccountIDs; len(ids) > 0 {
		if acct := cr.Account(); !slices.Contains(ids, acct) {
			return Credentials{}, fmt.Errorf("role chain hop %d (%s): refusing credentials of account %q (assumed role %s): allowed account IDs are %s",
				hop, role, acct, cr.AssumedRoleARN, strings.Join(ids, ","))
		}
	}
	return cr, nil
}

// ChainError is a failed hop of a role chain: which hop, and STS's answer.
type ChainError struct {
	// Hop is the hop's number: 1 is the web-identity role, 2 the chain's first role.
	Hop int
	// Err holds the role, STS's error code and message, whether the failure was
	// transient, the attempts and a hint.
	Err *ExchangeError
}

// Error reads "role chain hop N (ARN): CODE: MESSAGE (request ID …)", followed by a
// line "hint: …" when there is a hint.
func (e *ChainError) Error() string {
	return fmt.Sprintf("role chain hop %d (%s): %s", e.Hop, e.Err.RoleARN, e.Err.detail())
}

// Unwrap returns the *ExchangeError.
func (e *ChainError) Unwrap() error { return e.Err }

// newChainError classifies err, an error of the AssumeRole of role at hop, made
// with the credentials from.
func newChainError(err error, hop int, role string, from Credentials) *ChainError {
	xe := newExchangeError(err, role, "", "")
	xe.Message = redact(redact(xe.Message, from.SecretAccessKey), from.SessionToken)
	caller := from.RoleARN
	if caller == "" {
		caller = "the previous hop's role"
	}
	switch xe.Code {
	case "AccessDenied", "AccessDeniedException":
		xe.Hint = fmt.Sprintf("the trust policy of %s must allow sts:AssumeRole for %s (an AWS principal), and the identity policies of %s must allow sts:AssumeRole on it",
			role, caller, caller)
	case "ValidationError":
		if strings.Contains(xe.Message, "DurationSeconds") {
			xe.Hint = "chained roles are assumed for at most 1h and at most the role's MaxSessionDuration: lower --duration"
		} else {
			xe.Hint = "a request parameter is invalid: check the --role-chain ARNs, --duration and the session name"
		}
	case "ExpiredToken", "ExpiredTokenException":
		xe.Hint = fmt.Sprintf("the credentials of %s expired before the next hop: retry", caller)
	case "InvalidClientTokenId", "SignatureDoesNotMatch":
		xe.Hint = fmt.Sprintf("STS did not accept the credentials of %s: --role-chain must follow the web-identity role on the same STS (--sts-endpoint)", caller)
	case "RegionDisabledException":
		xe.Hint = "STS is not activated in this region for the account: activate it or use another --region"
	default:
		if xe.StatusCode != 0 {
			xe.Hint = "" // classify's hints speak of web identity tokens
		}
	}
	return &ChainError{Hop: hop, Err: xe}
}
