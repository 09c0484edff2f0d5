package server

import (
	"context"
	"fmt"
	"strings"

	"github.com/keyless-dev/keyless/store"
)

// AccountStores opens the stores of the accounts of a keyless up, running or
// stopped, on demand and without creating or changing anything, for tools that
// read the accounts' IAM roles and policies (keyless explain). It is not safe
// for concurrent use.
type AccountStores struct {
	dataDir, dsn string
	ids          []string // the first account's first
	open         map[string]store.Store
}

// OpenAccountStores opens the first account's store of the data directory
// dataDir (or of the PostgreSQL store dsn) and reads which accounts the last
// `keyless up` served. Close it when done.
func OpenAccountStores(ctx context.Context, dataDir, dsn string) (*AccountStores, error) {
	st, err := OpenExistingStore(ctx, dataDir, dsn)
	if err != nil {
		return nil, err
	}
	first, err := st.GetSetting(ctx, settingAccount)
	if err != nil {
		st.Close()
		return nil, fmt.Errorf("read account id: %w", err)
	}
	records, err := readAccountRecords(ctx, st)
	if err != nil {
		st.Close()
		return nil, err
	}
	a := &AccountStores{dataDir: dataDir, dsn: dsn, ids: []string{string(first)}, open: map[string]store.Store{string(first): st}}
	for _, r := range records {
		a.ids = append(a.ids, r.ID)
	}
	return a, nil
}

// Store returns the store of account id, opening it the first time; an error
// names the accounts there are when id is none of them.
func (a *AccountStores) Store(ctx context.Context, id string) (store.Store, error) {
	if st, ok := a.open[id]; ok {
		return st, nil
	}
	known := false
	for _, k := range a.ids {
		known = known || k == id
	}
	if !known {
		where := "data directory " + a.dataDir
		if a.dsn != "" {
			where = "the PostgreSQL store"
		}
		return nil, fmt.Errorf("no local account %s in %s: the accounts are %s", id, where, strings.Join(a.ids, ", "))
	}
	st, err := openExistingAccountStore(ctx, a.dataDir, a.dsn, id)
	if err != nil {
		return nil, err
	}
	a.open[id] = st
	return st, nil
}

// Close closes the stores opened.
func (a *AccountStores) Close() {
	for id, st := range a.open {
		st.Close()
		delete(a.open, id)
	}
}
