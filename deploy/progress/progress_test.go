package progress

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/keyless-dev/keyless/deploy/s3sync"
)

// fakeClock is a clock tests move by hand.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *fakeClock {
	return &fakeClock{t: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// step is one moment of a scripted sync: the clock moves, bytes are sent,
// files finish (and some fail), then the ticker fires (or Stop is called)
// and the test checks what was written since the previous step.
type step struct {
	advance time.Duration
	bytes   int64
	files   int
	fail    string // a key that fails with errBoom
	stop    bool   // call Stop instead of the ticker
	want    string
}

var errBoom = errors.New("boom")

// play runs steps against r and checks the output of each.
func play(t *testing.T, r *Reporter, clock *fakeClock, buf *bytes.Buffer, steps []step) {
	t.Helper()
	for i, s := range steps {
		buf.Reset()
		clock.Advance(s.advance)
		if s.bytes != 0 {
			r.Transferred(s.bytes)
		}
		for range s.files {
			r.Finished("k", s3sync.Upload, nil)
		}
		if s.fail != "" {
			r.Finished(s.fail, s3sync.Upload, errBoom)
		}
		if s.stop {
			r.Stop()
		} else {
			r.tick()
		}
		if got := buf.String(); got != s.want {
			t.Errorf("step %d: wrote\n%q\nwant\n%q", i, got, s.want)
		}
	}
}

func TestPlainLines(t *testing.T) {
	tests := []struct {
		name   string
		totals s3sync.Totals
		steps  []step
	}{
		{
			name:   "uploads",
			totals: s3sync.Totals{Upload: 2005, Unchanged: 7, UploadBytes: 110_000_000},
			steps: []step{
				// 3.1 MB in 5s = 620 KB/s: 106.9 MB left take 172.4s; the
				// files (1,885 at 24/s) would take less.
				{advance: 5 * time.Second, bytes: 3_100_000, files: 120,
					want: "progress: 120/2,005 files, 3.1/110.0 MB, 620.0 KB/s, ETA 2m53s\n"},
				{advance: 5 * time.Second, want: ""},
				// The rate looks back 10s, to the line at 5s: 62 MB and
				// 1,000 files in 10s. 885 files at 100/s take longer
				// (8.85s) than 44.9 MB at 6.2 MB/s (7.2s).
				{advance: 5 * time.Second, bytes: 62_000_000, files: 1000,
					want: "progress: 1,120/2,005 files, 65.1/110.0 MB, 6.2 MB/s, ETA 9s\n"},
				{advance: 5 * time.Second, bytes: 44_900_000, files: 885, stop: true,
					want: "progress: 2,005/2,005 files, 110.0/110.0 MB, 5.5 MB/s\n"},
			},
		},
		{
			name:   "deletes only: the rate is in files",
			totals: s3sync.Totals{Delete: 3000},
			steps: []step{
				{advance: 5 * time.Second, files: 1000,
					want: "progress: 1,000/3,000 files, 200 files/s, ETA 10s\n"},
				{advance: 5 * time.Second, files: 2000, stop: true,
					want: "progress: 3,000/3,000 files, 300 files/s\n"},
			},
		},
		{
			name:   "a failure is written at once, and counted",
			totals: s3sync.Totals{Upload: 4, UploadBytes: 4000},
			steps: []step{
				{advance: 5 * time.Second, bytes: 2000, files: 1, fail: "b/c.css",
					want: "failed: upload b/c.css: boom\n" +
						"progress: 2/4 files, 2.0/4.0 KB, 400 B/s, ETA 5s, 1 failed\n"},
				{stop: true, want: ""},
			},
		},
		{
			name:   "retries send more than planned: the line shows the total",
			totals: s3sync.Totals{Upload: 1, UploadBytes: 1000},
			steps: []step{
				{advance: 5 * time.Second, bytes: 1500, files: 0,
					want: "progress: 0/1 files, 1.0/1.0 KB, 300 B/s\n"},
			},
		},
		{
			name:   "stalled: no line, no ETA",
			totals: s3sync.Totals{Upload: 2, UploadBytes: 2000},
			steps: []step{
				{advance: 5 * time.Second, want: ""},
				{advance: 5 * time.Second, want: ""},
				{advance: 5 * time.Second, stop: true,
					want: ""},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			clock := newClock()
			r := New(&buf, Options{Now: clock.Now})
			r.Planned(tt.totals)
			play(t, r, clock, &buf, tt.steps)
		})
	}
}

func TestPlainNeverWritesEscapes(t *testing.T) {
	var buf bytes.Buffer
	clock := newClock()
	r := New(&buf, Options{Now: clock.Now})
	r.Planned(s3sync.Totals{Upload: 3, UploadBytes: 3000})
	for i := range 3 {
		clock.Advance(5 * time.Second)
		r.Transferred(1000)
		r.Finished(fmt.Sprintf("k%d\r\x1b[2J", i), s3sync.Upload, errors.New("line one\nline\x1b[31m two"))
		r.tick()
	}
	r.Stop()
	r.Summary(SummaryInput{Uploaded: 0, Failed: 3, Elapsed: time.Second})
	out := buf.String()
	if strings.ContainsAny(out, "\r\x1b") {
		t.Errorf("output has a carriage return or escape code:\n%q", out)
	}
	if n := strings.Count(out, "\n"); n != 7 {
		t.Errorf("output has %d lines, want 3 failures, 3 progress lines and the summary:\n%s", n, out)
	}
}

// bar17 is a 17-column bar, the width on an 80-column terminal, spelled
// out: filled '=' and the rest blank, with '>' at the tip unless full.
func bar17(filled int) string {
	if filled == 17 {
		return "[" + strings.Repeat("=", 17) + "]"
	}
	return "[" + strings.Repeat("=", filled) + ">" + strings.Repeat(" ", 16-filled) + "]"
}

func TestInteractiveLines(t *testing.T) {
	var buf bytes.Buffer
	clock := newClock()
	r := New(&buf, Options{Interactive: true, Now: clock.Now})
	r.Planned(s3sync.Totals{Upload: 10, UploadBytes: 1_000_000})

	// 30% of the bytes but 20% of the files: the bar shows the smaller.
	// 700 KB at 300 KB/s take 2.3s, 8 files at 2/s take 4s.
	line := bar17(3) + "   20%  2/10 files  0.3/1.0 MB  300.0 KB/s  ETA 4s"
	failed := bar17(5) + "   30%  3/10 files  0.3/1.0 MB  300.0 KB/s  ETA 3s  1 failed"
	final := bar17(17) + "  100%  10/10 files  1.0/1.0 MB  500.0 KB/s  1 failed"
	play(t, r, clock, &buf, []step{
		{advance: time.Second, bytes: 300_000, files: 2, want: "\r" + line + "\x1b[K"},
		// Nothing changed on the line: no redraw.
		{want: ""},
		// A failure erases the line and is written on its own; the next
		// tick draws the line again below it.
		{fail: "x.js", want: "\r\x1b[K" + "failed: upload x.js: boom\n" + "\r" + failed + "\x1b[K"},
		{advance: time.Second, bytes: 700_000, files: 7, stop: true,
			want: "\r" + final + "\x1b[K\n"},
	})
	for _, l := range []string{line, failed, final} {
		if len(l) >= 80 {
			t.Errorf("%q is %d columns, want under 80", l, len(l))
		}
	}

	// The summary after Stop starts on a fresh line.
	buf.Reset()
	r.Summary(SummaryInput{Uploaded: 9, Failed: 1, Bytes: 1_000_000, Elapsed: 2 * time.Second})
	if want := "Uploaded 9 files (1.0 MB), updated 0, deleted 0, 0 unchanged in 2.00s; 1 failed\n"; buf.String() != want {
		t.Errorf("summary = %q, want %q", buf.String(), want)
	}
}

func TestInteractiveSummaryErasesLine(t *testing.T) {
	var buf bytes.Buffer
	clock := newClock()
	r := New(&buf, Options{Interactive: true, Now: clock.Now})
	r.Planned(s3sync.Totals{Upload: 1, UploadBytes: 10})
	r.tick()
	buf.Reset()
	r.Summary(SummaryInput{Uploaded: 1, Bytes: 10, Elapsed: 420 * time.Millisecond})
	want := "\r\x1b[K" + "Uploaded 1 file (10 B), updated 0, deleted 0, 0 unchanged in 0.42s\n"
	if buf.String() != want {
		t.Errorf("summary = %q, want %q", buf.String(), want)
	}
}

func TestBarWidth(t *testing.T) {
	tests := []struct{ width, bar int }{
		{80, 17}, {93, 30}, {200, 30}, {73, 10}, {72, 0}, {40, 0},
	}
	for _, tt := range tests {
		if got := barWidthFor(tt.width); got != tt.bar {
			t.Errorf("barWidthFor(%d) = %d, want %d", tt.width, got, tt.bar)
		}
		r := New(&bytes.Buffer{}, Options{Width: tt.width})
		if r.bar != tt.bar {
			t.Errorf("New with Width %d: bar %d, want %d", tt.width, r.bar, tt.bar)
		}
	}
	if got := New(&bytes.Buffer{}, Options{}).bar; got != 17 {
		t.Errorf("default bar width = %d, want 17 (80 columns)", got)
	}
}

func TestInteractiveLineWidth(t *testing.T) {
	st := status{files: 1120, totalFiles: 2005, bytes: 65_100_000, totalBytes: 110_000_000,
		byteRate: 6_200_000, fileRate: 100, eta: 9 * time.Second, etaKnown: true, failed: 12}
	text := "1,120/2,005 files  65.1/110.0 MB  6.2 MB/s  ETA 9s"
	tests := []struct {
		width int
		want  string
	}{
		// 55% of the files, 59% of the bytes.
		{80, bar17(9) + "   55%  " + text}, // "  12 failed" does not fit
		{120, "[================>             ]   55%  " + text + "  12 failed"},
		{60, " 55%  " + text}, // nor here

		{57, " 55%  " + text},
		{56, " 55%  1,120/2,005 files  65.1/110.0 MB  6.2 MB/s"},
		{10, " 55%"},
		{1, " "},
	}
	for _, tt := range tests {
		got := interactiveLine(st, barWidthFor(tt.width), tt.width)
		if got != tt.want {
			t.Errorf("width %d:\n got %q\nwant %q", tt.width, got, tt.want)
		}
		if len(got) > max(tt.width-1, 1) {
			t.Errorf("width %d: line is %d columns: it would wrap", tt.width, len(got))
		}
	}
}

func TestBar(t *testing.T) {
	tests := []struct {
		frac float64
		want string
	}{
		{0, "[>         ]"},
		{0.05, "[>         ]"},
		{0.5, "[=====>    ]"},
		{0.999, "[=========>]"},
		{1, "[==========]"},
	}
	for _, tt := range tests {
		if got := bar(tt.frac, 10); got != tt.want {
			t.Errorf("bar(%v) = %q, want %q", tt.frac, got, tt.want)
		}
	}
}

func TestETA(t *testing.T) {
	tests := []struct {
		name  string
		st    status
		want  time.Duration
		known bool
	}{
		{"bytes", status{bytes: 10e6, totalBytes: 110e6, byteRate: 10e6, fileRate: -1}, 10 * time.Second, true},
		{"files take longer", status{files: 100, totalFiles: 2100, fileRate: 100, bytes: 1, totalBytes: 2, byteRate: 1}, 20 * time.Second, true},
		{"bytes take longer", status{files: 1, totalFiles: 6, fileRate: 1, bytes: 10e6, totalBytes: 260e6, byteRate: 10e6}, 25 * time.Second, true},
		{"no file finished lately: bytes alone", status{files: 0, totalFiles: 5, fileRate: 0, bytes: 50e6, totalBytes: 250e6, byteRate: 50e6}, 4 * time.Second, true},
		{"stalled", status{files: 1, totalFiles: 5, totalBytes: 5, byteRate: 0, fileRate: 0}, 0, false},
		{"rate unknown", status{totalFiles: 5, totalBytes: 5, byteRate: -1, fileRate: -1}, 0, false},
		{"done", status{files: 5, totalFiles: 5, bytes: 5, totalBytes: 5, byteRate: 1, fileRate: 1}, 0, false},
		{"more bytes sent than planned (retries)", status{files: 4, totalFiles: 5, bytes: 9, totalBytes: 5, byteRate: 1, fileRate: 1}, time.Second, true},
		{"capped", status{totalBytes: 1e15, byteRate: 1, fileRate: -1}, 100 * time.Hour, true},
	}
	for _, tt := range tests {
		got, known := eta(tt.st)
		if got != tt.want || known != tt.known {
			t.Errorf("%s: eta = %v, %v; want %v, %v", tt.name, got, known, tt.want, tt.known)
		}
	}
}

func TestRateWindow(t *testing.T) {
	clock := newClock()
	r := New(&bytes.Buffer{}, Options{Now: clock.Now, Interactive: true})
	r.Planned(s3sync.Totals{Upload: 1, UploadBytes: 1e12})
	// 1 MB/s for 20s, then 10 MB/s for 10s, ticking every 100ms: the rate
	// shown is that of the last 10s, not the average since the start.
	for range 200 {
		clock.Advance(100 * time.Millisecond)
		r.Transferred(100_000)
		r.tick()
	}
	for range 100 {
		clock.Advance(100 * time.Millisecond)
		r.Transferred(1_000_000)
		r.tick()
	}
	r.mu.Lock()
	st := r.measureLocked(clock.Now(), r.current(), false)
	final := r.measureLocked(clock.Now(), r.current(), true)
	n := len(r.samples)
	r.mu.Unlock()
	if st.byteRate != 10e6 {
		t.Errorf("recent rate = %v, want 10e6", st.byteRate)
	}
	if want := 120e6 / 30.0; final.byteRate != want {
		t.Errorf("final rate = %v, want the average %v", final.byteRate, want)
	}
	if n > 102 {
		t.Errorf("%d samples kept, want about 100 (10s at 100ms)", n)
	}
}

func TestRateNeedsHalfASecond(t *testing.T) {
	var buf bytes.Buffer
	clock := newClock()
	r := New(&buf, Options{Now: clock.Now, Interactive: true})
	r.Planned(s3sync.Totals{Upload: 2, UploadBytes: 2000})
	clock.Advance(100 * time.Millisecond)
	r.Transferred(1000)
	r.tick()
	if want := "\r" + bar17(0) + "    0%  0/2 files  1.0/2.0 KB\x1b[K"; buf.String() != want {
		t.Errorf("wrote %q, want %q", buf.String(), want)
	}
}

func TestNothingToDo(t *testing.T) {
	for _, interactive := range []bool{false, true} {
		var buf bytes.Buffer
		clock := newClock()
		r := New(&buf, Options{Interactive: interactive, Now: clock.Now})
		r.tick() // before Planned
		r.Planned(s3sync.Totals{Unchanged: 2000})
		clock.Advance(5 * time.Second)
		r.Finished("a", s3sync.Unchanged, nil)
		r.tick()
		r.Stop()
		if buf.Len() != 0 {
			t.Errorf("interactive=%v: wrote %q for a sync with nothing to do", interactive, buf.String())
		}
	}
}

func TestStopWithoutStart(t *testing.T) {
	tests := []struct {
		interactive bool
		want        string
	}{
		{false, "progress: 1/2 files, 1.0/2.0 KB, 500 B/s\n"},
		{true, "\r" + bar17(8) + "   50%  1/2 files  1.0/2.0 KB  500 B/s\x1b[K\n"},
	}
	for _, tt := range tests {
		var buf bytes.Buffer
		clock := newClock()
		r := New(&buf, Options{Interactive: tt.interactive, Now: clock.Now})
		r.Planned(s3sync.Totals{Upload: 2, UploadBytes: 2000})
		clock.Advance(2 * time.Second)
		r.Transferred(1000)
		r.Finished("a", s3sync.Upload, nil)
		r.Stop()
		r.Stop()
		r.Start() // after Stop: does nothing
		r.tick()  // after Stop: does nothing
		if buf.String() != tt.want {
			t.Errorf("interactive=%v: wrote %q, want %q", tt.interactive, buf.String(), tt.want)
		}
		if r.quit != nil {
			t.Errorf("interactive=%v: Start after Stop started the ticker", tt.interactive)
		}
	}
}

func TestStartStop(t *testing.T) {
	for _, interactive := range []bool{false, true} {
		var buf bytes.Buffer
		clock := newClock()
		r := New(&buf, Options{Interactive: interactive, Interval: time.Millisecond, Now: clock.Now})
		r.Start()
		r.Start()
		r.Planned(s3sync.Totals{Upload: 1, UploadBytes: 1})
		r.Transferred(1)
		r.Finished("a", s3sync.Upload, nil)
		done := r.done
		r.Stop()
		select {
		case <-done:
		default:
			t.Fatalf("interactive=%v: the ticker goroutine is still running after Stop", interactive)
		}
		want := "progress: 1/1 files, 1/1 B\n"
		if interactive {
			want = "\r" + bar17(17) + "  100%  1/1 files  1/1 B\x1b[K\n"
		}
		// The ticker may have drawn the line before Stop.
		if !strings.HasSuffix(buf.String(), want) {
			t.Errorf("interactive=%v: wrote %q, want it to end with %q", interactive, buf.String(), want)
		}
	}
}

func TestQuiet(t *testing.T) {
	var buf bytes.Buffer
	clock := newClock()
	r := New(&buf, Options{Quiet: true, Interactive: true, Now: clock.Now})
	r.Start()
	if r.quit != nil {
		t.Error("Start started the ticker when Quiet")
	}
	r.Planned(s3sync.Totals{Upload: 2, UploadBytes: 2})
	clock.Advance(time.Second)
	r.Transferred(2)
	r.Finished("a", s3sync.Upload, nil)
	r.Finished("b", s3sync.Upload, errBoom)
	r.tick()
	r.Stop()
	r.Summary(SummaryInput{Uploaded: 1, Failed: 1})
	if want := "failed: upload b: boom\n"; buf.String() != want {
		t.Errorf("wrote %q, want only the failure %q", buf.String(), want)
	}
}

func TestConcurrent(t *testing.T) {
	const workers, files, chunks, chunk = 32, 100, 1000, 7
	var buf lockedBuffer
	clock := newClock()
	r := New(&buf, Options{Interval: time.Millisecond, Now: clock.Now})
	r.Start()
	r.Planned(s3sync.Totals{Upload: workers * files, UploadBytes: workers * chunks * chunk})
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range chunks {
				r.Transferred(chunk)
				if i%(chunks/files) == 0 {
					r.Finished(fmt.Sprintf("w%d/%d", w, i), s3sync.Upload, nil)
				}
				if i%100 == 0 {
					r.tick()
				}
			}
		})
	}
	wg.Go(func() {
		for range 50 {
			clock.Advance(10 * time.Millisecond)
		}
	})
	wg.Wait()
	r.Stop()
	lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	last := lines[len(lines)-1]
	if !strings.HasPrefix(last, "progress: 3,200/3,200 files, 224.0/224.0 KB") {
		t.Errorf("last line = %q, want every file and byte counted", last)
	}
	if got := r.bytes.Load(); got != workers*chunks*chunk {
		t.Errorf("bytes = %d, want %d", got, workers*chunks*chunk)
	}
}

// lockedBuffer is a bytes.Buffer safe to read while the ticker writes.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func TestFailureLine(t *testing.T) {
	tests := []struct {
		name   string
		key    string
		action s3sync.Action
		err    error
		want   string
	}{
		{"plain", "site/index.html", s3sync.Upload, errors.New("put object: api error AccessDenied: Access Denied"),
			"failed: upload site/index.html: put object: api error AccessDenied: Access Denied\n"},
		{"space in key", "my file.html", s3sync.Delete, errBoom,
			"failed: delete my file.html: boom\n"},
		{"control characters in the key are quoted", "a\nb\x1b[2J.html", s3sync.Update, errBoom,
			`failed: update "a\nb\x1b[2J.html": boom` + "\n"},
		{"empty key", "", s3sync.Upload, errBoom, `failed: upload "": boom` + "\n"},
		{"no action", "k", "", errBoom, "failed: sync k: boom\n"},
		{"multi-line error", "k", s3sync.Upload, errors.New("first\r\nsecond\n"),
			"failed: upload k: first  second\n"},
		{"presigned URL", "k", s3sync.Upload,
			errors.New(`Put "https://b.s3.amazonaws.com/k?X-Amz-Credential=AKIAEXAMPLE%2F20260101&X-Amz-Security-Token=FQoGZXIvYXdz&X-Amz-Signature=abc123def": EOF`),
			`failed: upload k: Put "https://b.s3.amazonaws.com/k?X-Amz-Credential=REDACTED&X-Amz-Security-Token=REDACTED&X-Amz-Signature=REDACTED": EOF` + "\n"},
		{"authorization header", "k", s3sync.Upload,
			errors.New("Authorization: AWS4-HMAC-SHA256 Credential=AKIAEXAMPLE/20260101/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=0123abcd"),
			"failed: upload k: Authorization: AWS4-HMAC-SHA256 Credential=REDACTED, SignedHeaders=host, Signature=REDACTED\n"},
		{"bearer token", "k", s3sync.Upload, errors.New("Authorization: Bearer eyJhbGciOi.x.y rejected"),
			"failed: upload k: Authorization: Bearer REDACTED rejected\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := failureLine(tt.key, tt.action, tt.err); got != tt.want {
				t.Errorf("got  %q\nwant %q", got, tt.want)
			}
		})
	}
}

func FuzzFailureLine(f *testing.F) {
	f.Add("site/a.html", "boom", "abc123")
	f.Add("a\nb", "x\r\n\x1b[31my", "")
	f.Add("\xff", "\xc0", "\x9b")
	f.Fuzz(func(t *testing.T, key, msg, sig string) {
		err := fmt.Errorf(`%s: Put "https://b.s3.amazonaws.com/k?X-Amz-Signature=%s&x-id=PutObject"`, msg, sig)
		line := failureLine(key, s3sync.Upload, err)
		if !strings.HasSuffix(line, "\n") || strings.Count(line, "\n") != 1 {
			t.Fatalf("%q is not one line", line)
		}
		if !utf8.ValidString(line) {
			t.Fatalf("%q is not UTF-8", line)
		}
		if i := strings.IndexFunc(line[:len(line)-1], unicode.IsControl); i >= 0 {
			t.Fatalf("%q has a control character at %d", line, i)
		}
		// A signature (up to the next delimiter) never shows, unless the
		// key or the rest of the message holds the same text.
		if sig != "" && !strings.ContainsAny(sig, "&\",; \t\n\v\f\r\u0085\u00a0") && utf8.ValidString(sig) &&
			!strings.Contains(key, sig) && !strings.Contains(msg, sig) &&
			!strings.ContainsFunc(sig, unicode.IsControl) &&
			strings.Contains(line, "Signature="+sig) {
			t.Fatalf("%q shows the signature %q", line, sig)
		}
	})
}

func TestSummary(t *testing.T) {
	tests := []struct {
		in   SummaryInput
		want string
	}{
		{SummaryInput{Uploaded: 2, Unchanged: 1998, Bytes: 12_345, Elapsed: 420 * time.Millisecond},
			"Uploaded 2 files (12.3 KB), updated 0, deleted 0, 1,998 unchanged in 0.42s"},
		{SummaryInput{Unchanged: 2000, Elapsed: 310 * time.Millisecond},
			"Uploaded 0 files, updated 0, deleted 0, 2,000 unchanged in 0.31s"},
		{SummaryInput{Uploaded: 1, Updated: 3, Deleted: 1, Bytes: 50_000_000, Elapsed: 65 * time.Second},
			"Uploaded 1 file (50.0 MB), updated 3, deleted 1, 0 unchanged in 1m05s"},
		{SummaryInput{Uploaded: 2005, Bytes: 110_000_000, Failed: 3, Elapsed: 12340 * time.Millisecond},
			"Uploaded 2,005 files (110.0 MB), updated 0, deleted 0, 0 unchanged in 12.3s; 3 failed"},
		{SummaryInput{Uploaded: 2, Deleted: 1, Unchanged: 1998, Bytes: 12_345, Elapsed: 420 * time.Millisecond, DryRun: true},
			"Dry run: would upload 2 files (12.3 KB), update 0, delete 1, 1,998 unchanged (planned in 0.42s)"},
		{SummaryInput{Uploaded: 1, Bytes: 1},
			"Uploaded 1 file (1 B), updated 0, deleted 0, 0 unchanged"},
	}
	for _, tt := range tests {
		if got := tt.in.String(); got != tt.want {
			t.Errorf("%+v:\n got %q\nwant %q", tt.in, got, tt.want)
		}
		var buf bytes.Buffer
		New(&buf, Options{}).Summary(tt.in)
		if buf.String() != tt.want+"\n" {
			t.Errorf("Summary wrote %q, want %q", buf.String(), tt.want+"\n")
		}
	}
}

func TestIsTerminal(t *testing.T) {
	if IsTerminal(nil) {
		t.Error("IsTerminal(nil) = true")
	}
	f, err := os.CreateTemp(t.TempDir(), "out")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if IsTerminal(f) {
		t.Error("a regular file is a terminal")
	}
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer pr.Close()
	defer pw.Close()
	if IsTerminal(pw) {
		t.Error("a pipe is a terminal")
	}
	if null, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0); err == nil {
		defer null.Close()
		if IsTerminal(null) {
			t.Error("/dev/null is a terminal")
		}
	}
	// A pseudo-terminal's master side answers the terminal ioctl as a
	// terminal does.
	if runtime.GOOS == "linux" {
		ptmx, err := os.OpenFile("/dev/ptmx", os.O_RDWR, 0)
		if err != nil {
			t.Skipf("no pseudo-terminal to check a terminal with: %v", err)
		}
		defer ptmx.Close()
		if !IsTerminal(ptmx) {
			t.Error("a pseudo-terminal is not a terminal")
		}
	}
}

func BenchmarkTransferred(b *testing.B) {
	r := New(&bytes.Buffer{}, Options{})
	r.Planned(s3sync.Totals{Upload: 1, UploadBytes: 1 << 40})
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			r.Transferred(32 << 10)
		}
	})
}
