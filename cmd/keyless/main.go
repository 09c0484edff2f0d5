// Command keyless is secretless CI-to-AWS federation in one binary: the in-pipeline
// client, provisioning and policy tools, and with `keyless up` a local identity
// provider and AWS-compatible IAM and STS.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/keyless-dev/keyless/internal/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Execute(ctx, os.Args[1:], cli.Streams{In: os.Stdin, Out: os.Stdout, Err: os.Stderr})
	stop()
	os.Exit(code)
}
