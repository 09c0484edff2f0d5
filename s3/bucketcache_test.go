package s3

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/keyless-dev/keyless/store"
	"github.com/keyless-dev/keyless/store/sqlite"
)

// countingStore counts GetBucket reads.
type countingStore struct {
	store.S3Store
	reads atomic.Int64
}

func (c *countingStore) GetBucket(ctx context.Context, name string) (store.Bucket, error) {
	c.reads.Add(1)
	return c.S3Store.GetBucket(ctx, name)
}

// TestBucketCache: a bucket is read from the store once per TTL, missing ones
// too; a change through the cache is seen at once; a read that raced a change
// does not bring the old bucket back.
func TestBucketCache(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, sqlite.Memory)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	cs := &countingStore{S3Store: st}
	bc := bucketCache{ttl: time.Hour}
	if _, ok, err := bc.get(ctx, cs, "site"); ok || err != nil {
		t.Fatalf("get missing bucket: ok %v, err %v", ok, err)
	}
	if _, ok, _ := bc.get(ctx, cs, "site"); ok || cs.reads.Load() != 1 {
		t.Fatalf("a missing bucket read %d times, want once (cached)", cs.reads.Load())
	}
	if err := st.CreateBucket(ctx, store.Bucket{Name: "site", Owner: "1", CreatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	bc.changed("site")
	b, ok, err := bc.get(ctx, cs, "site")
	if !ok || err != nil || b.Name != "site" {
		t.Fatalf("after the change: %+v ok %v err %v", b, ok, err)
	}
	for range 5 {
		bc.get(ctx, cs, "site")
	}
	if n := cs.reads.Load(); n != 2 {
		t.Errorf("%d store reads, want 2", n)
	}

	// A read that began before a change stores nothing.
	gen := bc.gen
	bc.changed("site")
	if bc.gen == gen {
		t.Fatal("changed did not bump the generation")
	}
	bc.mu.Lock()
	_, cached := bc.entries["site"]
	bc.mu.Unlock()
	if cached {
		t.Error("the changed bucket is still cached")
	}

	off := bucketCache{}
	off.get(ctx, cs, "site")
	off.get(ctx, cs, "site")
	if n := cs.reads.Load(); n != 4 {
		t.Errorf("a disabled cache read the store %d times in all, want 4", n)
	}
}
