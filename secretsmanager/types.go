package secretsmanager

import (
	"encoding/json"

	"github.com/keyless-dev/keyless/awsapi"
)

// The members of requests and replies, as the 2017-10-17 API names them.
// Optional request members are pointers (or nil slices), so that an absent
// member can be told from an empty one.

// tagJSON is a tag.
type tagJSON struct {
	Key   *string `json:"Key,omitempty"`
	Value *string `json:"Value,omitempty"`
}

// filterJSON is a ListSecrets filter.
type filterJSON struct {
	Key    *string  `json:"Key,omitempty"`
	Values []string `json:"Values,omitempty"`
}

type createSecretInput struct {
	Name                        *string           `json:"Name,omitempty"`
	ClientRequestToken          *string           `json:"ClientRequestToken,omitempty"`
	Description                 *string           `json:"Description,omitempty"`
	KmsKeyID                    *string           `json:"KmsKeyId,omitempty"`
	SecretBinary                []byte            `json:"SecretBinary,omitempty"`
	SecretString                *string           `json:"SecretString,omitempty"`
	Tags                        []tagJSON         `json:"Tags,omitempty"`
	AddReplicaRegions           []json.RawMessage `json:"AddReplicaRegions,omitempty"`
	ForceOverwriteReplicaSecret *bool             `json:"ForceOverwriteReplicaSecret,omitempty"`
	Type                        *string           `json:"Type,omitempty"`
}

type createSecretOutput struct {
	ARN       string `json:"ARN"`
	Name      string `json:"Name"`
	VersionID string `json:"VersionId,omitempty"`
}

type secretIDInput struct {
	SecretID *string `json:"SecretId,omitempty"`
}

type describeSecretOutput struct {
	ARN                string              `json:"ARN"`
	Name               string              `json:"Name"`
	Description        string              `json:"Description,omitempty"`
	KmsKeyID           string              `json:"KmsKeyId,omitempty"`
	RotationEnabled    bool                `json:"RotationEnabled"`
	LastChangedDate    awsapi.EpochTime    `json:"LastChangedDate,omitzero"`
	LastAccessedDate   awsapi.EpochTime    `json:"LastAccessedDate,omitzero"`
	DeletedDate        awsapi.EpochTime    `json:"DeletedDate,omitzero"`
	Tags               []tagOut            `json:"Tags,omitempty"`
	VersionIdsToStages map[string][]string `json:"VersionIdsToStages,omitempty"`
	CreatedDate        awsapi.EpochTime    `json:"CreatedDate,omitzero"`
}

// tagOut is a tag in a reply (Value always present).
type tagOut struct {
	Key   string `json:"Key"`
	Value string `json:"Value"`
}

type getSecretValueInput struct {
	SecretID     *string `json:"SecretId,omitempty"`
	VersionID    *string `json:"VersionId,omitempty"`
	VersionStage *string `json:"VersionStage,omitempty"`
}

type getSecretValueOutput struct {
	ARN           string           `json:"ARN"`
	Name          string           `json:"Name"`
	VersionID     string           `json:"VersionId"`
	SecretBinary  []byte           `json:"SecretBinary,omitempty"`
	SecretString  *string          `json:"SecretString,omitempty"`
	VersionStages []string         `json:"VersionStages,omitempty"`
	CreatedDate   awsapi.EpochTime `json:"CreatedDate,omitzero"`
}

type putSecretValueInput struct {
	SecretID           *string  `json:"SecretId,omitempty"`
	ClientRequestToken *string  `json:"ClientRequestToken,omitempty"`
	SecretBinary       []byte   `json:"SecretBinary,omitempty"`
	SecretString       *string  `json:"SecretString,omitempty"`
	VersionStages      []string `json:"VersionStages,omitempty"`
	RotationToken      *string  `json:"RotationToken,omitempty"`
}

type putSecretValueOutput struct {
	ARN           string   `json:"ARN"`
	Name          string   `json:"Name"`
	VersionID     string   `json:"VersionId"`
	VersionStages []string `json:"VersionStages,omitempty"`
}

type updateSecretVersionStageInput struct {
	SecretID            *string `json:"SecretId,omitempty"`
	VersionStage        *string `json:"VersionStage,omitempty"`
	RemoveFromVersionID *string `json:"RemoveFromVersionId,omitempty"`
	MoveToVersionID     *string `json:"MoveToVersionId,omitempty"`
}

type arnNameOutput struct {
	ARN  string `json:"ARN"`
	Name string `json:"Name"`
}

type listSecretVersionIDsInput struct {
	SecretID          *string `json:"SecretId,omitempty"`
	MaxResults        *int64  `json:"MaxResults,omitempty"`
	NextToken         *string `json:"NextToken,omitempty"`
	IncludeDeprecated *bool   `json:"IncludeDeprecated,omitempty"`
}

type versionEntry struct {
	VersionID        string           `json:"VersionId"`
	VersionStages    []string         `json:"VersionStages,omitempty"`
	LastAccessedDate awsapi.EpochTime `json:"LastAccessedDate,omitzero"`
	CreatedDate      awsapi.EpochTime `json:"CreatedDate,omitzero"`
	KmsKeyIDs        []string         `json:"KmsKeyIds,omitempty"`
}

type listSecretVersionIDsOutput struct {
	Versions  []versionEntry `json:"Versions"`
	NextToken string         `json:"NextToken,omitempty"`
	ARN       string         `json:"ARN"`
	Name      string         `json:"Name"`
}

type listSecretsInput struct {
	IncludePlannedDeletion *bool        `json:"IncludePlannedDeletion,omitempty"`
	MaxResults             *int64       `json:"MaxResults,omitempty"`
	NextToken              *string      `json:"NextToken,omitempty"`
	Filters                []filterJSON `json:"Filters,omitempty"`
	SortOrder              *string      `json:"SortOrder,omitempty"`
	SortBy                 *string      `json:"SortBy,omitempty"`
}

type secretListEntry struct {
	ARN                    string              `json:"ARN"`
	Name                   string              `json:"Name"`
	Description            string              `json:"Description,omitempty"`
	KmsKeyID               string              `json:"KmsKeyId,omitempty"`
	RotationEnabled        bool                `json:"RotationEnabled"`
	LastChangedDate        awsapi.EpochTime    `json:"LastChangedDate,omitzero"`
	LastAccessedDate       awsapi.EpochTime    `json:"LastAccessedDate,omitzero"`
	DeletedDate            awsapi.EpochTime    `json:"DeletedDate,omitzero"`
	Tags                   []tagOut            `json:"Tags,omitempty"`
	SecretVersionsToStages map[string][]string `json:"SecretVersionsToStages,omitempty"`
	CreatedDate            awsapi.EpochTime    `json:"CreatedDate,omitzero"`
}

type listSecretsOutput struct {
	SecretList []secretListEntry `json:"SecretList"`
	NextToken  string            `json:"NextToken,omitempty"`
}

type deleteSecretInput struct {
	SecretID                   *string `json:"SecretId,omitempty"`
	RecoveryWindowInDays       *int64  `json:"RecoveryWindowInDays,omitempty"`
	ForceDeleteWithoutRecovery *bool   `json:"ForceDeleteWithoutRecovery,omitempty"`
}

type deleteSecretOutput struct {
	ARN          string           `json:"ARN"`
	Name         string           `json:"Name"`
	DeletionDate awsapi.EpochTime `json:"DeletionDate"`
}

type tagResourceInput struct {
	SecretID *string   `json:"SecretId,omitempty"`
	Tags     []tagJSON `json:"Tags,omitempty"`
}

type untagResourceInput struct {
	SecretID *string  `json:"SecretId,omitempty"`
	TagKeys  []string `json:"TagKeys,omitempty"`
}

type updateSecretInput struct {
	SecretID           *string `json:"SecretId,omitempty"`
	ClientRequestToken *string `json:"ClientRequestToken,omitempty"`
	Description        *string `json:"Description,omitempty"`
	KmsKeyID           *string `json:"KmsKeyId,omitempty"`
	SecretBinary       []byte  `json:"SecretBinary,omitempty"`
	SecretString       *string `json:"SecretString,omitempty"`
	Type               *string `json:"Type,omitempty"`
}

type updateSecretOutput struct {
	ARN       string `json:"ARN"`
	Name      string `json:"Name"`
	VersionID string `json:"VersionId,omitempty"`
}
