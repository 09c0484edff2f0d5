package rotate

import (
	"slices"
	"time"
)

// Key roles in a Report.
const (
	RoleCurrent    = "current"     // the key AWSCURRENT holds
	RolePending    = "pending"     // the key AWSPENDING holds, not promoted yet
	RolePrevious   = "previous"    // the key AWSPREVIOUS holds
	RoleRolledBack = "rolled-back" // a new key being rolled back
	RoleOther      = "other"       // a key the secret does not hold
)

// Target states in a Report.
const (
	TargetInSync  = "in-sync" // known to hold the current key
	TargetStale   = "stale"   // holds another key, or its variables are missing
	TargetFailing = "failing" // the last push or read failed
	TargetUnknown = "unknown" // never pushed by keyless, and cannot be read back
)

// Report is what a plan, run, status or sync found and did for one user. It
// holds no secret value.
type Report struct {
	// User is the IAM user name.
	User string `json:"user"`
	// Secret is the secret as configured; SecretARN its ARN once known.
	Secret    string `json:"secret"`
	SecretARN string `json:"secret_arn,omitempty"` // the secret's ARN, once it exists
	// Current, Pending and Previous are the access key IDs the secret's
	// AWSCURRENT, AWSPENDING and AWSPREVIOUS versions hold.
	Current  string `json:"current,omitempty"`
	Pending  string `json:"pending,omitempty"`  // a new key not promoted yet
	Previous string `json:"previous,omitempty"` // the key before Current
	// SyncedAt is when every target was first seen holding Current.
	SyncedAt *time.Time `json:"synced_at,omitempty"`
	// Keys are the user's access keys, oldest first.
	Keys []KeyReport `json:"keys"`
	// Targets are the user's targets, in config order.
	Targets []TargetReport `json:"targets"`
	// Actions are the steps taken (run, sync) or that would be taken (plan,
	// dry run), in order.
	Actions []ActionReport `json:"actions"`
	// Blocked says why a rotation that is due cannot start.
	Blocked string `json:"blocked,omitempty"`
	// Warnings are oddities found on the way, such as a tag keyless did not write.
	Warnings []string `json:"warnings,omitempty"`
	// Error is the error that stopped the pass.
	Error string `json:"error,omitempty"`
}

// KeyReport is one access key.
type KeyReport struct {
	// ID is the access key ID.
	ID string `json:"id"`
	// Active is false for an inactive key.
	Active bool `json:"active"`
	// Created is IAM's creation date; AgeDays the whole days since.
	Created time.Time `json:"created"`
	AgeDays int       `json:"age_days"` // whole days since Created
	// LastUsed is IAM's last use (nil: never), with the service and region.
	LastUsed        *time.Time `json:"last_used,omitempty"`
	LastUsedService string     `json:"last_used_service,omitempty"` // the service of the last use
	LastUsedRegion  string     `json:"last_used_region,omitempty"`  // the region of the last use
	// Role is RoleCurrent, RolePending, RolePrevious, RoleRolledBack or RoleOther.
	Role string `json:"role"`
	// Note says why the key is kept as it is.
	Note string `json:"note,omitempty"`
}

// TargetReport is one target.
type TargetReport struct {
	// Name names the target, such as "bitbucket deployment acme/web production".
	Name string `json:"name"`
	// State is TargetInSync, TargetStale, TargetFailing or TargetUnknown.
	State string `json:"state"`
	// Holds is the access key ID the target holds, as read back or as last
	// pushed; "" when unknown.
	Holds string `json:"holds,omitempty"`
	// PushedAt is the time of the last push.
	PushedAt *time.Time `json:"pushed_at,omitempty"`
	// Error is the last push's or read's error: the target and HTTP status,
	// never a value.
	Error string `json:"error,omitempty"`
}

// ActionReport is one step.
type ActionReport struct {
	// Step is the kind of step.
	Step Step `json:"step"`
	// Key is the access key concerned, if any.
	Key string `json:"key,omitempty"`
	// Target is the target concerned, if any.
	Target string `json:"target,omitempty"`
	// Description says what the step does; Reason why.
	Description string `json:"description"`
	Reason      string `json:"reason,omitempty"` // why the step is due
	// Bookkeeping marks a step that only writes a tag on the secret.
	Bookkeeping bool `json:"bookkeeping,omitempty"`
	// Error is the step's error, if it failed.
	Error string `json:"error,omitempty"`
}

// Failed reports whether the pass stopped on an error or left a target failing.
func (r *Report) Failed() bool {
	return r.Error != "" || slices.ContainsFunc(r.Targets, func(t TargetReport) bool { return t.State == TargetFailing })
}

// Changes reports whether the report has a step other than bookkeeping.
func (r *Report) Changes() bool {
	return slices.ContainsFunc(r.Actions, func(a ActionReport) bool { return !a.Bookkeeping })
}

// report describes the pass's state.
func (p *pass) report(actions []ActionReport) *Report {
	st := p.st
	r := &Report{User: p.u.Name, Secret: p.u.Secret, Current: st.currentKeyID(), Pending: st.pendingKeyID(),
		Previous: st.previousKeyID(), Actions: actions, Blocked: p.blocked, Warnings: st.warnings,
		Keys: []KeyReport{}, Targets: []TargetReport{}}
	if r.Actions == nil {
		r.Actions = []ActionReport{}
	}
	if st.exists && st.secretID != p.u.Secret {
		r.SecretARN = st.secretID
	}
	if s := st.synced; s != nil && s.Key == r.Current {
		at := s.At
		r.SyncedAt = &at
	}
	for _, k := range st.keys {
		kr := KeyReport{ID: k.ID, Active: k.Active, Created: k.Created, AgeDays: int(p.now.Sub(k.Created) / (24 * time.Hour)),
			LastUsedService: k.Service, LastUsedRegion: k.Region, Role: RoleOther, Note: p.notes[k.ID]}
		if !k.LastUsed.IsZero() {
			lu := k.LastUsed
			kr.LastUsed = &lu
		}
		switch k.ID {
		case r.Current:
			kr.Role = RoleCurrent
		case r.Pending:
			kr.Role = RolePending
		case st.rollback:
			kr.Role = RoleRolledBack
		case r.Previous:
			kr.Role = RolePrevious
		}
		r.Keys = append(r.Keys, kr)
	}
	for _, ts := range st.targets {
		r.Targets = append(r.Targets, targetReport(ts, r.Current))
	}
	return r
}

func targetReport(ts *targetState, cur string) TargetReport {
	tr := TargetReport{Name: ts.Name(), Holds: ts.rec.Key}
	if ts.readable {
		tr.Holds = ts.live
	}
	if ts.rec.Key != "" {
		at := ts.rec.At
		tr.PushedAt = &at
	}
	switch {
	case ts.readErr != nil:
		tr.State, tr.Error = TargetFailing, "read: "+ts.readErr.Error()
	case ts.rec.Key == cur && !ts.rec.OK:
		tr.State, tr.Error = TargetFailing, ts.rec.Err
	case ts.holds(cur):
		tr.State = TargetInSync
	case ts.missing || ts.readable && ts.live != cur || ts.rec.Key != "" && ts.rec.Key != cur:
		tr.State = TargetStale
	default:
		tr.State = TargetUnknown
	}
	return tr
}
