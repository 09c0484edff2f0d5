package bench

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// ServerStats are the figures of the server process a soak run watches. A
// figure that could not be read is -1.
type ServerStats struct {
	RSSBytes   int64 `json:"rss_bytes"`
	Goroutines int64 `json:"goroutines"`
	DataBytes  int64 `json:"data_bytes"`
}

// Probe reads a running server's RSS (from /proc/PID/status), goroutine
// count (from its /metrics, else /debug/pprof) and data directory size.
type Probe struct {
	// PID is the server's process ID (0: RSS unknown).
	PID int
	// DataDir is the server's data directory ("": size unknown).
	DataDir string
	// MetricsURL is where go_goroutines is read from, such as
	// http://127.0.0.1:8400/metrics ("": goroutines unknown).
	MetricsURL string
	// PprofURL is the server's /debug/pprof/ base URL, tried when MetricsURL
	// gives no count ("": not tried).
	PprofURL string
	HTTP     *http.Client
}

// Sample reads the server's figures now.
func (p *Probe) Sample(ctx context.Context) ServerStats {
	s := ServerStats{RSSBytes: -1, Goroutines: -1, DataBytes: -1}
	if p.PID > 0 {
		if v, err := ProcessRSS(p.PID); err == nil {
			s.RSSBytes = v
		}
	}
	if p.DataDir != "" {
		if v, err := DirSize(p.DataDir); err == nil {
			s.DataBytes = v
		}
	}
	s.Goroutines = p.goroutines(ctx)
	return s
}

func (p *Probe) goroutines(ctx context.Context) int64 {
	hc := p.HTTP
	if hc == nil {
		hc = &http.Client{Timeout: 5 * time.Second}
	}
	get := func(u string) string {
		ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
		if err != nil {
			return ""
		}
		resp, err := hc.Do(req)
		if err != nil {
			return ""
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return ""
		}
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
		return string(b)
	}
	if p.MetricsURL != "" {
		for line := range strings.Lines(get(p.MetricsURL)) {
			if v, ok := strings.CutPrefix(line, "go_goroutines "); ok {
				if f, err := strconv.ParseFloat(strings.TrimSpace(v), 64); err == nil {
					return int64(f)
				}
			}
		}
	}
	if p.PprofURL != "" {
		body := get(strings.TrimRight(p.PprofURL, "/") + "/goroutine?debug=1")
		if v, ok := strings.CutPrefix(body, "goroutine profile: total "); ok {
			v, _, _ = strings.Cut(v, "\n")
			if n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64); err == nil {
				return n
			}
		}
	}
	return -1
}

// ProcessRSS is the resident set size of process pid, from /proc/PID/status.
func ProcessRSS(pid int) (int64, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, fmt.Errorf("read the RSS of process %d: %w", pid, err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err != nil {
				return 0, fmt.Errorf("read the RSS of process %d: %q: %w", pid, v, err)
			}
			return kb << 10, nil
		}
	}
	return 0, fmt.Errorf("read the RSS of process %d: no VmRSS line", pid)
}

// DirSize is the total size of the regular files under dir.
func DirSize(dir string) (int64, error) {
	var n int64
	err := filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil // removed while walking, such as a SQLite journal
			}
			return err
		}
		if d.Type().IsRegular() {
			if fi, err := d.Info(); err == nil {
				n += fi.Size()
			}
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("size of %s: %w", dir, err)
	}
	return n, nil
}

// ServerPID finds the process of the keyless up serving dataDir: the holder
// of the flock on DIR/lock, from /proc/locks, else a process that has
// DIR/lock open.
func ServerPID(dataDir string) (int, error) {
	lock := filepath.Join(dataDir, "lock")
	fi, err := os.Stat(lock)
	if err != nil {
		return 0, fmt.Errorf("find the server of %s: %w", dataDir, err)
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if ok {
		if pid := flockHolder(st.Ino); pid > 0 {
			return pid, nil
		}
	}
	abs, err := filepath.Abs(lock)
	if err != nil {
		return 0, err
	}
	procs, _ := os.ReadDir("/proc")
	for _, p := range procs {
		pid, err := strconv.Atoi(p.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		fds, _ := os.ReadDir(filepath.Join("/proc", p.Name(), "fd"))
		for _, fd := range fds {
			if target, err := os.Readlink(filepath.Join("/proc", p.Name(), "fd", fd.Name())); err == nil && target == abs {
				return pid, nil
			}
		}
	}
	return 0, fmt.Errorf("find the server of %s: no process holds %s (is keyless up running? else pass --server-pid)", dataDir, lock)
}

// flockHolder is the PID /proc/locks gives for a FLOCK on inode ino, or 0.
func flockHolder(ino uint64) int {
	b, err := os.ReadFile("/proc/locks")
	if err != nil {
		return 0
	}
	suffix := ":" + strconv.FormatUint(ino, 10)
	for line := range strings.Lines(string(b)) {
		f := strings.Fields(line)
		// 1: FLOCK  ADVISORY  WRITE 1234 00:2e:5678 0 EOF
		if len(f) < 6 || f[1] != "FLOCK" || !strings.HasSuffix(f[5], suffix) {
			continue
		}
		if pid, err := strconv.Atoi(f[4]); err == nil && pid > 0 {
			if _, err := os.Stat(fmt.Sprintf("/proc/%d", pid)); err == nil {
				return pid
			}
		}
	}
	return 0
}
