package sqlite

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/keyless-dev/keyless/store"
)

// BenchmarkPutObjectInline is the database's share of a small PUT: 4 KiB
// objects under new keys, with random blob IDs as package s3 makes them,
// written by PutObjectInline from 16 goroutines, as concurrent requests do
// (group commit batches them). Run it with
//
//	go test ./store/sqlite -run '^$' -bench PutObjectInline -benchtime 20000x
func BenchmarkPutObjectInline(b *testing.B) {
	s, err := Open(b.Context(), filepath.Join(b.TempDir(), "keyless.db"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = s.Close() })
	now := time.Unix(1_700_000_000, 0).UTC()
	if err := s.CreateBucket(b.Context(), store.Bucket{Name: "bench", Region: "us-east-1", Owner: "000000000000", CreatedAt: now}); err != nil {
		b.Fatal(err)
	}
	data := make([]byte, 4<<10)
	_, _ = rand.Read(data)
	var n atomic.Int64
	b.SetParallelism(8) // 16 goroutines on 2 cores
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		var id [16]byte
		for pb.Next() {
			i := n.Add(1)
			_, _ = rand.Read(id[:])
			o := store.Object{Bucket: "bench", Key: fmt.Sprintf("put/%08d", i), Size: int64(len(data)),
				ETag: "0123456789abcdef0123456789abcdef", LastModified: now, Owner: "000000000000",
				Checksums: map[string]string{"CRC64NVME": "AAAAAAAAAAA="}, ChecksumType: "FULL_OBJECT",
				BlobID: "obj/" + hex.EncodeToString(id[:])}
			if _, _, err := s.PutObjectInline(b.Context(), o, data, nil); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
