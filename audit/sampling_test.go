package audit

import (
	"bytes"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestLogSampling checks that a sampling rate thins out the log lines of allowed
// decisions only: denials and errors are always logged, and every event is stored.
func TestLogSampling(t *testing.T) {
	for _, tc := range []struct {
		name     string
		rate     float64
		min, max int // logged allowed decisions of 4000
	}{
		{"default logs all", -1, 4000, 4000},
		{"1 logs all", 1, 4000, 4000},
		{"0 logs none", 0, 0, 0},
		{"a quarter", 0.25, 800, 1200}, // mean 1000, standard deviation 27
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := openSpy(t)
			var logs bytes.Buffer
			var mu sync.Mutex
			r := NewRecorder(st, slog.New(slog.NewTextHandler(&lockedWriter{w: &logs, mu: &mu}, nil)))
			if tc.rate >= 0 {
				r.SetLogSampling(tc.rate)
			}
			for i := range 4000 {
				r.Record(event(i))
			}
			denied, failed := event(5000), event(5001)
			denied.Decision, denied.ErrorCode, denied.Reason = Denied, "AccessDenied", "no statement allows it"
			failed.Decision, failed.ErrorCode = Failed, "InvalidIdentityToken"
			r.Record(denied)
			r.Record(failed)
			r.Close()

			lines := strings.Split(strings.TrimSpace(logs.String()), "\n")
			allowed, others := 0, map[string]bool{}
			for _, l := range lines {
				switch {
				case strings.Contains(l, "decision=Allowed"):
					allowed++
					if marked := strings.Contains(l, "log_sample_rate=0.25"); marked != (tc.rate == 0.25) {
						t.Fatalf("line %q: log_sample_rate marked %v at rate %g", l, marked, tc.rate)
					}
				case strings.Contains(l, "request_id=req-5000 ") && strings.Contains(l, "decision=Denied"):
					others["denied"] = true
				case strings.Contains(l, "request_id=req-5001 ") && strings.Contains(l, "decision=Error"):
					others["error"] = true
				}
			}
			if allowed < tc.min || allowed > tc.max {
				t.Errorf("%d allowed decisions logged, want %d to %d", allowed, tc.min, tc.max)
			}
			if !others["denied"] || !others["error"] {
				t.Errorf("denial and error logged: %v, want both", others)
			}
			if n := len(listAll(t, st)); n != 4002 {
				t.Errorf("%d events stored, want all 4002", n)
			}
		})
	}
}

// TestEventIDsFollowTime checks that event IDs are unique, 32 hex digits, and
// increase with the event's time (so that the store's unique index on them is
// appended to, not written all over).
func TestEventIDsFollowTime(t *testing.T) {
	t0 := time.Date(2026, 12, 6, 23, 0, 0, 0, time.UTC)
	seen := map[string]bool{}
	prev := ""
	for i := range 2000 {
		id := newID(t0.Add(time.Duration(i) * time.Millisecond))
		if len(id) != 32 || strings.Trim(id, "0123456789abcdef") != "" {
			t.Fatalf("ID %q is not 32 hex digits", id)
		}
		if seen[id] || id <= prev {
			t.Fatalf("ID %q after %q: not unique and increasing", id, prev)
		}
		seen[id], prev = true, id
	}
	a, b := newID(t0), newID(t0)
	if a == b || a[:12] != b[:12] {
		t.Errorf("IDs of one millisecond %q and %q: want one time prefix and different random parts", a, b)
	}
}
