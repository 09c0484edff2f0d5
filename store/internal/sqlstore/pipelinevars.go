package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/keyless-dev/keyless/store"
)

// pipelineVariablesMigration is a schema step of its own: Bitbucket Pipelines
// variables (store.PipelineVariableStore). A workspace variable has no
// repository and no environment (NULL, so that the composite foreign keys
// are not checked for it), a repository variable no environment. A key is
// unique within its scope: the unique index is over the scope with NULL read
// as the empty string (NULLs would all be distinct). The variables go with their
// workspace, repository or environment.
var pipelineVariablesMigration = []string{
	`CREATE TABLE pipeline_variables (
		uuid        {text} PRIMARY KEY,
		workspace   {text} NOT NULL REFERENCES workspaces (slug) ON UPDATE CASCADE ON DELETE CASCADE,
		repository  {text},
		environment {text},
		var_key     {text} NOT NULL,
		value       {blob},
		secured     BOOLEAN NOT NULL,
		created_at  BIGINT,
		updated_at  BIGINT,
		CHECK (environment IS NULL OR repository IS NOT NULL),
		FOREIGN KEY (workspace, repository) REFERENCES repositories (workspace, slug)
			ON UPDATE CASCADE ON DELETE CASCADE,
		FOREIGN KEY (workspace, repository, environment) REFERENCES environments (workspace, repository, name)
			ON UPDATE CASCADE ON DELETE CASCADE
	)`,
	`CREATE UNIQUE INDEX pipeline_variables_scope_key ON pipeline_variables
		(workspace, COALESCE(repository, ''), COALESCE(environment, ''), var_key)`,
}

var _ store.PipelineVariableStore = (*Store)(nil)

const (
	pipelineVariableColumns = `uuid, workspace, repository, environment, var_key, value, secured, created_at, updated_at`
)

// scopeIs selects the rows of one scope, its three parameters (workspace,
// repository, environment) numbered from first. Its expressions are those of
// the unique index, which serves the lookup.
func scopeIs(first int) string {
	return fmt.Sprintf(`workspace = $%d AND COALESCE(repository, '') = $%d AND COALESCE(environment, '') = $%d`, first, first+1, first+2)
}

// checkScope refuses a scope no variable can have.
func checkScope(sc store.VariableScope) error {
	switch {
	case sc.Workspace == "":
		return errors.New("the scope names no workspace")
	case sc.Environment != "" && sc.Repository == "":
		return fmt.Errorf("the scope names environment %q but no repository", sc.Environment)
	}
	return nil
}

// nullString is the stored form of an optional scope part: NULL when empty.
func nullString(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func scanPipelineVariable(r row) (store.PipelineVariable, error) {
	var v store.PipelineVariable
	var repo, env sql.NullString
	var created, updated sql.NullInt64
	err := r.Scan(&v.UUID, &v.Scope.Workspace, &repo, &env, &v.Key, &v.Value, &v.Secured, &created, &updated)
	v.Scope.Repository, v.Scope.Environment = repo.String, env.String
	v.Value = nilIfEmpty(v.Value)
	v.CreatedAt, v.UpdatedAt = timeOf(created), timeOf(updated)
	return v, err
}

// CreatePipelineVariable stores a new pipeline variable; its workspace,
// repository and environment must exist (else an error wrapping
// store.ErrNotFound).
func (s *Store) CreatePipelineVariable(ctx context.Context, v store.PipelineVariable) error {
	if err := checkScope(v.Scope); err != nil {
		return fmt.Errorf("store: create pipeline variable %q: %w", v.Key, err)
	}
	_, err := s.w.ExecContext(ctx, `INSERT INTO pipeline_variables (`+pipelineVariableColumns+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
		v.UUID, v.Scope.Workspace, nullString(v.Scope.Repository), nullString(v.Scope.Environment),
		v.Key, blob(v.Value), v.Secured, micros(v.CreatedAt), micros(v.UpdatedAt))
	if err != nil {
		return fmt.Errorf("store: create pipeline variable %q: %w", v.Key, s.d.mapErr(err))
	}
	return nil
}

// selectPipelineVariable reads the variable of scope with UUID id through q;
// suffix ends the query (FOR UPDATE).
func selectPipelineVariable(ctx context.Context, q querier, scope store.VariableScope, id, suffix string) (store.PipelineVariable, error) {
	v, err := scanPipelineVariable(q.QueryRowContext(ctx,
		`SELECT `+pipelineVariableColumns+` FROM pipeline_variables WHERE uuid = $1 AND `+scopeIs(2)+suffix,
		id, scope.Workspace, scope.Repository, scope.Environment))
	if errors.Is(err, sql.ErrNoRows) {
		err = store.ErrNotFound
	}
	return v, err
}

// GetPipelineVariable returns the variable of scope with UUID id.
func (s *Store) GetPipelineVariable(ctx context.Context, scope store.VariableScope, id string) (store.PipelineVariable, error) {
	v, err := selectPipelineVariable(ctx, s.r, scope, id, "")
	if err != nil {
		return store.PipelineVariable{}, fmt.Errorf("store: get pipeline variable %q: %w", id, err)
	}
	return v, nil
}

// ListPipelineVariables returns the variables of one scope ordered by key.
func (s *Store) ListPipelineVariables(ctx context.Context, scope store.VariableScope) ([]store.PipelineVariable, error) {
	out, err := func() ([]store.PipelineVariable, error) {
		rows, err := s.r.QueryContext(ctx, `SELECT `+pipelineVariableColumns+` FROM pipeline_variables
			WHERE `+scopeIs(1)+` ORDER BY var_key`, scope.Workspace, scope.Repository, scope.Environment)
		if err != nil {
			return nil, err
		}
		defer func() { _ = rows.Close() }()
		var out []store.PipelineVariable
		for rows.Next() {
			v, err := scanPipelineVariable(rows)
			if err != nil {
				return nil, err
			}
			out = append(out, v)
		}
		return out, rows.Err()
	}()
	if err != nil {
		return nil, fmt.Errorf("store: list pipeline variables: %w", err)
	}
	return out, nil
}

// UpdatePipelineVariable replaces a variable with what fn returns, in a write
// transaction that holds the row.
func (s *Store) UpdatePipelineVariable(ctx context.Context, scope store.VariableScope, id string, fn func(store.PipelineVariable) (store.PipelineVariable, error)) error {
	err := func() error {
		tx, err := s.w.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		defer func() { _ = tx.Rollback() }()
		cur, err := selectPipelineVariable(ctx, tx, scope, id, s.d.ForUpdate)
		if err != nil {
			return err
		}
		next, err := fn(cur)
		if err != nil {
			return err
		}
		switch {
		case next.Scope != cur.Scope:
			return errors.New("a variable cannot move to another scope: create it there and delete this one")
		case next.UUID != cur.UUID:
			return errors.New("a variable's UUID cannot change")
		case !next.CreatedAt.Equal(cur.CreatedAt):
			return errors.New("a variable's creation time cannot change")
		}
		if _, err := tx.ExecContext(ctx, `UPDATE pipeline_variables SET var_key = $1, value = $2, secured = $3, updated_at = $4
			WHERE uuid = $5`, next.Key, blob(next.Value), next.Secured, micros(next.UpdatedAt), id); err != nil {
			return s.d.mapErr(err)
		}
		return tx.Commit()
	}()
	if err != nil {
		return fmt.Errorf("store: update pipeline variable %q: %w", id, err)
	}
	return nil
}

// DeletePipelineVariable deletes the variable of scope with UUID id.
func (s *Store) DeletePipelineVariable(ctx context.Context, scope store.VariableScope, id string) error {
	err := func() error {
		res, err := s.w.ExecContext(ctx, `DELETE FROM pipeline_variables WHERE uuid = $1 AND `+scopeIs(2),
			id, scope.Workspace, scope.Repository, scope.Environment)
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		if err != nil {
			return err
		}
		if n == 0 {
			return store.ErrNotFound
		}
		return nil
	}()
	if err != nil {
		return fmt.Errorf("store: delete pipeline variable %q: %w", id, err)
	}
	return nil
}
