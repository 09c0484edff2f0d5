package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"time"

	"github.com/keyless-dev/keyless/store"
)

// How a change made by `keyless keys` reaches running servers: the command bumps a
// generation counter kept in the store (settingKeysGeneration) after changing the keys;
// every server polls that one small row every KeyWatchInterval and reloads its keys
// when it moves. Servers also register themselves in the store (settingServers, renewed
// every heartbeatInterval), so that the command can ask each of them, at
// KeysStatusPath, whether it serves the change yet, and fetch its JWKS.
const (
	settingKeysGeneration = "keys-generation"
	settingServers        = "servers"

	// KeyWatchInterval is how often a running server checks the store for key
	// changes made by `keyless keys`.
	KeyWatchInterval = 250 * time.Millisecond
	// heartbeatInterval is how often a server renews its registration; one not
	// renewed for serverTTL is taken for gone.
	heartbeatInterval = 10 * time.Second
	serverTTL         = 3 * heartbeatInterval

	// KeysStatusPath is where a server says which key generation it has loaded and
	// which key signs its new tokens (public facts: every token names its kid).
	KeysStatusPath = "/keyless/v1/signing-keys"
)

// ServerEntry is a running `keyless up` as it registers itself in the store.
type ServerEntry struct {
	ID       string    `json:"id"`
	Endpoint string    `json:"endpoint"` // plain HTTP base URL
	JWKSURL  string    `json:"jwks_url"` // the default workspace's keys.json at Endpoint
	Host     string    `json:"host"`
	PID      int       `json:"pid"`
	Seen     time.Time `json:"seen"`
}

// KeysStatus is the answer at KeysStatusPath.
type KeysStatus struct {
	Server       string `json:"server"`
	Generation   int64  `json:"keys_generation"`
	SigningKeyID string `json:"signing_kid,omitempty"`
}

// readKeysGeneration returns the keys generation in st (0 when never bumped).
func readKeysGeneration(ctx context.Context, st store.Store) (int64, error) {
	b, err := st.GetSetting(ctx, settingKeysGeneration)
	if errors.Is(err, store.ErrNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("read keys generation: %w", err)
	}
	n, err := strconv.ParseInt(string(b), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("read keys generation: %q is not a number", b)
	}
	return n, nil
}

// bumpKeysGeneration increments the keys generation after a change to the keys and
// returns the new value.
func bumpKeysGeneration(ctx context.Context, st store.Store) (int64, error) {
	var next int64
	err := st.UpdateSetting(ctx, settingKeysGeneration, func(cur []byte) ([]byte, error) {
		n, _ := strconv.ParseInt(string(cur), 10, 64)
		next = n + 1
		return []byte(strconv.FormatInt(next, 10)), nil
	})
	if errors.Is(err, store.ErrNotFound) {
		err = st.CreateSetting(ctx, settingKeysGeneration, []byte("1"))
		if errors.Is(err, store.ErrAlreadyExists) {
			return bumpKeysGeneration(ctx, st) // another process created it first
		}
		next = 1
	}
	if err != nil {
		return 0, fmt.Errorf("announce key change: %w", err)
	}
	return next, nil
}

// readServers returns the servers registered in st, live or not.
func readServers(ctx context.Context, st store.Store) (map[string]ServerEntry, error) {
	b, err := st.GetSetting(ctx, settingServers)
	if errors.Is(err, store.ErrNotFound) {
		return map[string]ServerEntry{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read running servers: %w", err)
	}
	m := map[string]ServerEntry{}
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("decode running servers: %w", err)
	}
	return m, nil
}

// updateServers changes the registry of servers with fn, dropping entries not renewed
// for serverTTL before now.
func updateServers(ctx context.Context, st store.Store, now time.Time, fn func(map[string]ServerEntry)) error {
	apply := func(cur []byte) ([]byte, error) {
		m := map[string]ServerEntry{}
		if len(cur) > 0 {
			_ = json.Unmarshal(cur, &m) // a damaged registry is rebuilt by the heartbeats
		}
		for id, e := range m {
			if now.Sub(e.Seen) > serverTTL {
				delete(m, id)
			}
		}
		fn(m)
		return json.Marshal(m)
	}
	err := st.UpdateSetting(ctx, settingServers, apply)
	if errors.Is(err, store.ErrNotFound) {
		var b []byte
		if b, err = apply(nil); err == nil {
			err = st.CreateSetting(ctx, settingServers, b)
			if errors.Is(err, store.ErrAlreadyExists) {
				return updateServers(ctx, st, now, fn)
			}
		}
	}
	if err != nil {
		return fmt.Errorf("register server: %w", err)
	}
	return nil
}

// keyWatch runs until ctx ends: it reloads the keys when their generation moves and
// keeps this server registered; on the way out it removes the registration.
func (s *Server) keyWatch(ctx context.Context) {
	defer s.wg.Done()
	host, _ := os.Hostname()
	entry := ServerEntry{
		ID: s.ops.id, Endpoint: s.endpoint, Host: host, PID: os.Getpid(),
		JWKSURL: s.endpoint + "/2.0/workspaces/" + s.cfg.DefaultWorkspace + "/pipelines-config/identity/oidc/keys.json",
	}
	beat := func() {
		entry.Seen = s.now().UTC()
		if err := updateServers(ctx, s.st, entry.Seen, func(m map[string]ServerEntry) { m[entry.ID] = entry }); err != nil && ctx.Err() == nil {
			s.log.Warn("cannot register this server in the store; `keyless keys` will not see it", "err", err)
		}
	}
	beat()
	s.pollKeys(ctx)
	poll := time.NewTicker(KeyWatchInterval)
	defer poll.Stop()
	hb := time.NewTicker(heartbeatInterval)
	defer hb.Stop()
	for {
		select {
		case <-ctx.Done():
			dctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			if err := updateServers(dctx, s.st, s.now().UTC(), func(m map[string]ServerEntry) { delete(m, entry.ID) }); err != nil {
				s.log.Warn("cannot remove this server's registration from the store; it expires by itself", "err", err, "after", serverTTL)
			}
			return
		case <-poll.C:
			s.pollKeys(ctx)
		case <-hb.C:
			beat()
		}
	}
}

// pollKeys reloads the keys when their generation in the store has moved. A store
// that cannot be read is logged once, and its recovery once.
func (s *Server) pollKeys(ctx context.Context) {
	gen, err := readKeysGeneration(ctx, s.st)
	if err != nil {
		if ctx.Err() == nil && !s.ops.watchFailing {
			s.ops.watchFailing = true
			s.log.Warn("cannot check the store for key changes; retrying", "err", err, "every", KeyWatchInterval)
		}
		return
	}
	if s.ops.watchFailing {
		s.ops.watchFailing = false
		s.log.Info("key changes are checked in the store again")
	}
	prev := s.ops.keysLoaded.Load()
	if gen == prev {
		return
	}
	if err := s.keys.Reload(ctx); err != nil {
		if ctx.Err() == nil {
			s.log.Error("reload signing keys", "err", err)
		}
		return
	}
	s.ops.keysLoaded.Store(gen)
	if prev >= 0 {
		s.log.Info("signing keys reloaded after a change in the store", "generation", gen, "signing_kid", s.keys.SigningKeyID())
	}
}

// keysStatus answers KeysStatusPath.
func (s *Server) keysStatus(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	json.NewEncoder(w).Encode(KeysStatus{Server: s.ops.id, Generation: s.ops.keysLoaded.Load(), SigningKeyID: s.keys.SigningKeyID()})
}
