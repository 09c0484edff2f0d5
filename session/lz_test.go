package session

import (
	"bytes"
	"strings"
	"testing"
)

func lzRoundTrip(t *testing.T, e *lzEncoder, src []byte) {
	t.Helper()
	comp := e.encode(nil, src)
	out := make([]byte, len(lzDict)+len(src))
	copy(out, lzDict)
	got, ok := lzDecode(out, comp)
	if !ok || !bytes.Equal(got, src) {
		t.Fatalf("round trip of %d bytes failed (ok=%v, got %d bytes)", len(src), ok, len(got))
	}
	// One byte less room must be refused, not overrun.
	if len(src) > 0 {
		if _, ok := lzDecode(out[:len(out)-1], comp); ok {
			t.Fatalf("decoded %d bytes into %d bytes of room", len(src), len(src)-1)
		}
	}
}

func TestLZ(t *testing.T) {
	e := newLZEncoder()
	r := testRand(11)
	random := make([]byte, 5000)
	r.Read(random)
	cases := [][]byte{
		nil,
		[]byte("a"),
		[]byte("abcd"),
		[]byte(strings.Repeat("a", 1000)),   // overlapping copies, long matches
		[]byte(strings.Repeat("abc", 1000)), // offset 3
		random[:127], random[:128], random[:129], random[:300], random,
		[]byte(lzDict),
		[]byte(lzDict[100:400] + string(random[:50]) + lzDict[:200]),
		append(append([]byte(nil), random[:3000]...), random[:3000]...), // offset just under 4096
		append(append([]byte(nil), random[:4200]...), random[:4200]...), // offset beyond the window
	}
	for _, src := range cases {
		lzRoundTrip(t, e, src)
	}
	c := typicalClaims(t)
	p := appendClaims(nil, &c)
	lzRoundTrip(t, e, p)
	if n := len(e.encode(nil, p)); n > len(p)*3/4 {
		t.Fatalf("typical claims compress only from %d to %d bytes", len(p), n)
	}
}

func TestLZDecodeCorrupt(t *testing.T) {
	out := make([]byte, len(lzDict)+100)
	copy(out, lzDict)
	for _, src := range [][]byte{
		{0x05, 'a'},             // literal past the end
		{0x80},                  // copy without offset
		{0xf0, 0x01},            // long copy without offset
		{0x8f, 0xff},            // offset 4096 > dictionary
		{0xf0, 0xff, 0x00},      // 266 bytes into 100 of room
		{0x7f, 0x00},            // 128-byte literal, 1 present
		{0x00, 'x', 0x80, 0x00}, // valid: "x" then copy offset 1 length 4
	} {
		got, ok := lzDecode(out, src)
		if ok != (len(src) == 4) {
			t.Fatalf("%x: ok = %v", src, ok)
		}
		if ok && string(got) != "xxxxx" {
			t.Fatalf("%x: got %q", src, got)
		}
	}
}

// FuzzLZ checks that encode∘decode is the identity and that decoding arbitrary
// bytes never panics or overruns its buffer.
func FuzzLZ(f *testing.F) {
	f.Add([]byte("hello hello hello"))
	f.Add([]byte{0xf0, 0xff, 0x00})
	e := newLZEncoder()
	f.Fuzz(func(t *testing.T, in []byte) {
		out := make([]byte, len(lzDict)+64)
		copy(out, lzDict)
		lzDecode(out, in)
		if len(in) <= maxPayload {
			lzRoundTrip(t, e, in)
		}
	})
}
