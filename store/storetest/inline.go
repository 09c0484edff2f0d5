package storetest

import (
	"bytes"
	"fmt"
	"sync"
	"testing"

	"github.com/keyless-dev/keyless/store"
)

// InlineStore is what RunInlineObjects tests: a store that keeps buckets and
// objects and writes small objects with their bytes.
type InlineStore interface {
	store.S3Store
	store.InlineObjectStore
}

// RunInlineObjects runs the conformance suite of store.InlineObjectStore.
// open must return a new, empty store for each call and close it when the
// test ends. It pins down: the bytes are the blob under the object's BlobID;
// a replaced object's inline blob goes in the same transaction and is
// reported, one kept elsewhere is not; a refused condition or a missing
// bucket writes nothing; of many concurrent puts (written in shared
// transactions by a backend that groups them), each gets its own result.
func RunInlineObjects(t *testing.T, open func(t *testing.T) InlineStore) {
	t.Helper()
	tests := []struct {
		name string
		fn   func(t *testing.T, s InlineStore)
	}{
		{"PutReplace", testInlinePutReplace},
		{"Refused", testInlineRefused},
		{"Concurrent", testInlineConcurrent},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.fn(t, open(t))
		})
	}
}

func inlineObject(bucket, key, blobID string) store.Object {
	o := object(bucket, key)
	o.BlobID = blobID
	return o
}

func testInlinePutReplace(t *testing.T, s InlineStore) {
	ctx := t.Context()
	must(t, "CreateBucket", s.CreateBucket(ctx, bucket("b")))
	first := inlineObject("b", "k", "blob-1")
	old, gone, err := s.PutObjectInline(ctx, first, blobBytes(1, 4096), nil)
	must(t, "PutObjectInline of a new key", err)
	if old != nil || gone {
		t.Errorf("PutObjectInline of a new key replaced %+v (blob gone %v), want nothing", old, gone)
	}
	got, err := s.GetObject(ctx, "b", "k")
	checkS3(t, "GetObject", got, err, first)
	if b := getBlob(t, s, "blob-1"); !bytes.Equal(b, blobBytes(1, 4096)) {
		t.Errorf("the blob under the object's BlobID holds %d other bytes", len(b))
	}

	second := inlineObject("b", "k", "blob-2")
	old, gone, err = s.PutObjectInline(ctx, second, blobBytes(2, 10), nil)
	must(t, "PutObjectInline over an inline object", err)
	if old == nil || old.BlobID != "blob-1" || !gone {
		t.Errorf("PutObjectInline over an inline object: replaced %+v, blob gone %v; want blob-1, gone", old, gone)
	}
	if _, err := s.GetBlob(ctx, "blob-1"); err == nil {
		t.Error("the replaced object's inline blob is still there")
	}

	// An object whose bytes live elsewhere (no blob row): not reported gone.
	_, err = s.PutObject(ctx, inlineObject("b", "k", "file-blob"), nil)
	must(t, "PutObject", err)
	old, gone, err = s.PutObjectInline(ctx, inlineObject("b", "k", "blob-3"), nil, nil)
	must(t, "PutObjectInline over an object kept elsewhere", err)
	if old == nil || old.BlobID != "file-blob" || gone {
		t.Errorf("PutObjectInline over an object kept elsewhere: replaced %+v, blob gone %v; want file-blob, not gone", old, gone)
	}
	if b := getBlob(t, s, "blob-3"); b != nil {
		t.Errorf("an empty object's blob reads back as %q, want nil", b)
	}
}

func testInlineRefused(t *testing.T, s InlineStore) {
	ctx := t.Context()
	must(t, "CreateBucket", s.CreateBucket(ctx, bucket("b")))
	_, _, err := s.PutObjectInline(ctx, inlineObject("b", "k", "blob-1"), []byte("one"), nil)
	must(t, "PutObjectInline", err)
	_, _, err = s.PutObjectInline(ctx, inlineObject("b", "k", "blob-2"), []byte("two"), func(cur *store.Object) error {
		if cur != nil {
			return errPrecondition
		}
		return nil
	})
	wantErr(t, "PutObjectInline refused by its condition", err, errPrecondition)
	if _, err := s.GetBlob(ctx, "blob-2"); err == nil {
		t.Error("a refused put left its blob")
	}
	if b := getBlob(t, s, "blob-1"); string(b) != "one" {
		t.Errorf("a refused put changed the current blob to %q", b)
	}
	_, _, err = s.PutObjectInline(ctx, inlineObject("nobucket", "k", "blob-3"), []byte("x"), nil)
	wantErr(t, "PutObjectInline into a missing bucket", err, store.ErrNotFound)
	if _, err := s.GetBlob(ctx, "blob-3"); err == nil {
		t.Error("a put into a missing bucket left its blob")
	}
}

// testInlineConcurrent: 16 writers put 400 objects, some refused by their
// condition, some into a missing bucket, which a backend may write in shared
// transactions; each result is its own and only what succeeded is stored.
func testInlineConcurrent(t *testing.T, s InlineStore) {
	ctx := t.Context()
	must(t, "CreateBucket", s.CreateBucket(ctx, bucket("b")))
	const n = 400
	refuse := func(*store.Object) error { return errPrecondition }
	errs := make([]error, n)
	var wg sync.WaitGroup
	var next sync.Mutex
	i := 0
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				next.Lock()
				j := i
				i++
				next.Unlock()
				if j >= n {
					return
				}
				b, cond := "b", func(*store.Object) error { return nil }
				switch j % 10 {
				case 3:
					cond = refuse
				case 7:
					b = "missing"
				}
				_, _, errs[j] = s.PutObjectInline(ctx, inlineObject(b, fmt.Sprintf("k%04d", j), fmt.Sprintf("blob-%04d", j)), blobBytes(byte(j), 100+j), cond)
			}
		}()
	}
	wg.Wait()
	for j, err := range errs {
		key, id := fmt.Sprintf("k%04d", j), fmt.Sprintf("blob-%04d", j)
		switch j % 10 {
		case 3:
			wantErr(t, "a refused put of "+key, err, errPrecondition)
		case 7:
			wantErr(t, "a put of "+key+" into a missing bucket", err, store.ErrNotFound)
		default:
			must(t, "PutObjectInline "+key, err)
			if b := getBlob(t, s, id); !bytes.Equal(b, blobBytes(byte(j), 100+j)) {
				t.Errorf("%s: the blob holds other bytes", key)
			}
			continue
		}
		if _, err := s.GetBlob(ctx, id); err == nil {
			t.Errorf("%s: a failed put left its blob", key)
		}
		if _, err := s.GetObject(ctx, "b", key); err == nil {
			t.Errorf("%s: a failed put left its object", key)
		}
	}
}
