package rotate

import (
	"fmt"
	"strings"
	"time"

	"github.com/keyless-dev/keyless/rotate/target"
)

// orphanSkew is how much earlier than the creating mark an orphan key's IAM
// creation date may be: the clocks of the rotator and IAM differ.
const orphanSkew = 5 * time.Minute

// newKeyID stands for the key a dry run would create.
const newKeyID = "(new key)"

// action is the next step and why.
type action struct {
	step   Step
	key    string // the access key concerned, if any
	target int    // index into the targets, or -1
	what   string
	why    string
}

// pass is one pass over one user: the state and what this pass has done.
type pass struct {
	u   User
	st  *state
	now time.Time
	dry bool

	// What this pass did, which the state cannot tell.
	markedCreating bool
	newKey         *key
	newCreds       target.Credentials
	stored         bool
	verified       map[string]bool
	pushed         map[int]string // target → key pushed to it in this pass
	markedInactive map[string]bool
	rolledBack     bool
	syncOnly       bool // Sync: push every target once, record, and stop

	// Why keys are kept and rotation waits, from the last decision.
	notes   map[string]string
	blocked string
}

func newPass(u User, st *state, now time.Time, dry bool) *pass {
	return &pass{u: u, st: st, now: now, dry: dry,
		verified: map[string]bool{}, pushed: map[int]string{}, markedInactive: map[string]bool{}, notes: map[string]string{}}
}

func (p *pass) act(step Step, keyID string, target int, what, why string) *action {
	return &action{step: step, key: keyID, target: target, what: what, why: why}
}

func (p *pass) keyActive(id string) bool {
	k := p.st.key(id)
	return k != nil && k.Active
}

// allHold reports whether every target is known to hold keyID.
func (p *pass) allHold(keyID string) bool {
	for _, ts := range p.st.targets {
		if !ts.holds(keyID) {
			return false
		}
	}
	return true
}

func (p *pass) note(keyID, format string, args ...any) {
	p.notes[keyID] = fmt.Sprintf(format, args...)
}

// next decides the next step, or nil when the pass is done. It is called
// again after every step, on the state that step left.
func (p *pass) next() *action {
	p.notes, p.blocked = map[string]string{}, ""
	st := p.st
	// A rotation this pass started: create the key, then store it at once.
	if p.markedCreating && p.newKey == nil {
		return p.act(StepCreateKey, "", -1, "create a new access key for IAM user "+p.u.Name, "")
	}
	if p.newKey != nil && !p.stored {
		return p.act(StepStorePending, p.newKey.ID, -1, "store key "+p.newKey.ID+" in the secret as "+stagePending, "")
	}
	if p.syncOnly {
		return p.nextSync()
	}
	if a := p.leftovers(); a != nil {
		return a
	}
	if a := p.pendingStep(); a != nil {
		return a
	}
	cur := st.currentKeyID()
	if a := p.targetStep(cur); a != nil {
		return a
	}
	if !p.keyActive(cur) {
		return p.rotate()
	}
	if p.shouldRollback() {
		return p.act(StepMarkRollback, cur, -1, "record that key "+cur+" is being rolled back",
			"no target could be updated with the new key")
	}
	if p.allHold(cur) && (st.synced == nil || st.synced.Key != cur) {
		return p.act(StepRecordSynced, cur, -1, "record the rotation time of key "+cur, "every target holds it")
	}
	for _, k := range st.keys {
		if k.ID == cur || k.ID == st.pendingKeyID() || k.ID == st.rollback {
			continue
		}
		if a := p.retire(k); a != nil {
			return a
		}
	}
	return p.rotate()
}

// nextSync is Sync's decision: write any record, push the current key to each
// target once, record the rotation time when all hold it.
func (p *pass) nextSync() *action {
	st := p.st
	cur := st.currentKeyID()
	for i, ts := range st.targets {
		if ts.dirty {
			return p.act(StepRecordTarget, ts.rec.Key, i, "record the push to "+ts.Name(), "")
		}
	}
	if cur == "" {
		p.blocked = "the secret holds no key: nothing to sync (run `keyless rotate run` to create one)"
		return nil
	}
	for i, ts := range st.targets {
		if p.pushed[i] != cur {
			return p.act(StepPush, cur, i, "write key "+cur+" into "+ts.Name(), "sync pushes the current key to every target")
		}
	}
	if p.allHold(cur) && (st.synced == nil || st.synced.Key != cur) {
		return p.act(StepRecordSynced, cur, -1, "record the rotation time of key "+cur, "every target holds it")
	}
	return nil
}

// leftovers finishes what a crashed pass left: a key created but never stored,
// and a rollback.
func (p *pass) leftovers() *action {
	st := p.st
	if m := st.creating; m != nil {
		for _, k := range st.keys {
			if p.orphan(k, m) {
				return p.act(StepDeleteOrphan, k.ID, -1, "delete key "+k.ID,
					fmt.Sprintf("it was created after the creating mark of %s by a pass that stopped before storing it: its secret access key is lost", m.At.Format(time.RFC3339)))
			}
		}
		return p.act(StepClearCreating, "", -1, "clear the creating mark", "no key is being created")
	}
	r := st.rollback
	if r == "" {
		return nil
	}
	cur := st.currentKeyID()
	switch {
	case cur == r && st.previous != nil && p.keyActive(st.previous.KeyID) && (p.dry || st.previous.creds.SecretAccessKey != ""):
		return p.act(StepRollback, r, -1, "move "+stageCurrent+" back to key "+st.previous.KeyID, "no target could be updated with key "+r)
	case cur == r:
		return p.act(StepClearRollback, r, -1, "give up rolling key "+r+" back", "the previous key is gone or inactive: the new key stays")
	case st.key(r) == nil:
		return p.act(StepClearRollback, r, -1, "clear the rollback mark", "key "+r+" is deleted")
	case r != st.pendingKeyID() && p.keyActive(cur) && p.allHold(cur):
		return p.act(StepDeleteRolledBack, r, -1, "delete key "+r, "it was rolled back and every target holds key "+cur+" again")
	}
	p.note(r, "rolled back: deleted once every target holds key %s again", cur)
	return nil
}

// orphan reports whether k was created by a pass that crashed before storing
// it: it is not in the secret, not in the mark's list, and no older than the
// mark.
func (p *pass) orphan(k key, m *creatingMark) bool {
	st := p.st
	switch k.ID {
	case st.currentKeyID(), st.pendingKeyID(), st.previousKeyID(), st.rollback:
		return false
	}
	for _, id := range m.Keys {
		if id == k.ID {
			return false
		}
	}
	for _, ts := range st.targets {
		if ts.readable && ts.live == k.ID {
			return false
		}
	}
	return !k.Created.Before(m.At.Add(-orphanSkew))
}

// pendingStep takes a pending key through verification and promotion.
func (p *pass) pendingStep() *action {
	st := p.st
	pv := st.pending
	if pv == nil {
		return nil
	}
	isCur := st.current != nil && st.current.ID == pv.ID
	k := st.key(pv.KeyID)
	switch {
	case k == nil || !k.Active:
		why := "its key " + pv.KeyID + " no longer exists"
		if k != nil {
			why = "its key " + pv.KeyID + " is inactive"
		}
		if isCur {
			return p.act(StepFinishPending, pv.KeyID, -1, "remove "+stagePending+" from the current version", why)
		}
		return p.act(StepDropPending, pv.KeyID, -1, "remove "+stagePending+" from version "+pv.ID, why)
	case !p.verified[pv.KeyID]:
		return p.act(StepVerify, pv.KeyID, -1, "verify key "+pv.KeyID+" with sts:GetCallerIdentity", "a new key is promoted only once it works")
	case !isCur:
		return p.act(StepPromote, pv.KeyID, -1, "promote key "+pv.KeyID+" to "+stageCurrent, "it works")
	}
	return p.act(StepFinishPending, pv.KeyID, -1, "remove "+stagePending+" from the current version", "key "+pv.KeyID+" is promoted")
}

// targetStep writes pending records and pushes the current key to each target
// that is not known to hold it (once per pass).
func (p *pass) targetStep(cur string) *action {
	for i, ts := range p.st.targets {
		if ts.dirty {
			return p.act(StepRecordTarget, ts.rec.Key, i, "record the push to "+ts.Name(), "")
		}
	}
	if !p.keyActive(cur) {
		return nil
	}
	for i, ts := range p.st.targets {
		if p.pushed[i] == cur || ts.holds(cur) {
			continue
		}
		return p.act(StepPush, cur, i, "write key "+cur+" into "+ts.Name(), targetWhy(ts, cur))
	}
	return nil
}

func targetWhy(ts *targetState, cur string) string {
	switch {
	case ts.readErr != nil:
		return "it could not be read: " + ts.readErr.Error()
	case ts.missing:
		return "its variables are missing"
	case ts.readable && ts.live != cur:
		return "it holds key " + ts.live
	case ts.rec.Key == "":
		return "no push to it is recorded"
	case ts.rec.Key != cur:
		return "it was last given key " + ts.rec.Key
	case !ts.rec.OK:
		return "the last push failed: " + ts.rec.Err
	}
	return ""
}

// shouldRollback: every target was tried with the current key in this pass and
// none took it, the key was never synced, and the previous key still works.
func (p *pass) shouldRollback() bool {
	st := p.st
	cur := st.currentKeyID()
	if len(st.targets) == 0 || st.rollback != "" || st.synced != nil && st.synced.Key == cur {
		return false
	}
	if st.previous == nil || st.previous.KeyID == cur || !p.keyActive(st.previous.KeyID) {
		return false
	}
	for i, ts := range st.targets {
		if p.pushed[i] != cur || ts.rec.OK {
			return false
		}
	}
	return true
}

// retire decides whether an old key is deactivated or deleted now, and notes
// why not. It is only called while the current key is active.
func (p *pass) retire(k key) *action {
	st, a := p.st, p.u.Ages
	cur := st.currentKeyID()
	age := p.now.Sub(k.Created)
	if !p.allHold(cur) {
		p.note(k.ID, "kept: not every target holds key %s yet", cur)
		return nil
	}
	if k.Active {
		s := st.synced
		watch := a.Deactivate - a.Rotate
		switch {
		case s == nil || s.Key != cur:
			p.note(k.ID, "kept: the rotation to key %s is not recorded yet", cur)
		case age < a.Deactivate:
			p.note(k.ID, "kept until %s, when it is %s old (deactivate age)", stamp(k.Created.Add(a.Deactivate)), days(a.Deactivate))
		case p.now.Before(s.At.Add(watch)):
			p.note(k.ID, "kept until %s: watched for use for %s after every target got key %s at %s", stamp(s.At.Add(watch)), days(watch), cur, stamp(s.At))
		case k.LastUsed.After(s.At) && k.LastUsed.After(p.now.Add(-watch)):
			p.note(k.ID, "kept: still in use, last used %s%s, after every target got key %s at %s; deactivated once unused for %s", stamp(k.LastUsed), where(k), cur, stamp(s.At), days(watch))
		case !p.markedInactive[k.ID]:
			return p.act(StepMarkInactive, k.ID, -1, "record that key "+k.ID+" is made inactive", "")
		default:
			why := fmt.Sprintf("%s since every target got key %s at %s", unused(k), cur, stamp(s.At))
			if k.LastUsed.After(s.At) {
				why = fmt.Sprintf("unused for %s (last used %s%s), after every target got key %s at %s", days(watch), stamp(k.LastUsed), where(k), cur, stamp(s.At))
			}
			return p.act(StepDeactivate, k.ID, -1, "deactivate key "+k.ID,
				fmt.Sprintf("it is %s old (deactivate at %s) and %s", ageText(age), days(a.Deactivate), why))
		}
		return nil
	}
	since, ok := st.inactiveSince(k.ID)
	if !ok {
		if p.markedInactive[k.ID] {
			return nil
		}
		return p.act(StepMarkInactive, k.ID, -1, "record that key "+k.ID+" is inactive", "it was made inactive outside keyless: its delete grace starts now")
	}
	grace := a.Delete - a.Deactivate
	switch {
	case age < a.Delete:
		p.note(k.ID, "inactive; deleted from %s, when it is %s old (delete age)", stamp(k.Created.Add(a.Delete)), days(a.Delete))
	case p.now.Before(since.Add(grace)):
		p.note(k.ID, "inactive since %s; deleted from %s (%s after it was made inactive)", stamp(since), stamp(since.Add(grace)), days(grace))
	default:
		return p.act(StepDelete, k.ID, -1, "delete key "+k.ID,
			fmt.Sprintf("it is inactive since %s and %s old (delete at %s)", stamp(since), ageText(age), days(a.Delete)))
	}
	return nil
}

// rotate starts a rotation when one is due and possible.
func (p *pass) rotate() *action {
	st := p.st
	why, due := p.due()
	if !due {
		return nil
	}
	cur := st.currentKeyID()
	emergency := !p.keyActive(cur)
	switch {
	case st.pending != nil || st.creating != nil:
		return nil // finished above first
	case p.rolledBack:
		p.blocked = fmt.Sprintf("rotation due (%s), but a new key was rolled back in this pass: the next pass tries again", why)
		return nil
	case p.markedCreating:
		return nil // one new key per pass
	case st.rollback != "":
		p.blocked = fmt.Sprintf("rotation due (%s), but waits for the rollback of key %s", why, st.rollback)
		return nil
	case !emergency && !p.allHold(cur):
		p.blocked = fmt.Sprintf("rotation due (%s), but waits until every target holds key %s", why, cur)
		return nil
	case len(st.keys) >= 2:
		var other []string
		for _, k := range st.keys {
			if k.ID != cur {
				other = append(other, k.ID)
			}
		}
		p.blocked = fmt.Sprintf("rotation due (%s), but IAM user %s has two keys and a third is never created: %s must be deactivated and deleted first", why, p.u.Name, strings.Join(other, ", "))
		return nil
	case !st.exists && strings.HasPrefix(p.u.Secret, "arn:"):
		p.blocked = fmt.Sprintf("secret %s does not exist: create it, or name the secret by name so that keyless creates it", p.u.Secret)
		return nil
	case !st.exists:
		return p.act(StepCreateSecret, "", -1, "create secret "+p.u.Secret, why)
	}
	return p.act(StepMarkCreating, "", -1, "record that a key is being created", why)
}

// due says whether the user needs a new key, and why.
func (p *pass) due() (string, bool) {
	st := p.st
	cur := st.currentKeyID()
	k := st.key(cur)
	switch {
	case !st.exists:
		return "secret " + p.u.Secret + " does not exist yet", true
	case st.current == nil:
		return "the secret holds no key yet", true
	case k == nil:
		return "the key " + stageCurrent + " holds, " + cur + ", is not a key of IAM user " + p.u.Name, true
	case !k.Active:
		return "the key " + stageCurrent + " holds, " + cur + ", is inactive", true
	}
	age := p.now.Sub(k.Created)
	if age >= p.u.Ages.Rotate {
		return fmt.Sprintf("key %s is %s old (rotate at %s)", cur, ageText(age), days(p.u.Ages.Rotate)), true
	}
	p.note(cur, "current: replaced from %s, when it is %s old (rotate age)", stamp(k.Created.Add(p.u.Ages.Rotate)), days(p.u.Ages.Rotate))
	return "", false
}

// ageText is an age in whole days, or hours and minutes below two days.
func ageText(d time.Duration) string {
	if d >= 48*time.Hour {
		return fmt.Sprintf("%dd", d/(24*time.Hour))
	}
	return d.Round(time.Second).String()
}

func stamp(t time.Time) string { return t.UTC().Format(time.RFC3339) }

func where(k key) string {
	var parts []string
	if k.Service != "" {
		parts = append(parts, "by "+k.Service)
	}
	if k.Region != "" {
		parts = append(parts, "in "+k.Region)
	}
	if len(parts) == 0 {
		return ""
	}
	return " (" + strings.Join(parts, " ") + ")"
}

func unused(k key) string {
	if k.LastUsed.IsZero() {
		return "never used"
	}
	return "not used (last " + stamp(k.LastUsed) + where(k) + ")"
}
