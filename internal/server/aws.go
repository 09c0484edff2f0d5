package server

import (
	"context"
	"crypto/rand"
	"crypto/x509"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/keyless-dev/keyless/audit"
	"github.com/keyless-dev/keyless/authn"
	"github.com/keyless-dev/keyless/authz"
	"github.com/keyless-dev/keyless/awsapi"
	"github.com/keyless-dev/keyless/cloudfront"
	"github.com/keyless-dev/keyless/edge"
	"github.com/keyless-dev/keyless/gateway"
	"github.com/keyless-dev/keyless/iam"
	"github.com/keyless-dev/keyless/issuer"
	"github.com/keyless-dev/keyless/oidc"
	"github.com/keyless-dev/keyless/organizations"
	"github.com/keyless-dev/keyless/s3"
	"github.com/keyless-dev/keyless/secretsmanager"
	"github.com/keyless-dev/keyless/session"
	"github.com/keyless-dev/keyless/store"
	"github.com/keyless-dev/keyless/sts"
)

// awsServices builds the AWS-compatible endpoint: SigV4 authentication, IAM and STS
// (Query protocol), CloudFront and S3 (REST) and Secrets Manager (JSON 1.1) behind one
// gateway, with audit events to the store. The gateway is the server's front handler:
// signed requests go to the service their credential scope names, everything else to
// fallback (keyless's own routes), which must mount the gateway's Query handler at
// "/". jwksMaxAge is how long the issuer lets relying parties cache its keys.
func (s *Server) awsServices(ctx context.Context, jwksMaxAge time.Duration, fallback http.Handler) (*gateway.Gateway, error) {
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
	verifier, err := oidc.NewVerifier(oidc.Config{
		RootCAs: roots, Now: s.now, Logger: s.log, DialContext: s.dial,
		KeySources: localKeySources(s.issuer.Aliases(), s.keys, jwksMaxAge),
		Observer:   s.metrics.m,
	})
	if err != nil {
		return nil, fmt.Errorf("web identity verifier: %w", err)
	}
	s.audit = audit.NewRecorder(s.st, s.log)
	if r := s.cfg.Log.SampleAllowed; r != nil {
		if !(*r >= 0 && *r <= 1) {
			return nil, fmt.Errorf("config: log.sample_allowed %g: give a fraction from 0 to 1", *r)
		}
		s.audit.SetLogSampling(*r)
	}
	if err := checkDataEvents(s.cfg.Audit.DataEvents); err != nil {
		return nil, err
	}
	authenticator := authn.NewAuthenticator(s.st, s.box, keyring, authn.RootCredentials(s.root), s.cfg.AccountID, s.now)
	s.authn = authenticator
	authorizer := authz.New(s.st)
	sigv4 := awsapi.NewVerifier(authenticator)
	sigv4.Now = s.now
	stsCfg := sts.Config{
		Store: s.st, Verifier: verifier, Sealer: session.NewSealer(keyring, rand.Reader), Authorizer: authorizer,
		Audit: s.audit, Account: s.cfg.AccountID, Now: s.now, Rand: rand.Reader, Logger: s.log,
		Exchanges: s.metrics.m,
	}
	// Every account's authorizer, for AssumeRole across accounts (accounts.go);
	// s.reg is set below, before any call.
	stsCfg.CallerAuthorizer = func(account string) (*authz.Authorizer, bool) { return s.reg.authorizer(account) }
	s.stsCfg = stsCfg
	stsSvc := sts.New(stsCfg)
	s.closers = append(s.closers, stsSvc.Close)
	iamSvc := iam.New(iam.Config{
		Store: s.st, Box: s.box, Authorizer: authorizer, Authenticator: authenticator, Audit: s.audit,
		Account: s.cfg.AccountID, Now: s.now, Rand: rand.Reader, AllowPortInProviderURL: true,
		OnChange: stsSvc.Invalidate, // a changed trust policy or provider applies at once
	})
	edgeCache := edge.NewCache(edge.CacheConfig{Now: s.now})
	cf, err := s.newCloudFront(authorizer, edgeCache)
	if err != nil {
		return nil, err
	}
	blobs, err := s.newBlobs(ctx)
	if err != nil {
		return nil, err
	}
	s3Svc, err := s.newS3(authorizer, blobs)
	if err != nil {
		return nil, err
	}
	if s.edge, err = s.newEdge(cf, edgeCache, blobs); err != nil {
		return nil, err
	}
	sm, err := s.newSecretsManager(authorizer) // secretsmanager.go
	if err != nil {
		return nil, err
	}
	// Several accounts (accounts.go): IAM, STS, Secrets Manager and S3 in each,
	// picked per call from the registry, to which Organizations' CreateAccount
	// adds accounts while serving; CloudFront the first account's alone.
	firstMeta, _ := s.st.(store.S3Store) // newS3 checked it
	s.reg = newRegistry(s.cfg.AccountID, authorizer, iamSvc, stsSvc, sm.Handler, &accountS3{
		first: s.cfg.AccountID, by: map[string]*s3.Service{s.cfg.AccountID: s3Svc},
		stores: map[string]store.S3Store{s.cfg.AccountID: firstMeta}, order: []string{s.cfg.AccountID},
		now: s.now, createMu: &sync.Mutex{}, mu: &sync.Mutex{}, owners: map[string]bucketOwner{}})
	s.accountsMu.Lock()
	further := slices.Clone(s.accounts)
	s.accountsMu.Unlock()
	for _, a := range further {
		if err := s.serveAccount(a); err != nil {
			return nil, err
		}
	}
	services := map[string]gateway.QueryService{
		"iam": accountQuery{first: iamSvc, reg: s.reg, pick: func(a *accountSet) map[string]gateway.QueryService { return a.iam }},
		"sts": accountSTS{accountQuery{first: stsSvc, reg: s.reg, pick: func(a *accountSet) map[string]gateway.QueryService { return a.sts }}},
	}
	sm = &gateway.JSONService{TargetPrefix: sm.TargetPrefix, ContentType: sm.ContentType, Handler: accountJSON{first: sm.Handler, reg: s.reg}}
	var cfHandler, s3H http.Handler = firstAccountOnly{h: cf, service: "CloudFront", account: s.cfg.AccountID, writeError: func(w http.ResponseWriter, id string, err error) {
		awsapi.WriteQueryError(w, cloudfront.Namespace, id, err)
	}}, registryS3{s.reg}
	orgSvc, err := s.newOrganizations(ctx, authorizer) // organizations.go
	if err != nil {
		return nil, err
	}
	return gateway.New(gateway.Config{
		Services: services,
		REST: map[string]*gateway.RESTService{
			// CloudFront reads and limits its own bodies (16 MiB) once the gateway
			// has read them to check the signature.
			"cloudfront": {Handler: cfHandler, Namespace: cloudfront.Namespace, MaxSignedBody: 16 << 20},
			// S3 bodies stream unread to the service, which checks them against the
			// signed payload hash; virtual hosts (BUCKET.s3.localhost) are its too.
			"s3": {Handler: s3H, Namespace: s3.Namespace, WriteError: s3.WriteError, Hosts: []string{S3VirtualHost}},
			// The distributions' sites (ID.cloudfront.localhost): unsigned viewer
			// requests; the edge refuses signed ones, which no AWS service signs
			// for this scope anyway.
			"edge": {Handler: s.edge, Namespace: cloudfront.Namespace, Hosts: edgeHosts},
		},
		// Secrets Manager (JSON 1.1): signed for secretsmanager, the operation
		// in X-Amz-Target.
		// Organizations (JSON 1.1): one service for every account, over the
		// first account's store (organizations.go).
		JSON:           map[string]*gateway.JSONService{secretsmanager.SigningName: sm, organizations.SigningName: orgSvc},
		Fallback:       fallback,
		Verifier:       sigv4,
		Authenticator:  authenticator,
		TrustedProxies: s.proxies,
		Now:            s.now,
		Logger:         s.log,
		Observer:       s.metrics.m,
	}), nil
}

// localKeySources gives STS the issuer's own key set for the issuer URLs it serves in
// place of local ones (aliases: issuer URL → local issuer URL): tokens whose iss is,
// say, https://api.bitbucket.org/2.0/workspaces/acme/pipelines-config/identity/oidc
// then verify with no DNS lookup or connection to that host, whatever the provider's
// thumbprints. The keys are those served at the local URL, cached as long as its
// Cache-Control allows.
func localKeySources(aliases map[string]string, keys *issuer.KeySet, maxAge time.Duration) map[string]oidc.KeySource {
	out := make(map[string]oidc.KeySource, len(aliases))
	for iss, local := range aliases {
		origin := "in-process keys of " + local
		out[iss] = oidc.KeySourceFunc(func(context.Context) (oidc.JWKS, error) {
			return oidc.JWKS{Document: keys.JWKS(), MaxAge: maxAge, Origin: origin}, nil
		})
	}
	return out
}
