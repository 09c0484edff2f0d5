package sts

import (
	"errors"
	"time"

	"github.com/keyless-dev/keyless/store"
)

// StaleIfError is how long past its fetch a cached provider list or role may still
// answer a token exchange while the store is unavailable (store.ErrUnavailable):
// exchanges for roles and providers this server has seen recently keep working
// through a store outage of up to this long, with what the store said before it went
// away. Any other store error, and anything never cached, still fails the call.
const StaleIfError = 5 * time.Minute

// staleOK reports whether a cached copy fetched at fetched may answer in place of a
// reload that failed with err.
func (c *caches) staleOK(err error, fetched time.Time) bool {
	return errors.Is(err, store.ErrUnavailable) && c.now().Sub(fetched) < StaleIfError
}
