package edge

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/keyless-dev/keyless/cloudfront"
)

// fakeClock is a settable clock.
type fakeClock struct{ t time.Time }

func (c *fakeClock) Now() time.Time          { return c.t }
func (c *fakeClock) advance(d time.Duration) { c.t = c.t.Add(d) }

// object is one object of the fake origin.
type object struct {
	body []byte
	meta ObjectMeta
}

// fakeOrigin serves objects from a map and counts reads.
type fakeOrigin struct {
	mu      sync.Mutex
	objects map[string]object // by bucket/key
	gets    int
}

func (o *fakeOrigin) put(bucket, key, body string, meta ObjectMeta) {
	o.mu.Lock()
	defer o.mu.Unlock()
	meta.Size = int64(len(body))
	if meta.ETag == "" {
		meta.ETag = "etag-" + body[:min(len(body), 8)]
	}
	o.objects[bucket+"/"+key] = object{[]byte(body), meta}
}

func (o *fakeOrigin) Get(_ context.Context, bucket, key string) (io.ReadCloser, ObjectMeta, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.gets++
	obj, ok := o.objects[bucket+"/"+key]
	if !ok {
		return nil, ObjectMeta{}, ErrNotFound
	}
	return io.NopCloser(bytes.NewReader(obj.body)), obj.meta, nil
}

type fakeSites map[string]cloudfront.Site

func (s fakeSites) Site(id string) (cloudfront.Site, bool) { v, ok := s[id]; return v, ok }

const dist = "EDIST0001"

// fixture is a handler over a fake origin and clock, for distribution dist
// (bucket site, origin path /www, default TTL 1h, max TTL 1d).
type fixture struct {
	t      *testing.T
	clock  *fakeClock
	origin *fakeOrigin
	cache  *Cache
	h      *Handler
}

func newFixture(t *testing.T, cc CacheConfig) *fixture {
	f := &fixture{t: t, clock: &fakeClock{time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}, origin: &fakeOrigin{objects: map[string]object{}}}
	cc.Now = f.clock.Now
	f.cache = NewCache(cc)
	h, err := New(Config{Cache: f.cache, Origin: f.origin, Sites: fakeSites{
		dist: {ID: dist, Enabled: true, Bucket: "site", OriginPath: "/www", DefaultRootObject: "index.html",
			DefaultTTL: time.Hour, MaxTTL: 24 * time.Hour},
		"EOFF": {ID: "EOFF", Bucket: "site"},
	}})
	if err != nil {
		t.Fatal(err)
	}
	f.h = h
	return f
}

// get requests path of dist by Host with method.
func (f *fixture) do(method, path string) *httptest.ResponseRecorder {
	f.t.Helper()
	r := httptest.NewRequest(method, "http://x"+path, nil)
	r.Host = strings.ToLower(dist) + ".cloudfront.localhost:8400"
	w := httptest.NewRecorder()
	f.h.ServeHTTP(w, r)
	return w
}

// expect checks a response's status, X-Cache and body.
func (f *fixture) expect(w *httptest.ResponseRecorder, status int, xCache, body string) {
	f.t.Helper()
	if w.Code != status || w.Header().Get("X-Cache") != xCache || w.Body.String() != body {
		f.t.Fatalf("got %d %q %q, want %d %q %q", w.Code, w.Header().Get("X-Cache"), w.Body.String(), status, xCache, body)
	}
}

func TestMissThenHitWithAge(t *testing.T) {
	f := newFixture(t, CacheConfig{})
	f.origin.put("site", "www/index.html", "v1", ObjectMeta{ContentType: "text/html"})
	w := f.do("GET", "/")
	f.expect(w, 200, "Miss from cloudfront", "v1")
	if w.Header().Get("Age") != "" || w.Header().Get("Content-Type") != "text/html" || w.Header().Get("ETag") != `"etag-v1"` {
		t.Errorf("miss headers: %v", w.Header())
	}
	f.clock.advance(90 * time.Second)
	f.origin.put("site", "www/index.html", "v2", ObjectMeta{})
	w = f.do("GET", "/")
	f.expect(w, 200, "Hit from cloudfront", "v1")
	if w.Header().Get("Age") != "90" {
		t.Errorf("Age = %q, want 90", w.Header().Get("Age"))
	}
	if f.origin.gets != 1 {
		t.Errorf("origin read %d times, want 1", f.origin.gets)
	}
}

func TestDefaultTTLThenRefetch(t *testing.T) {
	f := newFixture(t, CacheConfig{})
	f.origin.put("site", "www/a.txt", "v1", ObjectMeta{})
	f.expect(f.do("GET", "/a.txt"), 200, "Miss from cloudfront", "v1")
	f.clock.advance(time.Hour - time.Second)
	f.expect(f.do("GET", "/a.txt"), 200, "Hit from cloudfront", "v1")
	f.origin.put("site", "www/a.txt", "v2", ObjectMeta{})
	f.clock.advance(time.Second)
	f.expect(f.do("GET", "/a.txt"), 200, "Miss from cloudfront", "v2")
}

func TestExpiredUnchangedIsRefreshHit(t *testing.T) {
	f := newFixture(t, CacheConfig{})
	f.origin.put("site", "www/a.txt", "v1", ObjectMeta{CacheControl: "max-age=10"})
	f.do("GET", "/a.txt")
	f.clock.advance(11 * time.Second)
	w := f.do("GET", "/a.txt")
	f.expect(w, 200, "RefreshHit from cloudfront", "v1")
	if w.Header().Get("Age") != "0" {
		t.Errorf("Age = %q, want 0", w.Header().Get("Age"))
	}
}

func TestCacheControlTTL(t *testing.T) {
	f := newFixture(t, CacheConfig{})
	f.origin.put("site", "www/a.txt", "v1", ObjectMeta{CacheControl: "public, max-age=60"})
	f.origin.put("site", "www/s.txt", "s1", ObjectMeta{CacheControl: "max-age=5, s-maxage=120"})
	f.origin.put("site", "www/long.txt", "l1", ObjectMeta{CacheControl: "max-age=31536000"})
	for _, p := range []string{"/a.txt", "/s.txt", "/long.txt"} {
		f.do("GET", p)
	}
	f.origin.put("site", "www/a.txt", "v2", ObjectMeta{})
	f.origin.put("site", "www/s.txt", "s2", ObjectMeta{})
	f.origin.put("site", "www/long.txt", "l2", ObjectMeta{})
	f.clock.advance(59 * time.Second)
	f.expect(f.do("GET", "/a.txt"), 200, "Hit from cloudfront", "v1")
	f.clock.advance(time.Second)
	f.expect(f.do("GET", "/a.txt"), 200, "Miss from cloudfront", "v2")
	f.expect(f.do("GET", "/s.txt"), 200, "Hit from cloudfront", "s1") // s-maxage wins over max-age
	f.clock.advance(60 * time.Second)
	f.expect(f.do("GET", "/s.txt"), 200, "Miss from cloudfront", "s2")
	// A year's max-age is clamped to the distribution's MaxTTL (1 day).
	f.clock.advance(24*time.Hour - 120*time.Second - time.Second)
	f.expect(f.do("GET", "/long.txt"), 200, "Hit from cloudfront", "l1")
	f.clock.advance(time.Second)
	f.expect(f.do("GET", "/long.txt"), 200, "Miss from cloudfront", "l2")
}

func TestExpiresTTL(t *testing.T) {
	f := newFixture(t, CacheConfig{})
	exp := f.clock.Now().Add(30 * time.Second).Format(http.TimeFormat)
	f.origin.put("site", "www/a.txt", "v1", ObjectMeta{Expires: exp})
	w := f.do("GET", "/a.txt")
	if w.Header().Get("Expires") != exp {
		t.Errorf("Expires = %q, want %q", w.Header().Get("Expires"), exp)
	}
	f.origin.put("site", "www/a.txt", "v2", ObjectMeta{})
	f.clock.advance(29 * time.Second)
	f.expect(f.do("GET", "/a.txt"), 200, "Hit from cloudfront", "v1")
	f.clock.advance(time.Second)
	f.expect(f.do("GET", "/a.txt"), 200, "Miss from cloudfront", "v2")
}

func TestNoStoreNotCached(t *testing.T) {
	for _, cc := range []string{"no-store", "no-cache", "private, max-age=600"} {
		f := newFixture(t, CacheConfig{})
		f.origin.put("site", "www/a.txt", "v1", ObjectMeta{CacheControl: cc})
		f.expect(f.do("GET", "/a.txt"), 200, "Miss from cloudfront", "v1")
		f.expect(f.do("GET", "/a.txt"), 200, "Miss from cloudfront", "v1")
		if n, _ := f.cache.Len(); n != 0 || f.origin.gets != 2 {
			t.Errorf("%s: %d cached, %d origin reads; want 0 and 2", cc, n, f.origin.gets)
		}
	}
}

func TestTTL(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		meta ObjectMeta
		want time.Duration
	}{
		{ObjectMeta{}, time.Hour},
		{ObjectMeta{CacheControl: "max-age=10"}, 30 * time.Second},   // clamped up to MinTTL
		{ObjectMeta{CacheControl: "no-store"}, 30 * time.Second},     // MinTTL
		{ObjectMeta{CacheControl: `max-age="90"`}, 90 * time.Second}, // quoted
		{ObjectMeta{CacheControl: "max-age=99999999999999999999"}, 2 * time.Hour},
		{ObjectMeta{Expires: "not a date"}, 30 * time.Second},
		{ObjectMeta{Expires: now.Add(-time.Hour).Format(http.TimeFormat)}, 30 * time.Second},
		{ObjectMeta{CacheControl: "max-age=100", Expires: now.Add(time.Hour).Format(http.TimeFormat)}, 100 * time.Second},
	} {
		if got := TTL(c.meta, now, 30*time.Second, time.Hour, 2*time.Hour); got != c.want {
			t.Errorf("TTL(%+v) = %v, want %v", c.meta, got, c.want)
		}
	}
}

func TestPrefixInvalidation(t *testing.T) {
	f := newFixture(t, CacheConfig{})
	for _, p := range []string{"index.html", "css/a.css", "css/b.css", "js/app.js"} {
		f.origin.put("site", "www/"+p, p+" v1", ObjectMeta{})
		f.do("GET", "/"+p)
	}
	f.do("GET", "/")
	for _, p := range []string{"index.html", "css/a.css", "css/b.css", "js/app.js"} {
		f.origin.put("site", "www/"+p, p+" v2", ObjectMeta{})
	}
	f.h.Invalidated("EOTHER", []string{"/*"}) // another distribution's: no effect
	f.h.Invalidated(dist, []string{"/css/*"})
	f.expect(f.do("GET", "/css/a.css"), 200, "Miss from cloudfront", "css/a.css v2")
	f.expect(f.do("GET", "/css/b.css"), 200, "Miss from cloudfront", "css/b.css v2")
	f.expect(f.do("GET", "/js/app.js"), 200, "Hit from cloudfront", "js/app.js v1")
	f.h.Invalidated(dist, []string{"/*"})
	f.expect(f.do("GET", "/js/app.js"), 200, "Miss from cloudfront", "js/app.js v2")
	f.expect(f.do("GET", "/"), 200, "Miss from cloudfront", "index.html v2")
	if n, size := f.cache.Len(); n != 2 || size != int64(len("index.html v2")+len("js/app.js v2")) {
		t.Errorf("cache holds %d entries of %d bytes", n, size)
	}
}

func TestExactInvalidation(t *testing.T) {
	f := newFixture(t, CacheConfig{})
	for _, p := range []string{"a.txt", "a.txt.bak", "b.txt"} {
		f.origin.put("site", "www/"+p, p+" v1", ObjectMeta{})
		f.do("GET", "/"+p)
		f.origin.put("site", "www/"+p, p+" v2", ObjectMeta{})
	}
	f.h.Invalidated(dist, []string{"/a.txt"})
	f.expect(f.do("GET", "/a.txt"), 200, "Miss from cloudfront", "a.txt v2")
	f.expect(f.do("GET", "/a.txt.bak"), 200, "Hit from cloudfront", "a.txt.bak v1")
	f.expect(f.do("GET", "/b.txt"), 200, "Hit from cloudfront", "b.txt v1")
}

// Invalidation paths come URL-encoded (spaces, non-ASCII): they evict the
// objects requested by those names.
func TestEncodedInvalidation(t *testing.T) {
	f := newFixture(t, CacheConfig{})
	for _, p := range []string{"my file.html", "café/menu.html", "café/wine.html"} {
		f.origin.put("site", "www/"+p, p+" v1", ObjectMeta{})
		f.do("GET", "/"+(&url.URL{Path: p}).EscapedPath())
		f.origin.put("site", "www/"+p, p+" v2", ObjectMeta{})
	}
	f.h.Invalidated(dist, []string{"/my%20file.html", "/caf%C3%A9/*"})
	for _, p := range []string{"my file.html", "café/menu.html", "café/wine.html"} {
		f.expect(f.do("GET", "/"+(&url.URL{Path: p}).EscapedPath()), 200, "Miss from cloudfront", p+" v2")
	}
}

// An invalidation during an origin read keeps what that read fetched out of the cache.
func TestInvalidationDuringFetchNotCached(t *testing.T) {
	f := newFixture(t, CacheConfig{})
	f.origin.put("site", "www/a.txt", "v1", ObjectMeta{})
	_, _, gen := f.cache.lookup(dist, "/a.txt")
	f.h.Invalidated(dist, []string{"/a.txt"})
	now := f.clock.Now()
	if f.cache.store(&entry{key: cacheKey{dist, "/a.txt"}, body: []byte("v1"), stored: now, expires: now.Add(time.Hour)}, gen) {
		t.Error("stored a fetch that started before an invalidation")
	}
}

func TestLargeObjectsStreamUncached(t *testing.T) {
	f := newFixture(t, CacheConfig{MaxObjectBytes: 10})
	big := strings.Repeat("x", 11)
	f.origin.put("site", "www/big.bin", big, ObjectMeta{})
	f.expect(f.do("GET", "/big.bin"), 200, "Miss from cloudfront", big)
	w := f.do("GET", "/big.bin")
	f.expect(w, 200, "Miss from cloudfront", big)
	if w.Header().Get("Content-Length") != "11" || f.origin.gets != 2 {
		t.Errorf("Content-Length %q, %d origin reads", w.Header().Get("Content-Length"), f.origin.gets)
	}
	if n, _ := f.cache.Len(); n != 0 {
		t.Errorf("%d cached", n)
	}
}

func TestTotalLimitEvictsLeastRecentlyUsed(t *testing.T) {
	f := newFixture(t, CacheConfig{MaxBytes: 10})
	for _, p := range []string{"a", "b", "c"} {
		f.origin.put("site", "www/"+p, p+"AAA", ObjectMeta{}) // 4 bytes each
	}
	f.do("GET", "/a")
	f.do("GET", "/b")
	f.do("GET", "/a") // a is now the most recently used
	f.do("GET", "/c") // 12 bytes: evicts b
	f.expect(f.do("GET", "/a"), 200, "Hit from cloudfront", "aAAA")
	f.expect(f.do("GET", "/c"), 200, "Hit from cloudfront", "cAAA")
	f.expect(f.do("GET", "/b"), 200, "Miss from cloudfront", "bAAA")
	if n, size := f.cache.Len(); n != 2 || size != 8 {
		t.Errorf("cache holds %d entries of %d bytes, want 2 of 8", n, size)
	}
}

func TestMissingObject404(t *testing.T) {
	f := newFixture(t, CacheConfig{})
	w := f.do("GET", "/nope.html")
	if w.Code != 404 || w.Header().Get("X-Cache") != "Error from cloudfront" || !strings.Contains(w.Body.String(), "<Code>NoSuchKey</Code>") ||
		!strings.Contains(w.Body.String(), "<Key>www/nope.html</Key>") {
		t.Errorf("got %d %v %s", w.Code, w.Header(), w.Body)
	}
}

func TestHead(t *testing.T) {
	f := newFixture(t, CacheConfig{})
	f.origin.put("site", "www/a.txt", "hello", ObjectMeta{ContentType: "text/plain"})
	w := f.do("HEAD", "/a.txt")
	f.expect(w, 200, "Miss from cloudfront", "")
	if w.Header().Get("Content-Length") != "5" || w.Header().Get("Content-Type") != "text/plain" {
		t.Errorf("HEAD headers: %v", w.Header())
	}
	f.expect(f.do("HEAD", "/a.txt"), 200, "Hit from cloudfront", "")
	f.expect(f.do("GET", "/a.txt"), 200, "Hit from cloudfront", "hello")
	if w := f.do("HEAD", "/nope"); w.Code != 404 {
		t.Errorf("HEAD of a missing object: %d", w.Code)
	}
}

func TestConditionalGet(t *testing.T) {
	f := newFixture(t, CacheConfig{})
	f.origin.put("site", "www/a.txt", "hello", ObjectMeta{})
	f.do("GET", "/a.txt")
	r := httptest.NewRequest("GET", "/keyless/v1/cloudfront/"+dist+"/a.txt", nil)
	r.Header.Set("If-None-Match", `"etag-hello"`)
	w := httptest.NewRecorder()
	f.h.ServeHTTP(w, r)
	if w.Code != http.StatusNotModified || w.Header().Get("X-Cache") != "Hit from cloudfront" {
		t.Errorf("got %d %v", w.Code, w.Header())
	}
}

func TestRoute(t *testing.T) {
	for _, c := range []struct {
		host, path   string
		id, viewPath string
		ok           bool
	}{
		{"edist0001.cloudfront.localhost:8400", "/a/b.html", "EDIST0001", "/a/b.html", true},
		{"EDist0001.CloudFront.LocalHost.", "/", "EDIST0001", "/", true},
		{"127.0.0.1:8400", "/keyless/v1/cloudfront/EDIST0001/css/a.css", "EDIST0001", "/css/a.css", true},
		{"127.0.0.1:8400", "/keyless/v1/cloudfront/EDIST0001", "EDIST0001", "/", true},
		{"127.0.0.1:8400", "/keyless/v1/cloudfront/", "", "", false},
		{"cloudfront.localhost", "/", "", "", false},
		{"a.b.cloudfront.localhost", "/", "", "", false},
		{"bucket.s3.localhost", "/", "", "", false},
	} {
		r := httptest.NewRequest("GET", "http://x"+c.path, nil)
		r.Host = c.host
		id, p, ok := Route(r)
		if id != c.id || p != c.viewPath || ok != c.ok {
			t.Errorf("Route(%s %s) = %q %q %v, want %q %q %v", c.host, c.path, id, p, ok, c.id, c.viewPath, c.ok)
		}
	}
}

func TestRefusals(t *testing.T) {
	f := newFixture(t, CacheConfig{})
	for _, c := range []struct {
		method, host, path string
		auth               bool
		status             int
		code               string
	}{
		{"PUT", "edist0001.cloudfront.localhost", "/a", false, 403, "MethodNotAllowed"},
		{"GET", "edist0001.cloudfront.localhost", "/a", true, 400, "SignedRequest"},
		{"GET", "enope.cloudfront.localhost", "/a", false, 404, "NoSuchDistribution"},
		{"GET", "eoff.cloudfront.localhost", "/a", false, 403, "DistributionDisabled"},
	} {
		r := httptest.NewRequest(c.method, "http://x"+c.path, nil)
		r.Host = c.host
		if c.auth {
			r.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=AKIA/20260301/us-east-1/cloudfront/aws4_request")
		}
		w := httptest.NewRecorder()
		f.h.ServeHTTP(w, r)
		if w.Code != c.status || !strings.Contains(w.Body.String(), "<Code>"+c.code+"</Code>") {
			t.Errorf("%s %s%s: got %d %s", c.method, c.host, c.path, w.Code, w.Body)
		}
	}
	if f.origin.gets != 0 {
		t.Errorf("refused requests read the origin %d times", f.origin.gets)
	}
}
