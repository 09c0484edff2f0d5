package bench

import (
	"math"
	"math/bits"
	"time"
)

// Histogram records latencies in log-linear buckets, in the manner of HDR
// histograms: exact below 256 ns, then 128 linear sub-buckets per power of two,
// so that any recorded value is reported within 1/128 (0.8 %) of what it was,
// from nanoseconds to hours, in a fixed 60 KB. The zero value is empty and
// ready to use; a Histogram is not safe for concurrent use.
type Histogram struct {
	counts [histBuckets]uint64
	n      uint64
	sum    float64 // nanoseconds, for the mean
	min    int64
	max    int64
}

const (
	subBits     = 7
	subBuckets  = 1 << subBits // 128
	histBuckets = (64 - subBits) * subBuckets
)

// bucketOf is the index of the bucket holding v nanoseconds (v >= 0).
func bucketOf(v int64) int {
	if v < 2*subBuckets {
		return int(v)
	}
	e := bits.Len64(uint64(v)) - subBits - 1 // v >> e is in [128, 256)
	return e*subBuckets + int(v>>e)
}

// bucketHigh is the largest value, in nanoseconds, that falls in bucket i.
func bucketHigh(i int) int64 {
	if i < 2*subBuckets {
		return int64(i)
	}
	e := i/subBuckets - 1
	m := int64(i%subBuckets + subBuckets)
	return (m+1)<<e - 1
}

// Record adds one latency. Negative durations count as zero.
func (h *Histogram) Record(d time.Duration) {
	v := max(int64(d), 0)
	h.counts[bucketOf(v)]++
	if h.n == 0 || v < h.min {
		h.min = v
	}
	if v > h.max {
		h.max = v
	}
	h.n++
	h.sum += float64(v)
}

// Merge adds every value recorded in o to h.
func (h *Histogram) Merge(o *Histogram) {
	if o.n == 0 {
		return
	}
	for i, c := range o.counts {
		h.counts[i] += c
	}
	if h.n == 0 || o.min < h.min {
		h.min = o.min
	}
	h.max = max(h.max, o.max)
	h.n += o.n
	h.sum += o.sum
}

// Reset empties h.
func (h *Histogram) Reset() { *h = Histogram{} }

// Count is the number of recorded values.
func (h *Histogram) Count() uint64 { return h.n }

// Max is the largest recorded value (exact), 0 when empty.
func (h *Histogram) Max() time.Duration { return time.Duration(h.max) }

// Min is the smallest recorded value (exact), 0 when empty.
func (h *Histogram) Min() time.Duration { return time.Duration(h.min) }

// Mean is the mean of the recorded values (exact), 0 when empty.
func (h *Histogram) Mean() time.Duration {
	if h.n == 0 {
		return 0
	}
	return time.Duration(h.sum / float64(h.n))
}

// Quantile is the value at or below which the fraction q (0 to 1) of the
// recorded values lie, reported as the upper bound of its bucket (but never
// above Max): within 0.8 % above the true value. It is 0 when h is empty.
func (h *Histogram) Quantile(q float64) time.Duration {
	if h.n == 0 {
		return 0
	}
	rank := uint64(math.Ceil(q * float64(h.n)))
	rank = min(max(rank, 1), h.n)
	var seen uint64
	for i, c := range h.counts {
		seen += c
		if seen >= rank {
			return time.Duration(min(max(bucketHigh(i), h.min), h.max))
		}
	}
	return time.Duration(h.max)
}
