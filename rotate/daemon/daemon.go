// Package daemon runs rotation passes on a schedule (`keyless rotate daemon`).
//
// The rotation's state lives in IAM and the users' secrets (see package
// rotate), so a daemon that restarts, or moves to another machine, resumes where
// the last pass stopped. With a keyless store, replicas take turns through a
// lease kept in the store (the scheme the signing-key schedule uses): only the
// holder of an unexpired lease runs a pass, it renews the lease while the pass
// runs, and a pass whose lease is lost is cancelled. Each pass's outcome is
// written to the store too, for `keyless rotate status` on another replica.
// Without a store there is no coordination: run one daemon.
package daemon

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/keyless-dev/keyless/rotate"
	"github.com/keyless-dev/keyless/store"
)

// Settings is the part of store.Store the daemon uses.
type Settings interface {
	GetSetting(ctx context.Context, name string) ([]byte, error)
	CreateSetting(ctx context.Context, name string, value []byte) error
	PutSetting(ctx context.Context, name string, value []byte) error
	UpdateSetting(ctx context.Context, name string, fn func([]byte) ([]byte, error)) error
}

// Store settings the daemon keeps.
const (
	// LeaseSetting holds the lease: {"holder", "expires"}.
	LeaseSetting = "rotation-daemon-lease"
	// StatusSetting holds the last pass's Status.
	StatusSetting = "rotation-daemon-status"
)

// DefaultLeaseTTL is how long a lease lasts unless renewed.
const DefaultLeaseTTL = 5 * time.Minute

// Lease is a lease in a keyless store: at most one holder at a time, until it
// expires.
type Lease struct {
	// Store keeps the lease.
	Store Settings
	// Holder names this replica; NewHolder makes one.
	Holder string
	// TTL is how long the lease lasts unless renewed; 0 means DefaultLeaseTTL.
	TTL time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

type leaseRecord struct {
	Holder  string    `json:"holder"`
	Expires time.Time `json:"expires"`
}

var errHeld = errors.New("rotation lease held by another replica")

// NewHolder names this process: host, process id and a random suffix.
func NewHolder() string {
	host, _ := os.Hostname()
	b := make([]byte, 4)
	rand.Read(b) //nolint:errcheck // crypto/rand.Read never fails
	return fmt.Sprintf("%s/%d/%s", host, os.Getpid(), hex.EncodeToString(b))
}

func (l *Lease) now() time.Time {
	if l.Now != nil {
		return l.Now().UTC()
	}
	return time.Now().UTC()
}

func (l *Lease) ttl() time.Duration {
	if l.TTL > 0 {
		return l.TTL
	}
	return DefaultLeaseTTL
}

// Acquire takes or renews the lease. It returns false, with the holder and
// expiry, when another replica holds an unexpired lease.
func (l *Lease) Acquire(ctx context.Context) (bool, string, error) {
	now := l.now()
	mine, _ := json.Marshal(leaseRecord{Holder: l.Holder, Expires: now.Add(l.ttl())})
	var other leaseRecord
	err := l.Store.UpdateSetting(ctx, LeaseSetting, func(cur []byte) ([]byte, error) {
		if json.Unmarshal(cur, &other) == nil && other.Holder != l.Holder && now.Before(other.Expires) {
			return nil, errHeld
		}
		return mine, nil
	})
	switch {
	case err == nil:
		return true, "", nil
	case errors.Is(err, errHeld):
		return false, fmt.Sprintf("%s until %s", other.Holder, other.Expires.Format(time.RFC3339)), nil
	case errors.Is(err, store.ErrNotFound):
		if err := l.Store.CreateSetting(ctx, LeaseSetting, mine); err != nil {
			if errors.Is(err, store.ErrAlreadyExists) {
				return l.Acquire(ctx) // another replica created it first
			}
			return false, "", fmt.Errorf("take the rotation lease: %w", err)
		}
		return true, "", nil
	}
	return false, "", fmt.Errorf("take the rotation lease: %w", err)
}

// Release ends the lease if this replica holds it, so that another may take
// over at once.
func (l *Lease) Release(ctx context.Context) error {
	err := l.Store.UpdateSetting(ctx, LeaseSetting, func(cur []byte) ([]byte, error) {
		var r leaseRecord
		if json.Unmarshal(cur, &r) != nil || r.Holder != l.Holder {
			return nil, errHeld
		}
		return json.Marshal(leaseRecord{Holder: l.Holder})
	})
	if err != nil && !errors.Is(err, errHeld) && !errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("release the rotation lease: %w", err)
	}
	return nil
}

// Status is the outcome of one pass, kept in the store.
type Status struct {
	// Holder is the replica that ran it.
	Holder string `json:"holder"`
	// Started and Finished bound the pass.
	Started  time.Time `json:"started"`
	Finished time.Time `json:"finished"` // when the pass ended
	// Error is the error that stopped the pass before it reached every user.
	Error string `json:"error,omitempty"`
	// Reports are the users' reports.
	Reports []*rotate.Report `json:"reports"`
}

// Daemon runs Pass every Interval.
type Daemon struct {
	// Pass runs one pass over every user.
	Pass func(ctx context.Context) ([]*rotate.Report, error)
	// Interval is the time between the end of a pass and the next; it must be
	// positive.
	Interval time.Duration
	// Lease, when set, makes replicas take turns; its Store also receives each
	// pass's Status.
	Lease *Lease
	// RenewEvery is how often the lease is renewed during a pass; 0 means a
	// third of its TTL.
	RenewEvery time.Duration
	// Sleep waits between passes; nil means a timer.
	Sleep func(ctx context.Context, d time.Duration) error
	// Logger gets a line per pass; nil discards.
	Logger *slog.Logger
}

// errLeaseLost cancels a pass whose lease another replica took.
var errLeaseLost = errors.New("the rotation lease was lost to another replica")

// Serve runs passes until ctx ends, then releases the lease and returns nil.
func (d *Daemon) Serve(ctx context.Context) error {
	if d.Pass == nil || d.Interval <= 0 {
		return errors.New("rotate daemon: a pass and a positive interval are needed")
	}
	log := d.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	sleep := d.Sleep
	if sleep == nil {
		sleep = sleepCtx
	}
	if d.Lease == nil {
		log.Warn("no keyless store: replicas do not coordinate; run one rotation daemon")
	}
	for {
		d.once(ctx, log)
		if err := sleep(ctx, d.Interval); err != nil || ctx.Err() != nil {
			if d.Lease != nil {
				rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
				if err := d.Lease.Release(rctx); err != nil {
					log.Warn("release the rotation lease", "error", err)
				}
				cancel()
			}
			return nil
		}
	}
}

// once runs one pass if this replica may.
func (d *Daemon) once(ctx context.Context, log *slog.Logger) {
	if d.Lease != nil {
		ok, other, err := d.Lease.Acquire(ctx)
		if err != nil {
			log.Error("rotation pass skipped", "error", err)
			return
		}
		if !ok {
			log.Info("rotation pass skipped: another replica holds the lease", "holder", other)
			return
		}
	}
	runCtx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	done := make(chan struct{})
	renewed := make(chan struct{})
	if d.Lease != nil {
		go d.renew(runCtx, cancel, done, renewed, log)
	} else {
		close(renewed)
	}
	st := Status{Started: time.Now().UTC()}
	if d.Lease != nil {
		st.Holder = d.Lease.Holder
	}
	reports, err := d.Pass(runCtx)
	close(done)
	<-renewed
	st.Finished, st.Reports = time.Now().UTC(), reports
	if err != nil {
		if cause := context.Cause(runCtx); errors.Is(cause, errLeaseLost) {
			err = cause
		}
		st.Error = err.Error()
		log.Error("rotation pass failed", "error", err)
	} else {
		log.Info("rotation pass done", "users", len(reports))
	}
	if d.Lease != nil {
		b, _ := json.Marshal(st)
		if err := d.Lease.Store.PutSetting(ctx, StatusSetting, b); err != nil {
			log.Warn("record the rotation status", "error", err)
		}
	}
}

// renew keeps the lease while a pass runs and cancels it when the lease is lost.
func (d *Daemon) renew(ctx context.Context, cancel context.CancelCauseFunc, done <-chan struct{}, finished chan<- struct{}, log *slog.Logger) {
	defer close(finished)
	every := d.RenewEvery
	if every <= 0 {
		every = d.Lease.ttl() / 3
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-done:
			return
		case <-ctx.Done():
			return
		case <-t.C:
			ok, other, err := d.Lease.Acquire(ctx)
			if err != nil {
				log.Warn("renew the rotation lease", "error", err)
				continue
			}
			if !ok {
				log.Error("rotation lease lost: cancelling the pass", "holder", other)
				cancel(errLeaseLost)
				return
			}
		}
	}
}

// ReadStatus returns the last pass's Status from the store.
func ReadStatus(ctx context.Context, s Settings) (*Status, error) {
	b, err := s.GetSetting(ctx, StatusSetting)
	if err != nil {
		return nil, fmt.Errorf("read the rotation daemon's status: %w", err)
	}
	var st Status
	if err := json.Unmarshal(b, &st); err != nil {
		return nil, fmt.Errorf("read the rotation daemon's status: %w", err)
	}
	return &st, nil
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return context.Cause(ctx)
	}
}
