package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"sync"
	"time"
)

// Checkpoints off the write path.
//
// In WAL mode a commit appends the pages it changed to the log, and SQLite's
// own checkpoint (after a commit that takes the log past 1,000 pages) copies
// them into the database file and syncs both files, inside that commit, with
// the single writer connection held. The syncs cost the disk's time per page
// written (about 12 µs a page here), so a stream of small writes, PUTs of
// small objects above all, stalled for tens of milliseconds every few
// hundred commits, every writer queued behind them.
//
// The checkpointer does that work in the background instead: on its own
// connection it copies the log into the database and syncs, concurrently
// with writers (a PASSIVE checkpoint). Only what was committed meanwhile
// remains, so, once the log is long enough to be worth restarting, it holds
// the writer connection for a second, short checkpoint of that remainder,
// after which the next commit starts the log again from its beginning. The
// writer's own automatic checkpoint stays on, at walBackstopPages, in case
// the checkpointer falls behind.
const (
	// walRestartPages is the log length (in pages) at which the checkpointer
	// brings the log to its end so that the next commit restarts it: SQLite's
	// automatic checkpoint threshold.
	walRestartPages = 1000
	// walBackstopPages is the writer's automatic checkpoint threshold while
	// the checkpointer runs.
	walBackstopPages = 8 * walRestartPages
	// checkpointBusyInterval is the pause between checkpoints while commits
	// keep coming; checkpointIdleInterval the longest pause once they stop.
	checkpointBusyInterval = 20 * time.Millisecond
	checkpointIdleInterval = time.Second
)

// checkpointer runs background checkpoints of one database (see above).
type checkpointer struct {
	ck, w  *sql.DB // ck: the checkpointer's own connection; w: the writer pool
	cancel context.CancelFunc
	done   chan struct{}
	once   sync.Once
}

// startCheckpointer starts checkpointing the database of the writer pool w
// over ck, a pool of one connection that it closes when stopped.
func startCheckpointer(ck, w *sql.DB) *checkpointer {
	ctx, cancel := context.WithCancel(context.Background())
	c := &checkpointer{ck: ck, w: w, cancel: cancel, done: make(chan struct{})}
	go c.run(ctx)
	return c
}

// run checkpoints until ctx is done: every checkpointBusyInterval while the
// log grows, backing off to checkpointIdleInterval while it does not. A
// failed checkpoint is retried on the next round; the log is not lost, and
// the writer's backstop checkpoint bounds its length meanwhile.
func (c *checkpointer) run(ctx context.Context) {
	defer close(c.done)
	wait := checkpointBusyInterval
	t := time.NewTimer(wait)
	defer t.Stop()
	last := -1
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		log, err := c.round(ctx)
		switch {
		case err != nil || log == last:
			wait = min(2*wait, checkpointIdleInterval)
		default:
			wait = checkpointBusyInterval
		}
		last = log
		t.Reset(wait)
	}
}

// round makes one background checkpoint and, if the log has reached
// walRestartPages, the short one on the writer connection that lets the next
// commit restart it. It returns the log's length in pages.
func (c *checkpointer) round(ctx context.Context) (int, error) {
	log, err := checkpointPassive(ctx, c.ck)
	if err != nil || log < walRestartPages {
		return log, err
	}
	conn, err := c.w.Conn(ctx) // writers wait until Close
	if err != nil {
		return log, fmt.Errorf("store: checkpoint: take the writer connection: %w", err)
	}
	defer func() { _ = conn.Close() }()
	return checkpointPassive(ctx, conn)
}

// queryer is a *sql.DB or a *sql.Conn.
type queryer interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// checkpointPassive runs a PASSIVE checkpoint on q and returns the log's
// length in pages.
func checkpointPassive(ctx context.Context, q queryer) (int, error) {
	var busy, log, done int
	if err := q.QueryRowContext(ctx, "PRAGMA wal_checkpoint(PASSIVE)").Scan(&busy, &log, &done); err != nil {
		return 0, fmt.Errorf("store: checkpoint: %w", err)
	}
	return log, nil
}

// stop ends the checkpoints (waiting for one under way) and closes the
// checkpointer's connection. It is safe to call more than once.
func (c *checkpointer) stop() error {
	var err error
	c.once.Do(func() {
		c.cancel()
		<-c.done
		err = c.ck.Close()
	})
	return err
}
