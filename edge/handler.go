// Package edge serves CloudFront distributions' sites from their S3 buckets
// through an edge cache, as CloudFront's edge locations do: GET and HEAD of a
// viewer path read the object originPath+path (the default root object for
// "/") from the origin, and the response stays cached for the TTL that the
// object's Cache-Control or Expires and the distribution's TTL bounds give,
// whatever changes in the bucket, until it expires or an invalidation evicts
// it.
//
// A request names its distribution by Host, DISTRIBUTION-ID.cloudfront.localhost
// (any port, any case), or by path, /keyless/v1/cloudfront/DISTRIBUTION-ID/…,
// for clients that cannot resolve *.localhost.
package edge

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/keyless-dev/keyless/cloudfront"
)

// HostSuffix is the domain of distributions' host names
// (DISTRIBUTION-ID.cloudfront.localhost).
const HostSuffix = "cloudfront.localhost"

// PathPrefix is the path form's prefix: /keyless/v1/cloudfront/ID/… serves
// path /… of distribution ID.
const PathPrefix = "/keyless/v1/cloudfront/"

// ErrNotFound is what an Origin returns (possibly wrapped) for a missing object.
var ErrNotFound = errors.New("edge: object not found")

// ObjectMeta is what the edge needs of an object's metadata.
type ObjectMeta struct {
	ContentType  string
	CacheControl string
	// Expires is the object's Expires header as stored ("" for none).
	Expires string
	// ETag is the entity tag without quotes.
	ETag         string
	LastModified time.Time
	Size         int64
}

// Origin reads objects from S3 buckets.
type Origin interface {
	// Get opens an object, or returns an error wrapping ErrNotFound when the
	// bucket or the key does not exist. The caller closes body.
	Get(ctx context.Context, bucket, key string) (body io.ReadCloser, meta ObjectMeta, err error)
}

// Sites finds a distribution's serving settings; *cloudfront.Service
// implements it.
type Sites interface {
	Site(id string) (cloudfront.Site, bool)
}

// Config configures a Handler.
type Config struct {
	// Cache is the edge cache (its clock is the Handler's). Required.
	Cache *Cache
	// Sites finds distributions. Required.
	Sites Sites
	// Origin reads objects. Required.
	Origin Origin
	// Logger logs origin failures. May be nil.
	Logger *slog.Logger
}

// Handler is the http.Handler of the distributions' sites. It is safe for
// concurrent use.
type Handler struct {
	cfg Config
}

// New returns the handler.
func New(cfg Config) (*Handler, error) {
	if cfg.Cache == nil || cfg.Sites == nil || cfg.Origin == nil {
		return nil, errors.New("edge: Cache, Sites and Origin are required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Handler{cfg: cfg}, nil
}

// Invalidated evicts paths of a distribution from the cache (see
// Cache.Invalidated); it implements cloudfront.Listener.
func (h *Handler) Invalidated(distributionID string, paths []string) {
	h.cfg.Cache.Invalidated(distributionID, paths)
}

// Route finds the distribution ID and viewer path of a request: by the path
// form, else by Host. ok is false when the request names no distribution.
func Route(r *http.Request) (id, path string, ok bool) {
	if rest, found := strings.CutPrefix(r.URL.Path, PathPrefix); found {
		id, path, _ = strings.Cut(rest, "/")
		if id == "" {
			return "", "", false
		}
		return id, "/" + path, true
	}
	host := r.Host
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	label, found := strings.CutSuffix(host, "."+HostSuffix)
	if !found || label == "" || strings.Contains(label, ".") {
		return "", "", false
	}
	path = r.URL.Path
	if path == "" {
		path = "/"
	}
	return strings.ToUpper(label), path, true
}

// ServeHTTP serves one viewer request.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	id, path, ok := Route(r)
	if !ok {
		writeError(w, http.StatusNotFound, "NoSuchDistribution", "The request names no CloudFront distribution.", "")
		return
	}
	if r.Header.Get("Authorization") != "" || r.URL.Query().Has("X-Amz-Algorithm") {
		writeError(w, http.StatusBadRequest, "SignedRequest",
			"A CloudFront distribution serves unsigned viewer requests; send CloudFront API calls to the keyless endpoint.", "")
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		writeError(w, http.StatusForbidden, "MethodNotAllowed",
			"This distribution is not configured to allow the HTTP request method that was used for this request.", "")
		return
	}
	site, ok := h.cfg.Sites.Site(id)
	if !ok {
		writeError(w, http.StatusNotFound, "NoSuchDistribution", "The distribution "+id+" does not exist.", "")
		return
	}
	if !site.Enabled {
		writeError(w, http.StatusForbidden, "DistributionDisabled", "The distribution "+id+" is disabled.", "")
		return
	}
	h.serve(w, r, site, path)
}

// serve answers from the cache, else from the origin.
func (h *Handler) serve(w http.ResponseWriter, r *http.Request, site cloudfront.Site, path string) {
	cache := h.cfg.Cache
	now := cache.cfg.Now()
	cached, fresh, gen := cache.lookup(site.ID, path)
	if fresh {
		writeCached(w, r, cached, "Hit from cloudfront", now)
		return
	}
	key := path
	if key == "/" {
		key += site.DefaultRootObject
	}
	key = strings.TrimPrefix(site.OriginPath+key, "/")
	if key == "" {
		writeError(w, http.StatusNotFound, "NoSuchKey", "The specified key does not exist.", key)
		return
	}
	body, meta, err := h.cfg.Origin.Get(r.Context(), site.Bucket, key)
	if errors.Is(err, ErrNotFound) {
		writeError(w, http.StatusNotFound, "NoSuchKey", "The specified key does not exist.", key)
		return
	}
	if err != nil {
		h.cfg.Logger.Error("edge origin read", "distribution", site.ID, "bucket", site.Bucket, "key", key, "err", err)
		writeError(w, http.StatusBadGateway, "OriginError", "CloudFront could not read the object from the origin.", key)
		return
	}
	defer body.Close()
	ttl := TTL(meta, now, site.MinTTL, site.DefaultTTL, site.MaxTTL)
	e := &entry{key: cacheKey{site.ID, path}, meta: meta, stored: now, expires: now.Add(ttl)}
	if cached != nil && meta.ETag != "" && meta.ETag == cached.meta.ETag {
		// Unchanged at the origin: refresh the expired entry.
		e.body = cached.body
		if cache.store(e, gen) {
			writeCached(w, r, e, "RefreshHit from cloudfront", now)
			return
		}
	}
	if meta.Size > cache.cfg.MaxObjectBytes || ttl <= 0 {
		writeStream(w, r, meta, body)
		return
	}
	buf, err := io.ReadAll(io.LimitReader(body, cache.cfg.MaxObjectBytes+1))
	if err != nil {
		h.cfg.Logger.Error("edge origin read", "distribution", site.ID, "bucket", site.Bucket, "key", key, "err", err)
		writeError(w, http.StatusBadGateway, "OriginError", "CloudFront could not read the object from the origin.", key)
		return
	}
	if int64(len(buf)) > cache.cfg.MaxObjectBytes {
		writeStream(w, r, meta, io.MultiReader(bytes.NewReader(buf), body))
		return
	}
	e.body = buf
	cache.store(e, gen)
	writeCached(w, r, e, "Miss from cloudfront", now)
}

// setHeaders sets the object's headers and CloudFront's.
func setHeaders(w http.ResponseWriter, meta ObjectMeta, xCache string) {
	hd := w.Header()
	if meta.ContentType != "" {
		hd.Set("Content-Type", meta.ContentType)
	}
	if meta.CacheControl != "" {
		hd.Set("Cache-Control", meta.CacheControl)
	}
	if meta.Expires != "" {
		hd.Set("Expires", meta.Expires)
	}
	if meta.ETag != "" {
		hd.Set("ETag", `"`+meta.ETag+`"`)
	}
	if !meta.LastModified.IsZero() {
		hd.Set("Last-Modified", meta.LastModified.UTC().Format(http.TimeFormat))
	}
	hd.Set("X-Cache", xCache)
	hd.Set("Via", "1.1 keyless.cloudfront.localhost (CloudFront)")
}

// writeCached answers from a cached (or just fetched) body, with ranges and
// conditional requests; Age is sent on hits.
func writeCached(w http.ResponseWriter, r *http.Request, e *entry, xCache string, now time.Time) {
	setHeaders(w, e.meta, xCache)
	if xCache != "Miss from cloudfront" {
		w.Header().Set("Age", strconv.FormatInt(int64(max(now.Sub(e.stored), 0)/time.Second), 10))
	}
	http.ServeContent(w, r, "", e.meta.LastModified, bytes.NewReader(e.body))
}

// writeStream passes an uncached object through.
func writeStream(w http.ResponseWriter, r *http.Request, meta ObjectMeta, body io.Reader) {
	setHeaders(w, meta, "Miss from cloudfront")
	w.Header().Set("Content-Length", strconv.FormatInt(meta.Size, 10))
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodHead {
		return
	}
	io.Copy(w, io.LimitReader(body, meta.Size)) //nolint:errcheck // the viewer went away
}

// writeError writes an error as CloudFront passes S3's on: an XML <Error>
// document, X-Cache "Error from cloudfront".
func writeError(w http.ResponseWriter, status int, code, message, key string) {
	type errorXML struct {
		XMLName xml.Name `xml:"Error"`
		Code    string
		Message string
		Key     string `xml:",omitempty"`
	}
	body, err := xml.Marshal(errorXML{Code: code, Message: message, Key: key})
	if err != nil {
		body = []byte(fmt.Sprintf("<Error><Code>%s</Code></Error>", code))
	}
	w.Header().Set("Content-Type", "application/xml")
	w.Header().Set("X-Cache", "Error from cloudfront")
	w.WriteHeader(status)
	io.WriteString(w, xml.Header) //nolint:errcheck
	w.Write(body)                 //nolint:errcheck
}
