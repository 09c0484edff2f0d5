package issuer_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/keyless-dev/keyless/issuer"
	"github.com/keyless-dev/keyless/keywrap"
	"github.com/keyless-dev/keyless/store"
	"github.com/keyless-dev/keyless/store/sqlite"
)

// clock is an injectable, advanceable time source.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func openStore(t testing.TB) store.Store {
	t.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "keyless.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func newBox(t testing.TB) *keywrap.Box {
	t.Helper()
	b, err := keywrap.New(bytes.Repeat([]byte{42}, 32))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

type fixture struct {
	st   store.Store
	clk  *clock
	keys *issuer.KeySet
	is   *issuer.Issuer
}

func newFixture(t testing.TB, kc issuer.KeyConfig, autoRegister bool) *fixture {
	t.Helper()
	f := &fixture{st: openStore(t), clk: newClock()}
	var err error
	if f.keys, err = issuer.NewKeySet(f.st, newBox(t), kc, f.clk.Now, nil); err != nil {
		t.Fatal(err)
	}
	if err := f.keys.Tick(context.Background()); err != nil {
		t.Fatal(err)
	}
	if f.is, err = issuer.New(issuer.Config{BaseURL: "https://127.0.0.1:8443", AutoRegister: autoRegister}, f.st, f.keys, f.clk.Now); err != nil {
		t.Fatal(err)
	}
	return f
}

// jwksKIDs returns the kids of the published keys.
func jwksKIDs(t testing.TB, ks *issuer.KeySet) []string {
	t.Helper()
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(ks.JWKS(), &set); err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, k := range set.Keys {
		ids = append(ids, k.KeyID)
	}
	return ids
}

// verify checks a token's signature against the current JWKS and returns its kid.
func verify(t testing.TB, ks *issuer.KeySet, raw string) (string, error) {
	t.Helper()
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(ks.JWKS(), &set); err != nil {
		t.Fatal(err)
	}
	jws, err := jose.ParseSignedCompact(raw, []jose.SignatureAlgorithm{jose.RS256, jose.ES256})
	if err != nil {
		return "", err
	}
	kid := jws.Signatures[0].Header.KeyID
	keys := set.Key(kid)
	if len(keys) == 0 {
		return kid, errors.New("kid not in JWKS")
	}
	_, err = jws.Verify(keys[0])
	return kid, err
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func mint(t testing.TB, f *fixture, req issuer.MintRequest) issuer.Token {
	t.Helper()
	tok, err := f.is.Mint(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func TestKeyLifecycleWithInjectedClock(t *testing.T) {
	ctx := context.Background()
	kc := issuer.KeyConfig{LeadTime: time.Hour, RotationPeriod: 24 * time.Hour, MaxTokenTTL: time.Hour}
	f := newFixture(t, kc, true)
	req := issuer.MintRequest{Workspace: "acme", Repository: "web"}

	first := mint(t, f, req)
	k1 := first.KeyID
	if got := jwksKIDs(t, f.keys); len(got) != 1 || got[0] != k1 {
		t.Fatalf("JWKS after first start = %v, want just the active key %s", got, k1)
	}

	// 23h: the schedule prepares the successor one lead time before rotation is due.
	f.clk.Advance(23 * time.Hour)
	if err := f.keys.Tick(ctx); err != nil {
		t.Fatal(err)
	}
	published := jwksKIDs(t, f.keys)
	if len(published) != 2 {
		t.Fatalf("JWKS at 23h = %v, want the active key and a prepared successor", published)
	}
	var k2 string
	for _, id := range published {
		if id != k1 {
			k2 = id
		}
	}
	beforeRotation := mint(t, f, req)
	if beforeRotation.KeyID != k1 {
		t.Fatalf("a prepared key signed a token before its lead time: kid %s, want %s", beforeRotation.KeyID, k1)
	}

	// 24h: rotation is due and the prepared key has been published for the lead time.
	f.clk.Advance(time.Hour)
	if err := f.keys.Tick(ctx); err != nil {
		t.Fatal(err)
	}
	after := mint(t, f, req)
	if after.KeyID != k2 {
		t.Fatalf("after rotation tokens carry kid %s, want the successor %s", after.KeyID, k2)
	}
	if !contains(jwksKIDs(t, f.keys), k2) {
		t.Fatal("the new signing key is not in the JWKS")
	}
	for _, tok := range []issuer.Token{first, beforeRotation, after} {
		if _, err := verify(t, f.keys, tok.Raw); err != nil {
			t.Errorf("token with kid %s does not verify after activation: %v", tok.KeyID, err)
		}
	}

	// The retired key stays published until its last token (1h TTL) plus skew has passed.
	f.clk.Advance(time.Hour + issuer.RetireSkew - time.Second)
	if err := f.keys.Tick(ctx); err != nil {
		t.Fatal(err)
	}
	if !contains(jwksKIDs(t, f.keys), k1) {
		t.Fatal("the retired key left the JWKS before its last token expired")
	}
	if _, err := verify(t, f.keys, beforeRotation.Raw); err != nil {
		t.Fatalf("last token of the retired key no longer verifies before its expiry: %v", err)
	}
	f.clk.Advance(time.Second)
	if err := f.keys.Tick(ctx); err != nil {
		t.Fatal(err)
	}
	if got := jwksKIDs(t, f.keys); contains(got, k1) || len(got) != 1 {
		t.Fatalf("JWKS after the retired key's last token expired = %v, want only %s", got, k2)
	}
	keys, err := f.keys.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 1 || keys[0].ID != k2 || keys[0].State != store.KeyActive {
		t.Fatalf("stored keys = %+v, want only the active %s", keys, k2)
	}
}

func TestManualActivateRespectsLeadTime(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, issuer.KeyConfig{LeadTime: time.Hour, RotationPeriod: -1, MaxTokenTTL: time.Hour}, true)
	old := mint(t, f, issuer.MintRequest{Workspace: "acme", Repository: "web"})

	k, err := f.keys.Prepare(ctx, "ES256")
	if err != nil {
		t.Fatal(err)
	}
	if !contains(jwksKIDs(t, f.keys), k.ID) {
		t.Fatal("a prepared key is not published")
	}
	if _, err := f.keys.Activate(ctx, "", false); !errors.Is(err, issuer.ErrLeadTime) {
		t.Fatalf("Activate before the lead time: err = %v, want ErrLeadTime", err)
	} else if !strings.Contains(err.Error(), "--force") {
		t.Errorf("the refusal does not say how to override: %v", err)
	}
	if tok := mint(t, f, issuer.MintRequest{Workspace: "acme", Repository: "web"}); tok.KeyID != old.KeyID {
		t.Fatal("a refused activation changed the signing key")
	}
	f.clk.Advance(30 * time.Minute)
	if _, err := f.keys.Activate(ctx, k.ID, true); err != nil {
		t.Fatalf("Activate --force: %v", err)
	}
	tok := mint(t, f, issuer.MintRequest{Workspace: "acme", Repository: "web"})
	if tok.KeyID != k.ID {
		t.Fatalf("after forced activation kid = %s, want %s", tok.KeyID, k.ID)
	}
	if kid, err := verify(t, f.keys, tok.Raw); err != nil || kid != k.ID {
		t.Fatalf("ES256 token does not verify: kid %s err %v", kid, err)
	}
	if _, err := verify(t, f.keys, old.Raw); err != nil {
		t.Fatalf("token of the replaced key does not verify: %v", err)
	}
	if _, err := f.keys.Retire(ctx, k.ID); err == nil || !strings.Contains(err.Error(), "active") {
		t.Fatalf("retiring the active key: err = %v, want a refusal naming it active", err)
	}
	if _, err := f.keys.Retire(ctx, "no-such-kid"); err == nil {
		t.Fatal("retiring an unknown key succeeded")
	}
}

func TestRetiredPreparedKeyLeavesAtOnce(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, issuer.KeyConfig{RotationPeriod: -1}, true)
	k, err := f.keys.Prepare(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	info, err := f.keys.Retire(ctx, k.ID)
	if err != nil {
		t.Fatal(err)
	}
	if info.State != store.KeyRetired {
		t.Fatalf("state = %s, want retired", info.State)
	}
	if contains(jwksKIDs(t, f.keys), k.ID) {
		t.Fatal("a retired key that never signed is still published")
	}
}

func TestJWKSStaysSmall(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, issuer.KeyConfig{Algorithm: "ES256", RotationPeriod: -1}, true)
	for i := 1; i < 10; i++ {
		if _, err := f.keys.Prepare(ctx, ""); err != nil {
			t.Fatalf("prepare key %d: %v", i+1, err)
		}
	}
	if _, err := f.keys.Prepare(ctx, ""); err == nil || !strings.Contains(err.Error(), "10") {
		t.Fatalf("an 11th key: err = %v, want a refusal naming the limit", err)
	}
	if n := len(jwksKIDs(t, f.keys)); n != 10 {
		t.Fatalf("JWKS has %d keys, want 10", n)
	}
}

func TestKIDIsRFC7638Thumbprint(t *testing.T) {
	f := newFixture(t, issuer.KeyConfig{}, true)
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(f.keys.JWKS(), &set); err != nil {
		t.Fatal(err)
	}
	for _, k := range set.Keys {
		tp, err := k.Thumbprint(cryptoSHA256)
		if err != nil {
			t.Fatal(err)
		}
		if want := b64url(tp); k.KeyID != want {
			t.Errorf("kid %s, want thumbprint %s", k.KeyID, want)
		}
		if k.Algorithm != "RS256" || k.Use != "sig" || !k.IsPublic() {
			t.Errorf("published key: alg %q use %q public %v", k.Algorithm, k.Use, k.IsPublic())
		}
	}
}

// TestReplicasShareTheKeySchedule: two key sets on one store (two replicas) tick
// together; the lease lets one of them run the schedule, so a rotation prepares one
// successor, not two, and both sign with the same key afterwards.
func TestReplicasShareTheKeySchedule(t *testing.T) {
	ctx := context.Background()
	st, clk := openStore(t), newClock()
	kc := issuer.KeyConfig{Algorithm: "ES256", LeadTime: time.Hour, RotationPeriod: 24 * time.Hour, MaxTokenTTL: time.Hour}
	a, err := issuer.NewKeySet(st, newBox(t), kc, clk.Now, nil)
	if err != nil {
		t.Fatal(err)
	}
	b, err := issuer.NewKeySet(st, newBox(t), kc, clk.Now, nil)
	if err != nil {
		t.Fatal(err)
	}
	tickBoth := func() { // both replicas tick at the same moment, a few times
		t.Helper()
		var wg sync.WaitGroup
		errs := make(chan error, 8)
		for _, ks := range []*issuer.KeySet{a, b} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for range 4 {
					errs <- ks.Tick(ctx)
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
	}
	tickBoth()
	keys, _ := a.List(ctx)
	if len(keys) != 1 {
		t.Fatalf("first start of two replicas made %d keys, want 1", len(keys))
	}
	for _, step := range []time.Duration{23 * time.Hour, time.Hour, time.Hour + issuer.RetireSkew} {
		clk.Advance(step)
		tickBoth()
		keys, _ := b.List(ctx)
		active := 0
		for _, k := range keys {
			if k.State == store.KeyActive {
				active++
			}
		}
		if len(keys) > 2 || active != 1 {
			t.Fatalf("after %s: %d keys, %d active; want at most 2 and exactly one active: %+v", step, len(keys), active, keys)
		}
	}
	if ja, jb := a.JWKS(), b.JWKS(); string(ja) != string(jb) {
		t.Fatal("the replicas publish different key sets")
	}
}
