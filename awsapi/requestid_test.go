package awsapi

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io"
	"regexp"
	"strings"
	"testing"
)

// uuid4 is the form of a version 4, RFC 9562 variant UUID, as AWS's request IDs.
var uuid4 = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

// idBits returns the 128 bits of a UUID string.
func idBits(t *testing.T, id string) [16]byte {
	t.Helper()
	var b [16]byte
	if _, err := hex.Decode(b[:], []byte(strings.ReplaceAll(id, "-", ""))); err != nil {
		t.Fatalf("id %q: %v", id, err)
	}
	return b
}

// TestRequestIDsAreRandomUUIDs draws IDs the way a server does and checks what a
// client sees: each is a version 4 UUID, none repeats, consecutive IDs have no
// common prefix and differ in most hex digits (a counter or a fixed prefix would
// not), and every one of the 122 random bits is set in about half of the IDs.
func TestRequestIDsAreRandomUUIDs(t *testing.T) {
	const n = 4000
	g, err := NewRequestIDs(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	seen := make(map[string]bool, n)
	var ones [128]int
	prev := ""
	for range n {
		id := g.Next()
		if !uuid4.MatchString(id) {
			t.Fatalf("id %q is not a version 4 UUID", id)
		}
		if seen[id] {
			t.Fatalf("id %q repeated within %d", id, n)
		}
		seen[id] = true
		if prev != "" {
			// Random hex digits agree with probability 1/16, so a common prefix of
			// 12 or more, or fewer than 12 of the 31 random digits differing, is a
			// pattern (by chance: less than once in 10^10 runs of this test).
			common := 0
			for common < len(id) && id[common] == prev[common] {
				common++
			}
			differ := 0
			for i := range id {
				if id[i] != prev[i] {
					differ++
				}
			}
			if common >= 12 || differ < 12 {
				t.Fatalf("consecutive ids %q and %q share a %d-character prefix and differ in only %d digits: not independent", prev, id, common, differ)
			}
		}
		prev = id
		b := idBits(t, id)
		for i := range 128 {
			ones[i] += int(b[i/8] >> (7 - i%8) & 1)
		}
	}
	for i, c := range ones {
		switch {
		case i >= 48 && i < 52: // version 0100
			if want := map[int]int{48: 0, 49: n, 50: 0, 51: 0}[i]; c != want {
				t.Errorf("version bit %d set in %d of %d ids, want %d", i, c, n, want)
			}
		case i == 64 || i == 65: // variant 10
			if want := map[int]int{64: n, 65: 0}[i]; c != want {
				t.Errorf("variant bit %d set in %d of %d ids, want %d", i, c, n, want)
			}
		case c < n*2/5 || c > n*3/5: // 0.5 ± 0.1: more than 12 standard deviations
			t.Errorf("bit %d set in %d of %d ids: not random", i, c, n)
		}
	}
}

// TestRequestIDsSeed checks that the generator is keyed by its reader: the same
// seed gives the same IDs, another seed other IDs, and a short seed is an error.
func TestRequestIDsSeed(t *testing.T) {
	seed := bytes.Repeat([]byte{7}, 32)
	a, err := NewRequestIDs(bytes.NewReader(seed))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := NewRequestIDs(bytes.NewReader(seed))
	c, _ := NewRequestIDs(rand.Reader)
	for range 3 {
		x, y, z := a.Next(), b.Next(), c.Next()
		if x != y {
			t.Fatalf("one seed gave %q and %q", x, y)
		}
		if x == z {
			t.Fatalf("two seeds gave %q", x)
		}
	}
	_, err = NewRequestIDs(bytes.NewReader(make([]byte, 5)))
	if !errors.Is(err, io.ErrUnexpectedEOF) || !strings.Contains(err.Error(), "seed request ids") {
		t.Fatalf("short seed: %v", err)
	}
}

// TestRequestIDsConcurrent draws IDs from several goroutines at once: all are
// version 4 UUIDs and distinct.
func TestRequestIDsConcurrent(t *testing.T) {
	const workers, each = 4, 5000
	g, err := NewRequestIDs(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ch := make(chan []string)
	for range workers {
		go func() {
			ids := make([]string, each)
			for i := range ids {
				ids[i] = g.Next()
			}
			ch <- ids
		}()
	}
	seen := map[string]bool{}
	for range workers {
		for _, id := range <-ch {
			if !uuid4.MatchString(id) || seen[id] {
				t.Fatalf("bad or repeated id %q", id)
			}
			seen[id] = true
		}
	}
}

// TestNewRequestIDFrom checks the one-off form: the reader's 16 bytes with the
// version and variant bits set, and a short read refused.
func TestNewRequestIDFrom(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{strings.Repeat("00", 16), "00000000-0000-4000-8000-000000000000"},
		{strings.Repeat("ff", 16), "ffffffff-ffff-4fff-bfff-ffffffffffff"},
		{"00112233445566778899aabbccddeeff", "00112233-4455-4677-8899-aabbccddeeff"},
	} {
		in, _ := hex.DecodeString(tc.in)
		id, err := NewRequestIDFrom(bytes.NewReader(in))
		if err != nil || id != tc.want {
			t.Errorf("NewRequestIDFrom(%s) = %q, %v; want %q", tc.in, id, err, tc.want)
		}
	}
	if _, err := NewRequestIDFrom(bytes.NewReader(make([]byte, 3))); err == nil {
		t.Fatal("short read accepted")
	}
}
