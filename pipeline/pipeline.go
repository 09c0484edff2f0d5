// Package pipeline reads Bitbucket Pipelines files (bitbucket-pipelines.yml):
// the schema, YAML anchors and aliases, the choice of a pipeline by trigger
// (default, branches, tags, pull-requests, custom) with Bitbucket's globs,
// and the checks `keyless pipeline validate` makes. Package pipeline/run
// runs the steps of a chosen pipeline against the local stack.
package pipeline

import "time"

// File is a parsed bitbucket-pipelines.yml.
type File struct {
	// Image is the default image (reported, not run: keyless runs scripts on
	// the host).
	Image string
	// MaxTime and Size are options.max-time and options.size (the defaults
	// for every step); zero when not set.
	MaxTime time.Duration
	Size    string
	// Caches and Services are the names declared under definitions.caches
	// and definitions.services (named, not run).
	Caches   []string
	Services []string
	// Pipelines by trigger: Default, and the named ones of each kind in file
	// order.
	Default      *Pipeline
	Branches     []Named
	Tags         []Named
	PullRequests []Named
	Custom       []Named
}

// Named is a pipeline under a glob or a name (branches, tags, pull-requests,
// custom).
type Named struct {
	Pattern  string
	Pipeline *Pipeline
}

// Pipeline is what runs for one trigger: its stages in order. A plain step is
// a stage of one step; a parallel group is a stage of several; a `stage:` is
// its steps in order (Stage.Name set).
type Pipeline struct {
	Stages []Stage
	// Variables are the variables a custom pipeline asks for when run by
	// hand (its leading `- variables:` item); nil for other pipelines.
	Variables []Variable
	// Line is where the pipeline's list starts in the file (1-based).
	Line int
}

// Variable is one variable a custom pipeline declares.
type Variable struct {
	Name          string
	Default       string
	AllowedValues []string
	Description   string
}

// Stage is steps that run together (Parallel) or in order.
type Stage struct {
	Name       string
	Deployment string // a stage's deployment environment, if set
	Parallel   bool
	Steps      []*Step
	// FailFast is a parallel group's fail-fast: true.
	FailFast bool
	// Changesets are a stage's condition.changesets.includePaths globs.
	Changesets []string
	// Line is where the stage, parallel group or step starts (1-based).
	Line int
}

// Step is one step of a pipeline.
type Step struct {
	Name        string
	Image       string
	Script      []Command
	AfterScript []Command
	OIDC        bool
	Deployment  string // deployment environment name (test, staging, production, or custom)
	Trigger     string // automatic (default) or manual
	Size        string
	Caches      []string
	Services    []string
	MaxTime     time.Duration
	// Changesets are condition.changesets.includePaths globs.
	Changesets []string
	// ExcludePaths are condition.changesets.excludePaths globs.
	ExcludePaths []string
	// Artifacts are the artifact globs (artifacts: as a list, or its paths:).
	Artifacts []string
	// RunsOn are the runner labels (runs-on:).
	RunsOn []string
	// FailFast is the step's fail-fast: true.
	FailFast bool
	// Line and Column are where the step starts in the file (1-based), for
	// messages. For a step written as an alias (`- step: *build`) they are
	// those of the anchored definition.
	Line   int
	Column int
}

// Command is one script entry: a shell command, or a pipe with variables.
//
// Pipe variables keep the text written in the file: a number or a boolean is
// its literal text ("1", "true"), an empty value is "". A list is passed the
// way Bitbucket passes array variables to pipes (the pipes toolkit reads them
// back): NAME_COUNT holds the number of items and NAME_0, NAME_1, … the items.
type Command struct {
	Shell string            // the command line, when not a pipe
	Pipe  string            // e.g. atlassian/aws-s3-deploy:1.1.0
	Vars  map[string]string // the pipe's variables, as written ($VAR unexpanded)
	// Line and Column are where the entry is in the file (1-based).
	Line   int
	Column int
}
