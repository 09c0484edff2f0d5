package sts

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/keyless-dev/keyless/store"
)

// flakyStore answers the two reads the STS caches make, or fails them with err.
type flakyStore struct {
	store.Store
	err error
}

func (f *flakyStore) ListOIDCProviders(context.Context) ([]store.OIDCProvider, error) {
	if f.err != nil {
		return nil, f.err
	}
	return []store.OIDCProvider{{ARN: "arn:aws:iam::000000000000:oidc-provider/idp.example", URL: "idp.example"}}, nil
}

func (f *flakyStore) GetRole(_ context.Context, name string) (store.Role, error) {
	if f.err != nil {
		return store.Role{}, f.err
	}
	return store.Role{Name: name}, nil
}

// TestStaleIfError: while the store is unavailable, cached providers and roles
// answer for up to StaleIfError past their fetch; other store errors, and what was
// never cached, still fail.
func TestStaleIfError(t *testing.T) {
	ctx := context.Background()
	now := time.Unix(1_800_000_000, 0)
	st := &flakyStore{}
	c := newCaches(st, func() time.Time { return now }, DefaultProviderTTL, DefaultMissRefresh, DefaultRoleTTL)
	if _, ok, err := c.lookupProvider(ctx, "idp.example"); !ok || err != nil {
		t.Fatalf("lookupProvider with the store up: %v %v", ok, err)
	}
	if _, ok, err := c.role(ctx, "deploy"); !ok || err != nil {
		t.Fatalf("role with the store up: %v %v", ok, err)
	}

	down := store.Unavailable("unreachable", errors.New("connection refused"))
	for _, tc := range []struct {
		name   string
		err    error
		after  time.Duration
		role   string
		wantOK bool
	}{
		{"unavailable, past the cache lifetimes", down, time.Minute, "deploy", true},
		{"unavailable, just within StaleIfError", down, StaleIfError - time.Second, "deploy", true},
		{"unavailable, past StaleIfError", down, StaleIfError, "deploy", false},
		{"another store error", errors.New("bad row"), time.Minute, "deploy", false},
		{"unavailable, a role never cached", down, time.Minute, "other", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st.err = tc.err
			now = time.Unix(1_800_000_000, 0).Add(tc.after)
			_, found, err := c.role(ctx, tc.role)
			if tc.wantOK != (err == nil && found) {
				t.Errorf("role %s: found %v, err %v; want answered from the cache: %v", tc.role, found, err, tc.wantOK)
			}
			if tc.role == "deploy" {
				_, found, err = c.lookupProvider(ctx, "idp.example")
				if tc.wantOK != (err == nil && found) {
					t.Errorf("lookupProvider: found %v, err %v; want answered from the cache: %v", found, err, tc.wantOK)
				}
			}
		})
	}
}
