// Command mangen writes keyless's man pages (`make man`): go run ./internal/tools/mangen DIR.
package main

import (
	"fmt"
	"os"

	"github.com/keyless-dev/keyless/internal/cli"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: mangen DIR")
		os.Exit(2)
	}
	if err := cli.WriteManPages(os.Args[1]); err != nil {
		fmt.Fprintln(os.Stderr, "mangen:", err)
		os.Exit(1)
	}
}
