package rotate

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	smtypes "github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"

	"github.com/keyless-dev/keyless/rotate/target"
)

// DefaultVerifyTimeout is how long a new key is retried with
// sts:GetCallerIdentity before the pass gives up (the next pass tries again).
const DefaultVerifyTimeout = 2 * time.Minute

// maxSteps bounds one pass; a pass that would take more has a bug.
const maxSteps = 100

// Engine runs rotation passes. IAM, Secrets and Verify are required; the rest
// default. An Engine holds no state between calls and is safe for concurrent
// use over different users.
type Engine struct {
	// IAM manages the users' access keys.
	IAM IAMAPI
	// Secrets holds the live keys and the rotation's marks.
	Secrets SecretsAPI
	// Verify checks that a new key works (STSVerifier in production).
	Verify Verifier
	// Now is the clock ages are measured with; nil means time.Now.
	Now func() time.Time
	// Sleep waits between verification attempts; nil means a timer.
	Sleep func(ctx context.Context, d time.Duration) error
	// Hook, when set, is called with "before:STEP" right before each step's
	// external call and "after:STEP" right after it succeeded (see
	// CrashPoints); a fault-injection test makes it kill the process.
	Hook func(point string)
	// Logger gets a line per step (user, step, key, target), never a secret;
	// nil discards.
	Logger *slog.Logger
	// VerifyTimeout bounds the verification retries, counted in waits;
	// 0 means DefaultVerifyTimeout.
	VerifyTimeout time.Duration
}

func (e *Engine) now() time.Time {
	if e.Now != nil {
		return e.Now().UTC()
	}
	return time.Now().UTC()
}

func (e *Engine) log() *slog.Logger {
	if e.Logger != nil {
		return e.Logger
	}
	return slog.New(slog.DiscardHandler)
}

func (e *Engine) hook(point string) {
	if e.Hook != nil {
		e.Hook(point)
	}
}

func (e *Engine) check(u User) error {
	if e.IAM == nil || e.Secrets == nil || e.Verify == nil {
		return errors.New("rotate: the engine needs IAM, Secrets and Verify")
	}
	return u.check()
}

// Plan reports what Run would do now and why, changing nothing: each step is
// simulated on the state read, assuming it succeeds.
func (e *Engine) Plan(ctx context.Context, u User) (*Report, error) {
	return e.pass(ctx, u, true, false)
}

// Run is one pass: it takes every step that is due, in order, until none is
// left or one fails. A failed push is recorded and the pass goes on with the
// other targets; any other failure stops the pass, and the next pass resumes
// from what the previous one left. The report is returned with the error.
func (e *Engine) Run(ctx context.Context, u User) (*Report, error) {
	return e.pass(ctx, u, false, false)
}

// Sync writes the key AWSCURRENT holds into every target, records the results
// and, when all worked, the rotation time. With dryRun it reports what it would
// write.
func (e *Engine) Sync(ctx context.Context, u User, dryRun bool) (*Report, error) {
	return e.pass(ctx, u, dryRun, true)
}

// Status reads the user's keys, secret and targets and reports them, with the
// next step Run would take as the only action.
func (e *Engine) Status(ctx context.Context, u User) (*Report, error) {
	if err := e.check(u); err != nil {
		return nil, err
	}
	st, err := e.observe(ctx, u)
	if err != nil {
		return &Report{User: u.Name, Secret: u.Secret, Keys: []KeyReport{}, Targets: []TargetReport{}, Actions: []ActionReport{}, Error: err.Error()}, err
	}
	p := newPass(u, st, e.now(), true)
	var actions []ActionReport
	if a := p.next(); a != nil {
		actions = append(actions, p.actionReport(a, nil))
	}
	return p.report(actions), nil
}

func (e *Engine) pass(ctx context.Context, u User, dry, syncOnly bool) (*Report, error) {
	if err := e.check(u); err != nil {
		return nil, err
	}
	st, err := e.observe(ctx, u)
	if err != nil {
		return &Report{User: u.Name, Secret: u.Secret, Keys: []KeyReport{}, Targets: []TargetReport{}, Actions: []ActionReport{}, Error: err.Error()}, err
	}
	p := newPass(u, st, e.now(), dry)
	p.syncOnly = syncOnly
	var actions []ActionReport
	for n := 0; ; n++ {
		a := p.next()
		if a == nil {
			break
		}
		if n == maxSteps {
			err = fmt.Errorf("rotate user %s: the pass did not finish in %d steps (last: %s)", u.Name, maxSteps, a.step)
			break
		}
		stepErr := e.do(ctx, p, a)
		actions = append(actions, p.actionReport(a, stepErr))
		if stepErr != nil && a.step != StepPush {
			err = fmt.Errorf("rotate user %s: %s: %w", u.Name, a.step, stepErr)
			break
		}
	}
	r := p.report(actions)
	if err != nil {
		r.Error = err.Error()
	}
	return r, err
}

func (p *pass) actionReport(a *action, err error) ActionReport {
	ar := ActionReport{Step: a.step, Key: a.key, Description: a.what, Reason: a.why, Bookkeeping: a.step.bookkeeping()}
	if a.target >= 0 {
		ar.Target = p.st.targets[a.target].Name()
	}
	if err != nil {
		ar.Error = err.Error()
	}
	return ar
}

// do takes one step: its external call (unless dry), then its effect on the
// state. The hook surrounds the call.
func (e *Engine) do(ctx context.Context, p *pass, a *action) error {
	log := e.log().With(slog.String("user", p.u.Name), slog.String("step", string(a.step)))
	if a.key != "" {
		log = log.With(slog.String("key", a.key))
	}
	if a.target >= 0 {
		log = log.With(slog.String("target", p.st.targets[a.target].Name()))
	}
	call := func(f func() error) error {
		if p.dry {
			return nil
		}
		e.hook(Before + string(a.step))
		if err := f(); err != nil {
			log.LogAttrs(ctx, slog.LevelWarn, "rotation step failed", slog.String("error", err.Error()))
			return err
		}
		e.hook(After + string(a.step))
		log.LogAttrs(ctx, slog.LevelInfo, "rotation step done")
		return nil
	}
	st := p.st
	user := aws.String(p.u.Name)
	switch a.step {
	case StepCreateSecret:
		err := call(func() error {
			out, err := e.Secrets.CreateSecret(ctx, &secretsmanager.CreateSecretInput{
				Name:        aws.String(p.u.Secret),
				Description: aws.String("Access key of IAM user " + p.u.Name + ", rotated by keyless"),
			})
			if err != nil {
				return fmt.Errorf("create secret %s: %w", p.u.Secret, err)
			}
			st.secretID = aws.ToString(out.ARN)
			return nil
		})
		if err != nil {
			return err
		}
		st.exists = true // a dry run plans on as if the secret were there
	case StepMarkCreating:
		m := creatingMark{At: p.now}
		for _, k := range st.keys {
			m.Keys = append(m.Keys, k.ID)
		}
		if err := call(func() error { return e.tag(ctx, st, TagCreating, m.String()) }); err != nil {
			return err
		}
		st.creating, p.markedCreating = &m, true
	case StepCreateKey:
		k := key{ID: newKeyID, Active: true, Created: p.now}
		err := call(func() error {
			out, err := e.IAM.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: user})
			if err != nil {
				return fmt.Errorf("create an access key for IAM user %s: %w", p.u.Name, err)
			}
			ak := out.AccessKey
			k.ID = aws.ToString(ak.AccessKeyId)
			if ak.CreateDate != nil {
				k.Created = ak.CreateDate.UTC()
			}
			p.newCreds = target.Credentials{AccessKeyID: k.ID, SecretAccessKey: aws.ToString(ak.SecretAccessKey)}
			return nil
		})
		if err != nil {
			return err
		}
		st.keys = append(st.keys, k)
		p.newKey, a.key = &k, k.ID
	case StepStorePending:
		v := &version{ID: versionToken(p.newKey.ID), KeyID: p.newKey.ID, creds: p.newCreds}
		becameCurrent := st.current == nil
		err := call(func() error {
			out, err := e.Secrets.PutSecretValue(ctx, &secretsmanager.PutSecretValueInput{
				SecretId:           aws.String(st.secretID),
				ClientRequestToken: aws.String(v.ID),
				SecretString:       aws.String(encodeSecret(p.newCreds)),
				VersionStages:      []string{stagePending},
			})
			if err != nil {
				return fmt.Errorf("store key %s in secret %s: %w", v.KeyID, p.u.Secret, err)
			}
			if out.VersionStages != nil {
				becameCurrent = slices.Contains(out.VersionStages, stageCurrent)
			}
			return nil
		})
		if err != nil {
			return err
		}
		st.pending, p.stored = v, true
		if becameCurrent { // the first version of a secret is AWSCURRENT at once
			st.current = v
		}
	case StepDeleteOrphan, StepDelete, StepDeleteRolledBack:
		if err := call(func() error { return e.deleteKey(ctx, p.u.Name, a.key) }); err != nil {
			return err
		}
		st.removeKey(a.key)
	case StepClearCreating:
		if err := call(func() error { return e.tag(ctx, st, TagCreating, "") }); err != nil {
			return err
		}
		st.creating = nil
	case StepDropPending, StepFinishPending:
		if err := call(func() error {
			return e.stage(ctx, st, stagePending, "", st.pending.ID)
		}); err != nil {
			return err
		}
		st.pending = nil
	case StepVerify:
		if err := call(func() error { return e.verify(ctx, p.u, st.pending.creds) }); err != nil {
			return err
		}
		p.verified[a.key] = true
	case StepPromote:
		from := ""
		if st.current != nil {
			from = st.current.ID
		}
		if err := call(func() error { return e.stage(ctx, st, stageCurrent, st.pending.ID, from) }); err != nil {
			return err
		}
		st.previous, st.current = st.current, st.pending
	case StepPush:
		ts := st.targets[a.target]
		err := call(func() error {
			vars := st.current.creds.Variables(names(ts.Names))
			// The secret first: a target whose access key ID reads back as the
			// new key holds the new secret too.
			slices.Reverse(vars)
			return ts.Put(ctx, vars)
		})
		p.pushed[a.target] = a.key
		ts.rec, ts.dirty = record{Key: a.key, OK: err == nil, At: p.now}, !p.dry
		if err != nil {
			ts.rec.Err = err.Error()
			return err
		}
		ts.readErr, ts.missing = nil, false
		ts.live = a.key
	case StepRecordTarget:
		ts := st.targets[a.target]
		if err := call(func() error { return e.tag(ctx, st, ts.tag, ts.rec.String()) }); err != nil {
			return err
		}
		ts.dirty = false
	case StepMarkRollback:
		if err := call(func() error { return e.tag(ctx, st, TagRollback, a.key) }); err != nil {
			return err
		}
		st.rollback = a.key
	case StepRollback:
		if err := call(func() error { return e.stage(ctx, st, stageCurrent, st.previous.ID, st.current.ID) }); err != nil {
			return err
		}
		st.current, st.previous = st.previous, st.current
		p.rolledBack = true
	case StepClearRollback:
		if err := call(func() error { return e.tag(ctx, st, TagRollback, "") }); err != nil {
			return err
		}
		st.rollback = ""
	case StepRecordSynced:
		kt := keyTime{Key: a.key, At: p.now}
		if err := call(func() error { return e.tag(ctx, st, TagSynced, formatKeyTimes([]keyTime{kt})) }); err != nil {
			return err
		}
		st.synced = &kt
	case StepMarkInactive:
		marks := []keyTime{{Key: a.key, At: p.now}}
		for _, kt := range st.inactive {
			if kt.Key != a.key && st.key(kt.Key) != nil && len(marks) < 2 {
				marks = append(marks, kt)
			}
		}
		if err := call(func() error { return e.tag(ctx, st, TagInactive, formatKeyTimes(marks)) }); err != nil {
			return err
		}
		st.inactive, p.markedInactive[a.key] = marks, true
	case StepDeactivate:
		if err := call(func() error {
			_, err := e.IAM.UpdateAccessKey(ctx, &iam.UpdateAccessKeyInput{UserName: user, AccessKeyId: aws.String(a.key), Status: iamtypes.StatusTypeInactive})
			if err != nil {
				return fmt.Errorf("deactivate access key %s: %w", a.key, err)
			}
			return nil
		}); err != nil {
			return err
		}
		st.key(a.key).Active = false
	default:
		return fmt.Errorf("unknown step %q", a.step)
	}
	return nil
}

func (e *Engine) deleteKey(ctx context.Context, user, id string) error {
	_, err := e.IAM.DeleteAccessKey(ctx, &iam.DeleteAccessKeyInput{UserName: aws.String(user), AccessKeyId: aws.String(id)})
	if err != nil && !isNoSuchEntity(err) {
		return fmt.Errorf("delete access key %s: %w", id, err)
	}
	return nil
}

// tag writes one mark on the secret (an empty value clears it).
func (e *Engine) tag(ctx context.Context, st *state, k, v string) error {
	if !validTagValue(v) {
		return fmt.Errorf("tag %s: %q is not a valid tag value", k, v)
	}
	_, err := e.Secrets.TagResource(ctx, &secretsmanager.TagResourceInput{
		SecretId: aws.String(st.secretID),
		Tags:     []smtypes.Tag{{Key: aws.String(k), Value: aws.String(v)}},
	})
	if err != nil {
		return fmt.Errorf("tag secret %s with %s: %w", st.secretID, k, err)
	}
	return nil
}

// stage moves a staging label to version to (if any) from version from (if any).
func (e *Engine) stage(ctx context.Context, st *state, label, to, from string) error {
	in := &secretsmanager.UpdateSecretVersionStageInput{SecretId: aws.String(st.secretID), VersionStage: aws.String(label)}
	if to != "" {
		in.MoveToVersionId = aws.String(to)
	}
	if from != "" {
		in.RemoveFromVersionId = aws.String(from)
	}
	if _, err := e.Secrets.UpdateSecretVersionStage(ctx, in); err != nil {
		return fmt.Errorf("move %s of secret %s: %w", label, st.secretID, err)
	}
	return nil
}

// verify calls the Verifier with c until it works, backing off 1 s, 2 s, 4 s, …
// up to 10 s between attempts, for at most VerifyTimeout of waiting. The key
// must authenticate as the user.
func (e *Engine) verify(ctx context.Context, u User, c target.Credentials) error {
	budget := e.VerifyTimeout
	if budget <= 0 {
		budget = DefaultVerifyTimeout
	}
	sleep := e.Sleep
	if sleep == nil {
		sleep = sleepCtx
	}
	var waited time.Duration
	for attempt := 1; ; attempt++ {
		arn, err := e.Verify(ctx, c)
		if err == nil {
			if !isUserARN(arn, u.Name) {
				return fmt.Errorf("key %s authenticates as %s, not as IAM user %s", c.AccessKeyID, arn, u.Name)
			}
			return nil
		}
		wait := min(time.Second<<min(attempt-1, 4), 10*time.Second)
		if waited+wait > budget {
			return fmt.Errorf("key %s still fails after %s: %w", c.AccessKeyID, waited, err)
		}
		e.log().LogAttrs(ctx, slog.LevelInfo, "new key not usable yet", slog.String("user", u.Name),
			slog.String("key", c.AccessKeyID), slog.Duration("wait", wait), slog.String("error", err.Error()))
		if err := sleep(ctx, wait); err != nil {
			return fmt.Errorf("verify key %s: %w", c.AccessKeyID, err)
		}
		waited += wait
	}
}

// isUserARN reports whether arn is an IAM user ARN naming user (IAM user names
// are unique ignoring case).
func isUserARN(arn, user string) bool {
	_, res, ok := strings.Cut(arn, ":user/")
	if !ok || !strings.HasPrefix(arn, "arn:") {
		return false
	}
	return strings.EqualFold(res[strings.LastIndex(res, "/")+1:], user)
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
