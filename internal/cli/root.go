// Package cli builds the keyless command line: one file per command group, holding
// flags, output formats and exit codes, and no business logic.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"syscall"

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
	root.SetArgs(keyIDOperands(root, args))
	err := root.ExecuteContext(ctx)
	if err == nil {
		return 0
	}
	code := 1
	var ee *ExitError
	if errors.As(err, &ee) {
		code, err = ee.Code, ee.Err
	}
	if err != nil {
		fmt.Fprintf(s.Err, "keyless: %v\n", err)
		if hint := connectionHint(err); hint != "" {
			fmt.Fprintf(s.Err, "hint: %s\n", hint)
		}
	}
	return code
}

// keyIDAnnotation marks a command whose operand is a signing key ID.
const keyIDAnnotation = "keyless/key-id-operand"

// keyIDOperands returns args with every key ID that starts with "-" moved after a
// "--", when args run a command that takes a key ID: a kid is a base64url SHA-256
// thumbprint (43 characters), and one in 64 begins with "-", which the flag parser
// would otherwise read as a cluster of shorthand flags. No flag of keyless has that
// shape, so the move never changes what a command line means.
func keyIDOperands(root *cobra.Command, args []string) []string {
	c, _, err := root.Find(args)
	if err != nil || c.Annotations[keyIDAnnotation] == "" {
		return args
	}
	end := slices.Index(args, "--")
	if end < 0 {
		end = len(args)
	}
	var before, ids []string
	for _, a := range args[:end] {
		if isDashKeyID(a) {
			ids = append(ids, a)
		} else {
			before = append(before, a)
		}
	}
	if ids == nil {
		return args
	}
	out := append(append(before, "--"), ids...)
	if end < len(args) {
		out = append(out, args[end+1:]...)
	}
	return out
}

// isDashKeyID reports whether a is a key ID (43 base64url characters) that begins
// with "-".
func isDashKeyID(a string) bool {
	if len(a) != 43 || a[0] != '-' {
		return false
	}
	for _, r := range a {
		if !(r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			return false
		}
	}
	return true
}

// connectionHint says what to do when err is a refused connection: on a loopback
// address that is most often a `keyless up` that is not running.
func connectionHint(err error) string {
	if !errors.Is(err, syscall.ECONNREFUSED) {
		return ""
	}
	addr := "the endpoint"
	var oe *net.OpError
	if errors.As(err, &oe) && oe.Addr != nil {
		addr = oe.Addr.String()
	}
	if host, _, splitErr := net.SplitHostPort(addr); splitErr == nil {
		if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() || host == "localhost" {
			return fmt.Sprintf("nothing is listening at %s: is keyless up running? start it with `keyless up` and load its settings with `. .keyless/env`", addr)
		}
	}
	return fmt.Sprintf("nothing is listening at %s: check the endpoint URL (--endpoint, --sts-endpoint, AWS_ENDPOINT_URL) and that the service is up", addr)
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
	root.Version = buildVersion()
	root.SetVersionTemplate(versionLine() + "\n")
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
	newAccountsCmd,
	newAuditCmd,
	newLoginCmd,
	newExecCmd,
	newWhoamiCmd,
	newExplainCmd,
	newDemoCmd,
	newInitCmd,
	newThumbprintCmd,
	newIPRangesCmd,
	newRenderCmd,
	newPlanCmd,
	newApplyCmd,
	newDeployCmd,
	newPipeCmd,
	newPipelineCmd,
	newRotateCmd,
	newBenchCmd,
}
