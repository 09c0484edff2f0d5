package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
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
// without running the server. Its changes are announced to the running servers
// (keywatch.go), which Confirm then asks what they serve. Close it when done.
type KeyAdmin struct {
	*issuer.KeySet
	st  store.Store
	gen int64 // the keys generation the last change announced
}

// Prepare is issuer.KeySet.Prepare, announced to the running servers.
func (k *KeyAdmin) Prepare(ctx context.Context, alg string) (issuer.KeyInfo, error) {
	ki, err := k.KeySet.Prepare(ctx, alg)
	if err != nil {
		return ki, err
	}
	return ki, k.announce(ctx)
}

// Activate is issuer.KeySet.Activate, announced to the running servers.
func (k *KeyAdmin) Activate(ctx context.Context, id string, force bool) (issuer.KeyInfo, error) {
	ki, err := k.KeySet.Activate(ctx, id, force)
	if err != nil {
		return ki, err
	}
	return ki, k.announce(ctx)
}

// Retire is issuer.KeySet.Retire, announced to the running servers.
func (k *KeyAdmin) Retire(ctx context.Context, id string) (issuer.KeyInfo, error) {
	ki, err := k.KeySet.Retire(ctx, id)
	if err != nil {
		return ki, err
	}
	return ki, k.announce(ctx)
}

func (k *KeyAdmin) announce(ctx context.Context) error {
	gen, err := bumpKeysGeneration(ctx, k.st)
	if err != nil {
		return fmt.Errorf("the keys changed, but running servers were not told (they pick the change up within their key_check_interval): %w", err)
	}
	k.gen = gen
	return nil
}

// Served is what one running server serves after a change, as Confirm found it.
type Served struct {
	Server ServerEntry
	// Err says why the server could not be asked, or that it has not loaded the
	// change; the other fields are then unset.
	Err error
	// Published reports whether the key is in the server's JWKS (Server.JWKSURL).
	Published bool
	// SigningKeyID is the key that signs the server's new tokens.
	SigningKeyID string
}

// ConfirmWait is how long Confirm waits for each server to load a change.
const ConfirmWait = 5 * time.Second

// Confirm asks every server registered on the store (renewed within the last 30s)
// until it has loaded the last change announced, for up to wait, then what it serves
// for the key kid. No server means none is running on this store.
func (k *KeyAdmin) Confirm(ctx context.Context, kid string, wait time.Duration) ([]Served, error) {
	reg, err := readServers(ctx, k.st)
	if err != nil {
		return nil, err
	}
	var live []ServerEntry
	for _, e := range reg {
		if time.Since(e.Seen) <= serverTTL {
			live = append(live, e)
		}
	}
	slices.SortFunc(live, func(a, b ServerEntry) int { return strings.Compare(a.Endpoint, b.Endpoint) })
	out := make([]Served, len(live))
	var wg sync.WaitGroup
	for i, e := range live {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out[i] = confirmOne(ctx, e, k.gen, kid, wait)
		}()
	}
	wg.Wait()
	return out, nil
}

// confirmOne polls one server's KeysStatusPath until it has loaded generation gen,
// then reads its JWKS.
func confirmOne(ctx context.Context, e ServerEntry, gen int64, kid string, wait time.Duration) Served {
	res := Served{Server: e}
	if host, _ := os.Hostname(); e.Host != "" && e.Host != host && loopback(e.Endpoint) {
		res.Err = errors.New("is on another host, at a loopback address this host cannot reach")
		return res
	}
	client := &http.Client{Timeout: 2 * time.Second}
	get := func(url string, v any) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return err
		}
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("GET %s: HTTP %d", url, resp.StatusCode)
		}
		return json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(v)
	}
	deadline := time.Now().Add(wait)
	var st KeysStatus
	for {
		if err := get(e.Endpoint+KeysStatusPath, &st); err != nil {
			res.Err = fmt.Errorf("did not answer: %w", err)
			return res
		}
		if st.Server != e.ID {
			res.Err = fmt.Errorf("another server answers at %s (not reachable from here?)", e.Endpoint)
			return res
		}
		if st.Generation >= gen {
			break
		}
		if time.Now().After(deadline) {
			res.Err = fmt.Errorf("has not loaded the change after %s (it serves key generation %d, the change is %d)", wait, st.Generation, gen)
			return res
		}
		select {
		case <-ctx.Done():
			res.Err = ctx.Err()
			return res
		case <-time.After(50 * time.Millisecond):
		}
	}
	var set struct {
		Keys []struct {
			Kid string `json:"kid"`
		} `json:"keys"`
	}
	if err := get(e.JWKSURL, &set); err != nil {
		res.Err = fmt.Errorf("loaded the change, but its JWKS could not be read: %w", err)
		return res
	}
	for _, key := range set.Keys {
		res.Published = res.Published || key.Kid == kid
	}
	res.SigningKeyID = st.SigningKeyID
	return res
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

// loopback reports whether the URL u names a loopback host.
func loopback(u string) bool {
	pu, err := url.Parse(u)
	if err != nil {
		return false
	}
	if pu.Hostname() == "localhost" {
		return true
	}
	ip, err := netip.ParseAddr(pu.Hostname())
	return err == nil && ip.IsLoopback()
}
