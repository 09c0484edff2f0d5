package server

import (
	"context"
	"crypto/rand"
	"crypto/x509"
	"fmt"
	"net/http"

	"github.com/keyless-dev/keyless/audit"
	"github.com/keyless-dev/keyless/authn"
	"github.com/keyless-dev/keyless/authz"
	"github.com/keyless-dev/keyless/awsapi"
	"github.com/keyless-dev/keyless/gateway"
	"github.com/keyless-dev/keyless/iam"
	"github.com/keyless-dev/keyless/oidc"
	"github.com/keyless-dev/keyless/session"
	"github.com/keyless-dev/keyless/sts"
)

// awsServices builds the AWS-compatible endpoint: SigV4 authentication, IAM and STS
// behind one gateway, with audit events to the store.
func (s *Server) awsServices(ctx context.Context) (http.Handler, error) {
	keyring, err := ensureSessionKeyring(ctx, s.st, s.box, s.now())
	if err != nil {
		return nil, err
	}
	s.sessionKeys = keyring
	roots, err := x509.SystemCertPool()
	if err != nil {
		roots = x509.NewCertPool()
	}
	roots.AddCert(s.ca.Cert)
	verifier, err := oidc.NewVerifier(oidc.Config{RootCAs: roots, Now: s.now, Logger: s.log})
	if err != nil {
		return nil, fmt.Errorf("web identity verifier: %w", err)
	}
	s.audit = audit.NewRecorder(s.st, s.log)
	authenticator := authn.NewAuthenticator(s.st, s.box, keyring, authn.RootCredentials(s.root), s.cfg.AccountID, s.now)
	authorizer := authz.New(s.st)
	sigv4 := awsapi.NewVerifier(authenticator)
	sigv4.Now = s.now
	stsSvc := sts.New(sts.Config{
		Store: s.st, Verifier: verifier, Sealer: session.NewSealer(keyring, rand.Reader), Authorizer: authorizer,
		Audit: s.audit, Account: s.cfg.AccountID, Now: s.now, Rand: rand.Reader, Logger: s.log,
	})
	s.closers = append(s.closers, stsSvc.Close)
	iamSvc := iam.New(iam.Config{
		Store: s.st, Box: s.box, Authorizer: authorizer, Authenticator: authenticator, Audit: s.audit,
		Account: s.cfg.AccountID, Now: s.now, Rand: rand.Reader, AllowPortInProviderURL: true,
		OnChange: stsSvc.Invalidate, // a changed trust policy or provider applies at once
	})
	return gateway.New(gateway.Config{
		Services:       map[string]gateway.QueryService{"iam": iamSvc, "sts": stsSvc},
		Verifier:       sigv4,
		Authenticator:  authenticator,
		TrustedProxies: s.proxies,
		Now:            s.now,
		Logger:         s.log,
	}), nil
}
