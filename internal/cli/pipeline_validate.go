package cli

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/keyless-dev/keyless/pipeline"
)

// pipelineValidateReport is `keyless pipeline validate --output json`.
type pipelineValidateReport struct {
	File      string             `json:"file"`
	Valid     bool               `json:"valid"`
	Errors    int                `json:"errors"`
	Warnings  int                `json:"warnings"`
	Pipelines []string           `json:"pipelines,omitempty"`
	Findings  []pipeline.Finding `json:"findings"`
}

// newPipelineValidateCmd is `keyless pipeline validate [FILE]`; the `pipeline`
// parent command adds it.
func newPipelineValidateCmd(s Streams) *cobra.Command {
	var (
		output string
		envs   []string
	)
	cmd := &cobra.Command{
		Use:   "validate [FILE]",
		Short: "Check a bitbucket-pipelines.yml before pushing it",
		Long: `Check a bitbucket-pipelines.yml (default ./bitbucket-pipelines.yml) the way a
reviewer would before pushing it: Bitbucket's schema (unknown keys, wrong types,
YAML anchors, aliases and merge keys resolved) with line and column, steps that
use a web identity (AWS_OIDC_ROLE_ARN passed to an AWS pipe,
AWS_WEB_IDENTITY_TOKEN_FILE, BITBUCKET_STEP_OIDC_TOKEN) without oidc: true, AWS
calls with long-lived keys, deployment environments that are not declared, and
pipes keyless pipeline run cannot run.

Exit status: 0 when there are no errors (warnings are printed), 1 when there
are errors.`,
		Example: `  keyless pipeline validate
  keyless pipeline validate ci/bitbucket-pipelines.yml --environment qa --output json`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if output != "text" && output != "json" {
				return fmt.Errorf("--output %q: write text or json", output)
			}
			path := "bitbucket-pipelines.yml"
			if len(args) == 1 {
				path = args[0]
			}
			data, err := os.ReadFile(path)
			if err != nil {
				return fmt.Errorf("read pipelines file: %w", err)
			}
			rep := pipelineValidateReport{File: path}
			f, err := pipeline.Parse(data)
			if err != nil {
				rep.Findings = pipeline.SchemaFindings(err)
			} else {
				rep.Pipelines = f.Selectors()
				rep.Findings = pipeline.Validate(f, pipeline.Options{Environments: envs})
			}
			if rep.Findings == nil {
				rep.Findings = []pipeline.Finding{}
			}
			for _, fd := range rep.Findings {
				if fd.Severity == pipeline.SeverityError {
					rep.Errors++
				} else {
					rep.Warnings++
				}
			}
			rep.Valid = rep.Errors == 0
			if output == "json" {
				enc := json.NewEncoder(s.Out)
				enc.SetIndent("", "  ")
				if err := enc.Encode(rep); err != nil {
					return fmt.Errorf("write report: %w", err)
				}
			} else {
				writePipelineValidateText(s, rep)
			}
			if !rep.Valid {
				return &ExitError{Code: 1}
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&output, "output", "text", "output: text or json")
	cmd.Flags().StringArrayVar(&envs, "environment", nil, "a deployment environment declared in the repository besides test, staging and production (repeatable)")
	return cmd
}

func writePipelineValidateText(s Streams, rep pipelineValidateReport) {
	for _, fd := range rep.Findings {
		fmt.Fprintf(s.Out, "%s:%s\n", rep.File, fd)
	}
	switch {
	case rep.Errors > 0:
		fmt.Fprintf(s.Out, "%s: %d error(s), %d warning(s)\n", rep.File, rep.Errors, rep.Warnings)
	case rep.Warnings > 0:
		fmt.Fprintf(s.Out, "%s: valid, %d warning(s); pipelines: %s\n", rep.File, rep.Warnings, strings.Join(rep.Pipelines, ", "))
	default:
		fmt.Fprintf(s.Out, "%s: valid; pipelines: %s\n", rep.File, strings.Join(rep.Pipelines, ", "))
	}
}
