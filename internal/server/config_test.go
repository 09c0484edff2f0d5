package server

import (
	"bytes"
	"crypto/rand"
	"strings"
	"testing"
	"time"

	"github.com/keyless-dev/keyless/keywrap"
	"github.com/keyless-dev/keyless/session"
)

func TestParseConfig(t *testing.T) {
	c, err := ParseConfig([]byte(`{"listen":"127.0.0.1:0","issuer":{"token_ttl":"15m","lead_time":3600,"auto_register":false},
		"trusted_proxies":["10.0.0.0/8"],"workspaces":[{"slug":"acme","session_tags":true,"repositories":[{"slug":"web","environments":[{"name":"production"}]}]}]}`))
	if err != nil {
		t.Fatal(err)
	}
	if c.Listen != "127.0.0.1:0" || time.Duration(c.Issuer.TokenTTL) != 15*time.Minute || time.Duration(c.Issuer.LeadTime) != time.Hour ||
		c.Issuer.AutoRegister == nil || *c.Issuer.AutoRegister || !c.Workspaces[0].SessionTags || c.Workspaces[0].Repositories[0].Environments[0].Name != "production" {
		t.Fatalf("parsed %+v", c)
	}
	for doc, says := range map[string]string{
		`{"lisen":"x"}`:                   `unknown field "lisen"`,
		`{"issuer":{"token_ttl":"soon"}}`: "invalid duration",
		`{} {}`:                           "trailing data",
		`[`:                               "unexpected EOF",
	} {
		if _, err := ParseConfig([]byte(doc)); err == nil || !strings.Contains(err.Error(), says) {
			t.Errorf("ParseConfig(%s): err %v, want one containing %q", doc, err, says)
		}
	}
}

// FuzzParseConfig: any input is parsed or refused with an error, never a panic.
func FuzzParseConfig(f *testing.F) {
	f.Add(`{"listen":"127.0.0.1:8400","issuer":{"token_ttl":"1h"},"workspaces":[{"slug":"a"}]}`)
	f.Add(`{"trusted_proxies":["::1"],"issuer":{"lead_time":5}}`)
	f.Fuzz(func(t *testing.T, doc string) {
		c, err := ParseConfig([]byte(doc))
		if err != nil && c.Listen != "" {
			t.Fatal("a refused config returned values")
		}
	})
}

func TestSessionKeyRotation(t *testing.T) {
	ctx := t.Context()
	st, err := OpenStore(ctx, t.TempDir(), "")
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	box, _ := keywrap.New(bytes.Repeat([]byte{3}, 32))
	t0 := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	kr, err := ensureSessionKeyring(ctx, st, box, t0)
	if err != nil {
		t.Fatal(err)
	}
	sealer := session.NewSealer(kr, rand.Reader)
	claims := session.Claims{AccessKeyID: "ASIAAAAAAAAAAAAAAAAA", SecretAccessKey: strings.Repeat("s", 40), Account: "000000000000",
		RoleARN: "arn:aws:iam::000000000000:role/r", RoleID: "AROAAAAAAAAAAAAAAAAAA", RoleName: "r", SessionName: "s",
		IssuedAt: t0.Add(23 * time.Hour), Expiration: t0.Add(35 * time.Hour)}
	old, err := sealer.Seal(claims)
	if err != nil {
		t.Fatal(err)
	}
	if rotated, err := syncSessionKeys(ctx, st, box, kr, t0.Add(23*time.Hour)); err != nil || rotated {
		t.Fatalf("rotation before the period: %v %v", rotated, err)
	}
	if rotated, err := syncSessionKeys(ctx, st, box, kr, t0.Add(24*time.Hour)); err != nil || !rotated {
		t.Fatalf("rotation after the period: %v %v", rotated, err)
	}
	// The stored ring (what a restart loads) opens tokens of the old key and the new one.
	reloaded, err := ensureSessionKeyring(ctx, st, box, t0)
	if err != nil {
		t.Fatal(err)
	}
	fresh, _ := session.NewSealer(kr, rand.Reader).Seal(claims)
	for name, tok := range map[string]string{"old key": old, "new key": fresh} {
		if _, err := reloaded.Open(tok, t0.Add(30*time.Hour)); err != nil {
			t.Errorf("token of the %s does not open after rotation and reload: %v", name, err)
		}
	}
	if len(reloaded.Keys()) != 2 {
		t.Errorf("ring holds %d keys, want the old and the new", len(reloaded.Keys()))
	}
	// A day later the old key, which can only open expired tokens, is pruned.
	if _, err := syncSessionKeys(ctx, st, box, kr, t0.Add(48*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if n := len(kr.Keys()); n != 2 {
		t.Errorf("after the second rotation the ring holds %d keys, want 2 (the first pruned)", n)
	}
}

// TestSessionKeysAcrossReplicas: two replicas on one store rotate the ring once
// between them and both open the credentials the other sealed.
func TestSessionKeysAcrossReplicas(t *testing.T) {
	ctx := t.Context()
	st, err := OpenStore(ctx, t.TempDir(), "")
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	box, _ := keywrap.New(bytes.Repeat([]byte{4}, 32))
	t0 := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	a, err := ensureSessionKeyring(ctx, st, box, t0)
	if err != nil {
		t.Fatal(err)
	}
	b, err := ensureSessionKeyring(ctx, st, box, t0)
	if err != nil {
		t.Fatal(err)
	}
	day := t0.Add(24 * time.Hour)
	ra, err := syncSessionKeys(ctx, st, box, a, day)
	if err != nil || !ra {
		t.Fatalf("replica A: rotated %v, %v", ra, err)
	}
	rb, err := syncSessionKeys(ctx, st, box, b, day.Add(5*time.Second))
	if err != nil || rb {
		t.Fatalf("replica B rotated again (%v, %v) instead of adopting A's ring", rb, err)
	}
	claims := session.Claims{AccessKeyID: "ASIAAAAAAAAAAAAAAAAA", SecretAccessKey: strings.Repeat("s", 40), Account: "000000000000",
		RoleARN: "arn:aws:iam::000000000000:role/r", RoleID: "AROAAAAAAAAAAAAAAAAAA", RoleName: "r", SessionName: "s",
		IssuedAt: day, Expiration: day.Add(time.Hour)}
	fromA, _ := session.NewSealer(a, rand.Reader).Seal(claims)
	fromB, _ := session.NewSealer(b, rand.Reader).Seal(claims)
	if _, err := b.Open(fromA, day.Add(time.Minute)); err != nil {
		t.Errorf("replica B cannot open what A sealed after the rotation: %v", err)
	}
	if _, err := a.Open(fromB, day.Add(time.Minute)); err != nil {
		t.Errorf("replica A cannot open what B sealed after the rotation: %v", err)
	}
}
