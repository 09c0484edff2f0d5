package server

import (
	"crypto/rand"
	"testing"
	"time"

	"github.com/keyless-dev/keyless/organizations"
	"github.com/keyless-dev/keyless/store/sqlite"
)

// TestOrgKeysKeepLastWhenStoreFails: once the cached organization keys of an
// account are older than orgKeysTTL and the store does not answer, the keys
// last read are served instead of failing the signed call; an account never
// read gets the store's error.
func TestOrgKeysKeepLastWhenStoreFails(t *testing.T) {
	st, err := sqlite.Open(t.Context(), sqlite.Memory)
	if err != nil {
		t.Fatal(err)
	}
	core, err := organizations.NewOrganizations(organizations.CoreConfig{Store: st, Rand: rand.Reader})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Unix(1_700_000_000, 0)
	c := &orgKeyCache{core: core, now: func() time.Time { return now }, m: map[string]orgKeys{}}
	if _, _, member, err := c.lookup(t.Context(), "111111111111"); err != nil || member {
		t.Fatalf("lookup with no organization: member %t, %v", member, err)
	}
	st.Close() // the store stops answering
	now = now.Add(2 * orgKeysTTL)
	if _, _, member, err := c.lookup(t.Context(), "111111111111"); err != nil || member {
		t.Errorf("lookup of a known account with the store gone: member %t, %v; want the last keys", member, err)
	}
	if _, _, _, err := c.lookup(t.Context(), "222222222222"); err == nil {
		t.Error("lookup of an account never read, with the store gone: no error")
	}
}
