// Package progress shows how a `keyless deploy s3` sync is going: on a
// terminal one line redrawn in place (a bar, files and bytes done, rate and
// ETA), in CI a plain line every few seconds when something changed, a line
// at once for every key that failed, and the human summary at the end. Its
// Reporter implements s3sync.Progress.
//
// Sizes are decimal (1 KB = 1,000 bytes, 1 MB = 1,000,000 bytes) everywhere.
package progress

import (
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/keyless-dev/keyless/deploy/s3sync"
)

const (
	// redrawEvery is how often an interactive Reporter redraws its line:
	// never more than ten times a second.
	redrawEvery = 100 * time.Millisecond
	// defaultInterval is how often a non-interactive Reporter writes a line.
	defaultInterval = 5 * time.Second
	// defaultWidth is the terminal width assumed when Options.Width is 0.
	defaultWidth = 80
	// lineReserve is the room an interactive line keeps besides the bar:
	// brackets, percentage and spacing (10 columns) and about 52 for the
	// counts, rate and ETA. The bar gets what is left of Options.Width, from
	// minBarWidth (or no bar) to maxBarWidth columns.
	lineReserve = 62
	minBarWidth = 10
	maxBarWidth = 30
	// minRateSpan is the shortest stretch of time a rate is measured over.
	minRateSpan = 500 * time.Millisecond
	// minRateWindow is the shortest window the rate and ETA look back over.
	minRateWindow = 10 * time.Second
)

// eraseLine moves to the start of the line and erases it.
const eraseLine = "\r\x1b[K"

// Options configure a Reporter.
type Options struct {
	// Interactive redraws one line in place, for a terminal (see
	// IsTerminal). Otherwise the Reporter writes a plain line every
	// Interval when something changed, with no carriage returns or escape
	// codes, for CI logs.
	Interactive bool
	// Interval is how often a non-interactive Reporter writes a line; 0
	// means 5s. An interactive one redraws at most ten times a second.
	Interval time.Duration
	// Width is the terminal's width in columns, if the caller knows it; 0
	// means 80. An interactive line stays narrower than Width so it never
	// wraps; the bar is 17 columns wide at 80, 30 from 93, and left out
	// under 73.
	Width int
	// Now is the clock; nil means time.Now. Tests pass a fake one.
	Now func() time.Time
	// Quiet turns off the progress lines and the summary. Failures are
	// still reported.
	Quiet bool
}

// Reporter shows the progress of a sync on a writer. Its Planned,
// Transferred and Finished methods may be called from many goroutines at
// once; Transferred, the frequent one, only adds to an atomic counter.
// Start runs the redraw ticker, Stop ends it and writes the final line.
type Reporter struct {
	w    io.Writer
	opts Options

	bytes  atomic.Int64 // upload bytes sent so far
	files  atomic.Int64 // keys finished or failed, unchanged ones excepted
	failed atomic.Int64 // keys failed

	mu      sync.Mutex // guards the fields below and every write to w
	planned bool
	total   counts    // the work Planned announced (failed unused)
	begin   time.Time // when Planned was called
	samples []sample  // recent counters, oldest first, for the rate
	shown   bool      // interactive: a progress line is on screen
	line    string    // interactive: the line on screen
	bar     int       // interactive: the bar's width, 0 for none
	printed counts    // non-interactive: the counters of the last line
	started bool
	stopped bool
	quit    chan struct{} // closed by Stop to end the ticker goroutine
	done    chan struct{} // closed by the ticker goroutine when it ends
}

var _ s3sync.Progress = (*Reporter)(nil)

// counts are the counters a progress line shows.
type counts struct {
	files, bytes, failed int64
}

// sample is the counters at one moment.
type sample struct {
	at           time.Time
	files, bytes int64
}

// New returns a Reporter writing to w (usually standard error).
func New(w io.Writer, o Options) *Reporter {
	if o.Interval <= 0 {
		o.Interval = defaultInterval
	}
	if o.Width <= 0 {
		o.Width = defaultWidth
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return &Reporter{w: w, opts: o, bar: barWidthFor(o.Width)}
}

// barWidthFor is the width of the bar on a terminal width columns wide.
func barWidthFor(width int) int {
	w := min(width-1-lineReserve, maxBarWidth)
	if w < minBarWidth {
		return 0
	}
	return w
}

// Planned records the work of the sync: the files to upload, update and
// delete, and the bytes to upload. Unchanged keys are not part of the
// progress. A second call replaces the totals.
func (r *Reporter) Planned(t s3sync.Totals) {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := r.opts.Now()
	r.planned = true
	r.total = counts{files: int64(t.Upload + t.Update + t.Delete), bytes: t.UploadBytes}
	r.begin = now
	r.samples = append(r.samples[:0], sample{at: now, files: r.files.Load(), bytes: r.bytes.Load()})
}

// Transferred adds n upload bytes sent.
func (r *Reporter) Transferred(n int64) {
	r.bytes.Add(n)
}

// Finished counts one key done, and when err is not nil writes at once a
// line naming the action, the key and the error (with anything that looks
// like a request signature or token redacted). Unchanged keys are not
// counted.
func (r *Reporter) Finished(key string, a s3sync.Action, err error) {
	if a != s3sync.Unchanged {
		r.files.Add(1)
	}
	if err == nil {
		return
	}
	r.failed.Add(1)
	line := failureLine(key, a, err)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.clearLocked()
	io.WriteString(r.w, line)
}

// Start starts the goroutine that redraws the line (interactive) or writes
// one every Interval (otherwise). It does nothing when Quiet, when already
// started, or after Stop.
func (r *Reporter) Start() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.started || r.stopped || r.opts.Quiet {
		return
	}
	r.started = true
	r.quit = make(chan struct{})
	r.done = make(chan struct{})
	every := r.opts.Interval
	if r.opts.Interactive {
		every = redrawEvery
	}
	go r.run(every, r.quit, r.done)
}

// run ticks every d until quit is closed, then closes done.
func (r *Reporter) run(d time.Duration, quit <-chan struct{}, done chan<- struct{}) {
	defer close(done)
	t := time.NewTicker(d)
	defer t.Stop()
	for {
		select {
		case <-quit:
			return
		case <-t.C:
			r.tick()
		}
	}
}

// Stop ends the goroutine Start started, waiting for it, and writes the
// final progress line: interactive, the line once more and a newline;
// otherwise a plain line if anything changed since the last one. Nothing is
// written when no work was planned. Stop may be called without Start, and
// more than once; only the first call does anything.
func (r *Reporter) Stop() {
	r.mu.Lock()
	if r.stopped {
		r.mu.Unlock()
		return
	}
	r.stopped = true
	quit, done := r.quit, r.done
	r.mu.Unlock()
	if quit != nil {
		close(quit)
		<-done
	}

	r.mu.Lock()
	defer r.mu.Unlock()
	if r.opts.Quiet || !r.hasWorkLocked() {
		r.clearLocked()
		return
	}
	now := r.opts.Now()
	cur := r.current()
	st := r.measureLocked(now, cur, true)
	if r.opts.Interactive {
		io.WriteString(r.w, "\r"+interactiveLine(st, r.bar, r.opts.Width)+"\x1b[K\n")
		r.shown, r.line = false, ""
		return
	}
	if cur == r.printed {
		return
	}
	r.printed = cur
	io.WriteString(r.w, "progress: "+plainLine(st)+"\n")
}

// tick samples the counters and redraws or writes the line. The ticker
// goroutine calls it; so do tests, with a fake clock.
func (r *Reporter) tick() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.stopped || r.opts.Quiet || !r.hasWorkLocked() {
		return
	}
	now := r.opts.Now()
	cur := r.current()
	r.addSampleLocked(now, cur)
	st := r.measureLocked(now, cur, false)
	if r.opts.Interactive {
		line := interactiveLine(st, r.bar, r.opts.Width)
		if r.shown && line == r.line {
			return
		}
		io.WriteString(r.w, "\r"+line+"\x1b[K")
		r.shown, r.line = true, line
		return
	}
	if cur == r.printed {
		return
	}
	r.printed = cur
	io.WriteString(r.w, "progress: "+plainLine(st)+"\n")
}

// current reads the counters.
func (r *Reporter) current() counts {
	return counts{files: r.files.Load(), bytes: r.bytes.Load(), failed: r.failed.Load()}
}

// hasWorkLocked reports whether Planned announced anything to do.
func (r *Reporter) hasWorkLocked() bool {
	return r.planned && (r.total.files > 0 || r.total.bytes > 0)
}

// clearLocked erases the interactive line, if one is on screen.
func (r *Reporter) clearLocked() {
	if r.shown {
		io.WriteString(r.w, eraseLine)
		r.shown, r.line = false, ""
	}
}

// rateWindow is how far back the rate and ETA look.
func (r *Reporter) rateWindow() time.Duration {
	return max(minRateWindow, 2*r.opts.Interval)
}

// addSampleLocked records the counters at now and forgets samples older
// than the rate window, keeping the newest of those as the anchor.
func (r *Reporter) addSampleLocked(now time.Time, c counts) {
	r.samples = append(r.samples, sample{at: now, files: c.files, bytes: c.bytes})
	cutoff := now.Add(-r.rateWindow())
	i := 0
	for i+1 < len(r.samples) && !r.samples[i+1].at.After(cutoff) {
		i++
	}
	r.samples = r.samples[i:]
}

// status is everything a progress line shows.
type status struct {
	files, totalFiles int64
	bytes, totalBytes int64
	failed            int64
	byteRate          float64 // bytes a second; < 0 when unknown
	fileRate          float64 // files a second; < 0 when unknown
	eta               time.Duration
	etaKnown          bool
}

// measureLocked computes the status at now. The rate is over the recent
// samples, or over the whole sync when final (and then there is no ETA).
func (r *Reporter) measureLocked(now time.Time, c counts, final bool) status {
	st := status{
		files: c.files, totalFiles: r.total.files,
		bytes: c.bytes, totalBytes: r.total.bytes,
		failed:   c.failed,
		byteRate: -1, fileRate: -1,
	}
	from := sample{at: r.begin}
	if !final && len(r.samples) > 0 {
		from = r.samples[0]
	}
	if span := now.Sub(from.at); span >= minRateSpan {
		st.byteRate = float64(c.bytes-from.bytes) / span.Seconds()
		st.fileRate = float64(c.files-from.files) / span.Seconds()
	}
	if !final {
		st.eta, st.etaKnown = eta(st)
	}
	// Retried uploads may send more bytes than planned: the line shows at
	// most the total, the rate what was really sent.
	st.bytes = min(st.bytes, st.totalBytes)
	st.files = min(st.files, st.totalFiles)
	return st
}

// eta estimates the time left: the longer of what the remaining bytes and
// the remaining files need at their recent rates, leaving out a rate that
// is zero or unknown. It is unknown when nothing is left (the line then
// shows no ETA) or no rate helps.
func eta(st status) (time.Duration, bool) {
	remBytes := max(st.totalBytes-st.bytes, 0)
	remFiles := max(st.totalFiles-st.files, 0)
	var secs float64
	known := false
	if remBytes > 0 && st.byteRate > 0 {
		secs, known = max(secs, float64(remBytes)/st.byteRate), true
	}
	if remFiles > 0 && st.fileRate > 0 {
		secs, known = max(secs, float64(remFiles)/st.fileRate), true
	}
	if !known {
		return 0, false
	}
	const maxETA = 100 * time.Hour
	if secs >= maxETA.Seconds() {
		return maxETA, true
	}
	return time.Duration(secs * float64(time.Second)), true
}

// fraction is how much of the work is done, from 0 to 1: the smaller of
// the bytes' and the files' fractions, so the bar is full only when both
// are done.
func (st status) fraction() float64 {
	f := 1.0
	if st.totalBytes > 0 {
		f = min(f, float64(max(st.bytes, 0))/float64(st.totalBytes))
	}
	if st.totalFiles > 0 {
		f = min(f, float64(max(st.files, 0))/float64(st.totalFiles))
	}
	return min(f, 1)
}

// fields are the parts of a progress line after the bar, e.g.
// "120/2,005 files", "3.1/110.0 MB", "12.4 MB/s", "ETA 7s", "1 failed".
// With no bytes to upload the rate is in files a second.
func fields(st status) []string {
	out := []string{formatCount(st.files) + "/" + formatCount(st.totalFiles) + " files"}
	if st.totalBytes > 0 {
		out = append(out, formatPair(st.bytes, st.totalBytes))
		if st.byteRate >= 0 {
			out = append(out, formatBytes(int64(st.byteRate))+"/s")
		}
	} else if st.fileRate >= 0 {
		out = append(out, formatFileRate(st.fileRate))
	}
	if st.etaKnown {
		out = append(out, "ETA "+formatETA(st.eta))
	}
	if st.failed > 0 {
		out = append(out, formatCount(st.failed)+" failed")
	}
	return out
}

// plainLine is the non-interactive line after "progress: ":
// "120/2,005 files, 3.1/110.0 MB, 12.4 MB/s, ETA 7s".
func plainLine(st status) string {
	return strings.Join(fields(st), ", ")
}

// interactiveLine is the line redrawn in place:
// "[=====>          ]   37%  120/2,005 files  3.1/110.0 MB  12.4 MB/s  ETA 7s",
// with a bar barW columns wide (none if 0). It stays under width columns so
// it never wraps: the fields that do not fit are left out, from the end.
func interactiveLine(st status, barW, width int) string {
	frac := st.fraction()
	pct := int(frac * 100)
	if frac < 1 {
		pct = min(pct, 99)
	}
	n := max(width-1, 1)
	var b strings.Builder
	if barW > 0 {
		b.WriteString(bar(frac, barW))
		b.WriteString("  ")
	}
	b.WriteString(padLeft(itoa(pct)+"%", 4))
	for _, f := range fields(st) {
		if b.Len()+2+len(f) > n {
			break
		}
		b.WriteString("  ")
		b.WriteString(f)
	}
	line := b.String()
	if len(line) > n {
		line = line[:n]
	}
	return line
}

// bar draws frac (0 to 1) as "[=====>     ]", w columns between brackets.
func bar(frac float64, w int) string {
	filled := int(frac * float64(w))
	if frac >= 1 {
		return "[" + strings.Repeat("=", w) + "]"
	}
	filled = min(max(filled, 0), w-1)
	return "[" + strings.Repeat("=", filled) + ">" + strings.Repeat(" ", w-filled-1) + "]"
}
