package target

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// Values that must never show up in an error, a log line or a formatted value.
const (
	testToken    = "tok-NEVER-PRINT-7f3a9c"
	testPassword = "app-pass-NEVER-PRINT-1b2c"
	testKeyID    = "AKIAIOSFODNN7EXAMPLE"
	testSecret   = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
)

func testCreds() Credentials {
	return Credentials{AccessKeyID: testKeyID, SecretAccessKey: testSecret}
}

// env is a Getenv over a map.
func env(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

// sleeps records the waits a target asked for and returns at once.
type sleeps struct {
	mu sync.Mutex
	d  []time.Duration
}

func (s *sleeps) sleep(ctx context.Context, d time.Duration) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.d = append(s.d, d)
	return ctx.Err()
}

func (s *sleeps) got() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]time.Duration(nil), s.d...)
}

// calls records "METHOD escaped-path?query" of every request a fake saw.
type calls struct {
	mu   sync.Mutex
	list []string
}

func (c *calls) add(r *http.Request) {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := r.Method + " " + r.URL.EscapedPath()
	if r.URL.RawQuery != "" {
		s += "?" + r.URL.RawQuery
	}
	c.list = append(c.list, s)
}

func (c *calls) got() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.list...)
}

func (c *calls) reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.list = nil
}

// decodeStrict decodes a JSON request body into v, refusing unknown fields, and
// checks it was sent as JSON.
func decodeStrict(t *testing.T, r *http.Request, v any) bool {
	t.Helper()
	if ct := r.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("%s %s: Content-Type %q, want application/json", r.Method, r.URL.Path, ct)
		return false
	}
	data, err := io.ReadAll(r.Body)
	if err != nil {
		t.Errorf("%s %s: read body: %v", r.Method, r.URL.Path, err)
		return false
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		t.Errorf("%s %s: body %s: %v", r.Method, r.URL.Path, data, err)
		return false
	}
	return true
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// fault is a scripted failure: the fake answers the next matching requests
// with it instead of serving them.
type fault struct {
	match  string // "METHOD path-prefix"; "" matches any request
	times  int    // how many requests it answers; <0 means all
	status int
	header map[string]string
	body   string
}

// faults is a queue of scripted failures, shared by the fakes.
type faults struct {
	mu   sync.Mutex
	list []*fault
}

func (f *faults) push(x fault) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.list = append(f.list, &x)
}

// serve answers r with the first fault that matches, if any.
func (f *faults) serve(w http.ResponseWriter, r *http.Request) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, x := range f.list {
		if x.times == 0 {
			continue
		}
		if x.match != "" && !strings.HasPrefix(r.Method+" "+r.URL.EscapedPath(), x.match) {
			continue
		}
		if x.times > 0 {
			x.times--
		}
		for k, v := range x.header {
			w.Header().Set(k, v)
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(x.status)
		io.WriteString(w, x.body)
		return true
	}
	return false
}

// logBuffer is a slog logger writing JSON lines to a buffer.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

func (l *logBuffer) logger() *slog.Logger {
	return slog.New(slog.NewJSONHandler(l, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

func diffCalls(t *testing.T, got, want []string) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Errorf("requests:\n got  %s\n want %s", strings.Join(got, "\n      "), strings.Join(want, "\n      "))
	}
}
