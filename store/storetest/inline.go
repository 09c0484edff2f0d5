package storetest

import (
	"bytes"
	"errors"
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
// test ends. It pins down: the bytes are the object's, read back with
// ObjectData under its BlobID, and the object reads back Inline, in reads and
// listings; a replaced inline object's bytes go in the same transaction and
// are reported, as are those of a blob of this store it had, but not those
// kept elsewhere; an object put over an inline one, or updated, keeps what it
// should; a refused condition or a missing bucket writes nothing; of many
// concurrent puts (written in shared transactions by a backend that groups
// them), each gets its own result.
func RunInlineObjects(t *testing.T, open func(t *testing.T) InlineStore) {
	t.Helper()
	tests := []struct {
		name string
		fn   func(t *testing.T, s InlineStore)
	}{
		{"PutReplace", testInlinePutReplace},
		{"Legacy", testInlineOverBlob},
		{"Overwritten", testInlineOverwritten},
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

// objectData returns the bytes of the inline object bucket/key under blobID,
// failing the test if there are none.
func objectData(t *testing.T, s InlineStore, bucket, key, blobID string) []byte {
	t.Helper()
	b, err := s.ObjectData(t.Context(), bucket, key, blobID)
	if err != nil {
		t.Fatalf("ObjectData(%s/%s, %s): %v", bucket, key, blobID, err)
	}
	return b
}

// noObjectData fails the test unless ObjectData finds no bytes of
// bucket/key under blobID.
func noObjectData(t *testing.T, s InlineStore, what, bucket, key, blobID string) {
	t.Helper()
	if b, err := s.ObjectData(t.Context(), bucket, key, blobID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("%s: ObjectData(%s/%s, %s) = %d bytes, %v; want ErrNotFound", what, bucket, key, blobID, len(b), err)
	}
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
	first.Inline = true
	got, err := s.GetObject(ctx, "b", "k")
	checkS3(t, "GetObject", got, err, first)

	if b := objectData(t, s, "b", "k", "blob-1"); !bytes.Equal(b, blobBytes(1, 4096)) {
		t.Errorf("the object's bytes are %d other bytes", len(b))
	}
	got, b, err := s.ReadObject(ctx, "b", "k")
	checkS3(t, "ReadObject", got, err, first)
	if !bytes.Equal(b, blobBytes(1, 4096)) {
		t.Errorf("ReadObject returned %d other bytes", len(b))
	}
	if _, _, err := s.ReadObject(ctx, "b", "missing"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("ReadObject of a missing key: %v, want ErrNotFound", err)
	}
	if _, err := s.GetBlob(ctx, "blob-1"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("GetBlob of an inline object's BlobID: %v, want ErrNotFound (its bytes are in its record)", err)
	}
	if l, err := s.ScanObjects(ctx, "b", store.KeyRange{}, 10); err != nil || len(l) != 1 || !l[0].Inline {
		t.Errorf("ScanObjects: %+v, %v; want the object, Inline", l, err)
	}
	noObjectData(t, s, "another BlobID", "b", "k", "blob-0")
	noObjectData(t, s, "another key", "b", "k2", "blob-1")

	second := inlineObject("b", "k", "blob-2")
	old, gone, err = s.PutObjectInline(ctx, second, blobBytes(2, 10), nil)
	must(t, "PutObjectInline over an inline object", err)
	if old == nil || old.BlobID != "blob-1" || !old.Inline || !gone {
		t.Errorf("PutObjectInline over an inline object: replaced %+v, bytes gone %v; want blob-1, Inline, gone", old, gone)
	}
	noObjectData(t, s, "the replaced object", "b", "k", "blob-1")
	if b := objectData(t, s, "b", "k", "blob-2"); !bytes.Equal(b, blobBytes(2, 10)) {
		t.Errorf("the new object's bytes are %q", b)
	}

	// An object whose bytes live elsewhere (no blob here): not reported gone.
	_, err = s.PutObject(ctx, inlineObject("b", "k", "file-blob"), nil)
	must(t, "PutObject", err)
	if got, b, err := s.ReadObject(ctx, "b", "k"); err != nil || got.Inline || got.BlobID != "file-blob" || b != nil {
		t.Errorf("ReadObject of an object kept elsewhere: %+v, %d bytes, %v; want file-blob, not Inline, no bytes", got, len(b), err)
	}
	old, gone, err = s.PutObjectInline(ctx, inlineObject("b", "k", "blob-3"), nil, nil)
	must(t, "PutObjectInline over an object kept elsewhere", err)
	if old == nil || old.BlobID != "file-blob" || old.Inline || gone {
		t.Errorf("PutObjectInline over an object kept elsewhere: replaced %+v, bytes gone %v; want file-blob, not Inline, not gone", old, gone)
	}
	got, err = s.GetObject(ctx, "b", "k")
	if err != nil || !got.Inline {
		t.Errorf("an empty inline object reads back %+v, %v; want Inline", got, err)
	}
	if b := objectData(t, s, "b", "k", "blob-3"); b != nil {
		t.Errorf("an empty object's bytes read back as %q, want nil", b)
	}
}

// testInlineOverBlob: an object an earlier keyless kept as a blob of this
// store (PutBlob under its BlobID) is replaced with its blob, reported gone.
func testInlineOverBlob(t *testing.T, s InlineStore) {
	ctx := t.Context()
	must(t, "CreateBucket", s.CreateBucket(ctx, bucket("b")))
	putBlob(t, s, "old-inline", []byte("old bytes"))
	_, err := s.PutObject(ctx, inlineObject("b", "k", "old-inline"), nil)
	must(t, "PutObject", err)
	old, gone, err := s.PutObjectInline(ctx, inlineObject("b", "k", "new"), []byte("new bytes"), nil)
	must(t, "PutObjectInline over an object kept as a blob here", err)
	if old == nil || old.BlobID != "old-inline" || old.Inline || !gone {
		t.Errorf("PutObjectInline over an object kept as a blob here: replaced %+v, bytes gone %v; want old-inline, gone", old, gone)
	}
	if _, err := s.GetBlob(ctx, "old-inline"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("the replaced object's blob: %v, want ErrNotFound", err)
	}
}

// testInlineOverwritten: PutObject over an inline object drops its bytes (the
// new object's are a blob); UpdateObject keeps them, and refuses to move them.
func testInlineOverwritten(t *testing.T, s InlineStore) {
	ctx := t.Context()
	must(t, "CreateBucket", s.CreateBucket(ctx, bucket("b")))
	_, _, err := s.PutObjectInline(ctx, inlineObject("b", "k", "blob-1"), []byte("inline"), nil)
	must(t, "PutObjectInline", err)
	err = s.UpdateObject(ctx, "b", "k", func(o store.Object) (store.Object, error) {
		o.ContentType = "text/plain"
		return o, nil
	})
	must(t, "UpdateObject", err)
	got, err := s.GetObject(ctx, "b", "k")
	if err != nil || !got.Inline || got.ContentType != "text/plain" {
		t.Errorf("after UpdateObject: %+v, %v; want Inline, text/plain", got, err)
	}
	if b := objectData(t, s, "b", "k", "blob-1"); string(b) != "inline" {
		t.Errorf("after UpdateObject the bytes are %q, want %q", b, "inline")
	}
	for _, change := range []func(*store.Object){
		func(o *store.Object) { o.BlobID = "other" },
		func(o *store.Object) { o.Inline = false },
	} {
		err := s.UpdateObject(ctx, "b", "k", func(o store.Object) (store.Object, error) {
			change(&o)
			return o, nil
		})
		if err == nil {
			t.Error("UpdateObject moved the object's bytes, want an error")
		}
	}

	old, err := s.PutObject(ctx, inlineObject("b", "k", "file-blob"), nil)
	must(t, "PutObject over an inline object", err)
	if old == nil || !old.Inline || old.BlobID != "blob-1" {
		t.Errorf("PutObject over an inline object replaced %+v, want blob-1, Inline", old)
	}
	got, err = s.GetObject(ctx, "b", "k")
	if err != nil || got.Inline || got.BlobID != "file-blob" {
		t.Errorf("after PutObject over an inline object: %+v, %v; want file-blob, not Inline", got, err)
	}
	noObjectData(t, s, "an object put over an inline one", "b", "k", "file-blob")
	noObjectData(t, s, "the replaced inline object", "b", "k", "blob-1")
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
	noObjectData(t, s, "a refused put", "b", "k", "blob-2")
	if b := objectData(t, s, "b", "k", "blob-1"); string(b) != "one" {
		t.Errorf("a refused put changed the current bytes to %q", b)
	}
	_, _, err = s.PutObjectInline(ctx, inlineObject("nobucket", "k", "blob-3"), []byte("x"), nil)
	wantErr(t, "PutObjectInline into a missing bucket", err, store.ErrNotFound)
	noObjectData(t, s, "a put into a missing bucket", "nobucket", "k", "blob-3")
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
			if b := objectData(t, s, "b", key, id); !bytes.Equal(b, blobBytes(byte(j), 100+j)) {
				t.Errorf("%s: the object holds other bytes", key)
			}
			continue
		}
		if _, err := s.GetObject(ctx, "b", key); err == nil {
			t.Errorf("%s: a failed put left its object", key)
		}
	}
}
