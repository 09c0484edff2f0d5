// Package gateway is the front door of the local AWS-compatible services: it reads and
// limits the body, verifies SigV4 (or admits the unsigned STS actions), finds the
// caller's source address, routes by the credential scope's service and writes the
// AWS-shaped reply.
package gateway

import (
	"context"
	"crypto/rand"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/keyless-dev/keyless/authn"
	"github.com/keyless-dev/keyless/awsapi"
)

// Call is one Query-protocol request after authentication.
type Call struct {
	RequestID string
	Action    string
	Query     awsapi.QueryRequest
	// Caller is who signed the request; nil for the unsigned STS actions.
	Caller *authn.Principal
	// Sig is the verified SigV4 data; nil for unsigned requests.
	Sig *awsapi.Auth
	// SourceIP is the caller's address: the TCP peer, or the forwarded client address
	// when the peer is a trusted proxy.
	SourceIP netip.Addr
	// Time is when the request arrived.
	Time time.Time
	// Secure reports whether the request came over TLS (aws:SecureTransport).
	Secure bool
}

// QueryService serves the Query-protocol actions of one AWS service.
type QueryService interface {
	// Namespace is the XML namespace of the service's replies.
	Namespace() string
	// Unsigned reports whether action may be called without a signature.
	Unsigned(action string) bool
	// Serve performs the call. It returns the value to encode inside <ActionResult>
	// (nil for actions without output) or an error; an *awsapi.Error is sent as it is,
	// any other error as InternalFailure.
	Serve(ctx context.Context, call *Call) (any, error)
}

// Config configures the gateway.
type Config struct {
	// Services by SigV4 service name ("sts", "iam"). The map must not change
	// after New.
	Services map[string]QueryService
	// Verifier checks signatures; its Lookup must return *authn.Principal principals.
	Verifier *awsapi.Verifier
	// Authenticator records access key use; may be nil.
	Authenticator *authn.Authenticator
	// TrustedProxies are the peers whose X-Forwarded-For is believed.
	TrustedProxies []netip.Prefix
	// MaxBody limits request bodies (default 1 MiB).
	MaxBody int64
	Now     func() time.Time
	Logger  *slog.Logger
}

// Gateway is the http.Handler for the AWS Query services.
type Gateway struct {
	cfg Config
	// names are the keys of cfg.Services in order, for unsignedService.
	names []string
	ids   *awsapi.RequestIDs
}

// New returns a Gateway.
func New(cfg Config) *Gateway {
	if cfg.MaxBody == 0 {
		cfg.MaxBody = 1 << 20
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	names := make([]string, 0, len(cfg.Services))
	for name := range cfg.Services {
		names = append(names, name)
	}
	slices.Sort(names)
	// crypto/rand's Reader never fails (it never returns an error since Go 1.24).
	ids, _ := awsapi.NewRequestIDs(rand.Reader)
	return &Gateway{cfg: cfg, names: names, ids: ids}
}

// ServeHTTP handles one request.
func (g *Gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	reqID := g.ids.Next()
	now := g.cfg.Now()
	ns := awsapi.NamespaceSTS
	service, _, scoped := awsapi.ParseScope(r)
	svc := g.cfg.Services[service]
	if svc != nil {
		ns = svc.Namespace()
	}
	q, err := awsapi.ParseQueryRequest(r, g.cfg.MaxBody)
	if err != nil {
		awsapi.WriteQueryError(w, ns, reqID, err)
		return
	}
	call := &Call{RequestID: reqID, Action: q.Action, Query: q, SourceIP: g.sourceIP(r), Time: now, Secure: r.TLS != nil}

	// The unsigned actions (AssumeRoleWithWebIdentity) are served anonymously whatever
	// the request carries: AWS ignores an Authorization header on them.
	if unsigned := g.unsignedService(q.Action); unsigned != nil {
		g.serve(w, r, unsigned, call)
		return
	}
	if !scoped && r.Header.Get("Authorization") == "" && !r.URL.Query().Has("X-Amz-Algorithm") {
		awsapi.WriteQueryError(w, ns, reqID, awsapi.MissingAuthenticationToken())
		return
	}
	// Verify before anything else is revealed: a malformed signature gets
	// IncompleteSignature, a wrong one SignatureDoesNotMatch.
	sig, err := g.cfg.Verifier.Verify(r.Context(), r, q.Body)
	if err == nil {
		// The Authorization header is not signed: route only by the verified scope.
		err = sig.RequireService(service)
	}
	if err != nil {
		g.cfg.Logger.Info("signature rejected", "request_id", reqID, "service", service, "action", q.Action, "code", awsapi.AsError(err).Code, "source_ip", call.SourceIP)
		awsapi.WriteQueryError(w, ns, reqID, err)
		return
	}
	if svc == nil {
		awsapi.WriteQueryError(w, ns, reqID, awsapi.NewError("UnrecognizedClientException", http.StatusBadRequest, "The service "+sig.Service+" is not served by keyless"))
		return
	}
	p, _ := sig.Principal.(*authn.Principal)
	call.Sig, call.Caller = sig, p
	if g.cfg.Authenticator != nil {
		if err := g.cfg.Authenticator.RecordUse(r.Context(), p, sig.Service, sig.Region); err != nil {
			g.cfg.Logger.Warn("record access key use", "err", err)
		}
	}
	g.serve(w, r, svc, call)
}

// unsignedService is the service that serves action without a signature, if any.
// Services are consulted in name order so the answer does not depend on map order.
func (g *Gateway) unsignedService(action string) QueryService {
	if action == "" {
		return nil
	}
	for _, name := range g.names {
		if s := g.cfg.Services[name]; s.Unsigned(action) {
			return s
		}
	}
	return nil
}

func (g *Gateway) serve(w http.ResponseWriter, r *http.Request, svc QueryService, call *Call) {
	ns := svc.Namespace()
	if call.Action == "" {
		awsapi.WriteQueryError(w, ns, call.RequestID, awsapi.MissingAction())
		return
	}
	result, err := svc.Serve(r.Context(), call)
	if err != nil {
		if awsapi.AsError(err).Code == "InternalFailure" {
			g.cfg.Logger.Error("internal failure", "request_id", call.RequestID, "action", call.Action, "err", err)
		}
		awsapi.WriteQueryError(w, ns, call.RequestID, err)
		return
	}
	awsapi.WriteQueryResult(w, ns, call.Action, call.RequestID, result)
}

// sourceIP is the TCP peer, or the right-most untrusted X-Forwarded-For address when
// the peer is a trusted proxy.
func (g *Gateway) sourceIP(r *http.Request) netip.Addr {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	peer, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Addr{}
	}
	peer = peer.Unmap()
	if !g.trusted(peer) {
		return peer
	}
	hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
	for i := len(hops) - 1; i >= 0; i-- {
		a, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			return peer
		}
		a = a.Unmap()
		if !g.trusted(a) {
			return a
		}
		peer = a
	}
	return peer
}

func (g *Gateway) trusted(a netip.Addr) bool {
	for _, p := range g.cfg.TrustedProxies {
		if p.Contains(a) {
			return true
		}
	}
	return false
}
