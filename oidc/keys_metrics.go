package oidc

// KeyObserver is told how a Verifier gets issuers' keys, for metrics. Its
// methods must be cheap and safe for concurrent use. The issuer is the token's
// iss, an unbounded value: the observer must classify it before using it as a
// label.
type KeyObserver interface {
	// KeyCacheLookup reports, for each token whose issuer has a registered
	// provider, whether its key was found in a fresh cached key set (hit) or not
	// (miss: no key set yet, an expired one, or no key with the token's kid),
	// whatever a refresh then found.
	KeyCacheLookup(issuer string, hit bool)
	// KeysFetched reports one fetch of an issuer's keys (discovery and JWKS, or
	// its in-process KeySource) and whether it failed.
	KeysFetched(issuer string, failed bool)
}
