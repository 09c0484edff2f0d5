package s3sync

import (
	"bytes"
	"errors"
	"io"
	"os"
	"sync"
)

// body is an upload's body over a file or buffer: it reads at offsets (so
// the transfer manager streams parts straight from it, without buffering)
// and reports each byte once to progress as it is first read. The SDK may
// read a part more than once (to compute a checksum before sending it over
// plain HTTP, or to retry): only reads past what was already seen of a part
// count.
type body struct {
	r        io.ReaderAt
	size     int64
	partSize int64
	progress func(int64)

	pos   int64 // for Read and Seek
	parts []partState
}

type partState struct {
	mu   sync.Mutex
	seen int64 // bytes of the part read, from its start
}

// newBody returns the body of size bytes read from r, uploaded in parts of
// partSize (the effective one) when larger.
func newBody(r io.ReaderAt, size, partSize int64, progress func(int64)) *body {
	n := int64(1)
	if size > partSize {
		n = (size + partSize - 1) / partSize
	} else {
		partSize = max(size, 1)
	}
	return &body{r: r, size: size, partSize: partSize, progress: progress, parts: make([]partState, n)}
}

// ReadAt reads from the underlying file.
func (b *body) ReadAt(p []byte, off int64) (int, error) {
	if off >= b.size {
		return 0, io.EOF
	}
	want := len(p)
	if rest := b.size - off; int64(want) > rest {
		p = p[:rest]
	}
	n, err := b.r.ReadAt(p, off)
	b.saw(p[:n], off)
	if err == nil && n < want {
		err = io.EOF
	}
	return n, err
}

// saw counts p, read at off, where it extends what was seen of its part.
func (b *body) saw(p []byte, off int64) {
	if len(p) == 0 {
		return
	}
	i := off / b.partSize
	if i >= int64(len(b.parts)) {
		return
	}
	st := &b.parts[i]
	st.mu.Lock()
	defer st.mu.Unlock()
	end := off - i*b.partSize + int64(len(p))
	if end <= st.seen {
		return
	}
	if b.progress != nil {
		b.progress(end - max(st.seen, off-i*b.partSize))
	}
	st.seen = end
}

// Read reads sequentially, for callers that do not use ReadAt.
func (b *body) Read(p []byte) (int, error) {
	if b.pos >= b.size {
		return 0, io.EOF
	}
	n, err := b.ReadAt(p, b.pos)
	b.pos += int64(n)
	if err == io.EOF && n > 0 {
		err = nil
	}
	return n, err
}

// Seek sets the offset of Read.
func (b *body) Seek(offset int64, whence int) (int64, error) {
	switch whence {
	case io.SeekStart:
	case io.SeekCurrent:
		offset += b.pos
	case io.SeekEnd:
		offset += b.size
	default:
		return 0, errors.New("seek: invalid whence")
	}
	if offset < 0 {
		return 0, errors.New("seek: negative position")
	}
	b.pos = offset
	return offset, nil
}

// spill is a write buffer that moves to a temporary file once it holds
// more than limit bytes, for gzip-compressed uploads: small ones stay in
// memory, large ones do not grow it.
type spill struct {
	limit int
	buf   bytes.Buffer
	file  *os.File
	size  int64
}

func (s *spill) Write(p []byte) (int, error) {
	if s.file == nil && s.buf.Len()+len(p) > s.limit {
		f, err := os.CreateTemp("", "keyless-deploy-*.gz")
		if err != nil {
			return 0, err
		}
		s.file = f
		if _, err := f.Write(s.buf.Bytes()); err != nil {
			return 0, err
		}
		s.buf = bytes.Buffer{}
	}
	s.size += int64(len(p))
	if s.file != nil {
		return s.file.Write(p)
	}
	return s.buf.Write(p)
}

// readerAt returns what was written.
func (s *spill) readerAt() io.ReaderAt {
	if s.file != nil {
		return s.file
	}
	return bytes.NewReader(s.buf.Bytes())
}

// close removes the temporary file, if any.
func (s *spill) close() {
	if s.file != nil {
		s.file.Close()
		os.Remove(s.file.Name())
	}
}
