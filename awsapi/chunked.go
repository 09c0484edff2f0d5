package awsapi

import (
	"bufio"
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"net/http"
	"slices"
	"strings"
)

// aws-chunked framing limits.
const (
	// MinChunkSize is the smallest size S3 accepts for an aws-chunked chunk
	// other than the last data chunk.
	MinChunkSize = 8 << 10
	// DefaultMaxChunkSize bounds one aws-chunked chunk when PayloadOptions
	// sets no limit: S3's largest single PUT, which the SDKs send as a
	// single chunk when they know the length. A chunk's size never
	// determines an allocation; chunks are streamed.
	DefaultMaxChunkSize = 5 << 30

	chunkBufferSize = 16 << 10 // bufio buffer for framing lines
	maxChunkLine    = 4 << 10  // longest chunk header or trailer line
	maxTrailers     = 8        // most trailer lines accepted
	signaturePrefix = "chunk-signature="
	trailerSigName  = "x-amz-trailer-signature"
	chunkAlgorithm  = "AWS4-HMAC-SHA256-PAYLOAD"
	trailerAlgo     = "AWS4-HMAC-SHA256-TRAILER"
)

// Error messages S3 uses for broken aws-chunked bodies.
const (
	msgBodyTerminated = "The request body terminated unexpectedly"
	msgBodyLength     = "You did not provide the number of bytes specified by the Content-Length HTTP header."
	msgMalformedTrail = "The request contained trailing data that was not well-formed or did not conform to our published schema."
)

func incompleteBody(message string) *Error {
	return NewError("IncompleteBody", http.StatusBadRequest, message)
}

// streamSeed is what the chunk signatures of a STREAMING-AWS4-HMAC-SHA256-*
// upload chain from: the request's signing key, signature, scope and time.
// Auth holds it by pointer so that printing an Auth never shows the key.
type streamSeed struct {
	key     []byte
	seed    []byte // the verified request signature
	dateStr string // X-Amz-Date as signed
	scope   string
}

// chunkSigner verifies the chain of chunk signatures and the trailer
// signature of a signed aws-chunked body.
type chunkSigner struct {
	mac hash.Hash
	// chunkHead and trailerHead are the fixed starts of the two strings
	// to sign: algorithm "\n" time "\n" scope "\n".
	chunkHead, trailerHead []byte
	prev                   [sha256.Size]byte
	sum                    [sha256.Size]byte
	hexBuf                 [2 * sha256.Size]byte
}

// emptyHashLine is "\n" hash("") "\n", the middle of a chunk string to sign.
var emptyHashLine = []byte("\n" + emptySHA256 + "\n")

func newChunkSigner(s *streamSeed) *chunkSigner {
	tail := "\n" + s.dateStr + "\n" + s.scope + "\n"
	c := &chunkSigner{
		mac:         hmac.New(sha256.New, s.key),
		chunkHead:   []byte(chunkAlgorithm + tail),
		trailerHead: []byte(trailerAlgo + tail),
	}
	copy(c.prev[:], s.seed)
	return c
}

func (c *chunkSigner) writeHex(b []byte) {
	hex.Encode(c.hexBuf[:], b)
	c.mac.Write(c.hexBuf[:2*len(b)])
}

// finish compares the signature of what was written with claimed in
// constant time; the chain continues from claimed either way.
func (c *chunkSigner) finish(claimed *[sha256.Size]byte) bool {
	ok := hmac.Equal(c.mac.Sum(c.sum[:0]), claimed[:])
	c.prev = *claimed
	return ok
}

// verifyChunk checks the signature of a chunk whose data hashed to dataSum:
// "AWS4-HMAC-SHA256-PAYLOAD\n" time "\n" scope "\n" previous signature "\n"
// hash("") "\n" hash(data).
func (c *chunkSigner) verifyChunk(claimed *[sha256.Size]byte, dataSum []byte) bool {
	c.mac.Reset()
	c.mac.Write(c.chunkHead)
	c.writeHex(c.prev[:])
	c.mac.Write(emptyHashLine)
	c.writeHex(dataSum)
	return c.finish(claimed)
}

// verifyTrailer checks the trailer signature over the canonical trailer
// lines ("name:value\n" each, sorted by name): "AWS4-HMAC-SHA256-TRAILER\n"
// time "\n" scope "\n" previous signature "\n" hash(trailer lines).
func (c *chunkSigner) verifyTrailer(claimed *[sha256.Size]byte, fields []trailerField) bool {
	h := sha256.New()
	for _, f := range fields {
		io.WriteString(h, f.name)
		io.WriteString(h, ":")
		io.WriteString(h, f.value)
		io.WriteString(h, "\n")
	}
	c.mac.Reset()
	c.mac.Write(c.trailerHead)
	c.writeHex(c.prev[:])
	c.mac.Write([]byte{'\n'})
	c.writeHex(h.Sum(c.sum[:0]))
	return c.finish(claimed)
}

// trailerField is one aws-chunked trailer line.
type trailerField struct{ name, value string }

type chunkState uint8

const (
	stateHeader chunkState = iota // expecting a chunk size line
	stateData                     // inside chunk data
	stateDone                     // final chunk and trailer read and verified
)

// chunkedReader decodes an aws-chunked body: chunks of
// "hex-size[;chunk-signature=sig]\r\n" data "\r\n", a final zero-size chunk,
// then optional trailer lines "name:value\r\n" and an empty line. With a
// signer every chunk signature and the trailer signature are verified as
// the chunk ends. Data is returned before the signature of its chunk is
// checked: a caller must not use what it read unless Read ends in io.EOF.
//
// Memory is bounded by the bufio buffer whatever the size lines say.
type chunkedReader struct {
	br       *bufio.Reader
	sig      *chunkSigner // nil: unsigned chunks (extensions ignored)
	trailers bool         // trailer lines may follow the final chunk
	declared int64        // x-amz-decoded-content-length, -1 unknown
	maxChunk int64

	state     chunkState
	remaining int64 // data bytes left in the current chunk
	decoded   int64 // data bytes returned so far
	prevSize  int64 // size of the previous data chunk
	chunkHash hash.Hash
	claimed   [sha256.Size]byte // signature of the current chunk
	fields    []trailerField    // trailer lines, sorted by name, signature excluded
	err       error             // sticky
}

func newChunkedReader(body io.Reader, sig *chunkSigner, trailers bool, declared, maxChunk int64) *chunkedReader {
	c := &chunkedReader{
		br:       bufio.NewReaderSize(body, chunkBufferSize),
		sig:      sig,
		trailers: trailers,
		declared: declared,
		maxChunk: maxChunk,
	}
	if sig != nil {
		c.chunkHash = sha256.New()
	}
	return c
}

// Read returns decoded object bytes.
func (c *chunkedReader) Read(p []byte) (int, error) {
	if c.err != nil {
		return 0, c.err
	}
	for {
		switch c.state {
		case stateHeader:
			if err := c.readChunkHeader(); err != nil {
				return 0, c.fail(err)
			}
		case stateData:
			if len(p) == 0 {
				return 0, nil
			}
			if int64(len(p)) > c.remaining {
				p = p[:c.remaining]
			}
			n, err := c.br.Read(p)
			c.remaining -= int64(n)
			c.decoded += int64(n)
			if c.chunkHash != nil {
				c.chunkHash.Write(p[:n])
			}
			if c.remaining == 0 {
				// An error that came with the last bytes shows again
				// when the CRLF after them is read.
				if err := c.endChunk(); err != nil {
					return n, c.fail(err)
				}
			} else if err != nil {
				c.err = bodyError(err, msgBodyTerminated)
				if n == 0 {
					return 0, c.err
				}
			}
			if n > 0 {
				return n, nil
			}
		case stateDone:
			return 0, io.EOF
		}
	}
}

func (c *chunkedReader) fail(err error) error {
	c.err = err
	return err
}

// bodyError maps an error reading the underlying body: an early end is
// IncompleteBody with message; anything else (a net/http MaxBytesError, a
// broken connection) is passed on wrapped.
func bodyError(err error, message string) error {
	if err == io.EOF || errors.Is(err, io.ErrUnexpectedEOF) {
		return incompleteBody(message)
	}
	return fmt.Errorf("awsapi: read request body: %w", err)
}

// readLine reads one CRLF-terminated framing line, without the CRLF. The
// slice is valid until the next read.
func (c *chunkedReader) readLine() ([]byte, error) {
	line, err := c.br.ReadSlice('\n')
	switch {
	case err == bufio.ErrBufferFull:
		return nil, incompleteBody(msgBodyTerminated)
	case err != nil:
		return nil, bodyError(err, msgBodyTerminated)
	case len(line) > maxChunkLine || len(line) < 2 || line[len(line)-2] != '\r':
		return nil, incompleteBody(msgBodyTerminated)
	}
	return line[:len(line)-2], nil
}

// readChunkHeader reads "hex-size[;ext]" and starts the chunk.
func (c *chunkedReader) readChunkHeader() error {
	line, err := c.readLine()
	if err != nil {
		return err
	}
	sizeText, ext, _ := bytes.Cut(line, []byte(";"))
	size, ok := parseChunkSize(sizeText)
	if !ok {
		return incompleteBody(msgBodyTerminated)
	}
	if size > c.maxChunk {
		return NewError("InvalidChunkSizeError", http.StatusBadRequest,
			fmt.Sprintf("Chunk size must not exceed %d bytes.", c.maxChunk))
	}
	if c.declared >= 0 && size > c.declared-c.decoded {
		return incompleteBody(msgBodyLength)
	}
	if size > 0 && c.prevSize > 0 && c.prevSize < MinChunkSize {
		return NewError("InvalidChunkSizeError", http.StatusBadRequest,
			"Only the last chunk is allowed to have a size less than 8192 bytes")
	}
	if c.sig != nil {
		sig, found := bytes.CutPrefix(ext, []byte(signaturePrefix))
		if !found || len(sig) != 2*sha256.Size {
			return SignatureDoesNotMatch()
		}
		if _, err := hex.Decode(c.claimed[:], sig); err != nil {
			return SignatureDoesNotMatch()
		}
		c.chunkHash.Reset()
	}
	if size == 0 {
		return c.finalChunk()
	}
	c.remaining, c.prevSize, c.state = size, size, stateData
	return nil
}

// parseChunkSize reads a hex chunk size; ok is false for anything but 1 to
// 16 hex digits (after leading zeros, at most 15: below 2^60).
func parseChunkSize(s []byte) (int64, bool) {
	if len(s) == 0 || len(s) > 16 {
		return 0, false
	}
	var n int64
	digits := 0
	for i := 0; i < len(s); i++ {
		var d byte
		switch b := s[i]; {
		case '0' <= b && b <= '9':
			d = b - '0'
		case 'a' <= b && b <= 'f':
			d = b - 'a' + 10
		case 'A' <= b && b <= 'F':
			d = b - 'A' + 10
		default:
			return 0, false
		}
		if n == 0 && d == 0 {
			continue
		}
		digits++
		if digits > 15 {
			return 0, false
		}
		n = n<<4 | int64(d)
	}
	return n, true
}

// endChunk consumes the CRLF after chunk data and verifies its signature.
func (c *chunkedReader) endChunk() error {
	if err := c.readCRLF(); err != nil {
		return err
	}
	if c.sig != nil {
		var sum [sha256.Size]byte
		if !c.sig.verifyChunk(&c.claimed, c.chunkHash.Sum(sum[:0])) {
			return SignatureDoesNotMatch()
		}
	}
	c.state = stateHeader
	return nil
}

func (c *chunkedReader) readCRLF() error {
	b0, err := c.br.ReadByte()
	if err != nil {
		return bodyError(err, msgBodyTerminated)
	}
	b1, err := c.br.ReadByte()
	if err != nil {
		return bodyError(err, msgBodyTerminated)
	}
	if b0 != '\r' || b1 != '\n' {
		return incompleteBody(msgBodyTerminated)
	}
	return nil
}

// finalChunk handles the zero-size chunk: its signature, the trailer lines
// and their signature, the terminating empty line and the decoded length.
func (c *chunkedReader) finalChunk() error {
	if c.sig != nil {
		sum := sha256.Sum256(nil)
		if !c.sig.verifyChunk(&c.claimed, sum[:]) {
			return SignatureDoesNotMatch()
		}
	}
	var trailerSig string
	haveSig := false
	for first := true; ; first = false {
		if c.atEOF() {
			// The terminating empty line is tolerated missing: everything
			// that is signed or counted has been read.
			break
		}
		line, err := c.readLine()
		if err != nil {
			return err
		}
		if len(line) == 0 {
			// Some signers put the empty line of the final chunk before
			// the trailer ("0;sig\r\n\r\ntrailer\r\n\r\n"): accept it.
			if first && c.trailers && !c.atEOF() {
				continue
			}
			break
		}
		if !c.trailers || len(c.fields) >= maxTrailers {
			return NewError("MalformedTrailerError", http.StatusBadRequest, msgMalformedTrail)
		}
		name, value, ok := strings.Cut(string(line), ":")
		name = strings.ToLower(strings.TrimSpace(name))
		if !ok || name == "" {
			return NewError("MalformedTrailerError", http.StatusBadRequest, msgMalformedTrail)
		}
		value = strings.TrimSpace(value)
		if name == trailerSigName {
			if haveSig {
				return NewError("MalformedTrailerError", http.StatusBadRequest, msgMalformedTrail)
			}
			trailerSig, haveSig = value, true
			continue
		}
		for _, f := range c.fields {
			if f.name == name {
				return NewError("MalformedTrailerError", http.StatusBadRequest, msgMalformedTrail)
			}
		}
		c.fields = append(c.fields, trailerField{name: name, value: value})
	}
	if _, err := c.br.Peek(1); err != io.EOF {
		if err != nil {
			return bodyError(err, msgBodyTerminated)
		}
		return incompleteBody(msgBodyTerminated) // bytes after the end
	}
	slices.SortFunc(c.fields, func(a, b trailerField) int { return strings.Compare(a.name, b.name) })
	if c.sig != nil && c.trailers {
		var claimed [sha256.Size]byte
		if !haveSig || len(trailerSig) != 2*sha256.Size {
			return SignatureDoesNotMatch()
		}
		if _, err := hex.Decode(claimed[:], []byte(trailerSig)); err != nil {
			return SignatureDoesNotMatch()
		}
		if !c.sig.verifyTrailer(&claimed, c.fields) {
			return SignatureDoesNotMatch()
		}
	}
	if c.declared >= 0 && c.decoded != c.declared {
		return incompleteBody(msgBodyLength)
	}
	c.state = stateDone
	return nil
}

// atEOF reports whether the underlying body has ended cleanly.
func (c *chunkedReader) atEOF() bool {
	_, err := c.br.Peek(1)
	return err == io.EOF
}

// trailer returns the value of the named (lower-case) trailer line.
func (c *chunkedReader) trailer(name string) (string, bool) {
	for _, f := range c.fields {
		if f.name == name {
			return f.value, true
		}
	}
	return "", false
}
