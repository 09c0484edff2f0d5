package store

import (
	"context"
	"time"
)

// PipelineVariableStore keeps Bitbucket Pipelines variables: those of a
// workspace, of a repository and of a repository's deployment environment.
// A variable's value is opaque bytes: the caller seals a secured value
// (package keywrap) before it gets here, so the backend never sees it.
//
// Conventions, beyond Store's (store/storetest.RunPipelineVariables checks
// them): a key is unique within its scope, case-sensitively, and the same key
// may live in other scopes; a variable is addressed by its scope and UUID, so
// one asked for under another scope is not found; lists are ordered by key in
// byte order; creating a variable whose workspace, repository or environment
// is missing gives ErrNotFound; an empty value reads back as nil.
type PipelineVariableStore interface {
	// CreatePipelineVariable stores a new variable; ErrAlreadyExists if its
	// scope holds its key (or its UUID is taken).
	CreatePipelineVariable(ctx context.Context, v PipelineVariable) error
	// GetPipelineVariable returns the variable of scope with UUID id.
	GetPipelineVariable(ctx context.Context, scope VariableScope, id string) (PipelineVariable, error)
	// ListPipelineVariables returns the variables of one scope (not those of
	// the scopes around it), ordered by key.
	ListPipelineVariables(ctx context.Context, scope VariableScope) ([]PipelineVariable, error)
	// UpdatePipelineVariable replaces a variable with what fn returns, in a
	// transaction. fn may change the key (ErrAlreadyExists if the scope holds
	// the new one), the value, Secured and UpdatedAt; changing the scope, the
	// UUID or CreatedAt is an error.
	UpdatePipelineVariable(ctx context.Context, scope VariableScope, id string, fn func(PipelineVariable) (PipelineVariable, error)) error
	// DeletePipelineVariable deletes a variable.
	DeletePipelineVariable(ctx context.Context, scope VariableScope, id string) error
}

// VariableScope is where a pipeline variable lives: a workspace (Repository
// and Environment empty), a repository of it (Environment empty) or a
// deployment environment of that repository.
type VariableScope struct {
	Workspace  string // workspace slug
	Repository string // repository slug; empty for the workspace's variables
	// Environment is the deployment environment's name; empty for the
	// repository's or the workspace's variables.
	Environment string
}

// PipelineVariable is one Bitbucket Pipelines variable.
type PipelineVariable struct {
	Scope VariableScope
	UUID  string // lower-case, without braces
	Key   string
	// Value is the value as stored: the plain bytes of a variable that is not
	// secured, the sealed bytes of one that is.
	Value     []byte
	Secured   bool
	CreatedAt time.Time
	UpdatedAt time.Time
}
