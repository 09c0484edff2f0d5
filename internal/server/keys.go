package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/keyless-dev/keyless/issuer"
	"github.com/keyless-dev/keyless/keywrap"
	"github.com/keyless-dev/keyless/store"
)

const settingKeyConfig = "key-config"

// storedKeyConfig is the key policy `keyless up` runs with, kept in the store so that
// `keyless keys` applies the same lead time and limits.
type storedKeyConfig struct {
	Algorithm      string        `json:"algorithm"`
	LeadTime       time.Duration `json:"lead_time"`
	RotationPeriod time.Duration `json:"rotation_period"`
	MaxTokenTTL    time.Duration `json:"max_token_ttl"`
}

func saveKeyConfig(ctx context.Context, st store.Store, c issuer.KeyConfig) error {
	b, err := json.Marshal(storedKeyConfig{Algorithm: c.Algorithm, LeadTime: c.LeadTime, RotationPeriod: c.RotationPeriod, MaxTokenTTL: c.MaxTokenTTL})
	if err != nil {
		return err
	}
	if err := st.PutSetting(ctx, settingKeyConfig, b); err != nil {
		return fmt.Errorf("store key config: %w", err)
	}
	return nil
}

// KeyAdmin is what `keyless keys` works with: the key set of a data directory, opened
// without running the server. Close it when done.
type KeyAdmin struct {
	*issuer.KeySet
	st store.Store
}

// Close releases the store.
func (k *KeyAdmin) Close() error { return k.st.Close() }

// OpenKeyAdmin opens the signing keys of the data directory dataDir (or the PostgreSQL
// store dsn) with the key policy the server last ran with.
func OpenKeyAdmin(ctx context.Context, dataDir, dsn string, getenv func(string) string) (*KeyAdmin, error) {
	if dsn == "" {
		if _, err := os.Stat(filepath.Join(dataDir, StoreFile)); errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("no keyless data directory at %s: run `keyless up --data %s` first, or pass --data", dataDir, dataDir)
		}
	}
	box, err := keywrap.Load(dataDir, getenv)
	if err != nil {
		return nil, err
	}
	st, err := OpenStore(ctx, dataDir, dsn)
	if err != nil {
		return nil, fmt.Errorf("open store: %w", err)
	}
	var cfg issuer.KeyConfig
	if b, err := st.GetSetting(ctx, settingKeyConfig); err == nil {
		var sc storedKeyConfig
		if err := json.Unmarshal(b, &sc); err != nil {
			st.Close()
			return nil, fmt.Errorf("decode key config: %w", err)
		}
		cfg = issuer.KeyConfig{Algorithm: sc.Algorithm, LeadTime: sc.LeadTime, RotationPeriod: sc.RotationPeriod, MaxTokenTTL: sc.MaxTokenTTL}
	} else if !errors.Is(err, store.ErrNotFound) {
		st.Close()
		return nil, fmt.Errorf("read key config: %w", err)
	}
	ks, err := issuer.NewKeySet(st, box, cfg, time.Now, nil)
	if err != nil {
		st.Close()
		return nil, err
	}
	return &KeyAdmin{KeySet: ks, st: st}, nil
}
