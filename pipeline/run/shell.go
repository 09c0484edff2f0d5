package run

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"

	"github.com/keyless-dev/keyless/pipeline"
)

// DefaultImage is the image of a step that names none, in a file that names none.
const DefaultImage = "atlassian/default-image"

// notFoundRE finds the command bash could not find in its message.
var notFoundRE = regexp.MustCompile(`(?m)(?:^|: )([^\s:]+): command not found`)

// shell runs cmds in one bash with -e, echoing each before it runs.
func (r Runner) shell(ctx context.Context, cmds []pipeline.Command, env *stepEnv, dir, image string, log *maskWriter) (int, error) {
	var script strings.Builder
	for _, c := range cmds {
		fmt.Fprintf(&script, "printf '%%s\\n' %s\n%s\n", shQuote("+ "+c.Shell), c.Shell)
	}
	cmd := exec.CommandContext(ctx, r.Shell, "--noprofile", "--norc", "-e", "-c", script.String())
	cmd.Dir, cmd.Env = dir, env.list()
	cmd.Stdout, cmd.Stderr = log, log
	start := log.Len()
	err := cmd.Run()
	if err == nil {
		return 0, nil
	}
	var ee *exec.ExitError
	if !errors.As(err, &ee) {
		return 127, fmt.Errorf("run the script with %s: %w", r.Shell, err)
	}
	code := ee.ExitCode()
	if code == 127 {
		if m := notFoundRE.FindStringSubmatch(log.Since(start)); m != nil {
			return code, fmt.Errorf("%s: command not found on this host: the step's image %s would have it, but keyless runs the script on the host: install %s here (exit status 127)", m[1], image, m[1])
		}
	}
	return code, fmt.Errorf("the script exited with status %d", code)
}

// shQuote quotes s for bash.
func shQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

// maskWriter writes the step's log line by line with the secured values
// replaced by ***, as Bitbucket masks them, and keeps what it wrote for the
// messages of a failure. It is safe for concurrent use.
type maskWriter struct {
	mu      sync.Mutex
	out     io.Writer
	secrets []string
	line    []byte
	kept    bytes.Buffer
}

// maxKept bounds what a maskWriter keeps.
const maxKept = 1 << 20

func newMaskWriter(out io.Writer, secrets []string) *maskWriter {
	return &maskWriter{out: out, secrets: secrets}
}

func (w *maskWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.line = append(w.line, p...)
	for {
		i := bytes.IndexByte(w.line, '\n')
		if i < 0 {
			break
		}
		w.emit(w.line[:i+1])
		w.line = w.line[i+1:]
	}
	return len(p), nil
}

// Flush writes a last line without a newline.
func (w *maskWriter) Flush() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.line) > 0 {
		w.emit(append(w.line, '\n'))
		w.line = nil
	}
}

func (w *maskWriter) emit(line []byte) {
	s := string(line)
	for _, v := range w.secrets {
		s = strings.ReplaceAll(s, v, "***")
	}
	io.WriteString(w.out, s)
	if w.kept.Len()+len(s) <= maxKept {
		w.kept.WriteString(s)
	}
}

// Len is how much was written so far, for Since.
func (w *maskWriter) Len() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.kept.Len() + len(w.line)
}

// Since is what was written from offset n on (masked).
func (w *maskWriter) Since(n int) string {
	w.mu.Lock()
	defer w.mu.Unlock()
	all := w.kept.String() + string(w.line)
	if n > len(all) {
		return ""
	}
	return all[n:]
}

// Tail is everything written (masked).
func (w *maskWriter) Tail() string { return w.Since(0) }

// copyTree copies the files of src into dst, without .git and the excluded
// directories; symbolic links as links, other special files left out.
func copyTree(src, dst string, exclude []string) error {
	src, err := filepath.Abs(src)
	if err != nil {
		return err
	}
	skip := map[string]bool{}
	for _, e := range exclude {
		if a, err := filepath.Abs(e); err == nil {
			skip[a] = true
		}
	}
	return filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, path)
		if err != nil {
			return err
		}
		if rel == "." {
			return nil
		}
		if d.IsDir() && (d.Name() == ".git" || skip[path]) {
			return filepath.SkipDir
		}
		target := filepath.Join(dst, rel)
		switch {
		case d.IsDir():
			return os.MkdirAll(target, 0o755)
		case d.Type()&fs.ModeSymlink != 0:
			link, err := os.Readlink(path)
			if err != nil {
				return err
			}
			return os.Symlink(link, target)
		case d.Type().IsRegular():
			return copyFile(path, target)
		}
		return nil
	})
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	fi, err := in.Stat()
	if err != nil {
		return err
	}
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, fi.Mode().Perm())
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
