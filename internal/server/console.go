package server

import (
	"fmt"
	"net/http"
	"time"

	"github.com/keyless-dev/keyless/authz"
	"github.com/keyless-dev/keyless/console"
	"github.com/keyless-dev/keyless/explain"
)

// mountConsole serves the web console at console.PathPrefix: the first
// account's audit log, trust map, keys and explain playground, to that
// account's principals (every account's keys resolve, so that another
// account's key is refused as such). It needs s.authn (awsServices).
func (s *Server) mountConsole(mux *http.ServeMux) error {
	ttl := time.Duration(s.cfg.Console.SessionTTL)
	if ttl < 0 || ttl > maxConsoleSessionTTL {
		return fmt.Errorf("config: console.session_ttl %s: give a duration from 1s to %s, such as \"15m\"", ttl, maxConsoleSessionTTL)
	}
	h, err := console.New(console.Config{
		SessionTTL: ttl,
		Store:      s.st, Account: s.cfg.AccountID, Credentials: s.authn, Authorizer: authz.New(s.st),
		Keys: s.keys, Signature: explain.OIDCChecker{RootCAs: s.CAPool(), Aliases: s.issuer.Aliases()},
		Now: s.now, Logger: s.log,
	})
	if err != nil {
		return fmt.Errorf("console: %w", err)
	}
	mux.Handle(console.PathPrefix, h)
	mux.Handle("/console", h)
	return nil
}
