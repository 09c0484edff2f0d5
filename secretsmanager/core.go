package secretsmanager

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/keyless-dev/keyless/keywrap"
	"github.com/keyless-dev/keyless/store"
)

// The staging labels Secrets Manager moves by itself.
const (
	stageCurrent  = "AWSCURRENT"
	stagePrevious = "AWSPREVIOUS"
)

// Secrets Manager's quotas and defaults.
const (
	maxStagesPerVersion = 20
	// maxVersions is how many versions a secret keeps before the deprecated
	// ones (without staging labels) older than a day are removed.
	maxVersions         = 100
	maxTags             = 50
	minRecoveryDays     = 7
	maxRecoveryDays     = 30
	defaultRecoveryDays = 30
	// suffixAlphabet and suffixLen make the random end of a secret's ARN.
	suffixAlphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	suffixLen      = 6
)

// value is a secret value: the SecretString or the SecretBinary of a version.
type value struct {
	binary bool
	data   []byte
}

func (v value) equal(o value) bool { return v.binary == o.binary && bytes.Equal(v.data, o.data) }

// errUnchanged aborts an UpdateSecret whose callback found nothing to write.
var errUnchanged = errors.New("secretsmanager: nothing to change")

// core applies Secrets Manager's rules to the secrets of a store: lookups by
// name and ARN, versions and their staging labels, scheduled deletion. Values
// are sealed with the key-encryption key before they reach the store, each
// bound to its secret's ARN and its version ID. Its methods are safe for
// concurrent use; every change is one store transaction.
type core struct {
	st      store.SecretStore
	box     *keywrap.Box
	region  string
	account string
	now     func() time.Time
	log     *slog.Logger

	randMu sync.Mutex // guards rand, which need not be safe for concurrent use
	rand   io.Reader
}

// arnPrefix is the ARN of the region's secrets up to their names:
// arn:aws:secretsmanager:REGION:ACCOUNT:secret:.
func (c *core) arnPrefix() string {
	return "arn:aws:secretsmanager:" + c.region + ":" + c.account + ":secret:"
}

// newARN returns a new ARN for a secret named name: the name, a hyphen and
// six random letters and digits, as AWS makes them.
func (c *core) newARN(name string) (string, error) {
	c.randMu.Lock()
	defer c.randMu.Unlock()
	limit := 256 - 256%len(suffixAlphabet)
	suffix := make([]byte, 0, suffixLen)
	buf := make([]byte, 16)
	for len(suffix) < suffixLen {
		if _, err := io.ReadFull(c.rand, buf); err != nil {
			return "", fmt.Errorf("secretsmanager: random ARN suffix: %w", err)
		}
		for _, b := range buf {
			if int(b) < limit && len(suffix) < suffixLen {
				suffix = append(suffix, suffixAlphabet[int(b)%len(suffixAlphabet)])
			}
		}
	}
	return c.arnPrefix() + name + "-" + string(suffix), nil
}

// newVersionID returns a random UUID, the version ID of a value given
// without a ClientRequestToken.
func (c *core) newVersionID() (string, error) {
	c.randMu.Lock()
	defer c.randMu.Unlock()
	id, err := uuid.NewRandomFromReader(c.rand)
	if err != nil {
		return "", fmt.Errorf("secretsmanager: random version ID: %w", err)
	}
	return id.String(), nil
}

// partialARN is a secret's ARN without its random suffix.
func partialARN(arn string) string {
	if len(arn) < suffixLen+1 {
		return arn
	}
	return arn[:len(arn)-suffixLen-1]
}

// secretID is what a SecretId names: a secret's name, or (arn true) its full
// or partial ARN, which may be either of names (the ARN's tail with and
// without what looks like a random suffix).
type secretID struct {
	raw   string
	arn   bool
	names []string
}

// parseSecretID reads a SecretId: a name, a full ARN
// (arn:aws:secretsmanager:REGION:ACCOUNT:secret:NAME-XXXXXX) or a partial ARN
// (…:secret:NAME). An ARN of another region or account names no secret here
// (names nil).
func (c *core) parseSecretID(id string) secretID {
	if !strings.HasPrefix(id, "arn:") {
		return secretID{raw: id, names: []string{id}}
	}
	sid := secretID{raw: id, arn: true}
	tail, ok := strings.CutPrefix(id, c.arnPrefix())
	if !ok || tail == "" {
		return sid
	}
	if n := len(tail) - suffixLen - 1; n > 0 && tail[n] == '-' && isAlnum(tail[n+1:]) {
		sid.names = append(sid.names, tail[:n])
	}
	sid.names = append(sid.names, tail)
	return sid
}

func isAlnum(s string) bool {
	for i := 0; i < len(s); i++ {
		if !strings.ContainsRune(suffixAlphabet, rune(s[i])) {
			return false
		}
	}
	return true
}

// matches reports whether s is the secret sid names.
func (sid secretID) matches(s store.Secret) bool {
	if !sid.arn {
		return s.Name == sid.raw
	}
	return s.ARN == sid.raw || partialARN(s.ARN) == sid.raw
}

// guessARN is the resource of a call on a secret that does not exist: the
// ARN given, else the partial ARN of the name, so that a policy can still
// decide whether the caller may learn that it does not exist.
func (c *core) guessARN(id string) string {
	if strings.HasPrefix(id, "arn:") {
		return id
	}
	return c.arnPrefix() + id
}

// lookup returns the secret id names (see parseSecretID), or
// ResourceNotFoundException. A secret whose recovery window has ended is
// deleted now and not found.
func (c *core) lookup(ctx context.Context, id string) (store.Secret, error) {
	sid := c.parseSecretID(id)
	for _, name := range sid.names {
		s, found, err := c.getByName(ctx, name)
		if err != nil {
			return store.Secret{}, err
		}
		if found && sid.matches(s) {
			return s, nil
		}
	}
	return store.Secret{}, errSecretNotFound()
}

// getByName returns the secret named name, if there is one whose recovery
// window has not ended (one that has is deleted).
func (c *core) getByName(ctx context.Context, name string) (store.Secret, bool, error) {
	s, err := c.st.GetSecret(ctx, name)
	if errors.Is(err, store.ErrNotFound) {
		return store.Secret{}, false, nil
	}
	if err != nil {
		return store.Secret{}, false, fmt.Errorf("secretsmanager: %w", err)
	}
	if purged, err := c.purgeIfDue(ctx, s); err != nil || purged {
		return store.Secret{}, false, err
	}
	return s, true, nil
}

// purgeIfDue deletes s if its recovery window has ended.
func (c *core) purgeIfDue(ctx context.Context, s store.Secret) (bool, error) {
	if s.DeletionDate.IsZero() || c.now().Before(s.DeletionDate) {
		return false, nil
	}
	err := c.st.DeleteSecret(ctx, s.Name)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return false, fmt.Errorf("secretsmanager: delete secret %s at the end of its recovery window: %w", s.Name, err)
	}
	c.log.Info("secretsmanager: deleted secret at the end of its recovery window", "arn", s.ARN)
	return true, nil
}

// sealLabel binds a sealed value to its secret and version.
func sealLabel(arn, versionID string) string {
	return "secretsmanager:" + arn + ":version:" + versionID
}

// seal encrypts v for version versionID of the secret arn: a kind byte ('s'
// string, 'b' binary) then the bytes, under the key-encryption key.
func (c *core) seal(arn, versionID string, v value) ([]byte, error) {
	pt := make([]byte, 0, 1+len(v.data))
	if v.binary {
		pt = append(pt, 'b')
	} else {
		pt = append(pt, 's')
	}
	pt = append(pt, v.data...)
	sealed, err := c.box.Seal(sealLabel(arn, versionID), pt)
	if err != nil {
		return nil, fmt.Errorf("secretsmanager: seal value: %w", err)
	}
	return sealed, nil
}

// open decrypts a sealed value of version versionID of the secret arn.
func (c *core) open(arn, versionID string, sealed []byte) (value, error) {
	pt, err := c.box.Open(sealLabel(arn, versionID), sealed)
	if err != nil {
		return value{}, fmt.Errorf("secretsmanager: open value of version %s of %s: %w", versionID, arn, err)
	}
	if len(pt) == 0 || (pt[0] != 's' && pt[0] != 'b') {
		return value{}, fmt.Errorf("secretsmanager: open value of version %s of %s: unknown kind", versionID, arn)
	}
	return value{binary: pt[0] == 'b', data: pt[1:]}, nil
}

// update runs fn on secret sec in a store transaction. The secret must still
// be the one looked up (same ARN), else it is ResourceNotFoundException. fn
// returns errUnchanged to write nothing; update then returns nil.
func (c *core) update(ctx context.Context, sec store.Secret, fn func(*store.Secret) error) error {
	err := c.st.UpdateSecret(ctx, sec.Name, func(cur store.Secret) (store.Secret, error) {
		if cur.ARN != sec.ARN {
			return cur, errSecretNotFound()
		}
		err := fn(&cur)
		return cur, err
	})
	switch {
	case err == nil, errors.Is(err, errUnchanged):
		return nil
	case errors.Is(err, store.ErrNotFound):
		return errSecretNotFound()
	}
	return err
}

// versionIndex is the index of version id in vs, or -1.
func versionIndex(vs []store.SecretVersion, id string) int {
	return slices.IndexFunc(vs, func(v store.SecretVersion) bool { return v.ID == id })
}

// holder is the index of the version of vs that has stage, or -1.
func holder(vs []store.SecretVersion, stage string) int {
	return slices.IndexFunc(vs, func(v store.SecretVersion) bool { return slices.Contains(v.Stages, stage) })
}

// without returns stages less stage, in a new slice.
func without(stages []string, stage string) []string {
	return slices.DeleteFunc(slices.Clone(stages), func(s string) bool { return s == stage })
}

// movePrevious attaches AWSPREVIOUS to vs[to] alone.
func movePrevious(vs []store.SecretVersion, to int) {
	if p := holder(vs, stagePrevious); p >= 0 {
		vs[p].Stages = without(vs[p].Stages, stagePrevious)
	}
	vs[to].Stages = append(slices.Clone(vs[to].Stages), stagePrevious)
}

// attach attaches each of stages to vs[to], taking it from the version that
// had it (a label is on one version at a time); when AWSCURRENT leaves a
// version, AWSPREVIOUS moves to that version.
func attach(vs []store.SecretVersion, to int, stages []string) {
	for _, st := range stages {
		from := holder(vs, st)
		if from == to {
			continue
		}
		if from >= 0 {
			vs[from].Stages = without(vs[from].Stages, st)
			if st == stageCurrent {
				movePrevious(vs, from)
			}
		}
		vs[to].Stages = append(slices.Clone(vs[to].Stages), st)
	}
}

// checkStageLimit refuses a version with too many staging labels.
func checkStageLimit(vs []store.SecretVersion) error {
	for _, v := range vs {
		if len(v.Stages) > maxStagesPerVersion {
			return errStageLimit(v.ID)
		}
	}
	return nil
}

// prune removes the oldest deprecated versions (without staging labels,
// created over a day ago) while the secret has more than maxVersions.
func prune(vs []store.SecretVersion, now time.Time) []store.SecretVersion {
	for len(vs) > maxVersions {
		i := slices.IndexFunc(vs, func(v store.SecretVersion) bool {
			return len(v.Stages) == 0 && v.CreatedAt.Before(now.Add(-24*time.Hour))
		})
		if i < 0 {
			break
		}
		vs = slices.Delete(vs, i, i+1)
	}
	return vs
}

// newVersion seals v as version id of the secret arn, created now.
func (c *core) newVersion(arn, id string, v value, now time.Time) (store.SecretVersion, error) {
	sealed, err := c.seal(arn, id, v)
	if err != nil {
		return store.SecretVersion{}, err
	}
	return store.SecretVersion{ID: id, Value: sealed, CreatedAt: now}, nil
}

// sameValue reports whether version ver of the secret arn holds v.
func (c *core) sameValue(arn string, ver store.SecretVersion, v value) (bool, error) {
	got, err := c.open(arn, ver.ID, ver.Value)
	if err != nil {
		return false, err
	}
	return got.equal(v), nil
}

// createRequest is a validated CreateSecret.
type createRequest struct {
	name, token           string
	description, kmsKeyID string
	value                 *value
	tags                  []store.Tag
}

// createTarget returns the ARN a CreateSecret of name concerns: the
// existing secret's, or a new one.
func (c *core) createTarget(ctx context.Context, name string) (string, error) {
	s, found, err := c.getByName(ctx, name)
	if err != nil {
		return "", err
	}
	if found {
		return s.ARN, nil
	}
	return c.newARN(name)
}

// create creates the secret r describes under arn (from createTarget), with
// a first version labelled AWSCURRENT when r has a value. A secret of that
// name that exists already is an error, unless r is a retry of the request
// that created it (same ClientRequestToken and value): the existing secret is
// then the answer.
func (c *core) create(ctx context.Context, arn string, r createRequest) (store.Secret, string, error) {
	for range 3 {
		s, found, err := c.getByName(ctx, r.name)
		if err != nil {
			return store.Secret{}, "", err
		}
		if found {
			id, err := c.createOverExisting(s, r)
			return s, id, err
		}
		now := c.now()
		s = store.Secret{Name: r.name, ARN: arn, Description: r.description, KMSKeyID: r.kmsKeyID, Tags: r.tags,
			CreatedAt: now, LastChangedAt: now}
		var id string
		if r.value != nil {
			if id = r.token; id == "" {
				if id, err = c.newVersionID(); err != nil {
					return store.Secret{}, "", err
				}
			}
			v, err := c.newVersion(arn, id, *r.value, now)
			if err != nil {
				return store.Secret{}, "", err
			}
			v.Stages = []string{stageCurrent}
			s.Versions = []store.SecretVersion{v}
		}
		err = c.st.CreateSecret(ctx, s)
		if err == nil {
			return s, id, nil
		}
		if !errors.Is(err, store.ErrAlreadyExists) {
			return store.Secret{}, "", fmt.Errorf("secretsmanager: %w", err)
		}
		// Created meanwhile: judge the request against that secret.
	}
	return store.Secret{}, "", errSecretExists(r.name)
}

// createOverExisting answers a CreateSecret of a name that exists: the
// version ID of an identical earlier request, or the error.
func (c *core) createOverExisting(s store.Secret, r createRequest) (string, error) {
	if !s.DeletedAt.IsZero() {
		return "", errScheduledForDeletion()
	}
	if r.token == "" {
		return "", errResourceExists()
	}
	if i := versionIndex(s.Versions, r.token); i >= 0 && r.value != nil {
		same, err := c.sameValue(s.ARN, s.Versions[i], *r.value)
		if err != nil {
			return "", err
		}
		if !same {
			return "", errTokenInUse(r.token, s.ARN)
		}
		return r.token, nil
	}
	return "", errSecretExists(r.name)
}

// getValue returns the version of sec that versionID and stage select (by
// default the AWSCURRENT one) and its value, and records the access (to the
// day, as AWS keeps it).
func (c *core) getValue(ctx context.Context, sec store.Secret, versionID, stage string) (store.SecretVersion, value, error) {
	if !sec.DeletedAt.IsZero() {
		return store.SecretVersion{}, value{}, errMarkedForDeletion()
	}
	var i int
	switch {
	case versionID != "":
		if i = versionIndex(sec.Versions, versionID); i < 0 {
			return store.SecretVersion{}, value{}, errNoValueForVersion(versionID)
		}
		if stage != "" && !slices.Contains(sec.Versions[i].Stages, stage) {
			return store.SecretVersion{}, value{}, errStageNotOnVersion()
		}
	default:
		if stage == "" {
			stage = stageCurrent
		}
		if i = holder(sec.Versions, stage); i < 0 {
			return store.SecretVersion{}, value{}, errNoValueForStage(stage)
		}
	}
	ver := sec.Versions[i]
	v, err := c.open(sec.ARN, ver.ID, ver.Value)
	if err != nil {
		return store.SecretVersion{}, value{}, err
	}
	c.recordAccess(ctx, sec, ver.ID)
	return ver, v, nil
}

// recordAccess sets the last access date (a day) of sec and its version id,
// writing only when the day changed. A failure is logged: the value was read.
func (c *core) recordAccess(ctx context.Context, sec store.Secret, id string) {
	day := c.now().UTC().Truncate(24 * time.Hour)
	if i := versionIndex(sec.Versions, id); sec.LastAccessedAt.Equal(day) && i >= 0 && sec.Versions[i].LastAccessedAt.Equal(day) {
		return
	}
	err := c.update(ctx, sec, func(s *store.Secret) error {
		i := versionIndex(s.Versions, id)
		if i < 0 || s.LastAccessedAt.Equal(day) && s.Versions[i].LastAccessedAt.Equal(day) {
			return errUnchanged
		}
		s.LastAccessedAt, s.Versions[i].LastAccessedAt = day, day
		return nil
	})
	if err != nil {
		c.log.Warn("secretsmanager: record last access", "arn", sec.ARN, "err", err)
	}
}

// putValue adds version token holding v to sec, with stages (AWSCURRENT
// when none are given, and always for a secret's first version). A version
// token that exists already is the answer if it holds v, else an error.
func (c *core) putValue(ctx context.Context, sec store.Secret, token string, v value, stages []string) (store.SecretVersion, error) {
	now := c.now()
	ver, err := c.newVersion(sec.ARN, token, v, now)
	if err != nil {
		return store.SecretVersion{}, err
	}
	if len(stages) == 0 {
		stages = []string{stageCurrent}
	}
	var out store.SecretVersion
	err = c.update(ctx, sec, func(s *store.Secret) error {
		if !s.DeletedAt.IsZero() {
			return errMarkedForDeletion()
		}
		if i := versionIndex(s.Versions, token); i >= 0 {
			same, err := c.sameValue(s.ARN, s.Versions[i], v)
			if err != nil {
				return err
			}
			if !same {
				return errTokenInUse(token, s.ARN)
			}
			out = s.Versions[i]
			return errUnchanged
		}
		st := stages
		if len(s.Versions) == 0 && !slices.Contains(st, stageCurrent) {
			st = append(slices.Clone(st), stageCurrent)
		}
		s.Versions = append(s.Versions, ver)
		to := len(s.Versions) - 1
		attach(s.Versions, to, st)
		if err := checkStageLimit(s.Versions); err != nil {
			return err
		}
		out = s.Versions[to]
		s.Versions = prune(s.Versions, now)
		s.LastChangedAt = now
		return nil
	})
	if err != nil {
		return store.SecretVersion{}, err
	}
	return out, nil
}

// updateRequest is a validated UpdateSecret.
type updateRequest struct {
	description, kmsKeyID *string
	token                 string
	value                 *value
}

// updateSecret changes sec's description and KMS key, and with a value adds
// version token as AWSCURRENT. It returns the ID of the version holding the
// value, if one was given.
func (c *core) updateSecret(ctx context.Context, sec store.Secret, r updateRequest) (string, error) {
	now := c.now()
	var ver store.SecretVersion
	if r.value != nil {
		var err error
		if ver, err = c.newVersion(sec.ARN, r.token, *r.value, now); err != nil {
			return "", err
		}
	}
	var id string
	err := c.update(ctx, sec, func(s *store.Secret) error {
		if !s.DeletedAt.IsZero() {
			return errMarkedForDeletion()
		}
		changed := false
		if r.description != nil && *r.description != s.Description {
			s.Description, changed = *r.description, true
		}
		if r.kmsKeyID != nil && *r.kmsKeyID != s.KMSKeyID {
			s.KMSKeyID, changed = *r.kmsKeyID, true
		}
		if r.value != nil {
			id = r.token
			if i := versionIndex(s.Versions, r.token); i >= 0 {
				same, err := c.sameValue(s.ARN, s.Versions[i], *r.value)
				if err != nil {
					return err
				}
				if !same {
					return errTokenInUse(r.token, s.ARN)
				}
			} else {
				s.Versions = append(s.Versions, ver)
				attach(s.Versions, len(s.Versions)-1, []string{stageCurrent})
				s.Versions = prune(s.Versions, now)
				changed = true
			}
		}
		if !changed {
			return errUnchanged
		}
		s.LastChangedAt = now
		return nil
	})
	return id, err
}

// moveStage attaches stage to version moveTo and/or removes it from version
// removeFrom, by Secrets Manager's rules: a label on another version must be
// removed from it explicitly (RemoveFromVersionId), AWSCURRENT can only be
// moved, never just removed, and moving it moves AWSPREVIOUS to the version
// it left.
func (c *core) moveStage(ctx context.Context, sec store.Secret, stage, moveTo, removeFrom string) error {
	if moveTo == "" && removeFrom == "" {
		return errNoStageMove()
	}
	return c.update(ctx, sec, func(s *store.Secret) error {
		if !s.DeletedAt.IsZero() {
			return errMarkedForDeletion()
		}
		vs := s.Versions
		to, from := -1, -1
		if moveTo != "" {
			if to = versionIndex(vs, moveTo); to < 0 {
				return errNoValueForVersion(moveTo)
			}
		}
		if removeFrom != "" {
			if from = versionIndex(vs, removeFrom); from < 0 {
				return errNoValueForVersion(removeFrom)
			}
			if !slices.Contains(vs[from].Stages, stage) {
				return errRemoveFromMismatch(stage, removeFrom)
			}
		}
		if h := holder(vs, stage); to >= 0 && h >= 0 && h != to && from != h {
			return errRemoveFromRequired(stage, vs[h].ID)
		}
		if to < 0 && stage == stageCurrent {
			return errCurrentNeedsVersion()
		}
		changed := false
		if from >= 0 && from != to {
			vs[from].Stages = without(vs[from].Stages, stage)
			if stage == stageCurrent {
				movePrevious(vs, from)
			}
			changed = true
		}
		if to >= 0 && !slices.Contains(vs[to].Stages, stage) {
			vs[to].Stages = append(slices.Clone(vs[to].Stages), stage)
			changed = true
		}
		if !changed {
			return errUnchanged // already where it was asked to be
		}
		if err := checkStageLimit(vs); err != nil {
			return err
		}
		s.LastChangedAt = c.now()
		return nil
	})
}

// deleteSecret schedules sec's deletion at the end of a recovery window of
// days, or (force) deletes it at once, and returns the deletion date.
func (c *core) deleteSecret(ctx context.Context, sec store.Secret, days int64, force bool) (time.Time, error) {
	now := c.now()
	if force {
		err := c.st.DeleteSecret(ctx, sec.Name)
		if errors.Is(err, store.ErrNotFound) {
			return time.Time{}, errSecretNotFound()
		}
		if err != nil {
			return time.Time{}, fmt.Errorf("secretsmanager: %w", err)
		}
		return now, nil
	}
	deletion := now.Add(time.Duration(days) * 24 * time.Hour)
	err := c.update(ctx, sec, func(s *store.Secret) error {
		if !s.DeletedAt.IsZero() {
			return errMarkedForDeletion()
		}
		s.DeletedAt, s.DeletionDate, s.LastChangedAt = now, deletion, now
		return nil
	})
	return deletion, err
}

// restore cancels sec's scheduled deletion (nothing to do when there is none).
func (c *core) restore(ctx context.Context, sec store.Secret) error {
	return c.update(ctx, sec, func(s *store.Secret) error {
		if s.DeletedAt.IsZero() && s.DeletionDate.IsZero() {
			return errUnchanged
		}
		s.DeletedAt, s.DeletionDate, s.LastChangedAt = time.Time{}, time.Time{}, c.now()
		return nil
	})
}

// tag adds tags to sec, replacing the values of keys it has.
func (c *core) tag(ctx context.Context, sec store.Secret, tags []store.Tag) error {
	return c.update(ctx, sec, func(s *store.Secret) error {
		if !s.DeletedAt.IsZero() {
			return errMarkedForDeletion()
		}
		for _, t := range tags {
			if i := slices.IndexFunc(s.Tags, func(x store.Tag) bool { return x.Key == t.Key }); i >= 0 {
				s.Tags[i].Value = t.Value
			} else {
				s.Tags = append(s.Tags, t)
			}
		}
		if len(s.Tags) > maxTags {
			return newError("LimitExceededException", fmt.Sprintf("A secret can have at most %d tags.", maxTags))
		}
		s.LastChangedAt = c.now()
		return nil
	})
}

// untag removes the tags of keys from sec.
func (c *core) untag(ctx context.Context, sec store.Secret, keys []string) error {
	return c.update(ctx, sec, func(s *store.Secret) error {
		if !s.DeletedAt.IsZero() {
			return errMarkedForDeletion()
		}
		n := len(s.Tags)
		s.Tags = slices.DeleteFunc(s.Tags, func(t store.Tag) bool { return slices.Contains(keys, t.Key) })
		if len(s.Tags) == n {
			return errUnchanged
		}
		s.LastChangedAt = c.now()
		return nil
	})
}
