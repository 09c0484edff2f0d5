package bench

import (
	"math/rand/v2"
	"testing"
	"time"
)

func TestHistogramBucketsCoverEveryValueWithinAPercent(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for range 100000 {
		v := int64(r.Uint64N(1 << uint(r.IntN(62))))
		i := bucketOf(v)
		if i < 0 || i >= histBuckets {
			t.Fatalf("bucketOf(%d) = %d, outside [0, %d)", v, i, histBuckets)
		}
		hi := bucketHigh(i)
		lo := int64(0)
		if i > 0 {
			lo = bucketHigh(i-1) + 1
		}
		if v < lo || v > hi {
			t.Fatalf("value %d in bucket %d of [%d, %d]", v, i, lo, hi)
		}
		if width := hi - lo + 1; width > 1 && float64(width) > float64(lo)/subBuckets+1 {
			t.Fatalf("bucket %d [%d, %d] is wider than 1/%d of its values", i, lo, hi, subBuckets)
		}
	}
}

func TestHistogramQuantiles(t *testing.T) {
	var h Histogram
	for i := 1; i <= 10000; i++ { // 1µs … 10ms, uniform
		h.Record(time.Duration(i) * time.Microsecond)
	}
	for _, tc := range []struct {
		q    float64
		want time.Duration
	}{
		{0.5, 5 * time.Millisecond},
		{0.99, 9900 * time.Microsecond},
		{0.999, 9990 * time.Microsecond},
		{1, 10 * time.Millisecond},
		{0, time.Microsecond},
	} {
		got := h.Quantile(tc.q)
		if got < tc.want || float64(got) > float64(tc.want)*(1+1.0/subBuckets) {
			t.Errorf("Quantile(%g) = %v, want %v (at most 0.8%% above)", tc.q, got, tc.want)
		}
	}
	if h.Count() != 10000 || h.Min() != time.Microsecond || h.Max() != 10*time.Millisecond {
		t.Errorf("count %d min %v max %v, want 10000, 1µs, 10ms", h.Count(), h.Min(), h.Max())
	}
	if m := h.Mean(); m < 5000*time.Microsecond || m > 5001*time.Microsecond {
		t.Errorf("mean %v, want 5.0005ms", m)
	}
}

func TestHistogramMergeAndEmpty(t *testing.T) {
	var a, b, empty Histogram
	if empty.Quantile(0.99) != 0 || empty.Mean() != 0 || empty.Max() != 0 {
		t.Error("an empty histogram reports non-zero figures")
	}
	a.Record(time.Millisecond)
	b.Record(3 * time.Millisecond)
	b.Record(-time.Second) // counts as zero
	a.Merge(&b)
	a.Merge(&empty)
	if a.Count() != 3 || a.Min() != 0 || a.Max() != 3*time.Millisecond {
		t.Errorf("merged: count %d min %v max %v, want 3, 0, 3ms", a.Count(), a.Min(), a.Max())
	}
	if got := a.Quantile(0.5); got < time.Millisecond || got > time.Millisecond+time.Millisecond/subBuckets {
		t.Errorf("merged median %v, want 1ms", got)
	}
}
