package session

import (
	crand "crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/keyless-dev/keyless/accesskey"
)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// testRand is a deterministic random source (not safe for concurrent use).
func testRand(seed uint64) *rand.ChaCha8 {
	var s [32]byte
	s[0] = byte(seed)
	s[1] = byte(seed >> 8)
	return rand.NewChaCha8(s)
}

func newRing(t testing.TB, seed uint64) *Keyring {
	t.Helper()
	k, err := NewKeyring(testRand(seed), t0)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// typicalClaims is a web-identity session with a 500-byte session policy and 3 tags.
func typicalClaims(t testing.TB) Claims {
	t.Helper()
	id, secret, err := accesskey.New(testRand(99), accesskey.Temporary)
	if err != nil {
		t.Fatal(err)
	}
	policy := `{"Version":"2012-10-17","Statement":[{"Sid":"DeployStatic","Effect":"Allow","Action":["s3:PutObject","s3:GetObject","s3:DeleteObject"],"Resource":"arn:aws:s3:::example-site-bucket/*"},{"Sid":"ListBucket","Effect":"Allow","Action":"s3:ListBucket","Resource":"arn:aws:s3:::example-site-bucket"},{"Sid":"Invalidate","Effect":"Allow","Action":"cloudfront:CreateInvalidation","Resource":"arn:aws:cloudfront::123456789012:distribution/E2QWRUHAPOMQZL"}]}`
	for len(policy) < 500 {
		policy = strings.Replace(policy, `"Sid":"`, `"Sid":"x`, 1)
	}
	if len(policy) != 500 {
		t.Fatalf("policy is %d bytes", len(policy))
	}
	return Claims{
		AccessKeyID:     id,
		SecretAccessKey: secret,
		Account:         "123456789012",
		RoleARN:         "arn:aws:iam::123456789012:role/ci/bitbucket-deploy",
		RoleID:          "AROAQXYZ3EXAMPLE7K2M",
		RoleName:        "bitbucket-deploy",
		SessionName:     "bitbucket-pipelines-42",
		SourceIdentity:  "pipeline-42",
		Provider:        "arn:aws:iam::123456789012:oidc-provider/api.bitbucket.io/2.0/workspaces/acme/pipelines-config/identity/oidc",
		Subject:         "{7c1e3a2b-5d4f-4e6a-9b8c-0d1e2f3a4b5c}:{9f8e7d6c-5b4a-4c3d-8e2f-1a0b9c8d7e6f}",
		Audience:        "ari:cloud:bitbucket::workspace/2a6f4c1e-8b3d-4f5a-9c7e-1d2b3a4c5e6f",
		SessionPolicy:   policy,
		PolicyARNs:      []string{"arn:aws:iam::aws:policy/ReadOnlyAccess"},
		Tags: []Tag{
			{Key: "repository", Value: "acme/website"},
			{Key: "branch", Value: "main"},
			{Key: "environment", Value: "production"},
		},
		TransitiveTagKeys: []string{"repository"},
		IssuedAt:          t0,
		Expiration:        t0.Add(time.Hour),
	}
}

func TestRoundTrip(t *testing.T) {
	k := newRing(t, 1)
	s := NewSealer(k, testRand(2))
	cases := map[string]Claims{
		"typical": typicalClaims(t),
		"minimal": {AccessKeyID: "ASIAX", SecretAccessKey: "s", IssuedAt: t0, Expiration: t0.Add(time.Second)},
		"chained unicode": {
			AccessKeyID: "ASIAAAAAAAAAAAAAAAAA", SecretAccessKey: strings.Repeat("x", 40),
			RoleARN: "arn:aws-cn:iam::1:role/r", RoleName: "r", SessionName: "s", Account: "1",
			Tags: []Tag{{Key: "k", Value: ""}, {Key: "é", Value: "\x00\xff"}}, Chained: true,
			IssuedAt: time.Unix(-5, 0).UTC(), Expiration: t0,
		},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			tok, err := s.Seal(c)
			if err != nil {
				t.Fatal(err)
			}
			got, err := k.Open(tok, c.IssuedAt)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, c) {
				t.Fatalf("round trip:\n got %+v\nwant %+v", got, c)
			}
			if _, err := base64.StdEncoding.Strict().DecodeString(tok); err != nil {
				t.Fatalf("token is not standard base64: %v", err)
			}
		})
	}
}

func TestSubSecondTimesTruncate(t *testing.T) {
	k := newRing(t, 1)
	c := typicalClaims(t)
	c.IssuedAt = t0.Add(900 * time.Millisecond).In(time.FixedZone("X", 3600))
	c.Expiration = t0.Add(time.Hour + 900*time.Millisecond)
	tok, err := NewSealer(k, crand.Reader).Seal(c)
	if err != nil {
		t.Fatal(err)
	}
	got, err := k.Open(tok, t0)
	if err != nil {
		t.Fatal(err)
	}
	if !got.IssuedAt.Equal(t0) || !got.Expiration.Equal(t0.Add(time.Hour)) || got.Expiration.Location() != time.UTC {
		t.Fatalf("times: %v %v", got.IssuedAt, got.Expiration)
	}
}

func TestTypicalSize(t *testing.T) {
	k := newRing(t, 1)
	tok, err := NewSealer(k, crand.Reader).Seal(typicalClaims(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("typical token (500-byte session policy, 3 tags): %d bytes, utilization %d%%", len(tok), Utilization(len(tok)))
	if len(tok) > 1024 {
		t.Fatalf("typical token is %d bytes", len(tok))
	}
}

func TestExpiry(t *testing.T) {
	k := newRing(t, 1)
	c := typicalClaims(t)
	tok, err := NewSealer(k, crand.Reader).Seal(c)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := k.Open(tok, c.Expiration.Add(-time.Nanosecond)); err != nil {
		t.Fatalf("just before expiry: %v", err)
	}
	for _, now := range []time.Time{c.Expiration, c.Expiration.Add(time.Second), c.Expiration.Add(100 * 24 * time.Hour)} {
		got, err := k.Open(tok, now)
		if err != ErrExpired {
			t.Fatalf("at %v: err = %v, want ErrExpired", now, err)
		}
		if got.RoleARN != c.RoleARN {
			t.Fatalf("expired token should still name its session for audit")
		}
	}
}

func TestRotationAndPrune(t *testing.T) {
	r := testRand(3)
	k, err := NewKeyring(r, t0)
	if err != nil {
		t.Fatal(err)
	}
	s := NewSealer(k, r)
	c := typicalClaims(t)
	c.Expiration = t0.Add(100 * time.Hour)
	old, err := s.Seal(c)
	if err != nil {
		t.Fatal(err)
	}
	oldID := k.Keys()[0].ID

	rotatedAt := t0.Add(time.Hour)
	if err := k.Rotate(r, rotatedAt); err != nil {
		t.Fatal(err)
	}
	keys := k.Keys()
	if len(keys) != 2 || keys[0].Current || !keys[1].Current || keys[0].ID != oldID || keys[1].ID == oldID {
		t.Fatalf("keys after rotate: %+v", keys)
	}
	if _, err := k.Open(old, t0); err != nil {
		t.Fatalf("old token after rotate: %v", err)
	}
	fresh, err := s.Seal(c)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := base64.StdEncoding.DecodeString(fresh)
	if id := uint32(raw[1])<<24 | uint32(raw[2])<<16 | uint32(raw[3])<<8 | uint32(raw[4]); id != keys[1].ID {
		t.Fatalf("new token sealed under key %d, want current %d", id, keys[1].ID)
	}

	// The old key retired at rotatedAt; it must survive a prune up to that instant.
	if n := k.Prune(rotatedAt); n != 0 {
		t.Fatalf("pruned %d keys too early", n)
	}
	if n := k.Prune(rotatedAt.Add(time.Second)); n != 1 {
		t.Fatalf("pruned %d keys, want 1", n)
	}
	if _, err := k.Open(old, t0); err != ErrMalformed {
		t.Fatalf("token under pruned key: err = %v, want ErrMalformed", err)
	}
	if _, err := k.Open(fresh, t0); err != nil {
		t.Fatalf("token under current key: %v", err)
	}
	// The current key is never pruned, however old.
	if n := k.Prune(t0.Add(1000 * time.Hour)); n != 0 || len(k.Keys()) != 1 {
		t.Fatalf("current key pruned")
	}
}

func TestPruneKeepsKeysRetiredRecently(t *testing.T) {
	r := testRand(4)
	k, _ := NewKeyring(r, t0)
	for i := 1; i <= 4; i++ {
		if err := k.Rotate(r, t0.Add(time.Duration(i)*time.Hour)); err != nil {
			t.Fatal(err)
		}
	}
	// Keys created at t0..t0+4h; the one created at t0+1h retired at t0+2h.
	now := t0.Add(2*time.Hour + MaxSessionLifetime + time.Minute)
	if n := k.Prune(now.Add(-MaxSessionLifetime)); n != 2 {
		t.Fatalf("pruned %d, want 2", n)
	}
	keys := k.Keys()
	if len(keys) != 3 || !keys[0].CreatedAt.Equal(t0.Add(2*time.Hour)) {
		t.Fatalf("keys: %+v", keys)
	}
}

func validToken(t testing.TB) (*Keyring, string) {
	k := newRing(t, 1)
	tok, err := NewSealer(k, testRand(5)).Seal(typicalClaims(t))
	if err != nil {
		t.Fatal(err)
	}
	return k, tok
}

func TestTamperEveryBit(t *testing.T) {
	k, tok := validToken(t)
	raw, err := base64.StdEncoding.DecodeString(tok)
	if err != nil {
		t.Fatal(err)
	}
	for i := range raw {
		for bit := range 8 {
			m := append([]byte(nil), raw...)
			m[i] ^= 1 << bit
			if _, err := k.Open(base64.StdEncoding.EncodeToString(m), t0); err != ErrMalformed {
				t.Fatalf("flip byte %d bit %d: err = %v, want ErrMalformed", i, bit, err)
			}
		}
	}
}

func TestTamperEveryCharacter(t *testing.T) {
	k, tok := validToken(t)
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=-_.\n \x00\xff"
	for i := range len(tok) {
		for _, ch := range []byte(alphabet) {
			if ch == tok[i] {
				continue
			}
			m := []byte(tok)
			m[i] = ch
			if _, err := k.Open(string(m), t0); err != ErrMalformed {
				t.Fatalf("char %d -> %q: err = %v, want ErrMalformed", i, ch, err)
			}
		}
	}
}

func TestTruncatedAndTrailing(t *testing.T) {
	k, tok := validToken(t)
	for n := range len(tok) {
		if _, err := k.Open(tok[:n], t0); err != ErrMalformed {
			t.Fatalf("truncated to %d: err = %v", n, err)
		}
		if _, err := k.Open(tok[n+1:], t0); err != ErrMalformed {
			t.Fatalf("first %d chars cut: err = %v", n+1, err)
		}
	}
	raw, _ := base64.StdEncoding.DecodeString(tok)
	for _, extra := range []string{"A", "AAAA", "\n", "\r\n", "====", " ", tok, base64.StdEncoding.EncodeToString(append(raw, 0))[len(tok)-4:]} {
		if _, err := k.Open(tok+extra, t0); err != ErrMalformed {
			t.Fatalf("trailing %q: err = %v", extra, err)
		}
	}
	if _, err := k.Open(base64.StdEncoding.EncodeToString(append(raw, 0)), t0); err != ErrMalformed {
		t.Fatalf("trailing raw byte: err = %v", err)
	}
	// Newlines inside the token (skipped by the base64 decoder) are rejected too.
	if _, err := k.Open(tok[:8]+"\n"+tok[8:len(tok)-1], t0); err != ErrMalformed {
		t.Fatalf("embedded newline: err = %v", err)
	}
}

func TestForeignAndGarbage(t *testing.T) {
	k, tok := validToken(t)
	other := newRing(t, 2)
	if _, err := other.Open(tok, t0); err != ErrMalformed {
		t.Fatalf("foreign ring: err = %v", err)
	}
	// Same key id, different key material.
	b, _ := k.MarshalBinary()
	b[len(b)-1] ^= 1
	var sameID Keyring
	if err := sameID.UnmarshalBinary(b); err != nil {
		t.Fatal(err)
	}
	if _, err := sameID.Open(tok, t0); err != ErrMalformed {
		t.Fatalf("same id, other key: err = %v", err)
	}
	var empty Keyring
	if _, err := empty.Open(tok, t0); err != ErrMalformed {
		t.Fatalf("empty ring: err = %v", err)
	}
	raw, _ := base64.StdEncoding.DecodeString(tok)
	wrongVersion := append([]byte(nil), raw...)
	wrongVersion[0] = 2
	for name, in := range map[string]string{
		"empty":         "",
		"aws-like":      "FwoGZXIvYXdzEBYaDHhBTIJp3y1fQ3CGKyKsAR0example0token0with0padding0and0more0text==",
		"jwt":           "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.",
		"huge":          strings.Repeat("A", 1<<20),
		"just over max": strings.Repeat("A", MaxTokenSize+4),
		"max zeros":     strings.Repeat("A", MaxTokenSize),
		"wrong version": base64.StdEncoding.EncodeToString(wrongVersion),
		"url alphabet":  strings.NewReplacer("+", "-", "/", "_").Replace(tok),
		"raw no pad":    base64.RawStdEncoding.EncodeToString(raw[:len(raw)-1]),
	} {
		if name == "url alphabet" && in == tok {
			continue
		}
		if _, err := k.Open(in, t0); err != ErrMalformed {
			t.Fatalf("%s: err = %v", name, err)
		}
	}
}

func TestOversizedClaims(t *testing.T) {
	k := newRing(t, 1)
	s := NewSealer(k, crand.Reader)
	c := typicalClaims(t)
	// Incompressible claims: a 2048-character random policy and 50 random tags.
	r := testRand(7)
	rnd := func(n int) string {
		b := make([]byte, n*3/4+3)
		r.Read(b)
		return base64.StdEncoding.EncodeToString(b)[:n]
	}
	c.SessionPolicy = rnd(2048)
	if _, err := s.Seal(c); err != nil {
		t.Fatalf("2048-char policy alone should fit: %v", err)
	}
	c.Tags = nil
	for range 50 {
		c.Tags = append(c.Tags, Tag{Key: rnd(128), Value: rnd(256)})
	}
	_, err := s.Seal(c)
	if !errors.Is(err, ErrTooLarge) {
		t.Fatalf("err = %v, want ErrTooLarge", err)
	}
	if strings.Contains(err.Error(), c.SecretAccessKey) || strings.Contains(err.Error(), c.Tags[0].Value) {
		t.Fatal("error leaks claim values")
	}
	// Huge compressible claims hit the payload bound before anything else.
	c.Tags = []Tag{{Key: "k", Value: strings.Repeat("a", 1<<20)}}
	if _, err := s.Seal(c); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("err = %v, want ErrTooLarge", err)
	}
}

func TestSealRejectsBadInput(t *testing.T) {
	k := newRing(t, 1)
	s := NewSealer(k, crand.Reader)
	good := typicalClaims(t)
	for name, mut := range map[string]func(*Claims){
		"no key id":        func(c *Claims) { c.AccessKeyID = "" },
		"no secret":        func(c *Claims) { c.SecretAccessKey = "" },
		"no expiration":    func(c *Claims) { c.Expiration = time.Time{} },
		"expires at issue": func(c *Claims) { c.Expiration = c.IssuedAt.Add(500 * time.Millisecond) },
	} {
		c := good
		mut(&c)
		_, err := s.Seal(c)
		if !errors.Is(err, ErrInvalidClaims) {
			t.Fatalf("%s: err = %v", name, err)
		}
		if strings.Contains(err.Error(), good.SecretAccessKey) {
			t.Fatalf("%s: error leaks the secret", name)
		}
	}
	for _, m := range []int{-1, MaxTokenSize + 1} {
		if _, err := s.SealWithOptions(good, SealOptions{MinSize: m}); err == nil {
			t.Fatalf("MinSize %d accepted", m)
		}
	}
	var empty Keyring
	if _, err := NewSealer(&empty, crand.Reader).Seal(good); err == nil {
		t.Fatal("empty ring sealed")
	}
	if _, err := NewSealer(k, strings.NewReader("short")).Seal(good); err == nil {
		t.Fatal("short random source accepted")
	}
}

func TestMinSizePadding(t *testing.T) {
	k := newRing(t, 1)
	s := NewSealer(k, crand.Reader)
	c := typicalClaims(t)
	natural, err := s.Seal(c)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range []int{0, 1, 100, len(natural), len(natural) + 1, 1000, 2047, 2048, 4093, 4095, 4096} {
		tok, err := s.SealWithOptions(c, SealOptions{MinSize: m})
		if err != nil {
			t.Fatalf("MinSize %d: %v", m, err)
		}
		switch {
		case len(tok) > MaxTokenSize:
			t.Fatalf("MinSize %d: token %d bytes", m, len(tok))
		case m <= len(natural) && len(tok) != len(natural):
			t.Fatalf("MinSize %d: token %d bytes, want natural %d", m, len(tok), len(natural))
		case m > len(natural) && (len(tok) < m || len(tok) > m+3):
			t.Fatalf("MinSize %d: token %d bytes", m, len(tok))
		}
		got, err := k.Open(tok, t0)
		if err != nil || !reflect.DeepEqual(got, c) {
			t.Fatalf("MinSize %d: open: %v", m, err)
		}
	}
	full, _ := s.SealWithOptions(c, SealOptions{MinSize: MaxTokenSize})
	if len(full) != MaxTokenSize || Utilization(len(full)) != 100 {
		t.Fatalf("full token: %d bytes, %d%%", len(full), Utilization(len(full)))
	}
}

func TestUtilization(t *testing.T) {
	for size, want := range map[int]int{0: 0, 1: 1, 40: 1, 41: 2, 600: 15, 2048: 50, 4055: 99, 4056: 100, 4096: 100, 5000: 100} {
		if got := Utilization(size); got != want {
			t.Errorf("Utilization(%d) = %d, want %d", size, got, want)
		}
	}
}

func TestKeyringMarshal(t *testing.T) {
	r := testRand(8)
	k, _ := NewKeyring(r, t0.Add(123*time.Millisecond))
	s := NewSealer(k, r)
	c := typicalClaims(t)
	c.Expiration = t0.Add(10 * time.Hour)
	old, _ := s.Seal(c)
	if err := k.Rotate(r, t0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	fresh, _ := s.Seal(c)

	b, err := k.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	var k2 Keyring
	if err := k2.UnmarshalBinary(b); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(k.Keys(), k2.Keys()) {
		t.Fatalf("keys differ: %+v vs %+v", k.Keys(), k2.Keys())
	}
	for _, tok := range []string{old, fresh} {
		if _, err := k2.Open(tok, t0); err != nil {
			t.Fatalf("restored ring: %v", err)
		}
	}
	// Sealing under the restored ring uses the same current key.
	tok, err := NewSealer(&k2, r).Seal(c)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := k.Open(tok, t0); err != nil {
		t.Fatalf("original ring opening restored ring's token: %v", err)
	}
	b2, _ := k2.MarshalBinary()
	if string(b) != string(b2) {
		t.Fatal("marshal not stable")
	}

	dup := append([]byte(nil), b...)
	copy(dup[2+keyRecordSize:], dup[2:6]) // second key gets the first key's id
	for name, bad := range map[string][]byte{
		"nil":          nil,
		"version":      append([]byte{9}, b[1:]...),
		"truncated":    b[:len(b)-1],
		"trailing":     append(append([]byte(nil), b...), 0),
		"zero count":   {1, 0},
		"huge count":   {1, 0xff, 0xff, 0xff, 0xff, 0x0f},
		"duplicate id": dup,
	} {
		before := k2.Keys()
		if err := k2.UnmarshalBinary(bad); err == nil {
			t.Fatalf("%s: accepted", name)
		}
		if !reflect.DeepEqual(before, k2.Keys()) {
			t.Fatalf("%s: ring changed on error", name)
		}
	}
	var empty Keyring
	if _, err := empty.MarshalBinary(); err == nil {
		t.Fatal("empty ring marshaled")
	}
}

func TestNoSecretsInStrings(t *testing.T) {
	c := typicalClaims(t)
	k := newRing(t, 1)
	b, _ := k.MarshalBinary()
	for _, s := range []string{fmt.Sprint(c), fmt.Sprintf("%+v", c), fmt.Sprintf("%#v", c), fmt.Sprint(k), fmt.Sprintf("%+v", k)} {
		if strings.Contains(s, c.SecretAccessKey) {
			t.Fatalf("secret printed (%d-byte rendering withheld)", len(s))
		}
		if strings.Contains(s, string(b[len(b)-keySize:])) {
			t.Fatalf("key printed: %s", s)
		}
	}
	if !strings.Contains(fmt.Sprint(c), c.AccessKeyID) {
		t.Fatal("String should name the access key id")
	}
}

func TestAssumedRoleNames(t *testing.T) {
	c := typicalClaims(t)
	if got, want := c.AssumedRoleARN(), "arn:aws:sts::123456789012:assumed-role/bitbucket-deploy/bitbucket-pipelines-42"; got != want {
		t.Errorf("AssumedRoleARN = %q, want %q", got, want)
	}
	c.RoleARN = "arn:aws-us-gov:iam::123456789012:role/x"
	if got := c.AssumedRoleARN(); !strings.HasPrefix(got, "arn:aws-us-gov:sts::") {
		t.Errorf("AssumedRoleARN = %q", got)
	}
	if got, want := c.AssumedRoleID(), "AROAQXYZ3EXAMPLE7K2M:bitbucket-pipelines-42"; got != want {
		t.Errorf("AssumedRoleID = %q, want %q", got, want)
	}
}

// TestConcurrentRotation seals and opens from several goroutines while the ring
// rotates and prunes; run with -race.
func TestConcurrentRotation(t *testing.T) {
	k := newRing(t, 1)
	s := NewSealer(k, crand.Reader)
	c := typicalClaims(t)
	c.Expiration = t0.Add(1000 * time.Hour)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				tok, err := s.Seal(c)
				if err != nil {
					errs <- err
					return
				}
				if _, err := k.Open(tok, t0); err != nil {
					// Only legitimate failure: the token's key was pruned meanwhile.
					raw, _ := base64.StdEncoding.DecodeString(tok)
					id := uint32(raw[1])<<24 | uint32(raw[2])<<16 | uint32(raw[3])<<8 | uint32(raw[4])
					for _, ki := range k.Keys() {
						if ki.ID == id {
							errs <- fmt.Errorf("key %d still in ring: %w", id, err)
							return
						}
					}
				}
			}
		}()
	}
	for i := 1; i <= 50; i++ {
		if err := k.Rotate(crand.Reader, t0.Add(time.Duration(i)*time.Second)); err != nil {
			t.Fatal(err)
		}
		// Keep keys retired within the last 10 s (a token whose key goes meanwhile
		// must fail, and only then).
		k.Prune(t0.Add(time.Duration(i-10) * time.Second))
	}
	close(stop)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

func BenchmarkSeal(b *testing.B) {
	k := newRing(b, 1)
	s := NewSealer(k, crand.Reader)
	c := typicalClaims(b)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Seal(c); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkOpen(b *testing.B) {
	k, tok := validToken(b)
	b.ReportAllocs()
	b.SetBytes(int64(len(tok)))
	for b.Loop() {
		if _, err := k.Open(tok, t0); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkOpenParallel(b *testing.B) {
	k, tok := validToken(b)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := k.Open(tok, t0); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkOpenRejectForged(b *testing.B) {
	k, tok := validToken(b)
	forged := tok[:40] + "AAAA" + tok[44:]
	b.ReportAllocs()
	for b.Loop() {
		if _, err := k.Open(forged, t0); err != ErrMalformed {
			b.Fatal(err)
		}
	}
}
