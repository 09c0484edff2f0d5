package storetest

import (
	"errors"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/keyless-dev/keyless/store"
)

// RunPipelineVariables runs the conformance suite of
// store.PipelineVariableStore. open must return a new, empty store for each
// call (the workspaces, repositories and environments the variables belong to
// are made through its store.Store side) and close it when the test ends.
// Beyond the interface's comments, the suite pins down: a key is unique per
// scope and case-sensitive; the same key in a workspace, a repository and an
// environment are three variables; a variable looked up, updated or deleted
// under another scope (even one of its parents) is not found; times read back
// in UTC, truncated to the microsecond; an empty value reads back as nil; of
// concurrent updates of one variable none is lost.
func RunPipelineVariables(t *testing.T, open func(t *testing.T) store.Store) {
	t.Helper()
	tests := []struct {
		name string
		fn   func(t *testing.T, s pipelineVariableBackend)
	}{
		{"CreateGetList", testVariablesCreateGetList},
		{"Scopes", testVariablesScopes},
		{"MissingParents", testVariablesMissingParents},
		{"Update", testVariablesUpdate},
		{"Delete", testVariablesDelete},
		{"Cascade", testVariablesCascade},
		{"ConcurrentUpdates", testVariablesConcurrentUpdates},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := open(t)
			b, ok := s.(pipelineVariableBackend)
			if !ok {
				t.Fatalf("%T does not implement store.PipelineVariableStore", s)
			}
			tc.fn(t, b)
		})
	}
}

// pipelineVariableBackend is a store with both interfaces, as the SQL
// backends are.
type pipelineVariableBackend interface {
	store.Store
	store.PipelineVariableStore
}

var (
	wsScope   = store.VariableScope{Workspace: "acme"}
	repoScope = store.VariableScope{Workspace: "acme", Repository: "web"}
	envScope  = store.VariableScope{Workspace: "acme", Repository: "web", Environment: "Production"}
)

// directory makes workspace acme, its repositories web and api, and web's
// environments Production and Staging.
func directory(t *testing.T, s store.Store) {
	t.Helper()
	ctx := t.Context()
	must(t, "CreateWorkspace", s.CreateWorkspace(ctx, store.Workspace{Slug: "acme", UUID: "w", CreatedAt: at(0)}))
	for _, r := range []string{"web", "api"} {
		must(t, "CreateRepository "+r, s.CreateRepository(ctx, store.Repository{Workspace: "acme", Slug: r, UUID: "r-" + r, CreatedAt: at(0)}))
	}
	for _, e := range []string{"Production", "Staging"} {
		must(t, "CreateEnvironment "+e, s.CreateEnvironment(ctx, store.Environment{Workspace: "acme", Repository: "web", Name: e, UUID: "e-" + e, CreatedAt: at(0)}))
	}
}

// variable is a variable of scope created at base plus d.
func variable(scope store.VariableScope, id, key, value string, d time.Duration) store.PipelineVariable {
	return store.PipelineVariable{Scope: scope, UUID: id, Key: key, Value: []byte(value), CreatedAt: at(d), UpdatedAt: at(d)}
}

// wantVariable is v as a backend must read it back.
func wantVariable(v store.PipelineVariable) store.PipelineVariable {
	v.Value = nilBytes(v.Value)
	v.CreatedAt, v.UpdatedAt = norm(v.CreatedAt), norm(v.UpdatedAt)
	return v
}

func checkVariable(t *testing.T, op string, got store.PipelineVariable, err error, exp store.PipelineVariable) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", op, err)
	}
	if w := wantVariable(exp); !reflect.DeepEqual(got, w) {
		t.Fatalf("%s:\n got %+v\nwant %+v", op, got, w)
	}
}

func checkVariables(t *testing.T, op string, got []store.PipelineVariable, err error, exp ...store.PipelineVariable) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", op, err)
	}
	var w []store.PipelineVariable
	for _, e := range exp {
		w = append(w, wantVariable(e))
	}
	if len(got) != len(w) || (len(w) > 0 && !reflect.DeepEqual(got, w)) {
		t.Fatalf("%s:\n got %+v\nwant %+v", op, got, w)
	}
}

func testVariablesCreateGetList(t *testing.T, s pipelineVariableBackend) {
	ctx := t.Context()
	directory(t, s)
	vars, err := s.ListPipelineVariables(ctx, repoScope)
	checkVariables(t, "ListPipelineVariables empty", vars, err)

	b := variable(repoScope, "00000000-0000-0000-0000-00000000000b", "b_key", "plain", time.Minute)
	secret := variable(repoScope, "00000000-0000-0000-0000-00000000000a", "SECRET", "\x01sealed\x00bytes", 2*time.Minute)
	secret.Secured = true
	empty := variable(repoScope, "00000000-0000-0000-0000-00000000000c", "EMPTY", "", 0)
	lower := variable(repoScope, "00000000-0000-0000-0000-00000000000d", "secret", "other case", 0)
	for _, v := range []store.PipelineVariable{b, secret, empty, lower} {
		must(t, "CreatePipelineVariable "+v.Key, s.CreatePipelineVariable(ctx, v))
	}
	got, err := s.GetPipelineVariable(ctx, repoScope, secret.UUID)
	checkVariable(t, "GetPipelineVariable secured", got, err, secret)
	got, err = s.GetPipelineVariable(ctx, repoScope, empty.UUID)
	checkVariable(t, "GetPipelineVariable empty value", got, err, empty)
	if got.Value != nil {
		t.Errorf("an empty value reads back as %#v, want nil", got.Value)
	}
	// Byte order: upper case before underscore before lower case.
	vars, err = s.ListPipelineVariables(ctx, repoScope)
	checkVariables(t, "ListPipelineVariables", vars, err, empty, secret, b, lower)

	dup := variable(repoScope, "00000000-0000-0000-0000-0000000000ff", "SECRET", "again", 0)
	wantErr(t, "CreatePipelineVariable duplicate key", s.CreatePipelineVariable(ctx, dup), store.ErrAlreadyExists)
	sameID := variable(wsScope, b.UUID, "OTHER", "v", 0)
	wantErr(t, "CreatePipelineVariable duplicate UUID", s.CreatePipelineVariable(ctx, sameID), store.ErrAlreadyExists)
	_, err = s.GetPipelineVariable(ctx, repoScope, "00000000-0000-0000-0000-000000000099")
	wantErr(t, "GetPipelineVariable missing", err, store.ErrNotFound)

	if err := s.CreatePipelineVariable(ctx, variable(store.VariableScope{}, "00000000-0000-0000-0000-0000000000e1", "K", "v", 0)); err == nil {
		t.Error("CreatePipelineVariable with no workspace succeeded")
	}
	if err := s.CreatePipelineVariable(ctx, variable(store.VariableScope{Workspace: "acme", Environment: "Production"}, "00000000-0000-0000-0000-0000000000e2", "K", "v", 0)); err == nil {
		t.Error("CreatePipelineVariable with an environment but no repository succeeded")
	}
}

func testVariablesScopes(t *testing.T, s pipelineVariableBackend) {
	ctx := t.Context()
	directory(t, s)
	api := store.VariableScope{Workspace: "acme", Repository: "api"}
	staging := store.VariableScope{Workspace: "acme", Repository: "web", Environment: "Staging"}
	byScope := map[store.VariableScope]store.PipelineVariable{}
	for i, sc := range []store.VariableScope{wsScope, repoScope, envScope, api, staging} {
		v := variable(sc, fmt.Sprintf("00000000-0000-0000-0000-%012d", i+1), "AWS_ACCESS_KEY_ID", fmt.Sprintf("value %d", i), 0)
		must(t, fmt.Sprintf("CreatePipelineVariable in %+v", sc), s.CreatePipelineVariable(ctx, v))
		byScope[sc] = v
	}
	for sc, v := range byScope {
		vars, err := s.ListPipelineVariables(ctx, sc)
		checkVariables(t, fmt.Sprintf("ListPipelineVariables %+v", sc), vars, err, v)
		for other := range byScope {
			if other == sc {
				continue
			}
			_, err := s.GetPipelineVariable(ctx, other, v.UUID)
			wantErr(t, fmt.Sprintf("GetPipelineVariable of %+v under %+v", sc, other), err, store.ErrNotFound)
			wantErr(t, fmt.Sprintf("UpdatePipelineVariable of %+v under %+v", sc, other),
				s.UpdatePipelineVariable(ctx, other, v.UUID, noCall[store.PipelineVariable](t)), store.ErrNotFound)
			wantErr(t, fmt.Sprintf("DeletePipelineVariable of %+v under %+v", sc, other),
				s.DeletePipelineVariable(ctx, other, v.UUID), store.ErrNotFound)
		}
	}
	vars, err := s.ListPipelineVariables(ctx, store.VariableScope{Workspace: "nope"})
	checkVariables(t, "ListPipelineVariables unknown workspace", vars, err)
}

func testVariablesMissingParents(t *testing.T, s pipelineVariableBackend) {
	ctx := t.Context()
	for _, sc := range []store.VariableScope{wsScope, repoScope, envScope} {
		wantErr(t, fmt.Sprintf("CreatePipelineVariable in %+v before it exists", sc),
			s.CreatePipelineVariable(ctx, variable(sc, "00000000-0000-0000-0000-000000000001", "K", "v", 0)), store.ErrNotFound)
	}
	directory(t, s)
	for _, sc := range []store.VariableScope{
		{Workspace: "nope"},
		{Workspace: "acme", Repository: "nope"},
		{Workspace: "acme", Repository: "web", Environment: "nope"},
		{Workspace: "acme", Repository: "api", Environment: "Production"}, // web's, not api's
	} {
		wantErr(t, fmt.Sprintf("CreatePipelineVariable in missing %+v", sc),
			s.CreatePipelineVariable(ctx, variable(sc, "00000000-0000-0000-0000-000000000002", "K", "v", 0)), store.ErrNotFound)
	}
}

func testVariablesUpdate(t *testing.T, s pipelineVariableBackend) {
	ctx := t.Context()
	directory(t, s)
	a := variable(envScope, "00000000-0000-0000-0000-00000000000a", "A", "old", 0)
	b := variable(envScope, "00000000-0000-0000-0000-00000000000b", "B", "b", 0)
	must(t, "CreatePipelineVariable A", s.CreatePipelineVariable(ctx, a))
	must(t, "CreatePipelineVariable B", s.CreatePipelineVariable(ctx, b))

	must(t, "UpdatePipelineVariable", s.UpdatePipelineVariable(ctx, envScope, a.UUID, func(v store.PipelineVariable) (store.PipelineVariable, error) {
		if !reflect.DeepEqual(v, wantVariable(a)) {
			t.Errorf("the callback got %+v, want %+v", v, wantVariable(a))
		}
		v.Key, v.Value, v.Secured, v.UpdatedAt = "C", []byte("sealed"), true, at(time.Hour)
		return v, nil
	}))
	a.Key, a.Value, a.Secured, a.UpdatedAt = "C", []byte("sealed"), true, at(time.Hour)
	got, err := s.GetPipelineVariable(ctx, envScope, a.UUID)
	checkVariable(t, "GetPipelineVariable after update", got, err, a)
	vars, err := s.ListPipelineVariables(ctx, envScope)
	checkVariables(t, "ListPipelineVariables after rename", vars, err, b, a)

	wantErr(t, "UpdatePipelineVariable to a key the scope holds",
		s.UpdatePipelineVariable(ctx, envScope, a.UUID, func(v store.PipelineVariable) (store.PipelineVariable, error) {
			v.Key = "B"
			return v, nil
		}), store.ErrAlreadyExists)
	errStop := errors.New("stop")
	if err := s.UpdatePipelineVariable(ctx, envScope, a.UUID, func(v store.PipelineVariable) (store.PipelineVariable, error) {
		v.Value = []byte("not kept")
		return v, errStop
	}); !errors.Is(err, errStop) {
		t.Errorf("UpdatePipelineVariable with a failing callback: %v, want its error", err)
	}
	for name, change := range map[string]func(*store.PipelineVariable){
		"scope":      func(v *store.PipelineVariable) { v.Scope = repoScope },
		"uuid":       func(v *store.PipelineVariable) { v.UUID = "00000000-0000-0000-0000-0000000000ff" },
		"created at": func(v *store.PipelineVariable) { v.CreatedAt = at(time.Hour) },
	} {
		if err := s.UpdatePipelineVariable(ctx, envScope, a.UUID, func(v store.PipelineVariable) (store.PipelineVariable, error) {
			change(&v)
			v.Value = []byte("not kept")
			return v, nil
		}); err == nil {
			t.Errorf("UpdatePipelineVariable changing the %s succeeded", name)
		}
	}
	got, err = s.GetPipelineVariable(ctx, envScope, a.UUID)
	checkVariable(t, "GetPipelineVariable after refused updates", got, err, a)
	wantErr(t, "UpdatePipelineVariable missing",
		s.UpdatePipelineVariable(ctx, envScope, "00000000-0000-0000-0000-000000000099", noCall[store.PipelineVariable](t)), store.ErrNotFound)
}

func testVariablesDelete(t *testing.T, s pipelineVariableBackend) {
	ctx := t.Context()
	directory(t, s)
	a := variable(wsScope, "00000000-0000-0000-0000-00000000000a", "A", "a", 0)
	must(t, "CreatePipelineVariable", s.CreatePipelineVariable(ctx, a))
	must(t, "DeletePipelineVariable", s.DeletePipelineVariable(ctx, wsScope, a.UUID))
	_, err := s.GetPipelineVariable(ctx, wsScope, a.UUID)
	wantErr(t, "GetPipelineVariable after delete", err, store.ErrNotFound)
	wantErr(t, "DeletePipelineVariable again", s.DeletePipelineVariable(ctx, wsScope, a.UUID), store.ErrNotFound)
	// The key is free again.
	a.UUID = "00000000-0000-0000-0000-00000000000b"
	must(t, "CreatePipelineVariable after delete", s.CreatePipelineVariable(ctx, a))
}

// testVariablesCascade: a workspace renamed takes its variables along (the
// store's rows follow a renamed record).
func testVariablesCascade(t *testing.T, s pipelineVariableBackend) {
	ctx := t.Context()
	directory(t, s)
	for i, sc := range []store.VariableScope{wsScope, repoScope, envScope} {
		must(t, "CreatePipelineVariable", s.CreatePipelineVariable(ctx, variable(sc, fmt.Sprintf("00000000-0000-0000-0000-%012d", i), "K", "v", 0)))
	}
	must(t, "UpdateWorkspace rename", s.UpdateWorkspace(ctx, "acme", func(w store.Workspace) (store.Workspace, error) {
		w.Slug = "renamed"
		return w, nil
	}))
	for _, sc := range []store.VariableScope{wsScope, repoScope, envScope} {
		sc.Workspace = "renamed"
		vars, err := s.ListPipelineVariables(ctx, sc)
		if err != nil || len(vars) != 1 || vars[0].Scope != sc {
			t.Errorf("ListPipelineVariables %+v after the rename = %+v, %v; want its one variable", sc, vars, err)
		}
	}
}

func testVariablesConcurrentUpdates(t *testing.T, s pipelineVariableBackend) {
	ctx := t.Context()
	directory(t, s)
	const n = 20
	v := variable(repoScope, "00000000-0000-0000-0000-00000000000a", "COUNTER", "", 0)
	must(t, "CreatePipelineVariable", s.CreatePipelineVariable(ctx, v))
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for range n {
		wg.Go(func() {
			errs <- s.UpdatePipelineVariable(ctx, repoScope, v.UUID, func(v store.PipelineVariable) (store.PipelineVariable, error) {
				v.Value = append(v.Value, 'x')
				return v, nil
			})
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("concurrent update: %v", err)
		}
	}
	got, err := s.GetPipelineVariable(ctx, repoScope, v.UUID)
	must(t, "GetPipelineVariable", err)
	if len(got.Value) != n {
		t.Errorf("after %d concurrent appends the value has %d bytes", n, len(got.Value))
	}
}
