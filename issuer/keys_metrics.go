package issuer

import (
	"time"

	"github.com/keyless-dev/keyless/store"
)

// KeyStats is the state of the published signing keys, for metrics.
type KeyStats struct {
	// Prepared, Active and Retired count the published keys by state.
	Prepared, Active, Retired int
	// NextActivation is when the rotation schedule will next let a key sign:
	// the signing key's activation plus the rotation period, and no earlier than
	// the end of a prepared key's lead time. Zero when rotation is disabled or no
	// key signs yet.
	NextActivation time.Time
}

// Stats reads the key set as of the last Tick or Reload; it touches no store.
func (ks *KeySet) Stats() KeyStats {
	var st KeyStats
	var signing, prepared *store.SigningKey
	entries := ks.snap.Load().entries
	for i, k := range entries {
		switch k.State {
		case store.KeyPrepared:
			st.Prepared++
			if prepared == nil {
				prepared = &entries[i] // the oldest: the schedule activates it first
			}
		case store.KeyActive:
			st.Active++
			if signing == nil || k.ActivatedAt.After(signing.ActivatedAt) {
				signing = &entries[i]
			}
		case store.KeyRetired:
			st.Retired++
		}
	}
	if signing == nil || ks.cfg.RotationPeriod < 0 {
		return st
	}
	st.NextActivation = signing.ActivatedAt.Add(ks.cfg.RotationPeriod)
	if prepared != nil {
		if ready := prepared.CreatedAt.Add(ks.cfg.LeadTime); ready.After(st.NextActivation) {
			st.NextActivation = ready
		}
	}
	return st
}
