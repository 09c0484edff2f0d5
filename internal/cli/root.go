// Package cli builds the keyless command line: one file per command group, holding
// flags, output formats and exit codes, and no business logic.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/spf13/cobra"
)

// Streams are the standard streams a command reads and writes.
type Streams struct {
	In  io.Reader
	Out io.Writer
	Err io.Writer
}

// ExitError carries a specific process exit status out of a command. A nil Err means
// the command already reported what it had to say.
type ExitError struct {
	Code int
	Err  error
}

func (e *ExitError) Error() string {
	if e.Err == nil {
		return fmt.Sprintf("exit status %d", e.Code)
	}
	return e.Err.Error()
}

func (e *ExitError) Unwrap() error { return e.Err }

// Execute runs keyless with args and returns the process exit status.
func Execute(ctx context.Context, args []string, s Streams) int {
	root := NewRootCommand(s)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return 0
	}
	var ee *ExitError
	if errors.As(err, &ee) {
		if ee.Err != nil {
			fmt.Fprintf(s.Err, "keyless: %v\n", ee.Err)
		}
		return ee.Code
	}
	fmt.Fprintf(s.Err, "keyless: %v\n", err)
	return 1
}

// NewRootCommand returns the keyless command tree wired to the given streams.
func NewRootCommand(s Streams) *cobra.Command {
	root := &cobra.Command{
		Use:   "keyless",
		Short: "Secretless deploys from CI to AWS with OpenID Connect federation",
		Long: `keyless exchanges a CI step's OpenID Connect token for short-lived AWS credentials,
provisions and checks the trust that allows it, and with "keyless up" runs the whole
chain locally: a pipeline identity provider and AWS-compatible IAM and STS.`,
		Example:       "  keyless up --data ./.keyless\n  keyless token mint --workspace acme --repository web",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetIn(s.In)
	root.SetOut(s.Out)
	root.SetErr(s.Err)
	root.CompletionOptions.HiddenDefaultCmd = true
	for _, add := range commands {
		root.AddCommand(add(s))
	}
	return root
}

// commands lists the constructors of every top-level command.
var commands = []func(Streams) *cobra.Command{
	newVersionCmd,
	newPolicyCmd,
	newUpCmd,
	newTokenCmd,
	newKeysCmd,
	newLoginCmd,
	newExecCmd,
	newWhoamiCmd,
	newExplainCmd,
	newDemoCmd,
}
