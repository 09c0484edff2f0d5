package storetest

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/keyless-dev/keyless/store"
)

// RunSecrets runs the conformance suite of store.SecretStore. open must
// return a new, empty store for each call and close it when the test ends.
// Beyond the interface's comments, the suite pins down:
//
//   - Names are case-sensitive and list in byte order; an ARN, like a name,
//     names one secret; a secret without versions reads back with nil
//     Versions; empty stages and tags read back as nil.
//   - Versions read back oldest first, then by ID, whatever order they were
//     written in; ListSecrets gives them without their values.
//   - UpdateSecret adds, rewrites and drops versions to match what the
//     callback returns; a callback that renames the secret, changes its ARN,
//     or changes a stored version's value or creation time writes nothing.
//   - Concurrent updates of one secret lose none of each other's versions.
//   - Deleting a secret deletes its versions: a secret created again under
//     its name starts without them.
func RunSecrets(t *testing.T, open func(t *testing.T) store.SecretStore) {
	t.Helper()
	tests := []struct {
		name string
		fn   func(t *testing.T, s store.SecretStore)
	}{
		{"CreateGet", testSecretCreateGet},
		{"List", testSecretList},
		{"VersionOrder", testSecretVersionOrder},
		{"Update", testSecretUpdate},
		{"UpdateRefusals", testSecretUpdateRefusals},
		{"Delete", testSecretDelete},
		{"ConcurrentUpdates", testSecretConcurrentUpdates},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.fn(t, open(t))
		})
	}
}

// secretARN is the ARN of a test secret.
func secretARN(name string) string {
	return "arn:aws:secretsmanager:us-east-1:000000000000:secret:" + name + "-AbC123"
}

// secretVersion returns a version with a sealed-looking value unique to id.
func secretVersion(id string, d time.Duration, stages ...string) store.SecretVersion {
	return store.SecretVersion{ID: id, Stages: stages, Value: append([]byte{0x01, 0x00, 0xff}, id...), CreatedAt: at(d)}
}

// wantSecret returns s as a backend must read it back; withValues false
// drops the versions' values, as ListSecrets does.
func wantSecret(s store.Secret, withValues bool) store.Secret {
	s.Tags = nilSlice(slices.Clone(s.Tags))
	s.CreatedAt, s.LastChangedAt, s.LastAccessedAt = norm(s.CreatedAt), norm(s.LastChangedAt), norm(s.LastAccessedAt)
	s.DeletedAt, s.DeletionDate = norm(s.DeletedAt), norm(s.DeletionDate)
	if len(s.Versions) == 0 {
		s.Versions = nil
		return s
	}
	vs := make([]store.SecretVersion, len(s.Versions))
	for i, v := range s.Versions {
		v.Stages, v.Value = nilSlice(slices.Clone(v.Stages)), nilBytes(slices.Clone(v.Value))
		if !withValues {
			v.Value = nil
		}
		v.CreatedAt, v.LastAccessedAt = norm(v.CreatedAt), norm(v.LastAccessedAt)
		vs[i] = v
	}
	slices.SortStableFunc(vs, func(a, b store.SecretVersion) int {
		if c := a.CreatedAt.Compare(b.CreatedAt); c != 0 {
			return c
		}
		switch {
		case a.ID < b.ID:
			return -1
		case a.ID > b.ID:
			return 1
		}
		return 0
	})
	s.Versions = vs
	return s
}

// checkSecret fails the test unless err is nil and got is exp as read back.
func checkSecret(t *testing.T, op string, got store.Secret, err error, exp store.Secret) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", op, err)
	}
	if w := wantSecret(exp, true); !reflect.DeepEqual(got, w) {
		t.Fatalf("%s:\n got %+v\nwant %+v", op, got, w)
	}
}

// getSecret returns the secret named name, failing the test if it is missing.
func getSecret(t *testing.T, s store.SecretStore, name string) store.Secret {
	t.Helper()
	got, err := s.GetSecret(t.Context(), name)
	if err != nil {
		t.Fatalf("GetSecret(%q): %v", name, err)
	}
	return got
}

func testSecretCreateGet(t *testing.T, s store.SecretStore) {
	ctx := t.Context()
	full := store.Secret{
		Name: "prod/db", ARN: secretARN("prod/db"), Description: "the database", KMSKeyID: "alias/aws/secretsmanager",
		Tags:      []store.Tag{{Key: "team", Value: "core"}, {Key: "env", Value: ""}},
		CreatedAt: at(0), LastChangedAt: at(time.Second), LastAccessedAt: at(24 * time.Hour),
		Versions: []store.SecretVersion{
			secretVersion("v1-0000000000000000000000000000000", 0, "AWSPREVIOUS"),
			{ID: "v2-0000000000000000000000000000000", Stages: []string{"AWSCURRENT", "blue"}, CreatedAt: at(time.Second),
				LastAccessedAt: at(24 * time.Hour), Value: func() []byte {
					b := make([]byte, 256)
					for i := range b {
						b[i] = byte(i)
					}
					return b
				}()},
		},
	}
	must(t, "CreateSecret", s.CreateSecret(ctx, full))
	got, err := s.GetSecret(ctx, "prod/db")
	checkSecret(t, "GetSecret", got, err, full)

	bare := store.Secret{Name: "Prod/db", ARN: secretARN("Prod/db"), CreatedAt: at(time.Minute), LastChangedAt: at(time.Minute),
		Tags: []store.Tag{}, Versions: []store.SecretVersion{}}
	must(t, "CreateSecret of a name differing only in case", s.CreateSecret(ctx, bare))
	got, err = s.GetSecret(ctx, "Prod/db")
	checkSecret(t, "GetSecret of a secret without versions", got, err, bare)
	if got.Versions != nil || got.Tags != nil {
		t.Errorf("empty versions and tags read back as %#v and %#v, want nil", got.Versions, got.Tags)
	}

	dup := full
	dup.ARN = secretARN("other")
	wantErr(t, "CreateSecret of a taken name", s.CreateSecret(ctx, dup), store.ErrAlreadyExists)
	dup = full
	dup.Name = "other"
	wantErr(t, "CreateSecret of a taken ARN", s.CreateSecret(ctx, dup), store.ErrAlreadyExists)
	if _, err := s.GetSecret(ctx, "other"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("the refused CreateSecret left secret %q behind (%v)", "other", err)
	}
	_, err = s.GetSecret(ctx, "PROD/DB")
	wantErr(t, "GetSecret of an unknown name", err, store.ErrNotFound)

	// The store keeps no reference to the caller's slices, nor hands out its own.
	mine := store.Secret{Name: "copied", ARN: secretARN("copied"), Tags: []store.Tag{{Key: "k", Value: "v"}},
		Versions: []store.SecretVersion{secretVersion("c1-0000000000000000000000000000000", 0, "AWSCURRENT")}}
	must(t, "CreateSecret copied", s.CreateSecret(ctx, mine))
	exp := wantSecret(mine, true)
	mine.Versions[0].Value[0], mine.Versions[0].Stages[0], mine.Tags[0].Key = 0x7f, "changed", "changed"
	got = getSecret(t, s, "copied")
	if !reflect.DeepEqual(got, exp) {
		t.Fatalf("the stored secret changed with the caller's slices:\n got %+v\nwant %+v", got, exp)
	}
	got.Versions[0].Value[0] = 0x7e
	if again := getSecret(t, s, "copied"); !reflect.DeepEqual(again, exp) {
		t.Fatalf("the stored secret changed with a slice GetSecret returned:\n got %+v\nwant %+v", again, exp)
	}
}

func testSecretList(t *testing.T, s store.SecretStore) {
	ctx := t.Context()
	if got, err := s.ListSecrets(ctx); err != nil || len(got) != 0 {
		t.Fatalf("ListSecrets of an empty store = %v, %v; want none", got, err)
	}
	var created []store.Secret
	for i, name := range []string{"b", "é", "a/b", "B", "a", "a-b", "a_b"} {
		sec := store.Secret{Name: name, ARN: secretARN(name), CreatedAt: at(time.Duration(i) * time.Second)}
		if i%2 == 0 {
			sec.Versions = []store.SecretVersion{
				secretVersion(fmt.Sprintf("%s-2-00000000000000000000000000000000", name), time.Minute, "AWSCURRENT"),
				secretVersion(fmt.Sprintf("%s-1-00000000000000000000000000000000", name), 0),
			}
		}
		must(t, "CreateSecret "+name, s.CreateSecret(ctx, sec))
		created = append(created, sec)
	}
	slices.SortFunc(created, func(a, b store.Secret) int {
		switch {
		case a.Name < b.Name:
			return -1
		case a.Name > b.Name:
			return 1
		}
		return 0
	})
	got, err := s.ListSecrets(ctx)
	if err != nil {
		t.Fatalf("ListSecrets: %v", err)
	}
	var w []store.Secret
	for _, c := range created {
		w = append(w, wantSecret(c, false))
	}
	if !reflect.DeepEqual(got, w) {
		t.Fatalf("ListSecrets (names in byte order, versions oldest first, no values):\n got %+v\nwant %+v", got, w)
	}
}

func testSecretVersionOrder(t *testing.T, s store.SecretStore) {
	ctx := t.Context()
	sec := store.Secret{Name: "ordered", ARN: secretARN("ordered"), Versions: []store.SecretVersion{
		secretVersion("c-0000000000000000000000000000000000", 2*time.Second),
		secretVersion("b-0000000000000000000000000000000000", time.Second),
		secretVersion("a-0000000000000000000000000000000000", 2*time.Second),
		secretVersion("z-0000000000000000000000000000000000", 0, "AWSCURRENT"),
	}}
	must(t, "CreateSecret", s.CreateSecret(ctx, sec))
	var ids []string
	for _, v := range getSecret(t, s, "ordered").Versions {
		ids = append(ids, v.ID[:1])
	}
	if fmt.Sprint(ids) != "[z b a c]" {
		t.Fatalf("versions read back in order %v, want oldest first, then by ID: [z b a c]", ids)
	}
	// A version added later, dated earlier, still sorts by its date.
	must(t, "UpdateSecret", s.UpdateSecret(ctx, "ordered", func(cur store.Secret) (store.Secret, error) {
		cur.Versions = append(cur.Versions, secretVersion("y-0000000000000000000000000000000000", -time.Second))
		return cur, nil
	}))
	if got := getSecret(t, s, "ordered").Versions[0].ID; got[:1] != "y" {
		t.Fatalf("first version after adding an older one is %q, want y…", got)
	}
}

func testSecretUpdate(t *testing.T, s store.SecretStore) {
	ctx := t.Context()
	v1 := secretVersion("11111111-1111-1111-1111-111111111111", 0, "AWSCURRENT")
	sec := store.Secret{Name: "app", ARN: secretARN("app"), Description: "d", CreatedAt: at(0), LastChangedAt: at(0),
		Versions: []store.SecretVersion{v1}}
	must(t, "CreateSecret", s.CreateSecret(ctx, sec))

	// A rotation: a new version, AWSCURRENT moved to it, AWSPREVIOUS to the old one.
	v2 := secretVersion("22222222-2222-2222-2222-222222222222", time.Hour, "AWSCURRENT")
	var exp store.Secret
	must(t, "UpdateSecret (new version, stages moved)", s.UpdateSecret(ctx, "app", func(cur store.Secret) (store.Secret, error) {
		checkSecret(t, "UpdateSecret's callback argument", cur, nil, sec)
		cur.Versions[0].Stages = []string{"AWSPREVIOUS"}
		cur.Versions = append(cur.Versions, v2)
		cur.Description, cur.KMSKeyID = "changed", "arn:aws:kms:us-east-1:000000000000:key/k"
		cur.Tags = []store.Tag{{Key: "a", Value: "1"}}
		cur.LastChangedAt = at(time.Hour)
		exp = cur
		return cur, nil
	}))
	got, err := s.GetSecret(ctx, "app")
	checkSecret(t, "GetSecret after the rotation", got, err, exp)

	// Stages removed entirely (a deprecated version), last access recorded,
	// deletion scheduled.
	must(t, "UpdateSecret (deprecate, access, schedule deletion)", s.UpdateSecret(ctx, "app", func(cur store.Secret) (store.Secret, error) {
		cur.Versions[0].Stages = nil
		cur.Versions[1].LastAccessedAt = at(48 * time.Hour)
		cur.LastAccessedAt = at(48 * time.Hour)
		cur.DeletedAt, cur.DeletionDate = at(49*time.Hour), at(49*time.Hour+7*24*time.Hour)
		cur.Tags = nil
		exp = cur
		return cur, nil
	}))
	got, err = s.GetSecret(ctx, "app")
	checkSecret(t, "GetSecret after deprecating v1", got, err, exp)

	// A version dropped; deletion cancelled.
	must(t, "UpdateSecret (drop a version, restore)", s.UpdateSecret(ctx, "app", func(cur store.Secret) (store.Secret, error) {
		cur.Versions = cur.Versions[1:]
		cur.DeletedAt, cur.DeletionDate = time.Time{}, time.Time{}
		exp = cur
		return cur, nil
	}))
	got, err = s.GetSecret(ctx, "app")
	checkSecret(t, "GetSecret after dropping v1", got, err, exp)
	if len(got.Versions) != 1 || got.Versions[0].ID != v2.ID {
		t.Fatalf("versions after the drop: %+v, want only %s", got.Versions, v2.ID)
	}

	err = s.UpdateSecret(ctx, "missing", noCall[store.Secret](t))
	wantErr(t, "UpdateSecret of a missing secret", err, store.ErrNotFound)
}

func testSecretUpdateRefusals(t *testing.T, s store.SecretStore) {
	ctx := t.Context()
	sec := store.Secret{Name: "fixed", ARN: secretARN("fixed"), Description: "before",
		Versions: []store.SecretVersion{secretVersion("aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa", 0, "AWSCURRENT")}}
	must(t, "CreateSecret", s.CreateSecret(ctx, sec))
	must(t, "CreateSecret other", s.CreateSecret(ctx, store.Secret{Name: "other", ARN: secretARN("other")}))
	boom := errors.New("boom")
	tests := []struct {
		name   string
		change func(*store.Secret)
		err    error // the error wanted (nil: any error)
	}{
		{"rename", func(c *store.Secret) { c.Name = "renamed" }, nil},
		{"rename onto another", func(c *store.Secret) { c.Name = "other" }, nil},
		{"new ARN", func(c *store.Secret) { c.ARN = secretARN("fixed2") }, nil},
		{"changed value", func(c *store.Secret) { c.Versions[0].Value = []byte("x") }, nil},
		{"changed creation time", func(c *store.Secret) { c.Versions[0].CreatedAt = at(time.Hour) }, nil},
		{"duplicate version", func(c *store.Secret) { c.Versions = append(c.Versions, c.Versions[0]) }, nil},
		{"callback error", func(*store.Secret) {}, boom},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := s.UpdateSecret(ctx, "fixed", func(cur store.Secret) (store.Secret, error) {
				cur.Description = "after"
				cur.Versions = append(cur.Versions, secretVersion("bbbbbbbb-bbbb-bbbb-bbbb-bbbbbbbbbbbb", time.Second))
				tc.change(&cur)
				if tc.err != nil {
					return cur, tc.err
				}
				return cur, nil
			})
			if err == nil || tc.err != nil && !errors.Is(err, tc.err) {
				t.Fatalf("UpdateSecret that does %s = %v, want an error", tc.name, err)
			}
			got, err := s.GetSecret(ctx, "fixed")
			checkSecret(t, "GetSecret after the refused update", got, err, sec)
			if _, err := s.GetSecret(ctx, "renamed"); !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("the refused update created %q (%v)", "renamed", err)
			}
		})
	}
}

func testSecretDelete(t *testing.T, s store.SecretStore) {
	ctx := t.Context()
	sec := store.Secret{Name: "gone", ARN: secretARN("gone"), Versions: []store.SecretVersion{
		secretVersion("dddddddd-dddd-dddd-dddd-dddddddddddd", 0, "AWSCURRENT")}}
	must(t, "CreateSecret", s.CreateSecret(ctx, sec))
	must(t, "DeleteSecret", s.DeleteSecret(ctx, "gone"))
	_, err := s.GetSecret(ctx, "gone")
	wantErr(t, "GetSecret after DeleteSecret", err, store.ErrNotFound)
	wantErr(t, "DeleteSecret again", s.DeleteSecret(ctx, "gone"), store.ErrNotFound)

	again := store.Secret{Name: "gone", ARN: "arn:aws:secretsmanager:us-east-1:000000000000:secret:gone-XyZ789"}
	must(t, "CreateSecret under the deleted one's name", s.CreateSecret(ctx, again))
	got, err := s.GetSecret(ctx, "gone")
	checkSecret(t, "GetSecret of the new secret (no versions of the old)", got, err, again)
	if l, err := s.ListSecrets(ctx); err != nil || len(l) != 1 || l[0].Versions != nil {
		t.Fatalf("ListSecrets after delete and create = %+v, %v; want the new secret alone, without versions", l, err)
	}
}

func testSecretConcurrentUpdates(t *testing.T, s store.SecretStore) {
	ctx := t.Context()
	must(t, "CreateSecret", s.CreateSecret(ctx, store.Secret{Name: "busy", ARN: secretARN("busy")}))
	const n = 8
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- s.UpdateSecret(ctx, "busy", func(cur store.Secret) (store.Secret, error) {
				cur.Versions = append(cur.Versions, secretVersion(fmt.Sprintf("%02d-00000000000000000000000000000000", i), time.Duration(i)*time.Second))
				return cur, nil
			})
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		must(t, "concurrent UpdateSecret", err)
	}
	if got := getSecret(t, s, "busy").Versions; len(got) != n {
		t.Fatalf("after %d concurrent updates each adding a version, the secret has %d versions: %+v", n, len(got), got)
	}
}
