// Package oidc is the relying-party side of web identity federation: it
// verifies the OpenID Connect ID tokens that STS AssumeRoleWithWebIdentity
// accepts, with the checks, order, error codes and messages of real STS.
//
// A Verifier fetches each issuer's discovery document
// (<iss>/.well-known/openid-configuration) and its jwks_uri over HTTPS only,
// trusting the server through Config.RootCAs (system roots plus keyless's
// local CA) or, failing that, through the provider's IAM thumbprints: the
// SHA-1 of the last certificate the server sends, with the chain still
// verified up to that certificate and for the host name.
//
// # Issuers served locally
//
// Config.KeySources hands the verifier the keys of chosen issuers in-process:
// `keyless up` serves workspaces under production issuer URLs
// (https://api.bitbucket.org/2.0/workspaces/<slug>/pipelines-config/identity/oidc,
// https://token.actions.githubusercontent.com, https://gitlab.com) and gives
// its STS the local key set for exactly those URLs, so that nothing is
// fetched from, resolved for or connected to the real hosts, and trust
// policies written for production verify offline. Other issuers are fetched
// as usual. Config.Aliases does the same for verifiers in another process:
// the keys of an aliased issuer are fetched over HTTPS from the local issuer
// URL it names (AliasesEnv carries the aliases from `keyless up` to the
// command line). Neither changes anything for the rest of the machine: no
// resolver, hosts file or proxy is involved.
//
// # Key cache
//
// Keys are cached per issuer and trust configuration (thumbprints), parsed
// once into *rsa.PublicKey / *ecdsa.PublicKey and read without locks.
//
//   - Lifetime: the JWKS response's Cache-Control max-age, else
//     Config.CacheTTL (1 h), clamped to [MinCacheTTL, MaxCacheTTL] = [1 min,
//     24 h]; no-store and no-cache mean 1 min.
//   - Unknown kid: one refresh, at most once per Config.MinRefreshInterval
//     (10 s) per issuer, so tokens with random kids cannot make us hammer the
//     IdP. Within the interval the token is refused (retryable).
//   - Concurrent misses share one fetch (single-flight); a caller giving up
//     does not cancel the fetch for the others.
//   - A failed fetch is remembered for Config.NegativeTTL (5 s). Keys that
//     are still fresh keep working when a refresh fails; expired keys are
//     not used.
//   - Each refresh (discovery + JWKS) must finish within Config.FetchTimeout
//     (5 s, as AWS); bodies are limited to MaxDocumentSize (1 MiB) and
//     MaxKeys (100) keys; redirects are not followed; plain HTTP is refused.
//
// # Token rules
//
// Compact JWS only, at most MaxTokenLength (20000) characters, surrounding
// whitespace ignored (token files often end in a newline); strict base64url;
// header and claims JSON objects; exp, iat and nbf JSON integers; aud a string
// or an array of strings. Algorithms RS256/384/512 and ES256/384/512 only,
// matching the JWK's type, curve and (if present) alg; the JWK must carry the
// token's kid; oct (symmetric) keys and RSA keys under 2048 or over 8192 bits
// are ignored. The header parameters jku, x5u, jwk and x5c are never used,
// and a crit header is refused. exp is required; exp, nbf and iat get
// Config.Skew (5 min).
//
// # Messages
//
// Texts observed from real STS are used verbatim (see the Message
// constants). Where STS's text is unknown we chose: MessageNotJWT (widely
// reported, unconfirmed), MessageInvalidToken for bad signatures and refused
// algorithms (the service model's description of InvalidIdentityToken),
// MessageMissingExp, and "Token used before issued: ..." for nbf/iat in the
// future. A missing iss is reported as "...for null", as a Java service would
// print it. The expiry message uses Unix seconds, as STS does, with a space
// before the expiry as in current responses.
//
// Nothing in this package logs a token or puts one in an error.
package oidc
