package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/keyless-dev/keyless/issuer"
	"github.com/keyless-dev/keyless/keywrap"
	"github.com/keyless-dev/keyless/store"
	"github.com/keyless-dev/keyless/store/postgres"
	"github.com/keyless-dev/keyless/store/sqlite"
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
// store dsn) with the key policy the server last ran with. It never creates a store or
// a key-encryption key: they must be the ones a `keyless up` made.
func OpenKeyAdmin(ctx context.Context, dataDir, dsn string, getenv func(string) string) (*KeyAdmin, error) {
	st, err := OpenExistingStore(ctx, dataDir, dsn)
	if err != nil {
		return nil, err
	}
	box, err := loadKEK(ctx, st, dataDir, getenv)
	if err != nil {
		st.Close()
		return nil, err
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

// OpenExistingStore opens the store `keyless up` made in dataDir (or in the
// PostgreSQL database dsn) without creating, migrating or changing it. Where there is
// none, the error (wrapping store.ErrNoStore) says how to make one.
func OpenExistingStore(ctx context.Context, dataDir, dsn string) (store.Store, error) {
	var (
		st    store.Store
		err   error
		where string // the store, as the user named it
		start string // the start that makes it
	)
	if dsn != "" {
		where, start = postgres.Redact(dsn), "start `keyless up --config FILE` with \"store\" set to it first"
		if pg, perr := postgres.OpenExisting(ctx, dsn); perr == nil {
			st = pg
		} else {
			err = perr
		}
	} else {
		path := filepath.Join(dataDir, StoreFile)
		where, start = path, fmt.Sprintf("start `keyless up --data %s` first, or point --data at the server's data directory", dataDir)
		if _, serr := os.Stat(path); errors.Is(serr, fs.ErrNotExist) {
			return nil, &explainedError{msg: fmt.Sprintf("no keyless store in %s (no %s): %s", dataDir, StoreFile, start), err: store.ErrNoStore}
		}
		if sq, serr := sqlite.OpenExisting(ctx, path); serr == nil {
			st = sq
		} else {
			err = serr
		}
	}
	switch {
	case err == nil:
		return st, nil
	case errors.Is(err, store.ErrNoStore):
		return nil, &explainedError{msg: fmt.Sprintf("%s holds no keyless store (no schema): %s", where, start), err: err}
	case errors.Is(err, store.ErrSchemaTooOld):
		return nil, &explainedError{msg: fmt.Sprintf("%s: start this version's `keyless up` on it first, which migrates it", err), err: err}
	}
	return nil, fmt.Errorf("open store: %w", err)
}

// loadKEK returns the key-encryption key of an existing store, from KEYLESS_KEK or
// DIR/kek.key, and checks that it opens the store's secrets, so that a wrong key
// is told at once instead of sealing new keys the server cannot open.
func loadKEK(ctx context.Context, st store.Store, dataDir string, getenv func(string) string) (*keywrap.Box, error) {
	kekFile := filepath.Join(dataDir, keywrap.FileName)
	box, err := keywrap.LoadExisting(dataDir, getenv)
	if errors.Is(err, keywrap.ErrNoKey) {
		return nil, &explainedError{err: err, msg: fmt.Sprintf(
			"no key-encryption key: %s is unset and %s does not exist: set %s to the base64 key the server uses, or point --data at the server's data directory (the one holding %s)",
			keywrap.EnvVar, kekFile, keywrap.EnvVar, keywrap.FileName)}
	}
	if err != nil {
		return nil, err
	}
	v, err := st.GetSetting(ctx, settingRoot)
	if errors.Is(err, store.ErrNotFound) {
		return box, nil // nothing sealed yet to check the key against
	}
	if err != nil {
		return nil, fmt.Errorf("read root credentials: %w", err)
	}
	var sc sealedCredential
	if err := json.Unmarshal(v, &sc); err != nil {
		return nil, fmt.Errorf("decode root credentials: %w", err)
	}
	if _, err := box.Open(settingRoot, sc.Secret); err != nil {
		source := kekFile
		if strings.TrimSpace(getenv(keywrap.EnvVar)) != "" {
			source = keywrap.EnvVar
		}
		return nil, &explainedError{err: err, msg: fmt.Sprintf(
			"the key-encryption key in %s does not open this store's secrets: it is not the key the server uses; set %s to that key, or point --data at the server's data directory",
			source, keywrap.EnvVar)}
	}
	return box, nil
}
