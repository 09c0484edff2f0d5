package s3

import (
	"context"
	"crypto/md5"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"net/http"
	"strconv"

	"github.com/keyless-dev/keyless/awsapi"
	"github.com/keyless-dev/keyless/blob"
	"github.com/keyless-dev/keyless/store"
)

// Multipart uploads (the core side): CreateMultipartUpload, UploadPart,
// UploadPartCopy, CompleteMultipartUpload, AbortMultipartUpload, ListParts
// and ListMultipartUploads. Every part is streamed into a blob of its own;
// completing an upload concatenates the part blobs into a new object blob
// (blob.Store.Concat), commits the object and drops the upload in one store
// transaction, and only then deletes the part blobs and the blob of the
// object replaced. An aborted upload deletes its part blobs.

// S3's multipart limits.
const (
	// MinPartSize is the smallest part, but the last, a completed upload may
	// have (5 MiB).
	MinPartSize = 5 << 20
	// MaxPartSize is the largest part (5 GiB).
	MaxPartSize = 5 << 30
	// MaxPartNumber is the highest part number.
	MaxPartNumber = 10000
	// maxListParts bounds one page of ListParts and ListMultipartUploads.
	maxListParts = 1000
)

// Checksum types of multipart objects.
const (
	checksumComposite  = "COMPOSITE"
	checksumFullObject = "FULL_OBJECT"
)

func errNoSuchUpload() *awsapi.Error {
	return awsapi.NewError("NoSuchUpload", http.StatusNotFound,
		"The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed.")
}

func errInvalidPart() *awsapi.Error {
	return awsapi.NewError("InvalidPart", http.StatusBadRequest,
		"One or more of the specified parts could not be found.  The part may not have been uploaded, or the specified entity tag may not match the part's entity tag.")
}

func errInvalidPartOrder() *awsapi.Error {
	return awsapi.NewError("InvalidPartOrder", http.StatusBadRequest,
		"The list of parts was not in ascending order. Parts must be ordered by part number.")
}

func errEntityTooSmall() *awsapi.Error {
	return awsapi.NewError("EntityTooSmall", http.StatusBadRequest,
		"Your proposed upload is smaller than the minimum allowed object size.")
}

func errInvalidPartNumber() *awsapi.Error {
	return errInvalidArgument("Part number must be an integer between 1 and 10000, inclusive")
}

// parsePartNumber reads a partNumber query parameter: 1 to MaxPartNumber.
func parsePartNumber(v string) (int, error) {
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > MaxPartNumber {
		return 0, errInvalidPartNumber()
	}
	return n, nil
}

// newUploadID returns a fresh random upload ID, URL-safe.
func (s *Service) newUploadID() (string, error) {
	var b [30]byte
	s.randMu.Lock()
	_, err := io.ReadFull(s.cfg.Rand, b[:])
	s.randMu.Unlock()
	if err != nil {
		return "", fmt.Errorf("s3: upload id: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b[:]), nil
}

// checkUploadChecksum validates the checksum algorithm and type of a new
// upload as S3 does: FULL_OBJECT only for the CRCs, COMPOSITE not for
// CRC64NVME. It returns the type to store (S3's default for the algorithm
// when typ is empty; empty without an algorithm).
func checkUploadChecksum(alg awsapi.ChecksumAlgorithm, typ string) (string, error) {
	if alg == "" {
		if typ != "" {
			return "", errInvalidRequest("The x-amz-checksum-type header can only be used with the x-amz-checksum-algorithm header.")
		}
		return "", nil
	}
	crc := alg == awsapi.ChecksumCRC32 || alg == awsapi.ChecksumCRC32C || alg == awsapi.ChecksumCRC64NVME
	switch {
	case typ == "" && alg == awsapi.ChecksumCRC64NVME:
		return checksumFullObject, nil
	case typ == "":
		return checksumComposite, nil
	case typ == checksumFullObject && crc, typ == checksumComposite && alg != awsapi.ChecksumCRC64NVME:
		return typ, nil
	case typ == checksumFullObject || typ == checksumComposite:
		return "", errInvalidRequest("The " + string(alg) + " checksum algorithm does not support the " + typ + " checksum type.")
	}
	return "", errInvalidRequest("Value for x-amz-checksum-type header is invalid.")
}

// createMultipartUpload starts an upload of u (its Bucket, Key, Owner,
// Initiator, ObjectHeaders and checksum filled by the caller) and returns it
// with its ID.
func (s *Service) createMultipartUpload(ctx context.Context, u store.MultipartUpload) (store.MultipartUpload, error) {
	id, err := s.newUploadID()
	if err != nil {
		return u, err
	}
	u.UploadID, u.Initiated = id, s.cfg.Now().UTC()
	err = s.cfg.Store.CreateMultipartUpload(ctx, u)
	if errors.Is(err, store.ErrNotFound) {
		return u, errNoSuchBucket(u.Bucket)
	}
	if err != nil {
		return u, fmt.Errorf("s3: create multipart upload: %w", err)
	}
	return u, nil
}

// multipartUpload returns an upload in progress, or NoSuchUpload.
func (s *Service) multipartUpload(ctx context.Context, bucket, key, uploadID string) (store.MultipartUpload, error) {
	u, err := s.cfg.Store.GetMultipartUpload(ctx, bucket, key, uploadID)
	if errors.Is(err, store.ErrNotFound) {
		return u, errNoSuchUpload()
	}
	if err != nil {
		return u, fmt.Errorf("s3: get multipart upload: %w", err)
	}
	return u, nil
}

// putPart streams body into a new blob and stores it as part number of u,
// replacing the part of that number, whose blob it then deletes. The part's
// ETag is the hex MD5 of its bytes; its checksums are the one the client sent
// and the upload's algorithm (which the caller asked the body to compute).
// On failure nothing is stored.
func (s *Service) putPart(ctx context.Context, u store.MultipartUpload, number int, body upload) (store.Part, error) {
	id, err := s.newBlobID()
	if err != nil {
		return store.Part{}, err
	}
	info, err := s.cfg.Blobs.Put(ctx, id, body)
	if err != nil {
		s.deleteBlob(ctx, id)
		if ae := (*awsapi.Error)(nil); errors.As(err, &ae) {
			return store.Part{}, ae
		}
		return store.Part{}, fmt.Errorf("s3: put part blob: %w", err)
	}
	p := store.Part{UploadID: u.UploadID, Number: number, Size: info.Size, ETag: hex.EncodeToString(info.MD5), LastModified: s.now(), BlobID: id}
	sums := body.Checksums()
	if alg, v, ok := body.Checksum(); ok {
		p.Checksums = map[string]string{string(alg): v}
	}
	if u.ChecksumAlgorithm != "" {
		if v := sums[awsapi.ChecksumAlgorithm(u.ChecksumAlgorithm)]; v != "" {
			if p.Checksums == nil {
				p.Checksums = map[string]string{}
			}
			p.Checksums[u.ChecksumAlgorithm] = v
		}
	}
	return s.storePart(ctx, p)
}

// storePart commits a part whose blob is written and deletes the blob of the
// part it replaced; on failure it deletes p's blob.
func (s *Service) storePart(ctx context.Context, p store.Part) (store.Part, error) {
	old, err := s.cfg.Store.PutPart(ctx, p)
	if err != nil {
		s.deleteBlob(ctx, p.BlobID)
		if errors.Is(err, store.ErrNotFound) {
			return store.Part{}, errNoSuchUpload() // aborted or completed meanwhile
		}
		return store.Part{}, fmt.Errorf("s3: put part: %w", err)
	}
	if old != nil && old.BlobID != p.BlobID {
		s.deleteBlob(ctx, old.BlobID)
	}
	return p, nil
}

// copyPart copies length bytes at start of src's blob into a new blob and
// stores it as part number of u, with the upload's checksum computed as the
// bytes stream.
func (s *Service) copyPart(ctx context.Context, u store.MultipartUpload, number int, src blob.Reader, start, length int64) (store.Part, error) {
	id, err := s.newBlobID()
	if err != nil {
		return store.Part{}, err
	}
	var r io.Reader = io.NewSectionReader(src, start, length)
	var h hash.Hash
	if u.ChecksumAlgorithm != "" {
		h = awsapi.ChecksumAlgorithm(u.ChecksumAlgorithm).New()
		r = io.TeeReader(r, h)
	}
	info, err := s.cfg.Blobs.Put(ctx, id, r)
	if err != nil {
		s.deleteBlob(ctx, id)
		return store.Part{}, fmt.Errorf("s3: copy part blob: %w", err)
	}
	p := store.Part{UploadID: u.UploadID, Number: number, Size: info.Size, ETag: hex.EncodeToString(info.MD5), LastModified: s.now(), BlobID: id}
	if h != nil {
		p.Checksums = map[string]string{u.ChecksumAlgorithm: base64.StdEncoding.EncodeToString(h.Sum(nil))}
	}
	return s.storePart(ctx, p)
}

// completedPart is one part a CompleteMultipartUpload request names.
type completedPart struct {
	Number int
	ETag   string // unquoted
	// Checksum is the part's checksum of the upload's algorithm, if given.
	Checksum string
}

// completeMultipartUpload assembles the named parts of u into its object:
// they must be in ascending order (InvalidPartOrder), be uploaded with the
// ETags given (InvalidPart) and, but the last, be at least MinPartSize
// (EntityTooSmall). The object's ETag is the hex MD5 of the binary part MD5s
// followed by "-N"; its checksum, when the upload named an algorithm, is the
// composite one (the hash of the part checksums, "-N") or the full-object
// one, computed by reading the assembled blob. The parts of the upload that
// were not named are dropped with it.
func (s *Service) completeMultipartUpload(ctx context.Context, u store.MultipartUpload, named []completedPart, cond func(*store.Object) error) (store.Object, error) {
	if len(named) == 0 {
		return store.Object{}, errMalformedXML()
	}
	stored, err := s.cfg.Store.ListParts(ctx, u.UploadID)
	if err != nil {
		return store.Object{}, fmt.Errorf("s3: list parts: %w", err)
	}
	byNumber := make(map[int]store.Part, len(stored))
	for _, p := range stored {
		byNumber[p.Number] = p
	}
	alg := awsapi.ChecksumAlgorithm(u.ChecksumAlgorithm)
	var (
		etags     = md5.New()
		composite hash.Hash
		blobs     = make([]string, 0, len(named))
		sizes     = make([]int64, 0, len(named))
	)
	if alg != "" && u.ChecksumType == checksumComposite {
		composite = alg.New()
	}
	for i := 1; i < len(named); i++ {
		if named[i].Number <= named[i-1].Number {
			return store.Object{}, errInvalidPartOrder()
		}
	}
	for i, n := range named {
		p, ok := byNumber[n.Number]
		if !ok || p.ETag != n.ETag {
			return store.Object{}, errInvalidPart()
		}
		if n.Checksum != "" && n.Checksum != p.Checksums[string(alg)] {
			return store.Object{}, errInvalidPart()
		}
		if i < len(named)-1 && p.Size < MinPartSize {
			return store.Object{}, errEntityTooSmall()
		}
		sum, err := hex.DecodeString(p.ETag)
		if err != nil {
			return store.Object{}, fmt.Errorf("s3: part %d: bad ETag %q", p.Number, p.ETag)
		}
		etags.Write(sum)
		if composite != nil {
			v, err := base64.StdEncoding.DecodeString(p.Checksums[string(alg)])
			if err != nil || len(v) != alg.Size() {
				return store.Object{}, errInvalidPart() // uploaded without it
			}
			composite.Write(v)
		}
		blobs = append(blobs, p.BlobID)
		sizes = append(sizes, p.Size)
	}
	suffix := "-" + strconv.Itoa(len(named))
	o := store.Object{
		Bucket: u.Bucket, Key: u.Key, Owner: u.Owner, ObjectHeaders: u.ObjectHeaders,
		ETag: hex.EncodeToString(etags.Sum(nil)) + suffix, PartSizes: sizes,
	}
	id, err := s.newBlobID()
	if err != nil {
		return store.Object{}, err
	}
	info, err := s.cfg.Blobs.Concat(ctx, id, blobs...)
	if err != nil {
		s.deleteBlob(ctx, id)
		if errors.Is(err, blob.ErrNotFound) {
			return store.Object{}, errInvalidPart() // replaced meanwhile
		}
		return store.Object{}, fmt.Errorf("s3: concat parts: %w", err)
	}
	o.Size, o.BlobID, o.LastModified = info.Size, id, s.now()
	switch {
	case composite != nil:
		o.Checksums = map[string]string{string(alg): base64.StdEncoding.EncodeToString(composite.Sum(nil)) + suffix}
		o.ChecksumType = checksumComposite
	case alg != "":
		v, err := s.blobChecksum(ctx, id, alg)
		if err != nil {
			s.deleteBlob(ctx, id)
			return store.Object{}, err
		}
		o.Checksums, o.ChecksumType = map[string]string{string(alg): v}, checksumFullObject
	}
	old, parts, err := s.cfg.Store.CompleteMultipartUpload(ctx, u.UploadID, o, cond)
	if err != nil {
		s.deleteBlob(ctx, id)
		switch {
		case errorsIsAWS(err):
			return store.Object{}, awsapi.AsError(err)
		case errors.Is(err, store.ErrNotFound):
			return store.Object{}, errNoSuchUpload() // completed or aborted meanwhile
		}
		return store.Object{}, fmt.Errorf("s3: complete multipart upload: %w", err)
	}
	for _, p := range parts {
		s.deleteBlob(ctx, p.BlobID)
	}
	if old != nil && old.BlobID != o.BlobID && !old.Inline {
		s.deleteBlob(ctx, old.BlobID)
	}
	return o, nil
}

// blobChecksum reads a blob through a hash of alg and returns it base64.
func (s *Service) blobChecksum(ctx context.Context, id string, alg awsapi.ChecksumAlgorithm) (string, error) {
	rd, err := s.cfg.Blobs.Open(ctx, id)
	if err != nil {
		return "", fmt.Errorf("s3: open blob: %w", err)
	}
	defer rd.Close()
	h := alg.New()
	if _, err := blob.Copy(ctx, h, rd, make([]byte, blob.CopyBufferSize)); err != nil {
		return "", fmt.Errorf("s3: read blob: %w", err)
	}
	return base64.StdEncoding.EncodeToString(h.Sum(nil)), nil
}

// abortMultipartUpload drops an upload and the blobs of its parts.
func (s *Service) abortMultipartUpload(ctx context.Context, bucket, key, uploadID string) error {
	parts, err := s.cfg.Store.AbortMultipartUpload(ctx, bucket, key, uploadID)
	if errors.Is(err, store.ErrNotFound) {
		return errNoSuchUpload()
	}
	if err != nil {
		return fmt.Errorf("s3: abort multipart upload: %w", err)
	}
	for _, p := range parts {
		s.deleteBlob(ctx, p.BlobID)
	}
	return nil
}
