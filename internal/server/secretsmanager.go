package server

import (
	"crypto/rand"
	"fmt"

	"github.com/keyless-dev/keyless/authz"
	"github.com/keyless-dev/keyless/awsapi"
	"github.com/keyless-dev/keyless/gateway"
	"github.com/keyless-dev/keyless/secretsmanager"
	"github.com/keyless-dev/keyless/store"
)

// SecretsManagerRegion is the region the Secrets Manager service answers for:
// the region of its secrets' ARNs.
const SecretsManagerRegion = "us-east-1"

// newSecretsManager builds the Secrets Manager API (AWS JSON 1.1): secrets in
// the server's store, their values sealed with the key-encryption key, every
// call authorized through the policy engine and audited.
func (s *Server) newSecretsManager(authorizer *authz.Authorizer) (*gateway.JSONService, error) {
	st, ok := s.st.(store.SecretStore)
	if !ok {
		return nil, fmt.Errorf("secretsmanager: the store (%T) does not keep secrets", s.st)
	}
	svc, err := secretsmanager.New(secretsmanager.Config{
		Store:      st,
		Box:        s.box,
		Authorizer: authorizer,
		Audit:      s.audit,
		Region:     SecretsManagerRegion,
		Account:    s.cfg.AccountID,
		Now:        s.now,
		Rand:       rand.Reader,
		Logger:     s.log,
	})
	if err != nil {
		return nil, err
	}
	return &gateway.JSONService{TargetPrefix: secretsmanager.TargetPrefix, ContentType: awsapi.ContentTypeJSON11, Handler: svc}, nil
}
