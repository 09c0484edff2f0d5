package explain

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/keyless-dev/keyless/oidc"
)

// VerifyResult classifies the outcome of VerifyToken.
type VerifyResult string

// Verification outcomes.
const (
	// VerifyOK: the signature verifies and the token is within its lifetime.
	VerifyOK VerifyResult = "ok"
	// VerifyExpired: the signature verifies but exp has passed (beyond the skew).
	VerifyExpired VerifyResult = "expired"
	// VerifyNotYetValid: the signature verifies but nbf or iat is in the future
	// (beyond the skew).
	VerifyNotYetValid VerifyResult = "not-yet-valid"
	// VerifyMissingClaim: the signature verifies but aud or exp is missing.
	VerifyMissingClaim VerifyResult = "missing-claim"
	// VerifyUnknownKey: the issuer publishes no key with the token's kid.
	VerifyUnknownKey VerifyResult = "unknown-key"
	// VerifyBadSignature: the signature does not verify with the published key.
	VerifyBadSignature VerifyResult = "bad-signature"
	// VerifyRefusedAlgorithm: alg is not one STS accepts, or does not fit the key.
	VerifyRefusedAlgorithm VerifyResult = "refused-algorithm"
	// VerifyIssuerUnreachable: discovery or the JWKS could not be fetched.
	VerifyIssuerUnreachable VerifyResult = "issuer-unreachable"
	// VerifyUntrustedCertificate: the issuer's HTTPS certificate is not trusted.
	VerifyUntrustedCertificate VerifyResult = "untrusted-certificate"
	// VerifyMalformed: the token cannot be verified at all (not a JWT STS accepts,
	// issuer not https).
	VerifyMalformed VerifyResult = "malformed"
)

// Verification is what VerifyToken found. Neither text ever contains the token.
type Verification struct {
	Result VerifyResult `json:"result"`
	// SignatureValid reports whether the signature verified with a key the issuer
	// publishes (true for an expired token with a good signature).
	SignatureValid bool `json:"signatureValid"`
	// Message says what is wrong in one line ("" when Result is VerifyOK), e.g.
	// "token expired at 2026-11-22T10:15:00Z (1h45m0s ago); the signature is valid".
	Message string `json:"message,omitempty"`
	// KeysFrom is the local issuer URL the keys were fetched from when the token's
	// issuer is aliased (oidc.Config.Aliases, KEYLESS_ISSUER_ALIASES): a token of
	// https://api.bitbucket.org/… that `keyless up` minted is checked against that
	// server's keys, not Bitbucket's.
	KeysFrom string `json:"keysFrom,omitempty"`

	summary string
}

// OK reports whether the token verified.
func (v Verification) OK() bool { return v.Result == VerifyOK }

// Summary is the outcome for the "Signature:" line of `token inspect`: "ok",
// "valid, but …", "FAILED: …" or "not checked: …".
func (v Verification) Summary() string {
	if v.OK() {
		if v.KeysFrom != "" {
			return "ok (keys of the local issuer " + v.KeysFrom + ")"
		}
		return "ok"
	}
	if v.summary != "" {
		return v.summary
	}
	return v.Message
}

// VerifyToken checks raw against the keys its own issuer publishes, as STS would if
// the issuer were registered with the token's audiences as client IDs: signature,
// then exp, nbf and iat against cfg.Now with cfg.Skew (5 minutes by default). It
// tells an expired token with a valid signature from a bad signature, a kid the issuer
// does not publish, and an issuer that cannot be reached. The keys of an issuer in
// cfg.Aliases come from its alias (Verification.KeysFrom).
func VerifyToken(ctx context.Context, raw string, cfg oidc.Config) Verification {
	res := verifyToken(ctx, raw, cfg)
	if _, claims, err := oidc.ParseUnverified(raw); err == nil {
		res.KeysFrom = cfg.Aliases[readClaims(claims).iss]
	}
	return res
}

func verifyToken(ctx context.Context, raw string, cfg oidc.Config) Verification {
	v, err := oidc.NewVerifier(cfg)
	if err != nil {
		return Verification{Result: VerifyMalformed, Message: "cannot verify: " + err.Error()}
	}
	hdr, claims, err := oidc.ParseUnverified(raw)
	if err != nil {
		return Verification{Result: VerifyMalformed, Message: "token is not a JWT: " + err.Error(), summary: "FAILED: not a JWT"}
	}
	tok := readClaims(claims)
	issURL := strings.TrimPrefix(tok.iss, "https://")
	prov := oidc.Provider{URL: issURL, ClientIDs: tok.aud}
	self := func(_ context.Context, url string) (oidc.Provider, bool, error) {
		return prov, url == issURL, nil
	}
	_, err = v.Verify(ctx, raw, self)
	if err == nil {
		return Verification{Result: VerifyOK, SignatureValid: true}
	}
	now := time.Now()
	if cfg.Now != nil {
		now = cfg.Now()
	}
	skew := cfg.Skew
	if skew == 0 {
		skew = oidc.DefaultSkew
	}
	kid, _ := hdr["kid"].(string)

	var oe *oidc.Error
	if !errors.As(err, &oe) {
		return unchecked(VerifyIssuerUnreachable, "could not fetch the issuer's keys: "+err.Error())
	}
	detail := oe.Detail
	if detail == "" {
		detail = oe.Message
	}
	switch oe.Reason {
	case oidc.ReasonExpired:
		exp := time.Unix(tok.exp, 0).UTC()
		what := fmt.Sprintf("token expired at %s (%s ago)", exp.Format(time.RFC3339), now.Sub(exp).Round(time.Second))
		return validBut(VerifyExpired, what)
	case oidc.ReasonNotYetValid:
		what := "token is not valid yet"
		for _, name := range []string{"nbf", "iat"} {
			if at, ok := unixClaim(claims[name]); ok && at.After(now.Add(skew)) {
				what = fmt.Sprintf("token is not valid yet: its %s is %s, beyond the %s of clock skew", name, relative(at, now), skewWords(skew))
				break
			}
		}
		return validBut(VerifyNotYetValid, what)
	case oidc.ReasonAudienceMissing:
		return validBut(VerifyMissingClaim, "token has no aud claim")
	case oidc.ReasonSignature:
		return Verification{Result: VerifyBadSignature,
			Message: fmt.Sprintf("token signature did not verify with the issuer's key %q: tampered, or signed by another issuer", kid),
			summary: "FAILED: " + detail}
	case oidc.ReasonAlgorithm:
		return Verification{Result: VerifyRefusedAlgorithm, Message: "token signature not accepted: " + detail, summary: "FAILED: " + detail}
	case oidc.ReasonThumbprint:
		return unchecked(VerifyUntrustedCertificate, "the issuer's HTTPS certificate is not trusted (pass --ca-bundle with its CA): "+detail)
	case oidc.ReasonIssuer:
		return Verification{Result: VerifyMalformed, Message: fmt.Sprintf("token issuer %q is not an https URL, so it has no keys to verify with", tok.iss), summary: "FAILED: the issuer is not an https URL"}
	case oidc.ReasonKeyRetrieval:
		return keyRetrieval(ctx, v, tok.iss, prov, kid, detail)
	case oidc.ReasonMalformed:
		if oe.Message == oidc.MessageMissingExp {
			return validBut(VerifyMissingClaim, "token has no exp claim")
		}
		return Verification{Result: VerifyMalformed, Message: "token is malformed: " + detail, summary: "FAILED: " + detail}
	}
	return Verification{Result: VerifyMalformed, Message: "token did not verify: " + detail, summary: "FAILED: " + detail}
}

// keyRetrieval tells a kid the issuer does not publish from an issuer that could not
// be reached, by fetching its keys once more.
func keyRetrieval(ctx context.Context, v *oidc.Verifier, iss string, p oidc.Provider, kid, detail string) Verification {
	if kid == "" {
		return unchecked(VerifyUnknownKey, "token header has no kid, so no published key can be chosen")
	}
	info, err := v.FetchKeys(ctx, iss, p)
	if err != nil {
		var oe *oidc.Error
		if errors.As(err, &oe) && oe.Detail != "" {
			detail = oe.Detail
		}
		return unchecked(VerifyIssuerUnreachable, "could not fetch the issuer's keys: "+detail)
	}
	var kids []string
	for _, k := range info.Keys {
		if k.KeyID == kid {
			return unchecked(VerifyIssuerUnreachable, "could not fetch the issuer's keys: "+detail)
		}
		kids = append(kids, k.KeyID)
	}
	return unchecked(VerifyUnknownKey, fmt.Sprintf("the issuer publishes no key with the token's kid %q (it publishes %s)", kid, quoteList(kids)))
}

func validBut(r VerifyResult, what string) Verification {
	return Verification{Result: r, SignatureValid: true, Message: what + "; the signature is valid", summary: "valid, but the " + what}
}

func unchecked(r VerifyResult, what string) Verification {
	return Verification{Result: r, Message: what + "; the signature could not be checked", summary: "not checked: " + what}
}

// skewWords renders a clock skew for people: "5 minutes".
func skewWords(d time.Duration) string {
	if d%time.Minute == 0 {
		if d == time.Minute {
			return "1 minute"
		}
		return fmt.Sprintf("%d minutes", d/time.Minute)
	}
	return d.String()
}
