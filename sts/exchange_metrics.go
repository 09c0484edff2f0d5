package sts

import (
	"strings"

	"github.com/keyless-dev/keyless/audit"
	"github.com/keyless-dev/keyless/oidc"
)

// ExchangeObserver is told of every AssumeRoleWithWebIdentity decision, for
// metrics. Its method must be cheap and safe for concurrent use.
type ExchangeObserver interface {
	// WebIdentityExchange reports the token's issuer, as the token claims it
	// ("" when the token could not be read), and the decision: audit.Allowed,
	// audit.Denied or audit.Failed. The issuer is an unbounded value: the
	// observer must classify it before using it as a label.
	WebIdentityExchange(issuer, decision string)
}

// observeExchange reports a decided exchange to Config.Exchanges. The issuer is
// the verified one when the token was verified (the audit event's caller is
// "ISSUER SUBJECT"); otherwise it is read, unverified, from the token, which
// costs a parse on refusals only.
func (s *Service) observeExchange(token string, ev *audit.Event) {
	if s.cfg.Exchanges == nil {
		return
	}
	issuer, _, verified := strings.Cut(ev.Caller, " ")
	if !verified {
		issuer = ""
		if _, claims, err := oidc.ParseUnverified(token); err == nil {
			issuer, _ = claims["iss"].(string)
		}
	}
	s.cfg.Exchanges.WebIdentityExchange(issuer, ev.Decision)
}
