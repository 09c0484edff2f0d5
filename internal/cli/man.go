package cli

import (
	"fmt"
	"os"

	"github.com/spf13/cobra/doc"
)

// WriteManPages writes a section-1 man page for keyless and each of its commands into
// dir (keyless.1, keyless-login.1, keyless-token-mint.1, …), creating dir if needed.
func WriteManPages(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("man pages: create %s: %w", dir, err)
	}
	root := NewRootCommand(Streams{In: os.Stdin, Out: os.Stdout, Err: os.Stderr})
	root.InitDefaultCompletionCmd()
	root.DisableAutoGenTag = true
	header := &doc.GenManHeader{Title: "KEYLESS", Section: "1", Source: "keyless " + buildVersion(), Manual: "keyless manual"}
	if err := doc.GenManTree(root, header, dir); err != nil {
		return fmt.Errorf("man pages: write into %s: %w", dir, err)
	}
	return nil
}
