package rotate

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	smtypes "github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"

	"github.com/keyless-dev/keyless/rotate/target"
)

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

// fakeKey is an access key in fakeIAM.
type fakeKey struct {
	id, secret, user string
	active           bool
	created          time.Time
	lastUsed         time.Time
	service, region  string
}

// fakeIAM keeps access keys the way IAM does: at most two per user.
type fakeIAM struct {
	mu    sync.Mutex
	now   func() time.Time
	n     int
	keys  map[string]*fakeKey // by id
	calls []string
	fail  map[string]error // by operation name
}

func newFakeIAM(now func() time.Time) *fakeIAM {
	return &fakeIAM{now: now, keys: map[string]*fakeKey{}, fail: map[string]error{}}
}

func (f *fakeIAM) op(name string) error {
	f.calls = append(f.calls, name)
	return f.fail[name]
}

func (f *fakeIAM) userKeys(user string) []*fakeKey {
	var out []*fakeKey
	for _, k := range f.keys {
		if k.user == user {
			out = append(out, k)
		}
	}
	slices.SortFunc(out, func(a, b *fakeKey) int { return strings.Compare(a.id, b.id) })
	return out
}

// add creates a key directly, as an administrator would have.
func (f *fakeIAM) add(user string, created time.Time) *fakeKey {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.addLocked(user, created)
}

func (f *fakeIAM) addLocked(user string, created time.Time) *fakeKey {
	f.n++
	k := &fakeKey{id: fmt.Sprintf("AKIAFAKE%012d", f.n), secret: fmt.Sprintf("secret-%d-%s", f.n, strings.Repeat("x", 30)), user: user, active: true, created: created}
	f.keys[k.id] = k
	return k
}

// use records a use of key id at t.
func (f *fakeIAM) use(id string, t time.Time, service, region string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	k := f.keys[id]
	k.lastUsed, k.service, k.region = t, service, region
}

func (f *fakeIAM) get(id string) *fakeKey {
	f.mu.Lock()
	defer f.mu.Unlock()
	if k, ok := f.keys[id]; ok {
		cp := *k
		return &cp
	}
	return nil
}

func (f *fakeIAM) list(user string) []fakeKey {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []fakeKey
	for _, k := range f.userKeys(user) {
		out = append(out, *k)
	}
	return out
}

func noSuchEntity(id string) error {
	return &iamtypes.NoSuchEntityException{Message: aws.String("The Access Key with id " + id + " cannot be found.")}
}

func (f *fakeIAM) ListAccessKeys(_ context.Context, in *iam.ListAccessKeysInput, _ ...func(*iam.Options)) (*iam.ListAccessKeysOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.op("ListAccessKeys"); err != nil {
		return nil, err
	}
	out := &iam.ListAccessKeysOutput{}
	for _, k := range f.userKeys(aws.ToString(in.UserName)) {
		st := iamtypes.StatusTypeInactive
		if k.active {
			st = iamtypes.StatusTypeActive
		}
		out.AccessKeyMetadata = append(out.AccessKeyMetadata, iamtypes.AccessKeyMetadata{AccessKeyId: aws.String(k.id), CreateDate: aws.Time(k.created), Status: st, UserName: aws.String(k.user)})
	}
	return out, nil
}

func (f *fakeIAM) GetAccessKeyLastUsed(_ context.Context, in *iam.GetAccessKeyLastUsedInput, _ ...func(*iam.Options)) (*iam.GetAccessKeyLastUsedOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.op("GetAccessKeyLastUsed"); err != nil {
		return nil, err
	}
	k, ok := f.keys[aws.ToString(in.AccessKeyId)]
	if !ok {
		return nil, noSuchEntity(aws.ToString(in.AccessKeyId))
	}
	lu := &iamtypes.AccessKeyLastUsed{ServiceName: aws.String("N/A"), Region: aws.String("N/A")}
	if !k.lastUsed.IsZero() {
		lu = &iamtypes.AccessKeyLastUsed{LastUsedDate: aws.Time(k.lastUsed), ServiceName: aws.String(k.service), Region: aws.String(k.region)}
	}
	return &iam.GetAccessKeyLastUsedOutput{UserName: aws.String(k.user), AccessKeyLastUsed: lu}, nil
}

func (f *fakeIAM) CreateAccessKey(_ context.Context, in *iam.CreateAccessKeyInput, _ ...func(*iam.Options)) (*iam.CreateAccessKeyOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.op("CreateAccessKey"); err != nil {
		return nil, err
	}
	user := aws.ToString(in.UserName)
	if len(f.userKeys(user)) >= 2 {
		return nil, &iamtypes.LimitExceededException{Message: aws.String("Cannot exceed quota for AccessKeysPerUser: 2")}
	}
	k := f.addLocked(user, f.now())
	return &iam.CreateAccessKeyOutput{AccessKey: &iamtypes.AccessKey{AccessKeyId: aws.String(k.id), SecretAccessKey: aws.String(k.secret),
		CreateDate: aws.Time(k.created), Status: iamtypes.StatusTypeActive, UserName: aws.String(user)}}, nil
}

func (f *fakeIAM) UpdateAccessKey(_ context.Context, in *iam.UpdateAccessKeyInput, _ ...func(*iam.Options)) (*iam.UpdateAccessKeyOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.op("UpdateAccessKey"); err != nil {
		return nil, err
	}
	k, ok := f.keys[aws.ToString(in.AccessKeyId)]
	if !ok {
		return nil, noSuchEntity(aws.ToString(in.AccessKeyId))
	}
	k.active = in.Status == iamtypes.StatusTypeActive
	return &iam.UpdateAccessKeyOutput{}, nil
}

func (f *fakeIAM) DeleteAccessKey(_ context.Context, in *iam.DeleteAccessKeyInput, _ ...func(*iam.Options)) (*iam.DeleteAccessKeyOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.op("DeleteAccessKey"); err != nil {
		return nil, err
	}
	id := aws.ToString(in.AccessKeyId)
	if _, ok := f.keys[id]; !ok {
		return nil, noSuchEntity(id)
	}
	delete(f.keys, id)
	return &iam.DeleteAccessKeyOutput{}, nil
}

// verifier is the Verifier of the fake: a key works when it exists, is active,
// and has been tried failFirst times already (new keys take a while).
func (f *fakeIAM) verifier(failFirst int) Verifier {
	var mu sync.Mutex
	tries := map[string]int{}
	return func(_ context.Context, c target.Credentials) (string, error) {
		mu.Lock()
		tries[c.AccessKeyID]++
		n := tries[c.AccessKeyID]
		mu.Unlock()
		k := f.get(c.AccessKeyID)
		if k == nil || !k.active || k.secret != c.SecretAccessKey || n <= failFirst {
			return "", errors.New("InvalidClientTokenId: The security token included in the request is invalid")
		}
		return "arn:aws:iam::123456789012:user/" + k.user, nil
	}
}

// fakeVersion is a secret version.
type fakeVersion struct {
	value  string
	stages []string
}

type fakeSecret struct {
	name     string
	arn      string
	versions map[string]*fakeVersion
	tags     map[string]string
}

// fakeSM keeps secrets with Secrets Manager's staging-label rules.
type fakeSM struct {
	mu      sync.Mutex
	secrets map[string]*fakeSecret // by name
	calls   []string
	fail    map[string]error
}

func newFakeSM() *fakeSM { return &fakeSM{secrets: map[string]*fakeSecret{}, fail: map[string]error{}} }

func (f *fakeSM) find(id string) (*fakeSecret, error) {
	for _, s := range f.secrets {
		if s.name == id || s.arn == id {
			return s, nil
		}
	}
	return nil, &smtypes.ResourceNotFoundException{Message: aws.String("Secrets Manager can't find the specified secret.")}
}

func (f *fakeSM) op(name string) error {
	f.calls = append(f.calls, name)
	return f.fail[name]
}

// create makes a secret with a first (AWSCURRENT) version holding k.
func (f *fakeSM) create(name string, k *fakeKey) {
	f.mu.Lock()
	defer f.mu.Unlock()
	s := &fakeSecret{name: name, arn: "arn:aws:secretsmanager:us-east-1:123456789012:secret:" + name + "-AbCdEf", versions: map[string]*fakeVersion{}, tags: map[string]string{}}
	f.secrets[name] = s
	if k != nil {
		s.versions["v0"] = &fakeVersion{value: encodeSecret(target.Credentials{AccessKeyID: k.id, SecretAccessKey: k.secret}), stages: []string{stageCurrent}}
	}
}

// staged returns the credentials a stage holds, or ok false.
func (f *fakeSM) staged(name, stage string) (target.Credentials, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	s, err := f.find(name)
	if err != nil {
		return target.Credentials{}, false
	}
	for _, v := range s.versions {
		if slices.Contains(v.stages, stage) {
			c, err := parseSecret(v.value)
			return c, err == nil
		}
	}
	return target.Credentials{}, false
}

func (f *fakeSM) tags(name string) map[string]string {
	f.mu.Lock()
	defer f.mu.Unlock()
	s, err := f.find(name)
	if err != nil {
		return nil
	}
	return maps.Clone(s.tags)
}

func (f *fakeSM) CreateSecret(_ context.Context, in *secretsmanager.CreateSecretInput, _ ...func(*secretsmanager.Options)) (*secretsmanager.CreateSecretOutput, error) {
	f.mu.Lock()
	if err := f.op("CreateSecret"); err != nil {
		f.mu.Unlock()
		return nil, err
	}
	name := aws.ToString(in.Name)
	if _, ok := f.secrets[name]; ok {
		f.mu.Unlock()
		return nil, &smtypes.ResourceExistsException{Message: aws.String("the secret " + name + " already exists.")}
	}
	f.mu.Unlock()
	f.create(name, nil)
	f.mu.Lock()
	defer f.mu.Unlock()
	return &secretsmanager.CreateSecretOutput{ARN: aws.String(f.secrets[name].arn), Name: aws.String(name)}, nil
}

func (f *fakeSM) DescribeSecret(_ context.Context, in *secretsmanager.DescribeSecretInput, _ ...func(*secretsmanager.Options)) (*secretsmanager.DescribeSecretOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.op("DescribeSecret"); err != nil {
		return nil, err
	}
	s, err := f.find(aws.ToString(in.SecretId))
	if err != nil {
		return nil, err
	}
	out := &secretsmanager.DescribeSecretOutput{ARN: aws.String(s.arn), Name: aws.String(s.name), VersionIdsToStages: map[string][]string{}}
	for id, v := range s.versions {
		if len(v.stages) > 0 {
			out.VersionIdsToStages[id] = slices.Clone(v.stages)
		}
	}
	for _, k := range slices.Sorted(maps.Keys(s.tags)) {
		out.Tags = append(out.Tags, smtypes.Tag{Key: aws.String(k), Value: aws.String(s.tags[k])})
	}
	return out, nil
}

func (f *fakeSM) GetSecretValue(_ context.Context, in *secretsmanager.GetSecretValueInput, _ ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.op("GetSecretValue"); err != nil {
		return nil, err
	}
	s, err := f.find(aws.ToString(in.SecretId))
	if err != nil {
		return nil, err
	}
	for id, v := range s.versions {
		if id == aws.ToString(in.VersionId) || in.VersionId == nil && slices.Contains(v.stages, aws.ToString(in.VersionStage)) {
			return &secretsmanager.GetSecretValueOutput{ARN: aws.String(s.arn), VersionId: aws.String(id), SecretString: aws.String(v.value), VersionStages: slices.Clone(v.stages)}, nil
		}
	}
	return nil, &smtypes.ResourceNotFoundException{Message: aws.String("Secrets Manager can't find the specified secret value.")}
}

func (f *fakeSM) PutSecretValue(_ context.Context, in *secretsmanager.PutSecretValueInput, _ ...func(*secretsmanager.Options)) (*secretsmanager.PutSecretValueOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.op("PutSecretValue"); err != nil {
		return nil, err
	}
	s, err := f.find(aws.ToString(in.SecretId))
	if err != nil {
		return nil, err
	}
	id, val := aws.ToString(in.ClientRequestToken), aws.ToString(in.SecretString)
	if v, ok := s.versions[id]; ok {
		if v.value != val {
			return nil, &smtypes.ResourceExistsException{Message: aws.String("You can't modify an existing version, you can only create a new version.")}
		}
		return &secretsmanager.PutSecretValueOutput{ARN: aws.String(s.arn), VersionId: aws.String(id), VersionStages: slices.Clone(v.stages)}, nil
	}
	stages := slices.Clone(in.VersionStages)
	if len(stages) == 0 {
		stages = []string{stageCurrent}
	}
	if len(s.versions) == 0 && !slices.Contains(stages, stageCurrent) {
		stages = append(stages, stageCurrent)
	}
	for _, st := range stages {
		for _, v := range s.versions {
			v.stages = slices.DeleteFunc(v.stages, func(x string) bool { return x == st })
		}
	}
	s.versions[id] = &fakeVersion{value: val, stages: stages}
	return &secretsmanager.PutSecretValueOutput{ARN: aws.String(s.arn), VersionId: aws.String(id), VersionStages: slices.Clone(stages)}, nil
}

func (f *fakeSM) UpdateSecretVersionStage(_ context.Context, in *secretsmanager.UpdateSecretVersionStageInput, _ ...func(*secretsmanager.Options)) (*secretsmanager.UpdateSecretVersionStageOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.op("UpdateSecretVersionStage"); err != nil {
		return nil, err
	}
	s, err := f.find(aws.ToString(in.SecretId))
	if err != nil {
		return nil, err
	}
	label, from, to := aws.ToString(in.VersionStage), aws.ToString(in.RemoveFromVersionId), aws.ToString(in.MoveToVersionId)
	invalid := func(msg string) error { return &smtypes.InvalidParameterException{Message: aws.String(msg)} }
	for id, v := range s.versions {
		if slices.Contains(v.stages, label) && id != from && id != to {
			return nil, invalid(label + " is attached to version " + id + ": name it in RemoveFromVersionId")
		}
	}
	if from != "" {
		v, ok := s.versions[from]
		if !ok || !slices.Contains(v.stages, label) {
			return nil, invalid("version " + from + " does not have " + label)
		}
		v.stages = slices.DeleteFunc(v.stages, func(x string) bool { return x == label })
	}
	if to != "" {
		v, ok := s.versions[to]
		if !ok {
			return nil, invalid("no version " + to)
		}
		if !slices.Contains(v.stages, label) {
			v.stages = append(v.stages, label)
		}
	}
	if label == stageCurrent && from != "" && from != to {
		for _, v := range s.versions {
			v.stages = slices.DeleteFunc(v.stages, func(x string) bool { return x == stagePrevious })
		}
		s.versions[from].stages = append(s.versions[from].stages, stagePrevious)
	}
	return &secretsmanager.UpdateSecretVersionStageOutput{ARN: aws.String(s.arn), Name: aws.String(s.name)}, nil
}

func (f *fakeSM) TagResource(_ context.Context, in *secretsmanager.TagResourceInput, _ ...func(*secretsmanager.Options)) (*secretsmanager.TagResourceOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.op("TagResource"); err != nil {
		return nil, err
	}
	s, err := f.find(aws.ToString(in.SecretId))
	if err != nil {
		return nil, err
	}
	for _, t := range in.Tags {
		s.tags[aws.ToString(t.Key)] = aws.ToString(t.Value)
	}
	return &secretsmanager.TagResourceOutput{}, nil
}

// fakeTarget is a CI variable scope in memory. hidden makes it behave like
// GitHub: values never come back.
type fakeTarget struct {
	mu      sync.Mutex
	name    string
	hidden  bool
	vars    map[string]target.Variable
	fail    error // returned by Put (and Get, with failGet)
	failGet bool
	puts    int
}

func newFakeTarget(name string, hidden bool) *fakeTarget {
	return &fakeTarget{name: name, hidden: hidden, vars: map[string]target.Variable{}}
}

func (t *fakeTarget) Name() string { return t.name }

func (t *fakeTarget) Put(_ context.Context, vars []target.Variable) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.puts++
	if t.fail != nil {
		return t.fail
	}
	for _, v := range vars {
		t.vars[v.Key] = v
	}
	return nil
}

func (t *fakeTarget) Get(_ context.Context) (map[string]target.Variable, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.fail != nil && t.failGet {
		return nil, t.fail
	}
	out := map[string]target.Variable{}
	for k, v := range t.vars {
		if t.hidden || v.Secret {
			v.Value, v.Secret = "", true
		}
		out[k] = v
	}
	return out, nil
}

// holds returns the credentials the target really holds.
func (t *fakeTarget) holds() target.Credentials {
	t.mu.Lock()
	defer t.mu.Unlock()
	return target.Credentials{AccessKeyID: t.vars[target.DefaultAccessKeyIDName].Value, SecretAccessKey: t.vars[target.DefaultSecretAccessKeyName].Value}
}

func (t *fakeTarget) setFail(err error, onGet bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.fail, t.failGet = err, onGet
}

func (t *fakeTarget) putCount() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.puts
}

func deleteInput(user, id string) *iam.DeleteAccessKeyInput {
	return &iam.DeleteAccessKeyInput{UserName: aws.String(user), AccessKeyId: aws.String(id)}
}

func deactivateInput(user, id string) *iam.UpdateAccessKeyInput {
	return &iam.UpdateAccessKeyInput{UserName: aws.String(user), AccessKeyId: aws.String(id), Status: iamtypes.StatusTypeInactive}
}
