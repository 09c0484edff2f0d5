//lint:file-ignore SA1019 the transfer manager (feature/s3/manager) is deprecated for feature/s3/transfermanager, which is not in go.mod; it is still what Go programs use for multipart uploads.

package s3sync

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/s3/manager"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"golang.org/x/sync/errgroup"

	"github.com/keyless-dev/keyless/deploy/mimetype"
)

// gzipMemoryLimit is the largest compressed upload held in memory; larger
// ones go through a temporary file.
const gzipMemoryLimit = 1 << 20

// maxDeleteKeys is the most keys one DeleteObjects names.
const maxDeleteKeys = 1000

// Sync makes s3://o.Bucket/o.Prefix hold the files of o.Source, by content:
// see the package documentation. It reports to p (nil for none) as it goes.
// The Result says what was done even when Sync fails; a *FailedError means
// some keys failed and the others were done.
func Sync(ctx context.Context, api S3API, o Options, p Progress) (Result, error) {
	start := time.Now()
	if err := o.normalize(); err != nil {
		return Result{}, fmt.Errorf("s3 sync: %w", err)
	}
	if p == nil {
		p = nopProgress{}
	}
	s := &syncer{
		api:         api,
		lim:         limited{S3API: api, sem: make(chan struct{}, o.Concurrency)},
		o:           o,
		p:           p,
		manifestKey: o.Prefix + ManifestName,
	}
	res, err := s.run(ctx)
	res.Bucket, res.Prefix, res.DryRun = o.Bucket, o.Prefix, o.DryRun
	res.Duration = time.Since(start)
	return res, err
}

type nopProgress struct{}

func (nopProgress) Planned(Totals)                 {}
func (nopProgress) Transferred(int64)              {}
func (nopProgress) Finished(string, Action, error) {}

// syncer is one sync.
type syncer struct {
	api         S3API
	lim         limited // api, bounded to o.Concurrency requests in flight
	o           Options
	p           Progress
	manifestKey string
}

// remoteObject is one object of the listing.
type remoteObject struct {
	key      string
	etag     string // unquoted
	size     int64
	modified time.Time
}

// item is one key of the plan.
type item struct {
	action Action
	rel    string
	key    string
	file   *localFile    // nil for a delete
	obj    *remoteObject // nil for a new key
	gzip   bool
	hdr    headerSet
	// entry is the manifest's entry when it is about this object (same
	// ETag), else nil.
	entry *entry
	// size is the upload's size: the file's, or the compressed size once
	// measured (-1 before).
	size int64
	// target is the MD5-based ETag the content is compared with: the
	// entry's recorded content, else the listing's ETag.
	target string
	req    hashRequest
	hash   bool // hashing (or measuring) needed
	d      digest
	// verified: the content was found equal to target by hashing.
	verified bool
	// The outcome, for the manifest.
	etag, content string
	done          bool
}

func (s *syncer) run(ctx context.Context) (Result, error) {
	o := s.o
	var (
		files   []localFile
		objects map[string]remoteObject
		man     manifest
		raw     []byte
	)
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() (err error) { files, err = walk(o.Source, o.Logger); return err })
	g.Go(func() (err error) { objects, err = s.list(gctx); return err })
	if o.Manifest {
		g.Go(func() (err error) { man, raw, err = s.readManifest(gctx, s.manifestKey); return err })
	}
	if err := g.Wait(); err != nil {
		return Result{}, err
	}

	items, deletes := s.classify(files, objects, man)
	if err := s.compare(ctx, items); err != nil {
		return Result{}, err
	}

	var res Result
	res.Keys = make([]string, 0, len(items))
	for _, it := range items {
		res.Keys = append(res.Keys, it.key)
		switch it.action {
		case Upload:
			res.Upload++
			res.UploadBytes += it.size
		case Update:
			res.Update++
		case Unchanged:
			res.Unchanged++
		}
	}
	res.Delete = len(deletes)
	slices.Sort(res.Keys)
	s.p.Planned(res.Totals)
	if o.DryRun {
		for _, it := range append(slices.Clone(items), deletes...) {
			switch it.action {
			case Upload, Update:
				res.Changed = append(res.Changed, it.key)
			case Delete:
				res.Deleted = append(res.Deleted, it.key)
			default:
				continue
			}
			s.p.Finished(it.key, it.action, nil)
		}
		res.Bytes = res.UploadBytes
		slices.Sort(res.Changed)
		return res, nil
	}
	return s.apply(ctx, res, items, deletes, raw)
}

// list lists the objects under the prefix, by key relative to it.
func (s *syncer) list(ctx context.Context) (map[string]remoteObject, error) {
	in := &s3.ListObjectsV2Input{Bucket: aws.String(s.o.Bucket)}
	if s.o.Prefix != "" {
		in.Prefix = aws.String(s.o.Prefix)
	}
	objs := map[string]remoteObject{}
	pg := s3.NewListObjectsV2Paginator(s.api, in)
	for pg.HasMorePages() {
		out, err := pg.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("list s3://%s/%s: %w", s.o.Bucket, s.o.Prefix, err)
		}
		for _, obj := range out.Contents {
			key := aws.ToString(obj.Key)
			rel, ok := strings.CutPrefix(key, s.o.Prefix)
			if !ok || rel == "" {
				continue
			}
			objs[rel] = remoteObject{
				key:      key,
				etag:     strings.Trim(aws.ToString(obj.ETag), `"`),
				size:     aws.ToInt64(obj.Size),
				modified: aws.ToTime(obj.LastModified),
			}
		}
	}
	return objs, nil
}

// headers are the headers of the file rel.
func (s *syncer) headers(rel string, gz bool) headerSet {
	o := s.o
	h := headerSet{ACL: o.ACL, StorageClass: o.StorageClass, ContentEncoding: o.ContentEncoding, ContentType: o.ContentType}
	if gz {
		h.ContentEncoding = "gzip"
	}
	if h.ContentType == "" {
		h.ContentType, _ = mimetype.ByName(path.Base(rel))
	}
	h.CacheControl, _ = o.CacheControl.Value(rel)
	if !o.Expires.IsZero() {
		h.Expires = o.Expires.UTC().Format(http.TimeFormat)
	}
	return h
}

// classify makes the plan's items for the selected files, deciding what
// can be decided without reading them, and the deletes.
//
// The filter is evaluated as aws s3 sync does, on each side with its root
// (filter.Filter.Rooted): the source's absolute path for files, BUCKET/PREFIX
// for objects; the two differ only for patterns beginning with '/' and roots
// containing '*', '?' or '['.
func (s *syncer) classify(files []localFile, objects map[string]remoteObject, man manifest) (items, deletes []*item) {
	o := s.o
	root, err := filepath.Abs(o.Source)
	if err != nil {
		root = o.Source
	}
	localFilter := o.Filter.Rooted(filepath.ToSlash(root))
	remoteFilter := o.Filter.Rooted(o.Bucket + "/" + o.Prefix)
	local := make(map[string]bool, len(files))
	for i := range files {
		f := &files[i]
		if f.rel == ManifestName {
			o.Logger.Warn("not uploading a file named like keyless's deploy manifest", "path", f.path)
			continue
		}
		if !localFilter.Included(f.rel) {
			continue
		}
		local[f.rel] = true
		it := &item{rel: f.rel, key: o.Prefix + f.rel, file: f, gzip: o.Gzip.Match(f.rel), size: f.size}
		it.hdr = s.headers(f.rel, it.gzip)
		if it.gzip {
			it.hash, it.size = true, -1 // the upload's size is the compressed size
		}
		items = append(items, it)
		obj, ok := objects[f.rel]
		if !ok {
			it.action = Upload
			continue
		}
		it.obj = &obj
		it.target = obj.etag
		if e, ok := man.Objects[f.rel]; ok && e.ETag == obj.etag {
			it.entry = &e
			if e.Content != "" {
				it.target = e.Content
			}
		}
		if o.Compare != CompareHash {
			continue
		}
		if !it.gzip && it.size != obj.size {
			it.action = Upload
			continue
		}
		switch n := multipartCount(it.target); {
		case isMD5(it.target):
			it.req.whole = true
		case n > 0:
			it.req.partSizes = candidatePartSizes(obj.size, n, o.PartSize)
		}
		if !it.req.whole && len(it.req.partSizes) == 0 {
			it.action = Upload // an ETag that says nothing of the content
			continue
		}
		it.hash = true
	}
	if o.Delete {
		for rel, obj := range objects {
			if local[rel] || rel == ManifestName || !remoteFilter.Included(rel) {
				continue
			}
			deletes = append(deletes, &item{action: Delete, rel: rel, key: obj.key, obj: &obj})
		}
		slices.SortFunc(deletes, func(a, b *item) int { return strings.Compare(a.key, b.key) })
	}
	return items, deletes
}

// compare reads the files that need it (hashing, measuring compressed
// sizes, checking that the new ones can be read), then decides each item's
// action, asking HeadObject for the headers of the objects the manifest
// does not vouch for.
func (s *syncer) compare(ctx context.Context, items []*item) error {
	var read []*item
	for _, it := range items {
		if it.hash || it.action == Upload {
			read = append(read, it)
		}
	}
	slices.SortFunc(read, func(a, b *item) int { return cmp.Compare(b.file.size, a.file.size) })
	err := pool(ctx, s.o.Concurrency, read, func(_ context.Context, h *hasher, it *item) error {
		if !it.hash {
			f, err := os.Open(it.file.path)
			if err != nil {
				return fmt.Errorf("read %s: %w", it.file.path, err)
			}
			return f.Close()
		}
		d, err := h.hash(it.file.path, it.gzip, it.req)
		if err != nil {
			return err
		}
		it.d, it.size = d, d.size
		return nil
	})
	if err != nil {
		return err
	}
	var heads []*item
	for _, it := range items {
		if it.action != "" {
			continue
		}
		if !s.contentEqual(it) {
			it.action = Upload
			continue
		}
		switch {
		case !s.o.Manifest || it.entry == nil:
			heads = append(heads, it)
		case it.entry.Headers == it.hdr.digest():
			it.action = Unchanged
		default:
			it.action = Update
		}
	}
	return pool(ctx, s.o.Concurrency, heads, func(ctx context.Context, _ *hasher, it *item) error {
		out, err := s.lim.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(s.o.Bucket), Key: aws.String(it.key)})
		var nf *types.NotFound
		if errors.As(err, &nf) {
			it.action = Upload // deleted since the listing
			return nil
		}
		if err != nil {
			return fmt.Errorf("head s3://%s/%s: %w", s.o.Bucket, it.key, err)
		}
		switch {
		case strings.Trim(aws.ToString(out.ETag), `"`) != it.obj.etag:
			it.action = Upload // replaced since the listing
		case it.hdr.matches(out):
			it.action = Unchanged
		default:
			it.action = Update
		}
		return nil
	})
}

// contentEqual reports whether the file's upload bytes equal the object's,
// by the comparison asked.
func (s *syncer) contentEqual(it *item) bool {
	if it.size != it.obj.size {
		return false
	}
	switch s.o.Compare {
	case CompareSize:
		return true
	case CompareSizeMTime:
		return !it.obj.modified.Before(it.file.mtime.Truncate(time.Second))
	}
	if it.req.whole && it.d.md5 == it.target {
		it.verified = true
	}
	for _, e := range it.d.parts {
		if e == it.target {
			it.verified = true
		}
	}
	return it.verified
}

// knownContent is the MD5-based ETag of the object's bytes, when known.
func (it *item) knownContent() string {
	if it.entry != nil && it.entry.Content != "" {
		return it.entry.Content
	}
	if it.verified {
		return it.target
	}
	return ""
}

// apply does the plan: uploads and updates, then (when they all succeeded)
// deletes, then writes the manifest. poolErr is only ever the context's
// error: work not started when it was cancelled.
func (s *syncer) apply(ctx context.Context, res Result, items, deletes []*item, raw []byte) (Result, error) {
	o := s.o
	var work []*item
	for _, it := range items {
		if it.action == Upload || it.action == Update {
			work = append(work, it)
		}
	}
	// The largest first, so that they do not finish alone at the end.
	slices.SortStableFunc(work, func(a, b *item) int { return cmp.Compare(b.size, a.size) })
	uploader := manager.NewUploader(s.lim, func(u *manager.Uploader) {
		u.PartSize = o.PartSize
		u.Concurrency = o.Concurrency
	})
	var (
		mu     sync.Mutex
		failed []*KeyError
	)
	fail := func(it *item, err error) {
		mu.Lock()
		defer mu.Unlock()
		failed = append(failed, &KeyError{Key: it.key, Action: it.action, Err: err})
	}
	poolErr := pool(ctx, o.Concurrency, work, func(ctx context.Context, h *hasher, it *item) error {
		var err error
		if it.action == Upload {
			err = s.upload(ctx, uploader, h, it)
		} else {
			err = s.update(ctx, it)
		}
		s.p.Finished(it.key, it.action, err)
		if err != nil {
			fail(it, err)
		} else {
			it.done = true
		}
		return nil
	})

	res.Totals = Totals{UploadBytes: res.UploadBytes}
	for _, it := range items {
		switch {
		case it.action == Unchanged:
			res.Unchanged++
		case !it.done:
		case it.action == Upload:
			res.Upload++
			res.Bytes += it.size
			res.Changed = append(res.Changed, it.key)
		case it.action == Update:
			res.Update++
			res.Changed = append(res.Changed, it.key)
		}
	}
	slices.Sort(res.Changed)

	skipped := 0
	if len(failed) == 0 && poolErr == nil {
		res.Deleted, poolErr = s.delete(ctx, deletes, fail)
		res.Delete = len(res.Deleted)
	} else {
		skipped = len(deletes)
	}

	var errs []error
	if poolErr != nil {
		errs = append(errs, poolErr)
	}
	if len(failed) > 0 {
		slices.SortFunc(failed, func(a, b *KeyError) int { return strings.Compare(a.Key, b.Key) })
		errs = append(errs, &FailedError{Errors: failed, Actions: len(work) + len(deletes) - skipped, SkippedDeletes: skipped})
	}
	if o.Manifest && ctx.Err() == nil {
		if b := s.newManifest(items).encode(); !bytes.Equal(b, raw) {
			if err := s.writeManifest(ctx, s.manifestKey, b); err != nil {
				errs = append(errs, err)
			}
		}
	}
	return res, errors.Join(errs...)
}

// putInput is the PutObject of an item, without its body.
func (s *syncer) putInput(it *item) *s3.PutObjectInput {
	h := it.hdr
	in := &s3.PutObjectInput{Bucket: aws.String(s.o.Bucket), Key: aws.String(it.key)}
	if h.ContentType != "" {
		in.ContentType = aws.String(h.ContentType)
	}
	if h.CacheControl != "" {
		in.CacheControl = aws.String(h.CacheControl)
	}
	if h.ContentEncoding != "" {
		in.ContentEncoding = aws.String(h.ContentEncoding)
	}
	if !s.o.Expires.IsZero() {
		in.Expires = aws.Time(s.o.Expires)
	}
	in.ACL = types.ObjectCannedACL(h.ACL)
	in.StorageClass = types.StorageClass(h.StorageClass)
	return in
}

// upload uploads the file of it, streaming: the file itself, or its gzip
// compression (in memory when small, else in a temporary file).
func (s *syncer) upload(ctx context.Context, u *manager.Uploader, h *hasher, it *item) error {
	f, err := os.Open(it.file.path)
	if err != nil {
		return fmt.Errorf("read %s: %w", it.file.path, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return fmt.Errorf("read %s: %w", it.file.path, err)
	}
	var b *body
	if it.gzip {
		sp := &spill{limit: gzipMemoryLimit}
		defer sp.close()
		if err := h.copy(sp, f, true); err != nil {
			return fmt.Errorf("compress %s: %w", it.file.path, err)
		}
		b = newBody(sp.readerAt(), sp.size, effectivePartSize(sp.size, s.o.PartSize), s.p.Transferred)
	} else {
		b = newBody(f, fi.Size(), effectivePartSize(fi.Size(), s.o.PartSize), s.p.Transferred)
	}
	in := s.putInput(it)
	in.Body = b
	out, err := u.Upload(ctx, in, func(u *manager.Uploader) { u.PartSize = max(b.partSize, s.o.PartSize) })
	if err != nil {
		return fmt.Errorf("upload %s to s3://%s/%s: %w", it.file.path, s.o.Bucket, it.key, err)
	}
	it.size = b.size
	it.etag = strings.Trim(aws.ToString(out.ETag), `"`)
	if out.ServerSideEncryption == types.ServerSideEncryptionAwsKms || out.ServerSideEncryption == types.ServerSideEncryptionAwsKmsDsse {
		// With SSE-KMS the ETag is not the MD5 of the bytes: learn the
		// MD5-based one, for the manifest, by reading the file again. Hashing
		// every upload as it is sent would cost a quarter of the client's CPU
		// for this rare case.
		req := hashRequest{whole: len(b.parts) == 1}
		if !req.whole {
			req.partSizes = []int64{b.partSize}
		}
		d, err := h.hash(it.file.path, it.gzip, req)
		if err != nil {
			return err
		}
		if it.content = d.md5; !req.whole {
			it.content = d.parts[b.partSize]
		}
	}
	return nil
}

// update sets the headers of an object whose content is already right,
// copying it onto itself (MetadataDirective REPLACE), on condition that it
// is still the object compared.
func (s *syncer) update(ctx context.Context, it *item) error {
	put := s.putInput(it)
	in := &s3.CopyObjectInput{
		Bucket:            put.Bucket,
		Key:               put.Key,
		CopySource:        aws.String(copySource(s.o.Bucket, it.key)),
		CopySourceIfMatch: aws.String(`"` + it.obj.etag + `"`),
		MetadataDirective: types.MetadataDirectiveReplace,
		ContentType:       put.ContentType,
		CacheControl:      put.CacheControl,
		ContentEncoding:   put.ContentEncoding,
		Expires:           put.Expires,
		ACL:               put.ACL,
		StorageClass:      put.StorageClass,
	}
	out, err := s.lim.CopyObject(ctx, in)
	if err != nil {
		return fmt.Errorf("update headers of s3://%s/%s: %w", s.o.Bucket, it.key, err)
	}
	it.etag = it.obj.etag
	if out.CopyObjectResult != nil && out.CopyObjectResult.ETag != nil {
		it.etag = strings.Trim(*out.CopyObjectResult.ETag, `"`)
	}
	if c := it.knownContent(); c != it.etag {
		it.content = c
	}
	return nil
}

// copySource is x-amz-copy-source for bucket/key: URL-encoded, all but the
// unreserved characters and the slashes.
func copySource(bucket, key string) string {
	const hexDigits = "0123456789ABCDEF"
	var b strings.Builder
	for _, c := range []byte(bucket + "/" + key) {
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', strings.IndexByte("-_.~/", c) >= 0:
			b.WriteByte(c)
		default:
			b.WriteByte('%')
			b.WriteByte(hexDigits[c>>4])
			b.WriteByte(hexDigits[c&15])
		}
	}
	return b.String()
}

// delete deletes the keys of deletes in batches of 1,000, reporting each
// key's outcome, and returns the keys deleted, sorted, and the context's
// error if it stopped before the end.
func (s *syncer) delete(ctx context.Context, deletes []*item, fail func(*item, error)) ([]string, error) {
	var (
		mu      sync.Mutex
		deleted []string
	)
	batches := slices.Collect(slices.Chunk(deletes, maxDeleteKeys))
	err := pool(ctx, s.o.Concurrency, batches, func(ctx context.Context, _ *hasher, batch []*item) error {
		ids := make([]types.ObjectIdentifier, len(batch))
		for i, it := range batch {
			ids[i] = types.ObjectIdentifier{Key: aws.String(it.key)}
		}
		out, err := s.lim.DeleteObjects(ctx, &s3.DeleteObjectsInput{
			Bucket: aws.String(s.o.Bucket),
			Delete: &types.Delete{Objects: ids, Quiet: aws.Bool(true)},
		})
		errs := map[string]error{}
		if out != nil {
			for _, e := range out.Errors {
				errs[aws.ToString(e.Key)] = fmt.Errorf("%s: %s", aws.ToString(e.Code), aws.ToString(e.Message))
			}
		}
		for _, it := range batch {
			kerr := errs[it.key]
			if err != nil {
				kerr = fmt.Errorf("delete s3://%s/%s: %w", s.o.Bucket, it.key, err)
			}
			s.p.Finished(it.key, Delete, kerr)
			if kerr != nil {
				fail(it, kerr)
				continue
			}
			mu.Lock()
			deleted = append(deleted, it.key)
			mu.Unlock()
		}
		return nil
	})
	slices.Sort(deleted)
	return deleted, err
}

// newManifest is the manifest after the sync: an entry for every selected
// file whose object is known to hold its content and headers (unchanged,
// or uploaded or updated successfully).
func (s *syncer) newManifest(items []*item) manifest {
	m := manifest{Objects: make(map[string]entry, len(items))}
	for _, it := range items {
		e := entry{Headers: it.hdr.digest()}
		switch {
		case it.action == Unchanged:
			e.ETag = it.obj.etag
			if c := it.knownContent(); c != e.ETag {
				e.Content = c
			}
		case it.done:
			e.ETag, e.Content = it.etag, it.content
		default:
			continue
		}
		if e.ETag != "" {
			m.Objects[it.rel] = e
		}
	}
	return m
}

// pool runs f on every item with n workers, each with its own hasher. It
// stops at the first error f returns, or when ctx is done.
func pool[T any](ctx context.Context, n int, items []T, f func(context.Context, *hasher, T) error) error {
	if len(items) == 0 {
		return nil
	}
	g, ctx := errgroup.WithContext(ctx)
	ch := make(chan T)
	g.Go(func() error {
		defer close(ch)
		for _, it := range items {
			select {
			case ch <- it:
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		return nil
	})
	for range min(n, len(items)) {
		g.Go(func() error {
			h := newHasher()
			for it := range ch {
				if err := f(ctx, h, it); err != nil {
					return err
				}
			}
			return nil
		})
	}
	return g.Wait()
}
