package target

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"time"
)

const (
	defaultAttempts = 5
	defaultMaxWait  = 2 * time.Minute
	maxBackoff      = 30 * time.Second
	maxBody         = 8 << 20  // a page of variables is far smaller
	maxErrorBody    = 64 << 10 // an error body is read this far
	maxMessage      = 300      // runes of a provider's message kept in an error
	maxPages        = 1000     // a server that never stops paging is an error
)

// client is the wire every target shares: one API root, one way to authorize,
// bounded retries, and error text with the secrets cut out.
type client struct {
	target    string
	base      string // scheme://host/path without a trailing slash
	http      *http.Client
	authorize func(*http.Request)
	header    http.Header
	sleep     func(context.Context, time.Duration) error
	log       *slog.Logger
	attempts  int
	maxWait   time.Duration
	secrets   []string // the token, and in a Put the secret values: never in an error
}

// newClient checks o and the base URL and fills in defaults.
func newClient(target, defaultBase string, o Options, header http.Header) (*client, error) {
	raw := o.BaseURL
	if raw == "" {
		raw = defaultBase
	}
	base, err := checkBase(raw)
	if err != nil {
		return nil, fmt.Errorf("%s: base URL: %w", target, err)
	}
	hc := &http.Client{Timeout: 30 * time.Second}
	if o.HTTPClient != nil {
		cp := *o.HTTPClient
		hc = &cp
	}
	hc.CheckRedirect = sameHostRedirects
	c := &client{
		target:   target,
		base:     base,
		http:     hc,
		header:   header,
		sleep:    o.Sleep,
		log:      o.Logger,
		attempts: o.MaxAttempts,
		maxWait:  o.MaxWait,
	}
	if c.sleep == nil {
		c.sleep = sleep
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	if c.attempts <= 0 {
		c.attempts = defaultAttempts
	}
	if c.maxWait <= 0 {
		c.maxWait = defaultMaxWait
	}
	return c, nil
}

func getenv(o Options) func(string) string {
	if o.Getenv != nil {
		return o.Getenv
	}
	return os.Getenv
}

// checkBase accepts https, or http on a loopback host, with no user info, query
// or fragment, and returns it without a trailing slash.
func checkBase(raw string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", err
	}
	if u.Host == "" {
		return "", fmt.Errorf("%q has no host: give scheme://host[/path]", raw)
	}
	if u.User != nil {
		return "", errors.New("must not hold credentials: they are read from the environment")
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return "", fmt.Errorf("%q: remove the query or fragment", raw)
	}
	switch u.Scheme {
	case "https":
	case "http":
		if !isLoopback(u.Hostname()) {
			return "", fmt.Errorf("%q: use https (plain http is allowed for loopback hosts only)", raw)
		}
	default:
		return "", fmt.Errorf("%q: scheme must be https", raw)
	}
	return strings.TrimSuffix(u.String(), "/"), nil
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

var errRedirect = errors.New("refusing a redirect")

// sameHostRedirects follows redirects within the API's host only: net/http would
// carry a custom token header such as GitLab's PRIVATE-TOKEN to any host.
func sameHostRedirects(req *http.Request, via []*http.Request) error {
	if len(via) >= 5 {
		return errors.New("stopped after 5 redirects")
	}
	if req.URL.Scheme != via[0].URL.Scheme || req.URL.Host != via[0].URL.Host {
		return fmt.Errorf("%w to %s://%s: the token is for %s only", errRedirect, req.URL.Scheme, req.URL.Host, via[0].URL.Host)
	}
	return nil
}

// sleep waits d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return context.Cause(ctx)
	}
}

// request is one API call. path is escaped and relative to the base URL; url,
// when set, is an absolute URL to use instead (a "next" page link).
type request struct {
	method string
	path   string
	url    string
	query  url.Values
	body   any // JSON-encoded when not nil
	out    any // JSON-decoded from a 2xx answer when not nil
}

// do sends r, retrying 429, 5xx and network errors up to c.attempts times. A
// non-2xx answer is a *StatusError.
func (c *client) do(ctx context.Context, r request) error {
	target := r.url
	if target == "" {
		target = c.base + r.path
		if len(r.query) > 0 {
			target += "?" + r.query.Encode()
		}
	}
	var body []byte
	if r.body != nil {
		var err error
		if body, err = json.Marshal(r.body); err != nil {
			return fmt.Errorf("encode request: %w", err)
		}
	}
	for attempt := 1; ; attempt++ {
		retry, wait, err := c.once(ctx, r, target, body)
		if err == nil {
			return nil
		}
		if !retry {
			return err
		}
		if ctx.Err() != nil {
			return fmt.Errorf("%w; stopped retrying: %w", err, context.Cause(ctx))
		}
		if attempt >= c.attempts {
			return fmt.Errorf("%w (gave up after %d attempts)", err, attempt)
		}
		if wait > c.maxWait {
			return fmt.Errorf("%w (asked to retry after %s, longer than the %s allowed)", err, wait, c.maxWait)
		}
		if wait <= 0 {
			wait = backoff(attempt)
		}
		c.log.LogAttrs(ctx, slog.LevelWarn, "retrying request",
			slog.String("target", c.target), slog.String("method", r.method), slog.String("path", pathOf(target)),
			slog.Int("attempt", attempt), slog.String("error", err.Error()), slog.Duration("wait", wait))
		if err := c.sleep(ctx, wait); err != nil {
			return fmt.Errorf("waiting to retry %s %s: %w", r.method, pathOf(target), err)
		}
	}
}

// once sends one attempt. It returns whether a failure may be retried and how
// long the server asked to wait (0: not said).
func (c *client) once(ctx context.Context, r request, target string, body []byte) (bool, time.Duration, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, r.method, target, rd)
	if err != nil {
		return false, 0, fmt.Errorf("%s %s: %w", r.method, pathOf(target), err)
	}
	for k, v := range c.header {
		req.Header[k] = v
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	c.authorize(req)
	resp, err := c.http.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return false, 0, fmt.Errorf("%s %s: %w", r.method, pathOf(target), context.Cause(ctx))
		}
		// A url.Error names the URL, which holds no secret; the message is
		// scrubbed all the same. A refused redirect will not change.
		return !errors.Is(err, errRedirect), 0, errors.New(c.scrub(err.Error()))
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 == 2 {
		if r.out != nil {
			data, err := io.ReadAll(io.LimitReader(resp.Body, maxBody+1))
			if err != nil {
				return true, 0, fmt.Errorf("%s %s: read answer: %w", r.method, pathOf(target), err)
			}
			if len(data) > maxBody {
				return false, 0, fmt.Errorf("%s %s: answer larger than %d bytes", r.method, pathOf(target), maxBody)
			}
			if err := json.Unmarshal(data, r.out); err != nil {
				return false, 0, fmt.Errorf("%s %s: decode answer: %s", r.method, pathOf(target), c.scrub(err.Error()))
			}
		}
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxErrorBody)) // lets the connection be reused
		return false, 0, nil
	}
	data, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	se := &StatusError{Status: resp.StatusCode, Message: c.scrub(errorMessage(data))}
	retry := retryable(resp.StatusCode, resp.Header)
	var wait time.Duration
	if retry {
		wait, _ = parseRetryAfter(resp.Header.Get("Retry-After"), time.Now())
	}
	return retry, wait, se
}

// retryable: rate limits, and server errors that may pass. GitHub's secondary
// rate limit is a 403 with Retry-After.
func retryable(status int, h http.Header) bool {
	switch status {
	case http.StatusTooManyRequests, http.StatusInternalServerError, http.StatusBadGateway,
		http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return true
	case http.StatusForbidden:
		return h.Get("Retry-After") != ""
	}
	return false
}

// backoff is the wait before attempt+1 when the server did not say: 1 s, 2 s,
// 4 s, … up to 30 s.
func backoff(attempt int) time.Duration {
	d := time.Second << min(attempt-1, 5)
	return min(d, maxBackoff)
}

// scrub cuts the token and the hidden values out of s.
func (c *client) scrub(s string) string {
	for _, h := range c.secrets {
		if h != "" {
			s = strings.ReplaceAll(s, h, redacted)
		}
	}
	return s
}

// hiding returns a copy of c that also cuts the secret values of vars out of
// every error and log line: Put makes all its calls through one.
func (c *client) hiding(vars []Variable) *client {
	cp := *c
	cp.secrets = slices.Clone(c.secrets)
	for _, v := range vars {
		if v.Secret && v.Value != "" {
			cp.secrets = append(cp.secrets, v.Value)
		}
	}
	return &cp
}

// pathOf is the path of an absolute URL, for messages (no query: it may be long).
func pathOf(raw string) string {
	if u, err := url.Parse(raw); err == nil {
		return u.EscapedPath()
	}
	return raw
}

// seg escapes one path segment.
func seg(s string) string { return url.PathEscape(s) }

// errorMessage finds the human message in a provider's error body:
// Bitbucket's {"error":{"message","detail"}}, GitHub's {"message"}, GitLab's
// {"message": string or {field: [reasons]}} or {"error","error_description"}.
// Anything else gives "". The result is one line of at most maxMessage runes.
func errorMessage(body []byte) string {
	var e struct {
		Message json.RawMessage `json:"message"`
		Error   json.RawMessage `json:"error"`
		Desc    string          `json:"error_description"`
	}
	if json.Unmarshal(body, &e) != nil {
		return ""
	}
	var parts []string
	add := func(s string) {
		if s = strings.TrimSpace(s); s != "" {
			parts = append(parts, s)
		}
	}
	add(flatten(e.Message, 2))
	var nested struct {
		Message string          `json:"message"`
		Detail  json.RawMessage `json:"detail"`
	}
	var s string
	switch {
	case json.Unmarshal(e.Error, &s) == nil:
		add(s)
	case json.Unmarshal(e.Error, &nested) == nil:
		add(nested.Message)
		add(flatten(nested.Detail, 2))
	}
	add(e.Desc)
	return clip(strings.Join(parts, ": "))
}

// flatten turns a string, or an object of field → reasons, into one line,
// looking depth objects deep at most.
func flatten(raw json.RawMessage, depth int) string {
	if len(raw) == 0 || depth == 0 {
		return ""
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var fields map[string]json.RawMessage
	if json.Unmarshal(raw, &fields) != nil {
		return ""
	}
	keys := make([]string, 0, len(fields))
	for k := range fields {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var out []string
	for _, k := range keys {
		var reasons []string
		if json.Unmarshal(fields[k], &reasons) == nil {
			out = append(out, k+" "+strings.Join(reasons, ", "))
		} else if v := flatten(fields[k], depth-1); v != "" {
			out = append(out, k+" "+v)
		}
	}
	return strings.Join(out, "; ")
}

// clip makes s one printable line of at most maxMessage runes.
func clip(s string) string {
	s = strings.Map(func(r rune) rune {
		if r < ' ' || r == 0x7f {
			return ' '
		}
		return r
	}, s)
	if r := []rune(s); len(r) > maxMessage {
		s = string(r[:maxMessage]) + "…"
	}
	return s
}
