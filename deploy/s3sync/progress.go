package s3sync

// Action is what a sync does to one key.
type Action string

// Actions.
const (
	Upload    Action = "upload"    // new or changed content
	Update    Action = "update"    // same content, new headers: CopyObject in place
	Delete    Action = "delete"    // gone from the source (--delete)
	Unchanged Action = "unchanged" // nothing to do
)

// Totals count the work of a sync by action.
type Totals struct {
	Upload, Update, Delete, Unchanged int
	// UploadBytes is the number of bytes the uploads will send.
	UploadBytes int64
}

// Progress receives the events of a sync as it runs, for a progress display.
// Its methods may be called from many goroutines at once.
type Progress interface {
	// Planned is called once, after the comparison, before any transfer.
	Planned(t Totals)
	// Transferred is called as upload bytes are sent, with the count since
	// the last call for that transfer.
	Transferred(n int64)
	// Finished is called when one key's action is done (err nil) or failed;
	// with DryRun, once for each action planned. It is not called for the
	// unchanged keys (Planned counts them).
	Finished(key string, a Action, err error)
}
