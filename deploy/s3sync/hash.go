package s3sync

import (
	"compress/gzip"
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"hash"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
)

// GzipLevel is the compression level of --gzip: fixed, with no name or
// modification time in the header, so that the same file always compresses
// to the same bytes and ETag (for one Go release: a new compress/flate may
// compress differently, and the next sync then uploads those files once).
const GzipLevel = gzip.DefaultCompression

// commonPartSizes are the multipart part sizes of the usual upload tools, to
// recognise the ETag of an object another tool uploaded: the SDKs' 5 MiB
// (Go, JavaScript, Java, rclone), the aws CLI's and boto3's 8 MiB, s3cmd's
// 15 MiB, 16 MiB, s5cmd's 50 MiB and the powers of two up to 1 GiB.
var commonPartSizes = []int64{5 << 20, 8 << 20, 15 << 20, 16 << 20, 32 << 20, 50 << 20, 64 << 20, 100 << 20, 128 << 20, 256 << 20, 512 << 20, 1 << 30}

// maxUploadParts is S3's limit on the parts of an upload.
const maxUploadParts = 10000

// effectivePartSize is the part size the transfer manager uses for size
// bytes when asked for ps: ps, grown when it would need more than 10,000
// parts (as manager.Uploader does).
func effectivePartSize(size, ps int64) int64 {
	if size/ps >= maxUploadParts {
		return size/maxUploadParts + 1
	}
	return ps
}

// isMD5 reports whether etag (unquoted) is 32 hex digits.
func isMD5(etag string) bool {
	if len(etag) != 32 {
		return false
	}
	_, err := hex.DecodeString(etag)
	return err == nil
}

// multipartCount returns N of a multipart ETag "<32 hex>-N", or 0.
func multipartCount(etag string) int {
	sum, n, ok := strings.Cut(etag, "-")
	if !ok || !isMD5(sum) {
		return 0
	}
	c, err := strconv.Atoi(n)
	if err != nil || c < 1 || c > maxUploadParts || strconv.Itoa(c) != n {
		return 0
	}
	return c
}

// candidatePartSizes are the part sizes that give size bytes n parts: ps
// (the sync's, adjusted as the transfer manager does) and the common ones.
// One part of any size gives the same ETag, so n == 1 yields one size.
func candidatePartSizes(size int64, n int, ps int64) []int64 {
	if n == 1 {
		return []int64{max(size, 1)}
	}
	var out []int64
	for _, c := range append([]int64{effectivePartSize(size, ps)}, commonPartSizes...) {
		if (size+c-1)/c == int64(n) && !slices.Contains(out, c) {
			out = append(out, c)
		}
	}
	return out
}

// partHasher computes the multipart ETag of a stream for one part size.
type partHasher struct {
	size  int64 // part size
	h     hash.Hash
	n     int64  // bytes in the current part
	sums  []byte // MD5s of the finished parts
	parts int
}

func newPartHasher(size int64) *partHasher { return &partHasher{size: size, h: md5.New()} }

func (p *partHasher) Write(b []byte) (int, error) {
	total := len(b)
	for len(b) > 0 {
		k := min(int64(len(b)), p.size-p.n)
		p.h.Write(b[:k])
		p.n += k
		b = b[k:]
		if p.n == p.size {
			p.sums = p.h.Sum(p.sums)
			p.h.Reset()
			p.n = 0
			p.parts++
		}
	}
	return total, nil
}

// ETag returns the multipart ETag of what was written.
func (p *partHasher) ETag() string {
	sums, parts := p.sums, p.parts
	if p.n > 0 || parts == 0 {
		sums = p.h.Sum(slices.Clip(sums))
		parts++
	}
	return multipartETag(sums, parts)
}

// multipartETag is S3's ETag of a multipart object: the MD5 of the
// concatenated binary MD5s of its parts, "-" and the number of parts.
func multipartETag(sums []byte, parts int) string {
	s := md5.Sum(sums)
	return hex.EncodeToString(s[:]) + "-" + strconv.Itoa(parts)
}

// hashRequest says which digests of a file's upload bytes to compute.
type hashRequest struct {
	whole     bool    // the MD5 of all the bytes
	partSizes []int64 // multipart ETags at these part sizes
}

// digest is what hashing a file's upload bytes found.
type digest struct {
	size  int64            // bytes (the compressed size when gzipped)
	md5   string           // hex MD5 of the whole, if asked
	parts map[int64]string // multipart ETag by part size, if asked
}

// hasher hashes files, reusing its buffer and gzip writer: one per worker.
type hasher struct {
	buf []byte
	zw  *gzip.Writer
}

func newHasher() *hasher { return &hasher{buf: make([]byte, 256<<10)} }

// counter counts the bytes written to it.
type counter int64

func (c *counter) Write(p []byte) (int, error) { *c += counter(len(p)); return len(p), nil }

// hash reads the file at path once, streaming, and computes what req asks
// of its upload bytes: the file's bytes, or their gzip compression when gz.
func (h *hasher) hash(path string, gz bool, req hashRequest) (digest, error) {
	f, err := os.Open(path)
	if err != nil {
		return digest{}, fmt.Errorf("read %s: %w", path, err)
	}
	defer f.Close()
	var n counter
	ws := []io.Writer{&n}
	var whole hash.Hash
	if req.whole {
		whole = md5.New()
		ws = append(ws, whole)
	}
	phs := make([]*partHasher, len(req.partSizes))
	for i, ps := range req.partSizes {
		phs[i] = newPartHasher(ps)
		ws = append(ws, phs[i])
	}
	var w io.Writer = io.MultiWriter(ws...)
	if len(ws) == 1 {
		w = &n
	}
	if err := h.copy(w, f, gz); err != nil {
		return digest{}, fmt.Errorf("read %s: %w", path, err)
	}
	d := digest{size: int64(n)}
	if whole != nil {
		d.md5 = hex.EncodeToString(whole.Sum(nil))
	}
	if len(phs) > 0 {
		d.parts = make(map[int64]string, len(phs))
		for _, p := range phs {
			d.parts[p.size] = p.ETag()
		}
	}
	return d, nil
}

// copy copies r to w, gzip-compressing when gz.
func (h *hasher) copy(w io.Writer, r io.Reader, gz bool) error {
	if !gz {
		_, err := io.CopyBuffer(w, onlyReader{r}, h.buf)
		return err
	}
	if h.zw == nil {
		zw, err := gzip.NewWriterLevel(w, GzipLevel)
		if err != nil {
			return err
		}
		h.zw = zw
	} else {
		h.zw.Reset(w)
	}
	if _, err := io.CopyBuffer(h.zw, onlyReader{r}, h.buf); err != nil {
		return err
	}
	return h.zw.Close()
}

// onlyReader hides a reader's WriterTo, so that io.CopyBuffer uses the
// buffer given (an *os.File's WriteTo would allocate its own).
type onlyReader struct{ io.Reader }
