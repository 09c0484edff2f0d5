package secretsmanager

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strconv"

	"github.com/keyless-dev/keyless/awsapi"
	"github.com/keyless-dev/keyless/policy"
	"github.com/keyless-dev/keyless/store"
)

// Request constraints of the 2017-10-17 model.
const (
	maxSecretID    = 2048
	maxName        = 512
	minToken       = 32
	maxToken       = 64
	maxDescription = 2048
	maxKMSKeyID    = 2048
	maxValue       = 65536
	maxStage       = 256
	maxResults     = 100
	maxNextToken   = 4096
	maxFilters     = 10
	maxFilterValue = 512
)

// patName is what a secret's name may hold.
var patName = regexp.MustCompile(`^[a-zA-Z0-9/_+=.@-]+$`)

// patFilterValue is what a ListSecrets filter value may hold.
var patFilterValue = regexp.MustCompile(`^!?[a-zA-Z0-9 :_@/+=.\-!]*$`)

// secretContext is the condition keys of a call on the secret arn with tags,
// plus extra: secretsmanager:SecretId, and secretsmanager:ResourceTag/<key>
// and aws:ResourceTag/<key> for each tag.
func secretContext(arn string, tags []store.Tag, extra policy.Context) policy.Context {
	ctx := policy.NewContext()
	ctx.Set("secretsmanager:SecretId", arn)
	for _, t := range tags {
		ctx.Set("secretsmanager:ResourceTag/"+t.Key, t.Value)
		ctx.Set("aws:ResourceTag/"+t.Key, t.Value)
	}
	for k, v := range extra {
		ctx.Set(k, v...)
	}
	return ctx
}

// requestTagContext adds the condition keys of tags in a request to ctx:
// aws:RequestTag/<key> and aws:TagKeys.
func requestTagContext(ctx policy.Context, tags []store.Tag) policy.Context {
	if len(tags) == 0 {
		return ctx
	}
	keys := make([]string, 0, len(tags))
	for _, t := range tags {
		ctx.Set("aws:RequestTag/"+t.Key, t.Value)
		keys = append(keys, t.Key)
	}
	ctx.Set("aws:TagKeys", keys...)
	return ctx
}

// setIf sets key to *v in ctx when v is not nil.
func setIf(ctx policy.Context, key string, v *string) {
	if v != nil {
		ctx.Set(key, *v)
	}
}

// secret looks up the secret a SecretId names and authorizes the call on it,
// with its condition keys (secretContext) and extra. A secret that does not
// exist is authorized on the ARN given (or the name's partial ARN): a caller
// who may not call on it gets AccessDeniedException, one who may
// ResourceNotFoundException.
func (s *Service) secret(ctx context.Context, c *call, id string, extra policy.Context) (store.Secret, error) {
	sec, err := s.core.lookup(ctx, id)
	if awsapi.HasCode(err, "ResourceNotFoundException") {
		guess := s.core.guessARN(id)
		if aerr := s.authorize(ctx, c, "", guess, secretContext(guess, nil, extra)); aerr != nil {
			return store.Secret{}, aerr
		}
		return store.Secret{}, err
	}
	if err != nil {
		return store.Secret{}, err
	}
	if err := s.authorize(ctx, c, "", sec.ARN, secretContext(sec.ARN, sec.Tags, extra)); err != nil {
		return store.Secret{}, err
	}
	return sec, nil
}

// valueOf is the value a request carries, or nil; both SecretString and
// SecretBinary is an error.
func valueOf(str *string, bin []byte) (*value, error) {
	switch {
	case str != nil && bin != nil:
		return nil, errBothValues()
	case str != nil:
		return &value{data: []byte(*str)}, nil
	case bin != nil:
		return &value{binary: true, data: bin}, nil
	}
	return nil, nil
}

// storeTags converts validated request tags.
func storeTags(tags []tagJSON) []store.Tag {
	if len(tags) == 0 {
		return nil
	}
	out := make([]store.Tag, 0, len(tags))
	for _, t := range tags {
		tag := store.Tag{Key: *t.Key}
		if t.Value != nil {
			tag.Value = *t.Value
		}
		if i := slices.IndexFunc(out, func(x store.Tag) bool { return x.Key == tag.Key }); i >= 0 {
			out[i] = tag // the last value of a key given twice wins
			continue
		}
		out = append(out, tag)
	}
	return out
}

func tagsOut(tags []store.Tag) []tagOut {
	if len(tags) == 0 {
		return nil
	}
	out := make([]tagOut, len(tags))
	for i, t := range tags {
		out[i] = tagOut{Key: t.Key, Value: t.Value}
	}
	return out
}

// stagesMap maps the IDs of the versions of vs that have staging labels to
// their labels.
func stagesMap(vs []store.SecretVersion) map[string][]string {
	m := map[string][]string{}
	for _, v := range vs {
		if len(v.Stages) > 0 {
			m[v.ID] = v.Stages
		}
	}
	if len(m) == 0 {
		return nil
	}
	return m
}

// deref is *p, or "" for nil.
func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

// dedupe returns ss without repeats, in first-seen order.
func dedupe(ss []string) []string {
	var out []string
	for _, s := range ss {
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

func (s *Service) createSecret(ctx context.Context, c *call) (any, error) {
	var in createSecretInput
	if err := decodeRequest(c.body, &in); err != nil {
		return nil, err
	}
	var v validator
	v.required("name", in.Name != nil)
	v.length("name", in.Name, 1, maxName)
	v.length("clientRequestToken", in.ClientRequestToken, minToken, maxToken)
	v.length("description", in.Description, 0, maxDescription)
	v.length("kmsKeyId", in.KmsKeyID, 0, maxKMSKeyID)
	v.bytesLength("secretBinary", in.SecretBinary, 1, maxValue)
	v.length("secretString", in.SecretString, 1, maxValue)
	v.tags("tags", in.Tags, in.Tags != nil)
	v.length("type", in.Type, 0, 256)
	if err := v.err(); err != nil {
		return nil, err
	}
	if !patName.MatchString(*in.Name) {
		return nil, errInvalidName()
	}
	if len(in.AddReplicaRegions) > 0 {
		return nil, errReplication()
	}
	val, err := valueOf(in.SecretString, in.SecretBinary)
	if err != nil {
		return nil, err
	}
	arn, err := s.core.createTarget(ctx, *in.Name)
	if err != nil {
		return nil, err
	}
	tags := storeTags(in.Tags)
	extra := policy.NewContext()
	extra.Set("secretsmanager:Name", *in.Name)
	setIf(extra, "secretsmanager:Description", in.Description)
	setIf(extra, "secretsmanager:KmsKeyId", in.KmsKeyID)
	requestTagContext(extra, tags)
	if err := s.authorize(ctx, c, "", arn, secretContext(arn, nil, extra)); err != nil {
		return nil, err
	}
	if len(tags) > 0 {
		// Tagging at creation needs secretsmanager:TagResource too.
		if err := s.authorize(ctx, c, "secretsmanager:TagResource", arn, secretContext(arn, nil, requestTagContext(policy.NewContext(), tags))); err != nil {
			return nil, err
		}
	}
	sec, id, err := s.core.create(ctx, arn, createRequest{
		name: *in.Name, token: deref(in.ClientRequestToken), description: deref(in.Description), kmsKeyID: deref(in.KmsKeyID),
		value: val, tags: tags,
	})
	if err != nil {
		return nil, err
	}
	return createSecretOutput{ARN: sec.ARN, Name: sec.Name, VersionID: id}, nil
}

// secretIDOnly decodes and validates a request whose one member is SecretId.
func secretIDOnly(c *call) (string, error) {
	var in secretIDInput
	if err := decodeRequest(c.body, &in); err != nil {
		return "", err
	}
	var v validator
	v.required("secretId", in.SecretID != nil)
	v.length("secretId", in.SecretID, 1, maxSecretID)
	if err := v.err(); err != nil {
		return "", err
	}
	return *in.SecretID, nil
}

func (s *Service) describeSecret(ctx context.Context, c *call) (any, error) {
	id, err := secretIDOnly(c)
	if err != nil {
		return nil, err
	}
	sec, err := s.secret(ctx, c, id, nil)
	if err != nil {
		return nil, err
	}
	return describeSecretOutput{
		ARN: sec.ARN, Name: sec.Name, Description: sec.Description, KmsKeyID: sec.KMSKeyID,
		LastChangedDate: awsapi.EpochTime(sec.LastChangedAt), LastAccessedDate: awsapi.EpochTime(sec.LastAccessedAt),
		DeletedDate: awsapi.EpochTime(sec.DeletedAt), Tags: tagsOut(sec.Tags),
		VersionIdsToStages: stagesMap(sec.Versions), CreatedDate: awsapi.EpochTime(sec.CreatedAt),
	}, nil
}

func (s *Service) getSecretValue(ctx context.Context, c *call) (any, error) {
	var in getSecretValueInput
	if err := decodeRequest(c.body, &in); err != nil {
		return nil, err
	}
	var v validator
	v.required("secretId", in.SecretID != nil)
	v.length("secretId", in.SecretID, 1, maxSecretID)
	v.length("versionId", in.VersionID, minToken, maxToken)
	v.length("versionStage", in.VersionStage, 1, maxStage)
	if err := v.err(); err != nil {
		return nil, err
	}
	extra := policy.NewContext()
	setIf(extra, "secretsmanager:VersionId", in.VersionID)
	setIf(extra, "secretsmanager:VersionStage", in.VersionStage)
	sec, err := s.secret(ctx, c, *in.SecretID, extra)
	if err != nil {
		return nil, err
	}
	ver, val, err := s.core.getValue(ctx, sec, deref(in.VersionID), deref(in.VersionStage))
	if err != nil {
		return nil, err
	}
	out := getSecretValueOutput{ARN: sec.ARN, Name: sec.Name, VersionID: ver.ID, VersionStages: ver.Stages,
		CreatedDate: awsapi.EpochTime(ver.CreatedAt)}
	if val.binary {
		out.SecretBinary = val.data
	} else {
		str := string(val.data)
		out.SecretString = &str
	}
	return out, nil
}

func (s *Service) putSecretValue(ctx context.Context, c *call) (any, error) {
	var in putSecretValueInput
	if err := decodeRequest(c.body, &in); err != nil {
		return nil, err
	}
	var v validator
	v.required("secretId", in.SecretID != nil)
	v.length("secretId", in.SecretID, 1, maxSecretID)
	v.length("clientRequestToken", in.ClientRequestToken, minToken, maxToken)
	v.bytesLength("secretBinary", in.SecretBinary, 1, maxValue)
	v.length("secretString", in.SecretString, 1, maxValue)
	v.count("versionStages", len(in.VersionStages), in.VersionStages != nil, 1, maxStagesPerVersion)
	for i := range in.VersionStages {
		v.length(fmt.Sprintf("versionStages.%d.member", i+1), &in.VersionStages[i], 1, maxStage)
	}
	v.length("rotationToken", in.RotationToken, 36, 256)
	if err := v.err(); err != nil {
		return nil, err
	}
	val, err := valueOf(in.SecretString, in.SecretBinary)
	if err != nil {
		return nil, err
	}
	if val == nil {
		return nil, errNoValue()
	}
	if in.ClientRequestToken == nil {
		return nil, errNoToken()
	}
	sec, err := s.secret(ctx, c, *in.SecretID, nil)
	if err != nil {
		return nil, err
	}
	ver, err := s.core.putValue(ctx, sec, *in.ClientRequestToken, *val, dedupe(in.VersionStages))
	if err != nil {
		return nil, err
	}
	return putSecretValueOutput{ARN: sec.ARN, Name: sec.Name, VersionID: ver.ID, VersionStages: ver.Stages}, nil
}

func (s *Service) updateSecret(ctx context.Context, c *call) (any, error) {
	var in updateSecretInput
	if err := decodeRequest(c.body, &in); err != nil {
		return nil, err
	}
	var v validator
	v.required("secretId", in.SecretID != nil)
	v.length("secretId", in.SecretID, 1, maxSecretID)
	v.length("clientRequestToken", in.ClientRequestToken, minToken, maxToken)
	v.length("description", in.Description, 0, maxDescription)
	v.length("kmsKeyId", in.KmsKeyID, 0, maxKMSKeyID)
	v.bytesLength("secretBinary", in.SecretBinary, 1, maxValue)
	v.length("secretString", in.SecretString, 1, maxValue)
	v.length("type", in.Type, 0, 256)
	if err := v.err(); err != nil {
		return nil, err
	}
	val, err := valueOf(in.SecretString, in.SecretBinary)
	if err != nil {
		return nil, err
	}
	extra := policy.NewContext()
	setIf(extra, "secretsmanager:Description", in.Description)
	setIf(extra, "secretsmanager:KmsKeyId", in.KmsKeyID)
	sec, err := s.secret(ctx, c, *in.SecretID, extra)
	if err != nil {
		return nil, err
	}
	r := updateRequest{description: in.Description, kmsKeyID: in.KmsKeyID, value: val, token: deref(in.ClientRequestToken)}
	if val != nil && r.token == "" {
		if r.token, err = s.core.newVersionID(); err != nil {
			return nil, err
		}
	}
	id, err := s.core.updateSecret(ctx, sec, r)
	if err != nil {
		return nil, err
	}
	return updateSecretOutput{ARN: sec.ARN, Name: sec.Name, VersionID: id}, nil
}

func (s *Service) updateSecretVersionStage(ctx context.Context, c *call) (any, error) {
	var in updateSecretVersionStageInput
	if err := decodeRequest(c.body, &in); err != nil {
		return nil, err
	}
	var v validator
	v.required("secretId", in.SecretID != nil)
	v.length("secretId", in.SecretID, 1, maxSecretID)
	v.required("versionStage", in.VersionStage != nil)
	v.length("versionStage", in.VersionStage, 1, maxStage)
	v.length("removeFromVersionId", in.RemoveFromVersionID, minToken, maxToken)
	v.length("moveToVersionId", in.MoveToVersionID, minToken, maxToken)
	if err := v.err(); err != nil {
		return nil, err
	}
	extra := policy.NewContext()
	setIf(extra, "secretsmanager:VersionStage", in.VersionStage)
	sec, err := s.secret(ctx, c, *in.SecretID, extra)
	if err != nil {
		return nil, err
	}
	if err := s.core.moveStage(ctx, sec, *in.VersionStage, deref(in.MoveToVersionID), deref(in.RemoveFromVersionID)); err != nil {
		return nil, err
	}
	return arnNameOutput{ARN: sec.ARN, Name: sec.Name}, nil
}

func (s *Service) listSecretVersionIDs(ctx context.Context, c *call) (any, error) {
	var in listSecretVersionIDsInput
	if err := decodeRequest(c.body, &in); err != nil {
		return nil, err
	}
	var v validator
	v.required("secretId", in.SecretID != nil)
	v.length("secretId", in.SecretID, 1, maxSecretID)
	v.between("maxResults", in.MaxResults, 1, maxResults)
	v.length("nextToken", in.NextToken, 1, maxNextToken)
	if err := v.err(); err != nil {
		return nil, err
	}
	sec, err := s.secret(ctx, c, *in.SecretID, nil)
	if err != nil {
		return nil, err
	}
	limit := maxResults
	if in.MaxResults != nil {
		limit = int(*in.MaxResults)
	}
	vs, next, err := versionsPage(sec, in.IncludeDeprecated != nil && *in.IncludeDeprecated, limit, deref(in.NextToken))
	if err != nil {
		return nil, err
	}
	out := listSecretVersionIDsOutput{ARN: sec.ARN, Name: sec.Name, NextToken: next, Versions: []versionEntry{}}
	for _, ver := range vs {
		out.Versions = append(out.Versions, versionEntry{VersionID: ver.ID, VersionStages: ver.Stages,
			LastAccessedDate: awsapi.EpochTime(ver.LastAccessedAt), CreatedDate: awsapi.EpochTime(ver.CreatedAt)})
	}
	return out, nil
}

func (s *Service) listSecrets(ctx context.Context, c *call) (any, error) {
	var in listSecretsInput
	if err := decodeRequest(c.body, &in); err != nil {
		return nil, err
	}
	var v validator
	v.between("maxResults", in.MaxResults, 1, maxResults)
	v.length("nextToken", in.NextToken, 1, maxNextToken)
	v.count("filters", len(in.Filters), in.Filters != nil, 0, maxFilters)
	v.oneOf("sortOrder", in.SortOrder, "asc", "desc")
	v.oneOf("sortBy", in.SortBy, sortCreated, sortLastAccessed, sortLastChanged, sortName)
	for i, f := range in.Filters {
		m := fmt.Sprintf("filters.%d.member", i+1)
		v.oneOf(m+".key", f.Key, filterKeys...)
		v.count(m+".values", len(f.Values), f.Values != nil, 1, 10)
		for j := range f.Values {
			vm := fmt.Sprintf("%s.values.%d.member", m, j+1)
			v.length(vm, &f.Values[j], 0, maxFilterValue)
			if !patFilterValue.MatchString(f.Values[j]) {
				v.add(vm, "satisfy regular expression pattern: ^\\!?[a-zA-Z0-9 :_@\\/\\+\\=\\.\\-\\!]*$")
			}
		}
	}
	if err := v.err(); err != nil {
		return nil, err
	}
	q := listQuery{max: maxResults, sortBy: sortCreated, token: deref(in.NextToken)}
	for _, f := range in.Filters {
		if f.Key == nil {
			return nil, newError("InvalidParameterException", "Invalid filter key")
		}
		if len(f.Values) == 0 {
			return nil, errInvalidFilterValues(*f.Key)
		}
		q.filters = append(q.filters, filter{key: *f.Key, values: f.Values})
	}
	if in.MaxResults != nil {
		q.max = int(*in.MaxResults)
	}
	if in.SortBy != nil {
		q.sortBy = *in.SortBy
	}
	q.desc = in.SortOrder != nil && *in.SortOrder == "desc"
	q.includeDeleted = in.IncludePlannedDeletion != nil && *in.IncludePlannedDeletion
	if err := s.authorize(ctx, c, "", "*", nil); err != nil {
		return nil, err
	}
	page, next, err := s.core.list(ctx, q)
	if err != nil {
		return nil, err
	}
	out := listSecretsOutput{SecretList: []secretListEntry{}, NextToken: next}
	for _, sec := range page {
		out.SecretList = append(out.SecretList, secretListEntry{
			ARN: sec.ARN, Name: sec.Name, Description: sec.Description, KmsKeyID: sec.KMSKeyID,
			LastChangedDate: awsapi.EpochTime(sec.LastChangedAt), LastAccessedDate: awsapi.EpochTime(sec.LastAccessedAt),
			DeletedDate: awsapi.EpochTime(sec.DeletedAt), Tags: tagsOut(sec.Tags),
			SecretVersionsToStages: stagesMap(sec.Versions), CreatedDate: awsapi.EpochTime(sec.CreatedAt),
		})
	}
	return out, nil
}

func (s *Service) deleteSecret(ctx context.Context, c *call) (any, error) {
	var in deleteSecretInput
	if err := decodeRequest(c.body, &in); err != nil {
		return nil, err
	}
	var v validator
	v.required("secretId", in.SecretID != nil)
	v.length("secretId", in.SecretID, 1, maxSecretID)
	if err := v.err(); err != nil {
		return nil, err
	}
	force := in.ForceDeleteWithoutRecovery != nil && *in.ForceDeleteWithoutRecovery
	days := int64(defaultRecoveryDays)
	if w := in.RecoveryWindowInDays; w != nil {
		if *w < minRecoveryDays || *w > maxRecoveryDays {
			return nil, errRecoveryWindow()
		}
		if force {
			return nil, errForceWithWindow()
		}
		days = *w
	}
	extra := policy.NewContext()
	extra.Set("secretsmanager:ForceDeleteWithoutRecovery", strconv.FormatBool(force))
	if !force {
		extra.Set("secretsmanager:RecoveryWindowInDays", strconv.FormatInt(days, 10))
	}
	sec, err := s.secret(ctx, c, *in.SecretID, extra)
	if err != nil {
		return nil, err
	}
	date, err := s.core.deleteSecret(ctx, sec, days, force)
	if err != nil {
		return nil, err
	}
	return deleteSecretOutput{ARN: sec.ARN, Name: sec.Name, DeletionDate: awsapi.EpochTime(date)}, nil
}

func (s *Service) restoreSecret(ctx context.Context, c *call) (any, error) {
	id, err := secretIDOnly(c)
	if err != nil {
		return nil, err
	}
	sec, err := s.secret(ctx, c, id, nil)
	if err != nil {
		return nil, err
	}
	if err := s.core.restore(ctx, sec); err != nil {
		return nil, err
	}
	return arnNameOutput{ARN: sec.ARN, Name: sec.Name}, nil
}

func (s *Service) tagResource(ctx context.Context, c *call) (any, error) {
	var in tagResourceInput
	if err := decodeRequest(c.body, &in); err != nil {
		return nil, err
	}
	var v validator
	v.required("secretId", in.SecretID != nil)
	v.length("secretId", in.SecretID, 1, maxSecretID)
	v.required("tags", in.Tags != nil)
	v.tags("tags", in.Tags, in.Tags != nil)
	if err := v.err(); err != nil {
		return nil, err
	}
	tags := storeTags(in.Tags)
	sec, err := s.secret(ctx, c, *in.SecretID, requestTagContext(policy.NewContext(), tags))
	if err != nil {
		return nil, err
	}
	return nil, s.core.tag(ctx, sec, tags)
}

func (s *Service) untagResource(ctx context.Context, c *call) (any, error) {
	var in untagResourceInput
	if err := decodeRequest(c.body, &in); err != nil {
		return nil, err
	}
	var v validator
	v.required("secretId", in.SecretID != nil)
	v.length("secretId", in.SecretID, 1, maxSecretID)
	v.required("tagKeys", in.TagKeys != nil)
	v.count("tagKeys", len(in.TagKeys), in.TagKeys != nil, 0, maxTags)
	for i := range in.TagKeys {
		v.length(fmt.Sprintf("tagKeys.%d.member", i+1), &in.TagKeys[i], 1, 128)
	}
	if err := v.err(); err != nil {
		return nil, err
	}
	extra := policy.NewContext()
	if len(in.TagKeys) > 0 {
		extra.Set("aws:TagKeys", in.TagKeys...)
	}
	sec, err := s.secret(ctx, c, *in.SecretID, extra)
	if err != nil {
		return nil, err
	}
	return nil, s.core.untag(ctx, sec, in.TagKeys)
}
