package cli

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

// TestEveryCommandHasHelpWithExample walks the command tree: every command has a
// short description and an example, and `--help` prints the example.
func TestEveryCommandHasHelpWithExample(t *testing.T) {
	root := NewRootCommand(Streams{In: strings.NewReader(""), Out: &bytes.Buffer{}, Err: &bytes.Buffer{}})
	var walk func(c *cobra.Command, path []string)
	n := 0
	walk = func(c *cobra.Command, path []string) {
		if c.Hidden || c.Name() == "help" {
			return
		}
		n++
		name := strings.Join(path, " ")
		if c.Short == "" {
			t.Errorf("%q has no short description", name)
		}
		if strings.TrimSpace(c.Example) == "" {
			t.Errorf("%q has no example", name)
		}
		var out, errOut bytes.Buffer
		code := Execute(context.Background(), append(path[1:], "--help"), Streams{In: strings.NewReader(""), Out: &out, Err: &errOut})
		if code != 0 || !strings.Contains(out.String(), "Examples:") {
			t.Errorf("keyless %s --help: exit %d, no Examples section:\n%s%s", strings.Join(path[1:], " "), code, out.String(), errOut.String())
		}
		for _, sub := range c.Commands() {
			walk(sub, append(append([]string{}, path...), sub.Name()))
		}
	}
	walk(root, []string{"keyless"})
	if n < 20 {
		t.Errorf("walked only %d commands", n)
	}
}

func TestVersion(t *testing.T) {
	var out bytes.Buffer
	if code := Execute(context.Background(), []string{"version"}, Streams{Out: &out, Err: &out}); code != 0 || !strings.HasPrefix(out.String(), "keyless ") {
		t.Fatalf("keyless version: exit %d, %q", code, out.String())
	}
}
