package s3sync

import (
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path"
	"path/filepath"
	"time"
	"unicode/utf8"
)

// localFile is one regular file of the source directory.
type localFile struct {
	rel   string // slash-separated path relative to the source
	path  string // path to open
	size  int64
	mtime time.Time
}

// walk lists the regular files under root, following symbolic links to
// files and directories (aws s3 sync's default). A link that leads to a
// directory being walked (a loop) is skipped, as are sockets, devices and
// named pipes, with a warning; a link that leads nowhere, or a directory
// that cannot be read, is an error naming it.
func walk(root string, log *slog.Logger) ([]localFile, error) {
	realDir, err := filepath.EvalSymlinks(root)
	if err != nil {
		return nil, fmt.Errorf("source directory: %w", err)
	}
	w := &walker{log: log, active: map[string]bool{}}
	if err := w.dir(root, "", realDir); err != nil {
		return nil, err
	}
	return w.files, nil
}

type walker struct {
	log    *slog.Logger
	files  []localFile
	active map[string]bool // the real paths of the directories being walked
}

func (w *walker) dir(dir, rel, realDir string) error {
	w.active[realDir] = true
	defer delete(w.active, realDir)
	entries, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("read directory %s: %w", dir, err)
	}
	for _, e := range entries {
		p := filepath.Join(dir, e.Name())
		r := path.Join(rel, e.Name())
		var info fs.FileInfo
		if e.Type()&fs.ModeSymlink != 0 {
			if info, err = os.Stat(p); err != nil {
				return fmt.Errorf("follow symbolic link %s: %w (remove it, or --exclude %q)", p, err, r)
			}
		} else if info, err = e.Info(); err != nil {
			return fmt.Errorf("read %s: %w", p, err)
		}
		if !utf8.ValidString(r) {
			return fmt.Errorf("file name %q is not UTF-8, which S3 keys must be: rename it", p)
		}
		switch {
		case info.IsDir():
			sub := filepath.Join(realDir, e.Name())
			if e.Type()&fs.ModeSymlink != 0 {
				if sub, err = filepath.EvalSymlinks(p); err != nil {
					return fmt.Errorf("follow symbolic link %s: %w", p, err)
				}
			}
			if w.active[sub] {
				w.log.Warn("skipping a symbolic link that loops back to a directory being synced", "path", p, "target", sub)
				continue
			}
			if err := w.dir(p, r, sub); err != nil {
				return err
			}
		case info.Mode().IsRegular():
			w.files = append(w.files, localFile{rel: r, path: p, size: info.Size(), mtime: info.ModTime()})
		default:
			w.log.Warn("skipping a file that is not a regular file", "path", p, "mode", info.Mode().Type().String())
		}
	}
	return nil
}
