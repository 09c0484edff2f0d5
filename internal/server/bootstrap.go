package server

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/keyless-dev/keyless/accesskey"
	"github.com/keyless-dev/keyless/issuer"
	"github.com/keyless-dev/keyless/keywrap"
	"github.com/keyless-dev/keyless/localca"
	"github.com/keyless-dev/keyless/session"
	"github.com/keyless-dev/keyless/store"
)

// Setting names in the store.
const (
	settingAccount = "account-id"
	settingRoot    = "root-credentials"
	settingCA      = "local-ca"
	settingRunner  = "default-runner"
)

// RootCredentials are the local account's root access key.
type RootCredentials struct {
	AccessKeyID     string
	SecretAccessKey string
}

// createOrGet stores value under name unless the setting exists, and returns what is
// stored: concurrent first starts agree on one value.
func createOrGet(ctx context.Context, st store.Store, name string, make func() ([]byte, error)) ([]byte, error) {
	v, err := st.GetSetting(ctx, name)
	if err == nil {
		return v, nil
	}
	if !errors.Is(err, store.ErrNotFound) {
		return nil, fmt.Errorf("read setting %s: %w", name, err)
	}
	v, err = make()
	if err != nil {
		return nil, err
	}
	if err := st.CreateSetting(ctx, name, v); err != nil {
		if errors.Is(err, store.ErrAlreadyExists) {
			return st.GetSetting(ctx, name)
		}
		return nil, fmt.Errorf("create setting %s: %w", name, err)
	}
	return v, nil
}

func ensureAccount(ctx context.Context, st store.Store, want string) (string, error) {
	v, err := createOrGet(ctx, st, settingAccount, func() ([]byte, error) { return []byte(want), nil })
	if err != nil {
		return "", err
	}
	if string(v) != want {
		return "", fmt.Errorf("this data directory belongs to account %s, not %s: use another --data directory or account_id %s", v, want, v)
	}
	return want, nil
}

type sealedCredential struct {
	AccessKeyID string `json:"access_key_id"`
	Secret      []byte `json:"secret"` // sealed by the KEK
}

func ensureRootCredentials(ctx context.Context, st store.Store, box *keywrap.Box) (RootCredentials, error) {
	v, err := createOrGet(ctx, st, settingRoot, func() ([]byte, error) {
		id, secret, err := accesskey.New(rand.Reader, accesskey.LongTerm)
		if err != nil {
			return nil, fmt.Errorf("generate root credentials: %w", err)
		}
		sealed, err := box.Seal(settingRoot, []byte(secret))
		if err != nil {
			return nil, fmt.Errorf("seal root credentials: %w", err)
		}
		return json.Marshal(sealedCredential{AccessKeyID: id, Secret: sealed})
	})
	if err != nil {
		return RootCredentials{}, err
	}
	return openRootCredentials(box, v)
}

// openRootCredentials decodes and unseals the stored root credentials v.
func openRootCredentials(box *keywrap.Box, v []byte) (RootCredentials, error) {
	var sc sealedCredential
	if err := json.Unmarshal(v, &sc); err != nil {
		return RootCredentials{}, fmt.Errorf("decode root credentials: %w", err)
	}
	secret, err := box.Open(settingRoot, sc.Secret)
	if err != nil {
		return RootCredentials{}, fmt.Errorf("open root credentials: %w (is KEYLESS_KEK the key this data directory was created with?)", err)
	}
	return RootCredentials{AccessKeyID: sc.AccessKeyID, SecretAccessKey: string(secret)}, nil
}

type storedCA struct {
	CertPEM []byte `json:"cert_pem"`
	Key     []byte `json:"key"` // PKCS#8, sealed by the KEK
}

func ensureCA(ctx context.Context, st store.Store, box *keywrap.Box, now time.Time) (*localca.CA, error) {
	v, err := createOrGet(ctx, st, settingCA, func() ([]byte, error) {
		ca, err := localca.New(now, "keyless local CA")
		if err != nil {
			return nil, err
		}
		der, err := ca.MarshalKey()
		if err != nil {
			return nil, err
		}
		sealed, err := box.Seal(settingCA, der)
		if err != nil {
			return nil, fmt.Errorf("seal CA key: %w", err)
		}
		return json.Marshal(storedCA{CertPEM: ca.CertPEM(), Key: sealed})
	})
	if err != nil {
		return nil, err
	}
	var sc storedCA
	if err := json.Unmarshal(v, &sc); err != nil {
		return nil, fmt.Errorf("decode CA: %w", err)
	}
	der, err := box.Open(settingCA, sc.Key)
	if err != nil {
		return nil, fmt.Errorf("open CA key: %w", err)
	}
	return localca.Load(sc.CertPEM, der)
}

// ensureRunner returns the default runner's credential, creating the runner on first start.
func ensureRunner(ctx context.Context, st store.Store, box *keywrap.Box, runners *issuer.Runners) (string, error) {
	v, err := st.GetSetting(ctx, settingRunner)
	if err == nil {
		tok, err := box.Open(settingRunner, v)
		if err != nil {
			return "", fmt.Errorf("open default runner credential: %w", err)
		}
		return string(tok), nil
	}
	if !errors.Is(err, store.ErrNotFound) {
		return "", fmt.Errorf("read default runner: %w", err)
	}
	tok, _, err := runners.Create(ctx, "default", nil)
	if err != nil {
		return "", err
	}
	sealed, err := box.Seal(settingRunner, []byte(tok))
	if err != nil {
		return "", fmt.Errorf("seal default runner credential: %w", err)
	}
	if err := st.CreateSetting(ctx, settingRunner, sealed); err != nil {
		return "", fmt.Errorf("store default runner credential: %w", err)
	}
	return tok, nil
}

const settingSessionKeys = "session-keyring"

// ensureSessionKeyring loads the key ring that seals session credentials, creating it
// on first start. It is stored sealed under the KEK.
func ensureSessionKeyring(ctx context.Context, st store.Store, box *keywrap.Box, now time.Time) (*session.Keyring, error) {
	v, err := createOrGet(ctx, st, settingSessionKeys, func() ([]byte, error) {
		kr, err := session.NewKeyring(rand.Reader, now)
		if err != nil {
			return nil, err
		}
		raw, err := kr.MarshalBinary()
		if err != nil {
			return nil, err
		}
		return box.Seal(settingSessionKeys, raw)
	})
	if err != nil {
		return nil, err
	}
	raw, err := box.Open(settingSessionKeys, v)
	if err != nil {
		return nil, fmt.Errorf("open session key ring: %w", err)
	}
	kr := new(session.Keyring)
	if err := kr.UnmarshalBinary(raw); err != nil {
		return nil, fmt.Errorf("decode session key ring: %w", err)
	}
	return kr, nil
}

// sessionKeyPeriod is how long one key seals session credentials before the ring
// rotates; replaced keys open tokens until the longest session (12 h) has passed.
const sessionKeyPeriod = 24 * time.Hour

// errRingCurrent aborts the ring's update transaction when no rotation is due.
var errRingCurrent = errors.New("session key ring is current")

// syncSessionKeys makes kr the stored session key ring, rotating it first when its
// current key is older than sessionKeyPeriod and dropping keys that can only open
// expired tokens. The decision is taken inside the store's update transaction on the
// stored ring, so replicas sharing a store rotate once and all adopt the same ring.
func syncSessionKeys(ctx context.Context, st store.Store, box *keywrap.Box, kr *session.Keyring, now time.Time) (bool, error) {
	var raw []byte
	rotated := false
	err := st.UpdateSetting(ctx, settingSessionKeys, func(sealed []byte) ([]byte, error) {
		cur, err := box.Open(settingSessionKeys, sealed)
		if err != nil {
			return nil, fmt.Errorf("open session key ring: %w", err)
		}
		ring := new(session.Keyring)
		if err := ring.UnmarshalBinary(cur); err != nil {
			return nil, fmt.Errorf("decode session key ring: %w", err)
		}
		raw = cur
		var created time.Time
		for _, k := range ring.Keys() {
			if k.Current {
				created = k.CreatedAt
			}
		}
		if now.Sub(created) < sessionKeyPeriod {
			return nil, errRingCurrent
		}
		if err := ring.Rotate(rand.Reader, now); err != nil {
			return nil, fmt.Errorf("rotate session keys: %w", err)
		}
		ring.Prune(now.Add(-session.MaxSessionLifetime - time.Hour))
		if raw, err = ring.MarshalBinary(); err != nil {
			return nil, fmt.Errorf("encode session key ring: %w", err)
		}
		rotated = true
		return box.Seal(settingSessionKeys, raw)
	})
	if err != nil && !errors.Is(err, errRingCurrent) {
		return false, fmt.Errorf("sync session keys: %w", err)
	}
	if mine, err := kr.MarshalBinary(); err == nil && bytes.Equal(mine, raw) {
		return rotated, nil
	}
	if err := kr.UnmarshalBinary(raw); err != nil {
		return false, fmt.Errorf("sync session keys: %w", err)
	}
	return rotated, nil
}
