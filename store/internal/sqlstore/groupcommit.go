package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"runtime"
	"sync"

	"github.com/keyless-dev/keyless/store"
)

// Group commit of PutObjectInline.
//
// A small PUT's cost in the database is mostly its commit: the pages it
// changed appended to the log, the locks taken and released. Writers queue on
// one connection anyway (SQLite) or each pay a log flush (PostgreSQL), so
// while one transaction commits, the PUTs that arrive wait for it, and the
// next transaction takes all of them: one commit for the batch, and the pages
// they share (the objects' B-tree leaves, for keys written in order) written
// once. A PUT alone is its own batch, without waiting.
//
// The first caller to find no batch running leads: it yields once, so that
// puts about to arrive join, then writes the queue, itself included, in one
// transaction, hands the lead to the first caller that queued meanwhile (who
// writes the next batch), and returns. A batch that fails as a whole (a
// bucket deleted meanwhile, a failed commit) is rolled back and its puts are
// written one transaction each, so that one put's failure is its own. A put
// whose condition refuses it writes nothing (the condition is judged before
// its writes) and the batch goes on.

// maxInlineBatch bounds the puts one transaction writes.
const maxInlineBatch = 64

// inlineBatch queues the PutObjectInline calls waiting for a transaction.
type inlineBatch struct {
	mu      sync.Mutex
	queue   []*inlinePut
	running bool // a leader is writing a batch
}

// inlinePut is one PutObjectInline call and, once done is signalled, its
// result.
type inlinePut struct {
	ctx     context.Context
	o       store.Object
	data    []byte
	cond    func(*store.Object) error
	done    chan bool // false: written by another's batch; true: lead the next batch
	old     *store.Object
	oldGone bool
	err     error
}

// PutObjectInline writes o's metadata (as PutObject does, cond first) with
// data in its record, and deletes the blob kept here of the object o
// replaces, if any, in one transaction, which it may share with concurrent
// calls (group commit).
func (s *Store) PutObjectInline(ctx context.Context, o store.Object, data []byte, cond func(*store.Object) error) (*store.Object, bool, error) {
	p := &inlinePut{ctx: ctx, o: o, data: data, cond: cond, done: make(chan bool, 1)}
	b := &s.inline
	b.mu.Lock()
	b.queue = append(b.queue, p)
	lead := !b.running
	b.running = true
	b.mu.Unlock()
	if !lead {
		if lead = <-p.done; !lead {
			return p.result()
		}
	}
	// Leading. Yield first: the puts whose requests are on their way (read,
	// verified, hashed) by the time the other goroutines have had their turn
	// join this batch instead of waiting for the next commit. With nothing
	// else to run (a put alone) it returns at once.
	runtime.Gosched()
	// Write what is queued (p included), then pass the lead on.
	b.mu.Lock()
	n := min(len(b.queue), maxInlineBatch)
	batch := b.queue[:n:n]
	b.queue = b.queue[n:]
	b.mu.Unlock()
	s.writeInlineBatch(batch)
	for _, q := range batch {
		if q != p {
			q.done <- false
		}
	}
	b.mu.Lock()
	if len(b.queue) > 0 {
		b.queue[0].done <- true
	} else {
		b.running = false
		b.queue = nil
	}
	b.mu.Unlock()
	return p.result()
}

func (p *inlinePut) result() (*store.Object, bool, error) {
	if p.err != nil {
		return nil, false, fmt.Errorf("store: put object %q with its bytes: %w", p.o.Bucket+"/"+p.o.Key, p.err)
	}
	return p.old, p.oldGone, nil
}

// writeInlineBatch writes batch in one transaction, or, if that fails as a
// whole, each put in its own. Puts whose context is done are not written.
func (s *Store) writeInlineBatch(batch []*inlinePut) {
	live := batch[:0:0]
	for _, p := range batch {
		if p.err = p.ctx.Err(); p.err == nil {
			live = append(live, p)
		}
	}
	if len(live) == 0 {
		return
	}
	// A caller gone meanwhile does not cancel the others' commit.
	ctx := context.WithoutCancel(live[0].ctx)
	if len(live) > 1 {
		err := s.inTx(ctx, func(tx *sql.Tx) error {
			for _, p := range live {
				if err := s.putInline(ctx, tx, p); err != nil && !p.refused(err) {
					return err
				}
			}
			return nil
		})
		if err == nil {
			return
		}
	}
	for _, p := range live {
		p.old, p.oldGone = nil, false
		if err := s.inTx(ctx, func(tx *sql.Tx) error { return s.putInline(ctx, tx, p) }); err != nil && !p.refused(err) {
			p.err = err
		}
	}
}

// refusedError marks the error of a put's condition.
type refusedError struct{ err error }

func (e refusedError) Error() string { return e.err.Error() }
func (e refusedError) Unwrap() error { return e.err }

// refused records err as p's result if its condition refused it, which
// wrote nothing, and reports whether it did.
func (p *inlinePut) refused(err error) bool {
	var r refusedError
	if errors.As(err, &r) {
		p.err = r.err
		return true
	}
	return false
}

// putInline makes p's writes in tx and sets its result. An error from its
// condition comes back as a refusedError, with nothing written.
func (s *Store) putInline(ctx context.Context, tx *sql.Tx, p *inlinePut) error {
	var cond func(*inlineRecord) error
	if p.cond != nil {
		cond = func(cur *inlineRecord) error {
			var o *store.Object
			if cur != nil {
				o = &cur.Object
			}
			if err := p.cond(o); err != nil {
				return refusedError{err}
			}
			return nil
		}
	}
	old, err := upsert(ctx, s, tx, inlineObjects, inlineRecord{Object: p.o, data: p.data}, cond, p.o.Bucket, p.o.Key)
	if err != nil {
		return err
	}
	p.old, p.oldGone, p.err = nil, false, nil
	if old == nil {
		return nil
	}
	p.old = &old.Object
	if old.Inline || old.BlobID == p.o.BlobID {
		p.oldGone = old.Inline // its bytes were in the record just written over
		return nil
	}
	// An object kept by an earlier keyless as a blob of this store.
	res, err := tx.ExecContext(ctx, `DELETE FROM blobs WHERE key_hash = $1`, keyHash(old.BlobID))
	if err != nil {
		return err
	}
	n, err := res.RowsAffected()
	p.oldGone = n == 1
	return err
}
