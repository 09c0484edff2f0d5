package s3

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/keyless-dev/keyless/store"
)

// DefaultBucketCacheTTL is how long the service reuses a bucket it read from
// the store (Config.BucketCacheTTL). Every request needs its bucket (its
// policy, ownership, existence) and the read is a tenth of a small request's
// CPU; buckets change rarely. The service's own changes take effect at once;
// another keyless up sharing the store (PostgreSQL) sees them within the TTL,
// as AWS says bucket policy and ACL changes can take a moment to apply.
const DefaultBucketCacheTTL = time.Second

// bucketCache keeps recently read buckets by name. A read that raced a change
// does not store what it read: each change bumps gen, and a read stores its
// result only when gen is what it was before the read began.
type bucketCache struct {
	ttl     time.Duration // 0: disabled
	mu      sync.Mutex
	gen     uint64
	entries map[string]cachedBucket
}

type cachedBucket struct {
	b       *store.Bucket // nil: no such bucket
	expires time.Time
}

// get returns the bucket (ok false when there is none), from the cache while
// fresh, else from st.
func (bc *bucketCache) get(ctx context.Context, st store.S3Store, name string) (store.Bucket, bool, error) {
	if bc.ttl <= 0 {
		return readBucket(ctx, st, name)
	}
	now := time.Now()
	bc.mu.Lock()
	e, hit := bc.entries[name]
	gen := bc.gen
	bc.mu.Unlock()
	if hit && now.Before(e.expires) {
		if e.b == nil {
			return store.Bucket{}, false, nil
		}
		return *e.b, true, nil
	}
	b, ok, err := readBucket(ctx, st, name)
	if err != nil {
		return b, ok, err
	}
	bc.mu.Lock()
	if bc.gen == gen {
		if bc.entries == nil {
			bc.entries = map[string]cachedBucket{}
		}
		e := cachedBucket{expires: now.Add(bc.ttl)}
		if ok {
			e.b = &b
		}
		bc.entries[name] = e
	}
	bc.mu.Unlock()
	return b, ok, nil
}

// changed forgets a bucket the service is about to change (or has changed),
// and keeps reads in flight from storing what they read before the change.
func (bc *bucketCache) changed(name string) {
	bc.mu.Lock()
	bc.gen++
	delete(bc.entries, name)
	bc.mu.Unlock()
}

// readBucket reads a bucket from the store; ok false when there is none.
func readBucket(ctx context.Context, st store.S3Store, name string) (store.Bucket, bool, error) {
	b, err := st.GetBucket(ctx, name)
	if errors.Is(err, store.ErrNotFound) {
		return store.Bucket{}, false, nil
	}
	if err != nil {
		return store.Bucket{}, false, err
	}
	return b, true, nil
}
