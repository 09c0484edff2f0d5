package bench

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

func TestProcessRSSAndDirSize(t *testing.T) {
	rss, err := ProcessRSS(os.Getpid())
	if err != nil || rss < 1<<20 {
		t.Errorf("ProcessRSS(self) = %d, %v; want at least 1 MiB", rss, err)
	}
	if _, err := ProcessRSS(-1); err == nil {
		t.Error("ProcessRSS(-1) found a process")
	}
	dir := t.TempDir()
	for name, size := range map[string]int{"a": 1000, "sub/b": 24} {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, make([]byte, size), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if n, err := DirSize(dir); err != nil || n != 1024 {
		t.Errorf("DirSize = %d, %v; want 1024", n, err)
	}
}

// ServerPID finds the holder of DIR/lock's flock, as keyless up takes it.
func TestServerPIDFindsTheLockHolder(t *testing.T) {
	dir := t.TempDir()
	if _, err := ServerPID(dir); err == nil {
		t.Error("ServerPID found a server for a directory without a lock file")
	}
	f, err := os.OpenFile(filepath.Join(dir, "lock"), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := ServerPID(dir); err == nil {
		t.Error("ServerPID found a server for a lock nobody holds")
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		t.Fatal(err)
	}
	if pid, err := ServerPID(dir); err != nil || pid != os.Getpid() {
		t.Errorf("ServerPID = %d, %v; want this process, %d", pid, err, os.Getpid())
	}
	p := Probe{PID: os.Getpid(), DataDir: dir}
	if s := p.Sample(t.Context()); s.RSSBytes <= 0 || s.DataBytes != 0 || s.Goroutines != -1 {
		t.Errorf("Sample = %+v, want an RSS, an empty directory and no goroutine count", s)
	}
}
