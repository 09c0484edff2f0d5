package client

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sts"
)

// What the Exchanger and the Chain share: the check of a role's account, the
// STS client, and retries by error class.

// checkRoleAccount returns the account of role, an IAM role ARN, refusing one
// outside allowed when allowed is not empty.
func checkRoleAccount(role string, allowed []string) (string, error) {
	account, err := roleAccount(role)
	if err != nil {
		return "", err
	}
	if len(allowed) > 0 && !slices.Contains(allowed, account) {
		return "", fmt.Errorf("role %s is in account %s, which is not among the allowed account IDs %s",
			role, account, strings.Join(allowed, ","))
	}
	return account, nil
}

// newSTSClient is an STS client of region (DefaultRegion when empty) at
// endpoint (the SDK's regional one when empty), signing with creds, its own
// retries disabled: the caller retries by error class (retrier).
func newSTSClient(region, endpoint string, httpClient aws.HTTPClient, creds aws.CredentialsProvider) *sts.Client {
	if region == "" {
		region = DefaultRegion
	}
	so := sts.Options{Region: region, Credentials: creds, Retryer: aws.NopRetryer{}, HTTPClient: httpClient}
	if endpoint != "" {
		so.BaseEndpoint = aws.String(endpoint)
	}
	return sts.New(so)
}

// retrier retries a failed STS call while its error is transient: at most
// maxAttempts attempts, waiting a fully jittered backoff (RetryBase doubling
// up to RetryCap) between them.
type retrier struct {
	maxAttempts int
	logger      *slog.Logger
	sleep       func(ctx context.Context, d time.Duration) error
	jitter      func(limit time.Duration) time.Duration
}

// newRetrier is a retrier of the options' fields, each defaulted when unset:
// DefaultMaxAttempts, a discarding logger, a context-aware timer and a
// uniform jitter.
func newRetrier(maxAttempts int, logger *slog.Logger, sleep func(context.Context, time.Duration) error, jitter func(time.Duration) time.Duration) retrier {
	r := retrier{maxAttempts: maxAttempts, logger: logger, sleep: sleep, jitter: jitter}
	if r.maxAttempts < 1 {
		r.maxAttempts = DefaultMaxAttempts
	}
	if r.logger == nil {
		r.logger = slog.New(slog.DiscardHandler)
	}
	if r.sleep == nil {
		r.sleep = sleepContext
	}
	if r.jitter == nil {
		r.jitter = func(limit time.Duration) time.Duration {
			if limit <= 0 {
				return 0
			}
			return rand.N(limit)
		}
	}
	return r
}

// again decides after attempt number attempt failed with xe (whose Attempts
// it sets): false when xe is final (not retryable, the last attempt, or ctx
// done); else it logs msg with attrs and what failed, waits the backoff and
// returns true, or returns an error if ctx ended the wait.
func (r retrier) again(ctx context.Context, xe *ExchangeError, attempt int, msg string, attrs ...slog.Attr) (bool, error) {
	xe.Attempts = attempt
	if !xe.Retryable || attempt >= r.maxAttempts || ctx.Err() != nil {
		return false, nil
	}
	wait := r.jitter(min(RetryCap, RetryBase<<(attempt-1)))
	attrs = append(attrs, slog.String("code", xe.Code), slog.String("message", xe.Message), slog.Int("status", xe.StatusCode),
		slog.Int("attempt", attempt), slog.Duration("wait", wait))
	r.logger.LogAttrs(ctx, slog.LevelWarn, msg, attrs...)
	if err := r.sleep(ctx, wait); err != nil {
		return false, fmt.Errorf("%w (waiting to retry %s)", err, xe.Code)
	}
	return true, nil
}

func sleepContext(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
