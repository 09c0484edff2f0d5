package fs

import (
	"bufio"
	"bytes"
	"context"
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	iofs "io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/keyless-dev/keyless/blob"
	"github.com/keyless-dev/keyless/blob/blobtest"
)

// litter lists the temporary files under root.
func litter(root string) ([]string, error) {
	var out []string
	err := filepath.WalkDir(root, func(path string, d iofs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if strings.HasPrefix(d.Name(), tmpPrefix) {
			out = append(out, path)
		}
		return nil
	})
	return out, err
}

func newStore(t *testing.T) *Store {
	t.Helper()
	s, err := New(filepath.Join(t.TempDir(), "blobs"))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestConformance(t *testing.T) {
	blobtest.Run(t, func(t *testing.T) blobtest.Backend {
		s := newStore(t)
		return blobtest.Backend{Store: s, Litter: func() ([]string, error) { return litter(s.Root()) }}
	})
}

// TestLayout: every file is ROOT/xx/<64 hex digits>, named by the key's
// SHA-256, readable only by its owner; no key reaches a path.
func TestLayout(t *testing.T) {
	s := newStore(t)
	keys := []string{"../../escape", "日本語", strings.Repeat("z", 1024), "a/b/c"}
	for _, k := range keys {
		if _, err := s.Put(t.Context(), k, strings.NewReader(k)); err != nil {
			t.Fatal(err)
		}
	}
	name := regexp.MustCompile(`^([0-9a-f]{2})/([0-9a-f]{64})$`)
	var files []string
	err := filepath.WalkDir(s.Root(), func(path string, d iofs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(s.Root(), path)
		m := name.FindStringSubmatch(filepath.ToSlash(rel))
		if m == nil || !strings.HasPrefix(m[2], m[1]) {
			t.Errorf("unexpected file %s", rel)
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		if perm := info.Mode().Perm(); perm != 0o600 {
			t.Errorf("%s has mode %v, want 0600", rel, perm)
		}
		files = append(files, m[2])
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != len(keys) {
		t.Fatalf("%d files for %d keys", len(files), len(keys))
	}
	for _, k := range keys {
		sum := sha256.Sum256([]byte(k))
		h := hex.EncodeToString(sum[:])
		if _, err := os.Stat(filepath.Join(s.Root(), h[:2], h)); err != nil {
			t.Errorf("key %.20q: %v", k, err)
		}
	}
	// Nothing was written outside the root.
	parent, err := os.ReadDir(filepath.Dir(s.Root()))
	if err != nil || len(parent) != 1 {
		t.Fatalf("the root's parent holds %d entries (%v), want the root only", len(parent), err)
	}
}

// generator gives n bytes without holding them: a pseudo-random block of an
// odd length, repeated, so that no copy chunk lines up with it. It records
// the most heap in use it saw while being read.
type generator struct {
	n, read  int64
	state    uint64
	block    []byte
	peakHeap uint64
	next     int64 // when to sample the heap next
}

const generatorBlock = 1<<20 + 13

func (g *generator) Read(p []byte) (int, error) {
	if g.read >= g.n {
		return 0, io.EOF
	}
	if g.block == nil {
		g.block = make([]byte, generatorBlock)
		for i := range g.block {
			g.state = g.state*6364136223846793005 + 1442695040888963407
			g.block[i] = byte(g.state >> 56)
		}
	}
	if g.read >= g.next {
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		g.peakHeap = max(g.peakHeap, ms.HeapInuse)
		g.next += 16 << 20
	}
	p = p[:min(int64(len(p)), g.n-g.read)]
	n := 0
	for n < len(p) {
		n += copy(p[n:], g.block[(g.read+int64(n))%generatorBlock:])
	}
	g.read += int64(n)
	return n, nil
}

// TestLargeStreaming: a 256 MiB Put and Concat run in bounded memory: the heap
// in use grows by far less than the blob.
func TestLargeStreaming(t *testing.T) {
	if testing.Short() {
		t.Skip("writes 512 MiB; skipped with -short")
	}
	const size = 256 << 20
	const budget = 16 << 20
	s := newStore(t)
	ctx := t.Context()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	base := ms.HeapInuse

	g := &generator{n: size, state: 1}
	info, err := s.Put(ctx, "big", g)
	if err != nil {
		t.Fatal(err)
	}
	if info.Size != size {
		t.Fatalf("Put size = %d, want %d", info.Size, size)
	}
	if grew := int64(g.peakHeap) - int64(base); grew > budget {
		t.Fatalf("heap in use grew by %d MiB during a %d MiB Put", grew>>20, size>>20)
	}
	// The digest matches the generator's bytes, hashed apart.
	h := md5.New()
	if _, err := io.Copy(h, &generator{n: size, state: 1, next: 1 << 62}); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(info.MD5, h.Sum(nil)) {
		t.Fatal("Put's MD5 differs from the data's")
	}

	if _, err := s.Put(ctx, "tail", strings.NewReader("tail")); err != nil {
		t.Fatal(err)
	}
	runtime.ReadMemStats(&ms)
	base = ms.HeapInuse
	info, err = s.Concat(ctx, "joined", "big", "tail")
	if err != nil {
		t.Fatal(err)
	}
	runtime.ReadMemStats(&ms)
	if info.Size != size+4 {
		t.Fatalf("Concat size = %d", info.Size)
	}
	if grew := int64(ms.HeapInuse) - int64(base); grew > budget {
		t.Fatalf("heap in use grew by %d MiB during a %d MiB Concat", grew>>20, info.Size>>20)
	}
	r, err := s.Open(ctx, "joined")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = r.Close() }()
	buf := make([]byte, 4)
	if _, err := r.ReadAt(buf, size); err != nil || string(buf) != "tail" {
		t.Fatalf("bytes at %d = %q, %v; want the second source", size, buf, err)
	}
}

// childEnv tells the test binary, re-run by TestKill, to act as a writer that
// is killed.
const childEnv = "KEYLESS_BLOBFS_KILL_CHILD"

// TestKillChild is the killed process of TestKill; it does nothing unless run
// by it.
func TestKillChild(t *testing.T) {
	mode, dir := os.Getenv(childEnv), os.Getenv(childEnv+"_DIR")
	if mode == "" {
		t.Skip("run by TestKill")
	}
	s, err := New(dir)
	if err != nil {
		fmt.Println("error:", err)
		return
	}
	ctx := context.Background()
	switch mode {
	case "after-put":
		// Put returns, then the process is killed before it exits cleanly.
		_, err := s.Put(ctx, "durable", &generator{n: 3 << 20, state: 7})
		fmt.Println("put returned:", err)
	case "mid-put":
		// The process is killed while Put waits for more bytes.
		r := io.MultiReader(&generator{n: 1 << 20, state: 7}, blockingReader{})
		_, err = s.Put(ctx, "durable", r)
		fmt.Println("put returned:", err)
	}
	select {} // wait for the kill
}

// blockingReader announces that the half of a blob is written, then blocks.
type blockingReader struct{}

func (blockingReader) Read([]byte) (int, error) {
	fmt.Println("put returned: <nil> (half written)")
	select {}
}

// TestKill: a blob whose Put returned survives a kill -9 of the process; a Put
// killed midway leaves the old blob and only a temporary file, which
// RemoveStale deletes.
func TestKill(t *testing.T) {
	if testing.Short() {
		t.Skip("runs subprocesses; skipped with -short")
	}
	dir := filepath.Join(t.TempDir(), "blobs")
	run := func(mode string) {
		t.Helper()
		cmd := exec.Command(os.Args[0], "-test.run=^TestKillChild$", "-test.count=1")
		cmd.Env = append(os.Environ(), childEnv+"="+mode, childEnv+"_DIR="+dir)
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		defer func() { _ = cmd.Wait() }()
		defer func() { _ = cmd.Process.Kill() }()
		sc := bufio.NewScanner(out)
		done := make(chan string, 1)
		go func() {
			for sc.Scan() {
				if line := sc.Text(); strings.HasPrefix(line, "put returned:") || strings.HasPrefix(line, "error:") {
					done <- line
					return
				}
			}
			done <- "child exited: " + fmt.Sprint(sc.Err())
		}()
		select {
		case line := <-done:
			if !strings.HasPrefix(line, "put returned: <nil>") {
				t.Fatalf("child: %s", line)
			}
		case <-time.After(2 * time.Minute):
			t.Fatal("child did not report")
		}
		if err := cmd.Process.Kill(); err != nil {
			t.Fatal(err)
		}
	}

	want := sha256.New()
	_, _ = io.Copy(want, &generator{n: 3 << 20, state: 7, next: 1 << 62})
	check := func() {
		t.Helper()
		s, err := New(dir)
		if err != nil {
			t.Fatal(err)
		}
		r, err := s.Open(t.Context(), "durable")
		if err != nil {
			t.Fatalf("after the kill: %v", err)
		}
		defer func() { _ = r.Close() }()
		h := sha256.New()
		if _, err := io.Copy(h, r); err != nil || !bytes.Equal(h.Sum(nil), want.Sum(nil)) {
			t.Fatalf("after the kill the blob differs (%d bytes, %v)", r.Size(), err)
		}
	}

	run("after-put")
	check()
	if l, err := litter(dir); err != nil || len(l) != 0 {
		t.Fatalf("a completed Put left %q (%v)", l, err)
	}

	run("mid-put")
	check()
	l, err := litter(dir)
	if err != nil || len(l) != 1 {
		t.Fatalf("a killed Put left %q (%v), want its one temporary file", l, err)
	}
	s, err := New(dir)
	if err != nil {
		t.Fatal(err)
	}
	if n, err := s.RemoveStale(t.Context(), time.Now().Add(-time.Hour)); err != nil || n != 0 {
		t.Fatalf("RemoveStale of files older than an hour = %d, %v; want 0", n, err)
	}
	if n, err := s.RemoveStale(t.Context(), time.Now().Add(time.Second)); err != nil || n != 1 {
		t.Fatalf("RemoveStale = %d, %v; want 1", n, err)
	}
	if l, err := litter(dir); err != nil || len(l) != 0 {
		t.Fatalf("after RemoveStale: %q (%v)", l, err)
	}
	check()
}

func TestNewErrors(t *testing.T) {
	if _, err := New(""); err == nil {
		t.Error("New(\"\") succeeded")
	}
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := New(file); err == nil {
		t.Error("New on a regular file succeeded")
	}
	// A root that vanishes makes writes fail cleanly.
	s := newStore(t)
	if err := os.RemoveAll(s.Root()); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Put(t.Context(), "k", strings.NewReader("x")); err == nil || errors.Is(err, blob.ErrNotFound) {
		t.Errorf("Put into a removed root: err = %v", err)
	}
}
