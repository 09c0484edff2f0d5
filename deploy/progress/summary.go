package progress

import (
	"io"
	"strings"
	"time"
)

// SummaryInput is the outcome of a sync, for the summary line.
type SummaryInput struct {
	// Uploaded, Updated, Deleted, Unchanged and Failed count keys by what
	// the sync did to them (or, in a dry run, would do).
	Uploaded, Updated, Deleted, Unchanged, Failed int
	// Bytes is the number of bytes uploaded.
	Bytes int64
	// Elapsed is how long the sync took; 0 leaves the time out.
	Elapsed time.Duration
	// DryRun says nothing was changed: the summary says what would be.
	DryRun bool
}

// String is the human summary:
//
//	Uploaded 2 files (12.3 KB), updated 0, deleted 0, 1,998 unchanged in 0.42s
//	Uploaded 2 files (12.3 KB), updated 0, deleted 0, 1,998 unchanged in 0.42s; 3 failed
//	Dry run: would upload 2 files (12.3 KB), update 0, delete 0, 1,998 unchanged (planned in 0.42s)
func (s SummaryInput) String() string {
	var b strings.Builder
	files := formatCount(int64(s.Uploaded)) + " file"
	if s.Uploaded != 1 {
		files += "s"
	}
	if s.Uploaded > 0 || s.Bytes > 0 {
		files += " (" + formatBytes(s.Bytes) + ")"
	}
	if s.DryRun {
		b.WriteString("Dry run: would upload " + files +
			", update " + formatCount(int64(s.Updated)) +
			", delete " + formatCount(int64(s.Deleted)))
	} else {
		b.WriteString("Uploaded " + files +
			", updated " + formatCount(int64(s.Updated)) +
			", deleted " + formatCount(int64(s.Deleted)))
	}
	b.WriteString(", " + formatCount(int64(s.Unchanged)) + " unchanged")
	if s.Elapsed > 0 {
		if s.DryRun {
			b.WriteString(" (planned in " + formatElapsed(s.Elapsed) + ")")
		} else {
			b.WriteString(" in " + formatElapsed(s.Elapsed))
		}
	}
	if s.Failed > 0 {
		b.WriteString("; " + formatCount(int64(s.Failed)) + " failed")
	}
	return b.String()
}

// Summary writes the summary line (see SummaryInput.String), erasing the
// interactive progress line first if it is on screen. It writes nothing
// when Quiet.
func (r *Reporter) Summary(s SummaryInput) {
	if r.opts.Quiet {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.clearLocked()
	io.WriteString(r.w, s.String()+"\n")
}
