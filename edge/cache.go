package edge

import (
	"container/list"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Default cache limits.
const (
	// DefaultMaxObjectBytes is the largest body cached; larger objects stream
	// through from the origin on every request.
	DefaultMaxObjectBytes = 10 << 20
	// DefaultMaxBytes bounds the bodies cached in total.
	DefaultMaxBytes = 256 << 20
)

// CacheConfig configures a Cache.
type CacheConfig struct {
	// MaxObjectBytes is the largest body cached (default DefaultMaxObjectBytes).
	MaxObjectBytes int64
	// MaxBytes bounds the cached bodies in total (default DefaultMaxBytes);
	// the least recently used entries are evicted first.
	MaxBytes int64
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// Cache is the edge cache: object bodies and metadata per distribution and
// viewer path, each until its TTL ends or an invalidation evicts it. It is
// safe for concurrent use and implements cloudfront.Listener.
type Cache struct {
	cfg CacheConfig

	mu      sync.Mutex
	entries map[cacheKey]*list.Element // of *entry
	lru     *list.List                 // most recently used first
	bytes   int64
	// gen counts invalidations, so that a fetch that started before one
	// does not store what may be stale.
	gen uint64
}

type cacheKey struct{ dist, path string }

// entry is one cached response.
type entry struct {
	key     cacheKey
	meta    ObjectMeta
	body    []byte
	stored  time.Time // when it was fetched or last revalidated
	expires time.Time
}

// NewCache returns an empty cache.
func NewCache(cfg CacheConfig) *Cache {
	if cfg.MaxObjectBytes <= 0 {
		cfg.MaxObjectBytes = DefaultMaxObjectBytes
	}
	if cfg.MaxBytes <= 0 {
		cfg.MaxBytes = DefaultMaxBytes
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Cache{cfg: cfg, entries: map[cacheKey]*list.Element{}, lru: list.New()}
}

// lookup returns the entry of a path, fresh or not (nil if none), and whether
// it is fresh, marking it used.
func (c *Cache) lookup(dist, path string) (e *entry, fresh bool, gen uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	el := c.entries[cacheKey{dist, path}]
	if el == nil {
		return nil, false, c.gen
	}
	c.lru.MoveToFront(el)
	e = el.Value.(*entry)
	return e, c.cfg.Now().Before(e.expires), c.gen
}

// store caches e unless an invalidation happened since gen was read, e's
// body is over the object limit, or its TTL is not positive. It reports
// whether it stored e.
func (c *Cache) store(e *entry, gen uint64) bool {
	size := int64(len(e.body))
	if size > c.cfg.MaxObjectBytes || size > c.cfg.MaxBytes || !e.expires.After(e.stored) {
		return false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gen != gen {
		return false
	}
	c.removeLocked(e.key)
	c.entries[e.key] = c.lru.PushFront(e)
	c.bytes += size
	for c.bytes > c.cfg.MaxBytes {
		c.removeLocked(c.lru.Back().Value.(*entry).key)
	}
	return true
}

// removeLocked evicts one path, if cached.
func (c *Cache) removeLocked(k cacheKey) {
	el := c.entries[k]
	if el == nil {
		return
	}
	c.lru.Remove(el)
	delete(c.entries, k)
	c.bytes -= int64(len(el.Value.(*entry).body))
}

// Invalidated evicts the paths of a distribution: a path ending in "*" every
// cached path it prefixes, any other path exactly that path. It implements
// cloudfront.Listener.
func (c *Cache) Invalidated(distributionID string, paths []string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	for _, p := range paths {
		// Invalidation paths are URL-encoded (CloudFront's rule for spaces,
		// non-ASCII and unsafe characters); entries are keyed by the decoded
		// path of the request.
		if decoded, err := url.PathUnescape(p); err == nil {
			p = decoded
		}
		if prefix, ok := strings.CutSuffix(p, "*"); ok {
			for k := range c.entries {
				if k.dist == distributionID && strings.HasPrefix(k.path, prefix) {
					c.removeLocked(k)
				}
			}
			continue
		}
		c.removeLocked(cacheKey{distributionID, p})
	}
}

// Len returns how many responses are cached and their body bytes in total.
func (c *Cache) Len() (entries int, bytes int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.entries), c.bytes
}

// TTL is how long CloudFront caches an object with meta fetched at now, for a
// distribution with the given TTL bounds: s-maxage, else max-age, of its
// Cache-Control, else the time to its Expires, each clamped to [minTTL,
// maxTTL]; else defaultTTL. Cache-Control no-store, no-cache or private give
// minTTL (zero by default: not cached), as CloudFront does.
func TTL(meta ObjectMeta, now time.Time, minTTL, defaultTTL, maxTTL time.Duration) time.Duration {
	clamp := func(d time.Duration) time.Duration {
		if d < minTTL {
			d = minTTL
		}
		if maxTTL > 0 && d > maxTTL {
			d = maxTTL
		}
		return d
	}
	var maxAge, sMaxAge = -1, -1
	for _, dir := range strings.Split(meta.CacheControl, ",") {
		name, val, _ := strings.Cut(strings.TrimSpace(dir), "=")
		switch strings.ToLower(strings.TrimSpace(name)) {
		case "no-store", "no-cache", "private":
			return minTTL
		case "max-age":
			maxAge = seconds(val)
		case "s-maxage":
			sMaxAge = seconds(val)
		}
	}
	switch {
	case sMaxAge >= 0:
		return clamp(time.Duration(sMaxAge) * time.Second)
	case maxAge >= 0:
		return clamp(time.Duration(maxAge) * time.Second)
	}
	if meta.Expires != "" {
		if t, err := http.ParseTime(meta.Expires); err == nil {
			return clamp(t.Sub(now).Truncate(time.Second))
		}
		// An invalid Expires is a date in the past (RFC 9111 5.3).
		return clamp(0)
	}
	return defaultTTL
}

// maxSeconds caps delta-seconds (RFC 9111 1.2.2 suggests 2^31).
const maxSeconds = 1 << 31

// seconds parses a delta-seconds directive value, -1 if invalid.
func seconds(v string) int {
	v = strings.Trim(strings.TrimSpace(v), `"`)
	n, err := strconv.Atoi(v)
	if errors.Is(err, strconv.ErrRange) && !strings.HasPrefix(v, "-") {
		return maxSeconds // too large: as large as allowed
	}
	if err != nil || n < 0 {
		return -1
	}
	return min(n, maxSeconds)
}
