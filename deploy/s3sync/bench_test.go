package s3sync

import (
	"fmt"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/keyless-dev/keyless/blob/fs"
)

// benchSite writes n files of 1–20 KB.
func benchSite(b *testing.B, n int) (dir string, size int64) {
	dir = b.TempDir()
	files := map[string][]byte{}
	data := testData(20 << 10)
	for i := range n {
		k := 1<<10 + (i*7919)%(19<<10)
		body := append([]byte(fmt.Sprintf("%d\n", i)), data[:k]...)
		files[fmt.Sprintf("d%02d/f%04d.html", i%50, i)] = body
		size += int64(len(body))
	}
	writeTree(b, dir, files)
	return dir, size
}

// BenchmarkSync2000 syncs a site of 2,000 files of 1–20 KB to keyless's own
// S3 in process: "first" to an empty prefix (2,000 PUTs), "resync" with
// nothing changed (one listing, one manifest read, 2,000 files hashed).
func BenchmarkSync2000(b *testing.B) {
	dir, size := benchSite(b, 2000)
	srv := newS3Server(b, nil)
	b.Run("first", func(b *testing.B) {
		b.SetBytes(size)
		i := 0
		for b.Loop() {
			o := baseOptions(dir)
			o.Prefix = fmt.Sprintf("run%d/", i)
			i++
			if res, err := Sync(bg, srv.client, o, nil); err != nil || res.Upload != 2000 {
				b.Fatalf("%+v %v", res.Totals, err)
			}
		}
	})
	o := baseOptions(dir)
	if _, err := Sync(bg, srv.client, o, nil); err != nil {
		b.Fatal(err)
	}
	b.Run("resync", func(b *testing.B) {
		b.SetBytes(size)
		for b.Loop() {
			if res, err := Sync(bg, srv.client, o, nil); err != nil || res.Unchanged != 2000 {
				b.Fatalf("%+v %v", res.Totals, err)
			}
		}
	})
	srv.take()
}

// BenchmarkSyncLarge syncs 5 files of 50 MB (multipart, 8 MiB parts) with
// concurrency 32 to keyless's S3 in process over a file blob store, and
// reports the peak Go heap of the whole process (client and server).
func BenchmarkSyncLarge(b *testing.B) {
	dir := b.TempDir()
	files := map[string][]byte{}
	for i := range 5 {
		d := testData(50_000_000)
		d[0] = byte(i)
		files[fmt.Sprintf("video%d.bin", i)] = d
	}
	writeTree(b, dir, files)
	files = nil
	blobs, err := fs.New(filepath.Join(b.TempDir(), "blobs"))
	if err != nil {
		b.Fatal(err)
	}
	srv := newS3Server(b, blobs)
	runtime.GC()
	var peak uint64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		var ms runtime.MemStats
		for {
			runtime.ReadMemStats(&ms)
			peak = max(peak, ms.HeapInuse)
			select {
			case <-stop:
				return
			case <-time.After(5 * time.Millisecond):
			}
		}
	})
	b.SetBytes(250_000_000)
	i := 0
	for b.Loop() {
		o := baseOptions(dir)
		o.Prefix = fmt.Sprintf("run%d/", i)
		i++
		if res, err := Sync(bg, srv.client, o, nil); err != nil || res.Upload != 5 {
			b.Fatalf("%+v %v", res.Totals, err)
		}
	}
	close(stop)
	wg.Wait()
	b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MB")
}
