package server

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"fmt"
	"strings"

	"github.com/keyless-dev/keyless/bitbucket"
	"github.com/keyless-dev/keyless/issuer"
	"github.com/keyless-dev/keyless/keywrap"
	"github.com/keyless-dev/keyless/store"
)

// settingBitbucketToken is the store setting of the Bitbucket variables API's
// token, sealed under the KEK.
const settingBitbucketToken = "bitbucket-api-token"

// bitbucketTokenPrefix starts every token, so that secret scanners can find them.
const bitbucketTokenPrefix = "klbb_"

// ensureBitbucketToken loads the token of the Bitbucket variables API,
// creating it on first start; concurrent first starts agree on one.
func ensureBitbucketToken(ctx context.Context, st store.Store, box *keywrap.Box) (string, error) {
	v, err := createOrGet(ctx, st, settingBitbucketToken, func() ([]byte, error) {
		buf := make([]byte, 25)
		if _, err := rand.Read(buf); err != nil {
			return nil, fmt.Errorf("generate the Bitbucket API token: %w", err)
		}
		tok := bitbucketTokenPrefix + strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(buf))
		return box.Seal(settingBitbucketToken, []byte(tok))
	})
	if err != nil {
		return "", err
	}
	tok, err := box.Open(settingBitbucketToken, v)
	if err != nil {
		return "", fmt.Errorf("open the Bitbucket API token: %w", err)
	}
	return string(tok), nil
}

// newBitbucket builds the Bitbucket Pipelines variables API: variables in the
// server's store (which must keep them: SQLite and PostgreSQL do), names
// resolved against the issuer's directory, secured values sealed under the
// KEK, every call authorized by the token of DIR/env, and the step variables
// API for runners.
func (s *Server) newBitbucket(ctx context.Context, runners *issuer.Runners) (*bitbucket.Handler, error) {
	vars, ok := s.st.(store.PipelineVariableStore)
	if !ok {
		return nil, fmt.Errorf("bitbucket variables: the store (%T) does not keep pipeline variables", s.st)
	}
	tok, err := ensureBitbucketToken(ctx, s.st, s.box)
	if err != nil {
		return nil, err
	}
	autoRegister := s.cfg.Issuer.AutoRegister == nil || *s.cfg.Issuer.AutoRegister
	svc, err := bitbucket.New(bitbucket.Config{
		Directory: s.st, Variables: vars, Box: s.box, AutoRegister: autoRegister, Now: s.now, Rand: rand.Reader,
	})
	if err != nil {
		return nil, err
	}
	h, err := bitbucket.NewHandler(svc, tok, runners, s.log)
	if err != nil {
		return nil, err
	}
	s.bitbucketToken = tok
	return h, nil
}
