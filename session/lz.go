package session

import "encoding/binary"

// A tiny LZ77 codec with a preset dictionary, used instead of compress/flate
// because Seal runs on every token exchange and Open on every signed call. Measured
// on a typical claims set (500-byte session policy, three tags): flate with a preset
// dictionary made a 632-byte token but cost ~30 µs per Seal and ~6 µs per Open (most
// of it resetting 640 KB of hash tables and building Huffman tables), more than the
// RS256 verification of the exchange itself (~27 µs); this codec makes a 680-byte
// token with Seal at ~4 µs and Open at ~2.3 µs, crypto and base64 included.
//
// The compressed stream is a sequence of elements; the decoder's output starts out
// holding lzDict, which copies may reference but which is not part of the result:
//
//	0LLLLLLL                  literal: the next L+1 bytes (1–128)
//	1CCCOOOO [X] OOOOOOOO     copy: length C+4 (4–10), or 11+X when C is 7 (11–266),
//	                          from offset O+1 (1–4096) bytes back
//
// lzDict is part of token version 1: changing it invalidates every outstanding
// token, so add a new version instead. Frequent strings come last, where offsets
// from the start of the payload are smallest.
const lzDict = `token.actions.githubusercontent.com:sub:aud:ref:refs/heads/gitlab.com` +
	`/pipelines-config/identity/oidcari:cloud:bitbucket::workspace/` +
	`arn:aws:iam::aws:policy/ReadOnlyAccessAdministratorAccess` +
	`"StringLike":{"Condition":{"StringEquals":{"aws:PrincipalTag/"aws:SourceIp":` +
	`{"Sid":"","Effect":"Deny","NotAction":"*","Resource":"*"}]}` +
	`"Action":["s3:GetObject","s3:PutObject","s3:ListBucket","s3:DeleteObject",` +
	`"cloudfront:CreateInvalidation","cloudfront:GetDistribution"],` +
	`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:` +
	`"Resource":"arn:aws:s3:::"Resource":["arn:aws:cloudfront::` +
	`repositoryenvironmentbranchproductionmainrepo:` +
	`sts.amazonaws.comarn:aws:iam:::oidc-provider/api.bitbucket.io/2.0/workspaces/` +
	`arn:aws:iam:::role/`

const (
	lzMinMatch  = 4
	lzMaxMatch  = 11 + 255
	lzMaxOffset = 4096
	lzHashBits  = 12
)

func lzHash(u uint32) uint32 { return (u * 2654435761) >> (32 - lzHashBits) }

// lzEncoder compresses with the dictionary preloaded. Its buffers are reused; it is
// not safe for concurrent use (Sealer pools them).
type lzEncoder struct {
	buf   []byte                 // lzDict followed by the input
	base  [1 << lzHashBits]int32 // hash table after indexing lzDict (position+1; 0 empty)
	table [1 << lzHashBits]int32
}

func newLZEncoder() *lzEncoder {
	e := &lzEncoder{buf: append(make([]byte, 0, 2048), lzDict...)}
	for i := 0; i+4 <= len(lzDict); i++ {
		e.base[lzHash(binary.LittleEndian.Uint32(e.buf[i:]))] = int32(i + 1)
	}
	return e
}

// encode appends the compressed form of src to dst.
func (e *lzEncoder) encode(dst, src []byte) []byte {
	e.table = e.base
	buf := append(e.buf[:len(lzDict)], src...)
	e.buf = buf
	lit := len(lzDict)
	for i := lit; i+lzMinMatch <= len(buf); {
		u := binary.LittleEndian.Uint32(buf[i:])
		h := lzHash(u)
		cand := int(e.table[h]) - 1
		e.table[h] = int32(i + 1)
		if cand < 0 || i-cand > lzMaxOffset || binary.LittleEndian.Uint32(buf[cand:]) != u {
			i++
			continue
		}
		n := lzMinMatch
		for i+n < len(buf) && n < lzMaxMatch && buf[cand+n] == buf[i+n] {
			n++
		}
		dst = lzLiterals(dst, buf[lit:i])
		off := i - cand - 1
		if n <= 10 {
			dst = append(dst, 0x80|byte(n-4)<<4|byte(off>>8), byte(off))
		} else {
			dst = append(dst, 0xf0|byte(off>>8), byte(n-11), byte(off))
		}
		for j := i + 1; j < i+n && j+4 <= len(buf); j++ {
			e.table[lzHash(binary.LittleEndian.Uint32(buf[j:]))] = int32(j + 1)
		}
		i += n
		lit = i
	}
	return lzLiterals(dst, buf[lit:])
}

func lzLiterals(dst, lit []byte) []byte {
	for len(lit) > 0 {
		n := min(len(lit), 128)
		dst = append(dst, byte(n-1))
		dst = append(dst, lit[:n]...)
		lit = lit[n:]
	}
	return dst
}

// lzDecode decompresses src into out, which must hold lzDict in out[:len(lzDict)]
// and have room for the largest acceptable result; it returns the decoded bytes,
// which alias out. It reports false for a corrupt stream or one that does not fit,
// rather than write past out.
func lzDecode(out, src []byte) ([]byte, bool) {
	d := len(lzDict)
	for i := 0; i < len(src); {
		t := src[i]
		i++
		if t < 0x80 {
			n := int(t) + 1
			if n > len(src)-i || n > len(out)-d {
				return nil, false
			}
			d += copy(out[d:], src[i:i+n])
			i += n
			continue
		}
		n := int(t>>4&7) + 4
		if n == 11 {
			if i >= len(src) {
				return nil, false
			}
			n += int(src[i])
			i++
		}
		if i >= len(src) {
			return nil, false
		}
		off := int(t&0x0f)<<8 | int(src[i]) + 1
		i++
		if off > d || n > len(out)-d {
			return nil, false
		}
		if off >= n {
			d += copy(out[d:d+n], out[d-off:])
		} else {
			for k := 0; k < n; k++ {
				out[d] = out[d-off]
				d++
			}
		}
	}
	return out[len(lzDict):d], true
}
