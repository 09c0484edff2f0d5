package invalidation

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudfront"
	"github.com/aws/aws-sdk-go-v2/service/cloudfront/types"
	"github.com/google/uuid"
)

// API is the part of the CloudFront client Run uses; *cloudfront.Client
// implements it.
type API interface {
	CreateInvalidation(ctx context.Context, params *cloudfront.CreateInvalidationInput, optFns ...func(*cloudfront.Options)) (*cloudfront.CreateInvalidationOutput, error)
	GetInvalidation(ctx context.Context, params *cloudfront.GetInvalidationInput, optFns ...func(*cloudfront.Options)) (*cloudfront.GetInvalidationOutput, error)
	ListInvalidations(ctx context.Context, params *cloudfront.ListInvalidationsInput, optFns ...func(*cloudfront.Options)) (*cloudfront.ListInvalidationsOutput, error)
}

// Defaults of an Invalidator.
const (
	// DefaultPollInterval is how often Run looks whether invalidations in
	// progress have completed, and the waiter's first delay.
	DefaultPollInterval = 20 * time.Second
	// DefaultMaxWait bounds the waiting of one Run.
	DefaultMaxWait = 30 * time.Minute
)

// statusInProgress is the Status of an invalidation not yet completed.
const statusInProgress = "InProgress"

// Invalidator sends plans to CloudFront.
type Invalidator struct {
	// API is the CloudFront client. Required.
	API API
	// MaxPaths and MaxWildcards are how many individual and wildcard paths
	// may be in progress on a distribution (0: CloudFront's 3,000 and 15).
	MaxPaths, MaxWildcards int
	// PollInterval is how often Run polls invalidations in progress (0:
	// DefaultPollInterval). When waiting for its own invalidations, the
	// waiter starts at this delay and backs off to four times it.
	PollInterval time.Duration
	// MaxWait bounds all the waiting of one Run, for room beside the
	// invalidations in progress and for its own to complete (0:
	// DefaultMaxWait). The context can end it sooner.
	MaxWait time.Duration
	// Logger tells what Run does and waits for (nil: nothing is logged).
	Logger *slog.Logger
}

// Run creates the invalidations of plan p on a distribution and returns their
// IDs, in the order created.
//
// CloudFront refuses an invalidation that does not fit, beside those in
// progress on the distribution, within MaxPaths individual and MaxWildcards
// wildcard paths. Run counts those in progress (ListInvalidations, and
// GetInvalidation of each in progress for its paths) and sends as much of the
// plan as fits in one invalidation; while something is left, it polls every
// PollInterval until invalidations in progress complete and sends the next
// batch that fits. So a plan that fits is sent whole at once, and one that
// does not is split into batches as room frees up. Each batch has its own
// CallerReference. When another client takes the room first
// (TooManyInvalidationsInProgress), Run counts again and retries.
//
// With wait, Run then waits for its invalidations to complete, with the SDK's
// InvalidationCompletedWaiter. All waiting ends at MaxWait or with ctx. On an
// error, Run returns the IDs of the invalidations it created before it.
func (inv Invalidator) Run(ctx context.Context, distributionID string, p Plan, wait bool) ([]string, error) {
	if distributionID == "" {
		return nil, errors.New("cloudfront invalidation: no distribution ID: give the ID of the distribution (such as E2QWRUHEXAMPLE)")
	}
	if inv.API == nil {
		return nil, fmt.Errorf("distribution %s: invalidation: no CloudFront client", distributionID)
	}
	if inv.MaxPaths < 0 || inv.MaxWildcards < 0 {
		return nil, fmt.Errorf("distribution %s: invalidation: negative limits (%d paths, %d wildcards): give positive numbers, or 0 for CloudFront's", distributionID, inv.MaxPaths, inv.MaxWildcards)
	}
	exact, wild, err := split(p.Paths)
	if err != nil {
		return nil, fmt.Errorf("distribution %s: invalidation: %w", distributionID, err)
	}
	if len(exact)+len(wild) == 0 {
		return nil, nil
	}
	r := &run{
		Invalidator: inv.withDefaults(),
		dist:        distributionID,
		counts:      map[string]counts{},
	}
	ref, err := uuid.NewRandom()
	if err != nil {
		return nil, fmt.Errorf("distribution %s: invalidation: caller reference: %w", distributionID, err)
	}
	r.ref = "keyless-" + ref.String()
	ctx, cancel := context.WithTimeout(ctx, r.MaxWait)
	defer cancel()

	var ids []string
	for len(exact)+len(wild) > 0 {
		inP, inW, err := r.inProgress(ctx)
		if err != nil {
			return ids, err
		}
		n := min(len(exact), max(0, r.MaxPaths-inP))
		w := min(len(wild), max(0, r.MaxWildcards-inW))
		if n+w == 0 {
			r.Logger.Info("waiting for invalidations in progress to complete",
				"distribution", r.dist, "paths_in_progress", inP, "wildcards_in_progress", inW,
				"paths_left", len(exact), "wildcards_left", len(wild))
			if err := r.sleep(ctx, fmt.Sprintf("waiting for room beside the %s and %s in progress (the limits are %d and %d)", plural(inP, "path"), plural(inW, "wildcard"), r.MaxPaths, r.MaxWildcards)); err != nil {
				return ids, err
			}
			continue
		}
		batch := append(slices.Clone(wild[:w]), exact[:n]...)
		id, err := r.create(ctx, batch)
		var tooMany *types.TooManyInvalidationsInProgress
		if errors.As(err, &tooMany) {
			r.Logger.Info("another invalidation took the room first; counting again", "distribution", r.dist)
			if err := r.sleep(ctx, "waiting for room after TooManyInvalidationsInProgress"); err != nil {
				return ids, err
			}
			continue
		}
		if err != nil {
			return ids, err
		}
		ids = append(ids, id)
		r.counts[id] = counts{exact: n, wild: w}
		exact, wild = exact[n:], wild[w:]
	}
	if wait {
		if err := r.waitCompleted(ctx, ids); err != nil {
			return ids, err
		}
	}
	return ids, nil
}

// withDefaults fills in the zero fields.
func (inv Invalidator) withDefaults() Invalidator {
	if inv.MaxPaths == 0 {
		inv.MaxPaths = DefaultMaxPaths
	}
	if inv.MaxWildcards == 0 {
		inv.MaxWildcards = DefaultMaxWildcards
	}
	if inv.PollInterval <= 0 {
		inv.PollInterval = DefaultPollInterval
	}
	if inv.MaxWait <= 0 {
		inv.MaxWait = DefaultMaxWait
	}
	if inv.Logger == nil {
		inv.Logger = slog.New(slog.DiscardHandler)
	}
	return inv
}

// split checks the paths and returns the individual and the wildcard ones,
// sorted and without duplicates.
func split(paths []string) (exact, wild []string, err error) {
	for _, p := range paths {
		if err := CheckPath(p); err != nil {
			return nil, nil, err
		}
		if strings.HasSuffix(p, "*") {
			wild = append(wild, p)
		} else {
			exact = append(exact, p)
		}
	}
	slices.Sort(exact)
	slices.Sort(wild)
	return slices.Compact(exact), slices.Compact(wild), nil
}

// counts are the individual and wildcard paths of an invalidation.
type counts struct{ exact, wild int }

// run is the state of one Run.
type run struct {
	Invalidator
	dist string
	ref  string // the CallerReference stem
	// attempts counts the CreateInvalidation calls, for CallerReferences.
	attempts int
	// counts caches the paths of invalidations, which never change.
	counts map[string]counts
}

// inProgress counts the individual and wildcard paths of the invalidations in
// progress on the distribution.
func (r *run) inProgress(ctx context.Context) (exact, wild int, err error) {
	pages := cloudfront.NewListInvalidationsPaginator(r.API, &cloudfront.ListInvalidationsInput{DistributionId: aws.String(r.dist)})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return 0, 0, fmt.Errorf("distribution %s: ListInvalidations: %w", r.dist, err)
		}
		if page.InvalidationList == nil {
			break
		}
		for _, s := range page.InvalidationList.Items {
			if aws.ToString(s.Status) != statusInProgress {
				continue
			}
			id := aws.ToString(s.Id)
			c, ok := r.counts[id]
			if !ok {
				if c, err = r.get(ctx, id); err != nil {
					return 0, 0, err
				}
				r.counts[id] = c
			}
			exact += c.exact
			wild += c.wild
		}
	}
	return exact, wild, nil
}

// get returns the path counts of an invalidation.
func (r *run) get(ctx context.Context, id string) (counts, error) {
	out, err := r.API.GetInvalidation(ctx, &cloudfront.GetInvalidationInput{DistributionId: aws.String(r.dist), Id: aws.String(id)})
	if err != nil {
		return counts{}, fmt.Errorf("distribution %s: GetInvalidation %s: %w", r.dist, id, err)
	}
	var c counts
	if out.Invalidation != nil && out.Invalidation.InvalidationBatch != nil && out.Invalidation.InvalidationBatch.Paths != nil {
		for _, p := range out.Invalidation.InvalidationBatch.Paths.Items {
			if strings.HasSuffix(p, "*") {
				c.wild++
			} else {
				c.exact++
			}
		}
	}
	return c, nil
}

// create creates an invalidation of batch, with a CallerReference of its own
// (also when a previous attempt was refused).
func (r *run) create(ctx context.Context, batch []string) (string, error) {
	r.attempts++
	ref := fmt.Sprintf("%s-%d", r.ref, r.attempts)
	out, err := r.API.CreateInvalidation(ctx, &cloudfront.CreateInvalidationInput{
		DistributionId: aws.String(r.dist),
		InvalidationBatch: &types.InvalidationBatch{
			CallerReference: aws.String(ref),
			Paths:           &types.Paths{Quantity: aws.Int32(int32(len(batch))), Items: batch},
		},
	})
	if err != nil {
		return "", fmt.Errorf("distribution %s: CreateInvalidation of %s: %w", r.dist, plural(len(batch), "path"), err)
	}
	if out.Invalidation == nil || aws.ToString(out.Invalidation.Id) == "" {
		return "", fmt.Errorf("distribution %s: CreateInvalidation of %s: the reply has no invalidation ID", r.dist, plural(len(batch), "path"))
	}
	id := aws.ToString(out.Invalidation.Id)
	r.Logger.Info("created invalidation", "distribution", r.dist, "id", id, "paths", len(batch), "caller_reference", ref)
	return id, nil
}

// sleep waits one poll interval, or returns an error naming what it was
// waiting for when ctx ends first.
func (r *run) sleep(ctx context.Context, what string) error {
	stopped := func() error {
		return fmt.Errorf("distribution %s: %s: stopped waiting (Run waits at most %v): %w", r.dist, what, r.MaxWait, context.Cause(ctx))
	}
	if ctx.Err() != nil {
		return stopped()
	}
	t := time.NewTimer(r.PollInterval)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return stopped()
	}
}

// waitCompleted waits for the invalidations to complete.
func (r *run) waitCompleted(ctx context.Context, ids []string) error {
	waiter := cloudfront.NewInvalidationCompletedWaiter(r.API, func(o *cloudfront.InvalidationCompletedWaiterOptions) {
		o.MinDelay = r.PollInterval
		o.MaxDelay = 4 * r.PollInterval
	})
	for _, id := range ids {
		r.Logger.Info("waiting for invalidation to complete", "distribution", r.dist, "id", id)
		left := r.MaxWait
		if d, ok := ctx.Deadline(); ok {
			left = time.Until(d)
		}
		if left <= 0 {
			return fmt.Errorf("distribution %s: waiting for invalidation %s to complete: stopped waiting (Run waits at most %v): %w", r.dist, id, r.MaxWait, context.DeadlineExceeded)
		}
		err := waiter.Wait(ctx, &cloudfront.GetInvalidationInput{DistributionId: aws.String(r.dist), Id: aws.String(id)}, left)
		if err != nil {
			return fmt.Errorf("distribution %s: waiting for invalidation %s to complete (GetInvalidation): %w", r.dist, id, err)
		}
	}
	return nil
}
