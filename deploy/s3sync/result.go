package s3sync

import (
	"fmt"
	"math"
	"strings"
	"time"
)

// Result is what a sync did, or with DryRun would do.
type Result struct {
	// Totals count the actions done (planned, with DryRun); UploadBytes is
	// the bytes the plan's uploads send.
	Totals
	// Bucket and Prefix are the destination ("" or ending in "/").
	Bucket, Prefix string
	// DryRun is Options.DryRun.
	DryRun bool
	// Changed are the keys uploaded or updated, Deleted the keys deleted,
	// each sorted.
	Changed, Deleted []string
	// Keys are the keys of every source file the sync selected, changed or
	// not, sorted: the site after the sync, which an invalidation plan
	// needs to know what a wildcard would also evict.
	Keys []string
	// Bytes is the size of the uploads done (planned, with DryRun).
	Bytes int64
	// Duration is how long the sync took.
	Duration time.Duration
}

// Summary is the JSON summary of a sync (`keyless deploy s3 --output
// json`), which `keyless deploy invalidate --changes FILE` reads.
type Summary struct {
	Bucket      string   `json:"bucket"`
	Prefix      string   `json:"prefix"`
	DryRun      bool     `json:"dry_run"`
	Uploaded    int      `json:"uploaded"`
	Updated     int      `json:"updated"`
	Deleted     int      `json:"deleted"`
	Unchanged   int      `json:"unchanged"`
	Bytes       int64    `json:"bytes"`
	Seconds     float64  `json:"seconds"`
	Changed     []string `json:"changed"`
	DeletedKeys []string `json:"deleted_keys"`
}

// Summary returns the JSON summary of r; its lists are never null.
func (r Result) Summary() Summary {
	s := Summary{
		Bucket: r.Bucket, Prefix: r.Prefix, DryRun: r.DryRun,
		Uploaded: r.Upload, Updated: r.Update, Deleted: r.Delete, Unchanged: r.Unchanged,
		Bytes:       r.Bytes,
		Seconds:     math.Round(r.Duration.Seconds()*1000) / 1000,
		Changed:     append([]string{}, r.Changed...),
		DeletedKeys: append([]string{}, r.Deleted...),
	}
	return s
}

// KeyError is the failure of one key's action.
type KeyError struct {
	Key    string
	Action Action
	Err    error
}

// Error names the action and the key.
func (e *KeyError) Error() string { return fmt.Sprintf("%s %s: %v", e.Action, e.Key, e.Err) }

// Unwrap returns the cause.
func (e *KeyError) Unwrap() error { return e.Err }

// FailedError is Sync's error when some keys' actions failed while the
// others were done. The deletes are not attempted when an upload or update
// failed (the old objects they would remove may still be needed).
type FailedError struct {
	Errors []*KeyError
	// Actions is the number of actions attempted.
	Actions int
	// SkippedDeletes is the number of deletes not attempted.
	SkippedDeletes int
}

// Error says how many failed, and the first few.
func (e *FailedError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d of %d changes failed", len(e.Errors), e.Actions)
	const shown = 5
	for i, ke := range e.Errors {
		if i == shown {
			fmt.Fprintf(&b, "; and %d more", len(e.Errors)-shown)
			break
		}
		b.WriteString("; ")
		b.WriteString(ke.Error())
	}
	if e.SkippedDeletes > 0 {
		fmt.Fprintf(&b, "; %d deletes not attempted: fix the failures and sync again", e.SkippedDeletes)
	}
	return b.String()
}

// Unwrap returns the keys' errors.
func (e *FailedError) Unwrap() []error {
	errs := make([]error, len(e.Errors))
	for i, ke := range e.Errors {
		errs[i] = ke
	}
	return errs
}
