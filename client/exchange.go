package client

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	ststypes "github.com/aws/aws-sdk-go-v2/service/sts/types"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/keyless-dev/keyless/arn"
)

// Defaults of the exchange.
const (
	// DefaultRegion is used when neither a flag nor AWS_REGION/AWS_DEFAULT_REGION
	// names one.
	DefaultRegion = "us-east-1"
	// DefaultMaxAttempts bounds the attempts of one exchange, the first included.
	DefaultMaxAttempts = 5
	// RetryBase and RetryCap shape the full-jitter backoff: the n-th retry waits a
	// random time in [0, min(RetryCap, RetryBase·2^(n-1))).
	RetryBase = 200 * time.Millisecond
	RetryCap  = 5 * time.Second
)

// ResolveRegion returns flag when set, else $AWS_REGION, else $AWS_DEFAULT_REGION,
// else DefaultRegion.
func ResolveRegion(flag string, getenv func(string) string) string {
	for _, v := range []string{flag, getenv("AWS_REGION"), getenv("AWS_DEFAULT_REGION")} {
		if v = strings.TrimSpace(v); v != "" {
			return v
		}
	}
	return DefaultRegion
}

// ResolveSTSEndpoint returns the STS endpoint override: flag when set, else
// $AWS_ENDPOINT_URL_STS, else $AWS_ENDPOINT_URL, else "" (the SDK's regional endpoint).
func ResolveSTSEndpoint(flag string, getenv func(string) string) string {
	for _, v := range []string{flag, getenv("AWS_ENDPOINT_URL_STS"), getenv("AWS_ENDPOINT_URL")} {
		if v = strings.TrimSpace(v); v != "" {
			return v
		}
	}
	return ""
}

// Credentials are temporary AWS credentials from AssumeRoleWithWebIdentity, with what
// STS said about the session. String, GoString and LogValue redact the secrets.
type Credentials struct {
	AccessKeyID     string
	SecretAccessKey string
	SessionToken    string
	Expiration      time.Time
	// AssumedRoleARN is arn:…:sts::ACCOUNT:assumed-role/ROLE/SESSION.
	AssumedRoleARN string
	// AssumedRoleID is ROLEID:SESSION.
	AssumedRoleID string
	// RoleARN is the role that was assumed.
	RoleARN string
	// Subject, Audience and Provider echo SubjectFromWebIdentityToken, Audience and
	// Provider of the response.
	Subject  string
	Audience string
	Provider string
}

// Account returns the account ID of the assumed role.
func (c Credentials) Account() string {
	a, err := arn.Parse(c.AssumedRoleARN)
	if err != nil {
		return ""
	}
	return a.Account()
}

// String describes the credentials without their secrets.
func (c Credentials) String() string {
	return fmt.Sprintf("credentials{AccessKeyId: %s, Arn: %s, Expiration: %s, SecretAccessKey: [redacted], SessionToken: [redacted]}",
		c.AccessKeyID, c.AssumedRoleARN, c.Expiration.UTC().Format(time.RFC3339))
}

// GoString is String, so that %#v redacts too.
func (c Credentials) GoString() string { return c.String() }

// Format is String for every verb, so that no fmt verb (%d, %x, %+v …) prints
// the struct's fields, secrets included.
func (c Credentials) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, c.String()) }

// LogValue lets log/slog print the credentials without their secrets.
func (c Credentials) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("access_key_id", c.AccessKeyID),
		slog.String("arn", c.AssumedRoleARN),
		slog.Time("expiration", c.Expiration),
	)
}

// ExchangeOptions configure an Exchanger.
type ExchangeOptions struct {
	// RoleARN is the role to assume; required.
	RoleARN string
	// SessionName is the RoleSessionName; required, see SanitizeSessionName.
	SessionName string
	// Duration becomes DurationSeconds; zero leaves STS's default (one hour).
	Duration time.Duration
	// SessionPolicy is an inline session policy document (JSON).
	SessionPolicy string
	// PolicyARNs are managed session policies.
	PolicyARNs []string
	// AllowedAccountIDs, when not empty, refuses roles and credentials of any other
	// account.
	AllowedAccountIDs []string
	// Region is the STS region; DefaultRegion when empty.
	Region string
	// Endpoint overrides the STS endpoint (see ResolveSTSEndpoint); empty uses the
	// SDK's regional endpoint.
	Endpoint string
	// MaxAttempts bounds the attempts per exchange; DefaultMaxAttempts when < 1.
	MaxAttempts int
	// ExplainFlags are the flags `keyless explain` needs, besides --role-arn, to
	// find the same token (such as "--token-file web-identity-token"); the hint of a
	// denial quotes them so that the suggested command works as printed.
	ExplainFlags string
	// HTTPClient sends the requests; the SDK's default when nil.
	HTTPClient aws.HTTPClient
	// Logger receives retry warnings (never secrets); discarded when nil.
	Logger *slog.Logger
	// Sleep waits between attempts; a context-aware timer when nil.
	Sleep func(ctx context.Context, d time.Duration) error
	// Jitter returns a random duration in [0, limit); uniform when nil.
	Jitter func(limit time.Duration) time.Duration
}

// Exchanger trades web identity tokens for credentials with AssumeRoleWithWebIdentity,
// retrying what is transient and failing fast, with a hint, on what is not.
type Exchanger struct {
	opts   ExchangeOptions
	retry  retrier
	client *sts.Client
}

// NewExchanger checks opts and builds the STS client: anonymous credentials, the SDK's
// own retries disabled (the Exchanger retries by error class) and BaseEndpoint set
// from opts.Endpoint.
func NewExchanger(opts ExchangeOptions) (*Exchanger, error) {
	if _, err := checkRoleAccount(opts.RoleARN, opts.AllowedAccountIDs); err != nil {
		return nil, err
	}
	if opts.SessionName == "" {
		return nil, errors.New("no role session name")
	}
	if d := opts.Duration; d != 0 && (d < 15*time.Minute || d > 12*time.Hour || d%time.Second != 0) {
		return nil, fmt.Errorf("invalid duration %s: STS accepts whole seconds from 15m to 12h (and at most the role's MaxSessionDuration)", d)
	}
	if len(opts.PolicyARNs) > 10 {
		return nil, fmt.Errorf("%d policy ARNs: STS accepts at most 10", len(opts.PolicyARNs))
	}
	return &Exchanger{opts: opts, retry: newRetrier(opts.MaxAttempts, opts.Logger, opts.Sleep, opts.Jitter),
		client: newSTSClient(opts.Region, opts.Endpoint, opts.HTTPClient, aws.AnonymousCredentials{})}, nil
}

// RoleARN is the role this Exchanger assumes.
func (e *Exchanger) RoleARN() string { return e.opts.RoleARN }

// Exchange calls AssumeRoleWithWebIdentity with token. Transient failures are retried
// with full jitter; any other failure is an *ExchangeError carrying a one-line hint.
func (e *Exchanger) Exchange(ctx context.Context, token string) (Credentials, error) {
	in := &sts.AssumeRoleWithWebIdentityInput{
		RoleArn:          aws.String(e.opts.RoleARN),
		RoleSessionName:  aws.String(e.opts.SessionName),
		WebIdentityToken: aws.String(token),
	}
	if e.opts.Duration > 0 {
		in.DurationSeconds = aws.Int32(int32(e.opts.Duration / time.Second))
	}
	if e.opts.SessionPolicy != "" {
		in.Policy = aws.String(e.opts.SessionPolicy)
	}
	for _, arn := range e.opts.PolicyARNs {
		in.PolicyArns = append(in.PolicyArns, ststypes.PolicyDescriptorType{Arn: aws.String(arn)})
	}
	for attempt := 1; ; attempt++ {
		out, err := e.client.AssumeRoleWithWebIdentity(ctx, in)
		if err == nil {
			return e.credentials(out)
		}
		xe := newExchangeError(err, e.opts.RoleARN, e.explainCommand(), token)
		again, err := e.retry.again(ctx, xe, attempt, "STS exchange failed, retrying", slog.String("role_arn", e.opts.RoleARN))
		if err != nil {
			return Credentials{}, fmt.Errorf("assume role %s: %w", e.opts.RoleARN, err)
		}
		if !again {
			return Credentials{}, xe
		}
	}
}

func (e *Exchanger) credentials(out *sts.AssumeRoleWithWebIdentityOutput) (Credentials, error) {
	if out.Credentials == nil || out.Credentials.AccessKeyId == nil || out.Credentials.SecretAccessKey == nil {
		return Credentials{}, fmt.Errorf("assume role %s: response holds no credentials", e.opts.RoleARN)
	}
	c := Credentials{
		AccessKeyID:     aws.ToString(out.Credentials.AccessKeyId),
		SecretAccessKey: aws.ToString(out.Credentials.SecretAccessKey),
		SessionToken:    aws.ToString(out.Credentials.SessionToken),
		Expiration:      aws.ToTime(out.Credentials.Expiration),
		RoleARN:         e.opts.RoleARN,
		Subject:         aws.ToString(out.SubjectFromWebIdentityToken),
		Audience:        aws.ToString(out.Audience),
		Provider:        aws.ToString(out.Provider),
	}
	if u := out.AssumedRoleUser; u != nil {
		c.AssumedRoleARN = aws.ToString(u.Arn)
		c.AssumedRoleID = aws.ToString(u.AssumedRoleId)
	}
	if ids := e.opts.AllowedAccountIDs; len(ids) > 0 {
		if acct := c.Account(); !slices.Contains(ids, acct) {
			return Credentials{}, fmt.Errorf("assume role %s: refusing credentials of account %q (assumed role %s): allowed account IDs are %s",
				e.opts.RoleARN, acct, c.AssumedRoleARN, strings.Join(ids, ","))
		}
	}
	return c, nil
}

// ExchangeError is a failed AssumeRoleWithWebIdentity: the STS error code and message
// (with the token redacted), whether it was worth retrying, and a hint for a person.
type ExchangeError struct {
	// RoleARN is the role that was requested.
	RoleARN string
	// Code is the STS error code ("" for network errors).
	Code string
	// Message is STS's message, or the transport error's text.
	Message string
	// StatusCode is the HTTP status (0 when no response arrived).
	StatusCode int
	// RequestID is STS's request ID, if any.
	RequestID string
	// Retryable says the failure is transient.
	Retryable bool
	// Hint says what to do, in one line; may be empty.
	Hint string
	// Attempts counts the requests made.
	Attempts int
	// Err is the underlying error.
	Err error
}

// Error reads "assume role ARN: CODE: MESSAGE (request ID …, after N attempts)",
// followed by a line "hint: …" when there is a hint.
func (e *ExchangeError) Error() string {
	return "assume role " + e.RoleARN + ": " + e.detail()
}

// detail is Error without the role: "CODE: MESSAGE (notes)" and the hint line.
func (e *ExchangeError) detail() string {
	var b strings.Builder
	if e.Code != "" {
		b.WriteString(e.Code + ": ")
	}
	b.WriteString(e.Message)
	var notes []string
	if e.RequestID != "" {
		notes = append(notes, "request ID "+e.RequestID)
	}
	if e.Attempts > 1 {
		notes = append(notes, fmt.Sprintf("after %d attempts", e.Attempts))
	}
	if len(notes) > 0 {
		fmt.Fprintf(&b, " (%s)", strings.Join(notes, ", "))
	}
	if e.Hint != "" {
		b.WriteString("\nhint: " + e.Hint)
	}
	return b.String()
}

// Unwrap returns the underlying error.
func (e *ExchangeError) Unwrap() error { return e.Err }

// explainCommand is the `keyless explain` command line that replays this exchange.
func (e *Exchanger) explainCommand() string {
	cmd := "keyless explain --role-arn " + e.opts.RoleARN
	if e.opts.ExplainFlags != "" {
		cmd += " " + e.opts.ExplainFlags
	}
	return cmd
}

// newExchangeError classifies err, an error from AssumeRoleWithWebIdentity of
// roleARN; explainCmd is the `keyless explain` command line a denial's hint suggests.
func newExchangeError(err error, roleARN, explainCmd, token string) *ExchangeError {
	xe := &ExchangeError{RoleARN: roleARN, Err: err}
	var re *smithyhttp.ResponseError
	if errors.As(err, &re) && re.Response != nil {
		xe.StatusCode = re.HTTPStatusCode()
	}
	var rid interface{ ServiceRequestID() string }
	if errors.As(err, &rid) {
		xe.RequestID = rid.ServiceRequestID()
	}
	var api smithy.APIError
	if errors.As(err, &api) {
		xe.Code, xe.Message = api.ErrorCode(), api.ErrorMessage()
	} else {
		xe.Message = err.Error()
		var se *smithyhttp.RequestSendError
		var oe *smithy.OperationError
		switch {
		case errors.As(err, &se) && se.Err != nil:
			xe.Message = "send request: " + se.Err.Error()
		case errors.As(err, &oe) && oe.Err != nil:
			xe.Message = oe.Err.Error()
		}
	}
	xe.Message = redact(xe.Message, token)
	xe.Retryable, xe.Hint = classify(err, xe.Code, xe.Message, xe.StatusCode, explainCmd)
	return xe
}

// redact removes token from s.
func redact(s, token string) string {
	if len(token) >= 4 {
		s = strings.ReplaceAll(s, token, "[redacted token]")
	}
	return s
}

// isThrottling reports whether code is one of the AWS throttling error codes.
func isThrottling(code string) bool {
	switch code {
	case "Throttling", "ThrottlingException", "ThrottledException", "RequestThrottledException",
		"TooManyRequestsException", "RequestLimitExceeded", "SlowDown", "RequestThrottled",
		"ProvisionedThroughputExceededException", "BandwidthLimitExceeded", "PriorRequestNotComplete":
		return true
	}
	return false
}

// classify decides whether an exchange failure is transient and which hint it gets.
// status is the HTTP status (0 without response); code and message come from STS.
func classify(err error, code, message string, status int, explainCmd string) (retry bool, hint string) {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false, ""
	}
	switch code {
	case "IDPCommunicationError":
		return true, "STS could not reach the identity provider; retrying usually helps"
	case "InvalidIdentityToken":
		m := strings.ToLower(message)
		switch {
		case strings.HasPrefix(m, "couldn't retrieve verification key"):
			return true, "STS could not fetch the issuer's signing keys (discovery or JWKS unreachable, slow, or no key for the token's kid)"
		case strings.Contains(m, "no openidconnect provider found"):
			return false, "issuer: the token's iss is not registered as an IAM OIDC provider in the role's account: create the provider for exactly that URL"
		case strings.Contains(m, "audience") || strings.Contains(m, "claim: aud"):
			return false, "audience: the token's aud is not among the IAM OIDC provider's client IDs: add it to the provider, or request the token with the provider's audience (--audience)"
		case strings.Contains(m, "thumbprint"):
			return false, "signature: the issuer's HTTPS certificate matches no trusted CA nor the provider's thumbprints: update the provider's thumbprints"
		case strings.Contains(m, "signature") || strings.Contains(m, "signing") || strings.Contains(m, "key"):
			return false, "signature: the token's signature does not verify against the issuer's published keys: check the token comes from the registered issuer"
		}
		return false, "the token was rejected (issuer, audience or signature): run `keyless token inspect --verify` on it"
	case "ExpiredTokenException", "ExpiredToken":
		return false, "token expired: get a fresh token (re-request it, or re-run the step) and exchange it at once"
	case "AccessDenied", "AccessDeniedException":
		return false, fmt.Sprintf("the role's trust policy does not admit this token: run `%s` to see which condition fails", explainCmd)
	case "IDPRejectedClaim":
		return false, "the identity provider rejected the token's claims"
	case "ValidationError":
		if strings.Contains(message, "DurationSeconds") {
			return false, "--duration exceeds the role's MaxSessionDuration: lower it or raise the role's maximum"
		}
		return false, "a request parameter is invalid: check --role-arn, --duration (15m–12h), the session name and the token"
	case "MalformedPolicyDocument", "PackedPolicyTooLarge":
		return false, "the session policy (--session-policy, --policy-arn) is invalid or too large"
	case "RegionDisabledException":
		return false, "STS is not activated in this region for the account: activate it or use another --region"
	case "InternalFailure", "InternalError", "ServiceUnavailable", "ServiceUnavailableException", "RequestTimeout", "RequestTimeoutException":
		return true, ""
	}
	if isThrottling(code) || status == http.StatusTooManyRequests {
		return true, ""
	}
	if status >= 500 {
		return true, ""
	}
	if isNetworkError(err) {
		if status == 0 {
			return true, "could not reach STS: check --sts-endpoint / AWS_ENDPOINT_URL_STS and the network"
		}
		// The status came but the body broke off: the connection was reset or
		// closed mid-answer, or the SDK's transport closed it while a good
		// answer was being read (aws/aws-sdk-go-v2#1825). Asking again is safe.
		return true, "the connection to STS broke while its answer was read"
	}
	return false, ""
}

func isNetworkError(err error) bool {
	var se *smithyhttp.RequestSendError
	var ne net.Error
	var oe *net.OpError
	return errors.As(err, &se) || errors.As(err, &ne) || errors.As(err, &oe) ||
		errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF)
}
