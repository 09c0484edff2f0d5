package rotate

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/keyless-dev/keyless/rotate/target"
)

// Secrets Manager staging labels.
const (
	stageCurrent  = "AWSCURRENT"
	stagePending  = "AWSPENDING"
	stagePrevious = "AWSPREVIOUS"
)

// key is one of the user's access keys as IAM reports it.
type key struct {
	ID       string
	Active   bool
	Created  time.Time
	LastUsed time.Time // zero: never used
	Service  string
	Region   string
}

// version is a secret version holding a key. creds are known for the current,
// pending and previous versions (zero in a dry run's simulated versions).
type version struct {
	ID    string
	KeyID string
	creds target.Credentials
}

// targetState is what a target holds, as read and as recorded.
type targetState struct {
	Target
	tag      string
	rec      record // the last push, from the secret's tag (or this pass)
	dirty    bool   // rec changed in this pass and is not written yet
	live     string // the access key ID variable's value, when readable
	readable bool   // the access key ID variable came back with its value
	missing  bool   // a variable is not there
	readErr  error
}

// holds reports whether the target is known to hold keyID: its last push of
// keyID worked, it could be read, both variables are there, and when the
// access key ID can be read back it is keyID.
func (ts *targetState) holds(keyID string) bool {
	if keyID == "" || ts.rec.Key != keyID || !ts.rec.OK || ts.readErr != nil || ts.missing {
		return false
	}
	return !ts.readable || ts.live == keyID
}

// state is where a user's rotation stands.
type state struct {
	secretID                   string // the ARN once known, else the configured name
	exists                     bool
	keys                       []key // oldest first
	current, pending, previous *version
	creating                   *creatingMark
	synced                     *keyTime
	inactive                   []keyTime
	rollback                   string
	targets                    []*targetState
	warnings                   []string
	tags                       map[string]string // the secret's tags as read
}

func (st *state) key(id string) *key {
	for i := range st.keys {
		if st.keys[i].ID == id {
			return &st.keys[i]
		}
	}
	return nil
}

func (st *state) removeKey(id string) {
	st.keys = slices.DeleteFunc(st.keys, func(k key) bool { return k.ID == id })
}

func (st *state) currentKeyID() string {
	if st.current == nil {
		return ""
	}
	return st.current.KeyID
}

func (st *state) pendingKeyID() string {
	if st.pending == nil {
		return ""
	}
	return st.pending.KeyID
}

func (st *state) previousKeyID() string {
	if st.previous == nil {
		return ""
	}
	return st.previous.KeyID
}

func (st *state) inactiveSince(id string) (time.Time, bool) {
	for _, kt := range st.inactive {
		if kt.Key == id {
			return kt.At, true
		}
	}
	return time.Time{}, false
}

// observe reads the user's keys, the secret and the targets.
func (e *Engine) observe(ctx context.Context, u User) (*state, error) {
	st := &state{secretID: u.Secret}
	if err := e.readKeys(ctx, u, st); err != nil {
		return nil, err
	}
	if err := e.readSecret(ctx, u, st); err != nil {
		return nil, err
	}
	for _, t := range u.Targets {
		ts := &targetState{Target: t, tag: targetTag(t.id())}
		st.targets = append(st.targets, ts)
	}
	st.parseTags()
	for _, ts := range st.targets {
		readTarget(ctx, ts)
	}
	return st, nil
}

func (e *Engine) readKeys(ctx context.Context, u User, st *state) error {
	var marker *string
	for {
		out, err := e.IAM.ListAccessKeys(ctx, &iam.ListAccessKeysInput{UserName: aws.String(u.Name), Marker: marker})
		if err != nil {
			return fmt.Errorf("list the access keys of IAM user %s: %w", u.Name, err)
		}
		for _, m := range out.AccessKeyMetadata {
			st.keys = append(st.keys, key{
				ID:      aws.ToString(m.AccessKeyId),
				Active:  m.Status == iamtypes.StatusTypeActive,
				Created: aws.ToTime(m.CreateDate).UTC(),
			})
		}
		if !out.IsTruncated || out.Marker == nil {
			break
		}
		marker = out.Marker
	}
	slices.SortStableFunc(st.keys, func(a, b key) int { return a.Created.Compare(b.Created) })
	for i := range st.keys {
		k := &st.keys[i]
		out, err := e.IAM.GetAccessKeyLastUsed(ctx, &iam.GetAccessKeyLastUsedInput{AccessKeyId: aws.String(k.ID)})
		if err != nil {
			return fmt.Errorf("get the last use of access key %s: %w", k.ID, err)
		}
		if lu := out.AccessKeyLastUsed; lu != nil {
			k.LastUsed = aws.ToTime(lu.LastUsedDate).UTC()
			k.Service, k.Region = naToEmpty(aws.ToString(lu.ServiceName)), naToEmpty(aws.ToString(lu.Region))
		}
	}
	return nil
}

func naToEmpty(s string) string {
	if s == "N/A" {
		return ""
	}
	return s
}

func (e *Engine) readSecret(ctx context.Context, u User, st *state) error {
	out, err := e.Secrets.DescribeSecret(ctx, &secretsmanager.DescribeSecretInput{SecretId: aws.String(u.Secret)})
	if isSecretNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("describe secret %s: %w", u.Secret, err)
	}
	if out.DeletedDate != nil {
		return fmt.Errorf("secret %s is scheduled for deletion (on %s): restore it (aws secretsmanager restore-secret --secret-id %s) or name another secret", u.Secret, aws.ToTime(out.DeletedDate).UTC().Format(time.RFC3339), u.Secret)
	}
	st.exists = true
	st.tags = map[string]string{}
	for _, t := range out.Tags {
		st.tags[aws.ToString(t.Key)] = aws.ToString(t.Value)
	}
	if arn := aws.ToString(out.ARN); arn != "" {
		st.secretID = arn
	}
	for id, stages := range out.VersionIdsToStages {
		for _, s := range stages {
			v := &version{ID: id}
			switch s {
			case stageCurrent:
				st.current = v
			case stagePending:
				st.pending = v
			case stagePrevious:
				st.previous = v
			}
		}
	}
	for _, sv := range []struct {
		v     *version
		stage string
		must  bool
	}{{st.current, stageCurrent, true}, {st.pending, stagePending, true}, {st.previous, stagePrevious, false}} {
		if sv.v == nil {
			continue
		}
		c, err := e.readVersion(ctx, st.secretID, sv.v.ID)
		if err != nil {
			if sv.must {
				return fmt.Errorf("secret %s, %s version %s: %w", u.Secret, sv.stage, sv.v.ID, err)
			}
			st.warnings = append(st.warnings, fmt.Sprintf("the %s version of secret %s cannot be read: %v", sv.stage, u.Secret, err))
			continue
		}
		sv.v.KeyID, sv.v.creds = c.AccessKeyID, c
	}
	// The same version may carry two labels: share the struct.
	if st.pending != nil && st.current != nil && st.pending.ID == st.current.ID {
		st.pending = st.current
	}
	return nil
}

func (e *Engine) readVersion(ctx context.Context, secretID, versionID string) (target.Credentials, error) {
	out, err := e.Secrets.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(secretID), VersionId: aws.String(versionID)})
	if err != nil {
		return target.Credentials{}, fmt.Errorf("get secret value: %w", err)
	}
	return parseSecret(aws.ToString(out.SecretString))
}

// parseTags reads the marks from the secret's tags. A mark that does not parse
// is reported and ignored.
func (st *state) parseTags() {
	byTag := map[string]*targetState{}
	for _, ts := range st.targets {
		byTag[ts.tag] = ts
	}
	bad := func(k, v string) {
		st.warnings = append(st.warnings, fmt.Sprintf("tag %s=%q on the secret is not one keyless wrote: ignored", k, v))
	}
	for _, k := range slices.Sorted(maps.Keys(st.tags)) {
		v := strings.TrimSpace(st.tags[k])
		if v == "" {
			continue
		}
		switch {
		case k == TagCreating:
			if m, ok := parseCreating(v); ok {
				st.creating = &m
			} else {
				bad(k, v)
			}
		case k == TagSynced:
			if kts, ok := parseKeyTimes(v); ok && len(kts) == 1 {
				st.synced = &kts[0]
			} else {
				bad(k, v)
			}
		case k == TagInactive:
			if kts, ok := parseKeyTimes(v); ok {
				st.inactive = kts
			} else {
				bad(k, v)
			}
		case k == TagRollback:
			if validKeyID(v) {
				st.rollback = v
			} else {
				bad(k, v)
			}
		case byTag[k] != nil:
			if r, ok := parseRecord(v); ok {
				byTag[k].rec = r
			} else {
				bad(k, v)
			}
		}
	}
}

// readTarget reads what a target holds; a failure is kept, not returned.
func readTarget(ctx context.Context, ts *targetState) {
	vars, err := ts.Get(ctx)
	if err != nil {
		ts.readErr = err
		return
	}
	n := names(ts.Names)
	id, okID := lookup(vars, n.AccessKeyID)
	_, okSecret := lookup(vars, n.SecretAccessKey)
	ts.missing = !okID || !okSecret
	if okID && !id.Secret && id.Value != "" {
		ts.readable, ts.live = true, id.Value
	}
}

// lookup finds a variable by name, ignoring case as GitHub does.
func lookup(vars map[string]target.Variable, name string) (target.Variable, bool) {
	if v, ok := vars[name]; ok {
		return v, true
	}
	for k, v := range vars {
		if strings.EqualFold(k, name) {
			return v, true
		}
	}
	return target.Variable{}, false
}

// names fills in the default variable names.
func names(n target.Names) target.Names {
	if n.AccessKeyID == "" {
		n.AccessKeyID = target.DefaultAccessKeyIDName
	}
	if n.SecretAccessKey == "" {
		n.SecretAccessKey = target.DefaultSecretAccessKeyName
	}
	return n
}
