package issuer_test

import (
	"context"
	"testing"
	"time"

	"github.com/keyless-dev/keyless/issuer"
)

// TestKeyStats follows the key schedule through a rotation: the counts by state and
// the next activation Stats reports at each step.
func TestKeyStats(t *testing.T) {
	ctx := context.Background()
	kc := issuer.KeyConfig{Algorithm: "ES256", LeadTime: time.Hour, RotationPeriod: 24 * time.Hour, MaxTokenTTL: time.Hour}
	f := newFixture(t, kc, true)
	start := f.clk.Now()
	tick := func() {
		t.Helper()
		if err := f.keys.Tick(ctx); err != nil {
			t.Fatal(err)
		}
	}
	steps := []struct {
		name    string
		advance time.Duration
		want    issuer.KeyStats
	}{
		{"first key signs", 0, issuer.KeyStats{Active: 1, NextActivation: start.Add(24 * time.Hour)}},
		// Lead time before the rotation: a successor is prepared; it may sign at 24h.
		{"successor prepared", 23 * time.Hour, issuer.KeyStats{Prepared: 1, Active: 1, NextActivation: start.Add(24 * time.Hour)}},
		{"successor signs", time.Hour, issuer.KeyStats{Active: 1, Retired: 1, NextActivation: start.Add(48 * time.Hour)}},
	}
	for _, s := range steps {
		f.clk.Advance(s.advance)
		tick()
		got := f.keys.Stats()
		if got.Prepared != s.want.Prepared || got.Active != s.want.Active || got.Retired != s.want.Retired || !got.NextActivation.Equal(s.want.NextActivation) {
			t.Errorf("%s: Stats() = %+v, want %+v", s.name, got, s.want)
		}
	}

	kc.RotationPeriod = -1
	if got := newFixture(t, kc, true).keys.Stats(); got.Active != 1 || !got.NextActivation.IsZero() {
		t.Errorf("rotation disabled: Stats() = %+v, want one active key and no next activation", got)
	}
}
