package server

import (
	"context"
	"crypto/rand"
	"crypto/x509"
	"fmt"
	"net/http"
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
	authorizer := authz.New(s.st)
	sigv4 := awsapi.NewVerifier(authenticator)
	sigv4.Now = s.now
	// Every account's authorizer, for AssumeRole across accounts (accounts.go).
	authorizers := map[string]*authz.Authorizer{s.cfg.AccountID: authorizer}
	for _, a := range s.accounts {
		authorizers[a.id] = authz.New(a.st)
	}
	stsCfg := sts.Config{
		Store: s.st, Verifier: verifier, Sealer: session.NewSealer(keyring, rand.Reader), Authorizer: authorizer,
		Audit: s.audit, Account: s.cfg.AccountID, Now: s.now, Rand: rand.Reader, Logger: s.log,
		Exchanges: s.metrics.m,
	}
	if len(s.accounts) > 0 {
		stsCfg.CallerAuthorizer = func(account string) (*authz.Authorizer, bool) {
			z, ok := authorizers[account]
			return z, ok
		}
	}
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
	services := map[string]gateway.QueryService{"iam": iamSvc, "sts": stsSvc}
	var cfHandler, s3H http.Handler = cf, s3Handler{s3Svc}
	if len(s.accounts) > 0 {
		// Several accounts (accounts.go): IAM, STS, Secrets Manager and S3 in
		// each, picked per call; CloudFront the first account's alone.
		iams := map[string]gateway.QueryService{s.cfg.AccountID: iamSvc}
		stss := map[string]gateway.QueryService{s.cfg.AccountID: stsSvc}
		sms := map[string]gateway.JSONHandler{s.cfg.AccountID: sm.Handler}
		firstMeta, _ := s.st.(store.S3Store) // newS3 checked it
		s3s := &accountS3{first: s.cfg.AccountID, by: map[string]*s3.Service{s.cfg.AccountID: s3Svc},
			stores: map[string]store.S3Store{s.cfg.AccountID: firstMeta}, order: []string{s.cfg.AccountID},
			now: s.now, owners: map[string]bucketOwner{}}
		others := make([]*authn.Authenticator, 0, len(s.accounts))
		for _, a := range s.accounts {
			as, err := s.newAccountServices(a, authorizers[a.id], stsCfg)
			if err != nil {
				return nil, err
			}
			iams[a.id], stss[a.id], sms[a.id], s3s.by[a.id] = as.iam, as.sts, as.sm, as.s3
			s3s.stores[a.id], _ = a.st.(store.S3Store) // newAccountS3 checked it
			s3s.order = append(s3s.order, a.id)
			others = append(others, as.authn)
		}
		authenticator.Join(others...)
		services["iam"] = accountQuery{first: iamSvc, by: iams}
		services["sts"] = accountSTS{accountQuery{first: stsSvc, by: stss}}
		sm = &gateway.JSONService{TargetPrefix: sm.TargetPrefix, ContentType: sm.ContentType, Handler: accountJSON{first: sm.Handler, by: sms}}
		cfHandler = firstAccountOnly{h: cf, service: "CloudFront", account: s.cfg.AccountID, writeError: func(w http.ResponseWriter, id string, err error) {
			awsapi.WriteQueryError(w, cloudfront.Namespace, id, err)
		}}
		s3H = s3s
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
		JSON:           map[string]*gateway.JSONService{secretsmanager.SigningName: sm},
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
