package rotate

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/keyless-dev/keyless/rotate/target"
)

const (
	testUser   = "ci-legacy"
	testSecret = "ci/legacy-deployer"
	day        = 24 * time.Hour
)

var epoch = time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)

// world is a user with one key, its secret and two targets (one readable like
// Bitbucket, one write-only like GitHub), all in memory.
type world struct {
	t       *testing.T
	clock   *clock
	iam     *fakeIAM
	sm      *fakeSM
	targets []*fakeTarget
	user    User
	engine  *Engine
	logs    *bytes.Buffer
	sleeps  []time.Duration
	k0      *fakeKey
}

func newWorld(t *testing.T, ages Ages) *world {
	t.Helper()
	w := &world{t: t, clock: &clock{t: epoch}, sm: newFakeSM(), logs: &bytes.Buffer{}}
	w.iam = newFakeIAM(w.clock.Now)
	w.k0 = w.iam.add(testUser, epoch)
	w.sm.create(testSecret, w.k0)
	w.targets = []*fakeTarget{newFakeTarget("bitbucket deployment acme/web production", false), newFakeTarget("github repository acme/web", true)}
	w.user = User{Name: testUser, Secret: testSecret, Ages: ages}
	for _, ft := range w.targets {
		// What seed 004 left: the key is in the variables already.
		ft.vars[target.DefaultAccessKeyIDName] = target.Variable{Key: target.DefaultAccessKeyIDName, Value: w.k0.id}
		ft.vars[target.DefaultSecretAccessKeyName] = target.Variable{Key: target.DefaultSecretAccessKeyName, Value: w.k0.secret, Secret: true}
		w.user.Targets = append(w.user.Targets, Target{Target: ft})
	}
	w.engine = w.newEngine()
	return w
}

func (w *world) newEngine() *Engine {
	return &Engine{
		IAM: w.iam, Secrets: w.sm, Verify: w.iam.verifier(2), Now: w.clock.Now,
		Sleep:  func(_ context.Context, d time.Duration) error { w.sleeps = append(w.sleeps, d); return nil },
		Logger: slog.New(slog.NewTextHandler(w.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
}

func (w *world) day(n float64) { w.clock.set(epoch.Add(time.Duration(n * float64(day)))) }

// run is one pass; it fails the test on an error and checks the invariants.
func (w *world) run() *Report {
	w.t.Helper()
	r, err := w.engine.Run(context.Background(), w.user)
	if err != nil {
		w.t.Fatalf("run: %v\n%s", err, reportText(r))
	}
	w.invariants(true)
	return r
}

func reportText(r *Report) string {
	b, _ := json.MarshalIndent(r, "", "  ")
	return string(b)
}

// invariants checks what must hold at every moment, and with final what must
// hold once a pass has finished: every target holds AWSCURRENT.
func (w *world) invariants(final bool) {
	w.t.Helper()
	keys := w.iam.list(testUser)
	if len(keys) > 2 {
		w.t.Fatalf("%d access keys", len(keys))
	}
	cur, ok := w.sm.staged(testSecret, stageCurrent)
	if ok {
		k := w.iam.get(cur.AccessKeyID)
		if k == nil || !k.active || k.secret != cur.SecretAccessKey {
			w.t.Fatalf("AWSCURRENT holds %s, which does not work (%+v)", cur.AccessKeyID, k)
		}
		if _, err := w.iam.verifier(0)(context.Background(), cur); err != nil {
			w.t.Fatalf("AWSCURRENT key: %v", err)
		}
	}
	if p, ok := w.sm.staged(testSecret, stagePending); ok && w.iam.get(p.AccessKeyID) == nil {
		// Allowed only when removed outside keyless; these tests never do that
		// unless a scenario says so.
		w.t.Logf("AWSPENDING holds deleted key %s", p.AccessKeyID)
	}
	for _, ft := range w.targets {
		h := ft.holds()
		if h.AccessKeyID == "" {
			continue
		}
		if k := w.iam.get(h.AccessKeyID); k == nil || !k.active {
			w.t.Fatalf("%s holds %s, which is deleted or inactive", ft.name, h.AccessKeyID)
		}
		if final && ok && h != cur {
			w.t.Fatalf("%s holds %v, AWSCURRENT is %v", ft.name, h, cur)
		}
	}
}

func steps(r *Report, bookkeeping bool) []string {
	var out []string
	for _, a := range r.Actions {
		if bookkeeping || !a.Bookkeeping {
			s := string(a.Step)
			if a.Error != "" {
				s += "!"
			}
			out = append(out, s)
		}
	}
	return out
}

func keyByID(r *Report, id string) KeyReport {
	for _, k := range r.Keys {
		if k.ID == id {
			return k
		}
	}
	return KeyReport{}
}

// TestClockDriven walks a key through 0 → 90 → 100 → 110 days, once unused
// after the rotation and once used by a consumer that had not switched yet.
func TestClockDriven(t *testing.T) {
	for _, used := range []bool{false, true} {
		t.Run(fmt.Sprintf("used=%v", used), func(t *testing.T) {
			w := newWorld(t, DefaultAges())
			w.day(0)
			r := w.run()
			if got := steps(r, false); !slices.Equal(got, []string{"push", "push"}) {
				t.Fatalf("day 0: %v, want the existing key recorded in both targets", got)
			}
			if r.SyncedAt == nil || len(r.Keys) != 1 || r.Keys[0].Role != RoleCurrent {
				t.Fatalf("day 0 report: %s", reportText(r))
			}
			w.day(89.9)
			if r := w.run(); len(r.Actions) != 0 || !strings.Contains(r.Keys[0].Note, "replaced from 2026-04-01") {
				t.Fatalf("day 89: %v %q", steps(r, true), r.Keys[0].Note)
			}

			w.day(90)
			r = w.run()
			want := []string{"mark-creating", "create-key", "store-pending", "clear-creating", "verify", "promote", "finish-pending",
				"push", "record-target", "push", "record-target", "record-synced"}
			if got := steps(r, true); !slices.Equal(got, want) {
				t.Fatalf("day 90: %v\nwant %v", got, want)
			}
			k1 := r.Current
			if k1 == w.k0.id || r.Previous != w.k0.id || len(r.Keys) != 2 {
				t.Fatalf("day 90 report: %s", reportText(r))
			}
			if !slices.Equal(w.sleeps, []time.Duration{time.Second, 2 * time.Second}) {
				t.Errorf("verification waits = %v, want 1s 2s (the fake key works on the third try)", w.sleeps)
			}
			if n := keyByID(r, w.k0.id).Note; !strings.Contains(n, "kept until 2026-04-11T12:00:00Z") {
				t.Errorf("old key note = %q", n)
			}

			if used {
				w.iam.use(w.k0.id, epoch.Add(95*day), "s3", "eu-west-1")
			}
			w.day(100)
			r = w.run()
			old := w.iam.get(w.k0.id)
			if used {
				if len(r.Actions) != 0 || !old.active {
					t.Fatalf("day 100, used at 95: %v, active %v", steps(r, true), old.active)
				}
				if n := keyByID(r, w.k0.id).Note; !strings.Contains(n, "still in use, last used 2026-04-06T12:00:00Z (by s3 in eu-west-1)") {
					t.Errorf("day 100 note = %q", n)
				}
				w.day(104.9)
				if r := w.run(); len(r.Actions) != 0 {
					t.Fatalf("day 104: %v", steps(r, true))
				}
				w.day(105)
				r = w.run()
				if got := steps(r, true); !slices.Equal(got, []string{"mark-inactive", "deactivate"}) {
					t.Fatalf("day 105: %v", got)
				}
				w.day(114.9)
				if r := w.run(); len(r.Actions) != 0 || !strings.Contains(keyByID(r, w.k0.id).Note, "deleted from 2026-04-26T12:00:00Z") {
					t.Fatalf("day 114: %v %q", steps(r, true), keyByID(r, w.k0.id).Note)
				}
				w.day(115)
			} else {
				if got := steps(r, true); !slices.Equal(got, []string{"mark-inactive", "deactivate"}) || old.active {
					t.Fatalf("day 100: %v, active %v", got, old.active)
				}
				if !strings.Contains(r.Actions[1].Reason, "never used since every target got key "+k1) {
					t.Errorf("deactivate reason = %q", r.Actions[1].Reason)
				}
				w.day(109.9)
				if r := w.run(); len(r.Actions) != 0 {
					t.Fatalf("day 109: %v", steps(r, true))
				}
				w.day(110)
			}
			r = w.run()
			if got := steps(r, true); !slices.Equal(got, []string{"delete"}) || w.iam.get(w.k0.id) != nil {
				t.Fatalf("delete day: %v", got)
			}
			// The next cycle starts on time.
			w.day(180)
			if r := w.run(); !slices.Contains(steps(r, false), "create-key") {
				t.Fatalf("day 180: %v", steps(r, true))
			}
		})
	}
}

// TestTwoKeysBlockRotation: a key still in use blocks the next rotation; no
// third key is created, and the report says which key is in the way.
func TestTwoKeysBlockRotation(t *testing.T) {
	w := newWorld(t, DefaultAges())
	w.day(90)
	w.run()
	w.iam.use(w.k0.id, epoch.Add(179*day), "sts", "us-east-1")
	w.day(180)
	r := w.run()
	if len(r.Actions) != 0 || !strings.Contains(r.Blocked, "has two keys and a third is never created: "+w.k0.id) {
		t.Fatalf("day 180: %v, blocked %q", steps(r, true), r.Blocked)
	}
	if slices.Contains(w.iam.calls, "CreateAccessKey") && len(w.iam.list(testUser)) > 2 {
		t.Fatal("a third key")
	}
}

// TestRollback: no target takes the new key, so it is rolled back; once the
// targets work again the rolled-back key is deleted and the rotation retried.
func TestRollback(t *testing.T) {
	w := newWorld(t, DefaultAges())
	w.run()
	w.day(90)
	for _, ft := range w.targets {
		ft.setFail(&target.StatusError{Status: 503}, false)
	}
	r, err := w.engine.Run(context.Background(), w.user)
	if err != nil {
		t.Fatal(err)
	}
	w.invariants(false)
	want := []string{"create-key", "store-pending", "verify", "promote", "finish-pending", "push!", "push!", "rollback", "push!", "push!"}
	if got := steps(r, false); !slices.Equal(got, want) {
		t.Fatalf("rollback pass: %v\nwant %v", got, want)
	}
	k1 := r.Actions[1].Key
	if r.Current != w.k0.id || keyByID(r, k1).Role != RoleRolledBack || !r.Failed() {
		t.Fatalf("after rollback: %s", reportText(r))
	}
	if !strings.Contains(r.Targets[0].Error, "HTTP 503") || r.Targets[0].State != TargetFailing {
		t.Errorf("target report = %+v", r.Targets[0])
	}
	if !strings.Contains(r.Blocked, "rolled back in this pass") {
		t.Errorf("blocked = %q", r.Blocked)
	}
	if tags := w.sm.tags(testSecret); tags[TagRollback] != k1 {
		t.Errorf("rollback tag = %q", tags[TagRollback])
	}
	// Still failing: nothing is deleted, nothing is created.
	r, _ = w.engine.Run(context.Background(), w.user)
	w.invariants(false)
	if got := steps(r, false); !slices.Equal(got, []string{"push!", "push!"}) || w.iam.get(k1) == nil {
		t.Fatalf("still failing: %v", got)
	}
	for _, ft := range w.targets {
		ft.setFail(nil, false)
	}
	r = w.run()
	want = []string{"push", "push", "delete-rolled-back", "create-key", "store-pending", "verify", "promote", "finish-pending", "push", "push"}
	if got := steps(r, false); !slices.Equal(got, want) {
		t.Fatalf("recovered: %v\nwant %v", got, want)
	}
	if w.iam.get(k1) != nil || r.Current == w.k0.id || r.Current == k1 {
		t.Fatalf("recovered report: %s", reportText(r))
	}
}

// TestPartialFailure: one target fails: both keys stay active, the report says
// which target and why, and the old key waits until that target has the new
// key, then for its watch period.
func TestPartialFailure(t *testing.T) {
	w := newWorld(t, DefaultAges())
	w.run()
	w.day(90)
	w.targets[1].setFail(&target.StatusError{Status: 422, Message: "bad key"}, false)
	r, err := w.engine.Run(context.Background(), w.user)
	if err != nil {
		t.Fatal(err)
	}
	w.invariants(false)
	if slices.Contains(steps(r, true), "rollback") || r.Current == w.k0.id || !r.Failed() {
		t.Fatalf("partial failure: %s", reportText(r))
	}
	if r.Targets[0].State != TargetInSync || r.Targets[1].State != TargetFailing || !strings.Contains(r.Targets[1].Error, "HTTP 422") {
		t.Fatalf("targets: %+v", r.Targets)
	}
	w.day(101)
	r, _ = w.engine.Run(context.Background(), w.user)
	if k := w.iam.get(w.k0.id); k == nil || !k.active {
		t.Fatal("the old key was retired while a target lacks the new key")
	}
	if n := keyByID(r, w.k0.id).Note; !strings.Contains(n, "not every target holds") {
		t.Errorf("note = %q", n)
	}
	w.targets[1].setFail(nil, false)
	w.run()
	if r := w.run(); !w.iam.get(w.k0.id).active || !strings.Contains(keyByID(r, w.k0.id).Note, "watched for use for 10d") {
		t.Fatalf("the watch period restarts at the sync: %q", keyByID(r, w.k0.id).Note)
	}
	w.day(111)
	if r := w.run(); !slices.Contains(steps(r, false), "deactivate") {
		t.Fatalf("day 111: %v", steps(r, true))
	}
}

// errCrash is what the test hook panics with.
var errCrash = errors.New("crash")

// crashAt returns a Hook that panics at point and records whether it did.
func crashAt(point string, hit *bool) func(string) {
	return func(p string) {
		if p == point {
			*hit = true
			panic(errCrash)
		}
	}
}

// runCrashing runs a pass that crashes at point; it reports whether it did.
func (w *world) runCrashing(point string) (hit bool) {
	w.t.Helper()
	e := w.newEngine()
	e.Hook = crashAt(point, &hit)
	defer func() {
		if v := recover(); v != nil && v != errCrash {
			panic(v)
		}
	}()
	e.Run(context.Background(), w.user) //nolint:errcheck // the outcome is checked through the world
	return hit
}

// TestOrphanKey: a pass killed between CreateAccessKey and storing the key
// leaves a key whose secret is lost; the next pass deletes it and rotates.
func TestOrphanKey(t *testing.T) {
	w := newWorld(t, DefaultAges())
	w.run()
	w.day(90)
	if !w.runCrashing(After + string(StepCreateKey)) {
		t.Fatal("no crash")
	}
	w.invariants(false)
	keys := w.iam.list(testUser)
	if len(keys) != 2 {
		t.Fatalf("keys after the crash: %v", keys)
	}
	orphan := keys[0].id
	if orphan == w.k0.id {
		orphan = keys[1].id
	}
	r := w.run()
	if got := steps(r, true)[:3]; !slices.Equal(got, []string{"delete-orphan", "clear-creating", "mark-creating"}) {
		t.Fatalf("after the crash: %v", steps(r, true))
	}
	if r.Actions[0].Key != orphan || w.iam.get(orphan) != nil || r.Current == w.k0.id {
		t.Fatalf("report: %s", reportText(r))
	}
}

// TestForeignKeyIsNotAnOrphan: a key created outside keyless, older than the
// creating mark, is never taken for an orphan.
func TestForeignKeyIsNotAnOrphan(t *testing.T) {
	w := newWorld(t, DefaultAges())
	w.run()
	w.day(90)
	if !w.runCrashing(Before + string(StepCreateKey)) {
		t.Fatal("no crash")
	}
	// Someone adds a key by hand... before the mark's time (clock skew aside).
	w.clock.set(epoch.Add(90*day - time.Hour))
	foreign := w.iam.add(testUser, epoch.Add(80*day))
	w.day(90)
	r := w.run()
	if slices.Contains(steps(r, true), "delete-orphan") || w.iam.get(foreign.id) == nil {
		t.Fatalf("the foreign key was deleted: %v", steps(r, true))
	}
	if !strings.Contains(r.Blocked, "has two keys") {
		t.Errorf("blocked = %q", r.Blocked)
	}
}

// scenario is a starting point for the crash test.
type scenario struct {
	name   string
	setup  func(w *world) // the state before the pass that is killed
	before func(w *world) // just before that pass
	after  func(w *world) // before the recovery pass
}

func zeroAges() Ages { return Ages{} }

func failTargets(w *world, err error) {
	for _, ft := range w.targets {
		ft.setFail(err, false)
	}
}

var crashScenarios = []scenario{
	{name: "rotation", setup: func(w *world) { w.run() }},
	{name: "bootstrap", setup: func(w *world) {
		w.sm = newFakeSM()
		w.engine = w.newEngine()
	}},
	{name: "rollback", setup: func(w *world) { w.run() },
		before: func(w *world) { failTargets(w, &target.StatusError{Status: 500}) },
		after:  func(w *world) { failTargets(w, nil) }},
	{name: "rolled-back", setup: func(w *world) {
		w.run()
		failTargets(w, &target.StatusError{Status: 500})
		w.engine.Run(context.Background(), w.user) //nolint:errcheck
		failTargets(w, nil)
	}},
	{name: "orphan", setup: func(w *world) {
		w.run()
		w.runCrashing(After + string(StepCreateKey))
	}},
	{name: "stale-pending", setup: func(w *world) {
		w.run()
		w.runCrashing(After + string(StepStorePending))
		p, _ := w.sm.staged(testSecret, stagePending)
		w.iam.DeleteAccessKey(context.Background(), deleteInput(testUser, p.AccessKeyID)) //nolint:errcheck
	}},
	{name: "inactive-by-hand", setup: func(w *world) {
		w.user.Ages = Ages{Rotate: 0, Deactivate: day, Delete: day}
		w.run()
		w.run()
		old := w.iam.list(testUser)[0]
		w.iam.UpdateAccessKey(context.Background(), deactivateInput(testUser, old.id)) //nolint:errcheck
		w.user.Ages = Ages{}
	}},
}

// TestCrashAtEveryPoint kills a pass at every crash point of every scenario,
// checks the invariants, resumes with a new pass, and checks again. Every
// crash point must be reached by some scenario.
func TestCrashAtEveryPoint(t *testing.T) {
	reached := map[string]bool{}
	for _, sc := range crashScenarios {
		for _, point := range CrashPoints() {
			t.Run(sc.name+"/"+point, func(t *testing.T) {
				w := newWorld(t, zeroAges())
				sc.setup(w)
				if sc.before != nil {
					sc.before(w)
				}
				if !w.runCrashing(point) {
					t.Skip("not reached")
				}
				reached[point] = true
				w.invariants(false)
				if sc.after != nil {
					sc.after(w)
				}
				w.run()
				w.run()
			})
		}
	}
	for _, p := range CrashPoints() {
		if !reached[p] {
			t.Errorf("no scenario reaches %s", p)
		}
	}
}

// TestPlanChangesNothing: a plan simulates the whole rotation without one
// call that changes anything.
func TestPlanChangesNothing(t *testing.T) {
	w := newWorld(t, DefaultAges())
	w.run()
	w.day(120)
	w.iam.calls, w.sm.calls = nil, nil
	r, err := w.engine.Plan(context.Background(), w.user)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range append(w.iam.calls, w.sm.calls...) {
		if !strings.HasPrefix(c, "List") && !strings.HasPrefix(c, "Get") && !strings.HasPrefix(c, "Describe") {
			t.Errorf("plan called %s", c)
		}
	}
	want := []string{"create-key", "store-pending", "verify", "promote", "finish-pending", "push", "push"}
	if got := steps(r, false); !slices.Equal(got, want) {
		t.Fatalf("plan: %v\nwant %v", got, want)
	}
	if !strings.Contains(r.Actions[0].Reason, "is 120d old (rotate at 90d)") || !r.Changes() {
		t.Errorf("reason = %q", r.Actions[0].Reason)
	}
	for _, ft := range w.targets {
		if ft.putCount() != 1 {
			t.Errorf("%s written %d times", ft.name, ft.putCount())
		}
	}
}

// TestStatus reports keys, targets and the next step.
func TestStatus(t *testing.T) {
	w := newWorld(t, DefaultAges())
	w.iam.use(w.k0.id, epoch.Add(time.Hour), "s3", "eu-west-1")
	r, err := w.engine.Status(context.Background(), w.user)
	if err != nil {
		t.Fatal(err)
	}
	if r.Current != w.k0.id || len(r.Keys) != 1 || r.Keys[0].LastUsedService != "s3" || r.Keys[0].LastUsed == nil {
		t.Fatalf("status: %s", reportText(r))
	}
	// Nothing recorded yet: the readable target shows the key, the GitHub-like
	// one cannot be read back.
	if r.Targets[0].Holds != w.k0.id || r.Targets[0].State != TargetUnknown || r.Targets[1].State != TargetUnknown {
		t.Errorf("targets = %+v", r.Targets)
	}
	if len(r.Actions) != 1 || r.Actions[0].Step != StepPush {
		t.Errorf("next = %+v", r.Actions)
	}
	w.targets[0].setFail(errors.New("bitbucket: HTTP 401 Unauthorized"), true)
	r, _ = w.engine.Status(context.Background(), w.user)
	if r.Targets[0].State != TargetFailing || !strings.Contains(r.Targets[0].Error, "HTTP 401") {
		t.Errorf("failing target = %+v", r.Targets[0])
	}
}

// TestSync pushes AWSCURRENT to every target, even one that holds it already.
func TestSync(t *testing.T) {
	w := newWorld(t, DefaultAges())
	w.run()
	before := w.targets[0].putCount()
	r, err := w.engine.Sync(context.Background(), w.user, false)
	if err != nil {
		t.Fatal(err)
	}
	if got := steps(r, false); !slices.Equal(got, []string{"push", "push"}) || w.targets[0].putCount() != before+1 {
		t.Fatalf("sync: %v", got)
	}
	r, _ = w.engine.Sync(context.Background(), w.user, true)
	if w.targets[0].putCount() != before+1 || len(r.Actions) != 2 {
		t.Fatalf("dry sync wrote: %v", steps(r, true))
	}
	// A key stored by hand is what sync distributes.
	k := w.iam.add(testUser, w.clock.Now())
	w.sm.mu.Lock()
	s := w.sm.secrets[testSecret]
	for _, v := range s.versions {
		v.stages = nil
	}
	s.versions["manual"] = &fakeVersion{value: encodeSecret(target.Credentials{AccessKeyID: k.id, SecretAccessKey: k.secret}), stages: []string{stageCurrent}}
	w.sm.mu.Unlock()
	if _, err := w.engine.Sync(context.Background(), w.user, false); err != nil {
		t.Fatal(err)
	}
	w.invariants(true)
}

// TestVerifyGivesUp: a key that never works is not promoted; the pass fails,
// and the next pass resumes at the verification.
func TestVerifyGivesUp(t *testing.T) {
	w := newWorld(t, DefaultAges())
	w.run()
	w.day(90)
	w.engine.Verify = w.iam.verifier(1000)
	_, err := w.engine.Run(context.Background(), w.user)
	if err == nil || !strings.Contains(err.Error(), "verify: key AKIAFAKE") || !strings.Contains(err.Error(), "still fails after 1m") {
		t.Fatalf("err = %v", err)
	}
	w.invariants(false)
	if cur, _ := w.sm.staged(testSecret, stageCurrent); cur.AccessKeyID != w.k0.id {
		t.Fatal("an unverified key was promoted")
	}
	w.engine.Verify = w.iam.verifier(0)
	r := w.run()
	if got := steps(r, false); got[0] != "verify" || got[1] != "promote" {
		t.Fatalf("resume: %v", got)
	}
}

// TestVerifyWrongUser: a key that authenticates as someone else is refused.
func TestVerifyWrongUser(t *testing.T) {
	w := newWorld(t, DefaultAges())
	w.day(90)
	w.engine.Verify = func(context.Context, target.Credentials) (string, error) {
		return "arn:aws:iam::123456789012:user/someone-else", nil
	}
	if _, err := w.engine.Run(context.Background(), w.user); err == nil || !strings.Contains(err.Error(), "not as IAM user ci-legacy") {
		t.Fatalf("err = %v", err)
	}
}

// TestARNSecretNotCreated: a secret named by ARN is never created.
func TestARNSecretNotCreated(t *testing.T) {
	w := newWorld(t, DefaultAges())
	w.user.Secret = "arn:aws:secretsmanager:us-east-1:123456789012:secret:missing-AbCdEf"
	r := w.run()
	if len(r.Actions) != 0 || !strings.Contains(r.Blocked, "does not exist: create it") {
		t.Fatalf("%v %q", steps(r, true), r.Blocked)
	}
}

// TestNoSecretLeaks: no secret access key appears in a report or a log line.
func TestNoSecretLeaks(t *testing.T) {
	w := newWorld(t, Ages{})
	w.targets[1].setFail(errors.New("github: HTTP 500"), false)
	var out bytes.Buffer
	for i := range 3 {
		w.day(float64(i))
		r, _ := w.engine.Run(context.Background(), w.user)
		json.NewEncoder(&out).Encode(r) //nolint:errcheck
		r, _ = w.engine.Plan(context.Background(), w.user)
		json.NewEncoder(&out).Encode(r) //nolint:errcheck
	}
	all := out.String() + w.logs.String()
	for i := 1; i <= w.iam.n; i++ {
		if s := fmt.Sprintf("secret-%d-", i); strings.Contains(all, s) {
			t.Fatalf("a secret access key (%s…) leaked:\n%s", s, all)
		}
	}
	if !strings.Contains(w.logs.String(), "rotation step done") {
		t.Fatal("nothing logged")
	}
}

// TestUserCheck refuses ages that do not grow.
func TestUserCheck(t *testing.T) {
	w := newWorld(t, Ages{Rotate: 10 * day, Deactivate: 5 * day, Delete: 20 * day})
	if _, err := w.engine.Run(context.Background(), w.user); err == nil || !strings.Contains(err.Error(), "ages must grow") {
		t.Fatalf("err = %v", err)
	}
}

// TestPlanNewSecret: a plan for a secret that does not exist yet (given by
// name, so a run would create it) finishes, starting with creating it.
func TestPlanNewSecret(t *testing.T) {
	w := newWorld(t, DefaultAges())
	w.user.Secret = "ci/new-secret"
	r, err := w.engine.Plan(context.Background(), w.user)
	if err != nil {
		t.Fatalf("plan: %v", err)
	}
	if got := steps(r, true); len(got) == 0 || got[0] != string(StepCreateSecret) {
		t.Fatalf("plan: %v, want it to start by creating the secret", got)
	}
	if _, ok := w.sm.secrets["ci/new-secret"]; ok {
		t.Error("the plan created the secret")
	}
}
