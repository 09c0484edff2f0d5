package awsapi

import (
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"hash"
	"hash/crc32"
	"hash/crc64"
	"net/http"
	"strings"

	"github.com/minio/crc64nvme"
)

// ChecksumAlgorithm names an S3 object checksum as S3 spells it in
// x-amz-sdk-checksum-algorithm and in ChecksumAlgorithm elements.
type ChecksumAlgorithm string

// The checksum algorithms S3 accepts on uploads.
const (
	ChecksumCRC32     ChecksumAlgorithm = "CRC32"
	ChecksumCRC32C    ChecksumAlgorithm = "CRC32C"
	ChecksumCRC64NVME ChecksumAlgorithm = "CRC64NVME"
	ChecksumSHA1      ChecksumAlgorithm = "SHA1"
	ChecksumSHA256    ChecksumAlgorithm = "SHA256"
	// ChecksumMD5 is the digest of the Content-MD5 header (and the ETag of
	// a single-part object); it has no x-amz-checksum-* form.
	ChecksumMD5 ChecksumAlgorithm = "MD5"
)

// checksumAlgorithms lists the x-amz-checksum-* algorithms in a fixed order.
var checksumAlgorithms = [...]ChecksumAlgorithm{ChecksumCRC32, ChecksumCRC32C, ChecksumCRC64NVME, ChecksumSHA1, ChecksumSHA256}

var crc32cTable = crc32.MakeTable(crc32.Castagnoli)

// ParseChecksumAlgorithm reads an algorithm name as sent in
// x-amz-sdk-checksum-algorithm, in any letter case. MD5 is not an
// x-amz-checksum-* algorithm and is not accepted here.
func ParseChecksumAlgorithm(s string) (ChecksumAlgorithm, bool) {
	for _, a := range checksumAlgorithms {
		if strings.EqualFold(s, string(a)) {
			return a, true
		}
	}
	return "", false
}

// Header is the request and response header that carries a checksum of
// this algorithm: "x-amz-checksum-crc32" and so on, or "Content-MD5".
func (a ChecksumAlgorithm) Header() string {
	switch a {
	case ChecksumCRC32:
		return "x-amz-checksum-crc32"
	case ChecksumCRC32C:
		return "x-amz-checksum-crc32c"
	case ChecksumCRC64NVME:
		return "x-amz-checksum-crc64nvme"
	case ChecksumSHA1:
		return "x-amz-checksum-sha1"
	case ChecksumSHA256:
		return "x-amz-checksum-sha256"
	case ChecksumMD5:
		return "Content-MD5"
	}
	return ""
}

// Size is the length in bytes of the algorithm's digest, or 0 for an
// unknown algorithm.
func (a ChecksumAlgorithm) Size() int {
	switch a {
	case ChecksumCRC32, ChecksumCRC32C:
		return crc32.Size
	case ChecksumCRC64NVME:
		return crc64.Size
	case ChecksumSHA1:
		return sha1.Size
	case ChecksumSHA256:
		return sha256.Size
	case ChecksumMD5:
		return md5.Size
	}
	return 0
}

// New returns a hash computing the algorithm's digest in the byte order S3
// encodes (big-endian for the CRCs), or nil for an unknown algorithm.
func (a ChecksumAlgorithm) New() hash.Hash {
	switch a {
	case ChecksumCRC32:
		return crc32.NewIEEE()
	case ChecksumCRC32C:
		return crc32.New(crc32cTable)
	case ChecksumCRC64NVME:
		// The reflected CRC-64/NVME that S3 computes ("123456789" →
		// 0xae8b14860a799888). hash/crc64 would build its 16 KiB
		// slicing table anew for each write of 2 KiB or more with a
		// polynomial other than ECMA's or ISO's; minio/crc64nvme keeps
		// one, and uses the CPU's carry-less multiply where it has one.
		return crc64nvme.New()
	case ChecksumSHA1:
		return sha1.New()
	case ChecksumSHA256:
		return sha256.New()
	case ChecksumMD5:
		return md5.New()
	}
	return nil
}

// checksumFromHeader maps a lower-case x-amz-checksum-* name to its
// algorithm; other x-amz-checksum-* headers (-type, -mode) are not checksums.
func checksumFromHeader(lower string) (ChecksumAlgorithm, bool) {
	for _, a := range checksumAlgorithms {
		if lower == a.Header() {
			return a, true
		}
	}
	return "", false
}

// decodeChecksum decodes a base64 checksum value of algorithm a; ok is
// false unless it is canonical standard base64 of exactly a.Size() bytes.
func decodeChecksum(a ChecksumAlgorithm, v string) ([]byte, bool) {
	if len(v) != base64.StdEncoding.EncodedLen(a.Size()) {
		return nil, false
	}
	b, err := base64.StdEncoding.Strict().DecodeString(v)
	if err != nil || len(b) != a.Size() {
		return nil, false
	}
	return b, true
}

// Checksums are computed object checksums: the base64 of each digest, as
// S3 stores and returns it in x-amz-checksum-* headers (and ETag-style hex
// for MD5 is left to the caller), keyed by algorithm.
type Checksums map[ChecksumAlgorithm]string

// checksumState computes one algorithm over the payload and, when the
// request declared a value, holds it for the comparison at the end.
type checksumState struct {
	alg  ChecksumAlgorithm
	h    hash.Hash
	want []byte // nil: nothing declared yet (or compute only)
	// trailer is true when the declared value arrives in the aws-chunked
	// trailer rather than in a header.
	trailer bool
}

// badDigest is the BadDigest error for a checksum that does not match.
func badDigest(a ChecksumAlgorithm) *Error {
	if a == ChecksumMD5 {
		return NewError("BadDigest", http.StatusBadRequest, "The Content-MD5 you specified did not match what we received.")
	}
	return NewError("BadDigest", http.StatusBadRequest, "The "+string(a)+" you specified did not match the calculated checksum.")
}

// invalidChecksumValue is the InvalidRequest error for a checksum header or
// trailer whose value is not base64 of the right length.
func invalidChecksumValue(a ChecksumAlgorithm) *Error {
	if a == ChecksumMD5 {
		return NewError("InvalidDigest", http.StatusBadRequest, "The Content-MD5 you specified was invalid.")
	}
	return NewError("InvalidRequest", http.StatusBadRequest, "Value for "+a.Header()+" header is invalid.")
}
