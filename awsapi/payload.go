package awsapi

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
)

// x-amz-content-sha256 values of streaming uploads.
const (
	// StreamingSignedPayload: aws-chunked, every chunk signed.
	StreamingSignedPayload = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"
	// StreamingSignedPayloadTrailer: aws-chunked, every chunk signed, then
	// a signed trailer (usually a checksum).
	StreamingSignedPayloadTrailer = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER"
	// StreamingUnsignedPayloadTrailer: aws-chunked, unsigned, with a
	// trailer; what the SDKs send over HTTPS by default.
	StreamingUnsignedPayloadTrailer = "STREAMING-UNSIGNED-PAYLOAD-TRAILER"
)

// PayloadOptions tunes NewPayloadReader; the zero value is usable.
type PayloadOptions struct {
	// Checksums are computed in addition to those the request declares,
	// for example ChecksumMD5 for an ETag, or ChecksumCRC64NVME, which S3
	// adds to objects uploaded without a checksum.
	Checksums []ChecksumAlgorithm
	// MaxChunkSize bounds one aws-chunked chunk; zero means
	// DefaultMaxChunkSize.
	MaxChunkSize int64
}

// PayloadReader returns the bytes of an S3 object upload whose headers
// verified, checking the payload as it streams: the SHA-256 that
// x-amz-content-sha256 names, the chunk and trailer signatures and framing
// of aws-chunked bodies, the decoded length, and the x-amz-checksum-* and
// Content-MD5 checksums in headers or trailers.
//
// Bytes are handed out before the check that covers them is complete:
// whatever was read is trustworthy only if Read returned io.EOF. Any
// failure is returned instead of io.EOF (and again on later calls) as an
// AWS-shaped *Error such as SignatureDoesNotMatch, XAmzContentSHA256Mismatch,
// BadDigest, IncompleteBody, InvalidChunkSizeError or MalformedTrailerError;
// an error of the underlying body other than an early end is returned
// wrapped, so that an *http.MaxBytesError stays visible to errors.As.
//
// A PayloadReader is not safe for concurrent use.
type PayloadReader struct {
	src      io.Reader      // the body, or its aws-chunked decoder
	chunked  *chunkedReader // nil unless aws-chunked
	declared int64          // object length declared, -1 unknown
	n        int64          // object bytes returned

	bodySHA  []byte // the hex x-amz-content-sha256 to check, decoded; nil if none
	sha      *checksumState
	sums     []*checksumState
	trailer  ChecksumAlgorithm // checksum expected in the trailer, "" if none
	primary  ChecksumAlgorithm // the checksum the client sent or asked for
	computed Checksums
	err      error
}

// NewPayloadReader wraps the body of r, whose headers auth describes as
// returned by Verifier.Verify with a nil payload. The payload hash decides
// the decoding: UNSIGNED-PAYLOAD passes the body through (decoding
// unsigned aws-chunked framing if Content-Encoding says aws-chunked), a hex
// SHA-256 is checked at the end, and the STREAMING-* values are decoded as
// aws-chunked with their signatures verified.
//
// It returns InvalidArgument for an x-amz-content-sha256 it cannot decode
// (such as SigV4a streaming), MissingContentLength when a signed streaming
// upload lacks x-amz-decoded-content-length, InvalidRequest or
// InvalidDigest for malformed or conflicting checksum headers.
func NewPayloadReader(r *http.Request, auth *Auth, opts PayloadOptions) (*PayloadReader, error) {
	if auth == nil {
		return nil, errors.New("awsapi: NewPayloadReader needs the Auth of a verified request")
	}
	body := io.Reader(r.Body)
	if r.Body == nil {
		body = http.NoBody
	}
	maxChunk := opts.MaxChunkSize
	if maxChunk <= 0 {
		maxChunk = DefaultMaxChunkSize
	}
	p := &PayloadReader{declared: r.ContentLength}
	var (
		signed, trailers, chunked bool
	)
	switch ph := auth.PayloadHash; {
	case ph == UnsignedPayload:
		chunked = isAWSChunked(r.Header)
		trailers = chunked
	case ph == StreamingSignedPayload:
		chunked, signed = true, true
	case ph == StreamingSignedPayloadTrailer:
		chunked, signed, trailers = true, true, true
	case ph == StreamingUnsignedPayloadTrailer:
		chunked, trailers = true, true
	case len(ph) == 2*sha256.Size && strings.Trim(ph, "0123456789abcdef") == "":
		p.bodySHA, _ = hex.DecodeString(ph)
		p.sha = &checksumState{alg: ChecksumSHA256, h: sha256.New()}
	default:
		return nil, NewError("InvalidArgument", http.StatusBadRequest,
			"x-amz-content-sha256 must be UNSIGNED-PAYLOAD, STREAMING-AWS4-HMAC-SHA256-PAYLOAD, or a valid sha256 value.")
	}
	if err := p.setupChecksums(r.Header, trailers, opts.Checksums); err != nil {
		return nil, err
	}
	if !chunked {
		p.src = body
		return p, nil
	}
	declared, err := decodedLength(r.Header, signed)
	if err != nil {
		return nil, err
	}
	var sig *chunkSigner
	if signed {
		if auth.stream == nil {
			return nil, errors.New("awsapi: Auth of a streaming upload carries no signing state")
		}
		sig = newChunkSigner(auth.stream)
	}
	p.declared = declared
	p.chunked = newChunkedReader(body, sig, trailers, declared, maxChunk)
	p.src = p.chunked
	return p, nil
}

// isAWSChunked reports whether Content-Encoding lists aws-chunked.
func isAWSChunked(h http.Header) bool {
	for _, v := range h.Values("Content-Encoding") {
		for _, e := range strings.Split(v, ",") {
			if strings.EqualFold(strings.TrimSpace(e), "aws-chunked") {
				return true
			}
		}
	}
	return false
}

// StoredContentEncoding is the Content-Encoding S3 stores for an object:
// the request's, without aws-chunked, which describes only the upload.
func StoredContentEncoding(h http.Header) string {
	var kept []string
	for _, v := range h.Values("Content-Encoding") {
		for _, e := range strings.Split(v, ",") {
			if e = strings.TrimSpace(e); e != "" && !strings.EqualFold(e, "aws-chunked") {
				kept = append(kept, e)
			}
		}
	}
	return strings.Join(kept, ",")
}

// decodedLength reads x-amz-decoded-content-length: required for signed
// streaming uploads, -1 when an unsigned one omits it (the SDKs do for
// bodies of unknown length).
func decodedLength(h http.Header, required bool) (int64, error) {
	v := h.Values("X-Amz-Decoded-Content-Length")
	if len(v) == 0 {
		if required {
			return 0, NewError("MissingContentLength", http.StatusLengthRequired,
				"You must provide the Content-Length HTTP header.")
		}
		return -1, nil
	}
	n, err := strconv.ParseInt(v[0], 10, 64)
	if len(v) > 1 || err != nil || n < 0 || v[0][0] == '+' {
		return 0, NewError("InvalidArgument", http.StatusBadRequest,
			"x-amz-decoded-content-length must be a non-negative integer.")
	}
	return n, nil
}

// setupChecksums reads the checksum headers: at most one x-amz-checksum-*
// header or x-amz-trailer checksum, Content-MD5, and
// x-amz-sdk-checksum-algorithm, and prepares the hashes to compute.
func (p *PayloadReader) setupChecksums(h http.Header, trailers bool, extra []ChecksumAlgorithm) error {
	multiple := NewError("InvalidRequest", http.StatusBadRequest,
		"Expecting a single x-amz-checksum- header. Multiple checksum Types are not allowed.")
	for name, values := range h {
		lower := strings.ToLower(name)
		a, ok := checksumFromHeader(lower)
		if !ok || len(values) == 0 {
			continue
		}
		if p.primary != "" {
			return multiple
		}
		want, ok := decodeChecksum(a, values[0])
		if len(values) != 1 || !ok {
			return invalidChecksumValue(a)
		}
		p.primary = a
		p.add(a).want = want
	}
	if tv := h.Values("X-Amz-Trailer"); len(tv) > 0 {
		var names []string
		for _, v := range tv {
			for _, n := range strings.Split(v, ",") {
				if n = strings.TrimSpace(n); n != "" {
					names = append(names, strings.ToLower(n))
				}
			}
		}
		unsupported := NewError("InvalidRequest", http.StatusBadRequest,
			"The value specified in the x-amz-trailer header is not supported")
		if len(names) != 1 || !trailers {
			return unsupported
		}
		a, ok := checksumFromHeader(names[0])
		if !ok {
			return unsupported
		}
		if p.primary != "" {
			return multiple
		}
		p.primary, p.trailer = a, a
		p.add(a).trailer = true
	}
	if v := h.Values("Content-Md5"); len(v) > 0 {
		want, ok := decodeChecksum(ChecksumMD5, v[0])
		if len(v) != 1 || !ok {
			return invalidChecksumValue(ChecksumMD5)
		}
		p.add(ChecksumMD5).want = want
	}
	if v := h.Get("X-Amz-Sdk-Checksum-Algorithm"); v != "" {
		a, ok := ParseChecksumAlgorithm(v)
		if !ok || p.primary != "" && p.primary != a {
			return NewError("InvalidRequest", http.StatusBadRequest,
				"Value for x-amz-sdk-checksum-algorithm header is invalid.")
		}
		p.primary = a
		p.add(a)
	}
	for _, a := range extra {
		if a.New() != nil {
			p.add(a)
		}
	}
	return nil
}

// add returns the state computing a, creating it if needed.
func (p *PayloadReader) add(a ChecksumAlgorithm) *checksumState {
	for _, s := range p.sums {
		if s.alg == a {
			return s
		}
	}
	if a == ChecksumSHA256 && p.sha != nil {
		// The body SHA-256 is computed anyway; share it.
		p.sums = append(p.sums, p.sha)
		return p.sha
	}
	s := &checksumState{alg: a, h: a.New()}
	p.sums = append(p.sums, s)
	return s
}

// Read returns object bytes; see PayloadReader for when they can be trusted.
func (p *PayloadReader) Read(b []byte) (int, error) {
	if p.err != nil {
		return 0, p.err
	}
	n, err := p.src.Read(b)
	if n > 0 {
		p.n += int64(n)
		if p.sha != nil {
			p.sha.h.Write(b[:n])
		}
		for _, s := range p.sums {
			if s != p.sha {
				s.h.Write(b[:n])
			}
		}
	}
	switch {
	case err == nil:
		return n, nil
	case err == io.EOF:
		if ferr := p.finish(); ferr != nil {
			p.err = ferr
			return n, ferr
		}
		p.err = io.EOF
		return n, io.EOF
	case p.chunked == nil:
		p.err = bodyError(err, msgBodyLength)
	default:
		p.err = err // already mapped by the decoder
	}
	return n, p.err
}

// finish runs the checks due at the end of the payload.
func (p *PayloadReader) finish() error {
	if p.chunked == nil && p.declared >= 0 && p.n != p.declared {
		return incompleteBody(msgBodyLength)
	}
	if p.bodySHA != nil {
		var sum [sha256.Size]byte
		if subtle.ConstantTimeCompare(p.sha.h.Sum(sum[:0]), p.bodySHA) != 1 {
			return NewError("XAmzContentSHA256Mismatch", http.StatusBadRequest,
				"The provided 'x-amz-content-sha256' header does not match what was computed.")
		}
	}
	if p.chunked != nil {
		for _, f := range p.chunked.fields {
			if f.name != p.trailer.Header() {
				return NewError("MalformedTrailerError", http.StatusBadRequest, msgMalformedTrail)
			}
		}
	}
	if p.trailer != "" {
		v, ok := p.chunked.trailer(p.trailer.Header())
		if !ok {
			return NewError("MalformedTrailerError", http.StatusBadRequest, msgMalformedTrail)
		}
		want, ok := decodeChecksum(p.trailer, v)
		if !ok {
			return invalidChecksumValue(p.trailer)
		}
		p.add(p.trailer).want = want
	}
	computed := make(Checksums, len(p.sums))
	var mismatch *Error
	for _, s := range p.sums {
		sum := s.h.Sum(nil)
		computed[s.alg] = base64.StdEncoding.EncodeToString(sum)
		if s.want != nil && subtle.ConstantTimeCompare(sum, s.want) != 1 && mismatch == nil {
			mismatch = badDigest(s.alg)
		}
	}
	if mismatch != nil {
		return mismatch
	}
	p.computed = computed
	return nil
}

// ContentLength is the length of the object as declared before reading:
// x-amz-decoded-content-length for aws-chunked uploads, Content-Length
// otherwise; -1 when unknown.
func (p *PayloadReader) ContentLength() int64 { return p.declared }

// BytesRead is the number of object bytes returned so far.
func (p *PayloadReader) BytesRead() int64 { return p.n }

// Checksums returns the checksums computed over the object once Read has
// returned io.EOF, nil before: every algorithm the request declared in a
// header or trailer or named in x-amz-sdk-checksum-algorithm, Content-MD5's
// MD5, and those of PayloadOptions.Checksums. The map is the caller's.
func (p *PayloadReader) Checksums() Checksums {
	if p.err != io.EOF {
		return nil
	}
	return p.computed
}

// Checksum is the checksum the client supplied (in a header or trailer) or
// asked for with x-amz-sdk-checksum-algorithm, as S3 stores and returns
// it, once Read has returned io.EOF; ok is false before or when there is
// none.
func (p *PayloadReader) Checksum() (alg ChecksumAlgorithm, value string, ok bool) {
	if p.err != io.EOF || p.primary == "" {
		return "", "", false
	}
	return p.primary, p.computed[p.primary], true
}
