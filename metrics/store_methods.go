// Code in this file is regular Go, first written by a one-off generator over the
// store interfaces; keep it in step with them by hand.

package metrics

import (
	"context"
	"time"

	"github.com/keyless-dev/keyless/store"
)

// storeOp names one store method, the operation label of the store metrics.
type storeOp int

// The instrumented store operations: the methods of store.Store, store.S3Store,
// store.BlobStore, store.SecretStore, store.PipelineVariableStore,
// store.InlineObjectStore and store.OrganizationStore.
const (
	opGetSetting storeOp = iota
	opCreateSetting
	opPutSetting
	opUpdateSetting
	opCreateSigningKey
	opGetSigningKey
	opListSigningKeys
	opUpdateSigningKey
	opDeleteSigningKey
	opCreateWorkspace
	opGetWorkspace
	opListWorkspaces
	opUpdateWorkspace
	opCreateRepository
	opGetRepository
	opListRepositories
	opCreateEnvironment
	opGetEnvironment
	opListEnvironments
	opCreateRunner
	opGetRunner
	opListRunners
	opDeleteRunner
	opCreateOIDCProvider
	opGetOIDCProvider
	opListOIDCProviders
	opUpdateOIDCProvider
	opDeleteOIDCProvider
	opCreateRole
	opGetRole
	opListRoles
	opUpdateRole
	opDeleteRole
	opCreatePolicy
	opGetPolicy
	opListPolicies
	opUpdatePolicy
	opDeletePolicy
	opCreateInstanceProfile
	opGetInstanceProfile
	opListInstanceProfiles
	opUpdateInstanceProfile
	opDeleteInstanceProfile
	opCreateUser
	opGetUser
	opListUsers
	opUpdateUser
	opDeleteUser
	opCreateAccessKey
	opGetAccessKey
	opListAccessKeys
	opUpdateAccessKey
	opDeleteAccessKey
	opAppendAuditEvent
	opAppendAuditEvents
	opListAuditEvents
	opQueryAuditEvents
	opCountAuditEvents
	opPruneAuditEvents
	opSchemaVersion
	opCreateBucket
	opGetBucket
	opListBuckets
	opUpdateBucket
	opDeleteBucket
	opPutObject
	opGetObject
	opUpdateObject
	opDeleteObject
	opScanObjects
	opCreateMultipartUpload
	opGetMultipartUpload
	opListMultipartUploads
	opPutPart
	opListParts
	opCompleteMultipartUpload
	opAbortMultipartUpload
	opPutBlob
	opGetBlob
	opDeleteBlob
	opCreateSecret
	opGetSecret
	opListSecrets
	opUpdateSecret
	opDeleteSecret
	opCreatePipelineVariable
	opGetPipelineVariable
	opListPipelineVariables
	opUpdatePipelineVariable
	opDeletePipelineVariable
	opPutObjectInline
	opObjectData
	opReadObject
	opCreateOrganization
	opGetOrganization
	opGetOrganizationByRoot
	opCreateOrganizationalUnit
	opGetOrganizationalUnit
	opListOrganizationalUnits
	opCreateOrgAccount
	opGetOrgAccount
	opGetOrgAccountByEmail
	opListOrgAccounts
	opUpdateOrgAccount
	opCreateAccountRequest
	opGetAccountRequest
	opCreateHandshake
	opGetHandshake
	opListHandshakes
	opUpdateHandshake
	numStoreOps
)

// storeOpNames are the operation labels, the methods' names.
var storeOpNames = [numStoreOps]string{
	opGetSetting:              "GetSetting",
	opCreateSetting:           "CreateSetting",
	opPutSetting:              "PutSetting",
	opUpdateSetting:           "UpdateSetting",
	opCreateSigningKey:        "CreateSigningKey",
	opGetSigningKey:           "GetSigningKey",
	opListSigningKeys:         "ListSigningKeys",
	opUpdateSigningKey:        "UpdateSigningKey",
	opDeleteSigningKey:        "DeleteSigningKey",
	opCreateWorkspace:         "CreateWorkspace",
	opGetWorkspace:            "GetWorkspace",
	opListWorkspaces:          "ListWorkspaces",
	opUpdateWorkspace:         "UpdateWorkspace",
	opCreateRepository:        "CreateRepository",
	opGetRepository:           "GetRepository",
	opListRepositories:        "ListRepositories",
	opCreateEnvironment:       "CreateEnvironment",
	opGetEnvironment:          "GetEnvironment",
	opListEnvironments:        "ListEnvironments",
	opCreateRunner:            "CreateRunner",
	opGetRunner:               "GetRunner",
	opListRunners:             "ListRunners",
	opDeleteRunner:            "DeleteRunner",
	opCreateOIDCProvider:      "CreateOIDCProvider",
	opGetOIDCProvider:         "GetOIDCProvider",
	opListOIDCProviders:       "ListOIDCProviders",
	opUpdateOIDCProvider:      "UpdateOIDCProvider",
	opDeleteOIDCProvider:      "DeleteOIDCProvider",
	opCreateRole:              "CreateRole",
	opGetRole:                 "GetRole",
	opListRoles:               "ListRoles",
	opUpdateRole:              "UpdateRole",
	opDeleteRole:              "DeleteRole",
	opCreatePolicy:            "CreatePolicy",
	opGetPolicy:               "GetPolicy",
	opListPolicies:            "ListPolicies",
	opUpdatePolicy:            "UpdatePolicy",
	opDeletePolicy:            "DeletePolicy",
	opCreateInstanceProfile:   "CreateInstanceProfile",
	opGetInstanceProfile:      "GetInstanceProfile",
	opListInstanceProfiles:    "ListInstanceProfiles",
	opUpdateInstanceProfile:   "UpdateInstanceProfile",
	opDeleteInstanceProfile:   "DeleteInstanceProfile",
	opCreateUser:              "CreateUser",
	opGetUser:                 "GetUser",
	opListUsers:               "ListUsers",
	opUpdateUser:              "UpdateUser",
	opDeleteUser:              "DeleteUser",
	opCreateAccessKey:         "CreateAccessKey",
	opGetAccessKey:            "GetAccessKey",
	opListAccessKeys:          "ListAccessKeys",
	opUpdateAccessKey:         "UpdateAccessKey",
	opDeleteAccessKey:         "DeleteAccessKey",
	opAppendAuditEvent:        "AppendAuditEvent",
	opAppendAuditEvents:       "AppendAuditEvents",
	opListAuditEvents:         "ListAuditEvents",
	opQueryAuditEvents:        "QueryAuditEvents",
	opCountAuditEvents:        "CountAuditEvents",
	opPruneAuditEvents:        "PruneAuditEvents",
	opSchemaVersion:           "SchemaVersion",
	opCreateBucket:            "CreateBucket",
	opGetBucket:               "GetBucket",
	opListBuckets:             "ListBuckets",
	opUpdateBucket:            "UpdateBucket",
	opDeleteBucket:            "DeleteBucket",
	opPutObject:               "PutObject",
	opGetObject:               "GetObject",
	opUpdateObject:            "UpdateObject",
	opDeleteObject:            "DeleteObject",
	opScanObjects:             "ScanObjects",
	opCreateMultipartUpload:   "CreateMultipartUpload",
	opGetMultipartUpload:      "GetMultipartUpload",
	opListMultipartUploads:    "ListMultipartUploads",
	opPutPart:                 "PutPart",
	opListParts:               "ListParts",
	opCompleteMultipartUpload: "CompleteMultipartUpload",
	opAbortMultipartUpload:    "AbortMultipartUpload",
	opPutBlob:                 "PutBlob",
	opGetBlob:                 "GetBlob",
	opDeleteBlob:              "DeleteBlob",
	opCreateSecret:            "CreateSecret",
	opGetSecret:               "GetSecret",
	opListSecrets:             "ListSecrets",
	opUpdateSecret:            "UpdateSecret",
	opDeleteSecret:            "DeleteSecret",
	opCreatePipelineVariable:  "CreatePipelineVariable",
	opGetPipelineVariable:     "GetPipelineVariable",
	opListPipelineVariables:   "ListPipelineVariables",
	opUpdatePipelineVariable:  "UpdatePipelineVariable",
	opDeletePipelineVariable:  "DeletePipelineVariable",
	opPutObjectInline:         "PutObjectInline",
	opObjectData:              "ObjectData",
	opReadObject:              "ReadObject",

	// store.OrganizationStore
	opCreateOrganization:       "CreateOrganization",
	opGetOrganization:          "GetOrganization",
	opGetOrganizationByRoot:    "GetOrganizationByRoot",
	opCreateOrganizationalUnit: "CreateOrganizationalUnit",
	opGetOrganizationalUnit:    "GetOrganizationalUnit",
	opListOrganizationalUnits:  "ListOrganizationalUnits",
	opCreateOrgAccount:         "CreateOrgAccount",
	opGetOrgAccount:            "GetOrgAccount",
	opGetOrgAccountByEmail:     "GetOrgAccountByEmail",
	opListOrgAccounts:          "ListOrgAccounts",
	opUpdateOrgAccount:         "UpdateOrgAccount",
	opCreateAccountRequest:     "CreateAccountRequest",
	opGetAccountRequest:        "GetAccountRequest",
	opCreateHandshake:          "CreateHandshake",
	opGetHandshake:             "GetHandshake",
	opListHandshakes:           "ListHandshakes",
	opUpdateHandshake:          "UpdateHandshake",
}

// GetSetting implements store.Store.
func (x *instrumented) GetSetting(ctx context.Context, name string) (r0 []byte, err error) {
	defer x.m.observe(opGetSetting, time.Now(), &err, nil)
	return x.Store.GetSetting(ctx, name)
}

// CreateSetting implements store.Store.
func (x *instrumented) CreateSetting(ctx context.Context, name string, value []byte) (err error) {
	defer x.m.observe(opCreateSetting, time.Now(), &err, nil)
	return x.Store.CreateSetting(ctx, name, value)
}

// PutSetting implements store.Store.
func (x *instrumented) PutSetting(ctx context.Context, name string, value []byte) (err error) {
	defer x.m.observe(opPutSetting, time.Now(), &err, nil)
	return x.Store.PutSetting(ctx, name, value)
}

// UpdateSetting implements store.Store.
func (x *instrumented) UpdateSetting(ctx context.Context, name string, fn func([]byte) ([]byte, error)) (err error) {
	var cb callbackErr
	defer x.m.observe(opUpdateSetting, time.Now(), &err, &cb)
	wrapFn := watchUpdate(&cb, fn)
	return x.Store.UpdateSetting(ctx, name, wrapFn)
}

// CreateSigningKey implements store.Store.
func (x *instrumented) CreateSigningKey(ctx context.Context, k store.SigningKey) (err error) {
	defer x.m.observe(opCreateSigningKey, time.Now(), &err, nil)
	return x.Store.CreateSigningKey(ctx, k)
}

// GetSigningKey implements store.Store.
func (x *instrumented) GetSigningKey(ctx context.Context, id string) (r0 store.SigningKey, err error) {
	defer x.m.observe(opGetSigningKey, time.Now(), &err, nil)
	return x.Store.GetSigningKey(ctx, id)
}

// ListSigningKeys implements store.Store.
func (x *instrumented) ListSigningKeys(ctx context.Context) (r0 []store.SigningKey, err error) {
	defer x.m.observe(opListSigningKeys, time.Now(), &err, nil)
	return x.Store.ListSigningKeys(ctx)
}

// UpdateSigningKey implements store.Store.
func (x *instrumented) UpdateSigningKey(ctx context.Context, id string, fn func(store.SigningKey) (store.SigningKey, error)) (err error) {
	var cb callbackErr
	defer x.m.observe(opUpdateSigningKey, time.Now(), &err, &cb)
	wrapFn := watchUpdate(&cb, fn)
	return x.Store.UpdateSigningKey(ctx, id, wrapFn)
}

// DeleteSigningKey implements store.Store.
func (x *instrumented) DeleteSigningKey(ctx context.Context, id string) (err error) {
	defer x.m.observe(opDeleteSigningKey, time.Now(), &err, nil)
	return x.Store.DeleteSigningKey(ctx, id)
}

// CreateWorkspace implements store.Store.
func (x *instrumented) CreateWorkspace(ctx context.Context, w store.Workspace) (err error) {
	defer x.m.observe(opCreateWorkspace, time.Now(), &err, nil)
	return x.Store.CreateWorkspace(ctx, w)
}

// GetWorkspace implements store.Store.
func (x *instrumented) GetWorkspace(ctx context.Context, slug string) (r0 store.Workspace, err error) {
	defer x.m.observe(opGetWorkspace, time.Now(), &err, nil)
	return x.Store.GetWorkspace(ctx, slug)
}

// ListWorkspaces implements store.Store.
func (x *instrumented) ListWorkspaces(ctx context.Context) (r0 []store.Workspace, err error) {
	defer x.m.observe(opListWorkspaces, time.Now(), &err, nil)
	return x.Store.ListWorkspaces(ctx)
}

// UpdateWorkspace implements store.Store.
func (x *instrumented) UpdateWorkspace(ctx context.Context, slug string, fn func(store.Workspace) (store.Workspace, error)) (err error) {
	var cb callbackErr
	defer x.m.observe(opUpdateWorkspace, time.Now(), &err, &cb)
	wrapFn := watchUpdate(&cb, fn)
	return x.Store.UpdateWorkspace(ctx, slug, wrapFn)
}

// CreateRepository implements store.Store.
func (x *instrumented) CreateRepository(ctx context.Context, r store.Repository) (err error) {
	defer x.m.observe(opCreateRepository, time.Now(), &err, nil)
	return x.Store.CreateRepository(ctx, r)
}

// GetRepository implements store.Store.
func (x *instrumented) GetRepository(ctx context.Context, workspace string, slug string) (r0 store.Repository, err error) {
	defer x.m.observe(opGetRepository, time.Now(), &err, nil)
	return x.Store.GetRepository(ctx, workspace, slug)
}

// ListRepositories implements store.Store.
func (x *instrumented) ListRepositories(ctx context.Context, workspace string) (r0 []store.Repository, err error) {
	defer x.m.observe(opListRepositories, time.Now(), &err, nil)
	return x.Store.ListRepositories(ctx, workspace)
}

// CreateEnvironment implements store.Store.
func (x *instrumented) CreateEnvironment(ctx context.Context, e store.Environment) (err error) {
	defer x.m.observe(opCreateEnvironment, time.Now(), &err, nil)
	return x.Store.CreateEnvironment(ctx, e)
}

// GetEnvironment implements store.Store.
func (x *instrumented) GetEnvironment(ctx context.Context, workspace string, repository string, name string) (r0 store.Environment, err error) {
	defer x.m.observe(opGetEnvironment, time.Now(), &err, nil)
	return x.Store.GetEnvironment(ctx, workspace, repository, name)
}

// ListEnvironments implements store.Store.
func (x *instrumented) ListEnvironments(ctx context.Context, workspace string, repository string) (r0 []store.Environment, err error) {
	defer x.m.observe(opListEnvironments, time.Now(), &err, nil)
	return x.Store.ListEnvironments(ctx, workspace, repository)
}

// CreateRunner implements store.Store.
func (x *instrumented) CreateRunner(ctx context.Context, r store.Runner) (err error) {
	defer x.m.observe(opCreateRunner, time.Now(), &err, nil)
	return x.Store.CreateRunner(ctx, r)
}

// GetRunner implements store.Store.
func (x *instrumented) GetRunner(ctx context.Context, id string) (r0 store.Runner, err error) {
	defer x.m.observe(opGetRunner, time.Now(), &err, nil)
	return x.Store.GetRunner(ctx, id)
}

// ListRunners implements store.Store.
func (x *instrumented) ListRunners(ctx context.Context) (r0 []store.Runner, err error) {
	defer x.m.observe(opListRunners, time.Now(), &err, nil)
	return x.Store.ListRunners(ctx)
}

// DeleteRunner implements store.Store.
func (x *instrumented) DeleteRunner(ctx context.Context, id string) (err error) {
	defer x.m.observe(opDeleteRunner, time.Now(), &err, nil)
	return x.Store.DeleteRunner(ctx, id)
}

// CreateOIDCProvider implements store.Store.
func (x *instrumented) CreateOIDCProvider(ctx context.Context, p store.OIDCProvider) (err error) {
	defer x.m.observe(opCreateOIDCProvider, time.Now(), &err, nil)
	return x.Store.CreateOIDCProvider(ctx, p)
}

// GetOIDCProvider implements store.Store.
func (x *instrumented) GetOIDCProvider(ctx context.Context, arn string) (r0 store.OIDCProvider, err error) {
	defer x.m.observe(opGetOIDCProvider, time.Now(), &err, nil)
	return x.Store.GetOIDCProvider(ctx, arn)
}

// ListOIDCProviders implements store.Store.
func (x *instrumented) ListOIDCProviders(ctx context.Context) (r0 []store.OIDCProvider, err error) {
	defer x.m.observe(opListOIDCProviders, time.Now(), &err, nil)
	return x.Store.ListOIDCProviders(ctx)
}

// UpdateOIDCProvider implements store.Store.
func (x *instrumented) UpdateOIDCProvider(ctx context.Context, arn string, fn func(store.OIDCProvider) (store.OIDCProvider, error)) (err error) {
	var cb callbackErr
	defer x.m.observe(opUpdateOIDCProvider, time.Now(), &err, &cb)
	wrapFn := watchUpdate(&cb, fn)
	return x.Store.UpdateOIDCProvider(ctx, arn, wrapFn)
}

// DeleteOIDCProvider implements store.Store.
func (x *instrumented) DeleteOIDCProvider(ctx context.Context, arn string) (err error) {
	defer x.m.observe(opDeleteOIDCProvider, time.Now(), &err, nil)
	return x.Store.DeleteOIDCProvider(ctx, arn)
}

// CreateRole implements store.Store.
func (x *instrumented) CreateRole(ctx context.Context, r store.Role) (err error) {
	defer x.m.observe(opCreateRole, time.Now(), &err, nil)
	return x.Store.CreateRole(ctx, r)
}

// GetRole implements store.Store.
func (x *instrumented) GetRole(ctx context.Context, name string) (r0 store.Role, err error) {
	defer x.m.observe(opGetRole, time.Now(), &err, nil)
	return x.Store.GetRole(ctx, name)
}

// ListRoles implements store.Store.
func (x *instrumented) ListRoles(ctx context.Context) (r0 []store.Role, err error) {
	defer x.m.observe(opListRoles, time.Now(), &err, nil)
	return x.Store.ListRoles(ctx)
}

// UpdateRole implements store.Store.
func (x *instrumented) UpdateRole(ctx context.Context, name string, fn func(store.Role) (store.Role, error)) (err error) {
	var cb callbackErr
	defer x.m.observe(opUpdateRole, time.Now(), &err, &cb)
	wrapFn := watchUpdate(&cb, fn)
	return x.Store.UpdateRole(ctx, name, wrapFn)
}

// DeleteRole implements store.Store.
func (x *instrumented) DeleteRole(ctx context.Context, name string) (err error) {
	defer x.m.observe(opDeleteRole, time.Now(), &err, nil)
	return x.Store.DeleteRole(ctx, name)
}

// CreatePolicy implements store.Store.
func (x *instrumented) CreatePolicy(ctx context.Context, p store.ManagedPolicy) (err error) {
	defer x.m.observe(opCreatePolicy, time.Now(), &err, nil)
	return x.Store.CreatePolicy(ctx, p)
}

// GetPolicy implements store.Store.
func (x *instrumented) GetPolicy(ctx context.Context, arn string) (r0 store.ManagedPolicy, err error) {
	defer x.m.observe(opGetPolicy, time.Now(), &err, nil)
	return x.Store.GetPolicy(ctx, arn)
}

// ListPolicies implements store.Store.
func (x *instrumented) ListPolicies(ctx context.Context) (r0 []store.ManagedPolicy, err error) {
	defer x.m.observe(opListPolicies, time.Now(), &err, nil)
	return x.Store.ListPolicies(ctx)
}

// UpdatePolicy implements store.Store.
func (x *instrumented) UpdatePolicy(ctx context.Context, arn string, fn func(store.ManagedPolicy) (store.ManagedPolicy, error)) (err error) {
	var cb callbackErr
	defer x.m.observe(opUpdatePolicy, time.Now(), &err, &cb)
	wrapFn := watchUpdate(&cb, fn)
	return x.Store.UpdatePolicy(ctx, arn, wrapFn)
}

// DeletePolicy implements store.Store.
func (x *instrumented) DeletePolicy(ctx context.Context, arn string) (err error) {
	defer x.m.observe(opDeletePolicy, time.Now(), &err, nil)
	return x.Store.DeletePolicy(ctx, arn)
}

// CreateInstanceProfile implements store.Store.
func (x *instrumented) CreateInstanceProfile(ctx context.Context, p store.InstanceProfile) (err error) {
	defer x.m.observe(opCreateInstanceProfile, time.Now(), &err, nil)
	return x.Store.CreateInstanceProfile(ctx, p)
}

// GetInstanceProfile implements store.Store.
func (x *instrumented) GetInstanceProfile(ctx context.Context, name string) (r0 store.InstanceProfile, err error) {
	defer x.m.observe(opGetInstanceProfile, time.Now(), &err, nil)
	return x.Store.GetInstanceProfile(ctx, name)
}

// ListInstanceProfiles implements store.Store.
func (x *instrumented) ListInstanceProfiles(ctx context.Context) (r0 []store.InstanceProfile, err error) {
	defer x.m.observe(opListInstanceProfiles, time.Now(), &err, nil)
	return x.Store.ListInstanceProfiles(ctx)
}

// UpdateInstanceProfile implements store.Store.
func (x *instrumented) UpdateInstanceProfile(ctx context.Context, name string, fn func(store.InstanceProfile) (store.InstanceProfile, error)) (err error) {
	var cb callbackErr
	defer x.m.observe(opUpdateInstanceProfile, time.Now(), &err, &cb)
	wrapFn := watchUpdate(&cb, fn)
	return x.Store.UpdateInstanceProfile(ctx, name, wrapFn)
}

// DeleteInstanceProfile implements store.Store.
func (x *instrumented) DeleteInstanceProfile(ctx context.Context, name string) (err error) {
	defer x.m.observe(opDeleteInstanceProfile, time.Now(), &err, nil)
	return x.Store.DeleteInstanceProfile(ctx, name)
}

// CreateUser implements store.Store.
func (x *instrumented) CreateUser(ctx context.Context, u store.User) (err error) {
	defer x.m.observe(opCreateUser, time.Now(), &err, nil)
	return x.Store.CreateUser(ctx, u)
}

// GetUser implements store.Store.
func (x *instrumented) GetUser(ctx context.Context, name string) (r0 store.User, err error) {
	defer x.m.observe(opGetUser, time.Now(), &err, nil)
	return x.Store.GetUser(ctx, name)
}

// ListUsers implements store.Store.
func (x *instrumented) ListUsers(ctx context.Context) (r0 []store.User, err error) {
	defer x.m.observe(opListUsers, time.Now(), &err, nil)
	return x.Store.ListUsers(ctx)
}

// UpdateUser implements store.Store.
func (x *instrumented) UpdateUser(ctx context.Context, name string, fn func(store.User) (store.User, error)) (err error) {
	var cb callbackErr
	defer x.m.observe(opUpdateUser, time.Now(), &err, &cb)
	wrapFn := watchUpdate(&cb, fn)
	return x.Store.UpdateUser(ctx, name, wrapFn)
}

// DeleteUser implements store.Store.
func (x *instrumented) DeleteUser(ctx context.Context, name string) (err error) {
	defer x.m.observe(opDeleteUser, time.Now(), &err, nil)
	return x.Store.DeleteUser(ctx, name)
}

// CreateAccessKey implements store.Store.
func (x *instrumented) CreateAccessKey(ctx context.Context, k store.AccessKey) (err error) {
	defer x.m.observe(opCreateAccessKey, time.Now(), &err, nil)
	return x.Store.CreateAccessKey(ctx, k)
}

// GetAccessKey implements store.Store.
func (x *instrumented) GetAccessKey(ctx context.Context, id string) (r0 store.AccessKey, err error) {
	defer x.m.observe(opGetAccessKey, time.Now(), &err, nil)
	return x.Store.GetAccessKey(ctx, id)
}

// ListAccessKeys implements store.Store.
func (x *instrumented) ListAccessKeys(ctx context.Context, userName string) (r0 []store.AccessKey, err error) {
	defer x.m.observe(opListAccessKeys, time.Now(), &err, nil)
	return x.Store.ListAccessKeys(ctx, userName)
}

// UpdateAccessKey implements store.Store.
func (x *instrumented) UpdateAccessKey(ctx context.Context, id string, fn func(store.AccessKey) (store.AccessKey, error)) (err error) {
	var cb callbackErr
	defer x.m.observe(opUpdateAccessKey, time.Now(), &err, &cb)
	wrapFn := watchUpdate(&cb, fn)
	return x.Store.UpdateAccessKey(ctx, id, wrapFn)
}

// DeleteAccessKey implements store.Store.
func (x *instrumented) DeleteAccessKey(ctx context.Context, id string) (err error) {
	defer x.m.observe(opDeleteAccessKey, time.Now(), &err, nil)
	return x.Store.DeleteAccessKey(ctx, id)
}

// AppendAuditEvent implements store.Store.
func (x *instrumented) AppendAuditEvent(ctx context.Context, e store.AuditEvent) (err error) {
	defer x.m.observe(opAppendAuditEvent, time.Now(), &err, nil)
	return x.Store.AppendAuditEvent(ctx, e)
}

// AppendAuditEvents implements store.Store.
func (x *instrumented) AppendAuditEvents(ctx context.Context, events []store.AuditEvent) (err error) {
	defer x.m.observe(opAppendAuditEvents, time.Now(), &err, nil)
	return x.Store.AppendAuditEvents(ctx, events)
}

// ListAuditEvents implements store.Store.
func (x *instrumented) ListAuditEvents(ctx context.Context, since time.Time, limit int) (r0 []store.AuditEvent, err error) {
	defer x.m.observe(opListAuditEvents, time.Now(), &err, nil)
	return x.Store.ListAuditEvents(ctx, since, limit)
}

// QueryAuditEvents implements store.Store.
func (x *instrumented) QueryAuditEvents(ctx context.Context, q store.AuditQuery) (r0 []store.AuditEvent, err error) {
	defer x.m.observe(opQueryAuditEvents, time.Now(), &err, nil)
	return x.Store.QueryAuditEvents(ctx, q)
}

// CountAuditEvents implements store.Store.
func (x *instrumented) CountAuditEvents(ctx context.Context, q store.AuditQuery, step time.Duration) (r0 []store.AuditCount, err error) {
	defer x.m.observe(opCountAuditEvents, time.Now(), &err, nil)
	return x.Store.CountAuditEvents(ctx, q, step)
}

// PruneAuditEvents implements store.Store.
func (x *instrumented) PruneAuditEvents(ctx context.Context, p store.AuditPrune) (r0 int, err error) {
	defer x.m.observe(opPruneAuditEvents, time.Now(), &err, nil)
	return x.Store.PruneAuditEvents(ctx, p)
}

// SchemaVersion implements store.Store.
func (x *instrumented) SchemaVersion(ctx context.Context) (r0 int, err error) {
	defer x.m.observe(opSchemaVersion, time.Now(), &err, nil)
	return x.Store.SchemaVersion(ctx)
}

// CreateBucket implements store.S3Store.
func (x *instrumentedFull) CreateBucket(ctx context.Context, b store.Bucket) (err error) {
	defer x.m.observe(opCreateBucket, time.Now(), &err, nil)
	return x.s3.CreateBucket(ctx, b)
}

// GetBucket implements store.S3Store.
func (x *instrumentedFull) GetBucket(ctx context.Context, name string) (r0 store.Bucket, err error) {
	defer x.m.observe(opGetBucket, time.Now(), &err, nil)
	return x.s3.GetBucket(ctx, name)
}

// ListBuckets implements store.S3Store.
func (x *instrumentedFull) ListBuckets(ctx context.Context) (r0 []store.Bucket, err error) {
	defer x.m.observe(opListBuckets, time.Now(), &err, nil)
	return x.s3.ListBuckets(ctx)
}

// UpdateBucket implements store.S3Store.
func (x *instrumentedFull) UpdateBucket(ctx context.Context, name string, fn func(store.Bucket) (store.Bucket, error)) (err error) {
	var cb callbackErr
	defer x.m.observe(opUpdateBucket, time.Now(), &err, &cb)
	wrapFn := watchUpdate(&cb, fn)
	return x.s3.UpdateBucket(ctx, name, wrapFn)
}

// DeleteBucket implements store.S3Store.
func (x *instrumentedFull) DeleteBucket(ctx context.Context, name string) (r0 []store.Part, err error) {
	defer x.m.observe(opDeleteBucket, time.Now(), &err, nil)
	return x.s3.DeleteBucket(ctx, name)
}

// PutObject implements store.S3Store.
func (x *instrumentedFull) PutObject(ctx context.Context, o store.Object, cond func(cur *store.Object) error) (r0 *store.Object, err error) {
	var cb callbackErr
	defer x.m.observe(opPutObject, time.Now(), &err, &cb)
	wrapCond := watchCond(&cb, cond)
	return x.s3.PutObject(ctx, o, wrapCond)
}

// GetObject implements store.S3Store.
func (x *instrumentedFull) GetObject(ctx context.Context, bucket string, key string) (r0 store.Object, err error) {
	defer x.m.observe(opGetObject, time.Now(), &err, nil)
	return x.s3.GetObject(ctx, bucket, key)
}

// UpdateObject implements store.S3Store.
func (x *instrumentedFull) UpdateObject(ctx context.Context, bucket string, key string, fn func(store.Object) (store.Object, error)) (err error) {
	var cb callbackErr
	defer x.m.observe(opUpdateObject, time.Now(), &err, &cb)
	wrapFn := watchUpdate(&cb, fn)
	return x.s3.UpdateObject(ctx, bucket, key, wrapFn)
}

// DeleteObject implements store.S3Store.
func (x *instrumentedFull) DeleteObject(ctx context.Context, bucket string, key string, cond func(cur store.Object) error) (r0 store.Object, err error) {
	var cb callbackErr
	defer x.m.observe(opDeleteObject, time.Now(), &err, &cb)
	wrapCond := watchCond(&cb, cond)
	return x.s3.DeleteObject(ctx, bucket, key, wrapCond)
}

// ScanObjects implements store.S3Store.
func (x *instrumentedFull) ScanObjects(ctx context.Context, bucket string, r store.KeyRange, limit int) (r0 []store.Object, err error) {
	defer x.m.observe(opScanObjects, time.Now(), &err, nil)
	return x.s3.ScanObjects(ctx, bucket, r, limit)
}

// CreateMultipartUpload implements store.S3Store.
func (x *instrumentedFull) CreateMultipartUpload(ctx context.Context, u store.MultipartUpload) (err error) {
	defer x.m.observe(opCreateMultipartUpload, time.Now(), &err, nil)
	return x.s3.CreateMultipartUpload(ctx, u)
}

// GetMultipartUpload implements store.S3Store.
func (x *instrumentedFull) GetMultipartUpload(ctx context.Context, bucket string, key string, uploadID string) (r0 store.MultipartUpload, err error) {
	defer x.m.observe(opGetMultipartUpload, time.Now(), &err, nil)
	return x.s3.GetMultipartUpload(ctx, bucket, key, uploadID)
}

// ListMultipartUploads implements store.S3Store.
func (x *instrumentedFull) ListMultipartUploads(ctx context.Context, bucket string, prefix string) (r0 []store.MultipartUpload, err error) {
	defer x.m.observe(opListMultipartUploads, time.Now(), &err, nil)
	return x.s3.ListMultipartUploads(ctx, bucket, prefix)
}

// PutPart implements store.S3Store.
func (x *instrumentedFull) PutPart(ctx context.Context, p store.Part) (r0 *store.Part, err error) {
	defer x.m.observe(opPutPart, time.Now(), &err, nil)
	return x.s3.PutPart(ctx, p)
}

// ListParts implements store.S3Store.
func (x *instrumentedFull) ListParts(ctx context.Context, uploadID string) (r0 []store.Part, err error) {
	defer x.m.observe(opListParts, time.Now(), &err, nil)
	return x.s3.ListParts(ctx, uploadID)
}

// CompleteMultipartUpload implements store.S3Store.
func (x *instrumentedFull) CompleteMultipartUpload(ctx context.Context, uploadID string, o store.Object, cond func(cur *store.Object) error) (r0 *store.Object, r1 []store.Part, err error) {
	var cb callbackErr
	defer x.m.observe(opCompleteMultipartUpload, time.Now(), &err, &cb)
	wrapCond := watchCond(&cb, cond)
	return x.s3.CompleteMultipartUpload(ctx, uploadID, o, wrapCond)
}

// AbortMultipartUpload implements store.S3Store.
func (x *instrumentedFull) AbortMultipartUpload(ctx context.Context, bucket string, key string, uploadID string) (r0 []store.Part, err error) {
	defer x.m.observe(opAbortMultipartUpload, time.Now(), &err, nil)
	return x.s3.AbortMultipartUpload(ctx, bucket, key, uploadID)
}

// PutBlob implements store.BlobStore.
func (x *instrumentedFull) PutBlob(ctx context.Context, key string, data []byte) (err error) {
	defer x.m.observe(opPutBlob, time.Now(), &err, nil)
	return x.blobs.PutBlob(ctx, key, data)
}

// GetBlob implements store.BlobStore.
func (x *instrumentedFull) GetBlob(ctx context.Context, key string) (r0 []byte, err error) {
	defer x.m.observe(opGetBlob, time.Now(), &err, nil)
	return x.blobs.GetBlob(ctx, key)
}

// DeleteBlob implements store.BlobStore.
func (x *instrumentedFull) DeleteBlob(ctx context.Context, key string) (err error) {
	defer x.m.observe(opDeleteBlob, time.Now(), &err, nil)
	return x.blobs.DeleteBlob(ctx, key)
}

// CreateSecret implements store.SecretStore.
func (x *instrumentedFull) CreateSecret(ctx context.Context, s store.Secret) (err error) {
	defer x.m.observe(opCreateSecret, time.Now(), &err, nil)
	return x.secrets.CreateSecret(ctx, s)
}

// GetSecret implements store.SecretStore.
func (x *instrumentedFull) GetSecret(ctx context.Context, name string) (r0 store.Secret, err error) {
	defer x.m.observe(opGetSecret, time.Now(), &err, nil)
	return x.secrets.GetSecret(ctx, name)
}

// ListSecrets implements store.SecretStore.
func (x *instrumentedFull) ListSecrets(ctx context.Context) (r0 []store.Secret, err error) {
	defer x.m.observe(opListSecrets, time.Now(), &err, nil)
	return x.secrets.ListSecrets(ctx)
}

// UpdateSecret implements store.SecretStore.
func (x *instrumentedFull) UpdateSecret(ctx context.Context, name string, fn func(store.Secret) (store.Secret, error)) (err error) {
	var cb callbackErr
	defer x.m.observe(opUpdateSecret, time.Now(), &err, &cb)
	wrapFn := watchUpdate(&cb, fn)
	return x.secrets.UpdateSecret(ctx, name, wrapFn)
}

// DeleteSecret implements store.SecretStore.
func (x *instrumentedFull) DeleteSecret(ctx context.Context, name string) (err error) {
	defer x.m.observe(opDeleteSecret, time.Now(), &err, nil)
	return x.secrets.DeleteSecret(ctx, name)
}

// CreatePipelineVariable implements store.PipelineVariableStore.
func (x *instrumentedFull) CreatePipelineVariable(ctx context.Context, v store.PipelineVariable) (err error) {
	defer x.m.observe(opCreatePipelineVariable, time.Now(), &err, nil)
	return x.vars.CreatePipelineVariable(ctx, v)
}

// GetPipelineVariable implements store.PipelineVariableStore.
func (x *instrumentedFull) GetPipelineVariable(ctx context.Context, scope store.VariableScope, id string) (r0 store.PipelineVariable, err error) {
	defer x.m.observe(opGetPipelineVariable, time.Now(), &err, nil)
	return x.vars.GetPipelineVariable(ctx, scope, id)
}

// ListPipelineVariables implements store.PipelineVariableStore.
func (x *instrumentedFull) ListPipelineVariables(ctx context.Context, scope store.VariableScope) (r0 []store.PipelineVariable, err error) {
	defer x.m.observe(opListPipelineVariables, time.Now(), &err, nil)
	return x.vars.ListPipelineVariables(ctx, scope)
}

// UpdatePipelineVariable implements store.PipelineVariableStore.
func (x *instrumentedFull) UpdatePipelineVariable(ctx context.Context, scope store.VariableScope, id string, fn func(store.PipelineVariable) (store.PipelineVariable, error)) (err error) {
	var cb callbackErr
	defer x.m.observe(opUpdatePipelineVariable, time.Now(), &err, &cb)
	wrapFn := watchUpdate(&cb, fn)
	return x.vars.UpdatePipelineVariable(ctx, scope, id, wrapFn)
}

// DeletePipelineVariable implements store.PipelineVariableStore.
func (x *instrumentedFull) DeletePipelineVariable(ctx context.Context, scope store.VariableScope, id string) (err error) {
	defer x.m.observe(opDeletePipelineVariable, time.Now(), &err, nil)
	return x.vars.DeletePipelineVariable(ctx, scope, id)
}

// PutObjectInline implements store.InlineObjectStore.
func (x *instrumentedInline) PutObjectInline(ctx context.Context, o store.Object, data []byte, cond func(cur *store.Object) error) (r0 *store.Object, r1 bool, err error) {
	var cb callbackErr
	defer x.m.observe(opPutObjectInline, time.Now(), &err, &cb)
	wrapCond := watchCond(&cb, cond)
	return x.inline.PutObjectInline(ctx, o, data, wrapCond)
}

// ReadObject implements store.InlineObjectStore.
func (x *instrumentedInline) ReadObject(ctx context.Context, bucket, key string) (r0 store.Object, r1 []byte, err error) {
	defer x.m.observe(opReadObject, time.Now(), &err, nil)
	return x.inline.ReadObject(ctx, bucket, key)
}

// ObjectData implements store.InlineObjectStore.
func (x *instrumentedInline) ObjectData(ctx context.Context, bucket, key, blobID string) (r0 []byte, err error) {
	defer x.m.observe(opObjectData, time.Now(), &err, nil)
	return x.inline.ObjectData(ctx, bucket, key, blobID)
}

// CreateOrganization implements store.OrganizationStore.
func (x *instrumentedOrgs) CreateOrganization(ctx context.Context, o store.Organization, management store.OrgAccount) (err error) {
	defer x.m.observe(opCreateOrganization, time.Now(), &err, nil)
	return x.orgs.CreateOrganization(ctx, o, management)
}

// GetOrganization implements store.OrganizationStore.
func (x *instrumentedOrgs) GetOrganization(ctx context.Context, id string) (r0 store.Organization, err error) {
	defer x.m.observe(opGetOrganization, time.Now(), &err, nil)
	return x.orgs.GetOrganization(ctx, id)
}

// GetOrganizationByRoot implements store.OrganizationStore.
func (x *instrumentedOrgs) GetOrganizationByRoot(ctx context.Context, rootID string) (r0 store.Organization, err error) {
	defer x.m.observe(opGetOrganizationByRoot, time.Now(), &err, nil)
	return x.orgs.GetOrganizationByRoot(ctx, rootID)
}

// CreateOrganizationalUnit implements store.OrganizationStore.
func (x *instrumentedOrgs) CreateOrganizationalUnit(ctx context.Context, ou store.OrganizationalUnit) (err error) {
	defer x.m.observe(opCreateOrganizationalUnit, time.Now(), &err, nil)
	return x.orgs.CreateOrganizationalUnit(ctx, ou)
}

// GetOrganizationalUnit implements store.OrganizationStore.
func (x *instrumentedOrgs) GetOrganizationalUnit(ctx context.Context, id string) (r0 store.OrganizationalUnit, err error) {
	defer x.m.observe(opGetOrganizationalUnit, time.Now(), &err, nil)
	return x.orgs.GetOrganizationalUnit(ctx, id)
}

// ListOrganizationalUnits implements store.OrganizationStore.
func (x *instrumentedOrgs) ListOrganizationalUnits(ctx context.Context, parentID string) (r0 []store.OrganizationalUnit, err error) {
	defer x.m.observe(opListOrganizationalUnits, time.Now(), &err, nil)
	return x.orgs.ListOrganizationalUnits(ctx, parentID)
}

// CreateOrgAccount implements store.OrganizationStore.
func (x *instrumentedOrgs) CreateOrgAccount(ctx context.Context, a store.OrgAccount, req store.CreateAccountStatus) (err error) {
	defer x.m.observe(opCreateOrgAccount, time.Now(), &err, nil)
	return x.orgs.CreateOrgAccount(ctx, a, req)
}

// GetOrgAccount implements store.OrganizationStore.
func (x *instrumentedOrgs) GetOrgAccount(ctx context.Context, id string) (r0 store.OrgAccount, err error) {
	defer x.m.observe(opGetOrgAccount, time.Now(), &err, nil)
	return x.orgs.GetOrgAccount(ctx, id)
}

// GetOrgAccountByEmail implements store.OrganizationStore.
func (x *instrumentedOrgs) GetOrgAccountByEmail(ctx context.Context, email string) (r0 store.OrgAccount, err error) {
	defer x.m.observe(opGetOrgAccountByEmail, time.Now(), &err, nil)
	return x.orgs.GetOrgAccountByEmail(ctx, email)
}

// ListOrgAccounts implements store.OrganizationStore.
func (x *instrumentedOrgs) ListOrgAccounts(ctx context.Context, orgID, parentID string) (r0 []store.OrgAccount, err error) {
	defer x.m.observe(opListOrgAccounts, time.Now(), &err, nil)
	return x.orgs.ListOrgAccounts(ctx, orgID, parentID)
}

// UpdateOrgAccount implements store.OrganizationStore.
func (x *instrumentedOrgs) UpdateOrgAccount(ctx context.Context, id string, fn func(store.OrgAccount) (store.OrgAccount, error)) (err error) {
	var cb callbackErr
	defer x.m.observe(opUpdateOrgAccount, time.Now(), &err, &cb)
	wrapFn := watchUpdate(&cb, fn)
	return x.orgs.UpdateOrgAccount(ctx, id, wrapFn)
}

// CreateAccountRequest implements store.OrganizationStore.
func (x *instrumentedOrgs) CreateAccountRequest(ctx context.Context, req store.CreateAccountStatus) (err error) {
	defer x.m.observe(opCreateAccountRequest, time.Now(), &err, nil)
	return x.orgs.CreateAccountRequest(ctx, req)
}

// GetAccountRequest implements store.OrganizationStore.
func (x *instrumentedOrgs) GetAccountRequest(ctx context.Context, id string) (r0 store.CreateAccountStatus, err error) {
	defer x.m.observe(opGetAccountRequest, time.Now(), &err, nil)
	return x.orgs.GetAccountRequest(ctx, id)
}

// CreateHandshake implements store.OrganizationStore.
func (x *instrumentedOrgs) CreateHandshake(ctx context.Context, h store.Handshake) (err error) {
	defer x.m.observe(opCreateHandshake, time.Now(), &err, nil)
	return x.orgs.CreateHandshake(ctx, h)
}

// GetHandshake implements store.OrganizationStore.
func (x *instrumentedOrgs) GetHandshake(ctx context.Context, id string) (r0 store.Handshake, err error) {
	defer x.m.observe(opGetHandshake, time.Now(), &err, nil)
	return x.orgs.GetHandshake(ctx, id)
}

// ListHandshakes implements store.OrganizationStore.
func (x *instrumentedOrgs) ListHandshakes(ctx context.Context, orgID, targetID string) (r0 []store.Handshake, err error) {
	defer x.m.observe(opListHandshakes, time.Now(), &err, nil)
	return x.orgs.ListHandshakes(ctx, orgID, targetID)
}

// UpdateHandshake implements store.OrganizationStore.
func (x *instrumentedOrgs) UpdateHandshake(ctx context.Context, id string, fn func(store.Handshake) (store.Handshake, *store.OrgAccount, error)) (err error) {
	defer x.m.observe(opUpdateHandshake, time.Now(), &err, nil)
	return x.orgs.UpdateHandshake(ctx, id, fn)
}
