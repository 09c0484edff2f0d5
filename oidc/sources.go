package oidc

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
)

// KeySource supplies one issuer's published keys in-process, in place of its
// discovery document and JWKS over HTTPS. `keyless up` uses it so that its own
// STS verifies tokens of issuers it serves under a production URL
// (https://api.bitbucket.org/…, https://token.actions.githubusercontent.com)
// with the local key set, without going to the network.
type KeySource interface {
	// JWKS returns the issuer's current JWK Set. A non-nil error is reported
	// as a key retrieval failure, as an unreachable JWKS would be.
	JWKS(ctx context.Context) (JWKS, error)
}

// JWKS is a JWK Set (RFC 7517) as a KeySource hands it over.
type JWKS struct {
	// Document is the JWK Set JSON, {"keys": [...]}; it is parsed with the
	// same rules as a fetched one.
	Document []byte
	// MaxAge is how long the keys may be cached, as a JWKS response's
	// Cache-Control max-age would say; 0 means Config.CacheTTL. Always
	// clamped to [MinCacheTTL, MaxCacheTTL]; an unknown kid refreshes
	// earlier, as for fetched keys.
	MaxAge time.Duration
	// Origin names where the keys come from, for messages and
	// KeySetInfo.JWKSURI (e.g. "in-process keys of https://127.0.0.1:8400/github").
	Origin string
}

// KeySourceFunc adapts a function to KeySource.
type KeySourceFunc func(ctx context.Context) (JWKS, error)

// JWKS calls f.
func (f KeySourceFunc) JWKS(ctx context.Context) (JWKS, error) { return f(ctx) }

// TrustedByKeySource is KeySetInfo.TrustedBy for keys a Config.KeySources
// entry supplied: no TLS was involved, so neither root CAs nor thumbprints
// were consulted.
const TrustedByKeySource = "key-source"

// AliasesEnv is the environment variable through which `keyless up` tells
// keyless's command-line verifiers (`keyless explain`, `keyless token
// inspect --verify`) which issuer URLs it serves locally; see ParseAliases.
const AliasesEnv = "KEYLESS_ISSUER_ALIASES"

// ParseAliases reads issuer aliases in the form FormatAliases writes and
// AliasesEnv holds: whitespace-separated ISSUER=LOCAL pairs, each mapping the
// issuer URL tokens carry (iss) to the issuer URL whose discovery document
// and JWKS stand for it, e.g.
//
//	https://api.bitbucket.org/2.0/workspaces/acme/pipelines-config/identity/oidc=https://127.0.0.1:8400/2.0/workspaces/acme/pipelines-config/identity/oidc
//
// Both must be https URLs without user info, query or fragment, an issuer may
// appear once, and an empty string is no aliases.
func ParseAliases(s string) (map[string]string, error) {
	out := map[string]string{}
	for _, pair := range strings.Fields(s) {
		iss, local, ok := strings.Cut(pair, "=")
		if !ok {
			return nil, fmt.Errorf("issuer alias %q: want ISSUER=LOCAL, two https URLs joined by '='", pair)
		}
		if err := checkAlias(iss, local); err != nil {
			return nil, err
		}
		if prev, dup := out[iss]; dup && prev != local {
			return nil, fmt.Errorf("issuer alias: %s is aliased twice, to %s and %s", iss, prev, local)
		}
		out[iss] = local
	}
	return out, nil
}

// FormatAliases writes aliases (issuer URL → local issuer URL) in the form
// ParseAliases reads, sorted by issuer.
func FormatAliases(aliases map[string]string) string {
	var b strings.Builder
	for _, iss := range slices.Sorted(maps.Keys(aliases)) {
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(iss + "=" + aliases[iss])
	}
	return b.String()
}

func checkAlias(iss, local string) error {
	if _, err := issuerURL(iss); err != nil {
		return fmt.Errorf("issuer alias %q: %w", iss, err)
	}
	if _, err := issuerURL(local); err != nil {
		return fmt.Errorf("issuer alias %s=%s: the local URL: %w", iss, local, err)
	}
	if strings.ContainsAny(iss+local, " \t\r\n=") {
		return fmt.Errorf("issuer alias %s=%s: URLs with whitespace or '=' cannot be aliased", iss, local)
	}
	return nil
}
