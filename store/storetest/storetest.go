// Package storetest is the conformance suite every store.Store backend must pass.
//
// A backend's test calls Run with a function that opens a fresh, empty, migrated store;
// Run calls it once per subtest and closes the store when the subtest ends; and
// RunOpenExisting with the backend's openings by location, to check the opening that
// never creates a store. The suite pins down the contract the interface comments leave
// open:
//
//   - Times read back in UTC, truncated to the microsecond; the zero time reads back
//     as the zero time.
//   - Empty slices, maps and byte slices read back as nil.
//   - Role, user and instance profile names are unique case-insensitively and
//     case-preserving: GetRole("MYROLE") finds the role created as "myRole" and
//     reports Name "myRole".
//   - Lists: workspaces and repositories by slug, environments by name, runners by
//     name then ID, OIDC providers and policies by ARN, roles, users and instance
//     profiles by lower-cased name, signing keys and access keys by creation time
//     then ID. Audit events newest
//     first, ties broken by append order (last appended first); a batch
//     (AppendAuditEvents) appends in slice order, atomically. QueryAuditEvents
//     filters, orders and pages by keyset without skipping or repeating an event;
//     PruneAuditEvents deletes by age and count in limited batches, never the
//     newest event (audit.go).
//   - An Update callback's error is returned (wrapped) and nothing changes; the callback
//     may change the key, which renames the record (store.ErrAlreadyExists if taken).
//   - Deleting a user deletes its access keys; GetAccessKey reports the user's current
//     name. Creating a repository, environment or access key whose parent does not
//     exist fails with store.ErrNotFound.
//   - Missing records give store.ErrNotFound; duplicate keys store.ErrAlreadyExists,
//     both possibly wrapped.
//
// RunS3 (s3.go) is the suite of store.S3Store, the local S3 service's metadata.
package storetest

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/keyless-dev/keyless/store"
)

// Run runs the conformance suite. open must return a new, empty store for each call.
func Run(t *testing.T, open func(t *testing.T) store.Store) {
	t.Helper()
	tests := []struct {
		name string
		fn   func(t *testing.T, s store.Store)
	}{
		{"SchemaVersion", testSchemaVersion},
		{"Settings", testSettings},
		{"SettingUpdates", testSettingUpdates},
		{"SigningKeys", testSigningKeys},
		{"Workspaces", testWorkspaces},
		{"RepositoriesAndEnvironments", testRepositoriesAndEnvironments},
		{"Runners", testRunners},
		{"OIDCProviders", testOIDCProviders},
		{"Roles", testRoles},
		{"RoleNamesCaseInsensitive", testRoleNamesCaseInsensitive},
		{"RoleRename", testRoleRename},
		{"Policies", testPolicies},
		{"PolicyVersions", testPolicyVersions},
		{"InstanceProfiles", testInstanceProfiles},
		{"Users", testUsers},
		{"AccessKeys", testAccessKeys},
		{"UserRenameAndCascade", testUserRenameAndCascade},
		{"UpdateCallbackErrorAborts", testUpdateCallbackErrorAborts},
		{"ConcurrentUpdates", testConcurrentUpdates},
		{"AuditEvents", testAuditEvents},
		{"AuditEventBatches", testAuditEventBatches},
		{"AuditQuery", testAuditQuery},
		{"AuditCount", testAuditCount},
		{"AuditPrune", testAuditPrune},
		{"TimePrecision", testTimePrecision},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := open(t)
			t.Cleanup(func() {
				if err := s.Close(); err != nil {
					t.Errorf("Close: %v", err)
				}
			})
			tc.fn(t, s)
		})
	}
}

// Backend opens a backend's stores by location (a file path, a DSN), for
// RunOpenExisting.
type Backend struct {
	// Empty returns a new location that holds no store.
	Empty func(t *testing.T) string
	// Open opens the store at a location, creating and migrating it.
	Open func(ctx context.Context, location string) (store.Store, error)
	// OpenExisting opens the store at a location without creating or migrating it.
	OpenExisting func(ctx context.Context, location string) (store.Store, error)
}

// RunOpenExisting checks a backend's OpenExisting, the opening of commands that must
// not create a store: where there is none it fails with an error wrapping
// store.ErrNoStore, and again on a second try (the first created nothing that
// counts), after which Open still creates the store there; a store Open made opens
// with its data and schema version, for reads and writes.
func RunOpenExisting(t *testing.T, b Backend) {
	t.Helper()
	t.Run("NoStore", func(t *testing.T) {
		loc := b.Empty(t)
		for try := 1; try <= 2; try++ {
			s, err := b.OpenExisting(t.Context(), loc)
			if !errors.Is(err, store.ErrNoStore) {
				if s != nil {
					_ = s.Close()
				}
				t.Fatalf("OpenExisting of an empty location (try %d): err = %v, want ErrNoStore", try, err)
			}
		}
		s, err := b.Open(t.Context(), loc)
		if err != nil {
			t.Fatalf("Open after a refused OpenExisting: %v", err)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("Existing", func(t *testing.T) {
		ctx := t.Context()
		loc := b.Empty(t)
		s, err := b.Open(ctx, loc)
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		version, err := s.SchemaVersion(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.CreateSetting(ctx, "kept", []byte("v")); err != nil {
			t.Fatal(err)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		s, err = b.OpenExisting(ctx, loc)
		if err != nil {
			t.Fatalf("OpenExisting of a store Open made: %v", err)
		}
		defer func() { _ = s.Close() }()
		if v, err := s.SchemaVersion(ctx); err != nil || v != version {
			t.Errorf("SchemaVersion = %d, %v; want %d", v, err, version)
		}
		if v, err := s.GetSetting(ctx, "kept"); err != nil || string(v) != "v" {
			t.Errorf("GetSetting = %q, %v; want the value stored before", v, err)
		}
		if err := s.PutSetting(ctx, "written", []byte("w")); err != nil {
			t.Errorf("PutSetting on an existing store: %v", err)
		}
	})
}

// base is a fixed time with nanoseconds and a non-UTC zone, so the suite checks that
// backends normalise both.
var base = time.Date(2025, 3, 14, 15, 9, 26, 535897932, time.FixedZone("X", 5*3600+30*60))

// at returns base plus d.
func at(d time.Duration) time.Time { return base.Add(d) }

// norm is the time as a backend returns it.
func norm(t time.Time) time.Time {
	if t.IsZero() {
		return time.Time{}
	}
	return t.Truncate(time.Microsecond).UTC()
}

func nilBytes(b []byte) []byte {
	if len(b) == 0 {
		return nil
	}
	return b
}

func nilSlice[E any](v []E) []E {
	if len(v) == 0 {
		return nil
	}
	return v
}

func nilMap(m map[string]string) map[string]string {
	if len(m) == 0 {
		return nil
	}
	return m
}

// want returns v as a backend must read it back: times normalised, empty collections nil.
func want[T any](v T) T {
	switch x := any(&v).(type) {
	case *store.SigningKey:
		x.PrivateKey, x.PublicJWK = nilBytes(x.PrivateKey), nilBytes(x.PublicJWK)
		x.CreatedAt, x.ActivatedAt, x.RetiredAt, x.NotAfter = norm(x.CreatedAt), norm(x.ActivatedAt), norm(x.RetiredAt), norm(x.NotAfter)
	case *store.Workspace:
		x.CreatedAt = norm(x.CreatedAt)
	case *store.Repository:
		x.CreatedAt = norm(x.CreatedAt)
	case *store.Environment:
		x.CreatedAt = norm(x.CreatedAt)
	case *store.Runner:
		x.SecretHash, x.Workspaces, x.CreatedAt = nilBytes(x.SecretHash), nilSlice(x.Workspaces), norm(x.CreatedAt)
	case *store.OIDCProvider:
		x.ClientIDs, x.Thumbprints, x.Tags = nilSlice(x.ClientIDs), nilSlice(x.Thumbprints), nilSlice(x.Tags)
		x.CreatedAt = norm(x.CreatedAt)
	case *store.Role:
		x.Tags, x.InlinePolicies, x.AttachedPolicies = nilSlice(x.Tags), nilMap(x.InlinePolicies), nilSlice(x.AttachedPolicies)
		x.CreatedAt, x.LastUsedAt = norm(x.CreatedAt), norm(x.LastUsedAt)
	case *store.ManagedPolicy:
		x.Tags, x.CreatedAt, x.UpdatedAt = nilSlice(x.Tags), norm(x.CreatedAt), norm(x.UpdatedAt)
		if len(x.Versions) == 0 {
			x.Versions = nil
		} else {
			vs := make([]store.PolicyVersion, len(x.Versions))
			for i, v := range x.Versions {
				vs[i] = store.PolicyVersion{ID: v.ID, Document: v.Document, CreatedAt: norm(v.CreatedAt)}
			}
			x.Versions = vs
		}
	case *store.InstanceProfile:
		x.Roles, x.Tags, x.CreatedAt = nilSlice(x.Roles), nilSlice(x.Tags), norm(x.CreatedAt)
	case *store.User:
		x.Tags, x.InlinePolicies, x.AttachedPolicies = nilSlice(x.Tags), nilMap(x.InlinePolicies), nilSlice(x.AttachedPolicies)
		x.CreatedAt = norm(x.CreatedAt)
	case *store.AccessKey:
		x.Secret, x.CreatedAt, x.LastUsedAt = nilBytes(x.Secret), norm(x.CreatedAt), norm(x.LastUsedAt)
	case *store.AuditEvent:
		x.Detail, x.Time = nilBytes(x.Detail), norm(x.Time)
	default:
		panic(fmt.Sprintf("storetest: want: unexpected type %T", v))
	}
	return v
}

// check fails the test unless err is nil and got equals want(exp).
func check[T any](t *testing.T, op string, got T, err error, exp T) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", op, err)
	}
	if w := want(exp); !reflect.DeepEqual(got, w) {
		t.Fatalf("%s:\n got %+v\nwant %+v", op, got, w)
	}
}

// checkList fails the test unless err is nil and got equals the wanted records in order.
func checkList[T any](t *testing.T, op string, got []T, err error, exp ...T) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", op, err)
	}
	var w []T
	for _, e := range exp {
		w = append(w, want(e))
	}
	if len(got) != len(w) || (len(w) > 0 && !reflect.DeepEqual(got, w)) {
		t.Fatalf("%s:\n got %+v\nwant %+v", op, got, w)
	}
}

// must fails the test on a non-nil error.
func must(t *testing.T, op string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", op, err)
	}
}

// wantErr fails the test unless errors.Is(err, target).
func wantErr(t *testing.T, op string, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("%s: got error %v, want %v", op, err, target)
	}
}

// noCall is an update callback that must not run.
func noCall[T any](t *testing.T) func(T) (T, error) {
	return func(v T) (T, error) {
		t.Errorf("update callback called for a missing record")
		return v, nil
	}
}

func testSchemaVersion(t *testing.T, s store.Store) {
	v, err := s.SchemaVersion(t.Context())
	must(t, "SchemaVersion", err)
	if v < 1 {
		t.Fatalf("SchemaVersion = %d, want >= 1", v)
	}
}

func testSettings(t *testing.T, s store.Store) {
	ctx := t.Context()
	_, err := s.GetSetting(ctx, "ca")
	wantErr(t, "GetSetting missing", err, store.ErrNotFound)

	v1 := []byte{0, 1, 2, 0xff, 'x'}
	must(t, "CreateSetting", s.CreateSetting(ctx, "ca", v1))
	got, err := s.GetSetting(ctx, "ca")
	must(t, "GetSetting", err)
	if !reflect.DeepEqual(got, v1) {
		t.Fatalf("GetSetting = %x, want %x", got, v1)
	}
	wantErr(t, "CreateSetting again", s.CreateSetting(ctx, "ca", []byte("other")), store.ErrAlreadyExists)
	got, err = s.GetSetting(ctx, "ca")
	must(t, "GetSetting after failed create", err)
	if !reflect.DeepEqual(got, v1) {
		t.Fatalf("failed CreateSetting changed the value to %q", got)
	}
	// Names are case-sensitive.
	_, err = s.GetSetting(ctx, "CA")
	wantErr(t, "GetSetting other case", err, store.ErrNotFound)

	must(t, "PutSetting replace", s.PutSetting(ctx, "ca", []byte("v2")))
	got, err = s.GetSetting(ctx, "ca")
	must(t, "GetSetting after put", err)
	if string(got) != "v2" {
		t.Fatalf("GetSetting after put = %q, want v2", got)
	}
	must(t, "PutSetting new", s.PutSetting(ctx, "root", []byte("r")))
	got, err = s.GetSetting(ctx, "root")
	must(t, "GetSetting put-created", err)
	if string(got) != "r" {
		t.Fatalf("GetSetting = %q, want r", got)
	}
	wantErr(t, "CreateSetting over put", s.CreateSetting(ctx, "root", []byte("x")), store.ErrAlreadyExists)

	must(t, "PutSetting empty", s.PutSetting(ctx, "empty", nil))
	got, err = s.GetSetting(ctx, "empty")
	must(t, "GetSetting empty", err)
	if len(got) != 0 {
		t.Fatalf("GetSetting empty = %q", got)
	}
}

func testSettingUpdates(t *testing.T, s store.Store) {
	ctx := t.Context()
	wantErr(t, "UpdateSetting missing", s.UpdateSetting(ctx, "ring", func(b []byte) ([]byte, error) { return b, nil }), store.ErrNotFound)
	must(t, "CreateSetting", s.CreateSetting(ctx, "ring", []byte("0")))
	boom := errors.New("boom")
	if err := s.UpdateSetting(ctx, "ring", func([]byte) ([]byte, error) { return []byte("lost"), boom }); !errors.Is(err, boom) {
		t.Fatalf("UpdateSetting with a failing callback: %v, want boom", err)
	}
	if got, _ := s.GetSetting(ctx, "ring"); string(got) != "0" {
		t.Fatalf("a failed update changed the setting to %q", got)
	}
	// Concurrent read-modify-write updates lose nothing.
	const n = 20
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- s.UpdateSetting(ctx, "ring", func(b []byte) ([]byte, error) {
				v, err := strconv.Atoi(string(b))
				return []byte(strconv.Itoa(v + 1)), err
			})
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		must(t, "concurrent UpdateSetting", err)
	}
	if got, _ := s.GetSetting(ctx, "ring"); string(got) != strconv.Itoa(n) {
		t.Fatalf("after %d concurrent increments the setting is %q", n, got)
	}
}

func signingKey(id string, created time.Time) store.SigningKey {
	return store.SigningKey{
		ID:         id,
		Algorithm:  "RS256",
		State:      store.KeyPrepared,
		PrivateKey: []byte("sealed-private-" + id),
		PublicJWK:  []byte(`{"kty":"RSA","kid":"` + id + `"}`),
		CreatedAt:  created,
	}
}

func testSigningKeys(t *testing.T, s store.Store) {
	ctx := t.Context()
	_, err := s.GetSigningKey(ctx, "nope")
	wantErr(t, "GetSigningKey missing", err, store.ErrNotFound)
	keys, err := s.ListSigningKeys(ctx)
	checkList(t, "ListSigningKeys empty", keys, err)

	// Creation order differs from ID order: lists go by creation time.
	k3 := signingKey("a-third", at(3*time.Hour))
	k1 := signingKey("c-first", at(time.Hour))
	k2 := signingKey("b-second", at(2*time.Hour))
	k2.State, k2.ActivatedAt = store.KeyActive, at(150*time.Minute)
	k1.State, k1.ActivatedAt, k1.RetiredAt, k1.NotAfter = store.KeyRetired, at(70*time.Minute), at(150*time.Minute), at(210*time.Minute)
	for _, k := range []store.SigningKey{k3, k1, k2} {
		must(t, "CreateSigningKey "+k.ID, s.CreateSigningKey(ctx, k))
	}
	got, err := s.GetSigningKey(ctx, k1.ID)
	check(t, "GetSigningKey", got, err, k1)
	keys, err = s.ListSigningKeys(ctx)
	checkList(t, "ListSigningKeys", keys, err, k1, k2, k3)

	dup := signingKey(k1.ID, at(9*time.Hour))
	wantErr(t, "CreateSigningKey duplicate", s.CreateSigningKey(ctx, dup), store.ErrAlreadyExists)

	must(t, "UpdateSigningKey", s.UpdateSigningKey(ctx, k3.ID, func(k store.SigningKey) (store.SigningKey, error) {
		if k.ID != k3.ID || k.State != store.KeyPrepared {
			t.Errorf("callback got %+v", k)
		}
		k.State, k.ActivatedAt = store.KeyActive, at(4*time.Hour)
		return k, nil
	}))
	k3.State, k3.ActivatedAt = store.KeyActive, at(4*time.Hour)
	got, err = s.GetSigningKey(ctx, k3.ID)
	check(t, "GetSigningKey after update", got, err, k3)
	wantErr(t, "UpdateSigningKey missing", s.UpdateSigningKey(ctx, "nope", noCall[store.SigningKey](t)), store.ErrNotFound)

	must(t, "DeleteSigningKey", s.DeleteSigningKey(ctx, k1.ID))
	_, err = s.GetSigningKey(ctx, k1.ID)
	wantErr(t, "GetSigningKey deleted", err, store.ErrNotFound)
	wantErr(t, "DeleteSigningKey again", s.DeleteSigningKey(ctx, k1.ID), store.ErrNotFound)
	keys, err = s.ListSigningKeys(ctx)
	checkList(t, "ListSigningKeys after delete", keys, err, k2, k3)
}

func testWorkspaces(t *testing.T, s store.Store) {
	ctx := t.Context()
	_, err := s.GetWorkspace(ctx, "acme")
	wantErr(t, "GetWorkspace missing", err, store.ErrNotFound)
	ws, err := s.ListWorkspaces(ctx)
	checkList(t, "ListWorkspaces empty", ws, err)

	b := store.Workspace{Slug: "beta", UUID: "0b7f6b5e-5a57-4c2c-9a7e-2d1f0a000002", CreatedAt: at(0)}
	a := store.Workspace{Slug: "acme", UUID: "0b7f6b5e-5a57-4c2c-9a7e-2d1f0a000001", SessionTags: true, CreatedAt: at(time.Hour)}
	must(t, "CreateWorkspace beta", s.CreateWorkspace(ctx, b))
	must(t, "CreateWorkspace acme", s.CreateWorkspace(ctx, a))
	got, err := s.GetWorkspace(ctx, "acme")
	check(t, "GetWorkspace", got, err, a)
	ws, err = s.ListWorkspaces(ctx)
	checkList(t, "ListWorkspaces", ws, err, a, b)
	wantErr(t, "CreateWorkspace duplicate", s.CreateWorkspace(ctx, store.Workspace{Slug: "acme", UUID: "x"}), store.ErrAlreadyExists)

	must(t, "UpdateWorkspace", s.UpdateWorkspace(ctx, "beta", func(w store.Workspace) (store.Workspace, error) {
		w.SessionTags = true
		return w, nil
	}))
	b.SessionTags = true
	got, err = s.GetWorkspace(ctx, "beta")
	check(t, "GetWorkspace after update", got, err, b)
	wantErr(t, "UpdateWorkspace missing", s.UpdateWorkspace(ctx, "nope", noCall[store.Workspace](t)), store.ErrNotFound)
}

func testRepositoriesAndEnvironments(t *testing.T, s store.Store) {
	ctx := t.Context()
	wantErr(t, "CreateRepository without workspace",
		s.CreateRepository(ctx, store.Repository{Workspace: "acme", Slug: "web", UUID: "u"}), store.ErrNotFound)
	must(t, "CreateWorkspace acme", s.CreateWorkspace(ctx, store.Workspace{Slug: "acme", UUID: "w1", CreatedAt: at(0)}))
	must(t, "CreateWorkspace other", s.CreateWorkspace(ctx, store.Workspace{Slug: "other", UUID: "w2", CreatedAt: at(0)}))

	web := store.Repository{Workspace: "acme", Slug: "web", UUID: "r-web", CreatedAt: at(2 * time.Minute)}
	api := store.Repository{Workspace: "acme", Slug: "api", UUID: "r-api", CreatedAt: at(3 * time.Minute)}
	oth := store.Repository{Workspace: "other", Slug: "web", UUID: "r-other-web", CreatedAt: at(time.Minute)}
	for _, r := range []store.Repository{web, api, oth} {
		must(t, "CreateRepository "+r.Workspace+"/"+r.Slug, s.CreateRepository(ctx, r))
	}
	wantErr(t, "CreateRepository duplicate",
		s.CreateRepository(ctx, store.Repository{Workspace: "acme", Slug: "web", UUID: "x"}), store.ErrAlreadyExists)
	got, err := s.GetRepository(ctx, "acme", "web")
	check(t, "GetRepository", got, err, web)
	got, err = s.GetRepository(ctx, "other", "web")
	check(t, "GetRepository other", got, err, oth)
	_, err = s.GetRepository(ctx, "acme", "nope")
	wantErr(t, "GetRepository missing", err, store.ErrNotFound)
	repos, err := s.ListRepositories(ctx, "acme")
	checkList(t, "ListRepositories", repos, err, api, web)
	repos, err = s.ListRepositories(ctx, "nope")
	checkList(t, "ListRepositories unknown workspace", repos, err)

	wantErr(t, "CreateEnvironment without repository",
		s.CreateEnvironment(ctx, store.Environment{Workspace: "acme", Repository: "nope", Name: "prod", UUID: "e"}), store.ErrNotFound)
	prod := store.Environment{Workspace: "acme", Repository: "web", Name: "production", UUID: "e-prod", CreatedAt: at(time.Hour)}
	stg := store.Environment{Workspace: "acme", Repository: "web", Name: "staging", UUID: "e-stg", CreatedAt: at(0)}
	apiProd := store.Environment{Workspace: "acme", Repository: "api", Name: "production", UUID: "e-api-prod", CreatedAt: at(0)}
	for _, e := range []store.Environment{stg, prod, apiProd} {
		must(t, "CreateEnvironment "+e.Repository+"/"+e.Name, s.CreateEnvironment(ctx, e))
	}
	wantErr(t, "CreateEnvironment duplicate",
		s.CreateEnvironment(ctx, store.Environment{Workspace: "acme", Repository: "web", Name: "staging", UUID: "x"}), store.ErrAlreadyExists)
	env, err := s.GetEnvironment(ctx, "acme", "web", "production")
	check(t, "GetEnvironment", env, err, prod)
	_, err = s.GetEnvironment(ctx, "acme", "web", "nope")
	wantErr(t, "GetEnvironment missing", err, store.ErrNotFound)
	envs, err := s.ListEnvironments(ctx, "acme", "web")
	checkList(t, "ListEnvironments", envs, err, prod, stg)
	envs, err = s.ListEnvironments(ctx, "acme", "api")
	checkList(t, "ListEnvironments api", envs, err, apiProd)
	envs, err = s.ListEnvironments(ctx, "other", "web")
	checkList(t, "ListEnvironments other", envs, err)
}

func testRunners(t *testing.T, s store.Store) {
	ctx := t.Context()
	_, err := s.GetRunner(ctx, "nope")
	wantErr(t, "GetRunner missing", err, store.ErrNotFound)
	r1 := store.Runner{ID: "run-2", Name: "alpha", SecretHash: []byte{1, 2, 3, 0}, Workspaces: []string{"acme", "beta"}, CreatedAt: at(0)}
	r2 := store.Runner{ID: "run-1", Name: "beta", SecretHash: []byte{9}, Workspaces: []string{}, CreatedAt: at(time.Second)}
	r3 := store.Runner{ID: "run-0", Name: "beta", SecretHash: []byte{8}, CreatedAt: at(2 * time.Second)}
	for _, r := range []store.Runner{r1, r2, r3} {
		must(t, "CreateRunner "+r.ID, s.CreateRunner(ctx, r))
	}
	wantErr(t, "CreateRunner duplicate", s.CreateRunner(ctx, store.Runner{ID: "run-1", Name: "x"}), store.ErrAlreadyExists)
	got, err := s.GetRunner(ctx, "run-2")
	check(t, "GetRunner", got, err, r1)
	got, err = s.GetRunner(ctx, "run-1")
	check(t, "GetRunner empty workspaces", got, err, r2)
	if got.Workspaces != nil {
		t.Fatalf("empty Workspaces read back as %#v, want nil", got.Workspaces)
	}
	list, err := s.ListRunners(ctx)
	checkList(t, "ListRunners", list, err, r1, r3, r2)
	must(t, "DeleteRunner", s.DeleteRunner(ctx, "run-1"))
	wantErr(t, "DeleteRunner again", s.DeleteRunner(ctx, "run-1"), store.ErrNotFound)
	_, err = s.GetRunner(ctx, "run-1")
	wantErr(t, "GetRunner deleted", err, store.ErrNotFound)
	list, err = s.ListRunners(ctx)
	checkList(t, "ListRunners after delete", list, err, r1, r3)
}

func testOIDCProviders(t *testing.T, s store.Store) {
	ctx := t.Context()
	const arnB = "arn:aws:iam::000000000000:oidc-provider/b.example.com/issuer"
	const arnA = "arn:aws:iam::000000000000:oidc-provider/a.example.com"
	_, err := s.GetOIDCProvider(ctx, arnA)
	wantErr(t, "GetOIDCProvider missing", err, store.ErrNotFound)
	b := store.OIDCProvider{
		ARN:         arnB,
		URL:         "b.example.com/issuer",
		ClientIDs:   []string{"ari:cloud:bitbucket::workspace/1", "sts.amazonaws.com"},
		Thumbprints: []string{"9e99a48a9960b14926bb7f3b02e22da2b0ab7280"},
		Tags:        []store.Tag{{Key: "team", Value: "ci"}, {Key: "env", Value: ""}},
		CreatedAt:   at(0),
	}
	a := store.OIDCProvider{ARN: arnA, URL: "a.example.com", CreatedAt: at(time.Hour)}
	must(t, "CreateOIDCProvider b", s.CreateOIDCProvider(ctx, b))
	must(t, "CreateOIDCProvider a", s.CreateOIDCProvider(ctx, a))
	wantErr(t, "CreateOIDCProvider duplicate", s.CreateOIDCProvider(ctx, store.OIDCProvider{ARN: arnA}), store.ErrAlreadyExists)
	got, err := s.GetOIDCProvider(ctx, arnB)
	check(t, "GetOIDCProvider", got, err, b)
	list, err := s.ListOIDCProviders(ctx)
	checkList(t, "ListOIDCProviders", list, err, a, b)

	must(t, "UpdateOIDCProvider", s.UpdateOIDCProvider(ctx, arnA, func(p store.OIDCProvider) (store.OIDCProvider, error) {
		p.ClientIDs = append(p.ClientIDs, "new-client")
		p.Thumbprints = []string{"0000000000000000000000000000000000000000"}
		p.Tags = []store.Tag{{Key: "k", Value: "v"}}
		return p, nil
	}))
	a.ClientIDs, a.Thumbprints, a.Tags = []string{"new-client"}, []string{"0000000000000000000000000000000000000000"}, []store.Tag{{Key: "k", Value: "v"}}
	got, err = s.GetOIDCProvider(ctx, arnA)
	check(t, "GetOIDCProvider after update", got, err, a)
	wantErr(t, "UpdateOIDCProvider missing", s.UpdateOIDCProvider(ctx, "arn:nope", noCall[store.OIDCProvider](t)), store.ErrNotFound)

	must(t, "DeleteOIDCProvider", s.DeleteOIDCProvider(ctx, arnB))
	wantErr(t, "DeleteOIDCProvider again", s.DeleteOIDCProvider(ctx, arnB), store.ErrNotFound)
	list, err = s.ListOIDCProviders(ctx)
	checkList(t, "ListOIDCProviders after delete", list, err, a)
}

func role(name string, created time.Time) store.Role {
	return store.Role{
		ID:                       "AROA" + name,
		Name:                     name,
		Path:                     "/ci/",
		ARN:                      "arn:aws:iam::000000000000:role/ci/" + name,
		AssumeRolePolicyDocument: `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Federated":"x"},"Action":"sts:AssumeRoleWithWebIdentity","Condition":{"StringLike":{"x:sub":"{a}:*"}}}]}`,
		Description:              "deploys <web> & \"api\"",
		MaxSessionDuration:       3600,
		PermissionsBoundary:      "arn:aws:iam::000000000000:policy/boundary",
		Tags:                     []store.Tag{{Key: "team", Value: "web"}, {Key: "cost", Value: "42"}},
		InlinePolicies: map[string]string{
			"s3":  `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}`,
			"cf<": `{}`,
		},
		AttachedPolicies: []string{"arn:aws:iam::000000000000:policy/b", "arn:aws:iam::000000000000:policy/a"},
		CreatedAt:        created,
		LastUsedAt:       created.Add(time.Minute),
		LastUsedRegion:   "eu-west-1",
	}
}

func testRoles(t *testing.T, s store.Store) {
	ctx := t.Context()
	_, err := s.GetRole(ctx, "deploy")
	wantErr(t, "GetRole missing", err, store.ErrNotFound)
	roles, err := s.ListRoles(ctx)
	checkList(t, "ListRoles empty", roles, err)

	deploy := role("deploy", at(0))
	minimal := store.Role{ID: "AROAMIN", Name: "Minimal", Path: "/", ARN: "arn:aws:iam::000000000000:role/Minimal",
		AssumeRolePolicyDocument: "{}", MaxSessionDuration: 3600, CreatedAt: at(time.Hour)}
	zeta := role("zeta", at(-time.Hour))
	for _, r := range []store.Role{zeta, deploy, minimal} {
		must(t, "CreateRole "+r.Name, s.CreateRole(ctx, r))
	}
	got, err := s.GetRole(ctx, "deploy")
	check(t, "GetRole", got, err, deploy)
	got, err = s.GetRole(ctx, "Minimal")
	check(t, "GetRole minimal", got, err, minimal)
	// Ordered by lower-cased name.
	roles, err = s.ListRoles(ctx)
	checkList(t, "ListRoles", roles, err, deploy, minimal, zeta)

	must(t, "UpdateRole", s.UpdateRole(ctx, "deploy", func(r store.Role) (store.Role, error) {
		r.Description = "changed"
		r.MaxSessionDuration = 7200
		r.InlinePolicies["extra"] = `{"x":1}`
		delete(r.InlinePolicies, "s3")
		r.AttachedPolicies = nil
		r.Tags = append(r.Tags, store.Tag{Key: "new", Value: "tag"})
		r.LastUsedAt, r.LastUsedRegion = time.Time{}, ""
		return r, nil
	}))
	deploy.Description, deploy.MaxSessionDuration = "changed", 7200
	deploy.InlinePolicies = map[string]string{"cf<": `{}`, "extra": `{"x":1}`}
	deploy.AttachedPolicies = nil
	deploy.Tags = []store.Tag{{Key: "team", Value: "web"}, {Key: "cost", Value: "42"}, {Key: "new", Value: "tag"}}
	deploy.LastUsedAt, deploy.LastUsedRegion = time.Time{}, ""
	got, err = s.GetRole(ctx, "deploy")
	check(t, "GetRole after update", got, err, deploy)
	wantErr(t, "UpdateRole missing", s.UpdateRole(ctx, "nope", noCall[store.Role](t)), store.ErrNotFound)

	must(t, "DeleteRole", s.DeleteRole(ctx, "zeta"))
	_, err = s.GetRole(ctx, "zeta")
	wantErr(t, "GetRole deleted", err, store.ErrNotFound)
	wantErr(t, "DeleteRole again", s.DeleteRole(ctx, "zeta"), store.ErrNotFound)
	roles, err = s.ListRoles(ctx)
	checkList(t, "ListRoles after delete", roles, err, deploy, minimal)
}

func testRoleNamesCaseInsensitive(t *testing.T, s store.Store) {
	ctx := t.Context()
	r := role("myRole", at(0))
	must(t, "CreateRole", s.CreateRole(ctx, r))
	wantErr(t, "CreateRole other case", s.CreateRole(ctx, role("MYROLE", at(time.Hour))), store.ErrAlreadyExists)
	got, err := s.GetRole(ctx, "MYROLE")
	check(t, "GetRole upper case", got, err, r) // case-preserving: Name is still "myRole"
	must(t, "UpdateRole other case", s.UpdateRole(ctx, "myrole", func(r store.Role) (store.Role, error) {
		r.Description = "via lower case"
		return r, nil
	}))
	r.Description = "via lower case"
	got, err = s.GetRole(ctx, "myRole")
	check(t, "GetRole after update", got, err, r)
	roles, err := s.ListRoles(ctx)
	checkList(t, "ListRoles", roles, err, r)
	must(t, "DeleteRole other case", s.DeleteRole(ctx, "MyRoLe"))
	_, err = s.GetRole(ctx, "myRole")
	wantErr(t, "GetRole deleted", err, store.ErrNotFound)
}

func testRoleRename(t *testing.T, s store.Store) {
	ctx := t.Context()
	a, b := role("alpha", at(0)), role("beta", at(0))
	must(t, "CreateRole alpha", s.CreateRole(ctx, a))
	must(t, "CreateRole beta", s.CreateRole(ctx, b))
	err := s.UpdateRole(ctx, "alpha", func(r store.Role) (store.Role, error) {
		r.Name = "BETA"
		r.Description = "collides"
		return r, nil
	})
	wantErr(t, "UpdateRole rename onto existing", err, store.ErrAlreadyExists)
	got, err := s.GetRole(ctx, "alpha")
	check(t, "GetRole after failed rename", got, err, a)
	got, err = s.GetRole(ctx, "beta")
	check(t, "GetRole beta after failed rename", got, err, b)

	// Changing only the letter case keeps the record and its key.
	must(t, "UpdateRole recase", s.UpdateRole(ctx, "alpha", func(r store.Role) (store.Role, error) {
		r.Name = "Alpha"
		return r, nil
	}))
	a.Name = "Alpha"
	got, err = s.GetRole(ctx, "alpha")
	check(t, "GetRole after recase", got, err, a)

	must(t, "UpdateRole rename", s.UpdateRole(ctx, "alpha", func(r store.Role) (store.Role, error) {
		r.Name = "gamma"
		return r, nil
	}))
	_, err = s.GetRole(ctx, "alpha")
	wantErr(t, "GetRole old name", err, store.ErrNotFound)
	a.Name = "gamma"
	got, err = s.GetRole(ctx, "gamma")
	check(t, "GetRole new name", got, err, a)
}

func testPolicies(t *testing.T, s store.Store) {
	ctx := t.Context()
	const arnA = "arn:aws:iam::000000000000:policy/a-deploy"
	const arnB = "arn:aws:iam::000000000000:policy/team/b-read"
	_, err := s.GetPolicy(ctx, arnA)
	wantErr(t, "GetPolicy missing", err, store.ErrNotFound)
	b := store.ManagedPolicy{ID: "ANPAB", Name: "b-read", Path: "/team/", ARN: arnB,
		Document:    `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"}]}`,
		Description: "read b", VersionID: "v1", Tags: []store.Tag{{Key: "k", Value: "v"}}, CreatedAt: at(0), UpdatedAt: at(0)}
	a := store.ManagedPolicy{ID: "ANPAA", Name: "a-deploy", Path: "/", ARN: arnA, Document: "{}", VersionID: "v1",
		CreatedAt: at(time.Hour), UpdatedAt: at(time.Hour)}
	must(t, "CreatePolicy b", s.CreatePolicy(ctx, b))
	must(t, "CreatePolicy a", s.CreatePolicy(ctx, a))
	wantErr(t, "CreatePolicy duplicate", s.CreatePolicy(ctx, store.ManagedPolicy{ARN: arnA}), store.ErrAlreadyExists)
	got, err := s.GetPolicy(ctx, arnB)
	check(t, "GetPolicy", got, err, b)
	list, err := s.ListPolicies(ctx)
	checkList(t, "ListPolicies", list, err, a, b)

	must(t, "UpdatePolicy", s.UpdatePolicy(ctx, arnB, func(p store.ManagedPolicy) (store.ManagedPolicy, error) {
		p.Document, p.VersionID, p.UpdatedAt = `{"v":2}`, "v2", at(2*time.Hour)
		p.Tags = nil
		return p, nil
	}))
	b.Document, b.VersionID, b.UpdatedAt, b.Tags = `{"v":2}`, "v2", at(2*time.Hour), nil
	got, err = s.GetPolicy(ctx, arnB)
	check(t, "GetPolicy after update", got, err, b)
	wantErr(t, "UpdatePolicy missing", s.UpdatePolicy(ctx, "arn:nope", noCall[store.ManagedPolicy](t)), store.ErrNotFound)

	must(t, "DeletePolicy", s.DeletePolicy(ctx, arnA))
	wantErr(t, "DeletePolicy again", s.DeletePolicy(ctx, arnA), store.ErrNotFound)
	list, err = s.ListPolicies(ctx)
	checkList(t, "ListPolicies after delete", list, err, b)
}

// testPolicyVersions: a policy's versions (documents, ids, times, the counter of
// version ids) round-trip through create and update, a version change is atomic
// with the default's Document and VersionID, and deleting the policy deletes them.
func testPolicyVersions(t *testing.T, s store.Store) {
	ctx := t.Context()
	const arn = "arn:aws:iam::000000000000:policy/versioned"
	v1 := store.PolicyVersion{ID: "v1", Document: `{"Version":"2012-10-17","Statement":[]}`, CreatedAt: at(0)}
	p := store.ManagedPolicy{ID: "ANPAV", Name: "versioned", Path: "/", ARN: arn, Document: v1.Document, VersionID: "v1",
		CreatedAt: at(0), UpdatedAt: at(0), Versions: []store.PolicyVersion{v1}, LastVersion: 1}
	must(t, "CreatePolicy", s.CreatePolicy(ctx, p))
	got, err := s.GetPolicy(ctx, arn)
	check(t, "GetPolicy", got, err, p)

	// Two more versions, the newest made the default; then v2 deleted.
	v2 := store.PolicyVersion{ID: "v2", Document: `{"v":"2 <&>"}`, CreatedAt: at(time.Hour)}
	v3 := store.PolicyVersion{ID: "v3", Document: `{"v":3}`, CreatedAt: at(2 * time.Hour)}
	must(t, "UpdatePolicy add versions", s.UpdatePolicy(ctx, arn, func(p store.ManagedPolicy) (store.ManagedPolicy, error) {
		p.Versions = append(p.Versions, v2, v3)
		p.LastVersion = 3
		p.Document, p.VersionID, p.UpdatedAt = v3.Document, v3.ID, v3.CreatedAt
		return p, nil
	}))
	p.Versions, p.LastVersion = []store.PolicyVersion{v1, v2, v3}, 3
	p.Document, p.VersionID, p.UpdatedAt = v3.Document, v3.ID, v3.CreatedAt
	got, err = s.GetPolicy(ctx, arn)
	check(t, "GetPolicy with three versions", got, err, p)
	list, err := s.ListPolicies(ctx)
	checkList(t, "ListPolicies", list, err, p)

	must(t, "UpdatePolicy delete v2", s.UpdatePolicy(ctx, arn, func(p store.ManagedPolicy) (store.ManagedPolicy, error) {
		p.Versions = append(p.Versions[:1:1], p.Versions[2:]...)
		return p, nil
	}))
	p.Versions = []store.PolicyVersion{v1, v3}
	got, err = s.GetPolicy(ctx, arn)
	check(t, "GetPolicy after deleting v2", got, err, p)
	if got.LastVersion != 3 {
		t.Errorf("LastVersion = %d after deleting v2, want 3 (ids are not reused)", got.LastVersion)
	}

	// A policy without versions reads back with nil Versions and LastVersion 0.
	bare := store.ManagedPolicy{ARN: "arn:aws:iam::000000000000:policy/bare", Name: "bare", Path: "/", Document: "{}",
		VersionID: "v1", Versions: []store.PolicyVersion{}}
	must(t, "CreatePolicy bare", s.CreatePolicy(ctx, bare))
	got, err = s.GetPolicy(ctx, bare.ARN)
	check(t, "GetPolicy bare", got, err, bare)

	must(t, "DeletePolicy", s.DeletePolicy(ctx, arn))
	_, err = s.GetPolicy(ctx, arn)
	wantErr(t, "GetPolicy deleted", err, store.ErrNotFound)
	// Re-created under the same ARN, it starts with no versions of the old one.
	fresh := store.ManagedPolicy{ID: "ANPAW", Name: "versioned", Path: "/", ARN: arn, Document: "{}", VersionID: "v1",
		CreatedAt: at(3 * time.Hour), UpdatedAt: at(3 * time.Hour)}
	must(t, "CreatePolicy again", s.CreatePolicy(ctx, fresh))
	got, err = s.GetPolicy(ctx, arn)
	check(t, "GetPolicy re-created", got, err, fresh)
}

func instanceProfile(name string, created time.Time, roles ...string) store.InstanceProfile {
	return store.InstanceProfile{
		ID:        "AIPA" + name,
		Name:      name,
		Path:      "/ci/",
		ARN:       "arn:aws:iam::000000000000:instance-profile/ci/" + name,
		Roles:     roles,
		Tags:      []store.Tag{{Key: "team", Value: "web"}},
		CreatedAt: created,
	}
}

// testInstanceProfiles: create, read (any letter case), list by lower-cased name,
// update the roles, delete; names unique case-insensitively.
func testInstanceProfiles(t *testing.T, s store.Store) {
	ctx := t.Context()
	_, err := s.GetInstanceProfile(ctx, "web")
	wantErr(t, "GetInstanceProfile missing", err, store.ErrNotFound)
	list, err := s.ListInstanceProfiles(ctx)
	checkList(t, "ListInstanceProfiles empty", list, err)

	web := instanceProfile("Web", at(0), "deploy")
	api := instanceProfile("api", at(time.Hour))
	api.Tags = nil
	zeta := instanceProfile("zeta", at(-time.Hour), "Other")
	for _, p := range []store.InstanceProfile{zeta, web, api} {
		must(t, "CreateInstanceProfile "+p.Name, s.CreateInstanceProfile(ctx, p))
	}
	wantErr(t, "CreateInstanceProfile other case", s.CreateInstanceProfile(ctx, instanceProfile("WEB", at(0))), store.ErrAlreadyExists)
	got, err := s.GetInstanceProfile(ctx, "web")
	check(t, "GetInstanceProfile lower case", got, err, web)
	list, err = s.ListInstanceProfiles(ctx)
	checkList(t, "ListInstanceProfiles", list, err, api, web, zeta)

	must(t, "UpdateInstanceProfile", s.UpdateInstanceProfile(ctx, "API", func(p store.InstanceProfile) (store.InstanceProfile, error) {
		p.Roles = append(p.Roles, "deploy")
		return p, nil
	}))
	api.Roles = []string{"deploy"}
	got, err = s.GetInstanceProfile(ctx, "api")
	check(t, "GetInstanceProfile after update", got, err, api)
	must(t, "UpdateInstanceProfile remove role", s.UpdateInstanceProfile(ctx, "Web", func(p store.InstanceProfile) (store.InstanceProfile, error) {
		p.Roles = nil
		return p, nil
	}))
	web.Roles = nil
	got, err = s.GetInstanceProfile(ctx, "Web")
	check(t, "GetInstanceProfile after removing its role", got, err, web)
	wantErr(t, "UpdateInstanceProfile missing", s.UpdateInstanceProfile(ctx, "nope", noCall[store.InstanceProfile](t)), store.ErrNotFound)
	boom := errors.New("boom")
	err = s.UpdateInstanceProfile(ctx, "zeta", func(p store.InstanceProfile) (store.InstanceProfile, error) {
		p.Roles = nil
		return p, boom
	})
	wantErr(t, "UpdateInstanceProfile callback error", err, boom)
	got, err = s.GetInstanceProfile(ctx, "zeta")
	check(t, "GetInstanceProfile after aborted update", got, err, zeta)

	must(t, "DeleteInstanceProfile", s.DeleteInstanceProfile(ctx, "ZETA"))
	wantErr(t, "DeleteInstanceProfile again", s.DeleteInstanceProfile(ctx, "zeta"), store.ErrNotFound)
	list, err = s.ListInstanceProfiles(ctx)
	checkList(t, "ListInstanceProfiles after delete", list, err, api, web)
}

func user(name string, created time.Time) store.User {
	return store.User{
		ID:               "AIDA" + name,
		Name:             name,
		Path:             "/",
		ARN:              "arn:aws:iam::000000000000:user/" + name,
		Tags:             []store.Tag{{Key: "owner", Value: "ops"}},
		InlinePolicies:   map[string]string{"p": `{"Statement":[]}`},
		AttachedPolicies: []string{"arn:aws:iam::000000000000:policy/a"},
		CreatedAt:        created,
	}
}

func testUsers(t *testing.T, s store.Store) {
	ctx := t.Context()
	_, err := s.GetUser(ctx, "alice")
	wantErr(t, "GetUser missing", err, store.ErrNotFound)
	alice, bob := user("Alice", at(time.Hour)), user("bob", at(0))
	bare := store.User{ID: "AIDABARE", Name: "carol", Path: "/", ARN: "arn:aws:iam::000000000000:user/carol"}
	for _, u := range []store.User{bob, bare, alice} {
		must(t, "CreateUser "+u.Name, s.CreateUser(ctx, u))
	}
	wantErr(t, "CreateUser other case", s.CreateUser(ctx, user("ALICE", at(0))), store.ErrAlreadyExists)
	got, err := s.GetUser(ctx, "alice")
	check(t, "GetUser other case", got, err, alice)
	got, err = s.GetUser(ctx, "carol")
	check(t, "GetUser bare", got, err, bare)
	list, err := s.ListUsers(ctx)
	checkList(t, "ListUsers", list, err, alice, bob, bare)

	must(t, "UpdateUser", s.UpdateUser(ctx, "BOB", func(u store.User) (store.User, error) {
		u.Path = "/team/"
		u.InlinePolicies = nil
		u.AttachedPolicies = append(u.AttachedPolicies, "arn:aws:iam::000000000000:policy/b")
		return u, nil
	}))
	bob.Path, bob.InlinePolicies = "/team/", nil
	bob.AttachedPolicies = []string{"arn:aws:iam::000000000000:policy/a", "arn:aws:iam::000000000000:policy/b"}
	got, err = s.GetUser(ctx, "bob")
	check(t, "GetUser after update", got, err, bob)
	wantErr(t, "UpdateUser missing", s.UpdateUser(ctx, "nope", noCall[store.User](t)), store.ErrNotFound)

	must(t, "DeleteUser", s.DeleteUser(ctx, "ALICE"))
	wantErr(t, "DeleteUser again", s.DeleteUser(ctx, "alice"), store.ErrNotFound)
	list, err = s.ListUsers(ctx)
	checkList(t, "ListUsers after delete", list, err, bob, bare)
}

func accessKey(id, userName string, created time.Time) store.AccessKey {
	return store.AccessKey{ID: id, UserName: userName, Secret: []byte("sealed-" + id), Status: "Active", CreatedAt: created}
}

func testAccessKeys(t *testing.T, s store.Store) {
	ctx := t.Context()
	wantErr(t, "CreateAccessKey without user", s.CreateAccessKey(ctx, accessKey("AKIA0", "ghost", at(0))), store.ErrNotFound)
	must(t, "CreateUser Alice", s.CreateUser(ctx, user("Alice", at(0))))
	must(t, "CreateUser bob", s.CreateUser(ctx, user("bob", at(0))))

	k2 := accessKey("AKIA2", "Alice", at(time.Hour))
	k1 := accessKey("AKIA9", "Alice", at(0))
	k1.Status, k1.LastUsedAt, k1.LastUsedSvc, k1.LastUsedRgn = "Inactive", at(30*time.Minute), "s3", "us-east-1"
	kb := accessKey("AKIA1", "bob", at(2*time.Hour))
	for _, k := range []store.AccessKey{k2, k1, kb} {
		must(t, "CreateAccessKey "+k.ID, s.CreateAccessKey(ctx, k))
	}
	wantErr(t, "CreateAccessKey duplicate", s.CreateAccessKey(ctx, accessKey("AKIA2", "bob", at(0))), store.ErrAlreadyExists)
	_, err := s.GetAccessKey(ctx, "AKIANOPE")
	wantErr(t, "GetAccessKey missing", err, store.ErrNotFound)
	got, err := s.GetAccessKey(ctx, "AKIA9")
	check(t, "GetAccessKey", got, err, k1)
	list, err := s.ListAccessKeys(ctx, "alice") // any case; oldest first
	checkList(t, "ListAccessKeys", list, err, k1, k2)
	list, err = s.ListAccessKeys(ctx, "bob")
	checkList(t, "ListAccessKeys bob", list, err, kb)
	list, err = s.ListAccessKeys(ctx, "nobody")
	checkList(t, "ListAccessKeys unknown user", list, err)

	// A key created under another letter case reports the user's stored name.
	kc := accessKey("AKIA3", "BOB", at(3*time.Hour))
	must(t, "CreateAccessKey other case", s.CreateAccessKey(ctx, kc))
	kc.UserName = "bob"
	got, err = s.GetAccessKey(ctx, "AKIA3")
	check(t, "GetAccessKey other case", got, err, kc)

	must(t, "UpdateAccessKey", s.UpdateAccessKey(ctx, "AKIA2", func(k store.AccessKey) (store.AccessKey, error) {
		k.Status, k.LastUsedAt, k.LastUsedSvc, k.LastUsedRgn = "Inactive", at(90*time.Minute), "sts", "eu-west-1"
		return k, nil
	}))
	k2.Status, k2.LastUsedAt, k2.LastUsedSvc, k2.LastUsedRgn = "Inactive", at(90*time.Minute), "sts", "eu-west-1"
	got, err = s.GetAccessKey(ctx, "AKIA2")
	check(t, "GetAccessKey after update", got, err, k2)
	wantErr(t, "UpdateAccessKey missing", s.UpdateAccessKey(ctx, "AKIANOPE", noCall[store.AccessKey](t)), store.ErrNotFound)
	err = s.UpdateAccessKey(ctx, "AKIA2", func(k store.AccessKey) (store.AccessKey, error) {
		k.UserName = "ghost"
		return k, nil
	})
	wantErr(t, "UpdateAccessKey to missing user", err, store.ErrNotFound)

	must(t, "DeleteAccessKey", s.DeleteAccessKey(ctx, "AKIA9"))
	wantErr(t, "DeleteAccessKey again", s.DeleteAccessKey(ctx, "AKIA9"), store.ErrNotFound)
	list, err = s.ListAccessKeys(ctx, "Alice")
	checkList(t, "ListAccessKeys after delete", list, err, k2)
}

func testUserRenameAndCascade(t *testing.T, s store.Store) {
	ctx := t.Context()
	must(t, "CreateUser", s.CreateUser(ctx, user("alice", at(0))))
	must(t, "CreateUser other", s.CreateUser(ctx, user("other", at(0))))
	k := accessKey("AKIAR", "alice", at(0))
	must(t, "CreateAccessKey", s.CreateAccessKey(ctx, k))
	must(t, "CreateAccessKey other", s.CreateAccessKey(ctx, accessKey("AKIAO", "other", at(0))))

	must(t, "UpdateUser rename", s.UpdateUser(ctx, "alice", func(u store.User) (store.User, error) {
		u.Name, u.ARN = "Alicia", "arn:aws:iam::000000000000:user/Alicia"
		return u, nil
	}))
	_, err := s.GetUser(ctx, "alice")
	wantErr(t, "GetUser old name", err, store.ErrNotFound)
	k.UserName = "Alicia"
	got, err := s.GetAccessKey(ctx, "AKIAR")
	check(t, "GetAccessKey after rename", got, err, k)
	list, err := s.ListAccessKeys(ctx, "alicia")
	checkList(t, "ListAccessKeys after rename", list, err, k)
	list, err = s.ListAccessKeys(ctx, "alice")
	checkList(t, "ListAccessKeys old name", list, err)

	// Deleting a user deletes its access keys (refusing while keys exist is IAM's job).
	must(t, "DeleteUser", s.DeleteUser(ctx, "alicia"))
	_, err = s.GetAccessKey(ctx, "AKIAR")
	wantErr(t, "GetAccessKey of deleted user", err, store.ErrNotFound)
	list, err = s.ListAccessKeys(ctx, "Alicia")
	checkList(t, "ListAccessKeys of deleted user", list, err)
	if _, err := s.GetAccessKey(ctx, "AKIAO"); err != nil {
		t.Fatalf("GetAccessKey of another user: %v", err)
	}
	// The name is free again, and the new user has no keys.
	must(t, "CreateUser reuse name", s.CreateUser(ctx, user("alicia", at(time.Hour))))
	list, err = s.ListAccessKeys(ctx, "alicia")
	checkList(t, "ListAccessKeys of new user", list, err)
}

// testUpdateCallbackErrorAborts checks every Update method: the callback's error comes
// back (errors.Is) and the record is unchanged even though the callback mutated it.
func testUpdateCallbackErrorAborts(t *testing.T, s store.Store) {
	ctx := t.Context()
	boom := errors.New("boom")

	k := signingKey("kid", at(0))
	must(t, "CreateSigningKey", s.CreateSigningKey(ctx, k))
	err := s.UpdateSigningKey(ctx, "kid", func(k store.SigningKey) (store.SigningKey, error) {
		k.State = store.KeyRetired
		return k, boom
	})
	wantErr(t, "UpdateSigningKey", err, boom)
	gotK, err := s.GetSigningKey(ctx, "kid")
	check(t, "GetSigningKey", gotK, err, k)

	w := store.Workspace{Slug: "acme", UUID: "u", CreatedAt: at(0)}
	must(t, "CreateWorkspace", s.CreateWorkspace(ctx, w))
	err = s.UpdateWorkspace(ctx, "acme", func(w store.Workspace) (store.Workspace, error) {
		w.SessionTags = true
		return w, boom
	})
	wantErr(t, "UpdateWorkspace", err, boom)
	gotW, err := s.GetWorkspace(ctx, "acme")
	check(t, "GetWorkspace", gotW, err, w)

	p := store.OIDCProvider{ARN: "arn:p", URL: "p", ClientIDs: []string{"a"}, CreatedAt: at(0)}
	must(t, "CreateOIDCProvider", s.CreateOIDCProvider(ctx, p))
	err = s.UpdateOIDCProvider(ctx, "arn:p", func(p store.OIDCProvider) (store.OIDCProvider, error) {
		p.ClientIDs = append(p.ClientIDs, "b")
		return p, boom
	})
	wantErr(t, "UpdateOIDCProvider", err, boom)
	gotP, err := s.GetOIDCProvider(ctx, "arn:p")
	check(t, "GetOIDCProvider", gotP, err, p)

	r := role("deploy", at(0))
	must(t, "CreateRole", s.CreateRole(ctx, r))
	err = s.UpdateRole(ctx, "deploy", func(r store.Role) (store.Role, error) {
		r.Name, r.MaxSessionDuration = "renamed", 1
		return r, boom
	})
	wantErr(t, "UpdateRole", err, boom)
	gotR, err := s.GetRole(ctx, "deploy")
	check(t, "GetRole", gotR, err, r)

	mp := store.ManagedPolicy{ARN: "arn:mp", Name: "mp", Document: "{}", VersionID: "v1", CreatedAt: at(0)}
	must(t, "CreatePolicy", s.CreatePolicy(ctx, mp))
	err = s.UpdatePolicy(ctx, "arn:mp", func(p store.ManagedPolicy) (store.ManagedPolicy, error) {
		p.VersionID = "v2"
		return p, boom
	})
	wantErr(t, "UpdatePolicy", err, boom)
	gotMP, err := s.GetPolicy(ctx, "arn:mp")
	check(t, "GetPolicy", gotMP, err, mp)

	u := user("alice", at(0))
	must(t, "CreateUser", s.CreateUser(ctx, u))
	err = s.UpdateUser(ctx, "alice", func(u store.User) (store.User, error) {
		u.Path = "/x/"
		return u, boom
	})
	wantErr(t, "UpdateUser", err, boom)
	gotU, err := s.GetUser(ctx, "alice")
	check(t, "GetUser", gotU, err, u)

	ak := accessKey("AKIA", "alice", at(0))
	must(t, "CreateAccessKey", s.CreateAccessKey(ctx, ak))
	err = s.UpdateAccessKey(ctx, "AKIA", func(k store.AccessKey) (store.AccessKey, error) {
		k.Status = "Inactive"
		return k, boom
	})
	wantErr(t, "UpdateAccessKey", err, boom)
	gotAK, err := s.GetAccessKey(ctx, "AKIA")
	check(t, "GetAccessKey", gotAK, err, ak)
}

// testConcurrentUpdates runs read-modify-write callbacks from many goroutines at once;
// none may be lost and none may fail (no SQLITE_BUSY, no serialization failures).
func testConcurrentUpdates(t *testing.T, s store.Store) {
	ctx := t.Context()
	const n = 20
	r := role("counter", at(0))
	r.MaxSessionDuration = 0
	must(t, "CreateRole", s.CreateRole(ctx, r))
	must(t, "CreateSigningKey", s.CreateSigningKey(ctx, signingKey("kid", at(0))))
	must(t, "CreateUser", s.CreateUser(ctx, user("u", at(0))))
	must(t, "CreateAccessKey", s.CreateAccessKey(ctx, accessKey("AKIA", "u", at(0))))

	var wg sync.WaitGroup
	errs := make(chan error, 3*n)
	for i := range n {
		wg.Add(3)
		go func() {
			defer wg.Done()
			errs <- s.UpdateRole(ctx, "COUNTER", func(r store.Role) (store.Role, error) {
				r.MaxSessionDuration++
				return r, nil
			})
		}()
		go func() {
			defer wg.Done()
			errs <- s.UpdateSigningKey(ctx, "kid", func(k store.SigningKey) (store.SigningKey, error) {
				k.PublicJWK = append(k.PublicJWK, byte('a'+i%26))
				return k, nil
			})
		}()
		go func() {
			defer wg.Done()
			errs <- s.UpdateAccessKey(ctx, "AKIA", func(k store.AccessKey) (store.AccessKey, error) {
				k.LastUsedSvc += "x"
				return k, nil
			})
		}()
	}
	// Reads run alongside the writers.
	for range n {
		if _, err := s.GetRole(ctx, "counter"); err != nil {
			t.Errorf("GetRole during updates: %v", err)
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("concurrent update: %v", err)
		}
	}
	got, err := s.GetRole(ctx, "counter")
	must(t, "GetRole", err)
	if got.MaxSessionDuration != n {
		t.Errorf("after %d concurrent increments MaxSessionDuration = %d", n, got.MaxSessionDuration)
	}
	k, err := s.GetSigningKey(ctx, "kid")
	must(t, "GetSigningKey", err)
	if added := len(k.PublicJWK) - len(signingKey("kid", at(0)).PublicJWK); added != n {
		t.Errorf("after %d concurrent appends the JWK grew by %d bytes", n, added)
	}
	ak, err := s.GetAccessKey(ctx, "AKIA")
	must(t, "GetAccessKey", err)
	if len(ak.LastUsedSvc) != n {
		t.Errorf("after %d concurrent appends LastUsedSvc = %q", n, ak.LastUsedSvc)
	}
}

func testAuditEvents(t *testing.T, s store.Store) {
	ctx := t.Context()
	events, err := s.ListAuditEvents(ctx, time.Time{}, 0)
	checkList(t, "ListAuditEvents empty", events, err)

	ev := func(id string, d time.Duration) store.AuditEvent {
		return store.AuditEvent{ID: id, Time: at(d), RequestID: "req-" + id, Action: "sts:AssumeRoleWithWebIdentity",
			Caller: "arn:caller", Role: "arn:aws:iam::000000000000:role/deploy", Decision: "Denied",
			Detail: []byte(`{"statement":0,"condition":"StringEquals"}`)}
	}
	e1, e2, e3, e4 := ev("e1", 0), ev("e2", time.Minute), ev("e3", 2*time.Minute), ev("e4", time.Minute)
	e4.Detail, e4.Decision = nil, "Allowed"
	// Appended out of time order; e2 and e4 share a time (e4 appended later).
	for _, e := range []store.AuditEvent{e3, e1, e2, e4} {
		must(t, "AppendAuditEvent "+e.ID, s.AppendAuditEvent(ctx, e))
	}
	wantErr(t, "AppendAuditEvent duplicate ID", s.AppendAuditEvent(ctx, ev("e1", time.Hour)), store.ErrAlreadyExists)

	events, err = s.ListAuditEvents(ctx, time.Time{}, 0)
	checkList(t, "ListAuditEvents all", events, err, e3, e4, e2, e1)
	events, err = s.ListAuditEvents(ctx, time.Time{}, 2)
	checkList(t, "ListAuditEvents limit", events, err, e3, e4)
	events, err = s.ListAuditEvents(ctx, at(time.Minute), 0) // inclusive
	checkList(t, "ListAuditEvents since", events, err, e3, e4, e2)
	events, err = s.ListAuditEvents(ctx, at(time.Minute).UTC(), 0) // any zone
	checkList(t, "ListAuditEvents since UTC", events, err, e3, e4, e2)
	events, err = s.ListAuditEvents(ctx, at(time.Minute+time.Microsecond), 0)
	checkList(t, "ListAuditEvents since exclusive", events, err, e3)
	events, err = s.ListAuditEvents(ctx, at(30*time.Second), 2)
	checkList(t, "ListAuditEvents since and limit", events, err, e3, e4)
	events, err = s.ListAuditEvents(ctx, at(time.Hour), 0)
	checkList(t, "ListAuditEvents since future", events, err)
}

// testAuditEventBatches checks AppendAuditEvents: slice order among equal times,
// batches larger than one statement, unique IDs and all-or-nothing failure.
func testAuditEventBatches(t *testing.T, s store.Store) {
	ctx := t.Context()
	ev := func(id string, d time.Duration) store.AuditEvent {
		return store.AuditEvent{ID: id, Time: at(d), RequestID: "req-" + id, Action: "sts:AssumeRoleWithWebIdentity",
			Caller: "https://issuer sub", Role: "arn:aws:iam::000000000000:role/deploy", Decision: "Allowed",
			Detail: []byte(`{"service":"sts","sourceIp":"127.0.0.1"}`)}
	}
	must(t, "AppendAuditEvents nil", s.AppendAuditEvents(ctx, nil))
	must(t, "AppendAuditEvents empty", s.AppendAuditEvents(ctx, []store.AuditEvent{}))
	events, err := s.ListAuditEvents(ctx, time.Time{}, 0)
	checkList(t, "ListAuditEvents after empty batches", events, err)

	single := ev("single", time.Minute)
	must(t, "AppendAuditEvent single", s.AppendAuditEvent(ctx, single))
	// 150 events (more than one multi-row statement in the SQL backends), all at
	// the same time as single except the first, which is older, and one newer.
	var batch []store.AuditEvent
	for i := range 150 {
		d := time.Minute
		switch i {
		case 0:
			d = 0
		case 77:
			d = time.Hour
		}
		e := ev(fmt.Sprintf("b%03d", i), d)
		if i%2 == 1 {
			e.Detail, e.Decision = nil, "Denied"
		}
		batch = append(batch, e)
	}
	must(t, "AppendAuditEvents", s.AppendAuditEvents(ctx, batch))
	// Newest first; ties: last appended first.
	exp := []store.AuditEvent{batch[77]}
	for i := len(batch) - 1; i >= 1; i-- {
		if i != 77 {
			exp = append(exp, batch[i])
		}
	}
	exp = append(exp, single, batch[0])
	events, err = s.ListAuditEvents(ctx, time.Time{}, 0)
	checkList(t, "ListAuditEvents after batch", events, err, exp...)

	// A later single append after a batch lists before it among equal times.
	after := ev("after", time.Minute)
	must(t, "AppendAuditEvent after batch", s.AppendAuditEvent(ctx, after))
	events, err = s.ListAuditEvents(ctx, at(time.Minute), 2)
	checkList(t, "ListAuditEvents newest two", events, err, batch[77], after)

	// Atomic: a duplicate (of a stored event, or within the batch, even past the
	// first statement) fails the whole batch and appends nothing.
	before, err := s.ListAuditEvents(ctx, time.Time{}, 0)
	must(t, "ListAuditEvents before failing batches", err)
	var big []store.AuditEvent
	for i := range 100 {
		big = append(big, ev(fmt.Sprintf("new%03d", i), 2*time.Hour))
	}
	withStored := append(append([]store.AuditEvent{}, big...), ev("b042", 3*time.Hour))
	wantErr(t, "AppendAuditEvents with a stored ID", s.AppendAuditEvents(ctx, withStored), store.ErrAlreadyExists)
	withTwin := append(append([]store.AuditEvent{}, big...), ev("new003", 3*time.Hour))
	wantErr(t, "AppendAuditEvents with a repeated ID", s.AppendAuditEvents(ctx, withTwin), store.ErrAlreadyExists)
	events, err = s.ListAuditEvents(ctx, time.Time{}, 0)
	checkList(t, "ListAuditEvents after failed batches", events, err, before...)

	// The store is still usable, and the failed IDs are free.
	must(t, "AppendAuditEvents after failures", s.AppendAuditEvents(ctx, big[:3]))
	events, err = s.ListAuditEvents(ctx, at(2*time.Hour), 0)
	checkList(t, "ListAuditEvents retried batch", events, err, big[2], big[1], big[0])
}

// testTimePrecision checks that times keep microseconds, come back in UTC, and that
// zero times stay zero.
func testTimePrecision(t *testing.T, s store.Store) {
	ctx := t.Context()
	created := time.Date(2031, 12, 31, 23, 59, 59, 999999999, time.FixedZone("W", -8*3600))
	k := store.SigningKey{ID: "k", Algorithm: "ES256", State: store.KeyPrepared, CreatedAt: created}
	must(t, "CreateSigningKey", s.CreateSigningKey(ctx, k))
	got, err := s.GetSigningKey(ctx, "k")
	check(t, "GetSigningKey", got, err, k)
	if got.CreatedAt.Nanosecond() != 999999000 || got.CreatedAt.Location() != time.UTC {
		t.Fatalf("CreatedAt = %v, want microsecond precision in UTC", got.CreatedAt)
	}
	if !got.ActivatedAt.IsZero() || !got.RetiredAt.IsZero() || !got.NotAfter.IsZero() {
		t.Fatalf("zero times read back as %v, %v, %v", got.ActivatedAt, got.RetiredAt, got.NotAfter)
	}
	old := time.Date(1969, 7, 20, 20, 17, 40, 123456000, time.UTC)
	w := store.Workspace{Slug: "w", UUID: "u", CreatedAt: old}
	must(t, "CreateWorkspace", s.CreateWorkspace(ctx, w))
	gotW, err := s.GetWorkspace(ctx, "w")
	check(t, "GetWorkspace pre-1970", gotW, err, w)
}
